/*
 * fuzz_dump.c — sluice-dump's verifier over arbitrary bytes, and a
 * differential check against segstore's recovery scan.
 *
 * Input: two bytes give the length L of an index part, then L bytes of an
 * index file, then the segment bytes.  The harness parses the index part
 * as an offset index and as a time index, walks the segment with the
 * verifier (with and without record parsing), cross-checks both indexes
 * against the walk, and runs the topic.meta and segstore.id checkers over
 * the whole input.  Nothing may crash or read out of bounds.
 *
 * The verifier (tools/dump, written from docs/format.md alone) and the
 * recovery scan (segstore/log) are independent implementations of the same
 * validity rules, so where the data ends must be the same for both: a
 * disagreement aborts, as a bug in one of them or in the format page.
 */
#include "dump_verify.h"
#include "ss_log_impl.h"

#include <stdlib.h>

static void
ignore(void *arg, int severity, int64_t pos, const char *msg)
{
    (void)arg;
    (void)severity;
    (void)pos;
    (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t ilen = sl_get_u16be(data);
    if (ilen > size - 2)
        ilen = size - 2;
    sl_slice idx = sl_slice_make(data + 2, ilen);
    sl_slice seg = sl_slice_make(data + 2 + ilen, size - 2 - ilen);
    dump_report rep = {ignore, NULL};

    dump_index oi, ti;
    dump_index_parse(&oi, idx, DUMP_INDEX_OFFSET, 1, 0, &rep);
    dump_index_parse(&ti, idx, DUMP_INDEX_TIME, 1, 0, &rep);
    for (int flags = 0; flags <= DUMP_CHECK_RECORDS; flags++) {
        dump_seg s;
        dump_batch b;
        dump_seg_init(&s, seg, 1, 0, flags);
        while (dump_seg_next(&s, &b, &rep) == 1) {
            if (b.pos + b.bytes.n > seg.n)
                abort();
            if (flags == 0) {
                dump_index_feed(&oi, &b, &rep);
                dump_index_feed(&ti, &b, &rep);
            }
        }
        if (flags == 0) {
            dump_index_finish(&oi, &s, &rep);
            dump_index_finish(&ti, &s, &rep);
        }
        if (s.data_end > seg.n || s.end > seg.n)
            abort();
        if (flags == 0) {
            /* The differential: segstore's scan from the start of a
             * segment based at 0 must stop where the verifier says the
             * data ends. */
            ss_scan sc;
            uint64_t lp = 0;
            int64_t lt = -1;
            ss__seg_scan(seg, 0, 0, 0, -1, NULL, 4096, &lp, &lt, &sc);
            if (sc.end != s.data_end)
                abort();
        }
    }
    int64_t parts;
    dump_meta_check(sl_slice_make(data, size), NULL, &parts, &rep);
    dump_id_check(sl_slice_make(data, size), &rep);
    return 0;
}
