#!/bin/sh
# tools/haproxy/render.sh — print an haproxy configuration for one protocol
# from tools/haproxy/haproxy.cfg.in.
#
#   render.sh TEMPLATE PROTO BIND ADMIN_SOCKET NAME=HOST:PORT...
#
#   render.sh tools/haproxy/haproxy.cfg.in mqtt 127.0.0.1:1883 \
#       /run/sluice/haproxy-mqtt.sock mqtt1=127.0.0.1:11883 \
#       mqtt2=127.0.0.1:11884 > haproxy-mqtt.cfg
#
# POSIX sh and sed only: it also runs inside the haproxy container of
# docker-compose.yml.  Names and addresses are checked so that nothing
# else can reach the configuration.
set -eu
if [ $# -lt 5 ]; then
    echo "usage: render.sh TEMPLATE PROTO BIND ADMIN_SOCKET NAME=HOST:PORT..." >&2
    exit 2
fi
template=$1 proto=$2 bind=$3 admin=$4
shift 4
# grep matches line by line: refuse a newline first, then the pattern.
nl='
'
ok() {
    case $1 in *"$nl"*) return 1 ;; esac
    printf '%s' "$1" | grep -Eq "$2"
}
ok "$proto" '^[a-z]+$' || { echo "render.sh: bad protocol name: $proto" >&2; exit 2; }
ok "$bind" '^[A-Za-z0-9.:_-]*:[0-9]+$' || { echo "render.sh: bad bind address: $bind" >&2; exit 2; }
ok "$admin" '^/[A-Za-z0-9./_-]+$' || { echo "render.sh: bad admin socket path: $admin" >&2; exit 2; }
servers=""
for s in "$@"; do
    ok "$s" '^[A-Za-z0-9_-]+=[A-Za-z0-9.:_-]+:[0-9]+$' ||
        { echo "render.sh: bad server (want NAME=HOST:PORT): $s" >&2; exit 2; }
    servers="$servers    server ${s%%=*} ${s#*=} check\\
"
done
sed -e "s|@PROTO@|$proto|g" -e "s|@BIND@|$bind|g" \
    -e "s|@ADMIN_SOCKET@|$admin|g" -e "s|^@SERVERS@\$|$servers|" "$template"
