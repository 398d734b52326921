#!/usr/bin/python3
"""tools/cluster.sh end to end: up on free ports, status, MQTT and Kafka
traffic through its haproxy listeners (MQTT in, Kafka out; Kafka in, MQTT
out), a second `up` refused, down by pid, nothing left running.

Run: cluster_script_test.py BIN_DIR, under /usr/bin/python3.
"""
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

SRC = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SCRIPT = os.path.join(SRC, "tools", "cluster.sh")
BIN = None


def port_free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_base():
    for _ in range(200):
        b = random.randrange(20000, 60000)
        if all(port_free(b + i) for i in range(12)):
            return b
    raise AssertionError("no 12 free consecutive ports")


class ClusterScriptTest(unittest.TestCase):
    def setUp(self):
        base = os.environ.get("SL_TEST_TMP") or None
        if base:
            os.makedirs(base, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="cluster-sh-", dir=base)
        self.base = free_base()

    def tearDown(self):
        self.sh("down", check=False)
        if self._outcome.success and not os.environ.get("SL_TEST_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print("kept " + self.dir)

    def sh(self, cmd, *extra, check=True):
        r = subprocess.run(["bash", SCRIPT, cmd, "--dir", self.dir] +
                           list(extra), capture_output=True, text=True,
                           timeout=90)
        if check and r.returncode != 0:
            raise AssertionError("cluster.sh %s: %d\n%s%s" % (
                cmd, r.returncode, r.stdout, r.stderr))
        return r

    def status(self):
        r = self.sh("status", check=False)
        rows = {}
        for ln in r.stdout.splitlines()[1:]:
            f = ln.split()
            rows[f[0]] = (f[1], f[2], f[3], f[4])
        return r.returncode, rows

    def test_up_traffic_status_down(self):
        t0 = time.time()
        self.sh("up", "--base-port", str(self.base), "--bin", BIN)
        t_up = time.time() - t0
        mq, kf = self.base, self.base + 1
        rc, rows = self.status()
        self.assertEqual(rc, 0)
        names = ["segstore", "mqtt1", "mqtt2", "kafka1", "kafka2",
                 "haproxy-mqtt", "haproxy-kafka"]
        self.assertEqual(sorted(rows), sorted(names))
        for n in names:
            self.assertEqual(rows[n][1], "running", (n, rows[n]))
        self.assertEqual(rows["haproxy-mqtt"][2], str(mq))
        self.assertEqual(rows["haproxy-kafka"][2], str(kf))
        pids = {n: int(rows[n][0]) for n in names}
        # Every sluice process serves /metrics where status says.
        import urllib.request
        for n in ("segstore", "mqtt1", "mqtt2", "kafka1", "kafka2"):
            with urllib.request.urlopen(rows[n][3], timeout=5) as resp:
                text = resp.read().decode()
            self.assertIn("# TYPE", text, n)

        # A second up on the same directory is refused.
        r = self.sh("up", "--base-port", str(self.base), "--bin", BIN,
                    check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("already running", r.stderr)

        # MQTT in (mosquitto_pub through haproxy), MQTT out (mosquitto_sub
        # through haproxy: the other instance) and Kafka out (kcat).
        sub = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(mq), "-t",
             "demo/#", "-q", "1", "-C", "4", "-W", "20", "-v"],
            stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)
        for i in range(3):
            r = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p",
                                str(mq), "-t", "demo/%d" % i, "-m",
                                "hello %d" % i, "-q", "1"], timeout=10)
            self.assertEqual(r.returncode, 0)
        deadline = time.time() + 20
        found = set()
        while time.time() < deadline and len(found) < 3:
            r = subprocess.run(["kcat", "-b", "127.0.0.1:%d" % kf, "-C",
                                "-t", "mqtt", "-e", "-q", "-f", "%k=%s\\n"],
                               capture_output=True, text=True, timeout=20)
            found = {ln for ln in r.stdout.splitlines() if ln}
        self.assertEqual(found, {"demo/%d=hello %d" % (i, i)
                                 for i in range(3)})
        # Kafka in, MQTT out: a record with key = MQTT topic.
        r = subprocess.run(["kcat", "-b", "127.0.0.1:%d" % kf, "-P", "-t",
                            "mqtt", "-K:"], input="demo/k:from kafka\n",
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        out, _ = sub.communicate(timeout=25)
        self.assertEqual(sorted(out.splitlines()),
                         ["demo/0 hello 0", "demo/1 hello 1",
                          "demo/2 hello 2", "demo/k from kafka"])

        # Kafka in and out through haproxy, on a topic of its own.
        r = subprocess.run(["kcat", "-b", "127.0.0.1:%d" % kf, "-P", "-t",
                            "orders", "-K:"], input="k1:a\nk2:b\n",
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run(["kcat", "-b", "127.0.0.1:%d" % kf, "-C", "-t",
                            "orders", "-e", "-q", "-f", "%k=%s\\n"],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(r.stdout.split(), ["k1=a", "k2=b"])

        # down: every process gone, frontends stopped cleanly.
        t0 = time.time()
        r = self.sh("down")
        t_down = time.time() - t0
        for n, pid in pids.items():
            self.assertFalse(os.path.exists("/proc/%d" % pid) and
                             open("/proc/%d/stat" % pid).read().split()[2]
                             != "Z", "%s (pid %d) still runs" % (n, pid))
        self.assertNotIn("SIGKILL", r.stderr)
        rc, rows = self.status()
        self.assertEqual({v[1] for v in rows.values()}, {"stopped"})
        for n in ("mqtt1", "mqtt2"):
            with open(os.path.join(self.dir, "log", n + ".log")) as f:
                self.assertIn("MQ-STOP stopped", f.read())
        for n in ("kafka1", "kafka2"):
            with open(os.path.join(self.dir, "log", n + ".log")) as f:
                self.assertIn("KF-STOP stopped", f.read())
        print("\ncluster.sh: up %.1fs, down %.1fs" % (t_up, t_down))


if __name__ == "__main__":
    BIN = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
