/*
 * sl_metrics_http.c — the /metrics endpoint: a deliberately small HTTP
 * server on a libuv loop.  It reads one request head (at most 8 KiB,
 * within 5 s), answers GET /metrics (or GET /) with the rendered registry
 * and anything else with 404, and closes the connection.  Scrapers
 * (Prometheus, curl) need nothing more; nothing here is on a data path.
 */
#include "sl_metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define HEAD_MAX   8192
#define HEAD_TO_MS 5000

struct sl_metrics_http {
    uv_tcp_t tcp;
    uv_loop_t *loop;
    sl_metrics *m;
    int port;
    int closing;
    struct hconn *conns;
};

typedef struct hconn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wr;
    sl_metrics_http *h;
    struct hconn *prev, *next;
    char head[HEAD_MAX];
    size_t n;
    sl_buf out;
    int closing;
    int handles; /* open handles left to close */
} hconn;

static void
hconn_freed(uv_handle_t *hd)
{
    hconn *c = hd->data;
    if (--c->handles > 0)
        return;
    sl_buf_fini(&c->out);
    free(c);
}

static void
hconn_close(hconn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    sl_metrics_http *h = c->h;
    if (c->prev)
        c->prev->next = c->next;
    else if (h)
        h->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    uv_timer_stop(&c->timer);
    c->handles = 2;
    uv_close((uv_handle_t *)&c->tcp, hconn_freed);
    uv_close((uv_handle_t *)&c->timer, hconn_freed);
}

static void
on_timeout(uv_timer_t *t)
{
    hconn_close(t->data);
}

static void
on_written(uv_write_t *w, int status)
{
    (void)status;
    hconn_close(w->data);
}

static void
respond(hconn *c, const char *status, const char *ctype, sl_slice body)
{
    char hdr[256];
    int n = snprintf(hdr, sizeof(hdr),
                     "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: "
                     "%zu\r\nConnection: close\r\n\r\n",
                     status, ctype, body.n);
    sl_buf b;
    sl_buf_init(&b);
    if (sl_buf_append(&b, hdr, (size_t)n) != 0 ||
        sl_buf_append(&b, body.p, body.n) != 0) {
        sl_buf_fini(&b);
        hconn_close(c);
        return;
    }
    sl_buf_fini(&c->out);
    c->out = b;
    uv_buf_t ub = uv_buf_init((char *)c->out.p, (unsigned)c->out.n);
    c->wr.data = c;
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &ub, 1, on_written) != 0)
        hconn_close(c);
}

static void
handle(hconn *c)
{
    /* "GET /metrics HTTP/1.1" (query strings ignored). */
    int get = c->n >= 4 && memcmp(c->head, "GET ", 4) == 0;
    const char *path = c->head + 4;
    size_t plen = 0;
    while (get && 4 + plen < c->n && path[plen] != ' ' && path[plen] != '?' &&
           path[plen] != '\r')
        plen++;
    int ok = get && ((plen == 8 && memcmp(path, "/metrics", 8) == 0) ||
                     (plen == 1 && path[0] == '/'));
    if (!ok) {
        static const char nf[] = "not found: try /metrics\n";
        respond(c, "404 Not Found", "text/plain",
                sl_slice_make((const uint8_t *)nf, sizeof(nf) - 1));
        return;
    }
    sl_buf body;
    sl_buf_init(&body);
    if (sl_metrics_render(c->h->m, &body) != 0) {
        sl_buf_fini(&body);
        hconn_close(c);
        return;
    }
    respond(c, "200 OK", "text/plain; version=0.0.4; charset=utf-8",
            sl_slice_make(body.p, body.n));
    sl_buf_fini(&body);
}

static void
on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
    hconn *c = hd->data;
    (void)suggested;
    buf->base = c->head + c->n;
    buf->len = sizeof(c->head) - c->n;
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    hconn *c = s->data;
    (void)buf;
    if (nread < 0) {
        hconn_close(c);
        return;
    }
    c->n += (size_t)nread;
    for (size_t i = 3; i < c->n; i++) {
        if (c->head[i - 3] == '\r' && c->head[i - 2] == '\n' &&
            c->head[i - 1] == '\r' && c->head[i] == '\n') {
            handle(c);
            return;
        }
    }
    if (c->n == sizeof(c->head))
        hconn_close(c); /* head too large */
}

static void
on_conn(uv_stream_t *srv, int status)
{
    sl_metrics_http *h = srv->data;
    if (status != 0 || h->closing)
        return;
    hconn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    c->h = h;
    sl_buf_init(&c->out);
    uv_tcp_init(h->loop, &c->tcp);
    uv_timer_init(h->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->next = h->conns;
    if (h->conns)
        h->conns->prev = c;
    h->conns = c;
    if (uv_accept(srv, (uv_stream_t *)&c->tcp) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        hconn_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_timeout, HEAD_TO_MS, 0);
}

static void
http_freed(uv_handle_t *hd)
{
    free(hd->data);
}

static int
parse_listen(const char *listen, struct sockaddr_storage *ss)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || (size_t)(colon - listen) >= sizeof(host))
        return SL_E_INVAL;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != 0 || end == colon + 1 || port < 0 || port > 65535)
        return SL_E_INVAL;
    char *h = host;
    size_t hl = strlen(h);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h[hl - 1] = 0;
        h++;
    }
    if (*h == 0)
        h = "0.0.0.0";
    if (uv_ip4_addr(h, (int)port, (struct sockaddr_in *)ss) == 0)
        return 0;
    if (uv_ip6_addr(h, (int)port, (struct sockaddr_in6 *)ss) == 0)
        return 0;
    return SL_E_INVAL;
}

int
sl_metrics_http_start(uv_loop_t *loop, const char *listen, sl_metrics *m,
                      sl_metrics_http **out, char *err, size_t errlen)
{
    *out = NULL;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (parse_listen(listen, &ss) != 0) {
        snprintf(err, errlen, "metrics listen '%s': expected HOST:PORT",
                 listen);
        return SL_E_INVAL;
    }
    sl_metrics_http *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return -ENOMEM;
    h->loop = loop;
    h->m = m;
    uv_tcp_init(loop, &h->tcp);
    h->tcp.data = h;
    int rc = uv_tcp_bind(&h->tcp, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&h->tcp, 64, on_conn);
    if (rc != 0) {
        snprintf(err, errlen, "metrics listen %s: %s", listen, uv_strerror(rc));
        h->closing = 1;
        uv_close((uv_handle_t *)&h->tcp, http_freed);
        return rc;
    }
    struct sockaddr_storage got;
    int len = sizeof(got);
    if (uv_tcp_getsockname(&h->tcp, (struct sockaddr *)&got, &len) == 0)
        h->port = got.ss_family == AF_INET6
                      ? ntohs(((struct sockaddr_in6 *)&got)->sin6_port)
                      : ntohs(((struct sockaddr_in *)&got)->sin_port);
    *out = h;
    return 0;
}

int
sl_metrics_http_port(const sl_metrics_http *h)
{
    return h ? h->port : -1;
}

void
sl_metrics_http_close(sl_metrics_http *h)
{
    if (h == NULL || h->closing)
        return;
    h->closing = 1;
    while (h->conns)
        hconn_close(h->conns);
    uv_close((uv_handle_t *)&h->tcp, http_freed);
}
