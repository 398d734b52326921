/*
 * ipc_client.h — asynchronous client of sluice-segstore for frontends and
 * tools, built on nng REQ contexts so that many requests are in flight on
 * one socket at once.
 *
 * Threading: with opts.loop set, every callback runs on that libuv loop's
 * thread (nng completions are queued and handed over with uv_async_send);
 * the client must then be created, used and closed on that thread.  With
 * opts.loop NULL, callbacks run on nng's own threads and the client may be
 * used from any thread (tools, tests, the benchmark).
 */
#ifndef IPC_CLIENT_H
#define IPC_CLIENT_H

#include "ipc_msg.h"

#include <uv.h>

typedef struct ipc_client ipc_client;

typedef struct ipc_client_opts {
    const char *url;  /* segstore request URL, ipc:// or tcp:// */
    const char *name; /* client name sent in HELLO (logs) */
    uv_loop_t *loop;  /* NULL: callbacks on nng threads */
    int max_inflight; /* nng contexts; 0 = 64 */
    int timeout_ms;   /* per request; 0 = 30000; -1 = none */
    size_t max_msg;   /* largest reply accepted; 0 = IPC_MSG_MAX */
    int force_inline; /* never use descriptors even when local */
} ipc_client_opts;

/*
 * A reply callback.  rc is 0 when a reply arrived (its header status may
 * still be an error: check hdr->status), or SL_E_TIMEOUT, SL_E_CLOSED, or a
 * transport error, in which case hdr and body are NULL/empty.  body is the
 * reply body after the header; the view is valid until the callback returns.
 */
typedef void (*ipc_client_cb)(void *arg, int rc, const ipc_hdr *hdr,
                              sl_slice body);

/* Create a client and start dialling (nng reconnects on its own with
 * backoff).  Does not block for the connection.  0 or a negative code. */
int ipc_client_new(const ipc_client_opts *opts, ipc_client **out);

/* Cancel everything in flight (callbacks get SL_E_CLOSED) and stop.
 * Idempotent.  In loop mode, call on the loop thread; free after the loop
 * has run once more.  Close may be called from a callback; free must not
 * be in thread mode (it waits for nng's callbacks).  In loop mode free may
 * be called at once: the memory is released in the async handle's close
 * callback.  docs/ipc.md section 9 has the exact semantics. */
void ipc_client_close(ipc_client *c);
void ipc_client_free(ipc_client *c);

/*
 * Send one request.  req holds a whole message (ipc_*_encode output); its
 * bytes are copied, so the caller keeps req.  Requests beyond max_inflight
 * wait in a FIFO queue.  Returns 0 (cb will be called exactly once) or a
 * negative code (cb will not be called).
 */
int ipc_client_request(ipc_client *c, sl_slice req, ipc_client_cb cb,
                       void *arg);

/*
 * Blocking call for tools and tests (not allowed in loop mode).  On success
 * returns the header status (0 or the server's error code), the reply body
 * copied into *body (reset first) and, for error replies, the server's text
 * in *body.  Transport failures return a negative code.
 */
int ipc_client_call(ipc_client *c, sl_slice req, ipc_hdr *hdr, sl_buf *body);

/*
 * Exchange HELLO (blocking, tools only) and learn whether this client shares
 * segstore's machine: true when <data_dir>/segstore.id is readable and holds
 * the server's instance id.  0 or a negative code.
 */
int ipc_client_hello(ipc_client *c, int timeout_ms);
/*
 * The same exchange without blocking, for loop-mode frontends (which cannot
 * block their loop thread, yet need data_dir for ipc_client_map): cb runs
 * exactly once, like a reply callback (on the loop thread in loop mode),
 * after the results below have been stored; rc is what ipc_client_hello
 * would return.  Uses the client's timeout.  0, or a negative code and cb
 * will not be called.
 */
typedef void (*ipc_client_hello_cb)(void *arg, int rc);
int ipc_client_hello_async(ipc_client *c, ipc_client_hello_cb cb, void *arg);
/* After a successful hello: */
int ipc_client_is_local(const ipc_client *c);
const char *ipc_client_data_dir(const ipc_client *c);
const char *ipc_client_events_url(const ipc_client *c);

/*
 * Link state: whether the request socket is connected to segstore right
 * now.  nng redials by itself (backoff 100 ms .. 2 s); cb is told each time
 * the connection comes (up = 1) or goes (up = 0) — on the loop thread in
 * loop mode, on an nng thread otherwise.  A connection that went and came
 * back before the loop ran is reported as both changes.  Set cb once, right
 * after ipc_client_new.
 */
typedef void (*ipc_client_link_cb)(void *arg, int up);
void ipc_client_on_link(ipc_client *c, ipc_client_link_cb cb, void *arg);
int ipc_client_link_up(const ipc_client *c);

/* ---- segment mappings (the local read data plane) ---------------------- */

/* A held, read-only view of bytes in a segment file. */
typedef struct ipc_seg_view {
    sl_slice bytes;
    void *map_; /* private: the held mapping */
} ipc_seg_view;

/*
 * Map (or reuse a cached read-only mapping of) <data_dir>/<path> and return
 * a held view of [position, position+length).  The view stays valid, even if
 * segstore deletes the file, until ipc_seg_view_release().  Thread-safe.
 * -ENOENT when the file is gone (read again), SL_E_RANGE past its end.
 */
int ipc_client_map(ipc_client *c, sl_slice path, uint64_t position,
                   uint32_t length, ipc_seg_view *v);
void ipc_seg_view_release(ipc_seg_view *v);

/* ---- events -------------------------------------------------------------- */

typedef void (*ipc_event_cb)(void *arg, const ipc_event *e);

/* Subscribe to segstore's event socket (URL learned from HELLO, or given).
 * cb runs on the loop thread in loop mode.  0 or a negative code. */
int ipc_client_subscribe(ipc_client *c, const char *events_url, ipc_event_cb cb,
                         void *arg);

#endif /* IPC_CLIENT_H */
