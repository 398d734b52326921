/*
 * sl_buf_test.c — owned growable buffers and the big-endian writers of
 * sl_base.h: growth keeps content, steal hands over storage, reset keeps
 * capacity, writers emit exact bytes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "sl_base.h"

static void
test_zero_is_empty(void **state)
{
    (void)state;
    sl_buf b = {0};
    assert_int_equal(b.n, 0);
    assert_int_equal(sl_buf_append(&b, "", 0), 0);
    assert_int_equal(b.n, 0);
    sl_buf_fini(&b);
    sl_buf_fini(&b); /* idempotent */
    sl_buf_fini(NULL);
    assert_null(b.p);
    assert_int_equal(b.cap, 0);
}

static void
test_growth_keeps_content(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    size_t last_cap = 0;
    int grows = 0;
    for (unsigned i = 0; i < 100000; i++) {
        uint8_t c = (uint8_t)(i * 31u);
        assert_int_equal(sl_buf_put_u8(&b, c), 0);
        assert_true(b.cap >= b.n);
        if (b.cap != last_cap) {
            grows++;
            last_cap = b.cap;
        }
    }
    assert_int_equal(b.n, 100000);
    /* Doubling growth: few reallocations for many appends. */
    assert_true(grows < 20);
    for (unsigned i = 0; i < 100000; i++)
        assert_int_equal(b.p[i], (uint8_t)(i * 31u));
    sl_buf_fini(&b);
}

static void
test_reserve_and_extend(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    assert_int_equal(sl_buf_reserve(&b, 1000), 0);
    assert_true(b.cap >= 1000);
    assert_int_equal(b.n, 0);
    uint8_t *p0 = b.p;
    size_t cap = b.cap;
    /* Within capacity: no reallocation. */
    uint8_t *p = sl_buf_extend(&b, 1000);
    assert_non_null(p);
    assert_ptr_equal(p, p0);
    assert_int_equal(b.cap, cap);
    assert_int_equal(b.n, 1000);
    memset(p, 0x5a, 1000);
    p = sl_buf_extend(&b, 24);
    assert_non_null(p);
    assert_ptr_equal(p, b.p + 1000);
    assert_int_equal(b.n, 1024);
    for (size_t i = 0; i < 1000; i++)
        assert_int_equal(b.p[i], 0x5a);
    /* An impossible size fails cleanly and leaves the buffer intact. */
    assert_int_equal(sl_buf_reserve(&b, SIZE_MAX), -ENOMEM);
    assert_int_equal(sl_buf_reserve(&b, SIZE_MAX - b.n), -ENOMEM);
    assert_null(sl_buf_extend(&b, SIZE_MAX / 2));
    assert_int_equal(sl_buf_append(&b, b.p, SIZE_MAX / 2), -ENOMEM);
    assert_int_equal(b.n, 1024);
    assert_int_equal(b.p[0], 0x5a);
    sl_buf_fini(&b);
}

/* Regression: extending an empty buffer by 0 bytes returned NULL, which
 * every caller reads as -ENOMEM, and did pointer arithmetic on NULL. */
static void
test_extend_zero(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    uint8_t *p = sl_buf_extend(&b, 0);
    assert_non_null(p);
    assert_int_equal(b.n, 0);
    assert_int_equal(sl_buf_put_u8(&b, 9), 0);
    p = sl_buf_extend(&b, 0);
    assert_ptr_equal(p, b.p + 1);
    assert_int_equal(b.n, 1);
    sl_buf_fini(&b);
}

static void
test_reset_keeps_capacity(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    assert_int_equal(sl_buf_append(&b, "hello", 5), 0);
    uint8_t *p = b.p;
    size_t cap = b.cap;
    sl_buf_reset(&b);
    assert_int_equal(b.n, 0);
    assert_ptr_equal(b.p, p);
    assert_int_equal(b.cap, cap);
    assert_int_equal(sl_buf_append(&b, "xy", 2), 0);
    assert_ptr_equal(b.p, p);
    assert_memory_equal(b.p, "xy", 2);
    sl_buf_fini(&b);
}

static void
test_steal(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    assert_int_equal(sl_buf_append(&b, "stolen", 6), 0);
    size_t n = 0;
    uint8_t *p = sl_buf_steal(&b, &n);
    assert_non_null(p);
    assert_int_equal(n, 6);
    assert_memory_equal(p, "stolen", 6);
    assert_null(b.p);
    assert_int_equal(b.n, 0);
    assert_int_equal(b.cap, 0);
    /* The emptied buffer is reusable; the stolen bytes are the caller's. */
    assert_int_equal(sl_buf_append(&b, "again", 5), 0);
    assert_true(b.p != p);
    free(p);
    /* n may be NULL. */
    p = sl_buf_steal(&b, NULL);
    assert_memory_equal(p, "again", 5);
    free(p);
    /* Stealing from an empty buffer gives NULL and length 0. */
    n = 99;
    assert_null(sl_buf_steal(&b, &n));
    assert_int_equal(n, 0);
    sl_buf_fini(&b);
}

static void
test_writers_exact(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    assert_int_equal(sl_buf_put_u8(&b, 0xab), 0);
    assert_int_equal(sl_buf_put_u16be(&b, 0x0102), 0);
    assert_int_equal(sl_buf_put_u32be(&b, 0x03040506u), 0);
    assert_int_equal(sl_buf_put_u64be(&b, 0x0708090a0b0c0d0eULL), 0);
    assert_int_equal(sl_buf_put_uvarint(&b, 300), 0);
    assert_int_equal(sl_buf_put_varint(&b, -3), 0);
    static const uint8_t want[] = {0xab, 0x01, 0x02, 0x03, 0x04, 0x05,
                                   0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
                                   0x0c, 0x0d, 0x0e, 0xac, 0x02, 0x05};
    assert_int_equal(b.n, sizeof(want));
    assert_memory_equal(b.p, want, sizeof(want));
    sl_buf_fini(&b);
}

static void
test_get_put_helpers(void **state)
{
    (void)state;
    uint8_t m[8];
    sl_put_u16be(m, 0xbeef);
    assert_int_equal(m[0], 0xbe);
    assert_int_equal(sl_get_u16be(m), 0xbeef);
    sl_put_u32be(m, 0xdeadbeefu);
    assert_int_equal(m[0], 0xde);
    assert_int_equal(m[3], 0xef);
    assert_int_equal(sl_get_u32be(m), 0xdeadbeefu);
    sl_put_u64be(m, 0x0123456789abcdefULL);
    assert_int_equal(m[0], 0x01);
    assert_int_equal(m[7], 0xef);
    assert_true(sl_get_u64be(m) == 0x0123456789abcdefULL);
}

static void
test_slices(void **state)
{
    (void)state;
    sl_slice s = sl_slice_str("abc");
    assert_int_equal(s.n, 3);
    assert_true(sl_slice_eq_str(s, "abc"));
    assert_false(sl_slice_eq_str(s, "ab"));
    assert_false(sl_slice_eq_str(s, "abd"));
    assert_false(sl_slice_eq_str(s, "abcd"));
    sl_slice e = sl_slice_str(NULL);
    assert_int_equal(e.n, 0);
    assert_true(sl_slice_eq_str(e, ""));
    assert_false(sl_slice_eq_str(e, "x"));
    assert_true(sl_slice_eq_str(sl_slice_make("abc", 0), ""));
}

static void
test_arena(void **state)
{
    (void)state;
    uint8_t mem[256];
    sl_arena a;
    sl_arena_init(&a, mem, sizeof(mem));
    uint8_t *x = sl_arena_alloc(&a, 3);
    assert_non_null(x);
    uint8_t *y = sl_arena_alloc(&a, 10);
    assert_non_null(y);
    assert_int_equal(((uintptr_t)y - (uintptr_t)mem) % 16, 0);
    assert_true(y >= x + 3);
    uint32_t *z = sl_arena_calloc(&a, 4, sizeof(uint32_t));
    assert_non_null(z);
    assert_int_equal(z[0] | z[1] | z[2] | z[3], 0);
    /* Full: NULL, and the arena is unchanged. */
    size_t used = a.used;
    assert_null(sl_arena_alloc(&a, sizeof(mem)));
    assert_int_equal(a.used, used);
    /* count * size overflow is refused, not wrapped. */
    assert_null(sl_arena_calloc(&a, SIZE_MAX / 2, 4));
    sl_arena_reset(&a);
    assert_non_null(sl_arena_alloc(&a, sizeof(mem)));
    assert_null(sl_arena_alloc(&a, 1));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_is_empty),
        cmocka_unit_test(test_growth_keeps_content),
        cmocka_unit_test(test_reserve_and_extend),
        cmocka_unit_test(test_extend_zero),
        cmocka_unit_test(test_reset_keeps_capacity),
        cmocka_unit_test(test_steal),
        cmocka_unit_test(test_writers_exact),
        cmocka_unit_test(test_get_put_helpers),
        cmocka_unit_test(test_slices),
        cmocka_unit_test(test_arena),
    };
    return cmocka_run_group_tests_name("sl_buf", tests, NULL, NULL);
}
