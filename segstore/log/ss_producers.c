/*
 * ss_producers.c — the producer-state snapshot file of a partition
 * (`producer.snapshot`, docs/format.md): a pure encoder and decoder.
 *
 * Layout (all integers big-endian):
 *
 *   header, 40 bytes
 *    0 "SLPS"            4 u16 version = 1     6 u16 flags = 0
 *    8 i64 next offset: the state covers every batch with offset < next
 *   16 u32 producer count N (<= SS_PRODUCERS_MAX)
 *   20 u32 entry size = SS_PSNAP_ENT_LEN
 *   24 u64 XXH3 of the N * entry size bytes that follow
 *   32 u64 XXH3 of header bytes [0, 32)
 *
 *   entry, 132 bytes, one per producer
 *    0 i64 producer id (>= 0)     8 i16 epoch (>= 0)   10 u16 batches n (1..5)
 *   12 five slots of { i32 first sequence, i32 last sequence,
 *                      i64 base offset, i64 last offset }, oldest first;
 *      slots past n are all zero
 *
 * Validity (beyond the digests): in each entry the batches' offsets
 * increase (base <= last < next base) and are below next; entries are
 * ordered by their newest batch's last offset, strictly increasing (which
 * is the least-recently-used order segstore evicts by); producer ids are
 * distinct.  The file ends after the N entries.
 */
#include "ss_log_impl.h"

#include <errno.h>
#include <stdlib.h>

#define SS_PSNAP_MAGIC   "SLPS"
#define SS_PSNAP_VERSION 1
#define SS_PSNAP_SLOT    24

static int
cmp_newest(const void *a, const void *b)
{
    const ss_pstate *x = *(const ss_pstate *const *)a;
    const ss_pstate *y = *(const ss_pstate *const *)b;
    int64_t u = x->recent[x->n - 1].last_offset;
    int64_t v = y->recent[y->n - 1].last_offset;
    return u < v ? -1 : u > v;
}

int
ss__psnap_encode(sl_buf *out, int64_t next, const ss_pstate *ps, size_t n)
{
    sl_buf_reset(out);
    if (n > SS_PRODUCERS_MAX)
        return SL_E_INVAL;
    const ss_pstate **order = NULL;
    if (n > 0 && (order = malloc(n * sizeof(*order))) == NULL)
        return -ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (ps[i].n > 0)
            order[m++] = &ps[i];
    if (m > 1)
        qsort(order, m, sizeof(*order), cmp_newest);
    uint8_t *p = sl_buf_extend(out, SS_PSNAP_HDR_LEN + m * SS_PSNAP_ENT_LEN);
    if (p == NULL) {
        free(order);
        return -ENOMEM;
    }
    memset(p, 0, SS_PSNAP_HDR_LEN + m * SS_PSNAP_ENT_LEN);
    uint8_t *e = p + SS_PSNAP_HDR_LEN;
    for (size_t i = 0; i < m; i++, e += SS_PSNAP_ENT_LEN) {
        const ss_pstate *s = order[i];
        sl_put_u64be(e, (uint64_t)s->pid);
        sl_put_u16be(e + 8, (uint16_t)s->epoch);
        sl_put_u16be(e + 10, (uint16_t)s->n);
        for (int k = 0; k < s->n; k++) {
            uint8_t *q = e + 12 + (size_t)k * SS_PSNAP_SLOT;
            sl_put_u32be(q, (uint32_t)s->recent[k].first_seq);
            sl_put_u32be(q + 4, (uint32_t)s->recent[k].last_seq);
            sl_put_u64be(q + 8, (uint64_t)s->recent[k].base_offset);
            sl_put_u64be(q + 16, (uint64_t)s->recent[k].last_offset);
        }
    }
    free(order);
    memcpy(p, SS_PSNAP_MAGIC, 4);
    sl_put_u16be(p + 4, SS_PSNAP_VERSION);
    sl_put_u64be(p + 8, (uint64_t)next);
    sl_put_u32be(p + 16, (uint32_t)m);
    sl_put_u32be(p + 20, SS_PSNAP_ENT_LEN);
    sl_put_u64be(p + 24, sl_xxh3(p + SS_PSNAP_HDR_LEN, m * SS_PSNAP_ENT_LEN));
    sl_put_u64be(p + 32, sl_xxh3(p, 32));
    return 0;
}

int
ss__psnap_decode(sl_slice file, int64_t *next, ss_pstate **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    const uint8_t *p = file.p;
    if (file.n < SS_PSNAP_HDR_LEN || memcmp(p, SS_PSNAP_MAGIC, 4) != 0)
        return SL_E_CORRUPT;
    if (sl_get_u64be(p + 32) != sl_xxh3(p, 32))
        return SL_E_CORRUPT;
    if (sl_get_u16be(p + 4) != SS_PSNAP_VERSION || sl_get_u16be(p + 6) != 0 ||
        sl_get_u32be(p + 20) != SS_PSNAP_ENT_LEN)
        return SL_E_CORRUPT;
    int64_t nx = (int64_t)sl_get_u64be(p + 8);
    uint32_t count = sl_get_u32be(p + 16);
    if (nx < 0 || count > SS_PRODUCERS_MAX ||
        file.n != SS_PSNAP_HDR_LEN + (size_t)count * SS_PSNAP_ENT_LEN)
        return SL_E_CORRUPT;
    const uint8_t *e = p + SS_PSNAP_HDR_LEN;
    if (sl_get_u64be(p + 24) != sl_xxh3(e, (size_t)count * SS_PSNAP_ENT_LEN))
        return SL_E_CORRUPT;
    ss_pstate *ps = NULL;
    if (count > 0 && (ps = calloc(count, sizeof(*ps))) == NULL)
        return -ENOMEM;
    int64_t prev_newest = -1;
    for (uint32_t i = 0; i < count; i++, e += SS_PSNAP_ENT_LEN) {
        ss_pstate *s = &ps[i];
        s->pid = (int64_t)sl_get_u64be(e);
        s->epoch = (int16_t)sl_get_u16be(e + 8);
        uint16_t nb = sl_get_u16be(e + 10);
        if (s->pid < 0 || s->epoch < 0 || nb < 1 || nb > SS_PRODUCER_WINDOW)
            goto corrupt;
        s->n = nb;
        int64_t floor = 0;
        for (int k = 0; k < SS_PRODUCER_WINDOW; k++) {
            const uint8_t *q = e + 12 + (size_t)k * SS_PSNAP_SLOT;
            if (k >= s->n) {
                for (int b = 0; b < SS_PSNAP_SLOT; b++)
                    if (q[b] != 0)
                        goto corrupt;
                continue;
            }
            s->recent[k].first_seq = (int32_t)sl_get_u32be(q);
            s->recent[k].last_seq = (int32_t)sl_get_u32be(q + 4);
            s->recent[k].base_offset = (int64_t)sl_get_u64be(q + 8);
            s->recent[k].last_offset = (int64_t)sl_get_u64be(q + 16);
            if (s->recent[k].first_seq < 0 || s->recent[k].last_seq < 0 ||
                s->recent[k].base_offset < floor ||
                s->recent[k].last_offset < s->recent[k].base_offset ||
                s->recent[k].last_offset >= nx)
                goto corrupt;
            floor = s->recent[k].last_offset + 1;
        }
        int64_t newest = s->recent[s->n - 1].last_offset;
        if (newest <= prev_newest)
            goto corrupt;
        prev_newest = newest;
        for (uint32_t j = 0; j < i; j++)
            if (ps[j].pid == s->pid)
                goto corrupt;
        s->used = i + 1;
    }
    *next = nx;
    *out = ps;
    *n = count;
    return 0;
corrupt:
    free(ps);
    return SL_E_CORRUPT;
}
