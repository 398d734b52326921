/*
 * mq_codec_impl.h — internals shared by the files of the MQTT codec:
 * error reporting, the MQTT field readers (two-byte-length strings and
 * binaries, Variable Byte Integers, property blocks) and a writer that
 * either counts or appends, so that every encoder computes its size with
 * the code that writes it.  Included only inside frontends/mqtt/codec/.
 */
#ifndef MQ_CODEC_IMPL_H
#define MQ_CODEC_IMPL_H

#include "mq_codec.h"

/* Fill *err (may be NULL) and return SL_E_MALFORMED. */
int mq__fail(mq_err *err, uint8_t reason, const char *what);

/* ---- readers: each returns 0 or a failure through mq__fail ------------- */

/* A Variable Byte Integer (1.5.5): at most 4 bytes, shortest form. */
int mq__rd_varint(sl_rd *r, uint32_t *v, mq_err *err);
/* A Binary Data field: two-byte length, then the bytes. */
int mq__rd_bin(sl_rd *r, sl_slice *v, mq_err *err);
/* A UTF-8 Encoded String: like binary, and the bytes are checked. */
int mq__rd_str(sl_rd *r, sl_slice *v, mq_err *err);
int mq__rd_u8(sl_rd *r, uint8_t *v, mq_err *err);
int mq__rd_u16(sl_rd *r, uint16_t *v, mq_err *err);

/* An MQTT 5 property block for packet `type` (or MQ_WILL): length, then
 * properties, each allowed in that packet, repeated only where allowed,
 * with values in range. */
int mq__props_decode(sl_rd *r, int type, sl_arena *a, mq_props *out,
                     mq_err *err);

/* 0 when the body was consumed exactly; trailing bytes are malformed. */
int mq__rd_end(const sl_rd *r, mq_err *err);

/* ---- writer ------------------------------------------------------------ */

typedef struct mq__w {
    sl_buf *b; /* NULL: count only */
    size_t n;  /* bytes counted or written */
    int err;   /* first error; later writes are skipped */
} mq__w;

void mq__w_u8(mq__w *w, uint8_t v);
void mq__w_u16(mq__w *w, uint16_t v);
void mq__w_u32(mq__w *w, uint32_t v);
void mq__w_varint(mq__w *w, uint32_t v);
void mq__w_raw(mq__w *w, sl_slice s);
/* A two-byte length and the bytes; SL_E_INVAL when longer than 65535. */
void mq__w_bin(mq__w *w, sl_slice s);
/* A property block for packet `type`; SL_E_INVAL for a property not
 * allowed there or a value out of range. */
void mq__w_props(mq__w *w, int type, const mq_props *ps);
void mq__w_fail(mq__w *w, int err);

/* Bytes a Variable Byte Integer takes. */
size_t mq__varint_len(uint32_t v);

/* ---- per-family entry points ------------------------------------------- */

int mq__connect_decode(const mq_frame *f, sl_arena *a, mq_connect *c,
                       mq_err *err);
int mq__connack_decode(const mq_frame *f, int version, sl_arena *a,
                       mq_connack *c, mq_err *err);
int mq__publish_decode(const mq_frame *f, int version, sl_arena *a,
                       mq_publish *p, mq_err *err);
int mq__ack_decode(const mq_frame *f, int version, sl_arena *a, mq_ack *k,
                   mq_err *err);
int mq__subscribe_decode(const mq_frame *f, int version, sl_arena *a,
                         mq_subscribe *s, mq_err *err);
int mq__suback_decode(const mq_frame *f, int version, sl_arena *a, mq_suback *s,
                      mq_err *err);
int mq__unsubscribe_decode(const mq_frame *f, int version, sl_arena *a,
                           mq_unsubscribe *u, mq_err *err);
int mq__disconnect_decode(const mq_frame *f, int version, sl_arena *a,
                          mq_disconnect *d, mq_err *err);

/* Bodies: the variable header and payload, written to w.  The fixed
 * header flags come from mq__flags(). */
void mq__connect_body(mq__w *w, const mq_connect *c);
void mq__connack_body(mq__w *w, int version, const mq_connack *c);
void mq__publish_body(mq__w *w, int version, const mq_publish *p);
void mq__ack_body(mq__w *w, int version, int type, const mq_ack *k);
void mq__subscribe_body(mq__w *w, int version, const mq_subscribe *s);
void mq__suback_body(mq__w *w, int version, int type, const mq_suback *s);
void mq__unsubscribe_body(mq__w *w, int version, const mq_unsubscribe *u);
void mq__disconnect_body(mq__w *w, int version, int type,
                         const mq_disconnect *d);

#endif /* MQ_CODEC_IMPL_H */
