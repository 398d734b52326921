/*
 * ss_log_impl.h — internals shared by ss_log.c, ss_seg.c and ss_index.c.
 * Not to be included outside segstore/log (and its tests and fuzz harness).
 */
#ifndef SS_LOG_IMPL_H
#define SS_LOG_IMPL_H

#include "ss_log.h"

/* ---- indexes (ss_index.c) ----------------------------------------------- */

#define SS_IDX_HDR_LEN  64
#define SS_IDX_VERSION  1
#define SS_IDX_SEALED   0x0001
#define SS_OIDX_ENT_LEN 8
#define SS_TIDX_ENT_LEN 12
#define SS_OIDX_MAGIC   "SLIX"
#define SS_TIDX_MAGIC   "SLTX"

enum { SS_IDX_OFFSET = 0, SS_IDX_TIME = 1 };

typedef struct ss_oidx_ent {
    uint32_t rel; /* batch baseOffset - segment base */
    uint32_t pos; /* byte position of the batch */
} ss_oidx_ent;

typedef struct ss_tidx_ent {
    int64_t ts;   /* greatest maxTimestamp up to and including the batch */
    uint32_t rel; /* batch baseOffset - segment base */
} ss_tidx_ent;

/* The in-memory index of one segment. */
typedef struct ss_index {
    ss_oidx_ent *o;
    size_t on, ocap;
    ss_tidx_ent *t;
    size_t tn, tcap;
} ss_index;

/* The decoded 64-byte header of an index file. */
typedef struct ss_idx_hdr {
    int kind; /* SS_IDX_OFFSET / SS_IDX_TIME */
    uint16_t version;
    uint16_t flags;
    int64_t base;
    uint64_t covered;
    int64_t next;
    int64_t max_ts;
    uint32_t count;
    uint32_t entsize;
    uint64_t ent_digest;
} ss_idx_hdr;

void ss__index_init(ss_index *ix);
void ss__index_fini(ss_index *ix);
void ss__index_reset(ss_index *ix);
int ss__index_add_offset(ss_index *ix, uint32_t rel, uint32_t pos);
int ss__index_add_time(ss_index *ix, int64_t ts, uint32_t rel);
/* Position of the last entry with rel <= want (0 when none). */
uint32_t ss__index_floor_pos(const ss_index *ix, uint32_t want);
/* Relative offset of the last time entry with ts < want (0 when none). */
uint32_t ss__index_floor_time(const ss_index *ix, int64_t want);
/* Drop entries whose position is >= pos (truncation). */
void ss__index_truncate(ss_index *ix, uint64_t pos);

/* Pure: decode and check an index file's header (magic, version, entry
 * size, header digest, and that file_len matches the entry count).  Reads
 * only the first SS_IDX_HDR_LEN bytes of hdr; does not check entries. */
int ss__idx_hdr_decode(sl_slice hdr, uint64_t file_len, int kind,
                       ss_idx_hdr *h);
/* Pure: check the entries digest and ordering and load them into ix. */
int ss__idx_load(sl_slice file, const ss_idx_hdr *h, ss_index *ix);
/* Encode a whole index file of the given kind into out (reset first). */
int ss__idx_encode(sl_buf *out, int kind, uint16_t flags, int64_t base,
                   uint64_t covered, int64_t next, int64_t max_ts,
                   const ss_index *ix);

/* ---- segments (ss_seg.c) ------------------------------------------------- */

typedef struct ss_seg {
    int64_t base;    /* offset of the first record */
    int64_t next;    /* offset after the last batch */
    uint64_t size;   /* bytes of valid batches */
    uint64_t cap;    /* bytes mapped (active: segment.bytes or more) */
    uint64_t alloc;  /* file length (active: grows in SS_ALLOC_STEP) */
    int64_t max_ts;  /* greatest batch maxTimestamp, -1 when empty */
    int64_t roll_ts; /* anchor for segment.ms: first batch's time */
    int fd;          /* open while active; -1 once sealed */
    const uint8_t *map;
    size_t map_len;
    int sealed;
    int idx_loaded; /* ix holds this segment's entries */
    ss_index ix;
    uint64_t last_idx_pos; /* position of the last offset entry */
    int64_t last_tidx_ts;  /* ts of the last time entry, -1 */
} ss_seg;

/* The active segment's file grows (fallocate) in steps of this size, so a
 * new partition does not reserve a whole segment.bytes of disk at once. */
#define SS_ALLOC_STEP (16u << 20)

/* Outcome of scanning a range of a segment. */
typedef struct ss_scan {
    uint64_t end;     /* position after the last valid batch */
    int64_t next;     /* offset after the last valid batch */
    int64_t max_ts;   /* greatest maxTimestamp seen (or the input value) */
    int64_t first_ts; /* maxTimestamp of the first batch scanned, -1 */
    int stop;         /* why the scan stopped: 0 = clean end (zeros or end
                         of data), or SL_E_* of the first bad batch */
} ss_scan;

/*
 * Pure: walk batches of data from position `from` (expected first offset
 * `next`), applying docs/format.md's validity rules, and add index entries
 * to ix (when non-NULL) for batches at or past `from`.  `interval` is
 * index.interval.bytes; *last_idx_pos / *last_tidx_ts carry the index state.
 * Never reads outside data.
 */
void ss__seg_scan(sl_slice data, int64_t base, uint64_t from, int64_t next,
                  int64_t max_ts, ss_index *ix, int64_t interval,
                  uint64_t *last_idx_pos, int64_t *last_tidx_ts, ss_scan *out);

/* Index bookkeeping for one batch appended at pos (shared by scan and
 * append so both build identical indexes). */
int ss__seg_index_batch(ss_index *ix, int64_t base, int64_t batch_base,
                        uint64_t pos, int64_t seg_max_ts, int64_t interval,
                        uint64_t *last_idx_pos, int64_t *last_tidx_ts);

/* ---- idempotent producers (ss_producers.c) ------------------------------ */

/* The last SS_PRODUCER_WINDOW batches of one idempotent producer. */
#define SS_PRODUCER_WINDOW 5
#define SS_PRODUCERS_MAX   1024
typedef struct ss_pstate {
    int64_t pid;
    int16_t epoch;
    int n; /* batches in recent[] (newest last) */
    struct {
        int32_t first_seq, last_seq;
        int64_t base_offset, last_offset;
    } recent[SS_PRODUCER_WINDOW];
    uint64_t used; /* for eviction of the least recently used */
} ss_pstate;

/* The producer-state snapshot file beside a partition's segments. */
#define SS_PSNAP_NAME    "producer.snapshot"
#define SS_PSNAP_HDR_LEN 40
#define SS_PSNAP_ENT_LEN 132

/* Encode a snapshot of ps[0..n) (entries with no batches are skipped)
 * covering offsets below next into out (reset first). */
int ss__psnap_encode(sl_buf *out, int64_t next, const ss_pstate *ps, size_t n);
/* Pure: check and decode a whole snapshot file.  On success *out is a
 * malloc'd array of *n producers (NULL when none; the caller frees it),
 * with `used` set in least-recently-used order (1..n). */
int ss__psnap_decode(sl_slice file, int64_t *next, ss_pstate **out, size_t *n);

/* Name helpers: "<20 digits>.log" etc. into buf (>= 32 bytes). */
void ss__seg_name(char *buf, size_t len, int64_t base, const char *ext);

#endif /* SS_LOG_IMPL_H */
