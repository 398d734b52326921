/*
 * ss_tier_seg.c — pure reads of a downloaded segment object: the same
 * answers ss_log_read and ss_log_find_time give for a local segment, found
 * by walking batch headers (a segment object is verified whole against its
 * manifest digest before any of this runs, but every length is still
 * checked: bytes from the object store are input).
 */
#include "ss_tier.h"

#include "sl_batch.h"

int
ss_tier_seg_read(sl_slice data, int64_t offset, int32_t max_bytes,
                 int64_t limit, uint64_t *pos, uint32_t *len)
{
    *pos = 0;
    *len = 0;
    uint64_t p = 0;
    sl_batch_hdr h;
    sl_slice b;
    for (;;) {
        sl_slice rest = sl_slice_make(data.p + p, data.n - p);
        if (rest.n == 0)
            return 0; /* offset is past this segment */
        if (sl_batch_next(&rest, 0, &h, &b) != 0)
            return SL_E_CORRUPT;
        if (sl_batch_last_offset(&h) >= offset)
            break;
        p += b.n;
    }
    uint64_t start = p, end = p;
    for (;;) {
        sl_slice rest = sl_slice_make(data.p + end, data.n - end);
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
    if (end - start > UINT32_MAX)
        return SL_E_CORRUPT;
    *pos = start;
    *len = (uint32_t)(end - start);
    return 0;
}

int
ss_tier_seg_find_time(sl_slice data, int64_t ts, int64_t limit, int64_t *offset,
                      int64_t *found_ts)
{
    *offset = -1;
    *found_ts = -1;
    uint64_t pos = 0;
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
    return 0;
}

int64_t
ss_tier_seg_min_ts(sl_slice data)
{
    int64_t min = -1;
    sl_slice rest = data;
    sl_batch_hdr h;
    sl_slice b;
    while (rest.n > 0 && sl_batch_next(&rest, 0, &h, &b) == 0)
        if (min < 0 || h.base_timestamp < min)
            min = h.base_timestamp;
    return min;
}
