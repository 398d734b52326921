/*
 * main.c — sluice-dump: print and verify Sluice segment data.
 *
 *   sluice-dump [--records] [--verify] [--json] [--full] PATH...
 *
 * PATH is a segment (<20 digits>.log), an index (.index, .timeindex), a
 * partition directory, a topic directory or a whole data directory.  This
 * file does the file system work (listing, ordering, mapping files
 * read-only) and decides what to check; the checks themselves live in
 * dump_verify.c and the output formats in dump_out.c.  docs/tools.md is the
 * user's description of the behaviour, docs/format.md what is checked.
 *
 * Exit status: 0 when everything is sound, 1 when something is corrupt,
 * 2 on usage or I/O errors (2 wins over 1).  Warnings do not change it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dump_out.h"
#include "dump_verify.h"
#include "sl_base.h"

#ifndef SLUICE_VERSION
#define SLUICE_VERSION "unknown"
#endif

/* A corrupt file can yield a problem per index entry; past this many the
 * rest of a file's problems are counted but not printed. */
#define MAX_SHOWN_PER_FILE 100

enum { ROLE_UNKNOWN = 0, ROLE_SEALED, ROLE_ACTIVE };

/* The only globals of the tool: options, the output and the tallies. */
static struct {
    int records;
    int verify;
    dump_out out;
    dump_stats st;
} g;

/* Problems of one file, for the per-file cap. */
typedef struct file_rep {
    const char *path;
    uint64_t shown;
    int capped;
} file_rep;

static const char *
sev_word(int severity)
{
    switch (severity) {
    case DUMP_SEV_WARNING:
        return "warning";
    case DUMP_SEV_CORRUPT:
        return "corrupt";
    default:
        return "error";
    }
}

static void
on_problem(void *arg, int severity, int64_t pos, const char *msg)
{
    file_rep *fr = arg;

    if (severity == DUMP_SEV_WARNING)
        g.st.warnings++;
    else if (severity == DUMP_SEV_CORRUPT)
        g.st.corrupt++;
    else
        g.st.errors++;
    if (fr->shown >= MAX_SHOWN_PER_FILE) {
        if (!fr->capped) {
            fr->capped = 1;
            fflush(stdout);
            fprintf(stderr,
                    "warning: %s: more problems in this file are counted "
                    "but not shown\n",
                    fr->path);
        }
        return;
    }
    fr->shown++;
    /* Flush first so that a problem appears after the batch lines that
     * lead up to it when both streams go to one terminal. */
    fflush(stdout);
    if (pos >= 0)
        fprintf(stderr, "%s: %s: position %" PRId64 ": %s\n",
                sev_word(severity), fr->path, pos, msg);
    else
        fprintf(stderr, "%s: %s: %s\n", sev_word(severity), fr->path, msg);
    dump_out_problem(&g.out, fr->path, severity, pos, msg);
}

static void note(const char *path, int severity, int64_t pos, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));

/* A one-off problem about path, outside any file's walk. */
static void
note(const char *path, int severity, int64_t pos, const char *fmt, ...)
{
    file_rep fr = {path, 0, 0};
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    on_problem(&fr, severity, pos, msg);
}

/* ---- files ------------------------------------------------------------- */

typedef struct mapping {
    const uint8_t *p;
    size_t n;
    void *addr; /* NULL for an empty file, which cannot be mapped */
} mapping;

/* Map a regular file read-only.  0 or -errno (-EISDIR/-EINVAL for other
 * kinds of file). */
static int
map_file(const char *path, mapping *m)
{
    struct stat sb;
    int fd, rc = 0;

    memset(m, 0, sizeof(*m));
    m->p = (const uint8_t *)"";
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &sb) != 0) {
        rc = -errno;
        goto fail;
    }
    if (S_ISDIR(sb.st_mode)) {
        rc = -EISDIR;
        goto fail;
    }
    if (!S_ISREG(sb.st_mode)) {
        rc = -EINVAL;
        goto fail;
    }
    if (sb.st_size > 0) {
        /* MAP_PRIVATE + PROT_READ: we never write, and sealed segments are
         * mapped read-only throughout Sluice. */
        void *a = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (a == MAP_FAILED) {
            rc = -errno;
            goto fail;
        }
        (void)madvise(a, (size_t)sb.st_size, MADV_SEQUENTIAL);
        m->addr = a;
        m->p = a;
        m->n = (size_t)sb.st_size;
    }
fail:
    close(fd);
    return rc;
}

static void
unmap_file(mapping *m)
{
    if (m->addr != NULL)
        munmap(m->addr, m->n);
    memset(m, 0, sizeof(*m));
}

static void
map_error(const char *path, int rc)
{
    if (rc == -EINVAL)
        note(path, DUMP_OUT_ERROR, -1, "not a regular file");
    else
        note(path, DUMP_OUT_ERROR, -1, "%s", strerror(-rc));
}

/* dir + "/" + name, or NULL (reported) when out of memory. */
static char *
path_join(const char *dir, const char *name)
{
    size_t d = strlen(dir), n = strlen(name);
    char *p = malloc(d + n + 2);

    if (p == NULL) {
        note(dir, DUMP_OUT_ERROR, -1, "out of memory");
        return NULL;
    }
    memcpy(p, dir, d);
    /* Keep "dir/" from becoming "dir//name" in printed paths. */
    if (d > 0 && dir[d - 1] != '/')
        p[d++] = '/';
    memcpy(p + d, name, n + 1);
    return p;
}

/* The same path with its extension (after the last dot of the last
 * component) replaced by ext, or NULL when out of memory. */
static char *
path_with_ext(const char *path, const char *ext)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    size_t keep = dot ? (size_t)(dot - path) : strlen(path);
    char *p = malloc(keep + strlen(ext) + 1);

    if (p == NULL) {
        note(path, DUMP_OUT_ERROR, -1, "out of memory");
        return NULL;
    }
    memcpy(p, path, keep);
    strcpy(p + keep, ext);
    return p;
}

/* Last component of path, ignoring trailing slashes, copied into buf. */
static const char *
last_name(const char *path, char *buf, size_t len)
{
    size_t n = strlen(path);
    size_t start;

    while (n > 1 && path[n - 1] == '/')
        n--;
    start = n;
    while (start > 0 && path[start - 1] != '/')
        start--;
    snprintf(buf, len, "%.*s", (int)(n - start), path + start);
    return buf;
}

static int
has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int
is_dir(const char *dir, const char *name)
{
    struct stat sb;
    char *p = path_join(dir, name);
    int r = p != NULL && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);

    free(p);
    return r;
}

/* ---- directory listings ------------------------------------------------ */

typedef struct namelist {
    char **v;
    size_t n, cap;
} namelist;

static void
namelist_free(namelist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in dir except . and .., sorted; 0 or -errno. */
static int
list_dir(const char *dir, namelist *l)
{
    DIR *d;
    struct dirent *de;
    int rc = 0;

    memset(l, 0, sizeof(*l));
    d = opendir(dir);
    if (d == NULL)
        return -errno;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 32;
            char **v = realloc(l->v, cap * sizeof(*v));
            if (v == NULL) {
                rc = -ENOMEM;
                goto fail;
            }
            l->v = v;
            l->cap = cap;
        }
        if ((l->v[l->n] = strdup(de->d_name)) == NULL) {
            rc = -ENOMEM;
            goto fail;
        }
        l->n++;
    }
    if (errno != 0)
        rc = -errno;
    if (rc == 0 && l->n > 0)
        qsort(l->v, l->n, sizeof(*l->v), cmp_str);
fail:
    closedir(d);
    if (rc != 0)
        namelist_free(l);
    return rc;
}

/* ---- segments and indexes ---------------------------------------------- */

/* An index beside a segment, opened for cross-checking (--verify). */
typedef struct side_index {
    char *path;
    mapping m;
    file_rep rep;
    dump_report r;
    dump_index ix;
    int present;
} side_index;

static void
side_index_open(side_index *si, const char *seg_path, int kind, int has_base,
                int64_t base)
{
    static const char *ext[] = {".index", ".timeindex"};
    int rc;

    memset(si, 0, sizeof(*si));
    si->path = path_with_ext(seg_path, ext[kind]);
    if (si->path == NULL)
        return;
    rc = map_file(si->path, &si->m);
    if (rc == -ENOENT) {
        note(si->path, DUMP_SEV_WARNING, -1,
             "missing %s index (segstore rebuilds it)",
             kind == DUMP_INDEX_OFFSET ? "offset" : "time");
        return;
    }
    if (rc != 0) {
        map_error(si->path, rc);
        return;
    }
    si->present = 1;
    g.st.files++;
    g.st.indexes++;
    si->rep.path = si->path;
    si->r.fn = on_problem;
    si->r.arg = &si->rep;
    dump_index_parse(&si->ix, sl_slice_make(si->m.p, si->m.n), kind, has_base,
                     base, &si->r);
}

static void
side_index_close(side_index *si)
{
    unmap_file(&si->m);
    free(si->path);
    memset(si, 0, sizeof(*si));
}

/* Everything the batch loop of walk_segment() needs, in memory rather than
 * in locals so that it survives a siglongjmp. */
typedef struct walk_ctx {
    const char *path;
    int quiet;
    dump_seg *s;
    const dump_report *r;
    side_index *side;
    int nside;
    dump_index *only_ix;
    const dump_report *only_rep;
} walk_ctx;

static void
walk_batches(const walk_ctx *w)
{
    dump_batch b;

    while (dump_seg_next(w->s, &b, w->r)) {
        if (!w->quiet) {
            g.st.batches++;
            if (b.h.record_count > 0)
                g.st.records += (uint64_t)b.h.record_count;
            dump_out_batch(&g.out, w->path, &b);
            if (g.records)
                dump_out_records(&g.out, w->path, &b);
        }
        for (int i = 0; i < w->nside; i++) {
            if (w->side[i].present)
                dump_index_feed(&w->side[i].ix, &b, &w->side[i].r);
        }
        if (w->only_ix != NULL)
            dump_index_feed(w->only_ix, &b, w->only_rep);
    }
}

/*
 * A mapped segment that shrinks under us (segstore truncates the active
 * segment when it recovers) turns reads past the new end into SIGBUS.
 * Reads of mapped bytes happen only in our code, CRC and XXH3 (never
 * inside stdio), so jumping out of the walk is safe; the walk's state is
 * in memory that the caller then releases.
 */
static sigjmp_buf bus_env;
static volatile sig_atomic_t bus_armed;

static void
on_sigbus(int sig)
{
    if (bus_armed) {
        bus_armed = 0;
        siglongjmp(bus_env, 1);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

/* walk_batches(), or -EIO when the segment shrank while being read. */
static int
guarded_walk(const walk_ctx *w)
{
    if (sigsetjmp(bus_env, 1) != 0)
        return -EIO;
    bus_armed = 1;
    walk_batches(w);
    bus_armed = 0;
    return 0;
}

/*
 * Walk one segment: print it (unless quiet), check its batches and, with
 * --verify, the indexes beside it (all of them when only is < 0, else only
 * the index of that kind, already parsed in *only_ix).  *next receives the
 * offset after its last batch.  Returns 0, or -1 when it could not be read.
 */
static int
walk_segment(const char *path, int has_base, int64_t base, int role, int quiet,
             dump_index *only_ix, const dump_report *only_rep, int64_t *next)
{
    mapping m;
    file_rep rep = {path, 0, 0};
    dump_report r = {on_problem, &rep};
    side_index side[2];
    dump_seg s;
    walk_ctx w;
    int nside = 0, rc;

    rc = map_file(path, &m);
    if (rc != 0) {
        map_error(path, rc);
        return -1;
    }
    g.st.files++;
    g.st.segments++;
    if (!quiet)
        dump_out_segment_begin(&g.out, path, has_base, base, m.n);
    if (g.verify && only_ix == NULL) {
        side_index_open(&side[0], path, DUMP_INDEX_OFFSET, has_base, base);
        side_index_open(&side[1], path, DUMP_INDEX_TIME, has_base, base);
        nside = 2;
    }
    dump_seg_init(&s, sl_slice_make(m.p, m.n), has_base, base,
                  g.records || g.verify ? DUMP_CHECK_RECORDS : 0);
    w.path = path;
    w.quiet = quiet;
    w.s = &s;
    w.r = &r;
    w.side = side;
    w.nside = nside;
    w.only_ix = only_ix;
    w.only_rep = only_rep;
    if (guarded_walk(&w) != 0) {
        note(path, DUMP_OUT_ERROR, -1,
             "the file shrank while being read (SIGBUS); was it truncated "
             "by a running segstore?");
        for (int i = 0; i < nside; i++)
            side_index_close(&side[i]);
        unmap_file(&m);
        return -1;
    }
    if (!quiet)
        dump_out_segment_end(&g.out, path, &s);
    for (int i = 0; i < nside; i++) {
        if (!side[i].present)
            continue;
        dump_index_finish(&side[i].ix, &s, &side[i].r);
        /* Segstore trusts a sealed segment's index only when it is marked
         * sealed; otherwise it rescans the segment at start-up. */
        if (role == ROLE_SEALED && side[i].ix.has_header &&
            !(side[i].ix.flags & DUMP_INDEX_SEALED))
            note(side[i].path, DUMP_SEV_WARNING, 6,
                 "the segment is sealed but its index is not marked sealed "
                 "(segstore rebuilds it)");
    }
    if (only_ix != NULL)
        dump_index_finish(only_ix, &s, only_rep);
    if (g.verify && role == ROLE_SEALED && s.end_kind == DUMP_END_ZERO)
        note(path, DUMP_SEV_WARNING, (int64_t)s.end,
             "sealed segment is not truncated to its data: %zu zero bytes "
             "follow its last batch",
             m.n - s.end);
    for (int i = 0; i < nside; i++)
        side_index_close(&side[i]);
    *next = s.next;
    unmap_file(&m);
    return 0;
}

static void
do_index_file(const char *path, int kind, int has_base, int64_t base)
{
    mapping m;
    file_rep rep = {path, 0, 0};
    dump_report r = {on_problem, &rep};
    dump_index ix;
    char *seg = NULL;
    struct stat sb;
    int64_t next;
    int rc;

    rc = map_file(path, &m);
    if (rc != 0) {
        map_error(path, rc);
        return;
    }
    g.st.files++;
    g.st.indexes++;
    dump_index_parse(&ix, sl_slice_make(m.p, m.n), kind, has_base, base, &r);
    dump_out_index(&g.out, path, &ix);
    if (g.verify) {
        seg = path_with_ext(path, ".log");
        if (seg == NULL)
            goto done;
        if (stat(seg, &sb) != 0 && errno == ENOENT)
            note(path, DUMP_SEV_WARNING, -1,
                 "no segment %s beside the index; checked the index alone",
                 seg);
        else
            walk_segment(seg, has_base, base, ROLE_UNKNOWN, 1, &ix, &r, &next);
    }
done:
    free(seg);
    unmap_file(&m);
}

/* ---- partitions, topics, data directories ------------------------------ */

typedef struct seg_name {
    int64_t base;
    const char *name;
} seg_name;

static int
cmp_seg(const void *a, const void *b)
{
    int64_t x = ((const seg_name *)a)->base, y = ((const seg_name *)b)->base;
    return (x > y) - (x < y);
}

static int
has_segment_named(const seg_name *segs, size_t n, int64_t base)
{
    for (size_t i = 0; i < n; i++) {
        if (segs[i].base == base)
            return 1;
    }
    return 0;
}

static void
do_partition(const char *dir, const namelist *names)
{
    seg_name *segs = NULL;
    size_t nsegs = 0;
    int64_t prev_next = 0;
    const char *prev_name = NULL;

    segs = calloc(names->n ? names->n : 1, sizeof(*segs));
    if (segs == NULL) {
        note(dir, DUMP_OUT_ERROR, -1, "out of memory");
        return;
    }
    for (size_t i = 0; i < names->n; i++) {
        int64_t base;
        if (dump_name_parse(names->v[i], &base) == DUMP_NAME_LOG) {
            segs[nsegs].base = base;
            segs[nsegs].name = names->v[i];
            nsegs++;
        }
    }
    qsort(segs, nsegs, sizeof(*segs), cmp_seg);
    if (g.verify) {
        for (size_t i = 0; i < names->n; i++) {
            int64_t base;
            int kind = dump_name_parse(names->v[i], &base);
            if ((kind == DUMP_NAME_INDEX || kind == DUMP_NAME_TIMEINDEX) &&
                !has_segment_named(segs, nsegs, base))
                note(dir, DUMP_SEV_WARNING, -1,
                     "index %s has no segment beside it", names->v[i]);
        }
    }
    if (nsegs == 0)
        note(dir, DUMP_SEV_WARNING, -1, "no segment files in partition");
    for (size_t i = 0; i < nsegs; i++) {
        char *path = path_join(dir, segs[i].name);
        int64_t next;
        if (path == NULL)
            break;
        /* Segments of a partition cover contiguous offset ranges: each one
         * starts where the one before ends. */
        if (g.verify && prev_name != NULL && segs[i].base != prev_next) {
            if (segs[i].base > prev_next)
                note(path, DUMP_SEV_CORRUPT, 0,
                     "offset gap: segment starts at offset %" PRId64
                     " but the previous segment %s ends before offset "
                     "%" PRId64,
                     segs[i].base, prev_name, prev_next);
            else
                note(path, DUMP_SEV_CORRUPT, 0,
                     "offset overlap: segment starts at offset %" PRId64
                     " but the previous segment %s ends before offset "
                     "%" PRId64,
                     segs[i].base, prev_name, prev_next);
        }
        if (walk_segment(path, 1, segs[i].base,
                         i + 1 == nsegs ? ROLE_ACTIVE : ROLE_SEALED, 0, NULL,
                         NULL, &next) == 0) {
            prev_next = next;
            prev_name = segs[i].name;
        } else {
            /* Unreadable: nothing to compare the next segment with. */
            prev_name = NULL;
        }
        free(path);
    }
    free(segs);
}

static void
do_partition_dir(const char *dir)
{
    namelist names;
    int rc = list_dir(dir, &names);

    if (rc != 0) {
        note(dir, DUMP_OUT_ERROR, -1, "%s", strerror(-rc));
        return;
    }
    do_partition(dir, &names);
    namelist_free(&names);
}

/* A partition directory name: decimal digits, at most 9 of them. */
static int
partition_number(const char *name)
{
    size_t n = strlen(name);
    int v = 0;

    if (n == 0 || n > 9)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (name[i] < '0' || name[i] > '9')
            return -1;
        v = v * 10 + (name[i] - '0');
    }
    return v;
}

typedef struct part_name {
    int num;
    const char *name;
} part_name;

static int
cmp_part(const void *a, const void *b)
{
    int x = ((const part_name *)a)->num, y = ((const part_name *)b)->num;
    return (x > y) - (x < y);
}

/* topic.meta, with --verify; returns partitions= or -1. */
static int64_t
check_topic_meta(const char *dir)
{
    char name[256];
    char *path = path_join(dir, "topic.meta");
    mapping m;
    int64_t np = -1;
    int rc;

    if (path == NULL)
        return -1;
    rc = map_file(path, &m);
    if (rc == -ENOENT) {
        note(dir, DUMP_SEV_WARNING, -1, "no topic.meta in topic directory");
    } else if (rc != 0) {
        map_error(path, rc);
    } else {
        file_rep rep = {path, 0, 0};
        dump_report r = {on_problem, &rep};
        g.st.files++;
        dump_meta_check(sl_slice_make(m.p, m.n),
                        last_name(dir, name, sizeof(name)), &np, &r);
        unmap_file(&m);
    }
    free(path);
    return np;
}

static void
do_topic(const char *dir, const namelist *names)
{
    part_name *parts;
    size_t nparts = 0;
    int64_t np = g.verify ? check_topic_meta(dir) : -1;

    parts = calloc(names->n ? names->n : 1, sizeof(*parts));
    if (parts == NULL) {
        note(dir, DUMP_OUT_ERROR, -1, "out of memory");
        return;
    }
    for (size_t i = 0; i < names->n; i++) {
        int num = partition_number(names->v[i]);
        if (num >= 0 && is_dir(dir, names->v[i])) {
            parts[nparts].num = num;
            parts[nparts].name = names->v[i];
            nparts++;
        }
    }
    qsort(parts, nparts, sizeof(*parts), cmp_part);
    if (np >= 0) {
        /* Partition directories are 0..N-1 for partitions=N. */
        size_t j = 0;
        for (int64_t want = 0; want < np; want++) {
            while (j < nparts && parts[j].num < want)
                j++;
            if (j == nparts || parts[j].num != want)
                note(dir, DUMP_SEV_WARNING, -1,
                     "partition directory %" PRId64 " is missing "
                     "(topic.meta says partitions=%" PRId64 ")",
                     want, np);
        }
        for (j = 0; j < nparts; j++) {
            if (parts[j].num >= np)
                note(dir, DUMP_SEV_WARNING, -1,
                     "partition directory %s is beyond partitions=%" PRId64,
                     parts[j].name, np);
        }
    }
    if (nparts == 0)
        note(dir, DUMP_SEV_WARNING, -1, "no partition directories in topic");
    for (size_t i = 0; i < nparts; i++) {
        char *path = path_join(dir, parts[i].name);
        if (path == NULL)
            break;
        do_partition_dir(path);
        free(path);
    }
    free(parts);
}

static void
do_data_dir(const char *dir, const namelist *names)
{
    if (g.verify) {
        char *path = path_join(dir, "segstore.id");
        mapping m;
        int rc = path ? map_file(path, &m) : -ENOMEM;
        if (rc == -ENOENT) {
            note(dir, DUMP_SEV_WARNING, -1, "no segstore.id");
        } else if (rc != 0) {
            map_error(path ? path : dir, rc);
        } else {
            file_rep rep = {path, 0, 0};
            dump_report r = {on_problem, &rep};
            g.st.files++;
            dump_id_check(sl_slice_make(m.p, m.n), &r);
            unmap_file(&m);
        }
        free(path);
    }
    for (size_t i = 0; i < names->n; i++) {
        const char *name = names->v[i];
        namelist sub;
        char *path;
        int rc;
        /* `~` marks deleted topics awaiting removal; dot names are ours
         * (.lock) or hidden. */
        if (name[0] == '.' || strchr(name, '~') != NULL || !is_dir(dir, name))
            continue;
        if ((path = path_join(dir, name)) == NULL)
            break;
        rc = list_dir(path, &sub);
        if (rc != 0) {
            note(path, DUMP_OUT_ERROR, -1, "%s", strerror(-rc));
        } else {
            do_topic(path, &sub);
            namelist_free(&sub);
        }
        free(path);
    }
}

/* Decide what a directory is by what it holds. */
static void
do_dir(const char *dir)
{
    namelist names;
    int segs = 0, meta = 0, id = 0, numdirs = 0, subdirs = 0;
    int rc = list_dir(dir, &names);

    if (rc != 0) {
        note(dir, DUMP_OUT_ERROR, -1, "%s", strerror(-rc));
        return;
    }
    for (size_t i = 0; i < names.n; i++) {
        const char *name = names.v[i];
        int64_t base;
        if (dump_name_parse(name, &base) != DUMP_NAME_OTHER)
            segs++;
        else if (strcmp(name, "topic.meta") == 0)
            meta++;
        else if (strcmp(name, "segstore.id") == 0)
            id++;
        else if (name[0] != '.' && is_dir(dir, name) &&
                 partition_number(name) >= 0)
            numdirs++;
        else if (name[0] != '.' && is_dir(dir, name))
            subdirs++;
    }
    if (segs > 0)
        do_partition(dir, &names);
    else if (meta > 0 || numdirs > 0)
        do_topic(dir, &names);
    else if (id > 0 || subdirs > 0)
        do_data_dir(dir, &names);
    else
        note(dir, DUMP_SEV_WARNING, -1,
             "no segments, partitions or topics in directory");
    namelist_free(&names);
}

static void do_manifest(const char *path);

static void
do_path(const char *path)
{
    char name[4096];
    struct stat sb;
    int64_t base = 0, next;
    int kind;

    if (stat(path, &sb) != 0) {
        note(path, DUMP_OUT_ERROR, -1, "%s", strerror(errno));
        return;
    }
    if (S_ISDIR(sb.st_mode)) {
        do_dir(path);
        return;
    }
    last_name(path, name, sizeof(name));
    kind = dump_name_parse(name, &base);
    switch (kind) {
    case DUMP_NAME_LOG:
        walk_segment(path, 1, base, ROLE_UNKNOWN, 0, NULL, NULL, &next);
        return;
    case DUMP_NAME_INDEX:
        do_index_file(path, DUMP_INDEX_OFFSET, 1, base);
        return;
    case DUMP_NAME_TIMEINDEX:
        do_index_file(path, DUMP_INDEX_TIME, 1, base);
        return;
    default:
        break;
    }
    /* A renamed copy (say, attached to a bug report) is still worth
     * reading; only its base offset is unknown. */
    if (has_suffix(name, ".log")) {
        note(path, DUMP_SEV_WARNING, -1,
             "name is not <20 digits>.log; taking the first batch's base "
             "offset as the segment's");
        walk_segment(path, 0, 0, ROLE_UNKNOWN, 0, NULL, NULL, &next);
    } else if (has_suffix(name, ".timeindex")) {
        do_index_file(path, DUMP_INDEX_TIME, 0, 0);
    } else if (has_suffix(name, ".index")) {
        do_index_file(path, DUMP_INDEX_OFFSET, 0, 0);
    } else if (strcmp(name, "manifest") == 0 || has_suffix(name, ".manifest")) {
        do_manifest(path);
    } else {
        note(path, DUMP_OUT_ERROR, -1,
             "not a segment (.log), an index (.index, .timeindex) or a "
             "directory");
    }
}

/* ---- tier manifests (docs/format.md, Tier) -------------------------------
 */

/* Print a tier manifest (<topic>/<p>/manifest in the tier, tier.manifest
 * in a partition directory) and check docs/format.md's validity rules for
 * it with dump_manifest_*: corrupt when one is broken. */
static void
do_manifest(const char *path)
{
    mapping m;
    file_rep rep = {path, 0, 0};
    dump_report r = {on_problem, &rep};
    dump_manifest mf;
    dump_manifest_ent e;
    int rc = map_file(path, &m);
    if (rc != 0) {
        map_error(path, rc);
        return;
    }
    g.st.files++;
    if (dump_manifest_init(&mf, sl_slice_make(m.p, m.n), &r) != 0)
        goto out;
    if (g.out.json) {
        printf("{\"type\":\"manifest\",\"path\":");
        dump_out_json_str(stdout, path);
        printf(",\"generation\":%" PRIu64 ",\"segments\":%" PRIu32 "}\n",
               mf.generation, mf.count);
    } else {
        printf("%s: tier manifest generation=%" PRIu64 " segments=%" PRIu32
               "\n",
               path, mf.generation, mf.count);
    }
    while (dump_manifest_next(&mf, &e, &r) == 1) {
        char dg[33];
        for (int k = 0; k < 16; k++)
            snprintf(dg + 2 * k, 3, "%02x", e.digest[k]);
        if (g.out.json) {
            printf("{\"type\":\"tier_segment\",\"base\":%" PRId64
                   ",\"next\":%" PRId64 ",\"min_ts\":%" PRId64
                   ",\"max_ts\":%" PRId64 ",\"size\":%" PRIu64
                   ",\"xxh3_128\":\"%s\",\"log\":\"%.*s\"}\n",
                   e.base, e.next, e.min_ts, e.max_ts, e.size, dg,
                   (int)e.key[0].n, (const char *)e.key[0].p);
        } else {
            printf("  segment base=%" PRId64 " next=%" PRId64 " ts=[%" PRId64
                   ",%" PRId64 "] size=%" PRIu64 " xxh3_128=%s\n"
                   "    %.*s\n    %.*s\n    %.*s\n",
                   e.base, e.next, e.min_ts, e.max_ts, e.size, dg,
                   (int)e.key[0].n, (const char *)e.key[0].p, (int)e.key[1].n,
                   (const char *)e.key[1].p, (int)e.key[2].n,
                   (const char *)e.key[2].p);
        }
    }
out:
    unmap_file(&m);
}

/* ---- command line ------------------------------------------------------ */

static void
usage(FILE *f)
{
    fputs("usage: sluice-dump [--records] [--verify] [--json] [--full] "
          "PATH...\n"
          "\n"
          "Print and check Sluice segment data (docs/format.md).  PATH is a\n"
          "segment (<20 digits>.log), an index (.index, .timeindex), a\n"
          "partition directory, a topic directory or a data directory.\n"
          "\n"
          "  --records  print every record under its batch\n"
          "  --verify   check everything docs/format.md defines: records,\n"
          "             offset continuity across segments, index files,\n"
          "             topic.meta\n"
          "  --json     JSON Lines output, one object per line\n"
          "  --full     do not truncate long keys and values\n"
          "  --help     this text\n"
          "  --version  print the version\n"
          "\n"
          "Exit status: 0 sound, 1 corrupt data found, 2 usage or I/O "
          "error.\n",
          f);
}

int
main(int argc, char **argv)
{
    enum { OPT_RECORDS = 256, OPT_VERIFY, OPT_JSON, OPT_FULL, OPT_VERSION };
    static const struct option opts[] = {
        {"records", no_argument, NULL, OPT_RECORDS},
        {"verify", no_argument, NULL, OPT_VERIFY},
        {"json", no_argument, NULL, OPT_JSON},
        {"full", no_argument, NULL, OPT_FULL},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    struct sigaction sa;
    const char *status;
    int c, rc;

    g.out.f = stdout;
    g.out.limit = DUMP_OUT_DEFAULT_LIMIT;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigbus;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_RECORDS:
            g.records = 1;
            break;
        case OPT_VERIFY:
            g.verify = 1;
            break;
        case OPT_JSON:
            g.out.json = 1;
            break;
        case OPT_FULL:
            g.out.limit = 0;
            break;
        case 'h':
            usage(stdout);
            return fflush(stdout) == 0 ? 0 : 2;
        case OPT_VERSION:
            printf("sluice-dump %s (on-disk format 1)\n", SLUICE_VERSION);
            return fflush(stdout) == 0 ? 0 : 2;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "sluice-dump: no PATH given\n");
        usage(stderr);
        return 2;
    }
    for (int i = optind; i < argc; i++)
        do_path(argv[i]);

    if (g.st.errors > 0) {
        status = "error";
        rc = 2;
    } else if (g.st.corrupt > 0) {
        status = "corrupt";
        rc = 1;
    } else {
        status = "ok";
        rc = 0;
    }
    dump_out_summary(&g.out, &g.st, status);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "error: writing output: %s\n", strerror(errno));
        return 2;
    }
    return rc;
}
