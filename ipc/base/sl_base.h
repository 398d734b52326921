/*
 * sl_base.h — shared primitives every Sluice process links: error codes,
 * borrowed slices, owned growable buffers, bounds-checked cursor readers and
 * big-endian/varint writers, CRC32C, clocks and the log sink.
 *
 * Cursor readers (sl_rd_*) check the remaining length first and advance only
 * on success, so a chain of reads either consumes a whole field or leaves
 * the cursor where it was.  They never allocate and never log: decoders are
 * built from them and must stay pure functions over a byte slice.
 */
#ifndef SL_BASE_H
#define SL_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Project error codes.  Functions return 0 on success, a negative errno, or
 * one of these (all below -10000 so they never collide with errno values).
 * The X-macro gives both the enum and sl_strerror().
 */
#define SL_ERRORS(X)                                                           \
    X(PARTIAL, "need more bytes")                                              \
    X(MALFORMED, "malformed input")                                            \
    X(TOOBIG, "size over the configured maximum")                              \
    X(CORRUPT, "corrupt data")                                                 \
    X(CRC, "checksum mismatch")                                                \
    X(NOTOPIC, "unknown topic")                                                \
    X(NOPART, "unknown partition")                                             \
    X(EXISTS, "already exists")                                                \
    X(INVAL, "invalid argument")                                               \
    X(RANGE, "offset out of range")                                            \
    X(UNSUPPORTED, "not supported")                                            \
    X(VERSION, "unsupported format version")                                   \
    X(CLOSED, "closed")                                                        \
    X(TIMEOUT, "timed out")                                                    \
    X(BUSY, "busy, try again")                                                 \
    X(IO, "I/O error")                                                         \
    X(NOSPACE, "no space left")                                                \
    X(INTERNAL, "internal error")                                              \
    X(NOKEY, "no such key")                                                    \
    X(CONFLICT, "condition failed (version changed)")                          \
    X(UNKNOWN_MEMBER, "unknown group member")                                  \
    X(GENERATION, "stale group generation")                                    \
    X(REBALANCE, "group is rebalancing")                                       \
    X(MEMBER_REQUIRED, "join again with the assigned member id")               \
    X(FENCED, "static member fenced by a newer instance")                      \
    X(NOGROUP, "unknown group")                                                \
    X(NOTEMPTY, "group has members")                                           \
    X(GROUP_PROTOCOL, "no common group protocol")                              \
    X(SEQUENCE, "producer sequence out of order")                              \
    X(PRODUCER_EPOCH, "stale producer epoch")

enum {
    SL_E_BASE_ = -10100,
#define SL_X_ENUM(name, text) SL_E_##name,
    SL_ERRORS(SL_X_ENUM)
#undef SL_X_ENUM
        SL_E_END_
};

/* Message for a 0/-errno/SL_E_* code; never NULL, static storage. */
const char *sl_strerror(int err);

/* Stable short name of a code ("SL_E_CRC", "ENOENT"), for logs and JSON. */
const char *sl_errname(int err);

/* ---- slices and buffers ------------------------------------------------ */

/* A borrowed view of bytes; its lifetime is whatever the producer states. */
typedef struct sl_slice {
    const uint8_t *p;
    size_t n;
} sl_slice;

static inline sl_slice
sl_slice_make(const void *p, size_t n)
{
    sl_slice s = {(const uint8_t *)p, n};
    return s;
}

static inline sl_slice
sl_slice_str(const char *s)
{
    return sl_slice_make(s, s ? strlen(s) : 0);
}

/* True when the slice holds exactly the NUL-free text s. */
int sl_slice_eq_str(sl_slice a, const char *s);

/* An owned, growable byte buffer.  Zero-initialised storage is a valid empty
 * buffer; sl_buf_fini() releases it. */
typedef struct sl_buf {
    uint8_t *p;
    size_t n;   /* bytes in use */
    size_t cap; /* bytes allocated */
} sl_buf;

void sl_buf_init(sl_buf *b);
void sl_buf_fini(sl_buf *b);
void sl_buf_reset(sl_buf *b);
/* Ensure room for `extra` more bytes; 0 or -ENOMEM. */
int sl_buf_reserve(sl_buf *b, size_t extra);
int sl_buf_append(sl_buf *b, const void *p, size_t n);
/* Grow by n bytes and return a pointer to them (uninitialised), or NULL. */
uint8_t *sl_buf_extend(sl_buf *b, size_t n);
/* Hand the storage to the caller (who frees it with free()); b is emptied. */
uint8_t *sl_buf_steal(sl_buf *b, size_t *n);

int sl_buf_put_u8(sl_buf *b, uint8_t v);
int sl_buf_put_u16be(sl_buf *b, uint16_t v);
int sl_buf_put_u32be(sl_buf *b, uint32_t v);
int sl_buf_put_u64be(sl_buf *b, uint64_t v);
/* Unsigned LEB128 varint (protobuf style). */
int sl_buf_put_uvarint(sl_buf *b, uint64_t v);
/* ZigZag-encoded signed varint, as in Kafka records. */
int sl_buf_put_varint(sl_buf *b, int64_t v);

/* Bytes a value takes as (zigzag) varint. */
size_t sl_uvarint_len(uint64_t v);
size_t sl_varint_len(int64_t v);

/* ---- arena --------------------------------------------------------------
 * A bump allocator over caller memory: decoders that must build arrays
 * (a Kafka request's topics, an MQTT packet's properties) take an arena
 * instead of calling malloc, so a decoder stays a pure function and the
 * caller bounds its memory.  Allocation fails (NULL) when the arena is
 * full; decoders turn that into SL_E_TOOBIG. */
typedef struct sl_arena {
    uint8_t *p;
    size_t cap;
    size_t used;
} sl_arena;

static inline void
sl_arena_init(sl_arena *a, void *mem, size_t cap)
{
    a->p = (uint8_t *)mem;
    a->cap = cap;
    a->used = 0;
}

/* n bytes aligned to 16, uninitialised; NULL when they do not fit. */
void *sl_arena_alloc(sl_arena *a, size_t n);
/* Like sl_arena_alloc for an array, checking count * size for overflow,
 * zero-filled. */
void *sl_arena_calloc(sl_arena *a, size_t count, size_t size);

static inline void
sl_arena_reset(sl_arena *a)
{
    a->used = 0;
}

/* ---- fixed-width big-endian access to raw memory ----------------------- */

static inline uint16_t
sl_get_u16be(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}
static inline uint32_t
sl_get_u32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}
static inline uint64_t
sl_get_u64be(const uint8_t *p)
{
    return (uint64_t)sl_get_u32be(p) << 32 | sl_get_u32be(p + 4);
}
static inline void
sl_put_u16be(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void
sl_put_u32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void
sl_put_u64be(uint8_t *p, uint64_t v)
{
    sl_put_u32be(p, (uint32_t)(v >> 32));
    sl_put_u32be(p + 4, (uint32_t)v);
}

/* ---- cursor reader ----------------------------------------------------- */

/* A read cursor over a borrowed slice.  Every sl_rd_* returns 0 and advances,
 * or returns SL_E_PARTIAL (not enough bytes) / SL_E_MALFORMED (an overlong
 * varint) and leaves the cursor unchanged. */
typedef struct sl_rd {
    const uint8_t *p;
    size_t n;   /* total bytes */
    size_t off; /* bytes consumed */
} sl_rd;

static inline void
sl_rd_init(sl_rd *r, sl_slice s)
{
    r->p = s.p;
    r->n = s.n;
    r->off = 0;
}
static inline size_t
sl_rd_left(const sl_rd *r)
{
    return r->n - r->off;
}
static inline const uint8_t *
sl_rd_ptr(const sl_rd *r)
{
    /* An empty slice may have p == NULL; NULL + 0 is undefined in C. */
    return r->off == 0 ? r->p : r->p + r->off;
}

int sl_rd_u8(sl_rd *r, uint8_t *v);
int sl_rd_u16be(sl_rd *r, uint16_t *v);
int sl_rd_u32be(sl_rd *r, uint32_t *v);
int sl_rd_u64be(sl_rd *r, uint64_t *v);
int sl_rd_i8(sl_rd *r, int8_t *v);
int sl_rd_i16be(sl_rd *r, int16_t *v);
int sl_rd_i32be(sl_rd *r, int32_t *v);
int sl_rd_i64be(sl_rd *r, int64_t *v);
/* A view of the next n bytes (borrowed from the cursor's slice). */
int sl_rd_bytes(sl_rd *r, size_t n, sl_slice *out);
int sl_rd_skip(sl_rd *r, size_t n);
/* Unsigned LEB128, at most 10 bytes (a 64-bit value). */
int sl_rd_uvarint(sl_rd *r, uint64_t *v);
/* ZigZag varint that must fit 32 bits (at most 5 bytes), as Kafka's varint. */
int sl_rd_varint(sl_rd *r, int32_t *v);
/* ZigZag varlong, at most 10 bytes, as Kafka's varlong. */
int sl_rd_varlong(sl_rd *r, int64_t *v);

/* ---- checksums ----------------------------------------------------------- */

/* CRC-32C (Castagnoli), as Kafka's RecordBatch v2 uses.  Backed by ISA-L's
 * crc32_iscsi, which folds three streams with PCLMULQDQ. */
uint32_t sl_crc32c(const void *p, size_t n);
/* Continue a CRC-32C: sl_crc32c_update(sl_crc32c(a), b) == crc of a||b. */
uint32_t sl_crc32c_update(uint32_t crc, const void *p, size_t n);

/* XXH3-64 of a byte range, for our own files (indexes, checkpoints, meta). */
uint64_t sl_xxh3(const void *p, size_t n);

/* ---- clocks ------------------------------------------------------------- */

/* Wall clock in milliseconds since the epoch (record timestamps). */
int64_t sl_now_ms(void);
/* Monotonic clock in nanoseconds (timeouts, latency). */
uint64_t sl_mono_ns(void);

/* ---- logging -------------------------------------------------------------
 * One sink (stderr), one line per event: time, level, a stable event id and
 * key=value text.  Never call from decoders or per message at INFO. */
enum { SL_LOG_DEBUG = 0, SL_LOG_INFO, SL_LOG_WARN, SL_LOG_ERROR };

void sl_log_set_level(int level);
int sl_log_level(void);
/* Parse "debug|info|warn|error"; -1 when unknown. */
int sl_log_level_parse(const char *s);
void sl_log(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define SL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SL_MIN(a, b)    ((a) < (b) ? (a) : (b))
#define SL_MAX(a, b)    ((a) > (b) ? (a) : (b))

#endif /* SL_BASE_H */
