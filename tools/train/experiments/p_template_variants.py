"""The sinus-P-template variants of docs/rhythm.md ("The P template in AF: eight variants", 2026-12-07): validate.py's leave-one-database-out
run with the fusion's features changed, on features exported by export_oof.py.

    PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/p_template_variants.py \
        [--drop p_template] [--neutral-without-template] -- --features DIR [other validate.py arguments]

--drop removes features from the fusion (validate.FEATURES). --neutral-without-template: in a window where no beat was
compared with a sinus P template (p_template = 0), p_corr and p_corr_high take their mean over the windows that had one
(after the fusion's standardisation: about no evidence either way) instead of 0. The mean is taken over every
source's windows, held-out ones included (a small leak; the fusion's own standardisation uses the training windows). The strict-gate rows read features exported
with the stricter sinus-like gate (docs/experiments/rhythm/strict-sinus-gate.patch applied to the device before export_oof.py).
Nothing here ships: the shipped fit is validate.py's.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "rhythm"))
from ecgnat import rhythm as R  # noqa: E402
import validate as V  # noqa: E402


def neutral_without_template(w: R.Windows) -> R.Windows:
    t = w.names.index("p_template")
    for X in (w.X, w.Xs):
        none = X[:, t] <= 0.0
        for name in ("p_corr", "p_corr_high"):
            j = w.names.index(name)
            X[none, j] = np.nanmean(X[~none, j])
    return w


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--drop", default="", help="comma-separated feature names removed from the fusion")
    ap.add_argument("--neutral-without-template", action="store_true")
    a, rest = ap.parse_known_args(argv)
    drop = {x for x in a.drop.split(",") if x}
    unknown = drop - set(V.FEATURES)
    if unknown:
        ap.error(f"not a fusion feature: {sorted(unknown)}")
    V.FEATURES = [f for f in V.FEATURES if f not in drop]
    if a.neutral_without_template:
        load = R.load
        R.load = lambda d, data: neutral_without_template(load(d, data))
    V.main([x for x in rest if x != "--"])


if __name__ == "__main__":
    main()
