#!/usr/bin/python3
"""Consumer groups, committed offsets and idempotent producers through
sluice-kafka, with real clients.

The group coordinator is segstore's membership service; sluice-kafka
translates.  These tests drive it with python3-confluent-kafka
(librdkafka 2.0.2) and python3-kafka (kafka-python 2.0.2): groups of two
members that rebalance when one joins and when one leaves, commits and a
restart that resumes from them, two sluice-kafka instances serving one
group, the admin APIs for groups and partitions, the idempotent producer
with every codec, and kill -9 of sluice-kafka under a consuming group.

Every record is counted: "no loss, no duplicates" is checked record by
record, not by totals.

Run: kafka_groups_test.py BIN_DIR [unittest args], under /usr/bin/python3.
"""
import os
import signal
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_test as kt  # noqa: E402  (Node, Raw, batch helpers)

# Short group timeouts keep the file fast: a member that vanishes is
# noticed within the session timeout, a rebalance waits at most the
# rebalance timeout (max.poll.interval.ms for both clients).
SESSION_MS = 6000
HEARTBEAT_MS = 500
MAX_POLL_MS = 10000


def ck_conf(node, group, **kw):
    c = {"bootstrap.servers": node.bootstrap, "group.id": group,
         "session.timeout.ms": SESSION_MS,
         "heartbeat.interval.ms": HEARTBEAT_MS,
         "max.poll.interval.ms": MAX_POLL_MS,
         "enable.auto.commit": False,
         "auto.offset.reset": "earliest",
         "partition.assignment.strategy": "range"}
    c.update(kw)
    return c


class Member:
    """A confluent-kafka consumer in a group, polled by the test thread.
    Records every message it receives and its assignment."""

    def __init__(self, node, group, topic, name, **kw):
        from confluent_kafka import Consumer
        self.name = name
        self.c = Consumer(ck_conf(node, group, **kw))
        self.assigned = set()
        self.got = []  # (partition, offset, value)
        self.commits = []  # (partition, committed offset) acknowledged
        self.errors = []
        self.revokes = 0

        def on_assign(c, parts):
            self.assigned = {p.partition for p in parts}

        def on_revoke(c, parts):
            self.revokes += 1
            self.assigned = set()
        self.c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)

    def poll(self, t=0.05):
        m = self.c.poll(t)
        if m is None:
            return None
        if m.error():
            # Transport hiccups (the kill test) are reported here and
            # recovered from by librdkafka.
            self.errors.append(str(m.error()))
            return None
        self.got.append((m.partition(), m.offset(), m.value()))
        return m

    def commit(self):
        """Commit the positions of everything consumed, synchronously;
        remember what was acknowledged."""
        from confluent_kafka import KafkaException
        try:
            res = self.c.commit(asynchronous=False)
        except KafkaException as e:
            # Nothing consumed since the last commit (_NO_OFFSET), or
            # a rebalance/coordinator change: retried at the next commit.
            self.errors.append("commit: %s" % e)
            return False
        for tp in res or []:
            if tp.error is None and tp.offset >= 0:
                self.commits.append((tp.partition, tp.offset))
        return True

    def close(self):
        self.c.close()


def pump(members, until, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for m in members:
            m.poll(0.02)
        if until():
            return time.time()
        time.sleep(0)
    raise AssertionError("timed out waiting for %s; assignments %s" % (
        what, [(m.name, sorted(m.assigned)) for m in members]))


def ck_produce(node, topic, values, partitions, **conf):
    """Produce values round-robin over the partitions; return the
    acknowledged (partition, offset, value) triples."""
    from confluent_kafka import Producer
    p = Producer(dict({"bootstrap.servers": node.bootstrap,
                       "linger.ms": 5}, **conf))
    acked, errors = [], []

    def dr(err, msg):
        if err:
            errors.append(err)
        else:
            acked.append((msg.partition(), msg.offset(), msg.value()))
    for i, v in enumerate(values):
        p.produce(topic, value=v, partition=i % partitions, on_delivery=dr)
        p.poll(0)
    assert p.flush(30) == 0
    assert errors == [], errors
    return acked


def values(prefix, n):
    return [b"%s-%06d" % (prefix.encode(), i) for i in range(n)]


class GroupTestBase(kt.KafkaTestBase):
    def second_instance(self, first):
        """Another sluice-kafka on first's segstore, on its own port."""
        n2 = kt.Node(self.root)
        n2.kf_log = os.path.join(self.root, "kafka2.log")
        n2.start_kafka()
        self.nodes.append(n2)
        return n2

    def assertExactlyOnce(self, got, acked, what):
        """got: (partition, offset, value) received; acked: produced."""
        seen = {}
        for p, o, v in got:
            seen.setdefault((p, o), []).append(v)
        dups = {k: v for k, v in seen.items() if len(v) > 1}
        self.assertEqual(dups, {}, what + ": duplicates")
        want = {(p, o): v for p, o, v in acked}
        have = {k: v[0] for k, v in seen.items()}
        self.assertEqual(sorted(set(want) - set(have)), [],
                         what + ": lost records")
        self.assertEqual(sorted(set(have) - set(want)), [],
                         what + ": records nobody produced")
        self.assertEqual(have, want, what + ": values")


class ConfluentGroupTest(GroupTestBase):
    def test_rebalance_commit_restart_resume(self):
        n = self.node()
        n.ctl("topic", "create", "cg", "--partitions", "4")
        acked = ck_produce(n, "cg", values("a", 800), 4)
        got = []

        a = Member(n, "g1", "cg", "a")
        t0 = time.time()
        pump([a], lambda: a.assigned == {0, 1, 2, 3}, 20, "a alone")
        t_first = time.time() - t0
        pump([a], lambda: len(a.got) >= 800, 20, "a drains")
        self.assertTrue(a.commit())

        # b joins: both rejoin, the range assignor splits 2 + 2.
        b = Member(n, "g1", "cg", "b")
        t0 = time.time()
        pump([a, b], lambda: len(a.assigned) == 2 and len(b.assigned) == 2
             and not (a.assigned & b.assigned), 30, "rebalance on join")
        t_join = time.time() - t0
        acked += ck_produce(n, "cg", values("b", 800), 4)
        pump([a, b], lambda: len(a.got) + len(b.got) >= 1600, 30,
             "a and b drain")
        # Each member got exactly its own partitions' new records.
        self.assertEqual({p for p, o, v in b.got}, b.assigned)
        self.assertTrue(a.commit())
        self.assertTrue(b.commit())

        # b leaves (LeaveGroup): a takes every partition again.
        t0 = time.time()
        b.close()
        pump([a], lambda: a.assigned == {0, 1, 2, 3}, 30,
             "rebalance on leave")
        t_leave = time.time() - t0
        acked += ck_produce(n, "cg", values("c", 400), 4)
        pump([a], lambda: len(a.got) + len(b.got) >= 2000, 30, "a drains")
        self.assertTrue(a.commit())
        a.close()
        got = a.got + b.got
        self.assertExactlyOnce(got, acked, "first run")

        # While nobody is in the group: more records, then a new member
        # resumes from the committed offsets — exactly the new ones.
        more = ck_produce(n, "cg", values("d", 400), 4)
        c = Member(n, "g1", "cg", "c")
        pump([c], lambda: len(c.got) >= 400, 30, "restart resumes")
        # Nothing more arrives (no redelivery of committed records).
        end = time.time() + 1.0
        while time.time() < end:
            c.poll(0.1)
        self.assertExactlyOnce(c.got, more, "after restart")
        self.assertTrue(c.commit())
        c.close()
        print("\nconfluent group: first assignment %.2fs, rebalance on "
              "join %.2fs, on leave %.2fs" % (t_first, t_join, t_leave))

    def test_two_instances_one_group(self):
        n1 = self.node()
        n2 = self.second_instance(n1)
        n1.ctl("topic", "create", "tw", "--partitions", "4")
        acked = ck_produce(n1, "tw", values("x", 1000), 4)
        # Members on different sluice-kafka instances: each instance
        # names itself coordinator, the group state is segstore's.
        a = Member(n1, "g2", "tw", "a@1")
        pump([a], lambda: len(a.assigned) == 4, 20, "a alone")
        b = Member(n2, "g2", "tw", "b@2")
        t0 = time.time()
        pump([a, b], lambda: len(a.assigned) == 2 and len(b.assigned) == 2
             and not (a.assigned & b.assigned), 30,
             "rebalance across instances")
        t_join = time.time() - t0
        # The x records were read before or around the rebalance; from
        # here on every y record must come once, to its owner.
        acked2 = ck_produce(n2, "tw", values("y", 1000), 4)
        pump([a, b], lambda: len({(p, o) for p, o, v in a.got + b.got if
                                  v.startswith(b"y")}) >= 1000, 30, "drain")
        self.assertEqual({(p, o) for p, o, v in a.got + b.got
                          if v.startswith(b"x")},
                         {(p, o) for p, o, v in acked})
        self.assertEqual({p for p, o, v in a.got if v.startswith(b"y")},
                         a.assigned)
        self.assertEqual({p for p, o, v in b.got if v.startswith(b"y")},
                         b.assigned)
        self.assertExactlyOnce([g for g in a.got + b.got
                                if g[2].startswith(b"y")], acked2,
                               "split group")
        self.assertTrue(a.commit())
        self.assertTrue(b.commit())
        # b leaves through instance 2, a (instance 1) takes it all.
        b.close()
        pump([a], lambda: len(a.assigned) == 4, 30, "leave across instances")
        a.close()
        # Offsets committed through either instance read back through
        # the other (kafka-python admin on instance 2).
        from kafka.admin import KafkaAdminClient
        adm = KafkaAdminClient(bootstrap_servers=n2.bootstrap)
        offs = adm.list_consumer_group_offsets("g2")
        adm.close()
        self.assertEqual({tp.partition: om.offset for tp, om in offs.items()},
                         {0: 500, 1: 500, 2: 500, 3: 500})
        print("\ntwo instances: rebalance on join %.2fs" % t_join)

    def test_kill9_during_group_consumption(self):
        n = self.node()
        n.ctl("topic", "create", "k9", "--partitions", "2")
        total = 3000
        # Small fetches, so that consumption spans the kill and the
        # restart rather than coming from one prefetch.
        small = {"fetch.max.bytes": 4096, "message.max.bytes": 4096,
                 "max.partition.fetch.bytes": 1024,
                 "queued.max.messages.kbytes": 16}
        a = Member(n, "g3", "k9", "a", **small)
        b = Member(n, "g3", "k9", "b", **small)
        # The group forms before there is anything to read, so that the
        # only rebalances with records in flight are the kill's.
        pump([a, b], lambda: len(a.assigned) == 1 and len(b.assigned) == 1,
             30, "two members")
        acked = ck_produce(n, "k9", values("k", total), 2)
        every = 20  # commit after this many records per member
        killed = resumed = th = None
        restarted = []
        deadline = time.time() + 60

        def restart():
            # Same port: clients reconnect to the address they know.
            time.sleep(0.5)
            n.start_kafka()
            restarted.append(time.time())
        seen = set()
        while len(seen) < total and time.time() < deadline:
            for m in (a, b):
                msg = m.poll(0.01)
                if msg is not None:
                    seen.add((msg.partition(), msg.offset()))
                    if restarted and resumed is None:
                        resumed = time.time()
                    if len(m.got) % every == 0:
                        # Blocks while the coordinator is away.
                        m.commit()
            if killed is None and len(seen) >= total // 3:
                n.kf.kill()
                n.kf.wait(timeout=10)
                n.kf = None
                killed = time.time()
                th = threading.Thread(target=restart)
                th.start()
        if th is not None:
            th.join(20)
        for m in (a, b):
            m.commit()
        a.close()
        b.close()
        self.assertTrue(killed and restarted and resumed)
        got = a.got + b.got
        # No loss: every produced record was received.
        have = {(p, o) for p, o, v in got}
        self.assertEqual(sorted({(p, o) for p, o, v in acked} - have), [],
                         "lost records")
        # Duplicates only inside the uncommitted window: a record seen
        # twice lies at or after an acknowledged commit of its partition
        # (or offset 0, where a partition without a commit resumes) and
        # within two commit intervals of it (a commit in flight at the
        # kill may have been stored without its acknowledgement).
        counts = {}
        for p, o, v in got:
            counts[(p, o)] = counts.get((p, o), 0) + 1
        commits = a.commits + b.commits + [(0, 0), (1, 0)]
        dups = sorted(k for k, c in counts.items() if c > 1)
        for p, o in dups:
            self.assertTrue(
                any(cp == p and c <= o < c + 2 * every for cp, c in commits),
                "duplicate %s:%d outside the uncommitted window" % (p, o))
        self.assertTrue(all(c <= 2 for c in counts.values()))
        # And the group's committed offsets are the end of each partition.
        from kafka.admin import KafkaAdminClient
        adm = KafkaAdminClient(bootstrap_servers=n.bootstrap)
        offs = adm.list_consumer_group_offsets("g3")
        adm.close()
        self.assertEqual({tp.partition: om.offset for tp, om in offs.items()},
                         {0: total // 2, 1: total // 2})
        print("\nkill -9 under a group: %d records, %d duplicates "
              "(uncommitted window); first record %.2fs after the restart" %
              (total, len(dups), resumed - restarted[0]))


    def test_static_membership(self):
        from kafka.admin import KafkaAdminClient
        n = self.node()
        n.ctl("topic", "create", "st", "--partitions", "2")
        a = Member(n, "g4", "st", "a", **{"group.instance.id": "inst-a"})
        b = Member(n, "g4", "st", "b", **{"group.instance.id": "inst-b"})
        pump([a, b], lambda: len(a.assigned) == 1 and len(b.assigned) == 1,
             30, "two static members")
        pa, pb = a.assigned, b.assigned
        kadm = KafkaAdminClient(bootstrap_servers=n.bootstrap)

        def members():
            d = kadm.describe_consumer_groups(["g4"])[0]
            self.assertEqual(d.state, "Stable")
            return {m.member_id: m.client_host for m in d.members}
        before = members()
        self.assertEqual(len(before), 2)
        revokes = b.revokes
        # A static member that closes sends no LeaveGroup; the same
        # instance id coming back within the session timeout takes its
        # place and its partitions, and b is not made to rejoin.
        a.close()
        a2 = Member(n, "g4", "st", "a2", **{"group.instance.id": "inst-a"})
        t0 = time.time()
        pump([a2, b], lambda: a2.assigned == pa, 20, "static rejoin")
        t_static = time.time() - t0
        end = time.time() + 1.5
        while time.time() < end:
            b.poll(0.05)
            a2.poll(0.01)
        self.assertEqual(b.revokes, revokes, "b rebalanced")
        self.assertEqual(b.assigned, pb)
        # b is the same member; the old a was replaced, not added to.
        after = members()
        self.assertEqual(len(after), 2, after)
        self.assertEqual(len(set(before) & set(after)), 1, (before, after))
        # Static members that close stay members until their session
        # expires; KIP-345's LeaveGroup v3+ (what Kafka's admin
        # removeMembersFromConsumerGroup sends) removes them by instance
        # id, several per request, each with its own error.
        a2.close()
        b.close()
        self.assertEqual(len(members()), 2)
        r = kt.Raw(n)
        got = leave_v3plus(r, 3, "g4", [("", "inst-a"), ("", "inst-x")])
        self.assertEqual(got, (0, [("", "inst-a", 0), ("", "inst-x", 25)]))
        got = leave_v3plus(r, 4, "g4", [("", "inst-b")])
        self.assertEqual(got, (0, [("", "inst-b", 0)]))
        d = kadm.describe_consumer_groups(["g4"])[0]
        self.assertEqual((d.state, len(d.members)), ("Empty", 0))
        # An unknown group: NONE at the top, UNKNOWN_MEMBER_ID per member.
        got = leave_v3plus(r, 4, "nog", [("m", None)])
        self.assertEqual(got, (0, [("m", None, 25)]))
        r.close()
        kadm.close()
        print("\nstatic member back in %.2fs without a rebalance" %
              t_static)


class KafkaPythonGroupTest(GroupTestBase):
    def test_kafka_python_group(self):
        from kafka import KafkaConsumer, KafkaProducer
        n = self.node()
        n.ctl("topic", "create", "kpg", "--partitions", "2")
        prod = KafkaProducer(bootstrap_servers=n.bootstrap, acks="all")
        futs = [prod.send("kpg", value=v, partition=i % 2)
                for i, v in enumerate(values("p", 300))]
        prod.flush()
        acked = [(f.get(10).partition, f.get(10).offset, v)
                 for f, v in zip(futs, values("p", 300))]

        stop = threading.Event()
        lock = threading.Lock()
        state = {}

        def member(name, started):
            c = KafkaConsumer(bootstrap_servers=n.bootstrap, group_id="kpg",
                              enable_auto_commit=False,
                              auto_offset_reset="earliest",
                              session_timeout_ms=SESSION_MS,
                              heartbeat_interval_ms=HEARTBEAT_MS,
                              max_poll_interval_ms=MAX_POLL_MS)
            c.subscribe(["kpg"])
            st = state[name] = {"got": [], "assigned": set(), "err": None}
            started.set()
            try:
                while not stop.is_set():
                    recs = c.poll(timeout_ms=100)
                    with lock:
                        st["assigned"] = {tp.partition
                                          for tp in c.assignment()}
                        for tp, rs in recs.items():
                            st["got"] += [(r.partition, r.offset, r.value)
                                          for r in rs]
                    if recs:
                        c.commit()
                c.commit()
            except Exception as e:  # reported by the test thread
                st["err"] = repr(e)
            finally:
                c.close()

        threads = []
        for name in ("m1", "m2"):
            ev = threading.Event()
            t = threading.Thread(target=member, args=(name, ev), daemon=True)
            t.start()
            ev.wait(10)
            threads.append(t)
            if name == "m1":
                deadline = time.time() + 20
                while time.time() < deadline:
                    with lock:
                        if len(state["m1"]["assigned"]) == 2:
                            break
                    time.sleep(0.05)
        deadline = time.time() + 30
        while time.time() < deadline:
            with lock:
                a1, a2 = state["m1"]["assigned"], state["m2"]["assigned"]
                done = (len(a1) == 1 and len(a2) == 1 and not (a1 & a2) and
                        len({(p, o) for p, o, v in state["m1"]["got"] +
                             state["m2"]["got"]}) >= 300)
            if done:
                break
            time.sleep(0.05)
        stop.set()
        for t in threads:
            t.join(20)
        for name in ("m1", "m2"):
            self.assertIsNone(state[name]["err"], name)
        self.assertTrue(done, "split and drain: %s" % (
            {k: sorted(v["assigned"]) for k, v in state.items()}))
        got = state["m1"]["got"] + state["m2"]["got"]
        # m1 may have read records before m2 joined and again after the
        # rebalance only if its commit did not land; it commits after
        # every poll, so everything arrives once.
        self.assertExactlyOnce(got, acked, "kafka-python group")

        # A new member resumes after the commits: only new records.
        futs = [prod.send("kpg", value=v, partition=i % 2)
                for i, v in enumerate(values("q", 50))]
        prod.flush()
        more = [(f.get(10).partition, f.get(10).offset, v)
                for f, v in zip(futs, values("q", 50))]
        prod.close()
        c = KafkaConsumer(bootstrap_servers=n.bootstrap, group_id="kpg",
                          enable_auto_commit=False,
                          auto_offset_reset="earliest",
                          session_timeout_ms=SESSION_MS,
                          heartbeat_interval_ms=HEARTBEAT_MS,
                          max_poll_interval_ms=MAX_POLL_MS,
                          consumer_timeout_ms=3000)
        c.subscribe(["kpg"])
        got = [(r.partition, r.offset, r.value) for r in c]
        c.close()
        self.assertExactlyOnce(got, more, "kafka-python resume")


class AdminGroupTest(GroupTestBase):
    def test_admin_groups_and_partitions(self):
        from confluent_kafka.admin import AdminClient, NewPartitions
        from kafka.admin import KafkaAdminClient
        from kafka.errors import NonEmptyGroupError, GroupIdNotFoundError
        n = self.node()
        n.ctl("topic", "create", "ad", "--partitions", "2")
        ck_produce(n, "ad", values("z", 20), 2)
        m = Member(n, "adg", "ad", "m", **{"client.id": "admin-test-client"})
        pump([m], lambda: len(m.assigned) == 2 and len(m.got) >= 20, 20,
             "member")
        self.assertTrue(m.commit())

        # librdkafka's list_groups: ListGroups, then DescribeGroups.
        adm = AdminClient({"bootstrap.servers": n.bootstrap})
        groups = {g.id: g for g in adm.list_groups(timeout=10)}
        self.assertIn("adg", groups)
        g = groups["adg"]
        self.assertEqual(g.state, "Stable")
        self.assertEqual(g.protocol_type, "consumer")
        self.assertEqual(g.protocol, "range")
        self.assertEqual(len(g.members), 1)
        self.assertEqual(g.members[0].client_id, "admin-test-client")
        self.assertEqual(g.members[0].client_host, "/127.0.0.1")
        self.assertTrue(len(g.members[0].assignment) > 0)

        # kafka-python: list, describe, offsets, delete.
        kadm = KafkaAdminClient(bootstrap_servers=n.bootstrap)
        self.assertIn(("adg", "consumer"), kadm.list_consumer_groups())
        d = kadm.describe_consumer_groups(["adg"])[0]
        self.assertEqual(d.group, "adg")
        self.assertEqual(d.state, "Stable")
        self.assertEqual(len(d.members), 1)
        offs = kadm.list_consumer_group_offsets("adg")
        self.assertEqual({tp.partition: om.offset for tp, om in offs.items()},
                         {0: 10, 1: 10})
        # A group with members cannot be deleted.
        # (kafka-python returns the error classes.)
        res = dict(kadm.delete_consumer_groups(["adg", "no-such-group"]))
        self.assertIs(res["adg"], NonEmptyGroupError)
        self.assertIs(res["no-such-group"], GroupIdNotFoundError)
        m.close()
        # Empty now, with committed offsets: deleted, offsets gone.
        res = dict(kadm.delete_consumer_groups(["adg"]))
        self.assertEqual(res["adg"].errno, 0, res)
        self.assertEqual(kadm.list_consumer_group_offsets("adg"), {})
        kadm.close()

        # CreatePartitions: 2 -> 5, then a count that does not grow.
        fs = adm.create_partitions([NewPartitions("ad", 5)])
        fs["ad"].result(10)
        self.assertIn("ad\t5", n.ctl("topic", "list").stdout)
        fs = adm.create_partitions([NewPartitions("ad", 3)])
        with self.assertRaises(Exception) as cm:
            fs["ad"].result(10)
        self.assertIn("INVALID_PARTITIONS", str(cm.exception))
        fs = adm.create_partitions([NewPartitions("nope", 3)])
        with self.assertRaises(Exception) as cm:
            fs["nope"].result(10)
        self.assertIn("UNKNOWN_TOPIC", str(cm.exception))
        # validate_only changes nothing.
        fs = adm.create_partitions([NewPartitions("ad", 8)],
                                   validate_only=True)
        fs["ad"].result(10)
        self.assertIn("ad\t5", n.ctl("topic", "list").stdout)
        # The new partitions take records.
        acked = ck_produce(n, "ad", values("n", 10), 5)
        self.assertEqual({p for p, o, v in acked}, {0, 1, 2, 3, 4})


def join_v0(r, group, member="", session=6000):
    body = (kt.kstr(group) + struct.pack(">i", session) + kt.kstr(member) +
            kt.kstr("consumer") + struct.pack(">i", 1) + kt.kstr("range") +
            kt.kbytes(b"\x00\x00\x00\x00\x00\x01\x00\x01t\x00\x00\x00\x00"))
    resp = r.call(11, 0, body)
    err, gen = struct.unpack_from(">hi", resp)
    off = 6
    out = []
    for _ in range(3):
        ln = struct.unpack_from(">h", resp, off)[0]
        out.append(resp[off + 2:off + 2 + ln].decode())
        off += 2 + ln
    return err, gen, out  # [protocol, leader, member_id]


def leave_v3plus(r, v, group, members):
    """LeaveGroup v3 (or v4, flexible) for [(member_id, instance_id)];
    returns (error, [(member_id, instance_id, error)])."""
    def s(x, flex):
        if x is None:
            return b"\x00" if flex else struct.pack(">h", -1)
        b = x.encode()
        return bytes([len(b) + 1]) + b if flex else kt.kstr(x)
    flex = v >= 4
    body = s(group, flex)
    body += bytes([len(members) + 1]) if flex else struct.pack(
        ">i", len(members))
    for mid, inst in members:
        body += s(mid, flex) + s(inst, flex) + (b"\x00" if flex else b"")
    if flex:
        body += b"\x00"
    r.corr += 1
    hdr = struct.pack(">hhi", 13, v, r.corr) + kt.kstr("raw")
    if flex:
        hdr += b"\x00"  # request header v2: tagged fields
    r.send(struct.pack(">i", len(hdr) + len(body)) + hdr + body)
    corr, resp = r.response()
    assert corr == r.corr
    off = 1 if flex else 0  # response header v1: tagged fields
    _, err = struct.unpack_from(">ih", resp, off)
    off += 6

    def rs(nullable):
        nonlocal off
        if flex:
            ln = resp[off] - 1
            off += 1
        else:
            ln = struct.unpack_from(">h", resp, off)[0]
            off += 2
        if ln < 0:
            return None
        v_ = resp[off:off + ln].decode()
        off += ln
        return v_
    if flex:
        n = resp[off] - 1
        off += 1
    else:
        n = struct.unpack_from(">i", resp, off)[0]
        off += 4
    out = []
    for _ in range(n):
        mid = rs(False)
        inst = rs(True)
        e = struct.unpack_from(">h", resp, off)[0]
        off += 2 + (1 if flex else 0)
        out.append((mid, inst, e))
    return err, out


def heartbeat_v0(r, group, gen, member):
    resp = r.call(12, 0, kt.kstr(group) + struct.pack(">i", gen) +
                  kt.kstr(member))
    return struct.unpack(">h", resp)[0]


class RawGroupTest(GroupTestBase):
    def test_raw_group_errors(self):
        n = self.node(kafka_args=["--set", "segstore.timeout.ms=500"])
        r = kt.Raw(n)
        # FindCoordinator v0 (librdkafka needs it): this broker.
        resp = r.call(10, 0, kt.kstr("g"))
        err, node, ln = struct.unpack_from(">hih", resp)
        host = resp[8:8 + ln].decode()
        port = struct.unpack_from(">i", resp, 8 + ln)[0]
        self.assertEqual((err, node, "%s:%d" % (host, port)),
                         (0, 1, n.bootstrap))
        # A session timeout over group.timeout.max.ms.
        self.assertEqual(join_v0(r, "rg", session=400000)[0], 26)
        # v0 joins are admitted without MEMBER_ID_REQUIRED; alone, the
        # member leads generation 1.
        err, gen, (proto, leader, me) = join_v0(r, "rg")
        self.assertEqual((err, proto), (0, "range"))
        self.assertEqual(leader, me)
        self.assertTrue(me)
        # Before its SyncGroup (CompletingRebalance), as in Kafka: fine.
        self.assertEqual(heartbeat_v0(r, "rg", gen, me), 0)
        self.assertEqual(heartbeat_v0(r, "rg", gen + 1, me), 22)
        self.assertEqual(heartbeat_v0(r, "rg", gen, "stranger"), 25)
        # Segstore away: every group API answers COORDINATOR_NOT_AVAILABLE
        # (retriable) within segstore.timeout.ms.
        n.seg.send_signal(signal.SIGSTOP)
        try:
            # SIGSTOP takes effect asynchronously: wait until every
            # thread of segstore is stopped.
            deadline = time.time() + 5
            task = "/proc/%d/task" % n.seg.pid
            while time.time() < deadline:
                states = []
                for t in os.listdir(task):
                    with open(os.path.join(task, t, "stat")) as f:
                        states.append(f.read().rsplit(")", 1)[1].split()[0])
                if all(st == "T" for st in states):
                    break
                time.sleep(0.01)
            t0 = time.time()
            self.assertEqual(heartbeat_v0(r, "rg", gen, me), 15)
            resp = r.call(16, 0, b"")
            self.assertEqual(struct.unpack_from(">h", resp)[0], 15)
            err, pid, _ = init_producer_id(r)
            self.assertEqual((err, pid), (15, -1))
            resp = r.call(9, 1, kt.kstr("rg") + struct.pack(">i", 1) +
                          kt.kstr("t") + struct.pack(">ii", 1, 0))
            self.assertEqual(struct.unpack_from(">h", resp, len(resp) - 2)[0],
                             15)
            self.assertLess(time.time() - t0, 10)
        finally:
            n.seg.send_signal(signal.SIGCONT)
        r.close()


def init_producer_id(r, txn_id=None):
    resp = r.call(22, 0, kt.kstr(txn_id) + struct.pack(">i", 60000))
    _, err, pid, epoch = struct.unpack(">ihqh", resp)
    return err, pid, epoch


class IdempotenceTest(GroupTestBase):
    def test_idempotent_producer_every_codec(self):
        n = self.node()
        for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
            topic = "idem-" + codec
            n.ctl("topic", "create", topic, "--partitions", "2")
            vals = values(codec, 1000)
            acked = ck_produce(n, topic, vals, 2,
                               **{"enable.idempotence": True,
                                  "compression.type": codec})
            # In order, contiguous, exactly once per partition.
            for p in (0, 1):
                offs = [o for q, o, v in acked if q == p]
                self.assertEqual(sorted(offs), list(range(500)), codec)
            got = kt.ck_consume(n, topic, 0, 0, 500) + \
                kt.ck_consume(n, topic, 1, 0, 500)
            self.assertExactlyOnce(
                [(m.partition(), m.offset(), m.value()) for m in got], acked,
                "idempotent " + codec)
            hw = kt.kcat(n, "-Q", "-t", "%s:0:-1" % topic)
            self.assertEqual(hw.returncode, 0, hw.stderr)
        self.assertIn("zstd", kt.stored_codecs(n, "idem-zstd", 0))

    def test_raw_dedupe_and_sequence_errors(self):
        n = self.node()
        n.ctl("topic", "create", "rd", "--partitions", "1")
        r = kt.Raw(n)
        err, pid, epoch = init_producer_id(r)
        self.assertEqual(err, 0)
        self.assertGreaterEqual(pid, 0)
        self.assertEqual(epoch, 0)
        err2, pid2, _ = init_producer_id(r)
        self.assertEqual(err2, 0)
        self.assertNotEqual(pid2, pid)

        def produce(recs):
            return kt.produce_errors(r.call(0, 7, kt.produce_body(
                "rd", 0, recs)))[0][1:]
        seq = 0
        offset = 0
        for codec in (0, 1, 2, 3):
            recs = [kt.record(i, b"k", b"v%d-%d" % (codec, i))
                    for i in range(3)]
            b = kt.batch(recs, codec=codec, producer_id=pid, base_seq=seq)
            self.assertEqual(produce(b), (0, offset), "codec %d" % codec)
            # The same batch again (a retry): acknowledged with its
            # original offset, not stored twice.
            self.assertEqual(produce(b), (0, offset), "dup codec %d" % codec)
            seq += 3
            offset += 3
        # A gap in the sequence.
        gap = kt.batch([kt.record(0, b"k", b"gap")], producer_id=pid,
                       base_seq=seq + 5)
        self.assertEqual(produce(gap)[0], 45)
        # The next in sequence still goes.
        nxt = kt.batch([kt.record(0, b"k", b"next")], producer_id=pid,
                       base_seq=seq)
        self.assertEqual(produce(nxt), (0, offset))
        offset += 1
        # Stored: every batch once, in order.
        got = kt.ck_consume(n, "rd", 0, 0, offset + 1, timeout=3)
        self.assertEqual([m.value() for m in got],
                         [b"v%d-%d" % (c, i) for c in range(4)
                          for i in range(3)] + [b"next"])

        # Transactions: refused, clearly.
        err, pid3, _ = init_producer_id(r, "my-txn")
        self.assertEqual((err, pid3), (53, -1))
        resp = r.call(10, 1, kt.kstr("my-txn") + b"\x01")
        self.assertEqual(struct.unpack_from(">ih", resp)[1], 53)
        r.close()
        self.assertIn("KF-TXN", n.log())

    def test_transactional_producer_fails_fast(self):
        from confluent_kafka import Producer, KafkaException
        n = self.node()
        p = Producer({"bootstrap.servers": n.bootstrap,
                      "transactional.id": "tx-1"})
        t0 = time.time()
        with self.assertRaises(KafkaException) as cm:
            p.init_transactions(20)
        self.assertLess(time.time() - t0, 10)
        self.assertIn("does not support Kafka transactions",
                      str(cm.exception))


def main():
    if len(sys.argv) < 2:
        print("usage: kafka_groups_test.py BIN_DIR [unittest args]")
        return 2
    kt.BIN = os.path.abspath(sys.argv[1])
    prog = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], exit=False,
                         verbosity=2)
    return 0 if prog.result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
