#!/usr/bin/env bash
# Peer comparison: PyTorch eager vs our C# ONNX Runtime path, SciPy sosfilt vs our C# streaming conditioning,
# measured side by side in one run on the same inputs. Measures and prints only; nothing here is pass/fail.
#
#   tools/bench/compare.sh [--json FILE] [--runs N] [--warmup W] [--repeats R] [--record PATH] [--threads T]
#
#   --json FILE    also write all results as JSON (ratios, raw timings, agreement, versions, machine)
#   --runs N       inference runs per configuration, windows cycled (default 100)
#   --warmup W     torch warm-up windows before timing (default 16; the C# command does its own warm-up)
#   --repeats R    conditioning repeats, ours and scipy (default 5)
#   --record PATH  WFDB record for the conditioning comparison (default: bundled MIT-BIH 201)
#   --threads T    thread count of the "default threads" rows, torch and ORT (default: torch's own default,
#                  torch.get_num_threads(), which is what a PyTorch user gets; recorded either way)
#   --torch-malloc tuned|default
#                  tuned (default): while PyTorch is timed, glibc malloc keeps freed activations instead of
#                  unmapping them, so PyTorch always runs in its fast mode (without it, a process either page-faults
#                  its activations on every forward or not, at random: 4.3-4.6 vs 3.4-3.7 ms per window here);
#                  default: glibc as it comes. Recorded in the JSON (torch_malloc) with the faults per window.
#   --cpu N        pin every timed process to CPU N (default: the last CPU it may run on) when all rows are single-threaded;
#                  --cpu none disables pinning. On this 2-vCPU VM one vCPU runs ~1.5x slower than the other, so
#                  unpinned runs of the two stacks can land on different vCPUs and the ratio swings 2.9x..5.4x.
#
# Environment: PYTHON (default /usr/bin/python3); ECGEDGE = command that runs the C# tool (default:
# dotnet src/EcgEdge/bin/Release/net10.0/ecgedge.dll, built with `dotnet build -c Release` if missing).
#
# Steps: (1) ecgedge bench inference at 1 thread and at torch's default thread count, keeping the 1-thread
# logits; (2) ecgedge bench conditioning, keeping its input/output/SOS; (3) tools/bench/compare.py times
# torch and scipy on the same windows/data, compares outputs, prints the table and writes --json.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
PYTHON="${PYTHON:-/usr/bin/python3}"

json="" threads="" cpu="" torch_malloc=tuned runs=100 warmup=16 repeats=5 record="$root/src/EcgEdge/Resources/mitdb/201"
usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --json) json="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --record) record="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --cpu) cpu="$2"; shift 2 ;;
    --torch-malloc) torch_malloc="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "compare.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$torch_malloc" in tuned|default) ;; *) echo "compare.sh: --torch-malloc must be tuned or default" >&2; exit 2 ;; esac
# make caller-relative paths absolute before we cd to the repository
if [[ -n "$json" && "$json" != /* ]]; then json="$PWD/$json"; fi
if [[ "$record" != /* ]]; then record="$PWD/$record"; fi
cd "$root"

# The C# tool: build only if the dll is missing (and no override is given).
if [[ -z "${ECGEDGE:-}" ]]; then
  dll="$root/src/EcgEdge/bin/Release/net10.0/ecgedge.dll"
  if [[ ! -f "$dll" ]]; then
    echo "building src/EcgEdge (Release) ..." >&2
    dotnet build src/EcgEdge -c Release -nologo -v quiet >&2
  fi
  ECGEDGE="dotnet $dll"
fi
read -r -a ecgedge <<<"$ECGEDGE"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ecgedge-compare.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# Same thread counts on both sides: 1, and whatever torch uses by default on this machine (or --threads).
torch_default="$("$PYTHON" -c 'import torch; print(torch.get_num_threads())')"
default_threads="${threads:-$torch_default}"

# Pinning: both stacks on the same CPU, so the ratio compares code, not vCPUs.
pin=()
if [[ "$cpu" != none && "$default_threads" == 1 ]] && command -v taskset >/dev/null 2>&1; then
  # default: the last CPU this script may run on (nproc counts the allowed CPUs, not their numbers: under
  # `taskset -c 1` it says 1, and CPU 0 would be outside the caller's set)
  cpu="${cpu:-$("$PYTHON" -c 'import os; print(max(os.sched_getaffinity(0)))')}"
  pin=(taskset -c "$cpu")
  echo "pinning every timed process to CPU $cpu" >&2
else
  cpu=none
fi

echo "ORT inference (C#), 1 thread, $runs runs ..." >&2
"${pin[@]}" "${ecgedge[@]}" bench inference --windows "$root/models/reference" --runs "$runs" --intra-op-threads 1 \
  --json "$tmp/inference_1t.json" --logits-out "$tmp/logits_1t" >&2
inference_default=()
if [[ "$default_threads" != 1 ]]; then
  echo "ORT inference (C#), $default_threads threads, $runs runs ..." >&2
  "${ecgedge[@]}" bench inference --windows "$root/models/reference" --runs "$runs" \
    --intra-op-threads "$default_threads" --json "$tmp/inference_dt.json" --logits-out "$tmp/logits_dt" >&2
  inference_default=(--inference-default "$tmp/inference_dt.json")
fi

echo "conditioning (C#), $repeats repeats ..." >&2
"${pin[@]}" "${ecgedge[@]}" bench conditioning --record "$record" --json "$tmp/conditioning.json" --dump "$tmp/cond" \
  --repeats "$repeats" >&2

echo "torch and scipy (Python) ..." >&2
"${pin[@]}" "$PYTHON" "$here/compare.py" --pinned-cpu "$cpu" --inference-1thread "$tmp/inference_1t.json" "${inference_default[@]}" \
  --logits "$tmp/logits_1t" --conditioning "$tmp/conditioning.json" --dump "$tmp/cond" \
  --runs "$runs" --warmup "$warmup" --threads-default "$default_threads" --torch-malloc "$torch_malloc" ${json:+--json "$json"}
