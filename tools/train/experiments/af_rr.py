#!/usr/bin/env python3
"""Does a window-level RR-irregularity model add to ECG-NAT's rhythm head for AF? Out-of-fold, no retraining.

For each CV fold k of a finished run (tools/train/runs/RUN/cv_onnx/foldK/ecg-nat-fp32.onnx, trained without fold k),
the fold network is run on fold k's test records (DS1 and the other datasets' records hashed to fold k) as the model
card's evaluation does (10-s windows every 5 s). A logistic model on window RR statistics computed from the beat_rr
input (what the graph sees: the beats in the window and their pre/post RR relative to the median of the previous 32)
is trained on the windows of every record the fold network was trained on (outside fold k), AF vs not AF, and run
on the same windows. Fusion = product of experts over the rhythm classes:

    fused = (1 - b) * log_softmax(net) + b * [log p_rr(AF) for af_afl, log p_rr(not AF) for the others]

Reported per b, pooled over the five folds: AF windows Se / +P on the DS1 records with AF (201, 203), AF windows
wrongly called on the other DS1 records (per record when > 0), and AF Se / +P on the other datasets' test windows.

  PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/af_rr.py --run base2 [--features rr5|rr8]
  PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/af_rr.py --run head_base2 --features nv
  PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/af_rr.py --run head_base2 --features pn|p|rr5p|rr5pn
  PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/af_rr.py --p-separation
  PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/af_rr.py --in-sample models/ecg-nat-fp32.onnx

Features: rr5 = the five window RR statistics the rhythm head already reads (EcgNat.rr_stats); rr8 = rr5 + three
measures less sensitive to isolated ectopic beats; nv = RR intervals whose two beats the fold model does not call V
(its beat output at every beat of every record, so the fold model also runs on its own training records), their
successive-difference and spread relative to their median, the share of such intervals, beats, heart rate and the share
of beats called V; p = p_consistency (atrial activity); pn = the same over beats with the patient's usual QRS;
rr5p / rr5pn = rr5 plus p / pn. The script also prints the S-gate tables (s_gate).
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN = os.path.dirname(HERE)
sys.path.insert(0, TRAIN)
from ecgnat import data as D  # noqa: E402
from ecgnat.evaluate import assign_central, record_windows, torch_predict  # noqa: E402
from ecgnat.from_onnx import beat_input_channels, load_model  # noqa: E402

BS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)


def window_features(rr: np.ndarray, kind: str) -> np.ndarray:
    """[n, F] per window from beat_rr [n, 312, C] (channel 0 beat flag, 1 pre/med - 1, 2 post/med - 1, 3 med - 0.8)."""
    w = rr[..., 0]
    n = w.sum(1) + 1.0
    pre, post, med = rr[..., 1], rr[..., 2], rr[..., 3]
    d = np.abs(post - pre)
    f = [(d * w).sum(1) / n, (np.abs(pre) * w).sum(1) / n, (pre * pre * w).sum(1) / n, (med * w).sum(1) / n,
         (n - 1) / 12]
    if kind == "rr8":
        # share of beats whose pre interval departs > 15 % from the median; share of successive differences > 0.15;
        # mean |pre| over the beats with |pre| < 0.3 (irregularity left once clear ectopics are set aside)
        f.append(((np.abs(pre) > 0.15) * w).sum(1) / n)
        f.append(((d > 0.15) * w).sum(1) / n)
        small = (np.abs(pre) < 0.3) * w
        f.append((np.abs(pre) * small).sum(1) / (small.sum(1) + 1.0))
    return np.stack(f, 1).astype(np.float32) * 4.0


def nv_features(r, st: np.ndarray, cls: np.ndarray) -> np.ndarray:
    """[n, 6] per window from the record's beats (rr_pos) and each beat's predicted class: RR intervals whose two
    beats are both not V; mean |successive difference| / median, std / median and the share of such intervals,
    beats / 12, median RR - 0.8 s, share of beats called V; p = p_consistency (atrial activity); pn = the same over beats with the patient's usual QRS;
rr5p / rr5pn = rr5 plus p / pn. The script also prints the S-gate tables (s_gate)."""
    pos = r.rr_pos
    out = np.zeros((len(st), 6), np.float32)
    rr = np.diff(pos) / D.FS
    ok = (cls[1:] != 2) & (cls[:-1] != 2)
    for i, s in enumerate(st):
        j0, j1 = np.searchsorted(pos, [s, s + D.WIN])
        if j1 - j0 < 2:
            continue
        seg, keep = rr[max(0, j0 - 1):j1 - 1], ok[max(0, j0 - 1):j1 - 1]
        k = seg[keep]
        med = np.median(seg)
        if len(k) >= 3:
            m = np.median(k)
            out[i, 0] = np.abs(np.diff(k)).mean() / m
            out[i, 1] = k.std() / m
        out[i, 2] = keep.mean()
        out[i, 3] = (j1 - j0) / 12
        out[i, 4] = med - 0.8
        out[i, 5] = (cls[j0:j1] == 2).mean()
    return out * 4.0


def rr_pos_classes(r, st: np.ndarray, bl: np.ndarray) -> np.ndarray:
    """Predicted class of each rr_pos beat, read at its token in the window where it is most central."""
    from ecgnat.evaluate import assign_central
    if not len(r.rr_pos):
        return np.zeros(0, np.int64)
    w = assign_central(r.rr_pos, st)
    tok = np.minimum((r.rr_pos - st[w]) // 8, bl.shape[1] - 1)
    return bl[w, tok].argmax(1)


P_FROM, P_TO = 62, 15      # samples before the R peak at 250 Hz: -248 ms .. -60 ms, where a P wave sits


QRS_LIKE = 0.3             # beats whose QRS correlates with the patient's recent median beat at >= 0.7 (shape channel)


def p_consistency(r, starts: np.ndarray, dominant_only: bool = False) -> np.ndarray:
    """[n] per window: how alike the segments before the beats' QRS are (P waves in sinus rhythm and at most beats
    with atrial ectopy; fibrillatory waves in AF). Each beat's segment [R - P_FROM, R - P_TO) in the shape lead
    (data.morph_lead) minus its mean; the window's template is their per-sample median; the feature is the median
    Pearson correlation of the segments with the template (0 with fewer than 3 beats)."""
    lead = r.sig[D.morph_lead(r.chans)]
    pos = r.rr_pos
    out = np.zeros(len(starts), np.float32)
    ok = (pos - P_FROM >= 0) & (pos - P_TO <= len(lead))
    if dominant_only:
        # only beats shaped like the patient's usual QRS (1 - correlation, the first shape channel): a ventricular
        # beat has no P wave before it, so it would lower the consistency of a sinus rhythm with PVCs
        ok &= r.rr_feat[:, 3] < QRS_LIKE
    seg = np.stack([lead[p - P_FROM:p - P_TO] for p in pos[ok]]) if ok.any() else np.zeros((0, P_FROM - P_TO))
    seg = seg - seg.mean(1, keepdims=True)
    bpos = pos[ok]
    for i, s0 in enumerate(starts):
        j0, j1 = np.searchsorted(bpos, [s0, s0 + D.WIN])
        if j1 - j0 < 3:
            continue
        x = seg[j0:j1]
        t = np.median(x, 0)
        den = np.linalg.norm(x, axis=1) * np.linalg.norm(t) + 1e-9
        out[i] = float(np.median(x @ t / den))
    return out


def train_lr(X: np.ndarray, y: np.ndarray, seed: int, epochs: int = 200) -> torch.nn.Module:
    """Logistic regression (balanced classes), full-batch Adam. The pipeline's S gate (ecgnat/s_gate.py, removed after
    commit 1617441) was the same fit with another initialisation draw; the tables in docs/experiments/af-rr.md were
    made with this one."""
    g = torch.Generator().manual_seed(seed)
    mu, sd = X.mean(0), X.std(0) + 1e-6
    lin = torch.nn.Linear(X.shape[1], 1)
    with torch.no_grad():
        lin.weight.normal_(0, 0.01, generator=g)
        lin.bias.zero_()
    xt = torch.tensor((X - mu) / sd)
    yt = torch.tensor(y, dtype=torch.float32)
    pos = max(1.0, float(y.sum()))
    wt = torch.where(yt > 0, len(y) / (2 * pos), len(y) / (2 * max(1.0, len(y) - pos)))
    opt = torch.optim.Adam(lin.parameters(), lr=0.05)
    for _ in range(epochs):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(lin(xt)[:, 0], yt, weight=wt)
        loss.backward()
        opt.step()
    m = torch.tensor(mu)
    s = torch.tensor(sd)

    def f(x):
        with torch.no_grad():
            return lin((torch.tensor(x) - m) / s)[:, 0].numpy()
    f.weights = (lin.weight.detach().numpy()[0] / sd, float(lin.bias) - float((lin.weight.detach().numpy()[0] * mu / sd).sum()))
    return f


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def fuse(net, z, b):
    lp = -np.logaddexp(0, -z)            # log sigmoid: log p(AF)
    ln = -np.logaddexp(0, z)             # log p(not AF)
    rr = np.repeat(ln[:, None], net.shape[1], 1)
    rr[:, D.R_AF] = lp
    return ((1 - b) * log_softmax(net) + b * rr).argmax(1)


def se_pp(T, P):
    tp = int(((P == D.R_AF) & (T == D.R_AF)).sum()); fn = int(((P != D.R_AF) & (T == D.R_AF)).sum())
    fp = int(((P == D.R_AF) & (T != D.R_AF)).sum())
    return 100 * tp / max(1, tp + fn), 100 * tp / max(1, tp + fp), tp, fn, fp


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.normpath(os.path.join(TRAIN, "..", "..", "..", "shared", "data")))
    ap.add_argument("--run", help="a run directory name under tools/train/runs (required unless --p-separation)")
    ap.add_argument("--features", default="rr5", choices=["rr5", "rr8", "nv", "rr5p", "p", "rr5pn", "pn"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--in-sample", metavar="FP32_ONNX",
                    help="only the in-sample S-gate check: this model (e.g. models/ecg-nat-fp32.onnx) on all DS1 records, "
                         "gates (rr5, rr8, rr5p) fitted on all labelled windows; S beats found / false per record")
    ap.add_argument("--p-separation", action="store_true",
                    help="only print p_consistency of AF and non-AF windows (DS1 per record, DS1 + CPSC pooled); no model")
    a = ap.parse_args()
    if a.p_separation:
        return p_separation(a.data)
    if a.in_sample:
        return in_sample_gate(a.data, a.in_sample)
    if not a.run:
        ap.error("--run is required")
    torch.set_num_threads(1)
    specs = [s for s in D.catalogue(a.data) if s.group in ("ds1", "cpsc", "paced", "ptbxl", "cinc", "ludb")]
    cache = D.build_cache(a.data, os.path.join(TRAIN, "cache"), specs, log=lambda m: None)
    probe = os.path.join(TRAIN, "runs", a.run, "cv_onnx", "fold0", "ecg-nat-fp32.onnx")
    morph = beat_input_channels(probe) > D.RR_DIM_BASE
    D.set_beat_features(morph)
    recs = D.load_records(cache, specs, morph=morph)
    labels, wins = {}, {}
    for r in recs:
        wins[id(r)] = record_windows(r)
        labels[id(r)] = np.array([r.window_rhythm(int(s), True) for s in wins[id(r)][0]])
    feats = {}
    if a.features in ("rr5", "rr8"):
        feats = {id(r): window_features(wins[id(r)][3], a.features) for r in recs}
    elif a.features in ("rr5p", "p", "rr5pn", "pn"):
        if a.features.endswith("n") and not morph:
            sys.exit("--features rr5pn/pn need a run whose models read the shape channels (e.g. head_base2)")
        for r in recs:
            pc = p_consistency(r, wins[id(r)][0], a.features.endswith("n"))[:, None]
            feats[id(r)] = (np.concatenate([window_features(wins[id(r)][3], "rr5"), pc], 1)
                            if a.features.startswith("rr5") else pc)
    T, Z, NET, REC, DS = [], [], [], [], []
    BT, BL, BZ, BN, BF, BR = [], [], [], [], [], []        # DS1 beats: class, logits, window's RR z and rhythm logits
    for k in range(D.N_FOLDS):
        onnx_path = os.path.join(TRAIN, "runs", a.run, "cv_onnx", f"fold{k}", "ecg-nat-fp32.onnx")
        predict = torch_predict(load_model(onnx_path))
        test = [r for r in recs if r.spec.fold == k]
        train = [r for r in recs if r.spec.fold != k]
        net, beats = {}, {}
        for r in (recs if a.features == "nv" else test):
            st, X, M, RR = wins[id(r)]
            bl, rl = predict(X, M, RR)
            net[id(r)] = rl
            if r.spec.fold == k and r.spec.group == "ds1":
                w = assign_central(r.beat_pos, st)
                beats[id(r)] = (r.beat_cls, bl[w, np.minimum((r.beat_pos - st[w]) // 8, bl.shape[1] - 1)], w)
            if a.features == "nv":
                feats[id(r)] = nv_features(r, st, rr_pos_classes(r, st, bl))
        X = np.concatenate([feats[id(r)] for r in train])
        y = np.concatenate([labels[id(r)] for r in train])
        keep = y >= 0
        lr = train_lr(X[keep], (y[keep] == D.R_AF).astype(np.float32), a.seed + k)
        print(f"fold {k}: LR on {int(keep.sum())} windows ({int((y == D.R_AF).sum())} AF); weights {np.round(lr.weights[0], 2)} "
              f"bias {lr.weights[1]:.2f}", flush=True)
        for r in test:
            t = np.array([r.window_rhythm(int(s), False) for s in wins[id(r)][0]])
            T.append(t); NET.append(net[id(r)]); Z.append(lr(feats[id(r)]))
            REC += [r.spec.record] * len(t); DS += [r.spec.dataset] * len(t)
            if id(r) in beats:
                bt, lg, w = beats[id(r)]
                BT.append(bt); BL.append(lg); BZ.append(Z[-1][w]); BN.append(net[id(r)][w]); BF.append(np.full(len(bt), k))
                BR += [r.spec.record] * len(bt)
    T, NET, Z, REC, DS = np.concatenate(T), np.concatenate(NET), np.concatenate(Z), np.array(REC), np.array(DS)
    mit = DS == "mitdb"
    afrec = mit & np.isin(REC, ["201", "203"])
    print(f"run {a.run}, features {a.features}: {int(mit.sum())} DS1 windows ({int((mit & (T == D.R_AF)).sum())} AF, "
          f"{int((mit & (T != D.R_AF)).sum())} not), {int((~mit).sum())} other")
    for b in BS:
        P = fuse(NET, Z, b)
        s1 = se_pp(T[afrec], P[afrec])
        per = {rec: se_pp(T[mit & (REC == rec)], P[mit & (REC == rec)])[:2] for rec in ("201", "203")}
        fa = {rec: int(((P == D.R_AF) & (T != D.R_AF) & mit & (REC == rec)).sum()) for rec in np.unique(REC[mit])}
        fa = {r_: n for r_, n in fa.items() if n}
        o = se_pp(T[~mit], P[~mit])
        print(f"  b={b:.1f}: DS1 AF Se {s1[0]:.1f} / +P {s1[1]:.1f} (TP/FN/FP {s1[2]}/{s1[3]}/{s1[4]}; 201 {per['201'][0]:.1f}/{per['201'][1]:.1f}, "
              f"203 {per['203'][0]:.1f}/{per['203'][1]:.1f}); false AF windows on DS1 {sum(fa.values())} {fa}; "
              f"other datasets Se {o[0]:.1f} / +P {o[1]:.1f} (fp {o[4]})")
    for b in (0.5, 0.8, 1.0):
        s_gate(np.concatenate(BT), np.concatenate(BL), np.concatenate(BZ), np.concatenate(BN), np.concatenate(BF),
               np.array(BR), b)


def in_sample_gate(data_root: str, onnx_path: str):
    """What a gate does to a model that has seen the records: the model runs on every DS1 record, S calls (reference
    beats, each read in its most central window) are turned into N where a gate fitted on all labelled windows
    (rr5, rr8, rr5p) scores >= 0. Prints per record [record, S beats, found / false without gate, then per gate]."""
    torch.set_num_threads(1)
    specs = [s for s in D.catalogue(data_root) if s.group in ("ds1", "cpsc", "paced", "ptbxl", "cinc", "ludb")]
    cache = D.build_cache(data_root, os.path.join(TRAIN, "cache"), specs, log=lambda m: None)
    morph = beat_input_channels(onnx_path) > D.RR_DIM_BASE
    D.set_beat_features(morph)
    recs = D.load_records(cache, specs, morph=morph)
    predict = torch_predict(load_model(onnx_path))
    kinds = ("rr5", "rr8", "rr5p")

    def feats(r, st, rr, kind):
        f = window_features(rr, "rr5" if kind == "rr5p" else kind)
        return np.concatenate([f, p_consistency(r, st)[:, None]], 1) if kind == "rr5p" else f
    wins = {id(r): record_windows(r) for r in recs}
    labels = {id(r): np.array([r.window_rhythm(int(s), True) for s in wins[id(r)][0]]) for r in recs}
    gates = {}
    for kind in kinds:
        X = np.concatenate([feats(r, wins[id(r)][0], wins[id(r)][3], kind) for r in recs])
        y = np.concatenate([labels[id(r)] for r in recs])
        gates[kind] = train_lr(X[y >= 0], (y[y >= 0] == D.R_AF).astype(np.float32), 0)
    total = np.zeros(2 + 2 * (1 + len(kinds)), int)
    for r in recs:
        if r.spec.group != "ds1":
            continue
        st, X, M, RR = wins[id(r)]
        bl, _ = predict(X, M, RR)
        w = assign_central(r.beat_pos, st)
        P0, T = bl[w, np.minimum((r.beat_pos - st[w]) // 8, bl.shape[1] - 1)].argmax(1), r.beat_cls
        row = [int((T == 1).sum()), int(((P0 == 1) & (T == 1)).sum()), int(((P0 == 1) & (T != 1)).sum())]
        for kind in kinds:
            P = P0.copy()
            P[(P == 1) & (gates[kind](feats(r, st, RR, kind))[w] >= 0)] = 0
            row += [int(((P == 1) & (T == 1)).sum()), int(((P == 1) & (T != 1)).sum())]
        total += np.array([1] + row)
        if row[0] or row[2]:
            print(r.spec.record, row)
    print(f"all DS1 ({total[0]} records): S beats {total[1]}; found / false: no gate {total[2]} / {total[3]}, "
          + ", ".join(f"{k} {total[4 + 2 * i]} / {total[5 + 2 * i]}" for i, k in enumerate(kinds)))


def p_separation(data_root: str):
    """p_consistency per window, AF vs not AF: per DS1 record and pooled over DS1 and CPSC 2021."""
    specs = [s for s in D.catalogue(data_root) if s.group in ("ds1", "cpsc")]
    cache = D.build_cache(data_root, os.path.join(TRAIN, "cache"), specs, log=lambda m: None)
    af, non = [], []
    for r in D.load_records(cache, specs):
        st = r.grid_starts()
        lab = np.array([r.window_rhythm(int(s), False) for s in st])
        pc = p_consistency(r, st)
        af.append(pc[lab == D.R_AF])
        non.append(pc[lab != D.R_AF])
        if r.spec.group == "ds1":
            a_, n_ = pc[lab == D.R_AF], pc[lab != D.R_AF]
            print(f"{r.spec.record}: AF {len(a_)} windows" + (f", median {np.median(a_):.2f}" if len(a_) else "")
                  + f"; not AF {len(n_)}, median {np.median(n_):.2f}, 10th percentile {np.percentile(n_, 10):.2f}")
    af, non = np.concatenate(af), np.concatenate(non)
    print(f"all: AF {len(af)} windows, median {np.median(af):.2f}, 90th percentile {np.percentile(af, 90):.2f}; "
          f"not AF {len(non)}, median {np.median(non):.2f}, 10th percentile {np.percentile(non, 10):.2f}")


THETAS = (None, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3)


def gated(L, p, theta):
    """Beat classes with S calls in windows whose AF probability p is >= theta turned into N."""
    P = L.argmax(1)
    if theta is not None:
        P[(P == 1) & (p >= theta)] = 0
    return P


def s_gate(T, L, Z, NET, F, R, b: float = 0.5):
    """S beats inside AF-like rhythm are not premature atrial beats: an S call in a window whose AF probability is
    >= theta becomes N. p = the fused rhythm posterior of AF at weight b (RR model + network).
    SVEB / VEB Se / +P pooled over the five folds, per theta, and theta chosen per fold on the other four (nested,
    highest SVEB F1)."""
    rr = np.repeat((-np.logaddexp(0, Z))[:, None], NET.shape[1], 1)
    rr[:, D.R_AF] = -np.logaddexp(0, -Z)
    post = (1 - b) * log_softmax(NET) + b * rr
    p = np.exp(log_softmax(post))[:, D.R_AF]

    def sp(P, c):
        tp = int(((P == c) & (T == c)).sum()); fn = int(((P != c) & (T == c)).sum()); fp = int(((P == c) & (T != c)).sum())
        return 100 * tp / max(1, tp + fn), 100 * tp / max(1, tp + fp), fp

    def f1(P, m):
        tp = int(((P == 1) & (T == 1) & m).sum()); fn = int(((P != 1) & (T == 1) & m).sum())
        fp = int(((P == 1) & (T != 1) & m).sum())
        return 2 * tp / max(1, 2 * tp + fn + fp)
    print(f"S gate (fused AF posterior at b={b}), {len(T)} DS1 beats:")
    for th in THETAS:
        P = gated(L, p, th)
        s_, v_ = sp(P, 1), sp(P, 2)
        fs = {rec: int(((P == 1) & (T != 1) & (R == rec)).sum()) for rec in np.unique(R)}
        top = dict(sorted(((k_, n) for k_, n in fs.items() if n > 30), key=lambda x: -x[1]))
        print(f"  theta={th}: SVEB Se {s_[0]:.1f} / +P {s_[1]:.1f} (false S {s_[2]}: {top}); VEB Se {v_[0]:.1f} / +P {v_[1]:.1f}")
    P = np.empty_like(T)
    ch = []
    for k in range(D.N_FOLDS):
        o = F != k
        best = max(THETAS, key=lambda th: f1(gated(L, p, th), o))
        ch.append(best)
        P[F == k] = gated(L, p, best)[F == k]
    s_ = sp(P, 1)
    print(f"  nested theta per fold {ch}: SVEB Se {s_[0]:.1f} / +P {s_[1]:.1f} (false S {s_[2]})")


if __name__ == "__main__":
    main()
