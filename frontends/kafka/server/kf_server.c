/*
 * kf_server.c — sluice-kafka's server: the IPC client to segstore, the
 * Kafka connections (on fe_common), framing, dispatch to the handler
 * families, the per-connection response FIFO and the orderly stop.
 *
 * Ordering.  Kafka clients match responses to requests by position as
 * much as by correlation id (kafka-python pipelines a Metadata behind its
 * ApiVersions probe and checks the order), yet segstore answers IPC
 * requests out of order.  So each connection keeps its requests in a FIFO
 * and only completed heads are written; a request that completes early
 * waits for the ones before it.  acks=0 Produce takes no FIFO slot: it has
 * no response at all.
 *
 * Bounds.  Input per connection is bounded by fe_common (max.request.bytes
 * plus the size prefix); requests in flight per connection by
 * connection.max.inflight (input is paused beyond it); queued output by
 * connection.max.output.bytes (fe_common pauses input until it drains).
 * Decoded requests live in an arena sized from the frame, never from a
 * count read off the wire.
 */
#include "kf_server.h"
#include "sl_metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Arena sizing: the codec's structs take at most ~10 bytes per wire byte
 * (a CreateTopics config entry: 40 bytes decoded from 4 on the wire), so
 * 16x the frame always suffices; most requests need far less, so start
 * small and grow. */
#define ARENA_FACTOR 16
#define ARENA_START  (16u << 10)
/* No real request needs more decoded structure than this (it would take
 * millions of topics or partitions); one that does is refused rather than
 * letting a single frame claim gigabytes. */
#define ARENA_MAX (64u << 20)

static void hello_start(kf_server *s);
static void conn_flush(kf_conn *k);
static void stop_check(kf_server *s);

/* ---- requests ---------------------------------------------------------------
 */

static void
req_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

static void
req_free(kf_req *r)
{
    kf_conn *k = r->conn;
    if (r->parked)
        kf__fetch_unpark(r);
    if (k != NULL) {
        if (r->live_prev)
            r->live_prev->live_next = r->live_next;
        else
            k->live = r->live_next;
        if (r->live_next)
            r->live_next->live_prev = r->live_prev;
        k->nlive--;
        k->live_bytes -= r->cost;
        r->conn = NULL;
    }
    for (size_t i = 0; i < r->npieces; i++)
        if (r->pieces[i].is_view)
            ipc_seg_view_release(&r->pieces[i].view);
    if (r->hs_free)
        r->hs_free(r);
    free(r->pieces);
    sl_buf_fini(&r->out);
    free(r->amem);
    free(r->frame);
    if (r->timer_init) {
        uv_timer_stop(&r->timer);
        r->timer.data = r;
        uv_close((uv_handle_t *)&r->timer, req_timer_closed);
    } else {
        free(r);
    }
    if (k != NULL) {
        kf_server *s = k->srv;
        if (s->stopping) {
            if (k->nlive == 0)
                fe_conn_close(k->fe, 0, 0);
        } else if (k->paused &&
                   k->nlive < (int)s->cfg->conn_max_inflight / 2 + 1 &&
                   k->live_bytes < (size_t)s->cfg->max_request_bytes) {
            k->paused = 0;
            fe_conn_resume(k->fe);
        }
    }
}

/* The request is complete or its connection is gone: free it when nothing
 * else refers to it. */
static void
req_maybe_free(kf_req *r)
{
    if (r->ipc_pending > 0)
        return;
    if (r->conn == NULL || !r->in_fifo)
        req_free(r);
}

void
kf__req_done(kf_req *r)
{
    r->done = 1;
    kf__metrics_done(r);
    if (r->conn != NULL && r->in_fifo)
        conn_flush(r->conn);
    else
        req_maybe_free(r);
}

int
kf__ipc(kf_req *r, sl_buf *msg, ipc_client_cb cb)
{
    int rc =
        ipc_client_request(r->srv->ipc, sl_slice_make(msg->p, msg->n), cb, r);
    if (rc == 0)
        r->ipc_pending++;
    else
        r->srv->st.ipc_errors++;
    return rc;
}

int
kf__ipc_group(kf_req *r, sl_buf *msg, ipc_client_cb cb)
{
    int rc =
        ipc_client_request(r->srv->gipc, sl_slice_make(msg->p, msg->n), cb, r);
    if (rc == 0)
        r->ipc_pending++;
    else
        r->srv->st.ipc_errors++;
    return rc;
}

bool
kf__ipc_back(kf_req *r)
{
    r->ipc_pending--;
    if (r->conn == NULL) {
        if (r->ipc_pending == 0)
            req_free(r);
        return false;
    }
    return true;
}

void
kf__conn_fail(kf_req *r, int why)
{
    if (r->conn != NULL)
        fe_conn_close(r->conn->fe, why, 0);
}

/* ---- responses --------------------------------------------------------------
 */

static int
add_piece(kf_req *r, const kf_piece *p)
{
    if (r->npieces == r->cap_pieces) {
        size_t cap = r->cap_pieces ? r->cap_pieces * 2 : 8;
        kf_piece *n = realloc(r->pieces, cap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        r->pieces = n;
        r->cap_pieces = cap;
    }
    r->pieces[r->npieces++] = *p;
    return 0;
}

static int
cut_copy(kf_req *r)
{
    if (r->out.n == r->out_mark)
        return 0;
    kf_piece p = {0, r->out_mark, r->out.n - r->out_mark, {{NULL, 0}, NULL}};
    int rc = add_piece(r, &p);
    if (rc == 0)
        r->out_mark = r->out.n;
    return rc;
}

int
kf__resp_begin(kf_req *r)
{
    kf__resp_discard(r);
    int rc = sl_buf_put_u32be(&r->out, 0);
    if (rc == 0)
        rc = kf_resp_hdr_encode(&r->out, r->hdr.api_key, r->hdr.api_version,
                                r->hdr.correlation_id);
    return rc;
}

int
kf__resp_add_view(kf_req *r, const ipc_seg_view *v)
{
    int rc = cut_copy(r);
    kf_piece p = {1, 0, v->bytes.n, *v};
    if (rc == 0)
        rc = add_piece(r, &p);
    if (rc != 0) {
        ipc_seg_view tmp = *v;
        ipc_seg_view_release(&tmp);
    }
    return rc;
}

int
kf__resp_end(kf_req *r)
{
    int rc = cut_copy(r);
    if (rc != 0)
        return rc;
    uint64_t total = 0;
    for (size_t i = 0; i < r->npieces; i++)
        total += r->pieces[i].n;
    if (total < 4 || total - 4 > INT32_MAX)
        return SL_E_TOOBIG;
    sl_put_u32be(r->out.p, (uint32_t)(total - 4));
    return 0;
}

void
kf__resp_discard(kf_req *r)
{
    for (size_t i = 0; i < r->npieces; i++)
        if (r->pieces[i].is_view)
            ipc_seg_view_release(&r->pieces[i].view);
    r->npieces = 0;
    r->out_mark = 0;
    sl_buf_reset(&r->out);
}

void
kf__resp_send(kf_req *r, const void *resp)
{
    int rc = kf__resp_begin(r);
    if (rc == 0)
        rc = kf_msg_encode(&r->out, r->hdr.api_key, KF_RESP, r->hdr.api_version,
                           resp);
    if (rc == 0)
        rc = kf__resp_end(r);
    if (rc != 0) {
        /* Our own response did not encode: a bug or memory exhaustion.
         * The client cannot be answered in order any more. */
        sl_log(SL_LOG_ERROR, "KF-ENCODE", "api=%s v%d: %s",
               kf_api_name(r->hdr.api_key), r->hdr.api_version,
               sl_strerror(rc));
        kf__resp_discard(r);
        kf__conn_fail(r, rc);
    }
    kf__req_done(r);
}

static void
view_release(void *arg)
{
    ipc_seg_view *v = arg;
    ipc_seg_view_release(v);
    free(v);
}

/* Write every completed head of the FIFO, in order. */
static void
conn_flush(kf_conn *k)
{
    while (k->head != NULL && k->head->done) {
        kf_req *r = k->head;
        k->head = r->fifo_next;
        if (k->head == NULL)
            k->tail = NULL;
        for (size_t i = 0; i < r->npieces; i++) {
            kf_piece *p = &r->pieces[i];
            k->srv->st.bytes_out += p->is_view ? p->view.bytes.n : p->n;
            if (!p->is_view) {
                fe_conn_write(k->fe, r->out.p + p->off, p->n);
                continue;
            }
            /* The view now belongs to the connection's output queue and
             * is released once its bytes are on the socket. */
            ipc_seg_view *hv = malloc(sizeof(*hv));
            if (hv == NULL) {
                ipc_seg_view_release(&p->view);
                fe_conn_close(k->fe, -ENOMEM, 1);
            } else {
                *hv = p->view;
                if (fe_conn_write_ref(k->fe, hv->bytes.p, hv->bytes.n,
                                      view_release, hv) != 0)
                    view_release(hv);
            }
            p->is_view = 0;
        }
        r->npieces = 0;
        r->in_fifo = 0;
        if (r->ipc_pending == 0)
            req_free(r);
    }
}

/* ---- errors -----------------------------------------------------------------
 */

int16_t
kf__err_from_sl(int rc, int16_t api_key, int16_t transport_err)
{
    switch (rc) {
    case 0:
        return KF_ERR_NONE;
    case SL_E_NOTOPIC:
    case SL_E_NOPART:
        return KF_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    case SL_E_RANGE:
        return KF_ERR_OFFSET_OUT_OF_RANGE;
    case SL_E_CRC:
    case SL_E_MALFORMED:
    case SL_E_CORRUPT:
    case SL_E_PARTIAL:
        return KF_ERR_CORRUPT_MESSAGE;
    case SL_E_TOOBIG:
        return api_key == KF_API_OFFSET_COMMIT
                   ? KF_ERR_OFFSET_METADATA_TOO_LARGE
                   : KF_ERR_MESSAGE_TOO_LARGE;
    case SL_E_VERSION:
        return KF_ERR_INVALID_RECORD;
    case SL_E_IO:
    case SL_E_NOSPACE:
        return KF_ERR_KAFKA_STORAGE_ERROR;
    case SL_E_EXISTS:
        return KF_ERR_TOPIC_ALREADY_EXISTS;
    case SL_E_INVAL:
        /* Segstore's JOIN refuses bad session or rebalance timeouts;
         * TOPIC_ADD_PARTITIONS a count not above the current one. */
        if (api_key == KF_API_JOIN_GROUP)
            return KF_ERR_INVALID_SESSION_TIMEOUT;
        if (api_key == KF_API_CREATE_PARTITIONS)
            return KF_ERR_INVALID_PARTITIONS;
        return KF_ERR_INVALID_REQUEST;
    /* The group coordinator (segstore's membership service). */
    case SL_E_UNKNOWN_MEMBER:
        return KF_ERR_UNKNOWN_MEMBER_ID;
    case SL_E_GENERATION:
        return KF_ERR_ILLEGAL_GENERATION;
    case SL_E_REBALANCE:
        return KF_ERR_REBALANCE_IN_PROGRESS;
    case SL_E_MEMBER_REQUIRED:
        return KF_ERR_MEMBER_ID_REQUIRED;
    case SL_E_FENCED:
        return KF_ERR_FENCED_INSTANCE_ID;
    case SL_E_NOGROUP:
        return KF_ERR_GROUP_ID_NOT_FOUND;
    case SL_E_NOTEMPTY:
        return KF_ERR_NON_EMPTY_GROUP;
    case SL_E_GROUP_PROTOCOL:
        return KF_ERR_INCONSISTENT_GROUP_PROTOCOL;
    /* Idempotent producers: segstore's per-partition sequence checks. */
    case SL_E_SEQUENCE:
        return KF_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    case SL_E_PRODUCER_EPOCH:
        return KF_ERR_INVALID_PRODUCER_EPOCH;
    default:
        /* Segstore shutting down or unreachable, a timeout, a broken
         * connection: nothing was acknowledged, the client may retry.
         * For the group APIs transport_err is COORDINATOR_NOT_AVAILABLE,
         * which sends clients to FindCoordinator and back. */
        return transport_err;
    }
}

bool
kf__topic_valid(sl_slice name)
{
    if (name.n == 0 || name.n > 249)
        return false;
    if ((name.n == 1 && name.p[0] == '.') ||
        (name.n == 2 && name.p[0] == '.' && name.p[1] == '.'))
        return false;
    for (size_t i = 0; i < name.n; i++) {
        uint8_t c = name.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* ---- dispatch ---------------------------------------------------------------
 */

static kf_req *
req_new(kf_conn *k, sl_slice frame)
{
    kf_req *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->frame = malloc(frame.n ? frame.n : 1);
    if (r->frame == NULL) {
        free(r);
        return NULL;
    }
    memcpy(r->frame, frame.p, frame.n);
    r->frame_len = frame.n;
    r->t0_ns = sl_mono_ns();
    r->srv = k->srv;
    r->conn = k;
    r->live_next = k->live;
    if (k->live)
        k->live->live_prev = r;
    k->live = r;
    k->nlive++;
    r->cost = frame.n;
    k->live_bytes += r->cost;
    return r;
}

static void
fifo_push(kf_conn *k, kf_req *r)
{
    r->in_fifo = 1;
    if (k->tail)
        k->tail->fifo_next = r;
    else
        k->head = r;
    k->tail = r;
}

/* Decode r's body into an arena that grows with need, up to ARENA_FACTOR
 * times the frame. */
static int
req_decode(kf_req *r)
{
    size_t max =
        SL_MIN((size_t)ARENA_FACTOR * r->frame_len + 4096, (size_t)ARENA_MAX);
    size_t cap = SL_MIN((size_t)ARENA_START, max);
    size_t msz = kf_msg_size(r->hdr.api_key, KF_REQ);
    kf_conn *k = r->conn;
    for (;;) {
        free(r->amem);
        k->live_bytes -= r->cost - r->frame_len;
        r->cost = r->frame_len;
        r->amem = malloc(cap + msz);
        if (r->amem == NULL)
            return -ENOMEM;
        r->cost += cap + msz;
        k->live_bytes += cap + msz;
        r->msg = r->amem;
        memset(r->msg, 0, msz);
        sl_arena_init(&r->arena, r->amem + ((msz + 15) & ~(size_t)15),
                      cap - ((msz + 15) & ~(size_t)15) + msz);
        int rc = kf_msg_decode(r->hdr.api_key, KF_REQ, r->hdr.api_version,
                               r->body, &r->arena, r->msg);
        if (rc != SL_E_TOOBIG || cap >= max)
            return rc;
        cap = SL_MIN(cap * 8, max);
    }
}

/* Handle one whole frame.  0, or a code that closes the connection. */
static int
dispatch(kf_conn *k, sl_slice frame)
{
    kf_server *s = k->srv;
    s->st.requests++;
    kf_req *r = req_new(k, frame);
    if (r == NULL)
        return -ENOMEM;
    sl_slice fr = sl_slice_make(r->frame, r->frame_len);
    int rc = kf_req_hdr_decode(fr, &r->body, &r->hdr);
    if (rc == SL_E_VERSION && r->hdr.api_key == KF_API_API_VERSIONS) {
        /* KIP-511: a newer ApiVersions gets error 35 with our ranges in a
         * v0 body, and the connection stays open for the retry. */
        fifo_push(k, r);
        kf__apiversions_unsupported(r);
        return 0;
    }
    if (rc == SL_E_MALFORMED) {
        s->st.malformed++;
        sl_log(SL_LOG_DEBUG, "KF-BADREQ", "peer=%s bad request header",
               fe_conn_peer(k->fe));
        req_free(r);
        return SL_E_MALFORMED;
    }
    if (rc != 0 || !kf__api_served(r->hdr.api_key, r->hdr.api_version)) {
        /* What Kafka does with an API key or version it does not serve:
         * no response exists for it, the connection is closed. */
        s->st.unsupported++;
        sl_log(SL_LOG_DEBUG, "KF-UNSUPPORTED", "peer=%s api=%d (%s) v%d",
               fe_conn_peer(k->fe), r->hdr.api_key, kf_api_name(r->hdr.api_key),
               r->hdr.api_version);
        req_free(r);
        return SL_E_UNSUPPORTED;
    }
    rc = req_decode(r);
    if (rc != 0) {
        s->st.malformed++;
        sl_log(SL_LOG_DEBUG, "KF-BADREQ", "peer=%s api=%s v%d: %s",
               fe_conn_peer(k->fe), kf_api_name(r->hdr.api_key),
               r->hdr.api_version, sl_strerror(rc));
        req_free(r);
        return rc == -ENOMEM ? rc : SL_E_MALFORMED;
    }
    s->st.bytes_in += frame.n + 4;
    if (r->hdr.api_key >= 0 && r->hdr.api_key <= KF_API_KEY_MAX)
        s->st.api_requests[r->hdr.api_key]++;
    int noreply = r->hdr.api_key == KF_API_PRODUCE &&
                  ((kf_produce_req *)r->msg)->acks == 0;
    if (!noreply)
        fifo_push(k, r);
    switch (r->hdr.api_key) {
    case KF_API_API_VERSIONS:
        kf__apiversions(r);
        break;
    case KF_API_METADATA:
        kf__metadata(r);
        break;
    case KF_API_PRODUCE:
        kf__produce(r);
        break;
    case KF_API_FETCH:
        kf__fetch(r);
        break;
    case KF_API_LIST_OFFSETS:
        kf__listoffsets(r);
        break;
    case KF_API_CREATE_TOPICS:
        kf__createtopics(r);
        break;
    case KF_API_DELETE_TOPICS:
        kf__deletetopics(r);
        break;
    case KF_API_DESCRIBE_CONFIGS:
        kf__describeconfigs(r);
        break;
    case KF_API_CREATE_PARTITIONS:
        kf__createpartitions(r);
        break;
    case KF_API_ALTER_CONFIGS:
    case KF_API_INCREMENTAL_ALTER_CONFIGS:
        kf__alterconfigs(r);
        break;
    case KF_API_FIND_COORDINATOR:
        kf__findcoordinator(r);
        break;
    case KF_API_JOIN_GROUP:
        kf__joingroup(r);
        break;
    case KF_API_SYNC_GROUP:
        kf__syncgroup(r);
        break;
    case KF_API_HEARTBEAT:
        kf__heartbeat(r);
        break;
    case KF_API_LEAVE_GROUP:
        kf__leavegroup(r);
        break;
    case KF_API_OFFSET_COMMIT:
        kf__offsetcommit(r);
        break;
    case KF_API_OFFSET_FETCH:
        kf__offsetfetch(r);
        break;
    case KF_API_LIST_GROUPS:
        kf__listgroups(r);
        break;
    case KF_API_DESCRIBE_GROUPS:
        kf__describegroups(r);
        break;
    case KF_API_DELETE_GROUPS:
        kf__deletegroups(r);
        break;
    case KF_API_INIT_PRODUCER_ID:
        kf__initproducerid(r);
        break;
    default:
        /* kf__api_served() admits nothing else. */
        abort();
    }
    return 0;
}

/* ---- connections ------------------------------------------------------------
 */

static void *
conn_open(fe_conn *c, void *arg, int *refuse)
{
    kf_server *s = arg;
    if (s->stopping) {
        *refuse = SL_E_CLOSED;
        return NULL;
    }
    kf_conn *k = calloc(1, sizeof(*k));
    if (k == NULL) {
        *refuse = -ENOMEM;
        return NULL;
    }
    k->srv = s;
    k->fe = c;
    k->next = s->conns;
    if (s->conns)
        s->conns->prev = k;
    s->conns = k;
    s->st.conns++;
    s->st.open_conns++;
    return k;
}

static int
conn_data(fe_conn *c, void *state, sl_slice buf, size_t *consumed)
{
    kf_conn *k = state;
    kf_server *s = k->srv;
    size_t off = 0;
    while (off < buf.n) {
        if (k->nlive >= (int)s->cfg->conn_max_inflight ||
            (k->nlive > 0 &&
             k->live_bytes >= (size_t)s->cfg->max_request_bytes)) {
            /* Enough work in flight for one client: stop reading until
             * responses drain.  TCP pushes back on the client.  The byte
             * test bounds a connection's requests to about two of the
             * largest allowed. */
            k->paused = 1;
            fe_conn_pause(c);
            break;
        }
        sl_slice frame;
        size_t used;
        int rc =
            kf_frame_next(sl_slice_make(buf.p + off, buf.n - off),
                          (uint32_t)s->cfg->max_request_bytes, &frame, &used);
        if (rc == SL_E_PARTIAL)
            break;
        if (rc != 0) {
            s->st.bad_frames++;
            sl_log(SL_LOG_DEBUG, "KF-BADFRAME",
                   "peer=%s size prefix negative or over %lld", fe_conn_peer(c),
                   (long long)s->cfg->max_request_bytes);
            *consumed = off;
            return SL_E_TOOBIG;
        }
        off += used;
        rc = dispatch(k, frame);
        if (rc != 0) {
            *consumed = off;
            return rc;
        }
    }
    *consumed = off;
    return 0;
}

static void
conn_closed(fe_conn *c, void *state, int why)
{
    kf_conn *k = state;
    kf_server *s = k->srv;
    (void)c;
    if (why != 0 && why != UV_ECONNRESET && why != UV_EOF)
        sl_log(SL_LOG_DEBUG, "KF-CLOSE", "peer=%s: %s", fe_conn_peer(c),
               sl_strerror(why));
    kf_req *orphans = kf__produce_conn_gone(k);
    s->st.open_conns--;
    /* Requests still waiting for segstore become orphans and are freed by
     * their last IPC callback; the others go now. */
    kf_req *r = k->live;
    while (r != NULL) {
        kf_req *next = r->live_next;
        if (r->parked)
            kf__fetch_unpark(r);
        r->conn = NULL;
        r->live_prev = r->live_next = NULL;
        if (r->ipc_pending == 0)
            req_free(r);
        r = next;
    }
    k->live = NULL;
    k->head = k->tail = NULL;
    kf__produce_orphans(s, orphans);
    if (k->prev)
        k->prev->next = k->next;
    else
        s->conns = k->next;
    if (k->next)
        k->next->prev = k->prev;
    free(k);
    if (s->stopping)
        stop_check(s);
}

/* ---- segstore: HELLO and events
 * ----------------------------------------------
 */

static void
on_event(void *arg, const ipc_event *e)
{
    kf__fetch_event(arg, e);
}

static void on_hello_timer(uv_timer_t *t);

/* segstore's connection came or went (nng redials by itself): one log
 * line per change, counted in the metrics. */
static void
on_link(void *arg, int up)
{
    kf_server *s = arg;
    fe_link_change(&s->link, up, uv_now(s->loop));
}

static void
hello_retry(kf_server *s)
{
    s->hello_busy = 0;
    if (!s->hello_warned) {
        s->hello_warned = 1;
        sl_log(SL_LOG_WARN, "KF-SEGSTORE",
               "segstore %s not answering; retrying every second",
               s->cfg->segstore);
    }
    if (!s->stopping)
        uv_timer_start(&s->hello_timer, on_hello_timer, 1000, 0);
}

static void
on_hello(void *arg, int rc)
{
    kf_server *s = arg;
    if (rc != 0) {
        hello_retry(s);
        return;
    }
    s->hello_busy = 0;
    s->hello_ok = 1;
    s->is_local = ipc_client_is_local(s->ipc);
    if (!s->subscribed) {
        rc = ipc_client_subscribe(s->ipc, NULL, on_event, s);
        if (rc == 0)
            s->subscribed = 1;
        else
            sl_log(SL_LOG_WARN, "KF-SEGSTORE",
                   "cannot subscribe to events: %s (long polls wait for "
                   "their timers)",
                   sl_strerror(rc));
    }
    sl_log(SL_LOG_INFO, "KF-HELLO",
           "segstore=%s data=%s local=%d cluster_id=%s", s->cfg->segstore,
           ipc_client_data_dir(s->ipc), s->is_local, s->cluster_id);
}

/* base64url without padding, as Kafka formats its cluster ids. */
static void
cluster_id_from(const uint8_t *id, char *out)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < IPC_INSTANCE_ID_LEN; i++) {
        acc = acc << 8 | id[i];
        bits += 8;
        while (bits >= 6) {
            out[o++] = tab[(acc >> (bits - 6)) & 63];
            bits -= 6;
        }
    }
    if (bits > 0)
        out[o++] = tab[(acc << (6 - bits)) & 63];
    out[o] = 0;
}

static void
on_raw_hello(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    kf_server *s = arg;
    ipc_hello_rep rep;
    if (rc != 0 || h->status != 0 || ipc_hello_rep_decode(body, &rep) != 0) {
        hello_retry(s);
        return;
    }
    /* The instance id is the identity of the data directory, so the
     * cluster id stays the same across restarts of either process. */
    cluster_id_from(rep.instance_id, s->cluster_id);
    if (s->hello_warned)
        sl_log(SL_LOG_INFO, "KF-SEGSTORE", "segstore answers again");
    s->hello_warned = 0;
    if (ipc_client_hello_async(s->ipc, on_hello, s) != 0)
        hello_retry(s);
}

static void
on_hello_timer(uv_timer_t *t)
{
    hello_start(t->data);
}

static void
hello_start(kf_server *s)
{
    if (s->hello_busy || s->stopping)
        return;
    sl_buf b = {0};
    ipc_hello_req q = {sl_slice_str("sluice-kafka"), 0};
    int rc = ipc_hello_req_encode(&b, &q);
    if (rc == 0)
        rc = ipc_client_request(s->ipc, sl_slice_make(b.p, b.n), on_raw_hello,
                                s);
    sl_buf_fini(&b);
    s->hello_busy = 1;
    if (rc != 0)
        hello_retry(s);
}

/* ---- start and stop ---------------------------------------------------------
 */

int
kf_server_start(kf_server *s, const kf_config *cfg, uv_loop_t *loop, char *err,
                size_t errlen)
{
    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    s->loop = loop;
    ipc_client_opts io = {
        .url = cfg->segstore,
        .name = "sluice-kafka",
        .loop = loop,
        .max_inflight = (int)cfg->ipc_inflight,
        .timeout_ms = (int)cfg->ipc_timeout_ms,
    };
    int rc = ipc_client_new(&io, &s->ipc);
    if (rc != 0) {
        snprintf(err, errlen, "segstore=%s: %s", cfg->segstore,
                 sl_strerror(rc));
        return rc;
    }
    fe_link_init(&s->link, "KF-SEGSTORE", cfg->segstore);
    ipc_client_on_link(s->ipc, on_link, s);
    /* Held JoinGroup/SyncGroup replies: a timeout beyond the longest
     * rebalance timeout we pass on (a rebalance may take all of it), and
     * contexts of their own so that they never queue the data path
     * behind them.  Finite, so that requests queued while segstore is
     * away do not pile up forever. */
    ipc_client_opts go = io;
    go.name = "sluice-kafka-groups";
    go.max_inflight = (int)cfg->group_inflight;
    go.timeout_ms = (int)(cfg->group_timeout_max_ms + 30000);
    rc = ipc_client_new(&go, &s->gipc);
    if (rc != 0) {
        snprintf(err, errlen, "segstore=%s: %s", cfg->segstore,
                 sl_strerror(rc));
        return rc;
    }
    static const fe_handler h = {
        .open = conn_open,
        .data = conn_data,
        .closed = conn_closed,
    };
    fe_server_opts fo = {
        .listen = cfg->listen,
        .max_in = (size_t)cfg->max_request_bytes + 4,
        .max_out = (size_t)cfg->conn_max_out,
    };
    rc = fe_server_new(loop, &fo, &h, s, &s->fe, err, errlen);
    if (rc != 0)
        return rc;
    uv_timer_init(loop, &s->hello_timer);
    s->hello_timer.data = s;
    uv_timer_init(loop, &s->stop_timer);
    s->stop_timer.data = s;
    hello_start(s);
    rc = kf__metrics_start(s, err, errlen);
    if (rc != 0)
        return rc;
    sl_log(SL_LOG_INFO, "KF-LISTEN",
           "listen=%s port=%d advertise=%s:%d segstore=%s node=%lld",
           cfg->listen, fe_server_port(s->fe), cfg->adv_host, cfg->adv_port,
           cfg->segstore, (long long)cfg->node_id);
    return 0;
}

int
kf_server_port(const kf_server *s)
{
    return fe_server_port(s->fe);
}

static void
fe_done(void *arg)
{
    kf_server *s = arg;
    /* fe_common runs this once every handle of the server is closed. */
    fe_server_free(s->fe);
    s->fe = NULL;
    uv_close((uv_handle_t *)&s->hello_timer, NULL);
    uv_close((uv_handle_t *)&s->stop_timer, NULL);
    sl_metrics_free(s->metrics);
    s->metrics = NULL;
    if (s->stopped)
        s->stopped(s->stopped_arg);
}

static void
stop_now(kf_server *s)
{
    if (s->stopping == 2)
        return;
    s->stopping = 2;
    uv_timer_stop(&s->stop_timer);
    kf__metrics_stop(s);
    fe_server_close(s->fe, fe_done, s);
}

static void
stop_check(kf_server *s)
{
    if (s->conns == NULL)
        stop_now(s);
}

static void
on_stop_timer(uv_timer_t *t)
{
    kf_server *s = t->data;
    sl_log(SL_LOG_WARN, "KF-STOP",
           "requests still in flight after %lld ms; closing connections",
           (long long)s->cfg->shutdown_timeout_ms);
    stop_now(s);
}

void
kf_server_stop(kf_server *s, void (*done)(void *arg), void *arg)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    s->stopped = done;
    s->stopped_arg = arg;
    uv_timer_stop(&s->hello_timer);
    fe_server_stop_accepting(s->fe);
    /* No new requests; the ones in flight are answered, long polls at
     * once with what is there, and each connection closes when it has
     * nothing left in flight. */
    for (kf_conn *k = s->conns; k != NULL; k = k->next) {
        fe_conn_pause(k->fe);
        k->paused = 1;
        if (k->nlive == 0)
            fe_conn_close(k->fe, 0, 0);
    }
    kf__fetch_flush_parked(s);
    uv_timer_start(&s->stop_timer, on_stop_timer,
                   (uint64_t)s->cfg->shutdown_timeout_ms, 0);
    stop_check(s);
}
