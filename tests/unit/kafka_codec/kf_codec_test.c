/*
 * kf_codec_test.c — the Kafka codec against itself and against hostile
 * input: for every API, direction and supported version, example messages
 * (smallest, typical, extreme, varied) survive encode -> decode -> compare
 * -> encode byte for byte; every truncation and every trailing byte is
 * refused; absurd counts and lengths are refused before the arena is
 * touched; unsupported versions and API keys are reported distinctly;
 * headers and framing follow the protocol.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "kf_codec.h"

#define BIG_ARENA (8u << 20)

static uint8_t *arena_mem1, *arena_mem2;

static int
setup(void **state)
{
    (void)state;
    arena_mem1 = malloc(BIG_ARENA);
    arena_mem2 = malloc(BIG_ARENA);
    return arena_mem1 && arena_mem2 ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    free(arena_mem1);
    free(arena_mem2);
    return 0;
}

/* Struct storage big enough for any kf_<api>_req / _resp. */
typedef union msg_store {
    max_align_t align;
    uint8_t bytes[512];
} msg_store;

static void
hexdump_fail(const char *what, int16_t key, int dir, int16_t v, unsigned seed)
{
    fail_msg("%s: %s %s v%d seed %u", what, kf_api_name(key),
             dir == KF_REQ ? "request" : "response", v, seed);
}

/* One example through encode -> decode -> equal -> encode, plus every
 * truncation and one trailing byte. */
static void
roundtrip_one(int16_t key, int dir, int16_t v, unsigned seed, bool cut)
{
    sl_arena a1, a2;
    msg_store m1, m2;
    sl_buf b1 = {0}, b2 = {0};

    assert_true(kf_msg_size(key, dir) <= sizeof(msg_store));
    sl_arena_init(&a1, arena_mem1, BIG_ARENA);
    sl_arena_init(&a2, arena_mem2, BIG_ARENA);
    if (kf_msg_example(key, dir, v, seed, &a1, &m1) != 0)
        hexdump_fail("example", key, dir, v, seed);
    if (kf_msg_encode(&b1, key, dir, v, &m1) != 0)
        hexdump_fail("encode", key, dir, v, seed);
    sl_slice body = sl_slice_make(b1.p, b1.n);
    if (kf_msg_decode(key, dir, v, body, &a2, &m2) != 0)
        hexdump_fail("decode", key, dir, v, seed);
    if (!kf_msg_equal(key, dir, v, &m1, &m2))
        hexdump_fail("fields differ after round trip", key, dir, v, seed);
    if (kf_msg_encode(&b2, key, dir, v, &m2) != 0)
        hexdump_fail("re-encode", key, dir, v, seed);
    if (b1.n != b2.n || (b1.n && memcmp(b1.p, b2.p, b1.n) != 0))
        hexdump_fail("re-encoding differs", key, dir, v, seed);

    if (cut) {
        /* Every proper prefix is refused, never half-accepted. */
        for (size_t n = 0; n < b1.n; n++) {
            sl_arena_reset(&a2);
            int rc =
                kf_msg_decode(key, dir, v, sl_slice_make(b1.p, n), &a2, &m2);
            if (rc != SL_E_MALFORMED)
                hexdump_fail("truncation accepted", key, dir, v, seed);
        }
        /* A byte after the body is refused too. */
        assert_int_equal(sl_buf_put_u8(&b1, 0), 0);
        sl_arena_reset(&a2);
        if (kf_msg_decode(key, dir, v, sl_slice_make(b1.p, b1.n), &a2, &m2) !=
            SL_E_MALFORMED)
            hexdump_fail("trailing byte accepted", key, dir, v, seed);
    }
    sl_buf_fini(&b1);
    sl_buf_fini(&b2);
}

static void
test_roundtrip_every_api_version(void **state)
{
    (void)state;
    size_t n;
    const kf_api_range *r = kf_api_ranges(&n);
    assert_int_equal(n, 22);
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        for (int16_t v = r[i].min_version; v <= r[i].max_version; v++) {
            for (int dir = KF_REQ; dir <= KF_RESP; dir++) {
                for (unsigned seed = 0; seed < 8; seed++) {
                    roundtrip_one(r[i].api_key, dir, v, seed, seed != 2);
                    count++;
                }
            }
        }
    }
    /* 22 APIs, 94 versions in all (Produce 0-7), 2 directions, 8 seeds. */
    assert_int_equal(count, 94 * 2 * 8);
}

/* The comparison itself must see differences, or the round trip above
 * proves nothing. */
static void
test_equal_sees_differences(void **state)
{
    (void)state;
    size_t n;
    const kf_api_range *r = kf_api_ranges(&n);
    for (size_t i = 0; i < n; i++) {
        int16_t v = r[i].max_version;
        for (int dir = KF_REQ; dir <= KF_RESP; dir++) {
            sl_arena a1, a2;
            msg_store m1, m2;
            sl_arena_init(&a1, arena_mem1, BIG_ARENA);
            sl_arena_init(&a2, arena_mem2, BIG_ARENA);
            assert_int_equal(kf_msg_example(r[i].api_key, dir, v, 1, &a1, &m1),
                             0);
            assert_int_equal(kf_msg_example(r[i].api_key, dir, v, 1, &a2, &m2),
                             0);
            assert_true(kf_msg_equal(r[i].api_key, dir, v, &m1, &m2));
            assert_int_equal(kf_msg_example(r[i].api_key, dir, v, 5, &a2, &m2),
                             0);
            /* ListGroups v0-2 requests are empty: nothing can differ. */
            if (!(r[i].api_key == KF_API_LIST_GROUPS && dir == KF_REQ))
                assert_false(kf_msg_equal(r[i].api_key, dir, v, &m1, &m2));
        }
    }
}

static void
test_versions_outside_range(void **state)
{
    (void)state;
    uint8_t mem[256];
    sl_arena a;
    sl_arena_init(&a, mem, sizeof(mem));
    msg_store m;
    sl_buf b = {0};
    sl_slice empty = sl_slice_make(NULL, 0);

    assert_int_equal(kf_produce_req_decode(empty, -1, &a, (void *)&m),
                     SL_E_VERSION);
    assert_int_equal(kf_produce_req_decode(empty, 8, &a, (void *)&m),
                     SL_E_VERSION);
    assert_int_equal(kf_fetch_req_decode(empty, 11, &a, (void *)&m),
                     SL_E_VERSION);
    assert_int_equal(kf_listoffsets_req_decode(empty, 0, &a, (void *)&m),
                     SL_E_VERSION);
    assert_int_equal(kf_apiversions_req_decode(empty, 4, &a, (void *)&m),
                     SL_E_VERSION);
    assert_int_equal(kf_msg_decode(17, KF_REQ, 0, empty, &a, &m),
                     SL_E_UNSUPPORTED);
    kf_heartbeat_resp hb = {0};
    assert_int_equal(kf_heartbeat_resp_encode(&b, 4, &hb), SL_E_VERSION);
    assert_int_equal(b.n, 0);

    assert_true(kf_api_supported(KF_API_PRODUCE, 3));
    assert_true(kf_api_supported(KF_API_PRODUCE, 7));
    assert_false(kf_api_supported(KF_API_PRODUCE, 8));
    assert_false(kf_api_supported(KF_API_FIND_COORDINATOR, 3));
    assert_true(kf_api_supported(KF_API_FIND_COORDINATOR, 0));
    assert_false(kf_api_supported(99, 0));
    assert_string_equal(kf_api_name(KF_API_OFFSET_FETCH), "OffsetFetch");
    assert_string_equal(kf_api_name(99), "Unknown");
    sl_buf_fini(&b);
}

/* A count of 2^31-1 (or any count the remaining bytes cannot hold) is
 * refused before anything is allocated: the arena stays untouched. */
static void
test_absurd_counts_refused_before_allocation(void **state)
{
    (void)state;
    uint8_t mem[64];
    sl_arena a;
    kf_produce_req p;
    kf_metadata_req md;
    kf_fetch_req f;

    /* Produce v7: transactional_id null, acks 1, timeout 1000, topics
     * count 0x7fffffff followed by a few bytes. */
    static const uint8_t produce[] = {0xff, 0xff, 0x00, 0x01, 0x00, 0x00,
                                      0x03, 0xe8, 0x7f, 0xff, 0xff, 0xff,
                                      0x00, 0x01, 0x74, 0x00};
    sl_arena_init(&a, mem, sizeof(mem));
    assert_int_equal(kf_produce_req_decode(
                         sl_slice_make(produce, sizeof(produce)), 7, &a, &p),
                     SL_E_MALFORMED);
    assert_int_equal(a.used, 0);

    /* Metadata v1 with 3 topics but only 2 bytes after the count: each
     * topic needs at least 2 bytes. */
    static const uint8_t md3[] = {0, 0, 0, 3, 0, 0};
    assert_int_equal(
        kf_metadata_req_decode(sl_slice_make(md3, sizeof(md3)), 1, &a, &md),
        SL_E_MALFORMED);
    assert_int_equal(a.used, 0);

    /* Fetch v4 with a partition count of 0x40000000 inside one topic:
     * refused by the nested bound check, after the one-topic allocation
     * only. */
    static const uint8_t fetch[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0x01, 0xf4,
                                    0,    0,    0,    1,    0, 0, 0x10, 0,
                                    0,    0,    0,    0,    0, 0, 0,    1,
                                    0,    1,    't',  0x40, 0, 0, 0};
    size_t before;
    sl_arena_init(&a, mem, sizeof(mem));
    assert_int_equal(
        kf_fetch_req_decode(sl_slice_make(fetch, sizeof(fetch)), 4, &a, &f),
        SL_E_MALFORMED);
    before = a.used;
    assert_true(before <= sizeof(kf_fetch_req_topic) + 16);

    /* A string length far past the end. */
    static const uint8_t longstr[] = {0x7f, 0xff, 'a', 'b'};
    kf_findcoordinator_req fc;
    assert_int_equal(kf_findcoordinator_req_decode(
                         sl_slice_make(longstr, sizeof(longstr)), 0, &a, &fc),
                     SL_E_MALFORMED);
    /* Lengths below -1, and -1 where null is not allowed. */
    static const uint8_t neg2[] = {0xff, 0xfe};
    static const uint8_t neg1[] = {0xff, 0xff};
    assert_int_equal(kf_findcoordinator_req_decode(
                         sl_slice_make(neg2, sizeof(neg2)), 0, &a, &fc),
                     SL_E_MALFORMED);
    assert_int_equal(kf_findcoordinator_req_decode(
                         sl_slice_make(neg1, sizeof(neg1)), 0, &a, &fc),
                     SL_E_MALFORMED);
    /* Negative array counts other than -1, and -1 where not nullable. */
    static const uint8_t cnt_neg2[] = {0xff, 0xff, 0xff, 0xfe};
    static const uint8_t cnt_neg1[] = {0xff, 0xff, 0xff, 0xff};
    assert_int_equal(kf_metadata_req_decode(
                         sl_slice_make(cnt_neg2, sizeof(cnt_neg2)), 1, &a, &md),
                     SL_E_MALFORMED);
    assert_int_equal(kf_metadata_req_decode(
                         sl_slice_make(cnt_neg1, sizeof(cnt_neg1)), 0, &a, &md),
                     SL_E_MALFORMED);
    assert_int_equal(kf_metadata_req_decode(
                         sl_slice_make(cnt_neg1, sizeof(cnt_neg1)), 1, &a, &md),
                     0);
    assert_int_equal(md.n_topics, -1);
    assert_null(md.topics);

    /* Compact forms (ApiVersions v3): a string length varint wider than
     * 32 bits, and a string longer than 32767 bytes. */
    static const uint8_t wide[] = {0xff, 0xff, 0xff, 0xff, 0x7f, 0x01, 0x00};
    static const uint8_t toolong[] = {0x81, 0x80, 0x02, 'x'}; /* 32768 */
    kf_apiversions_req av;
    assert_int_equal(kf_apiversions_req_decode(
                         sl_slice_make(wide, sizeof(wide)), 3, &a, &av),
                     SL_E_MALFORMED);
    assert_int_equal(kf_apiversions_req_decode(
                         sl_slice_make(toolong, sizeof(toolong)), 3, &a, &av),
                     SL_E_MALFORMED);
    /* A tagged-field count the bytes cannot hold. */
    static const uint8_t tags[] = {0x01, 0x01, 0x7f};
    assert_int_equal(kf_apiversions_req_decode(
                         sl_slice_make(tags, sizeof(tags)), 3, &a, &av),
                     SL_E_MALFORMED);
    /* Unknown tagged fields are skipped. */
    static const uint8_t tags_ok[] = {0x02, 'a',  0x02, 'b', 0x01,
                                      0x05, 0x02, 'x',  'y'};
    assert_int_equal(kf_apiversions_req_decode(
                         sl_slice_make(tags_ok, sizeof(tags_ok)), 3, &a, &av),
                     0);
    assert_true(sl_slice_eq_str(av.client_software_name, "a"));
    assert_true(sl_slice_eq_str(av.client_software_version, "b"));
}

/* A plausible message bigger than the arena: SL_E_TOOBIG, not a crash and
 * not MALFORMED (the frontend answers differently). */
static void
test_arena_exhausted(void **state)
{
    (void)state;
    sl_arena big;
    msg_store m;
    sl_buf b = {0};
    sl_arena_init(&big, arena_mem1, BIG_ARENA);
    assert_int_equal(kf_msg_example(KF_API_METADATA, KF_RESP, 7, 1, &big, &m),
                     0);
    assert_int_equal(kf_msg_encode(&b, KF_API_METADATA, KF_RESP, 7, &m), 0);
    uint8_t mem[96];
    sl_arena small;
    sl_arena_init(&small, mem, sizeof(mem));
    assert_int_equal(kf_msg_decode(KF_API_METADATA, KF_RESP, 7,
                                   sl_slice_make(b.p, b.n), &small, &m),
                     SL_E_TOOBIG);
    sl_buf_fini(&b);
}

static void
test_encoder_refuses_unencodable(void **state)
{
    (void)state;
    sl_buf b = {0};
    static uint8_t huge[40000];
    kf_findcoordinator_req fc = {.key = sl_slice_make(huge, 32768)};
    assert_int_equal(kf_findcoordinator_req_encode(&b, 0, &fc), SL_E_INVAL);
    assert_int_equal(b.n, 0);
    fc.key.n = 32767;
    assert_int_equal(kf_findcoordinator_req_encode(&b, 0, &fc), 0);
    assert_int_equal(b.n, 2 + 32767);
    sl_buf_reset(&b);

    /* Metadata v0 cannot say "null topics"; v1 can. */
    kf_metadata_req md = {.n_topics = -1};
    assert_int_equal(kf_metadata_req_encode(&b, 0, &md), SL_E_INVAL);
    assert_int_equal(kf_metadata_req_encode(&b, 1, &md), 0);
    assert_int_equal(b.n, 4);
    assert_memory_equal(b.p, "\xff\xff\xff\xff", 4);
    sl_buf_reset(&b);
    /* A count with no elements behind it. */
    kf_deletegroups_req dg = {.groups_names = NULL, .n_groups_names = 2};
    assert_int_equal(kf_deletegroups_req_encode(&b, 0, &dg), SL_E_INVAL);
    assert_int_equal(b.n, 0);
    sl_buf_fini(&b);
}

/* ---- headers and framing ------------------------------------------------ */

static void
test_frame_next(void **state)
{
    (void)state;
    sl_slice f;
    size_t used = 99;
    static const uint8_t two[] = {0, 0, 0, 2, 0xaa, 0xbb, 0xcc};
    assert_int_equal(kf_frame_next(sl_slice_make(two, 0), 100, &f, &used),
                     SL_E_PARTIAL);
    assert_int_equal(kf_frame_next(sl_slice_make(two, 3), 100, &f, &used),
                     SL_E_PARTIAL);
    assert_int_equal(kf_frame_next(sl_slice_make(two, 5), 100, &f, &used),
                     SL_E_PARTIAL);
    assert_int_equal(kf_frame_next(sl_slice_make(two, 7), 100, &f, &used), 0);
    assert_int_equal(used, 6);
    assert_int_equal(f.n, 2);
    assert_ptr_equal(f.p, two + 4);
    assert_int_equal(kf_frame_next(sl_slice_make(two, 7), 1, &f, &used),
                     SL_E_TOOBIG);
    static const uint8_t neg[] = {0x80, 0, 0, 0};
    assert_int_equal(
        kf_frame_next(sl_slice_make(neg, 4), UINT32_MAX, &f, &used),
        SL_E_TOOBIG);
    static const uint8_t max[] = {0x06, 0x40, 0, 1}; /* 100 MiB + 1 */
    assert_int_equal(
        kf_frame_next(sl_slice_make(max, 4), 100u << 20, &f, &used),
        SL_E_TOOBIG);

    sl_buf b = {0};
    size_t at;
    assert_int_equal(kf_frame_begin(&b, &at), 0);
    assert_int_equal(sl_buf_append(&b, "abc", 3), 0);
    assert_int_equal(kf_frame_end(&b, at), 0);
    assert_memory_equal(b.p, "\0\0\0\3abc", 7);
    sl_buf_fini(&b);
}

static void
test_req_hdr(void **state)
{
    (void)state;
    kf_req_hdr h;
    sl_slice body;

    /* Metadata v1, correlation 7, client "ab", body 00 00 00 00. */
    static const uint8_t md[] = {0, 3, 0,   1,   0, 0, 0, 7,
                                 0, 2, 'a', 'b', 0, 0, 0, 0};
    assert_int_equal(
        kf_req_hdr_decode(sl_slice_make(md, sizeof(md)), &body, &h), 0);
    assert_int_equal(h.api_key, 3);
    assert_int_equal(h.api_version, 1);
    assert_int_equal(h.correlation_id, 7);
    assert_false(h.client_id.null);
    assert_true(sl_slice_eq_str(h.client_id.v, "ab"));
    assert_int_equal(h.hdr_version, 1);
    assert_int_equal(body.n, 4);

    /* Null client id. */
    static const uint8_t nul[] = {0, 18, 0, 0, 0, 0, 0, 1, 0xff, 0xff};
    assert_int_equal(
        kf_req_hdr_decode(sl_slice_make(nul, sizeof(nul)), &body, &h), 0);
    assert_true(h.client_id.null);
    assert_int_equal(body.n, 0);

    /* ApiVersions v3: header v2, client_id with an int16 length, then
     * tagged fields (one unknown field, skipped). */
    static const uint8_t av3[] = {0,   18, 0, 3, 0,    0, 0,   9, 0,   1,
                                  'k', 1,  5, 1, 0xee, 2, 'c', 2, '1', 0};
    assert_int_equal(
        kf_req_hdr_decode(sl_slice_make(av3, sizeof(av3)), &body, &h), 0);
    assert_int_equal(h.hdr_version, 2);
    assert_true(sl_slice_eq_str(h.client_id.v, "k"));
    assert_int_equal(body.n, 5);
    kf_apiversions_req av;
    uint8_t mem[64];
    sl_arena a;
    sl_arena_init(&a, mem, sizeof(mem));
    assert_int_equal(kf_apiversions_req_decode(body, 3, &a, &av), 0);
    assert_true(sl_slice_eq_str(av.client_software_name, "c"));
    assert_true(sl_slice_eq_str(av.client_software_version, "1"));

    /* Unknown API key: the prefix is still reported. */
    static const uint8_t unk[] = {0x03, 0xe8, 0, 5, 0x12, 0x34, 0x56, 0x78};
    assert_int_equal(
        kf_req_hdr_decode(sl_slice_make(unk, sizeof(unk)), &body, &h),
        SL_E_UNSUPPORTED);
    assert_int_equal(h.api_key, 1000);
    assert_int_equal(h.api_version, 5);
    assert_int_equal(h.correlation_id, 0x12345678);

    /* SaslHandshake (17) v1, which we do not implement, with its client
     * id: UNSUPPORTED, prefix and client id reported. */
    static const uint8_t sasl[] = {0, 17, 0, 1, 0, 0, 0, 4, 0, 1, 'x', 0, 0};
    assert_int_equal(
        kf_req_hdr_decode(sl_slice_make(sasl, sizeof(sasl)), &body, &h),
        SL_E_UNSUPPORTED);
    assert_int_equal(h.api_key, 17);
    assert_true(sl_slice_eq_str(h.client_id.v, "x"));
    assert_int_equal(body.n, 2);

    /* ApiVersions v4 (flexible, newer than we speak): SL_E_VERSION with the
     * prefix, so the frontend answers UNSUPPORTED_VERSION in a v0 body. */
    static const uint8_t av4[] = {0, 18, 0, 4, 0, 0, 0, 2, 0xff, 0xff, 0};
    assert_int_equal(
        kf_req_hdr_decode(sl_slice_make(av4, sizeof(av4)), &body, &h),
        SL_E_VERSION);
    assert_int_equal(h.api_key, 18);
    assert_int_equal(h.api_version, 4);
    assert_int_equal(h.correlation_id, 2);
    assert_int_equal(h.hdr_version, 2);

    /* Produce v8: version error even though the rest is garbage. */
    static const uint8_t p8[] = {0, 0, 0, 8, 0, 0, 0, 3, 0x7f};
    assert_int_equal(
        kf_req_hdr_decode(sl_slice_make(p8, sizeof(p8)), &body, &h),
        SL_E_VERSION);
    assert_int_equal(h.correlation_id, 3);
    assert_int_equal(body.n, 0);

    /* Too short for the prefix; a bad client_id on a supported API. */
    assert_int_equal(kf_req_hdr_decode(sl_slice_make(md, 7), &body, &h),
                     SL_E_MALFORMED);
    assert_int_equal(kf_req_hdr_decode(sl_slice_make(md, 11), &body, &h),
                     SL_E_MALFORMED);

    /* Encoding gives back the same bytes. */
    sl_buf b = {0};
    kf_req_hdr e = {.api_key = 18,
                    .api_version = 3,
                    .correlation_id = 9,
                    .client_id = kf_nslice_str("k")};
    assert_int_equal(kf_req_hdr_encode(&b, &e), 0);
    assert_int_equal(b.n, 12);
    assert_memory_equal(b.p, av3, 11);
    assert_int_equal(b.p[11], 0);
    sl_buf_fini(&b);
}

static void
test_resp_hdr(void **state)
{
    (void)state;
    sl_buf b = {0};
    /* ApiVersions v3: header v0 (no tagged-field byte) — KIP-511. */
    assert_int_equal(kf_resp_hdr_version(KF_API_API_VERSIONS, 3), 0);
    assert_int_equal(kf_resp_hdr_encode(&b, KF_API_API_VERSIONS, 3, 0x01020304),
                     0);
    assert_int_equal(b.n, 4);
    assert_memory_equal(b.p, "\x01\x02\x03\x04", 4);
    /* LeaveGroup v4 and IncrementalAlterConfigs v1 are flexible: request
     * header v2, response header v1.
     * Every other supported version is non-flexible: header v0 too. */
    size_t n;
    const kf_api_range *r = kf_api_ranges(&n);
    for (size_t i = 0; i < n; i++)
        for (int16_t v = r[i].min_version; v <= r[i].max_version; v++) {
            int leave4 =
                (r[i].api_key == KF_API_LEAVE_GROUP && v == 4) ||
                (r[i].api_key == KF_API_INCREMENTAL_ALTER_CONFIGS && v == 1);
            int apiv3 = r[i].api_key == KF_API_API_VERSIONS && v == 3;
            assert_int_equal(kf_resp_hdr_version(r[i].api_key, v), leave4);
            assert_int_equal(kf_req_hdr_version(r[i].api_key, v),
                             leave4 || apiv3 ? 2 : 1);
        }
    /* Kafka's flexible thresholds just past our ranges. */
    assert_int_equal(kf_req_hdr_version(KF_API_PRODUCE, 9), 2);
    assert_int_equal(kf_req_hdr_version(KF_API_PRODUCE, 8), 1);
    assert_int_equal(kf_resp_hdr_version(KF_API_FETCH, 12), 1);
    assert_int_equal(kf_resp_hdr_version(KF_API_METADATA, 9), 1);
    assert_int_equal(kf_resp_hdr_version(KF_API_API_VERSIONS, 4), 0);
    assert_int_equal(kf_resp_hdr_version(99, 0), -1);

    int32_t corr;
    sl_slice body;
    static const uint8_t fr[] = {0, 0, 0, 5, 0xaa};
    assert_int_equal(kf_resp_hdr_decode(sl_slice_make(fr, sizeof(fr)),
                                        KF_API_API_VERSIONS, 3, &corr, &body),
                     0);
    assert_int_equal(corr, 5);
    assert_int_equal(body.n, 1);
    assert_int_equal(kf_resp_hdr_decode(sl_slice_make(fr, 3), KF_API_METADATA,
                                        1, &corr, &body),
                     SL_E_MALFORMED);
    sl_buf_fini(&b);
}

/* Numeric values checked against apache/kafka
 * clients/src/main/java/org/apache/kafka/common/protocol/Errors.java. */
static void
test_error_codes(void **state)
{
    (void)state;
    assert_int_equal(KF_ERR_UNKNOWN_SERVER_ERROR, -1);
    assert_int_equal(KF_ERR_NONE, 0);
    assert_int_equal(KF_ERR_OFFSET_OUT_OF_RANGE, 1);
    assert_int_equal(KF_ERR_CORRUPT_MESSAGE, 2);
    assert_int_equal(KF_ERR_UNKNOWN_TOPIC_OR_PARTITION, 3);
    assert_int_equal(KF_ERR_NOT_LEADER_OR_FOLLOWER, 6);
    assert_int_equal(KF_ERR_MESSAGE_TOO_LARGE, 10);
    assert_int_equal(KF_ERR_NOT_COORDINATOR, 16);
    assert_int_equal(KF_ERR_RECORD_LIST_TOO_LARGE, 18);
    assert_int_equal(KF_ERR_INVALID_REQUIRED_ACKS, 21);
    assert_int_equal(KF_ERR_REBALANCE_IN_PROGRESS, 27);
    assert_int_equal(KF_ERR_INVALID_TIMESTAMP, 32);
    assert_int_equal(KF_ERR_UNSUPPORTED_VERSION, 35);
    assert_int_equal(KF_ERR_INVALID_REQUEST, 42);
    assert_int_equal(KF_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, 45);
    assert_int_equal(KF_ERR_UNKNOWN_PRODUCER_ID, 59);
    assert_int_equal(KF_ERR_NON_EMPTY_GROUP, 68);
    assert_int_equal(KF_ERR_GROUP_ID_NOT_FOUND, 69);
    assert_int_equal(KF_ERR_UNSUPPORTED_COMPRESSION_TYPE, 76);
    assert_int_equal(KF_ERR_MEMBER_ID_REQUIRED, 79);
    assert_int_equal(KF_ERR_FENCED_INSTANCE_ID, 82);
    assert_string_equal(kf_err_name(35), "UNSUPPORTED_VERSION");
    assert_string_equal(kf_err_name(-1), "UNKNOWN_SERVER_ERROR");
    assert_null(kf_err_name(1000));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_api_version),
        cmocka_unit_test(test_equal_sees_differences),
        cmocka_unit_test(test_versions_outside_range),
        cmocka_unit_test(test_absurd_counts_refused_before_allocation),
        cmocka_unit_test(test_arena_exhausted),
        cmocka_unit_test(test_encoder_refuses_unencodable),
        cmocka_unit_test(test_frame_next),
        cmocka_unit_test(test_req_hdr),
        cmocka_unit_test(test_resp_hdr),
        cmocka_unit_test(test_error_codes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
