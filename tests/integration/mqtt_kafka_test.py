#!/usr/bin/python3
"""MQTT in, Kafka out and back: sluice-mqtt and sluice-kafka on one
segstore.  A message published over MQTT is read with kcat from the log
topic `mqtt` (key = MQTT topic, value = payload, mqtt.* headers); a record
produced with kcat into `mqtt` (key = MQTT topic) reaches MQTT
subscribers.

Run: mqtt_kafka_test.py BIN_DIR [unittest args], under /usr/bin/python3.
"""
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mqtt_util  # noqa: E402
from mqtt_util import Raw, Node, free_port, P_USER, P_CT  # noqa: E402


class MqttKafkaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node()
        cls.node.start_segstore()
        cls.port = cls.node.start_mqtt(
            "--set", "mqtt.log.rules=sensors/#=sensors;+/alarm=alarms")
        cls.kport = free_port()
        cls.klog = open(os.path.join(cls.node.root, "kafka.log"), "ab")
        cls.kf = subprocess.Popen(
            [os.path.join(mqtt_util.BIN, "sluice-kafka"), "--segstore",
             cls.node.url, "--listen", "127.0.0.1:%d" % cls.kport,
             "--advertise", "127.0.0.1:%d" % cls.kport],
            stdout=cls.klog, stderr=cls.klog)
        time.sleep(0.5)

    @classmethod
    def tearDownClass(cls):
        cls.kf.send_signal(signal.SIGTERM)
        try:
            cls.kf.wait(timeout=10)
        except subprocess.TimeoutExpired:
            cls.kf.kill()
        cls.klog.close()
        cls.node.cleanup()

    def kcat(self, *args, stdin=None):
        return subprocess.run(["kcat", "-b", "127.0.0.1:%d" % self.kport] +
                              list(args), input=stdin, capture_output=True,
                              timeout=30)

    def test_mqtt_in_kafka_out(self):
        p = Raw(self.port, v=5)
        p.connect("to-kafka")
        p.publish("plant/line1/temp", "21.5", qos=1, pid=1, pprops=[
            (P_CT, "text/plain"), (P_USER, ("unit", "C"))])
        p.expect(4)
        p.close()
        found = []
        for part in range(8):
            r = self.kcat("-C", "-t", "mqtt", "-p", str(part), "-o",
                          "beginning", "-e", "-q", "-f", "%k|%s|%h\n")
            found += [l for l in r.stdout.decode().splitlines()
                      if l.startswith("plant/line1/temp|")]
        self.assertEqual(len(found), 1, found)
        key, value, headers = found[0].split("|", 2)
        self.assertEqual(value, "21.5")
        for h in ("mqtt.qos=1", "mqtt.retain=0",
                  "mqtt.content_type=text/plain", "mqtt.cid=to-kafka",
                  "unit=C"):
            self.assertIn(h, headers)

    def test_mapping_rules(self):
        # sensors/# goes to log topic "sensors", +/alarm to "alarms", the
        # rest to "mqtt"; subscribers see one broker, and a persistent
        # session resumes across all of them.
        s = Raw(self.port, v=4)
        s.connect("rules-sub", clean=False)
        s.subscribe("#", 1)
        s.close()
        p = Raw(self.port, v=4)
        p.connect("rules-pub")
        for i, t in enumerate(("sensors/t1", "boiler/alarm", "other/x")):
            p.publish(t, "v%d" % i, qos=1, pid=i + 1)
            p.expect(4)
        p.close()
        s = Raw(self.port, v=4)
        s.connect("rules-sub", clean=False)
        got = set()
        while True:
            x = s.recv_packet(0.7)
            if x is None:
                break
            m = s.parse_publish(x)
            if not m["retain"]:
                got.add((m["topic"], m["payload"]))
            s.ack(4, m["pid"])
        self.assertTrue({("sensors/t1", b"v0"), ("boiler/alarm", b"v1"),
                         ("other/x", b"v2")} <= got, got)
        s.close()
        for topic, key in (("sensors", "sensors/t1"),
                           ("alarms", "boiler/alarm")):
            keys = []
            for part in range(8):
                r = self.kcat("-C", "-t", topic, "-p", str(part), "-o",
                              "beginning", "-e", "-q", "-f", "%k\n")
                keys += r.stdout.decode().split()
            self.assertEqual(keys, [key])

    def test_kafka_in_mqtt_out(self):
        s = Raw(self.port, v=4)
        s.connect("from-kafka")
        s.subscribe("cmd/#", 0)
        # the partition an MQTT publish of this topic would use is any
        # partition for a reader: the tail reads them all
        r = self.kcat("-P", "-t", "mqtt", "-p", "3", "-K", ":",
                      stdin=b"cmd/valve:open\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        m = s.parse_publish(s.expect(3, timeout=5))
        self.assertEqual((m["topic"], m["payload"], m["qos"]),
                         ("cmd/valve", b"open", 0))
        s.close()


if __name__ == "__main__":
    mqtt_util.BIN = sys.argv.pop(1)
    unittest.main(verbosity=2)
