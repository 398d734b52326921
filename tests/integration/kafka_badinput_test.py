#!/usr/bin/python3
"""Bad input against sluice-kafka over raw sockets.

Garbage, size prefixes that are negative or over max.request.bytes,
truncated requests, strings with bad lengths, absurd array counts, unknown
API keys and versions, and Produce batches that break Kafka's rules.  Each
gets the protocol's error response or a closed connection; afterwards the
process still serves a normal client (kcat), and at SIGTERM it exits 0
having counted what it refused.  Also: ApiVersions v3 and v4 answered the
KIP-511 way, pipelined responses in request order, and segstore down
answered with retriable errors.

Run: kafka_badinput_test.py BIN_DIR [unittest args].
"""
import os
import signal
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_test as kt  # noqa: E402
from kafka_test import (Raw, batch, kbytes, kcat, kstr,  # noqa: E402
                        produce_body, produce_errors, record, request)

SERVED = {0: (0, 7), 1: (4, 10), 2: (1, 4), 3: (0, 7), 8: (2, 7),
          9: (1, 5), 10: (0, 2), 11: (0, 5), 12: (0, 3), 13: (0, 4),
          14: (0, 3), 15: (0, 4), 16: (0, 2), 18: (0, 3), 19: (0, 4),
          20: (0, 3), 22: (0, 1), 32: (0, 2), 33: (0, 1), 37: (0, 1),
          42: (0, 1), 44: (0, 1)}


def apiversions_v0(body):
    err, n = struct.unpack_from(">hi", body, 0)
    keys = {}
    for i in range(n):
        k, lo, hi = struct.unpack_from(">hhh", body, 6 + 6 * i)
        keys[k] = (lo, hi)
    return err, keys


def fetch_body(topic, partition, offset, max_wait=0, min_bytes=1,
               max_bytes=1 << 20, part_max=1 << 20):
    return (struct.pack(">iiiib", -1, max_wait, min_bytes, max_bytes, 0) +
            struct.pack(">i", 1) + kstr(topic) + struct.pack(">i", 1) +
            struct.pack(">iqi", partition, offset, part_max))


def fetch_v4_first(body):
    """(error, high watermark, records) of the first partition."""
    off = 4  # throttle
    off += 4  # topic count
    ln = struct.unpack_from(">h", body, off)[0]
    off += 2 + ln + 4
    p, err, hw, lso, na = struct.unpack_from(">ihqqi", body, off)
    off += 26 + max(na, 0) * 16
    rl = struct.unpack_from(">i", body, off)[0]
    off += 4
    return err, hw, body[off:off + max(rl, 0)]


def metadata_v1(topics):
    if topics is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(topics)) + b"".join(kstr(t) for t in topics)


class BadInputTest(kt.KafkaTestBase):
    def assert_alive(self, n):
        r = kcat(n, "-L", "-J", timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNone(n.kf.poll())

    def closes(self, n, data, why):
        r = Raw(n)
        r.send(data)
        self.assertTrue(r.closed(), why)
        r.close()

    def test_framing_and_decoding_garbage(self):
        n = self.node(kafka_args=["--set", "max.request.bytes=65536"])
        self.closes(n, b"\xff\xff\xff\xff" + os.urandom(64), "negative size")
        self.closes(n, struct.pack(">i", 65537), "size over the limit")
        self.closes(n, struct.pack(">i", 0x7fffffff), "2 GiB size")
        self.closes(n, struct.pack(">i", 3) + b"\x00\x03\x00",
                    "frame shorter than a header")
        # Random frames of plausible size: never a crash.
        for i in range(200):
            body = os.urandom(1 + i % 90)
            r = Raw(n)
            r.send(struct.pack(">i", len(body)) + body)
            r.closed(0.2)
            r.close()
        # A request truncated inside its body (the frame itself is whole).
        hdr = struct.pack(">hhi", 3, 1, 1) + kstr("t")
        self.closes(n, struct.pack(">i", len(hdr) + 2) + hdr + b"\x00\x00",
                    "truncated Metadata body")
        # A string longer than what follows, a negative string length, an
        # absurd array count.
        body = struct.pack(">i", 1) + struct.pack(">h", 1000) + b"abc"
        self.closes(n, request(3, 1, 1, body), "string past the end")
        body = struct.pack(">i", 1) + struct.pack(">h", -5)
        self.closes(n, request(3, 1, 1, body), "negative string length")
        self.closes(n, request(3, 1, 1, struct.pack(">i", 0x7fffffff)),
                    "absurd array count")
        self.closes(n, request(0, 7, 1, kstr(None) + struct.pack(
            ">hii", 1, 1000, 0x7ffffff0)), "absurd Produce topic count")
        self.closes(n, request(1, 4, 1, struct.pack(
            ">iiiib", -1, 0, 1, 100, 0) + struct.pack(">i", 0x40000000)),
            "absurd Fetch topic count")
        # Trailing bytes after a valid body.
        self.closes(n, request(3, 1, 1, metadata_v1([]) + b"\x00"),
                    "trailing byte")
        # A bad client_id length in the header.
        self.closes(n, struct.pack(">ihhih", 10, 3, 1, 1, 300),
                    "client_id past the end")
        # A frame that never completes: the peer gives up, we do not care.
        r = Raw(n)
        r.send(struct.pack(">i", 1000) + b"\x00" * 10)
        r.close()
        self.assert_alive(n)
        self.assertEqual(n.stop_kafka(signal.SIGTERM), 0)
        log = n.log()
        self.assertNotIn("bad_frames=0 ", log)
        self.assertNotIn("malformed=0 ", log)

    def test_unknown_and_unserved_apis(self):
        n = self.node()
        # Unknown keys (one Kafka defines, one it does not); served keys
        # at versions outside their ranges (OffsetCommit v0-1 and
        # LeaveGroup v5+ are not served).  Kafka closes, so do we.
        for key, ver, body in [(99, 0, b""), (24, 0, b""), (10, 3, b""),
                               (22, 2, b""), (37, 2, b""), (8, 1, b""),
                               (9, 0, b""), (13, 5, b""), (16, 3, b""),
                               (0, 8, b""), (1, 11, b""), (3, 8, b""),
                               (2, 0, b"")]:
            self.closes(n, request(key, ver, 7, body), "api %d v%d" %
                        (key, ver))
        self.assert_alive(n)
        self.assertEqual(n.stop_kafka(signal.SIGTERM), 0)
        self.assertIn("unsupported=13 ", n.log())

    def test_apiversions_versions(self):
        n = self.node()
        r = Raw(n)
        err, keys = apiversions_v0(r.call(18, 0, b""))
        self.assertEqual(err, 0)
        self.assertEqual(keys, SERVED)
        # v4 (newer than ours): error 35, v0 body with our ranges, the
        # connection stays open for the retry.
        err, keys = apiversions_v0(r.call(18, 4, b"\x00\x00"))
        self.assertEqual(err, 35)
        self.assertEqual(keys, SERVED)
        # v3: request header v2 (tagged fields), compact body; response
        # header v0 (no tag byte), compact body.
        r.corr += 1
        hdr = struct.pack(">hhi", 18, 3, r.corr) + kstr("raw") + b"\x00"
        body = b"\x04raw\x041.0\x00"
        r.send(struct.pack(">i", len(hdr + body)) + hdr + body)
        corr, resp = r.response()
        self.assertEqual(corr, r.corr)
        err = struct.unpack_from(">h", resp, 0)[0]
        self.assertEqual(err, 0)
        self.assertEqual(resp[2], len(SERVED) + 1)  # compact array length
        k, lo, hi, tags = struct.unpack_from(">hhhb", resp, 3)
        self.assertEqual((k, lo, hi, tags), (0, 0, 7, 0))
        # Still usable afterwards.
        err, keys = apiversions_v0(r.call(18, 1, b""))
        self.assertEqual(err, 0)
        r.close()

    def test_acks0_then_close_keeps_every_request(self):
        # An acks=0 producer sends and closes at once.  Requests queued
        # behind the connection's APPEND in flight must still be
        # appended, in order, after the close.
        n = self.node()
        n.ctl("topic", "create", "a0", "--partitions", "1")
        total = 0
        for rnd in range(5):
            r = Raw(n)
            reqs = []
            for i in range(200):
                v = b"%d-%d" % (rnd, i)
                reqs.append(request(0, 7, i + 1, produce_body(
                    "a0", 0, batch([record(0, b"k", v)]), acks=0)))
            r.send(b"".join(reqs))
            r.close()
            total += 200
        # One APPEND per request, each waiting for an fdatasync: slow
        # under ASan on a loaded machine.  Give up only when the count
        # stops moving for 15 s (a lost request never arrives), not after
        # a fixed time.
        last, still = -1, time.time()
        while True:
            out = n.ctl("offsets", "a0", "0", "latest").stdout.split()
            cur = int(out[-1])
            if cur == total or time.time() - still > 15:
                break
            if cur != last:
                last, still = cur, time.time()
            time.sleep(0.1)
        self.assertEqual(int(out[-1]), total, "records of closed acks=0 "
                         "connections lost")
        got = n.ctl("consume", "a0", "0", "--count", str(total)).stdout
        vals = [ln.split("\t")[-1] for ln in got.splitlines()]
        for rnd in range(5):
            mine = [v for v in vals if v.startswith("%d-" % rnd)]
            self.assertEqual(mine, ["%d-%d" % (rnd, i) for i in range(200)],
                             "order of one connection's requests")
        self.assert_alive(n)

    def test_pipelined_responses_in_order(self):
        n = self.node()
        n.ctl("topic", "create", "pipe", "--partitions", "1")
        r = Raw(n)
        recs = batch([record(0, b"k", b"v")])
        reqs = [request(18, 0, 1, b""), request(3, 0, 2, metadata_v1([])),
                request(1, 4, 3, fetch_body("pipe", 0, 0, max_wait=300)),
                request(0, 7, 4, produce_body("pipe", 0, recs)),
                request(0, 7, 5, produce_body("pipe", 0, recs, acks=0)),
                request(2, 1, 6, struct.pack(">i", -1) + struct.pack(
                    ">i", 1) + kstr("pipe") + struct.pack(">iiq", 1, 0, -1)),
                request(18, 2, 7, b"")]
        r.send(b"".join(reqs))
        # acks=0 (corr 5) has no response; the long-polling fetch (3)
        # holds back everything behind it.
        got = [r.response()[0] for _ in range(6)]
        self.assertEqual(got, [1, 2, 3, 4, 6, 7])
        r.close()

    def test_produce_validation(self):
        n = self.node()
        n.ctl("topic", "create", "pv", "--partitions", "2", "--config",
              "max.message.bytes=2048")
        r = Raw(n)
        good = [record(0, b"k", b"v")]

        def produce(recs, topic="pv", part=0, **kw):
            return produce_errors(r.call(0, 7, produce_body(topic, part,
                                                            recs, **kw)))[0]
        self.assertEqual(produce(batch(good))[1:], (0, 0))
        cases = [
            (batch(good, crc=1), 2, "bad CRC"),
            (batch(good)[:-3], 2, "truncated batch"),
            (batch(good, base_offset=5), 87, "baseOffset != 0"),
            (batch(good, last_delta=3), 87, "lastOffsetDelta + 1 != count"),
            (batch([], count=0, last_delta=-1), 87, "no records"),
            (batch(good, attrs_extra=0x20), 87, "control batch"),
            (batch(good, attrs_extra=0x08), 32, "LogAppendTime from client"),
            (batch(good, producer_id=7, base_seq=-1), 87,
             "producerId without sequence"),
            (batch(good, attrs_extra=0x10), 48, "transactional batch"),
            (batch(good, magic=1), 87, "magic 1"),
            (batch(good, codec=7), 76, "compression codec 7"),
            (batch(good, codec=1) + batch(good, codec=1), 87,
             "two compressed batches"),
            (b"", 2, "no records at all"),
            (batch([record(0, b"k", b"x" * 4096)]), 10, "over max.message"),
        ]
        for recs, code, why in cases:
            self.assertEqual(produce(recs)[1], code, why)
        self.assertEqual(produce(batch(good), part=9)[1], 3, "no partition")
        self.assertEqual(produce(batch(good), topic="bad/name")[1], 17,
                         "invalid topic")
        self.assertEqual(produce(batch(good), acks=5)[1], 21, "acks=5")
        # Produce v0-2 are advertised only because librdkafka 2.0.2 tests
        # the bottom of the range before it compresses gzip/snappy/lz4;
        # their old MessageSets are answered 43 per partition, unstored.
        recs = batch(good)
        v2 = (struct.pack(">hi", 1, 1000) + struct.pack(">i", 1) + kstr("pv")
              + struct.pack(">ii", 1, 0) + struct.pack(">i", len(recs)) +
              recs)
        self.assertEqual(produce_errors(r.call(0, 2, v2))[0][1], 43,
                         "Produce v2: UNSUPPORTED_FOR_MESSAGE_FORMAT")
        self.assertEqual(produce(batch(good), txn_id="t")[1], 48,
                         "transactional id")
        # Nothing of that was stored: only the first good batch.
        self.assertEqual(produce(batch(good))[1:], (0, 1))
        # Unknown topic over Produce alone (no Metadata first): created.
        self.assertEqual(produce(batch(good), topic="fresh")[1:], (0, 0))
        self.assertIn("fresh\t1", n.ctl("topic", "list").stdout)
        # acks=0 with a bad batch: no response, the connection is closed
        # so that the producer notices.
        r.send(request(0, 7, 99, produce_body("pv", 0, batch(good, crc=1),
                                              acks=0)))
        self.assertTrue(r.closed())
        r.close()
        self.assert_alive(n)

    def test_fetch_errors_and_limits(self):
        n = self.node()
        n.ctl("topic", "create", "fe", "--partitions", "1")
        r = Raw(n)
        big = batch([record(i, None, b"y" * 3000) for i in range(3)])
        for _ in range(3):
            produce_errors(r.call(0, 7, produce_body("fe", 0, big)))
        err, hw, recs = fetch_v4_first(r.call(1, 4, fetch_body("fe", 0, 0)))
        self.assertEqual((err, hw, len(recs)), (0, 9, 3 * len(big)))
        # KIP-74: a limit smaller than one batch still returns one batch.
        err, hw, recs = fetch_v4_first(r.call(1, 4, fetch_body(
            "fe", 0, 0, max_bytes=10, part_max=10)))
        self.assertEqual((err, len(recs)), (0, len(big)))
        # Whole batches within the limit otherwise.
        err, hw, recs = fetch_v4_first(r.call(1, 4, fetch_body(
            "fe", 0, 0, max_bytes=2 * len(big) + 100)))
        self.assertEqual(len(recs), 2 * len(big))
        # Past the end and unknown: errors, at once even with a long wait.
        t0 = time.time()
        err, hw, recs = fetch_v4_first(r.call(1, 4, fetch_body(
            "fe", 0, 1000, max_wait=5000)))
        self.assertEqual(err, 1)
        err, hw, recs = fetch_v4_first(r.call(1, 4, fetch_body(
            "nope", 0, 0, max_wait=5000)))
        self.assertEqual(err, 3)
        self.assertLess(time.time() - t0, 4)
        # At the end with a short wait: empty after the wait.
        t0 = time.time()
        err, hw, recs = fetch_v4_first(r.call(1, 4, fetch_body(
            "fe", 0, 9, max_wait=300)))
        self.assertEqual((err, hw, recs), (0, 9, b""))
        self.assertGreater(time.time() - t0, 0.25)
        r.close()

    def test_segstore_down_retriable(self):
        n = self.node(kafka_args=["--set", "segstore.timeout.ms=500"])
        n.ctl("topic", "create", "sd", "--partitions", "1")
        n.seg.send_signal(signal.SIGKILL)
        n.seg.wait()
        r = Raw(n)
        good = batch([record(0, b"k", b"v")])
        t0 = time.time()
        p, err, base = produce_errors(r.call(0, 7, produce_body("sd", 0,
                                                                good)))[0]
        self.assertIn(err, (6, 7))  # NOT_LEADER / REQUEST_TIMED_OUT
        resp = r.call(3, 1, metadata_v1(["sd"]))
        # brokers(1: id, host, port, rack), controller, topics(1)
        self.assertIn(struct.pack(">h", 5) + kstr("sd"), resp)
        err, hw, recs = fetch_v4_first(r.call(1, 4, fetch_body("sd", 0, 0)))
        self.assertEqual(err, 6)
        self.assertLess(time.time() - t0, 5)
        n.start_segstore()
        deadline = time.time() + 10
        while time.time() < deadline:
            p, err, base = produce_errors(r.call(0, 7, produce_body(
                "sd", 0, good)))[0]
            if err == 0:
                break
            time.sleep(0.2)
        self.assertEqual(err, 0)
        r.close()
        self.assert_alive(n)


def main():
    if len(sys.argv) < 2:
        print("usage: kafka_badinput_test.py BIN_DIR [unittest args]")
        return 2
    kt.BIN = os.path.abspath(sys.argv[1])
    prog = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], exit=False,
                         verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
