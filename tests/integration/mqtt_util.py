"""Shared pieces of the sluice-mqtt integration tests: starting segstore and
sluice-mqtt on free loopback ports, and a small raw MQTT client for what
the real clients will not send (topic aliases on demand, exact receive
maximum behaviour, malformed packets).

Imported by mqtt_*_test.py; not a test itself.
"""
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

BIN = None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Node:
    """One sluice-segstore and any number of sluice-mqtt instances."""

    def __init__(self, root=None):
        base = os.environ.get("SL_TEST_TMP") or None
        if base:
            os.makedirs(base, exist_ok=True)
        self.root = root or tempfile.mkdtemp(prefix="mqtt-", dir=base)
        self.data = os.path.join(self.root, "data")
        self.url = "ipc://%s/seg.sock" % self.root
        self.seg = None
        self.mq = []  # [(proc, port, log path)]
        self.seg_log = os.path.join(self.root, "segstore.log")

    def start_segstore(self):
        with open(self.seg_log, "ab") as logf:
            self.seg = subprocess.Popen(
                [os.path.join(BIN, "sluice-segstore"), "--data", self.data,
                 "--ipc", self.url], stdout=logf, stderr=logf)
        deadline = time.time() + 10
        sock = os.path.join(self.root, "seg.sock")
        while time.time() < deadline:
            if os.path.exists(sock):
                return
            if self.seg.poll() is not None:
                raise AssertionError("segstore exited")
            time.sleep(0.02)
        raise AssertionError("segstore did not start")

    def start_mqtt(self, *args, port=None):
        port = port or free_port()
        log = os.path.join(self.root, "mqtt-%d.log" % port)
        with open(log, "ab") as logf:
            p = subprocess.Popen(
                [os.path.join(BIN, "sluice-mqtt"), "--segstore", self.url,
                 "--listen", "127.0.0.1:%d" % port] + list(args),
                stdout=logf, stderr=logf)
        deadline = time.time() + 10
        while time.time() < deadline:
            if p.poll() is not None:
                raise AssertionError("sluice-mqtt exited: " + open(log).read())
            if "MQ-READY" in open(log, errors="replace").read():
                break
            time.sleep(0.02)
        else:
            raise AssertionError("sluice-mqtt not ready: " + open(log).read())
        self.mq.append((p, port, log))
        return port

    def kill_mqtt(self, port, sig=signal.SIGKILL):
        for i, (p, pt, log) in enumerate(self.mq):
            if pt == port:
                p.send_signal(sig)
                p.wait(timeout=20)
                del self.mq[i]
                return p.returncode

    def mqtt_log(self, port):
        for p, pt, log in self.mq:
            if pt == port:
                return open(log, errors="replace").read()
        return ""

    def sanitizer_reports(self):
        """Sanitizer findings in the logs of every process started (the
        sluice-mqtt instances, segstore, sluice-kafka)."""
        bad = []
        for name in os.listdir(self.root):
            if not name.endswith(".log"):
                continue
            with open(os.path.join(self.root, name), errors="replace") as f:
                text = f.read()
            for marker in ("ERROR: AddressSanitizer", "runtime error:",
                           "ERROR: LeakSanitizer"):
                if marker in text:
                    i = text.index(marker)
                    bad.append("%s: %s" % (name, text[i:i + 3000]))
        return bad

    def stop(self):
        for p, pt, log in self.mq:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.mq = []
        if self.seg and self.seg.poll() is None:
            self.seg.send_signal(signal.SIGTERM)
            try:
                self.seg.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.seg.kill()
                self.seg.wait()
        self.seg = None

    def cleanup(self):
        self.stop()
        bad = self.sanitizer_reports()
        if os.environ.get("SL_TEST_KEEP") or bad:
            print("kept " + self.root)
        else:
            shutil.rmtree(self.root, ignore_errors=True)
        if bad:
            raise AssertionError("sanitizer reports:\n" + "\n".join(bad))


# ---- a raw MQTT client ------------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def mstr(s):
    if isinstance(s, str):
        s = s.encode()
    return struct.pack(">H", len(s)) + s


# property ids
P_PFI, P_EXPIRY, P_CT, P_RT, P_CD, P_SUBID = 1, 2, 3, 8, 9, 11
P_SESSION_EXPIRY, P_ASSIGNED_CID, P_SERVER_KA = 17, 18, 19
P_REASON_STRING, P_RECV_MAX, P_ALIAS_MAX, P_ALIAS = 31, 33, 34, 35
P_USER, P_MAX_PACKET, P_WILL_DELAY = 38, 39, 24

_U8 = {1, 23, 25, 36, 37, 40, 41, 42}
_U16 = {19, 33, 34, 35}
_U32 = {2, 17, 24, 39}
_STR = {3, 8, 18, 21, 26, 28, 31}
_BIN = {9, 22}


def props(plist):
    """plist: [(id, value)]; user property value is (name, value)."""
    b = bytearray()
    for pid, v in plist:
        b += varint(pid)
        if pid in _U8:
            b.append(v)
        elif pid in _U16:
            b += struct.pack(">H", v)
        elif pid in _U32:
            b += struct.pack(">I", v)
        elif pid == P_SUBID:
            b += varint(v)
        elif pid in _STR or pid in _BIN:
            b += mstr(v)
        elif pid == P_USER:
            b += mstr(v[0]) + mstr(v[1])
    return varint(len(b)) + bytes(b)


def parse_props(b, i):
    n, i = read_varint(b, i)
    end = i + n
    out = []
    while i < end:
        pid, i = read_varint(b, i)
        if pid in _U8:
            out.append((pid, b[i]))
            i += 1
        elif pid in _U16:
            out.append((pid, struct.unpack(">H", b[i:i + 2])[0]))
            i += 2
        elif pid in _U32:
            out.append((pid, struct.unpack(">I", b[i:i + 4])[0]))
            i += 4
        elif pid == P_SUBID:
            v, i = read_varint(b, i)
            out.append((pid, v))
        elif pid == P_USER:
            ln = struct.unpack(">H", b[i:i + 2])[0]
            k = b[i + 2:i + 2 + ln]
            i += 2 + ln
            ln = struct.unpack(">H", b[i:i + 2])[0]
            v = b[i + 2:i + 2 + ln]
            i += 2 + ln
            out.append((pid, (k, v)))
        else:
            ln = struct.unpack(">H", b[i:i + 2])[0]
            out.append((pid, b[i + 2:i + 2 + ln]))
            i += 2 + ln
    return out, end


def read_varint(b, i):
    n = 0
    shift = 0
    while True:
        c = b[i]
        i += 1
        n |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return n, i


def packet(ptype, flags, body):
    return bytes([ptype << 4 | flags]) + varint(len(body)) + body


class Raw:
    """A blocking MQTT client over a plain socket; v = 4 or 5."""

    def __init__(self, port, v=5, timeout=5.0):
        self.v = v
        self.s = socket.create_connection(("127.0.0.1", port), timeout)
        self.s.settimeout(timeout)
        self.buf = b""

    def send(self, b):
        self.s.sendall(b)

    def connect(self, cid="", clean=True, keepalive=60, cprops=(),
                will=None):
        flags = 0x02 if clean else 0
        payload = mstr(cid)
        if will:
            topic, msg, qos, retain, wprops = will
            flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
            if self.v == 5:
                payload += props(wprops)
            payload += mstr(topic) + mstr(msg)
        body = mstr("MQTT") + bytes([self.v, flags]) + \
            struct.pack(">H", keepalive)
        if self.v == 5:
            body += props(cprops)
        self.send(packet(1, 0, body + payload))
        return self.expect(2)

    def publish(self, topic, payload, qos=0, pid=1, retain=False, dup=False,
                pprops=()):
        if isinstance(payload, str):
            payload = payload.encode()
        body = mstr(topic)
        if qos:
            body += struct.pack(">H", pid)
        if self.v == 5:
            body += props(pprops)
        flags = (qos << 1) | (1 if retain else 0) | (8 if dup else 0)
        self.send(packet(3, flags, body + payload))

    def subscribe(self, filt, qos=0, pid=1, opts=0, sprops=()):
        body = struct.pack(">H", pid)
        if self.v == 5:
            body += props(sprops)
        body += mstr(filt) + bytes([qos | opts])
        self.send(packet(8, 2, body))
        return self.expect(9)

    def ack(self, ptype, pid):
        self.send(packet(ptype, 2 if ptype == 6 else 0,
                         struct.pack(">H", pid)))

    def recv_packet(self, timeout=None):
        """(type, flags, body) or None on timeout; raises on close."""
        if timeout is not None:
            self.s.settimeout(timeout)
        try:
            while True:
                if len(self.buf) >= 2:
                    try:
                        n, i = read_varint(self.buf, 1)
                    except IndexError:
                        n = None
                    if n is not None and len(self.buf) >= i + n:
                        t = self.buf[0]
                        body = self.buf[i:i + n]
                        self.buf = self.buf[i + n:]
                        return (t >> 4, t & 15, body)
                d = self.s.recv(65536)
                if not d:
                    raise ConnectionError("closed")
                self.buf += d
        except socket.timeout:
            return None

    def expect(self, ptype, timeout=5):
        p = self.recv_packet(timeout)
        if p is None:
            raise AssertionError("timed out waiting for packet %d" % ptype)
        if p[0] != ptype:
            raise AssertionError("expected packet %d, got %r" % (ptype, p))
        return p

    def parse_publish(self, p):
        t, flags, body = p
        qos = (flags >> 1) & 3
        ln = struct.unpack(">H", body[:2])[0]
        topic = body[2:2 + ln].decode()
        i = 2 + ln
        pid = None
        if qos:
            pid = struct.unpack(">H", body[i:i + 2])[0]
            i += 2
        pr = []
        if self.v == 5:
            pr, i = parse_props(body, i)
        return {"topic": topic, "qos": qos, "retain": bool(flags & 1),
                "dup": bool(flags & 8), "pid": pid, "props": pr,
                "payload": body[i:]}

    def closed(self, timeout=3):
        """True when the server closes the connection within timeout
        (packets before the close are returned in self.last)."""
        self.last = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                p = self.recv_packet(max(0.05, deadline - time.time()))
            except (ConnectionError, OSError):
                return True
            if p is not None:
                self.last.append(p)
        return False

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass
