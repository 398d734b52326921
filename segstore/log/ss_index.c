/*
 * ss_index.c — sparse offset and time indexes of a segment, in memory and
 * as files.
 *
 * File layout (docs/format.md, "Index files"): a 64-byte header
 *
 *   0 magic "SLIX" | "SLTX"   4 u16 version   6 u16 flags (bit 0 sealed)
 *   8 i64 segment base       16 u64 covered bytes   24 i64 next offset
 *  32 i64 max timestamp      40 u32 entry count     44 u32 entry size
 *  48 u64 XXH3 of entries    56 u64 XXH3 of header bytes [0, 56)
 *
 * then `count` entries: offset index {u32 rel, u32 pos}, time index
 * {i64 ts, u32 rel}.  Both entry fields increase strictly.  Decoding is
 * pure and checks every length before reading.
 */
#include "ss_log_impl.h"

#include <errno.h>
#include <stdlib.h>

void
ss__index_init(ss_index *ix)
{
    memset(ix, 0, sizeof(*ix));
}

void
ss__index_fini(ss_index *ix)
{
    free(ix->o);
    free(ix->t);
    ss__index_init(ix);
}

void
ss__index_reset(ss_index *ix)
{
    ix->on = 0;
    ix->tn = 0;
}

static int
grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 64;
    while (c < need)
        c *= 2;
    void *np = realloc(*p, c * elem);
    if (np == NULL)
        return -ENOMEM;
    *p = np;
    *cap = c;
    return 0;
}

int
ss__index_add_offset(ss_index *ix, uint32_t rel, uint32_t pos)
{
    int rc = grow((void **)&ix->o, &ix->ocap, ix->on + 1, sizeof(*ix->o));
    if (rc != 0)
        return rc;
    ix->o[ix->on].rel = rel;
    ix->o[ix->on].pos = pos;
    ix->on++;
    return 0;
}

int
ss__index_add_time(ss_index *ix, int64_t ts, uint32_t rel)
{
    int rc = grow((void **)&ix->t, &ix->tcap, ix->tn + 1, sizeof(*ix->t));
    if (rc != 0)
        return rc;
    ix->t[ix->tn].ts = ts;
    ix->t[ix->tn].rel = rel;
    ix->tn++;
    return 0;
}

uint32_t
ss__index_floor_pos(const ss_index *ix, uint32_t want)
{
    size_t lo = 0, hi = ix->on; /* first entry with rel > want */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->o[mid].rel <= want)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? 0 : ix->o[lo - 1].pos;
}

uint32_t
ss__index_floor_time(const ss_index *ix, int64_t want)
{
    size_t lo = 0, hi = ix->tn; /* first entry with ts >= want */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->t[mid].ts < want)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? 0 : ix->t[lo - 1].rel;
}

void
ss__index_truncate(ss_index *ix, uint64_t pos)
{
    while (ix->on > 0 && ix->o[ix->on - 1].pos >= pos)
        ix->on--;
    /* Time entries refer to offsets; keep those whose batch is still
     * covered by a surviving offset entry's range. */
    uint32_t max_rel = ix->on ? ix->o[ix->on - 1].rel : 0;
    while (ix->tn > 0 && (ix->on == 0 || ix->t[ix->tn - 1].rel > max_rel))
        ix->tn--;
}

int
ss__idx_hdr_decode(sl_slice file, uint64_t file_len, int kind, ss_idx_hdr *h)
{
    if (file.n < SS_IDX_HDR_LEN || file_len < SS_IDX_HDR_LEN)
        return SL_E_CORRUPT;
    const uint8_t *p = file.p;
    const char *magic = kind == SS_IDX_OFFSET ? SS_OIDX_MAGIC : SS_TIDX_MAGIC;
    if (memcmp(p, magic, 4) != 0)
        return SL_E_CORRUPT;
    if (sl_get_u64be(p + 56) != sl_xxh3(p, 56))
        return SL_E_CRC;
    h->kind = kind;
    h->version = sl_get_u16be(p + 4);
    h->flags = sl_get_u16be(p + 6);
    h->base = (int64_t)sl_get_u64be(p + 8);
    h->covered = sl_get_u64be(p + 16);
    h->next = (int64_t)sl_get_u64be(p + 24);
    h->max_ts = (int64_t)sl_get_u64be(p + 32);
    h->count = sl_get_u32be(p + 40);
    h->entsize = sl_get_u32be(p + 44);
    h->ent_digest = sl_get_u64be(p + 48);
    if (h->version != SS_IDX_VERSION)
        return SL_E_VERSION;
    uint32_t want = kind == SS_IDX_OFFSET ? SS_OIDX_ENT_LEN : SS_TIDX_ENT_LEN;
    if (h->entsize != want)
        return SL_E_CORRUPT;
    if ((uint64_t)h->count * h->entsize != file_len - SS_IDX_HDR_LEN)
        return SL_E_CORRUPT;
    if (h->base < 0 || h->next < h->base)
        return SL_E_CORRUPT;
    return 0;
}

int
ss__idx_load(sl_slice file, const ss_idx_hdr *h, ss_index *ix)
{
    const uint8_t *e = file.p + SS_IDX_HDR_LEN;
    size_t n = (size_t)h->count * h->entsize;
    if (file.n != SS_IDX_HDR_LEN + n)
        return SL_E_CORRUPT;
    if (sl_xxh3(e, n) != h->ent_digest)
        return SL_E_CRC;
    for (uint32_t i = 0; i < h->count; i++, e += h->entsize) {
        int rc;
        if (h->kind == SS_IDX_OFFSET) {
            uint32_t rel = sl_get_u32be(e), pos = sl_get_u32be(e + 4);
            if (ix->on > 0 &&
                (rel <= ix->o[ix->on - 1].rel || pos <= ix->o[ix->on - 1].pos))
                return SL_E_CORRUPT;
            if (pos >= h->covered)
                return SL_E_CORRUPT;
            rc = ss__index_add_offset(ix, rel, pos);
        } else {
            int64_t ts = (int64_t)sl_get_u64be(e);
            uint32_t rel = sl_get_u32be(e + 8);
            if (ix->tn > 0 &&
                (ts <= ix->t[ix->tn - 1].ts || rel <= ix->t[ix->tn - 1].rel))
                return SL_E_CORRUPT;
            rc = ss__index_add_time(ix, ts, rel);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

int
ss__idx_encode(sl_buf *out, int kind, uint16_t flags, int64_t base,
               uint64_t covered, int64_t next, int64_t max_ts,
               const ss_index *ix)
{
    int off = kind == SS_IDX_OFFSET;
    size_t count = off ? ix->on : ix->tn;
    size_t es = off ? SS_OIDX_ENT_LEN : SS_TIDX_ENT_LEN;
    sl_buf_reset(out);
    uint8_t *p = sl_buf_extend(out, SS_IDX_HDR_LEN + count * es);
    if (p == NULL)
        return -ENOMEM;
    uint8_t *e = p + SS_IDX_HDR_LEN;
    for (size_t i = 0; i < count; i++, e += es) {
        if (off) {
            sl_put_u32be(e, ix->o[i].rel);
            sl_put_u32be(e + 4, ix->o[i].pos);
        } else {
            sl_put_u64be(e, (uint64_t)ix->t[i].ts);
            sl_put_u32be(e + 8, ix->t[i].rel);
        }
    }
    memcpy(p, off ? SS_OIDX_MAGIC : SS_TIDX_MAGIC, 4);
    sl_put_u16be(p + 4, SS_IDX_VERSION);
    sl_put_u16be(p + 6, flags);
    sl_put_u64be(p + 8, (uint64_t)base);
    sl_put_u64be(p + 16, covered);
    sl_put_u64be(p + 24, (uint64_t)next);
    sl_put_u64be(p + 32, (uint64_t)max_ts);
    sl_put_u32be(p + 40, (uint32_t)count);
    sl_put_u32be(p + 44, (uint32_t)es);
    sl_put_u64be(p + 48, sl_xxh3(p + SS_IDX_HDR_LEN, count * es));
    sl_put_u64be(p + 56, sl_xxh3(p, 56));
    return 0;
}
