/*
 * fuzz_ipc.c — libFuzzer harness for the IPC message codec (ipc_msg).
 *
 * The input is tried as a whole message (ipc_hdr_decode, then its body) and
 * also as a bare body, against every body decoder, request and reply forms
 * alike, and as an event (ipc_event_decode).  For each decoder that accepts
 * it, every element is walked with *_next (which must yield exactly the
 * announced count), the values are encoded again with the matching encoder
 * and decoded again, and:
 *
 *   - the re-encoded body must be byte-for-byte the body that was decoded
 *     (the encoding is canonical: one byte string per value), and
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
              e.op == IPC_EVT_TOPIC_DELETED,
          "event op");
    check(ipc_event_encode(b, &e) == 0, "event encodes");
    check(same(sl_slice_make(b->p, b->n), msg), "event canonical");
    check(ipc_event_decode(sl_slice_make(b->p, b->n), &e2) == 0 &&
              e2.op == e.op && same(e.topic, e2.topic) &&
              e.partition == e2.partition &&
              e.high_watermark == e2.high_watermark &&
              e.partitions == e2.partitions,
          "event round trip");
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
