#!/usr/bin/python3
"""Integration tests of sluice-segstore driven through its real CLI tools.

Each test starts its own sluice-segstore on a fresh data directory under a
temporary root (ipc:// sockets, or tcp:// on a port it picks on 127.0.0.1),
talks to it with sluice-ctl, inspects the files with sluice-dump, and stops
it.  Run: segstore_test.py BIN_DIR  (ctest passes the build's bin dir).
"""
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest

BIN = None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Segstore:
    """A sluice-segstore process on its own data directory."""

    def __init__(self, root, url=None, args=(), listen=None):
        self.root = root
        self.data = os.path.join(root, "data")
        self.url = url or "ipc://%s/seg.sock" % root  # what clients dial
        self.listen = listen or self.url
        self.args = list(args)
        self.proc = None
        self.log = os.path.join(root, "segstore.log")

    def start(self):
        with open(self.log, "ab") as logf:
            self.proc = subprocess.Popen(
                [os.path.join(BIN, "sluice-segstore"), "--data", self.data,
                 "--ipc", self.listen] + self.args,
                stdout=logf, stderr=logf)
        deadline = time.time() + 10
        while time.time() < deadline:
            r = self.ctl("topic", "list", check=False)
            if r.returncode == 0:
                return self
            if self.proc.poll() is not None:
                raise AssertionError("segstore exited: " + self.read_log())
            time.sleep(0.05)
        raise AssertionError("segstore did not answer: " + self.read_log())

    def read_log(self):
        with open(self.log, "r", errors="replace") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            rc = self.proc.wait(timeout=20)
            self.proc = None
            return rc
        return None

    def ctl(self, *args, check=True, stdin=None, json_out=False):
        cmd = [os.path.join(BIN, "sluice-ctl"), "--segstore", self.url]
        if json_out:
            cmd.append("--json")
        r = subprocess.run(cmd + list(args), input=stdin, capture_output=True,
                           text=True, timeout=30)
        if check and r.returncode != 0:
            raise AssertionError("sluice-ctl %s failed (%d): %s" %
                                 (" ".join(args), r.returncode, r.stderr))
        return r


def dump(*args):
    return subprocess.run([os.path.join(BIN, "sluice-dump")] + list(args),
                          capture_output=True, text=True, timeout=60)


class SegstoreTest(unittest.TestCase):
    def setUp(self):
        base = os.environ.get("SL_TEST_TMP", tempfile.gettempdir())
        os.makedirs(base, exist_ok=True)
        self.root = tempfile.mkdtemp(prefix="segit.", dir=base)
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            p.stop(signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)

    def segstore(self, **kw):
        s = Segstore(self.root, **kw)
        self.procs.append(s)
        return s.start()

    def segstore_tcp(self, make_kw):
        """Start segstore on a free tcp port (make_kw(port) gives the
        arguments); pick another port when a parallel test took it between
        free_port() and the bind, or took port+1 (the derived events
        port)."""
        for attempt in range(5):
            port = free_port()
            try:
                return self.segstore(**make_kw(port)), port
            except AssertionError as e:
                if "Address in use" not in str(e) or attempt == 4:
                    raise

    def produce(self, s, topic, part, lines, batch=10):
        s.ctl("produce", topic, str(part), "--batch", str(batch),
              stdin="".join("%s\n" % l for l in lines))

    def consume(self, s, topic, part, *extra):
        r = s.ctl("consume", topic, str(part), *extra, json_out=True)
        return [json.loads(l) for l in r.stdout.splitlines() if l]

    # --- topics --------------------------------------------------------

    def test_topic_lifecycle(self):
        s = self.segstore()
        s.ctl("topic", "create", "orders", "--partitions", "3", "--config",
              "retention.ms=3600000", "--config",
              "message.timestamp.type=LogAppendTime")
        r = s.ctl("topic", "list")
        self.assertIn("orders\t3", r.stdout)
        d = json.loads(s.ctl("topic", "describe", "orders",
                             json_out=True).stdout)
        self.assertEqual(d["partitions"], 3)
        self.assertEqual(d["configs"]["retention.ms"], "3600000")
        self.assertEqual(d["configs"]["message.timestamp.type"],
                         "LogAppendTime")
        self.assertEqual(d["configs"]["segment.bytes"], "134217728")
        self.assertEqual(len(d["partition_info"]), 3)
        # Refusals carry a reason and exit 1.
        r = s.ctl("topic", "create", "orders", "--partitions", "1",
                  check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("already exists", r.stderr)
        for bad in (["bad/name", "--partitions", "1"],
                    ["x", "--partitions", "0"],
                    ["x", "--partitions", "1", "--config", "retention.ms=soon"],
                    ["x", "--partitions", "1", "--config", "no.such.key=1"],
                    ["x", "--partitions", "1", "--config",
                     "cleanup.policy=compact"]):
            r = s.ctl("topic", "create", *bad, check=False)
            # 1: segstore refused it; 2: sluice-ctl caught it first.
            self.assertIn(r.returncode, (1, 2), bad)
            self.assertTrue(r.stderr.strip(), bad)
        # Metadata survives a restart.
        self.assertEqual(s.stop(), 0)
        s.start()
        d = json.loads(s.ctl("topic", "describe", "orders",
                             json_out=True).stdout)
        self.assertEqual(d["configs"]["retention.ms"], "3600000")
        s.ctl("topic", "delete", "orders")
        self.assertNotIn("orders", s.ctl("topic", "list").stdout)
        self.assertFalse(any(n.startswith("orders") for n in
                             os.listdir(s.data)))
        r = s.ctl("topic", "delete", "orders", check=False)
        self.assertEqual(r.returncode, 1)

    # --- data --------------------------------------------------------

    def test_produce_consume_descriptor_and_inline(self):
        s = self.segstore()
        s.ctl("topic", "create", "t", "--partitions", "2")
        lines = ["message %d" % i for i in range(1000)]
        self.produce(s, "t", 1, lines, batch=37)
        for mode in ([], ["--inline"]):
            recs = self.consume(s, "t", 1, *mode)
            self.assertEqual([r["value"] for r in recs], lines, mode)
            self.assertEqual([r["offset"] for r in recs], list(range(1000)))
        recs = self.consume(s, "t", 1, "--from", "500", "--count", "3")
        self.assertEqual([r["offset"] for r in recs], [500, 501, 502])
        self.assertEqual(self.consume(s, "t", 0), [])
        self.assertEqual(s.ctl("offsets", "t", "1").stdout.strip(), "1000")
        self.assertEqual(s.ctl("offsets", "t", "1", "earliest").stdout.strip(),
                         "0")
        r = s.ctl("consume", "t", "1", "--from", "2000", check=False)
        self.assertEqual(r.returncode, 1)
        r = s.ctl("consume", "nope", "0", check=False)
        self.assertEqual(r.returncode, 1)
        r = s.ctl("consume", "t", "7", check=False)
        self.assertEqual(r.returncode, 1)

    def test_offsets_by_timestamp(self):
        s = self.segstore()
        s.ctl("topic", "create", "t", "--partitions", "1")
        self.produce(s, "t", 0, ["a%d" % i for i in range(10)], batch=5)
        recs = self.consume(s, "t", 0)
        ts_mid = recs[7]["timestamp"]
        r = json.loads(s.ctl("offsets", "t", "0", str(ts_mid),
                             json_out=True).stdout)
        self.assertLessEqual(r["offset"], 7)
        self.assertEqual(r["timestamp"], ts_mid)
        self.assertEqual(recs[r["offset"]]["timestamp"], ts_mid)
        r = json.loads(s.ctl("offsets", "t", "0", str(ts_mid + 10**9),
                             json_out=True).stdout)
        self.assertEqual(r["offset"], -1)

    def test_restart_and_sigterm(self):
        s = self.segstore()
        s.ctl("topic", "create", "t", "--partitions", "1")
        self.produce(s, "t", 0, ["x%d" % i for i in range(300)])
        self.assertEqual(s.stop(signal.SIGTERM), 0)
        self.assertIn("SS-STOPPED", s.read_log())
        s.start()
        self.assertEqual(len(self.consume(s, "t", 0)), 300)
        self.produce(s, "t", 0, ["y"])
        self.assertEqual(s.ctl("offsets", "t", "0").stdout.strip(), "301")
        s.stop(signal.SIGINT)

    def test_kill9_recovers(self):
        s = self.segstore()
        s.ctl("topic", "create", "t", "--partitions", "1")
        self.produce(s, "t", 0, ["x%d" % i for i in range(500)], batch=7)
        s.stop(signal.SIGKILL)
        s.start()
        recs = self.consume(s, "t", 0)
        self.assertEqual([r["value"] for r in recs],
                         ["x%d" % i for i in range(500)])

    def test_tcp_transport_inline(self):
        s, port = self.segstore_tcp(
            lambda p: {"url": "tcp://127.0.0.1:%d" % p})
        s.ctl("topic", "create", "t", "--partitions", "1")
        self.produce(s, "t", 0, ["over tcp %d" % i for i in range(50)])
        # A tcp client cannot prove it shares the machine unless it can
        # read segstore.id; either way the records arrive.
        recs = self.consume(s, "t", 0, "--inline")
        self.assertEqual(len(recs), 50)
        self.assertEqual(recs[49]["value"], "over tcp 49")

    def test_ipc_socket_permissions(self):
        s = self.segstore()
        sock = os.path.join(self.root, "seg.sock")
        mode = stat.S_IMODE(os.stat(sock).st_mode)
        self.assertEqual(mode, 0o600)
        mode = stat.S_IMODE(os.stat(sock + ".events").st_mode)
        self.assertEqual(mode, 0o600)

    def watch_events(self, url, count):
        p = subprocess.Popen(
            [os.path.join(BIN, "sluice-ctl"), "--segstore", url, "--json",
             "events", "--count", str(count), "--seconds", "20"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Wait for "subscribed" so nothing published after it is missed.
        line = p.stderr.readline()
        self.assertIn("subscribed", line)
        time.sleep(0.2)
        return p

    def test_events(self):
        ipc = "ipc://%s/seg.sock" % self.root
        s, port = self.segstore_tcp(lambda p: {
            "url": ipc, "listen": ipc + ",tcp://127.0.0.1:%d" % p})
        tcp = "tcp://127.0.0.1:%d" % port
        for url in (ipc, tcp):
            w = self.watch_events(url, 4)
            s.url = url
            s.ctl("topic", "create", "ev", "--partitions", "2")
            self.produce(s, "ev", 1, ["a"] * 7)
            self.produce(s, "ev", 1, ["b"] * 3)
            s.ctl("topic", "delete", "ev")
            out, _ = w.communicate(timeout=30)
            evs = [json.loads(l) for l in out.splitlines() if l]
            self.assertEqual(
                [(e["event"], e.get("partition"), e.get("high_watermark"))
                 for e in evs],
                [("TOPIC_CREATED", None, None), ("ADVANCE", 1, 7),
                 ("ADVANCE", 1, 10), ("TOPIC_DELETED", None, None)], url)
            self.assertEqual(evs[0]["partitions"], 2)

    def test_ipc_socket_group(self):
        s = self.segstore(args=["--set", "ipc.socket.group=root"])
        sock = os.path.join(self.root, "seg.sock")
        st = os.stat(sock)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertEqual(st.st_gid, 0)
        r = subprocess.run(
            [os.path.join(BIN, "sluice-segstore"), "--data",
             os.path.join(self.root, "d2"), "--ipc",
             "ipc://%s/g.sock" % self.root, "--set",
             "ipc.socket.group=no-such-group-here"],
            capture_output=True, text=True, timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no-such-group-here", r.stderr)

    def test_second_instance_refused(self):
        s = self.segstore()
        other = subprocess.run(
            [os.path.join(BIN, "sluice-segstore"), "--data", s.data, "--ipc",
             "ipc://%s/other.sock" % self.root],
            capture_output=True, text=True, timeout=10)
        self.assertNotEqual(other.returncode, 0)
        self.assertIn("locked", other.stderr)

    def test_bad_config_refused(self):
        for args, word in ((["--fsync", "sometimes"], "fsync"),
                           (["--set", "checkpoint.interval.ms=1"],
                            "checkpoint.interval.ms"),
                           (["--set", "topic.segment.bytes=12"],
                            "segment.bytes"),
                           (["--set", "nonsense=1"], "nonsense")):
            r = subprocess.run(
                [os.path.join(BIN, "sluice-segstore"), "--data",
                 os.path.join(self.root, "d")] + args,
                capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(word, r.stderr, args)
        cfg = os.path.join(self.root, "bad.conf")
        with open(cfg, "w") as f:
            f.write("# comment\nfsync = batch\nretention.check.interval.ms "
                    "= often\n")
        r = subprocess.run(
            [os.path.join(BIN, "sluice-segstore"), "--config", cfg],
            capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn("bad.conf:3", r.stderr)

    def test_retention_and_roll(self):
        s = self.segstore(args=["--set", "retention.check.interval.ms=200"])
        s.ctl("topic", "create", "r", "--partitions", "1", "--config",
              "segment.bytes=65536", "--config", "retention.bytes=200000")
        payload = ["%06d %s" % (i, "p" * 200) for i in range(3000)]
        self.produce(s, "r", 0, payload, batch=20)
        deadline = time.time() + 10
        while time.time() < deadline:
            d = json.loads(s.ctl("topic", "describe", "r",
                                 json_out=True).stdout)
            p = d["partition_info"][0]
            if p["log_start"] > 0 and p["bytes"] < 200000 + 65536:
                break
            time.sleep(0.2)
        self.assertGreater(p["log_start"], 0)
        self.assertEqual(p["high_watermark"], 3000)
        self.assertGreaterEqual(p["bytes"], 200000)
        self.assertLess(p["bytes"], 200000 + 65536)
        recs = self.consume(s, "r", 0)
        self.assertEqual(recs[0]["offset"], p["log_start"])
        self.assertEqual(recs[-1]["value"], payload[-1])
        r = s.ctl("consume", "r", "0", "--from", "0", check=False)
        self.assertEqual(r.returncode, 1)

    # --- coordination state: KV, groups, topic grow ---------------------

    def kv_get(self, s, key):
        r = s.ctl("kv", "get", key, json_out=True, check=False)
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)

    def kv_scan(self, s, *args):
        r = s.ctl("kv", "scan", *args, json_out=True)
        return [json.loads(l) for l in r.stdout.splitlines() if l]

    def test_kv_put_get_scan_delete(self):
        s = self.segstore()
        revs = []
        for k, v in (("app/b", "2"), ("app/a", "1"), ("app/c", "3"),
                     ("other", "x"), ("app", "root")):
            r = s.ctl("kv", "put", k, v, json_out=True)
            revs.append(json.loads(r.stdout)["revision"])
        self.assertEqual(revs, sorted(revs))
        self.assertEqual(len(set(revs)), len(revs))
        g = self.kv_get(s, "app/a")
        self.assertEqual(g["value"], "1")
        self.assertEqual(g["version"], revs[1])
        # Plain output: key, version, value.
        r = s.ctl("kv", "get", "app/c")
        self.assertEqual(r.stdout.strip().split("\t"),
                         ["app/c", str(revs[2]), "3"])
        # A missing key: exit 1, a message on stderr.
        r = s.ctl("kv", "get", "nope", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("nope", r.stderr)
        # Scans: key order, prefix, limit.
        self.assertEqual([e["key"] for e in self.kv_scan(s)],
                         ["app", "app/a", "app/b", "app/c", "other"])
        self.assertEqual([e["key"] for e in self.kv_scan(s, "app/")],
                         ["app/a", "app/b", "app/c"])
        self.assertEqual([e["key"] for e in self.kv_scan(s, "app/", "--limit",
                                                         "2")],
                         ["app/a", "app/b"])
        self.assertEqual(self.kv_scan(s, "zzz"), [])
        sc = {e["key"]: e for e in self.kv_scan(s, "app/")}
        self.assertEqual(sc["app/b"]["value"], "2")
        self.assertEqual(sc["app/b"]["version"], revs[0])
        # Delete; deleting again is not an error.
        s.ctl("kv", "delete", "app/b")
        self.assertIsNone(self.kv_get(s, "app/b"))
        s.ctl("kv", "delete", "app/b")
        self.assertEqual([e["key"] for e in self.kv_scan(s, "app/")],
                         ["app/a", "app/c"])

    def test_kv_scan_pages(self):
        # More bytes than one KV_SCAN reply holds (1 MiB): sluice-ctl pages
        # with `after` and sees each key once, in order.
        s = self.segstore()
        keys = ["k%04d" % i for i in range(150)]
        for k in keys[::-1]:
            s.ctl("kv", "put", k, k * 1600)  # 8000 bytes each
        got = self.kv_scan(s, "k")
        self.assertEqual([e["key"] for e in got], keys)
        self.assertTrue(all(e["value"] == e["key"] * 1600 for e in got))
        self.assertEqual([e["key"] for e in self.kv_scan(s, "k", "--limit",
                                                         "140")], keys[:140])

    def test_kv_cas_conflict(self):
        s = self.segstore()
        rev = json.loads(s.ctl("kv", "put", "lock", "a", "--expect", "0",
                               json_out=True).stdout)["revision"]
        # expect 0 on an existing key: exit 1, nothing written.
        r = s.ctl("kv", "put", "lock", "b", "--expect", "0", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("lock", r.stderr)
        self.assertEqual(self.kv_get(s, "lock")["value"], "a")
        # A stale version: exit 1.
        r = s.ctl("kv", "put", "lock", "b", "--expect", str(rev + 100),
                  check=False)
        self.assertEqual(r.returncode, 1)
        r = s.ctl("kv", "delete", "lock", "--expect", str(rev + 1),
                  check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.kv_get(s, "lock")["version"], rev)
        # The right version wins.
        s.ctl("kv", "put", "lock", "b", "--expect", str(rev))
        g = self.kv_get(s, "lock")
        self.assertEqual(g["value"], "b")
        self.assertGreater(g["version"], rev)
        s.ctl("kv", "delete", "lock", "--expect", str(g["version"]))
        self.assertIsNone(self.kv_get(s, "lock"))

    def test_kv_internal_keys_refused(self):
        s = self.segstore()
        for args in (["put", "__mine", "x"], ["delete", "__pid"],
                     ["put", "__o", "x"], ["put", "__snap", "x"]):
            r = s.ctl("kv", *args, check=False)
            self.assertEqual(r.returncode, 1, args)
            self.assertIn("__", r.stderr, args)
        # Not readable either, and not listed by scans.
        r = s.ctl("kv", "get", "__pid", check=False)
        self.assertEqual(r.returncode, 1)
        s.ctl("kv", "put", "_single", "ok")
        self.assertEqual([e["key"] for e in self.kv_scan(s)], ["_single"])
        self.assertEqual(self.kv_scan(s, "__"), [])

    def test_kv_survives_restart(self):
        s = self.segstore()
        s.ctl("kv", "put", "a", "1")
        s.ctl("kv", "put", "b", "2")
        s.ctl("kv", "delete", "a")
        last = json.loads(s.ctl("kv", "put", "c", "3",
                                json_out=True).stdout)["revision"]
        before = self.kv_scan(s)
        self.assertEqual(s.stop(), 0)
        s.start()
        self.assertEqual(self.kv_scan(s), before)
        self.assertIsNone(self.kv_get(s, "a"))
        rev = json.loads(s.ctl("kv", "put", "d", "4",
                               json_out=True).stdout)["revision"]
        self.assertGreater(rev, last)
        # And after kill -9 (the reply came once the write was durable).
        s.stop(signal.SIGKILL)
        s.start()
        self.assertEqual(self.kv_get(s, "d")["version"], rev)
        self.assertEqual(self.kv_get(s, "c")["value"], "3")

    def test_kv_compaction_and_value_max(self):
        s = self.segstore(args=["--set", "kv.segment.bytes=1048576",
                                "--set", "kv.value.max.bytes=100000"])
        for i in range(40):
            s.ctl("kv", "put", "big", ("%02d" % i) * 40000)
        s.ctl("kv", "put", "gone", "x")
        s.ctl("kv", "delete", "gone")
        last = json.loads(s.ctl("kv", "put", "small", "s",
                                json_out=True).stdout)["revision"]
        kvdir = os.path.join(s.data, "@kv")
        size = sum(os.path.getsize(os.path.join(kvdir, f))
                   for f in os.listdir(kvdir) if f.endswith(".log"))
        # 40 x 80 kB written; compaction keeps about the live data.
        self.assertLess(size, 3 * 1048576)
        self.assertIn("compacted", s.read_log())
        r = s.ctl("kv", "put", "huge", "h" * 100001, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIsNone(self.kv_get(s, "huge"))
        self.assertEqual(s.stop(), 0)
        s.start()
        self.assertEqual(self.kv_get(s, "big")["value"], "39" * 40000)
        self.assertIsNone(self.kv_get(s, "gone"))
        rev = json.loads(s.ctl("kv", "put", "after", "x",
                               json_out=True).stdout)["revision"]
        self.assertGreater(rev, last)
        r = dump("--verify", kvdir)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_kv_events(self):
        s = self.segstore()
        base = json.loads(s.ctl("kv", "put", "seed", "0",
                                json_out=True).stdout)["revision"]
        w = self.watch_events(s.url, 3)
        r1 = json.loads(s.ctl("kv", "put", "ev/k", "hello",
                              json_out=True).stdout)["revision"]
        r2 = json.loads(s.ctl("kv", "put", "ev/k", "again",
                              json_out=True).stdout)["revision"]
        s.ctl("kv", "delete", "ev/k")
        out, err = w.communicate(timeout=30)
        evs = [json.loads(l) for l in out.splitlines() if l]
        self.assertEqual(len(evs), 3, err)
        self.assertEqual([e["event"] for e in evs], ["KV"] * 3)
        self.assertEqual([e["key"] for e in evs], ["ev/k"] * 3)
        self.assertEqual(evs[0]["version"], r1)
        self.assertEqual(evs[0]["prev_revision"], base)
        self.assertEqual(evs[0]["value"], "hello")
        self.assertFalse(evs[0]["deleted"])
        self.assertEqual(evs[1]["version"], r2)
        self.assertEqual(evs[1]["prev_revision"], r1)
        self.assertEqual(evs[2]["prev_revision"], r2)
        self.assertTrue(evs[2]["deleted"])
        self.assertGreater(evs[2]["version"], r2)

    def test_topic_grow(self):
        s = self.segstore()
        s.ctl("topic", "create", "g", "--partitions", "2")
        self.produce(s, "g", 1, ["before"])
        s.ctl("topic", "grow", "g", "--partitions", "4")
        d = json.loads(s.ctl("topic", "describe", "g", json_out=True).stdout)
        self.assertEqual(d["partitions"], 4)
        self.assertEqual(len(d["partition_info"]), 4)
        self.assertIn("g\t4", s.ctl("topic", "list").stdout)
        self.produce(s, "g", 3, ["p3-%d" % i for i in range(5)])
        self.assertEqual([r["value"] for r in self.consume(s, "g", 3)],
                         ["p3-%d" % i for i in range(5)])
        self.assertEqual(self.consume(s, "g", 2), [])
        self.assertEqual([r["value"] for r in self.consume(s, "g", 1)],
                         ["before"])
        # Not above the current count, an unknown topic: refused.
        for args in (["g", "--partitions", "4"], ["g", "--partitions", "3"],
                     ["nope", "--partitions", "9"]):
            r = s.ctl("topic", "grow", *args, check=False)
            self.assertEqual(r.returncode, 1, args)
            self.assertTrue(r.stderr.strip(), args)
        # The new count survives a restart.
        self.assertEqual(s.stop(), 0)
        s.start()
        d = json.loads(s.ctl("topic", "describe", "g", json_out=True).stdout)
        self.assertEqual(d["partitions"], 4)
        self.assertEqual(len(self.consume(s, "g", 3)), 5)

    def test_groups_on_empty_store(self):
        s = self.segstore()
        r = s.ctl("group", "list")
        self.assertEqual(r.stdout, "")
        r = s.ctl("group", "list", json_out=True)
        self.assertEqual(r.stdout, "")
        r = s.ctl("group", "offsets", "nobody")
        self.assertEqual(r.stdout, "")
        d = json.loads(s.ctl("group", "describe", "nobody",
                             json_out=True).stdout)
        self.assertEqual(d["state"], "Dead")
        self.assertEqual(d["members"], [])
        r = s.ctl("group", "delete", "nobody", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("nobody", r.stderr)


    # --- sluice-dump on real segments ----------------------------------

    def test_dump_real_segments(self):
        s = self.segstore(args=["--set", "checkpoint.interval.ms=100"])
        s.ctl("topic", "create", "d", "--partitions", "1", "--config",
              "segment.bytes=65536")
        self.produce(s, "d", 0, ["rec-%d %s" % (i, "v" * 100)
                                 for i in range(2000)], batch=25)
        self.assertEqual(s.stop(), 0)  # checkpoints the active segment
        part = os.path.join(s.data, "d", "0")
        r = dump("--verify", part)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        segs = sorted(f for f in os.listdir(part) if f.endswith(".log"))
        self.assertGreater(len(segs), 2)
        r = dump("--records", "--json", os.path.join(part, segs[0]))
        self.assertEqual(r.returncode, 0)
        objs = [json.loads(l) for l in r.stdout.splitlines() if l]
        values = [o.get("value") for o in objs if "value" in o]
        self.assertIn("rec-0 " + "v" * 100, values)
        # Flip one byte inside a sealed segment: dump names file and place.
        path = os.path.join(part, segs[0])
        with open(path, "r+b") as f:
            f.seek(300)
            b = f.read(1)
            f.seek(300)
            f.write(bytes([b[0] ^ 0xFF]))
        r = dump("--verify", part)
        self.assertEqual(r.returncode, 1)
        self.assertIn(segs[0], r.stderr)
        self.assertIn("position", r.stderr)


def main():
    global BIN
    if len(sys.argv) < 2:
        print("usage: segstore_test.py BIN_DIR [unittest args]")
        return 2
    BIN = os.path.abspath(sys.argv[1])
    prog = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], exit=False,
                         verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
