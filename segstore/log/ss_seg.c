/*
 * ss_seg.c — scanning segment bytes: the validity rules of docs/format.md
 * ("Segment files") applied batch by batch, and the index bookkeeping that
 * the append path and recovery share.
 *
 * A scan is a pure function over a byte slice (the segment's mapping), so
 * recovery of a mutated segment can be fuzzed without a file system.
 */
#include "ss_log_impl.h"

#include "sl_batch.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

void
ss__seg_name(char *buf, size_t len, int64_t base, const char *ext)
{
    snprintf(buf, len, "%020" PRId64 "%s", base, ext);
}

int
ss__seg_index_batch(ss_index *ix, int64_t base, int64_t batch_base,
                    uint64_t pos, int64_t seg_max_ts, int64_t interval,
                    uint64_t *last_idx_pos, int64_t *last_tidx_ts)
{
    if (ix->on != 0 && pos - *last_idx_pos < (uint64_t)interval)
        return 0;
    uint32_t rel = (uint32_t)(batch_base - base);
    int rc = ss__index_add_offset(ix, rel, (uint32_t)pos);
    if (rc != 0)
        return rc;
    *last_idx_pos = pos;
    /* The time entry says: every batch before this one has a maxTimestamp
     * no greater than seg_max_ts, so a search for t > seg_max_ts may start
     * here.  Only strictly increasing values are worth an entry. */
    if (seg_max_ts > *last_tidx_ts) {
        rc = ss__index_add_time(ix, seg_max_ts, rel);
        if (rc != 0)
            return rc;
        *last_tidx_ts = seg_max_ts;
    }
    return 0;
}

static int
all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

void
ss__seg_scan(sl_slice data, int64_t base, uint64_t from, int64_t next,
             int64_t max_ts, ss_index *ix, int64_t interval,
             uint64_t *last_idx_pos, int64_t *last_tidx_ts, ss_scan *out)
{
    uint64_t pos = from;
    out->first_ts = -1;
    out->stop = 0;
    while (pos < data.n) {
        sl_slice rest = sl_slice_make(data.p + pos, data.n - pos);
        /* Preallocated space reads as zeros: a zero length field is the
         * clean end of an active segment. */
        if (rest.n < SL_BATCH_LOG_OVERHEAD ||
            all_zero(rest.p, SL_BATCH_LOG_OVERHEAD)) {
            if (!all_zero(rest.p, SL_MIN(rest.n, (size_t)SL_BATCH_HEADER_LEN)))
                out->stop = SL_E_PARTIAL;
            break;
        }
        sl_batch_hdr h;
        int rc = sl_batch_hdr_decode(rest, rest.n, &h);
        if (rc == 0 && sl_batch_total_len(&h) > rest.n)
            rc = SL_E_PARTIAL;
        if (rc == 0)
            rc = sl_batch_check(sl_slice_make(rest.p, sl_batch_total_len(&h)),
                                SL_BATCH_CHECK_CRC, &h);
        if (rc == 0 && h.base_offset != next)
            rc = SL_E_CORRUPT;
        /* Relative offsets and positions are 32-bit in the index. */
        if (rc == 0 &&
            (sl_batch_last_offset(&h) - base > INT32_MAX || pos > UINT32_MAX))
            rc = SL_E_CORRUPT;
        if (rc != 0) {
            out->stop = rc;
            break;
        }
        if (h.max_timestamp > max_ts)
            max_ts = h.max_timestamp;
        if (out->first_ts < 0)
            out->first_ts = h.max_timestamp;
        if (ix != NULL &&
            ss__seg_index_batch(ix, base, h.base_offset, pos, max_ts, interval,
                                last_idx_pos, last_tidx_ts) != 0) {
            out->stop = -ENOMEM;
            break;
        }
        next = sl_batch_last_offset(&h) + 1;
        pos += sl_batch_total_len(&h);
    }
    out->end = pos;
    out->next = next;
    out->max_ts = max_ts;
}
