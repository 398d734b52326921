#!/usr/bin/env bash
# SIGHUP (docs/configuration.md, "Reloading"): sluice-segstore,
# sluice-kafka and sluice-mqtt re-read their config file; the keys marked "reloads" take
# effect at once (log.level, topic.* defaults on existing topics, kafka's
# auto-create), a changed key that needs a restart is named in the log
# line, and an invalid file changes nothing and keeps the daemon up.
#   config_reload_test.sh BIN_DIR TMP_DIR
set -euo pipefail
bin=$1 tmp=$2
mkdir -p "$tmp"
dir=$(mktemp -d "$(realpath "$tmp")/cfgreload.XXXXXX")
spid= kpid= mpid=
trap 'kill $mpid $kpid $spid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
fail() {
    echo "FAIL: $*" >&2
    echo "---- segstore log" >&2; cat "$dir/seg.log" >&2 || true
    echo "---- kafka log" >&2; cat "$dir/kf.log" >&2 || true
    echo "---- mqtt log" >&2; cat "$dir/mq.log" >&2 || true
    exit 1
}
# wait_for FILE PATTERN: until grep finds it (10 s).
wait_for() {
    for _ in $(seq 200); do grep -q -- "$2" "$1" && return 0; sleep 0.05; done
    fail "no '$2' in $1"
}
sock="ipc://$dir/d/segstore.sock"
ctl() { "$bin/sluice-ctl" --segstore "$sock" "$@"; }

# ---- sluice-segstore
cat >"$dir/seg.conf" <<CONF
log.level = info
topic.segment.bytes = 4m
CONF
"$bin/sluice-segstore" --data "$dir/d" --config "$dir/seg.conf" 2>"$dir/seg.log" &
spid=$!
wait_for "$dir/seg.log" "SS-READY"
ctl topic create t --partitions 1 >/dev/null
ctl topic describe t | grep -q "segment.bytes=4194304" || fail "initial segment.bytes"
grep -q " DEBUG " "$dir/seg.log" && fail "debug lines at log.level=info"

cat >"$dir/seg.conf" <<CONF
log.level = debug
topic.segment.bytes = 8m
fsync = never
CONF
kill -HUP $spid
wait_for "$dir/seg.log" "SS-RELOAD reloaded=log.level,topic.segment.bytes restart-needed=fsync"
# The new default applies to the existing topic (it has no override).
ctl topic describe t | grep -q "segment.bytes=8388608" || fail "topic default not reloaded"
# And debug lines now appear (a sync round logs SS-ROUND at debug).
echo x | ctl produce t 0 >/dev/null
wait_for "$dir/seg.log" " DEBUG "

# An invalid file: nothing changes, the daemon keeps serving.
echo "checkpoint.interval.ms = often" >"$dir/seg.conf"
kill -HUP $spid
wait_for "$dir/seg.log" "SS-RELOAD.*nothing reloaded"
kill -0 $spid || fail "segstore died on a bad reload"
ctl topic describe t | grep -q "segment.bytes=8388608" || fail "bad reload changed settings"

# Back to warn: info lines stop.
printf 'log.level = warn\ntopic.segment.bytes = 8m\nfsync = never\n' >"$dir/seg.conf"
kill -HUP $spid
sleep 0.5
n=$(grep -c "SS-TOPIC" "$dir/seg.log")
ctl topic create t2 --partitions 1 >/dev/null
ctl topic describe t2 >/dev/null
[ "$(grep -c "SS-TOPIC" "$dir/seg.log")" = "$n" ] || fail "info line at log.level=warn"
echo "segstore: ok"

# ---- sluice-kafka
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$dir/kf.conf" <<CONF
log.level = info
auto.create.topics.enable = true
CONF
"$bin/sluice-kafka" --segstore "$sock" --listen "127.0.0.1:$port" \
    --config "$dir/kf.conf" 2>"$dir/kf.log" &
kpid=$!
wait_for "$dir/kf.log" "KF-LISTEN"
cat >"$dir/kf.conf" <<CONF
log.level = debug
auto.create.topics.enable = false
node.id = 7
CONF
kill -HUP $kpid
wait_for "$dir/kf.log" "KF-RELOAD reloaded=log.level,auto.create.topics.enable restart-needed=node.id"
# Debug now: a bad frame (a negative size) is logged at debug.
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf '\xff\xff\xff\xff' >&3
wait_for "$dir/kf.log" " DEBUG KF-"
exec 3>&-
# Auto-create is off now: a Metadata request for an unknown topic does
# not create it (kcat asks with allow_auto_topic_creation).
if command -v kcat >/dev/null; then
    kcat -b "127.0.0.1:$port" -L -t nosuch -m 5 >/dev/null 2>&1 || true
    ctl topic list | grep -qx "nosuch" && fail "auto-create still on"
fi
echo "bad line" >"$dir/kf.conf"
kill -HUP $kpid
wait_for "$dir/kf.log" "KF-RELOAD.*nothing reloaded"
kill -0 $kpid || fail "sluice-kafka died on a bad reload"
echo "kafka: ok"

# ---- sluice-mqtt: log level, mapping rules (same log topics: live; other
# log topics: refused, old rules kept), anonymous access.
mport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'a/#  ra\nb/#  rb\n' >"$dir/rules"
cat >"$dir/mq.conf" <<CONF
log.level = info
mqtt.log.rules.file = $dir/rules
CONF
"$bin/sluice-mqtt" --segstore "$sock" --listen "127.0.0.1:$mport" \
    --config "$dir/mq.conf" 2>"$dir/mq.log" &
mpid=$!
wait_for "$dir/mq.log" "MQ-READY"
pub() { mosquitto_pub -h 127.0.0.1 -p "$mport" -q 1 "$@"; }
# count TOPIC: records in a log topic (the sum of its high watermarks)
count() {
    ctl topic describe "$1" | awk '$1 ~ /^[0-9]+$/ && NF == 5 { n += $3 } END { print n + 0 }'
}
pub -t a/1 -m one
[ "$(count ra)" = 1 ] || fail "a/1 not in ra before the reload"
# Swap the filters: the same log topics in the same order (ra first named).
printf 'b/#  ra\na/#  rb\n' >"$dir/rules"
cat >"$dir/mq.conf" <<CONF
log.level = debug
mqtt.log.rules.file = $dir/rules
mqtt.allow.anonymous = false
mqtt.max.packet.size = 4096
CONF
kill -HUP $mpid
wait_for "$dir/mq.log" "MQ-RELOAD mqtt.log.rules: 2 rules over the same 3 log topics"
wait_for "$dir/mq.log" "MQ-RELOAD reloaded=log.level,mqtt.allow.anonymous restart-needed=mqtt.max.packet.size"
# Anonymous clients are refused now (CONNACK 5 / not authorized).
pub -t a/2 -m two 2>/dev/null && fail "anonymous publish accepted after the reload"
printf 'log.level = debug\nmqtt.log.rules.file = %s\n' "$dir/rules" >"$dir/mq.conf"
kill -HUP $mpid
wait_for "$dir/mq.log" "MQ-RELOAD reloaded=mqtt.allow.anonymous restart-needed=none"
pub -t a/3 -m three
[ "$(count rb)" = 1 ] || fail "a/3 not in rb after the rules reload"
[ "$(count ra)" = 1 ] || fail "a/3 went to ra after the rules reload"
# A rule naming a new log topic needs a restart: refused, old rules kept.
printf 'b/#  ra\na/#  rb\nc/#  rc\n' >"$dir/rules"
kill -HUP $mpid
wait_for "$dir/mq.log" "MQ-RELOAD mqtt.log.rules: the new rules name other log topics"
pub -t a/4 -m four
[ "$(count rb)" = 2 ] || fail "old rules not kept after a refused reload"
kill -0 $mpid || fail "sluice-mqtt died on a reload"
echo "mqtt: ok"
