#!/usr/bin/env bash
# tools/quickstart.sh — build Sluice and run it in this terminal.
#
# Installs missing packages (tools/deps.sh), builds Release in build/,
# starts the segment store on ./data, prints what runs where, and waits.
# Ctrl-C (or SIGTERM) stops everything it started, in reverse order:
# SIGTERM, then a wait of up to 10 s each, then SIGKILL.  If any process
# exits by itself, the others are stopped and its exit status is returned.
#
# Environment: SLUICE_BUILD (default build), SLUICE_DATA (default ./data),
# SLUICE_JOBS (ninja parallelism, default 2).
#
# The functions below are called indirectly (args_$name, traps):
# shellcheck disable=SC2317
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
build=${SLUICE_BUILD:-build}
jobs=${SLUICE_JOBS:-2}
data=${SLUICE_DATA:-$root/data}
ipc="ipc://$data/segstore.sock"

# ---- what runs ------------------------------------------------------------
# One entry per process, started in this order and stopped in reverse.
# For an entry NAME the binary is $build/bin/sluice-NAME, args_NAME prints
# its arguments one per line, about_NAME says what it serves, and
# ready_NAME (optional) succeeds once it accepts work.  Entries whose binary
# is not built are skipped, so frontends join the list before they exist.
services=(segstore mqtt kafka)

# Prometheus /metrics of each process on 127.0.0.1 (docs/operations.md).
args_segstore() { printf '%s\n' --data "$data" --ipc "$ipc" --set metrics.listen=127.0.0.1:9471; }
about_segstore() { echo "segment store: data $data, IPC $ipc, metrics http://127.0.0.1:9471/metrics"; }
ready_segstore() { [ -S "$data/segstore.sock" ]; }

# Frontends: sluice-mqtt (issue 4) and sluice-kafka (issue 3), one
# convention: --segstore URL --listen HOST:PORT.
args_mqtt() { printf '%s\n' --segstore "$ipc" --listen 0.0.0.0:1883 --set metrics.listen=127.0.0.1:9472; }
about_mqtt() { echo "MQTT frontend: mqtt://localhost:1883 (mosquitto_sub -t '#' -v), metrics :9472"; }
args_kafka() { printf '%s\n' --segstore "$ipc" --listen 0.0.0.0:9092 --advertise localhost:9092 --set metrics.listen=127.0.0.1:9473; }
about_kafka() { echo "Kafka frontend: localhost:9092 (kcat -b localhost:9092 -L), metrics :9473"; }

# ---- build ------------------------------------------------------------------
bash tools/deps.sh
mkdir -p "$build"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$build/configure.log" 2>&1 || {
    cat "$build/configure.log" >&2
    exit 1
}
ninja -C "$build" -j"$jobs"

if [ ! -x "$build/bin/sluice-segstore" ]; then
    echo "quickstart: $build/bin/sluice-segstore was not built" \
        "(segstore/server/ is not in this checkout yet?)" >&2
    exit 1
fi
mkdir -p "$data"

# ---- run --------------------------------------------------------------------
pids=()
names=()

stop_all() {
    trap - INT TERM
    local i pid
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        pid=${pids[i]}
        kill -0 "$pid" 2>/dev/null || continue
        echo "quickstart: stopping sluice-${names[i]} (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "quickstart: sluice-${names[i]} ignored SIGTERM; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}

on_signal() {
    echo
    stop_all
    echo "quickstart: stopped"
    exit 0
}
trap on_signal INT TERM
trap stop_all EXIT

for name in "${services[@]}"; do
    bin=$build/bin/sluice-$name
    if [ ! -x "$bin" ]; then
        echo "quickstart: sluice-$name not built yet; skipping"
        continue
    fi
    mapfile -t args < <("args_$name")
    "$bin" "${args[@]}" &
    pids+=("$!")
    names+=("$name")
    echo "quickstart: started sluice-$name (pid $!): $("about_$name")"
    if declare -F "ready_$name" >/dev/null; then
        for _ in $(seq 100); do
            "ready_$name" && break
            kill -0 "$!" 2>/dev/null || break
            sleep 0.1
        done
        if ! "ready_$name"; then
            echo "quickstart: sluice-$name did not become ready" >&2
            exit 1 # the EXIT trap stops what was started
        fi
    fi
done

echo
echo "quickstart: running ${names[*]}; logs follow on stderr. Ctrl-C stops."
rc=0
wait -n || rc=$?
for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[i]}" 2>/dev/null; then
        echo "quickstart: sluice-${names[i]} exited (status $rc)" >&2
    fi
done
exit "$rc"
