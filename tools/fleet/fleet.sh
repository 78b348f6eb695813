#!/usr/bin/env bash
# Fleet run: a broker (Debian mosquitto, or a 3-node RabbitMQ cluster with its MQTT plugin) on loopback, and
# `ecgedge fleet-sim` with N simulated devices on the product's transport plus a consumer that checks every alert id.
# With RabbitMQ, one node is SIGKILLed a third of the way into the run and restarted at two thirds: its devices (and the
# consumer, which starts on node 1) must fail over to the other nodes and lose nothing.
#
#   tools/fleet/fleet.sh [--broker mosquitto|rabbitmq] [--devices N] [--duration S] [--alert-rate R] [--vitals-interval S]
#                        [--kill-node K|none] [--queue-type quorum|classic] [--records PATH,...] [--json FILE] [--keep DIR] [--seed N]
#
#   --broker      mosquitto (default; MQTT 5) or rabbitmq (3 nodes, MQTT 3.1.1, quorum queues)
#   --devices N   simulated devices (default 100)          --duration S   seconds of emission (default 60)
#   --alert-rate  alerts per device per minute (default 2)  --vitals-interval S  (default 10)
#   --kill-node   RabbitMQ node to kill and restart (default 1, the consumer's first node; "none" to skip)
#   --queue-type  quorum (default) or classic: RabbitMQ's MQTT session queues (classic shows what the setting prevents)
#   --records     WFDB records whose pipeline output the devices replay (default: the bundled 201 plus MIT-BIH 203, 208,
#                 207 and 119 from ../shared/data when present)
#   ECGEDGE_DLL   the worker (default src/EcgEdge/bin/Release/net10.0/ecgedge.dll, built if missing)
#
# Prints fleet-sim's report (alerts sent / received / lost / duplicates, latency p50/p99, msg/s, CPU and working set
# per device) and the brokers' resident memory. Exit: fleet-sim's (0 = nothing lost), 77 when the broker is not installed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
broker=mosquitto devices=100 duration=60 rate=2 vitals=10 kill_node=1 records="" json="" keep="" seed=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --broker) broker="$2"; shift 2 ;;
    --devices) devices="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --alert-rate) rate="$2"; shift 2 ;;
    --vitals-interval) vitals="$2"; shift 2 ;;
    --kill-node) kill_node="$2"; shift 2 ;;
    --records) records="$2"; shift 2 ;;
    --queue-type) export ECGEDGE_RABBITMQ_QUEUE_TYPE="$2"; shift 2 ;;
    --json) json="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fleet.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n "$json" && "$json" != /* ]] && json="$PWD/$json"

if [[ -z "$records" ]]; then
  records="$root/src/EcgEdge/Resources/mitdb/201"
  for r in 203 207 208 119; do
    [[ -f "$root/../shared/data/mitdb/$r.hea" ]] && records+=",$(cd "$root/../shared/data/mitdb" && pwd)/$r"
  done
fi

dll="${ECGEDGE_DLL:-$root/src/EcgEdge/bin/Release/net10.0/ecgedge.dll}"
if [[ ! -f "$dll" ]]; then (cd "$root" && dotnet build src/EcgEdge -c Release -nologo -v quiet >&2); fi

w="$(mktemp -d "${TMPDIR:-/tmp}/ecgedge-fleet.XXXXXX")"
broker_pid="" sim_pid=""
cleanup() {
  set +e
  [[ -n "$sim_pid" ]] && kill -9 "$sim_pid" 2>/dev/null
  [[ -n "$broker_pid" ]] && kill -9 "$broker_pid" 2>/dev/null
  [[ "$broker" == rabbitmq ]] && bash "$here/rabbitmq-cluster.sh" stop "$w/rabbitmq" >/dev/null 2>&1
  if [[ -n "$keep" ]]; then mkdir -p "$keep"; cp -r "$w"/. "$keep"/ 2>/dev/null; fi
  rm -rf "$w"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_mb() { ps -o rss= -p "$1" 2>/dev/null | awk '{printf "%.0f", $1/1024}'; }

sim_args=(fleet-sim --devices "$devices" --duration "$duration" --alert-rate "$rate" --vitals-interval "$vitals" --seed "$seed"
          --records "$records" --json "$w/report.json" --ramp "$(( devices >= 500 ? 20 : 5 ))")

case "$broker" in
  mosquitto)
    mosquitto="$(command -v mosquitto || true)"; [[ -z "$mosquitto" && -x /usr/sbin/mosquitto ]] && mosquitto=/usr/sbin/mosquitto
    [[ -z "$mosquitto" ]] && { echo "fleet.sh: mosquitto is not installed; skipped" >&2; exit 77; }
    port="$(free_port)"; mkdir -p "$w/mosquitto"
    # No-loss settings: persistence (the consumer's session survives a broker restart) and a deep per-client queue
    # (mosquitto's default max_queued_messages of 1000 drops QoS-1 messages for a subscriber that falls behind).
    cat > "$w/mosquitto/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $w/mosquitto/
autosave_interval 10
max_queued_messages 1000000
max_inflight_messages 100
CONF
    [[ "$(id -u)" == 0 ]] && echo "user $(id -un)" >> "$w/mosquitto/mosquitto.conf"
    "$mosquitto" -c "$w/mosquitto/mosquitto.conf" > "$w/mosquitto/log" 2>&1 &
    broker_pid=$!
    disown "$broker_pid"  # stopped with SIGKILL at the end: no job-control notice
    sleep 0.5
    dotnet "$dll" "${sim_args[@]}" --broker "mqtt://127.0.0.1:$port" --protocol 5 &
    sim_pid=$!
    peak=0
    while kill -0 "$sim_pid" 2>/dev/null; do r="$(rss_mb "$broker_pid")"; (( ${r:-0} > peak )) && peak=$r; sleep 1; done
    set +e; wait "$sim_pid"; status=$?; set -e; sim_pid=""
    echo "fleet.sh: mosquitto peak resident memory ${peak} MB"
    ;;
  rabbitmq)
    [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] || { echo "fleet.sh: rabbitmq-server is not installed; skipped" >&2; exit 77; }
    base=$(( 20000 + RANDOM % 20000 ))
    echo "fleet.sh: starting a 3-node RabbitMQ cluster (about 45 s)"
    urls="$(bash "$here/rabbitmq-cluster.sh" start "$w/rabbitmq" "$base" | tail -1)"
    echo "fleet.sh: cluster up: $urls"
    dotnet "$dll" "${sim_args[@]}" --broker "$urls" --protocol 3.1.1 2> >(tee "$w/sim.log" >&2) &
    sim_pid=$!
    if [[ "$kill_node" != none ]]; then
      # Wait for emission to start (streams are built and devices ramp first), then kill at 1/3 and restart at 2/3.
      until grep -q "emitting for" "$w/sim.log" 2>/dev/null || ! kill -0 "$sim_pid" 2>/dev/null; do sleep 0.5; done
      sleep $(( duration / 3 ))
      echo "fleet.sh: $(date +%T) SIGKILL RabbitMQ node $kill_node"
      bash "$here/rabbitmq-cluster.sh" kill "$w/rabbitmq" "$kill_node"
      sleep $(( duration / 3 ))
      echo "fleet.sh: $(date +%T) restarting node $kill_node"
      bash "$here/rabbitmq-cluster.sh" restart "$w/rabbitmq" "$kill_node" && echo "fleet.sh: $(date +%T) node $kill_node is back"
    fi
    set +e; wait "$sim_pid"; status=$?; set -e; sim_pid=""
    for i in 1 2 3; do
      pid="$(cat "$w/rabbitmq/node$i/pid" 2>/dev/null || true)"
      echo "fleet.sh: RabbitMQ node $i resident memory $(rss_mb "${pid:-0}") MB"
    done
    ;;
  *) echo "fleet.sh: --broker mosquitto|rabbitmq" >&2; exit 2 ;;
esac

[[ -n "$json" ]] && cp "$w/report.json" "$json"
exit "$status"
