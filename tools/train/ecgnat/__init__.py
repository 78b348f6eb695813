"""ECG-NAT offline training pipeline (EcgEdge)."""
__version__ = "0.1.2"
