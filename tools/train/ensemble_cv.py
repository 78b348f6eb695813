#!/usr/bin/env python3
"""Experiment: record-wise CV of seed ensembles, from fold models that CV runs already exported.

Each CV run (`train.sh ... --stages build,cv:1:pretrained --work W`) leaves its fold models in W/cv_onnx/fold<k>/. This
rebuilds the fp32 models in PyTorch (from_onnx.load_model), evaluates every model once per held-out fold exactly as the
CV stage does (evaluate.evaluate, same noise seed), and scores each requested ensemble by averaging the members' class
probabilities (beat tokens and windows). A one-member "ensemble" reproduces that run's own CV figures, which checks
the replay. Nothing is trained.

Usage: PYTHONPATH=tools/train /usr/bin/python3 tools/train/ensemble_cv.py --runs A,B,C,D \
           --ensembles A B A+B C+D A+B+C+D [--json FILE]
(run names are work dirs under tools/train/runs/)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from types import SimpleNamespace

import numpy as np
import torch

from ecgnat import data as D
from ecgnat import evaluate as E
from ecgnat import from_onnx
from ecgnat import pipeline as P

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = ["accuracy", "VEB_se", "VEB_pp", "SVEB_se", "SVEB_pp", "F_se", "F_pp", "mitdb_afrec_af_afl_se", "mitdb_afrec_af_afl_pp",
        "other_af_afl_se", "other_af_afl_pp", "noise_se", "noise_false_rate_mild"]


def recorder(predict, store):
    def f(x, m, rr):
        b, r = predict(x, m, rr)
        store.append((b, r))
        return b, r
    return f


def softmax(z):
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def replay(stores):
    """A predictor that returns the mean class probability (as log) of the members' recorded outputs, call by call:
    evaluate() calls the predictor in the same order for the same records."""
    i = [0]

    def f(x, m, rr):
        outs = [s[i[0]] for s in stores]
        i[0] += 1
        b = np.mean([softmax(o[0]) for o in outs], axis=0)
        r = np.mean([softmax(o[1]) for o in outs], axis=0)
        return np.log(b + 1e-12), np.log(r + 1e-12)
    return f


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", required=True)
    ap.add_argument("--ensembles", nargs="+", required=True)
    ap.add_argument("--runs-dir", default=os.path.join(HERE, "runs"))
    ap.add_argument("--data", default=os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "data")))
    ap.add_argument("--seed", type=int, default=1234, help="the CV runs' noise-evaluation seed (as train.sh --seed)")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    torch.set_num_threads(1)
    runs = a.runs.split(",")
    work = os.path.join(a.runs_dir, "ensemble")
    # the runs' models read the shape channels when they carry a feature head (the shipped recipe): load them then
    probe = os.path.join(a.runs_dir, runs[0], "cv_onnx", "fold0", "ecg-nat-fp32.onnx")
    shape = from_onnx.beat_input_channels(probe) > D.RR_DIM_BASE
    D.set_beat_features(shape)
    args = SimpleNamespace(work=work, data=a.data, cache=os.path.join(HERE, "cache"), seed=a.seed, smoke=False,
                           beat_jitter=D.BEAT_JITTER, feature_head=shape, out=work)
    ctx = P.Ctx(args, P.FULL)
    P.stage_build(ctx)
    pooled = {e: [] for e in a.ensembles}
    per_fold = {e: {} for e in a.ensembles}
    for fold in ctx.cfg["folds"]:
        _, te = P.pools(ctx, fold)
        seed = P.run_seed(a.seed, "noise", fold)
        stores = {}
        for r in runs:
            t = time.time()
            model = from_onnx.load_model(os.path.join(a.runs_dir, r, "cv_onnx", f"fold{fold}", "ecg-nat-fp32.onnx"))
            stores[r] = []
            E.evaluate(te, recorder(E.torch_predict(model), stores[r]), ctx.bank_eval, ctx.cfg["n_noise_eval"], seed)
            ctx.log(f"[ensemble] fold {fold} {r}: {len(stores[r])} calls, {time.time() - t:.0f}s")
        for e in a.ensembles:
            met, res, nr = E.evaluate(te, replay([stores[m] for m in e.split("+")]), ctx.bank_eval,
                                      ctx.cfg["n_noise_eval"], seed)
            pooled[e].append((res, nr))
            per_fold[e][fold] = {k: met.get(k) for k in KEYS}
            ctx.log(f"[ensemble] fold {fold} {e}: VEB {met.get('VEB_se', float('nan')):.1f}/{met.get('VEB_pp', float('nan')):.1f} "
                    f"SVEB {met.get('SVEB_se', float('nan')):.1f}/{met.get('SVEB_pp', float('nan')):.1f}")
    out = {}
    for e in a.ensembles:
        res = [r for rs, _ in pooled[e] for r in rs]
        nr = (np.concatenate([n[0] for _, n in pooled[e] if n]), np.concatenate([n[1] for _, n in pooled[e] if n]))
        met = E.summarize(res, nr)
        out[e] = {"pooled": {k: met.get(k) for k in KEYS}, "per_fold": per_fold[e]}
        print(e.ljust(40), " ".join(f"{k} {met.get(k, float('nan')):.1f}" for k in KEYS), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
