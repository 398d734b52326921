/*
 * ss_server_impl.h — what the files of sluice-segstore's server share: the
 * server and request-context structs and the helpers the coordination
 * handlers (ss_coord.c) use.  Everything here runs under ss_server.mu
 * unless it says otherwise.
 */
#ifndef SS_SERVER_IMPL_H
#define SS_SERVER_IMPL_H

#include "ipc_msg.h"
#include "ss_group.h"
#include "ss_kv.h"
#include "ss_server.h"
#include "ss_tier_svc.h"

#include <nng/nng.h>
#include <pthread.h>
#include <uv.h>

#define MAX_URLS 8

enum { CTX_RECV = 0, CTX_SEND = 1 };

typedef struct ss_server ss_server;

/* An append's wait for durability: the log and the end it needs. */
typedef struct wait_ent {
    ss_log *log; /* held */
    int64_t need;
} wait_ent;

typedef struct ss_ctx {
    ss_server *srv;
    nng_ctx ctx;
    nng_aio *aio;
    int state;
    nng_msg *req;
    struct ss_ctx *next; /* request queue or parked list */
    /* parked append */
    ipc_append_result *res;
    ss_log **res_log; /* the log of each result (held through waits) */
    size_t nres;
    wait_ent *waits;
    size_t nwaits;
    /* parked non-append reply (KV_WRITE, OFFSET_COMMIT, ...): sent as is
     * once durable, or replaced by an IO error reply if the sync failed */
    sl_buf pre;
    int has_pre;
    int pre_op;
    /* a READ / LIST_OFFSETS waiting for tier downloads: c->req is kept and
     * handled again when the last one finishes */
    int held;
    int tier_wait;
    int tier_tries;
} ss_ctx;

/* A log touched since the last event / sync round. */
typedef struct touched {
    ss_log *log; /* held */
    char topic[SS_TOPIC_NAME_MAX + 1];
    int32_t partition;
    int64_t published; /* visible end last announced */
} touched;

/* One sync round: its jobs and the logs whose appends it makes durable
 * (announced when it ends).  Appends arriving meanwhile gather in
 * ss_server.touched for the next round. */
typedef struct round {
    ss_log_job *jobs;
    size_t njobs, cap;
    touched *t;
    size_t nt;
} round;

struct ss_server {
    ss_config *cfg;
    pthread_mutex_t mu; /* guards everything below but the loop */
    uv_loop_t loop;
    uv_signal_t sigint, sigterm, sighup;
    ss_config_reload_fn *reload; /* SIGHUP: fresh settings from main */
    void *reload_arg;
    uv_timer_t ckpt_timer, retain_timer, interval_timer, stop_timer;
    nng_socket rep, pub;
    ss_ctx *ctxs;
    size_t nctx;
    ss_store *store;
    ss_kv *kv;
    ss_groups *groups;
    ss_tier_svc *tier; /* NULL without tier.url */
    uv_timer_t group_timer;
    char data_dir[256]; /* absolute; at most 200 bytes (checked) */
    uint8_t instance_id[IPC_INSTANCE_ID_LEN];
    char events_joined[SL_CONF_STR_MAX * 2];
    int lock_fd;
    sl_buf out;
    /* group commit */
    ss_ctx *parked_head, *parked_tail;
    touched *touched;
    size_t ntouched, touched_cap;
    pthread_t sync_thread;
    pthread_cond_t sync_cv;
    int sync_started;
    round cur;
    int round_running;
    int round_wanted; /* sync the touched logs */
    int sync_all;     /* sync every log (fsync=interval) */
    int ckpt_due;     /* and checkpoint every log */
    int sync_stop;
    int stopping;
    size_t nparked;
    /* Answered appends on their way out: the sync thread hands them to the
     * reply thread, which encodes and sends them outside `mu`. */
    pthread_t reply_thread;
    pthread_mutex_t rmu;
    pthread_cond_t rcv;
    ss_ctx *ready_head, *ready_tail;
    int reply_stop, reply_started;
    int exit_code;
    /* counters (exported by later metrics work) */
    uint64_t n_requests, n_malformed, n_appends, n_append_errors;
    uint64_t n_op[256];      /* requests by op */
    uint64_t n_append_bytes; /* batch bytes appended */
    struct sl_metrics *metrics;
    struct sl_metrics_http *metrics_http;
    struct sl_histo *h_sync;   /* fdatasync round duration */
    uint64_t malformed_logged; /* n_malformed at the last SS-BADREQ line */
    uint64_t malformed_log_ns;
};

/* Send b as c's reply (any thread; b is copied). */
void ss__ctx_send(ss_ctx *c, const sl_buf *b);
/* Send an error reply (uses s->out). */
void ss__reply_err(ss_server *s, ss_ctx *c, int op, int status,
                   const char *text);
/* Note that l was written (an event and a sync round follow); an empty
 * topic announces nothing. */
void ss__touch(ss_server *s, ss_log *l, sl_slice topic, int32_t partition);
/* Make c wait until l is durable up to need; *cap is c->waits' capacity. */
int ss__add_wait(ss_ctx *c, ss_log *l, int64_t need, size_t *cap);
/* Reply with c->pre now if its waits are durable, else park it. */
void ss__send_or_park(ss_server *s, ss_ctx *c);
/* Publish an event (nonblocking; dropped when the socket is full). */
void ss__publish(ss_server *s, const ipc_event *e);

/* ss_coord.c: the coordination ops (KV, groups, offsets, producer ids). */
void ss__handle_kv_get(ss_server *s, ss_ctx *c, sl_slice body);
void ss__handle_kv_write(ss_server *s, ss_ctx *c, sl_slice body);
void ss__handle_kv_scan(ss_server *s, ss_ctx *c, sl_slice body);
void ss__handle_group(ss_server *s, ss_ctx *c, int op, sl_slice body);
void ss__handle_offset_commit(ss_server *s, ss_ctx *c, sl_slice body);
void ss__handle_offset_fetch(ss_server *s, ss_ctx *c, sl_slice body);
void ss__handle_producer_id(ss_server *s, ss_ctx *c, sl_slice body);
/* Open the KV store and the group service (at start). */
int ss__coord_open(ss_server *s, char *err, size_t errlen);
void ss__coord_close(ss_server *s);
/* Shutting down: answer every held JOIN/SYNC with SL_E_CLOSED. */
void ss__coord_stop(ss_server *s);
/* Timer: session and rebalance timeouts. */
void ss__coord_tick(ss_server *s);
/* Metrics (ss_metrics.c): registry, /metrics endpoint, collectors. */
int ss__metrics_start(ss_server *s, char *err, size_t errlen);
void ss__metrics_stop(ss_server *s);
struct sl_metrics_out;
/* Emit consumer-group lag per committed partition (ss_coord.c, under mu). */
void ss__coord_collect(ss_server *s, struct sl_metrics_out *out);

#endif /* SS_SERVER_IMPL_H */
