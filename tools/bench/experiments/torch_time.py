#!/usr/bin/python3
"""PyTorch fp32 eager, 1 thread, batch 1: the shipped model (as rebuilt by torch_from_onnx.py) and, optionally,
the attention variants of na_export_variants.py, timed with compare.py's time_torch (same protocol as
tools/bench/compare.sh: reference windows cycled, warm-up, per-window ms). Prints p50/p99.

  /usr/bin/python3 tools/bench/experiments/torch_time.py [--runs 200] [--warmup 16] [--variants A B C]
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import na_export_variants as nv  # noqa: E402  (sets up tools/train and tools/bench on sys.path)
from compare import stats, time_torch  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=16)
    ap.add_argument("--variants", nargs="*", default=[], choices=list(nv.VARIANTS))
    a = ap.parse_args()
    models_dir = os.path.join(nv.REPO, "models")
    ref = nv.load_reference(os.path.join(models_dir, "reference"))
    onnx_path = os.path.join(models_dir, "ecg-nat-fp32.onnx")
    todo = [("shipped", nv.load_model(onnx_path))]
    for k in a.variants:
        name, cls = nv.VARIANTS[k]
        todo.append((name, nv.swap_attention(nv.load_model(onnx_path), cls)))
    for name, model in todo:
        s = stats(time_torch(model, ref["ecg"], ref["lead_mask"], a.runs, a.warmup, 1))
        print(f"torch fp32 eager 1 thread  {name:14s} p50 {s['p50']:.3f} ms  p99 {s['p99']:.3f} ms", flush=True)


if __name__ == "__main__":
    main()
