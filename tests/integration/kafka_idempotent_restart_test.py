#!/usr/bin/env python3
"""Idempotent producers across a segstore crash (kill -9) and restart,
with sluice-kafka staying up.

1. Raw protocol, deterministic: an idempotent producer's batches are
   stored, segstore is killed with SIGKILL and restarted; resending the
   same (producer id, epoch, sequence) batches through the same
   sluice-kafka gets the original offsets back and stores nothing, and a
   sequence gap is still OUT_OF_ORDER_SEQUENCE_NUMBER.  Run once with the
   producer snapshot written by a checkpoint and replayed past, once with
   the snapshot removed (the fallback rebuild from the active segment).
2. confluent-kafka with enable.idempotence=true produces while segstore is
   killed and restarted under it: every message is acknowledged and the
   log holds each exactly once.

Usage: kafka_idempotent_restart_test.py BIN_DIR [unittest args]
"""
import os
import signal
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_test as kt  # noqa: E402
from kafka_test import Raw, batch, produce_body, produce_errors, record  # noqa: E402,E501

# Checkpoints (and with them producer snapshots) every 200 ms, so the
# test can wait for one instead of 5 s.
os.environ["SLUICE_SEGSTORE_CHECKPOINT_INTERVAL_MS"] = "200"


def init_producer_id(r):
    resp = r.call(22, 0, kt.kstr(None) + struct.pack(">i", 60000))
    _, err, pid, epoch = struct.unpack(">ihqh", resp)
    assert err == 0, err
    return pid, epoch


def pbatch(pid, epoch, seq, n, tag):
    recs = [record(i, b"k", b"%s-%d" % (tag, seq + i)) for i in range(n)]
    b = bytearray(batch(recs, producer_id=pid, base_seq=seq))
    # batch() leaves the epoch 0; stamp it (bytes 51-52) and redo the CRC
    # over bytes [21, end).
    struct.pack_into(">h", b, 51, epoch)
    struct.pack_into(">I", b, 17, kt.crc32c(bytes(b[21:])))
    return bytes(b)


def wait_until(cond, what, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class RestartTest(kt.KafkaTestBase):
    def produce(self, r, topic, b):
        """(error, base offset), retrying while segstore is unreachable."""
        deadline = time.time() + 20
        while True:
            p, err, base = produce_errors(
                r.call(0, 7, produce_body(topic, 0, b)))[0]
            if err not in (6, 7, 15) or time.time() > deadline:
                return err, base
            time.sleep(0.1)

    def crash_segstore(self, n):
        n.seg.send_signal(signal.SIGKILL)
        n.seg.wait()

    def values(self, n, topic, part=0):
        return [m["value"] for m in n.ctl_consume(topic, part)]

    def check_raw(self, remove_snapshot):
        n = self.node(kafka_args=["--set", "segstore.timeout.ms=1000"])
        n.ctl("topic", "create", "idr", "--partitions", "1")
        r = Raw(n)
        pid, epoch = init_producer_id(r)
        b0 = pbatch(pid, epoch, 0, 3, b"a")
        b3 = pbatch(pid, epoch, 3, 2, b"a")
        b5 = pbatch(pid, epoch, 5, 1, b"a")
        self.assertEqual(self.produce(r, "idr", b0), (0, 0))
        snap = os.path.join(n.data, "idr", "0", "producer.snapshot")
        # A checkpoint takes a snapshot covering b0 ...
        wait_until(lambda: os.path.exists(snap), "producer.snapshot")
        time.sleep(0.5)
        # ... and b3, b5 are only in the segment: replayed at recovery.
        self.assertEqual(self.produce(r, "idr", b3), (0, 3))
        self.assertEqual(self.produce(r, "idr", b5), (0, 5))
        self.crash_segstore(n)
        if remove_snapshot:
            os.unlink(snap)
        n.start_segstore()
        # Retries of every stored batch: the original offsets, no copy.
        self.assertEqual(self.produce(r, "idr", b5), (0, 5))
        self.assertEqual(self.produce(r, "idr", b0), (0, 0))
        self.assertEqual(self.produce(r, "idr", b3), (0, 3))
        # A gap is still refused; the next sequence is appended.
        err, _ = self.produce(r, "idr", pbatch(pid, epoch, 9, 1, b"a"))
        self.assertEqual(err, 45)  # OUT_OF_ORDER_SEQUENCE_NUMBER
        self.assertEqual(self.produce(r, "idr", pbatch(pid, epoch, 6, 1,
                                                       b"a")), (0, 6))
        vals = self.values(n, "idr")
        self.assertEqual(vals, ["a-%d" % i for i in range(7)])
        r.close()

    def test_raw_retry_after_crash(self):
        self.check_raw(remove_snapshot=False)

    def test_raw_retry_after_crash_without_snapshot(self):
        self.check_raw(remove_snapshot=True)

    def test_confluent_idempotent_through_segstore_crash(self):
        from confluent_kafka import Producer
        n = self.node(kafka_args=["--set", "segstore.timeout.ms=1000"])
        n.ctl("topic", "create", "idc", "--partitions", "2")
        total = 4000
        p = Producer({"bootstrap.servers": n.bootstrap,
                      "enable.idempotence": True, "linger.ms": 2,
                      "batch.num.messages": 50,
                      "message.timeout.ms": 60000})
        acked, errors = [], []
        lock = threading.Lock()

        def dr(err, msg):
            with lock:
                if err:
                    errors.append(str(err))
                else:
                    acked.append((msg.partition(), msg.offset(),
                                  msg.value()))

        crashes = []

        def crasher():
            wait_until(lambda: len(acked) >= total // 4, "first acks", 60)
            self.crash_segstore(n)
            crashes.append(len(acked))
            time.sleep(0.3)
            n.start_segstore()
            wait_until(lambda: len(acked) >= total // 2, "acks after the "
                       "first restart", 60)
            self.crash_segstore(n)
            crashes.append(len(acked))
            n.start_segstore()

        t = threading.Thread(target=crasher)
        t.start()
        for i in range(total):
            while True:
                try:
                    p.produce("idc", value=b"v-%06d" % i, partition=i % 2,
                              on_delivery=dr)
                    break
                except BufferError:
                    p.poll(0.05)
            p.poll(0)
            if i % 20 == 0:
                time.sleep(0.01)  # spread the stream over the crashes
        self.assertEqual(p.flush(90), 0)
        t.join(90)
        # Both crashes happened while messages were still unacknowledged.
        self.assertEqual(len(crashes), 2)
        self.assertTrue(all(c < total for c in crashes), crashes)
        self.assertEqual(errors, [])
        self.assertEqual(len(acked), total)
        stored = []
        for part in (0, 1):
            vals = self.values(n, "idc", part)
            stored += vals
            offs = sorted(o for q, o, v in acked if q == part)
            self.assertEqual(offs, list(range(len(vals))),
                             "acknowledged offsets of partition %d" % part)
        # Exactly once: no record stored twice, none lost.
        self.assertEqual(len(stored), len(set(stored)))
        self.assertEqual(sorted(stored),
                         ["v-%06d" % i for i in range(total)])


def main():
    if len(sys.argv) < 2:
        print("usage: kafka_idempotent_restart_test.py BIN_DIR [args]")
        return 2
    kt.BIN = os.path.abspath(sys.argv[1])
    prog = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], exit=False,
                         verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
