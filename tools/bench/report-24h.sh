#!/usr/bin/env bash
# Benchmark of `ecgedge report` on 24 h of signal (the bundled 30-min MIT-BIH 201 looped), pinned to one core:
# prints the wall time, CPU time and peak resident memory it measured (docs/report.md: the target is <= 90 s on one core).
#
#   tools/bench/report-24h.sh [--hours H] [--core N]
set -euo pipefail
cd "$(dirname "$0")/../.."
hours=24; core=0
while [ $# -gt 0 ]; do
  case "$1" in
    --hours) hours=$2; shift;;
    --core) core=$2; shift;;
    -h|--help) sed -n '2,5p' "$0"; exit 0;;
    *) echo "report-24h.sh: unknown argument '$1'" >&2; exit 2;;
  esac
  shift
done
dll=src/EcgEdge/bin/Release/net10.0/ecgedge.dll
[ -f "$dll" ] || dotnet build src/EcgEdge -c Release -v q -nologo >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
load=$(cut -d' ' -f1 /proc/loadavg)
# GNU time's own format: elapsed seconds, user and system CPU seconds, peak resident kB.
/usr/bin/time -f '%e %U %S %M' -o "$out/time" taskset -c "$core" dotnet "$dll" report src/EcgEdge/Resources/mitdb/201 --mains 60 \
  --loop-hours "$hours" --jobs 1 --quiet -o "$out/report.pdf" >"$out/stdout"
read -r wall user sys peak_kb <"$out/time"
cat "$out/stdout"
echo "report of ${hours} h on core $core: wall ${wall} s, CPU ${user} s user + ${sys} s system, peak resident $((peak_kb / 1024)) MB, load average before: $load"
