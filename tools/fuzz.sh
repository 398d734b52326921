#!/usr/bin/env bash
# tools/fuzz.sh — build the libFuzzer harnesses and fuzz them.
#
#   tools/fuzz.sh [HARNESS|all] [SECONDS]
#
# HARNESS is a name from fuzz/fuzz_<name>.c (batch, conf, ipc, ...), or
# "all" (the default).  SECONDS is how long each harness runs (default 30);
# 0 only replays the corpus through the fuzz build, without fuzzing.
#
# Builds with clang and -DSLUICE_FUZZ=ON (ASan + UBSan + libFuzzer) in
# build-fuzz/, then runs each harness on a working copy of its corpus in
# build-fuzz/corpus-work/<name>/, so the committed seeds in fuzz/corpus/
# are never changed; new inputs found there accumulate between runs.
# Crash, leak and timeout inputs land in build-fuzz/artifacts/<name>/ and
# the script exits non-zero; reproduce one with
#   build-fuzz/bin/fuzz_<name> build-fuzz/artifacts/<name>/crash-...
#
# Environment: SLUICE_BUILD_FUZZ (build directory, default build-fuzz),
# SLUICE_JOBS (ninja parallelism, default 2), FUZZ_RUNS (stop each harness
# after this many executions; a campaign is FUZZ_RUNS=10000000 with
# SECONDS=3600).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

want=${1:-all}
secs=${2:-30}
build=${SLUICE_BUILD_FUZZ:-build-fuzz}
jobs=${SLUICE_JOBS:-2}

if ! [[ $secs =~ ^[0-9]+$ ]]; then
    echo "usage: tools/fuzz.sh [HARNESS|all] [SECONDS]" >&2
    exit 2
fi

# Largest input worth trying per harness: a little more than the biggest
# legal thing the decoder sees in tests, so the fuzzer spends its time on
# structure rather than on megabytes of payload.
max_len_for() {
    case $1 in
    conf) echo 8192 ;; # SL_CONF_MAX_LINE is 4096
    *) echo 65536 ;;
    esac
}

# Harnesses are discovered from the sources: fuzz/fuzz_<name>.c.
names=()
for src in fuzz/fuzz_*.c; do
    [ -e "$src" ] || continue
    n=${src#fuzz/fuzz_}
    names+=("${n%.c}")
done
if [ "$want" != all ]; then
    if [ ! -f "fuzz/fuzz_$want.c" ]; then
        echo "fuzz: no harness fuzz/fuzz_$want.c (have: ${names[*]:-none})" >&2
        exit 2
    fi
    names=("$want")
fi
if [ ${#names[@]} -eq 0 ]; then
    echo "fuzz: no harnesses in fuzz/"
    exit 0
fi

cc=$(command -v clang) || {
    echo "fuzz: clang not found (run tools/deps.sh)" >&2
    exit 1
}
# A cache made with another compiler makes CMake wipe it and drop the other
# -D values of the same command (SLUICE_FUZZ among them): start afresh.
if [ -f "$build/CMakeCache.txt" ] &&
    ! grep -qx "CMAKE_C_COMPILER:[A-Z]*=$cc" "$build/CMakeCache.txt"; then
    rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"
fi
mkdir -p "$build"
cmake -S . -B "$build" -G Ninja -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_BUILD_TYPE=Release -DSLUICE_FUZZ=ON >"$build/fuzz-configure.log" 2>&1 || {
    cat "$build/fuzz-configure.log" >&2
    echo "fuzz: cmake configure failed" >&2
    exit 1
}
grep -qx 'SLUICE_FUZZ:BOOL=ON' "$build/CMakeCache.txt" || {
    echo "fuzz: $build is not configured with SLUICE_FUZZ=ON" >&2
    exit 1
}

# A harness whose libraries are not in this checkout yet has no target
# (fuzz/CMakeLists.txt skips it); that is a skip, not a failure.
have_targets=$(ninja -C "$build" -t targets all 2>/dev/null |
    sed -n 's/^\(fuzz_[A-Za-z0-9_]*\): phony$/\1/p')
run=()
for n in "${names[@]}"; do
    if grep -qx "fuzz_$n" <<<"$have_targets"; then
        run+=("$n")
    else
        echo "fuzz_$n: skipped (no build target: its library is not built" \
            "yet, or it is missing from fuzz/CMakeLists.txt)"
    fi
done
[ ${#run[@]} -gt 0 ] || exit 0

targets=()
for n in "${run[@]}"; do targets+=("fuzz_$n"); done
ninja -C "$build" -j"$jobs" "${targets[@]}" >"$build/fuzz-build.log" 2>&1 || {
    tail -n 60 "$build/fuzz-build.log" >&2
    echo "fuzz: build failed (full log: $build/fuzz-build.log)" >&2
    exit 1
}

# Pull one "name: value" statistic out of libFuzzer's final stats.
stat_of() {
    sed -n "s/^stat::$1: *\([0-9]*\).*/\1/p" "$2" | tail -n 1
}

failed=0
for n in "${run[@]}"; do
    bin=$build/bin/fuzz_$n
    work=$build/corpus-work/$n
    art=$build/artifacts/$n
    log=$build/logs/fuzz_$n.log
    mkdir -p "$work" "$art" "$(dirname "$log")"
    if [ -d "fuzz/corpus/$n" ]; then
        cp -R "fuzz/corpus/$n/." "$work/"
    fi
    opts=(-max_len="$(max_len_for "$n")" -timeout=10 -rss_limit_mb=2048
        -print_final_stats=1 -artifact_prefix="$art/")
    if [ -f "fuzz/dict/$n.dict" ]; then
        opts+=(-dict="fuzz/dict/$n.dict")
    fi
    if [ "$secs" -eq 0 ]; then
        opts+=(-runs=0)
    else
        opts+=(-max_total_time="$secs")
        # A campaign stops a harness at FUZZ_RUNS executions or SECONDS,
        # whichever comes first (docs/fuzzing.md).
        if [ -n "${FUZZ_RUNS:-}" ]; then
            opts+=(-runs="$FUZZ_RUNS")
        fi
    fi
    # Only artifacts newer than this marker belong to this run.
    touch "$art/.run-start"
    rc=0
    "$bin" "${opts[@]}" "$work" >"$log" 2>&1 || rc=$?

    execs=$(stat_of number_of_executed_units "$log")
    rate=$(stat_of average_exec_per_sec "$log")
    new=$(stat_of new_units_added "$log")
    rss=$(stat_of peak_rss_mb "$log")
    # The last status line carries coverage: "#N  DONE  cov: C ft: F corp: K/..."
    status=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$status")
    if [ "$rc" -eq 0 ]; then
        verdict=ok
    else
        verdict="FAILED (exit $rc)"
        failed=1
    fi
    printf 'fuzz_%s: %s %ss execs=%s (%s/s) cov=%s ft=%s corpus=%s new=%s rss=%sMB\n' \
        "$n" "$verdict" "$secs" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
        "${ft:-?}" "${corp:-?}" "${new:-?}" "${rss:-?}"
    if [ "$rc" -ne 0 ]; then
        echo "---- last lines of $log ----"
        tail -n 40 "$log"
        echo "----"
        find "$art" -type f -newer "$art/.run-start" ! -name '.*' |
            while read -r f; do echo "reproduce: $bin $f"; done
    fi
done
exit "$failed"
