/*
 * ss_group_test.c — unit tests of segstore/group from its contract
 * (ss_group.h): the classic group protocol's join / sync / heartbeat /
 * leave, MEMBER_REQUIRED, generations, static members, session expiry and
 * the rebalance deadline through ss_groups_tick, commit checks, describe /
 * list / delete, and the rule that every held request is answered exactly
 * once.  Replies are decoded with the ipc decoders by a fake reply function
 * that fails the test when a waiter is answered twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "ss_group.h"

#include <stdio.h>
#include <stdlib.h>

#define SESSION   10000
#define REBALANCE 5000

/* ---- the fake reply function --------------------------------------------
 */

typedef struct waiter {
    int answered;
    int op;
    int32_t status; /* header status */
    int32_t error;  /* body error */
    int32_t generation;
    char member_id[256], leader[256], protocol_name[64], protocol_type[64];
    int nmembers;
    char members[8][256];
    char member_meta[8][64];
    char assignment[256];
} waiter;

typedef struct env {
    ss_groups *g;
    int replies;
    int nevents;
    int32_t ev_gen[256];
    int ev_state[256];
} env;

static void
copy_str(char *dst, size_t cap, sl_slice s)
{
    assert_true(s.n < cap);
    memcpy(dst, s.p, s.n);
    dst[s.n] = 0;
}

static void
fake_reply(void *arg, void *wp, const sl_buf *msg)
{
    env *e = arg;
    waiter *w = wp;
    assert_non_null(w);
    if (w->answered)
        fail_msg("waiter %p answered twice (op %d)", wp, w->op);
    w->answered = 1;
    e->replies++;
    ipc_hdr h;
    sl_slice body;
    assert_int_equal(ipc_hdr_decode(sl_slice_make(msg->p, msg->n), &h, &body),
                     0);
    w->op = h.op;
    w->status = h.status;
    if (h.op == IPC_OP_GROUP_JOIN) {
        ipc_join_rep r;
        assert_int_equal(ipc_join_rep_decode(body, &r), 0);
        w->error = r.error;
        w->generation = r.generation;
        copy_str(w->member_id, sizeof(w->member_id), r.member_id);
        copy_str(w->leader, sizeof(w->leader), r.leader);
        copy_str(w->protocol_name, sizeof(w->protocol_name), r.protocol_name);
        ipc_join_member m;
        w->nmembers = 0;
        while (ipc_join_rep_next(&r, &m) == 1) {
            assert_true(w->nmembers < 8);
            copy_str(w->members[w->nmembers], sizeof(w->members[0]),
                     m.member_id);
            copy_str(w->member_meta[w->nmembers], sizeof(w->member_meta[0]),
                     m.metadata);
            w->nmembers++;
        }
        assert_int_equal((uint32_t)w->nmembers, r.nmembers);
    } else if (h.op == IPC_OP_GROUP_SYNC) {
        ipc_sync_rep r;
        assert_int_equal(ipc_sync_rep_decode(body, &r), 0);
        w->error = r.error;
        copy_str(w->protocol_type, sizeof(w->protocol_type), r.protocol_type);
        copy_str(w->protocol_name, sizeof(w->protocol_name), r.protocol_name);
        copy_str(w->assignment, sizeof(w->assignment), r.assignment);
    } else {
        fail_msg("reply with op %d", h.op);
    }
}

static void
fake_event(void *arg, sl_slice group, int32_t generation, int state)
{
    env *e = arg;
    (void)group;
    assert_true(e->nevents < 256);
    e->ev_gen[e->nevents] = generation;
    e->ev_state[e->nevents] = state;
    e->nevents++;
}

static int
setup(void **state)
{
    env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    e->g = ss_groups_new(fake_reply, fake_event, e);
    assert_non_null(e->g);
    *state = e;
    return 0;
}

static int
teardown(void **state)
{
    env *e = *state;
    /* Free without replying: the tests' waiters are gone by now. */
    ss_groups_free(e->g);
    free(e);
    return 0;
}

/* ---- request helpers ----------------------------------------------------
 */

typedef struct join_args {
    const char *group, *member_id, *instance_id, *protocol_type;
    const char *protocols; /* comma-separated names; metadata "<name>-md" */
    const char *client_id;
    int32_t session, rebalance;
    uint32_t flags;
} join_args;

static void
do_join(env *e, waiter *w, const join_args *a, int64_t now)
{
    memset(w, 0, sizeof(*w));
    ipc_join_req q = {0};
    q.group = sl_slice_str(a->group);
    q.member_id = sl_slice_str(a->member_id ? a->member_id : "");
    q.instance_id = sl_slice_str(a->instance_id ? a->instance_id : "");
    q.protocol_type =
        sl_slice_str(a->protocol_type ? a->protocol_type : "consumer");
    q.session_timeout_ms = a->session ? a->session : SESSION;
    q.rebalance_timeout_ms = a->rebalance ? a->rebalance : REBALANCE;
    q.client_id = sl_slice_str(a->client_id ? a->client_id : "cid");
    q.client_host = sl_slice_str("/127.0.0.1");
    q.flags = a->flags;
    char names[8][32], metas[8][40];
    ipc_group_protocol p[8];
    size_t n = 0;
    const char *s = a->protocols ? a->protocols : "range";
    while (*s && n < 8) {
        const char *c = strchr(s, ',');
        size_t len = c ? (size_t)(c - s) : strlen(s);
        snprintf(names[n], sizeof(names[n]), "%.*s", (int)len, s);
        snprintf(metas[n], sizeof(metas[n]), "%s-md", names[n]);
        p[n].name = sl_slice_str(names[n]);
        p[n].metadata = sl_slice_str(metas[n]);
        n++;
        s += len + (c != NULL);
    }
    sl_buf b;
    sl_buf_init(&b);
    assert_int_equal(ipc_join_req_encode(&b, &q, p, n), 0);
    ipc_hdr h;
    sl_slice body;
    assert_int_equal(ipc_hdr_decode(sl_slice_make(b.p, b.n), &h, &body), 0);
    ipc_join_req d;
    assert_int_equal(ipc_join_req_decode(body, &d), 0);
    ss_groups_join(e->g, w, &d, now);
    sl_buf_fini(&b);
}

/* Simple join: dynamic member, protocol "range". */
static void
join(env *e, waiter *w, const char *group, const char *mid, int64_t now)
{
    join_args a = {.group = group, .member_id = mid};
    do_join(e, w, &a, now);
}

static void
do_sync(env *e, waiter *w, const char *group, int32_t gen, const char *mid,
        const char *inst, const char *const *assign, size_t n, int64_t now)
{
    memset(w, 0, sizeof(*w));
    ipc_sync_req q = {0};
    q.group = sl_slice_str(group);
    q.generation = gen;
    q.member_id = sl_slice_str(mid);
    q.instance_id = sl_slice_str(inst ? inst : "");
    q.protocol_type = sl_slice_str("consumer");
    q.protocol_name = sl_slice_make(NULL, 0);
    ipc_sync_assignment a[8];
    for (size_t i = 0; i < n; i++) {
        a[i].member_id = sl_slice_str(assign[2 * i]);
        a[i].assignment = sl_slice_str(assign[2 * i + 1]);
    }
    sl_buf b;
    sl_buf_init(&b);
    assert_int_equal(ipc_sync_req_encode(&b, &q, a, n), 0);
    ipc_hdr h;
    sl_slice body;
    assert_int_equal(ipc_hdr_decode(sl_slice_make(b.p, b.n), &h, &body), 0);
    ipc_sync_req d;
    assert_int_equal(ipc_sync_req_decode(body, &d), 0);
    ss_groups_sync(e->g, w, &d, now);
    sl_buf_fini(&b);
}

static int
hb(env *e, const char *group, int32_t gen, const char *mid, const char *inst,
   int64_t now)
{
    ipc_heartbeat_req q = {.group = sl_slice_str(group),
                           .generation = gen,
                           .member_id = sl_slice_str(mid),
                           .instance_id = sl_slice_str(inst ? inst : "")};
    return ss_groups_heartbeat(e->g, &q, now);
}

static int
leave(env *e, const char *group, const char *mid, const char *inst, int64_t now)
{
    ipc_leave_member m = {.member_id = sl_slice_str(mid),
                          .instance_id = sl_slice_str(inst ? inst : "")};
    int32_t err = 99;
    int top = ss_groups_leave(e->g, sl_slice_str(group), &m, 1, &err, now);
    assert_true(top == 0 || top == err);
    return err;
}

static int
commit_check(env *e, const char *group, int32_t gen, const char *mid,
             const char *inst, int64_t now)
{
    return ss_groups_commit_check(e->g, sl_slice_str(group), gen,
                                  sl_slice_str(mid),
                                  sl_slice_str(inst ? inst : ""), now);
}

static void
assert_ok_join(const waiter *w, int32_t gen)
{
    assert_int_equal(w->answered, 1);
    assert_int_equal(w->op, IPC_OP_GROUP_JOIN);
    assert_int_equal(w->status, 0);
    if (w->error != 0)
        fail_msg("join answered with error %s", sl_strerror(w->error));
    assert_int_equal(w->generation, gen);
}

static void
assert_sync(const waiter *w, int32_t error, const char *assignment)
{
    assert_int_equal(w->answered, 1);
    assert_int_equal(w->op, IPC_OP_GROUP_SYNC);
    if (w->error != error)
        fail_msg("sync answered %s, want %s", sl_strerror(w->error),
                 sl_strerror(error));
    if (assignment)
        assert_string_equal(w->assignment, assignment);
}

static int
has_member(const waiter *w, const char *id)
{
    for (int i = 0; i < w->nmembers; i++)
        if (strcmp(w->members[i], id) == 0)
            return 1;
    return 0;
}

/* ---- describe decoding -------------------------------------------------- */

typedef struct described {
    int state;
    char protocol_type[64], protocol_name[64];
    int nmembers;
    char member_id[8][256], instance_id[8][64], client_id[8][64];
    char client_host[8][64], metadata[8][64], assignment[8][64];
} described;

static void
describe(env *e, const char *group, described *d)
{
    memset(d, 0, sizeof(*d));
    sl_buf b;
    sl_buf_init(&b);
    assert_int_equal(ipc_group_describe_rep_begin(&b, 1), 0);
    assert_int_equal(ss_groups_describe(e->g, sl_slice_str(group), &b), 0);
    ipc_hdr h;
    sl_slice body;
    assert_int_equal(ipc_hdr_decode(sl_slice_make(b.p, b.n), &h, &body), 0);
    ipc_group_describe_rep r;
    assert_int_equal(ipc_group_describe_rep_decode(body, &r), 0);
    ipc_group_info gi;
    assert_int_equal(ipc_group_describe_rep_next(&r, &gi), 1);
    assert_int_equal(gi.error, 0);
    assert_int_equal(gi.group.n, strlen(group));
    assert_memory_equal(gi.group.p, group, gi.group.n);
    d->state = gi.state;
    copy_str(d->protocol_type, sizeof(d->protocol_type), gi.protocol_type);
    copy_str(d->protocol_name, sizeof(d->protocol_name), gi.protocol_name);
    ipc_group_member_info m;
    while (ipc_group_info_next_member(&gi, &m) == 1) {
        int i = d->nmembers++;
        assert_true(i < 8);
        copy_str(d->member_id[i], 256, m.member_id);
        copy_str(d->instance_id[i], 64, m.instance_id);
        copy_str(d->client_id[i], 64, m.client_id);
        copy_str(d->client_host[i], 64, m.client_host);
        copy_str(d->metadata[i], 64, m.metadata);
        copy_str(d->assignment[i], 64, m.assignment);
    }
    assert_int_equal((uint32_t)d->nmembers, gi.nmembers);
    assert_int_equal(ipc_group_describe_rep_next(&r, &gi), 0);
    sl_buf_fini(&b);
}

/* ---- scenarios ------------------------------------------------------------
 */

/* One member through MEMBER_REQUIRED, joined and synced: generation 1. */
static void
stable_one(env *e, const char *group, char *mid, size_t cap, int64_t now)
{
    waiter w0, w1, w2;
    join_args a = {.group = group, .flags = IPC_JOIN_REQUIRE_MEMBER_ID};
    do_join(e, &w0, &a, now);
    assert_int_equal(w0.answered, 1);
    assert_int_equal(w0.error, SL_E_MEMBER_REQUIRED);
    assert_true(strlen(w0.member_id) > 0);
    assert_int_equal(w0.generation, -1);
    snprintf(mid, cap, "%s", w0.member_id);
    join(e, &w1, group, mid, now);
    assert_ok_join(&w1, 1);
    assert_string_equal(w1.member_id, mid);
    assert_string_equal(w1.leader, mid);
    assert_string_equal(w1.protocol_name, "range");
    assert_int_equal(w1.nmembers, 1);
    assert_string_equal(w1.members[0], mid);
    assert_string_equal(w1.member_meta[0], "range-md");
    const char *as[] = {mid, "A1"};
    do_sync(e, &w2, group, 1, mid, NULL, as, 1, now);
    assert_sync(&w2, 0, "A1");
    assert_string_equal(w2.protocol_type, "consumer");
    assert_string_equal(w2.protocol_name, "range");
}

/* Two members, stable at generation 2: m1 leader with "A1", m2 "A2". */
static void
stable_two(env *e, const char *group, char *m1, char *m2, int64_t now)
{
    stable_one(e, group, m1, 256, now);
    waiter wj2, wj1, ws2, ws1;
    join(e, &wj2, group, "", now);
    assert_int_equal(wj2.answered, 0);
    assert_int_equal(hb(e, group, 1, m1, NULL, now), SL_E_REBALANCE);
    join(e, &wj1, group, m1, now);
    assert_ok_join(&wj1, 2);
    assert_ok_join(&wj2, 2);
    snprintf(m2, 256, "%s", wj2.member_id);
    assert_string_not_equal(m1, m2);
    assert_string_equal(wj1.leader, m1);
    assert_string_equal(wj2.leader, m1);
    /* The member list goes to the leader only. */
    assert_int_equal(wj1.nmembers, 2);
    assert_true(has_member(&wj1, m1) && has_member(&wj1, m2));
    assert_int_equal(wj2.nmembers, 0);
    /* The follower's sync is held until the leader's arrives. */
    do_sync(e, &ws2, group, 2, m2, NULL, NULL, 0, now);
    assert_int_equal(ws2.answered, 0);
    const char *as[] = {m1, "A1", m2, "A2"};
    do_sync(e, &ws1, group, 2, m1, NULL, as, 2, now);
    assert_sync(&ws1, 0, "A1");
    assert_sync(&ws2, 0, "A2");
}

static void
test_single_member(void **state)
{
    env *e = *state;
    char mid[256];
    stable_one(e, "g", mid, sizeof(mid), 1000);
    assert_int_equal(hb(e, "g", 1, mid, NULL, 1100), 0);
    described d;
    describe(e, "g", &d);
    assert_int_equal(d.state, IPC_GROUP_STABLE);
    assert_int_equal(d.nmembers, 1);
    assert_string_equal(d.member_id[0], mid);
    assert_string_equal(d.assignment[0], "A1");
    /* Events: rebalance began, joins completed, stable. */
    assert_true(e->nevents >= 2);
    assert_int_equal(e->ev_state[0], IPC_GROUP_PREPARING_REBALANCE);
    assert_int_equal(e->ev_state[e->nevents - 1], IPC_GROUP_STABLE);
    assert_int_equal(e->ev_gen[e->nevents - 1], 1);
    /* A rejoin of the only member with the same protocols while stable:
     * the leader rejoining starts a rebalance that completes at once. */
    waiter w;
    join(e, &w, "g", mid, 1200);
    assert_ok_join(&w, 2);
}

static void
test_second_member(void **state)
{
    env *e = *state;
    char m1[256], m2[256];
    stable_two(e, "g", m1, m2, 1000);
    assert_int_equal(hb(e, "g", 2, m1, NULL, 1100), 0);
    assert_int_equal(hb(e, "g", 2, m2, NULL, 1100), 0);
    /* A sync in a stable group answers with the member's assignment. */
    waiter w;
    do_sync(e, &w, "g", 2, m2, NULL, NULL, 0, 1200);
    assert_sync(&w, 0, "A2");
    described d;
    describe(e, "g", &d);
    assert_int_equal(d.state, IPC_GROUP_STABLE);
    assert_int_equal(d.nmembers, 2);
    /* A follower rejoining with the same protocols in a stable group is
     * answered at once, without a rebalance. */
    int ev = e->nevents;
    join(e, &w, "g", m2, 1300);
    assert_ok_join(&w, 2);
    assert_int_equal(e->nevents, ev);
    assert_int_equal(hb(e, "g", 2, m1, NULL, 1400), 0);
}

static void
test_leave(void **state)
{
    env *e = *state;
    char m1[256], m2[256];
    stable_two(e, "g", m1, m2, 1000);
    assert_int_equal(leave(e, "g", m2, NULL, 1100), 0);
    assert_int_equal(hb(e, "g", 2, m1, NULL, 1200), SL_E_REBALANCE);
    assert_int_equal(hb(e, "g", 2, m2, NULL, 1200), SL_E_UNKNOWN_MEMBER);
    assert_int_equal(leave(e, "g", m2, NULL, 1200), SL_E_UNKNOWN_MEMBER);
    waiter w;
    join(e, &w, "g", m1, 1300);
    assert_ok_join(&w, 3);
    assert_int_equal(w.nmembers, 1);
    assert_string_equal(w.leader, m1);
    /* The last member leaving empties the group. */
    assert_int_equal(leave(e, "g", m1, NULL, 1400), 0);
    described d;
    describe(e, "g", &d);
    assert_int_equal(d.state, IPC_GROUP_EMPTY);
    assert_int_equal(d.nmembers, 0);
    assert_int_equal(leave(e, "nogroup", m1, NULL, 1400), SL_E_UNKNOWN_MEMBER);
}

/* LeaveGroup v3+ (KIP-345): several members in one request, by member id
 * or by instance id, each with its own outcome, and one rebalance. */
static void
test_leave_batch(void **state)
{
    env *e = *state;
    char m1[256], m2[256];
    stable_two(e, "g", m1, m2, 1000);
    ipc_leave_member ms[3] = {
        {sl_slice_str(m2), sl_slice_str("")},
        {sl_slice_str("ghost"), sl_slice_str("")},
        {sl_slice_str(""), sl_slice_str("no-such-instance")},
    };
    int32_t errs[3] = {9, 9, 9};
    int ev = e->nevents;
    assert_int_equal(
        ss_groups_leave(e->g, sl_slice_str("g"), ms, 3, errs, 1100), 0);
    assert_int_equal(errs[0], 0);
    assert_int_equal(errs[1], SL_E_UNKNOWN_MEMBER);
    assert_int_equal(errs[2], SL_E_UNKNOWN_MEMBER);
    assert_int_equal(e->nevents, ev + 1);
    assert_int_equal(hb(e, "g", 2, m1, NULL, 1200), SL_E_REBALANCE);
    /* Both remaining... and the last: the group empties in one step. */
    waiter w;
    join(e, &w, "g", m1, 1300);
    assert_ok_join(&w, 3);
    ms[0].member_id = sl_slice_str(m1);
    ms[1].member_id = sl_slice_str(m2); /* already gone */
    ev = e->nevents;
    assert_int_equal(
        ss_groups_leave(e->g, sl_slice_str("g"), ms, 2, errs, 1400), 0);
    assert_int_equal(errs[0], 0);
    assert_int_equal(errs[1], SL_E_UNKNOWN_MEMBER);
    assert_int_equal(e->nevents, ev + 1);
    described d;
    describe(e, "g", &d);
    assert_int_equal(d.state, IPC_GROUP_EMPTY);
    /* An unknown group: every member unknown, and the call says so. */
    assert_int_equal(
        ss_groups_leave(e->g, sl_slice_str("nogroup"), ms, 2, errs, 1500),
        SL_E_UNKNOWN_MEMBER);
    assert_int_equal(errs[0], SL_E_UNKNOWN_MEMBER);
    assert_int_equal(errs[1], SL_E_UNKNOWN_MEMBER);
}

static void
test_leader_leaves_while_completing(void **state)
{
    env *e = *state;
    char m1[256], m2[256];
    stable_two(e, "g", m1, m2, 1000);
    /* A third member forces generation 3; m2's sync is then held. */
    waiter w3, w1, w2, ws2;
    join(e, &w3, "g", "", 1100);
    join(e, &w1, "g", m1, 1100);
    join(e, &w2, "g", m2, 1100);
    assert_ok_join(&w1, 3);
    assert_ok_join(&w2, 3);
    assert_ok_join(&w3, 3);
    do_sync(e, &ws2, "g", 3, m2, NULL, NULL, 0, 1200);
    assert_int_equal(ws2.answered, 0);
    /* The leader leaves before its sync: the follower must rejoin. */
    assert_int_equal(leave(e, "g", m1, NULL, 1300), 0);
    assert_sync(&ws2, SL_E_REBALANCE, NULL);
    waiter j2, j3;
    join(e, &j2, "g", m2, 1400);
    assert_int_equal(j2.answered, 0);
    join(e, &j3, "g", w3.member_id, 1400);
    assert_ok_join(&j2, 4);
    assert_ok_join(&j3, 4);
    /* A new leader among the remaining members. */
    assert_true(strcmp(j2.leader, m2) == 0 ||
                strcmp(j2.leader, w3.member_id) == 0);
    assert_string_equal(j2.leader, j3.leader);
}

static void
test_session_expiry(void **state)
{
    env *e = *state;
    char m1[256], m2[256];
    int64_t t0 = 1000;
    stable_two(e, "g", m1, m2, t0);
    assert_int_equal(hb(e, "g", 2, m1, NULL, t0 + 6000), 0);
    ss_groups_tick(e->g, t0 + SESSION); /* not yet: exactly the timeout */
    assert_int_equal(hb(e, "g", 2, m2, NULL, t0 + SESSION), 0);
    assert_int_equal(hb(e, "g", 2, m1, NULL, t0 + SESSION + 5000), 0);
    /* m2 last seen at t0 + SESSION; m1 at t0 + SESSION + 5000. */
    ss_groups_tick(e->g, t0 + 2 * SESSION + 1);
    assert_int_equal(hb(e, "g", 2, m2, NULL, t0 + 2 * SESSION + 2),
                     SL_E_UNKNOWN_MEMBER);
    assert_int_equal(hb(e, "g", 2, m1, NULL, t0 + 2 * SESSION + 2),
                     SL_E_REBALANCE);
    waiter w;
    join(e, &w, "g", m1, t0 + 2 * SESSION + 3);
    assert_ok_join(&w, 3);
    assert_int_equal(w.nmembers, 1);
    /* Silence of the last member empties the group and forgets it. */
    ss_groups_tick(e->g, t0 + 4 * SESSION);
    described d;
    describe(e, "g", &d);
    assert_true(d.state == IPC_GROUP_EMPTY || d.state == IPC_GROUP_DEAD);
    assert_int_equal(d.nmembers, 0);
}

static void
test_rebalance_deadline(void **state)
{
    env *e = *state;
    char m1[256], m2[256];
    int64_t t0 = 1000;
    stable_two(e, "g", m1, m2, t0);
    waiter w3, w1;
    join(e, &w3, "g", "", t0 + 100); /* deadline t0 + 100 + REBALANCE */
    join(e, &w1, "g", m1, t0 + 200);
    assert_int_equal(w3.answered + w1.answered, 0);
    /* m2 is alive (heartbeats) but does not rejoin. */
    assert_int_equal(hb(e, "g", 2, m2, NULL, t0 + 1000), SL_E_REBALANCE);
    ss_groups_tick(e->g, t0 + 100 + REBALANCE - 1);
    assert_int_equal(w3.answered + w1.answered, 0);
    assert_int_equal(hb(e, "g", 2, m2, NULL, t0 + 2000), SL_E_REBALANCE);
    ss_groups_tick(e->g, t0 + 100 + REBALANCE);
    assert_ok_join(&w1, 3);
    assert_ok_join(&w3, 3);
    assert_string_equal(w1.leader, m1);
    assert_int_equal(w1.nmembers, 2);
    assert_false(has_member(&w1, m2));
    assert_int_equal(hb(e, "g", 3, m2, NULL, t0 + 6000), SL_E_UNKNOWN_MEMBER);
}

static void
test_generation_errors(void **state)
{
    env *e = *state;
    char m1[256], m2[256];
    stable_two(e, "g", m1, m2, 1000);
    assert_int_equal(hb(e, "g", 1, m1, NULL, 1100), SL_E_GENERATION);
    assert_int_equal(hb(e, "g", 99, m2, NULL, 1100), SL_E_GENERATION);
    waiter w;
    do_sync(e, &w, "g", 1, m2, NULL, NULL, 0, 1100);
    assert_sync(&w, SL_E_GENERATION, NULL);
    assert_int_equal(commit_check(e, "g", 1, m1, NULL, 1100), SL_E_GENERATION);
    assert_int_equal(commit_check(e, "g", 2, m1, NULL, 1100), 0);
    /* Nothing changed for the group. */
    assert_int_equal(hb(e, "g", 2, m1, NULL, 1200), 0);
}

static void
test_unknown_member(void **state)
{
    env *e = *state;
    char m1[256];
    stable_one(e, "g", m1, sizeof(m1), 1000);
    assert_int_equal(hb(e, "g", 1, "ghost", NULL, 1100), SL_E_UNKNOWN_MEMBER);
    assert_int_equal(hb(e, "nogroup", 1, m1, NULL, 1100), SL_E_UNKNOWN_MEMBER);
    waiter w;
    join(e, &w, "g", "ghost", 1100);
    assert_int_equal(w.answered, 1);
    assert_int_equal(w.error, SL_E_UNKNOWN_MEMBER);
    do_sync(e, &w, "g", 1, "ghost", NULL, NULL, 0, 1100);
    assert_sync(&w, SL_E_UNKNOWN_MEMBER, NULL);
    do_sync(e, &w, "nogroup", 1, m1, NULL, NULL, 0, 1100);
    assert_sync(&w, SL_E_UNKNOWN_MEMBER, NULL);
    assert_int_equal(leave(e, "g", "ghost", NULL, 1100), SL_E_UNKNOWN_MEMBER);
    assert_int_equal(commit_check(e, "g", 1, "ghost", NULL, 1100),
                     SL_E_UNKNOWN_MEMBER);
    /* The real member is unaffected. */
    assert_int_equal(hb(e, "g", 1, m1, NULL, 1200), 0);
}

static void
test_invalid_join(void **state)
{
    env *e = *state;
    waiter w;
    join_args a = {.group = "g", .session = 10};
    do_join(e, &w, &a, 1000);
    assert_int_equal(w.answered, 1);
    assert_int_equal(w.error, SL_E_INVAL);
    a = (join_args){.group = "", .protocols = "range"};
    do_join(e, &w, &a, 1000);
    assert_int_equal(w.error, SL_E_INVAL);
    a = (join_args){.group = "g", .protocols = ""};
    do_join(e, &w, &a, 1000);
    assert_int_equal(w.answered, 1);
    assert_int_equal(w.error, SL_E_INVAL);
}

static void
test_protocols(void **state)
{
    env *e = *state;
    waiter w1, w2, w3, w4;
    join_args a = {.group = "g", .protocols = "range,roundrobin"};
    do_join(e, &w1, &a, 1000);
    assert_ok_join(&w1, 1);
    assert_string_equal(w1.protocol_name, "range");
    a = (join_args){.group = "g", .protocols = "roundrobin"};
    do_join(e, &w2, &a, 1000);
    assert_int_equal(w2.answered, 0);
    /* No protocol in common: refused at once. */
    a = (join_args){.group = "g", .protocols = "sticky"};
    do_join(e, &w3, &a, 1000);
    assert_int_equal(w3.answered, 1);
    assert_int_equal(w3.error, SL_E_GROUP_PROTOCOL);
    /* Another protocol type: refused. */
    a = (join_args){
        .group = "g", .protocols = "roundrobin", .protocol_type = "connect"};
    do_join(e, &w4, &a, 1000);
    assert_int_equal(w4.answered, 1);
    assert_int_equal(w4.error, SL_E_GROUP_PROTOCOL);
    char id1[256];
    snprintf(id1, sizeof(id1), "%s", w1.member_id);
    a = (join_args){
        .group = "g", .member_id = id1, .protocols = "range,roundrobin"};
    do_join(e, &w1, &a, 1000);
    assert_ok_join(&w1, 2);
    assert_ok_join(&w2, 2);
    assert_string_equal(w1.protocol_name, "roundrobin");
    assert_string_equal(w2.protocol_name, "roundrobin");
    /* The leader gets each member's metadata for the chosen protocol. */
    assert_int_equal(w1.nmembers, 2);
    assert_string_equal(w1.member_meta[0], "roundrobin-md");
    assert_string_equal(w1.member_meta[1], "roundrobin-md");
}

static void
test_member_required_pending_expires(void **state)
{
    env *e = *state;
    waiter w;
    join_args a = {.group = "g", .flags = IPC_JOIN_REQUIRE_MEMBER_ID};
    do_join(e, &w, &a, 1000);
    assert_int_equal(w.error, SL_E_MEMBER_REQUIRED);
    char id[256];
    snprintf(id, sizeof(id), "%s", w.member_id);
    /* Two ids handed out are distinct. */
    waiter w2;
    do_join(e, &w2, &a, 1000);
    assert_string_not_equal(w2.member_id, id);
    ss_groups_tick(e->g, 1000 + SESSION + 1);
    join(e, &w, "g", id, 1000 + SESSION + 2);
    assert_int_equal(w.answered, 1);
    assert_int_equal(w.error, SL_E_UNKNOWN_MEMBER);
}

static void
test_join_replaced(void **state)
{
    env *e = *state;
    char m1[256], m2[256];
    stable_two(e, "g", m1, m2, 1000);
    waiter a, b, c;
    join(e, &c, "g", "", 1100); /* a newcomer forces a rebalance */
    join(e, &a, "g", m2, 1100); /* m2 rejoins… */
    assert_int_equal(a.answered + c.answered, 0);
    join(e, &b, "g", m2, 1200); /* m2 again: replaces a */
    assert_int_equal(a.answered, 1);
    assert_int_not_equal(a.error, 0);
    assert_int_equal(b.answered, 0);
    waiter l;
    join(e, &l, "g", m1, 1300);
    assert_ok_join(&l, 3);
    assert_ok_join(&b, 3);
    assert_ok_join(&c, 3);
    assert_int_equal(l.nmembers, 3);
}

/* Leaving with a join held answers that join once; a leave that leaves
 * every remaining member joined completes the rebalance. */
static void
test_leave_while_held(void **state)
{
    env *e = *state;
    char m1[256], m2[256];
    stable_two(e, "g", m1, m2, 1000);
    waiter c, j1;
    join(e, &c, "g", "", 1100);
    join(e, &j1, "g", m1, 1100);
    assert_int_equal(c.answered + j1.answered, 0);
    /* m2 leaves instead of rejoining: the rebalance completes. */
    assert_int_equal(leave(e, "g", m2, NULL, 1200), 0);
    assert_ok_join(&j1, 3);
    assert_ok_join(&c, 3);
    assert_int_equal(j1.nmembers, 2);
    /* A member leaving with its join held. */
    waiter k1, d;
    join(e, &d, "g", "", 1300);
    join(e, &k1, "g", m1, 1300);
    assert_int_equal(k1.answered, 0);
    assert_int_equal(leave(e, "g", m1, NULL, 1400), 0);
    assert_int_equal(k1.answered, 1);
    assert_int_not_equal(k1.error, 0);
    /* c has not rejoined yet; the deadline removes it. */
    ss_groups_tick(e->g, 1300 + REBALANCE + 1);
    assert_ok_join(&d, 4);
    assert_int_equal(d.nmembers, 1);
    assert_string_equal(d.leader, d.member_id);
}

/* The leader never syncs: its session runs out, the followers' held syncs
 * are told to rejoin. */
static void
test_leader_silent_while_completing(void **state)
{
    env *e = *state;
    char m1[256], m2[256];
    stable_two(e, "g", m1, m2, 1000);
    waiter c, j1, j2, s2;
    join(e, &c, "g", "", 2000);
    join(e, &j1, "g", m1, 2000);
    join(e, &j2, "g", m2, 2000);
    assert_ok_join(&j2, 3);
    do_sync(e, &s2, "g", 3, m2, NULL, NULL, 0, 2100);
    assert_int_equal(s2.answered, 0);
    ss_groups_tick(e->g, 2000 + SESSION / 2);
    assert_int_equal(s2.answered, 0);
    ss_groups_tick(e->g, 2000 + SESSION + 1);
    assert_sync(&s2, SL_E_REBALANCE, NULL);
    assert_int_equal(hb(e, "g", 3, m1, NULL, 2000 + SESSION + 2),
                     SL_E_UNKNOWN_MEMBER);
}

static void
test_static_member(void **state)
{
    env *e = *state;
    waiter w1, w2, s1, s2;
    join_args a1 = {.group = "g", .instance_id = "i1"};
    join_args a2 = {.group = "g", .instance_id = "i2"};
    do_join(e, &w1, &a1, 1000);
    assert_ok_join(&w1, 1);
    char m1[256], m2[256];
    snprintf(m1, sizeof(m1), "%s", w1.member_id);
    do_sync(e, &s1, "g", 1, m1, "i1", (const char *[]){m1, "A1"}, 1, 1000);
    assert_sync(&s1, 0, "A1");
    do_join(e, &w2, &a2, 1100);
    assert_int_equal(w2.answered, 0);
    a1.member_id = m1;
    do_join(e, &w1, &a1, 1100);
    assert_ok_join(&w1, 2);
    assert_ok_join(&w2, 2);
    snprintf(m2, sizeof(m2), "%s", w2.member_id);
    do_sync(e, &s2, "g", 2, m2, "i2", NULL, 0, 1200);
    do_sync(e, &s1, "g", 2, m1, "i1", (const char *[]){m1, "A1", m2, "A2"}, 2,
            1200);
    assert_sync(&s1, 0, "A1");
    assert_sync(&s2, 0, "A2");

    /* i2 restarts: joins with no member id.  The group is stable and the
     * protocols are unchanged: answered at once, same generation, a new
     * member id, no rebalance. */
    int ev = e->nevents;
    waiter r;
    do_join(e, &r, &a2, 2000);
    assert_ok_join(&r, 2);
    assert_string_not_equal(r.member_id, m2);
    assert_string_equal(r.leader, m1);
    assert_int_equal(e->nevents, ev);
    assert_int_equal(hb(e, "g", 2, m1, "i1", 2100), 0);
    /* Its old assignment. */
    waiter s;
    do_sync(e, &s, "g", 2, r.member_id, "i2", NULL, 0, 2100);
    assert_sync(&s, 0, "A2");
    assert_int_equal(hb(e, "g", 2, r.member_id, "i2", 2100), 0);
    /* The old member id is fenced. */
    assert_int_equal(hb(e, "g", 2, m2, "i2", 2200), SL_E_FENCED);
    do_sync(e, &s, "g", 2, m2, "i2", NULL, 0, 2200);
    assert_sync(&s, SL_E_FENCED, NULL);
    assert_int_equal(commit_check(e, "g", 2, m2, "i2", 2200), SL_E_FENCED);
    assert_int_equal(leave(e, "g", m2, "i2", 2200), SL_E_FENCED);
    /* A known member id with another instance id is fenced too. */
    assert_int_equal(hb(e, "g", 2, m1, "i2", 2200), SL_E_FENCED);
    described d;
    describe(e, "g", &d);
    assert_int_equal(d.state, IPC_GROUP_STABLE);
    assert_int_equal(d.nmembers, 2);
    int found = 0;
    for (int i = 0; i < d.nmembers; i++) {
        assert_string_not_equal(d.member_id[i], m2);
        if (strcmp(d.member_id[i], r.member_id) == 0) {
            assert_string_equal(d.instance_id[i], "i2");
            assert_string_equal(d.assignment[i], "A2");
            found = 1;
        }
    }
    assert_true(found);
    /* A static member leaving by instance id. */
    assert_int_equal(leave(e, "g", "", "i2", 2300), 0);
    assert_int_equal(hb(e, "g", 2, m1, "i1", 2400), SL_E_REBALANCE);
}

/* A static member restarting while its sync is held: the held sync is
 * answered (fenced), the new join goes through, nothing twice. */
static void
test_static_rejoin_while_completing(void **state)
{
    env *e = *state;
    waiter w1, w2, s2, r;
    join_args a1 = {.group = "g", .instance_id = "i1"};
    join_args a2 = {.group = "g", .instance_id = "i2"};
    do_join(e, &w1, &a1, 1000);
    assert_ok_join(&w1, 1);
    char m1[256];
    snprintf(m1, sizeof(m1), "%s", w1.member_id);
    do_join(e, &w2, &a2, 1000);
    a1.member_id = m1;
    do_join(e, &w1, &a1, 1000);
    assert_ok_join(&w2, 2);
    do_sync(e, &s2, "g", 2, w2.member_id, "i2", NULL, 0, 1100);
    assert_int_equal(s2.answered, 0);
    do_join(e, &r, &a2, 1200);
    assert_int_equal(s2.answered, 1);
    assert_int_not_equal(s2.error, 0);
    if (!r.answered) {
        waiter l;
        do_join(e, &l, &a1, 1300);
        assert_ok_join(&l, 3);
    }
    assert_int_equal(r.answered, 1);
    assert_int_equal(r.error, 0);
}

static void
test_fail_all(void **state)
{
    env *e = *state;
    char m1[256], m2[256], n1[256], n2[256];
    /* Group A: a follower's sync held.  Group B: a newcomer's join held. */
    stable_two(e, "A", m1, m2, 1000);
    waiter a1, a2, a3, as2;
    join(e, &a3, "A", "", 1100);
    join(e, &a1, "A", m1, 1100);
    join(e, &a2, "A", m2, 1100);
    assert_ok_join(&a2, 3);
    do_sync(e, &as2, "A", 3, m2, NULL, NULL, 0, 1200);
    assert_int_equal(as2.answered, 0);
    stable_two(e, "B", n1, n2, 1000);
    waiter b3, b1;
    join(e, &b3, "B", "", 1300);
    join(e, &b1, "B", n1, 1300);
    assert_int_equal(b3.answered + b1.answered, 0);

    int before = e->replies;
    ss_groups_fail_all(e->g, SL_E_CLOSED);
    assert_int_equal(e->replies, before + 3);
    assert_sync(&as2, SL_E_CLOSED, NULL);
    assert_int_equal(b3.answered, 1);
    assert_int_equal(b3.error, SL_E_CLOSED);
    assert_int_equal(b1.answered, 1);
    assert_int_equal(b1.error, SL_E_CLOSED);
    /* Nothing is answered a second time. */
    ss_groups_fail_all(e->g, SL_E_CLOSED);
    assert_int_equal(e->replies, before + 3);
    ss_groups_tick(e->g, 1000 + 100000);
    assert_int_equal(e->replies, before + 3);
}

static void
test_commit_check(void **state)
{
    env *e = *state;
    /* No group, or a group without members: commits outside the group
     * protocol (generation -1) are allowed. */
    assert_int_equal(commit_check(e, "g", -1, "", NULL, 1000), 0);
    char m1[256], m2[256];
    stable_two(e, "g", m1, m2, 1000);
    assert_int_not_equal(commit_check(e, "g", -1, "", NULL, 1000), 0);
    assert_int_equal(commit_check(e, "g", 2, m1, NULL, 1000), 0);
    assert_int_equal(commit_check(e, "g", 3, m1, NULL, 1000), SL_E_GENERATION);
    assert_int_equal(commit_check(e, "g", 2, "x", NULL, 1000),
                     SL_E_UNKNOWN_MEMBER);
    assert_int_equal(commit_check(e, "other", 2, m1, NULL, 1000),
                     SL_E_UNKNOWN_MEMBER);
    /* A commit counts as a sign of life: m2 commits instead of
     * heartbeating and outlives a session timeout from its last sync. */
    assert_int_equal(hb(e, "g", 2, m1, NULL, 1000 + 8000), 0);
    assert_int_equal(commit_check(e, "g", 2, m2, NULL, 1000 + 8000), 0);
    ss_groups_tick(e->g, 1000 + SESSION + 500);
    assert_int_equal(hb(e, "g", 2, m2, NULL, 1000 + SESSION + 600), 0);
    /* During PREPARING the current generation may still commit. */
    waiter j3, j1, j2;
    join(e, &j3, "g", "", 12000);
    assert_int_equal(commit_check(e, "g", 2, m1, NULL, 12000), 0);
    /* During COMPLETING nobody may. */
    join(e, &j1, "g", m1, 12000);
    join(e, &j2, "g", m2, 12000);
    assert_ok_join(&j1, 3);
    assert_int_equal(commit_check(e, "g", 3, m1, NULL, 12000), SL_E_REBALANCE);
    /* Everyone leaves: generation -1 is fine again. */
    assert_int_equal(leave(e, "g", m1, NULL, 12100), 0);
    assert_int_equal(leave(e, "g", m2, NULL, 12100), 0);
    assert_int_equal(leave(e, "g", j3.member_id, NULL, 12100), 0);
    assert_int_equal(commit_check(e, "g", -1, "", NULL, 12200), 0);
}

typedef struct listed {
    int n;
    char group[8][32];
    int state[8];
} listed;

static int
list_cb(void *arg, sl_slice group, sl_slice protocol_type, int st)
{
    listed *l = arg;
    (void)protocol_type;
    assert_true(l->n < 8);
    copy_str(l->group[l->n], 32, group);
    l->state[l->n] = st;
    l->n++;
    return 0;
}

static void
test_describe_list_delete(void **state)
{
    env *e = *state;
    described d;
    describe(e, "unknown", &d);
    assert_int_equal(d.state, IPC_GROUP_DEAD);
    assert_int_equal(d.nmembers, 0);
    assert_int_equal(ss_groups_known(e->g, sl_slice_str("unknown")), 0);

    char m1[256], m2[256];
    stable_one(e, "one", m1, sizeof(m1), 1000);
    stable_two(e, "two", m1, m2, 1000);
    describe(e, "two", &d);
    assert_int_equal(d.state, IPC_GROUP_STABLE);
    assert_string_equal(d.protocol_type, "consumer");
    assert_string_equal(d.protocol_name, "range");
    assert_int_equal(d.nmembers, 2);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(d.client_id[i], "cid");
        assert_string_equal(d.client_host[i], "/127.0.0.1");
        assert_string_equal(d.instance_id[i], "");
        assert_string_equal(d.metadata[i], "range-md");
        assert_string_equal(d.assignment[i],
                            strcmp(d.member_id[i], m1) == 0 ? "A1" : "A2");
    }
    listed l = {0};
    assert_int_equal(ss_groups_list(e->g, list_cb, &l), 0);
    assert_int_equal(l.n, 2);
    for (int i = 0; i < 2; i++)
        assert_int_equal(l.state[i], IPC_GROUP_STABLE);

    assert_int_equal(ss_groups_delete(e->g, sl_slice_str("two")),
                     SL_E_NOTEMPTY);
    assert_int_equal(ss_groups_delete(e->g, sl_slice_str("unknown")),
                     SL_E_NOGROUP);
    assert_int_equal(leave(e, "two", m1, NULL, 1100), 0);
    assert_int_equal(leave(e, "two", m2, NULL, 1100), 0);
    assert_int_equal(ss_groups_known(e->g, sl_slice_str("two")), 1);
    assert_int_equal(ss_groups_delete(e->g, sl_slice_str("two")), 0);
    assert_int_equal(ss_groups_known(e->g, sl_slice_str("two")), 0);
    describe(e, "two", &d);
    assert_int_equal(d.state, IPC_GROUP_DEAD);
    l = (listed){0};
    assert_int_equal(ss_groups_list(e->g, list_cb, &l), 0);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.group[0], "one");
}

int
main(void)
{
    sl_log_set_level(SL_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_single_member, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_member, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leave_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leader_leaves_while_completing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebalance_deadline, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_generation_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_member, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_join, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocols, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_required_pending_expires,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leave_while_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leader_silent_while_completing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_member, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_rejoin_while_completing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_describe_list_delete, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
