/*
 * ss_server.c — sluice-segstore's request handling and group commit.
 *
 * Threads and the one lock: requests are handled where nng completes them,
 * on nng's callback threads, under the store mutex `mu`, which guards every
 * topic, log, parked append and the touched set.  A dedicated sync thread
 * runs group commit: it takes the mutex to prepare a round of durability
 * jobs, releases it for the fdatasyncs, and takes it again to publish the
 * results.  The libuv loop on the main thread runs only timers
 * (checkpoints, retention, fsync=interval) and signals, each under `mu`.
 * Handling on the completing thread, rather than handing every request to
 * one loop thread, saves two thread wake-ups per request, which on two
 * cores is most of a request's cost (docs/performance.md).
 *
 * Group commit (fsync=batch): appends are written at once but their replies
 * are parked until a sync round that covers them ends.  While a round runs,
 * new appends accumulate; when it ends, the next round covers all of them
 * with one fdatasync per partition.  Under load, the cost of an fdatasync
 * is thus shared by every append that arrived during the previous one.
 *
 * Visibility: READ, LIST_OFFSETS and ADVANCE events expose offsets below
 * the durable end under fsync=batch (a consumer never sees a record that a
 * crash could take back) and below the written end under the other
 * policies.
 */
#include "ss_server_impl.h"

#include "sl_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

/* ---- small helpers --------------------------------------------------------
 */

static int
nng_to_sl(int rv)
{
    switch (rv) {
    case 0:
        return 0;
    case NNG_ENOMEM:
        return -ENOMEM;
    case NNG_EADDRINUSE:
        return -EADDRINUSE;
    case NNG_EPERM:
        return -EPERM;
    case NNG_EINVAL:
    case NNG_EADDRINVAL:
        return SL_E_INVAL;
    default:
        return SL_E_IO;
    }
}

static int64_t
visible_end(const ss_server *s, const ss_log *l)
{
    return s->cfg->fsync_mode == SS_FSYNC_BATCH ? ss_log_durable_end(l)
                                                : ss_log_end(l);
}

void
ss__ctx_send(ss_ctx *c, const sl_buf *b)
{
    nng_msg *m;
    if (nng_msg_alloc(&m, b->n) != 0) {
        /* Without memory for a reply, drop the request: the client's
         * timeout reports it.  Keep the context receiving. */
        c->state = CTX_RECV;
        nng_ctx_recv(c->ctx, c->aio);
        return;
    }
    memcpy(nng_msg_body(m), b->p, b->n);
    nng_aio_set_msg(c->aio, m);
    c->state = CTX_SEND;
    nng_ctx_send(c->ctx, c->aio);
}

void
ss__reply_err(ss_server *s, ss_ctx *c, int op, int status, const char *text)
{
    ipc_err_encode(&s->out, op, status, text);
    ss__ctx_send(c, &s->out);
}

static void handle(ss_server *s, ss_ctx *c);
static void after_requests(ss_server *s);

/* ---- nng side -------------------------------------------------------------
 */

static void
ctx_cb(void *arg)
{
    ss_ctx *c = arg;
    ss_server *s = c->srv;
    int rv = nng_aio_result(c->aio);
    if (c->state == CTX_SEND) {
        if (rv != 0)
            nng_msg_free(nng_aio_get_msg(c->aio));
        if (rv == NNG_ECLOSED)
            return;
        c->state = CTX_RECV;
        nng_ctx_recv(c->ctx, c->aio);
        return;
    }
    if (rv != 0) {
        if (rv != NNG_ECLOSED && rv != NNG_ECANCELED)
            nng_ctx_recv(c->ctx, c->aio);
        return;
    }
    c->req = nng_aio_get_msg(c->aio);
    pthread_mutex_lock(&s->mu);
    handle(s, c);
    after_requests(s);
    pthread_mutex_unlock(&s->mu);
}

/* ---- touched logs and events ------------------------------------------------
 */

void
ss__touch(ss_server *s, ss_log *l, sl_slice topic, int32_t partition)
{
    for (size_t i = 0; i < s->ntouched; i++)
        if (s->touched[i].log == l)
            return;
    if (s->ntouched == s->touched_cap) {
        size_t cap = s->touched_cap ? s->touched_cap * 2 : 64;
        touched *n = realloc(s->touched, cap * sizeof(*n));
        if (n == NULL)
            return; /* the event is only a wake-up; readers also poll */
        s->touched = n;
        s->touched_cap = cap;
    }
    touched *t = &s->touched[s->ntouched++];
    t->log = l;
    ss_log_hold(l);
    if (topic.n > 0)
        memcpy(t->topic, topic.p, topic.n);
    t->topic[topic.n] = 0;
    t->partition = partition;
    t->published = -1;
}

void
ss__publish(ss_server *s, const ipc_event *e)
{
    sl_buf b;
    sl_buf_init(&b);
    nng_msg *m;
    if (ipc_event_encode(&b, e) == 0 && nng_msg_alloc(&m, b.n) == 0) {
        memcpy(nng_msg_body(m), b.p, b.n);
        if (nng_sendmsg(s->pub, m, NNG_FLAG_NONBLOCK) != 0)
            nng_msg_free(m);
    }
    sl_buf_fini(&b);
}

/* Announce the new visible ends of logs and release them. */
static void
publish_list(ss_server *s, touched *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        touched *t = &list[i];
        if (t->topic[0] != 0 && !ss_log_failed(t->log)) {
            ipc_event e = {0};
            e.op = IPC_EVT_ADVANCE;
            e.topic = sl_slice_str(t->topic);
            e.partition = t->partition;
            e.high_watermark = visible_end(s, t->log);
            ss__publish(s, &e);
        }
        ss_log_rele(t->log);
    }
}

static void
publish_touched(ss_server *s)
{
    publish_list(s, s->touched, s->ntouched);
    s->ntouched = 0;
}

/* ---- parked appends --------------------------------------------------------
 */

static void
park(ss_server *s, ss_ctx *c)
{
    c->next = NULL;
    if (s->parked_tail)
        s->parked_tail->next = c;
    else
        s->parked_head = c;
    s->parked_tail = c;
    s->nparked++;
}

/* Under mu: fix each result's status and drop the log references; after
 * this only c->res remains, which nothing else touches. */
static void
settle_append(ss_ctx *c)
{
    /* A prepared reply (KV_WRITE, OFFSET_COMMIT, ...) whose write a failed
     * fdatasync left undurable becomes an error reply. */
    if (c->has_pre) {
        for (size_t i = 0; i < c->nwaits; i++) {
            if (ss_log_failed(c->waits[i].log) &&
                ss_log_durable_end(c->waits[i].log) < c->waits[i].need) {
                ipc_err_encode(&c->pre, c->pre_op, SL_E_IO,
                               "fdatasync failed; the write may be lost");
                break;
            }
        }
    }
    /* An fdatasync failure after the write: an append that was not yet
     * durable must not be acknowledged. */
    for (size_t k = 0; k < c->nres; k++) {
        ss_log *l = c->res_log[k];
        if (l != NULL && c->res[k].status == 0 && ss_log_failed(l) &&
            ss_log_durable_end(l) <= c->res[k].last_offset)
            c->res[k].status = SL_E_IO;
    }
    for (size_t i = 0; i < c->nwaits; i++)
        ss_log_rele(c->waits[i].log);
    free(c->res_log);
    free(c->waits);
    c->res_log = NULL;
    c->waits = NULL;
    c->nwaits = 0;
}

/* Any thread, mu not needed: encode and send a settled append's reply. */
static void
send_append_reply(ss_ctx *c, sl_buf *scratch)
{
    if (c->has_pre) {
        ss__ctx_send(c, &c->pre);
        c->has_pre = 0;
        c->pre.n = 0;
        return;
    }
    ipc_append_rep_encode(scratch, c->res, c->nres);
    ss__ctx_send(c, scratch);
    free(c->res);
    c->res = NULL;
    c->nres = 0;
}

static void
finish_append(ss_server *s, ss_ctx *c)
{
    settle_append(c);
    send_append_reply(c, &s->out);
}

static int
append_durable(const ss_ctx *c)
{
    for (size_t i = 0; i < c->nwaits; i++)
        if (!ss_log_failed(c->waits[i].log) &&
            ss_log_durable_end(c->waits[i].log) < c->waits[i].need)
            return 0;
    return 1;
}

void
ss__send_or_park(ss_server *s, ss_ctx *c)
{
    c->has_pre = 1;
    if (c->nwaits > 0 && !append_durable(c)) {
        park(s, c);
        return;
    }
    finish_append(s, c);
}

/* Under mu: take every parked append that is durable now off the parked
 * list, settle it, and queue it for the reply thread. */
static void
release_parked(ss_server *s)
{
    ss_ctx **pp = &s->parked_head;
    ss_ctx *prev = NULL, *head = NULL, *tail = NULL;
    while (*pp) {
        ss_ctx *c = *pp;
        if (append_durable(c)) {
            *pp = c->next;
            if (s->parked_tail == c)
                s->parked_tail = prev;
            s->nparked--;
            settle_append(c);
            c->next = NULL;
            if (tail)
                tail->next = c;
            else
                head = c;
            tail = c;
        } else {
            prev = c;
            pp = &c->next;
        }
    }
    if (head == NULL)
        return;
    pthread_mutex_lock(&s->rmu);
    if (s->ready_tail)
        s->ready_tail->next = head;
    else
        s->ready_head = head;
    s->ready_tail = tail;
    pthread_cond_signal(&s->rcv);
    pthread_mutex_unlock(&s->rmu);
}

/* The reply thread: sends the replies of appends a round made durable, so
 * that the sync thread can start the next fdatasync at once. */
static void *
reply_main(void *arg)
{
    ss_server *s = arg;
    sl_buf scratch;
    sl_buf_init(&scratch);
    pthread_mutex_lock(&s->rmu);
    for (;;) {
        while (s->ready_head == NULL && !s->reply_stop)
            pthread_cond_wait(&s->rcv, &s->rmu);
        ss_ctx *c = s->ready_head;
        if (c == NULL)
            break;
        s->ready_head = s->ready_tail = NULL;
        pthread_mutex_unlock(&s->rmu);
        while (c) {
            ss_ctx *next = c->next;
            send_append_reply(c, &scratch);
            c = next;
        }
        pthread_mutex_lock(&s->rmu);
    }
    pthread_mutex_unlock(&s->rmu);
    sl_buf_fini(&scratch);
    return NULL;
}

/* ---- sync rounds ------------------------------------------------------ */

static int
add_job(ss_server *s, ss_log *l, int checkpoint)
{
    round *r = &s->cur;
    if (r->njobs == r->cap) {
        size_t n = r->cap ? r->cap * 2 : 16;
        ss_log_job *j = realloc(r->jobs, n * sizeof(*j));
        if (j == NULL)
            return -ENOMEM;
        r->jobs = j;
        r->cap = n;
    }
    int rc = ss_log_job_begin(l, checkpoint, &r->jobs[r->njobs]);
    if (rc == 1)
        r->njobs++;
    return rc < 0 ? rc : 0;
}

static void
add_jobs_all(ss_server *s, int checkpoint)
{
    for (size_t i = 0; i < ss_store_topic_count(s->store); i++) {
        ss_topic *t = ss_store_topic_at(s->store, i);
        for (int32_t p = 0; p < ss_topic_partitions(t); p++)
            add_job(s, ss_topic_log(t, p), checkpoint);
    }
    if (s->kv)
        add_job(s, ss_kv_log(s->kv), checkpoint);
}

/* Ask the sync thread for a round (under mu). */
static void
want_round(ss_server *s)
{
    s->round_wanted = 1;
    pthread_cond_signal(&s->sync_cv);
}

/*
 * The sync thread.  Under mu it takes the touched logs (under fsync=batch
 * they belong to this round now) and prepares their jobs; without mu it
 * runs the fdatasyncs; under mu again it publishes the results, answers
 * the appends they made durable and announces the new ends.
 */
static void *
sync_main(void *arg)
{
    ss_server *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->round_wanted && !s->sync_stop)
            pthread_cond_wait(&s->sync_cv, &s->mu);
        if (!s->round_wanted)
            break;
        s->round_wanted = 0;
        int ckpt = s->ckpt_due, all = s->sync_all;
        s->ckpt_due = s->sync_all = 0;
        s->cur.t = s->touched;
        s->cur.nt = s->ntouched;
        s->touched = NULL;
        s->ntouched = s->touched_cap = 0;
        s->cur.njobs = 0;
        if (ckpt || all)
            add_jobs_all(s, ckpt);
        else
            for (size_t i = 0; i < s->cur.nt; i++)
                add_job(s, s->cur.t[i].log, 0);
        s->round_running = 1;
        pthread_mutex_unlock(&s->mu);
        uint64_t t0 = sl_mono_ns();
        for (size_t i = 0; i < s->cur.njobs; i++)
            ss_log_job_run(&s->cur.jobs[i]);
        uint64_t took = sl_mono_ns() - t0;
        pthread_mutex_lock(&s->mu);
        if (s->cur.njobs > 0)
            sl_histo_observe(s->h_sync, (double)took / 1e9);
        size_t before = s->nparked;
        for (size_t i = 0; i < s->cur.njobs; i++)
            ss_log_job_end(&s->cur.jobs[i]);
        s->round_running = 0;
        release_parked(s);
        /* One line per round (not per message) at debug level: how well
         * group commit is batching. */
        sl_log(SL_LOG_DEBUG, "SS-ROUND",
               "jobs=%zu appends_answered=%zu sync_us=%" PRIu64, s->cur.njobs,
               before - s->nparked, took / 1000);
        publish_list(s, s->cur.t, s->cur.nt);
        free(s->cur.t);
        s->cur.t = NULL;
        s->cur.nt = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- request handlers
 * ---------------------------------------------------------- */

static void
handle_hello(ss_server *s, ss_ctx *c, sl_slice body)
{
    ipc_hello_req req;
    if (ipc_hello_req_decode(body, &req) != 0) {
        s->n_malformed++;
        ss__reply_err(s, c, IPC_OP_HELLO, SL_E_MALFORMED, "malformed HELLO");
        return;
    }
    ipc_hello_rep rep = {0};
    rep.server_version = sl_slice_str(SLUICE_VERSION);
    rep.proto_min = IPC_VERSION;
    rep.proto_max = IPC_VERSION;
    memcpy(rep.instance_id, s->instance_id, sizeof(rep.instance_id));
    rep.data_dir = sl_slice_str(s->data_dir);
    rep.events_url = sl_slice_str(s->events_joined);
    ipc_hello_rep_encode(&s->out, &rep);
    ss__ctx_send(c, &s->out);
}

static void
handle_topic_create(ss_server *s, ss_ctx *c, sl_slice body)
{
    ipc_topic_create_req req;
    if (ipc_topic_create_req_decode(body, &req) != 0) {
        s->n_malformed++;
        ss__reply_err(s, c, IPC_OP_TOPIC_CREATE, SL_E_MALFORMED,
                      "malformed TOPIC_CREATE");
        return;
    }
    ss_kv kvs[64];
    size_t n = 0;
    ipc_kv kv;
    while (ipc_topic_create_req_next(&req, &kv) == 1) {
        if (n == SL_ARRAY_LEN(kvs)) {
            ss__reply_err(s, c, IPC_OP_TOPIC_CREATE, SL_E_INVAL,
                          "too many configs");
            return;
        }
        kvs[n].key = kv.key;
        kvs[n].value = kv.value;
        n++;
    }
    char err[512] = "";
    int rc = ss_store_topic_create(s->store, req.name, req.partitions, kvs, n,
                                   err, sizeof(err));
    if (rc != 0) {
        ss__reply_err(s, c, IPC_OP_TOPIC_CREATE, rc,
                      err[0] ? err : sl_strerror(rc));
        return;
    }
    ipc_event e = {0};
    e.op = IPC_EVT_TOPIC_CREATED;
    e.topic = req.name;
    e.partitions = req.partitions;
    ss__publish(s, &e);
    ipc_msg_begin(&s->out, IPC_OP_TOPIC_CREATE, 0);
    ss__ctx_send(c, &s->out);
}

static void
drop_touched_topic(ss_server *s, sl_slice topic)
{
    /* Parked appends keep their own references; only forget events. */
    size_t k = 0;
    for (size_t i = 0; i < s->ntouched; i++) {
        if (sl_slice_eq_str(topic, s->touched[i].topic))
            ss_log_rele(s->touched[i].log);
        else
            s->touched[k++] = s->touched[i];
    }
    s->ntouched = k;
}

static void
handle_topic_delete(ss_server *s, ss_ctx *c, sl_slice body)
{
    sl_slice name;
    if (ipc_topic_delete_req_decode(body, &name) != 0) {
        s->n_malformed++;
        ss__reply_err(s, c, IPC_OP_TOPIC_DELETE, SL_E_MALFORMED,
                      "malformed TOPIC_DELETE");
        return;
    }
    char nm[SS_TOPIC_NAME_MAX + 1];
    snprintf(nm, sizeof(nm), "%.*s", (int)SL_MIN(name.n, SS_TOPIC_NAME_MAX),
             (const char *)name.p);
    drop_touched_topic(s, name);
    if (s->tier && ss_store_topic_find(s->store, name) != NULL)
        ss_tier_svc_topic_deleted(s->tier, nm);
    int rc = ss_store_topic_delete(s->store, name);
    if (rc != 0) {
        ss__reply_err(s, c, IPC_OP_TOPIC_DELETE, rc, sl_strerror(rc));
        return;
    }
    ipc_event e = {0};
    e.op = IPC_EVT_TOPIC_DELETED;
    e.topic = sl_slice_str(nm);
    ss__publish(s, &e);
    ipc_msg_begin(&s->out, IPC_OP_TOPIC_DELETE, 0);
    ss__ctx_send(c, &s->out);
}

static void
handle_add_partitions(ss_server *s, ss_ctx *c, sl_slice body)
{
    sl_slice name;
    int32_t count;
    uint8_t validate_only;
    char err[512] = "";
    if (ipc_add_partitions_req_decode(body, &name, &count, &validate_only) !=
        0) {
        s->n_malformed++;
        ss__reply_err(s, c, IPC_OP_TOPIC_ADD_PARTITIONS, SL_E_MALFORMED,
                      "malformed TOPIC_ADD_PARTITIONS");
        return;
    }
    int rc = ss_store_topic_add_partitions(s->store, name, count, validate_only,
                                           err, sizeof(err));
    if (rc != 0) {
        ss__reply_err(s, c, IPC_OP_TOPIC_ADD_PARTITIONS, rc,
                      err[0] ? err : sl_strerror(rc));
        return;
    }
    if (!validate_only) {
        sl_log(SL_LOG_INFO, "SS-TOPIC", "topic=%.*s partitions=%d (grown)",
               (int)name.n, (const char *)name.p, count);
        /* Frontends refresh their view of the topic on TOPIC_CREATED. */
        ipc_event e = {0};
        e.op = IPC_EVT_TOPIC_CREATED;
        e.topic = name;
        e.partitions = count;
        ss__publish(s, &e);
    }
    ipc_msg_begin(&s->out, IPC_OP_TOPIC_ADD_PARTITIONS, 0);
    ss__ctx_send(c, &s->out);
}

/* Encode t's overrides as the TOPIC_ALTER_CONFIGS reply into s->out
 * (ss_alter_report_fn). */
static void
encode_overrides(void *arg, const ss_topic *t)
{
    ss_server *s = arg;
    size_t n = ss_topic_override_count(t);
    ipc_kv *kv = calloc(n ? n : 1, sizeof(*kv));
    int rc = kv == NULL ? -ENOMEM : 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        kv[i].key = sl_slice_str(ss_topic_override_key(t, i));
        kv[i].value = sl_slice_str(ss_topic_override_value(t, i));
    }
    if (rc == 0)
        rc = ipc_alter_configs_rep_encode(&s->out, kv, n);
    if (rc != 0)
        ipc_err_encode(&s->out, IPC_OP_TOPIC_ALTER_CONFIGS, rc,
                       "cannot encode the reply");
    free(kv);
}

/*
 * TOPIC_ALTER_CONFIGS: all or nothing in ss_store_topic_alter.  No event of
 * its own: nothing a frontend keeps depends on topic configs (they answer
 * DescribeConfigs with TOPIC_DESCRIBE, and segstore applies the limits), so
 * a frontend that wants the values re-reads them with TOPIC_DESCRIBE.
 */
static void
handle_alter_configs(ss_server *s, ss_ctx *c, sl_slice body)
{
    ipc_alter_configs_req req;
    if (ipc_alter_configs_req_decode(body, &req) != 0) {
        s->n_malformed++;
        ss__reply_err(s, c, IPC_OP_TOPIC_ALTER_CONFIGS, SL_E_MALFORMED,
                      "malformed TOPIC_ALTER_CONFIGS");
        return;
    }
    ss_cfg_op *ops = calloc(req.count ? req.count : 1, sizeof(*ops));
    if (ops == NULL) {
        ss__reply_err(s, c, IPC_OP_TOPIC_ALTER_CONFIGS, -ENOMEM,
                      "out of memory");
        return;
    }
    size_t n = 0;
    ipc_cfg_op o;
    while (ipc_alter_configs_req_next(&req, &o) == 1) {
        ops[n].op = o.op == IPC_CFG_DELETE ? SS_CFG_DELETE : SS_CFG_SET;
        ops[n].key = o.key;
        ops[n].value = o.value;
        n++;
    }
    char err[512] = "";
    int rc = ss_store_topic_alter(s->store, req.name, ops, n, req.replace,
                                  req.validate_only, encode_overrides, s, err,
                                  sizeof(err));
    free(ops);
    if (rc != 0) {
        ss__reply_err(s, c, IPC_OP_TOPIC_ALTER_CONFIGS, rc,
                      err[0] ? err : sl_strerror(rc));
        return;
    }
    ss__ctx_send(c, &s->out);
}

static void
handle_topic_list(ss_server *s, ss_ctx *c)
{
    size_t n = ss_store_topic_count(s->store);
    ipc_topic_entry *e = calloc(n ? n : 1, sizeof(*e));
    if (e == NULL) {
        ss__reply_err(s, c, IPC_OP_TOPIC_LIST, -ENOMEM, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        ss_topic *t = ss_store_topic_at(s->store, i);
        e[i].name = sl_slice_str(ss_topic_name(t));
        e[i].partitions = ss_topic_partitions(t);
    }
    ipc_topic_list_rep_encode(&s->out, e, n);
    free(e);
    ss__ctx_send(c, &s->out);
}

static void
handle_topic_describe(ss_server *s, ss_ctx *c, sl_slice body)
{
    sl_slice name;
    if (ipc_topic_describe_req_decode(body, &name) != 0) {
        s->n_malformed++;
        ss__reply_err(s, c, IPC_OP_TOPIC_DESCRIBE, SL_E_MALFORMED,
                      "malformed TOPIC_DESCRIBE");
        return;
    }
    ss_topic *t = ss_store_topic_find(s->store, name);
    if (t == NULL) {
        ss__reply_err(s, c, IPC_OP_TOPIC_DESCRIBE, SL_E_NOTOPIC,
                      "unknown topic");
        return;
    }
    enum { NK = 16 };
    ipc_kv kv[NK];
    char vals[NK][SL_CONF_STR_MAX];
    size_t nk = SL_MIN(ss_topic_conf_len, (size_t)NK);
    for (size_t i = 0; i < nk; i++) {
        sl_conf_format(&ss_topic_conf[i], ss_topic_cfg(t), vals[i],
                       sizeof(vals[i]));
        kv[i].key = sl_slice_str(ss_topic_conf[i].name);
        kv[i].value = sl_slice_str(vals[i]);
    }
    int32_t np = ss_topic_partitions(t);
    ipc_partition_info *pi = calloc((size_t)np, sizeof(*pi));
    if (pi == NULL) {
        ss__reply_err(s, c, IPC_OP_TOPIC_DESCRIBE, -ENOMEM, "out of memory");
        return;
    }
    for (int32_t p = 0; p < np; p++) {
        ss_log *l = ss_topic_log(t, p);
        pi[p].partition = p;
        pi[p].log_start = ss_log_start(l);
        pi[p].high_watermark = visible_end(s, l);
        pi[p].segments = ss_log_segment_count(l);
        pi[p].bytes = ss_log_bytes(l);
    }
    ipc_topic_describe_rep_encode(&s->out, sl_slice_str(ss_topic_name(t)), np,
                                  kv, nk, pi, (size_t)np);
    free(pi);
    ss__ctx_send(c, &s->out);
}

int
ss__add_wait(ss_ctx *c, ss_log *l, int64_t need, size_t *cap)
{
    for (size_t i = 0; i < c->nwaits; i++) {
        if (c->waits[i].log == l) {
            if (need > c->waits[i].need)
                c->waits[i].need = need;
            return 0;
        }
    }
    if (c->nwaits == *cap) {
        size_t n = *cap ? *cap * 2 : 4;
        wait_ent *w = realloc(c->waits, n * sizeof(*w));
        if (w == NULL)
            return -ENOMEM;
        c->waits = w;
        *cap = n;
    }
    c->waits[c->nwaits].log = l;
    c->waits[c->nwaits].need = need;
    ss_log_hold(l);
    c->nwaits++;
    return 0;
}

static void
handle_append(ss_server *s, ss_ctx *c, sl_slice body)
{
    ipc_append_req req;
    if (ipc_append_req_decode(body, &req) != 0) {
        s->n_malformed++;
        ss__reply_err(s, c, IPC_OP_APPEND, SL_E_MALFORMED, "malformed APPEND");
        return;
    }
    c->res = calloc(req.count ? req.count : 1, sizeof(*c->res));
    c->res_log = calloc(req.count ? req.count : 1, sizeof(*c->res_log));
    if (c->res == NULL || c->res_log == NULL) {
        free(c->res);
        free(c->res_log);
        c->res = NULL;
        c->res_log = NULL;
        ss__reply_err(s, c, IPC_OP_APPEND, -ENOMEM, "out of memory");
        return;
    }
    c->nres = req.count;
    size_t wcap = 0;
    int64_t now = sl_now_ms();
    ipc_append_entry e;
    /* The request body lives in c->req, which we own and may modify: the
     * batches are stamped in place and written from there. */
    uint8_t *base = nng_msg_body(c->req);
    for (size_t i = 0; ipc_append_req_next(&req, &e) == 1; i++) {
        ipc_append_result *r = &c->res[i];
        r->base_offset = r->last_offset = r->append_time = r->log_start = -1;
        ss_log *l;
        int rc = ss_store_log(s->store, e.topic, e.partition, &l);
        if (rc == 0) {
            ss_append_res ar;
            uint8_t *w = base + (e.batches.p - (const uint8_t *)base);
            rc = ss_log_append(l, w, e.batches.n, now, &ar);
            if (rc == 0) {
                if (!ar.duplicate)
                    s->n_append_bytes += e.batches.n;
                r->base_offset = ar.base_offset;
                r->last_offset = ar.last_offset;
                r->append_time = ar.append_time;
                r->log_start = ar.log_start;
                ss__touch(s, l, e.topic, e.partition);
                if (s->cfg->fsync_mode == SS_FSYNC_BATCH) {
                    rc = ss__add_wait(c, l, ar.last_offset + 1, &wcap);
                    if (rc == 0)
                        c->res_log[i] = l;
                }
            }
        }
        r->status = rc;
        s->n_appends++;
        if (rc != 0)
            s->n_append_errors++;
    }
    if (c->nwaits > 0 && !append_durable(c)) {
        park(s, c);
        return;
    }
    finish_append(s, c);
}

/* Tier reads park a request at most this many times before giving up. */
#define TIER_TRIES_MAX 8

/* The waiter to register with the tier service: c, unless it has been
 * parked too often already (its segments evicted again before it could be
 * served); then NULL, and a pending download fails its entry. */
static void *
tier_waiter(ss_ctx *c)
{
    return c->tier_tries < TIER_TRIES_MAX ? c : NULL;
}

/* The tier service answered "pending" for waiter w: count the wake-up it
 * will send, or fail the entry with SL_E_BUSY when none will come. */
static int
tier_pending(ss_ctx *c, void *w)
{
    if (w == NULL)
        return SL_E_BUSY;
    c->tier_wait++;
    return 0;
}

/* After handling c: when it waits for tier downloads, keep its request. */
static int
tier_parked(ss_ctx *c)
{
    if (c->tier_wait == 0)
        return 0;
    c->tier_tries++;
    c->held = 1;
    return 1;
}

static void
handle_read(ss_server *s, ss_ctx *c, sl_slice body)
{
    ipc_read_req req;
    if (ipc_read_req_decode(body, &req) != 0) {
        s->n_malformed++;
        ss__reply_err(s, c, IPC_OP_READ, SL_E_MALFORMED, "malformed READ");
        return;
    }
    size_t cnt = req.count ? req.count : 1;
    ipc_read_result *res = calloc(cnt, sizeof(*res));
    ss_read_res *rr = calloc(cnt, sizeof(*rr));
    ss_tier_read_res *tr = s->tier ? calloc(cnt, sizeof(*tr)) : NULL;
    if (res == NULL || rr == NULL || (s->tier && tr == NULL)) {
        free(res);
        free(rr);
        free(tr);
        ss__reply_err(s, c, IPC_OP_READ, -ENOMEM, "out of memory");
        return;
    }
    int inl = (req.flags & IPC_READ_INLINE) != 0;
    /* Keep inline replies under the IPC message limit. */
    uint64_t budget = (uint64_t)s->cfg->max_msg - 4096;
    ipc_read_entry e;
    size_t i;
    for (i = 0; ipc_read_req_next(&req, &e) == 1; i++) {
        ipc_read_result *r = &res[i];
        ss_log *l;
        int rc = ss_store_log(s->store, e.topic, e.partition, &l);
        if (rc == 0) {
            r->high_watermark = visible_end(s, l);
            r->log_start = ss_log_start(l);
            int32_t maxb = e.max_bytes;
            if (inl && (uint64_t)SL_MAX(maxb, 0) > budget)
                maxb = (int32_t)SL_MIN(budget, (uint64_t)INT32_MAX);
            if (s->tier && e.offset < ss_log_local_start(l) &&
                e.offset >= r->log_start) {
                /* Below the local start: the cold tier, via the cache. */
                void *w = tier_waiter(c);
                rc = ss_tier_svc_read(s->tier, l, e.offset, maxb,
                                      r->high_watermark, w, &tr[i]);
                if (rc == 1)
                    rc = tier_pending(c, w);
                rr[i].data = tr[i].data;
                rr[i].length = tr[i].length;
                rr[i].position = tr[i].position;
                rr[i].segment_base = tr[i].segment_base;
            } else {
                rc = ss_log_read(l, e.offset, maxb, r->high_watermark, &rr[i]);
            }
        } else {
            r->high_watermark = r->log_start = -1;
        }
        r->status = rc;
        if (rc != 0 || rr[i].length == 0) {
            r->kind = IPC_READ_NONE;
        } else if (inl) {
            if (rr[i].length > budget) {
                r->kind = IPC_READ_NONE;
                continue;
            }
            budget -= rr[i].length;
            r->kind = IPC_READ_INLINE_DATA;
            r->data = sl_slice_make(rr[i].data, rr[i].length);
        } else {
            r->kind = IPC_READ_DESCRIPTOR;
            r->path = sl_slice_str(tr && tr[i].data ? tr[i].path : rr[i].path);
            r->segment_base = rr[i].segment_base;
            r->position = rr[i].position;
            r->length = rr[i].length;
        }
    }
    if (!tier_parked(c)) {
        ipc_read_rep_encode(&s->out, res, i);
        ss__ctx_send(c, &s->out);
    }
    free(res);
    free(rr);
    free(tr);
}

static void
handle_offsets(ss_server *s, ss_ctx *c, sl_slice body)
{
    ipc_offsets_req req;
    if (ipc_offsets_req_decode(body, &req) != 0) {
        s->n_malformed++;
        ss__reply_err(s, c, IPC_OP_LIST_OFFSETS, SL_E_MALFORMED,
                      "malformed LIST_OFFSETS");
        return;
    }
    ipc_offsets_result *res = calloc(req.count ? req.count : 1, sizeof(*res));
    if (res == NULL) {
        ss__reply_err(s, c, IPC_OP_LIST_OFFSETS, -ENOMEM, "out of memory");
        return;
    }
    ipc_offsets_entry e;
    size_t i;
    for (i = 0; ipc_offsets_req_next(&req, &e) == 1; i++) {
        ipc_offsets_result *r = &res[i];
        r->offset = r->timestamp = -1;
        ss_log *l;
        int rc = ss_store_log(s->store, e.topic, e.partition, &l);
        if (rc == 0) {
            if (e.spec == IPC_OFFSET_EARLIEST)
                r->offset = ss_log_start(l);
            else if (e.spec == IPC_OFFSET_LATEST)
                r->offset = visible_end(s, l);
            else if (e.spec >= 0 && s->tier) {
                /* The tier's segments first: they are the older ones. */
                void *w = tier_waiter(c);
                rc =
                    ss_tier_svc_find_time(s->tier, l, e.spec, visible_end(s, l),
                                          w, &r->offset, &r->timestamp);
                if (rc == 1)
                    rc = tier_pending(c, w);
                else if (rc == 0 && r->offset < 0)
                    rc = ss_log_find_time(l, e.spec, visible_end(s, l),
                                          &r->offset, &r->timestamp);
            } else if (e.spec >= 0)
                rc = ss_log_find_time(l, e.spec, visible_end(s, l), &r->offset,
                                      &r->timestamp);
            else
                rc = SL_E_INVAL;
        }
        r->status = rc;
    }
    if (!tier_parked(c)) {
        ipc_offsets_rep_encode(&s->out, res, i);
        ss__ctx_send(c, &s->out);
    }
    free(res);
}

static void
handle_tier_status(ss_server *s, ss_ctx *c, sl_slice body)
{
    sl_slice name;
    if (ipc_tier_status_req_decode(body, &name) != 0) {
        s->n_malformed++;
        ss__reply_err(s, c, IPC_OP_TIER_STATUS, SL_E_MALFORMED,
                      "malformed TIER_STATUS");
        return;
    }
    ss_topic *t = ss_store_topic_find(s->store, name);
    if (t == NULL) {
        ss__reply_err(s, c, IPC_OP_TIER_STATUS, SL_E_NOTOPIC, "unknown topic");
        return;
    }
    int32_t np = ss_topic_partitions(t);
    ipc_tier_part *ps = calloc((size_t)np, sizeof(*ps));
    ss_tier_part_status *st = calloc((size_t)np, sizeof(*st));
    if (ps == NULL || st == NULL) {
        free(ps);
        free(st);
        ss__reply_err(s, c, IPC_OP_TIER_STATUS, -ENOMEM, "out of memory");
        return;
    }
    for (int32_t p = 0; p < np; p++) {
        ss_tier_svc_status(s->tier, ss_topic_log(t, p), &st[p]);
        ps[p].partition = p;
        ps[p].local_start = st[p].local_start;
        ps[p].local_end = st[p].local_end;
        ps[p].local_bytes = st[p].local_bytes;
        ps[p].remote_start = st[p].remote_start;
        ps[p].remote_end = st[p].remote_end;
        ps[p].remote_bytes = st[p].remote_bytes;
        ps[p].remote_segments = st[p].remote_segments;
        ps[p].pending_offload = st[p].pending_offload;
        ps[p].failures = st[p].failures;
        ps[p].last_error = sl_slice_str(st[p].last_error);
    }
    ipc_tier_status_rep_encode(&s->out, ps, (size_t)np);
    free(ps);
    free(st);
    ss__ctx_send(c, &s->out);
}

static void
handle(ss_server *s, ss_ctx *c)
{
    sl_slice msg = sl_slice_make(nng_msg_body(c->req), nng_msg_len(c->req));
    ipc_hdr h;
    sl_slice body;
    s->n_requests++;
    c->held = 0;
    int rc = ipc_hdr_decode(msg, &h, &body);
    if (rc != 0) {
        s->n_malformed++;
        ss__reply_err(s, c, rc == SL_E_VERSION ? h.op : 0, rc,
                      rc == SL_E_VERSION ? "unsupported IPC version"
                                         : "malformed message header");
    } else if (s->stopping) {
        ss__reply_err(s, c, h.op, SL_E_CLOSED, "segstore is shutting down");
    } else {
        s->n_op[h.op]++;
        switch (h.op) {
        case IPC_OP_HELLO:
            handle_hello(s, c, body);
            break;
        case IPC_OP_TOPIC_CREATE:
            handle_topic_create(s, c, body);
            break;
        case IPC_OP_TOPIC_DELETE:
            handle_topic_delete(s, c, body);
            break;
        case IPC_OP_TOPIC_LIST:
            handle_topic_list(s, c);
            break;
        case IPC_OP_TOPIC_DESCRIBE:
            handle_topic_describe(s, c, body);
            break;
        case IPC_OP_APPEND:
            handle_append(s, c, body);
            break;
        case IPC_OP_READ:
            handle_read(s, c, body);
            break;
        case IPC_OP_LIST_OFFSETS:
            handle_offsets(s, c, body);
            break;
        case IPC_OP_KV_GET:
            ss__handle_kv_get(s, c, body);
            break;
        case IPC_OP_KV_WRITE:
            ss__handle_kv_write(s, c, body);
            break;
        case IPC_OP_KV_SCAN:
            ss__handle_kv_scan(s, c, body);
            break;
        case IPC_OP_GROUP_JOIN:
        case IPC_OP_GROUP_SYNC:
        case IPC_OP_GROUP_HEARTBEAT:
        case IPC_OP_GROUP_LEAVE:
        case IPC_OP_GROUP_LIST:
        case IPC_OP_GROUP_DESCRIBE:
        case IPC_OP_GROUP_DELETE:
            ss__handle_group(s, c, h.op, body);
            break;
        case IPC_OP_OFFSET_COMMIT:
            ss__handle_offset_commit(s, c, body);
            break;
        case IPC_OP_OFFSET_FETCH:
            ss__handle_offset_fetch(s, c, body);
            break;
        case IPC_OP_PRODUCER_ID:
            ss__handle_producer_id(s, c, body);
            break;
        case IPC_OP_TOPIC_ADD_PARTITIONS:
            handle_add_partitions(s, c, body);
            break;
        case IPC_OP_TIER_STATUS:
            handle_tier_status(s, c, body);
            break;
        case IPC_OP_TOPIC_ALTER_CONFIGS:
            handle_alter_configs(s, c, body);
            break;
        default:
            s->n_malformed++;
            ss__reply_err(s, c, h.op, SL_E_UNSUPPORTED, "unknown operation");
            break;
        }
    }
    /* Bad requests are answered one by one but reported at most every
     * 10 s, so a misbehaving client cannot flood the log. */
    if (s->n_malformed != s->malformed_logged) {
        uint64_t now = sl_mono_ns();
        if (now - s->malformed_log_ns >= 10000000000ull ||
            s->malformed_log_ns == 0) {
            sl_log(SL_LOG_WARN, "SS-BADREQ",
                   "malformed=%" PRIu64 " (total %" PRIu64
                   ") requests answered with an error",
                   s->n_malformed - s->malformed_logged, s->n_malformed);
            s->malformed_logged = s->n_malformed;
            s->malformed_log_ns = now;
        }
    }
    if (c->held)
        return; /* handled again when its tier downloads finish */
    c->tier_tries = 0;
    nng_msg_free(c->req);
    c->req = NULL;
}

/* After handling a request (under mu): under fsync=batch the touched logs
 * wait for the sync thread; otherwise they are announced now. */
static void
after_requests(ss_server *s)
{
    if (s->ntouched == 0)
        return;
    if (s->cfg->fsync_mode == SS_FSYNC_BATCH)
        want_round(s);
    else
        publish_touched(s);
}

/* The tier service finished a download c waited for (under mu). */
static void
tier_wake(void *arg, void *waiter)
{
    ss_server *s = arg;
    ss_ctx *c = waiter;
    if (--c->tier_wait > 0)
        return;
    handle(s, c);
    after_requests(s);
}

/* ---- timers and shutdown
 * --------------------------------------------------------- */

static void
on_ckpt(uv_timer_t *t)
{
    ss_server *s = t->data;
    pthread_mutex_lock(&s->mu);
    s->ckpt_due = 1;
    want_round(s);
    pthread_mutex_unlock(&s->mu);
}

static void
on_group_timer(uv_timer_t *t)
{
    ss_server *s = t->data;
    pthread_mutex_lock(&s->mu);
    ss__coord_tick(s);
    after_requests(s);
    pthread_mutex_unlock(&s->mu);
}

static void
on_interval(uv_timer_t *t)
{
    ss_server *s = t->data;
    pthread_mutex_lock(&s->mu);
    s->sync_all = 1;
    want_round(s);
    pthread_mutex_unlock(&s->mu);
}

static void
on_retain(uv_timer_t *t)
{
    ss_server *s = t->data;
    int64_t now = sl_now_ms();
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < ss_store_topic_count(s->store); i++) {
        ss_topic *tp = ss_store_topic_at(s->store, i);
        for (int32_t p = 0; p < ss_topic_partitions(tp); p++)
            ss_log_retain(ss_topic_log(tp, p), now);
    }
    if (s->tier)
        ss_tier_svc_kick(s->tier);
    pthread_mutex_unlock(&s->mu);
}

static void
close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void
on_stop_timer(uv_timer_t *t)
{
    ss_server *s = t->data;
    pthread_mutex_lock(&s->mu);
    /* Let the last round answer the parked appends first. */
    int busy = s->round_running || s->round_wanted || s->parked_head;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&s->rmu);
    busy = busy || s->ready_head != NULL;
    pthread_mutex_unlock(&s->rmu);
    if (busy)
        return;
    uv_timer_stop(t);
    /* Everything that was acknowledged is durable already; the final
     * close syncs and checkpoints the rest. */
    nng_close(s->rep);
    nng_close(s->pub);
    ss__metrics_stop(s);
    uv_walk(&s->loop, close_walk, NULL);
}

static void
on_signal(uv_signal_t *sig, int signum)
{
    ss_server *s = sig->data;
    if (s->stopping)
        return;
    sl_log(SL_LOG_INFO, "SS-STOP", "signal=%d: shutting down", signum);
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    ss__coord_stop(s);
    /* Reply to parked appends once their round ends, then stop. */
    if (s->ntouched > 0)
        want_round(s);
    pthread_mutex_unlock(&s->mu);
    uv_timer_start(&s->stop_timer, on_stop_timer, 20, 20);
}

/*
 * SIGHUP: the settings as they would be at start now, compared key by key
 * with the running ones.  What the table marks reloadable is applied:
 * log.level, the checkpoint and retention timers, and the topic.* defaults
 * (every topic re-resolved over them, its own overrides still winning).
 * One line names what changed live and what needs a restart.
 */
static void
on_sighup(uv_signal_t *sig, int signum)
{
    (void)signum;
    ss_server *s = sig->data;
    if (s->reload == NULL || s->stopping)
        return;
    ss_config *fresh = malloc(sizeof(*fresh));
    char err[1024] = "";
    if (fresh == NULL) {
        sl_log(SL_LOG_ERROR, "SS-RELOAD", "out of memory; nothing reloaded");
        return;
    }
    if (s->reload(s->reload_arg, fresh, err, sizeof(err)) != 0) {
        sl_log(SL_LOG_ERROR, "SS-RELOAD", "%s; nothing reloaded",
               err[0] ? err
                      : "configuration invalid (the line above says "
                        "why)");
        free(fresh);
        return;
    }
    char live[2048] = "", restart[1024] = "";
    ss_config *c = s->cfg;
    /* The start-up derives an empty ipc.url from the data directory. */
    if (fresh->ipc[0] == 0)
        snprintf(fresh->ipc, sizeof(fresh->ipc), "ipc://%.200s/segstore.sock",
                 s->data_dir);
    sl_conf_diff(ss_config_keys, ss_config_keys_len, "", c, fresh, live,
                 sizeof(live), restart, sizeof(restart));
    sl_conf_diff(ss_topic_conf, ss_topic_conf_len, "topic.", &c->topic,
                 &fresh->topic, live, sizeof(live), restart, sizeof(restart));
    int64_t ck = c->checkpoint_ms, rt = c->retention_check_ms;
    pthread_mutex_lock(&s->mu);
    sl_conf_copy_reloadable(ss_config_keys, ss_config_keys_len, c, fresh);
    c->topic = fresh->topic;
    if (ss_store_set_defaults(s->store, &c->topic) != 0)
        sl_log(SL_LOG_WARN, "SS-RELOAD",
               "some topics' own configs do not fit the new defaults; they "
               "keep their previous settings");
    pthread_mutex_unlock(&s->mu);
    if (c->checkpoint_ms != ck)
        uv_timer_start(&s->ckpt_timer, on_ckpt, (uint64_t)c->checkpoint_ms,
                       (uint64_t)c->checkpoint_ms);
    if (c->retention_check_ms != rt)
        uv_timer_start(&s->retain_timer, on_retain,
                       (uint64_t)c->retention_check_ms,
                       (uint64_t)c->retention_check_ms);
    /* Say it at the more verbose of the old and the new level. */
    int old = sl_log_level(), nl = sl_log_level_parse(c->log_level);
    sl_log_set_level(SL_MIN(old, nl));
    sl_log(restart[0] ? SL_LOG_WARN : SL_LOG_INFO, "SS-RELOAD",
           "reloaded=%s restart-needed=%s", live[0] ? live : "none",
           restart[0] ? restart : "none");
    sl_log_set_level(nl);
    free(fresh);
}

/* ---- start-up
 * ---------------------------------------------------------------------- */

static int
load_instance_id(ss_server *s, char *err, size_t errlen)
{
    char path[300];
    snprintf(path, sizeof(path), "%.200s/segstore.id", s->data_dir);
    char hex[34] = {0};
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        size_t n = fread(hex, 1, 33, f);
        fclose(f);
        if (n != 33 || hex[32] != '\n') {
            snprintf(err, errlen, "%s: not 32 hex digits and a newline", path);
            return SL_E_CORRUPT;
        }
        for (int i = 0; i < IPC_INSTANCE_ID_LEN; i++) {
            unsigned v;
            if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
                snprintf(err, errlen, "%s: not hex", path);
                return SL_E_CORRUPT;
            }
            s->instance_id[i] = (uint8_t)v;
        }
        return 0;
    }
    if (getrandom(s->instance_id, sizeof(s->instance_id), 0) !=
        (ssize_t)sizeof(s->instance_id))
        return -errno;
    for (int i = 0; i < IPC_INSTANCE_ID_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", s->instance_id[i]);
    hex[32] = '\n';
    char tmp[320];
    snprintf(tmp, sizeof(tmp), "%.300s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, hex, 33) != 33 || fsync(fd) != 0 ||
        rename(tmp, path) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    close(fd);
    return 0;
}

/* Split a comma-separated list in place. */
static size_t
split_urls(char *list, char **out, size_t max)
{
    size_t n = 0;
    for (char *tok = strtok(list, ","); tok && n < max; tok = strtok(NULL, ","))
        out[n++] = tok;
    return n;
}

static int
derive_events_url(const char *url, char *out, size_t len)
{
    if (strncmp(url, "ipc://", 6) == 0) {
        snprintf(out, len, "%s.events", url);
        return 0;
    }
    if (strncmp(url, "tcp://", 6) == 0) {
        const char *colon = strrchr(url, ':');
        char *end;
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        if (colon == NULL || *end != 0 || port <= 0 || port >= 65535)
            return SL_E_INVAL;
        snprintf(out, len, "%.*s:%ld", (int)(colon - url), url, port + 1);
        return 0;
    }
    return SL_E_INVAL;
}

static int
listen_on(ss_server *s, nng_socket sock, const char *url, char *err,
          size_t errlen)
{
    nng_listener lst;
    int rv = nng_listener_create(&lst, sock, url);
    if (rv == 0 && strncmp(url, "ipc://", 6) == 0) {
        /* Only the owner (and the configured group) may talk to the
         * single writer of all data. */
        int mode = s->cfg->socket_group[0] ? 0660 : 0600;
        rv = nng_listener_set_int(lst, NNG_OPT_IPC_PERMISSIONS, mode);
    }
    if (rv == 0)
        rv = nng_listener_start(lst, 0);
    if (rv != 0) {
        snprintf(err, errlen, "listen %s: %s", url, nng_strerror(rv));
        return nng_to_sl(rv);
    }
    if (strncmp(url, "ipc://", 6) == 0 && s->cfg->socket_group[0]) {
        struct group *g = getgrnam(s->cfg->socket_group);
        if (g == NULL || chown(url + 6, (uid_t)-1, g->gr_gid) != 0) {
            snprintf(err, errlen, "ipc.socket.group=%s: %s",
                     s->cfg->socket_group,
                     g == NULL ? "no such group" : strerror(errno));
            return SL_E_INVAL;
        }
    }
    return 0;
}

static int
open_sockets(ss_server *s, char *err, size_t errlen)
{
    char urls[SL_CONF_STR_MAX], evs[SL_CONF_STR_MAX];
    char *u[MAX_URLS], *e[MAX_URLS];
    char derived[MAX_URLS][SL_CONF_STR_MAX];
    snprintf(urls, sizeof(urls), "%s", s->cfg->ipc);
    snprintf(evs, sizeof(evs), "%s", s->cfg->events);
    size_t nu = split_urls(urls, u, MAX_URLS);
    size_t ne = split_urls(evs, e, MAX_URLS);
    if (nu == 0) {
        snprintf(err, errlen, "ipc.url: no URL");
        return SL_E_INVAL;
    }
    if (ne == 0) {
        for (size_t i = 0; i < nu; i++) {
            if (derive_events_url(u[i], derived[i], sizeof(derived[i])) != 0) {
                snprintf(err, errlen,
                         "%s: cannot derive an events URL; set events.url",
                         u[i]);
                return SL_E_INVAL;
            }
            e[i] = derived[i];
        }
        ne = nu;
    } else if (ne != nu) {
        snprintf(err, errlen, "events.url needs one URL per ipc.url URL");
        return SL_E_INVAL;
    }
    int rv = nng_rep0_open(&s->rep);
    if (rv == 0)
        rv = nng_pub0_open(&s->pub);
    if (rv == 0)
        rv = nng_socket_set_size(s->rep, NNG_OPT_RECVMAXSZ,
                                 (size_t)s->cfg->max_msg);
    if (rv != 0) {
        snprintf(err, errlen, "nng: %s", nng_strerror(rv));
        return nng_to_sl(rv);
    }
    s->events_joined[0] = 0;
    for (size_t i = 0; i < nu; i++) {
        int rc = listen_on(s, s->rep, u[i], err, errlen);
        if (rc == 0)
            rc = listen_on(s, s->pub, e[i], err, errlen);
        if (rc != 0)
            return rc;
        size_t l = strlen(s->events_joined);
        snprintf(s->events_joined + l, sizeof(s->events_joined) - l, "%s%s",
                 i ? "," : "", e[i]);
        sl_log(SL_LOG_INFO, "SS-LISTEN", "ipc=%s events=%s", u[i], e[i]);
    }
    return 0;
}

int
ss_server_run(ss_config *cfg, ss_config_reload_fn *reload, void *arg)
{
    static ss_server srv;
    ss_server *s = &srv;
    char err[1024] = "";
    int rc;
    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    s->reload = reload;
    s->reload_arg = arg;
    s->lock_fd = -1;
    s->exit_code = 1;
    sl_log_set_level(sl_log_level_parse(cfg->log_level));
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->sync_cv, NULL);
    pthread_mutex_init(&s->rmu, NULL);
    pthread_cond_init(&s->rcv, NULL);

    if (mkdir(cfg->data, 0755) != 0 && errno != EEXIST) {
        sl_log(SL_LOG_ERROR, "SS-START", "data=%s: %s", cfg->data,
               strerror(errno));
        return 1;
    }
    char real[PATH_MAX];
    if (realpath(cfg->data, real) == NULL) {
        sl_log(SL_LOG_ERROR, "SS-START", "data=%s: %s", cfg->data,
               strerror(errno));
        return 1;
    }
    /* Unix socket paths are short (108 bytes), and so must be a data
     * directory that holds the default socket. */
    if (strlen(real) > 200) {
        sl_log(SL_LOG_ERROR, "SS-START", "data=%s: path longer than 200 bytes",
               real);
        return 1;
    }
    snprintf(s->data_dir, sizeof(s->data_dir), "%.200s", real);
    char lock[300];
    snprintf(lock, sizeof(lock), "%.200s/.lock", s->data_dir);
    s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        sl_log(SL_LOG_ERROR, "SS-START",
               "data=%s: locked by another sluice-segstore (%s)", s->data_dir,
               strerror(errno));
        return 1;
    }
    if ((rc = load_instance_id(s, err, sizeof(err))) != 0) {
        sl_log(SL_LOG_ERROR, "SS-START", "%s", err);
        return 1;
    }
    if (cfg->ipc[0] == 0)
        snprintf(cfg->ipc, sizeof(cfg->ipc), "ipc://%.200s/segstore.sock",
                 s->data_dir);
    uint64_t t0 = sl_mono_ns();
    rc = ss_store_open(s->data_dir, &cfg->topic, &s->store, err, sizeof(err));
    if (rc != 0) {
        sl_log(SL_LOG_ERROR, "SS-START", "cannot open data: %s",
               err[0] ? err : sl_strerror(rc));
        return 1;
    }
    if ((rc = ss__coord_open(s, err, sizeof(err))) != 0) {
        sl_log(SL_LOG_ERROR, "SS-START", "cannot open coordination state: %s",
               err[0] ? err : sl_strerror(rc));
        ss_store_close(s->store);
        return 1;
    }
    if (cfg->tier_url[0]) {
        ss_tier_svc_conf tc = {0};
        tc.tier.url = cfg->tier_url;
        tc.tier.endpoint = cfg->tier_endpoint;
        tc.tier.region = cfg->tier_region;
        tc.tier.access_key = cfg->tier_access_key;
        tc.tier.secret_key = cfg->tier_secret_key;
        tc.tier.multipart_bytes = cfg->tier_multipart_bytes;
        tc.data_dir = s->data_dir;
        tc.cache_bytes = cfg->tier_cache_bytes;
        tc.check_ms = cfg->tier_check_ms;
        tc.odirect = cfg->tier_odirect;
        tc.wake = tier_wake;
        tc.wake_arg = s;
        rc = ss_tier_svc_new(&tc, s->store, &s->mu, &s->tier, err, sizeof(err));
        if (rc == 0)
            rc = ss_tier_svc_start(s->tier);
        if (rc != 0) {
            sl_log(SL_LOG_ERROR, "SS-START", "tier: %s",
                   err[0] ? err : sl_strerror(rc));
            ss__coord_close(s);
            ss_store_close(s->store);
            return 1;
        }
    }
    size_t nparts = 0;
    for (size_t i = 0; i < ss_store_topic_count(s->store); i++)
        nparts += (size_t)ss_topic_partitions(ss_store_topic_at(s->store, i));
    sl_log(SL_LOG_INFO, "SS-RECOVERED",
           "data=%s topics=%zu partitions=%zu ms=%.1f", s->data_dir,
           ss_store_topic_count(s->store), nparts,
           (double)(sl_mono_ns() - t0) / 1e6);

    uv_loop_init(&s->loop);
    if (pthread_create(&s->sync_thread, NULL, sync_main, s) != 0) {
        sl_log(SL_LOG_ERROR, "SS-START", "cannot start the sync thread");
        goto out;
    }
    s->sync_started = 1;
    if (pthread_create(&s->reply_thread, NULL, reply_main, s) != 0) {
        sl_log(SL_LOG_ERROR, "SS-START", "cannot start the reply thread");
        goto out;
    }
    s->reply_started = 1;
    if ((rc = open_sockets(s, err, sizeof(err))) != 0) {
        sl_log(SL_LOG_ERROR, "SS-START", "%s", err);
        goto out;
    }
    s->nctx = (size_t)cfg->contexts;
    s->ctxs = calloc(s->nctx, sizeof(*s->ctxs));
    if (s->ctxs == NULL)
        goto out;
    for (size_t i = 0; i < s->nctx; i++) {
        ss_ctx *c = &s->ctxs[i];
        c->srv = s;
        if (nng_ctx_open(&c->ctx, s->rep) != 0 ||
            nng_aio_alloc(&c->aio, ctx_cb, c) != 0)
            goto out;
        c->state = CTX_RECV;
        nng_ctx_recv(c->ctx, c->aio);
    }
    uv_timer_init(&s->loop, &s->ckpt_timer);
    uv_timer_init(&s->loop, &s->retain_timer);
    uv_timer_init(&s->loop, &s->interval_timer);
    uv_timer_init(&s->loop, &s->stop_timer);
    uv_timer_init(&s->loop, &s->group_timer);
    s->ckpt_timer.data = s->retain_timer.data = s->interval_timer.data =
        s->stop_timer.data = s->group_timer.data = s;
    uv_timer_start(&s->group_timer, on_group_timer, 100, 100);
    uv_timer_start(&s->ckpt_timer, on_ckpt, (uint64_t)cfg->checkpoint_ms,
                   (uint64_t)cfg->checkpoint_ms);
    uv_timer_start(&s->retain_timer, on_retain,
                   (uint64_t)cfg->retention_check_ms,
                   (uint64_t)cfg->retention_check_ms);
    if (cfg->fsync_mode == SS_FSYNC_INTERVAL)
        uv_timer_start(&s->interval_timer, on_interval,
                       (uint64_t)cfg->fsync_interval_ms,
                       (uint64_t)cfg->fsync_interval_ms);
    uv_signal_init(&s->loop, &s->sigint);
    uv_signal_init(&s->loop, &s->sigterm);
    s->sigint.data = s->sigterm.data = s;
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    uv_signal_init(&s->loop, &s->sighup);
    s->sighup.data = s;
    uv_signal_start(&s->sighup, on_sighup, SIGHUP);
    if (ss__metrics_start(s, err, sizeof(err)) != 0) {
        sl_log(SL_LOG_ERROR, "SS-START", "%s", err);
        goto out;
    }
    sl_log(SL_LOG_INFO, "SS-READY", "version=%s data=%s fsync=%s",
           SLUICE_VERSION, s->data_dir, cfg->fsync);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    s->exit_code = 0;
out:
    /* Stop the tier threads first: they may answer requests. */
    ss_tier_svc_stop(s->tier);
    for (size_t i = 0; s->ctxs && i < s->nctx; i++) {
        if (s->ctxs[i].aio)
            nng_aio_stop(s->ctxs[i].aio);
    }
    nng_close(s->rep);
    if (s->sync_started) {
        /* No request can arrive now; let the sync thread finish the round
         * it may be in and stop. */
        pthread_mutex_lock(&s->mu);
        s->sync_stop = 1;
        pthread_cond_signal(&s->sync_cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->sync_thread, NULL);
    }
    if (s->reply_started) {
        pthread_mutex_lock(&s->rmu);
        s->reply_stop = 1;
        pthread_cond_signal(&s->rcv);
        pthread_mutex_unlock(&s->rmu);
        pthread_join(s->reply_thread, NULL);
    }
    free(s->cur.jobs);
    nng_close(s->pub);
    /* Contexts are idle now; free what they still hold. */
    for (size_t i = 0; s->ctxs && i < s->nctx; i++) {
        ss_ctx *c = &s->ctxs[i];
        if (c->req)
            nng_msg_free(c->req);
        for (size_t k = 0; k < c->nwaits; k++)
            ss_log_rele(c->waits[k].log);
        free(c->waits);
        free(c->res);
        free(c->res_log);
        sl_buf_fini(&c->pre);
        if (c->aio)
            nng_aio_free(c->aio);
    }
    free(s->ctxs);
    for (size_t i = 0; i < s->ntouched; i++)
        ss_log_rele(s->touched[i].log);
    free(s->touched);
    ss_tier_svc_free(s->tier);
    ss__coord_close(s);
    if (ss_store_close(s->store) != 0)
        s->exit_code = 1;
    ss__metrics_stop(s);
    uv_walk(&s->loop, close_walk, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_loop_close(&s->loop);
    sl_metrics_free(s->metrics);
    sl_buf_fini(&s->out);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    sl_log(SL_LOG_INFO, "SS-STOPPED",
           "exit=%d requests=%" PRIu64 " malformed=%" PRIu64 " appends=%" PRIu64
           " append_errors=%" PRIu64,
           s->exit_code, s->n_requests, s->n_malformed, s->n_appends,
           s->n_append_errors);
    return s->exit_code;
}
