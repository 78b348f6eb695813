"""Hierarchical 1-D neighborhood-attention backbone (ECG-NAT-style) with beat, rhythm and MAE heads.

Neighborhood attention is written with a constant gather index (index_select) so it exports to ONNX with plain
ops: each query i attends to exactly k keys of its dilation group; at the edges the window shifts inward.
"""
from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# beat_rr channels 0..3: beat flag, pre/med - 1, post/med - 1, med - 0.8 s (data.rr_features)
RR_DIM_BASE = 4
MORPH_DIM = 3                      # shape channels after them (data.morph_features), read by the feature head
FEATURE_HEAD_INPUTS = RR_DIM_BASE - 1 + MORPH_DIM   # beat_rr channels 1..6: three RR numbers, three shape numbers
FEATURE_HEAD_CLASSES = 4           # N, S, V, F (the feature head knows no Q)
HEAD_BEATS = 50                    # beats per window the feature head reads: 10 s at 300 bpm


@dataclass
class ModelConfig:
    in_leads: int = 8
    win: int = 2500
    stem_kernel: int = 12
    stem_stride: int = 8           # token stride at 250 Hz (32 ms per fine token)
    dims: tuple = (32, 48, 64)
    heads: tuple = (2, 3, 4)
    # per stage: list of (kernel, dilation)
    layers: tuple = (((15, 1),), ((13, 1), (13, 4)), ((13, 1), (13, 6)))
    mlp_ratio: tuple = (1.5, 1.5, 1.5)
    fuse_dim: int = 32
    n_beat: int = 5
    n_rhythm: int = 4
    rhythm_hidden: int = 64
    proj_dim: int = 32
    rr_dim: int = 4                # beat_rr input channels per fine token (data.RR_DIM)
    rr_hidden: int = 16
    rr_stats: int = 5              # RR statistics pooled over a window for the rhythm head
    # Per-beat feature head (train.sh --feature-head): width of an MLP on each beat's 3 RR + 3 shape numbers (beat_rr
    # channels 1..6; rr_dim must be RR_DIM_BASE + MORPH_DIM), trained apart from the network (feature_head.py), fused
    # with the network's beat logits as a product of experts with weight feature_weight (EcgNat.fuse_features). 0 = none.
    # The network itself then reads only the RR channels (net_rr_dim). Without a feature head rr_dim is RR_DIM_BASE.
    feature_head: int = 0
    feature_weight: float = 0.0

    @property
    def net_rr_dim(self) -> int:
        """beat_rr channels the network reads: all, or the RR ones only when a feature head reads the rest."""
        return RR_DIM_BASE if self.feature_head else self.rr_dim

    def tokens(self):
        L = (self.win + 2 * self.stem_pad() - self.stem_kernel) // self.stem_stride + 1
        return [L, L // 2, L // 4]

    def stem_pad(self):
        return (self.stem_kernel - self.stem_stride) // 2

    def to_dict(self):
        return asdict(self)


def na_index(L: int, k: int, d: int):
    """Key index [L, k] and relative-position index [L, k] (0..2k-2) for 1-D neighborhood attention."""
    idx = np.zeros((L, k), np.int64)
    rel = np.zeros((L, k), np.int64)
    for i in range(L):
        g = i % d
        Lg = len(range(g, L, d))
        assert k <= Lg, f"kernel {k} x dilation {d} too large for {L} tokens"
        p = i // d
        st = min(max(p - k // 2, 0), Lg - k)
        for j in range(k):
            q = st + j
            idx[i, j] = g + d * q
            rel[i, j] = (q - p) + k - 1
    return idx, rel


class NeighborhoodAttention(nn.Module):
    def __init__(self, dim, heads, L, k, d):
        super().__init__()
        self.h, self.dh, self.L, self.k, self.d = heads, dim // heads, L, k, d
        self.scale = self.dh ** -0.5
        idx, rel = na_index(L, k, d)
        self.register_buffer("idx", torch.from_numpy(idx.reshape(-1)), persistent=False)
        self.register_buffer("rel", torch.from_numpy(rel.reshape(-1)), persistent=False)
        self.rpb = nn.Parameter(torch.zeros(heads, 2 * k - 1))
        nn.init.trunc_normal_(self.rpb, std=0.02)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, L, C = x.shape[0], self.L, self.h * self.dh
        qkv = self.qkv(x).reshape(B, L, 3, self.h, self.dh).permute(2, 0, 3, 1, 4)   # 3,B,H,L,dh
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        kg = torch.index_select(k, 2, self.idx).reshape(B, self.h, L, self.k, self.dh)
        vg = torch.index_select(v, 2, self.idx).reshape(B, self.h, L, self.k, self.dh)
        att = (q.unsqueeze(3) * kg).sum(-1)                                           # B,H,L,k
        att = att + torch.index_select(self.rpb, 1, self.rel).reshape(self.h, L, self.k)
        att = att.softmax(-1)
        out = (att.unsqueeze(-1) * vg).sum(3)                                         # B,H,L,dh
        out = out.transpose(1, 2).reshape(B, L, C)
        return self.proj(out)

    def macs(self):
        C = self.h * self.dh
        return 2 * self.k * C * self.L


class Block(nn.Module):
    def __init__(self, dim, heads, L, k, d, mlp_ratio):
        super().__init__()
        self.n1 = nn.LayerNorm(dim)
        self.att = NeighborhoodAttention(dim, heads, L, k, d)
        self.n2 = nn.LayerNorm(dim)
        h = int(dim * mlp_ratio)
        self.fc1, self.fc2 = nn.Linear(dim, h), nn.Linear(h, dim)

    def forward(self, x):
        x = x + self.att(self.n1(x))
        return x + self.fc2(F.gelu(self.fc1(self.n2(x))))


class Downsample(nn.Module):
    """Token merging x2: concatenate neighbour pairs and project (a stride-2 conv written as reshape + Linear)."""

    def __init__(self, dim, out):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.red = nn.Linear(2 * dim, out)

    def forward(self, x):
        B, L, C = x.shape[0], x.shape[1], x.shape[2]
        return self.red(self.norm(x).reshape(B, L // 2, 2 * C))


def upsample(x, f: int, L: int):
    """Nearest repeat of tokens by integer factor f: [B, L/f, C] -> [B, L, C] (Unsqueeze/Expand/Reshape)."""
    B, Lc, C = x.shape
    return x.unsqueeze(2).expand(B, Lc, f, C).reshape(B, L, C)


def with_config(model: "EcgNat", cfg: ModelConfig, fitted_apart: str) -> "EcgNat":
    """A new EcgNat of cfg holding model's weights, except the parameters whose names start with fitted_apart (a part
    fitted apart from the network, e.g. the feature head "fh_"), which the caller fills in."""
    out = EcgNat(cfg)
    state = {k: v for k, v in copy.deepcopy(model.state_dict()).items() if not k.startswith(fitted_apart)}
    missing, unexpected = out.load_state_dict(state, strict=False)
    if unexpected or any(not k.startswith(fitted_apart) for k in missing):
        raise ValueError(f"model state does not fit: missing {missing}, unexpected {unexpected}")
    return out


class EcgNat(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        D = cfg.dims
        Ls = cfg.tokens()
        self.stem = nn.Conv1d(cfg.in_leads, D[0], cfg.stem_kernel, cfg.stem_stride, cfg.stem_pad())
        self.mask_emb = nn.Linear(cfg.in_leads, D[0])
        self.stem_norm = nn.LayerNorm(D[0])
        self.stages = nn.ModuleList()
        self.downs = nn.ModuleList()
        for s in range(3):
            self.stages.append(nn.Sequential(*[Block(D[s], cfg.heads[s], Ls[s], k, d, cfg.mlp_ratio[s])
                                               for (k, d) in cfg.layers[s]]))
            if s < 2:
                self.downs.append(Downsample(D[s], D[s + 1]))
        F_ = cfg.fuse_dim
        self.f1, self.f2, self.f3 = nn.Linear(D[0], F_), nn.Linear(D[1], F_), nn.Linear(D[2], F_)
        self.fnorm = nn.LayerNorm(F_)
        self.beat_fc = nn.Linear(F_, F_)
        self.rr_fc1 = nn.Linear(cfg.net_rr_dim, cfg.rr_hidden)
        self.rr_fc2 = nn.Linear(cfg.rr_hidden, F_)
        self.rr_out = nn.Linear(cfg.net_rr_dim, cfg.n_beat, bias=False)     # direct (linear) RR path to the beat logits
        self.beat_out = nn.Linear(F_, cfg.n_beat)
        self.rnorm = nn.LayerNorm(D[2])
        self.r_fc = nn.Linear(2 * D[2] + cfg.rr_stats, cfg.rhythm_hidden)
        self.r_out = nn.Linear(cfg.rhythm_hidden, cfg.n_rhythm)
        # training-only heads
        self.mae_dec = nn.Sequential(nn.Linear(F_, 64), nn.GELU(), nn.Linear(64, cfg.in_leads * cfg.stem_stride))
        self.beat_proj = nn.Sequential(nn.Linear(F_, F_), nn.GELU(), nn.Linear(F_, cfg.proj_dim))
        self.rhy_proj = nn.Sequential(nn.Linear(cfg.rhythm_hidden, 64), nn.GELU(), nn.Linear(64, cfg.proj_dim))
        self.apply(self._init)
        # the RR path starts active (the default 0.02 init would make its contribution ~1e-4 of the signal path's)
        nn.init.trunc_normal_(self.rr_fc1.weight, std=0.5)
        nn.init.trunc_normal_(self.rr_fc2.weight, std=0.1)
        nn.init.zeros_(self.rr_out.weight)
        # Per-beat feature head (fuse_features): top-level modules, so the int8 pass can keep them fp32
        # (export.FP32_LAYERS). Created last without drawing random numbers from the global stream; its weights come
        # from train_feature_head, never from the network's training.
        self.fh_fc1 = self.fh_fc2 = self.fh_out = None
        if not cfg.feature_head and cfg.rr_dim != RR_DIM_BASE:
            # the network reads only the RR channels; shape channels are for a feature head (the experiment with the
            # network reading them, --morph-features, is in docs/experiments/beat-shape.md)
            raise ValueError(f"without a feature head beat_rr has the {RR_DIM_BASE} RR channels, got {cfg.rr_dim}")
        if cfg.feature_head:
            if cfg.rr_dim != RR_DIM_BASE + MORPH_DIM:
                raise ValueError(f"a feature head needs beat_rr with the shape channels (rr_dim "
                                 f"{RR_DIM_BASE + MORPH_DIM}), got {cfg.rr_dim}")
            if not 0.0 < cfg.feature_weight <= 1.0:
                raise ValueError(f"feature_weight must be in (0, 1], got {cfg.feature_weight}")
            if cfg.n_beat != FEATURE_HEAD_CLASSES + 1:
                raise ValueError("the feature head fuses over N, S, V, F with Q last: n_beat must be 5")
            with torch.random.fork_rng(devices=[]):
                self.fh_fc1 = nn.Linear(FEATURE_HEAD_INPUTS, cfg.feature_head)
                self.fh_fc2 = nn.Linear(cfg.feature_head, cfg.feature_head)
                self.fh_out = nn.Linear(cfg.feature_head, FEATURE_HEAD_CLASSES)

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)

    def features(self, ecg, lead_mask):
        x = ecg * lead_mask.unsqueeze(-1)
        t = self.stem(x).transpose(1, 2) + self.mask_emb(lead_mask).unsqueeze(1)
        t = self.stem_norm(t)
        L = self.cfg.tokens()
        f1 = self.stages[0](t)
        f2 = self.stages[1](self.downs[0](f1))
        f3 = self.stages[2](self.downs[1](f2))
        fused = self.fnorm(self.f1(f1) + upsample(self.f2(f2), 2, L[0]) + upsample(self.f3(f3), 4, L[0]))
        return fused, f3

    def beat_hidden(self, fused, beat_rr):
        """Per fine token: signal features plus the embedded RR features of a beat at that token."""
        return F.gelu(self.beat_fc(fused) + self.rr_fc2(F.gelu(self.rr_fc1(self.net_rr(beat_rr)))))

    def net_rr(self, beat_rr):
        """The beat_rr channels the network reads (ModelConfig.net_rr_dim)."""
        return beat_rr[..., :RR_DIM_BASE] if self.cfg.feature_head else beat_rr

    def fuse_features(self, logits, beat_rr):
        """With a feature head: the beat scores as a product of experts. At a beat token (beat_rr channel 0 = 1)
            (1 - a) * log_softmax(logits) + a * log_softmax(MLP(beat_rr[1..6]))   for N, S, V, F,
        where for Q (which the MLP does not know) the MLP adds its own best log-probability, i.e. no opinion: a beat the
        network calls Q stays Q; a = feature_weight. At other tokens: (1 - a) * log_softmax(logits), the network's
        argmax. The MLP runs on the first HEAD_BEATS beat tokens of each window only (TopK on channel 0, gather, scatter
        back), not on all tokens: a window with more beats (above 300 bpm) leaves the later ones to the network alone.
        Without a feature head: logits unchanged. logits and beat_rr are [B, L, .] or flat [B * L, .] rows."""
        if self.fh_fc1 is None:
            return logits
        L, R, C, K = self.cfg.tokens()[0], self.cfg.rr_dim, self.cfg.n_beat, min(HEAD_BEATS, self.cfg.tokens()[0])
        a = self.cfg.feature_weight
        base = (1.0 - a) * F.log_softmax(logits, dim=-1)
        # every reshape below has constant sizes and every index is a flat column, so the exported graph needs no
        # Shape/Expand arithmetic for the dynamic batch (each such node costs time in ONNX Runtime)
        flag, idx = torch.topk(beat_rr.reshape(-1, L, R)[..., 0], K, dim=1)               # B,K (beats first)
        cols = (idx.unsqueeze(-1) * R + torch.arange(1, 1 + FEATURE_HEAD_INPUTS)).reshape(-1, K * FEATURE_HEAD_INPUTS)
        x = torch.gather(beat_rr.reshape(-1, L * R), 1, cols).reshape(-1, FEATURE_HEAD_INPUTS)   # B*K rows
        m = F.log_softmax(self.fh_out(F.gelu(self.fh_fc2(F.gelu(self.fh_fc1(x))))), dim=-1)
        m = torch.cat([m, m.amax(dim=-1, keepdim=True)], dim=-1).reshape(-1, K, C)
        m = (m * (a * flag).unsqueeze(-1)).reshape(-1, K * C)                             # 0 at picked non-beats
        tok = (idx.unsqueeze(-1) * C + torch.arange(C)).reshape(-1, K * C)
        flat = base.reshape(-1, L * C)
        flat = flat.scatter(1, tok, flat.gather(1, tok) + m)
        return flat.reshape(-1, C) if logits.dim() == 2 else flat.reshape(-1, L, C)

    @staticmethod
    def rr_stats(beat_rr):
        """[B, 5] window RR statistics over beat tokens (channel 0 = beat present): mean |post - pre| / med,
        mean |pre/med - 1|, mean (pre/med - 1)^2, mean med offset, beats / 12."""
        w = beat_rr[..., 0]
        n = w.sum(1, keepdim=True) + 1.0
        pre, post, med = beat_rr[..., 1], beat_rr[..., 2], beat_rr[..., 3]
        s = torch.stack([(post - pre).abs(), pre.abs(), pre * pre, med], dim=-1) * w.unsqueeze(-1)
        return torch.cat([s.sum(1) / n, (n - 1.0) / 12.0], dim=-1) * EcgNat.RR_STAT_SCALE

    # scales the window statistics to order 1 (irregularity in AF ~0.2-0.4 vs ~0.02 in sinus rhythm)
    RR_STAT_SCALE = 4.0

    def rhythm_hidden(self, f3, beat_rr):
        z = self.rnorm(f3)
        return F.gelu(self.r_fc(torch.cat([z.mean(1), z.amax(1), self.rr_stats(beat_rr)], dim=-1)))

    def forward(self, ecg, lead_mask, beat_rr):
        fused, f3 = self.features(ecg, lead_mask)
        bh = self.beat_hidden(fused, beat_rr)
        rh = self.rhythm_hidden(f3, beat_rr)
        return self.fuse_features(self.beat_out(bh) + self.rr_out(self.net_rr(beat_rr)), beat_rr), self.r_out(rh)

    def forward_train(self, ecg, lead_mask, beat_rr):
        fused, f3 = self.features(ecg, lead_mask)
        bh = self.beat_hidden(fused, beat_rr)
        rh = self.rhythm_hidden(f3, beat_rr)
        # the network's own beat logits: a feature head is trained apart (train_feature_head), never through these
        return self.beat_out(bh) + self.rr_out(self.net_rr(beat_rr)), self.r_out(rh), bh, rh

    def mae(self, ecg, lead_mask):
        fused, _ = self.features(ecg, lead_mask)
        B, L, _ = fused.shape
        y = self.mae_dec(fused).reshape(B, L, self.cfg.in_leads, self.cfg.stem_stride)
        return y.permute(0, 2, 1, 3).reshape(B, self.cfg.in_leads, L * self.cfg.stem_stride)


class ExportWrapper(nn.Module):
    def __init__(self, m: EcgNat):
        super().__init__()
        self.m = m

    def forward(self, ecg, lead_mask, beat_rr):
        return self.m(ecg, lead_mask, beat_rr)


def count_params(m: nn.Module, exported_only=True) -> int:
    skip = ("mae_dec", "beat_proj", "rhy_proj")
    return sum(p.numel() for n, p in m.named_parameters() if not (exported_only and n.startswith(skip)))


def count_macs(m: EcgNat) -> int:
    """Multiply-accumulates of one inference (one window) through the exported path."""
    macs = [0]
    hooks = []

    def lin(mod, inp, out):
        macs[0] += out.numel() * mod.in_features

    def conv(mod, inp, out):
        macs[0] += out.numel() * mod.in_channels * mod.kernel_size[0] // mod.groups

    for n, mod in m.named_modules():
        if n.startswith(("mae_dec", "beat_proj", "rhy_proj")):
            continue
        if isinstance(mod, nn.Linear):
            hooks.append(mod.register_forward_hook(lin))
        elif isinstance(mod, nn.Conv1d):
            hooks.append(mod.register_forward_hook(conv))
        elif isinstance(mod, NeighborhoodAttention):
            macs[0] += mod.macs()
    with torch.no_grad():
        m.eval()
        m(torch.zeros(1, m.cfg.in_leads, m.cfg.win), torch.ones(1, m.cfg.in_leads),
          torch.zeros(1, m.cfg.tokens()[0], m.cfg.rr_dim))
    for h in hooks:
        h.remove()
    return int(macs[0])
