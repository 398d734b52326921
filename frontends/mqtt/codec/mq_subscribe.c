/*
 * mq_subscribe.c — SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK (3.8 to 3.11;
 * 3.1.1 sections 3.8 to 3.11).
 *
 * SUBSCRIBE (fixed header 0x82, flags 0010 [MQTT-3.8.1-1]):
 *
 *   Packet Id     u16, not 0
 *   Properties    MQTT 5 (Subscription Identifier once, User Property)
 *   then, at least once [MQTT-3.8.3-2] (3.1.1 [MQTT-3.8.3-3]):
 *     Topic Filter          string
 *     Subscription Options  byte: bits 1..0 maximum QoS, 2 No Local,
 *                           3 Retain As Published, 5..4 Retain Handling,
 *                           7..6 reserved; in 3.x only the QoS bits exist
 *
 * SUBACK (0x90):      Packet Id, Properties (5), one reason code per filter
 * UNSUBSCRIBE (0xA2): Packet Id, Properties (5), at least one filter
 *                     [MQTT-3.10.3-2]
 * UNSUBACK (0xB0):    Packet Id; in MQTT 5 Properties and one reason code
 *                     per filter; in 3.x nothing more
 *
 * Validity rules, with the reason the decoder reports:
 *   - packet id 0: 0x82 [MQTT-2.2.1-3];
 *   - no filter: 0x82 [MQTT-3.8.3-2] [MQTT-3.10.3-2];
 *   - reserved option bits set: 0x81 [MQTT-3.8.3-5] (3.1.1
 *     [MQTT-3-8.3-4], which also makes QoS 3 malformed);
 *   - MQTT 5: QoS 3 or Retain Handling 3: 0x82 (3.8.3.1);
 *   - a filter that is not UTF-8, or breaks the wildcard rules
 *     [MQTT-4.7.1-1] [MQTT-4.7.1-2] [MQTT-4.7.3-1]: 0x81;
 *   - MQTT 5: a "$share/" filter with a bad share name [MQTT-4.8.2-1]
 *     [MQTT-4.8.2-2]: 0x81; No Local on a shared subscription: 0x82
 *     [MQTT-3.8.3-4];
 *   - SUBACK / UNSUBACK codes not listed for the packet and version: 0x82.
 */
#include "mq_codec_impl.h"

/* Check a filter as received; 0 or the failure. */
static int
check_filter(sl_slice filter, int version, bool *shared, mq_err *err)
{
    int sh = 0;
    *shared = false;
    if (version == MQ_V5) {
        sh = mq_topic_share_parse(filter, NULL);
        if (sh < 0)
            return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                            "[MQTT-4.8.2-1] [MQTT-4.8.2-2] bad shared "
                            "subscription");
        *shared = sh == 1;
    }
    if (sh == 0 && mq_topic_filter_check(filter) != 0)
        return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                        "[MQTT-4.7.1-1] [MQTT-4.7.1-2] [MQTT-4.7.3-1] bad "
                        "topic filter");
    return 0;
}

static int
read_sub(sl_rd *r, int version, mq_sub *s, mq_err *err)
{
    uint8_t o;
    bool shared;
    int rc;
    if ((rc = mq__rd_str(r, &s->filter, err)) != 0 ||
        (rc = mq__rd_u8(r, &o, err)) != 0)
        return rc;
    s->qos = o & 3;
    if (version != MQ_V5) {
        if ((o & 0xfc) != 0 || s->qos == 3)
            return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                            "[MQTT-3-8.3-4] reserved subscription bits or "
                            "QoS 3");
    } else {
        if ((o & 0xc0) != 0)
            return mq__fail(err, MQ_RC_MALFORMED_PACKET,
                            "[MQTT-3.8.3-5] reserved subscription option "
                            "bits set");
        s->no_local = (o & 0x04) != 0;
        s->retain_as_published = (o & 0x08) != 0;
        s->retain_handling = (o >> 4) & 3;
        if (s->qos == 3 || s->retain_handling == 3)
            return mq__fail(err, MQ_RC_PROTOCOL_ERROR,
                            "subscription QoS 3 or retain handling 3");
    }
    if ((rc = check_filter(s->filter, version, &shared, err)) != 0)
        return rc;
    if (shared && s->no_local)
        return mq__fail(err, MQ_RC_PROTOCOL_ERROR,
                        "[MQTT-3.8.3-4] No Local on a shared subscription");
    return 0;
}

/* Packet id (not 0) and, in MQTT 5, the property block. */
static int
read_head(sl_rd *r, const mq_frame *f, int version, sl_arena *a, uint16_t *id,
          mq_props *props, mq_err *err)
{
    int rc;
    if ((rc = mq__rd_u16(r, id, err)) != 0)
        return rc;
    if (version == MQ_V5 &&
        (rc = mq__props_decode(r, f->type, a, props, err)) != 0)
        return rc;
    if (*id == 0)
        return mq__fail(err, MQ_RC_PROTOCOL_ERROR,
                        "[MQTT-2.2.1-3] packet identifier 0");
    return 0;
}

static int
arena_full(mq_err *err)
{
    if (err != NULL) {
        err->reason = MQ_RC_PACKET_TOO_LARGE;
        err->what = "too many entries for the decoder's arena";
    }
    return SL_E_TOOBIG;
}

int
mq__subscribe_decode(const mq_frame *f, int version, sl_arena *a,
                     mq_subscribe *s, mq_err *err)
{
    sl_rd r;
    mq_sub tmp;
    int rc;

    sl_rd_init(&r, f->body);
    if ((rc = read_head(&r, f, version, a, &s->packet_id, &s->props, err)))
        return rc;
    /* Validate and count first, then allocate the exact array and fill
     * it on a second pass that cannot fail. */
    size_t start = r.off, n = 0;
    while (sl_rd_left(&r) > 0) {
        memset(&tmp, 0, sizeof(tmp));
        if ((rc = read_sub(&r, version, &tmp, err)) != 0)
            return rc;
        n++;
    }
    if (n == 0)
        return mq__fail(err, MQ_RC_PROTOCOL_ERROR,
                        "[MQTT-3.8.3-2] [MQTT-3.8.3-3] SUBSCRIBE without a "
                        "topic filter");
    s->subs = sl_arena_calloc(a, n, sizeof(mq_sub));
    if (s->subs == NULL)
        return arena_full(err);
    r.off = start;
    for (size_t i = 0; i < n; i++)
        (void)read_sub(&r, version, &s->subs[i], err);
    s->n = n;
    return 0;
}

void
mq__subscribe_body(mq__w *w, int version, const mq_subscribe *s)
{
    if (s->packet_id == 0 || s->n == 0 ||
        (version != MQ_V5 && s->props.n != 0)) {
        mq__w_fail(w, SL_E_INVAL);
        return;
    }
    mq__w_u16(w, s->packet_id);
    if (version == MQ_V5)
        mq__w_props(w, MQ_SUBSCRIBE, &s->props);
    for (size_t i = 0; i < s->n; i++) {
        const mq_sub *e = &s->subs[i];
        bool v5 = version == MQ_V5;
        if (e->qos > 2 || e->retain_handling > 2 ||
            (!v5 &&
             (e->no_local || e->retain_as_published || e->retain_handling))) {
            mq__w_fail(w, SL_E_INVAL);
            return;
        }
        mq__w_bin(w, e->filter);
        mq__w_u8(w, (uint8_t)(e->qos | (e->no_local ? 0x04 : 0) |
                              (e->retain_as_published ? 0x08 : 0) |
                              e->retain_handling << 4));
    }
}

static bool
suback_code_ok(uint8_t code, int version, int type)
{
    if (version == MQ_V5)
        return mq_reason_allowed(code, type);
    return type == MQ_SUBACK && (code <= 2 || code == 0x80);
}

int
mq__suback_decode(const mq_frame *f, int version, sl_arena *a, mq_suback *s,
                  mq_err *err)
{
    sl_rd r;
    int rc;

    sl_rd_init(&r, f->body);
    if ((rc = read_head(&r, f, version, a, &s->packet_id, &s->props, err)))
        return rc;
    size_t n = sl_rd_left(&r);
    /* A 3.x UNSUBACK ends at the packet id; the rest have one code per
     * filter and at least one filter. */
    if (f->type == MQ_UNSUBACK && version != MQ_V5)
        return mq__rd_end(&r, err);
    if (n == 0)
        return mq__fail(err, MQ_RC_PROTOCOL_ERROR,
                        "acknowledgement without reason codes");
    for (size_t i = 0; i < n; i++)
        if (!suback_code_ok(sl_rd_ptr(&r)[i], version, f->type))
            return mq__fail(err, MQ_RC_PROTOCOL_ERROR,
                            "reason code not allowed in SUBACK/UNSUBACK");
    s->codes = sl_arena_alloc(a, n);
    if (s->codes == NULL)
        return arena_full(err);
    memcpy(s->codes, sl_rd_ptr(&r), n);
    s->n = n;
    return 0;
}

void
mq__suback_body(mq__w *w, int version, int type, const mq_suback *s)
{
    bool bare = type == MQ_UNSUBACK && version != MQ_V5;
    if (s->packet_id == 0 || (bare ? s->n != 0 : s->n == 0) ||
        (version != MQ_V5 && s->props.n != 0)) {
        mq__w_fail(w, SL_E_INVAL);
        return;
    }
    mq__w_u16(w, s->packet_id);
    if (version == MQ_V5)
        mq__w_props(w, type, &s->props);
    for (size_t i = 0; i < s->n; i++) {
        if (!suback_code_ok(s->codes[i], version, type)) {
            mq__w_fail(w, SL_E_INVAL);
            return;
        }
        mq__w_u8(w, s->codes[i]);
    }
}

static int
read_unsub(sl_rd *r, int version, sl_slice *filter, mq_err *err)
{
    bool shared;
    int rc = mq__rd_str(r, filter, err);
    if (rc != 0)
        return rc;
    return check_filter(*filter, version, &shared, err);
}

int
mq__unsubscribe_decode(const mq_frame *f, int version, sl_arena *a,
                       mq_unsubscribe *u, mq_err *err)
{
    sl_rd r;
    sl_slice tmp;
    int rc;

    sl_rd_init(&r, f->body);
    if ((rc = read_head(&r, f, version, a, &u->packet_id, &u->props, err)))
        return rc;
    size_t start = r.off, n = 0;
    while (sl_rd_left(&r) > 0) {
        if ((rc = read_unsub(&r, version, &tmp, err)) != 0)
            return rc;
        n++;
    }
    if (n == 0)
        return mq__fail(err, MQ_RC_PROTOCOL_ERROR,
                        "[MQTT-3.10.3-2] UNSUBSCRIBE without a topic filter");
    u->filters = sl_arena_calloc(a, n, sizeof(sl_slice));
    if (u->filters == NULL)
        return arena_full(err);
    r.off = start;
    for (size_t i = 0; i < n; i++)
        (void)read_unsub(&r, version, &u->filters[i], err);
    u->n = n;
    return 0;
}

void
mq__unsubscribe_body(mq__w *w, int version, const mq_unsubscribe *u)
{
    if (u->packet_id == 0 || u->n == 0 ||
        (version != MQ_V5 && u->props.n != 0)) {
        mq__w_fail(w, SL_E_INVAL);
        return;
    }
    mq__w_u16(w, u->packet_id);
    if (version == MQ_V5)
        mq__w_props(w, MQ_UNSUBSCRIBE, &u->props);
    for (size_t i = 0; i < u->n; i++)
        mq__w_bin(w, u->filters[i]);
}
