#!/usr/bin/env bash
# Creates (or updates) a RabbitMQ user for one EcgEdge device or one clinician application, with the permissions of
# deploy/mosquitto/ecgedge.acl expressed as RabbitMQ permissions and topic permissions. Run on a broker node as an
# administrator (or point RABBITMQCTL at one); safe to run again (it only sets what it sets).
#
#   deploy/rabbitmq/provision.sh device ID [options]       a device: writes only {prefix}/ID/{alerts,events,vitals,
#                                                          status,active}; reads nothing
#   deploy/rabbitmq/provision.sh clinician NAME [options]  a clinician app: reads the fleet's alerts, events, vitals,
#                                                          status, open episodes and acks; writes only acknowledgements
#                                                          {prefix}/+/acks/NAME/+
#   deploy/rabbitmq/provision.sh remove NAME               deletes the user (RabbitMQ closes its open connections)
#   deploy/rabbitmq/provision.sh show NAME                 prints the user's permissions and topic permissions
#
#   --password-stdin   read the user's password from standard input (one line); without it the user has no password
#                      and can only log in with a client certificate whose CN is the name (mqtt.ssl_cert_login, the
#                      shipped rabbitmq.conf)
#   --prefix P         topic prefix, the devices' Mqtt:TopicPrefix (default ecgedge)
#   --vhost V          virtual host, rabbitmq.conf's mqtt.vhost (default /)
#   RABBITMQCTL        the rabbitmqctl command (default: rabbitmqctl); e.g. "sudo rabbitmqctl", or for the test nodes
#                      "bash tools/fleet/rabbitmq-cluster.sh ctl DIR 1"
#
# How RabbitMQ's MQTT plugin (3.10) authorises: every MQTT publish goes to the topic exchange amq.topic with the topic as
# routing key, '/' replaced by '.' (ecgedge/dev1/alerts -> ecgedge.dev1.alerts); a subscription binds the client's
# queue with the filter translated the same way ('+' -> '*', '#' stays). Topic permissions (set_topic_permissions)
# check a publish's routing key against the user's write regex and a subscription's binding key against its read regex.
# The regexes below name the user literally (escaped) rather than through {username}: RabbitMQ substitutes a variable
# into the regex as it is, so a name with a regex character would widen its own rights.
# What a refused publish does over MQTT 3.1.1 (RabbitMQ 3.10 has no MQTT 5): the broker drops it and closes the
# connection, without PUBACK. See deploy/rabbitmq/README.md ("Per-device topic permissions").
set -euo pipefail

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[[ $# -lt 2 ]] && usage
role="$1" name="$2"; shift 2
prefix=ecgedge vhost=/ password_stdin=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --password-stdin) password_stdin=1; shift ;;
    --prefix) prefix="$2"; shift 2 ;;
    --vhost) vhost="$2"; shift 2 ;;
    *) echo "provision.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
read -r -a ctl <<< "${RABBITMQCTL:-rabbitmqctl}"

# One MQTT topic level: the device ids EcgEdge accepts (Mqtt:DeviceId) minus '.', which RabbitMQ's MQTT plugin turns
# into '/' in the routing key; a clinician name becomes a topic level of the ack topics, so the same rule applies.
level='^[A-Za-z0-9_-]{1,64}$'
[[ "$name" =~ $level ]] || { echo "provision.sh: '$name' must be 1..64 letters, digits, '_' or '-' (a topic level without '.')" >&2; exit 2; }
[[ "$prefix" =~ $level ]] || { echo "provision.sh: --prefix '$prefix' must be one topic level of letters, digits, '_' or '-'" >&2; exit 2; }

user_exists() { "${ctl[@]}" -q list_users --no-table-headers 2>/dev/null | cut -f1 | grep -Fxq "$1"; }

ensure_user() {
  if [[ "$password_stdin" == 1 ]]; then
    local pw; IFS= read -r pw || true
    [[ -n "$pw" ]] || { echo "provision.sh: --password-stdin given but no password on standard input" >&2; exit 2; }
    # The password goes to rabbitmqctl on its standard input, never on a command line (visible in ps).
    if user_exists "$name"; then printf '%s\n' "$pw" | "${ctl[@]}" -q change_password "$name" >/dev/null
    else printf '%s\n' "$pw" | "${ctl[@]}" -q add_user "$name" >/dev/null; fi
  else
    user_exists "$name" || "${ctl[@]}" -q add_user "$name" "" >/dev/null
    "${ctl[@]}" -q clear_password "$name" >/dev/null   # certificate login only
  fi
}

case "$role" in
  device)
    ensure_user
    # Resources: publish into amq.topic (the MQTT exchange); no queue (a device never subscribes), nothing to read.
    "${ctl[@]}" -q set_permissions -p "$vhost" "$name" '^$' '^amq\.topic$' '^$'
    # Topics: only its own subtree's five topics; reading (binding) nothing.
    "${ctl[@]}" -q set_topic_permissions -p "$vhost" "$name" amq.topic \
      "^${prefix}\\.${name}\\.(alerts|events|vitals|status|active)\$" '^$'
    echo "provision.sh: device $name may publish ${prefix}/${name}/{alerts,events,vitals,status,active} only"
    ;;
  clinician)
    ensure_user
    # Resources: its MQTT subscription queues (mqtt-subscription-<client id>qos0/qos1), binding them to amq.topic,
    # consuming them, and publishing acknowledgements into amq.topic.
    "${ctl[@]}" -q set_permissions -p "$vhost" "$name" '^mqtt-subscription-' '^(amq\.topic|mqtt-subscription-.*)$' '^(amq\.topic|mqtt-subscription-.*)$'
    # Topics: read the fleet's topics, one device or '+' (routing key '*') at the device level, never '#';
    # write only acknowledgements under its own name.
    any='[^.#]+'
    "${ctl[@]}" -q set_topic_permissions -p "$vhost" "$name" amq.topic \
      "^${prefix}\\.${any}\\.acks\\.${name}\\.${any}\$" \
      "^${prefix}\\.${any}\\.((alerts|events|vitals|status|active)|acks\\.${any}\\.${any})\$"
    echo "provision.sh: clinician $name may read the fleet and publish ${prefix}/+/acks/${name}/+ only"
    ;;
  remove)
    "${ctl[@]}" -q delete_user "$name"
    ;;
  show)
    "${ctl[@]}" -q list_user_permissions "$name"
    "${ctl[@]}" -q list_user_topic_permissions "$name"
    ;;
  *) usage ;;
esac
