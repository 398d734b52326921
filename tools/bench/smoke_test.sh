#!/usr/bin/env bash
# tools/bench/smoke_test.sh kafka|mqtt|bridge BIN_DIR — ctest
# integration.bench_kafka, integration.bench_mqtt and integration.bench_bridge.
#
# Starts sluice-segstore (ipc:// in a fresh directory under $SL_TEST_TMP)
# and the frontend on 127.0.0.1 at a free port, as the integration tests
# do, runs one small scenario of sluice-bench against it:
#   kafka: sluice-bench kafka --messages 20000 --size 100 --acks 1 --json
#   mqtt:  sluice-bench mqtt --qos 1 --messages 2000 --json   (1 -> 1)
#   bridge: sluice-bench bridge --publishers 2 --messages 1000 --json, with
#          sluice-mqtt mapping sluice-bench/# to bench-bridge and
#          sluice-kafka on the same segstore
# and passes when the bench exits 0 and reports nothing lost (nor, for
# MQTT, duplicated).  A smoke test: it checks that the scenario runs end to
# end, never a figure.  Everything started is stopped on exit (SIGTERM,
# then SIGKILL after 10 s).
set -euo pipefail

proto=${1:?usage: smoke_test.sh kafka|mqtt|bridge BIN_DIR}
bin=${2:?usage: smoke_test.sh kafka|mqtt|bridge BIN_DIR}
case $proto in kafka | mqtt | bridge) ;; *) echo "smoke_test.sh: kafka, mqtt or bridge" >&2; exit 2 ;; esac
tmp=${SL_TEST_TMP:-/tmp}
mkdir -p "$tmp"
root=$(mktemp -d "$tmp/bench-$proto.XXXXXX")
pids=()

stop_all() {
    local i pid
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        pid=${pids[i]}
        kill -TERM "$pid" 2>/dev/null || continue
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
fail() {
    echo "FAIL: $*" >&2
    for f in "$root"/*.log; do
        echo "---- $f" >&2
        tail -n 30 "$f" >&2
    done
    exit 1
}
trap 'stop_all; rm -rf "$root"' EXIT

free_port() {
    /usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}
port=$(free_port)
kport=$(free_port)
url="ipc://$root/seg.sock"

"$bin/sluice-segstore" --data "$root/data" --ipc "$url" \
    >"$root/segstore.log" 2>&1 &
pids+=("$!")
for _ in $(seq 200); do
    [ -S "$root/seg.sock" ] && break
    kill -0 "${pids[0]}" 2>/dev/null || fail "sluice-segstore exited"
    sleep 0.05
done
[ -S "$root/seg.sock" ] || fail "sluice-segstore did not listen"

if [ "$proto" = kafka ]; then
    "$bin/sluice-kafka" --segstore "$url" --listen "127.0.0.1:$port" \
        --advertise "127.0.0.1:$port" >"$root/kafka.log" 2>&1 &
elif [ "$proto" = mqtt ]; then
    "$bin/sluice-mqtt" --segstore "$url" --listen "127.0.0.1:$port" \
        >"$root/mqtt.log" 2>&1 &
else
    "$bin/sluice-mqtt" --segstore "$url" --listen "127.0.0.1:$port" \
        --set mqtt.log.rules=sluice-bench/#=bench-bridge \
        >"$root/mqtt.log" 2>&1 &
fi
pids+=("$!")
if [ "$proto" = bridge ]; then
    "$bin/sluice-kafka" --segstore "$url" --listen "127.0.0.1:$kport" \
        --advertise "127.0.0.1:$kport" >"$root/kafka.log" 2>&1 &
    pids+=("$!")
fi
# Kafka is ready when it listens; MQTT when it has found its log topic.
ready() {
    if [ "$proto" = kafka ]; then
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
    else
        grep -q MQ-READY "$root/mqtt.log"
    fi
}
up=0
for _ in $(seq 200); do
    kill -0 "${pids[1]}" 2>/dev/null || fail "sluice-$proto exited"
    if ready; then
        up=1
        break
    fi
    sleep 0.05
done
[ "$up" = 1 ] || fail "sluice-$proto not ready on $port"

rc=0
if [ "$proto" = kafka ]; then
    out=$("$bin/sluice-bench" kafka --bootstrap "127.0.0.1:$port" \
        --topic bench-smoke --messages 20000 --size 100 --acks 1 --json \
        2>"$root/bench.log") || rc=$?
elif [ "$proto" = bridge ]; then
    out=$("$bin/sluice-bench" bridge --host 127.0.0.1 --port "$port" \
        --bootstrap "127.0.0.1:$kport" --topic bench-bridge --publishers 2 \
        --messages 1000 --size 100 --json 2>"$root/bench.log") || rc=$?
else
    out=$("$bin/sluice-bench" mqtt --host 127.0.0.1 --port "$port" \
        --publishers 1 --subscribers 1 --qos 1 --messages 2000 --size 100 \
        --json 2>"$root/bench.log") || rc=$?
fi
cat "$root/bench.log" >&2
echo "$out"
[ "$rc" = 0 ] || fail "sluice-bench $proto exited $rc"
grep -q '"lost":0,' <<<"$out" || fail "messages lost: $out"
if [ "$proto" = kafka ]; then
    grep -q '"consumed":20000,' <<<"$out" || fail "not all consumed: $out"
elif [ "$proto" = bridge ]; then
    grep -q '"consumed":2000,' <<<"$out" || fail "not all consumed: $out"
    grep -q '"duplicated":0,' <<<"$out" || fail "records duplicated: $out"
else
    grep -q '"duplicated":0,' <<<"$out" || fail "messages duplicated: $out"
    grep -q '"received":2000,' <<<"$out" || fail "not all received: $out"
fi
echo "PASS"
