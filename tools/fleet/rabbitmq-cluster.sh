#!/usr/bin/env bash
# A 3-node RabbitMQ cluster with the MQTT plugin, on loopback, in a folder of its own (nodes run as the current user,
# not as a system service). For fleet tests (tools/fleet/fleet.sh); Debian's rabbitmq-server 3.10 speaks MQTT 3.1.1.
#
#   tools/fleet/rabbitmq-cluster.sh start DIR [BASE_PORT] [NODES]  start NODES (default 3) nodes and cluster them;
#                                                           prints the MQTT URLs
#   tools/fleet/rabbitmq-cluster.sh ctl DIR N ARGS...       rabbitmqctl ARGS on node N (e.g. for deploy/rabbitmq/provision.sh)
#   tools/fleet/rabbitmq-cluster.sh kill DIR N              SIGKILL node N (1..3): its Erlang VM, nothing graceful
#   tools/fleet/rabbitmq-cluster.sh restart DIR N           start node N again on its data (rejoins the cluster)
#   tools/fleet/rabbitmq-cluster.sh status DIR              cluster status as node 1 (or any live node) sees it
#   tools/fleet/rabbitmq-cluster.sh stop DIR                stop every node and epmd's registrations; DIR stays
#
# Ports (BASE_PORT default 21883): MQTT BASE+i-1, AMQP BASE+100+i-1, Erlang distribution BASE+200+i-1, epmd
# BASE+300 (a private epmd, so no system-wide one is touched). Settings that matter for "no alert lost" are in
# DIR/nodeN/rabbitmq.conf and explained in deploy/rabbitmq/README.md:
#   mqtt.durable_queue_type = quorum   a subscriber's session queue is replicated to 3 nodes (Raft), so a QoS-1 message
#                                      acknowledged to the publisher survives the loss of the queue's node
#   persistent sessions (clean session off) are the clients' side (the worker and fleet-sim use them)
# ECGEDGE_RABBITMQ_QUEUE_TYPE=classic starts the cluster with RabbitMQ's default queue type instead, to show the loss.
# ECGEDGE_RABBITMQ_ANONYMOUS=false: no anonymous MQTT login (every client needs a user made by deploy/rabbitmq/provision.sh),
# as in the shipped deploy/rabbitmq/rabbitmq.conf; the default (true) is for fleet runs without users.
set -euo pipefail

cmd="${1:-}"; dir="${2:-}"
[[ -z "$cmd" || -z "$dir" ]] && { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
server=/usr/lib/rabbitmq/bin/rabbitmq-server
ctl=/usr/lib/rabbitmq/bin/rabbitmqctl
[[ -x "$server" ]] || { echo "rabbitmq-cluster.sh: rabbitmq-server is not installed" >&2; exit 77; }
host="$(hostname -s)"
mkdir -p "$dir"; dir="$(cd "$dir" && pwd)"

base_port() { cat "$dir/base_port" 2>/dev/null || echo 21883; }

node_env() {  # node index -> exported environment for rabbitmq scripts
  local i="$1" b; b="$(base_port)"
  export HOME="$dir"  # the shared Erlang cookie lives in $HOME/.erlang.cookie
  export RABBITMQ_NODENAME="ecgfleet$i@$host"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT=$((b + 100 + i - 1))
  export RABBITMQ_DIST_PORT=$((b + 200 + i - 1))
  export ERL_EPMD_PORT=$((b + 300)) ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_MNESIA_BASE="$dir/node$i/mnesia" RABBITMQ_LOG_BASE="$dir/node$i/log"
  export RABBITMQ_CONFIG_FILE="$dir/node$i/rabbitmq.conf"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/node$i/enabled_plugins"
  export RABBITMQ_PID_FILE="$dir/node$i/pid"
  export RABBITMQ_CONF_ENV_FILE="$dir/node$i/rabbitmq-env.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$dir/node$i/advanced.config"
  export RABBITMQ_FEATURE_FLAGS_FILE="$dir/node$i/feature_flags"
  export RABBITMQ_QUORUM_DIR="$dir/node$i/mnesia/quorum"
  export RABBITMQ_SERVER_START_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

write_node_config() {
  local i="$1" b; b="$(base_port)"
  mkdir -p "$dir/node$i/mnesia" "$dir/node$i/log"
  cat > "$dir/node$i/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$((b + 100 + i - 1))
mqtt.listeners.tcp.default = 127.0.0.1:$((b + i - 1))
mqtt.allow_anonymous = ${ECGEDGE_RABBITMQ_ANONYMOUS:-true}
mqtt.vhost = /
mqtt.exchange = amq.topic
mqtt.durable_queue_type = ${ECGEDGE_RABBITMQ_QUEUE_TYPE:-quorum}
mqtt.subscription_ttl = 86400000
mqtt.prefetch = 10
loopback_users = none
log.file.level = info
log.console = false
cluster_partition_handling = pause_minority
CONF
  echo "[rabbitmq_mqtt]." > "$dir/node$i/enabled_plugins"
  : > "$dir/node$i/rabbitmq-env.conf"
  echo "[]." > "$dir/node$i/advanced.config"
}

start_node() {  # detached; waits until the node answers
  local i="$1"
  ( node_env "$i"; setsid "$server" > "$dir/node$i/stdout.log" 2>&1 < /dev/null & )
  wait_node "$i" 120
}

wait_node() {
  local i="$1" limit="$2" t=0
  until ( node_env "$i"; "$ctl" -q await_startup --timeout 5 ) >/dev/null 2>&1; do
    t=$((t + 5)); if (( t >= limit )); then echo "node $i did not start; see $dir/node$i/log" >&2; return 1; fi
  done
}

nodes() { cat "$dir/nodes" 2>/dev/null || echo 3; }

mqtt_urls() { local b i urls=(); b="$(base_port)"; for ((i = 0; i < $(nodes); i++)); do urls+=("mqtt://127.0.0.1:$((b + i))"); done; (IFS=,; echo "${urls[*]}"); }

case "$cmd" in
  start)
    echo "${3:-21883}" > "$dir/base_port"
    n="${4:-3}"; [[ "$n" =~ ^[1-3]$ ]] || { echo "rabbitmq-cluster.sh: NODES must be 1..3" >&2; exit 2; }
    echo "$n" > "$dir/nodes"
    [[ -f "$dir/.erlang.cookie" ]] || { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/.erlang.cookie"; chmod 400 "$dir/.erlang.cookie"; }
    for ((i = 1; i <= n; i++)); do write_node_config "$i"; done
    start_node 1
    for ((i = 2; i <= n; i++)); do
      start_node "$i"
      ( node_env "$i"; "$ctl" -q stop_app && "$ctl" -q join_cluster "ecgfleet1@$host" && "$ctl" -q start_app ) >/dev/null
    done
    ( node_env 1; "$ctl" -q cluster_status --formatter json ) > "$dir/cluster_status.json" || true
    mqtt_urls
    ;;
  kill)
    i="$3"; pid="$(cat "$dir/node$i/pid" 2>/dev/null || true)"
    [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null || true
    ;;
  restart)
    start_node "$3"
    ;;
  status)
    for i in 1 2 3; do ( node_env "$i"; "$ctl" -q cluster_status ) 2>/dev/null && exit 0; done; exit 1
    ;;
  stop)
    for i in 1 2 3; do
      pid="$(cat "$dir/node$i/pid" 2>/dev/null || true)"
      [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null || true
    done
    # the private epmd (started by the first node, on its own port) goes too
    ( export ERL_EPMD_PORT=$(( $(base_port) + 300 )); epmd -kill >/dev/null 2>&1 ) || true
    ;;
  urls) mqtt_urls ;;
  ctl)
    i="$3"; shift 3
    ( node_env "$i"; exec "$ctl" "$@" )
    ;;
  *) echo "rabbitmq-cluster.sh: unknown command $cmd" >&2; exit 2 ;;
esac
