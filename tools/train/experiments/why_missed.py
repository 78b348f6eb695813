"""Where the out-of-fold decisions lose AF time and S beats: the diagnostics behind docs/rhythm.md ("The P template in
AF", the VT-as-AF paragraph) and docs/experiments/beats/README.md ("Runs that warm up").

    PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/why_missed.py af-evidence --features out/oof2
    PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/why_missed.py af-lost --features out/oof2 \
        --report out/oof2-rhythm.json [--record 203]
    PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/why_missed.py af-false --features DIR --report R.json \
        --split qtdb [--drop p_template]
    PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/why_missed.py s-missed --features out/oof4
    PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/why_missed.py s-warmup --features out/oof4 \
        [--beats-record qtdb/sel16539]

af-evidence: per DS1 record with AF, the median of the window evidence in its AF windows (P likeness to the sinus
template and the others the template story rests on), and the weight of p_template in the 30-s and 10-s models fitted
without each record's fold (validate.fit on that split's training windows).
af-lost: the AF time of one record's held-out fold the shipped decision does not count as AF, by the class decided and the
stream's age, with each lost decision's span, P(AF) of the evidence model and the network's AF posterior (the split's
thresholds from --report, a validate.py --json report).
af-false: for one held-out split, the windows of records without AF whose P(AF) reaches the split's threshold (from
--report; the model fitted as validate.py fits it, without the --drop features), and the median evidence of those
windows per record (heart rate, P-wave presence, template, P likeness, irregularity).
s-missed: per DS1 record with S beats, why each reference S beat is not called S by the exported decisions (the
`decided` column: the C# rule when exported after it shipped), in the order the rule tests: the network's V, the AF gate,
a wide complex unlike the dominant beat, not premature against the local normal RR (rr_pre, rounded to 0.1), a broken
run, not abrupt, no pause or early beat after it.
s-warmup: where rr_rules' sv_runs_accelerate (runs continue on a shorter interval) decides otherwise than sv_runs: the
records and counts, and with --beats-record the beats of that record around each change (RR, reference, both decisions,
P wave and its likeness to the sinus template).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "rhythm"))
from ecgnat import add_data_argument  # noqa: E402
from ecgnat import beats as B  # noqa: E402
from ecgnat import rhythm as R  # noqa: E402
import validate as V  # noqa: E402

AF_RECORDS = {"mitdb-fold1": "201", "mitdb-fold2": "203"}   # the DS1 records with AF, by the fold that holds them out
EVIDENCE = ["p_corr", "p_corr_high", "p_template", "p_present", "irr_clean", "atrial_oi"]
CLASSES = ["sinus", "AF", "noise", "VT"]


def af_evidence(a) -> None:
    w = R.load(a.features, a.data)
    cols = V.columns(w, V.FEATURES)
    for name, train, test in R.splits(w):
        if name not in AF_RECORDS:
            continue
        sel = test & (w.source == "mitdb") & (w.record == AF_RECORDS[name])
        y = w.y[sel]
        cells = []
        for f in EVIDENCE:
            x = w.X[sel][:, w.names.index(f)]
            cells.append(f"{f} {np.nanmedian(x[y == 1]):.2f} (non-AF {np.nanmedian(x[y == 0]) if (y == 0).any() else float('nan'):.2f})")
        m = V.fit(w, train, cols, a.C)
        j = V.FEATURES.index("p_template")
        print(f"mitdb/{AF_RECORDS[name]} ({name}): {int(y.sum())} AF windows; AF medians: " + ", ".join(cells)
              + f"; p_template weight, model without this fold: 30-s {m.long[2][j]:+.2f}, 10-s {m.short[2][j]:+.2f}")


def af_lost(a) -> None:
    w = R.load(a.features, a.data)
    cols = V.columns(w, V.FEATURES)
    split = next(k for k, r in AF_RECORDS.items() if r == a.record)
    with open(a.report) as f:
        kept = json.load(f)["splits"][split]
    for name, train, test in R.splits(w):
        if name != split:
            continue
        m = V.fit(w, train, cols, a.C)
        m.network_below_s = a.network_below_s
        m.t_long, m.t_short = kept["threshold_long"], kept["threshold_short"]
        sel = test & (w.source == "mitdb") & (w.record == a.record)
        ws = w.subset(sel)
        p, t = V.predict(m, w, sel, cols)
        probs = V.probabilities(ws, p, t)
        counted = R.decisions(ws, probs)                   # with the AF episode logic, as the device counts AF time
        decided = np.argmax(R.smoothed(ws, probs), axis=1)   # the class each window decides
        centres = 0.5 * (ws.t0 + ws.t1)
        _, ref = w.ref[("mitdb", a.record)]
        lost = collections.Counter()
        rows = []
        for _, _, s0, s1, af in counted:
            inside = sum(max(0.0, min(s1, e) - max(s0, o)) for o, e in ref)
            if af or inside <= 0:
                continue
            j = int(np.argmin(np.abs(centres - 0.5 * (s0 + s1))))   # the window whose decision covers the span
            c = decided[j]
            age = "young < 15 s" if ws.stream[j] < 15 else ("young 15-25 s" if ws.stream[j] < 25 else "old")
            lost[f"{age}: {CLASSES[int(c)]}"] += inside
            rows.append(f"  {s0:7.1f}-{s1:7.1f} s  decided {CLASSES[int(c)]:5s}  P(AF) evidence "
                        f"{'network' if np.isnan(p[j]) else f'{p[j]:.2f}'}  network AF {ws.N[j][1]:.2f}")
        print(f"mitdb/{a.record} ({split}, thresholds {m.t_long}/{m.t_short}): AF time not counted as AF, s: "
              + ", ".join(f"{k} {v:.1f}" for k, v in lost.most_common()) + f"; total {sum(lost.values()):.1f}")
        print("\n".join(rows))


def af_false(a) -> None:
    drop = {x for x in (a.drop or "").split(",") if x}
    V.FEATURES = [f for f in V.FEATURES if f not in drop]
    w = R.load(a.features, a.data)
    cols = V.columns(w, V.FEATURES)
    with open(a.report) as f:
        kept = json.load(f)["splits"][a.split]
    for name, train, test in R.splits(w):
        if name != a.split:
            continue
        m = V.fit(w, train, cols, a.C)
        m.network_below_s = a.network_below_s
        m.t_long, m.t_short = kept["threshold_long"], kept["threshold_short"]
        p, t = V.predict(m, w, test, cols)
        ws = w.subset(test)
        no_af = np.array([not w.ref[(s_, r)][1] for s_, r in zip(ws.source, ws.record)])
        hit = no_af & (p >= t)
        for rec in sorted(set(ws.record[hit])):
            sel = hit & (ws.record == rec)
            print(f"{a.split}/{rec}: {int(sel.sum())} windows at P(AF) >= threshold; medians: " + ", ".join(
                f"{n} {np.nanmedian(ws.X[sel, w.names.index(n)]):.2f}"
                for n in ("hr", "p_present", "p_template", "p_corr", "irr_clean", "ectopic")))


def s_missed(a) -> None:
    b = B.load(a.features, a.data)
    col = b.names.index
    for key in sorted(dict.fromkeys(zip(b.source, b.record))):
        if key[0] != "mitdb":
            continue
        m = np.where((b.source == key[0]) & (b.record == key[1]))[0]
        m = m[np.argsort(b.sample[m])]
        ref, dec = b.ref[m], b.decided[m]
        if not (ref == "S").any():
            continue
        t = b.sample[m] / b.fs[key]
        why = collections.Counter()
        for j in np.where(ref == "S")[0]:
            i = m[j]
            x = lambda n: b.X[i, col(n)]  # noqa: E731
            if dec[j] == "S":
                why["found"] += 1
            elif dec[j] == "V":
                why["V (network)"] += 1
            elif x("af_context") >= 0.5:
                why["AF gate"] += 1
            elif x("qrs_dominant") < 0.5 and x("qrs_width_ratio") >= 2:
                why["wide"] += 1
            elif j < 2:
                why["stream start"] += 1
            elif x("rr_pre") >= 0.85:
                why[f"not premature (rr_pre {round(x('rr_pre') * 10) / 10:.1f})"] += 1
            elif dec[j - 1] == "S":
                why["run broken"] += 1
            elif t[j] - t[j - 1] >= 0.85 * (t[j - 1] - t[j - 2]):
                why["not abrupt"] += 1
            else:
                why["no pause or early beat after"] += 1
        print(f"mitdb/{key[1]}: {int((ref == 'S').sum())} S beats: " + ", ".join(f"{k} {v}" for k, v in why.most_common()))


def s_warmup(a) -> None:
    import importlib
    rr_rules = importlib.import_module("beats.rr_rules")
    b = B.load(a.features, a.data)
    col = b.names.index
    network = np.array(["N", "S", "V", "F", "Q"])[np.argmax(b.X[:, [col(n) for n in B.NET]], axis=1)]
    old, new = rr_rules.sv_runs(b, network), rr_rules.sv_runs(b, network, accelerate=True)
    _, ro = B.score(b, old, per_record=True)
    _, rn = B.score(b, new, per_record=True)
    for k in ro:
        x, y = ro[k]["sveb"], rn[k]["sveb"]
        if (x.tp, x.fp) != (y.tp, y.fp):
            print(f"{k[0]}/{k[1]}: S found {x.tp} -> {y.tp}, false S {x.fp} -> {y.fp}")
    if not a.beats_record:
        return
    src, rec = a.beats_record.split("/")
    m = np.where((b.source == src) & (b.record == rec))[0]
    m = m[np.argsort(b.sample[m])]
    t = b.sample[m] / b.fs[(src, rec)]
    for j in np.where(old[m] != new[m])[0]:
        print(f"-- {t[j]:.2f} s")
        for q in range(max(1, j - 2), min(len(m), j + 2)):
            i = m[q]
            print(f"  {t[q]:8.2f} s  RR {t[q] - t[q - 1]:.3f} s  reference {b.ref[i] or '-'}  sv_runs {old[i]}  accelerate {new[i]}"
                  f"  P {int(b.X[i, col('p_present')])}  P likeness {b.X[i, col('p_corr')]:.2f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["af-evidence", "af-lost", "af-false", "s-missed", "s-warmup"])
    ap.add_argument("--features", required=True)
    add_data_argument(ap)
    ap.add_argument("--report", help="af-lost: the validate.py --json report whose split thresholds apply")
    ap.add_argument("--record", default="203", choices=sorted(AF_RECORDS.values()))
    ap.add_argument("--network-below-s", type=float, default=15.0, help="af-lost: as the shipped manifest (0.3.1)")
    ap.add_argument("--split", default="qtdb", help="af-false: the held-out split (a key of the report's splits)")
    ap.add_argument("--drop", help="af-false: features left out of the fusion, as p_template_variants.py --drop")
    ap.add_argument("--beats-record", help="s-warmup: SOURCE/RECORD whose changed beats are listed")
    ap.add_argument("--C", type=float, default=1.0)
    a = ap.parse_args(argv)
    if a.what in ("af-lost", "af-false") and not a.report:
        ap.error(f"{a.what} needs --report")
    {"af-evidence": af_evidence, "af-lost": af_lost, "af-false": af_false, "s-missed": s_missed, "s-warmup": s_warmup}[a.what](a)


if __name__ == "__main__":
    main()
