#!/usr/bin/python3
"""The deployment artifacts agree with each other and with the README.

No Docker engine runs here, so this checks what can be checked without
one:

* `docker-compose config -q` accepts docker-compose.yml (exit 77, skipped,
  only when docker-compose is missing: tools/deps.sh installs it);
* docker-compose.yml mirrors tools/cluster.sh: the same services, data
  volume read-only in every frontend and at segstore's path, one IPC
  socket volume, health checks everywhere, every sluice-kafka advertising
  the haproxy Kafka address, haproxy rendered from the one template;
* the Dockerfile builds with the README's commands: tools/deps.sh --build
  and the very CMake configure and ninja lines of tools/quickstart.sh; its
  runtime stage is debian:12-slim, runs as `sluice`, and holds every
  sluice-* executable the tree defines, in /usr/local/bin;
* with a build directory given, the runtime packages of the Dockerfile
  provide every shared library those binaries need (readelf NEEDED ->
  dpkg -S);
* tools/haproxy/haproxy.cfg.in renders to a config `haproxy -c` accepts;
* the systemd units pass `systemd-analyze verify` (missing binaries
  aside).

Run: cluster_deploy_test.py [BIN_DIR], under /usr/bin/python3.
"""
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml

SRC = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BIN = None
SERVICES = ["segstore", "mqtt1", "mqtt2", "kafka1", "kafka2",
            "haproxy-mqtt", "haproxy-kafka", "s3rver"]


def read(path):
    with open(os.path.join(SRC, path)) as f:
        return f.read()


def dockerfile_stages():
    """[(FROM line, [instructions joined across continuations])]."""
    text = read("Dockerfile")
    lines, cur = [], ""
    for ln in text.splitlines():
        if ln.lstrip().startswith("#") and not cur:
            continue
        if ln.rstrip().endswith("\\"):
            cur += ln.rstrip()[:-1] + " "
            continue
        cur += ln
        if cur.strip():
            lines.append(" ".join(cur.split()))
        cur = ""
    stages = []
    for ln in lines:
        if ln.upper().startswith("FROM "):
            stages.append((ln, []))
        elif stages:
            stages[-1][1].append(ln)
    return stages


def shell_commands(run_line):
    """A RUN line split into commands at && ; as token lists."""
    body = run_line[4:]
    out = []
    for part in re.split(r"&&|;", body):
        toks = shlex.split(part)
        if toks:
            out.append(toks)
    return out


class ComposeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(SRC, "docker-compose.yml")) as f:
            cls.c = yaml.safe_load(f)
        cls.sv = cls.c["services"]

    def test_compose_config(self):
        exe = shutil.which("docker-compose")
        if exe is None:
            raise unittest.SkipTest("docker-compose not installed "
                                    "(tools/deps.sh installs it)")
        r = subprocess.run([exe, "-f", os.path.join(SRC,
                                                    "docker-compose.yml"),
                            "config", "-q"], capture_output=True, text=True,
                           timeout=60, cwd=SRC)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run([exe, "-f", os.path.join(SRC,
                                                    "docker-compose.yml"),
                            "--profile", "s3", "config", "--services"],
                           capture_output=True, text=True, timeout=60,
                           cwd=SRC)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(r.stdout.split()), sorted(SERVICES))

    def test_mirrors_cluster_sh(self):
        self.assertEqual(sorted(self.sv), sorted(SERVICES))
        cl = read("tools/cluster.sh")
        m = re.search(r"^names=\(([^)]*)\)", cl, re.M)
        self.assertEqual(sorted(m.group(1).split()), sorted(SERVICES),
                         "tools/cluster.sh names= and the compose services")
        self.assertEqual(self.sv["s3rver"].get("profiles"), ["s3"])
        for name in SERVICES:
            self.assertIn("healthcheck", self.sv[name], name)
        # segstore: data read-write; frontends: read-only, same path.
        seg_vols = self.sv["segstore"]["volumes"]
        self.assertIn("data:/var/lib/sluice", seg_vols)
        self.assertIn("run:/run/sluice", seg_vols)
        for name in ("mqtt1", "mqtt2", "kafka1", "kafka2"):
            vols = self.sv[name]["volumes"]
            self.assertIn("data:/var/lib/sluice:ro", vols, name)
            self.assertIn("run:/run/sluice", vols, name)
            self.assertEqual(self.sv[name]["depends_on"]["segstore"]
                             ["condition"], "service_healthy", name)
        seg_cmd = " ".join(self.sv["segstore"]["command"])
        self.assertIn("--ipc=ipc:///run/sluice/segstore.sock", seg_cmd)
        for name in ("kafka1", "kafka2"):
            cmd = self.sv[name]["command"]
            adv = cmd[cmd.index("--advertise") + 1]
            # The address clients reach haproxy-kafka at, by default the
            # published port on localhost.
            self.assertEqual(adv, "${SLUICE_KAFKA_ADVERTISE:-localhost:9092}")
            self.assertIn("${SLUICE_KAFKA_PORT:-9092}:9092",
                          self.sv["haproxy-kafka"]["ports"])
        self.assertIn("${SLUICE_MQTT_PORT:-1883}:1883",
                      self.sv["haproxy-mqtt"]["ports"])
        for proto, servers in (("mqtt", ["mqtt1=mqtt1:1883",
                                         "mqtt2=mqtt2:1883"]),
                               ("kafka", ["kafka1=kafka1:9092",
                                          "kafka2=kafka2:9092"])):
            cmd = " ".join(self.sv["haproxy-" + proto]["command"])
            self.assertIn("render.sh /etc/sluice-haproxy/haproxy.cfg.in "
                          "%s " % proto, cmd)
            for s in servers:
                self.assertIn(s, cmd)


class DockerfileTest(unittest.TestCase):
    def test_build_stage_uses_the_readme_commands(self):
        readme = read("README.md")
        self.assertIn("tools/quickstart.sh", readme)
        self.assertIn("tools/deps.sh", readme)
        qs = read("tools/quickstart.sh")
        # quickstart's configure and build lines, $build -> build.
        cm = re.search(r"^cmake -S [^>|]*", qs, re.M).group(0)
        qs_cmake = [t.replace("$build", "build")
                    for t in shlex.split(cm.replace('"$build"', "$build"))]
        nj = re.search(r"^ninja -C \S+", qs, re.M).group(0)
        qs_ninja = [t.replace("$build", "build")
                    for t in shlex.split(nj.replace('"$build"', "$build"))]
        self.assertIn("bash tools/deps.sh", qs)

        stages = dockerfile_stages()
        self.assertEqual(len(stages), 2, [s[0] for s in stages])
        (from_b, build), (from_r, runtime) = stages
        self.assertEqual(from_b, "FROM debian:12-slim AS build")
        self.assertEqual(from_r, "FROM debian:12-slim")
        cmds = [c for ln in build if ln.startswith("RUN ")
                for c in shell_commands(ln)]
        self.assertIn(["bash", "tools/deps.sh", "--build"], cmds)
        self.assertIn(qs_cmake, cmds, "the Dockerfile configures as "
                      "tools/quickstart.sh does")
        self.assertTrue(any(c[:len(qs_ninja)] == qs_ninja for c in cmds),
                        "the Dockerfile builds with %s" % qs_ninja)
        # No other way of installing build packages in the build stage.
        self.assertFalse(any(c[0] == "apt-get" for c in cmds), cmds)

    def test_runtime_stage(self):
        (_, _), (_, runtime) = dockerfile_stages()
        self.assertIn("USER sluice", runtime)
        copies = " ".join(ln for ln in runtime
                          if ln.startswith("COPY --from=build"))
        self.assertTrue(copies.endswith(" /usr/local/bin/"), copies)
        defined = set()
        for cm in glob.glob(os.path.join(SRC, "**", "CMakeLists.txt"),
                            recursive=True):
            if os.path.relpath(cm, SRC).startswith("build"):
                continue
            with open(cm) as f:
                defined |= set(re.findall(r"add_executable\((sluice-[a-z]+)",
                                          f.read()))
        self.assertTrue(defined)
        copied = set(re.findall(r"/src/build/bin/(sluice-[a-z]+)", copies))
        self.assertEqual(copied, defined, "every sluice-* binary in the "
                         "image, and only those")

    def test_runtime_packages_cover_needed_libraries(self):
        if not BIN:
            raise unittest.SkipTest("no build directory given")
        (_, _), (_, runtime) = dockerfile_stages()
        pkgs = set()
        for ln in runtime:
            if ln.startswith("RUN ") and "apt-get install" in ln:
                for c in shell_commands(ln):
                    if "install" in c:
                        pkgs |= {t for t in c[c.index("install") + 1:]
                                 if not t.startswith("-")}
        need = {}
        for b in glob.glob(os.path.join(BIN, "sluice-*")):
            out = subprocess.run(["readelf", "-d", b], capture_output=True,
                                 text=True).stdout
            for lib in re.findall(r"NEEDED\).*\[(.*)\]", out):
                need.setdefault(lib, os.path.basename(b))
        ldc = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True,
                             text=True).stdout
        missing = []
        for lib, who in sorted(need.items()):
            m = re.search(r"^\s*%s \(.*x86-64.*\) => (\S+)" % re.escape(lib),
                          ldc, re.M)
            if not m:
                continue
            r = subprocess.run(["dpkg", "-S", os.path.realpath(m.group(1))],
                               capture_output=True, text=True)
            pkg = r.stdout.split(":")[0] if r.returncode == 0 else None
            if pkg and pkg != "libc6" and pkg not in pkgs:
                missing.append("%s (%s, for %s)" % (pkg, lib, who))
        self.assertEqual(missing, [], "runtime packages the Dockerfile "
                         "does not install")


class HaproxyAndSystemdTest(unittest.TestCase):
    def test_haproxy_template_renders(self):
        if shutil.which("haproxy") is None:
            raise unittest.SkipTest("haproxy not installed")
        with tempfile.TemporaryDirectory() as d:
            cfg = os.path.join(d, "h.cfg")
            with open(cfg, "w") as f:
                subprocess.run(["sh", os.path.join(SRC,
                                                   "tools/haproxy/render.sh"),
                                os.path.join(SRC,
                                             "tools/haproxy/haproxy.cfg.in"),
                                "mqtt", "127.0.0.1:1883",
                                os.path.join(d, "a.sock"),
                                "mqtt1=127.0.0.1:11883",
                                "mqtt2=127.0.0.1:11884"],
                               stdout=f, check=True)
            r = subprocess.run(["haproxy", "-c", "-f", cfg],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            # A bad server argument is refused, not written into the file.
            r = subprocess.run(["sh", os.path.join(SRC,
                                                   "tools/haproxy/render.sh"),
                                os.path.join(SRC,
                                             "tools/haproxy/haproxy.cfg.in"),
                                "mqtt", "127.0.0.1:1883", "/tmp/a.sock",
                                "x=1.2.3.4:1\nlisten evil"],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 2)

    def test_systemd_units_verify(self):
        units = sorted(glob.glob(os.path.join(SRC, "tools/systemd/*.service")))
        names = [os.path.basename(u) for u in units]
        self.assertEqual(names, ["sluice-kafka@.service",
                                 "sluice-mqtt@.service",
                                 "sluice-segstore.service"])
        if shutil.which("systemd-analyze") is None:
            raise unittest.SkipTest("systemd-analyze not installed")
        with tempfile.TemporaryDirectory() as d:
            paths = []
            for u in units:
                n = os.path.basename(u).replace("@.", "@1234.")
                shutil.copy(u, os.path.join(d, n))
                paths.append(os.path.join(d, n))
            r = subprocess.run(["systemd-analyze", "verify", "--man=no"] +
                               paths, capture_output=True, text=True,
                               timeout=60)
            bad = [ln for ln in (r.stdout + r.stderr).splitlines()
                   if ln.strip() and "is not executable: No such file" not in
                   ln]
            self.assertEqual(bad, [])


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        BIN = os.path.abspath(sys.argv.pop(1))
    prog = unittest.main(verbosity=2, exit=False)
    res = prog.result
    if not res.wasSuccessful():
        sys.exit(1)
    # Skipped only because docker-compose is missing: say so with 77.
    if any("docker-compose not installed" in why for _, why in res.skipped):
        sys.exit(77)
    sys.exit(0)
