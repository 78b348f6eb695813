"""Experiment (issue 26): V beats from the network's posterior and the QRS against the patient's own dominant beat, on
every labelled beat source, against the network alone (docs/experiments/beats/README.md).

    PYTHONPATH=tools/train /usr/bin/python3 tools/train/beats/v_rules.py --features out/oof2 [--json F] [--markdown]
        [--compare BASE NEW [--against out/oof-other]]

No fitted parameters; the thresholds are round numbers, compared on these same sources (a comparison, not an
out-of-sample estimate). S comes from the network in every row (SVEB is the RR rules' business: rr_rules.py).

- network: the beat head's argmax (out of fold).
- not_dominant_only: the network's V, unless the beat joined the patient's dominant cluster with a QRS no wider than
  1.2x the dominant beat's (the patient's normal beat is not a PVC).
- dominant_veto (2026-12-08, not shipped: SupraventricularRule.DominantBeatVeto, Inference:DominantBeatVeto=true, cost a
  true VT alarm in C#): not_dominant_only, but only for a beat
  at least 0.6 s after the one before that does not follow a V (never inside a ventricular run or at >= 100 bpm, where a
  run may have joined the dominant cluster and the VT criterion counts its V beats).
- or_wide: the network's V, or a QRS outside the dominant cluster at least 2x as wide as the dominant beat (the VT
  criterion's ventricular beat, EventOptions.VtWideQrsRatio).
- both: not_dominant_only and or_wide together.
- never_dominant (2026-12-07, session 16): the network's V, unless the beat joined the dominant cluster (any width).
- fast_wide_runs (session 16): the network's V, or a wide beat (as in or_wide) inside a run of ventricular-looking beats
  (the network's V or wide) that holds at least 3 wide beats each less than 0.6 s after the beat before (a ventricular
  run at >= 100 bpm: the morphology counts only where the rhythm says tachycardia).
- *_quiet: the same, with no V called where the beat's window decision is noise (argmax of the smoothed rhythm
  probabilities, the rhythm CSV beside the beats): beat classes of an unreadable signal are not evidence.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from ecgnat import beats as B  # noqa: E402


def noisy(b: B.Beats, features: str) -> np.ndarray:
    """True for beats whose covering window was decided noise."""
    import csv
    import glob
    win: dict = {}
    for f in glob.glob(os.path.join(features, "*.csv")):
        name = os.path.basename(f)
        src = name.split("-fold")[0] if "-fold" in name else name.rsplit("-", 1)[0]
        for r in csv.DictReader(open(f)):
            p = [float(r[k]) for k in ("p_sinus_other", "p_af_afl", "p_noise", "p_vt_vf")]
            win.setdefault((src, r["record"]), []).append((float(r["from_s"]), float(r["to_s"]), int(np.argmax(p)) == 2))
    out = np.zeros(len(b.ref), dtype=bool)
    for key, w in win.items():
        m = np.where((b.source == key[0]) & (b.record == key[1]))[0]
        if len(m) == 0:
            continue
        w.sort()
        starts = np.array([x[0] for x in w])
        t = b.sample[m] / b.fs[key]
        k = np.searchsorted(starts, t, side="right") - 1
        for i, kk in zip(m, k):
            out[i] = kk >= 0 and w[kk][0] <= b.sample[i] / b.fs[key] < w[kk][1] and w[kk][2]
    return out


def pre_interval(b: B.Beats) -> np.ndarray:
    """Seconds from the previous detected beat of the same record (NaN for the first)."""
    out = np.full(len(b.ref), np.nan)
    for key in dict.fromkeys(zip(b.source, b.record)):
        m = np.where((b.source == key[0]) & (b.record == key[1]))[0]
        m = m[np.argsort(b.sample[m])]
        out[m[1:]] = np.diff(b.sample[m]) / b.fs[key]
    return out


def dominant_veto(b: B.Beats, network: np.ndarray, normal_like: np.ndarray, min_interval=0.6) -> np.ndarray:
    """The device's veto (SupraventricularRule.DominantBeatVeto): the network's V becomes N on a beat like the dominant
    one (normal_like) at least min_interval s after the beat before, unless the beat before is (still) V."""
    out = network.copy()
    pre = pre_interval(b)
    for key in dict.fromkeys(zip(b.source, b.record)):
        m = np.where((b.source == key[0]) & (b.record == key[1]))[0]
        last_v = False
        for i in m[np.argsort(b.sample[m])]:
            if out[i] == "V" and normal_like[i] and pre[i] >= min_interval and not last_v:
                out[i] = "N"
            last_v = out[i] == "V"
    return out


def fast_wide_runs(b: B.Beats, network: np.ndarray, wide: np.ndarray, min_wide=3, max_rr=0.6) -> np.ndarray:
    """The network's V, and V for the wide beats of a run of ventricular-looking beats (network V or wide) holding at
    least `min_wide` wide beats each less than `max_rr` seconds after the beat before."""
    out = network.copy()
    for key in dict.fromkeys(zip(b.source, b.record)):
        m = np.where((b.source == key[0]) & (b.record == key[1]))[0]
        m = m[np.argsort(b.sample[m])]
        t = b.sample[m] / b.fs[key]
        ven = (network[m] == "V") | wide[m]
        fast_wide = wide[m] & np.r_[False, np.diff(t) < max_rr]
        j = 0
        while j < len(m):
            if not ven[j]:
                j += 1
                continue
            k = j
            while k < len(m) and ven[k]:
                k += 1
            if fast_wide[j:k].sum() >= min_wide:
                out[m[j:k][wide[m[j:k]]]] = "V"
            j = k
    return out


def decisions(b: B.Beats, noise: np.ndarray | None = None) -> dict[str, np.ndarray]:
    network = np.array(["N", "S", "V", "F", "Q"])[np.argmax(b.X[:, [b.names.index(n) for n in B.NET]], axis=1)].astype(object)
    dom = b.X[:, b.names.index("qrs_dominant")] == 1
    wr = b.X[:, b.names.index("qrs_width_ratio")]
    normal_like = dom & (wr <= 1.2)
    wide = ~dom & (wr >= 2.0)
    out = {"network": network}
    x = network.copy(); x[(x == "V") & normal_like] = "N"; out["not_dominant_only"] = x
    out["dominant_veto"] = dominant_veto(b, network, normal_like)
    x = network.copy(); x[wide & (x != "S")] = "V"; out["or_wide"] = x
    x = out["not_dominant_only"].copy(); x[wide & (x != "S")] = "V"; out["both"] = x
    x = network.copy(); x[(x == "V") & dom] = "N"; out["never_dominant"] = x
    out["fast_wide_runs"] = fast_wide_runs(b, network, wide)
    if noise is not None:
        for k in list(out):
            x = out[k].copy(); x[(x == "V") & noise] = "Q"; out[k + "_quiet"] = x
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    B.add_table_arguments(ap)
    ap.add_argument("--per-record", action="store_true")
    ap.add_argument("--compare", nargs=2, metavar=("BASE", "NEW"),
                    help="two rows (or decided: the exporting device's calls): per source, NEW − BASE SVEB and VEB F1 with "
                         "95 %% record-bootstrap intervals (rr_rules.compare)")
    ap.add_argument("--against", metavar="FEATURES", help="with --compare: NEW from these features (another run's export)")
    a = ap.parse_args(argv)
    if a.against and not a.compare:
        ap.error("--against needs --compare")
    b = B.load(a.features, a.data)
    rows = decisions(b, noisy(b, a.features))
    rows["decided"] = b.decided
    report = {}
    for name, called in rows.items():
        sc, rec = B.score(b, called, per_record=True)
        report[name] = {s: {k: v.as_dict() for k, v in sc[s].items()} for s in B.SOURCES if s in sc}
        if a.per_record:
            for (s, r), v in rec.items():
                if v["veb"].tp + v["veb"].fn + v["veb"].fp:
                    print(f"  {name:18s} {s}/{r}: VEB tp {v['veb'].tp} fn {v['veb'].fn} fp {v['veb'].fp}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    B.print_table(report, "veb", a.markdown)
    if a.compare:
        from rr_rules import compare
        b_new = B.load(a.against, a.data) if a.against else b
        rows_new = dict(decisions(b_new, noisy(b_new, a.against)), decided=b_new.decided) if a.against else rows
        compare(b, rows[a.compare[0]], rows_new[a.compare[1]], a.compare, b_new)


if __name__ == "__main__":
    main()
