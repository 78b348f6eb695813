#!/usr/bin/env bash
# Time the shipped model and the attention-export variants written by na_export_variants.py (and band_lean, written
# by `regen_shipped.py --form lean --out OUT/band_lean`) with the C# tool,
# back to back, ONNX Runtime CPU, 1 intra-op thread, ROUNDS rounds of `bench inference --runs RUNS`.
#
#   tools/bench/experiments/bench_variants.sh [OUT=/tmp/natexp] [ROUNDS=2] [RUNS=200]
#
# Environment: ECGEDGE = command running the C# tool (default: dotnet src/EcgEdge/bin/Release/net10.0/ecgedge.dll).
# Prints one line per (round, model, kind) with p50/p99 ms per window; JSON per run goes to OUT/bench/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out="${1:-/tmp/natexp}" rounds="${2:-2}" runs="${3:-200}"
read -r -a ecgedge <<<"${ECGEDGE:-dotnet $root/src/EcgEdge/bin/Release/net10.0/ecgedge.dll}"
mkdir -p "$out/bench"
declare -A man=([shipped]="$root/models/ecg-nat.manifest.json")
for v in gather_matmul band_dense band_blocked band_lean; do
  [[ -f "$out/$v/ecg-nat.manifest.json" ]] || continue
  man[$v]="$out/$v/ecg-nat.manifest.json"
  # the device runs only signed manifests: these experiments are signed with the published test key (docs/model-signing.md)
  "${ecgedge[@]}" model sign "${man[$v]}" --key "$root/models/keys/test-signing-key.pem" >/dev/null
done
for r in $(seq 1 "$rounds"); do
  for v in shipped gather_matmul band_dense band_blocked band_lean; do
    [[ -n "${man[$v]:-}" ]] || continue
    j="$out/bench/${v}_r$r.json"
    "${ecgedge[@]}" bench inference --windows "$root/models/reference" --runs "$runs" --model "${man[$v]}" \
      --intra-op-threads 1 --json "$j" >/dev/null
    /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in ("fp32", "int8"):
    a, b = (d[k][x] for x in ("p50", "p99"))
    print(f"round {sys.argv[2]}  {sys.argv[3]:14s} {k}  p50 {a:.3f} ms  p99 {b:.3f} ms")' "$j" "$r" "$v"
  done
done
