/*
 * fuzz_recovery.c — recovery over mutated segment and index bytes.
 *
 * The input is read two ways:
 *  1. as a segment: ss__seg_scan (what recovery runs over a segment's
 *     mapping) must stay inside the bytes, build a strictly increasing
 *     index, and give the same end when restarted from any index entry,
 *     which is what recovery from a checkpoint does;
 *  2. as an offset index and a time index file: what decodes must load
 *     and re-encode to the same bytes;
 *  3. as a producer-state snapshot (producer.snapshot): what decodes must
 *     re-encode to the same bytes.
 * Any violated property aborts.
 */
#include "sl_batch.h"
#include "ss_log_impl.h"

#include <stdlib.h>

static void
check_scan(sl_slice data)
{
    ss_index ix;
    ss__index_init(&ix);
    uint64_t lp = 0;
    int64_t lt = -1;
    ss_scan full;
    ss__seg_scan(data, 0, 0, 0, -1, &ix, 256, &lp, &lt, &full);
    if (full.end > data.n || full.next < 0)
        abort();
    for (size_t i = 0; i < ix.on; i++) {
        if (ix.o[i].pos >= full.end)
            abort();
        if (i > 0 &&
            (ix.o[i].pos <= ix.o[i - 1].pos || ix.o[i].rel <= ix.o[i - 1].rel))
            abort();
    }
    for (size_t i = 1; i < ix.tn; i++)
        if (ix.t[i].ts <= ix.t[i - 1].ts || ix.t[i].rel <= ix.t[i - 1].rel)
            abort();
    /* Restart from every index entry (a checkpoint there): same end. */
    for (size_t i = 0; i < ix.on; i++) {
        uint64_t p2 = ix.o[i].pos;
        int64_t t2 = -1;
        ss_scan part;
        ss__seg_scan(data, 0, ix.o[i].pos, ix.o[i].rel, -1, NULL, 256, &p2, &t2,
                     &part);
        if (part.end != full.end || part.next != full.next)
            abort();
    }
    ss__index_fini(&ix);
}

static void
check_index(sl_slice data, int kind)
{
    ss_idx_hdr h;
    if (ss__idx_hdr_decode(data, data.n, kind, &h) != 0)
        return;
    ss_index ix;
    ss__index_init(&ix);
    if (ss__idx_load(data, &h, &ix) == 0) {
        sl_buf out;
        sl_buf_init(&out);
        if (ss__idx_encode(&out, kind, h.flags, h.base, h.covered, h.next,
                           h.max_ts, &ix) != 0)
            abort();
        if (out.n != data.n || memcmp(out.p, data.p, data.n) != 0)
            abort();
        sl_buf_fini(&out);
    }
    ss__index_fini(&ix);
}

static void
check_psnap(sl_slice data)
{
    int64_t next;
    ss_pstate *ps;
    size_t n;
    if (ss__psnap_decode(data, &next, &ps, &n) != 0)
        return;
    sl_buf out;
    sl_buf_init(&out);
    if (ss__psnap_encode(&out, next, ps, n) != 0)
        abort();
    if (out.n != data.n || memcmp(out.p, data.p, data.n) != 0)
        abort();
    sl_buf_fini(&out);
    free(ps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_slice s = sl_slice_make(data, size);
    check_scan(s);
    check_index(s, SS_IDX_OFFSET);
    check_index(s, SS_IDX_TIME);
    check_psnap(s);
    return 0;
}
