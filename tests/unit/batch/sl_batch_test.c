/*
 * sl_batch_test.c — RecordBatch v2: builder → check → record walk, framing
 * over batch sequences, every validation rule, corruption detection and the
 * in-place stamps of segstore's append path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "sl_batch.h"

#define ALL_CHECKS (SL_BATCH_CHECK_CRC | SL_BATCH_CHECK_RECORDS)

/* Field offsets, from the layout in sl_batch.h. */
enum {
    AT_BASE_OFFSET = 0,
    AT_LENGTH = 8,
    AT_EPOCH = 12,
    AT_MAGIC = 16,
    AT_CRC = 17,
    AT_ATTRIBUTES = 21,
    AT_LAST_DELTA = 23,
    AT_MAX_TS = 35,
    AT_RECORD_COUNT = 57,
};

/* What a test record should decode to. */
typedef struct want_rec {
    int64_t ts;
    const char *key; /* NULL = null key */
    const char *value;
    size_t value_len; /* used when value is not NULL */
    size_t nhdrs;
    const sl_record_header *hdrs;
} want_rec;

static sl_slice
slice_or_empty(const char *s, size_t n)
{
    return sl_slice_make(s ? s : "", n);
}

static size_t
build(sl_buf *out, int64_t base_ts, const want_rec *w, size_t n)
{
    sl_batch_builder b;
    assert_int_equal(sl_batch_builder_init(&b, out, base_ts), 0);
    for (size_t i = 0; i < n; i++) {
        sl_slice k = sl_slice_str(w[i].key);
        sl_slice v = slice_or_empty(w[i].value, w[i].value_len);
        assert_int_equal(sl_batch_builder_add(&b, w[i].ts, w[i].key ? &k : NULL,
                                              w[i].value ? &v : NULL, w[i].hdrs,
                                              w[i].nhdrs),
                         0);
    }
    return sl_batch_builder_finish(&b);
}

/* Walk the records of a checked batch and compare every field. */
static void
expect_records(sl_slice batch, int64_t base_ts, const want_rec *w, size_t n)
{
    sl_rd r;
    sl_rd_init(&r, sl_batch_records(batch));
    for (size_t i = 0; i < n; i++) {
        sl_record rec;
        assert_int_equal(sl_record_next(&r, &rec), 0);
        assert_int_equal(rec.attributes, 0);
        assert_true(base_ts + rec.timestamp_delta == w[i].ts);
        assert_int_equal(rec.offset_delta, (int32_t)i);
        if (w[i].key == NULL) {
            assert_true(rec.key_null);
            assert_int_equal(rec.key.n, 0);
        } else {
            assert_false(rec.key_null);
            assert_int_equal(rec.key.n, strlen(w[i].key));
            assert_memory_equal(rec.key.p, w[i].key, rec.key.n);
        }
        if (w[i].value == NULL) {
            assert_true(rec.value_null);
            assert_int_equal(rec.value.n, 0);
        } else {
            assert_false(rec.value_null);
            assert_int_equal(rec.value.n, w[i].value_len);
            if (rec.value.n)
                assert_memory_equal(rec.value.p, w[i].value, rec.value.n);
        }
        assert_int_equal(rec.header_count, (int32_t)w[i].nhdrs);
        sl_rd hr;
        sl_rd_init(&hr, rec.headers);
        for (size_t j = 0; j < w[i].nhdrs; j++) {
            const sl_record_header *e = &w[i].hdrs[j];
            sl_record_header got;
            assert_int_equal(sl_record_header_next(&hr, &got), 0);
            assert_int_equal(got.key.n, e->key.n);
            if (e->key.n)
                assert_memory_equal(got.key.p, e->key.p, e->key.n);
            assert_int_equal(got.value_null, e->value_null);
            if (e->value_null) {
                assert_int_equal(got.value.n, 0);
            } else {
                assert_int_equal(got.value.n, e->value.n);
                if (e->value.n)
                    assert_memory_equal(got.value.p, e->value.p, e->value.n);
            }
        }
        assert_int_equal(sl_rd_left(&hr), 0);
    }
    assert_int_equal(sl_rd_left(&r), 0);
}

/* A small valid batch of n records with keys "k<i>" and values "v<i>". */
static size_t
build_simple(sl_buf *out, int n)
{
    sl_batch_builder b;
    assert_int_equal(sl_batch_builder_init(&b, out, 1000), 0);
    for (int i = 0; i < n; i++) {
        char kb[16], vb[16];
        snprintf(kb, sizeof(kb), "k%d", i);
        snprintf(vb, sizeof(vb), "v%d", i);
        sl_slice k = sl_slice_str(kb), v = sl_slice_str(vb);
        assert_int_equal(sl_batch_builder_add(&b, 1000 + i, &k, &v, NULL, 0),
                         0);
    }
    return sl_batch_builder_finish(&b);
}

/* Recompute the CRC after a test edits a covered field on purpose. */
static void
fix_crc(uint8_t *p, size_t n)
{
    sl_put_u32be(p + AT_CRC, sl_crc32c(p + AT_ATTRIBUTES, n - AT_ATTRIBUTES));
}

static void
test_build_check_walk(void **state)
{
    (void)state;
    static char big[100000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 7);
    sl_record_header many[40];
    char names[40][8];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof(names[i]), "h%02d", i);
        many[i].key = sl_slice_str(names[i]);
        many[i].value_null = (i % 3 == 0);
        many[i].value = many[i].value_null ? sl_slice_make(NULL, 0)
                                           : sl_slice_make(big, (size_t)i * 5);
    }
    sl_record_header null_val = {sl_slice_str("trace"), 1, {NULL, 0}};
    sl_record_header empty_key = {sl_slice_make("", 0), 0, sl_slice_str("x")};
    const int64_t base = 1700000000000;
    const want_rec w[] = {
        {base, "a", "1", 1, 0, NULL},
        {base + 5, NULL, "value with null key", 19, 0, NULL},
        {base - 3, "null-value", NULL, 0, 0, NULL},
        {base + 1, "empty-value", "", 0, 0, NULL},
        {base + 2, "", "empty key", 9, 0, NULL},
        {base + 9, "many-headers", "m", 1, 40, many},
        {base, "header-null-value", "x", 1, 1, &null_val},
        {base + 100000, "big", big, sizeof(big), 1, &empty_key},
        {base + 7, NULL, NULL, 0, 0, NULL},
    };
    const size_t n = SL_ARRAY_LEN(w);
    sl_buf out;
    sl_buf_init(&out);
    size_t len = build(&out, base, w, n);
    assert_int_equal(len, out.n);
    sl_slice s = sl_slice_make(out.p, out.n);
    const int flag_sets[] = {0, SL_BATCH_CHECK_CRC, SL_BATCH_CHECK_RECORDS,
                             ALL_CHECKS};
    for (size_t f = 0; f < SL_ARRAY_LEN(flag_sets); f++) {
        sl_batch_hdr h;
        memset(&h, 0x55, sizeof(h));
        assert_int_equal(sl_batch_check(s, flag_sets[f], &h), 0);
        assert_true(h.base_offset == 0);
        assert_int_equal(h.batch_length, (int32_t)(len - 12));
        assert_int_equal(h.leader_epoch, 0);
        assert_int_equal(h.magic, 2);
        assert_int_equal(h.crc, sl_crc32c(out.p + 21, len - 21));
        assert_int_equal(h.attributes, 0);
        assert_int_equal(sl_batch_compression(&h), SL_COMPRESSION_NONE);
        assert_int_equal(h.last_offset_delta, (int32_t)n - 1);
        assert_int_equal(h.record_count, (int32_t)n);
        assert_true(h.base_timestamp == base);
        assert_true(h.max_timestamp == base + 100000);
        assert_true(h.producer_id == -1);
        assert_int_equal(h.producer_epoch, -1);
        assert_int_equal(h.base_sequence, -1);
        assert_true(sl_batch_last_offset(&h) == (int64_t)n - 1);
    }
    expect_records(s, base, w, n);
    sl_buf_fini(&out);
}

/* A batch built after other bytes in the buffer starts where it says. */
static void
test_builder_appends(void **state)
{
    (void)state;
    sl_buf out;
    sl_buf_init(&out);
    assert_int_equal(sl_buf_append(&out, "prefix", 6), 0);
    sl_batch_builder b;
    assert_int_equal(sl_batch_builder_init(&b, &out, 77), 0);
    sl_batch_builder_producer(&b, INT64_MAX, INT16_MAX, INT32_MAX);
    sl_slice k = sl_slice_str("key");
    for (int i = 0; i < 1000; i++) /* forces the buffer to move */
        assert_int_equal(sl_batch_builder_add(&b, 77 + i, &k, &k, NULL, 0), 0);
    size_t len = sl_batch_builder_finish(&b);
    assert_int_equal(len + 6, out.n);
    assert_memory_equal(out.p, "prefix", 6);
    sl_batch_hdr h;
    assert_int_equal(
        sl_batch_check(sl_slice_make(out.p + 6, len), ALL_CHECKS, &h), 0);
    assert_true(h.producer_id == INT64_MAX);
    assert_int_equal(h.producer_epoch, INT16_MAX);
    assert_int_equal(h.base_sequence, INT32_MAX);
    assert_int_equal(h.record_count, 1000);
    assert_true(h.max_timestamp == 77 + 999);
    sl_buf_fini(&out);
}

/* Regression: a timestamp far from the base made the builder compute
 * ts - base_ts in signed arithmetic and overflow (undefined behaviour,
 * caught by UBSan).  The delta now wraps and decodes back exactly. */
static void
test_builder_extreme_timestamps(void **state)
{
    (void)state;
    sl_buf out;
    sl_buf_init(&out);
    sl_batch_builder b;
    const int64_t base = -1000;
    assert_int_equal(sl_batch_builder_init(&b, &out, base), 0);
    const int64_t ts[] = {INT64_MAX, INT64_MIN, 0, -1};
    for (size_t i = 0; i < SL_ARRAY_LEN(ts); i++)
        assert_int_equal(sl_batch_builder_add(&b, ts[i], NULL, NULL, NULL, 0),
                         0);
    size_t len = sl_batch_builder_finish(&b);
    sl_slice s = sl_slice_make(out.p, len);
    sl_batch_hdr h;
    assert_int_equal(sl_batch_check(s, ALL_CHECKS, &h), 0);
    assert_true(h.max_timestamp == INT64_MAX);
    sl_rd r;
    sl_rd_init(&r, sl_batch_records(s));
    for (size_t i = 0; i < SL_ARRAY_LEN(ts); i++) {
        sl_record rec;
        assert_int_equal(sl_record_next(&r, &rec), 0);
        uint64_t got = (uint64_t)base + (uint64_t)rec.timestamp_delta;
        assert_true((int64_t)got == ts[i]);
    }
    sl_buf_fini(&out);
}

static void
test_next_over_sequence(void **state)
{
    (void)state;
    sl_buf out;
    sl_buf_init(&out);
    size_t lens[3];
    lens[0] = build_simple(&out, 1);
    lens[1] = build_simple(&out, 5);
    lens[2] = build_simple(&out, 2);
    assert_int_equal(lens[0] + lens[1] + lens[2], out.n);

    sl_slice rest = sl_slice_make(out.p, out.n);
    const uint8_t *at = out.p;
    for (int i = 0; i < 3; i++) {
        sl_batch_hdr h;
        sl_slice batch;
        assert_int_equal(sl_batch_next(&rest, 0, &h, &batch), 0);
        assert_ptr_equal(batch.p, at);
        assert_int_equal(batch.n, lens[i]);
        assert_int_equal(sl_batch_total_len(&h), lens[i]);
        assert_int_equal(sl_batch_check(batch, ALL_CHECKS, &h), 0);
        at += lens[i];
    }
    assert_int_equal(rest.n, 0);
    sl_batch_hdr h;
    sl_slice batch;
    assert_int_equal(sl_batch_next(&rest, 0, &h, &batch), SL_E_PARTIAL);

    /* Every truncation point inside the last batch: two whole batches, then
     * SL_E_PARTIAL with *rest left at the start of the torn one. */
    for (size_t cut = 1; cut < lens[2]; cut++) {
        rest = sl_slice_make(out.p, out.n - cut);
        assert_int_equal(sl_batch_next(&rest, 0, &h, &batch), 0);
        assert_int_equal(sl_batch_next(&rest, 0, &h, &batch), 0);
        const uint8_t *p = rest.p;
        size_t n = rest.n;
        assert_int_equal(sl_batch_next(&rest, 0, &h, &batch), SL_E_PARTIAL);
        assert_ptr_equal(rest.p, p);
        assert_int_equal(rest.n, n);
    }
    /* max_len smaller than the next batch: malformed, not partial. */
    rest = sl_slice_make(out.p + lens[0], out.n - lens[0]);
    assert_int_equal(sl_batch_next(&rest, lens[1] - 1, &h, &batch),
                     SL_E_MALFORMED);
    assert_int_equal(sl_batch_next(&rest, lens[1], &h, &batch), 0);
    sl_buf_fini(&out);
}

static void
test_truncated_check_and_decode(void **state)
{
    (void)state;
    sl_buf out;
    sl_buf_init(&out);
    size_t len = build_simple(&out, 3);
    for (size_t n = 0; n < len; n++) {
        sl_slice s = sl_slice_make(out.p, n);
        sl_batch_hdr h;
        int want = n < SL_BATCH_HEADER_LEN ? SL_E_PARTIAL : SL_E_MALFORMED;
        assert_int_equal(sl_batch_hdr_decode(s, 0, &h),
                         n < SL_BATCH_HEADER_LEN ? SL_E_PARTIAL : 0);
        /* A whole-batch check over a prefix is never a success. */
        assert_int_equal(sl_batch_check(s, ALL_CHECKS, &h), want);
    }
    sl_buf_fini(&out);
}

/* Any single flipped bit in [attributes, end) is caught by the CRC, even in
 * fields (lastOffsetDelta, recordCount) that other rules would reject. */
static void
test_crc_covers_every_bit(void **state)
{
    (void)state;
    sl_buf out;
    sl_buf_init(&out);
    size_t len = build_simple(&out, 3);
    for (size_t i = AT_CRC; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            out.p[i] ^= (uint8_t)(1u << bit);
            sl_batch_hdr h;
            sl_slice s = sl_slice_make(out.p, len);
            assert_int_equal(sl_batch_check(s, SL_BATCH_CHECK_CRC, &h),
                             SL_E_CRC);
            assert_int_equal(sl_batch_check(s, ALL_CHECKS, &h), SL_E_CRC);
            out.p[i] ^= (uint8_t)(1u << bit);
        }
    }
    sl_batch_hdr h;
    assert_int_equal(sl_batch_check(sl_slice_make(out.p, len), ALL_CHECKS, &h),
                     0);
    sl_buf_fini(&out);
}

/* baseOffset and partitionLeaderEpoch sit outside the CRC: segstore stamps
 * them without recomputing it. */
static void
test_uncovered_fields_keep_crc(void **state)
{
    (void)state;
    sl_buf out;
    sl_buf_init(&out);
    size_t len = build_simple(&out, 2);
    const size_t fields[][2] = {{AT_BASE_OFFSET, 8}, {AT_EPOCH, 4}};
    for (size_t f = 0; f < SL_ARRAY_LEN(fields); f++) {
        for (size_t i = fields[f][0]; i < fields[f][0] + fields[f][1]; i++) {
            for (int bit = 0; bit < 8; bit++) {
                out.p[i] ^= (uint8_t)(1u << bit);
                sl_batch_hdr h;
                assert_int_equal(
                    sl_batch_check(sl_slice_make(out.p, len), ALL_CHECKS, &h),
                    0);
                if (f == 0)
                    assert_true(h.base_offset != 0);
                else
                    assert_true(h.leader_epoch != 0);
                out.p[i] ^= (uint8_t)(1u << bit);
            }
        }
    }
    sl_buf_fini(&out);
}

static void
test_bad_magic(void **state)
{
    (void)state;
    sl_buf out;
    sl_buf_init(&out);
    size_t len = build_simple(&out, 1);
    const uint8_t magics[] = {0, 1, 3, 0x82, 0xff};
    for (size_t i = 0; i < SL_ARRAY_LEN(magics); i++) {
        out.p[AT_MAGIC] = magics[i];
        sl_batch_hdr h;
        sl_slice s = sl_slice_make(out.p, len);
        assert_int_equal(sl_batch_hdr_decode(s, 0, &h), SL_E_VERSION);
        assert_int_equal(sl_batch_check(s, ALL_CHECKS, &h), SL_E_VERSION);
        assert_int_equal(sl_batch_check(s, 0, &h), SL_E_VERSION);
        sl_slice rest = s, batch;
        assert_int_equal(sl_batch_next(&rest, 0, &h, &batch), SL_E_VERSION);
        assert_int_equal(rest.n, len);
        /* Visible before the whole header has arrived. */
        for (size_t n = AT_MAGIC + 1; n < SL_BATCH_HEADER_LEN; n++)
            assert_int_equal(
                sl_batch_hdr_decode(sl_slice_make(out.p, n), 0, &h),
                SL_E_VERSION);
    }
    sl_buf_fini(&out);
}

static void
test_batch_length_rules(void **state)
{
    (void)state;
    sl_buf out;
    sl_buf_init(&out);
    size_t len = build_simple(&out, 2);
    int32_t real = (int32_t)(len - 12);
    sl_slice s = sl_slice_make(out.p, len);
    sl_batch_hdr h;
    const int32_t too_small[] = {48, 0, -1, INT32_MIN};
    for (size_t i = 0; i < SL_ARRAY_LEN(too_small); i++) {
        sl_put_u32be(out.p + AT_LENGTH, (uint32_t)too_small[i]);
        assert_int_equal(sl_batch_hdr_decode(s, 0, &h), SL_E_MALFORMED);
        assert_int_equal(sl_batch_check(s, ALL_CHECKS, &h), SL_E_MALFORMED);
        sl_slice rest = s, batch;
        assert_int_equal(sl_batch_next(&rest, 0, &h, &batch), SL_E_MALFORMED);
    }
    /* 49 is exactly the header: legal framing, no room for records. */
    sl_put_u32be(out.p + AT_LENGTH, 49);
    assert_int_equal(sl_batch_hdr_decode(s, 0, &h), 0);
    /* Longer than the bytes given: a check fails, framing wants more. */
    sl_put_u32be(out.p + AT_LENGTH, (uint32_t)real + 1);
    assert_int_equal(sl_batch_check(s, ALL_CHECKS, &h), SL_E_MALFORMED);
    sl_slice rest = s, batch;
    assert_int_equal(sl_batch_next(&rest, 0, &h, &batch), SL_E_PARTIAL);
    /* Shorter than the bytes given to a whole-batch check. */
    sl_put_u32be(out.p + AT_LENGTH, (uint32_t)real - 1);
    assert_int_equal(sl_batch_check(s, ALL_CHECKS, &h), SL_E_MALFORMED);
    /* Over max_len, and max_len 0 meaning INT32_MAX. */
    sl_put_u32be(out.p + AT_LENGTH, (uint32_t)real);
    assert_int_equal(sl_batch_hdr_decode(s, len, &h), 0);
    assert_int_equal(sl_batch_hdr_decode(s, len - 1, &h), SL_E_MALFORMED);
    sl_put_u32be(out.p + AT_LENGTH, (uint32_t)INT32_MAX - 12);
    assert_int_equal(sl_batch_hdr_decode(s, 0, &h), 0);
    sl_put_u32be(out.p + AT_LENGTH, (uint32_t)INT32_MAX - 11);
    assert_int_equal(sl_batch_hdr_decode(s, 0, &h), SL_E_MALFORMED);
    sl_put_u32be(out.p + AT_LENGTH, (uint32_t)INT32_MAX);
    assert_int_equal(sl_batch_hdr_decode(s, 0, &h), SL_E_MALFORMED);
    sl_put_u32be(out.p + AT_LENGTH, (uint32_t)real);
    assert_int_equal(sl_batch_check(s, ALL_CHECKS, &h), 0);
    sl_buf_fini(&out);
}

/* recordCount must be lastOffsetDelta + 1, both non-negative; the CRC is
 * fixed after each edit so that the count rule itself is what fails. */
static void
test_count_rules(void **state)
{
    (void)state;
    sl_buf out;
    sl_buf_init(&out);
    size_t len = build_simple(&out, 3);
    sl_slice s = sl_slice_make(out.p, len);
    sl_batch_hdr h;
    const int32_t pairs[][2] = {
        /* lastOffsetDelta, recordCount */
        {2, 4},
        {3, 3},
        {2, 2},
        {-1, 0},
        {-2, -1},
        {2, -3},
        {INT32_MAX, INT32_MIN},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(pairs); i++) {
        sl_put_u32be(out.p + AT_LAST_DELTA, (uint32_t)pairs[i][0]);
        sl_put_u32be(out.p + AT_RECORD_COUNT, (uint32_t)pairs[i][1]);
        fix_crc(out.p, len);
        assert_int_equal(sl_batch_check(s, 0, &h), SL_E_MALFORMED);
        assert_int_equal(sl_batch_check(s, ALL_CHECKS, &h), SL_E_MALFORMED);
    }
    /* Consistent with each other but not with the records present. */
    const int32_t counts[] = {2, 4, 1};
    for (size_t i = 0; i < SL_ARRAY_LEN(counts); i++) {
        sl_put_u32be(out.p + AT_LAST_DELTA, (uint32_t)counts[i] - 1);
        sl_put_u32be(out.p + AT_RECORD_COUNT, (uint32_t)counts[i]);
        fix_crc(out.p, len);
        assert_int_equal(sl_batch_check(s, SL_BATCH_CHECK_CRC, &h), 0);
        assert_int_equal(sl_batch_check(s, ALL_CHECKS, &h), SL_E_MALFORMED);
    }
    sl_buf_fini(&out);
}

/* The records must fill the batch exactly and carry offset deltas 0..n-1. */
static void
test_records_fill_batch(void **state)
{
    (void)state;
    sl_buf out;
    sl_buf_init(&out);
    size_t len = build_simple(&out, 2);
    /* One stray byte after the last record, with a length and CRC that
     * account for it. */
    assert_int_equal(sl_buf_put_u8(&out, 0), 0);
    sl_put_u32be(out.p + AT_LENGTH, (uint32_t)(len + 1 - 12));
    fix_crc(out.p, len + 1);
    sl_slice s = sl_slice_make(out.p, len + 1);
    sl_batch_hdr h;
    assert_int_equal(sl_batch_check(s, SL_BATCH_CHECK_CRC, &h), 0);
    assert_int_equal(sl_batch_check(s, ALL_CHECKS, &h), SL_E_MALFORMED);

    /* A record whose offsetDelta is out of sequence.  In build_simple's
     * records the offsetDelta varint is the 4th byte of each record. */
    sl_buf_reset(&out);
    len = build_simple(&out, 2);
    sl_rd r;
    sl_rd_init(&r, sl_batch_records(sl_slice_make(out.p, len)));
    sl_record rec;
    assert_int_equal(sl_record_next(&r, &rec), 0);
    uint8_t *second = out.p + SL_BATCH_HEADER_LEN + r.off;
    assert_int_equal(second[3], 0x02); /* zigzag(1) */
    second[3] = 0x04;                  /* zigzag(2) */
    fix_crc(out.p, len);
    s = sl_slice_make(out.p, len);
    assert_int_equal(sl_batch_check(s, SL_BATCH_CHECK_CRC, &h), 0);
    assert_int_equal(sl_batch_check(s, ALL_CHECKS, &h), SL_E_MALFORMED);
    second[3] = 0x00; /* a repeat of delta 0 */
    fix_crc(out.p, len);
    assert_int_equal(sl_batch_check(s, ALL_CHECKS, &h), SL_E_MALFORMED);
    sl_buf_fini(&out);
}

/* Compressed records are opaque to the check: only the CRC vouches. */
static void
test_compressed_records_not_parsed(void **state)
{
    (void)state;
    sl_buf out;
    sl_buf_init(&out);
    size_t len = build_simple(&out, 1);
    memset(out.p + SL_BATCH_HEADER_LEN, 0xff, len - SL_BATCH_HEADER_LEN);
    sl_slice s = sl_slice_make(out.p, len);
    sl_batch_hdr h;
    fix_crc(out.p, len);
    assert_int_equal(sl_batch_check(s, ALL_CHECKS, &h), SL_E_MALFORMED);
    for (int codec = SL_COMPRESSION_GZIP; codec <= SL_COMPRESSION_ZSTD;
         codec++) {
        sl_put_u16be(out.p + AT_ATTRIBUTES, (uint16_t)codec);
        fix_crc(out.p, len);
        assert_int_equal(sl_batch_check(s, ALL_CHECKS, &h), 0);
        assert_int_equal(sl_batch_compression(&h), codec);
    }
    sl_buf_fini(&out);
}

static void
test_zero_record_batch_rejected(void **state)
{
    (void)state;
    sl_buf out;
    sl_buf_init(&out);
    sl_batch_builder b;
    assert_int_equal(sl_batch_builder_init(&b, &out, 5), 0);
    size_t len = sl_batch_builder_finish(&b);
    assert_int_equal(len, SL_BATCH_HEADER_LEN);
    sl_batch_hdr h;
    assert_int_equal(sl_batch_check(sl_slice_make(out.p, len), 0, &h),
                     SL_E_MALFORMED);
    sl_buf_fini(&out);
}

/* sl_record_next / sl_record_header_next on hand-made broken records:
 * SL_E_MALFORMED and the cursor where it was. */
static void
test_record_decode_errors(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        uint8_t b[16];
        size_t n;
    } bad[] = {
        {"empty", {0}, 0},
        {"negative length", {0x01}, 1},
        {"length past end", {0x0a, 0, 0, 0}, 4},
        {"overlong length varint", {0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 6},
        {"body too short", {0x04, 0, 0}, 3},
        {"key length -2", {0x0c, 0, 0, 0, 0x03, 0x01, 0}, 7},
        {"key past body", {0x0c, 0, 0, 0, 0x08, 0x01, 0}, 7},
        {"negative header count", {0x0c, 0, 0, 0, 0x01, 0x01, 0x01}, 7},
        {"missing header", {0x0c, 0, 0, 0, 0x01, 0x01, 0x02}, 7},
        {"null header key", {0x0e, 0, 0, 0, 0x01, 0x01, 0x02, 0x01, 0x01}, 9},
        {"trailing byte in body", {0x0e, 0, 0, 0, 0x01, 0x01, 0x00, 0x00}, 8},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        sl_rd r;
        sl_rd_init(&r, sl_slice_make(bad[i].b, bad[i].n));
        sl_record rec;
        int rc = sl_record_next(&r, &rec);
        if (rc != SL_E_MALFORMED)
            fail_msg("%s: got %d (%s)", bad[i].what, rc, sl_errname(rc));
        assert_int_equal(r.off, 0);
    }
    /* A good one for contrast: null key, null value, one header "a"="". */
    static const uint8_t good[] = {0x12, 0,    0,    0,   0x01,
                                   0x01, 0x02, 0x02, 'a', 0x00};
    sl_rd r;
    sl_rd_init(&r, sl_slice_make(good, sizeof(good)));
    sl_record rec;
    assert_int_equal(sl_record_next(&r, &rec), 0);
    assert_int_equal(r.off, sizeof(good));
    assert_int_equal(rec.header_count, 1);

    static const struct {
        uint8_t b[8];
        size_t n;
    } badh[] = {
        {{0}, 0},
        {{0x01, 0x00}, 2},             /* null key */
        {{0x02, 'a'}, 2},              /* value length missing */
        {{0x02, 'a', 0x03}, 3},        /* value length -2 */
        {{0x02, 'a', 0x04, 'x'}, 4},   /* value past end */
        {{0x04, 'a'}, 2},              /* key past end */
        {{0xff, 0xff, 0xff, 0xff}, 4}, /* unterminated varint */
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(badh); i++) {
        sl_rd hr;
        sl_rd_init(&hr, sl_slice_make(badh[i].b, badh[i].n));
        sl_record_header hd;
        assert_int_equal(sl_record_header_next(&hr, &hd), SL_E_MALFORMED);
        assert_int_equal(hr.off, 0);
    }
}

static void
test_stamps(void **state)
{
    (void)state;
    sl_buf out;
    sl_buf_init(&out);
    size_t len = build_simple(&out, 4);
    sl_slice s = sl_slice_make(out.p, len);
    sl_batch_hdr h;
    uint32_t crc0 = sl_get_u32be(out.p + AT_CRC);

    sl_batch_stamp_offset(out.p, INT64_C(123456789012));
    assert_int_equal(sl_batch_check(s, ALL_CHECKS, &h), 0);
    assert_true(h.base_offset == INT64_C(123456789012));
    assert_true(sl_batch_last_offset(&h) == INT64_C(123456789015));
    assert_int_equal(h.crc, crc0);

    sl_batch_stamp_epoch(out.p, 7);
    assert_int_equal(sl_batch_check(s, ALL_CHECKS, &h), 0);
    assert_int_equal(h.leader_epoch, 7);
    assert_int_equal(h.crc, crc0);

    /* LogAppendTime: attribute bit set, other attribute bits kept,
     * maxTimestamp replaced, CRC recomputed and valid. */
    sl_put_u16be(out.p + AT_ATTRIBUTES, SL_BATCH_ATTR_TRANSACTIONAL);
    fix_crc(out.p, len);
    sl_batch_stamp_log_append_time(out.p, len, INT64_C(1800000000000));
    assert_int_equal(sl_batch_check(s, ALL_CHECKS, &h), 0);
    assert_int_equal(h.attributes, SL_BATCH_ATTR_TRANSACTIONAL |
                                       SL_BATCH_ATTR_LOG_APPEND_TIME);
    assert_true(h.max_timestamp == INT64_C(1800000000000));
    assert_true(h.base_offset == INT64_C(123456789012));
    assert_int_equal(h.leader_epoch, 7);
    assert_int_not_equal(h.crc, crc0);
    /* Stamping twice is the same as once. */
    uint32_t crc1 = h.crc;
    sl_batch_stamp_log_append_time(out.p, len, INT64_C(1800000000000));
    assert_int_equal(sl_batch_check(s, ALL_CHECKS, &h), 0);
    assert_int_equal(h.crc, crc1);
    sl_buf_fini(&out);
}

static void
test_misc_helpers(void **state)
{
    (void)state;
    assert_string_equal(sl_compression_name(SL_COMPRESSION_NONE), "none");
    assert_string_equal(sl_compression_name(SL_COMPRESSION_GZIP), "gzip");
    assert_string_equal(sl_compression_name(SL_COMPRESSION_SNAPPY), "snappy");
    assert_string_equal(sl_compression_name(SL_COMPRESSION_LZ4), "lz4");
    assert_string_equal(sl_compression_name(SL_COMPRESSION_ZSTD), "zstd");
    assert_string_equal(sl_compression_name(5), "?");
    assert_string_equal(sl_compression_name(-1), "?");
    uint8_t tiny[10] = {0};
    sl_slice r = sl_batch_records(sl_slice_make(tiny, sizeof(tiny)));
    assert_int_equal(r.n, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_check_walk),
        cmocka_unit_test(test_builder_appends),
        cmocka_unit_test(test_builder_extreme_timestamps),
        cmocka_unit_test(test_next_over_sequence),
        cmocka_unit_test(test_truncated_check_and_decode),
        cmocka_unit_test(test_crc_covers_every_bit),
        cmocka_unit_test(test_uncovered_fields_keep_crc),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_batch_length_rules),
        cmocka_unit_test(test_count_rules),
        cmocka_unit_test(test_records_fill_batch),
        cmocka_unit_test(test_compressed_records_not_parsed),
        cmocka_unit_test(test_zero_record_batch_rejected),
        cmocka_unit_test(test_record_decode_errors),
        cmocka_unit_test(test_stamps),
        cmocka_unit_test(test_misc_helpers),
    };
    return cmocka_run_group_tests_name("sl_batch", tests, NULL, NULL);
}
