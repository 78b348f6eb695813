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
    """rhythm.decisions, where a window whose smoothed posteriors decide a class in `af_in` is decided AF when its AF share
    exceeds its sinus share (only when the episode logic applies: bridge_s > 0)."""
    decisions = R.decisions

    def changed(w: R.Windows, probs: np.ndarray, smoothing: int = 3, bridge_s: float = R.AF_BRIDGE_S, classes=None):
        if bridge_s > 0 and classes is None:
            m = R.smoothed(w, probs, smoothing)
            classes = np.argmax(m, axis=1)
            classes[np.isin(classes, list(af_in)) & (m[:, 1] > m[:, 0])] = 1
        return decisions(w, probs, smoothing, bridge_s, classes)
    return changed


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
