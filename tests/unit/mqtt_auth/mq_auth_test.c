/*
 * mq_auth_test.c — the MQTT password and ACL files (mq_auth): every hash
 * form (argon2id written by us, Mosquitto's $7$ and $6$ read as is), parse
 * errors with line numbers, and the ACL rules Mosquitto users rely on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "mq_auth.h"

/* Written by mosquitto_passwd 2.0 (Debian 12): carol / s3cret. */
static const char mosq7[] =
    "carol:$7$101$xvUfYMW950K5Jbfp$x0kgzgt12jA7VH4GF5cmhu9m6/"
    "fLDFHW3NwxYqWeg/UCwGVrhdhX5RqYx0YScltTpcEJidGsZNPz03I8yD762w==\n";
/* Mosquitto 1.x form: SHA512("hunter2" + "saltsalt"). */
static const char mosq6[] =
    "dave:$6$c2FsdHNhbHQ=$GyU2EsF9+E4B0BGlXHMIpcC8ymBeVNNZCq6vehzMQb1dQrX5jIlE"
    "u3PDhxPGz7gJ/nvhdCWTC2lvcFKFX0i0qQ==\n";

static mq_passwd *
parse_pw(const char *text)
{
    mq_passwd *p = NULL;
    char err[128];
    assert_int_equal(mq_passwd_parse(sl_slice_str(text), &p, err, sizeof(err)),
                     0);
    return p;
}

static void
test_mosquitto_hashes(void **state)
{
    (void)state;
    mq_passwd *p = parse_pw(mosq7);
    assert_int_equal(
        mq_passwd_check(p, sl_slice_str("carol"), sl_slice_str("s3cret")), 0);
    assert_int_equal(
        mq_passwd_check(p, sl_slice_str("carol"), sl_slice_str("s3cre")),
        SL_E_INVAL);
    assert_int_equal(
        mq_passwd_check(p, sl_slice_str("eve"), sl_slice_str("s3cret")),
        SL_E_NOKEY);
    mq_passwd_free(p);
    p = parse_pw(mosq6);
    assert_int_equal(
        mq_passwd_check(p, sl_slice_str("dave"), sl_slice_str("hunter2")), 0);
    assert_int_equal(
        mq_passwd_check(p, sl_slice_str("dave"), sl_slice_str("hunter3")),
        SL_E_INVAL);
    mq_passwd_free(p);
}

static void
test_argon2_set_format(void **state)
{
    (void)state;
    mq_passwd *p = parse_pw("# empty\n\n");
    assert_int_equal(mq_passwd_count(p), 0);
    sl_buf h, out;
    sl_buf_init(&h);
    sl_buf_init(&out);
    assert_int_equal(mq_passwd_hash(sl_slice_str("pw1"), &h), 0);
    assert_int_equal(
        mq_passwd_set(p, sl_slice_str("alice"), sl_slice_make(h.p, h.n)), 0);
    assert_int_equal(
        mq_passwd_check(p, sl_slice_str("alice"), sl_slice_str("pw1")), 0);
    assert_int_equal(
        mq_passwd_check(p, sl_slice_str("alice"), sl_slice_str("pw2")),
        SL_E_INVAL);
    /* Replacing keeps one entry; formatting and parsing round-trips. */
    h.n = 0;
    assert_int_equal(mq_passwd_hash(sl_slice_str("pw2"), &h), 0);
    assert_int_equal(
        mq_passwd_set(p, sl_slice_str("alice"), sl_slice_make(h.p, h.n)), 0);
    assert_int_equal(mq_passwd_count(p), 1);
    assert_int_equal(mq_passwd_format(p, &out), 0);
    sl_buf_append(&out, "\0", 1);
    mq_passwd *q = parse_pw((const char *)out.p);
    assert_int_equal(
        mq_passwd_check(q, sl_slice_str("alice"), sl_slice_str("pw2")), 0);
    /* A user name with ':' cannot be stored. */
    assert_int_equal(
        mq_passwd_set(p, sl_slice_str("a:b"), sl_slice_make(h.p, h.n)),
        SL_E_INVAL);
    mq_passwd_free(q);
    mq_passwd_free(p);
    sl_buf_fini(&h);
    sl_buf_fini(&out);
}

static void
test_passwd_errors(void **state)
{
    (void)state;
    const char *bad[] = {"alice\n", ":hash\n", "a:plaintext\n",
                         "a:$7$x$c2FsdA==$AAAA\n", "a:$6$!!$AAAA\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        mq_passwd *p = (mq_passwd *)1;
        char err[128] = "";
        assert_int_equal(
            mq_passwd_parse(sl_slice_str(bad[i]), &p, err, sizeof(err)),
            SL_E_MALFORMED);
        assert_null(p);
        assert_memory_equal(err, "line 1:", 7);
    }
    char twice[512], err[128] = "";
    snprintf(twice, sizeof(twice), "# c\n%s%s", mosq7, mosq7);
    mq_passwd *p;
    assert_int_equal(mq_passwd_parse(sl_slice_str(twice), &p, err, sizeof(err)),
                     SL_E_MALFORMED);
    assert_memory_equal(err, "line 3:", 7);
}

static const char acl_text[] = "# anonymous clients\n"
                               "topic read $SYS/#\n"
                               "topic read public/#\n"
                               "pattern readwrite devices/%c/#\n"
                               "pattern read users/%u/#\n"
                               "\n"
                               "user alice\n"
                               "topic readwrite sensors/#\n"
                               "topic deny sensors/secret\n"
                               "topic write cmd/+/set\n"
                               "user bob\n"
                               "topic sensors/+/temp\n";

static mq_acl *
parse_acl(const char *text)
{
    mq_acl *a = NULL;
    char err[128];
    assert_int_equal(mq_acl_parse(sl_slice_str(text), &a, err, sizeof(err)), 0);
    return a;
}

#define ANON sl_slice_make(NULL, 0)
#define S    sl_slice_str

static void
test_acl_rules(void **state)
{
    (void)state;
    mq_acl *a = parse_acl(acl_text);
    assert_int_equal(mq_acl_rule_count(a), 8);
    /* anonymous: only its own topic lines and the patterns */
    assert_true(mq_acl_allows(a, ANON, S("c1"), S("public/x"), MQ_ACL_READ));
    assert_false(mq_acl_allows(a, ANON, S("c1"), S("public/x"), MQ_ACL_WRITE));
    assert_false(mq_acl_allows(a, ANON, S("c1"), S("sensors/a"), MQ_ACL_READ));
    assert_true(
        mq_acl_allows(a, ANON, S("c1"), S("devices/c1/up"), MQ_ACL_WRITE));
    assert_false(
        mq_acl_allows(a, ANON, S("c1"), S("devices/c2/up"), MQ_ACL_WRITE));
    /* %u never matches an anonymous client */
    assert_false(mq_acl_allows(a, ANON, S("c1"), S("users//x"), MQ_ACL_READ));
    /* alice: her lines, patterns, a deny that wins */
    assert_true(mq_acl_allows(a, S("alice"), S("c9"), S("sensors/a/temp"),
                              MQ_ACL_WRITE));
    assert_false(mq_acl_allows(a, S("alice"), S("c9"), S("sensors/secret"),
                               MQ_ACL_READ));
    assert_true(
        mq_acl_allows(a, S("alice"), S("c9"), S("cmd/7/set"), MQ_ACL_WRITE));
    assert_false(
        mq_acl_allows(a, S("alice"), S("c9"), S("cmd/7/set"), MQ_ACL_READ));
    assert_true(
        mq_acl_allows(a, S("alice"), S("c9"), S("users/alice/x"), MQ_ACL_READ));
    assert_false(
        mq_acl_allows(a, S("alice"), S("c9"), S("users/bob/x"), MQ_ACL_READ));
    /* anonymous-only lines do not apply to users */
    assert_false(
        mq_acl_allows(a, S("alice"), S("c9"), S("public/x"), MQ_ACL_READ));
    /* bob: bare `topic` means readwrite */
    assert_true(
        mq_acl_allows(a, S("bob"), S("c"), S("sensors/1/temp"), MQ_ACL_WRITE));
    assert_false(
        mq_acl_allows(a, S("bob"), S("c"), S("sensors/1/hum"), MQ_ACL_READ));
    /* a client id that would add levels or wildcards matches nothing */
    assert_false(
        mq_acl_allows(a, ANON, S("x/y"), S("devices/x/y/z"), MQ_ACL_WRITE));
    assert_false(
        mq_acl_allows(a, ANON, S("+"), S("devices/q/z"), MQ_ACL_WRITE));
    mq_acl_free(a);
}

static void
test_acl_subscribe(void **state)
{
    (void)state;
    mq_acl *a = parse_acl(acl_text);
    assert_true(
        mq_acl_allows_subscribe(a, S("alice"), S("c"), S("sensors/#")) == true);
    assert_true(
        mq_acl_allows_subscribe(a, S("alice"), S("c"), S("sensors/+/x")));
    assert_false(mq_acl_allows_subscribe(a, S("alice"), S("c"), S("#")));
    assert_false(
        mq_acl_allows_subscribe(a, S("alice"), S("c"), S("sensors/secret")));
    assert_true(
        mq_acl_allows_subscribe(a, S("bob"), S("c"), S("sensors/+/temp")));
    assert_false(mq_acl_allows_subscribe(a, S("bob"), S("c"), S("sensors/#")));
    /* $SYS is not covered by a leading wildcard, but by its own rule */
    assert_true(mq_acl_allows_subscribe(a, ANON, S("c"), S("$SYS/broker/#")));
    mq_acl *all = parse_acl("pattern read #\n");
    assert_true(mq_acl_allows_subscribe(all, ANON, S("c"), S("a/b")));
    assert_false(mq_acl_allows_subscribe(all, ANON, S("c"), S("$SYS/#")));
    assert_false(mq_acl_allows(all, ANON, S("c"), S("$SYS/x"), MQ_ACL_READ));
    mq_acl_free(all);
    mq_acl_free(a);
}

static void
test_acl_errors_and_format(void **state)
{
    (void)state;
    const char *bad[] = {"frob x\n", "user\n", "topic read\n",
                         "topic read a/#/b\n", "topic write a+\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        mq_acl *a = (mq_acl *)1;
        char err[128] = "";
        assert_int_equal(
            mq_acl_parse(sl_slice_str(bad[i]), &a, err, sizeof(err)),
            SL_E_MALFORMED);
        assert_null(a);
        assert_memory_equal(err, "line 1:", 7);
    }
    mq_acl *a = parse_acl(acl_text);
    sl_buf x, y;
    sl_buf_init(&x);
    sl_buf_init(&y);
    assert_int_equal(mq_acl_format(a, &x), 0);
    sl_buf_append(&x, "\0", 1);
    mq_acl *b = parse_acl((const char *)x.p);
    assert_int_equal(mq_acl_rule_count(b), mq_acl_rule_count(a));
    assert_int_equal(mq_acl_format(b, &y), 0);
    assert_int_equal(y.n + 1, x.n);
    assert_memory_equal(x.p, y.p, y.n);
    assert_true(
        mq_acl_allows(b, S("alice"), S("c"), S("cmd/1/set"), MQ_ACL_WRITE));
    mq_acl_free(a);
    mq_acl_free(b);
    sl_buf_fini(&x);
    sl_buf_fini(&y);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mosquitto_hashes),
        cmocka_unit_test(test_argon2_set_format),
        cmocka_unit_test(test_passwd_errors),
        cmocka_unit_test(test_acl_rules),
        cmocka_unit_test(test_acl_subscribe),
        cmocka_unit_test(test_acl_errors_and_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
