#!/usr/bin/python3
"""segstore restarts under running frontends (issue 5, "segstore restart").

One sluice-segstore, two sluice-mqtt, two sluice-kafka and one haproxy per
protocol (cluster_util.Cluster, the tools/cluster.sh topology).  While
real clients keep producing and consuming through haproxy —

  * confluent-kafka: a producer with acks=all and librdkafka's retries,
    and a consumer group of two committing every 20 records;
  * paho-mqtt: a QoS 1 publisher and a QoS 1 subscriber, both MQTT 3.1.1
    persistent sessions; and a raw MQTT 5 client that publishes while
    segstore is away and watches what comes back —

segstore is stopped twice, once with SIGTERM and once with kill -9, kept
down for a few seconds each time and started again on the same data
directory and IPC URL.  The test asserts:

  * every frontend process stays up the whole time;
  * while segstore is away no MQTT publish is acknowledged (neither a
    PUBACK nor a negative one: the MQTT 5 client gets no PUBACK at all, or
    the connection closes and the client publishes again), and the Kafka
    clients see only retriable errors (no delivery report fails);
  * traffic resumes by itself: every publish is acknowledged in the end
    and every acknowledged MQTT publish and acks=all record is received;
  * each frontend logs one "segstore unreachable" line per outage (and
    one when it answers again), not one per request, and counts the
    outages in its metrics.

It prints sent / acknowledged / received / lost / duplicated for each
protocol.

test_server_reference_on_sigterm (same cluster): a sluice-mqtt given
mqtt.server.reference tells its MQTT 5 clients on SIGTERM to use another
server — DISCONNECT 0x9C with the Server Reference property, as paho-mqtt
reports it — instead of 0x8B.

Run: cluster_segstore_test.py BIN_DIR [unittest args], under
/usr/bin/python3.
"""
import os
import signal
import sys
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_util as cu  # noqa: E402
import mqtt_util  # noqa: E402
from cluster_util import wait_for  # noqa: E402
from cluster_test import MC, Member, count_line  # noqa: E402

DOWN_S = 3.0  # how long segstore stays away each time
FRONTENDS = ("mqtt1", "mqtt2", "kafka1", "kafka2")


def metrics(port):
    """{name: value} of the unlabelled samples of a /metrics page."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=5) as r:
        text = r.read().decode()
    out = {}
    for ln in text.splitlines():
        if ln and not ln.startswith("#") and "{" not in ln:
            k, v = ln.split()[:2]
            out[k] = float(v)
    return out


class TMC(MC):
    """MC that also records when each acknowledgement came."""

    def __init__(self, *a, **kw):
        self.times = []
        super().__init__(*a, **kw)

    def _on_publish(self, c, u, mid):
        self.times.append(time.time())
        super()._on_publish(c, u, mid)

    def ack_times(self):
        return list(self.times)


class Producer(threading.Thread):
    """confluent-kafka, acks=all, `rate` records a second until stopped;
    records every delivery report (value, error, time)."""

    def __init__(self, bootstrap, topic, parts, rate=200):
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.parts = bootstrap, topic, parts
        self.rate = rate
        self.sent = 0
        self.acked = []  # (time, value)
        self.errors = []
        self.halt = threading.Event()
        self.remaining = None

    def run(self):
        from confluent_kafka import Producer as P
        p = P({"bootstrap.servers": self.bootstrap, "acks": "all",
               "linger.ms": 5, "message.timeout.ms": 60000,
               "retry.backoff.ms": 100,
               "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 500})

        def dr(err, msg):
            if err:
                self.errors.append(str(err))
            else:
                self.acked.append((time.time(), msg.value()))
        i = 0
        t0 = time.time()
        while not self.halt.is_set():
            p.produce(self.topic, value=b"r%06d" % i,
                      partition=i % self.parts, on_delivery=dr)
            i += 1
            self.sent = i
            ahead = t0 + i / self.rate - time.time()
            p.poll(max(ahead, 0))
        self.remaining = p.flush(60)


class SegstoreRestartTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cl = cu.Cluster()
        cls.failed = False
        try:
            cl = cls.cl
            cl.start_segstore()
            for n in FRONTENDS:
                mport = cu.free_port()
                start = cl.start_mqtt if n.startswith("mqtt") else \
                    cl.start_kafka
                start(n, None, "--set", "metrics.listen=127.0.0.1:%d" % mport)
                cl.procs[n].mport = mport
            cl.start_haproxy("mqtt", ["mqtt1", "mqtt2"])
            cl.start_haproxy("kafka", ["kafka1", "kafka2"])
        except Exception:
            cls.cl.cleanup(failed=True)
            raise
        cls.mq = cls.cl.lb["mqtt"]
        cls.kf = "127.0.0.1:%d" % cls.cl.lb["kafka"]

    @classmethod
    def tearDownClass(cls):
        cls.cl.cleanup(failed=cls.failed)

    def run(self, result=None):
        r = super().run(result)
        if result is not None and (result.failures or result.errors):
            type(self).failed = True
        return r

    def frontends_up(self):
        for n in FRONTENDS:
            pr = self.cl.procs[n]
            self.assertIsNone(pr.p.poll(), "%s exited while segstore was "
                              "away:\n%s" % (n, pr.text()[-3000:]))

    def outage(self, sig, probe):
        """Stop segstore with sig, keep it away DOWN_S seconds (probe()
        runs meanwhile), start it again.  Returns (down at, up at)."""
        cl = self.cl
        pr = cl.procs["segstore"]
        pr.p.send_signal(sig)
        rc = pr.p.wait(timeout=30)
        t_down = time.time()
        if sig == signal.SIGTERM:
            self.assertEqual(rc, 0, "segstore exit status after SIGTERM")
        probe()
        rest = t_down + DOWN_S - time.time()
        if rest > 0:
            time.sleep(rest)
        self.frontends_up()
        t_up = time.time()
        cl.start_segstore()
        return t_down, t_up

    def test_segstore_restart_under_load(self):
        cl = self.cl
        cl.ctl("topic", "create", "rs", "--partitions", "4")
        # Persistent MQTT sessions made before any outage.
        sub = TMC(self.mq, "rs-sub", clean=False)
        sub.subscribe("rs/#", 1)
        pub = TMC(self.mq, "rs-pub", clean=False)
        # An MQTT 5 publisher too: a PUBACK with an error reason would
        # count as acknowledged for paho 1.6.1, and show up as lost.
        pub5 = TMC(self.mq, "rs-pub5", v5=True, clean=False, expiry=300)
        ka = Member(self.kf, "g-rs", "rs", "a")
        kb = Member(self.kf, "g-rs", "rs", "b")
        deadline = time.time() + 30
        while not (len(ka.assigned) == 2 and len(kb.assigned) == 2):
            self.assertLess(time.time(), deadline, "group of two")
            ka.poll(0.02)
            kb.poll(0.02)
        prod = Producer(self.kf, "rs", 4)

        sent_mq = []
        halt = threading.Event()

        def mqtt_load():
            i = 0
            while not halt.is_set():
                pl = b"m%05d" % i
                (pub, pub5)[i % 2].publish("rs/%d" % (i % 4), pl, 1)
                sent_mq.append(pl)
                i += 1
                time.sleep(1 / 150)
        th = threading.Thread(target=mqtt_load, daemon=True)
        th.start()
        prod.start()

        every = 20
        consuming = threading.Event()
        consuming.set()

        def consume():
            n = 0
            while consuming.is_set():
                for m in (ka, kb):
                    if m.poll(0.01) is not None:
                        n += 1
                        if n % every == 0:
                            m.commit()
        ct = threading.Thread(target=consume, daemon=True)
        ct.start()

        def acked_all():
            return pub.acked_payloads() | pub5.acked_payloads()

        def wait_traffic(what, n_mq=100, n_kf=100):
            a0, k0 = len(acked_all()), len(prod.acked)
            wait_for(lambda: len(acked_all()) >= a0 + n_mq and
                     len(prod.acked) >= k0 + n_kf, 30, what)

        raw_results = []

        def raw_probe(tag):
            """An MQTT 5 client connected before the outage publishes
            QoS 1 while segstore is away: no PUBACK may come back (of any
            reason code) while it is away.  Returns the pending ids."""
            def probe():
                r = self.raw
                got = []
                for pid in (1, 2):
                    try:
                        r.publish("rs/raw", b"%s-%d" % (tag, pid), qos=1,
                                  pid=pid)
                    except OSError:
                        break
                end = time.time() + DOWN_S - 1.0
                try:
                    while time.time() < end:
                        pk = r.recv_packet(max(0.05, end - time.time()))
                        if pk is not None:
                            got.append(pk)
                except OSError as e:  # the connection closed
                    got.append(("end", type(e).__name__))
                raw_results.append((tag, got))
            return probe

        def raw_connect():
            self.raw = mqtt_util.Raw(self.mq, v=5, timeout=5)
            self.raw.connect("rs-raw")

        def link_lines(n):
            tag = "MQ-SEGSTORE" if n.startswith("mqtt") else "KF-SEGSTORE"
            lines = [ln for ln in cl.procs[n].text().splitlines()
                     if tag in ln]
            return ([ln for ln in lines if "unreachable" in ln],
                    [ln for ln in lines if "reachable again" in ln])

        def all_reconnected():
            # Every frontend has logged its way back (nng redials with a
            # backoff of up to 2 s), so that the next outage hits each of
            # them while connected.
            return all(len(d) == len(b) for d, b in map(link_lines,
                                                        FRONTENDS))

        wait_traffic("traffic before the first outage")
        outages = []
        for sig, tag in ((signal.SIGTERM, b"term"), (signal.SIGKILL, b"kill")):
            raw_connect()
            outages.append((sig,) + self.outage(sig, raw_probe(tag)))
            wait_traffic("traffic after restarting segstore (%s)" %
                         signal.Signals(sig).name)
            wait_for(all_reconnected, 15, "every frontend reconnected")
            self.frontends_up()

        # The raw client's publishes made while segstore was away: publish
        # them again now (what a client does after the connection closed
        # or the PUBACK never came) — they are received like the rest.
        raw_connect()
        for tag in (b"term", b"kill"):
            for pid in (1, 2):
                self.raw.publish("rs/raw", b"%s-%d" % (tag, pid), qos=1,
                                 pid=pid, dup=True)
                t, f, b = self.raw.expect(4, 10)
                self.assertEqual(b[:3], bytes([0, pid, 0])[:len(b)])
        self.raw.close()

        halt.set()
        prod.halt.set()
        th.join(10)
        prod.join(70)
        wait_for(lambda: set(sent_mq) == acked_all(), 30,
                 "every MQTT publish acknowledged in the end")
        acked_mq = acked_all()
        acked_kf = {v for t, v in prod.acked}
        try:
            wait_for(lambda: acked_mq <= set(sub.payloads()), 30,
                     "every acknowledged MQTT publish received")
        except AssertionError:
            pass  # counted and reported below
        wait_for(lambda: acked_kf <= {v for p, o, v in ka.got + kb.got},
                 30, "every acks=all record consumed")
        time.sleep(0.3)
        consuming.clear()
        ct.join(10)
        self.frontends_up()

        # Nothing was acknowledged to the raw MQTT 5 client while segstore
        # was away; it saw its connection close or nothing at all.
        for tag, got in raw_results:
            acks = [p for p in got if p[0] == 4]
            self.assertEqual(acks, [], "%s: PUBACK while segstore was "
                             "away: %s" % (tag, got))

        # MQTT acknowledgements: none while segstore was away (the first
        # half second after it went allows for PUBACKs of appends that
        # segstore answered just before going).
        ack_times = pub.ack_times() + pub5.ack_times()
        for sig, t_down, t_up in outages:
            during = [t for t in ack_times if t_down + 0.5 < t < t_up]
            self.assertEqual(during, [], "MQTT PUBACKs while segstore was "
                             "away (%s)" % signal.Signals(sig).name)
            during = [t for t, v in prod.acked if t_down + 0.5 < t < t_up]
            self.assertEqual(during, [], "Kafka acks while segstore was "
                             "away (%s)" % signal.Signals(sig).name)

        rx = sub.payloads()
        raw_rx = [p for p in rx if p.startswith((b"term-", b"kill-"))]
        self.assertEqual(set(raw_rx), {b"term-1", b"term-2", b"kill-1",
                                       b"kill-2"})
        rx = [p for p in rx if p not in raw_rx]
        lost = acked_mq - set(rx)
        (count_line("mqtt segstore restart", len(sent_mq),
                         len(acked_mq), len(set(rx)), len(lost),
                         len(rx) - len(set(rx)),
                         " (reconnects: 3.1.1 publisher %d, 5.0 publisher "
                         "%d, subscriber %d)" % (pub.connects - 1,
                                                 pub5.connects - 1,
                                                 sub.connects - 1)))
        self.assertEqual(sorted(lost), [], "acknowledged, never received")

        self.assertEqual(prod.errors, [], "Kafka delivery errors")
        self.assertEqual(prod.remaining, 0)
        got = ka.got + kb.got
        vals = [v for p, o, v in got]
        lost_kf = acked_kf - set(vals)
        (count_line("kafka segstore restart", prod.sent, len(acked_kf),
                         len(set(vals)), len(lost_kf),
                         len(vals) - len(set(vals)),
                         " (consumer errors seen: %s)" % sorted(
                             set(e.split(":")[0] for e in
                                 ka.errors + kb.errors))))
        self.assertEqual(lost_kf, set())

        # One warning per outage per frontend, one line when it is back.
        for n in FRONTENDS:
            down, back = link_lines(n)
            self.assertEqual((len(down), len(back)),
                             (len(outages), len(outages)),
                             "%s: 'unreachable' and 'reachable again' lines "
                             "for %d outages:\n%s" % (
                                 n, len(outages), "\n".join(down + back)))
            m = metrics(cl.procs[n].mport)
            kind = "mqtt" if n.startswith("mqtt") else "kafka"
            self.assertEqual(m.get("sluice_%s_segstore_up" % kind), 1.0, n)
            self.assertEqual(m.get("sluice_%s_segstore_unreachable_total" %
                                   kind), float(len(outages)), n)

        for c in (sub, pub, pub5):
            c.close()
        ka.close()
        kb.close()

    def test_server_reference_on_sigterm(self):
        cl = self.cl
        ref = "127.0.0.1:%d" % cl.lb["mqtt"]
        pr = cl.start_mqtt("mqtt-ref", None, "--set",
                           "mqtt.server.reference=" + ref)
        got = []
        done = threading.Event()

        def on_disconnect(c, u, rc, props=None):
            got.append((getattr(rc, "value", rc),
                        getattr(props, "ServerReference", None)))
            done.set()
        c = MC(pr.port, "ref-client", v5=True)
        c.c.on_disconnect = on_disconnect
        c.c.reconnect_delay_set(30, 30)  # stay disconnected: one report
        self.assertEqual(cl.signal("mqtt-ref", signal.SIGTERM), 0)
        self.assertTrue(done.wait(10), "no DISCONNECT reported")
        c.c.loop_stop()
        self.assertEqual(got[0], (0x9C, ref))


if __name__ == "__main__":
    cu.BIN = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
