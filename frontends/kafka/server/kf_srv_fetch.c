/*
 * kf_srv_fetch.c — Fetch (v4-10): one segstore READ for every partition of
 * the request, record bytes sent straight from segstore's segment files,
 * and the long poll.
 *
 * Zero copy.  Locally, READ answers with descriptors (file, position,
 * length); the bytes are mapped read-only (ipc_client_map) and queued on
 * the socket by reference (fe_conn_write_ref), the view released once
 * written.  Only the response header and the per-partition headers are
 * encoded into a small buffer.  Remotely (segstore on another machine, or
 * before HELLO), READ carries the bytes inline and they are copied once.
 *
 * The per-partition headers still come from the codec, so that version
 * gates stay there: the response is encoded piecewise, once with no
 * topics, once per topic with no partitions and once per partition with
 * empty records, and the difference between consecutive encodings is the
 * piece this topic or partition adds.  That relies on what Fetch v4-10
 * responses look like: non-flexible (fixed int32 array counts, nothing
 * after the topics array) and records the last field of a partition.  Each
 * piece is checked against that shape before use.
 *
 * Sizes (KIP-74).  Each partition's READ asks for at most
 * min(partition_max_bytes, max_bytes); segstore always returns at least
 * one whole batch.  The response then keeps whole batches within the
 * remaining max_bytes, except that the first partition with data always
 * gets its first batch, however large, so a consumer can never stall on
 * a batch bigger than its limits.
 *
 * Long poll.  When fewer than min_bytes are available (and no partition
 * has an error), the views are released and the fetch is parked until an
 * ADVANCE event for one of its partitions past its fetch offset (then it
 * reads again, and parks again if min_bytes is still not reached), or
 * until max_wait_ms (capped by fetch.max.wait.cap.ms), when it reads once
 * more and answers with whatever there is.  Events are hints that can be
 * lost, which is why the timer's final read exists.  No polling.
 *
 * Fetch sessions (v7+, KIP-227) are answered as a sessionless broker does:
 * session_id 0 in every response, so clients send full requests; the
 * session fields and forgotten topics of a request are ignored.
 */
#include "kf_server.h"
#include "sl_batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct fx_part {
    int16_t err;
    int read; /* in the READ (no error found before asking) */
    int64_t hw, log_start;
    sl_slice data; /* what will be sent */
    int has_view;
    ipc_seg_view view;
    uint8_t *copy; /* inline data, owned */
} fx_part;

typedef struct fx_state {
    fx_part *parts;
    int32_t *first;
    int32_t nparts;
    int final;   /* answer after the next READ, whatever it brings */
    int reading; /* READ in flight */
    int answered;
} fx_state;

static void fx_read(kf_req *r);

static void
part_reset(fx_part *p)
{
    if (p->has_view)
        ipc_seg_view_release(&p->view);
    p->has_view = 0;
    free(p->copy);
    p->copy = NULL;
    p->data = sl_slice_make(NULL, 0);
}

static void
fx_free(kf_req *r)
{
    fx_state *st = r->hs;
    if (st != NULL) {
        for (int32_t i = 0; i < st->nparts; i++)
            part_reset(&st->parts[i]);
        free(st->parts);
        free(st->first);
        free(st);
    }
    r->hs = NULL;
}

/* ---- parking
 * ------------------------------------------------------------------ */

void
kf__fetch_unpark(kf_req *r)
{
    kf_server *s = r->srv;
    if (!r->parked)
        return;
    if (r->park_prev)
        r->park_prev->park_next = r->park_next;
    else
        s->parked = r->park_next;
    if (r->park_next)
        r->park_next->park_prev = r->park_prev;
    r->park_prev = r->park_next = NULL;
    r->parked = 0;
}

static void
on_timer(uv_timer_t *t)
{
    kf_req *r = t->data;
    fx_state *st = r->hs;
    if (st == NULL || st->answered)
        return;
    st->final = 1;
    if (r->parked) {
        kf__fetch_unpark(r);
        fx_read(r);
    }
    /* else a READ is in flight and will answer. */
}

static void
park(kf_req *r, uint64_t wait_ms)
{
    kf_server *s = r->srv;
    if (!r->timer_init) {
        uv_timer_init(s->loop, &r->timer);
        r->timer.data = r;
        r->timer_init = 1;
        uv_timer_start(&r->timer, on_timer, wait_ms, 0);
    }
    r->park_prev = NULL;
    r->park_next = s->parked;
    if (s->parked)
        s->parked->park_prev = r;
    s->parked = r;
    r->parked = 1;
    s->st.fetch_parked++;
}

/* Does event e concern one of r's partitions in a way that may bring
 * data or an error? */
static bool
event_matches(kf_req *r, const ipc_event *e)
{
    kf_fetch_req *q = r->msg;
    for (int32_t t = 0; t < q->n_topics; t++) {
        kf_fetch_req_topic *qt = &q->topics[t];
        if (qt->topic.n != e->topic.n ||
            memcmp(qt->topic.p, e->topic.p, e->topic.n) != 0)
            continue;
        if (e->op != IPC_EVT_ADVANCE)
            return true; /* created or deleted: answer changes */
        for (int32_t p = 0; p < qt->n_partitions; p++)
            if (qt->partitions[p].partition == e->partition &&
                e->high_watermark > qt->partitions[p].fetch_offset)
                return true;
    }
    return false;
}

void
kf__fetch_event(kf_server *s, const ipc_event *e)
{
    kf_req *r = s->parked;
    while (r != NULL) {
        kf_req *next = r->park_next;
        if (event_matches(r, e)) {
            kf__fetch_unpark(r);
            s->st.fetch_woken++;
            fx_read(r);
        }
        r = next;
    }
}

void
kf__fetch_flush_parked(kf_server *s)
{
    while (s->parked != NULL) {
        kf_req *r = s->parked;
        kf__fetch_unpark(r);
        ((fx_state *)r->hs)->final = 1;
        fx_read(r);
    }
}

/* ---- the response
 * -------------------------------------------------------------- */

/* Encode resp into tmp (reset first). */
static int
enc(sl_buf *tmp, int16_t v, const kf_fetch_resp *resp)
{
    sl_buf_reset(tmp);
    return kf_fetch_resp_encode(tmp, v, resp);
}

static int
fx_build(kf_req *r)
{
    fx_state *st = r->hs;
    kf_fetch_req *q = r->msg;
    int16_t v = r->hdr.api_version;
    sl_buf tmp = {0};
    kf_fetch_resp resp = {0};
    kf_fetch_resp_topic one = {0};
    kf_fetch_resp_part rp;
    int rc = kf__resp_begin(r);
    if (rc != 0)
        goto done;
    /* Envelope: everything before the topics array's count. */
    if ((rc = enc(&tmp, v, &resp)) != 0)
        goto done;
    size_t len0 = tmp.n;
    if (len0 < 4) {
        rc = SL_E_INTERNAL;
        goto done;
    }
    if ((rc = sl_buf_append(&r->out, tmp.p, len0 - 4)) != 0 ||
        (rc = sl_buf_put_u32be(&r->out, (uint32_t)q->n_topics)) != 0)
        goto done;
    resp.topics = &one;
    resp.n_topics = 1;
    for (int32_t t = 0; t < q->n_topics; t++) {
        kf_fetch_req_topic *qt = &q->topics[t];
        one.topic = qt->topic;
        one.partitions = NULL;
        one.n_partitions = 0;
        if ((rc = enc(&tmp, v, &resp)) != 0)
            goto done;
        size_t lent = tmp.n;
        if (lent < len0 + 4) {
            rc = SL_E_INTERNAL;
            goto done;
        }
        if ((rc = sl_buf_append(&r->out, tmp.p + len0, lent - len0 - 4)) != 0 ||
            (rc = sl_buf_put_u32be(&r->out, (uint32_t)qt->n_partitions)) != 0)
            goto done;
        one.partitions = &rp;
        one.n_partitions = 1;
        for (int32_t p = 0; p < qt->n_partitions; p++) {
            fx_part *fp = &st->parts[st->first[t] + p];
            memset(&rp, 0, sizeof(rp));
            rp.partition_index = qt->partitions[p].partition;
            rp.error_code = fp->err;
            rp.high_watermark = fp->err ? -1 : fp->hw;
            /* No transactions: everything below the high watermark is
             * stable. */
            rp.last_stable_offset = rp.high_watermark;
            rp.log_start_offset = fp->err ? -1 : fp->log_start;
            rp.aborted = NULL;
            rp.n_aborted = q->isolation_level == 1 ? 0 : -1;
            rp.records = kf_nslice_make("", 0);
            if ((rc = enc(&tmp, v, &resp)) != 0)
                goto done;
            size_t lenp = tmp.n;
            if (lenp < lent + 4 || sl_get_u32be(tmp.p + lenp - 4) != 0) {
                rc = SL_E_INTERNAL;
                goto done;
            }
            if ((rc = sl_buf_append(&r->out, tmp.p + lent, lenp - lent - 4)) !=
                    0 ||
                (rc = sl_buf_put_u32be(&r->out, (uint32_t)fp->data.n)) != 0)
                goto done;
            if (fp->data.n == 0)
                continue;
            if (fp->has_view) {
                ipc_seg_view sv = fp->view;
                sv.bytes = fp->data;
                fp->has_view = 0; /* r owns it now */
                if ((rc = kf__resp_add_view(r, &sv)) != 0)
                    goto done;
            } else if ((rc = sl_buf_append(&r->out, fp->data.p, fp->data.n)) !=
                       0) {
                goto done;
            }
        }
    }
    rc = kf__resp_end(r);
done:
    sl_buf_fini(&tmp);
    return rc;
}

static void
fx_respond(kf_req *r)
{
    fx_state *st = r->hs;
    st->answered = 1;
    if (r->timer_init)
        uv_timer_stop(&r->timer);
    int rc = fx_build(r);
    if (rc != 0) {
        sl_log(SL_LOG_ERROR, "KF-ENCODE", "fetch v%d: %s", r->hdr.api_version,
               sl_strerror(rc));
        kf__resp_discard(r);
        kf__conn_fail(r, rc);
    }
    kf__req_done(r);
}

/* Keep whole batches of data within lim bytes. */
static size_t
whole_batches(sl_slice data, size_t lim)
{
    sl_slice rest = data;
    size_t keep = 0;
    while (rest.n > 0) {
        sl_batch_hdr h;
        sl_slice b;
        if (sl_batch_next(&rest, 0, &h, &b) != 0 || keep + b.n > lim)
            break;
        keep += b.n;
    }
    return keep;
}

static size_t
first_batch(sl_slice data)
{
    sl_batch_hdr h;
    sl_slice b;
    sl_slice rest = data;
    return sl_batch_next(&rest, 0, &h, &b) == 0 ? b.n : data.n;
}

/* Apply max_bytes across partitions (KIP-74); returns the bytes kept. */
static uint64_t
fx_trim(kf_req *r)
{
    fx_state *st = r->hs;
    kf_fetch_req *q = r->msg;
    int64_t remaining = q->max_bytes > 0 ? q->max_bytes : 0;
    int first = 1;
    uint64_t total = 0;
    for (int32_t t = 0; t < q->n_topics; t++) {
        kf_fetch_req_topic *qt = &q->topics[t];
        for (int32_t p = 0; p < qt->n_partitions; p++) {
            fx_part *fp = &st->parts[st->first[t] + p];
            if (fp->data.n == 0)
                continue;
            int64_t lim = SL_MIN(
                (int64_t)SL_MAX(qt->partitions[p].partition_max_bytes, 0),
                remaining);
            size_t keep = fp->data.n;
            if ((int64_t)keep > lim) {
                keep = whole_batches(fp->data, (size_t)lim);
                if (keep == 0 && first)
                    keep = first_batch(fp->data);
            }
            if (keep == 0) {
                part_reset(fp);
                continue;
            }
            fp->data.n = keep;
            first = 0;
            remaining = SL_MAX(remaining - (int64_t)keep, 0);
            total += keep;
        }
    }
    return total;
}

static void
on_read(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    kf_req *r = arg;
    if (!kf__ipc_back(r))
        return;
    fx_state *st = r->hs;
    kf_fetch_req *q = r->msg;
    kf_server *s = r->srv;
    st->reading = 0;
    ipc_read_rep m;
    int whole = rc != 0 || h->status != 0 ||
                ipc_read_rep_decode(body, &m) != 0 ||
                m.count > (uint32_t)st->nparts;
    int errors = 0;
    if (whole)
        s->st.ipc_errors++;
    for (int32_t i = 0; i < st->nparts; i++) {
        fx_part *fp = &st->parts[i];
        part_reset(fp);
        if (!fp->read) {
            errors += fp->err != KF_ERR_NONE;
            continue;
        }
        if (whole) {
            /* Segstore unreachable or refusing: retriable, the client
             * refreshes metadata and fetches again. */
            fp->err = KF_ERR_NOT_LEADER_OR_FOLLOWER;
            errors++;
            continue;
        }
        ipc_read_result res;
        if (ipc_read_rep_next(&m, &res) != 1) {
            fp->err = KF_ERR_UNKNOWN_SERVER_ERROR;
            errors++;
            continue;
        }
        fp->err = kf__err_from_sl(res.status, r->hdr.api_key,
                                  KF_ERR_NOT_LEADER_OR_FOLLOWER);
        fp->hw = res.high_watermark;
        fp->log_start = res.log_start;
        if (fp->err != KF_ERR_NONE) {
            errors++;
            continue;
        }
        if (res.kind == IPC_READ_DESCRIPTOR) {
            /* -ENOENT (the segment went away meanwhile) and the like just
             * send nothing this time; the client fetches again. */
            if (ipc_client_map(s->ipc, res.path, res.position, res.length,
                               &fp->view) == 0) {
                fp->has_view = 1;
                fp->data = fp->view.bytes;
            }
        } else if (res.kind == IPC_READ_INLINE_DATA && res.data.n > 0) {
            /* The reply body dies with this callback. */
            fp->copy = malloc(res.data.n);
            if (fp->copy != NULL) {
                memcpy(fp->copy, res.data.p, res.data.n);
                fp->data = sl_slice_make(fp->copy, res.data.n);
            }
        }
    }
    uint64_t total = fx_trim(r);
    if (errors > 0 || st->final || s->stopping ||
        total >= (uint64_t)SL_MAX(q->min_bytes, 0)) {
        fx_respond(r);
        return;
    }
    for (int32_t i = 0; i < st->nparts; i++)
        part_reset(&st->parts[i]);
    int64_t wait = SL_MIN((int64_t)q->max_wait_ms, s->cfg->fetch_wait_cap_ms);
    park(r, (uint64_t)SL_MAX(wait, 0));
}

static void
fx_read(kf_req *r)
{
    fx_state *st = r->hs;
    kf_fetch_req *q = r->msg;
    kf_server *s = r->srv;
    ipc_read_entry *e = calloc(st->nparts ? (size_t)st->nparts : 1, sizeof(*e));
    if (e == NULL) {
        kf__conn_fail(r, -ENOMEM);
        fx_respond(r);
        return;
    }
    size_t n = 0;
    int32_t maxb = q->max_bytes > 0 ? q->max_bytes : 0;
    for (int32_t t = 0; t < q->n_topics; t++) {
        kf_fetch_req_topic *qt = &q->topics[t];
        for (int32_t p = 0; p < qt->n_partitions; p++) {
            fx_part *fp = &st->parts[st->first[t] + p];
            if (!fp->read)
                continue;
            e[n].topic = qt->topic;
            e[n].partition = qt->partitions[p].partition;
            e[n].offset = qt->partitions[p].fetch_offset;
            e[n].max_bytes =
                SL_MIN(SL_MAX(qt->partitions[p].partition_max_bytes, 0), maxb);
            n++;
        }
    }
    if (n == 0) {
        free(e);
        fx_respond(r);
        return;
    }
    sl_buf b = {0};
    uint32_t flags = s->hello_ok && s->is_local ? 0 : IPC_READ_INLINE;
    int rc = ipc_read_req_encode(&b, flags, e, n);
    if (rc == 0)
        rc = kf__ipc(r, &b, on_read);
    sl_buf_fini(&b);
    free(e);
    if (rc != 0) {
        for (int32_t i = 0; i < st->nparts; i++)
            if (st->parts[i].read)
                st->parts[i].err = KF_ERR_NOT_LEADER_OR_FOLLOWER;
        fx_respond(r);
        return;
    }
    st->reading = 1;
}

void
kf__fetch(kf_req *r)
{
    kf_fetch_req *q = r->msg;
    fx_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        goto fail;
    r->hs = st;
    r->hs_free = fx_free;
    int64_t total = 0;
    for (int32_t t = 0; t < q->n_topics; t++)
        total += SL_MAX(q->topics[t].n_partitions, 0);
    st->nparts = (int32_t)total;
    st->parts = calloc(total ? (size_t)total : 1, sizeof(*st->parts));
    st->first =
        calloc(q->n_topics > 0 ? (size_t)q->n_topics : 1, sizeof(*st->first));
    if (st->parts == NULL || st->first == NULL)
        goto fail;
    int32_t i = 0;
    for (int32_t t = 0; t < q->n_topics; t++) {
        kf_fetch_req_topic *qt = &q->topics[t];
        st->first[t] = i;
        int name_ok = kf__topic_valid(qt->topic);
        for (int32_t p = 0; p < qt->n_partitions; p++, i++) {
            fx_part *fp = &st->parts[i];
            fp->hw = fp->log_start = -1;
            if (!name_ok || qt->partitions[p].partition < 0)
                fp->err = KF_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            else
                fp->read = 1;
        }
    }
    if (q->max_wait_ms <= 0 || r->srv->cfg->fetch_wait_cap_ms == 0)
        st->final = 1;
    fx_read(r);
    return;
fail:
    kf__conn_fail(r, -ENOMEM);
    kf__req_done(r);
}
