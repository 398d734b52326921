/*
 * fe_common.h — what both protocol frontends share: a TCP server on a
 * libuv loop whose connections hand received bytes to a protocol's framing
 * callback and queue output, copied or zero-copy from segment mappings.
 *
 * Threading: everything here runs on the one loop thread that owns the
 * server (STYLE.md: one libuv loop per frontend owns connection state).
 * No function may be called from another thread.
 *
 * Memory is bounded per connection: the receive buffer never grows past
 * max_in bytes (a protocol that has not consumed a whole frame by then is
 * sent `closed` with SL_E_TOOBIG), and a connection whose queued output
 * passes max_out stops being read until it drains below half of it, so a
 * slow reader slows only itself.
 */
#ifndef FE_COMMON_H
#define FE_COMMON_H

#include "sl_base.h"

#include <uv.h>

typedef struct fe_server fe_server;
typedef struct fe_conn fe_conn;

/* What a protocol supplies.  `state` is whatever `open` returned. */
typedef struct fe_handler {
    /* A connection was accepted; return its protocol state (NULL is a
     * valid state).  Set *refuse to a negative code to close it at once. */
    void *(*open)(fe_conn *c, void *server_arg, int *refuse);
    /*
     * Bytes arrived: buf holds every byte received and not yet consumed.
     * Consume whole frames, set *consumed, return 0; or return a negative
     * code to close the connection (queued output is flushed first).  Not
     * called while the connection is paused.
     */
    int (*data)(fe_conn *c, void *state, sl_slice buf, size_t *consumed);
    /* The connection is gone (peer closed, error, fe_conn_close, server
     * close); `why` is 0 for a clean close by either side.  Free state.
     * No fe_conn_* call may follow for this connection. */
    void (*closed)(fe_conn *c, void *state, int why);
    /* Optional: queued output fell below half of max_out again. */
    void (*drained)(fe_conn *c, void *state);
} fe_handler;

typedef struct fe_server_opts {
    const char *listen; /* "HOST:PORT", IPv4 or [IPv6] */
    size_t max_in;      /* largest unconsumed input; 0 = 1 MiB + 64 KiB */
    size_t max_out;     /* queued output before reading pauses; 0 = 4 MiB */
    int backlog;        /* 0 = 511 */
} fe_server_opts;

/* Parse "HOST:PORT" or "[V6]:PORT" into addr.  0 or SL_E_INVAL. */
int fe_addr_parse(const char *hostport, struct sockaddr_storage *addr);

/* Listen.  0, or a negative code (libuv -errno, SL_E_INVAL) with *out
 * NULL; err names the address and the reason. */
int fe_server_new(uv_loop_t *loop, const fe_server_opts *opts,
                  const fe_handler *h, void *arg, fe_server **out, char *err,
                  size_t errlen);

/* The port actually bound (useful with port 0). */
int fe_server_port(const fe_server *s);

/* Stop accepting; existing connections go on. */
void fe_server_stop_accepting(fe_server *s);

/* Close every connection (each gets `closed`) and the listener; `done`
 * runs once every handle is closed, and may call fe_server_free itself.
 * Idempotent. */
void fe_server_close(fe_server *s, void (*done)(void *arg), void *arg);
void fe_server_free(fe_server *s);

size_t fe_server_conn_count(const fe_server *s);

/* ---- connections --------------------------------------------------------- */

/* Queue a copy of bytes for sending.  0 or -ENOMEM / SL_E_CLOSED. */
int fe_conn_write(fe_conn *c, const void *p, size_t n);

/*
 * Queue bytes that are not copied: `release(rel_arg)` runs once they have
 * been written or the connection is gone (e.g. an ipc_seg_view released
 * after its segment bytes went out).  On failure release is not called.
 */
int fe_conn_write_ref(fe_conn *c, const void *p, size_t n,
                      void (*release)(void *rel_arg), void *rel_arg);

/* Bytes queued and not yet written. */
size_t fe_conn_queued(const fe_conn *c);

/* Stop / resume handing input to `data` (e.g. while waiting for segstore
 * to answer a request that must be answered in order). */
void fe_conn_pause(fe_conn *c);
void fe_conn_resume(fe_conn *c);

/* Close after queued output is written (why = 0: clean), or at once when
 * `now` is set.  `closed` follows.  Idempotent. */
void fe_conn_close(fe_conn *c, int why, int now);

/* "ip:port" of the peer, for logs. */
const char *fe_conn_peer(const fe_conn *c);
/* The protocol state `open` returned. */
void *fe_conn_state(const fe_conn *c);

#endif /* FE_COMMON_H */
