"""The rhythm decision's AF model: labels, leave-one-database-out validation and the fit that ships.

Input: the per-window rhythm evidence the device computes (`ecgedge analyze --rhythm-features`, written per source by
tools/train/rhythm/export_features.sh): RR irregularity with ectopy handling, P waves and their likeness to the patient's
sinus P, diastolic activity, the network's posteriors. Nothing here recomputes a feature: what is fitted and validated
is what the device computes.

Every labelled source is a held-out test of a model fitted on the others (leave-one-database-out), and mitdb is also
cut into its record-wise folds. Scores follow the device's decision: window posteriors averaged over 3 neighbouring
windows, each decision covering its window's central 5 s, compared in time with the reference AF/flutter intervals.
"""
from __future__ import annotations

import ast
import csv
import glob
import os
from dataclasses import dataclass, field

import numpy as np

from . import wfdb

# Sources (CSV file name prefixes of export_features.sh) and how their AF labels are read.
SOURCES = ["mitdb", "nstdb", "cpsc2021", "ptbxl", "cinc2021", "ludb", "qtdb", "aftdb"]
# mitdb record-wise folds (tools/train/ecgnat/data.py DS1_FOLDS; the paced records join no fold: never tested).
DS1_FOLDS = [[101, 106, 115, 209, 230], [108, 122, 201, 208, 220], [109, 112, 118, 203],
             [114, 119, 207, 223], [116, 124, 205, 215]]
PACED = [102, 104, 107, 217]
# The same patients under two sources: never on both sides of a split.
SAME_PATIENT = {("qtdb", "sel102"): ("mitdb", "102"), ("qtdb", "sel104"): ("mitdb", "104"),
                ("qtdb", "sel114"): ("mitdb", "114"), ("qtdb", "sel116"): ("mitdb", "116"),
                ("qtdb", "sel223"): ("mitdb", "223"), ("qtdb", "sel230"): ("mitdb", "230")}
SNOMED_AF = {"164889003", "164890007"}
META = ("record", "from_s", "to_s", "stream_s")
SHORT_PREFIX = "s10_"     # the same features over the last 10 s (the young-stream model's)
NET_COLUMNS = ("net_sinus_other", "net_af_afl", "net_noise_p", "net_vt_vf")   # the network's own posteriors
PROB_COLUMNS = ("p_sinus_other", "p_af_afl", "p_noise", "p_vt_vf", "fused_af")  # after the shipped fusion, if any
RHYTHM_CLASSES = ["sinus_other", "af_afl", "noise", "vt_vf"]


def source_of(csv_name: str) -> str:
    base = os.path.basename(csv_name)[:-4]
    for s in SOURCES:
        if base == s or base.startswith(s + "-"):
            return s
    raise ValueError(f"unknown source file {csv_name}")


@dataclass
class Windows:
    """All windows of all sources: feature matrix, labels, and where each window comes from."""
    names: list[str]                 # feature names (columns of X)
    X: np.ndarray                    # [n, features] over the regular (30-s) context
    Xs: np.ndarray                   # [n, features] over the short (10-s) context
    stream: np.ndarray               # seconds the stream had run at the window's end
    N: np.ndarray                    # [n, 4] the network's rhythm posteriors (RHYTHM_CLASSES order)
    P: np.ndarray                    # [n, 4] rhythm posteriors as exported (after the shipped fusion, if any)
    y: np.ndarray                    # 1 = AF/flutter covers at least half the window
    source: np.ndarray               # source name per window
    record: np.ndarray               # record name per window (unique within its source)
    t0: np.ndarray                   # window start / end, seconds
    t1: np.ndarray
    ref: dict = field(default_factory=dict)   # (source, record) -> (record duration s, [AF intervals in s])

    def subset(self, mask: np.ndarray) -> "Windows":
        return Windows(self.names, self.X[mask], self.Xs[mask], self.stream[mask], self.N[mask], self.P[mask], self.y[mask],
                       self.source[mask], self.record[mask], self.t0[mask], self.t1[mask], self.ref)


def _af_intervals_from_atr(path: str, fs: float, nsamp: int) -> list[tuple[float, float]]:
    a = wfdb.read_annotations(path)
    out, cur = [], None
    for s, sym, aux in zip(a.sample, a.symbol, a.aux):
        if sym != "+":
            continue
        if cur is not None:
            out.append((cur / fs, s / fs))
            cur = None
        au = (aux or "").strip("\x00 ").upper()
        if au.startswith("(AFIB") or au.startswith("(AFL"):
            cur = s
    if cur is not None:
        out.append((cur / fs, nsamp / fs))
    return out


def record_path(data_root: str, source: str, record: str) -> str:
    """The WFDB path (without suffix) of a record of one of SOURCES."""
    base = {"mitdb": ("mitdb",), "nstdb": ("nstdb",), "cpsc2021": ("cpsc2021-sample",), "qtdb": ("qtdb",),
            "ptbxl": ("ptbxl", "records500", "00000"), "cinc2021": ("cinc2021-sample",), "ludb": ("ludb", "data")}
    if source == "aftdb":
        for part in ("learning-set", "test-set-a", "test-set-b"):
            q = os.path.join(data_root, "aftdb", part, record)
            if os.path.exists(q + ".hea"):
                return q
        raise FileNotFoundError(record)
    return os.path.join(data_root, *base[source], record)


def signature_of(data_root: str, source: str, record: str) -> str:
    """The record's identity as model manifests list it (wfdb.signature, C# WfdbHeader.Signature)."""
    return wfdb.signature(wfdb.read_header(record_path(data_root, source, record)))


def reference(data_root: str, source: str, record: str) -> tuple[float, list[tuple[float, float]] | None]:
    """(duration s, AF/flutter intervals in s) of one record, from its source's labels; None for a record without any."""
    if source not in SOURCES:
        raise ValueError(source)
    p = record_path(data_root, source, record)
    h = wfdb.read_header(p)
    dur = h.nsamp / h.fs
    if source in ("mitdb", "nstdb", "cpsc2021", "qtdb"):
        atr = p + ".atr"
        if not os.path.exists(atr):
            # QTDB's sudden-death excerpts (sel30-sel52) have no reference annotations at all, and some are not sinus:
            # sel35 and sel36 show flutter waves / fibrillation with an irregular ventricular response. Unlabelled:
            # neither fitted on nor scored.
            return dur, None
        return dur, _af_intervals_from_atr(atr, h.fs, h.nsamp)
    if source == "aftdb":
        return dur, [(0.0, dur)]           # every AF Termination record is AF from start to end
    if source == "ptbxl":
        return dur, [(0.0, dur)] if record in _ptbxl_af(data_root) else []
    if source == "cinc2021":
        dx = set()
        for c in h.comments:
            if c.startswith("Dx:"):
                dx = {x.strip() for x in c[3:].split(",")}
        return dur, [(0.0, dur)] if dx & SNOMED_AF else []
    if source == "ludb":
        low = [c.lower() for c in h.comments]
        af = any(c.startswith("rhythm:") and ("fibrillation" in c or "flutter" in c) for c in low)
        return dur, [(0.0, dur)] if af else []
    raise ValueError(source)


_PTBXL_AF: set[str] | None = None


def _ptbxl_af(data_root: str) -> set[str]:
    global _PTBXL_AF
    if _PTBXL_AF is None:
        s = set()
        with open(os.path.join(data_root, "ptbxl", "ptbxl_database.csv"), newline="") as f:
            for row in csv.DictReader(f):
                codes = ast.literal_eval(row["scp_codes"])
                if "AFIB" in codes or "AFLT" in codes:
                    s.add(os.path.basename(row["filename_hr"]))
        _PTBXL_AF = s
    return _PTBXL_AF


def load(features_dir: str, data_root: str) -> Windows:
    """Reads every source's CSV in features_dir and labels each window (AF when AF/flutter covers at least half of it)."""
    names: list[str] | None = None
    X, Xs, st, N, P, y, src, rec, t0, t1 = [], [], [], [], [], [], [], [], [], []
    ref: dict = {}
    for path in sorted(glob.glob(os.path.join(features_dir, "*.csv"))):
        s = source_of(path)
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows:
            continue
        cols = [k for k in rows[0].keys() if k not in META and k not in PROB_COLUMNS and k not in NET_COLUMNS
                and not k.startswith(SHORT_PREFIX)]
        if names is None:
            names = cols
        elif cols != names:
            raise ValueError(f"{path}: feature columns differ from the other sources'")
        for r in rows:
            key = (s, r["record"])
            if key not in ref:
                ref[key] = reference(data_root, s, r["record"])
            if ref[key][1] is None:
                continue
            a, b = float(r["from_s"]), float(r["to_s"])
            cover = sum(max(0.0, min(e, b) - max(o, a)) for o, e in ref[key][1])
            X.append([float(r[k]) for k in names])
            Xs.append([float(r[SHORT_PREFIX + k]) for k in names])
            st.append(float(r["stream_s"]))
            N.append([float(r[k]) for k in NET_COLUMNS])
            P.append([float(r[k]) for k in PROB_COLUMNS[:4]])
            y.append(1 if 2 * cover >= (b - a) else 0)
            src.append(s)
            rec.append(r["record"])
            t0.append(a)
            t1.append(b)
    if names is None:
        raise FileNotFoundError(f"no feature CSV in {features_dir}")
    return Windows(names, np.array(X, dtype=np.float64), np.array(Xs, dtype=np.float64), np.array(st, dtype=np.float64),
                   np.array(N, dtype=np.float64), np.array(P, dtype=np.float64), np.array(y), np.array(src),
                   np.array(rec), np.array(t0), np.array(t1), ref)


# ------------------------------------------------------------------------------------------------------------ splits
def mitdb_fold(record: str) -> int:
    try:
        r = int(record)
    except ValueError:
        return -1
    for k, f in enumerate(DS1_FOLDS):
        if r in f:
            return k
    return -1


def _shares_patient(w: Windows, held: np.ndarray) -> np.ndarray:
    """Windows of training records whose patient is also in the held-out set (same person under two sources)."""
    held_keys = set(zip(w.source[held], w.record[held]))
    out = np.zeros(len(w.y), dtype=bool)
    pairs = list(SAME_PATIENT.items())
    for (a, b) in pairs:
        for x, z in ((a, b), (b, a)):
            if x in held_keys:
                out |= (w.source == z[0]) & (w.record == z[1])
    # the noise-stress records are MIT-BIH 118 with noise added
    if ("mitdb", "118") in held_keys or any(s == "nstdb" for s, _ in held_keys):
        if ("mitdb", "118") in held_keys:
            out |= w.source == "nstdb"
        if any(s == "nstdb" for s, _ in held_keys):
            out |= (w.source == "mitdb") & (w.record == "118")
    return out & ~held


def splits(w: Windows) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, train mask, test mask): one per source held out, and one per mitdb record-wise fold (the other folds and
    every other source train)."""
    out = []
    for s in SOURCES:
        test = w.source == s
        if not test.any():
            continue
        train = ~test & ~_shares_patient(w, test)
        out.append((s, train, test))
    folds = np.array([mitdb_fold(r) if s == "mitdb" else -1 for s, r in zip(w.source, w.record)])
    for k in range(len(DS1_FOLDS)):
        test = folds == k
        if not test.any():
            continue
        train = ~test & ~_shares_patient(w, test)
        out.append((f"mitdb-fold{k}", train, test))
    return out


# ------------------------------------------------------------------------------------------------------------ scoring
def fused_probabilities(network: np.ndarray, p_af: np.ndarray, threshold: float) -> np.ndarray:
    """The device's window posteriors with a fusion model (InferenceStage): P(AF) is calibrated so that the threshold
    lands on 0.5 (log-odds shifted by the threshold's), noise and VT/VF stay the network's, AF and sinus/other share the
    rest."""
    p = np.clip(p_af, 1e-12, 1 - 1e-12)
    z = np.log(p / (1 - p)) - np.log(threshold / (1 - threshold))
    q = 1 / (1 + np.exp(-z))
    out = network.astype(np.float64).copy()
    m = np.clip(1 - out[:, 2] - out[:, 3], 0, None)
    out[:, 1] = m * q
    out[:, 0] = m * (1 - q)
    return out


def rule_probabilities(called_af: np.ndarray) -> np.ndarray:
    """Posteriors of a yes/no rule (the plain RR rule): AF or sinus/other, nothing else."""
    out = np.zeros((len(called_af), 4))
    out[:, 1] = called_af.astype(np.float64)
    out[:, 0] = 1 - out[:, 1]
    return out


# AF episode logic (AfEpisodes in C#): a stretch decided noise or VT/VF between two AF decisions of a record, at most this
# long, counts as AF. Unreadable signal is no evidence that AF stopped, and a ventricular run does not stop the atria
# fibrillating; only a readable non-AF rhythm (sinus/other) ends an episode. 0.3.0 scored the decisions themselves.
AF_BRIDGE_S = 60.0


def bridge_af(decs: list, bridge_s: float = AF_BRIDGE_S) -> list[tuple[str, str, float, float, bool]]:
    """(source, record, from, to, class index) decisions -> (source, record, from, to, is AF in an AF episode): runs of
    noise/VT-VF decisions (classes 2, 3) with AF on both sides in the same record, lasting at most `bridge_s`, become AF."""
    cls = [d[4] for d in decs]
    out_af = [c == 1 for c in cls]
    i = 0
    while i < len(decs):
        j = i
        while j < len(decs) and cls[j] in (2, 3) and decs[j][:2] == decs[i][:2]:
            j += 1
        if j > i:
            if (i > 0 and j < len(decs) and cls[i - 1] == 1 and cls[j] == 1 and decs[i - 1][:2] == decs[i][:2] == decs[j][:2]
                    and decs[j - 1][3] - decs[i][2] <= bridge_s):
                for k in range(i, j):
                    out_af[k] = True
            i = j
        else:
            i += 1
    return [(d[0], d[1], d[2], d[3], af) for d, af in zip(decs, out_af)]


def smoothed(w: Windows, probs: np.ndarray, smoothing: int = 3) -> np.ndarray:
    """Each window's posteriors averaged with its neighbours' (`smoothing` centred windows of its record, in time order),
    as the device smooths them before deciding (InferenceStage.Decide); rows in the order of `w`."""
    out = np.empty(probs.shape, dtype=np.float64)
    half = smoothing // 2
    for s, r in dict.fromkeys(zip(w.source, w.record)):
        idx = np.where((w.source == s) & (w.record == r))[0]
        idx = idx[np.argsort(w.t0[idx])]
        for j in range(len(idx)):
            out[idx[j]] = probs[idx[max(0, j - half):min(len(idx) - 1, j + half) + 1]].mean(axis=0)
    return out


def decisions(w: Windows, probs: np.ndarray, smoothing: int = 3, bridge_s: float = AF_BRIDGE_S,
              classes: np.ndarray | None = None) -> list[tuple[str, str, float, float, bool]]:
    """The device's rhythm decisions (InferenceStage.Decide): the most probable class of each window's smoothed
    posteriors (`smoothed`) wins — or `classes`, one per window in the order of `w`, where an experiment decides
    otherwise; a decision covers its window's central hop, the first from the record's start, the last to its end; then
    the AF episode logic (bridge_af; bridge_s=0: the decisions alone). Returns (source, record, from s, to s, is AF)."""
    if classes is None:
        classes = np.argmax(smoothed(w, probs, smoothing), axis=1)
    out = []
    for s, r in dict.fromkeys(zip(w.source, w.record)):
        idx = np.where((w.source == s) & (w.record == r))[0]
        idx = idx[np.argsort(w.t0[idx])]
        t0, t1 = w.t0[idx], w.t1[idx]
        prev_end = t0[0] if len(idx) else 0.0
        for j in range(len(idx)):
            centre = 0.5 * (t0[j] + t1[j])
            hop = (t1[j] - t0[j]) / 2
            a = prev_end
            b = t1[j] if j == len(idx) - 1 else min(centre + hop / 2, t1[j])
            if b > a:
                out.append((s, r, a, b, int(classes[idx[j]])))
                prev_end = b
    return bridge_af(out, bridge_s)


@dataclass
class Score:
    ref_s: float = 0.0       # reference AF time
    det_s: float = 0.0       # time called AF
    tp_s: float = 0.0        # both
    nonaf_rec_s: float = 0.0   # time of records without any AF
    nonaf_rec_det_s: float = 0.0   # of that, called AF
    rec_tp: int = 0          # records (with AF) with any AF called
    rec_af: int = 0
    rec_fp: int = 0          # records without AF with any AF called
    rec_nonaf: int = 0

    @property
    def se(self):
        return 100 * self.tp_s / self.ref_s if self.ref_s > 0 else float("nan")

    @property
    def ppv(self):
        return 100 * self.tp_s / self.det_s if self.det_s > 0 else float("nan")

    @property
    def f1(self):
        se, p = self.se, self.ppv
        return 2 * se * p / (se + p) / 100 if se == se and p == p and se + p > 0 else float("nan")

    @property
    def false_af_pct(self):
        return 100 * self.nonaf_rec_det_s / self.nonaf_rec_s if self.nonaf_rec_s > 0 else float("nan")

    def as_dict(self):
        return {"af_s": round(self.ref_s, 1), "called_af_s": round(self.det_s, 1), "dur_se": _r(self.se), "dur_ppv": _r(self.ppv),
                "f1": _r(self.f1, 3), "records_af": self.rec_af, "records_af_found": self.rec_tp,
                "records_non_af": self.rec_nonaf, "records_non_af_with_false_af": self.rec_fp,
                "false_af_pct_of_non_af_time": _r(self.false_af_pct, 2)}


def _r(x, d=1):
    return None if x != x else round(float(x), d)


def score(w: Windows, decs, per_record: bool = False):
    """Duration Se/+P against the reference, per source (and per record when asked)."""
    by: dict = {}
    rec_scores: dict = {}
    called: dict = {}
    for s, r, a, b, af in decs:
        if af:
            called.setdefault((s, r), []).append((a, b))
    for key in dict.fromkeys(zip(w.source, w.record)):
        s, r = key
        dur, ref = w.ref[key]
        sc = by.setdefault(s, Score())
        rs = rec_scores.setdefault(key, Score())
        det = _merge(called.get(key, []))
        ref_t = sum(e - o for o, e in ref)
        det_t = sum(e - o for o, e in det)
        tp = sum(max(0.0, min(e1, e2) - max(o1, o2)) for o1, e1 in ref for o2, e2 in det)
        for x in (sc, rs):
            x.ref_s += ref_t
            x.det_s += det_t
            x.tp_s += tp
            if ref_t > 0:
                x.rec_af += 1
                x.rec_tp += int(tp > 0)
            else:
                x.rec_nonaf += 1
                x.rec_fp += int(det_t > 0)
                x.nonaf_rec_s += dur
                x.nonaf_rec_det_s += det_t
    return (by, rec_scores) if per_record else by


def _merge(iv):
    iv = sorted(iv)
    out = []
    for a, b in iv:
        if out and a <= out[-1][1] + 1e-6:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


# ------------------------------------------------------------------------------------------------------------ models
def standardise(X: np.ndarray):
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-6] = 1.0
    return mean, scale


def fit_logistic(X: np.ndarray, y: np.ndarray, C: float = 1.0, class_weight="balanced", sample_weight=None):
    """L2 logistic regression on standardised features; returns (mean, scale, weights, bias)."""
    from sklearn.linear_model import LogisticRegression
    mean, scale = standardise(X)
    Z = (X - mean) / scale
    lr = LogisticRegression(C=C, class_weight=class_weight, max_iter=2000)
    lr.fit(Z, y, sample_weight=sample_weight)
    return mean, scale, lr.coef_[0].copy(), float(lr.intercept_[0])


def predict(model, X: np.ndarray) -> np.ndarray:
    mean, scale, wts, bias = model
    z = bias + ((X - mean) / scale) @ wts
    return 1.0 / (1.0 + np.exp(-z))


def source_weights(w: Windows, mask: np.ndarray) -> np.ndarray:
    """Sample weights for the windows of `mask` that give, within each class, every source the same total weight (the
    9,000 mitdb windows would otherwise drown the 10-s databases, and an AF-only source such as the AF Termination
    database would set the AF prior), while the two classes keep their pooled share of the training windows."""
    y = w.y[mask]
    src = w.source[mask]
    sw = np.zeros(len(y))
    for cls in (0, 1):
        in_cls = y == cls
        if not in_cls.any():
            continue
        sources = np.unique(src[in_cls])
        for s in sources:
            m = in_cls & (src == s)
            sw[m] = in_cls.sum() / len(sources) / m.sum()
    return sw
