"""Recover the trained ECG-NAT (a PyTorch EcgNat) from the weights inside an fp32 ONNX export.

There is no .pt checkpoint of the shipped model, so the peer comparison (tools/bench/compare.sh) recovers the
parameters from the fp32 ONNX graph, which torch.onnx.export(do_constant_folding=True) wrote from ExportWrapper
(hence the `m.` prefix):

* LayerNorm weights/biases, every bias, the stem Conv weight and the Gemm weights (mask_emb, r_fc, r_out) keep
  their parameter names.
* Other Linear weights were folded into anonymous `onnx::MatMul_NNN` initializers holding weight.T. They are
  named by following the graph: MatMul(x, W) -> Add(., `X.bias`) means `X.weight = W.T`.
* Each NeighborhoodAttention's relative position bias `rpb` [heads, 2k-1] was folded into an `onnx::Add_NNN`
  constant [heads, L, k] = rpb[:, rel].reshape(heads, L, k), rel from na_index(L, k, d). That Add sits between the
  block's qkv MatMul and its proj MatMul, which names its module; rpb is recovered by scattering back through rel
  (every relative offset occurs, and all copies of one offset must agree exactly).
  Exports with the band attention (tools/train/ecgnat/export_attention.py) hold it instead as a Constant node
  [heads, d, nb, T, W] (rpb at neighbour slots, -1e4 elsewhere) added to the q @ k^T scores; it is inverted
  with export_attention.rpb_from_band_bias.
* The flat export (export_attention.FlatExport, tokens as [B * L, C] rows) writes every Linear with a bias as
  Gemm(transB=1), so those weights keep their names too, and it folds each attention's query scale dh^-0.5 into
  the q rows of its qkv weight and bias; the file says so in its metadata (FOLDED_SCALE_KEY) and the fold is
  undone here (an exact division by a power of two).

Every exported-path parameter must be filled and every initializer that is a parameter must be used; the
training-only heads (mae_dec, beat_proj, rhy_proj) are not in the graph and keep their random init.

Used by tools/bench/torch_from_onnx.py (the peer comparison's PyTorch model) and by the pipeline's
`reexport` stage (a new export of the shipped weights without retraining).
"""
from __future__ import annotations

import json
import os

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from .data import RR_DIM_BASE
from .export_attention import rpb_from_band_bias
from .model import EcgNat, ModelConfig

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

TRAINING_ONLY = ("mae_dec", "beat_proj", "rhy_proj")
PREFIX = "m."  # the export wrappers hold the model as `m`
FOLDED_SCALE_KEY = "ecgedge.query_scale_folded"  # metadata: q rows of every qkv carry the scale dh^-0.5
FEATURE_WEIGHT_KEY = "ecgedge.feature_weight"    # metadata: weight a of a per-beat feature head (model.fuse_features)
ARCHITECTURE_KEY = "ecgedge.architecture"        # metadata of the stride16 experiment's files; absent = "base"
# Graph parts of experiments whose code left the pipeline (the last commit with it: 1617441; findings in
# docs/experiments/): this module refuses such files instead of rebuilding a different model.
REMOVED = {"beat_ctx": "the beat-context experiment (docs/experiments/beat-context.md)",
           "sg": "the S gate experiment (docs/experiments/af-rr.md)",
           "architecture": "the stride16 experiment (docs/experiments/stride16.md)",
           "shape_input": "the network reading the shape features, --morph-features (docs/experiments/beat-shape.md)"}


def _consumers(graph):
    """tensor name -> list of nodes that read it."""
    out = {}
    for n in graph.node:
        for i in n.input:
            out.setdefault(i, []).append(n)
    return out


def _module_of_bias(name: str) -> str:
    """'m.stages.0.0.att.qkv.bias' -> 'stages.0.0.att.qkv'."""
    assert name.startswith(PREFIX) and name.endswith(".bias"), name
    return name[len(PREFIX):-len(".bias")]


def extract_state(onnx_path: str, model: EcgNat) -> dict:
    """State dict (exported-path parameters only) recovered from the fp32 ONNX graph."""
    proto = onnx.load(onnx_path)
    g = proto.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    # the exporter writes a parameter equal to another one (e.g. rr_fc2.bias, which trains in lock-step with
    # beat_fc.bias: both are added to the same sum from the same zero init) as Identity(other)
    for n in g.node:
        if n.op_type == "Identity" and n.input[0] in inits and n.output[0].startswith(PREFIX):
            inits[n.output[0]] = inits[n.input[0]]
    cons = _consumers(g)
    params = dict(model.named_parameters())
    state, used = {}, set()

    # 1. initializers that kept their names (biases, norms, stem conv, Gemm weights)
    for name, arr in inits.items():
        if name.startswith(PREFIX):
            key = name[len(PREFIX):]
            if key not in params:
                raise KeyError(f"ONNX initializer {name} has no parameter in EcgNat")
            state[key] = arr
            used.add(name)

    # Gemm weights: torch.onnx writes nn.Linear as Gemm(transB=1), i.e. already in [out, in]; check, not assume
    for n in g.node:
        if n.op_type == "Gemm":
            tb = {a.name: a.i for a in n.attribute}.get("transB", 0)
            if not tb:
                key = n.input[1][len(PREFIX):]
                state[key] = state[key].T

    # 2. MatMul weights: MatMul(x, W) whose output feeds Add(., X.bias) -> X.weight = W.T
    qkv_owner = {}  # qkv weight initializer -> attention module path (for step 3)
    for n in g.node:
        if n.op_type != "MatMul" or n.input[1] not in inits:
            continue
        w = n.input[1]
        adds = [c for c in cons.get(n.output[0], []) if c.op_type == "Add"]
        biases = [i for c in adds for i in c.input if i in inits and i.startswith(PREFIX) and i.endswith(".bias")]
        if len(biases) == 1:
            mod = _module_of_bias(biases[0])
        else:
            # no bias Add of its own (rr_out has no bias): the exporter's node name "/[m/]<module path>/MatMul"
            # names the module
            parts = n.name.strip("/").split("/")
            if parts and parts[0] + "." == PREFIX:
                parts = parts[1:]
            mod = ".".join(parts[:-1]) if len(parts) > 1 and parts[-1] == "MatMul" else ""
            if mod + ".weight" not in params:
                raise ValueError(f"MatMul {n.name}: expected one bias Add after it, found {biases}")
        key = mod + ".weight"
        W = inits[w].T
        if tuple(params[key].shape) != W.shape:
            raise ValueError(f"{key}: shape {W.shape} != parameter {tuple(params[key].shape)}")
        state[key] = W
        used.add(w)
        if mod.endswith(".att.qkv"):
            qkv_owner[w] = mod[:-len(".qkv")]

    # 3. relative position biases: the Add with a constant [heads, L, k] (gather form) or a constant band bias
    #    [heads, d, nb, T, W] (band form, a Constant node) after a block's qkv MatMul belongs to that block
    bands = {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in g.node
             if n.op_type == "Constant" and n.attribute[0].name == "value" and len(n.attribute[0].t.dims) == 5}
    current = None
    for n in g.node:
        if n.op_type == "MatMul" and n.input[1] in qkv_owner:
            current = qkv_owner[n.input[1]]
            continue
        if n.op_type == "Gemm" and n.input[1].startswith(PREFIX) and n.input[1].endswith(".att.qkv.weight"):
            current = n.input[1][len(PREFIX):-len(".qkv.weight")]
            continue
        if n.op_type != "Add":
            continue
        band = [i for i in n.input if i in bands]
        consts = [i for i in n.input if i in inits and i.startswith("onnx::Add") and inits[i].ndim == 3]
        if not consts and not band:
            continue
        if current is None:
            raise ValueError(f"Add {n.name} with a folded bias before any attention block")
        att = model.get_submodule(current)
        if band:
            state[current + ".rpb"] = rpb_from_band_bias(att, bands[band[0]])
            current = None
            continue
        table = inits[consts[0]]
        if table.shape != (att.h, att.L, att.k):
            raise ValueError(f"{current}: folded rpb shape {table.shape} != {(att.h, att.L, att.k)}")
        state[current + ".rpb"] = _invert_rpb(table, att.rel.numpy().reshape(att.L, att.k), att.k)
        used.add(consts[0])
        current = None  # one rpb per block

    # every parameter-like initializer must have been consumed
    unused = [n for n in inits if n not in used and (n.startswith(PREFIX) or n.startswith("onnx::MatMul")
                                                    or (n.startswith("onnx::Add") and inits[n].ndim == 3))]
    if unused:
        raise ValueError(f"initializers not mapped to parameters: {unused}")

    # 4. the flat export folds the query scale dh^-0.5 (a power of two) into the q rows of qkv: undo it exactly
    meta = {p.key: p.value for p in proto.metadata_props}
    if meta.get(FOLDED_SCALE_KEY) == "true":
        for name, mod in model.named_modules():
            if name.endswith(".att") and hasattr(mod, "qkv"):
                C = mod.h * mod.dh
                for p in ("weight", "bias"):
                    arr = np.array(state[f"{name}.qkv.{p}"], np.float32)
                    arr[:C] = arr[:C] / np.float32(mod.scale)
                    state[f"{name}.qkv.{p}"] = arr
    return state


def _invert_rpb(table: np.ndarray, rel: np.ndarray, k: int) -> np.ndarray:
    """table[h, i, j] = rpb[h, rel[i, j]] -> rpb [h, 2k-1]; checks coverage and that duplicates agree bit-exactly."""
    H = table.shape[0]
    rpb = np.full((H, 2 * k - 1), np.nan, np.float32)
    flat_rel = rel.reshape(-1)
    flat = table.reshape(H, -1)
    rpb[:, flat_rel] = flat  # any copy; verified below
    if np.isnan(rpb).any():
        raise ValueError("some relative offsets never occur: rpb cannot be recovered")
    if not np.array_equal(rpb[:, flat_rel], flat):
        raise ValueError("folded rpb table is not a gather of one [heads, 2k-1] table")
    return rpb


def beat_input_channels(onnx_path: str) -> int:
    """Channels of the graph's beat_rr input: RR only (data.RR_DIM_BASE) or RR + shape (with a feature head)."""
    rr = [i for i in onnx.load(onnx_path, load_external_data=False).graph.input if i.name == "beat_rr"]
    return rr[0].type.tensor_type.shape.dim[2].dim_value if rr else RR_DIM_BASE


def feature_head_of(onnx_path: str) -> tuple[int, float] | None:
    """(width, weight) of the graph's per-beat feature head (train.sh --feature-head), or None without one."""
    proto = onnx.load(onnx_path, load_external_data=False)
    head = [t.dims[0] for t in proto.graph.initializer if t.name == PREFIX + "fh_fc1.weight"]
    if not head:
        return None
    meta = {p.key: p.value for p in proto.metadata_props}
    if FEATURE_WEIGHT_KEY not in meta:
        raise ValueError(f"{onnx_path} has a feature head but no {FEATURE_WEIGHT_KEY} in its metadata")
    return int(head[0]), float(meta[FEATURE_WEIGHT_KEY])


def removed_experiment_of(onnx_path: str) -> str | None:
    """Which removed experiment (REMOVED) the graph was exported with, or None for a graph this code rebuilds: the
    window context of the beat head (nodes under /beat_ctx/), the S gate (initializer m.sg.weight), another
    backbone geometry (ARCHITECTURE_KEY in the metadata) or shape channels the network reads (beat_rr wider than
    RR_DIM_BASE without a feature head)."""
    proto = onnx.load(onnx_path, load_external_data=False)
    if any("/beat_ctx/" in n.name for n in proto.graph.node):
        return REMOVED["beat_ctx"]
    if any(t.name == PREFIX + "sg.weight" for t in proto.graph.initializer):
        return REMOVED["sg"]
    arch = {p.key: p.value for p in proto.metadata_props}.get(ARCHITECTURE_KEY, "base")
    if arch != "base":
        return f"{REMOVED['architecture']}: {arch}"
    if beat_input_channels(onnx_path) > RR_DIM_BASE and feature_head_of(onnx_path) is None:
        return REMOVED["shape_input"]
    return None


def check_supported(onnx_path: str):
    """ValueError if the graph comes from a removed experiment (removed_experiment_of)."""
    what = removed_experiment_of(onnx_path)
    if what:
        raise ValueError(f"{onnx_path} was exported by {what}; that code left the pipeline after commit 1617441 "
                         f"(git show 1617441:tools/train/ecgnat/from_onnx.py)")


def config_of(onnx_path: str) -> ModelConfig:
    """The ModelConfig of an fp32 ONNX export: the base backbone, its beat_rr width and its feature head, if any."""
    check_supported(onnx_path)
    hidden, weight = feature_head_of(onnx_path) or (0, 0.0)
    return ModelConfig(rr_dim=beat_input_channels(onnx_path), feature_head=hidden, feature_weight=weight)


def load_model(onnx_path: str | None = None, cfg: ModelConfig | None = None) -> EcgNat:
    """EcgNat (eval mode) with the shipped fp32 ONNX weights; strict on the exported path."""
    onnx_path = onnx_path or os.path.join(REPO, "models", "ecg-nat-fp32.onnx")
    torch.manual_seed(0)  # training-only heads are left at a deterministic init; they are never run here
    if cfg is None:
        cfg = config_of(onnx_path)
    model = EcgNat(cfg)
    state = extract_state(onnx_path, model)
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(np.array(v, np.float32)) for k, v in state.items()},
                                                strict=False)
    bad_missing = [k for k in missing if not k.startswith(TRAINING_ONLY)]
    if bad_missing or unexpected:
        raise ValueError(f"state dict mismatch: missing {bad_missing}, unexpected {unexpected}")
    return model.eval()


def load_reference(ref_dir: str) -> dict:
    """The arrays described by reference.json, as numpy float32 with their declared shapes."""
    with open(os.path.join(ref_dir, "reference.json")) as f:
        doc = json.load(f)
    out = {}
    for name, t in doc["tensors"].items():
        out[name] = np.fromfile(os.path.join(ref_dir, t["file"]), dtype="<f4").reshape(t["shape"])
    return out

