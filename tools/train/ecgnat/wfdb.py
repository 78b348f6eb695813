"""Minimal WFDB reader (headers, signals in format 212/16 incl. byte offsets and .mat, MIT annotations).

Written for the EcgEdge training pipeline; no dependency on the `wfdb` package.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import numpy as np

# MIT annotation codes -> mnemonic (subset of ecgcodes.h that matters here).
ANN_SYMBOL = {
    1: "N", 2: "L", 3: "R", 4: "a", 5: "V", 6: "F", 7: "J", 8: "A", 9: "S", 10: "E", 11: "j", 12: "/",
    13: "Q", 14: "~", 16: "|", 18: "s", 19: "T", 20: "*", 21: "D", 22: '"', 23: "=", 24: "p", 25: "B",
    26: "^", 27: "t", 28: "+", 29: "u", 30: "?", 31: "!", 32: "[", 33: "]", 34: "e", 35: "n", 36: "@",
    37: "x", 38: "f", 39: "(", 40: ")", 41: "r",
}
SKIP, NUM, SUB, CHN, AUX = 59, 60, 61, 62, 63


@dataclass
class SignalSpec:
    file: str
    fmt: int
    byte_offset: int
    gain: float
    baseline: int
    units: str
    adc_zero: int
    init: int
    checksum: int
    name: str


@dataclass
class Header:
    record: str
    nsig: int
    fs: float
    nsamp: int
    signals: list[SignalSpec] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)


def read_header(path: str) -> Header:
    """Parse a WFDB .hea file (path with or without the .hea suffix)."""
    if not path.endswith(".hea"):
        path += ".hea"
    with open(path, "r", encoding="latin-1") as f:
        lines = [ln.rstrip("\r\n") for ln in f]
    comments = [ln.lstrip("#").strip() for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines if ln.strip() and not ln.startswith("#")]
    first = body[0].split()
    rec = first[0]
    nsig = int(first[1])
    fs = float(first[2].split("/")[0].split("(")[0]) if len(first) > 2 else 250.0
    nsamp = int(first[3]) if len(first) > 3 else 0
    sigs = []
    for ln in body[1:1 + nsig]:
        t = ln.split()
        fname = t[0]
        m = re.match(r"^(\d+)(?:x\d+)?(?::\d+)?(?:\+(\d+))?$", t[1])
        if not m:
            raise ValueError(f"unsupported format spec {t[1]!r} in {path}")
        fmt = int(m.group(1))
        off = int(m.group(2) or 0)
        gain, baseline, units = 200.0, None, "mV"
        if len(t) > 2:
            g = re.match(r"^([-+0-9.eE]+)(?:\((-?\d+)\))?(?:/(\S+))?$", t[2])
            if g:
                gain = float(g.group(1))
                if g.group(2) is not None:
                    baseline = int(g.group(2))
                if g.group(3):
                    units = g.group(3)
        if gain == 0:
            gain = 200.0  # WFDB: uncalibrated -> default gain
        adc_zero = int(t[4]) if len(t) > 4 else 0
        if baseline is None:
            baseline = adc_zero
        init = int(t[5]) if len(t) > 5 else 0
        cks = int(t[6]) if len(t) > 6 else 0
        name = " ".join(t[8:]) if len(t) > 8 else f"sig{len(sigs)}"
        sigs.append(SignalSpec(fname, fmt, off, gain, baseline, units, adc_zero, init, cks, name))
    return Header(rec, nsig, fs, nsamp, sigs, comments)


def signature(hdr: Header) -> str:
    """The record identity model manifests list their training records by (C#: WfdbHeader.Signature):
    "name/fs/samples/checksum of signal 0", fs with at most 3 decimals."""
    fs = f"{hdr.fs:.3f}".rstrip("0").rstrip(".")
    cks = hdr.signals[0].checksum if hdr.signals else 0
    return f"{hdr.record}/{fs}/{hdr.nsamp}/{cks}"


def _decode(raw: bytes, fmt: int) -> np.ndarray:
    if fmt == 16:
        return np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2").astype(np.int32)
    if fmt == 212:
        b = np.frombuffer(raw[: len(raw) // 3 * 3], dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        s0 = b[:, 0] | ((b[:, 1] & 0x0F) << 8)
        s1 = b[:, 2] | ((b[:, 1] & 0xF0) << 4)
        out = np.empty(b.shape[0] * 2, dtype=np.int32)
        out[0::2], out[1::2] = s0, s1
        out[out >= 2048] -= 4096
        return out
    if fmt == 80:
        return np.frombuffer(raw, dtype=np.uint8).astype(np.int32) - 128
    raise ValueError(f"WFDB format {fmt} not supported")


def read_record(path: str) -> tuple[Header, np.ndarray]:
    """Return (header, digital samples [nsig, nsamp] int32). Signals sharing a file are de-interleaved."""
    hdr = read_header(path)
    base = os.path.dirname(path if not path.endswith(".hea") else path[:-4])
    out = [None] * hdr.nsig
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(hdr.signals):
        groups.setdefault(s.file, []).append(i)
    for fname, idx in groups.items():
        s0 = hdr.signals[idx[0]]
        with open(os.path.join(base, fname), "rb") as f:
            f.seek(s0.byte_offset)
            raw = f.read()
        flat = _decode(raw, s0.fmt)
        n = len(flat) // len(idx)
        if hdr.nsamp:
            n = min(n, hdr.nsamp)
        frames = flat[: n * len(idx)].reshape(n, len(idx))
        for j, i in enumerate(idx):
            out[i] = frames[:, j]
    dig = np.stack(out).astype(np.int32)
    if not hdr.nsamp:
        hdr.nsamp = dig.shape[1]
    return hdr, dig


def to_microvolts(hdr: Header, dig: np.ndarray) -> np.ndarray:
    """Digital -> physical microvolts, float64 [nsig, nsamp]."""
    out = np.empty(dig.shape, dtype=np.float64)
    for i, s in enumerate(hdr.signals):
        scale = {"mv": 1000.0, "uv": 1.0, "μv": 1.0, "v": 1e6}.get(s.units.lower(), 1000.0)
        out[i] = (dig[i] - s.baseline) / s.gain * scale
    return out


def checksum_ok(hdr: Header, dig: np.ndarray) -> bool:
    """16-bit checksum and first value against the header."""
    for i, s in enumerate(hdr.signals):
        if int(dig[i, 0]) != s.init:
            return False
        c = int(np.sum(dig[i].astype(np.int64))) & 0xFFFF
        if c != (s.checksum & 0xFFFF):
            return False
    return True


@dataclass
class Annotations:
    sample: np.ndarray      # int64
    code: np.ndarray        # int16 (MIT code)
    symbol: list[str]
    aux: list[str]
    sub: np.ndarray
    chan: np.ndarray
    num: np.ndarray


def read_annotations(path: str) -> Annotations:
    """Read an MIT-format annotation file (e.g. 100.atr)."""
    with open(path, "rb") as f:
        w = np.frombuffer(f.read(), dtype="<u2")
    t = 0
    samples, codes, auxs, subs, chans, nums = [], [], [], [], [], []
    cur_sub = cur_chan = cur_num = 0
    i, n = 0, len(w)
    while i < n:
        a, d = int(w[i]) >> 10, int(w[i]) & 0x3FF
        i += 1
        if a == 0 and d == 0:
            break
        if a == SKIP:
            hi, lo = int(w[i]), int(w[i + 1])
            i += 2
            v = (hi << 16) | lo
            if v >= 1 << 31:
                v -= 1 << 32
            t += v
        elif a == AUX:
            nb = d
            nw = (nb + 1) // 2
            raw = w[i:i + nw].tobytes()[:nb]
            i += nw
            if auxs:
                auxs[-1] = raw.split(b"\x00")[0].decode("latin-1")
        elif a == NUM:
            cur_num = d
            if nums:
                nums[-1] = d
        elif a == SUB:
            if subs:
                subs[-1] = d
        elif a == CHN:
            cur_chan = d
            if chans:
                chans[-1] = d
        else:
            t += d
            samples.append(t)
            codes.append(a)
            auxs.append("")
            subs.append(cur_sub)
            chans.append(cur_chan)
            nums.append(cur_num)
    return Annotations(np.array(samples, dtype=np.int64), np.array(codes, dtype=np.int16),
                       [ANN_SYMBOL.get(c, "?") for c in codes], auxs,
                       np.array(subs, dtype=np.int16), np.array(chans, dtype=np.int16), np.array(nums, dtype=np.int16))
