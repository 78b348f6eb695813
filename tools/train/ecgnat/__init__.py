"""ECG-NAT offline training pipeline (EcgEdge)."""
__version__ = "0.2.0"


def add_data_argument(ap) -> None:
    """--data: the folder of labelled recordings (../shared/data beside the repository, or $ECGEDGE_SHARED_DATA)."""
    import os
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
    ap.add_argument("--data", default=os.environ.get("ECGEDGE_SHARED_DATA", os.path.join(root, "..", "shared", "data")))
