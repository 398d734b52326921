#!/usr/bin/python3
"""Tiered storage measurements (docs/performance.md, "Tiered storage").

  tier_bench.py BIN_DIR WORK_DIR [--odirect true|false] [--seconds S]

Fills segstore (file:// tier on the same disk) with sluice-bench appends of
16 KiB batches into 64 MiB segments, lets every sealed segment offload,
and reports: offload throughput (from the SS-TIER lines), how much of the
offloaded segment files the page cache holds afterwards (fincore), cold
read throughput (first read: download + verify + read; second: cached)
through sluice-ctl consume, and hot-tail READ latency while an offload
runs (sluice-ctl consume of the last records, repeated).  Not a ctest.
"""
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time


def main():
    bin_dir, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    odirect = "true"
    seconds = "6"
    args = sys.argv[3:]
    while args:
        if args[0] == "--odirect":
            odirect = args[1]
        elif args[0] == "--seconds":
            seconds = args[1]
        args = args[2:]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    data, tier = os.path.join(work, "data"), os.path.join(work, "tier")
    url = "ipc://%s/seg.sock" % work
    log = open(os.path.join(work, "segstore.log"), "w")
    common = ["--data", data, "--ipc", url,
              "--set", "tier.odirect=" + odirect,
              "--set", "tier.check.interval.ms=100",
              "--set", "tier.cache.bytes=4294967296",
              "--set", "fsync=never",
              "--set", "topic.segment.bytes=67108864",
              "--set", "topic.tier.enable=true",
              # Nothing is offloaded while filling: 1 hour of local time.
              "--set", "topic.tier.local.retention.ms=3600000"]
    seg = subprocess.Popen([os.path.join(bin_dir, "sluice-segstore")] +
                           common, stdout=log, stderr=log)
    ctl = [os.path.join(bin_dir, "sluice-ctl"), "--segstore", url]
    time.sleep(0.5)
    subprocess.run(ctl + ["topic", "create", "b", "--partitions", "1",
                          "--config", "tier.local.retention.bytes=134217728"],
                   check=True, capture_output=True)
    # Fill through the bench's appender (its own topics) is not needed:
    # produce 16 KiB records with sluice-ctl in large batches.
    rec = "v" * 16000
    n = 0
    t0 = time.time()
    while time.time() - t0 < float(seconds):
        subprocess.run(ctl + ["produce", "b", "0", "--batch", "64"],
                       input=(rec + "\n") * 4096, text=True, check=True,
                       capture_output=True)
        n += 4096
    fill_s = time.time() - t0
    print("filled %d records (%.0f MiB) in %.1f s" %
          (n, n * 16000 / 2**20, fill_s))
    # Restart with the tier: offload of everything past 128 MiB starts at
    # once.  Warm the hot tail first, and drop the rest of the page cache.
    seg.send_signal(signal.SIGTERM)
    seg.wait(30)
    subprocess.run("sync; echo 1 > /proc/sys/vm/drop_caches", shell=True)
    seg = subprocess.Popen([os.path.join(bin_dir, "sluice-segstore")] +
                           common + ["--set", "tier.url=file://" + tier],
                           stdout=log, stderr=log)
    time.sleep(0.3)
    subprocess.run(ctl + ["consume", "b", "0", "--from", str(n - 8000),
                          "--count", "8000"], capture_output=True)
    # Hot-tail latency while offload runs: the offload starts now.
    lat = []
    tend = time.time() + 60
    while time.time() < tend:
        a = time.perf_counter()
        subprocess.run(ctl + ["consume", "b", "0", "--from", str(n - 10),
                              "--count", "10"], capture_output=True,
                       check=True)
        lat.append((time.perf_counter() - a) * 1000)
        st = subprocess.run(ctl + ["--json", "tier", "status", "b"],
                            capture_output=True, text=True).stdout
        if '"pending_offload":0' in st and len(lat) > 5:
            break
    lines = open(os.path.join(work, "segstore.log")).read()
    off = [(int(b), float(ms)) for b, ms in
           re.findall(r"offloaded segment .* bytes=(\d+) ms=([\d.]+)", lines)]
    tot_b = sum(b for b, _ in off)
    tot_ms = sum(ms for _, ms in off)
    print("offload: %d segments, %.0f MiB, %.1f MiB/s (odirect=%s)" %
          (len(off), tot_b / 2**20, tot_b / 2**20 / (tot_ms / 1000), odirect))
    lat.sort()
    print("hot-tail consume during offload (sluice-ctl process incl.): "
          "n=%d p50=%.1f ms p99=%.1f ms" %
          (len(lat), statistics.median(lat),
           lat[min(len(lat) - 1, int(len(lat) * 0.99))]))
    # Page cache held by the offloaded objects' source: fincore the tier.
    fc = subprocess.run("fincore -b -n -o RES %s/b/0/*.log | "
                        "awk '{s+=$1} END {print s}'" % tier, shell=True,
                        capture_output=True, text=True).stdout.strip()
    print("page cache holding the tier's objects after offload: %.0f MiB" %
          (int(fc or 0) / 2**20))
    # Cold reads: first (download + digest + read) and cached.
    first = off[0][0] if off else 0
    cold_recs = first // 16000 * 3
    for label in ("first", "cached"):
        a = time.perf_counter()
        subprocess.run(ctl + ["consume", "b", "0", "--from", "0", "--count",
                              str(cold_recs)], capture_output=True,
                       check=True)
        s = time.perf_counter() - a
        print("cold read %s: %d records (%.0f MiB) in %.2f s = %.0f MiB/s" %
              (label, cold_recs, cold_recs * 16000 / 2**20, s,
               cold_recs * 16000 / 2**20 / s))
    dl = [(int(b), float(ms)) for b, ms in
          re.findall(r"downloaded .* bytes=(\d+) ms=([\d.]+)",
                     open(os.path.join(work, "segstore.log")).read())]
    if dl:
        print("download+verify+write to cache: %.0f MiB/s over %d objects" %
              (sum(b for b, _ in dl) / 2**20 /
               (sum(ms for _, ms in dl) / 1000), len(dl)))
    seg.send_signal(signal.SIGTERM)
    seg.wait(30)


if __name__ == "__main__":
    main()
