/*
 * sl_batch.c — Kafka RecordBatch v2 decode, validation, stamping and an
 * encoder for uncompressed batches.  See sl_batch.h for the byte layout.
 */
#include "sl_batch.h"

#include <errno.h>
#include <limits.h>

/* Offsets of header fields inside a batch. */
#define OFF_BASE_OFFSET  0
#define OFF_LENGTH       8
#define OFF_EPOCH        12
#define OFF_MAGIC        16
#define OFF_CRC          17
#define OFF_ATTRIBUTES   21
#define OFF_LAST_DELTA   23
#define OFF_BASE_TS      27
#define OFF_MAX_TS       35
#define OFF_PRODUCER_ID  43
#define OFF_PRODUCER_EP  51
#define OFF_BASE_SEQ     53
#define OFF_RECORD_COUNT 57

/* The smallest legal batchLength: the header after the length field. */
#define MIN_BATCH_LENGTH (SL_BATCH_HEADER_LEN - SL_BATCH_LOG_OVERHEAD)

const char *
sl_compression_name(int codec)
{
    static const char *names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    if (codec >= 0 && (size_t)codec < SL_ARRAY_LEN(names))
        return names[codec];
    return "?";
}

int
sl_batch_hdr_decode(sl_slice s, size_t max_len, sl_batch_hdr *h)
{
    if (s.n < SL_BATCH_HEADER_LEN) {
        /* Enough bytes to see a bad length or magic early is still worth
         * reporting as malformed rather than asking for more. */
        if (s.n >= OFF_MAGIC + 1 && s.p[OFF_MAGIC] != SL_BATCH_MAGIC)
            return SL_E_VERSION;
        return SL_E_PARTIAL;
    }
    const uint8_t *p = s.p;
    h->base_offset = (int64_t)sl_get_u64be(p + OFF_BASE_OFFSET);
    h->batch_length = (int32_t)sl_get_u32be(p + OFF_LENGTH);
    h->leader_epoch = (int32_t)sl_get_u32be(p + OFF_EPOCH);
    h->magic = (int8_t)p[OFF_MAGIC];
    h->crc = sl_get_u32be(p + OFF_CRC);
    h->attributes = (int16_t)sl_get_u16be(p + OFF_ATTRIBUTES);
    h->last_offset_delta = (int32_t)sl_get_u32be(p + OFF_LAST_DELTA);
    h->base_timestamp = (int64_t)sl_get_u64be(p + OFF_BASE_TS);
    h->max_timestamp = (int64_t)sl_get_u64be(p + OFF_MAX_TS);
    h->producer_id = (int64_t)sl_get_u64be(p + OFF_PRODUCER_ID);
    h->producer_epoch = (int16_t)sl_get_u16be(p + OFF_PRODUCER_EP);
    h->base_sequence = (int32_t)sl_get_u32be(p + OFF_BASE_SEQ);
    h->record_count = (int32_t)sl_get_u32be(p + OFF_RECORD_COUNT);
    if (h->magic != SL_BATCH_MAGIC)
        return SL_E_VERSION;
    if (h->batch_length < MIN_BATCH_LENGTH)
        return SL_E_MALFORMED;
    size_t limit = max_len ? max_len : (size_t)INT32_MAX;
    if (sl_batch_total_len(h) > limit)
        return SL_E_MALFORMED;
    return 0;
}

sl_slice
sl_batch_records(sl_slice batch)
{
    if (batch.n < SL_BATCH_HEADER_LEN)
        return sl_slice_make(batch.p, 0);
    return sl_slice_make(batch.p + SL_BATCH_HEADER_LEN,
                         batch.n - SL_BATCH_HEADER_LEN);
}

/* Read a varint length that is -1 (null) or a byte count that fits. */
static int
rd_len_bytes(sl_rd *r, int *is_null, sl_slice *out)
{
    int32_t len;
    int rc = sl_rd_varint(r, &len);
    if (rc != 0)
        return rc == SL_E_PARTIAL ? SL_E_MALFORMED : rc;
    if (len < -1)
        return SL_E_MALFORMED;
    if (len == -1) {
        *is_null = 1;
        out->p = NULL;
        out->n = 0;
        return 0;
    }
    *is_null = 0;
    if (sl_rd_bytes(r, (size_t)len, out) != 0)
        return SL_E_MALFORMED;
    return 0;
}

int
sl_record_header_next(sl_rd *r, sl_record_header *h)
{
    size_t save = r->off;
    int key_null;
    int rc = rd_len_bytes(r, &key_null, &h->key);
    if (rc == 0 && key_null)
        rc = SL_E_MALFORMED; /* header keys are non-null strings */
    if (rc == 0)
        rc = rd_len_bytes(r, &h->value_null, &h->value);
    if (rc != 0)
        r->off = save;
    return rc;
}

int
sl_record_next(sl_rd *r, sl_record *rec)
{
    size_t save = r->off;
    int32_t len;
    int rc = sl_rd_varint(r, &len);
    if (rc != 0)
        goto fail;
    sl_slice body;
    if (len < 0 || sl_rd_bytes(r, (size_t)len, &body) != 0) {
        rc = SL_E_MALFORMED;
        goto fail;
    }
    sl_rd b;
    sl_rd_init(&b, body);
    if ((rc = sl_rd_i8(&b, &rec->attributes)) != 0 ||
        (rc = sl_rd_varlong(&b, &rec->timestamp_delta)) != 0 ||
        (rc = sl_rd_varint(&b, &rec->offset_delta)) != 0 ||
        (rc = rd_len_bytes(&b, &rec->key_null, &rec->key)) != 0 ||
        (rc = rd_len_bytes(&b, &rec->value_null, &rec->value)) != 0 ||
        (rc = sl_rd_varint(&b, &rec->header_count)) != 0) {
        rc = SL_E_MALFORMED;
        goto fail;
    }
    if (rec->header_count < 0) {
        rc = SL_E_MALFORMED;
        goto fail;
    }
    /* Walk the headers once so that a record that says it has N headers
     * really holds them and nothing else. */
    size_t hstart = b.off;
    for (int32_t i = 0; i < rec->header_count; i++) {
        sl_record_header h;
        if (sl_record_header_next(&b, &h) != 0) {
            rc = SL_E_MALFORMED;
            goto fail;
        }
    }
    if (sl_rd_left(&b) != 0) {
        rc = SL_E_MALFORMED;
        goto fail;
    }
    rec->headers = sl_slice_make(b.p + hstart, b.off - hstart);
    return 0;
fail:
    r->off = save;
    return rc == SL_E_PARTIAL ? SL_E_MALFORMED : rc;
}

int
sl_batch_check(sl_slice s, int flags, sl_batch_hdr *h)
{
    int rc = sl_batch_hdr_decode(s, s.n, h);
    if (rc != 0)
        return rc;
    if (sl_batch_total_len(h) != s.n)
        return SL_E_MALFORMED;
    /* The CRC goes before any rule on a covered field: a damaged
     * lastOffsetDelta or recordCount is corruption (SL_E_CRC), and recovery
     * tells a torn or rotted batch from a malformed one by that code. */
    if (flags & SL_BATCH_CHECK_CRC) {
        uint32_t crc = sl_crc32c(s.p + OFF_ATTRIBUTES, s.n - OFF_ATTRIBUTES);
        if (crc != h->crc)
            return SL_E_CRC;
    }
    if (h->last_offset_delta < 0 || h->record_count < 0)
        return SL_E_MALFORMED;
    /* Kafka requires recordCount == lastOffsetDelta + 1 for batches produced
     * by clients; compaction (which Sluice does not do) is the only source
     * of gaps. */
    if ((int64_t)h->record_count != (int64_t)h->last_offset_delta + 1)
        return SL_E_MALFORMED;
    if ((flags & SL_BATCH_CHECK_RECORDS) &&
        sl_batch_compression(h) == SL_COMPRESSION_NONE) {
        sl_rd r;
        sl_rd_init(&r, sl_batch_records(s));
        for (int32_t i = 0; i < h->record_count; i++) {
            sl_record rec;
            if (sl_record_next(&r, &rec) != 0 || rec.offset_delta != i)
                return SL_E_MALFORMED;
        }
        if (sl_rd_left(&r) != 0)
            return SL_E_MALFORMED;
    }
    return 0;
}

int
sl_batch_next(sl_slice *rest, size_t max_len, sl_batch_hdr *h, sl_slice *batch)
{
    int rc = sl_batch_hdr_decode(*rest, max_len, h);
    if (rc != 0)
        return rc;
    size_t total = sl_batch_total_len(h);
    if (total > rest->n)
        return SL_E_PARTIAL;
    *batch = sl_slice_make(rest->p, total);
    rest->p += total;
    rest->n -= total;
    return 0;
}

void
sl_batch_stamp_offset(uint8_t *batch, int64_t base_offset)
{
    sl_put_u64be(batch + OFF_BASE_OFFSET, (uint64_t)base_offset);
}

void
sl_batch_stamp_epoch(uint8_t *batch, int32_t epoch)
{
    sl_put_u32be(batch + OFF_EPOCH, (uint32_t)epoch);
}

void
sl_batch_stamp_log_append_time(uint8_t *batch, size_t len, int64_t ts)
{
    uint16_t attr = sl_get_u16be(batch + OFF_ATTRIBUTES);
    sl_put_u16be(batch + OFF_ATTRIBUTES,
                 (uint16_t)(attr | SL_BATCH_ATTR_LOG_APPEND_TIME));
    sl_put_u64be(batch + OFF_MAX_TS, (uint64_t)ts);
    sl_put_u32be(batch + OFF_CRC,
                 sl_crc32c(batch + OFF_ATTRIBUTES, len - OFF_ATTRIBUTES));
}

int
sl_batch_builder_init(sl_batch_builder *b, sl_buf *out, int64_t base_ts)
{
    b->out = out;
    b->start = out->n;
    b->base_ts = base_ts;
    b->max_ts = base_ts;
    b->count = 0;
    uint8_t *p = sl_buf_extend(out, SL_BATCH_HEADER_LEN);
    if (p == NULL)
        return -ENOMEM;
    memset(p, 0, SL_BATCH_HEADER_LEN);
    p[OFF_MAGIC] = SL_BATCH_MAGIC;
    sl_put_u64be(p + OFF_PRODUCER_ID, (uint64_t)-1);
    sl_put_u16be(p + OFF_PRODUCER_EP, (uint16_t)-1);
    sl_put_u32be(p + OFF_BASE_SEQ, (uint32_t)-1);
    return 0;
}

void
sl_batch_builder_producer(sl_batch_builder *b, int64_t producer_id,
                          int16_t epoch, int32_t base_sequence)
{
    uint8_t *p = b->out->p + b->start;
    sl_put_u64be(p + OFF_PRODUCER_ID, (uint64_t)producer_id);
    sl_put_u16be(p + OFF_PRODUCER_EP, (uint16_t)epoch);
    sl_put_u32be(p + OFF_BASE_SEQ, (uint32_t)base_sequence);
}

static size_t
len_bytes_size(const sl_slice *s)
{
    return s ? sl_varint_len((int64_t)s->n) + s->n : sl_varint_len(-1);
}

static int
put_len_bytes(sl_buf *o, const sl_slice *s)
{
    if (s == NULL)
        return sl_buf_put_varint(o, -1);
    int rc = sl_buf_put_varint(o, (int64_t)s->n);
    return rc ? rc : sl_buf_append(o, s->p, s->n);
}

int
sl_batch_builder_add(sl_batch_builder *b, int64_t ts, const sl_slice *key,
                     const sl_slice *value, const sl_record_header *hdrs,
                     size_t nhdrs)
{
    sl_buf *o = b->out;
    size_t save = o->n;
    /* Wrapping subtraction: any pair of int64 timestamps has a delta that
     * a reader recovers as base + delta (mod 2^64), and ts - base_ts in
     * signed arithmetic could overflow. */
    int64_t ts_delta = (int64_t)((uint64_t)ts - (uint64_t)b->base_ts);
    size_t body = 1 + sl_varint_len(ts_delta) + sl_varint_len(b->count) +
                  len_bytes_size(key) + len_bytes_size(value) +
                  sl_varint_len((int64_t)nhdrs);
    for (size_t i = 0; i < nhdrs; i++) {
        body += len_bytes_size(&hdrs[i].key);
        body += len_bytes_size(hdrs[i].value_null ? NULL : &hdrs[i].value);
    }
    int rc = 0;
    if ((rc = sl_buf_reserve(o, body + 10)) != 0 ||
        (rc = sl_buf_put_varint(o, (int64_t)body)) != 0 ||
        (rc = sl_buf_put_u8(o, 0)) != 0 ||
        (rc = sl_buf_put_varint(o, ts_delta)) != 0 ||
        (rc = sl_buf_put_varint(o, b->count)) != 0 ||
        (rc = put_len_bytes(o, key)) != 0 ||
        (rc = put_len_bytes(o, value)) != 0 ||
        (rc = sl_buf_put_varint(o, (int64_t)nhdrs)) != 0)
        goto fail;
    for (size_t i = 0; i < nhdrs; i++) {
        if ((rc = put_len_bytes(o, &hdrs[i].key)) != 0 ||
            (rc = put_len_bytes(o, hdrs[i].value_null ? NULL
                                                      : &hdrs[i].value)) != 0)
            goto fail;
    }
    if (ts > b->max_ts)
        b->max_ts = ts;
    b->count++;
    return 0;
fail:
    o->n = save;
    return rc;
}

size_t
sl_batch_builder_finish(sl_batch_builder *b)
{
    uint8_t *p = b->out->p + b->start;
    size_t len = b->out->n - b->start;
    sl_put_u32be(p + OFF_LENGTH, (uint32_t)(len - SL_BATCH_LOG_OVERHEAD));
    sl_put_u32be(p + OFF_LAST_DELTA, (uint32_t)(b->count ? b->count - 1 : 0));
    sl_put_u64be(p + OFF_BASE_TS, (uint64_t)b->base_ts);
    sl_put_u64be(p + OFF_MAX_TS, (uint64_t)b->max_ts);
    sl_put_u32be(p + OFF_RECORD_COUNT, (uint32_t)b->count);
    sl_put_u32be(p + OFF_CRC,
                 sl_crc32c(p + OFF_ATTRIBUTES, len - OFF_ATTRIBUTES));
    return len;
}
