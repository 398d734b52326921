/*
 * dump_verify.c — the checks behind `sluice-dump`, written against
 * docs/format.md (format version 1) alone.  Pure functions over byte slices;
 * see dump_verify.h for the contract.
 *
 * Segment (.log): a sequence of RecordBatch v2 batches.  For the batch at
 * position p the validity rules are
 *   1. batchLength >= 49 and p + 12 + batchLength <= end of file;
 *   2. magic == 2;
 *   3. CRC-32C of [p+21, p+12+batchLength) equals the stored crc;
 *   4. recordCount == lastOffsetDelta + 1 >= 1;
 *   5. baseOffset == previous baseOffset + lastOffsetDelta + 1 (first batch:
 *      the segment's base offset);
 * and, beyond the format's rules, the records of an uncompressed batch must
 * parse (sl_batch_check).  After the last batch only zero bytes may follow
 * (preallocated space of the active segment).
 *
 * Index (.index/.timeindex): a 64-byte header
 *   0 magic "SLIX"/"SLTX", 4 u16 version = 1, 6 u16 flags (bit 0 sealed),
 *   8 i64 base offset, 16 u64 covered bytes C, 24 i64 next offset,
 *   32 i64 max timestamp (-1 when none), 40 u32 entry count N,
 *   44 u32 entry size (8 or 12), 48 u64 XXH3 of the N * size entry bytes,
 *   56 u64 XXH3 of header bytes [0, 56)
 * then N entries: offset index (u32 relative offset, u32 position), time
 * index (i64 timestamp, u32 relative offset), both strictly increasing.  A
 * time entry sits at the start of a batch and holds the running maximum of
 * maxTimestamp over that batch and every earlier one in the segment.
 */
#include "dump_verify.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

/* The smallest legal batchLength: the batch header after the length. */
#define MIN_BATCH_LENGTH (SL_BATCH_HEADER_LEN - SL_BATCH_LOG_OVERHEAD)
#define OFF_MAGIC        16
#define OFF_ATTRIBUTES   21

/* Index header field offsets, used as the positions of problems. */
#define IX_MAGIC        0
#define IX_VERSION      4
#define IX_FLAGS        6
#define IX_BASE         8
#define IX_COVERED      16
#define IX_NEXT         24
#define IX_MAX_TS       32
#define IX_COUNT        40
#define IX_ENTRY_SIZE   44
#define IX_ENTRIES_XXH3 48
#define IX_HEADER_XXH3  56

static void report(const dump_report *rep, int severity, int64_t pos,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
report(const dump_report *rep, int severity, int64_t pos, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (rep == NULL || rep->fn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rep->fn(rep->arg, severity, pos, msg);
}

int
dump_name_parse(const char *name, int64_t *base)
{
    static const struct {
        const char *ext;
        int kind;
    } exts[] = {
        {".log", DUMP_NAME_LOG},
        {".index", DUMP_NAME_INDEX},
        {".timeindex", DUMP_NAME_TIMEINDEX},
    };
    uint64_t v = 0;
    int kind = DUMP_NAME_OTHER;

    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return DUMP_NAME_OTHER;
    }
    for (size_t i = 0; i < SL_ARRAY_LEN(exts); i++) {
        if (strcmp(name + 20, exts[i].ext) == 0)
            kind = exts[i].kind;
    }
    if (kind == DUMP_NAME_OTHER)
        return DUMP_NAME_OTHER;
    /* Twenty digits can exceed an int64 offset; such a name cannot be one
     * that segstore wrote. */
    for (int i = 0; i < 20; i++) {
        unsigned d = (unsigned)(name[i] - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10)
            return DUMP_NAME_OTHER;
        v = v * 10 + d;
    }
    *base = (int64_t)v;
    return kind;
}

/* ---- segment walker ---------------------------------------------------- */

void
dump_seg_init(dump_seg *s, sl_slice data, int has_base, int64_t base, int flags)
{
    memset(s, 0, sizeof(*s));
    s->data = data;
    s->has_base = has_base;
    s->base = has_base ? base : 0;
    s->flags = flags;
    s->expect = (uint64_t)s->base;
    s->next = s->base;
    s->data_end = SIZE_MAX;
}

/* Position of the first non-zero byte in [from, s->data.n), or data.n. */
static size_t
first_nonzero(const dump_seg *s, size_t from)
{
    static const uint8_t zero[4096];
    size_t i = from;

    /* Preallocated tails can be a gigabyte; compare a block at a time. */
    while (s->data.n - i >= sizeof(zero)) {
        if (memcmp(s->data.p + i, zero, sizeof(zero)) != 0)
            break;
        i += sizeof(zero);
    }
    while (i < s->data.n && s->data.p[i] == 0)
        i++;
    return i;
}

/*
 * End the walk at s->pos because the bytes there are not a batch (why says
 * how).  That is the normal end when everything from there on is zero.
 */
static int
seg_stop(dump_seg *s, const dump_report *rep, const char *why)
{
    size_t nz = first_nonzero(s, s->pos);

    s->end = s->pos;
    if (s->data_end == SIZE_MAX)
        s->data_end = s->pos;
    if (s->pos == s->data.n) {
        s->end_kind = DUMP_END_EOF;
        return 0;
    }
    if (nz == s->data.n) {
        s->end_kind = DUMP_END_ZERO;
        return 0;
    }
    s->end_kind = DUMP_END_GARBAGE;
    s->garbage_pos = nz;
    /* When the would-be batch starts with a zero offset and length this is
     * preallocated space with something written into it: point at the
     * first stray byte rather than at the zeros. */
    if (nz - s->pos >= SL_BATCH_LOG_OVERHEAD)
        report(rep, DUMP_SEV_CORRUPT, (int64_t)nz,
               "non-zero byte 0x%02x in the zero-filled space after the "
               "last batch (which ends at position %zu); %zu bytes follow",
               s->data.p[nz], s->pos, s->data.n - nz);
    else
        report(rep, DUMP_SEV_CORRUPT, (int64_t)s->pos, "%s", why);
    return 0;
}

static void
check_records(dump_batch *b, const dump_report *rep)
{
    sl_batch_hdr h;
    sl_rd r;
    int32_t i;

    if (sl_batch_check(b->bytes, SL_BATCH_CHECK_CRC | SL_BATCH_CHECK_RECORDS,
                       &h) == 0)
        return;
    b->problems |= DUMP_BATCH_RECORDS;
    /* sl_batch_check only says "malformed"; walk again to say where. */
    sl_rd_init(&r, sl_batch_records(b->bytes));
    for (i = 0; i < b->h.record_count; i++) {
        sl_record rec;
        size_t at = SL_BATCH_HEADER_LEN + r.off;
        if (sl_record_next(&r, &rec) != 0) {
            report(rep, DUMP_SEV_CORRUPT, (int64_t)b->pos,
                   "record %" PRId32 " of %" PRId32 " (at byte %zu of the "
                   "batch) does not parse",
                   i, b->h.record_count, at);
            return;
        }
        if (rec.offset_delta != i) {
            report(rep, DUMP_SEV_CORRUPT, (int64_t)b->pos,
                   "record %" PRId32 " has offset delta %" PRId32, i,
                   rec.offset_delta);
            return;
        }
    }
    report(rep, DUMP_SEV_CORRUPT, (int64_t)b->pos,
           "%zu bytes follow the batch's %" PRId32 " records", sl_rd_left(&r),
           b->h.record_count);
}

int
dump_seg_next(dump_seg *s, dump_batch *b, const dump_report *rep)
{
    char why[160];
    const uint8_t *p;
    size_t left, total;
    int32_t len;
    uint64_t base;

    if (s->end_kind != DUMP_END_NONE)
        return 0;
    p = s->data.p + s->pos;
    left = s->data.n - s->pos;
    if (left < SL_BATCH_LOG_OVERHEAD) {
        snprintf(why, sizeof(why),
                 "%zu trailing bytes, too few for a batch (truncated batch)",
                 left);
        return seg_stop(s, rep, why);
    }
    /* Rules 1 and 2 decide whether this is a batch at all; they are checked
     * here, before the header decoder, so that the report says which. */
    len = (int32_t)sl_get_u32be(p + 8);
    if (len < MIN_BATCH_LENGTH) {
        snprintf(why, sizeof(why), "batch length %" PRId32 " is below 49", len);
        return seg_stop(s, rep, why);
    }
    total = (size_t)SL_BATCH_LOG_OVERHEAD + (size_t)len;
    if (total > left) {
        snprintf(why, sizeof(why),
                 "truncated batch: batch length %" PRId32 " needs %zu bytes "
                 "but only %zu remain in the file",
                 len, total, left);
        return seg_stop(s, rep, why);
    }
    if (p[OFF_MAGIC] != SL_BATCH_MAGIC) {
        snprintf(why, sizeof(why), "batch magic %d is not 2",
                 (int)(int8_t)p[OFF_MAGIC]);
        return seg_stop(s, rep, why);
    }
    if (sl_batch_hdr_decode(sl_slice_make(p, total), total, &b->h) != 0) {
        /* Unreachable after the checks above; stay safe on odd bytes. */
        return seg_stop(s, rep, "batch header does not decode");
    }

    b->pos = s->pos;
    b->bytes = sl_slice_make(p, total);
    b->problems = 0;
    base = (uint64_t)b->h.base_offset;
    b->last = (int64_t)(base + (uint64_t)(int64_t)b->h.last_offset_delta);
    b->next = (int64_t)((uint64_t)b->last + 1);
    b->crc = sl_crc32c(p + OFF_ATTRIBUTES, total - OFF_ATTRIBUTES);

    if (b->h.last_offset_delta < 0 ||
        (int64_t)b->h.record_count != (int64_t)b->h.last_offset_delta + 1) {
        b->problems |= DUMP_BATCH_COUNT;
        report(rep, DUMP_SEV_CORRUPT, (int64_t)b->pos,
               "record count %" PRId32 " does not match last offset delta "
               "%" PRId32 " + 1",
               b->h.record_count, b->h.last_offset_delta);
    }
    if (b->crc != b->h.crc) {
        b->problems |= DUMP_BATCH_CRC;
        report(rep, DUMP_SEV_CORRUPT, (int64_t)b->pos,
               "batch crc mismatch (stored 0x%08" PRIx32 ", computed "
               "0x%08" PRIx32 ")",
               b->h.crc, b->crc);
    }
    /* Segstore stamps the epoch 0; anything else did not come from it,
     * though no rule of the format depends on the field. */
    if (b->h.leader_epoch != 0)
        report(rep, DUMP_SEV_WARNING, (int64_t)b->pos,
               "partitionLeaderEpoch is %" PRId32 ", segstore writes 0",
               b->h.leader_epoch);
    /* Records are only worth parsing in a batch whose CRC vouches for them;
     * compressed records cannot be parsed without decompressing. */
    if ((s->flags & DUMP_CHECK_RECORDS) && b->problems == 0 &&
        sl_batch_compression(&b->h) == SL_COMPRESSION_NONE)
        check_records(b, rep);

    if (s->batches == 0 && !s->has_base) {
        s->expect = base;
        s->base = b->h.base_offset;
    }
    b->expect = (int64_t)s->expect;
    if (base != s->expect) {
        b->problems |= DUMP_BATCH_OFFSET;
        if (s->batches == 0)
            report(rep, DUMP_SEV_CORRUPT, (int64_t)b->pos,
                   "first batch has base offset %" PRId64 " but the "
                   "segment's base offset is %" PRId64,
                   b->h.base_offset, (int64_t)s->expect);
        else
            report(rep, DUMP_SEV_CORRUPT, (int64_t)b->pos,
                   "offset discontinuity: batch has base offset %" PRId64
                   " but the previous batch ends before offset %" PRId64,
                   b->h.base_offset, (int64_t)s->expect);
    }
    /* Resynchronise on this batch, so that one bad baseOffset does not make
     * every later batch look wrong too. */
    s->expect = (uint64_t)b->next;
    s->next = b->next;
    if (b->problems != 0) {
        s->bad++;
        if (s->data_end == SIZE_MAX)
            s->data_end = b->pos;
    }
    s->batches++;
    if (b->h.record_count > 0)
        s->records += (uint64_t)b->h.record_count;
    s->pos += total;
    return 1;
}

int64_t
dump_record_offset(const sl_batch_hdr *h, const sl_record *r)
{
    return (int64_t)((uint64_t)h->base_offset +
                     (uint64_t)(int64_t)r->offset_delta);
}

int64_t
dump_record_timestamp(const sl_batch_hdr *h, const sl_record *r)
{
    if (h->attributes & SL_BATCH_ATTR_LOG_APPEND_TIME)
        return h->max_timestamp;
    return (int64_t)((uint64_t)h->base_timestamp +
                     (uint64_t)r->timestamp_delta);
}

/* ---- index files ------------------------------------------------------- */

static int64_t
entry_pos(const dump_index *ix, uint32_t i)
{
    return DUMP_INDEX_HEADER_LEN + (int64_t)i * ix->entry_size;
}

dump_index_entry
dump_index_get(const dump_index *ix, uint32_t i)
{
    dump_index_entry e = {0, 0, 0};
    const uint8_t *p;

    if (!ix->ok_entries || i >= ix->count)
        return e;
    p = ix->file.p + entry_pos(ix, i);
    if (ix->kind == DUMP_INDEX_OFFSET) {
        e.rel = sl_get_u32be(p);
        e.pos = sl_get_u32be(p + 4);
    } else {
        e.timestamp = (int64_t)sl_get_u64be(p);
        e.rel = sl_get_u32be(p + 8);
    }
    return e;
}

/* Report entries out of order; returns how many problems it found. */
static int
check_entry_order(const dump_index *ix, const dump_report *rep)
{
    int bad = 0;
    dump_index_entry prev = {0, 0, 0};

    for (uint32_t i = 0; i < ix->count; i++) {
        dump_index_entry e = dump_index_get(ix, i);
        if (ix->kind == DUMP_INDEX_OFFSET) {
            if (i > 0 && (e.rel <= prev.rel || e.pos <= prev.pos)) {
                bad++;
                report(rep, DUMP_SEV_CORRUPT, entry_pos(ix, i),
                       "entry %" PRIu32 " (relative offset %" PRIu32
                       ", position %" PRIu32 ") does not increase over "
                       "entry %" PRIu32 " (%" PRIu32 ", %" PRIu32 ")",
                       i, e.rel, e.pos, i - 1, prev.rel, prev.pos);
            }
            if ((uint64_t)e.pos >= ix->covered) {
                bad++;
                report(rep, DUMP_SEV_CORRUPT, entry_pos(ix, i),
                       "entry %" PRIu32 ": position %" PRIu32
                       " is not inside the covered bytes [0, %" PRIu64 ")",
                       i, e.pos, ix->covered);
            }
        } else if (i > 0 &&
                   (e.timestamp <= prev.timestamp || e.rel <= prev.rel)) {
            bad++;
            report(rep, DUMP_SEV_CORRUPT, entry_pos(ix, i),
                   "entry %" PRIu32 " (timestamp %" PRId64
                   ", relative offset %" PRIu32 ") does not increase over "
                   "entry %" PRIu32 " (%" PRId64 ", %" PRIu32 ")",
                   i, e.timestamp, e.rel, i - 1, prev.timestamp, prev.rel);
        }
        prev = e;
    }
    /* The first batch of a segment always gets an offset index entry. */
    if (ix->kind == DUMP_INDEX_OFFSET && ix->covered > 0) {
        dump_index_entry e0 = dump_index_get(ix, 0);
        if (ix->count == 0) {
            bad++;
            report(rep, DUMP_SEV_CORRUPT, IX_COUNT,
                   "no entries, but the index covers %" PRIu64
                   " bytes (the first batch must have an entry)",
                   ix->covered);
        } else if (e0.rel != 0 || e0.pos != 0) {
            bad++;
            report(rep, DUMP_SEV_CORRUPT, DUMP_INDEX_HEADER_LEN,
                   "entry 0 is (relative offset %" PRIu32 ", position %" PRIu32
                   "), not the first batch (0, 0)",
                   e0.rel, e0.pos);
        }
    }
    return bad;
}

int
dump_index_parse(dump_index *ix, sl_slice file, int kind, int has_base,
                 int64_t base, const dump_report *rep)
{
    const char *want_magic = kind == DUMP_INDEX_OFFSET ? "SLIX" : "SLTX";
    uint32_t want_size = kind == DUMP_INDEX_OFFSET ? 8 : 12;
    const uint8_t *p = file.p;
    uint64_t need;
    int bad = 0;

    memset(ix, 0, sizeof(*ix));
    ix->kind = kind;
    ix->file = file;
    if (file.n < DUMP_INDEX_HEADER_LEN) {
        report(rep, DUMP_SEV_CORRUPT, 0,
               "index file is %zu bytes, shorter than its 64-byte header",
               file.n);
        return 1;
    }
    ix->has_header = 1;
    memcpy(ix->magic, p + IX_MAGIC, 4);
    ix->version = sl_get_u16be(p + IX_VERSION);
    ix->flags = sl_get_u16be(p + IX_FLAGS);
    ix->base = (int64_t)sl_get_u64be(p + IX_BASE);
    ix->covered = sl_get_u64be(p + IX_COVERED);
    ix->next = (int64_t)sl_get_u64be(p + IX_NEXT);
    ix->max_ts = (int64_t)sl_get_u64be(p + IX_MAX_TS);
    ix->count = sl_get_u32be(p + IX_COUNT);
    ix->entry_size = sl_get_u32be(p + IX_ENTRY_SIZE);
    ix->entries_xxh3 = sl_get_u64be(p + IX_ENTRIES_XXH3);
    ix->header_xxh3 = sl_get_u64be(p + IX_HEADER_XXH3);
    ix->header_xxh3_calc = sl_xxh3(p, IX_HEADER_XXH3);
    ix->seg_base = has_base ? base : ix->base;

    if (memcmp(ix->magic, want_magic, 4) != 0) {
        report(rep, DUMP_SEV_CORRUPT, IX_MAGIC,
               "index magic 0x%08" PRIx32 " is not \"%s\"", sl_get_u32be(p),
               want_magic);
        return 1;
    }
    if (ix->version != 1) {
        report(rep, DUMP_SEV_CORRUPT, IX_VERSION,
               "index version %u is not 1 (the only version this tool "
               "knows)",
               ix->version);
        return 1;
    }
    /* Both factors are below 2^32, so this cannot overflow 64 bits. */
    need = DUMP_INDEX_HEADER_LEN + (uint64_t)ix->count * ix->entry_size;
    ix->ok_entries = ix->entry_size == want_size && need <= file.n;
    if (ix->ok_entries)
        ix->entries_xxh3_calc = sl_xxh3(p + DUMP_INDEX_HEADER_LEN,
                                        (size_t)need - DUMP_INDEX_HEADER_LEN);
    /* Past a bad header digest every field is suspect: say so once rather
     * than reporting each field's oddities (segstore rebuilds the index). */
    if (ix->header_xxh3 != ix->header_xxh3_calc) {
        report(rep, DUMP_SEV_CORRUPT, IX_HEADER_XXH3,
               "index header digest mismatch (stored 0x%016" PRIx64
               ", computed 0x%016" PRIx64 ")",
               ix->header_xxh3, ix->header_xxh3_calc);
        return 1;
    }
    if (ix->flags & ~DUMP_INDEX_SEALED) {
        bad++;
        report(rep, DUMP_SEV_CORRUPT, IX_FLAGS, "unknown index flags 0x%04x",
               (unsigned)(ix->flags & ~DUMP_INDEX_SEALED));
    }
    if (ix->entry_size != want_size) {
        report(rep, DUMP_SEV_CORRUPT, IX_ENTRY_SIZE,
               "entry size %" PRIu32 " is not %" PRIu32, ix->entry_size,
               want_size);
        return bad + 1;
    }
    if (has_base && ix->base != base) {
        bad++;
        report(rep, DUMP_SEV_CORRUPT, IX_BASE,
               "base offset %" PRId64 " does not match the file name's "
               "%" PRId64,
               ix->base, base);
    }
    if (need > file.n) {
        report(rep, DUMP_SEV_CORRUPT, IX_COUNT,
               "%" PRIu32 " entries of %" PRIu32 " bytes need %" PRIu64
               " bytes but the file has %zu",
               ix->count, ix->entry_size, need, file.n);
        return bad + 1;
    }
    if (need < file.n) {
        bad++;
        report(rep, DUMP_SEV_CORRUPT, (int64_t)need,
               "%zu bytes follow the last of %" PRIu32 " entries",
               file.n - (size_t)need, ix->count);
    }
    if (ix->entries_xxh3 != ix->entries_xxh3_calc) {
        /* As with the header: the entries' content is noise now. */
        report(rep, DUMP_SEV_CORRUPT, IX_ENTRIES_XXH3,
               "index entries digest mismatch (stored 0x%016" PRIx64
               ", computed 0x%016" PRIx64 ")",
               ix->entries_xxh3, ix->entries_xxh3_calc);
        return bad + 1;
    }
    bad += check_entry_order(ix, rep);
    /* Cross-checking an index already known bad against its segment would
     * only repeat the same finding in other words. */
    ix->checkable = bad == 0;
    return bad;
}

void
dump_index_feed(dump_index *ix, const dump_batch *b, const dump_report *rep)
{
    uint64_t end = (uint64_t)b->pos + b->bytes.n;
    uint64_t rel = (uint64_t)b->h.base_offset - (uint64_t)ix->seg_base;
    dump_index_entry e;

    if (!ix->checkable)
        return;
    if (ix->kind == DUMP_INDEX_OFFSET) {
        while (ix->cur < ix->count) {
            e = dump_index_get(ix, ix->cur);
            if ((uint64_t)e.pos >= b->pos)
                break;
            ix->reported++;
            report(rep, DUMP_SEV_CORRUPT, entry_pos(ix, ix->cur),
                   "entry %" PRIu32 ": position %" PRIu32
                   " is not the start of a batch",
                   ix->cur, e.pos);
            ix->cur++;
        }
        if (ix->cur < ix->count &&
            (uint64_t)dump_index_get(ix, ix->cur).pos == b->pos) {
            e = dump_index_get(ix, ix->cur);
            if ((uint64_t)e.rel != rel) {
                ix->reported++;
                report(rep, DUMP_SEV_CORRUPT, entry_pos(ix, ix->cur),
                       "entry %" PRIu32 ": relative offset %" PRIu32
                       " but the batch at position %zu has base offset "
                       "%" PRId64 " (relative %" PRId64 ")",
                       ix->cur, e.rel, b->pos, b->h.base_offset, (int64_t)rel);
            }
            ix->cur++;
        }
    } else if (!(b->problems & DUMP_BATCH_OFFSET)) {
        /* A batch whose base offset is already reported wrong would make
         * every later entry look misplaced; match entries only against
         * batches whose offsets are sound. */
        while (ix->cur < ix->count) {
            e = dump_index_get(ix, ix->cur);
            if ((uint64_t)e.rel >= rel)
                break;
            ix->reported++;
            report(rep, DUMP_SEV_CORRUPT, entry_pos(ix, ix->cur),
                   "entry %" PRIu32 ": relative offset %" PRIu32
                   " is not the first offset of a batch",
                   ix->cur, e.rel);
            ix->cur++;
        }
        if (ix->cur < ix->count &&
            (uint64_t)dump_index_get(ix, ix->cur).rel == rel) {
            e = dump_index_get(ix, ix->cur);
            if (end > ix->covered) {
                ix->reported++;
                report(rep, DUMP_SEV_CORRUPT, entry_pos(ix, ix->cur),
                       "entry %" PRIu32 " refers to the batch at position "
                       "%zu, outside the covered bytes [0, %" PRIu64 ")",
                       ix->cur, b->pos, ix->covered);
            }
            /* docs/format.md: the entry's timestamp is the running
             * maximum of maxTimestamp up to and including its batch. */
            int64_t running = b->h.max_timestamp;
            if (ix->have_prefix_max && ix->prefix_max > running)
                running = ix->prefix_max;
            if (e.timestamp != running) {
                ix->reported++;
                report(rep, DUMP_SEV_CORRUPT, entry_pos(ix, ix->cur),
                       "entry %" PRIu32 ": timestamp %" PRId64
                       " but the greatest max timestamp up to the batch at "
                       "position %zu is %" PRId64,
                       ix->cur, e.timestamp, b->pos, running);
            }
            ix->cur++;
        }
    }
    if (!ix->have_prefix_max || b->h.max_timestamp > ix->prefix_max) {
        ix->prefix_max = b->h.max_timestamp;
        ix->have_prefix_max = 1;
    }
    if (end <= ix->covered) {
        ix->cov_end = end;
        ix->cov_next = b->next;
        if (!ix->cov_has_ts || b->h.max_timestamp > ix->cov_max_ts) {
            ix->cov_max_ts = b->h.max_timestamp;
            ix->cov_has_ts = 1;
        }
    }
}

void
dump_index_finish(dump_index *ix, const dump_seg *s, const dump_report *rep)
{
    if (!ix->checkable)
        return;
    for (; ix->cur < ix->count; ix->cur++) {
        dump_index_entry e = dump_index_get(ix, ix->cur);
        if (ix->kind == DUMP_INDEX_OFFSET)
            report(rep, DUMP_SEV_CORRUPT, entry_pos(ix, ix->cur),
                   "entry %" PRIu32 ": position %" PRIu32
                   " is not the start of a batch",
                   ix->cur, e.pos);
        else
            report(rep, DUMP_SEV_CORRUPT, entry_pos(ix, ix->cur),
                   "entry %" PRIu32 ": relative offset %" PRIu32
                   " is not the first offset of a batch",
                   ix->cur, e.rel);
    }
    if (ix->covered != ix->cov_end) {
        if (ix->covered > s->end)
            report(rep, DUMP_SEV_CORRUPT, IX_COVERED,
                   "covered bytes %" PRIu64 " extend past the last batch, "
                   "which ends at position %zu",
                   ix->covered, s->end);
        else
            report(rep, DUMP_SEV_CORRUPT, IX_COVERED,
                   "covered bytes %" PRIu64 " do not end at a batch "
                   "boundary (the last batch inside ends at %" PRIu64 ")",
                   ix->covered, ix->cov_end);
        return;
    }
    int64_t want_next = ix->cov_end == 0 ? ix->seg_base : ix->cov_next;
    int64_t want_ts = ix->cov_has_ts ? ix->cov_max_ts : -1;
    if (ix->next != want_next)
        report(rep, DUMP_SEV_CORRUPT, IX_NEXT,
               "next offset %" PRId64 " but the batches in [0, %" PRIu64
               ") end before offset %" PRId64,
               ix->next, ix->covered, want_next);
    if (ix->max_ts != want_ts)
        report(rep, DUMP_SEV_CORRUPT, IX_MAX_TS,
               "max timestamp %" PRId64 " but the batches in [0, %" PRIu64
               ") have max timestamp %" PRId64,
               ix->max_ts, ix->covered, want_ts);
    if ((ix->flags & DUMP_INDEX_SEALED) && ix->covered != s->end)
        report(rep, DUMP_SEV_CORRUPT, IX_FLAGS,
               "index is marked sealed but covers %" PRIu64
               " bytes of a segment whose batches end at position %zu",
               ix->covered, s->end);
}

/* ---- topic.meta and segstore.id ---------------------------------------- */

static int
is_lower_hex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return 0;
    }
    return 1;
}

/* Does line [p, p+n) read "key=" followed by the rest? */
static int
line_value(const uint8_t *p, size_t n, const char *key, sl_slice *value)
{
    size_t k = strlen(key);

    if (n <= k || memcmp(p, key, k) != 0 || p[k] != '=')
        return 0;
    *value = sl_slice_make(p + k + 1, n - k - 1);
    return 1;
}

static int
parse_dec(sl_slice v, int64_t *out)
{
    int64_t x = 0;

    if (v.n == 0 || v.n > 18)
        return -1;
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return -1;
        x = x * 10 + (v.p[i] - '0');
    }
    *out = x;
    return 0;
}

int
dump_meta_check(sl_slice file, const char *dir_name, int64_t *partitions,
                const dump_report *rep)
{
    size_t n = file.n, last, i;
    uint64_t stored = 0, calc;
    int have_version = 0, bad = 0;

    *partitions = -1;
    /* The digest line is the last line; accept it with or without a final
     * newline. */
    if (n > 0 && file.p[n - 1] == '\n')
        n--;
    last = n;
    while (last > 0 && file.p[last - 1] != '\n')
        last--;
    if (n - last != 5 + 16 || memcmp(file.p + last, "xxh3=", 5) != 0 ||
        !is_lower_hex(file.p + last + 5, 16)) {
        report(rep, DUMP_SEV_CORRUPT, (int64_t)last,
               "last line is not xxh3= and 16 lowercase hex digits");
        return 1;
    }
    for (i = 0; i < 16; i++) {
        uint8_t c = file.p[last + 5 + i];
        stored = stored << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    calc = sl_xxh3(file.p, last);
    if (stored != calc) {
        report(rep, DUMP_SEV_CORRUPT, (int64_t)last,
               "topic.meta digest mismatch (stored %016" PRIx64
               ", computed %016" PRIx64 ")",
               stored, calc);
        return 1;
    }
    for (i = 0; i < last;) {
        size_t j = i;
        sl_slice v;
        while (j < last && file.p[j] != '\n')
            j++;
        const uint8_t *lp = file.p + i;
        size_t ln = j - i;
        if (line_value(lp, ln, "version", &v)) {
            have_version = 1;
            if (!sl_slice_eq_str(v, "1")) {
                bad++;
                report(rep, DUMP_SEV_CORRUPT, (int64_t)i,
                       "topic.meta version is not 1");
            }
        } else if (line_value(lp, ln, "name", &v)) {
            if (dir_name != NULL && !sl_slice_eq_str(v, dir_name)) {
                bad++;
                report(rep, DUMP_SEV_CORRUPT, (int64_t)i,
                       "topic.meta name does not match the directory name "
                       "\"%s\"",
                       dir_name);
            }
        } else if (line_value(lp, ln, "partitions", &v)) {
            int64_t np;
            if (parse_dec(v, &np) != 0 || np < 1) {
                bad++;
                report(rep, DUMP_SEV_CORRUPT, (int64_t)i,
                       "topic.meta partitions= is not a positive number");
            } else {
                *partitions = np;
            }
        }
        i = j + 1;
    }
    if (!have_version) {
        bad++;
        report(rep, DUMP_SEV_CORRUPT, 0, "topic.meta has no version= line");
    }
    return bad;
}

int
dump_id_check(sl_slice file, const dump_report *rep)
{
    if (file.n != 33 || file.p[32] != '\n' || !is_lower_hex(file.p, 32)) {
        report(rep, DUMP_SEV_CORRUPT, 0,
               "segstore.id is not 32 lowercase hex digits and a newline");
        return 1;
    }
    return 0;
}

/* ---- tier manifests ------------------------------------------------------
 * magic "SLTM", u16 version 1, u16 flags, u64 generation, u32 count,
 * u32 reserved, count entries, u64 XXH3-64 of every byte before it.  Entry:
 * i64 base, i64 next, i64 min_ts, i64 max_ts, u64 size, 16 bytes XXH3-128,
 * then three keys (u16 length 1..511, bytes without NUL).
 */

#define MF_HEADER    24
#define MF_ENT_FIXED 56
#define MF_KEY_MAX   511

int
dump_manifest_init(dump_manifest *m, sl_slice file, const dump_report *rep)
{
    const uint8_t *p = file.p;
    size_t n = file.n;

    memset(m, 0, sizeof(*m));
    m->file = file;
    m->done = 1;
    if (n < MF_HEADER + 8 || memcmp(p, "SLTM", 4) != 0) {
        report(rep, DUMP_SEV_CORRUPT, 0, "tier manifest: bad magic or size");
        m->corrupt++;
        return -1;
    }
    if (sl_get_u64be(p + n - 8) != sl_xxh3(p, n - 8)) {
        report(rep, DUMP_SEV_CORRUPT, (int64_t)(n - 8),
               "tier manifest: digest mismatch");
        m->corrupt++;
        return -1;
    }
    if (sl_get_u16be(p + 4) != 1) {
        report(rep, DUMP_SEV_CORRUPT, 4, "tier manifest: version %u",
               sl_get_u16be(p + 4));
        m->corrupt++;
        return -1;
    }
    m->generation = sl_get_u64be(p + 8);
    m->count = sl_get_u32be(p + 16);
    m->off = MF_HEADER;
    m->end = n - 8;
    m->done = 0;
    return 0;
}

/* A length-prefixed key at m->off. */
static int
manifest_key(dump_manifest *m, sl_slice *k)
{
    const uint8_t *p = m->file.p;
    size_t kn;

    if (m->end - m->off < 2)
        return -1;
    kn = sl_get_u16be(p + m->off);
    if (kn == 0 || kn > MF_KEY_MAX || m->end - m->off - 2 < kn ||
        memchr(p + m->off + 2, 0, kn) != NULL)
        return -1;
    *k = sl_slice_make(p + m->off + 2, kn);
    m->off += 2 + kn;
    return 0;
}

int
dump_manifest_next(dump_manifest *m, dump_manifest_ent *e,
                   const dump_report *rep)
{
    const uint8_t *p = m->file.p;

    if (m->done)
        return 0;
    if (m->i == m->count) {
        m->done = 1;
        if (m->off != m->end) {
            report(rep, DUMP_SEV_CORRUPT, (int64_t)m->off,
                   "tier manifest: %zu bytes after the last entry",
                   m->end - m->off);
            m->corrupt++;
        }
        return 0;
    }
    if (m->end - m->off < MF_ENT_FIXED) {
        report(rep, DUMP_SEV_CORRUPT, (int64_t)m->off,
               "tier manifest: entry %" PRIu32 " is short", m->i);
        m->corrupt++;
        m->done = 1;
        return 0;
    }
    memset(e, 0, sizeof(*e));
    e->pos = m->off;
    e->base = (int64_t)sl_get_u64be(p + m->off);
    e->next = (int64_t)sl_get_u64be(p + m->off + 8);
    e->min_ts = (int64_t)sl_get_u64be(p + m->off + 16);
    e->max_ts = (int64_t)sl_get_u64be(p + m->off + 24);
    e->size = sl_get_u64be(p + m->off + 32);
    e->digest = p + m->off + 40;
    m->off += MF_ENT_FIXED;
    for (int j = 0; j < 3; j++) {
        if (manifest_key(m, &e->key[j]) != 0) {
            report(rep, DUMP_SEV_CORRUPT, (int64_t)m->off,
                   "tier manifest: entry %" PRIu32 " has a bad key", m->i);
            m->corrupt++;
            m->done = 1;
            return 0;
        }
    }
    if (e->base >= e->next || (m->have_prev && e->base != m->prev_next)) {
        report(rep, DUMP_SEV_CORRUPT, (int64_t)e->pos,
               "tier manifest: entry %" PRIu32 " [%" PRId64 ",%" PRId64
               ") is empty or not contiguous",
               m->i, e->base, e->next);
        m->corrupt++;
    }
    m->have_prev = 1;
    m->prev_next = e->next;
    m->i++;
    return 1;
}
