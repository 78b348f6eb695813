"""The per-beat feature head (train.sh --feature-head): a small MLP on each beat's RR and shape numbers, trained apart
from the network on the same training records, and fused with the network's beat logits inside the exported graph
(model.EcgNat.fuse_features).

Why: across patients, the network's own view of the waveform generalises worse than six per-beat numbers do. On the
record-wise DS1 folds, an MLP on 3 RR + 3 shape numbers alone reaches VEB +P 78-79 % against the network's 47-50 %,
and the product of the two beats both (docs/experiments/feature-head.md,
tools/train/experiments/feature_fusion.py). The network and its rhythm head are not changed by it."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
import torch.nn as nn

from . import data as D
from .model import FEATURE_HEAD_CLASSES, FEATURE_HEAD_INPUTS, MORPH_DIM, RR_DIM_BASE, EcgNat, with_config

EPOCHS = 60
BATCH = 512
LR = 3e-3
HIDDEN = 32
WEIGHT = 0.7        # the feature head's weight in the fused scores (docs/experiments/feature-head.md: chosen by CV)


def train_feature_head(X: np.ndarray, y: np.ndarray, seed: int, hidden: int = HIDDEN, log=None) -> nn.Sequential:
    """MLP FEATURE_HEAD_INPUTS -> hidden -> hidden -> 4 (N, S, V, F; GELU) on per-beat features X [n, 6] and classes
    y (0..3; callers map Q to N), class weights inverse-sqrt frequency, Adam LR, EPOCHS epochs of batches of BATCH.
    Deterministic for a seed; the global RNG streams are left as they were (the network's training continues on them)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        cnt = np.bincount(y, minlength=FEATURE_HEAD_CLASSES) + 1.0
        w = torch.tensor((cnt.sum() / cnt) ** 0.5, dtype=torch.float32)
        net = nn.Sequential(nn.Linear(X.shape[1], hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(),
                            nn.Linear(hidden, FEATURE_HEAD_CLASSES))
        opt = torch.optim.Adam(net.parameters(), LR)
        Xt, yt = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
        g = torch.Generator().manual_seed(seed)
        for ep in range(EPOCHS):
            perm = torch.randperm(len(Xt), generator=g)
            total = 0.0
            for i in range(0, len(Xt), BATCH):
                b = perm[i:i + BATCH]
                loss = nn.functional.cross_entropy(net(Xt[b]), yt[b], weight=w)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss) * len(b)
            if log and (ep + 1) % 20 == 0:
                log(f"[feature head] epoch {ep + 1}/{EPOCHS} loss {total / len(Xt):.4f}")
    return net.eval()


def beat_features(recs) -> tuple[np.ndarray, np.ndarray]:
    """Per labelled beat of recs: the six numbers (3 RR + 3 shape, as beat_rr channels 1..6) and the class (Q -> N)."""
    X, y = [], []
    for r in recs:
        if not r.has_beats:
            continue
        f = r.rr_feat
        if f.shape[1] == RR_DIM_BASE - 1:           # loaded without shape features: compute them
            f = np.concatenate([f, D.morph_features(r.sig, r.chans, r.rr_pos)], axis=1)
        X.append(f[:, :FEATURE_HEAD_INPUTS])
        y.append(r.beat_cls)
    y = np.concatenate(y)
    return np.concatenate(X).astype(np.float32), np.where(y == 4, 0, y)


def attach_feature_head(model: EcgNat, recs, seed: int, weight: float, hidden: int = HIDDEN, log=None) -> EcgNat:
    """A copy of model (an RR-only network: it reads beat_rr channels 0..3) with a feature head of the given width
    trained on the labelled beats of recs, fused with weight; its beat_rr input gains the three shape channels."""
    if model.cfg.net_rr_dim != RR_DIM_BASE:
        raise ValueError(f"a feature head goes on a network that reads the {RR_DIM_BASE} RR channels only, "
                         f"this one reads {model.cfg.net_rr_dim}")
    X, y = beat_features(recs)
    if log:
        log(f"[feature head] {len(y)} beats (N {int((y == 0).sum())}, S {int((y == 1).sum())}, "
            f"V {int((y == 2).sum())}, F {int((y == 3).sum())}), hidden {hidden}, weight {weight:g}, seed {seed}")
    mlp = train_feature_head(X, y, seed, hidden, log)
    cfg = replace(model.cfg, rr_dim=RR_DIM_BASE + MORPH_DIM, feature_head=hidden, feature_weight=weight)
    out = with_config(model, cfg, "fh_")
    with torch.no_grad():
        for dst, src in ((out.fh_fc1, mlp[0]), (out.fh_fc2, mlp[2]), (out.fh_out, mlp[4])):
            dst.weight.copy_(src.weight)
            dst.bias.copy_(src.bias)
    return out.eval()
