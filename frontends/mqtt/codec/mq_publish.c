/*
 * mq_publish.c — PUBLISH (3.3; 3.1.1 section 3.3).
 *
 *   fixed header  0x3 << 4 | DUP << 3 | QoS << 1 | RETAIN
 *   Topic Name    string; a topic name, never a filter
 *   Packet Id     u16, only when QoS > 0
 *   Properties    MQTT 5 only
 *   Payload       the rest of the packet (may be empty)
 *
 * Validity rules, with the reason the decoder reports:
 *   - QoS 3: 0x81 [MQTT-3.3.1-4];
 *   - DUP set with QoS 0: 0x81 [MQTT-3.3.1-2];
 *   - Packet Identifier 0 with QoS > 0: 0x82 [MQTT-2.2.1-3] (3.1.1
 *     [MQTT-2.3.1-1]);
 *   - topic not UTF-8 or with U+0000: 0x81 [MQTT-1.5.4-1] [MQTT-1.5.4-2];
 *   - topic with '+' or '#': 0x90 [MQTT-3.3.2-2];
 *   - empty topic: in MQTT 5 allowed only with a Topic Alias, else 0x82
 *     (3.3.2.1); in 3.x always 0x90 [MQTT-4.7.3-1];
 *   - Topic Alias 0: 0x82 [MQTT-3.3.2-8] (in mq_props.c, with the other
 *     property rules).
 *
 * Left to the frontend, which knows the connection: a Topic Alias above the
 * Topic Alias Maximum it announced (0x94, [MQTT-3.3.2-9]) or unknown for an
 * empty topic; a Subscription Identifier in a PUBLISH from a client
 * (0x82, [MQTT-3.3.4-6]); the UTF-8 check of a payload that says it is
 * UTF-8 (mq_publish_payload_check(), 0x99).
 */
#include "mq_codec_impl.h"

int
mq__publish_decode(const mq_frame *f, int version, sl_arena *a, mq_publish *p,
                   mq_err *err)
{
    sl_rd r;
    int rc;

    p->dup = (f->flags & 0x8) != 0;
    p->qos = (f->flags >> 1) & 3;
    p->retain = (f->flags & 0x1) != 0;
    if (p->qos == 3)
        return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                        "[MQTT-3.3.1-4] PUBLISH with QoS 3");
    if (p->dup && p->qos == 0)
        return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                        "[MQTT-3.3.1-2] DUP set on a QoS 0 PUBLISH");

    sl_rd_init(&r, f->body);
    if ((rc = mq__rd_str(&r, &p->topic, err)) != 0)
        return rc;
    if (p->qos > 0) {
        if ((rc = mq__rd_u16(&r, &p->packet_id, err)) != 0)
            return rc;
        if (p->packet_id == 0)
            return mq__fail(err, MQ_RC_PROTOCOL_ERROR,
                            "[MQTT-2.2.1-3] [MQTT-2.3.1-1] packet identifier "
                            "0");
    }
    if (version == MQ_V5 &&
        (rc = mq__props_decode(&r, MQ_PUBLISH, a, &p->props, err)) != 0)
        return rc;
    /* The payload is whatever is left; its length is implied. */
    p->payload = sl_slice_make(sl_rd_ptr(&r), sl_rd_left(&r));

    if (p->topic.n == 0) {
        if (version != MQ_V5)
            return mq__fail(err, MQ_RC_TOPIC_NAME_INVALID,
                            "[MQTT-4.7.3-1] empty topic name");
        if (mq_props_find(&p->props, MQ_P_TOPIC_ALIAS) == NULL)
            return mq__fail(err, MQ_RC_PROTOCOL_ERROR,
                            "empty topic name without a Topic Alias");
    } else if (mq_topic_name_check(p->topic) != 0) {
        return mq__fail(err, MQ_RC_TOPIC_NAME_INVALID,
                        "[MQTT-3.3.2-2] wildcard in a PUBLISH topic name");
    }
    return 0;
}

void
mq__publish_body(mq__w *w, int version, const mq_publish *p)
{
    bool alias =
        version == MQ_V5 && mq_props_find(&p->props, MQ_P_TOPIC_ALIAS) != NULL;
    if (p->qos > 2 || (p->dup && p->qos == 0) ||
        (p->qos > 0 && p->packet_id == 0) ||
        (version != MQ_V5 && p->props.n != 0) ||
        (p->topic.n == 0 ? !alias : mq_topic_name_check(p->topic) != 0)) {
        mq__w_fail(w, SL_E_INVAL);
        return;
    }
    mq__w_bin(w, p->topic);
    if (p->qos > 0)
        mq__w_u16(w, p->packet_id);
    if (version == MQ_V5)
        mq__w_props(w, MQ_PUBLISH, &p->props);
    mq__w_raw(w, p->payload);
}

int
mq_publish_payload_check(const mq_publish *p, mq_err *err)
{
    uint32_t pfi;
    if (!mq_props_get_u32(&p->props, MQ_P_PAYLOAD_FORMAT_INDICATOR, &pfi) ||
        pfi != 1)
        return 0;
    if (mq_utf8_check(p->payload, 0) != 0)
        return mq__fail(err, MQ_RC_PAYLOAD_FORMAT_INVALID,
                        "payload format indicator says UTF-8 but the "
                        "payload is not");
    return 0;
}
