#!/usr/bin/python3
"""One process's PyTorch fp32 eager timing (compare.py's time_torch, 1 thread, the model's reference windows) with
the resources it used: minor page faults, kernel and user time per window, and the p50 of each quarter of the run.
Run it in several processes to see PyTorch's two modes (docs/performance.md, session 11):

  for i in 1 2 3 4 5 6 7 8; do taskset -c 1 /usr/bin/python3 tools/bench/experiments/torch_modes.py; done
  for i in 1 2 3 4 5 6; do taskset -c 1 /usr/bin/python3 tools/bench/experiments/torch_modes.py --malloc tuned; done

--profile adds the summed torch.profiler operator self time per window (equal in both modes: the page faults are
kernel time outside the operators). --malloc tuned applies compare.py's set_malloc(True) first (fixed glibc thresholds), as compare.sh does by default.
Prints one JSON line per process.
"""
import argparse
import json
import os
import resource
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import numpy as np  # noqa: E402
from compare import REPO, load_model, load_reference, set_malloc, time_torch  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=16)
    ap.add_argument("--malloc", default="default", choices=["default", "tuned"])
    ap.add_argument("--profile", action="store_true",
                    help="also run 160 windows under torch.profiler and print the summed operator self time per window")
    a = ap.parse_args()
    if a.malloc == "tuned" and not set_malloc(True):
        sys.exit("torch_modes.py: mallopt failed (not glibc?)")
    ref = load_reference(os.path.join(REPO, "models", "reference"))
    model = load_model(os.path.join(REPO, "models", "ecg-nat-fp32.onnx"))
    args = (model, ref["ecg"], ref["lead_mask"], ref["beat_rr"])
    time_torch(*args, 50, a.warmup, 1)                       # settle
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t = np.array(time_torch(*args, a.runs, a.warmup, 1))
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    n = a.runs + a.warmup
    q = [round(float(np.median(t[i * a.runs // 4:(i + 1) * a.runs // 4])), 3) for i in range(4)]
    prof = {}
    if a.profile:
        from torch.profiler import ProfilerActivity, profile
        n_prof = 160
        with profile(activities=[ProfilerActivity.CPU]) as p:
            time_torch(*args, n_prof, 0, 1)
        prof = {"profiler_self_ms_per_window": round(sum(e.self_cpu_time_total for e in p.key_averages()) / n_prof / 1e3, 3)}
    print(json.dumps({"malloc": a.malloc, "p50_ms": round(float(np.median(t)), 3), "quarters_p50_ms": q,
                      "minor_faults_per_window": round((r1.ru_minflt - r0.ru_minflt) / n, 1),
                      "kernel_ms_per_window": round((r1.ru_stime - r0.ru_stime) * 1e3 / n, 3),
                      "user_ms_per_window": round((r1.ru_utime - r0.ru_utime) * 1e3 / n, 3), **prof}))


if __name__ == "__main__":
    main()
