/*
 * sl_rd.c — bounds-checked cursor readers.  Each checks the remaining length
 * before touching a byte and advances only on success.
 */
#include "sl_base.h"

int
sl_rd_u8(sl_rd *r, uint8_t *v)
{
    if (sl_rd_left(r) < 1)
        return SL_E_PARTIAL;
    *v = r->p[r->off++];
    return 0;
}

int
sl_rd_u16be(sl_rd *r, uint16_t *v)
{
    if (sl_rd_left(r) < 2)
        return SL_E_PARTIAL;
    *v = sl_get_u16be(r->p + r->off);
    r->off += 2;
    return 0;
}

int
sl_rd_u32be(sl_rd *r, uint32_t *v)
{
    if (sl_rd_left(r) < 4)
        return SL_E_PARTIAL;
    *v = sl_get_u32be(r->p + r->off);
    r->off += 4;
    return 0;
}

int
sl_rd_u64be(sl_rd *r, uint64_t *v)
{
    if (sl_rd_left(r) < 8)
        return SL_E_PARTIAL;
    *v = sl_get_u64be(r->p + r->off);
    r->off += 8;
    return 0;
}

int
sl_rd_i8(sl_rd *r, int8_t *v)
{
    uint8_t u;
    int rc = sl_rd_u8(r, &u);
    if (rc == 0)
        *v = (int8_t)u;
    return rc;
}

int
sl_rd_i16be(sl_rd *r, int16_t *v)
{
    uint16_t u;
    int rc = sl_rd_u16be(r, &u);
    if (rc == 0)
        *v = (int16_t)u;
    return rc;
}

int
sl_rd_i32be(sl_rd *r, int32_t *v)
{
    uint32_t u;
    int rc = sl_rd_u32be(r, &u);
    if (rc == 0)
        *v = (int32_t)u;
    return rc;
}

int
sl_rd_i64be(sl_rd *r, int64_t *v)
{
    uint64_t u;
    int rc = sl_rd_u64be(r, &u);
    if (rc == 0)
        *v = (int64_t)u;
    return rc;
}

int
sl_rd_bytes(sl_rd *r, size_t n, sl_slice *out)
{
    if (sl_rd_left(r) < n)
        return SL_E_PARTIAL;
    /* An empty slice may have p == NULL, and NULL + 0 is undefined. */
    out->p = r->off ? r->p + r->off : r->p;
    out->n = n;
    r->off += n;
    return 0;
}

int
sl_rd_skip(sl_rd *r, size_t n)
{
    if (sl_rd_left(r) < n)
        return SL_E_PARTIAL;
    r->off += n;
    return 0;
}

/* Decode an unsigned LEB128 of at most max_bytes bytes without advancing;
 * returns the length used, 0 when more bytes are needed, -1 when overlong. */
static int
uvarint_peek(const sl_rd *r, int max_bytes, uint64_t *v)
{
    uint64_t x = 0;
    size_t left = sl_rd_left(r);
    if (left == 0)
        return 0; /* r->p may be NULL for an empty slice: no arithmetic */
    const uint8_t *p = sl_rd_ptr(r);
    for (int i = 0; i < max_bytes; i++) {
        if ((size_t)i >= left)
            return 0;
        /* The tenth byte holds bit 63 only; anything more would be bits a
         * 64-bit value does not have, silently dropped, letting two byte
         * strings decode to the same value. */
        if (i == 9 && p[i] > 1)
            return -1;
        x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if ((p[i] & 0x80) == 0) {
            *v = x;
            return i + 1;
        }
    }
    return -1;
}

int
sl_rd_uvarint(sl_rd *r, uint64_t *v)
{
    int n = uvarint_peek(r, 10, v);
    if (n == 0)
        return SL_E_PARTIAL;
    if (n < 0)
        return SL_E_MALFORMED;
    r->off += (size_t)n;
    return 0;
}

int
sl_rd_varint(sl_rd *r, int32_t *v)
{
    uint64_t u;
    int n = uvarint_peek(r, 5, &u);
    if (n == 0)
        return SL_E_PARTIAL;
    if (n < 0 || u > UINT32_MAX)
        return SL_E_MALFORMED;
    uint32_t z = (uint32_t)u;
    *v = (int32_t)((z >> 1) ^ (~(z & 1) + 1));
    r->off += (size_t)n;
    return 0;
}

int
sl_rd_varlong(sl_rd *r, int64_t *v)
{
    uint64_t u;
    int n = uvarint_peek(r, 10, &u);
    if (n == 0)
        return SL_E_PARTIAL;
    if (n < 0)
        return SL_E_MALFORMED;
    *v = (int64_t)((u >> 1) ^ (~(u & 1) + 1));
    r->off += (size_t)n;
    return 0;
}
