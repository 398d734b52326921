/*
 * sl_err_test.c — sl_strerror() and sl_errname() for success, every project
 * code of the SL_ERRORS list, errno values and unknown codes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sl_base.h"

static void
test_success(void **state)
{
    (void)state;
    assert_string_equal(sl_strerror(0), "success");
    assert_string_equal(sl_errname(0), "OK");
}

/* Every project code has its own text and its own SL_E_ name, and all sit
 * below -10000 so they never collide with -errno. */
static void
test_project_codes(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *name;
        const char *text;
    } codes[] = {
#define X(name, text) {SL_E_##name, "SL_E_" #name, text},
        SL_ERRORS(X)
#undef X
    };
    assert_int_equal(SL_ARRAY_LEN(codes), SL_E_END_ - SL_E_BASE_ - 1);
    for (size_t i = 0; i < SL_ARRAY_LEN(codes); i++) {
        assert_true(codes[i].code < -10000);
        assert_string_equal(sl_strerror(codes[i].code), codes[i].text);
        assert_string_equal(sl_errname(codes[i].code), codes[i].name);
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(codes[i].code, codes[j].code);
            assert_string_not_equal(sl_strerror(codes[i].code),
                                    sl_strerror(codes[j].code));
        }
    }
    assert_string_equal(sl_strerror(SL_E_PARTIAL), "need more bytes");
    assert_string_equal(sl_errname(SL_E_CRC), "SL_E_CRC");
    assert_string_equal(sl_errname(SL_E_MALFORMED), "SL_E_MALFORMED");
}

static void
test_errno_codes(void **state)
{
    (void)state;
    assert_string_equal(sl_strerror(-ENOENT), strerror(ENOENT));
    assert_string_equal(sl_strerror(-ENOSPC), strerror(ENOSPC));
    assert_string_equal(sl_strerror(-EPIPE), strerror(EPIPE));
    static const struct {
        int code;
        const char *name;
    } named[] = {
        {-ENOENT, "ENOENT"}, {-ENOMEM, "ENOMEM"}, {-EIO, "EIO"},
        {-ENOSPC, "ENOSPC"}, {-EINVAL, "EINVAL"}, {-EEXIST, "EEXIST"},
        {-EACCES, "EACCES"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(named); i++)
        assert_string_equal(sl_errname(named[i].code), named[i].name);
}

/* Codes that are neither ours nor errno still get a non-NULL text. */
static void
test_unknown_codes(void **state)
{
    (void)state;
    static const int odd[] = {1,          12345,     -5000,  -10000,
                              SL_E_BASE_, SL_E_END_, -20000, INT32_MIN};
    for (size_t i = 0; i < SL_ARRAY_LEN(odd); i++) {
        assert_non_null(sl_strerror(odd[i]));
        assert_non_null(sl_errname(odd[i]));
    }
    assert_string_equal(sl_strerror(12345), "unknown error");
    assert_string_equal(sl_strerror(SL_E_BASE_), "unknown error");
    assert_string_equal(sl_strerror(SL_E_END_), "unknown error");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success),
        cmocka_unit_test(test_project_codes),
        cmocka_unit_test(test_errno_codes),
        cmocka_unit_test(test_unknown_codes),
    };
    return cmocka_run_group_tests_name("sl_err", tests, NULL, NULL);
}
