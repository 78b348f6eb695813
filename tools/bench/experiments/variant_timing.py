#!/usr/bin/python3
"""Does a cheaper ECG-NAT configuration widen the PyTorch-eager / ONNX Runtime int8 ratio, or do both stacks speed up
alike? Timing only: every variant has random (seeded) weights, which cost the same as trained ones.

For each variant this builds the training module (model.EcgNat, gather-form attention: what compare.sh times in
PyTorch), times it in PyTorch fp32 eager (1 thread, batch 1, compare.time_torch) on the 16 real reference windows of
models/reference, exports it as the pipeline does (export.export_fp32, flat band layout) and quantizes it with the
shipped pass (export.quantize_qdq, S8S8 QDQ, ranges calibrated on the same 16 windows), and writes the int8 paths for
the C# timer:

    /usr/bin/python3 tools/bench/experiments/variant_timing.py --out /tmp/variants [--runs 300] [--variants ...]
    ecgedge bench graph --onnx "$(cat /tmp/variants/list.txt)" --runs 3000 --rounds 10

Run both pinned to the same vCPU (taskset -c 1), back to back; the ratio per variant is torch p50 / ORT p50. Variants
whose token count differs from 312 get the reference beat_rr re-gridded (a beat token's features moved to the coarser
token); the C# timer takes the first values of each input file, which is fine for timing.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
sys.path.insert(0, os.path.dirname(HERE))  # tools/bench
from compare import set_malloc, stats, time_torch  # noqa: E402
from ecgnat import export as X  # noqa: E402
from ecgnat.from_onnx import load_model  # noqa: E402
from ecgnat.model import EcgNat, count_macs, count_params  # noqa: E402

# Overrides of the shipped model's configuration (read from models/ecg-nat-fp32.onnx: RR and shape input channels,
# feature head, S gate), so each variant has the shipped inputs and heads.
VARIANTS = {
    "shipped": {},
    # stage 1 without its attention block: fine tokens come from the stem alone, stage 2 (64 ms tokens) is the
    # first attention
    "no_s1_block": {"layers": ((), ((13, 1), (13, 4)), ((13, 1), (13, 6)))},
    # stage 1 with a 7-token (224 ms) neighbourhood instead of 15
    "s1_k7": {"layers": (((7, 1),), ((13, 1), (13, 4)), ((13, 1), (13, 6)))},
    # 64-ms fine tokens: stem stride 16 (kernel 24), tokens 156/78/39, dilations fitted to the shorter stages
    "stride16": {"stem_kernel": 24, "stem_stride": 16, "layers": (((15, 1),), ((13, 1), (13, 3)), ((13, 1), (13, 3)))},
}


def reference_windows():
    d = os.path.join(ROOT, "models", "reference")
    ref = json.load(open(os.path.join(d, "reference.json")))
    t = ref["tensors"]
    rd = lambda k: np.fromfile(os.path.join(d, t[k]["file"]), "<f4").reshape(t[k]["shape"])
    return rd("ecg"), rd("lead_mask"), rd("beat_rr")


def regrid_rr(rr: np.ndarray, tokens: int) -> np.ndarray:
    """beat_rr [n, 312, c] -> [n, tokens, c]: each beat token's features at token floor(i * tokens / 312)."""
    n, L, c = rr.shape
    if L == tokens:
        return rr
    out = np.zeros((n, tokens, c), np.float32)
    for b in range(n):
        for i in np.flatnonzero(rr[b, :, 0] > 0):
            out[b, i * tokens // L] = rr[b, i]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS))
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--torch-malloc", choices=("tuned", "default"), default="tuned",
                    help="glibc malloc thresholds while PyTorch is timed, as compare.sh (default tuned: PyTorch's fast "
                         "mode in every process; before session 12 this script ran with glibc's own, which varies)")
    a = ap.parse_args()
    set_malloc(a.torch_malloc == "tuned")
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(1)
    ecg, mask, rr = reference_windows()
    paths, report = [], {}
    shipped = load_model().cfg
    for name in a.variants:
        cfg = dataclasses.replace(shipped, **VARIANTS[name])
        torch.manual_seed(0)
        model = EcgNat(cfg).eval()
        rrv = regrid_rr(rr, cfg.tokens()[0])
        d = os.path.join(a.out, name)
        os.makedirs(d, exist_ok=True)
        fp = X.export_fp32(model, os.path.join(d, "fp32.onnx"))
        q8 = os.path.join(d, "int8.onnx")
        X.quantize_qdq(fp, q8, X.calibrate(fp, ecg, mask, rrv))
        # the C# timer reads DIR/<input>.bin: the re-gridded RR input next to the model
        for k, v in (("ecg", ecg), ("lead_mask", mask), ("beat_rr", rrv)):
            np.ascontiguousarray(v, "<f4").tofile(os.path.join(d, f"{k}.bin"))
        t = stats(time_torch(model, ecg, mask, rrv, a.runs, a.warmup, 1))
        report[name] = {"config": VARIANTS[name], "tokens": cfg.tokens(), "params": count_params(model),
                        "macs": count_macs(model), "torch_fp32_ms_1thread": t, "int8": q8}
        paths.append(q8)
        print(f"{name:12s} tokens {cfg.tokens()} params {count_params(model)} MACs {count_macs(model) / 1e6:.2f} M  "
              f"torch fp32 eager p50 {t['p50']:.3f} ms (min {t['min']:.3f})", flush=True)
    with open(os.path.join(a.out, "list.txt"), "w") as f:
        f.write(",".join(paths))
    with open(os.path.join(a.out, "torch.json"), "w") as f:
        json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
