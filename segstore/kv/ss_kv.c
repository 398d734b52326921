/*
 * ss_kv.c — the coordination key/value map and its log.
 *
 * Files: <data>/@kv is an ordinary partition log (docs/format.md): segment
 * files of RecordBatch v2, indexes, checkpoints, recovery of a torn tail.
 * '@' cannot start a topic name, so the directory never collides with a
 * topic and the store's topic scan skips it.
 *
 * Batches, two kinds:
 *   write     one record per key written: key = the key, value = the new
 *             value, or null for a delete.  Every key of the batch gets
 *             version = the batch's baseOffset + 1 (its revision).
 *   snapshot  first record has key "__snap" (value empty, and one header
 *             "v" holding the store's revision when the snapshot was
 *             taken, 8 bytes big-endian; older snapshots lack it); every
 *             following record is a live key with its value and one
 *             header "v" holding its version as 8 bytes big-endian.
 *             Replaying a snapshot replaces the whole map.
 *
 * Invariants:
 *   1. The map equals the replay of the log from its first segment.
 *   2. A snapshot is written at the start of a fresh segment and the
 *      segments before it are deleted only after it is durable, so (1)
 *      holds across a crash at any point of a compaction.
 *   3. Revisions only grow: a new write's revision is a fresh log offset +
 *      1, above every version in the map (snapshot versions are older
 *      offsets + 1).
 */
#include "ss_kv.h"

#include "sl_batch.h"

#include <bsd/sys/tree.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define KV_DIR          "@kv"
#define KV_SNAP_KEY     "__snap"
#define KV_READ_CHUNK   (1 << 20)
#define KV_BATCH_MAX    (1 << 30)
#define KV_ENTRY_OVERHD 64 /* bytes a record costs beyond key and value */

typedef struct kv_ent {
    RB_ENTRY(kv_ent) rb;
    const uint8_t *key; /* points at data[] (or at a probe's bytes) */
    uint32_t klen;
    uint32_t vlen;
    int64_t version;
    uint8_t *val;
    uint8_t data[];
} kv_ent;

static int
ent_cmp(const kv_ent *a, const kv_ent *b)
{
    uint32_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = n ? memcmp(a->key, b->key, n) : 0;
    if (c != 0)
        return c;
    return a->klen < b->klen ? -1 : a->klen > b->klen;
}

RB_HEAD(kv_tree, kv_ent);
/* libbsd's _STATIC variants need BSD's __unused, which it leaves
 * undefined on Linux; spell the attribute out. */
#define KV_STATIC __attribute__((unused)) static
RB_PROTOTYPE_INTERNAL(kv_tree, kv_ent, rb, ent_cmp, KV_STATIC)
RB_GENERATE_INTERNAL(kv_tree, kv_ent, rb, ent_cmp, KV_STATIC)

struct ss_kv {
    ss_log *log;
    ss_kv_opts o;
    struct kv_tree tree;
    size_t count;
    int64_t live_bytes; /* keys + values + per-record overhead */
    int64_t revision;
    int64_t announced;
    sl_buf scratch;
};

static int
is_internal(sl_slice key)
{
    return key.n >= 2 && key.p[0] == '_' && key.p[1] == '_';
}

static kv_ent *
find(ss_kv *kv, sl_slice key)
{
    kv_ent probe;
    probe.key = key.p;
    probe.klen = (uint32_t)key.n;
    return RB_FIND(kv_tree, &kv->tree, &probe);
}

static void
ent_free(kv_ent *e)
{
    if (e) {
        free(e->val);
        free(e);
    }
}

static int64_t
ent_cost(size_t klen, size_t vlen)
{
    return (int64_t)(klen + vlen + KV_ENTRY_OVERHD);
}

static void
remove_key(ss_kv *kv, sl_slice key)
{
    kv_ent *e = find(kv, key);
    if (e == NULL)
        return;
    RB_REMOVE(kv_tree, &kv->tree, e);
    kv->count--;
    kv->live_bytes -= ent_cost(e->klen, e->vlen);
    ent_free(e);
}

static int
put_key(ss_kv *kv, sl_slice key, sl_slice value, int64_t version)
{
    uint8_t *v = NULL;
    if (value.n > 0) {
        v = malloc(value.n);
        if (v == NULL)
            return -ENOMEM;
        memcpy(v, value.p, value.n);
    }
    kv_ent *e = find(kv, key);
    if (e != NULL) {
        kv->live_bytes += (int64_t)value.n - (int64_t)e->vlen;
        free(e->val);
        e->val = v;
        e->vlen = (uint32_t)value.n;
        e->version = version;
        return 0;
    }
    e = malloc(sizeof(*e) + key.n);
    if (e == NULL) {
        free(v);
        return -ENOMEM;
    }
    memcpy(e->data, key.p, key.n);
    e->key = e->data;
    e->klen = (uint32_t)key.n;
    e->vlen = (uint32_t)value.n;
    e->val = v;
    e->version = version;
    RB_INSERT(kv_tree, &kv->tree, e);
    kv->count++;
    kv->live_bytes += ent_cost(key.n, value.n);
    return 0;
}

static void
clear_map(ss_kv *kv)
{
    kv_ent *e, *next;
    for (e = RB_MIN(kv_tree, &kv->tree); e != NULL; e = next) {
        next = RB_NEXT(kv_tree, &kv->tree, e);
        RB_REMOVE(kv_tree, &kv->tree, e);
        ent_free(e);
    }
    kv->count = 0;
    kv->live_bytes = 0;
}

/* ---- replay ---------------------------------------------------------------
 */

static int
snap_version(const sl_record *rec, int64_t *version)
{
    sl_rd hr;
    sl_record_header h;
    sl_rd_init(&hr, rec->headers);
    for (int32_t i = 0; i < rec->header_count; i++) {
        if (sl_record_header_next(&hr, &h) != 0)
            return SL_E_CORRUPT;
        if (h.key.n == 1 && h.key.p[0] == 'v' && !h.value_null &&
            h.value.n == 8) {
            *version = (int64_t)sl_get_u64be(h.value.p);
            return 0;
        }
    }
    return SL_E_CORRUPT;
}

static int
replay_batch(ss_kv *kv, sl_slice batch, const sl_batch_hdr *h)
{
    sl_rd r;
    sl_record rec;
    int64_t rev = h->base_offset + 1;
    int snapshot = 0;
    sl_rd_init(&r, sl_batch_records(batch));
    for (int32_t i = 0; i < h->record_count; i++) {
        /* The log checked every batch's CRC and records on recovery; a
         * record that does not parse here is a bug or bad media. */
        if (sl_record_next(&r, &rec) != 0)
            return SL_E_CORRUPT;
        if (i == 0 && !rec.key_null && rec.key.n == strlen(KV_SNAP_KEY) &&
            memcmp(rec.key.p, KV_SNAP_KEY, rec.key.n) == 0) {
            snapshot = 1;
            clear_map(kv);
            /* The revision of the store is not always a live key's version
             * (the latest write may have been a delete): the marker keeps
             * it, else the snapshot's own offset bounds it from above. */
            int64_t srev;
            if (snap_version(&rec, &srev) != 0)
                srev = h->base_offset;
            if (srev > kv->revision)
                kv->revision = srev;
            continue;
        }
        if (rec.key_null || rec.key.n == 0)
            return SL_E_CORRUPT;
        int64_t version = rev;
        if (snapshot) {
            int rc = snap_version(&rec, &version);
            if (rc != 0)
                return rc;
        }
        if (rec.value_null) {
            remove_key(kv, rec.key);
        } else {
            int rc = put_key(kv, rec.key, rec.value, version);
            if (rc != 0)
                return rc;
        }
        if (version > kv->revision)
            kv->revision = version;
    }
    return 0;
}

static int
replay(ss_kv *kv)
{
    int64_t off = ss_log_start(kv->log);
    int64_t end = ss_log_end(kv->log);
    while (off < end) {
        ss_read_res rr;
        int rc = ss_log_read(kv->log, off, KV_READ_CHUNK, end, &rr);
        if (rc != 0)
            return rc;
        if (rr.length == 0)
            break;
        sl_slice rest = sl_slice_make(rr.data, rr.length);
        while (rest.n > 0) {
            sl_batch_hdr h;
            sl_slice b;
            rc = sl_batch_next(&rest, 0, &h, &b);
            if (rc != 0)
                return SL_E_CORRUPT;
            rc = replay_batch(kv, b, &h);
            if (rc != 0)
                return rc;
            off = h.base_offset + h.last_offset_delta + 1;
        }
    }
    kv->announced = kv->revision;
    return 0;
}

/* ---- open / close -------------------------------------------------------
 */

int
ss_kv_open(const char *data_dir, const ss_kv_opts *o, ss_kv **out, char *err,
           size_t errlen)
{
    *out = NULL;
    ss_kv *kv = calloc(1, sizeof(*kv));
    if (kv == NULL)
        return -ENOMEM;
    kv->o = *o;
    RB_INIT(&kv->tree);
    sl_buf_init(&kv->scratch);
    ss_log_cfg cfg = {
        .segment_bytes = o->segment_bytes,
        .segment_ms = -1,
        .retention_ms = -1,
        .retention_bytes = -1,
        .index_interval_bytes = 4096,
        .max_message_bytes = KV_BATCH_MAX,
        .log_append_time = 0,
        .preallocate = 1,
        .cleanup_policy = 0,
    };
    int rc = ss_log_open(data_dir, KV_DIR, &cfg, &kv->log);
    if (rc != 0) {
        snprintf(err, errlen, "%s/%s: %s", data_dir, KV_DIR, sl_strerror(rc));
        goto fail;
    }
    uint64_t t0 = sl_mono_ns();
    rc = replay(kv);
    if (rc != 0) {
        snprintf(err, errlen, "%s/%s: replay: %s", data_dir, KV_DIR,
                 sl_strerror(rc));
        goto fail;
    }
    sl_log(SL_LOG_INFO, "SS-KV",
           "keys=%zu live_bytes=%" PRId64 " log_bytes=%" PRId64
           " revision=%" PRId64 " replay_ms=%" PRIu64,
           kv->count, kv->live_bytes, ss_log_bytes(kv->log), kv->revision,
           (sl_mono_ns() - t0) / 1000000);
    *out = kv;
    return 0;
fail:
    ss_kv_close(kv);
    return rc;
}

int
ss_kv_close(ss_kv *kv)
{
    if (kv == NULL)
        return 0;
    int rc = 0;
    if (kv->log) {
        rc = ss_log_close(kv->log);
        ss_log_rele(kv->log);
    }
    clear_map(kv);
    sl_buf_fini(&kv->scratch);
    free(kv);
    return rc;
}

ss_log *
ss_kv_log(ss_kv *kv)
{
    return kv->log;
}

int64_t
ss_kv_revision(const ss_kv *kv)
{
    return kv->revision;
}

int64_t
ss_kv_announced(const ss_kv *kv)
{
    return kv->announced;
}

size_t
ss_kv_count(const ss_kv *kv)
{
    return kv->count;
}

int64_t
ss_kv_live_bytes(const ss_kv *kv)
{
    return kv->live_bytes;
}

/* ---- reads ---------------------------------------------------------------
 */

int
ss_kv_get(ss_kv *kv, sl_slice key, int64_t *version, sl_slice *value)
{
    kv_ent *e = find(kv, key);
    if (e == NULL) {
        *version = 0;
        *value = sl_slice_make(NULL, 0);
        return SL_E_NOKEY;
    }
    *version = e->version;
    *value = sl_slice_make(e->val, e->vlen);
    return 0;
}

int
ss_kv_scan(ss_kv *kv, sl_slice prefix, sl_slice after, ss_kv_scan_fn fn,
           void *arg)
{
    kv_ent probe, *e;
    /* Start at the first key >= max(prefix, after); skip `after` itself. */
    sl_slice from = prefix;
    if (after.n > 0) {
        kv_ent a = {.key = after.p, .klen = (uint32_t)after.n};
        kv_ent p = {.key = prefix.p, .klen = (uint32_t)prefix.n};
        if (ent_cmp(&a, &p) > 0)
            from = after;
    }
    probe.key = from.p;
    probe.klen = (uint32_t)from.n;
    for (e = RB_NFIND(kv_tree, &kv->tree, &probe); e != NULL;
         e = RB_NEXT(kv_tree, &kv->tree, e)) {
        if (e->klen < prefix.n ||
            (prefix.n && memcmp(e->key, prefix.p, prefix.n) != 0))
            break;
        if (after.n > 0 && e->klen == after.n &&
            memcmp(e->key, after.p, after.n) == 0)
            continue;
        int rc = fn(arg, sl_slice_make(e->key, e->klen), e->version,
                    sl_slice_make(e->val, e->vlen));
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- writes ---------------------------------------------------------------
 */

int
ss_kv_write(ss_kv *kv, const ipc_kv_op *ops, size_t n, int64_t now_ms,
            int64_t *revision, int64_t *end, size_t *failed)
{
    size_t writes = 0;
    int announced = 0;
    *revision = kv->revision;
    *end = ss_log_end(kv->log);
    for (size_t i = 0; i < n; i++) {
        const ipc_kv_op *op = &ops[i];
        *failed = i;
        /* The snapshot marker is the store's own: as the first key of a
         * write it would replay as a snapshot. */
        if (op->key.n == 0 || (op->key.n == strlen(KV_SNAP_KEY) &&
                               memcmp(op->key.p, KV_SNAP_KEY, op->key.n) == 0))
            return SL_E_INVAL;
        if (op->kind == IPC_KV_PUT && (int64_t)op->value.n > kv->o.value_max)
            return SL_E_TOOBIG;
        if (op->kind != IPC_KV_PUT && op->kind != IPC_KV_DELETE &&
            op->kind != IPC_KV_CHECK)
            return SL_E_INVAL;
        if (op->expect != IPC_KV_ANY) {
            kv_ent *e = find(kv, op->key);
            int64_t have = e ? e->version : 0;
            if (have != op->expect)
                return SL_E_CONFLICT;
        }
        if (op->kind != IPC_KV_CHECK) {
            writes++;
            if (!is_internal(op->key))
                announced = 1;
        }
    }
    if (writes == 0)
        return 0;

    sl_batch_builder bb;
    sl_buf *b = &kv->scratch;
    b->n = 0;
    int rc = sl_batch_builder_init(&bb, b, now_ms);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const ipc_kv_op *op = &ops[i];
        if (op->kind == IPC_KV_CHECK)
            continue;
        rc = sl_batch_builder_add(&bb, now_ms, &op->key,
                                  op->kind == IPC_KV_PUT ? &op->value : NULL,
                                  NULL, 0);
    }
    if (rc != 0)
        return rc;
    size_t len = sl_batch_builder_finish(&bb);
    ss_append_res ar;
    rc = ss_log_append(kv->log, b->p, len, now_ms, &ar);
    if (rc != 0)
        return rc;
    int64_t rev = ar.base_offset + 1;
    for (size_t i = 0; i < n; i++) {
        const ipc_kv_op *op = &ops[i];
        if (op->kind == IPC_KV_PUT) {
            rc = put_key(kv, op->key, op->value, rev);
            if (rc != 0) {
                /* The write is in the log; memory disagrees with it until
                 * a restart replays it.  Nothing sane can continue. */
                sl_log(SL_LOG_ERROR, "SS-KV",
                       "out of memory applying revision %" PRId64, rev);
                abort();
            }
        } else if (op->kind == IPC_KV_DELETE) {
            remove_key(kv, op->key);
        }
    }
    kv->revision = rev;
    if (announced)
        kv->announced = rev;
    *revision = rev;
    *end = ar.last_offset + 1;
    return 0;
}

/* ---- compaction -----------------------------------------------------------
 */

int
ss_kv_maybe_compact(ss_kv *kv, int64_t now_ms)
{
    int64_t log_bytes = ss_log_bytes(kv->log);
    if (log_bytes < kv->o.compact_min || log_bytes < 4 * kv->live_bytes)
        return 0;
    if (kv->live_bytes + 4096 > KV_BATCH_MAX) {
        sl_log(SL_LOG_WARN, "SS-KV",
               "live data %" PRId64 " bytes too large for one snapshot; "
               "not compacting",
               kv->live_bytes);
        return 0;
    }
    int rc = ss_log_roll(kv->log);
    if (rc != 0)
        return rc;
    int64_t snap_base = ss_log_end(kv->log);
    sl_buf b;
    sl_buf_init(&b);
    sl_batch_builder bb;
    rc = sl_batch_builder_init(&bb, &b, now_ms);
    sl_slice snap = sl_slice_str(KV_SNAP_KEY);
    sl_slice empty = sl_slice_make(NULL, 0);
    uint8_t rv[8];
    sl_put_u64be(rv, (uint64_t)kv->revision);
    sl_record_header rh = {.key = sl_slice_str("v"),
                           .value = sl_slice_make(rv, 8)};
    if (rc == 0)
        rc = sl_batch_builder_add(&bb, now_ms, &snap, &empty, &rh, 1);
    kv_ent *e;
    RB_FOREACH(e, kv_tree, &kv->tree)
    {
        if (rc != 0)
            break;
        uint8_t v[8];
        sl_put_u64be(v, (uint64_t)e->version);
        sl_record_header h = {.key = sl_slice_str("v"),
                              .value = sl_slice_make(v, 8)};
        sl_slice k = sl_slice_make(e->key, e->klen);
        sl_slice val = sl_slice_make(e->val, e->vlen);
        rc = sl_batch_builder_add(&bb, now_ms, &k, &val, &h, 1);
    }
    if (rc == 0) {
        size_t len = sl_batch_builder_finish(&bb);
        ss_append_res ar;
        rc = ss_log_append(kv->log, b.p, len, now_ms, &ar);
    }
    sl_buf_fini(&b);
    if (rc == 0)
        rc = ss_log_sync_now(kv->log, 1);
    if (rc != 0) {
        sl_log(SL_LOG_WARN, "SS-KV", "compaction failed: %s", sl_strerror(rc));
        return rc;
    }
    int deleted = ss_log_delete_before(kv->log, snap_base);
    sl_log(SL_LOG_INFO, "SS-KV",
           "compacted keys=%zu live_bytes=%" PRId64 " log_bytes_before=%" PRId64
           " log_bytes_after=%" PRId64 " segments_deleted=%d",
           kv->count, kv->live_bytes, log_bytes, ss_log_bytes(kv->log),
           deleted);
    return deleted < 0 ? deleted : 1;
}
