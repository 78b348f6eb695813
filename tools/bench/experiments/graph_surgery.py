#!/usr/bin/python3
"""Timing-only rewrites of the shipped int8 graph (session 11, docs/performance.md): where does ONNX Runtime spend its
time, and do cheaper-looking forms of the attention run faster? Every variant is written next to a copy of the
shipped file; several compute wrong outputs on purpose (ablations) and are for `ecgedge bench graph` only.

  ablate_LayerNormalization, ablate_Softmax   every node of that type replaced by Identity
  static_batch                                the batch dimension of inputs and outputs fixed at 1
  softmax_expsum                              Softmax(x) as Exp(x) / ReduceSum(Exp(x)), no max subtraction
  softmax_expsum_cap                          the same on Min(x, 80) (no overflow)
  q_qkv, q_probs, q_both                      QuantizeLinear/DequantizeLinear pairs on the qkv Gemm outputs (int8,
                                              scale 0.05), on the attention probabilities (uint8, 1/255), or both

  /usr/bin/python3 tools/bench/experiments/graph_surgery.py --out /tmp/surgery
  taskset -c 1 ecgedge bench graph --onnx /tmp/surgery/shipped.onnx,/tmp/surgery/ablate_Softmax.onnx,... --runs 2000 --rounds 6
"""
import argparse
import copy
import os
import shutil

import numpy as np
import onnx
from onnx import helper, numpy_helper

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def rewrite(m: onnx.ModelProto, fn) -> onnx.ModelProto:
    """A copy of m with each node replaced by fn(node, model) (a list of nodes) where that is not None."""
    v = copy.deepcopy(m)
    nodes = []
    for n in v.graph.node:
        r = fn(n, v)
        nodes.extend([n] if r is None else r)
    del v.graph.node[:]
    v.graph.node.extend(nodes)
    return v


def identity_for(op: str):
    return lambda n, v: ([helper.make_node("Identity", [n.input[0]], [n.output[0]], name=n.name + "_id")]
                         if n.op_type == op else None)


def softmax_expsum(cap: bool):
    def f(n, v):
        if n.op_type != "Softmax":
            return None
        x, y = n.input[0], n.output[0]
        pre = [helper.make_node("Min", [x, "surgery_cap"], [x + "_c"])] if cap else []
        src = x + "_c" if cap else x
        return pre + [helper.make_node("Exp", [src], [x + "_e"]),
                      helper.make_node("ReduceSum", [x + "_e", "surgery_axes"], [x + "_s"], keepdims=1),
                      helper.make_node("Div", [x + "_e", x + "_s"], [y])]
    return f


def qdq_after(match, scale: str, zp: str):
    """Q -> DQ on the output of every node match(node) accepts; its consumers read the dequantised tensor."""
    def build(m):
        v = copy.deepcopy(m)
        renamed, nodes = {}, []
        for n in v.graph.node:
            for i, x in enumerate(n.input):
                if x in renamed:
                    n.input[i] = renamed[x]
            nodes.append(n)
            if match(n):
                y = n.output[0]
                nodes += [helper.make_node("QuantizeLinear", [y, scale, zp], [y + "_sq"]),
                          helper.make_node("DequantizeLinear", [y + "_sq", scale, zp], [y + "_sdq"])]
                renamed[y] = y + "_sdq"
        del v.graph.node[:]
        v.graph.node.extend(nodes)
        return v
    return build


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.path.join(REPO, "models", "ecg-nat-int8.onnx"))
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    shutil.copy(a.model, os.path.join(a.out, "shipped.onnx"))
    m = onnx.load(a.model)
    m.graph.initializer.extend([
        numpy_helper.from_array(np.array([-1], np.int64), "surgery_axes"),
        numpy_helper.from_array(np.array(80.0, np.float32), "surgery_cap"),
        numpy_helper.from_array(np.array(0.05, np.float32), "surgery_qkv_scale"),
        numpy_helper.from_array(np.array(0, np.int8), "surgery_qkv_zp"),
        numpy_helper.from_array(np.array(1 / 255, np.float32), "surgery_p_scale"),
        numpy_helper.from_array(np.array(0, np.uint8), "surgery_p_zp")])
    qkv = qdq_after(lambda n: n.op_type == "Gemm" and n.name.endswith("att/qkv/Gemm"), "surgery_qkv_scale", "surgery_qkv_zp")
    probs = qdq_after(lambda n: n.op_type == "Softmax", "surgery_p_scale", "surgery_p_zp")
    static = copy.deepcopy(m)
    for t in list(static.graph.input) + list(static.graph.output):
        t.type.tensor_type.shape.dim[0].dim_value = 1
    variants = {
        "ablate_LayerNormalization": rewrite(m, identity_for("LayerNormalization")),
        "ablate_Softmax": rewrite(m, identity_for("Softmax")),
        "static_batch": static,
        "softmax_expsum": rewrite(m, softmax_expsum(False)),
        "softmax_expsum_cap": rewrite(m, softmax_expsum(True)),
        "q_qkv": qkv(m),
        "q_probs": probs(m),
        "q_both": probs(qkv(m)),
    }
    for name, v in variants.items():
        path = os.path.join(a.out, name + ".onnx")
        onnx.save(v, path)
        print(path)


if __name__ == "__main__":
    main()
