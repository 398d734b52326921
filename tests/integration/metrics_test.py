#!/usr/bin/env python3
"""
/metrics of sluice-segstore, sluice-kafka and sluice-mqtt: every line parses as Prometheus text exposition 0.0.4, each
family has one HELP and one TYPE before its samples, histograms are
cumulative and end with +Inf, and counters move with real traffic (kcat
produce and consume).

Run: metrics_test.py BIN_DIR, under /usr/bin/python3.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

BIN = None
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE = re.compile(r"^(" + NAME + r")(\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def parse(text):
    """{family: {"type": t, "samples": [(name, {labels}, value)]}}; raises
    AssertionError on anything a Prometheus parser would refuse."""
    fams, cur = {}, None
    for ln in text.split("\n"):
        if ln == "":
            continue
        if ln.startswith("# HELP "):
            name = ln.split(" ")[2]
            assert re.fullmatch(NAME, name), ln
            assert name not in fams, "family %s twice" % name
            fams[name] = {"type": None, "samples": []}
            cur = name
            continue
        if ln.startswith("# TYPE "):
            _, _, name, typ = ln.split(" ")
            assert name == cur, "TYPE for %s after HELP of %s" % (name, cur)
            assert typ in ("counter", "gauge", "histogram"), ln
            fams[name]["type"] = typ
            continue
        assert not ln.startswith("#"), ln
        m = SAMPLE.match(ln)
        assert m, "not a sample line: %r" % ln
        name, labels, value = m.group(1), m.group(3) or "", m.group(4)
        base = cur
        assert base is not None, "sample before any HELP: %r" % ln
        assert name == base or (fams[base]["type"] == "histogram" and
                                name in (base + "_bucket", base + "_sum",
                                         base + "_count")), \
            "sample %s outside its family %s" % (name, base)
        lab, pos = {}, 0
        while pos < len(labels):
            lm = LABEL.match(labels, pos)
            assert lm, "bad labels %r" % labels
            lab[lm.group(1)] = lm.group(2)
            pos = lm.end()
        float(value)  # +Inf, NaN and numbers all parse
        fams[base]["samples"].append((name, lab, float(value)))
    for name, f in fams.items():
        if f["type"] == "histogram":
            series = {}
            for n, lab, v in f["samples"]:
                if n.endswith("_bucket"):
                    key = tuple(sorted((k, x) for k, x in lab.items()
                                       if k != "le"))
                    series.setdefault(key, []).append((lab["le"], v))
            for key, bs in series.items():
                assert bs[-1][0] == "+Inf", name
                vals = [v for _, v in bs]
                assert vals == sorted(vals), "%s not cumulative" % name
    return fams


def value(fams, name, **labels):
    for f in fams.values():
        for n, lab, v in f["samples"]:
            if n == name and all(lab.get(k) == x for k, x in labels.items()):
                return v
    raise KeyError((name, labels))


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=5) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        return parse(r.read().decode())


class MetricsTest(unittest.TestCase):
    def setUp(self):
        base = os.environ.get("SL_TEST_TMP", tempfile.gettempdir())
        os.makedirs(base, exist_ok=True)
        self.root = tempfile.mkdtemp(prefix="metrics.", dir=base)
        self.procs = []
        self.sock = "ipc://%s/seg.sock" % self.root
        self.ss_port, self.kf_port, self.km_port = (free_port(), free_port(),
                                                    free_port())
        self.ss_log = open(os.path.join(self.root, "ss.log"), "w")
        self.procs.append(subprocess.Popen(
            [os.path.join(BIN, "sluice-segstore"), "--data",
             os.path.join(self.root, "data"), "--set", "ipc.url=" + self.sock,
             "--set", "metrics.listen=127.0.0.1:%d" % self.ss_port],
            stdout=self.ss_log, stderr=subprocess.STDOUT))
        self.kf_log = open(os.path.join(self.root, "kf.log"), "w")
        self.procs.append(subprocess.Popen(
            [os.path.join(BIN, "sluice-kafka"), "--segstore", self.sock,
             "--listen", "127.0.0.1:%d" % self.kf_port, "--advertise",
             "127.0.0.1:%d" % self.kf_port, "--set",
             "metrics.listen=127.0.0.1:%d" % self.km_port],
            stdout=self.kf_log, stderr=subprocess.STDOUT))
        self.mq_port, self.mm_port = free_port(), free_port()
        self.mq_log = open(os.path.join(self.root, "mq.log"), "w")
        self.procs.append(subprocess.Popen(
            [os.path.join(BIN, "sluice-mqtt"), "--segstore", self.sock,
             "--listen", "127.0.0.1:%d" % self.mq_port, "--set",
             "metrics.listen=127.0.0.1:%d" % self.mm_port],
            stdout=self.mq_log, stderr=subprocess.STDOUT))
        for port in (self.ss_port, self.kf_port, self.km_port, self.mq_port,
                     self.mm_port):
            self.wait_port(port)

    def wait_port(self, port):
        end = time.time() + 10
        while time.time() < end:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.fail("port %d never opened" % port)

    def tearDown(self):
        for p in reversed(self.procs):
            p.terminate()
            try:
                self.assertEqual(p.wait(15), 0, "clean exit")
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.ss_log.close()
        self.kf_log.close()
        self.mq_log.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def test_metrics_parse_and_move_with_traffic(self):
        ss0, kf0 = scrape(self.ss_port), scrape(self.km_port)
        self.assertIn("sluice_segstore_fsync_seconds", ss0)
        self.assertIn("sluice_kafka_request_seconds", kf0)
        appends0 = value(ss0, "sluice_segstore_appends_total")
        produce0 = value(kf0, "sluice_kafka_requests_total", api="Produce")
        bootstrap = "127.0.0.1:%d" % self.kf_port
        lines = "".join("m%d\n" % i for i in range(1000))
        subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", "mt", "-p", "0"],
                       input=lines.encode(), check=True, timeout=30)
        out = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", "mt", "-p",
                              "0", "-o", "beginning", "-c", "1000", "-e"],
                             capture_output=True, check=True, timeout=30)
        self.assertEqual(out.stdout.count(b"\n"), 1000)
        ss1, kf1 = scrape(self.ss_port), scrape(self.km_port)
        self.assertGreater(value(ss1, "sluice_segstore_appends_total"),
                           appends0)
        self.assertGreater(value(ss1, "sluice_segstore_requests_total",
                                 op="APPEND"), 0)
        self.assertEqual(value(ss1, "sluice_log_end_offset", topic="mt",
                               partition="0"), 1000)
        self.assertGreater(value(ss1, "sluice_log_bytes", topic="mt",
                                 partition="0"), 1000 * 2)
        self.assertGreater(value(ss1, "sluice_segstore_fsync_seconds_count"),
                           0)
        self.assertGreater(value(kf1, "sluice_kafka_requests_total",
                                 api="Produce"), produce0)
        self.assertGreater(value(kf1, "sluice_kafka_requests_total",
                                 api="Fetch"), 0)
        self.assertGreater(value(kf1, "sluice_kafka_bytes_in_total"), 6000)
        self.assertGreater(value(kf1, "sluice_kafka_bytes_out_total"), 6000)
        self.assertGreater(value(kf1, "sluice_kafka_request_seconds_count",
                                 api="Produce"), 0)
        # Consumer-group lag: a group that read half, then all.
        subprocess.run(["kcat", "-b", bootstrap, "-G", "lagg", "-X",
                        "auto.offset.reset=earliest", "-X",
                        "enable.auto.commit=true", "-e", "-q", "mt"],
                       capture_output=True, check=True, timeout=60)
        ss2 = scrape(self.ss_port)
        self.assertEqual(value(ss2, "sluice_group_lag", group="lagg",
                               topic="mt", partition="0"), 0)
        subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", "mt", "-p", "0"],
                       input=b"more\n" * 10, check=True, timeout=30)
        ss3 = scrape(self.ss_port)
        self.assertEqual(value(ss3, "sluice_group_lag", group="lagg",
                               topic="mt", partition="0"), 10)
        # Bad input is counted.
        s = socket.create_connection(("127.0.0.1", self.kf_port))
        s.sendall(b"\x7f\xff\xff\xff")
        s.settimeout(5)
        self.assertEqual(s.recv(10), b"")
        s.close()
        kf2 = scrape(self.km_port)
        self.assertEqual(value(kf2, "sluice_kafka_errors_total",
                               kind="bad_frame"), 1)
        # Anything but /metrics is 404.
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen("http://127.0.0.1:%d/nope" % self.ss_port,
                                   timeout=5)
        self.assertEqual(cm.exception.code, 404)

    def test_mqtt_metrics(self):
        m0 = scrape(self.mm_port)
        self.assertEqual(value(m0, "sluice_mqtt_messages_total", dir="in"), 0)
        lat = "sluice_mqtt_publish_to_deliver_seconds"
        self.assertEqual(m0[lat]["type"], "histogram")
        self.assertEqual(value(m0, lat + "_count"), 0)
        sub = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.mq_port),
             "-t", "m/#", "-q", "1", "-C", "20", "-W", "20"],
            stdout=subprocess.PIPE)
        time.sleep(0.5)
        for i in range(20):
            subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p",
                            str(self.mq_port), "-t", "m/%d" % i, "-q", "1",
                            "-m", "x%d" % i], check=True, timeout=20)
        out, _ = sub.communicate(timeout=30)
        self.assertEqual(out.count(b"\n"), 20)
        m1 = scrape(self.mm_port)
        self.assertEqual(value(m1, "sluice_mqtt_messages_total", dir="in"), 20)
        self.assertEqual(value(m1, "sluice_mqtt_messages_total", dir="out"),
                         20)
        self.assertGreater(value(m1, "sluice_mqtt_appends_total"), 0)
        # Every delivery is one publish-to-deliver observation; on one host
        # none takes anywhere near the +Inf bucket.
        self.assertEqual(value(m1, lat + "_count"), 20)
        self.assertGreaterEqual(value(m1, lat + "_sum"), 0)
        self.assertEqual(value(m1, lat + "_bucket", le="10"), 20)
        self.assertEqual(value(m1, "sluice_mqtt_records_skipped_total",
                               reason="no_key"), 0)
        self.assertGreaterEqual(value(m1, "sluice_mqtt_connects_total"), 21)
        # A malformed packet is counted.
        s = socket.create_connection(("127.0.0.1", self.mq_port))
        s.sendall(b"\xff\xff\xff\xff\xff")
        s.settimeout(5)
        try:
            while s.recv(100):
                pass
        except OSError:
            pass
        s.close()
        time.sleep(0.2)
        m2 = scrape(self.mm_port)
        self.assertGreaterEqual(value(m2, "sluice_mqtt_errors_total",
                                      kind="malformed") +
                                value(m2, "sluice_mqtt_errors_total",
                                      kind="protocol"), 1)

    def test_parser_refuses_bad_text(self):
        with self.assertRaises(AssertionError):
            parse("x 1\n")  # a sample before any HELP/TYPE
        with self.assertRaises(AssertionError):
            parse("# HELP a b\n# TYPE a counter\na{x=1} 1\n")


if __name__ == "__main__":
    BIN = sys.argv.pop(1)
    unittest.main(verbosity=2)
