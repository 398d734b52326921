/*
 * kf_alterconfigs_test.c — AlterConfigs (33) v0-1 and
 * IncrementalAlterConfigs (44) v0-1 against bytes built by hand from
 * apache/kafka's AlterConfigsRequest/Response.json and
 * IncrementalAlterConfigsRequest/Response.json (v1 of the latter is
 * flexible: compact lengths, tagged fields): every version decodes to the
 * expected fields, re-encodes to the same bytes, and refuses a truncation
 * or a trailing byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kf_codec.h"

/* Every prefix of a valid body is refused, and so is one byte more. */
static void
check_hostile(int16_t key, int dir, int16_t v, const uint8_t *p, size_t n)
{
    uint8_t mem[4096], msg[256], more[512];
    for (size_t len = 0; len < n; len++) {
        sl_arena a;
        sl_arena_init(&a, mem, sizeof(mem));
        assert_int_equal(
            kf_msg_decode(key, dir, v, sl_slice_make(p, len), &a, msg),
            SL_E_MALFORMED);
    }
    assert_true(n < sizeof(more));
    memcpy(more, p, n);
    more[n] = 0;
    sl_arena a;
    sl_arena_init(&a, mem, sizeof(mem));
    assert_int_equal(
        kf_msg_decode(key, dir, v, sl_slice_make(more, n + 1), &a, msg),
        SL_E_MALFORMED);
}

static void
assert_str(sl_slice s, const char *want)
{
    assert_int_equal(s.n, strlen(want));
    assert_memory_equal(s.p, want, s.n);
}

static void
test_alterconfigs_v0_v1(void **state)
{
    (void)state;
    static const uint8_t req[] =
        {
            0,   0,    0,    2, /* resources: 2 */
            2,                  /* TOPIC */
            0,   1,    't',     /* resource_name */
            0,   0,    0,    2, /* configs: 2 */
            0,   12,   'r',  'e', 't', 'e', 'n', 't', 'i', 'o', 'n',
            '.', 'm',  's',  0,   4,   '1', '0', '0', '0', /* value "1000" */
            0,   10,   's',  'e', 'g', 'm', 'e', 'n', 't', '.', 'm',
            's', 0xff, 0xff,    /* value null */
            4,                  /* BROKER */
            0,   1,    '0',     /* "0" */
            0,   0,    0,    0, /* configs: 0 */
            1,                  /* validate_only */
        };
    static const uint8_t resp[] = {
        0,    0,    0,   0,        /* throttle_time_ms */
        0,    0,    0,   2,        /* responses: 2 */
        0,    40,                  /* INVALID_CONFIG */
        0,    3,    'b', 'a', 'd', /* error_message */
        2,    0,    1,   't',      /* TOPIC "t" */
        0,    42,                  /* INVALID_REQUEST */
        0xff, 0xff,                /* error_message null */
        4,    0,    1,   '0',      /* BROKER "0" */
    };
    for (int16_t v = 0; v <= 1; v++) {
        uint8_t mem[4096];
        sl_arena a;
        sl_arena_init(&a, mem, sizeof(mem));
        kf_alterconfigs_req q;
        assert_int_equal(kf_alterconfigs_req_decode(
                             sl_slice_make(req, sizeof(req)), v, &a, &q),
                         0);
        assert_int_equal(q.n_resources, 2);
        assert_int_equal(q.resources[0].resource_type, 2);
        assert_str(q.resources[0].resource_name, "t");
        assert_int_equal(q.resources[0].n_configs, 2);
        assert_str(q.resources[0].configs[0].name, "retention.ms");
        assert_false(q.resources[0].configs[0].value.null);
        assert_str(q.resources[0].configs[0].value.v, "1000");
        assert_true(q.resources[0].configs[1].value.null);
        assert_int_equal(q.resources[1].resource_type, 4);
        assert_int_equal(q.resources[1].n_configs, 0);
        assert_true(q.validate_only);
        sl_buf b = {0};
        assert_int_equal(kf_alterconfigs_req_encode(&b, v, &q), 0);
        assert_int_equal(b.n, sizeof(req));
        assert_memory_equal(b.p, req, sizeof(req));

        kf_alterconfigs_result rs[] = {
            {KF_ERR_INVALID_CONFIG, kf_nslice_str("bad"), 2, sl_slice_str("t")},
            {KF_ERR_INVALID_REQUEST, kf_nslice_null(), 4, sl_slice_str("0")},
        };
        kf_alterconfigs_resp r = {0, rs, 2};
        sl_buf_reset(&b);
        assert_int_equal(kf_alterconfigs_resp_encode(&b, v, &r), 0);
        assert_int_equal(b.n, sizeof(resp));
        assert_memory_equal(b.p, resp, sizeof(resp));
        sl_buf_fini(&b);
        check_hostile(KF_API_ALTER_CONFIGS, KF_REQ, v, req, sizeof(req));
        check_hostile(KF_API_ALTER_CONFIGS, KF_RESP, v, resp, sizeof(resp));
    }
    /* v2 is flexible and not served: the codec refuses it. */
    assert_false(kf_api_supported(KF_API_ALTER_CONFIGS, 2));
    assert_int_equal(kf_req_hdr_version(KF_API_ALTER_CONFIGS, 1), 1);
}

static void
test_incrementalalterconfigs_v0(void **state)
{
    (void)state;
    static const uint8_t req[] = {
        0,    0,    0,   1,   /* resources: 1 */
        2,    0,    1,   't', /* TOPIC "t" */
        0,    0,    0,   3,   /* configs: 3 */
        0,    12,   'r', 'e', 't', 'e', 'n', 't', 'i', 'o',
        'n',  '.',  'm', 's', 0, /* SET */
        0,    4,    '1', '0', '0', '0', 0,   10,  's', 'e',
        'g',  'm',  'e', 'n', 't', '.', 'm', 's', 1, /* DELETE */
        0xff, 0xff,                                  /* null */
        0,    14,   'c', 'l', 'e', 'a', 'n', 'u', 'p', '.',
        'p',  'o',  'l', 'i', 'c', 'y', 2,           /* APPEND */
        0,    6,    'd', 'e', 'l', 'e', 't', 'e', 0, /* validate_only */
    };
    static const uint8_t resp[] = {
        0,    0,    0, 5, /* throttle_time_ms */
        0,    0,    0, 1, /* responses: 1 */
        0,    3,          /* UNKNOWN_TOPIC_OR_PARTITION */
        0xff, 0xff,       /* null */
        2,    0,    1, 't',
    };
    uint8_t mem[4096];
    sl_arena a;
    sl_arena_init(&a, mem, sizeof(mem));
    kf_incrementalalterconfigs_req q;
    assert_int_equal(kf_incrementalalterconfigs_req_decode(
                         sl_slice_make(req, sizeof(req)), 0, &a, &q),
                     0);
    assert_int_equal(q.n_resources, 1);
    kf_incrementalalterconfigs_resource *x = &q.resources[0];
    assert_int_equal(x->n_configs, 3);
    assert_int_equal(x->configs[0].config_operation, KF_CONFIG_OP_SET);
    assert_str(x->configs[0].value.v, "1000");
    assert_int_equal(x->configs[1].config_operation, KF_CONFIG_OP_DELETE);
    assert_true(x->configs[1].value.null);
    assert_int_equal(x->configs[2].config_operation, KF_CONFIG_OP_APPEND);
    assert_str(x->configs[2].name, "cleanup.policy");
    assert_false(q.validate_only);
    sl_buf b = {0};
    assert_int_equal(kf_incrementalalterconfigs_req_encode(&b, 0, &q), 0);
    assert_int_equal(b.n, sizeof(req));
    assert_memory_equal(b.p, req, sizeof(req));
    kf_alterconfigs_result rs = {KF_ERR_UNKNOWN_TOPIC_OR_PARTITION,
                                 kf_nslice_null(), 2, sl_slice_str("t")};
    kf_incrementalalterconfigs_resp r = {5, &rs, 1};
    sl_buf_reset(&b);
    assert_int_equal(kf_incrementalalterconfigs_resp_encode(&b, 0, &r), 0);
    assert_int_equal(b.n, sizeof(resp));
    assert_memory_equal(b.p, resp, sizeof(resp));
    sl_buf_fini(&b);
    check_hostile(KF_API_INCREMENTAL_ALTER_CONFIGS, KF_REQ, 0, req,
                  sizeof(req));
    check_hostile(KF_API_INCREMENTAL_ALTER_CONFIGS, KF_RESP, 0, resp,
                  sizeof(resp));
    assert_int_equal(kf_req_hdr_version(KF_API_INCREMENTAL_ALTER_CONFIGS, 0),
                     1);
    assert_int_equal(kf_resp_hdr_version(KF_API_INCREMENTAL_ALTER_CONFIGS, 0),
                     0);
}

static void
test_incrementalalterconfigs_v1_flexible(void **state)
{
    (void)state;
    static const uint8_t req[] = {
        2,             /* compact array: 1 resource */
        2,   2,   't', /* TOPIC, compact "t" */
        3,             /* compact array: 2 configs */
        13,  'r', 'e', 't', 'e', 'n', 't', 'i', 'o', 'n', '.', 'm',
        's', 0,                  /* SET */
        5,   '1', '0', '0', '0', /* compact nullable "1000" */
        0,                       /* no tags */
        11,  's', 'e', 'g', 'm', 'e', 'n', 't', '.', 'm', 's', 1, /* DELETE */
        0,                                                        /* null */
        0,                                                        /* no tags */
        0, /* resource: no tags */
        1, /* validate_only */
        0, /* no tags */
    };
    static const uint8_t resp[] = {
        0, 0,  0,   0,                /* throttle_time_ms */
        3,                            /* compact array: 2 */
        0, 0,  0,   2,   2,   't', 0, /* NONE, null, TOPIC "t", no tags */
        0, 40, 4,   'b', 'a', 'd',    /* INVALID_CONFIG "bad" */
        2, 2,  'u', 0,                /* TOPIC "u", no tags */
        0,                            /* no tags */
    };
    uint8_t mem[4096];
    sl_arena a;
    sl_arena_init(&a, mem, sizeof(mem));
    kf_incrementalalterconfigs_req q;
    assert_int_equal(kf_incrementalalterconfigs_req_decode(
                         sl_slice_make(req, sizeof(req)), 1, &a, &q),
                     0);
    assert_int_equal(q.n_resources, 1);
    kf_incrementalalterconfigs_resource *x = &q.resources[0];
    assert_str(x->resource_name, "t");
    assert_int_equal(x->n_configs, 2);
    assert_str(x->configs[0].name, "retention.ms");
    assert_str(x->configs[0].value.v, "1000");
    assert_int_equal(x->configs[1].config_operation, KF_CONFIG_OP_DELETE);
    assert_true(x->configs[1].value.null);
    assert_true(q.validate_only);
    sl_buf b = {0};
    assert_int_equal(kf_incrementalalterconfigs_req_encode(&b, 1, &q), 0);
    assert_int_equal(b.n, sizeof(req));
    assert_memory_equal(b.p, req, sizeof(req));
    kf_alterconfigs_result rs[] = {
        {KF_ERR_NONE, kf_nslice_null(), 2, sl_slice_str("t")},
        {KF_ERR_INVALID_CONFIG, kf_nslice_str("bad"), 2, sl_slice_str("u")},
    };
    kf_incrementalalterconfigs_resp r = {0, rs, 2};
    sl_buf_reset(&b);
    assert_int_equal(kf_incrementalalterconfigs_resp_encode(&b, 1, &r), 0);
    assert_int_equal(b.n, sizeof(resp));
    assert_memory_equal(b.p, resp, sizeof(resp));
    sl_buf_fini(&b);
    check_hostile(KF_API_INCREMENTAL_ALTER_CONFIGS, KF_REQ, 1, req,
                  sizeof(req));
    check_hostile(KF_API_INCREMENTAL_ALTER_CONFIGS, KF_RESP, 1, resp,
                  sizeof(resp));
    /* Flexible: request header v2, response header v1. */
    assert_int_equal(kf_req_hdr_version(KF_API_INCREMENTAL_ALTER_CONFIGS, 1),
                     2);
    assert_int_equal(kf_resp_hdr_version(KF_API_INCREMENTAL_ALTER_CONFIGS, 1),
                     1);
    assert_false(kf_api_supported(KF_API_INCREMENTAL_ALTER_CONFIGS, 2));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alterconfigs_v0_v1),
        cmocka_unit_test(test_incrementalalterconfigs_v0),
        cmocka_unit_test(test_incrementalalterconfigs_v1_flexible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
