#!/usr/bin/env python3
"""Does the rhythm head do better with atrial activity as an input? Out of fold, backbone frozen.

For each CV fold k of a finished run (tools/train/runs/RUN/cv_onnx/foldK/ecg-nat-fp32.onnx), the fold network's
rhythm-head inputs are computed for every 10-s window of every rhythm-labelled record: the pooled stage-3 features
(mean and max of rnorm(f3)) and the five RR statistics, as EcgNat.rhythm_hidden reads them. Two heads of the shipped
shape (Linear -> GELU -> Linear to the 4 rhythm classes) are then fine-tuned on the windows of the records outside
fold k, both starting from the fold network's own head:
  base: the same inputs (a control: what re-fitting the head alone changes);
  +p:   one more input, the window's P-wave consistency over beats with the patient's usual QRS
        (af_rr.p_consistency, dominant_only), its weights starting at zero.
Each runs on fold k's windows. Reported, pooled over the folds: the network's own head, base and +p, as AF windows
Se / +P on the DS1 records with AF (201, 203), false AF windows on DS1, and AF Se / +P on the other datasets.

  PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/af_phead.py --run head_base2
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN = os.path.dirname(HERE)
sys.path.insert(0, TRAIN)
sys.path.insert(0, HERE)
from ecgnat import data as D  # noqa: E402
from ecgnat.evaluate import record_windows  # noqa: E402
from ecgnat.from_onnx import beat_input_channels, load_model  # noqa: E402
from af_rr import p_consistency  # noqa: E402

EPOCHS, LR, WD = 300, 3e-3, 1e-4


def head_inputs(model, X, M, RR, batch=64):
    out = []
    with torch.no_grad():
        for i in range(0, len(X), batch):
            _, f3 = model.features(torch.tensor(X[i:i + batch]), torch.tensor(M[i:i + batch]))
            z = model.rnorm(f3)
            out.append(torch.cat([z.mean(1), z.amax(1), model.rr_stats(torch.tensor(RR[i:i + batch]))], -1).numpy())
    return np.concatenate(out)


def fit_head(model, Xtr, ytr, extra: int, seed: int):
    """r_fc (+ extra zero-initialised input columns) and r_out of model, fine-tuned with class-balanced CE."""
    torch.manual_seed(seed)
    fc = nn.Linear(Xtr.shape[1], model.r_fc.out_features)
    out = nn.Linear(model.r_out.in_features, model.r_out.out_features)
    with torch.no_grad():
        fc.weight.zero_()
        fc.weight[:, :model.r_fc.in_features] = model.r_fc.weight
        fc.bias.copy_(model.r_fc.bias)
        out.load_state_dict(model.r_out.state_dict())
    cnt = np.bincount(ytr, minlength=4) + 1.0
    w = torch.tensor(cnt.sum() / (4 * cnt), dtype=torch.float32)
    xt, yt = torch.tensor(Xtr), torch.tensor(ytr)
    opt = torch.optim.Adam(list(fc.parameters()) + list(out.parameters()), lr=LR, weight_decay=WD)
    for _ in range(EPOCHS):
        opt.zero_grad()
        F.cross_entropy(out(F.gelu(fc(xt))), yt, weight=w).backward()
        opt.step()

    def run(x):
        with torch.no_grad():
            return out(F.gelu(fc(torch.tensor(x)))).numpy()
    return run


def report(label, T, P, REC, DS):
    mit = DS == "mitdb"
    afrec = mit & np.isin(REC, ["201", "203"])

    def sp(m):
        tp = int(((P == D.R_AF) & (T == D.R_AF) & m).sum()); fn = int(((P != D.R_AF) & (T == D.R_AF) & m).sum())
        fp = int(((P == D.R_AF) & (T != D.R_AF) & m).sum())
        return 100 * tp / max(1, tp + fn), 100 * tp / max(1, tp + fp)
    a, o = sp(afrec), sp(~mit)
    fa = {rec: int(((P == D.R_AF) & (T != D.R_AF) & mit & (REC == rec)).sum()) for rec in np.unique(REC[mit])}
    fa = {k: v for k, v in fa.items() if v}
    r201, r203 = sp(mit & (REC == "201")), sp(mit & (REC == "203"))
    print(f"  {label}: records with AF Se {a[0]:.1f} / +P {a[1]:.1f} (201 Se {r201[0]:.1f}, 203 Se {r203[0]:.1f}); "
          f"false AF on DS1 {sum(fa.values())} {fa}; other datasets Se {o[0]:.1f} / +P {o[1]:.1f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.normpath(os.path.join(TRAIN, "..", "..", "..", "shared", "data")))
    ap.add_argument("--run", required=True)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    specs = [s for s in D.catalogue(a.data) if s.group in ("ds1", "cpsc", "paced", "ptbxl", "cinc", "ludb")]
    cache = D.build_cache(a.data, os.path.join(TRAIN, "cache"), specs, log=lambda m: None)
    probe = os.path.join(TRAIN, "runs", a.run, "cv_onnx", "fold0", "ecg-nat-fp32.onnx")
    morph = beat_input_channels(probe) > D.RR_DIM_BASE
    if not morph:
        sys.exit("af_phead.py needs a run whose models read the shape channels (e.g. head_base2)")
    D.set_beat_features(True)
    recs = D.load_records(cache, specs, morph=True)
    wins, lab_tr, lab_te, pc = {}, {}, {}, {}
    for r in recs:
        wins[id(r)] = record_windows(r)
        st = wins[id(r)][0]
        lab_tr[id(r)] = np.array([r.window_rhythm(int(s), True) for s in st])
        lab_te[id(r)] = np.array([r.window_rhythm(int(s), False) for s in st])
        pc[id(r)] = p_consistency(r, st, True)[:, None]
    T, P0, PB, PP, REC, DS = [], [], [], [], [], []
    for k in range(D.N_FOLDS):
        model = load_model(os.path.join(TRAIN, "runs", a.run, "cv_onnx", f"fold{k}", "ecg-nat-fp32.onnx"))
        feats = {id(r): head_inputs(model, *wins[id(r)][1:]) for r in recs}
        train = [r for r in recs if r.spec.fold != k]
        test = [r for r in recs if r.spec.fold == k]
        Xb = np.concatenate([feats[id(r)] for r in train])
        Xp = np.concatenate([np.concatenate([feats[id(r)], pc[id(r)]], 1) for r in train])
        y = np.concatenate([lab_tr[id(r)] for r in train])
        keep = y >= 0
        base = fit_head(model, Xb[keep], y[keep], 0, a.seed + k)
        plus = fit_head(model, Xp[keep], y[keep], 1, a.seed + k)
        for r in test:
            x = feats[id(r)]
            with torch.no_grad():
                own = model.r_out(F.gelu(model.r_fc(torch.tensor(x)))).numpy()
            T.append(lab_te[id(r)]); P0.append(own.argmax(1)); PB.append(base(x).argmax(1))
            PP.append(plus(np.concatenate([x, pc[id(r)]], 1)).argmax(1))
            REC += [r.spec.record] * len(x); DS += [r.spec.dataset] * len(x)
        print(f"fold {k}: {int(keep.sum())} training windows ({int((y == D.R_AF).sum())} AF)", flush=True)
    T, REC, DS = np.concatenate(T), np.array(REC), np.array(DS)
    print(f"run {a.run}: {len(T)} test windows")
    report("network's own head", T, np.concatenate(P0), REC, DS)
    report("head re-fitted (control)", T, np.concatenate(PB), REC, DS)
    report("head re-fitted + P-wave consistency", T, np.concatenate(PP), REC, DS)


if __name__ == "__main__":
    main()
