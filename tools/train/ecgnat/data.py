"""Dataset building (cached), labels, folds, window sampling and augmentation.

Every record is conditioned with ecgnat.signal (the device chain) to 250 Hz millivolts and stored in the cache as
one .npz per record, keyed by a hash of the chain parameters and this module's CACHE_VERSION.
"""
from __future__ import annotations

import ast
import csv
import hashlib
import json
import os
import time
import zlib
from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

from . import signal as S
from . import wfdb
from .rhythm import SAME_PATIENT, record_path
from .model import MORPH_DIM, RR_DIM_BASE, ModelConfig

CACHE_VERSION = "v3"
LEADS = ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"]
LEAD_ALIASES = {"MLII": "II", "ML II": "II", "I": "I", "II": "II"}
BEAT_CLASSES = ["N", "S", "V", "F", "Q"]
AAMI = {**{c: 0 for c in "NLRej"}, **{c: 1 for c in "aJSA"}, **{c: 2 for c in "VE"}, "F": 3,
        **{c: 4 for c in "/fQ"}}
RHYTHM_CLASSES = ["sinus_other", "af_afl", "noise", "vt_vf"]
R_SINUS, R_AF, R_NOISE, R_VT = 0, 1, 2, 3
WIN = 2500          # 10 s at 250 Hz
HOP = 1250          # 5 s
FS = S.FS_MODEL

DS1 = [101, 106, 108, 109, 112, 114, 115, 116, 118, 119, 122, 124, 201, 203, 205, 207, 208, 209, 215, 220, 223, 230]
PACED = [102, 104, 107, 217]
# Fixed record-wise 5-fold assignment of DS1 (balanced by hand on S/V/F/AF content; AF records 201/203 apart).
DS1_FOLDS = [[101, 106, 115, 209, 230], [108, 122, 201, 208, 220], [109, 112, 118, 203],
             [114, 119, 207, 223], [116, 124, 205, 215]]
N_FOLDS = 5
# RR-interval input of the model (beat_rr [B, tokens, RR_DIM]); the C# InferenceStage computes the same features
# from its detector's beats (RrFeatures.cs). Definition, per beat i of a stream (positions in samples):
#   pre_i = t_i - t_{i-1}, post_i = t_{i+1} - t_i (seconds); med_i = median of the last RR_HISTORY intervals ending
#   at or before beat i (pre_i included); first beat: pre = med = post (0.8 s if alone); post unknown -> post = pre.
#   features at the beat's fine token: [1, clip(pre/med - 1), clip(post/med - 1), clip(med - 0.8)], zeros elsewhere.
RR_DIM = 4
RR_HISTORY = 32
RR_CLIP = (-1.0, 3.0)
RR_MED_CLIP = (-0.6, 1.2)
RR_MED_CENTRE = 0.8
# Shape features: three more beat_rr channels per beat, its QRS shape against the patient's own recent beats
# (morph_features), read by the per-beat feature head (--feature-head, shipped since 0.2.0; the network reads only the
# RR channels); RR_DIM becomes RR_DIM_BASE + MORPH_DIM (set_beat_features; both constants live in model.py).
MORPH_BEFORE, MORPH_AFTER = 25, 38          # snippet -100 ms .. +148 ms around the beat at 250 Hz
MORPH_HISTORY = 16                          # template = per-sample median of the previous 16 beats' snippets
MORPH_MIN_HISTORY = 3                       # fewer complete snippets before the beat: its features are 0
MORPH_SHIFT = 3                             # the beat is aligned to the template within +-3 samples
MORPH_CLIP = ((0.0, 2.0), (0.0, 3.0), (-1.5, 1.5))
SNOMED_AF = {"164889003", "164890007"}

def fold_of_ds1(rec: int) -> int:
    for k, f in enumerate(DS1_FOLDS):
        if rec in f:
            return k
    return -1


def hashed_fold(key: str) -> int:
    return zlib.crc32(key.encode()) % N_FOLDS


def rhythm_of_aux(aux: str) -> int:
    a = aux.strip("\x00 ").upper()
    if a.startswith("(AFIB") or a.startswith("(AFL"):
        return R_AF
    if a.startswith("(VT") or a.startswith("(VFL") or a.startswith("(VF"):
        return R_VT
    return R_SINUS


def lead_channel(name: str) -> int:
    n = name.strip().upper()
    n = LEAD_ALIASES.get(n, n)
    return LEADS.index(n) if n in LEADS else -1


# The device's own lead names (src/EcgEdge.Core/Signals/Lead.cs, Leads.TryParse), upper case without spaces.
DEVICE_LEAD_NAMES = {"I": 0, "LEADI": 0, "II": 1, "MLII": 1, "ML2": 1, "LEADII": 1, "V1": 2, "MLV1": 2, "V2": 3,
                     "V3": 4, "V4": 5, "V5": 6, "MLV5": 6, "V6": 7}


def device_lead_map(names: list[str]) -> list[int]:
    """Per signal, the model channel the device feeds it to, or -1: the twin of LeadMapping.Map without --leads
    (src/EcgEdge.Acquisition/Replay/LeadMapping.cs). A recognised label feeds its channel (each channel once); when no
    label is recognised (QTDB's unnamed signals, Holter leads such as CM5, CC5 or D3 alone) the first signal feeds II.
    Used for the QTDB beat source so that a network trained on it sees its records as `ecgedge eval` replays them."""
    out, taken = [], set()
    for nm in names:
        c = DEVICE_LEAD_NAMES.get(nm.strip().upper().replace(" ", ""), -1)
        if c >= 0 and c not in taken:
            taken.add(c)
            out.append(c)
        else:
            out.append(-1)
    if out and all(c < 0 for c in out):
        out[0] = LEADS.index("II")
    return out


# ----------------------------------------------------------------------------------------------------------------
# record catalogue
@dataclass
class RecSpec:
    dataset: str
    record: str
    path: str          # WFDB path without suffix
    mains: float
    group: str         # ds1 | paced | nst | noise | cpsc | ptbxl | cinc | ludb | qtdb (qtdb_beats only)
    patient: str
    fold: int          # -1 = never a test record (paced, nst, noise)
    ann: str | None = None
    rhythm: int | None = None   # record-level rhythm label (10-s datasets)


def qtdb_fold(record: str) -> int:
    """CV fold of a QTDB record: the DS1 fold of the MIT-BIH record it is an excerpt of (rhythm.SAME_PATIENT: sel114 ->
    114's), -1 for the paced patients' (sel102, sel104: mitdb 102 and 104 train every fold, so these do too), else a
    hashed fold."""
    twin = SAME_PATIENT.get(("qtdb", record))
    return fold_of_ds1(int(twin[1])) if twin else hashed_fold(f"qtdb{record}")


def qtdb_specs(data_root: str) -> list[RecSpec]:
    """QTDB as a beat source (train.sh --qtdb-beats): the records with reference beat annotations (.atr; 73 of 88, not
    the sudden-death excerpts), mains 50 Hz for the European ST-T excerpts (sele*) and 60 Hz for the US ones, as the
    rhythm export conditions them (rhythm/export_features.sh). The same-patient excerpts of MIT-BIH records share the
    patient key and the fold of their MIT-BIH record (rhythm.SAME_PATIENT)."""
    q = os.path.join(data_root, "qtdb")
    if not os.path.isdir(q):
        return []
    out = []
    for h in sorted(os.listdir(q)):
        r = h[:-4]
        if not h.endswith(".hea") or not os.path.exists(os.path.join(q, r + ".atr")):
            continue
        twin = SAME_PATIENT.get(("qtdb", r))
        out.append(RecSpec("qtdb", r, os.path.join(q, r), 50.0 if r.startswith("sele") else 60.0, "qtdb",
                           f"mitdb{twin[1]}" if twin else f"qtdb{r}", qtdb_fold(r), os.path.join(q, r + ".atr")))
    return out


def qtdb_in_run(work: str) -> bool:
    """Whether the training run in work fine-tuned on QTDB (train.sh --qtdb-beats): its build summary lists the group."""
    p = os.path.join(work, "results", "data.json")
    if not os.path.exists(p):
        return False
    with open(p) as f:
        return "qtdb" in json.load(f).get("by_group", {})


def catalogue(data_root: str, qtdb_beats: bool = False) -> list[RecSpec]:
    """Every record the pipeline knows; QTDB's annotated records too with qtdb_beats (not in the shipped recipe)."""
    R = []
    mit = os.path.join(data_root, "mitdb")
    for r in DS1 + PACED:
        R.append(RecSpec("mitdb", str(r), os.path.join(mit, str(r)), 60.0, "ds1" if r in DS1 else "paced",
                         f"mitdb{r}", fold_of_ds1(r), os.path.join(mit, f"{r}.atr")))
    nst = os.path.join(data_root, "nstdb")
    for r in ["118e00", "118e06", "118e12", "118e24"]:
        R.append(RecSpec("nstdb", r, os.path.join(nst, r), 60.0, "nst", "mitdb118", -1, os.path.join(nst, f"{r}.atr")))
    for r in ["bw", "ma"]:
        R.append(RecSpec("nstdb", r, os.path.join(nst, r), 60.0, "noise", r, -1))
    cp = os.path.join(data_root, "cpsc2021-sample")
    for h in sorted(os.listdir(cp)):
        if h.endswith(".hea"):
            r = h[:-4]
            subj = r.split("_")[1]
            R.append(RecSpec("cpsc2021", r, os.path.join(cp, r), 50.0, "cpsc", f"cpsc{subj}", hashed_fold(f"cpsc{subj}"),
                             os.path.join(cp, f"{r}.atr")))
    px = os.path.join(data_root, "ptbxl")
    with open(os.path.join(px, "ptbxl_database.csv"), newline="") as f:
        for row in csv.DictReader(f):
            codes = ast.literal_eval(row["scp_codes"])
            rh = R_AF if ("AFIB" in codes or "AFLT" in codes) else R_SINUS
            pid = str(int(float(row["patient_id"])))
            R.append(RecSpec("ptbxl", row["ecg_id"], os.path.join(px, row["filename_hr"]), 50.0, "ptbxl", f"ptbxl{pid}",
                             hashed_fold(f"ptbxl{pid}"), None, rh))
    cc = os.path.join(data_root, "cinc2021-sample")
    for h in sorted(os.listdir(cc)):
        if h.endswith(".hea"):
            r = h[:-4]
            hdr = wfdb.read_header(os.path.join(cc, r))
            dx = set()
            for c in hdr.comments:
                if c.startswith("Dx:"):
                    dx = {x.strip() for x in c[3:].split(",")}
            R.append(RecSpec("cinc2021", r, os.path.join(cc, r), 60.0 if r.startswith("E") else 50.0, "cinc",
                             f"cinc{r}", hashed_fold(f"cinc{r}"), None, R_AF if dx & SNOMED_AF else R_SINUS))
    lu = os.path.join(data_root, "ludb", "data")
    for i in range(1, 201):
        p = os.path.join(lu, str(i))
        if not os.path.exists(p + ".hea"):
            continue
        hdr = wfdb.read_header(p)
        low = [c.lower() for c in hdr.comments]
        rh = R_AF if any(c.startswith("rhythm:") and ("fibrillation" in c or "flutter" in c) for c in low) else R_SINUS
        R.append(RecSpec("ludb", str(i), p, 50.0, "ludb", f"ludb{i}", hashed_fold(f"ludb{i}"), None, rh))
    if qtdb_beats:
        R += qtdb_specs(data_root)
    return R


def training_signatures(data_root: str, specs: list[RecSpec]) -> list[str]:
    """The identities (wfdb.signature, as manifests' training_records list them) of the records specs name, and of the
    same recordings under another database's name (QTDB's excerpts of MIT-BIH records, rhythm.SAME_PATIENT): a figure
    on sel223 is a figure on a patient trained on as 223."""
    out = {wfdb.signature(wfdb.read_header(s.path)) for s in specs}
    keys = {(s.dataset, s.record) for s in specs}
    for (src, rec), twin in SAME_PATIENT.items():
        p = record_path(data_root, src, rec)
        if twin in keys and os.path.exists(p + ".hea"):
            out.add(wfdb.signature(wfdb.read_header(p)))
    return sorted(out)


def cache_key() -> str:
    h = hashlib.sha256()
    h.update(CACHE_VERSION.encode())
    for m in (50.0, 60.0):
        h.update(S.design_sos(m).tobytes())
    h.update(f"{S.FS_COND},{S.FS_MODEL}".encode())
    return h.hexdigest()[:12]


def _build_one(spec: RecSpec) -> dict:
    hdr, dig = wfdb.read_record(spec.path)
    uv = wfdb.to_microvolts(hdr, dig)
    chans, rows = [], []
    dev = device_lead_map([s.name for s in hdr.signals]) if spec.group == "qtdb" else None
    for i, s in enumerate(hdr.signals):
        c = i if spec.group == "noise" else dev[i] if dev is not None else lead_channel(s.name)
        if c >= 0 and c not in chans:
            chans.append(c)
            rows.append(i)
    sig = S.condition_record(uv[rows], hdr.fs, spec.mains)
    out = {"sig": sig, "chans": np.array(chans, np.int8), "fs_orig": np.float64(hdr.fs)}
    n = sig.shape[1]
    bpos, bcls, rs, rc = [], [], [0], [R_SINUS if spec.rhythm is None else spec.rhythm]
    if spec.ann and os.path.exists(spec.ann):
        a = wfdb.read_annotations(spec.ann)
        pos = S.sample_to_model_index(a.sample, hdr.fs) + S.qrs_group_delay_samples(spec.mains)
        for p, sym, aux in zip(pos, a.symbol, a.aux):
            if sym in AAMI:
                bpos.append(p)
                bcls.append(AAMI[sym])
            if aux.startswith("("):
                rs.append(int(p))
                rc.append(rhythm_of_aux(aux))
    bpos = np.array(bpos, np.int64)
    keep = (bpos >= 0) & (bpos < n)
    out["beat_pos"] = bpos[keep].astype(np.int32)
    out["beat_cls"] = np.array(bcls, np.int8)[keep] if len(bcls) else np.zeros(0, np.int8)
    # rhythm as piecewise-constant intervals [start, next start)
    rs = np.clip(np.array(rs, np.int64), 0, n)
    out["rhy_start"] = rs.astype(np.int32)
    out["rhy_cls"] = np.array(rc, np.int8)
    return out


class Record:
    __slots__ = ("spec", "sig", "chans", "beat_pos", "beat_cls", "rhy_start", "rhy_cls", "n", "rhy_cov_cache",
                 "rr_pos", "rr_feat")

    def __init__(self, spec: RecSpec, d: dict, max_len: int | None = None, morph: bool = False):
        self.spec = spec
        sig = d["sig"]
        if max_len:
            sig = sig[:, :max_len]
        self.sig = np.ascontiguousarray(sig, dtype=np.float32)
        self.n = self.sig.shape[1]
        self.chans = d["chans"].astype(np.int64)
        bp = d["beat_pos"].astype(np.int64)
        keep = bp < self.n
        self.beat_pos = bp[keep]
        self.beat_cls = d["beat_cls"].astype(np.int64)[keep]
        self.rhy_start = d["rhy_start"].astype(np.int64)
        self.rhy_cls = d["rhy_cls"].astype(np.int64)
        # beats for the RR input: the reference annotations where there are any (the labelled beats), otherwise
        # a simple detector (10-s datasets without beat annotations; noise records have none)
        if len(self.beat_pos) or spec.group == "noise":
            self.rr_pos = self.beat_pos
        else:
            self.rr_pos = detect_beats(self.sig)
        self.rr_feat = rr_features(self.rr_pos)
        if morph:           # the shape channels after the RR ones (for a feature head: set_beat_features)
            self.rr_feat = np.concatenate([self.rr_feat, morph_features(self.sig, self.chans, self.rr_pos)], axis=1)

    @property
    def has_beats(self) -> bool:
        return len(self.beat_pos) > 0

    def rhythm_cover(self, s: int, e: int) -> np.ndarray:
        """Samples of each rhythm class within [s, e)."""
        cov = np.zeros(len(RHYTHM_CLASSES), np.int64)
        bounds = np.append(self.rhy_start, self.n)
        for i in range(len(self.rhy_cls)):
            a, b = max(s, bounds[i]), min(e, bounds[i + 1])
            if b > a:
                cov[self.rhy_cls[i]] += b - a
        return cov

    def window_rhythm(self, s: int, train: bool) -> int:
        cov = self.rhythm_cover(s, s + WIN)
        if cov[R_VT] >= 2 * FS:                     # >= 2 s of VT/VF in the window
            return R_VT
        f_af = cov[R_AF] / WIN
        if train and 0.2 < f_af < 0.8:
            return -1                               # ambiguous transition window: no rhythm loss
        return R_AF if f_af >= 0.5 else R_SINUS

    def window(self, s: int) -> tuple[np.ndarray, np.ndarray]:
        x = np.zeros((8, WIN), np.float32)
        m = np.zeros(8, np.float32)
        seg = self.sig[:, s:s + WIN]
        x[self.chans, :seg.shape[1]] = seg
        m[self.chans] = 1.0
        return x, m

    def beats_in(self, s: int, margin: int = 0) -> tuple[np.ndarray, np.ndarray]:
        i0 = np.searchsorted(self.beat_pos, s + margin)
        i1 = np.searchsorted(self.beat_pos, s + WIN - margin)
        return self.beat_pos[i0:i1] - s, self.beat_cls[i0:i1]

    def rr_span(self, s: int) -> tuple[int, int]:
        """Index range [i0, i1) of the RR beats (rr_pos) in the window [s, s + WIN)."""
        return int(np.searchsorted(self.rr_pos, s)), int(np.searchsorted(self.rr_pos, s + WIN))

    def rr_window(self, s: int) -> np.ndarray:
        """beat_rr input [tokens, RR_DIM] for the window starting at s."""
        i0, i1 = self.rr_span(s)
        return rr_tensor(self.rr_pos[i0:i1] - s, self.rr_feat[i0:i1])

    def grid_starts(self) -> np.ndarray:
        if self.n <= WIN:
            return np.array([0])
        st = list(range(0, self.n - WIN + 1, HOP))
        if st[-1] != self.n - WIN:
            st.append(self.n - WIN)
        return np.array(st)


TOKENS = ModelConfig().tokens()[0]          # fine tokens per window (312)
TOKEN_STRIDE = ModelConfig().stem_stride    # samples per fine token (8)


def rr_features(pos: np.ndarray, fs: float = FS) -> np.ndarray:
    """[n, 3] RR features (pre/med - 1, post/med - 1, med - 0.8 s, clipped) of beats at sorted positions pos."""
    n = len(pos)
    out = np.zeros((n, 3), np.float32)
    if n == 0:
        return out
    rr = np.diff(pos.astype(np.float64)) / fs
    pre = np.empty(n)
    post = np.empty(n)
    med = np.empty(n)
    pre[1:] = rr
    post[:-1] = rr
    for i in range(1, n):
        med[i] = np.median(rr[max(0, i - RR_HISTORY):i])
    if n > 1:
        pre[0] = med[0] = rr[0]
    else:
        pre[0] = med[0] = RR_MED_CENTRE
    post[-1] = pre[-1]
    med = np.maximum(med, 1e-3)
    out[:, 0] = np.clip(pre / med - 1.0, *RR_CLIP)
    out[:, 1] = np.clip(post / med - 1.0, *RR_CLIP)
    out[:, 2] = np.clip(med - RR_MED_CENTRE, *RR_MED_CLIP)
    return out


def morph_lead(chans: np.ndarray) -> int:
    """Row of the record's signal the shape features use: lead II if present, else the first lead."""
    hit = np.flatnonzero(np.asarray(chans) == LEADS.index("II"))
    return int(hit[0]) if len(hit) else 0


def morph_features(sig: np.ndarray, chans: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """[n, MORPH_DIM] shape of each beat against the patient's own recent beats, in one lead (morph_lead).

    Per beat: the snippet [p - MORPH_BEFORE, p + MORPH_AFTER) minus its median; the template is the per-sample median
    of the history, the entries of the previous MORPH_HISTORY beats with complete snippets (fewer than
    MORPH_MIN_HISTORY: the features are 0); the snippet is shifted within +-MORPH_SHIFT samples to its best correlation
    with the template (the first on ties). Features: 1 - correlation, |snippet - template| / (|template| + 1e-3) (L2),
    log((ptp snippet + 1e-3) / (ptp template + 1e-3)), clipped (MORPH_CLIP). A beat's history entry is that aligned
    snippet minus its median (before there is a template: the unshifted one), so detector jitter does not blur the
    template. A beat like the patient's usual beats gives ~0, whatever its absolute shape (a bundle-branch block stays
    ~0). The device computes the same (src/EcgEdge.Inference/BeatShape.cs)."""
    x = sig[morph_lead(chans)].astype(np.float64)
    n, L, S_ = len(pos), MORPH_BEFORE + MORPH_AFTER, MORPH_SHIFT
    out = np.zeros((n, MORPH_DIM), np.float32)
    if n == 0:
        return out
    wide = np.full((n, L + 2 * S_), np.nan)
    for i, p in enumerate(np.asarray(pos, np.int64)):
        a, b = p - MORPH_BEFORE - S_, p + MORPH_AFTER + S_
        if a >= 0 and b <= len(x):
            wide[i] = x[a:b]
    snip = wide[:, S_:S_ + L]
    snip = snip - np.median(snip, axis=1, keepdims=True)
    ok = ~np.isnan(snip).any(axis=1)
    hist = []
    for i in range(n):
        if ok[i] and len(hist) >= MORPH_MIN_HISTORY:
            t = np.median(np.array(hist), axis=0)
            tc = t - t.mean()
            best = None
            for sh in range(-S_, S_ + 1):
                w = wide[i, S_ + sh:S_ + sh + L]
                w = w - np.median(w)
                wc = w - w.mean()
                den = np.sqrt((wc * wc).sum() * (tc * tc).sum())
                r = (wc * tc).sum() / den if den > 1e-12 else 1.0
                if best is None or r > best[0]:
                    best = (r, w)
            r, w = best
            feats = (1.0 - r, np.linalg.norm(w - t) / (np.linalg.norm(t) + 1e-3),
                     np.log((np.ptp(w) + 1e-3) / (np.ptp(t) + 1e-3)))
            out[i] = [np.clip(v, lo, hi) for v, (lo, hi) in zip(feats, MORPH_CLIP)]
            hist.append(w)                  # aligned: beat-position jitter does not blur the template
        elif ok[i]:
            hist.append(snip[i])
        if len(hist) > MORPH_HISTORY:
            hist.pop(0)
    return out


def set_beat_features(shape: bool):
    """beat_rr width for this process: RR only, or RR + the shape features a feature head reads (the network reads
    the RR channels only, so its training draws exactly the random numbers of the RR-only recipe)."""
    global RR_DIM
    RR_DIM = RR_DIM_BASE + (MORPH_DIM if shape else 0)


def rr_tensor(pos_in_window: np.ndarray, feat: np.ndarray, tokens: int | None = None) -> np.ndarray:
    """Scatter per-beat RR features to fine tokens: [tokens, RR_DIM], channel 0 = 1 at beat tokens (default: the
    model's token grid)."""
    tokens = TOKENS if tokens is None else tokens
    t = np.zeros((tokens, RR_DIM), np.float32)
    if len(pos_in_window):
        tok = np.clip(np.asarray(pos_in_window) // TOKEN_STRIDE, 0, tokens - 1)
        t[tok, 0] = 1.0
        t[tok, 1:] = feat
    return t


def detect_beats(sig: np.ndarray, fs: float = FS) -> np.ndarray:
    """R-peak-ish positions for records without beat annotations (RR features only): peaks of the 150-ms moving
    average of the summed squared slope of all leads, at least 250 ms apart, above 30 % of its 99th percentile."""
    if sig.shape[1] < fs:
        return np.zeros(0, np.int64)
    d = np.diff(sig, axis=1, prepend=sig[:, :1])
    e = np.convolve((d.astype(np.float64) ** 2).sum(0), np.ones(int(0.15 * fs)) / int(0.15 * fs), mode="same")
    thr = 0.3 * np.percentile(e, 99)
    if thr <= 0:
        return np.zeros(0, np.int64)
    pk, _ = find_peaks(e, height=thr, distance=int(0.25 * fs))
    return pk.astype(np.int64)


def random_rr(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Beats a detector might report in an unreadable (heavy-noise) window: random intervals 0.25-1.5 s."""
    iv = rng.uniform(0.25, 1.5, size=64) * FS
    pos = (rng.uniform(0, 0.5) * FS + np.cumsum(iv)).astype(np.int64)
    pos = pos[pos < WIN]
    f = rr_features(pos)
    if RR_DIM > RR_DIM_BASE:        # only a feature head reads them, and never on these windows (no beat labels)
        f = np.concatenate([f, np.zeros((len(pos), MORPH_DIM), np.float32)], axis=1)
    return pos, f


def build_cache(data_root: str, cache_dir: str, specs: list[RecSpec], log=print) -> str:
    d = os.path.join(cache_dir, cache_key())
    os.makedirs(d, exist_ok=True)
    t0 = time.time()
    todo = [s for s in specs if not os.path.exists(os.path.join(d, f"{s.dataset}__{s.record}.npz"))]
    log(f"[build] cache {d}: {len(specs) - len(todo)} cached, {len(todo)} to build")
    for i, s in enumerate(todo):
        out = _build_one(s)
        tmp = os.path.join(d, f"{s.dataset}__{s.record}.tmp.npz")
        np.savez(tmp, **out)
        os.replace(tmp, os.path.join(d, f"{s.dataset}__{s.record}.npz"))
        if (i + 1) % 50 == 0 or i + 1 == len(todo):
            log(f"[build] {i + 1}/{len(todo)} records ({time.time() - t0:.0f}s)")
    return d


def load_records(cache_path: str, specs: list[RecSpec], max_len: int | None = None,
                 morph: bool = False) -> list[Record]:
    out = []
    for s in specs:
        with np.load(os.path.join(cache_path, f"{s.dataset}__{s.record}.npz")) as z:
            out.append(Record(s, {k: z[k] for k in z.files}, max_len, morph))
    return out


# ----------------------------------------------------------------------------------------------------------------
# noise sources (NSTDB bw, ma; em recovered as 118e00 - 118)
class NoiseBank:
    def __init__(self, recs: dict[str, Record], part: str):
        """part 'train' = first 70 % of each source, 'eval' = last 30 %."""
        src = {}
        if "bw" in recs:
            src["bw"] = recs["bw"].sig
        if "ma" in recs:
            src["ma"] = recs["ma"].sig
        if "118e00" in recs and "118" in recs:
            a, b = recs["118e00"].sig, recs["118"].sig
            n = min(a.shape[1], b.shape[1])
            em = a[:, :n] - b[:, :n]
            # keep only the noisy segments (nst switches em on in alternating 2-min blocks from minute 5)
            e = np.sqrt(np.convolve(em[0] ** 2, np.ones(FS) / FS, mode="same"))
            on = e > 0.1 * np.percentile(e, 99)
            src["em"] = em[:, on]
        self.src = {}
        for k, v in src.items():
            cut = int(v.shape[1] * 0.7)
            v = v[:, :cut] if part == "train" else v[:, cut:]
            v = v - v.mean(axis=1, keepdims=True)
            v = v / (v.std(axis=1, keepdims=True) + 1e-6)
            if v.shape[1] > WIN:
                self.src[k] = v.astype(np.float32)
        self.names = sorted(self.src)
        self.p = np.array([{"em": 0.5, "ma": 0.35, "bw": 0.15}[k] for k in self.names])
        self.p = self.p / self.p.sum() if len(self.p) else self.p

    def __bool__(self):
        return bool(self.src)

    def draw(self, rng: np.random.Generator, heavy: bool) -> np.ndarray:
        """Unit-rms noise for 8 leads [8, WIN]."""
        k = self.names[rng.choice(len(self.names), p=self.p)] if heavy else self.names[rng.integers(len(self.names))]
        v = self.src[k]
        s = rng.integers(0, v.shape[1] - WIN)
        ch = rng.integers(0, v.shape[0], size=8)
        return v[ch, s:s + WIN]

    def mix(self, rng, x, m, snr_db: float, heavy: bool):
        n = self.draw(rng, heavy)
        rms = np.sqrt(np.mean(x ** 2, axis=1, keepdims=True))
        rms = np.maximum(rms, 0.05)
        return (x + n * rms / (10 ** (snr_db / 20.0))) * m[:, None]


# ----------------------------------------------------------------------------------------------------------------
# batch sampling
@dataclass
class Batch:
    x: np.ndarray          # [B, 8, WIN]
    m: np.ndarray          # [B, 8]
    bb: np.ndarray         # beat -> batch index
    bt: np.ndarray         # beat -> sample index in window (250 Hz, jittered)
    bc: np.ndarray         # beat class
    rh: np.ndarray         # [B] rhythm label (-1 = none)
    rr: np.ndarray         # [B, TOKENS, RR_DIM] RR input


# Training beat positions: reference annotation + QRS group delay + uniform jitter of +-BEAT_JITTER samples at 250 Hz
# (+-8 ms; train.sh --beat-jitter N). The device queries the model at its own detector's positions, whose fiducial
# point differs from the annotation by a few samples, and by up to ~7 samples on some records (118: ~28 ms late,
# tools/train/compare_cs.py); the beat-context experiment trained with +-6 (docs/experiments/beat-context.md).
BEAT_JITTER = 2


class Sampler:
    """Random windows from a pool of records with class-aware weighting.

    candidate windows on a 1-s grid; weight by content (rare beats, AF, VT) when `balance`."""

    def __init__(self, recs: list[Record], rng: np.random.Generator, balance: bool, label_frac: float = 1.0,
                 noise: NoiseBank | None = None, aug: bool = True, p_noise_class: float = 0.08, p_mild: float = 0.3,
                 group_w: dict | None = None, beat_jitter: int | None = None):
        self.recs, self.rng, self.noise, self.aug = recs, rng, noise, aug
        self.beat_jitter = BEAT_JITTER if beat_jitter is None else beat_jitter
        self.p_noise_class, self.p_mild = p_noise_class, p_mild
        cand_r, cand_s, w = [], [], []
        step = FS if label_frac >= 1.0 else WIN   # label fractions are counted in non-overlapping 10-s segments
        for ri, r in enumerate(recs):
            starts = np.arange(0, max(r.n - WIN, 0) + 1, step) if r.n > WIN else np.array([0])
            for s in starts:
                cand_r.append(ri)
                cand_s.append(s)
                if balance:
                    _, c = r.beats_in(s, 0)
                    rh = r.window_rhythm(s, True)
                    wt = 1.0 + 6.0 * np.any(c == 1) + 2.0 * np.any(c == 2) + 3.0 * np.any(c == 3) \
                        + 1.0 * (rh == R_AF) + 4.0 * (rh == R_VT)
                else:
                    wt = 1.0
                w.append(wt)
        self.cand_r = np.array(cand_r)
        self.cand_s = np.array(cand_s)
        w = np.array(w, np.float64)
        if group_w:
            grp = np.array([recs[i].spec.group for i in cand_r])
            for gname in set(grp):
                sel = grp == gname
                w[sel] *= group_w.get(gname, 0.0) / w[sel].sum()
        if label_frac < 1.0:
            # keep a random label_frac share of candidate windows (at least one per label class present)
            n_keep = max(4, int(round(label_frac * len(w))))
            keep = rng.choice(len(w), size=min(n_keep, len(w)), replace=False)
            self.cand_r, self.cand_s, w = self.cand_r[keep], self.cand_s[keep], w[keep]
            self.jitter_s = 0        # labelled windows are fixed: no new positions
        else:
            self.jitter_s = FS // 2
        self.w = w / w.sum()

    def n_windows(self):
        return len(self.w)

    def batch(self, B: int, beat_jitter: int | None = None) -> Batch:
        beat_jitter = self.beat_jitter if beat_jitter is None else beat_jitter
        rng = self.rng
        idx = rng.choice(len(self.w), size=B, p=self.w)
        X = np.zeros((B, 8, WIN), np.float32)
        M = np.zeros((B, 8), np.float32)
        RH = np.full(B, -1, np.int64)
        RR = np.zeros((B, TOKENS, RR_DIM), np.float32)
        bb, bt, bc = [], [], []
        for b, ci in enumerate(idx):
            r = self.recs[self.cand_r[ci]]
            s = int(self.cand_s[ci])
            if self.jitter_s and r.n > WIN:
                s = int(np.clip(s + rng.integers(-self.jitter_s, self.jitter_s + 1), 0, r.n - WIN))
            x, m = r.window(s)
            rh = r.window_rhythm(s, True)
            # every beat of the window feeds the RR input; the labelled ones are those >= 10 samples from the edges
            # (an annotated record's RR beats are its labelled beats: same positions, same jitter)
            i0, i1 = r.rr_span(s)
            rpos = r.rr_pos[i0:i1] - s
            rj = rng.integers(-beat_jitter, beat_jitter + 1, size=len(rpos)) if beat_jitter else np.zeros(len(rpos), np.int64)
            rpos_j = np.clip(rpos + rj, 0, WIN - 1)
            rr = rr_tensor(rpos_j, r.rr_feat[i0:i1])
            lab = (rpos >= 10) & (rpos < WIN - 10) & r.has_beats
            pos_j = rpos_j[lab]
            cls = r.beat_cls[i0:i1][lab] if r.has_beats else np.zeros(0, np.int64)
            if self.aug:
                if m.sum() > 2 and rng.random() < 0.5:       # lead dropout (multi-lead records)
                    present = np.flatnonzero(m)
                    k = rng.integers(1, len(present) + 1)
                    keep = rng.choice(present, size=k, replace=False)
                    if rng.random() < 0.3 and m[1] > 0:
                        keep = np.array([1] + ([rng.choice(present)] if rng.random() < 0.5 else []))
                    m2 = np.zeros_like(m)
                    m2[keep] = 1
                    m, x = m2, x * m2[:, None]
                x = x * rng.uniform(0.7, 1.4) * rng.uniform(0.9, 1.1, size=(8, 1)).astype(np.float32)
                u = rng.random()
                if self.noise and u < self.p_noise_class:
                    if rng.random() < 0.15:          # flat / disconnected-looking trace: no beats
                        x = (rng.normal(0, 0.01, size=x.shape) * m[:, None]).astype(np.float32)
                        rr = np.zeros_like(rr)
                    else:
                        x = self.noise.mix(rng, x, m, rng.uniform(-12, -3), True)
                        if rng.random() < 0.5:       # the detector follows the noise
                            rr = rr_tensor(*random_rr(rng))
                    rh, pos_j, cls = R_NOISE, pos_j[:0], cls[:0]
                elif self.noise and u < self.p_noise_class + self.p_mild:
                    x = self.noise.mix(rng, x, m, rng.uniform(6, 24), False)
            X[b], M[b], RH[b], RR[b] = x, m, rh, rr
            if len(pos_j):
                bb.append(np.full(len(pos_j), b))
                bt.append(pos_j)
                bc.append(cls)
        cat = lambda L: np.concatenate(L) if L else np.zeros(0, np.int64)
        return Batch(X, M, cat(bb), cat(bt), cat(bc), RH, RR)
