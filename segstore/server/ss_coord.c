/*
 * ss_coord.c — segstore's coordination ops: the KV store (KV_GET,
 * KV_WRITE, KV_SCAN), the group membership service (GROUP_*), committed
 * offsets (OFFSET_COMMIT / OFFSET_FETCH) and producer ids.  Everything
 * runs under the server mutex like every other request.
 *
 * Committed offsets and the producer id counter are KV entries under
 * segstore's own "__" prefix, so they share the KV log's durability, group
 * commit and compaction:
 *
 *   "__o" 0x00 <group> 0x00 <topic> 0x00 <partition: u32 BE>
 *        → i64 offset, i32 leader epoch, metadata bytes (the rest)
 *   "__pid" → u64 the next producer id
 *
 * Group ids containing a 0x00 byte are refused (SL_E_INVAL) so that keys
 * stay unambiguous.
 */
#include "ss_server_impl.h"

#include "sl_metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define KV_SCAN_LIMIT_DEFAULT 1000u
#define KV_SCAN_BYTES_DEFAULT (1u << 20)
#define OFFSET_KEY_PREFIX     "__o"
#define PID_KEY               "__pid"

/* ---- helpers --------------------------------------------------------------
 */

static int
internal_key(sl_slice k)
{
    return k.n >= 2 && k.p[0] == '_' && k.p[1] == '_';
}

/* Make c's prepared reply wait for the KV log to reach `end`. */
static void
reply_when_durable(ss_server *s, ss_ctx *c, int op, int64_t end)
{
    c->pre_op = op;
    ss_log *l = ss_kv_log(s->kv);
    if (s->cfg->fsync_mode == SS_FSYNC_BATCH && ss_log_durable_end(l) < end) {
        size_t cap = 0;
        if (ss__add_wait(c, l, end, &cap) != 0) {
            ipc_err_encode(&c->pre, op, -ENOMEM, "out of memory");
        } else {
            ss__touch(s, l, sl_slice_make(NULL, 0), 0);
        }
    } else if (ss_log_end(l) > ss_log_durable_end(l)) {
        /* fsync=interval/never: the next round or interval syncs it. */
        ss__touch(s, l, sl_slice_make(NULL, 0), 0);
    }
    ss__send_or_park(s, c);
}

static void
maybe_compact(ss_server *s)
{
    ss_kv_maybe_compact(s->kv, sl_now_ms());
}

/* ---- KV -------------------------------------------------------------------
 */

void
ss__handle_kv_get(ss_server *s, ss_ctx *c, sl_slice body)
{
    ipc_kv_get_req req;
    if (ipc_kv_get_req_decode(body, &req) != 0) {
        s->n_malformed++;
        ss__reply_err(s, c, IPC_OP_KV_GET, SL_E_MALFORMED, "malformed KV_GET");
        return;
    }
    ipc_kv_entry *e = calloc(req.count ? req.count : 1, sizeof(*e));
    if (e == NULL) {
        ss__reply_err(s, c, IPC_OP_KV_GET, -ENOMEM, "out of memory");
        return;
    }
    sl_slice key;
    size_t n = 0;
    while (ipc_kv_get_req_next(&req, &key) == 1) {
        e[n].status = internal_key(key)
                          ? SL_E_NOKEY
                          : ss_kv_get(s->kv, key, &e[n].version, &e[n].value);
        if (e[n].status != 0) {
            e[n].version = 0;
            e[n].value = sl_slice_make(NULL, 0);
        }
        n++;
    }
    int rc = ipc_kv_get_rep_encode(&s->out, ss_kv_revision(s->kv), e, n);
    free(e);
    if (rc != 0) {
        ss__reply_err(s, c, IPC_OP_KV_GET, rc, "reply too large");
        return;
    }
    ss__ctx_send(c, &s->out);
}

void
ss__handle_kv_write(ss_server *s, ss_ctx *c, sl_slice body)
{
    ipc_kv_write_req req;
    char err[256];
    if (ipc_kv_write_req_decode(body, &req) != 0) {
        s->n_malformed++;
        ss__reply_err(s, c, IPC_OP_KV_WRITE, SL_E_MALFORMED,
                      "malformed KV_WRITE");
        return;
    }
    ipc_kv_op *ops = calloc(req.count ? req.count : 1, sizeof(*ops));
    if (ops == NULL) {
        ss__reply_err(s, c, IPC_OP_KV_WRITE, -ENOMEM, "out of memory");
        return;
    }
    size_t n = 0;
    while (ipc_kv_write_req_next(&req, &ops[n]) == 1) {
        if (internal_key(ops[n].key)) {
            free(ops);
            ss__reply_err(s, c, IPC_OP_KV_WRITE, SL_E_INVAL,
                          "keys starting with \"__\" are segstore's own");
            return;
        }
        n++;
    }
    int64_t prev = ss_kv_announced(s->kv);
    int64_t rev, end;
    size_t failed = 0;
    int rc = ss_kv_write(s->kv, ops, n, sl_now_ms(), &rev, &end, &failed);
    if (rc != 0) {
        const ipc_kv_op *f = failed < n ? &ops[failed] : NULL;
        snprintf(err, sizeof(err), "%s: key '%.*s'",
                 rc == SL_E_CONFLICT ? "condition failed" : sl_strerror(rc),
                 f ? (int)SL_MIN(f->key.n, (size_t)200) : 0,
                 f ? (const char *)f->key.p : "");
        free(ops);
        ss__reply_err(s, c, IPC_OP_KV_WRITE, rc, err);
        return;
    }
    /* Announce at once: readers of the map see the write now, and the
     * events are hints anyway (docs/ipc.md section 5). */
    if (rev != prev) {
        for (size_t i = 0; i < n; i++) {
            if (ops[i].kind == IPC_KV_CHECK)
                continue;
            ipc_event e = {0};
            e.op = IPC_EVT_KV;
            e.key = ops[i].key;
            e.version = rev;
            e.prev_revision = prev;
            e.deleted = ops[i].kind == IPC_KV_DELETE;
            e.value = e.deleted ? sl_slice_make(NULL, 0) : ops[i].value;
            ss__publish(s, &e);
        }
    }
    free(ops);
    ipc_kv_write_rep_encode(&c->pre, rev);
    reply_when_durable(s, c, IPC_OP_KV_WRITE, end);
    maybe_compact(s);
}

typedef struct scan_acc {
    ipc_kv_entry *e;
    size_t n, cap;
    uint32_t limit;
    size_t max_bytes, bytes;
    int more;
} scan_acc;

static int
scan_cb(void *arg, sl_slice key, int64_t version, sl_slice value)
{
    scan_acc *a = arg;
    size_t cost = key.n + value.n + 16;
    /* Segstore's own keys are neither shown nor counted. */
    if (internal_key(key))
        return 0;
    if (a->n >= a->limit || (a->n > 0 && a->bytes + cost > a->max_bytes)) {
        a->more = 1;
        return 1;
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        ipc_kv_entry *e = realloc(a->e, cap * sizeof(*e));
        if (e == NULL)
            return -ENOMEM;
        a->e = e;
        a->cap = cap;
    }
    ipc_kv_entry *x = &a->e[a->n++];
    memset(x, 0, sizeof(*x));
    x->key = key;
    x->version = version;
    x->value = value;
    a->bytes += cost;
    return 0;
}

void
ss__handle_kv_scan(ss_server *s, ss_ctx *c, sl_slice body)
{
    ipc_kv_scan_req req;
    if (ipc_kv_scan_req_decode(body, &req) != 0) {
        s->n_malformed++;
        ss__reply_err(s, c, IPC_OP_KV_SCAN, SL_E_MALFORMED,
                      "malformed KV_SCAN");
        return;
    }
    scan_acc a = {0};
    a.limit = req.limit ? req.limit : KV_SCAN_LIMIT_DEFAULT;
    a.max_bytes = req.max_bytes ? req.max_bytes : KV_SCAN_BYTES_DEFAULT;
    if (a.max_bytes > (size_t)s->cfg->max_msg / 2)
        a.max_bytes = (size_t)s->cfg->max_msg / 2;
    int rc = ss_kv_scan(s->kv, req.prefix, req.after, scan_cb, &a);
    if (rc < 0) {
        free(a.e);
        ss__reply_err(s, c, IPC_OP_KV_SCAN, rc, sl_strerror(rc));
        return;
    }
    rc = ipc_kv_scan_rep_encode(&s->out, ss_kv_revision(s->kv), a.more, a.e,
                                a.n);
    free(a.e);
    if (rc != 0) {
        ss__reply_err(s, c, IPC_OP_KV_SCAN, rc, "reply too large");
        return;
    }
    ss__ctx_send(c, &s->out);
}

/* ---- committed offsets ------------------------------------------------------
 */

static int
group_name_ok(sl_slice g)
{
    return g.n > 0 && memchr(g.p, 0, g.n) == NULL;
}

/* "__o\0<group>\0" */
static void
offset_prefix(sl_buf *b, sl_slice group)
{
    b->n = 0;
    sl_buf_append(b, OFFSET_KEY_PREFIX, 3);
    sl_buf_append(b, "", 1);
    sl_buf_append(b, group.p, group.n);
    sl_buf_append(b, "", 1);
}

static void
offset_key(sl_buf *b, sl_slice group, sl_slice topic, int32_t partition)
{
    offset_prefix(b, group);
    sl_buf_append(b, topic.p, topic.n);
    sl_buf_append(b, "", 1);
    sl_buf_put_u32be(b, (uint32_t)partition);
}

/* Split the part of an offset key after its group prefix. */
static int
offset_key_split(sl_slice rest, sl_slice *topic, int32_t *partition)
{
    if (rest.n < 6)
        return SL_E_CORRUPT;
    const uint8_t *nul = memchr(rest.p, 0, rest.n - 4);
    if (nul == NULL || (size_t)(nul - rest.p) != rest.n - 5)
        return SL_E_CORRUPT;
    *topic = sl_slice_make(rest.p, rest.n - 5);
    *partition = (int32_t)sl_get_u32be(rest.p + rest.n - 4);
    return 0;
}

/* Split a whole offset key "__o\0<group>\0<topic>\0<partition>". */
static int
offset_key_parse(sl_slice key, sl_slice *group, sl_slice *topic,
                 int32_t *partition)
{
    if (key.n < 5)
        return SL_E_CORRUPT;
    sl_slice rest = sl_slice_make(key.p + 4, key.n - 4);
    const uint8_t *nul = memchr(rest.p, 0, rest.n);
    if (nul == NULL)
        return SL_E_CORRUPT;
    *group = sl_slice_make(rest.p, (size_t)(nul - rest.p));
    return offset_key_split(sl_slice_make(nul + 1, rest.n - group->n - 1),
                            topic, partition);
}

static int
offset_value_decode(sl_slice v, int64_t *offset, int32_t *epoch,
                    sl_slice *metadata)
{
    if (v.n < 12)
        return SL_E_CORRUPT;
    *offset = (int64_t)sl_get_u64be(v.p);
    *epoch = (int32_t)sl_get_u32be(v.p + 8);
    *metadata = sl_slice_make(v.p + 12, v.n - 12);
    return 0;
}

void
ss__handle_offset_commit(ss_server *s, ss_ctx *c, sl_slice body)
{
    ipc_commit_req req;
    if (ipc_commit_req_decode(body, &req) != 0) {
        s->n_malformed++;
        ss__reply_err(s, c, IPC_OP_OFFSET_COMMIT, SL_E_MALFORMED,
                      "malformed OFFSET_COMMIT");
        return;
    }
    size_t n = req.count;
    int32_t *errs = calloc(n ? n : 1, sizeof(*errs));
    ipc_kv_op *ops = calloc(n ? n : 1, sizeof(*ops));
    sl_buf *keys = calloc(n ? n : 1, sizeof(*keys));
    if (errs == NULL || ops == NULL || keys == NULL) {
        free(errs);
        free(ops);
        free(keys);
        ss__reply_err(s, c, IPC_OP_OFFSET_COMMIT, -ENOMEM, "out of memory");
        return;
    }
    int64_t now = sl_now_ms();
    int rc = group_name_ok(req.group) ? 0 : SL_E_INVAL;
    if (rc == 0)
        rc = ss_groups_commit_check(s->groups, req.group, req.generation,
                                    req.member_id, req.instance_id,
                                    (int64_t)(sl_mono_ns() / 1000000));
    ipc_commit_entry e;
    size_t nops = 0;
    for (size_t i = 0; ipc_commit_req_next(&req, &e) == 1; i++) {
        errs[i] = rc;
        if (rc != 0)
            continue;
        if (ss_store_topic_find(s->store, e.topic) == NULL) {
            errs[i] = SL_E_NOTOPIC;
            continue;
        }
        sl_buf_init(&keys[i]);
        offset_key(&keys[i], req.group, e.topic, e.partition);
        /* The value is built after the key in the same buffer. */
        size_t kn = keys[i].n;
        sl_buf_put_u64be(&keys[i], (uint64_t)e.offset);
        sl_buf_put_u32be(&keys[i], (uint32_t)e.leader_epoch);
        sl_buf_append(&keys[i], e.metadata.p, e.metadata.n);
        ops[nops].kind = IPC_KV_PUT;
        ops[nops].expect = IPC_KV_ANY;
        ops[nops].key = sl_slice_make(keys[i].p, kn);
        ops[nops].value = sl_slice_make(keys[i].p + kn, keys[i].n - kn);
        nops++;
    }
    int64_t rev, end = 0;
    size_t failed;
    int wrc =
        nops ? ss_kv_write(s->kv, ops, nops, now, &rev, &end, &failed) : 0;
    if (wrc != 0)
        for (size_t i = 0; i < n; i++)
            if (errs[i] == 0)
                errs[i] = wrc;
    ipc_commit_rep_encode(&c->pre, errs, n);
    for (size_t i = 0; i < n; i++)
        sl_buf_fini(&keys[i]);
    free(keys);
    free(ops);
    free(errs);
    reply_when_durable(s, c, IPC_OP_OFFSET_COMMIT, end);
    if (nops)
        maybe_compact(s);
}

typedef struct fetch_acc {
    ipc_committed *c;
    size_t n, cap;
    size_t prefix_len;
} fetch_acc;

static int
fetch_push(fetch_acc *a, const ipc_committed *x)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        ipc_committed *c = realloc(a->c, cap * sizeof(*c));
        if (c == NULL)
            return -ENOMEM;
        a->c = c;
        a->cap = cap;
    }
    a->c[a->n++] = *x;
    return 0;
}

static int
fetch_all_cb(void *arg, sl_slice key, int64_t version, sl_slice value)
{
    fetch_acc *a = arg;
    ipc_committed x = {0};
    (void)version;
    if (offset_key_split(
            sl_slice_make(key.p + a->prefix_len, key.n - a->prefix_len),
            &x.topic, &x.partition) != 0 ||
        offset_value_decode(value, &x.offset, &x.leader_epoch, &x.metadata) !=
            0)
        return 0; /* not an offset entry we wrote: skip */
    return fetch_push(a, &x);
}

void
ss__handle_offset_fetch(ss_server *s, ss_ctx *c, sl_slice body)
{
    ipc_offset_fetch_req req;
    if (ipc_offset_fetch_req_decode(body, &req) != 0) {
        s->n_malformed++;
        ss__reply_err(s, c, IPC_OP_OFFSET_FETCH, SL_E_MALFORMED,
                      "malformed OFFSET_FETCH");
        return;
    }
    fetch_acc a = {0};
    sl_buf key;
    sl_buf_init(&key);
    int32_t gerr = group_name_ok(req.group) ? 0 : SL_E_INVAL;
    int rc = 0;
    if (gerr == 0 && req.all) {
        offset_prefix(&key, req.group);
        a.prefix_len = key.n;
        rc = ss_kv_scan(s->kv, sl_slice_make(key.p, key.n),
                        sl_slice_make(NULL, 0), fetch_all_cb, &a);
    } else if (gerr == 0) {
        ipc_topic_partition tp;
        while (rc == 0 && ipc_offset_fetch_req_next(&req, &tp) == 1) {
            ipc_committed x = {0};
            x.topic = tp.topic;
            x.partition = tp.partition;
            x.offset = -1;
            x.leader_epoch = -1;
            offset_key(&key, req.group, tp.topic, tp.partition);
            int64_t version;
            sl_slice v;
            if (ss_kv_get(s->kv, sl_slice_make(key.p, key.n), &version, &v) ==
                0)
                offset_value_decode(v, &x.offset, &x.leader_epoch, &x.metadata);
            rc = fetch_push(&a, &x);
        }
    }
    sl_buf_fini(&key);
    if (rc < 0) {
        free(a.c);
        ss__reply_err(s, c, IPC_OP_OFFSET_FETCH, rc, sl_strerror(rc));
        return;
    }
    rc = ipc_offset_fetch_rep_encode(&s->out, gerr, a.c, a.n);
    free(a.c);
    if (rc != 0) {
        ss__reply_err(s, c, IPC_OP_OFFSET_FETCH, rc, "reply too large");
        return;
    }
    ss__ctx_send(c, &s->out);
}

/* ---- producer ids ---------------------------------------------------------
 */

void
ss__handle_producer_id(ss_server *s, ss_ctx *c, sl_slice body)
{
    if (ipc_producer_id_req_decode(body) != 0) {
        s->n_malformed++;
        ss__reply_err(s, c, IPC_OP_PRODUCER_ID, SL_E_MALFORMED,
                      "malformed PRODUCER_ID");
        return;
    }
    int64_t version;
    sl_slice v;
    uint64_t next = 0;
    if (ss_kv_get(s->kv, sl_slice_str(PID_KEY), &version, &v) == 0 && v.n == 8)
        next = sl_get_u64be(v.p);
    uint8_t nb[8];
    sl_put_u64be(nb, next + 1);
    ipc_kv_op op = {.kind = IPC_KV_PUT,
                    .key = sl_slice_str(PID_KEY),
                    .expect = IPC_KV_ANY,
                    .value = sl_slice_make(nb, 8)};
    int64_t rev, end;
    size_t failed;
    int rc = ss_kv_write(s->kv, &op, 1, sl_now_ms(), &rev, &end, &failed);
    if (rc != 0) {
        ss__reply_err(s, c, IPC_OP_PRODUCER_ID, rc, sl_strerror(rc));
        return;
    }
    ipc_producer_id_rep_encode(&c->pre, (int64_t)next, 0);
    reply_when_durable(s, c, IPC_OP_PRODUCER_ID, end);
}

/* ---- groups ---------------------------------------------------------------
 */

static int64_t
mono_ms(void)
{
    return (int64_t)(sl_mono_ns() / 1000000);
}

typedef struct list_acc {
    ipc_group_listing *g;
    size_t n, cap;
    sl_buf names; /* offset-only group names, copied */
    size_t *name_off;
} list_acc;

static int
list_push(list_acc *a, sl_slice group, sl_slice type, int state)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        ipc_group_listing *g = realloc(a->g, cap * sizeof(*g));
        if (g == NULL)
            return -ENOMEM;
        a->g = g;
        a->cap = cap;
    }
    a->g[a->n].group = group;
    a->g[a->n].protocol_type = type;
    a->g[a->n].state = (uint8_t)state;
    a->n++;
    return 0;
}

static int
list_cb(void *arg, sl_slice group, sl_slice type, int state)
{
    return list_push(arg, group, type, state);
}

typedef struct offgroups {
    ss_groups *groups;
    list_acc *acc;
    sl_slice last;
} offgroups;

/* Groups that only have committed offsets are listed as Empty. */
static int
offgroups_cb(void *arg, sl_slice key, int64_t version, sl_slice value)
{
    offgroups *o = arg;
    sl_slice g, topic;
    int32_t part;
    (void)version;
    (void)value;
    if (offset_key_parse(key, &g, &topic, &part) != 0)
        return 0;
    if (o->last.p && o->last.n == g.n && memcmp(o->last.p, g.p, g.n) == 0)
        return 0;
    o->last = g;
    if (ss_groups_known(o->groups, g))
        return 0;
    return list_push(o->acc, g, sl_slice_make(NULL, 0), IPC_GROUP_EMPTY);
}

static void
handle_group_list(ss_server *s, ss_ctx *c, sl_slice body)
{
    if (ipc_empty_decode(body) != 0) {
        s->n_malformed++;
        ss__reply_err(s, c, IPC_OP_GROUP_LIST, SL_E_MALFORMED,
                      "malformed GROUP_LIST");
        return;
    }
    list_acc a = {0};
    int rc = ss_groups_list(s->groups, list_cb, &a);
    if (rc == 0) {
        offgroups o = {.groups = s->groups, .acc = &a};
        rc = ss_kv_scan(s->kv, sl_slice_make((const uint8_t *)"__o", 4),
                        sl_slice_make(NULL, 0), offgroups_cb, &o);
    }
    if (rc == 0)
        rc = ipc_group_list_rep_encode(&s->out, a.g, a.n);
    free(a.g);
    if (rc != 0) {
        ss__reply_err(s, c, IPC_OP_GROUP_LIST, rc, sl_strerror(rc));
        return;
    }
    ss__ctx_send(c, &s->out);
}

static void
handle_group_describe(ss_server *s, ss_ctx *c, sl_slice body)
{
    ipc_names_req req;
    if (ipc_names_req_decode(body, &req) != 0) {
        s->n_malformed++;
        ss__reply_err(s, c, IPC_OP_GROUP_DESCRIBE, SL_E_MALFORMED,
                      "malformed GROUP_DESCRIBE");
        return;
    }
    int rc = ipc_group_describe_rep_begin(&s->out, req.count);
    sl_slice name;
    while (rc == 0 && ipc_names_req_next(&req, &name) == 1)
        rc = ss_groups_describe(s->groups, name, &s->out);
    if (rc != 0) {
        ss__reply_err(s, c, IPC_OP_GROUP_DESCRIBE, rc, sl_strerror(rc));
        return;
    }
    ss__ctx_send(c, &s->out);
}

typedef struct key_acc {
    sl_buf keys; /* concatenated keys */
    size_t *len;
    size_t n, cap;
} key_acc;

static int
key_cb(void *arg, sl_slice key, int64_t version, sl_slice value)
{
    key_acc *a = arg;
    (void)version;
    (void)value;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        size_t *l = realloc(a->len, cap * sizeof(*l));
        if (l == NULL)
            return -ENOMEM;
        a->len = l;
        a->cap = cap;
    }
    a->len[a->n++] = key.n;
    return sl_buf_append(&a->keys, key.p, key.n);
}

static void
handle_group_delete(ss_server *s, ss_ctx *c, sl_slice body)
{
    ipc_names_req req;
    if (ipc_names_req_decode(body, &req) != 0) {
        s->n_malformed++;
        ss__reply_err(s, c, IPC_OP_GROUP_DELETE, SL_E_MALFORMED,
                      "malformed GROUP_DELETE");
        return;
    }
    int32_t *errs = calloc(req.count ? req.count : 1, sizeof(*errs));
    if (errs == NULL) {
        ss__reply_err(s, c, IPC_OP_GROUP_DELETE, -ENOMEM, "out of memory");
        return;
    }
    int64_t end = 0;
    sl_slice name;
    sl_buf prefix;
    sl_buf_init(&prefix);
    for (size_t i = 0; ipc_names_req_next(&req, &name) == 1; i++) {
        if (!group_name_ok(name)) {
            errs[i] = SL_E_INVAL;
            continue;
        }
        int known = ss_groups_known(s->groups, name);
        int rc = known ? ss_groups_delete(s->groups, name) : 0;
        if (rc != 0) {
            errs[i] = rc;
            continue;
        }
        key_acc a = {0};
        sl_buf_init(&a.keys);
        offset_prefix(&prefix, name);
        rc = ss_kv_scan(s->kv, sl_slice_make(prefix.p, prefix.n),
                        sl_slice_make(NULL, 0), key_cb, &a);
        if (rc == 0 && a.n == 0 && !known)
            rc = SL_E_NOGROUP;
        if (rc == 0 && a.n > 0) {
            ipc_kv_op *ops = calloc(a.n, sizeof(*ops));
            if (ops == NULL) {
                rc = -ENOMEM;
            } else {
                size_t off = 0;
                for (size_t k = 0; k < a.n; k++) {
                    ops[k].kind = IPC_KV_DELETE;
                    ops[k].expect = IPC_KV_ANY;
                    ops[k].key = sl_slice_make(a.keys.p + off, a.len[k]);
                    off += a.len[k];
                }
                int64_t rev, e;
                size_t failed;
                rc = ss_kv_write(s->kv, ops, a.n, sl_now_ms(), &rev, &e,
                                 &failed);
                if (rc == 0 && e > end)
                    end = e;
                free(ops);
            }
        }
        sl_buf_fini(&a.keys);
        free(a.len);
        errs[i] = rc;
        if (rc == 0)
            sl_log(SL_LOG_INFO, "SS-GROUP", "group=%.*s deleted",
                   (int)SL_MIN(name.n, (size_t)200), (const char *)name.p);
    }
    sl_buf_fini(&prefix);
    ipc_group_delete_rep_encode(&c->pre, errs, req.count);
    free(errs);
    reply_when_durable(s, c, IPC_OP_GROUP_DELETE, end);
}

void
ss__handle_group(ss_server *s, ss_ctx *c, int op, sl_slice body)
{
    int64_t now = mono_ms();
    switch (op) {
    case IPC_OP_GROUP_JOIN: {
        ipc_join_req req;
        if (ipc_join_req_decode(body, &req) != 0)
            break;
        if (!group_name_ok(req.group)) {
            ipc_join_rep rep = {.error = SL_E_INVAL, .generation = -1};
            ipc_join_rep_encode(&s->out, &rep, NULL, 0);
            ss__ctx_send(c, &s->out);
            return;
        }
        ss_groups_join(s->groups, c, &req, now);
        return;
    }
    case IPC_OP_GROUP_SYNC: {
        ipc_sync_req req;
        if (ipc_sync_req_decode(body, &req) != 0)
            break;
        ss_groups_sync(s->groups, c, &req, now);
        return;
    }
    case IPC_OP_GROUP_HEARTBEAT: {
        ipc_heartbeat_req req;
        if (ipc_heartbeat_req_decode(body, &req) != 0)
            break;
        int rc = ss_groups_heartbeat(s->groups, &req, now);
        ipc_group_error_rep_encode(&s->out, op, rc);
        ss__ctx_send(c, &s->out);
        return;
    }
    case IPC_OP_GROUP_LEAVE: {
        ipc_leave_req req;
        if (ipc_leave_req_decode(body, &req) != 0)
            break;
        size_t cnt = req.count ? req.count : 1;
        int32_t *errs = calloc(cnt, sizeof(*errs));
        ipc_leave_member *ms = calloc(cnt, sizeof(*ms));
        if (errs == NULL || ms == NULL) {
            free(errs);
            free(ms);
            ss__reply_err(s, c, op, -ENOMEM, "out of memory");
            return;
        }
        size_t n = 0;
        while (n < req.count && ipc_leave_req_next(&req, &ms[n]) == 1)
            n++;
        int32_t top = ss_groups_leave(s->groups, req.group, ms, n, errs, now);
        ipc_leave_rep_encode(&s->out, top, errs, n);
        free(errs);
        free(ms);
        ss__ctx_send(c, &s->out);
        return;
    }
    case IPC_OP_GROUP_LIST:
        handle_group_list(s, c, body);
        return;
    case IPC_OP_GROUP_DESCRIBE:
        handle_group_describe(s, c, body);
        return;
    case IPC_OP_GROUP_DELETE:
        handle_group_delete(s, c, body);
        return;
    default:
        break;
    }
    s->n_malformed++;
    ss__reply_err(s, c, op, SL_E_MALFORMED, "malformed group request");
}

/* ---- lifecycle ------------------------------------------------------------
 */

static void
group_reply(void *arg, void *waiter, const sl_buf *msg)
{
    (void)arg;
    ss__ctx_send(waiter, msg);
}

static void
group_event(void *arg, sl_slice group, int32_t generation, int state)
{
    ss_server *s = arg;
    ipc_event e = {0};
    e.op = IPC_EVT_GROUP;
    e.key = group;
    e.generation = generation;
    e.state = (uint8_t)state;
    ss__publish(s, &e);
}

int
ss__coord_open(ss_server *s, char *err, size_t errlen)
{
    ss_kv_opts o = {
        .value_max = s->cfg->kv_value_max,
        .segment_bytes = s->cfg->kv_segment_bytes,
        .compact_min = s->cfg->kv_segment_bytes / 2,
    };
    int rc = ss_kv_open(s->data_dir, &o, &s->kv, err, errlen);
    if (rc != 0)
        return rc;
    s->groups = ss_groups_new(group_reply, group_event, s);
    if (s->groups == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

void
ss__coord_stop(ss_server *s)
{
    if (s->groups)
        ss_groups_fail_all(s->groups, SL_E_CLOSED);
}

void
ss__coord_close(ss_server *s)
{
    ss_groups_free(s->groups);
    s->groups = NULL;
    if (ss_kv_close(s->kv) != 0)
        s->exit_code = 1;
    s->kv = NULL;
}

void
ss__coord_tick(ss_server *s)
{
    if (s->groups)
        ss_groups_tick(s->groups, mono_ms());
}

/* ---- metrics --------------------------------------------------------------
 */

typedef struct lag_acc {
    ss_server *s;
    sl_metrics_out *out;
} lag_acc;

static int
lag_cb(void *arg, sl_slice key, int64_t version, sl_slice value)
{
    lag_acc *a = arg;
    sl_slice group, topic, meta;
    int32_t part, epoch;
    int64_t off;
    (void)version;
    if (offset_key_parse(key, &group, &topic, &part) != 0 ||
        offset_value_decode(value, &off, &epoch, &meta) != 0)
        return 0;
    ss_log *l;
    if (ss_store_log(a->s->store, topic, part, &l) != 0)
        return 0;
    sl_buf lb;
    sl_buf_init(&lb);
    sl_buf_append(&lb, "group=\"", 7);
    sl_metrics_escape(&lb, group);
    sl_buf_append(&lb, "\",topic=\"", 9);
    sl_metrics_escape(&lb, topic);
    char tail[32];
    int n = snprintf(tail, sizeof(tail), "\",partition=\"%d\"", part);
    sl_buf_append(&lb, tail, (size_t)n);
    sl_buf_append(&lb, "", 1);
    int64_t lag = ss_log_end(l) - off;
    sl_metrics_emit(a->out, SL_METRIC_GAUGE, "sluice_group_lag",
                    "Records between a group's committed offset and the "
                    "partition's end.",
                    (const char *)lb.p, (double)(lag > 0 ? lag : 0));
    sl_buf_fini(&lb);
    return 0;
}

void
ss__coord_collect(ss_server *s, sl_metrics_out *out)
{
    lag_acc a = {.s = s, .out = out};
    ss_kv_scan(s->kv, sl_slice_make((const uint8_t *)"__o", 4),
               sl_slice_make(NULL, 0), lag_cb, &a);
}
