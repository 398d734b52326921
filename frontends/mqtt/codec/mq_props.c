/*
 * mq_props.c — MQTT 5 properties (2.2.2): the identifier table, the block
 * decoder and encoder, and the accessors.
 *
 * Byte layout of a property block:
 *
 *   Property Length   Variable Byte Integer: bytes of properties following
 *   properties        each: identifier (a Variable Byte Integer; every
 *                     defined identifier fits one byte) then a value of the
 *                     identifier's type:
 *                       byte      1 byte
 *                       u16, u32  2 / 4 bytes big endian
 *                       varint    Variable Byte Integer
 *                       string    2-byte length + UTF-8
 *                       pair      two strings (User Property)
 *                       binary    2-byte length + bytes
 *
 * Validity rules (a decoder that breaks one returns the reason in []):
 *   - every value lies inside the block, and the block inside the packet
 *     [0x81];
 *   - an identifier not defined, or not allowed in this packet (the table
 *     of 2.2.2.2), is a Malformed Packet [0x81];
 *   - no property appears twice, except User Property, and Subscription
 *     Identifier in PUBLISH (3.3.2.3.8) [0x82];
 *   - value ranges (each "It is a Protocol Error ..." of chapter 3) [0x82]:
 *     Payload Format Indicator, Request Problem Information, Request
 *     Response Information, Maximum QoS, Retain / Wildcard Subscription /
 *     Subscription Identifier / Shared Subscription Available are 0 or 1;
 *     Receive Maximum, Maximum Packet Size, Topic Alias and Subscription
 *     Identifier are not 0;
 *   - Authentication Data without Authentication Method [0x82];
 *   - strings are valid MQTT UTF-8 (1.5.4) [0x81].
 */
#include "mq_codec_impl.h"

#define B(t) (1u << (t))
#define ACKS (B(MQ_PUBACK) | B(MQ_PUBREC) | B(MQ_PUBREL) | B(MQ_PUBCOMP))
#define MSG  (B(MQ_PUBLISH) | B(MQ_WILL))

typedef struct prop_info {
    uint8_t type;    /* enum mq_ptype */
    uint8_t bool01;  /* value must be 0 or 1 */
    uint8_t nonzero; /* value must not be 0 */
    uint32_t where;  /* packets allowed in: bit per packet type, MQ_WILL */
    const char *name;
} prop_info;

/* Indexed by identifier.  The allowed-in sets follow 2.2.2.2. */
static const prop_info props_tab[0x2B] = {
    [0x01] = {MQ_PT_BYTE, 1, 0, MSG, "Payload Format Indicator"},
    [0x02] = {MQ_PT_U32, 0, 0, MSG, "Message Expiry Interval"},
    [0x03] = {MQ_PT_STR, 0, 0, MSG, "Content Type"},
    [0x08] = {MQ_PT_STR, 0, 0, MSG, "Response Topic"},
    [0x09] = {MQ_PT_BIN, 0, 0, MSG, "Correlation Data"},
    [0x0B] = {MQ_PT_VARINT, 0, 1, B(MQ_PUBLISH) | B(MQ_SUBSCRIBE),
              "Subscription Identifier"},
    [0x11] = {MQ_PT_U32, 0, 0, B(MQ_CONNECT) | B(MQ_CONNACK) | B(MQ_DISCONNECT),
              "Session Expiry Interval"},
    [0x12] = {MQ_PT_STR, 0, 0, B(MQ_CONNACK), "Assigned Client Identifier"},
    [0x13] = {MQ_PT_U16, 0, 0, B(MQ_CONNACK), "Server Keep Alive"},
    [0x15] = {MQ_PT_STR, 0, 0, B(MQ_CONNECT) | B(MQ_CONNACK) | B(MQ_AUTH),
              "Authentication Method"},
    [0x16] = {MQ_PT_BIN, 0, 0, B(MQ_CONNECT) | B(MQ_CONNACK) | B(MQ_AUTH),
              "Authentication Data"},
    [0x17] = {MQ_PT_BYTE, 1, 0, B(MQ_CONNECT), "Request Problem Information"},
    [0x18] = {MQ_PT_U32, 0, 0, B(MQ_WILL), "Will Delay Interval"},
    [0x19] = {MQ_PT_BYTE, 1, 0, B(MQ_CONNECT), "Request Response Information"},
    [0x1A] = {MQ_PT_STR, 0, 0, B(MQ_CONNACK), "Response Information"},
    [0x1C] = {MQ_PT_STR, 0, 0, B(MQ_CONNACK) | B(MQ_DISCONNECT),
              "Server Reference"},
    [0x1F] = {MQ_PT_STR, 0, 0,
              B(MQ_CONNACK) | ACKS | B(MQ_SUBACK) | B(MQ_UNSUBACK) |
                  B(MQ_DISCONNECT) | B(MQ_AUTH),
              "Reason String"},
    [0x21] = {MQ_PT_U16, 0, 1, B(MQ_CONNECT) | B(MQ_CONNACK),
              "Receive Maximum"},
    [0x22] = {MQ_PT_U16, 0, 0, B(MQ_CONNECT) | B(MQ_CONNACK),
              "Topic Alias Maximum"},
    [0x23] = {MQ_PT_U16, 0, 1, B(MQ_PUBLISH), "Topic Alias"},
    [0x24] = {MQ_PT_BYTE, 1, 0, B(MQ_CONNACK), "Maximum QoS"},
    [0x25] = {MQ_PT_BYTE, 1, 0, B(MQ_CONNACK), "Retain Available"},
    [0x26] = {MQ_PT_PAIR, 0, 0,
              B(MQ_CONNECT) | B(MQ_CONNACK) | MSG | ACKS | B(MQ_SUBSCRIBE) |
                  B(MQ_SUBACK) | B(MQ_UNSUBSCRIBE) | B(MQ_UNSUBACK) |
                  B(MQ_DISCONNECT) | B(MQ_AUTH),
              "User Property"},
    [0x27] = {MQ_PT_U32, 0, 1, B(MQ_CONNECT) | B(MQ_CONNACK),
              "Maximum Packet Size"},
    [0x28] = {MQ_PT_BYTE, 1, 0, B(MQ_CONNACK),
              "Wildcard Subscription Available"},
    [0x29] = {MQ_PT_BYTE, 1, 0, B(MQ_CONNACK),
              "Subscription Identifier Available"},
    [0x2A] = {MQ_PT_BYTE, 1, 0, B(MQ_CONNACK), "Shared Subscription Available"},
};

static const prop_info *
info_of(uint32_t id)
{
    if (id >= SL_ARRAY_LEN(props_tab) || props_tab[id].type == MQ_PT_NONE)
        return NULL;
    return &props_tab[id];
}

int
mq_prop_type(uint8_t id)
{
    const prop_info *pi = info_of(id);
    return pi ? pi->type : MQ_PT_NONE;
}

const char *
mq_prop_name(uint8_t id)
{
    const prop_info *pi = info_of(id);
    return pi ? pi->name : "?";
}

bool
mq_prop_allowed(uint8_t id, int type)
{
    const prop_info *pi = info_of(id);
    return pi != NULL && type >= 0 && type <= MQ_WILL &&
           (pi->where & B(type)) != 0;
}

bool
mq_prop_repeatable(uint8_t id, int type)
{
    return (id == MQ_P_USER_PROPERTY && mq_prop_allowed(id, type)) ||
           (id == MQ_P_SUBSCRIPTION_IDENTIFIER && type == MQ_PUBLISH);
}

const mq_prop *
mq_props_find(const mq_props *ps, uint8_t id)
{
    for (size_t i = 0; i < ps->n; i++)
        if (ps->v[i].id == id)
            return &ps->v[i];
    return NULL;
}

bool
mq_props_get_u32(const mq_props *ps, uint8_t id, uint32_t *v)
{
    const mq_prop *p = mq_props_find(ps, id);
    int t = mq_prop_type(id);
    if (p == NULL || t == MQ_PT_STR || t == MQ_PT_BIN || t == MQ_PT_PAIR)
        return false;
    *v = p->u;
    return true;
}

bool
mq_props_get_str(const mq_props *ps, uint8_t id, sl_slice *v)
{
    const mq_prop *p = mq_props_find(ps, id);
    int t = mq_prop_type(id);
    if (p == NULL || (t != MQ_PT_STR && t != MQ_PT_BIN && t != MQ_PT_PAIR))
        return false;
    *v = p->s;
    return true;
}

/* ---- decoding ---------------------------------------------------------- */

/* Value-range rule of one property; 0 or the failure. */
static int
check_value(const prop_info *pi, uint32_t u, mq_err *err)
{
    if (pi->bool01 && u > 1)
        return mq__fail(err, MQ_RC_PROTOCOL_ERROR,
                        "property value must be 0 or 1");
    if (pi->nonzero && u == 0)
        return mq__fail(err, MQ_RC_PROTOCOL_ERROR,
                        "[MQTT-3.3.2-8] property value must not be 0 (Topic "
                        "Alias, Subscription Identifier, Receive Maximum, "
                        "Maximum Packet Size)");
    return 0;
}

/* Read one property from r into *p. */
static int
read_one(sl_rd *r, int type, mq_prop *p, mq_err *err)
{
    uint32_t id;
    int rc = mq__rd_varint(r, &id, err);
    if (rc != 0)
        return rc;
    const prop_info *pi = info_of(id);
    if (pi == NULL)
        return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                        "unknown property identifier");
    if ((pi->where & B(type)) == 0)
        return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                        "property not allowed in this packet (2.2.2.2)");
    memset(p, 0, sizeof(*p));
    p->id = (uint8_t)id;
    switch (pi->type) {
    case MQ_PT_BYTE: {
        uint8_t v;
        rc = mq__rd_u8(r, &v, err);
        p->u = v;
        break;
    }
    case MQ_PT_U16: {
        uint16_t v;
        rc = mq__rd_u16(r, &v, err);
        p->u = v;
        break;
    }
    case MQ_PT_U32:
        if (sl_rd_u32be(r, &p->u) != 0)
            rc = mq__fail(err, MQ_RC_MALFORMED_PACKET, "packet too short");
        break;
    case MQ_PT_VARINT:
        rc = mq__rd_varint(r, &p->u, err);
        break;
    case MQ_PT_STR:
        rc = mq__rd_str(r, &p->s, err);
        break;
    case MQ_PT_BIN:
        rc = mq__rd_bin(r, &p->s, err);
        break;
    case MQ_PT_PAIR:
        rc = mq__rd_str(r, &p->s, err);
        if (rc == 0)
            rc = mq__rd_str(r, &p->v, err);
        break;
    }
    if (rc != 0)
        return rc;
    return check_value(pi, p->u, err);
}

int
mq__props_decode(sl_rd *r, int type, sl_arena *a, mq_props *out, mq_err *err)
{
    uint32_t len;
    sl_slice block;
    out->v = NULL;
    out->n = 0;
    int rc = mq__rd_varint(r, &len, err);
    if (rc != 0)
        return rc;
    if (sl_rd_bytes(r, len, &block) != 0)
        return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                        "property length runs past the packet");

    /* First pass: validate and count, so the array is allocated once at
     * its exact size. */
    uint64_t seen = 0;
    size_t count = 0;
    sl_rd br;
    mq_prop p;
    sl_rd_init(&br, block);
    while (sl_rd_left(&br) > 0) {
        rc = read_one(&br, type, &p, err);
        if (rc != 0)
            return rc;
        uint64_t bit = (uint64_t)1 << p.id;
        if ((seen & bit) != 0 && !mq_prop_repeatable(p.id, type))
            return mq__fail(err, MQ_RC_PROTOCOL_ERROR,
                            "property included more than once");
        seen |= bit;
        count++;
    }
    if ((seen & (uint64_t)1 << MQ_P_AUTHENTICATION_DATA) != 0 &&
        (seen & (uint64_t)1 << MQ_P_AUTHENTICATION_METHOD) == 0)
        return mq__fail(err, MQ_RC_PROTOCOL_ERROR,
                        "Authentication Data without Authentication Method");
    if (count == 0)
        return 0;
    out->v = sl_arena_calloc(a, count, sizeof(mq_prop));
    if (out->v == NULL) {
        if (err != NULL) {
            err->reason = MQ_RC_PACKET_TOO_LARGE;
            err->what = "too many properties for the decoder's arena";
        }
        return SL_E_TOOBIG;
    }
    sl_rd_init(&br, block);
    for (size_t i = 0; i < count; i++)
        (void)read_one(&br, type, &out->v[i], err); /* checked above */
    out->n = count;
    return 0;
}

/* ---- encoding ---------------------------------------------------------- */

/* Bytes of the properties themselves, without the length prefix; SIZE_MAX
 * when a property is unknown. */
static size_t
props_body_len(const mq_props *ps)
{
    size_t n = 0;
    for (size_t i = 0; i < ps->n; i++) {
        const mq_prop *p = &ps->v[i];
        const prop_info *pi = info_of(p->id);
        if (pi == NULL)
            return SIZE_MAX;
        n += 1;
        switch (pi->type) {
        case MQ_PT_BYTE:
            n += 1;
            break;
        case MQ_PT_U16:
            n += 2;
            break;
        case MQ_PT_U32:
            n += 4;
            break;
        case MQ_PT_VARINT:
            n += mq__varint_len(p->u);
            break;
        case MQ_PT_STR:
        case MQ_PT_BIN:
            n += 2 + p->s.n;
            break;
        case MQ_PT_PAIR:
            n += 4 + p->s.n + p->v.n;
            break;
        }
    }
    return n;
}

size_t
mq_props_size(const mq_props *ps)
{
    size_t n = props_body_len(ps);
    if (n == SIZE_MAX)
        return n;
    return mq__varint_len(n > MQ_MAX_VARINT ? MQ_MAX_VARINT : (uint32_t)n) + n;
}

void
mq__w_props(mq__w *w, int type, const mq_props *ps)
{
    size_t len = props_body_len(ps);
    if (len > MQ_MAX_VARINT) {
        mq__w_fail(w, SL_E_INVAL);
        return;
    }
    uint64_t seen = 0;
    mq__w_varint(w, (uint32_t)len);
    for (size_t i = 0; i < ps->n; i++) {
        const mq_prop *p = &ps->v[i];
        const prop_info *pi = info_of(p->id);
        uint64_t bit = (uint64_t)1 << p->id;
        /* The encoder holds itself to the rules the decoder enforces, so
         * that we never send what we would refuse. */
        if ((pi->where & B(type)) == 0 || check_value(pi, p->u, NULL) != 0 ||
            ((seen & bit) != 0 && !mq_prop_repeatable(p->id, type))) {
            mq__w_fail(w, SL_E_INVAL);
            return;
        }
        seen |= bit;
        mq__w_u8(w, p->id);
        switch (pi->type) {
        case MQ_PT_BYTE:
            if (p->u > 255)
                mq__w_fail(w, SL_E_INVAL);
            mq__w_u8(w, (uint8_t)p->u);
            break;
        case MQ_PT_U16:
            if (p->u > 65535)
                mq__w_fail(w, SL_E_INVAL);
            mq__w_u16(w, (uint16_t)p->u);
            break;
        case MQ_PT_U32:
            mq__w_u32(w, p->u);
            break;
        case MQ_PT_VARINT:
            mq__w_varint(w, p->u);
            break;
        case MQ_PT_STR:
        case MQ_PT_BIN:
            mq__w_bin(w, p->s);
            break;
        case MQ_PT_PAIR:
            mq__w_bin(w, p->s);
            mq__w_bin(w, p->v);
            break;
        }
    }
}
