/*
 * sluice-bench — load generator and measurement tool.
 *
 *   sluice-bench segstore [options]
 *   sluice-bench kafka --bootstrap HOST:PORT [options]     (kafka.c)
 *   sluice-bench mqtt --host H --port P [options]          (mqtt.c)
 *
 * Appends RecordBatch v2 batches over IPC from C concurrent appenders and
 * reports MB/s, appends/s and append latency p50/p99 for each fsync policy
 * and batch size, next to the raw sequential-write bandwidth of the same
 * disk measured in the same run.  Without --segstore it starts its own
 * sluice-segstore for each policy on a fresh data directory.  `kafka`
 * drives any Kafka-protocol broker with librdkafka; it is built only
 * when librdkafka is found (pkg-config rdkafka); `mqtt` drives any MQTT
 * broker with libmosquitto (pkg-config libmosquitto).
 *
 * It is a benchmark, not a test: it asserts nothing and never fails on a
 * number.  docs/performance.md records its output.
 */
#include "bench_impl.h"
#include "ipc_client.h"
#include "sl_batch.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct opts {
    const char *url;
    const char *segstore_bin;
    char data[PATH_MAX];
    double seconds;
    int concurrency;
    int partitions;
    int per_request;
    int sizes[8];
    int nsizes;
    char *policies[8];
    int npolicies;
    int64_t disk_bytes;
    int json;
} opts;

typedef struct run {
    const opts *o;
    ipc_client *cl;
    sl_buf *reqs; /* one encoded APPEND per partition rotation */
    int nreqs;
    uint64_t deadline_ns;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inflight;
    uint64_t bytes, appends, errors, sent;
    size_t req_bytes; /* batch bytes per request */
    uint32_t *lat_us;
    size_t nlat, latcap;
} run;

static void
usage(FILE *f)
{
    fprintf(
        f,
        "usage: sluice-bench segstore [--segstore URL | --segstore-bin "
        "PATH]\n"
        "         [--data DIR] [--seconds S] [--concurrency C] "
        "[--partitions P]\n"
        "         [--sizes 1024,16384] [--policies batch,interval:100,never]\n"
        "         [--per-request K] [--disk-bytes N] [--json]\n"
        "\n"
        "Appends batches of each size from C appenders for S seconds per\n"
        "case and reports throughput and latency, with the raw disk write\n"
        "bandwidth of DIR measured in the same run.\n");
}

static int
rm_cb(const char *p, const struct stat *sb, int f, struct FTW *w)
{
    (void)sb;
    (void)f;
    (void)w;
    return remove(p);
}

/* Build one batch of about `size` bytes of 100-byte values. */
static void
build_batch(sl_buf *out, int size)
{
    char value[100];
    memset(value, 'x', sizeof(value));
    sl_batch_builder b;
    size_t start = out->n;
    sl_batch_builder_init(&b, out, sl_now_ms());
    for (;;) {
        size_t cur = out->n - start;
        size_t left = (size_t)size > cur ? (size_t)size - cur : 0;
        if (left < 24)
            break;
        size_t vn = left - 16 > sizeof(value) ? sizeof(value) : left - 16;
        sl_slice v = sl_slice_make(value, vn);
        sl_batch_builder_add(&b, sl_now_ms(), NULL, &v, NULL, 0);
    }
    sl_batch_builder_finish(&b);
}

/* One request in flight: the run and when it was sent. */
typedef struct flight {
    run *r;
    uint64_t t0;
    int slot;
} flight;

static void on_reply(void *arg, int rc, const ipc_hdr *h, sl_slice body);

/* Send the next request of a pipeline slot (lock not held). */
static int
send_next(flight *f)
{
    run *r = f->r;
    const sl_buf *q = &r->reqs[(f->slot + r->sent) % (uint64_t)r->nreqs];
    f->t0 = sl_mono_ns();
    return ipc_client_request(r->cl, sl_slice_make(q->p, q->n), on_reply, f);
}

/* Completion: record, then keep the pipeline full until the deadline.
 * Runs on nng's threads; the client takes requests from callbacks. */
static void
on_reply(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    flight *f = arg;
    run *r = f->r;
    uint64_t now = sl_mono_ns();
    uint64_t dt = (now - f->t0) / 1000;
    int ok = rc == 0 && h->status == 0;
    (void)body;
    pthread_mutex_lock(&r->mu);
    if (ok) {
        r->bytes += r->req_bytes;
        r->appends += (uint64_t)r->o->per_request;
        if (r->nlat == r->latcap) {
            size_t cap = r->latcap ? r->latcap * 2 : 1 << 16;
            uint32_t *n = realloc(r->lat_us, cap * sizeof(*n));
            if (n != NULL) {
                r->lat_us = n;
                r->latcap = cap;
            }
        }
        if (r->nlat < r->latcap)
            r->lat_us[r->nlat++] = dt > UINT32_MAX ? UINT32_MAX : (uint32_t)dt;
    } else {
        r->errors++;
    }
    r->sent++;
    int again = now < r->deadline_ns;
    if (!again) {
        r->inflight--;
        pthread_cond_signal(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    if (again && send_next(f) != 0) {
        pthread_mutex_lock(&r->mu);
        r->inflight--;
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
    }
}

static int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double
pct(const uint32_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1));
    return v[i];
}

static int
ensure_topic(ipc_client *cl, int partitions)
{
    sl_buf req, body;
    sl_buf_init(&req);
    sl_buf_init(&body);
    ipc_topic_create_req_encode(&req, sl_slice_str("bench"), partitions, NULL,
                                0);
    ipc_hdr h;
    int rc = ipc_client_call(cl, sl_slice_make(req.p, req.n), &h, &body);
    if (rc == SL_E_EXISTS)
        rc = 0;
    sl_buf_fini(&req);
    sl_buf_fini(&body);
    return rc;
}

static void
bench_case(const opts *o, const char *url, const char *policy, int size)
{
    run r;
    memset(&r, 0, sizeof(r));
    r.o = o;
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    ipc_client_opts co = {0};
    co.url = url;
    co.name = "sluice-bench";
    co.max_inflight = o->concurrency;
    co.timeout_ms = 60000;
    if (ipc_client_new(&co, &r.cl) != 0 ||
        ensure_topic(r.cl, o->partitions) != 0) {
        fprintf(stderr, "sluice-bench: cannot reach segstore at %s\n", url);
        exit(2);
    }
    /* One batch, appended per_request times to consecutive partitions;
     * the server stamps offsets into its own copy, so it can be resent. */
    sl_buf batch;
    sl_buf_init(&batch);
    build_batch(&batch, size);
    r.nreqs = o->partitions;
    r.reqs = calloc((size_t)r.nreqs, sizeof(*r.reqs));
    for (int p = 0; p < r.nreqs; p++) {
        ipc_append_entry e[64];
        for (int i = 0; i < o->per_request; i++) {
            e[i].topic = sl_slice_str("bench");
            e[i].partition = (p + i) % o->partitions;
            e[i].batches = sl_slice_make(batch.p, batch.n);
        }
        ipc_append_req_encode(&r.reqs[p], 0, e, (size_t)o->per_request);
    }
    r.req_bytes = batch.n * (size_t)o->per_request;
    flight *fl = calloc((size_t)o->concurrency, sizeof(*fl));
    uint64_t t0 = sl_mono_ns();
    r.deadline_ns = t0 + (uint64_t)(o->seconds * 1e9);
    r.inflight = o->concurrency;
    for (int i = 0; i < o->concurrency; i++) {
        fl[i].r = &r;
        fl[i].slot = i;
        if (send_next(&fl[i]) != 0) {
            pthread_mutex_lock(&r.mu);
            r.inflight--;
            pthread_mutex_unlock(&r.mu);
        }
    }
    pthread_mutex_lock(&r.mu);
    while (r.inflight > 0)
        pthread_cond_wait(&r.cv, &r.mu);
    pthread_mutex_unlock(&r.mu);
    double secs = (double)(sl_mono_ns() - t0) / 1e9;
    qsort(r.lat_us, r.nlat, sizeof(*r.lat_us), cmp_u32);
    double mbs = (double)r.bytes / secs / 1e6;
    double aps = (double)r.appends / secs;
    if (o->json)
        printf("{\"policy\":\"%s\",\"batch_bytes\":%d,\"concurrency\":%d,"
               "\"per_request\":%d,\"mb_s\":%.1f,\"appends_s\":%.0f,"
               "\"p50_us\":%.0f,\"p99_us\":%.0f,\"errors\":%" PRIu64 "}\n",
               policy, size, o->concurrency, o->per_request, mbs, aps,
               pct(r.lat_us, r.nlat, 0.5), pct(r.lat_us, r.nlat, 0.99),
               r.errors);
    else
        printf("%-14s %7d %5d %5d %9.1f %10.0f %8.0f %8.0f %6" PRIu64 "\n",
               policy, size, o->concurrency, o->per_request, mbs, aps,
               pct(r.lat_us, r.nlat, 0.5), pct(r.lat_us, r.nlat, 0.99),
               r.errors);
    fflush(stdout);
    ipc_client_close(r.cl);
    ipc_client_free(r.cl);
    free(fl);
    for (int p = 0; p < r.nreqs; p++)
        sl_buf_fini(&r.reqs[p]);
    free(r.reqs);
    free(r.lat_us);
    sl_buf_fini(&batch);
}

/*
 * The raw disk: sequential writes of `bs` bytes for `seconds` (at least
 * min_bytes), then one fdatasync, counted in the time.  Time-based on
 * purpose: a virtual disk with a host cache absorbs a fixed 1 GiB burst at
 * several times its sustained rate, so a probe must last as long as the
 * appends it is compared with.
 */
static double
disk_write_mbs(const char *dir, double seconds, int64_t min_bytes, size_t bs)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/disk-probe", dir);
    sync(); /* start with no writeback pending from an earlier step */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    char *buf = malloc(bs);
    memset(buf, 0x5a, bs);
    uint64_t t0 = sl_mono_ns(), end = t0 + (uint64_t)(seconds * 1e9);
    int64_t done = 0;
    while (sl_mono_ns() < end || done < min_bytes) {
        if (write(fd, buf, bs) != (ssize_t)bs)
            break;
        done += (int64_t)bs;
    }
    fdatasync(fd);
    double secs = (double)(sl_mono_ns() - t0) / 1e9;
    close(fd);
    unlink(path);
    free(buf);
    return (double)done / secs / 1e6;
}

/* The raw cost of durability: write 16 KiB + fdatasync, repeatedly. */
static double
disk_sync_rate(const char *dir, double seconds)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/sync-probe", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    char buf[16384];
    memset(buf, 0x5a, sizeof(buf));
    uint64_t t0 = sl_mono_ns(), end = t0 + (uint64_t)(seconds * 1e9);
    uint64_t n = 0;
    while (sl_mono_ns() < end) {
        if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
            break;
        fdatasync(fd);
        n++;
    }
    double secs = (double)(sl_mono_ns() - t0) / 1e9;
    close(fd);
    unlink(path);
    return (double)n / secs;
}

static pid_t
spawn_segstore(const opts *o, const char *policy, const char *dir, char *url,
               size_t urllen)
{
    snprintf(url, urllen, "ipc://%.*s/bench.sock", PATH_MAX, dir);
    pid_t pid = fork();
    if (pid == 0) {
        char fs[64];
        snprintf(fs, sizeof(fs), "%s", policy);
        execl(o->segstore_bin, o->segstore_bin, "--data", dir, "--ipc", url,
              "--fsync", fs, "--log-level", "warn", (char *)NULL);
        perror("exec sluice-segstore");
        _exit(127);
    }
    /* Wait for the socket file. */
    char sock[PATH_MAX + 160];
    snprintf(sock, sizeof(sock), "%.*s/bench.sock", PATH_MAX, dir);
    for (int i = 0; i < 200; i++) {
        struct stat st;
        if (stat(sock, &st) == 0)
            return pid;
        usleep(25000);
    }
    fprintf(stderr, "sluice-bench: segstore did not start\n");
    kill(pid, SIGKILL);
    return -1;
}

static int
split_list(char *s, char **out, int max)
{
    int n = 0;
    for (char *t = strtok(s, ","); t && n < max; t = strtok(NULL, ","))
        out[n++] = t;
    return n;
}

static int
cmd_segstore(int argc, char **argv, const char *self)
{
    opts o;
    memset(&o, 0, sizeof(o));
    o.seconds = 5;
    o.concurrency = 16;
    o.partitions = 1;
    o.per_request = 1;
    o.disk_bytes = 0; /* the probe is time-based; this is a minimum */
    snprintf(o.data, sizeof(o.data), "./bench-data");
    char sizes[64] = "1024,16384";
    char policies[128] = "batch,interval:100,never";
    static char bin[PATH_MAX];
    snprintf(bin, sizeof(bin), "%s", self);
    char *slash = strrchr(bin, '/');
    if (slash)
        snprintf(slash + 1, sizeof(bin) - (size_t)(slash + 1 - bin),
                 "sluice-segstore");
    else
        snprintf(bin, sizeof(bin), "sluice-segstore");
    o.segstore_bin = bin;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            o.json = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (v == NULL) {
            usage(stderr);
            return 2;
        }
        i++;
        if (strcmp(a, "--segstore") == 0)
            o.url = v;
        else if (strcmp(a, "--segstore-bin") == 0)
            o.segstore_bin = v;
        else if (strcmp(a, "--data") == 0)
            snprintf(o.data, sizeof(o.data), "%s", v);
        else if (strcmp(a, "--seconds") == 0)
            o.seconds = atof(v);
        else if (strcmp(a, "--concurrency") == 0)
            o.concurrency = atoi(v);
        else if (strcmp(a, "--partitions") == 0)
            o.partitions = atoi(v);
        else if (strcmp(a, "--per-request") == 0)
            o.per_request = atoi(v);
        else if (strcmp(a, "--disk-bytes") == 0)
            o.disk_bytes = atoll(v);
        else if (strcmp(a, "--sizes") == 0)
            snprintf(sizes, sizeof(sizes), "%s", v);
        else if (strcmp(a, "--policies") == 0)
            snprintf(policies, sizeof(policies), "%s", v);
        else {
            usage(stderr);
            return 2;
        }
    }
    if (o.concurrency < 1 || o.concurrency > 1024 || o.partitions < 1 ||
        o.per_request < 1 || o.per_request > 64 || o.seconds <= 0) {
        usage(stderr);
        return 2;
    }
    char *sz[8];
    int nsz = split_list(sizes, sz, 8);
    for (int i = 0; i < nsz; i++)
        o.sizes[o.nsizes++] = atoi(sz[i]);
    o.npolicies = split_list(policies, o.policies, 8);
    mkdir(o.data, 0755);
    char real[PATH_MAX];
    if (realpath(o.data, real) == NULL) {
        fprintf(stderr, "sluice-bench: %s: %s\n", o.data, strerror(errno));
        return 2;
    }
    snprintf(o.data, sizeof(o.data), "%s", real);

    double seq = disk_write_mbs(o.data, o.seconds, o.disk_bytes, 1 << 20);
    double seq16 = disk_write_mbs(o.data, o.seconds, o.disk_bytes, 16 << 10);
    double syncs = disk_sync_rate(o.data, 2);
    if (o.json)
        printf("{\"disk_seq_write_1m_mb_s\":%.1f,\"disk_seq_write_16k_mb_s\":"
               "%.1f,\"disk_16k_write_fdatasync_per_s\":%.0f}\n",
               seq, seq16, syncs);
    else
        printf("raw disk (%s), %.0f s of sequential writes + one fdatasync: "
               "%.0f MB/s (1 MiB writes), %.0f MB/s (16 KiB writes); 16 KiB "
               "write+fdatasync: %.0f/s\n\n"
               "%-14s %7s %5s %5s %9s %10s %8s %8s %6s\n",
               o.data, o.seconds, seq, seq16, syncs, "policy", "batch", "conc",
               "k", "MB/s", "appends/s", "p50_us", "p99_us", "errors");
    fflush(stdout);
    if (o.url != NULL) {
        for (int s = 0; s < o.nsizes; s++)
            bench_case(&o, o.url, "(external)", o.sizes[s]);
        return 0;
    }
    for (int p = 0; p < o.npolicies; p++) {
        for (int s = 0; s < o.nsizes; s++) {
            char dir[PATH_MAX + 64], url[PATH_MAX + 160];
            snprintf(dir, sizeof(dir), "%s/run-%d-%d", o.data, p, s);
            nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
            mkdir(dir, 0755);
            pid_t pid =
                spawn_segstore(&o, o.policies[p], dir, url, sizeof(url));
            if (pid < 0)
                return 1;
            sync(); /* no writeback pending from the previous case */
            bench_case(&o, url, o.policies[p], o.sizes[s]);
            kill(pid, SIGTERM);
            waitpid(pid, NULL, 0);
            nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
        }
    }
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "segstore") == 0)
        return cmd_segstore(argc - 2, argv + 2, argv[0]);
    if (argc >= 2 && strcmp(argv[1], "kafka") == 0) {
#ifdef SLUICE_BENCH_KAFKA
        return bench_kafka_main(argc - 2, argv + 2);
#else
        fprintf(stderr, "sluice-bench: built without librdkafka (install "
                        "librdkafka-dev and reconfigure)\n");
        return 2;
#endif
    }
    if (argc >= 2 && strcmp(argv[1], "bridge") == 0) {
#if defined(SLUICE_BENCH_MQTT) && defined(SLUICE_BENCH_KAFKA)
        return bench_bridge_main(argc - 2, argv + 2);
#else
        fprintf(stderr, "sluice-bench: the bridge scenario needs both "
                        "librdkafka-dev and libmosquitto-dev\n");
        return 2;
#endif
    }
    if (argc >= 2 && strcmp(argv[1], "mqtt") == 0) {
#ifdef SLUICE_BENCH_MQTT
        return bench_mqtt_main(argc - 2, argv + 2);
#else
        fprintf(stderr, "sluice-bench: built without libmosquitto (install "
                        "libmosquitto-dev and reconfigure)\n");
        return 2;
#endif
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("sluice-bench %s\n", SLUICE_VERSION);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "sluice-bench: scenarios: segstore, kafka, mqtt, bridge "
                    "(kafka|mqtt|bridge --help for their options)\n");
    usage(stderr);
    return 2;
}
