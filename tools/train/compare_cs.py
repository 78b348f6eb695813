#!/usr/bin/env python3
"""Cross-check: the C# device pipeline (`ecgedge eval`) against the Python evaluation of the same fold models.

For each record-wise CV fold of the model card (run `full`, pretrained, 100 % labels), this writes a manifest beside the
fold's ONNX files (same contract as models/ecg-nat.manifest.json, the fold files' sha256 and size), runs
`ecgedge eval --records <the fold's test records> --from 0 --mains 60 --model <fold int8|fp32>` and compares, record by
record and pooled, with the Python figures stored by the CV stage (results/cv_pretrained_1_fold<k>.json, `per_record`
= PyTorch fp32, `per_record_int8` = the int8 graph simulated in numpy).

Both sides use the same definitions here (the model card's): VEB/SVEB Se = V→V / reference V, +P = V→V / beats called V
(any reference class), over beats; AF = windows on the 10-s/5-s grid, reference label by majority. The Python side
classifies the reference beats at their annotated positions; the C# side classifies the beats its QRS detector found
(missed beats are not classified, extra detections are) — so the C# figure is computed on the matched beats and the
EC57 figures (which also count missed and extra beats) are printed beside it.

The fold manifests are signed with --sign-key (default: the published test key, which the device trusts by default:
these are workstation experiments, never released models), because the device refuses an unsigned manifest.

Usage: /usr/bin/python3 tools/train/compare_cs.py [--work tools/train/runs/full] [--db ../shared/data/mitdb]
       [--ecgedge src/EcgEdge/bin/Release/net10.0/ecgedge] [--folds 0,1,2,3,4] [--out DIR] [--sign-key KEY.pem]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
V, S, AF = 2, 1, 1


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fold_training_signatures(data, fold, work):
    """{"network": [...], "network_pretraining": [...]}: signatures of the records a CV fold network (in work) was
    fine-tuned on, with its feature head (pipeline.pools and head_records: the fine-tuning sources outside the fold, the
    noise-stress records unless 118 is in the fold, the noise recordings), and of those its backbone was pre-trained on
    without labels (every fold's: the pretraining pool). QTDB's excerpts of a trained MIT-BIH record count with it."""
    sys.path.insert(0, HERE)
    from ecgnat import data as D
    from ecgnat.config import PRETRAIN_GROUPS, finetune_groups
    qtdb = D.qtdb_in_run(work)
    ft_groups = finetune_groups(qtdb)
    specs = D.catalogue(data, qtdb)
    test_patients = {s.patient for s in specs if s.fold == fold and s.group in ft_groups}
    tuned = [s for s in specs if (s.group in ft_groups and s.fold != fold) or s.group == "noise"
             or (s.group == "nst" and s.patient not in test_patients)]
    pre = [s for s in specs if s.group in PRETRAIN_GROUPS]
    return {"network": D.training_signatures(data, tuned), "network_pretraining": D.training_signatures(data, pre)}


def fold_manifest(fold_dir, fold, sign_key=None, sign_password_env=None, ecgedge=None, data=None):
    man = json.load(open(os.path.join(ROOT, "models", "ecg-nat.manifest.json")))
    man["version"] += f"-cvfold{fold}"
    # the fold models may have another beat input than the shipped one: describe theirs
    sys.path.insert(0, HERE)
    from ecgnat.data import RR_DIM_BASE
    from ecgnat.from_onnx import beat_input_channels, config_of, feature_head_of
    from ecgnat.pipeline import feature_head_manifest, shape_manifest
    fp32 = os.path.join(fold_dir, "ecg-nat-fp32.onnx")
    cfg = config_of(fp32)        # refuses the graphs of removed experiments (from_onnx.REMOVED)
    channels = beat_input_channels(fp32)
    man["inputs"][2]["shape"][2] = channels
    man["token_stride"], man["fine_tokens"] = cfg.stem_stride, cfg.tokens()[0]
    man["inputs"][2]["shape"][1] = man["outputs"][0]["shape"][1] = cfg.tokens()[0]
    man["rr_features"].pop("shape", None)
    if channels > RR_DIM_BASE:
        man["rr_features"]["shape"] = shape_manifest()
    man.pop("beat_feature_head", None)
    if head := feature_head_of(fp32):
        man["beat_feature_head"] = feature_head_manifest({"feature_head": head[0], "feature_weight": head[1]})
    for key, name in (("fp32", "ecg-nat-fp32.onnx"), ("int8", "ecg-nat-int8.onnx")):
        p = os.path.join(fold_dir, name)
        man["files"][key] = {"path": name, "sha256": sha256(p), "bytes": os.path.getsize(p)}
    if data is not None:
        # what this fold's network was fitted on, not the shipped one's: eval/analyze then say which of the fold's
        # records were training data (rhythm_fusion stays the shipped one's, and so does its list)
        man.setdefault("training_records", {}).update(fold_training_signatures(data, fold, os.path.dirname(os.path.dirname(fold_dir))))
    path = os.path.join(fold_dir, "ecg-nat.manifest.json")
    with open(path, "w") as f:
        json.dump(man, f, indent=2)
    from ecgnat import signing
    signing.finish(path, sign_key, sign_password_env, ecgedge=ecgedge)
    return path


def counts_py(cm, k):
    """Model-card definition on a 5x5 confusion (rows reference, columns predicted)."""
    tp = cm[k][k]
    return tp, sum(cm[k]) - tp, sum(cm[r][k] for r in range(5)) - tp


def se_pp(tp, fn, fp):
    se = 100.0 * tp / (tp + fn) if tp + fn else float("nan")
    pp = 100.0 * tp / (tp + fp) if tp + fp else float("nan")
    return se, pp


def add(a, b):
    return [x + y for x, y in zip(a, b)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=os.path.join(HERE, "runs", "full"))
    ap.add_argument("--db", default=os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "mitdb")))
    ap.add_argument("--ecgedge", default=os.path.join(ROOT, "src", "EcgEdge", "bin", "Release", "net10.0", "ecgedge"))
    ap.add_argument("--folds", default="0,1,2,3,4")
    ap.add_argument("--out", default=os.path.join(HERE, "runs", "full", "crosscheck"))
    sys.path.insert(0, HERE)
    from ecgnat import signing
    signing.add_arguments(ap, default_key=signing.TEST_KEY)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows, pooled = [], {}
    for fold in [int(f) for f in args.folds.split(",")]:
        res = json.load(open(os.path.join(args.work, "results", f"cv_pretrained_1_fold{fold}.json")))
        recs = res["test_records"]
        man = fold_manifest(os.path.join(args.work, "cv_onnx", f"fold{fold}"), fold, args.sign_key, args.sign_password_env, args.ecgedge,
                           data=os.path.dirname(os.path.normpath(args.db)))
        for variant, py_key in (("int8", "per_record_int8"), ("fp32", "per_record")):
            out = os.path.join(args.out, f"fold{fold}-{variant}.json")
            cmd = [args.ecgedge, "eval", "--db", args.db, "--records", ",".join(recs), "--mains", "60", "--from", "0",
                   "--model", man, "--variant", variant, "--json", out, "--quiet"]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"ecgedge eval failed ({r.returncode}): {r.stderr}")
            cs = {x["record"]: x for x in json.load(open(out))["records"]}
            py = {x["record"]: x for x in res[py_key]}
            for rec in recs:
                c, p = cs[rec], py[rec]
                cm_c = c["beat_classes"]["matched"]
                row = {"fold": fold, "variant": variant, "record": rec,
                       "py_veb": counts_py(p["beat_confusion"], V), "cs_veb": counts_py(cm_c, V),
                       "py_sveb": counts_py(p["beat_confusion"], S), "cs_sveb": counts_py(cm_c, S),
                       "ec57_veb": (c["veb"]["tp"], c["veb"]["fn"], c["veb"]["fp"]),
                       "ec57_sveb": (c["sveb"]["tp"], c["sveb"]["fn"], c["sveb"]["fp"]),
                       "py_afw": counts_py_rhythm(p["window_rhythm_confusion"]),
                       "cs_afw": counts_py_rhythm(c["window_rhythm"]["confusion"]),
                       "py_beats": sum(map(sum, p["beat_confusion"])), "cs_matched": sum(map(sum, cm_c)),
                       "py_windows": sum(map(sum, p["window_rhythm_confusion"])), "cs_windows": sum(map(sum, c["window_rhythm"]["confusion"]))}
                rows.append(row)
                acc = pooled.setdefault(variant, {})
                for k, v in row.items():
                    if isinstance(v, tuple):
                        acc[k] = add(acc.get(k, [0, 0, 0]), v)
    json.dump(rows, open(os.path.join(args.out, "rows.json"), "w"), indent=1)
    print(f"{'variant':8} {'measure':10} {'Python Se/+P':>16} {'C# matched Se/+P':>18} {'C# EC57 Se/+P':>16}")
    for variant, acc in pooled.items():
        for m in ("veb", "sveb", "afw"):
            ps, pp = se_pp(*acc[f"py_{m}"])
            cs_, cp = se_pp(*acc[f"cs_{m}"])
            e = f"{se_pp(*acc[f'ec57_{m}'])[0]:6.1f} / {se_pp(*acc[f'ec57_{m}'])[1]:5.1f}" if f"ec57_{m}" in acc else "-"
            print(f"{variant:8} {m:10} {ps:7.1f} / {pp:5.1f}  {cs_:8.1f} / {cp:5.1f}  {e:>16}   py {acc[f'py_{m}']} cs {acc[f'cs_{m}']}")
    nb_py = sum(r["py_beats"] for r in rows if r["variant"] == "int8")
    nb_cs = sum(r["cs_matched"] for r in rows if r["variant"] == "int8")
    nw_py = sum(r["py_windows"] for r in rows if r["variant"] == "int8")
    nw_cs = sum(r["cs_windows"] for r in rows if r["variant"] == "int8")
    print(f"beats: Python {nb_py} (reference), C# matched {nb_cs}; windows: Python {nw_py}, C# {nw_cs}")
    json.dump({"pooled": pooled, "beats_python": nb_py, "beats_cs_matched": nb_cs, "windows_python": nw_py, "windows_cs": nw_cs},
              open(os.path.join(args.out, "pooled.json"), "w"), indent=1)


def counts_py_rhythm(cm):
    tp = cm[AF][AF]
    return tp, sum(cm[AF]) - tp, sum(cm[r][AF] for r in range(len(cm))) - tp


if __name__ == "__main__":
    main()
