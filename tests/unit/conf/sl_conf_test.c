/*
 * sl_conf_test.c — the `key = value` parser, integer suffixes, the typed
 * setters with ranges and choices, and file/override loading with errors
 * that name file, line, key, value and why.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sl_conf.h"

/* ---- parser ----------------------------------------------------------- */

typedef struct seen {
    int n;
    char key[16][64];
    char value[16][256];
    int line[16];
    int stop_at; /* return -7 from the callback at this call, 0 = never */
} seen;

static int
collect(void *arg, sl_slice key, sl_slice value, int line)
{
    seen *s = arg;
    assert_true(s->n < 16);
    assert_true(key.n < 64 && value.n < 256);
    memcpy(s->key[s->n], key.p, key.n);
    s->key[s->n][key.n] = 0;
    if (value.n)
        memcpy(s->value[s->n], value.p, value.n);
    s->value[s->n][value.n] = 0;
    s->line[s->n] = line;
    s->n++;
    if (s->stop_at && s->n == s->stop_at)
        return -7;
    return 0;
}

static int
parse(const char *text, seen *s, int *err_line)
{
    memset(s, 0, sizeof(*s));
    return sl_conf_parse(sl_slice_str(text), collect, s, err_line);
}

static void
test_parse_basic(void **state)
{
    (void)state;
    seen s;
    int line = -1;
    const char *text = "# a comment\n"
                       "\n"
                       "data.dir = /var/lib/sluice\n"
                       "   # indented comment\n"
                       "\t  segment.bytes\t=  1G  \n"
                       "fsync=batch\r\n"
                       "empty.value =\n"
                       "with.eq = a=b # not a comment\n"
                       "   \t\r\n"
                       "last-key_2 = tail";
    assert_int_equal(parse(text, &s, &line), 0);
    assert_int_equal(line, -1); /* untouched on success */
    assert_int_equal(s.n, 6);
    assert_string_equal(s.key[0], "data.dir");
    assert_string_equal(s.value[0], "/var/lib/sluice");
    assert_int_equal(s.line[0], 3);
    assert_string_equal(s.key[1], "segment.bytes");
    assert_string_equal(s.value[1], "1G");
    assert_int_equal(s.line[1], 5);
    assert_string_equal(s.key[2], "fsync");
    assert_string_equal(s.value[2], "batch");
    assert_int_equal(s.line[2], 6);
    assert_string_equal(s.key[3], "empty.value");
    assert_string_equal(s.value[3], "");
    assert_string_equal(s.key[4], "with.eq");
    assert_string_equal(s.value[4], "a=b # not a comment");
    /* The last line has no newline. */
    assert_string_equal(s.key[5], "last-key_2");
    assert_string_equal(s.value[5], "tail");
    assert_int_equal(s.line[5], 10);
}

static void
test_parse_last_line_without_newline(void **state)
{
    (void)state;
    seen s;
    assert_int_equal(parse("a = 1\nb = 2", &s, NULL), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.value[1], "2");
    assert_int_equal(s.line[1], 2);
    assert_int_equal(parse("", &s, NULL), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(parse("\n\n\n", &s, NULL), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(sl_conf_parse(sl_slice_make(NULL, 0), collect, &s, NULL),
                     0);
}

static void
test_parse_errors_have_lines(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int line;
    } bad[] = {
        {"no equals sign\n", 1},
        {"a = 1\n\n# c\nnot a pair\nb = 2\n", 4},
        {"a = 1\n = value without key\n", 2},
        {"Upper = 1\n", 1},
        {"a b = 1\n", 1},
        {"a = 1\r\nkey/slash = 2\r\n", 2},
        {"k\xc3\xa9y = 1\n", 1},
        {"a = 1\nb = 2\nc\n", 3},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        seen s;
        int line = 0;
        assert_int_equal(parse(bad[i].text, &s, &line), SL_E_MALFORMED);
        if (line != bad[i].line)
            fail_msg("case %zu: line %d, want %d", i, line, bad[i].line);
    }
    /* err_line may be NULL. */
    seen s;
    assert_int_equal(parse("oops\n", &s, NULL), SL_E_MALFORMED);
}

static int
count_only(void *arg, sl_slice key, sl_slice value, int line)
{
    (void)key;
    (void)value;
    (void)line;
    (*(int *)arg)++;
    return 0;
}

static void
test_parse_key_rules(void **state)
{
    (void)state;
    char text[256];
    char key[130];
    int n = 0, line = 0;
    /* 128 characters is the longest legal key; 129 is too long. */
    memset(key, 'k', 128);
    key[128] = 0;
    snprintf(text, sizeof(text), "%s = 1\n", key);
    assert_int_equal(sl_conf_parse(sl_slice_str(text), count_only, &n, &line),
                     0);
    assert_int_equal(n, 1);
    key[128] = 'k';
    key[129] = 0;
    snprintf(text, sizeof(text), "a = 1\n%s = 1\n", key);
    assert_int_equal(sl_conf_parse(sl_slice_str(text), count_only, &n, &line),
                     SL_E_MALFORMED);
    assert_int_equal(line, 2);
    seen s;
    assert_int_equal(parse("a.b-c_d.0123456789 = x\n", &s, NULL), 0);
    assert_string_equal(s.key[0], "a.b-c_d.0123456789");
}

static void
check_long_line(size_t content, const char *eol, int want_rc)
{
    size_t cap = content + 32;
    char *text = calloc(1, cap);
    assert_non_null(text);
    strcpy(text, "a = 1\nk = ");
    memset(text + 10, 'v', content - 4);
    strcpy(text + 10 + content - 4, eol);
    strcat(text, "b = 2\n");
    int n = 0, line = 0;
    int rc = sl_conf_parse(sl_slice_str(text), count_only, &n, &line);
    assert_int_equal(rc, want_rc);
    if (want_rc == 0)
        assert_int_equal(n, 3);
    else
        assert_int_equal(line, 2);
    free(text);
}

static void
test_parse_overlong_lines(void **state)
{
    (void)state;
    check_long_line(SL_CONF_MAX_LINE, "\n", 0);
    check_long_line(SL_CONF_MAX_LINE + 1, "\n", SL_E_MALFORMED);
    /* Regression: the CR of a CRLF line counted against the limit, so a
     * CRLF file could not hold a line its LF twin could. */
    check_long_line(SL_CONF_MAX_LINE, "\r\n", 0);
    check_long_line(SL_CONF_MAX_LINE + 1, "\r\n", SL_E_MALFORMED);
    /* An overlong comment line is still an overlong line. */
    char *text = malloc(SL_CONF_MAX_LINE + 8);
    assert_non_null(text);
    text[0] = '#';
    memset(text + 1, 'c', SL_CONF_MAX_LINE);
    text[SL_CONF_MAX_LINE + 1] = '\n';
    int n = 0, line = 0;
    assert_int_equal(sl_conf_parse(sl_slice_make(text, SL_CONF_MAX_LINE + 2),
                                   count_only, &n, &line),
                     SL_E_MALFORMED);
    assert_int_equal(line, 1);
    free(text);
}

static void
test_parse_callback_stops(void **state)
{
    (void)state;
    seen s;
    memset(&s, 0, sizeof(s));
    s.stop_at = 2;
    int line = 0;
    int rc = sl_conf_parse(sl_slice_str("a = 1\nb = 2\nc = 3\n"), collect, &s,
                           &line);
    assert_int_equal(rc, -7);
    assert_int_equal(s.n, 2);
}

/* ---- integers --------------------------------------------------------- */

static void
test_parse_i64(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int64_t v;
    } ok[] = {
        {"0", 0},
        {"42", 42},
        {"-17", -17},
        {"+5", 5},
        {"1k", 1024},
        {"1K", 1024},
        {"3KiB", 3072},
        {"3kib", 3072},
        {"2KB", 2048},
        {"1m", 1048576},
        {"64M", 64 * 1048576LL},
        {"1MiB", 1048576},
        {"1g", 1073741824LL},
        {"2G", 2147483648LL},
        {"8GiB", 8589934592LL},
        {"-1k", -1024},
        {"9223372036854775807", INT64_MAX},
        {"-9223372036854775808", INT64_MIN},
        {"8589934591G", 8589934591LL * 1073741824LL},
        {"-8589934592G", INT64_MIN},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(ok); i++) {
        int64_t v = 0;
        int rc = sl_conf_parse_i64(sl_slice_str(ok[i].in), &v);
        if (rc != 0 || v != ok[i].v)
            fail_msg("'%s': rc %d v %lld", ok[i].in, rc, (long long)v);
    }
    static const char *const bad[] = {
        "",
        "k",
        "-",
        "1.5",
        "0x10",
        "12 ",
        "1 k",
        "1kk",
        "1KiBx",
        "1ki",
        "1t",
        "1T",
        "ten",
        "9223372036854775808",
        "-9223372036854775809",
        "8589934592G",
        "-8589934593G",
        "9007199254740992k",
        "99999999999999999999999999999999",
        "1234567890123456789012345678901234567890123456789012345678901234",
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        int64_t v = 99;
        int rc = sl_conf_parse_i64(sl_slice_str(bad[i]), &v);
        if (rc != SL_E_INVAL || v != 99)
            fail_msg("'%s' accepted: rc %d v %lld", bad[i], rc, (long long)v);
    }
}

/* Regression: a NUL inside the slice ended strtoll's view early, so
 * "12\0junk" parsed as 12. */
static void
test_parse_i64_embedded_nul(void **state)
{
    (void)state;
    int64_t v = 99;
    assert_int_equal(sl_conf_parse_i64(sl_slice_make("12\0junk", 7), &v),
                     SL_E_INVAL);
    assert_int_equal(sl_conf_parse_i64(sl_slice_make("1k\0", 3), &v),
                     SL_E_INVAL);
    assert_true(v == 99);
    /* The slice bounds the number even without a NUL after it. */
    assert_int_equal(sl_conf_parse_i64(sl_slice_make("123456", 3), &v), 0);
    assert_true(v == 123);
}

/* ---- typed settings ---------------------------------------------------- */

typedef struct settings {
    int64_t seg_bytes;
    int64_t small;
    int flag;
    char name[SL_CONF_STR_MAX];
    int mode;
} settings;

static const char *const modes[] = {"batch", "interval", "never", NULL};

static const sl_conf_key tab[] = {
    {"segment.bytes", SL_CONF_I64, offsetof(settings, seg_bytes), 4096,
     INT64_C(1) << 40, "1G", 0, NULL, "segment size"},
    {"small", SL_CONF_I64, offsetof(settings, small), -10, 10, "-3", 1, NULL,
     "a small signed range"},
    {"flag", SL_CONF_BOOL, offsetof(settings, flag), 0, 1, "on", 1, NULL,
     "a boolean"},
    {"name", SL_CONF_STR, offsetof(settings, name), 0, 0, "sluice", 0, NULL,
     "a string"},
    {"fsync", SL_CONF_ENUM, offsetof(settings, mode), 0, 0, "batch", 0, modes,
     "an enum"},
};
#define NTAB SL_ARRAY_LEN(tab)

static const sl_conf_key *
key_named(const char *name)
{
    const sl_conf_key *k = sl_conf_find(tab, NTAB, sl_slice_str(name));
    assert_non_null(k);
    return k;
}

static void
test_find(void **state)
{
    (void)state;
    assert_ptr_equal(sl_conf_find(tab, NTAB, sl_slice_str("flag")), &tab[2]);
    assert_null(sl_conf_find(tab, NTAB, sl_slice_str("fla")));
    assert_null(sl_conf_find(tab, NTAB, sl_slice_str("flags")));
    assert_null(sl_conf_find(tab, NTAB, sl_slice_str("")));
    assert_null(sl_conf_find(tab, 0, sl_slice_str("flag")));
}

static void
test_defaults_and_format(void **state)
{
    (void)state;
    settings st;
    memset(&st, 0xa5, sizeof(st));
    sl_conf_defaults(tab, NTAB, &st);
    assert_true(st.seg_bytes == INT64_C(1) << 30);
    assert_true(st.small == -3);
    assert_int_equal(st.flag, 1);
    assert_string_equal(st.name, "sluice");
    assert_int_equal(st.mode, 0);
    /* Every default is valid: setting it through sl_conf_set succeeds. */
    for (size_t i = 0; i < NTAB; i++) {
        char err[128] = "";
        assert_int_equal(
            sl_conf_set(&tab[i], &st, sl_slice_str(tab[i].def), err, 128), 0);
    }
    char out[64];
    sl_conf_format(key_named("segment.bytes"), &st, out, sizeof(out));
    assert_string_equal(out, "1073741824");
    sl_conf_format(key_named("small"), &st, out, sizeof(out));
    assert_string_equal(out, "-3");
    sl_conf_format(key_named("flag"), &st, out, sizeof(out));
    assert_string_equal(out, "true");
    sl_conf_format(key_named("name"), &st, out, sizeof(out));
    assert_string_equal(out, "sluice");
    sl_conf_format(key_named("fsync"), &st, out, sizeof(out));
    assert_string_equal(out, "batch");
    /* Formatting then setting gives the same value back. */
    for (size_t i = 0; i < NTAB; i++) {
        settings again = st;
        sl_conf_format(&tab[i], &st, out, sizeof(out));
        assert_int_equal(
            sl_conf_set(&tab[i], &again, sl_slice_str(out), NULL, 0), 0);
        assert_memory_equal(&again, &st, sizeof(st));
    }
}

static void
expect_set(const char *key, const char *value, int want_rc,
           const char *want_err)
{
    settings st;
    memset(&st, 0, sizeof(st));
    settings before = st;
    char err[512] = "";
    int rc =
        sl_conf_set(key_named(key), &st, sl_slice_str(value), err, sizeof(err));
    if (rc != want_rc)
        fail_msg("%s=%s: rc %d, want %d (%s)", key, value, rc, want_rc, err);
    if (want_err)
        assert_string_equal(err, want_err);
    if (rc != 0)
        assert_memory_equal(&st, &before, sizeof(st)); /* untouched */
}

static void
test_set_i64(void **state)
{
    (void)state;
    settings st;
    memset(&st, 0, sizeof(st));
    assert_int_equal(sl_conf_set(key_named("segment.bytes"), &st,
                                 sl_slice_str("256M"), NULL, 0),
                     0);
    assert_true(st.seg_bytes == 256 * 1048576LL);
    assert_int_equal(
        sl_conf_set(key_named("small"), &st, sl_slice_str("-10"), NULL, 0), 0);
    assert_true(st.small == -10);
    assert_int_equal(
        sl_conf_set(key_named("small"), &st, sl_slice_str("10"), NULL, 0), 0);
    assert_true(st.small == 10);
    expect_set("segment.bytes", "4096", 0, NULL);
    expect_set("segment.bytes", "1024G", 0, NULL);
    expect_set("segment.bytes", "4095", SL_E_INVAL,
               "segment.bytes=4095: out of range [4096, 1099511627776]");
    expect_set("segment.bytes", "1025G", SL_E_INVAL, NULL);
    expect_set("small", "11", SL_E_INVAL, "small=11: out of range [-10, 10]");
    expect_set("small", "-11", SL_E_INVAL, NULL);
    expect_set("small", "1k", SL_E_INVAL, NULL);
    expect_set("small", "five", SL_E_INVAL, "small=five: not an integer");
    expect_set("small", "", SL_E_INVAL, "small=: not an integer");
}

static void
test_set_bool(void **state)
{
    (void)state;
    static const char *const yes[] = {"true", "1", "yes", "on", "TRUE", "On"};
    static const char *const no[] = {"false", "0", "no", "off", "False", "NO"};
    for (size_t i = 0; i < SL_ARRAY_LEN(yes); i++) {
        settings st = {.flag = 0};
        assert_int_equal(
            sl_conf_set(key_named("flag"), &st, sl_slice_str(yes[i]), NULL, 0),
            0);
        assert_int_equal(st.flag, 1);
        assert_int_equal(
            sl_conf_set(key_named("flag"), &st, sl_slice_str(no[i]), NULL, 0),
            0);
        assert_int_equal(st.flag, 0);
    }
    expect_set("flag", "maybe", SL_E_INVAL,
               "flag=maybe: not a boolean (true/false)");
    expect_set("flag", "", SL_E_INVAL, NULL);
    expect_set("flag", "truex", SL_E_INVAL, NULL);
    expect_set("flag", "tru", SL_E_INVAL, NULL);
    expect_set("flag", "2", SL_E_INVAL, NULL);
}

static void
test_set_str(void **state)
{
    (void)state;
    settings st;
    memset(&st, 'x', sizeof(st));
    assert_int_equal(
        sl_conf_set(key_named("name"), &st, sl_slice_str("a b c"), NULL, 0), 0);
    assert_string_equal(st.name, "a b c");
    assert_int_equal(
        sl_conf_set(key_named("name"), &st, sl_slice_make(NULL, 0), NULL, 0),
        0);
    assert_string_equal(st.name, "");
    char longest[SL_CONF_STR_MAX];
    memset(longest, 'l', sizeof(longest));
    assert_int_equal(sl_conf_set(key_named("name"), &st,
                                 sl_slice_make(longest, SL_CONF_STR_MAX - 1),
                                 NULL, 0),
                     0);
    assert_int_equal(strlen(st.name), SL_CONF_STR_MAX - 1);
    char err[512];
    assert_int_equal(sl_conf_set(key_named("name"), &st,
                                 sl_slice_make(longest, SL_CONF_STR_MAX), err,
                                 sizeof(err)),
                     SL_E_INVAL);
    assert_non_null(strstr(err, ": too long"));
    /* The error quotes at most 200 bytes of the value. */
    assert_true(strlen(err) < 200 + 32);
}

/* Regression: a value with a NUL byte was stored cut short at the NUL. */
static void
test_set_str_embedded_nul(void **state)
{
    (void)state;
    settings st;
    strcpy(st.name, "kept");
    char err[128];
    assert_int_equal(sl_conf_set(key_named("name"), &st,
                                 sl_slice_make("ab\0cd", 5), err, sizeof(err)),
                     SL_E_INVAL);
    assert_string_equal(st.name, "kept");
    assert_non_null(strstr(err, "contains a NUL byte"));
}

static void
test_set_enum(void **state)
{
    (void)state;
    settings st = {.mode = -1};
    for (int i = 0; modes[i] != NULL; i++) {
        assert_int_equal(sl_conf_set(key_named("fsync"), &st,
                                     sl_slice_str(modes[i]), NULL, 0),
                         0);
        assert_int_equal(st.mode, i);
    }
    expect_set("fsync", "always", SL_E_INVAL,
               "fsync=always: not one of the allowed values");
    expect_set("fsync", "Batch", SL_E_INVAL, NULL);
    expect_set("fsync", "batc", SL_E_INVAL, NULL);
    expect_set("fsync", "", SL_E_INVAL, NULL);
}

/* Regression: an empty value given as {NULL, 0} reached printf's %.*s as a
 * NULL pointer in the error message (undefined). */
static void
test_set_error_with_null_value(void **state)
{
    (void)state;
    settings st;
    char err[128] = "";
    assert_int_equal(sl_conf_set(key_named("small"), &st,
                                 sl_slice_make(NULL, 0), err, sizeof(err)),
                     SL_E_INVAL);
    assert_string_equal(err, "small=: not an integer");
    /* err may be NULL or zero-sized. */
    assert_int_equal(
        sl_conf_set(key_named("small"), &st, sl_slice_str("x"), NULL, 0),
        SL_E_INVAL);
    assert_int_equal(
        sl_conf_set(key_named("small"), &st, sl_slice_str("x"), err, 0),
        SL_E_INVAL);
}

/* ---- files and overrides ----------------------------------------------- */

static char tmpdir[512];

static int
setup_tmp(void **state)
{
    (void)state;
    const char *base = getenv("SL_TEST_TMP");
    if (base == NULL || *base == 0)
        base = "/tmp";
    mkdir(base, 0777); /* ctest's SL_TEST_TMP may not exist yet */
    snprintf(tmpdir, sizeof(tmpdir), "%s/sl_conf_test.XXXXXX", base);
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_tmp(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *
write_file(const char *name, const char *text)
{
    static char path[600];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    return path;
}

static void
test_load_file_ok(void **state)
{
    (void)state;
    const char *path = write_file("ok.conf", "# sluice\r\n"
                                             "segment.bytes = 64M\r\n"
                                             "flag = off\r\n"
                                             "name = my broker\r\n"
                                             "fsync = never\r\n"
                                             "small = 1\r\n"
                                             "small = -2\r\n");
    settings st;
    sl_conf_defaults(tab, NTAB, &st);
    char err[512] = "";
    assert_int_equal(sl_conf_load_file(tab, NTAB, &st, path, err, sizeof(err)),
                     0);
    assert_string_equal(err, "");
    assert_true(st.seg_bytes == 64 * 1048576LL);
    assert_int_equal(st.flag, 0);
    assert_string_equal(st.name, "my broker");
    assert_int_equal(st.mode, 2);
    assert_true(st.small == -2); /* the last assignment wins */
}

static void
test_load_file_errors(void **state)
{
    (void)state;
    settings st;
    sl_conf_defaults(tab, NTAB, &st);
    char err[512];
    char want[700];

    /* Regression: an unknown key did not name its value as the header
     * promises ("file:line: key=value: why"). */
    const char *path =
        write_file("unknown.conf", "flag = on\n\nsegmnt.bytes = 1G\n");
    assert_int_equal(sl_conf_load_file(tab, NTAB, &st, path, err, sizeof(err)),
                     SL_E_INVAL);
    snprintf(want, sizeof(want), "%s:3: segmnt.bytes=1G: unknown key", path);
    assert_string_equal(err, want);

    path = write_file("badval.conf", "# x\nflag = on\nsmall = 99\n");
    assert_int_equal(sl_conf_load_file(tab, NTAB, &st, path, err, sizeof(err)),
                     SL_E_INVAL);
    snprintf(want, sizeof(want), "%s:3: small=99: out of range [-10, 10]",
             path);
    assert_string_equal(err, want);

    path = write_file("badenum.conf", "fsync = sometimes\n");
    assert_int_equal(sl_conf_load_file(tab, NTAB, &st, path, err, sizeof(err)),
                     SL_E_INVAL);
    snprintf(want, sizeof(want),
             "%s:1: fsync=sometimes: not one of the allowed values", path);
    assert_string_equal(err, want);

    path = write_file("syntax.conf", "flag = on\njust words\n");
    assert_int_equal(sl_conf_load_file(tab, NTAB, &st, path, err, sizeof(err)),
                     SL_E_MALFORMED);
    snprintf(want, sizeof(want), "%s:2: expected 'key = value'", path);
    assert_string_equal(err, want);

    char missing[600];
    snprintf(missing, sizeof(missing), "%s/does-not-exist.conf", tmpdir);
    assert_int_equal(
        sl_conf_load_file(tab, NTAB, &st, missing, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "does-not-exist.conf: "));
}

/* Regression: a directory opens fine with fopen() and then fails to read;
 * the read error was ignored and the "file" loaded as empty, success. */
static void
test_load_file_directory(void **state)
{
    (void)state;
    settings st;
    sl_conf_defaults(tab, NTAB, &st);
    char err[512] = "";
    int rc = sl_conf_load_file(tab, NTAB, &st, tmpdir, err, sizeof(err));
    assert_true(rc < 0);
    assert_non_null(strstr(err, tmpdir));
}

static void
test_load_file_too_big(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof(path), "%s/big.conf", tmpdir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    char line[64];
    memset(line, '#', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\n';
    for (int i = 0; i < (1 << 20) / 64 + 1; i++)
        assert_int_equal(fwrite(line, 1, sizeof(line), f), sizeof(line));
    assert_int_equal(fclose(f), 0);
    settings st;
    char err[512];
    assert_int_equal(sl_conf_load_file(tab, NTAB, &st, path, err, sizeof(err)),
                     SL_E_TOOBIG);
    assert_non_null(strstr(err, "larger than 1 MiB"));
}

static void
test_apply_kv(void **state)
{
    (void)state;
    settings st;
    sl_conf_defaults(tab, NTAB, &st);
    char err[512] = "";
    assert_int_equal(sl_conf_apply_kv(tab, NTAB, &st, "small=7", err, 512), 0);
    assert_true(st.small == 7);
    assert_int_equal(
        sl_conf_apply_kv(tab, NTAB, &st, "  name =  spaced out  ", err, 512),
        0);
    assert_string_equal(st.name, "spaced out");
    assert_int_equal(sl_conf_apply_kv(tab, NTAB, &st, "name=", err, 512), 0);
    assert_string_equal(st.name, "");
    assert_int_equal(sl_conf_apply_kv(tab, NTAB, &st, "name=a=b", err, 512), 0);
    assert_string_equal(st.name, "a=b");

    assert_int_equal(sl_conf_apply_kv(tab, NTAB, &st, "small", err, 512),
                     SL_E_INVAL);
    assert_string_equal(err, "'small': expected key=value");
    assert_int_equal(sl_conf_apply_kv(tab, NTAB, &st, "nope=1", err, 512),
                     SL_E_INVAL);
    assert_string_equal(err, "nope=1: unknown key");
    assert_int_equal(sl_conf_apply_kv(tab, NTAB, &st, "small=11", err, 512),
                     SL_E_INVAL);
    assert_string_equal(err, "small=11: out of range [-10, 10]");
    assert_true(st.small == 7);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_basic),
        cmocka_unit_test(test_parse_last_line_without_newline),
        cmocka_unit_test(test_parse_errors_have_lines),
        cmocka_unit_test(test_parse_key_rules),
        cmocka_unit_test(test_parse_overlong_lines),
        cmocka_unit_test(test_parse_callback_stops),
        cmocka_unit_test(test_parse_i64),
        cmocka_unit_test(test_parse_i64_embedded_nul),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_defaults_and_format),
        cmocka_unit_test(test_set_i64),
        cmocka_unit_test(test_set_bool),
        cmocka_unit_test(test_set_str),
        cmocka_unit_test(test_set_str_embedded_nul),
        cmocka_unit_test(test_set_enum),
        cmocka_unit_test(test_set_error_with_null_value),
        cmocka_unit_test(test_load_file_ok),
        cmocka_unit_test(test_load_file_errors),
        cmocka_unit_test(test_load_file_directory),
        cmocka_unit_test(test_load_file_too_big),
        cmocka_unit_test(test_apply_kv),
    };
    return cmocka_run_group_tests_name("sl_conf", tests, setup_tmp,
                                       teardown_tmp);
}
