#!/usr/bin/python3
"""sluice-mqtt with a password file (written by `sluice-ctl mqtt passwd`)
and an ACL file: CONNACK codes for anonymous and wrong passwords in 3.1.1
and 5, PUBACK / SUBACK 0x87 for what the ACL refuses, %c patterns, and the
read check on delivery.

Run: mqtt_auth_test.py BIN_DIR [unittest args], under /usr/bin/python3.
"""
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mqtt_util  # noqa: E402
from mqtt_util import Raw, Node, mstr, packet  # noqa: E402

ACL = """\
topic read public/#
pattern readwrite devices/%c/#

user alice
topic readwrite sensors/#
topic deny sensors/secret
topic read public/#
"""


def connect_auth(port, v, cid, user=None, pw=None):
    r = Raw(port, v=v)
    flags = 0x02
    payload = mstr(cid)
    if user is not None:
        flags |= 0x80
        payload += mstr(user)
    if pw is not None:
        flags |= 0x40
        payload += mstr(pw)
    body = mstr("MQTT") + bytes([v, flags]) + b"\x00\x3c"
    if v == 5:
        body += b"\x00"
    r.send(packet(1, 0, body + payload))
    return r, r.expect(2)


class AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node()
        cls.node.start_segstore()
        pw = os.path.join(cls.node.root, "passwd")
        ctl = os.path.join(mqtt_util.BIN, "sluice-ctl")
        subprocess.run([ctl, "mqtt", "passwd", "-c", pw, "alice",
                        "--password", "s3cret"], check=True, timeout=30)
        acl = os.path.join(cls.node.root, "acl")
        cls.acl = acl
        with open(acl, "w") as f:
            f.write(ACL)
        cls.port = cls.node.start_mqtt(
            "--set", "mqtt.password.file=" + pw,
            "--set", "mqtt.acl.file=" + acl,
            "--set", "mqtt.allow.anonymous=false")

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    def test_connack_codes(self):
        r, ca = connect_auth(self.port, 5, "anon")
        self.assertEqual(ca[2][1], 0x87)
        r, ca = connect_auth(self.port, 4, "anon")
        self.assertEqual(ca[2], b"\x00\x05")
        r, ca = connect_auth(self.port, 5, "a1", "alice", "wrong")
        self.assertEqual(ca[2][1], 0x86)
        r, ca = connect_auth(self.port, 4, "a1", "alice", "wrong")
        self.assertEqual(ca[2], b"\x00\x04")
        r, ca = connect_auth(self.port, 5, "a1", "mallory", "x")
        self.assertEqual(ca[2][1], 0x86)
        r, ca = connect_auth(self.port, 5, "a1", "alice", "s3cret")
        self.assertEqual(ca[2][1], 0)
        r.close()

    def test_acl(self):
        a, ca = connect_auth(self.port, 5, "dev1", "alice", "s3cret")
        self.assertEqual(ca[2][1], 0)
        a.subscribe("sensors/#", 1)
        # SUBSCRIBE outside the grants: 0x87
        sa = a.subscribe("private/#", 1, pid=2)
        self.assertEqual(sa[2][-1], 0x87)
        # %c pattern: own device tree
        sa = a.subscribe("devices/dev1/#", 1, pid=3)
        self.assertEqual(sa[2][-1], 1)
        # PUBLISH refused: PUBACK 0x87
        a.publish("private/x", "no", qos=1, pid=5)
        ack = a.expect(4)
        self.assertEqual(ack[2][:3], b"\x00\x05\x87")
        # allowed publish comes back; the denied one inside the grant
        # (sensors/secret) is neither stored for others nor delivered
        a.publish("sensors/secret", "no", qos=1, pid=6)
        self.assertEqual(a.expect(4)[2][:3], b"\x00\x06\x87")
        a.publish("sensors/t", "yes", qos=1, pid=7)
        got = []
        while True:
            p = a.recv_packet(0.5)
            if p is None:
                break
            if p[0] == 3:
                m = a.parse_publish(p)
                got.append(m["payload"])
                a.ack(4, m["pid"])
        self.assertEqual(got, [b"yes"])
        a.close()

    def reload(self, text):
        with open(self.acl, "w") as f:
            f.write(text)
        p, _, log = self.node.mq[0]
        before = open(log, errors="replace").read().count("MQ-RELOAD")
        p.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while open(log, errors="replace").read().count("MQ-RELOAD") == before:
            self.assertLess(time.time(), deadline, "no MQ-RELOAD line")
            time.sleep(0.05)
        return open(log, errors="replace").read()

    def test_zz_sighup_reloads_acl_without_dropping(self):
        a, ca = connect_auth(self.port, 5, "hup1", "alice", "s3cret")
        self.assertEqual(ca[2][1], 0)
        a.publish("extra/x", "no", qos=1, pid=1)
        self.assertEqual(a.expect(4)[2][:3], b"\x00\x01\x87")
        # Grant extra/# and reload: the same connection may publish now.
        self.reload(ACL + "topic readwrite extra/#\n")
        a.publish("extra/x", "yes", qos=1, pid=2)
        ack = a.expect(4)[2]
        self.assertEqual(ack[:2], b"\x00\x02")
        self.assertTrue(len(ack) == 2 or ack[2] == 0, ack)
        # A broken file is refused and the rules loaded before stay.
        log = self.reload("frob x\n")
        self.assertIn("kept the files loaded before", log)
        a.publish("extra/x", "still", qos=1, pid=3)
        ack = a.expect(4)[2]
        self.assertTrue(len(ack) == 2 or ack[2] == 0, ack)
        with open(self.acl, "w") as f:
            f.write(ACL)
        a.close()


if __name__ == "__main__":
    mqtt_util.BIN = sys.argv.pop(1)
    unittest.main(verbosity=2)
