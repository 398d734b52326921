#!/usr/bin/env bash
# Environment overrides (docs/configuration.md): SLUICE_<PROCESS>_<KEY>
# sits between the config file and the flags, and a bad value is refused
# at start with the variable, the value and why.
#   config_env_test.sh BIN_DIR TMP_DIR
set -euo pipefail
bin=$1 tmp=$2
mkdir -p "$tmp"
dir=$(mktemp -d "$(realpath "$tmp")/cfgenv.XXXXXX")
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
pid=
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# A bad value: refused at start, naming the variable and the key.
if SLUICE_SEGSTORE_IPC_CONTEXTS=0 "$bin/sluice-segstore" --data "$dir/d1" 2>"$dir/err"; then
    echo "FAIL: ipc.contexts=0 from the environment was accepted" >&2; exit 1
fi
grep -q "SLUICE_SEGSTORE_IPC_CONTEXTS" "$dir/err" && grep -q "ipc.contexts" "$dir/err" || {
    echo "FAIL: the error does not name the variable and key:" >&2; cat "$dir/err" >&2; exit 1; }
for p in kafka mqtt; do
    if env "SLUICE_${p^^}_LISTEN=nonsense" "$bin/sluice-$p" --segstore ipc:///nonexistent 2>"$dir/err"; then
        echo "FAIL: sluice-$p started with a bad listen address" >&2; exit 1
    fi
done

# A good value is used; a flag still wins over the environment.
SLUICE_SEGSTORE_METRICS_LISTEN=127.0.0.1:$port SLUICE_SEGSTORE_LOG_LEVEL=debug \
    "$bin/sluice-segstore" --data "$dir/d2" --log-level info 2>"$dir/log" &
pid=$!
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/metrics" >/dev/null && break
    sleep 0.05
done
curl -sf "http://127.0.0.1:$port/metrics" | grep -q '^sluice_segstore_appends_total 0$' || {
    echo "FAIL: SLUICE_SEGSTORE_METRICS_LISTEN not applied" >&2; cat "$dir/log" >&2; exit 1; }
if grep -q " DEBUG " "$dir/log"; then
    echo "FAIL: --log-level info did not win over SLUICE_SEGSTORE_LOG_LEVEL" >&2; exit 1
fi
kill -TERM $pid; wait $pid; pid=
# A topic default: SLUICE_SEGSTORE_TOPIC_<KEY> sets topic.<key>.
SLUICE_SEGSTORE_TOPIC_SEGMENT_BYTES=2097152 "$bin/sluice-segstore" --data "$dir/d3" 2>"$dir/log3" &
pid=$!
for _ in $(seq 100); do [ -S "$dir/d3/segstore.sock" ] && break; sleep 0.05; done
"$bin/sluice-ctl" --segstore "ipc://$dir/d3/segstore.sock" topic create t --partitions 1 >/dev/null || { cat "$dir/log3" >&2; exit 1; }
"$bin/sluice-ctl" --segstore "ipc://$dir/d3/segstore.sock" topic describe t | grep -q "segment.bytes=2097152" || {
    echo "FAIL: SLUICE_SEGSTORE_TOPIC_SEGMENT_BYTES not applied" >&2; exit 1; }
kill -TERM $pid; wait $pid; pid=
echo "environment overrides: ok"
