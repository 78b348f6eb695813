"""Export-only form of the 1-D neighbourhood attention: grouped band attention.

Training uses NeighborhoodAttention (model.py), which gathers each token's k neighbours with index_select into
[B, H, L, k, dh] and reduces with broadcast Mul + ReduceSum. That is simple and exact, but as an ONNX graph it
materialises large gathered tensors and is the slowest part of inference. BandAttention computes the same
function with dense MatMuls over small blocks:

* Tokens are split into their dilation groups (token i belongs to group i % d, position i // d). A dilated
  neighbourhood never leaves its group, so each group is an undilated problem of length Lg = L / d.
* Within a group, queries are cut into nb blocks of T consecutive positions (T divides Lg, chosen near 2k).
  Every query of a block finds its k neighbours inside one contiguous key window of W = T + k - 1 positions,
  starting at block_start - k // 2 and shifted inward at the edges, as the neighbourhoods themselves are.
  Short groups (Lg <= 3k) are a single block whose window is the whole group.
* Scores are q @ k_window^T plus a constant bias [H, d, nb, T, W]: the trained relative position bias at the
  (query, key) pairs that are neighbours (taken from na_index, so edge shifting and dilation are exact) and
  NEG everywhere else. exp(NEG - max) underflows to exactly 0 in fp32, so the softmax sees the same k logits
  as the gather form and the rest contribute nothing.

The weights (qkv, proj, rpb) are shared with the trained module; the bias is built once from rpb at export.
The construction checks that the geometry fits (equal-length dilation groups, every neighbourhood inside its
block's key window) and raises ValueError otherwise, so a model configuration this form cannot express fails
at export instead of producing a wrong graph.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .data import RR_DIM_BASE
from .model import EcgNat, NeighborhoodAttention, na_index

NEG = -1e4  # logit of a non-neighbour; exp(NEG - max) == 0 in fp32


def pick_block(Lg: int, k: int) -> int | None:
    """Query block length T for a group of Lg tokens: a divisor of Lg (>= k) closest to 2k, or None when the
    group is short (Lg <= 3k) or has no such divisor, in which case the whole group is one block."""
    if Lg <= 3 * k:
        return None
    divisors = [t for t in range(k, Lg) if Lg % t == 0]
    return min(divisors, key=lambda t: abs(t - 2 * k)) if divisors else None


class BandAttention(nn.Module):
    """Drop-in, export-only replacement for a trained NeighborhoodAttention (same parameters, same output)."""

    def __init__(self, na: NeighborhoodAttention):
        super().__init__()
        self.h, self.dh, self.L, self.k, self.d, self.scale = na.h, na.dh, na.L, na.k, na.d, na.scale
        self.qkv, self.proj, self.rpb = na.qkv, na.proj, na.rpb  # shared, not copied
        L, k, d = self.L, self.k, self.d
        if L % d:
            raise ValueError(f"band attention needs equal dilation groups: L={L} is not divisible by d={d}")
        Lg = L // d
        T = pick_block(Lg, k)
        if T is None:
            T, W, starts = Lg, Lg, np.zeros(1, np.int64)
        else:
            W = min(T + k - 1, Lg)
            starts = np.clip(np.arange(Lg // T) * T - k // 2, 0, Lg - W)  # first key position of each window
        nb = Lg // T
        self.Lg, self.T, self.W, self.nb = Lg, T, W, nb

        # slot[g, b, t, w] = relative-position index of key w for query t of block b in group g, -1 if not a neighbour
        idx, rel = na_index(L, k, d)
        slot = np.full((d, nb, T, W), -1, np.int64)
        for i in range(L):
            g, p = i % d, i // d
            b, t = divmod(p, T)
            for j in range(k):
                off = int(idx[i, j]) - g
                if off % d:
                    raise ValueError(f"neighbour {idx[i, j]} of token {i} is outside its dilation group (d={d})")
                w = off // d - starts[b]
                if not 0 <= w < W:
                    raise ValueError(f"neighbour {idx[i, j]} of token {i} lies outside its block's key window "
                                     f"(L={L}, k={k}, d={d}, T={T}, W={W})")
                slot[g, b, t, w] = rel[i, j]
        if (slot >= 0).sum() != L * k:
            raise ValueError(f"band attention lost neighbours (L={L}, k={k}, d={d})")
        self.slot = slot
        kwin = (starts[:, None] + np.arange(W)[None]).reshape(-1) if nb > 1 else None
        self.register_buffer("kwin", None if kwin is None else torch.from_numpy(kwin), persistent=False)
        self.register_buffer("bias", self._bias(), persistent=False)

    @torch.no_grad()
    def _bias(self) -> torch.Tensor:
        """[H, d, nb, T, W]: rpb at neighbour slots, NEG elsewhere."""
        rpb = self.rpb.detach().cpu().numpy()
        hit = self.slot >= 0
        vals = rpb[:, np.where(hit, self.slot, 0)]
        return torch.from_numpy(np.where(hit[None], vals, NEG).astype(np.float32))

    def _to_groups(self, t: torch.Tensor) -> torch.Tensor:
        """[B, H, L, dh] -> [B, H, d, Lg, dh] with token i = p * d + g at [g, p]."""
        B = t.shape[0]
        t = t.reshape(B, self.h, self.Lg, self.d, self.dh)
        return t.transpose(2, 3) if self.d > 1 else t.reshape(B, self.h, 1, self.Lg, self.dh)

    def forward(self, x):
        B, H, L, d, nb, T, W, dh = x.shape[0], self.h, self.L, self.d, self.nb, self.T, self.W, self.dh
        qkv = self.qkv(x).reshape(B, L, 3, H, dh).permute(2, 0, 3, 1, 4)                # 3,B,H,L,dh
        q, k, v = self._to_groups(qkv[0] * self.scale), self._to_groups(qkv[1]), self._to_groups(qkv[2])
        q = q.reshape(B, H, d, nb, T, dh)
        if self.kwin is not None:  # overlapping key windows, one per query block
            k = torch.index_select(k, 3, self.kwin).reshape(B, H, d, nb, W, dh)
            v = torch.index_select(v, 3, self.kwin).reshape(B, H, d, nb, W, dh)
        else:
            k, v = k.reshape(B, H, d, 1, W, dh), v.reshape(B, H, d, 1, W, dh)
        s = torch.matmul(q, k.transpose(-1, -2)) + self.bias                              # B,H,d,nb,T,W
        out = torch.matmul(s.softmax(-1), v).reshape(B, H, d, self.Lg, dh)                 # B,H,d,Lg,dh
        out = out.transpose(2, 3) if d > 1 else out
        return self.proj(out.reshape(B, H, L, dh).transpose(1, 2).reshape(B, L, H * dh))


def _with_attention(model: EcgNat, attention_cls) -> EcgNat:
    """A deep copy of model (eval mode) with every NeighborhoodAttention replaced by attention_cls(it); the
    original model is left untouched."""
    out = copy.deepcopy(model).eval()
    n = 0
    for stage in out.stages:
        for blk in stage:
            if isinstance(blk.att, NeighborhoodAttention):
                blk.att = attention_cls(blk.att)
                n += 1
    if n == 0:
        raise ValueError("no NeighborhoodAttention found to rewrite")
    return out


def _check_same(model: EcgNat, rewritten: nn.Module, check_input, tol: float, what: str):
    """Runs model (the gather form) and its rewritten export form on check_input; ValueError when any output
    differs by more than tol."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        ref, new = model(*check_input), rewritten(*check_input)
    model.train(was_training)
    diff = max(float((a - b).abs().max()) for a, b in zip(ref, new))
    if not diff <= tol:
        raise ValueError(f"{what} differs from the gather form by {diff:.3g} (> {tol})")


def band_attention_copy(model: EcgNat, check_input=None, tol: float = 1e-4) -> EcgNat:
    """A deep copy of model (eval mode) with every NeighborhoodAttention replaced by BandAttention; the original
    model is left untouched. If check_input=(ecg, lead_mask) is given, both forms are run on it and a ValueError
    is raised when any output differs by more than tol."""
    out = _with_attention(model, BandAttention)
    if check_input is not None:
        _check_same(model, out, check_input, tol, "band attention")
    return out


def rpb_from_band_bias(na: NeighborhoodAttention, table: np.ndarray) -> np.ndarray:
    """Inverse of BandAttention's bias: the trained rpb [H, 2k-1] of na's geometry from an exported
    [H, d, nb, T, W] bias table (for tools that rebuild the PyTorch model from the fp32 ONNX). Checks that
    every relative offset occurs, that all copies of one offset agree bit-exactly and that every other slot
    holds NEG; raises ValueError otherwise."""
    slot = BandAttention(na).slot  # geometry only; na's own rpb is not used
    H = na.h
    if table.shape != (H, *slot.shape):
        raise ValueError(f"band bias shape {table.shape} != {(H, *slot.shape)}")
    hit = slot >= 0
    rpb = np.full((H, 2 * na.k - 1), np.nan, np.float32)
    rpb[:, slot[hit]] = table[:, hit]
    if np.isnan(rpb).any():
        raise ValueError("some relative offsets never occur: rpb cannot be recovered")
    if not np.array_equal(rpb[:, slot[hit]], table[:, hit]):
        raise ValueError("band bias is not a gather of one [heads, 2k-1] table")
    if not np.all(table[:, ~hit] == np.float32(NEG)):
        raise ValueError("band bias has non-masked values outside the neighbourhoods")
    return rpb


# ------------------------------------------------------------------------------------------ lean export form
#
# The same band attention and the same model, written so the exported graph has fewer nodes. In the "band" form
# above, x.shape[0] feeds every Reshape, so torch.onnx writes Shape -> Gather -> Unsqueeze -> Concat before each
# of them (13 Reshapes per attention layer); q/k/v are taken with three Gathers (ONNX Runtime turns them into
# Split + 3 Squeeze) and regrouped one by one; Downsample and the upsampling of the feature fusion compute their
# shapes at run time as well (Expand, Where, Equal, ConstantOfShape). The lean form:
#   * uses -1 for the batch axis in every Reshape, so every target shape is a constant,
#   * reshapes the qkv output once to [B, nb, T, d, 3, H, dh] and transposes it once to [B, 3, H, d, nb, T, dh]
#     (q is then already in query-block layout), and one Split gives q, k, v,
#   * takes the key/value windows with one Gather of a constant [nb, W] index (no Reshape after it),
#   * writes the output back with one Transpose + one Reshape,
#   * Downsample: one constant Reshape; fusion: f2 and f3 are added by broadcasting over a [B, L/4, 2, 2, F]
#     view of the fine tokens, the same sums in the same order as repeat-then-add.
# Every arithmetic operation and its order is unchanged; only data movement differs (the numpy runner and ONNX
# Runtime give bit-identical logits for both forms). The batch stays the first axis of every tensor.
# 884 -> 264 nodes in the fp32 file; ONNX Runtime executes 204 instead of 341 nodes per int8 run.


class LeanBandAttention(BandAttention):
    """BandAttention with the lean data movement (same parameters, bias, blocks and windows)."""

    def __init__(self, na: NeighborhoodAttention):
        super().__init__(na)
        kwin = self.kwin
        self.register_buffer("kwin2", None if kwin is None else kwin.reshape(self.nb, self.W), persistent=False)

    def forward(self, x):
        H, L, d, nb, T, dh = self.h, self.L, self.d, self.nb, self.T, self.dh
        t = self.qkv(x).reshape(-1, nb, T, d, 3, H, dh).permute(0, 4, 5, 3, 1, 2, 6)     # B,3,H,d,nb,T,dh
        q, k, v = torch.split(t, 1, dim=1)                                                # each B,1,H,d,nb,T,dh
        q = q * self.scale
        if self.kwin2 is not None:  # overlapping key windows, one per query block: [B, 1, H, d, nb, W, dh]
            k = k.reshape(-1, 1, H, d, self.Lg, dh)[:, :, :, :, self.kwin2]
            v = v.reshape(-1, 1, H, d, self.Lg, dh)[:, :, :, :, self.kwin2]
        s = torch.matmul(q, k.transpose(-1, -2)) + self.bias                              # B,1,H,d,nb,T,W
        out = torch.matmul(s.softmax(-1), v)                                              # B,1,H,d,nb,T,dh
        return self.proj(out.permute(0, 1, 4, 5, 3, 2, 6).reshape(-1, L, H * dh))         # B,L,C


class LeanExport(nn.Module):
    """Export wrapper (holds the model as `m`, like model.ExportWrapper) computing EcgNat.forward with
    constant-shaped Reshapes. The attention modules must already be LeanBandAttention (lean_export_copy)."""

    def __init__(self, m: EcgNat):
        super().__init__()
        self.m = m

    @staticmethod
    def _down(ds, x, L: int, C: int):
        return ds.red(ds.norm(x).reshape(-1, L // 2, 2 * C))

    def forward(self, ecg, lead_mask, beat_rr):
        m, cfg = self.m, self.m.cfg
        L1, L2, L3 = cfg.tokens()
        D, F_ = cfg.dims, cfg.fuse_dim
        if L1 != 2 * L2 or L2 != 2 * L3:
            raise ValueError(f"lean export needs token counts halving exactly, got {L1, L2, L3}")
        x = ecg * lead_mask.unsqueeze(-1)
        t = m.stem_norm(m.stem(x).transpose(1, 2) + m.mask_emb(lead_mask).unsqueeze(1))
        f1 = m.stages[0](t)
        f2 = m.stages[1](self._down(m.downs[0], f1, L1, D[0]))
        f3 = m.stages[2](self._down(m.downs[1], f2, L2, D[1]))
        # fine token i = 4a + 2b + c: f2 token 2a + b, f3 token a
        s = m.f1(f1).reshape(-1, L3, 2, 2, F_) + m.f2(f2).reshape(-1, L3, 2, 1, F_)
        fused = m.fnorm((s + m.f3(f3).reshape(-1, L3, 1, 1, F_)).reshape(-1, L1, F_))
        bh, rh = m.beat_hidden(fused, beat_rr), m.rhythm_hidden(f3, beat_rr)  # EcgNat.forward's order
        return m.fuse_features(m.beat_out(bh) + m.rr_out(m.net_rr(beat_rr)), beat_rr), m.r_out(rh)


def lean_export_copy(model: EcgNat, check_input=None, tol: float = 1e-4) -> LeanExport:
    """LeanExport of a deep copy of model with every NeighborhoodAttention replaced by LeanBandAttention; checked
    against the trained (gather) form like band_attention_copy."""
    w = LeanExport(_with_attention(model, LeanBandAttention)).eval()
    if check_input is not None:
        _check_same(model, w, check_input, tol, "lean export")
    return w


# ------------------------------------------------------------------------------------------ flat export form
#
# The lean form with every token tensor kept two-dimensional, [B * L, C] (row = batch * L + token), instead of
# [B, L, C]. torch.onnx writes a Linear on a 2-D input as one Gemm (bias included) instead of MatMul + Add, and
# ONNX Runtime turns a QDQ Gemm whose bias is an int32 DequantizeLinear into one QGemm. LayerNormalization,
# residual Adds and GELU act row by row, so they are unchanged; the attention's first Reshape and the token
# merges of Downsample and the fusion read the rows in the same order as before. The attention moves q/k/v with
# one transpose of rank 4 (undilated) or 5 (dilated) and its output likewise, instead of the rank-7 permutes of the
# lean form (ONNX Runtime ~2-3 % faster per window). Same parameters, same arithmetic order (fp32 logits
# identical to the first flat export); the int8 graph differs from the lean one in that each Gemm bias is stored as
# int32 at the scale activation scale x weight scale (export.quantize_qdq, int32_bias=True).


class FlatBandAttention(LeanBandAttention):
    """LeanBandAttention on [B * L, C] rows: same data movement, 2-D input and output. The query scale dh^-0.5 is
    folded into the q rows of the qkv weight and bias (so q leaves the Gemm scaled and the int8 graph can
    quantize q, k and v at the Gemm output); this needs dh to be a power of 4, where the scale is a power of two
    and the fold is exact. The module must own its qkv (flat_export_copy works on a deep copy)."""

    def __init__(self, na: NeighborhoodAttention):
        super().__init__(na)
        if 2.0 ** round(np.log2(self.scale)) != self.scale:
            raise ValueError(f"query scale {self.scale} (dh={self.dh}) is not a power of two: folding it is not exact")
        C = self.h * self.dh
        with torch.no_grad():
            self.qkv.weight[:C] *= self.scale
            self.qkv.bias[:C] *= self.scale

    def forward(self, x):
        H, d, Lg, nb, T, dh = self.h, self.d, self.Lg, self.nb, self.T, self.dh
        # One transpose of lowest rank: [B, Lg, d, 3H, dh] -> [B, 3H, d, Lg, dh] (token i = p * d + g); the
        # block views after it are free reshapes
        if d > 1:
            t = self.qkv(x).reshape(-1, Lg, d, 3 * H, dh).permute(0, 3, 2, 1, 4)
        else:
            t = self.qkv(x).reshape(-1, Lg, 3 * H, dh).transpose(1, 2)
        t = t.reshape(-1, 3, H, d, nb, T, dh)                                              # B,3,H,d,nb,T,dh
        q, k, v = torch.split(t, 1, dim=1)                                                # q already scaled
        if self.kwin2 is not None:
            k = k.reshape(-1, 1, H, d, Lg, dh)[:, :, :, :, self.kwin2]
            v = v.reshape(-1, 1, H, d, Lg, dh)[:, :, :, :, self.kwin2]
        s = torch.matmul(q, k.transpose(-1, -2)) + self.bias
        out = torch.matmul(s.softmax(-1), v)                                              # B,1,H,d,nb,T,dh
        if d > 1:
            out = out.reshape(-1, H, d, Lg, dh).permute(0, 3, 2, 1, 4)                     # B,Lg,d,H,dh
        else:
            out = out.reshape(-1, H, Lg, dh).transpose(1, 2)                               # B,L,H,dh
        return self.proj(out.reshape(-1, H * dh))                                         # B*L,C


class FlatExport(nn.Module):
    """Export wrapper like LeanExport with [B * L, C] token rows (attention must be FlatBandAttention)."""

    def __init__(self, m: EcgNat):
        super().__init__()
        self.m = m

    def _rr_stats(self, beat_rr):
        """EcgNat.rr_stats with the same operations in the same order on [B, L, 1] slices (one Split, no
        Squeeze/Unsqueeze per statistic): fewer small nodes; flat_export_copy checks it is bit-identical."""
        if self.m.cfg.rr_dim > RR_DIM_BASE:      # shape features (for the feature head) follow; the statistics use RR only
            beat_rr = beat_rr[..., :RR_DIM_BASE]
        w, pre, post, med = torch.split(beat_rr, 1, dim=-1)
        n = w.sum(1) + 1.0                                                                 # B,1
        s = torch.cat([(post - pre).abs(), pre.abs(), pre * pre, med], dim=-1) * w          # B,L,4
        return torch.cat([s.sum(1) / n, (n - 1.0) / 12.0], dim=-1) * self.m.RR_STAT_SCALE

    def forward(self, ecg, lead_mask, beat_rr):
        m, cfg = self.m, self.m.cfg
        L1, L2, L3 = cfg.tokens()
        D, F_ = cfg.dims, cfg.fuse_dim
        if L1 != 2 * L2 or L2 != 2 * L3:
            raise ValueError(f"flat export needs token counts halving exactly, got {L1, L2, L3}")
        x = ecg * lead_mask.unsqueeze(-1)
        t = (m.stem(x).transpose(1, 2) + m.mask_emb(lead_mask).unsqueeze(1)).reshape(-1, D[0])
        f1 = m.stages[0](m.stem_norm(t))
        f2 = m.stages[1](m.downs[0].red(m.downs[0].norm(f1).reshape(-1, 2 * D[0])))
        f3 = m.stages[2](m.downs[1].red(m.downs[1].norm(f2).reshape(-1, 2 * D[1])))
        # fine token i = 4a + 2b + c: f2 token 2a + b, f3 token a (rows keep this order within each window)
        s = m.f1(f1).reshape(-1, 2, 2, F_) + m.f2(f2).reshape(-1, 2, 1, F_)
        fused = m.fnorm((s + m.f3(f3).reshape(-1, 1, 1, F_)).reshape(-1, F_))
        rr_all = beat_rr.reshape(-1, cfg.rr_dim)
        rr = m.net_rr(rr_all)
        bh = F.gelu(m.beat_fc(fused) + m.rr_fc2(F.gelu(m.rr_fc1(rr))))                  # EcgNat.beat_hidden
        z = m.rnorm(f3).reshape(-1, L3, D[2])                                             # EcgNat.rhythm_hidden
        zm, zx = z.mean(1), z.amax(1)
        stats = self._rr_stats(beat_rr)          # traced in this order: the shipped graph's node order
        rh = F.gelu(m.r_fc(torch.cat([zm, zx, stats], dim=-1)))
        beat = m.fuse_features(m.beat_out(bh) + m.rr_out(rr), rr_all)                       # flat rows, as EcgNat
        return beat.reshape(-1, L1, cfg.n_beat), m.r_out(rh)


def flat_export_copy(model: EcgNat, check_input=None, tol: float = 1e-4) -> FlatExport:
    """FlatExport of a deep copy of model with every NeighborhoodAttention replaced by FlatBandAttention; checked
    against the trained (gather) form like band_attention_copy, and its RR statistics bit for bit."""
    w = FlatExport(_with_attention(model, FlatBandAttention)).eval()
    if check_input is not None:
        _check_same(model, w, check_input, tol, "flat export")
        with torch.no_grad():
            same_stats = torch.equal(model.rr_stats(check_input[2]), w._rr_stats(check_input[2]))
        if not same_stats:
            raise ValueError("flat export's RR statistics are not bit-identical to EcgNat.rr_stats")
    return w
