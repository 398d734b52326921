/*
 * mq_srv_publish.c — messages into the log: the record layout of an MQTT
 * message, inbound PUBLISH / PUBREL, and the coalesced APPEND.
 *
 * Record layout (docs/mqtt.md, "Records"): one Kafka RecordBatch v2 record
 * per message; key = MQTT topic, value = payload, timestamp = arrival time,
 * and headers:
 *
 *   mqtt.qos             '0' | '1' | '2'  (the QoS it was published with)
 *   mqtt.retain          '0' | '1'
 *   mqtt.content_type    when present (MQTT 5)
 *   mqtt.response_topic  when present
 *   mqtt.correlation_data when present (binary)
 *   mqtt.payload_format  '0' | '1', when present
 *   mqtt.expiry          absolute expiry time, ms since the epoch, ASCII
 *   mqtt.cid             the publisher's client id (No Local)
 *   <name>               every MQTT 5 user property, name and value as sent
 *
 * Coalescing.  Every publish handled in one loop iteration goes into one
 * batch per partition; a uv_check handle sends them as ONE APPEND when the
 * iteration's I/O is done.  At most one APPEND is in flight: what arrives
 * meanwhile accumulates and goes in the next.  That keeps the order of
 * every connection's publishes (segstore may serve concurrent requests in
 * any order) and makes the batches larger exactly when load is high.
 * PUBACK (QoS 1) and PUBREC (QoS 2) are sent when the APPEND that carries
 * the message is answered, i.e. once it is durable under segstore's fsync
 * policy, in the order the publishes arrived.
 *
 * QoS 2 inbound: the packet id is recorded in the session when the PUBLISH
 * arrives; a DUP of a recorded id is not appended again, only answered
 * with PUBREC (after the APPEND in flight, so the answers stay in order);
 * PUBREL forgets it and is answered with PUBCOMP.
 */
#include "mq_server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stop reading connections while this many bytes wait for the APPEND in
 * flight (they resume when it is answered). */
#define ACC_MAX (8u << 20)
/* Close a batch before it grows past this (one message may still make it
 * larger, up to the packet size limit). */
#define BATCH_MAX (256u << 10)

/* ---- records ------------------------------------------------------------- */

int
mq__msg_add_record(sl_batch_builder *b, const mq_msg *m, int64_t ts)
{
    sl_record_header fixed[8];
    sl_record_header *h = fixed;
    size_t cap = 8 + m->nuprops;
    if (cap > SL_ARRAY_LEN(fixed)) {
        h = malloc(cap * sizeof(*h));
        if (h == NULL)
            return -ENOMEM;
    }
    static const char *digits = "012";
    char exp[24];
    size_t n = 0;
    h[n++] = (sl_record_header){sl_slice_str("mqtt.qos"), 0,
                                sl_slice_make(digits + (m->qos & 3), 1)};
    h[n++] = (sl_record_header){sl_slice_str("mqtt.retain"), 0,
                                sl_slice_make(digits + (m->retain ? 1 : 0), 1)};
    if (m->has_ct)
        h[n++] =
            (sl_record_header){sl_slice_str("mqtt.content_type"), 0, m->ct};
    if (m->has_rt)
        h[n++] =
            (sl_record_header){sl_slice_str("mqtt.response_topic"), 0, m->rt};
    if (m->has_cd)
        h[n++] =
            (sl_record_header){sl_slice_str("mqtt.correlation_data"), 0, m->cd};
    if (m->has_pfi)
        h[n++] =
            (sl_record_header){sl_slice_str("mqtt.payload_format"), 0,
                               sl_slice_make(digits + (m->pfi ? 1 : 0), 1)};
    if (m->expiry_ms > 0) {
        int k = snprintf(exp, sizeof(exp), "%" PRId64, m->expiry_ms);
        h[n++] = (sl_record_header){sl_slice_str("mqtt.expiry"), 0,
                                    sl_slice_make(exp, (size_t)k)};
    }
    if (m->cid.n > 0)
        h[n++] = (sl_record_header){sl_slice_str("mqtt.cid"), 0, m->cid};
    for (size_t i = 0; i < m->nuprops; i++)
        h[n++] = (sl_record_header){m->uprops[i].s, 0, m->uprops[i].v};
    int rc = sl_batch_builder_add(b, ts, &m->topic, &m->payload, h, n);
    if (h != fixed)
        free(h);
    return rc;
}

static bool
hname(sl_slice k, const char *s)
{
    return sl_slice_eq_str(k, s);
}

static int64_t
parse_i64(sl_slice v)
{
    int64_t x = 0;
    for (size_t i = 0; i < v.n && i < 19; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return 0;
        x = x * 10 + (v.p[i] - '0');
    }
    return x;
}

int
mq__msg_from_record(mq_server *s, const sl_record *rec, mq_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->part = -1;
    /* A missing or empty key is the caller's to judge (the tail may take
     * the topic from a header, or skip the record). */
    m->topic = rec->key_null ? sl_slice_make(NULL, 0) : rec->key;
    m->payload = rec->value_null ? sl_slice_make(NULL, 0) : rec->value;
    size_t nh = rec->header_count > 0 ? (size_t)rec->header_count : 0;
    if (nh > s->capuprops) {
        mq_prop *v = realloc(s->uprops, nh * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        s->uprops = v;
        s->capuprops = nh;
    }
    m->uprops = s->uprops;
    sl_rd r;
    sl_rd_init(&r, rec->headers);
    for (size_t i = 0; i < nh; i++) {
        sl_record_header h;
        if (sl_record_header_next(&r, &h) != 0)
            return SL_E_MALFORMED;
        sl_slice v = h.value_null ? sl_slice_make(NULL, 0) : h.value;
        if (h.key.n > 5 && memcmp(h.key.p, "mqtt.", 5) == 0) {
            if (hname(h.key, "mqtt.qos")) {
                m->has_qos = v.n == 1 && v.p[0] >= '0' && v.p[0] <= '2';
                m->qos = m->has_qos ? (uint8_t)(v.p[0] - '0') : 0;
                continue;
            }
            if (hname(h.key, "mqtt.retain")) {
                m->retain = v.n == 1 && v.p[0] == '1';
                continue;
            }
            if (hname(h.key, "mqtt.content_type")) {
                m->has_ct = true;
                m->ct = v;
                continue;
            }
            if (hname(h.key, "mqtt.response_topic")) {
                m->has_rt = true;
                m->rt = v;
                continue;
            }
            if (hname(h.key, "mqtt.correlation_data")) {
                m->has_cd = true;
                m->cd = v;
                continue;
            }
            if (hname(h.key, "mqtt.payload_format")) {
                m->has_pfi = true;
                m->pfi = v.n == 1 && v.p[0] == '1';
                continue;
            }
            if (hname(h.key, "mqtt.expiry")) {
                m->expiry_ms = parse_i64(v);
                continue;
            }
            if (hname(h.key, "mqtt.cid")) {
                m->cid = v;
                continue;
            }
        }
        mq_prop *u = &m->uprops[m->nuprops++];
        memset(u, 0, sizeof(*u));
        u->id = MQ_P_USER_PROPERTY;
        u->s = h.key;
        u->v = v;
    }
    return 0;
}

int
mq__msg_from_blob(mq_server *s, sl_slice blob, mq_msg *m)
{
    sl_slice rest = blob, b;
    sl_batch_hdr h;
    if (sl_batch_next(&rest, 0, &h, &b) != 0 || sl_batch_compression(&h) != 0)
        return SL_E_MALFORMED;
    sl_rd r;
    sl_rd_init(&r, sl_batch_records(b));
    sl_record rec;
    if (sl_record_next(&r, &rec) != 0)
        return SL_E_MALFORMED;
    int rc = mq__msg_from_record(s, &rec, m);
    return rc == 0 && m->topic.n == 0 ? SL_E_MALFORMED : rc;
}

int
mq__msg_blob(const mq_msg *m, uint8_t **out, size_t *n)
{
    sl_buf b = {0};
    sl_batch_builder bb;
    int64_t now = sl_now_ms();
    int rc = sl_batch_builder_init(&bb, &b, now);
    if (rc == 0)
        rc = mq__msg_add_record(&bb, m, now);
    if (rc != 0) {
        sl_buf_fini(&b);
        return rc;
    }
    sl_batch_builder_finish(&bb);
    *out = sl_buf_steal(&b, n);
    return 0;
}

/* ---- the accumulator ------------------------------------------------------
 */

typedef struct append_req {
    mq_server *srv;
    mq_ack_wait *acks;
    size_t nacks;
    int32_t *sent; /* partition of each APPEND entry */
    size_t nsent;
    int32_t *status; /* per partition, from the reply */
    int err;         /* the whole APPEND failed */
    int unreachable; /* ... because segstore did not answer */
    int waiting;     /* QoS 2 id writes still owed */
} append_req;

void
mq__append_init(mq_server *s)
{
    mq_append *a = &s->acc;
    a->bufs = calloc((size_t)s->nparts, sizeof(*a->bufs));
    a->bld = calloc((size_t)s->nparts, sizeof(*a->bld));
    a->count = calloc((size_t)s->nparts, sizeof(*a->count));
}

void
mq__append_fini(mq_server *s)
{
    mq_append *a = &s->acc;
    for (int32_t p = 0; a->bufs && p < s->nparts; p++)
        sl_buf_fini(&a->bufs[p]);
    for (size_t i = 0; i < a->nacks; i++)
        mq__conn_rele(a->acks[i].conn);
    free(a->bufs);
    free(a->bld);
    free(a->count);
    free(a->acks);
    memset(a, 0, sizeof(*a));
}

static size_t
acc_bytes(const mq_server *s)
{
    size_t n = 0;
    for (int32_t p = 0; p < s->nparts; p++)
        n += s->acc.bufs[p].n;
    return n;
}

static int
acc_add(mq_server *s, const mq_msg *m, int32_t part)
{
    mq_append *a = &s->acc;
    int64_t now = sl_now_ms();
    if (a->count[part] == 0) {
        sl_buf_reset(&a->bufs[part]);
        int rc = sl_batch_builder_init(&a->bld[part], &a->bufs[part], now);
        if (rc != 0)
            return rc;
    } else if (a->bufs[part].n - a->bld[part].start + m->payload.n +
                   m->topic.n >
               BATCH_MAX) {
        /* A batch must stay under the topic's max.message.bytes (1 MiB by
         * default), or segstore refuses the whole partition's entry: close
         * this one, and the partition's entry carries several. */
        sl_batch_builder_finish(&a->bld[part]);
        int rc = sl_batch_builder_init(&a->bld[part], &a->bufs[part], now);
        if (rc != 0)
            return rc;
    }
    int rc = mq__msg_add_record(&a->bld[part], m, now);
    if (rc != 0)
        return rc;
    a->count[part]++;
    a->nrec++;
    return 0;
}

static int
acc_ack(mq_server *s, mq_conn *c, uint16_t pid, uint8_t qos, int norecord,
        int32_t part)
{
    mq_append *a = &s->acc;
    if (a->nacks == a->capacks) {
        size_t cap = a->capacks ? a->capacks * 2 : 64;
        mq_ack_wait *v = realloc(a->acks, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        a->acks = v;
        a->capacks = cap;
    }
    mq__conn_hold(c);
    a->acks[a->nacks++] =
        (mq_ack_wait){c, pid, qos, (uint8_t)norecord, 0, part};
    return 0;
}

static void on_check(uv_check_t *h);

void
mq__arm(mq_server *s)
{
    if (!s->flush_armed) {
        s->flush_armed = 1;
        uv_check_start(&s->flush_check, on_check);
    }
}

static void
send_ack(mq_conn *c, int type, uint16_t pid, uint8_t reason)
{
    mq_server *s = c->srv;
    mq_ack a = {pid, c->version == MQ_V5 ? reason : 0, {NULL, 0}};
    sl_buf_reset(&s->out);
    if (mq_ack_encode(&s->out, c->version, type, &a) == 0)
        mq__conn_send(c, &s->out);
}

/* Send the acknowledgements of an answered APPEND, in arrival order. */
static void
acks_send(append_req *q)
{
    mq_server *s = q->srv;
    for (size_t i = 0; i < q->nacks; i++) {
        mq_ack_wait *w = &q->acks[i];
        mq_conn *c = w->conn;
        int ae = q->err != 0 ? q->err : w->norecord ? 0 : q->status[w->part];
        if (!c->dead && c->state == MQ_CS_CONNECTED && w->reason != 0) {
            send_ack(c, w->qos == 1 ? MQ_PUBACK : MQ_PUBREC, w->pid, w->reason);
        } else if (!c->dead && c->state == MQ_CS_CONNECTED) {
            if (ae != 0 && (c->version != MQ_V5 || q->unreachable ||
                            ae == SL_E_CLOSED || ae == SL_E_TIMEOUT)) {
                /* 3.x has no negative acknowledgement: the client learns
                 * by the connection closing and publishes again.  Nor is
                 * one right in 5.0 when segstore is away or shutting down
                 * (no answer, or SL_E_CLOSED: the message is not refused,
                 * just not stored yet): no PUBACK until stored, so the
                 * client publishes again after reconnecting. */
                if (w->qos == 2 && c->sess)
                    mq__session_q2_del(c->sess, w->pid);
                fe_conn_close(c->fe, SL_E_IO, 0);
            } else if (w->qos == 1) {
                send_ack(c, MQ_PUBACK, w->pid,
                         ae ? MQ_RC_UNSPECIFIED_ERROR : 0);
                if (c->inflight_in > 0)
                    c->inflight_in--;
            } else {
                if (ae && c->sess)
                    mq__session_q2_del(c->sess, w->pid);
                send_ack(c, MQ_PUBREC, w->pid,
                         ae ? MQ_RC_UNSPECIFIED_ERROR : 0);
                if (ae && c->inflight_in > 0)
                    c->inflight_in--;
            }
        }
        mq__conn_rele(c);
    }
    free(q->status);
    free(q->acks);
    free(q->sent);
    free(q);
    s->appending = 0;
    /* Connections paused for the accumulator may go on (only those: a
     * walk over every connection per APPEND would cost with many idle
     * ones). */
    if (s->acc_paused > 0)
        for (mq_conn *c = s->conns; c != NULL; c = c->next)
            if (c->acc_paused) {
                c->acc_paused = 0;
                if (c->state != MQ_CS_CLOSING && c->state != MQ_CS_LOADING &&
                    !c->dead)
                    fe_conn_resume(c->fe);
            }
    s->acc_paused = 0;
    if (s->acc.nrec > 0 || s->acc.nacks > 0)
        mq__append_flush(s);
}

static void
on_q2_saved(void *arg, int rc)
{
    append_req *q = arg;
    if (rc != 0 && q->err == 0)
        q->err = rc; /* not durable: PUBREC with an error, the client retries */
    if (--q->waiting == 0)
        acks_send(q);
}

static void
on_append(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    append_req *q = arg;
    mq_server *s = q->srv;
    int err = rc != 0 ? rc : h->status;
    ipc_append_rep m;
    q->status = calloc((size_t)s->nparts, sizeof(*q->status));
    if (q->status == NULL && err == 0)
        err = -ENOMEM;
    if (err == 0 &&
        (ipc_append_rep_decode(body, &m) != 0 || m.count != (uint32_t)q->nsent))
        err = SL_E_MALFORMED;
    /* Per-partition results come in the order of the entries; an ack
     * carries its partition, so a partition that failed fails only its
     * own messages. */
    if (err == 0) {
        ipc_append_result res;
        for (size_t k = 0; ipc_append_rep_next(&m, &res) == 1; k++) {
            q->status[q->sent[k]] = res.status;
            if (res.status != 0) {
                s->st.append_errors++;
                sl_log(SL_LOG_WARN, "MQ-APPEND", "partition %d refused: %s",
                       q->sent[k], sl_strerror(res.status));
            }
        }
    }
    if (err != 0) {
        s->st.append_errors++;
        /* While segstore is away the MQ-SEGSTORE line says it all. */
        if (rc == 0 || s->link.up)
            sl_log(SL_LOG_WARN, "MQ-APPEND", "append failed: %s",
                   sl_strerror(err));
    }
    q->err = err;
    q->unreachable = rc != 0;
    if (q->status == NULL) {
        q->status = calloc((size_t)s->nparts, sizeof(*q->status));
        if (q->status == NULL)
            abort(); /* cannot even say no */
    }
    /* Inbound QoS 2 ids must be durable before PUBREC: a resend of the
     * message after a crash of this process is then still recognised. */
    q->waiting = 1;
    if (s->kv_ok) {
        s->gen++;
        for (size_t i = 0; i < q->nacks; i++) {
            mq_ack_wait *w = &q->acks[i];
            mq_conn *c = w->conn;
            if (w->qos != 2 || w->norecord || c->dead || c->sess == NULL ||
                !c->sess->persist || c->sess->m_gen == s->gen)
                continue;
            if (q->err != 0 || q->status[w->part] != 0)
                continue;
            c->sess->m_gen = s->gen;
            q->waiting++;
            if (mq__kv_q2_save(s, c->sess, on_q2_saved, q) != 0)
                q->waiting--;
        }
    }
    on_q2_saved(q, 0);
}

void
mq__append_flush(mq_server *s)
{
    mq_append *a = &s->acc;
    if (s->flush_armed) {
        s->flush_armed = 0;
        uv_check_stop(&s->flush_check);
    }
    if (s->appending || (a->nrec == 0 && a->nacks == 0))
        return;
    append_req *q = calloc(1, sizeof(*q));
    ipc_append_entry *e = calloc((size_t)s->nparts, sizeof(*e));
    int32_t *sent = calloc((size_t)s->nparts, sizeof(*sent));
    if (q == NULL || e == NULL || sent == NULL) {
        free(q);
        free(e);
        free(sent);
        mq__arm(s);
        return;
    }
    size_t n = 0;
    for (int32_t p = 0; p < s->nparts; p++) {
        if (a->count[p] == 0)
            continue;
        sl_batch_builder_finish(&a->bld[p]);
        e[n].topic = mq__gp_topic(s, p);
        e[n].partition = mq__gp_part(s, p);
        e[n].batches = sl_slice_make(a->bufs[p].p, a->bufs[p].n);
        sent[n] = p;
        n++;
    }
    q->srv = s;
    q->sent = sent;
    q->nsent = n;
    q->acks = a->acks;
    q->nacks = a->nacks;
    a->acks = NULL;
    a->nacks = a->capacks = 0;
    int rc = 0;
    if (n > 0) {
        sl_buf b = {0};
        rc = ipc_append_req_encode(&b, 0, e, n);
        if (rc == 0)
            rc = ipc_client_request(s->ipc, sl_slice_make(b.p, b.n), on_append,
                                    q);
        sl_buf_fini(&b);
    }
    free(e);
    for (int32_t p = 0; p < s->nparts; p++)
        a->count[p] = 0;
    s->st.msgs_in += a->nrec;
    a->nrec = 0;
    if (n == 0) {
        /* Only answers (QoS 2 duplicates): nothing to append. */
        s->appending = 1;
        ipc_hdr h = {IPC_VERSION, IPC_OP_APPEND, 0};
        sl_buf b = {0};
        ipc_append_rep_encode(&b, NULL, 0);
        on_append(q, 0, &h,
                  sl_slice_make(b.p + IPC_HDR_LEN, b.n - IPC_HDR_LEN));
        sl_buf_fini(&b);
        return;
    }
    s->st.appends++;
    s->appending = 1;
    if (rc != 0) {
        s->st.ipc_errors++;
        on_append(q, rc, NULL, sl_slice_make(NULL, 0));
    }
}

static void
on_check(uv_check_t *h)
{
    mq__append_flush(h->data);
    mq__gate_flush(h->data);
    mq__kv_flush(h->data);
}

/* ---- retained -------------------------------------------------------------
 */

static void
retain_msg(mq_server *s, const mq_msg *m)
{
    if (m->payload.n == 0) {
        mq__retained_set(s, m->topic, NULL, 0, 0);
        mq__kv_retained(s, m->topic, NULL, 0);
        return;
    }
    uint8_t *blob;
    size_t n;
    if (mq__msg_blob(m, &blob, &n) == 0) {
        mq__retained_set(s, m->topic, blob, n, 0);
        mq__kv_retained(s, m->topic, blob, n);
        free(blob);
    }
}

void
mq__publish_internal(mq_server *s, const mq_msg *m)
{
    if (m->retain)
        retain_msg(s, m);
    int32_t part = mq__partition_of(s, m->topic);
    if (acc_add(s, m, part) == 0)
        mq__arm(s);
}

/* ---- inbound PUBLISH -------------------------------------------------------
 */

int
mq__handle_publish(mq_conn *c, mq_publish *p)
{
    mq_server *s = c->srv;
    mq_session *ss = c->sess;
    mq_msg m;
    memset(&m, 0, sizeof(m));
    m.part = -1;
    s->st.bytes_in += p->payload.n;
    if (c->version == MQ_V5) {
        uint32_t alias;
        if (mq_props_find(&p->props, MQ_P_SUBSCRIPTION_IDENTIFIER) != NULL) {
            mq__conn_fail(c, MQ_RC_PROTOCOL_ERROR,
                          "Subscription Identifier in PUBLISH");
            return SL_E_MALFORMED;
        }
        if (mq_props_get_u32(&p->props, MQ_P_TOPIC_ALIAS, &alias)) {
            if (alias == 0 || alias > (uint32_t)s->cfg->topic_alias_max) {
                mq__conn_fail(c, MQ_RC_TOPIC_ALIAS_INVALID,
                              "Topic Alias above the maximum");
                return SL_E_MALFORMED;
            }
            if (c->alias_in == NULL) {
                c->alias_in =
                    calloc((size_t)s->cfg->topic_alias_max, sizeof(char *));
                if (c->alias_in == NULL)
                    return -ENOMEM;
            }
            char **slotp = &c->alias_in[alias - 1];
            if (p->topic.n > 0) {
                char *t = malloc(p->topic.n + 1);
                if (t == NULL)
                    return -ENOMEM;
                memcpy(t, p->topic.p, p->topic.n);
                t[p->topic.n] = 0;
                free(*slotp);
                *slotp = t;
            } else if (*slotp == NULL) {
                mq__conn_fail(c, MQ_RC_PROTOCOL_ERROR, "unknown Topic Alias");
                return SL_E_MALFORMED;
            } else {
                p->topic = sl_slice_str(*slotp);
            }
        }
        mq_err e;
        if (mq_publish_payload_check(p, &e) != 0) {
            mq__conn_fail(c, MQ_RC_PAYLOAD_FORMAT_INVALID, e.what);
            return SL_E_MALFORMED;
        }
        uint32_t u;
        if (mq_props_get_u32(&p->props, MQ_P_PAYLOAD_FORMAT_INDICATOR, &u)) {
            m.has_pfi = true;
            m.pfi = (uint8_t)u;
        }
        if (mq_props_get_u32(&p->props, MQ_P_MESSAGE_EXPIRY_INTERVAL, &u))
            m.expiry_ms = sl_now_ms() + (int64_t)u * 1000;
        m.has_ct = mq_props_get_str(&p->props, MQ_P_CONTENT_TYPE, &m.ct);
        m.has_rt = mq_props_get_str(&p->props, MQ_P_RESPONSE_TOPIC, &m.rt);
        m.has_cd = mq_props_get_str(&p->props, MQ_P_CORRELATION_DATA, &m.cd);
        /* User properties, in order, as a compacted view of the list. */
        size_t nu = 0;
        for (size_t i = 0; i < p->props.n; i++)
            if (p->props.v[i].id == MQ_P_USER_PROPERTY)
                p->props.v[nu++] = p->props.v[i];
        m.uprops = p->props.v;
        m.nuprops = nu;
    }
    if (p->qos > 0 && c->inflight_in >= (uint32_t)s->cfg->receive_max) {
        mq__conn_fail(c, MQ_RC_RECEIVE_MAXIMUM_EXCEEDED,
                      "more QoS 1/2 publishes unacknowledged than Receive "
                      "Maximum");
        return SL_E_MALFORMED;
    }
    int32_t part = mq__partition_of(s, p->topic);
    if (!mq__acl(c, p->topic, MQ_ACL_WRITE)) {
        /* Refused: 0x87 in MQTT 5; 3.x has no way to say so, the message
         * is acknowledged and dropped (as Mosquitto does). */
        s->st.acl_denied++;
        if (p->qos == 0)
            return 0;
        int rc = acc_ack(s, c, p->packet_id, p->qos, 1, part);
        if (rc == 0) {
            s->acc.acks[s->acc.nacks - 1].reason = MQ_RC_NOT_AUTHORIZED;
            mq__arm(s);
        }
        return rc;
    }
    if (p->qos == 2 && mq__session_q2_has(ss, p->packet_id)) {
        /* A resend of a message already stored: answer, do not append. */
        int rc = acc_ack(s, c, p->packet_id, 2, 1, part);
        if (rc == 0)
            mq__arm(s);
        return rc;
    }
    m.topic = p->topic;
    m.payload = p->payload;
    m.qos = p->qos;
    m.retain = p->retain;
    m.cid = sl_slice_make(ss->cid, ss->cid_n);
    if (p->retain)
        retain_msg(s, &m);
    int rc = acc_add(s, &m, part);
    if (rc != 0)
        return rc;
    if (p->qos > 0) {
        c->inflight_in++;
        if (p->qos == 2)
            mq__session_q2_add(ss, p->packet_id);
        rc = acc_ack(s, c, p->packet_id, p->qos, 0, part);
        if (rc != 0)
            return rc;
    }
    mq__arm(s);
    if (s->appending && !c->acc_paused && acc_bytes(s) > ACC_MAX) {
        c->acc_paused = 1;
        s->acc_paused++;
        fe_conn_pause(c->fe);
    }
    return 0;
}

typedef struct rel_wait {
    mq_conn *c;
    uint16_t pid;
    uint8_t reason;
} rel_wait;

static void
on_rel_saved(void *arg, int rc)
{
    rel_wait *w = arg;
    (void)rc; /* the id is forgotten in memory either way */
    if (!w->c->dead && w->c->state == MQ_CS_CONNECTED)
        send_ack(w->c, MQ_PUBCOMP, w->pid, w->reason);
    mq__conn_rele(w->c);
    free(w);
}

int
mq__handle_pubrel(mq_conn *c, const mq_ack *a)
{
    mq_server *s = c->srv;
    mq_session *ss = c->sess;
    bool had = mq__session_q2_del(ss, a->packet_id);
    if (had && c->inflight_in > 0)
        c->inflight_in--;
    uint8_t reason = had ? 0 : MQ_RC_PACKET_IDENTIFIER_NOT_FOUND;
    if (!had || !ss->persist || !s->kv_ok) {
        send_ack(c, MQ_PUBCOMP, a->packet_id, reason);
        return 0;
    }
    /* The id may be reused once PUBCOMP is out, so forgetting it must be
     * durable first, or a new message with that id would be taken for a
     * resend after a crash. */
    rel_wait *w = malloc(sizeof(*w));
    if (w == NULL)
        return -ENOMEM;
    w->c = c;
    w->pid = a->packet_id;
    w->reason = reason;
    mq__conn_hold(c);
    if (mq__kv_q2_save(s, ss, on_rel_saved, w) != 0)
        on_rel_saved(w, -ENOMEM);
    return 0;
}

void
mq__publish_init(mq_server *s)
{
    uv_check_init(s->loop, &s->flush_check);
    s->flush_check.data = s;
}
