"""AF episode-logic experiment of docs/rhythm.md (2026-12-07, session 16, not adopted): a window decided VT/VF (or noise)
whose fused AF share exceeds its sinus share counts as AF time, wherever it lies; then the usual episode logic.

    PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/vt_as_af.py [--af-in vt|vt,noise]
        [--keep-thresholds REPORT.json] -- --features DIR [other validate.py arguments]

--keep-thresholds: every split keeps the thresholds of an earlier `validate.py --json` report of the same splits (the
model does not change, so this isolates the episode logic from the nested threshold choice); without it the thresholds
are chosen again by validate.py's procedure, with the changed logic in its criterion.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "rhythm"))
from ecgnat import rhythm as R  # noqa: E402
import validate as V  # noqa: E402

CLASSES = {"noise": 2, "vt": 3}   # RHYTHM_CLASSES order: sinus/other, AF, noise, VT/VF


def decisions_with(af_in: set[int]):
    """rhythm.decisions, where a decision of a class in `af_in` becomes AF when its smoothed AF share exceeds its sinus
    share (only when the episode logic applies: bridge_s > 0)."""
    def decisions(w: R.Windows, probs: np.ndarray, smoothing: int = 3, bridge_s: float = R.AF_BRIDGE_S):
        out = []
        half = smoothing // 2
        for s, r in dict.fromkeys(zip(w.source, w.record)):
            idx = np.where((w.source == s) & (w.record == r))[0]
            idx = idx[np.argsort(w.t0[idx])]
            pr, t0, t1 = probs[idx], w.t0[idx], w.t1[idx]
            prev_end = t0[0] if len(idx) else 0.0
            for j in range(len(idx)):
                m = pr[max(0, j - half):min(len(idx) - 1, j + half) + 1].mean(axis=0)
                centre, hop = 0.5 * (t0[j] + t1[j]), (t1[j] - t0[j]) / 2
                a = prev_end
                b = t1[j] if j == len(idx) - 1 else min(centre + hop / 2, t1[j])
                if b > a:
                    c = int(np.argmax(m))
                    if bridge_s > 0 and c in af_in and m[1] > m[0]:
                        c = 1
                    out.append((s, r, a, b, c))
                    prev_end = b
        return R.bridge_af(out, bridge_s)
    return decisions


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--af-in", default="vt", help="comma-separated: vt, noise")
    ap.add_argument("--keep-thresholds", help="a validate.py --json report whose per-split thresholds are kept")
    a, rest = ap.parse_known_args(argv)
    names = [x for x in a.af_in.split(",") if x]
    if not names or any(x not in CLASSES for x in names):
        ap.error("--af-in takes vt and/or noise")
    R.decisions = decisions_with({CLASSES[x] for x in names})
    if a.keep_thresholds and "--fit" in rest:
        ap.error("--keep-thresholds goes without --fit (it keeps held-out splits' thresholds, not a fit's)")
    if a.keep_thresholds:
        with open(a.keep_thresholds) as f:
            kept = {name: (s["threshold_long"], s["threshold_short"]) for name, s in json.load(f)["splits"].items()}
        splits, current = R.splits, {}

        def named_splits(w):   # validate.main chooses the thresholds of each split while iterating R.splits
            for name, train, test in splits(w):
                current["name"] = name
                yield name, train, test

        def choose(*_args, **_kw):
            name = current.get("name")
            if name not in kept:
                raise SystemExit(f"--keep-thresholds: no thresholds for split {name!r} in the report")
            return kept[name]
        R.splits = named_splits
        V.choose_thresholds = choose
    V.main([x for x in rest if x != "--"])


if __name__ == "__main__":
    main()
