/*
 * ipc_msg_test.c — unit tests of the IPC message codec (ipc/msg): a round
 * trip of every message, rejection of malformed input (every truncation,
 * bad magic and version, absurd counts, overlong strs, trailing bytes, bad
 * READ kinds) and the test vectors of docs/ipc.md, tagged with the section
 * they come from.
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
