"""Shared pieces of the cluster tests: one sluice-segstore, several
sluice-mqtt and sluice-kafka instances and one haproxy per protocol, all on
127.0.0.1 with free ports, haproxy configured from the same template as
tools/cluster.sh (tools/haproxy/haproxy.cfg.in through render.sh), and
driven through its runtime API (add server, stat).

Imported by cluster_*_test.py; not a test itself.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BIN = None
SRC = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        return True
    except OSError:
        return False


def wait_for(cond, timeout, what, step=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out after %.1fs waiting for %s" %
                         (timeout, what))


def known_nng_leak(report):
    """True when every leak in an LSan report is an nng message that
    segstore handed to nng_sendmsg() on its PUB socket (ss__publish) and
    libnng 1.5.2 (Debian 12) did not free when the socket closed with the
    message still queued towards a subscriber — nanomsg/nng#1643 ("Socket
    close may leak messages"), fixed in nng 1.6.0.  Seen in about one run
    in three of cluster_test.py under ASan, after frontends were killed.
    Any other leak still fails the test."""
    blocks = [b for b in report.split("\n\n")
              if b.lstrip().startswith(("Direct leak", "Indirect leak"))]
    if not blocks:
        return False
    for b in blocks:
        frames = [ln for ln in b.splitlines() if ln.strip().startswith("#")]
        pub = [i for i, f in enumerate(frames) if " ss__publish " in f]
        # #0 the allocator, then only libnng frames, then ss__publish.
        if not (pub and pub[0] >= 2 and "alloc" in frames[0] and
                all("libnng.so" in f for f in frames[1:pub[0]])):
            return False
    return True


class Proc:
    def __init__(self, name, popen, port, log):
        self.name, self.p, self.port, self.log = name, popen, port, log

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()


class Cluster:
    """The tools/cluster.sh topology, with handles on every process."""

    def __init__(self):
        base = os.environ.get("SL_TEST_TMP") or None
        if base:
            os.makedirs(base, exist_ok=True)
        self.root = tempfile.mkdtemp(prefix="cluster-", dir=base)
        self.data = os.path.join(self.root, "data")
        self.url = "ipc://%s/seg.sock" % self.root
        self.procs = {}
        self.lb = {"mqtt": free_port(), "kafka": free_port()}
        self.servers = {"mqtt": [], "kafka": []}

    # ---- processes -----------------------------------------------------
    def _spawn(self, name, argv, port):
        log = os.path.join(self.root, name + ".log")
        with open(log, "ab") as logf:
            p = subprocess.Popen(argv, stdout=logf, stderr=logf,
                                 stdin=subprocess.DEVNULL)
        self.procs[name] = Proc(name, p, port, log)
        return self.procs[name]

    def ctl(self, *args, check=True):
        r = subprocess.run([os.path.join(BIN, "sluice-ctl"), "--segstore",
                            self.url] + list(args), capture_output=True,
                           text=True, timeout=30)
        if check and r.returncode != 0:
            raise AssertionError("sluice-ctl %s: %s" % (args, r.stderr))
        return r

    def start_segstore(self):
        pr = self._spawn("segstore", [
            os.path.join(BIN, "sluice-segstore"), "--data", self.data,
            "--ipc", self.url], None)
        wait_for(lambda: self.ctl("topic", "list", check=False)
                 .returncode == 0 or pr.p.poll() is not None, 10,
                 "segstore")
        assert pr.p.poll() is None, pr.text()

    def start_mqtt(self, name, port=None, *args):
        port = port or free_port()
        pr = self._spawn(name, [
            os.path.join(BIN, "sluice-mqtt"), "--segstore", self.url,
            "--listen", "127.0.0.1:%d" % port] + list(args), port)
        wait_for(lambda: "MQ-READY" in pr.text() or pr.p.poll() is not None,
                 10, name + " MQ-READY")
        assert pr.p.poll() is None, pr.text()
        return pr

    def start_kafka(self, name, port=None, *args):
        port = port or free_port()
        pr = self._spawn(name, [
            os.path.join(BIN, "sluice-kafka"), "--segstore", self.url,
            "--listen", "127.0.0.1:%d" % port,
            "--advertise", "127.0.0.1:%d" % self.lb["kafka"]] + list(args),
            port)
        wait_for(lambda: listening(port) or pr.p.poll() is not None, 10,
                 name + " listening")
        assert pr.p.poll() is None, pr.text()
        time.sleep(0.2)  # HELLO lands: the first Metadata has the cluster id
        return pr

    def start_haproxy(self, proto, names):
        cfg = os.path.join(self.root, "haproxy-%s.cfg" % proto)
        sock = os.path.join(self.root, "haproxy-%s.sock" % proto)
        with open(cfg, "w") as f:
            subprocess.run(
                ["sh", os.path.join(SRC, "tools/haproxy/render.sh"),
                 os.path.join(SRC, "tools/haproxy/haproxy.cfg.in"), proto,
                 "127.0.0.1:%d" % self.lb[proto], sock] +
                ["%s=127.0.0.1:%d" % (n, self.procs[n].port) for n in names],
                stdout=f, check=True)
        self.servers[proto] = list(names)
        name = "haproxy-" + proto
        pr = self._spawn(name, ["haproxy", "-db", "-f", cfg], self.lb[proto])
        pr.sock = sock
        wait_for(lambda: listening(self.lb[proto]) and os.path.exists(sock),
                 10, name)
        return pr

    def start(self, n=2):
        self.start_segstore()
        for i in range(1, n + 1):
            self.start_mqtt("mqtt%d" % i)
        for i in range(1, n + 1):
            self.start_kafka("kafka%d" % i)
        self.start_haproxy("mqtt", ["mqtt%d" % i for i in range(1, n + 1)])
        self.start_haproxy("kafka", ["kafka%d" % i for i in range(1, n + 1)])
        return self

    def signal(self, name, sig):
        """Send sig; return the exit status (waits up to 30 s)."""
        pr = self.procs[name]
        pr.p.send_signal(sig)
        return pr.p.wait(timeout=30)

    def stop(self):
        order = ["haproxy-kafka", "haproxy-mqtt"] + sorted(
            n for n in self.procs if n.startswith(("mqtt", "kafka"))) + \
            ["segstore"]
        for n in order:
            pr = self.procs.get(n)
            if pr is None or pr.p.poll() is not None:
                continue
            pr.p.send_signal(signal.SIGTERM)
            try:
                pr.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pr.p.kill()
                pr.p.wait()

    def cleanup(self, failed=False):
        self.stop()
        bad = []
        for pr in self.procs.values():
            t = pr.text()
            for marker in ("ERROR: AddressSanitizer", "runtime error:",
                           "ERROR: LeakSanitizer"):
                if marker in t:
                    i = t.index(marker)
                    if marker == "ERROR: LeakSanitizer" and \
                            known_nng_leak(t[i:]):
                        print("%s: ignored the known libnng 1.5.2 leak of "
                              "a PUB message queued at close "
                              "(nanomsg/nng#1643, fixed in nng 1.6.0)" %
                              pr.name)
                        continue
                    bad.append("%s: %s" % (pr.name, t[i:i + 3000]))
        if failed or bad or os.environ.get("SL_TEST_KEEP"):
            print("kept " + self.root)
        else:
            shutil.rmtree(self.root, ignore_errors=True)
        if bad:
            raise AssertionError("sanitizer reports:\n" + "\n".join(bad))

    # ---- haproxy runtime API -------------------------------------------
    def admin(self, proto, cmd):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(5)
        s.connect(self.procs["haproxy-" + proto].sock)
        s.sendall(cmd.encode() + b"\n")
        out = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
        s.close()
        return out.decode()

    def stat(self, proto):
        """{server name: {csv field: value}} of proto's backend."""
        lines = self.admin(proto, "show stat").splitlines()
        head = lines[0].lstrip("# ").split(",")
        out = {}
        for ln in lines[1:]:
            if not ln:
                continue
            row = dict(zip(head, ln.split(",")))
            if row["pxname"] == proto and row["svname"] not in (
                    "BACKEND", "FRONTEND"):
                out[row["svname"]] = row
        return out

    def landed(self, proto, connect):
        """Run connect() (which opens one client connection through
        haproxy and waits until it is established) and return (its
        result, the server it landed on), from haproxy's per-server
        counts of connections ever made."""
        before = {n: int(r["stot"] or 0) for n, r in self.stat(proto).items()}
        res = connect()
        after = {n: int(r["stot"] or 0) for n, r in self.stat(proto).items()}
        grew = [n for n in after if after[n] > before.get(n, 0)]
        assert len(grew) == 1, (before, after)
        return res, grew[0]

    def add_server(self, proto, name):
        """Put a started instance into haproxy's rotation at run time, the
        way docs/operations.md tells operators to."""
        port = self.procs[name].port
        r = self.admin(proto, "add server %s/%s 127.0.0.1:%d check inter "
                       "500ms fall 2 rise 1 on-marked-down shutdown-sessions"
                       % (proto, name, port))
        assert "New server registered" in r, r
        self.admin(proto, "enable health %s/%s" % (proto, name))
        self.admin(proto, "enable server %s/%s" % (proto, name))
        self.servers[proto].append(name)
        wait_for(lambda: self.stat(proto)[name]["status"] == "UP", 10,
                 name + " UP in haproxy")

    def wait_status(self, proto, name, status, timeout=10):
        wait_for(lambda: self.stat(proto)[name]["status"].startswith(status),
                 timeout, "%s %s in haproxy" % (name, status))
