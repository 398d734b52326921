/*
 * mqtt.c — `sluice-bench mqtt`: N publishers and M subscribers against an
 * MQTT broker, found by its address alone (libmosquitto clients).
 *
 * Nothing here knows about Sluice: the same run works against sluice-mqtt,
 * Mosquitto or any MQTT 3.1.1 / 5.0 broker, which is what
 * tools/bench/compare_mqtt.sh relies on.
 *
 * Every publisher and every subscriber is its own libmosquitto client with
 * its own network thread (mosquitto_loop_start); each publisher also has a
 * sending thread of its own.  Topics are `sluice-bench/<run id>/<t>` for
 * t in 0..T-1; every subscriber subscribes to all T (one SUBSCRIBE), and
 * publisher p sends its i-th message to topic (p + i) mod T.
 *
 * Every payload starts with a 24-byte header, little-endian:
 *
 *   0   u64  CLOCK_MONOTONIC ns just before mosquitto_publish()
 *   8   u64  sequence number 0..K-1 of its publisher; bit 63 set marks a
 *            warm-up message
 *   16  u32  run id (random per run): messages of other runs are ignored
 *   20  u32  publisher index 0..N-1
 *   24  ...  filler up to --size
 *
 * Publishers and subscribers share the process, hence the clock.  Before
 * the clock starts, each publisher sends one warm-up message per topic
 * (again every 500 ms) until every subscriber has seen all of them, so the
 * figures leave out connection set-up and subscription propagation.
 *
 * Flow control, the same for every broker: a publisher keeps at most
 * --inflight QoS 1/2 messages unacknowledged, and is never more than
 * --window / N messages ahead of the highest sequence number the slowest
 * subscriber has received from it (so a subscriber has at most about
 * --window messages coming, whatever N).  The second rule is what makes a
 * run measure what a broker sustains rather than how much it can queue or
 * drop: without it the client library queues without bound and the
 * latency measured is that queue, and Mosquitto drops messages, QoS 1
 * included, past max_queued_messages (1,000 by default) per subscriber.
 * It counts the highest sequence seen, not the number, so a lost message
 * does not stall it; when the last ones before a pause are lost, the
 * publisher goes on after 1 s without progress and counts a stall.
 * --rate paces each publisher instead (the window still applies).
 *
 * Reported: published msgs/s (first send to the last on_publish callback:
 * written to the socket for QoS 0, PUBACK for QoS 1, PUBCOMP for QoS 2),
 * received msgs/s summed over subscribers (first send to the last message
 * received), end-to-end latency (publish() call to the subscriber's
 * message callback) and, for QoS > 0, acknowledgement latency; lost and
 * duplicated messages per subscriber, from a bitmap of the sequence
 * numbers of each publisher.  Latencies go to bench_hist, one per client
 * thread, merged at the end.
 *
 * `--idle-connections C` instead opens C idle MQTT 3.1.1 connections on
 * non-blocking sockets (CONNECT, wait for CONNACK, then PINGREQ every half
 * keep alive), prints `idle: C connected` when all are up, holds them for
 * --hold seconds and closes them; the broker's memory is read by the
 * caller (compare_mqtt.sh reads /proc/PID/status).
 *
 * Exit status: 0 when the run completed; 1 when a client cannot connect or
 * is disconnected during the run, or (QoS >= 1) a subscriber did not get
 * every acknowledged message; 2 for a bad command line.
 */
#include "bench_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <mosquitto.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MB_HDR    24
#define MB_WARMUP (UINT64_C(1) << 63)
#define MB_MAXT   1024
#define MB_MAXC   1024 /* publishers, subscribers */

typedef struct mb_opts {
    const char *host;
    int port;
    int pubs, subs, qos, topics, version;
    uint64_t messages; /* per publisher */
    size_t size;
    double rate; /* per publisher, msgs/s; 0: as fast as flow control lets */
    int inflight, window;
    int idle;
    double hold_s, drain_s;
    int keepalive;
    int json;
} mb_opts;

struct mb_run;

typedef struct mb_pub {
    struct mb_run *r;
    int idx;
    struct mosquitto *mosq;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Atomic int waiting;
    _Atomic int connected; /* 1 ok, -1 refused */
    _Atomic int64_t inflight;
    _Atomic uint64_t acked; /* on_publish calls, reset at the start */
    _Atomic uint64_t t_last_ack;
    _Atomic uint64_t *sent_at; /* by mid: publish() time, for ack latency */
    bench_hist ack;            /* loop thread only */
    uint64_t window;           /* --window / N, at least 1 */
    uint64_t stalls;           /* sending thread only */
    uint8_t *buf;
    int fail;
} mb_pub;

typedef struct mb_sub {
    struct mb_run *r;
    int idx;
    struct mosquitto *mosq;
    _Atomic int connected;
    _Atomic int subscribed;
    /* Loop thread only, read after it stopped: */
    bench_hist e2e;
    uint64_t **seen; /* [publisher] bitmap of sequence numbers */
    uint64_t distinct, dups, foreign;
    /* Shared: */
    _Atomic uint64_t *maxseq1; /* [publisher] highest seq seen + 1 */
    _Atomic uint64_t *warm;    /* [publisher] bitmap of warm-up topics */
    _Atomic uint64_t progress;
    _Atomic uint64_t t_last;
} mb_sub;

typedef struct mb_run {
    const mb_opts *o;
    uint32_t run_id;
    char **topic;
    mb_pub *pub;
    mb_sub *sub;
    uint64_t t0;
    _Atomic int running; /* disconnects while set are failures */
    _Atomic int fatal;
    pthread_mutex_t mu;
    char fatal_msg[256];
} mb_run;

static void
mb_usage(FILE *f)
{
    fprintf(
        f,
        "usage: sluice-bench mqtt --host H --port P [--publishers N]\n"
        "         [--subscribers M] [--qos 0|1|2] [--size S] [--messages K]\n"
        "         [--topics T] [--rate R] [--version 311|5] [--inflight I]\n"
        "         [--window W] [--drain-timeout S] [--json]\n"
        "       sluice-bench mqtt --host H --port P --idle-connections C\n"
        "         [--hold S] [--keepalive S]\n"
        "\n"
        "N publishers send K messages each (default 1 x 100000 of 100 B,\n"
        "S >= %d) round-robin over T topics (default 1); M subscribers\n"
        "(default 1) subscribe to all of them.  Each publisher keeps at\n"
        "most I QoS>0 messages unacknowledged (default 100) and at most W/N\n"
        "(default W 500) ahead of its slowest subscriber; --rate paces each\n"
        "publisher at R msgs/s.  Reports publish and receive throughput,\n"
        "end-to-end latency p50/p99/p99.9/max, lost and duplicated.\n"
        "--idle-connections: open C idle connections, print 'idle: C\n"
        "connected', hold them S seconds (default 5), close.\n"
        "--json: one JSON line on stdout, the human-readable lines on\n"
        "stderr.  Exit 1 when a client cannot connect or is dropped, or\n"
        "(QoS >= 1) a message is lost.\n",
        MB_HDR);
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

/* The first fatal error wins; the run stops at its next check. */
static void set_fatal(mb_run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_fatal(mb_run *r, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&r->mu);
    if (!atomic_load(&r->fatal)) {
        va_start(ap, fmt);
        vsnprintf(r->fatal_msg, sizeof(r->fatal_msg), fmt, ap);
        va_end(ap);
    }
    atomic_store(&r->fatal, 1);
    pthread_mutex_unlock(&r->mu);
}

static void
hist_merge(bench_hist *dst, const bench_hist *src)
{
    for (int i = 0; i < BENCH_HIST_N; i++)
        dst->count[i] += src->count[i];
    dst->n += src->n;
    if (src->n && src->min < dst->min)
        dst->min = src->min;
    if (src->n && src->max > dst->max)
        dst->max = src->max;
}

/* Wake a publisher blocked on its window.  The publisher sets `waiting`
 * before it rechecks under the mutex, and we read it after our update, so
 * one of the two sees the other (both sequentially consistent). */
static void
pub_wake(mb_pub *p)
{
    if (atomic_load(&p->waiting)) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

/* ---- callbacks (libmosquitto's network threads) ------------------------ */

static void
on_connect_pub(struct mosquitto *m, void *arg, int rc)
{
    mb_pub *p = arg;
    (void)m;
    atomic_store(&p->connected, rc == 0 ? 1 : -1);
    if (rc != 0)
        set_fatal(p->r, "publisher: CONNACK refused: %s (%d)",
                  mosquitto_connack_string(rc), rc);
    pub_wake(p);
}

static void
on_disconnect_pub(struct mosquitto *m, void *arg, int rc)
{
    mb_pub *p = arg;
    (void)m;
    if (atomic_load(&p->r->running))
        set_fatal(p->r, "publisher disconnected: %s (%d)",
                  mosquitto_strerror(rc), rc);
    pub_wake(p);
}

static void
on_publish(struct mosquitto *m, void *arg, int mid)
{
    mb_pub *p = arg;
    uint64_t now = now_ns();
    (void)m;
    uint64_t t = atomic_exchange(&p->sent_at[mid & 0xffff], 0);
    if (t != 0)
        bench_hist_add(&p->ack, now > t ? now - t : 0);
    atomic_fetch_add(&p->acked, 1);
    atomic_store(&p->t_last_ack, now);
    atomic_fetch_sub(&p->inflight, 1);
    pub_wake(p);
}

static void
on_connect_sub(struct mosquitto *m, void *arg, int rc)
{
    mb_sub *s = arg;
    mb_run *r = s->r;
    if (rc != 0) {
        atomic_store(&s->connected, -1);
        set_fatal(r, "subscriber: CONNACK refused: %s (%d)",
                  mosquitto_connack_string(rc), rc);
        return;
    }
    atomic_store(&s->connected, 1);
    int mrc = mosquitto_subscribe_multiple(m, NULL, r->o->topics, r->topic,
                                           r->o->qos, 0, NULL);
    if (mrc != MOSQ_ERR_SUCCESS)
        set_fatal(r, "subscribe: %s (%d)", mosquitto_strerror(mrc), mrc);
}

static void
on_subscribe(struct mosquitto *m, void *arg, int mid, int n, const int *g)
{
    mb_sub *s = arg;
    (void)m;
    (void)mid;
    for (int i = 0; i < n; i++)
        if (g[i] < 0 || g[i] > 2) {
            set_fatal(s->r, "SUBSCRIBE refused: granted %d", g[i]);
            return;
        }
    atomic_store(&s->subscribed, 1);
}

static void
on_disconnect_sub(struct mosquitto *m, void *arg, int rc)
{
    mb_sub *s = arg;
    (void)m;
    if (atomic_load(&s->r->running))
        set_fatal(s->r, "subscriber disconnected: %s (%d)",
                  mosquitto_strerror(rc), rc);
}

static void
on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
    mb_sub *s = arg;
    mb_run *r = s->r;
    uint64_t now = now_ns();
    (void)m;
    const uint8_t *p = msg->payload;
    if (msg->payloadlen < MB_HDR || p == NULL ||
        (uint32_t)get_le(p + 16, 4) != r->run_id) {
        s->foreign++;
        return;
    }
    uint64_t seq = get_le(p + 8, 8);
    uint32_t pi = (uint32_t)get_le(p + 20, 4);
    if (pi >= (uint32_t)r->o->pubs) {
        s->foreign++;
        return;
    }
    if (seq & MB_WARMUP) {
        uint64_t t = seq & 63;
        atomic_fetch_or(&s->warm[pi], UINT64_C(1) << t);
        return;
    }
    if (seq >= r->o->messages) {
        s->foreign++;
        return;
    }
    uint64_t bit = UINT64_C(1) << (seq & 63);
    if (s->seen[pi][seq >> 6] & bit) {
        s->dups++;
        return;
    }
    s->seen[pi][seq >> 6] |= bit;
    s->distinct++;
    uint64_t t = get_le(p, 8);
    bench_hist_add(&s->e2e, now > t ? now - t : 0);
    if (seq + 1 > atomic_load(&s->maxseq1[pi]))
        atomic_store(&s->maxseq1[pi], seq + 1);
    atomic_store(&s->progress, s->distinct);
    atomic_store(&s->t_last, now);
    pub_wake(&r->pub[pi]);
}

/* ---- clients ----------------------------------------------------------- */

static struct mosquitto *
client_new(mb_run *r, const char *role, int idx, void *arg)
{
    char id[64];
    snprintf(id, sizeof(id), "sb-%08x-%s%d", r->run_id, role, idx);
    struct mosquitto *m = mosquitto_new(id, true, arg);
    if (m == NULL)
        return NULL;
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION,
                         r->o->version == 5 ? MQTT_PROTOCOL_V5
                                            : MQTT_PROTOCOL_V311);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    /* libmosquitto queues QoS > 0 messages past this in its own memory;
     * our window keeps below it.  As a v5 subscriber it is the Receive
     * Maximum we announce. */
    mosquitto_max_inflight_messages_set(m, (unsigned)r->o->inflight);
    if (r->o->version == 5)
        mosquitto_int_option(m, MOSQ_OPT_RECEIVE_MAXIMUM,
                             r->o->inflight > 65535 ? 65535 : r->o->inflight);
    return m;
}

static int
client_start(mb_run *r, struct mosquitto *m)
{
    int rc = mosquitto_connect(m, r->o->host, r->o->port, r->o->keepalive);
    if (rc != MOSQ_ERR_SUCCESS) {
        set_fatal(r, "cannot connect to %s:%d: %s", r->o->host, r->o->port,
                  rc == MOSQ_ERR_ERRNO ? strerror(errno)
                                       : mosquitto_strerror(rc));
        return -1;
    }
    rc = mosquitto_loop_start(m);
    if (rc != MOSQ_ERR_SUCCESS) {
        set_fatal(r, "loop_start: %s (%d)", mosquitto_strerror(rc), rc);
        return -1;
    }
    return 0;
}

/* The highest sequence (+ 1) every subscriber has received from p. */
static uint64_t
pub_floor(mb_pub *p)
{
    mb_run *r = p->r;
    uint64_t lo = UINT64_MAX;
    for (int s = 0; s < r->o->subs; s++) {
        uint64_t v = atomic_load(&r->sub[s].maxseq1[p->idx]);
        if (v < lo)
            lo = v;
    }
    return lo;
}

static int
pub_may_send(mb_pub *p, uint64_t seq)
{
    const mb_opts *o = p->r->o;
    if (atomic_load(&p->r->fatal))
        return 1; /* so that the loop notices */
    if (o->qos > 0 && atomic_load(&p->inflight) >= o->inflight)
        return 0;
    return seq < pub_floor(p) + p->window;
}

static int
pub_send(mb_pub *p, int topic, uint64_t seq)
{
    mb_run *r = p->r;
    uint64_t t = now_ns();
    int mid = 0;
    put_le(p->buf, t, 8);
    put_le(p->buf + 8, seq, 8);
    atomic_fetch_add(&p->inflight, 1);
    int rc = mosquitto_publish(p->mosq, &mid, r->topic[topic], (int)r->o->size,
                               p->buf, r->o->qos, false);
    if (rc != MOSQ_ERR_SUCCESS) {
        atomic_fetch_sub(&p->inflight, 1);
        set_fatal(r, "publish: %s (%d)", mosquitto_strerror(rc), rc);
        return -1;
    }
    /* The acknowledgement cannot overtake this store in practice (it
     * needs a round trip through the broker); if it did, that message's
     * ack latency is left out, nothing else. */
    if (!(seq & MB_WARMUP))
        atomic_store(&p->sent_at[mid & 0xffff], t);
    return 0;
}

static void *
pub_main(void *arg)
{
    mb_pub *p = arg;
    mb_run *r = p->r;
    const mb_opts *o = r->o;
    for (uint64_t i = 0; i < o->messages; i++) {
        if (o->rate > 0) {
            uint64_t due = r->t0 + (uint64_t)((double)i * 1e9 / o->rate);
            struct timespec ts = {(time_t)(due / 1000000000u),
                                  (long)(due % 1000000000u)};
            if (now_ns() < due)
                clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        }
        if (!pub_may_send(p, i)) {
            uint64_t floor = pub_floor(p), since = now_ns();
            pthread_mutex_lock(&p->mu);
            atomic_store(&p->waiting, 1);
            while (!pub_may_send(p, i)) {
                /* Lost messages at the end of a burst would hold the
                 * floor for ever; QoS 1/2 acknowledgements always come. */
                uint64_t f = pub_floor(p), now = now_ns();
                if (f != floor) {
                    floor = f;
                    since = now;
                } else if (now - since > 1000000000u &&
                           (o->qos == 0 ||
                            atomic_load(&p->inflight) < o->inflight)) {
                    p->stalls++;
                    break;
                }
                /* A timed wait as a safety net only; wake-ups come from
                 * pub_wake(). */
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 10000000;
                if (ts.tv_nsec >= 1000000000) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&p->cv, &p->mu, &ts);
            }
            atomic_store(&p->waiting, 0);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&r->fatal))
            break;
        if (pub_send(p, (int)((i + (uint64_t)p->idx) % (uint64_t)o->topics),
                     i) != 0)
            break;
    }
    return NULL;
}

/* ---- idle connections -------------------------------------------------- */

static size_t
mqtt_connect_packet(uint8_t *b, const char *id, int keepalive)
{
    size_t idn = strlen(id);
    size_t rl = 10 + 2 + idn;
    size_t n = 0;
    b[n++] = 0x10;
    b[n++] = (uint8_t)rl; /* < 128 */
    const uint8_t vh[] = {0, 4, 'M', 'Q', 'T', 'T', 4, 0x02};
    memcpy(b + n, vh, sizeof(vh));
    n += sizeof(vh);
    b[n++] = (uint8_t)(keepalive >> 8);
    b[n++] = (uint8_t)keepalive;
    b[n++] = (uint8_t)(idn >> 8);
    b[n++] = (uint8_t)idn;
    memcpy(b + n, id, idn);
    return n + idn;
}

typedef struct idle_conn {
    int fd;
    int state; /* 0 connecting, 1 CONNECT sent, 2 CONNACK read, -1 failed */
    uint8_t in[4];
    int nin;
} idle_conn;

static int
idle_main(const mb_opts *o, uint32_t run_id)
{
    int n = o->idle, status = 1;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 64) {
        rlim_t want = (rlim_t)n + 64;
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
            rl.rlim_max = want; /* works as root; else the next call fails */
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            getrlimit(RLIMIT_NOFILE, &rl);
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
            fprintf(stderr,
                    "sluice-bench: RLIMIT_NOFILE %llu is below %d "
                    "connections\n",
                    (unsigned long long)rl.rlim_cur, n);
            return 1;
        }
    }
    struct addrinfo hints = {0}, *ai = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%d", o->port);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(o->host, port, &hints, &ai) != 0 || ai == NULL) {
        fprintf(stderr, "sluice-bench: cannot resolve %s\n", o->host);
        return 1;
    }
    idle_conn *c = calloc((size_t)n, sizeof(*c));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event *evs = calloc(1024, sizeof(*evs));
    int next = 0, up = 0, failed = 0, pending = 0;
    uint64_t t0 = now_ns(), deadline = t0 + 120 * UINT64_C(1000000000);
    /* At most 256 handshakes at once, so the listen backlog of neither
     * broker overflows into SYN retransmits (seconds each). */
    while (up + failed < n && now_ns() < deadline) {
        while (next < n && pending < 256) {
            idle_conn *k = &c[next];
            k->fd = socket(ai->ai_family,
                           SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (k->fd < 0) {
                fprintf(stderr, "sluice-bench: socket: %s\n", strerror(errno));
                goto out;
            }
            if (connect(k->fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
                errno != EINPROGRESS) {
                fprintf(stderr, "sluice-bench: connect: %s\n", strerror(errno));
                goto out;
            }
            struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN,
                                     .data.u32 = (uint32_t)next};
            epoll_ctl(ep, EPOLL_CTL_ADD, k->fd, &ev);
            next++;
            pending++;
        }
        int ne = epoll_wait(ep, evs, 1024, 100);
        for (int e = 0; e < ne; e++) {
            int i = (int)evs[e].data.u32;
            idle_conn *k = &c[i];
            if (k->state == 0 && (evs[e].events & (EPOLLOUT | EPOLLERR))) {
                int err = 0;
                socklen_t el = sizeof(err);
                getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                uint8_t pkt[128];
                char id[64];
                snprintf(id, sizeof(id), "sb-%08x-idle%d", run_id, i);
                size_t pn = mqtt_connect_packet(pkt, id, o->keepalive);
                if (err != 0 || write(k->fd, pkt, pn) != (ssize_t)pn) {
                    k->state = -1;
                } else {
                    k->state = 1;
                    struct epoll_event ev = {.events = EPOLLIN,
                                             .data.u32 = (uint32_t)i};
                    epoll_ctl(ep, EPOLL_CTL_MOD, k->fd, &ev);
                    continue;
                }
            } else if (k->state == 1 && (evs[e].events & EPOLLIN)) {
                ssize_t got = read(k->fd, k->in + k->nin, 4 - (size_t)k->nin);
                if (got <= 0) {
                    k->state = -1;
                } else if ((k->nin += (int)got) == 4) {
                    /* CONNACK: 20 02 <flags> <return code 0> */
                    k->state = k->in[0] == 0x20 && k->in[3] == 0 ? 2 : -1;
                    if (k->state == 2) {
                        up++;
                        pending--;
                        epoll_ctl(ep, EPOLL_CTL_DEL, k->fd, NULL);
                    }
                }
            } else if (k->state == 1) {
                k->state = -1; /* HUP or error */
            }
            if (k->state == -1) {
                failed++;
                pending--;
                epoll_ctl(ep, EPOLL_CTL_DEL, k->fd, NULL);
                close(k->fd);
                k->fd = -1;
            }
        }
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    if (up < n) {
        fprintf(stderr,
                "sluice-bench: %d of %d idle connections up, %d failed, "
                "after %.1f s\n",
                up, n, failed, secs);
        goto out;
    }
    printf("idle: %d connected in %.2f s\n", up, secs);
    fflush(stdout);
    /* Idle: PINGREQ every half keep alive; PINGRESPs are drained. */
    uint64_t end = now_ns() + (uint64_t)(o->hold_s * 1e9);
    uint64_t ping_every = (uint64_t)o->keepalive * 500000000u;
    uint64_t next_ping = now_ns() + ping_every;
    while (now_ns() < end) {
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
        if (ping_every > 0 && now_ns() >= next_ping) {
            const uint8_t ping[2] = {0xc0, 0x00};
            uint8_t sink[256];
            for (int i = 0; i < n; i++) {
                while (read(c[i].fd, sink, sizeof(sink)) > 0)
                    ;
                if (write(c[i].fd, ping, 2) != 2)
                    fprintf(stderr, "sluice-bench: idle %d: %s\n", i,
                            strerror(errno));
            }
            next_ping += ping_every;
        }
    }
    status = 0;
out:
    for (int i = 0; i < n; i++)
        if (c[i].fd > 0)
            close(c[i].fd);
    free(c);
    free(evs);
    close(ep);
    freeaddrinfo(ai);
    return status;
}

/* ---- report ------------------------------------------------------------ */

static double
us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

static void
report(mb_run *r, uint64_t t_end_pub, uint64_t t_end_recv, int *lossy)
{
    const mb_opts *o = r->o;
    bench_hist e2e, ack;
    bench_hist_init(&e2e);
    bench_hist_init(&ack);
    uint64_t acked = 0, recv = 0, dups = 0, lost = 0, foreign = 0, stalls = 0;
    uint64_t want = o->messages * (uint64_t)o->pubs;
    for (int i = 0; i < o->pubs; i++) {
        hist_merge(&ack, &r->pub[i].ack);
        acked += atomic_load(&r->pub[i].acked);
        stalls += r->pub[i].stalls;
    }
    uint64_t worst_lost = 0;
    for (int s = 0; s < o->subs; s++) {
        mb_sub *b = &r->sub[s];
        hist_merge(&e2e, &b->e2e);
        recv += b->distinct;
        dups += b->dups;
        foreign += b->foreign;
        uint64_t l = want - b->distinct;
        lost += l;
        if (l > worst_lost)
            worst_lost = l;
    }
    *lossy = lost > 0;
    double pub_s = (double)(t_end_pub - r->t0) / 1e9;
    double rcv_s = (double)(t_end_recv - r->t0) / 1e9;
    double pub_mps = pub_s > 0 ? (double)acked / pub_s : 0;
    double rcv_mps = rcv_s > 0 ? (double)recv / rcv_s : 0;
    FILE *f = o->json ? stderr : stdout;
    fprintf(f,
            "mqtt %s:%d v%s: %d publisher(s) x %" PRIu64
            " x %zu B, QoS %d, %d topic(s), %d subscriber(s), %s, "
            "inflight %d, window %d\n",
            o->host, o->port, o->version == 5 ? "5" : "3.1.1", o->pubs,
            o->messages, o->size, o->qos, o->topics, o->subs,
            o->rate > 0 ? "paced" : "max", o->inflight, o->window);
    fprintf(f, "published %" PRIu64 " msgs in %.3f s: %.0f msgs/s (%s)\n",
            acked, pub_s, pub_mps,
            o->qos == 0   ? "written to the socket"
            : o->qos == 1 ? "PUBACKed"
                          : "PUBCOMPed");
    fprintf(f,
            "received  %" PRIu64 " msgs in %.3f s: %.0f msgs/s over %d "
            "subscriber(s), %.0f each\n",
            recv, rcv_s, rcv_mps, o->subs, rcv_mps / o->subs);
    fprintf(f, "e2e latency us:  p50 %.0f  p99 %.0f  p99.9 %.0f  max %.0f\n",
            us(bench_hist_quantile(&e2e, 0.5)),
            us(bench_hist_quantile(&e2e, 0.99)),
            us(bench_hist_quantile(&e2e, 0.999)), us(e2e.n ? e2e.max : 0));
    if (o->qos > 0)
        fprintf(f,
                "ack latency us:  p50 %.0f  p99 %.0f  p99.9 %.0f  max %.0f\n",
                us(bench_hist_quantile(&ack, 0.5)),
                us(bench_hist_quantile(&ack, 0.99)),
                us(bench_hist_quantile(&ack, 0.999)), us(ack.n ? ack.max : 0));
    fprintf(f,
            "lost %" PRIu64 " (worst subscriber %" PRIu64
            ")  duplicated %" PRIu64 "  foreign %" PRIu64
            "  window stalls %" PRIu64 "\n",
            lost, worst_lost, dups, foreign, stalls);
    for (int s = 0; s < o->subs && (lost || dups); s++)
        fprintf(f,
                "  subscriber %d: received %" PRIu64 " of %" PRIu64
                ", duplicated %" PRIu64 "\n",
                s, r->sub[s].distinct, want, r->sub[s].dups);
    fflush(f);
    if (!o->json)
        return;
    printf(
        "{\"scenario\":\"mqtt\",\"publishers\":%d,\"subscribers\":%d,"
        "\"qos\":%d,\"size\":%zu,\"messages\":%" PRIu64 ",\"topics\":%d,"
        "\"version\":%d,\"rate\":%.0f,\"inflight\":%d,\"window\":%d,"
        "\"published_msgs_s\":%.0f,\"received_msgs_s\":%.0f,"
        "\"e2e_p50_us\":%.1f,\"e2e_p99_us\":%.1f,\"e2e_p999_us\":%.1f,"
        "\"e2e_max_us\":%.1f,\"ack_p50_us\":%.1f,\"ack_p99_us\":%.1f,"
        "\"published\":%" PRIu64 ",\"received\":%" PRIu64 ",\"lost\":%" PRIu64
        ",\"duplicated\":%" PRIu64 ",\"stalls\":%" PRIu64 "}\n",
        o->pubs, o->subs, o->qos, o->size, o->messages, o->topics,
        o->version == 5 ? 5 : 311, o->rate, o->inflight, o->window, pub_mps,
        rcv_mps, us(bench_hist_quantile(&e2e, 0.5)),
        us(bench_hist_quantile(&e2e, 0.99)),
        us(bench_hist_quantile(&e2e, 0.999)), us(e2e.n ? e2e.max : 0),
        us(bench_hist_quantile(&ack, 0.5)), us(bench_hist_quantile(&ack, 0.99)),
        acked, recv, lost, dups, stalls);
    fflush(stdout);
}

/* ---- main -------------------------------------------------------------- */

static int
parse_opts(mb_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    o->host = "127.0.0.1";
    o->port = 1883;
    o->pubs = 1;
    o->subs = 1;
    o->topics = 1;
    o->version = 311;
    o->messages = 100000;
    o->size = 100;
    o->inflight = 100;
    o->window = 500;
    o->hold_s = 5;
    o->drain_s = 5;
    o->keepalive = 60;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            o->json = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0) {
            mb_usage(stdout);
            return 1;
        }
        if (v == NULL) {
            fprintf(stderr, "sluice-bench: %s: missing value\n", a);
            return -1;
        }
        i++;
        char *end = NULL;
        if (strcmp(a, "--host") == 0)
            o->host = v;
        else if (strcmp(a, "--port") == 0)
            o->port = (int)strtol(v, &end, 10);
        else if (strcmp(a, "--publishers") == 0)
            o->pubs = (int)strtol(v, &end, 10);
        else if (strcmp(a, "--subscribers") == 0)
            o->subs = (int)strtol(v, &end, 10);
        else if (strcmp(a, "--qos") == 0)
            o->qos = (int)strtol(v, &end, 10);
        else if (strcmp(a, "--size") == 0)
            o->size = (size_t)strtoull(v, &end, 10);
        else if (strcmp(a, "--messages") == 0)
            o->messages = strtoull(v, &end, 10);
        else if (strcmp(a, "--topics") == 0)
            o->topics = (int)strtol(v, &end, 10);
        else if (strcmp(a, "--rate") == 0)
            o->rate = strtod(v, &end);
        else if (strcmp(a, "--version") == 0)
            o->version = (int)strtol(v, &end, 10);
        else if (strcmp(a, "--inflight") == 0)
            o->inflight = (int)strtol(v, &end, 10);
        else if (strcmp(a, "--window") == 0)
            o->window = (int)strtol(v, &end, 10);
        else if (strcmp(a, "--idle-connections") == 0)
            o->idle = (int)strtol(v, &end, 10);
        else if (strcmp(a, "--hold") == 0)
            o->hold_s = strtod(v, &end);
        else if (strcmp(a, "--keepalive") == 0)
            o->keepalive = (int)strtol(v, &end, 10);
        else if (strcmp(a, "--drain-timeout") == 0)
            o->drain_s = strtod(v, &end);
        else {
            fprintf(stderr, "sluice-bench: unknown option %s\n", a);
            return -1;
        }
        if (end != NULL && (*end != '\0' || end == v)) {
            fprintf(stderr, "sluice-bench: %s %s: not a number\n", a, v);
            return -1;
        }
    }
    if (o->port < 1 || o->port > 65535 || o->pubs < 1 || o->pubs > MB_MAXC ||
        o->subs < 1 || o->subs > MB_MAXC || o->qos < 0 || o->qos > 2 ||
        o->size < MB_HDR || o->size > (256u << 20) || o->messages == 0 ||
        o->messages >= MB_WARMUP || o->topics < 1 || o->topics > MB_MAXT ||
        o->rate < 0 || (o->version != 311 && o->version != 5) ||
        o->inflight < 1 || o->inflight > 65535 || o->window < 1 ||
        o->idle < 0 || o->hold_s < 0 || o->drain_s <= 0 || o->keepalive < 0 ||
        o->keepalive > 65535) {
        fprintf(stderr,
                "sluice-bench: an option is out of range (%d <= "
                "--size, --qos 0..2, --version 311|5, --topics "
                "<= %d)\n",
                MB_HDR, MB_MAXT);
        return -1;
    }
    return 0;
}

/* Every subscriber has every warm-up message of every publisher (one per
 * topic, up to 64 topics). */
static int
warm_done(mb_run *r)
{
    int nt = r->o->topics < 64 ? r->o->topics : 64;
    uint64_t all = nt == 64 ? UINT64_MAX : (UINT64_C(1) << nt) - 1;
    for (int s = 0; s < r->o->subs; s++)
        for (int p = 0; p < r->o->pubs; p++)
            if ((atomic_load(&r->sub[s].warm[p]) & all) != all)
                return 0;
    return 1;
}

static int
wait_for(mb_run *r, _Atomic int *flag, int want, double secs)
{
    uint64_t deadline = now_ns() + (uint64_t)(secs * 1e9);
    while (atomic_load(flag) != want) {
        if (atomic_load(&r->fatal) || now_ns() > deadline)
            return -1;
        usleep(1000);
    }
    return 0;
}

int
bench_mqtt_main(int argc, char **argv)
{
    mb_opts o;
    int rc = parse_opts(&o, argc, argv);
    if (rc != 0) {
        if (rc < 0)
            mb_usage(stderr);
        return rc < 0 ? 2 : 0;
    }
    uint32_t run_id = (uint32_t)(now_ns() ^ ((uint64_t)getpid() << 16));
    if (o.idle > 0)
        return idle_main(&o, run_id);

    mosquitto_lib_init();
    mb_run *r = calloc(1, sizeof(*r));
    r->o = &o;
    r->run_id = run_id;
    pthread_mutex_init(&r->mu, NULL);
    r->topic = calloc((size_t)o.topics, sizeof(*r->topic));
    for (int t = 0; t < o.topics; t++) {
        r->topic[t] = malloc(64);
        snprintf(r->topic[t], 64, "sluice-bench/%08x/%d", run_id, t);
    }
    r->pub = calloc((size_t)o.pubs, sizeof(*r->pub));
    r->sub = calloc((size_t)o.subs, sizeof(*r->sub));
    size_t words = (size_t)((o.messages + 63) / 64);
    int status = 1, npub_threads = 0;
    uint64_t t_end_pub = 0, t_end_recv = 0;
    for (int s = 0; s < o.subs; s++) {
        mb_sub *b = &r->sub[s];
        b->r = r;
        b->idx = s;
        bench_hist_init(&b->e2e);
        b->seen = calloc((size_t)o.pubs, sizeof(*b->seen));
        b->maxseq1 = calloc((size_t)o.pubs, sizeof(*b->maxseq1));
        b->warm = calloc((size_t)o.pubs, sizeof(*b->warm));
        for (int p = 0; p < o.pubs; p++) {
            b->seen[p] = calloc(words, sizeof(uint64_t));
            if (b->seen[p] == NULL) {
                fprintf(stderr, "sluice-bench: out of memory\n");
                goto out;
            }
        }
    }
    for (int p = 0; p < o.pubs; p++) {
        mb_pub *q = &r->pub[p];
        q->r = r;
        q->idx = p;
        bench_hist_init(&q->ack);
        pthread_mutex_init(&q->mu, NULL);
        pthread_cond_init(&q->cv, NULL);
        q->window = (uint64_t)((o.window + o.pubs - 1) / o.pubs);
        q->sent_at = calloc(65536, sizeof(*q->sent_at));
        q->buf = calloc(1, o.size);
        memset(q->buf + MB_HDR, 'x', o.size - MB_HDR);
        put_le(q->buf + 16, run_id, 4);
        put_le(q->buf + 20, (uint64_t)p, 4);
    }

    /* Subscribers first, each SUBACKed before anything is published. */
    atomic_store(&r->running, 1);
    for (int s = 0; s < o.subs; s++) {
        mb_sub *b = &r->sub[s];
        b->mosq = client_new(r, "sub", s, b);
        if (b->mosq == NULL) {
            set_fatal(r, "mosquitto_new: %s", strerror(errno));
            goto fail;
        }
        mosquitto_connect_callback_set(b->mosq, on_connect_sub);
        mosquitto_disconnect_callback_set(b->mosq, on_disconnect_sub);
        mosquitto_subscribe_callback_set(b->mosq, on_subscribe);
        mosquitto_message_callback_set(b->mosq, on_message);
        if (client_start(r, b->mosq) != 0)
            goto fail;
    }
    for (int s = 0; s < o.subs; s++)
        if (wait_for(r, &r->sub[s].subscribed, 1, 10) != 0) {
            set_fatal(r, "subscriber %d: no SUBACK within 10 s", s);
            goto fail;
        }
    for (int p = 0; p < o.pubs; p++) {
        mb_pub *q = &r->pub[p];
        q->mosq = client_new(r, "pub", p, q);
        if (q->mosq == NULL) {
            set_fatal(r, "mosquitto_new: %s", strerror(errno));
            goto fail;
        }
        mosquitto_connect_callback_set(q->mosq, on_connect_pub);
        mosquitto_disconnect_callback_set(q->mosq, on_disconnect_pub);
        mosquitto_publish_callback_set(q->mosq, on_publish);
        if (client_start(r, q->mosq) != 0)
            goto fail;
    }
    for (int p = 0; p < o.pubs; p++)
        if (wait_for(r, &r->pub[p].connected, 1, 10) != 0) {
            set_fatal(r, "publisher %d: no CONNACK within 10 s", p);
            goto fail;
        }

    /* Warm-up, resent every 500 ms (QoS 0 may be dropped). */
    uint64_t deadline = now_ns() + 30 * UINT64_C(1000000000);
    while (!warm_done(r)) {
        for (int p = 0; p < o.pubs; p++)
            for (int t = 0; t < o.topics && t < 64; t++)
                if (pub_send(&r->pub[p], t, MB_WARMUP | (uint64_t)t) != 0)
                    goto fail;
        for (int i = 0; i < 500 && !warm_done(r); i++)
            usleep(1000);
        if (atomic_load(&r->fatal))
            goto fail;
        if (now_ns() > deadline) {
            set_fatal(r, "warm-up messages did not arrive within 30 s");
            goto fail;
        }
    }
    /* Their on_publish calls too (acknowledgements, or for QoS 0 the
     * socket writes), so that the window starts empty and `acked` counts
     * the run's messages only. */
    for (int p = 0; p < o.pubs; p++) {
        while (atomic_load(&r->pub[p].inflight) > 0 && now_ns() < deadline &&
               !atomic_load(&r->fatal))
            usleep(1000);
        atomic_store(&r->pub[p].acked, 0);
    }

    r->t0 = now_ns();
    for (int p = 0; p < o.pubs; p++) {
        if (pthread_create(&r->pub[p].th, NULL, pub_main, &r->pub[p]) != 0) {
            set_fatal(r, "pthread_create: %s", strerror(errno));
            goto fail;
        }
        npub_threads++;
    }
    for (int p = 0; p < npub_threads; p++)
        pthread_join(r->pub[p].th, NULL);
    npub_threads = 0;

    /* Acknowledgements: all of them, within 30 s. */
    t_end_pub = r->t0;
    deadline = now_ns() + 30 * UINT64_C(1000000000);
    for (int p = 0; p < o.pubs; p++) {
        mb_pub *q = &r->pub[p];
        while (o.qos > 0 && atomic_load(&q->acked) < o.messages &&
               !atomic_load(&r->fatal)) {
            if (now_ns() > deadline) {
                set_fatal(r,
                          "publisher %d: acknowledgements outstanding "
                          "after 30 s",
                          p);
                break;
            }
            usleep(1000);
        }
        /* QoS 0: on_publish follows the socket write. */
        for (int i = 0;
             o.qos == 0 && i < 2000 && atomic_load(&q->acked) < o.messages; i++)
            usleep(1000);
        uint64_t t = atomic_load(&q->t_last_ack);
        if (t > t_end_pub)
            t_end_pub = t;
    }

    /* Let the subscribers catch up; give up after drain_s without
     * progress. */
    uint64_t want = o.messages * (uint64_t)o.pubs;
    uint64_t last = UINT64_MAX, t_last = now_ns();
    for (;;) {
        uint64_t cur = 0;
        int done = 1;
        for (int s = 0; s < o.subs; s++) {
            uint64_t v = atomic_load(&r->sub[s].progress);
            cur += v;
            done &= v == want;
        }
        if (done || atomic_load(&r->fatal))
            break;
        if (cur != last) {
            last = cur;
            t_last = now_ns();
        } else if (now_ns() - t_last > (uint64_t)(o.drain_s * 1e9)) {
            break;
        }
        usleep(2000);
    }
    t_end_recv = r->t0;
    for (int s = 0; s < o.subs; s++) {
        uint64_t t = atomic_load(&r->sub[s].t_last);
        if (t > t_end_recv)
            t_end_recv = t;
    }

fail:
    atomic_store(&r->running, 0);
    atomic_store(&r->fatal, atomic_load(&r->fatal)); /* publish to threads */
    for (int p = 0; p < npub_threads; p++) {
        pub_wake(&r->pub[p]);
        pthread_join(r->pub[p].th, NULL);
    }
    for (int p = 0; p < o.pubs; p++)
        if (r->pub[p].mosq != NULL) {
            mosquitto_disconnect(r->pub[p].mosq);
            mosquitto_loop_stop(r->pub[p].mosq, false);
        }
    for (int s = 0; s < o.subs; s++)
        if (r->sub[s].mosq != NULL) {
            mosquitto_disconnect(r->sub[s].mosq);
            mosquitto_loop_stop(r->sub[s].mosq, false);
        }
    if (atomic_load(&r->fatal)) {
        fprintf(stderr, "sluice-bench: %s\n", r->fatal_msg);
        goto out;
    }
    int lossy = 0;
    report(r, t_end_pub, t_end_recv, &lossy);
    status = 0;
    if (lossy && o.qos > 0) {
        fprintf(stderr,
                "sluice-bench: acknowledged QoS %d messages did not "
                "reach every subscriber\n",
                o.qos);
        status = 1;
    }

out:
    for (int p = 0; p < o.pubs; p++) {
        if (r->pub[p].mosq != NULL)
            mosquitto_destroy(r->pub[p].mosq);
        free(r->pub[p].sent_at);
        free(r->pub[p].buf);
        pthread_mutex_destroy(&r->pub[p].mu);
        pthread_cond_destroy(&r->pub[p].cv);
    }
    for (int s = 0; s < o.subs; s++) {
        mb_sub *b = &r->sub[s];
        if (b->mosq != NULL)
            mosquitto_destroy(b->mosq);
        for (int p = 0; b->seen != NULL && p < o.pubs; p++)
            free(b->seen[p]);
        free(b->seen);
        free(b->maxseq1);
        free(b->warm);
    }
    for (int t = 0; t < o.topics; t++)
        free(r->topic[t]);
    free(r->topic);
    free(r->pub);
    free(r->sub);
    pthread_mutex_destroy(&r->mu);
    free(r);
    mosquitto_lib_cleanup();
    return status;
}
