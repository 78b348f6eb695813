#!/usr/bin/env python3
"""The device's beat and alarm figures out of fold, through `ecgedge eval` (C#, EC57), per source and per record, for
settings side by side — the tables of docs/events.md ("VT from the QRS against the patient's dominant beat") and
docs/experiments/beats/README.md ("The rule that ships").

    PYTHONPATH=tools/train /usr/bin/python3 tools/train/experiments/oof_eval.py --work tools/train/runs/oof --out DIR
        [--data ../shared/data] [--setting NAME=KEY=VALUE,KEY=VALUE ...]

Every record of MIT-BIH DS1, the noise-stress 118e* and the CPSC 2021 sample is evaluated by the CV fold network that
did not train on it (export_oof.fold_groups; the fold manifests are rewritten from the shipped one and signed with the
test key, as export_oof.py does); QTDB and the AF Termination DB, which the network never trains on, by the shipped
model — QTDB by its fold networks when --work was trained with it (train.sh --qtdb-beats) or with --qtdb-by-fold. Settings are configuration keys given to every run; the defaults compare the device before issue 26/27's rules
(`before`: the network's beat classes, the network's V alone for VT) with what ships (`shipped`: no key).
MIT-BIH and NST beats are scored from 300 s (EC57), the other sources from 0 s.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
sys.path.insert(0, os.path.join(ROOT, "tools", "train", "rhythm"))

DEFAULT_SETTINGS = ["before=Inference:SupraventricularRule=false,Events:VtWideQrsRatio=0", "shipped="]
SOURCES = ["mitdb", "nstdb", "cpsc2021", "qtdb", "aftdb"]


def runs(a, fold_manifest, fold_groups, qtdb_by_fold=False):
    """(source, name, eval arguments) of every run of one setting."""
    out = []
    for (fold, source, folder, mains), recs in sorted(fold_groups(a.data, qtdb_by_fold).items()):
        if source not in ("mitdb", "nstdb", "cpsc2021", "qtdb"):
            continue                      # the 10-s sources have no beat or rhythm annotations to score
        with contextlib.redirect_stdout(sys.stderr):      # the signing log is not part of the tables
            man = fold_manifest(os.path.join(a.work, "cv_onnx", f"fold{fold}"), fold, a.sign_key, a.sign_password_env, data=a.data)
        frm = "300" if source in ("mitdb", "nstdb") else "0"
        out.append((source, f"{source}-fold{fold}-{int(mains)}",
                    ["--db", folder, "--records", ",".join(recs), "--mains", str(int(mains)), "--from", frm, "--model", man]))
    if not qtdb_by_fold:
        out.append(("qtdb", "qtdb", ["--db", os.path.join(a.data, "qtdb"), "--mains", "60", "--from", "0"]))
    for part in ("learning-set", "test-set-a", "test-set-b"):
        out.append(("aftdb", f"aftdb-{part}", ["--db", os.path.join(a.data, "aftdb", part), "--annotator", "qrs", "--mains", "50",
                                               "--from", "0"]))
    return out


def add(total, x, keys):
    for k in keys:
        total[k] = total.get(k, 0) + (x.get(k) or 0)


def summarise(results):
    """{source: {"veb": tp/fn/fp, "sveb": ..., "vt": episodes, "alarms": {type: count/false/hours}}} pooled over runs."""
    out = {}
    for source, d in results:
        s = out.setdefault(source, {"veb": {}, "sveb": {}, "vt": {}, "alarms": {}})
        for rec in d["records"]:
            for cls in ("veb", "sveb"):
                if rec.get(cls):
                    add(s[cls], rec[cls], ("tp", "fn", "fp"))
            e = (rec.get("episodes") or {}).get("vt") or {}
            add(s["vt"], e, ("reference_episodes", "detected", "reference_episodes_min10s"))
            if e.get("reference_episodes_min10s"):
                s["vt"]["detected_min10s"] = s["vt"].get("detected_min10s", 0) + round(e["se_min10s"] * e["reference_episodes_min10s"] / 100)
            for t, al in (rec.get("alarms") or {}).items():
                add(s["alarms"].setdefault(t, {}), al, ("count", "false", "hours_outside_reference"))
    return out


def se_ppv(c):
    tp, fn, fp = c.get("tp", 0), c.get("fn", 0), c.get("fp", 0)
    se = f"{100 * tp / (tp + fn):.1f}" if tp + fn else "–"
    pp = f"{100 * tp / (tp + fp):.1f}" if tp + fp else "–"
    return f"{se} / {pp}"


def with_false(c):
    return f"{se_ppv(c)} ({c.get('fp', 0)} false)"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    from export_oof import add_run_arguments, fold_groups
    add_run_arguments(ap)
    ap.add_argument("--setting", action="append", help="NAME=KEY=VALUE,KEY=VALUE (repeatable; default: %s)" % " and ".join(DEFAULT_SETTINGS))
    a = ap.parse_args(argv)
    from ecgnat import signing
    signing.check_arguments(ap, a)
    from compare_cs import fold_manifest
    settings = []
    for s in a.setting or DEFAULT_SETTINGS:
        name, _, keys = s.partition("=")
        settings.append((name, [f"--{k}" for k in keys.split(",") if k]))
    os.makedirs(a.out, exist_ok=True)
    from ecgnat import data as D
    plan = runs(a, fold_manifest, fold_groups, D.qtdb_in_run(a.work) or a.qtdb_by_fold)
    summary, per_record = {}, {}
    for name, keys in settings:
        results = []
        for source, run, args in plan:
            path = os.path.join(a.out, f"{name}-{run}.json")
            r = subprocess.run([a.ecgedge, "eval", *args, "--json", path, "--jobs", a.jobs, "--quiet", *keys], capture_output=True, text=True)
            if r.returncode not in (0, 1):
                sys.exit(f"ecgedge eval failed ({r.returncode}) for {run}: {r.stderr[-2000:]}")
            d = json.load(open(path))
            results.append((source, d))
            for rec in d["records"]:
                per_record.setdefault((source, rec["record"]), {})[name] = rec
        summary[name] = summarise(results)
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)

    names = [n for n, _ in settings]
    print("| source | setting | VEB Se / +P (false V) | SVEB Se / +P (false S) | VT episodes (≥ 10 s) | detected (≥ 10 s) | VT alarms | false VT (/h) | VF alarms | false VF |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for source in SOURCES:
        for n in names:
            s = summary[n].get(source)
            if s is None:
                continue
            vt, al = s["vt"], s["alarms"]
            vta, vfa = al.get("VentricularTachycardia", {}), al.get("VentricularFibrillation", {})
            h = vta.get("hours_outside_reference", 0)
            print(f"| {source} | {n} | {with_false(s['veb'])} | {with_false(s['sveb'])} | {vt.get('reference_episodes', 0)} "
                  f"({vt.get('reference_episodes_min10s', 0)}) | {vt.get('detected', 0)} ({vt.get('detected_min10s', 0)}) | "
                  f"{vta.get('count', 0)} | {vta.get('false', 0)} ({vta.get('false', 0) / h if h else 0:.2f}) | "
                  f"{vfa.get('count', 0)} | {vfa.get('false', 0)} |")
    print()
    print("| record | " + " | ".join(f"{n}: VEB / SVEB Se / +P, VT alarms (false)" for n in names) + " |")
    print("|---|" + "---|" * len(names))
    for (source, rec), by in sorted(per_record.items()):
        cells = []
        interesting = False
        for n in names:
            r = by.get(n, {})
            vt = (r.get("alarms") or {}).get("VentricularTachycardia", {})
            counts = [(r.get(c) or {}) for c in ("veb", "sveb")]
            # records with reference V or S beats, or a VT alarm (AFTDB's all-N references are in the source table)
            interesting |= any(c.get("tp", 0) + c.get("fn", 0) for c in counts) or bool(vt.get("count"))
            cells.append(f"{se_ppv(counts[0])}; {se_ppv(counts[1])}; {vt.get('count', 0)} ({vt.get('false', 0)})")
        if interesting:
            print(f"| {source}/{rec} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
