#!/usr/bin/env bash
# tools/deps.sh — install the Debian 12 packages Sluice builds and tests
# with, and only the ones that are missing.
#
#   tools/deps.sh            install what is missing (build + test clients)
#   tools/deps.sh --build    only the build and unit-test packages
#   tools/deps.sh --check    install nothing; list what is missing, exit 1
#                            when something is
#
# Checks each package with dpkg-query; runs `apt-get update` once, and only
# when something has to be installed.  Non-interactive.  Works as root, or
# through sudo when not root and sudo is there.
#
# The Python client packages (python3-paho-mqtt, python3-confluent-kafka,
# python3-kafka) install into Debian's interpreter: scripts must run them
# with /usr/bin/python3, not whatever `python3` is first on PATH.
set -euo pipefail

mode=all
case ${1:-} in
"") ;;
--build) mode=build ;;
--check) mode=check ;;
*)
    echo "usage: tools/deps.sh [--build|--check]" >&2
    exit 2
    ;;
esac

# libFuzzer (-fsanitize=fuzzer) and the sanitizer runtimes of clang come
# from libclang-rt-<major>-dev, which clang only recommends; match the
# installed clang, else Debian 12's clang 14.
clang_major=14
if command -v clang >/dev/null 2>&1; then
    v=$(clang -dumpversion 2>/dev/null || true)
    [[ ${v%%.*} =~ ^[0-9]+$ ]] && clang_major=${v%%.*}
fi

# Build, unit tests, fuzzing, formatting.  librdkafka-dev and
# libmosquitto-dev are optional for the build (sluice-bench's kafka and
# mqtt scenarios and their smoke tests need them).
build_pkgs=(
    build-essential cmake ninja-build pkg-config
    clang "libclang-rt-$clang_major-dev" clang-format
    libuv1-dev libnng-dev libaio-dev libxxhash-dev libisal-dev libbsd-dev
    libsodium-dev libssl-dev
    libcurl4-openssl-dev libssl-dev
    libcmocka-dev python3 librdkafka-dev libmosquitto-dev
)
# Real clients and servers the integration tests drive (MQTT and Kafka
# clients, a reference broker, the load balancer).  Cheap, and needed by
# tests that land later.  haproxy is the TCP load balancer of
# tools/cluster.sh and the cluster tests; docker-compose (1.29, Debian's)
# only validates docker-compose.yml (`docker-compose config -q`): no
# Docker engine is needed or started.
client_pkgs=(
    kcat mosquitto-clients mosquitto
    python3-paho-mqtt python3-confluent-kafka python3-kafka
    haproxy docker-compose
)

pkgs=("${build_pkgs[@]}")
[ "$mode" = build ] || pkgs+=("${client_pkgs[@]}")

# s3rver (npm), the S3 server the tiered-storage tests run against: test
# only, installed with npm into /opt/sluice-s3rver (override with
# SLUICE_S3RVER_DIR); the tests skip the s3 backend without it.
s3rver_dir=${SLUICE_S3RVER_DIR:-/opt/sluice-s3rver}
if [ "$mode" = all ] && [ ! -x "$s3rver_dir/node_modules/.bin/s3rver" ]; then
    if command -v npm >/dev/null 2>&1; then
        mkdir -p "$s3rver_dir" &&
            npm install --silent --no-audit --no-fund --prefix "$s3rver_dir" \
                s3rver@3 >/dev/null &&
            echo "deps: installed s3rver into $s3rver_dir" ||
            echo "deps: npm install s3rver failed (tier s3 tests will skip)" >&2
    else
        echo "deps: no npm; tier s3 tests will skip" >&2
    fi
elif [ "$mode" = check ] && [ ! -x "$s3rver_dir/node_modules/.bin/s3rver" ]; then
    echo "deps: s3rver missing in $s3rver_dir (npm; tier s3 tests skip)"
fi

# One dpkg-query for all: "name ii " per known package, nothing for one
# that was never installed.
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${pkgs[@]}" \
    2>/dev/null | awk '$2 == "ii" { print $1 }' || true)
missing=()
for p in "${pkgs[@]}"; do
    grep -qxF "$p" <<<"$installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#pkgs[@]} packages present"
    exit 0
fi
echo "deps: missing: ${missing[*]}"
[ "$mode" != check ] || exit 1

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "deps: not root and no sudo; as root run:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi

# Installing mosquitto or haproxy would start system daemons that take
# ports the tests and quickstart use (1883, ...).  Where nothing forbids
# that yet, forbid service starts for the length of this install only.
policy=/usr/sbin/policy-rc.d
made_policy=0
cleanup() {
    if [ "$made_policy" = 1 ]; then
        "${as_root[@]}" rm -f "$policy"
    fi
}
trap cleanup EXIT
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# tools/deps.sh: no service starts during install\nexit 101\n' |
        "${as_root[@]}" tee "$policy" >/dev/null
    "${as_root[@]}" chmod 755 "$policy"
    made_policy=1
fi

apt_env=(env DEBIAN_FRONTEND=noninteractive)
"${as_root[@]}" "${apt_env[@]}" apt-get update -qq
"${as_root[@]}" "${apt_env[@]}" apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"
echo "deps: installed ${missing[*]}"
