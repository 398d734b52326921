#!/usr/bin/python3
"""Bad input to sluice-mqtt over a raw socket: every malformed packet gets
the reason code the spec names (MQTT 5 DISCONNECT, or CONNACK for a bad
CONNECT) and a closed connection, the process keeps serving everyone else,
and the counters say what happened.

Run: mqtt_badinput_test.py BIN_DIR [unittest args], under /usr/bin/python3.
"""
import os
import random
import signal
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mqtt_util  # noqa: E402
from mqtt_util import Raw, Node, mstr, packet  # noqa: E402


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node()
        cls.node.start_segstore()
        cls.port = cls.node.start_mqtt("--set", "mqtt.max.packet.size=4096")
        # a bystander that must keep working throughout
        cls.sub = Raw(cls.port, v=5)
        cls.sub.connect("bystander")
        cls.sub.subscribe("ok/#", 0)

    @classmethod
    def tearDownClass(cls):
        cls.sub.close()
        cls.node.cleanup()

    def tearDown(self):
        # the server still serves others after each bad input
        p = Raw(self.port, v=4)
        p.connect("")
        p.publish("ok/t", "alive")
        m = self.sub.parse_publish(self.sub.expect(3))
        self.assertEqual(m["payload"], b"alive")
        p.close()

    def connected(self, v=5):
        r = Raw(self.port, v=v)
        r.connect("")
        return r

    def assert_disconnect(self, r, reason):
        self.assertTrue(r.closed(3), "connection not closed")
        if reason is None:
            self.assertFalse([p for p in r.last if p[0] == 14])
            return
        d = [p for p in r.last if p[0] == 14]
        self.assertTrue(d, "no DISCONNECT before the close: %r" % r.last)
        self.assertEqual(d[-1][2][0], reason)

    def test_bad_remaining_length(self):
        r = self.connected()
        r.send(b"\x30\xff\xff\xff\xff\x7f")
        self.assert_disconnect(r, 0x81)

    def test_non_minimal_remaining_length(self):
        r = self.connected()
        r.send(b"\xc0\x80\x00")  # PINGREQ, length 0 in two bytes
        self.assert_disconnect(r, 0x81)

    def test_packet_before_connect(self):
        r = Raw(self.port, v=5)
        r.send(packet(3, 0, mstr("ok/x") + b"\x00hi"))
        self.assert_disconnect(r, None)

    def test_second_connect(self):
        r = self.connected()
        r.send(packet(1, 0, mstr("MQTT") + b"\x05\x02\x00\x3c\x00" +
                      mstr("x")))
        self.assert_disconnect(r, 0x82)

    def test_qos3(self):
        r = self.connected()
        r.send(packet(3, 6, mstr("ok/x") + b"\x00\x01\x00hi"))
        self.assert_disconnect(r, 0x81)

    def test_wildcard_topic_in_publish(self):
        r = self.connected()
        r.publish("ok/+/x", "no")
        self.assert_disconnect(r, 0x90)
        r = self.connected(v=4)
        r.publish("ok/#", "no")
        self.assert_disconnect(r, None)

    def test_bad_utf8_topic(self):
        r = self.connected()
        r.send(packet(3, 0, b"\x00\x03ok\xff\x00"))
        self.assert_disconnect(r, 0x81)

    def test_reserved_flags(self):
        r = self.connected()
        # SUBSCRIBE must have flags 0b0010
        r.send(packet(8, 0, b"\x00\x01\x00" + mstr("ok/#") + b"\x00"))
        self.assert_disconnect(r, 0x81)

    def test_oversized(self):
        r = self.connected()
        r.publish("ok/big", b"x" * 5000)
        self.assert_disconnect(r, 0x95)

    def test_oversized_connect(self):
        r = Raw(self.port, v=5)
        r.send(b"\x10\xff\xff\x03")  # announces ~64 KiB
        self.assertTrue(r.closed(3))

    def test_unknown_protocol_level(self):
        r = Raw(self.port, v=4)
        r.send(packet(1, 0, mstr("MQTT") + b"\x07\x02\x00\x3c" + mstr("v7")))
        self.assertTrue(r.closed(3))
        self.assertEqual(r.last, [(2, 0, b"\x00\x01")])

    def test_bad_client_id_v31(self):
        r = Raw(self.port, v=4)
        r.send(packet(1, 0, mstr("MQIsdp") + b"\x03\x02\x00\x3c" +
                      mstr("x" * 30)))
        self.assertTrue(r.closed(3))
        self.assertEqual(r.last, [(2, 0, b"\x00\x02")])

    def test_server_packet_from_client(self):
        r = self.connected()
        r.send(b"\xd0\x00")  # PINGRESP
        self.assert_disconnect(r, 0x82)

    def test_unknown_topic_alias(self):
        r = self.connected()
        r.publish("", "x", pprops=[(mqtt_util.P_ALIAS, 2)])
        self.assert_disconnect(r, 0x82)

    def test_garbage(self):
        rnd = random.Random(4)
        for _ in range(30):
            r = Raw(self.port, v=5)
            blob = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 300)))
            try:
                r.send(blob)
                r.closed(0.3)
            except OSError:
                pass
            r.close()
        # and after CONNECT
        for _ in range(30):
            r = self.connected()
            blob = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 300)))
            try:
                r.send(blob)
                r.closed(0.3)
            except OSError:
                pass
            r.close()

    def test_zz_counters(self):
        # runs last (alphabetical): SIGTERM makes the process log its stats
        port = self.node.start_mqtt()
        r = Raw(port, v=5)
        r.connect("")
        r.send(b"\x30\xff\xff\xff\xff\x7f")
        self.assertTrue(r.closed(3))
        log = None
        for p, pt, path in self.node.mq:
            if pt == port:
                log = path
        self.assertEqual(self.node.kill_mqtt(port, signal.SIGTERM), 0)
        text = open(log).read()
        self.assertIn("malformed=1", text)


if __name__ == "__main__":
    mqtt_util.BIN = sys.argv.pop(1)
    unittest.main(verbosity=2)
