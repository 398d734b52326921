/*
 * ipc_msg.c — encoders and decoders of the segstore IPC messages, version 1
 * (layouts in ipc_msg.h; docs/ipc.md is normative).
 *
 * Validity rules applied by every *_decode, in one pass over the body:
 *
 *   - a str is a u16 length <= IPC_STR_MAX followed by that many bytes, all
 *     of which must be present;
 *   - bytes is a u32 length followed by that many bytes, all present;
 *   - an array count is first checked against the bytes that remain divided
 *     by the smallest wire size of one element, so a count such as
 *     0xFFFFFFFF is refused before any element is read; then every element
 *     is read and checked;
 *   - nested arrays (GROUP_DESCRIBE members) are validated the same way,
 *     element by element, while the outer array is;
 *   - a READ result kind is IPC_READ_NONE, _DESCRIPTOR or _INLINE_DATA;
 *   - a KV_WRITE op kind is IPC_KV_PUT, _DELETE or _CHECK, its expect is
 *     IPC_KV_ANY or above, and only a PUT carries a value;
 *   - a u8 flag (KV_SCAN more, OFFSET_FETCH all, ADD_PARTITIONS
 *     validate_only, ALTER_CONFIGS validate_only and replace, EVT_KV
 *     deleted) is 0 or 1, and a group state is one of enum ipc_group_state;
 *   - an ALTER_CONFIGS op is IPC_CFG_SET or IPC_CFG_DELETE, and a DELETE
 *     has an empty value;
 *   - KV_SCAN more = 1 comes with at least one entry, OFFSET_FETCH all = 1
 *     with none, EVT_KV deleted = 1 with an empty value;
 *   - nothing may follow the last field (no trailing bytes).
 *
 * Any violation gives SL_E_MALFORMED.  A decoded struct keeps, for each
 * array, a cursor over exactly the array's element bytes, so *_next reads
 * elements that are already known to be whole and stops when the cursor is
 * empty.  Decoders never allocate, log or touch globals.
 *
 * Encoders append to a caller's sl_buf and refuse what the decoder would
 * refuse (SL_E_TOOBIG for an overlong str or count, SL_E_INVAL for a bad op,
 * kind, state or flag combination), so that everything we send decodes.
 * Flags passed as int are written as 0 or 1.  On error the buffer holds a
 * partial message and must not be sent.
 *
 * Every encoding is canonical (one byte string per decoded value), except
 * the PRODUCER_ID request, whose reserved flags the decoder skips and the
 * encoder always sends as 0.
 */
#include "ipc_msg.h"

#include <errno.h>

/* Smallest wire size of one array element (all of its strs empty). */
enum {
    MIN_KV = 2 + 2,
    MIN_TOPIC_ENTRY = 2 + 4,
    MIN_TIER_PART = 4 + 6 * 8 + 4 + 4 + 8 + 2,
    MIN_PART_INFO = 4 + 8 + 8 + 4 + 8,
    MIN_APPEND_ENTRY = 2 + 4 + 4,
    MIN_APPEND_RESULT = 4 + 8 + 8 + 8 + 8,
    MIN_READ_ENTRY = 2 + 4 + 8 + 4,
    MIN_READ_RESULT = 4 + 8 + 8 + 1,
    MIN_OFFSETS_ENTRY = 2 + 4 + 8,
    MIN_OFFSETS_RESULT = 4 + 8 + 8,
    MIN_NAME = 2,                             /* KV_GET key, group name */
    MIN_KV_VALUE = 4 + 8 + 4,                 /* KV_GET result */
    MIN_KV_OP = 1 + 2 + 8 + 4,                /* KV_WRITE op */
    MIN_KV_SCAN_ENTRY = 2 + 8 + 4,            /* KV_SCAN entry */
    MIN_GROUP_PROTOCOL = 2 + 4,               /* GROUP_JOIN protocol */
    MIN_JOIN_MEMBER = 2 + 2 + 4,              /* GROUP_JOIN reply member */
    MIN_SYNC_ASSIGNMENT = 2 + 4,              /* GROUP_SYNC assignment */
    MIN_LEAVE_MEMBER = 2 + 2,                 /* GROUP_LEAVE member */
    MIN_ERROR = 4,                            /* i32 error */
    MIN_GROUP_LISTING = 2 + 2 + 1,            /* GROUP_LIST entry */
    MIN_GROUP_INFO = 4 + 2 + 1 + 2 + 2 + 4,   /* GROUP_DESCRIBE group */
    MIN_GROUP_MEMBER = 2 + 2 + 2 + 2 + 4 + 4, /* GROUP_DESCRIBE member */
    MIN_COMMIT_ENTRY = 2 + 4 + 8 + 4 + 2,     /* OFFSET_COMMIT entry */
    MIN_TOPIC_PARTITION = 2 + 4,              /* OFFSET_FETCH request entry */
    MIN_COMMITTED = 2 + 4 + 8 + 4 + 2 + 4,    /* OFFSET_FETCH reply entry */
    MIN_CFG_OP = 1 + 2 + 2,                   /* TOPIC_ALTER_CONFIGS op */
};

const char *
ipc_op_name(int op)
{
    switch (op) {
    case IPC_OP_HELLO:
        return "HELLO";
    case IPC_OP_TOPIC_CREATE:
        return "TOPIC_CREATE";
    case IPC_OP_TOPIC_DELETE:
        return "TOPIC_DELETE";
    case IPC_OP_TOPIC_LIST:
        return "TOPIC_LIST";
    case IPC_OP_TOPIC_DESCRIBE:
        return "TOPIC_DESCRIBE";
    case IPC_OP_APPEND:
        return "APPEND";
    case IPC_OP_READ:
        return "READ";
    case IPC_OP_LIST_OFFSETS:
        return "LIST_OFFSETS";
    case IPC_OP_KV_GET:
        return "KV_GET";
    case IPC_OP_KV_WRITE:
        return "KV_WRITE";
    case IPC_OP_KV_SCAN:
        return "KV_SCAN";
    case IPC_OP_GROUP_JOIN:
        return "GROUP_JOIN";
    case IPC_OP_GROUP_SYNC:
        return "GROUP_SYNC";
    case IPC_OP_GROUP_HEARTBEAT:
        return "GROUP_HEARTBEAT";
    case IPC_OP_GROUP_LEAVE:
        return "GROUP_LEAVE";
    case IPC_OP_GROUP_LIST:
        return "GROUP_LIST";
    case IPC_OP_GROUP_DESCRIBE:
        return "GROUP_DESCRIBE";
    case IPC_OP_GROUP_DELETE:
        return "GROUP_DELETE";
    case IPC_OP_OFFSET_COMMIT:
        return "OFFSET_COMMIT";
    case IPC_OP_OFFSET_FETCH:
        return "OFFSET_FETCH";
    case IPC_OP_PRODUCER_ID:
        return "PRODUCER_ID";
    case IPC_OP_TOPIC_ADD_PARTITIONS:
        return "TOPIC_ADD_PARTITIONS";
    case IPC_OP_TIER_STATUS:
        return "TIER_STATUS";
    case IPC_OP_TOPIC_ALTER_CONFIGS:
        return "TOPIC_ALTER_CONFIGS";
    case IPC_EVT_ADVANCE:
        return "EVT_ADVANCE";
    case IPC_EVT_TOPIC_CREATED:
        return "EVT_TOPIC_CREATED";
    case IPC_EVT_TOPIC_DELETED:
        return "EVT_TOPIC_DELETED";
    case IPC_EVT_KV:
        return "EVT_KV";
    case IPC_EVT_GROUP:
        return "EVT_GROUP";
    default:
        return "?";
    }
}

const char *
ipc_group_state_name(int state)
{
    switch (state) {
    case IPC_GROUP_EMPTY:
        return "Empty";
    case IPC_GROUP_PREPARING_REBALANCE:
        return "PreparingRebalance";
    case IPC_GROUP_COMPLETING_REBALANCE:
        return "CompletingRebalance";
    case IPC_GROUP_STABLE:
        return "Stable";
    case IPC_GROUP_DEAD:
        return "Dead";
    default:
        return "?";
    }
}

/* ---- writing ------------------------------------------------------------
 * A writer with a sticky error: after the first failure every later put is
 * skipped and the encoder returns that first error.  This keeps encoders a
 * plain list of fields without a check after each one. */

typedef struct wr {
    sl_buf *b;
    int rc;
} wr;

static void
w_u8(wr *w, uint8_t v)
{
    if (w->rc == 0)
        w->rc = sl_buf_put_u8(w->b, v);
}

static void
w_u32(wr *w, uint32_t v)
{
    if (w->rc == 0)
        w->rc = sl_buf_put_u32be(w->b, v);
}

static void
w_i32(wr *w, int32_t v)
{
    w_u32(w, (uint32_t)v);
}

static void
w_u64(wr *w, uint64_t v)
{
    if (w->rc == 0)
        w->rc = sl_buf_put_u64be(w->b, v);
}

static void
w_i64(wr *w, int64_t v)
{
    w_u64(w, (uint64_t)v);
}

static void
w_str(wr *w, sl_slice s)
{
    if (w->rc == 0)
        w->rc = ipc_put_str(w->b, s);
}

static void
w_bytes(wr *w, sl_slice s)
{
    if (w->rc == 0)
        w->rc = ipc_put_bytes(w->b, s);
}

static void
w_count(wr *w, size_t n)
{
    if (w->rc == 0 && n > UINT32_MAX)
        w->rc = SL_E_TOOBIG;
    w_u32(w, (uint32_t)n);
}

/* A u8 flag: encoders write any non-zero value as 1, because decoders
 * refuse anything but 0 and 1 (section 1, rule 3 of docs/ipc.md). */
static void
w_bool(wr *w, int v)
{
    w_u8(w, v != 0 ? 1 : 0);
}

/* Record a refusal (SL_E_INVAL) unless an earlier error is already sticky. */
static void
w_refuse(wr *w)
{
    if (w->rc == 0)
        w->rc = SL_E_INVAL;
}

static wr
w_begin(sl_buf *b, int op, int32_t status)
{
    wr w = {b, ipc_msg_begin(b, op, status)};
    return w;
}

int
ipc_msg_begin(sl_buf *b, int op, int32_t status)
{
    if (op < 0 || op > UINT8_MAX)
        return SL_E_INVAL;
    sl_buf_reset(b);
    uint8_t *p = sl_buf_extend(b, IPC_HDR_LEN);
    if (p == NULL)
        return -ENOMEM;
    p[0] = 'S';
    p[1] = 'L';
    p[2] = IPC_VERSION;
    p[3] = (uint8_t)op;
    sl_put_u32be(p + 4, (uint32_t)status);
    return 0;
}

int
ipc_put_str(sl_buf *b, sl_slice s)
{
    int rc;

    if (s.n > IPC_STR_MAX)
        return SL_E_TOOBIG;
    if ((rc = sl_buf_put_u16be(b, (uint16_t)s.n)) != 0)
        return rc;
    return sl_buf_append(b, s.p, s.n);
}

int
ipc_put_bytes(sl_buf *b, sl_slice s)
{
    int rc;

    if (s.n > UINT32_MAX)
        return SL_E_TOOBIG;
    if ((rc = sl_buf_put_u32be(b, (uint32_t)s.n)) != 0)
        return rc;
    return sl_buf_append(b, s.p, s.n);
}

/* ---- reading ------------------------------------------------------------
 * The body readers turn every shortfall into SL_E_MALFORMED: a body is a
 * whole nng message, so missing bytes mean a bad message, never "wait for
 * more". */

int
ipc_rd_str(sl_rd *r, sl_slice *s)
{
    size_t save = r->off;
    uint16_t len;

    if (sl_rd_u16be(r, &len) != 0)
        return SL_E_MALFORMED;
    if (len > IPC_STR_MAX || sl_rd_bytes(r, len, s) != 0) {
        r->off = save;
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_rd_bytes(sl_rd *r, sl_slice *s)
{
    size_t save = r->off;
    uint32_t len;

    if (sl_rd_u32be(r, &len) != 0)
        return SL_E_MALFORMED;
    if (sl_rd_bytes(r, len, s) != 0) {
        r->off = save;
        return SL_E_MALFORMED;
    }
    return 0;
}

static int
rd_u8(sl_rd *r, uint8_t *v)
{
    return sl_rd_u8(r, v) == 0 ? 0 : SL_E_MALFORMED;
}

static int
rd_u32(sl_rd *r, uint32_t *v)
{
    return sl_rd_u32be(r, v) == 0 ? 0 : SL_E_MALFORMED;
}

static int
rd_i32(sl_rd *r, int32_t *v)
{
    return sl_rd_i32be(r, v) == 0 ? 0 : SL_E_MALFORMED;
}

static int
rd_u64(sl_rd *r, uint64_t *v)
{
    return sl_rd_u64be(r, v) == 0 ? 0 : SL_E_MALFORMED;
}

static int
rd_i64(sl_rd *r, int64_t *v)
{
    return sl_rd_i64be(r, v) == 0 ? 0 : SL_E_MALFORMED;
}

/* A u8 flag: 0 or 1, anything else is malformed (so that the encoding stays
 * canonical: one byte string per value). */
static int
rd_bool(sl_rd *r, uint8_t *v)
{
    return rd_u8(r, v) == 0 && *v <= 1 ? 0 : SL_E_MALFORMED;
}

/* A group state: one of enum ipc_group_state. */
static int
rd_group_state(sl_rd *r, uint8_t *v)
{
    return rd_u8(r, v) == 0 && *v <= IPC_GROUP_DEAD ? 0 : SL_E_MALFORMED;
}

static int
rd_end(const sl_rd *r)
{
    return sl_rd_left(r) == 0 ? 0 : SL_E_MALFORMED;
}

/* Read an array count and refuse one that cannot fit in what remains, given
 * the smallest size of an element, before anything loops over it. */
static int
rd_count(sl_rd *r, size_t min_elem, uint32_t *n)
{
    if (rd_u32(r, n) != 0)
        return SL_E_MALFORMED;
    if (*n > sl_rd_left(r) / min_elem)
        return SL_E_MALFORMED;
    return 0;
}

/* A cursor over the bytes r consumed since offset start. */
static sl_rd
rd_span(const sl_rd *r, size_t start)
{
    sl_rd s;
    sl_rd_init(&s, sl_slice_make(r->p + start, r->off - start));
    return s;
}

/* An empty cursor: *_next on it returns 0. */
static sl_rd
rd_empty(void)
{
    sl_rd s = {NULL, 0, 0};
    return s;
}

/* Reads one array element into out (the array's element type). */
typedef int (*rd_elem_fn)(sl_rd *r, void *out);

/*
 * Validate an array at r: its count (refused before any loop when it cannot
 * fit in what remains), then every element, read into scratch.  On success
 * *n is the count, *it a cursor over the elements for *_next, and r has
 * advanced past them.
 */
static int
rd_array(sl_rd *r, size_t min_elem, rd_elem_fn fn, void *scratch, uint32_t *n,
         sl_rd *it)
{
    if (rd_count(r, min_elem, n) != 0)
        return SL_E_MALFORMED;
    size_t start = r->off;
    for (uint32_t i = 0; i < *n; i++)
        if (fn(r, scratch) != 0)
            return SL_E_MALFORMED;
    *it = rd_span(r, start);
    return 0;
}

/* Element readers, shared by validation in *_decode and by *_next. */

static int
rd_kv(sl_rd *r, void *out)
{
    ipc_kv *kv = out;
    if (ipc_rd_str(r, &kv->key) != 0 || ipc_rd_str(r, &kv->value) != 0)
        return SL_E_MALFORMED;
    return 0;
}

static int
rd_topic_entry(sl_rd *r, void *out)
{
    ipc_topic_entry *e = out;
    if (ipc_rd_str(r, &e->name) != 0 || rd_i32(r, &e->partitions) != 0)
        return SL_E_MALFORMED;
    return 0;
}

static int
rd_part_info(sl_rd *r, void *out)
{
    ipc_partition_info *p = out;
    if (rd_i32(r, &p->partition) != 0 || rd_i64(r, &p->log_start) != 0 ||
        rd_i64(r, &p->high_watermark) != 0 || rd_i32(r, &p->segments) != 0 ||
        rd_i64(r, &p->bytes) != 0)
        return SL_E_MALFORMED;
    return 0;
}

static int
rd_append_entry(sl_rd *r, void *out)
{
    ipc_append_entry *e = out;
    if (ipc_rd_str(r, &e->topic) != 0 || rd_i32(r, &e->partition) != 0 ||
        ipc_rd_bytes(r, &e->batches) != 0)
        return SL_E_MALFORMED;
    return 0;
}

static int
rd_append_result(sl_rd *r, void *out)
{
    ipc_append_result *a = out;
    if (rd_i32(r, &a->status) != 0 || rd_i64(r, &a->base_offset) != 0 ||
        rd_i64(r, &a->last_offset) != 0 || rd_i64(r, &a->append_time) != 0 ||
        rd_i64(r, &a->log_start) != 0)
        return SL_E_MALFORMED;
    return 0;
}

static int
rd_read_entry(sl_rd *r, void *out)
{
    ipc_read_entry *e = out;
    if (ipc_rd_str(r, &e->topic) != 0 || rd_i32(r, &e->partition) != 0 ||
        rd_i64(r, &e->offset) != 0 || rd_i32(r, &e->max_bytes) != 0)
        return SL_E_MALFORMED;
    return 0;
}

static int
rd_read_result(sl_rd *r, void *out)
{
    ipc_read_result *x = out;
    memset(x, 0, sizeof(*x));
    if (rd_i32(r, &x->status) != 0 || rd_i64(r, &x->high_watermark) != 0 ||
        rd_i64(r, &x->log_start) != 0 || rd_u8(r, &x->kind) != 0)
        return SL_E_MALFORMED;
    switch (x->kind) {
    case IPC_READ_NONE:
        return 0;
    case IPC_READ_DESCRIPTOR:
        if (ipc_rd_str(r, &x->path) != 0 || rd_i64(r, &x->segment_base) != 0 ||
            rd_u64(r, &x->position) != 0 || rd_u32(r, &x->length) != 0)
            return SL_E_MALFORMED;
        return 0;
    case IPC_READ_INLINE_DATA:
        return ipc_rd_bytes(r, &x->data);
    default:
        return SL_E_MALFORMED;
    }
}

static int
rd_offsets_entry(sl_rd *r, void *out)
{
    ipc_offsets_entry *e = out;
    if (ipc_rd_str(r, &e->topic) != 0 || rd_i32(r, &e->partition) != 0 ||
        rd_i64(r, &e->spec) != 0)
        return SL_E_MALFORMED;
    return 0;
}

static int
rd_offsets_result(sl_rd *r, void *out)
{
    ipc_offsets_result *o = out;
    if (rd_i32(r, &o->status) != 0 || rd_i64(r, &o->offset) != 0 ||
        rd_i64(r, &o->timestamp) != 0)
        return SL_E_MALFORMED;
    return 0;
}

static int
rd_name(sl_rd *r, void *out)
{
    return ipc_rd_str(r, out);
}

static int
rd_kv_value(sl_rd *r, void *out)
{
    ipc_kv_entry *e = out;
    memset(e, 0, sizeof(*e));
    if (rd_i32(r, &e->status) != 0 || rd_i64(r, &e->version) != 0 ||
        ipc_rd_bytes(r, &e->value) != 0)
        return SL_E_MALFORMED;
    return 0;
}

/* The rules of a KV_WRITE op that do not depend on the wire form, shared by
 * the encoder (SL_E_INVAL) and the decoder (SL_E_MALFORMED): a known kind,
 * an expect of IPC_KV_ANY or above, and a value only on a PUT. */
static int
kv_op_valid(const ipc_kv_op *op)
{
    if (op->kind < IPC_KV_PUT || op->kind > IPC_KV_CHECK)
        return 0;
    if (op->expect < IPC_KV_ANY)
        return 0;
    return op->kind == IPC_KV_PUT || op->value.n == 0;
}

static int
rd_kv_op(sl_rd *r, void *out)
{
    ipc_kv_op *op = out;
    if (rd_u8(r, &op->kind) != 0 || ipc_rd_str(r, &op->key) != 0 ||
        rd_i64(r, &op->expect) != 0 || ipc_rd_bytes(r, &op->value) != 0 ||
        !kv_op_valid(op))
        return SL_E_MALFORMED;
    return 0;
}

static int
rd_kv_scan_entry(sl_rd *r, void *out)
{
    ipc_kv_entry *e = out;
    memset(e, 0, sizeof(*e));
    if (ipc_rd_str(r, &e->key) != 0 || rd_i64(r, &e->version) != 0 ||
        ipc_rd_bytes(r, &e->value) != 0)
        return SL_E_MALFORMED;
    return 0;
}

static int
rd_group_protocol(sl_rd *r, void *out)
{
    ipc_group_protocol *p = out;
    if (ipc_rd_str(r, &p->name) != 0 || ipc_rd_bytes(r, &p->metadata) != 0)
        return SL_E_MALFORMED;
    return 0;
}

static int
rd_join_member(sl_rd *r, void *out)
{
    ipc_join_member *x = out;
    if (ipc_rd_str(r, &x->member_id) != 0 ||
        ipc_rd_str(r, &x->instance_id) != 0 ||
        ipc_rd_bytes(r, &x->metadata) != 0)
        return SL_E_MALFORMED;
    return 0;
}

static int
rd_sync_assignment(sl_rd *r, void *out)
{
    ipc_sync_assignment *a = out;
    if (ipc_rd_str(r, &a->member_id) != 0 ||
        ipc_rd_bytes(r, &a->assignment) != 0)
        return SL_E_MALFORMED;
    return 0;
}

static int
rd_leave_member(sl_rd *r, void *out)
{
    ipc_leave_member *x = out;
    if (ipc_rd_str(r, &x->member_id) != 0 ||
        ipc_rd_str(r, &x->instance_id) != 0)
        return SL_E_MALFORMED;
    return 0;
}

static int
rd_error(sl_rd *r, void *out)
{
    return rd_i32(r, out);
}

static int
rd_group_listing(sl_rd *r, void *out)
{
    ipc_group_listing *g = out;
    if (ipc_rd_str(r, &g->group) != 0 ||
        ipc_rd_str(r, &g->protocol_type) != 0 ||
        rd_group_state(r, &g->state) != 0)
        return SL_E_MALFORMED;
    return 0;
}

static int
rd_group_member(sl_rd *r, void *out)
{
    ipc_group_member_info *x = out;
    if (ipc_rd_str(r, &x->member_id) != 0 ||
        ipc_rd_str(r, &x->instance_id) != 0 ||
        ipc_rd_str(r, &x->client_id) != 0 ||
        ipc_rd_str(r, &x->client_host) != 0 ||
        ipc_rd_bytes(r, &x->metadata) != 0 ||
        ipc_rd_bytes(r, &x->assignment) != 0)
        return SL_E_MALFORMED;
    return 0;
}

/* A described group, members included: its member array is validated here,
 * element by element, so that ipc_group_info_next_member cannot fail on a
 * group that ipc_group_describe_rep_next produced. */
static int
rd_group_info(sl_rd *r, void *out)
{
    ipc_group_info *g = out;
    ipc_group_member_info x;

    memset(g, 0, sizeof(*g));
    g->members_ = rd_empty();
    if (rd_i32(r, &g->error) != 0 || ipc_rd_str(r, &g->group) != 0 ||
        rd_group_state(r, &g->state) != 0 ||
        ipc_rd_str(r, &g->protocol_type) != 0 ||
        ipc_rd_str(r, &g->protocol_name) != 0 ||
        rd_array(r, MIN_GROUP_MEMBER, rd_group_member, &x, &g->nmembers,
                 &g->members_) != 0) {
        memset(g, 0, sizeof(*g));
        g->members_ = rd_empty();
        return SL_E_MALFORMED;
    }
    return 0;
}

static int
rd_commit_entry(sl_rd *r, void *out)
{
    ipc_commit_entry *e = out;
    if (ipc_rd_str(r, &e->topic) != 0 || rd_i32(r, &e->partition) != 0 ||
        rd_i64(r, &e->offset) != 0 || rd_i32(r, &e->leader_epoch) != 0 ||
        ipc_rd_str(r, &e->metadata) != 0)
        return SL_E_MALFORMED;
    return 0;
}

static int
rd_topic_partition(sl_rd *r, void *out)
{
    ipc_topic_partition *tp = out;
    if (ipc_rd_str(r, &tp->topic) != 0 || rd_i32(r, &tp->partition) != 0)
        return SL_E_MALFORMED;
    return 0;
}

static int
rd_committed(sl_rd *r, void *out)
{
    ipc_committed *c = out;
    if (ipc_rd_str(r, &c->topic) != 0 || rd_i32(r, &c->partition) != 0 ||
        rd_i64(r, &c->offset) != 0 || rd_i32(r, &c->leader_epoch) != 0 ||
        ipc_rd_str(r, &c->metadata) != 0 || rd_i32(r, &c->error) != 0)
        return SL_E_MALFORMED;
    return 0;
}

/*
 * Each *_next reads one element from a cursor that *_decode has already
 * validated, so the element reader cannot fail there.  Should it fail anyway
 * (a struct that was never decoded, or was changed by its user), the cursor
 * is emptied and the iteration simply ends: no element is ever produced from
 * bytes that were not checked.
 */
#define IPC_NEXT(cursor, reader, out)                                          \
    do {                                                                       \
        if (sl_rd_left(cursor) == 0)                                           \
            return 0;                                                          \
        if (reader((cursor), (out)) != 0) {                                    \
            (cursor)->off = (cursor)->n;                                       \
            return 0;                                                          \
        }                                                                      \
        return 1;                                                              \
    } while (0)

/* ---- header and error replies ------------------------------------------- */

int
ipc_hdr_decode(sl_slice msg, ipc_hdr *h, sl_slice *body)
{
    if (msg.n < IPC_HDR_LEN)
        return SL_E_PARTIAL;
    if (msg.p[0] != 'S' || msg.p[1] != 'L')
        return SL_E_MALFORMED;
    h->version = msg.p[2];
    h->op = msg.p[3];
    h->status = (int32_t)sl_get_u32be(msg.p + 4);
    *body = sl_slice_make(msg.p + IPC_HDR_LEN, msg.n - IPC_HDR_LEN);
    if (h->version != IPC_VERSION)
        return SL_E_VERSION;
    return 0;
}

int
ipc_err_encode(sl_buf *b, int op, int32_t status, const char *text)
{
    sl_slice t = sl_slice_str(text);

    /* The text is for humans; cutting it is better than failing to report
     * the error at all. */
    if (t.n > IPC_STR_MAX)
        t.n = IPC_STR_MAX;
    wr w = w_begin(b, op, status);
    w_str(&w, t);
    return w.rc;
}

int
ipc_err_decode(sl_slice body, sl_slice *text)
{
    sl_rd r;

    sl_rd_init(&r, body);
    if (ipc_rd_str(&r, text) != 0 || rd_end(&r) != 0)
        return SL_E_MALFORMED;
    return 0;
}

int
ipc_empty_decode(sl_slice body)
{
    return body.n == 0 ? 0 : SL_E_MALFORMED;
}

/* ---- HELLO -------------------------------------------------------------- */

int
ipc_hello_req_encode(sl_buf *b, const ipc_hello_req *m)
{
    wr w = w_begin(b, IPC_OP_HELLO, 0);
    w_str(&w, m->client_name);
    w_u32(&w, m->flags);
    return w.rc;
}

int
ipc_hello_req_decode(sl_slice body, ipc_hello_req *m)
{
    sl_rd r;

    memset(m, 0, sizeof(*m));
    sl_rd_init(&r, body);
    if (ipc_rd_str(&r, &m->client_name) != 0 || rd_u32(&r, &m->flags) != 0 ||
        rd_end(&r) != 0)
        return SL_E_MALFORMED;
    return 0;
}

int
ipc_hello_rep_encode(sl_buf *b, const ipc_hello_rep *m)
{
    wr w = w_begin(b, IPC_OP_HELLO, 0);
    w_str(&w, m->server_version);
    w_u8(&w, m->proto_min);
    w_u8(&w, m->proto_max);
    if (w.rc == 0)
        w.rc = sl_buf_append(b, m->instance_id, IPC_INSTANCE_ID_LEN);
    w_str(&w, m->data_dir);
    w_str(&w, m->events_url);
    return w.rc;
}

int
ipc_hello_rep_decode(sl_slice body, ipc_hello_rep *m)
{
    sl_rd r;
    sl_slice id;

    memset(m, 0, sizeof(*m));
    sl_rd_init(&r, body);
    if (ipc_rd_str(&r, &m->server_version) != 0 ||
        rd_u8(&r, &m->proto_min) != 0 || rd_u8(&r, &m->proto_max) != 0 ||
        sl_rd_bytes(&r, IPC_INSTANCE_ID_LEN, &id) != 0 ||
        ipc_rd_str(&r, &m->data_dir) != 0 ||
        ipc_rd_str(&r, &m->events_url) != 0 || rd_end(&r) != 0) {
        memset(m, 0, sizeof(*m));
        return SL_E_MALFORMED;
    }
    memcpy(m->instance_id, id.p, IPC_INSTANCE_ID_LEN);
    return 0;
}

/* ---- TOPIC_CREATE ------------------------------------------------------- */

static void
w_kvs(wr *w, const ipc_kv *kv, size_t n)
{
    w_count(w, n);
    for (size_t i = 0; i < n && w->rc == 0; i++) {
        w_str(w, kv[i].key);
        w_str(w, kv[i].value);
    }
}

/* Validate an array of kv pairs and leave *it over its element bytes. */
static int
rd_kvs(sl_rd *r, uint32_t *n, sl_rd *it)
{
    ipc_kv kv;
    return rd_array(r, MIN_KV, rd_kv, &kv, n, it);
}

int
ipc_topic_create_req_encode(sl_buf *b, sl_slice name, int32_t partitions,
                            const ipc_kv *configs, size_t nconfigs)
{
    wr w = w_begin(b, IPC_OP_TOPIC_CREATE, 0);
    w_str(&w, name);
    w_i32(&w, partitions);
    w_kvs(&w, configs, nconfigs);
    return w.rc;
}

int
ipc_topic_create_req_decode(sl_slice body, ipc_topic_create_req *m)
{
    sl_rd r;

    memset(m, 0, sizeof(*m));
    m->configs_ = rd_empty();
    sl_rd_init(&r, body);
    if (ipc_rd_str(&r, &m->name) != 0 || rd_i32(&r, &m->partitions) != 0 ||
        rd_kvs(&r, &m->nconfigs, &m->configs_) != 0 || rd_end(&r) != 0) {
        memset(m, 0, sizeof(*m));
        m->configs_ = rd_empty();
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_topic_create_req_next(ipc_topic_create_req *m, ipc_kv *kv)
{
    IPC_NEXT(&m->configs_, rd_kv, kv);
}

/* ---- TOPIC_DELETE / TOPIC_DESCRIBE requests: one str -------------------- */

static int
name_req_encode(sl_buf *b, int op, sl_slice name)
{
    wr w = w_begin(b, op, 0);
    w_str(&w, name);
    return w.rc;
}

static int
name_req_decode(sl_slice body, sl_slice *name)
{
    sl_rd r;

    sl_rd_init(&r, body);
    if (ipc_rd_str(&r, name) != 0 || rd_end(&r) != 0) {
        *name = sl_slice_make(NULL, 0);
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_topic_delete_req_encode(sl_buf *b, sl_slice name)
{
    return name_req_encode(b, IPC_OP_TOPIC_DELETE, name);
}

int
ipc_topic_delete_req_decode(sl_slice body, sl_slice *name)
{
    return name_req_decode(body, name);
}

int
ipc_topic_describe_req_encode(sl_buf *b, sl_slice name)
{
    return name_req_encode(b, IPC_OP_TOPIC_DESCRIBE, name);
}

int
ipc_topic_describe_req_decode(sl_slice body, sl_slice *name)
{
    return name_req_decode(body, name);
}

/* ---- TOPIC_LIST --------------------------------------------------------- */

int
ipc_topic_list_req_encode(sl_buf *b)
{
    return ipc_msg_begin(b, IPC_OP_TOPIC_LIST, 0);
}

int
ipc_topic_list_rep_encode(sl_buf *b, const ipc_topic_entry *e, size_t n)
{
    wr w = w_begin(b, IPC_OP_TOPIC_LIST, 0);
    w_count(&w, n);
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        w_str(&w, e[i].name);
        w_i32(&w, e[i].partitions);
    }
    return w.rc;
}

int
ipc_topic_list_rep_decode(sl_slice body, ipc_topic_list_rep *m)
{
    sl_rd r;
    ipc_topic_entry e;

    memset(m, 0, sizeof(*m));
    m->it_ = rd_empty();
    sl_rd_init(&r, body);
    if (rd_array(&r, MIN_TOPIC_ENTRY, rd_topic_entry, &e, &m->count, &m->it_) !=
            0 ||
        rd_end(&r) != 0)
        goto fail;
    return 0;
fail:
    m->it_ = rd_empty();
    m->count = 0;
    return SL_E_MALFORMED;
}

int
ipc_topic_list_rep_next(ipc_topic_list_rep *m, ipc_topic_entry *e)
{
    IPC_NEXT(&m->it_, rd_topic_entry, e);
}

/* ---- TOPIC_DESCRIBE reply ----------------------------------------------- */

int
ipc_topic_describe_rep_encode(sl_buf *b, sl_slice name, int32_t partitions,
                              const ipc_kv *configs, size_t nconfigs,
                              const ipc_partition_info *parts, size_t nparts)
{
    wr w = w_begin(b, IPC_OP_TOPIC_DESCRIBE, 0);
    w_str(&w, name);
    w_i32(&w, partitions);
    w_kvs(&w, configs, nconfigs);
    w_count(&w, nparts);
    for (size_t i = 0; i < nparts && w.rc == 0; i++) {
        w_i32(&w, parts[i].partition);
        w_i64(&w, parts[i].log_start);
        w_i64(&w, parts[i].high_watermark);
        w_i32(&w, parts[i].segments);
        w_i64(&w, parts[i].bytes);
    }
    return w.rc;
}

int
ipc_topic_describe_rep_decode(sl_slice body, ipc_topic_describe_rep *m)
{
    sl_rd r;
    ipc_partition_info p;

    memset(m, 0, sizeof(*m));
    m->configs_ = rd_empty();
    m->parts_ = rd_empty();
    sl_rd_init(&r, body);
    if (ipc_rd_str(&r, &m->name) != 0 || rd_i32(&r, &m->partitions) != 0 ||
        rd_kvs(&r, &m->nconfigs, &m->configs_) != 0 ||
        rd_array(&r, MIN_PART_INFO, rd_part_info, &p, &m->nparts, &m->parts_) !=
            0 ||
        rd_end(&r) != 0)
        goto fail;
    return 0;
fail:
    memset(m, 0, sizeof(*m));
    m->configs_ = rd_empty();
    m->parts_ = rd_empty();
    return SL_E_MALFORMED;
}

int
ipc_topic_describe_rep_next_config(ipc_topic_describe_rep *m, ipc_kv *kv)
{
    IPC_NEXT(&m->configs_, rd_kv, kv);
}

int
ipc_topic_describe_rep_next_part(ipc_topic_describe_rep *m,
                                 ipc_partition_info *p)
{
    IPC_NEXT(&m->parts_, rd_part_info, p);
}

/* ---- APPEND ------------------------------------------------------------- */

int
ipc_append_req_encode(sl_buf *b, uint32_t flags, const ipc_append_entry *e,
                      size_t n)
{
    wr w = w_begin(b, IPC_OP_APPEND, 0);
    w_u32(&w, flags);
    w_count(&w, n);
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        w_str(&w, e[i].topic);
        w_i32(&w, e[i].partition);
        w_bytes(&w, e[i].batches);
    }
    return w.rc;
}

int
ipc_append_req_decode(sl_slice body, ipc_append_req *m)
{
    sl_rd r;
    ipc_append_entry e;

    memset(m, 0, sizeof(*m));
    m->it_ = rd_empty();
    sl_rd_init(&r, body);
    if (rd_u32(&r, &m->flags) != 0 ||
        rd_array(&r, MIN_APPEND_ENTRY, rd_append_entry, &e, &m->count,
                 &m->it_) != 0 ||
        rd_end(&r) != 0)
        goto fail;
    return 0;
fail:
    m->it_ = rd_empty();
    m->flags = 0;
    m->count = 0;
    return SL_E_MALFORMED;
}

int
ipc_append_req_next(ipc_append_req *m, ipc_append_entry *e)
{
    IPC_NEXT(&m->it_, rd_append_entry, e);
}

int
ipc_append_rep_encode(sl_buf *b, const ipc_append_result *a, size_t n)
{
    wr w = w_begin(b, IPC_OP_APPEND, 0);
    w_count(&w, n);
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        w_i32(&w, a[i].status);
        w_i64(&w, a[i].base_offset);
        w_i64(&w, a[i].last_offset);
        w_i64(&w, a[i].append_time);
        w_i64(&w, a[i].log_start);
    }
    return w.rc;
}

int
ipc_append_rep_decode(sl_slice body, ipc_append_rep *m)
{
    sl_rd r;
    ipc_append_result a;

    memset(m, 0, sizeof(*m));
    m->it_ = rd_empty();
    sl_rd_init(&r, body);
    if (rd_array(&r, MIN_APPEND_RESULT, rd_append_result, &a, &m->count,
                 &m->it_) != 0 ||
        rd_end(&r) != 0)
        goto fail;
    return 0;
fail:
    m->it_ = rd_empty();
    m->count = 0;
    return SL_E_MALFORMED;
}

int
ipc_append_rep_next(ipc_append_rep *m, ipc_append_result *a)
{
    IPC_NEXT(&m->it_, rd_append_result, a);
}

/* ---- READ --------------------------------------------------------------- */

int
ipc_read_req_encode(sl_buf *b, uint32_t flags, const ipc_read_entry *e,
                    size_t n)
{
    wr w = w_begin(b, IPC_OP_READ, 0);
    w_u32(&w, flags);
    w_count(&w, n);
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        w_str(&w, e[i].topic);
        w_i32(&w, e[i].partition);
        w_i64(&w, e[i].offset);
        w_i32(&w, e[i].max_bytes);
    }
    return w.rc;
}

int
ipc_read_req_decode(sl_slice body, ipc_read_req *m)
{
    sl_rd r;
    ipc_read_entry e;

    memset(m, 0, sizeof(*m));
    m->it_ = rd_empty();
    sl_rd_init(&r, body);
    if (rd_u32(&r, &m->flags) != 0 ||
        rd_array(&r, MIN_READ_ENTRY, rd_read_entry, &e, &m->count, &m->it_) !=
            0 ||
        rd_end(&r) != 0)
        goto fail;
    return 0;
fail:
    m->it_ = rd_empty();
    m->flags = 0;
    m->count = 0;
    return SL_E_MALFORMED;
}

int
ipc_read_req_next(ipc_read_req *m, ipc_read_entry *e)
{
    IPC_NEXT(&m->it_, rd_read_entry, e);
}

int
ipc_read_rep_encode(sl_buf *b, const ipc_read_result *x, size_t n)
{
    wr w = w_begin(b, IPC_OP_READ, 0);
    w_count(&w, n);
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        w_i32(&w, x[i].status);
        w_i64(&w, x[i].high_watermark);
        w_i64(&w, x[i].log_start);
        w_u8(&w, x[i].kind);
        switch (x[i].kind) {
        case IPC_READ_NONE:
            break;
        case IPC_READ_DESCRIPTOR:
            w_str(&w, x[i].path);
            w_i64(&w, x[i].segment_base);
            w_u64(&w, x[i].position);
            w_u32(&w, x[i].length);
            break;
        case IPC_READ_INLINE_DATA:
            w_bytes(&w, x[i].data);
            break;
        default:
            if (w.rc == 0)
                w.rc = SL_E_INVAL;
            break;
        }
    }
    return w.rc;
}

int
ipc_read_rep_decode(sl_slice body, ipc_read_rep *m)
{
    sl_rd r;
    ipc_read_result x;

    memset(m, 0, sizeof(*m));
    m->it_ = rd_empty();
    sl_rd_init(&r, body);
    if (rd_array(&r, MIN_READ_RESULT, rd_read_result, &x, &m->count, &m->it_) !=
            0 ||
        rd_end(&r) != 0)
        goto fail;
    return 0;
fail:
    m->it_ = rd_empty();
    m->count = 0;
    return SL_E_MALFORMED;
}

int
ipc_read_rep_next(ipc_read_rep *m, ipc_read_result *x)
{
    IPC_NEXT(&m->it_, rd_read_result, x);
}

/* ---- LIST_OFFSETS ------------------------------------------------------- */

int
ipc_offsets_req_encode(sl_buf *b, const ipc_offsets_entry *e, size_t n)
{
    wr w = w_begin(b, IPC_OP_LIST_OFFSETS, 0);
    w_count(&w, n);
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        w_str(&w, e[i].topic);
        w_i32(&w, e[i].partition);
        w_i64(&w, e[i].spec);
    }
    return w.rc;
}

int
ipc_offsets_req_decode(sl_slice body, ipc_offsets_req *m)
{
    sl_rd r;
    ipc_offsets_entry e;

    memset(m, 0, sizeof(*m));
    m->it_ = rd_empty();
    sl_rd_init(&r, body);
    if (rd_array(&r, MIN_OFFSETS_ENTRY, rd_offsets_entry, &e, &m->count,
                 &m->it_) != 0 ||
        rd_end(&r) != 0)
        goto fail;
    return 0;
fail:
    m->it_ = rd_empty();
    m->count = 0;
    return SL_E_MALFORMED;
}

int
ipc_offsets_req_next(ipc_offsets_req *m, ipc_offsets_entry *e)
{
    IPC_NEXT(&m->it_, rd_offsets_entry, e);
}

int
ipc_offsets_rep_encode(sl_buf *b, const ipc_offsets_result *o, size_t n)
{
    wr w = w_begin(b, IPC_OP_LIST_OFFSETS, 0);
    w_count(&w, n);
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        w_i32(&w, o[i].status);
        w_i64(&w, o[i].offset);
        w_i64(&w, o[i].timestamp);
    }
    return w.rc;
}

int
ipc_offsets_rep_decode(sl_slice body, ipc_offsets_rep *m)
{
    sl_rd r;
    ipc_offsets_result o;

    memset(m, 0, sizeof(*m));
    m->it_ = rd_empty();
    sl_rd_init(&r, body);
    if (rd_array(&r, MIN_OFFSETS_RESULT, rd_offsets_result, &o, &m->count,
                 &m->it_) != 0 ||
        rd_end(&r) != 0)
        goto fail;
    return 0;
fail:
    m->it_ = rd_empty();
    m->count = 0;
    return SL_E_MALFORMED;
}

int
ipc_offsets_rep_next(ipc_offsets_rep *m, ipc_offsets_result *o)
{
    IPC_NEXT(&m->it_, rd_offsets_result, o);
}

/* ---- KV_GET ------------------------------------------------------------- */

/* An array of str (KV_GET keys, GROUP_DESCRIBE and GROUP_DELETE groups). */
static void
w_names(wr *w, const sl_slice *names, size_t n)
{
    w_count(w, n);
    for (size_t i = 0; i < n && w->rc == 0; i++)
        w_str(w, names[i]);
}

/* Decode a body that is exactly one array of str. */
static int
names_decode(sl_slice body, uint32_t *n, sl_rd *it)
{
    sl_rd r;
    sl_slice s;

    *n = 0;
    *it = rd_empty();
    sl_rd_init(&r, body);
    if (rd_array(&r, MIN_NAME, rd_name, &s, n, it) != 0 || rd_end(&r) != 0) {
        *n = 0;
        *it = rd_empty();
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_kv_get_req_encode(sl_buf *b, const sl_slice *keys, size_t n)
{
    wr w = w_begin(b, IPC_OP_KV_GET, 0);
    w_names(&w, keys, n);
    return w.rc;
}

int
ipc_kv_get_req_decode(sl_slice body, ipc_kv_get_req *m)
{
    return names_decode(body, &m->count, &m->it_);
}

int
ipc_kv_get_req_next(ipc_kv_get_req *m, sl_slice *key)
{
    IPC_NEXT(&m->it_, rd_name, key);
}

int
ipc_kv_get_rep_encode(sl_buf *b, int64_t revision, const ipc_kv_entry *e,
                      size_t n)
{
    wr w = w_begin(b, IPC_OP_KV_GET, 0);
    w_i64(&w, revision);
    w_count(&w, n);
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        w_i32(&w, e[i].status);
        w_i64(&w, e[i].version);
        w_bytes(&w, e[i].value);
    }
    return w.rc;
}

int
ipc_kv_get_rep_decode(sl_slice body, ipc_kv_get_rep *m)
{
    sl_rd r;
    ipc_kv_entry e;

    memset(m, 0, sizeof(*m));
    m->it_ = rd_empty();
    sl_rd_init(&r, body);
    if (rd_i64(&r, &m->revision) != 0 ||
        rd_array(&r, MIN_KV_VALUE, rd_kv_value, &e, &m->count, &m->it_) != 0 ||
        rd_end(&r) != 0) {
        memset(m, 0, sizeof(*m));
        m->it_ = rd_empty();
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_kv_get_rep_next(ipc_kv_get_rep *m, ipc_kv_entry *e)
{
    IPC_NEXT(&m->it_, rd_kv_value, e);
}

/* ---- KV_WRITE ----------------------------------------------------------- */

int
ipc_kv_write_req_encode(sl_buf *b, uint32_t flags, const ipc_kv_op *ops,
                        size_t n)
{
    wr w = w_begin(b, IPC_OP_KV_WRITE, 0);
    w_u32(&w, flags);
    w_count(&w, n);
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        if (!kv_op_valid(&ops[i])) {
            w_refuse(&w);
            break;
        }
        w_u8(&w, ops[i].kind);
        w_str(&w, ops[i].key);
        w_i64(&w, ops[i].expect);
        w_bytes(&w, ops[i].value);
    }
    return w.rc;
}

int
ipc_kv_write_req_decode(sl_slice body, ipc_kv_write_req *m)
{
    sl_rd r;
    ipc_kv_op op;

    memset(m, 0, sizeof(*m));
    m->it_ = rd_empty();
    sl_rd_init(&r, body);
    if (rd_u32(&r, &m->flags) != 0 ||
        rd_array(&r, MIN_KV_OP, rd_kv_op, &op, &m->count, &m->it_) != 0 ||
        rd_end(&r) != 0) {
        memset(m, 0, sizeof(*m));
        m->it_ = rd_empty();
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_kv_write_req_next(ipc_kv_write_req *m, ipc_kv_op *op)
{
    IPC_NEXT(&m->it_, rd_kv_op, op);
}

/* A reply body that is exactly one i64 (KV_WRITE). */
int
ipc_kv_write_rep_encode(sl_buf *b, int64_t revision)
{
    wr w = w_begin(b, IPC_OP_KV_WRITE, 0);
    w_i64(&w, revision);
    return w.rc;
}

int
ipc_kv_write_rep_decode(sl_slice body, int64_t *revision)
{
    sl_rd r;

    sl_rd_init(&r, body);
    if (rd_i64(&r, revision) != 0 || rd_end(&r) != 0) {
        *revision = 0;
        return SL_E_MALFORMED;
    }
    return 0;
}

/* ---- KV_SCAN ------------------------------------------------------------ */

int
ipc_kv_scan_req_encode(sl_buf *b, const ipc_kv_scan_req *m)
{
    wr w = w_begin(b, IPC_OP_KV_SCAN, 0);
    w_str(&w, m->prefix);
    w_str(&w, m->after);
    w_u32(&w, m->limit);
    w_u32(&w, m->max_bytes);
    return w.rc;
}

int
ipc_kv_scan_req_decode(sl_slice body, ipc_kv_scan_req *m)
{
    sl_rd r;

    memset(m, 0, sizeof(*m));
    sl_rd_init(&r, body);
    if (ipc_rd_str(&r, &m->prefix) != 0 || ipc_rd_str(&r, &m->after) != 0 ||
        rd_u32(&r, &m->limit) != 0 || rd_u32(&r, &m->max_bytes) != 0 ||
        rd_end(&r) != 0) {
        memset(m, 0, sizeof(*m));
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_kv_scan_rep_encode(sl_buf *b, int64_t revision, int more,
                       const ipc_kv_entry *e, size_t n)
{
    wr w = w_begin(b, IPC_OP_KV_SCAN, 0);
    /* "more" asks the client to scan again after the last key returned;
     * with no key returned it would loop for ever, so the decoder refuses
     * it and we never send it. */
    if (more && n == 0)
        w_refuse(&w);
    w_i64(&w, revision);
    w_bool(&w, more);
    w_count(&w, n);
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        w_str(&w, e[i].key);
        w_i64(&w, e[i].version);
        w_bytes(&w, e[i].value);
    }
    return w.rc;
}

int
ipc_kv_scan_rep_decode(sl_slice body, ipc_kv_scan_rep *m)
{
    sl_rd r;
    ipc_kv_entry e;

    memset(m, 0, sizeof(*m));
    m->it_ = rd_empty();
    sl_rd_init(&r, body);
    if (rd_i64(&r, &m->revision) != 0 || rd_bool(&r, &m->more) != 0 ||
        rd_array(&r, MIN_KV_SCAN_ENTRY, rd_kv_scan_entry, &e, &m->count,
                 &m->it_) != 0 ||
        rd_end(&r) != 0 || (m->more && m->count == 0)) {
        memset(m, 0, sizeof(*m));
        m->it_ = rd_empty();
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_kv_scan_rep_next(ipc_kv_scan_rep *m, ipc_kv_entry *e)
{
    IPC_NEXT(&m->it_, rd_kv_scan_entry, e);
}

/* ---- GROUP_JOIN --------------------------------------------------------- */

int
ipc_join_req_encode(sl_buf *b, const ipc_join_req *m,
                    const ipc_group_protocol *protocols, size_t n)
{
    wr w = w_begin(b, IPC_OP_GROUP_JOIN, 0);
    w_str(&w, m->group);
    w_str(&w, m->member_id);
    w_str(&w, m->instance_id);
    w_str(&w, m->protocol_type);
    w_i32(&w, m->session_timeout_ms);
    w_i32(&w, m->rebalance_timeout_ms);
    w_str(&w, m->client_id);
    w_str(&w, m->client_host);
    w_u32(&w, m->flags);
    w_count(&w, n);
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        w_str(&w, protocols[i].name);
        w_bytes(&w, protocols[i].metadata);
    }
    return w.rc;
}

int
ipc_join_req_decode(sl_slice body, ipc_join_req *m)
{
    sl_rd r;
    ipc_group_protocol p;

    memset(m, 0, sizeof(*m));
    m->protocols_ = rd_empty();
    sl_rd_init(&r, body);
    if (ipc_rd_str(&r, &m->group) != 0 || ipc_rd_str(&r, &m->member_id) != 0 ||
        ipc_rd_str(&r, &m->instance_id) != 0 ||
        ipc_rd_str(&r, &m->protocol_type) != 0 ||
        rd_i32(&r, &m->session_timeout_ms) != 0 ||
        rd_i32(&r, &m->rebalance_timeout_ms) != 0 ||
        ipc_rd_str(&r, &m->client_id) != 0 ||
        ipc_rd_str(&r, &m->client_host) != 0 || rd_u32(&r, &m->flags) != 0 ||
        rd_array(&r, MIN_GROUP_PROTOCOL, rd_group_protocol, &p, &m->nprotocols,
                 &m->protocols_) != 0 ||
        rd_end(&r) != 0) {
        memset(m, 0, sizeof(*m));
        m->protocols_ = rd_empty();
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_join_req_next(ipc_join_req *m, ipc_group_protocol *p)
{
    IPC_NEXT(&m->protocols_, rd_group_protocol, p);
}

int
ipc_join_rep_encode(sl_buf *b, const ipc_join_rep *m,
                    const ipc_join_member *members, size_t n)
{
    wr w = w_begin(b, IPC_OP_GROUP_JOIN, 0);
    w_i32(&w, m->error);
    w_i32(&w, m->generation);
    w_str(&w, m->protocol_name);
    w_str(&w, m->leader);
    w_str(&w, m->member_id);
    w_count(&w, n);
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        w_str(&w, members[i].member_id);
        w_str(&w, members[i].instance_id);
        w_bytes(&w, members[i].metadata);
    }
    return w.rc;
}

int
ipc_join_rep_decode(sl_slice body, ipc_join_rep *m)
{
    sl_rd r;
    ipc_join_member x;

    memset(m, 0, sizeof(*m));
    m->members_ = rd_empty();
    sl_rd_init(&r, body);
    if (rd_i32(&r, &m->error) != 0 || rd_i32(&r, &m->generation) != 0 ||
        ipc_rd_str(&r, &m->protocol_name) != 0 ||
        ipc_rd_str(&r, &m->leader) != 0 || ipc_rd_str(&r, &m->member_id) != 0 ||
        rd_array(&r, MIN_JOIN_MEMBER, rd_join_member, &x, &m->nmembers,
                 &m->members_) != 0 ||
        rd_end(&r) != 0) {
        memset(m, 0, sizeof(*m));
        m->members_ = rd_empty();
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_join_rep_next(ipc_join_rep *m, ipc_join_member *x)
{
    IPC_NEXT(&m->members_, rd_join_member, x);
}

/* ---- GROUP_SYNC --------------------------------------------------------- */

int
ipc_sync_req_encode(sl_buf *b, const ipc_sync_req *m,
                    const ipc_sync_assignment *a, size_t n)
{
    wr w = w_begin(b, IPC_OP_GROUP_SYNC, 0);
    w_str(&w, m->group);
    w_i32(&w, m->generation);
    w_str(&w, m->member_id);
    w_str(&w, m->instance_id);
    w_str(&w, m->protocol_type);
    w_str(&w, m->protocol_name);
    w_count(&w, n);
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        w_str(&w, a[i].member_id);
        w_bytes(&w, a[i].assignment);
    }
    return w.rc;
}

int
ipc_sync_req_decode(sl_slice body, ipc_sync_req *m)
{
    sl_rd r;
    ipc_sync_assignment a;

    memset(m, 0, sizeof(*m));
    m->it_ = rd_empty();
    sl_rd_init(&r, body);
    if (ipc_rd_str(&r, &m->group) != 0 || rd_i32(&r, &m->generation) != 0 ||
        ipc_rd_str(&r, &m->member_id) != 0 ||
        ipc_rd_str(&r, &m->instance_id) != 0 ||
        ipc_rd_str(&r, &m->protocol_type) != 0 ||
        ipc_rd_str(&r, &m->protocol_name) != 0 ||
        rd_array(&r, MIN_SYNC_ASSIGNMENT, rd_sync_assignment, &a, &m->count,
                 &m->it_) != 0 ||
        rd_end(&r) != 0) {
        memset(m, 0, sizeof(*m));
        m->it_ = rd_empty();
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_sync_req_next(ipc_sync_req *m, ipc_sync_assignment *a)
{
    IPC_NEXT(&m->it_, rd_sync_assignment, a);
}

int
ipc_sync_rep_encode(sl_buf *b, const ipc_sync_rep *m)
{
    wr w = w_begin(b, IPC_OP_GROUP_SYNC, 0);
    w_i32(&w, m->error);
    w_str(&w, m->protocol_type);
    w_str(&w, m->protocol_name);
    w_bytes(&w, m->assignment);
    return w.rc;
}

int
ipc_sync_rep_decode(sl_slice body, ipc_sync_rep *m)
{
    sl_rd r;

    memset(m, 0, sizeof(*m));
    sl_rd_init(&r, body);
    if (rd_i32(&r, &m->error) != 0 || ipc_rd_str(&r, &m->protocol_type) != 0 ||
        ipc_rd_str(&r, &m->protocol_name) != 0 ||
        ipc_rd_bytes(&r, &m->assignment) != 0 || rd_end(&r) != 0) {
        memset(m, 0, sizeof(*m));
        return SL_E_MALFORMED;
    }
    return 0;
}

/* ---- GROUP_HEARTBEAT ---------------------------------------------------- */

int
ipc_heartbeat_req_encode(sl_buf *b, const ipc_heartbeat_req *m)
{
    wr w = w_begin(b, IPC_OP_GROUP_HEARTBEAT, 0);
    w_str(&w, m->group);
    w_i32(&w, m->generation);
    w_str(&w, m->member_id);
    w_str(&w, m->instance_id);
    return w.rc;
}

int
ipc_heartbeat_req_decode(sl_slice body, ipc_heartbeat_req *m)
{
    sl_rd r;

    memset(m, 0, sizeof(*m));
    sl_rd_init(&r, body);
    if (ipc_rd_str(&r, &m->group) != 0 || rd_i32(&r, &m->generation) != 0 ||
        ipc_rd_str(&r, &m->member_id) != 0 ||
        ipc_rd_str(&r, &m->instance_id) != 0 || rd_end(&r) != 0) {
        memset(m, 0, sizeof(*m));
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_group_error_rep_encode(sl_buf *b, int op, int32_t error)
{
    /* Only HEARTBEAT's reply is an i32 error alone; any other op has a
     * larger body, which this would not be. */
    if (op != IPC_OP_GROUP_HEARTBEAT)
        return SL_E_INVAL;
    wr w = w_begin(b, op, 0);
    w_i32(&w, error);
    return w.rc;
}

int
ipc_group_error_rep_decode(sl_slice body, int32_t *error)
{
    sl_rd r;

    sl_rd_init(&r, body);
    if (rd_i32(&r, error) != 0 || rd_end(&r) != 0) {
        *error = 0;
        return SL_E_MALFORMED;
    }
    return 0;
}

/* ---- GROUP_LEAVE, and the arrays of i32 error --------------------------- */

static void
w_errors(wr *w, const int32_t *errors, size_t n)
{
    w_count(w, n);
    for (size_t i = 0; i < n && w->rc == 0; i++)
        w_i32(w, errors[i]);
}

/* Decode [i32 error,] array of i32 error: with_error says whether the
 * leading error is on the wire (GROUP_LEAVE) or not (m->error = 0). */
static int
errors_rep_decode(sl_slice body, int with_error, ipc_errors_rep *m)
{
    sl_rd r;
    int32_t e;

    memset(m, 0, sizeof(*m));
    m->it_ = rd_empty();
    sl_rd_init(&r, body);
    if ((with_error && rd_i32(&r, &m->error) != 0) ||
        rd_array(&r, MIN_ERROR, rd_error, &e, &m->count, &m->it_) != 0 ||
        rd_end(&r) != 0) {
        memset(m, 0, sizeof(*m));
        m->it_ = rd_empty();
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_errors_rep_next(ipc_errors_rep *m, int32_t *error)
{
    IPC_NEXT(&m->it_, rd_error, error);
}

int
ipc_leave_req_encode(sl_buf *b, sl_slice group, const ipc_leave_member *m,
                     size_t n)
{
    wr w = w_begin(b, IPC_OP_GROUP_LEAVE, 0);
    w_str(&w, group);
    w_count(&w, n);
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        w_str(&w, m[i].member_id);
        w_str(&w, m[i].instance_id);
    }
    return w.rc;
}

int
ipc_leave_req_decode(sl_slice body, ipc_leave_req *m)
{
    sl_rd r;
    ipc_leave_member x;

    memset(m, 0, sizeof(*m));
    m->it_ = rd_empty();
    sl_rd_init(&r, body);
    if (ipc_rd_str(&r, &m->group) != 0 ||
        rd_array(&r, MIN_LEAVE_MEMBER, rd_leave_member, &x, &m->count,
                 &m->it_) != 0 ||
        rd_end(&r) != 0) {
        memset(m, 0, sizeof(*m));
        m->it_ = rd_empty();
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_leave_req_next(ipc_leave_req *m, ipc_leave_member *x)
{
    IPC_NEXT(&m->it_, rd_leave_member, x);
}

int
ipc_leave_rep_encode(sl_buf *b, int32_t error, const int32_t *errors, size_t n)
{
    wr w = w_begin(b, IPC_OP_GROUP_LEAVE, 0);
    w_i32(&w, error);
    w_errors(&w, errors, n);
    return w.rc;
}

int
ipc_leave_rep_decode(sl_slice body, ipc_errors_rep *m)
{
    return errors_rep_decode(body, 1, m);
}

/* ---- GROUP_LIST --------------------------------------------------------- */

int
ipc_group_list_req_encode(sl_buf *b)
{
    return ipc_msg_begin(b, IPC_OP_GROUP_LIST, 0);
}

int
ipc_group_list_rep_encode(sl_buf *b, const ipc_group_listing *g, size_t n)
{
    wr w = w_begin(b, IPC_OP_GROUP_LIST, 0);
    w_count(&w, n);
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        if (g[i].state > IPC_GROUP_DEAD) {
            w_refuse(&w);
            break;
        }
        w_str(&w, g[i].group);
        w_str(&w, g[i].protocol_type);
        w_u8(&w, g[i].state);
    }
    return w.rc;
}

int
ipc_group_list_rep_decode(sl_slice body, ipc_group_list_rep *m)
{
    sl_rd r;
    ipc_group_listing g;

    memset(m, 0, sizeof(*m));
    m->it_ = rd_empty();
    sl_rd_init(&r, body);
    if (rd_array(&r, MIN_GROUP_LISTING, rd_group_listing, &g, &m->count,
                 &m->it_) != 0 ||
        rd_end(&r) != 0) {
        memset(m, 0, sizeof(*m));
        m->it_ = rd_empty();
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_group_list_rep_next(ipc_group_list_rep *m, ipc_group_listing *g)
{
    IPC_NEXT(&m->it_, rd_group_listing, g);
}

/* ---- GROUP_DESCRIBE / GROUP_DELETE requests: array of str --------------- */

int
ipc_names_req_encode(sl_buf *b, int op, const sl_slice *names, size_t n)
{
    if (op != IPC_OP_GROUP_DESCRIBE && op != IPC_OP_GROUP_DELETE)
        return SL_E_INVAL;
    wr w = w_begin(b, op, 0);
    w_names(&w, names, n);
    return w.rc;
}

int
ipc_names_req_decode(sl_slice body, ipc_names_req *m)
{
    return names_decode(body, &m->count, &m->it_);
}

int
ipc_names_req_next(ipc_names_req *m, sl_slice *name)
{
    IPC_NEXT(&m->it_, rd_name, name);
}

/* ---- GROUP_DESCRIBE reply ----------------------------------------------- */

int
ipc_group_describe_rep_begin(sl_buf *b, size_t ngroups)
{
    wr w = w_begin(b, IPC_OP_GROUP_DESCRIBE, 0);
    w_count(&w, ngroups);
    return w.rc;
}

int
ipc_group_describe_rep_group(sl_buf *b, const ipc_group_info *g)
{
    wr w = {b, 0};

    if (g->state > IPC_GROUP_DEAD)
        return SL_E_INVAL;
    w_i32(&w, g->error);
    w_str(&w, g->group);
    w_u8(&w, g->state);
    w_str(&w, g->protocol_type);
    w_str(&w, g->protocol_name);
    w_count(&w, g->nmembers);
    return w.rc;
}

int
ipc_group_describe_rep_member(sl_buf *b, const ipc_group_member_info *m)
{
    wr w = {b, 0};

    w_str(&w, m->member_id);
    w_str(&w, m->instance_id);
    w_str(&w, m->client_id);
    w_str(&w, m->client_host);
    w_bytes(&w, m->metadata);
    w_bytes(&w, m->assignment);
    return w.rc;
}

int
ipc_group_describe_rep_decode(sl_slice body, ipc_group_describe_rep *m)
{
    sl_rd r;
    ipc_group_info g;

    memset(m, 0, sizeof(*m));
    m->it_ = rd_empty();
    sl_rd_init(&r, body);
    if (rd_array(&r, MIN_GROUP_INFO, rd_group_info, &g, &m->count, &m->it_) !=
            0 ||
        rd_end(&r) != 0) {
        memset(m, 0, sizeof(*m));
        m->it_ = rd_empty();
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_group_describe_rep_next(ipc_group_describe_rep *m, ipc_group_info *g)
{
    IPC_NEXT(&m->it_, rd_group_info, g);
}

int
ipc_group_info_next_member(ipc_group_info *g, ipc_group_member_info *x)
{
    IPC_NEXT(&g->members_, rd_group_member, x);
}

/* ---- GROUP_DELETE reply ------------------------------------------------- */

int
ipc_group_delete_rep_encode(sl_buf *b, const int32_t *errors, size_t n)
{
    wr w = w_begin(b, IPC_OP_GROUP_DELETE, 0);
    w_errors(&w, errors, n);
    return w.rc;
}

int
ipc_group_delete_rep_decode(sl_slice body, ipc_errors_rep *m)
{
    return errors_rep_decode(body, 0, m);
}

/* ---- OFFSET_COMMIT ------------------------------------------------------ */

int
ipc_commit_req_encode(sl_buf *b, const ipc_commit_req *m,
                      const ipc_commit_entry *e, size_t n)
{
    wr w = w_begin(b, IPC_OP_OFFSET_COMMIT, 0);
    w_str(&w, m->group);
    w_i32(&w, m->generation);
    w_str(&w, m->member_id);
    w_str(&w, m->instance_id);
    w_count(&w, n);
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        w_str(&w, e[i].topic);
        w_i32(&w, e[i].partition);
        w_i64(&w, e[i].offset);
        w_i32(&w, e[i].leader_epoch);
        w_str(&w, e[i].metadata);
    }
    return w.rc;
}

int
ipc_commit_req_decode(sl_slice body, ipc_commit_req *m)
{
    sl_rd r;
    ipc_commit_entry e;

    memset(m, 0, sizeof(*m));
    m->it_ = rd_empty();
    sl_rd_init(&r, body);
    if (ipc_rd_str(&r, &m->group) != 0 || rd_i32(&r, &m->generation) != 0 ||
        ipc_rd_str(&r, &m->member_id) != 0 ||
        ipc_rd_str(&r, &m->instance_id) != 0 ||
        rd_array(&r, MIN_COMMIT_ENTRY, rd_commit_entry, &e, &m->count,
                 &m->it_) != 0 ||
        rd_end(&r) != 0) {
        memset(m, 0, sizeof(*m));
        m->it_ = rd_empty();
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_commit_req_next(ipc_commit_req *m, ipc_commit_entry *e)
{
    IPC_NEXT(&m->it_, rd_commit_entry, e);
}

int
ipc_commit_rep_encode(sl_buf *b, const int32_t *errors, size_t n)
{
    wr w = w_begin(b, IPC_OP_OFFSET_COMMIT, 0);
    w_errors(&w, errors, n);
    return w.rc;
}

int
ipc_commit_rep_decode(sl_slice body, ipc_errors_rep *m)
{
    return errors_rep_decode(body, 0, m);
}

/* ---- OFFSET_FETCH ------------------------------------------------------- */

int
ipc_offset_fetch_req_encode(sl_buf *b, sl_slice group, int all,
                            const ipc_topic_partition *tp, size_t n)
{
    wr w = w_begin(b, IPC_OP_OFFSET_FETCH, 0);
    /* "all" means every committed partition; a list besides it would be
     * ambiguous, so the decoder refuses the pair. */
    if (all && n > 0)
        w_refuse(&w);
    w_str(&w, group);
    w_bool(&w, all);
    w_count(&w, n);
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        w_str(&w, tp[i].topic);
        w_i32(&w, tp[i].partition);
    }
    return w.rc;
}

int
ipc_offset_fetch_req_decode(sl_slice body, ipc_offset_fetch_req *m)
{
    sl_rd r;
    ipc_topic_partition tp;

    memset(m, 0, sizeof(*m));
    m->it_ = rd_empty();
    sl_rd_init(&r, body);
    if (ipc_rd_str(&r, &m->group) != 0 || rd_bool(&r, &m->all) != 0 ||
        rd_array(&r, MIN_TOPIC_PARTITION, rd_topic_partition, &tp, &m->count,
                 &m->it_) != 0 ||
        rd_end(&r) != 0 || (m->all && m->count > 0)) {
        memset(m, 0, sizeof(*m));
        m->it_ = rd_empty();
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_offset_fetch_req_next(ipc_offset_fetch_req *m, ipc_topic_partition *tp)
{
    IPC_NEXT(&m->it_, rd_topic_partition, tp);
}

int
ipc_offset_fetch_rep_encode(sl_buf *b, int32_t error, const ipc_committed *c,
                            size_t n)
{
    wr w = w_begin(b, IPC_OP_OFFSET_FETCH, 0);
    w_i32(&w, error);
    w_count(&w, n);
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        w_str(&w, c[i].topic);
        w_i32(&w, c[i].partition);
        w_i64(&w, c[i].offset);
        w_i32(&w, c[i].leader_epoch);
        w_str(&w, c[i].metadata);
        w_i32(&w, c[i].error);
    }
    return w.rc;
}

int
ipc_offset_fetch_rep_decode(sl_slice body, ipc_offset_fetch_rep *m)
{
    sl_rd r;
    ipc_committed c;

    memset(m, 0, sizeof(*m));
    m->it_ = rd_empty();
    sl_rd_init(&r, body);
    if (rd_i32(&r, &m->error) != 0 ||
        rd_array(&r, MIN_COMMITTED, rd_committed, &c, &m->count, &m->it_) !=
            0 ||
        rd_end(&r) != 0) {
        memset(m, 0, sizeof(*m));
        m->it_ = rd_empty();
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_offset_fetch_rep_next(ipc_offset_fetch_rep *m, ipc_committed *c)
{
    IPC_NEXT(&m->it_, rd_committed, c);
}

/* ---- PRODUCER_ID -------------------------------------------------------- */

int
ipc_producer_id_req_encode(sl_buf *b)
{
    wr w = w_begin(b, IPC_OP_PRODUCER_ID, 0);
    w_u32(&w, 0);
    return w.rc;
}

int
ipc_producer_id_req_decode(sl_slice body)
{
    sl_rd r;
    uint32_t flags;

    /* The flags are reserved and, like every reserved field, not checked;
     * no bit is defined yet, so they are not returned either. */
    sl_rd_init(&r, body);
    if (rd_u32(&r, &flags) != 0 || rd_end(&r) != 0)
        return SL_E_MALFORMED;
    return 0;
}

int
ipc_producer_id_rep_encode(sl_buf *b, int64_t producer_id, int32_t epoch)
{
    wr w = w_begin(b, IPC_OP_PRODUCER_ID, 0);
    w_i64(&w, producer_id);
    w_i32(&w, epoch);
    return w.rc;
}

int
ipc_producer_id_rep_decode(sl_slice body, int64_t *producer_id, int32_t *epoch)
{
    sl_rd r;

    sl_rd_init(&r, body);
    if (rd_i64(&r, producer_id) != 0 || rd_i32(&r, epoch) != 0 ||
        rd_end(&r) != 0) {
        *producer_id = 0;
        *epoch = 0;
        return SL_E_MALFORMED;
    }
    return 0;
}

/* ---- TOPIC_ADD_PARTITIONS ----------------------------------------------- */

int
ipc_add_partitions_req_encode(sl_buf *b, sl_slice name, int32_t count,
                              int validate_only)
{
    wr w = w_begin(b, IPC_OP_TOPIC_ADD_PARTITIONS, 0);
    w_str(&w, name);
    w_i32(&w, count);
    w_bool(&w, validate_only);
    return w.rc;
}

int
ipc_add_partitions_req_decode(sl_slice body, sl_slice *name, int32_t *count,
                              uint8_t *validate_only)
{
    sl_rd r;

    sl_rd_init(&r, body);
    if (ipc_rd_str(&r, name) != 0 || rd_i32(&r, count) != 0 ||
        rd_bool(&r, validate_only) != 0 || rd_end(&r) != 0) {
        *name = sl_slice_make(NULL, 0);
        *count = 0;
        *validate_only = 0;
        return SL_E_MALFORMED;
    }
    return 0;
}

/* ---- events ------------------------------------------------------------- */

int
ipc_event_encode(sl_buf *b, const ipc_event *e)
{
    wr w;

    switch (e->op) {
    case IPC_EVT_ADVANCE:
        w = w_begin(b, e->op, 0);
        w_str(&w, e->topic);
        w_i32(&w, e->partition);
        w_i64(&w, e->high_watermark);
        return w.rc;
    case IPC_EVT_TOPIC_CREATED:
    case IPC_EVT_TOPIC_DELETED:
        w = w_begin(b, e->op, 0);
        w_str(&w, e->topic);
        w_i32(&w, e->partitions);
        return w.rc;
    case IPC_EVT_KV:
        /* A deletion carries no value; the decoder refuses one. */
        if (e->deleted && e->value.n > 0)
            return SL_E_INVAL;
        w = w_begin(b, e->op, 0);
        w_str(&w, e->key);
        w_i64(&w, e->version);
        w_i64(&w, e->prev_revision);
        w_bool(&w, e->deleted);
        w_bytes(&w, e->value);
        return w.rc;
    case IPC_EVT_GROUP:
        if (e->state > IPC_GROUP_DEAD)
            return SL_E_INVAL;
        w = w_begin(b, e->op, 0);
        w_str(&w, e->key);
        w_i32(&w, e->generation);
        w_u8(&w, e->state);
        return w.rc;
    default:
        return SL_E_INVAL;
    }
}

int
ipc_event_decode(sl_slice msg, ipc_event *e)
{
    ipc_hdr h;
    sl_slice body;
    sl_rd r;
    int rc;

    memset(e, 0, sizeof(*e));
    rc = ipc_hdr_decode(msg, &h, &body);
    /* An event is a whole nng message: too short is malformed, not partial. */
    if (rc == SL_E_PARTIAL)
        return SL_E_MALFORMED;
    if (rc != 0)
        return rc;
    if (h.status != 0)
        return SL_E_MALFORMED;
    sl_rd_init(&r, body);
    switch (h.op) {
    case IPC_EVT_ADVANCE:
        if (ipc_rd_str(&r, &e->topic) != 0 || rd_i32(&r, &e->partition) != 0 ||
            rd_i64(&r, &e->high_watermark) != 0 || rd_end(&r) != 0)
            goto fail;
        break;
    case IPC_EVT_TOPIC_CREATED:
    case IPC_EVT_TOPIC_DELETED:
        if (ipc_rd_str(&r, &e->topic) != 0 || rd_i32(&r, &e->partitions) != 0 ||
            rd_end(&r) != 0)
            goto fail;
        break;
    case IPC_EVT_KV:
        if (ipc_rd_str(&r, &e->key) != 0 || rd_i64(&r, &e->version) != 0 ||
            rd_i64(&r, &e->prev_revision) != 0 ||
            rd_bool(&r, &e->deleted) != 0 || ipc_rd_bytes(&r, &e->value) != 0 ||
            rd_end(&r) != 0 || (e->deleted && e->value.n > 0))
            goto fail;
        break;
    case IPC_EVT_GROUP:
        if (ipc_rd_str(&r, &e->key) != 0 || rd_i32(&r, &e->generation) != 0 ||
            rd_group_state(&r, &e->state) != 0 || rd_end(&r) != 0)
            goto fail;
        break;
    default:
        /* A newer segstore may publish events this client does not know;
         * subscribers skip them, which UNSUPPORTED tells apart from bad
         * bytes. */
        return SL_E_UNSUPPORTED;
    }
    e->op = h.op;
    return 0;
fail:
    memset(e, 0, sizeof(*e));
    return SL_E_MALFORMED;
}

/* ---- TIER_STATUS -------------------------------------------------------- */

int
ipc_tier_status_req_encode(sl_buf *b, sl_slice topic)
{
    return name_req_encode(b, IPC_OP_TIER_STATUS, topic);
}

int
ipc_tier_status_req_decode(sl_slice body, sl_slice *topic)
{
    return name_req_decode(body, topic);
}

int
ipc_tier_status_rep_encode(sl_buf *b, const ipc_tier_part *p, size_t n)
{
    wr w = w_begin(b, IPC_OP_TIER_STATUS, 0);
    w_count(&w, n);
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        w_i32(&w, p[i].partition);
        w_i64(&w, p[i].local_start);
        w_i64(&w, p[i].local_end);
        w_i64(&w, p[i].local_bytes);
        w_i64(&w, p[i].remote_start);
        w_i64(&w, p[i].remote_end);
        w_i64(&w, p[i].remote_bytes);
        w_i32(&w, p[i].remote_segments);
        w_i32(&w, p[i].pending_offload);
        w_i64(&w, p[i].failures);
        w_str(&w, p[i].last_error);
    }
    return w.rc;
}

static int
rd_tier_part(sl_rd *r, void *out)
{
    ipc_tier_part *p = out;
    if (rd_i32(r, &p->partition) != 0 || rd_i64(r, &p->local_start) != 0 ||
        rd_i64(r, &p->local_end) != 0 || rd_i64(r, &p->local_bytes) != 0 ||
        rd_i64(r, &p->remote_start) != 0 || rd_i64(r, &p->remote_end) != 0 ||
        rd_i64(r, &p->remote_bytes) != 0 ||
        rd_i32(r, &p->remote_segments) != 0 ||
        rd_i32(r, &p->pending_offload) != 0 || rd_i64(r, &p->failures) != 0 ||
        ipc_rd_str(r, &p->last_error) != 0)
        return SL_E_MALFORMED;
    return 0;
}

int
ipc_tier_status_rep_decode(sl_slice body, ipc_tier_status_rep *m)
{
    sl_rd r;
    ipc_tier_part p;

    memset(m, 0, sizeof(*m));
    m->it_ = rd_empty();
    sl_rd_init(&r, body);
    if (rd_array(&r, MIN_TIER_PART, rd_tier_part, &p, &m->count, &m->it_) !=
            0 ||
        rd_end(&r) != 0) {
        m->it_ = rd_empty();
        m->count = 0;
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_tier_status_rep_next(ipc_tier_status_rep *m, ipc_tier_part *p)
{
    IPC_NEXT(&m->it_, rd_tier_part, p);
}

/* ---- TOPIC_ALTER_CONFIGS ------------------------------------------------ */

static int
cfg_op_valid(const ipc_cfg_op *o)
{
    return o->op == IPC_CFG_SET || (o->op == IPC_CFG_DELETE && o->value.n == 0);
}

int
ipc_alter_configs_req_encode(sl_buf *b, sl_slice name, int validate_only,
                             int replace, const ipc_cfg_op *ops, size_t n)
{
    wr w = w_begin(b, IPC_OP_TOPIC_ALTER_CONFIGS, 0);
    w_str(&w, name);
    w_bool(&w, validate_only);
    w_bool(&w, replace);
    w_count(&w, n);
    for (size_t i = 0; i < n && w.rc == 0; i++) {
        if (!cfg_op_valid(&ops[i]))
            w_refuse(&w);
        w_u8(&w, ops[i].op);
        w_str(&w, ops[i].key);
        w_str(&w, ops[i].value);
    }
    return w.rc;
}

static int
rd_cfg_op(sl_rd *r, void *out)
{
    ipc_cfg_op *o = out;
    if (rd_u8(r, &o->op) != 0 || ipc_rd_str(r, &o->key) != 0 ||
        ipc_rd_str(r, &o->value) != 0 || !cfg_op_valid(o))
        return SL_E_MALFORMED;
    return 0;
}

int
ipc_alter_configs_req_decode(sl_slice body, ipc_alter_configs_req *m)
{
    sl_rd r;
    ipc_cfg_op o;

    memset(m, 0, sizeof(*m));
    m->it_ = rd_empty();
    sl_rd_init(&r, body);
    if (ipc_rd_str(&r, &m->name) != 0 || rd_bool(&r, &m->validate_only) != 0 ||
        rd_bool(&r, &m->replace) != 0 ||
        rd_array(&r, MIN_CFG_OP, rd_cfg_op, &o, &m->count, &m->it_) != 0 ||
        rd_end(&r) != 0) {
        memset(m, 0, sizeof(*m));
        m->it_ = rd_empty();
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_alter_configs_req_next(ipc_alter_configs_req *m, ipc_cfg_op *op)
{
    IPC_NEXT(&m->it_, rd_cfg_op, op);
}

int
ipc_alter_configs_rep_encode(sl_buf *b, const ipc_kv *overrides, size_t n)
{
    wr w = w_begin(b, IPC_OP_TOPIC_ALTER_CONFIGS, 0);
    w_kvs(&w, overrides, n);
    return w.rc;
}

int
ipc_alter_configs_rep_decode(sl_slice body, ipc_alter_configs_rep *m)
{
    sl_rd r;

    memset(m, 0, sizeof(*m));
    m->it_ = rd_empty();
    sl_rd_init(&r, body);
    if (rd_kvs(&r, &m->count, &m->it_) != 0 || rd_end(&r) != 0) {
        m->count = 0;
        m->it_ = rd_empty();
        return SL_E_MALFORMED;
    }
    return 0;
}

int
ipc_alter_configs_rep_next(ipc_alter_configs_rep *m, ipc_kv *kv)
{
    IPC_NEXT(&m->it_, rd_kv, kv);
}
