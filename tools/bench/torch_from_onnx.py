#!/usr/bin/python3
"""Rebuild the shipped ECG-NAT as a PyTorch module from the weights inside models/ecg-nat-fp32.onnx and check it
against the reference vectors in models/reference (prints the max |diff|). The recovery itself is
tools/train/ecgnat/from_onnx.py (shared with the training pipeline's `reexport` stage)."""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tools", "train"))
from ecgnat.from_onnx import load_model, load_reference  # noqa: E402,F401  (compare.py imports them from here)
from ecgnat.model import count_macs, count_params  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--onnx", default=os.path.join(REPO, "models", "ecg-nat-fp32.onnx"))
    ap.add_argument("--reference", default=os.path.join(REPO, "models", "reference"))
    ap.add_argument("--manifest", default=os.path.join(REPO, "models", "ecg-nat.manifest.json"))
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()

    model = load_model(a.onnx)
    with open(a.manifest) as f:
        man = json.load(f)
    params, macs = count_params(model), count_macs(model)
    print(f"params (exported path) {params} (manifest {man.get('params')}), "
          f"MACs/window {macs} (manifest {man.get('macs_per_window')})")

    ref = load_reference(a.reference)
    with torch.no_grad():
        beat, rhy = model(torch.from_numpy(ref["ecg"]), torch.from_numpy(ref["lead_mask"]), torch.from_numpy(ref["beat_rr"]))
    db = float(np.abs(beat.numpy() - ref["beat_logits_fp32"]).max())
    dr = float(np.abs(rhy.numpy() - ref["rhythm_logits_fp32"]).max())
    print(f"max |torch - reference fp32|: beat {db:.3g}, rhythm {dr:.3g} (tolerance {a.tol:g})")
    ok = max(db, dr) <= a.tol and params == man.get("params", params) and macs == man.get("macs_per_window", macs)
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
