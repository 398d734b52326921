#!/usr/bin/python3
"""Integration test of tiered storage: sluice-segstore offloading to a
real object store and reading back, driven through sluice-ctl.

Run: tier_test.py BIN_DIR BACKEND   (BACKEND: file or s3)

The s3 backend is s3rver (npm; tools/deps.sh installs it under
/opt/sluice-s3rver, or set SLUICE_S3RVER to its binary) on a free port of
127.0.0.1.  Exits 77 (skipped) when s3rver is not installed.
"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

BIN = None
BACKEND = None
S3RVER = os.environ.get(
    "SLUICE_S3RVER", "/opt/sluice-s3rver/node_modules/.bin/s3rver")
BUCKET = "sluice"
PREFIX = "cold"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout=30, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def parse_manifest(b):
    """docs/format.md, Tier: the entries of a manifest."""
    assert b[:4] == b"SLTM", b[:4]
    (count,) = struct.unpack(">I", b[16:20])
    off, ents = 24, []
    for _ in range(count):
        base, nxt, mn, mx, size = struct.unpack(">qqqqQ", b[off:off + 40])
        off += 56
        keys = []
        for _ in range(3):
            (n,) = struct.unpack(">H", b[off:off + 2])
            keys.append(b[off + 2:off + 2 + n].decode())
            off += 2 + n
        ents.append(dict(base=base, next=nxt, size=size, keys=keys))
    return ents


class Store:
    """The object store: a directory, or s3rver serving one."""

    def __init__(self, root):
        self.root = root
        self.dir = os.path.join(root, "objects")
        self.proc = None
        self.port = free_port()

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        if BACKEND == "s3":
            self.proc = subprocess.Popen(
                [S3RVER, "-d", self.dir, "-a", "127.0.0.1", "-p",
                 str(self.port), "-s", "--configure-bucket", BUCKET],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_for(self._up, 20, "s3rver")
        return self

    def _up(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), 0.2).close()
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        elif BACKEND == "file":
            # Make the directory unusable: a file where it should be.
            os.rename(self.dir, self.dir + ".away")
            open(self.dir, "w").close()

    def resume(self):
        if BACKEND == "file":
            os.unlink(self.dir)
            os.rename(self.dir + ".away", self.dir)
        else:
            self.start()

    def settings(self):
        if BACKEND == "file":
            return ["--set", "tier.url=file://" + self.dir]
        return ["--set", "tier.url=s3://%s/%s" % (BUCKET, PREFIX),
                "--set", "tier.s3.endpoint=http://127.0.0.1:%d" % self.port,
                "--set", "tier.s3.access.key=S3RVER",
                "--set", "tier.s3.secret.key=S3RVER"]

    def path(self, key):
        """The file that holds an object's bytes."""
        if BACKEND == "file":
            return os.path.join(self.dir, key)
        return os.path.join(self.dir, BUCKET, PREFIX,
                            key + "._S3rver_object")

    def exists(self, key):
        return os.path.exists(self.path(key))


class Segstore:
    def __init__(self, root, store):
        self.root = root
        self.data = os.path.join(root, "data")
        self.url = "ipc://%s/seg.sock" % root
        self.store = store
        self.proc = None
        self.log = os.path.join(root, "segstore.log")

    def start(self):
        with open(self.log, "ab") as logf:
            self.proc = subprocess.Popen(
                [os.path.join(BIN, "sluice-segstore"), "--data", self.data,
                 "--ipc", self.url, "--set", "tier.check.interval.ms=50",
                 "--set", "retention.check.interval.ms=200",
                 "--set", "tier.cache.bytes=400000"] + self.store.settings(),
                stdout=logf, stderr=logf)
        wait_for(lambda: self.ctl("topic", "list", check=False).returncode
                 == 0 or self.proc.poll() is not None, 10, "segstore")
        assert self.proc.poll() is None, self.read_log()
        return self

    def read_log(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM):
        if self.proc:
            self.proc.send_signal(sig)
            rc = self.proc.wait(20)
            self.proc = None
            # A clean stop exits 0 (and a sanitizer report would not).
            if sig == signal.SIGTERM:
                assert rc == 0, "segstore exit %d: %s" % (rc,
                                                          self.read_log())

    def ctl(self, *args, check=True, input=None):
        r = subprocess.run([os.path.join(BIN, "sluice-ctl"), "--segstore",
                            self.url] + list(args), capture_output=True,
                           text=True, input=input, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError("sluice-ctl %s: %s" % (args, r.stderr))
        return r

    def produce(self, topic, lines):
        self.ctl("produce", topic, "0", "--batch", "50",
                 input="".join(l + "\n" for l in lines))

    def consume(self, topic, start, count, inline=False):
        args = ["consume", topic, "0", "--from", str(start), "--count",
                str(count)]
        if inline:
            args.append("--inline")
        r = self.ctl(*args)
        rows = []
        for line in r.stdout.splitlines():
            off, ts, _key, val = line.split("\t", 3)
            rows.append((int(off), int(ts), val))
        return rows

    def local_segments(self, topic):
        d = os.path.join(self.data, topic, "0")
        return sorted(f for f in os.listdir(d) if f.endswith(".log"))

    def manifest(self, topic):
        p = os.path.join(self.data, topic, "0", "tier.manifest")
        if not os.path.exists(p):
            return []
        with open(p, "rb") as f:
            return parse_manifest(f.read())

    def tier_status(self, topic):
        import json
        r = subprocess.run([os.path.join(BIN, "sluice-ctl"), "--segstore",
                            self.url, "--json", "tier", "status", topic],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)[0]

    def earliest(self, topic):
        return int(self.ctl("offsets", topic, "0", "earliest").stdout)


def payload(i):
    return "record-%06d-%s" % (i, "x" * (i % 97))


class TierTest(unittest.TestCase):
    def setUp(self):
        base = os.environ.get("SL_TEST_TMP")
        if base:
            os.makedirs(base, exist_ok=True)
        self.root = tempfile.mkdtemp(prefix="tier-%s-" % BACKEND, dir=base)
        self.store = Store(self.root).start()
        self.seg = Segstore(self.root, self.store).start()

    def tearDown(self):
        try:
            self.seg.stop()
        finally:
            if self.seg.proc:
                self.seg.proc.kill()
            if self.store.proc:
                self.store.stop()
            shutil.rmtree(self.root, ignore_errors=True)

    def create(self, name, *extra):
        args = ["topic", "create", name, "--partitions", "1",
                "--config", "segment.bytes=65536",
                "--config", "tier.enable=true",
                "--config", "tier.local.retention.bytes=150000"]
        for e in extra:
            args += ["--config", e]
        self.seg.ctl(*args)

    def offloaded(self, topic, n):
        return lambda: len(self.seg.manifest(topic)) >= n and \
            self.seg.earliest(topic) == 0

    def check_all(self, topic, total, inline=False):
        rows = self.seg.consume(topic, 0, total, inline=inline)
        self.assertEqual(len(rows), total)
        for i, (off, _ts, val) in enumerate(rows):
            self.assertEqual(off, i)
            self.assertEqual(val, payload(i))
        return rows

    def test_offload_and_read_back(self):
        self.create("t")
        n = 20000
        self.seg.produce("t", [payload(i) for i in range(n)])
        wait_for(self.offloaded("t", 10), 30, "offload")
        wait_for(lambda: len(self.seg.local_segments("t")) <= 4, 30,
                 "local deletion")
        st = self.seg.tier_status("t")
        self.assertEqual(st["remote_start"], 0)
        self.assertEqual(st["remote_end"], st["local_start"])
        self.assertEqual(st["local_end"], n)
        self.assertGreaterEqual(st["remote_segments"], 10)
        self.assertEqual(st["failures"], 0)
        ents = self.seg.manifest("t")
        self.assertEqual(ents[0]["base"], 0)
        for e in ents:
            for k in e["keys"]:
                self.assertTrue(self.store.exists(k), k)
        local = self.seg.local_segments("t")
        self.assertEqual(int(local[0][:20]), ents[-1]["next"])
        # From offset 0, byte for byte, by descriptor and inline.
        rows = self.check_all("t", n)
        self.check_all("t", n, inline=True)
        # From the middle of a cold segment.
        mid = ents[3]["base"] + 7
        got = self.seg.consume("t", mid, 5)
        self.assertEqual([r[0] for r in got], list(range(mid, mid + 5)))
        self.assertEqual(got[0][2], payload(mid))
        # By timestamp: the first record at or after a cold record's time.
        ts = rows[ents[2]["base"] + 3][1]
        want = next(off for off, t, _ in rows if t >= ts)
        r = self.seg.ctl("offsets", "t", "0", str(ts)).stdout.split()
        self.assertEqual(int(r[0]), want)
        self.assertIn("SS-TIER", self.seg.read_log())
        # sluice-dump reads the manifest (both copies) and a segment object
        # read back into the cache.
        dump = os.path.join(BIN, "sluice-dump")
        man = os.path.join(self.seg.data, "t", "0", "tier.manifest")
        r = subprocess.run([dump, man], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("segments=%d" % len(ents), r.stdout)
        self.assertIn(ents[0]["keys"][0], r.stdout)
        cached = os.path.join(self.seg.data, "@tiercache", "t", "0",
                              "%020d.log" % ents[0]["base"])
        if os.path.exists(cached):
            r = subprocess.run([dump, "--verify", cached],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_store_outage_and_corruption(self):
        self.create("t")
        self.seg.produce("t", [payload(i) for i in range(6000)])
        wait_for(self.offloaded("t", 2), 30, "first offload")
        self.store.stop()
        self.seg.produce("t", [payload(i) for i in range(6000, 16000)])
        wait_for(lambda: self.seg.read_log().count("local data kept") >= 2,
                 30, "failed offload attempts")
        stuck = len(self.seg.manifest("t"))
        st = self.seg.tier_status("t")
        self.assertGreater(st["failures"], 0)
        self.assertNotEqual(st["last_error"], "")
        self.assertEqual(st["pending_offload"], 1)
        self.assertGreater(len(self.seg.local_segments("t")), 4)
        self.store.resume()
        wait_for(lambda: len(self.seg.manifest("t")) > stuck + 3, 60,
                 "offload to resume")
        self.check_all("t", 16000)
        # Corrupt one object the cache does not hold (a restart empties
        # the cache): the read fails clearly, nothing is served.
        self.seg.stop()
        ents = self.seg.manifest("t")
        victim = ents[1]
        p = self.store.path(victim["keys"][0])
        with open(p, "r+b") as f:
            f.seek(100)
            b = f.read(1)
            f.seek(100)
            f.write(bytes([b[0] ^ 0xFF]))
        self.seg.start()
        r = self.seg.ctl("consume", "t", "0", "--from",
                         str(victim["base"]), "--count", "3", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("corrupt", r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn("digest mismatch", self.seg.read_log())
        # Other segments still read.
        got = self.seg.consume("t", ents[2]["base"], 2)
        self.assertEqual(got[0][2], payload(ents[2]["base"]))

    def test_kill9_mid_upload(self):
        self.create("t")
        total = 0
        for round_ in range(3):
            self.seg.produce("t", [payload(i)
                                   for i in range(total, total + 8000)])
            total += 8000
            # Kill while offload is running (some segments offloaded, more
            # pending).
            wait_for(lambda: len(self.seg.manifest("t")) >= 1 + 3 * round_,
                     30, "offload started")
            self.seg.stop(signal.SIGKILL)
            for e in self.seg.manifest("t"):
                for k in e["keys"]:
                    self.assertTrue(self.store.exists(k), "orphan " + k)
            self.seg.start()
        wait_for(lambda: len(self.seg.local_segments("t")) <= 4, 60,
                 "offload after restarts")
        ents = self.seg.manifest("t")
        for a, b in zip(ents, ents[1:]):
            self.assertEqual(a["next"], b["base"])
        for e in ents:
            for k in e["keys"]:
                self.assertTrue(self.store.exists(k), "orphan " + k)
        self.check_all("t", total)

    def test_retention_and_delete(self):
        self.create("r", "retention.bytes=300000")
        self.seg.produce("r", [payload(i) for i in range(20000)])
        wait_for(lambda: self.seg.earliest("r") > 0, 30, "tier retention")
        start = self.seg.earliest("r")
        ents = self.seg.manifest("r")
        if ents:
            self.assertEqual(ents[0]["base"], start)
        base = "r/0/%020d.log" % 0
        wait_for(lambda: not self.store.exists(base), 30, "object deletion")
        # Retention may still be moving the start; read from wherever it is.
        for _ in range(20):
            start = self.seg.earliest("r")
            r = self.seg.ctl("consume", "r", "0", "--from", str(start),
                             "--count", "3", check=False)
            if r.returncode == 0:
                break
            time.sleep(0.2)
        self.assertEqual(int(r.stdout.split("\t")[0]), start)
        keys = [k for e in ents for k in e["keys"]]
        self.seg.ctl("topic", "delete", "r")
        wait_for(lambda: not any(self.store.exists(k) for k in keys), 30,
                 "topic objects deleted")


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv[1])
    BACKEND = sys.argv[2]
    if BACKEND == "s3" and not os.access(S3RVER, os.X_OK):
        print("s3rver not installed (%s): skipped" % S3RVER)
        sys.exit(77)
    unittest.main(argv=[sys.argv[0], "-v"] + sys.argv[3:])
