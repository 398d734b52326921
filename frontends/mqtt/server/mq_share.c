/*
 * mq_share.c — shared subscriptions across sluice-mqtt instances.
 *
 * A share group `$share/<group>/<filter>` is run like a Kafka consumer
 * group over the log partitions, on segstore's group coordinator (the one
 * sluice-kafka relays to; docs/ipc.md 4.12, 4.13):
 *
 *   - every instance that has an online member of the share group joins
 *     coordinator group "mqtt-share:<group>:<filter>" (protocol type
 *     "mqtt-share", protocol "rr") as ONE member, whatever the number of
 *     its own members;
 *   - the leader assigns the log partitions round robin over the members
 *     (sorted by member id), so every partition has exactly one owner;
 *   - an owner delivers the group's messages of its partitions only, each
 *     to one of its own members (round robin, mq_srv_deliver.c), and
 *     commits per partition the offset below which every message of the
 *     group has been acknowledged (OFFSET_COMMIT, fenced by generation);
 *   - a new owner resumes from the committed offset (OFFSET_FETCH), so a
 *     message in flight at an instance killed with kill -9 is delivered
 *     again to a member elsewhere (at least once, with DUP); an instance
 *     without a commit starts where the tail was when it first saw the
 *     group.
 *
 * Messages of one MQTT topic are in one partition, so their order holds
 * within the group.
 *
 * Member state machine (one per share group, driven by the 100 ms tick and
 * the replies):
 *
 *   OUT --(an online member, not stopping)--> JOINING: JOIN (held by
 *   segstore until the rebalance completes), the leader computes the
 *   assignment, SYNC, OFFSET_FETCH of the assigned partitions --> STABLE:
 *   deliver, HEARTBEAT every SH_HEARTBEAT_MS, commit what changed every
 *   SH_COMMIT_MS.  A heartbeat answered REBALANCE or GENERATION (another
 *   instance joined, left or died), or no online member left --> REVOKING:
 *   no new deliveries; wait until the members acknowledged what is in
 *   flight (at most SH_REVOKE_MS), commit, drop the partitions --> OUT,
 *   then JOIN again (or LEAVE when no online member is left).  An
 *   UNKNOWN_MEMBER or FENCED answer means the group went on without us:
 *   the partitions are dropped at once, nothing is committed.
 *
 * A dead instance's member expires after SH_SESSION_MS in segstore, which
 * starts the rebalance that hands its partitions to the survivors.
 */
#include "mq_server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SH_SESSION_MS   3000
#define SH_REBALANCE_MS 3000
#define SH_HEARTBEAT_MS 500
#define SH_REVOKE_MS    1000
#define SH_COMMIT_MS    100
#define SH_RETRY_MS     1000
#define SH_PROTO_TYPE   "mqtt-share"
#define SH_PROTO        "rr"

/* ---- objects ----------------------------------------------------------------
 */

mq_shgroup *
mq__share_get(mq_server *s, sl_slice name)
{
    for (mq_shgroup *sh = s->shares; sh != NULL; sh = sh->next)
        if (sh->name_n == name.n && memcmp(sh->name, name.p, name.n) == 0)
            return sh;
    mq_shgroup *sh = calloc(1, sizeof(*sh));
    if (sh == NULL)
        return NULL;
    size_t np = (size_t)s->nparts;
    sh->name = malloc(name.n + 1);
    sh->owned = calloc(np, 1);
    sh->cur = calloc(np, sizeof(*sh->cur));
    sh->start = calloc(np, sizeof(*sh->start));
    sh->committed = calloc(np, sizeof(*sh->committed));
    sh->fresh = calloc(np, 1);
    mq_share parsed;
    if (sh->name == NULL || sh->owned == NULL || sh->cur == NULL ||
        sh->start == NULL || sh->committed == NULL || sh->fresh == NULL)
        goto fail;
    memcpy(sh->name, name.p, name.n);
    sh->name[name.n] = 0;
    sh->name_n = name.n;
    if (mq_topic_share_parse(sl_slice_make(sh->name, sh->name_n), &parsed) != 1)
        goto fail;
    sh->group = parsed.group;
    sh->filter = parsed.filter;
    sh->cgroup_n = strlen("mqtt-share:") + sh->group.n + 1 + sh->filter.n;
    sh->cgroup = malloc(sh->cgroup_n + 1);
    if (sh->cgroup == NULL || sh->cgroup_n > IPC_STR_MAX)
        goto fail;
    char *c = sh->cgroup;
    memcpy(c, "mqtt-share:", 11);
    memcpy(c + 11, sh->group.p, sh->group.n);
    c[11 + sh->group.n] = ':';
    memcpy(c + 12 + sh->group.n, sh->filter.p, sh->filter.n);
    c[sh->cgroup_n] = 0;
    for (size_t p = 0; p < np; p++) {
        sh->start[p] = s->tail_next[p];
        sh->committed[p] = -1;
    }
    sh->born_ms = sl_now_ms();
    sh->s = s;
    sh->refs = 1;
    sh->next = s->shares;
    s->shares = sh;
    return sh;
fail:
    free(sh->cgroup);
    free(sh->name);
    free(sh->owned);
    free(sh->cur);
    free(sh->start);
    free(sh->committed);
    free(sh->fresh);
    free(sh);
    return NULL;
}

void
mq__share_hold(mq_shgroup *sh)
{
    sh->refs++;
}

void
mq__share_rele(mq_shgroup *sh)
{
    if (--sh->refs > 0)
        return;
    mq__share_pend_clear(sh);
    free(sh->pend);
    free(sh->member);
    free(sh->cgroup);
    free(sh->name);
    free(sh->owned);
    free(sh->cur);
    free(sh->start);
    free(sh->committed);
    free(sh->fresh);
    free(sh);
}

static void
set_member(mq_shgroup *sh, sl_slice id)
{
    free(sh->member);
    sh->member = NULL;
    sh->member_n = 0;
    if (id.n == 0)
        return;
    sh->member = malloc(id.n);
    if (sh->member == NULL)
        return;
    memcpy(sh->member, id.p, id.n);
    sh->member_n = id.n;
}

static sl_slice
member_of(const mq_shgroup *sh)
{
    return sl_slice_make(sh->member, sh->member_n);
}

static sl_slice
cgroup_of(const mq_shgroup *sh)
{
    return sl_slice_make(sh->cgroup, sh->cgroup_n);
}

/* Give up the partitions: nothing is delivered from them any more. */
static void
drop_owned(mq_shgroup *sh)
{
    mq_server *s = sh->s;
    memset(sh->owned, 0, (size_t)s->nparts);
    for (int32_t p = 0; p < s->nparts; p++) {
        sh->cur[p].live = 0;
        sh->cur[p].redo_end = 0;
    }
    mq__share_pend_clear(sh);
}

static void
go_out(mq_shgroup *sh, bool forget, uint64_t retry_in)
{
    drop_owned(sh);
    if (forget)
        set_member(sh, sl_slice_make(NULL, 0));
    sh->state = MQ_SH_OUT;
    sh->leave = 0;
    sh->retry_at = mq__now_ms() + retry_in;
}

/* A group reply's error: the header status when the request as a whole
 * failed, else the body's. */
static int
reply_error(int rc, const ipc_hdr *h)
{
    if (rc != 0)
        return rc;
    return h->status;
}

/* After an error from a group request: where to go. */
static void
on_group_error(mq_shgroup *sh, int err, const char *what)
{
    switch (err) {
    case SL_E_REBALANCE:
    case SL_E_GENERATION:
        go_out(sh, false, 0);
        break;
    case SL_E_UNKNOWN_MEMBER:
    case SL_E_FENCED:
        go_out(sh, true, 0);
        break;
    default:
        sl_log(SL_LOG_WARN, "MQ-SHARE", "group=%s %s failed: %s", sh->cgroup,
               what, sl_strerror(err));
        go_out(sh, false, SH_RETRY_MS);
        break;
    }
}

static int
send_req(mq_shgroup *sh, sl_buf *b, int rc, ipc_client_cb cb, void *arg)
{
    if (rc == 0)
        rc = ipc_client_request(sh->s->ipc, sl_slice_make(b->p, b->n), cb, arg);
    sl_buf_fini(b);
    if (rc == 0)
        mq__share_hold(sh);
    return rc;
}

/* ---- OFFSET_FETCH: where the group stands on the assigned partitions ------
 */

static void
on_fetch(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    mq_shgroup *sh = arg;
    mq_server *s = sh->s;
    sh->busy = 0;
    ipc_offset_fetch_rep m;
    int err = reply_error(rc, h);
    if (err == 0 && ipc_offset_fetch_rep_decode(body, &m) != 0)
        err = SL_E_MALFORMED;
    if (err == 0)
        err = m.error;
    if (sh->state != MQ_SH_JOINING) {
        mq__share_rele(sh);
        return;
    }
    if (err != 0) {
        on_group_error(sh, err, "OFFSET_FETCH");
        mq__share_rele(sh);
        return;
    }
    ipc_committed c;
    while (ipc_offset_fetch_rep_next(&m, &c) == 1) {
        int32_t p = mq__gp(s, c.topic, c.partition);
        if (p < 0 || !sh->owned[p])
            continue;
        mq_cursor *cur = &sh->cur[p];
        memset(cur, 0, sizeof(*cur));
        if (c.error == 0 && c.offset >= 0) {
            /* Resume below the previous owner's acknowledgements; what it
             * may have sent past them goes again with DUP. */
            cur->next = c.offset;
            cur->redo_end = s->tail_next[p];
            sh->committed[p] = c.offset;
            sh->fresh[p] = 0;
        } else {
            cur->next = sh->start[p];
            sh->committed[p] = -1;
            sh->fresh[p] = 1;
        }
    }
    uint64_t now = mq__now_ms();
    sh->state = MQ_SH_STABLE;
    sh->hb_at = now + SH_HEARTBEAT_MS;
    sh->commit_at = now;
    int n = 0;
    for (int32_t p = 0; p < s->nparts; p++)
        n += sh->owned[p];
    sl_log(SL_LOG_INFO, "MQ-SHARE", "group=%s generation=%d partitions=%d",
           sh->cgroup, sh->gen, n);
    mq__share_kick(s, sh);
    mq__share_rele(sh);
}

static void
fetch_send(mq_shgroup *sh)
{
    mq_server *s = sh->s;
    ipc_topic_partition *tp = calloc((size_t)s->nparts, sizeof(*tp));
    if (tp == NULL) {
        go_out(sh, false, SH_RETRY_MS);
        return;
    }
    size_t n = 0;
    for (int32_t p = 0; p < s->nparts; p++)
        if (sh->owned[p])
            tp[n++] =
                (ipc_topic_partition){mq__gp_topic(s, p), mq__gp_part(s, p)};
    sl_buf b = {0};
    int rc = ipc_offset_fetch_req_encode(&b, cgroup_of(sh), 0, tp, n);
    free(tp);
    sh->busy = 1;
    if (send_req(sh, &b, rc, on_fetch, sh) != 0) {
        sh->busy = 0;
        go_out(sh, false, SH_RETRY_MS);
    }
}

/* ---- JOIN and SYNC
 * ------------------------------------------------------------
 */

static void
on_sync(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    mq_shgroup *sh = arg;
    mq_server *s = sh->s;
    sh->busy = 0;
    ipc_sync_rep m;
    int err = reply_error(rc, h);
    if (err == 0 && ipc_sync_rep_decode(body, &m) != 0)
        err = SL_E_MALFORMED;
    if (err == 0)
        err = m.error;
    if (sh->state != MQ_SH_JOINING) {
        mq__share_rele(sh);
        return;
    }
    if (err != 0) {
        on_group_error(sh, err, "SYNC");
        mq__share_rele(sh);
        return;
    }
    /* assignment: u32 count, then { u16 length + log topic, i32 partition } */
    memset(sh->owned, 0, (size_t)s->nparts);
    sl_rd r;
    sl_rd_init(&r, m.assignment);
    uint32_t n;
    if (sl_rd_u32be(&r, &n) == 0)
        for (uint32_t i = 0; i < n; i++) {
            uint16_t tl;
            sl_slice t;
            uint32_t part;
            if (sl_rd_u16be(&r, &tl) || sl_rd_bytes(&r, tl, &t) ||
                sl_rd_u32be(&r, &part))
                break;
            int32_t p = mq__gp(s, t, (int32_t)part);
            if (p >= 0)
                sh->owned[p] = 1;
        }
    fetch_send(sh);
    mq__share_rele(sh);
}

static bool
slice_eq(sl_slice a, sl_slice b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static int
cmp_slice(const void *a, const void *b)
{
    const sl_slice *x = a, *y = b;
    size_t n = SL_MIN(x->n, y->n);
    int c = n ? memcmp(x->p, y->p, n) : 0;
    if (c != 0)
        return c;
    return x->n < y->n ? -1 : x->n > y->n;
}

/* The leader's assignment: partitions round robin over the members sorted
 * by id (global partition numbering: every instance has the same log
 * topics and rules). */
static int
assign(mq_shgroup *sh, ipc_join_rep *m, sl_buf *b, ipc_sync_assignment **out,
       size_t *nout)
{
    mq_server *s = sh->s;
    size_t n = m->nmembers;
    if (n == 0)
        return 0;
    sl_slice *ids = calloc(n, sizeof(*ids));
    ipc_sync_assignment *a = calloc(n, sizeof(*a));
    size_t *at = calloc(n + 1, sizeof(*at));
    if (ids == NULL || a == NULL || at == NULL) {
        free(ids);
        free(a);
        free(at);
        return -ENOMEM;
    }
    ipc_join_member jm;
    size_t k = 0;
    while (k < n && ipc_join_rep_next(m, &jm) == 1)
        ids[k++] = jm.member_id;
    n = k;
    qsort(ids, n, sizeof(*ids), cmp_slice);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        at[i] = b->n;
        uint32_t cnt = 0;
        for (int32_t p = (int32_t)i; p < s->nparts; p += (int32_t)n)
            cnt++;
        rc |= sl_buf_put_u32be(b, cnt);
        for (int32_t p = (int32_t)i; p < s->nparts; p += (int32_t)n) {
            sl_slice t = mq__gp_topic(s, p);
            rc |= sl_buf_put_u16be(b, (uint16_t)t.n);
            rc |= sl_buf_append(b, t.p, t.n);
            rc |= sl_buf_put_u32be(b, (uint32_t)mq__gp_part(s, p));
        }
    }
    at[n] = b->n;
    /* b is complete: slices into it are stable now. */
    for (size_t i = 0; i < n; i++)
        a[i] = (ipc_sync_assignment){
            ids[i], sl_slice_make(b->p + at[i], at[i + 1] - at[i])};
    free(ids);
    free(at);
    if (rc != 0) {
        free(a);
        return -ENOMEM;
    }
    *out = a;
    *nout = n;
    return 0;
}

static void
on_join(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    mq_shgroup *sh = arg;
    sh->busy = 0;
    ipc_join_rep m;
    int err = reply_error(rc, h);
    if (err == 0 && ipc_join_rep_decode(body, &m) != 0)
        err = SL_E_MALFORMED;
    if (err == 0)
        err = m.error;
    if (sh->state != MQ_SH_JOINING) {
        mq__share_rele(sh);
        return;
    }
    if (err != 0) {
        on_group_error(sh, err, "JOIN");
        mq__share_rele(sh);
        return;
    }
    set_member(sh, m.member_id);
    sh->gen = m.generation;
    sl_buf ab = {0};
    ipc_sync_assignment *as = NULL;
    size_t nas = 0;
    if (slice_eq(m.leader, m.member_id) &&
        assign(sh, &m, &ab, &as, &nas) != 0) {
        sl_buf_fini(&ab);
        go_out(sh, false, SH_RETRY_MS);
        mq__share_rele(sh);
        return;
    }
    ipc_sync_req q;
    memset(&q, 0, sizeof(q));
    q.group = cgroup_of(sh);
    q.generation = sh->gen;
    q.member_id = member_of(sh);
    q.protocol_type = sl_slice_str(SH_PROTO_TYPE);
    q.protocol_name = sl_slice_str(SH_PROTO);
    sl_buf b = {0};
    rc = ipc_sync_req_encode(&b, &q, as, nas);
    free(as);
    sl_buf_fini(&ab);
    sh->busy = 1;
    if (send_req(sh, &b, rc, on_sync, sh) != 0) {
        sh->busy = 0;
        go_out(sh, false, SH_RETRY_MS);
    }
    mq__share_rele(sh);
}

static void
join_send(mq_shgroup *sh)
{
    mq_server *s = sh->s;
    ipc_join_req j;
    memset(&j, 0, sizeof(j));
    j.group = cgroup_of(sh);
    j.member_id = member_of(sh);
    j.protocol_type = sl_slice_str(SH_PROTO_TYPE);
    j.session_timeout_ms = SH_SESSION_MS;
    j.rebalance_timeout_ms = SH_REBALANCE_MS;
    j.client_id = sl_slice_str("sluice-mqtt");
    j.client_host = sl_slice_str(s->instance);
    ipc_group_protocol pr = {sl_slice_str(SH_PROTO), sl_slice_str(s->instance)};
    sl_buf b = {0};
    int rc = ipc_join_req_encode(&b, &j, &pr, 1);
    sh->state = MQ_SH_JOINING;
    sh->busy = 1;
    if (send_req(sh, &b, rc, on_join, sh) != 0) {
        sh->busy = 0;
        go_out(sh, false, SH_RETRY_MS);
    }
}

/* ---- HEARTBEAT, LEAVE
 * ---------------------------------------------------------
 */

void
mq__share_freeze(mq_shgroup *sh)
{
    mq_server *s = sh->s;
    /* A cursor that followed the tail stays where the tail is now, so
     * that no commit passes messages that arrive from now on: they are
     * read from the log by whoever delivers them. */
    for (int32_t p = 0; p < s->nparts; p++) {
        mq_cursor *c = &sh->cur[p];
        if (c->live) {
            c->next = SL_MAX(c->next, s->tail_next[p]);
            c->live = 0;
        }
    }
}

static void
start_revoke(mq_shgroup *sh, bool leave, uint64_t wait)
{
    /* Nothing is delivered from here on. */
    mq__share_freeze(sh);
    sh->state = MQ_SH_REVOKING;
    sh->leave = leave;
    sh->revoke_until = mq__now_ms() + wait;
}

static void
on_heartbeat(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    mq_shgroup *sh = arg;
    sh->busy = 0;
    int32_t e = 0;
    int err = reply_error(rc, h);
    if (err == 0 && ipc_group_error_rep_decode(body, &e) != 0)
        err = SL_E_MALFORMED;
    if (err == 0)
        err = e;
    if (sh->state == MQ_SH_STABLE && err != 0) {
        switch (err) {
        case SL_E_REBALANCE:
        case SL_E_GENERATION:
            /* Another instance joined, left or died. */
            start_revoke(sh, false, SH_REVOKE_MS);
            break;
        case SL_E_UNKNOWN_MEMBER:
        case SL_E_FENCED:
            sl_log(SL_LOG_WARN, "MQ-SHARE",
                   "group=%s: no longer a member; joining again", sh->cgroup);
            go_out(sh, true, 0);
            break;
        default:
            break; /* transport trouble: the next heartbeat tries again */
        }
    }
    mq__share_rele(sh);
}

static void
heartbeat_send(mq_shgroup *sh)
{
    ipc_heartbeat_req q = {cgroup_of(sh), sh->gen, member_of(sh), {NULL, 0}};
    sl_buf b = {0};
    int rc = ipc_heartbeat_req_encode(&b, &q);
    sh->busy = 1;
    if (send_req(sh, &b, rc, on_heartbeat, sh) != 0)
        sh->busy = 0;
}

static void
on_leave(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    mq_shgroup *sh = arg;
    (void)rc;
    (void)h;
    (void)body;
    sh->busy = 0;
    sh->leaving = 0;
    mq__share_rele(sh);
}

static void
leave_send(mq_shgroup *sh)
{
    ipc_leave_member lm = {member_of(sh), {NULL, 0}};
    sl_buf b = {0};
    int rc = ipc_leave_req_encode(&b, cgroup_of(sh), &lm, 1);
    sh->busy = 1;
    sh->leaving = 1;
    if (send_req(sh, &b, rc, on_leave, sh) != 0)
        sh->busy = sh->leaving = 0;
    set_member(sh, sl_slice_make(NULL, 0));
}

/* ---- commits
 * --------------------------------------------------------------------
 */

typedef struct commit_req {
    mq_shgroup *sh;
    int32_t *parts;
    int64_t *pos;
    size_t n;
    bool final; /* the commit that ends a revocation */
} commit_req;

static void
revoke_done(mq_shgroup *sh)
{
    bool leave = sh->leave;
    drop_owned(sh);
    if (leave && sh->member_n > 0) {
        leave_send(sh);
        go_out(sh, true, 0);
    } else {
        go_out(sh, false, 0);
    }
}

static void
on_commit(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    commit_req *q = arg;
    mq_shgroup *sh = q->sh;
    sh->cbusy = 0;
    ipc_errors_rep m;
    int err = reply_error(rc, h);
    if (err == 0 && ipc_commit_rep_decode(body, &m) != 0)
        err = SL_E_MALFORMED;
    if (err == 0) {
        int32_t e;
        for (size_t i = 0; i < q->n && ipc_errors_rep_next(&m, &e) == 1; i++)
            if (e == 0)
                sh->committed[q->parts[i]] = q->pos[i];
    }
    if (q->final && sh->state == MQ_SH_REVOKING)
        revoke_done(sh);
    free(q->parts);
    free(q->pos);
    free(q);
    mq__share_rele(sh);
}

/* Commit the positions that changed; final: the revocation's last one
 * (revoke_done follows its reply, or at once when nothing is to commit). */
static void
commit_send(mq_shgroup *sh, bool final)
{
    mq_server *s = sh->s;
    size_t np = (size_t)s->nparts;
    int64_t *pos = calloc(np, sizeof(*pos));
    commit_req *q = calloc(1, sizeof(*q));
    ipc_commit_entry *e = calloc(np, sizeof(*e));
    if (q != NULL) {
        q->parts = calloc(np, sizeof(*q->parts));
        q->pos = calloc(np, sizeof(*q->pos));
    }
    if (pos == NULL || q == NULL || e == NULL || q->parts == NULL ||
        q->pos == NULL)
        goto out;
    for (int32_t p = 0; p < s->nparts; p++) {
        const mq_cursor *c = &sh->cur[p];
        pos[p] = c->live ? SL_MAX(c->next, s->tail_next[p]) : c->next;
    }
    mq__share_inflight(s, sh, pos);
    for (int32_t p = 0; p < s->nparts; p++) {
        if (!sh->owned[p] || pos[p] == sh->committed[p])
            continue;
        e[q->n] = (ipc_commit_entry){
            mq__gp_topic(s, p), mq__gp_part(s, p), pos[p], -1, {NULL, 0}};
        q->parts[q->n] = p;
        q->pos[q->n] = pos[p];
        q->n++;
    }
    if (q->n == 0)
        goto out;
    ipc_commit_req c;
    memset(&c, 0, sizeof(c));
    c.group = cgroup_of(sh);
    c.generation = sh->gen;
    c.member_id = member_of(sh);
    sl_buf b = {0};
    int rc = ipc_commit_req_encode(&b, &c, e, q->n);
    q->sh = sh;
    q->final = final;
    sh->cbusy = 1;
    if (send_req(sh, &b, rc, on_commit, q) != 0) {
        sh->cbusy = 0;
        goto out;
    }
    free(pos);
    free(e);
    return;
out:
    free(pos);
    free(e);
    if (q != NULL) {
        free(q->parts);
        free(q->pos);
        free(q);
    }
    if (final)
        revoke_done(sh);
}

/* ---- the tick
 * ---------------------------------------------------------------------
 */

/* Has this process an online member of the share group? */
static bool
want(mq_server *s, const mq_shgroup *sh, bool *exists)
{
    mq_sgroup *g = mq__trie_group(s->subs_root, sh->filter, sh->group);
    *exists = g != NULL;
    for (uint32_t k = 0; g != NULL && k < g->n; k++) {
        const mq_session *ss = g->members[k]->sess;
        if (!ss->gone && ss->conn != NULL && !ss->conn->dead &&
            ss->conn->state == MQ_CS_CONNECTED)
            return true;
    }
    return false;
}

void
mq__shares_tick(mq_server *s, uint64_t now)
{
    mq_shgroup **pp = &s->shares;
    while (*pp != NULL) {
        mq_shgroup *sh = *pp;
        bool exists;
        bool w = want(s, sh, &exists) && !s->stopping;
        switch (sh->state) {
        case MQ_SH_OUT:
            if (w && !sh->busy && !sh->cbusy && now >= sh->retry_at)
                join_send(sh);
            break;
        case MQ_SH_STABLE:
            if (!w) {
                start_revoke(sh, true, s->stopping ? 0 : SH_REVOKE_MS);
                break;
            }
            if (!sh->busy && now >= sh->hb_at) {
                sh->hb_at = now + SH_HEARTBEAT_MS;
                heartbeat_send(sh);
            }
            if (!sh->cbusy && now >= sh->commit_at) {
                sh->commit_at = now + SH_COMMIT_MS;
                commit_send(sh, false);
            }
            mq__share_kick(s, sh);
            break;
        default:
            break;
        }
        if (sh->state == MQ_SH_REVOKING && !sh->cbusy && !sh->busy) {
            int64_t *pos = calloc((size_t)s->nparts, sizeof(*pos));
            size_t inflight = pos ? mq__share_inflight(s, sh, pos) : 0;
            free(pos);
            if (inflight == 0 || now >= sh->revoke_until || s->stopping)
                commit_send(sh, true);
        }
        if (sh->state == MQ_SH_OUT && !exists && !sh->busy && !sh->cbusy) {
            /* No member here any more and not in the group: forget it. */
            *pp = sh->next;
            mq__share_rele(sh);
            continue;
        }
        pp = &sh->next;
    }
}

void
mq__shares_stop(mq_server *s)
{
    for (mq_shgroup *sh = s->shares; sh != NULL; sh = sh->next)
        if (sh->state == MQ_SH_STABLE)
            start_revoke(sh, true, 0);
    mq__shares_tick(s, mq__now_ms());
}

bool
mq__shares_busy(const mq_server *s)
{
    for (const mq_shgroup *sh = s->shares; sh != NULL; sh = sh->next)
        if (sh->leaving || sh->cbusy || sh->state == MQ_SH_REVOKING)
            return true;
    return false;
}
