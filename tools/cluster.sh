#!/usr/bin/env bash
# tools/cluster.sh — the docker-compose.yml topology without containers,
# on 127.0.0.1: one sluice-segstore, two sluice-mqtt, two sluice-kafka,
# one haproxy (TCP mode) in front of each protocol, and s3rver for the
# cold tier when it is installed and asked for.
#
#   tools/cluster.sh up     [--dir DIR] [--base-port N] [--bin DIR] [--s3]
#   tools/cluster.sh status [--dir DIR]
#   tools/cluster.sh down   [--dir DIR]
#
#   --dir DIR        everything of this cluster: DIR/data (segstore's data
#                    dir), DIR/run (IPC and admin sockets), DIR/log/NAME.log,
#                    DIR/pid/NAME.pid, DIR/haproxy-*.cfg, DIR/ports
#                    (default ./cluster, or $SLUICE_CLUSTER_DIR)
#   --base-port N    MQTT on N, Kafka on N+1 (the haproxy listeners);
#                    mqtt1 N+2, mqtt2 N+3, kafka1 N+4, kafka2 N+5, s3rver
#                    N+6; Prometheus /metrics of segstore, mqtt1, kafka1,
#                    mqtt2, kafka2 on N+7..N+11.  Without it: 1883 and 9092
#                    as docker-compose.yml publishes them; mqtt1/2 on
#                    11883/11884, kafka1/2 on 19092/19093, s3rver 14568,
#                    metrics 9471 (segstore), 9472 (mqtt1), 9473 (kafka1),
#                    9474 (mqtt2), 9475 (kafka2) — quickstart's numbers.
#   --bin DIR        where the binaries are (default build/bin, or
#                    $SLUICE_BUILD/bin); nothing is built here
#   --s3             start s3rver (tools/deps.sh installs it) and give
#                    segstore tier.url=s3://sluice-tier/ on it
#   --fsync POLICY   segstore's fsync policy (default batch)
#
# up starts the processes in dependency order and waits until each is
# ready (segstore answers sluice-ctl, sluice-mqtt logs MQ-READY,
# sluice-kafka and haproxy accept connections); if one fails, what was
# started is stopped again and its log is shown.  status prints each
# process, its pid, port and whether it runs.  down stops them in reverse
# order by pid: SIGTERM, up to 15 s for it to exit, then SIGKILL.  The
# frontends drain on SIGTERM (docs/operations.md), so down loses nothing
# acknowledged.  DIR/data is kept: up again resumes the same log.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cmd=${1:-}
[ $# -gt 0 ] && shift
dir=${SLUICE_CLUSTER_DIR:-$PWD/cluster}
bin=${SLUICE_BUILD:+$SLUICE_BUILD/bin}
bin=${bin:-$root/build/bin}
base=""
s3=0
fsync="batch"

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
    --dir) dir=$2; shift 2 ;;
    --base-port) base=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --s3) s3=1; shift ;;
    --fsync) fsync=$2; shift 2 ;;
    -h | --help) usage ;;
    *) echo "cluster.sh: unknown argument: $1" >&2; usage ;;
    esac
done
case $cmd in up | down | status) ;; *) usage ;; esac
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [ -d "$bin" ]; then bin=$(cd "$bin" && pwd); fi

# ---- the topology -------------------------------------------------------
# Names, in start order; down stops them in reverse.  docker-compose.yml
# has one service per name.
names=(s3rver segstore mqtt1 mqtt2 kafka1 kafka2 haproxy-mqtt haproxy-kafka)

if [ -f "$dir/ports" ] && [ "$cmd" != up ]; then
    # shellcheck source=/dev/null
    . "$dir/ports"
elif [ -n "$base" ]; then
    if ! [[ $base =~ ^[0-9]+$ ]] || [ "$base" -lt 1 ] || [ "$base" -ge 65530 ]; then
        echo "cluster.sh: --base-port wants a port below 65530: $base" >&2
        exit 2
    fi
    p_mqtt=$base p_kafka=$((base + 1))
    p_mqtt1=$((base + 2)) p_mqtt2=$((base + 3))
    p_kafka1=$((base + 4)) p_kafka2=$((base + 5)) p_s3=$((base + 6))
    m_segstore=$((base + 7)) m_mqtt1=$((base + 8)) m_kafka1=$((base + 9))
    m_mqtt2=$((base + 10)) m_kafka2=$((base + 11))
else
    p_mqtt=1883 p_kafka=9092
    p_mqtt1=11883 p_mqtt2=11884 p_kafka1=19092 p_kafka2=19093 p_s3=14568
    m_segstore=9471 m_mqtt1=9472 m_kafka1=9473 m_mqtt2=9474 m_kafka2=9475
fi

seg_url="ipc://$dir/run/segstore.sock"
advertise="127.0.0.1:$p_kafka"

port_of() {
    case $1 in
    segstore) echo "$seg_url" ;;
    mqtt1) echo "$p_mqtt1" ;; mqtt2) echo "$p_mqtt2" ;;
    kafka1) echo "$p_kafka1" ;; kafka2) echo "$p_kafka2" ;;
    haproxy-mqtt) echo "$p_mqtt" ;; haproxy-kafka) echo "$p_kafka" ;;
    s3rver) echo "$p_s3" ;;
    esac
}

# alive PID: the process exists and is not a zombie.  The daemons are
# not this shell's children (up has exited), so an exited one stays a
# zombie until init reaps it, and kill -0 still succeeds on it.
alive() {
    local st
    kill -0 "$1" 2>/dev/null || return 1
    st=$(sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    [ "${st%% *}" != Z ]
}

metrics_of() {
    case $1 in
    segstore | mqtt[12] | kafka[12]) ;;
    *) echo - && return ;;
    esac
    local v="m_$1"
    echo "http://127.0.0.1:${!v}/metrics"
}

pid_of() {
    local f=$dir/pid/$1.pid pid
    [ -f "$f" ] || return 1
    pid=$(cat "$f")
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && echo "$pid"
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

s3rver_bin=${SLUICE_S3RVER_DIR:-/opt/sluice-s3rver}/node_modules/.bin/s3rver

# argv_NAME: the command line of NAME, one word per line.
argv_s3rver() {
    printf '%s\n' "$s3rver_bin" --address 127.0.0.1 --port "$p_s3" \
        --directory "$dir/s3" --configure-bucket sluice-tier --silent
}
argv_segstore() {
    printf '%s\n' "$bin/sluice-segstore" --data "$dir/data" --ipc "$seg_url" \
        --fsync "$fsync" --set "metrics.listen=127.0.0.1:$m_segstore"
    if [ "$s3" = 1 ]; then
        printf '%s\n' --set tier.url=s3://sluice-tier/ \
            --set "tier.s3.endpoint=http://127.0.0.1:$p_s3" \
            --set tier.s3.access.key=S3RVER --set tier.s3.secret.key=S3RVER
    fi
}
argv_mqtt() {
    printf '%s\n' "$bin/sluice-mqtt" --segstore "$seg_url" \
        --listen "127.0.0.1:$1" --set "metrics.listen=127.0.0.1:$2"
}
argv_kafka() {
    printf '%s\n' "$bin/sluice-kafka" --segstore "$seg_url" \
        --listen "127.0.0.1:$1" --advertise "$advertise" \
        --set "metrics.listen=127.0.0.1:$2"
}
argv_mqtt1() { argv_mqtt "$p_mqtt1" "$m_mqtt1"; }
argv_mqtt2() { argv_mqtt "$p_mqtt2" "$m_mqtt2"; }
argv_kafka1() { argv_kafka "$p_kafka1" "$m_kafka1"; }
argv_kafka2() { argv_kafka "$p_kafka2" "$m_kafka2"; }
argv_haproxy-mqtt() { printf '%s\n' haproxy -db -f "$dir/haproxy-mqtt.cfg"; }
argv_haproxy-kafka() { printf '%s\n' haproxy -db -f "$dir/haproxy-kafka.cfg"; }

# ready NAME: succeeds once NAME accepts work.
ready() {
    case $1 in
    segstore) "$bin/sluice-ctl" --segstore "$seg_url" topic list >/dev/null 2>&1 ;;
    mqtt*) grep -q MQ-READY "$dir/log/$1.log" 2>/dev/null ;;
    *) listening "$(port_of "$1")" ;;
    esac
}

render_haproxy() {
    local proto=$1 port=$2
    shift 2
    sh "$root/tools/haproxy/render.sh" "$root/tools/haproxy/haproxy.cfg.in" \
        "$proto" "127.0.0.1:$port" "$dir/run/haproxy-$proto.sock" "$@" \
        >"$dir/haproxy-$proto.cfg"
    haproxy -q -c -f "$dir/haproxy-$proto.cfg" >/dev/null
}

stop_one() {
    local name=$1 pid
    pid=$(pid_of "$name") || { rm -f "$dir/pid/$name.pid"; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        echo "cluster.sh: $name (pid $pid) ignored SIGTERM for 15 s; SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    fi
    # Never let a closed stdout (cluster.sh down | head) stop the stopping.
    echo "cluster.sh: stopped $name (pid $pid)" 2>/dev/null || true
    rm -f "$dir/pid/$name.pid"
}

down() {
    local i
    trap '' PIPE
    for ((i = ${#names[@]} - 1; i >= 0; i--)); do
        stop_one "${names[i]}"
    done
}

start_one() {
    local name=$1 pid args
    mapfile -t args < <("argv_$name")
    # setsid: the cluster outlives this shell and a Ctrl-C in it.
    setsid "${args[@]}" >>"$dir/log/$name.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$dir/pid/$name.pid"
    for _ in $(seq 150); do
        ready "$name" && { echo "cluster.sh: started $name (pid $pid) $(port_of "$name")"; return 0; }
        alive "$pid" || break
        sleep 0.1
    done
    echo "cluster.sh: $name did not become ready; the end of $dir/log/$name.log:" >&2
    tail -n 20 "$dir/log/$name.log" >&2 || true
    return 1
}

up() {
    local n running=()
    for n in "${names[@]}"; do
        pid_of "$n" >/dev/null && running+=("$n")
    done
    if [ ${#running[@]} -gt 0 ]; then
        echo "cluster.sh: already running in $dir: ${running[*]} (cluster.sh down first)" >&2
        exit 1
    fi
    for n in sluice-segstore sluice-mqtt sluice-kafka sluice-ctl; do
        [ -x "$bin/$n" ] || {
            echo "cluster.sh: $bin/$n is missing; build first:" >&2
            echo "  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C build" >&2
            exit 1
        }
    done
    command -v haproxy >/dev/null || { echo "cluster.sh: haproxy is not installed (tools/deps.sh)" >&2; exit 1; }
    local port
    for port in "$p_mqtt" "$p_kafka" "$p_mqtt1" "$p_mqtt2" "$p_kafka1" "$p_kafka2" \
        "$m_segstore" "$m_mqtt1" "$m_mqtt2" "$m_kafka1" "$m_kafka2"; do
        if listening "$port"; then
            echo "cluster.sh: port $port is taken; use --base-port" >&2
            exit 1
        fi
    done
    if [ "$s3" = 1 ] && [ ! -x "$s3rver_bin" ]; then
        echo "cluster.sh: --s3 but no $s3rver_bin (tools/deps.sh installs it)" >&2
        exit 1
    fi
    mkdir -p "$dir/data" "$dir/run" "$dir/log" "$dir/pid" "$dir/s3"
    chmod 700 "$dir/run"
    cat >"$dir/ports" <<EOF
p_mqtt=$p_mqtt p_kafka=$p_kafka
p_mqtt1=$p_mqtt1 p_mqtt2=$p_mqtt2 p_kafka1=$p_kafka1 p_kafka2=$p_kafka2 p_s3=$p_s3
m_segstore=$m_segstore m_mqtt1=$m_mqtt1 m_kafka1=$m_kafka1 m_mqtt2=$m_mqtt2 m_kafka2=$m_kafka2
EOF
    render_haproxy mqtt "$p_mqtt" "mqtt1=127.0.0.1:$p_mqtt1" "mqtt2=127.0.0.1:$p_mqtt2"
    render_haproxy kafka "$p_kafka" "kafka1=127.0.0.1:$p_kafka1" "kafka2=127.0.0.1:$p_kafka2"
    trap 'down; exit 1' ERR INT TERM
    for n in "${names[@]}"; do
        [ "$n" != s3rver ] || [ "$s3" = 1 ] || continue
        start_one "$n" || { down; exit 1; }
    done
    trap - ERR INT TERM
    echo
    echo "cluster.sh: up in $dir"
    echo "  MQTT   127.0.0.1:$p_mqtt   mosquitto_sub -h 127.0.0.1 -p $p_mqtt -t '#' -v"
    echo "  Kafka  127.0.0.1:$p_kafka   kcat -b 127.0.0.1:$p_kafka -L"
    echo "  ctl    $bin/sluice-ctl --segstore $seg_url topic list"
    echo "  metrics  curl -s http://127.0.0.1:$m_segstore/metrics   (status lists every process's)"
    echo "  logs   $dir/log/   stop: tools/cluster.sh down --dir $dir"
}

status() {
    local n pid st rc=0
    printf '%-14s %-8s %-8s %-40s %s\n' NAME PID STATE ADDRESS METRICS
    for n in "${names[@]}"; do
        if pid=$(pid_of "$n"); then
            st=running
            case $n in
            segstore | s3rver) ;;
            *) listening "$(port_of "$n")" || st=running,not-listening ;;
            esac
        elif [ -f "$dir/pid/$n.pid" ]; then
            pid=$(cat "$dir/pid/$n.pid") st=dead rc=1
        else
            [ "$n" = s3rver ] && continue
            pid=- st=stopped
        fi
        printf '%-14s %-8s %-8s %-40s %s\n' "$n" "$pid" "$st" "$(port_of "$n")" \
            "$(metrics_of "$n")"
    done
    return $rc
}

case $cmd in
up) up ;;
down) down ;;
status) status ;;
esac
