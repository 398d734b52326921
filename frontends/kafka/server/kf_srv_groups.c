/*
 * kf_srv_groups.c — the classic consumer-group protocol and producer ids:
 * FindCoordinator (v0-2), JoinGroup (v0-5), SyncGroup (v0-3), Heartbeat
 * (v0-3), LeaveGroup (v0-4), OffsetCommit (v2-7), OffsetFetch (v1-5),
 * ListGroups (v0-2), DescribeGroups (v0-4), DeleteGroups (v0-1) and
 * InitProducerId (v0-1).
 *
 * The coordinator is segstore's membership service (docs/ipc.md, GROUP_*
 * and OFFSET_* ops), not this process: every sluice-kafka on one segstore
 * sees the same groups, generations and committed offsets, so
 * FindCoordinator can name the advertised broker (the load balancer) for
 * every group and any instance can serve any member.  Each Kafka request
 * becomes exactly one IPC request; this file only translates.
 *
 * JoinGroup and SyncGroup replies are held by segstore until the rebalance
 * completes (up to the group's rebalance timeout, which clients set to
 * max.poll.interval.ms, 300 s by default).  They go over a second IPC
 * client (kf_server.gipc) whose timeout is group.timeout.max.ms + 30 s,
 * so that the normal client's segstore.timeout.ms does not cut a
 * rebalance short and held requests do not occupy the normal client's
 * nng contexts.  A JoinGroup's rebalance timeout is capped at
 * group.timeout.max.ms before it goes to segstore, so the IPC timeout
 * always exceeds it.  If segstore goes away, nng fails the held requests
 * with -ECONNRESET (or they time out) and the member gets
 * COORDINATOR_NOT_AVAILABLE, which every client answers by looking the
 * coordinator up again and rejoining.
 *
 * Group outcomes come in an `i32 error` of the reply body (MEMBER_REQUIRED
 * carries the member id); the IPC header status is only for whole-request
 * failures.  kf__err_from_sl() maps both to Kafka codes, with
 * COORDINATOR_NOT_AVAILABLE (retriable, clients rediscover) for anything
 * that says segstore could not be asked.
 *
 * Transactions are not supported: FindCoordinator for a transactional id
 * and InitProducerId with a transactional_id are refused with
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED, the one error librdkafka and the
 * Java client treat as fatal there, and a KF-TXN warning is logged, so
 * that a transactional producer fails at once instead of believing it has
 * exactly-once delivery or retrying until its timeout.
 */
#include "kf_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kafka's offset.metadata.max.bytes default; also IPC's str limit. */
#define COMMIT_METADATA_MAX 4096

/* authorized_operations when the client did not ask for them (v3+). */
#define AUTH_OPS_OMITTED INT32_MIN

/* What a transactional client is told (FindCoordinator v1+). */
#define TXN_REFUSED                                                            \
    "Sluice does not support Kafka transactions; unset transactional.id "      \
    "(enable.idempotence alone is supported)"

/* Kafka's FindCoordinator key types (v1+). */
enum { KEY_GROUP = 0, KEY_TRANSACTION = 1 };

static sl_slice
nsl(kf_nslice s)
{
    return s.null ? sl_slice_make("", 0) : s.v;
}

static kf_nslice
opt_nsl(sl_slice s)
{
    return s.n == 0 ? kf_nslice_null() : kf_nslice_make(s.p, s.n);
}

/* Fail the connection when our own response state could not be built. */
static void
oom(kf_req *r)
{
    kf__conn_fail(r, -ENOMEM);
    kf__req_done(r);
}

/* The error a group reply's transport outcome maps to, or 0 when the
 * reply arrived with header status 0 (its body then says the outcome). */
static int16_t
transport_err(kf_req *r, int rc, const ipc_hdr *h)
{
    if (rc != 0 || h->status != 0) {
        r->srv->st.ipc_errors++;
        return kf__err_from_sl(rc != 0 ? rc : h->status, r->hdr.api_key,
                               KF_ERR_COORDINATOR_NOT_AVAILABLE);
    }
    return KF_ERR_NONE;
}

static int16_t
group_err(kf_req *r, int32_t e)
{
    return kf__err_from_sl(e, r->hdr.api_key, KF_ERR_COORDINATOR_NOT_AVAILABLE);
}

/* Log (at most once a minute) that a client wanted transactions. */
static void
txn_refused(kf_req *r, const char *what, kf_nslice id)
{
    kf_server *s = r->srv;
    uint64_t now = uv_now(s->loop);
    if (s->txn_warned_at != 0 && now - s->txn_warned_at < 60000)
        return;
    s->txn_warned_at = now;
    sl_slice v = nsl(id);
    const char *peer = r->conn ? fe_conn_peer(r->conn->fe) : "?";
    sl_log(SL_LOG_WARN, "KF-TXN",
           "peer=%s %s transactional_id=%.*s refused: transactions are not "
           "supported (idempotence without transactional.id is)",
           peer, what, (int)SL_MIN(v.n, 200), (const char *)v.p);
}

/* ---- FindCoordinator ------------------------------------------------------
 */

void
kf__findcoordinator(kf_req *r)
{
    kf_findcoordinator_req *q = r->msg;
    kf_server *s = r->srv;
    kf_findcoordinator_resp resp = {0};
    resp.error_message = kf_nslice_null();
    if (q->key_type == KEY_GROUP) {
        resp.error_code = KF_ERR_NONE;
        resp.node_id = (int32_t)s->cfg->node_id;
        resp.host = sl_slice_str(s->cfg->adv_host);
        resp.port = s->cfg->adv_port;
    } else {
        /* The one FindCoordinator error librdkafka 2.0.2 treats as fatal
         * for a transactional producer (rd_kafka_txn_handle_
         * FindCoordinator; every other code is retried until
         * init_transactions() times out), and fatal in the Java client
         * too.  The message says what is really wrong. */
        if (q->key_type == KEY_TRANSACTION) {
            resp.error_code = KF_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
            resp.error_message = kf_nslice_str(TXN_REFUSED);
            txn_refused(r, "FindCoordinator",
                        kf_nslice_make(q->key.p, q->key.n));
        } else {
            resp.error_code = KF_ERR_INVALID_REQUEST;
            resp.error_message = kf_nslice_str("unknown key_type");
        }
        resp.node_id = -1;
        resp.host = sl_slice_make("", 0);
        resp.port = -1;
    }
    kf__resp_send(r, &resp);
}

/* ---- JoinGroup ------------------------------------------------------------
 */

static void
join_respond_err(kf_req *r, int16_t err, sl_slice member_id)
{
    kf_joingroup_resp resp = {0};
    resp.error_code = err;
    resp.generation_id = -1;
    resp.protocol_name = sl_slice_make("", 0);
    resp.leader = sl_slice_make("", 0);
    resp.member_id = member_id;
    kf__resp_send(r, &resp);
}

static void
on_join(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    kf_req *r = arg;
    if (!kf__ipc_back(r))
        return;
    kf_joingroup_req *q = r->msg;
    int16_t err = transport_err(r, rc, h);
    ipc_join_rep m;
    if (err == KF_ERR_NONE && ipc_join_rep_decode(body, &m) != 0)
        err = KF_ERR_COORDINATOR_NOT_AVAILABLE;
    if (err != KF_ERR_NONE) {
        join_respond_err(r, err, q->member_id);
        return;
    }
    if (m.error != 0) {
        /* MEMBER_REQUIRED carries the id the member must join with. */
        join_respond_err(r, group_err(r, m.error),
                         m.member_id.n ? m.member_id : q->member_id);
        return;
    }
    kf_joingroup_member *mem =
        calloc(m.nmembers ? (size_t)m.nmembers : 1, sizeof(*mem));
    if (mem == NULL) {
        oom(r);
        return;
    }
    int32_t n = 0;
    ipc_join_member x;
    while (ipc_join_rep_next(&m, &x) == 1) {
        mem[n].member_id = x.member_id;
        mem[n].group_instance_id = opt_nsl(x.instance_id);
        mem[n].metadata = x.metadata;
        n++;
    }
    kf_joingroup_resp resp = {0};
    resp.error_code = KF_ERR_NONE;
    resp.generation_id = m.generation;
    resp.protocol_name = m.protocol_name;
    resp.leader = m.leader;
    resp.member_id = m.member_id;
    resp.members = mem;
    resp.n_members = n;
    kf__resp_send(r, &resp);
    free(mem);
}

/* Kafka's client_host: "/" and the peer's address without its port. */
static void
client_host(kf_req *r, char *out, size_t cap)
{
    const char *peer = r->conn ? fe_conn_peer(r->conn->fe) : "";
    const char *colon = strrchr(peer, ':');
    int n = colon ? (int)(colon - peer) : (int)strlen(peer);
    snprintf(out, cap, "/%.*s", n, peer);
}

void
kf__joingroup(kf_req *r)
{
    kf_joingroup_req *q = r->msg;
    int16_t v = r->hdr.api_version;
    char host[80];
    client_host(r, host, sizeof(host));
    ipc_group_protocol *p =
        calloc(q->n_protocols > 0 ? (size_t)q->n_protocols : 1, sizeof(*p));
    if (p == NULL) {
        oom(r);
        return;
    }
    for (int32_t i = 0; i < q->n_protocols; i++) {
        p[i].name = q->protocols[i].name;
        p[i].metadata = q->protocols[i].metadata;
    }
    ipc_join_req m = {0};
    m.group = q->group_id;
    m.member_id = q->member_id;
    m.instance_id = nsl(q->group_instance_id);
    m.protocol_type = q->protocol_type;
    m.session_timeout_ms = q->session_timeout_ms;
    /* v0 has no rebalance timeout; Kafka uses the session timeout. */
    m.rebalance_timeout_ms =
        v >= 1 ? q->rebalance_timeout_ms : q->session_timeout_ms;
    int64_t cap = r->srv->cfg->group_timeout_max_ms;
    if (m.rebalance_timeout_ms > cap)
        m.rebalance_timeout_ms = (int32_t)cap;
    if (q->session_timeout_ms > cap) {
        /* Kafka's group.max.session.timeout.ms check. */
        free(p);
        join_respond_err(r, KF_ERR_INVALID_SESSION_TIMEOUT, q->member_id);
        return;
    }
    m.client_id = nsl(r->hdr.client_id);
    m.client_host = sl_slice_str(host);
    /* KIP-394: from v4 a new dynamic member is given its id with
     * MEMBER_ID_REQUIRED and joins again with it, so that a member whose
     * first join timed out does not leave an unknown member behind. */
    m.flags = v >= 4 ? IPC_JOIN_REQUIRE_MEMBER_ID : 0;
    sl_buf b = {0};
    int rc = q->group_id.n == 0
                 ? SL_E_INVAL
                 : ipc_join_req_encode(&b, &m, p, (size_t)q->n_protocols);
    if (rc == 0)
        rc = kf__ipc_group(r, &b, on_join);
    sl_buf_fini(&b);
    free(p);
    if (rc != 0)
        join_respond_err(r,
                         q->group_id.n == 0 ? KF_ERR_INVALID_GROUP_ID
                                            : KF_ERR_COORDINATOR_NOT_AVAILABLE,
                         q->member_id);
}

/* ---- SyncGroup ------------------------------------------------------------
 */

static void
sync_respond(kf_req *r, int16_t err, sl_slice assignment)
{
    kf_syncgroup_resp resp = {0};
    resp.error_code = err;
    resp.assignment = assignment;
    kf__resp_send(r, &resp);
}

static void
on_sync(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    kf_req *r = arg;
    if (!kf__ipc_back(r))
        return;
    int16_t err = transport_err(r, rc, h);
    ipc_sync_rep m;
    if (err == KF_ERR_NONE && ipc_sync_rep_decode(body, &m) != 0)
        err = KF_ERR_COORDINATOR_NOT_AVAILABLE;
    if (err == KF_ERR_NONE && m.error != 0)
        err = group_err(r, m.error);
    sync_respond(r, err,
                 err == KF_ERR_NONE ? m.assignment : sl_slice_make("", 0));
}

void
kf__syncgroup(kf_req *r)
{
    kf_syncgroup_req *q = r->msg;
    ipc_sync_assignment *a =
        calloc(q->n_assignments > 0 ? (size_t)q->n_assignments : 1, sizeof(*a));
    if (a == NULL) {
        oom(r);
        return;
    }
    for (int32_t i = 0; i < q->n_assignments; i++) {
        a[i].member_id = q->assignments[i].member_id;
        a[i].assignment = q->assignments[i].assignment;
    }
    ipc_sync_req m = {0};
    m.group = q->group_id;
    m.generation = q->generation_id;
    m.member_id = q->member_id;
    m.instance_id = nsl(q->group_instance_id);
    /* SyncGroup v0-3 carries neither; empty means "not checked". */
    m.protocol_type = sl_slice_make("", 0);
    m.protocol_name = sl_slice_make("", 0);
    sl_buf b = {0};
    int rc =
        ipc_sync_req_encode(&b, &m, a, (size_t)SL_MAX(q->n_assignments, 0));
    if (rc == 0)
        rc = kf__ipc_group(r, &b, on_sync);
    sl_buf_fini(&b);
    free(a);
    if (rc != 0)
        sync_respond(r, KF_ERR_COORDINATOR_NOT_AVAILABLE, sl_slice_make("", 0));
}

/* ---- Heartbeat and LeaveGroup ----------------------------------------------
 */

static void
hb_respond(kf_req *r, int16_t err)
{
    kf_heartbeat_resp resp = {0};
    resp.error_code = err;
    kf__resp_send(r, &resp);
}

static void
on_heartbeat(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    kf_req *r = arg;
    if (!kf__ipc_back(r))
        return;
    int16_t err = transport_err(r, rc, h);
    int32_t e;
    if (err == KF_ERR_NONE)
        err = ipc_group_error_rep_decode(body, &e) != 0
                  ? KF_ERR_COORDINATOR_NOT_AVAILABLE
                  : group_err(r, e);
    hb_respond(r, err);
}

void
kf__heartbeat(kf_req *r)
{
    kf_heartbeat_req *q = r->msg;
    ipc_heartbeat_req m = {q->group_id, q->generation_id, q->member_id,
                           nsl(q->group_instance_id)};
    sl_buf b = {0};
    int rc = ipc_heartbeat_req_encode(&b, &m);
    if (rc == 0)
        rc = kf__ipc(r, &b, on_heartbeat);
    sl_buf_fini(&b);
    if (rc != 0)
        hb_respond(r, KF_ERR_COORDINATOR_NOT_AVAILABLE);
}

/* Answer a LeaveGroup: v0-2 with one error; v3+ with err at the top when
 * errs is NULL, else a top-level NONE and errs[i] for members[i]. */
static void
leave_respond(kf_req *r, int16_t err, const int16_t *errs)
{
    kf_leavegroup_req *q = r->msg;
    kf_leavegroup_resp resp = {0};
    resp.error_code = err;
    kf_leavegroup_member_resp *mem = NULL;
    if (r->hdr.api_version >= 3 && errs != NULL && q->n_members > 0) {
        mem = calloc((size_t)q->n_members, sizeof(*mem));
        if (mem == NULL) {
            oom(r);
            return;
        }
        for (int32_t i = 0; i < q->n_members; i++) {
            mem[i].member_id = q->members[i].member_id;
            mem[i].group_instance_id = q->members[i].group_instance_id;
            mem[i].error_code = errs[i];
        }
        resp.members = mem;
        resp.n_members = q->n_members;
    }
    kf__resp_send(r, &resp);
    free(mem);
}

static void
on_leave(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    kf_req *r = arg;
    if (!kf__ipc_back(r))
        return;
    kf_leavegroup_req *q = r->msg;
    size_t want = r->hdr.api_version >= 3 ? (size_t)q->n_members : 1;
    int16_t err = transport_err(r, rc, h);
    ipc_errors_rep m;
    if (err == KF_ERR_NONE &&
        (ipc_leave_rep_decode(body, &m) != 0 || m.count != want))
        err = KF_ERR_COORDINATOR_NOT_AVAILABLE;
    if (err != KF_ERR_NONE) {
        leave_respond(r, err, NULL);
        return;
    }
    if (r->hdr.api_version < 3) {
        int32_t e = m.error;
        if (e == 0)
            ipc_errors_rep_next(&m, &e);
        leave_respond(r, group_err(r, e), NULL);
        return;
    }
    /* v3+: Kafka answers an unknown group with a top-level NONE and
     * UNKNOWN_MEMBER_ID per member, which is what the members' own errors
     * say; segstore's top-level error only repeats that. */
    int16_t *errs = calloc(want ? want : 1, sizeof(*errs));
    if (errs == NULL) {
        oom(r);
        return;
    }
    for (size_t i = 0; i < want; i++) {
        int32_t e = 0;
        ipc_errors_rep_next(&m, &e);
        errs[i] = group_err(r, e);
    }
    leave_respond(r, KF_ERR_NONE, errs);
    free(errs);
}

void
kf__leavegroup(kf_req *r)
{
    kf_leavegroup_req *q = r->msg;
    sl_buf b = {0};
    int rc;
    if (r->hdr.api_version < 3) {
        /* v0-2 name one dynamic member. */
        ipc_leave_member one = {q->member_id, sl_slice_make("", 0)};
        rc = ipc_leave_req_encode(&b, q->group_id, &one, 1);
    } else {
        /* v3+ (KIP-345): a batch, each by member id or by static instance
         * id (then the member id may be empty), removed in one request. */
        if (q->n_members <= 0) {
            leave_respond(r, KF_ERR_NONE, NULL);
            return;
        }
        ipc_leave_member *lm = calloc((size_t)q->n_members, sizeof(*lm));
        if (lm == NULL) {
            oom(r);
            return;
        }
        for (int32_t i = 0; i < q->n_members; i++) {
            lm[i].member_id = q->members[i].member_id;
            lm[i].instance_id = nsl(q->members[i].group_instance_id);
        }
        rc = ipc_leave_req_encode(&b, q->group_id, lm, (size_t)q->n_members);
        free(lm);
    }
    if (rc == 0)
        rc = kf__ipc(r, &b, on_leave);
    sl_buf_fini(&b);
    if (rc != 0)
        leave_respond(r, KF_ERR_COORDINATOR_NOT_AVAILABLE, NULL);
}

/* ---- OffsetCommit ----------------------------------------------------------
 */

/* Per partition of the request, flattened topic by topic. */
typedef struct oc_state {
    int16_t *err;
    uint8_t *asked;
    int32_t *first;
    int32_t nparts;
} oc_state;

static void
oc_free(kf_req *r)
{
    oc_state *st = r->hs;
    if (st != NULL) {
        free(st->err);
        free(st->asked);
        free(st->first);
        free(st);
    }
    r->hs = NULL;
}

static void
oc_respond(kf_req *r)
{
    oc_state *st = r->hs;
    kf_offsetcommit_req *q = r->msg;
    kf_offsetcommit_resp_topic *topics =
        calloc(q->n_topics > 0 ? (size_t)q->n_topics : 1, sizeof(*topics));
    kf_offsetcommit_resp_part *parts =
        calloc(st->nparts ? (size_t)st->nparts : 1, sizeof(*parts));
    if (topics == NULL || parts == NULL) {
        free(topics);
        free(parts);
        oom(r);
        return;
    }
    for (int32_t t = 0; t < q->n_topics; t++) {
        kf_offsetcommit_req_topic *qt = &q->topics[t];
        topics[t].name = qt->name;
        topics[t].partitions = &parts[st->first[t]];
        topics[t].n_partitions = qt->n_partitions;
        for (int32_t p = 0; p < qt->n_partitions; p++) {
            parts[st->first[t] + p].partition_index =
                qt->partitions[p].partition_index;
            parts[st->first[t] + p].error_code = st->err[st->first[t] + p];
        }
    }
    kf_offsetcommit_resp resp = {0};
    resp.topics = topics;
    resp.n_topics = q->n_topics;
    kf__resp_send(r, &resp);
    free(topics);
    free(parts);
}

static void
oc_fail_asked(oc_state *st, int16_t err)
{
    for (int32_t i = 0; i < st->nparts; i++)
        if (st->asked[i])
            st->err[i] = err;
}

static void
on_commit(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    kf_req *r = arg;
    if (!kf__ipc_back(r))
        return;
    oc_state *st = r->hs;
    int16_t err = transport_err(r, rc, h);
    ipc_errors_rep m;
    if (err == KF_ERR_NONE && ipc_commit_rep_decode(body, &m) != 0)
        err = KF_ERR_COORDINATOR_NOT_AVAILABLE;
    if (err != KF_ERR_NONE) {
        oc_fail_asked(st, err);
        oc_respond(r);
        return;
    }
    for (int32_t i = 0; i < st->nparts; i++) {
        int32_t e;
        if (!st->asked[i])
            continue;
        st->err[i] = ipc_errors_rep_next(&m, &e) == 1
                         ? group_err(r, e)
                         : KF_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    oc_respond(r);
}

void
kf__offsetcommit(kf_req *r)
{
    kf_offsetcommit_req *q = r->msg;
    int16_t v = r->hdr.api_version;
    ipc_commit_entry *e = NULL;
    oc_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        goto fail;
    r->hs = st;
    r->hs_free = oc_free;
    int64_t total = 0;
    for (int32_t t = 0; t < q->n_topics; t++)
        total += SL_MAX(q->topics[t].n_partitions, 0);
    st->nparts = (int32_t)total;
    size_t cnt = total ? (size_t)total : 1;
    st->err = calloc(cnt, sizeof(*st->err));
    st->asked = calloc(cnt, sizeof(*st->asked));
    st->first =
        calloc(q->n_topics > 0 ? (size_t)q->n_topics : 1, sizeof(*st->first));
    e = calloc(cnt, sizeof(*e));
    if (st->err == NULL || st->asked == NULL || st->first == NULL || e == NULL)
        goto fail;
    size_t n = 0;
    int32_t i = 0;
    for (int32_t t = 0; t < q->n_topics; t++) {
        kf_offsetcommit_req_topic *qt = &q->topics[t];
        st->first[t] = i;
        for (int32_t p = 0; p < qt->n_partitions; p++, i++) {
            kf_offsetcommit_req_part *qp = &qt->partitions[p];
            sl_slice md = nsl(qp->committed_metadata);
            if (md.n > COMMIT_METADATA_MAX) {
                st->err[i] = KF_ERR_OFFSET_METADATA_TOO_LARGE;
                continue;
            }
            if (!kf__topic_valid(qt->name) || qp->partition_index < 0) {
                st->err[i] = KF_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            st->asked[i] = 1;
            e[n].topic = qt->name;
            e[n].partition = qp->partition_index;
            e[n].offset = qp->committed_offset;
            /* committed_leader_epoch exists from v6; -1 means unknown. */
            e[n].leader_epoch = v >= 6 ? qp->committed_leader_epoch : -1;
            e[n].metadata = md;
            n++;
        }
    }
    if (n == 0) {
        free(e);
        oc_respond(r);
        return;
    }
    /* retention_time_ms (v2-4) is ignored: committed offsets are kept
     * until the group is deleted, as with Kafka's default. */
    ipc_commit_req m = {0};
    m.group = q->group_id;
    m.generation = q->generation_id;
    m.member_id = q->member_id;
    m.instance_id = nsl(q->group_instance_id);
    sl_buf b = {0};
    int rc =
        q->group_id.n == 0 ? SL_E_INVAL : ipc_commit_req_encode(&b, &m, e, n);
    if (rc == 0)
        rc = kf__ipc(r, &b, on_commit);
    sl_buf_fini(&b);
    free(e);
    if (rc != 0) {
        oc_fail_asked(st, q->group_id.n == 0
                              ? KF_ERR_INVALID_GROUP_ID
                              : KF_ERR_COORDINATOR_NOT_AVAILABLE);
        oc_respond(r);
    }
    return;
fail:
    free(e);
    oom(r);
}

/* ---- OffsetFetch -----------------------------------------------------------
 */

static bool
same(sl_slice a, sl_slice b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* An answer where every requested partition (v1) or the whole request
 * (v2+) carries err. */
static void
of_respond_err(kf_req *r, int16_t err)
{
    kf_offsetfetch_req *q = r->msg;
    kf_offsetfetch_resp resp = {0};
    resp.error_code = err;
    kf_offsetfetch_resp_topic *topics = NULL;
    kf_offsetfetch_resp_part *parts = NULL;
    if (r->hdr.api_version < 2 && q->n_topics > 0) {
        /* v1 has no top-level error: it goes on each partition. */
        size_t total = 0;
        for (int32_t t = 0; t < q->n_topics; t++)
            total += (size_t)SL_MAX(q->topics[t].n_partition_indexes, 0);
        topics = calloc((size_t)q->n_topics, sizeof(*topics));
        parts = calloc(total ? total : 1, sizeof(*parts));
        if (topics == NULL || parts == NULL) {
            free(topics);
            free(parts);
            oom(r);
            return;
        }
        kf_offsetfetch_resp_part *pp = parts;
        for (int32_t t = 0; t < q->n_topics; t++) {
            kf_offsetfetch_req_topic *qt = &q->topics[t];
            topics[t].name = qt->name;
            topics[t].partitions = pp;
            topics[t].n_partitions = SL_MAX(qt->n_partition_indexes, 0);
            for (int32_t p = 0; p < qt->n_partition_indexes; p++, pp++) {
                pp->partition_index = qt->partition_indexes[p];
                pp->committed_offset = -1;
                pp->committed_leader_epoch = -1;
                pp->metadata = kf_nslice_make("", 0);
                pp->error_code = err;
            }
        }
        resp.topics = topics;
        resp.n_topics = q->n_topics;
    }
    kf__resp_send(r, &resp);
    free(topics);
    free(parts);
}

static void
fill_part(kf_offsetfetch_resp_part *pp, int32_t partition,
          const ipc_committed *c, kf_req *r)
{
    pp->partition_index = partition;
    if (c == NULL) {
        pp->committed_offset = -1;
        pp->committed_leader_epoch = -1;
        pp->metadata = kf_nslice_make("", 0);
        pp->error_code = KF_ERR_NONE;
        return;
    }
    pp->committed_offset = c->offset;
    pp->committed_leader_epoch = c->leader_epoch;
    pp->metadata = kf_nslice_make(c->metadata.p, c->metadata.n);
    pp->error_code = group_err(r, c->error);
}

static void
on_offset_fetch(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    kf_req *r = arg;
    if (!kf__ipc_back(r))
        return;
    kf_offsetfetch_req *q = r->msg;
    int16_t err = transport_err(r, rc, h);
    ipc_offset_fetch_rep m;
    if (err == KF_ERR_NONE && ipc_offset_fetch_rep_decode(body, &m) != 0)
        err = KF_ERR_COORDINATOR_NOT_AVAILABLE;
    if (err == KF_ERR_NONE && m.error != 0)
        err = group_err(r, m.error);
    if (err != KF_ERR_NONE) {
        of_respond_err(r, err);
        return;
    }
    /* Copy the results out of the cursor once (they are views into the
     * reply body, which lives until this callback returns). */
    ipc_committed *c = calloc(m.count ? m.count : 1, sizeof(*c));
    size_t nc = 0;
    if (c == NULL) {
        oom(r);
        return;
    }
    while (nc < m.count && ipc_offset_fetch_rep_next(&m, &c[nc]) == 1)
        nc++;
    kf_offsetfetch_resp_topic *topics = NULL;
    kf_offsetfetch_resp_part *parts = NULL;
    int32_t ntopics = 0;
    if (q->n_topics < 0) {
        /* Every committed partition (v2+ null topics): group the results
         * by topic, in the order topics first appear. */
        topics = calloc(nc ? nc : 1, sizeof(*topics));
        parts = calloc(nc ? nc : 1, sizeof(*parts));
        uint8_t *used = calloc(nc ? nc : 1, 1);
        if (topics == NULL || parts == NULL || used == NULL) {
            free(used);
            goto oom;
        }
        size_t k = 0;
        for (size_t i = 0; i < nc; i++) {
            if (used[i])
                continue;
            kf_offsetfetch_resp_topic *t = &topics[ntopics++];
            t->name = c[i].topic;
            t->partitions = &parts[k];
            for (size_t j = i; j < nc; j++) {
                if (used[j] || !same(c[j].topic, c[i].topic))
                    continue;
                used[j] = 1;
                fill_part(&parts[k++], c[j].partition, &c[j], r);
                t->n_partitions++;
            }
        }
        free(used);
    } else {
        size_t total = 0;
        for (int32_t t = 0; t < q->n_topics; t++)
            total += (size_t)SL_MAX(q->topics[t].n_partition_indexes, 0);
        topics = calloc(q->n_topics ? (size_t)q->n_topics : 1, sizeof(*topics));
        parts = calloc(total ? total : 1, sizeof(*parts));
        if (topics == NULL || parts == NULL)
            goto oom;
        kf_offsetfetch_resp_part *pp = parts;
        size_t hint = 0;
        for (int32_t t = 0; t < q->n_topics; t++) {
            kf_offsetfetch_req_topic *qt = &q->topics[t];
            topics[t].name = qt->name;
            topics[t].partitions = pp;
            topics[t].n_partitions = SL_MAX(qt->n_partition_indexes, 0);
            for (int32_t p = 0; p < qt->n_partition_indexes; p++, pp++) {
                int32_t idx = qt->partition_indexes[p];
                const ipc_committed *hit = NULL;
                /* Segstore answers in request order; search from there
                 * and fall back to the whole list. */
                for (size_t j = 0; j < nc && hit == NULL; j++) {
                    size_t k = (hint + j) % nc;
                    if (c[k].partition == idx && same(c[k].topic, qt->name)) {
                        hit = &c[k];
                        hint = k + 1;
                    }
                }
                fill_part(pp, idx, hit, r);
            }
        }
        ntopics = q->n_topics;
    }
    kf_offsetfetch_resp resp = {0};
    resp.error_code = KF_ERR_NONE;
    resp.topics = topics;
    resp.n_topics = ntopics;
    kf__resp_send(r, &resp);
    free(topics);
    free(parts);
    free(c);
    return;
oom:
    free(topics);
    free(parts);
    free(c);
    oom(r);
}

void
kf__offsetfetch(kf_req *r)
{
    kf_offsetfetch_req *q = r->msg;
    /* v1: a null topic list is not defined; treat it as none. */
    int all = q->n_topics < 0 && r->hdr.api_version >= 2;
    if (q->n_topics < 0 && !all)
        q->n_topics = 0;
    size_t total = 0;
    for (int32_t t = 0; t < q->n_topics; t++)
        total += (size_t)SL_MAX(q->topics[t].n_partition_indexes, 0);
    ipc_topic_partition *tp = calloc(total ? total : 1, sizeof(*tp));
    if (tp == NULL) {
        oom(r);
        return;
    }
    size_t n = 0;
    for (int32_t t = 0; t < q->n_topics; t++)
        for (int32_t p = 0; p < q->topics[t].n_partition_indexes; p++) {
            tp[n].topic = q->topics[t].name;
            tp[n].partition = q->topics[t].partition_indexes[p];
            n++;
        }
    sl_buf b = {0};
    int rc = q->group_id.n == 0
                 ? SL_E_INVAL
                 : ipc_offset_fetch_req_encode(&b, q->group_id, all, tp, n);
    if (rc == 0)
        rc = kf__ipc(r, &b, on_offset_fetch);
    sl_buf_fini(&b);
    free(tp);
    if (rc != 0)
        of_respond_err(r, q->group_id.n == 0
                              ? KF_ERR_INVALID_GROUP_ID
                              : KF_ERR_COORDINATOR_NOT_AVAILABLE);
}

/* ---- ListGroups, DescribeGroups, DeleteGroups ------------------------------
 */

static void
on_list_groups(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    kf_req *r = arg;
    if (!kf__ipc_back(r))
        return;
    kf_listgroups_resp resp = {0};
    int16_t err = transport_err(r, rc, h);
    ipc_group_list_rep m;
    if (err == KF_ERR_NONE && ipc_group_list_rep_decode(body, &m) != 0)
        err = KF_ERR_COORDINATOR_NOT_AVAILABLE;
    kf_listgroups_group *g = NULL;
    if (err == KF_ERR_NONE) {
        g = calloc(m.count ? m.count : 1, sizeof(*g));
        if (g == NULL) {
            oom(r);
            return;
        }
        ipc_group_listing x;
        while (ipc_group_list_rep_next(&m, &x) == 1) {
            g[resp.n_groups].group_id = x.group;
            g[resp.n_groups].protocol_type = x.protocol_type;
            resp.n_groups++;
        }
    }
    resp.error_code = err;
    resp.groups = g;
    kf__resp_send(r, &resp);
    free(g);
}

void
kf__listgroups(kf_req *r)
{
    sl_buf b = {0};
    int rc = ipc_group_list_req_encode(&b);
    if (rc == 0)
        rc = kf__ipc(r, &b, on_list_groups);
    sl_buf_fini(&b);
    if (rc != 0) {
        kf_listgroups_resp resp = {0};
        resp.error_code = KF_ERR_COORDINATOR_NOT_AVAILABLE;
        kf__resp_send(r, &resp);
    }
}

static void
dg_respond_err(kf_req *r, int16_t err)
{
    kf_describegroups_req *q = r->msg;
    kf_describegroups_group *g =
        calloc(q->n_groups > 0 ? (size_t)q->n_groups : 1, sizeof(*g));
    if (g == NULL) {
        oom(r);
        return;
    }
    for (int32_t i = 0; i < q->n_groups; i++) {
        g[i].error_code = err;
        g[i].group_id = q->groups[i];
        g[i].group_state = sl_slice_str("");
        g[i].protocol_type = sl_slice_str("");
        g[i].protocol_data = sl_slice_str("");
        g[i].authorized_operations = AUTH_OPS_OMITTED;
    }
    kf_describegroups_resp resp = {0};
    resp.groups = g;
    resp.n_groups = q->n_groups;
    kf__resp_send(r, &resp);
    free(g);
}

static void
on_describe_groups(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    kf_req *r = arg;
    if (!kf__ipc_back(r))
        return;
    kf_describegroups_req *q = r->msg;
    int16_t err = transport_err(r, rc, h);
    ipc_group_describe_rep m;
    if (err == KF_ERR_NONE && (ipc_group_describe_rep_decode(body, &m) != 0 ||
                               m.count != (uint32_t)q->n_groups))
        err = KF_ERR_COORDINATOR_NOT_AVAILABLE;
    if (err != KF_ERR_NONE) {
        dg_respond_err(r, err);
        return;
    }
    /* Two passes over the reply: count members, then fill. */
    size_t nmem = 0;
    ipc_group_describe_rep it = m;
    ipc_group_info gi;
    while (ipc_group_describe_rep_next(&it, &gi) == 1)
        nmem += gi.nmembers;
    kf_describegroups_group *g = calloc(m.count ? m.count : 1, sizeof(*g));
    kf_describegroups_member *mem = calloc(nmem ? nmem : 1, sizeof(*mem));
    if (g == NULL || mem == NULL) {
        free(g);
        free(mem);
        oom(r);
        return;
    }
    kf_describegroups_member *pm = mem;
    int32_t n = 0;
    while (ipc_group_describe_rep_next(&m, &gi) == 1) {
        kf_describegroups_group *x = &g[n++];
        x->error_code = group_err(r, gi.error);
        x->group_id = gi.group;
        x->group_state = sl_slice_str(ipc_group_state_name(gi.state));
        x->protocol_type = gi.protocol_type;
        x->protocol_data = gi.protocol_name;
        x->authorized_operations = AUTH_OPS_OMITTED;
        x->members = pm;
        ipc_group_member_info mi;
        while (ipc_group_info_next_member(&gi, &mi) == 1) {
            pm->member_id = mi.member_id;
            pm->group_instance_id = opt_nsl(mi.instance_id);
            pm->client_id = mi.client_id;
            pm->client_host = mi.client_host;
            pm->member_metadata = mi.metadata;
            pm->member_assignment = mi.assignment;
            pm++;
            x->n_members++;
        }
    }
    kf_describegroups_resp resp = {0};
    resp.groups = g;
    resp.n_groups = n;
    kf__resp_send(r, &resp);
    free(g);
    free(mem);
}

void
kf__describegroups(kf_req *r)
{
    kf_describegroups_req *q = r->msg;
    if (q->n_groups <= 0) {
        dg_respond_err(r, KF_ERR_NONE);
        return;
    }
    sl_buf b = {0};
    int rc = ipc_names_req_encode(&b, IPC_OP_GROUP_DESCRIBE, q->groups,
                                  (size_t)q->n_groups);
    if (rc == 0)
        rc = kf__ipc(r, &b, on_describe_groups);
    sl_buf_fini(&b);
    if (rc != 0)
        dg_respond_err(r, KF_ERR_COORDINATOR_NOT_AVAILABLE);
}

static void
del_respond(kf_req *r, const int16_t *errs, int16_t all)
{
    kf_deletegroups_req *q = r->msg;
    kf_deletegroups_result *res = calloc(
        q->n_groups_names > 0 ? (size_t)q->n_groups_names : 1, sizeof(*res));
    if (res == NULL) {
        oom(r);
        return;
    }
    for (int32_t i = 0; i < q->n_groups_names; i++) {
        res[i].group_id = q->groups_names[i];
        res[i].error_code = errs ? errs[i] : all;
    }
    kf_deletegroups_resp resp = {0};
    resp.results = res;
    resp.n_results = q->n_groups_names;
    kf__resp_send(r, &resp);
    free(res);
}

static void
on_delete_groups(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    kf_req *r = arg;
    if (!kf__ipc_back(r))
        return;
    kf_deletegroups_req *q = r->msg;
    int16_t err = transport_err(r, rc, h);
    ipc_errors_rep m;
    if (err == KF_ERR_NONE && (ipc_group_delete_rep_decode(body, &m) != 0 ||
                               m.count != (uint32_t)q->n_groups_names))
        err = KF_ERR_COORDINATOR_NOT_AVAILABLE;
    if (err != KF_ERR_NONE) {
        del_respond(r, NULL, err);
        return;
    }
    int16_t *errs = calloc((size_t)q->n_groups_names, sizeof(*errs));
    if (errs == NULL) {
        oom(r);
        return;
    }
    for (int32_t i = 0; i < q->n_groups_names; i++) {
        int32_t e = 0;
        ipc_errors_rep_next(&m, &e);
        errs[i] = group_err(r, e);
    }
    del_respond(r, errs, KF_ERR_NONE);
    free(errs);
}

void
kf__deletegroups(kf_req *r)
{
    kf_deletegroups_req *q = r->msg;
    if (q->n_groups_names <= 0) {
        del_respond(r, NULL, KF_ERR_NONE);
        return;
    }
    sl_buf b = {0};
    int rc = ipc_names_req_encode(&b, IPC_OP_GROUP_DELETE, q->groups_names,
                                  (size_t)q->n_groups_names);
    if (rc == 0)
        rc = kf__ipc(r, &b, on_delete_groups);
    sl_buf_fini(&b);
    if (rc != 0)
        del_respond(r, NULL, KF_ERR_COORDINATOR_NOT_AVAILABLE);
}

/* ---- InitProducerId --------------------------------------------------------
 */

static void
pid_respond(kf_req *r, int16_t err, int64_t id, int16_t epoch)
{
    kf_initproducerid_resp resp = {0};
    resp.error_code = err;
    resp.producer_id = err ? -1 : id;
    resp.producer_epoch = err ? -1 : epoch;
    kf__resp_send(r, &resp);
}

static void
on_producer_id(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    kf_req *r = arg;
    if (!kf__ipc_back(r))
        return;
    int64_t id = -1;
    int32_t epoch = -1;
    int16_t err = KF_ERR_NONE;
    if (rc != 0 || h->status != 0) {
        r->srv->st.ipc_errors++;
        err = kf__err_from_sl(rc != 0 ? rc : h->status, r->hdr.api_key,
                              KF_ERR_COORDINATOR_NOT_AVAILABLE);
    } else if (ipc_producer_id_rep_decode(body, &id, &epoch) != 0 || id < 0 ||
               epoch < 0 || epoch > INT16_MAX) {
        err = KF_ERR_COORDINATOR_NOT_AVAILABLE;
    }
    pid_respond(r, err, id, (int16_t)epoch);
}

void
kf__initproducerid(kf_req *r)
{
    kf_initproducerid_req *q = r->msg;
    if (!q->transactional_id.null) {
        /* Never a silent success: the producer would believe its
         * transactions are atomic.  Clients normally stop at
         * FindCoordinator already; this is the same fatal answer for one
         * that asks here directly. */
        txn_refused(r, "InitProducerId", q->transactional_id);
        pid_respond(r, KF_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED, -1, -1);
        return;
    }
    sl_buf b = {0};
    int rc = ipc_producer_id_req_encode(&b);
    if (rc == 0)
        rc = kf__ipc(r, &b, on_producer_id);
    sl_buf_fini(&b);
    if (rc != 0)
        pid_respond(r, KF_ERR_COORDINATOR_NOT_AVAILABLE, -1, -1);
}
