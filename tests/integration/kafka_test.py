#!/usr/bin/python3
"""Integration tests of sluice-kafka with real, unmodified Kafka clients.

Each test starts its own sluice-segstore (ipc:// socket in a fresh
temporary directory under $SL_TEST_TMP) and its own sluice-kafka on
127.0.0.1 with a free port, drives it with kcat, python3-confluent-kafka
(librdkafka) and python3-kafka (kafka-python), and checks what segstore
stored with sluice-ctl and sluice-dump.  No consumer groups: consumers
assign() partitions and start from explicit offsets (groups, commits and
idempotence are kafka_groups_test.py's).

Run: kafka_test.py BIN_DIR [unittest args], under /usr/bin/python3 (the
Debian client packages import only there).
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

BIN = None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Node:
    """A sluice-segstore and a sluice-kafka on one temporary directory."""

    def __init__(self, root, kafka_args=()):
        self.root = root
        self.data = os.path.join(root, "data")
        self.url = "ipc://%s/seg.sock" % root
        self.port = free_port()
        self.bootstrap = "127.0.0.1:%d" % self.port
        self.kafka_args = list(kafka_args)
        self.seg = None
        self.kf = None
        self.seg_log = os.path.join(root, "segstore.log")
        self.kf_log = os.path.join(root, "kafka.log")

    def start_segstore(self):
        with open(self.seg_log, "ab") as logf:
            self.seg = subprocess.Popen(
                [os.path.join(BIN, "sluice-segstore"), "--data", self.data,
                 "--ipc", self.url], stdout=logf, stderr=logf)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.ctl("topic", "list", check=False).returncode == 0:
                return
            if self.seg.poll() is not None:
                raise AssertionError("segstore exited: " + self.log(True))
            time.sleep(0.05)
        raise AssertionError("segstore did not answer: " + self.log(True))

    def start_kafka(self):
        with open(self.kf_log, "ab") as logf:
            self.kf = subprocess.Popen(
                [os.path.join(BIN, "sluice-kafka"), "--segstore", self.url,
                 "--listen", self.bootstrap, "--advertise", self.bootstrap] +
                self.kafka_args, stdout=logf, stderr=logf)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.kf.poll() is not None:
                raise AssertionError("sluice-kafka exited: " + self.log())
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                # HELLO is asynchronous; give it a moment to land so the
                # first Metadata carries the cluster id.
                time.sleep(0.1)
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("sluice-kafka did not listen: " + self.log())

    def start(self):
        self.start_segstore()
        self.start_kafka()
        return self

    def log(self, seg=False):
        with open(self.seg_log if seg else self.kf_log, "r",
                  errors="replace") as f:
            return f.read()

    def stop_kafka(self, sig=signal.SIGTERM):
        if self.kf and self.kf.poll() is None:
            self.kf.send_signal(sig)
            rc = self.kf.wait(timeout=20)
            self.kf = None
            return rc
        return None

    def stop(self, sig=signal.SIGKILL):
        if self.kf and self.kf.poll() is None:
            self.kf.kill()
            self.kf.wait(timeout=20)
        self.kf = None
        if self.seg and self.seg.poll() is None:
            self.seg.send_signal(sig)
            self.seg.wait(timeout=20)
        self.seg = None

    def ctl(self, *args, check=True, json_out=False):
        cmd = [os.path.join(BIN, "sluice-ctl"), "--segstore", self.url]
        if json_out:
            cmd.append("--json")
        r = subprocess.run(cmd + list(args), capture_output=True, text=True,
                           timeout=30)
        if check and r.returncode != 0:
            raise AssertionError("sluice-ctl %s failed: %s" %
                                 (" ".join(args), r.stderr))
        return r

    def ctl_consume(self, topic, part):
        r = self.ctl("consume", topic, str(part), json_out=True)
        return [json.loads(l) for l in r.stdout.splitlines() if l]

    def dump_json(self, path):
        r = subprocess.run([os.path.join(BIN, "sluice-dump"), "--json", path],
                           capture_output=True, text=True, timeout=60)
        return [json.loads(l) for l in r.stdout.splitlines() if l]

    def verify(self):
        return subprocess.run([os.path.join(BIN, "sluice-dump"), "--verify",
                               self.data], capture_output=True, text=True,
                              timeout=60)


def kcat(node, *args, stdin=None, timeout=30):
    r = subprocess.run(["kcat", "-b", node.bootstrap] + list(args),
                       input=stdin, capture_output=True, timeout=timeout)
    return r


# ---- a minimal raw Kafka client: enough to craft what clients will not send

def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_CRC32C = _crc32c_table()


def crc32c(b):
    c = 0xFFFFFFFF
    for x in b:
        c = _CRC32C[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def xxh32(data, seed=0):
    """XXH32, for the LZ4 frame header checksum."""
    P1, P2, P3, P4, P5 = (2654435761, 2246822519, 3266489917, 668265263,
                          374761393)
    M = 0xFFFFFFFF

    def rotl(x, r):
        return ((x << r) | (x >> (32 - r))) & M
    n = len(data)
    i = 0
    if n >= 16:
        v = [(seed + P1 + P2) & M, (seed + P2) & M, seed, (seed - P1) & M]
        while i + 16 <= n:
            for j in range(4):
                w = int.from_bytes(data[i:i + 4], "little")
                v[j] = (rotl((v[j] + w * P2) & M, 13) * P1) & M
                i += 4
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) +
             rotl(v[3], 18)) & M
    else:
        h = (seed + P5) & M
    h = (h + n) & M
    while i + 4 <= n:
        h = (rotl((h + int.from_bytes(data[i:i + 4], "little") * P3) & M,
                  17) * P4) & M
        i += 4
    while i < n:
        h = (rotl((h + data[i] * P5) & M, 11) * P1) & M
        i += 1
    h ^= h >> 15
    h = (h * P2) & M
    h ^= h >> 13
    h = (h * P3) & M
    h ^= h >> 16
    return h


def zigzag(v):
    v = (v << 1) ^ (v >> 63)
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def record(i, key, value, headers=()):
    body = b"\x00" + zigzag(0) + zigzag(i)
    body += zigzag(-1) if key is None else zigzag(len(key)) + key
    body += zigzag(-1) if value is None else zigzag(len(value)) + value
    body += zigzag(len(headers))
    for hk, hv in headers:
        body += zigzag(len(hk)) + hk
        body += zigzag(-1) if hv is None else zigzag(len(hv)) + hv
    return zigzag(len(body)) + body


def snappy_literal(raw):
    """A valid raw snappy block made of literals only."""
    out = b""
    n = len(raw)
    while True:
        out += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
        n >>= 7
        if not n:
            break
    for i in range(0, len(raw), 60):
        chunk = raw[i:i + 60]
        out += bytes([(len(chunk) - 1) << 2]) + chunk
    return out


def lz4_frame_stored(raw):
    """A valid LZ4 frame whose one block is stored uncompressed."""
    desc = bytes([0x60, 0x40])  # version 1, independent blocks; 64 KiB
    hc = (xxh32(desc) >> 8) & 0xFF
    assert len(raw) < 65536
    return (b"\x04\x22\x4d\x18" + desc + bytes([hc]) +
            (len(raw) | 0x80000000).to_bytes(4, "little") + raw +
            b"\x00\x00\x00\x00")


def batch(records, codec=0, base_offset=0, attrs_extra=0, producer_id=-1,
          base_seq=-1, ts=None, count=None, last_delta=None, crc=None,
          magic=2):
    """A RecordBatch v2 from encoded records, compressed as asked."""
    import gzip as _gzip
    import zlib as _zlib  # noqa: F401
    raw = b"".join(records)
    if codec == 1:
        raw = _gzip.compress(raw)
    elif codec == 2:
        raw = snappy_literal(raw)
    elif codec == 3:
        raw = lz4_frame_stored(raw)
    elif codec == 4:
        raise ValueError("no zstd encoder in the standard library")
    ts = int(time.time() * 1000) if ts is None else ts
    n = len(records) if count is None else count
    ld = n - 1 if last_delta is None else last_delta
    after_crc = (struct.pack(">hiqqqhii", codec | attrs_extra, ld, ts, ts,
                             producer_id, 0, base_seq, n) + raw)
    c = crc32c(after_crc) if crc is None else crc
    body = struct.pack(">ibI", 0, magic, c) + after_crc
    return struct.pack(">qi", base_offset, len(body)) + body


def kstr(s):
    if s is None:
        return struct.pack(">h", -1)
    if isinstance(s, str):
        s = s.encode()
    return struct.pack(">h", len(s)) + s


def kbytes(b):
    if b is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(b)) + b


def request(api_key, version, corr, body, client_id="raw"):
    hdr = struct.pack(">hhi", api_key, version, corr) + kstr(client_id)
    msg = hdr + body
    return struct.pack(">i", len(msg)) + msg


def produce_body(topic, partition, records, acks=-1, txn_id=None):
    return (kstr(txn_id) + struct.pack(">hi", acks, 10000) +
            struct.pack(">i", 1) + kstr(topic) + struct.pack(">i", 1) +
            struct.pack(">i", partition) + kbytes(records))


class Raw:
    """One raw TCP connection to sluice-kafka."""

    def __init__(self, node, timeout=10):
        self.s = socket.create_connection(("127.0.0.1", node.port), timeout)
        self.corr = 0

    def close(self):
        self.s.close()

    def send(self, data):
        self.s.sendall(data)

    def recv_exact(self, n):
        out = b""
        while len(out) < n:
            b = self.s.recv(n - len(out))
            if not b:
                raise EOFError("closed after %d of %d bytes" % (len(out), n))
            out += b
        return out

    def response(self):
        """(correlation id, body) of the next response."""
        size = struct.unpack(">i", self.recv_exact(4))[0]
        frame = self.recv_exact(size)
        return struct.unpack(">i", frame[:4])[0], frame[4:]

    def call(self, api_key, version, body):
        self.corr += 1
        self.send(request(api_key, version, self.corr, body))
        corr, resp = self.response()
        assert corr == self.corr, (corr, self.corr)
        return resp

    def closed(self, timeout=5):
        """True when the server closes the connection (EOF or reset)."""
        self.s.settimeout(timeout)
        try:
            while True:
                if not self.s.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


def produce_errors(resp):
    """[(partition, error, base_offset)] of a Produce v3-7 response."""
    out = []
    off = 0
    nt = struct.unpack_from(">i", resp, off)[0]
    off += 4
    for _ in range(nt):
        ln = struct.unpack_from(">h", resp, off)[0]
        off += 2 + ln
        np = struct.unpack_from(">i", resp, off)[0]
        off += 4
        for _ in range(np):
            p, e, base, lat = struct.unpack_from(">ihqq", resp, off)
            off += 22
            out.append((p, e, base))
    return out


class KafkaTestBase(unittest.TestCase):
    def setUp(self):
        base = os.environ.get("SL_TEST_TMP", tempfile.gettempdir())
        os.makedirs(base, exist_ok=True)
        self.root = tempfile.mkdtemp(prefix="kfit.", dir=base)
        self.nodes = []

    def tearDown(self):
        # SIGTERM first: sluice-kafka must exit 0 (under ASan that also
        # means no leak and no sanitizer finding).
        bad = []
        for n in self.nodes:
            try:
                rc = n.stop_kafka(signal.SIGTERM)
            except subprocess.TimeoutExpired:
                rc = "no exit 20 s after SIGTERM"
            if rc not in (0, None):
                bad.append(rc)
            n.stop()
        if self.failed() or bad:
            for n in self.nodes:
                sys.stderr.write("---- sluice-kafka log\n" + n.log())
        shutil.rmtree(self.root, ignore_errors=True)
        self.assertEqual(bad, [], "sluice-kafka exit status on SIGTERM")

    def failed(self):
        res = getattr(self._outcome, "result", None)
        if res is None:
            return False
        return any(t is self for t, _ in res.errors + res.failures)

    def node(self, **kw):
        n = Node(self.root, **kw)
        self.nodes.append(n)
        return n.start()


class CliTest(unittest.TestCase):
    def run_kf(self, *args):
        return subprocess.run([os.path.join(BIN, "sluice-kafka")] +
                              list(args), capture_output=True, text=True,
                              timeout=10)

    def test_cli_and_config_doc(self):
        r = self.run_kf("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--advertise", r.stdout)
        r = self.run_kf("--version")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("sluice-kafka "))
        for bad in (["--set", "num.partitions=0"], ["--set", "nope=1"],
                    ["--listen", "nowhere"], ["--advertise", "h:0"],
                    ["--log-level", "loud"], ["extra"]):
            r = self.run_kf("--segstore", "ipc:///nonexistent", *bad)
            self.assertEqual(r.returncode, 2, bad)
            self.assertTrue(r.stderr.strip(), bad)
        # docs/kafka.md carries exactly the generated config table.
        want = self.run_kf("--config-doc").stdout
        doc = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "..", "..", "docs", "kafka.md")
        with open(doc) as f:
            text = f.read()
        begin = "<!-- generated: sluice-kafka --config-doc -->\n"
        end = "<!-- end generated -->"
        have = text[text.index(begin) + len(begin):text.index(end, text.index(
            begin))]
        self.assertEqual(have, want, "regenerate docs/kafka.md's table with "
                         "sluice-kafka --config-doc")


class KcatTest(KafkaTestBase):
    def test_kcat_metadata(self):
        n = self.node()
        n.ctl("topic", "create", "three", "--partitions", "3")
        n.ctl("topic", "create", "one", "--partitions", "1")
        r = kcat(n, "-L", "-J")
        self.assertEqual(r.returncode, 0, r.stderr)
        md = json.loads(r.stdout)
        self.assertEqual(len(md["brokers"]), 1)
        self.assertEqual(md["brokers"][0]["name"], n.bootstrap)
        self.assertEqual(md["brokers"][0]["id"], 1)
        self.assertEqual(md["controllerid"], 1)
        topics = {t["topic"]: t for t in md["topics"]}
        self.assertEqual(set(topics), {"three", "one"})
        self.assertEqual(len(topics["three"]["partitions"]), 3)
        for p in topics["three"]["partitions"]:
            self.assertEqual(p["leader"], 1)
            self.assertEqual([x["id"] for x in p["replicas"]], [1])
            self.assertEqual([x["id"] for x in p["isrs"]], [1])
        # One topic by name; an unknown one is not created by kcat -L.
        r = kcat(n, "-L", "-J", "-t", "one")
        md = json.loads(r.stdout)
        self.assertEqual([t["topic"] for t in md["topics"]], ["one"])

    def test_kcat_produce_consume(self):
        n = self.node()
        n.ctl("topic", "create", "kc", "--partitions", "2")
        lines = ["key%d\tvalue %d \u00e9\u00e8 \x01\x7f" % (i, i)
                 for i in range(200)]
        data = "".join(l + "\n" for l in lines).encode()
        t0 = time.time()
        r = kcat(n, "-P", "-t", "kc", "-p", "1", "-K", "\t", "-H", "h1=v1",
                 "-H", "h2=", stdin=data)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = kcat(n, "-C", "-t", "kc", "-p", "1", "-o", "beginning", "-e",
                 "-J")
        self.assertEqual(r.returncode, 0, r.stderr)
        got = [json.loads(l) for l in r.stdout.decode().splitlines() if l]
        self.assertEqual(len(got), 200)
        for i, m in enumerate(got):
            k, v = lines[i].split("\t", 1)
            self.assertEqual(m["offset"], i)
            self.assertEqual(m["key"], k)
            self.assertEqual(m["payload"], v)
            self.assertEqual(m["headers"], ["h1", "v1", "h2", ""])
        # Partition 0 stayed empty; segstore has the same records.
        r = kcat(n, "-C", "-t", "kc", "-p", "0", "-o", "beginning", "-e")
        self.assertEqual(r.stdout, b"")
        recs = n.ctl_consume("kc", 1)
        self.assertEqual([x["key"] for x in recs],
                         [l.split("\t")[0] for l in lines])
        self.assertEqual(n.verify().returncode, 0, n.verify().stdout)
        # A rough produce rate with kcat (not asserted).
        many = b"".join(b"%06d x\n" % i for i in range(50000))
        t0 = time.time()
        r = kcat(n, "-P", "-t", "kc", "-p", "0", stdin=many)
        dt = time.time() - t0
        self.assertEqual(r.returncode, 0, r.stderr)
        print("\nkcat produce: 50000 records in %.2fs (%.0f records/s, "
              "process start included)" % (dt, 50000 / dt))
        r = kcat(n, "-C", "-t", "kc", "-p", "0", "-o", "beginning", "-e")
        self.assertEqual(r.stdout, many)

    def test_kcat_sigterm_exits_zero(self):
        n = self.node()
        r = kcat(n, "-P", "-t", "st", stdin=b"a\nb\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(n.stop_kafka(signal.SIGTERM), 0)
        self.assertIn("KF-STOP", n.log())


def stored_codecs(node, topic, part):
    """The compression codec of every batch segstore holds (sluice-dump)."""
    pdir = os.path.join(node.data, topic, str(part))
    out = []
    for f in sorted(os.listdir(pdir)):
        if f.endswith(".log"):
            out += [b["codec"] for b in node.dump_json(os.path.join(pdir, f))
                    if b.get("type") == "batch"]
    return out


def ck_consume(node, topic, part, offset, count, timeout=20, **conf):
    """Read count records with a confluent-kafka Consumer using assign()
    (no group, no commits)."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer(dict({"bootstrap.servers": node.bootstrap,
                       "group.id": "unused-no-group-calls",
                       "enable.auto.commit": False,
                       "enable.auto.offset.store": False}, **conf))
    c.assign([TopicPartition(topic, part, offset)])
    got = []
    deadline = time.time() + timeout
    while len(got) < count and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            raise AssertionError("consumer error: %s" % m.error())
        got.append(m)
    c.close()
    return got


class ConfluentTest(KafkaTestBase):
    def produce(self, node, topic, msgs, part=0, **conf):
        from confluent_kafka import Producer
        p = Producer(dict({"bootstrap.servers": node.bootstrap,
                           "linger.ms": 5}, **conf))
        acked = []
        errors = []

        def dr(err, msg):
            (errors if err else acked).append(err or msg.offset())
        for k, v, h in msgs:
            p.produce(topic, key=k, value=v, headers=h, partition=part,
                      on_delivery=dr)
            p.poll(0)
        self.assertEqual(p.flush(30), 0)
        self.assertEqual(errors, [])
        return acked

    def test_confluent_acks_and_codecs(self):
        n = self.node()
        n.ctl("topic", "create", "cc", "--partitions", "1")
        cases = [("none", "0"), ("none", "1"), ("none", "all"),
                 ("gzip", "all"), ("snappy", "1"), ("lz4", "all"),
                 ("zstd", "1")]
        expect = []
        for codec, acks in cases:
            msgs = []
            for i in range(50):
                k = None if i % 7 == 0 else ("%s-%s-%d" % (codec, acks, i)
                                             ).encode()
                v = None if i % 11 == 0 else (b"\x00\xff" + os.urandom(4) +
                                              b"x" * (i * 10))
                h = [("codec", codec.encode()), ("i", str(i).encode())]
                msgs.append((k, v, h))
            self.produce(n, "cc", msgs, **{"compression.type": codec,
                                            "acks": acks})
            expect += msgs
        got = ck_consume(n, "cc", 0, 0, len(expect))
        self.assertEqual(len(got), len(expect))
        for i, (m, (k, v, h)) in enumerate(zip(got, expect)):
            self.assertEqual(m.offset(), i)
            self.assertEqual(m.key(), k)
            self.assertEqual(m.value(), v)
            self.assertEqual(m.headers(), h)
        codecs = set(stored_codecs(n, "cc", 0))
        print("\nstored codecs from librdkafka: %s" % sorted(codecs))
        # Stored as sent: the broker recompresses nothing.  librdkafka
        # 2.0.2 compresses gzip, snappy and lz4 only for a broker whose
        # Produce range reaches v0 (docs/kafka.md), which is why
        # sluice-kafka advertises Produce 0-7: every codec arrives
        # compressed.
        self.assertEqual(codecs, {"none", "gzip", "snappy", "lz4", "zstd"})

    def test_every_codec_stored_and_served_as_sent(self):
        # gzip, snappy and lz4 batches as a producer that compresses them
        # would send them, produced over a raw socket (librdkafka will not
        # compress them against this broker), then read by librdkafka.
        n = self.node()
        n.ctl("topic", "create", "cz", "--partitions", "1")
        r = Raw(n)
        expect = []
        for codec in (1, 2, 3, 0):
            recs = []
            for i in range(5):
                k = None if i == 0 else b"k%d-%d" % (codec, i)
                v = None if i == 1 else b"v" * (i * 50) + bytes([codec])
                h = [(b"c", bytes([48 + codec]))]
                recs.append(record(i, k, v, h))
                expect.append((k, v, [("c", bytes([48 + codec]))]))
            resp = r.call(0, 7, produce_body("cz", 0, batch(recs, codec)))
            self.assertEqual(produce_errors(resp)[0][1], 0)
        r.close()
        self.assertEqual(stored_codecs(n, "cz", 0),
                         ["gzip", "snappy", "lz4", "none"])
        got = ck_consume(n, "cz", 0, 0, len(expect))
        self.assertEqual([(m.key(), m.value(), m.headers()) for m in got],
                         expect)

    def test_offsets_for_times_and_watermarks(self):
        from confluent_kafka import Consumer, Producer, TopicPartition
        n = self.node()
        n.ctl("topic", "create", "ts", "--partitions", "1")
        p = Producer({"bootstrap.servers": n.bootstrap, "linger.ms": 0})
        base = 1700000000000
        for i in range(10):
            p.produce("ts", value=b"%d" % i, partition=0,
                      timestamp=base + i * 1000)
            p.flush(10)
        c = Consumer({"bootstrap.servers": n.bootstrap, "group.id": "x"})
        res = c.offsets_for_times([TopicPartition("ts", 0, base + 3500)],
                                  timeout=10)
        self.assertEqual(res[0].error, None)
        self.assertEqual(res[0].offset, 4)
        res = c.offsets_for_times([TopicPartition("ts", 0, base)], timeout=10)
        self.assertEqual(res[0].offset, 0)
        # Later than every record: no offset (-1, OFFSET_END).
        res = c.offsets_for_times([TopicPartition("ts", 0, base + 99999)],
                                  timeout=10)
        self.assertEqual(res[0].offset, -1)
        lo, hi = c.get_watermark_offsets(TopicPartition("ts", 0), timeout=10)
        self.assertEqual((lo, hi), (0, 10))
        c.close()

    def test_long_poll_wakes_on_produce(self):
        from confluent_kafka import Consumer, Producer, TopicPartition
        n = self.node()
        n.ctl("topic", "create", "lp", "--partitions", "1")
        c = Consumer({"bootstrap.servers": n.bootstrap, "group.id": "x",
                      "fetch.wait.max.ms": 20000, "fetch.min.bytes": 1,
                      "enable.auto.commit": False})
        c.assign([TopicPartition("lp", 0, 0)])
        c.poll(1.5)  # the fetch is now parked in sluice-kafka
        p = Producer({"bootstrap.servers": n.bootstrap, "linger.ms": 0})
        p.list_topics(timeout=10)  # connected before the clock starts
        t0 = time.time()
        p.produce("lp", value=b"wake", partition=0)
        p.flush(10)
        m = None
        while m is None and time.time() - t0 < 15:
            m = c.poll(0.05)
        dt = time.time() - t0
        self.assertIsNotNone(m)
        self.assertEqual(m.value(), b"wake")
        print("\nlong-poll wake-up: record received %.1f ms after "
              "produce() (fetch.wait.max.ms 20000)" %
              (dt * 1000))
        c.close()
        # The wake-up came from segstore's ADVANCE event, not the timer.
        n.stop_kafka(signal.SIGTERM)
        self.assertRegex(n.log(), r"fetch_woken=[1-9]")

    def test_admin_topics(self):
        from confluent_kafka.admin import (AdminClient, ConfigResource,
                                           NewTopic)
        n = self.node()
        a = AdminClient({"bootstrap.servers": n.bootstrap})
        fs = a.create_topics([
            NewTopic("adm", 3, 1, config={"retention.ms": "3600000"}),
            NewTopic("adm2", 2, -1 if False else 1)], request_timeout=10)
        for f in fs.values():
            self.assertIsNone(f.result())
        md = a.list_topics(timeout=10)
        self.assertEqual(len(md.topics["adm"].partitions), 3)
        self.assertEqual(len(md.topics["adm2"].partitions), 2)
        # Refusals, each with its own error.
        bad = a.create_topics([NewTopic("adm", 1, 1),
                               NewTopic("rf3", 1, 3),
                               NewTopic("badcfg", 1, 1,
                                        config={"no.such": "1"})],
                              request_timeout=10)
        errs = {}
        for t, f in bad.items():
            try:
                f.result()
                errs[t] = None
            except Exception as e:
                errs[t] = e.args[0].name()
        self.assertEqual(errs, {"adm": "TOPIC_ALREADY_EXISTS",
                                "rf3": "INVALID_REPLICATION_FACTOR",
                                "badcfg": "INVALID_CONFIG"})
        # validate_only creates nothing.
        fs = a.create_topics([NewTopic("dry", 1, 1)], validate_only=True,
                             request_timeout=10)
        self.assertIsNone(fs["dry"].result())
        self.assertNotIn("dry", a.list_topics(timeout=10).topics)
        # DescribeConfigs: topic and broker.
        fs = a.describe_configs([ConfigResource("topic", "adm"),
                                 ConfigResource("broker", "1")])
        for res, f in fs.items():
            cfg = f.result()
            if res.name == "adm":
                self.assertEqual(cfg["retention.ms"].value, "3600000")
                self.assertIn("segment.bytes", cfg)
            else:
                self.assertEqual(cfg["advertised.listeners"].value,
                                 "PLAINTEXT://" + n.bootstrap)
        # Delete.
        fs = a.delete_topics(["adm", "nope"], request_timeout=10)
        self.assertIsNone(fs["adm"].result())
        with self.assertRaises(Exception) as ctx:
            fs["nope"].result()
        self.assertEqual(ctx.exception.args[0].name(),
                         "UNKNOWN_TOPIC_OR_PART")
        self.assertNotIn("adm", a.list_topics(timeout=10).topics)
        self.assertNotIn("adm\t", n.ctl("topic", "list").stdout)

    def test_auto_create_and_segstore_reads(self):
        n = self.node(kafka_args=["--set", "num.partitions=2"])
        msgs = [(b"k%d" % i, b"v%d" % i, [("h", b"x")]) for i in range(20)]
        self.produce(n, "auto1", msgs, part=1, acks="all")
        d = json.loads(n.ctl("topic", "describe", "auto1",
                             json_out=True).stdout)
        self.assertEqual(d["partitions"], 2)
        recs = n.ctl_consume("auto1", 1)
        self.assertEqual([(r["key"], r["value"]) for r in recs],
                         [(k.decode(), v.decode()) for k, v, _ in msgs])
        r = n.verify()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # With auto-create off, an unknown topic stays unknown.
        n2 = Node(os.path.join(self.root, "n2"),
                  kafka_args=["--set", "auto.create.topics.enable=false"])
        os.makedirs(n2.root)
        self.nodes.append(n2)
        n2.start()
        r = kcat(n2, "-L", "-J", "-t", "never")
        md = json.loads(r.stdout)
        self.assertEqual(md["topics"][0]["error"], "Broker: Unknown topic "
                         "or partition")
        self.assertNotIn("never", n2.ctl("topic", "list").stdout)

    def test_kill9_loses_no_acknowledged_record(self):
        from confluent_kafka import Producer
        n = self.node()
        n.ctl("topic", "create", "k9", "--partitions", "1")
        p = Producer({"bootstrap.servers": n.bootstrap, "acks": "all",
                      "linger.ms": 2, "message.timeout.ms": 60000,
                      "reconnect.backoff.max.ms": 200})
        acked = {}
        failed = []

        def dr(err, msg):
            if err:
                failed.append(err)
            else:
                acked[msg.value()] = msg.offset()
        stop = threading.Event()

        def run():
            i = 0
            while not stop.is_set():
                try:
                    p.produce("k9", value=b"m%08d" % i, partition=0,
                              on_delivery=dr)
                    i += 1
                except BufferError:
                    pass
                p.poll(0.0005)
        th = threading.Thread(target=run)
        th.start()
        deadline = time.time() + 20
        while len(acked) < 200 and time.time() < deadline:
            time.sleep(0.05)
        before = len(acked)
        n.stop_kafka(signal.SIGKILL)
        time.sleep(0.3)
        n.start_kafka()
        deadline = time.time() + 20
        while len(acked) < before + 200 and time.time() < deadline:
            time.sleep(0.05)
        stop.set()
        th.join()
        self.assertEqual(p.flush(60), 0)
        print("\nkill -9: %d acknowledged before the kill, %d in all, "
              "%d failed" % (before, len(acked), len(failed)))
        self.assertGreater(before, 0)
        self.assertGreater(len(acked), before)
        at = {r["offset"]: r["value"].encode()
              for r in n.ctl_consume("k9", 0)}
        # Every acknowledged record is stored at the offset its
        # acknowledgement named.  (A batch whose answer the kill cut off
        # may be stored twice when the producer resends it: without
        # idempotence that is Kafka's at-least-once.)
        lost = [v for v, off in acked.items() if at.get(off) != v]
        self.assertEqual(lost, [])
        print("kill -9: %d stored, %d duplicates" %
              (len(at), len(at) - len(set(at.values()))))
        r = n.verify()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


class KafkaPythonTest(KafkaTestBase):
    def test_kafka_python_produce_consume(self):
        from kafka import KafkaConsumer, KafkaProducer, TopicPartition
        n = self.node()
        n.ctl("topic", "create", "kp", "--partitions", "2")
        prod = KafkaProducer(bootstrap_servers=n.bootstrap, acks=1,
                             compression_type="gzip", linger_ms=5)
        sent = []
        for i in range(100):
            key = None if i % 10 == 0 else b"k%d" % i
            val = None if i % 13 == 1 and key else b"value-%d" % i
            hdrs = [("n", b"%d" % i)]
            md = prod.send("kp", key=key, value=val, headers=hdrs,
                           partition=1).get(timeout=20)
            self.assertEqual(md.offset, i)
            sent.append((key, val, hdrs))
        # Compressible records sent together: kafka-python compresses a
        # batch only when that makes it smaller.
        zs = [b"gzip-%d-" % i + b"z" * 1000 for i in range(50)]
        for v in zs:
            prod.send("kp", value=v, partition=0)
        prod.flush(20)
        prod.close()
        prod = KafkaProducer(bootstrap_servers=n.bootstrap, acks="all")
        prod.send("kp", value=b"acks-all", partition=0).get(timeout=20)
        prod.close()
        cons = KafkaConsumer(bootstrap_servers=n.bootstrap, group_id=None,
                             enable_auto_commit=False,
                             consumer_timeout_ms=10000)
        tp = TopicPartition("kp", 1)
        cons.assign([tp])
        cons.seek(tp, 0)
        got = []
        for m in cons:
            got.append(m)
            if len(got) == len(sent):
                break
        self.assertEqual([(m.key, m.value, list(m.headers)) for m in got],
                         sent)
        self.assertEqual(cons.end_offsets([tp])[tp], 100)
        self.assertEqual(cons.beginning_offsets([tp])[tp], 0)
        cons.close()
        # kafka-python compressed with gzip, and that is what is stored.
        self.assertIn("gzip", stored_codecs(n, "kp", 0))
        # And librdkafka reads what kafka-python wrote.
        got = ck_consume(n, "kp", 0, 0, 51)
        self.assertEqual([m.value() for m in got], zs + [b"acks-all"])


def main():
    global BIN
    if len(sys.argv) < 2:
        print("usage: kafka_test.py BIN_DIR [unittest args]")
        return 2
    BIN = os.path.abspath(sys.argv[1])
    prog = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], exit=False,
                         verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
