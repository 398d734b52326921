/*
 * ss_tier_svc.c — the tier service: offload, manifests, tier retention,
 * downloads into the local cache.
 *
 * Objects of partition <topic>/<p> (keys relative to the tier URL):
 *   <topic>/<p>/<base:020>.log, .index, .timeindex   one offloaded segment
 *   <topic>/<p>/manifest                             docs/format.md "Tier"
 * and the manifest's local copy <data>/<topic>/<p>/tier.manifest.
 *
 * Invariants (crash safety):
 *  1. A manifest (remote or local) only lists segments whose three objects
 *     were confirmed stored before that manifest was written: offload
 *     uploads the objects, then PUTs the manifest, then writes the local
 *     copy (tmp + rename), and only then deletes the local segment.
 *  2. A local segment is deleted only once a manifest listing it is stored
 *     in the tier and locally; a crash anywhere before leaves the local
 *     segment, and the next offload of it overwrites the same keys with
 *     the same bytes.
 *  3. Tier retention writes the shorter manifest (remote, then local)
 *     before deleting any object, so no manifest names a deleted object.
 *  4. On start the newer manifest (higher generation) of the two copies
 *     wins; local segments it covers are deleted (the step a crash cut).
 *  5. The cache holds only objects whose XXH3-128 matched the manifest;
 *     a mismatch is remembered for a few seconds and every read of that
 *     segment fails with SL_E_CORRUPT meanwhile.
 */
#include "ss_tier_svc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libaio.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CORRUPT_HOLD_MS 5000
#define BACKOFF_MIN_MS  100
#define BACKOFF_MAX_MS  30000

typedef struct tpart {
    ss_log *log; /* held */
    char topic[SS_TOPIC_NAME_MAX + 1];
    int32_t partition;
    ss_tier_manifest m;
    int64_t failures;
    int64_t next_try_ms;
    char last_error[256];
} tpart;

/* A cached (or downloading) segment object. */
typedef struct centry {
    char topic[SS_TOPIC_NAME_MAX + 1];
    int32_t partition;
    int64_t base;
    ss_tier_ent ent;
    int state; /* CE_LOADING, CE_READY, CE_FAILED */
    int rc;    /* CE_FAILED: why */
    int64_t failed_ms;
    uint64_t used;
    const uint8_t *map;
    size_t map_len;
    void **waiters;
    size_t nwait, wcap;
} centry;

enum { CE_LOADING = 0, CE_READY = 1, CE_FAILED = 2 };

typedef struct delkey {
    char key[SS_TIER_KEY_MAX];
} delkey;

struct ss_tier_svc {
    ss_tier_svc_conf conf;
    char data_dir[260];
    ss_tier *up, *down; /* one backend per thread */
    ss_store *store;
    pthread_mutex_t *mu;
    pthread_cond_t ocv, dcv;
    pthread_t othr, dthr;
    int started, stop;
    tpart **parts;
    size_t nparts, pcap;
    centry **cache;
    size_t ncache, ccap;
    uint64_t clock;
    delkey *dels; /* objects of deleted topics, to delete */
    size_t ndels, dcap;
    ss_tier_counters ctr;
};

/* ---- small helpers -------------------------------------------------------
 */

static int
mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int
write_atomic(const char *path, const uint8_t *p, size_t n)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int rc = 0;
    size_t off = 0;
    while (off < n && rc == 0) {
        ssize_t w = write(fd, p + off, n - off);
        if (w < 0 && errno != EINTR)
            rc = -errno;
        else if (w > 0)
            off += (size_t)w;
    }
    if (rc == 0 && fdatasync(fd) != 0)
        rc = -errno;
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *sl = strrchr(dir, '/');
    if (sl != NULL) {
        *sl = 0;
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return 0;
}

static int
read_whole(const char *path, sl_buf *out)
{
    sl_buf_reset(out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0 || st.st_size > (off_t)(1 << 30)) {
        close(fd);
        return SL_E_TOOBIG;
    }
    uint8_t *p = sl_buf_extend(out, (size_t)st.st_size);
    size_t got = 0;
    while (rc == 0 && got < (size_t)st.st_size) {
        ssize_t r = pread(fd, p + got, (size_t)st.st_size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            rc = r < 0 ? -errno : SL_E_IO;
        else
            got += (size_t)r;
    }
    close(fd);
    return rc;
}

/*
 * Read a sealed segment file of `size` bytes into an aligned buffer.  With
 * odirect: O_DIRECT reads of 1 MiB through libaio, four in flight, so the
 * offload neither fills the page cache nor evicts the hot tail from it.
 * Falls back to buffered reads where O_DIRECT is refused (tmpfs).
 */
static int
read_segment(const char *path, uint64_t size, int odirect, uint8_t **out)
{
    enum { CHUNK = 1 << 20, DEPTH = 4 };
    *out = NULL;
    size_t cap = (size_t)((size + 4095) & ~(uint64_t)4095);
    uint8_t *buf;
    if (posix_memalign((void **)&buf, 4096, cap ? cap : 4096) != 0)
        return -ENOMEM;
    int fd = -1;
    if (odirect)
        fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (fd < 0 && odirect && errno != EINVAL) {
        free(buf);
        return -errno;
    }
    int rc = 0;
    if (fd >= 0) {
        io_context_t ctx = 0;
        rc = io_setup(DEPTH, &ctx);
        if (rc != 0)
            goto buffered;
        struct iocb cbs[DEPTH], *cbp[1];
        struct io_event ev[DEPTH];
        int free_slots[DEPTH], nfree = DEPTH;
        for (int i = 0; i < DEPTH; i++)
            free_slots[i] = i;
        size_t next = 0, total = 0;
        int inflight = 0;
        while (rc == 0 && (next < cap || inflight > 0)) {
            while (nfree > 0 && next < cap) {
                struct iocb *cb = &cbs[free_slots[--nfree]];
                size_t len = SL_MIN((size_t)CHUNK, cap - next);
                io_prep_pread(cb, fd, buf + next, len, (long long)next);
                cbp[0] = cb;
                int s = io_submit(ctx, 1, cbp);
                if (s != 1) {
                    nfree++;
                    rc = s < 0 ? s : SL_E_IO;
                    break;
                }
                next += len;
                inflight++;
            }
            if (inflight == 0)
                break;
            int got = io_getevents(ctx, 1, inflight, ev, NULL);
            if (got < 0) {
                if (got == -EINTR)
                    continue;
                rc = got;
                break;
            }
            for (int i = 0; i < got; i++) {
                inflight--;
                free_slots[nfree++] = (int)(ev[i].obj - cbs);
                /* A short read is the end of the file. */
                if ((long)ev[i].res < 0)
                    rc = (int)(long)ev[i].res;
                else
                    total += (size_t)ev[i].res;
            }
        }
        while (inflight > 0 && rc != 0) {
            int got = io_getevents(ctx, 1, inflight, ev, NULL);
            if (got <= 0)
                break;
            inflight -= got;
        }
        io_destroy(ctx);
        close(fd);
        if (rc == 0 && total < size)
            rc = SL_E_CORRUPT; /* shorter than the log says */
        if (rc != 0) {
            free(buf);
            return rc;
        }
        *out = buf;
        return 0;
    }
buffered:
    if (fd >= 0)
        close(fd);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        free(buf);
        return -errno;
    }
    size_t got = 0;
    while (rc == 0 && got < size) {
        ssize_t r = pread(fd, buf + got, size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            rc = r < 0 ? -errno : SL_E_CORRUPT;
        else
            got += (size_t)r;
    }
    close(fd);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    return 0;
}

static void
part_keys(const tpart *p, int64_t base, ss_tier_ent *e)
{
    snprintf(e->key_log, sizeof(e->key_log), "%s/%d/%020" PRId64 ".log",
             p->topic, p->partition, base);
    snprintf(e->key_index, sizeof(e->key_index), "%s/%d/%020" PRId64 ".index",
             p->topic, p->partition, base);
    snprintf(e->key_tindex, sizeof(e->key_tindex),
             "%s/%d/%020" PRId64 ".timeindex", p->topic, p->partition, base);
}

static void
manifest_key(const tpart *p, char *out, size_t n)
{
    snprintf(out, n, "%s/%d/manifest", p->topic, p->partition);
}

static void
local_manifest_path(const tpart *p, char *out, size_t n)
{
    snprintf(out, n, "%s/tier.manifest", ss_log_dir(p->log));
}

static int
manifest_copy(ss_tier_manifest *dst, const ss_tier_manifest *src)
{
    ss_tier_manifest_init(dst);
    dst->generation = src->generation;
    for (size_t i = 0; i < src->n; i++) {
        int rc = ss_tier_manifest_push(dst, &src->ents[i]);
        if (rc != 0) {
            ss_tier_manifest_fini(dst);
            return rc;
        }
    }
    return 0;
}

/* Publish p's manifest to its log (under mu). */
static void
part_publish(tpart *p)
{
    if (p->m.n == 0)
        ss_log_set_remote(p->log, -1, 0);
    else
        ss_log_set_remote(p->log, p->m.ents[0].base,
                          (int64_t)ss_tier_manifest_bytes(&p->m));
}

static tpart *
part_find_log(ss_tier_svc *t, const ss_log *l)
{
    for (size_t i = 0; i < t->nparts; i++)
        if (t->parts[i]->log == l)
            return t->parts[i];
    return NULL;
}

/* Store m in the tier, then locally (no mu).  p is a private copy of the
 * partition's names: the tpart itself may be freed meanwhile (topic
 * deletion). */
static int
manifest_store(ss_tier *tier, const tpart *p, const char *local_path,
               const ss_tier_manifest *m, char *err, size_t errlen)
{
    sl_buf b;
    sl_buf_init(&b);
    char key[SS_TIER_KEY_MAX];
    manifest_key(p, key, sizeof(key));
    int rc = ss_tier_manifest_encode(m, &b);
    if (rc == 0 && (rc = ss_tier_put(tier, key, b.p, b.n)) != 0)
        snprintf(err, errlen, "%s", ss_tier_last_error(tier));
    else if (rc == 0 && (rc = write_atomic(local_path, b.p, b.n)) != 0)
        snprintf(err, errlen, "%s: %s", local_path, sl_strerror(rc));
    sl_buf_fini(&b);
    return rc;
}

/* ---- loading and reconciling a partition --------------------------------
 */

/* Create p for (topic, partition, l) and load its manifest: the newer of
 * the local and remote copies (no mu held: the log is held). */
static int
part_load(ss_tier_svc *t, tpart *p)
{
    char lpath[PATH_MAX], key[SS_TIER_KEY_MAX];
    local_manifest_path(p, lpath, sizeof(lpath));
    manifest_key(p, key, sizeof(key));
    sl_buf b;
    sl_buf_init(&b);
    ss_tier_manifest lm, rm;
    ss_tier_manifest_init(&lm);
    ss_tier_manifest_init(&rm);
    int lrc = read_whole(lpath, &b);
    if (lrc == 0)
        lrc = ss_tier_manifest_decode(sl_slice_make(b.p, b.n), &lm);
    int rrc = ss_tier_get(t->up, key, 0, 0, &b);
    if (rrc == 0)
        rrc = ss_tier_manifest_decode(sl_slice_make(b.p, b.n), &rm);
    sl_buf_fini(&b);
    if (lrc != 0 && lrc != -ENOENT)
        sl_log(SL_LOG_WARN, "SS-TIER", "log=%s local manifest unusable: %s",
               ss_log_rel(p->log), sl_strerror(lrc));
    if (rrc != 0 && rrc != -ENOENT)
        sl_log(SL_LOG_WARN, "SS-TIER", "log=%s remote manifest: %s",
               ss_log_rel(p->log), ss_tier_last_error(t->up));
    int rc = 0;
    if (rrc == 0 && (lrc != 0 || rm.generation > lm.generation)) {
        /* The remote copy is newer: a crash came between the two writes. */
        sl_buf e;
        sl_buf_init(&e);
        if (ss_tier_manifest_encode(&rm, &e) == 0)
            rc = write_atomic(lpath, e.p, e.n);
        sl_buf_fini(&e);
        ss_tier_manifest_fini(&p->m);
        p->m = rm;
        ss_tier_manifest_init(&rm);
    } else if (lrc == 0) {
        ss_tier_manifest_fini(&p->m);
        p->m = lm;
        ss_tier_manifest_init(&lm);
    } else if (lrc != -ENOENT || (rrc != -ENOENT && rrc != 0)) {
        /* Neither copy readable, and one exists: offloading now could
         * write a manifest that forgets offloaded segments. */
        rc = rrc != 0 ? rrc : lrc;
    }
    ss_tier_manifest_fini(&lm);
    ss_tier_manifest_fini(&rm);
    return rc;
}

/* Under mu: find or add the tpart of every tier-enabled partition; returns
 * one that still needs loading (hold its log), or NULL. */
static tpart *
parts_sync(ss_tier_svc *t, int *need_load)
{
    *need_load = 0;
    for (size_t i = 0; i < ss_store_topic_count(t->store); i++) {
        ss_topic *tp = ss_store_topic_at(t->store, i);
        if (!ss_topic_cfg(tp)->tier_enable)
            continue;
        for (int32_t p = 0; p < ss_topic_partitions(tp); p++) {
            ss_log *l = ss_topic_log(tp, p);
            if (part_find_log(t, l) != NULL)
                continue;
            tpart *np = calloc(1, sizeof(*np));
            if (np == NULL)
                return NULL;
            if (t->nparts == t->pcap) {
                size_t cap = t->pcap ? t->pcap * 2 : 16;
                tpart **n = realloc(t->parts, cap * sizeof(*n));
                if (n == NULL) {
                    free(np);
                    return NULL;
                }
                t->parts = n;
                t->pcap = cap;
            }
            np->log = l;
            ss_log_hold(l);
            snprintf(np->topic, sizeof(np->topic), "%s", ss_topic_name(tp));
            np->partition = p;
            ss_tier_manifest_init(&np->m);
            np->next_try_ms = -1; /* -1: not loaded */
            t->parts[t->nparts++] = np;
            *need_load = 1;
            return np;
        }
    }
    for (size_t i = 0; i < t->nparts; i++)
        if (t->parts[i]->next_try_ms == -1) {
            *need_load = 1;
            return t->parts[i];
        }
    return NULL;
}

/* Load p (mu held on entry and exit, released for I/O). */
static void
load_locked(ss_tier_svc *t, tpart *p)
{
    ss_log *l = p->log;
    ss_log_hold(l);
    tpart tmp = *p; /* p may be freed while mu is released */
    ss_tier_manifest_init(&tmp.m);
    pthread_mutex_unlock(t->mu);
    int rc = part_load(t, &tmp);
    pthread_mutex_lock(t->mu);
    if (part_find_log(t, l) != p) {
        /* Deleted meanwhile. */
        ss_tier_manifest_fini(&tmp.m);
        ss_log_rele(l);
        return;
    }
    if (rc != 0) {
        snprintf(p->last_error, sizeof(p->last_error),
                 "cannot load manifest: %s", ss_tier_last_error(t->up));
        p->failures++;
        /* Stay unloaded; retry on the next pass. */
        ss_tier_manifest_fini(&tmp.m);
        ss_log_rele(l);
        return;
    }
    ss_tier_manifest_fini(&p->m);
    p->m = tmp.m;
    p->next_try_ms = 0;
    part_publish(p);
    /* Local segments the manifest covers were offloaded; a crash came
     * before their deletion. */
    int64_t b, n, mt;
    uint64_t sz;
    while (p->m.n > 0 && ss_log_sealed_front(l, &b, &n, &sz, &mt) &&
           n <= p->m.ents[p->m.n - 1].next && b >= p->m.ents[0].base) {
        if (ss_log_drop_front(l, b) != 1)
            break;
    }
    if (p->m.n > 0)
        sl_log(SL_LOG_INFO, "SS-TIER",
               "log=%s manifest generation=%" PRIu64 " segments=%zu "
               "remote=[%" PRId64 ",%" PRId64 ")",
               ss_log_rel(l), p->m.generation, p->m.n, p->m.ents[0].base,
               p->m.ents[p->m.n - 1].next);
    ss_log_rele(l);
}

/* ---- offload -------------------------------------------------------------
 */

static int
due_for_offload(const tpart *p, const ss_log_cfg *cfg, int64_t now,
                int64_t max_ts, uint64_t size)
{
    if (!cfg->tier_enable)
        return 0;
    int by_time = cfg->tier_local_retention_ms >= 0 && max_ts >= 0 &&
                  now - max_ts > cfg->tier_local_retention_ms;
    int by_size =
        cfg->tier_local_retention_bytes >= 0 &&
        ss_log_bytes(p->log) - (int64_t)size >= cfg->tier_local_retention_bytes;
    return by_time || by_size;
}

static const ss_log_cfg *
part_cfg(ss_tier_svc *t, const tpart *p)
{
    ss_topic *tp = ss_store_topic_find(t->store, sl_slice_str(p->topic));
    return tp ? ss_topic_cfg(tp) : NULL;
}

static void
note_failure(tpart *p, int64_t now, const char *what, const char *err)
{
    p->failures++;
    int64_t back = BACKOFF_MIN_MS;
    for (int64_t i = 1; i < p->failures && back < BACKOFF_MAX_MS; i++)
        back *= 2;
    if (back > BACKOFF_MAX_MS)
        back = BACKOFF_MAX_MS;
    p->next_try_ms = now + back;
    snprintf(p->last_error, sizeof(p->last_error), "%s: %s", what, err);
    sl_log(SL_LOG_WARN, "SS-TIER",
           "log=%s %s failed (attempt %" PRId64 ", retry in %" PRId64
           " ms; local data kept): %s",
           ss_log_rel(p->log), what, p->failures, back, err);
}

/* Offload p's oldest local segment (mu held on entry and exit). */
static void
offload_locked(ss_tier_svc *t, tpart *p, int64_t base, int64_t next,
               uint64_t size, int64_t max_ts)
{
    ss_log *l = p->log;
    ss_log_hold(l);
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", ss_log_dir(l));
    ss_tier_ent e;
    memset(&e, 0, sizeof(e));
    e.base = base;
    e.next = next;
    e.max_ts = max_ts;
    e.size = size;
    part_keys(p, base, &e);
    ss_tier_manifest nm;
    if (manifest_copy(&nm, &p->m) != 0) {
        ss_log_rele(l);
        return;
    }
    char lpath[PATH_MAX];
    local_manifest_path(p, lpath, sizeof(lpath));
    tpart *names = malloc(sizeof(*names));
    if (names == NULL) {
        ss_tier_manifest_fini(&nm);
        ss_log_rele(l);
        return;
    }
    memcpy(names->topic, p->topic, sizeof(names->topic));
    names->partition = p->partition;
    pthread_mutex_unlock(t->mu);

    char err[512] = "";
    char path[PATH_MAX + 64];
    uint8_t *data = NULL;
    sl_buf ix, tx;
    sl_buf_init(&ix);
    sl_buf_init(&tx);
    uint64_t t0 = sl_mono_ns();
    snprintf(path, sizeof(path), "%s/%020" PRId64 ".log", dir, base);
    int rc = read_segment(path, size, t->conf.odirect, &data);
    if (rc != 0)
        snprintf(err, sizeof(err), "%.300s: %s", path, sl_strerror(rc));
    if (rc == 0) {
        snprintf(path, sizeof(path), "%s/%020" PRId64 ".index", dir, base);
        rc = read_whole(path, &ix);
        if (rc == 0) {
            snprintf(path, sizeof(path), "%s/%020" PRId64 ".timeindex", dir,
                     base);
            rc = read_whole(path, &tx);
        }
        if (rc != 0)
            snprintf(err, sizeof(err), "%.300s: %s", path, sl_strerror(rc));
    }
    if (rc == 0) {
        e.min_ts = ss_tier_seg_min_ts(sl_slice_make(data, size));
        ss_tier_digest(data, size, e.digest);
        if ((rc = ss_tier_put(t->up, e.key_log, data, size)) == 0 &&
            (rc = ss_tier_put(t->up, e.key_index, ix.p, ix.n)) == 0)
            rc = ss_tier_put(t->up, e.key_tindex, tx.p, tx.n);
        if (rc != 0)
            snprintf(err, sizeof(err), "%s", ss_tier_last_error(t->up));
    }
    if (rc == 0) {
        nm.generation++;
        rc = ss_tier_manifest_push(&nm, &e);
        if (rc != 0)
            snprintf(err, sizeof(err),
                     "segment %" PRId64 " does not continue the manifest",
                     base);
    }
    if (rc == 0)
        rc = manifest_store(t->up, names, lpath, &nm, err, sizeof(err));
    free(names);
    free(data);
    sl_buf_fini(&ix);
    sl_buf_fini(&tx);
    uint64_t took = sl_mono_ns() - t0;

    pthread_mutex_lock(t->mu);
    int64_t now = sl_now_ms();
    if (part_find_log(t, l) != p) {
        ss_tier_manifest_fini(&nm);
        ss_log_rele(l);
        return;
    }
    if (rc != 0) {
        t->ctr.offload_failures++;
        note_failure(p, now, "offload", err);
        ss_tier_manifest_fini(&nm);
        ss_log_rele(l);
        return;
    }
    ss_tier_manifest_fini(&p->m);
    p->m = nm;
    p->failures = 0;
    p->next_try_ms = 0;
    p->last_error[0] = 0;
    part_publish(p);
    ss_log_drop_front(l, base);
    t->ctr.offloaded_segments++;
    t->ctr.offloaded_bytes += size;
    sl_log(SL_LOG_INFO, "SS-TIER",
           "log=%s offloaded segment base=%" PRId64 " next=%" PRId64
           " bytes=%" PRIu64 " ms=%.1f",
           ss_log_rel(l), base, next, size, (double)took / 1e6);
    ss_log_rele(l);
}

/* Tier retention: drop p's front entries past retention.* (mu held).
 * Returns 1 when it released mu (p may be gone then: rescan), 0 when it
 * found nothing to drop. */
static int
trim_locked(ss_tier_svc *t, tpart *p, const ss_log_cfg *cfg, int64_t now)
{
    size_t drop = 0;
    int64_t total =
        (int64_t)ss_tier_manifest_bytes(&p->m) + ss_log_bytes(p->log);
    while (drop < p->m.n) {
        const ss_tier_ent *e = &p->m.ents[drop];
        int expired = cfg->retention_ms >= 0 && e->max_ts >= 0 &&
                      now - e->max_ts > cfg->retention_ms;
        int oversize = cfg->retention_bytes >= 0 &&
                       total - (int64_t)e->size >= cfg->retention_bytes;
        if (!expired && !oversize)
            break;
        total -= (int64_t)e->size;
        drop++;
    }
    if (drop == 0)
        return 0;
    ss_log *l = p->log;
    ss_log_hold(l);
    ss_tier_manifest nm;
    if (manifest_copy(&nm, &p->m) != 0) {
        ss_log_rele(l);
        return 0;
    }
    ss_tier_ent *gone = malloc(drop * sizeof(*gone));
    if (gone == NULL) {
        ss_tier_manifest_fini(&nm);
        ss_log_rele(l);
        return 0;
    }
    memcpy(gone, nm.ents, drop * sizeof(*gone));
    ss_tier_manifest_drop_front(&nm, drop);
    nm.generation++;
    char lpath[PATH_MAX];
    local_manifest_path(p, lpath, sizeof(lpath));
    tpart *names = malloc(sizeof(*names));
    if (names == NULL) {
        ss_tier_manifest_fini(&nm);
        free(gone);
        ss_log_rele(l);
        return 0;
    }
    memcpy(names->topic, p->topic, sizeof(names->topic));
    names->partition = p->partition;
    pthread_mutex_unlock(t->mu);
    char err[512] = "";
    int rc = manifest_store(t->up, names, lpath, &nm, err, sizeof(err));
    free(names);
    pthread_mutex_lock(t->mu);
    /* p is freed when its topic was deleted meanwhile (the failure is
     * then most likely that deletion's): look it up before touching it. */
    int deleted = part_find_log(t, l) != p;
    if (rc != 0 || deleted) {
        if (rc != 0 && !deleted)
            note_failure(p, now, "retention", err);
        ss_tier_manifest_fini(&nm);
        free(gone);
        ss_log_rele(l);
        return 1; /* mu was released: the caller must not use p again */
    }
    ss_tier_manifest_fini(&p->m);
    p->m = nm;
    part_publish(p);
    /* The objects go after the manifest that stopped naming them. */
    for (size_t i = 0; i < drop; i++) {
        sl_log(SL_LOG_INFO, "SS-RETAIN",
               "log=%s deleted tier segment base=%" PRId64 " next=%" PRId64,
               ss_log_rel(l), gone[i].base, gone[i].next);
        const char *keys[3] = {gone[i].key_log, gone[i].key_index,
                               gone[i].key_tindex};
        for (int k = 0; k < 3; k++) {
            if (t->ndels == t->dcap) {
                size_t cap = t->dcap ? t->dcap * 2 : 64;
                delkey *n = realloc(t->dels, cap * sizeof(*n));
                if (n == NULL)
                    break;
                t->dels = n;
                t->dcap = cap;
            }
            snprintf(t->dels[t->ndels++].key, SS_TIER_KEY_MAX, "%s", keys[k]);
        }
    }
    free(gone);
    ss_log_rele(l);
    return 1;
}

/* Delete queued objects (mu held on entry and exit). */
static void
delete_locked(ss_tier_svc *t)
{
    delkey *d = t->dels;
    size_t n = t->ndels;
    t->dels = NULL;
    t->ndels = t->dcap = 0;
    pthread_mutex_unlock(t->mu);
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = ss_tier_delete(t->up, d[i].key);
        if (rc == 0)
            ok++;
        else
            sl_log(SL_LOG_WARN, "SS-TIER", "cannot delete %s: %s", d[i].key,
                   ss_tier_last_error(t->up));
    }
    free(d);
    pthread_mutex_lock(t->mu);
    t->ctr.deleted_objects += ok;
}

static void *
offload_main(void *arg)
{
    ss_tier_svc *t = arg;
    pthread_mutex_lock(t->mu);
    while (!t->stop) {
        int need_load;
        tpart *lp = parts_sync(t, &need_load);
        if (lp != NULL) {
            load_locked(t, lp);
            if (lp->next_try_ms == -1) {
                /* Failed to load: wait before the next try. */
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += 1;
                pthread_cond_timedwait(&t->ocv, t->mu, &ts);
            }
            continue;
        }
        if (t->ndels > 0) {
            delete_locked(t);
            continue;
        }
        int did = 0;
        int64_t now = sl_now_ms();
        for (size_t i = 0; i < t->nparts && !t->stop; i++) {
            tpart *p = t->parts[i];
            const ss_log_cfg *cfg = part_cfg(t, p);
            if (cfg == NULL || p->next_try_ms < 0 || now < p->next_try_ms)
                continue;
            if (trim_locked(t, p, cfg, now)) {
                did = 1;
                break;
            }
            int64_t b, n, mt;
            uint64_t sz;
            if (!ss_log_sealed_front(p->log, &b, &n, &sz, &mt))
                continue;
            if (p->m.n > 0 && n <= p->m.ents[p->m.n - 1].next) {
                ss_log_drop_front(p->log, b); /* already in the tier */
                did = 1;
                break;
            }
            if (!due_for_offload(p, cfg, now, mt, sz))
                continue;
            offload_locked(t, p, b, n, sz, mt);
            did = 1;
            break;
        }
        if (did || t->stop)
            continue;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (t->conf.check_ms % 1000) * 1000000;
        ts.tv_sec += t->conf.check_ms / 1000 + ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&t->ocv, t->mu, &ts);
    }
    pthread_mutex_unlock(t->mu);
    return NULL;
}

/* ---- the cache and downloads ---------------------------------------------
 */

static void
cache_path(const ss_tier_svc *t, const centry *c, char *out, size_t n, int rel)
{
    snprintf(out, n, "%.256s%s@tiercache/%s/%d/%020" PRId64 ".log",
             rel ? "" : t->data_dir, rel ? "" : "/", c->topic, c->partition,
             c->base);
}

static void
centry_free(ss_tier_svc *t, centry *c, int unlink_file)
{
    if (c->map != NULL)
        munmap((void *)c->map, c->map_len);
    if (unlink_file) {
        char path[PATH_MAX];
        cache_path(t, c, path, sizeof(path), 0);
        unlink(path);
    }
    free(c->waiters);
    free(c);
}

static void
cache_remove_at(ss_tier_svc *t, size_t i)
{
    centry *c = t->cache[i];
    t->cache[i] = t->cache[--t->ncache];
    centry_free(t, c, 1);
}

/* Evict ready entries, least recently used first, down to the budget. */
static void
cache_evict(ss_tier_svc *t)
{
    for (;;) {
        uint64_t total = 0;
        size_t lru = SIZE_MAX;
        for (size_t i = 0; i < t->ncache; i++) {
            centry *c = t->cache[i];
            if (c->state != CE_READY)
                continue;
            total += c->ent.size;
            if (lru == SIZE_MAX || c->used < t->cache[lru]->used)
                lru = i;
        }
        if (total <= (uint64_t)t->conf.cache_bytes || lru == SIZE_MAX)
            return;
        /* Keep at least the newest one: a single object larger than the
         * budget must still be servable. */
        size_t ready = 0;
        for (size_t i = 0; i < t->ncache; i++)
            ready += t->cache[i]->state == CE_READY;
        if (ready <= 1)
            return;
        t->ctr.cache_evictions++;
        cache_remove_at(t, lru);
    }
}

static centry *
cache_find(ss_tier_svc *t, const tpart *p, int64_t base)
{
    for (size_t i = 0; i < t->ncache; i++) {
        centry *c = t->cache[i];
        if (c->base == base && c->partition == p->partition &&
            strcmp(c->topic, p->topic) == 0)
            return c;
    }
    return NULL;
}

static int
add_waiter(centry *c, void *w)
{
    if (w == NULL)
        return 0;
    if (c->nwait == c->wcap) {
        size_t cap = c->wcap ? c->wcap * 2 : 4;
        void **n = realloc(c->waiters, cap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        c->waiters = n;
        c->wcap = cap;
    }
    c->waiters[c->nwait++] = w;
    return 0;
}

/* The ready cache entry of manifest entry e of p, or 1 (pending) or an
 * error (under mu). */
static int
cache_get(ss_tier_svc *t, tpart *p, const ss_tier_ent *e, void *waiter,
          centry **out)
{
    centry *c = cache_find(t, p, e->base);
    int64_t now = sl_now_ms();
    if (c != NULL && c->state == CE_FAILED &&
        now - c->failed_ms > CORRUPT_HOLD_MS) {
        for (size_t i = 0; i < t->ncache; i++)
            if (t->cache[i] == c) {
                cache_remove_at(t, i);
                break;
            }
        c = NULL;
    }
    if (c != NULL && c->state == CE_READY &&
        memcmp(c->ent.digest, e->digest, 16) != 0) {
        /* A stale object from before a topic was recreated. */
        for (size_t i = 0; i < t->ncache; i++)
            if (t->cache[i] == c) {
                cache_remove_at(t, i);
                break;
            }
        c = NULL;
    }
    if (c == NULL) {
        if (t->ncache == t->ccap) {
            size_t cap = t->ccap ? t->ccap * 2 : 32;
            centry **n = realloc(t->cache, cap * sizeof(*n));
            if (n == NULL)
                return -ENOMEM;
            t->cache = n;
            t->ccap = cap;
        }
        c = calloc(1, sizeof(*c));
        if (c == NULL)
            return -ENOMEM;
        snprintf(c->topic, sizeof(c->topic), "%s", p->topic);
        c->partition = p->partition;
        c->base = e->base;
        c->ent = *e;
        c->state = CE_LOADING;
        t->cache[t->ncache++] = c;
        pthread_cond_signal(&t->dcv);
    }
    if (c->state == CE_FAILED)
        return c->rc;
    if (c->state == CE_LOADING) {
        int rc = add_waiter(c, waiter);
        return rc != 0 ? rc : 1;
    }
    if (c->map == NULL && c->ent.size > 0) {
        char path[PATH_MAX];
        cache_path(t, c, path, sizeof(path), 0);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            /* Gone behind our back: fetch again. */
            c->state = CE_LOADING;
            pthread_cond_signal(&t->dcv);
            int rc = add_waiter(c, waiter);
            return rc != 0 ? rc : 1;
        }
        void *m = mmap(NULL, c->ent.size, PROT_READ, MAP_SHARED, fd, 0);
        close(fd);
        if (m == MAP_FAILED)
            return -errno;
        c->map = m;
        c->map_len = c->ent.size;
    }
    c->used = ++t->clock;
    t->ctr.cache_hits++;
    *out = c;
    return 0;
}

static void
wake_all(ss_tier_svc *t, centry *c)
{
    void **w = c->waiters;
    size_t n = c->nwait;
    c->waiters = NULL;
    c->nwait = c->wcap = 0;
    for (size_t i = 0; i < n; i++)
        t->conf.wake(t->conf.wake_arg, w[i]);
    free(w);
}

static void *
download_main(void *arg)
{
    ss_tier_svc *t = arg;
    sl_buf b;
    sl_buf_init(&b);
    pthread_mutex_lock(t->mu);
    while (!t->stop) {
        centry *c = NULL;
        for (size_t i = 0; i < t->ncache; i++)
            if (t->cache[i]->state == CE_LOADING) {
                c = t->cache[i];
                break;
            }
        if (c == NULL) {
            pthread_cond_wait(&t->dcv, t->mu);
            continue;
        }
        ss_tier_ent e = c->ent;
        char path[PATH_MAX], dir[PATH_MAX];
        cache_path(t, c, path, sizeof(path), 0);
        memcpy(dir, path, sizeof(dir));
        *strrchr(dir, '/') = 0;
        /* Mark it taken: another LOADING scan must not pick it again. */
        c->state = CE_LOADING + 100;
        pthread_mutex_unlock(t->mu);
        uint64_t t0 = sl_mono_ns();
        int rc = ss_tier_get(t->down, e.key_log, 0, 0, &b);
        char err[512] = "";
        if (rc != 0)
            snprintf(err, sizeof(err), "%s", ss_tier_last_error(t->down));
        int corrupt = 0;
        if (rc == 0) {
            uint8_t d[16];
            ss_tier_digest(b.p, b.n, d);
            if (b.n != e.size || memcmp(d, e.digest, 16) != 0) {
                corrupt = 1;
                rc = SL_E_CORRUPT;
                snprintf(
                    err, sizeof(err),
                    "%.300s: digest mismatch (got %zu bytes, manifest says "
                    "%" PRIu64 ")",
                    e.key_log, b.n, e.size);
            }
        }
        if (rc == 0 && (rc = mkdir_p(dir)) == 0)
            rc = write_atomic(path, b.p, b.n);
        if (rc != 0 && err[0] == 0)
            snprintf(err, sizeof(err), "%.300s: %s", path, sl_strerror(rc));
        uint64_t took = sl_mono_ns() - t0;
        size_t got = b.n;
        sl_buf_fini(&b);
        sl_buf_init(&b);
        pthread_mutex_lock(t->mu);
        if (rc == 0) {
            c->state = CE_READY;
            c->used = ++t->clock;
            t->ctr.downloads++;
            t->ctr.download_bytes += got;
            sl_log(SL_LOG_INFO, "SS-TIER", "downloaded %s bytes=%zu ms=%.1f",
                   e.key_log, got, (double)took / 1e6);
        } else {
            c->state = CE_FAILED;
            c->rc = corrupt ? SL_E_CORRUPT : SL_E_IO;
            c->failed_ms = sl_now_ms();
            t->ctr.download_failures++;
            t->ctr.digest_failures += (uint64_t)corrupt;
            sl_log(SL_LOG_ERROR, "SS-TIER", "download failed: %s", err);
        }
        wake_all(t, c);
        cache_evict(t);
    }
    pthread_mutex_unlock(t->mu);
    sl_buf_fini(&b);
    return NULL;
}

/* ---- reads (under mu) ----------------------------------------------------
 */

int
ss_tier_svc_read(ss_tier_svc *t, ss_log *l, int64_t offset, int32_t max_bytes,
                 int64_t limit, void *waiter, ss_tier_read_res *r)
{
    memset(r, 0, sizeof(*r));
    tpart *p = part_find_log(t, l);
    if (p == NULL)
        return SL_E_RANGE;
    ssize_t i = ss_tier_manifest_find(&p->m, offset);
    if (i < 0)
        return SL_E_RANGE;
    const ss_tier_ent *e = &p->m.ents[i];
    centry *c;
    int rc = cache_get(t, p, e, waiter, &c);
    if (rc != 0)
        return rc;
    uint64_t pos;
    uint32_t len;
    rc = ss_tier_seg_read(sl_slice_make(c->map, c->ent.size), offset, max_bytes,
                          limit, &pos, &len);
    if (rc != 0)
        return rc;
    r->data = c->map + pos;
    cache_path(t, c, r->path, sizeof(r->path), 1);
    r->segment_base = e->base;
    r->position = pos;
    r->length = len;
    return 0;
}

int
ss_tier_svc_find_time(ss_tier_svc *t, ss_log *l, int64_t ts, int64_t limit,
                      void *waiter, int64_t *offset, int64_t *found_ts)
{
    *offset = -1;
    *found_ts = -1;
    tpart *p = part_find_log(t, l);
    if (p == NULL)
        return 0;
    for (size_t i = 0; i < p->m.n; i++) {
        const ss_tier_ent *e = &p->m.ents[i];
        if (e->max_ts < ts)
            continue;
        if (e->base >= limit)
            return 0;
        centry *c;
        int rc = cache_get(t, p, e, waiter, &c);
        if (rc != 0)
            return rc;
        rc = ss_tier_seg_find_time(sl_slice_make(c->map, c->ent.size), ts,
                                   limit, offset, found_ts);
        if (rc != 0 || *offset >= 0)
            return rc;
    }
    return 0;
}

/* ---- lifecycle -----------------------------------------------------------
 */

int
ss_tier_svc_new(const ss_tier_svc_conf *conf, ss_store *store,
                pthread_mutex_t *mu, ss_tier_svc **out, char *err,
                size_t errlen)
{
    *out = NULL;
    ss_tier_svc *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    t->conf = *conf;
    if (t->conf.check_ms <= 0)
        t->conf.check_ms = 1000;
    snprintf(t->data_dir, sizeof(t->data_dir), "%s", conf->data_dir);
    t->conf.data_dir = t->data_dir;
    t->store = store;
    t->mu = mu;
    int rc = ss_tier_open(&conf->tier, &t->up, err, errlen);
    if (rc == 0)
        rc = ss_tier_open(&conf->tier, &t->down, err, errlen);
    if (rc != 0) {
        ss_tier_svc_free(t);
        return rc;
    }
    pthread_cond_init(&t->ocv, NULL);
    pthread_cond_init(&t->dcv, NULL);
    /* The cache does not survive a restart: its files are only copies. */
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "rm -rf '%.256s/@tiercache'", t->data_dir);
    if (strchr(t->data_dir, '\'') == NULL && system(path) != 0)
        sl_log(SL_LOG_WARN, "SS-TIER", "cannot clear %s/@tiercache",
               t->data_dir);
    *out = t;
    return 0;
}

int
ss_tier_svc_start(ss_tier_svc *t)
{
    pthread_mutex_lock(t->mu);
    int need;
    tpart *p;
    /* Load what can be loaded now; failures are retried by the thread. */
    size_t tries = 0;
    while ((p = parts_sync(t, &need)) != NULL && tries++ < t->nparts + 1) {
        load_locked(t, p);
        if (p->next_try_ms == -1)
            break;
    }
    pthread_mutex_unlock(t->mu);
    if (pthread_create(&t->othr, NULL, offload_main, t) != 0)
        return -EAGAIN;
    if (pthread_create(&t->dthr, NULL, download_main, t) != 0) {
        ss_tier_svc_stop(t);
        return -EAGAIN;
    }
    t->started = 2;
    return 0;
}

void
ss_tier_svc_stop(ss_tier_svc *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(t->mu);
    t->stop = 1;
    pthread_cond_broadcast(&t->ocv);
    pthread_cond_broadcast(&t->dcv);
    pthread_mutex_unlock(t->mu);
    if (t->othr)
        pthread_join(t->othr, NULL);
    if (t->dthr)
        pthread_join(t->dthr, NULL);
    t->othr = t->dthr = 0;
}

void
ss_tier_svc_free(ss_tier_svc *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nparts; i++) {
        ss_tier_manifest_fini(&t->parts[i]->m);
        ss_log_rele(t->parts[i]->log);
        free(t->parts[i]);
    }
    free(t->parts);
    for (size_t i = 0; i < t->ncache; i++)
        centry_free(t, t->cache[i], 0);
    free(t->cache);
    free(t->dels);
    ss_tier_free(t->up);
    ss_tier_free(t->down);
    free(t);
}

void
ss_tier_svc_kick(ss_tier_svc *t)
{
    pthread_cond_signal(&t->ocv);
}

void
ss_tier_svc_topic_deleted(ss_tier_svc *t, const char *topic)
{
    size_t k = 0;
    for (size_t i = 0; i < t->nparts; i++) {
        tpart *p = t->parts[i];
        if (strcmp(p->topic, topic) != 0) {
            t->parts[k++] = p;
            continue;
        }
        for (size_t j = 0; j < p->m.n + 1; j++) {
            for (int x = 0; x < 3; x++) {
                if (j == p->m.n && x > 0)
                    break;
                if (t->ndels == t->dcap) {
                    size_t cap = t->dcap ? t->dcap * 2 : 64;
                    delkey *n = realloc(t->dels, cap * sizeof(*n));
                    if (n == NULL)
                        break;
                    t->dels = n;
                    t->dcap = cap;
                }
                char *key = t->dels[t->ndels++].key;
                if (j == p->m.n)
                    manifest_key(p, key, SS_TIER_KEY_MAX);
                else
                    snprintf(key, SS_TIER_KEY_MAX, "%s",
                             x == 0   ? p->m.ents[j].key_log
                             : x == 1 ? p->m.ents[j].key_index
                                      : p->m.ents[j].key_tindex);
            }
        }
        ss_tier_manifest_fini(&p->m);
        ss_log_rele(p->log);
        free(p);
    }
    t->nparts = k;
    for (size_t i = 0; i < t->ncache;) {
        centry *c = t->cache[i];
        if (strcmp(c->topic, topic) == 0 &&
            (c->state == CE_READY || c->state == CE_FAILED)) {
            wake_all(t, c);
            cache_remove_at(t, i);
        } else {
            i++;
        }
    }
    pthread_cond_signal(&t->ocv);
}

void
ss_tier_svc_status(ss_tier_svc *t, ss_log *l, ss_tier_part_status *st)
{
    memset(st, 0, sizeof(*st));
    st->local_start = ss_log_local_start(l);
    st->local_end = ss_log_end(l);
    st->local_bytes = ss_log_bytes(l);
    st->remote_start = st->remote_end = -1;
    tpart *p = t ? part_find_log(t, l) : NULL;
    if (p == NULL)
        return;
    if (p->m.n > 0) {
        st->remote_start = p->m.ents[0].base;
        st->remote_end = p->m.ents[p->m.n - 1].next;
        st->remote_bytes = (int64_t)ss_tier_manifest_bytes(&p->m);
        st->remote_segments = (int32_t)p->m.n;
    }
    const ss_log_cfg *cfg = part_cfg(t, p);
    int64_t b, n, mt;
    uint64_t sz;
    if (cfg && ss_log_sealed_front(l, &b, &n, &sz, &mt) &&
        due_for_offload(p, cfg, sl_now_ms(), mt, sz))
        st->pending_offload = 1;
    st->failures = p->failures;
    snprintf(st->last_error, sizeof(st->last_error), "%s", p->last_error);
}

void
ss_tier_svc_counters(ss_tier_svc *t, ss_tier_counters *c)
{
    *c = t->ctr;
}
