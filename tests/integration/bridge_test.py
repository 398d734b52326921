#!/usr/bin/python3
"""Bridging MQTT and Kafka through one log (docs/bridging.md): sluice-mqtt
with a mapping rules file (mqtt.log.rules.file) and sluice-kafka on one
segstore; paho-mqtt and mosquitto_pub on the MQTT side, confluent-kafka
(librdkafka) on the Kafka side.

* the rules create their log topics with the partitions and topic configs
  they name;
* MQTT -> Kafka: key, value, mqtt.* headers, and per MQTT topic the Kafka
  consumer sees the publish order;
* Kafka -> MQTT: per Kafka partition an MQTT subscriber sees the log order;
  QoS from the mqtt.qos header or the rule's default; the MQTT topic from a
  configured header;
* records with no usable MQTT topic (no key, empty key, wildcards, NUL,
  invalid UTF-8, over-long) are skipped and counted by reason, logged at
  debug only, next to good records that are all delivered.

Run: bridge_test.py BIN_DIR [unittest args], under /usr/bin/python3.
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mqtt_util  # noqa: E402
from mqtt_util import Node, free_port  # noqa: E402

import paho.mqtt.client as mqtt  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource  # noqa: E402

RULES = """\
# MQTT filter        log topic      options of the log topic
sensors/+/temp       sensor-temps   partitions=3 retention.ms=3600000 qos=1
sensors/+/humidity   sensor-temps
cmd/#                commands       partitions=2 qos=1 topic.header=x-mqtt-topic
-                    mqtt           partitions=4
"""


def metrics(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=5) as r:
        text = r.read().decode()
    out = {}
    for ln in text.splitlines():
        m = re.match(r'^(\w+)(\{[^}]*\})? (\S+)$', ln)
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


class Sub:
    """A paho MQTT 5 subscriber collecting (topic, payload, qos, props)."""

    def __init__(self, port, cid, filt, qos):
        self.msgs = []
        self.cv = threading.Condition()
        self.c = mqtt.Client(client_id=cid, protocol=mqtt.MQTTv5)
        self.c.on_message = self.on_message
        subscribed = threading.Event()
        self.c.on_subscribe = lambda *a: subscribed.set()
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        self.c.subscribe(filt, qos)
        if not subscribed.wait(10):
            raise AssertionError("no SUBACK")

    def on_message(self, c, u, m):
        props = getattr(m.properties, "UserProperty", None) or []
        with self.cv:
            self.msgs.append((m.topic, m.payload, m.qos, list(props)))
            self.cv.notify_all()

    def wait(self, n, timeout=20):
        deadline = time.time() + timeout
        with self.cv:
            while len(self.msgs) < n and time.time() < deadline:
                self.cv.wait(0.2)
            return list(self.msgs)

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


class BridgeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node()
        cls.node.start_segstore()
        rules = os.path.join(cls.node.root, "rules.conf")
        with open(rules, "w") as f:
            f.write(RULES)
        cls.mport = free_port()
        cls.port = cls.node.start_mqtt(
            "--set", "mqtt.log.rules.file=" + rules, "--set",
            "metrics.listen=127.0.0.1:%d" % cls.mport)
        cls.kport = free_port()
        cls.klog = open(os.path.join(cls.node.root, "kafka.log"), "ab")
        cls.kf = subprocess.Popen(
            [os.path.join(mqtt_util.BIN, "sluice-kafka"), "--segstore",
             cls.node.url, "--listen", "127.0.0.1:%d" % cls.kport,
             "--advertise", "127.0.0.1:%d" % cls.kport],
            stdout=cls.klog, stderr=cls.klog)
        cls.bootstrap = "127.0.0.1:%d" % cls.kport
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                AdminClient({"bootstrap.servers": cls.bootstrap}).list_topics(
                    timeout=1)
                break
            except Exception:
                time.sleep(0.1)

    @classmethod
    def tearDownClass(cls):
        cls.kf.send_signal(signal.SIGTERM)
        try:
            cls.kf.wait(timeout=10)
        except subprocess.TimeoutExpired:
            cls.kf.kill()
        cls.klog.close()
        cls.node.cleanup()

    def consume(self, topic, n, timeout=20):
        """Every record of `topic` from the beginning, until n are read."""
        c = Consumer({"bootstrap.servers": self.bootstrap,
                      "group.id": "bridge-test-%s-%f" % (topic, time.time()),
                      "enable.auto.commit": False,
                      "auto.offset.reset": "earliest"})
        md = c.list_topics(topic, timeout=10).topics[topic]
        c.assign([TopicPartition(topic, p, 0) for p in md.partitions])
        out = []
        deadline = time.time() + timeout
        while len(out) < n and time.time() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            out.append(m)
        c.close()
        return out

    def produce(self, topic, records):
        p = Producer({"bootstrap.servers": self.bootstrap, "acks": "all",
                      "linger.ms": 5})
        for r in records:
            p.produce(topic, **r)
        self.assertEqual(p.flush(20), 0)

    def test_rules_create_topics(self):
        a = AdminClient({"bootstrap.servers": self.bootstrap})
        topics = a.list_topics(timeout=10).topics
        self.assertEqual(len(topics["sensor-temps"].partitions), 3)
        self.assertEqual(len(topics["commands"].partitions), 2)
        self.assertEqual(len(topics["mqtt"].partitions), 4)
        res = ConfigResource(ConfigResource.Type.TOPIC, "sensor-temps")
        conf = a.describe_configs([res])[res].result(timeout=10)
        self.assertEqual(conf["retention.ms"].value, "3600000")

    def test_mqtt_to_kafka_order(self):
        # Two publishers interleave numbered QoS 1 messages on three MQTT
        # topics that map to one log topic; per MQTT topic the Kafka
        # consumer sees them in publish order.
        n = 150
        topics = ["sensors/a/temp", "sensors/b/temp", "sensors/a/humidity"]
        procs = []
        for t in topics:
            lines = "".join("%s %d\n" % (t, i) for i in range(n))
            procs.append(subprocess.Popen(
                ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port),
                 "-q", "1", "-t", t, "-l", "-V", "mqttv5", "-D", "publish",
                 "user-property", "unit", "C"],
                stdin=subprocess.PIPE))
            procs[-1].stdin.write(lines.encode())
            procs[-1].stdin.close()
        for p in procs:
            self.assertEqual(p.wait(timeout=30), 0)
        recs = self.consume("sensor-temps", 3 * n)
        self.assertEqual(len(recs), 3 * n)
        per = {}
        for m in recs:
            t = m.key().decode()
            per.setdefault(t, []).append(int(m.value().split()[1]))
            h = dict(m.headers())
            self.assertEqual(h["mqtt.qos"], b"1")
            self.assertEqual(h["mqtt.retain"], b"0")
            self.assertEqual(h["unit"], b"C")
        for t in topics:
            self.assertEqual(per[t], list(range(n)), t)

    def test_kafka_to_mqtt_order_and_qos(self):
        # Numbered records produced into one partition of `commands` under
        # several keys reach an MQTT subscriber in log order.  No mqtt.qos
        # header: the rule's qos=1; with the header: that QoS.
        s = Sub(self.port, "order-sub", "cmd/order/#", 2)
        try:
            recs = []
            for i in range(200):
                r = {"key": "cmd/order/%d" % (i % 3), "value": b"%d" % i,
                     "partition": 1}
                if i % 10 == 0:
                    r["headers"] = [("mqtt.qos", b"0")]
                recs.append(r)
            self.produce("commands", recs)
            got = s.wait(200)
            self.assertEqual([int(p) for _, p, _, _ in got], list(range(200)))
            for t, p, q, _ in got:
                i = int(p)
                self.assertEqual(t, "cmd/order/%d" % (i % 3))
                self.assertEqual(q, 0 if i % 10 == 0 else 1, i)
        finally:
            s.close()

    def test_topic_from_header(self):
        s = Sub(self.port, "hdr-sub", "cmd/hdr/#", 1)
        try:
            self.produce("commands", [
                {"key": None, "value": b"v1",
                 "headers": [("x-mqtt-topic", b"cmd/hdr/one"), ("k", b"v")]},
                {"key": "cmd/hdr/two", "value": b"v2"},
                {"key": "ignored", "value": b"v3",
                 "headers": [("x-mqtt-topic", b"cmd/hdr/three")]},
            ])
            got = sorted(s.wait(3))
            self.assertEqual([(t, p) for t, p, _, _ in got], [
                ("cmd/hdr/one", b"v1"), ("cmd/hdr/three", b"v3"),
                ("cmd/hdr/two", b"v2")])
            # The topic header is not passed on as a user property.
            self.assertEqual(got[0][3], [("k", "v")])
        finally:
            s.close()

    def test_records_without_topic_skipped(self):
        before = metrics(self.mport)
        s = Sub(self.port, "skip-sub", "skip/#", 1)
        try:
            good = lambda i: {"key": "skip/ok", "value": b"%d" % i,
                              "partition": 0}  # noqa: E731
            bad = [
                ("no_key", {"key": None}),
                ("empty_key", {"key": b""}),
                ("invalid_topic", {"key": b"skip/+"}),
                ("invalid_topic", {"key": b"skip/#"}),
                ("invalid_topic", {"key": b"skip/a\x00b"}),
                ("invalid_topic", {"key": b"skip/\xff\xfe"}),
                ("too_long", {"key": b"skip/" + b"x" * 70000}),
            ]
            recs, i = [], 0
            for _, r in bad:
                recs.append(good(i))
                i += 1
                recs.append(dict(r, value=b"bad", partition=0))
            recs.append(good(i))
            self.produce("mqtt", recs)
            got = s.wait(i + 1)
            time.sleep(0.5)  # nothing else arrives
            got = s.wait(i + 1)
            self.assertEqual([(t, p) for t, p, _, _ in got],
                             [("skip/ok", b"%d" % k) for k in range(i + 1)])
            after = metrics(self.mport)
            name = "sluice_mqtt_records_skipped_total{reason=\"%s\"}"
            for reason in ("no_key", "empty_key", "invalid_topic",
                           "too_long"):
                want = sum(1 for r, _ in bad if r == reason)
                self.assertEqual(after[name % reason] -
                                 before.get(name % reason, 0), want, reason)
            # The frontend lives on, and said nothing per record at info.
            self.assertIsNone(self.node.mq[0][0].poll())
            self.assertNotIn("MQ-SKIP", self.node.mqtt_log(self.port))
        finally:
            s.close()


class BadRulesTest(unittest.TestCase):
    def run_mqtt(self, root, *sets):
        args = [os.path.join(mqtt_util.BIN, "sluice-mqtt"), "--segstore",
                "ipc://%s/none.sock" % root, "--listen",
                "127.0.0.1:%d" % free_port()]
        for s in sets:
            args += ["--set", s]
        return subprocess.run(args, capture_output=True, timeout=10)

    def test_invalid_rules_fail_at_start(self):
        root = os.environ.get("SL_TEST_TMP") or "/tmp"
        os.makedirs(root, exist_ok=True)
        path = os.path.join(root, "bad-rules-%d.conf" % os.getpid())
        cases = [
            ("sensors/+/temp sensor-temps partitions=0\n",
             "line 1: `partitions=0`: partitions must be 1..10000"),
            ("a/b t qos=1\nc/d t qos=2\n",
             "line 2: `qos=2`: qos of log topic t was given another value"),
            ("a/+b t\n", "line 1: `a/+b`: not a valid MQTT topic filter"),
            ("a/b bad/name\n", "line 1: `bad/name`: a log topic name"),
            ("a/b t colour=red\n", "line 1: `colour=red`: unknown option"),
            ("a/b\n", "line 1: `a/b`: expected FILTER LOG-TOPIC"),
        ]
        try:
            for text, want in cases:
                with open(path, "w") as f:
                    f.write(text)
                r = self.run_mqtt(root, "mqtt.log.rules.file=" + path)
                self.assertNotEqual(r.returncode, 0, text)
                err = r.stderr.decode()
                self.assertIn("mqtt.log.rules.file=" + path, err)
                self.assertIn(want, err)
        finally:
            os.unlink(path)
        r = self.run_mqtt(root, "mqtt.log.rules=a/#=x", "mqtt.log.rules.file=" +
                          path)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not both", r.stderr.decode())
        r = self.run_mqtt(root, "mqtt.log.rules=a/#=x;b")
        self.assertIn("mqtt.log.rules=a/#=x;b: rule 2: `b`: expected "
                      "FILTER=TOPIC", r.stderr.decode())

    def test_topic_config_refused_by_segstore(self):
        node = Node()
        try:
            node.start_segstore()
            path = os.path.join(node.root, "rules.conf")
            with open(path, "w") as f:
                f.write("a/# t-bad retention.ms=soon\n")
            log = os.path.join(node.root, "mqtt.log")
            with open(log, "wb") as lf:
                r = subprocess.run(
                    [os.path.join(mqtt_util.BIN, "sluice-mqtt"), "--segstore",
                     node.url, "--listen", "127.0.0.1:%d" % free_port(),
                     "--set", "mqtt.log.rules.file=" + path],
                    stdout=lf, stderr=lf, timeout=20)
            self.assertNotEqual(r.returncode, 0)
            text = open(log).read()
            self.assertIn("MQ-CONFIG", text)
            self.assertIn("t-bad", text)
            self.assertIn("retention.ms=soon", text)
        finally:
            node.cleanup()


if __name__ == "__main__":
    mqtt_util.BIN = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)
