#!/usr/bin/python3
"""Re-export the shipped ECG-NAT (no retraining) with the pipeline's current export (band attention, lean layout).

  /usr/bin/python3 tools/bench/experiments/regen_shipped.py --old /tmp/models-old --out models

--old must hold a copy of the previous models/ (gather-form fp32, its int8, manifest, reference/). The steps
mirror tools/train/ecgnat/pipeline.py (stage_final / write_refs) except where the training data is needed:

* fp32: the PyTorch model rebuilt from OLD/ecg-nat-fp32.onnx (tools/bench/torch_from_onnx.load_model),
  exported with ecgnat.export.export_fp32 (which swaps in the band attention; --form lean, the default, or band).
* int8: ecgnat.export.quantize_qdq with the activation ranges transplanted from OLD/ecg-nat-int8.onnx
  (na_export_variants.transplanted_ranges; the 256 calibration windows are not in the repo). Every scale,
  zero point and int8 weight is then compared with the old int8 file: quantization must be identical.
* reference/: the same 16 windows (inputs copied), fp32 logits from PyTorch (the gather form, as write_refs
  uses the trained model), int8 logits of the new int8 graph from the numpy runner (export.run_onnx).
* manifest: the old one with files (sha256, bytes) and created_utc updated.
Prints a JSON summary of the differences.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import onnx
import torch
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tools", "train"))
sys.path.insert(0, os.path.dirname(HERE))  # tools/bench
sys.path.insert(0, HERE)
from torch_from_onnx import load_model, load_reference  # noqa: E402
from na_export_variants import transplanted_ranges  # noqa: E402
from ecgnat import export as X  # noqa: E402
from ecgnat import evaluate as E  # noqa: E402
from ecgnat.export_attention import band_attention_copy, lean_export_copy  # noqa: E402


def quant_tensors(path):
    """Quantization parameters and int8 weights of a QDQ graph, in graph order (names differ between exports)."""
    g = onnx.load(path).graph
    init = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    out = []
    for n in g.node:
        if n.op_type in ("QuantizeLinear", "DequantizeLinear"):
            out.append((n.op_type, [init[i] for i in n.input if i in init]))
    return out


def maxdiff(a, b):
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", default="/tmp/models-old")
    ap.add_argument("--out", default=os.path.join(REPO, "models"))
    ap.add_argument("--form", default="lean", choices=X.EXPORT_FORMS, help="export_fp32 form (default lean)")
    a = ap.parse_args()
    old_fp, old_q8 = os.path.join(a.old, "ecg-nat-fp32.onnx"), os.path.join(a.old, "ecg-nat-int8.onnx")
    fp, q8 = os.path.join(a.out, "ecg-nat-fp32.onnx"), os.path.join(a.out, "ecg-nat-int8.onnx")
    for p in (old_fp, old_q8):
        if os.path.abspath(p) in (os.path.abspath(fp), os.path.abspath(q8)):
            raise SystemExit("--old must be a copy, not the output directory")
    with open(os.path.join(a.old, "reference", "reference.json")) as f:
        old_ref_doc = json.load(f)
    ref = load_reference(os.path.join(a.old, "reference"))
    x, m = ref["ecg"], ref["lead_mask"]
    S = {}

    model = load_model(old_fp)  # gather form
    tb, tr = E.torch_predict(model)(x, m)
    S["torch_gather_vs_old_ref_fp32"] = max(maxdiff(tb, ref["beat_logits_fp32"]), maxdiff(tr, ref["rhythm_logits_fp32"]))
    bb, br = E.torch_predict(band_attention_copy(model))(x, m)
    S["torch_band_vs_torch_gather"] = max(maxdiff(bb, tb), maxdiff(br, tr))
    lb, lr = E.torch_predict(lean_export_copy(model))(x, m)
    S["torch_lean_vs_torch_band"] = max(maxdiff(lb, bb), maxdiff(lr, br))

    os.makedirs(a.out, exist_ok=True)
    X.export_fp32(model, fp, form=a.form)
    ob, orr = X.run_onnx(fp, x, m)
    S["onnx_fp32_new_vs_torch_gather"] = max(maxdiff(ob, tb), maxdiff(orr, tr))
    S["onnx_fp32_new_vs_old_ref_fp32"] = max(maxdiff(ob, ref["beat_logits_fp32"]), maxdiff(orr, ref["rhythm_logits_fp32"]))
    pb, pr = X.run_onnx(old_fp, x, m)
    S["onnx_fp32_old_vs_torch_gather"] = max(maxdiff(pb, tb), maxdiff(pr, tr))
    S["onnx_fp32_new_vs_onnx_fp32_old"] = max(maxdiff(ob, pb), maxdiff(orr, pr))

    ranges = transplanted_ranges(old_q8, fp)
    qi = X.quantize_qdq(fp, q8, ranges)
    S["int8_info"] = qi
    old_q, new_q = quant_tensors(old_q8), quant_tensors(q8)
    if len(old_q) != len(new_q) or any(o[0] != n[0] or len(o[1]) != len(n[1]) or
                                       any(not np.array_equal(u, v) or u.dtype != v.dtype for u, v in zip(o[1], n[1]))
                                       for o, n in zip(old_q, new_q)):
        raise SystemExit("quantization differs from the old int8 file")
    S["int8_quant_params_and_weights_identical"] = True
    qb, qr = X.run_onnx(q8, x, m)
    ab, ar = X.run_onnx(old_q8, x, m)
    S["int8_new_vs_old_int8_same_runner"] = max(maxdiff(qb, ab), maxdiff(qr, ar))
    S["int8_new_vs_old_ref_int8"] = max(maxdiff(qb, ref["beat_logits_int8"]), maxdiff(qr, ref["rhythm_logits_int8"]))
    S["int8_old_same_runner_vs_old_ref_int8"] = max(maxdiff(ab, ref["beat_logits_int8"]),
                                                    maxdiff(ar, ref["rhythm_logits_int8"]))
    S["int8_new_vs_old_int8_beat_argmax_agree_pct"] = float((qb.argmax(-1) == ab.argmax(-1)).mean() * 100)
    S["int8_new_vs_old_int8_rhythm_argmax_agree_pct"] = float((qr.argmax(-1) == ar.argmax(-1)).mean() * 100)

    meta = {k: v for k, v in old_ref_doc.items() if k not in ("description", "windows", "tensors")}
    X.write_reference(os.path.join(a.out, "reference"), x, m, old_ref_doc["windows"], (tb, tr), (qb, qr), meta)
    new_ref = load_reference(os.path.join(a.out, "reference"))
    S["new_ref_vs_old_ref_max_abs"] = {k: maxdiff(new_ref[k], ref[k]) for k in ref}

    with open(os.path.join(a.old, "ecg-nat.manifest.json")) as f:
        man = json.load(f)
    man["created_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    man["files"] = {"fp32": {"path": os.path.basename(fp), "sha256": X.sha256(fp), "bytes": os.path.getsize(fp)},
                    "int8": {"path": os.path.basename(q8), "sha256": X.sha256(q8), "bytes": os.path.getsize(q8)}}
    with open(os.path.join(a.out, "ecg-nat.manifest.json"), "w") as f:
        json.dump(man, f, indent=2)
    S["files"] = man["files"]
    print(json.dumps(S, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
