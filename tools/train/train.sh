#!/usr/bin/env bash
# ECG-NAT training pipeline: ../shared/data -> models/ (dataset build, MAE pretraining, SupCon+CE fine-tuning,
# record-wise CV, ONNX fp32 export, int8 QDQ quantisation, validation, reference vectors, model card).
#
#   tools/train/train.sh [--smoke] [--out DIR] [--seed N] [--data DIR] [--work DIR] [--stages LIST] [--sign-key KEY.pem]
#
# --smoke  every stage on a tiny subset in a few minutes; writes to a temporary dir unless --out is given.
# --sign-key  sign the written manifest with this key (`ecgedge model sign`; docs/model-signing.md): a device refuses
#             an unsigned one. --sign-password-env VAR for an encrypted key.
# Uses Debian's /usr/bin/python3 (torch, numpy, scipy, onnx) with one thread.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${ECGNAT_PYTHON:-/usr/bin/python3}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONHASHSEED=0
SMOKE=0; HAVE_OUT=0; HAVE_WORK=0
for a in "$@"; do
  case "$a" in --smoke) SMOKE=1;; --out|--out=*) HAVE_OUT=1;; --work|--work=*) HAVE_WORK=1;; -h|--help)
    sed -n '2,11p' "$0"; exit 0;; esac
done
EXTRA=()
if [ "$SMOKE" = 1 ]; then
  TMP="$(mktemp -d -t ecgnat-smoke.XXXXXX)"
  [ "$HAVE_OUT" = 1 ] || EXTRA+=(--out "$TMP/models")
  [ "$HAVE_WORK" = 1 ] || EXTRA+=(--work "$TMP/work")
  echo "[train.sh] smoke run in $TMP"
fi
# relative --out/--work/--data/--cache paths are the caller's (the package is found through PYTHONPATH)
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
"$PY" -c "import torch, numpy, scipy, onnx" || { echo "[train.sh] $PY lacks torch/numpy/scipy/onnx" >&2; exit 2; }
"$PY" -m ecgnat.pipeline "$@" "${EXTRA[@]}"
if [ "$SMOKE" = 1 ]; then
  "$PY" -m ecgnat.check_outputs "${EXTRA[@]}" "$@"
fi
