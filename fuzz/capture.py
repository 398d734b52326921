#!/usr/bin/python3
"""capture.py — record real client traffic as fuzz seeds.

    fuzz/capture.py kafka|mqtt LISTEN_PORT TARGET_PORT OUTDIR PREFIX

A TCP relay on 127.0.0.1:LISTEN_PORT in front of a running sluice-kafka or
sluice-mqtt on 127.0.0.1:TARGET_PORT.  Point a real client (kcat,
confluent-kafka, kafka-python, mosquitto_pub/sub, paho) at LISTEN_PORT; for
Kafka start sluice-kafka with --advertise 127.0.0.1:LISTEN_PORT so that the
client's later connections come through the relay as well.  Both directions
are passed on unchanged; every client-to-server packet is also written to
OUTDIR as one seed file in the form its harness reads:

  kafka  the frame with its 4-byte size prefix, named
         PREFIX-<Api>-v<version> (fuzz/fuzz_kafka.c);
  mqtt   one byte with the protocol level of the connection's CONNECT
         (3, 4 or 5), then the packet, named PREFIX-v<level>-<type>
         (fuzz/fuzz_mqtt.c: the first byte picks the version).

Only the first packet of each name is kept (a second CONNECT of the same
version adds nothing), so a whole client run gives a handful of files.
Stops on SIGINT/SIGTERM; prints each file it writes.  docs/fuzzing.md
("Seeds from real client traffic") shows a whole session.
"""
import os
import signal
import socket
import sys
import threading

KAFKA_APIS = {
    0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata",
    8: "OffsetCommit", 9: "OffsetFetch", 10: "FindCoordinator",
    11: "JoinGroup", 12: "Heartbeat", 13: "LeaveGroup", 14: "SyncGroup",
    15: "DescribeGroups", 16: "ListGroups", 18: "ApiVersions",
    19: "CreateTopics", 20: "DeleteTopics", 22: "InitProducerId",
    32: "DescribeConfigs", 37: "CreatePartitions", 42: "DeleteGroups",
}
MQTT_TYPES = {
    1: "connect", 3: "publish", 4: "puback", 5: "pubrec", 6: "pubrel",
    7: "pubcomp", 8: "subscribe", 10: "unsubscribe", 12: "pingreq",
    14: "disconnect", 15: "auth",
}

lock = threading.Lock()
seen = set()


def save(outdir, name, data):
    with lock:
        if name in seen or os.path.exists(os.path.join(outdir, name)):
            return
        seen.add(name)
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
        print("capture: wrote %s (%d bytes)" % (name, len(data)), flush=True)


def kafka_packets(buf):
    """Whole frames off the front of buf: (frames, rest)."""
    out = []
    while len(buf) >= 4:
        n = int.from_bytes(buf[:4], "big", signed=True)
        if n < 0 or len(buf) < 4 + n:
            break
        out.append(bytes(buf[:4 + n]))
        buf = buf[4 + n:]
    return out, buf


def mqtt_packets(buf):
    """Whole MQTT packets off the front of buf: (packets, rest)."""
    out = []
    while len(buf) >= 2:
        n, mul, i = 0, 1, 1
        while True:
            if i >= len(buf) or i > 4:
                return out, buf
            b = buf[i]
            n += (b & 0x7F) * mul
            mul *= 128
            i += 1
            if not b & 0x80:
                break
        if len(buf) < i + n:
            break
        out.append(bytes(buf[:i + n]))
        buf = buf[i + n:]
    return out, buf


def mqtt_level(connect):
    """The protocol level byte of a CONNECT packet (after the name)."""
    i = 1
    while connect[i] & 0x80:
        i += 1
    i += 1
    name_len = int.from_bytes(connect[i:i + 2], "big")
    return connect[i + 2 + name_len]


def client_to_server(proto, src, dst, outdir, prefix):
    buf = b""
    level = 4
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
            buf += data
            if proto == "kafka":
                pkts, buf = kafka_packets(buf)
                for p in pkts:
                    key = int.from_bytes(p[4:6], "big", signed=True)
                    ver = int.from_bytes(p[6:8], "big", signed=True)
                    api = KAFKA_APIS.get(key, "key%d" % key)
                    save(outdir, "%s-%s-v%d" % (prefix, api, ver), p)
            else:
                pkts, buf = mqtt_packets(buf)
                for p in pkts:
                    t = p[0] >> 4
                    if t == 1:
                        level = mqtt_level(p)
                    name = "%s-v%d-%s" % (prefix, level,
                                          MQTT_TYPES.get(t, "type%d" % t))
                    save(outdir, name, bytes([level]) + p)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def server_to_client(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    if len(sys.argv) != 6 or sys.argv[1] not in ("kafka", "mqtt"):
        sys.stderr.write(__doc__)
        sys.exit(2)
    proto, lport, tport, outdir, prefix = sys.argv[1:]
    os.makedirs(outdir, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(lport)))
    ls.listen(16)
    print("capture: relaying 127.0.0.1:%s -> 127.0.0.1:%s" % (lport, tport),
          flush=True)
    try:
        while True:
            c, _ = ls.accept()
            s = socket.create_connection(("127.0.0.1", int(tport)))
            threading.Thread(target=client_to_server,
                             args=(proto, c, s, outdir, prefix),
                             daemon=True).start()
            threading.Thread(target=server_to_client, args=(s, c),
                             daemon=True).start()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
