/*
 * sl_buf.c — owned growable buffers and the writers that append big-endian
 * integers and varints to them.
 */
#include "sl_base.h"

#include <errno.h>
#include <stdlib.h>

int
sl_slice_eq_str(sl_slice a, const char *s)
{
    size_t n = strlen(s);
    return a.n == n && (n == 0 || memcmp(a.p, s, n) == 0);
}

void
sl_buf_init(sl_buf *b)
{
    b->p = NULL;
    b->n = 0;
    b->cap = 0;
}

void
sl_buf_fini(sl_buf *b)
{
    if (b == NULL)
        return;
    free(b->p);
    sl_buf_init(b);
}

void
sl_buf_reset(sl_buf *b)
{
    b->n = 0;
}

int
sl_buf_reserve(sl_buf *b, size_t extra)
{
    if (extra <= b->cap - b->n)
        return 0;
    if (extra > SIZE_MAX / 2 - b->n)
        return -ENOMEM;
    size_t want = b->n + extra;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < want)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (p == NULL)
        return -ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

uint8_t *
sl_buf_extend(sl_buf *b, size_t n)
{
    /* NULL means -ENOMEM to callers, so even a zero-byte extension of an
     * empty buffer needs real storage to point into. */
    if (sl_buf_reserve(b, n || b->p ? n : 1) != 0)
        return NULL;
    uint8_t *p = b->p + b->n;
    b->n += n;
    return p;
}

int
sl_buf_append(sl_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    uint8_t *d = sl_buf_extend(b, n);
    if (d == NULL)
        return -ENOMEM;
    memcpy(d, p, n);
    return 0;
}

uint8_t *
sl_buf_steal(sl_buf *b, size_t *n)
{
    uint8_t *p = b->p;
    if (n)
        *n = b->n;
    sl_buf_init(b);
    return p;
}

int
sl_buf_put_u8(sl_buf *b, uint8_t v)
{
    return sl_buf_append(b, &v, 1);
}

int
sl_buf_put_u16be(sl_buf *b, uint16_t v)
{
    uint8_t *p = sl_buf_extend(b, 2);
    if (p == NULL)
        return -ENOMEM;
    sl_put_u16be(p, v);
    return 0;
}

int
sl_buf_put_u32be(sl_buf *b, uint32_t v)
{
    uint8_t *p = sl_buf_extend(b, 4);
    if (p == NULL)
        return -ENOMEM;
    sl_put_u32be(p, v);
    return 0;
}

int
sl_buf_put_u64be(sl_buf *b, uint64_t v)
{
    uint8_t *p = sl_buf_extend(b, 8);
    if (p == NULL)
        return -ENOMEM;
    sl_put_u64be(p, v);
    return 0;
}

int
sl_buf_put_uvarint(sl_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    return sl_buf_append(b, tmp, n);
}

int
sl_buf_put_varint(sl_buf *b, int64_t v)
{
    return sl_buf_put_uvarint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

size_t
sl_uvarint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t
sl_varint_len(int64_t v)
{
    return sl_uvarint_len(((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void *
sl_arena_alloc(sl_arena *a, size_t n)
{
    size_t start = (a->used + 15) & ~(size_t)15;
    if (start < a->used || start > a->cap || n > a->cap - start)
        return NULL;
    a->used = start + n;
    return a->p + start;
}

void *
sl_arena_calloc(sl_arena *a, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    void *p = sl_arena_alloc(a, count * size);
    if (p != NULL && count * size > 0)
        memset(p, 0, count * size);
    return p;
}
