"""How well the beats of the --n-beat-sources records are placed: detect_beats + refine_peaks against LUDB's
cardiologist QRS marks (symbol N in the lead-II annotation files), after the same conditioning as training.

  PYTHONPATH=tools/train /usr/bin/python3 -m ecgnat.check_beats [--data ../shared/data] [--cache tools/train/cache]

Prints: reference QRS marks, how many have a detected beat within +-TOL samples (250 Hz), how many detected beats
inside the annotated span have a mark within +-TOL, and the offsets of the matches. LUDB marks only part of each
10-s record, so detected beats outside the span of its marks are not counted. Every LUDB record is used (also those
with AF or ectopy), not only the n_beats ones.
"""
from __future__ import annotations

import argparse
import os

import numpy as np

from . import data as D
from . import signal as S
from . import wfdb

TOL = 12  # samples at 250 Hz = 48 ms


def check(data_root: str, cache_dir: str) -> dict:
    specs = [s for s in D.catalogue(data_root) if s.group == "ludb"]
    cache = D.build_cache(data_root, cache_dir, specs, log=lambda *a: None)
    recs = D.load_records(cache, specs)
    n_ref = n_found = n_det = n_det_matched = 0
    offsets = []
    for r in recs:
        ann_path = r.spec.path + ".ii"
        if not os.path.exists(ann_path):
            continue
        a = wfdb.read_annotations(ann_path)
        fs = wfdb.read_header(r.spec.path).fs
        ref = np.array([p for p, sym in zip(a.sample, a.symbol) if sym == "N"], np.int64)
        if not len(ref):
            continue
        ref = S.sample_to_model_index(ref, fs) + S.qrs_group_delay_samples(r.spec.mains)
        det = D.refine_peaks(r.sig, D.detect_beats(r.sig))
        n_ref += len(ref)
        for q in ref:
            if len(det) and np.abs(det - q).min() <= TOL:
                n_found += 1
                offsets.append(int(det[np.argmin(np.abs(det - q))] - q))
        inside = det[(det >= ref.min() - TOL) & (det <= ref.max() + TOL)]
        n_det += len(inside)
        n_det_matched += int(sum(np.abs(ref - p).min() <= TOL for p in inside))
    off = np.array(offsets)
    return {"records": len(recs), "reference_qrs": n_ref, "found": n_found,
            "found_pct": 100.0 * n_found / max(n_ref, 1), "detected_in_span": n_det, "detected_matched": n_det_matched,
            "matched_pct": 100.0 * n_det_matched / max(n_det, 1),
            "offset_median": float(np.median(off)) if len(off) else float("nan"),
            "offset_mean": float(off.mean()) if len(off) else float("nan"),
            "within_2_pct": 100.0 * float(np.mean(np.abs(off) <= 2)) if len(off) else float("nan"),
            "within_4_pct": 100.0 * float(np.mean(np.abs(off) <= 4)) if len(off) else float("nan")}


def main(argv=None):
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.normpath(os.path.join(here, "..", "..", "..", "shared", "data")))
    ap.add_argument("--cache", default=os.path.join(here, "cache"))
    a = ap.parse_args(argv)
    if not os.path.isdir(os.path.join(a.data, "ludb")):
        print(f"no LUDB under {a.data}: nothing to check")
        return 0
    m = check(a.data, a.cache)
    print(f"LUDB {m['records']} records: {m['reference_qrs']} QRS marks (lead II), {m['found']} "
          f"({m['found_pct']:.1f} %) with a detected beat within ±{TOL} samples; {m['detected_in_span']} detected beats "
          f"in the annotated spans, {m['detected_matched']} ({m['matched_pct']:.1f} %) on a mark; offsets of the "
          f"matches: median {m['offset_median']:+.0f}, mean {m['offset_mean']:+.2f} samples, {m['within_2_pct']:.1f} % "
          f"within ±2, {m['within_4_pct']:.1f} % within ±4")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
