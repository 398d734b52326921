#!/usr/bin/python3
"""Changing a topic's configs after creation, end to end.

sluice-ctl topic alter (TOPIC_ALTER_CONFIGS): the change is refused whole
when any key is bad, survives a restart, and takes effect at once (a lower
retention.ms deletes old data at the next retention pass).  Kafka:
kafka-python's and confluent-kafka's alter_configs (AlterConfigs), raw
IncrementalAlterConfigs v0 and v1 requests (neither Debian client sends
them) built from the protocol definition, DescribeConfigs and sluice-ctl
agreeing.  Run: topic_alter_test.py BIN_DIR.
"""
import json
import os
import signal
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_test as kt  # noqa: E402  (Node, Raw, request helpers)

# The retention pass every 100 ms (the default is 5 minutes), for every
# segstore these tests start.
os.environ["SLUICE_SEGSTORE_RETENTION_CHECK_INTERVAL_MS"] = "100"


def describe(node, topic):
    return json.loads(node.ctl("topic", "describe", topic,
                               json_out=True).stdout)


def wait_for(what, cond, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


class CtlAlterTest(kt.KafkaTestBase):
    def test_alter_refuse_restart_live(self):
        n = self.node()
        n.ctl("topic", "create", "r", "--partitions", "2", "--config",
              "segment.bytes=1048576")
        # A bad key among good ones: refused whole, the key named.
        for args, needle in (
                (["--config", "retention.ms=100", "--config", "bogus=1"],
                 "bogus"),
                (["--config", "retention.ms=soon"], "retention.ms"),
                (["--config", "partitions=4"], "partitions"),
                (["--config", "cleanup.policy=compact"], "compact")):
            r = n.ctl("topic", "alter", "r", *args, check=False)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn(needle, r.stderr)
        r = n.ctl("topic", "alter", "nope", "--config", "retention.ms=1",
                  check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("SL_E_NOTOPIC", r.stderr)
        d = describe(n, "r")
        self.assertEqual(d["overrides"], ["segment.bytes"])
        self.assertEqual(d["configs"]["retention.ms"], "604800000")

        # validate-only changes nothing.
        r = n.ctl("topic", "alter", "r", "--config", "retention.ms=100",
                  "--validate-only", json_out=True)
        self.assertEqual(json.loads(r.stdout)["overrides"],
                         {"segment.bytes": "1048576", "retention.ms": "100"})
        self.assertEqual(describe(n, "r")["configs"]["retention.ms"],
                         "604800000")

        lines = "".join("line-%d\n" % i for i in range(50))
        subprocess.run([os.path.join(kt.BIN, "sluice-ctl"), "--segstore",
                        n.url, "produce", "r", "0"], input=lines, text=True,
                       check=True, capture_output=True, timeout=30)
        p0 = describe(n, "r")["partition_info"][0]
        self.assertEqual((p0["log_start"], p0["high_watermark"]), (0, 50))

        # Set two, delete one: live and durable.
        r = n.ctl("topic", "alter", "r", "--config", "retention.ms=300",
                  "--config", "message.timestamp.type=LogAppendTime",
                  "--delete-config", "segment.bytes", json_out=True)
        self.assertEqual(json.loads(r.stdout)["overrides"],
                         {"retention.ms": "300",
                          "message.timestamp.type": "LogAppendTime"})
        d = describe(n, "r")
        self.assertEqual(sorted(d["overrides"]),
                         ["message.timestamp.type", "retention.ms"])
        self.assertEqual(d["configs"]["segment.bytes"], "134217728")
        text = n.ctl("topic", "describe", "r").stdout
        self.assertIn("* retention.ms=300", text)
        self.assertIn("  segment.bytes=134217728", text)
        # The next retention pass deletes what is older than 300 ms.
        wait_for("retention to delete partition 0's records",
                 lambda: describe(n, "r")["partition_info"][0]["log_start"]
                 == 50)

        # A restart keeps the overrides.
        n.seg.send_signal(signal.SIGTERM)
        self.assertEqual(n.seg.wait(timeout=20), 0)
        n.start_segstore()
        d = describe(n, "r")
        self.assertEqual(sorted(d["overrides"]),
                         ["message.timestamp.type", "retention.ms"])
        self.assertEqual(d["configs"]["retention.ms"], "300")
        self.assertEqual(d["partition_info"][0]["log_start"], 50)

        # --replace: what is not given goes back to the default.
        n.ctl("topic", "alter", "r", "--replace", "--config",
              "retention.bytes=1000000")
        d = describe(n, "r")
        self.assertEqual(d["overrides"], ["retention.bytes"])
        self.assertEqual(d["configs"]["retention.ms"], "604800000")


def kpy_admin(node):
    from kafka.admin import KafkaAdminClient
    return KafkaAdminClient(bootstrap_servers=node.bootstrap,
                            request_timeout_ms=10000)


def kpy_describe(admin, topic):
    """{name: value} of a topic's configs through kafka-python."""
    from kafka.admin import ConfigResource, ConfigResourceType
    [resp] = admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic)])
    [res] = resp.resources
    assert res[0] == 0, res
    return {c[0]: c[1] for c in res[4]}


# IncrementalAlterConfigs (key 44) request bodies, from apache/kafka's
# IncrementalAlterConfigsRequest.json: v0 classic, v1 flexible.
def iac_body(version, resources, validate_only=False):
    """resources: [(type, name, [(key, op, value or None)])]."""
    def s(x):
        x = x.encode()
        if version >= 1:
            return bytes([len(x) + 1]) + x
        return struct.pack(">h", len(x)) + x

    def ns(x):
        if x is None:
            return b"\x00" if version >= 1 else struct.pack(">h", -1)
        return s(x)

    def arr(n):
        return bytes([n + 1]) if version >= 1 else struct.pack(">i", n)

    tags = b"\x00" if version >= 1 else b""
    out = arr(len(resources))
    for rtype, name, configs in resources:
        out += struct.pack(">b", rtype) + s(name) + arr(len(configs))
        for key, op, value in configs:
            out += s(key) + struct.pack(">b", op) + ns(value) + tags
        out += tags
    return out + (b"\x01" if validate_only else b"\x00") + tags


def iac_call(node, version, resources, validate_only=False):
    """[(error, message, type, name)] of one raw IncrementalAlterConfigs."""
    raw = kt.Raw(node)
    try:
        body = iac_body(version, resources, validate_only)
        raw.corr += 1
        hdr = struct.pack(">hhi", 44, version, raw.corr) + kt.kstr("raw")
        if version >= 1:
            hdr += b"\x00"  # request header v2: tagged fields
        raw.send(struct.pack(">i", len(hdr) + len(body)) + hdr + body)
        corr, resp = raw.response()
        assert corr == raw.corr
    finally:
        raw.close()
    off = 0
    if version >= 1:
        off += 1  # response header v1: tagged fields
    off += 4  # throttle
    out = []

    def uvar():
        nonlocal off
        v = shift = 0
        while True:
            b = resp[off]
            off += 1
            v |= (b & 0x7f) << shift
            if not b & 0x80:
                return v
            shift += 7

    def rstr(nullable=False):
        nonlocal off
        if version >= 1:
            n = uvar() - 1
        else:
            n = struct.unpack_from(">h", resp, off)[0]
            off += 2
        if n < 0:
            return None
        v = resp[off:off + n].decode()
        off += n
        return v

    if version >= 1:
        n = uvar() - 1
    else:
        n = struct.unpack_from(">i", resp, off)[0]
        off += 4
    for _ in range(n):
        err = struct.unpack_from(">h", resp, off)[0]
        off += 2
        msg = rstr(True)
        rtype = struct.unpack_from(">b", resp, off)[0]
        off += 1
        name = rstr()
        if version >= 1:
            assert uvar() == 0  # no tagged fields
        out.append((err, msg, rtype, name))
    if version >= 1:
        assert uvar() == 0
    assert off == len(resp), (off, len(resp))
    return out


class KafkaAlterTest(kt.KafkaTestBase):
    def test_kafka_python_alter_configs(self):
        from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
        n = self.node()
        admin = kpy_admin(n)
        try:
            admin.create_topics([NewTopic("kp", 1, 1, topic_configs={
                "segment.ms": "3600000"})])
            # AlterConfigs replaces: segment.ms, not listed, goes back to
            # the default.
            resp = admin.alter_configs([ConfigResource(
                ConfigResourceType.TOPIC, "kp",
                configs={"retention.ms": "123456"})])
            self.assertEqual([r[0] for r in resp.resources], [0])
            cfg = kpy_describe(admin, "kp")
            self.assertEqual(cfg["retention.ms"], "123456")
            self.assertEqual(cfg["segment.ms"], "604800000")
            d = describe(n, "kp")
            self.assertEqual(d["configs"]["retention.ms"], "123456")
            self.assertEqual(d["overrides"], ["retention.ms"])
            # A bad value: INVALID_CONFIG (40), nothing changed.
            resp = admin.alter_configs([ConfigResource(
                ConfigResourceType.TOPIC, "kp",
                configs={"retention.ms": "1", "max.message.bytes": "x"})])
            [r] = resp.resources
            self.assertEqual(r[0], 40, r)
            self.assertIn("max.message.bytes", r[1])
            self.assertEqual(kpy_describe(admin, "kp")["retention.ms"],
                             "123456")
            # Unknown topic: 3; broker resource: INVALID_REQUEST (42).
            resp = admin.alter_configs([
                ConfigResource(ConfigResourceType.TOPIC, "nope",
                               configs={"retention.ms": "1"}),
                ConfigResource(ConfigResourceType.BROKER, "0",
                               configs={"log.retention.ms": "1"})])
            self.assertEqual(sorted(r[0] for r in resp.resources), [3, 42])
        finally:
            admin.close()

    def test_confluent_alter_configs_takes_effect(self):
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import (AdminClient, ConfigResource,
                                           NewTopic)
        n = self.node()
        a = AdminClient({"bootstrap.servers": n.bootstrap})
        for f in a.create_topics([NewTopic("ck", 1, 1)]).values():
            f.result(15)
        lines = "".join("old-%d\n" % i for i in range(30))
        subprocess.run([os.path.join(kt.BIN, "sluice-ctl"), "--segstore",
                        n.url, "produce", "ck", "0"], input=lines, text=True,
                       check=True, capture_output=True, timeout=30)
        res = ConfigResource("topic", "ck", set_config={
            "retention.ms": "500"})
        # validate_only: accepted, nothing changed.
        for f in a.alter_configs([res], validate_only=True).values():
            f.result(15)
        self.assertEqual(describe(n, "ck")["configs"]["retention.ms"],
                         "604800000")
        for f in a.alter_configs([res]).values():
            f.result(15)
        [f] = a.describe_configs([ConfigResource("topic", "ck")]).values()
        self.assertEqual(f.result(15)["retention.ms"].value, "500")
        self.assertEqual(describe(n, "ck")["configs"]["retention.ms"], "500")
        # The old records go at the next retention pass (every 100 ms).
        wait_for("retention to delete the old records",
                 lambda: describe(n, "ck")["partition_info"][0]["log_start"]
                 == 30)
        bad = ConfigResource("topic", "ck", set_config={
            "retention.ms": "soon"})
        with self.assertRaises(KafkaException) as cm:
            for f in a.alter_configs([bad]).values():
                f.result(15)
        self.assertEqual(cm.exception.args[0].code(), 40)  # INVALID_CONFIG
        self.assertEqual(describe(n, "ck")["configs"]["retention.ms"], "500")

    def test_incremental_alter_configs_raw(self):
        n = self.node()
        n.ctl("topic", "create", "ia", "--partitions", "1", "--config",
              "segment.ms=3600000")
        for v in (0, 1):
            # SET one, DELETE another; the rest of the overrides stay.
            out = iac_call(n, v, [(2, "ia", [
                ("retention.ms", 0, "%d" % (7000 + v)),
                ("max.message.bytes", 1, None)])])
            self.assertEqual(out, [(0, None, 2, "ia")])
            d = describe(n, "ia")
            self.assertEqual(d["configs"]["retention.ms"], "%d" % (7000 + v))
            self.assertEqual(d["configs"]["segment.ms"], "3600000")
            out = iac_call(n, v, [(2, "ia", [("segment.ms", 1, None)])])
            self.assertEqual(out[0][0], 0)
            self.assertEqual(describe(n, "ia")["overrides"], ["retention.ms"])
            n.ctl("topic", "alter", "ia", "--config", "segment.ms=3600000")
            # validate_only: checked, not applied.
            out = iac_call(n, v, [(2, "ia", [("retention.ms", 0, "1")])],
                           validate_only=True)
            self.assertEqual(out[0][0], 0)
            self.assertEqual(describe(n, "ia")["configs"]["retention.ms"],
                             "%d" % (7000 + v))
            # Per-resource errors, one request.
            out = iac_call(n, v, [
                (2, "ia", [("retention.ms", 0, "x")]),
                (2, "none", [("retention.ms", 0, "1")]),
                (2, "ia2", [("cleanup.policy", 2, "compact")]),
                (4, "0", [("log.retention.ms", 0, "1")]),
                (2, "ia3", [("retention.ms", 0, None)])])
            self.assertEqual([(e, t, nm) for e, _, t, nm in out],
                             [(40, 2, "ia"), (3, 2, "none"), (42, 2, "ia2"),
                              (42, 4, "0"), (42, 2, "ia3")])
            self.assertIn("retention.ms", out[0][1])
            self.assertEqual(describe(n, "ia")["configs"]["retention.ms"],
                             "%d" % (7000 + v))


if __name__ == "__main__":
    kt.BIN = sys.argv.pop(1)
    unittest.main(verbosity=2)
