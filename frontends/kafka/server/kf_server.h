/*
 * kf_server.h — sluice-kafka's process: its config table, the server that
 * holds Kafka connections on one libuv loop, and the request context that
 * every handler family (kf_srv_*.c) works on.
 *
 * Threading: everything here runs on the loop thread.  The IPC client runs
 * in loop mode, so its reply and event callbacks arrive on that thread too;
 * nothing in this folder takes a lock.
 *
 * Request lifetime.  A request (kf_req) owns a private copy of its frame,
 * because decoded strings point into the frame and the connection's
 * receive buffer moves as soon as the frame is consumed.  It sits in its
 * connection's FIFO from arrival until its response has been queued on the
 * socket; responses leave strictly in FIFO order (kf__req_done flushes
 * only completed heads).  A request waiting for segstore when its
 * connection goes away is orphaned (conn = NULL) and freed by the last IPC
 * callback it is owed.
 */
#ifndef KF_SERVER_H
#define KF_SERVER_H

#include "fe_common.h"
#include "fe_link.h"
#include "ipc_client.h"
#include "kf_codec.h"
#include "sl_conf.h"

#include <stdbool.h>
#include <stdio.h>

/* ---- config -------------------------------------------------------------- */

typedef struct kf_config {
    char segstore[SL_CONF_STR_MAX];
    char listen[SL_CONF_STR_MAX];
    char advertise[SL_CONF_STR_MAX];
    char metrics_listen[SL_CONF_STR_MAX];
    char log_level[SL_CONF_STR_MAX];
    int64_t node_id;
    int auto_create;
    int64_t num_partitions;
    int64_t max_request_bytes;
    int64_t fetch_wait_cap_ms;
    int64_t conn_max_out;
    int64_t conn_max_inflight;
    int64_t ipc_timeout_ms;
    int64_t ipc_inflight;
    int64_t group_inflight;
    int64_t group_timeout_max_ms;
    int64_t shutdown_timeout_ms;
    /* derived by kf_config_finish */
    char adv_host[SL_CONF_STR_MAX];
    int adv_port;
} kf_config;

extern const sl_conf_key kf_config_keys[];
extern const size_t kf_config_keys_len;

void kf_config_defaults(kf_config *c);
int kf_config_set(kf_config *c, const char *kv, char *err, size_t errlen);
/* Validate and derive (advertised host and port).  0 or SL_E_INVAL. */
int kf_config_finish(kf_config *c, char *err, size_t errlen);
/* Every key with its default and doc as a Markdown table. */
void kf_config_doc(FILE *out);

/* ---- server ----------------------------------------------------------------
 */

typedef struct kf_server kf_server;
typedef struct kf_conn kf_conn;
typedef struct kf_req kf_req;

/* Counters, reported at exit (KF-STATS) and in debug logs. */
#define KF_API_KEY_MAX 67
typedef struct kf_stats {
    uint64_t conns;
    uint64_t requests;
    uint64_t bad_frames;   /* size prefix negative or over the limit */
    uint64_t malformed;    /* a request that did not decode */
    uint64_t unsupported;  /* unknown API key or version: closed */
    uint64_t produce_errs; /* partitions answered with an error */
    uint64_t fetch_parked;
    uint64_t fetch_woken;
    uint64_t ipc_errors;
    uint64_t open_conns;
    uint64_t bytes_in, bytes_out;
    uint64_t api_requests[KF_API_KEY_MAX + 1]; /* by API key */
} kf_stats;

struct kf_server {
    const kf_config *cfg;
    uv_loop_t *loop;
    fe_server *fe;
    ipc_client *ipc;
    /* JoinGroup and SyncGroup only: segstore holds their replies until a
     * rebalance completes, so this client has no timeout (kf_srv_groups.c) */
    ipc_client *gipc;
    fe_link link;           /* s->ipc's connection to segstore (log, metrics) */
    uint64_t txn_warned_at; /* uv_now of the last KF-TXN warning */
    int hello_ok;   /* HELLO answered: cluster id, data dir, is_local known */
    int is_local;   /* READ descriptors usable */
    int subscribed; /* ADVANCE events flow */
    int hello_busy;
    int hello_warned;
    char cluster_id[32]; /* base64url of segstore's instance id */
    uv_timer_t hello_timer;
    kf_conn *conns; /* every open connection */
    kf_req *parked; /* long-poll fetches waiting for data */
    int stopping;
    uv_timer_t stop_timer;
    void (*stopped)(void *arg);
    void *stopped_arg;
    kf_stats st;
    struct sl_metrics *metrics;
    struct sl_metrics_http *metrics_http;
    struct sl_histo *h_latency[KF_API_KEY_MAX + 1]; /* request to response */
};

struct kf_conn {
    kf_server *srv;
    fe_conn *fe;
    kf_conn *prev, *next; /* kf_server.conns */
    kf_req *head, *tail;  /* response FIFO */
    kf_req *live;         /* every request of this connection */
    int nlive;
    size_t live_bytes; /* frame copies and arenas of live requests */
    int paused;        /* input paused: too much in flight */
    int appending;     /* this connection's APPEND is in flight */
    /* Produce requests waiting for that APPEND to finish, in arrival
     * order (kf_srv_produce.c); the next APPEND carries all of them. */
    kf_req *pq_head, *pq_tail;
    struct pr_multi *inflight; /* the APPEND in flight, or NULL */
};

/* One piece of a response: bytes of r->out, or a held segment view. */
typedef struct kf_piece {
    int is_view;
    size_t off, n;     /* into r->out */
    ipc_seg_view view; /* is_view */
} kf_piece;

struct kf_req {
    kf_server *srv;
    kf_conn *conn;   /* NULL once the connection is gone */
    kf_req *pq_next; /* kf_conn.pq_head queue */
    int in_pq;
    kf_req *fifo_next; /* response FIFO */
    kf_req *live_prev, *live_next;
    kf_req_hdr hdr;
    sl_slice body;  /* view into frame */
    uint8_t *frame; /* owned copy of the request frame */
    size_t frame_len;
    uint8_t *amem; /* arena memory for the decoded request */
    size_t cost;   /* bytes counted in conn->live_bytes */
    sl_arena arena;
    void *msg;       /* decoded kf_<api>_req in the arena */
    int in_fifo;     /* takes a response slot (not acks=0) */
    int done;        /* response complete in out/pieces */
    int ipc_pending; /* IPC callbacks still owed to this request */
    sl_buf out;      /* response bytes (size prefix first) */
    size_t out_mark; /* r->out bytes already in pieces */
    kf_piece *pieces;
    size_t npieces, cap_pieces;
    void *hs; /* handler state */
    void (*hs_free)(kf_req *r);
    /* long-poll fetches */
    kf_req *park_prev, *park_next;
    int parked;
    int timer_init; /* timer must be closed before free */
    uv_timer_t timer;
    uint64_t t0_ns; /* when the frame was complete */
};

/* Start serving (listener bound, IPC client dialling).  0 or a code with
 * err filled in. */
int kf_server_start(kf_server *s, const kf_config *cfg, uv_loop_t *loop,
                    char *err, size_t errlen);
/* Begin an orderly stop: no new connections or requests, requests in
 * flight answered, connections closed; then `done(arg)`. */
void kf_server_stop(kf_server *s, void (*done)(void *arg), void *arg);
/* The bound port (useful with port 0). */
int kf_server_port(const kf_server *s);

/* ---- internals shared by the handler files --------------------------------
 */

/* The request's response is complete (or there is none): flush the
 * connection's completed FIFO head(s), free what is finished. */
void kf__req_done(kf_req *r);
/* Send an IPC request on behalf of r (r->ipc_pending counts it).  On
 * failure cb is not called and the code is returned. */
int kf__ipc(kf_req *r, sl_buf *msg, ipc_client_cb cb);
/* The same on the group client, whose requests may be held for as long as
 * a rebalance takes (JoinGroup, SyncGroup). */
int kf__ipc_group(kf_req *r, sl_buf *msg, ipc_client_cb cb);
/* In an IPC callback: account for the reply; returns false when r was
 * orphaned and freed meanwhile (the callback must return at once). */
bool kf__ipc_back(kf_req *r);

/* Response building: kf__resp_begin writes the size placeholder and the
 * response header; kf__resp_end patches the size over every piece. */
int kf__resp_begin(kf_req *r);
int kf__resp_end(kf_req *r);
/* Close the current copied piece at r->out.n and append a view piece
 * (ownership of the view passes to r). */
int kf__resp_add_view(kf_req *r, const ipc_seg_view *v);
/* Drop whatever response was built (releasing views): nothing will be
 * sent for r, e.g. because its connection is being closed. */
void kf__resp_discard(kf_req *r);
/* Encode a whole response body with the codec and finish the request. */
void kf__resp_send(kf_req *r, const void *resp);
/* Close the connection after a protocol violation (counts it). */
void kf__conn_fail(kf_req *r, int why);

/* Topic names Kafka accepts: [a-zA-Z0-9._-]{1,249}, not "." or "..". */
bool kf__topic_valid(sl_slice name);
/* The one map from segstore's answers to Kafka error codes: rc is an
 * SL_E_* code (an entry's status, a group reply's error, a header status)
 * or a transport failure (timeout, broken connection), which gives
 * transport_err.  api_key decides the few codes whose Kafka meaning
 * depends on the request (SL_E_INVAL on JoinGroup is a bad session or
 * rebalance timeout). */
int16_t kf__err_from_sl(int rc, int16_t api_key, int16_t transport_err);

/* Handler families; each decodes r->msg (already decoded) and eventually
 * calls kf__req_done. */
void kf__apiversions(kf_req *r);
void kf__apiversions_unsupported(kf_req *r);
void kf__metadata(kf_req *r);
void kf__produce(kf_req *r);
/* The connection is going away: its queued Produce requests are still
 * appended (Kafka appends what it received before a close).  They are
 * held and chained behind the APPEND in flight, or returned, to be passed
 * to kf__produce_orphans once the close has detached every request
 * (kf_srv_produce.c). */
kf_req *kf__produce_conn_gone(kf_conn *k);
void kf__produce_orphans(kf_server *s, kf_req *list);
/* kf_metrics.c: the /metrics endpoint (when metrics.listen is set). */
int kf__metrics_start(kf_server *s, char *err, size_t errlen);
void kf__metrics_stop(kf_server *s);
/* A response is complete: count its latency. */
void kf__metrics_done(kf_req *r);
void kf__fetch(kf_req *r);
void kf__listoffsets(kf_req *r);
void kf__createtopics(kf_req *r);
void kf__deletetopics(kf_req *r);
void kf__describeconfigs(kf_req *r);
void kf__createpartitions(kf_req *r);
/* AlterConfigs and IncrementalAlterConfigs (by r->hdr.api_key). */
void kf__alterconfigs(kf_req *r);
/* kf_srv_groups.c */
void kf__findcoordinator(kf_req *r);
void kf__joingroup(kf_req *r);
void kf__syncgroup(kf_req *r);
void kf__heartbeat(kf_req *r);
void kf__leavegroup(kf_req *r);
void kf__offsetcommit(kf_req *r);
void kf__offsetfetch(kf_req *r);
void kf__listgroups(kf_req *r);
void kf__describegroups(kf_req *r);
void kf__deletegroups(kf_req *r);
void kf__initproducerid(kf_req *r);

/* True when this binary serves api_key at version (what ApiVersions
 * advertises).  The ranges come from the codec's table. */
bool kf__api_served(int16_t api_key, int16_t version);

/* Long-poll support (kf_srv_fetch.c). */
void kf__fetch_event(kf_server *s, const ipc_event *e);
void kf__fetch_unpark(kf_req *r);
void kf__fetch_flush_parked(kf_server *s);

#endif /* KF_SERVER_H */
