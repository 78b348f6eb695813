"""How far apart two rhythm designs really are: a paired record bootstrap of validate.py's held-out results.

    PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/compare_designs.py --features DIR \
        --base BASE.json --new NEW.json [--base-design fusion] [--new-design fusion] [--n 2000] [--seed 1] [--markdown]

BASE and NEW are `validate.py --json` reports over the same features' records (NEW's may come from other features: only
the record list and durations are read from DIR). For every held-out source, and for MIT-BIH DS1 pooled over its
record-wise folds, the records of the split are resampled with replacement (the same draw for both designs: a paired
bootstrap, the record as the unit, because windows of one record are not independent) and each draw scores both as
validate.py does: AF-duration F1 over the records with AF, false AF as a share of the time of the records without AF.
Printed: the observed difference (NEW − BASE) and its 2.5–97.5 % bootstrap interval. An interval that holds 0 says the
records of that source cannot tell the two designs apart.
Last, both designs' AF-duration figures on DS1 pooled over its folds (Se, +P, F1, false AF, and Se per AF record).

--base-design / --new-design pick which design of each report is compared (validate.py's rows: network = the 0.2.0
recipe out of fold, rr_rule = the plain RR rule, fusion_decisions, fusion = the evidence decision with the AF episode
logic, the default): `--base R.json --new R.json --base-design rr_rule` compares the shipped decision with the RR rule.

Per-record true-positive time is read back from the rounded Se of the report (dur_se, 0.1 %): the error is at most
0.05 % of a record's AF time.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from ecgnat import add_data_argument  # noqa: E402
from ecgnat import rhythm as R  # noqa: E402

PACED = {str(r) for r in R.PACED}   # never scored (validate.py)
DS1_FOLDS = "mitdb DS1 (5 folds)"


def record_table(split_report: dict, records: list[tuple[str, float, float]]) -> np.ndarray:
    """[records, 5]: AF s, true-positive s, called s (records with AF); duration s and called s (records without AF) —
    from one split's `fusion_records` and the split's records (name, duration s, reference AF s)."""
    rows = []
    for name, dur, af in records:
        x = split_report.get(name)
        called = x["called_af_s"] if x else 0.0
        if af > 0:
            se = x["dur_se"] if x and x["dur_se"] is not None else 0.0
            rows.append((af, se / 100.0 * af, called, 0.0, 0.0))
        else:
            rows.append((0.0, 0.0, 0.0, dur, called))
    return np.array(rows, dtype=np.float64).reshape(-1, 5)


def figures(t: np.ndarray, idx: np.ndarray | None = None) -> tuple[float, float]:
    """(AF-duration F1, false AF % of non-AF record time) of the records `idx` (all when None), as validate.py scores a
    source; NaN where undefined."""
    s = t if idx is None else t[idx]
    af, tp, called, dur, false = s.sum(axis=0)
    se = tp / af if af > 0 else np.nan
    ppv = tp / (called + false) if called + false > 0 else np.nan   # AF called on records without AF is false too
    f1 = 2 * se * ppv / (se + ppv) if se == se and ppv == ppv and se + ppv > 0 else (0.0 if af > 0 else np.nan)
    return f1, (100 * false / dur if dur > 0 else np.nan)


def pooled(t: np.ndarray) -> dict:
    """AF-duration Se, +P (%), F1 and false AF % of the records of t pooled, as validate.py scores a source."""
    af, tp, called, dur, false = t.sum(axis=0)
    f1, false_pct = figures(t)
    return {"se": 100 * tp / af if af > 0 else np.nan, "ppv": 100 * tp / (called + false) if called + false > 0 else np.nan,
            "f1": f1, "false_af_pct": false_pct}


def paired_bootstrap(base: np.ndarray, new: np.ndarray, n: int = 2000, seed: int = 1, score=figures,
                     names=("f1", "false_af_pct")) -> dict:
    """Observed NEW − BASE differences of the figures `score` computes from per-record rows (AF-duration F1 and false
    AF % by default), and their 2.5/97.5 % quantiles over record-bootstrap draws shared by both designs."""
    if base.shape != new.shape:
        raise ValueError("both designs must be scored on the same records")
    rng = np.random.default_rng(seed)
    k = len(base)
    obs = np.subtract(score(new), score(base))
    draws = np.empty((n, len(names)))
    for i in range(n):
        idx = rng.integers(0, k, k)
        draws[i] = np.subtract(score(new, idx), score(base, idx))
    out = {}
    for j, name in enumerate(names):
        d = draws[:, j][~np.isnan(draws[:, j])]
        lo, hi = (np.quantile(d, [0.025, 0.975]) if len(d) else (np.nan, np.nan))
        out[name] = {"diff": None if np.isnan(obs[j]) else float(obs[j]), "lo": float(lo), "hi": float(hi)}
    return out


def split_records(w: R.Windows) -> dict[str, list[tuple[str, float, float]]]:
    """{split: [(source/record, duration s, reference AF s)]}: every held-out source (MIT-BIH without the paced records)
    and DS1 pooled over its folds (the same records as the mitdb split)."""
    out: dict = {}
    for s, r in dict.fromkeys(zip(w.source, w.record)):
        if s == "mitdb" and r in PACED:
            continue
        dur, ref = w.ref[(s, r)]
        item = (f"{s}/{r}", float(dur), float(sum(e - o for o, e in ref)))
        out.setdefault(s, []).append(item)
        if s == "mitdb":
            out.setdefault(DS1_FOLDS, []).append(item)
    return out


DESIGNS = ("network", "rr_rule", "fusion_decisions", "fusion")


def split_report(report: dict, split: str, design: str = "fusion") -> dict:
    """One design's per-record results of a split (DS1_FOLDS: merged over the mitdb-fold splits)."""
    sp = report["splits"]
    key = design + "_records"
    if split != DS1_FOLDS:
        return sp[split][key]
    merged: dict = {}
    for name in sp:
        if name.startswith("mitdb-fold"):
            merged.update(sp[name][key])
    return merged


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--features", required=True)
    add_data_argument(ap)
    ap.add_argument("--base", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--base-design", choices=DESIGNS, default="fusion")
    ap.add_argument("--new-design", choices=DESIGNS, default="fusion")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args(argv)
    w = R.load(a.features, a.data)
    base, new = (json.load(open(p)) for p in (a.base, a.new))
    fmt = "| {} | {} | {} | {} |" if a.markdown else "{:22s} {:>5s}  {:32s} {:32s}"
    print(fmt.format("held out", "records", "F1: new − base [95 % interval]", "false AF %: new − base [95 % interval]"))
    if a.markdown:
        print("|---|---|---|---|")
    for split, recs in split_records(w).items():
        if split not in base["splits"] and split != DS1_FOLDS:
            continue
        b = record_table(split_report(base, split, a.base_design), recs)
        n = record_table(split_report(new, split, a.new_design), recs)
        res = paired_bootstrap(b, n, a.n, a.seed)

        def cell(x, d):
            return "–" if x["diff"] is None else f"{x['diff']:+.{d}f} [{x['lo']:+.{d}f}, {x['hi']:+.{d}f}]"
        print(fmt.format(split, str(len(recs)), cell(res["f1"], 3), cell(res["false_af_pct"], 2)))
    recs = split_records(w)[DS1_FOLDS]
    for label, report, design in (("base", base, a.base_design), ("new", new, a.new_design)):
        t = record_table(split_report(report, DS1_FOLDS, design), recs)
        x = pooled(t)
        per = ", ".join(f"{n.split('/')[1]} {100 * t[i, 1] / t[i, 0]:.1f}" for i, (n, _, af) in enumerate(recs) if af > 0)
        print(f"{DS1_FOLDS}, {label}: AF duration Se {x['se']:.1f} / +P {x['ppv']:.1f} / F1 {x['f1']:.3f}, false AF "
              f"{x['false_af_pct']:.2f} % ({per})")


if __name__ == "__main__":
    main()
