"""The S gate (train.sh --s-gate; an experiment, not shipped): no S calls in windows whose RR irregularity says AF.

In atrial fibrillation every beat is AAMI N: the rhythm is irregular, and a beat is not premature against anything.
But a beat classifier that has learnt prematurity calls many AF beats S. In the record-wise CV of the 0.2.0 recipe, 592
of the 822 false S calls came from record 203 and 124 from 201 (both AF), and the rhythm head found almost none of
203's AF.

The gate is a logistic model, AF vs not AF with the classes balanced, on the five window RR statistics the rhythm head
already reads (model.EcgNat.rr_stats). It is fitted on the rhythm-labelled windows of the training records. Where its
score is >= 0 (the statistics at least as likely under AF as under other rhythms), the exported graph swaps a token's
N and S scores when S is above N (model.EcgNat.gate_s). The rhythm output is unchanged, so no AF alarm comes from the
gate. In the record-wise CV on DS1 it took SVEB Se / +P from 37.2 / 29.9 to 26.9 / 87.0 (seed 1234) and from
42.1 / 29.1 to 29.7 / 85.6 (seed 2); VEB and AF were unchanged. It was not shipped: on a patient with frequent atrial
premature beats and SVTA runs (MIT-BIH 209) the RR statistics look like AF too, and the gated final model found 102 of
the record's 372 S beats where the model without the gate finds 355 (docs/experiments/af-rr.md)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
import torch.nn as nn

from . import data as D
from .model import EcgNat, with_config

EPOCHS = 200
LR = 0.05


def window_stats(recs) -> tuple[np.ndarray, np.ndarray]:
    """(stats [n, 5], AF label [n]) of every 10-s window of recs (the evaluation grid) with a rhythm label: the RR
    statistics exactly as the graph computes them (EcgNat.rr_stats on the beat_rr input), 1 where the window's
    reference rhythm is AF/flutter. Windows of transitions (window_rhythm -1) and VT/noise stay in as not AF."""
    X, y = [], []
    for r in recs:
        starts = r.grid_starts()
        lab = np.array([r.window_rhythm(int(s), True) for s in starts])
        keep = lab >= 0
        if not keep.any():
            continue
        rr = torch.tensor(np.stack([r.rr_window(int(s)) for s in starts[keep]]))
        X.append(EcgNat.rr_stats(rr).numpy())
        y.append((lab[keep] == D.R_AF).astype(np.float32))
    return np.concatenate(X).astype(np.float32), np.concatenate(y)


def fit_s_gate(X: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, float]:
    """Logistic regression on standardised X, classes balanced, full-batch Adam (EPOCHS steps at LR); returns the
    weights and bias on the raw statistics (score >= 0: the statistics are at least as likely under AF as under
    the other rhythms). Deterministic for a seed; the global RNG streams are left as they were."""
    if y.min() == y.max():
        raise ValueError("the S gate needs AF and non-AF windows among its training records")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mu, sd = X.mean(0), X.std(0) + 1e-6
        lin = nn.Linear(X.shape[1], 1)
        with torch.no_grad():
            lin.weight.normal_(0, 0.01)
            lin.bias.zero_()
        xt, yt = torch.tensor((X - mu) / sd), torch.tensor(y)
        pos = float(y.sum())
        wt = torch.where(yt > 0, len(y) / (2 * pos), len(y) / (2 * (len(y) - pos)))
        opt = torch.optim.Adam(lin.parameters(), lr=LR)
        for _ in range(EPOCHS):
            opt.zero_grad()
            nn.functional.binary_cross_entropy_with_logits(lin(xt)[:, 0], yt, weight=wt).backward()
            opt.step()
    w = lin.weight.detach().numpy()[0].astype(np.float64)
    # The balanced fit's score is the log-odds of AF at equal priors: the gate closes where the RR statistics are
    # more likely under AF than under other rhythms. (Moving the bias by the training windows' prior odds of AF,
    # 5-10 %, left 203's AF beats called S in CV: docs/experiments/af-rr.md.)
    return (w / sd).astype(np.float32), float(lin.bias.item() - (w * mu / sd).sum())


def attach_s_gate(model: EcgNat, recs, seed: int, log=None) -> EcgNat:
    """A copy of model with an S gate fitted on the rhythm-labelled windows of recs."""
    X, y = window_stats(recs)
    w, b = fit_s_gate(X, y, seed)
    if log:
        log(f"[s gate] {len(y)} windows ({int(y.sum())} AF), seed {seed}: weights {np.round(w, 3).tolist()}, "
            f"bias {b:.3f}; {100 * float(((X @ w + b) >= 0).mean()):.1f} % of the windows gated")
    out = with_config(model, replace(model.cfg, s_gate=True), "sg.")
    with torch.no_grad():
        out.sg.weight.copy_(torch.tensor(w).reshape(1, -1))
        out.sg.bias.fill_(b)
    return out.eval()
