/*
 * ipc_client.c — the asynchronous segstore client (ipc_client.h) on nng
 * REQ contexts, with an optional libuv hand-off, a cache of read-only
 * segment mappings and an event subscription.
 *
 * Requests.  One REQ socket is dialled without blocking, so nng connects and
 * reconnects by itself (backoff 100 ms .. 2 s).  Each of max_inflight slots
 * owns one nng_ctx and one nng_aio and carries one request at a time through
 * SEND then RECV; requests beyond that wait in a FIFO and the slot that
 * finishes takes the next one.  Invariant: the FIFO is non-empty only when no
 * slot is idle.  A request's deadline counts from submission (FIFO time
 * included); each nng operation gets the time that remains.
 *
 * REQ resend is disabled (NNG_OPT_REQ_RESENDTIME = infinite).  nng's REQ
 * would otherwise send the same request again after the resend time or when
 * the connection drops, and segstore would execute an APPEND twice: appends
 * are not idempotent.  So a request whose connection breaks fails with
 * -ECONNRESET instead, and the caller decides whether to retry.
 *
 * Threads.  In thread mode (no loop) a slot's nng callback calls the user's
 * callback itself.  In loop mode the nng callback queues the finished request
 * under c->mtx and wakes the loop with uv_async_send; the loop thread then
 * runs the callbacks, and the reply nng_msg is freed only after its callback
 * returns.  nng never runs our aio callbacks inline from nng_ctx_send/recv
 * (they are dispatched to its task threads), so starting an operation while
 * holding c->mtx is safe; stopping one (nng_aio_stop waits for its callback,
 * which takes c->mtx) is never done under c->mtx.
 *
 * Close.  c->closing is set under c->mtx, and every operation is started
 * under c->mtx only when it is clear, so once close has stopped an aio
 * nothing restarts it (an operation started on a stopped aio would vanish
 * without a callback).  Queued requests get SL_E_CLOSED from close itself;
 * in-flight ones get it from the cancelled aio.  nng_aio_stop cannot be used
 * on the aio whose callback the current thread is running, nor nng_close
 * from inside an nng callback (it waits for the pipe callbacks that may be
 * running us), so in that case close only cancels and leaves the socket to
 * ipc_client_free.
 *
 * Mappings.  Segment files are mapped whole and read-only, cached by path
 * and refcounted atomically, so a view outlives cache eviction, the file's
 * deletion and even the client.  A cached mapping is reused only while the
 * path still names the same inode (a deleted topic re-created under the same
 * name must not be served from the old file) and the range lies within it;
 * otherwise the file is mapped again.
 */
#include "ipc_client.h"

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_INFLIGHT   64
#define MAX_INFLIGHT       4096
#define DEFAULT_TIMEOUT_MS 30000
#define RECONN_MIN_MS      100
#define RECONN_MAX_MS      2000
/* Events waiting for the loop thread; beyond this they are dropped (events
 * are wake-up hints and nng pub/sub is lossy anyway). */
#define EVQ_MAX 4096
/* Mapped segment files kept in the cache (views may hold more). */
#define MAP_MAX     512
#define MAP_BUCKETS 256

enum { SLOT_IDLE, SLOT_SEND, SLOT_RECV };

typedef struct ipc_req ipc_req;
struct ipc_req {
    ipc_req *next;
    nng_msg *msg; /* the request until nng takes it, then the reply */
    nng_time deadline;
    int has_deadline;
    int rc;     /* loop mode: result carried to the loop thread */
    uint8_t op; /* the reply must carry the same op */
    ipc_client_cb cb;
    void *arg;
};

typedef struct ipc_slot ipc_slot;
struct ipc_slot {
    ipc_client *c;
    nng_ctx ctx;
    nng_aio *aio;
    ipc_req *req;
    int state;
    ipc_slot *next_idle;
};

typedef struct ipc_evq ipc_evq;
struct ipc_evq {
    ipc_evq *next;
    nng_msg *msg;
};

typedef struct ipc_map ipc_map;
struct ipc_map {
    ipc_map *hnext;
    ipc_map *lru_prev, *lru_next;
    atomic_int refs; /* one for the cache while cached, one per view */
    char *path;      /* relative to data_dir: the cache key */
    uint64_t hash;
    dev_t dev;
    ino_t ino;
    uint8_t *base;
    size_t size;
};

struct ipc_client {
    /* immutable after ipc_client_new */
    char *url;
    char *name;
    uv_loop_t *loop;
    nng_duration timeout;
    size_t max_msg;
    int force_inline;

    pthread_mutex_t mtx; /* everything below up to the map cache */
    int mtx_ok;
    int closing;
    nng_socket sock;
    int sock_open;
    ipc_slot *slots;
    int nslots;
    ipc_slot *idle;
    ipc_req *fifo_head, *fifo_tail;
    ipc_req *done_head, *done_tail; /* loop mode */

    /* events */
    int sub_state; /* 0 none, 1 being set up, 2 running */
    nng_socket sub;
    int sub_open;
    nng_aio *sub_aio;
    ipc_event_cb ev_cb;
    void *ev_arg;
    ipc_evq *evq_head, *evq_tail; /* loop mode */
    int evq_len;

    /* loop mode; touched only on the loop thread */
    uv_async_t async;
    int async_live;
    int async_closing; /* uv_close called */
    int async_closed;  /* its callback ran */
    int free_pending;
    int outstanding; /* requests not yet delivered: keeps the loop alive */

    /* link state of the request socket (pipe_cb, any nng thread) */
    atomic_int link_up;         /* a connection to segstore exists */
    atomic_uint link_changes;   /* times it came or went */
    ipc_client_link_cb link_cb; /* set on the loop thread (or before use) */
    void *link_arg;
    int link_seen_up; /* loop mode: what link_cb was last told */
    unsigned link_seen_changes;

    /* HELLO results */
    char *data_dir;
    char *events_url;
    uint8_t instance_id[IPC_INSTANCE_ID_LEN];
    int have_hello;
    int local;

    /* segment mapping cache */
    pthread_mutex_t map_mtx;
    int map_mtx_ok;
    ipc_map *buckets[MAP_BUCKETS];
    ipc_map *lru_head, *lru_tail;
    int nmaps;
};

/* The aio (and its client) whose callback this thread is running, so that
 * close can tell what it must not wait for. */
static _Thread_local nng_aio *tl_cb_aio;
static _Thread_local ipc_client *tl_cb_client;

/* ---- errors --------------------------------------------------------------
 * The one place where nng error codes become ours. */

static int
err_from_nng(int rv)
{
    if (rv == 0)
        return 0;
    if (rv & NNG_ESYSERR)
        return -(rv & ~NNG_ESYSERR);
    switch (rv) {
    case NNG_ETIMEDOUT:
        return SL_E_TIMEOUT;
    case NNG_ECLOSED:
    case NNG_ECANCELED:
        return SL_E_CLOSED;
    case NNG_ENOMEM:
        return -ENOMEM;
    case NNG_EINVAL:
    case NNG_EADDRINVAL:
    case NNG_EBADTYPE:
        return SL_E_INVAL;
    case NNG_EMSGSIZE:
        return SL_E_TOOBIG;
    case NNG_ENOTSUP:
        return SL_E_UNSUPPORTED;
    case NNG_EBUSY:
    case NNG_EAGAIN:
        return SL_E_BUSY;
    case NNG_ECONNREFUSED:
        return -ECONNREFUSED;
    case NNG_ECONNRESET:
    case NNG_ECONNSHUT:
        return -ECONNRESET;
    case NNG_ECONNABORTED:
        return -ECONNABORTED;
    case NNG_EPERM:
        return -EPERM;
    case NNG_ENOENT:
        return -ENOENT;
    case NNG_EADDRINUSE:
        return -EADDRINUSE;
    case NNG_EUNREACHABLE:
        return -EHOSTUNREACH;
    case NNG_ENOFILES:
        return -EMFILE;
    case NNG_ENOSPC:
        return -ENOSPC;
    default:
        return SL_E_IO;
    }
}

/* ---- small helpers ------------------------------------------------------ */

static char *
str_dup_slice(sl_slice s)
{
    char *p = malloc(s.n + 1);
    if (p == NULL)
        return NULL;
    if (s.n > 0)
        memcpy(p, s.p, s.n);
    p[s.n] = '\0';
    return p;
}

static void
lock(ipc_client *c)
{
    pthread_mutex_lock(&c->mtx);
}

static void
unlock(ipc_client *c)
{
    pthread_mutex_unlock(&c->mtx);
}

/* Time left before r's deadline, at least 1 ms so that nng waits rather than
 * polls; the caller has already checked that the deadline has not passed. */
static nng_duration
req_remaining(const ipc_req *r, nng_time now)
{
    if (!r->has_deadline)
        return NNG_DURATION_INFINITE;
    if (r->deadline <= now)
        return 1;
    nng_time left = r->deadline - now;
    return left > INT32_MAX ? INT32_MAX : (nng_duration)left;
}

static int
req_expired(const ipc_req *r, nng_time now)
{
    return r->has_deadline && now >= r->deadline;
}

/* Loop mode: hold the loop open while requests are outstanding or events
 * are subscribed, and let uv_run return once neither is true. */
static void
loop_ref_update(ipc_client *c)
{
    if (!c->async_live || c->async_closing)
        return;
    if (c->outstanding > 0 || c->sub_state != 0)
        uv_ref((uv_handle_t *)&c->async);
    else
        uv_unref((uv_handle_t *)&c->async);
}

/* ---- delivery ----------------------------------------------------------- */

/* Run r's callback and free r.  Thread mode: on an nng thread or the
 * closer's; loop mode: on the loop thread. */
static void
req_deliver(ipc_client *c, ipc_req *r, int rc)
{
    ipc_hdr h;
    sl_slice body = {NULL, 0};

    if (rc == 0) {
        sl_slice m = sl_slice_make(nng_msg_body(r->msg), nng_msg_len(r->msg));
        int hrc = ipc_hdr_decode(m, &h, &body);
        if (hrc == SL_E_PARTIAL)
            rc = SL_E_MALFORMED;
        else if (hrc != 0)
            rc = hrc;
        else if (h.op != r->op)
            rc = SL_E_MALFORMED; /* a reply to something else */
    }
    if (rc != 0)
        body = sl_slice_make(NULL, 0);
    r->cb(r->arg, rc, rc == 0 ? &h : NULL, body);
    if (r->msg != NULL)
        nng_msg_free(r->msg);
    free(r);
    if (c->loop != NULL) {
        c->outstanding--;
        loop_ref_update(c);
    }
}

/* A request left nng (reply, error, timeout): hand it to its callback, now
 * in thread mode, through the loop thread in loop mode. */
static void
req_finish(ipc_client *c, ipc_req *r, int rc)
{
    if (c->loop == NULL) {
        req_deliver(c, r, rc);
        return;
    }
    r->rc = rc;
    r->next = NULL;
    lock(c);
    if (c->done_tail != NULL)
        c->done_tail->next = r;
    else
        c->done_head = r;
    c->done_tail = r;
    unlock(c);
    /* Close stops every aio before it closes the async handle, and only
     * aio callbacks get here, so the handle is still open. */
    uv_async_send(&c->async);
}

static void
event_deliver(ipc_client *c, nng_msg *msg)
{
    ipc_event e;
    sl_slice m = sl_slice_make(nng_msg_body(msg), nng_msg_len(msg));

    /* Events are hints: one that does not decode (or is of a kind this
     * client does not know) is skipped. */
    if (ipc_event_decode(m, &e) == 0)
        c->ev_cb(c->ev_arg, &e);
    nng_msg_free(msg);
}

/* Loop mode: tell link_cb what changed since it was last called.  A
 * connection that went and came back between two runs is reported as both
 * changes, so an outage however short is never silent. */
static void
link_report(ipc_client *c)
{
    if (c->link_cb == NULL || c->closing)
        return;
    unsigned n = atomic_load(&c->link_changes);
    int up = atomic_load(&c->link_up);
    if (n == c->link_seen_changes)
        return;
    if (up == c->link_seen_up)
        c->link_cb(c->link_arg, !up); /* a bounce: went and came back */
    c->link_seen_changes = n;
    c->link_seen_up = up;
    c->link_cb(c->link_arg, up);
}

/* nng pipe notifications of the request socket: segstore connected or
 * went away.  Runs on an nng thread. */
static void
pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    ipc_client *c = arg;
    (void)p;
    atomic_store(&c->link_up, ev == NNG_PIPE_EV_ADD_POST);
    atomic_fetch_add(&c->link_changes, 1);
    lock(c);
    if (!c->closing) {
        if (c->loop == NULL) {
            ipc_client_link_cb cb = c->link_cb;
            void *a = c->link_arg;
            unlock(c);
            if (cb != NULL)
                cb(a, ev == NNG_PIPE_EV_ADD_POST);
            return;
        }
        if (c->async_live && !c->async_closing)
            uv_async_send(&c->async);
    }
    unlock(c);
}

static void
async_cb(uv_async_t *h)
{
    ipc_client *c = h->data;

    /* One item per lock, so that a callback which closes the client finds
     * the rest still queued and close delivers them. */
    for (;;) {
        lock(c);
        ipc_req *r = c->done_head;
        if (r != NULL) {
            c->done_head = r->next;
            if (c->done_head == NULL)
                c->done_tail = NULL;
        }
        unlock(c);
        if (r == NULL)
            break;
        req_deliver(c, r, r->rc);
    }
    link_report(c);
    for (;;) {
        lock(c);
        ipc_evq *e = c->closing ? NULL : c->evq_head;
        if (e != NULL) {
            c->evq_head = e->next;
            if (c->evq_head == NULL)
                c->evq_tail = NULL;
            c->evq_len--;
        }
        unlock(c);
        if (e == NULL)
            break;
        event_deliver(c, e->msg);
        free(e);
    }
}

/* ---- slots --------------------------------------------------------------- */

/* Start r on idle slot s.  Called with c->mtx held and c->closing clear. */
static void
slot_start_locked(ipc_slot *s, ipc_req *r, nng_time now)
{
    s->req = r;
    s->state = SLOT_SEND;
    nng_aio_set_timeout(s->aio, req_remaining(r, now));
    nng_aio_set_msg(s->aio, r->msg);
    r->msg = NULL;
    nng_ctx_send(s->ctx, s->aio);
}

/* s has finished its request: take the next one from the FIFO, failing the
 * ones whose deadline passed while they waited, or go idle. */
static void
slot_next(ipc_slot *s)
{
    ipc_client *c = s->c;

    for (;;) {
        lock(c);
        s->req = NULL;
        s->state = SLOT_IDLE;
        ipc_req *r = c->closing ? NULL : c->fifo_head;
        if (r == NULL) {
            s->next_idle = c->idle;
            c->idle = s;
            unlock(c);
            return;
        }
        c->fifo_head = r->next;
        if (c->fifo_head == NULL)
            c->fifo_tail = NULL;
        nng_time now = nng_clock();
        if (!req_expired(r, now)) {
            slot_start_locked(s, r, now);
            unlock(c);
            return;
        }
        unlock(c);
        req_finish(c, r, SL_E_TIMEOUT);
    }
}

static void
slot_cb(void *arg)
{
    ipc_slot *s = arg;
    ipc_client *c = s->c;
    ipc_req *r = s->req;
    nng_aio *prev_aio = tl_cb_aio;
    ipc_client *prev_client = tl_cb_client;
    int rv = nng_aio_result(s->aio);

    tl_cb_aio = s->aio;
    tl_cb_client = c;
    if (s->state == SLOT_SEND) {
        if (rv != 0) {
            /* A failed send gives the message back. */
            nng_msg *m = nng_aio_get_msg(s->aio);
            nng_aio_set_msg(s->aio, NULL);
            if (m != NULL)
                nng_msg_free(m);
            s->req = NULL;
            req_finish(c, r, err_from_nng(rv));
            goto next;
        }
        lock(c);
        nng_time now = nng_clock();
        if (c->closing || req_expired(r, now)) {
            rv = c->closing ? SL_E_CLOSED : SL_E_TIMEOUT;
            unlock(c);
            s->req = NULL;
            req_finish(c, r, rv);
            goto next;
        }
        s->state = SLOT_RECV;
        nng_aio_set_timeout(s->aio, req_remaining(r, now));
        nng_ctx_recv(s->ctx, s->aio);
        unlock(c);
        goto out;
    }
    s->req = NULL;
    if (rv == 0) {
        r->msg = nng_aio_get_msg(s->aio);
        nng_aio_set_msg(s->aio, NULL);
    }
    req_finish(c, r, err_from_nng(rv));
next:
    slot_next(s);
out:
    tl_cb_aio = prev_aio;
    tl_cb_client = prev_client;
}

/* ---- create / close / free ---------------------------------------------- */

static void map_cache_clear(ipc_client *c);

static void
client_destroy(ipc_client *c)
{
    for (int i = 0; i < c->nslots; i++)
        if (c->slots[i].aio != NULL)
            nng_aio_free(c->slots[i].aio);
    if (c->sub_aio != NULL)
        nng_aio_free(c->sub_aio);
    if (c->sub_open)
        nng_close(c->sub);
    if (c->sock_open)
        nng_close(c->sock);
    while (c->evq_head != NULL) {
        ipc_evq *e = c->evq_head;
        c->evq_head = e->next;
        nng_msg_free(e->msg);
        free(e);
    }
    if (c->map_mtx_ok) {
        map_cache_clear(c);
        pthread_mutex_destroy(&c->map_mtx);
    }
    if (c->mtx_ok)
        pthread_mutex_destroy(&c->mtx);
    free(c->slots);
    free(c->data_dir);
    free(c->events_url);
    free(c->url);
    free(c->name);
    free(c);
}

static void
async_close_cb(uv_handle_t *h)
{
    ipc_client *c = h->data;

    c->async_closed = 1;
    if (c->free_pending)
        client_destroy(c);
}

static int
sock_setup(nng_socket s, size_t max_msg)
{
    int rv;

    if ((rv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, max_msg)) != 0 ||
        (rv = nng_socket_set_ms(s, NNG_OPT_RECONNMINT, RECONN_MIN_MS)) != 0 ||
        (rv = nng_socket_set_ms(s, NNG_OPT_RECONNMAXT, RECONN_MAX_MS)) != 0)
        return err_from_nng(rv);
    return 0;
}

void
ipc_client_on_link(ipc_client *c, ipc_client_link_cb cb, void *arg)
{
    lock(c);
    c->link_cb = cb;
    c->link_arg = arg;
    unlock(c);
}

int
ipc_client_link_up(const ipc_client *c)
{
    return atomic_load(&((ipc_client *)c)->link_up);
}

int
ipc_client_new(const ipc_client_opts *opts, ipc_client **out)
{
    ipc_client *c = NULL;
    int rc, rv;

    *out = NULL;
    if (opts == NULL || opts->url == NULL || opts->max_inflight < 0 ||
        opts->max_inflight > MAX_INFLIGHT || opts->timeout_ms < -1)
        return SL_E_INVAL;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return -ENOMEM;
    c->loop = opts->loop;
    c->timeout = opts->timeout_ms == 0    ? DEFAULT_TIMEOUT_MS
                 : opts->timeout_ms == -1 ? NNG_DURATION_INFINITE
                                          : opts->timeout_ms;
    c->max_msg = opts->max_msg ? opts->max_msg : IPC_MSG_MAX;
    c->force_inline = opts->force_inline;
    c->url = strdup(opts->url);
    c->name = strdup(opts->name ? opts->name : "sluice-client");
    if (c->url == NULL || c->name == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    if ((rc = -pthread_mutex_init(&c->mtx, NULL)) != 0)
        goto fail;
    c->mtx_ok = 1;
    if ((rc = -pthread_mutex_init(&c->map_mtx, NULL)) != 0)
        goto fail;
    c->map_mtx_ok = 1;

    if ((rv = nng_req0_open(&c->sock)) != 0) {
        rc = err_from_nng(rv);
        goto fail;
    }
    c->sock_open = 1;
    if ((rc = sock_setup(c->sock, c->max_msg)) != 0)
        goto fail;
    /* Contexts copy the socket's resend time when opened; set it first
     * (and on each context below, to be explicit).  See the file header
     * for why resending must be off. */
    rv = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME,
                           NNG_DURATION_INFINITE);
    if (rv != 0) {
        rc = err_from_nng(rv);
        goto fail;
    }

    int n = opts->max_inflight ? opts->max_inflight : DEFAULT_INFLIGHT;
    if ((c->slots = calloc((size_t)n, sizeof(*c->slots))) == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        ipc_slot *s = &c->slots[i];
        s->c = c;
        if ((rv = nng_aio_alloc(&s->aio, slot_cb, s)) != 0) {
            rc = err_from_nng(rv);
            goto fail;
        }
        c->nslots = i + 1;
        if ((rv = nng_ctx_open(&s->ctx, c->sock)) != 0 ||
            (rv = nng_ctx_set_ms(s->ctx, NNG_OPT_REQ_RESENDTIME,
                                 NNG_DURATION_INFINITE)) != 0) {
            rc = err_from_nng(rv);
            goto fail;
        }
    }
    /* Idle list in slot order, for predictable tests and debugging. */
    for (int i = n - 1; i >= 0; i--) {
        c->slots[i].next_idle = c->idle;
        c->idle = &c->slots[i];
    }

    if ((rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_POST, pipe_cb, c)) !=
            0 ||
        (rv = nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, pipe_cb, c)) !=
            0) {
        rc = err_from_nng(rv);
        goto fail;
    }
    if ((rv = nng_dial(c->sock, c->url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
        rc = err_from_nng(rv);
        goto fail;
    }
    /* Last, because once initialised the handle can only be released by
     * uv_close and a later loop iteration. */
    if (c->loop != NULL) {
        if ((rc = uv_async_init(c->loop, &c->async, async_cb)) != 0)
            goto fail;
        c->async.data = c;
        lock(c);
        c->async_live = 1;
        unlock(c);
        loop_ref_update(c);
        /* A connection made before the handle existed is reported by the
         * first run of async_cb. */
        uv_async_send(&c->async);
    }
    *out = c;
    return 0;
fail:
    client_destroy(c);
    return rc;
}

static void
aio_stop_unless_current(ipc_client *c, nng_aio *aio)
{
    if (aio == NULL)
        return;
    if (tl_cb_client == c && tl_cb_aio == aio)
        nng_aio_cancel(aio);
    else
        nng_aio_stop(aio);
}

void
ipc_client_close(ipc_client *c)
{
    ipc_req *fifo;
    nng_aio *sub_aio;
    int close_socks;

    if (c == NULL)
        return;
    lock(c);
    if (c->closing) {
        unlock(c);
        return;
    }
    c->closing = 1;
    fifo = c->fifo_head;
    c->fifo_head = c->fifo_tail = NULL;
    /* A subscription set up after this point sees closing and stays
     * unarmed; its socket is then closed by ipc_client_free. */
    sub_aio = c->sub_aio;
    close_socks = tl_cb_client != c;
    unlock(c);

    /* Requests that never reached nng fail here, in FIFO order. */
    while (fifo != NULL) {
        ipc_req *r = fifo;
        fifo = r->next;
        req_deliver(c, r, SL_E_CLOSED);
    }
    /* In-flight ones: the cancelled aio's callback reports SL_E_CLOSED,
     * and nng_aio_stop waits for it. */
    for (int i = 0; i < c->nslots; i++)
        aio_stop_unless_current(c, c->slots[i].aio);
    /* The SUB receive is ended by closing its socket (ECLOSED, no re-arm)
     * and only then waited for: stopping the aio first made nng 1.5.2's
     * close of a SUB socket with traffic still arriving hang more often
     * (a race inside nng's pipe teardown; docs/ipc.md). */
    if (!close_socks)
        aio_stop_unless_current(c, sub_aio);
    if (close_socks) {
        lock(c);
        int sock_open = c->sock_open, sub_open = c->sub_open;
        c->sock_open = c->sub_open = 0;
        unlock(c);
        if (sock_open)
            nng_close(c->sock);
        if (sub_open)
            nng_close(c->sub);
        if (sub_aio != NULL)
            nng_aio_stop(sub_aio);
    }
    if (c->async_live) {
        /* Every aio is stopped, so nothing is added to these queues any
         * more: deliver what arrived, drop pending events. */
        async_cb(&c->async);
        while (c->evq_head != NULL) {
            ipc_evq *e = c->evq_head;
            c->evq_head = e->next;
            nng_msg_free(e->msg);
            free(e);
        }
        c->evq_tail = NULL;
        c->evq_len = 0;
        c->async_closing = 1;
        uv_close((uv_handle_t *)&c->async, async_close_cb);
    }
}

void
ipc_client_free(ipc_client *c)
{
    if (c == NULL)
        return;
    ipc_client_close(c);
    /* A libuv handle is released only in its close callback. */
    if (c->async_live && !c->async_closed) {
        c->free_pending = 1;
        return;
    }
    client_destroy(c);
}

/* ---- requests ----------------------------------------------------------- */

static int
client_submit(ipc_client *c, sl_slice req, nng_duration timeout,
              ipc_client_cb cb, void *arg)
{
    ipc_hdr h;
    sl_slice body;
    ipc_req *r;
    int rv;

    if (c == NULL || cb == NULL || ipc_hdr_decode(req, &h, &body) != 0)
        return SL_E_INVAL;
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return -ENOMEM;
    if ((rv = nng_msg_alloc(&r->msg, req.n)) != 0) {
        free(r);
        return err_from_nng(rv);
    }
    memcpy(nng_msg_body(r->msg), req.p, req.n);
    r->op = h.op;
    r->cb = cb;
    r->arg = arg;
    nng_time now = nng_clock();
    if (timeout != NNG_DURATION_INFINITE) {
        r->has_deadline = 1;
        r->deadline = now + (nng_time)timeout;
    }

    lock(c);
    if (c->closing) {
        unlock(c);
        nng_msg_free(r->msg);
        free(r);
        return SL_E_CLOSED;
    }
    if (c->loop != NULL) {
        c->outstanding++;
        loop_ref_update(c);
    }
    ipc_slot *s = c->idle;
    if (s != NULL) {
        /* An idle slot means the FIFO is empty: r goes first. */
        c->idle = s->next_idle;
        slot_start_locked(s, r, now);
    } else {
        if (c->fifo_tail != NULL)
            c->fifo_tail->next = r;
        else
            c->fifo_head = r;
        c->fifo_tail = r;
    }
    unlock(c);
    return 0;
}

int
ipc_client_request(ipc_client *c, sl_slice req, ipc_client_cb cb, void *arg)
{
    if (c == NULL)
        return SL_E_INVAL;
    return client_submit(c, req, c->timeout, cb, arg);
}

/* A blocking wait on one callback, for the thread-mode calls. */
typedef struct sync_wait {
    pthread_mutex_t m;
    pthread_cond_t cv;
    int done;
    int rc;
    ipc_hdr hdr;
    sl_buf *body;
} sync_wait;

static int
sync_init(sync_wait *w, sl_buf *body)
{
    memset(w, 0, sizeof(*w));
    w->body = body;
    if (pthread_mutex_init(&w->m, NULL) != 0)
        return -ENOMEM;
    if (pthread_cond_init(&w->cv, NULL) != 0) {
        pthread_mutex_destroy(&w->m);
        return -ENOMEM;
    }
    return 0;
}

static void
sync_signal(sync_wait *w, int rc)
{
    pthread_mutex_lock(&w->m);
    w->rc = rc;
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->m);
}

static int
sync_wait_done(sync_wait *w)
{
    pthread_mutex_lock(&w->m);
    while (!w->done)
        pthread_cond_wait(&w->cv, &w->m);
    pthread_mutex_unlock(&w->m);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->m);
    return w->rc;
}

static void
call_cb(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    sync_wait *w = arg;

    if (rc == 0) {
        w->hdr = *h;
        if (w->body != NULL) {
            sl_slice text;
            /* For an error reply the caller wants the server's text. */
            if (h->status != 0 && ipc_err_decode(body, &text) == 0)
                body = text;
            if (sl_buf_append(w->body, body.p, body.n) != 0)
                rc = -ENOMEM;
        }
    }
    sync_signal(w, rc);
}

int
ipc_client_call(ipc_client *c, sl_slice req, ipc_hdr *hdr, sl_buf *body)
{
    sync_wait w;
    int rc;

    if (hdr != NULL)
        memset(hdr, 0, sizeof(*hdr));
    if (body != NULL)
        sl_buf_reset(body);
    /* In loop mode the reply is delivered on the loop thread, which would
     * be the one blocked here. */
    if (c == NULL || c->loop != NULL)
        return SL_E_INVAL;
    if ((rc = sync_init(&w, body)) != 0)
        return rc;
    if ((rc = client_submit(c, req, c->timeout, call_cb, &w)) != 0) {
        w.done = 1;
        sync_wait_done(&w);
        return rc;
    }
    rc = sync_wait_done(&w);
    if (rc != 0) {
        if (body != NULL)
            sl_buf_reset(body);
        return rc;
    }
    if (hdr != NULL)
        *hdr = w.hdr;
    return w.hdr.status;
}

/* ---- HELLO -------------------------------------------------------------- */

static int
hex_val(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* True when <dir>/segstore.id holds exactly the 32 lowercase hex digits of
 * id and a newline (docs/format.md).  Any failure means "not local". */
static int
id_file_matches(const char *dir, const uint8_t id[IPC_INSTANCE_ID_LEN])
{
    char path[PATH_MAX];
    char buf[2 * IPC_INSTANCE_ID_LEN + 2];
    ssize_t n;
    int fd;

    n = snprintf(path, sizeof(path), "%s/segstore.id", dir);
    if (n < 0 || (size_t)n >= sizeof(path))
        return 0;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    do
        n = read(fd, buf, sizeof(buf));
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n != 2 * IPC_INSTANCE_ID_LEN + 1 ||
        buf[2 * IPC_INSTANCE_ID_LEN] != '\n')
        return 0;
    for (int i = 0; i < IPC_INSTANCE_ID_LEN; i++) {
        int hi = hex_val(buf[2 * i]), lo = hex_val(buf[2 * i + 1]);
        if (hi < 0 || lo < 0 || (uint8_t)(hi << 4 | lo) != id[i])
            return 0;
    }
    return 1;
}

/* Split "tcp://host:port" (also tcp4/tcp6) into scheme+"://", host, port. */
static int
tcp_url_split(const char *url, size_t *scheme_len, const char **host,
              size_t *host_len, long *port)
{
    const char *sep = strstr(url, "://");
    char *end;

    if (sep == NULL || strncmp(url, "tcp", 3) != 0)
        return -1;
    *scheme_len = (size_t)(sep - url) + 3;
    *host = sep + 3;
    const char *colon = strrchr(*host, ':');
    if (colon == NULL)
        return -1;
    *host_len = (size_t)(colon - *host);
    errno = 0;
    *port = strtol(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || *port < 0 ||
        *port > 65535)
        return -1;
    return 0;
}

static int
host_is_wildcard(const char *h, size_t n)
{
    return n == 0 || (n == 1 && h[0] == '*') ||
           (n == 7 && memcmp(h, "0.0.0.0", 7) == 0) ||
           (n == 4 && memcmp(h, "[::]", 4) == 0);
}

/*
 * The events URL to dial, from the HELLO reply and the request URL:
 *   - as given, except that a tcp:// listen-anywhere host (*, 0.0.0.0, [::]
 *     or none) is replaced by the host we dialled for requests: segstore
 *     reports the address it bound, which a remote client cannot dial;
 *   - when empty, segstore's default: request URL + ".events" for ipc://,
 *     request port + 1 for tcp://.
 */
static char *
events_url_resolve(const char *req_url, sl_slice ev)
{
    size_t rs, es, rh_len, eh_len;
    const char *rh, *eh;
    long rport, eport;
    char *out;

    /* A segstore listening on several URLs publishes one events URL per
     * listener, comma-separated, in the same order: take the first whose
     * scheme (ipc:// or tcp://) is the one this client dialled. */
    if (memchr(ev.p, ',', ev.n) != NULL) {
        const char *colon = strstr(req_url, "://");
        size_t scheme = colon ? (size_t)(colon - req_url) + 3 : 0;
        sl_slice first = {0}, pick = {0};
        size_t start = 0;
        for (size_t i = 0; i <= ev.n; i++) {
            if (i < ev.n && ev.p[i] != ',')
                continue;
            sl_slice one = sl_slice_make(ev.p + start, i - start);
            if (first.p == NULL)
                first = one;
            if (pick.p == NULL && scheme > 0 && one.n >= scheme &&
                memcmp(one.p, req_url, scheme) == 0)
                pick = one;
            start = i + 1;
        }
        ev = pick.p != NULL ? pick : first;
    }

    if (ev.n == 0) {
        if (strncmp(req_url, "ipc://", 6) == 0) {
            size_t n = strlen(req_url);
            if ((out = malloc(n + sizeof(".events"))) == NULL)
                return NULL;
            memcpy(out, req_url, n);
            memcpy(out + n, ".events", sizeof(".events"));
            return out;
        }
        if (tcp_url_split(req_url, &rs, &rh, &rh_len, &rport) == 0 &&
            rport < 65535) {
            size_t cap = rs + rh_len + 16;
            if ((out = malloc(cap)) == NULL)
                return NULL;
            snprintf(out, cap, "%.*s%.*s:%ld", (int)rs, req_url, (int)rh_len,
                     rh, rport + 1);
            return out;
        }
        return str_dup_slice(ev);
    }
    if ((out = str_dup_slice(ev)) == NULL)
        return NULL;
    if (tcp_url_split(out, &es, &eh, &eh_len, &eport) == 0 &&
        host_is_wildcard(eh, eh_len) &&
        tcp_url_split(req_url, &rs, &rh, &rh_len, &rport) == 0 &&
        !host_is_wildcard(rh, rh_len)) {
        size_t cap = es + rh_len + 16;
        char *fixed = malloc(cap);
        if (fixed == NULL) {
            free(out);
            return NULL;
        }
        snprintf(fixed, cap, "%.*s%.*s:%ld", (int)es, out, (int)rh_len, rh,
                 eport);
        free(out);
        out = fixed;
    }
    return out;
}

static int
hello_apply(ipc_client *c, sl_slice body)
{
    ipc_hello_rep m;
    char *dd, *eu;

    if (ipc_hello_rep_decode(body, &m) != 0)
        return SL_E_MALFORMED;
    if (IPC_VERSION < m.proto_min || IPC_VERSION > m.proto_max)
        return SL_E_VERSION;
    /* Both become C strings; data_dir must be absolute (docs/ipc.md). */
    if (m.data_dir.n == 0 || m.data_dir.p[0] != '/' ||
        memchr(m.data_dir.p, '\0', m.data_dir.n) != NULL ||
        (m.events_url.n > 0 &&
         memchr(m.events_url.p, '\0', m.events_url.n) != NULL))
        return SL_E_MALFORMED;
    dd = str_dup_slice(m.data_dir);
    eu = events_url_resolve(c->url, m.events_url);
    if (dd == NULL || eu == NULL) {
        free(dd);
        free(eu);
        return -ENOMEM;
    }
    int local = id_file_matches(dd, m.instance_id);

    lock(c);
    char *old_dd = c->data_dir, *old_eu = c->events_url;
    c->data_dir = dd;
    c->events_url = eu;
    memcpy(c->instance_id, m.instance_id, IPC_INSTANCE_ID_LEN);
    c->local = local;
    c->have_hello = 1;
    unlock(c);
    free(old_dd);
    free(old_eu);
    return 0;
}

typedef struct hello_op {
    ipc_client *c;
    ipc_client_hello_cb cb;
    void *arg;
} hello_op;

static void
hello_reply_cb(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    hello_op *op = arg;
    ipc_client_hello_cb cb = op->cb;
    void *cb_arg = op->arg;

    if (rc == 0)
        rc = h->status != 0 ? h->status : hello_apply(op->c, body);
    free(op);
    cb(cb_arg, rc);
}

static int
hello_start(ipc_client *c, nng_duration timeout, ipc_client_hello_cb cb,
            void *arg)
{
    sl_buf b = {0};
    hello_op *op;
    ipc_hello_req q = {sl_slice_str(c->name), 0};
    int rc;

    if (q.client_name.n > IPC_STR_MAX)
        q.client_name.n = IPC_STR_MAX;
    if ((rc = ipc_hello_req_encode(&b, &q)) != 0)
        goto fail;
    if ((op = malloc(sizeof(*op))) == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    op->c = c;
    op->cb = cb;
    op->arg = arg;
    rc = client_submit(c, sl_slice_make(b.p, b.n), timeout, hello_reply_cb, op);
    if (rc != 0)
        free(op);
fail:
    sl_buf_fini(&b);
    return rc;
}

int
ipc_client_hello_async(ipc_client *c, ipc_client_hello_cb cb, void *arg)
{
    if (c == NULL || cb == NULL)
        return SL_E_INVAL;
    return hello_start(c, c->timeout, cb, arg);
}

static void
hello_sync_cb(void *arg, int rc)
{
    sync_signal(arg, rc);
}

int
ipc_client_hello(ipc_client *c, int timeout_ms)
{
    sync_wait w;
    int rc;

    if (c == NULL || c->loop != NULL || timeout_ms < -1)
        return SL_E_INVAL;
    nng_duration t = timeout_ms == 0    ? c->timeout
                     : timeout_ms == -1 ? NNG_DURATION_INFINITE
                                        : timeout_ms;
    if ((rc = sync_init(&w, NULL)) != 0)
        return rc;
    if ((rc = hello_start(c, t, hello_sync_cb, &w)) != 0) {
        w.done = 1;
        sync_wait_done(&w);
        return rc;
    }
    return sync_wait_done(&w);
}

int
ipc_client_is_local(const ipc_client *c)
{
    return c->have_hello && c->local && !c->force_inline;
}

const char *
ipc_client_data_dir(const ipc_client *c)
{
    return c->data_dir;
}

const char *
ipc_client_events_url(const ipc_client *c)
{
    return c->events_url;
}

/* ---- segment mappings ---------------------------------------------------- */

static void
map_rele(ipc_map *m)
{
    if (atomic_fetch_sub(&m->refs, 1) == 1) {
        munmap(m->base, m->size);
        free(m->path);
        free(m);
    }
}

static ipc_map *
map_lookup(ipc_client *c, sl_slice path, uint64_t hash)
{
    for (ipc_map *m = c->buckets[hash % MAP_BUCKETS]; m != NULL; m = m->hnext)
        if (m->hash == hash && strlen(m->path) == path.n &&
            memcmp(m->path, path.p, path.n) == 0)
            return m;
    return NULL;
}

static void
lru_unlink(ipc_client *c, ipc_map *m)
{
    if (m->lru_prev != NULL)
        m->lru_prev->lru_next = m->lru_next;
    else
        c->lru_head = m->lru_next;
    if (m->lru_next != NULL)
        m->lru_next->lru_prev = m->lru_prev;
    else
        c->lru_tail = m->lru_prev;
    m->lru_prev = m->lru_next = NULL;
}

static void
lru_push_front(ipc_client *c, ipc_map *m)
{
    m->lru_prev = NULL;
    m->lru_next = c->lru_head;
    if (c->lru_head != NULL)
        c->lru_head->lru_prev = m;
    c->lru_head = m;
    if (c->lru_tail == NULL)
        c->lru_tail = m;
}

/* Remove m from the cache and drop the cache's reference (map_mtx held). */
static void
map_uncache(ipc_client *c, ipc_map *m)
{
    ipc_map **pp = &c->buckets[m->hash % MAP_BUCKETS];

    while (*pp != m)
        pp = &(*pp)->hnext;
    *pp = m->hnext;
    lru_unlink(c, m);
    c->nmaps--;
    map_rele(m);
}

static void
map_cache_clear(ipc_client *c)
{
    while (c->lru_head != NULL)
        map_uncache(c, c->lru_head);
}

/* Relative, NUL-free, and without ".." components: segstore names files
 * inside its data dir, and a client must not be steered outside it. */
static int
seg_path_ok(sl_slice p)
{
    if (p.n == 0 || p.n >= PATH_MAX || p.p[0] == '/' ||
        memchr(p.p, '\0', p.n) != NULL)
        return 0;
    for (size_t i = 0; i < p.n;) {
        size_t j = i;
        while (j < p.n && p.p[j] != '/')
            j++;
        if (j - i == 2 && p.p[i] == '.' && p.p[i + 1] == '.')
            return 0;
        i = j + 1;
    }
    return 1;
}

static int
range_ok(uint64_t size, uint64_t position, uint32_t length)
{
    return position <= size && length <= size - position;
}

static void
view_set(ipc_seg_view *v, ipc_map *m, uint64_t position, uint32_t length)
{
    v->bytes = sl_slice_make(m->base + position, length);
    v->map_ = m;
}

int
ipc_client_map(ipc_client *c, sl_slice path, uint64_t position, uint32_t length,
               ipc_seg_view *v)
{
    char full[PATH_MAX];
    struct stat st;
    ipc_map *m, *nm = NULL;
    int fd, n, rc;

    memset(v, 0, sizeof(*v));
    if (c == NULL || !seg_path_ok(path))
        return SL_E_INVAL;
    lock(c);
    n = c->data_dir == NULL
            ? -1
            : snprintf(full, sizeof(full), "%s/%.*s", c->data_dir, (int)path.n,
                       (const char *)path.p);
    unlock(c);
    if (n < 0)
        return SL_E_INVAL; /* no HELLO yet */
    if ((size_t)n >= sizeof(full))
        return -ENAMETOOLONG;
    if (stat(full, &st) != 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return SL_E_INVAL;
    if (!range_ok((uint64_t)st.st_size, position, length))
        return SL_E_RANGE;
    if (length == 0)
        return 0; /* an empty view holds nothing */

    uint64_t hash = sl_xxh3(path.p, path.n);
    pthread_mutex_lock(&c->map_mtx);
    m = map_lookup(c, path, hash);
    if (m != NULL && (m->dev != st.st_dev || m->ino != st.st_ino)) {
        map_uncache(c, m); /* the path now names another file */
        m = NULL;
    }
    if (m != NULL && range_ok(m->size, position, length)) {
        atomic_fetch_add(&m->refs, 1);
        lru_unlink(c, m);
        lru_push_front(c, m);
        pthread_mutex_unlock(&c->map_mtx);
        view_set(v, m, position, length);
        return 0;
    }
    pthread_mutex_unlock(&c->map_mtx);

    /* Map the whole file as it is now (it may have grown or been
     * replaced since the stat: fstat of the open file is what counts). */
    if ((fd = open(full, O_RDONLY | O_CLOEXEC)) < 0)
        return -errno;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto fail;
    }
    if (!range_ok((uint64_t)st.st_size, position, length)) {
        rc = SL_E_RANGE;
        goto fail;
    }
    if ((nm = calloc(1, sizeof(*nm))) == NULL ||
        (nm->path = str_dup_slice(path)) == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    nm->size = (size_t)st.st_size;
    nm->base = mmap(NULL, nm->size, PROT_READ, MAP_SHARED, fd, 0);
    if (nm->base == MAP_FAILED) {
        rc = -errno;
        goto fail;
    }
    close(fd);
    nm->hash = hash;
    nm->dev = st.st_dev;
    nm->ino = st.st_ino;
    atomic_init(&nm->refs, 2); /* the cache and the view */

    pthread_mutex_lock(&c->map_mtx);
    if ((m = map_lookup(c, path, hash)) != NULL)
        map_uncache(c, m); /* ours is newer (or another thread's twin) */
    ipc_map **bucket = &c->buckets[hash % MAP_BUCKETS];
    nm->hnext = *bucket;
    *bucket = nm;
    lru_push_front(c, nm);
    c->nmaps++;
    while (c->nmaps > MAP_MAX)
        map_uncache(c, c->lru_tail);
    pthread_mutex_unlock(&c->map_mtx);
    view_set(v, nm, position, length);
    return 0;
fail:
    if (nm != NULL) {
        free(nm->path);
        free(nm);
    }
    close(fd);
    return rc;
}

void
ipc_seg_view_release(ipc_seg_view *v)
{
    if (v == NULL)
        return;
    if (v->map_ != NULL)
        map_rele(v->map_);
    v->map_ = NULL;
    v->bytes = sl_slice_make(NULL, 0);
}

/* ---- events -------------------------------------------------------------- */

static void
sub_cb(void *arg)
{
    ipc_client *c = arg;
    nng_aio *prev_aio = tl_cb_aio;
    ipc_client *prev_client = tl_cb_client;
    int rv = nng_aio_result(c->sub_aio);

    tl_cb_aio = c->sub_aio;
    tl_cb_client = c;
    if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
        goto out; /* closing: do not re-arm */
    if (rv == 0) {
        nng_msg *msg = nng_aio_get_msg(c->sub_aio);
        nng_aio_set_msg(c->sub_aio, NULL);
        if (c->loop == NULL) {
            event_deliver(c, msg);
        } else {
            ipc_evq *e = malloc(sizeof(*e));
            lock(c);
            if (e != NULL && c->evq_len < EVQ_MAX) {
                e->next = NULL;
                e->msg = msg;
                if (c->evq_tail != NULL)
                    c->evq_tail->next = e;
                else
                    c->evq_head = e;
                c->evq_tail = e;
                c->evq_len++;
                msg = NULL;
                e = NULL;
            }
            unlock(c);
            if (msg != NULL)
                nng_msg_free(msg); /* dropped: see EVQ_MAX */
            free(e);
            uv_async_send(&c->async);
        }
    }
    lock(c);
    if (!c->closing)
        nng_recv_aio(c->sub, c->sub_aio);
    unlock(c);
out:
    tl_cb_aio = prev_aio;
    tl_cb_client = prev_client;
}

int
ipc_client_subscribe(ipc_client *c, const char *events_url, ipc_event_cb cb,
                     void *arg)
{
    nng_socket sub;
    nng_aio *aio = NULL;
    char *url = NULL;
    int open_ok = 0, rc, rv;

    if (c == NULL || cb == NULL)
        return SL_E_INVAL;
    lock(c);
    if (c->closing)
        rc = SL_E_CLOSED;
    else if (c->sub_state != 0)
        rc = -EALREADY;
    else if ((url = strdup(events_url      ? events_url
                           : c->events_url ? c->events_url
                                           : "")) == NULL)
        rc = -ENOMEM;
    else
        rc = 0;
    if (rc == 0)
        c->sub_state = 1;
    unlock(c);
    if (rc != 0)
        return rc;
    if (url[0] == '\0') {
        rc = SL_E_INVAL; /* no URL given and no HELLO yet */
        goto fail;
    }
    if ((rv = nng_sub0_open(&sub)) != 0) {
        rc = err_from_nng(rv);
        goto fail;
    }
    open_ok = 1;
    if ((rv = nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, "", 0)) != 0 ||
        (rv = nng_aio_alloc(&aio, sub_cb, c)) != 0) {
        rc = err_from_nng(rv);
        goto fail;
    }
    if ((rc = sock_setup(sub, c->max_msg)) != 0)
        goto fail;
    if ((rv = nng_dial(sub, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
        rc = err_from_nng(rv);
        goto fail;
    }
    free(url);

    lock(c);
    c->sub = sub;
    c->sub_open = 1;
    c->sub_aio = aio;
    c->ev_cb = cb;
    c->ev_arg = arg;
    c->sub_state = 2;
    /* If close ran meanwhile it could not see this aio: leave it unarmed;
     * the socket is closed by ipc_client_free. */
    if (!c->closing)
        nng_recv_aio(sub, aio);
    unlock(c);
    if (c->loop != NULL)
        loop_ref_update(c);
    return 0;
fail:
    if (aio != NULL)
        nng_aio_free(aio);
    if (open_ok)
        nng_close(sub);
    free(url);
    lock(c);
    c->sub_state = 0;
    unlock(c);
    return rc;
}
