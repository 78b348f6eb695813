"""Experiment: re-export the shipped weights with more Linear layers left in fp32 than export.FP32_LAYERS.

The layers whose ONNX node name matches the regular expression in FP32_RE are dropped from the int8 pass (no weight
or activation QDQ); everything else is the shipped `reexport` stage (same weights, calibration windows and seed).
Copy models/ to a scratch directory first: the stage writes the int8/fp32 files, reference vectors and manifest there.

    cp -r models /tmp/fx/s3
    FP32_RE='^/stages\\.2/|^/red_1/' PYTHONPATH=tools/train OMP_NUM_THREADS=1 PYTHONHASHSEED=0 \\
        /usr/bin/python3 tools/bench/experiments/fp32_layers.py --work /tmp/fx/work --out /tmp/fx/s3 --stages build,reexport
    ecgedge bench graph --onnx models/ecg-nat-int8.onnx,/tmp/fx/s3/ecg-nat-int8.onnx --runs 2000 --rounds 10

Result (docs/performance.md, session 7): every variant was slower than the shipped int8 file.
"""
import os
import re
import sys

import ecgnat.export as X
from ecgnat import pipeline

_pat = re.compile(os.environ["FP32_RE"])
_targets = X._weight_targets
X._weight_targets = lambda g: [t for t in _targets(g) if not _pat.search(t[0].name)]

if __name__ == "__main__":
    pipeline.main(sys.argv[1:])
