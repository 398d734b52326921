#!/usr/bin/python3
"""Integration tests of sluice-kafka with real, unmodified Kafka clients.

Each test starts its own sluice-segstore (ipc:// socket in a fresh
temporary directory under $SL_TEST_TMP) and its own sluice-kafka on
127.0.0.1 with a free port, drives it with kcat, python3-confluent-kafka
(librdkafka) and python3-kafka (kafka-python), and checks what segstore
stored with sluice-ctl and sluice-dump.  No consumer groups: consumers
assign() partitions and start from explicit offsets.

Run: kafka_test.py BIN_DIR [unittest args], under /usr/bin/python3 (the
Debian client packages import only there).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

BIN = None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Node:
    """A sluice-segstore and a sluice-kafka on one temporary directory."""

    def __init__(self, root, kafka_args=()):
        self.root = root
        self.data = os.path.join(root, "data")
        self.url = "ipc://%s/seg.sock" % root
        self.port = free_port()
        self.bootstrap = "127.0.0.1:%d" % self.port
        self.kafka_args = list(kafka_args)
        self.seg = None
        self.kf = None
        self.seg_log = os.path.join(root, "segstore.log")
        self.kf_log = os.path.join(root, "kafka.log")

    def start_segstore(self):
        with open(self.seg_log, "ab") as logf:
            self.seg = subprocess.Popen(
                [os.path.join(BIN, "sluice-segstore"), "--data", self.data,
                 "--ipc", self.url], stdout=logf, stderr=logf)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.ctl("topic", "list", check=False).returncode == 0:
                return
            if self.seg.poll() is not None:
                raise AssertionError("segstore exited: " + self.log(True))
            time.sleep(0.05)
        raise AssertionError("segstore did not answer: " + self.log(True))

    def start_kafka(self):
        with open(self.kf_log, "ab") as logf:
            self.kf = subprocess.Popen(
                [os.path.join(BIN, "sluice-kafka"), "--segstore", self.url,
                 "--listen", self.bootstrap, "--advertise", self.bootstrap] +
                self.kafka_args, stdout=logf, stderr=logf)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.kf.poll() is not None:
                raise AssertionError("sluice-kafka exited: " + self.log())
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                # HELLO is asynchronous; give it a moment to land so the
                # first Metadata carries the cluster id.
                time.sleep(0.1)
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("sluice-kafka did not listen: " + self.log())

    def start(self):
        self.start_segstore()
        self.start_kafka()
        return self

    def log(self, seg=False):
        with open(self.seg_log if seg else self.kf_log, "r",
                  errors="replace") as f:
            return f.read()

    def stop_kafka(self, sig=signal.SIGTERM):
        if self.kf and self.kf.poll() is None:
            self.kf.send_signal(sig)
            rc = self.kf.wait(timeout=20)
            self.kf = None
            return rc
        return None

    def stop(self, sig=signal.SIGKILL):
        self.stop_kafka(sig)
        if self.seg and self.seg.poll() is None:
            self.seg.send_signal(sig)
            self.seg.wait(timeout=20)
        self.seg = None

    def ctl(self, *args, check=True, json_out=False):
        cmd = [os.path.join(BIN, "sluice-ctl"), "--segstore", self.url]
        if json_out:
            cmd.append("--json")
        r = subprocess.run(cmd + list(args), capture_output=True, text=True,
                           timeout=30)
        if check and r.returncode != 0:
            raise AssertionError("sluice-ctl %s failed: %s" %
                                 (" ".join(args), r.stderr))
        return r

    def ctl_consume(self, topic, part):
        r = self.ctl("consume", topic, str(part), json_out=True)
        return [json.loads(l) for l in r.stdout.splitlines() if l]

    def dump_json(self, path):
        r = subprocess.run([os.path.join(BIN, "sluice-dump"), "--json", path],
                           capture_output=True, text=True, timeout=60)
        return [json.loads(l) for l in r.stdout.splitlines() if l]

    def verify(self):
        return subprocess.run([os.path.join(BIN, "sluice-dump"), "--verify",
                               self.data], capture_output=True, text=True,
                              timeout=60)


def kcat(node, *args, stdin=None, timeout=30):
    r = subprocess.run(["kcat", "-b", node.bootstrap] + list(args),
                       input=stdin, capture_output=True, timeout=timeout)
    return r


class KafkaTestBase(unittest.TestCase):
    def setUp(self):
        base = os.environ.get("SL_TEST_TMP", tempfile.gettempdir())
        os.makedirs(base, exist_ok=True)
        self.root = tempfile.mkdtemp(prefix="kfit.", dir=base)
        self.nodes = []

    def tearDown(self):
        # SIGTERM first: sluice-kafka must exit 0 (under ASan that also
        # means no leak and no sanitizer finding).
        bad = []
        for n in self.nodes:
            rc = n.stop_kafka(signal.SIGTERM)
            if rc not in (0, None):
                bad.append(rc)
            n.stop()
        if self.failed():
            for n in self.nodes:
                sys.stderr.write("---- sluice-kafka log\n" + n.log())
        shutil.rmtree(self.root, ignore_errors=True)
        self.assertEqual(bad, [], "sluice-kafka exit status on SIGTERM")

    def failed(self):
        res = getattr(self._outcome, "result", None)
        if res is None:
            return False
        return any(t is self for t, _ in res.errors + res.failures)

    def node(self, **kw):
        n = Node(self.root, **kw)
        self.nodes.append(n)
        return n.start()


class KcatTest(KafkaTestBase):
    def test_kcat_metadata(self):
        n = self.node()
        n.ctl("topic", "create", "three", "--partitions", "3")
        n.ctl("topic", "create", "one", "--partitions", "1")
        r = kcat(n, "-L", "-J")
        self.assertEqual(r.returncode, 0, r.stderr)
        md = json.loads(r.stdout)
        self.assertEqual(len(md["brokers"]), 1)
        self.assertEqual(md["brokers"][0]["name"], n.bootstrap)
        self.assertEqual(md["brokers"][0]["id"], 1)
        self.assertEqual(md["controllerid"], 1)
        topics = {t["topic"]: t for t in md["topics"]}
        self.assertEqual(set(topics), {"three", "one"})
        self.assertEqual(len(topics["three"]["partitions"]), 3)
        for p in topics["three"]["partitions"]:
            self.assertEqual(p["leader"], 1)
            self.assertEqual([x["id"] for x in p["replicas"]], [1])
            self.assertEqual([x["id"] for x in p["isrs"]], [1])
        # One topic by name; an unknown one is not created by kcat -L.
        r = kcat(n, "-L", "-J", "-t", "one")
        md = json.loads(r.stdout)
        self.assertEqual([t["topic"] for t in md["topics"]], ["one"])

    def test_kcat_produce_consume(self):
        n = self.node()
        n.ctl("topic", "create", "kc", "--partitions", "2")
        lines = ["key%d\tvalue %d \u00e9\u00e8 \x01\x7f" % (i, i)
                 for i in range(200)]
        data = "".join(l + "\n" for l in lines).encode()
        t0 = time.time()
        r = kcat(n, "-P", "-t", "kc", "-p", "1", "-K", "\t", "-H", "h1=v1",
                 "-H", "h2=", stdin=data)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = kcat(n, "-C", "-t", "kc", "-p", "1", "-o", "beginning", "-e",
                 "-J")
        self.assertEqual(r.returncode, 0, r.stderr)
        got = [json.loads(l) for l in r.stdout.decode().splitlines() if l]
        self.assertEqual(len(got), 200)
        for i, m in enumerate(got):
            k, v = lines[i].split("\t", 1)
            self.assertEqual(m["offset"], i)
            self.assertEqual(m["key"], k)
            self.assertEqual(m["payload"], v)
            self.assertEqual(m["headers"], ["h1", "v1", "h2", ""])
        # Partition 0 stayed empty; segstore has the same records.
        r = kcat(n, "-C", "-t", "kc", "-p", "0", "-o", "beginning", "-e")
        self.assertEqual(r.stdout, b"")
        recs = n.ctl_consume("kc", 1)
        self.assertEqual([x["key"] for x in recs],
                         [l.split("\t")[0] for l in lines])
        self.assertEqual(n.verify().returncode, 0, n.verify().stdout)
        # A rough produce rate with kcat (not asserted).
        many = b"".join(b"%06d x\n" % i for i in range(50000))
        t0 = time.time()
        r = kcat(n, "-P", "-t", "kc", "-p", "0", stdin=many)
        dt = time.time() - t0
        self.assertEqual(r.returncode, 0, r.stderr)
        print("\nkcat produce: 50000 records in %.2fs (%.0f records/s, "
              "process start included)" % (dt, 50000 / dt))
        r = kcat(n, "-C", "-t", "kc", "-p", "0", "-o", "beginning", "-e")
        self.assertEqual(r.stdout, many)

    def test_kcat_sigterm_exits_zero(self):
        n = self.node()
        r = kcat(n, "-P", "-t", "st", stdin=b"a\nb\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(n.stop_kafka(signal.SIGTERM), 0)
        self.assertIn("KF-STOP", n.log())


def main():
    global BIN
    if len(sys.argv) < 2:
        print("usage: kafka_test.py BIN_DIR [unittest args]")
        return 2
    BIN = os.path.abspath(sys.argv[1])
    prog = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], exit=False,
                         verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
