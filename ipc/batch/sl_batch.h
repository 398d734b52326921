/*
 * sl_batch.h — Kafka RecordBatch v2: the record format of the Sluice log,
 * stored byte for byte as it travels on the Kafka wire.
 *
 * Batch layout (all integers big-endian):
 *
 *   off len field
 *     0   8 baseOffset            stamped by segstore on append
 *     8   4 batchLength           bytes that follow this field
 *    12   4 partitionLeaderEpoch  stamped 0 by segstore
 *    16   1 magic                 must be 2
 *    17   4 crc                   CRC-32C of bytes [21, 12+batchLength)
 *    21   2 attributes            bits 0-2 compression (0 none, 1 gzip,
 *                                 2 snappy, 3 lz4, 4 zstd), bit 3 timestamp
 *                                 type (1 = LogAppendTime), bit 4
 *                                 transactional, bit 5 control,
 *                                 bit 6 delete horizon
 *    23   4 lastOffsetDelta
 *    27   8 baseTimestamp
 *    35   8 maxTimestamp
 *    43   8 producerId
 *    51   2 producerEpoch
 *    53   4 baseSequence
 *    57   4 recordCount
 *    61   . records (compressed as a whole when compression != 0)
 *
 * Record (uncompressed): length varint, attributes int8, timestampDelta
 * varlong, offsetDelta varint, keyLength varint (-1 = null), key,
 * valueLength varint (-1 = null), value, headerCount varint, then per header
 * keyLength varint, key, valueLength varint (-1 = null), value.  Varints are
 * ZigZag LEB128 as in protobuf.
 *
 * The CRC does not cover baseOffset, batchLength, partitionLeaderEpoch or
 * magic, which is why segstore can assign offsets without recomputing it.
 * Setting LogAppendTime rewrites attributes and maxTimestamp, both covered,
 * so that path recomputes the CRC.
 *
 * Everything here is a pure function over caller memory: no allocation
 * (the builder grows a caller-supplied sl_buf), no I/O, no logging.
 */
#ifndef SL_BATCH_H
#define SL_BATCH_H

#include "sl_base.h"

#define SL_BATCH_HEADER_LEN   61
#define SL_BATCH_LOG_OVERHEAD 12 /* baseOffset + batchLength */
#define SL_BATCH_MAGIC        2

#define SL_BATCH_ATTR_COMPRESSION_MASK 0x07
#define SL_BATCH_ATTR_LOG_APPEND_TIME  0x08
#define SL_BATCH_ATTR_TRANSACTIONAL    0x10
#define SL_BATCH_ATTR_CONTROL          0x20
#define SL_BATCH_ATTR_DELETE_HORIZON   0x40

enum {
    SL_COMPRESSION_NONE = 0,
    SL_COMPRESSION_GZIP = 1,
    SL_COMPRESSION_SNAPPY = 2,
    SL_COMPRESSION_LZ4 = 3,
    SL_COMPRESSION_ZSTD = 4,
};

/* Name of a compression codec ("none", "gzip", ...; "?" when unknown). */
const char *sl_compression_name(int codec);

typedef struct sl_batch_hdr {
    int64_t base_offset;
    int32_t batch_length;
    int32_t leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t record_count;
} sl_batch_hdr;

/* Total bytes the batch occupies (header fields included). */
static inline size_t
sl_batch_total_len(const sl_batch_hdr *h)
{
    return (size_t)SL_BATCH_LOG_OVERHEAD + (size_t)h->batch_length;
}

static inline int64_t
sl_batch_last_offset(const sl_batch_hdr *h)
{
    return h->base_offset + h->last_offset_delta;
}

static inline int
sl_batch_compression(const sl_batch_hdr *h)
{
    return h->attributes & SL_BATCH_ATTR_COMPRESSION_MASK;
}

/*
 * Decode the 61-byte header at the start of s.  Returns SL_E_PARTIAL when s
 * is shorter than the header, SL_E_VERSION when magic != 2, SL_E_MALFORMED
 * when batchLength is too small to hold the header or larger than max_len
 * (max_len bounds the whole batch; 0 = INT32_MAX).  Does not check the CRC.
 */
int sl_batch_hdr_decode(sl_slice s, size_t max_len, sl_batch_hdr *h);

/* Validation levels for sl_batch_check(). */
enum {
    SL_BATCH_CHECK_CRC = 1,     /* CRC-32C over attributes..end */
    SL_BATCH_CHECK_RECORDS = 2, /* parse every record when uncompressed */
};

/*
 * Validate one whole batch that spans exactly s: header rules, length equal
 * to s.n, record count == lastOffsetDelta + 1 (non-negative), the CRC and,
 * when asked and the batch is uncompressed, that every record parses, that
 * offset deltas are 0..count-1 in order and that the records fill the batch
 * exactly.  Returns 0, SL_E_CRC, SL_E_MALFORMED, SL_E_VERSION or
 * SL_E_PARTIAL.  Fills *h on success (and on SL_E_CRC).
 */
int sl_batch_check(sl_slice s, int flags, sl_batch_hdr *h);

/*
 * Framing over a sequence of batches: take the next batch off the front of
 * *rest.  On success *batch views it, *h is its decoded header and *rest
 * advances past it.  SL_E_PARTIAL when *rest ends inside a batch (the usual
 * end of a Kafka fetch response); other errors as sl_batch_hdr_decode.
 * Does not check the CRC.
 */
int sl_batch_next(sl_slice *rest, size_t max_len, sl_batch_hdr *h,
                  sl_slice *batch);

/* ---- records ----------------------------------------------------------- */

typedef struct sl_record {
    int8_t attributes;
    int64_t timestamp_delta;
    int32_t offset_delta;
    int key_null;
    sl_slice key;
    int value_null;
    sl_slice value;
    int32_t header_count;
    sl_slice headers; /* raw header bytes; walk with sl_record_header_next */
} sl_record;

typedef struct sl_record_header {
    sl_slice key;
    int value_null;
    sl_slice value;
} sl_record_header;

/* A view of the (uncompressed) records area of a whole batch. */
sl_slice sl_batch_records(sl_slice batch);

/* Decode the next record from a cursor over the records area.  Views borrow
 * from the cursor's slice.  SL_E_MALFORMED on any inconsistency. */
int sl_record_next(sl_rd *r, sl_record *rec);

/* Decode the next header from a cursor over sl_record.headers. */
int sl_record_header_next(sl_rd *r, sl_record_header *h);

/* ---- in-place stamps (segstore's append path) --------------------------- */

/* Rewrite baseOffset; CRC unaffected. */
void sl_batch_stamp_offset(uint8_t *batch, int64_t base_offset);
/* Rewrite partitionLeaderEpoch; CRC unaffected. */
void sl_batch_stamp_epoch(uint8_t *batch, int32_t epoch);
/* Mark LogAppendTime and set maxTimestamp = ts; recomputes the CRC. */
void sl_batch_stamp_log_append_time(uint8_t *batch, size_t len, int64_t ts);

/* ---- builder (uncompressed batches) ----------------------------------- */

typedef struct sl_batch_builder {
    sl_buf *out;     /* batch is appended here */
    size_t start;    /* where this batch begins in out */
    int64_t base_ts; /* baseTimestamp */
    int64_t max_ts;
    int32_t count;
} sl_batch_builder;

/*
 * Begin a batch at the end of *out (baseOffset 0, no compression, no
 * producer id unless set with sl_batch_builder_producer).  base_ts is the
 * batch's base timestamp in ms.  Returns 0 or -ENOMEM.
 */
int sl_batch_builder_init(sl_batch_builder *b, sl_buf *out, int64_t base_ts);
void sl_batch_builder_producer(sl_batch_builder *b, int64_t producer_id,
                               int16_t epoch, int32_t base_sequence);
/* Append one record; a NULL key or value pointer encodes null.  hdrs may be
 * NULL when nhdrs is 0. */
int sl_batch_builder_add(sl_batch_builder *b, int64_t ts, const sl_slice *key,
                         const sl_slice *value, const sl_record_header *hdrs,
                         size_t nhdrs);
/* Fill in lengths, counts, timestamps and the CRC.  Returns the batch size. */
size_t sl_batch_builder_finish(sl_batch_builder *b);

#endif /* SL_BATCH_H */
