#!/usr/bin/env bash
# tools/bench/compare_mqtt.sh [BIN_DIR] — sluice-mqtt against Debian's
# Mosquitto, side by side on this machine, the same scenarios against both
# in the same run (docs/performance.md, "MQTT frontend").
#
# Starts, on free 127.0.0.1 ports:
#   * mosquitto -c <generated config>: one listener, allow_anonymous true,
#     persistence false (nothing else; Mosquitto's defaults otherwise);
#   * sluice-segstore (default fsync=batch: every QoS 1 message is
#     fdatasync'ed before its PUBACK) + sluice-mqtt (defaults).
# Then, alternating brokers within each scenario:
#   idle   10,000 idle MQTT connections; VmRSS of the broker processes
#          (/proc/PID/status) before and while they are held;
#   max    sluice-bench mqtt as fast as its flow control lets (window of
#          1,000 messages ahead of the slowest subscriber, 100 QoS 1
#          unacknowledged): 1->1 QoS 0, 1->1 QoS 1, 4->4 QoS 1 (4 topics),
#          1->16 fan-out QoS 0;
#   paced  the same four at a fixed rate each broker sustains, for latency
#          that is not queueing behind the window.
# and prints one table: each figure for Sluice, for Mosquitto, and the
# ratio Sluice / Mosquitto, with the CPU-seconds each broker used (Sluice:
# sluice-mqtt + sluice-segstore).  Raw JSON lines go to $OUT/results.jsonl.
#
# Environment: OUT (default: a new directory under /var/tmp; kept),
# SCALE (multiplies message counts; default 1), SCENARIOS (default
# "idle max paced"), MOSQUITTO (default /usr/sbin/mosquitto).
#
# Everything started is stopped on exit, by PID (SIGTERM, then SIGKILL
# after 10 s).
set -euo pipefail

bin=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/bin}
bin=$(cd "$bin" && pwd)
out=${OUT:-$(mktemp -d /var/tmp/compare-mqtt.XXXXXX)}
mkdir -p "$out"
scale=${SCALE:-1}
scenarios=${SCENARIOS:-idle max paced}
mosquitto=${MOSQUITTO:-/usr/sbin/mosquitto}
bench=$bin/sluice-bench
results=$out/results.jsonl
: >"$results"
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
    pids=()
}
fail() {
    echo "compare_mqtt: FAIL: $*" >&2
    for f in "$out"/*.log; do
        [ -e "$f" ] || continue
        echo "---- $f" >&2
        tail -n 20 "$f" >&2
    done
    exit 1
}
trap stop_all EXIT

free_port() {
    /usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}
wait_port() { # PORT PID
    for _ in $(seq 200); do
        kill -0 "$2" 2>/dev/null || return 1
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# utime + stime of the processes, in clock ticks.
cpu_ticks() {
    local t=0 p
    for p in "$@"; do
        t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
    done
    echo "$t"
}

# 10,000 sockets per broker, and as many for the bench: raise the soft
# limit as far as the hard one allows (raising that needs CAP_SYS_RESOURCE).
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -gt 65536 ]; then hard=65536; fi
ulimit -Sn "$hard"
[ "$hard" -ge 10100 ] || echo "compare_mqtt: open files limited to $hard;" \
    "10,000 idle connections will fail" >&2

# ---- brokers ------------------------------------------------------------------
mport=$(free_port)
cat >"$out/mosquitto.conf" <<EOF
listener $mport 127.0.0.1
allow_anonymous true
persistence false
EOF
"$mosquitto" -c "$out/mosquitto.conf" >"$out/mosquitto.log" 2>&1 &
mpid=$!
pids+=("$mpid")
wait_port "$mport" "$mpid" || fail "mosquitto did not listen on $mport"

rm -rf "$out/sluice"
mkdir -p "$out/sluice"
url="ipc://$out/sluice/seg.sock"
"$bin/sluice-segstore" --data "$out/sluice/data" --ipc "$url" \
    >"$out/segstore.log" 2>&1 &
spid=$!
pids+=("$spid")
for _ in $(seq 200); do
    [ -S "$out/sluice/seg.sock" ] && break
    kill -0 "$spid" 2>/dev/null || fail "sluice-segstore exited"
    sleep 0.05
done
[ -S "$out/sluice/seg.sock" ] || fail "sluice-segstore did not start"
sport=$(free_port)
"$bin/sluice-mqtt" --segstore "$url" --listen "127.0.0.1:$sport" \
    >"$out/sluice-mqtt.log" 2>&1 &
qpid=$!
pids+=("$qpid")
wait_port "$sport" "$qpid" || fail "sluice-mqtt did not listen on $sport"

echo "compare_mqtt: mosquitto $("$mosquitto" -h 2>/dev/null | awk 'NR==1 { print $3 }') pid $mpid on :$mport;" \
    "sluice-mqtt pid $qpid on :$sport, sluice-segstore pid $spid; output in $out" >&2

# ---- runs -----------------------------------------------------------------------
# run NAME BROKER ARGS...: one sluice-bench mqtt run; appends its JSON line
# with the case name, broker and the brokers' CPU-seconds to results.
run() {
    local name=$1 broker=$2
    shift 2
    local port procs
    if [ "$broker" = sluice ]; then
        port=$sport
        procs=("$qpid" "$spid")
    else
        port=$mport
        procs=("$mpid")
    fi
    local c0 c1 line rc=0
    c0=$(cpu_ticks "${procs[@]}")
    line=$("$bench" mqtt --host 127.0.0.1 --port "$port" --json "$@" \
        2>>"$out/bench.log") || rc=$?
    c1=$(cpu_ticks "${procs[@]}")
    [ -n "$line" ] || line='{}'
    printf '{"case":"%s","broker":"%s","rc":%d,"broker_cpu_s":%s,"r":%s}\n' \
        "$name" "$broker" "$rc" \
        "$(awk -v a="$c0" -v b="$c1" -v h="$(getconf CLK_TCK)" \
            'BEGIN { printf "%.2f", (b - a) / h }')" "$line" >>"$results"
    echo "compare_mqtt: $name $broker rc=$rc $line" >&2
}

# idle BROKER: RSS before, while 10,000 idle connections are held.
idle() {
    local broker=$1 port procs p before=() after=() log
    if [ "$broker" = sluice ]; then
        port=$sport
        procs=("$qpid" "$spid")
    else
        port=$mport
        procs=("$mpid")
    fi
    for p in "${procs[@]}"; do before+=("$(rss_kb "$p")"); done
    log=$out/idle-$broker.log
    "$bench" mqtt --host 127.0.0.1 --port "$port" --idle-connections 10000 \
        --hold 4 >"$log" 2>&1 &
    local bpid=$!
    pids+=("$bpid")
    for _ in $(seq 1200); do
        grep -q '^idle: ' "$log" && break
        kill -0 "$bpid" 2>/dev/null || break
        sleep 0.1
    done
    sleep 1 # let the broker settle after the last CONNACK
    for p in "${procs[@]}"; do after+=("$(rss_kb "$p")"); done
    local rc=0
    wait "$bpid" || rc=$?
    unset 'pids[${#pids[@]}-1]'
    grep -q '^idle: 10000 connected' "$log" || rc=1
    printf '{"case":"idle 10000","broker":"%s","rc":%d,"rss_before_kb":[%s],"rss_after_kb":[%s],"connect_s":%s}\n' \
        "$broker" "$rc" "$(
            IFS=,
            echo "${before[*]}"
        )" "$(
            IFS=,
            echo "${after[*]}"
        )" "$(awk '/^idle: / { print $5; exit }' "$log" | grep . || echo null)" \
        >>"$results"
    echo "compare_mqtt: idle $broker rc=$rc RSS ${before[*]} -> ${after[*]} kB" >&2
    sleep 2 # the broker drops the connections
}

m() { echo $(($1 * scale)); }

for s in $scenarios; do
    case $s in
    idle)
        for b in sluice mosquitto; do idle "$b"; done
        ;;
    max)
        for b in sluice mosquitto; do run "1->1 QoS 0" "$b" --qos 0 --messages "$(m 200000)"; done
        for b in sluice mosquitto; do run "1->1 QoS 1" "$b" --qos 1 --messages "$(m 50000)"; done
        for b in sluice mosquitto; do
            run "4->4 QoS 1" "$b" --qos 1 --publishers 4 --subscribers 4 \
                --topics 4 --messages "$(m 15000)"
        done
        for b in sluice mosquitto; do
            run "1->16 QoS 0" "$b" --qos 0 --subscribers 16 --messages "$(m 20000)"
        done
        ;;
    paced)
        # Rates both brokers sustain on the 2-core machine (well under the
        # max runs), 5 s each; rates are per publisher.
        for b in sluice mosquitto; do
            run "1->1 QoS 0 @10k/s" "$b" --qos 0 --rate 10000 --messages "$(m 50000)"
        done
        for b in sluice mosquitto; do
            run "1->1 QoS 1 @5k/s" "$b" --qos 1 --rate 5000 --messages "$(m 25000)"
        done
        for b in sluice mosquitto; do
            run "4->4 QoS 1 @4x1k/s" "$b" --qos 1 --publishers 4 \
                --subscribers 4 --topics 4 --rate 1000 --messages "$(m 5000)"
        done
        for b in sluice mosquitto; do
            run "1->16 QoS 0 @2k/s" "$b" --qos 0 --subscribers 16 --rate 2000 \
                --messages "$(m 10000)"
        done
        ;;
    *) fail "unknown scenario $s" ;;
    esac
done

stop_all

# ---- table --------------------------------------------------------------------
/usr/bin/python3 - "$results" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {}
order = []
for r in rows:
    if r["case"] not in by:
        order.append(r["case"])
    by.setdefault(r["case"], {})[r["broker"]] = r

def ratio(a, b):
    return "%.2f" % (a / b) if a is not None and b else "-"

def fmt(v, unit):
    if v is None:
        return "-"
    if unit == "msgs/s":
        return "{:,.0f}".format(v)
    if unit == "ms":
        return "%.2f" % v
    if unit == "MiB":
        return "%.1f" % v
    if unit == "KiB":
        return "%.1f" % v
    return "%.2f" % v

print("| scenario | figure | Sluice | Mosquitto | Sluice / Mosquitto |")
print("|---|---|---:|---:|---:|")
for c in order:
    s, q = by[c].get("sluice"), by[c].get("mosquitto")
    if c.startswith("idle"):
        def rss(r, i):
            return None if r is None or r["rc"] else \
                (sum(r["rss_after_kb"]) - sum(r["rss_before_kb"]))
        def tot(r):
            return None if r is None else sum(r["rss_after_kb"]) / 1024
        for label, f, unit in (
                ("RSS held, MiB (sluice-mqtt + segstore)", tot, "MiB"),
                ("RSS growth per connection, KiB",
                 lambda r: None if rss(r, 0) is None else rss(r, 0) / 10000,
                 "KiB")):
            a, b = f(s), f(q)
            print("| %s | %s | %s | %s | %s |" % (c, label, fmt(a, unit),
                  fmt(b, unit), ratio(a, b)))
        if s is not None and len(s["rss_after_kb"]) == 2:
            a = s["rss_after_kb"][0] - s["rss_before_kb"][0]
            print("| %s | of which sluice-mqtt, KiB per connection | %.1f | | |"
                  % (c, a / 10000))
        continue
    def g(r, k):
        if r is None or r["rc"] != 0 or k not in r["r"]:
            return None
        return r["r"][k]
    figs = [("received msgs/s (all subscribers)", "received_msgs_s", 1, "msgs/s"),
            ("published msgs/s", "published_msgs_s", 1, "msgs/s"),
            ("e2e p50 ms", "e2e_p50_us", 1e-3, "ms"),
            ("e2e p99 ms", "e2e_p99_us", 1e-3, "ms"),
            ("e2e p99.9 ms", "e2e_p999_us", 1e-3, "ms"),
            ("e2e max ms", "e2e_max_us", 1e-3, "ms"),
            ("lost / duplicated", None, 1, ""),
            ("broker CPU-s", "cpu", 1, "s")]
    for label, k, mul, unit in figs:
        if k is None:
            def ld(r):
                return "-" if r is None or not r["r"] else \
                    "%d / %d" % (r["r"]["lost"], r["r"]["duplicated"])
            print("| %s | %s | %s | %s | |" % (c, label, ld(s), ld(q)))
            continue
        if k == "cpu":
            a = s["broker_cpu_s"] if s else None
            b = q["broker_cpu_s"] if q else None
        else:
            a, b = g(s, k), g(q, k)
            a = a * mul if a is not None else None
            b = b * mul if b is not None else None
        print("| %s | %s | %s | %s | %s |" % (c, label, fmt(a, unit),
              fmt(b, unit), ratio(a, b)))
    for name, r in (("Sluice", s), ("Mosquitto", q)):
        if r is not None and r["rc"] != 0:
            print("| %s | %s exit status | %d | | |" % (c, name, r["rc"]))
EOF
echo "compare_mqtt: raw results in $results" >&2
