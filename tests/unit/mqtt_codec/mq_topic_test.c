/*
 * mq_topic_test.c — MQTT UTF-8 rules, topic name and filter validation,
 * shared subscription parsing and the topic matcher, each case tagged
 * with the conformance statement it checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mq_codec.h"

/* Run f on a heap copy of exactly n bytes, so over-reads trip ASan. */
static sl_slice
heap(const char *s, size_t n, void **keep)
{
    void *p = malloc(n ? n : 1);
    assert_non_null(p);
    memcpy(p, s, n);
    *keep = p;
    return sl_slice_make(p, n);
}

static void
test_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t n;
        int plain, strict;
        const char *tag;
    } t[] = {
        {"", 0, 0, 0, "empty"},
        {"abc/def", 7, 0, 0, "ASCII"},
        {"\xc3\xa9", 2, 0, 0, "U+00E9"},
        {"\xe2\x82\xac", 3, 0, 0, "U+20AC"},
        {"\xf0\x9f\x98\x80", 4, 0, 0, "U+1F600"},
        {"\xf4\x8f\xbf\xbd", 4, 0, 0, "U+10FFFD"},
        {"\xef\xbb\xbf", 3, 0, 0, "[MQTT-1.5.4-3] BOM is a character"},
        {"a\0b", 3, -1, -1, "[MQTT-1.5.4-2] U+0000"},
        {"\xed\xa0\x80", 3, -1, -1, "[MQTT-1.5.4-1] U+D800 surrogate"},
        {"\xed\xbf\xbf", 3, -1, -1, "[MQTT-1.5.4-1] U+DFFF surrogate"},
        {"\xed\x9f\xbf", 3, 0, 0, "U+D7FF is fine"},
        {"\xc0\x80", 2, -1, -1, "[MQTT-1.5.4-1] overlong U+0000"},
        {"\xc1\xbf", 2, -1, -1, "[MQTT-1.5.4-1] overlong"},
        {"\xe0\x9f\xbf", 3, -1, -1, "[MQTT-1.5.4-1] overlong 3-byte"},
        {"\xf0\x8f\xbf\xbf", 4, -1, -1, "[MQTT-1.5.4-1] overlong 4-byte"},
        {"\xf4\x90\x80\x80", 4, -1, -1, "[MQTT-1.5.4-1] above U+10FFFF"},
        {"\xf5\x80\x80\x80", 4, -1, -1, "[MQTT-1.5.4-1] F5 lead byte"},
        {"\x80", 1, -1, -1, "[MQTT-1.5.4-1] lone continuation"},
        {"\xc3", 1, -1, -1, "[MQTT-1.5.4-1] truncated"},
        {"\xe2\x82", 2, -1, -1, "[MQTT-1.5.4-1] truncated"},
        {"\xe2\x28\xa1", 3, -1, -1, "[MQTT-1.5.4-1] bad continuation"},
        {"\xff", 1, -1, -1, "[MQTT-1.5.4-1] FF"},
        {"a\x01", 2, 0, -1, "1.5.4 SHOULD NOT: U+0001"},
        {"a\x1f", 2, 0, -1, "1.5.4 SHOULD NOT: U+001F"},
        {"\x7f", 1, 0, -1, "1.5.4 SHOULD NOT: U+007F"},
        {"\xc2\x9f", 2, 0, -1, "1.5.4 SHOULD NOT: U+009F"},
        {"\xc2\xa0", 2, 0, 0, "U+00A0 is fine"},
        {"\xef\xbf\xbf", 3, 0, -1, "1.5.4 SHOULD NOT: U+FFFF"},
        {"\xef\xb7\x90", 3, 0, -1, "1.5.4 SHOULD NOT: U+FDD0"},
        {"\xf4\x8f\xbf\xbf", 4, 0, -1, "1.5.4 SHOULD NOT: U+10FFFF"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(t); i++) {
        void *keep;
        sl_slice s = heap(t[i].s, t[i].n, &keep);
        int want = t[i].plain ? SL_E_MALFORMED : 0;
        if (mq_utf8_check(s, 0) != want)
            fail_msg("plain: %s", t[i].tag);
        want = t[i].strict ? SL_E_MALFORMED : 0;
        if (mq_utf8_check(s, MQ_UTF8_STRICT) != want)
            fail_msg("strict: %s", t[i].tag);
        free(keep);
    }
}

static void
test_topic_names(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int ok;
        const char *tag;
    } t[] = {
        {"a", 1, ""},
        {"/", 1, "4.7.1.1 empty levels"},
        {"a//b/", 1, "4.7.1.1 empty levels"},
        {"$SYS/uptime", 1, ""},
        {"", 0, "[MQTT-4.7.3-1] empty"},
        {"a/#", 0, "[MQTT-3.3.2-2] #"},
        {"a/+/b", 0, "[MQTT-3.3.2-2] +"},
        {"a+", 0, "[MQTT-3.3.2-2] + inside a level"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(t); i++) {
        void *keep;
        sl_slice s = heap(t[i].s, strlen(t[i].s), &keep);
        if ((mq_topic_name_check(s) == 0) != t[i].ok)
            fail_msg("name %s: %s", t[i].s, t[i].tag);
        free(keep);
    }
}

static void
test_topic_filters(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int ok;
        const char *tag;
    } t[] = {
        {"#", 1, "[MQTT-4.7.1-1]"},
        {"a/#", 1, "[MQTT-4.7.1-1]"},
        {"/#", 1, ""},
        {"+", 1, "[MQTT-4.7.1-2]"},
        {"+/+", 1, "[MQTT-4.7.1-2]"},
        {"/+", 1, ""},
        {"a/+/c/#", 1, ""},
        {"+/#", 1, ""},
        {"a//b", 1, ""},
        {"$share/g/a", 1, "an ordinary filter for this check"},
        {"", 0, "[MQTT-4.7.3-1]"},
        {"a#", 0, "[MQTT-4.7.1-1] # not alone"},
        {"a/#/b", 0, "[MQTT-4.7.1-1] # not last"},
        {"##", 0, "[MQTT-4.7.1-1]"},
        {"#/", 0, "[MQTT-4.7.1-1] # followed by a level"},
        {"a+", 0, "[MQTT-4.7.1-2]"},
        {"+a/b", 0, "[MQTT-4.7.1-2]"},
        {"a/b+", 0, "[MQTT-4.7.1-2]"},
        {"++", 0, "[MQTT-4.7.1-2]"},
        {"+#", 0, "[MQTT-4.7.1-2]"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(t); i++) {
        void *keep;
        sl_slice s = heap(t[i].s, strlen(t[i].s), &keep);
        if ((mq_topic_filter_check(s) == 0) != t[i].ok)
            fail_msg("filter %s: %s", t[i].s, t[i].tag);
        free(keep);
    }
    uint8_t nul[] = {'a', 0};
    assert_int_equal(mq_topic_filter_check(sl_slice_make(nul, 2)),
                     SL_E_MALFORMED); /* [MQTT-4.7.3-2] */
}

static void
test_share_parse(void **state)
{
    (void)state;
    mq_share sh;
    assert_int_equal(mq_topic_share_parse(sl_slice_str("$share/g1/a/+/c"), &sh),
                     1);
    assert_true(sl_slice_eq_str(sh.group, "g1"));
    assert_true(sl_slice_eq_str(sh.filter, "a/+/c"));
    assert_int_equal(mq_topic_share_parse(sl_slice_str("$share/g/#"), &sh), 1);
    assert_true(sl_slice_eq_str(sh.filter, "#"));
    assert_int_equal(mq_topic_share_parse(sl_slice_str("a/b"), &sh), 0);
    assert_int_equal(mq_topic_share_parse(sl_slice_str("$share"), &sh), 0);
    assert_int_equal(mq_topic_share_parse(sl_slice_str("$shared/g/a"), &sh), 0);
    static const char *bad[] = {
        "$share/",     /* [MQTT-4.8.2-1] */
        "$share//a",   /* [MQTT-4.8.2-1] */
        "$share/g",    /* 4.8.2 no filter */
        "$share/g/",   /* [MQTT-4.7.3-1] empty filter */
        "$share/g+/a", /* [MQTT-4.8.2-2] */
        "$share/#/a",  /* [MQTT-4.8.2-2] */
        "$share/g/a#", /* [MQTT-4.7.1-1] */
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++)
        if (mq_topic_share_parse(sl_slice_str(bad[i]), NULL) != SL_E_MALFORMED)
            fail_msg("share %s", bad[i]);
}

static void
test_match(void **state)
{
    (void)state;
    static const struct {
        const char *f, *n;
        bool m;
        const char *tag;
    } t[] = {
        {"sport/tennis/player1/#", "sport/tennis/player1", true, "4.7.1.2"},
        {"sport/tennis/player1/#", "sport/tennis/player1/ranking", true,
         "4.7.1.2"},
        {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true,
         "4.7.1.2"},
        {"sport/#", "sport", true, "4.7.1.2 # matches the parent"},
        {"#", "a/b/c", true, ""},
        {"#", "/", true, ""},
        {"sport/tennis/+", "sport/tennis/player1", true, "4.7.1.3"},
        {"sport/tennis/+", "sport/tennis/player1/ranking", false, "4.7.1.3"},
        {"sport/+", "sport", false, "4.7.1.3"},
        {"sport/+", "sport/", true, "4.7.1.3 + matches an empty level"},
        {"+/+", "/finance", true, "4.7.1.3"},
        {"/+", "/finance", true, "4.7.1.3"},
        {"+", "/finance", false, "4.7.1.3"},
        {"+/tennis/#", "sport/tennis", true, ""},
        {"a/b", "a/b", true, ""},
        {"a/b", "a/bc", false, ""},
        {"a/bc", "a/b", false, ""},
        {"a/b", "a/b/c", false, ""},
        {"a/b/c", "a/b", false, ""},
        {"a//b", "a//b", true, ""},
        {"a/+/b", "a//b", true, ""},
        {"#", "$SYS/uptime", false, "[MQTT-4.7.2-1]"},
        {"+/monitor/Clients", "$SYS/monitor/Clients", false, "[MQTT-4.7.2-1]"},
        {"$SYS/#", "$SYS/monitor/Clients", true, "4.7.2"},
        {"$SYS/monitor/+", "$SYS/monitor/Clients", true, "4.7.2"},
        {"a/#", "$a/b", false, ""},
        {"$a/#", "$a", true, ""},
        {"", "a", false, "empty filter never matches"},
        {"a", "", false, "empty name never matches"},
        {"a/b/#", "a", false, ""},
        {"+/#", "a", true, ""},
        {"+/+/#", "a", false, ""},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(t); i++) {
        void *kf, *kn;
        sl_slice f = heap(t[i].f, strlen(t[i].f), &kf);
        sl_slice n = heap(t[i].n, strlen(t[i].n), &kn);
        if (mq_topic_match(f, n) != t[i].m)
            fail_msg("match %s ~ %s: want %d (%s)", t[i].f, t[i].n, t[i].m,
                     t[i].tag);
        free(kf);
        free(kn);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_topic_names),
        cmocka_unit_test(test_topic_filters),
        cmocka_unit_test(test_share_parse),
        cmocka_unit_test(test_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
