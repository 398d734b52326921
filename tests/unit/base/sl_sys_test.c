/*
 * sl_sys_test.c — checksums, clocks and the log sink of sl_base.h.
 *
 * sl_crc32c (ISA-L underneath) is checked against the standard check value
 * and against an independent bitwise CRC-32C written here, over every
 * length and alignment that exercises ISA-L's different code paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "sl_base.h"

/* CRC-32C, reflected polynomial 0x82F63B78, one bit at a time: slow and
 * obviously right, so it can judge the fast implementation. */
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

static void
test_crc32c_check_value(void **state)
{
    (void)state;
    assert_int_equal(sl_crc32c("123456789", 9), 0xe3069283u);
    assert_int_equal(ref_crc32c((const uint8_t *)"123456789", 9), 0xe3069283u);
    assert_int_equal(sl_crc32c("", 0), 0);
    assert_int_equal(sl_crc32c(NULL, 0), 0);
    /* RFC 3720 (iSCSI) B.4 vectors: 32 bytes of zeros, of 0xff. */
    uint8_t z[32];
    memset(z, 0, sizeof(z));
    assert_int_equal(sl_crc32c(z, sizeof(z)), 0x8a9136aau);
    memset(z, 0xff, sizeof(z));
    assert_int_equal(sl_crc32c(z, sizeof(z)), 0x62a8ab43u);
    for (int i = 0; i < 32; i++)
        z[i] = (uint8_t)i;
    assert_int_equal(sl_crc32c(z, sizeof(z)), 0x46dd794eu);
}

static void
test_crc32c_matches_reference(void **state)
{
    (void)state;
    enum { MAXN = 2048 + 64 };
    uint8_t *buf = malloc(MAXN + 16);
    assert_non_null(buf);
    uint32_t x = 0x12345678u;
    for (size_t i = 0; i < MAXN + 16; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    for (size_t align = 0; align < 8; align++) {
        for (size_t n = 0; n <= MAXN; n += (n < 300 ? 1 : 61)) {
            const uint8_t *p = buf + align;
            assert_int_equal(sl_crc32c(p, n), ref_crc32c(p, n));
        }
    }
    free(buf);
}

static void
test_crc32c_update_chains(void **state)
{
    (void)state;
    static const char msg[] = "The quick brown fox jumps over the lazy dog";
    size_t n = sizeof(msg) - 1;
    uint32_t whole = sl_crc32c(msg, n);
    assert_int_equal(whole, ref_crc32c((const uint8_t *)msg, n));
    for (size_t cut = 0; cut <= n; cut++) {
        uint32_t c = sl_crc32c(msg, cut);
        c = sl_crc32c_update(c, msg + cut, n - cut);
        assert_int_equal(c, whole);
    }
    /* Three pieces, and empty updates are no-ops. */
    uint32_t c = sl_crc32c_update(0, msg, 10);
    c = sl_crc32c_update(c, msg + 10, 0);
    c = sl_crc32c_update(c, msg + 10, 20);
    c = sl_crc32c_update(c, msg + 30, n - 30);
    assert_int_equal(c, whole);
    assert_int_equal(sl_crc32c_update(whole, "", 0), whole);
}

/* XXH3-64 with seed 0 of the empty input is a published constant. */
static void
test_xxh3(void **state)
{
    (void)state;
    assert_true(sl_xxh3("", 0) == 0x2d06800538d394c2ULL);
    assert_true(sl_xxh3("a", 1) != sl_xxh3("b", 1));
    assert_true(sl_xxh3("abc", 3) == sl_xxh3("abc", 3));
}

static void
test_clocks(void **state)
{
    (void)state;
    int64_t ms = sl_now_ms();
    /* After 2020-01-01 and before 2100-01-01. */
    assert_true(ms > 1577836800000LL);
    assert_true(ms < 4102444800000LL);
    uint64_t a = sl_mono_ns();
    usleep(2000);
    uint64_t b = sl_mono_ns();
    assert_true(b >= a + 1000000u);
}

static void
test_log_level_parse(void **state)
{
    (void)state;
    assert_int_equal(sl_log_level_parse("debug"), SL_LOG_DEBUG);
    assert_int_equal(sl_log_level_parse("INFO"), SL_LOG_INFO);
    assert_int_equal(sl_log_level_parse("warn"), SL_LOG_WARN);
    assert_int_equal(sl_log_level_parse("Error"), SL_LOG_ERROR);
    assert_int_equal(sl_log_level_parse("verbose"), -1);
    assert_int_equal(sl_log_level_parse(""), -1);
}

/* Run fn with stderr sent to a temporary file; return what it wrote. */
static char *
capture_stderr(void (*fn)(void), size_t *len)
{
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), 2) >= 0);
    fn();
    fflush(stderr);
    assert_true(dup2(saved, 2) >= 0);
    close(saved);
    /* sl_log wrote through fd 2, which shares the file offset. */
    off_t n = lseek(fileno(tmp), 0, SEEK_END);
    assert_true(n >= 0);
    char *out = calloc(1, (size_t)n + 1);
    assert_non_null(out);
    assert_true(pread(fileno(tmp), out, (size_t)n, 0) == (ssize_t)n);
    fclose(tmp);
    *len = (size_t)n;
    return out;
}

static void
log_some(void)
{
    sl_log_set_level(SL_LOG_INFO);
    sl_log(SL_LOG_DEBUG, "T-HIDDEN", "not shown");
    sl_log(SL_LOG_INFO, "T-SHOWN", "k=%d name=%s", 42, "x");
    sl_log(SL_LOG_ERROR, "T-ERR", "bad");
}

static void
log_long(void)
{
    char big[3000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    sl_log(SL_LOG_WARN, "T-LONG", "%s", big);
}

static void
test_log_lines(void **state)
{
    (void)state;
    size_t n;
    char *out = capture_stderr(log_some, &n);
    assert_null(strstr(out, "T-HIDDEN"));
    char *l1 = strstr(out, " INFO T-SHOWN k=42 name=x\n");
    assert_non_null(l1);
    assert_non_null(strstr(out, " ERROR T-ERR bad\n"));
    /* Line starts with an ISO-8601 UTC time with milliseconds. */
    assert_true(n > 24);
    assert_int_equal(out[4], '-');
    assert_int_equal(out[10], 'T');
    assert_int_equal(out[19], '.');
    assert_int_equal(out[23], 'Z');
    free(out);
    assert_int_equal(sl_log_level(), SL_LOG_INFO);

    /* An overlong message is cut but still one whole line. */
    out = capture_stderr(log_long, &n);
    assert_true(n > 100 && n < 1024);
    assert_int_equal(out[n - 1], '\n');
    assert_null(memchr(out, '\n', n - 1));
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_check_value),
        cmocka_unit_test(test_crc32c_matches_reference),
        cmocka_unit_test(test_crc32c_update_chains),
        cmocka_unit_test(test_xxh3),
        cmocka_unit_test(test_clocks),
        cmocka_unit_test(test_log_level_parse),
        cmocka_unit_test(test_log_lines),
    };
    return cmocka_run_group_tests_name("sl_sys", tests, NULL, NULL);
}
