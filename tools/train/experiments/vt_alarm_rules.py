#!/usr/bin/env python3
"""Issue 27: the device's VT alarm (EventEngine's run logic) replayed over out-of-fold beat classes, with candidate
definitions of a "ventricular beat" — the fold network's V alone, or V OR a wide complex unlike the patient's dominant
beat — on every source with per-beat evidence, to count VT episodes found and false VT alarms per hour.

The run logic is the engine's (src/EcgEdge.Events/Alerts/EventEngine.cs, OnBeatClassified): a run of ventricular beats
survives one other beat at a time while >= 75 % of its beats are ventricular; an alarm is raised once the run has >= 15
ventricular beats at >= 120 bpm (MCOT) or lasts >= 30 s at >= 100 bpm; the rate is over all the run's beats. While the
window decision is noise the device raises no VT (approximated here by the window covering the beat having noise as its
argmax smoothed probability). Beats come from export_oof.py's CSVs (DIR/beats/*.csv: every record analysed by a network
that did not train on it; QTDB and AFTDB by the shipped network, which never trains on them).

A reference VT episode is an `(VT`, `(VFL` or `(VF` stretch of the record's .atr (only MIT-BIH has them here). An alarm
is true when it overlaps one; every alarm on a source without ventricular-rhythm labels is counted false.

  PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/vt_alarm_rules.py [--oof out/oof] [--data ../shared/data]
      [--json out.json]
"""
from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import sys
from collections import defaultdict

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from ecgnat import add_data_argument  # noqa: E402
from ecgnat import rhythm as R  # noqa: E402
from ecgnat import wfdb  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))

# Engine defaults (EventOptions): VtAlarmBeats, VtAlarmRateBpm, VtSustainedS, VtMinRateBpm, VtRunMaxGapBeats,
# VtMinVentricularFraction.
ALARM_BEATS, ALARM_RATE, SUSTAINED_S, MIN_RATE, MAX_GAP, FRACTION = 15, 120.0, 30.0, 100.0, 1, 0.75


def rules(row) -> dict[str, bool]:
    """Candidate definitions of a ventricular beat from one CSV row: the network's V, or also a QRS outside the dominant
    cluster at least twice as wide as the dominant beat (EventOptions.VtWideQrsRatio = 2).

    Until 2026-12-07 the device wrote qrs_width_ratio as an integer quotient of two sample counts (DominantBeat), so
    CSVs exported before then hold floor(ratio); floor(r) >= 2 exactly when r >= 2, so the ratio-2 rule reads them
    right, and no other threshold does (1.5 and 1.75 were compared with `ecgedge eval` instead: docs/events.md)."""
    net = row["decided"] == "V"
    wide = row["qrs_dominant"] != "1" and float(row["qrs_width_ratio"]) >= 2.0
    return {"network": net, "net|wide2": net or wide}


def ventricular_episodes(path: str) -> list[tuple[float, float]]:
    if not os.path.exists(path + ".atr"):
        return []
    h = wfdb.read_header(path)
    a = wfdb.read_annotations(path + ".atr")
    out, cur = [], None
    for s, sym, aux in zip(a.sample, a.symbol, a.aux):
        if sym != "+":
            continue
        if cur is not None:
            out.append((cur / h.fs, s / h.fs))
            cur = None
        au = (aux or "").strip("\x00 ").upper()
        if au.startswith("(VT") or au.startswith("(VF"):
            cur = s
    if cur is not None:
        out.append((cur / h.fs, h.nsamp / h.fs))
    return out


def alarms(t: np.ndarray, flags: list[bool], noise: np.ndarray) -> list[tuple[float, float]]:
    """The engine's VT episodes (onset, end) from beat times and ventricular flags."""
    out = []
    v_run = run_beats = gap = 0
    first = last = 0.0
    open_ = None
    for i, (ti, fl) in enumerate(zip(t, flags)):
        if fl:
            if v_run == 0:
                first, run_beats = ti, 0
            v_run += 1
            run_beats += 1 + gap
            gap = 0
            last = ti
            sec = last - first
            rate = 60.0 * (run_beats - 1) / sec if run_beats >= 2 and sec > 0 else float("nan")
            ventricular = v_run >= FRACTION * run_beats
            mcot = v_run >= ALARM_BEATS and rate >= ALARM_RATE
            sustained = sec >= SUSTAINED_S and rate >= MIN_RATE
            if open_ is None and ventricular and (mcot or sustained) and not noise[i]:
                open_ = first
        elif v_run > 0 and gap < MAX_GAP:
            gap += 1
        else:
            if open_ is not None:
                out.append((open_, last))
                open_ = None
            v_run = run_beats = gap = 0
    if open_ is not None:
        out.append((open_, last))
    return out


def noise_flags(windows: list[tuple[float, float, bool]], t: np.ndarray) -> np.ndarray:
    """True where the window covering the beat decided noise (the device's suppression, approximately)."""
    out = np.zeros(len(t), dtype=bool)
    if not windows:
        return out
    w = sorted(windows)
    starts = np.array([a for a, _, _ in w])
    for i, ti in enumerate(t):
        k = np.searchsorted(starts, ti, side="right") - 1
        if k >= 0 and w[k][0] <= ti < w[k][1]:
            out[i] = w[k][2]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--oof", default=os.path.join(ROOT, "out", "oof"))
    add_data_argument(ap)
    ap.add_argument("--json")
    a = ap.parse_args(argv)

    # Window decisions (noise) per (source, record).
    noise = defaultdict(list)
    for f in sorted(glob.glob(os.path.join(a.oof, "*.csv"))):
        src = os.path.basename(f).split("-fold")[0].rsplit("-", 1)[0] if "-fold" in f else os.path.basename(f).rsplit("-", 1)[0]
        if src.startswith("aftdb"):
            src = "aftdb"
        for r in csv.DictReader(open(f)):
            p = [float(r[k]) for k in ("p_sinus_other", "p_af_afl", "p_noise", "p_vt_vf")]
            noise[(src, r["record"])].append((float(r["from_s"]), float(r["to_s"]), int(np.argmax(p)) == 2))

    beats = defaultdict(list)
    for f in sorted(glob.glob(os.path.join(a.oof, "beats", "*.csv"))):
        name = os.path.basename(f)
        src = name.split("-fold")[0] if "-fold" in name else name.rsplit("-", 1)[0]
        if src.startswith("aftdb"):
            src = "aftdb"
        for r in csv.DictReader(open(f)):
            beats[(src, r["record"])].append(r)

    names = list(rules(next(iter(beats.values()))[0]).keys())
    per_source = defaultdict(lambda: {k: defaultdict(float) for k in names})
    per_record = []
    for (src, rec), rows in sorted(beats.items()):
        path = R.record_path(a.data, src, rec)
        h = wfdb.read_header(path)
        t = np.array([int(r["sample"]) for r in rows]) / h.fs
        hours = h.nsamp / h.fs / 3600 if h.nsamp else (t[-1] - t[0]) / 3600
        ref = ventricular_episodes(path)
        nz = noise_flags(noise.get((src, rec), []), t)
        flags = {k: [rules(r)[k] for r in rows] for k in names}
        line = {"source": src, "record": rec, "hours": hours, "episodes": len(ref),
                "episodes_10s": sum(1 for x, y in ref if y - x >= 10)}
        for k in names:
            al = alarms(t, flags[k], nz)
            true = [(x, y) for x, y in al if any(min(y, e) > max(x, s) or s <= x <= e for s, e in ref)]
            found = sum(1 for s, e in ref if any(min(e, y) > max(s, x) or s <= x <= e for x, y in al))
            found10 = sum(1 for s, e in ref if e - s >= 10 and any(min(e, y) > max(s, x) or s <= x <= e for x, y in al))
            d = per_source[src][k]
            d["hours"] += hours
            d["episodes"] += len(ref)
            d["episodes_10s"] += line["episodes_10s"]
            d["found"] += found
            d["found_10s"] += found10
            d["alarms"] += len(al)
            d["false"] += len(al) - len(true)
            line[k] = {"alarms": len(al), "false": len(al) - len(true), "found": found, "found_10s": found10}
        per_record.append(line)
        if line["episodes"] or any(line[k]["alarms"] for k in names):
            print(f"{src:8s} {rec:12s} eps {len(ref):2d} (>=10 s {line['episodes_10s']}) | "
                  + " | ".join(f"{k}: {line[k]['found']}/{line[k]['found_10s']} found, {line[k]['alarms']} al, {line[k]['false']} false" for k in names))
    print()
    for src, byk in sorted(per_source.items()):
        for k in names:
            d = byk[k]
            print(f"{src:8s} {k:22s} {d['hours']:6.1f} h  episodes {int(d['episodes']):3d} found {int(d['found']):3d}; "
                  f">=10 s {int(d['episodes_10s'])} found {int(d['found_10s'])}; alarms {int(d['alarms'])}, false {int(d['false'])} "
                  f"({d['false'] / d['hours']:.2f}/h)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"per_source": {s: {k: dict(v) for k, v in byk.items()} for s, byk in per_source.items()},
                       "per_record": per_record}, f, indent=1)


if __name__ == "__main__":
    main()
