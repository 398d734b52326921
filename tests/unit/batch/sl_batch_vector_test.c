/*
 * sl_batch_vector_test.c — hand-written RecordBatch v2 test vectors.
 *
 * The bytes below are composed field by field from Kafka's documentation,
 * "Implementation" chapter, section 5.3 Message Format: 5.3.1 Record Batch,
 * 5.3.2 Record, 5.3.2.1 Record Header (format introduced by KIP-98).  They
 * are not produced by our encoder: the test checks our decoder, validator
 * and encoder against them, and checks the CRC field against an independent
 * bitwise CRC-32C, so a bug shared by sl_crc32c and sl_batch cannot hide.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sl_batch.h"

/* CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, bit by bit. */
static uint32_t
ref_crc32c(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/*
 * [Kafka 5.3.1, 5.3.2, 5.3.2.1] One batch, one record: key "k", value "v",
 * one header "hk" = "hv"; no producer id; CreateTime.
 */
static const uint8_t vec1[] = {
    /* 5.3.1 Record Batch */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* baseOffset 0 */
    0x00, 0x00, 0x00, 0x40,                         /* batchLength 64 */
    0x00, 0x00, 0x00, 0x00,                         /* partitionLeaderEpoch 0 */
    0x02,                                           /* magic 2 */
    0x97, 0x7a, 0x9e, 0x3c,                         /* crc: attributes..end */
    0x00, 0x00,             /* attributes: none, CreateTime */
    0x00, 0x00, 0x00, 0x00, /* lastOffsetDelta 0 */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* baseTimestamp */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* maxTimestamp */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* producerId -1 */
    0xff, 0xff,                                     /* producerEpoch -1 */
    0xff, 0xff, 0xff, 0xff,                         /* baseSequence -1 */
    0x00, 0x00, 0x00, 0x01,                         /* recordsCount 1 */
    /* 5.3.2 Record (varints are ZigZag) */
    0x1c,       /* length 14 */
    0x00,       /* attributes */
    0x00,       /* timestampDelta 0 */
    0x00,       /* offsetDelta 0 */
    0x02, 0x6b, /* keyLength 1, "k" */
    0x02, 0x76, /* valueLength 1, "v" */
    0x02,       /* headers count 1 */
    /* 5.3.2.1 Record Header */
    0x04, 0x68, 0x6b, /* headerKeyLength 2, "hk" */
    0x04, 0x68, 0x76, /* headerValueLength 2, "hv" */
};

/*
 * [Kafka 5.3.1, 5.3.2, 5.3.2.1] Two records with an idempotent producer:
 * record 0 has a null key, an empty value and no headers; record 1 is 250
 * ms later, key "k2", a null value and one header "h" with a null value.
 * baseOffset 5 as a broker would have stamped it.
 */
static const uint8_t vec2[] = {
    /* 5.3.1 Record Batch */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, /* baseOffset 5 */
    0x00, 0x00, 0x00, 0x45,                         /* batchLength 69 */
    0x00, 0x00, 0x00, 0x00,                         /* partitionLeaderEpoch 0 */
    0x02,                                           /* magic 2 */
    0xd3, 0x19, 0x16, 0xe3,                         /* crc */
    0x00, 0x00,                                     /* attributes */
    0x00, 0x00, 0x00, 0x01,                         /* lastOffsetDelta 1 */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* baseTimestamp */
    0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0xfa, /* maxTimestamp +250 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe8, /* producerId 1000 */
    0x00, 0x03,                                     /* producerEpoch 3 */
    0x00, 0x00, 0x00, 0x2a,                         /* baseSequence 42 */
    0x00, 0x00, 0x00, 0x02,                         /* recordsCount 2 */
    /* 5.3.2 Record 0 */
    0x0c, /* length 6 */
    0x00, /* attributes */
    0x00, /* timestampDelta 0 */
    0x00, /* offsetDelta 0 */
    0x01, /* keyLength -1: null */
    0x00, /* valueLength 0: empty */
    0x00, /* headers count 0 */
    /* 5.3.2 Record 1 */
    0x18,             /* length 12 */
    0x00,             /* attributes */
    0xf4, 0x03,       /* timestampDelta 250 */
    0x02,             /* offsetDelta 1 */
    0x04, 0x6b, 0x32, /* keyLength 2, "k2" */
    0x01,             /* valueLength -1: null */
    0x02,             /* headers count 1 */
    /* 5.3.2.1 Record Header */
    0x02, 0x68, /* headerKeyLength 1, "h" */
    0x01,       /* headerValueLength -1: null */
};

#define TS0 INT64_C(1700000000000) /* 2023-11-14T22:13:20Z */

static void
test_vectors_crc_reference(void **state)
{
    (void)state;
    uint32_t field = sl_get_u32be(vec1 + 17);
    assert_int_equal(ref_crc32c(vec1 + 21, sizeof(vec1) - 21), field);
    assert_int_equal(sl_crc32c(vec1 + 21, sizeof(vec1) - 21), field);
    field = sl_get_u32be(vec2 + 17);
    assert_int_equal(ref_crc32c(vec2 + 21, sizeof(vec2) - 21), field);
    assert_int_equal(sl_crc32c(vec2 + 21, sizeof(vec2) - 21), field);
}

static void
test_vec1_decode(void **state)
{
    (void)state;
    sl_slice s = sl_slice_make(vec1, sizeof(vec1));
    sl_batch_hdr h;
    assert_int_equal(
        sl_batch_check(s, SL_BATCH_CHECK_CRC | SL_BATCH_CHECK_RECORDS, &h), 0);
    assert_true(h.base_offset == 0);
    assert_int_equal(h.batch_length, 64);
    assert_int_equal(sl_batch_total_len(&h), sizeof(vec1));
    assert_int_equal(h.leader_epoch, 0);
    assert_int_equal(h.magic, 2);
    assert_int_equal(h.crc, 0x977a9e3cu);
    assert_int_equal(h.attributes, 0);
    assert_int_equal(h.last_offset_delta, 0);
    assert_true(h.base_timestamp == TS0);
    assert_true(h.max_timestamp == TS0);
    assert_true(h.producer_id == -1);
    assert_int_equal(h.producer_epoch, -1);
    assert_int_equal(h.base_sequence, -1);
    assert_int_equal(h.record_count, 1);

    sl_rd r;
    sl_rd_init(&r, sl_batch_records(s));
    sl_record rec;
    assert_int_equal(sl_record_next(&r, &rec), 0);
    assert_int_equal(sl_rd_left(&r), 0);
    assert_int_equal(rec.attributes, 0);
    assert_true(rec.timestamp_delta == 0);
    assert_int_equal(rec.offset_delta, 0);
    assert_false(rec.key_null);
    assert_true(sl_slice_eq_str(rec.key, "k"));
    assert_false(rec.value_null);
    assert_true(sl_slice_eq_str(rec.value, "v"));
    assert_int_equal(rec.header_count, 1);
    sl_rd hr;
    sl_rd_init(&hr, rec.headers);
    sl_record_header hd;
    assert_int_equal(sl_record_header_next(&hr, &hd), 0);
    assert_true(sl_slice_eq_str(hd.key, "hk"));
    assert_false(hd.value_null);
    assert_true(sl_slice_eq_str(hd.value, "hv"));
    assert_int_equal(sl_rd_left(&hr), 0);
}

static void
test_vec2_decode(void **state)
{
    (void)state;
    sl_slice s = sl_slice_make(vec2, sizeof(vec2));
    sl_batch_hdr h;
    assert_int_equal(
        sl_batch_check(s, SL_BATCH_CHECK_CRC | SL_BATCH_CHECK_RECORDS, &h), 0);
    assert_true(h.base_offset == 5);
    assert_true(sl_batch_last_offset(&h) == 6);
    assert_true(h.max_timestamp == TS0 + 250);
    assert_true(h.producer_id == 1000);
    assert_int_equal(h.producer_epoch, 3);
    assert_int_equal(h.base_sequence, 42);
    assert_int_equal(h.record_count, 2);

    sl_rd r;
    sl_rd_init(&r, sl_batch_records(s));
    sl_record rec;
    assert_int_equal(sl_record_next(&r, &rec), 0);
    assert_true(rec.key_null);
    assert_int_equal(rec.key.n, 0);
    assert_false(rec.value_null);
    assert_int_equal(rec.value.n, 0);
    assert_int_equal(rec.header_count, 0);
    assert_int_equal(rec.headers.n, 0);

    assert_int_equal(sl_record_next(&r, &rec), 0);
    assert_true(rec.timestamp_delta == 250);
    assert_int_equal(rec.offset_delta, 1);
    assert_true(sl_slice_eq_str(rec.key, "k2"));
    assert_true(rec.value_null);
    assert_int_equal(rec.header_count, 1);
    sl_rd hr;
    sl_rd_init(&hr, rec.headers);
    sl_record_header hd;
    assert_int_equal(sl_record_header_next(&hr, &hd), 0);
    assert_true(sl_slice_eq_str(hd.key, "h"));
    assert_true(hd.value_null);
    assert_int_equal(sl_rd_left(&hr), 0);
    assert_int_equal(sl_rd_left(&r), 0);
}

/* Our encoder must produce the documented bytes exactly. */
static void
test_builder_reproduces_vectors(void **state)
{
    (void)state;
    sl_buf out;
    sl_buf_init(&out);
    sl_batch_builder b;
    assert_int_equal(sl_batch_builder_init(&b, &out, TS0), 0);
    sl_slice k = sl_slice_str("k"), v = sl_slice_str("v");
    sl_record_header hd = {sl_slice_str("hk"), 0, sl_slice_str("hv")};
    assert_int_equal(sl_batch_builder_add(&b, TS0, &k, &v, &hd, 1), 0);
    assert_int_equal(sl_batch_builder_finish(&b), sizeof(vec1));
    assert_int_equal(out.n, sizeof(vec1));
    assert_memory_equal(out.p, vec1, sizeof(vec1));

    sl_buf_reset(&out);
    assert_int_equal(sl_batch_builder_init(&b, &out, TS0), 0);
    sl_batch_builder_producer(&b, 1000, 3, 42);
    sl_slice empty = sl_slice_make("", 0);
    assert_int_equal(sl_batch_builder_add(&b, TS0, NULL, &empty, NULL, 0), 0);
    sl_slice k2 = sl_slice_str("k2");
    sl_record_header hn = {sl_slice_str("h"), 1, {NULL, 0}};
    assert_int_equal(sl_batch_builder_add(&b, TS0 + 250, &k2, NULL, &hn, 1), 0);
    assert_int_equal(sl_batch_builder_finish(&b), sizeof(vec2));
    sl_batch_stamp_offset(out.p, 5);
    assert_memory_equal(out.p, vec2, sizeof(vec2));
    sl_buf_fini(&out);
}

/* Both vectors back to back, as a fetch response carries them. */
static void
test_vectors_as_sequence(void **state)
{
    (void)state;
    uint8_t seq[sizeof(vec1) + sizeof(vec2)];
    memcpy(seq, vec1, sizeof(vec1));
    memcpy(seq + sizeof(vec1), vec2, sizeof(vec2));
    sl_slice rest = sl_slice_make(seq, sizeof(seq));
    sl_batch_hdr h;
    sl_slice one;
    assert_int_equal(sl_batch_next(&rest, 0, &h, &one), 0);
    assert_int_equal(one.n, sizeof(vec1));
    assert_int_equal(sl_batch_next(&rest, 0, &h, &one), 0);
    assert_int_equal(one.n, sizeof(vec2));
    assert_true(h.base_offset == 5);
    assert_int_equal(rest.n, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_crc_reference),
        cmocka_unit_test(test_vec1_decode),
        cmocka_unit_test(test_vec2_decode),
        cmocka_unit_test(test_builder_reproduces_vectors),
        cmocka_unit_test(test_vectors_as_sequence),
    };
    return cmocka_run_group_tests_name("sl_batch_vectors", tests, NULL, NULL);
}
