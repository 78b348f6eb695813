#!/usr/bin/python3
"""Export the SAME shipped ECG-NAT with its 1-D neighborhood attention written differently, for ORT timing.

The shipped model (models/ecg-nat-fp32.onnx, rebuilt in PyTorch by tools/bench/torch_from_onnx.py) computes
attention as index_select gathers of K/V into [B,H,L,k,dh] followed by broadcast Mul + ReduceSum, which
materialises large tensors. This script swaps every NeighborhoodAttention for a mathematically equivalent
formulation (same weights, same k neighbours, same relative position bias, same softmax) and exports it:

  A "gather_matmul": same gathers, but scores and output as batched MatMul
                     q[B,H,L,1,dh] @ kg^T[B,H,L,dh,k] and att[B,H,L,1,k] @ vg[B,H,L,k,dh].
  B "band_dense":    full attention S = q @ k^T per head ([L,L]) + a constant [H,L,L] bias holding rpb at the
                     neighbourhood positions (from na_index, so dilation and edge shifting are exact) and -1e4
                     elsewhere; softmax; @ v. No gathers at all.
  C "band_blocked":  B, but cheaper: tokens are first split into their dilation groups (the neighbourhood of a
                     dilated layer lies inside one group), then queries are cut into blocks of T and each block
                     attends to one contiguous key window of W = T + k - 1 tokens (shifted inward at the edges)
                     with a constant [H,d,nb,T,W] bias (rpb / -1e4). Small groups are done densely.

For each variant it: checks torch outputs against models/reference (fp32), exports with torch.onnx opset 17
exactly like tools/train/ecgnat/export.py (same names, dynamic batch, constant folding), checks the ONNX graph
with the numpy runner tools/train/ecgnat/onnx_np.py, builds an int8 QDQ graph with export.quantize_qdq using the
SHIPPED int8 model's activation scales/zero points (transplanted, so quantization is identical; the 256
calibration windows are not in the repo), checks it against the int8 reference, and writes a copy of models/
under OUT/<variant>/ whose manifest points at the new files (sha256/size updated) for `ecgedge bench inference`.

  /usr/bin/python3 tools/bench/experiments/na_export_variants.py --out /tmp/natexp [--variants A B C]

Scratch only: nothing under models/ is modified.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tools", "train"))
sys.path.insert(0, os.path.dirname(HERE))  # tools/bench
from torch_from_onnx import load_model, load_reference  # noqa: E402
from ecgnat import export as ex  # noqa: E402
from ecgnat.model import ExportWrapper, NeighborhoodAttention, na_index  # noqa: E402
from ecgnat.onnx_np import Runner  # noqa: E402

NEG = -1e4  # masked (non-neighbour) logit: exp(NEG - max) underflows to exactly 0 in fp32


# ----------------------------------------------------------------------------------------------- variants

class _NABase(nn.Module):
    """Holds the original module's weights (shared, not copied) and geometry."""

    def __init__(self, na: NeighborhoodAttention):
        super().__init__()
        self.h, self.dh, self.L, self.k, self.d, self.scale = na.h, na.dh, na.L, na.k, na.d, na.scale
        self.qkv, self.proj, self.rpb = na.qkv, na.proj, na.rpb
        idx, rel = na_index(na.L, na.k, na.d)
        self.idx_np, self.rel_np = idx, rel

    def _qkv(self, x):
        B, L = x.shape[0], self.L
        qkv = self.qkv(x).reshape(B, L, 3, self.h, self.dh).permute(2, 0, 3, 1, 4)  # 3,B,H,L,dh
        return qkv[0] * self.scale, qkv[1], qkv[2]

    def _out(self, out):  # B,H,L,dh -> B,L,C -> proj
        B = out.shape[0]
        return self.proj(out.transpose(1, 2).reshape(B, self.L, self.h * self.dh))


class NAGatherMatMul(_NABase):
    """A: gathered neighbourhoods, scores and weighted sum as batched MatMul."""

    def __init__(self, na):
        super().__init__(na)
        self.register_buffer("idx", torch.from_numpy(self.idx_np.reshape(-1)), persistent=False)
        self.register_buffer("rel", torch.from_numpy(self.rel_np.reshape(-1)), persistent=False)

    def forward(self, x):
        q, k, v = self._qkv(x)
        B, H, L, K, dh = q.shape[0], self.h, self.L, self.k, self.dh
        kg = torch.index_select(k, 2, self.idx).reshape(B, H, L, K, dh)
        vg = torch.index_select(v, 2, self.idx).reshape(B, H, L, K, dh)
        att = torch.matmul(q.unsqueeze(3), kg.transpose(-1, -2)).squeeze(3)             # B,H,L,k
        att = att + torch.index_select(self.rpb, 1, self.rel).reshape(H, L, K)          # folded to a constant
        att = att.softmax(-1)
        out = torch.matmul(att.unsqueeze(3), vg).squeeze(3)                              # B,H,L,dh
        return self._out(out)


def _band_bias(rpb: np.ndarray, idx, rel, L: int) -> np.ndarray:
    """[H, L, L]: rpb[h, rel[i,j]] at (i, idx[i,j]), NEG elsewhere (built once from the trained rpb)."""
    H, k = rpb.shape[0], idx.shape[1]
    bias = np.full((H, L, L), NEG, np.float32)
    rows = np.repeat(np.arange(L), k)
    bias[:, rows, idx.reshape(-1)] = rpb[:, rel.reshape(-1)]
    return bias


class NABandDense(_NABase):
    """B: dense [L,L] attention with a constant band bias (rpb inside the neighbourhood, NEG outside)."""

    def __init__(self, na):
        super().__init__(na)
        rpb = na.rpb.detach().numpy()
        self.register_buffer("bias", torch.from_numpy(_band_bias(rpb, self.idx_np, self.rel_np, self.L)),
                             persistent=False)

    def forward(self, x):
        q, k, v = self._qkv(x)
        s = torch.matmul(q, k.transpose(-1, -2)) + self.bias                             # B,H,L,L
        return self._out(torch.matmul(s.softmax(-1), v))                                  # B,H,L,dh


def _pick_block(Lg: int, k: int):
    """Query block T (a divisor of Lg near 2k) or None for dense attention within the group."""
    if Lg <= 3 * k:
        return None
    divs = [t for t in range(k, Lg) if Lg % t == 0]
    return min(divs, key=lambda t: abs(t - 2 * k)) if divs else None


class NABandBlocked(_NABase):
    """C: split into dilation groups, query blocks of T, one contiguous key window of W per block, constant bias."""

    def __init__(self, na):
        super().__init__(na)
        L, K, d, H = self.L, self.k, self.d, self.h
        assert L % d == 0, "dilation groups must have equal length"
        Lg = L // d
        T = _pick_block(Lg, K)
        if T is None:
            T, W, ks = Lg, Lg, np.array([0])
        else:
            W = min(T + K - 1, Lg)
            ks = np.clip(np.arange(Lg // T) * T - K // 2, 0, Lg - W)
        nb = Lg // T
        self.Lg, self.T, self.W, self.nb = Lg, T, W, nb
        # mapping of every (i, j) neighbour onto (group, block, t, w); assert it fits the key window
        idx, rel = self.idx_np, self.rel_np
        pos = np.full((d, nb, T, W), -1, np.int64)   # index into rel-table per slot, -1 = masked
        for i in range(L):
            g, p = i % d, i // d
            b, t = p // T, p % T
            for j in range(K):
                pk = (idx[i, j] - g) // d
                assert (idx[i, j] - g) % d == 0
                w = pk - ks[b]
                assert 0 <= w < W, f"neighbour outside key window (L={L}, k={K}, d={d}, T={T})"
                pos[g, b, t, w] = rel[i, j]
        self.pos_np = pos
        kidx = torch.from_numpy((ks[:, None] + np.arange(W)[None]).reshape(-1)) if nb > 1 else None
        self.register_buffer("kidx", kidx, persistent=False)
        self.register_buffer("bias", torch.from_numpy(self._bias_np()), persistent=False)

    def _bias_np(self):
        """[H, d, nb, T, W]: rpb at neighbour slots, NEG elsewhere (built once from the trained rpb)."""
        rpb = self.rpb.detach().numpy()
        m = self.pos_np >= 0
        vals = rpb[:, np.where(m, self.pos_np, 0)]
        return np.where(m[None], vals, NEG).astype(np.float32)

    def _group(self, t):  # B,H,L,dh -> B,H,d,Lg,dh (token i = p*d + g)
        B = t.shape[0]
        t = t.reshape(B, self.h, self.Lg, self.d, self.dh)
        return t.transpose(2, 3) if self.d > 1 else t.reshape(B, self.h, 1, self.Lg, self.dh)

    def forward(self, x):
        q, k, v = self._qkv(x)
        B, H, d, nb, T, W, dh = q.shape[0], self.h, self.d, self.nb, self.T, self.W, self.dh
        q, k, v = self._group(q), self._group(k), self._group(v)
        q = q.reshape(B, H, d, nb, T, dh)
        if self.kidx is not None:
            k = torch.index_select(k, 3, self.kidx).reshape(B, H, d, nb, W, dh)
            v = torch.index_select(v, 3, self.kidx).reshape(B, H, d, nb, W, dh)
        else:
            k, v = k.reshape(B, H, d, 1, W, dh), v.reshape(B, H, d, 1, W, dh)
        s = torch.matmul(q, k.transpose(-1, -2)) + self.bias                           # B,H,d,nb,T,W
        out = torch.matmul(s.softmax(-1), v).reshape(B, H, d, self.Lg, dh)                # B,H,d,Lg,dh
        out = out.transpose(2, 3).reshape(B, H, self.L, dh) if d > 1 else out.reshape(B, H, self.L, dh)
        return self._out(out)


VARIANTS = {"A": ("gather_matmul", NAGatherMatMul), "B": ("band_dense", NABandDense),
            "C": ("band_blocked", NABandBlocked)}


def swap_attention(model, cls):
    """Replace every block's NeighborhoodAttention by cls(original) in place; returns the model."""
    for stage in model.stages:
        for blk in stage:
            blk.att = cls(blk.att)
    return model.eval()


# ----------------------------------------------------------------------------------------------- int8

def transplanted_ranges(shipped_int8: str, new_fp32: str) -> dict:
    """Activation (lo, hi) for export.quantize_qdq that reproduce the shipped int8 model's scales/zero points.

    The quantized ops (Conv/Gemm/MatMul with a constant weight, in graph order) are the same Linear layers in
    the same order in both graphs (attention rewrites add no constant-weight MatMul); this is checked by
    comparing each new fp32 weight with the shipped dequantized int8 weight. quantize_qdq computes
    sc = (hi - lo) / 255 and zp = rint(-128 - lo / sc), so lo = (-128 - zp) * sc, hi = (127 - zp) * sc."""
    old = onnx.load(shipped_int8).graph
    oinit = {t.name: numpy_helper.to_array(t) for t in old.initializer}
    old_ops = [n for n in old.node if n.op_type in ("Conv", "Gemm", "MatMul") and n.input[1].endswith("_dq")]
    new = onnx.load(new_fp32).graph
    targets = ex._weight_targets(new)
    ninit = {t.name: numpy_helper.to_array(t) for t in new.initializer}
    assert len(old_ops) == len(targets), (len(old_ops), len(targets))
    ranges = {}
    for on, (nn_, _, axis, _) in zip(old_ops, targets):
        assert on.op_type == nn_.op_type
        wq = on.input[1][:-len("_dq")]
        sc = oinit[wq + "_scale"]
        shp = [1] * oinit[wq + "_q"].ndim
        shp[axis] = -1
        deq = oinit[wq + "_q"].astype(np.float32) * sc.reshape(shp)
        W = ninit[nn_.input[1]]
        assert W.shape == deq.shape and np.abs(W - deq).max() <= sc.max() * 0.5 + 1e-7, f"weight mismatch {wq}"
        a = on.input[0]
        if a.endswith("_a_dq"):
            base = a[:-len("_a_dq")]
            s, z = float(oinit[base + "_a_scale"]), int(oinit[base + "_a_zp"])
            ranges[nn_.input[0]] = ((-128 - z) * s, (127 - z) * s)
    return ranges


# ----------------------------------------------------------------------------------------------- main

def file_entry(path):
    return {"path": os.path.basename(path), "sha256": ex.sha256(path), "bytes": os.path.getsize(path)}


def op_histogram(path):
    h = {}
    for n in onnx.load(path).graph.node:
        h[n.op_type] = h.get(n.op_type, 0) + 1
    return dict(sorted(h.items(), key=lambda kv: -kv[1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="/tmp/natexp")
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--no-int8", action="store_true", help="point the int8 entry at the fp32 file instead")
    a = ap.parse_args()
    models_dir = os.path.join(REPO, "models")
    ref = load_reference(os.path.join(models_dir, "reference"))
    x, m = ref["ecg"], ref["lead_mask"]
    with open(os.path.join(models_dir, "ecg-nat.manifest.json")) as f:
        manifest = json.load(f)
    summary = {}
    for key in a.variants:
        name, cls = VARIANTS[key]
        print(f"== variant {key} ({name})", flush=True)
        model = swap_attention(load_model(os.path.join(models_dir, "ecg-nat-fp32.onnx")), cls)
        with torch.no_grad():
            tb, tr = model(torch.from_numpy(x), torch.from_numpy(m))
        d_torch = max(float(np.abs(tb.numpy() - ref["beat_logits_fp32"]).max()),
                      float(np.abs(tr.numpy() - ref["rhythm_logits_fp32"]).max()))
        print(f"   torch fp32 vs reference: max |diff| {d_torch:.3g}", flush=True)

        vdir = os.path.join(a.out, name)
        if os.path.isdir(vdir):
            shutil.rmtree(vdir)
        shutil.copytree(models_dir, vdir, ignore=shutil.ignore_patterns("*.onnx"))
        fp32 = os.path.join(vdir, f"ecg-nat-{name}-fp32.onnx")
        ex.export_module(ExportWrapper(model), model.cfg, fp32)  # export_fp32 would rewrite the attention again
        ob, orr = ex.run_onnx(fp32, x, m, bs=16)
        d_onnx = max(float(np.abs(ob - ref["beat_logits_fp32"]).max()),
                     float(np.abs(orr - ref["rhythm_logits_fp32"]).max()))
        print(f"   ONNX fp32 (numpy runner) vs reference: max |diff| {d_onnx:.3g}", flush=True)
        res = {"torch_fp32_max_diff": d_torch, "onnx_fp32_max_diff": d_onnx, "fp32_bytes": os.path.getsize(fp32),
               "ops": op_histogram(fp32)}

        if a.no_int8:
            int8 = fp32
        else:
            int8 = os.path.join(vdir, f"ecg-nat-{name}-int8.onnx")
            ranges = transplanted_ranges(os.path.join(models_dir, "ecg-nat-int8.onnx"), fp32)
            ex.quantize_qdq(fp32, int8, ranges)
            qb, qr = ex.run_onnx(int8, x, m, bs=16)
            rb, rr = ref["beat_logits_int8"], ref["rhythm_logits_int8"]
            res["int8_max_diff"] = max(float(np.abs(qb - rb).max()), float(np.abs(qr - rr).max()))
            res["int8_beat_argmax_agree_pct"] = float((qb.argmax(-1) == rb.argmax(-1)).mean() * 100)
            res["int8_rhythm_argmax_agree_pct"] = float((qr.argmax(-1) == rr.argmax(-1)).mean() * 100)
            print(f"   ONNX int8 (numpy runner) vs int8 reference: max |diff| {res['int8_max_diff']:.3g}, "
                  f"beat argmax agree {res['int8_beat_argmax_agree_pct']:.2f}%, "
                  f"rhythm {res['int8_rhythm_argmax_agree_pct']:.2f}%", flush=True)
        man = json.loads(json.dumps(manifest))
        man["name"] = manifest["name"]
        man["files"] = {"fp32": file_entry(fp32), "int8": file_entry(int8)}
        mpath = os.path.join(vdir, "ecg-nat.manifest.json")
        with open(mpath, "w") as f:
            json.dump(man, f, indent=2)
        res["manifest"] = mpath
        print(f"   manifest {mpath}; ops {res['ops']}", flush=True)
        summary[key] = res
    with open(os.path.join(a.out, "variants.json"), "w") as f:
        json.dump(summary, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
