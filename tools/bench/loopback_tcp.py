#!/usr/bin/python3
"""tools/bench/loopback_tcp.py [SECONDS] [CHUNK] — the loopback TCP ceiling.

One TCP connection on 127.0.0.1: a forked sender writes CHUNK-byte
buffers (default 1 MiB) for SECONDS (default 5) while the parent reads
into a 1 MiB buffer; prints the received MB/s.  The reference figure
for docs/performance.md: a Kafka producer, broker and consumer on one
machine cannot move bytes through loopback faster than this.
"""
import os
import socket
import sys
import time

secs = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
chunk = int(sys.argv[2]) if len(sys.argv) > 2 else 1 << 20
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(1)
port = ls.getsockname()[1]
pid = os.fork()
if pid == 0:
    c = socket.create_connection(("127.0.0.1", port))
    buf = b"x" * chunk
    end = time.monotonic() + secs
    while time.monotonic() < end:
        c.sendall(buf)
    c.close()
    os._exit(0)
s, _ = ls.accept()
buf = bytearray(1 << 20)
n = 0
t0 = time.monotonic()
while True:
    k = s.recv_into(buf)
    if k == 0:
        break
    n += k
dt = time.monotonic() - t0
os.waitpid(pid, 0)
print("loopback TCP, one connection, %d-byte sends: %.0f MB/s over %.1f s"
      % (chunk, n / dt / 1e6, dt))
