/*
 * kf_prim.c — the Kafka primitive types, read, written, sized, compared and
 * filled by the field walker (see kf_codec_impl.h).
 *
 * Wire forms (big-endian), from the Kafka protocol guide and
 * clients/src/main/java/org/apache/kafka/common/protocol/types/Type.java:
 *
 *   int8/int16/int32/int64   fixed width, two's complement
 *   boolean                  int8, 0 false, anything else true
 *   string                   int16 N >= 0, N bytes of UTF-8
 *   nullable string          int16 N, N == -1 is null
 *   bytes / nullable bytes   int32 N, N bytes (-1 null when nullable)
 *   array / nullable array   int32 N, N elements (-1 null when nullable)
 *
 * In flexible versions lengths and counts become unsigned varints holding
 * N + 1 (0 is null): compact string, compact bytes, compact array; and
 * every struct ends with tagged fields: uvarint count, then per field
 * uvarint tag, uvarint size, size bytes.  Kafka's unsigned varints are at
 * most 32 bits wide (ByteUtils.readUnsignedVarint).
 *
 * Validity rules applied on decode, each giving SL_E_MALFORMED:
 *   - every field must be wholly present (truncation);
 *   - a length below -1, or -1 where the field is not nullable;
 *   - a string over 32767 bytes (Kafka's own limit, compact or not);
 *   - an array count larger than the remaining bytes divided by the
 *     smallest wire size of one element, checked before the arena is
 *     touched, so an attacker's count never sizes an allocation;
 *   - a varint wider than 32 bits.
 * An arena too small for a plausible array gives SL_E_TOOBIG.
 */
#include <errno.h>
#include <stdalign.h>

#include "kf_codec_impl.h"

#define KF__STR_MAX 32767

void
kf__fail(kf__io *io, int err)
{
    if (io->err == 0)
        io->err = err;
}

/* A truncated field inside a body whose size the frame already fixed is a
 * malformed body, not a reason to wait for more bytes. */
static void
rd_check(kf__io *io, int rc)
{
    if (rc != 0)
        kf__fail(io, SL_E_MALFORMED);
}

static void
put_check(kf__io *io, int rc)
{
    if (rc != 0)
        kf__fail(io, rc);
}

/* The peer of a field in KF__EQ mode: same offset in the other struct. */
static const void *
peer(const kf__io *io, const void *field)
{
    return io->b_base + ((const uint8_t *)field - io->a_base);
}

/* ---- example values (KF__FILL) ----------------------------------------- */

static uint32_t
fill_next(kf__io *io)
{
    /* A small integer hash (from the murmur3 finaliser constants) so that
     * neighbouring fields get unrelated values. */
    uint32_t x = io->seed * 0x9e3779b9u + ++io->counter;
    x ^= x >> 16;
    x *= 0x85ebca6bu;
    x ^= x >> 13;
    x *= 0xc2b2ae35u;
    x ^= x >> 16;
    return x;
}

static uint64_t
fill_int(kf__io *io, uint64_t min_bits, uint64_t max_bits)
{
    uint32_t h = fill_next(io);
    if (io->seed == 0)
        return 0;
    if (io->seed == 2)
        return (h & 1) ? max_bits : min_bits;
    return ((uint64_t)h << 32 | fill_next(io)) ^ (h & 2 ? ~(uint64_t)0 : 0);
}

static void
fill_slice(kf__io *io, sl_slice *s, size_t big)
{
    uint32_t h = fill_next(io);
    size_t n = io->seed == 0 ? 0 : io->seed == 2 ? big : h % 12;
    uint8_t *p = NULL;
    if (n > 0) {
        p = sl_arena_alloc(io->arena, n);
        if (p == NULL) {
            kf__fail(io, SL_E_TOOBIG);
            return;
        }
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)('a' + (h + i) % 26);
    }
    *s = sl_slice_make(p, n);
}

static bool
fill_null(kf__io *io)
{
    uint32_t h = fill_next(io);
    return io->seed == 0 ? true : io->seed == 2 ? false : h % 3 == 0;
}

/* ---- integers ----------------------------------------------------------- */

void
kf__i8(kf__io *io, int8_t *x)
{
    if (io->err)
        return;
    switch (io->mode) {
    case KF__DEC:
        rd_check(io, sl_rd_i8(&io->rd, x));
        break;
    case KF__ENC:
        put_check(io, sl_buf_put_u8(io->out, (uint8_t)*x));
        break;
    case KF__MIN:
        io->min += 1;
        break;
    case KF__EQ:
        if (*x != *(const int8_t *)peer(io, x))
            kf__fail(io, 1);
        break;
    case KF__FILL:
        *x = (int8_t)fill_int(io, 0x80, 0x7f);
        break;
    }
}

void
kf__i16(kf__io *io, int16_t *x)
{
    if (io->err)
        return;
    switch (io->mode) {
    case KF__DEC:
        rd_check(io, sl_rd_i16be(&io->rd, x));
        break;
    case KF__ENC:
        put_check(io, sl_buf_put_u16be(io->out, (uint16_t)*x));
        break;
    case KF__MIN:
        io->min += 2;
        break;
    case KF__EQ:
        if (*x != *(const int16_t *)peer(io, x))
            kf__fail(io, 1);
        break;
    case KF__FILL:
        *x = (int16_t)fill_int(io, 0x8000, 0x7fff);
        break;
    }
}

void
kf__i32(kf__io *io, int32_t *x)
{
    if (io->err)
        return;
    switch (io->mode) {
    case KF__DEC:
        rd_check(io, sl_rd_i32be(&io->rd, x));
        break;
    case KF__ENC:
        put_check(io, sl_buf_put_u32be(io->out, (uint32_t)*x));
        break;
    case KF__MIN:
        io->min += 4;
        break;
    case KF__EQ:
        if (*x != *(const int32_t *)peer(io, x))
            kf__fail(io, 1);
        break;
    case KF__FILL:
        *x = (int32_t)fill_int(io, 0x80000000u, 0x7fffffff);
        break;
    }
}

void
kf__i64(kf__io *io, int64_t *x)
{
    if (io->err)
        return;
    switch (io->mode) {
    case KF__DEC:
        rd_check(io, sl_rd_i64be(&io->rd, x));
        break;
    case KF__ENC:
        put_check(io, sl_buf_put_u64be(io->out, (uint64_t)*x));
        break;
    case KF__MIN:
        io->min += 8;
        break;
    case KF__EQ:
        if (*x != *(const int64_t *)peer(io, x))
            kf__fail(io, 1);
        break;
    case KF__FILL:
        *x = (int64_t)fill_int(io, (uint64_t)1 << 63, INT64_MAX);
        break;
    }
}

void
kf__bool(kf__io *io, bool *x)
{
    if (io->err)
        return;
    uint8_t b;
    switch (io->mode) {
    case KF__DEC:
        if (sl_rd_u8(&io->rd, &b) != 0)
            kf__fail(io, SL_E_MALFORMED);
        else
            *x = b != 0;
        break;
    case KF__ENC:
        put_check(io, sl_buf_put_u8(io->out, *x ? 1 : 0));
        break;
    case KF__MIN:
        io->min += 1;
        break;
    case KF__EQ:
        if (*x != *(const bool *)peer(io, x))
            kf__fail(io, 1);
        break;
    case KF__FILL:
        *x = io->seed == 2 || (fill_next(io) & 1);
        break;
    }
}

/* ---- lengths ------------------------------------------------------------ */

/* Read a length or count: int16/int32, or a compact uvarint holding N + 1.
 * *n is -1 for null, which the caller accepts or refuses. */
static void
rd_len(kf__io *io, bool wide, int64_t *n)
{
    if (io->flex) {
        uint64_t u;
        if (sl_rd_uvarint(&io->rd, &u) != 0 || u > UINT32_MAX) {
            kf__fail(io, SL_E_MALFORMED);
            return;
        }
        *n = (int64_t)u - 1;
    } else if (wide) {
        int32_t x;
        rd_check(io, sl_rd_i32be(&io->rd, &x));
        *n = x;
    } else {
        int16_t x;
        rd_check(io, sl_rd_i16be(&io->rd, &x));
        *n = x;
    }
}

static void
put_len(kf__io *io, bool wide, int64_t n)
{
    if (io->flex)
        put_check(io, sl_buf_put_uvarint(io->out, (uint64_t)(n + 1)));
    else if (wide)
        put_check(io, sl_buf_put_u32be(io->out, (uint32_t)(int32_t)n));
    else
        put_check(io, sl_buf_put_u16be(io->out, (uint16_t)(int16_t)n));
}

/* One string or bytes field, nullable or not.  `wide` selects bytes
 * (int32 length) over string (int16 length, 32767 bytes at most). */
static void
slice_field(kf__io *io, sl_slice *s, bool *null, bool wide)
{
    if (io->err)
        return;
    int64_t max = wide ? INT32_MAX : KF__STR_MAX;
    int64_t n = 0;
    switch (io->mode) {
    case KF__DEC:
        rd_len(io, wide, &n);
        if (io->err)
            return;
        if (n == -1 && null != NULL) {
            *null = true;
            *s = sl_slice_make(NULL, 0);
            return;
        }
        if (n < 0 || n > max) {
            kf__fail(io, SL_E_MALFORMED);
            return;
        }
        if (null != NULL)
            *null = false;
        rd_check(io, sl_rd_bytes(&io->rd, (size_t)n, s));
        break;
    case KF__ENC:
        if (null != NULL && *null) {
            put_len(io, wide, -1);
            return;
        }
        if (s->n > (uint64_t)max) {
            kf__fail(io, SL_E_INVAL);
            return;
        }
        put_len(io, wide, (int64_t)s->n);
        if (s->n > 0)
            put_check(io, sl_buf_append(io->out, s->p, s->n));
        break;
    case KF__MIN:
        io->min += io->flex ? 1 : wide ? 4 : 2;
        break;
    case KF__EQ: {
        const sl_slice *o = peer(io, s);
        if (null != NULL) {
            bool on = *(const bool *)peer(io, null);
            if (*null != on)
                kf__fail(io, 1);
            if (*null || on)
                return;
        }
        if (s->n != o->n || (s->n > 0 && memcmp(s->p, o->p, s->n) != 0))
            kf__fail(io, 1);
        break;
    }
    case KF__FILL:
        if (null != NULL) {
            *null = fill_null(io);
            if (*null) {
                *s = sl_slice_make(NULL, 0);
                return;
            }
        }
        fill_slice(io, s, wide ? 40000 : KF__STR_MAX);
        break;
    }
}

void
kf__str(kf__io *io, sl_slice *s)
{
    slice_field(io, s, NULL, false);
}

void
kf__nstr(kf__io *io, kf_nslice *s)
{
    slice_field(io, &s->v, &s->null, false);
}

void
kf__bytes(kf__io *io, sl_slice *s)
{
    slice_field(io, s, NULL, true);
}

void
kf__nbytes(kf__io *io, kf_nslice *s)
{
    slice_field(io, &s->v, &s->null, true);
}

/* ---- arrays ------------------------------------------------------------- */

/* The smallest wire size of one element, found by walking an element in
 * KF__MIN mode (which reads nothing from it).  At least 1, so that a count
 * is always bounded by the bytes that remain. */
static size_t
elem_min(const kf__io *io, int16_t v, kf__walk_fn *walk)
{
    union {
        max_align_t align;
        uint8_t bytes[512];
    } scratch;
    kf__io m = {.mode = KF__MIN, .flex = io->flex};
    walk(&m, v, &scratch);
    return m.min > 0 ? m.min : 1;
}

static void
walk_elems(kf__io *io, int16_t v, uint8_t *p, int32_t n, size_t size,
           kf__walk_fn *walk)
{
    for (int32_t i = 0; i < n && io->err == 0; i++)
        walk(io, v, p + (size_t)i * size);
}

void
kf__array(kf__io *io, int16_t v, void **items, int32_t *count, size_t elem_size,
          kf__walk_fn *walk, bool nullable)
{
    if (io->err)
        return;
    int64_t n = 0;
    switch (io->mode) {
    case KF__DEC: {
        rd_len(io, true, &n);
        if (io->err)
            return;
        *items = NULL;
        if (n == -1 && nullable) {
            *count = -1;
            return;
        }
        /* Bound the count by the bytes present before allocating. */
        if (n < 0 ||
            (uint64_t)n > sl_rd_left(&io->rd) / elem_min(io, v, walk)) {
            kf__fail(io, SL_E_MALFORMED);
            return;
        }
        *count = (int32_t)n;
        if (n == 0)
            return;
        uint8_t *p = sl_arena_calloc(io->arena, (size_t)n, elem_size);
        if (p == NULL) {
            kf__fail(io, SL_E_TOOBIG);
            return;
        }
        *items = p;
        walk_elems(io, v, p, (int32_t)n, elem_size, walk);
        break;
    }
    case KF__ENC:
        n = *count;
        if (n == -1 && nullable) {
            put_len(io, true, -1);
            return;
        }
        if (n < 0 || (n > 0 && *items == NULL)) {
            kf__fail(io, SL_E_INVAL);
            return;
        }
        put_len(io, true, n);
        walk_elems(io, v, *items, (int32_t)n, elem_size, walk);
        break;
    case KF__MIN:
        io->min += io->flex ? 1 : 4;
        break;
    case KF__EQ: {
        int32_t on = *(const int32_t *)peer(io, count);
        uint8_t *pa = *items;
        const uint8_t *pb = *(uint8_t *const *)peer(io, items);
        if (*count != on) {
            kf__fail(io, 1);
            return;
        }
        const uint8_t *sa = io->a_base, *sb = io->b_base;
        for (int32_t i = 0; i < *count && io->err == 0; i++) {
            io->a_base = pa + (size_t)i * elem_size;
            io->b_base = pb + (size_t)i * elem_size;
            walk(io, v, pa + (size_t)i * elem_size);
        }
        io->a_base = sa;
        io->b_base = sb;
        break;
    }
    case KF__FILL: {
        uint32_t h = fill_next(io);
        *items = NULL;
        if (nullable && (io->seed == 0 || (io->seed > 2 && h % 4 == 0))) {
            *count = -1;
            return;
        }
        n = io->seed == 0 ? 0 : io->seed == 1 ? 2 : io->seed == 2 ? 1 : h % 3;
        *count = (int32_t)n;
        if (n == 0)
            return;
        uint8_t *p = sl_arena_calloc(io->arena, (size_t)n, elem_size);
        if (p == NULL) {
            kf__fail(io, SL_E_TOOBIG);
            return;
        }
        *items = p;
        walk_elems(io, v, p, (int32_t)n, elem_size, walk);
        break;
    }
    }
}

void
kf__walk_i32(kf__io *io, int16_t v, void *m)
{
    (void)v;
    kf__i32(io, m);
}

void
kf__walk_str(kf__io *io, int16_t v, void *m)
{
    (void)v;
    kf__str(io, m);
}

/* ---- tagged fields ------------------------------------------------------ */

void
kf__tags(kf__io *io)
{
    if (io->err || !io->flex)
        return;
    switch (io->mode) {
    case KF__DEC: {
        uint64_t n, tag, size;
        if (sl_rd_uvarint(&io->rd, &n) != 0 || n > UINT32_MAX ||
            n > sl_rd_left(&io->rd) / 2) {
            kf__fail(io, SL_E_MALFORMED);
            return;
        }
        /* We know no tagged field of the versions we support, and unknown
         * ones are ignorable by definition: skip them. */
        for (uint64_t i = 0; i < n; i++) {
            if (sl_rd_uvarint(&io->rd, &tag) != 0 || tag > UINT32_MAX ||
                sl_rd_uvarint(&io->rd, &size) != 0 || size > UINT32_MAX ||
                sl_rd_skip(&io->rd, (size_t)size) != 0) {
                kf__fail(io, SL_E_MALFORMED);
                return;
            }
        }
        break;
    }
    case KF__ENC:
        put_check(io, sl_buf_put_u8(io->out, 0));
        break;
    case KF__MIN:
        io->min += 1;
        break;
    default:
        break;
    }
}

/* ---- whole messages ----------------------------------------------------- */

int
kf__decode(kf__walk_fn *walk, bool flex, sl_slice body, int16_t v, sl_arena *a,
           void *out, size_t size)
{
    kf__io io = {.mode = KF__DEC, .flex = flex, .arena = a};
    sl_rd_init(&io.rd, body);
    memset(out, 0, size);
    walk(&io, v, out);
    if (io.err == 0 && sl_rd_left(&io.rd) != 0)
        io.err = SL_E_MALFORMED; /* trailing bytes after the body */
    return io.err;
}

int
kf__encode(kf__walk_fn *walk, bool flex, sl_buf *b, int16_t v, const void *m)
{
    size_t start = b->n;
    kf__io io = {.mode = KF__ENC, .flex = flex, .out = b};
    /* KF__ENC only reads the struct; the walk signature is shared with the
     * decoder, hence the cast. */
    walk(&io, v, (void *)(uintptr_t)m);
    if (io.err != 0)
        b->n = start;
    return io.err;
}
