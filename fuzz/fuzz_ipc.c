/*
 * fuzz_ipc.c — libFuzzer harness for the IPC message codec (ipc_msg).
 *
 * The input is tried as a whole message (ipc_hdr_decode, then its body) and
 * also as a bare body, against every body decoder, request and reply forms
 * alike (the coordination ops of sections 4.9 to 4.15 included, with
 * GROUP_DESCRIBE's nested member arrays, and TIER_STATUS of 4.23), and as an
 * event (ipc_event_decode).  For each decoder that accepts it, every element is
 * walked with *_next (which must yield exactly the announced count), the values
 * are encoded again with the matching encoder and decoded again, and:
 *
 *   - the re-encoded body must be byte-for-byte the body that was decoded
 *     (the encoding is canonical: one byte string per value; the one
 *     exception, the PRODUCER_ID request's reserved flags, is compared only
 *     when they are 0), and
 *   - the second decode must give the same values as the first.
 *
 * A violation is our bug, so the harness abort()s; input that is merely
 * invalid is never a finding.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_ipc: invariant violated: %s\n", what);
        abort();
    }
}

static int
same(sl_slice a, sl_slice b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* The body of a message we just encoded. */
static sl_slice
enc_body(const sl_buf *b, int op)
{
    ipc_hdr h;
    sl_slice body;

    check(ipc_hdr_decode(sl_slice_make(b->p, b->n), &h, &body) == 0,
          "encoded header decodes");
    check(h.op == op && h.status == 0, "encoded header fields");
    return body;
}

/* Allocate room for n elements (n is bounded by the input size, because the
 * decoder checked every count against the bytes present). */
static void *
alloc_n(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    check(p != NULL, "allocation");
    return p;
}

static int
kv_eq(const ipc_kv *a, const ipc_kv *b)
{
    return same(a->key, b->key) && same(a->value, b->value);
}

/* ---- one function per body -------------------------------------------- */

static void
fz_hello_req(sl_slice body, sl_buf *b)
{
    ipc_hello_req m, m2;

    if (ipc_hello_req_decode(body, &m) != 0)
        return;
    check(ipc_hello_req_encode(b, &m) == 0, "hello req encodes");
    check(same(enc_body(b, IPC_OP_HELLO), body), "hello req canonical");
    check(ipc_hello_req_decode(enc_body(b, IPC_OP_HELLO), &m2) == 0 &&
              same(m.client_name, m2.client_name) && m.flags == m2.flags,
          "hello req round trip");
}

static void
fz_hello_rep(sl_slice body, sl_buf *b)
{
    ipc_hello_rep m, m2;

    if (ipc_hello_rep_decode(body, &m) != 0)
        return;
    check(ipc_hello_rep_encode(b, &m) == 0, "hello rep encodes");
    check(same(enc_body(b, IPC_OP_HELLO), body), "hello rep canonical");
    check(ipc_hello_rep_decode(enc_body(b, IPC_OP_HELLO), &m2) == 0 &&
              same(m.server_version, m2.server_version) &&
              m.proto_min == m2.proto_min && m.proto_max == m2.proto_max &&
              memcmp(m.instance_id, m2.instance_id, IPC_INSTANCE_ID_LEN) == 0 &&
              same(m.data_dir, m2.data_dir) &&
              same(m.events_url, m2.events_url),
          "hello rep round trip");
}

static void
fz_topic_create_req(sl_slice body, sl_buf *b)
{
    ipc_topic_create_req m, m2;
    ipc_kv kv;
    size_t n = 0;

    if (ipc_topic_create_req_decode(body, &m) != 0)
        return;
    ipc_kv *v = alloc_n(m.nconfigs, sizeof(*v));
    while (ipc_topic_create_req_next(&m, &kv)) {
        check(n < m.nconfigs, "create req count");
        v[n++] = kv;
    }
    check(n == m.nconfigs, "create req count");
    check(ipc_topic_create_req_encode(b, m.name, m.partitions, v, n) == 0,
          "create req encodes");
    check(same(enc_body(b, IPC_OP_TOPIC_CREATE), body), "create req canonical");
    check(ipc_topic_create_req_decode(enc_body(b, IPC_OP_TOPIC_CREATE), &m2) ==
                  0 &&
              same(m.name, m2.name) && m.partitions == m2.partitions &&
              m.nconfigs == m2.nconfigs,
          "create req round trip");
    for (size_t i = 0; i < n; i++)
        check(ipc_topic_create_req_next(&m2, &kv) == 1 && kv_eq(&kv, &v[i]),
              "create req config");
    check(ipc_topic_create_req_next(&m2, &kv) == 0, "create req end");
    free(v);
}

static void
fz_name_req(sl_slice body, sl_buf *b, int op)
{
    sl_slice name, name2;
    int describe = op == IPC_OP_TOPIC_DESCRIBE;

    if ((describe ? ipc_topic_describe_req_decode(body, &name)
                  : ipc_topic_delete_req_decode(body, &name)) != 0)
        return;
    check((describe ? ipc_topic_describe_req_encode(b, name)
                    : ipc_topic_delete_req_encode(b, name)) == 0,
          "name req encodes");
    check(same(enc_body(b, op), body), "name req canonical");
    check((describe
               ? ipc_topic_describe_req_decode(enc_body(b, op), &name2)
               : ipc_topic_delete_req_decode(enc_body(b, op), &name2)) == 0 &&
              same(name, name2),
          "name req round trip");
}

static void
fz_topic_list_rep(sl_slice body, sl_buf *b)
{
    ipc_topic_list_rep m, m2;
    ipc_topic_entry e;
    size_t n = 0;

    if (ipc_topic_list_rep_decode(body, &m) != 0)
        return;
    ipc_topic_entry *v = alloc_n(m.count, sizeof(*v));
    while (ipc_topic_list_rep_next(&m, &e)) {
        check(n < m.count, "list rep count");
        v[n++] = e;
    }
    check(n == m.count, "list rep count");
    check(ipc_topic_list_rep_encode(b, v, n) == 0, "list rep encodes");
    check(same(enc_body(b, IPC_OP_TOPIC_LIST), body), "list rep canonical");
    check(ipc_topic_list_rep_decode(enc_body(b, IPC_OP_TOPIC_LIST), &m2) == 0 &&
              m2.count == m.count,
          "list rep round trip");
    for (size_t i = 0; i < n; i++)
        check(ipc_topic_list_rep_next(&m2, &e) == 1 &&
                  same(e.name, v[i].name) && e.partitions == v[i].partitions,
              "list rep entry");
    free(v);
}

static int
part_eq(const ipc_partition_info *a, const ipc_partition_info *b)
{
    return a->partition == b->partition && a->log_start == b->log_start &&
           a->high_watermark == b->high_watermark &&
           a->segments == b->segments && a->bytes == b->bytes;
}

static void
fz_topic_describe_rep(sl_slice body, sl_buf *b)
{
    ipc_topic_describe_rep m, m2;
    ipc_kv kv;
    ipc_partition_info p;
    size_t nc = 0, np = 0;

    if (ipc_topic_describe_rep_decode(body, &m) != 0)
        return;
    ipc_kv *vc = alloc_n(m.nconfigs, sizeof(*vc));
    ipc_partition_info *vp = alloc_n(m.nparts, sizeof(*vp));
    while (ipc_topic_describe_rep_next_config(&m, &kv)) {
        check(nc < m.nconfigs, "describe configs count");
        vc[nc++] = kv;
    }
    while (ipc_topic_describe_rep_next_part(&m, &p)) {
        check(np < m.nparts, "describe parts count");
        vp[np++] = p;
    }
    check(nc == m.nconfigs && np == m.nparts, "describe counts");
    check(ipc_topic_describe_rep_encode(b, m.name, m.partitions, vc, nc, vp,
                                        np) == 0,
          "describe rep encodes");
    check(same(enc_body(b, IPC_OP_TOPIC_DESCRIBE), body),
          "describe rep canonical");
    check(ipc_topic_describe_rep_decode(enc_body(b, IPC_OP_TOPIC_DESCRIBE),
                                        &m2) == 0 &&
              same(m.name, m2.name) && m.partitions == m2.partitions,
          "describe rep round trip");
    for (size_t i = 0; i < np; i++)
        check(ipc_topic_describe_rep_next_part(&m2, &p) == 1 &&
                  part_eq(&p, &vp[i]),
              "describe rep part");
    for (size_t i = 0; i < nc; i++)
        check(ipc_topic_describe_rep_next_config(&m2, &kv) == 1 &&
                  kv_eq(&kv, &vc[i]),
              "describe rep config");
    free(vc);
    free(vp);
}

static void
fz_append_req(sl_slice body, sl_buf *b)
{
    ipc_append_req m, m2;
    ipc_append_entry e;
    size_t n = 0;

    if (ipc_append_req_decode(body, &m) != 0)
        return;
    ipc_append_entry *v = alloc_n(m.count, sizeof(*v));
    while (ipc_append_req_next(&m, &e)) {
        check(n < m.count, "append req count");
        v[n++] = e;
    }
    check(n == m.count, "append req count");
    check(ipc_append_req_encode(b, m.flags, v, n) == 0, "append req encodes");
    check(same(enc_body(b, IPC_OP_APPEND), body), "append req canonical");
    check(ipc_append_req_decode(enc_body(b, IPC_OP_APPEND), &m2) == 0 &&
              m2.flags == m.flags && m2.count == m.count,
          "append req round trip");
    for (size_t i = 0; i < n; i++)
        check(ipc_append_req_next(&m2, &e) == 1 && same(e.topic, v[i].topic) &&
                  e.partition == v[i].partition &&
                  same(e.batches, v[i].batches),
              "append req entry");
    free(v);
}

static void
fz_append_rep(sl_slice body, sl_buf *b)
{
    ipc_append_rep m, m2;
    ipc_append_result r;
    size_t n = 0;

    if (ipc_append_rep_decode(body, &m) != 0)
        return;
    ipc_append_result *v = alloc_n(m.count, sizeof(*v));
    while (ipc_append_rep_next(&m, &r)) {
        check(n < m.count, "append rep count");
        v[n++] = r;
    }
    check(n == m.count, "append rep count");
    check(ipc_append_rep_encode(b, v, n) == 0, "append rep encodes");
    check(same(enc_body(b, IPC_OP_APPEND), body), "append rep canonical");
    check(ipc_append_rep_decode(enc_body(b, IPC_OP_APPEND), &m2) == 0 &&
              m2.count == m.count,
          "append rep round trip");
    for (size_t i = 0; i < n; i++)
        check(ipc_append_rep_next(&m2, &r) == 1 && r.status == v[i].status &&
                  r.base_offset == v[i].base_offset &&
                  r.last_offset == v[i].last_offset &&
                  r.append_time == v[i].append_time &&
                  r.log_start == v[i].log_start,
              "append rep result");
    free(v);
}

static void
fz_read_req(sl_slice body, sl_buf *b)
{
    ipc_read_req m, m2;
    ipc_read_entry e;
    size_t n = 0;

    if (ipc_read_req_decode(body, &m) != 0)
        return;
    ipc_read_entry *v = alloc_n(m.count, sizeof(*v));
    while (ipc_read_req_next(&m, &e)) {
        check(n < m.count, "read req count");
        v[n++] = e;
    }
    check(n == m.count, "read req count");
    check(ipc_read_req_encode(b, m.flags, v, n) == 0, "read req encodes");
    check(same(enc_body(b, IPC_OP_READ), body), "read req canonical");
    check(ipc_read_req_decode(enc_body(b, IPC_OP_READ), &m2) == 0 &&
              m2.flags == m.flags && m2.count == m.count,
          "read req round trip");
    for (size_t i = 0; i < n; i++)
        check(ipc_read_req_next(&m2, &e) == 1 && same(e.topic, v[i].topic) &&
                  e.partition == v[i].partition && e.offset == v[i].offset &&
                  e.max_bytes == v[i].max_bytes,
              "read req entry");
    free(v);
}

static int
read_result_eq(const ipc_read_result *a, const ipc_read_result *b)
{
    return a->status == b->status && a->high_watermark == b->high_watermark &&
           a->log_start == b->log_start && a->kind == b->kind &&
           same(a->path, b->path) && a->segment_base == b->segment_base &&
           a->position == b->position && a->length == b->length &&
           same(a->data, b->data);
}

static void
fz_read_rep(sl_slice body, sl_buf *b)
{
    ipc_read_rep m, m2;
    ipc_read_result r;
    size_t n = 0;

    if (ipc_read_rep_decode(body, &m) != 0)
        return;
    ipc_read_result *v = alloc_n(m.count, sizeof(*v));
    while (ipc_read_rep_next(&m, &r)) {
        check(n < m.count, "read rep count");
        check(r.kind <= IPC_READ_INLINE_DATA, "read rep kind");
        v[n++] = r;
    }
    check(n == m.count, "read rep count");
    check(ipc_read_rep_encode(b, v, n) == 0, "read rep encodes");
    check(same(enc_body(b, IPC_OP_READ), body), "read rep canonical");
    check(ipc_read_rep_decode(enc_body(b, IPC_OP_READ), &m2) == 0 &&
              m2.count == m.count,
          "read rep round trip");
    for (size_t i = 0; i < n; i++)
        check(ipc_read_rep_next(&m2, &r) == 1 && read_result_eq(&r, &v[i]),
              "read rep result");
    free(v);
}

static void
fz_offsets_req(sl_slice body, sl_buf *b)
{
    ipc_offsets_req m, m2;
    ipc_offsets_entry e;
    size_t n = 0;

    if (ipc_offsets_req_decode(body, &m) != 0)
        return;
    ipc_offsets_entry *v = alloc_n(m.count, sizeof(*v));
    while (ipc_offsets_req_next(&m, &e)) {
        check(n < m.count, "offsets req count");
        v[n++] = e;
    }
    check(n == m.count, "offsets req count");
    check(ipc_offsets_req_encode(b, v, n) == 0, "offsets req encodes");
    check(same(enc_body(b, IPC_OP_LIST_OFFSETS), body),
          "offsets req canonical");
    check(ipc_offsets_req_decode(enc_body(b, IPC_OP_LIST_OFFSETS), &m2) == 0 &&
              m2.count == m.count,
          "offsets req round trip");
    for (size_t i = 0; i < n; i++)
        check(ipc_offsets_req_next(&m2, &e) == 1 && same(e.topic, v[i].topic) &&
                  e.partition == v[i].partition && e.spec == v[i].spec,
              "offsets req entry");
    free(v);
}

static void
fz_offsets_rep(sl_slice body, sl_buf *b)
{
    ipc_offsets_rep m, m2;
    ipc_offsets_result r;
    size_t n = 0;

    if (ipc_offsets_rep_decode(body, &m) != 0)
        return;
    ipc_offsets_result *v = alloc_n(m.count, sizeof(*v));
    while (ipc_offsets_rep_next(&m, &r)) {
        check(n < m.count, "offsets rep count");
        v[n++] = r;
    }
    check(n == m.count, "offsets rep count");
    check(ipc_offsets_rep_encode(b, v, n) == 0, "offsets rep encodes");
    check(same(enc_body(b, IPC_OP_LIST_OFFSETS), body),
          "offsets rep canonical");
    check(ipc_offsets_rep_decode(enc_body(b, IPC_OP_LIST_OFFSETS), &m2) == 0 &&
              m2.count == m.count,
          "offsets rep round trip");
    for (size_t i = 0; i < n; i++)
        check(ipc_offsets_rep_next(&m2, &r) == 1 && r.status == v[i].status &&
                  r.offset == v[i].offset && r.timestamp == v[i].timestamp,
              "offsets rep result");
    free(v);
}

/* ---- coordination ops (docs/ipc.md sections 4.9 to 4.15) ------------------
 */

static void
fz_names(sl_slice body, sl_buf *b, int op)
{
    /* KV_GET requests and GROUP_DESCRIBE / GROUP_DELETE requests share the
     * wire form (array of str) but not the decoder. */
    int kv = op == IPC_OP_KV_GET;
    ipc_kv_get_req kq, kq2;
    ipc_names_req nq, nq2;
    uint32_t count;
    sl_slice s;
    size_t n = 0;

    if ((kv ? ipc_kv_get_req_decode(body, &kq)
            : ipc_names_req_decode(body, &nq)) != 0)
        return;
    count = kv ? kq.count : nq.count;
    sl_slice *v = alloc_n(count, sizeof(*v));
    while (kv ? ipc_kv_get_req_next(&kq, &s) : ipc_names_req_next(&nq, &s)) {
        check(n < count, "names count");
        v[n++] = s;
    }
    check(n == count, "names count");
    check((kv ? ipc_kv_get_req_encode(b, v, n)
              : ipc_names_req_encode(b, op, v, n)) == 0,
          "names encodes");
    check(same(enc_body(b, op), body), "names canonical");
    check((kv ? ipc_kv_get_req_decode(enc_body(b, op), &kq2)
              : ipc_names_req_decode(enc_body(b, op), &nq2)) == 0,
          "names round trip");
    for (size_t i = 0; i < n; i++)
        check((kv ? ipc_kv_get_req_next(&kq2, &s)
                  : ipc_names_req_next(&nq2, &s)) == 1 &&
                  same(s, v[i]),
              "names entry");
    free(v);
}

static void
fz_kv_get_rep(sl_slice body, sl_buf *b)
{
    ipc_kv_get_rep m, m2;
    ipc_kv_entry e;
    size_t n = 0;

    if (ipc_kv_get_rep_decode(body, &m) != 0)
        return;
    ipc_kv_entry *v = alloc_n(m.count, sizeof(*v));
    while (ipc_kv_get_rep_next(&m, &e)) {
        check(n < m.count, "kv get rep count");
        check(e.key.n == 0, "kv get rep has no key");
        v[n++] = e;
    }
    check(n == m.count, "kv get rep count");
    check(ipc_kv_get_rep_encode(b, m.revision, v, n) == 0,
          "kv get rep encodes");
    check(same(enc_body(b, IPC_OP_KV_GET), body), "kv get rep canonical");
    check(ipc_kv_get_rep_decode(enc_body(b, IPC_OP_KV_GET), &m2) == 0 &&
              m2.revision == m.revision && m2.count == m.count,
          "kv get rep round trip");
    for (size_t i = 0; i < n; i++)
        check(ipc_kv_get_rep_next(&m2, &e) == 1 && e.status == v[i].status &&
                  e.version == v[i].version && same(e.value, v[i].value),
              "kv get rep entry");
    free(v);
}

static void
fz_kv_write_req(sl_slice body, sl_buf *b)
{
    ipc_kv_write_req m, m2;
    ipc_kv_op op;
    size_t n = 0;

    if (ipc_kv_write_req_decode(body, &m) != 0)
        return;
    ipc_kv_op *v = alloc_n(m.count, sizeof(*v));
    while (ipc_kv_write_req_next(&m, &op)) {
        check(n < m.count, "kv write req count");
        check(op.kind >= IPC_KV_PUT && op.kind <= IPC_KV_CHECK &&
                  op.expect >= IPC_KV_ANY &&
                  (op.kind == IPC_KV_PUT || op.value.n == 0),
              "kv write req op valid");
        v[n++] = op;
    }
    check(n == m.count, "kv write req count");
    check(ipc_kv_write_req_encode(b, m.flags, v, n) == 0,
          "kv write req encodes");
    check(same(enc_body(b, IPC_OP_KV_WRITE), body), "kv write req canonical");
    check(ipc_kv_write_req_decode(enc_body(b, IPC_OP_KV_WRITE), &m2) == 0 &&
              m2.flags == m.flags && m2.count == m.count,
          "kv write req round trip");
    for (size_t i = 0; i < n; i++)
        check(ipc_kv_write_req_next(&m2, &op) == 1 && op.kind == v[i].kind &&
                  same(op.key, v[i].key) && op.expect == v[i].expect &&
                  same(op.value, v[i].value),
              "kv write req op");
    free(v);
}

/* Replies whose body is a fixed list of scalars. */
static void
fz_scalar_reps(sl_slice body, sl_buf *b)
{
    int64_t i64, i64b;
    int32_t i32, i32b;

    if (ipc_kv_write_rep_decode(body, &i64) == 0) {
        check(ipc_kv_write_rep_encode(b, i64) == 0, "kv write rep encodes");
        check(same(enc_body(b, IPC_OP_KV_WRITE), body),
              "kv write rep canonical");
        check(ipc_kv_write_rep_decode(enc_body(b, IPC_OP_KV_WRITE), &i64b) ==
                      0 &&
                  i64 == i64b,
              "kv write rep round trip");
    }
    if (ipc_group_error_rep_decode(body, &i32) == 0) {
        check(ipc_group_error_rep_encode(b, IPC_OP_GROUP_HEARTBEAT, i32) == 0,
              "group error rep encodes");
        check(same(enc_body(b, IPC_OP_GROUP_HEARTBEAT), body),
              "group error rep canonical");
        check(ipc_group_error_rep_decode(enc_body(b, IPC_OP_GROUP_HEARTBEAT),
                                         &i32b) == 0 &&
                  i32 == i32b,
              "group error rep round trip");
    }
    if (ipc_producer_id_rep_decode(body, &i64, &i32) == 0) {
        check(ipc_producer_id_rep_encode(b, i64, i32) == 0,
              "producer id rep encodes");
        check(same(enc_body(b, IPC_OP_PRODUCER_ID), body),
              "producer id rep canonical");
        check(ipc_producer_id_rep_decode(enc_body(b, IPC_OP_PRODUCER_ID), &i64b,
                                         &i32b) == 0 &&
                  i64 == i64b && i32 == i32b,
              "producer id rep round trip");
    }
    if (ipc_producer_id_req_decode(body) == 0) {
        /* The reserved flags are skipped by the decoder and sent as 0 by the
         * encoder: canonical only when they are 0. */
        check(body.n == 4, "producer id req size");
        check(ipc_producer_id_req_encode(b) == 0, "producer id req encodes");
        check(ipc_producer_id_req_decode(enc_body(b, IPC_OP_PRODUCER_ID)) == 0,
              "producer id req round trip");
        if (sl_get_u32be(body.p) == 0)
            check(same(enc_body(b, IPC_OP_PRODUCER_ID), body),
                  "producer id req canonical");
    }
}

static void
fz_kv_scan_req(sl_slice body, sl_buf *b)
{
    ipc_kv_scan_req m, m2;

    if (ipc_kv_scan_req_decode(body, &m) != 0)
        return;
    check(ipc_kv_scan_req_encode(b, &m) == 0, "kv scan req encodes");
    check(same(enc_body(b, IPC_OP_KV_SCAN), body), "kv scan req canonical");
    check(ipc_kv_scan_req_decode(enc_body(b, IPC_OP_KV_SCAN), &m2) == 0 &&
              same(m.prefix, m2.prefix) && same(m.after, m2.after) &&
              m.limit == m2.limit && m.max_bytes == m2.max_bytes,
          "kv scan req round trip");
}

static void
fz_kv_scan_rep(sl_slice body, sl_buf *b)
{
    ipc_kv_scan_rep m, m2;
    ipc_kv_entry e;
    size_t n = 0;

    if (ipc_kv_scan_rep_decode(body, &m) != 0)
        return;
    check(m.more <= 1 && (!m.more || m.count > 0), "kv scan rep more");
    ipc_kv_entry *v = alloc_n(m.count, sizeof(*v));
    while (ipc_kv_scan_rep_next(&m, &e)) {
        check(n < m.count, "kv scan rep count");
        check(e.status == 0, "kv scan rep status");
        v[n++] = e;
    }
    check(n == m.count, "kv scan rep count");
    check(ipc_kv_scan_rep_encode(b, m.revision, m.more, v, n) == 0,
          "kv scan rep encodes");
    check(same(enc_body(b, IPC_OP_KV_SCAN), body), "kv scan rep canonical");
    check(ipc_kv_scan_rep_decode(enc_body(b, IPC_OP_KV_SCAN), &m2) == 0 &&
              m2.revision == m.revision && m2.more == m.more &&
              m2.count == m.count,
          "kv scan rep round trip");
    for (size_t i = 0; i < n; i++)
        check(ipc_kv_scan_rep_next(&m2, &e) == 1 && same(e.key, v[i].key) &&
                  e.version == v[i].version && same(e.value, v[i].value),
              "kv scan rep entry");
    free(v);
}

static void
fz_join_req(sl_slice body, sl_buf *b)
{
    ipc_join_req m, m2;
    ipc_group_protocol p;
    size_t n = 0;

    if (ipc_join_req_decode(body, &m) != 0)
        return;
    ipc_group_protocol *v = alloc_n(m.nprotocols, sizeof(*v));
    while (ipc_join_req_next(&m, &p)) {
        check(n < m.nprotocols, "join req count");
        v[n++] = p;
    }
    check(n == m.nprotocols, "join req count");
    check(ipc_join_req_encode(b, &m, v, n) == 0, "join req encodes");
    check(same(enc_body(b, IPC_OP_GROUP_JOIN), body), "join req canonical");
    check(ipc_join_req_decode(enc_body(b, IPC_OP_GROUP_JOIN), &m2) == 0 &&
              same(m.group, m2.group) && same(m.member_id, m2.member_id) &&
              same(m.instance_id, m2.instance_id) &&
              same(m.protocol_type, m2.protocol_type) &&
              m.session_timeout_ms == m2.session_timeout_ms &&
              m.rebalance_timeout_ms == m2.rebalance_timeout_ms &&
              same(m.client_id, m2.client_id) &&
              same(m.client_host, m2.client_host) && m.flags == m2.flags &&
              m.nprotocols == m2.nprotocols,
          "join req round trip");
    for (size_t i = 0; i < n; i++)
        check(ipc_join_req_next(&m2, &p) == 1 && same(p.name, v[i].name) &&
                  same(p.metadata, v[i].metadata),
              "join req protocol");
    free(v);
}

static void
fz_join_rep(sl_slice body, sl_buf *b)
{
    ipc_join_rep m, m2;
    ipc_join_member x;
    size_t n = 0;

    if (ipc_join_rep_decode(body, &m) != 0)
        return;
    ipc_join_member *v = alloc_n(m.nmembers, sizeof(*v));
    while (ipc_join_rep_next(&m, &x)) {
        check(n < m.nmembers, "join rep count");
        v[n++] = x;
    }
    check(n == m.nmembers, "join rep count");
    check(ipc_join_rep_encode(b, &m, v, n) == 0, "join rep encodes");
    check(same(enc_body(b, IPC_OP_GROUP_JOIN), body), "join rep canonical");
    check(ipc_join_rep_decode(enc_body(b, IPC_OP_GROUP_JOIN), &m2) == 0 &&
              m.error == m2.error && m.generation == m2.generation &&
              same(m.protocol_name, m2.protocol_name) &&
              same(m.leader, m2.leader) && same(m.member_id, m2.member_id) &&
              m.nmembers == m2.nmembers,
          "join rep round trip");
    for (size_t i = 0; i < n; i++)
        check(ipc_join_rep_next(&m2, &x) == 1 &&
                  same(x.member_id, v[i].member_id) &&
                  same(x.instance_id, v[i].instance_id) &&
                  same(x.metadata, v[i].metadata),
              "join rep member");
    free(v);
}

static void
fz_sync(sl_slice body, sl_buf *b)
{
    ipc_sync_req m, m2;
    ipc_sync_assignment a;
    ipc_sync_rep p, p2;
    size_t n = 0;

    if (ipc_sync_rep_decode(body, &p) == 0) {
        check(ipc_sync_rep_encode(b, &p) == 0, "sync rep encodes");
        check(same(enc_body(b, IPC_OP_GROUP_SYNC), body), "sync rep canonical");
        check(ipc_sync_rep_decode(enc_body(b, IPC_OP_GROUP_SYNC), &p2) == 0 &&
                  p.error == p2.error &&
                  same(p.protocol_type, p2.protocol_type) &&
                  same(p.protocol_name, p2.protocol_name) &&
                  same(p.assignment, p2.assignment),
              "sync rep round trip");
    }
    if (ipc_sync_req_decode(body, &m) != 0)
        return;
    ipc_sync_assignment *v = alloc_n(m.count, sizeof(*v));
    while (ipc_sync_req_next(&m, &a)) {
        check(n < m.count, "sync req count");
        v[n++] = a;
    }
    check(n == m.count, "sync req count");
    check(ipc_sync_req_encode(b, &m, v, n) == 0, "sync req encodes");
    check(same(enc_body(b, IPC_OP_GROUP_SYNC), body), "sync req canonical");
    check(ipc_sync_req_decode(enc_body(b, IPC_OP_GROUP_SYNC), &m2) == 0 &&
              same(m.group, m2.group) && m.generation == m2.generation &&
              same(m.member_id, m2.member_id) &&
              same(m.instance_id, m2.instance_id) &&
              same(m.protocol_type, m2.protocol_type) &&
              same(m.protocol_name, m2.protocol_name) && m.count == m2.count,
          "sync req round trip");
    for (size_t i = 0; i < n; i++)
        check(ipc_sync_req_next(&m2, &a) == 1 &&
                  same(a.member_id, v[i].member_id) &&
                  same(a.assignment, v[i].assignment),
              "sync req assignment");
    free(v);
}

static void
fz_heartbeat_req(sl_slice body, sl_buf *b)
{
    ipc_heartbeat_req m, m2;

    if (ipc_heartbeat_req_decode(body, &m) != 0)
        return;
    check(ipc_heartbeat_req_encode(b, &m) == 0, "heartbeat req encodes");
    check(same(enc_body(b, IPC_OP_GROUP_HEARTBEAT), body),
          "heartbeat req canonical");
    check(ipc_heartbeat_req_decode(enc_body(b, IPC_OP_GROUP_HEARTBEAT), &m2) ==
                  0 &&
              same(m.group, m2.group) && m.generation == m2.generation &&
              same(m.member_id, m2.member_id) &&
              same(m.instance_id, m2.instance_id),
          "heartbeat req round trip");
}

static void
fz_leave_req(sl_slice body, sl_buf *b)
{
    ipc_leave_req m, m2;
    ipc_leave_member x;
    size_t n = 0;

    if (ipc_leave_req_decode(body, &m) != 0)
        return;
    ipc_leave_member *v = alloc_n(m.count, sizeof(*v));
    while (ipc_leave_req_next(&m, &x)) {
        check(n < m.count, "leave req count");
        v[n++] = x;
    }
    check(n == m.count, "leave req count");
    check(ipc_leave_req_encode(b, m.group, v, n) == 0, "leave req encodes");
    check(same(enc_body(b, IPC_OP_GROUP_LEAVE), body), "leave req canonical");
    check(ipc_leave_req_decode(enc_body(b, IPC_OP_GROUP_LEAVE), &m2) == 0 &&
              same(m.group, m2.group) && m.count == m2.count,
          "leave req round trip");
    for (size_t i = 0; i < n; i++)
        check(ipc_leave_req_next(&m2, &x) == 1 &&
                  same(x.member_id, v[i].member_id) &&
                  same(x.instance_id, v[i].instance_id),
              "leave req member");
    free(v);
}

/* The replies made of i32 errors: GROUP_LEAVE (error + array), GROUP_DELETE
 * and OFFSET_COMMIT (array only). */
static void
fz_errors_rep(sl_slice body, sl_buf *b, int op)
{
    ipc_errors_rep m, m2;
    int32_t e;
    size_t n = 0;
    int rc;

    rc = op == IPC_OP_GROUP_LEAVE    ? ipc_leave_rep_decode(body, &m)
         : op == IPC_OP_GROUP_DELETE ? ipc_group_delete_rep_decode(body, &m)
                                     : ipc_commit_rep_decode(body, &m);
    if (rc != 0)
        return;
    check(op == IPC_OP_GROUP_LEAVE || m.error == 0, "errors rep error");
    int32_t *v = alloc_n(m.count, sizeof(*v));
    while (ipc_errors_rep_next(&m, &e)) {
        check(n < m.count, "errors rep count");
        v[n++] = e;
    }
    check(n == m.count, "errors rep count");
    rc = op == IPC_OP_GROUP_LEAVE    ? ipc_leave_rep_encode(b, m.error, v, n)
         : op == IPC_OP_GROUP_DELETE ? ipc_group_delete_rep_encode(b, v, n)
                                     : ipc_commit_rep_encode(b, v, n);
    check(rc == 0, "errors rep encodes");
    check(same(enc_body(b, op), body), "errors rep canonical");
    rc = op == IPC_OP_GROUP_LEAVE ? ipc_leave_rep_decode(enc_body(b, op), &m2)
         : op == IPC_OP_GROUP_DELETE
             ? ipc_group_delete_rep_decode(enc_body(b, op), &m2)
             : ipc_commit_rep_decode(enc_body(b, op), &m2);
    check(rc == 0 && m2.error == m.error && m2.count == m.count,
          "errors rep round trip");
    for (size_t i = 0; i < n; i++)
        check(ipc_errors_rep_next(&m2, &e) == 1 && e == v[i],
              "errors rep entry");
    free(v);
}

static void
fz_group_list_rep(sl_slice body, sl_buf *b)
{
    ipc_group_list_rep m, m2;
    ipc_group_listing g;
    size_t n = 0;

    if (ipc_group_list_rep_decode(body, &m) != 0)
        return;
    ipc_group_listing *v = alloc_n(m.count, sizeof(*v));
    while (ipc_group_list_rep_next(&m, &g)) {
        check(n < m.count, "group list rep count");
        check(g.state <= IPC_GROUP_DEAD, "group list rep state");
        v[n++] = g;
    }
    check(n == m.count, "group list rep count");
    check(ipc_group_list_rep_encode(b, v, n) == 0, "group list rep encodes");
    check(same(enc_body(b, IPC_OP_GROUP_LIST), body),
          "group list rep canonical");
    check(ipc_group_list_rep_decode(enc_body(b, IPC_OP_GROUP_LIST), &m2) == 0 &&
              m2.count == m.count,
          "group list rep round trip");
    for (size_t i = 0; i < n; i++)
        check(ipc_group_list_rep_next(&m2, &g) == 1 &&
                  same(g.group, v[i].group) &&
                  same(g.protocol_type, v[i].protocol_type) &&
                  g.state == v[i].state,
              "group list rep entry");
    free(v);
}

static int
member_info_eq(const ipc_group_member_info *a, const ipc_group_member_info *b)
{
    return same(a->member_id, b->member_id) &&
           same(a->instance_id, b->instance_id) &&
           same(a->client_id, b->client_id) &&
           same(a->client_host, b->client_host) &&
           same(a->metadata, b->metadata) && same(a->assignment, b->assignment);
}

static int
group_info_eq(const ipc_group_info *a, const ipc_group_info *b)
{
    return a->error == b->error && same(a->group, b->group) &&
           a->state == b->state && same(a->protocol_type, b->protocol_type) &&
           same(a->protocol_name, b->protocol_name) &&
           a->nmembers == b->nmembers;
}

/* GROUP_DESCRIBE reply: the nested member arrays are walked for every
 * group, and the reply is encoded again group by group, as segstore does. */
static void
fz_group_describe_rep(sl_slice body, sl_buf *b)
{
    ipc_group_describe_rep m, m2;
    ipc_group_info g, g2;
    ipc_group_member_info x, x2;
    size_t ng = 0;

    if (ipc_group_describe_rep_decode(body, &m) != 0)
        return;
    check(ipc_group_describe_rep_begin(b, m.count) == 0,
          "group describe rep begins");
    while (ipc_group_describe_rep_next(&m, &g)) {
        size_t nm = 0;
        check(ng < m.count, "group describe rep count");
        check(g.state <= IPC_GROUP_DEAD, "group describe rep state");
        check(ipc_group_describe_rep_group(b, &g) == 0,
              "group describe rep group encodes");
        while (ipc_group_info_next_member(&g, &x)) {
            check(nm < g.nmembers, "group describe rep member count");
            check(ipc_group_describe_rep_member(b, &x) == 0,
                  "group describe rep member encodes");
            nm++;
        }
        check(nm == g.nmembers, "group describe rep member count");
        ng++;
    }
    check(ng == m.count, "group describe rep count");
    check(same(enc_body(b, IPC_OP_GROUP_DESCRIBE), body),
          "group describe rep canonical");
    /* Walk both decodings side by side. */
    check(ipc_group_describe_rep_decode(body, &m) == 0 &&
              ipc_group_describe_rep_decode(enc_body(b, IPC_OP_GROUP_DESCRIBE),
                                            &m2) == 0 &&
              m2.count == m.count,
          "group describe rep round trip");
    while (ipc_group_describe_rep_next(&m, &g)) {
        check(ipc_group_describe_rep_next(&m2, &g2) == 1 &&
                  group_info_eq(&g, &g2),
              "group describe rep group");
        while (ipc_group_info_next_member(&g, &x))
            check(ipc_group_info_next_member(&g2, &x2) == 1 &&
                      member_info_eq(&x, &x2),
                  "group describe rep member");
        check(ipc_group_info_next_member(&g2, &x2) == 0,
              "group describe rep members end");
    }
    check(ipc_group_describe_rep_next(&m2, &g2) == 0, "group describe rep end");
}

static void
fz_commit_req(sl_slice body, sl_buf *b)
{
    ipc_commit_req m, m2;
    ipc_commit_entry e;
    size_t n = 0;

    if (ipc_commit_req_decode(body, &m) != 0)
        return;
    ipc_commit_entry *v = alloc_n(m.count, sizeof(*v));
    while (ipc_commit_req_next(&m, &e)) {
        check(n < m.count, "commit req count");
        v[n++] = e;
    }
    check(n == m.count, "commit req count");
    check(ipc_commit_req_encode(b, &m, v, n) == 0, "commit req encodes");
    check(same(enc_body(b, IPC_OP_OFFSET_COMMIT), body),
          "commit req canonical");
    check(ipc_commit_req_decode(enc_body(b, IPC_OP_OFFSET_COMMIT), &m2) == 0 &&
              same(m.group, m2.group) && m.generation == m2.generation &&
              same(m.member_id, m2.member_id) &&
              same(m.instance_id, m2.instance_id) && m.count == m2.count,
          "commit req round trip");
    for (size_t i = 0; i < n; i++)
        check(ipc_commit_req_next(&m2, &e) == 1 && same(e.topic, v[i].topic) &&
                  e.partition == v[i].partition && e.offset == v[i].offset &&
                  e.leader_epoch == v[i].leader_epoch &&
                  same(e.metadata, v[i].metadata),
              "commit req entry");
    free(v);
}

static void
fz_offset_fetch_req(sl_slice body, sl_buf *b)
{
    ipc_offset_fetch_req m, m2;
    ipc_topic_partition tp;
    size_t n = 0;

    if (ipc_offset_fetch_req_decode(body, &m) != 0)
        return;
    check(m.all <= 1 && (!m.all || m.count == 0), "offset fetch req all");
    ipc_topic_partition *v = alloc_n(m.count, sizeof(*v));
    while (ipc_offset_fetch_req_next(&m, &tp)) {
        check(n < m.count, "offset fetch req count");
        v[n++] = tp;
    }
    check(n == m.count, "offset fetch req count");
    check(ipc_offset_fetch_req_encode(b, m.group, m.all, v, n) == 0,
          "offset fetch req encodes");
    check(same(enc_body(b, IPC_OP_OFFSET_FETCH), body),
          "offset fetch req canonical");
    check(ipc_offset_fetch_req_decode(enc_body(b, IPC_OP_OFFSET_FETCH), &m2) ==
                  0 &&
              same(m.group, m2.group) && m.all == m2.all && m.count == m2.count,
          "offset fetch req round trip");
    for (size_t i = 0; i < n; i++)
        check(ipc_offset_fetch_req_next(&m2, &tp) == 1 &&
                  same(tp.topic, v[i].topic) && tp.partition == v[i].partition,
              "offset fetch req entry");
    free(v);
}

static void
fz_offset_fetch_rep(sl_slice body, sl_buf *b)
{
    ipc_offset_fetch_rep m, m2;
    ipc_committed c;
    size_t n = 0;

    if (ipc_offset_fetch_rep_decode(body, &m) != 0)
        return;
    ipc_committed *v = alloc_n(m.count, sizeof(*v));
    while (ipc_offset_fetch_rep_next(&m, &c)) {
        check(n < m.count, "offset fetch rep count");
        v[n++] = c;
    }
    check(n == m.count, "offset fetch rep count");
    check(ipc_offset_fetch_rep_encode(b, m.error, v, n) == 0,
          "offset fetch rep encodes");
    check(same(enc_body(b, IPC_OP_OFFSET_FETCH), body),
          "offset fetch rep canonical");
    check(ipc_offset_fetch_rep_decode(enc_body(b, IPC_OP_OFFSET_FETCH), &m2) ==
                  0 &&
              m.error == m2.error && m.count == m2.count,
          "offset fetch rep round trip");
    for (size_t i = 0; i < n; i++)
        check(ipc_offset_fetch_rep_next(&m2, &c) == 1 &&
                  same(c.topic, v[i].topic) && c.partition == v[i].partition &&
                  c.offset == v[i].offset &&
                  c.leader_epoch == v[i].leader_epoch &&
                  same(c.metadata, v[i].metadata) && c.error == v[i].error,
              "offset fetch rep entry");
    free(v);
}

static void
fz_add_partitions_req(sl_slice body, sl_buf *b)
{
    sl_slice name, name2;
    int32_t count, count2;
    uint8_t vo, vo2;

    if (ipc_add_partitions_req_decode(body, &name, &count, &vo) != 0)
        return;
    check(vo <= 1, "add partitions validate_only");
    check(ipc_add_partitions_req_encode(b, name, count, vo) == 0,
          "add partitions req encodes");
    check(same(enc_body(b, IPC_OP_TOPIC_ADD_PARTITIONS), body),
          "add partitions req canonical");
    check(
        ipc_add_partitions_req_decode(enc_body(b, IPC_OP_TOPIC_ADD_PARTITIONS),
                                      &name2, &count2, &vo2) == 0 &&
            same(name, name2) && count == count2 && vo == vo2,
        "add partitions req round trip");
}

static void
fz_tier_status_req(sl_slice body, sl_buf *b)
{
    sl_slice name, name2;

    if (ipc_tier_status_req_decode(body, &name) != 0)
        return;
    check(ipc_tier_status_req_encode(b, name) == 0, "tier status req encodes");
    check(same(enc_body(b, IPC_OP_TIER_STATUS), body),
          "tier status req canonical");
    check(ipc_tier_status_req_decode(enc_body(b, IPC_OP_TIER_STATUS), &name2) ==
                  0 &&
              same(name, name2),
          "tier status req round trip");
}

static int
tier_part_eq(const ipc_tier_part *a, const ipc_tier_part *b)
{
    return a->partition == b->partition && a->local_start == b->local_start &&
           a->local_end == b->local_end && a->local_bytes == b->local_bytes &&
           a->remote_start == b->remote_start &&
           a->remote_end == b->remote_end &&
           a->remote_bytes == b->remote_bytes &&
           a->remote_segments == b->remote_segments &&
           a->pending_offload == b->pending_offload &&
           a->failures == b->failures && same(a->last_error, b->last_error);
}

static void
fz_tier_status_rep(sl_slice body, sl_buf *b)
{
    ipc_tier_status_rep m, m2;
    ipc_tier_part p;
    size_t n = 0;

    if (ipc_tier_status_rep_decode(body, &m) != 0)
        return;
    ipc_tier_part *v = alloc_n(m.count, sizeof(*v));
    while (ipc_tier_status_rep_next(&m, &p)) {
        check(n < m.count, "tier status rep count");
        v[n++] = p;
    }
    check(n == m.count, "tier status rep count");
    check(ipc_tier_status_rep_encode(b, v, n) == 0, "tier status rep encodes");
    check(same(enc_body(b, IPC_OP_TIER_STATUS), body),
          "tier status rep canonical");
    check(ipc_tier_status_rep_decode(enc_body(b, IPC_OP_TIER_STATUS), &m2) ==
                  0 &&
              m2.count == m.count,
          "tier status rep round trip");
    for (size_t i = 0; i < n; i++)
        check(ipc_tier_status_rep_next(&m2, &p) == 1 && tier_part_eq(&p, &v[i]),
              "tier status rep entry");
    check(ipc_tier_status_rep_next(&m2, &p) == 0, "tier status rep end");
    free(v);
}

static void
fz_err(sl_slice body, sl_buf *b)
{
    sl_slice text, text2;
    ipc_hdr h;
    sl_slice body2;

    if (ipc_err_decode(body, &text) != 0)
        return;
    /* ipc_err_encode takes C text: only NUL-free texts can round-trip. */
    if (memchr(text.p, '\0', text.n) != NULL)
        return;
    char *s = alloc_n(text.n + 1, 1);
    if (text.n > 0)
        memcpy(s, text.p, text.n);
    check(ipc_err_encode(b, IPC_OP_APPEND, SL_E_INTERNAL, s) == 0,
          "err encodes");
    check(ipc_hdr_decode(sl_slice_make(b->p, b->n), &h, &body2) == 0 &&
              h.status == SL_E_INTERNAL && same(body2, body),
          "err canonical");
    check(ipc_err_decode(body2, &text2) == 0 && same(text, text2),
          "err round trip");
    free(s);
}

static void
fz_empty(sl_slice body)
{
    check((ipc_empty_decode(body) == 0) == (body.n == 0), "empty body");
}

static void
fz_event(sl_slice msg, sl_buf *b)
{
    ipc_event e, e2;

    if (ipc_event_decode(msg, &e) != 0)
        return;
    check(e.op == IPC_EVT_ADVANCE || e.op == IPC_EVT_TOPIC_CREATED ||
              e.op == IPC_EVT_TOPIC_DELETED || e.op == IPC_EVT_KV ||
              e.op == IPC_EVT_GROUP,
          "event op");
    check(e.deleted <= 1 && (!e.deleted || e.value.n == 0) &&
              e.state <= IPC_GROUP_DEAD,
          "event flags");
    check(ipc_event_encode(b, &e) == 0, "event encodes");
    check(same(sl_slice_make(b->p, b->n), msg), "event canonical");
    check(ipc_event_decode(sl_slice_make(b->p, b->n), &e2) == 0 &&
              e2.op == e.op && same(e.topic, e2.topic) &&
              e.partition == e2.partition &&
              e.high_watermark == e2.high_watermark &&
              e.partitions == e2.partitions && same(e.key, e2.key) &&
              e.version == e2.version && e.prev_revision == e2.prev_revision &&
              e.deleted == e2.deleted && same(e.value, e2.value) &&
              e.generation == e2.generation && e.state == e2.state,
          "event round trip");
}

/* TOPIC_ALTER_CONFIGS request and reply [IPC-4.24]. */
static void
fz_alter_configs(sl_slice body, sl_buf *b)
{
    ipc_alter_configs_req m, m2;
    ipc_alter_configs_rep r, r2;
    ipc_cfg_op o, o2;
    ipc_kv kv, kv2;

    if (ipc_alter_configs_req_decode(body, &m) == 0) {
        size_t n = m.count;
        ipc_cfg_op *v = calloc(n ? n : 1, sizeof(*v));
        if (v == NULL)
            return;
        size_t got = 0;
        while (got < n && ipc_alter_configs_req_next(&m, &v[got]) == 1) {
            check(v[got].op == IPC_CFG_SET ||
                      (v[got].op == IPC_CFG_DELETE && v[got].value.n == 0),
                  "alter configs op");
            got++;
        }
        check(got == n && ipc_alter_configs_req_next(&m, &o) == 0,
              "alter configs req count");
        check(m.validate_only <= 1 && m.replace <= 1, "alter configs flags");
        check(ipc_alter_configs_req_encode(b, m.name, m.validate_only,
                                           m.replace, v, n) == 0,
              "alter configs req encodes");
        check(same(enc_body(b, IPC_OP_TOPIC_ALTER_CONFIGS), body),
              "alter configs req canonical");
        check(ipc_alter_configs_req_decode(
                  enc_body(b, IPC_OP_TOPIC_ALTER_CONFIGS), &m2) == 0 &&
                  same(m.name, m2.name) &&
                  m.validate_only == m2.validate_only &&
                  m.replace == m2.replace && m.count == m2.count,
              "alter configs req round trip");
        for (size_t i = 0; i < n; i++)
            check(ipc_alter_configs_req_next(&m2, &o2) == 1 &&
                      o2.op == v[i].op && same(o2.key, v[i].key) &&
                      same(o2.value, v[i].value),
                  "alter configs req entry");
        free(v);
    }
    if (ipc_alter_configs_rep_decode(body, &r) == 0) {
        size_t n = r.count;
        ipc_kv *v = calloc(n ? n : 1, sizeof(*v));
        if (v == NULL)
            return;
        size_t got = 0;
        while (got < n && ipc_alter_configs_rep_next(&r, &v[got]) == 1)
            got++;
        check(got == n && ipc_alter_configs_rep_next(&r, &kv) == 0,
              "alter configs rep count");
        check(ipc_alter_configs_rep_encode(b, v, n) == 0,
              "alter configs rep encodes");
        check(same(enc_body(b, IPC_OP_TOPIC_ALTER_CONFIGS), body),
              "alter configs rep canonical");
        check(ipc_alter_configs_rep_decode(
                  enc_body(b, IPC_OP_TOPIC_ALTER_CONFIGS), &r2) == 0 &&
                  r2.count == r.count,
              "alter configs rep round trip");
        for (size_t i = 0; i < n; i++)
            check(ipc_alter_configs_rep_next(&r2, &kv2) == 1 &&
                      same(kv2.key, v[i].key) && same(kv2.value, v[i].value),
                  "alter configs rep entry");
        free(v);
    }
}

static void
fz_body(sl_slice body, sl_buf *b)
{
    fz_hello_req(body, b);
    fz_hello_rep(body, b);
    fz_topic_create_req(body, b);
    fz_name_req(body, b, IPC_OP_TOPIC_DELETE);
    fz_name_req(body, b, IPC_OP_TOPIC_DESCRIBE);
    fz_topic_list_rep(body, b);
    fz_topic_describe_rep(body, b);
    fz_append_req(body, b);
    fz_append_rep(body, b);
    fz_read_req(body, b);
    fz_read_rep(body, b);
    fz_offsets_req(body, b);
    fz_offsets_rep(body, b);
    fz_names(body, b, IPC_OP_KV_GET);
    fz_kv_get_rep(body, b);
    fz_kv_write_req(body, b);
    fz_scalar_reps(body, b);
    fz_kv_scan_req(body, b);
    fz_kv_scan_rep(body, b);
    fz_join_req(body, b);
    fz_join_rep(body, b);
    fz_sync(body, b);
    fz_heartbeat_req(body, b);
    fz_leave_req(body, b);
    fz_errors_rep(body, b, IPC_OP_GROUP_LEAVE);
    fz_group_list_rep(body, b);
    fz_names(body, b, IPC_OP_GROUP_DESCRIBE);
    fz_names(body, b, IPC_OP_GROUP_DELETE);
    fz_group_describe_rep(body, b);
    fz_errors_rep(body, b, IPC_OP_GROUP_DELETE);
    fz_commit_req(body, b);
    fz_errors_rep(body, b, IPC_OP_OFFSET_COMMIT);
    fz_offset_fetch_req(body, b);
    fz_offset_fetch_rep(body, b);
    fz_add_partitions_req(body, b);
    fz_tier_status_req(body, b);
    fz_tier_status_rep(body, b);
    fz_alter_configs(body, b);
    fz_err(body, b);
    fz_empty(body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_slice msg = sl_slice_make(data, size);
    sl_buf b = {0};
    ipc_hdr h;
    sl_slice body;
    int rc;

    (void)ipc_op_name(size > 3 ? data[3] : 0);
    rc = ipc_hdr_decode(msg, &h, &body);
    check(rc == 0 || rc == SL_E_PARTIAL || rc == SL_E_MALFORMED ||
              rc == SL_E_VERSION,
          "header code");
    check((rc == SL_E_PARTIAL) == (size < IPC_HDR_LEN), "header partial");
    if (rc == 0 || rc == SL_E_VERSION) {
        check(body.p == data + IPC_HDR_LEN && body.n == size - IPC_HDR_LEN,
              "header body");
        fz_body(body, &b);
    }
    /* The same bytes as a bare body reach the decoders without a valid
     * header in front, which widens what the fuzzer explores. */
    fz_body(msg, &b);
    fz_event(msg, &b);
    sl_buf_fini(&b);
    return 0;
}
