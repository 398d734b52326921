/*
 * store_alter_test.c — unit tests of ss_store_topic_alter: configs changed
 * after creation reach the partition logs at once (limits, timestamp type,
 * retention), survive a restart, and a bad request changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "sl_batch.h"
#include "ss_store.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[512];

static int
rm_cb(const char *p, const struct stat *sb, int f, struct FTW *w)
{
    (void)sb;
    (void)f;
    (void)w;
    return remove(p);
}

static int
setup(void **state)
{
    (void)state;
    const char *base = getenv("SL_TEST_TMP");
    if (base == NULL)
        base = "/tmp";
    mkdir(base, 0755);
    snprintf(tmpdir, sizeof(tmpdir), "%s/altertest.XXXXXX", base);
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static ss_log_cfg
defaults(void)
{
    ss_log_cfg c;
    memset(&c, 0, sizeof(c));
    sl_conf_defaults(ss_topic_conf, ss_topic_conf_len, &c);
    c.segment_bytes = 64 << 10;
    c.preallocate = 0;
    return c;
}

/* One batch of n records of `pad` value bytes each, at timestamp ts. */
static void
make_batch(sl_buf *b, int n, size_t pad, int64_t ts)
{
    sl_buf_reset(b);
    sl_batch_builder bb;
    char v[4096];
    memset(v, 'v', sizeof(v));
    assert_int_equal(sl_batch_builder_init(&bb, b, ts), 0);
    for (int i = 0; i < n; i++) {
        sl_slice vs = sl_slice_make(v, pad);
        assert_int_equal(sl_batch_builder_add(&bb, ts, NULL, &vs, NULL, 0), 0);
    }
    sl_batch_builder_finish(&bb);
}

static ss_cfg_op
set(const char *k, const char *v)
{
    ss_cfg_op o = {SS_CFG_SET, sl_slice_str(k), sl_slice_str(v)};
    return o;
}

static ss_cfg_op
del(const char *k)
{
    ss_cfg_op o = {SS_CFG_DELETE, sl_slice_str(k), sl_slice_make(NULL, 0)};
    return o;
}

/* "k=v,k=v" of a topic's overrides, in stored order. */
static void
overrides_str(const ss_topic *t, char *out, size_t n)
{
    out[0] = 0;
    for (size_t i = 0; i < ss_topic_override_count(t); i++) {
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s%s=%s", i ? "," : "",
                 ss_topic_override_key(t, i), ss_topic_override_value(t, i));
    }
}

static void
report(void *arg, const ss_topic *t)
{
    overrides_str(t, arg, 512);
}

static void
test_alter_live_and_restart(void **state)
{
    (void)state;
    ss_log_cfg d = defaults();
    ss_store *st;
    char err[512], rep[512] = "";
    assert_int_equal(ss_store_open(tmpdir, &d, &st, err, sizeof(err)), 0);
    ss_kv kv[] = {{sl_slice_str("retention.ms"), sl_slice_str("1234")},
                  {sl_slice_str("segment.ms"), sl_slice_str("60000")}};
    sl_slice name = sl_slice_str("orders");
    assert_int_equal(
        ss_store_topic_create(st, name, 2, kv, 2, err, sizeof(err)), 0);
    ss_topic *t = ss_store_topic_find(st, name);
    ss_log *l = ss_topic_log(t, 1);
    sl_buf b;
    sl_buf_init(&b);
    ss_append_res r;
    make_batch(&b, 4, 100, 1000);
    assert_int_equal(ss_log_append(l, b.p, b.n, 5000, &r), 0);
    assert_int_equal(r.append_time, -1); /* CreateTime */

    /* Set two keys, drop one, keep the other override. */
    ss_cfg_op ops[] = {set("max.message.bytes", "300"),
                       set("message.timestamp.type", "LogAppendTime"),
                       del("retention.ms"), del("retention.bytes")};
    assert_int_equal(ss_store_topic_alter(st, name, ops, 4, 0, 0, report, rep,
                                          err, sizeof(err)),
                     0);
    assert_string_equal(rep, "segment.ms=60000,max.message.bytes=300,"
                             "message.timestamp.type=LogAppendTime");
    assert_int_equal(ss_topic_cfg(t)->retention_ms, d.retention_ms);
    assert_int_equal(ss_topic_cfg(t)->max_message_bytes, 300);
    assert_false(ss_topic_overrides(t, "retention.ms"));
    assert_true(ss_topic_overrides(t, "max.message.bytes"));
    /* The logs use the new settings for the next append. */
    assert_int_equal(ss_log_append(l, b.p, b.n, 6000, &r), SL_E_TOOBIG);
    make_batch(&b, 1, 10, 1000);
    assert_int_equal(ss_log_append(l, b.p, b.n, 7000, &r), 0);
    assert_int_equal(r.append_time, 7000); /* LogAppendTime */

    /* Retention lowered: the sealed data goes at the next pass. */
    ss_cfg_op ret[] = {set("retention.ms", "100")};
    assert_int_equal(ss_store_topic_alter(st, name, ret, 1, 0, 0, NULL, NULL,
                                          err, sizeof(err)),
                     0);
    int64_t end = ss_log_end(l);
    assert_true(ss_log_retain(l, 100000) > 0);
    assert_int_equal(ss_log_start(l), end);
    assert_int_equal(ss_store_close(st), 0);

    /* A restart keeps the overrides (topic.meta) and nothing else. */
    assert_int_equal(ss_store_open(tmpdir, &d, &st, err, sizeof(err)), 0);
    t = ss_store_topic_find(st, name);
    assert_non_null(t);
    overrides_str(t, rep, sizeof(rep));
    assert_string_equal(rep, "segment.ms=60000,max.message.bytes=300,"
                             "message.timestamp.type=LogAppendTime,"
                             "retention.ms=100");
    assert_int_equal(ss_topic_cfg(t)->retention_ms, 100);
    assert_int_equal(ss_topic_cfg(t)->log_append_time, 1);
    char p[1024];
    snprintf(p, sizeof(p), "%s/orders/topic.meta.tmp", tmpdir);
    assert_int_not_equal(access(p, F_OK), 0);

    /* replace: what is not given goes back to the default. */
    ss_cfg_op rp[] = {set("segment.bytes", "1048576")};
    assert_int_equal(ss_store_topic_alter(st, name, rp, 1, 1, 0, report, rep,
                                          err, sizeof(err)),
                     0);
    assert_string_equal(rep, "segment.bytes=1048576");
    assert_int_equal(ss_topic_cfg(t)->log_append_time, 0);
    assert_int_equal(ss_topic_cfg(t)->segment_ms, d.segment_ms);
    assert_int_equal(ss_store_close(st), 0);
    assert_int_equal(ss_store_open(tmpdir, &d, &st, err, sizeof(err)), 0);
    t = ss_store_topic_find(st, name);
    overrides_str(t, rep, sizeof(rep));
    assert_string_equal(rep, "segment.bytes=1048576");
    assert_int_equal(ss_store_close(st), 0);
    sl_buf_fini(&b);
}

/* Every refusal leaves the topic exactly as it was, in memory and on
 * disk, and names the key. */
static void
test_alter_refused_atomically(void **state)
{
    (void)state;
    ss_log_cfg d = defaults();
    ss_store *st;
    char err[512], rep[512], before[512];
    assert_int_equal(ss_store_open(tmpdir, &d, &st, err, sizeof(err)), 0);
    ss_kv kv[] = {{sl_slice_str("retention.ms"), sl_slice_str("1234")}};
    sl_slice name = sl_slice_str("t");
    assert_int_equal(
        ss_store_topic_create(st, name, 1, kv, 1, err, sizeof(err)), 0);
    ss_topic *t = ss_store_topic_find(st, name);
    overrides_str(t, before, sizeof(before));
    static const struct {
        ss_cfg_op ops[2];
        size_t n;
        int rc;
        const char *needle;
    } bad[] = {
        {{{SS_CFG_SET,
           {(const uint8_t *)"retention.ms", 12},
           {(const uint8_t *)"5", 1}},
          {SS_CFG_SET,
           {(const uint8_t *)"bogus", 5},
           {(const uint8_t *)"1", 1}}},
         2,
         SL_E_INVAL,
         "bogus"},
        {{{SS_CFG_SET,
           {(const uint8_t *)"retention.bytes", 15},
           {(const uint8_t *)"10", 2}},
          {SS_CFG_SET,
           {(const uint8_t *)"retention.ms", 12},
           {(const uint8_t *)"abc", 3}}},
         2,
         SL_E_INVAL,
         "retention.ms"},
        {{{SS_CFG_SET,
           {(const uint8_t *)"partitions", 10},
           {(const uint8_t *)"3", 1}}},
         1,
         SL_E_INVAL,
         "partitions"},
        {{{SS_CFG_SET,
           {(const uint8_t *)"max.message.bytes", 17},
           {(const uint8_t *)"1", 1}}},
         1,
         SL_E_INVAL,
         "max.message.bytes"},
        {{{SS_CFG_SET,
           {(const uint8_t *)"cleanup.policy", 14},
           {(const uint8_t *)"compact", 7}}},
         1,
         SL_E_UNSUPPORTED,
         "compact"},
        {{{SS_CFG_SET,
           {(const uint8_t *)"segment.ms", 10},
           {(const uint8_t *)"5", 1}},
          {SS_CFG_DELETE, {(const uint8_t *)"segment.ms", 10}, {NULL, 0}}},
         2,
         SL_E_INVAL,
         "twice"},
        {{{SS_CFG_SET,
           {(const uint8_t *)"message.timestamp.type", 22},
           {(const uint8_t *)"Now", 3}}},
         1,
         SL_E_INVAL,
         "message.timestamp.type"},
        {{{SS_CFG_DELETE, {(const uint8_t *)"nope", 4}, {NULL, 0}}},
         1,
         SL_E_INVAL,
         "nope"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        err[0] = 0;
        assert_int_equal(ss_store_topic_alter(st, name, bad[i].ops, bad[i].n, 0,
                                              0, NULL, NULL, err, sizeof(err)),
                         bad[i].rc);
        assert_non_null(strstr(err, bad[i].needle));
        overrides_str(t, rep, sizeof(rep));
        assert_string_equal(rep, before);
        assert_int_equal(ss_topic_cfg(t)->retention_ms, 1234);
    }
    ss_cfg_op ok[] = {set("retention.ms", "99")};
    assert_int_equal(ss_store_topic_alter(st, sl_slice_str("none"), ok, 1, 0, 0,
                                          NULL, NULL, err, sizeof(err)),
                     SL_E_NOTOPIC);
    /* validate_only reports the would-be overrides and changes nothing. */
    rep[0] = 0;
    assert_int_equal(ss_store_topic_alter(st, name, ok, 1, 0, 1, report, rep,
                                          err, sizeof(err)),
                     0);
    assert_string_equal(rep, "retention.ms=99");
    assert_int_equal(ss_topic_cfg(t)->retention_ms, 1234);
    assert_int_equal(ss_store_close(st), 0);
    assert_int_equal(ss_store_open(tmpdir, &d, &st, err, sizeof(err)), 0);
    t = ss_store_topic_find(st, name);
    overrides_str(t, rep, sizeof(rep));
    assert_string_equal(rep, before);
    assert_int_equal(ss_store_close(st), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_alter_live_and_restart, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_alter_refused_atomically, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
