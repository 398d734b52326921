/*
 * sl_rd_test.c — the bounds-checked cursor readers of sl_base.h.
 *
 * Every reader must return exact values, advance only on success, and leave
 * the cursor untouched on SL_E_PARTIAL and SL_E_MALFORMED so that a chain of
 * reads either consumes a whole field or nothing.  Varints are checked
 * against hand-written encodings and in round trips with the sl_buf writers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sl_base.h"

static sl_rd
rd_of(const uint8_t *p, size_t n)
{
    sl_rd r;
    sl_rd_init(&r, sl_slice_make(p, n));
    return r;
}

static void
test_fixed_width_exact(void **state)
{
    (void)state;
    static const uint8_t in[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
                                 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15};
    sl_rd r = rd_of(in, sizeof(in));
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    assert_int_equal(sl_rd_u8(&r, &u8), 0);
    assert_int_equal(u8, 0x01);
    assert_int_equal(sl_rd_u16be(&r, &u16), 0);
    assert_int_equal(u16, 0x0203);
    assert_int_equal(sl_rd_u32be(&r, &u32), 0);
    assert_int_equal(u32, 0x04050607u);
    assert_int_equal(sl_rd_u64be(&r, &u64), 0);
    assert_true(u64 == 0x08090a0b0c0d0e0fULL);
    assert_int_equal(r.off, 15);
    assert_int_equal(sl_rd_left(&r), 6);
    assert_ptr_equal(sl_rd_ptr(&r), in + 15);
}

static void
test_signed_exact(void **state)
{
    (void)state;
    static const uint8_t in[] = {0x80, 0x80, 0x00, 0x80, 0x00, 0x00,
                                 0x00, 0xff, 0xff, 0xff, 0xff, 0xff,
                                 0xff, 0xff, 0xfe, 0x7f, 0x7f, 0xff};
    sl_rd r = rd_of(in, sizeof(in));
    int8_t i8;
    int16_t i16;
    int32_t i32;
    int64_t i64;
    assert_int_equal(sl_rd_i8(&r, &i8), 0);
    assert_int_equal(i8, INT8_MIN);
    assert_int_equal(sl_rd_i16be(&r, &i16), 0);
    assert_int_equal(i16, INT16_MIN);
    assert_int_equal(sl_rd_i32be(&r, &i32), 0);
    assert_int_equal(i32, INT32_MIN);
    assert_int_equal(sl_rd_i64be(&r, &i64), 0);
    assert_true(i64 == -2);
    assert_int_equal(sl_rd_i8(&r, &i8), 0);
    assert_int_equal(i8, INT8_MAX);
    assert_int_equal(sl_rd_i16be(&r, &i16), 0);
    assert_int_equal(i16, 0x7fff);
    assert_int_equal(sl_rd_left(&r), 0);
}

/* Every fixed-width reader on every too-short input: SL_E_PARTIAL, the
 * cursor and the output untouched. */
static void
test_fixed_width_partial(void **state)
{
    (void)state;
    static const uint8_t in[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (size_t n = 0; n < 8; n++) {
        sl_rd r = rd_of(in, n);
        uint8_t u8 = 0xaa;
        uint16_t u16 = 0xaaaa;
        uint32_t u32 = 0xaaaaaaaau;
        uint64_t u64 = 0xaaaaaaaaaaaaaaaaULL;
        int8_t i8 = 0x2a;
        int16_t i16 = 0x2a;
        int32_t i32 = 0x2a;
        int64_t i64 = 0x2a;
        if (n < 1) {
            assert_int_equal(sl_rd_u8(&r, &u8), SL_E_PARTIAL);
            assert_int_equal(sl_rd_i8(&r, &i8), SL_E_PARTIAL);
        }
        if (n < 2) {
            assert_int_equal(sl_rd_u16be(&r, &u16), SL_E_PARTIAL);
            assert_int_equal(sl_rd_i16be(&r, &i16), SL_E_PARTIAL);
        }
        if (n < 4) {
            assert_int_equal(sl_rd_u32be(&r, &u32), SL_E_PARTIAL);
            assert_int_equal(sl_rd_i32be(&r, &i32), SL_E_PARTIAL);
        }
        assert_int_equal(sl_rd_u64be(&r, &u64), SL_E_PARTIAL);
        assert_int_equal(sl_rd_i64be(&r, &i64), SL_E_PARTIAL);
        assert_int_equal(r.off, 0);
        assert_int_equal(u8, 0xaa);
        assert_int_equal(u16, 0xaaaa);
        assert_int_equal(u32, 0xaaaaaaaau);
        assert_true(u64 == 0xaaaaaaaaaaaaaaaaULL);
        assert_int_equal(i8, 0x2a);
        assert_int_equal(i16, 0x2a);
        assert_int_equal(i32, 0x2a);
        assert_true(i64 == 0x2a);
    }
}

/* A partial read in the middle of a chain leaves the earlier progress and
 * does not move past it. */
static void
test_partial_mid_chain(void **state)
{
    (void)state;
    static const uint8_t in[] = {0, 7, 1, 2, 3};
    sl_rd r = rd_of(in, sizeof(in));
    uint16_t u16;
    uint32_t u32;
    assert_int_equal(sl_rd_u16be(&r, &u16), 0);
    assert_int_equal(u16, 7);
    assert_int_equal(sl_rd_u32be(&r, &u32), SL_E_PARTIAL);
    assert_int_equal(r.off, 2);
    assert_ptr_equal(sl_rd_ptr(&r), in + 2);
}

static void
test_bytes_and_skip(void **state)
{
    (void)state;
    static const uint8_t in[] = {'a', 'b', 'c', 'd', 'e'};
    sl_rd r = rd_of(in, sizeof(in));
    sl_slice s = {NULL, 99};
    assert_int_equal(sl_rd_bytes(&r, 0, &s), 0);
    assert_ptr_equal(s.p, in);
    assert_int_equal(s.n, 0);
    assert_int_equal(sl_rd_bytes(&r, 2, &s), 0);
    assert_ptr_equal(s.p, in);
    assert_int_equal(s.n, 2);
    assert_memory_equal(s.p, "ab", 2);
    assert_int_equal(sl_rd_skip(&r, 1), 0);
    assert_int_equal(r.off, 3);

    sl_slice before = s;
    assert_int_equal(sl_rd_bytes(&r, 3, &s), SL_E_PARTIAL);
    assert_ptr_equal(s.p, before.p);
    assert_int_equal(s.n, before.n);
    assert_int_equal(sl_rd_skip(&r, 3), SL_E_PARTIAL);
    /* A huge length must not wrap around the bounds check. */
    assert_int_equal(sl_rd_bytes(&r, SIZE_MAX, &s), SL_E_PARTIAL);
    assert_int_equal(sl_rd_skip(&r, SIZE_MAX), SL_E_PARTIAL);
    assert_int_equal(r.off, 3);

    assert_int_equal(sl_rd_skip(&r, 2), 0);
    assert_int_equal(sl_rd_left(&r), 0);
    assert_int_equal(sl_rd_skip(&r, 0), 0);
    assert_int_equal(sl_rd_bytes(&r, 0, &s), 0);
    assert_int_equal(s.n, 0);
}

/* Regression: the readers must not do arithmetic on the NULL pointer of an
 * empty slice (UBSan's "applying zero offset to null pointer"), which the
 * varint readers and sl_rd_bytes(.., 0, ..) did. */
static void
test_empty_slice(void **state)
{
    (void)state;
    sl_rd r;
    sl_rd_init(&r, sl_slice_make(NULL, 0));
    uint8_t u8;
    uint64_t u;
    int32_t i32;
    int64_t i64;
    assert_int_equal(sl_rd_left(&r), 0);
    assert_int_equal(sl_rd_u8(&r, &u8), SL_E_PARTIAL);
    assert_int_equal(sl_rd_uvarint(&r, &u), SL_E_PARTIAL);
    assert_int_equal(sl_rd_varint(&r, &i32), SL_E_PARTIAL);
    assert_int_equal(sl_rd_varlong(&r, &i64), SL_E_PARTIAL);
    sl_slice s = {(const uint8_t *)"x", 1};
    assert_int_equal(sl_rd_bytes(&r, 0, &s), 0);
    assert_null(s.p);
    assert_int_equal(s.n, 0);
    assert_int_equal(sl_rd_skip(&r, 0), 0);
    assert_int_equal(r.off, 0);
}

/* Hand-written LEB128 encodings (protobuf's encoding guide examples). */
static void
test_uvarint_exact(void **state)
{
    (void)state;
    static const struct {
        uint8_t in[10];
        size_t n;
        uint64_t v;
    } cases[] = {
        {{0x00}, 1, 0},
        {{0x01}, 1, 1},
        {{0x7f}, 1, 127},
        {{0x80, 0x01}, 2, 128},
        {{0x96, 0x01}, 2, 150},
        {{0xac, 0x02}, 2, 300},
        {{0xff, 0xff, 0x03}, 3, 65535},
        {{0xff, 0xff, 0xff, 0xff, 0x0f}, 5, UINT32_MAX},
        {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, 9, INT64_MAX},
        {{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
         10,
         1ULL << 63},
        {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
         10,
         UINT64_MAX},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        /* Trailing bytes after the varint must not be consumed. */
        uint8_t buf[12];
        memcpy(buf, cases[i].in, cases[i].n);
        buf[cases[i].n] = 0xee;
        sl_rd r = rd_of(buf, cases[i].n + 1);
        uint64_t v = 0;
        assert_int_equal(sl_rd_uvarint(&r, &v), 0);
        assert_true(v == cases[i].v);
        assert_int_equal(r.off, cases[i].n);
    }
}

static void
test_uvarint_partial_and_overlong(void **state)
{
    (void)state;
    static const uint8_t cont[11] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                     0x80, 0x80, 0x80, 0x80, 0x01};
    /* Up to 10 continuation bytes with the input ending: need more. */
    for (size_t n = 0; n <= 9; n++) {
        sl_rd r = rd_of(cont, n);
        uint64_t v = 42;
        assert_int_equal(sl_rd_uvarint(&r, &v), SL_E_PARTIAL);
        assert_int_equal(r.off, 0);
        assert_true(v == 42);
    }
    /* Ten continuation bytes can never be a 64-bit value. */
    sl_rd r = rd_of(cont, 10);
    uint64_t v = 42;
    assert_int_equal(sl_rd_uvarint(&r, &v), SL_E_MALFORMED);
    r = rd_of(cont, 11);
    assert_int_equal(sl_rd_uvarint(&r, &v), SL_E_MALFORMED);
    assert_int_equal(r.off, 0);
    assert_true(v == 42);
}

/* Regression: a 10-byte varint whose last byte is above 1 carries bits past
 * bit 63; it used to be accepted with those bits silently dropped, so that
 * two different byte strings decoded to the same value. */
static void
test_uvarint_tenth_byte_overflow(void **state)
{
    (void)state;
    uint8_t in[10];
    memset(in, 0xff, 9);
    for (unsigned last = 0x02; last <= 0x7f; last++) {
        in[9] = (uint8_t)last;
        sl_rd r = rd_of(in, sizeof(in));
        uint64_t v = 42;
        int64_t l = 42;
        assert_int_equal(sl_rd_uvarint(&r, &v), SL_E_MALFORMED);
        assert_int_equal(sl_rd_varlong(&r, &l), SL_E_MALFORMED);
        assert_int_equal(r.off, 0);
        assert_true(v == 42 && l == 42);
    }
    in[9] = 0x01;
    sl_rd r = rd_of(in, sizeof(in));
    uint64_t v;
    assert_int_equal(sl_rd_uvarint(&r, &v), 0);
    assert_true(v == UINT64_MAX);
}

/* Kafka varint (ZigZag, 32 bits) encodings written out by hand. */
static void
test_varint_exact(void **state)
{
    (void)state;
    static const struct {
        uint8_t in[5];
        size_t n;
        int32_t v;
    } cases[] = {
        {{0x00}, 1, 0},
        {{0x01}, 1, -1},
        {{0x02}, 1, 1},
        {{0x03}, 1, -2},
        {{0x7f}, 1, -64},
        {{0x80, 0x01}, 2, 64},
        {{0xfe, 0xff, 0xff, 0xff, 0x0f}, 5, INT32_MAX},
        {{0xff, 0xff, 0xff, 0xff, 0x0f}, 5, INT32_MIN},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        sl_rd r = rd_of(cases[i].in, cases[i].n);
        int32_t v = 0;
        assert_int_equal(sl_rd_varint(&r, &v), 0);
        assert_int_equal(v, cases[i].v);
        assert_int_equal(r.off, cases[i].n);
    }
}

static void
test_varint_partial_and_overlong(void **state)
{
    (void)state;
    static const uint8_t cont[6] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    for (size_t n = 0; n <= 4; n++) {
        sl_rd r = rd_of(cont, n);
        int32_t v = 42;
        assert_int_equal(sl_rd_varint(&r, &v), SL_E_PARTIAL);
        assert_int_equal(r.off, 0);
        assert_int_equal(v, 42);
    }
    /* A sixth byte is never allowed, even when it would end the varint. */
    sl_rd r = rd_of(cont, 6);
    int32_t v = 42;
    assert_int_equal(sl_rd_varint(&r, &v), SL_E_MALFORMED);
    assert_int_equal(r.off, 0);
    /* Five bytes carrying more than 32 bits. */
    static const uint8_t big[5] = {0xff, 0xff, 0xff, 0xff, 0x1f};
    r = rd_of(big, 5);
    assert_int_equal(sl_rd_varint(&r, &v), SL_E_MALFORMED);
    static const uint8_t big2[5] = {0x80, 0x80, 0x80, 0x80, 0x10};
    r = rd_of(big2, 5);
    assert_int_equal(sl_rd_varint(&r, &v), SL_E_MALFORMED);
    assert_int_equal(r.off, 0);
    assert_int_equal(v, 42);
}

static void
test_varlong_exact(void **state)
{
    (void)state;
    static const struct {
        uint8_t in[10];
        size_t n;
        int64_t v;
    } cases[] = {
        {{0x00}, 1, 0},
        {{0x01}, 1, -1},
        {{0x02}, 1, 1},
        {{0xfe, 0xff, 0xff, 0xff, 0x0f}, 5, INT32_MAX},
        {{0xff, 0xff, 0xff, 0xff, 0x0f}, 5, INT32_MIN},
        {{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
         10,
         INT64_MAX},
        {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
         10,
         INT64_MIN},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        sl_rd r = rd_of(cases[i].in, cases[i].n);
        int64_t v = 0;
        assert_int_equal(sl_rd_varlong(&r, &v), 0);
        assert_true(v == cases[i].v);
        assert_int_equal(r.off, cases[i].n);
    }
    static const uint8_t cont[10] = {0x80, 0x80, 0x80, 0x80, 0x80,
                                     0x80, 0x80, 0x80, 0x80, 0x80};
    for (size_t n = 0; n <= 9; n++) {
        sl_rd r = rd_of(cont, n);
        int64_t v = 42;
        assert_int_equal(sl_rd_varlong(&r, &v), SL_E_PARTIAL);
        assert_int_equal(r.off, 0);
        assert_true(v == 42);
    }
    sl_rd r = rd_of(cont, 10);
    int64_t v = 42;
    assert_int_equal(sl_rd_varlong(&r, &v), SL_E_MALFORMED);
    assert_int_equal(r.off, 0);
    assert_true(v == 42);
}

/* Round trips through sl_buf_put_varint / sl_buf_put_uvarint, checking the
 * encoded length against sl_varint_len / sl_uvarint_len. */
static void
test_varint_round_trips(void **state)
{
    (void)state;
    static const int64_t v64[] = {
        0,
        1,
        -1,
        2,
        -2,
        63,
        -64,
        64,
        -65,
        8191,
        -8192,
        8192,
        INT16_MAX,
        INT16_MIN,
        INT32_MAX,
        INT32_MIN,
        (int64_t)INT32_MAX + 1,
        (int64_t)INT32_MIN - 1,
        INT64_MAX,
        INT64_MIN,
        INT64_MAX - 1,
        INT64_MIN + 1,
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(v64); i++) {
        sl_buf b;
        sl_buf_init(&b);
        assert_int_equal(sl_buf_put_varint(&b, v64[i]), 0);
        assert_int_equal(b.n, sl_varint_len(v64[i]));
        sl_rd r = rd_of(b.p, b.n);
        int64_t l;
        assert_int_equal(sl_rd_varlong(&r, &l), 0);
        assert_true(l == v64[i]);
        assert_int_equal(r.off, b.n);
        if (v64[i] >= INT32_MIN && v64[i] <= INT32_MAX) {
            int32_t x;
            sl_rd_init(&r, sl_slice_make(b.p, b.n));
            assert_int_equal(sl_rd_varint(&r, &x), 0);
            assert_int_equal(x, (int32_t)v64[i]);
            assert_true(b.n <= 5);
        } else {
            int32_t x = 7;
            sl_rd_init(&r, sl_slice_make(b.p, b.n));
            assert_int_equal(sl_rd_varint(&r, &x), SL_E_MALFORMED);
            assert_int_equal(x, 7);
        }
        sl_buf_fini(&b);
    }

    /* A sweep over every bit width, both signs, and the unsigned form. */
    for (int bit = 0; bit < 64; bit++) {
        uint64_t u = 1ULL << bit;
        uint64_t probes[] = {u - 1, u, u + 1, ~u};
        for (size_t j = 0; j < SL_ARRAY_LEN(probes); j++) {
            sl_buf b;
            sl_buf_init(&b);
            assert_int_equal(sl_buf_put_uvarint(&b, probes[j]), 0);
            assert_int_equal(b.n, sl_uvarint_len(probes[j]));
            int64_t s = (int64_t)probes[j];
            assert_int_equal(sl_buf_put_varint(&b, s), 0);
            sl_rd r = rd_of(b.p, b.n);
            uint64_t got;
            int64_t sgot;
            assert_int_equal(sl_rd_uvarint(&r, &got), 0);
            assert_true(got == probes[j]);
            assert_int_equal(r.off, sl_uvarint_len(probes[j]));
            assert_int_equal(sl_rd_varlong(&r, &sgot), 0);
            assert_true(sgot == s);
            assert_int_equal(sl_rd_left(&r), 0);
            sl_buf_fini(&b);
        }
    }
}

/* The writers' exact bytes for the zigzag edge values. */
static void
test_varint_edge_encodings(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    assert_int_equal(sl_buf_put_varint(&b, INT32_MIN), 0);
    static const uint8_t min32[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    assert_int_equal(b.n, sizeof(min32));
    assert_memory_equal(b.p, min32, sizeof(min32));
    sl_buf_reset(&b);
    assert_int_equal(sl_buf_put_varint(&b, INT64_MIN), 0);
    static const uint8_t min64[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(b.n, sizeof(min64));
    assert_memory_equal(b.p, min64, sizeof(min64));
    sl_buf_reset(&b);
    assert_int_equal(sl_buf_put_varint(&b, -1), 0);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.p[0], 0x01);
    assert_int_equal(sl_varint_len(INT64_MAX), 10);
    assert_int_equal(sl_varint_len(INT64_MIN), 10);
    assert_int_equal(sl_varint_len(0), 1);
    assert_int_equal(sl_varint_len(-64), 1);
    assert_int_equal(sl_varint_len(64), 2);
    assert_int_equal(sl_uvarint_len(UINT64_MAX), 10);
    assert_int_equal(sl_uvarint_len(127), 1);
    assert_int_equal(sl_uvarint_len(128), 2);
    sl_buf_fini(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_width_exact),
        cmocka_unit_test(test_signed_exact),
        cmocka_unit_test(test_fixed_width_partial),
        cmocka_unit_test(test_partial_mid_chain),
        cmocka_unit_test(test_bytes_and_skip),
        cmocka_unit_test(test_empty_slice),
        cmocka_unit_test(test_uvarint_exact),
        cmocka_unit_test(test_uvarint_partial_and_overlong),
        cmocka_unit_test(test_uvarint_tenth_byte_overflow),
        cmocka_unit_test(test_varint_exact),
        cmocka_unit_test(test_varint_partial_and_overlong),
        cmocka_unit_test(test_varlong_exact),
        cmocka_unit_test(test_varint_round_trips),
        cmocka_unit_test(test_varint_edge_encodings),
    };
    return cmocka_run_group_tests_name("sl_rd", tests, NULL, NULL);
}
