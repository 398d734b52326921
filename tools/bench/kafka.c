/*
 * kafka.c — `sluice-bench kafka`: one producer and one consumer against a
 * Kafka-protocol broker, found by its address alone.
 *
 * Nothing here knows about Sluice: the same run works against sluice-kafka
 * or any Kafka-compatible broker.  The topic is made with CreateTopics (an
 * existing one is used as it is), and the consumer is given every
 * partition with rd_kafka_assign() at the high watermarks read before the
 * run, so no consumer-group API is needed (sluice-kafka has none yet);
 * librdkafka still wants a group.id to hand out a consumer, but assign()
 * without commits sends no group request that matters.
 *
 * Every value starts with a 20-byte header, little-endian:
 *
 *   0   u64  CLOCK_MONOTONIC ns when produce() was called
 *   8   u64  sequence number 0..N-1; bit 63 set marks a warm-up message
 *   16  u32  run id (random per run), so records of other runs or other
 *            producers on the same topic are told apart and ignored
 *   20  ...  filler up to --size
 *
 * Producer and consumer share the process, hence the clock.  One warm-up
 * message per partition goes first and must come back before the clock
 * starts, so the figures leave out connection set-up and the consumer's
 * first fetch.  Then N messages are produced round-robin over the
 * partitions, as fast as the client accepts them or paced at --rate.
 *
 * Reported: produced msgs/s and MB/s of values (first send to last
 * delivery report), consumed msgs/s (first send to last record
 * consumed), end-to-end latency (produce() call to the consumer's poll
 * returning the record) and delivery-report latency (produce() call to the
 * delivery callback), and messages lost or duplicated, from a bitmap of the
 * sequence numbers seen.  Latencies go to bench_hist (log-linear buckets,
 * within 0.8 %, fixed size), never to a per-message array.
 *
 * Exit status: 0 when the run completed, 1 when the broker cannot be
 * reached, a delivery failed, the client reported a fatal error, or
 * (acks 1 or all) an acknowledged message never reached the consumer; 2
 * for a bad command line.
 */
#include "bench_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KB_HDR    20
#define KB_WARMUP (UINT64_C(1) << 63)
#define KB_MAXP   64 /* -X properties */

typedef struct kb_opts {
    const char *bootstrap;
    const char *topic;
    uint64_t messages;
    size_t size;
    const char *acks;
    const char *linger_ms;   /* NULL: the client's default */
    const char *batch_size;  /* NULL: the client's default */
    const char *compression; /* NULL: the client's default (none) */
    double rate;             /* messages/s; 0: as fast as possible */
    int partitions;          /* 0: 1 for a new topic, else what it has */
    double drain_s;
    const char *props[KB_MAXP]; /* key=value for both clients */
    int nprops;
    int json;
} kb_opts;

typedef struct kb_run {
    const kb_opts *o;
    uint32_t run_id;
    int nparts;

    /* Producer side: touched only by the main thread (delivery reports
     * are served by rd_kafka_poll() on it). */
    bench_hist dr;
    uint64_t delivered, dr_errors, warm_delivered;
    char dr_err[256];
    uint64_t t_first_send, t_last_send, t_last_dr;

    /* Consumer side: touched only by the consumer thread until joined. */
    bench_hist e2e;
    uint64_t *seen; /* bitmap of sequence numbers */
    uint64_t distinct, dups, foreign, cons_errors;
    char cons_err[256];
    uint64_t t_last_consume;

    /* Shared. */
    _Atomic uint64_t progress; /* distinct, published */
    _Atomic uint64_t warm_seen;
    _Atomic int stop;
    _Atomic int fatal;
    pthread_mutex_t mu; /* fatal_msg */
    char fatal_msg[512];
} kb_run;

static void
kb_usage(FILE *f)
{
    fprintf(
        f,
        "usage: sluice-bench kafka --bootstrap HOST:PORT [--topic T]\n"
        "         [--messages N] [--size S] [--acks 0|1|all] [--linger-ms X]\n"
        "         [--batch-size B] [--rate MSGS_PER_S] [--partitions P]\n"
        "         [--compression none|gzip|snappy|lz4|zstd]\n"
        "         [--drain-timeout S] [-X KEY=VALUE]... [--json]\n"
        "\n"
        "One librdkafka producer and one consumer (assign(), no group) on\n"
        "topic T (default sluice-bench, created with P partitions if\n"
        "missing).  Produces N values of S bytes (default 1000000 x 100,\n"
        "S >= %d) round-robin over the partitions, as fast as possible or\n"
        "at --rate, and reports produce and consume throughput, end-to-end\n"
        "and delivery-report latency, lost and duplicated messages.\n"
        "Options not given keep librdkafka's defaults; -X sets any\n"
        "librdkafka property on both clients, after the options above.\n"
        "--json: one JSON line on stdout, the human-readable lines on\n"
        "stderr.  Exit 1 when the broker is unreachable, a delivery fails,\n"
        "or an acknowledged message is lost.\n",
        KB_HDR);
}

static uint64_t
now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void
set_fatal(kb_run *r, const char *who, const char *msg)
{
    pthread_mutex_lock(&r->mu);
    if (!atomic_load(&r->fatal))
        snprintf(r->fatal_msg, sizeof(r->fatal_msg), "%s: %s", who, msg);
    atomic_store(&r->fatal, 1);
    pthread_mutex_unlock(&r->mu);
}

/*
 * Errors the clients raise outside any one message.  Most are transient
 * (librdkafka reconnects and retries by itself) and are only printed; a
 * fatal error, or every broker connection down, ends the run: a benchmark
 * that waits out reconnect back-off measures nothing.
 */
static void
on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    kb_run *r = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[256];
        rd_kafka_fatal_error(rk, buf, sizeof(buf));
        set_fatal(r, rd_kafka_name(rk), buf);
    } else if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        set_fatal(r, rd_kafka_name(rk), reason);
    } else if (err != RD_KAFKA_RESP_ERR__TRANSPORT &&
               err != RD_KAFKA_RESP_ERR__RESOLVE) {
        /* librdkafka's own log has already said those two. */
        fprintf(stderr, "sluice-bench: %s: %s: %s\n", rd_kafka_name(rk),
                rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
    }
}

/* Delivery reports, served by rd_kafka_poll() on the main thread. */
static void
on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    kb_run *r = opaque;
    uint64_t now = now_ns();
    (void)rk;
    if (m->err) {
        if (r->dr_errors++ == 0)
            snprintf(r->dr_err, sizeof(r->dr_err), "partition %d: %s",
                     (int)m->partition, rd_kafka_err2str(m->err));
        return;
    }
    if (m->len < KB_HDR)
        return;
    const uint8_t *p = m->payload;
    if (get_le(p + 8, 8) & KB_WARMUP) {
        r->warm_delivered++;
        return;
    }
    r->delivered++;
    r->t_last_dr = now;
    uint64_t t = get_le(p, 8);
    bench_hist_add(&r->dr, now > t ? now - t : 0);
}

static void
consume_one(kb_run *r, const rd_kafka_message_t *m, uint64_t now)
{
    if (m->err) {
        /* Partition EOF is off by default; anything else is counted. */
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            return;
        if (r->cons_errors++ == 0)
            snprintf(r->cons_err, sizeof(r->cons_err), "%s",
                     rd_kafka_message_errstr(m));
        fprintf(stderr, "sluice-bench: consumer: %s\n",
                rd_kafka_message_errstr(m));
        return;
    }
    const uint8_t *p = m->payload;
    if (m->len < KB_HDR || p == NULL ||
        (uint32_t)get_le(p + 16, 4) != r->run_id) {
        r->foreign++;
        return;
    }
    uint64_t seq = get_le(p + 8, 8);
    if (seq & KB_WARMUP) {
        atomic_fetch_add(&r->warm_seen, 1);
        return;
    }
    if (seq >= r->o->messages) {
        r->foreign++;
        return;
    }
    uint64_t bit = UINT64_C(1) << (seq & 63);
    if (r->seen[seq >> 6] & bit) {
        r->dups++;
        return;
    }
    r->seen[seq >> 6] |= bit;
    r->distinct++;
    r->t_last_consume = now;
    uint64_t t = get_le(p, 8);
    bench_hist_add(&r->e2e, now > t ? now - t : 0);
    atomic_store(&r->progress, r->distinct);
}

typedef struct kb_consumer {
    kb_run *r;
    rd_kafka_t *rk;
} kb_consumer;

static void *
consumer_main(void *arg)
{
    kb_consumer *c = arg;
    while (!atomic_load(&c->r->stop)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 100);
        if (m == NULL)
            continue;
        consume_one(c->r, m, now_ns());
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

/* A configuration with the settings both clients share; NULL after
 * printing why. */
static rd_kafka_conf_t *
base_conf(kb_run *r, const char *client_id)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_opaque(conf, r);
    rd_kafka_conf_set_error_cb(conf, on_error);
    if (rd_kafka_conf_set(conf, "bootstrap.servers", r->o->bootstrap, err,
                          sizeof(err)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "client.id", client_id, err, sizeof(err)) !=
            RD_KAFKA_CONF_OK) {
        fprintf(stderr, "sluice-bench: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

typedef struct kb_kv {
    const char *key, *value; /* value NULL: leave the client's default */
} kb_kv;

/* Set the pairs kv[0..n), then the -X properties. */
static int
conf_apply(rd_kafka_conf_t *conf, const kb_opts *o, const kb_kv *kv, int n)
{
    char err[512];
    for (int i = 0; i < n; i++) {
        if (kv[i].value == NULL)
            continue;
        if (rd_kafka_conf_set(conf, kv[i].key, kv[i].value, err, sizeof(err)) !=
            RD_KAFKA_CONF_OK) {
            fprintf(stderr, "sluice-bench: %s=%s: %s\n", kv[i].key, kv[i].value,
                    err);
            return -1;
        }
    }
    for (int i = 0; i < o->nprops; i++) {
        char key[256];
        const char *eq = strchr(o->props[i], '=');
        size_t kn = eq ? (size_t)(eq - o->props[i]) : 0;
        if (eq == NULL || kn == 0 || kn >= sizeof(key)) {
            fprintf(stderr, "sluice-bench: -X %s: want KEY=VALUE\n",
                    o->props[i]);
            return -1;
        }
        memcpy(key, o->props[i], kn);
        key[kn] = '\0';
        if (rd_kafka_conf_set(conf, key, eq + 1, err, sizeof(err)) !=
            RD_KAFKA_CONF_OK) {
            fprintf(stderr, "sluice-bench: -X %s: %s\n", o->props[i], err);
            return -1;
        }
    }
    return 0;
}

/*
 * Make the topic if it is missing (CreateTopics, replication factor -1:
 * the broker's default), then wait until its metadata lists every
 * partition with a leader.  Returns the partition count, or -1.
 */
static int
ensure_topic(rd_kafka_t *rk, const kb_opts *o)
{
    char err[512];
    int want = o->partitions > 0 ? o->partitions : 1;
    rd_kafka_NewTopic_t *nt =
        rd_kafka_NewTopic_new(o->topic, want, -1, err, sizeof(err));
    if (nt == NULL) {
        fprintf(stderr, "sluice-bench: topic %s: %s\n", o->topic, err);
        return -1;
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *ao =
        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(ao, 10000, err, sizeof(err));
    rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
    if (ev == NULL) {
        fprintf(stderr, "sluice-bench: CreateTopics %s: no answer in 20 s\n",
                o->topic);
    } else if (rd_kafka_event_error(ev)) {
        /* Older brokers lack CreateTopics; auto-creation may still work. */
        fprintf(stderr, "sluice-bench: CreateTopics %s: %s (going on)\n",
                o->topic, rd_kafka_event_error_string(ev));
    } else {
        size_t n = 0;
        const rd_kafka_topic_result_t **tr =
            rd_kafka_CreateTopics_result_topics(
                rd_kafka_event_CreateTopics_result(ev), &n);
        for (size_t i = 0; i < n; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
            if (e != RD_KAFKA_RESP_ERR_NO_ERROR &&
                e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                fprintf(stderr,
                        "sluice-bench: CreateTopics %s: %s (going on)\n",
                        o->topic, rd_kafka_err2str(e));
        }
    }
    if (ev != NULL)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);

    /* A new topic's metadata can lag the CreateTopics answer. */
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    int nparts = -1;
    const char *why = "no metadata";
    uint64_t deadline = now_ns() + 20 * UINT64_C(1000000000);
    while (nparts < 0 && now_ns() < deadline) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            why = rd_kafka_err2str(e);
        } else if (md->topic_cnt != 1 || md->topics[0].err) {
            why = md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err)
                                     : "topic not in metadata";
        } else {
            const struct rd_kafka_metadata_topic *t = &md->topics[0];
            int ok = t->partition_cnt > 0;
            for (int i = 0; i < t->partition_cnt; i++)
                if (t->partitions[i].err || t->partitions[i].leader < 0)
                    ok = 0;
            if (ok)
                nparts = t->partition_cnt;
            else
                why = "partitions without a leader";
        }
        if (md != NULL)
            rd_kafka_metadata_destroy(md);
        if (nparts < 0)
            usleep(200000);
    }
    rd_kafka_topic_destroy(rkt);
    if (nparts < 0) {
        fprintf(stderr, "sluice-bench: topic %s: %s\n", o->topic, why);
        return -1;
    }
    if (o->partitions > 0 && nparts != o->partitions)
        fprintf(stderr,
                "sluice-bench: topic %s exists with %d partitions; using "
                "all %d\n",
                o->topic, nparts, nparts);
    return nparts;
}

/* Produce one message, waiting while the client's queue is full. */
static int
produce(kb_run *r, rd_kafka_t *rk, rd_kafka_topic_t *rkt, int part,
        uint8_t *buf, uint64_t seq)
{
    for (;;) {
        uint64_t t = now_ns();
        put_le(buf, t, 8);
        put_le(buf + 8, seq, 8);
        if (rd_kafka_produce(rkt, part, RD_KAFKA_MSG_F_COPY, buf, r->o->size,
                             NULL, 0, NULL) == 0) {
            if (r->t_first_send == 0 && !(seq & KB_WARMUP))
                r->t_first_send = t;
            return 0;
        }
        rd_kafka_resp_err_t e = rd_kafka_last_error();
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            set_fatal(r, "produce", rd_kafka_err2str(e));
            return -1;
        }
        rd_kafka_poll(rk, 1); /* serve delivery reports to make room */
        if (atomic_load(&r->fatal))
            return -1;
    }
}

/* Serve delivery reports until none is outstanding; 0, or -1 on a fatal
 * error or after timeout_ms. */
static int
drain_producer(kb_run *r, rd_kafka_t *rk, int timeout_ms)
{
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
    while (rd_kafka_outq_len(rk) > 0) {
        if (atomic_load(&r->fatal) || now_ns() > deadline)
            return -1;
        rd_kafka_flush(rk, 100);
    }
    return 0;
}

static void
json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static double
us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

static void
report(kb_run *r, rd_kafka_conf_t *pconf)
{
    const kb_opts *o = r->o;
    char acks[32] = "?", linger[32] = "?", batch[32] = "?", comp[32] = "?";
    size_t n;
    n = sizeof(acks);
    rd_kafka_conf_get(pconf, "acks", acks, &n);
    n = sizeof(linger);
    rd_kafka_conf_get(pconf, "linger.ms", linger, &n);
    n = sizeof(batch);
    rd_kafka_conf_get(pconf, "batch.size", batch, &n);
    n = sizeof(comp);
    rd_kafka_conf_get(pconf, "compression.type", comp, &n);

    double prod_s = (double)(r->t_last_dr - r->t_first_send) / 1e9;
    double send_s = (double)(r->t_last_send - r->t_first_send) / 1e9;
    double cons_s = (double)(r->t_last_consume - r->t_first_send) / 1e9;
    double prod_mps =
        r->delivered && prod_s > 0 ? (double)r->delivered / prod_s : 0;
    double prod_mbs = prod_mps * (double)o->size / 1e6;
    double send_mps = send_s > 0 ? (double)o->messages / send_s : 0;
    double cons_mps =
        r->distinct && cons_s > 0 ? (double)r->distinct / cons_s : 0;
    uint64_t lost = o->messages - r->distinct;
    const bench_hist *e = &r->e2e, *d = &r->dr;

    FILE *f = o->json ? stderr : stdout;
    fprintf(f,
            "kafka %s topic %s, %d partition(s): %" PRIu64
            " x %zu B, acks=%s linger.ms=%s batch.size=%s "
            "compression.type=%s, rate %s\n",
            o->bootstrap, o->topic, r->nparts, o->messages, o->size, acks,
            linger, batch, comp, o->rate > 0 ? "paced" : "max");
    fprintf(f,
            "produced  %" PRIu64 " msgs in %.3f s: %.0f msgs/s, %.1f MB/s "
            "(first send to last delivery report); sends %.0f msgs/s\n",
            r->delivered, prod_s, prod_mps, prod_mbs, send_mps);
    fprintf(f,
            "consumed  %" PRIu64 " msgs: %.0f msgs/s (first send to last "
            "record consumed)\n",
            r->distinct, cons_mps);
    fprintf(f,
            "e2e latency us:      p50 %.0f  p99 %.0f  p99.9 %.0f  max %.0f\n",
            us(bench_hist_quantile(e, 0.5)), us(bench_hist_quantile(e, 0.99)),
            us(bench_hist_quantile(e, 0.999)), us(e->n ? e->max : 0));
    fprintf(f,
            "delivery report us:  p50 %.0f  p99 %.0f  p99.9 %.0f  max %.0f\n",
            us(bench_hist_quantile(d, 0.5)), us(bench_hist_quantile(d, 0.99)),
            us(bench_hist_quantile(d, 0.999)), us(d->n ? d->max : 0));
    fprintf(f,
            "lost %" PRIu64 "  duplicated %" PRIu64 "  delivery errors %" PRIu64
            "  consumer errors %" PRIu64 "  foreign %" PRIu64 "\n",
            lost, r->dups, r->dr_errors, r->cons_errors, r->foreign);
    fflush(f);
    if (!o->json)
        return;
    printf("{\"scenario\":\"kafka\",\"bootstrap\":");
    json_str(stdout, o->bootstrap);
    printf(",\"topic\":");
    json_str(stdout, o->topic);
    printf(",\"partitions\":%d,\"messages\":%" PRIu64 ",\"size\":%zu,"
           "\"acks\":",
           r->nparts, o->messages, o->size);
    json_str(stdout, acks);
    printf(",\"linger_ms\":");
    json_str(stdout, linger);
    printf(",\"batch_size\":");
    json_str(stdout, batch);
    printf(",\"compression\":");
    json_str(stdout, comp);
    printf(
        ",\"rate\":%.0f,\"produced_msgs_s\":%.0f,\"produced_mb_s\":%.2f,"
        "\"send_msgs_s\":%.0f,\"consumed_msgs_s\":%.0f,"
        "\"e2e_p50_us\":%.1f,\"e2e_p99_us\":%.1f,\"e2e_p999_us\":%.1f,"
        "\"e2e_max_us\":%.1f,\"dr_p50_us\":%.1f,\"dr_p99_us\":%.1f,"
        "\"dr_p999_us\":%.1f,\"dr_max_us\":%.1f,"
        "\"delivered\":%" PRIu64 ",\"consumed\":%" PRIu64 ",\"lost\":%" PRIu64
        ",\"duplicated\":%" PRIu64 ",\"delivery_errors\":%" PRIu64
        ",\"consumer_errors\":%" PRIu64 "}\n",
        o->rate, prod_mps, prod_mbs, send_mps, cons_mps,
        us(bench_hist_quantile(e, 0.5)), us(bench_hist_quantile(e, 0.99)),
        us(bench_hist_quantile(e, 0.999)), us(e->n ? e->max : 0),
        us(bench_hist_quantile(d, 0.5)), us(bench_hist_quantile(d, 0.99)),
        us(bench_hist_quantile(d, 0.999)), us(d->n ? d->max : 0), r->delivered,
        r->distinct, lost, r->dups, r->dr_errors, r->cons_errors);
    fflush(stdout);
}

static int
parse_opts(kb_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    o->topic = "sluice-bench";
    o->messages = 1000000;
    o->size = 100;
    o->drain_s = 10;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            o->json = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0) {
            kb_usage(stdout);
            return 1;
        }
        if (v == NULL) {
            fprintf(stderr, "sluice-bench: %s: missing value\n", a);
            return -1;
        }
        i++;
        char *end = NULL;
        if (strcmp(a, "--bootstrap") == 0) {
            o->bootstrap = v;
        } else if (strcmp(a, "--topic") == 0) {
            o->topic = v;
        } else if (strcmp(a, "--messages") == 0) {
            o->messages = strtoull(v, &end, 10);
        } else if (strcmp(a, "--size") == 0) {
            o->size = (size_t)strtoull(v, &end, 10);
        } else if (strcmp(a, "--acks") == 0) {
            o->acks = v;
        } else if (strcmp(a, "--linger-ms") == 0) {
            o->linger_ms = v;
        } else if (strcmp(a, "--batch-size") == 0) {
            o->batch_size = v;
        } else if (strcmp(a, "--compression") == 0) {
            o->compression = v;
        } else if (strcmp(a, "--rate") == 0) {
            o->rate = strtod(v, &end);
        } else if (strcmp(a, "--partitions") == 0) {
            o->partitions = (int)strtol(v, &end, 10);
        } else if (strcmp(a, "--drain-timeout") == 0) {
            o->drain_s = strtod(v, &end);
        } else if (strcmp(a, "-X") == 0) {
            if (o->nprops == KB_MAXP) {
                fprintf(stderr, "sluice-bench: at most %d -X\n", KB_MAXP);
                return -1;
            }
            o->props[o->nprops++] = v;
        } else {
            fprintf(stderr, "sluice-bench: unknown option %s\n", a);
            return -1;
        }
        if (end != NULL && (*end != '\0' || end == v)) {
            fprintf(stderr, "sluice-bench: %s %s: not a number\n", a, v);
            return -1;
        }
    }
    if (o->bootstrap == NULL) {
        fprintf(stderr, "sluice-bench: kafka needs --bootstrap HOST:PORT\n");
        return -1;
    }
    if (o->messages == 0 || o->size < KB_HDR || o->size > (64u << 20) ||
        o->rate < 0 || o->partitions < 0 || o->drain_s <= 0) {
        fprintf(stderr,
                "sluice-bench: want --messages >= 1, %d <= --size "
                "<= 64 MiB, --rate >= 0, --partitions >= 1\n",
                KB_HDR);
        return -1;
    }
    return 0;
}

int
bench_kafka_main(int argc, char **argv)
{
    kb_opts o;
    int rc = parse_opts(&o, argc, argv);
    if (rc != 0) {
        if (rc < 0)
            kb_usage(stderr);
        return rc < 0 ? 2 : 0;
    }

    kb_run *r = calloc(1, sizeof(*r));
    r->o = &o;
    r->run_id = (uint32_t)(now_ns() ^ ((uint64_t)getpid() << 16));
    bench_hist_init(&r->dr);
    bench_hist_init(&r->e2e);
    pthread_mutex_init(&r->mu, NULL);
    r->seen = calloc((size_t)((o.messages + 63) / 64), sizeof(uint64_t));
    uint8_t *buf = calloc(1, o.size);
    rd_kafka_t *prod = NULL, *cons = NULL;
    rd_kafka_topic_t *rkt = NULL;
    rd_kafka_conf_t *pconf_copy = NULL;
    pthread_t th;
    int started = 0, status = 1;
    char err[512];
    if (r->seen == NULL || buf == NULL) {
        fprintf(stderr, "sluice-bench: out of memory\n");
        goto out;
    }
    memset(buf + KB_HDR, 'x', o.size - KB_HDR);
    put_le(buf + 16, r->run_id, 4);

    /* Producer.  A message that cannot be delivered in 30 s fails the run
     * (librdkafka's default is 5 minutes of retries). */
    rd_kafka_conf_t *pconf = base_conf(r, "sluice-bench-producer");
    const kb_kv pkv[] = {
        {"message.timeout.ms", "30000"},     {"acks", o.acks},
        {"linger.ms", o.linger_ms},          {"batch.size", o.batch_size},
        {"compression.type", o.compression},
    };
    if (pconf == NULL || conf_apply(pconf, &o, pkv, 5) != 0) {
        if (pconf != NULL)
            rd_kafka_conf_destroy(pconf);
        status = 2;
        goto out;
    }
    rd_kafka_conf_set_dr_msg_cb(pconf, on_delivery);
    pconf_copy = rd_kafka_conf_dup(pconf);
    prod = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, err, sizeof(err));
    if (prod == NULL) {
        rd_kafka_conf_destroy(pconf);
        fprintf(stderr, "sluice-bench: producer: %s\n", err);
        goto out;
    }

    /* Reachable at all?  A broker-only Metadata request, retried for
     * 10 s, but given up as soon as the client finds every bootstrap
     * address down (on_error), which is one refused connect. */
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__TRANSPORT;
    for (int tries = 0; tries < 10 && e != RD_KAFKA_RESP_ERR_NO_ERROR;
         tries++) {
        e = rd_kafka_metadata(prod, 0, NULL, &md, 1000);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->broker_cnt == 0)
            e = RD_KAFKA_RESP_ERR__TRANSPORT;
        if (md != NULL)
            rd_kafka_metadata_destroy(md);
        md = NULL;
        rd_kafka_poll(prod, 0); /* on_error */
        if (atomic_load(&r->fatal))
            break;
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "sluice-bench: cannot reach a broker at %s: %s\n",
                o.bootstrap,
                atomic_load(&r->fatal) ? r->fatal_msg : rd_kafka_err2str(e));
        goto out;
    }
    r->nparts = ensure_topic(prod, &o);
    if (r->nparts < 0)
        goto out;
    rkt = rd_kafka_topic_new(prod, o.topic, NULL);

    /* Consumer: every partition from its current end. */
    rd_kafka_topic_partition_list_t *tp =
        rd_kafka_topic_partition_list_new(r->nparts);
    for (int p = 0; p < r->nparts; p++) {
        int64_t lo = 0, hi = -1;
        for (int tries = 0; tries < 20; tries++) {
            e = rd_kafka_query_watermark_offsets(prod, o.topic, p, &lo, &hi,
                                                 5000);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
                break;
            usleep(250000);
        }
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "sluice-bench: offsets of %s [%d]: %s\n", o.topic,
                    p, rd_kafka_err2str(e));
            rd_kafka_topic_partition_list_destroy(tp);
            goto out;
        }
        rd_kafka_topic_partition_list_add(tp, o.topic, p)->offset = hi;
    }
    rd_kafka_conf_t *cconf = base_conf(r, "sluice-bench-consumer");
    const kb_kv ckv[] = {
        {"group.id", "sluice-bench-unused"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
    };
    if (cconf == NULL || conf_apply(cconf, &o, ckv, 3) != 0) {
        if (cconf != NULL)
            rd_kafka_conf_destroy(cconf);
        rd_kafka_topic_partition_list_destroy(tp);
        status = 2;
        goto out;
    }
    cons = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, err, sizeof(err));
    if (cons == NULL) {
        rd_kafka_conf_destroy(cconf);
        rd_kafka_topic_partition_list_destroy(tp);
        fprintf(stderr, "sluice-bench: consumer: %s\n", err);
        goto out;
    }
    rd_kafka_poll_set_consumer(cons); /* errors come through its poll */
    e = rd_kafka_assign(cons, tp);
    rd_kafka_topic_partition_list_destroy(tp);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "sluice-bench: assign: %s\n", rd_kafka_err2str(e));
        goto out;
    }
    kb_consumer cs = {r, cons};
    if (pthread_create(&th, NULL, consumer_main, &cs) != 0) {
        fprintf(stderr, "sluice-bench: pthread_create failed\n");
        goto out;
    }
    started = 1;

    /* Warm-up: one message per partition, there and back. */
    for (int p = 0; p < r->nparts; p++)
        if (produce(r, prod, rkt, p, buf, KB_WARMUP | (uint64_t)p) != 0)
            goto fail;
    if (drain_producer(r, prod, 40000) != 0)
        goto fail;
    if (r->dr_errors > 0) {
        set_fatal(r, "warm-up delivery", r->dr_err);
        goto fail;
    }
    uint64_t deadline = now_ns() + 30 * UINT64_C(1000000000);
    while (atomic_load(&r->warm_seen) < (uint64_t)r->nparts) {
        if (atomic_load(&r->fatal))
            goto fail;
        if (now_ns() > deadline) {
            set_fatal(r, "consumer",
                      "the warm-up records did not arrive within 30 s");
            goto fail;
        }
        usleep(1000);
    }

    /* The run.  Paced sends wait until each one is due; a late wake-up
     * sends the overdue messages back to back, so the mean rate holds.
     * Whole milliseconds of the wait are spent in rd_kafka_poll(), which
     * returns as soon as a delivery report is there, so that at low rates
     * the report's latency is not the gap between two sends; the rest is
     * slept. */
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < o.messages; i++) {
        if (o.rate > 0) {
            uint64_t due = t0 + (uint64_t)((double)i * 1e9 / o.rate);
            for (uint64_t now = now_ns(); now < due; now = now_ns()) {
                int ms = (int)((due - now) / 1000000u);
                rd_kafka_poll(prod, ms);
                if (ms > 0)
                    continue;
                struct timespec ts = {(time_t)(due / 1000000000u),
                                      (long)(due % 1000000000u)};
                clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
            }
        }
        if (produce(r, prod, rkt, (int)(i % (uint64_t)r->nparts), buf, i) != 0)
            goto fail;
        rd_kafka_poll(prod, 0);
        if (atomic_load(&r->fatal))
            goto fail;
    }
    r->t_last_send = now_ns();
    if (drain_producer(r, prod, 40000) != 0) {
        if (!atomic_load(&r->fatal))
            set_fatal(r, "producer", "deliveries outstanding after 40 s");
        goto fail;
    }

    /* Let the consumer catch up; give up after drain_s without progress. */
    uint64_t last = atomic_load(&r->progress), t_last = now_ns();
    while (last < o.messages && !atomic_load(&r->fatal)) {
        usleep(2000);
        uint64_t cur = atomic_load(&r->progress);
        if (cur != last) {
            last = cur;
            t_last = now_ns();
        } else if (now_ns() - t_last > (uint64_t)(o.drain_s * 1e9)) {
            break;
        }
    }

fail:
    atomic_store(&r->stop, 1);
    pthread_join(th, NULL);
    started = 0;
    if (atomic_load(&r->fatal)) {
        fprintf(stderr, "sluice-bench: %s\n", r->fatal_msg);
        goto out;
    }
    report(r, pconf_copy);
    status = 0;
    if (r->dr_errors > 0) {
        fprintf(stderr,
                "sluice-bench: %" PRIu64 " deliveries failed; first: %s\n",
                r->dr_errors, r->dr_err);
        status = 1;
    }
    if (r->distinct < o.messages && r->delivered > 0 &&
        (o.acks == NULL || strcmp(o.acks, "0") != 0)) {
        fprintf(stderr,
                "sluice-bench: %" PRIu64 " acknowledged messages never "
                "reached the consumer\n",
                o.messages - r->distinct);
        status = 1;
    }

out:
    if (started) {
        atomic_store(&r->stop, 1);
        pthread_join(th, NULL);
    }
    if (cons != NULL) {
        rd_kafka_consumer_close(cons);
        rd_kafka_destroy(cons);
    }
    if (rkt != NULL)
        rd_kafka_topic_destroy(rkt);
    if (prod != NULL) {
        rd_kafka_purge(prod,
                       RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(prod, 0);
        rd_kafka_destroy(prod);
    }
    if (pconf_copy != NULL)
        rd_kafka_conf_destroy(pconf_copy);
    pthread_mutex_destroy(&r->mu);
    free(r->seen);
    free(r);
    free(buf);
    return status;
}
