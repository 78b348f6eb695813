"""Post-run checks of an output dir (used by train.sh --smoke / CI): files exist, ONNX valid, hashes match."""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import onnx

from .export import sha256
from .onnx_np import Runner


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args, _ = ap.parse_known_args(argv)
    d = args.out
    errs = []
    need = ["ecg-nat-fp32.onnx", "ecg-nat-int8.onnx", "ecg-nat.manifest.json", "MODEL_CARD.md",
            "reference/reference.json"]
    for n in need:
        if not os.path.exists(os.path.join(d, n)):
            errs.append(f"missing {n}")
    if errs:
        print("\n".join(errs), file=sys.stderr)
        return 1
    man = json.load(open(os.path.join(d, "ecg-nat.manifest.json")))
    for k in ("fp32", "int8"):
        p = os.path.join(d, man["files"][k]["path"])
        onnx.checker.check_model(onnx.load(p))
        if sha256(p) != man["files"][k]["sha256"]:
            errs.append(f"sha256 mismatch {p}")
        g = onnx.load(p)
        if g.opset_import[0].version != 17:
            errs.append(f"{p}: opset {g.opset_import[0].version}")
        bad = {n.op_type for n in g.graph.node} & {"ATen", "Unfold", "Loop", "Scan"}
        if bad:
            errs.append(f"{p}: non-plain ops {bad}")
    if os.path.getsize(os.path.join(d, "ecg-nat-int8.onnx")) > 4 * 1024 * 1024:
        errs.append("int8 model > 4 MB")
    ref = json.load(open(os.path.join(d, "reference", "reference.json")))
    arr = {}
    for k, t in ref["tensors"].items():
        a = np.fromfile(os.path.join(d, "reference", t["file"]), dtype="<f4")
        if a.size != int(np.prod(t["shape"])):
            errs.append(f"reference {k}: size mismatch")
        arr[k] = a.reshape(t["shape"])
    r = Runner(os.path.join(d, "ecg-nat-fp32.onnx"))
    b, rh = r.run({"ecg": arr["ecg"], "lead_mask": arr["lead_mask"], "beat_rr": arr["beat_rr"]})
    e = max(np.abs(b - arr["beat_logits_fp32"]).max(), np.abs(rh - arr["rhythm_logits_fp32"]).max())
    if e > ref["tolerance_fp32_abs"]:
        errs.append(f"fp32 ONNX vs reference max abs {e}")
    r8 = Runner(os.path.join(d, "ecg-nat-int8.onnx"))
    b8, rh8 = r8.run({"ecg": arr["ecg"], "lead_mask": arr["lead_mask"], "beat_rr": arr["beat_rr"]})
    e8 = max(np.abs(b8 - arr["beat_logits_int8"]).max(), np.abs(rh8 - arr["rhythm_logits_int8"]).max())
    if e8 > 1e-4:
        errs.append(f"int8 ONNX vs int8 reference max abs {e8}")
    if errs:
        print("[check] FAILED\n" + "\n".join(errs), file=sys.stderr)
        return 1
    print(f"[check] OK: {d} (fp32 max abs {e:.2e}, int8 re-run max abs {e8:.2e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
