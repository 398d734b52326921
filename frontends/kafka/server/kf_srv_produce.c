/*
 * kf_srv_produce.c — Produce (v3-7): validate each partition's record
 * batches by Kafka's broker rules, append every valid partition of the
 * request with ONE segstore APPEND, and answer per partition.
 *
 * Validation here (kafka-notes §2, Kafka's LogValidator), per partition,
 * before anything is sent to segstore:
 *   - records present, whole RecordBatch v2 batches back to back
 *     (truncated or unparsable: CORRUPT_MESSAGE; magic != 2:
 *     INVALID_RECORD);
 *   - baseOffset 0, recordsCount == lastOffsetDelta + 1 > 0, no control
 *     batch, producerId >= 0 implies baseSequence >= 0, a compressed
 *     batch alone in its partition: INVALID_RECORD;
 *   - a producer must not set LogAppendTime: INVALID_TIMESTAMP;
 *   - CRC-32C over attributes..end: CORRUPT_MESSAGE;
 *   - transactional batches, and requests with a transactional_id, are
 *     refused (INVALID_TXN_STATE): Sluice has no transactions, and
 *     accepting them would promise atomicity nothing keeps.
 * Produce v0-2 carry the old MessageSet formats (magic 0/1), which Sluice
 * does not store: every partition of such a request is answered
 * UNSUPPORTED_FOR_MESSAGE_FORMAT.  The versions are advertised (0-7) only
 * because librdkafka 2.0.2 decides whether the broker supports gzip,
 * snappy and lz4 by whether its Produce range reaches down to v0 (lz4: v2);
 * with 3-7 it silently sends those batches uncompressed.  Every client
 * picks the highest common version, 7 or its own maximum >= 3.
 * Idempotent batches (producerId >= 0, not transactional) go through:
 * segstore keeps the last 5 batches' sequences per producer and partition,
 * answers a repeat with its original offsets (status 0) and a gap with
 * SL_E_SEQUENCE (OUT_OF_ORDER_SEQUENCE_NUMBER), a stale epoch with
 * SL_E_PRODUCER_EPOCH (INVALID_PRODUCER_EPOCH).
 * Segstore checks the CRC and every record again on append and enforces
 * the topic's max.message.bytes (MESSAGE_TOO_LARGE).
 *
 * A batch's bytes go to segstore exactly as received; segstore stamps
 * baseOffset (outside the CRC), so compressed batches are stored and
 * served as the producer sent them.
 *
 * acks: 1 and -1 (all) both wait for segstore's acknowledgement, which
 * under fsync=batch means durable; with one replica there is nothing more
 * "all" could wait for.  acks=0 has no response; when such an append
 * fails the connection is closed, as Kafka does, so that the producer
 * notices.
 */
#include "kf_server.h"
#include "sl_batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* An APPEND larger than this could exceed segstore's IPC message limit,
 * which would break the nng connection for every request on it. */
#define APPEND_MAX (IPC_MSG_MAX - (64u << 10))

typedef struct pr_part {
    int16_t err;
    int done;        /* answered (error or appended) */
    int need_create; /* topic unknown: create, then append again */
    int64_t base_offset;
    int64_t append_time;
    int64_t log_start;
} pr_part;

typedef struct pr_state {
    pr_part *parts; /* flattened: topic by topic, partition by partition */
    int32_t *first; /* index of each topic's first partition in parts */
    int32_t nparts;
    int32_t *sent; /* parts indexes of the APPEND in flight, in order */
    int32_t nsent;
    int retried; /* auto-create already done */
    int pending; /* TOPIC_CREATE replies owed */
} pr_state;

static void
pr_free(kf_req *r)
{
    pr_state *st = r->hs;
    if (st != NULL) {
        free(st->parts);
        free(st->first);
        free(st->sent);
        free(st);
    }
    r->hs = NULL;
}

static int16_t
check_records(kf_nslice recs)
{
    if (recs.null || recs.v.n == 0)
        return KF_ERR_CORRUPT_MESSAGE;
    sl_slice rest = recs.v;
    int nbatches = 0, compressed = 0;
    while (rest.n > 0) {
        sl_batch_hdr h;
        sl_slice b;
        int rc = sl_batch_next(&rest, 0, &h, &b);
        if (rc == SL_E_VERSION)
            return KF_ERR_INVALID_RECORD;
        if (rc != 0)
            return KF_ERR_CORRUPT_MESSAGE;
        if (h.base_offset != 0 || (h.attributes & SL_BATCH_ATTR_CONTROL) ||
            h.record_count <= 0 ||
            (int64_t)h.last_offset_delta + 1 != h.record_count)
            return KF_ERR_INVALID_RECORD;
        if (h.producer_id >= 0 && h.base_sequence < 0)
            return KF_ERR_INVALID_RECORD;
        if (h.attributes & SL_BATCH_ATTR_LOG_APPEND_TIME)
            return KF_ERR_INVALID_TIMESTAMP;
        if (sl_batch_compression(&h) > SL_COMPRESSION_ZSTD)
            return KF_ERR_UNSUPPORTED_COMPRESSION_TYPE;
        rc = sl_batch_check(b, SL_BATCH_CHECK_CRC, &h);
        if (rc != 0)
            return KF_ERR_CORRUPT_MESSAGE;
        if (h.attributes & SL_BATCH_ATTR_TRANSACTIONAL)
            return KF_ERR_INVALID_TXN_STATE;
        nbatches++;
        if (sl_batch_compression(&h) != SL_COMPRESSION_NONE)
            compressed = 1;
    }
    if (compressed && nbatches > 1)
        return KF_ERR_INVALID_RECORD;
    return KF_ERR_NONE;
}

static void
pr_respond(kf_req *r)
{
    pr_state *st = r->hs;
    kf_produce_req *q = r->msg;
    int failed = 0;
    for (int32_t i = 0; i < st->nparts; i++)
        if (st->parts[i].err != KF_ERR_NONE) {
            failed++;
            r->srv->st.produce_errs++;
        }
    if (q->acks == 0) {
        if (failed)
            kf__conn_fail(r, SL_E_INVAL);
        kf__req_done(r);
        return;
    }
    kf_produce_resp resp = {0};
    kf_produce_resp_topic *topics =
        calloc(q->n_topics ? (size_t)q->n_topics : 1, sizeof(*topics));
    kf_produce_resp_part *parts =
        calloc(st->nparts ? (size_t)st->nparts : 1, sizeof(*parts));
    if (topics == NULL || parts == NULL) {
        free(topics);
        free(parts);
        kf__conn_fail(r, -ENOMEM);
        kf__req_done(r);
        return;
    }
    for (int32_t t = 0; t < q->n_topics; t++) {
        kf_produce_req_topic *qt = &q->topics[t];
        topics[t].name = qt->name;
        topics[t].partitions = &parts[st->first[t]];
        topics[t].n_partitions = qt->n_partitions;
        for (int32_t p = 0; p < qt->n_partitions; p++) {
            pr_part *pp = &st->parts[st->first[t] + p];
            kf_produce_resp_part *rp = &parts[st->first[t] + p];
            rp->index = qt->partitions[p].index;
            rp->error_code = pp->err;
            rp->base_offset = pp->err ? -1 : pp->base_offset;
            rp->log_append_time_ms = pp->err ? -1 : pp->append_time;
            rp->log_start_offset = pp->err ? -1 : pp->log_start;
        }
    }
    resp.topics = topics;
    resp.n_topics = q->n_topics;
    kf__resp_send(r, &resp);
    free(topics);
    free(parts);
}

static void on_append(void *arg, int rc, const ipc_hdr *h, sl_slice body);

/* Fill e with r's partitions still to do (all of them the first time,
 * those of auto-created topics the second) and remember them in st->sent.
 * Returns how many; *bytes grows by their size. */
static int32_t
pr_entries(kf_req *r, ipc_append_entry *e, uint64_t *bytes)
{
    pr_state *st = r->hs;
    kf_produce_req *q = r->msg;
    st->nsent = 0;
    for (int32_t t = 0; t < q->n_topics; t++) {
        kf_produce_req_topic *qt = &q->topics[t];
        for (int32_t p = 0; p < qt->n_partitions; p++) {
            int32_t i = st->first[t] + p;
            if (st->parts[i].done)
                continue;
            e[st->nsent].topic = qt->name;
            e[st->nsent].partition = qt->partitions[p].index;
            e[st->nsent].batches = qt->partitions[p].records.v;
            *bytes += qt->name.n + qt->partitions[p].records.v.n + 16;
            st->sent[st->nsent++] = i;
        }
    }
    return st->nsent;
}

/* Answer every partition in st->sent with err. */
static void
pr_fail_sent(kf_req *r, int16_t err)
{
    pr_state *st = r->hs;
    for (int32_t k = 0; k < st->nsent; k++) {
        st->parts[st->sent[k]].err = err;
        st->parts[st->sent[k]].done = 1;
    }
    pr_respond(r);
}

/* One APPEND of r's partitions on its own (the second try after topics
 * were auto-created). */
static void
pr_append(kf_req *r)
{
    pr_state *st = r->hs;
    ipc_append_entry *e =
        calloc(st->nparts ? (size_t)st->nparts : 1, sizeof(*e));
    if (e == NULL) {
        kf__conn_fail(r, -ENOMEM);
        kf__req_done(r);
        return;
    }
    uint64_t bytes = 0;
    if (pr_entries(r, e, &bytes) == 0) {
        free(e);
        pr_respond(r);
        return;
    }
    int16_t fail = KF_ERR_NONE;
    if (bytes > APPEND_MAX) {
        fail = KF_ERR_MESSAGE_TOO_LARGE;
    } else {
        sl_buf b = {0};
        int rc = ipc_append_req_encode(&b, 0, e, (size_t)st->nsent);
        if (rc == 0)
            rc = kf__ipc(r, &b, on_append);
        sl_buf_fini(&b);
        /* Not sent: certainly not appended, and worth a retry. */
        if (rc != 0)
            fail = KF_ERR_NOT_LEADER_OR_FOLLOWER;
    }
    free(e);
    if (fail != KF_ERR_NONE)
        pr_fail_sent(r, fail);
}

static void
on_create(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    kf_req *r = arg;
    (void)rc;
    (void)h;
    (void)body;
    if (!kf__ipc_back(r))
        return;
    pr_state *st = r->hs;
    /* Created, or created meanwhile by someone else, or refused: the
     * second APPEND tells which, partition by partition. */
    if (--st->pending == 0)
        pr_append(r);
}

/* The APPEND's outcome for r: whole != NONE fails all its partitions;
 * otherwise its st->nsent results are taken from m.  Responds, or starts
 * the auto-create round. */
static void
pr_results(kf_req *r, int16_t whole, ipc_append_rep *m)
{
    pr_state *st = r->hs;
    kf_produce_req *q = r->msg;
    if (whole != KF_ERR_NONE) {
        r->srv->st.ipc_errors++;
        pr_fail_sent(r, whole);
        return;
    }
    int creates = 0;
    ipc_append_result res;
    for (int32_t k = 0; k < st->nsent && ipc_append_rep_next(m, &res) == 1;
         k++) {
        pr_part *pp = &st->parts[st->sent[k]];
        if (res.status == SL_E_NOTOPIC && r->srv->cfg->auto_create &&
            !st->retried) {
            pp->need_create = 1;
            creates++;
            continue;
        }
        pp->done = 1;
        pp->err = kf__err_from_sl(res.status, r->hdr.api_key,
                                  KF_ERR_NOT_LEADER_OR_FOLLOWER);
        pp->base_offset = res.base_offset;
        pp->append_time = res.append_time;
        pp->log_start = res.log_start;
    }
    if (creates == 0) {
        pr_respond(r);
        return;
    }
    /* Auto-create each unknown topic once (TOPIC_CREATE takes one name),
     * then append its partitions again. */
    st->retried = 1;
    sl_buf b = {0};
    for (int32_t t = 0; t < q->n_topics; t++) {
        kf_produce_req_topic *qt = &q->topics[t];
        int want = 0;
        for (int32_t p = 0; p < qt->n_partitions; p++)
            want |= st->parts[st->first[t] + p].need_create;
        for (int32_t u = 0; want && u < t; u++)
            if (q->topics[u].name.n == qt->name.n &&
                memcmp(q->topics[u].name.p, qt->name.p, qt->name.n) == 0)
                want = 0;
        if (!want)
            continue;
        if (ipc_topic_create_req_encode(&b, qt->name,
                                        (int32_t)r->srv->cfg->num_partitions,
                                        NULL, 0) == 0 &&
            kf__ipc(r, &b, on_create) == 0)
            st->pending++;
    }
    sl_buf_fini(&b);
    if (st->pending == 0)
        pr_append(r);
}

/* Decode an APPEND reply: KF_ERR_NONE with *m set, or the error for every
 * partition it carried. */
static int16_t
pr_decode(kf_req *any, int rc, const ipc_hdr *h, sl_slice body, uint32_t expect,
          ipc_append_rep *m)
{
    if (rc != 0)
        /* Timed out or the connection broke: segstore may or may not
         * have appended.  REQUEST_TIMED_OUT says exactly that. */
        return KF_ERR_REQUEST_TIMED_OUT;
    if (h->status != 0)
        /* Refused as a whole (shutting down, malformed): nothing was
         * appended. */
        return kf__err_from_sl(h->status, any->hdr.api_key,
                               KF_ERR_NOT_LEADER_OR_FOLLOWER);
    if (ipc_append_rep_decode(body, m) != 0 || m->count != expect)
        return KF_ERR_UNKNOWN_SERVER_ERROR;
    return KF_ERR_NONE;
}

static void
on_append(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    kf_req *r = arg;
    if (!kf__ipc_back(r))
        return;
    pr_state *st = r->hs;
    ipc_append_rep m;
    int16_t whole = pr_decode(r, rc, h, body, (uint32_t)st->nsent, &m);
    pr_results(r, whole, &m);
}

/* ---- one connection's appends, in order, pipelined ------------------------
 *
 * Kafka appends the Produce requests of one connection in the order they
 * arrive.  Segstore handles concurrent IPC requests in whatever order its
 * threads take them, so a connection has at most one APPEND in flight; the
 * Produce requests that arrive meanwhile queue up (reading goes on) and
 * the next APPEND carries all of them, in order — segstore appends the
 * entries of one APPEND in array order.  While one fdatasync runs, the
 * next APPEND gathers everything that arrived, which is what lets group
 * commit group.
 */
typedef struct pr_multi {
    kf_conn *conn; /* NULL once the connection is gone */
    kf_server *srv;
    kf_req **reqs;
    int32_t *nsent; /* entries of each request, read before it may go */
    int n;
    /* Produce requests of a connection that closed while this APPEND was
     * in flight: Kafka appends what it received before a close (acks=0
     * producers close right after sending), so they follow this APPEND,
     * in order.  Each holds one ipc_pending so that it outlives its
     * connection. */
    kf_req *orphans;
} pr_multi;

static kf_req *pr_send(kf_server *s, kf_req *head, kf_conn *k, int held);

static void
on_multi(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    pr_multi *mu = arg;
    uint32_t total = 0;
    for (int i = 0; i < mu->n; i++)
        total += (uint32_t)mu->nsent[i];
    ipc_append_rep m;
    int16_t whole = mu->n > 0 ? pr_decode(mu->reqs[0], rc, h, body, total, &m)
                              : KF_ERR_NONE;
    for (int i = 0; i < mu->n; i++) {
        kf_req *r = mu->reqs[i];
        if (!kf__ipc_back(r)) {
            /* Its connection is gone (r may be freed): skip its results. */
            ipc_append_result skip;
            for (int32_t k = 0; whole == KF_ERR_NONE && k < mu->nsent[i]; k++)
                ipc_append_rep_next(&m, &skip);
            continue;
        }
        pr_results(r, whole, &m);
    }
    kf_conn *k = mu->conn;
    kf_server *s = mu->srv;
    kf_req *orphans = mu->orphans;
    free(mu->reqs);
    free(mu->nsent);
    free(mu);
    if (k != NULL) {
        k->inflight = NULL;
        k->appending = 0;
        k->pq_head = pr_send(s, k->pq_head, k, 0);
        if (k->pq_head == NULL)
            k->pq_tail = NULL;
    } else if (orphans != NULL) {
        pr_send(s, orphans, NULL, 1);
    }
}

/* Release the hold of a connection-less request that will not be sent. */
static void
pr_unhold(kf_req *r, int held)
{
    if (held)
        kf__ipc_back(r);
}

/*
 * Send one APPEND with the requests of the list at head (linked by
 * pq_next), as many as fit, in order; return the rest.  k is their
 * connection (it then has this APPEND in flight), or NULL for orphans,
 * which already hold an ipc_pending (held) and whose remainder is chained
 * behind this APPEND.
 */
static kf_req *
pr_send(kf_server *s, kf_req *head, kf_conn *k, int held)
{
    if (head == NULL || (k != NULL && k->appending))
        return head;
    int ntot = 0;
    int32_t nent = 0;
    for (kf_req *r = head; r; r = r->pq_next) {
        ntot++;
        nent += ((pr_state *)r->hs)->nparts;
    }
    pr_multi *mu = calloc(1, sizeof(*mu));
    ipc_append_entry *e = calloc(nent ? (size_t)nent : 1, sizeof(*e));
    if (mu != NULL) {
        mu->reqs = calloc((size_t)ntot, sizeof(*mu->reqs));
        mu->nsent = calloc((size_t)ntot, sizeof(*mu->nsent));
    }
    if (mu == NULL || e == NULL || mu->reqs == NULL || mu->nsent == NULL) {
        if (mu) {
            free(mu->reqs);
            free(mu->nsent);
        }
        free(mu);
        free(e);
        if (k != NULL) {
            fe_conn_close(k->fe, -ENOMEM, 0);
            return head;
        }
        for (kf_req *r = head, *nx; r; r = nx) {
            nx = r->pq_next;
            r->in_pq = 0;
            pr_unhold(r, held);
        }
        return NULL;
    }
    uint64_t bytes = 0;
    int32_t used = 0;
    int n = 0;
    while (head != NULL) {
        kf_req *r = head;
        uint64_t add = 0;
        pr_state *st = r->hs;
        int32_t c = pr_entries(r, e + used, &add);
        /* A request that alone is too large fails by itself; others wait
         * for the next APPEND rather than make this one too large. */
        if (c > 0 && add > APPEND_MAX) {
            head = r->pq_next;
            r->in_pq = 0;
            pr_fail_sent(r, KF_ERR_MESSAGE_TOO_LARGE);
            pr_unhold(r, held);
            continue;
        }
        if (c > 0 && n > 0 && bytes + add > APPEND_MAX)
            break;
        head = r->pq_next;
        r->in_pq = 0;
        if (c == 0) {
            pr_respond(r);
            pr_unhold(r, held);
            continue;
        }
        bytes += add;
        used += c;
        mu->reqs[n] = r;
        mu->nsent[n] = st->nsent;
        n++;
    }
    if (n == 0) {
        free(e);
        free(mu->reqs);
        free(mu->nsent);
        free(mu);
        return head;
    }
    mu->n = n;
    mu->conn = k;
    mu->srv = s;
    sl_buf b = {0};
    int rc = ipc_append_req_encode(&b, 0, e, (size_t)used);
    if (rc == 0)
        rc = ipc_client_request(s->ipc, sl_slice_make(b.p, b.n), on_multi, mu);
    sl_buf_fini(&b);
    free(e);
    if (rc != 0) {
        s->st.ipc_errors++;
        for (int i = 0; i < n; i++) {
            pr_fail_sent(mu->reqs[i], KF_ERR_NOT_LEADER_OR_FOLLOWER);
            pr_unhold(mu->reqs[i], held);
        }
        free(mu->reqs);
        free(mu->nsent);
        free(mu);
        if (k == NULL)
            for (kf_req *r = head, *nx; r; r = nx) {
                nx = r->pq_next;
                r->in_pq = 0;
                pr_unhold(r, held);
            }
        return k == NULL ? NULL : head;
    }
    /* Each sent request owes one IPC callback; orphans already hold it. */
    if (!held)
        for (int i = 0; i < n; i++)
            mu->reqs[i]->ipc_pending++;
    if (k != NULL) {
        k->appending = 1;
        k->inflight = mu;
    } else {
        mu->orphans = head; /* the rest follow this one */
        head = NULL;
    }
    return head;
}

static void
pr_flush(kf_conn *k)
{
    k->pq_head = pr_send(k->srv, k->pq_head, k, 0);
    if (k->pq_head == NULL)
        k->pq_tail = NULL;
}

kf_req *
kf__produce_conn_gone(kf_conn *k)
{
    kf_req *q = k->pq_head;
    k->pq_head = k->pq_tail = NULL;
    /* Queued requests outlive the connection: hold each (so the close
     * does not free it) and append them after the APPEND in flight, or,
     * when there is none, once the close has detached them
     * (kf__produce_orphans). */
    for (kf_req *r = q; r; r = r->pq_next)
        r->ipc_pending++;
    pr_multi *mu = k->inflight;
    k->inflight = NULL;
    if (mu == NULL)
        return q;
    mu->conn = NULL;
    kf_req **tail = &mu->orphans;
    while (*tail)
        tail = &(*tail)->pq_next;
    *tail = q;
    return NULL;
}

void
kf__produce_orphans(kf_server *s, kf_req *list)
{
    if (list != NULL)
        pr_send(s, list, NULL, 1);
}

void
kf__produce(kf_req *r)
{
    kf_produce_req *q = r->msg;
    pr_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        goto fail;
    r->hs = st;
    r->hs_free = pr_free;
    int64_t total = 0;
    for (int32_t t = 0; t < q->n_topics; t++)
        total += SL_MAX(q->topics[t].n_partitions, 0);
    st->nparts = (int32_t)total;
    st->parts = calloc(total ? (size_t)total : 1, sizeof(*st->parts));
    st->sent = calloc(total ? (size_t)total : 1, sizeof(*st->sent));
    st->first =
        calloc(q->n_topics > 0 ? (size_t)q->n_topics : 1, sizeof(*st->first));
    if (st->parts == NULL || st->sent == NULL || st->first == NULL)
        goto fail;
    int acks_ok = q->acks == 0 || q->acks == 1 || q->acks == -1;
    int32_t i = 0;
    for (int32_t t = 0; t < q->n_topics; t++) {
        kf_produce_req_topic *qt = &q->topics[t];
        st->first[t] = i;
        int name_ok = kf__topic_valid(qt->name);
        for (int32_t p = 0; p < qt->n_partitions; p++, i++) {
            pr_part *pp = &st->parts[i];
            pp->base_offset = pp->append_time = pp->log_start = -1;
            if (r->hdr.api_version < 3)
                pp->err = KF_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
            else if (!acks_ok)
                pp->err = KF_ERR_INVALID_REQUIRED_ACKS;
            else if (!q->transactional_id.null)
                pp->err = KF_ERR_INVALID_TXN_STATE;
            else if (!name_ok)
                pp->err = KF_ERR_INVALID_TOPIC_EXCEPTION;
            else if (qt->partitions[p].index < 0)
                pp->err = KF_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            else
                pp->err = check_records(qt->partitions[p].records);
            pp->done = pp->err != KF_ERR_NONE;
        }
    }
    kf_conn *k = r->conn;
    if (k == NULL) {
        pr_append(r);
        return;
    }
    /* Queue behind this connection's APPEND in flight (see above). */
    r->pq_next = NULL;
    r->in_pq = 1;
    if (k->pq_tail)
        k->pq_tail->pq_next = r;
    else
        k->pq_head = r;
    k->pq_tail = r;
    pr_flush(k);
    return;
fail:
    kf__conn_fail(r, -ENOMEM);
    kf__req_done(r);
}
