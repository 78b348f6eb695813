#!/usr/bin/env bash
# Soak: H hours of signal (the bundled MIT-BIH 201 looped) at full speed through the whole worker — model, events,
# durable outbox — publishing to a real mosquitto on loopback with a clinician subscriber attached. Every second the
# worker's resident set (VmRSS), open file descriptors and outbox size on disk are sampled (every 0.5 s; signal time from the
# worker's health file, rewritten every 5 s); at the end the slope of each
# over the second half of the run is printed (per hour of signal and per wall minute). Nothing may grow.
#
#   tools/chaos/soak.sh [--hours H] [--json FILE] [--keep DIR]      (default 24 h of signal)
#
# Exit 0 always when the run completed (the figures are for reading, not pass/fail), 77 without mosquitto.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
hours=24 json="" keep="" record="$root/src/EcgEdge/Resources/mitdb/201"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --hours) hours="$2"; shift 2 ;;
    --json) json="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n "$json" && "$json" != /* ]] && json="$PWD/$json"
mosquitto="$(command -v mosquitto || true)"
[[ -z "$mosquitto" && -x /usr/sbin/mosquitto ]] && mosquitto=/usr/sbin/mosquitto
if [[ -z "$mosquitto" ]]; then echo "soak.sh: mosquitto not installed; skipped" >&2; exit 77; fi
dll="${ECGEDGE_DLL:-$root/src/EcgEdge/bin/Release/net10.0/ecgedge.dll}"
if [[ ! -f "$dll" ]]; then (cd "$root" && dotnet build src/EcgEdge -c Release -nologo -v quiet >&2); fi

w="$(mktemp -d "${TMPDIR:-/tmp}/ecgedge-soak.XXXXXX")"
cleanup() {
  set +e
  for p in ${worker_pid:-} ${sub_pid:-} ${broker_pid:-}; do kill -9 "$p" 2>/dev/null || true; done
  if [[ -n "$keep" ]]; then mkdir -p "$keep"; cp -r "$w"/. "$keep"/; fi
  rm -rf "$w"
}
trap cleanup EXIT
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
mkdir -p "$w/broker"
printf 'user %s\nlistener %s 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/broker/\n' \
  "$(id -un)" "$port" "$w" > "$w/broker/mosquitto.conf"
"$mosquitto" -c "$w/broker/mosquitto.conf" >/dev/null 2>&1 & broker_pid=$!
sleep 0.5
dotnet "$dll" watch --broker "mqtt://127.0.0.1:$port" --client-id soak-clinician --json > "$w/received.jsonl" 2> "$w/watch.err" &
sub_pid=$!
sleep 1
target=$(python3 -c "print(int($hours * 3600 * 500))")   # pipeline samples (500 Hz)
dotnet "$dll" run --record "$record" --realtime false --loop true --mains 60 \
  --Mqtt:Mode=External "--Mqtt:Endpoints:0=mqtt://127.0.0.1:$port" --Mqtt:DeviceId=soak-1 \
  "--Mqtt:Outbox:Directory=$w/outbox" "--Events:AlertLogFile=$w/produced.jsonl" \
  "--Pipeline:HealthFile=$w/health.json" > "$w/worker.log" 2>&1 &
worker_pid=$!

start=$(date +%s.%N)
echo "t_epoch,samples,rss_kb,fds,outbox_bytes" > "$w/samples.csv"
# Cheap sampling (no interpreter start per sample): /proc, du, and the health file the worker rewrites every 5 s.
while kill -0 "$worker_pid" 2>/dev/null; do
  sleep 0.5
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$worker_pid/status" 2>/dev/null || true)
  [[ -z "$rss" ]] && break
  fds=$(ls "/proc/$worker_pid/fd" 2>/dev/null | wc -l)
  ob=$(du -sb "$w/outbox" 2>/dev/null | cut -f1 || echo 0)
  samples=$(grep -o '"samples": *[0-9]*' "$w/health.json" 2>/dev/null | grep -o '[0-9]*$' || echo 0)
  echo "$(date +%s.%N),${samples:-0},$rss,$fds,$ob" >> "$w/samples.csv"
  if (( ${samples:-0} >= target )); then kill -TERM "$worker_pid"; wait "$worker_pid" 2>/dev/null || true; break; fi
done
sleep 2
kill -TERM "$sub_pid" 2>/dev/null || true; sleep 1

python3 - "$w" "$json" "$hours" "$start" <<'PY'
import csv, json, sys
w, out, hours, start = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
rows = []
for r in csv.DictReader(open(f"{w}/samples.csv")):
    r["signal_h"] = int(r["samples"]) / 500 / 3600
    r["t_wall_s"] = float(r["t_epoch"]) - start
    if r["signal_h"] > 0: rows.append(r)
def slope(xs, ys):
    n = len(xs); mx = sum(xs) / n; my = sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0
half = rows[len(rows) // 2:]
sig = [float(r["signal_h"]) for r in half]
wall = [float(r["t_wall_s"]) / 60 for r in half]
res = {"signal_hours": float(rows[-1]["signal_h"]) if rows else 0, "wall_s": float(rows[-1]["t_wall_s"]) if rows else 0,
       "samples": len(rows), "second_half_samples": len(half)}
for key, unit in (("rss_kb", "kB"), ("fds", "fds"), ("outbox_bytes", "bytes")):
    ys = [float(r[key]) for r in half]
    res[key] = {"first": float(rows[0][key]), "min": min(float(r[key]) for r in rows), "max": max(float(r[key]) for r in rows),
                "last": float(rows[-1][key]),
                f"slope_{unit}_per_signal_hour_second_half": round(slope(sig, ys), 2),
                f"slope_{unit}_per_wall_minute_second_half": round(slope(wall, ys), 2)}
produced = sum(1 for _ in open(f"{w}/produced.jsonl")) if rows else 0
received = sum(1 for _ in open(f"{w}/received.jsonl"))
res["alerts_produced"] = produced
res["alerts_received"] = received
print(json.dumps(res, indent=2))
if out: open(out, "w").write(json.dumps(res, indent=2) + "\n")
PY
