"""ECG-NAT offline training pipeline (EcgEdge)."""
__version__ = "0.2.0"
