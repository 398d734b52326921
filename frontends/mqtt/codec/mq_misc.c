/*
 * mq_misc.c — DISCONNECT and AUTH (3.14, 3.15); PINGREQ and PINGRESP have
 * no body at all and live in the dispatch of mq_frame.c.
 *
 *   fixed header  0xE0 (DISCONNECT) or 0xF0 (AUTH, MQTT 5 only)
 *   Reason Code   MQTT 5, byte; absent when the remaining length is 0,
 *                 which means 0x00 (Normal disconnection / Success)
 *   Properties    MQTT 5; absent when the remaining length is below 2,
 *                 which means none
 *
 * In 3.x a DISCONNECT has remaining length 0 (3.1.1 section 3.14).
 * Validity rules: a reason code the spec does not list for the packet
 * (3.14.2.1, 3.15.2.1) is a Protocol Error (0x82); allowed properties per
 * 2.2.2.2; nothing after the properties.  Left to the frontend: a Session
 * Expiry Interval in a DISCONNECT when the CONNECT had 0 [MQTT-3.14.2-2],
 * and the AUTH exchange itself (method must match the CONNECT's).
 */
#include "mq_codec_impl.h"

int
mq__disconnect_decode(const mq_frame *f, int version, sl_arena *a,
                      mq_disconnect *d, mq_err *err)
{
    sl_rd r;
    int rc;

    sl_rd_init(&r, f->body);
    if (version == MQ_V5 && sl_rd_left(&r) > 0) {
        if ((rc = mq__rd_u8(&r, &d->reason, err)) != 0)
            return rc;
        if (sl_rd_left(&r) > 0 &&
            (rc = mq__props_decode(&r, f->type, a, &d->props, err)) != 0)
            return rc;
    }
    if ((rc = mq__rd_end(&r, err)) != 0)
        return rc;
    if (!mq_reason_allowed(d->reason, f->type))
        return mq__fail(err, MQ_RC_PROTOCOL_ERROR,
                        "reason code not allowed in DISCONNECT/AUTH");
    return 0;
}

void
mq__disconnect_body(mq__w *w, int version, int type, const mq_disconnect *d)
{
    if (version == MQ_V5 ? !mq_reason_allowed(d->reason, type)
                         : type == MQ_AUTH || d->reason != 0 || d->props.n) {
        mq__w_fail(w, SL_E_INVAL);
        return;
    }
    if (version != MQ_V5 || (d->reason == 0 && d->props.n == 0))
        return;
    mq__w_u8(w, d->reason);
    if (d->props.n != 0)
        mq__w_props(w, type, &d->props);
}
