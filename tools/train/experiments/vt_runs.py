#!/usr/bin/env python3
"""Issue 27, exploratory: ventricular runs on MIT-BIH DS1 out of fold, from the fold networks' V calls vs from
morphology against the patient's own dominant beat (the device's per-beat evidence, `BeatFeatures`).

Reads the per-beat CSVs export_oof.py writes (out/oof/beats/mitdb-fold*-60.csv: every DS1 record analysed by the fold
network that did not train on it, with qrs_corr / qrs_width_ratio / qrs_dominant from the online dominant-beat
clustering) and the reference rhythm ((VT, (VFL) and beat (V) annotations. Per rule, a beat is "ventricular":
  network   the fold network's decision is V
  morph     not in the dominant cluster, QRS correlation with the dominant beat < 0.8 and width ratio > 1.15
  either    network or morph
  wide      not in the dominant cluster and (correlation < 0.8 or width ratio >= 1.5)
  net|wide  network or wide
and runs of consecutive ventricular beats are compared with the reference VT episodes: runs meeting the alarm criterion
(>= 15 beats at >= 120 bpm, or >= 30 s at >= 100 bpm; no non-V beat allowed here, unlike the device's 75 % rule), runs of
>= 3 beats at >= 100 bpm, and V beats (150 ms match). Findings: docs/experiments/vt-runs.md.

  PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/vt_runs.py [--beats out/oof/beats] [--data ../shared/data]
"""
import argparse
import csv
import glob
import os
import sys

import numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from ecgnat import add_data_argument  # noqa: E402
from ecgnat import wfdb

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
_ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
_ap.add_argument("--beats", default=os.path.join(ROOT, "out", "oof", "beats"))
add_data_argument(_ap)
_a = _ap.parse_args()
DATA = os.path.join(_a.data, "mitdb")
def vt_intervals(rec):
    h = wfdb.read_header(f"{DATA}/{rec}"); a = wfdb.read_annotations(f"{DATA}/{rec}.atr")
    out, cur = [], None
    for s, sym, aux in zip(a.sample, a.symbol, a.aux):
        if sym != "+": continue
        if cur is not None: out.append((cur / h.fs, s / h.fs)); cur = None
        au = (aux or "").strip("\x00 ").upper()
        if au.startswith("(VT") or au.startswith("(VFL"): cur = s
    if cur is not None: out.append((cur / h.fs, h.nsamp / h.fs))
    return out, h.fs, a
rows = {}
for f in sorted(glob.glob(os.path.join(_a.beats, "mitdb-fold*-60.csv"))):
    for r in csv.DictReader(open(f)):
        rows.setdefault(r["record"], []).append(r)
def runs(flags, t, min_beats, min_rate):
    out, i = [], 0
    while i < len(flags):
        if not flags[i]: i += 1; continue
        j = i
        while j < len(flags) and flags[j]: j += 1
        n = j - i
        if n >= min_beats:
            dur = t[j - 1] - t[i]; rate = 60 * (n - 1) / dur if dur > 0 else 0
            if rate >= min_rate: out.append((t[i], t[j - 1], n, rate))
        i = j
    return out
def rules(b):
    net = b["decided"] == "V"
    corr, wr, dom = float(b["qrs_corr"]), float(b["qrs_width_ratio"]), b["qrs_dominant"] == "1"
    morph = (not dom) and corr < 0.8 and wr > 1.15
    wide = (not dom) and (corr < 0.8 or wr >= 1.5)
    return {"network": net, "morph": morph, "either": net or morph, "wide": wide, "net|wide": net or wide}
tot = {}
for rec, bs in sorted(rows.items()):
    ref, fs, ann = vt_intervals(rec)
    t = np.array([int(b["sample"]) for b in bs]) / fs
    # reference V beats
    refv = {int(s) for s, sym in zip(ann.sample, ann.symbol) if sym == "V"}
    rs = np.array(sorted(refv))
    flags = {k: [rules(b)[k] for b in bs] for k in ("network", "morph", "either", "wide", "net|wide")}
    line = f"{rec}: ref VT eps {len(ref)} (>=10s {sum(1 for a,b in ref if b-a>=10)})"
    for k, fl in flags.items():
        rn = runs(fl, t, 15, 120) + [x for x in runs(fl, t, 2, 100) if x[1] - x[0] >= 30]
        nsvt = runs(fl, t, 3, 100)
        hit = sum(1 for a, b in ref if any(min(b, y) > max(a, x) for x, y, _, _ in rn))
        hit3 = sum(1 for a, b in ref if any(min(b, y) > max(a, x) for x, y, _, _ in nsvt))
        false = sum(1 for x, y, _, _ in rn if not any(min(b, y) > max(a, x) for a, b in ref))
        false3 = sum(1 for x, y, _, _ in nsvt if not any(min(b, y) > max(a, x) for a, b in ref))
        # beat-level V Se/+P (150 ms)
        tp = fp = 0
        for fl_, b in zip(fl, bs):
            if fl_:
                s = int(b["sample"]); k_ = np.searchsorted(rs, s)
                near = any(abs(rs[m] - s) <= 0.15 * fs for m in (k_ - 1, k_) if 0 <= m < len(rs))
                tp += near; fp += not near
        d = tot.setdefault(k, [0] * 8)
        for i_, v in enumerate((len(ref), hit, false, hit3, false3, tp, fp, len(rs))): d[i_] += v
        if len(ref) or false or false3 > 3: line += f" | {k}: alarm-runs {len(rn)} hit {hit} false {false}; runs>=3 hit {hit3} false {false3}"
    if len(ref) or "false" in line: print(line)
for k, d in tot.items():
    print(f"{k:8s}: VT episodes {d[0]}, found by an alarm-criterion run {d[1]}, false alarm runs {d[2]}; >=3-beat runs: eps hit {d[3]}, false runs {d[4]}; V beats Se {100*d[5]/d[7]:.1f} +P {100*d[5]/max(1,d[5]+d[6]):.1f}")
