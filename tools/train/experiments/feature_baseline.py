#!/usr/bin/env python3
"""How far do per-beat features alone go? A small MLP on RR and/or shape features, record-wise CV on MIT-BIH DS1.

Each beat (reference annotation) is described by
  RR    - data.rr_features: pre/med - 1, post/med - 1, med - 0.8 s (the model's RR input);
  shape - data.morph_features: the beat's QRS against the median of the patient's previous 16 beats in lead II
          (1 - correlation, relative L2 difference, log peak-to-peak ratio).
For each DS1 fold of the model card, an MLP (F -> 32 -> 32 -> 4 classes N, S, V, F; GELU; class weights inverse-sqrt
frequency; Adam 3e-3, 60 epochs, batch 512) is trained on the beats of every labelled record not in that fold (the
other DS1 folds, the CPSC 2021 records of the other folds, the paced records and the NST records - these last only
when 118, whose noisy copies they are, is not in the fold: until 2026-11-25 they were always used, which leaked 118's
labels into its fold; Q counted as N) and tested on the fold's DS1 records. Pooled over the five folds: VEB and SVEB Se / +P as in the model card (over beats),
and the records with more than 20 beats wrongly called V.

No signal model at all: this is a baseline that says what the features carry, not a product candidate.

  PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/feature_baseline.py [--data ../shared/data] [--seed 0]
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from ecgnat import data as D  # noqa: E402
from ecgnat.feature_head import train_feature_head as train_mlp  # noqa: E402  (the product's trainer)

SETS = {"RR": slice(0, 3), "RR + shape": slice(0, 6), "shape": slice(3, 6)}


def beats_table(data_root):
    specs = [s for s in D.catalogue(data_root) if s.group in ("ds1", "cpsc", "paced", "nst")]
    cache = D.build_cache(data_root, os.path.join(os.path.dirname(HERE), "cache"), specs, log=lambda m: None)
    rows = []
    for r in D.load_records(cache, specs, morph=True):
        if r.has_beats:
            rows.append((r.spec.group, r.spec.record, r.spec.fold, r.beat_cls, r.rr_feat, r.spec.patient))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(HERE))), "..",
                                                   "shared", "data"))
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    rows = beats_table(os.path.normpath(a.data))
    for name, cols in SETS.items():
        T, P, R = [], [], []
        for k in range(D.N_FOLDS):
            test_patients = {x[5] for x in rows if x[0] in ("ds1", "cpsc") and x[2] == k}
            train = [x for x in rows if x[5] not in test_patients]     # 118e* (NST) goes with 118
            X = np.concatenate([x[4][:, cols] for x in train])
            y = np.concatenate([x[3] for x in train])
            y = np.where(y == 4, 0, y)                      # Q (paced) as N: four outputs
            net = train_mlp(X, y, a.seed + k)
            for x in rows:
                if x[0] == "ds1" and x[2] == k:
                    with torch.no_grad():
                        p = net(torch.tensor(x[4][:, cols], dtype=torch.float32)).argmax(1).numpy()
                    T.append(x[3]); P.append(p); R += [x[1]] * len(p)
        T, P, R = np.concatenate(T), np.concatenate(P), np.array(R)

        def sp(c):
            tp = int(((P == c) & (T == c)).sum()); fn = int(((P != c) & (T == c)).sum()); fp = int(((P == c) & (T != c)).sum())
            return f"Se {100 * tp / max(1, tp + fn):.1f} / +P {100 * tp / max(1, tp + fp):.1f} (TP {tp}, FN {fn}, FP {fp})"
        fv = {r: int(((P == 2) & (T != 2) & (R == r)).sum()) for r in np.unique(R)}
        print(f"{name:11s} VEB {sp(2)}; SVEB {sp(1)}")
        print(f"{'':11s} false V > 20: {dict((r, v) for r, v in sorted(fv.items()) if v > 20)}")


if __name__ == "__main__":
    main()
