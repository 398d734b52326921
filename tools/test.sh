#!/usr/bin/env bash
# tools/test.sh — the whole test suite, as CI runs it (.ci/run calls this).
#
#   1. deps        tools/deps.sh: install missing Debian packages
#   2. release     configure + build Release (gcc) in build/
#   3. asan        configure + build Asan (clang, ASan + UBSan) in build-asan/
#   4. fuzz        tools/fuzz.sh all $FUZZ_SECONDS: every harness, briefly
#   5. ctest asan  every test under the sanitizers
#   6. ctest       every test in the Release build, last, so the output
#                  ends with ctest's "N% tests passed" summary
#
# Any failing stage fails the script.  Two compilers on purpose: gcc and
# clang warn about different things, and clang's UBSan checks more.
#
# Environment:
#   FUZZ_SECONDS   seconds per harness (default 30 under CI, 10 otherwise;
#                  0 replays the corpora in the fuzz build without fuzzing)
#   SLUICE_JOBS    parallelism for ninja and ctest (default 2)
#   SLUICE_BUILD, SLUICE_BUILD_ASAN, SLUICE_BUILD_FUZZ
#                  build directories (default build, build-asan, build-fuzz)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs=${SLUICE_JOBS:-2}
build=${SLUICE_BUILD:-build}
build_asan=${SLUICE_BUILD_ASAN:-build-asan}
export SLUICE_BUILD_FUZZ=${SLUICE_BUILD_FUZZ:-build-fuzz}
if [ -n "${CI:-}" ]; then
    fuzz_seconds=${FUZZ_SECONDS:-30}
else
    fuzz_seconds=${FUZZ_SECONDS:-10}
fi

# Any sanitizer finding fails the process that made it, leaks included.
export ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=exitcode=23
# Debian's Python client packages (paho-mqtt, confluent-kafka, kafka-python)
# import only under Debian's interpreter; tests find it here.
export SLUICE_PYTHON=/usr/bin/python3

t_start=$SECONDS
timings=()
stage() {
    local name=$1
    shift
    local t0=$SECONDS
    echo
    echo "==== test.sh: $name"
    if ! "$@"; then
        echo "==== test.sh: FAILED in stage '$name' after $((SECONDS - t0))s" >&2
        exit 1
    fi
    timings+=("$(printf '%-12s %4ds' "$name" $((SECONDS - t0)))")
}

# configure_build DIR TYPE COMPILER: configure (if needed) and build.
configure_build() {
    local dir=$1 type=$2 cc
    cc=$(command -v "$3") || {
        echo "test.sh: compiler $3 not found" >&2
        return 1
    }
    # A cache made with another compiler makes CMake wipe it and drop the
    # other -D values of the same command (the build type among them), so
    # start such a directory afresh instead.
    if [ -f "$dir/CMakeCache.txt" ] &&
        ! grep -qx "CMAKE_C_COMPILER:[A-Z]*=$cc" "$dir/CMakeCache.txt"; then
        echo "test.sh: $dir was configured with another compiler; reconfiguring"
        rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles"
    fi
    mkdir -p "$dir"
    if ! cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" \
        -DCMAKE_C_COMPILER="$cc" >"$dir/configure.log" 2>&1; then
        cat "$dir/configure.log" >&2
        return 1
    fi
    if ! grep -qx "CMAKE_BUILD_TYPE:[A-Z]*=$type" "$dir/CMakeCache.txt"; then
        echo "test.sh: $dir is not a $type build after configuring" >&2
        return 1
    fi
    ninja -C "$dir" -j"$jobs"
}

run_ctest() {
    ctest --test-dir "$1" -j"$jobs" --output-on-failure
}

stage deps bash tools/deps.sh
stage release configure_build "$build" Release gcc
stage asan configure_build "$build_asan" Asan clang
stage fuzz bash tools/fuzz.sh all "$fuzz_seconds"
stage "ctest asan" run_ctest "$build_asan"

echo
echo "==== test.sh: stage times so far (total $((SECONDS - t_start))s)"
printf '  %s\n' "${timings[@]}"
echo
echo "==== test.sh: ctest (Release)"
# Last on purpose: the output ends with ctest's summary.
exec ctest --test-dir "$build" -j"$jobs" --output-on-failure
