#!/usr/bin/env bash
# Coverage-guided fuzzing of one parser (or all of them, one after the other) with SharpFuzz under AFL++.
#
#   fuzz/run.sh TARGET|all SECONDS [--timeout-ms N] [--memory-mb N]
#
# Publishes fuzz/EcgEdge.Fuzz, instruments the product assemblies of the published output with `sharpfuzz` (the
# SharpFuzz.CommandLine 2.3.0 dotnet tool, installed into fuzz/.work/tools), then runs afl-fuzz on the committed seeds
# (fuzz/corpus/TARGET) for SECONDS, with a per-case timeout (-t, default 2000 ms) and a memory limit (-m, default
# 4096 MB of address space; the .NET GC is capped below it). One afl-fuzz instance at a time, under `nice -n 10`.
# Output: fuzz/.work/TARGET/findings (afl-fuzz's folder: queue/, crashes/, hangs/, fuzzer_stats), a summary line per
# target, and every crash replayed through the harness (exception and stack trace). Exit status: 0 no crash, 1 a crash
# (or a harness that did not start), 2 usage, 77 AFL++ or the .NET SDK missing (nothing was fuzzed).
# Targets: wfdb-header wfdb-signal wfdb-annotation manifest manifest-signature config alert ads1298; and canary, which is
# no parser but a planted crash one byte away from its seed: `fuzz/run.sh canary 30` shows that a crash fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

all_targets=(wfdb-header wfdb-signal wfdb-annotation manifest manifest-signature config alert ads1298)
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 2 ] || usage
target=$1
seconds=$2
shift 2
timeout_ms=2000
memory_mb=4096
while [ $# -gt 0 ]; do
  case $1 in
    --timeout-ms) timeout_ms=$2; shift 2 ;;
    --memory-mb) memory_mb=$2; shift 2 ;;
    *) usage ;;
  esac
done
[[ $seconds =~ ^[0-9]+$ ]] && [ "$seconds" -gt 0 ] || usage
if [ "$target" = all ]; then targets=("${all_targets[@]}")
elif [[ " ${all_targets[*]} canary " == *" $target "* ]]; then targets=("$target")
else echo "fuzz: unknown target '$target' (${all_targets[*]})" >&2; exit 2
fi

if ! command -v afl-fuzz >/dev/null 2>&1; then
  echo "fuzz: afl-fuzz not found (Debian: apt-get install afl++); skipped" >&2
  exit 77
fi
if ! command -v dotnet >/dev/null 2>&1; then
  echo "fuzz: dotnet not found; skipped" >&2
  exit 77
fi

work=$repo/fuzz/.work
mkdir -p "$work"
# The instrumentation tool, pinned (a local tool path, so nothing global changes).
sharpfuzz=$work/tools/sharpfuzz
if [ ! -x "$sharpfuzz" ]; then
  echo "fuzz: installing the SharpFuzz.CommandLine 2.3.0 dotnet tool into fuzz/.work/tools"
  dotnet tool install --tool-path "$work/tools" SharpFuzz.CommandLine --version 2.3.0 >/dev/null
fi

# A fresh publish each time: sharpfuzz rewrites the assemblies in place and refuses an already instrumented one.
publish=$work/publish
rm -rf "$publish"
echo "fuzz: publishing fuzz/EcgEdge.Fuzz"
dotnet publish fuzz/EcgEdge.Fuzz/EcgEdge.Fuzz.csproj -c Release -o "$publish" -nologo -v quiet >/dev/null
# The product's own assemblies carry the coverage map (the harness, the framework and the packages do not: their edges
# would be noise, or cost speed for little).
for dll in ecgedge EcgEdge.Core EcgEdge.Wfdb EcgEdge.Contracts EcgEdge.Acquisition EcgEdge.Conditioning EcgEdge.Detection EcgEdge.Inference \
           EcgEdge.Events EcgEdge.Transport EcgEdge.Pipeline; do
  "$sharpfuzz" "$publish/$dll.dll" >/dev/null
done
echo "fuzz: instrumented the product assemblies with sharpfuzz"

dicts_for() {
  case $1 in
    wfdb-header) echo "-x fuzz/dict/wfdb-header.dict" ;;
    manifest) echo "-x fuzz/dict/json.dict -x fuzz/dict/manifest.dict" ;;
    manifest-signature) echo "-x fuzz/dict/json.dict -x fuzz/dict/signature.dict" ;;
    config) echo "-x fuzz/dict/json.dict -x fuzz/dict/config.dict" ;;
    alert) echo "-x fuzz/dict/json.dict -x fuzz/dict/alert.dict" ;;
    *) echo "" ;;
  esac
}

stat_of() { awk -F' *: *' -v k="$1" '$1 == k {print $2}' "$2"; }

# One campaign: 0 no crash, 1 crashes (replayed to the log), 3 afl-fuzz did not get going (its log's end is shown).
campaign() {
  local t=$1 secs=$2 out=$work/$1
  rm -rf "$out"
  mkdir -p "$out/scratch"
  # In a container: no CPU frequency scaling to read, no core-dump handler to configure, no free core to pin to
  # (the machine is shared); no curses UI in a log; the runtime is not an AFL-instrumented binary (SharpFuzz speaks
  # the fork-server protocol itself). The GC's hard limit keeps .NET's address-space reservation under -m. (Not "-t N+":
  # AFL++ 4.04c then picks its own 60-ms timeout, far too short for a .NET child's first case.)
  # shellcheck disable=SC2046
  if ! env AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1 AFL_SKIP_BIN_CHECK=1 \
      AFL_FORKSRV_INIT_TMOUT=60000 \
      DOTNET_GCHeapHardLimit=$(printf '0x%x' $(( memory_mb / 4 * 1024 * 1024 ))) DOTNET_TieredPGO=0 \
      EEFUZZ_WORK="$out/scratch" \
      nice -n 10 afl-fuzz -i "fuzz/corpus/$t" -o "$out/findings" -t "$timeout_ms" -m "$memory_mb" -V "$secs" \
      $(dicts_for "$t") -- dotnet "$publish/EcgEdge.Fuzz.dll" "$t" >"$out/afl.log" 2>&1 \
     || [ ! -f "$out/findings/default/fuzzer_stats" ]; then
    echo "fuzz: $t: afl-fuzz did not run; the end of its log:" >&2
    tail -n 25 "$out/afl.log" >&2
    return 3
  fi
  local stats=$out/findings/default/fuzzer_stats crashes hangs
  crashes=$(stat_of saved_crashes "$stats")
  hangs=$(stat_of saved_hangs "$stats")
  printf 'fuzz: %-18s %3s s  execs_done %-9s execs/s %-8s corpus_count %-5s bitmap_cvg %-7s edges_found %-5s saved_crashes %s  saved_hangs %s\n' \
    "$t" "$(stat_of run_time "$stats")" "$(stat_of execs_done "$stats")" "$(stat_of execs_per_sec "$stats")" \
    "$(stat_of corpus_count "$stats")" "$(stat_of bitmap_cvg "$stats")" "$(stat_of edges_found "$stats")" "$crashes" "$hangs"
  [ "${hangs:-0}" != 0 ] && echo "fuzz: $t: $hangs input(s) ran past ${timeout_ms} ms (in $out/findings/default/hangs): replay them; a loaded machine also causes these"
  rm -rf "$out/scratch" 2>/dev/null || true # a killed child may still be writing there
  if [ "${crashes:-0}" != 0 ]; then
    echo "fuzz: $t: crashes (inputs in $out/findings/default/crashes), replayed:"
    EEFUZZ_WORK="$out" dotnet "$publish/EcgEdge.Fuzz.dll" "$t" "$out/findings/default/crashes" | grep -A12 '^FINDING' | head -n 80 || true
    return 1
  fi
  return 0
}

if [ "$target" = all ]; then
  # Preflight: the canary's planted crash must be found and reported, or the campaigns would prove nothing. If afl-fuzz
  # cannot run at all here (no SysV shared memory in a sandbox, say), that is a skip, not a failure.
  rc=0
  campaign canary 8 >/dev/null 2>"$work/canary.err" || rc=$?
  if [ "$rc" = 3 ]; then
    cat "$work/canary.err" >&2
    echo "fuzz: afl-fuzz cannot run here; skipped" >&2
    exit 77
  fi
  if [ "$rc" != 1 ]; then
    echo "fuzz: preflight: the canary's planted crash was not reported; the set-up is broken" >&2
    exit 1
  fi
  echo "fuzz: preflight: the canary's planted crash was found and reported"
fi

status=0
for t in "${targets[@]}"; do
  rc=0
  campaign "$t" "$seconds" || rc=$?
  [ "$rc" = 0 ] || status=1
done
exit "$status"
