"""The beat decision: reference labels for the device's beats, splits, scores and the multinomial model.

Input: the per-beat evidence the device computes (`ecgedge analyze --beat-features`, written per source by
tools/train/rhythm/export_features.sh or export_oof.py into <features>/beats/): prematurity against the local rhythm,
compensatory pause, QRS against the patient's dominant beat, the P wave and its likeness to the sinus P, the rhythm
context, the network's beat posteriors. Each detected beat takes the AAMI class of the reference beat within 150 ms
(EC57's match window); detections without a reference beat are left out of fitting and scored as the extra beats they are.
"""
from __future__ import annotations

import csv
import glob
import os
from dataclasses import dataclass

import numpy as np

from . import rhythm as R
from . import wfdb

# Sources with beat labels (reference annotations), and the AAMI class of each MIT symbol.
SOURCES = ["mitdb", "nstdb", "cpsc2021", "qtdb"]
AAMI = {**{c: "N" for c in "NLRej"}, **{c: "S" for c in "aJSA"}, **{c: "V" for c in "VE"}, "F": "F", **{c: "Q" for c in "/fQ"}}
CLASSES = ["N", "S", "V"]          # what the model decides; reference F and Q beats are scored but not fitted
NET = ["net_n", "net_s", "net_v", "net_f", "net_q"]
META = ("record", "sample", "decided")
MATCH_S = 0.15


@dataclass
class Beats:
    names: list[str]          # input columns of X (beat features, then the network's posteriors)
    X: np.ndarray
    ref: np.ndarray           # AAMI class of the matched reference beat ("" when none)
    decided: np.ndarray       # the class the exporting model gave
    source: np.ndarray
    record: np.ndarray
    sample: np.ndarray        # R peak, record samples
    fs: dict                  # (source, record) -> sampling frequency
    missed: dict              # (source, record) -> {class: reference beats without a detection}

    def subset(self, m: np.ndarray) -> "Beats":
        return Beats(self.names, self.X[m], self.ref[m], self.decided[m], self.source[m], self.record[m], self.sample[m],
                     self.fs, self.missed)


def reference_beats(data_root: str, source: str, record: str) -> tuple[float, np.ndarray, np.ndarray] | None:
    """(fs, beat samples, AAMI classes) of the record's reference annotations, None without any."""
    p = R.record_path(data_root, source, record)
    if not os.path.exists(p + ".atr"):
        return None
    h = wfdb.read_header(p)
    a = wfdb.read_annotations(p + ".atr")
    keep = [(s, AAMI[sym]) for s, sym in zip(a.sample, a.symbol) if sym in AAMI]
    return h.fs, np.array([k[0] for k in keep], dtype=np.int64), np.array([k[1] for k in keep])


def add_table_arguments(ap) -> None:
    """The arguments of the beat-rule tables (beats/rr_rules.py, beats/v_rules.py): --features (export_oof.py's output),
    --data, --json and --markdown."""
    from . import add_data_argument
    ap.add_argument("--features", required=True)
    add_data_argument(ap)
    ap.add_argument("--json")
    ap.add_argument("--markdown", action="store_true")


def load(features_dir: str, data_root: str, paced=("102", "104", "107", "217")) -> Beats:
    names = None
    X, ref, dec, src, rec, smp = [], [], [], [], [], []
    fs, missed = {}, {}
    for path in sorted(glob.glob(os.path.join(features_dir, "beats", "*.csv"))):
        s = R.source_of(path)
        if s not in SOURCES:
            continue
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows:
            continue
        cols = [k for k in rows[0].keys() if k not in META]
        if names is None:
            names = cols
        by_rec: dict = {}
        for r in rows:
            by_rec.setdefault(r["record"], []).append(r)
        for record, rs in by_rec.items():
            if s == "mitdb" and record in paced:
                continue
            refb = reference_beats(data_root, s, record)
            if refb is None:
                continue
            rate, rsamp, rcls = refb
            fs[(s, record)] = rate
            det = np.array([int(r["sample"]) for r in rs], dtype=np.int64)
            # greedy nearest match within 150 ms, each reference beat once
            order = np.argsort(det)
            used = np.zeros(len(rsamp), dtype=bool)
            labels = np.array([""] * len(det), dtype=object)
            tol = MATCH_S * rate
            j = 0
            for i in order:
                while j < len(rsamp) and rsamp[j] < det[i] - tol:
                    j += 1
                best = -1
                k = j
                while k < len(rsamp) and rsamp[k] <= det[i] + tol:
                    if not used[k] and (best < 0 or abs(rsamp[k] - det[i]) < abs(rsamp[best] - det[i])):
                        best = k
                    k += 1
                if best >= 0:
                    used[best] = True
                    labels[i] = rcls[best]
            missed[(s, record)] = {c: int(((rcls == c) & ~used).sum()) for c in ("N", "S", "V", "F", "Q")}
            for r, lab in zip(rs, labels):
                X.append([float(r[k]) for k in names])
                ref.append(lab)
                dec.append(r["decided"])
                src.append(s)
                rec.append(record)
                smp.append(int(r["sample"]))
    if names is None:
        raise FileNotFoundError(f"no beat CSV in {features_dir}/beats")
    return Beats(names, np.array(X), np.array(ref), np.array(dec), np.array(src), np.array(rec), np.array(smp), fs, missed)


def splits(b: Beats) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, train, test): each source held out, and each mitdb record-wise fold (same patients kept apart)."""
    out = []
    for s in SOURCES:
        test = b.source == s
        if test.any():
            out.append((s, ~test & ~_same_patient(b, test), test))
    folds = np.array([R.mitdb_fold(r) if s == "mitdb" else -1 for s, r in zip(b.source, b.record)])
    for k in range(len(R.DS1_FOLDS)):
        test = folds == k
        if test.any():
            out.append((f"mitdb-fold{k}", ~test & ~_same_patient(b, test), test))
    return out


def _same_patient(b: Beats, held: np.ndarray) -> np.ndarray:
    keys = set(zip(b.source[held], b.record[held]))
    out = np.zeros(len(b.ref), dtype=bool)
    for x, z in list(R.SAME_PATIENT.items()) + [(v, k) for k, v in R.SAME_PATIENT.items()]:
        if x in keys:
            out |= (b.source == z[0]) & (b.record == z[1])
    if ("mitdb", "118") in keys:
        out |= b.source == "nstdb"
    if any(s == "nstdb" for s, _ in keys):
        out |= (b.source == "mitdb") & (b.record == "118")
    return out & ~held


@dataclass
class Counts:
    tp: int = 0
    fn: int = 0
    fp: int = 0

    @property
    def se(self):
        return 100 * self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def ppv(self):
        return 100 * self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    def as_dict(self):
        r = lambda x: None if x != x else round(x, 1)  # noqa: E731
        return {"tp": self.tp, "fn": self.fn, "fp": self.fp, "se": r(self.se), "ppv": r(self.ppv)}


def score(b: Beats, called: np.ndarray, per_record: bool = False):
    """VEB and SVEB Se/+P per source in EC57's gross sense: a reference V (S) beat is found when its matched detection
    is called V (S); reference beats the detector missed count as missed; detections called V (S) whose reference is
    another class, or that match no reference beat, count as false."""
    out: dict = {}
    recs: dict = {}
    for key in dict.fromkeys(zip(b.source, b.record)):
        s, r = key
        m = (b.source == s) & (b.record == r)
        ref, cal = b.ref[m], called[m]
        for cls, name in (("V", "veb"), ("S", "sveb")):
            c = Counts(int(((ref == cls) & (cal == cls)).sum()),
                       int(((ref == cls) & (cal != cls)).sum()) + b.missed.get(key, {}).get(cls, 0),
                       int(((ref != cls) & (cal == cls)).sum()))
            for d, k in ((out, s), (recs, key)):
                t = d.setdefault(k, {}).setdefault(name, Counts())
                t.tp += c.tp
                t.fn += c.fn
                t.fp += c.fp
    return (out, recs) if per_record else out


def rr_rule(b: Beats, network_called: np.ndarray) -> np.ndarray:
    """The textbook RR rule of the issue, on the device's beats: S if RRpre < 0.85 x the mean of the last 16 RR and
    RRpost / RRpre > 1.1; V where the network says V; N otherwise (the network's S, F and Q calls are not kept: until
    2026-12-07 they were, which credited the rule with the network's S beats)."""
    out = np.where(network_called == "V", "V", "N").astype(object)
    for key in dict.fromkeys(zip(b.source, b.record)):
        m = np.where((b.source == key[0]) & (b.record == key[1]))[0]
        m = m[np.argsort(b.sample[m])]
        t = b.sample[m] / b.fs[key]
        for j in range(1, len(m) - 1):
            pre, post = t[j] - t[j - 1], t[j + 1] - t[j]
            hist = np.diff(t[max(0, j - 16):j])
            if len(hist) >= 4 and pre < 0.85 * hist.mean() and post / pre > 1.1 and out[m[j]] != "V":
                out[m[j]] = "S"
    return out


def fit(b: Beats, mask: np.ndarray, cols: list[int], C: float = 1.0):
    """Multinomial logistic regression on N/S/V (reference F and Q beats left out), every source with the same total
    weight within each class; returns (mean, scale, weights [3, k], bias [3])."""
    from sklearn.linear_model import LogisticRegression
    m = mask & np.isin(b.ref, CLASSES)
    X = b.X[m][:, cols]
    y = b.ref[m]
    src = b.source[m]
    sw = np.zeros(len(y))
    for cls in CLASSES:
        in_cls = y == cls
        sources = np.unique(src[in_cls])
        for s in sources:
            mm = in_cls & (src == s)
            sw[mm] = in_cls.sum() / len(sources) / mm.sum()
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-6] = 1.0
    lr = LogisticRegression(C=C, max_iter=3000, multi_class="multinomial")
    lr.fit((X - mean) / scale, y, sample_weight=sw)
    order = [list(lr.classes_).index(c) for c in CLASSES]
    return mean, scale, lr.coef_[order], lr.intercept_[order]


def decide(model, X: np.ndarray, cols: list[int], bias_shift: np.ndarray | None = None) -> np.ndarray:
    mean, scale, W, b0 = model
    z = ((X[:, cols] - mean) / scale) @ W.T + b0
    if bias_shift is not None:
        z = z + bias_shift
    return np.array(CLASSES)[np.argmax(z, axis=1)]


def print_table(report: dict, cls: str, markdown: bool) -> None:
    """One row per decision of report ({decision: {source: {class: Counts.as_dict()}}}): the class's Se / +P per source,
    as a markdown table or plain lines."""
    srcs = [s for s in SOURCES if s in next(iter(report.values()))]
    name = cls.upper()
    if markdown:
        print("| decision | " + " | ".join(f"{s} {name} Se / +P" for s in srcs) + " |")
        print("|---|" + "---|" * len(srcs))
    width = max(len(n) for n in report)
    for decision, r in report.items():
        cells = [f"{r[s][cls]['se']} / {r[s][cls]['ppv']}" for s in srcs]
        print(f"| {decision} | " + " | ".join(cells) + " |" if markdown
              else f"{decision:{width}s} " + "  ".join(f"{s} {c}" for s, c in zip(srcs, cells)))
