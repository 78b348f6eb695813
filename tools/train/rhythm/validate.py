"""Leave-one-database-out validation of the rhythm decision's AF model, and the fit that ships.

    PYTHONPATH=tools/train /usr/bin/python3 tools/train/rhythm/validate.py --features DIR [--data ../shared/data]
        [--json out.json] [--markdown out.md] [--fit MANIFEST_IN --out MANIFEST_OUT [--sign-key KEY.pem]]

For every split (each source held out; each mitdb record-wise fold held out) the AF model is fitted on the other
sources, its threshold chosen on their out-of-fold predictions (an inner leave-one-source-out), and the held-out
windows are decided as the device decides them (rhythm.decisions). Compared on each held-out source: the network of
the model that exported the features alone (the shipped 0.2.0 when the features came from it), the plain RR rule
(share of successive |dRR| > 50 ms over the last 32 intervals, its threshold chosen on the mitdb DS1 records, the
issue's baseline), and the new decision.

--fit: fits the model on every source, its threshold from the leave-one-source-out predictions, and writes its
`rhythm_fusion` entry into a copy of the manifest (nothing else of the manifest changes but the version and the
rhythm_fusion entry). With --sign-key the written manifest is signed (`ecgedge model sign`); without it, it is unsigned
and a device refuses it until it is signed (docs/model-signing.md).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from ecgnat import add_data_argument  # noqa: E402
from ecgnat import rhythm as R  # noqa: E402
from ecgnat import signing  # noqa: E402

# The evidence the model reads (RhythmFeatures names). The network's posterior is not among them: it was trained on
# most of these sources, so its weight could not be fitted out of sample (see docs/experiments/rhythm-fusion.md).
FEATURES = ["hr", "irr", "irr_clean", "nrmssd_clean", "ectopic", "p_present", "p_corr", "p_corr_high", "pr_sd",
            "dia_extrema", "dia_rms", "cosen", "sd_ratio", "noise", "atrial_df", "atrial_oi", "atrial_rms",
            "p_template"] + (["net_af", "net_noise"] if os.environ.get("RHYTHM_WITH_NETWORK") else [])
THRESHOLDS = [round(x, 2) for x in np.arange(0.30, 0.96, 0.05)]
# Threshold choice: the best mean AF-duration F1 over the training sources with AF, less this much per percent of
# false AF time on their records without AF, averaged over the sources (1 % of false AF costs 0.1 of F1).
FALSE_AF_PENALTY = 0.1
PACED = {"102", "104", "107", "217"}


def columns(w: R.Windows, names: list[str]) -> list[int]:
    missing = [n for n in names if n not in w.names]
    if missing:
        raise SystemExit(f"features missing from the CSVs: {missing}")
    return [w.names.index(n) for n in names]


# Streams younger than this (seconds at the window's end) are decided by the short model on 10-s features.
SHORT_BELOW_S = 25.0
SHORT_CONTEXT_S = 10.0
LONG_CONTEXT_S = 30.0


@dataclass
class Model:
    """Two logistic models (each (mean, scale, weights, bias)): `long` over 30-s features, `short` over 10-s features.
    Windows of streams younger than SHORT_BELOW_S: the short model alone, against t_short; older ones: the mean of both,
    against t_long (RhythmFusion in C#)."""
    long: tuple
    short: tuple
    t_long: float = 0.5
    t_short: float = 0.5
    network_below_s: float = 0.0    # windows of streams younger than this keep the network's posterior (RhythmFusion)


def fit(w: R.Windows, mask: np.ndarray, cols: list[int], C: float) -> Model:
    """The long model on the windows of `mask` whose stream is old enough, the short one on every window of `mask` with
    its 10-s features (the first 10 s of context exist in every window: a long record teaches the short model too)."""
    old = mask & (w.stream >= SHORT_BELOW_S)
    long = R.fit_logistic(w.X[old][:, cols], w.y[old], C=C, class_weight=None, sample_weight=R.source_weights(w, old))
    short = R.fit_logistic(w.Xs[mask][:, cols], w.y[mask], C=C, class_weight=None, sample_weight=R.source_weights(w, mask))
    return Model(long, short)


def predict(model: Model, w: R.Windows, mask: np.ndarray, cols: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(P(AF), the threshold that applies) for the windows of `mask`, as the device computes them (RhythmFusion): the
    short model alone for a young stream, the mean of both models for an older one."""
    young = w.stream[mask] < SHORT_BELOW_S
    ps = R.predict(model.short, w.Xs[mask][:, cols])
    p = np.where(young, ps, 0.5 * (ps + R.predict(model.long, w.X[mask][:, cols])))
    t = np.where(young, model.t_short, model.t_long)
    if model.network_below_s > 0:
        p = np.where(w.stream[mask] < model.network_below_s, np.nan, p)   # the network's posterior stands
    return p, t


def probabilities(w: R.Windows, p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The device's posteriors with per-window thresholds (fused_probabilities with a threshold vector)."""
    out = w.N.astype(np.float64).copy()     # windows without a fused P(AF) keep the network's posteriors
    fused = ~np.isnan(p)
    for tv in np.unique(t[fused]):
        m = fused & (t == tv)
        out[m] = R.fused_probabilities(w.N[m], p[m], float(tv))
    return out


def _criterion(ws: R.Windows, probs: np.ndarray):
    """(mean AF-duration F1 over the sources with AF, mean false-AF % over the sources with non-AF records): every
    source counts once, so the hours of QTDB do not outweigh the 10-s records of PTB-XL and CinC."""
    by = R.score(ws, R.decisions(ws, probs))
    f1s = [x.f1 for x in by.values() if x.ref_s > 0 and x.f1 == x.f1]
    fas = [x.false_af_pct for x in by.values() if x.nonaf_rec_s > 0]
    return (float(np.mean(f1s)) if f1s else 0.0), (float(np.mean(fas)) if fas else 0.0)


def choose_thresholds(w: R.Windows, mask: np.ndarray, cols: list[int], C: float, network_below_s: float = 0.0) -> tuple[float, float]:
    """The thresholds for the windows in `mask`, from out-of-source predictions: each source of the mask predicted by a
    model fitted on the mask's other sources. First the long model's, then the short model's (the long one fixed): the
    best mean AF-duration F1 over the sources with AF less FALSE_AF_PENALTY per percent of false AF time on the
    records without AF, both averaged over the sources."""
    p = np.full(len(w.y), np.nan)
    young = w.stream < SHORT_BELOW_S
    for s in [s for s in R.SOURCES if (mask & (w.source == s)).any()]:
        te = mask & (w.source == s)
        tr = mask & ~te & ~R._shares_patient(w, te)
        if not tr.any() or len(np.unique(w.y[tr])) < 2 or len(np.unique(w.y[tr & (w.stream >= SHORT_BELOW_S)])) < 2:
            continue
        m = fit(w, tr, cols, C)
        m.network_below_s = network_below_s
        p[te] = predict(m, w, te, cols)[0]
    ok = mask & ~np.isnan(p)
    if network_below_s > 0:  # those young windows keep the network's posterior (p is NaN there by design)
        ok = ok | (mask & (w.stream < network_below_s))
    ws = w.subset(ok)
    pv, yv = p[ok], young[ok]

    def best(vary_long: bool, fixed: float):
        choice = None
        for t in THRESHOLDS:
            tl, ts = (t, fixed) if vary_long else (fixed, t)
            f1, fa = _criterion(ws, probabilities(ws, pv, np.where(yv, ts, tl)))
            score = f1 - FALSE_AF_PENALTY * fa
            if choice is None or score > choice[0]:
                choice = (score, t)
        return choice[1]

    t_long = best(True, 0.5)
    if network_below_s >= SHORT_BELOW_S:
        return t_long, 0.5
    t_short = best(False, t_long)
    return t_long, t_short


# Records of ../shared/data that the shipped network (ECG-NAT 0.2.0, trained 2026-11-25) did not see because they were
# added to the shared folder afterwards (cpsc2021-sample/README.md, "Four more records").
ADDED_AFTER_NETWORK = {"data_0_1", "data_0_2", "data_8_10", "data_25_24"}


def network_training_signatures(data_root: str) -> list[str]:
    """The records the network was trained on: tools/train's catalogue (every labelled and noise record it reads) as it was
    when the shipped network was trained, and the same recordings under another database's name (QTDB's excerpts of
    MIT-BIH records, rhythm.SAME_PATIENT): a figure on sel223 is a figure on a patient the network trained on (223)."""
    from ecgnat import data as D
    return D.training_signatures(data_root, [s for s in D.catalogue(data_root)
                                             if not (s.dataset == "cpsc2021" and s.record in ADDED_AFTER_NETWORK)])


def rr_rule_threshold(w: R.Windows) -> float:
    """The RR rule's threshold with the best AF-duration F1 on the mitdb DS1 records (the issue's baseline)."""
    m = (w.source == "mitdb") & ~np.isin(w.record, list(PACED))
    ws = w.subset(m)
    irr = ws.X[:, ws.names.index("irr32")]
    best = None
    for t in np.arange(0.20, 0.95, 0.02):
        sc = R.score(ws, R.decisions(ws, R.rule_probabilities(irr >= t)))["mitdb"]
        if best is None or sc.f1 > best[0]:
            best = (sc.f1, float(round(t, 2)))
    return best[1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--features", required=True)
    add_data_argument(ap)
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    ap.add_argument("--records-markdown", help="per-record table (AF time called, of it true) of every held-out split")
    ap.add_argument("--C", type=float, default=1.0)
    ap.add_argument("--fit", help="manifest to copy the fitted rhythm_fusion into")
    ap.add_argument("--out", help="where --fit writes the manifest")
    signing.add_arguments(ap)  # --fit: the written manifest is signed with it (a device refuses it unsigned)
    ap.add_argument("--version", help="the version written with --fit")
    ap.add_argument("--young", choices=["network", "short"], default="network",
                    help="who decides windows of streams younger than %g s: the network's own posterior (default, shipped) "
                         "or the short evidence model" % SHORT_BELOW_S)
    ap.add_argument("--network-below-s", type=float, default=None,
                    help="with --young short: streams younger than this still keep the network's posterior (a 10-s "
                         "record's windows are ~10 s old)")
    a = ap.parse_args(argv)
    if a.network_below_s is not None and a.young != "short":
        ap.error("--network-below-s goes with --young short")
    network_below_s = SHORT_BELOW_S if a.young == "network" else (a.network_below_s or 0.0)
    if not 0.0 <= network_below_s <= SHORT_BELOW_S:
        ap.error(f"--network-below-s must lie in [0, {SHORT_BELOW_S:g}]")
    if a.fit:
        signing.check_arguments(ap, a)

    w = R.load(a.features, a.data)
    cols = columns(w, FEATURES)
    tested = ~((w.source == "mitdb") & np.isin(w.record, list(PACED)))  # paced records join no fold
    rr_t = rr_rule_threshold(w)
    irr32 = w.X[:, w.names.index("irr32")]
    report = {"features": FEATURES, "rr_rule_threshold": rr_t, "windows": int(len(w.y)), "af_windows": int(w.y.sum()),
              "splits": {}}
    print(f"{len(w.y)} windows ({int(w.y.sum())} AF) from {len(set(zip(w.source, w.record)))} records; "
          f"RR rule threshold (mitdb DS1): {rr_t}")
    for name, train, test in R.splits(w):
        test = test & tested
        old_train = train & (w.stream >= SHORT_BELOW_S)
        if len(np.unique(w.y[train])) < 2 or len(np.unique(w.y[old_train])) < 2 or not test.any():
            print(f"{name:12s} skipped: its training sources lack AF or non-AF windows")
            continue
        model = fit(w, train, cols, a.C)
        model.network_below_s = network_below_s
        model.t_long, model.t_short = choose_thresholds(w, train, cols, a.C, network_below_s)
        ws = w.subset(test)
        p, t = predict(model, w, test, cols)
        rows = {}
        # The 0.2.0 recipe, the RR rule and 0.3.0 as they shipped: decisions alone; the current design adds the AF episode
        # logic (R.bridge_af).
        fused = probabilities(ws, p, t)
        for label, probs, bridge in (("network", ws.N, 0.0), ("rr_rule", R.rule_probabilities(irr32[test] >= rr_t), 0.0),
                                     ("fusion_decisions", fused, 0.0), ("fusion", fused, R.AF_BRIDGE_S)):
            by, per_rec = R.score(ws, R.decisions(ws, probs, bridge_s=bridge), per_record=True)
            rows[label] = {s: x.as_dict() for s, x in by.items()}
            rows[label + "_records"] = {f"{k[0]}/{k[1]}": x.as_dict() for k, x in per_rec.items()
                                        if x.ref_s > 0 or x.det_s > 0}
        report["splits"][name] = {"threshold_long": model.t_long, "threshold_short": model.t_short, **rows}
        src = next(iter(rows["fusion"]))
        f, n, r = rows["fusion"][src], rows["network"][src], rows["rr_rule"][src]
        print(f"{name:12s} thr {model.t_long:.2f}/{model.t_short:.2f}  fusion Se {f['dur_se']} +P {f['dur_ppv']} F1 {f['f1']} falseAF {f['false_af_pct_of_non_af_time']}%"
              f" | network {n['dur_se']}/{n['dur_ppv']} F1 {n['f1']} fa {n['false_af_pct_of_non_af_time']}%"
              f" | rr rule {r['dur_se']}/{r['dur_ppv']} F1 {r['f1']} fa {r['false_af_pct_of_non_af_time']}%")
    if a.json:
        os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(markdown(report))
    if a.records_markdown:
        with open(a.records_markdown, "w") as f:
            f.write(records_markdown(report))
    if a.fit:
        if not a.out:
            raise SystemExit("--fit needs --out")
        everything = tested
        model = fit(w, everything, cols, a.C)
        model.network_below_s = network_below_s
        model.t_long, model.t_short = choose_thresholds(w, everything, cols, a.C, network_below_s)
        with open(a.fit) as f:
            manifest = json.load(f)

        def entry(m, context):
            mean, scale, wts, bias = m
            return {"features": FEATURES, "mean": [float(x) for x in mean], "scale": [float(x) for x in scale],
                    "weights": [float(x) for x in wts], "bias": float(bias), "context_s": context}

        old = everything & (w.stream >= SHORT_BELOW_S)
        manifest["rhythm_fusion"] = {
            "long": entry(model.long, LONG_CONTEXT_S),
            "short": entry(model.short, SHORT_CONTEXT_S),
            "below_s": SHORT_BELOW_S,
            "threshold": float(model.t_long),
            "short_threshold": float(model.t_short),
            "young": a.young,
            **({"network_below_s": network_below_s} if a.young == "short" and network_below_s > 0 else {}),
            "definition": ("two logistic regressions over the device's rhythm evidence (RhythmFeatures): one over the last "
                           "30 s of beats, fitted on windows of streams at least %g s old (%d windows, %d AF), one over the "
                           "last 10 s, fitted on every window (%d, %d AF); a window of an older stream is decided by the "
                           "mean of both, one of a younger stream by %s; L2 C=%g, within each class every source "
                           "weighted equally; thresholds from leave-one-source-out predictions (best mean AF-duration F1 less "
                           "%g per %% of false AF time); sources: %s; tools/train/rhythm/validate.py"
                           % (SHORT_BELOW_S, int(old.sum()), int(w.y[old].sum()), int(everything.sum()), int(w.y[everything].sum()),
                              "the network's own posterior" if a.young == "network" else
                              ("the short model alone" if network_below_s <= 0 else
                               "the network's own posterior below %g s and the short model alone from there" % network_below_s), a.C, FALSE_AF_PENALTY, ", ".join(s for s in R.SOURCES if (w.source == s).any()))),
        }
        manifest["training_records"] = {
            "network": network_training_signatures(a.data),
            "rhythm_fusion": sorted({R.signature_of(a.data, s, r) for s, r in set(zip(w.source[everything], w.record[everything]))}),
        }
        if a.version:
            manifest["version"] = a.version
        with open(a.out, "w") as f:
            json.dump(manifest, f, indent=2)
            f.write("\n")
        signing.finish(a.out, a.sign_key, a.sign_password_env)
        for label, m, t in (("long", model.long, model.t_long), ("short", model.short, model.t_short)):
            print(f"fit {label}: threshold {t}, weights " + ", ".join(f"{n} {x:+.2f}" for n, x in zip(FEATURES, m[2])) + f", bias {m[3]:+.2f}")
        print(f"fit: wrote {a.out}")


# The designs the tables compare, in their order: (key in the report, column title).
LABELS = (("network", "0.2.0 recipe OOF"), ("rr_rule", "RR rule"), ("fusion_decisions", "fusion, decisions alone"),
          ("fusion", "fusion with the AF episode logic (shipped)"))


def markdown(report) -> str:
    out = ["| held out | windows decided by | AF dur Se | AF dur +P | F1 | false AF (% of non-AF time) | non-AF records with false AF | threshold |",
           "|---|---|---|---|---|---|---|---|"]
    for name, sp in report["splits"].items():
        for label, _ in LABELS:
            for src, x in sp[label].items():
                def f(v, d=1):
                    return "–" if v is None else f"{v:.{d}f}"
                out.append(f"| {name} | {label} | {f(x['dur_se'])} | {f(x['dur_ppv'])} | {f(x['f1'], 3)} | "
                           f"{f(x['false_af_pct_of_non_af_time'], 2)} | {x['records_non_af_with_false_af']}/{x['records_non_af']} | "
                           f"{(str(sp['threshold_long']) + ' / ' + str(sp['threshold_short'])) if label.startswith('fusion') else (report['rr_rule_threshold'] if label == 'rr_rule' else '–')} |")
    return "\n".join(out) + "\n"


def records_markdown(report) -> str:
    """AF seconds called (of them true) per record of each held-out split, for records with AF or with false AF under
    any of the designs."""
    head = "| held out | record | AF s | " + " | ".join(t for _, t in LABELS) + " |"
    out = ["# Rhythm decision, leave-one-database-out: per record", "",
           "Generated by tools/train/rhythm/validate.py --records-markdown (from the same run as lodo-hybrid.json); "
           "see docs/rhythm.md. AF seconds called by each design (of them, seconds inside reference AF).", "",
           head, "|---|---|---|" + "---|" * len(LABELS)]
    for name, sp in report["splits"].items():
        keys = sorted({k for label, _ in LABELS for k in sp.get(label + "_records", {})})
        for k in keys:
            cells, ref = [], None
            for label, _ in LABELS:
                x = sp.get(label + "_records", {}).get(k)
                if x is None:
                    cells.append("0")
                    continue
                ref = x["af_s"]
                tp = 0.0 if x["dur_ppv"] is None else x["called_af_s"] * x["dur_ppv"] / 100
                cells.append(f"{x['called_af_s']:.0f} ({tp:.0f})")
            out.append(f"| {name} | {k} | {ref:.0f} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
