/*
 * mq_kv.c — what outlives a sluice-mqtt process, in segstore's KV map.
 *
 * Keys (all under "mqtt/"):
 *
 *   mqtt/r/<topic>   a retained message: the one-record RecordBatch v2
 *                    that the log holds for it (mq__msg_blob)
 *   mqtt/s/<cid>     a session (layout below), for sessions with an expiry
 *                    interval above 0
 *   mqtt/q2/<cid>    inbound QoS 2 packet ids stored and not yet released:
 *                    u16 count, then the ids (u16 each)
 *   mqtt/o/<cid>     the instance that serves the client: 16 hex digits,
 *                    random per process
 *
 * Session value, version 2 (all integers big-endian):
 *
 *   u8 2, u8 protocol level, u32 expiry interval, i64 disconnect time
 *   (wall ms, 0 while connected), u32 log topics, per log topic { u16
 *   length + name, u32 partitions, per partition i64 the next offset to
 *   look at }, u32 subscriptions, per subscription { u16 length + filter,
 *   u8 qos, u8 flags (1 no local, 2 retain as published), u8 retain
 *   handling, u32 subscription id, i64 since (wall ms) }, u32 outbound
 *   messages in flight, per message { u16 packet id, u8 qos, u8 state (1
 *   PUBACK, 2 PUBREC, 3 PUBCOMP awaited), u16 log topic index in this
 *   value (0xFFFF: none), u32 partition, i64 offset }.
 *
 * Positions are kept per log topic by name, so a session survives a
 * change of the mapping rules: topics no longer mapped are forgotten, new
 * ones are read from their tail.
 *
 * Writes are coalesced: every change made during one loop iteration goes
 * out in one KV_WRITE, one at a time, so that two updates of one key are
 * applied in the order they were made.  A change that must be durable
 * before the client hears of it (an inbound QoS 2 id before PUBREC, its
 * removal before PUBCOMP) carries a callback that runs on the reply.
 *
 * Retained messages are mirrored in the retained trie: read with KV_SCAN
 * at start, kept current with IPC_EVT_KV events; a gap in the events'
 * revisions (prev_revision not the last one seen) means events were lost,
 * and the mirror is read again.
 *
 * Sessions are written every mqtt.session.flush.ms when they changed and
 * when their client goes; a kill -9 therefore loses at most that much of
 * delivery progress, which comes back as redelivery (DUP), never as loss.
 */
#include "mq_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PFX_R  "mqtt/r/"
#define PFX_S  "mqtt/s/"
#define PFX_Q2 "mqtt/q2/"
#define PFX_O  "mqtt/o/"

/* ---- the writer -------------------------------------------------------------
 */

struct mq_kvop {
    char *key;
    size_t key_n;
    uint8_t *val;
    size_t val_n;
    int del;
    mq_kv_cb cb;
    void *arg;
};

static void
op_fini(mq_kvop *o)
{
    free(o->key);
    free(o->val);
}

static char *
key_make(const char *pfx, sl_slice rest, size_t *n)
{
    size_t pn = strlen(pfx);
    char *k = malloc(pn + rest.n + 1);
    if (k == NULL)
        return NULL;
    memcpy(k, pfx, pn);
    if (rest.n)
        memcpy(k + pn, rest.p, rest.n);
    k[pn + rest.n] = 0;
    *n = pn + rest.n;
    return k;
}

int
mq__kv_set(mq_server *s, const char *pfx, sl_slice rest, const uint8_t *val,
           size_t n, int del, mq_kv_cb cb, void *arg)
{
    if (!s->kv_ok) {
        if (cb)
            cb(arg, 0);
        return 0;
    }
    size_t kn;
    char *key = key_make(pfx, rest, &kn);
    if (key == NULL || kn > IPC_STR_MAX) {
        free(key);
        return key ? SL_E_TOOBIG : -ENOMEM;
    }
    /* A newer value of a key replaces a pending one (when nobody waits
     * for the older). */
    if (cb == NULL)
        for (size_t i = 0; i < s->nkv; i++) {
            mq_kvop *o = &s->kv[i];
            if (o->cb == NULL && o->key_n == kn &&
                memcmp(o->key, key, kn) == 0) {
                free(o->val);
                o->val = NULL;
                o->val_n = 0;
                if (!del && n > 0) {
                    o->val = malloc(n);
                    if (o->val == NULL) {
                        free(key);
                        return -ENOMEM;
                    }
                    memcpy(o->val, val, n);
                    o->val_n = n;
                }
                o->del = del;
                o->cb = cb;
                o->arg = arg;
                free(key);
                mq__arm(s);
                return 0;
            }
        }
    if (s->nkv == s->capkv) {
        size_t cap = s->capkv ? s->capkv * 2 : 32;
        mq_kvop *v = realloc(s->kv, cap * sizeof(*v));
        if (v == NULL) {
            free(key);
            return -ENOMEM;
        }
        s->kv = v;
        s->capkv = cap;
    }
    mq_kvop *o = &s->kv[s->nkv];
    memset(o, 0, sizeof(*o));
    o->key = key;
    o->key_n = kn;
    if (!del && n > 0) {
        o->val = malloc(n);
        if (o->val == NULL) {
            free(key);
            return -ENOMEM;
        }
        memcpy(o->val, val, n);
        o->val_n = n;
    }
    o->del = del;
    o->cb = cb;
    o->arg = arg;
    s->nkv++;
    mq__arm(s);
    return 0;
}

/* Queue failed op o again (ownership of its key and value moves), unless
 * a newer write of its key is queued.  1 when moved. */
static int
requeue(mq_server *s, mq_kvop *o)
{
    for (size_t i = 0; i < s->nkv; i++)
        if (s->kv[i].key_n == o->key_n &&
            memcmp(s->kv[i].key, o->key, o->key_n) == 0)
            return 0;
    if (s->nkv == s->capkv) {
        size_t cap = s->capkv ? s->capkv * 2 : 32;
        mq_kvop *v = realloc(s->kv, cap * sizeof(*v));
        if (v == NULL)
            return 0;
        s->kv = v;
        s->capkv = cap;
    }
    s->kv[s->nkv++] = *o;
    return 1;
}

typedef struct kv_req {
    mq_server *s;
    mq_kvop *ops;
    size_t n;
} kv_req;

static void
on_kv_write(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    kv_req *q = arg;
    mq_server *s = q->s;
    (void)body;
    /* segstore away or shutting down: the write is not refused, just not
     * done (or not known to be done).  Writes nobody waits for (session
     * state, owners, wills, retained) are queued again and written once
     * it answers, unless a newer value of the key is already queued:
     * session state saved while segstore restarts must not be lost. */
    int away = !s->stopping && (rc != 0 || h->status == SL_E_CLOSED ||
                                h->status == SL_E_TIMEOUT);
    if (rc == 0 && h->status != 0)
        rc = h->status;
    if (rc != 0) {
        s->st.ipc_errors++;
        if (!away || s->link.up)
            sl_log(SL_LOG_WARN, "MQ-KV", "KV write of %zu keys failed: %s%s",
                   q->n, sl_strerror(rc), away ? "; will retry" : "");
    }
    s->kv_busy = 0;
    if (away)
        s->kv_retry_ms = uv_now(s->loop) + 250;
    for (size_t i = 0; i < q->n; i++) {
        mq_kvop *o = &q->ops[i];
        if (away && o->cb == NULL && requeue(s, o))
            continue;
        if (o->cb)
            o->cb(o->arg, rc);
        op_fini(o);
    }
    free(q->ops);
    free(q);
    if (s->nkv > 0)
        mq__kv_flush(s);
}

void
mq__kv_flush(mq_server *s)
{
    if (s->kv_busy || s->nkv == 0)
        return;
    /* After a failure, wait a little (mq__kv_tick calls again): requests
     * sent while segstore is away wait for it in nng anyway, but one
     * shutting down answers at once. */
    if (s->kv_retry_ms != 0 && uv_now(s->loop) < s->kv_retry_ms)
        return;
    s->kv_retry_ms = 0;
    kv_req *q = calloc(1, sizeof(*q));
    ipc_kv_op *ops = calloc(s->nkv, sizeof(*ops));
    if (q == NULL || ops == NULL) {
        free(q);
        free(ops);
        return;
    }
    for (size_t i = 0; i < s->nkv; i++) {
        mq_kvop *o = &s->kv[i];
        ops[i].kind = o->del ? IPC_KV_DELETE : IPC_KV_PUT;
        ops[i].key = sl_slice_make(o->key, o->key_n);
        ops[i].expect = IPC_KV_ANY;
        ops[i].value = sl_slice_make(o->val, o->val_n);
    }
    q->s = s;
    q->ops = s->kv;
    q->n = s->nkv;
    s->kv = NULL;
    s->nkv = s->capkv = 0;
    sl_buf b = {0};
    int rc = ipc_kv_write_req_encode(&b, 0, ops, q->n);
    free(ops);
    if (rc == 0)
        rc =
            ipc_client_request(s->ipc, sl_slice_make(b.p, b.n), on_kv_write, q);
    sl_buf_fini(&b);
    s->kv_busy = 1;
    if (rc != 0)
        on_kv_write(q, rc, NULL, sl_slice_make(NULL, 0));
}

/* ---- retained ------------------------------------------------------------ */

void
mq__kv_retained(mq_server *s, sl_slice topic, const uint8_t *blob, size_t n)
{
    mq__kv_set(s, PFX_R, topic, blob, n, blob == NULL, NULL, NULL);
}

static void scan_next(mq_server *s, sl_slice after);

static void
on_scan(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    mq_server *s = arg;
    ipc_kv_scan_rep m;
    if (rc == 0 && h->status != 0)
        rc = h->status;
    if (rc == 0 && ipc_kv_scan_rep_decode(body, &m) != 0)
        rc = SL_E_MALFORMED;
    if (rc != 0) {
        /* No KV in this segstore (an older one), or it failed: retained
         * messages stay local to this process. */
        sl_log(SL_LOG_WARN, "MQ-KV", "KV scan of %s failed: %s", PFX_R,
               sl_strerror(rc));
        s->scan_busy = 0;
        if (s->scan_done_cb) {
            void (*cb)(mq_server *) = s->scan_done_cb;
            s->scan_done_cb = NULL;
            cb(s);
        }
        return;
    }
    if (s->scan_first) {
        s->kv_rev = m.revision;
        s->scan_first = 0;
    }
    ipc_kv_entry e;
    char last[IPC_STR_MAX];
    size_t lastn = 0;
    size_t pn = strlen(PFX_R);
    while (ipc_kv_scan_rep_next(&m, &e) == 1) {
        if (e.key.n <= pn)
            continue;
        mq__retained_set(s, sl_slice_make(e.key.p + pn, e.key.n - pn),
                         e.value.p, e.value.n, e.version);
        memcpy(last, e.key.p, e.key.n);
        lastn = e.key.n;
    }
    if (m.more && lastn > 0) {
        scan_next(s, sl_slice_make(last, lastn));
        return;
    }
    s->scan_busy = 0;
    s->kv_ok = 1;
    sl_log(SL_LOG_INFO, "MQ-RETAINED", "retained=%zu revision=%lld",
           s->nretained, (long long)s->kv_rev);
    if (s->scan_done_cb) {
        void (*cb)(mq_server *) = s->scan_done_cb;
        s->scan_done_cb = NULL;
        cb(s);
    }
}

static void
scan_next(mq_server *s, sl_slice after)
{
    ipc_kv_scan_req q = {sl_slice_str(PFX_R), after, 1000, 4u << 20};
    sl_buf b = {0};
    int rc = ipc_kv_scan_req_encode(&b, &q);
    if (rc == 0)
        rc = ipc_client_request(s->ipc, sl_slice_make(b.p, b.n), on_scan, s);
    sl_buf_fini(&b);
    if (rc != 0)
        on_scan(s, rc, NULL, sl_slice_make(NULL, 0));
}

void
mq__kv_scan_retained(mq_server *s, void (*done)(mq_server *s))
{
    if (s->scan_busy)
        return;
    s->scan_busy = 1;
    s->scan_first = 1;
    s->scan_done_cb = done;
    /* A rescan starts from nothing: what is gone from the KV map must go
     * from the mirror too. */
    mq__trie_free(s->ret_root);
    s->ret_root = mq__trie_new();
    s->nretained = 0;
    scan_next(s, sl_slice_make(NULL, 0));
}

/* ---- events ----------------------------------------------------------------
 */

static bool
has_prefix(sl_slice k, const char *pfx, sl_slice *rest)
{
    size_t n = strlen(pfx);
    if (k.n < n || memcmp(k.p, pfx, n) != 0)
        return false;
    *rest = sl_slice_make(k.p + n, k.n - n);
    return true;
}

void
mq__kv_event(mq_server *s, const ipc_event *e)
{
    if (!s->kv_ok)
        return;
    bool gap = e->prev_revision != s->kv_rev && e->version != s->kv_rev &&
               e->version > s->kv_rev;
    if (e->version <= s->kv_rev && e->version != s->kv_rev)
        return; /* already in the mirror (older than the scan) */
    s->kv_rev = e->version;
    sl_slice rest;
    if (has_prefix(e->key, PFX_R, &rest)) {
        if (gap && !s->scan_busy) {
            sl_log(SL_LOG_INFO, "MQ-KV",
                   "events missed; reading retained "
                   "messages again");
            mq__kv_scan_retained(s, NULL);
            return;
        }
        if (!s->scan_busy)
            mq__retained_set(s, rest, e->deleted ? NULL : e->value.p,
                             e->value.n, e->version);
        return;
    }
    if (has_prefix(e->key, PFX_O, &rest)) {
        size_t il = strlen(s->instance);
        if (e->deleted ||
            (e->value.n >= il && memcmp(e->value.p, s->instance, il) == 0))
            return;
        mq_session *ss = mq__session_find(s, rest);
        if (ss == NULL)
            return;
        /* Another instance took this client id: its connection here goes
         * (0x8E, no will: the client is connected elsewhere), and this
         * process forgets the session.  When the client resumes it there
         * ("/r"), the newest state is written first: the other instance
         * waits a moment before reading it (on_load).  After a clean
         * start ("/c") the session was deleted and must stay so. */
        s->st.takeovers++;
        bool resume = e->value.n > 0 && e->value.p[e->value.n - 1] == 'r';
        if (resume && ss->persist)
            mq__kv_session_save(s, ss);
        mq_conn *c = ss->conn;
        if (c != NULL) {
            c->takeover = true;
            c->clean_disconnect = true;
            mq__conn_fail(c, MQ_RC_SESSION_TAKEN_OVER, "session taken over");
            c->sess = NULL;
            ss->conn = NULL;
        }
        ss->persist = 0;
        mq__session_drop(s, ss);
    }
}

/* ---- sessions
 * ---------------------------------------------------------------- */

static int
session_encode(mq_server *s, const mq_session *ss, sl_buf *b)
{
    int rc = 0;
    rc |= sl_buf_put_u8(b, 2);
    rc |= sl_buf_put_u8(b, ss->version);
    rc |= sl_buf_put_u32be(b, ss->expiry);
    rc |= sl_buf_put_u64be(b, ss->conn ? 0 : (uint64_t)ss->disconnect_wall);
    rc |= sl_buf_put_u32be(b, (uint32_t)s->nlt);
    for (int t = 0; t < s->nlt; t++) {
        const mq_ltopic *l = &s->lt[t];
        rc |= sl_buf_put_u16be(b, (uint16_t)strlen(l->name));
        rc |= sl_buf_append(b, l->name, strlen(l->name));
        rc |= sl_buf_put_u32be(b, (uint32_t)l->nparts);
        for (int32_t q = 0; q < l->nparts; q++) {
            int32_t p = l->base + q;
            const mq_cursor *c = &ss->cur[p];
            int64_t pos = c->live ? SL_MAX(c->next, s->tail_next[p]) : c->next;
            rc |= sl_buf_put_u64be(b, (uint64_t)pos);
        }
    }
    rc |= sl_buf_put_u32be(b, (uint32_t)ss->nsubs);
    for (const mq_subent *e = ss->subs; e != NULL; e = e->next) {
        rc |= sl_buf_put_u16be(b, (uint16_t)e->filter_n);
        rc |= sl_buf_append(b, e->filter, e->filter_n);
        rc |= sl_buf_put_u8(b, e->qos);
        rc |= sl_buf_put_u8(
            b, (uint8_t)((e->no_local ? 1 : 0) | (e->rap ? 2 : 0)));
        rc |= sl_buf_put_u8(b, e->rh);
        rc |= sl_buf_put_u32be(b, e->id);
        rc |= sl_buf_put_u64be(b, (uint64_t)e->since_ms);
    }
    uint32_t nout = 0;
    for (size_t i = 0; i < ss->nout; i++)
        if (ss->out[i].held == NULL || ss->out[i].state == MQ_OUT_COMP)
            nout++;
    rc |= sl_buf_put_u32be(b, nout);
    for (size_t i = 0; i < ss->nout; i++) {
        const mq_out *o = &ss->out[i];
        if (o->held != NULL && o->state != MQ_OUT_COMP)
            continue; /* a copy not in the log: not resendable later */
        rc |= sl_buf_put_u16be(b, o->pid);
        rc |= sl_buf_put_u8(b, o->qos);
        rc |= sl_buf_put_u8(b, o->state);
        bool pos = o->part >= 0 && o->part < s->nparts;
        rc |= sl_buf_put_u16be(b, pos ? s->gp_t[o->part] : 0xFFFF);
        rc |= sl_buf_put_u32be(b, pos ? (uint32_t)mq__gp_part(s, o->part) : 0);
        rc |= sl_buf_put_u64be(b, (uint64_t)o->off);
    }
    return rc ? -ENOMEM : 0;
}

static int
session_decode(mq_server *s, mq_session *ss, sl_slice v)
{
    sl_rd r;
    sl_rd_init(&r, v);
    uint8_t fmt, ver;
    uint32_t expiry, ntopics, n;
    uint64_t disc;
    /* stored topic index -> this process's log topic, -1 when unknown */
    int tmap[MQ_MAX_LTOPICS];
    if (sl_rd_u8(&r, &fmt) || fmt != 2 || sl_rd_u8(&r, &ver) ||
        sl_rd_u32be(&r, &expiry) || sl_rd_u64be(&r, &disc) ||
        sl_rd_u32be(&r, &ntopics) || ntopics > MQ_MAX_LTOPICS)
        return SL_E_MALFORMED;
    ss->version = ver;
    ss->expiry = expiry;
    ss->disconnect_wall = (int64_t)disc;
    for (uint32_t t = 0; t < ntopics; t++) {
        uint16_t nl;
        sl_slice name;
        uint32_t nparts;
        if (sl_rd_u16be(&r, &nl) || sl_rd_bytes(&r, nl, &name) ||
            sl_rd_u32be(&r, &nparts))
            return SL_E_MALFORMED;
        tmap[t] = -1;
        for (int u = 0; u < s->nlt; u++)
            if (sl_slice_eq_str(name, s->lt[u].name))
                tmap[t] = u;
        for (uint32_t q = 0; q < nparts; q++) {
            uint64_t pos;
            if (sl_rd_u64be(&r, &pos))
                return SL_E_MALFORMED;
            /* Log topics or partitions added since are read from the
             * tail; ones no longer mapped are forgotten. */
            if (tmap[t] >= 0 && (int32_t)q < s->lt[tmap[t]].nparts) {
                int32_t p = s->lt[tmap[t]].base + (int32_t)q;
                ss->cur[p].next = (int64_t)pos;
                ss->cur[p].live = 0;
            }
        }
    }
    if (sl_rd_u32be(&r, &n))
        return SL_E_MALFORMED;
    for (uint32_t i = 0; i < n; i++) {
        uint16_t fl;
        sl_slice f;
        uint8_t qos, flags, rh;
        uint32_t id;
        uint64_t since;
        if (sl_rd_u16be(&r, &fl) || sl_rd_bytes(&r, fl, &f) ||
            sl_rd_u8(&r, &qos) || sl_rd_u8(&r, &flags) || sl_rd_u8(&r, &rh) ||
            sl_rd_u32be(&r, &id) || sl_rd_u64be(&r, &since))
            return SL_E_MALFORMED;
        if (mq_topic_share_parse(f, NULL) == 0 && mq_topic_filter_check(f) != 0)
            continue;
        mq_sub sub = {f, (uint8_t)SL_MIN(qos, 2), (flags & 1) != 0,
                      (flags & 2) != 0, rh};
        bool existed;
        if (mq__session_sub(s, ss, &sub, id, &existed) == 0)
            ss->subs->since_ms = (int64_t)since;
    }
    if (sl_rd_u32be(&r, &n))
        return SL_E_MALFORMED;
    for (uint32_t i = 0; i < n; i++) {
        uint16_t pid, ti;
        uint8_t qos, state;
        uint32_t q;
        uint64_t off;
        if (sl_rd_u16be(&r, &pid) || sl_rd_u8(&r, &qos) ||
            sl_rd_u8(&r, &state) || sl_rd_u16be(&r, &ti) ||
            sl_rd_u32be(&r, &q) || sl_rd_u64be(&r, &off))
            return SL_E_MALFORMED;
        if (pid == 0 || qos < 1 || qos > 2 || state < MQ_OUT_ACK ||
            state > MQ_OUT_COMP)
            continue;
        int32_t part = -1;
        if (ti < ntopics && tmap[ti] >= 0 &&
            (int32_t)q < s->lt[tmap[ti]].nparts)
            part = s->lt[tmap[ti]].base + (int32_t)q;
        if (state != MQ_OUT_COMP && part < 0)
            continue;
        if (ss->nout == ss->capout) {
            size_t cap = ss->capout ? ss->capout * 2 : 16;
            mq_out *o = realloc(ss->out, cap * sizeof(*o));
            if (o == NULL)
                return -ENOMEM;
            ss->out = o;
            ss->capout = cap;
        }
        mq_out *o = &ss->out[ss->nout++];
        memset(o, 0, sizeof(*o));
        o->pid = pid;
        o->qos = qos;
        o->state = state;
        o->part = part;
        o->off = (int64_t)off;
    }
    return 0;
}

int
mq__kv_session_save_cb(mq_server *s, mq_session *ss, mq_kv_cb cb, void *arg)
{
    if (!s->kv_ok || !ss->persist) {
        if (cb)
            cb(arg, 0);
        return 0;
    }
    sl_buf b = {0};
    int rc = session_encode(s, ss, &b);
    if (rc == 0)
        rc = mq__kv_set(s, PFX_S, sl_slice_make(ss->cid, ss->cid_n), b.p, b.n,
                        0, cb, arg);
    sl_buf_fini(&b);
    if (rc == 0)
        ss->dirty = 0;
    return rc;
}

void
mq__kv_session_save(mq_server *s, mq_session *ss)
{
    mq__kv_session_save_cb(s, ss, NULL, NULL);
}

void
mq__kv_session_delete(mq_server *s, sl_slice cid)
{
    mq__kv_set(s, PFX_S, cid, NULL, 0, 1, NULL, NULL);
    mq__kv_set(s, PFX_Q2, cid, NULL, 0, 1, NULL, NULL);
}

void
mq__kv_owner(mq_server *s, sl_slice cid, bool clean)
{
    char v[24];
    snprintf(v, sizeof(v), "%s/%c", s->instance, clean ? 'c' : 'r');
    mq__kv_set(s, PFX_O, cid, (const uint8_t *)v, strlen(v), 0, NULL, NULL);
}

int
mq__kv_q2_save(mq_server *s, mq_session *ss, mq_kv_cb cb, void *arg)
{
    sl_buf b = {0};
    int rc = sl_buf_put_u16be(&b, (uint16_t)ss->nq2);
    for (size_t i = 0; rc == 0 && i < ss->nq2; i++)
        rc = sl_buf_put_u16be(&b, ss->q2[i]);
    if (rc == 0)
        rc = mq__kv_set(s, PFX_Q2, sl_slice_make(ss->cid, ss->cid_n), b.p, b.n,
                        ss->nq2 == 0, cb, arg);
    sl_buf_fini(&b);
    return rc;
}

typedef struct load_req {
    mq_server *s;
    mq_conn *c; /* held */
    int again;  /* second read, after another instance's last write */
    uv_timer_t t;
} load_req;

static int load_send(load_req *q);

static void
load_timer_closed(uv_handle_t *h)
{
    load_req *q = h->data;
    if (load_send(q) != 0) {
        mq_conn *c = q->c;
        free(q);
        if (!c->dead)
            mq__connect_finish(c);
        mq__conn_rele(c);
    }
}

static void
on_load_timer(uv_timer_t *t)
{
    uv_close((uv_handle_t *)t, load_timer_closed);
}

static void
on_load(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    load_req *q = arg;
    mq_server *s = q->s;
    mq_conn *c = q->c;
    ipc_kv_get_rep m;
    if (rc == 0 && h->status != 0)
        rc = h->status;
    if (rc == 0 && ipc_kv_get_rep_decode(body, &m) != 0)
        rc = SL_E_MALFORMED;
    sl_slice sv = {NULL, 0}, qv = {NULL, 0}, ov = {NULL, 0};
    if (rc == 0) {
        ipc_kv_entry e;
        if (ipc_kv_get_rep_next(&m, &e) == 1 && e.status == 0)
            sv = e.value;
        if (ipc_kv_get_rep_next(&m, &e) == 1 && e.status == 0)
            qv = e.value;
        if (ipc_kv_get_rep_next(&m, &e) == 1 && e.status == 0)
            ov = e.value;
    }
    if (c->dead) {
        free(q);
        mq__conn_rele(c);
        return;
    }
    size_t il = strlen(s->instance);
    if (rc == 0 && !q->again && ov.n >= il &&
        memcmp(ov.p, s->instance, il) != 0) {
        /* Another instance served this client last and may hold newer
         * state than it has written: announce the takeover (it then
         * writes its last state and lets go), give it a moment, read
         * again. */
        q->again = 1;
        mq__kv_owner(s, sl_slice_make(c->cid, c->cid_n), false);
        uv_timer_init(s->loop, &q->t);
        q->t.data = q;
        uv_timer_start(&q->t, on_load_timer, 150, 0);
        return;
    }
    free(q);
    mq_session *ss = NULL;
    if (rc != 0) {
        s->st.ipc_errors++;
        sl_log(SL_LOG_WARN, "MQ-KV", "session load failed: %s",
               sl_strerror(rc));
    } else if (sv.n > 0 &&
               mq__session_find(s, sl_slice_make(c->cid, c->cid_n)) == NULL) {
        ss = mq__session_new(s, sl_slice_make(c->cid, c->cid_n));
        if (ss != NULL && session_decode(s, ss, sv) != 0) {
            sl_log(SL_LOG_WARN, "MQ-KV", "session of %s unreadable; a new one",
                   c->cid);
            mq__session_drop(s, ss);
            ss = NULL;
        }
        if (ss != NULL) {
            sl_rd r;
            uint16_t n, pid;
            sl_rd_init(&r, qv);
            if (sl_rd_u16be(&r, &n) == 0)
                for (uint16_t i = 0; i < n && sl_rd_u16be(&r, &pid) == 0; i++)
                    mq__session_q2_add(ss, pid);
            ss->persist = 1;
            /* It is offline until the connection takes it. */
            mq__session_offline(s, ss);
        }
    }
    mq__connect_finish(c);
    mq__conn_rele(c);
}

static int
load_send(load_req *q)
{
    mq_conn *c = q->c;
    size_t n1, n2, n3;
    char *k1 = key_make(PFX_S, sl_slice_make(c->cid, c->cid_n), &n1);
    char *k2 = key_make(PFX_Q2, sl_slice_make(c->cid, c->cid_n), &n2);
    char *k3 = key_make(PFX_O, sl_slice_make(c->cid, c->cid_n), &n3);
    sl_slice keys[3] = {sl_slice_make(k1, n1), sl_slice_make(k2, n2),
                        sl_slice_make(k3, n3)};
    sl_buf b = {0};
    int rc = k1 && k2 && k3 ? ipc_kv_get_req_encode(&b, keys, 3) : -ENOMEM;
    if (rc == 0)
        rc = ipc_client_request(q->s->ipc, sl_slice_make(b.p, b.n), on_load, q);
    sl_buf_fini(&b);
    free(k1);
    free(k2);
    free(k3);
    return rc;
}

int
mq__kv_session_load(mq_server *s, mq_conn *c)
{
    load_req *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return -ENOMEM;
    q->s = s;
    q->c = c;
    int rc = load_send(q);
    if (rc != 0) {
        free(q);
        return rc;
    }
    mq__conn_hold(c);
    return 0;
}

void
mq__kv_tick(mq_server *s)
{
    if (!s->kv_ok)
        return;
    for (size_t i = 0; i < SL_ARRAY_LEN(s->smap); i++)
        for (mq_session *ss = s->smap[i]; ss != NULL; ss = ss->hnext)
            if (ss->dirty && ss->persist)
                mq__kv_session_save(s, ss);
    mq__kv_flush(s); /* writes queued again after segstore was away */
}

void
mq__kv_fini(mq_server *s)
{
    for (size_t i = 0; i < s->nkv; i++)
        op_fini(&s->kv[i]);
    free(s->kv);
    s->kv = NULL;
    s->nkv = s->capkv = 0;
}

/* ---- wills that outlive their process ---------------------------------------
 *
 *   mqtt/w/<cid>       u8 1, u8 state (0: client connected, 1: will
 *                      delayed), 16 bytes instance, i64 fire_at (wall ms,
 *                      state 1), u32 will delay (s), then the will as a
 *                      one-record batch
 *   mqtt/i/<instance>  i64 wall ms: the instance's heartbeat, every second
 *
 * Every CONNECT writes or deletes its client's will; the end of the
 * connection deletes it (sent, or not to be sent) or marks it delayed.
 * When an instance's heartbeat is older than MQ_DEAD_MS, any other
 * instance may claim it (deleting its heartbeat on condition of its
 * version: one claimer wins), read its wills and send each when due —
 * deleting it on condition of its version first, so that a client that
 * came back meanwhile (its CONNECT rewrote the key) gets no will sent.
 */
#define PFX_W      "mqtt/w/"
#define PFX_I      "mqtt/i/"
#define MQ_DEAD_MS 5000

void
mq__kv_will_put(mq_server *s, sl_slice cid, const uint8_t *blob, size_t n,
                uint32_t delay, int64_t fire_at)
{
    if (!s->kv_ok)
        return;
    sl_buf b = {0};
    int rc = sl_buf_put_u8(&b, 1);
    rc |= sl_buf_put_u8(&b, fire_at ? 1 : 0);
    rc |= sl_buf_append(&b, s->instance, 16);
    rc |= sl_buf_put_u64be(&b, (uint64_t)fire_at);
    rc |= sl_buf_put_u32be(&b, delay);
    rc |= sl_buf_append(&b, blob, n);
    if (rc == 0)
        mq__kv_set(s, PFX_W, cid, b.p, b.n, 0, NULL, NULL);
    sl_buf_fini(&b);
}

void
mq__kv_will_del(mq_server *s, sl_slice cid)
{
    if (s->kv_ok)
        mq__kv_set(s, PFX_W, cid, NULL, 0, 1, NULL, NULL);
}

void
mq__kv_heartbeat(mq_server *s)
{
    uint8_t v[8];
    sl_put_u64be(v, (uint64_t)sl_now_ms());
    if (s->kv_ok)
        mq__kv_set(s, PFX_I, sl_slice_str(s->instance), v, sizeof(v), 0, NULL,
                   NULL);
}

/* A conditional delete (expect = version) sent at once; cb(arg, rc). */
typedef struct cas_req {
    mq_server *s;
    void (*cb)(mq_server *s, void *arg, int rc);
    void *arg;
} cas_req;

static void
on_cas(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    cas_req *q = arg;
    (void)body;
    if (rc == 0 && h->status != 0)
        rc = h->status;
    q->cb(q->s, q->arg, rc);
    free(q);
}

static void
cas_delete(mq_server *s, sl_slice key, int64_t version,
           void (*cb)(mq_server *s, void *arg, int rc), void *arg)
{
    cas_req *q = malloc(sizeof(*q));
    if (q == NULL) {
        cb(s, arg, -ENOMEM);
        return;
    }
    q->s = s;
    q->cb = cb;
    q->arg = arg;
    ipc_kv_op op = {IPC_KV_DELETE, key, version, {NULL, 0}};
    sl_buf b = {0};
    int rc = ipc_kv_write_req_encode(&b, 0, &op, 1);
    if (rc == 0)
        rc = ipc_client_request(s->ipc, sl_slice_make(b.p, b.n), on_cas, q);
    sl_buf_fini(&b);
    if (rc != 0)
        on_cas(q, rc, NULL, sl_slice_make(NULL, 0));
}

/* A will of a dead instance, waiting for its time. */
struct mq_orphan {
    mq_orphan *next;
    char *key;
    size_t key_n;
    int64_t version;
    int64_t fire_at;
    uint8_t *blob;
    size_t n;
};

static void
orphan_free(mq_orphan *o)
{
    free(o->key);
    free(o->blob);
    free(o);
}

static void
on_orphan_claimed(mq_server *s, void *arg, int rc)
{
    mq_orphan *o = arg;
    mq_msg m;
    /* Deleted on our condition: nobody else sends it, and the client did
     * not come back.  Otherwise (CONFLICT) it is not ours to send. */
    if (rc == 0 &&
        mq__msg_from_blob(s, sl_slice_make(o->blob, o->n), &m) == 0) {
        s->st.wills++;
        mq__publish_internal(s, &m);
    }
    orphan_free(o);
}

void
mq__kv_orphans_tick(mq_server *s)
{
    int64_t now = sl_now_ms();
    mq_orphan **pp = &s->orphans;
    while (*pp != NULL) {
        mq_orphan *o = *pp;
        if (o->fire_at > now) {
            pp = &o->next;
            continue;
        }
        *pp = o->next;
        cas_delete(s, sl_slice_make(o->key, o->key_n), o->version,
                   on_orphan_claimed, o);
    }
}

typedef struct reap_req {
    mq_server *s;
    char dead[17];
    char after[IPC_STR_MAX];
    size_t after_n;
} reap_req;

static void reap_scan(reap_req *q);

static void
on_reap_scan(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    reap_req *q = arg;
    mq_server *s = q->s;
    ipc_kv_scan_rep m;
    if (rc == 0 && h->status != 0)
        rc = h->status;
    if (rc == 0 && ipc_kv_scan_rep_decode(body, &m) != 0)
        rc = SL_E_MALFORMED;
    if (rc != 0) {
        free(q);
        return;
    }
    int64_t now = sl_now_ms();
    ipc_kv_entry e;
    size_t last = 0;
    while (ipc_kv_scan_rep_next(&m, &e) == 1) {
        memcpy(q->after, e.key.p, e.key.n);
        last = e.key.n;
        sl_rd r;
        sl_rd_init(&r, e.value);
        uint8_t fmt, state;
        sl_slice inst;
        uint64_t fire_at;
        uint32_t delay;
        if (sl_rd_u8(&r, &fmt) || fmt != 1 || sl_rd_u8(&r, &state) ||
            sl_rd_bytes(&r, 16, &inst) || sl_rd_u64be(&r, &fire_at) ||
            sl_rd_u32be(&r, &delay))
            continue;
        if (memcmp(inst.p, q->dead, 16) != 0)
            continue;
        mq_orphan *o = calloc(1, sizeof(*o));
        if (o == NULL)
            continue;
        o->key = malloc(e.key.n);
        o->blob = malloc(sl_rd_left(&r) ? sl_rd_left(&r) : 1);
        if (o->key == NULL || o->blob == NULL) {
            orphan_free(o);
            continue;
        }
        memcpy(o->key, e.key.p, e.key.n);
        o->key_n = e.key.n;
        o->n = sl_rd_left(&r);
        memcpy(o->blob, sl_rd_ptr(&r), o->n);
        o->version = e.version;
        /* A connected client's will waits its delay from now, the moment
         * its connection is known to be gone. */
        o->fire_at =
            state == 1 ? (int64_t)fire_at : now + (int64_t)delay * 1000;
        o->next = s->orphans;
        s->orphans = o;
    }
    if (m.more && last > 0) {
        q->after_n = last;
        reap_scan(q);
        return;
    }
    sl_log(SL_LOG_INFO, "MQ-REAP", "instance %s is gone; its wills taken over",
           q->dead);
    free(q);
    mq__kv_orphans_tick(s);
}

static void
reap_scan(reap_req *q)
{
    ipc_kv_scan_req r = {sl_slice_str(PFX_W),
                         sl_slice_make(q->after, q->after_n), 1000, 4u << 20};
    sl_buf b = {0};
    int rc = ipc_kv_scan_req_encode(&b, &r);
    if (rc == 0)
        rc = ipc_client_request(q->s->ipc, sl_slice_make(b.p, b.n),
                                on_reap_scan, q);
    sl_buf_fini(&b);
    if (rc != 0)
        free(q);
}

/* ---- sessions that outlive their process ----------------------------------
 *
 * A session with a finite expiry interval is expired by the instance that
 * holds it.  When that instance dies, the one that claims it (above) also
 * adopts its sessions: it finds them by their owner key (mqtt/o/<cid>
 * naming the dead instance), and for each session with a finite expiry
 * it writes, in one conditional KV_WRITE, the session with its disconnect
 * time set (when it was connected at the crash: its expiry counts from
 * the claim) and the owner key naming itself — on condition that neither
 * changed, so a client that came back meanwhile keeps its session.  When
 * the expiry has passed, it deletes the session, its QoS 2 ids and owner
 * key, again only if the owner key and the session are still the ones it
 * wrote.  Should the adopter die too, its own claimer adopts them again
 * (the disconnect time is kept).
 */
struct mq_adopted {
    mq_adopted *next;
    char *cid;
    size_t cid_n;
    int64_t version; /* of both the session and the owner key */
    int64_t due;     /* wall ms */
};

typedef struct adopt_req {
    mq_server *s;
    char dead[17];
    char after[IPC_STR_MAX];
    size_t after_n;
} adopt_req;

typedef struct adopt_one {
    mq_server *s;
    char *cid;
    size_t cid_n;
    int64_t over; /* owner key's version */
    int64_t due;
} adopt_one;

static void
adopt_one_free(adopt_one *a)
{
    free(a->cid);
    free(a);
}

static void
on_adopt_put(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    adopt_one *a = arg;
    mq_server *s = a->s;
    int64_t rev = 0;
    if (rc == 0 && h->status != 0)
        rc = h->status;
    if (rc == 0 && ipc_kv_write_rep_decode(body, &rev) != 0)
        rc = SL_E_MALFORMED;
    mq_adopted *d = rc == 0 ? calloc(1, sizeof(*d)) : NULL;
    if (d != NULL) {
        /* The list takes the client id. */
        d->cid = a->cid;
        d->cid_n = a->cid_n;
        a->cid = NULL;
        d->version = rev;
        d->due = a->due;
        d->next = s->adopted;
        s->adopted = d;
    }
    adopt_one_free(a);
}

static void
on_adopt_get(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    adopt_one *a = arg;
    mq_server *s = a->s;
    ipc_kv_get_rep m;
    ipc_kv_entry e;
    if (rc == 0 && h->status != 0)
        rc = h->status;
    if (rc == 0 && ipc_kv_get_rep_decode(body, &m) != 0)
        rc = SL_E_MALFORMED;
    if (rc != 0 || ipc_kv_get_rep_next(&m, &e) != 1 || e.status != 0 ||
        e.value.n < 14 || e.value.p[0] != 2) {
        adopt_one_free(a); /* no session kept (or unreadable): nothing */
        return;
    }
    uint32_t expiry = sl_get_u32be(e.value.p + 2);
    int64_t disc = (int64_t)sl_get_u64be(e.value.p + 6);
    if (expiry == 0xFFFFFFFFu) {
        adopt_one_free(a); /* never expires */
        return;
    }
    int64_t now = sl_now_ms();
    if (disc <= 0)
        disc = now; /* connected when its instance died */
    a->due = disc + (int64_t)expiry * 1000;
    uint8_t *v = malloc(e.value.n);
    if (v == NULL) {
        adopt_one_free(a);
        return;
    }
    memcpy(v, e.value.p, e.value.n);
    sl_put_u64be(v + 6, (uint64_t)disc);
    char ov[24];
    snprintf(ov, sizeof(ov), "%s/r", s->instance);
    size_t n1, n2;
    char *k1 = key_make(PFX_S, sl_slice_make(a->cid, a->cid_n), &n1);
    char *k2 = key_make(PFX_O, sl_slice_make(a->cid, a->cid_n), &n2);
    ipc_kv_op ops[2] = {
        {IPC_KV_PUT, sl_slice_make(k1, n1), e.version,
         sl_slice_make(v, e.value.n)},
        {IPC_KV_PUT, sl_slice_make(k2, n2), a->over, sl_slice_str(ov)}};
    sl_buf b = {0};
    rc = k1 && k2 ? ipc_kv_write_req_encode(&b, 0, ops, 2) : -ENOMEM;
    if (rc == 0)
        rc = ipc_client_request(s->ipc, sl_slice_make(b.p, b.n), on_adopt_put,
                                a);
    sl_buf_fini(&b);
    free(k1);
    free(k2);
    free(v);
    if (rc != 0)
        adopt_one_free(a);
}

static void
adopt_get(mq_server *s, sl_slice cid, int64_t over)
{
    adopt_one *a = calloc(1, sizeof(*a));
    size_t kn;
    char *k = key_make(PFX_S, cid, &kn);
    if (a == NULL || k == NULL || (a->cid = malloc(cid.n ? cid.n : 1)) == NULL)
        goto fail;
    memcpy(a->cid, cid.p, cid.n);
    a->cid_n = cid.n;
    a->s = s;
    a->over = over;
    sl_slice key = sl_slice_make(k, kn);
    sl_buf b = {0};
    int rc = ipc_kv_get_req_encode(&b, &key, 1);
    if (rc == 0)
        rc = ipc_client_request(s->ipc, sl_slice_make(b.p, b.n), on_adopt_get,
                                a);
    sl_buf_fini(&b);
    free(k);
    if (rc != 0)
        adopt_one_free(a);
    return;
fail:
    free(k);
    if (a != NULL)
        adopt_one_free(a);
}

static void adopt_scan(adopt_req *q);

static void
on_adopt_scan(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    adopt_req *q = arg;
    mq_server *s = q->s;
    ipc_kv_scan_rep m;
    if (rc == 0 && h->status != 0)
        rc = h->status;
    if (rc == 0 && ipc_kv_scan_rep_decode(body, &m) != 0)
        rc = SL_E_MALFORMED;
    if (rc != 0) {
        free(q);
        return;
    }
    size_t pn = strlen(PFX_O);
    ipc_kv_entry e;
    size_t last = 0;
    while (ipc_kv_scan_rep_next(&m, &e) == 1) {
        memcpy(q->after, e.key.p, e.key.n);
        last = e.key.n;
        if (e.key.n <= pn || e.value.n < 16 ||
            memcmp(e.value.p, q->dead, 16) != 0)
            continue;
        adopt_get(s, sl_slice_make(e.key.p + pn, e.key.n - pn), e.version);
    }
    if (m.more && last > 0) {
        q->after_n = last;
        adopt_scan(q);
        return;
    }
    free(q);
}

static void
adopt_scan(adopt_req *q)
{
    ipc_kv_scan_req r = {sl_slice_str(PFX_O),
                         sl_slice_make(q->after, q->after_n), 1000, 4u << 20};
    sl_buf b = {0};
    int rc = ipc_kv_scan_req_encode(&b, &r);
    if (rc == 0)
        rc = ipc_client_request(q->s->ipc, sl_slice_make(b.p, b.n),
                                on_adopt_scan, q);
    sl_buf_fini(&b);
    if (rc != 0)
        free(q);
}

static void
on_adopted_expired(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    mq_adopted *d = arg;
    (void)body;
    if (rc == 0 && h->status != 0)
        rc = h->status;
    if (rc == 0)
        sl_log(SL_LOG_INFO, "MQ-EXPIRE",
               "session of %.*s (left by a dead instance) expired",
               (int)d->cid_n, d->cid);
    free(d->cid);
    free(d);
}

void
mq__kv_adopted_tick(mq_server *s)
{
    int64_t now = sl_now_ms();
    mq_adopted **pp = &s->adopted;
    while (*pp != NULL) {
        mq_adopted *d = *pp;
        if (d->due > now) {
            pp = &d->next;
            continue;
        }
        *pp = d->next;
        size_t n1, n2, n3;
        sl_slice cid = sl_slice_make(d->cid, d->cid_n);
        char *k1 = key_make(PFX_S, cid, &n1);
        char *k2 = key_make(PFX_O, cid, &n2);
        char *k3 = key_make(PFX_Q2, cid, &n3);
        /* Only if nobody took the client since (a CONNECT rewrites the
         * owner key): otherwise it is that instance's session now. */
        ipc_kv_op ops[3] = {
            {IPC_KV_DELETE, sl_slice_make(k1, n1), d->version, {NULL, 0}},
            {IPC_KV_DELETE, sl_slice_make(k2, n2), d->version, {NULL, 0}},
            {IPC_KV_DELETE, sl_slice_make(k3, n3), IPC_KV_ANY, {NULL, 0}}};
        sl_buf b = {0};
        int rc =
            k1 && k2 && k3 ? ipc_kv_write_req_encode(&b, 0, ops, 3) : -ENOMEM;
        if (rc == 0)
            rc = ipc_client_request(s->ipc, sl_slice_make(b.p, b.n),
                                    on_adopted_expired, d);
        sl_buf_fini(&b);
        free(k1);
        free(k2);
        free(k3);
        if (rc != 0) {
            free(d->cid);
            free(d);
        }
    }
}

static void
on_dead_claimed(mq_server *s, void *arg, int rc)
{
    reap_req *q = arg;
    (void)s;
    if (rc != 0) { /* another instance claimed it, or it came back */
        free(q);
        return;
    }
    adopt_req *a = calloc(1, sizeof(*a));
    if (a != NULL) {
        a->s = s;
        memcpy(a->dead, q->dead, sizeof(a->dead));
        adopt_scan(a);
    }
    reap_scan(q);
}

static void
on_instances(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    mq_server *s = arg;
    ipc_kv_scan_rep m;
    s->reap_busy = 0;
    if (rc == 0 && h->status != 0)
        rc = h->status;
    if (rc == 0 && ipc_kv_scan_rep_decode(body, &m) != 0)
        rc = SL_E_MALFORMED;
    if (rc != 0)
        return;
    int64_t now = sl_now_ms();
    size_t pn = strlen(PFX_I);
    ipc_kv_entry e;
    while (ipc_kv_scan_rep_next(&m, &e) == 1) {
        if (e.key.n != pn + 16 || e.value.n != 8)
            continue;
        if (memcmp(e.key.p + pn, s->instance, 16) == 0)
            continue;
        int64_t seen = (int64_t)sl_get_u64be(e.value.p);
        if (now - seen < MQ_DEAD_MS)
            continue;
        reap_req *q = calloc(1, sizeof(*q));
        if (q == NULL)
            continue;
        q->s = s;
        memcpy(q->dead, e.key.p + pn, 16);
        cas_delete(s, e.key, e.version, on_dead_claimed, q);
    }
}

void
mq__kv_reap_check(mq_server *s)
{
    if (!s->kv_ok || s->reap_busy)
        return;
    /* While segstore was away nobody's heartbeat was written: after it
     * comes back, give every live instance time to write one before
     * calling any of them dead. */
    if (!s->link.up || uv_now(s->loop) - s->link.up_at_ms < MQ_DEAD_MS + 2000)
        return;
    ipc_kv_scan_req r = {sl_slice_str(PFX_I), {NULL, 0}, 1000, 1u << 20};
    sl_buf b = {0};
    int rc = ipc_kv_scan_req_encode(&b, &r);
    if (rc == 0)
        rc = ipc_client_request(s->ipc, sl_slice_make(b.p, b.n), on_instances,
                                s);
    sl_buf_fini(&b);
    if (rc == 0)
        s->reap_busy = 1;
}

void
mq__kv_orphans_free(mq_server *s)
{
    while (s->orphans != NULL) {
        mq_orphan *o = s->orphans;
        s->orphans = o->next;
        orphan_free(o);
    }
}
