/*
 * ss_tier_manifest.c — the per-partition tier manifest: encode, decode
 * (pure) and the in-memory list.  docs/format.md ("Tier") is normative.
 *
 * Layout (big-endian):
 *   0   4  magic "SLTM"
 *   4   2  version (1)
 *   6   2  flags (0)
 *   8   8  generation (+1 at every write)
 *  16   4  count of entries
 *  20   4  reserved (0)
 *  24   …  count entries:
 *          i64 base, i64 next, i64 min_ts, i64 max_ts, u64 size,
 *          16 bytes XXH3-128 of the .log object,
 *          3 × (u16 length, bytes): keys of .log, .index, .timeindex
 *   end-8  u64 XXH3-64 of every byte before it
 * Valid when: the magic, version and trailing digest match; the entries
 * use exactly the bytes between header and digest; each key is 1..511
 * bytes without NUL; base < next; entries are contiguous
 * (next of one == base of the following).
 */
#include "ss_tier.h"

#include <errno.h>
#include <stdlib.h>
#include <xxhash.h>

#define HDR_LEN 24
#define ENT_MIN (5 * 8 + 16 + 3 * 3)

void
ss_tier_digest(const uint8_t *p, size_t n, uint8_t out[16])
{
    XXH128_hash_t h = XXH3_128bits(p, n);
    sl_put_u64be(out, h.high64);
    sl_put_u64be(out + 8, h.low64);
}

void
ss_tier_manifest_init(ss_tier_manifest *m)
{
    memset(m, 0, sizeof(*m));
}

void
ss_tier_manifest_fini(ss_tier_manifest *m)
{
    free(m->ents);
    memset(m, 0, sizeof(*m));
}

int
ss_tier_manifest_push(ss_tier_manifest *m, const ss_tier_ent *e)
{
    if (e->base >= e->next)
        return SL_E_INVAL;
    if (m->n > 0 && m->ents[m->n - 1].next != e->base)
        return SL_E_INVAL;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        ss_tier_ent *n = realloc(m->ents, cap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        m->ents = n;
        m->cap = cap;
    }
    m->ents[m->n++] = *e;
    return 0;
}

void
ss_tier_manifest_drop_front(ss_tier_manifest *m, size_t n)
{
    if (n > m->n)
        n = m->n;
    memmove(m->ents, m->ents + n, (m->n - n) * sizeof(*m->ents));
    m->n -= n;
}

static int
put_key(sl_buf *b, const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n >= SS_TIER_KEY_MAX)
        return SL_E_INVAL;
    if (sl_buf_put_u16be(b, (uint16_t)n) || sl_buf_append(b, k, n))
        return -ENOMEM;
    return 0;
}

int
ss_tier_manifest_encode(const ss_tier_manifest *m, sl_buf *out)
{
    sl_buf_reset(out);
    int rc = sl_buf_append(out, "SLTM", 4);
    rc |= sl_buf_put_u16be(out, 1);
    rc |= sl_buf_put_u16be(out, 0);
    rc |= sl_buf_put_u64be(out, m->generation);
    rc |= sl_buf_put_u32be(out, (uint32_t)m->n);
    rc |= sl_buf_put_u32be(out, 0);
    if (rc)
        return -ENOMEM;
    for (size_t i = 0; i < m->n; i++) {
        const ss_tier_ent *e = &m->ents[i];
        rc |= sl_buf_put_u64be(out, (uint64_t)e->base);
        rc |= sl_buf_put_u64be(out, (uint64_t)e->next);
        rc |= sl_buf_put_u64be(out, (uint64_t)e->min_ts);
        rc |= sl_buf_put_u64be(out, (uint64_t)e->max_ts);
        rc |= sl_buf_put_u64be(out, e->size);
        rc |= sl_buf_append(out, e->digest, 16);
        if (rc)
            return -ENOMEM;
        if ((rc = put_key(out, e->key_log)) != 0 ||
            (rc = put_key(out, e->key_index)) != 0 ||
            (rc = put_key(out, e->key_tindex)) != 0)
            return rc;
    }
    return sl_buf_put_u64be(out, sl_xxh3(out->p, out->n)) ? -ENOMEM : 0;
}

static int
rd_key(sl_rd *r, char *out)
{
    uint16_t n;
    sl_slice s;
    if (sl_rd_u16be(r, &n) || sl_rd_bytes(r, n, &s))
        return SL_E_MALFORMED;
    if (n == 0 || n >= SS_TIER_KEY_MAX || memchr(s.p, 0, n) != NULL)
        return SL_E_MALFORMED;
    memcpy(out, s.p, n);
    out[n] = 0;
    return 0;
}

int
ss_tier_manifest_decode(sl_slice in, ss_tier_manifest *m)
{
    if (in.n < HDR_LEN + 8)
        return SL_E_MALFORMED;
    if (memcmp(in.p, "SLTM", 4) != 0)
        return SL_E_MALFORMED;
    if (sl_get_u64be(in.p + in.n - 8) != sl_xxh3(in.p, in.n - 8))
        return SL_E_CORRUPT;
    if (sl_get_u16be(in.p + 4) != 1)
        return SL_E_VERSION;
    uint32_t count = sl_get_u32be(in.p + 16);
    if (count > (in.n - HDR_LEN - 8) / ENT_MIN)
        return SL_E_MALFORMED;
    ss_tier_manifest nm;
    ss_tier_manifest_init(&nm);
    nm.generation = sl_get_u64be(in.p + 8);
    sl_rd r;
    sl_rd_init(&r, sl_slice_make(in.p + HDR_LEN, in.n - HDR_LEN - 8));
    int rc = 0;
    ss_tier_ent *e = malloc(sizeof(*e));
    if (e == NULL)
        return -ENOMEM;
    for (uint32_t i = 0; i < count && rc == 0; i++) {
        memset(e, 0, sizeof(*e));
        uint64_t sz;
        sl_slice dg;
        if (sl_rd_i64be(&r, &e->base) || sl_rd_i64be(&r, &e->next) ||
            sl_rd_i64be(&r, &e->min_ts) || sl_rd_i64be(&r, &e->max_ts) ||
            sl_rd_u64be(&r, &sz) || sl_rd_bytes(&r, 16, &dg)) {
            rc = SL_E_MALFORMED;
            break;
        }
        e->size = sz;
        memcpy(e->digest, dg.p, 16);
        if ((rc = rd_key(&r, e->key_log)) != 0 ||
            (rc = rd_key(&r, e->key_index)) != 0 ||
            (rc = rd_key(&r, e->key_tindex)) != 0)
            break;
        rc = ss_tier_manifest_push(&nm, e);
        if (rc == SL_E_INVAL)
            rc = SL_E_MALFORMED;
    }
    free(e);
    if (rc == 0 && r.off != r.n)
        rc = SL_E_MALFORMED;
    if (rc != 0) {
        ss_tier_manifest_fini(&nm);
        return rc;
    }
    ss_tier_manifest_fini(m);
    *m = nm;
    return 0;
}

ssize_t
ss_tier_manifest_find(const ss_tier_manifest *m, int64_t offset)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->ents[mid].next <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < m->n && m->ents[lo].base <= offset)
        return (ssize_t)lo;
    return -1;
}

uint64_t
ss_tier_manifest_bytes(const ss_tier_manifest *m)
{
    uint64_t t = 0;
    for (size_t i = 0; i < m->n; i++)
        t += m->ents[i].size;
    return t;
}
