"""Record-wise evaluation: beats (most-central window rule), rhythm windows, synthetic noise windows."""
from __future__ import annotations

import numpy as np
import torch

from . import data as D

from .data import (BEAT_CLASSES, HOP, R_AF, R_NOISE, R_SINUS, R_VT, RHYTHM_CLASSES, WIN, NoiseBank, Record, random_rr,
                   rr_tensor)


def torch_predict(model, bs=64):
    model.eval()

    def f(x, m, rr):
        outs_b, outs_r = [], []
        with torch.no_grad():
            for i in range(0, len(x), bs):
                b, r = model(torch.from_numpy(x[i:i + bs]), torch.from_numpy(m[i:i + bs]), torch.from_numpy(rr[i:i + bs]))
                outs_b.append(b.numpy())
                outs_r.append(r.numpy())
        return np.concatenate(outs_b), np.concatenate(outs_r)
    return f


def assign_central(pos: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Index of the window in which each beat is most central (ties -> earlier window)."""
    centres = starts + WIN // 2
    d = np.abs(pos[:, None] - centres[None, :])
    return np.argmin(d, axis=1)


def record_windows(r: Record):
    st = r.grid_starts()
    xs, ms = zip(*(r.window(int(s)) for s in st))
    return st, np.stack(xs), np.stack(ms), np.stack([r.rr_window(int(s)) for s in st])


def predict_records(recs: list[Record], predict, stride: int | None = None, T: int | None = None):
    """Per record: beat predictions (true, pred, logits) and window rhythm (true, pred). stride, T: the fine-token
    grid (default data.TOKEN_STRIDE, data.TOKENS)."""
    stride = D.TOKEN_STRIDE if stride is None else stride
    T = D.TOKENS if T is None else T
    out = []
    for r in recs:
        st, X, M, RR = record_windows(r)
        bl, rl = predict(X, M, RR)
        res = {"record": r.spec.record, "dataset": r.spec.dataset}
        if r.has_beats:
            w = assign_central(r.beat_pos, st)
            tok = np.minimum((r.beat_pos - st[w]) // stride, T - 1)
            lg = bl[w, tok]
            res.update(beat_true=r.beat_cls, beat_pred=lg.argmax(1), beat_logits=lg)
        res.update(rhy_true=np.array([r.window_rhythm(int(s), False) for s in st]), rhy_pred=rl.argmax(1),
                   rhy_logits=rl)
        out.append(res)
    return out


def per_record(res: list[dict]) -> list[dict]:
    """Per MIT-BIH record: beat confusion (rows reference N,S,V,F,Q; columns predicted) and window rhythm confusion
    (rows reference, columns predicted, RHYTHM_CLASSES order) - for comparing with the C# `ecgedge eval` record by record."""
    out = []
    for r in res:
        if r["dataset"] != "mitdb":
            continue
        row = {"record": r["record"]}
        if "beat_true" in r:
            cm = np.zeros((5, 5), np.int64)
            np.add.at(cm, (r["beat_true"], r["beat_pred"]), 1)
            row["beat_confusion"] = cm.tolist()
        k = len(RHYTHM_CLASSES)
        rc = np.zeros((k, k), np.int64)
        ok = r["rhy_true"] >= 0
        np.add.at(rc, (r["rhy_true"][ok], r["rhy_pred"][ok]), 1)
        row["window_rhythm_confusion"] = rc.tolist()
        out.append(row)
    return out


def noise_eval_set(recs: list[Record], bank: NoiseBank, n: int, seed: int):
    """n heavy-noise windows (label noise) and n mild-noise windows (label kept) from the test records."""
    rng = np.random.default_rng(seed + 303)
    X, M, Y, RR = [], [], [], []
    cand = [(r, int(s)) for r in recs for s in r.grid_starts()]
    if not cand or not bank:
        return None
    for i in range(2 * n):
        r, s = cand[rng.integers(len(cand))]
        x, m = r.window(s)
        if i < n:
            X.append(bank.mix(rng, x, m, rng.uniform(-12, -3), True)); Y.append(R_NOISE)
            # what a detector reports in noise is unknown: half with the true beats, half with random ones
            RR.append(r.rr_window(s) if i % 2 == 0 else rr_tensor(*random_rr(rng)))
        else:
            X.append(bank.mix(rng, x, m, rng.uniform(6, 24), False)); Y.append(r.window_rhythm(s, False))
            RR.append(r.rr_window(s))
        M.append(m)
    return np.stack(X).astype(np.float32), np.stack(M).astype(np.float32), np.array(Y), np.stack(RR)


def se_pp(tp, fn, fp):
    se = 100.0 * tp / (tp + fn) if tp + fn else float("nan")
    pp = 100.0 * tp / (tp + fp) if tp + fp else float("nan")
    return se, pp


def beat_metrics(true: np.ndarray, pred: np.ndarray) -> dict:
    cm = np.zeros((5, 5), np.int64)
    np.add.at(cm, (true, pred), 1)
    m = {"confusion": cm.tolist(), "n_beats": int(cm.sum()),
         "accuracy": 100.0 * np.trace(cm) / max(1, cm.sum())}
    for i, c in enumerate(BEAT_CLASSES):
        tp = cm[i, i]
        se, pp = se_pp(tp, cm[i].sum() - tp, cm[:, i].sum() - tp)
        m[f"{c}_se"], m[f"{c}_pp"], m[f"{c}_n"] = se, pp, int(cm[i].sum())
    m["VEB_se"], m["VEB_pp"] = m["V_se"], m["V_pp"]
    m["SVEB_se"], m["SVEB_pp"] = m["S_se"], m["S_pp"]
    return m


def window_metrics(true: np.ndarray, pred: np.ndarray, prefix: str) -> dict:
    m = {f"{prefix}n_windows": int(len(true))}
    for i, c in enumerate(RHYTHM_CLASSES):
        tp = int(np.sum((true == i) & (pred == i)))
        fn, fp = int(np.sum((true == i) & (pred != i))), int(np.sum((true != i) & (pred == i)))
        se, pp = se_pp(tp, fn, fp)
        m[f"{prefix}{c}_se"], m[f"{prefix}{c}_pp"], m[f"{prefix}{c}_n"] = se, pp, int(np.sum(true == i))
        m[f"{prefix}{c}_tp"], m[f"{prefix}{c}_fn"], m[f"{prefix}{c}_fp"] = tp, fn, fp
    return m


def summarize(res: list[dict], noise_res: tuple | None = None) -> dict:
    out = {}
    mit = [r for r in res if r["dataset"] == "mitdb" and "beat_true" in r]
    if mit:
        out.update(beat_metrics(np.concatenate([r["beat_true"] for r in mit]),
                                np.concatenate([r["beat_pred"] for r in mit])))
        # AF windows on MIT-BIH records that contain AF
        af = [r for r in mit if np.any(r["rhy_true"] == R_AF)]
        if af:
            out.update(window_metrics(np.concatenate([r["rhy_true"] for r in af]),
                                      np.concatenate([r["rhy_pred"] for r in af]), "mitdb_afrec_"))
            out["mitdb_af_records"] = [r["record"] for r in af]
        out.update(window_metrics(np.concatenate([r["rhy_true"] for r in mit]),
                                  np.concatenate([r["rhy_pred"] for r in mit]), "mitdb_all_"))
    oth = [r for r in res if r["dataset"] != "mitdb"]
    if oth:
        out.update(window_metrics(np.concatenate([r["rhy_true"] for r in oth]),
                                  np.concatenate([r["rhy_pred"] for r in oth]), "other_"))
    if noise_res is not None:
        y, p = noise_res
        heavy = y == R_NOISE
        out["noise_se"] = 100.0 * float(np.mean(p[heavy] == R_NOISE)) if heavy.any() else float("nan")
        out["noise_false_rate_mild"] = 100.0 * float(np.mean(p[~heavy] == R_NOISE)) if (~heavy).any() else float("nan")
    return out


def evaluate(recs: list[Record], predict, bank: NoiseBank | None, n_noise: int, seed: int, T: int | None = None,
             stride: int | None = None):
    res = predict_records(recs, predict, stride, T)
    nr = None
    if bank:
        ns = noise_eval_set([r for r in recs if r.spec.dataset == "mitdb"] or recs, bank, n_noise, seed)
        if ns is not None:
            _, rl = predict(ns[0], ns[1], ns[3])
            nr = (ns[2], rl.argmax(1))
    return summarize(res, nr), res, nr
