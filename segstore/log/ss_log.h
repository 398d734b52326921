/*
 * ss_log.h — one partition's log: a directory of segment files holding
 * Kafka RecordBatch v2 batches, with sparse offset and time indexes,
 * recovery, retention and the hooks for group commit.  docs/format.md is
 * the normative description of the files.
 *
 * Threading: an ss_log is owned by one thread (segstore's loop thread).
 * The only work done elsewhere is an ss_log_job (fdatasync, checkpoint
 * files), which touches no ss_log state: it is prepared with
 * ss_log_job_begin() on the owner thread, run anywhere with
 * ss_log_job_run(), and finished with ss_log_job_end() on the owner thread.
 */
#ifndef SS_LOG_H
#define SS_LOG_H

#include "sl_base.h"

/* Per-partition settings, resolved from the topic's config. */
typedef struct ss_log_cfg {
    int64_t segment_bytes;           /* roll when the next append won't fit */
    int64_t segment_ms;              /* roll when the first batch is older */
    int64_t retention_ms;            /* -1 = keep forever */
    int64_t retention_bytes;         /* -1 = no size limit */
    int64_t index_interval_bytes;    /* bytes between offset index entries */
    int64_t max_message_bytes;       /* largest batch accepted */
    int log_append_time;             /* stamp LogAppendTime on every batch */
    int preallocate;                 /* fallocate active segments */
    int cleanup_policy;              /* 0 = delete (the only one) */
    int tier_enable;                 /* offload sealed segments to the tier */
    int64_t tier_local_retention_ms; /* keep locally; -1 = no limit */
    int64_t tier_local_retention_bytes; /* keep locally; -1 = no limit */
} ss_log_cfg;

typedef struct ss_log ss_log;

/*
 * Open the log in <data_dir>/<rel> (created when missing), recovering as
 * docs/format.md describes.  rel is also the prefix of the paths that read
 * descriptors carry ("topic/3").  Returns 0 or a negative code with *out
 * NULL.
 */
int ss_log_open(const char *data_dir, const char *rel, const ss_log_cfg *cfg,
                ss_log **out);

/* Replace the settings (topic config change).  Takes effect at the next
 * append or retention pass. */
void ss_log_set_cfg(ss_log *l, const ss_log_cfg *cfg);

/* References: jobs hold the log so that it outlives them.  ss_log_rele of
 * the last reference closes (see ss_log_close) and frees. */
void ss_log_hold(ss_log *l);
void ss_log_rele(ss_log *l);

/*
 * Stop the log: fdatasync the active segment and write a final checkpoint
 * (blocking).  Later calls except hold/rele fail with SL_E_CLOSED.
 * Idempotent; returns the first error met.
 */
int ss_log_close(ss_log *l);

/* Stop the log without syncing or checkpointing: its files are being
 * deleted.  Jobs in flight finish harmlessly. */
void ss_log_abandon(ss_log *l);

/* True once an fdatasync has failed: the log refuses appends until
 * segstore restarts and recovers it (fsync errors cannot be retried). */
int ss_log_failed(const ss_log *l);

/* ---- append ------------------------------------------------------------ */

typedef struct ss_append_res {
    int64_t base_offset; /* first offset assigned */
    int64_t last_offset; /* last offset assigned */
    int64_t append_time; /* LogAppendTime stamped, or -1 */
    int64_t log_start;
    int duplicate; /* an idempotent producer's retry: nothing written,
                      the offsets are the original append's */
} ss_append_res;

/*
 * Validate and append whole batches: every batch must pass
 * sl_batch_check(CRC | RECORDS) and be at most max_message_bytes.  All or
 * nothing: on any invalid batch nothing is written and SL_E_CRC /
 * SL_E_MALFORMED / SL_E_VERSION / SL_E_TOOBIG is returned.  Batches with
 * a producer id (idempotent producers) come one per call (else SL_E_INVAL)
 * and are deduplicated: a retry of one of the producer's last 5 batches
 * returns 0 with res->duplicate set and the original offsets; a sequence
 * gap SL_E_SEQUENCE; an older epoch SL_E_PRODUCER_EPOCH.  The batches are
 * stamped in place (baseOffset, epoch, LogAppendTime), so `batches` must be
 * writable; it is not kept.  The bytes are written to the page cache, not
 * yet durable: see ss_log_durable_end() and ss_log_job_*.
 */
int ss_log_append(ss_log *l, uint8_t *batches, size_t n, int64_t now_ms,
                  ss_append_res *res);

/* Offsets: [start, end) exist; [start, durable_end) are on disk. */
int64_t ss_log_start(const ss_log *l);
int64_t ss_log_end(const ss_log *l);
int64_t ss_log_durable_end(const ss_log *l);
int ss_log_segment_count(const ss_log *l);
int64_t ss_log_bytes(const ss_log *l);
const char *ss_log_rel(const ss_log *l);

/* ---- durability jobs (group commit, checkpoints) ----------------------- */

typedef struct ss_log_job {
    ss_log *log; /* held */
    int fd;      /* dup of the active segment's fd, -1 if nothing to sync */
    int64_t target_end;
    int checkpoint; /* also write the active segment's index files */
    int dir_fd;
    char idx_name[32], tidx_name[32];
    sl_buf idx, tidx; /* encoded index files to write */
    sl_buf psnap;     /* encoded producer snapshot, when has_psnap */
    int has_psnap;
    int rc;
} ss_log_job;

/*
 * Prepare a job that makes everything appended so far durable; with
 * checkpoint set it also rewrites the active segment's index files to cover
 * it.  Returns 1 when a job was prepared, 0 when there is nothing to do,
 * or a negative code.
 */
int ss_log_job_begin(ss_log *l, int checkpoint, ss_log_job *j);
/* Blocking; any thread; touches no log state.  Returns j->rc. */
int ss_log_job_run(ss_log_job *j);
/* Owner thread: publish the result (advance durable_end, or fail the log),
 * release everything the job held. */
void ss_log_job_end(ss_log_job *j);

/* Make everything durable and checkpoint now (blocking, owner thread). */
int ss_log_sync_now(ss_log *l, int checkpoint);

/* ---- reads ------------------------------------------------------------- */

typedef struct ss_read_res {
    const uint8_t *data; /* segstore's read-only mapping; valid until the
                            next call that modifies the log */
    char path[96];       /* "<rel>/<base>.log" */
    int64_t segment_base;
    uint64_t position;
    uint32_t length; /* 0: nothing at offset below limit yet */
} ss_read_res;

/*
 * Find whole batches starting with the one that holds `offset`, from one
 * segment, never past `limit` (an offset: the visible end), at most
 * max_bytes unless the first batch alone is larger (it is then returned
 * whole).  SL_E_RANGE when offset < start or offset > end.
 */
int ss_log_read(ss_log *l, int64_t offset, int32_t max_bytes, int64_t limit,
                ss_read_res *r);

/*
 * KIP-79: the first offset whose record timestamp is >= ts, below limit,
 * and that record's timestamp.  *offset = -1 when there is none.
 */
int ss_log_find_time(ss_log *l, int64_t ts, int64_t limit, int64_t *offset,
                     int64_t *found_ts);

/* ---- tiered storage (segstore/tier) ------------------------------------- */

/*
 * The log's offsets below its local segments live in the tier: [start,
 * local start) when remote_start >= 0.  ss_log_start() is then the tier's
 * start; ss_log_read() answers only from local segments (SL_E_RANGE below
 * the local start) and retention leaves the local front alone while the
 * tier holds older segments (the tier's retention removes those first).
 */
void ss_log_set_remote(ss_log *l, int64_t remote_start, int64_t remote_bytes);
int64_t ss_log_local_start(const ss_log *l);
/* The absolute partition directory. */
const char *ss_log_dir(const ss_log *l);
/* The oldest local segment when it is sealed: 1 with its range, size and
 * newest timestamp; 0 when only the active segment is left. */
int ss_log_sealed_front(ss_log *l, int64_t *base, int64_t *next, uint64_t *size,
                        int64_t *max_ts);
/* Delete the oldest local segment if it is sealed and starts at base (it
 * is in the tier now).  1 when deleted, 0 when not, or a negative code. */
int ss_log_drop_front(ss_log *l, int64_t base);

/* ---- retention --------------------------------------------------------- */

/*
 * Roll the active segment when it is older than segment.ms, and delete
 * whole sealed segments past retention.ms / retention.bytes from the front.
 * Returns the number of segments deleted, or a negative code.
 */
int ss_log_retain(ss_log *l, int64_t now_ms);

/* Seal the active segment (when it holds anything) and start a new one at
 * the end.  0 or a negative code. */
int ss_log_roll(ss_log *l);

/* Delete the sealed segments that end at or before `offset` (never the
 * active one).  Returns how many were deleted, or a negative code. */
int ss_log_delete_before(ss_log *l, int64_t offset);

#endif /* SS_LOG_H */
