/*
 * ss_log.c — a partition's log: segments, append, reads, recovery,
 * retention and durability jobs.  docs/format.md describes the files.
 *
 * Invariants (checked by tests/unit/log and the crash test):
 *  1. segs[] is ordered by base offset; segs[i]->next == segs[i+1]->base;
 *     the last segment is the only active (unsealed, writable) one.
 *  2. Bytes [0, size) of a segment are valid batches with contiguous
 *     offsets [base, next); bytes [size, alloc) of the active segment are
 *     zero, never read as data; the mapping covers [0, cap) but nothing
 *     past alloc (the end of the file) is ever touched.
 *  3. durable_end <= end; every offset below durable_end is on disk (an
 *     fdatasync that covered it has returned).  Sealed segments are wholly
 *     durable: sealing fdatasyncs first.
 *  4. A checkpoint (the active segment's index files) only covers bytes that
 *     were durable when it was written, so recovery may trust them.
 *  5. Index files of a sealed segment are written once, after the segment
 *     is durable and truncated to its size.
 */
#include "ss_log_impl.h"

#include "sl_batch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct ss_log {
    int refs;
    int closed;
    int failed;
    char *dir; /* absolute path of the partition directory */
    char rel[64];
    int dir_fd;
    ss_log_cfg cfg;
    ss_seg **segs;
    size_t nsegs, segcap;
    int64_t durable_end;
    int64_t bytes;
    /* Checkpoint state: what the last checkpoint covered, so an idle log
     * does not rewrite its index files. */
    int64_t ckpt_base;
    uint64_t ckpt_pos;
    /* Serialises index-file writes of the active segment between a
     * checkpoint job (worker thread) and sealing (owner thread).  It guards
     * sealed_base only. */
    pthread_mutex_t ckpt_mu;
    int64_t sealed_base; /* highest base that has been sealed, -1 */
    /* Idempotent producers seen by this partition; persisted in
     * SS_PSNAP_NAME at each checkpoint and seal (see "idempotent
     * producers" below). */
    ss_pstate *pstates;
    size_t npstates, pstate_cap;
    uint64_t pstate_clock;
    /* Tiered storage: offsets [remote_start, local start) are in the tier
     * (remote_start -1: nothing there). */
    int64_t remote_start;
    int64_t remote_bytes;
};

static long page_size;

/* ---- small file helpers ---------------------------------------------------
 */

static int
write_all(int fd, const uint8_t *p, size_t n, off_t off)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

/* Replace dir/name with bytes, atomically and durably: tmp, fdatasync,
 * rename, fsync(dir).  Any thread. */
static int
write_file_atomic(int dir_fd, const char *name, sl_slice bytes)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%s.tmp", name);
    int fd =
        openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int rc = write_all(fd, bytes.p, bytes.n, 0);
    if (rc == 0 && fdatasync(fd) != 0)
        rc = -errno;
    close(fd);
    if (rc == 0 && renameat(dir_fd, tmp, dir_fd, name) != 0)
        rc = -errno;
    if (rc == 0 && fsync(dir_fd) != 0)
        rc = -errno;
    if (rc != 0)
        unlinkat(dir_fd, tmp, 0);
    return rc;
}

static int
read_file(int dir_fd, const char *name, sl_buf *out)
{
    int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto out;
    }
    /* An index covers at most 2^32 bytes of segment; cap what we read. */
    if (st.st_size > (off_t)(256u << 20)) {
        rc = SL_E_CORRUPT;
        goto out;
    }
    sl_buf_reset(out);
    uint8_t *p = sl_buf_extend(out, (size_t)st.st_size);
    if (p == NULL && st.st_size > 0) {
        rc = -ENOMEM;
        goto out;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = pread(fd, p + got, (size_t)st.st_size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? -errno : SL_E_CORRUPT;
            goto out;
        }
        got += (size_t)r;
    }
out:
    close(fd);
    return rc;
}

static int
mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    if (strlen(path) >= sizeof(tmp))
        return -ENAMETOOLONG;
    strcpy(tmp, path);
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

static void psnap_write(ss_log *l, int64_t next);
static int producers_recover(ss_log *l);

/* ---- segments ----------------------------------------------------------- */

static void
seg_free(ss_seg *s)
{
    if (s == NULL)
        return;
    if (s->map != NULL)
        munmap((void *)s->map, s->map_len);
    if (s->fd >= 0)
        close(s->fd);
    ss__index_fini(&s->ix);
    free(s);
}

static ss_seg *
seg_alloc(int64_t base)
{
    ss_seg *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->base = base;
    s->next = base;
    s->max_ts = -1;
    s->roll_ts = -1;
    s->fd = -1;
    s->last_tidx_ts = -1;
    ss__index_init(&s->ix);
    return s;
}

static int
seg_map(ss_seg *s, int fd, size_t len)
{
    if (s->map != NULL) {
        munmap((void *)s->map, s->map_len);
        s->map = NULL;
        s->map_len = 0;
    }
    if (len == 0)
        return 0;
    void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        return -errno;
    s->map = m;
    s->map_len = len;
    return 0;
}

static sl_slice
seg_data(const ss_seg *s)
{
    return sl_slice_make(s->map, s->size);
}

/* Make the active segment's file at least `want` bytes long, growing in
 * SS_ALLOC_STEP steps (never past cap): fallocate when preallocation is on,
 * so that ENOSPC shows up here and not as a failed write later. */
static int
seg_extend(ss_log *l, ss_seg *s, uint64_t want)
{
    if (want <= s->alloc)
        return 0;
    uint64_t a = (want + SS_ALLOC_STEP - 1) / SS_ALLOC_STEP * SS_ALLOC_STEP;
    if (a > s->cap)
        a = s->cap;
    if (a < want)
        a = want;
    int rc = l->cfg.preallocate ? -posix_fallocate(s->fd, 0, (off_t)a)
                                : (ftruncate(s->fd, (off_t)a) ? -errno : 0);
    if (rc == 0)
        s->alloc = a;
    return rc;
}

/* Make room: grow the log's segment array by one. */
static int
segs_push(ss_log *l, ss_seg *s)
{
    if (l->nsegs == l->segcap) {
        size_t cap = l->segcap ? l->segcap * 2 : 8;
        ss_seg **n = realloc(l->segs, cap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        l->segs = n;
        l->segcap = cap;
    }
    l->segs[l->nsegs++] = s;
    return 0;
}

static ss_seg *
active(const ss_log *l)
{
    return l->segs[l->nsegs - 1];
}

/* Encode a segment's index files; sealed or a checkpoint of [0, size). */
static int
seg_encode_index(const ss_seg *s, int sealed, sl_buf *oidx, sl_buf *tidx)
{
    uint16_t flags = sealed ? SS_IDX_SEALED : 0;
    int rc = ss__idx_encode(oidx, SS_IDX_OFFSET, flags, s->base, s->size,
                            s->next, s->max_ts, &s->ix);
    if (rc == 0)
        rc = ss__idx_encode(tidx, SS_IDX_TIME, flags, s->base, s->size, s->next,
                            s->max_ts, &s->ix);
    return rc;
}

static int
seg_write_index(ss_log *l, const ss_seg *s, int sealed)
{
    sl_buf o, t;
    sl_buf_init(&o);
    sl_buf_init(&t);
    char on[32], tn[32];
    ss__seg_name(on, sizeof(on), s->base, ".index");
    ss__seg_name(tn, sizeof(tn), s->base, ".timeindex");
    int rc = seg_encode_index(s, sealed, &o, &t);
    if (rc == 0)
        rc = write_file_atomic(l->dir_fd, tn, sl_slice_make(t.p, t.n));
    /* The offset index goes last: its header is what recovery trusts. */
    if (rc == 0)
        rc = write_file_atomic(l->dir_fd, on, sl_slice_make(o.p, o.n));
    sl_buf_fini(&o);
    sl_buf_fini(&t);
    return rc;
}

/* Create a new, empty active segment at base with room for `need` bytes. */
static int
seg_create(ss_log *l, int64_t base, uint64_t need, ss_seg **out)
{
    char name[32];
    ss__seg_name(name, sizeof(name), base, ".log");
    ss_seg *s = seg_alloc(base);
    if (s == NULL)
        return -ENOMEM;
    int rc = 0;
    s->fd =
        openat(l->dir_fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        rc = -errno;
        goto fail;
    }
    s->cap = SL_MAX((uint64_t)l->cfg.segment_bytes, need);
    rc = seg_extend(l, s, SL_MAX(need, 1));
    if (rc == 0)
        rc = seg_map(s, s->fd, s->cap);
    if (rc == 0 && fsync(l->dir_fd) != 0)
        rc = -errno;
    if (rc != 0)
        goto fail;
    s->idx_loaded = 1;
    *out = s;
    return 0;
fail:
    if (s->fd >= 0)
        unlinkat(l->dir_fd, name, 0);
    seg_free(s);
    return rc;
}

/* Seal the active segment: durable, truncated to its data, index files
 * written; the caller then creates the next segment. */
static int
seg_seal(ss_log *l, ss_seg *s)
{
    int rc = 0;
    if (fdatasync(s->fd) != 0) {
        rc = -errno;
        l->failed = 1;
        sl_log(SL_LOG_ERROR, "SS-FSYNC", "log=%s fdatasync failed: %s", l->rel,
               sl_strerror(rc));
        return rc;
    }
    if (ftruncate(s->fd, (off_t)s->size) != 0 || fsync(s->fd) != 0)
        return -errno;
    pthread_mutex_lock(&l->ckpt_mu);
    l->sealed_base = s->base;
    rc = seg_write_index(l, s, 1);
    if (rc == 0)
        psnap_write(l, s->next);
    pthread_mutex_unlock(&l->ckpt_mu);
    if (rc != 0)
        return rc;
    /* Drop the mapping past the data: those pages are beyond EOF now. */
    size_t keep = (s->size + (size_t)page_size - 1) & ~((size_t)page_size - 1);
    if (keep < s->map_len) {
        if (keep == 0) {
            munmap((void *)s->map, s->map_len);
            s->map = NULL;
        } else {
            munmap((uint8_t *)s->map + keep, s->map_len - keep);
        }
        s->map_len = keep;
    }
    close(s->fd);
    s->fd = -1;
    s->sealed = 1;
    s->cap = s->alloc = s->size;
    if (l->durable_end < s->next)
        l->durable_end = s->next;
    return 0;
}

static int
roll(ss_log *l, uint64_t need)
{
    ss_seg *a = active(l);
    int rc = seg_seal(l, a);
    if (rc != 0)
        return rc;
    ss_seg *n;
    rc = seg_create(l, a->next, need, &n);
    if (rc == 0)
        rc = segs_push(l, n);
    if (rc != 0) {
        /* The log has a sealed last segment and no active one; refuse
         * appends until a restart recovers (which reopens it). */
        l->failed = 1;
        sl_log(SL_LOG_ERROR, "SS-ROLL", "log=%s cannot create segment: %s",
               l->rel, sl_strerror(rc));
        return rc;
    }
    sl_log(SL_LOG_DEBUG, "SS-ROLL", "log=%s base=%" PRId64, l->rel, n->base);
    return 0;
}

/* Ensure a sealed segment is mapped and its index loaded, rebuilding the
 * index by a scan when its files are missing or bad. */
static int
seg_ensure_loaded(ss_log *l, ss_seg *s)
{
    if (s->map == NULL && s->size > 0) {
        char name[32];
        ss__seg_name(name, sizeof(name), s->base, ".log");
        int fd = openat(l->dir_fd, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return -errno;
        int rc = seg_map(s, fd, s->size);
        close(fd);
        if (rc != 0)
            return rc;
    }
    if (s->idx_loaded)
        return 0;
    char on[32], tn[32];
    ss__seg_name(on, sizeof(on), s->base, ".index");
    ss__seg_name(tn, sizeof(tn), s->base, ".timeindex");
    sl_buf o, t;
    sl_buf_init(&o);
    sl_buf_init(&t);
    ss_idx_hdr oh, th;
    int rc = read_file(l->dir_fd, on, &o);
    if (rc == 0)
        rc = read_file(l->dir_fd, tn, &t);
    if (rc == 0)
        rc = ss__idx_hdr_decode(sl_slice_make(o.p, o.n), o.n, SS_IDX_OFFSET,
                                &oh);
    if (rc == 0)
        rc = ss__idx_hdr_decode(sl_slice_make(t.p, t.n), t.n, SS_IDX_TIME, &th);
    if (rc == 0 && (oh.base != s->base || oh.covered != s->size ||
                    th.covered != s->size || oh.next != s->next))
        rc = SL_E_CORRUPT;
    if (rc == 0)
        rc = ss__idx_load(sl_slice_make(o.p, o.n), &oh, &s->ix);
    if (rc == 0)
        rc = ss__idx_load(sl_slice_make(t.p, t.n), &th, &s->ix);
    sl_buf_fini(&o);
    sl_buf_fini(&t);
    if (rc != 0) {
        sl_log(SL_LOG_WARN, "SS-INDEX",
               "log=%s segment=%" PRId64 " index unusable (%s), rebuilding",
               l->rel, s->base, sl_strerror(rc));
        ss__index_reset(&s->ix);
        ss_scan sc;
        uint64_t lp = 0;
        int64_t lt = -1;
        ss__seg_scan(seg_data(s), s->base, 0, s->base, -1, &s->ix,
                     l->cfg.index_interval_bytes, &lp, &lt, &sc);
        if (sc.end != s->size || sc.next != s->next) {
            ss__index_reset(&s->ix);
            return SL_E_CORRUPT;
        }
        rc = seg_write_index(l, s, 1);
        if (rc != 0)
            sl_log(SL_LOG_WARN, "SS-INDEX", "log=%s cannot write index: %s",
                   l->rel, sl_strerror(rc));
    }
    s->idx_loaded = 1;
    return 0;
}

/* ---- open and recovery --------------------------------------------------- */

static int
parse_seg_name(const char *name, const char *ext, int64_t *base)
{
    size_t n = strlen(name), e = strlen(ext);
    if (n != 20 + e || strcmp(name + 20, ext) != 0)
        return 0;
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        if (v > (INT64_MAX - (name[i] - '0')) / 10)
            return 0;
        v = v * 10 + (name[i] - '0');
    }
    *base = v;
    return 1;
}

static int
cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Recover a sealed segment from its index header, or by a scan. */
static int
recover_sealed(ss_log *l, ss_seg *s)
{
    char name[32], on[32];
    ss__seg_name(name, sizeof(name), s->base, ".log");
    ss__seg_name(on, sizeof(on), s->base, ".index");
    struct stat st;
    if (fstatat(l->dir_fd, name, &st, 0) != 0)
        return -errno;
    uint8_t hdr[SS_IDX_HDR_LEN];
    ss_idx_hdr h;
    int rc = SL_E_CORRUPT;
    int fd = openat(l->dir_fd, on, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        struct stat ist;
        if (fstat(fd, &ist) == 0 &&
            pread(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr)) {
            /* The header alone: entries are checked on first use. */
            rc = ss__idx_hdr_decode(sl_slice_make(hdr, sizeof(hdr)),
                                    (uint64_t)ist.st_size, SS_IDX_OFFSET, &h);
        }
        close(fd);
    }
    if (rc == 0 && (!(h.flags & SS_IDX_SEALED) || h.base != s->base ||
                    h.covered > (uint64_t)st.st_size))
        rc = SL_E_CORRUPT;
    if (rc == 0) {
        s->size = h.covered;
        s->next = h.next;
        s->max_ts = h.max_ts;
        s->sealed = 1;
        if ((uint64_t)st.st_size > s->size) {
            /* Crashed between sealing steps: drop the preallocated tail. */
            int wfd = openat(l->dir_fd, name, O_WRONLY | O_CLOEXEC);
            if (wfd < 0)
                return -errno;
            rc = ftruncate(wfd, (off_t)s->size) == 0 ? 0 : -errno;
            close(wfd);
        }
        return rc;
    }
    /* No usable index: scan the segment, truncate any bad tail, and write
     * fresh index files. */
    sl_log(SL_LOG_WARN, "SS-RECOVER",
           "log=%s segment=%" PRId64 " index missing or bad, rebuilding",
           l->rel, s->base);
    fd = openat(l->dir_fd, name, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    rc = seg_map(s, fd, (size_t)st.st_size);
    if (rc == 0) {
        ss_scan sc;
        uint64_t lp = 0;
        int64_t lt = -1;
        ss__seg_scan(sl_slice_make(s->map, s->map_len), s->base, 0, s->base, -1,
                     &s->ix, l->cfg.index_interval_bytes, &lp, &lt, &sc);
        s->size = sc.end;
        s->next = sc.next;
        s->max_ts = sc.max_ts;
        if (sc.end < (uint64_t)st.st_size) {
            if (sc.stop != 0)
                sl_log(SL_LOG_WARN, "SS-RECOVER",
                       "log=%s segment=%" PRId64 " truncated at %" PRIu64
                       " (%s)",
                       l->rel, s->base, sc.end, sl_strerror(sc.stop));
            if (ftruncate(fd, (off_t)sc.end) != 0 || fsync(fd) != 0)
                rc = -errno;
        }
    }
    close(fd);
    if (rc == 0) {
        s->sealed = 1;
        s->idx_loaded = 1;
        rc = seg_write_index(l, s, 1);
        /* Remap to the truncated size on first read. */
        seg_map(s, -1, 0);
    }
    return rc;
}

/* Recover the active segment: trust its checkpoint, scan the tail. */
static int
recover_active(ss_log *l, ss_seg *s)
{
    char name[32], on[32], tn[32];
    ss__seg_name(name, sizeof(name), s->base, ".log");
    ss__seg_name(on, sizeof(on), s->base, ".index");
    ss__seg_name(tn, sizeof(tn), s->base, ".timeindex");
    s->fd = openat(l->dir_fd, name, O_RDWR | O_CLOEXEC);
    if (s->fd < 0)
        return -errno;
    struct stat st;
    if (fstat(s->fd, &st) != 0)
        return -errno;
    s->cap = SL_MAX((uint64_t)st.st_size, (uint64_t)l->cfg.segment_bytes);
    s->alloc = (uint64_t)st.st_size;
    int rc = seg_map(s, s->fd, s->cap);
    if (rc != 0)
        return rc;

    /* The checkpoint: both index files whole and consistent. */
    sl_buf o, t;
    sl_buf_init(&o);
    sl_buf_init(&t);
    ss_idx_hdr oh, th;
    int ck = read_file(l->dir_fd, on, &o);
    if (ck == 0)
        ck = read_file(l->dir_fd, tn, &t);
    if (ck == 0)
        ck = ss__idx_hdr_decode(sl_slice_make(o.p, o.n), o.n, SS_IDX_OFFSET,
                                &oh);
    if (ck == 0)
        ck = ss__idx_hdr_decode(sl_slice_make(t.p, t.n), t.n, SS_IDX_TIME, &th);
    /* A checkpoint writes the time index first, then the offset index, so
     * a crash between the two renames leaves a time index that covers
     * more.  The offset index's (older) coverage is then the checkpoint,
     * and time entries past it are dropped. */
    if (ck == 0 &&
        (oh.base != s->base || th.base != s->base || oh.covered > th.covered ||
         oh.next > th.next || oh.covered > (uint64_t)st.st_size))
        ck = SL_E_CORRUPT;
    if (ck == 0)
        ck = ss__idx_load(sl_slice_make(o.p, o.n), &oh, &s->ix);
    if (ck == 0)
        ck = ss__idx_load(sl_slice_make(t.p, t.n), &th, &s->ix);
    if (ck == 0 && th.covered != oh.covered) {
        uint32_t lim = (uint32_t)(oh.next - s->base);
        while (s->ix.tn > 0 && s->ix.t[s->ix.tn - 1].rel >= lim)
            s->ix.tn--;
        if (s->ix.tn > 0 && s->ix.t[s->ix.tn - 1].ts > oh.max_ts)
            ck = SL_E_CORRUPT; /* not the pair a crash leaves */
    }
    sl_buf_fini(&o);
    sl_buf_fini(&t);

    uint64_t from = 0;
    int64_t next = s->base, max_ts = -1;
    if (ck == 0) {
        from = oh.covered;
        next = oh.next;
        max_ts = oh.max_ts;
        s->last_idx_pos = s->ix.on ? s->ix.o[s->ix.on - 1].pos : 0;
        s->last_tidx_ts = s->ix.tn ? s->ix.t[s->ix.tn - 1].ts : -1;
    } else {
        if (ck != -ENOENT)
            sl_log(SL_LOG_WARN, "SS-RECOVER",
                   "log=%s segment=%" PRId64
                   " checkpoint unusable (%s), scanning whole segment",
                   l->rel, s->base, sl_strerror(ck));
        ss__index_reset(&s->ix);
        s->last_idx_pos = 0;
        s->last_tidx_ts = -1;
    }
    ss_scan sc;
    /* Scan only what the file holds: the mapping reaches past its end. */
    ss__seg_scan(sl_slice_make(s->map, s->alloc), s->base, from, next, max_ts,
                 &s->ix, l->cfg.index_interval_bytes, &s->last_idx_pos,
                 &s->last_tidx_ts, &sc);
    if (sc.stop != 0)
        sl_log(SL_LOG_WARN, "SS-RECOVER",
               "log=%s segment=%" PRId64 " torn tail at %" PRIu64
               " (%s): truncated",
               l->rel, s->base, sc.end, sl_strerror(sc.stop));
    s->size = sc.end;
    s->next = sc.next;
    s->max_ts = sc.max_ts;
    s->idx_loaded = 1;
    /* Discard whatever lies past the data and allocate the space afresh,
     * so stale bytes from a torn write can never be read as batches. */
    if (ftruncate(s->fd, (off_t)s->size) != 0)
        return -errno;
    s->alloc = s->size;
    rc = seg_extend(l, s, s->size + 1); /* room to append again */
    if (rc == 0 && fdatasync(s->fd) != 0)
        rc = -errno;
    if (rc != 0)
        return rc;
    if (s->size > 0) {
        sl_batch_hdr h;
        if (sl_batch_hdr_decode(sl_slice_make(s->map, s->size), 0, &h) == 0)
            s->roll_ts = h.max_timestamp;
    }
    l->ckpt_base = s->base;
    l->ckpt_pos = ck == 0 ? from : UINT64_MAX;
    return 0;
}

static int
log_recover(ss_log *l)
{
    DIR *d = fdopendir(dup(l->dir_fd));
    if (d == NULL)
        return -errno;
    int64_t *bases = NULL;
    size_t nb = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len > 4 && strcmp(de->d_name + len - 4, ".tmp") == 0) {
            unlinkat(l->dir_fd, de->d_name, 0);
            continue;
        }
        int64_t base;
        if (!parse_seg_name(de->d_name, ".log", &base))
            continue;
        if (nb == cap) {
            cap = cap ? cap * 2 : 16;
            int64_t *nbp = realloc(bases, cap * sizeof(*bases));
            if (nbp == NULL) {
                rc = -ENOMEM;
                goto out;
            }
            bases = nbp;
        }
        bases[nb++] = base;
    }
    if (nb > 1)
        qsort(bases, nb, sizeof(*bases), cmp_i64);
    for (size_t i = 0; i < nb; i++) {
        ss_seg *s = seg_alloc(bases[i]);
        if (s == NULL || segs_push(l, s) != 0) {
            seg_free(s);
            rc = -ENOMEM;
            goto out;
        }
        rc = i + 1 < nb ? recover_sealed(l, s) : recover_active(l, s);
        if (rc != 0) {
            sl_log(SL_LOG_ERROR, "SS-RECOVER",
                   "log=%s segment=%" PRId64 " cannot recover: %s", l->rel,
                   s->base, sl_strerror(rc));
            goto out;
        }
        if (i > 0 && l->segs[i - 1]->next != s->base)
            sl_log(SL_LOG_WARN, "SS-RECOVER",
                   "log=%s gap: segment %" PRId64 " ends at %" PRId64
                   " but the next starts at %" PRId64,
                   l->rel, l->segs[i - 1]->base, l->segs[i - 1]->next, s->base);
        l->bytes += (int64_t)s->size;
    }
    if (nb == 0) {
        ss_seg *s;
        rc = seg_create(l, 0, 0, &s);
        if (rc == 0 && (rc = segs_push(l, s)) != 0)
            seg_free(s);
        l->ckpt_base = 0;
        l->ckpt_pos = UINT64_MAX;
    }
    if (rc == 0)
        l->durable_end = active(l)->next;
out:
    free(bases);
    closedir(d);
    return rc;
}

int
ss_log_open(const char *data_dir, const char *rel, const ss_log_cfg *cfg,
            ss_log **out)
{
    *out = NULL;
    if (page_size == 0)
        page_size = sysconf(_SC_PAGESIZE);
    if (strlen(rel) >= sizeof(((ss_log *)0)->rel))
        return SL_E_INVAL;
    ss_log *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return -ENOMEM;
    l->refs = 1;
    l->dir_fd = -1;
    l->sealed_base = -1;
    l->remote_start = -1;
    l->cfg = *cfg;
    snprintf(l->rel, sizeof(l->rel), "%s", rel);
    pthread_mutex_init(&l->ckpt_mu, NULL);
    int rc;
    size_t n = strlen(data_dir) + strlen(rel) + 2;
    l->dir = malloc(n);
    if (l->dir == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    snprintf(l->dir, n, "%s/%s", data_dir, rel);
    if ((rc = mkdir_p(l->dir)) != 0)
        goto fail;
    l->dir_fd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (l->dir_fd < 0) {
        rc = -errno;
        goto fail;
    }
    if ((rc = log_recover(l)) != 0)
        goto fail;
    if ((rc = producers_recover(l)) != 0)
        goto fail;
    *out = l;
    return 0;
fail:
    l->closed = 1;
    ss_log_rele(l);
    return rc;
}

void
ss_log_set_cfg(ss_log *l, const ss_log_cfg *cfg)
{
    l->cfg = *cfg;
}

void
ss_log_hold(ss_log *l)
{
    l->refs++;
}

void
ss_log_rele(ss_log *l)
{
    if (l == NULL)
        return;
    /* Close while still referenced: closing runs a job that holds and
     * releases the log itself. */
    if (l->refs == 1 && !l->closed)
        ss_log_close(l);
    if (--l->refs > 0)
        return;
    for (size_t i = 0; i < l->nsegs; i++)
        seg_free(l->segs[i]);
    free(l->segs);
    free(l->pstates);
    if (l->dir_fd >= 0)
        close(l->dir_fd);
    pthread_mutex_destroy(&l->ckpt_mu);
    free(l->dir);
    free(l);
}

int
ss_log_close(ss_log *l)
{
    if (l->closed)
        return 0;
    int rc = 0;
    if (!l->failed && l->nsegs > 0)
        rc = ss_log_sync_now(l, 1);
    l->closed = 1;
    return rc;
}

void
ss_log_abandon(ss_log *l)
{
    l->closed = 1;
}

int
ss_log_failed(const ss_log *l)
{
    return l->failed;
}

int64_t
ss_log_start(const ss_log *l)
{
    if (l->remote_start >= 0 && l->remote_start < l->segs[0]->base)
        return l->remote_start;
    return l->segs[0]->base;
}

int64_t
ss_log_local_start(const ss_log *l)
{
    return l->segs[0]->base;
}

void
ss_log_set_remote(ss_log *l, int64_t remote_start, int64_t remote_bytes)
{
    l->remote_start = remote_start;
    l->remote_bytes = remote_start >= 0 ? remote_bytes : 0;
}

const char *
ss_log_dir(const ss_log *l)
{
    return l->dir;
}

int
ss_log_sealed_front(ss_log *l, int64_t *base, int64_t *next, uint64_t *size,
                    int64_t *max_ts)
{
    if (l->closed || l->nsegs < 2)
        return 0;
    ss_seg *s = l->segs[0];
    *base = s->base;
    *next = s->next;
    *size = s->size;
    *max_ts = s->max_ts;
    return 1;
}

int64_t
ss_log_end(const ss_log *l)
{
    return active(l)->next;
}

int64_t
ss_log_durable_end(const ss_log *l)
{
    return l->durable_end;
}

int
ss_log_segment_count(const ss_log *l)
{
    return (int)l->nsegs;
}

int64_t
ss_log_bytes(const ss_log *l)
{
    return l->bytes;
}

const char *
ss_log_rel(const ss_log *l)
{
    return l->rel;
}

/* ---- append ----------------------------------------------------------------
 */

/* ---- idempotent producers ---------------------------------------------
 *
 * Kafka's rules for a batch with producerId >= 0, per partition: a repeat
 * of one of the producer's last five batches (same epoch, same first and
 * last sequence) is acknowledged again with its original offsets and not
 * written; otherwise the batch must continue the sequence (last + 1, or 0
 * with a new epoch); an older epoch is fenced.  A producer the partition
 * does not know is accepted from any sequence.
 *
 * The state survives restarts the way the index does: each checkpoint and
 * each seal writes it to SS_PSNAP_NAME (ss_producers.c) as of the offset
 * the checkpoint covers, after the bytes it describes are durable.  Opening
 * the log loads the snapshot and replays the producer fields of the
 * batches recovery found past it, so the state equals what it was after
 * the last batch that survived.  Without a usable snapshot the state is
 * rebuilt from the active segment alone; producers whose batches are all
 * in sealed segments are then unknown (docs/kafka.md).
 */

static ss_pstate *
pstate_find(ss_log *l, int64_t pid)
{
    for (size_t i = 0; i < l->npstates; i++)
        if (l->pstates[i].pid == pid)
            return &l->pstates[i];
    return NULL;
}

static ss_pstate *
pstate_add(ss_log *l, int64_t pid)
{
    if (l->npstates == l->pstate_cap) {
        if (l->pstate_cap >= SS_PRODUCERS_MAX) {
            /* Forget the least recently used producer. */
            size_t lru = 0;
            for (size_t i = 1; i < l->npstates; i++)
                if (l->pstates[i].used < l->pstates[lru].used)
                    lru = i;
            l->pstates[lru] = l->pstates[--l->npstates];
        } else {
            size_t cap = l->pstate_cap ? l->pstate_cap * 2 : 4;
            ss_pstate *p = realloc(l->pstates, cap * sizeof(*p));
            if (p == NULL)
                return NULL;
            l->pstates = p;
            l->pstate_cap = cap;
        }
    }
    ss_pstate *p = &l->pstates[l->npstates++];
    memset(p, 0, sizeof(*p));
    p->pid = pid;
    p->epoch = -1;
    return p;
}

/* A batch's last sequence: sequences wrap from INT32_MAX to 0, as Kafka's
 * DefaultRecordBatch.incrementSequence has them (and without signed
 * overflow). */
static int32_t
seq_last(const sl_batch_hdr *h)
{
    int32_t base = h->base_sequence, delta = h->last_offset_delta;
    if (base > INT32_MAX - delta)
        return delta - (INT32_MAX - base) - 1;
    return base + delta;
}

/* 0: append it; 1: a duplicate (res filled); or SL_E_SEQUENCE /
 * SL_E_PRODUCER_EPOCH. */
static int
pstate_check(ss_log *l, const sl_batch_hdr *h, ss_append_res *res)
{
    ss_pstate *p = pstate_find(l, h->producer_id);
    if (p == NULL)
        return 0;
    int32_t last_seq = seq_last(h);
    if (h->producer_epoch < p->epoch)
        return SL_E_PRODUCER_EPOCH;
    if (h->producer_epoch > p->epoch)
        return h->base_sequence == 0 ? 0 : SL_E_SEQUENCE;
    for (int i = 0; i < p->n; i++) {
        if (p->recent[i].first_seq == h->base_sequence &&
            p->recent[i].last_seq == last_seq) {
            res->base_offset = p->recent[i].base_offset;
            res->last_offset = p->recent[i].last_offset;
            res->append_time = -1;
            res->log_start = ss_log_start(l);
            return 1;
        }
    }
    int32_t expect = p->n ? p->recent[p->n - 1].last_seq : -1;
    expect = expect == INT32_MAX ? 0 : expect + 1;
    return h->base_sequence == expect ? 0 : SL_E_SEQUENCE;
}

static void
pstate_record(ss_log *l, const sl_batch_hdr *h, int64_t base, int64_t last)
{
    ss_pstate *p = pstate_find(l, h->producer_id);
    if (p == NULL && (p = pstate_add(l, h->producer_id)) == NULL)
        return; /* without memory, dedupe of this producer is off */
    if (h->producer_epoch != p->epoch) {
        p->epoch = h->producer_epoch;
        p->n = 0;
    }
    if (p->n == SS_PRODUCER_WINDOW) {
        memmove(&p->recent[0], &p->recent[1],
                (SS_PRODUCER_WINDOW - 1) * sizeof(p->recent[0]));
        p->n--;
    }
    p->recent[p->n].first_seq = h->base_sequence;
    p->recent[p->n].last_seq = seq_last(h);
    p->recent[p->n].base_offset = base;
    p->recent[p->n].last_offset = last;
    p->n++;
    p->used = ++l->pstate_clock;
}

int
ss_log_append(ss_log *l, uint8_t *batches, size_t n, int64_t now_ms,
              ss_append_res *res)
{
    if (l->closed)
        return SL_E_CLOSED;
    if (l->failed)
        return SL_E_IO;
    if (n == 0)
        return SL_E_MALFORMED;
    /* Validate everything before writing anything. */
    sl_slice rest = sl_slice_make(batches, n);
    int64_t records = 0;
    size_t limit = (size_t)l->cfg.max_message_bytes;
    size_t nbatches = 0;
    sl_batch_hdr first;
    res->duplicate = 0;
    while (rest.n > 0) {
        sl_batch_hdr h;
        sl_slice b;
        int rc = sl_batch_next(&rest, 0, &h, &b);
        if (rc == SL_E_PARTIAL)
            return SL_E_MALFORMED;
        if (rc != 0)
            return rc;
        if (b.n > limit)
            return SL_E_TOOBIG;
        rc = sl_batch_check(b, SL_BATCH_CHECK_CRC | SL_BATCH_CHECK_RECORDS, &h);
        if (rc != 0)
            return rc;
        if (nbatches++ == 0)
            first = h;
        else if (h.producer_id >= 0 || first.producer_id >= 0)
            return SL_E_INVAL; /* idempotent batches come one per append */
        records += h.record_count;
    }
    if (n > UINT32_MAX / 2 || records > INT32_MAX / 2)
        return SL_E_TOOBIG;
    if (first.producer_id >= 0) {
        int rc = pstate_check(l, &first, res);
        if (rc == 1) {
            res->duplicate = 1;
            return 0;
        }
        if (rc != 0)
            return rc;
    }

    ss_seg *s = active(l);
    /* Roll when the append does not fit, or when the segment's offsets or
     * positions would overflow the 32-bit index fields, or by age. */
    int need_roll =
        s->size > 0 && (s->size + n > (uint64_t)l->cfg.segment_bytes ||
                        s->next + records - s->base > INT32_MAX ||
                        (l->cfg.segment_ms > 0 && s->roll_ts >= 0 &&
                         now_ms - s->roll_ts >= l->cfg.segment_ms));
    if (!need_roll && s->size + n > s->cap)
        need_roll = s->size > 0;
    if (need_roll) {
        int rc = roll(l, n);
        if (rc != 0)
            return rc;
        s = active(l);
    }
    if (s->size + n > s->cap) {
        /* Empty segment too small for one oversized append: map more. */
        int rc = seg_map(s, s->fd, s->size + n);
        if (rc != 0)
            return rc;
        s->cap = s->size + n;
    }
    int xrc = seg_extend(l, s, s->size + n);
    if (xrc != 0) {
        sl_log(SL_LOG_ERROR, "SS-WRITE", "log=%s cannot allocate: %s", l->rel,
               sl_strerror(xrc));
        return xrc == -ENOSPC ? SL_E_NOSPACE : SL_E_IO;
    }

    /* Stamp offsets (and LogAppendTime), then write in one call. */
    int64_t off = s->next;
    uint64_t pos = s->size;
    int64_t max_ts = s->max_ts;
    rest = sl_slice_make(batches, n);
    while (rest.n > 0) {
        sl_batch_hdr h;
        sl_slice b;
        sl_batch_next(&rest, 0, &h, &b);
        uint8_t *w = batches + (b.p - batches);
        sl_batch_stamp_offset(w, off);
        sl_batch_stamp_epoch(w, 0);
        int64_t ts = h.max_timestamp;
        if (l->cfg.log_append_time) {
            sl_batch_stamp_log_append_time(w, b.n, now_ms);
            ts = now_ms;
        }
        if (ts > max_ts)
            max_ts = ts;
        off += h.last_offset_delta + 1;
    }
    int rc = write_all(s->fd, batches, n, (off_t)s->size);
    if (rc != 0) {
        sl_log(SL_LOG_ERROR, "SS-WRITE", "log=%s write failed: %s", l->rel,
               sl_strerror(rc));
        return rc == -ENOSPC ? SL_E_NOSPACE : SL_E_IO;
    }
    /* Index the new batches (walk again: offsets are stamped now). */
    rest = sl_slice_make(batches, n);
    int64_t running = s->max_ts;
    while (rest.n > 0) {
        sl_batch_hdr h;
        sl_slice b;
        sl_batch_next(&rest, 0, &h, &b);
        int64_t ts = l->cfg.log_append_time ? now_ms : h.max_timestamp;
        if (ts > running)
            running = ts;
        if (ss__seg_index_batch(&s->ix, s->base, h.base_offset, pos, running,
                                l->cfg.index_interval_bytes, &s->last_idx_pos,
                                &s->last_tidx_ts) != 0)
            return -ENOMEM;
        pos += b.n;
    }
    if (s->size == 0)
        s->roll_ts = now_ms;
    res->base_offset = s->next;
    res->last_offset = off - 1;
    res->append_time = l->cfg.log_append_time ? now_ms : -1;
    s->size += n;
    s->next = off;
    s->max_ts = max_ts;
    l->bytes += (int64_t)n;
    res->log_start = ss_log_start(l);
    if (first.producer_id >= 0)
        pstate_record(l, &first, res->base_offset, res->last_offset);
    return 0;
}

/* ---- durability jobs ---------------------------------------------------- */

int
ss_log_job_begin(ss_log *l, int checkpoint, ss_log_job *j)
{
    memset(j, 0, sizeof(*j));
    j->fd = -1;
    j->dir_fd = -1;
    if (l->closed || l->failed)
        return 0;
    ss_seg *s = active(l);
    int need_sync = l->durable_end < s->next;
    int need_ckpt =
        checkpoint && (l->ckpt_base != s->base || l->ckpt_pos != s->size);
    if (!need_sync && !need_ckpt)
        return 0;
    j->fd = dup(s->fd);
    if (j->fd < 0)
        return -errno;
    j->target_end = s->next;
    if (need_ckpt) {
        sl_buf_init(&j->idx);
        sl_buf_init(&j->tidx);
        int rc = seg_encode_index(s, 0, &j->idx, &j->tidx);
        if (rc != 0) {
            close(j->fd);
            sl_buf_fini(&j->idx);
            sl_buf_fini(&j->tidx);
            return rc;
        }
        /* The producer state as of the same point: everything appended so
         * far, which is exactly [0, size) of the active segment. */
        sl_buf_init(&j->psnap);
        rc = ss__psnap_encode(&j->psnap, s->next, l->pstates, l->npstates);
        if (rc != 0)
            sl_buf_fini(&j->psnap); /* recovery falls back to a replay */
        j->has_psnap = rc == 0;
        j->checkpoint = 1;
        j->dir_fd = l->dir_fd;
        ss__seg_name(j->idx_name, sizeof(j->idx_name), s->base, ".index");
        ss__seg_name(j->tidx_name, sizeof(j->tidx_name), s->base, ".timeindex");
        /* Remember what this checkpoint covers. */
        l->ckpt_base = s->base;
        l->ckpt_pos = s->size;
    }
    j->log = l;
    ss_log_hold(l);
    return 1;
}

int
ss_log_job_run(ss_log_job *j)
{
    j->rc = 0;
    if (fdatasync(j->fd) != 0) {
        j->rc = -errno;
        return j->rc;
    }
    if (!j->checkpoint)
        return 0;
    /* The segment bytes the index covers are durable now; write the index
     * unless the segment was sealed meanwhile (its sealed index is newer
     * and must not be replaced). */
    ss_log *l = j->log;
    int64_t base = (int64_t)sl_get_u64be(j->idx.p + 8);
    pthread_mutex_lock(&l->ckpt_mu);
    if (l->sealed_base < base) {
        int rc = write_file_atomic(j->dir_fd, j->tidx_name,
                                   sl_slice_make(j->tidx.p, j->tidx.n));
        if (rc == 0)
            rc = write_file_atomic(j->dir_fd, j->idx_name,
                                   sl_slice_make(j->idx.p, j->idx.n));
        if (rc == 0 && j->has_psnap)
            rc = write_file_atomic(j->dir_fd, SS_PSNAP_NAME,
                                   sl_slice_make(j->psnap.p, j->psnap.n));
        /* A failed checkpoint write is not data loss: recovery falls back
         * to scanning.  Report it without failing the log. */
        if (rc != 0)
            sl_log(SL_LOG_WARN, "SS-CKPT", "log=%s checkpoint failed: %s",
                   l->rel, sl_strerror(rc));
    }
    pthread_mutex_unlock(&l->ckpt_mu);
    return 0;
}

void
ss_log_job_end(ss_log_job *j)
{
    ss_log *l = j->log;
    if (l == NULL)
        return;
    if (j->rc != 0) {
        if (!l->failed)
            sl_log(SL_LOG_ERROR, "SS-FSYNC",
                   "log=%s fdatasync failed: %s; refusing appends until "
                   "restart",
                   l->rel, sl_strerror(j->rc));
        l->failed = 1;
    } else if (j->target_end > l->durable_end) {
        l->durable_end = j->target_end;
    }
    if (j->fd >= 0)
        close(j->fd);
    if (j->checkpoint) {
        sl_buf_fini(&j->idx);
        sl_buf_fini(&j->tidx);
        if (j->has_psnap)
            sl_buf_fini(&j->psnap);
    }
    j->log = NULL;
    ss_log_rele(l);
}

int
ss_log_sync_now(ss_log *l, int checkpoint)
{
    ss_log_job j;
    int rc = ss_log_job_begin(l, checkpoint, &j);
    if (rc <= 0)
        return rc;
    ss_log_job_run(&j);
    rc = j.rc;
    ss_log_job_end(&j);
    return rc;
}

/* ---- reads -----------------------------------------------------------------
 */

/* Index of the segment that holds offset (last with base <= offset). */
static size_t
find_seg(const ss_log *l, int64_t offset)
{
    size_t lo = 0, hi = l->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->segs[mid]->base <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? 0 : lo - 1;
}

int
ss_log_read(ss_log *l, int64_t offset, int32_t max_bytes, int64_t limit,
            ss_read_res *r)
{
    memset(r, 0, sizeof(*r));
    if (l->closed)
        return SL_E_CLOSED;
    if (offset < ss_log_local_start(l) || offset > ss_log_end(l))
        return SL_E_RANGE;
    if (limit > ss_log_end(l))
        limit = ss_log_end(l);
    if (offset >= limit)
        return 0;
    size_t i = find_seg(l, offset);
    /* An offset at a segment's end belongs to the next one. */
    while (i + 1 < l->nsegs && offset >= l->segs[i]->next)
        i++;
    ss_seg *s = l->segs[i];
    int rc = seg_ensure_loaded(l, s);
    if (rc != 0)
        return rc;
    uint64_t pos = ss__index_floor_pos(&s->ix, (uint32_t)(offset - s->base));
    sl_slice data = seg_data(s);
    /* Walk to the batch holding offset. */
    sl_batch_hdr h;
    for (;;) {
        sl_slice rest = sl_slice_make(data.p + pos, data.n - pos);
        sl_slice b;
        if (sl_batch_next(&rest, 0, &h, &b) != 0)
            return SL_E_CORRUPT; /* index and data disagree */
        if (sl_batch_last_offset(&h) >= offset)
            break;
        pos += b.n;
    }
    uint64_t start = pos, end = pos;
    for (;;) {
        sl_slice rest = sl_slice_make(data.p + end, data.n - end);
        sl_slice b;
        if (rest.n == 0 || sl_batch_next(&rest, 0, &h, &b) != 0)
            break;
        if (h.base_offset >= limit)
            break;
        if (end > start && end - start + b.n > (uint64_t)max_bytes)
            break;
        end += b.n;
        if (end - start >= (uint64_t)max_bytes)
            break;
    }
    r->data = s->map + start;
    snprintf(r->path, sizeof(r->path), "%s/%020" PRId64 ".log", l->rel,
             s->base);
    r->segment_base = s->base;
    r->position = start;
    r->length = (uint32_t)(end - start);
    return 0;
}

int
ss_log_find_time(ss_log *l, int64_t ts, int64_t limit, int64_t *offset,
                 int64_t *found_ts)
{
    *offset = -1;
    *found_ts = -1;
    if (l->closed)
        return SL_E_CLOSED;
    if (limit > ss_log_end(l))
        limit = ss_log_end(l);
    for (size_t i = 0; i < l->nsegs; i++) {
        ss_seg *s = l->segs[i];
        if (s->max_ts < ts || s->size == 0)
            continue;
        int rc = seg_ensure_loaded(l, s);
        if (rc != 0)
            return rc;
        uint32_t rel = ss__index_floor_time(&s->ix, ts);
        uint64_t pos = ss__index_floor_pos(&s->ix, rel);
        sl_slice data = seg_data(s);
        while (pos < data.n) {
            sl_slice rest = sl_slice_make(data.p + pos, data.n - pos);
            sl_batch_hdr h;
            sl_slice b;
            if (sl_batch_next(&rest, 0, &h, &b) != 0)
                return SL_E_CORRUPT;
            if (h.base_offset >= limit)
                return 0;
            pos += b.n;
            if (h.max_timestamp < ts)
                continue;
            /* This batch holds the first record at or after ts.  For an
             * uncompressed CreateTime batch, find the record itself. */
            *offset = h.base_offset;
            *found_ts = h.max_timestamp;
            if (sl_batch_compression(&h) == SL_COMPRESSION_NONE &&
                !(h.attributes & SL_BATCH_ATTR_LOG_APPEND_TIME)) {
                sl_rd rd;
                sl_rd_init(&rd, sl_batch_records(b));
                sl_record rec;
                while (sl_record_next(&rd, &rec) == 0) {
                    int64_t rts = h.base_timestamp + rec.timestamp_delta;
                    if (rts >= ts) {
                        *offset = h.base_offset + rec.offset_delta;
                        *found_ts = rts;
                        break;
                    }
                }
            }
            return 0;
        }
    }
    return 0;
}

/* ---- retention ------------------------------------------------------------
 */

static int
delete_front(ss_log *l)
{
    ss_seg *s = l->segs[0];
    static const char *exts[] = {".index", ".timeindex", ".log"};
    for (size_t i = 0; i < SL_ARRAY_LEN(exts); i++) {
        char name[32];
        ss__seg_name(name, sizeof(name), s->base, exts[i]);
        if (unlinkat(l->dir_fd, name, 0) != 0 && errno != ENOENT)
            return -errno;
    }
    l->bytes -= (int64_t)s->size;
    sl_log(SL_LOG_INFO, "SS-RETAIN",
           "log=%s deleted segment base=%" PRId64 " next=%" PRId64
           " bytes=%" PRIu64,
           l->rel, s->base, s->next, s->size);
    seg_free(s);
    memmove(l->segs, l->segs + 1, (l->nsegs - 1) * sizeof(*l->segs));
    l->nsegs--;
    return 0;
}

int
ss_log_retain(ss_log *l, int64_t now_ms)
{
    if (l->closed || l->failed)
        return 0;
    ss_seg *a = active(l);
    /* Roll by age, and roll an active segment that is itself past
     * retention so that it can be deleted. */
    int roll_age = l->cfg.segment_ms > 0 && a->roll_ts >= 0 &&
                   now_ms - a->roll_ts >= l->cfg.segment_ms;
    int roll_ret = l->cfg.retention_ms >= 0 && a->max_ts >= 0 &&
                   now_ms - a->max_ts > l->cfg.retention_ms;
    if (a->size > 0 && (roll_age || roll_ret)) {
        int rc = roll(l, 0);
        if (rc != 0)
            return rc;
    }
    int deleted = 0;
    /* Older segments in the tier go first (the tier's retention). */
    while (l->nsegs > 1 && l->remote_start < 0) {
        ss_seg *s = l->segs[0];
        int expired = l->cfg.retention_ms >= 0 &&
                      now_ms - s->max_ts > l->cfg.retention_ms;
        int oversize = l->cfg.retention_bytes >= 0 &&
                       l->bytes - (int64_t)s->size >= l->cfg.retention_bytes;
        if (!expired && !oversize)
            break;
        int rc = delete_front(l);
        if (rc != 0)
            return rc;
        deleted++;
    }
    return deleted;
}

int
ss_log_drop_front(ss_log *l, int64_t base)
{
    if (l->closed || l->failed || l->nsegs < 2 || l->segs[0]->base != base)
        return 0;
    int rc = delete_front(l);
    return rc == 0 ? 1 : rc;
}

int
ss_log_roll(ss_log *l)
{
    if (l->closed || l->failed)
        return SL_E_CLOSED;
    if (active(l)->size == 0)
        return 0;
    return roll(l, 0);
}

int
ss_log_delete_before(ss_log *l, int64_t offset)
{
    if (l->closed || l->failed)
        return SL_E_CLOSED;
    int deleted = 0;
    while (l->nsegs > 1 && l->segs[0]->next <= offset) {
        int rc = delete_front(l);
        if (rc != 0)
            return rc;
        deleted++;
    }
    return deleted;
}

/* ---- producer state across restarts ------------------------------------ */

/* Write the producer snapshot as of offset next (the log's end: callers
 * hold ckpt_mu and call it right after the bytes before next are durable).
 * A failure costs only a longer replay at the next start. */
static void
psnap_write(ss_log *l, int64_t next)
{
    sl_buf b;
    sl_buf_init(&b);
    int rc = ss__psnap_encode(&b, next, l->pstates, l->npstates);
    if (rc == 0)
        rc = write_file_atomic(l->dir_fd, SS_PSNAP_NAME,
                               sl_slice_make(b.p, b.n));
    if (rc != 0)
        sl_log(SL_LOG_WARN, "SS-PSNAP",
               "log=%s producer snapshot not written: %s", l->rel,
               sl_strerror(rc));
    sl_buf_fini(&b);
}

/* Feed the producer fields of every batch from offset `from` to the end
 * into the state, as the appends did.  `from` must start a batch. */
static int
pstate_replay(ss_log *l, int64_t from)
{
    if (from == ss_log_end(l))
        return 0;
    if (from < ss_log_local_start(l) || from > ss_log_end(l))
        return SL_E_RANGE;
    size_t i = find_seg(l, from);
    while (i + 1 < l->nsegs && from >= l->segs[i]->next)
        i++;
    int found = 0;
    for (; i < l->nsegs; i++) {
        ss_seg *s = l->segs[i];
        if (s->size == 0)
            continue;
        int rc = seg_ensure_loaded(l, s);
        if (rc != 0)
            return rc;
        uint64_t pos = 0;
        if (!found)
            pos = ss__index_floor_pos(&s->ix, (uint32_t)(from - s->base));
        sl_slice data = seg_data(s);
        while (pos < data.n) {
            sl_slice rest = sl_slice_make(data.p + pos, data.n - pos);
            sl_batch_hdr h;
            sl_slice b;
            if (sl_batch_next(&rest, 0, &h, &b) != 0)
                return SL_E_CORRUPT;
            pos += b.n;
            if (!found) {
                if (sl_batch_last_offset(&h) < from)
                    continue;
                if (h.base_offset != from)
                    return SL_E_CORRUPT; /* not a batch boundary */
                found = 1;
            }
            if (h.producer_id >= 0)
                pstate_record(l, &h, h.base_offset, sl_batch_last_offset(&h));
        }
    }
    return found ? 0 : SL_E_CORRUPT;
}

static void
pstate_clear(ss_log *l)
{
    l->npstates = 0;
    l->pstate_clock = 0;
}

static int
producers_recover(ss_log *l)
{
    sl_buf f;
    sl_buf_init(&f);
    int rc = read_file(l->dir_fd, SS_PSNAP_NAME, &f);
    int64_t next = -1;
    ss_pstate *ps = NULL;
    size_t n = 0;
    if (rc == 0)
        rc = ss__psnap_decode(sl_slice_make(f.p, f.n), &next, &ps, &n);
    sl_buf_fini(&f);
    if (rc == -ENOMEM)
        return rc;
    if (rc == 0) {
        free(l->pstates);
        l->pstates = ps;
        l->npstates = l->pstate_cap = n;
        l->pstate_clock = n;
        rc = pstate_replay(l, next);
        if (rc == -ENOMEM)
            return rc;
        if (rc == 0) {
            sl_log(SL_LOG_DEBUG, "SS-PSNAP",
                   "log=%s producers=%zu snapshot at %" PRId64 " replayed to "
                   "%" PRId64,
                   l->rel, l->npstates, next, ss_log_end(l));
            return 0;
        }
    }
    /* No usable snapshot: what the active segment holds. */
    int missing = rc == -ENOENT;
    pstate_clear(l);
    int64_t from = active(l)->base;
    int rrc = pstate_replay(l, from);
    if (rrc != 0) {
        /* Recovery has just validated these batches; this is a bug or a
         * disk changing under us.  Dedupe restarts from nothing. */
        pstate_clear(l);
        sl_log(SL_LOG_ERROR, "SS-PSNAP",
               "log=%s cannot rebuild producer state: %s", l->rel,
               sl_strerror(rrc));
        return 0;
    }
    if (!missing || (l->npstates > 0 && l->nsegs > 1))
        sl_log(SL_LOG_WARN, "SS-PSNAP",
               "log=%s producer snapshot %s (%s): producer state rebuilt "
               "from the active segment (base %" PRId64 ", %zu producers); "
               "producers seen only before it are unknown",
               l->rel, missing ? "missing" : "unusable", sl_strerror(rc), from,
               l->npstates);
    return 0;
}
