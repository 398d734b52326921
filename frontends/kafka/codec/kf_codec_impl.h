/*
 * kf_codec_impl.h — private to frontends/kafka/codec: the field walker that
 * every message codec is written against.
 *
 * Each message is described once, by a walk function that visits its
 * fields in wire order, gated by version:
 *
 *   if (v >= 3) kf__nstr(io, &m->transactional_id);
 *   kf__i16(io, &m->acks);
 *
 * The same walk runs in five modes, so a decoder and its encoder cannot
 * disagree about the layout:
 *
 *   KF__DEC   read the field from io->rd (arrays from io->arena)
 *   KF__ENC   append the field to io->out
 *   KF__MIN   add the field's smallest wire size to io->min, without
 *             touching the struct (used to bound array counts before
 *             anything is allocated)
 *   KF__EQ    compare the field with the same field of a second struct
 *   KF__FILL  set the field to a deterministic example value
 *
 * Errors are sticky: the first one is kept in io->err and every later
 * primitive returns at once, so walk functions need no error plumbing.
 *
 * Rules for walk functions: pass only pointers to fields of the struct the
 * walk was given (KF__EQ finds the peer field by its offset), never branch
 * on field values (KF__MIN walks an uninitialised element), and gate every
 * field by version only.
 */
#ifndef KF_CODEC_IMPL_H
#define KF_CODEC_IMPL_H

#include "kf_codec.h"

enum { KF__DEC, KF__ENC, KF__MIN, KF__EQ, KF__FILL };

typedef struct kf__io {
    int mode;
    bool flex; /* compact lengths and tagged fields (flexible versions) */
    int err;
    sl_rd rd;                       /* DEC */
    sl_arena *arena;                /* DEC, FILL */
    sl_buf *out;                    /* ENC */
    size_t min;                     /* MIN */
    const uint8_t *a_base, *b_base; /* EQ: current struct and its peer */
    unsigned seed;                  /* FILL */
    uint32_t counter;               /* FILL: advances per field */
} kf__io;

typedef void kf__walk_fn(kf__io *io, int16_t v, void *m);

/* Fixed-width integers and bool (one byte, 0 or 1 on the wire). */
void kf__i8(kf__io *io, int8_t *x);
void kf__i16(kf__io *io, int16_t *x);
void kf__i32(kf__io *io, int32_t *x);
void kf__i64(kf__io *io, int64_t *x);
void kf__bool(kf__io *io, bool *x);
/* string: int16 length (compact: uvarint length+1), at most 32767 bytes;
 * nstr: the same with -1 (compact: 0) for null. */
void kf__str(kf__io *io, sl_slice *s);
void kf__nstr(kf__io *io, kf_nslice *s);
/* bytes: int32 length (compact: uvarint length+1); nbytes nullable. */
void kf__bytes(kf__io *io, sl_slice *s);
void kf__nbytes(kf__io *io, kf_nslice *s);
/* An array of elem_size-byte elements walked by `walk`; *items and *count
 * are the struct's pointer and count fields.  nullable: a count of -1 is
 * null (compact: 0). */
void kf__array(kf__io *io, int16_t v, void **items, int32_t *count,
               size_t elem_size, kf__walk_fn *walk, bool nullable);
/* Element walkers for arrays of int32 and of strings. */
void kf__walk_i32(kf__io *io, int16_t v, void *m);
void kf__walk_str(kf__io *io, int16_t v, void *m);
/* Tagged fields at the end of a flexible struct: skipped when read, none
 * written.  A no-op unless io->flex. */
void kf__tags(kf__io *io);

#define KF__ARRAY(io, v, items, count, walk)                                   \
    kf__array((io), (v), (void **)&(items), &(count), sizeof(*(items)),        \
              (walk), false)
#define KF__NARRAY(io, v, items, count, walk)                                  \
    kf__array((io), (v), (void **)&(items), &(count), sizeof(*(items)),        \
              (walk), true)

/* Mark an encoder-side error (a value the wire cannot carry). */
void kf__fail(kf__io *io, int err);

/* Run a walk over a whole message. */
int kf__decode(kf__walk_fn *walk, bool flex, sl_slice body, int16_t v,
               sl_arena *a, void *out, size_t size);
int kf__encode(kf__walk_fn *walk, bool flex, sl_buf *b, int16_t v,
               const void *m);

/* One row per API: its walks, struct sizes, supported range and the
 * version from which Kafka makes it flexible. */
typedef struct kf__api {
    int16_t key;
    int16_t min, max;
    int16_t flex_min;
    const char *name;
    kf__walk_fn *req_walk, *resp_walk;
    size_t req_size, resp_size;
} kf__api;

const kf__api *kf__api_get(int16_t key);

/* The walks, one pair per API (defined in the kf_<family>.c files). */
#define KF__WALKS(api)                                                         \
    void kf__##api##_req_walk(kf__io *io, int16_t v, void *m);                 \
    void kf__##api##_resp_walk(kf__io *io, int16_t v, void *m);
KF__WALKS(apiversions)
KF__WALKS(produce)
KF__WALKS(fetch)
KF__WALKS(listoffsets)
KF__WALKS(metadata)
KF__WALKS(offsetcommit)
KF__WALKS(offsetfetch)
KF__WALKS(findcoordinator)
KF__WALKS(joingroup)
KF__WALKS(heartbeat)
KF__WALKS(leavegroup)
KF__WALKS(syncgroup)
KF__WALKS(describegroups)
KF__WALKS(listgroups)
KF__WALKS(createtopics)
KF__WALKS(deletetopics)
KF__WALKS(initproducerid)
KF__WALKS(describeconfigs)
KF__WALKS(createpartitions)
KF__WALKS(deletegroups)
KF__WALKS(alterconfigs)
KF__WALKS(incrementalalterconfigs)

/* The four typed entry points of kf_codec.h, as thin wrappers over the
 * dispatching kf_msg_* functions. */
#define KF__DEFINE_API(api, key)                                               \
    int kf_##api##_req_decode(sl_slice body, int16_t version, sl_arena *a,     \
                              kf_##api##_req *out)                             \
    {                                                                          \
        return kf_msg_decode(key, KF_REQ, version, body, a, out);              \
    }                                                                          \
    int kf_##api##_req_encode(sl_buf *b, int16_t version,                      \
                              const kf_##api##_req *r)                         \
    {                                                                          \
        return kf_msg_encode(b, key, KF_REQ, version, r);                      \
    }                                                                          \
    int kf_##api##_resp_decode(sl_slice body, int16_t version, sl_arena *a,    \
                               kf_##api##_resp *out)                           \
    {                                                                          \
        return kf_msg_decode(key, KF_RESP, version, body, a, out);             \
    }                                                                          \
    int kf_##api##_resp_encode(sl_buf *b, int16_t version,                     \
                               const kf_##api##_resp *r)                       \
    {                                                                          \
        return kf_msg_encode(b, key, KF_RESP, version, r);                     \
    }

#endif /* KF_CODEC_IMPL_H */
