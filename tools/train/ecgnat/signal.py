"""The signal chain shared with the C# device pipeline (fixed contract; do not change without the C# side).

raw (physical units) -> microvolts -> resample_poly to 500 Hz (default Kaiser window, reduced fraction 500/fs)
-> causal SOS cascade at 500 Hz [HP 0.5 Hz Butterworth-2, notch mains Q=30, LP 40 Hz Butterworth-4] via sosfilt
with initial state sosfilt_zi(sos) * x[0] (per lead) -> decimate by 2 (x[::2]) -> 250 Hz -> millivolts (uV/1000).
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np
from scipy import signal as ss

FS_COND = 500          # conditioning rate (Hz)
FS_MODEL = 250         # model input rate (Hz)
DECIM = FS_COND // FS_MODEL


@lru_cache(maxsize=4)
def design_sos(mains: float = 50.0, fs: float = FS_COND) -> np.ndarray:
    hp = ss.butter(2, 0.5, "highpass", fs=fs, output="sos")
    notch = ss.tf2sos(*ss.iirnotch(mains, 30, fs=fs))
    lp = ss.butter(4, 40, "lowpass", fs=fs, output="sos")
    return np.vstack([hp, notch, lp])


def resample_to_500(x_uv: np.ndarray, fs: float) -> np.ndarray:
    """x [..., N] in microvolts at fs -> 500 Hz with scipy.signal.resample_poly (identity if fs == 500)."""
    fr = Fraction(int(round(fs)), 1)
    r = Fraction(FS_COND, 1) / fr
    if r == 1:
        return np.asarray(x_uv, dtype=np.float64)
    return ss.resample_poly(np.asarray(x_uv, dtype=np.float64), r.numerator, r.denominator, axis=-1)


def condition_500(x500: np.ndarray, mains: float) -> np.ndarray:
    """Causal SOS cascade per lead, initial state sosfilt_zi(sos) * x[0] of that lead."""
    sos = design_sos(float(mains))
    zi0 = ss.sosfilt_zi(sos)                       # [n_sections, 2]
    x500 = np.atleast_2d(x500)
    zi = zi0[:, None, :] * x500[:, 0][None, :, None]  # [n_sections, n_leads, 2]
    y, _ = ss.sosfilt(sos, x500, axis=-1, zi=zi)
    return y


def condition_record(x_uv: np.ndarray, fs: float, mains: float) -> np.ndarray:
    """Full chain: [n_leads, N] microvolts at fs -> [n_leads, M] float32 millivolts at 250 Hz."""
    y = condition_500(resample_to_500(np.atleast_2d(x_uv), fs), mains)
    return (y[:, ::DECIM] / 1000.0).astype(np.float32)


def sample_to_model_index(sample: np.ndarray, fs: float) -> np.ndarray:
    """Annotation sample index at fs -> index at 250 Hz (before filter delay)."""
    return np.floor(np.asarray(sample, dtype=np.float64) * FS_MODEL / fs + 0.5).astype(np.int64)


@lru_cache(maxsize=4)
def qrs_group_delay_samples(mains: float = 50.0) -> int:
    """Group delay of the cascade around QRS frequencies (10-15 Hz), in 250-Hz samples (rounded).
    The device detector sees the filtered signal, so R peaks appear this much later than the annotation."""
    sos = design_sos(float(mains))
    b, a = ss.sos2tf(sos)
    w, gd = ss.group_delay((b, a), w=np.array([10.0, 12.5, 15.0]), fs=FS_COND)
    return int(round(float(np.mean(gd)) / DECIM))
