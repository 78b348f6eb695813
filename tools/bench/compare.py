#!/usr/bin/python3
"""Peer comparison, Python side: PyTorch eager vs our ONNX Runtime path, SciPy sosfilt vs our conditioning.

Called by tools/bench/compare.sh after the two C# commands have written their timings and outputs:

  ecgedge bench inference     -> JSON {"threads","runs","int8":{mean,p50,p99,min,max},"fp32":{...}} (ms/window)
                                 and DIR/{int8,fp32}_{beat,rhythm}_logits.bin for the 16 reference windows
  ecgedge bench conditioning  -> JSON {"us_per_signal_second","spread":[min,max],"channels","samples_per_channel",
                                 "fs","repeats"} and DIR/input.f32, DIR/output.f32 ([C, N] planar, mV), DIR/sos.json

This script times the same work in Python on the same inputs (the shipped model rebuilt in PyTorch from the fp32
ONNX weights, see torch_from_onnx.py; scipy.signal.sosfilt on the same SOS and data), checks that the outputs
agree, prints a table and optionally writes JSON. Ratios are Python time / our time at the median (p50);
nothing here is pass/fail.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import resource
import sys
import time

import numpy as np
import scipy
import scipy.signal
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_from_onnx import REPO, load_model, load_reference  # noqa: E402

N_BEAT, N_RHYTHM = 5, 4


# ----------------------------------------------------------------------------------------------- helpers

def stats(values) -> dict:
    """Summary of per-item timings in the same shape as the C# JSON."""
    v = np.asarray(values, np.float64)
    return {"p50": float(np.percentile(v, 50)), "p99": float(np.percentile(v, 99)), "mean": float(v.mean()),
            "min": float(v.min()), "max": float(v.max())}


def read_json(path):
    with open(path) as f:
        return json.load(f)


def read_f32(path, shape):
    return np.fromfile(path, dtype="<f4").reshape(shape)


def ratio(num, den):
    return float(num) / float(den) if num and den else None


def cpu_model() -> str:
    """CPU model from /proc/cpuinfo (x86 'model name', ARM 'Hardware'/'Model'/'CPU part' as available)."""
    keys = ("model name", "Hardware", "Model", "CPU part")
    found = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                k = k.strip()
                if k in keys and k not in found:
                    found[k] = v.strip()
    except OSError:
        pass
    for k in keys:
        if k in found:
            return found[k]
    return platform.processor() or "unknown"


def machine_info() -> dict:
    return {"nproc": os.cpu_count(), "nproc_available": len(os.sched_getaffinity(0)), "cpu_model": cpu_model(),
            "platform": platform.platform()}


def versions() -> dict:
    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__}


# ----------------------------------------------------------------------------------------------- inference

# glibc mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
GLIBC_INITIAL = {M_TRIM_THRESHOLD: 128 * 1024, M_MMAP_THRESHOLD: 128 * 1024}


def set_malloc(tuned: bool) -> bool:
    """PyTorch's CPU tensors come from glibc malloc. glibc serves blocks above its mmap threshold (128 KiB at start,
    raised by glibc when such a block is freed) with fresh mmap'd pages, so a process whose threshold was never raised
    page-faults its larger activations on every forward (~400 minor faults, ~0.8 ms of kernel time per window here)
    and one whose threshold was raised does not: the same script then times 3.4-3.7 or 4.3-4.6 ms per window, by
    process (docs/performance.md, session 11). tuned=True fixes a 32 MiB mmap threshold and a 256 MiB trim threshold
    (as MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ would), so PyTorch always runs in its fast mode;
    tuned=False sets glibc's initial values (fixed, without the dynamic raise). Returns False where there is no glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    values = {M_MMAP_THRESHOLD: 32 << 20, M_TRIM_THRESHOLD: 256 << 20} if tuned else GLIBC_INITIAL
    return all(libc.mallopt(k, v) == 1 for k, v in values.items())


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def time_torch(model, ecg, mask, rr, runs: int, warmup: int, threads: int) -> list:
    """Per-window latency (ms) of eager fp32 inference, batch 1, windows cycled in order, after warm-up."""
    torch.set_num_threads(threads)
    n = len(ecg)
    xs = [torch.from_numpy(np.ascontiguousarray(ecg[i:i + 1])) for i in range(n)]
    ms = [torch.from_numpy(np.ascontiguousarray(mask[i:i + 1])) for i in range(n)]
    rs = [torch.from_numpy(np.ascontiguousarray(rr[i:i + 1])) for i in range(n)]
    out = []
    with torch.no_grad():
        for i in range(warmup):
            model(xs[i % n], ms[i % n], rs[i % n])
        for i in range(runs):
            t0 = time.perf_counter()
            model(xs[i % n], ms[i % n], rs[i % n])
            out.append((time.perf_counter() - t0) * 1e3)
    return out


def torch_logits(model, ecg, mask, rr):
    """Logits of every window, one window per call (batch 1, as timed)."""
    beat, rhy = [], []
    with torch.no_grad():
        for i in range(len(ecg)):
            b, r = model(torch.from_numpy(ecg[i:i + 1].copy()), torch.from_numpy(mask[i:i + 1].copy()),
                         torch.from_numpy(rr[i:i + 1].copy()))
            beat.append(b.numpy()[0])
            rhy.append(r.numpy()[0])
    return np.stack(beat), np.stack(rhy)


def agreement(tb, tr, ob, orr) -> dict:
    """Max |logit diff| (beat, rhythm, both) and argmax agreement (% of beat tokens, % of windows)."""
    db, dr = float(np.abs(tb - ob).max()), float(np.abs(tr - orr).max())
    return {"max_abs_logit_diff": max(db, dr), "max_abs_beat_logit_diff": db, "max_abs_rhythm_logit_diff": dr,
            "beat_argmax_agreement_pct": float((tb.argmax(-1) == ob.argmax(-1)).mean() * 100),
            "window_argmax_agreement_pct": float((tr.argmax(-1) == orr.argmax(-1)).mean() * 100)}


def load_ort_logits(d: str, kind: str, n: int, tokens: int):
    return (read_f32(os.path.join(d, f"{kind}_beat_logits.bin"), (n, tokens, N_BEAT)),
            read_f32(os.path.join(d, f"{kind}_rhythm_logits.bin"), (n, N_RHYTHM)))


# ----------------------------------------------------------------------------------------------- conditioning

def scipy_conditioning(dump: str, ours: dict, repeats: int):
    """Time sosfilt over the same [C, N] input along the last axis (steady-state start per channel, like ours).

    The input is converted to float64 before timing: sosfilt computes in float64 for float64 SOS anyway (it
    copies its input either way), so only the filtering is timed. Returns (timings in µs per signal-second,
    max |scipy - ours| in mV, rms diff in mV)."""
    sd = read_json(os.path.join(dump, "sos.json"))
    sos = np.asarray(sd["sos"], np.float64)
    fs = float(sd.get("fs", ours.get("fs", 500)))
    C, N = int(ours["channels"]), int(ours["samples_per_channel"])
    x = read_f32(os.path.join(dump, "input.f32"), (C, N)).astype(np.float64)
    y_ours = read_f32(os.path.join(dump, "output.f32"), (C, N))
    zi = scipy.signal.sosfilt_zi(sos)[:, None, :] * x[None, :, 0, None]     # [sections, C, 2]
    y, _ = scipy.signal.sosfilt(sos, x, axis=-1, zi=zi)                       # warm-up, and the output to compare
    signal_s = N / fs
    us = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        scipy.signal.sosfilt(sos, x, axis=-1, zi=zi)
        us.append((time.perf_counter() - t0) * 1e6 / signal_s)
    d = y - y_ours
    return us, float(np.abs(d).max()), float(np.sqrt(np.mean(d * d))), {"channels": C, "samples_per_channel": N,
                                                                        "fs": fs, "sections": int(len(sos))}


# ----------------------------------------------------------------------------------------------- main

def fmt_stats(s):
    """One table row; tolerates a missing key (printed as nan)."""
    return "  ".join(f"{k} {s.get(k, float('nan')):8.3f}" for k in ("p50", "min", "max", "p99", "mean"))


def fmt_ratio(r):
    return "n/a" if r is None else f"{r:.2f}x"


def main():
    ap = argparse.ArgumentParser(description="Python side of tools/bench/compare.sh")
    ap.add_argument("--inference-1thread", required=True, help="JSON of ecgedge bench inference, 1 thread")
    ap.add_argument("--inference-default", help="JSON of ecgedge bench inference at the default thread count")
    ap.add_argument("--logits", required=True, help="--logits-out DIR of the 1-thread run")
    ap.add_argument("--conditioning", required=True, help="JSON of ecgedge bench conditioning")
    ap.add_argument("--dump", required=True, help="--dump DIR of ecgedge bench conditioning")
    ap.add_argument("--windows", default=os.path.join(REPO, "models", "reference"))
    ap.add_argument("--onnx", default=os.path.join(REPO, "models", "ecg-nat-fp32.onnx"))
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=16)
    ap.add_argument("--threads-default", type=int, default=None,
                    help="thread count of the default-threads rows (default: torch's own default)")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--pinned-cpu", default="none", help="CPU every timed process was pinned to (recorded only)")
    ap.add_argument("--torch-malloc", default="tuned", choices=["tuned", "default"],
                    help="tuned: fixed glibc malloc thresholds while PyTorch is timed, so it never runs in its "
                         "page-faulting mode (see set_malloc); default: glibc as it comes (either mode, by process)")
    a = ap.parse_args()

    torch_default_threads = torch.get_num_threads()  # before we change it
    default_threads = a.threads_default or torch_default_threads
    ref = load_reference(a.windows)
    ecg, mask, rr = ref["ecg"], ref["lead_mask"], ref["beat_rr"]
    model = load_model(a.onnx)

    # --- inference: timings (1 thread first, then default threads) and agreement on the 16 windows
    malloc_tuned = a.torch_malloc == "tuned" and set_malloc(True)
    f0 = minor_faults()
    torch_1t = stats(time_torch(model, ecg, mask, rr, a.runs, a.warmup, 1))
    faults_1t = (minor_faults() - f0) / (a.runs + a.warmup)
    torch_dt = stats(time_torch(model, ecg, mask, rr, a.runs, a.warmup, default_threads))
    torch.set_num_threads(1)
    tb, tr = torch_logits(model, ecg, mask, rr)
    if malloc_tuned:
        set_malloc(False)      # SciPy below runs with glibc's initial thresholds
    ref_diff = max(float(np.abs(tb - ref["beat_logits_fp32"]).max()), float(np.abs(tr - ref["rhythm_logits_fp32"]).max()))

    ort1 = read_json(a.inference_1thread)
    ortd = read_json(a.inference_default) if a.inference_default else None
    if ortd is None and default_threads == 1:
        ortd = ort1  # the default-threads configuration is the 1-thread one: compare.sh ran ORT once
    n, tokens = ecg.shape[0], tb.shape[1]
    acc_fp32 = agreement(tb, tr, *load_ort_logits(a.logits, "fp32", n, tokens))
    acc_int8 = agreement(tb, tr, *load_ort_logits(a.logits, "int8", n, tokens))

    # --- conditioning
    ours = read_json(a.conditioning)
    repeats = int(ours.get("repeats", 5))
    sc_us, cond_max, cond_rms, cond_shape = scipy_conditioning(a.dump, ours, repeats)
    sc = {"median": float(np.median(sc_us)), "spread": [float(min(sc_us)), float(max(sc_us))]}
    ours_us = float(ours["us_per_signal_second"])

    res = {
        "ratio_basis": "p50",
        "torch_fp32_over_ort_int8_1thread": ratio(torch_1t["p50"], ort1["int8"]["p50"]),
        "torch_fp32_over_ort_fp32_1thread": ratio(torch_1t["p50"], ort1["fp32"]["p50"]),
        "torch_fp32_over_ort_int8_default_threads": ratio(torch_dt["p50"], ortd["int8"]["p50"]) if ortd else None,
        "torch_fp32_over_ort_fp32_default_threads": ratio(torch_dt["p50"], ortd["fp32"]["p50"]) if ortd else None,
        "scipy_over_ours_conditioning": ratio(sc["median"], ours_us),
        "runs": a.runs, "warmup": a.warmup, "windows": int(n),
        "torch_threads_default": torch_default_threads,
        "threads_default_rows": default_threads,
        "torch_fp32_ms_1thread": torch_1t,
        "torch_malloc": "tuned" if malloc_tuned else "default",
        "torch_fp32_1thread_minor_faults_per_window": round(faults_1t, 1),
        "torch_fp32_ms_default_threads": torch_dt,
        "ort_threads_1thread": ort1.get("threads", 1),
        "ort_int8_ms_1thread": ort1["int8"], "ort_fp32_ms_1thread": ort1["fp32"],
        "ort_threads_default": ortd.get("threads", default_threads) if ortd else None,
        "ort_int8_ms_default_threads": ortd["int8"] if ortd else None,
        "ort_fp32_ms_default_threads": ortd["fp32"] if ortd else None,
        "accuracy": {
            "torch_fp32_vs_reference_fp32_max_abs_logit_diff": ref_diff,
            "torch_fp32_vs_ort_fp32": acc_fp32,
            "torch_fp32_vs_ort_int8": acc_int8,
        },
        "scipy_us_per_signal_second": sc["median"], "scipy_us_per_signal_second_spread": sc["spread"],
        "ours_conditioning_us_per_signal_second": ours_us,
        "ours_conditioning_us_per_signal_second_spread": ours.get("spread"),
        "conditioning": {**cond_shape, "repeats": repeats, "scipy_input_dtype": "float64",
                         "max_abs_diff_mv": cond_max, "rms_diff_mv": cond_rms},
        "versions": versions(),
        "machine": machine_info(),
        "pinned_cpu": a.pinned_cpu,
    }

    # --- table
    print(f"machine: {res['machine']['cpu_model']}, nproc {res['machine']['nproc']}; "
          + ", ".join(f"{k} {v}" for k, v in res["versions"].items()))
    print(f"\nInference, ms per window (batch 1, {n} reference windows cycled, {a.runs} runs, {a.warmup} warm-up)")
    rows = [("torch fp32 eager, 1 thread", torch_1t), ("ORT int8 (C#), 1 thread", ort1["int8"]),
            ("ORT fp32 (C#), 1 thread", ort1["fp32"]),
            (f"torch fp32 eager, {default_threads} thread(s)", torch_dt)]
    if ortd is not None and ortd is not ort1:
        t = ortd.get("threads", default_threads)
        rows += [(f"ORT int8 (C#), {t} thread(s)", ortd["int8"]), (f"ORT fp32 (C#), {t} thread(s)", ortd["fp32"])]
    for label, s in rows:
        print(f"  {label:<32}{fmt_stats(s)}")
    print(f"  (torch: glibc malloc {res['torch_malloc']}, {faults_1t:.1f} minor page faults per window at 1 thread)")
    if default_threads == 1:
        print(f"  (torch's default here is {torch_default_threads} thread(s): the default-threads ratios use the "
              "1-thread ORT run)")
    print(f"  ratio torch fp32 / ORT int8, 1 thread:        {fmt_ratio(res['torch_fp32_over_ort_int8_1thread'])}")
    print(f"  ratio torch fp32 / ORT fp32, 1 thread:        {fmt_ratio(res['torch_fp32_over_ort_fp32_1thread'])}")
    print(f"  ratio torch fp32 / ORT int8, {default_threads} thread(s) (default threads): "
          f"{fmt_ratio(res['torch_fp32_over_ort_int8_default_threads'])}")
    print("\nAgreement on the reference windows (torch fp32 is the baseline)")
    print(f"  torch vs reference fp32 logits: max |diff| {ref_diff:.3g}")
    for name, acc in (("ORT fp32", acc_fp32), ("ORT int8", acc_int8)):
        print(f"  torch vs {name}: max |logit diff| {acc['max_abs_logit_diff']:.3g} "
              f"(beat {acc['max_abs_beat_logit_diff']:.3g}, rhythm {acc['max_abs_rhythm_logit_diff']:.3g}), "
              f"beat argmax {acc['beat_argmax_agreement_pct']:.2f}%, window argmax {acc['window_argmax_agreement_pct']:.1f}%")
    print(f"\nConditioning, µs per signal-second ({cond_shape['channels']} ch x {cond_shape['samples_per_channel']} "
          f"samples at {cond_shape['fs']:g} Hz, {cond_shape['sections']} SOS sections, {repeats} repeats, median [min, max])")
    print(f"  scipy.signal.sosfilt            {sc['median']:10.1f}  [{sc['spread'][0]:.1f}, {sc['spread'][1]:.1f}]")
    sp = ours.get("spread") or [float("nan")] * 2
    print(f"  ours (C#, streaming, 50 frames) {ours_us:10.1f}  [{sp[0]:.1f}, {sp[1]:.1f}]")
    print(f"  ratio scipy / ours:             {fmt_ratio(res['scipy_over_ours_conditioning'])}")
    print(f"  max |scipy - ours| {cond_max:.3g} mV (rms {cond_rms:.3g} mV)")

    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=2)
            f.write("\n")
        print(f"\nwrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
