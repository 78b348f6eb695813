"""Experiment (not shipped): patient-relative S rules on the device's beat evidence, against the network and the
textbook RR rule, on every labelled beat source (docs/experiments/beats/README.md).

    PYTHONPATH=tools/train /usr/bin/python3 tools/train/beats/rr_rules.py --features out/oof [--json F] [--markdown]
        [--compare BASE NEW [--against out/oof-other]]

The rules have no fitted parameters; their thresholds are clinical round numbers, but the variants were compared on
these same sources, so the table is a comparison, not an out-of-sample estimate. V comes from the network in every row.

- textbook: S if RRpre < 0.85 x mean of the last 16 RR and RRpost / RRpre > 1.1 (the issue's rule).
- nn_run: the same prematurity against the mean of the last 16 normal-to-normal intervals (both beats called N), only
  for a QRS like the patient's dominant beat (qrs_corr > 0.8), only when the interval shortens abruptly (RRpre < 0.85 x
  the previous interval: sinus arrhythmia changes gradually), with a pause after it or a premature beat after it (the
  first of a run); inside a run a beat stays S while its RR is within 12 % of the previous one and still premature.
- nn_run_af: nn_run, and no S where the rhythm decision of the beat's window says AF (af_context >= 0.5).
- sv_runs (ships: SupraventricularRule in C#, default since 2026-12-07): nn_run_af with two changes — the QRS test
  excludes only a wide complex unlike the dominant beat (outside the dominant cluster and >= 2x as wide) instead of
  requiring correlation > 0.8 (noise lowers the correlation of supraventricular beats too), and a run does not continue
  through a beat whose P wave is the patient's sinus P (present, template correlation >= 0.9: sinus acceleration).
- sv_runs_accelerate (experiment, 2026-12-07, not shipped): sv_runs, and a run also continues on a shorter interval (the
  warm-up of an atrial tachycardia broke 209's runs at the 12 % tolerance).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from ecgnat import beats as B  # noqa: E402


def _runs(b: B.Beats, network: np.ndarray, qrs_ok: np.ndarray, run_stop: np.ndarray | None = None, premature=0.85,
          abrupt=0.85, post=1.1, run_tol=0.12, accelerate=False) -> np.ndarray:
    """The run rule shared by nn_run and sv_runs: V from the network; S for a beat whose QRS passes qrs_ok and that comes
    early against the mean of the last 16 normal-to-normal intervals, opening a run (abrupt shortening, then a pause or
    another early beat) or continuing one (RR within run_tol of the previous; not through a beat marked run_stop).
    accelerate (experiment, not shipped): a run also continues on a shorter interval (an ectopic atrial tachycardia
    warms up over its first beats), and a beat that does not continue a run may still open one."""
    out = np.where(network == "V", "V", "N").astype(object)
    for key in dict.fromkeys(zip(b.source, b.record)):
        m = np.where((b.source == key[0]) & (b.record == key[1]))[0]
        m = m[np.argsort(b.sample[m])]
        t = b.sample[m] / b.fs[key]
        nn: list[float] = []
        for j in range(2, len(m) - 1):
            i = m[j]
            pre, po, prev = t[j] - t[j - 1], t[j + 1] - t[j], t[j - 1] - t[j - 2]
            ref = np.mean(nn[-16:]) if len(nn) >= 4 else None
            if ref is not None and out[i] != "V" and qrs_ok[i] and pre < premature * ref:
                continues = out[m[j - 1]] == "S" and (abs(pre - prev) < run_tol * prev or (accelerate and pre < prev))
                if continues and (run_stop is None or not run_stop[i]):
                    out[i] = "S"
                elif (accelerate or not continues) and pre < abrupt * prev and (po / pre > post or po < premature * ref):
                    out[i] = "S"
            if out[i] == "N" and out[m[j - 1]] == "N":
                nn.append(pre)
    return out


def nn_run(b: B.Beats, network: np.ndarray, qrs_corr=0.8, **kw) -> np.ndarray:
    return _runs(b, network, b.X[:, b.names.index("qrs_corr")] > qrs_corr, **kw)


def sv_runs(b: B.Beats, network: np.ndarray, wide_ratio=2.0, sinus_p=0.9, af_gate=0.5, **kw) -> np.ndarray:
    """The shipped beat decision (C# SupraventricularRule): V from the network, S by prematurity and runs, N otherwise.
    (The device reports the network's F or Q where this gives N; SVEB and VEB are the same either way.)"""
    col = b.names.index
    wide = (b.X[:, col("qrs_dominant")] < 0.5) & (b.X[:, col("qrs_width_ratio")] >= wide_ratio)
    sinus = (b.X[:, col("p_present")] >= 0.5) & (b.X[:, col("p_template")] >= 0.5) & (b.X[:, col("p_corr")] >= sinus_p)
    out = _runs(b, network, ~wide, sinus, **kw)
    out[(out == "S") & (b.X[:, col("af_context")] >= af_gate)] = "N"
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    B.add_table_arguments(ap)
    ap.add_argument("--compare", nargs=2, metavar=("BASE", "NEW"),
                    help="two rows of the table (or decided: the exporting device's own calls): per source, NEW − BASE "
                         "SVEB and VEB F1 with 95 %% record-bootstrap intervals")
    ap.add_argument("--against", metavar="FEATURES",
                    help="with --compare: NEW is computed on these features (another run's export_oof.py output, e.g. "
                         "fold networks trained otherwise), BASE on --features; records in both are paired")
    a = ap.parse_args(argv)
    if a.against and not a.compare:
        ap.error("--against needs --compare")
    b = B.load(a.features, a.data)
    rows = table_rows(b)
    report = {}
    for name, called in rows.items():
        sc = B.score(b, called)
        report[name] = {s: {k: v.as_dict() for k, v in sc[s].items()} for s in B.SOURCES if s in sc}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    B.print_table(report, "sveb", a.markdown)
    if a.compare:
        b_new = B.load(a.against, a.data) if a.against else b
        rows_new = table_rows(b_new) if a.against else rows
        compare(b, rows[a.compare[0]], rows_new[a.compare[1]], a.compare, b_new)


def table_rows(b: B.Beats) -> dict:
    """{row name: per-beat calls}: the network, the rules of the table, and decided (the exporting device's calls)."""
    network = np.array(["N", "S", "V", "F", "Q"])[np.argmax(b.X[:, [b.names.index(n) for n in B.NET]], axis=1)]
    af = b.X[:, b.names.index("af_context")]
    rows = {"network": network, "textbook": B.rr_rule(b, network), "nn_run": nn_run(b, network)}
    gated = rows["nn_run"].copy()
    gated[(gated == "S") & (af >= 0.5)] = "N"
    rows["nn_run_af"] = gated
    rows["sv_runs"] = sv_runs(b, network)
    rows["sv_runs_accelerate"] = sv_runs(b, network, accelerate=True)
    rows["decided"] = b.decided
    return rows


def class_f1(t: np.ndarray, idx: np.ndarray | None = None) -> tuple[float, float]:
    """(SVEB F1, VEB F1) in % from per-record rows [S tp, fn, fp, V tp, fn, fp] (the records `idx`, all when None)."""
    s = (t if idx is None else t[idx]).sum(axis=0)
    f1 = [200 * tp / (2 * tp + fn + fp) if 2 * tp + fn + fp > 0 else np.nan for tp, fn, fp in (s[:3], s[3:])]
    return f1[0], f1[1]


def compare(b: B.Beats, base: np.ndarray, new: np.ndarray, names, b_new: B.Beats | None = None) -> None:
    """Per source: NEW − BASE SVEB and VEB F1 with a paired record bootstrap (compare_designs.paired_bootstrap); NEW's
    calls are of b_new's beats when given (another run's export), over the records both hold."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from experiments.compare_designs import paired_bootstrap
    _, rb = B.score(b, base, per_record=True)
    _, rn = B.score(b if b_new is None else b_new, new, per_record=True)
    print(f"\n{names[1]} - {names[0]}: F1 difference (points) [95 % record-bootstrap interval]")
    for src in B.SOURCES:
        keys = [k for k in rb if k[0] == src and k in rn]
        if not keys:
            continue
        rows = lambda r: np.array([[r[k]["sveb"].tp, r[k]["sveb"].fn, r[k]["sveb"].fp,  # noqa: E731
                                    r[k]["veb"].tp, r[k]["veb"].fn, r[k]["veb"].fp] for k in keys], dtype=np.float64)
        res = paired_bootstrap(rows(rb), rows(rn), score=class_f1, names=("sveb", "veb"))
        cell = lambda x: "-" if x["diff"] is None else f"{x['diff']:+.1f} [{x['lo']:+.1f}, {x['hi']:+.1f}]"  # noqa: E731
        print(f"{src:10s} {len(keys):4d} records  SVEB {cell(res['sveb']):24s} VEB {cell(res['veb'])}")

if __name__ == "__main__":
    main()
