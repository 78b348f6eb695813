#!/usr/bin/env python3
"""Does a per-beat feature MLP add to ECG-NAT's beat head? Out-of-fold fusion on MIT-BIH DS1, no retraining.

For each CV fold k of a finished run (tools/train/runs/RUN/cv_onnx/foldK/ecg-nat-fp32.onnx, the fold model trained
without fold k), the fold model is rebuilt in PyTorch (ecgnat.from_onnx) and run on fold k's DS1 records exactly as the
model card's evaluation does (10-s windows every 5 s, each beat read from the window where it is most central). The
feature MLP of experiments/feature_baseline.py (RR + shape: 6 numbers per beat) is trained on the same records the fold
model was trained on (every labelled record outside fold k: the other DS1 folds, CPSC 2021, paced) plus the NST
records (118 with noise added; not for the fold that tests 118), and run on the same beats. Fusion = product of experts:

    fused = (1 - a) * log_softmax(net) + a * log_softmax(mlp)   over N, S, V, F,
    and for Q the MLP (which knows no Q) adds its best log-probability: a beat the network calls Q stays Q.

a = 0.5 is the candidate fixed before looking (equal weight); the other values are printed to show how sensitive the
result is. The weight a product would use is chosen without fold k's labels (nested): for each fold k, the a in
0, 0.05, ..., 1 with the highest VEB F1 + SVEB F1 pooled over the other four folds' beats, applied to fold k; the
weight chosen on all five folds is the one a final model would ship with. Pooled over the five folds: VEB and SVEB
Se / +P (over reference beats, as in the model card) and the records with more than 20 beats wrongly called V.

  PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/feature_fusion.py --run base2 [--run base2_s2]
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
from ecgnat.evaluate import predict_records, torch_predict  # noqa: E402
from ecgnat.from_onnx import beat_input_channels, load_model  # noqa: E402
from ecgnat.feature_head import train_feature_head as train_mlp  # noqa: E402

ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)
CANDIDATE = 0.5


def load(data_root: str):
    specs = [s for s in D.catalogue(data_root) if s.group in ("ds1", "cpsc", "paced", "nst")]
    cache = D.build_cache(data_root, os.path.join(TRAIN, "cache"), specs, log=lambda m: None)
    recs = [r for r in D.load_records(cache, specs, morph=True) if r.has_beats]
    return recs, {id(r): r.rr_feat for r in recs}        # 3 RR + 3 shape numbers per beat


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def se_pp(T, P, c):
    tp = int(((P == c) & (T == c)).sum()); fn = int(((P != c) & (T == c)).sum()); fp = int(((P == c) & (T != c)).sum())
    return 100 * tp / max(1, tp + fn), 100 * tp / max(1, tp + fp), fp


def fuse(net: np.ndarray, mlp: np.ndarray, al: float) -> np.ndarray:
    """Predicted class per beat: product of experts, (1 - a) * log_softmax(net) + a * log_softmax(mlp) over N, S, V,
    F; the MLP knows no Q, so for Q it adds its own best log-probability (no opinion): a beat the network calls Q
    stays Q. The exported graph computes the same at beat tokens (ecgnat.model.EcgNat.fuse_features)."""
    m = log_softmax(mlp)
    m5 = np.concatenate([m, m.max(axis=1, keepdims=True)], axis=1)
    return ((1 - al) * log_softmax(net) + al * m5).argmax(1)


def f1_sum(T, P) -> float:
    out = 0.0
    for c in (2, 1):
        se, pp, _ = se_pp(T, P, c)
        out += 2 * se * pp / max(1e-9, se + pp)
    return out


GRID = np.round(np.arange(0, 1.0001, 0.05), 2)


def report(label, T, P, R):
    v, s = se_pp(T, P, 2), se_pp(T, P, 1)
    fv = {rec: int(((P == 2) & (T != 2) & (R == rec)).sum()) for rec in np.unique(R)}
    print(f"  {label}: VEB Se {v[0]:.1f} / +P {v[1]:.1f} (false V {v[2]}); SVEB Se {s[0]:.1f} / +P {s[1]:.1f} "
          f"(false S {s[2]}); false V > 20: {dict((r_, n) for r_, n in sorted(fv.items()) if n > 20)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.normpath(os.path.join(TRAIN, "..", "..", "..", "shared", "data")))
    ap.add_argument("--run", action="append", required=True, help="a run directory name under tools/train/runs")
    ap.add_argument("--seed", type=int, default=0, help="MLP seed (fold k uses seed + k, as feature_baseline.py)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    recs, feats = load(a.data)
    # MLP logits per DS1 record, once: they depend on the folds only, not on the run
    mlp = {}
    for k in range(D.N_FOLDS):
        test_patients = {r.spec.patient for r in recs if r.spec.group in ("ds1", "cpsc") and r.spec.fold == k}
        train = [r for r in recs if r.spec.patient not in test_patients]     # 118e* (NST) goes with 118
        X = np.concatenate([feats[id(r)] for r in train])
        y = np.concatenate([r.beat_cls for r in train])
        net = train_mlp(X, np.where(y == 4, 0, y), a.seed + k)
        with torch.no_grad():
            for r in recs:
                if r.spec.group == "ds1" and r.spec.fold == k:
                    mlp[r.spec.record] = net(torch.tensor(feats[id(r)], dtype=torch.float32)).numpy()
    fold_of = {r.spec.record: r.spec.fold for r in recs if r.spec.group == "ds1"}
    for run in a.run:
        T, R, NET, MLP = [], [], [], []
        for k in range(D.N_FOLDS):
            onnx_path = os.path.join(TRAIN, "runs", run, "cv_onnx", f"fold{k}", "ecg-nat-fp32.onnx")
            D.set_beat_features(beat_input_channels(onnx_path) > D.RR_DIM_BASE)
            test = [r for r in recs if r.spec.group == "ds1" and r.spec.fold == k]
            for r in test:     # an RR-only network reads the 3 RR numbers, a shape-feature network all 6
                r.rr_feat = feats[id(r)] if D.RR_DIM > D.RR_DIM_BASE else feats[id(r)][:, :3]
            out = predict_records(test, torch_predict(load_model(onnx_path)))
            for r, o in zip(test, out):
                T.append(o["beat_true"]); NET.append(o["beat_logits"]); MLP.append(mlp[r.spec.record])
                R += [r.spec.record] * len(o["beat_true"])
        T, NET, MLP, R = np.concatenate(T), np.concatenate(NET), np.concatenate(MLP), np.array(R)
        F = np.concatenate([np.full(int((R == rec).sum()), fold_of[rec]) for rec in dict.fromkeys(R)])
        print(f"run {run}: {len(T)} DS1 beats, five folds pooled")
        for al in ALPHAS:
            tag = " (candidate)" if al == CANDIDATE else (" (network alone)" if al == 0 else
                                                           (" (MLP alone)" if al == 1 else ""))
            report(f"a={al:.2f}{tag}", T, fuse(NET, MLP, al), R)
        P = np.empty_like(T)
        chosen = []
        for k in range(D.N_FOLDS):
            o = F != k
            best = max(GRID, key=lambda al: f1_sum(T[o], fuse(NET[o], MLP[o], al)))
            chosen.append(float(best))
            P[F == k] = fuse(NET[F == k], MLP[F == k], best)
        report(f"nested a per fold {chosen}", T, P, R)
        print(f"  a chosen on all five folds: {max(GRID, key=lambda al: f1_sum(T, fuse(NET, MLP, al))):.2f}")


if __name__ == "__main__":
    main()
