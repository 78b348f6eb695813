#!/usr/bin/env bash
# Runs the device pipeline (`ecgedge analyze --rhythm-features`) over every labelled source in ../shared/data and writes
# one CSV of per-window rhythm evidence per source into OUT (default tools/train/runs/rhythm/features), and one of per-beat
# evidence into OUT/beats (the beat stage's input). The features are
# the C# ones (src/EcgEdge.Inference/Rhythm): what the device computes is what the fusion is fitted and validated on.
# Usage: tools/train/rhythm/export_features.sh [--out DIR] [--data DIR] [--model MANIFEST] [--jobs N] [--sources a,b]
set -euo pipefail
here="$(cd "$(dirname "$0")/../../.." && pwd)"
out="$here/tools/train/runs/rhythm/features"
data="${ECGEDGE_SHARED_DATA:-$here/../shared/data}"
model=""
jobs=2
sources="mitdb,nstdb,cpsc2021,ptbxl,cinc2021,ludb,qtdb,aftdb"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --sources) sources="$2"; shift 2 ;;
    *) echo "export_features.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out" "$out/beats"
exe="$here/src/EcgEdge/bin/Release/net10.0/ecgedge"
[ -x "$exe" ] || dotnet build "$here/src/EcgEdge" -c Release -v q -nologo >/dev/null
modelarg=()
[ -n "$model" ] && modelarg=(--model "$model")
run() { # name db mains [records]
  local name="$1" db="$2" mains="$3" recs="${4:-}"
  local extra=()
  [ -n "$recs" ] && extra=(--records "$recs")
  echo "export_features: $name ($db, mains $mains)" >&2
  "$exe" analyze --db "$db" --mains "$mains" --jobs "$jobs" --quiet "${modelarg[@]}" "${extra[@]}" \
    --rhythm-features "$out/$name.csv" --beat-features "$out/beats/$name.csv" > "$out/$name.txt" 2> "$out/$name.err" || {
      echo "export_features: $name: analyze exited $? (see $out/$name.err)" >&2; }
}
IFS=, read -ra want <<< "$sources"
for s in "${want[@]}"; do
  case "$s" in
    mitdb) run mitdb "$data/mitdb" 60 ;;
    nstdb) run nstdb "$data/nstdb" 60 "118e00,118e06,118e12,118e24" ;;
    cpsc2021) run cpsc2021 "$data/cpsc2021-sample" 50 ;;
    ptbxl) run ptbxl "$data/ptbxl/records500/00000" 50 ;;
    cinc2021)
      # Georgia (E*) was recorded at 60 Hz mains, the others (PTB-XL, Ningbo) at 50 Hz
      e=$(cd "$data/cinc2021-sample" && ls E*.hea 2>/dev/null | sed 's/\.hea$//' | paste -sd, -)
      o=$(cd "$data/cinc2021-sample" && ls *.hea | grep -v '^E' | sed 's/\.hea$//' | paste -sd, -)
      [ -n "$e" ] && run cinc2021-60 "$data/cinc2021-sample" 60 "$e"
      [ -n "$o" ] && run cinc2021-50 "$data/cinc2021-sample" 50 "$o" ;;
    ludb) run ludb "$data/ludb/data" 50 ;;
    qtdb)
      # European ST-T (sele*) at 50 Hz, the American source databases at 60 Hz
      e=$(cd "$data/qtdb" && ls sele*.hea | sed 's/\.hea$//' | paste -sd, -)
      o=$(cd "$data/qtdb" && ls *.hea | grep -v '^sele' | sed 's/\.hea$//' | paste -sd, -)
      run qtdb-50 "$data/qtdb" 50 "$e"
      run qtdb-60 "$data/qtdb" 60 "$o" ;;
    aftdb)
      for part in learning-set test-set-a test-set-b; do
        [ -d "$data/aftdb/$part" ] && run "aftdb-$part" "$data/aftdb/$part" 60
      done ;;
    *) echo "export_features.sh: unknown source $s" >&2; exit 2 ;;
  esac
done
echo "export_features: wrote $out" >&2
