#!/usr/bin/python3
"""sluice-mqtt state that outlives a process: retained messages, sessions
and inbound QoS 2 ids in segstore's KV; several instances on one segstore;
kill -9 of an instance and resumption on another.

Run: mqtt_cluster_test.py BIN_DIR [unittest args], under /usr/bin/python3.
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mqtt_util  # noqa: E402
from mqtt_util import Raw, Node, P_SESSION_EXPIRY  # noqa: E402


def drain(r, wait=0.7):
    """Every PUBLISH until nothing comes for `wait` s; QoS 1 acked."""
    out = []
    while True:
        p = r.recv_packet(wait)
        if p is None:
            return out
        if p[0] != 3:
            continue
        m = r.parse_publish(p)
        if m["qos"] == 1:
            r.ack(4, m["pid"])
        elif m["qos"] == 2:
            r.ack(5, m["pid"])
        out.append(m)


def wait_for(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class Paho:
    """A python3-paho-mqtt client recording the payloads it receives (it
    acknowledges QoS 1 itself)."""

    def __init__(self, port, cid, v5=False):
        import paho.mqtt.client as mqtt
        self.got = []
        self.lock = threading.Lock()
        self.c = mqtt.Client(client_id=cid, protocol=mqtt.MQTTv5 if v5
                             else mqtt.MQTTv311)
        self.c.on_message = self._on_message
        self.c.connect("127.0.0.1", port, 30)
        self.c.loop_start()
        wait_for(self.c.is_connected, 5, "paho connect")

    def _on_message(self, c, u, m):
        with self.lock:
            self.got.append(m.payload)

    def subscribe(self, filt, qos):
        done = threading.Event()
        self.c.on_subscribe = lambda *a: done.set()
        self.c.subscribe(filt, qos)
        assert done.wait(5), "no SUBACK"

    def payloads(self):
        with self.lock:
            return list(self.got)

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def share_stable(node, ports, group, parts=8):
    """Every instance's last MQ-SHARE line for coordinator group `group`
    has one generation, and the partitions add up to all of them."""
    last = {}
    for pt in ports:
        lines = re.findall(r"MQ-SHARE.*group=%s generation=(\d+) "
                           r"partitions=(\d+)" % re.escape(group),
                           node.mqtt_log(pt))
        if not lines:
            return False
        last[pt] = lines[-1]
    gens = {g for g, _ in last.values()}
    return len(gens) == 1 and sum(int(n) for _, n in last.values()) == parts


class ClusterTest(unittest.TestCase):
    def setUp(self):
        self.node = Node()
        self.node.start_segstore()

    def tearDown(self):
        self.node.cleanup()

    def test_retained_survives_kill_and_crosses_instances(self):
        a = self.node.start_mqtt()
        b = self.node.start_mqtt()
        p = Raw(a, v=4)
        p.connect("rp")
        p.publish("kv/r1", "one", qos=1, retain=True)
        p.expect(4)
        p.publish("kv/r2", "two", qos=1, retain=True)
        p.expect(4)
        time.sleep(0.3)  # the KV write and its event
        s = Raw(b, v=4)
        s.connect("rs")
        s.subscribe("kv/#", 1)
        got = sorted((m["topic"], m["payload"], m["retain"])
                     for m in drain(s, 0.5))
        self.assertEqual(got, [("kv/r1", b"one", True),
                               ("kv/r2", b"two", True)])
        # cleared on A: gone on B
        p.publish("kv/r1", "", qos=1, retain=True)
        p.expect(4)
        p.close()
        self.node.kill_mqtt(a)
        self.node.kill_mqtt(b)
        c = self.node.start_mqtt()
        s = Raw(c, v=4)
        s.connect("rs2")
        s.subscribe("kv/#", 1)
        got = [(m["topic"], m["payload"]) for m in drain(s, 0.5)]
        self.assertEqual(got, [("kv/r2", b"two")])
        s.close()

    def test_session_resumes_on_another_instance(self):
        a = self.node.start_mqtt()
        b = self.node.start_mqtt()
        s = Raw(a, v=5)
        s.connect("roam", clean=False, cprops=[(P_SESSION_EXPIRY, 300)])
        s.subscribe("roam/#", 1)
        s.send(b"\xe0\x00")
        s.close()
        time.sleep(0.2)
        p = Raw(a, v=4)
        p.connect("roam-pub")
        for i in range(5):
            p.publish("roam/t", "m%d" % i, qos=1, pid=i + 1)
            p.expect(4)
        s = Raw(b, v=5)
        ca = s.connect("roam", clean=False, cprops=[(P_SESSION_EXPIRY, 300)])
        self.assertEqual(ca[2][0], 1)  # session present
        got = [m["payload"] for m in drain(s)]
        self.assertEqual(got, [b"m%d" % i for i in range(5)])
        # live on B now
        p.publish("roam/t", "live", qos=1, pid=9)
        p.expect(4)
        self.assertEqual([m["payload"] for m in drain(s)], [b"live"])
        s.close()
        p.close()

    def test_offline_session_leaves_memory(self):
        a = self.node.start_mqtt("--set", "mqtt.session.memory.s=1")
        s = Raw(a, v=4)
        s.connect("evict", clean=False)
        s.subscribe("ev/#", 1)
        s.close()
        time.sleep(1.6)  # offline past mqtt.session.memory.s: read from KV
        p = Raw(a, v=4)
        p.connect("ev-pub")
        p.publish("ev/t", "while away", qos=1)
        p.expect(4)
        s = Raw(a, v=4)
        ca = s.connect("evict", clean=False)
        self.assertEqual(ca[2][0], 1)
        self.assertEqual([m["payload"] for m in drain(s)], [b"while away"])
        s.close()
        p.close()
        self.node.kill_mqtt(a, signal.SIGTERM)
        log = [x for x in os.listdir(self.node.root) if x.endswith(".log")]
        text = "".join(open(os.path.join(self.node.root, x)).read()
                       for x in log if x.startswith("mqtt-"))
        self.assertIn("evicted=1", text)

    def test_takeover_across_instances(self):
        a = self.node.start_mqtt()
        b = self.node.start_mqtt()
        x = Raw(a, v=5)
        x.connect("roamer")
        time.sleep(0.2)
        y = Raw(b, v=5)
        y.connect("roamer")
        self.assertTrue(x.closed(3))
        self.assertEqual(x.last[-1][0], 14)
        self.assertEqual(x.last[-1][2][0], 0x8E)
        y.close()

    def test_takeover_carries_the_latest_state(self):
        # A writes sessions rarely here; the takeover itself must make it
        # write its latest state for B, so B redelivers nothing.
        a = self.node.start_mqtt("--set", "mqtt.session.flush.ms=60000")
        b = self.node.start_mqtt()
        x = Raw(a, v=5)
        x.connect("carry", clean=False, cprops=[(P_SESSION_EXPIRY, 300)])
        x.subscribe("carry/#", 1)
        p = Raw(a, v=4)
        p.connect("carry-pub")
        for i in range(5):
            p.publish("carry/t", "m%d" % i, qos=1, pid=i + 1)
            p.expect(4)
        self.assertEqual(len(drain(x)), 5)  # received and acknowledged
        y = Raw(b, v=5)
        ca = y.connect("carry", clean=False, cprops=[(P_SESSION_EXPIRY, 300)])
        self.assertEqual(ca[2][0], 1)
        self.assertTrue(x.closed(3))
        self.assertEqual(x.last[-1][2][0], 0x8E)
        self.assertEqual(drain(y), [])
        p.publish("carry/t", "next", qos=1, pid=9)
        p.expect(4)
        self.assertEqual([m["payload"] for m in drain(y)], [b"next"])
        y.close()
        p.close()

    def test_will_of_a_killed_instance(self):
        a = self.node.start_mqtt()
        b = self.node.start_mqtt()
        s = Raw(b, v=4)
        s.connect("will-watch")
        s.subscribe("lastwill/#", 1)
        w = Raw(a, v=4)
        w.connect("will-a", will=("lastwill/a", b"a died", 1, False, ()))
        back = Raw(a, v=4)
        back.connect("will-back",
                     will=("lastwill/back", b"never", 1, False, ()))
        time.sleep(0.3)  # wills and heartbeats in KV
        self.node.kill_mqtt(a, signal.SIGKILL)
        w.close()
        back.close()
        # "will-back" returns (through B) before A is declared dead: its
        # will must not be sent
        back = Raw(b, v=4)
        back.connect("will-back")
        t0 = time.time()
        m = s.parse_publish(s.expect(3, timeout=12))
        self.assertEqual((m["topic"], m["payload"]), ("lastwill/a", b"a died"))
        self.assertLess(time.time() - t0, 10)
        s.ack(4, m["pid"])
        self.assertIsNone(s.recv_packet(2.5))
        back.close()
        s.close()

    def test_qos2_out_exactly_once_across_kill(self):
        # A QoS 2 PUBLISH reaches the client only once the session that
        # remembers its packet id is durable: after kill -9 it comes again
        # with DUP and the same id (the client dedupes); and PUBREL only
        # once the PUBREC is durable: then only PUBREL comes again.
        a = self.node.start_mqtt("--set", "mqtt.session.flush.ms=60000")
        s = Raw(a, v=4)
        s.connect("q2out", clean=False)
        s.subscribe("q2out/#", 2)
        p = Raw(a, v=4)
        p.connect("q2out-pub")
        p.publish("q2out/t", "one", qos=2, pid=1)
        p.expect(5)
        p.ack(6, 1)
        p.expect(7)
        m = s.parse_publish(s.expect(3))
        self.node.kill_mqtt(a, signal.SIGKILL)
        s.close()
        p.close()
        b = self.node.start_mqtt("--set", "mqtt.session.flush.ms=60000")
        s = Raw(b, v=4)
        s.connect("q2out", clean=False)
        m2 = s.parse_publish(s.expect(3))
        self.assertEqual((m2["pid"], m2["dup"], m2["payload"]),
                         (m["pid"], True, b"one"))
        s.ack(5, m2["pid"])  # PUBREC
        rel = s.expect(6)
        self.node.kill_mqtt(b, signal.SIGKILL)
        s.close()
        c = self.node.start_mqtt()
        s = Raw(c, v=4)
        s.connect("q2out", clean=False)
        again = s.expect(6)  # PUBREL again, not the PUBLISH
        self.assertEqual(again[2][:2], rel[2][:2])
        s.ack(7, m["pid"])
        self.assertIsNone(s.recv_packet(0.5))
        s.close()

    def test_kill9_qos1_no_loss(self):
        a = self.node.start_mqtt()
        s = Raw(a, v=4)
        s.connect("k9sub", clean=False)
        s.subscribe("k9/#", 1)
        p = Raw(a, v=4)
        p.connect("k9pub")
        acked = []
        got = []
        for i in range(1, 201):
            p.publish("k9/t", "%d" % i, qos=1, pid=i)
            p.expect(4)
            acked.append(i)
            if i % 20 == 0:
                got += [int(m["payload"]) for m in drain(s, 0.05)]
        self.node.kill_mqtt(a, signal.SIGKILL)
        s.close()
        p.close()
        b = self.node.start_mqtt()
        s = Raw(b, v=4)
        ca = s.connect("k9sub", clean=False)
        self.assertEqual(ca[2][0], 1)
        got += [int(m["payload"]) for m in drain(s, 0.7)]
        self.assertEqual(sorted(set(got)), acked)
        s.close()

    def test_qos2_not_duplicated_after_kill(self):
        a = self.node.start_mqtt()
        sub = Raw(a, v=4)
        sub.connect("q2sub", clean=False)
        sub.subscribe("q2/#", 2)
        p = Raw(a, v=4)
        p.connect("q2pub", clean=False)
        p.publish("q2/t", "once", qos=2, pid=7)
        p.expect(5)  # PUBREC: stored, id recorded
        self.node.kill_mqtt(a, signal.SIGKILL)
        sub.close()
        p.close()
        b = self.node.start_mqtt()
        p = Raw(b, v=4)
        p.connect("q2pub", clean=False)
        p.publish("q2/t", "once", qos=2, pid=7, dup=True)
        p.expect(5)
        p.ack(6, 7)
        p.expect(7)
        sub = Raw(b, v=4)
        sub.connect("q2sub", clean=False)
        got = [m["payload"] for m in drain(sub)]
        self.assertEqual(got, [b"once"])
        sub.close()
        p.close()

    def test_shared_subscription_across_instances(self):
        # One member of share group g on each instance: every message goes
        # to exactly one of them, and both get some.
        a = self.node.start_mqtt()
        b = self.node.start_mqtt()
        m1 = Paho(a, "sh-1", v5=True)
        m2 = Paho(b, "sh-2", v5=True)
        m1.subscribe("$share/g/sh/#", 1)
        m2.subscribe("$share/g/sh/#", 1)
        wait_for(lambda: share_stable(self.node, (a, b), "mqtt-share:g:sh/#"),
                 10, "share group stable over both instances")
        pub = Paho(a, "sh-pub")
        n = 64
        for i in range(n):
            pub.c.publish("sh/t%d" % (i % 16), b"s%02d" % i,
                          1).wait_for_publish()
        wait_for(lambda: len(m1.payloads()) + len(m2.payloads()) >= n, 10,
                 "shared deliveries")
        time.sleep(0.5)
        x, y = m1.payloads(), m2.payloads()
        print("\nshare across instances: %d + %d of %d" % (len(x), len(y), n))
        self.assertEqual(sorted(x + y), [b"s%02d" % i for i in range(n)])
        self.assertTrue(x and y, "all to one instance")
        for c in (pub, m1, m2):
            c.close()

    def test_shared_subscription_member_leaves_under_traffic(self):
        # The only member on B disconnects while messages flow: B leaves
        # the group (commit, LEAVE), A takes every partition and nothing
        # is lost.
        a = self.node.start_mqtt()
        b = self.node.start_mqtt()
        m1 = Paho(a, "l-1", v5=True)
        m2 = Paho(b, "l-2", v5=True)
        m1.subscribe("$share/l/ll/#", 1)
        m2.subscribe("$share/l/ll/#", 1)
        wait_for(lambda: share_stable(self.node, (a, b), "mqtt-share:l:ll/#"),
                 10, "share group stable over both instances")
        pub = Paho(a, "l-pub")
        n = 200
        want = {b"l%03d" % i for i in range(n)}
        for i in range(n):
            pub.c.publish("ll/t%d" % (i % 16), b"l%03d" % i,
                          1).wait_for_publish()
            if i == n // 2:
                m2.close()
        try:
            wait_for(lambda: set(m1.payloads()) | set(m2.payloads()) >= want,
                     15, "every message after the member on B left")
        except AssertionError:
            print("missing", sorted(want - set(m1.payloads()) -
                                    set(m2.payloads())))
            raise
        x, y = m1.payloads(), m2.payloads()
        print("\nshare member leaves: A %d, B %d, duplicates %d" %
              (len(x), len(y), len(x) + len(y) - len(set(x) | set(y))))
        self.assertTrue(y, "nothing went to the member on B")
        for c in (pub, m1):
            c.close()

    def test_shared_subscription_kill9_redelivers(self):
        # A member on B receives its share and never acknowledges; B is
        # killed with kill -9: the member on A gets those messages.
        a = self.node.start_mqtt()
        b = self.node.start_mqtt()
        m1 = Paho(a, "k-1", v5=True)
        m2 = Raw(b, v=5)
        m2.connect("k-2")
        m1.subscribe("$share/k/kk/#", 1)
        m2.subscribe("$share/k/kk/#", 1)
        wait_for(lambda: share_stable(self.node, (a, b), "mqtt-share:k:kk/#"),
                 10, "share group stable over both instances")
        pub = Paho(a, "k-pub")
        n = 48
        want = {b"k%02d" % i for i in range(n)}
        for i in range(n):
            pub.c.publish("kk/t%d" % (i % 16), b"k%02d" % i,
                          1).wait_for_publish()
        held = []
        deadline = time.time() + 10
        while len(m1.payloads()) + len(held) < n and time.time() < deadline:
            p = m2.recv_packet(0.2)
            if p is not None and p[0] == 3:
                held.append(m2.parse_publish(p)["payload"])  # not acked
        self.assertEqual(set(m1.payloads()) | set(held), want)
        self.assertTrue(held, "nothing went to the member on B")
        self.node.kill_mqtt(b, signal.SIGKILL)
        m2.close()
        wait_for(lambda: set(m1.payloads()) >= want, 20,
                 "the killed instance's unacknowledged messages on A")
        got = m1.payloads()
        lost = want - set(got)
        print("\nshare kill -9: %d held unacknowledged on B, A got %d "
              "(%d duplicates), lost %d" % (len(held), len(got),
                                           len(got) - len(set(got)),
                                           len(lost)))
        self.assertEqual(lost, set())
        for c in (pub, m1):
            c.close()

    def test_sessions_of_a_killed_instance_expire(self):
        # Sessions kept by an instance killed with kill -9 are expired by
        # a survivor; one with a long expiry stays.
        a = self.node.start_mqtt()
        self.node.start_mqtt()
        c = self.node.start_mqtt()  # stopped with SIGTERM: the same
        ctl = os.path.join(mqtt_util.BIN, "sluice-ctl")

        def kv(key):
            r = subprocess.run([ctl, "--segstore", self.node.url, "kv",
                                "get", key], capture_output=True, text=True,
                               timeout=10)
            return r.stdout.strip()

        short = Raw(a, v=5)
        short.connect("exp-short", clean=False, cprops=[(P_SESSION_EXPIRY,
                                                          2)])
        short.subscribe("exp/#", 1)
        gone = Raw(a, v=5)
        gone.connect("exp-gone", clean=False, cprops=[(P_SESSION_EXPIRY, 1)])
        gone.subscribe("exp/#", 1)
        gone.send(b"\xe0\x00")  # offline before the kill
        gone.close()
        keep = Raw(a, v=5)
        keep.connect("exp-long", clean=False, cprops=[(P_SESSION_EXPIRY,
                                                        300)])
        keep.subscribe("exp/#", 1)
        stopped = Raw(c, v=5)
        stopped.connect("exp-stopped", clean=False,
                        cprops=[(P_SESSION_EXPIRY, 1)])
        stopped.subscribe("exp/#", 1)
        wait_for(lambda: "mqtt/s/exp-short" in kv("mqtt/s/exp-short") and
                 "mqtt/s/exp-gone" in kv("mqtt/s/exp-gone") and
                 "mqtt/s/exp-stopped" in kv("mqtt/s/exp-stopped"), 5,
                 "sessions in KV")
        self.node.kill_mqtt(a, signal.SIGKILL)
        self.node.kill_mqtt(c, signal.SIGTERM)
        for x in (short, keep, stopped):
            x.close()
        wait_for(lambda: "mqtt/s/exp-short" not in kv("mqtt/s/exp-short")
                 and "mqtt/s/exp-gone" not in kv("mqtt/s/exp-gone")
                 and "mqtt/s/exp-stopped" not in kv("mqtt/s/exp-stopped"),
                 20, "the killed and the stopped instance's sessions "
                 "expired")
        self.assertIn("mqtt/s/exp-long", kv("mqtt/s/exp-long"))


if __name__ == "__main__":
    mqtt_util.BIN = sys.argv.pop(1)
    unittest.main(verbosity=2)
