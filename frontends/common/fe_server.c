/*
 * fe_server.c — the TCP server and connections of a frontend (see
 * fe_common.h for the contract).
 *
 * Input: one contiguous receive buffer per connection, grown on demand up
 * to max_in, into which libuv reads directly; the protocol's `data`
 * callback sees every unconsumed byte and consumes whole frames, and the
 * remainder is moved to the front.  Moving is cheap because frames are
 * usually consumed whole in the read that completes them.
 *
 * Output: a FIFO of chunks, each either a private copy or a reference to
 * bytes someone else owns (a read-only segment mapping) with a release
 * callback.  One uv_write at a time carries up to WRITE_BATCH chunks as an
 * iovec, so a fetch reply of header + many segment ranges goes out in one
 * writev without copying the record bytes.
 *
 * Lifetime: a connection is freed only in its uv_close callback, after
 * `closed` has run; chunks still queued are released there.
 */
#include "fe_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define WRITE_BATCH 64
#define READ_STEP   (64u << 10)

typedef struct out_chunk {
    struct out_chunk *next;
    const uint8_t *p;
    size_t n;
    void (*release)(void *arg);
    void *rel_arg;
} out_chunk;

struct fe_conn {
    fe_server *srv;
    uv_tcp_t tcp;
    uv_timer_t kick; /* resumes input processing outside callbacks */
    fe_conn *prev, *next;
    void *state;
    int opened; /* `open` returned: `closed` is owed */
    uint8_t *in;
    size_t in_len, in_cap;
    out_chunk *out_head, *out_tail;
    size_t queued;
    uv_write_t wreq;
    out_chunk *wchunks[WRITE_BATCH];
    size_t nwriting;
    int reading, paused, throttled;
    int closing; /* flush, then close */
    int closed;  /* uv_close called */
    int why;
    char peer[64];
};

struct fe_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    fe_handler h;
    void *arg;
    size_t max_in, max_out;
    int backlog;
    int listening, listener_closed, closing;
    fe_conn *conns;
    size_t nconns;
    void (*done)(void *);
    void *done_arg;
};

static void conn_try_write(fe_conn *c);
static void conn_process(fe_conn *c);
static void server_maybe_done(fe_server *s);

/* ---- addresses ------------------------------------------------------------
 */

int
fe_addr_parse(const char *hostport, struct sockaddr_storage *addr)
{
    char host[128];
    const char *port;
    if (hostport[0] == '[') {
        const char *end = strchr(hostport, ']');
        if (end == NULL || end[1] != ':' ||
            (size_t)(end - hostport - 1) >= sizeof(host))
            return SL_E_INVAL;
        memcpy(host, hostport + 1, (size_t)(end - hostport - 1));
        host[end - hostport - 1] = 0;
        port = end + 2;
    } else {
        const char *colon = strrchr(hostport, ':');
        if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host))
            return SL_E_INVAL;
        memcpy(host, hostport, (size_t)(colon - hostport));
        host[colon - hostport] = 0;
        port = colon + 1;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (*port == 0 || *end != 0 || p < 0 || p > 65535)
        return SL_E_INVAL;
    memset(addr, 0, sizeof(*addr));
    if (strchr(host, ':') != NULL)
        return uv_ip6_addr(host, (int)p, (struct sockaddr_in6 *)addr) == 0
                   ? 0
                   : SL_E_INVAL;
    return uv_ip4_addr(host, (int)p, (struct sockaddr_in *)addr) == 0
               ? 0
               : SL_E_INVAL;
}

static void
name_peer(fe_conn *c)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    char ip[64] = "?";
    int port = 0;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        } else {
            uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        }
    }
    snprintf(c->peer, sizeof(c->peer), "%.40s:%d", ip, port);
}

/* ---- closing ----------------------------------------------------------------
 */

static void
release_chunks(fe_conn *c)
{
    out_chunk *k = c->out_head;
    while (k) {
        out_chunk *next = k->next;
        if (k->release)
            k->release(k->rel_arg);
        free(k);
        k = next;
    }
    c->out_head = c->out_tail = NULL;
    c->queued = 0;
}

/* The connection's last handle is closed: only now does it stop counting,
 * so that `done` (which may free the server) runs after every callback
 * that could still reach the server. */
static void
conn_freed(uv_handle_t *h)
{
    fe_conn *c = h->data;
    fe_server *s = c->srv;
    free(c->in);
    free(c);
    s->nconns--;
    server_maybe_done(s);
}

static void
conn_closed(uv_handle_t *h)
{
    fe_conn *c = h->data;
    fe_server *s = c->srv;
    /* The write in flight, if any, completed (with UV_ECANCELED) before
     * this callback, so every chunk is ours to release. */
    release_chunks(c);
    if (c->opened && s->h.closed)
        s->h.closed(c, c->state, c->why);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    uv_close((uv_handle_t *)&c->kick, conn_freed);
}

static void
conn_close_now(fe_conn *c)
{
    if (c->closed)
        return;
    c->closed = 1;
    uv_timer_stop(&c->kick);
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

void
fe_conn_close(fe_conn *c, int why, int now)
{
    if (c->closed)
        return;
    if (!c->closing)
        c->why = why;
    c->closing = 1;
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
    if (now || (c->queued == 0 && c->nwriting == 0))
        conn_close_now(c);
}

/* ---- output ----------------------------------------------------------------
 */

static void update_reading(fe_conn *c);

static void
on_written(uv_write_t *w, int status)
{
    fe_conn *c = w->data;
    for (size_t i = 0; i < c->nwriting; i++) {
        out_chunk *k = c->wchunks[i];
        c->queued -= k->n;
        if (k->release)
            k->release(k->rel_arg);
        free(k);
    }
    c->nwriting = 0;
    if (status != 0) {
        if (!c->closed)
            fe_conn_close(c, status == UV_ECANCELED ? c->why : status, 1);
        return;
    }
    if (c->closing && c->queued == 0) {
        conn_close_now(c);
        return;
    }
    if (c->throttled && c->queued < c->srv->max_out / 2) {
        c->throttled = 0;
        update_reading(c);
        if (c->srv->h.drained)
            c->srv->h.drained(c, c->state);
    }
    conn_try_write(c);
}

static void
conn_try_write(fe_conn *c)
{
    if (c->nwriting > 0 || c->out_head == NULL || c->closed)
        return;
    uv_buf_t bufs[WRITE_BATCH] = {{0}};
    size_t n = 0;
    while (c->out_head && n < WRITE_BATCH) {
        out_chunk *k = c->out_head;
        c->out_head = k->next;
        if (c->out_head == NULL)
            c->out_tail = NULL;
        c->wchunks[n] = k;
        bufs[n] = uv_buf_init((char *)k->p, (unsigned)k->n);
        n++;
    }
    c->nwriting = n;
    c->wreq.data = c;
    int rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, bufs, (unsigned)n,
                      on_written);
    if (rc != 0) {
        /* Put the chunks back so that closing releases them. */
        for (size_t i = n; i-- > 0;) {
            c->wchunks[i]->next = c->out_head;
            c->out_head = c->wchunks[i];
            if (c->out_tail == NULL)
                c->out_tail = c->wchunks[i];
        }
        c->nwriting = 0;
        fe_conn_close(c, rc, 1);
    }
}

static int
enqueue(fe_conn *c, out_chunk *k)
{
    k->next = NULL;
    if (c->out_tail)
        c->out_tail->next = k;
    else
        c->out_head = k;
    c->out_tail = k;
    c->queued += k->n;
    if (!c->throttled && c->queued > c->srv->max_out) {
        /* A slow reader: stop reading its requests until it catches up. */
        c->throttled = 1;
        update_reading(c);
    }
    conn_try_write(c);
    return 0;
}

int
fe_conn_write(fe_conn *c, const void *p, size_t n)
{
    if (c->closed || (c->closing && c->nwriting == 0 && c->queued == 0))
        return SL_E_CLOSED;
    if (n == 0)
        return 0;
    /* One allocation holds the chunk header and the copy. */
    out_chunk *k = malloc(sizeof(*k) + n);
    if (k == NULL)
        return -ENOMEM;
    memcpy(k + 1, p, n);
    k->p = (const uint8_t *)(k + 1);
    k->n = n;
    k->release = NULL;
    k->rel_arg = NULL;
    return enqueue(c, k);
}

int
fe_conn_write_ref(fe_conn *c, const void *p, size_t n,
                  void (*release)(void *rel_arg), void *rel_arg)
{
    if (c->closed || (c->closing && c->nwriting == 0 && c->queued == 0))
        return SL_E_CLOSED;
    out_chunk *k = malloc(sizeof(*k));
    if (k == NULL)
        return -ENOMEM;
    k->p = p;
    k->n = n;
    k->release = release;
    k->rel_arg = rel_arg;
    return enqueue(c, k);
}

size_t
fe_conn_queued(const fe_conn *c)
{
    return c->queued;
}

/* ---- input -----------------------------------------------------------------
 */

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    fe_conn *c = h->data;
    size_t max_in = c->srv->max_in;
    (void)suggested;
    if (c->in_cap - c->in_len < READ_STEP && c->in_cap < max_in) {
        size_t cap = c->in_cap ? c->in_cap : READ_STEP;
        while (cap - c->in_len < READ_STEP && cap < max_in)
            cap *= 2;
        if (cap > max_in)
            cap = max_in;
        uint8_t *n = realloc(c->in, cap);
        if (n != NULL) {
            c->in = n;
            c->in_cap = cap;
        }
    }
    /* A zero-length buffer makes libuv report UV_ENOBUFS: the frame in
     * progress is larger than this connection may buffer. */
    *buf = uv_buf_init((char *)c->in + c->in_len,
                       (unsigned)(c->in_cap - c->in_len));
}

static void
conn_process(fe_conn *c)
{
    fe_server *s = c->srv;
    while (!c->closed && !c->closing && !c->paused && c->in_len > 0) {
        size_t used = 0;
        int rc = s->h.data(c, c->state, sl_slice_make(c->in, c->in_len), &used);
        if (rc != 0) {
            fe_conn_close(c, rc, 0);
            return;
        }
        if (used > c->in_len) {
            fe_conn_close(c, SL_E_INTERNAL, 1);
            return;
        }
        if (used == 0)
            break;
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
    }
    if (!c->closed && !c->closing && c->in_len == s->max_in)
        fe_conn_close(c, SL_E_TOOBIG, 0);
    /* Nothing buffered: give the receive buffer back, so that an idle
     * connection costs its handles, not READ_STEP (on_alloc takes a new
     * one for the next read). */
    if (c->in_len == 0 && c->in != NULL) {
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
    }
}

static void
on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    fe_conn *c = st->data;
    (void)buf;
    if (nread == UV_EOF) {
        fe_conn_close(c, 0, 0);
        return;
    }
    if (nread == UV_ENOBUFS) {
        fe_conn_close(c, SL_E_TOOBIG, 0);
        return;
    }
    if (nread < 0) {
        fe_conn_close(c, (int)nread, 1);
        return;
    }
    c->in_len += (size_t)nread;
    conn_process(c);
}

static void
update_reading(fe_conn *c)
{
    int want = !c->closed && !c->closing && !c->paused && !c->throttled;
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
            c->reading = 1;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
}

static void
on_kick(uv_timer_t *t)
{
    conn_process(t->data);
}

void
fe_conn_pause(fe_conn *c)
{
    c->paused = 1;
    update_reading(c);
}

void
fe_conn_resume(fe_conn *c)
{
    if (!c->paused || c->closed)
        return;
    c->paused = 0;
    update_reading(c);
    /* Frames may be waiting in the buffer; handle them from the loop, not
     * from inside whatever callback resumed us. */
    if (c->in_len > 0)
        uv_timer_start(&c->kick, on_kick, 0, 0);
}

const char *
fe_conn_peer(const fe_conn *c)
{
    return c->peer;
}

void *
fe_conn_state(const fe_conn *c)
{
    return c->state;
}

/* ---- server
 * ------------------------------------------------------------------- */

static void
on_connection(uv_stream_t *ls, int status)
{
    fe_server *s = ls->data;
    if (status != 0 || !s->listening)
        return;
    fe_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->kick);
    c->tcp.data = c;
    c->kick.data = c;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
        conn_close_now(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    name_peer(c);
    int refuse = 0;
    c->state = s->h.open ? s->h.open(c, s->arg, &refuse) : NULL;
    c->opened = 1;
    if (refuse != 0) {
        fe_conn_close(c, refuse, 0);
        return;
    }
    update_reading(c);
}

static void
free_on_close(uv_handle_t *h)
{
    free(h->data);
}

int
fe_server_new(uv_loop_t *loop, const fe_server_opts *o, const fe_handler *h,
              void *arg, fe_server **out, char *err, size_t errlen)
{
    *out = NULL;
    struct sockaddr_storage addr;
    if (fe_addr_parse(o->listen, &addr) != 0) {
        snprintf(err, errlen, "%s: expected HOST:PORT or [IPv6]:PORT",
                 o->listen);
        return SL_E_INVAL;
    }
    fe_server *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->loop = loop;
    s->h = *h;
    s->arg = arg;
    s->max_in = o->max_in ? o->max_in : (1u << 20) + (64u << 10);
    s->max_out = o->max_out ? o->max_out : 4u << 20;
    s->backlog = o->backlog ? o->backlog : 511;
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    int rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, s->backlog, on_connection);
    if (rc != 0) {
        snprintf(err, errlen, "listen %s: %s", o->listen, uv_strerror(rc));
        /* The handle is freed with the server once libuv has closed it. */
        uv_close((uv_handle_t *)&s->listener, free_on_close);
        return rc;
    }
    s->listening = 1;
    *out = s;
    return 0;
}

int
fe_server_port(const fe_server *s)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void
listener_closed(uv_handle_t *h)
{
    fe_server *s = h->data;
    s->listener_closed = 1;
    server_maybe_done(s);
}

void
fe_server_stop_accepting(fe_server *s)
{
    if (!s->listening)
        return;
    s->listening = 0;
    uv_close((uv_handle_t *)&s->listener, listener_closed);
}

static void
server_maybe_done(fe_server *s)
{
    if (s->closing && s->listener_closed && s->nconns == 0 && s->done) {
        void (*done)(void *) = s->done;
        s->done = NULL;
        done(s->done_arg);
    }
}

void
fe_server_close(fe_server *s, void (*done)(void *arg), void *arg)
{
    if (s->closing)
        return;
    s->closing = 1;
    s->done = done;
    s->done_arg = arg;
    fe_server_stop_accepting(s);
    for (fe_conn *c = s->conns; c; c = c->next)
        fe_conn_close(c, 0, 1);
    server_maybe_done(s);
}

void
fe_server_free(fe_server *s)
{
    free(s);
}

size_t
fe_server_conn_count(const fe_server *s)
{
    return s->nconns;
}
