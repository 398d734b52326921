/*
 * fuzz_batch.c — libFuzzer harness for the RecordBatch v2 codec (sl_batch).
 *
 * The input is treated as a sequence of batches, the way a Kafka fetch
 * response or a segment file carries them.  For the input as a whole and
 * for every batch framed by sl_batch_next it runs sl_batch_hdr_decode and
 * sl_batch_check with every flag combination, and walks the records and
 * headers of uncompressed batches, checking that every view stays inside
 * the input.  A batch that passes full checks and is uncompressed is then
 * rebuilt with sl_batch_builder from its decoded records and producer
 * fields; the rebuilt batch must pass full checks and decode to the same
 * keys, values, headers, timestamps and offset deltas, and rebuilding that
 * again must give identical bytes (the encoder is canonical).
 *
 * Invariants violated here are our bugs, so the harness abort()s; bytes
 * that are merely invalid are never a finding.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ALL_CHECKS (SL_BATCH_CHECK_CRC | SL_BATCH_CHECK_RECORDS)

/* Keep the round trip's allocations bounded whatever the input says. */
#define MAX_HEADERS 4096

static void
die(const char *what)
{
    fprintf(stderr, "fuzz_batch: invariant violated: %s\n", what);
    abort();
}

static void
check_inside(sl_slice inner, sl_slice outer, const char *what)
{
    if (inner.n == 0)
        return;
    if (inner.p < outer.p || inner.n > outer.n ||
        inner.p - outer.p > (ptrdiff_t)(outer.n - inner.n))
        die(what);
}

static int
is_known_code(int rc)
{
    return rc == 0 || rc == SL_E_PARTIAL || rc == SL_E_MALFORMED ||
           rc == SL_E_VERSION || rc == SL_E_CRC;
}

static int
slice_eq(sl_slice a, sl_slice b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* Walk every record and header of a records area; returns the number of
 * records that decoded. */
static int32_t
walk_records(sl_slice records, int32_t max)
{
    sl_rd r;
    sl_rd_init(&r, records);
    int32_t i;
    for (i = 0; i < max; i++) {
        size_t before = r.off;
        sl_record rec;
        int rc = sl_record_next(&r, &rec);
        if (rc != 0) {
            if (rc != SL_E_MALFORMED || r.off != before)
                die("sl_record_next: bad error or moved cursor");
            break;
        }
        if (r.off <= before)
            die("sl_record_next: no progress");
        check_inside(rec.key, records, "record key outside input");
        check_inside(rec.value, records, "record value outside input");
        check_inside(rec.headers, records, "record headers outside input");
        if ((rec.key_null && rec.key.n) || (rec.value_null && rec.value.n))
            die("null field with bytes");
        sl_rd hr;
        sl_rd_init(&hr, rec.headers);
        for (int32_t j = 0; j < rec.header_count; j++) {
            sl_record_header h;
            if (sl_record_header_next(&hr, &h) != 0)
                die("sl_record_next accepted headers that do not walk");
            check_inside(h.key, rec.headers, "header key outside headers");
            check_inside(h.value, rec.headers, "header value outside");
        }
        if (sl_rd_left(&hr) != 0)
            die("headers view longer than its headers");
    }
    return i;
}

/* Compare every record of two uncompressed batches with the same base
 * timestamp field for field (record attributes excepted: the builder
 * always writes 0). */
static void
compare_records(sl_slice a, sl_slice b, int32_t count)
{
    sl_rd ra, rb;
    sl_rd_init(&ra, sl_batch_records(a));
    sl_rd_init(&rb, sl_batch_records(b));
    for (int32_t i = 0; i < count; i++) {
        sl_record x, y;
        if (sl_record_next(&ra, &x) != 0 || sl_record_next(&rb, &y) != 0)
            die("round trip: record does not decode");
        if (x.timestamp_delta != y.timestamp_delta ||
            x.offset_delta != y.offset_delta || x.key_null != y.key_null ||
            x.value_null != y.value_null || !slice_eq(x.key, y.key) ||
            !slice_eq(x.value, y.value) || x.header_count != y.header_count)
            die("round trip: record fields differ");
        sl_rd ha, hb;
        sl_rd_init(&ha, x.headers);
        sl_rd_init(&hb, y.headers);
        for (int32_t j = 0; j < x.header_count; j++) {
            sl_record_header p, q;
            if (sl_record_header_next(&ha, &p) != 0 ||
                sl_record_header_next(&hb, &q) != 0)
                die("round trip: header does not decode");
            if (!slice_eq(p.key, q.key) || p.value_null != q.value_null ||
                !slice_eq(p.value, q.value))
                die("round trip: header fields differ");
        }
    }
    if (sl_rd_left(&ra) != 0 || sl_rd_left(&rb) != 0)
        die("round trip: records left over");
}

/* Rebuild a valid uncompressed batch from its decoded fields into *out. */
static int
rebuild(sl_slice batch, const sl_batch_hdr *h, sl_buf *out)
{
    sl_batch_builder b;
    if (sl_batch_builder_init(&b, out, h->base_timestamp) != 0)
        return -1;
    sl_batch_builder_producer(&b, h->producer_id, h->producer_epoch,
                              h->base_sequence);
    sl_rd r;
    sl_rd_init(&r, sl_batch_records(batch));
    sl_record_header *hdrs = NULL;
    size_t cap = 0;
    int rc = 0;
    for (int32_t i = 0; i < h->record_count && rc == 0; i++) {
        sl_record rec;
        if (sl_record_next(&r, &rec) != 0)
            die("checked batch has an undecodable record");
        if (rec.header_count > MAX_HEADERS) {
            rc = -1; /* too big to bother with; not a finding */
            break;
        }
        if ((size_t)rec.header_count > cap) {
            cap = (size_t)rec.header_count;
            sl_record_header *nh = realloc(hdrs, cap * sizeof(*hdrs));
            if (nh == NULL) {
                rc = -1;
                break;
            }
            hdrs = nh;
        }
        sl_rd hr;
        sl_rd_init(&hr, rec.headers);
        for (int32_t j = 0; j < rec.header_count; j++)
            if (sl_record_header_next(&hr, &hdrs[j]) != 0)
                die("checked batch has an undecodable header");
        /* The timestamp as base + delta, wrapping like the builder. */
        int64_t ts = (int64_t)((uint64_t)h->base_timestamp +
                               (uint64_t)rec.timestamp_delta);
        rc = sl_batch_builder_add(&b, ts, rec.key_null ? NULL : &rec.key,
                                  rec.value_null ? NULL : &rec.value, hdrs,
                                  (size_t)rec.header_count);
    }
    free(hdrs);
    if (rc != 0)
        return -1;
    sl_batch_builder_finish(&b);
    return 0;
}

static void
round_trip(sl_slice batch, const sl_batch_hdr *h)
{
    sl_buf out1, out2;
    sl_buf_init(&out1);
    sl_buf_init(&out2);
    if (rebuild(batch, h, &out1) != 0)
        goto done;
    sl_slice s1 = sl_slice_make(out1.p, out1.n);
    sl_batch_hdr h1;
    if (sl_batch_check(s1, ALL_CHECKS, &h1) != 0)
        die("round trip: rebuilt batch fails its checks");
    if (h1.record_count != h->record_count ||
        h1.base_timestamp != h->base_timestamp ||
        h1.producer_id != h->producer_id ||
        h1.producer_epoch != h->producer_epoch ||
        h1.base_sequence != h->base_sequence || h1.attributes != 0 ||
        h1.base_offset != 0)
        die("round trip: header fields differ");
    compare_records(batch, s1, h->record_count);

    /* Our own output is canonical: rebuilding it gives the same bytes. */
    if (rebuild(s1, &h1, &out2) != 0)
        goto done;
    if (out1.n != out2.n || memcmp(out1.p, out2.p, out1.n) != 0)
        die("round trip: encoder is not canonical");
done:
    sl_buf_fini(&out1);
    sl_buf_fini(&out2);
}

/* Everything we can do with one candidate batch spanning s exactly. */
static void
one_batch(sl_slice s)
{
    static const int flag_sets[] = {0, SL_BATCH_CHECK_CRC,
                                    SL_BATCH_CHECK_RECORDS, ALL_CHECKS};
    int rcs[4];
    sl_batch_hdr h;
    for (size_t i = 0; i < 4; i++) {
        rcs[i] = sl_batch_check(s, flag_sets[i], &h);
        if (!is_known_code(rcs[i]))
            die("sl_batch_check: unexpected code");
    }
    /* More checks can only turn a success into a failure. */
    if ((rcs[1] == 0 || rcs[2] == 0 || rcs[3] == 0) && rcs[0] != 0)
        die("sl_batch_check: extra flags made a batch valid");
    if (rcs[3] == 0 && (rcs[1] != 0 || rcs[2] != 0))
        die("sl_batch_check: all flags pass but a subset fails");
    if (rcs[3] != 0)
        return;
    if (sl_batch_total_len(&h) != s.n)
        die("sl_batch_check: success with a length that is not s.n");
    if (sl_batch_compression(&h) != SL_COMPRESSION_NONE)
        return;
    if (walk_records(sl_batch_records(s), h.record_count) != h.record_count)
        die("checked batch: records do not walk");
    round_trip(s, &h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_slice all = sl_slice_make(data, size);
    sl_batch_hdr h;

    int rc = sl_batch_hdr_decode(all, 0, &h);
    if (!is_known_code(rc) || rc == SL_E_CRC)
        die("sl_batch_hdr_decode: unexpected code");
    if (rc == 0 && (h.magic != SL_BATCH_MAGIC ||
                    sl_batch_total_len(&h) < SL_BATCH_HEADER_LEN))
        die("sl_batch_hdr_decode: accepted a bad header");

    /* The input as one batch, and as records without a header. */
    one_batch(all);
    walk_records(all, INT32_MAX);

    /* The input as a sequence of batches. */
    sl_slice rest = all;
    for (;;) {
        sl_slice batch;
        size_t before = rest.n;
        rc = sl_batch_next(&rest, size ? size : 1, &h, &batch);
        if (rc != 0) {
            if (!is_known_code(rc) || rc == SL_E_CRC)
                die("sl_batch_next: unexpected code");
            if (rest.n != before)
                die("sl_batch_next: moved on failure");
            break;
        }
        if (batch.n < SL_BATCH_HEADER_LEN || rest.n + batch.n != before ||
            batch.n != sl_batch_total_len(&h))
            die("sl_batch_next: bad framing");
        check_inside(batch, all, "batch outside input");
        one_batch(batch);
    }
    return 0;
}
