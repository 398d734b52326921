/*
 * mq_connect.c — CONNECT and CONNACK (3.1, 3.2; 3.1.1 sections 3.1, 3.2).
 *
 * CONNECT (fixed header 0x10):
 *
 *   Protocol Name    string "MQTT" (levels 4, 5) or "MQIsdp" (level 3)
 *   Protocol Level   byte 3, 4 or 5; Mosquitto bridges set bit 7 in 3.x
 *   Connect Flags    7 User Name, 6 Password, 5 Will Retain, 4..3 Will
 *                    QoS, 2 Will Flag, 1 Clean Session / Clean Start,
 *                    0 reserved
 *   Keep Alive       u16 seconds
 *   Properties       MQTT 5 only
 *   Client Id        string (may be empty, see below)
 *   Will Properties  MQTT 5, when Will Flag
 *   Will Topic       string, when Will Flag; a topic name (no wildcards)
 *   Will Payload     binary, when Will Flag
 *   User Name        string, when User Name flag
 *   Password         binary, when Password flag
 *
 * Validity rules, each with the reason the decoder reports:
 *   - a protocol name other than "MQTT"/"MQIsdp", a level not 3/4/5, or a
 *     name that does not go with the level: SL_E_VERSION, 0x84
 *     [MQTT-3.1.2-1] [MQTT-3.1.2-2];
 *   - reserved flag bit 0 set: 0x81 [MQTT-3.1.2-3];
 *   - Will QoS 3: 0x81 [MQTT-3.1.2-12] (3.1.1: -14);
 *   - Will Flag 0 with Will QoS or Will Retain set: 0x81 [MQTT-3.1.2-11]
 *     [MQTT-3.1.2-13] (3.1.1: -13, -15);
 *   - 3.x: Password flag without User Name flag: 0x81 [MQTT-3.1.2-22]
 *     (MQTT 5 allows a password alone);
 *   - 3.1.1: empty client id with Clean Session 0: 0x85, answered with
 *     return code 0x02 [MQTT-3.1.3-8]; 3.1: client id must be 1..23
 *     bytes (3.1 section 3.1), else 0x85;
 *   - will topic with wildcards or empty: 0x90 [MQTT-3.3.2-2] applied to
 *     the will message, which is published like a PUBLISH;
 *   - every string is MQTT UTF-8 [MQTT-1.5.4-1]; nothing may follow the
 *     last field.
 *
 * CONNACK (fixed header 0x20):
 *
 *   Acknowledge Flags  bit 0 Session Present; bits 7..1 reserved, 0
 *                      [MQTT-3.2.2-1]
 *   Reason Code        MQTT 5 reason code, or 3.x return code 0..5
 *   Properties         MQTT 5 only
 *
 * Session Present must be 0 with a failure code [MQTT-3.2.2-4] (3.1.1;
 * MQTT 5 [MQTT-3.2.2-6]); a reason code not allowed in CONNACK is a
 * Protocol Error.
 */
#include "mq_codec_impl.h"

/* Protocol level of a protocol name; 0 when unknown. */
static int
level_of_name(sl_slice name)
{
    if (sl_slice_eq_str(name, "MQTT"))
        return MQ_V311;
    if (sl_slice_eq_str(name, "MQIsdp"))
        return MQ_V31;
    return 0;
}

static int
fail_version(mq_err *err, const char *what)
{
    if (err != NULL) {
        err->reason = MQ_RC_UNSUPPORTED_PROTOCOL_VERSION;
        err->what = what;
    }
    return SL_E_VERSION;
}

int
mq__connect_decode(const mq_frame *f, sl_arena *a, mq_connect *c, mq_err *err)
{
    sl_rd r;
    uint8_t level, flags;
    int rc;

    sl_rd_init(&r, f->body);
    if ((rc = mq__rd_bin(&r, &c->proto_name, err)) != 0)
        return rc;
    if ((rc = mq__rd_u8(&r, &level, err)) != 0)
        return rc;
    c->version = level;
    int base = level_of_name(c->proto_name);
    if (base == 0)
        return fail_version(err, "[MQTT-3.1.2-1] unknown protocol name");
    /* Mosquitto bridges announce themselves with bit 7 of a 3.x level. */
    if ((level & 0x80) != 0 && (level & 0x7f) != MQ_V5) {
        c->bridge = true;
        level &= 0x7f;
        c->version = level;
    }
    if (level != MQ_V31 && level != MQ_V311 && level != MQ_V5)
        return fail_version(err, "[MQTT-3.1.2-2] unsupported protocol level");
    if ((base == MQ_V31) != (level == MQ_V31))
        return fail_version(err, "protocol name does not match the level");

    if ((rc = mq__rd_u8(&r, &flags, err)) != 0)
        return rc;
    if ((flags & 0x01) != 0)
        return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                        "[MQTT-3.1.2-3] reserved connect flag is set");
    c->clean_start = (flags & 0x02) != 0;
    c->will_flag = (flags & 0x04) != 0;
    c->will.qos = (flags >> 3) & 3;
    c->will.retain = (flags & 0x20) != 0;
    c->password_flag = (flags & 0x40) != 0;
    c->username_flag = (flags & 0x80) != 0;
    if (c->will.qos == 3)
        return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                        "[MQTT-3.1.2-12] will QoS 3");
    if (!c->will_flag && (c->will.qos != 0 || c->will.retain))
        return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                        "[MQTT-3.1.2-11] [MQTT-3.1.2-13] will QoS or retain "
                        "set without the will flag");
    if (level != MQ_V5 && c->password_flag && !c->username_flag)
        return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                        "[MQTT-3.1.2-22] password flag without user name "
                        "flag");
    if ((rc = mq__rd_u16(&r, &c->keep_alive, err)) != 0)
        return rc;
    if (level == MQ_V5 &&
        (rc = mq__props_decode(&r, MQ_CONNECT, a, &c->props, err)) != 0)
        return rc;

    if ((rc = mq__rd_str(&r, &c->client_id, err)) != 0)
        return rc;
    if (c->will_flag) {
        if (level == MQ_V5 &&
            (rc = mq__props_decode(&r, MQ_WILL, a, &c->will.props, err)) != 0)
            return rc;
        if ((rc = mq__rd_str(&r, &c->will.topic, err)) != 0)
            return rc;
        if ((rc = mq__rd_bin(&r, &c->will.payload, err)) != 0)
            return rc;
    }
    if (c->username_flag && (rc = mq__rd_str(&r, &c->username, err)) != 0)
        return rc;
    if (c->password_flag && (rc = mq__rd_bin(&r, &c->password, err)) != 0)
        return rc;
    if ((rc = mq__rd_end(&r, err)) != 0)
        return rc;

    /* Checks on well-formed fields come last, so that a packet both
     * malformed and with, say, a bad client id is reported as malformed. */
    if (c->will_flag && mq_topic_name_check(c->will.topic) != 0)
        return mq__fail(err, MQ_RC_TOPIC_NAME_INVALID,
                        "[MQTT-3.3.2-2] will topic is empty or has wildcards");
    if (level == MQ_V311 && c->client_id.n == 0 && !c->clean_start)
        return mq__fail(err, MQ_RC_CLIENT_IDENTIFIER_NOT_VALID,
                        "[MQTT-3.1.3-8] empty client id needs clean session");
    if (level == MQ_V31 && (c->client_id.n == 0 || c->client_id.n > 23))
        return mq__fail(err, MQ_RC_CLIENT_IDENTIFIER_NOT_VALID,
                        "MQTT 3.1 client id must be 1 to 23 bytes");
    return 0;
}

void
mq__connect_body(mq__w *w, const mq_connect *c)
{
    int v = c->version;
    if (v != MQ_V31 && v != MQ_V311 && v != MQ_V5) {
        mq__w_fail(w, SL_E_INVAL);
        return;
    }
    const mq_will *will = &c->will;
    if (will->qos > 2 || (!c->will_flag && (will->qos || will->retain)) ||
        (v != MQ_V5 && c->password_flag && !c->username_flag) ||
        (v != MQ_V5 && (c->props.n || will->props.n)) ||
        (v == MQ_V5 && c->bridge)) {
        mq__w_fail(w, SL_E_INVAL);
        return;
    }
    uint8_t flags =
        (uint8_t)((c->username_flag ? 0x80 : 0) |
                  (c->password_flag ? 0x40 : 0) |
                  (c->will_flag && will->retain ? 0x20 : 0) |
                  (c->will_flag ? will->qos << 3 : 0) |
                  (c->will_flag ? 0x04 : 0) | (c->clean_start ? 0x02 : 0));
    mq__w_bin(w, sl_slice_str(v == MQ_V31 ? "MQIsdp" : "MQTT"));
    mq__w_u8(w, (uint8_t)(v | (c->bridge ? 0x80 : 0)));
    mq__w_u8(w, flags);
    mq__w_u16(w, c->keep_alive);
    if (v == MQ_V5)
        mq__w_props(w, MQ_CONNECT, &c->props);
    mq__w_bin(w, c->client_id);
    if (c->will_flag) {
        if (v == MQ_V5)
            mq__w_props(w, MQ_WILL, &will->props);
        mq__w_bin(w, will->topic);
        mq__w_bin(w, will->payload);
    }
    if (c->username_flag)
        mq__w_bin(w, c->username);
    if (c->password_flag)
        mq__w_bin(w, c->password);
}

int
mq__connack_decode(const mq_frame *f, int version, sl_arena *a, mq_connack *c,
                   mq_err *err)
{
    sl_rd r;
    uint8_t flags;
    int rc;

    sl_rd_init(&r, f->body);
    if ((rc = mq__rd_u8(&r, &flags, err)) != 0 ||
        (rc = mq__rd_u8(&r, &c->code, err)) != 0)
        return rc;
    if ((flags & 0xfe) != 0)
        return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                        "[MQTT-3.2.2-1] reserved acknowledge flags set");
    c->session_present = (flags & 1) != 0;
    if (version == MQ_V5) {
        if ((rc = mq__props_decode(&r, MQ_CONNACK, a, &c->props, err)) != 0)
            return rc;
        if (!mq_reason_allowed(c->code, MQ_CONNACK))
            return mq__fail(err, MQ_RC_PROTOCOL_ERROR,
                            "reason code not allowed in CONNACK");
    } else if (c->code > MQ_V3_NOT_AUTHORIZED) {
        return mq__fail(err, MQ_RC_PROTOCOL_ERROR,
                        "CONNACK return code is reserved");
    }
    if ((rc = mq__rd_end(&r, err)) != 0)
        return rc;
    if (c->session_present && c->code != 0)
        return mq__fail(err, MQ_RC_PROTOCOL_ERROR,
                        "[MQTT-3.2.2-4] [MQTT-3.2.2-6] session present with "
                        "a failure code");
    return 0;
}

void
mq__connack_body(mq__w *w, int version, const mq_connack *c)
{
    if ((version == MQ_V5 ? !mq_reason_allowed(c->code, MQ_CONNACK)
                          : c->code > MQ_V3_NOT_AUTHORIZED || c->props.n) ||
        (c->session_present && c->code != 0)) {
        mq__w_fail(w, SL_E_INVAL);
        return;
    }
    mq__w_u8(w, c->session_present ? 1 : 0);
    mq__w_u8(w, c->code);
    if (version == MQ_V5)
        mq__w_props(w, MQ_CONNACK, &c->props);
}
