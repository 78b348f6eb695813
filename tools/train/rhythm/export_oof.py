"""Rhythm evidence with the network's posteriors out of fold: every record is analysed by a network that did not train on it.

    PYTHONPATH=tools/train /usr/bin/python3 tools/train/rhythm/export_oof.py --work tools/train/runs/oof --out DIR
        [--data ../shared/data] [--jobs 2]

--work is a CV run of the shipped recipe (`train.sh --stages build,pretrain,cv100 --work W`): its fold networks in
W/cv_onnx/fold<k>/ were each trained without the records of fold k — mitdb DS1's record-wise fold k, and the other
training sources' patients hashed to fold k (data.hashed_fold). Each fold's records are analysed here by that fold's
network (`ecgedge analyze --rhythm-features --beat-features`), so the network columns (net_*) of the CSVs, per window and
per beat (DIR/beats/), are out of fold, like the
physiological features (which involve no training). Sources the network never trains on (QTDB, the AF Termination
database) are analysed by the shipped network; QTDB by its folds when W was trained with it (`train.sh --qtdb-beats`,
seen in W/results/data.json). Output: one CSV per source and fold, named for rhythm.load().
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))

from ecgnat import add_data_argument  # noqa: E402
from ecgnat import data as D  # noqa: E402


def fold_groups(data: str, qtdb: bool = False) -> dict:
    """{(fold, source, folder, mains): [record names]}: every test record of the training sources, by the CV fold whose
    network did not train on it (paced records never; the noise-stress 118e* with 118's fold); with qtdb, QTDB's
    annotated records too (sel102 and sel104, whose paced patients train every fold, never)."""
    groups: dict = {}
    for spec in D.catalogue(data, qtdb):
        if spec.fold < 0 and spec.group != "nst":
            continue                      # paced records and the noise recordings are never test records
        fold = spec.fold if spec.fold >= 0 else D.fold_of_ds1(118)   # 118e* are tested with 118
        source = {"mitdb": "mitdb", "nstdb": "nstdb", "cpsc2021": "cpsc2021", "ptbxl": "ptbxl", "cinc2021": "cinc2021",
                  "ludb": "ludb", "qtdb": "qtdb"}[spec.dataset]
        groups.setdefault((fold, source, os.path.dirname(spec.path), spec.mains), []).append(os.path.basename(spec.path))
    return groups


def add_run_arguments(ap) -> None:
    """The arguments of a run over the fold networks (here and in experiments/oof_eval.py): --work, --out, --data,
    --ecgedge, --jobs and the signing key of the rewritten fold manifests."""
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    add_data_argument(ap)
    ap.add_argument("--ecgedge", default=os.path.join(ROOT, "src", "EcgEdge", "bin", "Release", "net10.0", "ecgedge"))
    ap.add_argument("--jobs", default="2")
    ap.add_argument("--qtdb-by-fold", action="store_true",
                    help="QTDB by the fold networks (data.qtdb_fold) even when the run did not train on it, to pair it "
                         "record by record with a run that did (train.sh --qtdb-beats); default: by the shipped network")
    # The fold manifests are rewritten from the shipped one and must be signed for `analyze` to load them: the published
    # test key by default (they are development artefacts, never shipped).
    from ecgnat import signing
    signing.add_arguments(ap, default_key=signing.TEST_KEY)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_arguments(ap)
    a = ap.parse_args(argv)
    from ecgnat import signing
    signing.check_arguments(ap, a)
    sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
    from compare_cs import fold_manifest
    os.makedirs(os.path.join(a.out, "beats"), exist_ok=True)
    qtdb_folds = D.qtdb_in_run(a.work) or a.qtdb_by_fold
    groups = fold_groups(a.data, qtdb_folds)
    for (fold, source, folder, mains), recs in sorted(groups.items()):
        man = fold_manifest(os.path.join(a.work, "cv_onnx", f"fold{fold}"), fold, a.sign_key, a.sign_password_env, data=a.data)
        name = f"{source}-fold{fold}-{int(mains)}"
        print(f"export_oof: {name}: {len(recs)} records", file=sys.stderr)
        r = subprocess.run([a.ecgedge, "analyze", "--db", folder, "--records", ",".join(recs), "--mains", str(int(mains)),
                            "--model", man, "--jobs", a.jobs, "--quiet", "--rhythm-features", os.path.join(a.out, name + ".csv"),
                            "--beat-features", os.path.join(a.out, "beats", name + ".csv")],
                           capture_output=True, text=True)
        if r.returncode not in (0, 1):
            sys.exit(f"ecgedge analyze failed ({r.returncode}): {r.stderr[-2000:]}")
    # never trained on: the shipped network
    r = subprocess.run(["bash", os.path.join(HERE, "export_features.sh"), "--out", a.out, "--data", a.data, "--jobs", a.jobs,
                        "--sources", "aftdb" if qtdb_folds else "qtdb,aftdb"])
    if r.returncode != 0:
        sys.exit("export_features.sh failed")
    print(f"export_oof: wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
