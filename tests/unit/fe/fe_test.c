/*
 * fe_test.c — frontends/common: framing over partial reads, the input
 * bound, zero-copy writes and their release, backpressure on a slow
 * reader, pause/resume, closing, and address parsing.
 *
 * The server runs on a libuv loop in the test thread; a client thread
 * drives it with plain blocking sockets, then stops the loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "fe_common.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* A line protocol: each "\n"-terminated line is answered upper-cased;
 * "BIG n" answers n bytes; "PAUSE" pauses input for 50 ms; "QUIT" makes
 * the handler refuse (close after flushing "BYE\n"). */
typedef struct world {
    uv_loop_t loop;
    uv_async_t stop;
    fe_server *srv;
    int port;
    int opened, closed, drained, released, data_calls;
    int last_why;
    atomic_int stop_sent;
    void (*client)(struct world *w);
    pthread_t th;
} world;

typedef struct conn_state {
    world *w;
    uv_timer_t resume;
    fe_conn *c;
} conn_state;

static void
release_cb(void *arg)
{
    world *w = arg;
    w->released++;
}

static const char ref_bytes[] = "REF\n";

static void
on_resume(uv_timer_t *t)
{
    conn_state *cs = t->data;
    fe_conn_resume(cs->c);
}

static void *
h_open(fe_conn *c, void *arg, int *refuse)
{
    (void)refuse;
    world *w = arg;
    w->opened++;
    conn_state *cs = calloc(1, sizeof(*cs));
    cs->w = w;
    cs->c = c;
    uv_timer_init(&w->loop, &cs->resume);
    cs->resume.data = cs;
    return cs;
}

static void
timer_free(uv_handle_t *h)
{
    free(h->data);
}

static void
h_closed(fe_conn *c, void *state, int why)
{
    (void)c;
    conn_state *cs = state;
    cs->w->closed++;
    cs->w->last_why = why;
    uv_close((uv_handle_t *)&cs->resume, timer_free);
}

static void
h_drained(fe_conn *c, void *state)
{
    (void)c;
    conn_state *cs = state;
    cs->w->drained++;
}

static int
h_data(fe_conn *c, void *state, sl_slice buf, size_t *consumed)
{
    conn_state *cs = state;
    world *w = cs->w;
    size_t used = 0;
    w->data_calls++;
    for (;;) {
        const uint8_t *nl = memchr(buf.p + used, '\n', buf.n - used);
        if (nl == NULL)
            break;
        size_t len = (size_t)(nl - (buf.p + used));
        char line[256];
        snprintf(line, sizeof(line), "%.*s", (int)SL_MIN(len, 200),
                 (const char *)buf.p + used);
        used += len + 1;
        if (strcmp(line, "QUIT") == 0) {
            fe_conn_write(c, "BYE\n", 4);
            *consumed = used;
            return SL_E_CLOSED;
        }
        if (strcmp(line, "PAUSE") == 0) {
            fe_conn_pause(c);
            uv_timer_start(&cs->resume, on_resume, 50, 0);
            fe_conn_write(c, "PAUSED\n", 7);
            *consumed = used;
            return 0;
        }
        if (strcmp(line, "REF") == 0) {
            assert_int_equal(fe_conn_write_ref(c, ref_bytes, 4, release_cb, w),
                             0);
            continue;
        }
        if (strncmp(line, "BIG ", 4) == 0) {
            size_t n = (size_t)atol(line + 4);
            char *big = malloc(n);
            memset(big, 'x', n);
            big[n - 1] = '\n';
            fe_conn_write(c, big, n);
            free(big);
            continue;
        }
        for (char *p = line; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        strcat(line, "\n");
        fe_conn_write(c, line, strlen(line));
    }
    *consumed = used;
    return 0;
}

static const fe_handler handler = {h_open, h_data, h_closed, h_drained};

/* ---- client side (runs in its own thread) ------------------------------ */

static int
cl_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        return -1;
    return fd;
}

static void
cl_send(int fd, const char *s)
{
    size_t n = strlen(s);
    assert_int_equal(write(fd, s, n), (ssize_t)n);
}

/* Read exactly n bytes (or until EOF); returns bytes read. */
static size_t
cl_read(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/* Ask the loop to stop, once: the handle is closed after the first. */
static void
request_stop(world *w)
{
    if (atomic_exchange(&w->stop_sent, 1) == 0)
        uv_async_send(&w->stop);
}

static void
on_stop(uv_async_t *a)
{
    world *w = a->data;
    fe_server_close(w->srv, NULL, NULL);
    uv_close((uv_handle_t *)&w->stop, NULL);
}

static void *
client_main(void *arg)
{
    world *w = arg;
    w->client(w);
    request_stop(w);
    return NULL;
}

static void
run_world(world *w, size_t max_in, size_t max_out, void (*client)(world *))
{
    memset(w, 0, sizeof(*w));
    uv_loop_init(&w->loop);
    uv_async_init(&w->loop, &w->stop, on_stop);
    w->stop.data = w;
    fe_server_opts o = {"127.0.0.1:0", max_in, max_out, 0};
    char err[256];
    assert_int_equal(
        fe_server_new(&w->loop, &o, &handler, w, &w->srv, err, sizeof(err)), 0);
    w->port = fe_server_port(w->srv);
    assert_true(w->port > 0);
    w->client = client;
    pthread_create(&w->th, NULL, client_main, w);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    pthread_join(w->th, NULL);
    assert_int_equal(fe_server_conn_count(w->srv), 0);
    fe_server_free(w->srv);
    assert_int_equal(uv_loop_close(&w->loop), 0);
}

/* ---- tests --------------------------------------------------------------- */

static void
cl_echo(world *w)
{
    int fd = cl_connect(w->port);
    assert_true(fd >= 0);
    /* Frames split across writes and several in one write. */
    cl_send(fd, "he");
    usleep(20000);
    cl_send(fd, "llo\nwor");
    usleep(20000);
    cl_send(fd, "ld\na\nb\n");
    char buf[64] = {0};
    const char *want = "HELLO\nWORLD\nA\nB\n";
    assert_int_equal(cl_read(fd, buf, strlen(want)), strlen(want));
    assert_string_equal(buf, want);
    /* A zero-copy chunk goes out and is released. */
    cl_send(fd, "REF\nx\n");
    memset(buf, 0, sizeof(buf));
    assert_int_equal(cl_read(fd, buf, 6), 6);
    assert_string_equal(buf, "REF\nX\n");
    /* The handler refuses: its last reply is flushed, then EOF. */
    cl_send(fd, "QUIT\nignored\n");
    memset(buf, 0, sizeof(buf));
    assert_int_equal(cl_read(fd, buf, sizeof(buf) - 1), 4);
    assert_string_equal(buf, "BYE\n");
    close(fd);
}

static void
test_echo_and_close(void **state)
{
    (void)state;
    world w;
    run_world(&w, 0, 0, cl_echo);
    assert_int_equal(w.opened, 1);
    assert_int_equal(w.closed, 1);
    assert_int_equal(w.released, 1);
    assert_int_equal(w.last_why, SL_E_CLOSED);
}

static void
cl_too_big(world *w)
{
    int fd = cl_connect(w->port);
    char junk[8192];
    memset(junk, 'j', sizeof(junk)); /* no newline: one unfinished frame */
    for (int i = 0; i < 4; i++)
        if (write(fd, junk, sizeof(junk)) < 0)
            break;
    char buf[16];
    /* The server closes: EOF (or a reset) instead of a reply. */
    assert_true(read(fd, buf, sizeof(buf)) <= 0);
    close(fd);
}

static void
test_input_bound(void **state)
{
    (void)state;
    world w;
    run_world(&w, 4096, 0, cl_too_big);
    assert_int_equal(w.closed, 1);
    assert_int_equal(w.last_why, SL_E_TOOBIG);
}

static void
cl_slow_reader(world *w)
{
    int fd = cl_connect(w->port);
    /* Ask for 64 x 256 KiB without reading: queued output passes max_out
     * and the server stops reading our requests. */
    for (int i = 0; i < 64; i++)
        cl_send(fd, "BIG 262144\n");
    usleep(200000);
    int calls = w->data_calls;
    usleep(100000);
    assert_int_equal(w->data_calls, calls); /* paused by backpressure */
    /* Read everything: the server resumes and answers all 64. */
    char *buf = malloc(64u * 262144u);
    assert_int_equal(cl_read(fd, buf, 64u * 262144u), 64u * 262144u);
    free(buf);
    close(fd);
}

static void
test_backpressure(void **state)
{
    (void)state;
    world w;
    run_world(&w, 0, 1u << 20, cl_slow_reader);
    assert_true(w.drained >= 1);
    assert_int_equal(w.closed, 1);
}

static void
cl_pause(world *w)
{
    int fd = cl_connect(w->port);
    cl_send(fd, "PAUSE\none\ntwo\n");
    char buf[64] = {0};
    const char *want = "PAUSED\nONE\nTWO\n";
    assert_int_equal(cl_read(fd, buf, strlen(want)), strlen(want));
    assert_string_equal(buf, want);
    close(fd);
}

static void
test_pause_resume(void **state)
{
    (void)state;
    world w;
    run_world(&w, 0, 0, cl_pause);
    assert_int_equal(w.closed, 1);
    assert_int_equal(w.last_why, 0); /* the client closed cleanly */
}

static void
cl_many_then_server_close(world *w)
{
    int fds[10];
    for (int i = 0; i < 10; i++) {
        fds[i] = cl_connect(w->port);
        cl_send(fds[i], "hi\n");
        char buf[4];
        assert_int_equal(cl_read(fds[i], buf, 3), 3);
    }
    /* Leave them open: stopping the server closes them. */
    request_stop(w);
    for (int i = 0; i < 10; i++) {
        char buf[4];
        assert_true(read(fds[i], buf, sizeof(buf)) <= 0);
        close(fds[i]);
    }
}

static void
test_server_close(void **state)
{
    (void)state;
    world w;
    run_world(&w, 0, 0, cl_many_then_server_close);
    assert_int_equal(w.opened, 10);
    assert_int_equal(w.closed, 10);
}

/* Regression: `done` may free the server.  It used to run while each
 * connection's timer was still closing, whose callback then read the freed
 * server (a use-after-free ASan caught at sluice-kafka's shutdown). */
static void
free_in_done(void *arg)
{
    fe_server_free(arg);
}

static void
on_connect_done(uv_connect_t *req, int status)
{
    assert_int_equal(status, 0);
    fe_server *s = req->data;
    /* Close the server while its connection is open. */
    fe_server_close(s, free_in_done, s);
    uv_close((uv_handle_t *)req->handle, NULL);
}

static void
test_free_in_done(void **state)
{
    (void)state;
    world w; /* h_open uses w->loop for a timer */
    memset(&w, 0, sizeof(w));
    uv_loop_init(&w.loop);
    fe_server *s;
    char err[256];
    fe_server_opts o = {"127.0.0.1:0", 0, 0, 0};
    assert_int_equal(
        fe_server_new(&w.loop, &o, &handler, &w, &s, err, sizeof(err)), 0);
    uv_tcp_t cl;
    uv_tcp_init(&w.loop, &cl);
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", fe_server_port(s), &sa);
    uv_connect_t req;
    req.data = s;
    /* Run until the server has accepted, then close it from the client's
     * connect callback (the accept comes first on the same loop turn or
     * an earlier one). */
    assert_int_equal(
        uv_tcp_connect(&req, &cl, (struct sockaddr *)&sa, on_connect_done), 0);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&w.loop), 0);
}

static void
test_addr_parse(void **state)
{
    (void)state;
    struct sockaddr_storage a;
    assert_int_equal(fe_addr_parse("127.0.0.1:1883", &a), 0);
    assert_int_equal(a.ss_family, AF_INET);
    assert_int_equal(fe_addr_parse("0.0.0.0:0", &a), 0);
    assert_int_equal(fe_addr_parse("[::1]:9092", &a), 0);
    assert_int_equal(a.ss_family, AF_INET6);
    assert_int_not_equal(fe_addr_parse("localhost", &a), 0);
    assert_int_not_equal(fe_addr_parse("1.2.3.4:", &a), 0);
    assert_int_not_equal(fe_addr_parse("1.2.3.4:70000", &a), 0);
    assert_int_not_equal(fe_addr_parse("[::1]9092", &a), 0);
    assert_int_not_equal(fe_addr_parse("nohost:12", &a), 0);
    /* A port in use is refused with the address in the message. */
    uv_loop_t loop;
    uv_loop_init(&loop);
    fe_server *s1, *s2;
    char err[256];
    fe_server_opts o = {"127.0.0.1:0", 0, 0, 0};
    assert_int_equal(
        fe_server_new(&loop, &o, &handler, NULL, &s1, err, sizeof(err)), 0);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", fe_server_port(s1));
    o.listen = addr;
    assert_int_not_equal(
        fe_server_new(&loop, &o, &handler, NULL, &s2, err, sizeof(err)), 0);
    assert_non_null(strstr(err, addr));
    fe_server_close(s1, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    fe_server_free(s1);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_and_close),
        cmocka_unit_test(test_input_bound),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_pause_resume),
        cmocka_unit_test(test_server_close),
        cmocka_unit_test(test_free_in_done),
        cmocka_unit_test(test_addr_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
