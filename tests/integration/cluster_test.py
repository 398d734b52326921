#!/usr/bin/python3
"""Several frontends, one store: the issue 5 topology end to end.

One sluice-segstore, two sluice-mqtt, two sluice-kafka and one haproxy per
protocol (TCP mode, tools/haproxy/haproxy.cfg.in), all on 127.0.0.1.  Every
client is a real one (paho-mqtt, mosquitto_pub/sub, confluent-kafka,
kafka-python) and talks only to the haproxy ports, so consecutive
connections land on different instances (haproxy's leastconn; the tests
check its per-server connection counts to be sure).

The tests run in order on one cluster:

  test_1_mqtt_across_instances   QoS 0/1/2, retained, shared subscriptions
  test_2_kafka_group_across_instances
                                 a group split over both instances; the
                                 commits read back from each instance
  test_3_kill9_under_load        kill -9 one sluice-mqtt and one
                                 sluice-kafka while traffic flows: nothing
                                 acknowledged lost, a persistent session
                                 resumes with its offline messages, the
                                 group resumes from committed offsets
  test_4_graceful_replacement    SIGTERM one frontend of each kind while
                                 traffic flows; a new instance added to
                                 haproxy takes the load; exit 0, DISCONNECT
                                 0x8B, nothing lost

Each traffic test prints one line per protocol: sent / acknowledged /
received / lost / duplicated.

Run: cluster_test.py BIN_DIR [unittest args], under /usr/bin/python3.
"""
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_util as cu  # noqa: E402
import mqtt_util  # noqa: E402  (Raw: a raw MQTT client)
from cluster_util import wait_for  # noqa: E402

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.properties import Properties  # noqa: E402
from paho.mqtt.packettypes import PacketTypes  # noqa: E402

SESSION_MS = 6000
HEARTBEAT_MS = 500
MAX_POLL_MS = 15000


# ---- MQTT: a paho client that records everything --------------------------

class MC:
    """A paho-mqtt client through haproxy (auto reconnect), recording what
    it receives, which publishes were acknowledged and why it was
    disconnected."""

    def __init__(self, port, cid, v5=False, clean=True, expiry=None):
        self.v5 = v5
        proto = mqtt.MQTTv5 if v5 else mqtt.MQTTv311
        if v5:
            self.c = mqtt.Client(client_id=cid, protocol=proto)
        else:
            self.c = mqtt.Client(client_id=cid, protocol=proto,
                                 clean_session=clean)
        self.c.reconnect_delay_set(0.05, 0.5)
        self.c.max_inflight_messages_set(50)
        self.lock = threading.Lock()
        self.got = []  # (topic, payload, qos, retain)
        self.acked = set()  # mids
        self.mids = {}  # mid -> payload
        self.disconnects = []  # reason code values (v5) or rc
        self.connects = 0
        self.connected = threading.Event()
        self.c.on_connect = self._on_connect
        self.c.on_message = self._on_message
        self.c.on_publish = self._on_publish
        self.c.on_disconnect = self._on_disconnect
        kw = {}
        if v5:
            kw["clean_start"] = clean
            if expiry is not None:
                p = Properties(PacketTypes.CONNECT)
                p.SessionExpiryInterval = expiry
                kw["properties"] = p
        self.c.connect("127.0.0.1", port, keepalive=10, **kw)
        self.c.loop_start()
        if not self.connected.wait(10):
            raise AssertionError("%s: no CONNACK" % cid)

    def _on_connect(self, c, u, flags, rc, props=None):
        self.connects += 1
        self.connected.set()

    def _on_disconnect(self, c, u, rc, props=None):
        self.connected.clear()
        with self.lock:
            self.disconnects.append(getattr(rc, "value", rc))

    def _on_message(self, c, u, m):
        with self.lock:
            self.got.append((m.topic, bytes(m.payload), m.qos, m.retain))

    def _on_publish(self, c, u, mid):
        with self.lock:
            self.acked.add(mid)

    def subscribe(self, filt, qos):
        done = threading.Event()
        self.c.on_subscribe = lambda *a: done.set()
        r, mid = self.c.subscribe(filt, qos)
        assert r == 0, r
        if not done.wait(10):
            raise AssertionError("no SUBACK for " + filt)

    def publish(self, topic, payload, qos, retain=False):
        info = self.c.publish(topic, payload, qos, retain)
        if qos:
            with self.lock:
                self.mids[info.mid] = payload
        return info

    def acked_payloads(self):
        with self.lock:
            return {self.mids[m] for m in self.acked if m in self.mids}

    def payloads(self):
        with self.lock:
            return [g[1] for g in self.got]

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def count_line(proto, sent, acked, received, lost, dup, extra=""):
    line = ("%s: sent %d / acknowledged %d / received %d / lost %d / "
            "duplicated %d%s" % (proto, sent, acked, received, lost, dup,
                                 extra))
    print("\n" + line, flush=True)
    return line


# ---- Kafka helpers ----------------------------------------------------------

def ck_conf(bootstrap, group, **kw):
    c = {"bootstrap.servers": bootstrap, "group.id": group,
         "session.timeout.ms": SESSION_MS,
         "heartbeat.interval.ms": HEARTBEAT_MS,
         "max.poll.interval.ms": MAX_POLL_MS,
         "enable.auto.commit": False, "auto.offset.reset": "earliest",
         "partition.assignment.strategy": "range",
         "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 500}
    c.update(kw)
    return c


class Member:
    """A confluent-kafka group member polled by the test thread."""

    def __init__(self, bootstrap, group, topic, name, **kw):
        from confluent_kafka import Consumer
        self.name = name
        self.c = Consumer(ck_conf(bootstrap, group, **kw))
        self.assigned = set()
        self.got = []  # (partition, offset, value)
        self.commits = []
        self.errors = []

        def on_assign(c, parts):
            self.assigned = {p.partition for p in parts}

        def on_revoke(c, parts):
            self.assigned = set()
        self.c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)

    def poll(self, t=0.02):
        m = self.c.poll(t)
        if m is None:
            return None
        if m.error():
            self.errors.append(str(m.error()))
            return None
        self.got.append((m.partition(), m.offset(), m.value()))
        return m

    def commit(self):
        from confluent_kafka import KafkaException
        try:
            res = self.c.commit(asynchronous=False)
        except KafkaException as e:
            self.errors.append("commit: %s" % e)
            return False
        for tp in res or []:
            if tp.error is None and tp.offset >= 0:
                self.commits.append((tp.partition, tp.offset))
        return True

    def close(self):
        self.c.close()


def pump(members, until, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for m in members:
            m.poll(0.02)
        if until():
            return
    raise AssertionError("timed out waiting for %s; assignments %s" % (
        what, [(m.name, sorted(m.assigned)) for m in members]))


class Producer(threading.Thread):
    """confluent-kafka, acks=all, producing `total` records round robin
    over `parts` partitions at about `rate` per second, in a thread;
    records (partition, offset, value) of every acknowledgement."""

    def __init__(self, bootstrap, topic, prefix, total, parts, rate=500):
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.prefix = bootstrap, topic, prefix
        self.total, self.parts, self.rate = total, parts, rate
        self.sent = 0
        self.acked = []
        self.errors = []
        self.stopped = False

    def run(self):
        from confluent_kafka import Producer as P
        p = P({"bootstrap.servers": self.bootstrap, "acks": "all",
               "linger.ms": 5, "message.timeout.ms": 30000,
               "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 500})

        def dr(err, msg):
            if err:
                self.errors.append(str(err))
            else:
                self.acked.append((msg.partition(), msg.offset(),
                                   msg.value()))
        t0 = time.time()
        for i in range(self.total):
            p.produce(self.topic, value=b"%s-%06d" % (self.prefix, i),
                      partition=i % self.parts, on_delivery=dr)
            self.sent += 1
            p.poll(0)
            ahead = t0 + (i + 1) / self.rate - time.time()
            if ahead > 0:
                p.poll(ahead)
        self.remaining = p.flush(40)
        self.stopped = True


def offset_fetch(port, group, topic, parts):
    """OffsetFetch v1 straight to one sluice-kafka instance (no haproxy):
    {partition: committed offset}."""
    def kstr(s):
        s = s.encode()
        return struct.pack(">h", len(s)) + s
    body = kstr(group) + struct.pack(">i", 1) + kstr(topic) + \
        struct.pack(">i", len(parts)) + b"".join(
            struct.pack(">i", p) for p in parts)
    hdr = struct.pack(">hhi", 9, 1, 7) + kstr("cluster-test")
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.sendall(struct.pack(">i", len(hdr + body)) + hdr + body)

    def rx(n):
        out = b""
        while len(out) < n:
            d = s.recv(n - len(out))
            if not d:
                raise EOFError
            out += d
        return out
    size = struct.unpack(">i", rx(4))[0]
    r = rx(size)
    s.close()
    i = 4  # correlation id
    out = {}
    (nt,) = struct.unpack_from(">i", r, i)
    i += 4
    for _ in range(nt):
        (ln,) = struct.unpack_from(">h", r, i)
        i += 2 + ln
        (np_,) = struct.unpack_from(">i", r, i)
        i += 4
        for _ in range(np_):
            p, off, mlen = struct.unpack_from(">iqh", r, i)
            i += 14 + max(mlen, 0)
            (err,) = struct.unpack_from(">h", r, i)
            i += 2
            assert err == 0, err
            out[p] = off
    return out


def check_dups_in_window(tc, got, commits, parts, every):
    """A record seen twice lies inside the uncommitted window: at or after
    an acknowledged commit of its partition (or offset 0) and within two
    commit intervals of it.  Returns the number of duplicates."""
    counts = {}
    for p, o, v in got:
        counts[(p, o)] = counts.get((p, o), 0) + 1
    commits = list(commits) + [(p, 0) for p in range(parts)]
    dups = 0
    for (p, o), c in counts.items():
        if c > 1:
            dups += c - 1
            tc.assertTrue(any(cp == p and co <= o < co + 2 * every
                              for cp, co in commits),
                          "duplicate %d:%d outside the uncommitted window" %
                          (p, o))
    return dups


class ClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cl = cu.Cluster()
        cls.failed = False
        try:
            cls.cl.start(2)
        except Exception:
            cls.cl.cleanup(failed=True)
            raise
        cls.mq = cls.cl.lb["mqtt"]
        cls.kf = "127.0.0.1:%d" % cls.cl.lb["kafka"]
        cls.lines = []

    @classmethod
    def tearDownClass(cls):
        cls.cl.cleanup(failed=cls.failed)
        for ln in cls.lines:
            print(ln)

    def run(self, result=None):
        r = super().run(result)
        if result is not None and (result.failures or result.errors):
            type(self).failed = True
        return r

    def spread(self, proto, names):
        """Every named server holds at least one connection right now."""
        st = self.cl.stat(proto)
        cur = {n: int(st[n]["scur"] or 0) for n in names}
        self.assertTrue(all(v >= 1 for v in cur.values()),
                        "connections not spread over instances: %s" % cur)
        return cur

    # ------------------------------------------------------------------
    def test_1_mqtt_across_instances(self):
        mq = self.mq
        sub, s1 = self.cl.landed("mqtt", lambda: MC(mq, "x-sub", v5=True))
        pub, s2 = self.cl.landed("mqtt", lambda: MC(mq, "x-pub"))
        self.assertNotEqual(s1, s2, "publisher and subscriber on one "
                            "instance")
        sub.subscribe("x/#", 2)
        want = []
        for qos in (0, 1, 2):
            for i in range(20):
                pl = b"q%d-%02d" % (qos, i)
                pub.publish("x/q%d" % qos, pl, qos).wait_for_publish(10)
                want.append((qos, pl))
        wait_for(lambda: len(sub.got) >= len(want), 10, "QoS 0/1/2 delivery")
        time.sleep(0.3)
        got = sorted((g[2], g[1]) for g in sub.got)
        # QoS 0 over loopback with nothing failing arrives too; QoS 2 is
        # exactly once, QoS 1 without a fault has no reason to repeat.
        self.assertEqual(got, sorted(want))

        # Retained: set through one instance, read on SUBSCRIBE through
        # both (two consecutive connections: one per instance).
        r = subprocess.run(["mosquitto_pub", "-p", str(mq), "-h",
                            "127.0.0.1", "-t", "x/ret", "-m", "kept",
                            "-q", "1", "-r"], timeout=10)
        self.assertEqual(r.returncode, 0)
        time.sleep(0.3)  # the KV event reaches the other instance
        for _ in range(2):
            r = subprocess.run(["mosquitto_sub", "-p", str(mq), "-h",
                                "127.0.0.1", "-t", "x/ret", "-C", "1",
                                "-W", "5", "-F", "%r %t %p"],
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(r.stdout.strip(), "1 x/ret kept", r.stderr)

        for c in (sub, pub):
            c.close()


    # A share group with members on two instances: each message to exactly
    # one member, cluster-wide (segstore's group coordinator splits the log
    # partitions between the instances; docs/mqtt.md section 9).
    def test_1b_shared_subscription_across_instances(self):
        mq = self.mq
        pub = MC(mq, "sh-pub")
        # Members on different instances; each message must go to
        # exactly one member.
        m1, s1 = self.cl.landed("mqtt", lambda: MC(mq, "sh-1", v5=True))
        for _ in range(4):
            m2, s2 = self.cl.landed("mqtt", lambda: MC(mq, "sh-2", v5=True))
            if s2 != s1:
                break
            m2.close()
        self.assertNotEqual(s1, s2, "share members on one instance")
        m1.subscribe("$share/g/sh/#", 1)
        m2.subscribe("$share/g/sh/#", 1)

        def stable():
            r = self.cl.ctl("group", "describe", "mqtt-share:g:sh/#",
                            check=False)
            return "state=Stable" in r.stdout and "members=2" in r.stdout
        wait_for(stable, 10, "share group over both instances")
        n = 40
        for i in range(n):
            pub.publish("sh/t%d" % (i % 8), b"s%02d" % i, 1) \
                .wait_for_publish(10)
        wait_for(lambda: len(m1.got) + len(m2.got) >= n, 10,
                 "shared deliveries")
        time.sleep(0.5)
        a, b = m1.payloads(), m2.payloads()
        both = sorted(set(a) & set(b))
        print("\nshared subscription across instances: member 1 got %d, "
              "member 2 got %d, %d to both (of %d)" % (len(a), len(b),
                                                        len(both), n))
        self.assertEqual(set(a) | set(b), {b"s%02d" % i for i in range(n)})
        self.assertEqual(both, [], "a message delivered to both members "
                         "of one share group (members on different "
                         "sluice-mqtt instances)")
        self.assertTrue(a and b, "every message to one instance")
        for c in (pub, m1, m2):
            c.close()

    # ------------------------------------------------------------------
    def test_2_kafka_group_across_instances(self):
        from kafka import KafkaProducer
        self.cl.ctl("topic", "create", "grp", "--partitions", "4")
        a = Member(self.kf, "g-grp", "grp", "a")
        pump([a], lambda: a.assigned == {0, 1, 2, 3}, 20, "a alone")
        b = Member(self.kf, "g-grp", "grp", "b")
        pump([a, b], lambda: len(a.assigned) == 2 and len(b.assigned) == 2
             and not (a.assigned & b.assigned), 30, "a 2 + 2 split")
        self.spread("kafka", ["kafka1", "kafka2"])
        # kafka-python produces, acks=all, through haproxy too.
        kp = KafkaProducer(bootstrap_servers=self.kf, acks="all",
                           linger_ms=5)
        futs = [kp.send("grp", value=b"g-%04d" % i, partition=i % 4)
                for i in range(400)]
        kp.flush(20)
        acked = {(f.get(10).partition, f.get(10).offset) for f in futs}
        kp.close()
        pump([a, b], lambda: len(a.got) + len(b.got) >= 400, 30, "drain")
        got = [(p, o) for p, o, v in a.got + b.got]
        self.assertEqual(sorted(got), sorted(acked))
        self.assertEqual({p for p, o in [(g[0], g[1]) for g in a.got]},
                         a.assigned)
        self.assertEqual({p for p, o in [(g[0], g[1]) for g in b.got]},
                         b.assigned)
        self.assertTrue(a.commit())
        self.assertTrue(b.commit())
        # Each instance, asked directly, sees every commit.
        for name in ("kafka1", "kafka2"):
            self.assertEqual(offset_fetch(self.cl.procs[name].port, "g-grp",
                                          "grp", [0, 1, 2, 3]),
                             {0: 100, 1: 100, 2: 100, 3: 100}, name)
        a.close()
        b.close()

    # ------------------------------------------------------------------
    def test_3_kill9_under_load(self):
        mq, cl = self.mq, self.cl
        # An offline persistent session, made before the kill.
        off = MC(mq, "k-offline", clean=False)
        off.subscribe("load/#", 1)
        off.close()
        # The publisher and one subscriber on the instance that will die
        # (both must reconnect), another subscriber on the survivor.
        pub, victim = cl.landed("mqtt", lambda: MC(mq, "k-pub", clean=False))
        survivor = {"mqtt1": "mqtt2", "mqtt2": "mqtt1"}[victim]

        def on(server, cid):
            # leastconn sends a connection to the instance holding the
            # fewest: when cid lands on the other one, hold an extra
            # connection there (whatever earlier tests left open) and try
            # again.
            ballast = []
            try:
                for _ in range(6):
                    c, sv = cl.landed("mqtt",
                                      lambda: MC(mq, cid, clean=False))
                    if sv == server:
                        return c
                    c.close()
                    b, bsv = cl.landed("mqtt", lambda: MC(
                        mq, "k-ballast-%d" % len(ballast)))
                    if bsv == server:
                        b.close()
                    else:
                        ballast.append(b)
            finally:
                for b in ballast:
                    b.close()
            raise AssertionError("%s never landed on %s" % (cid, server))
        sub = on(victim, "k-sub")
        sub.subscribe("load/#", 2)
        sub2 = on(survivor, "k-sub2")
        sub2.subscribe("load/#", 2)

        cl.ctl("topic", "create", "kload", "--partitions", "4")
        small = {"fetch.max.bytes": 4096, "message.max.bytes": 4096,
                 "max.partition.fetch.bytes": 1024,
                 "queued.max.messages.kbytes": 16}
        ka = Member(self.kf, "g-kill", "kload", "a", **small)
        kb = Member(self.kf, "g-kill", "kload", "b", **small)
        pump([ka, kb], lambda: len(ka.assigned) == 2 and
             len(kb.assigned) == 2, 30, "group of two")
        prod = Producer(self.kf, "kload", b"k", 3000, 4, rate=600)

        # MQTT publisher: QoS 1 and 2 alternately, ~300/s, in a thread.
        n_mq = 900
        sent_mq = []

        def mqtt_load():
            for i in range(n_mq):
                pl = b"m%05d" % i
                pub.publish("load/%d" % (i % 8), pl, 1 + i % 2)
                sent_mq.append(pl)
                time.sleep(1 / 300)
        th = threading.Thread(target=mqtt_load, daemon=True)
        th.start()
        prod.start()

        every = 20
        seen = set()
        killed = None
        deadline = time.time() + 60
        while time.time() < deadline:
            for m in (ka, kb):
                msg = m.poll(0.01)
                if msg is not None:
                    seen.add(msg.value())
                    if len([g for g in m.got]) % every == 0:
                        m.commit()
            if killed is None and len(sent_mq) > n_mq // 3 and \
                    len(seen) > 600:
                # Under load: one sluice-mqtt and one sluice-kafka die;
                # Kafka clients hold connections through both instances.
                self.spread("kafka", ["kafka1", "kafka2"])
                killed = time.time()
                cl.signal(victim, signal.SIGKILL)
                cl.signal("kafka1", signal.SIGKILL)
            if prod.stopped and not th.is_alive() and \
                    {v for p, o, v in prod.acked} <= seen:
                break
        th.join(10)
        self.assertIsNotNone(killed, "the load never reached the kill")
        for m in (ka, kb):
            m.commit()

        # MQTT: every acknowledged QoS 1/2 publish reached the live
        # subscriber (which may have been on the killed instance).
        wait_for(lambda: len(pub.acked_payloads()) == n_mq, 20,
                 "every MQTT publish acknowledged after reconnecting")
        acked_mq = pub.acked_payloads()
        for s_ in (sub, sub2):
            wait_for(lambda: acked_mq <= set(s_.payloads()), 20,
                     "every acknowledged publish delivered")
        time.sleep(0.5)
        for what, s_ in (("subscriber on the killed instance", sub),
                         ("subscriber on the survivor", sub2)):
            rx = s_.payloads()
            lost = acked_mq - set(rx)
            dup = len(rx) - len(set(rx))
            self.lines.append(count_line(
                "mqtt kill -9", len(sent_mq), len(acked_mq), len(set(rx)),
                len(lost), dup, " (%s; reconnects: publisher %d, "
                "subscriber %d)" % (what, pub.connects - 1,
                                    s_.connects - 1)))
            self.assertEqual(lost, set())
        self.assertGreaterEqual(pub.connects, 2, "the publisher moved")
        self.assertGreaterEqual(sub.connects, 2, "the subscriber moved")
        # The offline session resumes through a survivor with every
        # message published while it was away.
        off = MC(mq, "k-offline", clean=False)
        wait_for(lambda: acked_mq <= set(off.payloads()), 20,
                 "offline messages of the persistent session")
        rx_off = off.payloads()
        self.lines.append(count_line(
            "mqtt offline session", len(sent_mq), len(acked_mq),
            len(set(rx_off)), len(acked_mq - set(rx_off)),
            len(rx_off) - len(set(rx_off))))
        for c in (off, sub, sub2, pub):
            c.close()

        # Kafka: every acks=all record was consumed; duplicates only in
        # the uncommitted window.
        self.assertEqual(prod.errors, [])
        self.assertEqual(prod.remaining, 0)
        acked_kf = {v for p, o, v in prod.acked}
        got = ka.got + kb.got
        vals = [v for p, o, v in got]
        lost_kf = acked_kf - set(vals)
        dups = check_dups_in_window(self, got, ka.commits + kb.commits, 4,
                                    every)
        self.lines.append(count_line(
            "kafka kill -9", prod.sent, len(acked_kf), len(set(vals)),
            len(lost_kf), dups))
        self.assertEqual(lost_kf, set())

        # The group rebalances (b leaves) and a resumes b's partitions
        # from b's committed offsets: the next records, exactly once.
        kb.close()
        pump([ka], lambda: ka.assigned == {0, 1, 2, 3}, 30,
             "rebalance after the kill")
        n_before = len(ka.got)
        p2 = Producer(self.kf, "kload", b"r", 200, 4, rate=2000)
        p2.run()
        pump([ka], lambda: {v for p, o, v in p2.acked} <=
             {v for p, o, v in ka.got[n_before:]}, 30, "resume")
        time.sleep(0.5)
        ka.poll(0.1)
        after = [v for p, o, v in ka.got[n_before:]]
        self.assertEqual(sorted(after), sorted(v for p, o, v in p2.acked),
                         "after the rebalance: exactly the new records")
        ka.close()

        # A supervisor restarts the dead instances on their ports.
        cl.start_mqtt(victim, cl.procs[victim].port)
        cl.start_kafka("kafka1", cl.procs["kafka1"].port)
        cl.wait_status("mqtt", victim, "UP")
        cl.wait_status("kafka", "kafka1", "UP")

    # ------------------------------------------------------------------
    def test_4_graceful_replacement(self):
        mq, cl = self.mq, self.cl
        # MQTT 5 clients spread over mqtt1 and mqtt2 before the new
        # instance joins, so that some are on the one to be replaced.
        subs = [MC(mq, "g-sub%d" % i, v5=True, clean=False, expiry=300)
                for i in range(2)]
        for s in subs:
            s.subscribe("up/#", 1)
        pubs = [MC(mq, "g-pub%d" % i, v5=True) for i in range(2)]
        # paho 1.6.1 drops the reason code of a DISCONNECT sent in the
        # short form (it parses one only when Remaining Length > 2), so two
        # raw MQTT 5 connections (consecutive: one per instance) watch for
        # the DISCONNECT itself.
        watch = []
        for i in range(2):
            w = mqtt_util.Raw(mq, v=5)
            w.connect("g-watch%d" % i)
            watch.append(w)
        self.spread("mqtt", ["mqtt1", "mqtt2"])

        cl.ctl("topic", "create", "up", "--partitions", "2")
        ka = Member(self.kf, "g-up", "up", "a")
        kb = Member(self.kf, "g-up", "up", "b")
        pump([ka, kb], lambda: len(ka.assigned) == 1 and
             len(kb.assigned) == 1, 30, "group of two")
        self.spread("kafka", ["kafka1", "kafka2"])
        prod = Producer(self.kf, "up", b"u", 2000, 2, rate=500)

        # The new instances start beside the old ones and join haproxy.
        cl.start_mqtt("mqtt3")
        cl.start_kafka("kafka3")
        cl.add_server("mqtt", "mqtt3")
        cl.add_server("kafka", "kafka3")

        sent = []

        def mqtt_load():
            for i in range(600):
                pl = b"u%05d" % i
                pubs[i % 2].publish("up/%d" % (i % 4), pl, 1)
                sent.append(pl)
                time.sleep(1 / 200)
        th = threading.Thread(target=mqtt_load, daemon=True)
        th.start()
        prod.start()

        rc = {}
        stop_t = {}

        def term(name, port):
            t0 = time.time()
            cl.procs[name].p.send_signal(signal.SIGTERM)
            # It stops accepting: a direct connection is refused soon.
            wait_for(lambda: not cu.listening(port), 2,
                     name + " to stop accepting")
            rc[name] = cl.procs[name].p.wait(timeout=30)
            stop_t[name] = time.time() - t0
        every = 20
        seen = set()
        stoppers = []
        deadline = time.time() + 60
        while time.time() < deadline:
            for m in (ka, kb):
                msg = m.poll(0.01)
                if msg is not None:
                    seen.add(msg.value())
                    if len(m.got) % every == 0:
                        m.commit()
            if not stoppers and len(sent) > 200 and len(seen) > 500:
                for name in ("mqtt1", "kafka1"):
                    t = threading.Thread(target=term, args=(
                        name, cl.procs[name].port), daemon=True)
                    t.start()
                    stoppers.append(t)
            if stoppers and prod.stopped and not th.is_alive() and \
                    {v for p, o, v in prod.acked} <= seen:
                break
        for t in stoppers:
            t.join(30)
        th.join(10)
        self.assertEqual(rc, {"mqtt1": 0, "kafka1": 0},
                         "exit status after SIGTERM")

        # MQTT: the clients of mqtt1 were told 0x8B (server shutting
        # down) and closed; those of mqtt2 kept their connection.
        seen_w = []
        for w in watch:
            closed = w.closed(0.5)
            seen_w.append((closed, [(t, b[:1].hex()) for t, f, b in w.last]))
            w.close()
        self.assertEqual(sorted(seen_w), [(False, []), (True, [(14, "8b")])],
                         "watchers: (closed, packets before the close)")
        reasons = [r for c in subs + pubs for r in c.disconnects]
        self.assertGreaterEqual(len(reasons), 1, "no paho client moved")
        wait_for(lambda: len(set().union(*[p.acked_payloads()
                                          for p in pubs])) == len(sent),
                 20, "every publish acknowledged")
        acked = set().union(*[p.acked_payloads() for p in pubs])
        for s in subs:
            wait_for(lambda: acked <= set(s.payloads()), 20,
                     "every acknowledged publish delivered")
        time.sleep(0.3)
        rx = [s.payloads() for s in subs]
        lost = sum(len(acked - set(r)) for r in rx)
        dup = sum(len(r) - len(set(r)) for r in rx)
        self.lines.append(count_line(
            "mqtt SIGTERM", len(sent), len(acked),
            sum(len(set(r)) for r in rx), lost, dup,
            " (2 subscribers; %d paho clients moved; mqtt1 exit %d "
            "after %.2fs)" % (len(reasons), rc["mqtt1"], stop_t["mqtt1"])))
        self.assertEqual(lost, 0)

        # Kafka: nothing acknowledged lost, no delivery error.
        self.assertEqual(prod.errors, [])
        acked_kf = {v for p, o, v in prod.acked}
        for m in (ka, kb):
            m.commit()
        got = ka.got + kb.got
        vals = [v for p, o, v in got]
        dups = check_dups_in_window(self, got, ka.commits + kb.commits, 2,
                                    every)
        self.lines.append(count_line(
            "kafka SIGTERM", prod.sent, len(acked_kf), len(set(vals)),
            len(acked_kf - set(vals)), dups,
            " (kafka1 exit %d after %.2fs)" % (rc["kafka1"],
                                                stop_t["kafka1"])))
        self.assertEqual(acked_kf - set(vals), set())

        # The new instances took the load.
        cl.wait_status("mqtt", "mqtt1", "DOWN")
        cl.wait_status("kafka", "kafka1", "DOWN")
        st_m, st_k = cl.stat("mqtt"), cl.stat("kafka")
        self.assertGreater(int(st_m["mqtt3"]["stot"]), 0)
        self.assertGreater(int(st_k["kafka3"]["stot"]), 0)
        for c in subs + pubs:
            c.close()
        ka.close()
        kb.close()


if __name__ == "__main__":
    cu.BIN = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
