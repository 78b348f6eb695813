#!/usr/bin/python3
"""Writes SciPy reference vectors that the C# DSP tests compare against (tests/EcgEdge.Tests/Resources/).

Run with Debian's python3 (numpy + scipy):  /usr/bin/python3 tools/testdata/make_dsp_reference.py
The input is a fixed pseudo-random signal; the outputs are SciPy's own results, not ours.
"""
import json
import os

import numpy as np
from scipy import signal

out = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "EcgEdge.Tests", "Resources", "scipy_reference.json")
rng = np.random.default_rng(20261123)
x = rng.standard_normal(700).cumsum() * 10 + rng.standard_normal(700) * 50  # wander + broadband, µV-like

ref = {"input": x.tolist(), "resample": [], "sosfilt": []}
for up, down in [(25, 18), (5, 2), (2, 1), (1, 2), (125, 64)]:
    y = signal.resample_poly(x, up, down)
    ref["resample"].append({"up": up, "down": down, "output": y.tolist()})

fs = 500.0
sos = np.vstack([
    signal.butter(2, 0.5, "highpass", fs=fs, output="sos"),
    signal.tf2sos(*signal.iirnotch(50.0, 30.0, fs=fs)),
    signal.butter(4, 40.0, "lowpass", fs=fs, output="sos"),
])
zi = signal.sosfilt_zi(sos) * x[0]
y, _ = signal.sosfilt(sos, x, zi=zi)
ref["sosfilt"].append({"fs": fs, "sos": sos.tolist(), "output": y.tolist()})
with open(out, "w") as f:
    json.dump(ref, f)
print("wrote", os.path.normpath(out))
