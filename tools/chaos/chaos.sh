#!/usr/bin/env bash
# Chaos run with real processes on loopback: a mosquitto broker (persistence on), the worker replaying an MIT-BIH record
# at N x real time in a loop (model, events, durable outbox), and a clinician-side subscriber (`ecgedge watch`,
# persistent session). While they run, faults are injected at random moments (seeded): broker SIGKILL + restart,
# worker SIGKILL + restart, broker frozen with SIGSTOP (then SIGCONT). At the end every fault is lifted, the worker is
# stopped, the outbox is given time to drain, and the alerts produced (the worker's audit log: written after the
# alert is fsync'd in the outbox) are compared with the alerts received (by id).
#
#   tools/chaos/chaos.sh [--duration S] [--seed N] [--speed X] [--record PATH] [--json FILE] [--keep DIR] [--full-disk]
#
#   --full-disk    also fill the outbox's file system now and then (a 2-MB tmpfs in a private mount namespace; root
#                  only) for 8-15 s: the worker stores alerts from its alert reserve (or without their strips, or holds
#                  them in memory) and stores the rest once space returns; and, as a fault of its own, fill the disk with
#                  the broker frozen (alerts pile up in the outbox), SIGKILL the worker while the disk is full, restart it
#                  on the full disk, then give the space back. SIGKILL at random moments also lands inside fsync calls;
#                  real power loss (the page cache lost) cannot be produced here: the outbox's torn-record tests cover it.
#   --duration S   seconds of chaos (default 120; CI runs a short version)        --seed N   fault schedule (default 1)
#   --speed X      replay speed, x real time (default 20)                            --json FILE  write the summary
#   --record PATH  WFDB record (default: the bundled MIT-BIH 201)                    --keep DIR   keep logs there
#   ECGEDGE_DLL    the worker to run (default: src/EcgEdge/bin/Release/net10.0/ecgedge.dll, built if missing)
#
# Prints: alerts produced, received (distinct), lost (must be 0), duplicates dropped by the subscriber, max and median
# delivery delay (audit-log line → subscriber line, wall clock), faults injected. Exit 0 when nothing was lost, 1 when
# an alert was lost or none was produced, 77 when mosquitto is not installed. Loopback only.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
duration=120 seed=1 speed=20 json="" keep="" full_disk=0 record="$root/src/EcgEdge/Resources/mitdb/201"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --speed) speed="$2"; shift 2 ;;
    --record) record="$2"; shift 2 ;;
    --json) json="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --full-disk) full_disk=1; shift ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "chaos.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n "$json" && "$json" != /* ]] && json="$PWD/$json"
[[ "$record" != /* ]] && record="$PWD/$record"

mosquitto="$(command -v mosquitto || true)"
[[ -z "$mosquitto" && -x /usr/sbin/mosquitto ]] && mosquitto=/usr/sbin/mosquitto
if [[ -z "$mosquitto" ]]; then echo "chaos.sh: mosquitto not installed; skipped" >&2; exit 77; fi

dll="${ECGEDGE_DLL:-$root/src/EcgEdge/bin/Release/net10.0/ecgedge.dll}"
if [[ ! -f "$dll" ]]; then (cd "$root" && dotnet build src/EcgEdge -c Release -nologo -v quiet >&2); fi

# A full disk needs a small file system of its own: a tmpfs, mounted in a private mount namespace (the script re-runs
# itself there), so nothing outside this run sees it.
if (( full_disk )) && [[ -z "${ECGEDGE_CHAOS_NS:-}" ]]; then
  if [[ "$(id -u)" != 0 ]] || ! command -v unshare >/dev/null 2>&1; then echo "chaos.sh: --full-disk needs root and unshare" >&2; exit 77; fi
  ECGEDGE_CHAOS_NS=1 exec unshare -m --propagation private bash "$0" "$@" --duration "$duration" --seed "$seed" --speed "$speed" \
    --record "$record" ${json:+--json "$json"} ${keep:+--keep "$keep"} --full-disk
fi

w="$(mktemp -d "${TMPDIR:-/tmp}/ecgedge-chaos.XXXXXX")"
disk="$w"
if (( full_disk )); then
  disk="$w/disk"; mkdir -p "$disk"
  if ! mount -t tmpfs -o size=2m tmpfs "$disk"; then
    echo "chaos.sh: cannot mount a tmpfs here; the full-disk phase is skipped" >&2
    full_disk=0 disk="$w"
  fi
fi
pids=()
cleanup() {
  set +e  # best effort: a process that is already gone must not stop the rest of the clean-up
  for p in "${pids[@]:-}"; do [[ -n "$p" ]] && kill -9 "$p" 2>/dev/null; done
  [[ -n "${broker_pid:-}" ]] && { kill -CONT "$broker_pid" 2>/dev/null; kill -9 "$broker_pid" 2>/dev/null || true; }
  [[ -n "${worker_pid:-}" ]] && kill -9 "$worker_pid" 2>/dev/null || true
  [[ -n "${sub_pid:-}" ]] && kill -9 "$sub_pid" 2>/dev/null || true
  if [[ -n "$keep" ]]; then mkdir -p "$keep"; cp -r "$w"/. "$keep"/; fi
  (( full_disk )) && umount "$disk" 2>/dev/null
  rm -rf "$w"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
mkdir -p "$w/broker"
# Persistence must be writable: started as root, mosquitto drops to user "mosquitto" unless told otherwise, and then
# silently saves nothing (a SIGKILLed broker comes back without the subscriber's session: alerts published before the
# subscriber reconnects are lost — the first run of this script measured exactly that).
cat > "$w/broker/mosquitto.conf" <<EOF
user $(id -un)
listener $port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $w/broker/
autosave_interval 1
autosave_on_changes true
max_queued_messages 100000
log_dest file $w/broker/mosquitto.log
EOF

now() { date +%s.%N; }
log() { echo "$(date +%T) chaos: $*" >&2; }

start_broker() { "$mosquitto" -c "$w/broker/mosquitto.conf" >/dev/null 2>&1 & broker_pid=$!; sleep 0.3; }
start_worker() {
  dotnet "$dll" run --record "$record" --realtime true "--Replay:Speed=$speed" --loop true --mains 60 \
    --Mqtt:Mode=External "--Mqtt:Endpoints:0=mqtt://127.0.0.1:$port" --Mqtt:DeviceId=chaos-1 \
    "--Mqtt:Outbox:Directory=$disk/outbox" --Mqtt:Outbox:MaxBytes=1048576 --Mqtt:Outbox:SegmentBytes=262144 --Mqtt:Outbox:MaxMessageBytes=262144 \
    --Mqtt:KeepAliveSeconds=5 --Mqtt:ReconnectMinDelay=00:00:00.200 \
    --Mqtt:ReconnectMaxDelay=00:00:01 "--Events:AlertLogFile=$w/produced.jsonl" --Pipeline:VitalsIntervalSeconds=600 \
    "--Pipeline:HealthFile=$w/health.json" >> "$w/worker.log" 2>&1 &
  worker_pid=$!
}

# Follow a growing file and stamp each new line with the wall clock when it appears (one process per file, so its PID
# is the one to stop; a `tail | loop` pipeline would leave the tail behind).
follow() {
  python3 -u -c '
import sys, time
src, dst = sys.argv[1], sys.argv[2]
with open(src, "a"): pass
with open(src, encoding="utf-8", errors="replace") as f, open(dst, "w", encoding="utf-8") as out:
    buf = ""
    while True:
        chunk = f.readline()
        if not chunk:
            time.sleep(0.02)
            continue
        buf += chunk
        if buf.endswith("\n"):
            out.write(f"{time.time():.6f} {buf}")
            out.flush()
            buf = ""
' "$1" "$2" &
  pids+=($!)
}

start_broker
dotnet "$dll" watch --broker "mqtt://127.0.0.1:$port" --client-id chaos-clinician --json > "$w/received.jsonl" 2>> "$w/watch.err" &
sub_pid=$!
follow "$w/received.jsonl" "$w/received.txt"
follow "$w/produced.jsonl" "$w/produced.txt"
sleep 2
start_worker

RANDOM=$seed
faults_broker_kill=0 faults_worker_kill=0 faults_broker_stop=0 faults_disk_full=0 faults_disk_full_kill=0
t_end=$(( $(date +%s) + duration ))
while (( $(date +%s) < t_end )); do
  sleep $(( 6 + RANDOM % 10 ))
  (( $(date +%s) >= t_end )) && break
  case $(( RANDOM % (3 + 2 * full_disk) )) in
    0) log "SIGKILL broker"; kill -9 "$broker_pid" 2>/dev/null || true; wait "$broker_pid" 2>/dev/null || true
       sleep $(( 2 + RANDOM % 4 )); start_broker; log "broker restarted"; faults_broker_kill=$((faults_broker_kill + 1)) ;;
    1) log "SIGKILL worker"; kill -9 "$worker_pid" 2>/dev/null || true; wait "$worker_pid" 2>/dev/null || true
       sleep $(( 1 + RANDOM % 3 )); start_worker; log "worker restarted"; faults_worker_kill=$((faults_worker_kill + 1)) ;;
    2) log "SIGSTOP broker"; kill -STOP "$broker_pid"; sleep $(( 5 + RANDOM % 6 )); kill -CONT "$broker_pid"
       log "SIGCONT broker"; faults_broker_stop=$((faults_broker_stop + 1)) ;;
    3) log "disk full"; dd if=/dev/zero of="$disk/filler" bs=4k 2>/dev/null || true; sleep $(( 8 + RANDOM % 8 ))
       rm -f "$disk/filler"; log "disk space back"; faults_disk_full=$((faults_disk_full + 1)) ;;
    4) log "broker frozen, disk full, then SIGKILL worker on the full disk"; kill -STOP "$broker_pid"
       dd if=/dev/zero of="$disk/filler" bs=4k 2>/dev/null || true; sleep $(( 4 + RANDOM % 6 ))
       kill -9 "$worker_pid" 2>/dev/null || true; wait "$worker_pid" 2>/dev/null || true
       start_worker; sleep $(( 3 + RANDOM % 4 )); log "worker restarted on the full disk"
       rm -f "$disk/filler"; kill -CONT "$broker_pid"; log "disk space back, broker resumed"
       faults_disk_full_kill=$((faults_disk_full_kill + 1)) ;;
  esac
done

# Wind down: no more faults; stop producing (SIGTERM: the worker drains what it can), give the outbox time to empty.
log "faults over; stopping the worker and draining"
kill -TERM "$worker_pid" 2>/dev/null || true
wait "$worker_pid" 2>/dev/null || true
# A worker killed mid-delivery leaves alerts in its outbox, and a device that restarts delivers them: one last start
# (it also replays, so it may add alerts of its own; they count like the others).
log "a last worker start delivers what is left in the outbox"
start_worker; sleep 8; kill -TERM "$worker_pid" 2>/dev/null || true; wait "$worker_pid" 2>/dev/null || true
sleep 3
kill -TERM "$sub_pid" 2>/dev/null || true; sleep 1; kill -9 "$sub_pid" 2>/dev/null || true
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done

python3 - "$w" "$json" "$faults_broker_kill" "$faults_worker_kill" "$faults_broker_stop" "$duration" "$seed" "$speed" "$faults_disk_full" "$faults_disk_full_kill" <<'PY'
import json, sys, statistics, collections
w, out, bk, wk, bs, duration, seed, speed, df, dfk = sys.argv[1:11]
def read(path):
    rows = {}
    for line in open(path, encoding="utf-8", errors="replace"):
        ts, _, body = line.partition(" ")
        try:
            a = json.loads(body)
        except ValueError:
            continue
        if isinstance(a, dict) and isinstance(a.get("id"), str):
            rows.setdefault(a["id"], (float(ts), a))
    return rows
produced, received = read(f"{w}/produced.txt"), read(f"{w}/received.txt")
lost = sorted(set(produced) - set(received))
delays = [received[i][0] - produced[i][0] for i in produced if i in received]
dups = 0
for line in open(f"{w}/watch.err", errors="replace"):
    if "duplicate(s) dropped" in line:
        dups = int(line.split(",")[1].split()[0])
res = {
    "duration_s": int(duration), "seed": int(seed), "replay_speed": float(speed),
    "faults": {"broker_sigkill": int(bk), "worker_sigkill": int(wk), "broker_sigstop": int(bs), "disk_full": int(df),
               "disk_full_then_worker_sigkill": int(dfk)},
    # where each alert went when it was produced, as the audit log says (outbox, outbox_without_strip, held_in_memory, ...)
    "audit_storage": dict(collections.Counter(a.get("storage", "none") for _, a in produced.values())),
    "alerts_produced": len(produced), "alerts_received": len(received), "alerts_lost": len(lost), "lost_ids": lost,
    "received_not_in_audit_log": len(set(received) - set(produced)),
    "duplicates_dropped_by_subscriber": dups,
    "delivery_delay_s": {"median": round(statistics.median(delays), 3) if delays else None,
                         "max": round(max(delays), 3) if delays else None},
}
print(json.dumps(res, indent=2))
if out:
    open(out, "w").write(json.dumps(res, indent=2) + "\n")
if not produced:
    print("chaos.sh: the worker produced no alert (see worker.log; --keep DIR keeps it)", file=sys.stderr)
    sys.exit(1)
sys.exit(1 if lost else 0)
PY
