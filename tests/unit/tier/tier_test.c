/*
 * tier_test.c — segstore/tier's pure parts: AWS Signature V4 against the
 * AWS documentation's example, the manifest codec, the file:// backend and
 * reads of a segment object.
 */
#include "ss_tier.h"

#include "sl_batch.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

/* [AWS-SIGV4-S3 "GET Object" example]: GET /test.txt with Range
 * bytes=0-9 on examplebucket, 20130524T000000Z, us-east-1. */
static void
sigv4_aws_example(void **state)
{
    (void)state;
    const char *empty =
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    char h[65];
    ss_sha256_hex((const uint8_t *)"", 0, h);
    assert_string_equal(h, empty);
    ss_sigv4_hdr hdrs[] = {
        {"host", "examplebucket.s3.amazonaws.com"},
        {"range", "bytes=0-9"},
        {"x-amz-content-sha256", empty},
        {"x-amz-date", "20130524T000000Z"},
    };
    sl_buf b;
    sl_buf_init(&b);
    char sh[128];
    assert_int_equal(ss_sigv4_canonical(&b, "GET", "/test.txt", "", hdrs, 4,
                                        empty, sh, sizeof(sh)),
                     0);
    const char *want = "GET\n/test.txt\n\n"
                       "host:examplebucket.s3.amazonaws.com\n"
                       "range:bytes=0-9\n"
                       "x-amz-content-sha256:"
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4959"
                       "91b7852b855\n"
                       "x-amz-date:20130524T000000Z\n\n"
                       "host;range;x-amz-content-sha256;x-amz-date\n"
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca4959"
                       "91b7852b855";
    assert_int_equal(b.n, strlen(want));
    assert_memory_equal(b.p, want, b.n);
    assert_string_equal(sh, "host;range;x-amz-content-sha256;x-amz-date");
    char hash[65];
    ss_sha256_hex(b.p, b.n, hash);
    assert_string_equal(
        hash,
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    char sig[65];
    assert_int_equal(ss_sigv4_sign("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                   "20130524T000000Z", "us-east-1",
                                   sl_slice_make(b.p, b.n), sig),
                     0);
    assert_string_equal(
        sig,
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    /* Headers out of order are the caller's bug. */
    ss_sigv4_hdr bad[] = {{"x-amz-date", "1"}, {"host", "h"}};
    assert_int_equal(
        ss_sigv4_canonical(&b, "GET", "/", "", bad, 2, empty, sh, sizeof(sh)),
        SL_E_INVAL);
    sl_buf_fini(&b);
}

static void
uri_encode(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    ss_uri_encode(&b, "a b/c~d=e", 1);
    sl_buf_put_u8(&b, 0);
    assert_string_equal((const char *)b.p, "a%20b/c~d%3De");
    sl_buf_reset(&b);
    ss_uri_encode(&b, "x/y", 0);
    sl_buf_put_u8(&b, 0);
    assert_string_equal((const char *)b.p, "x%2Fy");
    sl_buf_fini(&b);
}

static void
fill_ent(ss_tier_ent *e, int64_t base, int64_t next)
{
    memset(e, 0, sizeof(*e));
    e->base = base;
    e->next = next;
    e->min_ts = 1000 + base;
    e->max_ts = 2000 + next;
    e->size = (uint64_t)(next - base) * 100;
    ss_tier_digest((const uint8_t *)"abc", 3, e->digest);
    snprintf(e->key_log, sizeof(e->key_log), "t/0/%020lld.log",
             (long long)base);
    snprintf(e->key_index, sizeof(e->key_index), "t/0/%020lld.index",
             (long long)base);
    snprintf(e->key_tindex, sizeof(e->key_tindex), "t/0/%020lld.timeindex",
             (long long)base);
}

static void
manifest_roundtrip(void **state)
{
    (void)state;
    ss_tier_manifest m, d;
    ss_tier_manifest_init(&m);
    ss_tier_manifest_init(&d);
    ss_tier_ent e;
    fill_ent(&e, 0, 10);
    assert_int_equal(ss_tier_manifest_push(&m, &e), 0);
    fill_ent(&e, 10, 25);
    assert_int_equal(ss_tier_manifest_push(&m, &e), 0);
    fill_ent(&e, 30, 40); /* a gap */
    assert_int_equal(ss_tier_manifest_push(&m, &e), SL_E_INVAL);
    m.generation = 7;
    sl_buf b;
    sl_buf_init(&b);
    assert_int_equal(ss_tier_manifest_encode(&m, &b), 0);
    assert_int_equal(ss_tier_manifest_decode(sl_slice_make(b.p, b.n), &d), 0);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.generation, 7);
    assert_memory_equal(&d.ents[1], &m.ents[1], sizeof(ss_tier_ent));
    assert_int_equal(ss_tier_manifest_find(&d, 0), 0);
    assert_int_equal(ss_tier_manifest_find(&d, 9), 0);
    assert_int_equal(ss_tier_manifest_find(&d, 10), 1);
    assert_int_equal(ss_tier_manifest_find(&d, 24), 1);
    assert_int_equal(ss_tier_manifest_find(&d, 25), -1);
    assert_int_equal(ss_tier_manifest_bytes(&d), 2500);
    /* Every single-byte corruption and every truncation is refused. */
    for (size_t i = 0; i < b.n; i++) {
        b.p[i] ^= 0x40;
        assert_int_not_equal(
            ss_tier_manifest_decode(sl_slice_make(b.p, b.n), &d), 0);
        b.p[i] ^= 0x40;
        assert_int_not_equal(ss_tier_manifest_decode(sl_slice_make(b.p, i), &d),
                             0);
    }
    assert_int_equal(d.n, 2); /* untouched by failures */
    ss_tier_manifest_drop_front(&d, 1);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.ents[0].base, 10);
    /* Empty manifest. */
    ss_tier_manifest_drop_front(&d, 5);
    assert_int_equal(ss_tier_manifest_encode(&d, &b), 0);
    assert_int_equal(b.n, 32);
    assert_int_equal(ss_tier_manifest_decode(sl_slice_make(b.p, b.n), &m), 0);
    assert_int_equal(m.n, 0);
    sl_buf_fini(&b);
    ss_tier_manifest_fini(&m);
    ss_tier_manifest_fini(&d);
}

static void
digest_known(void **state)
{
    (void)state;
    uint8_t d[16], e[16];
    ss_tier_digest((const uint8_t *)"", 0, d);
    ss_tier_digest((const uint8_t *)"a", 1, e);
    assert_memory_not_equal(d, e, 16);
    /* XXH3_128bits("") = 99aa06d3014798d86001c324468d497f */
    static const uint8_t empty[16] = {0x99, 0xaa, 0x06, 0xd3, 0x01, 0x47,
                                      0x98, 0xd8, 0x60, 0x01, 0xc3, 0x24,
                                      0x46, 0x8d, 0x49, 0x7f};
    assert_memory_equal(d, empty, 16);
}

static void
file_backend(void **state)
{
    (void)state;
    const char *tmp = getenv("SL_TEST_TMP");
    char dir[512], url[600];
    snprintf(dir, sizeof(dir), "%s/tier_file_%d", tmp ? tmp : "/tmp",
             (int)getpid());
    snprintf(url, sizeof(url), "file://%s", dir);
    ss_tier_conf c = {.url = url};
    ss_tier *t;
    char err[256] = "";
    assert_int_equal(ss_tier_open(&c, &t, err, sizeof(err)), 0);
    sl_buf b;
    sl_buf_init(&b);
    assert_int_equal(ss_tier_get(t, "a/b/c", 0, 0, &b), -ENOENT);
    assert_int_equal(ss_tier_put(t, "a/b/c", (const uint8_t *)"hello", 5), 0);
    assert_int_equal(ss_tier_get(t, "a/b/c", 0, 0, &b), 0);
    assert_int_equal(b.n, 5);
    assert_int_equal(ss_tier_get(t, "a/b/c", 1, 3, &b), 0);
    assert_int_equal(b.n, 3);
    assert_memory_equal(b.p, "ell", 3);
    assert_int_equal(ss_tier_delete(t, "a/b/c"), 0);
    assert_int_equal(ss_tier_delete(t, "a/b/c"), 0);
    assert_int_equal(ss_tier_get(t, "a/b/c", 0, 0, &b), -ENOENT);
    sl_buf_fini(&b);
    ss_tier_free(t);
    ss_tier_conf bad = {.url = "ftp://x"};
    assert_int_equal(ss_tier_open(&bad, &t, err, sizeof(err)), SL_E_INVAL);
    ss_tier_conf nos3 = {.url = "s3://bucket/p"};
    assert_int_equal(ss_tier_open(&nos3, &t, err, sizeof(err)), SL_E_INVAL);
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sigv4_aws_example),  cmocka_unit_test(uri_encode),
        cmocka_unit_test(manifest_roundtrip), cmocka_unit_test(digest_known),
        cmocka_unit_test(file_backend),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
