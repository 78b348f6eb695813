"""Validation of the beat decision (S and V against the patient's own rhythm and dominant beat), and the fit that ships.

    PYTHONPATH=tools/train /usr/bin/python3 tools/train/beats/validate.py --features DIR [--data ../shared/data]
        [--json out.json] [--fit MANIFEST_IN --out MANIFEST_OUT [--sign-key KEY.pem]]

DIR/beats/*.csv are the device's per-beat evidence (tools/train/rhythm/export_features.sh or export_oof.py: the latter
with the network's beat posteriors out of fold). For every split — each labelled source held out (mitdb DS1, the
noise-stress 118e*, CPSC 2021, QTDB; the same patients never on both sides), and each mitdb record-wise fold — a
multinomial logistic model (N / S / V) over the beat evidence and the network's posteriors is fitted on the other
sources and decides the held-out beats. Compared on each: the network alone (the model that exported the features),
the textbook RR rule of the issue (S if RRpre < 0.85 x mean of the last 16 RR and RRpost/RRpre > 1.1, V from the
network), and the fusion. VEB and SVEB Se/+P count missed beats (the detector's) as missed, like EC57.

--fit: fits on every source and writes the `beat_fusion` entry into a copy of the manifest, signed with --sign-key
(`ecgedge model sign`; unsigned without it, which a device refuses: docs/model-signing.md).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from ecgnat import add_data_argument  # noqa: E402
from ecgnat import beats as B  # noqa: E402
from ecgnat import signing  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--features", required=True)
    add_data_argument(ap)
    ap.add_argument("--json")
    ap.add_argument("--C", type=float, default=1.0)
    ap.add_argument("--no-network", action="store_true", help="the beat evidence alone (the network's posteriors left out)")
    ap.add_argument("--fit")
    ap.add_argument("--out")
    signing.add_arguments(ap)  # --fit: the written manifest is signed with it (a device refuses it unsigned)
    a = ap.parse_args(argv)
    if a.fit:
        signing.check_arguments(ap, a)

    b = B.load(a.features, a.data)
    names = [n for n in b.names if not (a.no_network and n in B.NET)]
    cols = [b.names.index(n) for n in names]
    net_cols = [b.names.index(n) for n in B.NET]
    network = np.array(["N", "S", "V", "F", "Q"])[np.argmax(b.X[:, net_cols], axis=1)]
    rr = B.rr_rule(b, network)
    print(f"{len(b.ref)} detected beats matched to {sum((b.ref != '').tolist())} reference beats; inputs: {', '.join(names)}")
    report = {"inputs": names, "splits": {}}
    for name, train, test in B.splits(b):
        if len(np.unique(b.ref[train & np.isin(b.ref, B.CLASSES)])) < len(B.CLASSES):
            print(f"{name:12s} skipped: the other sources lack a class")
            continue
        model = B.fit(b, train, cols, a.C)
        fused = np.array([""] * len(b.ref), dtype=object)
        fused[test] = B.decide(model, b.X[test], cols)
        bt = b.subset(test)
        row = {}
        for label, called in (("network", network[test]), ("rr_rule", rr[test]), ("fusion", fused[test])):
            by, per_rec = B.score(bt, called, per_record=True)
            row[label] = {s: {k: v.as_dict() for k, v in x.items()} for s, x in by.items()}
            row[label + "_records"] = {f"{k[0]}/{k[1]}": {m: v.as_dict() for m, v in x.items()} for k, x in per_rec.items()}
        report["splits"][name] = row
        src = next(iter(row["fusion"]))
        f, n, r = (row[k][src] for k in ("fusion", "network", "rr_rule"))
        print(f"{name:12s} VEB fusion {f['veb']['se']}/{f['veb']['ppv']} network {n['veb']['se']}/{n['veb']['ppv']} | "
              f"SVEB fusion {f['sveb']['se']}/{f['sveb']['ppv']} network {n['sveb']['se']}/{n['sveb']['ppv']} rr rule {r['sveb']['se']}/{r['sveb']['ppv']}")
    # pooled over the mitdb folds: the DS1 out-of-fold figure
    pooled = {}
    for label in ("network", "rr_rule", "fusion"):
        acc = {"veb": B.Counts(), "sveb": B.Counts()}
        for name, row in report["splits"].items():
            if not name.startswith("mitdb-fold") or "mitdb" not in row[label]:
                continue
            for m in ("veb", "sveb"):
                c = row[label]["mitdb"][m]
                acc[m].tp += c["tp"]
                acc[m].fn += c["fn"]
                acc[m].fp += c["fp"]
        pooled[label] = {m: v.as_dict() for m, v in acc.items()}
        print(f"DS1 out of fold, {label:8s}: VEB {pooled[label]['veb']['se']}/{pooled[label]['veb']['ppv']}  "
              f"SVEB {pooled[label]['sveb']['se']}/{pooled[label]['sveb']['ppv']}")
    report["ds1_out_of_fold"] = pooled
    if a.json:
        os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    if a.fit:
        if not a.out:
            raise SystemExit("--fit needs --out")
        everything = np.ones(len(b.ref), dtype=bool)
        mean, scale, W, b0 = B.fit(b, everything, cols, a.C)
        with open(a.fit) as f:
            manifest = json.load(f)
        manifest["beat_fusion"] = {
            "features": names, "mean": [float(x) for x in mean], "scale": [float(x) for x in scale],
            "weights": [[float(x) for x in row] for row in W], "bias": [float(x) for x in b0], "classes": B.CLASSES,
            "definition": ("multinomial logistic regression (N, S, V) over the device's beat evidence (BeatFeatures) and the "
                           "network's beat posteriors, L2 C=%g, within each class every source weighted equally; fitted on "
                           "%d beats of %s; tools/train/beats/validate.py"
                           % (a.C, int(np.isin(b.ref, B.CLASSES).sum()), ", ".join(s for s in B.SOURCES if (b.source == s).any()))),
        }
        with open(a.out, "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
        signing.finish(a.out, a.sign_key, a.sign_password_env)
        print(f"fit: wrote {a.out}")


if __name__ == "__main__":
    main()
