#!/usr/bin/env python3
"""Cut an ECG-NAT ONNX graph into prefixes that end after each stage of the network, for a cost breakdown with the C#
tool (ONNX Runtime as the product runs it):

    /usr/bin/python3 tools/bench/experiments/prefix_models.py [--model models/ecg-nat-int8.onnx] [--out /tmp/prefix]
    ecgedge bench graph --onnx "$(cat /tmp/prefix/list.txt)" --runs 2000 --rounds 10

The cost of a part is the difference between consecutive prefixes' times (use the minima: host noise only adds).
Prefix k ends at: the stem (Conv + LayerNorm), then per transformer block its attention residual (`Add`) and its MLP
residual (`Add_2`, GELU's own Add is `Add_1`), then the fused fine tokens (`fnorm`); the last entry is the whole model.
Only `ecg` and `lead_mask` feed the prefixes (beat_rr enters the heads only).
"""
from __future__ import annotations

import argparse
import os

import onnx
from onnx.utils import extract_model

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))


def cut_points(graph: onnx.GraphProto) -> list[tuple[str, str]]:
    produced = {o for n in graph.node for o in n.output}
    pts = [("stem", "/stem_norm/LayerNormalization_output_0")]
    blocks = sorted({n.name.split("/")[2] for n in graph.node if n.name.startswith("/stages.")},
                    key=lambda b: tuple(int(x) for x in b.split(".")[1:]))
    for b in blocks:
        s = b.split(".")[1]
        pts += [(f"{b} attention", f"/stages.{s}/{b}/Add_output_0"), (f"{b} mlp", f"/stages.{s}/{b}/Add_2_output_0")]
    pts.append(("fusion", "/fnorm/LayerNormalization_output_0"))
    missing = [t for _, t in pts if t not in produced]
    if missing:
        raise SystemExit(f"tensors not in the graph (a different export layout?): {missing}")
    return pts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "ecg-nat-int8.onnx"))
    ap.add_argument("--out", default="/tmp/prefix")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    files = []
    for k, (label, tensor) in enumerate(cut_points(onnx.load(args.model).graph)):
        path = os.path.join(args.out, f"p{k:02d}_{label.replace(' ', '_')}.onnx")
        extract_model(args.model, path, ["ecg", "lead_mask"], [tensor])
        files.append(path)
        print(f"{path}: up to {label} ({tensor})")
    files.append(os.path.abspath(args.model))
    with open(os.path.join(args.out, "list.txt"), "w") as f:
        f.write(",".join(files))
    print(f"{len(files)} graphs (the last is the whole model); list in {os.path.join(args.out, 'list.txt')}")


if __name__ == "__main__":
    main()
