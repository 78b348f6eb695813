"""ONNX export (fp32), our own S8S8 QDQ int8 pass (per-channel weights, calibrated activations), reference vectors.

The fp32 export writes the neighbourhood attention as grouped band attention (export_attention.BandAttention),
which ONNX Runtime runs about twice as fast as the gather form used in training, in its "lean" layout
(export_attention.lean_export_copy: constant-shaped Reshapes, one Transpose + Split for q/k/v), which cuts the
nodes ONNX Runtime executes per int8 window from 341 to 204 with bit-identical outputs; the trained model itself
is not modified. The default is now the "flat" layout of the same band attention (export_attention.flat_export_copy):
token tensors as [B * L, C] rows, so every Linear is one Gemm and, in the int8 graph, one QGemm with its int32 bias
inside instead of MatMulIntegerToFloat + Add (docs/performance.md has the timings)."""
from __future__ import annotations

import hashlib
import json
import os
import re

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from .export_attention import band_attention_copy, flat_export_copy, lean_export_copy
from .from_onnx import FEATURE_WEIGHT_KEY, FOLDED_SCALE_KEY
from .model import EcgNat, ExportWrapper
from .onnx_np import Runner

OPSET = 17
IN_NAMES = ["ecg", "lead_mask", "beat_rr"]
OUT_NAMES = ["beat_logits", "rhythm_logits"]
GRAPH_NOTES = {
    "band": "neighbourhood attention exported as grouped band attention (export-only rewrite of the gather form)",
    "lean": "neighbourhood attention exported as grouped band attention, lean layout (export-only rewrite of the "
            "gather form)",
    "flat": "neighbourhood attention exported as grouped band attention, flat layout (tokens as [batch*L, C] rows, "
            "Linear as Gemm, query scale folded into qkv; export-only rewrite of the gather form)"}


def _check_input(cfg, n=4, seed=0):
    """Deterministic ECG-like test batch (own generator: the global RNG stream of training is not touched);
    the last window has half of its leads absent."""
    g = torch.Generator().manual_seed(seed)
    x = 0.5 * torch.randn(n, cfg.in_leads, cfg.win, generator=g)
    m = torch.ones(n, cfg.in_leads)
    m[-1, ::2] = 0
    rr = torch.zeros(n, cfg.tokens()[0], cfg.rr_dim)
    rr[:, 10::25, 0] = 1
    rr[:, 10::25, 1:] = 0.3 * torch.randn(n, rr[:, 10::25].shape[1], cfg.rr_dim - 1, generator=g)
    return x * m[:, :, None], m, rr


EXPORT_FORMS = ("band", "lean", "flat")


def export_fp32(model: EcgNat, path: str, form: str = "flat"):
    """fp32 ONNX of model with the attention rewritten as band attention. The rewrite is checked against the
    gather form on a test batch (ValueError if outputs differ by more than 1e-4 or the geometry does not fit).
    form "lean" (export_attention.lean_export_copy) is the same computation as "band" (the first band export, kept
    for comparison) with constant-shaped Reshapes and fewer data-movement nodes; "flat" (the default,
    export_attention.flat_export_copy) is "lean" with [B * L, C] token rows (Linear as Gemm) and the query scale
    folded into qkv, which the file's metadata records for from_onnx."""
    model.eval()
    if form == "band":
        w = ExportWrapper(band_attention_copy(model, check_input=_check_input(model.cfg)))
    elif form == "lean":
        w = lean_export_copy(model, check_input=_check_input(model.cfg))
    elif form == "flat":
        w = flat_export_copy(model, check_input=_check_input(model.cfg))
        meta = {FOLDED_SCALE_KEY: "true"}
        if model.cfg.feature_head:
            meta[FEATURE_WEIGHT_KEY] = repr(float(model.cfg.feature_weight))
        return export_module(w, model.cfg, path, metadata=meta, note=GRAPH_NOTES[form])
    else:
        raise ValueError(f"export form {form!r} not in {EXPORT_FORMS}")
    return export_module(w, model.cfg, path, note=GRAPH_NOTES[form])


def export_module(w: torch.nn.Module, cfg, path: str, metadata: dict | None = None, note: str = ""):
    """Write module w (forward(ecg, lead_mask) -> (beat_logits, rhythm_logits)) as it is: the fp32 ONNX settings
    of export_fp32 (names, dynamic batch, opset, constant folding, producer) without any rewrite. Used by
    export_fp32 and by the export-variant experiments (docs/experiments/na-export-variants.md)."""
    x = torch.zeros(2, cfg.in_leads, cfg.win)
    m = torch.ones(2, cfg.in_leads)
    rr = torch.zeros(2, cfg.tokens()[0], cfg.rr_dim)
    dyn = {n: {0: "batch"} for n in IN_NAMES + OUT_NAMES}
    torch.onnx.export(w, (x, m, rr), path, input_names=IN_NAMES, output_names=OUT_NAMES, dynamic_axes=dyn,
                      opset_version=OPSET, do_constant_folding=True)
    g = onnx.load(path)
    g.producer_name = "ecgedge-tools-train"
    g.doc_string = f"ECG-NAT (EcgEdge) fp32; {note}" if note else "ECG-NAT (EcgEdge) fp32"
    if metadata:
        helper.set_model_props(g, {**{p.key: p.value for p in g.metadata_props}, **metadata})
    onnx.checker.check_model(g)
    onnx.save(g, path)
    return path


# Layers the int8 graph leaves entirely in fp32, weights included (ONNX Runtime does not constant-fold a weight's
# DequantizeLinear, so an fp32 op behind an int8 weight would dequantize that weight on every run):
# - stem: the convolution's input is the raw signal in millivolts;
# - mask_emb, r_fc, r_out: one row per window, where int8 saves nothing and the activation's
#   QuantizeLinear is pure overhead;
# - rr_fc1, rr_out: 4 input features; ONNX Runtime ran rr_fc1 as an s8s8 QGemm with K = 4 (plus a QuantizeLinear of
#   beat_rr), the most expensive node of the heads in an operator profile.
# Measured on 0.1.x's weights: the int8 file runs 2-3 % faster (docs/performance.md, session 6).
# Everything else with a weight (every Linear of the backbone, the fusion and the beat head) is int8 QDQ.
# - fh_fc1, fh_fc2, fh_out: the per-beat feature head (6 input features; small enough to stay exact).
FP32_LAYERS = ("stem", "mask_emb", "r_fc", "r_out", "rr_fc1", "rr_out", "fh_fc1", "fh_fc2", "fh_out")


def _top_layer(n) -> str | None:
    """The module name of a node that belongs to a top-level layer of the model (e.g. "/rr_fc1/Gemm" -> "rr_fc1")."""
    m = re.match(r"^/(?:m/)?([A-Za-z0-9_]+)/[A-Za-z]+$", n.name)
    return m.group(1) if m else None


def _fp32_layer(n) -> bool:
    return _top_layer(n) in FP32_LAYERS


def _weight_targets(g: onnx.GraphProto):
    """(node, weight input index, channel axis) for Conv/Gemm/MatMul nodes with a constant weight, except the
    FP32_LAYERS."""
    inits = {t.name: t for t in g.initializer}
    out = []
    for k, n in enumerate(g.node):
        if _fp32_layer(n):
            continue
        if n.op_type == "Conv" and n.input[1] in inits:
            out.append((n, 1, 0, k))
        elif n.op_type == "Gemm" and n.input[1] in inits:
            tb = [a.i for a in n.attribute if a.name == "transB"]
            out.append((n, 1, 0 if (tb and tb[0]) else 1, k))
        elif n.op_type == "MatMul" and n.input[1] in inits and len(inits[n.input[1]].dims) == 2:
            out.append((n, 1, 1, k))
    return out


def calibrate(fp32_path: str, x: np.ndarray, m: np.ndarray, rr: np.ndarray, bs=32):
    """Min/max of every activation that feeds a quantized op, over real calibration windows."""
    model = onnx.load(fp32_path)
    tg = _weight_targets(model.graph)
    names = {n.input[0] for (n, _, _, _) in tg}
    r = Runner(model)
    lo = {k: np.inf for k in names}
    hi = {k: -np.inf for k in names}
    for i in range(0, len(x), bs):
        _, cap = r.run({"ecg": x[i:i + bs], "lead_mask": m[i:i + bs], "beat_rr": rr[i:i + bs]}, capture=names)
        for k, v in cap.items():
            lo[k] = min(lo[k], float(v.min()))
            hi[k] = max(hi[k], float(v.max()))
    return {k: (lo[k], hi[k]) for k in names}


def quantize_qdq(fp32_path: str, out_path: str, ranges: dict, weight_bits=8, int32_bias=True):
    """S8S8 QDQ: int8 symmetric per-channel weights (DequantizeLinear with axis), int8 activations
    (QuantizeLinear -> DequantizeLinear, per-tensor scale/zero point from calibration). Biases stay fp32, except
    with int32_bias the bias of a Gemm with a quantized activation: int32 at scale activation scale x weight scale
    (per output channel, zero point 0) behind a DequantizeLinear, the form ONNX Runtime fuses into one QGemm."""
    model = onnx.load(fp32_path)
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    qmax = 2 ** (weight_bits - 1) - 1
    new_inits, new_nodes_before = [], {}
    done_w, done_a, w_scale, a_scale = {}, {}, {}, {}
    identity = {n.output[0]: n.input[0] for n in g.node if n.op_type == "Identity"}

    def _const(name):  # an initializer, also behind Identity nodes (the exporter aliases equal tensors that way)
        while name in identity:
            name = identity[name]
        return numpy_helper.to_array(inits[name]) if name in inits else None

    for n, wi, axis, k in _weight_targets(g):
        wname = n.input[wi]
        if wname not in done_w:
            W = numpy_helper.to_array(inits[wname]).astype(np.float32)
            red = tuple(i for i in range(W.ndim) if i != axis)
            amax = np.max(np.abs(W), axis=red)
            sc = np.where(amax > 0, amax / qmax, 1.0).astype(np.float32)
            shp = [1] * W.ndim
            shp[axis] = -1
            Q = np.clip(np.rint(W / sc.reshape(shp)), -qmax, qmax).astype(np.int8)
            qn, sn, zn, dn = wname + "_q", wname + "_scale", wname + "_zp", wname + "_dq"
            new_inits += [numpy_helper.from_array(Q, qn), numpy_helper.from_array(sc, sn),
                          numpy_helper.from_array(np.zeros(len(sc), np.int8), zn)]
            node = helper.make_node("DequantizeLinear", [qn, sn, zn], [dn], name=dn, axis=axis)
            new_nodes_before.setdefault(k, []).append(node)
            done_w[wname] = dn
            w_scale[wname] = sc
        n.input[wi] = done_w[wname]
        aname = n.input[0]
        if aname not in ranges:
            raise ValueError(f"{n.name}: no calibration range for its input {aname}")
        if aname not in done_a:
            lo, hi = ranges[aname]
            lo, hi = min(lo, 0.0), max(hi, 0.0)
            sc = max((hi - lo) / 255.0, 1e-8)
            zp = int(np.clip(np.rint(-128 - lo / sc), -128, 127))
            sn, zn, qn, dn = aname + "_a_scale", aname + "_a_zp", aname + "_a_q", aname + "_a_dq"
            new_inits += [numpy_helper.from_array(np.array(sc, np.float32), sn),
                          numpy_helper.from_array(np.array(zp, np.int8), zn)]
            nodes = [helper.make_node("QuantizeLinear", [aname, sn, zn], [qn], name=qn),
                     helper.make_node("DequantizeLinear", [qn, sn, zn], [dn], name=dn)]
            new_nodes_before.setdefault(k, []).extend(nodes)
            done_a[aname] = dn
            a_scale[aname] = np.float32(sc)
        n.input[0] = done_a[aname]
        bias = _const(n.input[2]) if int32_bias and n.op_type == "Gemm" and len(n.input) > 2 else None
        if bias is not None:
            new_inits += _int32_bias(n, bias, new_nodes_before.setdefault(k, []), a_scale[aname], w_scale[wname])
    nodes = []
    for k, n in enumerate(g.node):
        nodes.extend(new_nodes_before.get(k, []))
        nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)
    used = {i for n in g.node for i in n.input}
    keep = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep + new_inits)
    model.doc_string = ("ECG-NAT (EcgEdge) int8 S8S8 QDQ, per-channel weights"
                        + (", int32 Gemm biases" if int32_bias else ""))
    onnx.checker.check_model(model)
    onnx.save(model, out_path)
    return {"n_weight_tensors": len(done_w), "n_activation_qdq": len(done_a), "weight_bits": weight_bits,
            "fp32_layers": sorted({_top_layer(n) for n in g.node if _fp32_layer(n)})}


def _int32_bias(n, bias, nodes_before, sa, sw):
    """Replace Gemm n's fp32 bias by DequantizeLinear(int32 bias) at scale activation scale sa x per-channel weight
    scale sw (both as stored in the graph); returns the new initializers."""
    at = {a.name: a for a in n.attribute}
    if not (at.get("transB") and at["transB"].i == 1) or (at.get("beta") and at["beta"].f != 1.0):
        raise ValueError(f"{n.name}: int32 bias expects Gemm(transB=1, beta=1)")
    bname = n.name + "_bias"
    b = np.asarray(bias, np.float64)
    sc = (sa * sw).astype(np.float32)
    q = np.rint(b / sc.astype(np.float64))
    if np.abs(q).max() >= 2 ** 31 - 1:
        raise ValueError(f"{n.name}: bias does not fit int32 at scale {sc.min():.3g}")
    qn, sn, zn, dn = bname + "_i32", bname + "_i32_scale", bname + "_i32_zp", bname + "_i32_dq"
    nodes_before.append(helper.make_node("DequantizeLinear", [qn, sn, zn], [dn], name=dn, axis=0))
    n.input[2] = dn
    return [numpy_helper.from_array(q.astype(np.int32), qn), numpy_helper.from_array(sc, sn),
            numpy_helper.from_array(np.zeros(len(sc), np.int32), zn)]


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def run_onnx(path_or_runner, x, m, rr, bs=32):
    r = path_or_runner if isinstance(path_or_runner, Runner) else Runner(path_or_runner)
    B, R = [], []
    for i in range(0, len(x), bs):
        b, rh = r.run({"ecg": x[i:i + bs], "lead_mask": m[i:i + bs], "beat_rr": rr[i:i + bs]})
        B.append(b)
        R.append(rh)
    return np.concatenate(B), np.concatenate(R)


def onnx_predict(path):
    r = Runner(path)
    return lambda x, m, rr: run_onnx(r, x, m, rr)


def write_reference(outdir: str, x, m, rr, ids, fp32_out, int8_out, meta: dict):
    """Raw little-endian float32 .bin files + reference.json describing shapes and order (C-order)."""
    os.makedirs(outdir, exist_ok=True)
    files = {}

    def put(name, arr):
        arr = np.ascontiguousarray(arr, dtype="<f4")
        arr.tofile(os.path.join(outdir, name + ".bin"))
        files[name] = {"file": name + ".bin", "shape": list(arr.shape), "dtype": "float32-le", "order": "C"}

    put("ecg", x)
    put("lead_mask", m)
    put("beat_rr", rr)
    put("beat_logits_fp32", fp32_out[0])
    put("rhythm_logits_fp32", fp32_out[1])
    put("beat_logits_int8", int8_out[0])
    put("rhythm_logits_int8", int8_out[1])
    doc = {"description": "Real conditioned windows with PyTorch fp32 outputs and int8 outputs of the QDQ graph "
                          "(simulated in numpy exactly as written in ecg-nat-int8.onnx).",
           "windows": ids, "tensors": files, **meta}
    with open(os.path.join(outdir, "reference.json"), "w") as f:
        json.dump(doc, f, indent=2)
