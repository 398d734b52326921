/*
 * mq_srv_deliver.c — messages out of the log: the shared tail, the
 * sessions' own catch-up reads, matching and the outbound QoS flows.
 *
 * The tail.  For every partition of the log topic this process keeps
 * tail_next, the next offset it will look at, starting where it found the
 * end of the log at start (LIST_OFFSETS latest).  An ADVANCE event past
 * tail_next (or the mqtt.tail.poll.ms timer, since events are hints that
 * can be lost) starts one READ for every partition that has something new.
 * Each record's key is matched against the subscription trie; the sessions
 * it matches and that are "live" on that partition get it.
 *
 * Cursors.  A session has one cursor per partition: `next`, the first
 * offset it has not looked at.  Live cursors follow the tail.  A session
 * that cannot take a message now — offline, its receive window full of
 * unacknowledged QoS 1/2 messages, or its socket's output queue over
 * connection.max.output.bytes for a QoS 1/2 message — stops its cursor at
 * that message; it is then fed by its own READs from `next` (batched over
 * its partitions) until it has caught up with the tail, and becomes live
 * again.  QoS 1/2 messages are thus held in the log, never in memory; QoS 0
 * messages for a live session whose socket is backed up are dropped and
 * counted (connection.max.output.bytes).
 *
 * Overlapping subscriptions of one session are delivered once, with the
 * largest granted QoS, retain-as-published if any of them says so, and
 * every matching subscription identifier (MQTT 5, 3.3.4).  No Local skips
 * a subscription for messages whose mqtt.cid header is the session's own
 * client id.  A shared subscription group is one group across the cluster
 * (mq_share.c): this process delivers only the messages of the partitions
 * the group assigned it, each once, to the next of its members round
 * robin that is online and can take it now; the group has its own cursor
 * per partition and reads the log for itself when it is behind.
 *
 * Resending.  Outbound QoS 1/2 messages in flight are remembered by log
 * position (partition, offset, packet id); after a reconnect the cursor
 * goes back to the oldest one and every remembered message is sent again
 * with DUP and its packet id as the cursor passes it [MQTT-4.4.0-1].
 * Messages that have no log position (retained copies, shared deliveries)
 * hold a reference to their bytes instead.
 */
#include "mq_server.h"
#include "sl_metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { SENT = 0, SKIP = 1, BLOCKED = 2 };

/* Largest number of outbound topic aliases used per connection. */
#define ALIAS_OUT_CAP 64

static void session_read(mq_session *ss);

/* ---- the QoS 2 gate -------------------------------------------------------
 *
 * Exactly once towards a client across a crash of this process: a QoS 2
 * PUBLISH may reach the client only once the session that remembers it
 * (packet id, log position) is durable, or a restarted process would send
 * the message again under a new packet id, which the client takes for a
 * new message; likewise PUBREL only once the PUBREC it answers is
 * durable.  Such packets go to the connection's gate instead of its
 * socket; at the end of the loop iteration the session is saved (one KV
 * write for every gated connection), and the reply lets the bytes out.
 * Later packets to a gated connection queue behind, so order holds.
 */

static bool
gated(const mq_session *ss)
{
    return ss->persist && ss->conn != NULL && ss->conn->srv->kv_ok;
}

static void
gate_schedule(mq_conn *c)
{
    if (c->gate_sched || c->gate_busy)
        return;
    mq_server *s = c->srv;
    c->gate_sched = true;
    mq__conn_hold(c);
    c->gate_next = s->gated;
    s->gated = c;
    mq__arm(s);
}

/* Send b to c, through the gate when arm or when bytes already wait. */
static void
out_send(mq_conn *c, const sl_buf *b, bool arm)
{
    if (arm || c->gate.n > 0) {
        if (sl_buf_append(&c->gate, b->p, b->n) != 0) {
            fe_conn_close(c->fe, -ENOMEM, 1);
            return;
        }
        if (arm)
            gate_schedule(c);
        return;
    }
    mq__conn_send(c, b);
}

static void
gate_done(void *arg, int rc)
{
    mq_conn *c = arg;
    (void)rc; /* not durable: sent anyway, at least once is what is left */
    c->gate_busy = false;
    if (!c->dead) {
        size_t n = SL_MIN(c->gate_mark, c->gate.n);
        if (n > 0 && fe_conn_write(c->fe, c->gate.p, n) != 0)
            fe_conn_close(c->fe, -ENOMEM, 1);
        memmove(c->gate.p, c->gate.p + n, c->gate.n - n);
        c->gate.n -= n;
        c->gate_mark = 0;
        if (c->gate.n > 0)
            gate_schedule(c);
    } else {
        sl_buf_reset(&c->gate);
    }
    mq__conn_rele(c);
}

void
mq__gate_flush(mq_server *s)
{
    while (s->gated != NULL) {
        mq_conn *c = s->gated;
        s->gated = c->gate_next;
        c->gate_next = NULL;
        c->gate_sched = false;
        mq_session *ss = c->sess;
        if (c->dead || ss == NULL || ss->conn != c) {
            sl_buf_reset(&c->gate);
            mq__conn_rele(c);
            continue;
        }
        c->gate_mark = c->gate.n;
        c->gate_busy = true;
        /* The hold taken by gate_schedule passes to the callback. */
        if (mq__kv_session_save_cb(s, ss, gate_done, c) != 0)
            gate_done(c, -ENOMEM);
    }
}

/* ---- outbound PUBLISH ---------------------------------------------------- */

static uint32_t
window(const mq_session *ss)
{
    const mq_conn *c = ss->conn;
    uint32_t w = c ? c->recv_max_out : 0;
    return SL_MIN(w, (uint32_t)c->srv->cfg->max_inflight_out);
}

static bool
can_take(const mq_session *ss, uint8_t qos)
{
    const mq_conn *c = ss->conn;
    if (c == NULL || c->dead || c->state != MQ_CS_CONNECTED)
        return false;
    if (qos == 0)
        return true;
    return ss->nout < window(ss) && fe_conn_queued(c->fe) + c->gate.n <
                                        (size_t)c->srv->cfg->conn_max_out;
}

static uint16_t
pid_alloc(mq_session *ss)
{
    for (;;) {
        uint16_t p = ss->next_pid++;
        if (ss->next_pid == 0)
            ss->next_pid = 1;
        if (p == 0)
            continue;
        bool used = false;
        for (size_t i = 0; i < ss->nout && !used; i++)
            used = ss->out[i].pid == p;
        if (!used)
            return p;
    }
}

static mq_out *
out_add(mq_session *ss)
{
    if (ss->nout == ss->capout) {
        size_t cap = ss->capout ? ss->capout * 2 : 16;
        mq_out *v = realloc(ss->out, cap * sizeof(*v));
        if (v == NULL)
            return NULL;
        ss->out = v;
        ss->capout = cap;
    }
    mq_out *o = &ss->out[ss->nout++];
    memset(o, 0, sizeof(*o));
    ss->dirty = 1;
    return o;
}

static void
out_del(mq_session *ss, size_t i)
{
    mq__retained_rele(ss->out[i].held);
    free(ss->out[i].share);
    ss->out[i] = ss->out[--ss->nout];
    ss->dirty = 1;
}

static mq_out *
out_find(mq_session *ss, uint16_t pid, size_t *idx)
{
    for (size_t i = 0; i < ss->nout; i++)
        if (ss->out[i].pid == pid) {
            *idx = i;
            return &ss->out[i];
        }
    return NULL;
}

/*
 * Encode and queue one PUBLISH.  pid 0 for QoS > 0 allocates a new id and
 * an mq_out entry (positioned at m->part/m->offset, or holding `held`).
 * SENT, SKIP (expired, too large: done with it) or BLOCKED (cannot now).
 */
static int
send_publish(mq_session *ss, const mq_msg *m, uint8_t qos, bool retain,
             const uint32_t *ids, size_t nids, bool dup, uint16_t pid,
             mq_retained *held)
{
    mq_conn *c = ss->conn;
    if (c == NULL || c->dead || c->state != MQ_CS_CONNECTED)
        return BLOCKED;
    mq_server *s = c->srv;
    int64_t now = sl_now_ms();
    if (!mq__acl(c, m->topic, MQ_ACL_READ)) {
        s->st.acl_denied++;
        return SKIP;
    }
    if (m->expiry_ms > 0 && now >= m->expiry_ms) {
        s->st.expired++;
        return SKIP;
    }
    if (qos == 0 &&
        fe_conn_queued(c->fe) + c->gate.n >= (size_t)s->cfg->conn_max_out) {
        s->st.dropped_qos0++;
        return SKIP;
    }
    if (qos > 0 && pid == 0 && !can_take(ss, qos))
        return BLOCKED;
    mq_prop fixed[24];
    mq_prop *pv = fixed;
    size_t cap = 8 + m->nuprops + nids;
    if (cap > SL_ARRAY_LEN(fixed)) {
        pv = malloc(cap * sizeof(*pv));
        if (pv == NULL)
            return BLOCKED;
    }
    size_t np = 0;
    mq_publish p;
    memset(&p, 0, sizeof(p));
    p.dup = dup && qos > 0;
    p.qos = qos;
    p.retain = retain;
    p.topic = m->topic;
    p.payload = m->payload;
    int new_alias = 0;
    if (c->version == MQ_V5) {
        if (m->has_pfi)
            pv[np++] = (mq_prop){
                MQ_P_PAYLOAD_FORMAT_INDICATOR, m->pfi, {NULL, 0}, {NULL, 0}};
        if (m->expiry_ms > 0) {
            uint32_t left = (uint32_t)((m->expiry_ms - now + 999) / 1000);
            pv[np++] = (mq_prop){MQ_P_MESSAGE_EXPIRY_INTERVAL,
                                 left ? left : 1,
                                 {NULL, 0},
                                 {NULL, 0}};
        }
        if (m->has_ct)
            pv[np++] = (mq_prop){MQ_P_CONTENT_TYPE, 0, m->ct, {NULL, 0}};
        if (m->has_rt)
            pv[np++] = (mq_prop){MQ_P_RESPONSE_TOPIC, 0, m->rt, {NULL, 0}};
        if (m->has_cd)
            pv[np++] = (mq_prop){MQ_P_CORRELATION_DATA, 0, m->cd, {NULL, 0}};
        for (size_t i = 0; i < m->nuprops; i++)
            pv[np++] = m->uprops[i];
        for (size_t i = 0; i < nids; i++)
            pv[np++] = (mq_prop){
                MQ_P_SUBSCRIPTION_IDENTIFIER, ids[i], {NULL, 0}, {NULL, 0}};
        if (c->alias_max_out > 0) {
            uint16_t a = 0;
            for (uint16_t i = 0; i < c->nalias_out && a == 0; i++)
                if (strlen(c->alias_out[i]) == m->topic.n &&
                    memcmp(c->alias_out[i], m->topic.p, m->topic.n) == 0)
                    a = (uint16_t)(i + 1);
            if (a != 0) {
                p.topic = sl_slice_make(NULL, 0);
            } else if (c->nalias_out <
                       SL_MIN(c->alias_max_out, (uint16_t)ALIAS_OUT_CAP)) {
                a = (uint16_t)(c->nalias_out + 1);
                new_alias = 1;
            }
            if (a != 0)
                pv[np++] = (mq_prop){MQ_P_TOPIC_ALIAS, a, {NULL, 0}, {NULL, 0}};
        }
    }
    p.props.v = pv;
    p.props.n = np;
    mq_packet pk;
    pk.type = MQ_PUBLISH;
    p.packet_id = qos > 0 ? (pid ? pid : 1) : 0;
    pk.u.publish = p;
    size_t size = 0;
    int rc = mq_packet_size(c->version, &pk, &size);
    if (rc != 0 || size > c->max_out_packet) {
        /* [MQTT-3.1.2-24]: discarded as if sent. */
        if (pv != fixed)
            free(pv);
        s->st.dropped_too_big++;
        return SKIP;
    }
    if (qos > 0 && pid == 0) {
        mq_out *o = out_add(ss);
        if (o == NULL) {
            if (pv != fixed)
                free(pv);
            return BLOCKED;
        }
        o->pid = pid_alloc(ss);
        o->qos = qos;
        o->state = qos == 1 ? MQ_OUT_ACK : MQ_OUT_REC;
        o->part = held ? -1 : m->part;
        o->off = m->offset;
        o->held = held;
        if (held)
            mq__retained_hold(held);
        pk.u.publish.packet_id = o->pid;
    }
    sl_buf_reset(&s->out);
    rc = mq_publish_encode(&s->out, c->version, &pk.u.publish);
    if (pv != fixed)
        free(pv);
    if (rc != 0)
        return SKIP;
    if (new_alias) {
        char *t = malloc(m->topic.n + 1);
        if (c->alias_out == NULL)
            c->alias_out = calloc(ALIAS_OUT_CAP, sizeof(char *));
        if (t != NULL && c->alias_out != NULL) {
            memcpy(t, m->topic.p, m->topic.n);
            t[m->topic.n] = 0;
            c->alias_out[c->nalias_out++] = t;
        } else {
            /* Cannot remember it: the alias must not be announced.  Sent
             * as encoded; a client that saw the alias and never sees it
             * again loses nothing. */
            free(t);
        }
    }
    out_send(c, &s->out, qos == 2 && pid == 0 && held == NULL && gated(ss));
    s->st.msgs_out++;
    s->st.bytes_out += m->payload.n;
    if (m->part >= 0 && m->ts > 0 && !dup) {
        /* Publish to deliver: from the record's timestamp (the receiving
         * frontend's clock for MQTT publishes, the producer's for Kafka
         * records) to the PUBLISH queued on the socket. */
        int64_t lat = now - m->ts;
        sl_histo_observe(s->h_deliver, lat > 0 ? (double)lat / 1e3 : 0.0);
    }
    return SENT;
}

/* ---- matching --------------------------------------------------------------
 */

typedef struct dctx {
    mq_server *s;
    const mq_msg *m;
    uint32_t gen;
    mq_session *list;
    int from_tail;
} dctx;

static bool
is_own(const mq_session *ss, const mq_msg *m)
{
    return m->cid.n == ss->cid_n && memcmp(m->cid.p, ss->cid, ss->cid_n) == 0;
}

static void
aggregate(dctx *d, mq_session *ss, const mq_subent *e)
{
    const mq_msg *m = d->m;
    uint8_t q = SL_MIN(e->qos, m->qos);
    if (ss->m_gen != d->gen) {
        ss->m_gen = d->gen;
        ss->m_qos = q;
        ss->m_rap = e->rap;
        ss->m_nids = 0;
        ss->m_next = d->list;
        d->list = ss;
    } else {
        ss->m_qos = SL_MAX(ss->m_qos, q);
        ss->m_rap = ss->m_rap || e->rap;
    }
    if (e->id != 0 && ss->m_nids < SL_ARRAY_LEN(ss->m_ids))
        ss->m_ids[ss->m_nids++] = e->id;
}

static void
on_sub(void *arg, mq_subent *e)
{
    dctx *d = arg;
    mq_session *ss = e->sess;
    if (ss->gone)
        return;
    const mq_cursor *cur = &ss->cur[d->m->part];
    if (!cur->live || d->m->offset < cur->next)
        return;
    if (e->no_local && is_own(ss, d->m))
        return;
    if (d->m->ts < e->since_ms)
        return; /* published before this subscription existed */
    aggregate(d, ss, e);
}

/*
 * Send m to the next member of share group g that can take it now, round
 * robin.  `have` is the message's held copy when there is one already (a
 * redispatch); (part, off) its log position, remembered with the copy so
 * that the group's committed position stays below it until it is
 * acknowledged.  SENT (to a member; also a QoS 0 message nobody could
 * take, dropped and counted) or BLOCKED (QoS 1/2 and no member has a free
 * slot: the caller keeps it in the log or waiting).
 */
static int
share_send(mq_server *s, mq_sgroup *g, const mq_msg *m, mq_retained *have,
           bool dup, int32_t part, int64_t off, const mq_session *except)
{
    for (uint32_t k = 0; k < g->n; k++) {
        uint32_t i = (g->rr + k) % g->n;
        mq_subent *e = g->members[i];
        mq_session *ss = e->sess;
        uint8_t q = SL_MIN(e->qos, m->qos);
        if (ss == except || ss->gone || !can_take(ss, q))
            continue;
        mq_retained *held = NULL;
        if (q > 0) {
            /* The member's cursor does not cover this message: keep its
             * bytes for a resend or a redispatch. */
            held = have;
            if (held != NULL) {
                mq__retained_hold(held);
            } else {
                held = calloc(1, sizeof(*held));
                if (held == NULL ||
                    mq__msg_blob(m, &held->blob, &held->n) != 0) {
                    free(held);
                    return BLOCKED;
                }
                held->refs = 1;
            }
        }
        uint32_t id = e->id;
        size_t before = ss->nout;
        int r = send_publish(ss, m, q, e->rap && m->retain, &id, id ? 1 : 0,
                             dup, 0, held);
        mq__retained_rele(held);
        if (r == BLOCKED)
            continue;
        if (ss->nout > before) { /* remember the group for a redispatch */
            mq_out *o = &ss->out[ss->nout - 1];
            o->share = strdup(e->filter);
            o->sh_part = part;
            o->sh_off = off;
        }
        g->rr = i + 1;
        return SENT;
    }
    if (m->qos == 0) {
        s->st.dropped_qos0++;
        return SENT;
    }
    return BLOCKED;
}

/* From the tail: the group delivers the messages of the partitions it was
 * assigned (mq_share.c), each to one of this process's members; other
 * instances deliver the rest.  A message no member can take now stops the
 * group's cursor there: it is read again from the log later. */
static void
on_group(void *arg, mq_sgroup *g)
{
    dctx *d = arg;
    const mq_msg *m = d->m;
    mq_shgroup *sh = g->co;
    if (sh == NULL || m->part < 0 || m->part >= d->s->nparts)
        return;
    int32_t p = m->part;
    mq_cursor *cur = &sh->cur[p];
    if (sh->state != MQ_SH_STABLE || !sh->owned[p] || !cur->live ||
        m->offset < cur->next)
        return;
    if ((sh->fresh[p] && m->ts < sh->born_ms) ||
        share_send(d->s, g, m, NULL, false, p, m->offset, NULL) != BLOCKED) {
        cur->next = m->offset + 1;
    } else {
        cur->live = 0;
        cur->next = m->offset;
    }
}

static void
on_sub_local(void *arg, mq_subent *e)
{
    dctx *d = arg;
    if (!e->sess->gone && e->sess->conn != NULL)
        aggregate(d, e->sess, e);
}

static void
on_group_local(void *arg, mq_sgroup *g)
{
    dctx *d = arg;
    for (uint32_t k = 0; k < g->n; k++) {
        mq_subent *e = g->members[(g->rr + k) % g->n];
        if (e->sess->gone || e->sess->conn == NULL)
            continue;
        g->rr = (g->rr + k + 1) % g->n;
        send_publish(e->sess, d->m, 0, false, &e->id, e->id ? 1 : 0, false, 0,
                     NULL);
        return;
    }
}

void
mq__deliver_local(mq_server *s, const mq_msg *m)
{
    dctx d = {s, m, ++s->gen, NULL, 0};
    mq__trie_match(s->subs_root, m->topic, on_sub_local, on_group_local, &d);
    for (mq_session *ss = d.list; ss != NULL; ss = ss->m_next)
        send_publish(ss, m, 0, false, ss->m_ids, ss->m_nids, false, 0, NULL);
}

/* Deliver record m (from the tail) to every live matching session. */
static void
dispatch(mq_server *s, const mq_msg *m)
{
    dctx d = {s, m, ++s->gen, NULL, 1};
    mq__trie_match(s->subs_root, m->topic, on_sub, on_group, &d);
    for (mq_session *ss = d.list; ss != NULL; ss = ss->m_next) {
        mq_cursor *cur = &ss->cur[m->part];
        int r = send_publish(ss, m, ss->m_qos, ss->m_rap && m->retain,
                             ss->m_ids, ss->m_nids, false, 0, NULL);
        if (r == BLOCKED) {
            /* Held in the log: the session reads from here when it can. */
            cur->live = 0;
            cur->next = m->offset;
        } else {
            cur->next = m->offset + 1;
        }
    }
}

/* ---- reading batches ------------------------------------------------------
 */

const char *const mq_skip_reasons[MQ_SKIP_N] = {
    "no_key",   "empty_key",  "invalid_topic",
    "too_long", "bad_record", "compressed",
};

static bool tail_rec(void *arg, mq_msg *m);

/* A record that cannot be delivered over MQTT: counted once per process
 * (by the shared tail; sessions' own reads pass it again), logged at debug
 * only (a producer may write millions of them). */
static void
skip(mq_server *s, int reason, int32_t part, int64_t off, int64_t n, bool count)
{
    if (!count)
        return;
    s->st.skipped[reason] += (uint64_t)n;
    sl_slice t = mq__gp_topic(s, part);
    sl_log(SL_LOG_DEBUG, "MQ-SKIP",
           "topic=%.*s partition=%d offset=%lld records=%lld reason=%s",
           (int)t.n, (const char *)t.p, (int)mq__gp_part(s, part),
           (long long)off, (long long)n, mq_skip_reasons[reason]);
}

/* Apply the log topic's Kafka-to-MQTT options to a decoded record (the
 * topic header, the default QoS) and check that what is left is a topic
 * an MQTT client may receive.  -1 or the MQ_SKIP_* reason. */
static int
bridge_record(mq_server *s, int32_t part, const sl_record *rec, int drc,
              mq_msg *m)
{
    const mq_ltopic *l = &s->lt[s->gp_t[part]];
    if (drc != 0)
        return MQ_SKIP_BAD_RECORD; /* headers that do not decode */
    if (l->topic_header != NULL) {
        for (size_t i = 0; i < m->nuprops; i++)
            if (sl_slice_eq_str(m->uprops[i].s, l->topic_header)) {
                m->topic = m->uprops[i].v;
                memmove(&m->uprops[i], &m->uprops[i + 1],
                        (m->nuprops - i - 1) * sizeof(*m->uprops));
                m->nuprops--;
                break;
            }
    }
    if (m->topic.n == 0)
        return rec->key_null && m->topic.p == NULL ? MQ_SKIP_NO_KEY
                                                   : MQ_SKIP_EMPTY_KEY;
    if (m->topic.n > 65535)
        return MQ_SKIP_TOO_LONG;
    if (mq_topic_name_check(m->topic) != 0)
        return MQ_SKIP_INVALID_TOPIC;
    if (!m->has_qos)
        m->qos = l->qos_default;
    return -1;
}

/* Call fn for every record at or past `from` in the batches of data.
 * fn returns false to stop.  Returns the offset after the last record
 * handed over (or `from` when none), or -1 - offset when stopped at one. */
typedef bool (*rec_fn)(void *arg, mq_msg *m);

static int64_t
walk(mq_server *s, int32_t part, sl_slice data, int64_t from, rec_fn fn,
     void *arg)
{
    sl_slice rest = data;
    int64_t next = from;
    while (rest.n > 0) {
        sl_batch_hdr h;
        sl_slice b;
        if (sl_batch_next(&rest, 0, &h, &b) != 0)
            break;
        int64_t last = sl_batch_last_offset(&h);
        if (last < next)
            continue;
        if (sl_batch_compression(&h) != 0 ||
            (h.attributes & SL_BATCH_ATTR_CONTROL)) {
            /* Not ours (a Kafka producer writing into the MQTT topic with
             * compression, or a control batch): nothing to deliver. */
            if (!(h.attributes & SL_BATCH_ATTR_CONTROL))
                skip(s, MQ_SKIP_COMPRESSED, part, SL_MAX(next, h.base_offset),
                     last + 1 - SL_MAX(next, h.base_offset), fn == tail_rec);
            next = last + 1;
            continue;
        }
        sl_rd r;
        sl_rd_init(&r, sl_batch_records(b));
        for (int32_t i = 0; i < h.record_count; i++) {
            sl_record rec;
            if (sl_record_next(&r, &rec) != 0)
                break;
            int64_t off = h.base_offset + rec.offset_delta;
            if (off < next)
                continue;
            mq_msg m;
            int why = bridge_record(s, part, &rec,
                                    mq__msg_from_record(s, &rec, &m), &m);
            if (why >= 0) {
                skip(s, why, part, off, 1, fn == tail_rec);
            } else {
                m.part = part;
                m.offset = off;
                m.ts = h.base_timestamp + rec.timestamp_delta;
                if (!fn(arg, &m))
                    return -1 - off;
            }
            next = off + 1;
        }
        next = SL_MAX(next, last + 1);
    }
    return next;
}

/* The bytes of one READ result: a held view or the inline data. */
static int
result_bytes(mq_server *s, const ipc_read_result *res, ipc_seg_view *v,
             sl_slice *out)
{
    v->map_ = NULL;
    if (res->kind == IPC_READ_DESCRIPTOR) {
        int rc =
            ipc_client_map(s->ipc, res->path, res->position, res->length, v);
        if (rc != 0)
            return rc;
        *out = v->bytes;
        return 0;
    }
    if (res->kind == IPC_READ_INLINE_DATA) {
        *out = res->data;
        return 0;
    }
    *out = sl_slice_make(NULL, 0);
    return 0;
}

/* ---- the tail ---------------------------------------------------------------
 */

typedef struct tail_req {
    mq_server *s;
    int32_t *parts;
    size_t n;
} tail_req;

static bool
tail_rec(void *arg, mq_msg *m)
{
    mq_server *s = arg;
    s->tail_next[m->part] = m->offset;
    dispatch(s, m);
    return true;
}

static void tail_read(mq_server *s, bool all);

static void
on_tail_read(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    tail_req *q = arg;
    mq_server *s = q->s;
    ipc_read_rep m;
    for (size_t i = 0; i < q->n; i++)
        s->tail_reading[q->parts[i]] = 0;
    if (rc != 0 || h->status != 0 || ipc_read_rep_decode(body, &m) != 0 ||
        m.count != q->n) {
        s->st.ipc_errors++;
        free(q->parts);
        free(q);
        return; /* the poll timer tries again */
    }
    ipc_read_result res;
    bool again = false;
    for (size_t i = 0; ipc_read_rep_next(&m, &res) == 1; i++) {
        int32_t p = q->parts[i];
        if (res.status == SL_E_RANGE) {
            s->tail_next[p] = res.log_start > s->tail_next[p]
                                  ? res.log_start
                                  : res.high_watermark;
            again = true;
            continue;
        }
        if (res.status != 0)
            continue;
        s->tail_hw[p] = SL_MAX(s->tail_hw[p], res.high_watermark);
        ipc_seg_view v;
        sl_slice data;
        if (result_bytes(s, &res, &v, &data) != 0) {
            again = true;
            continue;
        }
        int64_t next = walk(s, p, data, s->tail_next[p], tail_rec, s);
        if (v.map_ != NULL)
            ipc_seg_view_release(&v);
        s->tail_next[p] = SL_MAX(s->tail_next[p], next);
        if (s->tail_hw[p] > s->tail_next[p])
            again = true;
    }
    free(q->parts);
    free(q);
    if (again)
        tail_read(s, false);
}

static void
tail_read(mq_server *s, bool all)
{
    ipc_read_entry *e = calloc((size_t)s->nparts, sizeof(*e));
    int32_t *parts = calloc((size_t)s->nparts, sizeof(*parts));
    tail_req *q = calloc(1, sizeof(*q));
    if (e == NULL || parts == NULL || q == NULL)
        goto out;
    size_t n = 0;
    for (int32_t p = 0; p < s->nparts; p++) {
        if (s->tail_reading[p] || (!all && s->tail_hw[p] <= s->tail_next[p]))
            continue;
        e[n] =
            (ipc_read_entry){mq__gp_topic(s, p), mq__gp_part(s, p),
                             s->tail_next[p], (int32_t)s->cfg->read_max_bytes};
        parts[n++] = p;
    }
    if (n == 0)
        goto out;
    sl_buf b = {0};
    int rc = ipc_read_req_encode(&b, s->is_local ? 0 : IPC_READ_INLINE, e, n);
    q->s = s;
    q->parts = parts;
    q->n = n;
    if (rc == 0)
        rc = ipc_client_request(s->ipc, sl_slice_make(b.p, b.n), on_tail_read,
                                q);
    sl_buf_fini(&b);
    if (rc != 0) {
        s->st.ipc_errors++;
        goto out;
    }
    s->st.reads++;
    for (size_t i = 0; i < n; i++)
        s->tail_reading[parts[i]] = 1;
    free(e);
    return;
out:
    free(e);
    free(parts);
    free(q);
}

void
mq__tail_read(mq_server *s)
{
    tail_read(s, false);
}

void
mq__tail_poll(mq_server *s)
{
    tail_read(s, true);
}

void
mq__tail_event(mq_server *s, const ipc_event *e)
{
    if (e->op != IPC_EVT_ADVANCE)
        return;
    int32_t g = mq__gp(s, e->topic, e->partition);
    if (g < 0)
        return;
    if (e->high_watermark > s->tail_hw[g])
        s->tail_hw[g] = e->high_watermark;
    if (s->tail_hw[g] > s->tail_next[g])
        tail_read(s, false);
}

/* ---- a session's own reads --------------------------------------------------
 */

typedef struct sess_req {
    mq_session *ss;
    int32_t *parts;
    size_t n;
} sess_req;

typedef struct sctx {
    mq_session *ss;
    int32_t part;
} sctx;

static bool
sess_rec(void *arg, mq_msg *m)
{
    sctx *x = arg;
    mq_session *ss = x->ss;
    mq_cursor *cur = &ss->cur[m->part];
    if (m->offset < cur->redo_end) {
        /* Replaying what was sent before the reconnect: only messages
         * still unacknowledged go again, with DUP and their id. */
        for (size_t i = 0; i < ss->nout; i++) {
            mq_out *o = &ss->out[i];
            if (o->resend && o->part == m->part && o->off == m->offset) {
                o->resend = false;
                bool retain = false;
                for (mq_subent *e = ss->subs; e; e = e->next)
                    if (e->rap && m->retain &&
                        mq_topic_match(e->match, m->topic))
                        retain = true;
                if (send_publish(ss, m, o->qos, retain, NULL, 0, true, o->pid,
                                 NULL) == SKIP) {
                    /* Expired or too large for the new connection: it
                     * will never be acknowledged, so it is done. */
                    out_del(ss, i);
                }
                break;
            }
        }
        cur->next = m->offset + 1;
        return true;
    }
    uint8_t qos = 0;
    bool any = false, rap = false;
    uint32_t ids[16];
    size_t nids = 0;
    for (mq_subent *e = ss->subs; e != NULL; e = e->next) {
        if (e->group.n != 0 || m->ts < e->since_ms ||
            !mq_topic_match(e->match, m->topic))
            continue;
        if (e->no_local && is_own(ss, m))
            continue;
        qos =
            any ? SL_MAX(qos, SL_MIN(e->qos, m->qos)) : SL_MIN(e->qos, m->qos);
        any = true;
        rap = rap || e->rap;
        if (e->id && nids < SL_ARRAY_LEN(ids))
            ids[nids++] = e->id;
    }
    if (any) {
        int r = send_publish(ss, m, qos, rap && m->retain, ids, nids, false, 0,
                             NULL);
        if (r == BLOCKED)
            return false;
    }
    cur->next = m->offset + 1;
    return true;
}

/* Drop remembered messages of partition p that the replay passed without
 * finding (removed by retention meanwhile). */
static void
redo_done(mq_session *ss, int32_t p)
{
    for (size_t i = 0; i < ss->nout;) {
        mq_out *o = &ss->out[i];
        if (o->resend && o->part == p && o->off < ss->cur[p].next)
            out_del(ss, i);
        else
            i++;
    }
    ss->cur[p].redo_end = 0;
}

static void
on_sess_read(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    sess_req *q = arg;
    mq_session *ss = q->ss;
    mq_conn *c = ss->conn;
    ipc_read_rep m;
    for (size_t i = 0; i < q->n; i++)
        ss->cur[q->parts[i]].reading = 0;
    bool ok = rc == 0 && h->status == 0 && ipc_read_rep_decode(body, &m) == 0 &&
              m.count == q->n;
    bool again = false;
    if (ok && !ss->gone && c != NULL) {
        mq_server *s = c->srv;
        ipc_read_result res;
        for (size_t i = 0; ipc_read_rep_next(&m, &res) == 1; i++) {
            int32_t p = q->parts[i];
            mq_cursor *cur = &ss->cur[p];
            if (cur->live)
                continue;
            if (res.status == SL_E_RANGE) {
                cur->next = cur->next < res.log_start ? res.log_start
                                                      : res.high_watermark;
                again = true;
                continue;
            }
            if (res.status != 0)
                continue;
            ipc_seg_view v;
            sl_slice data;
            if (result_bytes(s, &res, &v, &data) != 0) {
                again = true;
                continue;
            }
            sctx x = {ss, p};
            int64_t next = walk(s, p, data, cur->next, sess_rec, &x);
            if (v.map_ != NULL)
                ipc_seg_view_release(&v);
            if (next < 0) /* blocked: a slot or the socket frees later */
                continue;
            cur->next = SL_MAX(cur->next, next);
            if (cur->redo_end && cur->next >= cur->redo_end)
                redo_done(ss, p);
            if (res.kind == IPC_READ_NONE || cur->next >= s->tail_next[p]) {
                if (cur->next >= s->tail_next[p] && cur->redo_end == 0)
                    cur->live = 1;
                else
                    again = true;
            } else {
                again = true;
            }
        }
    }
    free(q->parts);
    free(q);
    if (again && !ss->gone)
        session_read(ss);
    mq__session_rele(ss);
}

static void
session_read(mq_session *ss)
{
    mq_conn *c = ss->conn;
    if (ss->gone || c == NULL || c->dead || c->state != MQ_CS_CONNECTED)
        return;
    mq_server *s = c->srv;
    if (!s->ready)
        return;
    ipc_read_entry *e = calloc((size_t)ss->nparts, sizeof(*e));
    int32_t *parts = calloc((size_t)ss->nparts, sizeof(*parts));
    sess_req *q = calloc(1, sizeof(*q));
    if (e == NULL || parts == NULL || q == NULL)
        goto out;
    size_t n = 0;
    for (int32_t p = 0; p < ss->nparts; p++) {
        mq_cursor *cur = &ss->cur[p];
        if (cur->live || cur->reading)
            continue;
        e[n] = (ipc_read_entry){
            mq__gp_topic(s, p), mq__gp_part(s, p), cur->next,
            (int32_t)SL_MIN(s->cfg->read_max_bytes, 256 << 10)};
        parts[n++] = p;
    }
    if (n == 0)
        goto out;
    sl_buf b = {0};
    int rc = ipc_read_req_encode(&b, s->is_local ? 0 : IPC_READ_INLINE, e, n);
    q->ss = ss;
    q->parts = parts;
    q->n = n;
    if (rc == 0)
        rc = ipc_client_request(s->ipc, sl_slice_make(b.p, b.n), on_sess_read,
                                q);
    sl_buf_fini(&b);
    if (rc != 0) {
        s->st.ipc_errors++;
        goto out;
    }
    s->st.reads++;
    mq__session_hold(ss);
    for (size_t i = 0; i < n; i++)
        ss->cur[parts[i]].reading = 1;
    free(e);
    return;
out:
    free(e);
    free(parts);
    free(q);
}

/* ---- a share group's own reads ----------------------------------------------
 *
 * A share group whose cursor on one of its partitions is behind the tail
 * (it was just assigned the partition and resumes from the committed
 * position, or no member could take a message) reads the log for itself,
 * like a session, until it has caught up.  Messages below redo_end may
 * have been sent before (by the partition's previous owner) and go out
 * with DUP.
 */

typedef struct share_req {
    mq_shgroup *sh;
    int32_t *parts;
    size_t n;
} share_req;

typedef struct shctx {
    mq_server *s;
    mq_shgroup *sh;
    mq_sgroup *g;
} shctx;

static void share_read(mq_server *s, mq_shgroup *sh);

static bool
share_rec(void *arg, mq_msg *m)
{
    shctx *x = arg;
    mq_shgroup *sh = x->sh;
    mq_cursor *cur = &sh->cur[m->part];
    if (mq_topic_match(sh->filter, m->topic) &&
        !(sh->fresh[m->part] && m->ts < sh->born_ms)) {
        /* Below redo_end it may have been delivered by the partition's
         * previous owner: DUP says so. */
        if (share_send(x->s, x->g, m, NULL, m->offset < cur->redo_end, m->part,
                       m->offset, NULL) == BLOCKED)
            return false;
    }
    cur->next = m->offset + 1;
    return true;
}

static void
on_share_read(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    share_req *q = arg;
    mq_shgroup *sh = q->sh;
    mq_server *s = sh->s;
    ipc_read_rep m;
    for (size_t i = 0; i < q->n; i++)
        sh->cur[q->parts[i]].reading = 0;
    bool ok = rc == 0 && h->status == 0 && ipc_read_rep_decode(body, &m) == 0 &&
              m.count == q->n;
    bool again = false;
    mq_sgroup *g = ok && sh->state == MQ_SH_STABLE
                       ? mq__trie_group(s->subs_root, sh->filter, sh->group)
                       : NULL;
    if (!ok)
        s->st.ipc_errors++;
    if (g != NULL) {
        ipc_read_result res;
        for (size_t i = 0; ipc_read_rep_next(&m, &res) == 1; i++) {
            int32_t p = q->parts[i];
            mq_cursor *cur = &sh->cur[p];
            if (cur->live || !sh->owned[p])
                continue;
            if (res.status == SL_E_RANGE) {
                cur->next = cur->next < res.log_start ? res.log_start
                                                      : res.high_watermark;
                again = true;
                continue;
            }
            if (res.status != 0)
                continue;
            ipc_seg_view v;
            sl_slice data;
            if (result_bytes(s, &res, &v, &data) != 0) {
                again = true;
                continue;
            }
            shctx x = {s, sh, g};
            int64_t next = walk(s, p, data, cur->next, share_rec, &x);
            if (v.map_ != NULL)
                ipc_seg_view_release(&v);
            if (next < 0) /* blocked: a member frees a slot later */
                continue;
            cur->next = SL_MAX(cur->next, next);
            if (cur->next >= s->tail_next[p]) {
                cur->live = 1;
                cur->redo_end = 0;
            } else if (res.kind != IPC_READ_NONE) {
                again = true;
            }
        }
    }
    free(q->parts);
    free(q);
    if (again)
        share_read(s, sh);
    mq__share_rele(sh);
}

static void
share_read(mq_server *s, mq_shgroup *sh)
{
    if (sh->state != MQ_SH_STABLE || !s->ready)
        return;
    int32_t behind = 0;
    for (int32_t p = 0; p < s->nparts && behind == 0; p++)
        behind = sh->owned[p] && !sh->cur[p].live && !sh->cur[p].reading;
    if (behind == 0)
        return; /* the common case: every partition follows the tail */
    ipc_read_entry *e = calloc((size_t)s->nparts, sizeof(*e));
    int32_t *parts = calloc((size_t)s->nparts, sizeof(*parts));
    share_req *q = calloc(1, sizeof(*q));
    if (e == NULL || parts == NULL || q == NULL)
        goto out;
    size_t n = 0;
    for (int32_t p = 0; p < s->nparts; p++) {
        mq_cursor *cur = &sh->cur[p];
        if (!sh->owned[p] || cur->live || cur->reading)
            continue;
        e[n] = (ipc_read_entry){
            mq__gp_topic(s, p), mq__gp_part(s, p), cur->next,
            (int32_t)SL_MIN(s->cfg->read_max_bytes, 256 << 10)};
        parts[n++] = p;
    }
    if (n == 0)
        goto out;
    sl_buf b = {0};
    int rc = ipc_read_req_encode(&b, s->is_local ? 0 : IPC_READ_INLINE, e, n);
    q->sh = sh;
    q->parts = parts;
    q->n = n;
    if (rc == 0)
        rc = ipc_client_request(s->ipc, sl_slice_make(b.p, b.n), on_share_read,
                                q);
    sl_buf_fini(&b);
    if (rc != 0) {
        s->st.ipc_errors++;
        goto out;
    }
    s->st.reads++;
    mq__share_hold(sh);
    for (size_t i = 0; i < n; i++)
        sh->cur[parts[i]].reading = 1;
    free(e);
    return;
out:
    free(e);
    free(parts);
    free(q);
}

void
mq__share_pend_clear(mq_shgroup *sh)
{
    for (size_t i = 0; i < sh->npend; i++)
        mq__retained_rele(sh->pend[i].held);
    sh->npend = 0;
}

static int
share_pend_add(mq_shgroup *sh, mq_retained *held, uint8_t qos, int32_t part,
               int64_t off)
{
    if (sh->npend == sh->cappend) {
        size_t cap = sh->cappend ? sh->cappend * 2 : 16;
        mq_spend *v = realloc(sh->pend, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        sh->pend = v;
        sh->cappend = cap;
    }
    mq__retained_hold(held);
    sh->pend[sh->npend++] = (mq_spend){held, qos, part, off};
    return 0;
}

void
mq__share_kick(mq_server *s, mq_shgroup *sh)
{
    if (sh->state != MQ_SH_STABLE)
        return;
    mq_sgroup *g = mq__trie_group(s->subs_root, sh->filter, sh->group);
    if (g == NULL)
        return;
    size_t i = 0;
    while (i < sh->npend) {
        mq_spend *pd = &sh->pend[i];
        mq_msg m;
        if (mq__msg_from_blob(s, sl_slice_make(pd->held->blob, pd->held->n),
                              &m) == 0) {
            m.part = -1;
            m.offset = -1;
            if (share_send(s, g, &m, pd->held, false, pd->part, pd->off,
                           NULL) == BLOCKED)
                break;
        }
        mq__retained_rele(pd->held);
        i++;
    }
    if (i > 0) {
        memmove(sh->pend, sh->pend + i, (sh->npend - i) * sizeof(*sh->pend));
        sh->npend -= i;
    }
    bool room = false;
    for (uint32_t k = 0; k < g->n && !room; k++)
        room = !g->members[k]->sess->gone && can_take(g->members[k]->sess, 1);
    if (room && sh->npend == 0)
        share_read(s, sh);
}

size_t
mq__share_inflight(mq_server *s, mq_shgroup *sh, int64_t *pos)
{
    size_t n = 0;
    mq_sgroup *g = mq__trie_group(s->subs_root, sh->filter, sh->group);
    for (uint32_t k = 0; g != NULL && k < g->n; k++) {
        mq_session *ss = g->members[k]->sess;
        for (size_t i = 0; i < ss->nout; i++) {
            const mq_out *o = &ss->out[i];
            if (o->share == NULL || o->state == MQ_OUT_COMP || o->sh_part < 0 ||
                o->sh_part >= s->nparts || strcmp(o->share, sh->name) != 0)
                continue;
            n++;
            if (o->sh_off < pos[o->sh_part])
                pos[o->sh_part] = o->sh_off;
        }
    }
    for (size_t i = 0; i < sh->npend; i++) {
        const mq_spend *pd = &sh->pend[i];
        if (pd->part >= 0 && pd->part < s->nparts && pd->off < pos[pd->part])
            pos[pd->part] = pd->off;
    }
    return n;
}

/* ---- retained on subscribe, pending copies ---------------------------------
 */

static int
send_held(mq_session *ss, mq_retained *r, uint8_t qos, uint32_t subid,
          bool retain_flag, bool dup, uint16_t pid)
{
    mq_conn *c = ss->conn;
    if (c == NULL)
        return BLOCKED;
    mq_msg m;
    if (mq__msg_from_blob(c->srv, sl_slice_make(r->blob, r->n), &m) != 0)
        return SKIP;
    m.part = -1;
    m.offset = -1;
    return send_publish(ss, &m, SL_MIN(qos, m.qos), retain_flag, &subid,
                        subid ? 1 : 0, dup, pid, r);
}

static void
pend_drain(mq_session *ss)
{
    size_t i = 0;
    if (ss->suback_wait > 0)
        return; /* retained messages follow their SUBACK */
    while (i < ss->npend) {
        mq_pend *pd = &ss->pend[i];
        int r = send_held(ss, pd->r, pd->qos, pd->subid, true, false, 0);
        if (r == BLOCKED)
            break;
        mq__retained_rele(pd->r);
        i++;
    }
    if (i > 0) {
        memmove(ss->pend, ss->pend + i, (ss->npend - i) * sizeof(*ss->pend));
        ss->npend -= i;
    }
}

void
mq__deliver_retained(mq_session *ss, mq_retained *r, uint8_t qos,
                     uint32_t subid)
{
    if (ss->npend == 0 && ss->suback_wait == 0 &&
        send_held(ss, r, qos, subid, true, false, 0) != BLOCKED)
        return;
    if (ss->npend == ss->cappend) {
        size_t cap = ss->cappend ? ss->cappend * 2 : 16;
        mq_pend *v = realloc(ss->pend, cap * sizeof(*v));
        if (v == NULL)
            return;
        ss->pend = v;
        ss->cappend = cap;
    }
    mq__retained_hold(r);
    ss->pend[ss->npend++] = (mq_pend){r, qos, subid};
}

void
mq__session_kick(mq_session *ss)
{
    if (ss->conn == NULL || ss->gone)
        return;
    pend_drain(ss);
    session_read(ss);
    /* A slot freed: the share groups it is in may go on. */
    mq_server *s = ss->conn->srv;
    for (mq_subent *e = ss->subs; e != NULL; e = e->next) {
        if (e->group.n == 0)
            continue;
        mq_sgroup *g = mq__trie_group(s->subs_root, e->match, e->group);
        if (g != NULL && g->co != NULL)
            mq__share_kick(s, g->co);
    }
}

void
mq__share_redispatch(mq_server *s, mq_session *ss)
{
    for (size_t i = 0; i < ss->nout;) {
        mq_out *o = &ss->out[i];
        if (o->share == NULL || o->held == NULL || o->state == MQ_OUT_COMP) {
            i++;
            continue;
        }
        mq_share sh;
        mq_msg m;
        mq_sgroup *g = NULL;
        if (mq_topic_share_parse(sl_slice_str(o->share), &sh) == 1)
            g = mq__trie_group(s->subs_root, sh.filter, sh.group);
        bool done = false;
        if (g != NULL &&
            mq__msg_from_blob(s, sl_slice_make(o->held->blob, o->held->n),
                              &m) == 0) {
            m.part = -1;
            m.offset = -1;
            done = share_send(s, g, &m, o->held, false, o->sh_part, o->sh_off,
                              ss) == SENT;
            /* No other member has a slot now: the group keeps it for the
             * next that has.  A group that is no longer delivering
             * committed a position below it: the next owner sends it. */
            if (!done && g->co != NULL &&
                (g->co->state == MQ_SH_STABLE ||
                 g->co->state == MQ_SH_REVOKING))
                done = share_pend_add(g->co, o->held, o->qos, o->sh_part,
                                      o->sh_off) == 0;
        }
        if (!done)
            s->st.dropped_qos0++; /* counted with the undeliverable */
        out_del(ss, i);
    }
}

void
mq__session_resend(mq_session *ss)
{
    mq_conn *c = ss->conn;
    mq_server *s = c->srv;
    for (size_t i = 0; i < ss->nout; i++) {
        mq_out *o = &ss->out[i];
        if (o->state == MQ_OUT_COMP) {
            mq_ack a = {o->pid, 0, {NULL, 0}};
            sl_buf_reset(&s->out);
            if (mq_ack_encode(&s->out, c->version, MQ_PUBREL, &a) == 0)
                mq__conn_send(c, &s->out);
        } else if (o->held != NULL) {
            send_held(ss, o->held, o->qos, 0, false, true, o->pid);
        } else if (o->part >= 0 && o->part < ss->nparts) {
            mq_cursor *cur = &ss->cur[o->part];
            o->resend = true;
            cur->live = 0;
            cur->redo_end = SL_MAX(cur->redo_end, cur->next);
            cur->next = SL_MIN(cur->next, o->off);
        }
    }
}

/* ---- acknowledgements from the client ---------------------------------------
 */

int
mq__handle_puback(mq_conn *c, int type, const mq_ack *a)
{
    mq_session *ss = c->sess;
    mq_server *s = c->srv;
    size_t i;
    mq_out *o = out_find(ss, a->packet_id, &i);
    switch (type) {
    case MQ_PUBACK:
        if (o != NULL && o->state == MQ_OUT_ACK)
            out_del(ss, i);
        break;
    case MQ_PUBREC:
        if (o != NULL && o->state == MQ_OUT_REC) {
            if (a->reason >= 0x80) {
                out_del(ss, i);
                break;
            }
            o->state = MQ_OUT_COMP;
            mq__retained_rele(o->held);
            o->held = NULL;
            ss->dirty = 1;
        }
        {
            mq_ack r = {a->packet_id,
                        (uint8_t)(o == NULL && c->version == MQ_V5
                                      ? MQ_RC_PACKET_IDENTIFIER_NOT_FOUND
                                      : 0),
                        {NULL, 0}};
            if (o != NULL && o->state != MQ_OUT_COMP)
                break;
            sl_buf_reset(&s->out);
            /* PUBREL once the PUBREC it answers is durable: after it the
             * client forgets the id, so a resend must never follow. */
            if (mq_ack_encode(&s->out, c->version, MQ_PUBREL, &r) == 0)
                out_send(c, &s->out, o != NULL && gated(ss));
        }
        break;
    case MQ_PUBCOMP:
        if (o != NULL && o->state == MQ_OUT_COMP)
            out_del(ss, i);
        break;
    }
    mq__session_kick(ss);
    return 0;
}
