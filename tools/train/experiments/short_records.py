#!/usr/bin/env python3
"""Short single-recording AF classification (the CinC-2017 style task: is this 30-s recording AF?) from long records,
out of fold, and who should decide the windows of a young stream.

A device (or `ecgedge analyze`) given a 30-s recording decides its first windows on a stream younger than
rhythm_fusion.below_s (25 s): 0.3.0 leaves those to the network's own posterior, which is where most false AF of short
recordings comes from. No CinC-2017 data is here, so 30-s excerpts of every long labelled source are analysed as separate
recordings: `ecgedge analyze --from 30k --to 30k+30` restarts the stream for each excerpt, exactly as a 30-s file
would. MIT-BIH DS1, the noise stress records and CPSC 2021 are analysed by the fold networks of the shipped recipe (each
record by the network that did not train on it, as export_oof.py does); QTDB and the AF Termination DB by the shipped
network (never trained on them).

  export:   PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/short_records.py export \
                --work tools/train/runs/oof --out out/short
  evaluate: PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/short_records.py evaluate \
                --features out/oof --short out/short [--json FILE]
  agree:    PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/short_records.py agree --out DIR
            (C# and Python decide the same: `ecgedge analyze` with the shipped manifest on 30-s excerpts of CPSC 2021 and
            MIT-BIH vs the manifest's fusion applied in Python to the features of the same run; AF seconds per excerpt)

evaluate: for each held-out source (leave-one-database-out, the same splits and fits as rhythm/validate.py on the
long-record features), every excerpt of that source is decided by the device's logic (3-window smoothing, AF episode
logic) with the young windows decided by each policy below; an excerpt is AF when reference AF covers at least half of
it, non-AF when none of it (others are left out), and called AF when any of its time is decided AF. Reported per source
and policy: excerpts, Se, +P, F1 of the AF class, and the share of non-AF excerpts called AF.
Policies for windows of a young stream (older ones are always the fusion):
  network  - the network's posterior (0.3.0, shipped)
  short    - the 10-s evidence model alone (its own threshold)
  both     - AF only where the network and the 10-s evidence model both say AF
  shortN   - the network below N s (so a 10-s record keeps the network's decision), the 10-s evidence model from N s
  none     - never AF while young (a lower bound on false AF; Se only from the windows at >= 25 s)
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
sys.path.insert(0, os.path.join(ROOT, "tools", "train", "rhythm"))

from ecgnat import add_data_argument  # noqa: E402
from ecgnat import data as D  # noqa: E402
from ecgnat import rhythm as R  # noqa: E402
from ecgnat import wfdb  # noqa: E402

EXCERPT_S = 30.0
POLICIES = ("network", "short", "short15", "short20", "both", "none")
EXE = os.path.join(ROOT, "src", "EcgEdge", "bin", "Release", "net10.0", "ecgedge")


def duration_s(path: str) -> float:
    h = wfdb.read_header(path)
    return h.nsamp / h.fs


def export(a) -> None:
    os.makedirs(a.out, exist_ok=True)
    groups: dict = {}
    for spec in D.catalogue(a.data):
        if spec.dataset not in ("mitdb", "nstdb", "cpsc2021"):
            continue                      # 10-s sources are short recordings already (rhythm/validate.py scores them)
        if spec.fold < 0 and spec.group != "nst":
            continue
        fold = spec.fold if spec.fold >= 0 else D.fold_of_ds1(118)
        man = os.path.join(a.work, "cv_onnx", f"fold{fold}", "ecg-nat.manifest.json")
        groups.setdefault((spec.dataset, fold, os.path.dirname(spec.path), spec.mains, man), []).append(spec.path)
    shipped = os.path.join(ROOT, "models", "ecg-nat.manifest.json")
    for sub, mains, pick in (("qtdb", 50, lambda n: n.startswith("sele")), ("qtdb", 60, lambda n: not n.startswith("sele"))):
        folder = os.path.join(a.data, sub)
        recs = sorted(os.path.join(folder, f[:-4]) for f in os.listdir(folder) if f.endswith(".hea") and pick(f))
        recs = [r for r in recs if os.path.exists(r + ".atr")]
        groups[("qtdb", 0, folder, float(mains), shipped)] = recs
    for part in ("learning-set", "test-set-a", "test-set-b"):
        folder = os.path.join(a.data, "aftdb", part)
        if os.path.isdir(folder):
            groups[("aftdb", 0, folder, 60.0, shipped)] = sorted(os.path.join(folder, f[:-4]) for f in os.listdir(folder) if f.endswith(".hea"))
    for (source, fold, folder, mains, man), paths in sorted(groups.items()):
        durs = {os.path.basename(p): duration_s(p) for p in paths}
        k_max = int(max(durs.values()) // EXCERPT_S)
        tag = os.path.basename(folder) if source == "aftdb" else ""
        for k in range(k_max):
            recs = [r for r, d in durs.items() if d >= (k + 1) * EXCERPT_S]
            name = f"{source}-fold{fold}-{int(mains)}{'-' + tag if tag else ''}-x{k:03d}"
            out = os.path.join(a.out, name + ".csv")
            if os.path.exists(out) and not a.force:
                continue
            r = subprocess.run([EXE, "analyze", "--db", folder, "--records", ",".join(recs), "--mains", str(int(mains)),
                                "--model", man, "--jobs", a.jobs, "--quiet", "--from", str(k * EXCERPT_S),
                                "--to", str((k + 1) * EXCERPT_S), "--rhythm-features", out], capture_output=True, text=True)
            if r.returncode not in (0, 1):
                sys.exit(f"ecgedge analyze failed ({r.returncode}) for {name}: {r.stderr[-2000:]}")
        print(f"short_records: {source} fold {fold} mains {mains}: {k_max} excerpts of {len(paths)} records", file=sys.stderr)


def load_excerpts(short_dir: str, data_root: str) -> R.Windows:
    """The excerpt CSVs as Windows whose record names carry the excerpt (RECORD@K) and whose reference is clipped to it."""
    w = R.load(short_dir, data_root)
    k = np.floor((w.t0 + 1e-6) / EXCERPT_S).astype(int)
    rec = np.array([f"{r}@{x}" for r, x in zip(w.record, k)])
    ref = {}
    for (s, r), x in zip(zip(w.source, w.record), k):
        key = (s, f"{r}@{x}")
        if key in ref:
            continue
        _, intervals = w.ref[(s, r)]
        lo, hi = x * EXCERPT_S, (x + 1) * EXCERPT_S
        ref[key] = (EXCERPT_S, [(max(a, lo), min(b, hi)) for a, b in intervals if min(b, hi) > max(a, lo)])
    return R.Windows(w.names, w.X, w.Xs, w.stream, w.N, w.P, w.y, w.source, rec, w.t0, w.t1, ref)


def record_level(ws: R.Windows, decs) -> dict:
    called: dict = {}
    for s, r, a, b, af in decs:
        called[(s, r)] = called.get((s, r), 0.0) + ((b - a) if af else 0.0)
    tp = fn = fp = tn = 0
    for key, (dur, ref) in ws.ref.items():
        if key not in called:
            continue
        cover = sum(b - a for a, b in ref)
        truth = 1 if 2 * cover >= dur else (0 if cover == 0 else None)
        if truth is None:
            continue
        hit = bool(called[key] > 0)
        tp += truth and hit
        fn += truth and not hit
        fp += (not truth) and hit
        tn += (not truth) and not hit
    se = tp / (tp + fn) if tp + fn else float("nan")
    ppv = tp / (tp + fp) if tp + fp else float("nan")
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else (0.0 if fp + fn else float("nan"))
    return {"af": tp + fn, "non_af": fp + tn, "tp": tp, "fn": fn, "fp": fp, "se": _r(100 * se), "ppv": _r(100 * ppv),
            "f1": _r(f1, 3), "false_af_pct_of_non_af": _r(100 * fp / (fp + tn)) if fp + tn else None}


def _r(x, d=1):
    return None if x != x else round(float(x), d)


def evaluate(a) -> None:
    import validate as V
    w = R.load(a.features, a.data)
    ex = load_excerpts(a.short, a.data)
    cols = V.columns(w, V.FEATURES)
    tested = ~((w.source == "mitdb") & np.isin(w.record, list(V.PACED)))
    ex_tested = ~((ex.source == "mitdb") & np.isin([r.split("@")[0] for r in ex.record], list(V.PACED)))
    report = {"excerpt_s": EXCERPT_S, "splits": {}}
    for name, train, _ in R.splits(w):
        held = name.split("-fold")[0] if "-fold" in name else name
        if held not in set(ex.source):
            continue
        if name.startswith("mitdb-fold"):
            fold = int(name.split("fold")[1])
            recs = {str(r) for r in D.DS1 if D.fold_of_ds1(r) == fold}
            test = ex_tested & (ex.source == "mitdb") & np.isin([r.split("@")[0] for r in ex.record], list(recs))
        else:
            test = ex_tested & (ex.source == held)
        if not test.any() or len(np.unique(w.y[train])) < 2:
            continue
        m = V.fit(w, train & tested, cols, a.C)
        es = ex.subset(test)
        ps = R.predict(m.short, es.Xs[:, cols])
        p_old = 0.5 * (ps + R.predict(m.long, es.X[:, cols]))
        young = es.stream < V.SHORT_BELOW_S
        rows, thresholds = {}, {}
        for policy in POLICIES:
            below = {"network": V.SHORT_BELOW_S, "short": 0.0, "both": 0.0, "none": V.SHORT_BELOW_S}.get(policy)
            below = float(policy[5:]) if below is None else below
            # the thresholds are chosen for the policy, as rhythm/validate.py chooses them (nested, out of source)
            t_long, t_short = V.choose_thresholds(w, train & tested, cols, a.C, network_below_s=below)
            thresholds[policy] = [t_long, t_short]
            if policy == "both":
                net_af = es.N[:, 1] >= es.N[:, 0]
                p = np.where(young, np.where(net_af & (ps >= t_short), ps, 0.0), p_old)
            elif policy == "none":
                p = np.where(young, 0.0, p_old)
            else:
                p = np.where(young, np.where(es.stream < below, np.nan, ps), p_old)
            t = np.where(young, t_short, t_long)
            rows[policy] = record_level(es, R.decisions(es, V.probabilities(es, p, t)))
        report["splits"][name] = {"thresholds": thresholds, **rows}
        print(f"{name:12s} " + " | ".join(f"{k} Se {v['se']} +P {v['ppv']} F1 {v['f1']} fa {v['false_af_pct_of_non_af']}% (AF {v['af']}, non {v['non_af']})"
                                            for k, v in rows.items()))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)


def agree(a) -> None:
    import validate as V
    man = json.load(open(os.path.join(ROOT, "models", "ecg-nat.manifest.json")))["rhythm_fusion"]

    def model(e):
        return np.array(e["mean"]), np.array(e["scale"]), np.array(e["weights"]), e["bias"]

    lm, sm = model(man["long"]), model(man["short"])
    os.makedirs(os.path.join(a.out, "f"), exist_ok=True)
    runs = (("cpsc2021", os.path.join(a.data, "cpsc2021-sample"), 50, None, 0),
            ("mitdb", os.path.join(a.data, "mitdb"), 60, "201,203,106,119,208,233,210,221,222", 900))
    for src, db, mains, recs, off in runs:
        for k in range(6):
            lo = off + k * EXCERPT_S
            cmd = [EXE, "analyze", "--db", db, "--mains", str(mains), "--from", str(lo), "--to", str(lo + EXCERPT_S), "--quiet",
                   "--json", os.path.join(a.out, f"{src}-{k}.json"), "--rhythm-features", os.path.join(a.out, "f", f"{src}-x{k}.csv")]
            subprocess.run(cmd + (["--records", recs] if recs else []), capture_output=True, check=False)
    w = R.load(os.path.join(a.out, "f"), a.data)
    cols = V.columns(w, man["long"]["features"])
    diffs, called = [], 0
    for src, _, _, _, off in runs:
        for k in range(6):
            m = (w.source == src) & (w.t0 >= off + EXCERPT_S * k - 1e-6) & (w.t1 <= off + EXCERPT_S * (k + 1) + 1e-6)
            if not m.any():
                continue
            ws = w.subset(m)
            ws = R.Windows(ws.names, ws.X, ws.Xs, ws.stream, ws.N, ws.P, ws.y, ws.source,
                           np.array([f"{r}@{k}" for r in ws.record]), ws.t0, ws.t1,
                           {(src, f"{r}@{k}"): (EXCERPT_S, []) for r in set(ws.record)})
            ps, pl = R.predict(sm, ws.Xs[:, cols]), R.predict(lm, ws.X[:, cols])
            nb = man["below_s"] if man.get("young") == "network" else man.get("network_below_s", 0.0)
            p = np.where(ws.stream < nb, np.nan, np.where(ws.stream < man["below_s"], ps, 0.5 * (ps + pl)))
            t = np.where(ws.stream < man["below_s"], man["short_threshold"], man["threshold"])
            py: dict = {}
            for _, r, x0, x1, af in R.decisions(ws, V.probabilities(ws, p, t)):
                py[r] = py.get(r, 0.0) + ((x1 - x0) if af else 0.0)
            with open(os.path.join(a.out, f"{src}-{k}.json")) as f:
                cs = {f"{x['record']}@{k}": x["burden"]["af"] * x["duration_s"] / 100 for x in json.load(f)["records"]}
            for r, v in py.items():
                diffs.append(abs(v - cs.get(r, float("nan"))))
                called += v > 0
    print(f"agree: {len(diffs)} excerpts ({called} with AF); |Python - C#| AF seconds per excerpt: max {max(diffs):.2f}, "
          f"mean {float(np.mean(diffs)):.3f}")
    if not max(diffs) <= EXCERPT_S / 6:     # one 5-s decision
        sys.exit("agree: C# and Python differ by more than one decision")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=["export", "evaluate", "agree"])
    add_data_argument(ap)
    ap.add_argument("--work", help="export: the CV run whose fold networks analyse the records (export_oof.py's --work)")
    ap.add_argument("--out", help="export: where the excerpt CSVs go")
    ap.add_argument("--jobs", default="2")
    ap.add_argument("--force", action="store_true", help="export: redo excerpts already written")
    ap.add_argument("--features", help="evaluate: the long-record features (export_oof.py's --out)")
    ap.add_argument("--short", help="evaluate: the excerpt CSVs")
    ap.add_argument("--json")
    ap.add_argument("--C", type=float, default=1.0)
    a = ap.parse_args(argv)
    if a.step == "agree":
        if not a.out:
            ap.error("agree needs --out")
        agree(a)
    elif a.step == "export":
        if not (a.work and a.out):
            ap.error("export needs --work and --out")
        export(a)
    else:
        if not (a.features and a.short):
            ap.error("evaluate needs --features and --short")
        evaluate(a)


if __name__ == "__main__":
    main()
