/*
 * dump_verify.h — pure checks of Sluice on-disk data (docs/format.md, format
 * version 1) for sluice-dump: a batch walker over the bytes of one segment,
 * a parser and cross-checker for offset and time index files, a walker over
 * tier manifests, and checks of topic.meta and segstore.id.
 *
 * Everything here works on caller-supplied byte slices: no I/O, no
 * allocation, no globals, no logging, so it can be fuzzed directly.  Problems
 * go to a caller-supplied callback with a severity, the byte position in the
 * file being checked (-1 when the problem has no position) and a sentence;
 * the callback must not re-enter these functions on the same object.
 *
 * Nothing here trusts a length or count read from the file: every one is
 * checked against the slice before it is used.  Offset arithmetic on values
 * from the file is done modulo 2^64 so that arbitrary bytes cannot cause
 * signed overflow.
 */
#ifndef DUMP_VERIFY_H
#define DUMP_VERIFY_H

#include "sl_batch.h"

/* ---- problem reports --------------------------------------------------- */

enum {
    DUMP_SEV_WARNING = 1, /* suspicious, but segstore copes (e.g. rebuilds) */
    DUMP_SEV_CORRUPT = 2, /* the data breaks a rule of docs/format.md */
};

typedef struct dump_report {
    /* pos is a byte position in the file being checked, or -1. */
    void (*fn)(void *arg, int severity, int64_t pos, const char *msg);
    void *arg;
} dump_report;

/* ---- file names -------------------------------------------------------- */

enum {
    DUMP_NAME_OTHER = 0,
    DUMP_NAME_LOG,       /* <20 digits>.log */
    DUMP_NAME_INDEX,     /* <20 digits>.index */
    DUMP_NAME_TIMEINDEX, /* <20 digits>.timeindex */
};

/* Classify a file name (no directory part).  For the three segment kinds
 * *base receives the base offset; a name whose 20 digits exceed INT64_MAX
 * is DUMP_NAME_OTHER. */
int dump_name_parse(const char *name, int64_t *base);

/* ---- segment walker ---------------------------------------------------- */

/* Flags for dump_seg_init(). */
enum {
    DUMP_CHECK_RECORDS = 1, /* parse the records of uncompressed batches */
};

/* Bits of dump_batch.problems: which validity rules the batch breaks. */
enum {
    DUMP_BATCH_CRC = 1,     /* rule 3 */
    DUMP_BATCH_COUNT = 2,   /* rule 4 */
    DUMP_BATCH_RECORDS = 4, /* records do not parse (DUMP_CHECK_RECORDS) */
    DUMP_BATCH_OFFSET = 8,  /* rule 5 */
};

/* How the walk of a segment ended. */
enum {
    DUMP_END_NONE = 0, /* still walking */
    DUMP_END_EOF,      /* the last batch ends exactly at the end of file */
    DUMP_END_ZERO,     /* all bytes after the last batch are zero */
    DUMP_END_GARBAGE,  /* non-zero bytes that are not a batch (corrupt) */
};

/* One batch the walker framed (rules 1 and 2 hold, so it can be shown). */
typedef struct dump_batch {
    size_t pos;     /* byte position in the segment */
    sl_slice bytes; /* the whole batch, borrowed from the segment slice */
    sl_batch_hdr h; /* decoded header */
    int64_t last;   /* baseOffset + lastOffsetDelta (mod 2^64) */
    int64_t next;   /* last + 1 (mod 2^64) */
    uint32_t crc;   /* CRC-32C computed over the batch */
    int problems;   /* DUMP_BATCH_* bits */
    int64_t expect; /* the base offset rule 5 asked for */
} dump_batch;

/*
 * State of a walk over the bytes of one segment.  The walker frames batches
 * while rules 1 and 2 of docs/format.md hold and reports (but walks past)
 * batches that break rules 3-5, so one flipped bit gives one report; rule 5
 * resynchronises on the offending batch.  Fields below the line are results,
 * valid once dump_seg_next() has returned 0.
 */
typedef struct dump_seg {
    sl_slice data;
    int has_base;
    int64_t base; /* the segment's base offset (from its file name) */
    int flags;
    size_t pos;
    uint64_t expect; /* the next base offset rule 5 asks for */
    /* ---- results ---- */
    int end_kind;       /* DUMP_END_* */
    size_t end;         /* position where framing stopped */
    size_t data_end;    /* docs/format.md's end of data: first bad batch */
    int64_t next;       /* offset after the last framed batch */
    uint64_t batches;   /* framed batches */
    uint64_t records;   /* sum of their recordCount fields */
    uint64_t bad;       /* framed batches with problems */
    size_t garbage_pos; /* first non-zero byte after end (DUMP_END_GARBAGE) */
} dump_seg;

/* Start a walk over data.  When has_base is 0 the first batch's base offset
 * is taken as the segment base. */
void dump_seg_init(dump_seg *s, sl_slice data, int has_base, int64_t base,
                   int flags);

/*
 * Frame the next batch: 1 with *b filled (its views borrow from the
 * segment's slice), or 0 when the walk has ended (then the result fields of
 * *s are set; further calls return 0).  Problems are reported through rep.
 */
int dump_seg_next(dump_seg *s, dump_batch *b, const dump_report *rep);

/* A record's absolute offset and timestamp (mod 2^64; for LogAppendTime
 * batches the timestamp is the batch's maxTimestamp, as Kafka defines). */
int64_t dump_record_offset(const sl_batch_hdr *h, const sl_record *r);
int64_t dump_record_timestamp(const sl_batch_hdr *h, const sl_record *r);

/* ---- index files ------------------------------------------------------- */

#define DUMP_INDEX_HEADER_LEN 64

enum { DUMP_INDEX_OFFSET = 0, DUMP_INDEX_TIME = 1 };

typedef struct dump_index_entry {
    int64_t timestamp; /* time index only */
    uint32_t rel;      /* offset relative to the segment base */
    uint32_t pos;      /* offset index only: byte position of the batch */
} dump_index_entry;

/*
 * A parsed index file.  The header fields are decoded whenever the file holds
 * 64 bytes; `ok_entries` says the entries can be read with dump_index_get()
 * (count and entry size fit the file) and `checkable` that the index is
 * sound enough to be cross-checked against its segment (magic, version,
 * both digests, entry order).
 */
typedef struct dump_index {
    int kind;
    sl_slice file;
    int has_header;
    char magic[4];
    uint16_t version;
    uint16_t flags;
    int64_t base;
    uint64_t covered;
    int64_t next;
    int64_t max_ts;
    uint32_t count;
    uint32_t entry_size;
    uint64_t entries_xxh3, entries_xxh3_calc;
    uint64_t header_xxh3, header_xxh3_calc;
    int ok_entries;
    int checkable;
    /* cross-check state (dump_index_feed) */
    int64_t seg_base;
    uint32_t cur;        /* next entry to match */
    int have_prefix_max; /* a batch before the current one was seen */
    int64_t prefix_max;  /* max of their maxTimestamp fields */
    uint64_t cov_end;    /* end of the last batch inside [0, covered) */
    int64_t cov_next;    /* next offset after that batch */
    int cov_has_ts;      /* max timestamp over batches inside [0, C) */
    int64_t cov_max_ts;
    uint64_t reported; /* entry problems reported during the feed */
} dump_index;

#define DUMP_INDEX_SEALED 1 /* flags bit 0 */

/*
 * Parse and check an index file on its own: size, magic for `kind`,
 * version, flags, entry size, both digests, base offset against the file
 * name's (when has_base), trailing bytes, entry order and the first entry.
 * Returns the number of corrupt problems reported.
 */
int dump_index_parse(dump_index *ix, sl_slice file, int kind, int has_base,
                     int64_t base, const dump_report *rep);

/* Entry i (< count), valid when ix->ok_entries. */
dump_index_entry dump_index_get(const dump_index *ix, uint32_t i);

/* Cross-check against the segment: call dump_index_feed() for each batch
 * the segment walker frames, in order, then dump_index_finish() with the
 * ended walk.  Does nothing unless ix->checkable. */
void dump_index_feed(dump_index *ix, const dump_batch *b,
                     const dump_report *rep);
void dump_index_finish(dump_index *ix, const dump_seg *s,
                       const dump_report *rep);

/* ---- tier manifests ---------------------------------------------------- */

/* One entry of a tier manifest (docs/format.md, "Tier"); the views borrow
 * from the manifest's slice. */
typedef struct dump_manifest_ent {
    size_t pos; /* byte position of the entry in the file */
    int64_t base, next, min_ts, max_ts;
    uint64_t size;
    const uint8_t *digest; /* 16 bytes: XXH3-128 of the .log object */
    sl_slice key[3];       /* keys of the .log, .index, .timeindex objects */
} dump_manifest_ent;

/* State of a walk over a tier manifest.  `count` and `generation` are valid
 * once dump_manifest_init() has returned 0; `corrupt` counts the corrupt
 * problems reported so far. */
typedef struct dump_manifest {
    sl_slice file;
    uint64_t generation;
    uint32_t count;
    uint32_t i; /* next entry */
    size_t off; /* its position */
    size_t end; /* where the entries end: the trailing digest */
    int done;
    int have_prev;
    int64_t prev_next;
    uint64_t corrupt;
} dump_manifest;

/* Check a manifest's size, magic, trailing digest and version: 0 when its
 * entries can be walked, else the problem is reported and -1 returned. */
int dump_manifest_init(dump_manifest *m, sl_slice file, const dump_report *rep);

/* The next entry: 1 with *e filled, 0 when the walk has ended (further calls
 * return 0).  A short entry or a bad key ends the walk; an empty or
 * non-contiguous range is reported and the walk goes on; bytes after the
 * last entry are reported at the end. */
int dump_manifest_next(dump_manifest *m, dump_manifest_ent *e,
                       const dump_report *rep);

/* ---- topic.meta and segstore.id ---------------------------------------- */

/* Check topic.meta: the final xxh3= line against the bytes before it, the
 * version, and `name=` against dir_name when not NULL.  On success
 * *partitions receives the partitions= value (-1 when absent). */
int dump_meta_check(sl_slice file, const char *dir_name, int64_t *partitions,
                    const dump_report *rep);

/* Check segstore.id: 32 lowercase hex digits and a newline. */
int dump_id_check(sl_slice file, const dump_report *rep);

#endif /* DUMP_VERIFY_H */
