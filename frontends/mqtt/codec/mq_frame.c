/*
 * mq_frame.c — MQTT framing, the field readers and writers every packet
 * family uses, and the decode/encode dispatch over packet types.
 *
 * Fixed header (2.1, all versions):
 *
 *   byte 0      bits 7..4 packet type (1..15; 0 is reserved, 15 AUTH
 *               exists only in MQTT 5), bits 3..0 flags
 *   bytes 1..4  Remaining Length, a Variable Byte Integer: 7 bits per byte,
 *               least significant group first, bit 7 = "more bytes follow";
 *               at most 4 bytes (max 268,435,455) and, in MQTT 5, in the
 *               shortest form [MQTT-1.5.5-1] — we hold 3.x to the same
 *               rule, since no client sends padded lengths
 *   then        Remaining Length bytes: variable header and payload
 *
 * Flags must be exactly (2.1.3, [MQTT-2.1.3-1]; 3.1.1 [MQTT-2.2.2-1]):
 * 0010 for PUBREL, SUBSCRIBE and UNSUBSCRIBE, DUP/QoS/RETAIN for PUBLISH,
 * 0000 for every other type; other values are a Malformed Packet
 * [MQTT-2.2.2-2].  MQTT 3.1 clients may also set DUP on a retried PUBREL,
 * SUBSCRIBE or UNSUBSCRIBE (3.1 carried DUP and QoS in every header), so
 * for level 3 those three accept 1010 too.
 *
 * Field encodings (1.5): two-byte integers and four-byte integers are big
 * endian; UTF-8 strings and binary data are a two-byte length followed by
 * that many bytes.
 */
#include <errno.h>

#include "mq_codec_impl.h"

/* ---- errors and readers ------------------------------------------------ */

int
mq__fail(mq_err *err, uint8_t reason, const char *what)
{
    if (err != NULL) {
        err->reason = reason;
        err->what = what;
    }
    return SL_E_MALFORMED;
}

/* Decode a Variable Byte Integer from p[0..n): the number of bytes used,
 * 0 when more bytes are needed, -1 when it is longer than four bytes or
 * not in its shortest form. */
static int
varint_peek(const uint8_t *p, size_t n, uint32_t *v)
{
    uint32_t val = 0;
    for (size_t i = 0; i < 4; i++) {
        if (i >= n)
            return 0;
        val |= (uint32_t)(p[i] & 0x7f) << (7 * i);
        if ((p[i] & 0x80) == 0) {
            /* A last byte of 0 after the first adds nothing: the same
             * value has a shorter encoding. */
            if (i > 0 && p[i] == 0)
                return -1;
            *v = val;
            return (int)i + 1;
        }
    }
    return -1;
}

int
mq__rd_varint(sl_rd *r, uint32_t *v, mq_err *err)
{
    int k = varint_peek(sl_rd_ptr(r), sl_rd_left(r), v);
    if (k == 0)
        return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                        "variable byte integer runs past the packet");
    if (k < 0)
        return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                        "[MQTT-1.5.5-1] variable byte integer over 4 bytes "
                        "or not minimal");
    r->off += (size_t)k;
    return 0;
}

int
mq__rd_u8(sl_rd *r, uint8_t *v, mq_err *err)
{
    if (sl_rd_u8(r, v) != 0)
        return mq__fail(err, MQ_RC_MALFORMED_PACKET, "packet too short");
    return 0;
}

int
mq__rd_u16(sl_rd *r, uint16_t *v, mq_err *err)
{
    if (sl_rd_u16be(r, v) != 0)
        return mq__fail(err, MQ_RC_MALFORMED_PACKET, "packet too short");
    return 0;
}

int
mq__rd_bin(sl_rd *r, sl_slice *v, mq_err *err)
{
    size_t save = r->off;
    uint16_t len;
    if (sl_rd_u16be(r, &len) != 0 || sl_rd_bytes(r, len, v) != 0) {
        r->off = save;
        return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                        "string or binary length runs past the packet");
    }
    return 0;
}

int
mq__rd_str(sl_rd *r, sl_slice *v, mq_err *err)
{
    size_t save = r->off;
    int rc = mq__rd_bin(r, v, err);
    if (rc != 0)
        return rc;
    if (mq_utf8_check(*v, 0) != 0) {
        r->off = save;
        return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                        "[MQTT-1.5.4-1] [MQTT-1.5.4-2] string is not valid "
                        "UTF-8 or contains U+0000");
    }
    return 0;
}

int
mq__rd_end(const sl_rd *r, mq_err *err)
{
    if (sl_rd_left(r) != 0)
        return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                        "bytes left over after the packet's last field");
    return 0;
}

/* ---- writer ------------------------------------------------------------ */

void
mq__w_fail(mq__w *w, int err)
{
    if (w->err == 0)
        w->err = err;
}

void
mq__w_raw(mq__w *w, sl_slice s)
{
    if (w->err != 0)
        return;
    if (w->b != NULL && s.n > 0 && sl_buf_append(w->b, s.p, s.n) != 0) {
        w->err = -ENOMEM;
        return;
    }
    w->n += s.n;
}

void
mq__w_u8(mq__w *w, uint8_t v)
{
    mq__w_raw(w, sl_slice_make(&v, 1));
}

void
mq__w_u16(mq__w *w, uint16_t v)
{
    uint8_t p[2];
    sl_put_u16be(p, v);
    mq__w_raw(w, sl_slice_make(p, 2));
}

void
mq__w_u32(mq__w *w, uint32_t v)
{
    uint8_t p[4];
    sl_put_u32be(p, v);
    mq__w_raw(w, sl_slice_make(p, 4));
}

size_t
mq__varint_len(uint32_t v)
{
    return v < 128u ? 1 : v < 16384u ? 2 : v < 2097152u ? 3 : 4;
}

void
mq__w_varint(mq__w *w, uint32_t v)
{
    uint8_t p[4];
    size_t n = 0;
    if (v > MQ_MAX_VARINT) {
        mq__w_fail(w, SL_E_INVAL);
        return;
    }
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        p[n++] = (uint8_t)(v ? byte | 0x80 : byte);
    } while (v != 0);
    mq__w_raw(w, sl_slice_make(p, n));
}

void
mq__w_bin(mq__w *w, sl_slice s)
{
    if (s.n > 65535) {
        mq__w_fail(w, SL_E_INVAL);
        return;
    }
    mq__w_u16(w, (uint16_t)s.n);
    mq__w_raw(w, s);
}

/* ---- framing ----------------------------------------------------------- */

int
mq_frame_parse(sl_slice buf, uint32_t max_packet, mq_frame *f)
{
    uint32_t len;
    if (buf.n < 2)
        return SL_E_PARTIAL;
    int k = varint_peek(buf.p + 1, buf.n - 1, &len);
    if (k == 0)
        return SL_E_PARTIAL;
    if (k < 0)
        return SL_E_MALFORMED;
    f->type = buf.p[0] >> 4;
    f->flags = buf.p[0] & 0x0f;
    f->size = 1 + (size_t)k + len;
    f->body = sl_slice_make(NULL, 0);
    if (max_packet == 0 || max_packet > MQ_MAX_PACKET)
        max_packet = MQ_MAX_PACKET;
    /* Reported before the body arrives, so that a peer announcing a huge
     * packet is refused without buffering it. */
    if (f->size > max_packet)
        return SL_E_TOOBIG;
    if (buf.n < f->size)
        return SL_E_PARTIAL;
    f->body = sl_slice_make(buf.p + 1 + k, len);
    return 0;
}

static const char *const type_names[16] = {
    "RESERVED", "CONNECT",  "CONNACK",    "PUBLISH", "PUBACK",      "PUBREC",
    "PUBREL",   "PUBCOMP",  "SUBSCRIBE",  "SUBACK",  "UNSUBSCRIBE", "UNSUBACK",
    "PINGREQ",  "PINGRESP", "DISCONNECT", "AUTH"};

const char *
mq_type_name(int type)
{
    if (type < 1 || type > 15)
        return "?";
    return type_names[type];
}

/* The fixed-header flags a packet of this type must carry (PUBLISH: its
 * own, checked by its decoder). */
static uint8_t
required_flags(int type)
{
    switch (type) {
    case MQ_PUBREL:
    case MQ_SUBSCRIBE:
    case MQ_UNSUBSCRIBE:
        return 0x2;
    default:
        return 0x0;
    }
}

static int
check_header(const mq_frame *f, int version, mq_err *err)
{
    if (f->type == 0)
        return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                        "packet type 0 is reserved");
    if (f->type == MQ_AUTH && version != MQ_V5)
        return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                        "packet type 15 is reserved before MQTT 5");
    if (f->type == MQ_PUBLISH)
        return 0;
    uint8_t want = required_flags(f->type);
    uint8_t got = f->flags;
    if (version == MQ_V31 && want == 0x2)
        got &= 0x7; /* 3.1 allowed DUP on these; see the file comment */
    if (got != want)
        return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                        "[MQTT-2.1.3-1] [MQTT-2.2.2-2] reserved fixed header "
                        "flags have the wrong value");
    return 0;
}

int
mq_packet_decode(const mq_frame *f, int version, sl_arena *a, mq_packet *out,
                 mq_err *err)
{
    memset(out, 0, sizeof(*out));
    out->type = f->type;
    if (f->type != MQ_CONNECT && version != MQ_V31 && version != MQ_V311 &&
        version != MQ_V5)
        return mq__fail(err, MQ_RC_UNSPECIFIED_ERROR,
                        "decoder called with an unknown version");
    int rc = check_header(f, f->type == MQ_CONNECT ? MQ_V5 : version, err);
    if (rc != 0)
        return rc;
    switch (f->type) {
    case MQ_CONNECT:
        return mq__connect_decode(f, a, &out->u.connect, err);
    case MQ_CONNACK:
        return mq__connack_decode(f, version, a, &out->u.connack, err);
    case MQ_PUBLISH:
        return mq__publish_decode(f, version, a, &out->u.publish, err);
    case MQ_PUBACK:
    case MQ_PUBREC:
    case MQ_PUBREL:
    case MQ_PUBCOMP:
        return mq__ack_decode(f, version, a, &out->u.ack, err);
    case MQ_SUBSCRIBE:
        return mq__subscribe_decode(f, version, a, &out->u.subscribe, err);
    case MQ_SUBACK:
    case MQ_UNSUBACK:
        return mq__suback_decode(f, version, a, &out->u.suback, err);
    case MQ_UNSUBSCRIBE:
        return mq__unsubscribe_decode(f, version, a, &out->u.unsubscribe, err);
    case MQ_PINGREQ:
    case MQ_PINGRESP:
        if (f->body.n != 0)
            return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                            "PINGREQ/PINGRESP must have no body");
        return 0;
    default: /* DISCONNECT, AUTH */
        return mq__disconnect_decode(f, version, a, &out->u.disconnect, err);
    }
}

int
mq_packet_parse(sl_slice buf, int version, sl_arena *a, mq_packet *out,
                mq_err *err)
{
    mq_frame f;
    int rc = mq_frame_parse(buf, 0, &f);
    if (rc == SL_E_MALFORMED)
        return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                        "[MQTT-1.5.5-1] bad remaining length");
    if (rc != 0)
        return rc;
    if (f.size != buf.n)
        return mq__fail(err, MQ_RC_MALFORMED_PACKET, "bytes after the packet");
    return mq_packet_decode(&f, version, a, out, err);
}

/* ---- encode dispatch --------------------------------------------------- */

/* Write p's variable header and payload; return its fixed-header byte. */
static uint8_t
packet_body(mq__w *w, int version, const mq_packet *p)
{
    uint8_t flags = required_flags(p->type);
    if (version != MQ_V31 && version != MQ_V311 && version != MQ_V5 &&
        p->type != MQ_CONNECT) {
        mq__w_fail(w, SL_E_INVAL);
        return 0;
    }
    switch (p->type) {
    case MQ_CONNECT:
        mq__connect_body(w, &p->u.connect);
        break;
    case MQ_CONNACK:
        mq__connack_body(w, version, &p->u.connack);
        break;
    case MQ_PUBLISH: {
        const mq_publish *pub = &p->u.publish;
        flags = (uint8_t)((pub->dup ? 0x8 : 0) | (pub->qos & 3) << 1 |
                          (pub->retain ? 1 : 0));
        mq__publish_body(w, version, pub);
        break;
    }
    case MQ_PUBACK:
    case MQ_PUBREC:
    case MQ_PUBREL:
    case MQ_PUBCOMP:
        mq__ack_body(w, version, p->type, &p->u.ack);
        break;
    case MQ_SUBSCRIBE:
        mq__subscribe_body(w, version, &p->u.subscribe);
        break;
    case MQ_SUBACK:
    case MQ_UNSUBACK:
        mq__suback_body(w, version, p->type, &p->u.suback);
        break;
    case MQ_UNSUBSCRIBE:
        mq__unsubscribe_body(w, version, &p->u.unsubscribe);
        break;
    case MQ_PINGREQ:
    case MQ_PINGRESP:
        break;
    case MQ_DISCONNECT:
    case MQ_AUTH:
        mq__disconnect_body(w, version, p->type, &p->u.disconnect);
        break;
    default:
        mq__w_fail(w, SL_E_INVAL);
    }
    return (uint8_t)(p->type << 4 | flags);
}

int
mq_packet_size(int version, const mq_packet *p, size_t *size)
{
    mq__w w = {NULL, 0, 0};
    packet_body(&w, version, p);
    if (w.err != 0)
        return w.err;
    if (w.n > MQ_MAX_REMAINING)
        return SL_E_INVAL;
    *size = 1 + mq__varint_len((uint32_t)w.n) + w.n;
    return 0;
}

int
mq_packet_encode(sl_buf *b, int version, const mq_packet *p)
{
    mq__w w = {NULL, 0, 0};
    uint8_t first = packet_body(&w, version, p);
    if (w.err != 0)
        return w.err;
    if (w.n > MQ_MAX_REMAINING)
        return SL_E_INVAL;
    size_t start = b->n;
    size_t body = w.n;
    if (sl_buf_reserve(b, 1 + mq__varint_len((uint32_t)body) + body) != 0)
        return -ENOMEM;
    w = (mq__w){b, 0, 0};
    mq__w_u8(&w, first);
    mq__w_varint(&w, (uint32_t)body);
    packet_body(&w, version, p);
    if (w.err != 0) {
        b->n = start; /* never leave half a packet in the buffer */
        return w.err;
    }
    return 0;
}

/* ---- fitting a packet to the peer's Maximum Packet Size ---------------- */

static mq_props *
packet_props(mq_packet *p)
{
    switch (p->type) {
    case MQ_CONNACK:
        return &p->u.connack.props;
    case MQ_PUBACK:
    case MQ_PUBREC:
    case MQ_PUBREL:
    case MQ_PUBCOMP:
        return &p->u.ack.props;
    case MQ_SUBACK:
    case MQ_UNSUBACK:
        return &p->u.suback.props;
    case MQ_DISCONNECT:
    case MQ_AUTH:
        return &p->u.disconnect.props;
    default:
        /* CONNECT, SUBSCRIBE, UNSUBSCRIBE are client packets and PUBLISH
         * properties belong to the application: nothing may be dropped. */
        return NULL;
    }
}

static void
props_drop(mq_props *ps, uint8_t id)
{
    size_t j = 0;
    for (size_t i = 0; i < ps->n; i++)
        if (ps->v[i].id != id)
            ps->v[j++] = ps->v[i];
    ps->n = j;
}

int
mq_packet_fit(int version, mq_packet *p, uint32_t max_packet)
{
    static const uint8_t droppable[] = {MQ_P_REASON_STRING, MQ_P_USER_PROPERTY};
    size_t size;
    int rc = mq_packet_size(version, p, &size);
    if (rc != 0)
        return rc;
    if (max_packet == 0 || size <= max_packet)
        return 0;
    mq_props *ps = packet_props(p);
    for (size_t i = 0; ps != NULL && i < SL_ARRAY_LEN(droppable); i++) {
        props_drop(ps, droppable[i]);
        rc = mq_packet_size(version, p, &size);
        if (rc != 0)
            return rc;
        if (size <= max_packet)
            return 0;
    }
    return SL_E_TOOBIG;
}

/* ---- typed encoders: thin wrappers over mq_packet_encode --------------- */

int
mq_connect_encode(sl_buf *b, const mq_connect *c)
{
    mq_packet p = {.type = MQ_CONNECT, .u.connect = *c};
    return mq_packet_encode(b, c->version, &p);
}

int
mq_connack_encode(sl_buf *b, int version, const mq_connack *c)
{
    mq_packet p = {.type = MQ_CONNACK, .u.connack = *c};
    return mq_packet_encode(b, version, &p);
}

int
mq_publish_encode(sl_buf *b, int version, const mq_publish *pub)
{
    mq_packet p = {.type = MQ_PUBLISH, .u.publish = *pub};
    return mq_packet_encode(b, version, &p);
}

int
mq_ack_encode(sl_buf *b, int version, int type, const mq_ack *a)
{
    if (type < MQ_PUBACK || type > MQ_PUBCOMP)
        return SL_E_INVAL;
    mq_packet p = {.type = (uint8_t)type, .u.ack = *a};
    return mq_packet_encode(b, version, &p);
}

int
mq_subscribe_encode(sl_buf *b, int version, const mq_subscribe *s)
{
    mq_packet p = {.type = MQ_SUBSCRIBE, .u.subscribe = *s};
    return mq_packet_encode(b, version, &p);
}

int
mq_suback_encode(sl_buf *b, int version, const mq_suback *s)
{
    mq_packet p = {.type = MQ_SUBACK, .u.suback = *s};
    return mq_packet_encode(b, version, &p);
}

int
mq_unsubscribe_encode(sl_buf *b, int version, const mq_unsubscribe *u)
{
    mq_packet p = {.type = MQ_UNSUBSCRIBE, .u.unsubscribe = *u};
    return mq_packet_encode(b, version, &p);
}

int
mq_unsuback_encode(sl_buf *b, int version, const mq_suback *s)
{
    mq_packet p = {.type = MQ_UNSUBACK, .u.suback = *s};
    return mq_packet_encode(b, version, &p);
}

int
mq_pingreq_encode(sl_buf *b)
{
    mq_packet p = {.type = MQ_PINGREQ};
    return mq_packet_encode(b, MQ_V311, &p);
}

int
mq_pingresp_encode(sl_buf *b)
{
    mq_packet p = {.type = MQ_PINGRESP};
    return mq_packet_encode(b, MQ_V311, &p);
}

int
mq_disconnect_encode(sl_buf *b, int version, const mq_disconnect *d)
{
    mq_packet p = {.type = MQ_DISCONNECT, .u.disconnect = *d};
    return mq_packet_encode(b, version, &p);
}

int
mq_auth_encode(sl_buf *b, int version, const mq_disconnect *d)
{
    mq_packet p = {.type = MQ_AUTH, .u.disconnect = *d};
    return mq_packet_encode(b, version, &p);
}
