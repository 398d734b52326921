/*
 * bridge.c — `sluice-bench bridge`: N MQTT publishers at QoS 1 into MQTT
 * topics that the broker maps to one Kafka topic, and one Kafka consumer
 * (librdkafka) reading that topic: MQTT in, Kafka out, end to end.
 *
 * The broker side needs a mapping rule that sends `sluice-bench/#` (the
 * MQTT topics used here: sluice-bench/<run id>/<publisher>) to --topic,
 * e.g. sluice-mqtt --set mqtt.log.rules=sluice-bench/#=bench-bridge
 * (docs/bridging.md).  The consumer is given every partition of --topic
 * with rd_kafka_assign() at its high watermarks read before the run.
 *
 * Every payload starts with a 24-byte header, little-endian:
 *
 *   0   u64  CLOCK_MONOTONIC ns just before mosquitto_publish()
 *   8   u64  sequence number 0..K-1 of its publisher; bit 63: warm-up
 *   16  u32  run id (random per run): records of other runs are ignored
 *   20  u32  publisher index 0..N-1
 *   24  ...  filler up to --size
 *
 * Before the clock starts each publisher sends warm-up messages (again
 * every 500 ms) until the consumer has seen one from every publisher.
 * Each publisher keeps at most --inflight messages unacknowledged.
 *
 * Reported: published msgs/s (first send to last PUBACK), end-to-end
 * msgs/s (first send to the last record consumed), end-to-end latency
 * (publish() call to the consumer's poll returning the record) p50, p99,
 * p99.9, max; lost and duplicated records.  Exit 1 when a client fails or
 * a message acknowledged by PUBACK never reaches the consumer.
 */
#include "bench_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BB_HDR    24
#define BB_WARMUP (UINT64_C(1) << 63)
#define BB_MAXP   256

typedef struct bb_opts {
    const char *host, *bootstrap, *topic;
    int port, pubs, inflight, json;
    uint64_t messages;
    size_t size;
    double drain_s;
} bb_opts;

struct bb_run;

typedef struct bb_pub {
    struct bb_run *r;
    int idx;
    struct mosquitto *mosq;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic int connected;
    _Atomic int64_t inflight;
    _Atomic uint64_t acked, t_last_ack;
    char topic[96];
    uint8_t *buf;
    int fail;
} bb_pub;

typedef struct bb_run {
    const bb_opts *o;
    uint32_t run_id;
    bb_pub *pub;
    rd_kafka_t *cons;
    _Atomic int stop, go, fatal;
    _Atomic uint64_t got, t_last;
    uint64_t t0;
    /* consumer thread only */
    bench_hist e2e;
    uint64_t **seen;
    uint64_t dups, foreign;
    _Atomic uint8_t *warm_seen;
} bb_run;

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
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void
bb_usage(FILE *f)
{
    fprintf(f,
            "usage: sluice-bench bridge --host H --port P --bootstrap B\n"
            "         --topic T [--publishers N] [--messages K] [--size S]\n"
            "         [--inflight I] [--drain-timeout S] [--json]\n"
            "\n"
            "N MQTT publishers (default 4) send K messages each (default\n"
            "25000 of 100 B, S >= %d) at QoS 1 to sluice-bench/<run>/<n>,\n"
            "which the broker must map to Kafka topic T\n"
            "(sluice-mqtt --set mqtt.log.rules=sluice-bench/#=T); one\n"
            "librdkafka consumer reads T.  Reports publish and end-to-end\n"
            "msgs/s, end-to-end latency p50/p99/p99.9/max, lost and\n"
            "duplicated.  Exit 1 when a client fails or a message is lost.\n",
            BB_HDR);
}

static void
on_connect(struct mosquitto *m, void *arg, int rc)
{
    (void)m;
    bb_pub *p = arg;
    atomic_store(&p->connected, rc == 0 ? 1 : -1);
}

static void
on_publish(struct mosquitto *m, void *arg, int mid)
{
    (void)m;
    (void)mid;
    bb_pub *p = arg;
    atomic_fetch_add(&p->acked, 1);
    atomic_store(&p->t_last_ack, now_ns());
    pthread_mutex_lock(&p->mu);
    atomic_fetch_sub(&p->inflight, 1);
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static int
send_one(bb_pub *p, uint64_t seq)
{
    bb_run *r = p->r;
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->inflight) >= r->o->inflight &&
           !atomic_load(&r->fatal)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    atomic_fetch_add(&p->inflight, 1);
    pthread_mutex_unlock(&p->mu);
    put_le(p->buf, now_ns(), 8);
    put_le(p->buf + 8, seq, 8);
    int rc = mosquitto_publish(p->mosq, NULL, p->topic, (int)r->o->size, p->buf,
                               1, false);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "sluice-bench: publish: %s\n", mosquitto_strerror(rc));
        atomic_store(&r->fatal, 1);
        return -1;
    }
    return 0;
}

static void *
pub_main(void *arg)
{
    bb_pub *p = arg;
    bb_run *r = p->r;
    /* warm-up until the consumer has seen this publisher */
    uint64_t w = 0;
    while (!atomic_load(&r->warm_seen[p->idx]) && !atomic_load(&r->fatal)) {
        if (send_one(p, BB_WARMUP | w++) != 0)
            return NULL;
        for (int i = 0; i < 50 && !atomic_load(&r->warm_seen[p->idx]); i++)
            usleep(10000);
    }
    while (!atomic_load(&r->go) && !atomic_load(&r->fatal))
        usleep(1000);
    for (uint64_t i = 0; i < r->o->messages && !atomic_load(&r->fatal); i++)
        if (send_one(p, i) != 0)
            break;
    return NULL;
}

static void *
cons_main(void *arg)
{
    bb_run *r = arg;
    while (!atomic_load(&r->stop)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->cons, 100);
        if (m == NULL)
            continue;
        uint64_t t = now_ns();
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->len >= BB_HDR &&
            get_le((const uint8_t *)m->payload + 16, 4) == r->run_id) {
            const uint8_t *v = m->payload;
            uint64_t sent = get_le(v, 8), seq = get_le(v + 8, 8);
            uint32_t pi = (uint32_t)get_le(v + 20, 4);
            if (pi < (uint32_t)r->o->pubs) {
                if (seq & BB_WARMUP) {
                    atomic_store(&r->warm_seen[pi], 1);
                } else if (seq < r->o->messages) {
                    uint64_t *bm = r->seen[pi];
                    if (bm[seq / 64] & (UINT64_C(1) << (seq % 64))) {
                        r->dups++;
                    } else {
                        bm[seq / 64] |= UINT64_C(1) << (seq % 64);
                        bench_hist_add(&r->e2e, t - sent);
                        atomic_fetch_add(&r->got, 1);
                        atomic_store(&r->t_last, t);
                    }
                }
            }
        } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            r->foreign++;
        }
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

static int
make_consumer(bb_run *r)
{
    char err[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (rd_kafka_conf_set(c, "bootstrap.servers", r->o->bootstrap, err,
                          sizeof(err)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(c, "group.id", "sluice-bench-unused", err,
                          sizeof(err)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(c, "enable.auto.commit", "false", err, sizeof(err)) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(c, "fetch.wait.max.ms", "10", err, sizeof(err)) !=
            RD_KAFKA_CONF_OK) {
        fprintf(stderr, "sluice-bench: consumer config: %s\n", err);
        rd_kafka_conf_destroy(c);
        return -1;
    }
    r->cons = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
    if (r->cons == NULL) {
        rd_kafka_conf_destroy(c);
        fprintf(stderr, "sluice-bench: consumer: %s\n", err);
        return -1;
    }
    rd_kafka_poll_set_consumer(r->cons);
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(r->cons, r->o->topic, NULL);
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_UNKNOWN;
    for (int tries = 0; tries < 40; tries++) {
        e = rd_kafka_metadata(r->cons, 0, rkt, &md, 5000);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
            md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
            md->topics[0].partition_cnt > 0)
            break;
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            rd_kafka_metadata_destroy(md);
        md = NULL;
        usleep(250000);
    }
    rd_kafka_topic_destroy(rkt);
    if (md == NULL) {
        fprintf(stderr,
                "sluice-bench: topic %s not found at %s (is the mapping "
                "rule set and sluice-mqtt started?): %s\n",
                r->o->topic, r->o->bootstrap, rd_kafka_err2str(e));
        return -1;
    }
    int np = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(np);
    for (int p = 0; p < np; p++) {
        int64_t lo = 0, hi = -1;
        e = rd_kafka_query_watermark_offsets(r->cons, r->o->topic, p, &lo, &hi,
                                             5000);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "sluice-bench: offsets of %s [%d]: %s\n",
                    r->o->topic, p, rd_kafka_err2str(e));
            rd_kafka_topic_partition_list_destroy(tp);
            return -1;
        }
        rd_kafka_topic_partition_list_add(tp, r->o->topic, p)->offset = hi;
    }
    e = rd_kafka_assign(r->cons, tp);
    rd_kafka_topic_partition_list_destroy(tp);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "sluice-bench: assign: %s\n", rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

static double
ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

int
bench_bridge_main(int argc, char **argv)
{
    bb_opts o = {NULL, NULL, NULL, 0, 4, 100, 0, 25000, 100, 30.0};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            o.json = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            bb_usage(stdout);
            return 0;
        }
        if (v == NULL) {
            bb_usage(stderr);
            return 2;
        }
        i++;
        if (strcmp(a, "--host") == 0)
            o.host = v;
        else if (strcmp(a, "--port") == 0)
            o.port = atoi(v);
        else if (strcmp(a, "--bootstrap") == 0)
            o.bootstrap = v;
        else if (strcmp(a, "--topic") == 0)
            o.topic = v;
        else if (strcmp(a, "--publishers") == 0)
            o.pubs = atoi(v);
        else if (strcmp(a, "--messages") == 0)
            o.messages = strtoull(v, NULL, 10);
        else if (strcmp(a, "--size") == 0)
            o.size = (size_t)strtoull(v, NULL, 10);
        else if (strcmp(a, "--inflight") == 0)
            o.inflight = atoi(v);
        else if (strcmp(a, "--drain-timeout") == 0)
            o.drain_s = atof(v);
        else {
            fprintf(stderr, "sluice-bench bridge: unknown option %s\n", a);
            bb_usage(stderr);
            return 2;
        }
    }
    if (o.host == NULL || o.port <= 0 || o.bootstrap == NULL ||
        o.topic == NULL || o.pubs < 1 || o.pubs > BB_MAXP || o.messages < 1 ||
        o.size < BB_HDR || o.size > (64u << 20) || o.inflight < 1) {
        bb_usage(stderr);
        return 2;
    }
    bb_run r;
    memset(&r, 0, sizeof(r));
    r.o = &o;
    srand((unsigned)(now_ns() ^ (uint64_t)getpid()));
    r.run_id = (uint32_t)rand() ^ ((uint32_t)rand() << 16);
    bench_hist_init(&r.e2e);
    r.pub = calloc((size_t)o.pubs, sizeof(*r.pub));
    r.seen = calloc((size_t)o.pubs, sizeof(*r.seen));
    r.warm_seen = calloc((size_t)o.pubs, sizeof(*r.warm_seen));
    if (r.pub == NULL || r.seen == NULL || r.warm_seen == NULL)
        return 1;
    for (int i = 0; i < o.pubs; i++)
        if ((r.seen[i] = calloc((o.messages + 63) / 64, 8)) == NULL)
            return 1;
    int status = 1;
    pthread_t cth;
    int cstarted = 0, nth = 0;
    mosquitto_lib_init();
    if (make_consumer(&r) != 0)
        goto out;
    if (pthread_create(&cth, NULL, cons_main, &r) != 0)
        goto out;
    cstarted = 1;
    for (int i = 0; i < o.pubs; i++) {
        bb_pub *p = &r.pub[i];
        p->r = &r;
        p->idx = i;
        pthread_mutex_init(&p->mu, NULL);
        pthread_cond_init(&p->cv, NULL);
        snprintf(p->topic, sizeof(p->topic), "sluice-bench/%08x/%d", r.run_id,
                 i);
        p->buf = calloc(1, o.size);
        char cid[64];
        snprintf(cid, sizeof(cid), "sluice-bench-bridge-%08x-%d", r.run_id, i);
        p->mosq = mosquitto_new(cid, true, p);
        if (p->buf == NULL || p->mosq == NULL)
            goto out;
        put_le(p->buf + 16, r.run_id, 4);
        put_le(p->buf + 20, (uint64_t)i, 4);
        mosquitto_connect_callback_set(p->mosq, on_connect);
        mosquitto_publish_callback_set(p->mosq, on_publish);
        mosquitto_max_inflight_messages_set(p->mosq, 0);
        int rc = mosquitto_connect(p->mosq, o.host, o.port, 60);
        if (rc == MOSQ_ERR_SUCCESS)
            rc = mosquitto_loop_start(p->mosq);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "sluice-bench: connect %s:%d: %s\n", o.host, o.port,
                    mosquitto_strerror(rc));
            goto out;
        }
    }
    for (int i = 0; i < o.pubs; i++) {
        uint64_t dl = now_ns() + UINT64_C(10000000000);
        while (atomic_load(&r.pub[i].connected) == 0 && now_ns() < dl)
            usleep(1000);
        if (atomic_load(&r.pub[i].connected) != 1) {
            fprintf(stderr, "sluice-bench: MQTT CONNECT refused or timed "
                            "out\n");
            goto out;
        }
    }
    for (int i = 0; i < o.pubs; i++)
        if (pthread_create(&r.pub[i].th, NULL, pub_main, &r.pub[i]) != 0)
            goto out;
        else
            nth++;
    /* Warm-up done when the consumer saw every publisher. */
    uint64_t dl = now_ns() + UINT64_C(30000000000);
    for (int i = 0; i < o.pubs; i++)
        while (!atomic_load(&r.warm_seen[i]) && now_ns() < dl)
            usleep(1000);
    for (int i = 0; i < o.pubs; i++)
        if (!atomic_load(&r.warm_seen[i])) {
            fprintf(stderr,
                    "sluice-bench: no warm-up message reached the Kafka "
                    "consumer in 30 s (is sluice-bench/# mapped to %s?)\n",
                    o.topic);
            atomic_store(&r.fatal, 1);
        }
    for (int i = 0; i < o.pubs; i++) {
        /* warm-up acks are not counted */
        while (atomic_load(&r.pub[i].inflight) > 0 && !atomic_load(&r.fatal))
            usleep(1000);
        atomic_store(&r.pub[i].acked, 0);
    }
    r.t0 = now_ns();
    atomic_store(&r.go, 1);
    for (int i = 0; i < o.pubs; i++)
        pthread_join(r.pub[i].th, NULL);
    nth = 0;
    uint64_t total = o.messages * (uint64_t)o.pubs;
    uint64_t last = atomic_load(&r.got), lastp = now_ns();
    while (atomic_load(&r.got) < total && !atomic_load(&r.fatal)) {
        usleep(10000);
        uint64_t g = atomic_load(&r.got);
        if (g != last) {
            last = g;
            lastp = now_ns();
        } else if ((double)(now_ns() - lastp) / 1e9 > o.drain_s) {
            break;
        }
    }
    /* wait for the last PUBACKs too */
    for (int i = 0; i < o.pubs; i++) {
        uint64_t d2 = now_ns() + UINT64_C(10000000000);
        while (atomic_load(&r.pub[i].inflight) > 0 && now_ns() < d2)
            usleep(1000);
    }
    atomic_store(&r.stop, 1);
    pthread_join(cth, NULL);
    cstarted = 0;
    uint64_t acked = 0, t_ack = 0;
    for (int i = 0; i < o.pubs; i++) {
        acked += atomic_load(&r.pub[i].acked);
        t_ack = t_ack > atomic_load(&r.pub[i].t_last_ack)
                    ? t_ack
                    : atomic_load(&r.pub[i].t_last_ack);
    }
    uint64_t got = atomic_load(&r.got);
    uint64_t lost = total - got;
    double pub_s = t_ack > r.t0 ? (double)(t_ack - r.t0) / 1e9 : 0;
    double e2e_s = atomic_load(&r.t_last) > r.t0
                       ? (double)(atomic_load(&r.t_last) - r.t0) / 1e9
                       : 0;
    double pub_rate = pub_s > 0 ? (double)acked / pub_s : 0;
    double e2e_rate = e2e_s > 0 ? (double)got / e2e_s : 0;
    FILE *hf = o.json ? stderr : stdout;
    fprintf(hf,
            "bridge: %d MQTT publishers x %" PRIu64
            " msgs of %zu B at QoS 1 -> Kafka topic %s\n"
            "  published:  %" PRIu64 " acked, %.0f msgs/s\n"
            "  end to end: %" PRIu64 " consumed, %.0f msgs/s\n"
            "  latency (publish -> Kafka consumer) ms: p50 %.2f  p99 %.2f  "
            "p99.9 %.2f  max %.2f\n"
            "  lost %" PRIu64 "  duplicated %" PRIu64 "\n",
            o.pubs, o.messages, o.size, o.topic, acked, pub_rate, got, e2e_rate,
            ms(bench_hist_quantile(&r.e2e, 0.5)),
            ms(bench_hist_quantile(&r.e2e, 0.99)),
            ms(bench_hist_quantile(&r.e2e, 0.999)), ms(r.e2e.max), lost,
            r.dups);
    if (o.json)
        printf(
            "{\"scenario\":\"bridge\",\"publishers\":%d,\"messages\":%" PRIu64
            ",\"size\":%zu,\"acked\":%" PRIu64 ",\"consumed\":%" PRIu64
            ",\"lost\":%" PRIu64 ",\"duplicated\":%" PRIu64
            ",\"publish_msgs_s\":%.0f,\"e2e_msgs_s\":%.0f,"
            "\"e2e_p50_ms\":%.3f,\"e2e_p99_ms\":%.3f,\"e2e_p999_ms\":%.3f,"
            "\"e2e_max_ms\":%.3f}\n",
            o.pubs, o.messages, o.size, acked, got, lost, r.dups, pub_rate,
            e2e_rate, ms(bench_hist_quantile(&r.e2e, 0.5)),
            ms(bench_hist_quantile(&r.e2e, 0.99)),
            ms(bench_hist_quantile(&r.e2e, 0.999)), ms(r.e2e.max));
    status = atomic_load(&r.fatal) || lost > 0 ? 1 : 0;
out:
    atomic_store(&r.fatal, 1);
    for (int i = 0; i < nth; i++)
        pthread_join(r.pub[i].th, NULL);
    if (cstarted) {
        atomic_store(&r.fatal, 1);
        atomic_store(&r.stop, 1);
        pthread_join(cth, NULL);
    }
    for (int i = 0; i < o.pubs; i++) {
        if (r.pub[i].mosq != NULL) {
            mosquitto_disconnect(r.pub[i].mosq);
            mosquitto_loop_stop(r.pub[i].mosq, false);
            mosquitto_destroy(r.pub[i].mosq);
        }
        free(r.pub[i].buf);
        free(r.seen[i]);
    }
    if (r.cons != NULL) {
        rd_kafka_consumer_close(r.cons);
        rd_kafka_destroy(r.cons);
    }
    free(r.pub);
    free(r.seen);
    free((void *)r.warm_seen);
    mosquitto_lib_cleanup();
    return status;
}
