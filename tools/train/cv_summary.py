#!/usr/bin/env python3
"""Side-by-side summary of CV runs (Python evaluation, pretrained, 100 % labels): pooled figures as in the model card
and, per DS1 record, the beats wrongly called V and wrongly called S.

  /usr/bin/python3 tools/train/cv_summary.py RUN [RUN ...] [--runs-dir tools/train/runs] [--variant fp32|int8]
                                            [--json FILE]

RUN is a work dir name under --runs-dir holding results/cv_pretrained_1_fold<k>.json (train.sh --stages
...,cv:1:pretrained). fp32 = the PyTorch model (`metrics`, `per_record`), int8 = the int8 graph simulated in numpy
(`metrics_int8`, `per_record_int8`). Pooling is the model card's (ecgnat.card._pooled): fold confusion matrices summed.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from ecgnat.card import _pooled  # noqa: E402

V, S = 2, 1


def load_run(path: str) -> list[dict]:
    files = sorted(glob.glob(os.path.join(path, "results", "cv_pretrained_1_fold*.json")))
    if not files:
        raise SystemExit(f"{path}: no results/cv_pretrained_1_fold*.json")
    return [json.load(open(f)) for f in files]


def summarize(folds: list[dict], variant: str) -> dict:
    mkey, rkey = ("metrics", "per_record") if variant == "fp32" else ("metrics_int8", "per_record_int8")
    p = _pooled(folds, mkey)
    out = {"folds": len(folds), "VEB": [p["VEB_se"], p["VEB_pp"]], "SVEB": [p["SVEB_se"], p["SVEB_pp"]],
           "AF_ds1": [p.get("mitdb_afrec_af_afl_se"), p.get("mitdb_afrec_af_afl_pp")],
           "AF_other": [p.get("other_af_afl_se"), p.get("other_af_afl_pp")], "records": {}}
    for f in folds:
        for r in f[rkey]:
            if not r["record"].isdigit() or "beat_confusion" not in r:
                continue                       # DS1 records only (the 10-s datasets have no reference beat labels)
            c = np.array(r["beat_confusion"])
            out["records"][r["record"]] = {"false_v": int(c[:, V].sum() - c[V, V]), "false_s": int(c[:, S].sum() - c[S, S]),
                                           "v": [int(c[V, V]), int(c[V].sum())], "s": [int(c[S, S]), int(c[S].sum())]}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--runs-dir", default=os.path.join(HERE, "runs"))
    ap.add_argument("--variant", choices=("fp32", "int8"), default="fp32")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    res = {r: summarize(load_run(os.path.join(a.runs_dir, r)), a.variant) for r in a.runs}
    fmt = lambda x: "–" if x is None else f"{x:.1f}"
    print(f"{'run':12s} {'VEB Se/+P':>12s} {'SVEB Se/+P':>12s} {'AF DS1':>12s} {'AF other':>12s}  ({a.variant})")
    for r, s in res.items():
        print(f"{r:12s} " + " ".join(f"{fmt(s[k][0]) + '/' + fmt(s[k][1]):>12s}" for k in ("VEB", "SVEB", "AF_ds1", "AF_other")))
    recs = sorted({k for s in res.values() for k in s["records"]}, key=int)
    print("\nfalse V / false S per DS1 record")
    print("record " + " ".join(f"{r:>14s}" for r in a.runs))
    for k in recs:
        print(f"{k:6s} " + " ".join(f"{s['records'][k]['false_v']:>6d} / {s['records'][k]['false_s']:<5d}"
                                     if k in s["records"] else f"{'–':>14s}" for s in res.values()))
    print("total  " + " ".join(f"{sum(v['false_v'] for v in s['records'].values()):>6d} / "
                               f"{sum(v['false_s'] for v in s['records'].values()):<5d}" for s in res.values()))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"variant": a.variant, "runs": res}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
