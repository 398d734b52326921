/*
 * ss_kv.h — segstore's coordination state: a durable, ordered key/value map
 * (MQTT sessions and retained messages, Kafka committed offsets, producer
 * ids) kept in memory and persisted in its own log, <data>/@kv, a directory
 * of ordinary segment files (docs/format.md section "The KV log").
 *
 * Every write is one RecordBatch appended to that log: one record per key
 * (key = the key, value = the value, a null value = delete), so a
 * multi-key write is all-or-nothing across a crash exactly as a batch is.
 * The write's revision is the batch's base offset + 1.  Compaction writes
 * the whole live map as one snapshot batch at the start of a fresh segment
 * and deletes the segments before it, so replay at start-up reads at most
 * about twice the live data, whatever the write history.
 *
 * Threading: like ss_log, owned by segstore's request path (under its
 * mutex); the log's fdatasync runs as an ordinary ss_log_job.
 */
#ifndef SS_KV_H
#define SS_KV_H

#include "ipc_msg.h"
#include "ss_log.h"

typedef struct ss_kv ss_kv;

typedef struct ss_kv_opts {
    int64_t value_max;     /* largest value accepted */
    int64_t segment_bytes; /* the KV log's segment size */
    int64_t compact_min;   /* do not compact a log smaller than this */
} ss_kv_opts;

/* Open (creating when missing) and replay <data_dir>/@kv.  On failure *err
 * says why. */
int ss_kv_open(const char *data_dir, const ss_kv_opts *o, ss_kv **out,
               char *err, size_t errlen);
/* Sync, checkpoint and free.  NULL is fine. */
int ss_kv_close(ss_kv *kv);

/* The log that holds the writes (for group commit: a write is durable once
 * ss_log_durable_end() reaches the end ss_kv_write reported). */
ss_log *ss_kv_log(ss_kv *kv);

/* The revision of the latest write. */
int64_t ss_kv_revision(const ss_kv *kv);
/* The revision of the latest write that changed a key not starting with
 * "__" (the one IPC_EVT_KV's prev_revision refers to). */
int64_t ss_kv_announced(const ss_kv *kv);
size_t ss_kv_count(const ss_kv *kv);
int64_t ss_kv_live_bytes(const ss_kv *kv);

/*
 * Look key up.  0 with *version and *value (a view valid until the next
 * write), or SL_E_NOKEY.
 */
int ss_kv_get(ss_kv *kv, sl_slice key, int64_t *version, sl_slice *value);

/*
 * Apply a write: every condition first (on a failed one SL_E_CONFLICT with
 * *failed its index, nothing written), then one batch appended to the log
 * and the map updated.  *revision is the new revision, *end the log offset
 * the write is durable at.  A write of only CHECKs writes nothing and
 * returns the current revision.  Keys are not checked here for the "__"
 * prefix (the caller decides who may write them); SL_E_TOOBIG for a value
 * over value_max, SL_E_INVAL for an empty key or the reserved key
 * "__snap" (compaction's snapshot marker).
 */
int ss_kv_write(ss_kv *kv, const ipc_kv_op *ops, size_t n, int64_t now_ms,
                int64_t *revision, int64_t *end, size_t *failed);

/*
 * Call fn for the keys that start with prefix and sort after `after` (all
 * when after is empty), in order, until fn returns non-zero (that value is
 * returned) or the keys run out (0).  Views are valid during the call; fn
 * must not write.
 */
typedef int (*ss_kv_scan_fn)(void *arg, sl_slice key, int64_t version,
                             sl_slice value);
int ss_kv_scan(ss_kv *kv, sl_slice prefix, sl_slice after, ss_kv_scan_fn fn,
               void *arg);

/*
 * Compact when the log has grown past both compact_min and four times the
 * live data: write a snapshot, make it durable (blocking: an fdatasync)
 * and delete the segments before it.  1 when it compacted, 0 when not
 * needed, or a negative code (the log is left as it was).
 */
int ss_kv_maybe_compact(ss_kv *kv, int64_t now_ms);

#endif /* SS_KV_H */
