/*
 * ipc_msg_test.c — unit tests of the IPC message codec (ipc/msg): a round
 * trip of every message, rejection of malformed input (every truncation,
 * bad magic and version, absurd counts, overlong strs, trailing bytes, bad
 * READ and KV_WRITE kinds, bad flags and group states) and the test vectors
 * of docs/ipc.md, tagged with the section they come from.
 */
#include "ipc_msg.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

/* ---- helpers ----------------------------------------------------------- */

static void
assert_slice_eq(sl_slice a, sl_slice b)
{
    assert_int_equal(a.n, b.n);
    if (a.n > 0)
        assert_memory_equal(a.p, b.p, a.n);
}

/* Decode hex text (whitespace ignored) into b. */
static void
hex_to_buf(const char *hex, sl_buf *b)
{
    int hi = -1;

    sl_buf_reset(b);
    for (const char *s = hex; *s; s++) {
        int v;
        if (*s >= '0' && *s <= '9')
            v = *s - '0';
        else if (*s >= 'a' && *s <= 'f')
            v = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F')
            v = *s - 'A' + 10;
        else
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            assert_int_equal(sl_buf_put_u8(b, (uint8_t)(hi << 4 | v)), 0);
            hi = -1;
        }
    }
    assert_int_equal(hi, -1);
}

/* Check the header of an encoded message and return its body. */
static sl_slice
body_of(const sl_buf *b, int op, int32_t status)
{
    ipc_hdr h;
    sl_slice body;

    assert_int_equal(ipc_hdr_decode(sl_slice_make(b->p, b->n), &h, &body), 0);
    assert_int_equal(h.version, IPC_VERSION);
    assert_int_equal(h.op, op);
    assert_int_equal(h.status, status);
    return body;
}

static char long_str[IPC_STR_MAX + 1];

static sl_slice
max_str(void)
{
    memset(long_str, 'x', IPC_STR_MAX);
    return sl_slice_make(long_str, IPC_STR_MAX);
}

/* ---- decoding any body: used by the truncation and garbage tests -------- */

enum kind {
    K_HELLO_REQ,
    K_HELLO_REP,
    K_CREATE_REQ,
    K_DELETE_REQ,
    K_LIST_REP,
    K_DESCRIBE_REQ,
    K_DESCRIBE_REP,
    K_APPEND_REQ,
    K_APPEND_REP,
    K_READ_REQ,
    K_READ_REP,
    K_OFFSETS_REQ,
    K_OFFSETS_REP,
    K_KV_GET_REQ,
    K_KV_GET_REP,
    K_KV_WRITE_REQ,
    K_KV_WRITE_REP,
    K_KV_SCAN_REQ,
    K_KV_SCAN_REP,
    K_JOIN_REQ,
    K_JOIN_REP,
    K_SYNC_REQ,
    K_SYNC_REP,
    K_HEARTBEAT_REQ,
    K_GROUP_ERROR_REP,
    K_LEAVE_REQ,
    K_LEAVE_REP,
    K_GROUP_LIST_REP,
    K_NAMES_REQ,
    K_GROUP_DESCRIBE_REP,
    K_GROUP_DELETE_REP,
    K_COMMIT_REQ,
    K_COMMIT_REP,
    K_FETCH_REQ,
    K_FETCH_REP,
    K_PRODUCER_ID_REQ,
    K_PRODUCER_ID_REP,
    K_ADD_PARTITIONS_REQ,
    K_ALTER_REQ,
    K_ALTER_REP,
    K_ERR,
    K_EMPTY,
    K_COUNT_
};

/* Decode a body as kind k and walk every element; returns the decoder's
 * code and checks that the walk yields exactly the announced count. */
static int
decode_any(enum kind k, sl_slice body)
{
    int rc;
    uint32_t n = 0;

    switch (k) {
    case K_HELLO_REQ: {
        ipc_hello_req m;
        return ipc_hello_req_decode(body, &m);
    }
    case K_HELLO_REP: {
        ipc_hello_rep m;
        return ipc_hello_rep_decode(body, &m);
    }
    case K_CREATE_REQ: {
        ipc_topic_create_req m;
        ipc_kv kv;
        if ((rc = ipc_topic_create_req_decode(body, &m)) != 0)
            return rc;
        while (ipc_topic_create_req_next(&m, &kv))
            n++;
        assert_int_equal(n, m.nconfigs);
        return 0;
    }
    case K_DELETE_REQ:
    case K_DESCRIBE_REQ: {
        sl_slice name;
        return k == K_DELETE_REQ ? ipc_topic_delete_req_decode(body, &name)
                                 : ipc_topic_describe_req_decode(body, &name);
    }
    case K_LIST_REP: {
        ipc_topic_list_rep m;
        ipc_topic_entry e;
        if ((rc = ipc_topic_list_rep_decode(body, &m)) != 0)
            return rc;
        while (ipc_topic_list_rep_next(&m, &e))
            n++;
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_DESCRIBE_REP: {
        ipc_topic_describe_rep m;
        ipc_kv kv;
        ipc_partition_info p;
        uint32_t np = 0;
        if ((rc = ipc_topic_describe_rep_decode(body, &m)) != 0)
            return rc;
        while (ipc_topic_describe_rep_next_config(&m, &kv))
            n++;
        while (ipc_topic_describe_rep_next_part(&m, &p))
            np++;
        assert_int_equal(n, m.nconfigs);
        assert_int_equal(np, m.nparts);
        return 0;
    }
    case K_APPEND_REQ: {
        ipc_append_req m;
        ipc_append_entry e;
        if ((rc = ipc_append_req_decode(body, &m)) != 0)
            return rc;
        while (ipc_append_req_next(&m, &e))
            n++;
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_APPEND_REP: {
        ipc_append_rep m;
        ipc_append_result r;
        if ((rc = ipc_append_rep_decode(body, &m)) != 0)
            return rc;
        while (ipc_append_rep_next(&m, &r))
            n++;
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_READ_REQ: {
        ipc_read_req m;
        ipc_read_entry e;
        if ((rc = ipc_read_req_decode(body, &m)) != 0)
            return rc;
        while (ipc_read_req_next(&m, &e))
            n++;
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_READ_REP: {
        ipc_read_rep m;
        ipc_read_result r;
        if ((rc = ipc_read_rep_decode(body, &m)) != 0)
            return rc;
        while (ipc_read_rep_next(&m, &r))
            n++;
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_OFFSETS_REQ: {
        ipc_offsets_req m;
        ipc_offsets_entry e;
        if ((rc = ipc_offsets_req_decode(body, &m)) != 0)
            return rc;
        while (ipc_offsets_req_next(&m, &e))
            n++;
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_OFFSETS_REP: {
        ipc_offsets_rep m;
        ipc_offsets_result r;
        if ((rc = ipc_offsets_rep_decode(body, &m)) != 0)
            return rc;
        while (ipc_offsets_rep_next(&m, &r))
            n++;
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_KV_GET_REQ: {
        ipc_kv_get_req m;
        sl_slice key;
        if ((rc = ipc_kv_get_req_decode(body, &m)) != 0)
            return rc;
        while (ipc_kv_get_req_next(&m, &key))
            n++;
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_KV_GET_REP: {
        ipc_kv_get_rep m;
        ipc_kv_entry e;
        if ((rc = ipc_kv_get_rep_decode(body, &m)) != 0)
            return rc;
        while (ipc_kv_get_rep_next(&m, &e))
            n++;
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_KV_WRITE_REQ: {
        ipc_kv_write_req m;
        ipc_kv_op op;
        if ((rc = ipc_kv_write_req_decode(body, &m)) != 0)
            return rc;
        while (ipc_kv_write_req_next(&m, &op))
            n++;
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_KV_WRITE_REP: {
        int64_t rev;
        return ipc_kv_write_rep_decode(body, &rev);
    }
    case K_KV_SCAN_REQ: {
        ipc_kv_scan_req m;
        return ipc_kv_scan_req_decode(body, &m);
    }
    case K_KV_SCAN_REP: {
        ipc_kv_scan_rep m;
        ipc_kv_entry e;
        if ((rc = ipc_kv_scan_rep_decode(body, &m)) != 0)
            return rc;
        while (ipc_kv_scan_rep_next(&m, &e))
            n++;
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_JOIN_REQ: {
        ipc_join_req m;
        ipc_group_protocol p;
        if ((rc = ipc_join_req_decode(body, &m)) != 0)
            return rc;
        while (ipc_join_req_next(&m, &p))
            n++;
        assert_int_equal(n, m.nprotocols);
        return 0;
    }
    case K_JOIN_REP: {
        ipc_join_rep m;
        ipc_join_member x;
        if ((rc = ipc_join_rep_decode(body, &m)) != 0)
            return rc;
        while (ipc_join_rep_next(&m, &x))
            n++;
        assert_int_equal(n, m.nmembers);
        return 0;
    }
    case K_SYNC_REQ: {
        ipc_sync_req m;
        ipc_sync_assignment a;
        if ((rc = ipc_sync_req_decode(body, &m)) != 0)
            return rc;
        while (ipc_sync_req_next(&m, &a))
            n++;
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_SYNC_REP: {
        ipc_sync_rep m;
        return ipc_sync_rep_decode(body, &m);
    }
    case K_HEARTBEAT_REQ: {
        ipc_heartbeat_req m;
        return ipc_heartbeat_req_decode(body, &m);
    }
    case K_GROUP_ERROR_REP: {
        int32_t err;
        return ipc_group_error_rep_decode(body, &err);
    }
    case K_LEAVE_REQ: {
        ipc_leave_req m;
        ipc_leave_member x;
        if ((rc = ipc_leave_req_decode(body, &m)) != 0)
            return rc;
        while (ipc_leave_req_next(&m, &x))
            n++;
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_LEAVE_REP:
    case K_GROUP_DELETE_REP:
    case K_COMMIT_REP: {
        ipc_errors_rep m;
        int32_t err;
        rc = k == K_LEAVE_REP          ? ipc_leave_rep_decode(body, &m)
             : k == K_GROUP_DELETE_REP ? ipc_group_delete_rep_decode(body, &m)
                                       : ipc_commit_rep_decode(body, &m);
        if (rc != 0)
            return rc;
        while (ipc_errors_rep_next(&m, &err))
            n++;
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_GROUP_LIST_REP: {
        ipc_group_list_rep m;
        ipc_group_listing g;
        if ((rc = ipc_group_list_rep_decode(body, &m)) != 0)
            return rc;
        while (ipc_group_list_rep_next(&m, &g))
            n++;
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_NAMES_REQ: {
        ipc_names_req m;
        sl_slice name;
        if ((rc = ipc_names_req_decode(body, &m)) != 0)
            return rc;
        while (ipc_names_req_next(&m, &name))
            n++;
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_GROUP_DESCRIBE_REP: {
        ipc_group_describe_rep m;
        ipc_group_info g;
        ipc_group_member_info x;
        if ((rc = ipc_group_describe_rep_decode(body, &m)) != 0)
            return rc;
        while (ipc_group_describe_rep_next(&m, &g)) {
            uint32_t nm = 0;
            while (ipc_group_info_next_member(&g, &x))
                nm++;
            assert_int_equal(nm, g.nmembers);
            n++;
        }
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_COMMIT_REQ: {
        ipc_commit_req m;
        ipc_commit_entry e;
        if ((rc = ipc_commit_req_decode(body, &m)) != 0)
            return rc;
        while (ipc_commit_req_next(&m, &e))
            n++;
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_FETCH_REQ: {
        ipc_offset_fetch_req m;
        ipc_topic_partition tp;
        if ((rc = ipc_offset_fetch_req_decode(body, &m)) != 0)
            return rc;
        while (ipc_offset_fetch_req_next(&m, &tp))
            n++;
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_FETCH_REP: {
        ipc_offset_fetch_rep m;
        ipc_committed c;
        if ((rc = ipc_offset_fetch_rep_decode(body, &m)) != 0)
            return rc;
        while (ipc_offset_fetch_rep_next(&m, &c))
            n++;
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_PRODUCER_ID_REQ:
        return ipc_producer_id_req_decode(body);
    case K_PRODUCER_ID_REP: {
        int64_t id;
        int32_t epoch;
        return ipc_producer_id_rep_decode(body, &id, &epoch);
    }
    case K_ADD_PARTITIONS_REQ: {
        sl_slice name;
        int32_t count;
        uint8_t vo;
        return ipc_add_partitions_req_decode(body, &name, &count, &vo);
    }
    case K_ALTER_REQ: {
        ipc_alter_configs_req m;
        ipc_cfg_op o;
        if ((rc = ipc_alter_configs_req_decode(body, &m)) != 0)
            return rc;
        while (ipc_alter_configs_req_next(&m, &o) == 1)
            n++;
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_ALTER_REP: {
        ipc_alter_configs_rep m;
        ipc_kv kv;
        if ((rc = ipc_alter_configs_rep_decode(body, &m)) != 0)
            return rc;
        while (ipc_alter_configs_rep_next(&m, &kv) == 1)
            n++;
        assert_int_equal(n, m.count);
        return 0;
    }
    case K_ERR: {
        sl_slice text;
        return ipc_err_decode(body, &text);
    }
    case K_EMPTY:
        return ipc_empty_decode(body);
    case K_COUNT_:
        break;
    }
    fail();
    return -1;
}

/* Sample values shared by the round trips. */
static const ipc_kv sample_kvs[] = {
    {{(const uint8_t *)"retention.ms", 12}, {(const uint8_t *)"86400000", 8}},
    {{(const uint8_t *)"", 0}, {(const uint8_t *)"", 0}},
    {{(const uint8_t *)"cleanup.policy", 14}, {(const uint8_t *)"delete", 6}},
};

static void
check_kvs(const ipc_kv *got, const ipc_kv *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_slice_eq(got[i].key, want[i].key);
        assert_slice_eq(got[i].value, want[i].value);
    }
}

/* Build one valid encoding of each kind, for the rejection tests. */
static void
encode_sample(enum kind k, sl_buf *b)
{
    sl_slice t = sl_slice_str("orders");
    int rc = -1;

    switch (k) {
    case K_HELLO_REQ: {
        ipc_hello_req m = {sl_slice_str("mqtt-1"), 0};
        rc = ipc_hello_req_encode(b, &m);
        break;
    }
    case K_HELLO_REP: {
        ipc_hello_rep m = {sl_slice_str("0.1.0"),
                           1,
                           1,
                           {1, 2, 3},
                           sl_slice_str("/var/lib/sluice"),
                           sl_slice_str("ipc:///run/sluice/ss.sock.events")};
        rc = ipc_hello_rep_encode(b, &m);
        break;
    }
    case K_CREATE_REQ:
        rc = ipc_topic_create_req_encode(b, t, 3, sample_kvs, 3);
        break;
    case K_DELETE_REQ:
        rc = ipc_topic_delete_req_encode(b, t);
        break;
    case K_LIST_REP: {
        ipc_topic_entry e[2] = {{t, 3}, {sl_slice_str("mqtt"), 16}};
        rc = ipc_topic_list_rep_encode(b, e, 2);
        break;
    }
    case K_DESCRIBE_REQ:
        rc = ipc_topic_describe_req_encode(b, t);
        break;
    case K_DESCRIBE_REP: {
        ipc_partition_info p[2] = {{0, 0, 10, 1, 4096}, {1, 5, 7, 2, 100}};
        rc = ipc_topic_describe_rep_encode(b, t, 2, sample_kvs, 2, p, 2);
        break;
    }
    case K_APPEND_REQ: {
        ipc_append_entry e[2] = {{t, 0, sl_slice_str("batchbytes")},
                                 {t, 1, sl_slice_make(NULL, 0)}};
        rc = ipc_append_req_encode(b, 0, e, 2);
        break;
    }
    case K_APPEND_REP: {
        ipc_append_result r[2] = {{0, 10, 19, -1, 0},
                                  {SL_E_NOPART, -1, -1, -1, -1}};
        rc = ipc_append_rep_encode(b, r, 2);
        break;
    }
    case K_READ_REQ: {
        ipc_read_entry e[2] = {{t, 0, 42, 65536}, {t, 1, 0, 1}};
        rc = ipc_read_req_encode(b, IPC_READ_INLINE, e, 2);
        break;
    }
    case K_READ_REP: {
        ipc_read_result r[3];
        memset(r, 0, sizeof(r));
        r[0].kind = IPC_READ_NONE;
        r[1].kind = IPC_READ_DESCRIPTOR;
        r[1].path = sl_slice_str("orders/0/00000000000000000000.log");
        r[1].length = 61;
        r[2].kind = IPC_READ_INLINE_DATA;
        r[2].data = sl_slice_str("abc");
        rc = ipc_read_rep_encode(b, r, 3);
        break;
    }
    case K_OFFSETS_REQ: {
        ipc_offsets_entry e[2] = {{t, 0, IPC_OFFSET_LATEST}, {t, 1, 1000}};
        rc = ipc_offsets_req_encode(b, e, 2);
        break;
    }
    case K_OFFSETS_REP: {
        ipc_offsets_result r[2] = {{0, 10, -1}, {0, -1, -1}};
        rc = ipc_offsets_rep_encode(b, r, 2);
        break;
    }
    case K_KV_GET_REQ: {
        sl_slice keys[3] = {sl_slice_str("mq/s/c1"), sl_slice_make(NULL, 0),
                            sl_slice_str("k")};
        rc = ipc_kv_get_req_encode(b, keys, 3);
        break;
    }
    case K_KV_GET_REP: {
        ipc_kv_entry e[2] = {
            {.status = 0, .version = 5, .value = sl_slice_str("hi")},
            {.status = SL_E_NOKEY}};
        rc = ipc_kv_get_rep_encode(b, 7, e, 2);
        break;
    }
    case K_KV_WRITE_REQ: {
        ipc_kv_op ops[3] = {
            {IPC_KV_PUT, sl_slice_str("a"), 0, sl_slice_str("v")},
            {IPC_KV_DELETE, sl_slice_str("b"), IPC_KV_ANY, {NULL, 0}},
            {IPC_KV_CHECK, sl_slice_str("c"), 9, {NULL, 0}}};
        rc = ipc_kv_write_req_encode(b, 0, ops, 3);
        break;
    }
    case K_KV_WRITE_REP:
        rc = ipc_kv_write_rep_encode(b, 42);
        break;
    case K_KV_SCAN_REQ: {
        ipc_kv_scan_req m = {sl_slice_str("mq/"), sl_slice_str("mq/a"), 10,
                             4096};
        rc = ipc_kv_scan_req_encode(b, &m);
        break;
    }
    case K_KV_SCAN_REP: {
        ipc_kv_entry e[2] = {
            {.key = sl_slice_str("mq/a"), .version = 3, .value = {NULL, 0}},
            {.key = sl_slice_str("mq/b"),
             .version = 4,
             .value = sl_slice_str("xyz")}};
        rc = ipc_kv_scan_rep_encode(b, 9, 1, e, 2);
        break;
    }
    case K_JOIN_REQ: {
        ipc_join_req m = {.group = sl_slice_str("g"),
                          .member_id = sl_slice_str("m-1"),
                          .protocol_type = sl_slice_str("consumer"),
                          .session_timeout_ms = 10000,
                          .rebalance_timeout_ms = 30000,
                          .client_id = sl_slice_str("cli"),
                          .client_host = sl_slice_str("/10.0.0.1"),
                          .flags = IPC_JOIN_REQUIRE_MEMBER_ID};
        ipc_group_protocol p[2] = {{sl_slice_str("range"), sl_slice_str("md")},
                                   {sl_slice_str("roundrobin"), {NULL, 0}}};
        rc = ipc_join_req_encode(b, &m, p, 2);
        break;
    }
    case K_JOIN_REP: {
        ipc_join_rep m = {.generation = 3,
                          .protocol_name = sl_slice_str("range"),
                          .leader = sl_slice_str("m-1"),
                          .member_id = sl_slice_str("m-1")};
        ipc_join_member x[2] = {
            {sl_slice_str("m-1"), {NULL, 0}, sl_slice_str("md1")},
            {sl_slice_str("m-2"), sl_slice_str("i-2"), {NULL, 0}}};
        rc = ipc_join_rep_encode(b, &m, x, 2);
        break;
    }
    case K_SYNC_REQ: {
        ipc_sync_req m = {.group = sl_slice_str("g"),
                          .generation = 3,
                          .member_id = sl_slice_str("m-1"),
                          .protocol_type = sl_slice_str("consumer"),
                          .protocol_name = sl_slice_str("range")};
        ipc_sync_assignment a[2] = {{sl_slice_str("m-1"), sl_slice_str("a1")},
                                    {sl_slice_str("m-2"), {NULL, 0}}};
        rc = ipc_sync_req_encode(b, &m, a, 2);
        break;
    }
    case K_SYNC_REP: {
        ipc_sync_rep m = {0, sl_slice_str("consumer"), sl_slice_str("range"),
                          sl_slice_str("assignment")};
        rc = ipc_sync_rep_encode(b, &m);
        break;
    }
    case K_HEARTBEAT_REQ: {
        ipc_heartbeat_req m = {sl_slice_str("g"), 3, sl_slice_str("m-1"),
                               sl_slice_str("i-1")};
        rc = ipc_heartbeat_req_encode(b, &m);
        break;
    }
    case K_GROUP_ERROR_REP:
        rc = ipc_group_error_rep_encode(b, IPC_OP_GROUP_HEARTBEAT,
                                        SL_E_REBALANCE);
        break;
    case K_LEAVE_REQ: {
        ipc_leave_member x[2] = {{sl_slice_str("m-1"), {NULL, 0}},
                                 {{NULL, 0}, sl_slice_str("i-2")}};
        rc = ipc_leave_req_encode(b, sl_slice_str("g"), x, 2);
        break;
    }
    case K_LEAVE_REP: {
        int32_t errs[2] = {0, SL_E_UNKNOWN_MEMBER};
        rc = ipc_leave_rep_encode(b, 0, errs, 2);
        break;
    }
    case K_GROUP_LIST_REP: {
        ipc_group_listing g[2] = {
            {sl_slice_str("g"), sl_slice_str("consumer"), IPC_GROUP_STABLE},
            {sl_slice_str("h"), {NULL, 0}, IPC_GROUP_EMPTY}};
        rc = ipc_group_list_rep_encode(b, g, 2);
        break;
    }
    case K_NAMES_REQ: {
        sl_slice names[2] = {sl_slice_str("g"), sl_slice_str("h")};
        rc = ipc_names_req_encode(b, IPC_OP_GROUP_DESCRIBE, names, 2);
        break;
    }
    case K_GROUP_DESCRIBE_REP: {
        ipc_group_info g = {.group = sl_slice_str("g"),
                            .state = IPC_GROUP_STABLE,
                            .protocol_type = sl_slice_str("consumer"),
                            .protocol_name = sl_slice_str("range"),
                            .nmembers = 2};
        ipc_group_member_info x = {sl_slice_str("m-1"), {NULL, 0},
                                   sl_slice_str("cli"), sl_slice_str("/h"),
                                   sl_slice_str("md"),  sl_slice_str("as")};
        ipc_group_info h = {.group = sl_slice_str("h"),
                            .state = IPC_GROUP_DEAD};
        if ((rc = ipc_group_describe_rep_begin(b, 2)) == 0 &&
            (rc = ipc_group_describe_rep_group(b, &g)) == 0 &&
            (rc = ipc_group_describe_rep_member(b, &x)) == 0 &&
            (rc = ipc_group_describe_rep_member(b, &x)) == 0)
            rc = ipc_group_describe_rep_group(b, &h);
        break;
    }
    case K_GROUP_DELETE_REP: {
        int32_t errs[2] = {SL_E_NOTEMPTY, SL_E_NOGROUP};
        rc = ipc_group_delete_rep_encode(b, errs, 2);
        break;
    }
    case K_COMMIT_REQ: {
        ipc_commit_req m = {.group = sl_slice_str("g"),
                            .generation = 3,
                            .member_id = sl_slice_str("m-1")};
        ipc_commit_entry e[2] = {{t, 0, 100, 2, sl_slice_str("meta")},
                                 {t, 1, 7, -1, {NULL, 0}}};
        rc = ipc_commit_req_encode(b, &m, e, 2);
        break;
    }
    case K_COMMIT_REP: {
        int32_t errs[2] = {0, SL_E_GENERATION};
        rc = ipc_commit_rep_encode(b, errs, 2);
        break;
    }
    case K_FETCH_REQ: {
        ipc_topic_partition tp[2] = {{t, 0}, {t, 1}};
        rc = ipc_offset_fetch_req_encode(b, sl_slice_str("g"), 0, tp, 2);
        break;
    }
    case K_FETCH_REP: {
        ipc_committed c[2] = {{t, 0, 100, 2, sl_slice_str("meta"), 0},
                              {t, 1, -1, -1, {NULL, 0}, 0}};
        rc = ipc_offset_fetch_rep_encode(b, 0, c, 2);
        break;
    }
    case K_PRODUCER_ID_REQ:
        rc = ipc_producer_id_req_encode(b);
        break;
    case K_PRODUCER_ID_REP:
        rc = ipc_producer_id_rep_encode(b, 1000, 0);
        break;
    case K_ADD_PARTITIONS_REQ:
        rc = ipc_add_partitions_req_encode(b, t, 8, 1);
        break;
    case K_ALTER_REQ: {
        ipc_cfg_op ops[2] = {
            {IPC_CFG_SET, sl_slice_str("retention.ms"), sl_slice_str("1000")},
            {IPC_CFG_DELETE, sl_slice_str("segment.ms"), {NULL, 0}}};
        rc = ipc_alter_configs_req_encode(b, t, 1, 0, ops, 2);
        break;
    }
    case K_ALTER_REP:
        rc = ipc_alter_configs_rep_encode(b, sample_kvs, 3);
        break;
    case K_ERR:
        rc = ipc_err_encode(b, IPC_OP_APPEND, SL_E_NOTOPIC, "no such topic");
        break;
    case K_EMPTY:
        rc = ipc_topic_list_req_encode(b);
        break;
    case K_COUNT_:
        break;
    }
    assert_int_equal(rc, 0);
}

/* ---- round trips ------------------------------------------------------- */

static void
test_hello_roundtrip(void **state)
{
    (void)state;
    sl_buf b = {0};
    ipc_hello_req q = {max_str(), 0xdeadbeef}, q2;
    ipc_hello_rep p = {sl_slice_str("0.1.0"), 1, 7, {0}, max_str(),
                       sl_slice_make(NULL, 0)},
                  p2;

    for (int i = 0; i < IPC_INSTANCE_ID_LEN; i++)
        p.instance_id[i] = (uint8_t)(0xf0 + i);

    assert_int_equal(ipc_hello_req_encode(&b, &q), 0);
    assert_int_equal(ipc_hello_req_decode(body_of(&b, IPC_OP_HELLO, 0), &q2),
                     0);
    assert_slice_eq(q2.client_name, q.client_name);
    assert_int_equal(q2.flags, 0xdeadbeef);

    assert_int_equal(ipc_hello_rep_encode(&b, &p), 0);
    assert_int_equal(ipc_hello_rep_decode(body_of(&b, IPC_OP_HELLO, 0), &p2),
                     0);
    assert_slice_eq(p2.server_version, p.server_version);
    assert_int_equal(p2.proto_min, 1);
    assert_int_equal(p2.proto_max, 7);
    assert_memory_equal(p2.instance_id, p.instance_id, IPC_INSTANCE_ID_LEN);
    assert_slice_eq(p2.data_dir, p.data_dir);
    assert_int_equal(p2.events_url.n, 0);
    sl_buf_fini(&b);
}

static void
test_topic_create_roundtrip(void **state)
{
    (void)state;
    sl_buf b = {0};
    ipc_topic_create_req m;
    ipc_kv got[3], kv;
    ipc_kv big[1] = {{max_str(), max_str()}};
    size_t n = 0;

    assert_int_equal(ipc_topic_create_req_encode(&b, sl_slice_str("orders"), -5,
                                                 sample_kvs, 3),
                     0);
    assert_int_equal(
        ipc_topic_create_req_decode(body_of(&b, IPC_OP_TOPIC_CREATE, 0), &m),
        0);
    assert_true(sl_slice_eq_str(m.name, "orders"));
    assert_int_equal(m.partitions, -5);
    assert_int_equal(m.nconfigs, 3);
    while (n < 3 && ipc_topic_create_req_next(&m, &got[n]))
        n++;
    assert_int_equal(n, 3);
    assert_int_equal(ipc_topic_create_req_next(&m, &kv), 0);
    assert_int_equal(ipc_topic_create_req_next(&m, &kv), 0);
    check_kvs(got, sample_kvs, 3);

    /* No configs, and a config of maximal strs. */
    assert_int_equal(
        ipc_topic_create_req_encode(&b, sl_slice_str("t"), 1, NULL, 0), 0);
    assert_int_equal(
        ipc_topic_create_req_decode(body_of(&b, IPC_OP_TOPIC_CREATE, 0), &m),
        0);
    assert_int_equal(m.nconfigs, 0);
    assert_int_equal(ipc_topic_create_req_next(&m, &kv), 0);

    assert_int_equal(ipc_topic_create_req_encode(&b, max_str(), 1, big, 1), 0);
    assert_int_equal(
        ipc_topic_create_req_decode(body_of(&b, IPC_OP_TOPIC_CREATE, 0), &m),
        0);
    assert_slice_eq(m.name, max_str());
    assert_int_equal(ipc_topic_create_req_next(&m, &kv), 1);
    check_kvs(&kv, big, 1);
    sl_buf_fini(&b);
}

static void
test_topic_delete_describe_req_roundtrip(void **state)
{
    (void)state;
    sl_buf b = {0};
    sl_slice name;

    assert_int_equal(ipc_topic_delete_req_encode(&b, sl_slice_str("orders")),
                     0);
    assert_int_equal(
        ipc_topic_delete_req_decode(body_of(&b, IPC_OP_TOPIC_DELETE, 0), &name),
        0);
    assert_true(sl_slice_eq_str(name, "orders"));

    assert_int_equal(ipc_topic_describe_req_encode(&b, max_str()), 0);
    assert_int_equal(ipc_topic_describe_req_decode(
                         body_of(&b, IPC_OP_TOPIC_DESCRIBE, 0), &name),
                     0);
    assert_slice_eq(name, max_str());

    assert_int_equal(ipc_topic_list_req_encode(&b), 0);
    assert_int_equal(ipc_empty_decode(body_of(&b, IPC_OP_TOPIC_LIST, 0)), 0);
    sl_buf_fini(&b);
}

static void
test_topic_list_roundtrip(void **state)
{
    (void)state;
    sl_buf b = {0};
    ipc_topic_entry e[3] = {{sl_slice_str("a"), 1},
                            {max_str(), INT32_MAX},
                            {sl_slice_make(NULL, 0), INT32_MIN}},
                    g;
    ipc_topic_list_rep m;

    assert_int_equal(ipc_topic_list_rep_encode(&b, e, 3), 0);
    assert_int_equal(
        ipc_topic_list_rep_decode(body_of(&b, IPC_OP_TOPIC_LIST, 0), &m), 0);
    assert_int_equal(m.count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ipc_topic_list_rep_next(&m, &g), 1);
        assert_slice_eq(g.name, e[i].name);
        assert_int_equal(g.partitions, e[i].partitions);
    }
    assert_int_equal(ipc_topic_list_rep_next(&m, &g), 0);

    assert_int_equal(ipc_topic_list_rep_encode(&b, NULL, 0), 0);
    assert_int_equal(
        ipc_topic_list_rep_decode(body_of(&b, IPC_OP_TOPIC_LIST, 0), &m), 0);
    assert_int_equal(m.count, 0);
    assert_int_equal(ipc_topic_list_rep_next(&m, &g), 0);
    sl_buf_fini(&b);
}

/* [IPC-4.23] TIER_STATUS: request, reply round trip, short element. */
static void
test_tier_status_roundtrip(void **state)
{
    (void)state;
    sl_buf b = {0};
    sl_slice t;
    ipc_tier_part p[2] = {{0, 10, 20, 300, 0, 10, 999, 2, 1, 0,
                           sl_slice_str("")},
                          {INT32_MAX, INT64_MAX, INT64_MIN, -1, -1, -1, 0, 0, 0,
                           7, sl_slice_str("PUT x: HTTP 503")}},
                  g;
    ipc_tier_status_rep m;

    assert_int_equal(ipc_tier_status_req_encode(&b, sl_slice_str("orders")), 0);
    assert_int_equal(
        ipc_tier_status_req_decode(body_of(&b, IPC_OP_TIER_STATUS, 0), &t), 0);
    assert_slice_eq(t, sl_slice_str("orders"));
    assert_int_equal(ipc_tier_status_rep_encode(&b, p, 2), 0);
    sl_slice body = body_of(&b, IPC_OP_TIER_STATUS, 0);
    assert_int_equal(ipc_tier_status_rep_decode(body, &m), 0);
    assert_int_equal(m.count, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ipc_tier_status_rep_next(&m, &g), 1);
        assert_int_equal(g.partition, p[i].partition);
        assert_int_equal(g.local_start, p[i].local_start);
        assert_int_equal(g.local_end, p[i].local_end);
        assert_int_equal(g.remote_end, p[i].remote_end);
        assert_int_equal(g.remote_bytes, p[i].remote_bytes);
        assert_int_equal(g.pending_offload, p[i].pending_offload);
        assert_int_equal(g.failures, p[i].failures);
        assert_slice_eq(g.last_error, p[i].last_error);
    }
    assert_int_equal(ipc_tier_status_rep_next(&m, &g), 0);
    /* Every truncation is refused. */
    for (size_t n = 0; n < body.n; n++)
        assert_int_equal(
            ipc_tier_status_rep_decode(sl_slice_make(body.p, n), &m),
            SL_E_MALFORMED);
    sl_buf_fini(&b);
}

static void
test_topic_describe_rep_roundtrip(void **state)
{
    (void)state;
    sl_buf b = {0};
    ipc_partition_info p[2] = {{0, 0, INT64_MAX, 3, 1 << 20},
                               {INT32_MAX, INT64_MIN, -1, -2, -3}},
                       gp;
    ipc_kv kv[3];
    ipc_topic_describe_rep m;

    assert_int_equal(ipc_topic_describe_rep_encode(&b, sl_slice_str("orders"),
                                                   2, sample_kvs, 3, p, 2),
                     0);
    assert_int_equal(ipc_topic_describe_rep_decode(
                         body_of(&b, IPC_OP_TOPIC_DESCRIBE, 0), &m),
                     0);
    assert_true(sl_slice_eq_str(m.name, "orders"));
    assert_int_equal(m.partitions, 2);
    assert_int_equal(m.nconfigs, 3);
    assert_int_equal(m.nparts, 2);
    /* Parts can be read before configs: the two cursors are independent. */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ipc_topic_describe_rep_next_part(&m, &gp), 1);
        assert_int_equal(gp.partition, p[i].partition);
        assert_int_equal(gp.log_start, p[i].log_start);
        assert_int_equal(gp.high_watermark, p[i].high_watermark);
        assert_int_equal(gp.segments, p[i].segments);
        assert_int_equal(gp.bytes, p[i].bytes);
    }
    assert_int_equal(ipc_topic_describe_rep_next_part(&m, &gp), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ipc_topic_describe_rep_next_config(&m, &kv[i]), 1);
    assert_int_equal(ipc_topic_describe_rep_next_config(&m, &kv[0]), 0);
    check_kvs(kv, sample_kvs, 3);

    assert_int_equal(
        ipc_topic_describe_rep_encode(&b, max_str(), 0, NULL, 0, NULL, 0), 0);
    assert_int_equal(ipc_topic_describe_rep_decode(
                         body_of(&b, IPC_OP_TOPIC_DESCRIBE, 0), &m),
                     0);
    assert_slice_eq(m.name, max_str());
    assert_int_equal(m.nconfigs, 0);
    assert_int_equal(m.nparts, 0);
    assert_int_equal(ipc_topic_describe_rep_next_config(&m, &kv[0]), 0);
    assert_int_equal(ipc_topic_describe_rep_next_part(&m, &gp), 0);
    sl_buf_fini(&b);
}

static void
test_append_roundtrip(void **state)
{
    (void)state;
    sl_buf b = {0};
    static uint8_t big[70000];
    ipc_append_entry e[3] = {{sl_slice_str("orders"), 0, sl_slice_str("x")},
                             {max_str(), -1, sl_slice_make(big, sizeof(big))},
                             {sl_slice_make(NULL, 0), 7,
                              sl_slice_make(NULL, 0)}},
                     ge;
    ipc_append_result r[2] = {{0, 100, 109, 1700000000000, 5},
                              {SL_E_CRC, -1, -1, -1, INT64_MIN}},
                      gr;
    ipc_append_req q;
    ipc_append_rep p;

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 31);
    assert_int_equal(ipc_append_req_encode(&b, 0x12345678, e, 3), 0);
    assert_int_equal(ipc_append_req_decode(body_of(&b, IPC_OP_APPEND, 0), &q),
                     0);
    assert_int_equal(q.flags, 0x12345678);
    assert_int_equal(q.count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ipc_append_req_next(&q, &ge), 1);
        assert_slice_eq(ge.topic, e[i].topic);
        assert_int_equal(ge.partition, e[i].partition);
        assert_slice_eq(ge.batches, e[i].batches);
    }
    assert_int_equal(ipc_append_req_next(&q, &ge), 0);

    assert_int_equal(ipc_append_rep_encode(&b, r, 2), 0);
    assert_int_equal(ipc_append_rep_decode(body_of(&b, IPC_OP_APPEND, 0), &p),
                     0);
    assert_int_equal(p.count, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ipc_append_rep_next(&p, &gr), 1);
        assert_int_equal(gr.status, r[i].status);
        assert_int_equal(gr.base_offset, r[i].base_offset);
        assert_int_equal(gr.last_offset, r[i].last_offset);
        assert_int_equal(gr.append_time, r[i].append_time);
        assert_int_equal(gr.log_start, r[i].log_start);
    }
    assert_int_equal(ipc_append_rep_next(&p, &gr), 0);

    assert_int_equal(ipc_append_req_encode(&b, 0, NULL, 0), 0);
    assert_int_equal(ipc_append_req_decode(body_of(&b, IPC_OP_APPEND, 0), &q),
                     0);
    assert_int_equal(q.count, 0);
    assert_int_equal(ipc_append_req_next(&q, &ge), 0);
    assert_int_equal(ipc_append_rep_encode(&b, NULL, 0), 0);
    assert_int_equal(ipc_append_rep_decode(body_of(&b, IPC_OP_APPEND, 0), &p),
                     0);
    assert_int_equal(p.count, 0);
    assert_int_equal(ipc_append_rep_next(&p, &gr), 0);
    sl_buf_fini(&b);
}

static void
test_read_roundtrip(void **state)
{
    (void)state;
    sl_buf b = {0};
    ipc_read_entry e[2] = {{sl_slice_str("orders"), 3, 42, 1 << 20},
                           {max_str(), 0, -2, 0}},
                   ge;
    ipc_read_result r[3], gr;
    ipc_read_req q;
    ipc_read_rep p;

    assert_int_equal(ipc_read_req_encode(&b, IPC_READ_INLINE, e, 2), 0);
    assert_int_equal(ipc_read_req_decode(body_of(&b, IPC_OP_READ, 0), &q), 0);
    assert_int_equal(q.flags, IPC_READ_INLINE);
    assert_int_equal(q.count, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ipc_read_req_next(&q, &ge), 1);
        assert_slice_eq(ge.topic, e[i].topic);
        assert_int_equal(ge.partition, e[i].partition);
        assert_int_equal(ge.offset, e[i].offset);
        assert_int_equal(ge.max_bytes, e[i].max_bytes);
    }
    assert_int_equal(ipc_read_req_next(&q, &ge), 0);

    memset(r, 0, sizeof(r));
    r[0].status = SL_E_RANGE;
    r[0].high_watermark = 10;
    r[0].log_start = 2;
    r[0].kind = IPC_READ_NONE;
    r[1].high_watermark = 1000;
    r[1].kind = IPC_READ_DESCRIPTOR;
    r[1].path = max_str();
    r[1].segment_base = 900;
    r[1].position = UINT64_MAX;
    r[1].length = UINT32_MAX;
    r[2].kind = IPC_READ_INLINE_DATA;
    r[2].data = sl_slice_str("batch bytes");
    assert_int_equal(ipc_read_rep_encode(&b, r, 3), 0);
    assert_int_equal(ipc_read_rep_decode(body_of(&b, IPC_OP_READ, 0), &p), 0);
    assert_int_equal(p.count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ipc_read_rep_next(&p, &gr), 1);
        assert_int_equal(gr.status, r[i].status);
        assert_int_equal(gr.high_watermark, r[i].high_watermark);
        assert_int_equal(gr.log_start, r[i].log_start);
        assert_int_equal(gr.kind, r[i].kind);
        assert_slice_eq(gr.path, r[i].path);
        assert_int_equal(gr.segment_base, r[i].segment_base);
        assert_int_equal(gr.position, r[i].position);
        assert_int_equal(gr.length, r[i].length);
        assert_slice_eq(gr.data, r[i].data);
    }
    assert_int_equal(ipc_read_rep_next(&p, &gr), 0);

    assert_int_equal(ipc_read_req_encode(&b, 0, NULL, 0), 0);
    assert_int_equal(ipc_read_req_decode(body_of(&b, IPC_OP_READ, 0), &q), 0);
    assert_int_equal(q.count, 0);
    assert_int_equal(ipc_read_rep_encode(&b, NULL, 0), 0);
    assert_int_equal(ipc_read_rep_decode(body_of(&b, IPC_OP_READ, 0), &p), 0);
    assert_int_equal(p.count, 0);
    assert_int_equal(ipc_read_rep_next(&p, &gr), 0);

    /* An unknown kind is refused by the encoder as by the decoder. */
    r[0].kind = 3;
    assert_int_equal(ipc_read_rep_encode(&b, r, 1), SL_E_INVAL);
    sl_buf_fini(&b);
}

static void
test_offsets_roundtrip(void **state)
{
    (void)state;
    sl_buf b = {0};
    ipc_offsets_entry e[3] = {{sl_slice_str("orders"), 0, IPC_OFFSET_LATEST},
                              {sl_slice_str("orders"), 1, IPC_OFFSET_EARLIEST},
                              {max_str(), 2, 1700000000000}},
                      ge;
    ipc_offsets_result r[2] = {{0, 42, 1700000000001}, {SL_E_NOPART, -1, -1}},
                       gr;
    ipc_offsets_req q;
    ipc_offsets_rep p;

    assert_int_equal(ipc_offsets_req_encode(&b, e, 3), 0);
    assert_int_equal(
        ipc_offsets_req_decode(body_of(&b, IPC_OP_LIST_OFFSETS, 0), &q), 0);
    assert_int_equal(q.count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ipc_offsets_req_next(&q, &ge), 1);
        assert_slice_eq(ge.topic, e[i].topic);
        assert_int_equal(ge.partition, e[i].partition);
        assert_int_equal(ge.spec, e[i].spec);
    }
    assert_int_equal(ipc_offsets_req_next(&q, &ge), 0);

    assert_int_equal(ipc_offsets_rep_encode(&b, r, 2), 0);
    assert_int_equal(
        ipc_offsets_rep_decode(body_of(&b, IPC_OP_LIST_OFFSETS, 0), &p), 0);
    assert_int_equal(p.count, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ipc_offsets_rep_next(&p, &gr), 1);
        assert_int_equal(gr.status, r[i].status);
        assert_int_equal(gr.offset, r[i].offset);
        assert_int_equal(gr.timestamp, r[i].timestamp);
    }
    assert_int_equal(ipc_offsets_rep_next(&p, &gr), 0);

    assert_int_equal(ipc_offsets_req_encode(&b, NULL, 0), 0);
    assert_int_equal(
        ipc_offsets_req_decode(body_of(&b, IPC_OP_LIST_OFFSETS, 0), &q), 0);
    assert_int_equal(q.count, 0);
    assert_int_equal(ipc_offsets_rep_encode(&b, NULL, 0), 0);
    assert_int_equal(
        ipc_offsets_rep_decode(body_of(&b, IPC_OP_LIST_OFFSETS, 0), &p), 0);
    assert_int_equal(p.count, 0);
    sl_buf_fini(&b);
}

static void
test_err_roundtrip(void **state)
{
    (void)state;
    sl_buf b = {0};
    sl_slice text;
    char *huge = malloc(IPC_STR_MAX + 100);

    assert_non_null(huge);
    assert_int_equal(
        ipc_err_encode(&b, IPC_OP_TOPIC_CREATE, SL_E_EXISTS, "topic exists"),
        0);
    assert_int_equal(
        ipc_err_decode(body_of(&b, IPC_OP_TOPIC_CREATE, SL_E_EXISTS), &text),
        0);
    assert_true(sl_slice_eq_str(text, "topic exists"));

    assert_int_equal(ipc_err_encode(&b, IPC_OP_READ, -5, NULL), 0);
    assert_int_equal(ipc_err_decode(body_of(&b, IPC_OP_READ, -5), &text), 0);
    assert_int_equal(text.n, 0);

    /* Overlong text is cut to IPC_STR_MAX rather than losing the error. */
    memset(huge, 'e', IPC_STR_MAX + 99);
    huge[IPC_STR_MAX + 99] = '\0';
    assert_int_equal(ipc_err_encode(&b, IPC_OP_READ, SL_E_IO, huge), 0);
    assert_int_equal(ipc_err_decode(body_of(&b, IPC_OP_READ, SL_E_IO), &text),
                     0);
    assert_int_equal(text.n, IPC_STR_MAX);
    free(huge);
    sl_buf_fini(&b);
}

static void
test_event_roundtrip(void **state)
{
    (void)state;
    sl_buf b = {0};
    ipc_event e = {0}, g;

    e.op = IPC_EVT_ADVANCE;
    e.topic = sl_slice_str("orders");
    e.partition = 3;
    e.high_watermark = INT64_MAX;
    assert_int_equal(ipc_event_encode(&b, &e), 0);
    assert_int_equal(ipc_event_decode(sl_slice_make(b.p, b.n), &g), 0);
    assert_int_equal(g.op, IPC_EVT_ADVANCE);
    assert_true(sl_slice_eq_str(g.topic, "orders"));
    assert_int_equal(g.partition, 3);
    assert_int_equal(g.high_watermark, INT64_MAX);
    assert_int_equal(g.partitions, 0);

    e.op = IPC_EVT_TOPIC_CREATED;
    e.topic = max_str();
    e.partitions = 12;
    assert_int_equal(ipc_event_encode(&b, &e), 0);
    assert_int_equal(ipc_event_decode(sl_slice_make(b.p, b.n), &g), 0);
    assert_int_equal(g.op, IPC_EVT_TOPIC_CREATED);
    assert_slice_eq(g.topic, max_str());
    assert_int_equal(g.partitions, 12);
    assert_int_equal(g.partition, 0);
    assert_int_equal(g.high_watermark, 0);

    e.op = IPC_EVT_TOPIC_DELETED;
    e.topic = sl_slice_str("gone");
    e.partitions = 0;
    assert_int_equal(ipc_event_encode(&b, &e), 0);
    assert_int_equal(ipc_event_decode(sl_slice_make(b.p, b.n), &g), 0);
    assert_int_equal(g.op, IPC_EVT_TOPIC_DELETED);
    assert_true(sl_slice_eq_str(g.topic, "gone"));

    e.op = IPC_OP_APPEND;
    assert_int_equal(ipc_event_encode(&b, &e), SL_E_INVAL);
    sl_buf_fini(&b);
}

static void
test_op_names(void **state)
{
    (void)state;
    assert_string_equal(ipc_op_name(IPC_OP_APPEND), "APPEND");
    assert_string_equal(ipc_op_name(IPC_OP_HELLO), "HELLO");
    assert_string_equal(ipc_op_name(IPC_EVT_ADVANCE), "EVT_ADVANCE");
    assert_string_equal(ipc_op_name(0), "?");
    assert_string_equal(ipc_op_name(200), "?");
    assert_string_equal(ipc_op_name(-1), "?");
}

/* ---- rejection --------------------------------------------------------- */

/* Every strict prefix of every valid message must fail cleanly (the formats
 * are self-delimiting, so no prefix is itself valid); ASan catches reads
 * past the end because each prefix is copied into its own allocation. */
static void
test_truncation(void **state)
{
    (void)state;
    sl_buf b = {0};

    for (int k = 0; k < K_COUNT_; k++) {
        encode_sample((enum kind)k, &b);
        for (size_t len = 0; len < b.n; len++) {
            uint8_t *copy = malloc(len ? len : 1);
            ipc_hdr h;
            sl_slice body;
            assert_non_null(copy);
            memcpy(copy, b.p, len);
            int rc = ipc_hdr_decode(sl_slice_make(copy, len), &h, &body);
            if (len < IPC_HDR_LEN) {
                assert_int_equal(rc, SL_E_PARTIAL);
            } else {
                assert_int_equal(rc, 0);
                assert_int_equal(decode_any((enum kind)k, body),
                                 SL_E_MALFORMED);
            }
            free(copy);
        }
        /* And the whole message decodes. */
        assert_int_equal(
            decode_any((enum kind)k,
                       sl_slice_make(b.p + IPC_HDR_LEN, b.n - IPC_HDR_LEN)),
            0);
    }
    sl_buf_fini(&b);
}

static void
test_trailing_garbage(void **state)
{
    (void)state;
    sl_buf b = {0};

    for (int k = 0; k < K_COUNT_; k++) {
        encode_sample((enum kind)k, &b);
        assert_int_equal(sl_buf_put_u8(&b, 0), 0);
        assert_int_equal(
            decode_any((enum kind)k,
                       sl_slice_make(b.p + IPC_HDR_LEN, b.n - IPC_HDR_LEN)),
            SL_E_MALFORMED);
    }
    sl_buf_fini(&b);
}

static void
test_bad_header(void **state)
{
    (void)state;
    sl_buf b = {0};
    ipc_hdr h;
    sl_slice body;
    ipc_event e;

    encode_sample(K_HELLO_REQ, &b);
    b.p[0] = 'X';
    assert_int_equal(ipc_hdr_decode(sl_slice_make(b.p, b.n), &h, &body),
                     SL_E_MALFORMED);
    b.p[0] = 'S';
    b.p[1] = 'l';
    assert_int_equal(ipc_hdr_decode(sl_slice_make(b.p, b.n), &h, &body),
                     SL_E_MALFORMED);
    b.p[1] = 'L';
    b.p[2] = 2;
    memset(&h, 0, sizeof(h));
    assert_int_equal(ipc_hdr_decode(sl_slice_make(b.p, b.n), &h, &body),
                     SL_E_VERSION);
    /* The header is still filled in, so a server can answer in kind. */
    assert_int_equal(h.version, 2);
    assert_int_equal(h.op, IPC_OP_HELLO);
    b.p[2] = 0;
    assert_int_equal(ipc_hdr_decode(sl_slice_make(b.p, b.n), &h, &body),
                     SL_E_VERSION);

    /* Events: version, status, op and length rules. */
    ipc_event ev = {.op = IPC_EVT_ADVANCE,
                    .topic = sl_slice_str("t"),
                    .partition = 1,
                    .high_watermark = 2};
    assert_int_equal(ipc_event_encode(&b, &ev), 0);
    b.p[2] = 9;
    assert_int_equal(ipc_event_decode(sl_slice_make(b.p, b.n), &e),
                     SL_E_VERSION);
    b.p[2] = IPC_VERSION;
    b.p[7] = 1;
    assert_int_equal(ipc_event_decode(sl_slice_make(b.p, b.n), &e),
                     SL_E_MALFORMED);
    b.p[7] = 0;
    b.p[3] = 99;
    assert_int_equal(ipc_event_decode(sl_slice_make(b.p, b.n), &e),
                     SL_E_UNSUPPORTED);
    b.p[3] = IPC_EVT_ADVANCE;
    for (size_t len = 0; len < b.n; len++)
        assert_int_equal(ipc_event_decode(sl_slice_make(b.p, len), &e),
                         SL_E_MALFORMED);
    assert_int_equal(sl_buf_put_u8(&b, 0), 0);
    assert_int_equal(ipc_event_decode(sl_slice_make(b.p, b.n), &e),
                     SL_E_MALFORMED);
    /* A TOPIC_CREATED body under an ADVANCE op is too short. */
    ev.op = IPC_EVT_TOPIC_CREATED;
    assert_int_equal(ipc_event_encode(&b, &ev), 0);
    b.p[3] = IPC_EVT_ADVANCE;
    assert_int_equal(ipc_event_decode(sl_slice_make(b.p, b.n), &e),
                     SL_E_MALFORMED);

    assert_int_equal(ipc_msg_begin(&b, 256, 0), SL_E_INVAL);
    assert_int_equal(ipc_msg_begin(&b, -1, 0), SL_E_INVAL);
    sl_buf_fini(&b);
}

/* A body that is only a huge count must be refused at once (no loop of four
 * billion iterations, no read past the end). */
static void
test_absurd_counts(void **state)
{
    (void)state;
    static const uint32_t counts[] = {0xFFFFFFFFu, 0x80000000u, 0x10000u,
                                      0x100u};
    sl_buf b = {0};

    for (size_t i = 0; i < SL_ARRAY_LEN(counts); i++) {
        uint32_t c = counts[i];
        struct {
            enum kind k;
            const char *prefix_hex; /* fields before the count */
        } cases[] = {
            {K_CREATE_REQ, "0001 74 00000001"},
            {K_LIST_REP, ""},
            {K_DESCRIBE_REP, "0001 74 00000001 00000000"}, /* parts */
            {K_DESCRIBE_REP, "0001 74 00000001"},          /* configs */
            {K_APPEND_REQ, "00000000"},
            {K_APPEND_REP, ""},
            {K_READ_REQ, "00000000"},
            {K_READ_REP, ""},
            {K_OFFSETS_REQ, ""},
            {K_OFFSETS_REP, ""},
            {K_KV_GET_REQ, ""},
            {K_KV_GET_REP, "0000000000000001"},
            {K_KV_WRITE_REQ, "00000000"},
            {K_KV_SCAN_REP, "0000000000000001 00"},
            {K_JOIN_REQ, "0001 67 0000 0000 0000 00000000 00000000 0000 0000 "
                         "00000000"},
            {K_JOIN_REP, "00000000 00000001 0000 0000 0000"},
            {K_SYNC_REQ, "0001 67 00000001 0000 0000 0000 0000"},
            {K_LEAVE_REQ, "0001 67"},
            {K_LEAVE_REP, "00000000"},
            {K_GROUP_LIST_REP, ""},
            {K_NAMES_REQ, ""},
            {K_GROUP_DESCRIBE_REP, ""},
            /* the members of the one group described */
            {K_GROUP_DESCRIBE_REP, "00000001 00000000 0001 67 03 0000 0000"},
            {K_GROUP_DELETE_REP, ""},
            {K_COMMIT_REQ, "0001 67 00000001 0000 0000"},
            {K_COMMIT_REP, ""},
            {K_FETCH_REQ, "0001 67 00"},
            {K_FETCH_REP, "00000000"},
        };
        for (size_t j = 0; j < SL_ARRAY_LEN(cases); j++) {
            hex_to_buf(cases[j].prefix_hex, &b);
            assert_int_equal(sl_buf_put_u32be(&b, c), 0);
            /* A few bytes that are not enough for the count. */
            assert_int_equal(sl_buf_append(&b, "\0\0\0\0\0\0\0\0", 8), 0);
            assert_int_equal(decode_any(cases[j].k, sl_slice_make(b.p, b.n)),
                             SL_E_MALFORMED);
        }
    }
    sl_buf_fini(&b);
}

static void
test_overlong_str(void **state)
{
    (void)state;
    sl_buf b = {0};
    sl_slice name;
    static char big[IPC_STR_MAX + 1];

    memset(big, 'y', sizeof(big));
    /* Encoder refuses. */
    assert_int_equal(
        ipc_topic_delete_req_encode(&b, sl_slice_make(big, IPC_STR_MAX + 1)),
        SL_E_TOOBIG);
    assert_int_equal(ipc_put_str(&b, sl_slice_make(big, IPC_STR_MAX + 1)),
                     SL_E_TOOBIG);

    /* Decoder refuses a length of IPC_STR_MAX + 1 even with all bytes
     * present, and 0xFFFF with too few. */
    sl_buf_reset(&b);
    assert_int_equal(sl_buf_put_u16be(&b, IPC_STR_MAX + 1), 0);
    assert_int_equal(sl_buf_append(&b, big, sizeof(big)), 0);
    assert_int_equal(
        ipc_topic_delete_req_decode(sl_slice_make(b.p, b.n), &name),
        SL_E_MALFORMED);
    hex_to_buf("FFFF 6161", &b);
    assert_int_equal(
        ipc_topic_delete_req_decode(sl_slice_make(b.p, b.n), &name),
        SL_E_MALFORMED);

    /* The cursor readers leave the cursor where it was on failure. */
    sl_rd r;
    sl_slice s;
    sl_rd_init(&r, sl_slice_make(b.p, b.n));
    assert_int_equal(ipc_rd_str(&r, &s), SL_E_MALFORMED);
    assert_int_equal(r.off, 0);
    hex_to_buf("00000005 6161", &b);
    sl_rd_init(&r, sl_slice_make(b.p, b.n));
    assert_int_equal(ipc_rd_bytes(&r, &s), SL_E_MALFORMED);
    assert_int_equal(r.off, 0);
    sl_buf_fini(&b);
}

static void
test_bad_read_kind(void **state)
{
    (void)state;
    sl_buf b = {0};

    for (int kind = 3; kind < 256; kind += 50) {
        hex_to_buf("00000001 00000000 0000000000000000 0000000000000000", &b);
        assert_int_equal(sl_buf_put_u8(&b, (uint8_t)kind), 0);
        assert_int_equal(decode_any(K_READ_REP, sl_slice_make(b.p, b.n)),
                         SL_E_MALFORMED);
    }
    /* Kind 0 with the same bytes is fine. */
    hex_to_buf("00000001 00000000 0000000000000000 0000000000000000 00", &b);
    assert_int_equal(decode_any(K_READ_REP, sl_slice_make(b.p, b.n)), 0);
    /* A non-empty body where an empty one is required. */
    assert_int_equal(ipc_empty_decode(sl_slice_make(b.p, 1)), SL_E_MALFORMED);
    sl_buf_fini(&b);
}

/* _next on a struct that was never decoded, or whose decode failed, yields
 * nothing. */
static void
test_next_after_failure(void **state)
{
    (void)state;
    ipc_append_req q;
    ipc_append_entry e;
    ipc_topic_describe_rep d;
    ipc_kv kv;

    memset(&q, 0, sizeof(q));
    assert_int_equal(ipc_append_req_next(&q, &e), 0);
    assert_int_equal(
        ipc_append_req_decode(sl_slice_make("\0\0\0\0\0\0\0\1", 8), &q),
        SL_E_MALFORMED);
    assert_int_equal(ipc_append_req_next(&q, &e), 0);
    assert_int_equal(ipc_topic_describe_rep_decode(sl_slice_make("\0", 1), &d),
                     SL_E_MALFORMED);
    assert_int_equal(ipc_topic_describe_rep_next_config(&d, &kv), 0);
}

/* ---- test vectors from docs/ipc.md ------------------------------------- */

/* [IPC-2] header + [IPC-4.1] HELLO request. */
static void
test_vector_hello_req(void **state)
{
    (void)state;
    sl_buf b = {0};
    ipc_hdr h;
    sl_slice body;
    ipc_hello_req m;

    hex_to_buf("53 4c 01 01 00000000"
               "0006 6d7174742d31" /* "mqtt-1" */
               "00000000",
               &b);
    assert_int_equal(ipc_hdr_decode(sl_slice_make(b.p, b.n), &h, &body), 0);
    assert_int_equal(h.op, IPC_OP_HELLO);
    assert_int_equal(h.status, 0);
    assert_int_equal(ipc_hello_req_decode(body, &m), 0);
    assert_true(sl_slice_eq_str(m.client_name, "mqtt-1"));
    assert_int_equal(m.flags, 0);

    /* Our encoder produces exactly these bytes. */
    sl_buf e = {0};
    ipc_hello_req q = {sl_slice_str("mqtt-1"), 0};
    assert_int_equal(ipc_hello_req_encode(&e, &q), 0);
    assert_int_equal(e.n, b.n);
    assert_memory_equal(e.p, b.p, b.n);
    sl_buf_fini(&e);
    sl_buf_fini(&b);
}

/* [IPC-4.6] APPEND request with one entry. */
static void
test_vector_append_req(void **state)
{
    (void)state;
    sl_buf b = {0};
    ipc_hdr h;
    sl_slice body;
    ipc_append_req m;
    ipc_append_entry e;

    hex_to_buf("53 4c 01 06 00000000"
               "00000000"          /* flags */
               "00000001"          /* one entry */
               "0006 6f7264657273" /* "orders" */
               "00000002"          /* partition 2 */
               "00000003 aabbcc",  /* 3 bytes of batches */
               &b);
    assert_int_equal(ipc_hdr_decode(sl_slice_make(b.p, b.n), &h, &body), 0);
    assert_int_equal(h.op, IPC_OP_APPEND);
    assert_int_equal(ipc_append_req_decode(body, &m), 0);
    assert_int_equal(m.count, 1);
    assert_int_equal(ipc_append_req_next(&m, &e), 1);
    assert_true(sl_slice_eq_str(e.topic, "orders"));
    assert_int_equal(e.partition, 2);
    assert_int_equal(e.batches.n, 3);
    assert_memory_equal(e.batches.p, "\xaa\xbb\xcc", 3);
    assert_int_equal(ipc_append_req_next(&m, &e), 0);
    sl_buf_fini(&b);
}

/* [IPC-4.7] READ reply: one descriptor, one error entry with no data. */
static void
test_vector_read_rep(void **state)
{
    (void)state;
    sl_buf b = {0};
    ipc_hdr h;
    sl_slice body;
    ipc_read_rep m;
    ipc_read_result r;

    hex_to_buf("53 4c 01 07 00000000"
               "00000002"
               "00000000 0000000000000064 0000000000000000 01"
               "0009 612f302f782e6c6f67" /* "a/0/x.log" */
               "0000000000000050"        /* segment_base 80 */
               "0000000000001000"        /* position 4096 */
               "00000200"                /* length 512 */
               /* entry 1: status SL_E_RANGE (-10090), NONE */
               "ffffd896 0000000000000064 000000000000000a 00",
               &b);
    assert_int_equal(ipc_hdr_decode(sl_slice_make(b.p, b.n), &h, &body), 0);
    assert_int_equal(ipc_read_rep_decode(body, &m), 0);
    assert_int_equal(m.count, 2);
    assert_int_equal(ipc_read_rep_next(&m, &r), 1);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.high_watermark, 100);
    assert_int_equal(r.kind, IPC_READ_DESCRIPTOR);
    assert_true(sl_slice_eq_str(r.path, "a/0/x.log"));
    assert_int_equal(r.segment_base, 80);
    assert_int_equal(r.position, 4096);
    assert_int_equal(r.length, 512);
    assert_int_equal(ipc_read_rep_next(&m, &r), 1);
    assert_int_equal(r.status, SL_E_RANGE);
    assert_int_equal(r.log_start, 10);
    assert_int_equal(r.kind, IPC_READ_NONE);
    assert_int_equal(ipc_read_rep_next(&m, &r), 0);
    sl_buf_fini(&b);
}

/* [IPC-5] ADVANCE event. */
static void
test_vector_event(void **state)
{
    (void)state;
    sl_buf b = {0};
    ipc_event e;

    hex_to_buf("53 4c 01 40 00000000"
               "0006 6f7264657273"
               "00000001"
               "000000000000002a",
               &b);
    assert_int_equal(ipc_event_decode(sl_slice_make(b.p, b.n), &e), 0);
    assert_int_equal(e.op, IPC_EVT_ADVANCE);
    assert_true(sl_slice_eq_str(e.topic, "orders"));
    assert_int_equal(e.partition, 1);
    assert_int_equal(e.high_watermark, 42);
    sl_buf_fini(&b);
}

/* [IPC-3] error reply to TOPIC_CREATE. */
static void
test_vector_error(void **state)
{
    (void)state;
    sl_buf b = {0};
    ipc_hdr h;
    sl_slice body, text;

    /* SL_E_EXISTS = -10092 = 0xffffd894 */
    hex_to_buf("53 4c 01 02 ffffd894 0006 657869737473", &b);
    assert_int_equal(ipc_hdr_decode(sl_slice_make(b.p, b.n), &h, &body), 0);
    assert_int_equal(h.status, SL_E_EXISTS);
    assert_int_equal(ipc_err_decode(body, &text), 0);
    assert_true(sl_slice_eq_str(text, "exists"));
    sl_buf_fini(&b);
}

/* ---- coordination ops: round trips (sections 4.9 to 4.15) --------------- */

/* [IPC-4.9] */
static void
test_kv_get_roundtrip(void **state)
{
    (void)state;
    sl_buf b = {0};
    sl_slice keys[3] = {sl_slice_str("mq/s/c1"), max_str(),
                        sl_slice_make(NULL, 0)},
             k;
    ipc_kv_entry e[3] = {{.status = 0, .version = 5, .value = max_str()},
                         {.status = SL_E_NOKEY},
                         {.status = 0,
                          .key = sl_slice_str("not sent"),
                          .version = INT64_MAX,
                          .value = sl_slice_str("v")}},
                 g;
    ipc_kv_get_req q;
    ipc_kv_get_rep p;

    assert_int_equal(ipc_kv_get_req_encode(&b, keys, 3), 0);
    assert_int_equal(ipc_kv_get_req_decode(body_of(&b, IPC_OP_KV_GET, 0), &q),
                     0);
    assert_int_equal(q.count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ipc_kv_get_req_next(&q, &k), 1);
        assert_slice_eq(k, keys[i]);
    }
    assert_int_equal(ipc_kv_get_req_next(&q, &k), 0);

    assert_int_equal(ipc_kv_get_rep_encode(&b, INT64_MAX - 1, e, 3), 0);
    assert_int_equal(ipc_kv_get_rep_decode(body_of(&b, IPC_OP_KV_GET, 0), &p),
                     0);
    assert_int_equal(p.revision, INT64_MAX - 1);
    assert_int_equal(p.count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ipc_kv_get_rep_next(&p, &g), 1);
        assert_int_equal(g.status, e[i].status);
        assert_int_equal(g.version, e[i].version);
        assert_slice_eq(g.value, e[i].value);
        assert_int_equal(g.key.n, 0); /* the key is not sent */
    }
    assert_int_equal(ipc_kv_get_rep_next(&p, &g), 0);

    assert_int_equal(ipc_kv_get_req_encode(&b, NULL, 0), 0);
    assert_int_equal(ipc_kv_get_req_decode(body_of(&b, IPC_OP_KV_GET, 0), &q),
                     0);
    assert_int_equal(q.count, 0);
    assert_int_equal(ipc_kv_get_req_next(&q, &k), 0);
    assert_int_equal(ipc_kv_get_rep_encode(&b, 0, NULL, 0), 0);
    assert_int_equal(ipc_kv_get_rep_decode(body_of(&b, IPC_OP_KV_GET, 0), &p),
                     0);
    assert_int_equal(p.count, 0);
    assert_int_equal(ipc_kv_get_rep_next(&p, &g), 0);
    sl_buf_fini(&b);
}

/* [IPC-4.10] */
static void
test_kv_write_roundtrip(void **state)
{
    (void)state;
    sl_buf b = {0};
    static uint8_t big[100000];
    ipc_kv_op ops[4] =
        {{IPC_KV_PUT, max_str(), IPC_KV_ANY, sl_slice_make(big, sizeof(big))},
         {IPC_KV_PUT, sl_slice_str("a"), 0, sl_slice_make(NULL, 0)},
         {IPC_KV_DELETE, sl_slice_str("b"), INT64_MAX, sl_slice_make(NULL, 0)},
         {IPC_KV_CHECK, sl_slice_str("c"), 17, sl_slice_make(NULL, 0)}},
              g;
    ipc_kv_write_req q;
    int64_t rev;

    memset(big, 0xa5, sizeof(big));
    assert_int_equal(ipc_kv_write_req_encode(&b, 0xfeedf00d, ops, 4), 0);
    assert_int_equal(
        ipc_kv_write_req_decode(body_of(&b, IPC_OP_KV_WRITE, 0), &q), 0);
    assert_int_equal(q.flags, 0xfeedf00d);
    assert_int_equal(q.count, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ipc_kv_write_req_next(&q, &g), 1);
        assert_int_equal(g.kind, ops[i].kind);
        assert_slice_eq(g.key, ops[i].key);
        assert_int_equal(g.expect, ops[i].expect);
        assert_slice_eq(g.value, ops[i].value);
    }
    assert_int_equal(ipc_kv_write_req_next(&q, &g), 0);

    assert_int_equal(ipc_kv_write_req_encode(&b, 0, NULL, 0), 0);
    assert_int_equal(
        ipc_kv_write_req_decode(body_of(&b, IPC_OP_KV_WRITE, 0), &q), 0);
    assert_int_equal(q.count, 0);

    assert_int_equal(ipc_kv_write_rep_encode(&b, INT64_MAX), 0);
    assert_int_equal(
        ipc_kv_write_rep_decode(body_of(&b, IPC_OP_KV_WRITE, 0), &rev), 0);
    assert_int_equal(rev, INT64_MAX);
    sl_buf_fini(&b);
}

/* [IPC-4.11] */
static void
test_kv_scan_roundtrip(void **state)
{
    (void)state;
    sl_buf b = {0};
    ipc_kv_scan_req q = {max_str(), sl_slice_make(NULL, 0), UINT32_MAX, 0}, q2;
    ipc_kv_entry e[3] = {{.key = sl_slice_str("mq/r/a"),
                          .version = 1,
                          .value = sl_slice_str("retained")},
                         {.status = SL_E_NOKEY, /* not sent */
                          .key = max_str(),
                          .version = INT64_MAX,
                          .value = sl_slice_make(NULL, 0)},
                         {.key = sl_slice_make(NULL, 0), .version = -1}},
                 g;
    ipc_kv_scan_rep p;

    assert_int_equal(ipc_kv_scan_req_encode(&b, &q), 0);
    assert_int_equal(
        ipc_kv_scan_req_decode(body_of(&b, IPC_OP_KV_SCAN, 0), &q2), 0);
    assert_slice_eq(q2.prefix, q.prefix);
    assert_int_equal(q2.after.n, 0);
    assert_int_equal(q2.limit, UINT32_MAX);
    assert_int_equal(q2.max_bytes, 0);

    /* more is written as 1 whatever non-zero value it is given. */
    assert_int_equal(ipc_kv_scan_rep_encode(&b, 77, 5, e, 3), 0);
    assert_int_equal(ipc_kv_scan_rep_decode(body_of(&b, IPC_OP_KV_SCAN, 0), &p),
                     0);
    assert_int_equal(p.revision, 77);
    assert_int_equal(p.more, 1);
    assert_int_equal(p.count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ipc_kv_scan_rep_next(&p, &g), 1);
        assert_int_equal(g.status, 0); /* status is not sent */
        assert_slice_eq(g.key, e[i].key);
        assert_int_equal(g.version, e[i].version);
        assert_slice_eq(g.value, e[i].value);
    }
    assert_int_equal(ipc_kv_scan_rep_next(&p, &g), 0);

    assert_int_equal(ipc_kv_scan_rep_encode(&b, 0, 0, NULL, 0), 0);
    assert_int_equal(ipc_kv_scan_rep_decode(body_of(&b, IPC_OP_KV_SCAN, 0), &p),
                     0);
    assert_int_equal(p.more, 0);
    assert_int_equal(p.count, 0);
    assert_int_equal(ipc_kv_scan_rep_next(&p, &g), 0);
    /* "more" with nothing to scan after is refused. */
    assert_int_equal(ipc_kv_scan_rep_encode(&b, 0, 1, NULL, 0), SL_E_INVAL);
    sl_buf_fini(&b);
}

/* [IPC-4.12] GROUP_JOIN */
static void
test_join_roundtrip(void **state)
{
    (void)state;
    sl_buf b = {0};
    ipc_join_req q = {.group = sl_slice_str("g"),
                      .member_id = sl_slice_make(NULL, 0),
                      .instance_id = max_str(),
                      .protocol_type = sl_slice_str("consumer"),
                      .session_timeout_ms = 45000,
                      .rebalance_timeout_ms = INT32_MIN,
                      .client_id = sl_slice_str("rdkafka"),
                      .client_host = sl_slice_str("/127.0.0.1"),
                      .flags = IPC_JOIN_REQUIRE_MEMBER_ID,
                      .nprotocols = 99 /* ignored by the encoder */},
                 q2;
    ipc_group_protocol pr[2] = {{sl_slice_str("range"), sl_slice_str("\0\1")},
                                {max_str(), sl_slice_make(NULL, 0)}},
                       gp;
    ipc_join_rep p = {.error = SL_E_MEMBER_REQUIRED,
                      .generation = -1,
                      .protocol_name = sl_slice_make(NULL, 0),
                      .leader = sl_slice_str("m-1"),
                      .member_id = sl_slice_str("rdkafka-3f2a")},
                 p2;
    ipc_join_member x[2] = {{sl_slice_str("m-1"), sl_slice_make(NULL, 0),
                             sl_slice_str("meta")},
                            {sl_slice_str("m-2"), sl_slice_str("static-2"),
                             sl_slice_make(NULL, 0)}},
                    gx;

    assert_int_equal(ipc_join_req_encode(&b, &q, pr, 2), 0);
    assert_int_equal(
        ipc_join_req_decode(body_of(&b, IPC_OP_GROUP_JOIN, 0), &q2), 0);
    assert_slice_eq(q2.group, q.group);
    assert_slice_eq(q2.member_id, q.member_id);
    assert_slice_eq(q2.instance_id, q.instance_id);
    assert_slice_eq(q2.protocol_type, q.protocol_type);
    assert_int_equal(q2.session_timeout_ms, 45000);
    assert_int_equal(q2.rebalance_timeout_ms, INT32_MIN);
    assert_slice_eq(q2.client_id, q.client_id);
    assert_slice_eq(q2.client_host, q.client_host);
    assert_int_equal(q2.flags, IPC_JOIN_REQUIRE_MEMBER_ID);
    assert_int_equal(q2.nprotocols, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ipc_join_req_next(&q2, &gp), 1);
        assert_slice_eq(gp.name, pr[i].name);
        assert_slice_eq(gp.metadata, pr[i].metadata);
    }
    assert_int_equal(ipc_join_req_next(&q2, &gp), 0);

    assert_int_equal(ipc_join_rep_encode(&b, &p, x, 2), 0);
    assert_int_equal(
        ipc_join_rep_decode(body_of(&b, IPC_OP_GROUP_JOIN, 0), &p2), 0);
    assert_int_equal(p2.error, SL_E_MEMBER_REQUIRED);
    assert_int_equal(p2.generation, -1);
    assert_int_equal(p2.protocol_name.n, 0);
    assert_slice_eq(p2.leader, p.leader);
    assert_slice_eq(p2.member_id, p.member_id);
    assert_int_equal(p2.nmembers, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ipc_join_rep_next(&p2, &gx), 1);
        assert_slice_eq(gx.member_id, x[i].member_id);
        assert_slice_eq(gx.instance_id, x[i].instance_id);
        assert_slice_eq(gx.metadata, x[i].metadata);
    }
    assert_int_equal(ipc_join_rep_next(&p2, &gx), 0);

    /* A follower's reply: no members. */
    assert_int_equal(ipc_join_rep_encode(&b, &p, NULL, 0), 0);
    assert_int_equal(
        ipc_join_rep_decode(body_of(&b, IPC_OP_GROUP_JOIN, 0), &p2), 0);
    assert_int_equal(p2.nmembers, 0);
    assert_int_equal(ipc_join_rep_next(&p2, &gx), 0);
    assert_int_equal(ipc_join_req_encode(&b, &q, NULL, 0), 0);
    assert_int_equal(
        ipc_join_req_decode(body_of(&b, IPC_OP_GROUP_JOIN, 0), &q2), 0);
    assert_int_equal(q2.nprotocols, 0);
    sl_buf_fini(&b);
}

/* [IPC-4.12] GROUP_SYNC and GROUP_HEARTBEAT */
static void
test_sync_heartbeat_roundtrip(void **state)
{
    (void)state;
    sl_buf b = {0};
    ipc_sync_req q = {.group = sl_slice_str("g"),
                      .generation = 7,
                      .member_id = sl_slice_str("m-1"),
                      .instance_id = sl_slice_make(NULL, 0),
                      .protocol_type = sl_slice_str("consumer"),
                      .protocol_name = max_str()},
                 q2;
    ipc_sync_assignment a[2] = {{sl_slice_str("m-1"), sl_slice_str("a1")},
                                {max_str(), sl_slice_make(NULL, 0)}},
                        ga;
    ipc_sync_rep p = {SL_E_REBALANCE, sl_slice_str("consumer"),
                      sl_slice_str("range"), sl_slice_str("\0assign")},
                 p2;
    ipc_heartbeat_req h = {sl_slice_str("g"), INT32_MAX, sl_slice_str("m-1"),
                           max_str()},
                      h2;
    int32_t err;

    assert_int_equal(ipc_sync_req_encode(&b, &q, a, 2), 0);
    assert_int_equal(
        ipc_sync_req_decode(body_of(&b, IPC_OP_GROUP_SYNC, 0), &q2), 0);
    assert_slice_eq(q2.group, q.group);
    assert_int_equal(q2.generation, 7);
    assert_slice_eq(q2.member_id, q.member_id);
    assert_int_equal(q2.instance_id.n, 0);
    assert_slice_eq(q2.protocol_type, q.protocol_type);
    assert_slice_eq(q2.protocol_name, q.protocol_name);
    assert_int_equal(q2.count, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ipc_sync_req_next(&q2, &ga), 1);
        assert_slice_eq(ga.member_id, a[i].member_id);
        assert_slice_eq(ga.assignment, a[i].assignment);
    }
    assert_int_equal(ipc_sync_req_next(&q2, &ga), 0);
    /* A follower's sync carries no assignments. */
    assert_int_equal(ipc_sync_req_encode(&b, &q, NULL, 0), 0);
    assert_int_equal(
        ipc_sync_req_decode(body_of(&b, IPC_OP_GROUP_SYNC, 0), &q2), 0);
    assert_int_equal(q2.count, 0);
    assert_int_equal(ipc_sync_req_next(&q2, &ga), 0);

    assert_int_equal(ipc_sync_rep_encode(&b, &p), 0);
    assert_int_equal(
        ipc_sync_rep_decode(body_of(&b, IPC_OP_GROUP_SYNC, 0), &p2), 0);
    assert_int_equal(p2.error, SL_E_REBALANCE);
    assert_slice_eq(p2.protocol_type, p.protocol_type);
    assert_slice_eq(p2.protocol_name, p.protocol_name);
    assert_slice_eq(p2.assignment, p.assignment);

    assert_int_equal(ipc_heartbeat_req_encode(&b, &h), 0);
    assert_int_equal(
        ipc_heartbeat_req_decode(body_of(&b, IPC_OP_GROUP_HEARTBEAT, 0), &h2),
        0);
    assert_slice_eq(h2.group, h.group);
    assert_int_equal(h2.generation, INT32_MAX);
    assert_slice_eq(h2.member_id, h.member_id);
    assert_slice_eq(h2.instance_id, h.instance_id);

    assert_int_equal(
        ipc_group_error_rep_encode(&b, IPC_OP_GROUP_HEARTBEAT, SL_E_FENCED), 0);
    assert_int_equal(ipc_group_error_rep_decode(
                         body_of(&b, IPC_OP_GROUP_HEARTBEAT, 0), &err),
                     0);
    assert_int_equal(err, SL_E_FENCED);
    /* Only HEARTBEAT's reply is an error alone. */
    assert_int_equal(ipc_group_error_rep_encode(&b, IPC_OP_GROUP_JOIN, 0),
                     SL_E_INVAL);
    assert_int_equal(ipc_group_error_rep_encode(&b, 300, 0), SL_E_INVAL);
    sl_buf_fini(&b);
}

/* [IPC-4.12] GROUP_LEAVE, GROUP_LIST and GROUP_DELETE */
static void
test_leave_list_delete_roundtrip(void **state)
{
    (void)state;
    sl_buf b = {0};
    ipc_leave_member x[3] = {{sl_slice_str("m-1"), sl_slice_make(NULL, 0)},
                             {sl_slice_make(NULL, 0), sl_slice_str("s-2")},
                             {max_str(), max_str()}},
                     gx;
    int32_t errs[3] = {0, SL_E_UNKNOWN_MEMBER, SL_E_FENCED}, e;
    ipc_group_listing gl[3] =
        {{sl_slice_str("g"), sl_slice_str("consumer"), IPC_GROUP_STABLE},
         {max_str(), sl_slice_make(NULL, 0), IPC_GROUP_DEAD},
         {sl_slice_str("h"), sl_slice_str("x"), IPC_GROUP_PREPARING_REBALANCE}},
                      gg;
    sl_slice names[2] = {sl_slice_str("g"), max_str()}, name;
    ipc_leave_req q;
    ipc_errors_rep p;
    ipc_group_list_rep l;
    ipc_names_req nq;

    assert_int_equal(ipc_leave_req_encode(&b, sl_slice_str("g"), x, 3), 0);
    assert_int_equal(
        ipc_leave_req_decode(body_of(&b, IPC_OP_GROUP_LEAVE, 0), &q), 0);
    assert_true(sl_slice_eq_str(q.group, "g"));
    assert_int_equal(q.count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ipc_leave_req_next(&q, &gx), 1);
        assert_slice_eq(gx.member_id, x[i].member_id);
        assert_slice_eq(gx.instance_id, x[i].instance_id);
    }
    assert_int_equal(ipc_leave_req_next(&q, &gx), 0);

    assert_int_equal(ipc_leave_rep_encode(&b, SL_E_NOGROUP, errs, 3), 0);
    assert_int_equal(
        ipc_leave_rep_decode(body_of(&b, IPC_OP_GROUP_LEAVE, 0), &p), 0);
    assert_int_equal(p.error, SL_E_NOGROUP);
    assert_int_equal(p.count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ipc_errors_rep_next(&p, &e), 1);
        assert_int_equal(e, errs[i]);
    }
    assert_int_equal(ipc_errors_rep_next(&p, &e), 0);

    assert_int_equal(ipc_group_list_req_encode(&b), 0);
    assert_int_equal(ipc_empty_decode(body_of(&b, IPC_OP_GROUP_LIST, 0)), 0);
    assert_int_equal(ipc_group_list_rep_encode(&b, gl, 3), 0);
    assert_int_equal(
        ipc_group_list_rep_decode(body_of(&b, IPC_OP_GROUP_LIST, 0), &l), 0);
    assert_int_equal(l.count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ipc_group_list_rep_next(&l, &gg), 1);
        assert_slice_eq(gg.group, gl[i].group);
        assert_slice_eq(gg.protocol_type, gl[i].protocol_type);
        assert_int_equal(gg.state, gl[i].state);
    }
    assert_int_equal(ipc_group_list_rep_next(&l, &gg), 0);
    assert_int_equal(ipc_group_list_rep_encode(&b, NULL, 0), 0);
    assert_int_equal(
        ipc_group_list_rep_decode(body_of(&b, IPC_OP_GROUP_LIST, 0), &l), 0);
    assert_int_equal(l.count, 0);

    assert_int_equal(ipc_names_req_encode(&b, IPC_OP_GROUP_DELETE, names, 2),
                     0);
    assert_int_equal(
        ipc_names_req_decode(body_of(&b, IPC_OP_GROUP_DELETE, 0), &nq), 0);
    assert_int_equal(nq.count, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ipc_names_req_next(&nq, &name), 1);
        assert_slice_eq(name, names[i]);
    }
    assert_int_equal(ipc_names_req_next(&nq, &name), 0);
    /* The names request is only for DESCRIBE and DELETE. */
    assert_int_equal(ipc_names_req_encode(&b, IPC_OP_KV_GET, names, 2),
                     SL_E_INVAL);

    assert_int_equal(ipc_group_delete_rep_encode(&b, errs, 3), 0);
    assert_int_equal(
        ipc_group_delete_rep_decode(body_of(&b, IPC_OP_GROUP_DELETE, 0), &p),
        0);
    assert_int_equal(p.error, 0);
    assert_int_equal(p.count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ipc_errors_rep_next(&p, &e), 1);
        assert_int_equal(e, errs[i]);
    }
    assert_int_equal(ipc_errors_rep_next(&p, &e), 0);
    sl_buf_fini(&b);
}

static void
check_member(const ipc_group_member_info *a, const ipc_group_member_info *b)
{
    assert_slice_eq(a->member_id, b->member_id);
    assert_slice_eq(a->instance_id, b->instance_id);
    assert_slice_eq(a->client_id, b->client_id);
    assert_slice_eq(a->client_host, b->client_host);
    assert_slice_eq(a->metadata, b->metadata);
    assert_slice_eq(a->assignment, b->assignment);
}

/* [IPC-4.12] GROUP_DESCRIBE: nested member arrays. */
static void
test_group_describe_roundtrip(void **state)
{
    (void)state;
    sl_buf b = {0};
    ipc_group_info gi[3] = {{.error = 0,
                             .group = sl_slice_str("g"),
                             .state = IPC_GROUP_STABLE,
                             .protocol_type = sl_slice_str("consumer"),
                             .protocol_name = sl_slice_str("range"),
                             .nmembers = 2},
                            {.error = 0,
                             .group = sl_slice_str("unknown"),
                             .state = IPC_GROUP_DEAD},
                            {.error = SL_E_INTERNAL,
                             .group = max_str(),
                             .state = IPC_GROUP_COMPLETING_REBALANCE,
                             .nmembers = 1}},
                   g, first;
    ipc_group_member_info mi[3] =
        {{sl_slice_str("m-1"), sl_slice_make(NULL, 0), sl_slice_str("cli-1"),
          sl_slice_str("/10.0.0.1"), sl_slice_str("md1"), sl_slice_str("as1")},
         {sl_slice_str("m-2"), sl_slice_str("s-2"), sl_slice_str("cli-2"),
          sl_slice_str("/10.0.0.2"), sl_slice_make(NULL, 0),
          sl_slice_make(NULL, 0)},
         {max_str(), max_str(), max_str(), max_str(), sl_slice_str("x"),
          sl_slice_str("y")}},
                          x;
    ipc_group_describe_rep p;
    sl_slice names[3] = {sl_slice_str("g"), sl_slice_str("unknown"), max_str()};
    ipc_names_req nq;

    assert_int_equal(ipc_names_req_encode(&b, IPC_OP_GROUP_DESCRIBE, names, 3),
                     0);
    assert_int_equal(
        ipc_names_req_decode(body_of(&b, IPC_OP_GROUP_DESCRIBE, 0), &nq), 0);
    assert_int_equal(nq.count, 3);

    assert_int_equal(ipc_group_describe_rep_begin(&b, 3), 0);
    assert_int_equal(ipc_group_describe_rep_group(&b, &gi[0]), 0);
    assert_int_equal(ipc_group_describe_rep_member(&b, &mi[0]), 0);
    assert_int_equal(ipc_group_describe_rep_member(&b, &mi[1]), 0);
    assert_int_equal(ipc_group_describe_rep_group(&b, &gi[1]), 0);
    assert_int_equal(ipc_group_describe_rep_group(&b, &gi[2]), 0);
    assert_int_equal(ipc_group_describe_rep_member(&b, &mi[2]), 0);
    assert_int_equal(ipc_group_describe_rep_decode(
                         body_of(&b, IPC_OP_GROUP_DESCRIBE, 0), &p),
                     0);
    assert_int_equal(p.count, 3);

    /* Group 0: its member cursor stays usable after the next group has been
     * read — each group has its own. */
    assert_int_equal(ipc_group_describe_rep_next(&p, &first), 1);
    assert_int_equal(first.error, 0);
    assert_slice_eq(first.group, gi[0].group);
    assert_int_equal(first.state, IPC_GROUP_STABLE);
    assert_slice_eq(first.protocol_type, gi[0].protocol_type);
    assert_slice_eq(first.protocol_name, gi[0].protocol_name);
    assert_int_equal(first.nmembers, 2);

    assert_int_equal(ipc_group_describe_rep_next(&p, &g), 1);
    assert_slice_eq(g.group, gi[1].group);
    assert_int_equal(g.state, IPC_GROUP_DEAD);
    assert_int_equal(g.nmembers, 0);
    assert_int_equal(ipc_group_info_next_member(&g, &x), 0);

    for (int i = 0; i < 2; i++) {
        assert_int_equal(ipc_group_info_next_member(&first, &x), 1);
        check_member(&x, &mi[i]);
    }
    assert_int_equal(ipc_group_info_next_member(&first, &x), 0);

    assert_int_equal(ipc_group_describe_rep_next(&p, &g), 1);
    assert_int_equal(g.error, SL_E_INTERNAL);
    assert_slice_eq(g.group, gi[2].group);
    assert_int_equal(g.state, IPC_GROUP_COMPLETING_REBALANCE);
    assert_int_equal(g.nmembers, 1);
    assert_int_equal(ipc_group_info_next_member(&g, &x), 1);
    check_member(&x, &mi[2]);
    assert_int_equal(ipc_group_info_next_member(&g, &x), 0);
    assert_int_equal(ipc_group_describe_rep_next(&p, &g), 0);

    assert_int_equal(ipc_group_describe_rep_begin(&b, 0), 0);
    assert_int_equal(ipc_group_describe_rep_decode(
                         body_of(&b, IPC_OP_GROUP_DESCRIBE, 0), &p),
                     0);
    assert_int_equal(p.count, 0);
    assert_int_equal(ipc_group_describe_rep_next(&p, &g), 0);

    /* A group that announces more members than follow is refused, as is one
     * that announces fewer (the leftover member is trailing garbage). */
    assert_int_equal(ipc_group_describe_rep_begin(&b, 1), 0);
    assert_int_equal(ipc_group_describe_rep_group(&b, &gi[0]), 0);
    assert_int_equal(ipc_group_describe_rep_member(&b, &mi[0]), 0);
    assert_int_equal(ipc_group_describe_rep_decode(
                         body_of(&b, IPC_OP_GROUP_DESCRIBE, 0), &p),
                     SL_E_MALFORMED);
    assert_int_equal(ipc_group_describe_rep_member(&b, &mi[0]), 0);
    assert_int_equal(ipc_group_describe_rep_member(&b, &mi[0]), 0);
    assert_int_equal(ipc_group_describe_rep_decode(
                         body_of(&b, IPC_OP_GROUP_DESCRIBE, 0), &p),
                     SL_E_MALFORMED);

    /* A bad state is refused by the encoder. */
    gi[0].state = IPC_GROUP_DEAD + 1;
    assert_int_equal(ipc_group_describe_rep_group(&b, &gi[0]), SL_E_INVAL);
    sl_buf_fini(&b);
}

/* [IPC-4.13] */
static void
test_offset_commit_fetch_roundtrip(void **state)
{
    (void)state;
    sl_buf b = {0};
    ipc_commit_req q = {.group = sl_slice_str("g"),
                        .generation = -1,
                        .member_id = sl_slice_make(NULL, 0),
                        .instance_id = max_str(),
                        .count = 42 /* ignored by the encoder */},
                   q2;
    ipc_commit_entry ce[3] = {{sl_slice_str("orders"), 0, 100, 5,
                               sl_slice_str("meta")},
                              {max_str(), INT32_MAX, INT64_MAX, -1, max_str()},
                              {sl_slice_make(NULL, 0), -1, -1, INT32_MIN,
                               sl_slice_make(NULL, 0)}},
                     ge;
    int32_t errs[3] = {0, SL_E_GENERATION, SL_E_NOTOPIC}, e;
    ipc_errors_rep p;
    ipc_topic_partition tp[2] = {{sl_slice_str("orders"), 0}, {max_str(), 9}},
                        gtp;
    ipc_offset_fetch_req f;
    ipc_committed c[2] = {{sl_slice_str("orders"), 0, 100, 5,
                           sl_slice_str("meta"), 0},
                          {max_str(), 9, -1, -1, sl_slice_make(NULL, 0),
                           SL_E_NOPART}},
                  gc;
    ipc_offset_fetch_rep fr;

    assert_int_equal(ipc_commit_req_encode(&b, &q, ce, 3), 0);
    assert_int_equal(
        ipc_commit_req_decode(body_of(&b, IPC_OP_OFFSET_COMMIT, 0), &q2), 0);
    assert_slice_eq(q2.group, q.group);
    assert_int_equal(q2.generation, -1);
    assert_int_equal(q2.member_id.n, 0);
    assert_slice_eq(q2.instance_id, q.instance_id);
    assert_int_equal(q2.count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ipc_commit_req_next(&q2, &ge), 1);
        assert_slice_eq(ge.topic, ce[i].topic);
        assert_int_equal(ge.partition, ce[i].partition);
        assert_int_equal(ge.offset, ce[i].offset);
        assert_int_equal(ge.leader_epoch, ce[i].leader_epoch);
        assert_slice_eq(ge.metadata, ce[i].metadata);
    }
    assert_int_equal(ipc_commit_req_next(&q2, &ge), 0);

    assert_int_equal(ipc_commit_rep_encode(&b, errs, 3), 0);
    assert_int_equal(
        ipc_commit_rep_decode(body_of(&b, IPC_OP_OFFSET_COMMIT, 0), &p), 0);
    assert_int_equal(p.error, 0);
    assert_int_equal(p.count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ipc_errors_rep_next(&p, &e), 1);
        assert_int_equal(e, errs[i]);
    }
    assert_int_equal(ipc_errors_rep_next(&p, &e), 0);

    assert_int_equal(
        ipc_offset_fetch_req_encode(&b, sl_slice_str("g"), 0, tp, 2), 0);
    assert_int_equal(
        ipc_offset_fetch_req_decode(body_of(&b, IPC_OP_OFFSET_FETCH, 0), &f),
        0);
    assert_true(sl_slice_eq_str(f.group, "g"));
    assert_int_equal(f.all, 0);
    assert_int_equal(f.count, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ipc_offset_fetch_req_next(&f, &gtp), 1);
        assert_slice_eq(gtp.topic, tp[i].topic);
        assert_int_equal(gtp.partition, tp[i].partition);
    }
    assert_int_equal(ipc_offset_fetch_req_next(&f, &gtp), 0);

    /* all: every committed partition, no list; written as 1. */
    assert_int_equal(
        ipc_offset_fetch_req_encode(&b, sl_slice_str("g"), 7, NULL, 0), 0);
    assert_int_equal(
        ipc_offset_fetch_req_decode(body_of(&b, IPC_OP_OFFSET_FETCH, 0), &f),
        0);
    assert_int_equal(f.all, 1);
    assert_int_equal(f.count, 0);
    assert_int_equal(
        ipc_offset_fetch_req_encode(&b, sl_slice_str("g"), 1, tp, 2),
        SL_E_INVAL);

    assert_int_equal(ipc_offset_fetch_rep_encode(&b, SL_E_REBALANCE, c, 2), 0);
    assert_int_equal(
        ipc_offset_fetch_rep_decode(body_of(&b, IPC_OP_OFFSET_FETCH, 0), &fr),
        0);
    assert_int_equal(fr.error, SL_E_REBALANCE);
    assert_int_equal(fr.count, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ipc_offset_fetch_rep_next(&fr, &gc), 1);
        assert_slice_eq(gc.topic, c[i].topic);
        assert_int_equal(gc.partition, c[i].partition);
        assert_int_equal(gc.offset, c[i].offset);
        assert_int_equal(gc.leader_epoch, c[i].leader_epoch);
        assert_slice_eq(gc.metadata, c[i].metadata);
        assert_int_equal(gc.error, c[i].error);
    }
    assert_int_equal(ipc_offset_fetch_rep_next(&fr, &gc), 0);
    sl_buf_fini(&b);
}

/* [IPC-4.14] and [IPC-4.15] */
static void
test_producer_id_add_partitions_roundtrip(void **state)
{
    (void)state;
    sl_buf b = {0};
    int64_t id;
    int32_t epoch, count;
    sl_slice name;
    uint8_t vo;

    assert_int_equal(ipc_producer_id_req_encode(&b), 0);
    assert_int_equal(b.n, IPC_HDR_LEN + 4);
    assert_int_equal(
        ipc_producer_id_req_decode(body_of(&b, IPC_OP_PRODUCER_ID, 0)), 0);
    /* Reserved flags are not checked. */
    assert_int_equal(
        ipc_producer_id_req_decode(sl_slice_make("\xff\xff\xff\xff", 4)), 0);
    assert_int_equal(ipc_producer_id_rep_encode(&b, INT64_MAX, 0), 0);
    assert_int_equal(ipc_producer_id_rep_decode(
                         body_of(&b, IPC_OP_PRODUCER_ID, 0), &id, &epoch),
                     0);
    assert_int_equal(id, INT64_MAX);
    assert_int_equal(epoch, 0);

    assert_int_equal(ipc_add_partitions_req_encode(&b, max_str(), 12, 0), 0);
    assert_int_equal(
        ipc_add_partitions_req_decode(
            body_of(&b, IPC_OP_TOPIC_ADD_PARTITIONS, 0), &name, &count, &vo),
        0);
    assert_slice_eq(name, max_str());
    assert_int_equal(count, 12);
    assert_int_equal(vo, 0);
    assert_int_equal(
        ipc_add_partitions_req_encode(&b, sl_slice_str("t"), INT32_MIN, 2), 0);
    assert_int_equal(
        ipc_add_partitions_req_decode(
            body_of(&b, IPC_OP_TOPIC_ADD_PARTITIONS, 0), &name, &count, &vo),
        0);
    assert_true(sl_slice_eq_str(name, "t"));
    assert_int_equal(count, INT32_MIN);
    assert_int_equal(vo, 1); /* any non-zero is sent as 1 */
    sl_buf_fini(&b);
}

/* [IPC-5] EVT_KV and EVT_GROUP */
static void
test_coord_event_roundtrip(void **state)
{
    (void)state;
    sl_buf b = {0};
    ipc_event e = {0}, g;

    e.op = IPC_EVT_KV;
    e.key = max_str();
    e.version = 8;
    e.prev_revision = 7;
    e.value = sl_slice_str("payload");
    assert_int_equal(ipc_event_encode(&b, &e), 0);
    assert_int_equal(ipc_event_decode(sl_slice_make(b.p, b.n), &g), 0);
    assert_int_equal(g.op, IPC_EVT_KV);
    assert_slice_eq(g.key, max_str());
    assert_int_equal(g.version, 8);
    assert_int_equal(g.prev_revision, 7);
    assert_int_equal(g.deleted, 0);
    assert_true(sl_slice_eq_str(g.value, "payload"));
    assert_int_equal(g.topic.n, 0);

    e.value = sl_slice_make(NULL, 0);
    e.deleted = 3; /* sent as 1 */
    assert_int_equal(ipc_event_encode(&b, &e), 0);
    assert_int_equal(ipc_event_decode(sl_slice_make(b.p, b.n), &g), 0);
    assert_int_equal(g.deleted, 1);
    assert_int_equal(g.value.n, 0);
    /* A deletion with a value is refused. */
    e.value = sl_slice_str("x");
    assert_int_equal(ipc_event_encode(&b, &e), SL_E_INVAL);

    memset(&e, 0, sizeof(e));
    e.op = IPC_EVT_GROUP;
    e.key = sl_slice_str("g");
    e.generation = INT32_MIN;
    e.state = IPC_GROUP_PREPARING_REBALANCE;
    assert_int_equal(ipc_event_encode(&b, &e), 0);
    assert_int_equal(ipc_event_decode(sl_slice_make(b.p, b.n), &g), 0);
    assert_int_equal(g.op, IPC_EVT_GROUP);
    assert_true(sl_slice_eq_str(g.key, "g"));
    assert_int_equal(g.generation, INT32_MIN);
    assert_int_equal(g.state, IPC_GROUP_PREPARING_REBALANCE);
    for (size_t len = 0; len < b.n; len++)
        assert_int_equal(ipc_event_decode(sl_slice_make(b.p, len), &g),
                         SL_E_MALFORMED);
    assert_int_equal(sl_buf_put_u8(&b, 0), 0);
    assert_int_equal(ipc_event_decode(sl_slice_make(b.p, b.n), &g),
                     SL_E_MALFORMED);
    e.state = IPC_GROUP_DEAD + 1;
    assert_int_equal(ipc_event_encode(&b, &e), SL_E_INVAL);
    sl_buf_fini(&b);
}

static void
test_coord_names(void **state)
{
    (void)state;
    static const struct {
        int op;
        const char *name;
    } ops[] = {
        {IPC_OP_KV_GET, "KV_GET"},
        {IPC_OP_KV_WRITE, "KV_WRITE"},
        {IPC_OP_KV_SCAN, "KV_SCAN"},
        {IPC_OP_GROUP_JOIN, "GROUP_JOIN"},
        {IPC_OP_GROUP_SYNC, "GROUP_SYNC"},
        {IPC_OP_GROUP_HEARTBEAT, "GROUP_HEARTBEAT"},
        {IPC_OP_GROUP_LEAVE, "GROUP_LEAVE"},
        {IPC_OP_GROUP_LIST, "GROUP_LIST"},
        {IPC_OP_GROUP_DESCRIBE, "GROUP_DESCRIBE"},
        {IPC_OP_GROUP_DELETE, "GROUP_DELETE"},
        {IPC_OP_OFFSET_COMMIT, "OFFSET_COMMIT"},
        {IPC_OP_OFFSET_FETCH, "OFFSET_FETCH"},
        {IPC_OP_PRODUCER_ID, "PRODUCER_ID"},
        {IPC_OP_TOPIC_ADD_PARTITIONS, "TOPIC_ADD_PARTITIONS"},
        {IPC_OP_TIER_STATUS, "TIER_STATUS"},
        {IPC_OP_TOPIC_ALTER_CONFIGS, "TOPIC_ALTER_CONFIGS"},
        {IPC_EVT_KV, "EVT_KV"},
        {IPC_EVT_GROUP, "EVT_GROUP"},
    };

    for (size_t i = 0; i < SL_ARRAY_LEN(ops); i++)
        assert_string_equal(ipc_op_name(ops[i].op), ops[i].name);
    assert_string_equal(ipc_op_name(25), "?");
    assert_string_equal(ipc_op_name(69), "?");

    assert_string_equal(ipc_group_state_name(IPC_GROUP_EMPTY), "Empty");
    assert_string_equal(ipc_group_state_name(IPC_GROUP_PREPARING_REBALANCE),
                        "PreparingRebalance");
    assert_string_equal(ipc_group_state_name(IPC_GROUP_COMPLETING_REBALANCE),
                        "CompletingRebalance");
    assert_string_equal(ipc_group_state_name(IPC_GROUP_STABLE), "Stable");
    assert_string_equal(ipc_group_state_name(IPC_GROUP_DEAD), "Dead");
    assert_string_equal(ipc_group_state_name(5), "?");
    assert_string_equal(ipc_group_state_name(-1), "?");
}

/* [IPC-3] The error codes are wire values (header status, per-entry status
 * and the group error fields): they must not move. */
static void
test_error_code_values(void **state)
{
    (void)state;
    assert_int_equal(SL_E_EXISTS, -10092);
    assert_int_equal(SL_E_RANGE, -10090);
    assert_int_equal(SL_E_NOKEY, -10081);
    assert_int_equal(SL_E_CONFLICT, -10080);
    assert_int_equal(SL_E_UNKNOWN_MEMBER, -10079);
    assert_int_equal(SL_E_GENERATION, -10078);
    assert_int_equal(SL_E_REBALANCE, -10077);
    assert_int_equal(SL_E_MEMBER_REQUIRED, -10076);
    assert_int_equal(SL_E_FENCED, -10075);
    assert_int_equal(SL_E_NOGROUP, -10074);
    assert_int_equal(SL_E_NOTEMPTY, -10073);
    assert_int_equal(SL_E_GROUP_PROTOCOL, -10072);
    assert_int_equal(SL_E_SEQUENCE, -10071);
    assert_int_equal(SL_E_PRODUCER_EPOCH, -10070);
}

/* ---- coordination ops: rejection ---------------------------------------- */

/* [IPC-1] rule 3 and [IPC-4.10]: a KV_WRITE op kind other than PUT, DELETE
 * or CHECK, an expect below IPC_KV_ANY, and a value on a DELETE or CHECK are
 * refused by the decoder, and by the encoder before it. */
static void
test_bad_kv_ops(void **state)
{
    (void)state;
    sl_buf b = {0};
    static const struct {
        const char *hex; /* one op: kind, key "k", expect, value */
        int ok;
    } cases[] = {
        {"01 0001 6b 0000000000000000 00000001 76", 1}, /* PUT */
        {"02 0001 6b ffffffffffffffff 00000000", 1},    /* DELETE, ANY */
        {"03 0001 6b 0000000000000005 00000000", 1},    /* CHECK */
        {"00 0001 6b 0000000000000000 00000000", 0},    /* kind 0 */
        {"04 0001 6b 0000000000000000 00000000", 0},    /* kind 4 */
        {"ff 0001 6b 0000000000000000 00000000", 0},    /* kind 255 */
        {"01 0001 6b fffffffffffffffe 00000000", 0},    /* expect -2 */
        {"01 0001 6b 8000000000000000 00000000", 0},    /* expect INT64_MIN */
        {"02 0001 6b 0000000000000000 00000001 76", 0}, /* DELETE + value */
        {"03 0001 6b 0000000000000001 00000001 76", 0}, /* CHECK + value */
    };

    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        sl_buf op = {0};
        hex_to_buf("00000000 00000001", &b);
        hex_to_buf(cases[i].hex, &op);
        assert_int_equal(sl_buf_append(&b, op.p, op.n), 0);
        sl_buf_fini(&op);
        assert_int_equal(decode_any(K_KV_WRITE_REQ, sl_slice_make(b.p, b.n)),
                         cases[i].ok ? 0 : SL_E_MALFORMED);
    }

    ipc_kv_op bad[] = {
        {0, sl_slice_str("k"), 0, sl_slice_make(NULL, 0)},
        {IPC_KV_CHECK + 1, sl_slice_str("k"), 0, sl_slice_make(NULL, 0)},
        {IPC_KV_PUT, sl_slice_str("k"), -2, sl_slice_make(NULL, 0)},
        {IPC_KV_DELETE, sl_slice_str("k"), IPC_KV_ANY, sl_slice_str("v")},
        {IPC_KV_CHECK, sl_slice_str("k"), 3, sl_slice_str("v")},
    };
    ipc_kv_op good = {IPC_KV_PUT, sl_slice_str("k"), 0, sl_slice_str("v")};
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        ipc_kv_op two[2] = {good, bad[i]};
        assert_int_equal(ipc_kv_write_req_encode(&b, 0, &bad[i], 1),
                         SL_E_INVAL);
        assert_int_equal(ipc_kv_write_req_encode(&b, 0, two, 2), SL_E_INVAL);
    }
    sl_buf_fini(&b);
}

/* [IPC-1] rule 3: u8 flags are 0 or 1, group states 0..4, and the flag
 * combinations that make no sense are refused. */
static void
test_bad_flags_and_states(void **state)
{
    (void)state;
    sl_buf b = {0};
    ipc_event e;
    static const struct {
        int k;           /* enum kind, or -1 for an event (whole message) */
        const char *hex; /* the body */
        int ok;
    } cases[] = {
        /* KV_SCAN reply: revision, more, count, entries */
        {K_KV_SCAN_REP, "0000000000000001 00 00000000", 1},
        {K_KV_SCAN_REP,
         "0000000000000001 01 00000001 0001 6b "
         "0000000000000001 00000000",
         1},
        {K_KV_SCAN_REP, "0000000000000001 02 00000000", 0},
        {K_KV_SCAN_REP, "0000000000000001 01 00000000", 0}, /* more, none */
        /* OFFSET_FETCH request: group, all, count, entries */
        {K_FETCH_REQ, "0001 67 01 00000000", 1},
        {K_FETCH_REQ, "0001 67 02 00000000", 0},
        {K_FETCH_REQ, "0001 67 ff 00000000", 0},
        {K_FETCH_REQ, "0001 67 01 00000001 0001 74 00000000", 0},
        {K_FETCH_REQ, "0001 67 00 00000001 0001 74 00000000", 1},
        /* TOPIC_ADD_PARTITIONS: name, count, validate_only */
        {K_ADD_PARTITIONS_REQ, "0001 74 00000004 01", 1},
        {K_ADD_PARTITIONS_REQ, "0001 74 00000004 02", 0},
        /* GROUP_LIST reply: state 4 is the last one */
        {K_GROUP_LIST_REP, "00000001 0001 67 0000 04", 1},
        {K_GROUP_LIST_REP, "00000001 0001 67 0000 05", 0},
        {K_GROUP_LIST_REP, "00000001 0001 67 0000 ff", 0},
        /* GROUP_DESCRIBE reply: error, group, state, type, name, members */
        {K_GROUP_DESCRIBE_REP,
         "00000001 00000000 0001 67 03 0000 0000 00000000", 1},
        {K_GROUP_DESCRIBE_REP,
         "00000001 00000000 0001 67 05 0000 0000 00000000", 0},
        /* events */
        {-1,
         "534c0143 00000000 0001 6b 0000000000000002 0000000000000001 01 "
         "00000000",
         1},
        {-1,
         "534c0143 00000000 0001 6b 0000000000000002 0000000000000001 02 "
         "00000000",
         0},
        {-1,
         "534c0143 00000000 0001 6b 0000000000000002 0000000000000001 01 "
         "00000001 76",
         0},
        {-1, "534c0144 00000000 0001 67 00000003 02", 1},
        {-1, "534c0144 00000000 0001 67 00000003 05", 0},
    };

    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        int rc;
        hex_to_buf(cases[i].hex, &b);
        if (cases[i].k < 0)
            rc = ipc_event_decode(sl_slice_make(b.p, b.n), &e);
        else
            rc = decode_any((enum kind)cases[i].k, sl_slice_make(b.p, b.n));
        assert_int_equal(rc, cases[i].ok ? 0 : SL_E_MALFORMED);
    }

    ipc_group_listing gl = {sl_slice_str("g"), sl_slice_str("c"), 5};
    assert_int_equal(ipc_group_list_rep_encode(&b, &gl, 1), SL_E_INVAL);
    sl_buf_fini(&b);
}

/* [IPC-1] rule 2: the smallest element sizes listed in docs/ipc.md are the
 * real wire sizes of elements whose strs and bytes are all empty.  Three
 * such elements as the last array decode (a size that was too large would
 * refuse them), and a count of four over the same bytes is refused. */
static void
test_min_element_sizes(void **state)
{
    (void)state;
    static const struct {
        enum kind k;
        const char *prefix_hex; /* fields before the count */
        const char *elem_hex;   /* one smallest element */
        size_t size;            /* as listed in docs/ipc.md */
    } cases[] = {
        {K_KV_GET_REQ, "", "0000", 2},
        {K_KV_GET_REP, "0000000000000001", "00000000 0000000000000000 00000000",
         16},
        {K_KV_WRITE_REQ, "00000000", "01 0000 0000000000000000 00000000", 15},
        {K_KV_SCAN_REP, "0000000000000001 00", "0000 0000000000000000 00000000",
         14},
        {K_JOIN_REQ,
         "0001 67 0000 0000 0000 00000000 00000000 0000 0000 00000000",
         "0000 00000000", 6},
        {K_JOIN_REP, "00000000 00000001 0000 0000 0000", "0000 0000 00000000",
         8},
        {K_SYNC_REQ, "0001 67 00000001 0000 0000 0000 0000", "0000 00000000",
         6},
        {K_LEAVE_REQ, "0001 67", "0000 0000", 4},
        {K_LEAVE_REP, "00000000", "00000000", 4},
        {K_GROUP_LIST_REP, "", "0000 0000 00", 5},
        {K_NAMES_REQ, "", "0000", 2},
        {K_GROUP_DESCRIBE_REP, "", "00000000 0000 00 0000 0000 00000000", 15},
        {K_GROUP_DESCRIBE_REP, "00000001 00000000 0001 67 03 0000 0000",
         "0000 0000 0000 0000 00000000 00000000", 16},
        {K_GROUP_DELETE_REP, "", "00000000", 4},
        {K_COMMIT_REQ, "0001 67 00000001 0000 0000",
         "0000 00000000 0000000000000000 00000000 0000", 20},
        {K_COMMIT_REP, "", "00000000", 4},
        {K_FETCH_REQ, "0001 67 00", "0000 00000000", 6},
        {K_FETCH_REP, "00000000",
         "0000 00000000 0000000000000000 00000000 0000 00000000", 24},
    };
    sl_buf b = {0}, elem = {0};

    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        hex_to_buf(cases[i].elem_hex, &elem);
        assert_int_equal(elem.n, cases[i].size);
        for (uint32_t count = 3; count <= 4; count++) {
            hex_to_buf(cases[i].prefix_hex, &b);
            assert_int_equal(sl_buf_put_u32be(&b, count), 0);
            for (int j = 0; j < 3; j++)
                assert_int_equal(sl_buf_append(&b, elem.p, elem.n), 0);
            assert_int_equal(decode_any(cases[i].k, sl_slice_make(b.p, b.n)),
                             count == 3 ? 0 : SL_E_MALFORMED);
        }
    }
    sl_buf_fini(&elem);
    sl_buf_fini(&b);
}

/* _next after a failed decode yields nothing, nested cursors included. */
static void
test_coord_next_after_failure(void **state)
{
    (void)state;
    ipc_group_describe_rep d;
    ipc_group_info g;
    ipc_group_member_info x;
    ipc_kv_write_req w;
    ipc_kv_op op;
    sl_buf b = {0};

    memset(&g, 0, sizeof(g));
    assert_int_equal(ipc_group_info_next_member(&g, &x), 0);
    /* One group announcing one member, whose bytes are missing. */
    hex_to_buf("00000001 00000000 0001 67 03 0000 0000 00000001", &b);
    assert_int_equal(ipc_group_describe_rep_decode(sl_slice_make(b.p, b.n), &d),
                     SL_E_MALFORMED);
    assert_int_equal(ipc_group_describe_rep_next(&d, &g), 0);
    hex_to_buf("00000000 00000001 09 0001 6b 0000000000000000 00000000", &b);
    assert_int_equal(ipc_kv_write_req_decode(sl_slice_make(b.p, b.n), &w),
                     SL_E_MALFORMED);
    assert_int_equal(ipc_kv_write_req_next(&w, &op), 0);
    sl_buf_fini(&b);
}

/* ---- coordination test vectors from docs/ipc.md ------------------------- */

/* Decode hex into b and check that it is a message of op, status 0. */
static sl_slice
vector_body(const char *hex, sl_buf *b, int op)
{
    hex_to_buf(hex, b);
    return body_of(b, op, 0);
}

/* The encoder made exactly the bytes of the vector. */
static void
assert_same_bytes(const sl_buf *a, const sl_buf *b)
{
    assert_int_equal(a->n, b->n);
    assert_memory_equal(a->p, b->p, a->n);
}

/* [IPC-4.9] KV_GET reply: one key found, one absent. */
static void
test_vector_kv_get_rep(void **state)
{
    (void)state;
    sl_buf b = {0}, e = {0};
    ipc_kv_get_rep m;
    ipc_kv_entry x;

    sl_slice body = vector_body("53 4c 01 09 00000000"
                                "0000000000000007"
                                "00000002"
                                "00000000 0000000000000005 00000002 6869"
                                "ffffd89f 0000000000000000 00000000",
                                &b, IPC_OP_KV_GET);
    assert_int_equal(ipc_kv_get_rep_decode(body, &m), 0);
    assert_int_equal(m.revision, 7);
    assert_int_equal(m.count, 2);
    assert_int_equal(ipc_kv_get_rep_next(&m, &x), 1);
    assert_int_equal(x.status, 0);
    assert_int_equal(x.version, 5);
    assert_true(sl_slice_eq_str(x.value, "hi"));
    assert_int_equal(ipc_kv_get_rep_next(&m, &x), 1);
    assert_int_equal(x.status, SL_E_NOKEY);
    assert_int_equal(x.version, 0);
    assert_int_equal(x.value.n, 0);
    assert_int_equal(ipc_kv_get_rep_next(&m, &x), 0);

    ipc_kv_entry v[2] = {{.version = 5, .value = sl_slice_str("hi")},
                         {.status = SL_E_NOKEY}};
    assert_int_equal(ipc_kv_get_rep_encode(&e, 7, v, 2), 0);
    assert_same_bytes(&e, &b);
    sl_buf_fini(&e);
    sl_buf_fini(&b);
}

/* [IPC-4.10] KV_WRITE request: create a key that must be absent, and delete
 * another unconditionally. */
static void
test_vector_kv_write_req(void **state)
{
    (void)state;
    sl_buf b = {0}, e = {0};
    ipc_kv_write_req m;
    ipc_kv_op op;

    sl_slice body =
        vector_body("53 4c 01 0a 00000000"
                    "00000000"
                    "00000002"
                    "01 0007 6d712f732f6331 0000000000000000 00000002 6869"
                    "02 0006 6d712f722f74 ffffffffffffffff 00000000",
                    &b, IPC_OP_KV_WRITE);
    assert_int_equal(ipc_kv_write_req_decode(body, &m), 0);
    assert_int_equal(m.count, 2);
    assert_int_equal(ipc_kv_write_req_next(&m, &op), 1);
    assert_int_equal(op.kind, IPC_KV_PUT);
    assert_true(sl_slice_eq_str(op.key, "mq/s/c1"));
    assert_int_equal(op.expect, 0);
    assert_true(sl_slice_eq_str(op.value, "hi"));
    assert_int_equal(ipc_kv_write_req_next(&m, &op), 1);
    assert_int_equal(op.kind, IPC_KV_DELETE);
    assert_true(sl_slice_eq_str(op.key, "mq/r/t"));
    assert_int_equal(op.expect, IPC_KV_ANY);
    assert_int_equal(ipc_kv_write_req_next(&m, &op), 0);

    ipc_kv_op ops[2] = {
        {IPC_KV_PUT, sl_slice_str("mq/s/c1"), 0, sl_slice_str("hi")},
        {IPC_KV_DELETE, sl_slice_str("mq/r/t"), IPC_KV_ANY,
         sl_slice_make(NULL, 0)}};
    assert_int_equal(ipc_kv_write_req_encode(&e, 0, ops, 2), 0);
    assert_same_bytes(&e, &b);
    sl_buf_fini(&e);
    sl_buf_fini(&b);
}

/* [IPC-4.12] GROUP_JOIN reply: MEMBER_REQUIRED with the assigned id, and a
 * HEARTBEAT reply telling the member to join again. */
static void
test_vector_group_replies(void **state)
{
    (void)state;
    sl_buf b = {0}, e = {0};
    ipc_join_rep m;
    int32_t err;

    sl_slice body = vector_body("53 4c 01 0c 00000000"
                                "ffffd8a4"      /* SL_E_MEMBER_REQUIRED */
                                "ffffffff"      /* generation -1 */
                                "0000"          /* protocol_name "" */
                                "0000"          /* leader "" */
                                "0004 632d3031" /* member_id "c-01" */
                                "00000000",     /* no members */
                                &b, IPC_OP_GROUP_JOIN);
    assert_int_equal(ipc_join_rep_decode(body, &m), 0);
    assert_int_equal(m.error, SL_E_MEMBER_REQUIRED);
    assert_int_equal(m.generation, -1);
    assert_true(sl_slice_eq_str(m.member_id, "c-01"));
    assert_int_equal(m.nmembers, 0);
    ipc_join_rep j = {.error = SL_E_MEMBER_REQUIRED,
                      .generation = -1,
                      .member_id = sl_slice_str("c-01")};
    assert_int_equal(ipc_join_rep_encode(&e, &j, NULL, 0), 0);
    assert_same_bytes(&e, &b);

    body = vector_body("53 4c 01 0e 00000000 ffffd8a3", &b,
                       IPC_OP_GROUP_HEARTBEAT);
    assert_int_equal(ipc_group_error_rep_decode(body, &err), 0);
    assert_int_equal(err, SL_E_REBALANCE);
    assert_int_equal(
        ipc_group_error_rep_encode(&e, IPC_OP_GROUP_HEARTBEAT, SL_E_REBALANCE),
        0);
    assert_same_bytes(&e, &b);
    sl_buf_fini(&e);
    sl_buf_fini(&b);
}

/* [IPC-4.13] OFFSET_COMMIT request outside the group protocol. */
static void
test_vector_offset_commit_req(void **state)
{
    (void)state;
    sl_buf b = {0}, e = {0};
    ipc_commit_req m;
    ipc_commit_entry x;

    sl_slice body = vector_body("53 4c 01 13 00000000"
                                "0001 67"  /* group "g" */
                                "ffffffff" /* generation -1 */
                                "0000"     /* member_id "" */
                                "0000"     /* instance_id "" */
                                "00000001"
                                "0006 6f7264657273" /* "orders" */
                                "00000002"          /* partition 2 */
                                "000000000000002a"  /* offset 42 */
                                "ffffffff"          /* leader_epoch -1 */
                                "0000",             /* metadata "" */
                                &b, IPC_OP_OFFSET_COMMIT);
    assert_int_equal(ipc_commit_req_decode(body, &m), 0);
    assert_true(sl_slice_eq_str(m.group, "g"));
    assert_int_equal(m.generation, -1);
    assert_int_equal(m.count, 1);
    assert_int_equal(ipc_commit_req_next(&m, &x), 1);
    assert_true(sl_slice_eq_str(x.topic, "orders"));
    assert_int_equal(x.partition, 2);
    assert_int_equal(x.offset, 42);
    assert_int_equal(x.leader_epoch, -1);
    assert_int_equal(x.metadata.n, 0);

    ipc_commit_req q = {.group = sl_slice_str("g"), .generation = -1};
    ipc_commit_entry c = {sl_slice_str("orders"), 2, 42, -1,
                          sl_slice_make(NULL, 0)};
    assert_int_equal(ipc_commit_req_encode(&e, &q, &c, 1), 0);
    assert_same_bytes(&e, &b);
    sl_buf_fini(&e);
    sl_buf_fini(&b);
}

/* [IPC-5] EVT_KV: key mq/r/t deleted at revision 8. */
static void
test_vector_evt_kv(void **state)
{
    (void)state;
    sl_buf b = {0}, e = {0};
    ipc_event g;

    hex_to_buf("53 4c 01 43 00000000"
               "0006 6d712f722f74"
               "0000000000000008"
               "0000000000000007"
               "01"
               "00000000",
               &b);
    assert_int_equal(ipc_event_decode(sl_slice_make(b.p, b.n), &g), 0);
    assert_int_equal(g.op, IPC_EVT_KV);
    assert_true(sl_slice_eq_str(g.key, "mq/r/t"));
    assert_int_equal(g.version, 8);
    assert_int_equal(g.prev_revision, 7);
    assert_int_equal(g.deleted, 1);
    assert_int_equal(g.value.n, 0);
    assert_int_equal(ipc_event_encode(&e, &g), 0);
    assert_same_bytes(&e, &b);
    sl_buf_fini(&e);
    sl_buf_fini(&b);
}

/* [IPC-4.24] TOPIC_ALTER_CONFIGS: round trips, a test vector, and what
 * the encoder and decoder refuse. */
static void
test_alter_configs(void **state)
{
    (void)state;
    sl_buf b = {0}, e = {0};
    ipc_alter_configs_req m;
    ipc_alter_configs_rep r;
    ipc_cfg_op o;
    ipc_kv kv[3];

    ipc_cfg_op ops[3] = {
        {IPC_CFG_SET, max_str(), max_str()},
        {IPC_CFG_DELETE, sl_slice_str("retention.ms"), {NULL, 0}},
        {IPC_CFG_SET, sl_slice_str(""), sl_slice_str("")}};
    assert_int_equal(
        ipc_alter_configs_req_encode(&b, sl_slice_str("t"), 7, 0, ops, 3), 0);
    assert_int_equal(ipc_alter_configs_req_decode(
                         body_of(&b, IPC_OP_TOPIC_ALTER_CONFIGS, 0), &m),
                     0);
    assert_true(sl_slice_eq_str(m.name, "t"));
    assert_int_equal(m.validate_only, 1); /* any non-zero is sent as 1 */
    assert_int_equal(m.replace, 0);
    assert_int_equal(m.count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ipc_alter_configs_req_next(&m, &o), 1);
        assert_int_equal(o.op, ops[i].op);
        assert_slice_eq(o.key, ops[i].key);
        assert_slice_eq(o.value, ops[i].value);
    }
    assert_int_equal(ipc_alter_configs_req_next(&m, &o), 0);
    /* No ops (reads the overrides), replace set. */
    assert_int_equal(
        ipc_alter_configs_req_encode(&b, sl_slice_str("t"), 0, 1, NULL, 0), 0);
    assert_int_equal(ipc_alter_configs_req_decode(
                         body_of(&b, IPC_OP_TOPIC_ALTER_CONFIGS, 0), &m),
                     0);
    assert_int_equal(m.replace, 1);
    assert_int_equal(m.count, 0);
    assert_int_equal(ipc_alter_configs_req_next(&m, &o), 0);

    assert_int_equal(ipc_alter_configs_rep_encode(&b, sample_kvs, 3), 0);
    assert_int_equal(ipc_alter_configs_rep_decode(
                         body_of(&b, IPC_OP_TOPIC_ALTER_CONFIGS, 0), &r),
                     0);
    assert_int_equal(r.count, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ipc_alter_configs_rep_next(&r, &kv[i]), 1);
    assert_int_equal(ipc_alter_configs_rep_next(&r, &kv[0]), 0);
    check_kvs(kv, sample_kvs, 3);

    /* The encoder refuses an unknown op and a DELETE with a value. */
    ipc_cfg_op bad[2] = {
        {2, sl_slice_str("k"), sl_slice_str("v")},
        {IPC_CFG_DELETE, sl_slice_str("k"), sl_slice_str("v")}};
    for (int i = 0; i < 2; i++)
        assert_int_equal(ipc_alter_configs_req_encode(&b, sl_slice_str("t"), 0,
                                                      0, &bad[i], 1),
                         SL_E_INVAL);

    /* Vector: name "t", validate_only 0, replace 1, SET retention.ms=1000,
     * DELETE segment.ms. */
    hex_to_buf("534c0118 00000000 0001 74 00 01 00000002"
               "00 000c 726574656e74696f6e2e6d73 0004 31303030"
               "01 000a 7365676d656e742e6d73 0000",
               &b);
    assert_int_equal(
        ipc_alter_configs_req_decode(
            sl_slice_make(b.p + IPC_HDR_LEN, b.n - IPC_HDR_LEN), &m),
        0);
    ipc_cfg_op got[2];
    assert_int_equal(ipc_alter_configs_req_next(&m, &got[0]), 1);
    assert_int_equal(ipc_alter_configs_req_next(&m, &got[1]), 1);
    assert_true(sl_slice_eq_str(got[0].key, "retention.ms"));
    assert_true(sl_slice_eq_str(got[0].value, "1000"));
    assert_int_equal(got[1].op, IPC_CFG_DELETE);
    assert_int_equal(ipc_alter_configs_req_encode(&e, m.name, m.validate_only,
                                                  m.replace, got, 2),
                     0);
    assert_same_bytes(&e, &b);

    /* What the decoder refuses (rule 3 and 2 of [IPC-1]). */
    static const struct {
        int k;
        const char *hex;
        int ok;
    } cases[] = {
        {K_ALTER_REQ, "0001 74 00 00 00000000", 1},
        {K_ALTER_REQ, "0001 74 02 00 00000000", 0}, /* validate_only */
        {K_ALTER_REQ, "0001 74 00 02 00000000", 0}, /* replace */
        {K_ALTER_REQ, "0001 74 00 00 00000001 00 0000 0000", 1},
        {K_ALTER_REQ, "0001 74 00 00 00000001 02 0000 0000", 0}, /* op */
        {K_ALTER_REQ, "0001 74 00 00 00000001 ff 0000 0000", 0},
        {K_ALTER_REQ, "0001 74 00 00 00000001 01 0000 0000", 1},
        {K_ALTER_REQ, "0001 74 00 00 00000001 01 0000 0001 76", 0},
        /* smallest op is 5 bytes: count 2 over 9 bytes is refused */
        {K_ALTER_REQ, "0001 74 00 00 00000002 00 0000 0000 0000", 0},
        {K_ALTER_REQ, "0001 74 00 00 ffffffff 00 0000 0000", 0},
        {K_ALTER_REP, "00000000", 1},
        {K_ALTER_REP, "00000001 0000 0000", 1},
        {K_ALTER_REP, "00000002 0000 0000", 0},
        {K_ALTER_REP, "ffffffff 0000 0000", 0},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(cases); i++) {
        hex_to_buf(cases[i].hex, &b);
        assert_int_equal(
            decode_any((enum kind)cases[i].k, sl_slice_make(b.p, b.n)),
            cases[i].ok ? 0 : SL_E_MALFORMED);
    }
    /* _next after a failed decode yields nothing. */
    hex_to_buf("0001 74 00 00 00000001 02 0000 0000", &b);
    assert_int_equal(ipc_alter_configs_req_decode(sl_slice_make(b.p, b.n), &m),
                     SL_E_MALFORMED);
    assert_int_equal(ipc_alter_configs_req_next(&m, &o), 0);
    sl_buf_fini(&e);
    sl_buf_fini(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_roundtrip),
        cmocka_unit_test(test_topic_create_roundtrip),
        cmocka_unit_test(test_topic_delete_describe_req_roundtrip),
        cmocka_unit_test(test_topic_list_roundtrip),
        cmocka_unit_test(test_topic_describe_rep_roundtrip),
        cmocka_unit_test(test_append_roundtrip),
        cmocka_unit_test(test_read_roundtrip),
        cmocka_unit_test(test_offsets_roundtrip),
        cmocka_unit_test(test_err_roundtrip),
        cmocka_unit_test(test_event_roundtrip),
        cmocka_unit_test(test_op_names),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_trailing_garbage),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_absurd_counts),
        cmocka_unit_test(test_overlong_str),
        cmocka_unit_test(test_bad_read_kind),
        cmocka_unit_test(test_next_after_failure),
        cmocka_unit_test(test_vector_hello_req),
        cmocka_unit_test(test_vector_append_req),
        cmocka_unit_test(test_vector_read_rep),
        cmocka_unit_test(test_vector_event),
        cmocka_unit_test(test_vector_error),
        cmocka_unit_test(test_kv_get_roundtrip),
        cmocka_unit_test(test_kv_write_roundtrip),
        cmocka_unit_test(test_kv_scan_roundtrip),
        cmocka_unit_test(test_join_roundtrip),
        cmocka_unit_test(test_sync_heartbeat_roundtrip),
        cmocka_unit_test(test_leave_list_delete_roundtrip),
        cmocka_unit_test(test_group_describe_roundtrip),
        cmocka_unit_test(test_offset_commit_fetch_roundtrip),
        cmocka_unit_test(test_producer_id_add_partitions_roundtrip),
        cmocka_unit_test(test_coord_event_roundtrip),
        cmocka_unit_test(test_coord_names),
        cmocka_unit_test(test_error_code_values),
        cmocka_unit_test(test_bad_kv_ops),
        cmocka_unit_test(test_bad_flags_and_states),
        cmocka_unit_test(test_min_element_sizes),
        cmocka_unit_test(test_coord_next_after_failure),
        cmocka_unit_test(test_vector_kv_get_rep),
        cmocka_unit_test(test_vector_kv_write_req),
        cmocka_unit_test(test_vector_group_replies),
        cmocka_unit_test(test_vector_offset_commit_req),
        cmocka_unit_test(test_vector_evt_kv),
        cmocka_unit_test(test_tier_status_roundtrip),
        cmocka_unit_test(test_alter_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
