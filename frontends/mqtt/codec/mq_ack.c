/*
 * mq_ack.c — PUBACK, PUBREC, PUBREL and PUBCOMP (3.4 to 3.7; 3.1.1
 * sections 3.4 to 3.7), which share one layout:
 *
 *   fixed header  type << 4 | flags: 0000, except PUBREL 0010
 *                 [MQTT-3.6.1-1] (checked in mq_frame.c)
 *   Packet Id     u16, never 0
 *   Reason Code   MQTT 5 only, byte
 *   Properties    MQTT 5 only
 *
 * MQTT 5 allows short forms (3.4.2.1): remaining length 2 means reason
 * 0x00 (Success) and no properties; remaining length 3 means a reason
 * code and no properties.  The encoder uses the shortest form that holds
 * the values.  In 3.x the remaining length is exactly 2.
 *
 * Validity rules: Packet Identifier 0 is a Protocol Error (0x82,
 * [MQTT-2.2.1-3]); a reason code the spec does not list for the packet is
 * a Protocol Error (0x82; PUBACK/PUBREC 3.4.2.1, PUBREL/PUBCOMP 3.6.2.1);
 * anything after the packet id in 3.x, or after the properties in MQTT 5,
 * is malformed (0x81).
 */
#include "mq_codec_impl.h"

int
mq__ack_decode(const mq_frame *f, int version, sl_arena *a, mq_ack *k,
               mq_err *err)
{
    sl_rd r;
    int rc;

    sl_rd_init(&r, f->body);
    if ((rc = mq__rd_u16(&r, &k->packet_id, err)) != 0)
        return rc;
    if (version == MQ_V5 && sl_rd_left(&r) > 0) {
        if ((rc = mq__rd_u8(&r, &k->reason, err)) != 0)
            return rc;
        if (sl_rd_left(&r) > 0 &&
            (rc = mq__props_decode(&r, f->type, a, &k->props, err)) != 0)
            return rc;
    }
    if ((rc = mq__rd_end(&r, err)) != 0)
        return rc;
    if (k->packet_id == 0)
        return mq__fail(err, MQ_RC_PROTOCOL_ERROR,
                        "[MQTT-2.2.1-3] packet identifier 0");
    if (!mq_reason_allowed(k->reason, f->type))
        return mq__fail(err, MQ_RC_PROTOCOL_ERROR,
                        "reason code not allowed in this acknowledgement");
    return 0;
}

void
mq__ack_body(mq__w *w, int version, int type, const mq_ack *k)
{
    if (k->packet_id == 0 ||
        (version == MQ_V5 ? !mq_reason_allowed(k->reason, type)
                          : k->reason != 0 || k->props.n != 0)) {
        mq__w_fail(w, SL_E_INVAL);
        return;
    }
    mq__w_u16(w, k->packet_id);
    if (version != MQ_V5 || (k->reason == 0 && k->props.n == 0))
        return;
    mq__w_u8(w, k->reason);
    if (k->props.n != 0)
        mq__w_props(w, type, &k->props);
}
