/*
 * fixture.c — test-only writer of segments and index files, from
 * docs/format.md.  See fixture.h.
 *
 * Index layout written here (docs/format.md, "Index files"): a 64-byte
 * header (magic, u16 version 1, u16 flags with bit 0 sealed, i64 base,
 * u64 covered bytes, i64 next offset, i64 max timestamp or -1, u32 count,
 * u32 entry size, u64 XXH3 of the entries, u64 XXH3 of header bytes
 * [0, 56)), then entries.  Offset entries go to the first batch and then to
 * the first batch starting at least `interval` bytes after the previous
 * entry.  A time entry is considered alongside each offset entry, for the
 * same batch: its timestamp is the running maximum of maxTimestamp up to
 * and including that batch, and it is written only when that is above the
 * previous time entry's timestamp.
 */
#include "fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void
fx_die(const char *what)
{
    fprintf(stderr, "fixture: %s: %s\n", what, strerror(errno));
    abort();
}

void
fx_seg_init(fx_seg *s, int64_t base)
{
    memset(s, 0, sizeof(*s));
    s->base = base;
    s->next = base;
}

void
fx_seg_fini(fx_seg *s)
{
    sl_buf_fini(&s->data);
    free(s->b);
    memset(s, 0, sizeof(*s));
}

void
fx_seg_add_batch(fx_seg *s, const uint8_t *batch, size_t len)
{
    size_t pos = s->data.n;
    uint8_t *p;
    fx_batch *fb;

    if (sl_buf_append(&s->data, batch, len) != 0)
        fx_die("append");
    p = s->data.p + pos;
    sl_batch_stamp_offset(p, s->next);
    if (s->nb == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->b = realloc(s->b, s->cap * sizeof(*s->b));
        if (s->b == NULL)
            fx_die("realloc");
    }
    fb = &s->b[s->nb++];
    fb->pos = pos;
    fb->len = len;
    fb->base = s->next;
    /* lastOffsetDelta at byte 23, maxTimestamp at byte 35. */
    fb->next = s->next + (int32_t)sl_get_u32be(p + 23) + 1;
    fb->max_ts = (int64_t)sl_get_u64be(p + 35);
    s->next = fb->next;
}

void
fx_seg_add(fx_seg *s, int n, int64_t ts)
{
    sl_buf out;
    sl_batch_builder bb;

    sl_buf_init(&out);
    if (sl_batch_builder_init(&bb, &out, ts) != 0)
        fx_die("builder");
    for (int i = 0; i < n; i++) {
        char k[32], v[32], hv[32];
        int64_t off = s->next + i;
        snprintf(k, sizeof(k), "k%lld", (long long)off);
        snprintf(v, sizeof(v), "value-%lld", (long long)off);
        snprintf(hv, sizeof(hv), "x%lld", (long long)off);
        sl_slice key = sl_slice_str(k), val = sl_slice_str(v);
        sl_record_header h = {sl_slice_str("h"), 0, sl_slice_str(hv)};
        if (sl_batch_builder_add(&bb, ts + i, &key, &val, &h, 1) != 0)
            fx_die("builder add");
    }
    size_t len = sl_batch_builder_finish(&bb);
    fx_seg_add_batch(s, out.p, len);
    sl_buf_fini(&out);
}

static void
put_u64(sl_buf *b, uint64_t v)
{
    if (sl_buf_put_u64be(b, v) != 0)
        fx_die("put");
}

void
fx_index_redigest(uint8_t *p, size_t n)
{
    sl_put_u64be(p + 48, sl_xxh3(p + 64, n - 64));
    sl_put_u64be(p + 56, sl_xxh3(p, 56));
}

void
fx_index_build(const fx_seg *s, int kind, size_t covered, int sealed,
               size_t interval, sl_buf *out)
{
    sl_buf ent;
    uint32_t count = 0;
    int64_t next = s->base, max_ts = -1, running = 0, last_time_ts = 0;
    int have_entry = 0, have_running = 0, have_time = 0;
    size_t last_pos = 0;

    sl_buf_init(&ent);
    for (size_t i = 0; i < s->nb; i++) {
        const fx_batch *b = &s->b[i];
        if (b->pos + b->len > covered)
            break;
        if (!have_running || b->max_ts > running)
            running = b->max_ts;
        have_running = 1;
        int offset_entry = !have_entry || b->pos >= last_pos + interval;
        if (offset_entry) {
            have_entry = 1;
            last_pos = b->pos;
            if (kind == 0) {
                sl_buf_put_u32be(&ent, (uint32_t)(b->base - s->base));
                sl_buf_put_u32be(&ent, (uint32_t)b->pos);
                count++;
            } else if (!have_time || running > last_time_ts) {
                put_u64(&ent, (uint64_t)running);
                sl_buf_put_u32be(&ent, (uint32_t)(b->base - s->base));
                last_time_ts = running;
                have_time = 1;
                count++;
            }
        }
        next = b->next;
        if (b->max_ts > max_ts)
            max_ts = b->max_ts;
    }
    sl_buf_init(out);
    if (sl_buf_append(out, kind == 0 ? "SLIX" : "SLTX", 4) != 0)
        fx_die("index");
    sl_buf_put_u16be(out, 1);
    sl_buf_put_u16be(out, sealed ? 1 : 0);
    put_u64(out, (uint64_t)s->base);
    put_u64(out, covered);
    put_u64(out, (uint64_t)next);
    put_u64(out, (uint64_t)max_ts);
    sl_buf_put_u32be(out, count);
    sl_buf_put_u32be(out, kind == 0 ? 8 : 12);
    put_u64(out, 0);
    put_u64(out, 0);
    if (ent.n > 0 && sl_buf_append(out, ent.p, ent.n) != 0)
        fx_die("index");
    fx_index_redigest(out->p, out->n);
    sl_buf_fini(&ent);
}

void
fx_write(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const uint8_t *b = p;

    if (fd < 0)
        fx_die(path);
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w <= 0)
            fx_die(path);
        b += w;
        n -= (size_t)w;
    }
    close(fd);
}

char *
fx_path(const char *dir, const char *fmt, ...)
{
    char name[512], *p;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        fx_die("asprintf");
    return p;
}

void
fx_write_segment(const char *dir, const fx_seg *s, size_t zeros)
{
    char *path = fx_path(dir, "%020lld.log", (long long)s->base);
    uint8_t *all = calloc(1, s->data.n + zeros + 1);

    if (all == NULL)
        fx_die("calloc");
    if (s->data.n > 0)
        memcpy(all, s->data.p, s->data.n);
    fx_write(path, all, s->data.n + zeros);
    free(all);
    free(path);
}

void
fx_write_indexes(const char *dir, const fx_seg *s, size_t covered, int sealed,
                 size_t interval)
{
    static const char *ext[] = {"index", "timeindex"};

    for (int kind = 0; kind < 2; kind++) {
        sl_buf ix;
        char *path = fx_path(dir, "%020lld.%s", (long long)s->base, ext[kind]);
        fx_index_build(s, kind, covered, sealed, interval, &ix);
        fx_write(path, ix.p, ix.n);
        sl_buf_fini(&ix);
        free(path);
    }
}

void
fx_mkdir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        fx_die(path);
}

char *
fx_tmpdir(const char *tag)
{
    const char *root = getenv("SL_TEST_TMP");
    char *p;

    if (root == NULL || root[0] == '\0')
        root = "/tmp";
    fx_mkdir(root);
    if (asprintf(&p, "%s/%s.XXXXXX", root, tag) < 0)
        fx_die("asprintf");
    if (mkdtemp(p) == NULL)
        fx_die(p);
    return p;
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

void
fx_rmtree(const char *dir)
{
    if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fx_die(dir);
}
