"""Experiment (issue 26): V beats from the network's posterior and the QRS against the patient's own dominant beat, on
every labelled beat source, against the network alone (docs/experiments/beats/README.md).

    PYTHONPATH=tools/train /usr/bin/python3 tools/train/beats/v_rules.py --features out/oof2 [--json F] [--markdown]

No fitted parameters; the thresholds are round numbers, compared on these same sources (a comparison, not an
out-of-sample estimate). S comes from the network in every row (SVEB is the RR rules' business: rr_rules.py).

- network: the beat head's argmax (out of fold).
- not_dominant_only: the network's V, unless the beat joined the patient's dominant cluster with a QRS no wider than
  1.2x the dominant beat's (the patient's normal beat is not a PVC).
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
    a = ap.parse_args(argv)
    b = B.load(a.features, a.data)
    rows = decisions(b, noisy(b, a.features))
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

if __name__ == "__main__":
    main()
