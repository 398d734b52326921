#!/usr/bin/env bash
# SIGHUP (docs/configuration.md, "Reloading"): sluice-segstore and
# sluice-kafka re-read their config file; the keys marked "reloads" take
# effect at once (log.level, topic.* defaults on existing topics, kafka's
# auto-create), a changed key that needs a restart is named in the log
# line, and an invalid file changes nothing and keeps the daemon up.
#   config_reload_test.sh BIN_DIR TMP_DIR
set -euo pipefail
bin=$1 tmp=$2
mkdir -p "$tmp"
dir=$(mktemp -d "$(realpath "$tmp")/cfgreload.XXXXXX")
spid= kpid=
trap 'kill $kpid $spid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
fail() {
    echo "FAIL: $*" >&2
    echo "---- segstore log" >&2; cat "$dir/seg.log" >&2 || true
    echo "---- kafka log" >&2; cat "$dir/kf.log" >&2 || true
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
