/*
 * crash_test.c — kill -9 sluice-segstore while clients append with
 * fsync=batch, restart it, and check that every acknowledged append is
 * readable and intact.  Repeats for a bounded number of rounds and time.
 *
 *   crash_test SEGSTORE_BIN WORKDIR [ROUNDS] [SECONDS]
 *
 * A process kill leaves unsynced writes in the page cache, so on its own
 * it would never exercise a torn tail.  After every other kill the test
 * therefore also plays the part of a power cut: it cuts the active segment
 * of each partition at a random point past the last acknowledged batch and
 * writes random bytes after the cut (what a torn write leaves).  Nothing
 * acknowledged may be lost either way; the garbage must never be served.
 */
#include "ipc_client.h"
#include "sl_batch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PARTS   2
#define THREADS 8

typedef struct acked {
    int32_t part;
    int64_t base;
    int n;
    char value[64]; /* value of record 0; record k has suffix -k */
} acked;

static acked *acks;
static size_t nacks, ackcap;
static pthread_mutex_t ack_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int stop_appending;
static char sock_url[PATH_MAX + 32];
static char data_dir[PATH_MAX + 16];

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "crash_test: FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static pid_t
start_segstore(const char *bin)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(bin, bin, "--data", data_dir, "--ipc", sock_url, "--fsync",
              "batch", "--log-level", "warn", "--set",
              "checkpoint.interval.ms=200", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void
call_ok(ipc_client *cl, sl_buf *req, sl_buf *body, ipc_hdr *h)
{
    for (int i = 0; i < 100; i++) {
        int rc = ipc_client_call(cl, sl_slice_make(req->p, req->n), h, body);
        if (rc >= 0 || rc == h->status)
            return;
        usleep(100000);
    }
    fail("segstore does not answer");
}

typedef struct worker {
    ipc_client *cl;
    int id;
    int round;
} worker;

static void *
append_loop(void *arg)
{
    worker *w = arg;
    sl_buf b, req, body;
    sl_buf_init(&b);
    sl_buf_init(&req);
    sl_buf_init(&body);
    unsigned seed = (unsigned)(w->round * 131 + w->id);
    for (int seq = 0; !atomic_load(&stop_appending); seq++) {
        int n = 1 + (int)(rand_r(&seed) % 5);
        int32_t part = (int32_t)(rand_r(&seed) % PARTS);
        acked a = {part, -1, n, ""};
        snprintf(a.value, sizeof(a.value), "r%d-t%d-s%d", w->round, w->id, seq);
        sl_buf_reset(&b);
        sl_batch_builder bb;
        sl_batch_builder_init(&bb, &b, sl_now_ms());
        for (int k = 0; k < n; k++) {
            char v[80];
            snprintf(v, sizeof(v), "%s-%d", a.value, k);
            sl_slice vs = sl_slice_str(v);
            sl_batch_builder_add(&bb, sl_now_ms(), NULL, &vs, NULL, 0);
        }
        sl_batch_builder_finish(&bb);
        ipc_append_entry e = {sl_slice_str("crash"), part,
                              sl_slice_make(b.p, b.n)};
        ipc_append_req_encode(&req, 0, &e, 1);
        ipc_hdr h;
        int rc = ipc_client_call(w->cl, sl_slice_make(req.p, req.n), &h, &body);
        if (rc != 0)
            break; /* segstore is gone: not acknowledged */
        ipc_append_rep m;
        ipc_append_result r;
        if (ipc_append_rep_decode(sl_slice_make(body.p, body.n), &m) != 0 ||
            ipc_append_rep_next(&m, &r) != 1)
            fail("malformed append reply");
        if (r.status != 0)
            break;
        if (r.last_offset - r.base_offset != n - 1)
            fail("append answered %" PRId64 "..%" PRId64 " for %d records",
                 r.base_offset, r.last_offset, n);
        a.base = r.base_offset;
        pthread_mutex_lock(&ack_mu);
        if (nacks == ackcap) {
            ackcap = ackcap ? ackcap * 2 : 4096;
            acks = realloc(acks, ackcap * sizeof(*acks));
        }
        acks[nacks++] = a;
        pthread_mutex_unlock(&ack_mu);
    }
    sl_buf_fini(&b);
    sl_buf_fini(&req);
    sl_buf_fini(&body);
    return NULL;
}

/* Read a whole partition inline: values[offset - 0] (NULL for missing). */
static char **
read_partition(ipc_client *cl, int32_t part, int64_t *end)
{
    sl_buf req, body;
    sl_buf_init(&req);
    sl_buf_init(&body);
    char **vals = NULL;
    size_t cap = 0;
    int64_t from = 0;
    for (;;) {
        ipc_read_entry e = {sl_slice_str("crash"), part, from, 1 << 20};
        ipc_read_req_encode(&req, IPC_READ_INLINE, &e, 1);
        ipc_hdr h;
        call_ok(cl, &req, &body, &h);
        ipc_read_rep m;
        ipc_read_result r;
        if (h.status != 0 ||
            ipc_read_rep_decode(sl_slice_make(body.p, body.n), &m) != 0 ||
            ipc_read_rep_next(&m, &r) != 1)
            fail("read reply");
        if (r.status != 0)
            fail("read at %" PRId64 ": %s", from, sl_strerror(r.status));
        if (r.kind == IPC_READ_NONE)
            break;
        sl_slice rest = r.data;
        sl_batch_hdr bh;
        sl_slice b;
        while (sl_batch_next(&rest, 0, &bh, &b) == 0) {
            if (sl_batch_check(b, SL_BATCH_CHECK_CRC | SL_BATCH_CHECK_RECORDS,
                               &bh) != 0)
                fail("partition %d: served a bad batch at %" PRId64, part,
                     bh.base_offset);
            if (bh.base_offset != from)
                fail("partition %d: gap: expected %" PRId64 " got %" PRId64,
                     part, from, bh.base_offset);
            sl_rd rd;
            sl_rd_init(&rd, sl_batch_records(b));
            sl_record rec;
            while (sl_record_next(&rd, &rec) == 0) {
                int64_t off = bh.base_offset + rec.offset_delta;
                if ((size_t)off >= cap) {
                    cap = cap ? cap * 2 : 4096;
                    while ((size_t)off >= cap)
                        cap *= 2;
                    vals = realloc(vals, cap * sizeof(*vals));
                }
                vals[off] = strndup((const char *)rec.value.p, rec.value.n);
            }
            from = sl_batch_last_offset(&bh) + 1;
        }
        if (from >= r.high_watermark)
            break;
    }
    *end = from;
    sl_buf_fini(&req);
    sl_buf_fini(&body);
    return vals;
}

/* Power-cut simulation: cut the active segment of part somewhere after the
 * last acknowledged batch and write random garbage after the cut. */
static void
tear_tail(int32_t part, int64_t last_acked_end, unsigned *seed)
{
    char dir[PATH_MAX + 64];
    snprintf(dir, sizeof(dir), "%s/crash/%d", data_dir, part);
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *de;
    char best[64] = "";
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l == 24 && strcmp(de->d_name + 20, ".log") == 0 &&
            strcmp(de->d_name, best) > 0)
            snprintf(best, sizeof(best), "%s", de->d_name);
    }
    closedir(d);
    if (!best[0])
        return;
    char path[PATH_MAX + 160];
    snprintf(path, sizeof(path), "%s/%s", dir, best);
    int fd = open(path, O_RDWR);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        fail("open %s", path);
    uint8_t *m = malloc((size_t)st.st_size + 1);
    if (pread(fd, m, (size_t)st.st_size, 0) != st.st_size)
        fail("read %s", path);
    /* Walk batches: find the end of the last acknowledged one and the end
     * of the data. */
    uint64_t pos = 0, safe = 0;
    sl_slice rest = sl_slice_make(m, (size_t)st.st_size);
    sl_batch_hdr h;
    sl_slice b;
    while (sl_batch_next(&rest, 0, &h, &b) == 0 &&
           sl_batch_check(b, SL_BATCH_CHECK_CRC, &h) == 0) {
        pos += b.n;
        if (sl_batch_last_offset(&h) < last_acked_end)
            safe = pos;
    }
    /* Bytes a checkpoint covers were fdatasynced; a power cut cannot
     * touch them, so neither does the simulation. */
    char ipath[PATH_MAX + 160];
    snprintf(ipath, sizeof(ipath), "%s/%.20s.index", dir, best);
    int ifd = open(ipath, O_RDONLY);
    uint8_t ih[64];
    if (ifd >= 0 && pread(ifd, ih, sizeof(ih), 0) == (ssize_t)sizeof(ih) &&
        sl_get_u64be(ih + 16) > safe)
        safe = sl_get_u64be(ih + 16);
    if (ifd >= 0)
        close(ifd);
    if (pos > safe) {
        uint64_t cut = safe + (uint64_t)rand_r(seed) % (pos - safe + 1);
        uint8_t junk[512];
        for (size_t i = 0; i < sizeof(junk); i++)
            junk[i] = (uint8_t)rand_r(seed);
        if (pwrite(fd, junk, sizeof(junk), (off_t)cut) != (ssize_t)sizeof(junk))
            fail("write junk");
    }
    free(m);
    close(fd);
}

static int
rm_cb(const char *p, const struct stat *sb, int f, struct FTW *w)
{
    (void)sb;
    (void)f;
    (void)w;
    return remove(p);
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: crash_test SEGSTORE_BIN WORKDIR [ROUNDS] "
                        "[SECONDS]\n");
        return 2;
    }
    const char *bin = argv[1];
    int rounds = argc > 3 ? atoi(argv[3]) : 20;
    double seconds = argc > 4 ? atof(argv[4]) : 60;
    mkdir(argv[2], 0755);
    char work[PATH_MAX];
    if (realpath(argv[2], work) == NULL)
        fail("workdir %s", argv[2]);
    snprintf(data_dir, sizeof(data_dir), "%s/data", work);
    nftw(data_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    snprintf(sock_url, sizeof(sock_url), "ipc://%s/seg.sock", work);
    signal(SIGPIPE, SIG_IGN);
    unsigned seed = (unsigned)getpid();
    uint64_t t_end = sl_mono_ns() + (uint64_t)(seconds * 1e9);
    int torn = 0;

    pid_t pid = start_segstore(bin);
    ipc_client_opts o = {0};
    o.url = sock_url;
    o.name = "crash_test";
    o.timeout_ms = 3000;
    ipc_client *admin;
    if (ipc_client_new(&o, &admin) != 0)
        fail("client");
    {
        sl_buf req, body;
        sl_buf_init(&req);
        sl_buf_init(&body);
        ipc_topic_create_req_encode(&req, sl_slice_str("crash"), PARTS, NULL,
                                    0);
        ipc_hdr h;
        call_ok(admin, &req, &body, &h);
        if (h.status != 0)
            fail("create topic: %s", sl_strerror(h.status));
        sl_buf_fini(&req);
        sl_buf_fini(&body);
    }

    int round;
    for (round = 0; round < rounds && sl_mono_ns() < t_end; round++) {
        atomic_store(&stop_appending, 0);
        worker w[THREADS];
        pthread_t th[THREADS];
        for (int i = 0; i < THREADS; i++) {
            o.timeout_ms = 3000;
            if (ipc_client_new(&o, &w[i].cl) != 0)
                fail("client");
            w[i].id = i;
            w[i].round = round;
            pthread_create(&th[i], NULL, append_loop, &w[i]);
        }
        usleep(100000 + (useconds_t)(rand_r(&seed) % 500000));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        atomic_store(&stop_appending, 1);
        for (int i = 0; i < THREADS; i++) {
            pthread_join(th[i], NULL);
            ipc_client_close(w[i].cl);
            ipc_client_free(w[i].cl);
        }
        if (round % 2 == 1) {
            for (int32_t p = 0; p < PARTS; p++) {
                int64_t end = 0;
                for (size_t i = 0; i < nacks; i++)
                    if (acks[i].part == p && acks[i].base + acks[i].n > end)
                        end = acks[i].base + acks[i].n;
                tear_tail(p, end, &seed);
            }
            torn++;
        }
        pid = start_segstore(bin);
        size_t checked = 0;
        int64_t ends[PARTS];
        for (int32_t p = 0; p < PARTS; p++) {
            int64_t end;
            char **vals = read_partition(admin, p, &end);
            ends[p] = end;
            for (size_t i = 0; i < nacks; i++) {
                if (acks[i].part != p)
                    continue;
                for (int k = 0; k < acks[i].n; k++) {
                    int64_t off = acks[i].base + k;
                    char want[80];
                    snprintf(want, sizeof(want), "%s-%d", acks[i].value, k);
                    if (off >= end || vals[off] == NULL ||
                        strcmp(vals[off], want) != 0)
                        fail("round %d: acknowledged record %s at partition "
                             "%d offset %" PRId64 " is %s",
                             round, want, p, off,
                             off >= end || !vals[off] ? "missing" : vals[off]);
                    checked++;
                }
            }
            for (int64_t off = 0; off < end; off++)
                free(vals[off]);
            free(vals);
        }
        printf("round %d: %zu acknowledged records intact; partition ends "
               "%" PRId64 ", %" PRId64 "%s\n",
               round, checked, ends[0], ends[1],
               round % 2 == 1 ? " (after a torn tail)" : "");
        fflush(stdout);
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    ipc_client_close(admin);
    ipc_client_free(admin);
    printf("crash_test: %d rounds (%d with torn tails), %zu acknowledged "
           "appends, none lost\n",
           round, torn, nacks);
    free(acks);
    return 0;
}
