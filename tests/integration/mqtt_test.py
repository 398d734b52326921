#!/usr/bin/python3
"""Integration tests of sluice-mqtt with real MQTT clients: mosquitto_pub /
mosquitto_sub (3.1, 3.1.1, 5), python3-paho-mqtt (3.1.1 and 5) and a raw
socket client (mqtt_util.Raw) for exact protocol checks.

One segstore and one sluice-mqtt serve the whole class (each test uses its
own topics and client ids), which keeps the file fast.

Run: mqtt_test.py BIN_DIR [unittest args], under /usr/bin/python3 (Debian's
paho-mqtt imports only there).
"""
import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mqtt_util  # noqa: E402
from mqtt_util import Raw, Node  # noqa: E402
from mqtt_util import (P_ALIAS, P_ALIAS_MAX, P_CD, P_CT, P_EXPIRY,  # noqa
                       P_MAX_PACKET, P_PFI, P_RECV_MAX, P_RT, P_SUBID,
                       P_USER, P_SESSION_EXPIRY, P_WILL_DELAY,
                       P_ASSIGNED_CID)

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.packettypes import PacketTypes  # noqa: E402
from paho.mqtt.properties import Properties  # noqa: E402


class Paho:
    """A paho client that queues what it receives."""

    def __init__(self, port, cid="", v=4, clean=True, expiry=None,
                 will=None):
        self.q = queue.Queue()
        self.acks = queue.Queue()
        self.v5 = v == 5
        if self.v5:
            self.c = mqtt.Client(client_id=cid, protocol=mqtt.MQTTv5)
        else:
            self.c = mqtt.Client(client_id=cid, clean_session=clean,
                                 protocol=mqtt.MQTTv311)
        self.c.on_message = lambda c, u, m: self.q.put(m)
        self.c.on_subscribe = lambda *a: self.acks.put(a)
        self.connected = threading.Event()
        self.disconnect_rc = queue.Queue()
        if self.v5:
            self.c.on_connect = self._on_connect5
            self.c.on_disconnect = lambda c, u, rc, p=None: \
                self.disconnect_rc.put(rc)
        else:
            self.c.on_connect = self._on_connect
            self.c.on_disconnect = lambda c, u, rc: self.disconnect_rc.put(rc)
        if will:
            self.c.will_set(*will)
        kw = {}
        if self.v5:
            kw["clean_start"] = clean
            if expiry is not None:
                pr = Properties(PacketTypes.CONNECT)
                pr.SessionExpiryInterval = expiry
                kw["properties"] = pr
        self.c.connect("127.0.0.1", port, keepalive=30, **kw)
        self.c.loop_start()
        if not self.connected.wait(5):
            raise AssertionError("paho did not connect")

    def _on_connect(self, c, u, flags, rc):
        self.session_present = flags.get("session present")
        self.rc = rc
        self.connected.set()

    def _on_connect5(self, c, u, flags, rc, props=None):
        self.session_present = flags.get("session present")
        self.rc = rc
        self.connected.set()

    def sub(self, topic, qos=1, **kw):
        self.c.subscribe(topic, qos, **kw)
        self.acks.get(timeout=5)

    def pub(self, topic, payload, qos=1, retain=False, props=None):
        info = self.c.publish(topic, payload, qos, retain, properties=props)
        if qos:
            info.wait_for_publish()
        return info

    def get(self, timeout=5):
        return self.q.get(timeout=timeout)

    def nothing(self, wait=0.5):
        try:
            m = self.q.get(timeout=wait)
            return m
        except queue.Empty:
            return None

    def stop(self):
        self.c.disconnect()
        self.c.loop_stop()


def pubcmd(port, *args):
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port)] +
                   list(args), check=True, timeout=10)


class MqttTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node()
        cls.node.start_segstore()
        cls.port = cls.node.start_mqtt("--set", "mqtt.max.packet.size=65536",
                                       "--set", "mqtt.sys.interval=1")

    @classmethod
    def tearDownClass(cls):
        cls.node.cleanup()

    # ---- mosquitto clients, every version and QoS --------------------------

    def test_mosquitto_versions_qos(self):
        for ver in ("mqttv31", "mqttv311", "mqttv5"):
            with self.subTest(ver=ver):
                t = "mv/%s" % ver
                sub = subprocess.Popen(
                    ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(self.port),
                     "-V", ver, "-q", "2", "-t", t + "/#", "-v", "-W", "15"],
                    stdout=subprocess.PIPE)
                try:
                    got = self.mosquitto_collect(sub, ver, t)
                finally:
                    sub.kill()
                    sub.wait()
                self.assertEqual(sorted(got),
                                 ["%s/q%d m%d" % (t, q, q) for q in (0, 1, 2)])

    def mosquitto_collect(self, sub, ver, t):
        """Publish probes until the subscriber shows its subscription is
        active (a fixed sleep loses the QoS 0 message on a loaded machine,
        as MQTT allows), then one message per QoS; return those lines."""
        fd = sub.stdout.fileno()
        buf = [b""]

        def lines(wait):
            # Raw reads: a buffered reader would hide lines from select().
            out = []
            if select.select([fd], [], [], wait)[0]:
                chunk = os.read(fd, 65536)
                if chunk == b"":
                    return None
                buf[0] += chunk
                *done, buf[0] = buf[0].split(b"\n")
                out = [ln.decode() for ln in done]
            return out

        deadline = time.time() + 10
        ready = False
        while not ready and time.time() < deadline:
            pubcmd(self.port, "-V", ver, "-q", "0", "-t", t + "/ready",
                   "-m", "r")
            got = lines(0.3)
            ready = bool(got) and any(x.startswith(t + "/ready") for x in got)
        self.assertTrue(ready, "mosquitto_sub never subscribed")
        for qos in (0, 1, 2):
            pubcmd(self.port, "-V", ver, "-q", str(qos), "-t",
                   "%s/q%d" % (t, qos), "-m", "m%d" % qos)
        got = []
        while len(got) < 3 and time.time() < deadline + 5:
            new = lines(0.5)
            if new is None:
                break
            got += [x for x in new if not x.startswith(t + "/ready")]
        return got

    def test_wildcards_and_dollar(self):
        s = Paho(self.port)
        s.sub("#", 0)
        s2 = Paho(self.port)
        s2.sub("+/w1/#", 0)
        d = Paho(self.port)
        d.sub("$app/#", 0)
        p = Paho(self.port)
        p.pub("$app/w1/x", "dollar")
        p.pub("wc/w1/x", "plain")
        got = set()
        while True:
            m = s.nothing(0.5)
            if m is None:
                break
            if not m.retain:  # other tests' retained messages
                got.add(m.topic)
        self.assertEqual(got, {"wc/w1/x"})
        self.assertEqual(s2.get().topic, "wc/w1/x")
        self.assertIsNone(s2.nothing(0.3))
        self.assertEqual(d.get().topic, "$app/w1/x")
        for c in (s, s2, d, p):
            c.stop()

    # ---- retained ------------------------------------------------------------

    def test_retained(self):
        p = Paho(self.port)
        p.pub("ret/a", "one", retain=True)
        p.pub("ret/a", "two", retain=True)   # replace
        p.pub("ret/b/c", "bc", retain=True)
        p.pub("ret/gone", "x", retain=True)
        p.pub("ret/gone", "", retain=True)   # clear
        s = Paho(self.port)
        s.sub("ret/#", 1)
        got = {}
        for _ in range(2):
            m = s.get()
            self.assertTrue(m.retain)
            got[m.topic] = m.payload
        self.assertEqual(got, {"ret/a": b"two", "ret/b/c": b"bc"})
        self.assertIsNone(s.nothing(0.3))
        # A live message is not flagged retained (no retain-as-published).
        p.pub("ret/a", "three", retain=True)
        m = s.get()
        self.assertEqual((m.topic, m.payload, m.retain),
                         ("ret/a", b"three", False))
        s2 = Paho(self.port)
        s2.sub("ret/+", 0)
        m = s2.get()
        self.assertEqual((m.topic, m.payload, m.retain),
                         ("ret/a", b"three", True))
        self.assertIsNone(s2.nothing(0.3))
        for c in (p, s, s2):
            c.stop()

    def test_retain_handling(self):
        p = Paho(self.port)
        p.pub("rh/t", "kept", retain=True)
        for rh, first, again in ((0, True, True), (1, True, False),
                                 (2, False, False)):
            r = Raw(self.port)
            r.connect("rh%d" % rh)
            r.subscribe("rh/#", 1, opts=rh << 4)
            p1 = r.recv_packet(0.5)
            self.assertEqual(p1 is not None, first, "rh=%d" % rh)
            if p1:
                m = r.parse_publish(p1)
                self.assertTrue(m["retain"])
                r.ack(4, m["pid"])
            r.subscribe("rh/#", 1, pid=2, opts=rh << 4)
            p2 = r.recv_packet(0.5)
            self.assertEqual(p2 is not None, again, "rh=%d again" % rh)
            r.close()
        p.stop()

    def test_retain_as_published(self):
        r = Raw(self.port)
        r.connect("rap")
        r.subscribe("rap/#", 0, opts=0x08)
        r2 = Raw(self.port)
        r2.connect("norap")
        r2.subscribe("rap/#", 0)
        p = Paho(self.port)
        p.pub("rap/x", "r", retain=True)
        self.assertTrue(r.parse_publish(r.expect(3))["retain"])
        self.assertFalse(r2.parse_publish(r2.expect(3))["retain"])
        p.pub("rap/x", "", retain=True)
        p.stop()

    # ---- wills ------------------------------------------------------------------

    def test_will_on_drop_not_on_disconnect(self):
        s = Paho(self.port)
        s.sub("will/#", 1)
        w = Raw(self.port, v=4)
        w.connect("w-drop", will=("will/drop", b"gone", 1, False, ()))
        w.close()  # no DISCONNECT
        m = s.get()
        self.assertEqual((m.topic, m.payload), ("will/drop", b"gone"))
        w = Raw(self.port, v=4)
        w.connect("w-clean", will=("will/clean", b"never", 1, False, ()))
        w.send(b"\xe0\x00")
        w.close()
        self.assertIsNone(s.nothing(0.5))
        # keep alive: 1 s, so the server gives up after 1.5 s
        w = Raw(self.port, v=5)
        w.connect("w-ka", keepalive=1,
                  will=("will/ka", b"timeout", 0, False, ()))
        self.assertTrue(w.closed(4))
        self.assertEqual(w.last[-1][0:3][:2], (14, 0))
        self.assertEqual(w.last[-1][2][0], 0x8D)
        m = s.get()
        self.assertEqual(m.topic, "will/ka")
        # v5 DISCONNECT 0x04: with will
        w = Raw(self.port, v=5)
        w.connect("w-04", will=("will/04", b"w04", 0, False, ()))
        w.send(b"\xe0\x01\x04")
        w.close()
        self.assertEqual(s.get().topic, "will/04")
        s.stop()

    def test_will_delay(self):
        s = Paho(self.port)
        s.sub("wd/#", 1)
        w = Raw(self.port, v=5)
        w.connect("wd1", cprops=[(P_SESSION_EXPIRY, 60)],
                  will=("wd/a", b"late", 1, False, [(P_WILL_DELAY, 1)]))
        t0 = time.time()
        w.close()
        m = s.get(timeout=5)
        self.assertEqual(m.topic, "wd/a")
        self.assertGreaterEqual(time.time() - t0, 0.9)
        # Reconnecting within the delay cancels the will.
        w = Raw(self.port, v=5)
        w.connect("wd2", cprops=[(P_SESSION_EXPIRY, 60)],
                  will=("wd/b", b"cancelled", 1, False, [(P_WILL_DELAY, 1)]))
        w.close()
        time.sleep(0.2)
        w = Raw(self.port, v=5)
        w.connect("wd2", clean=False, cprops=[(P_SESSION_EXPIRY, 60)])
        self.assertIsNone(s.nothing(1.5))
        w.send(b"\xe0\x00")
        w.close()
        s.stop()

    def test_will_at_session_end(self):
        # A will delay longer than the session: sent when the session
        # ends [MQTT-3.1.3-9].
        s = Paho(self.port)
        s.sub("wse/#", 1)
        w = Raw(self.port, v=5)
        w.connect("wse", cprops=[(P_SESSION_EXPIRY, 1)],
                  will=("wse/a", b"session over", 0, False,
                        [(P_WILL_DELAY, 30)]))
        t0 = time.time()
        w.close()
        m = s.get(timeout=5)
        self.assertEqual(m.payload, b"session over")
        self.assertLess(time.time() - t0, 4)
        s.stop()

    def test_disconnect_session_expiry(self):
        # 0 at CONNECT, then non-zero on DISCONNECT: protocol error
        r = Raw(self.port, v=5)
        r.connect("dse")
        r.send(mqtt_util.packet(14, 0, b"\x00" + mqtt_util.props(
            [(P_SESSION_EXPIRY, 60)])))
        self.assertTrue(r.closed())
        self.assertEqual(r.last[-1][2][0], 0x82)
        # non-zero at CONNECT, 0 on DISCONNECT: the session ends
        r = Raw(self.port, v=5)
        r.connect("dse2", cprops=[(P_SESSION_EXPIRY, 60)])
        r.subscribe("dse/#", 1)
        r.send(mqtt_util.packet(14, 0, b"\x00" + mqtt_util.props(
            [(P_SESSION_EXPIRY, 0)])))
        r.close()
        time.sleep(0.2)
        r = Raw(self.port, v=5)
        ca = r.connect("dse2", clean=False, cprops=[(P_SESSION_EXPIRY, 60)])
        self.assertEqual(ca[2][0], 0)  # no session present
        r.close()

    # ---- sessions -----------------------------------------------------------------

    def test_persistent_session_v311(self):
        s = Paho(self.port, cid="ps311", clean=False)
        s.sub("ps311/#", 1)
        s.stop()
        p = Paho(self.port)
        for i in range(5):
            p.pub("ps311/t", "m%d" % i)
        p.pub("ps311/t", "q0", qos=0)
        s = Paho(self.port, cid="ps311", clean=False)
        self.assertTrue(s.session_present)
        got = [s.get().payload for _ in range(6)]
        self.assertEqual(got[:5], [b"m%d" % i for i in range(5)])
        s.stop()
        # clean session ends it
        s = Paho(self.port, cid="ps311", clean=True)
        self.assertFalse(s.session_present)
        s.stop()
        p.stop()

    def test_persistent_session_v5_expiry(self):
        s = Paho(self.port, cid="ps5", v=5, clean=True, expiry=60)
        s.sub("ps5/#", 2)
        s.stop()
        p = Paho(self.port)
        for i in range(3):
            p.pub("ps5/t", "m%d" % i, qos=2)
        s = Paho(self.port, cid="ps5", v=5, clean=False, expiry=60)
        self.assertTrue(s.session_present)
        self.assertEqual([s.get().payload for _ in range(3)],
                         [b"m0", b"m1", b"m2"])
        s.stop()
        # expiry 1 s: gone after it
        s = Paho(self.port, cid="ps5e", v=5, clean=True, expiry=1)
        s.sub("ps5e/#", 1)
        s.stop()
        time.sleep(1.5)
        s = Paho(self.port, cid="ps5e", v=5, clean=False, expiry=1)
        self.assertFalse(s.session_present)
        s.stop()
        p.stop()

    def test_redelivery_with_dup(self):
        r = Raw(self.port, v=5)
        r.connect("dup1", cprops=[(P_SESSION_EXPIRY, 60)])
        r.subscribe("dup/#", 1)
        p = Paho(self.port)
        p.pub("dup/a", "x")
        m = r.parse_publish(r.expect(3))
        self.assertFalse(m["dup"])
        r.close()  # not acknowledged
        r = Raw(self.port, v=5)
        ca = r.connect("dup1", clean=False, cprops=[(P_SESSION_EXPIRY, 60)])
        self.assertEqual(ca[2][0], 1)  # session present
        m2 = r.parse_publish(r.expect(3))
        self.assertTrue(m2["dup"])
        self.assertEqual((m2["pid"], m2["payload"]), (m["pid"], b"x"))
        r.ack(4, m2["pid"])
        r.close()
        r = Raw(self.port, v=5)
        r.connect("dup1", clean=False, cprops=[(P_SESSION_EXPIRY, 60)])
        self.assertIsNone(r.recv_packet(0.5))
        r.close()
        p.stop()

    def test_takeover(self):
        a = Raw(self.port, v=5)
        a.connect("same")
        b = Raw(self.port, v=5)
        b.connect("same")
        self.assertTrue(a.closed(3))
        self.assertEqual(a.last[-1][0], 14)
        self.assertEqual(a.last[-1][2][0], 0x8E)
        b.close()

    def test_assigned_client_id(self):
        r = Raw(self.port, v=5)
        ca = r.connect("")
        pr, _ = mqtt_util.parse_props(ca[2], 2)
        ids = [v for k, v in pr if k == P_ASSIGNED_CID]
        self.assertEqual(len(ids), 1)
        self.assertTrue(ids[0])
        r.close()

    # ---- MQTT 5 features ------------------------------------------------------------

    def test_topic_alias_in_and_out(self):
        s = Raw(self.port, v=5)
        s.connect("alias-sub", cprops=[(P_ALIAS_MAX, 5)])
        s.subscribe("alias/#", 0)
        p = Raw(self.port, v=5)
        p.connect("alias-pub")
        p.publish("alias/one", "1", pprops=[(P_ALIAS, 3)])
        p.publish("", "2", pprops=[(P_ALIAS, 3)])
        m1 = s.parse_publish(s.expect(3))
        m2 = s.parse_publish(s.expect(3))
        self.assertEqual(m1["topic"], "alias/one")
        a1 = dict(m1["props"]).get(P_ALIAS)
        self.assertIsNotNone(a1)
        self.assertEqual(m2["topic"], "")
        self.assertEqual(dict(m2["props"]).get(P_ALIAS), a1)
        self.assertEqual(m2["payload"], b"2")
        # an alias above the maximum: 0x94
        p.publish("alias/x", "3", pprops=[(P_ALIAS, 1000)])
        self.assertTrue(p.closed())
        self.assertEqual(p.last[-1][2][0], 0x94)
        s.close()

    def test_receive_maximum(self):
        s = Raw(self.port, v=5)
        s.connect("rmax", cprops=[(P_RECV_MAX, 2)])
        s.subscribe("rmax/#", 1)
        p = Paho(self.port)
        for i in range(5):
            p.pub("rmax/t", "m%d" % i)
        got = [s.parse_publish(s.expect(3)) for _ in range(2)]
        self.assertIsNone(s.recv_packet(0.5))  # window full
        s.ack(4, got[0]["pid"])
        got.append(s.parse_publish(s.expect(3)))
        self.assertIsNone(s.recv_packet(0.3))
        for m in got[1:]:
            s.ack(4, m["pid"])
        got += [s.parse_publish(s.expect(3)) for _ in range(2)]
        self.assertEqual([m["payload"] for m in got],
                         [b"m%d" % i for i in range(5)])
        s.close()
        p.stop()

    def test_inbound_receive_maximum_exceeded(self):
        node = self.node
        port = node.start_mqtt("--set", "mqtt.receive.maximum=2",
                               "--set", "mqtt.keepalive.max=5")
        try:
            p = Raw(port, v=5)
            ca = p.connect("rm-in", keepalive=60)
            pr, _ = mqtt_util.parse_props(ca[2], 2)
            self.assertEqual(dict(pr)[P_RECV_MAX], 2)
            # the server's keep alive replaces the client's 60 s
            self.assertEqual(dict(pr)[mqtt_util.P_SERVER_KA], 5)
            for i in range(1, 6):
                p.publish("rmin/t", "x", qos=2, pid=i)
            self.assertTrue(p.closed())
            self.assertIn((14, 0), [x[:2] for x in p.last])
            self.assertEqual([x for x in p.last if x[0] == 14][0][2][0], 0x93)
        finally:
            node.kill_mqtt(port)

    def test_maximum_packet_size(self):
        # inbound: the server's limit (65536 here) -> 0x95
        r = Raw(self.port, v=5)
        ca = r.connect("mps-in")
        pr, _ = mqtt_util.parse_props(ca[2], 2)
        self.assertEqual(dict(pr)[P_MAX_PACKET], 65536)
        r.publish("mps/big", b"x" * 70000)
        self.assertTrue(r.closed())
        self.assertEqual(r.last[-1][:2], (14, 0))
        self.assertEqual(r.last[-1][2][0], 0x95)
        # outbound: messages over the client's limit are skipped
        s = Raw(self.port, v=5)
        s.connect("mps-out", cprops=[(P_MAX_PACKET, 200)])
        s.subscribe("mps/#", 0)
        p = Paho(self.port)
        p.pub("mps/t", b"y" * 500)
        p.pub("mps/t", b"small")
        m = s.parse_publish(s.expect(3))
        self.assertEqual(m["payload"], b"small")
        s.close()
        p.stop()

    def test_message_expiry(self):
        s = Raw(self.port, v=5)
        s.connect("exp", cprops=[(P_SESSION_EXPIRY, 60)])
        s.subscribe("exp/#", 1)
        s.close()
        p = Raw(self.port, v=5)
        p.connect("exp-pub")
        p.publish("exp/short", "dies", qos=1, pid=1, pprops=[(P_EXPIRY, 1)])
        p.publish("exp/long", "lives", qos=1, pid=2,
                  pprops=[(P_EXPIRY, 100)])
        p.expect(4)
        p.expect(4)
        time.sleep(1.6)
        s = Raw(self.port, v=5)
        s.connect("exp", clean=False, cprops=[(P_SESSION_EXPIRY, 60)])
        m = s.parse_publish(s.expect(3))
        self.assertEqual(m["payload"], b"lives")
        left = dict(m["props"])[P_EXPIRY]
        self.assertTrue(90 <= left < 100, left)
        s.ack(4, m["pid"])
        self.assertIsNone(s.recv_packet(0.3))
        s.close()
        p.close()

    def test_subscription_identifiers_and_overlap(self):
        s = Raw(self.port, v=5)
        s.connect("subid")
        s.subscribe("sid/#", 0, pid=1, sprops=[(P_SUBID, 7)])
        s.subscribe("sid/+", 1, pid=2, sprops=[(P_SUBID, 9)])
        p = Paho(self.port)
        p.pub("sid/x", "once", qos=1)
        m = s.parse_publish(s.expect(3))
        self.assertEqual(m["qos"], 1)  # the larger of the two
        self.assertEqual(sorted(v for k, v in m["props"] if k == P_SUBID),
                         [7, 9])
        s.ack(4, m["pid"])
        self.assertIsNone(s.recv_packet(0.3))  # delivered once
        s.close()
        p.stop()

    def test_no_local(self):
        r = Raw(self.port, v=5)
        r.connect("nl")
        r.subscribe("nl/#", 0, opts=0x04)
        r.publish("nl/t", "mine")
        self.assertIsNone(r.recv_packet(0.5))
        p = Paho(self.port)
        p.pub("nl/t", "theirs")
        self.assertEqual(r.parse_publish(r.expect(3))["payload"], b"theirs")
        r.close()
        p.stop()

    def test_properties_pass_through(self):
        s = Raw(self.port, v=5)
        s.connect("props-sub")
        s.subscribe("pp/#", 0)
        p = Raw(self.port, v=5)
        p.connect("props-pub")
        p.publish("pp/req", "body", pprops=[
            (P_PFI, 1), (P_CT, "text/plain"), (P_RT, "pp/resp"),
            (P_CD, b"\x00\x01corr"), (P_USER, ("k1", "v1")),
            (P_USER, ("k2", "v2"))])
        m = s.parse_publish(s.expect(3))
        pr = m["props"]
        d = dict(pr)
        self.assertEqual(d[P_PFI], 1)
        self.assertEqual(d[P_CT], b"text/plain")
        self.assertEqual(d[P_RT], b"pp/resp")
        self.assertEqual(d[P_CD], b"\x00\x01corr")
        self.assertEqual([v for k, v in pr if k == P_USER],
                         [(b"k1", b"v1"), (b"k2", b"v2")])
        # payload format 1 with bad UTF-8: 0x99
        p.publish("pp/bad", b"\xff\xfe", pprops=[(P_PFI, 1)])
        self.assertTrue(p.closed())
        self.assertEqual(p.last[-1][2][0], 0x99)
        s.close()

    def test_shared_subscription(self):
        a = Raw(self.port, v=5)
        a.connect("sh-a")
        a.subscribe("$share/g1/sh/#", 0)
        b = Raw(self.port, v=5)
        b.connect("sh-b")
        b.subscribe("$share/g1/sh/#", 0)
        c = Raw(self.port, v=4)
        c.connect("sh-c")
        c.subscribe("sh/#", 0)
        p = Paho(self.port)
        for i in range(10):
            p.pub("sh/t", "m%d" % i)
        got_a, got_b = [], []
        for r, got in ((a, got_a), (b, got_b)):
            while True:
                x = r.recv_packet(0.5)
                if x is None:
                    break
                got.append(r.parse_publish(x)["payload"])
        self.assertEqual(sorted(got_a + got_b),
                         sorted(b"m%d" % i for i in range(10)))
        self.assertTrue(got_a and got_b)
        self.assertEqual(len([c.expect(3) for _ in range(10)]), 10)
        for r in (a, b, c):
            r.close()
        p.stop()

    def test_shared_subscription_redispatch(self):
        a = Raw(self.port, v=5)
        a.connect("shr-a")
        a.subscribe("$share/g2/shr/#", 1)
        b = Raw(self.port, v=5)
        b.connect("shr-b")
        b.subscribe("$share/g2/shr/#", 1)
        p = Paho(self.port)
        for i in range(6):
            p.pub("shr/t", "m%d" % i)
        got_a = []
        while True:
            x = a.recv_packet(0.5)
            if x is None:
                break
            got_a.append(a.parse_publish(x)["payload"])
        self.assertTrue(got_a)
        a.close()  # leaves without acknowledging
        got_b = []
        while True:
            x = b.recv_packet(0.7)
            if x is None:
                break
            m = b.parse_publish(x)
            got_b.append(m["payload"])
            b.ack(4, m["pid"])
        self.assertEqual(sorted(set(got_b)),
                         sorted(b"m%d" % i for i in range(6)))
        b.close()
        p.stop()

    def test_unsubscribe(self):
        r = Raw(self.port, v=5)
        r.connect("unsub")
        r.subscribe("un/#", 0)
        r.send(mqtt_util.packet(10, 2, b"\x00\x05\x00" +
                                mqtt_util.mstr("un/#") +
                                mqtt_util.mstr("never")))
        u = r.expect(11)
        self.assertEqual(u[2][-2:], b"\x00\x11")
        p = Paho(self.port)
        p.pub("un/t", "x")
        self.assertIsNone(r.recv_packet(0.5))
        r.close()
        p.stop()

    def test_many_messages_order(self):
        s = Paho(self.port, v=5)
        s.sub("ord/#", 1)
        p = Paho(self.port)
        n = 300
        for i in range(n):
            p.c.publish("ord/t", "%d" % i, 1)
        got = [int(s.get().payload) for _ in range(n)]
        self.assertEqual(got, list(range(n)))
        s.stop()
        p.stop()

    def test_burst_larger_than_a_batch(self):
        # Regression: a partition's accumulated batch grew past the log
        # topic's max.message.bytes, segstore refused it and QoS 0
        # messages vanished.  3 MB to one topic in one burst.
        s = Raw(self.port, v=4)
        s.connect("burst-sub")
        s.subscribe("burst/t", 0)
        p = Raw(self.port, v=4)
        p.connect("burst-pub")
        n = 3000
        blob = b"".join(
            mqtt_util.packet(3, 0, mqtt_util.mstr("burst/t") +
                             b"%06d" % i + b"x" * 994) for i in range(n))
        p.send(blob)
        got = 0
        while got < n:
            x = s.recv_packet(3)
            if x is None:
                break
            got += x[0] == 3
        self.assertEqual(got, n)
        s.close()
        p.close()

    def test_record_layout(self):
        # What a Kafka consumer of the log topic sees (docs/mqtt.md 8).
        p = Raw(self.port, v=5)
        p.connect("layout-pub")
        p.publish("layout/x", "body", qos=1, pid=3, retain=True, pprops=[
            (P_PFI, 1), (P_CT, "text/plain"), (P_RT, "layout/r"),
            (P_CD, b"cd"), (P_EXPIRY, 60), (P_USER, ("u1", "v1")),
            (P_USER, ("u2", "v2"))])
        p.expect(4)  # durable now
        r = subprocess.run([os.path.join(mqtt_util.BIN, "sluice-dump"),
                            "--json", "--records", "--full", self.node.data],
                           capture_output=True, text=True, timeout=30)
        recs = [json.loads(line) for line in r.stdout.splitlines()
                if '"record"' in line]
        rec = [x for x in recs if x.get("key") == "layout/x"]
        self.assertEqual(len(rec), 1)
        rec = rec[0]
        self.assertEqual(rec["value"], "body")
        h = [(x["key"], x["value"]) for x in rec["headers"]]
        d = dict(h)
        self.assertEqual(d["mqtt.qos"], "1")
        self.assertEqual(d["mqtt.retain"], "1")
        self.assertEqual(d["mqtt.content_type"], "text/plain")
        self.assertEqual(d["mqtt.response_topic"], "layout/r")
        self.assertEqual(d["mqtt.correlation_data"], "cd")
        self.assertEqual(d["mqtt.payload_format"], "1")
        self.assertEqual(d["mqtt.cid"], "layout-pub")
        self.assertAlmostEqual(int(d["mqtt.expiry"]) / 1000,
                               time.time() + 60, delta=5)
        self.assertEqual([x for x in h if x[0].startswith("u")],
                         [("u1", "v1"), ("u2", "v2")])
        p.publish("layout/x", "", qos=1, pid=4, retain=True)
        p.expect(4)
        p.close()

    def test_sys_topics(self):
        r = Raw(self.port, v=5)
        r.connect("sys")
        r.subscribe("$SYS/broker/#", 0)
        seen = {}
        deadline = time.time() + 3
        while time.time() < deadline and len(seen) < 10:
            p = r.recv_packet(0.5)
            if p is not None and p[0] == 3:
                m = r.parse_publish(p)
                seen[m["topic"]] = m["payload"]
        self.assertIn("$SYS/broker/uptime", seen)
        self.assertTrue(seen["$SYS/broker/uptime"].endswith(b" seconds"))
        self.assertGreaterEqual(int(seen["$SYS/broker/clients/connected"]), 1)
        self.assertIn("$SYS/broker/messages/received", seen)
        self.assertTrue(seen["$SYS/broker/version"].startswith(b"sluice-mqtt"))
        r.close()

    def test_two_instances(self):
        port2 = self.node.start_mqtt()
        try:
            s = Paho(port2)
            s.sub("two/#", 1)
            p = Paho(self.port)
            p.pub("two/x", "across")
            m = s.get()
            self.assertEqual((m.topic, m.payload), ("two/x", b"across"))
            s.stop()
            p.stop()
        finally:
            self.node.kill_mqtt(port2)


if __name__ == "__main__":
    mqtt_util.BIN = sys.argv.pop(1)
    unittest.main(verbosity=2)
