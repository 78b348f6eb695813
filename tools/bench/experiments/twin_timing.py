#!/usr/bin/python3
"""Do trained weights and random weights cost the same in PyTorch? (session 12, docs/experiments/stride16.md)

variant_timing.py times random-weight twins of model configurations; compare.sh times the trained model. This times
the trained 0.2.0 model (from_onnx.load_model) and its random twin (EcgNat of the same config, seed 0) in one process,
alternately, with compare.sh's tuned malloc, fp32 eager, 1 thread, 300 runs over the 16 reference windows. The middle
round sets torch.set_flush_denormal(True), to see whether denormal numbers are involved.

    taskset -c 1 /usr/bin/python3 tools/bench/experiments/twin_timing.py
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
sys.path.insert(0, os.path.dirname(HERE))  # tools/bench
sys.path.insert(0, HERE)
from compare import set_malloc, stats, time_torch  # noqa: E402
from ecgnat.from_onnx import load_model  # noqa: E402
from ecgnat.model import EcgNat  # noqa: E402
from variant_timing import reference_windows  # noqa: E402


def main():
    set_malloc(True)
    torch.set_num_threads(1)
    ecg, mask, rr = reference_windows()
    trained = load_model()
    torch.manual_seed(0)
    twin = EcgNat(trained.cfg).eval()
    for flush in (False, True, False):
        torch.set_flush_denormal(flush)
        for name, m in (("trained", trained), ("twin", twin)):
            t = stats(time_torch(m, ecg, mask, rr, 300, 30, 1))
            print(f"flush denormals {str(flush):5s} {name:8s} p50 {t['p50']:.3f} ms  min {t['min']:.3f} ms", flush=True)


if __name__ == "__main__":
    main()
