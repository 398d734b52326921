/*
 * mq_codec_test.c — the MQTT codec's packets: framing, every packet type
 * in every protocol version (encode -> decode -> compare every field,
 * every property type), spec test vectors tagged with the conformance
 * statement they check, truncation at every byte, the bad inputs of the
 * MQTT frontend issue with the reason code each must produce, and packets
 * captured from real clients (mq_vectors.h).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mq_codec.h"
#include "mq_vectors.h"

static _Alignas(16) uint8_t arena_mem[1 << 16];
static sl_arena arena;

/* ---- helpers ----------------------------------------------------------- */

static size_t
unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = hex; *p != '\0';) {
        if (*p == ' ') {
            p++;
            continue;
        }
        unsigned v;
        assert_true(sscanf(p, "%2x", &v) == 1);
        assert_true(n < cap);
        out[n++] = (uint8_t)v;
        p += 2;
    }
    return n;
}

/* Decode a whole packet from a heap copy of exactly its size, so that a
 * read past the end trips AddressSanitizer. */
static int
decode_bytes(const uint8_t *p, size_t n, int version, mq_packet *out,
             mq_err *err)
{
    uint8_t *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, p, n);
    sl_arena_init(&arena, arena_mem, sizeof(arena_mem));
    int rc = mq_packet_parse(sl_slice_make(copy, n), version, &arena, out, err);
    /* Views point into copy; tests that keep them use decode_hex_keep. */
    free(copy);
    return rc;
}

static uint8_t keep_buf[4096];

/* Decode hex kept alive in keep_buf (views stay valid until next call). */
static int
decode_hex(const char *hex, int version, mq_packet *out, mq_err *err)
{
    size_t n = unhex(hex, keep_buf, sizeof(keep_buf));
    sl_arena_init(&arena, arena_mem, sizeof(arena_mem));
    return mq_packet_parse(sl_slice_make(keep_buf, n), version, &arena, out,
                           err);
}

static bool
same(sl_slice a, sl_slice b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static void
props_eq(const mq_props *a, const mq_props *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_int_equal(a->v[i].id, b->v[i].id);
        assert_int_equal(a->v[i].u, b->v[i].u);
        assert_true(same(a->v[i].s, b->v[i].s));
        assert_true(same(a->v[i].v, b->v[i].v));
    }
}

/* Compare every field of two packets of the same type. */
static void
packet_eq(const mq_packet *a, const mq_packet *b)
{
    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case MQ_CONNECT: {
        const mq_connect *x = &a->u.connect, *y = &b->u.connect;
        assert_int_equal(x->version, y->version);
        assert_int_equal(x->bridge, y->bridge);
        assert_int_equal(x->clean_start, y->clean_start);
        assert_int_equal(x->keep_alive, y->keep_alive);
        props_eq(&x->props, &y->props);
        assert_true(same(x->client_id, y->client_id));
        assert_int_equal(x->will_flag, y->will_flag);
        if (x->will_flag) {
            assert_int_equal(x->will.qos, y->will.qos);
            assert_int_equal(x->will.retain, y->will.retain);
            props_eq(&x->will.props, &y->will.props);
            assert_true(same(x->will.topic, y->will.topic));
            assert_true(same(x->will.payload, y->will.payload));
        }
        assert_int_equal(x->username_flag, y->username_flag);
        assert_true(same(x->username, y->username));
        assert_int_equal(x->password_flag, y->password_flag);
        assert_true(same(x->password, y->password));
        break;
    }
    case MQ_CONNACK:
        assert_int_equal(a->u.connack.session_present,
                         b->u.connack.session_present);
        assert_int_equal(a->u.connack.code, b->u.connack.code);
        props_eq(&a->u.connack.props, &b->u.connack.props);
        break;
    case MQ_PUBLISH: {
        const mq_publish *x = &a->u.publish, *y = &b->u.publish;
        assert_int_equal(x->dup, y->dup);
        assert_int_equal(x->qos, y->qos);
        assert_int_equal(x->retain, y->retain);
        assert_true(same(x->topic, y->topic));
        assert_int_equal(x->packet_id, y->packet_id);
        props_eq(&x->props, &y->props);
        assert_true(same(x->payload, y->payload));
        break;
    }
    case MQ_PUBACK:
    case MQ_PUBREC:
    case MQ_PUBREL:
    case MQ_PUBCOMP:
        assert_int_equal(a->u.ack.packet_id, b->u.ack.packet_id);
        assert_int_equal(a->u.ack.reason, b->u.ack.reason);
        props_eq(&a->u.ack.props, &b->u.ack.props);
        break;
    case MQ_SUBSCRIBE: {
        const mq_subscribe *x = &a->u.subscribe, *y = &b->u.subscribe;
        assert_int_equal(x->packet_id, y->packet_id);
        props_eq(&x->props, &y->props);
        assert_int_equal(x->n, y->n);
        for (size_t i = 0; i < x->n; i++) {
            assert_true(same(x->subs[i].filter, y->subs[i].filter));
            assert_int_equal(x->subs[i].qos, y->subs[i].qos);
            assert_int_equal(x->subs[i].no_local, y->subs[i].no_local);
            assert_int_equal(x->subs[i].retain_as_published,
                             y->subs[i].retain_as_published);
            assert_int_equal(x->subs[i].retain_handling,
                             y->subs[i].retain_handling);
        }
        break;
    }
    case MQ_SUBACK:
    case MQ_UNSUBACK:
        assert_int_equal(a->u.suback.packet_id, b->u.suback.packet_id);
        props_eq(&a->u.suback.props, &b->u.suback.props);
        assert_int_equal(a->u.suback.n, b->u.suback.n);
        if (a->u.suback.n)
            assert_memory_equal(a->u.suback.codes, b->u.suback.codes,
                                a->u.suback.n);
        break;
    case MQ_UNSUBSCRIBE:
        assert_int_equal(a->u.unsubscribe.packet_id,
                         b->u.unsubscribe.packet_id);
        props_eq(&a->u.unsubscribe.props, &b->u.unsubscribe.props);
        assert_int_equal(a->u.unsubscribe.n, b->u.unsubscribe.n);
        for (size_t i = 0; i < a->u.unsubscribe.n; i++)
            assert_true(
                same(a->u.unsubscribe.filters[i], b->u.unsubscribe.filters[i]));
        break;
    case MQ_DISCONNECT:
    case MQ_AUTH:
        assert_int_equal(a->u.disconnect.reason, b->u.disconnect.reason);
        props_eq(&a->u.disconnect.props, &b->u.disconnect.props);
        break;
    default:
        break;
    }
}

/* Truncate the body at every byte (the remaining length rewritten to
 * match) and the stream at every byte: never a crash or a read out of
 * bounds; the stream prefix is always SL_E_PARTIAL. */
static void
truncations(const uint8_t *p, size_t n, int version)
{
    mq_frame f;
    mq_packet out;
    mq_err err;
    for (size_t k = 0; k < n; k++) {
        uint8_t *copy = malloc(k ? k : 1);
        assert_non_null(copy);
        memcpy(copy, p, k);
        assert_int_equal(mq_frame_parse(sl_slice_make(copy, k), 0, &f),
                         SL_E_PARTIAL);
        free(copy);
    }
    assert_int_equal(mq_frame_parse(sl_slice_make(p, n), 0, &f), 0);
    for (size_t k = 0; k < f.body.n; k++) {
        uint8_t *body = malloc(k ? k : 1);
        assert_non_null(body);
        memcpy(body, f.body.p, k);
        mq_frame g = f;
        g.body = sl_slice_make(body, k);
        sl_arena_init(&arena, arena_mem, sizeof(arena_mem));
        int rc = mq_packet_decode(&g, version, &arena, &out, &err);
        /* Some prefixes are legal packets (a PUBLISH with less payload, an
         * acknowledgement's short forms); the others must fail as
         * malformed or protocol errors, never as anything else. */
        if (rc != 0) {
            assert_true(rc == SL_E_MALFORMED || rc == SL_E_VERSION);
            assert_true(err.reason >= 0x80);
            assert_non_null(err.what);
        }
        free(body);
    }
}

/* Encode p, check the size computation, decode, compare every field,
 * and try every truncation. */
static void
roundtrip(int version, const mq_packet *p)
{
    sl_buf b;
    size_t size;
    mq_packet out;
    mq_err err = {0, NULL};
    sl_buf_init(&b);
    int rc = mq_packet_encode(&b, version, p);
    if (rc != 0)
        fail_msg("encode %s v%d: %d", mq_type_name(p->type), version, rc);
    assert_int_equal(mq_packet_size(version, p, &size), 0);
    assert_int_equal(size, b.n);
    uint8_t *copy = malloc(b.n);
    assert_non_null(copy);
    memcpy(copy, b.p, b.n);
    sl_arena_init(&arena, arena_mem, sizeof(arena_mem));
    rc = mq_packet_parse(sl_slice_make(copy, b.n), version, &arena, &out, &err);
    if (rc != 0)
        fail_msg("decode %s v%d: %d %s", mq_type_name(p->type), version, rc,
                 err.what ? err.what : "");
    packet_eq(p, &out);
    truncations(copy, b.n, version);
    free(copy);
    sl_buf_fini(&b);
}

#define S(x) sl_slice_str(x)
#define PROPS(arr)                                                             \
    (mq_props)                                                                 \
    {                                                                          \
        (arr), SL_ARRAY_LEN(arr)                                               \
    }

static mq_prop
pu(uint8_t id, uint32_t u)
{
    return (mq_prop){.id = id, .u = u};
}
static mq_prop
ps(uint8_t id, const char *s)
{
    return (mq_prop){.id = id, .s = S(s)};
}
static mq_prop
pb(uint8_t id, const void *p, size_t n)
{
    return (mq_prop){.id = id, .s = sl_slice_make(p, n)};
}
static mq_prop
pp(const char *k, const char *v)
{
    return (mq_prop){.id = MQ_P_USER_PROPERTY, .s = S(k), .v = S(v)};
}

static const int versions[] = {MQ_V31, MQ_V311, MQ_V5};

/* ---- round trips, every packet, every version -------------------------- */

static void
test_roundtrip_connect(void **state)
{
    (void)state;
    static const uint8_t bin[] = {0x00, 0xff, 0x10};
    mq_prop cprops[] = {
        pu(MQ_P_SESSION_EXPIRY_INTERVAL, 0xffffffffu),
        pu(MQ_P_RECEIVE_MAXIMUM, 65535),
        pu(MQ_P_MAXIMUM_PACKET_SIZE, 1048576),
        pu(MQ_P_TOPIC_ALIAS_MAXIMUM, 10),
        pu(MQ_P_REQUEST_RESPONSE_INFORMATION, 1),
        pu(MQ_P_REQUEST_PROBLEM_INFORMATION, 0),
        pp("region", "eu"),
        pp("region", "us"),
        ps(MQ_P_AUTHENTICATION_METHOD, "SCRAM-SHA-1"),
        pb(MQ_P_AUTHENTICATION_DATA, bin, sizeof(bin)),
    };
    mq_prop wprops[] = {
        pu(MQ_P_WILL_DELAY_INTERVAL, 30),
        pu(MQ_P_PAYLOAD_FORMAT_INDICATOR, 1),
        pu(MQ_P_MESSAGE_EXPIRY_INTERVAL, 3600),
        ps(MQ_P_CONTENT_TYPE, "text/plain"),
        ps(MQ_P_RESPONSE_TOPIC, "r/t"),
        pb(MQ_P_CORRELATION_DATA, bin, sizeof(bin)),
        pp("k", ""),
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(versions); i++) {
        int v = versions[i];
        mq_packet p = {.type = MQ_CONNECT};
        mq_connect *c = &p.u.connect;
        c->version = (uint8_t)v;
        c->clean_start = v != MQ_V5;
        c->keep_alive = 60;
        c->client_id = S("client-1");
        c->will_flag = true;
        c->will.qos = 2;
        c->will.retain = true;
        c->will.topic = S("dev/1/status");
        c->will.payload = sl_slice_make(bin, sizeof(bin));
        c->username_flag = true;
        c->username = S("alice");
        c->password_flag = true;
        c->password = sl_slice_make(bin, sizeof(bin));
        if (v == MQ_V5) {
            c->props = PROPS(cprops);
            c->will.props = PROPS(wprops);
        }
        roundtrip(v, &p);
        /* Minimal: no will, no credentials; 3.1.1/5 with an empty id. */
        memset(c, 0, sizeof(*c));
        c->version = (uint8_t)v;
        c->clean_start = true;
        c->client_id = v == MQ_V31 ? S("x") : S("");
        roundtrip(v, &p);
        if (v == MQ_V5) { /* a password alone is legal in MQTT 5 */
            c->password_flag = true;
            c->password = S("pw");
            roundtrip(v, &p);
        } else { /* bridges */
            c->bridge = true;
            roundtrip(v, &p);
        }
    }
}

static void
test_roundtrip_connack(void **state)
{
    (void)state;
    mq_prop props[] = {
        pu(MQ_P_SESSION_EXPIRY_INTERVAL, 120),
        ps(MQ_P_ASSIGNED_CLIENT_IDENTIFIER, "auto-7f3a"),
        pu(MQ_P_SERVER_KEEP_ALIVE, 30),
        pu(MQ_P_RECEIVE_MAXIMUM, 100),
        pu(MQ_P_TOPIC_ALIAS_MAXIMUM, 16),
        pu(MQ_P_MAXIMUM_QOS, 1),
        pu(MQ_P_RETAIN_AVAILABLE, 1),
        pu(MQ_P_MAXIMUM_PACKET_SIZE, 1048576),
        pu(MQ_P_WILDCARD_SUBSCRIPTION_AVAILABLE, 1),
        pu(MQ_P_SUBSCRIPTION_IDENTIFIER_AVAILABLE, 1),
        pu(MQ_P_SHARED_SUBSCRIPTION_AVAILABLE, 0),
        ps(MQ_P_RESPONSE_INFORMATION, "resp/"),
        ps(MQ_P_SERVER_REFERENCE, "other:1883"),
        ps(MQ_P_REASON_STRING, "welcome"),
        ps(MQ_P_AUTHENTICATION_METHOD, "m"),
        pp("a", "b"),
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(versions); i++) {
        int v = versions[i];
        mq_packet p = {.type = MQ_CONNACK};
        p.u.connack.session_present = true;
        if (v == MQ_V5)
            p.u.connack.props = PROPS(props);
        roundtrip(v, &p);
        p.u.connack.session_present = false;
        p.u.connack.props = (mq_props){NULL, 0};
        for (uint8_t code = 1; code <= 5; code++) {
            p.u.connack.code = v == MQ_V5 ? mq_connack_code_v5(code) : code;
            roundtrip(v, &p);
        }
    }
}

static void
test_roundtrip_publish(void **state)
{
    (void)state;
    static const uint8_t corr[] = {1, 2, 3, 0};
    mq_prop props[] = {
        pu(MQ_P_PAYLOAD_FORMAT_INDICATOR, 1),
        pu(MQ_P_MESSAGE_EXPIRY_INTERVAL, 60),
        pu(MQ_P_TOPIC_ALIAS, 5),
        ps(MQ_P_RESPONSE_TOPIC, "reply/to"),
        pb(MQ_P_CORRELATION_DATA, corr, sizeof(corr)),
        pp("unit", "celsius"),
        pp("unit", "kelvin"),
        pu(MQ_P_SUBSCRIPTION_IDENTIFIER, 1),
        pu(MQ_P_SUBSCRIPTION_IDENTIFIER, MQ_MAX_VARINT),
        ps(MQ_P_CONTENT_TYPE, "application/json"),
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(versions); i++) {
        int v = versions[i];
        for (uint8_t qos = 0; qos <= 2; qos++) {
            mq_packet p = {.type = MQ_PUBLISH};
            mq_publish *pub = &p.u.publish;
            pub->qos = qos;
            pub->dup = qos > 0;
            pub->retain = qos != 1;
            pub->topic = S("sensors/kitchen/temp");
            pub->packet_id = qos ? (uint16_t)(0xfff0 + qos) : 0;
            pub->payload = S("{\"t\":21.5}");
            if (v == MQ_V5)
                pub->props = PROPS(props);
            roundtrip(v, &p);
            pub->payload = S("");
            roundtrip(v, &p);
            if (v == MQ_V5) { /* topic via alias only */
                pub->topic = S("");
                roundtrip(v, &p);
            }
        }
    }
}

static void
test_roundtrip_acks(void **state)
{
    (void)state;
    mq_prop props[] = {ps(MQ_P_REASON_STRING, "why"), pp("k", "v")};
    static const uint8_t types[] = {MQ_PUBACK, MQ_PUBREC, MQ_PUBREL,
                                    MQ_PUBCOMP};
    for (size_t i = 0; i < SL_ARRAY_LEN(versions); i++) {
        int v = versions[i];
        for (size_t t = 0; t < SL_ARRAY_LEN(types); t++) {
            mq_packet p = {.type = types[t]};
            p.u.ack.packet_id = 0x1234;
            roundtrip(v, &p);
            if (v != MQ_V5)
                continue;
            bool rel = types[t] == MQ_PUBREL || types[t] == MQ_PUBCOMP;
            p.u.ack.reason = rel ? 0x92 : 0x10;
            roundtrip(v, &p); /* reason only: remaining length 3 */
            p.u.ack.props = PROPS(props);
            roundtrip(v, &p);
            p.u.ack.reason = 0;
            roundtrip(v, &p);
        }
    }
}

static void
test_roundtrip_subscribe(void **state)
{
    (void)state;
    mq_prop props[] = {pu(MQ_P_SUBSCRIPTION_IDENTIFIER, 16384),
                       pp("who", "me")};
    mq_sub subs[] = {
        {.filter = S("a/+/c"), .qos = 0},
        {.filter = S("#"), .qos = 1},
        {.filter = S("$share/grp/x/#"), .qos = 2},
    };
    mq_sub subs5[] = {
        {.filter = S("a/+/c"),
         .qos = 1,
         .no_local = true,
         .retain_as_published = true,
         .retain_handling = 2},
        {.filter = S("$share/grp/x/#"), .qos = 2, .retain_handling = 1},
        {.filter = S("/"), .qos = 0, .retain_as_published = true},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(versions); i++) {
        int v = versions[i];
        mq_packet p = {.type = MQ_SUBSCRIBE};
        p.u.subscribe.packet_id = 7;
        if (v == MQ_V5) {
            p.u.subscribe.props = PROPS(props);
            p.u.subscribe.subs = subs5;
            p.u.subscribe.n = SL_ARRAY_LEN(subs5);
        } else {
            p.u.subscribe.subs = subs;
            p.u.subscribe.n = SL_ARRAY_LEN(subs);
        }
        roundtrip(v, &p);
    }
}

static void
test_roundtrip_suback_unsub(void **state)
{
    (void)state;
    mq_prop props[] = {ps(MQ_P_REASON_STRING, "partly"), pp("k", "v")};
    uint8_t codes3[] = {0, 1, 2, 0x80};
    uint8_t codes5[] = {0,    1,    2,    0x80, 0x83, 0x87,
                        0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2};
    uint8_t ucodes5[] = {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91};
    sl_slice filters[] = {S("a/b"), S("+/#"), S("$share/g/t")};
    for (size_t i = 0; i < SL_ARRAY_LEN(versions); i++) {
        int v = versions[i];
        bool v5 = v == MQ_V5;
        mq_packet p = {.type = MQ_SUBACK};
        p.u.suback.packet_id = 9;
        p.u.suback.codes = v5 ? codes5 : codes3;
        p.u.suback.n = v5 ? sizeof(codes5) : sizeof(codes3);
        if (v5)
            p.u.suback.props = PROPS(props);
        roundtrip(v, &p);

        p.type = MQ_UNSUBACK;
        p.u.suback.codes = v5 ? ucodes5 : NULL;
        p.u.suback.n = v5 ? sizeof(ucodes5) : 0;
        roundtrip(v, &p);

        mq_packet u = {.type = MQ_UNSUBSCRIBE};
        u.u.unsubscribe.packet_id = 65535;
        u.u.unsubscribe.filters = filters;
        u.u.unsubscribe.n = SL_ARRAY_LEN(filters);
        if (v5) {
            mq_prop up[] = {pp("x", "y")};
            u.u.unsubscribe.props = PROPS(up);
            roundtrip(v, &u);
        } else {
            roundtrip(v, &u);
        }
    }
}

static void
test_roundtrip_misc(void **state)
{
    (void)state;
    static const uint8_t data[] = {9, 8, 7};
    mq_prop dprops[] = {
        pu(MQ_P_SESSION_EXPIRY_INTERVAL, 0),
        ps(MQ_P_REASON_STRING, "bye"),
        ps(MQ_P_SERVER_REFERENCE, "b:1883"),
        pp("k", "v"),
    };
    mq_prop aprops[] = {
        ps(MQ_P_AUTHENTICATION_METHOD, "SCRAM-SHA-256"),
        pb(MQ_P_AUTHENTICATION_DATA, data, sizeof(data)),
        ps(MQ_P_REASON_STRING, "more"),
        pp("k", "v"),
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(versions); i++) {
        int v = versions[i];
        mq_packet p = {.type = MQ_PINGREQ};
        roundtrip(v, &p);
        p.type = MQ_PINGRESP;
        roundtrip(v, &p);
        p.type = MQ_DISCONNECT;
        roundtrip(v, &p);
        if (v != MQ_V5)
            continue;
        p.u.disconnect.reason = MQ_RC_DISCONNECT_WITH_WILL;
        roundtrip(v, &p); /* remaining length 1 */
        p.u.disconnect.props = PROPS(dprops);
        p.u.disconnect.reason = MQ_RC_SESSION_TAKEN_OVER;
        roundtrip(v, &p);
        p.type = MQ_AUTH;
        p.u.disconnect.reason = MQ_RC_CONTINUE_AUTHENTICATION;
        p.u.disconnect.props = PROPS(aprops);
        roundtrip(v, &p);
        p.u.disconnect.reason = 0;
        p.u.disconnect.props = (mq_props){NULL, 0};
        roundtrip(v, &p);
    }
}

/* ---- spec vectors: valid packets --------------------------------------- */

typedef struct good_vec {
    int version;
    const char *hex;
    uint8_t type;
    const char *tag;
} good_vec;

static void
test_spec_vectors_valid(void **state)
{
    (void)state;
    static const good_vec vecs[] = {
        {4, "c0 00", MQ_PINGREQ, "3.12 PINGREQ has no body"},
        {4, "d0 00", MQ_PINGRESP, "3.13"},
        {4, "e0 00", MQ_DISCONNECT, "3.14"},
        {5, "e0 00", MQ_DISCONNECT, "3.14.2.1 rl 0 = Normal disconnection"},
        {5, "e0 01 8e", MQ_DISCONNECT, "3.14.2.1 no properties when rl < 2"},
        {5, "f0 00", MQ_AUTH, "3.15.2.1 rl 0 = Success"},
        {5, "40 02 00 01", MQ_PUBACK, "3.4.2.1 rl 2 = Success, no props"},
        {5, "50 03 00 01 10", MQ_PUBREC, "3.5.2.1 rl 3: reason, no props"},
        {5, "62 02 00 01", MQ_PUBREL, "[MQTT-3.6.1-1] flags 0010"},
        {3, "6a 02 00 01", MQ_PUBREL, "MQTT 3.1: DUP on a retried PUBREL"},
        {4, "20 02 01 00", MQ_CONNACK, "[MQTT-3.2.2-2] session present"},
        {4, "20 02 00 05", MQ_CONNACK, "3.2.2.3 return code 5"},
        {5, "20 03 00 00 00", MQ_CONNACK, "3.2.2"},
        {4, "90 03 00 01 80", MQ_SUBACK, "3.9.3 failure 0x80"},
        {4, "b0 02 00 01", MQ_UNSUBACK, "3.11 3.1.1 UNSUBACK"},
        {5, "30 08 00 01 61 04 0b 01 0b 02", MQ_PUBLISH,
         "3.3.2.3.8 Subscription Identifier may repeat in PUBLISH"},
        {5, "30 07 00 01 61 00 ef bb bf", MQ_PUBLISH,
         "[MQTT-1.5.4-3] payload, any bytes"},
        {5, "30 07 00 03 ef bb bf 00 2f", MQ_PUBLISH,
         "[MQTT-1.5.4-3] a BOM in a topic is a normal character"},
        {5, "30 0f 00 01 61 0b 26 00 01 6b 00 00 26 00 00 00 00", MQ_PUBLISH,
         "3.3.2.3.7 User Property may repeat"},
        {5, "30 06 00 00 03 23 00 05", MQ_PUBLISH,
         "3.3.2.3.4 empty topic with a Topic Alias"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(vecs); i++) {
        mq_packet p;
        mq_err err = {0, NULL};
        int rc = decode_hex(vecs[i].hex, vecs[i].version, &p, &err);
        if (rc != 0)
            fail_msg("%s (%s): rc %d %s", vecs[i].hex, vecs[i].tag, rc,
                     err.what);
        assert_int_equal(p.type, vecs[i].type);
    }
    mq_packet p;
    assert_int_equal(decode_hex("e0 01 8e", 5, &p, NULL), 0);
    assert_int_equal(p.u.disconnect.reason, MQ_RC_SESSION_TAKEN_OVER);
    assert_int_equal(decode_hex("50 03 00 01 10", 5, &p, NULL), 0);
    assert_int_equal(p.u.ack.reason, MQ_RC_NO_MATCHING_SUBSCRIBERS);
    assert_int_equal(decode_hex("30 08 00 01 61 04 0b 01 0b 02", 5, &p, NULL),
                     0);
    assert_int_equal(p.u.publish.props.n, 2);
    assert_int_equal(p.u.publish.props.v[1].u, 2);
    assert_int_equal(p.u.publish.payload.n, 0);
}

/* The remaining length table of 1.5.5 / 2.1.4: each boundary value with
 * its encoding, through mq_frame_parse. */
static void
test_frame_remaining_length(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        uint32_t len;
    } t[] = {
        {"00", 0},
        {"7f", 127},
        {"80 01", 128},
        {"ff 7f", 16383},
        {"80 80 01", 16384},
        {"ff ff 7f", 2097151},
        {"80 80 80 01", 2097152},
        {"ff ff ff 7f", 268435455},
    };
    uint8_t hdr[8];
    mq_frame f;
    for (size_t i = 0; i < SL_ARRAY_LEN(t); i++) {
        hdr[0] = 0x30;
        size_t n = 1 + unhex(t[i].hex, hdr + 1, sizeof(hdr) - 1);
        /* Only the header is present: partial, unless the body is empty;
         * the size is known either way. */
        int rc = mq_frame_parse(sl_slice_make(hdr, n), 0, &f);
        assert_int_equal(rc, t[i].len == 0 ? 0 : SL_E_PARTIAL);
        /* With a limit one below, the packet is refused at once. */
        rc = mq_frame_parse(sl_slice_make(hdr, n), (uint32_t)(n + t[i].len - 1),
                            &f);
        assert_int_equal(rc, n + t[i].len - 1 == 0 ? 0 : SL_E_TOOBIG);
        assert_int_equal(f.size, n + t[i].len);
    }
    /* [MQTT-1.5.5-1] more than 4 bytes, or not the shortest form. */
    static const char *bad[] = {"30 ff ff ff ff 7f", "30 80 80 80 80 01",
                                "30 80 00", "30 ff 80 00", "30 80 80 80 00"};
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++) {
        size_t n = unhex(bad[i], hdr, sizeof(hdr));
        assert_int_equal(mq_frame_parse(sl_slice_make(hdr, n), 0, &f),
                         SL_E_MALFORMED);
    }
    /* Two packets back to back: the frame is the first one only. */
    size_t n = unhex("c0 00 d0 00", hdr, sizeof(hdr));
    assert_int_equal(mq_frame_parse(sl_slice_make(hdr, n), 0, &f), 0);
    assert_int_equal(f.type, MQ_PINGREQ);
    assert_int_equal(f.size, 2);
    /* Oversized: known from the header alone, so the server answers 0x95
     * without buffering the body (3.1.2.11.4, Maximum Packet Size). */
    n = unhex("30 e8 07", hdr, sizeof(hdr)); /* 1000-byte body */
    assert_int_equal(mq_frame_parse(sl_slice_make(hdr, n), 1000, &f),
                     SL_E_TOOBIG);
    assert_int_equal(f.size, 1003);
    assert_int_equal(mq_frame_parse(sl_slice_make(hdr, n), 1003, &f),
                     SL_E_PARTIAL);
}

/* ---- bad inputs: each with the reason code the spec names -------------- */

typedef struct bad_vec {
    int version;
    const char *hex;
    int rc;
    uint8_t reason;
    const char *tag;
} bad_vec;

#define MAL SL_E_MALFORMED

static const bad_vec bad_vecs[] = {
    /* remaining length */
    {4, "30 ff ff ff ff 7f", MAL, 0x81, "[MQTT-1.5.5-1] 5-byte length"},
    {4, "30 80 00", MAL, 0x81, "[MQTT-1.5.5-1] non-minimal length"},
    /* UTF-8 */
    {4, "30 04 00 02 c3 28", MAL, 0x81, "[MQTT-1.5.4-1] bad continuation"},
    {4, "30 04 00 02 61 00", MAL, 0x81, "[MQTT-1.5.4-2] U+0000 in topic"},
    {5, "30 06 00 03 ed a0 80 00", MAL, 0x81,
     "[MQTT-1.5.4-1] surrogate U+D800"},
    {4, "30 05 00 03 ed bf bf", MAL, 0x81, "[MQTT-1.5.4-1] surrogate U+DFFF"},
    {4, "30 04 00 02 c0 af", MAL, 0x81, "[MQTT-1.5.4-1] overlong '/'"},
    {4, "30 06 00 04 f4 90 80 80", MAL, 0x81, "[MQTT-1.5.4-1] > U+10FFFF"},
    {4, "10 0f 00 04 4d 51 54 54 04 02 00 3c 00 03 61 00 62", MAL, 0x81,
     "[MQTT-1.5.4-2] U+0000 in client id"},
    /* reserved flags in fixed headers */
    {4, "11 0d 00 04 4d 51 54 54 04 02 00 3c 00 01 61", MAL, 0x81,
     "[MQTT-2.2.2-2] CONNECT flags 0001"},
    {4, "28 02 00 00", MAL, 0x81, "[MQTT-2.2.2-2] CONNACK flags 1000"},
    {4, "41 02 00 01", MAL, 0x81, "[MQTT-2.2.2-2] PUBACK flags 0001"},
    {5, "52 02 00 01", MAL, 0x81, "[MQTT-2.1.3-1] PUBREC flags 0010"},
    {4, "60 02 00 01", MAL, 0x81, "[MQTT-3.6.1-1] PUBREL flags 0000"},
    {5, "63 02 00 01", MAL, 0x81, "[MQTT-3.6.1-1] PUBREL flags 0011"},
    {4, "6a 02 00 01", MAL, 0x81, "[MQTT-3.6.1-1] DUP on PUBREL in 3.1.1"},
    {4, "74 02 00 01", MAL, 0x81, "[MQTT-2.2.2-2] PUBCOMP flags 0100"},
    {4, "80 06 00 01 00 01 61 00", MAL, 0x81,
     "[MQTT-3.8.1-1] SUBSCRIBE flags 0000"},
    {4, "98 03 00 01 00", MAL, 0x81, "[MQTT-2.2.2-2] SUBACK flags 1000"},
    {5, "a0 05 00 01 00 01 61", MAL, 0x81,
     "[MQTT-3.10.1-1] UNSUBSCRIBE flags 0000"},
    {4, "b1 02 00 01", MAL, 0x81, "[MQTT-2.2.2-2] UNSUBACK flags 0001"},
    {4, "c2 00", MAL, 0x81, "[MQTT-2.2.2-2] PINGREQ flags 0010"},
    {4, "d8 00", MAL, 0x81, "[MQTT-2.2.2-2] PINGRESP flags 1000"},
    {5, "e1 00", MAL, 0x81, "[MQTT-2.1.3-1] DISCONNECT flags 0001"},
    {5, "f4 00", MAL, 0x81, "[MQTT-2.1.3-1] AUTH flags 0100"},
    {4, "f0 00", MAL, 0x81, "2.1.2 type 15 is reserved in 3.1.1"},
    {5, "00 00", MAL, 0x81, "2.1.2 type 0 is reserved"},
    /* PUBLISH */
    {4, "36 09 00 03 61 2f 62 00 01 68 69", MAL, 0x81, "[MQTT-3.3.1-4] QoS 3"},
    {5, "36 0a 00 03 61 2f 62 00 01 00 68 69", MAL, 0x81,
     "[MQTT-3.3.1-4] QoS 3"},
    {4, "38 05 00 03 61 2f 62", MAL, 0x81, "[MQTT-3.3.1-2] DUP with QoS 0"},
    {4, "30 05 00 03 61 2f 23", MAL, 0x90, "[MQTT-3.3.2-2] '#' in topic"},
    {5, "30 06 00 03 2b 2f 62 00", MAL, 0x90, "[MQTT-3.3.2-2] '+' in topic"},
    {4, "30 02 00 00", MAL, 0x90, "[MQTT-4.7.3-1] empty topic"},
    {5, "30 03 00 00 00", MAL, 0x82, "3.3.2.1 empty topic without alias"},
    {4, "32 07 00 03 61 2f 62 00 00", MAL, 0x82, "[MQTT-2.3.1-1] packet id 0"},
    {5, "34 08 00 03 61 2f 62 00 00 00", MAL, 0x82,
     "[MQTT-2.2.1-3] packet id 0"},
    {4, "32 04 00 03 61 2f", MAL, 0x81, "topic runs past the packet"},
    {4, "32 05 00 03 61 2f 62", MAL, 0x81, "packet id missing"},
    /* properties */
    {5, "30 0e 00 01 61 0a 02 00 00 00 01 02 00 00 00 02", MAL, 0x82,
     "3.3.2.3.3 Message Expiry Interval twice"},
    {5, "30 0a 00 01 61 06 23 00 01 23 00 02", MAL, 0x82,
     "3.3.2.3.4 Topic Alias twice"},
    {5, "30 09 00 01 61 05 11 00 00 00 0a", MAL, 0x81,
     "2.2.2.2 Session Expiry Interval not allowed in PUBLISH"},
    {5, "30 06 00 01 61 02 05 00", MAL, 0x81, "2.2.2.2 unknown property 5"},
    {5, "30 05 00 01 61 05 01", MAL, 0x81, "property length past packet"},
    {5, "30 06 00 01 61 02 01 02", MAL, 0x82,
     "3.3.2.3.2 Payload Format Indicator 2"},
    {5, "30 07 00 01 61 03 23 00 00", MAL, 0x82,
     "[MQTT-3.3.2-8] Topic Alias 0"},
    {5, "30 06 00 01 61 02 0b 00", MAL, 0x82,
     "3.3.2.3.8 Subscription Identifier 0"},
    {5, "82 0b 00 01 02 0b 00 00 03 61 2f 62 00", MAL, 0x82,
     "3.8.2.1.2 Subscription Identifier 0"},
    {5, "82 0d 00 01 04 0b 01 0b 02 00 03 61 2f 62 00", MAL, 0x82,
     "3.8.2.1.2 Subscription Identifier twice in SUBSCRIBE"},
    {5, "40 08 00 01 00 04 0b 01 0b 02", MAL, 0x81,
     "2.2.2.2 Subscription Identifier not allowed in PUBACK"},
    {5, "30 07 00 01 61 03 0b 80 00", MAL, 0x81,
     "[MQTT-1.5.5-1] non-minimal varint property"},
    {5, "e0 04 00 02 1f 00", MAL, 0x81, "Reason String runs past"},
    {5, "e0 07 00 05 1f 00 02 c3 28", MAL, 0x81,
     "[MQTT-1.5.4-1] bad UTF-8 in Reason String"},
    /* CONNECT */
    {4, "10 0d 00 04 4d 51 54 54 04 03 00 3c 00 01 61", MAL, 0x81,
     "[MQTT-3.1.2-3] reserved connect flag"},
    {5, "10 0e 00 04 4d 51 54 54 05 03 00 3c 00 00 01 61", MAL, 0x81,
     "[MQTT-3.1.2-3] reserved connect flag"},
    {4, "10 0d 00 04 4d 51 54 54 04 0a 00 3c 00 01 61", MAL, 0x81,
     "[MQTT-3.1.2-13] will QoS without will flag"},
    {4, "10 0d 00 04 4d 51 54 54 04 22 00 3c 00 01 61", MAL, 0x81,
     "[MQTT-3.1.2-15] will retain without will flag"},
    {5, "10 0e 00 04 4d 51 54 54 05 1e 00 3c 00 00 01 61", MAL, 0x81,
     "[MQTT-3.1.2-12] will QoS 3"},
    {4, "10 11 00 04 4d 51 54 54 04 42 00 3c 00 01 61 00 02 70 77", MAL, 0x81,
     "[MQTT-3.1.2-22] password without user name"},
    {3, "10 13 00 06 4d 51 49 73 64 70 03 42 00 3c 00 01 61 00 02 70 77", MAL,
     0x81, "[MQTT-3.1.2-22] password without user name (3.1)"},
    {4, "10 0d 00 04 4d 51 54 54 06 02 00 3c 00 01 61", SL_E_VERSION, 0x84,
     "[MQTT-3.1.2-2] protocol level 6"},
    {4, "10 0d 00 04 4d 51 54 58 04 02 00 3c 00 01 61", SL_E_VERSION, 0x84,
     "[MQTT-3.1.2-1] protocol name MQTX"},
    {4, "10 0d 00 04 4d 51 54 54 03 02 00 3c 00 01 61", SL_E_VERSION, 0x84,
     "[MQTT-3.1.2-1] name MQTT with level 3"},
    {4, "10 0c 00 04 4d 51 54 54 04 00 00 3c 00 00", MAL, 0x85,
     "[MQTT-3.1.3-8] empty client id without clean session"},
    {3, "10 0e 00 06 4d 51 49 73 64 70 03 02 00 3c 00 00", MAL, 0x85,
     "3.1: client id of 0 bytes"},
    {4,
     "10 15 00 04 4d 51 54 54 04 06 00 3c 00 01 61 00 03 61 2f 23 00 01 "
     "78",
     MAL, 0x90, "[MQTT-3.3.2-2] wildcard in will topic"},
    {4, "10 0e 00 04 4d 51 54 54 04 02 00 3c 00 01 61 00", MAL, 0x81,
     "trailing byte after the payload"},
    {5, "10 11 00 04 4d 51 54 54 05 02 00 3c 04 16 00 01 78 00 00", MAL, 0x82,
     "3.1.2.11.10 Authentication Data without Authentication Method"},
    {5, "10 10 00 04 4d 51 54 54 05 02 00 3c 03 21 00 00 00 00", MAL, 0x82,
     "3.1.2.11.3 Receive Maximum 0"},
    {5, "10 12 00 04 4d 51 54 54 05 02 00 3c 05 27 00 00 00 00 00 00", MAL,
     0x82, "3.1.2.11.4 Maximum Packet Size 0"},
    {5, "10 0f 00 04 4d 51 54 54 05 02 00 3c 02 17 02 00 00", MAL, 0x82,
     "3.1.2.11.7 Request Problem Information 2"},
    {5, "10 0f 00 04 4d 51 54 54 05 02 00 3c 02 23 00 00 00", MAL, 0x81,
     "2.2.2.2 Topic Alias not allowed in CONNECT"},
    {5,
     "10 16 00 04 4d 51 54 54 05 06 00 3c 00 00 00 02 18 00 00 00 01 61 "
     "00 00",
     MAL, 0x81, "will properties: runs past the packet"},
    /* CONNACK */
    {4, "20 02 02 00", MAL, 0x81, "[MQTT-3.2.2-1] reserved ack flags"},
    {4, "20 02 01 05", MAL, 0x82, "[MQTT-3.2.2-4] session present + failure"},
    {4, "20 02 00 06", MAL, 0x82, "3.2.2.3 return code 6 is reserved"},
    {5, "20 03 00 8d 00", MAL, 0x82, "3.2.2.2 0x8D not a CONNACK reason"},
    {5, "20 05 00 00 02 24 02", MAL, 0x82, "3.2.2.3.4 Maximum QoS 2"},
    /* acks */
    {4, "40 03 00 01 00", MAL, 0x81, "3.4 3.1.1 PUBACK is 2 bytes"},
    {5, "40 03 00 01 04", MAL, 0x82, "3.4.2.1 0x04 not a PUBACK reason"},
    {5, "62 03 00 01 10", MAL, 0x82, "3.6.2.1 0x10 not a PUBREL reason"},
    {4, "40 02 00 00", MAL, 0x82, "[MQTT-2.3.1-1] packet id 0"},
    {4, "40 01 00", MAL, 0x81, "packet id truncated"},
    /* SUBSCRIBE and friends */
    {4, "82 02 00 01", MAL, 0x82, "[MQTT-3.8.3-3] no topic filter"},
    {5, "82 03 00 01 00", MAL, 0x82, "[MQTT-3.8.3-2] no topic filter"},
    {4, "82 06 00 01 00 01 61 03", MAL, 0x81, "[MQTT-3-8.3-4] QoS 3"},
    {4, "82 06 00 01 00 01 61 04", MAL, 0x81,
     "[MQTT-3-8.3-4] reserved option bit"},
    {5, "82 07 00 01 00 00 01 61 c0", MAL, 0x81,
     "[MQTT-3.8.3-5] reserved option bits"},
    {5, "82 07 00 01 00 00 01 61 03", MAL, 0x82, "3.8.3.1 QoS 3"},
    {5, "82 07 00 01 00 00 01 61 30", MAL, 0x82, "3.8.3.1 retain handling 3"},
    {5, "82 10 00 01 00 00 0a 24 73 68 61 72 65 2f 67 2f 61 04", MAL, 0x82,
     "[MQTT-3.8.3-4] No Local on a shared subscription"},
    {5, "82 0f 00 01 00 00 09 24 73 68 61 72 65 2f 2f 61 00", MAL, 0x81,
     "[MQTT-4.8.2-1] empty share name"},
    {5, "82 10 00 01 00 00 0a 24 73 68 61 72 65 2f 2b 2f 61 00", MAL, 0x81,
     "[MQTT-4.8.2-2] '+' in share name"},
    {5, "82 0e 00 01 00 00 08 24 73 68 61 72 65 2f 67 00", MAL, 0x81,
     "4.8.2 share name without a filter"},
    {4, "82 0a 00 01 00 05 61 2f 23 2f 62 00", MAL, 0x81,
     "[MQTT-4.7.1-1] '#' not last"},
    {4, "82 08 00 01 00 03 61 2b 62 00", MAL, 0x81,
     "[MQTT-4.7.1-2] '+' not a whole level"},
    {4, "82 05 00 01 00 00 00", MAL, 0x81, "[MQTT-4.7.3-1] empty filter"},
    {4, "82 05 00 01 00 01 61", MAL, 0x81, "options byte missing"},
    {4, "82 06 00 00 00 01 61 00", MAL, 0x82, "[MQTT-2.3.1-1] packet id 0"},
    {4, "90 02 00 01", MAL, 0x82, "3.9.3 SUBACK without codes"},
    {4, "90 03 00 01 03", MAL, 0x82, "3.9.3 SUBACK code 3"},
    {5, "90 04 00 01 00 8d", MAL, 0x82, "3.9.3 0x8D not a SUBACK reason"},
    {4, "a2 02 00 01", MAL, 0x82, "[MQTT-3.10.3-2] no topic filter"},
    {5, "a2 03 00 01 00", MAL, 0x82, "[MQTT-3.10.3-2] no topic filter"},
    {4, "a2 06 00 01 00 01 23 2f", MAL, 0x81, "filter runs past"},
    {4, "b0 03 00 01 00", MAL, 0x81, "3.11 3.1.1 UNSUBACK is 2 bytes"},
    {5, "b0 04 00 01 00 02", MAL, 0x82, "3.11.3 0x02 not an UNSUBACK code"},
    /* PING, DISCONNECT, AUTH */
    {4, "c0 01 00", MAL, 0x81, "3.12 PINGREQ with a body"},
    {4, "d0 01 00", MAL, 0x81, "3.13 PINGRESP with a body"},
    {4, "e0 01 00", MAL, 0x81, "3.14 3.1.1 DISCONNECT with a body"},
    {5, "e0 01 05", MAL, 0x82, "3.14.2.1 0x05 not a DISCONNECT reason"},
    {5, "e0 06 00 04 21 00 0a 00", MAL, 0x81,
     "2.2.2.2 Receive Maximum not allowed in DISCONNECT"},
    {5, "e0 03 00 00 00", MAL, 0x81, "trailing byte after properties"},
    {5, "f0 01 04", MAL, 0x82, "3.15.2.1 0x04 not an AUTH reason"},
};

static void
test_bad_inputs(void **state)
{
    (void)state;
    for (size_t i = 0; i < SL_ARRAY_LEN(bad_vecs); i++) {
        const bad_vec *bv = &bad_vecs[i];
        uint8_t buf[256];
        size_t n = unhex(bv->hex, buf, sizeof(buf));
        mq_packet p;
        mq_err err = {0, NULL};
        int rc = decode_bytes(buf, n, bv->version, &p, &err);
        if (rc != bv->rc || err.reason != bv->reason)
            fail_msg("#%zu %s (%s): rc %d reason 0x%02x (%s), want %d 0x%02x",
                     i, bv->hex, bv->tag, rc, err.reason,
                     err.what ? err.what : "-", bv->rc, bv->reason);
        assert_non_null(err.what);
    }
}

/* A CONNECT with an unknown level still tells the server what it saw, so
 * it can answer CONNACK 0x84 / 3.1.1 return code 0x01 before closing. */
static void
test_connect_unknown_version_reported(void **state)
{
    (void)state;
    mq_packet p;
    mq_err err;
    int rc =
        decode_hex("10 0d 00 04 4d 51 54 54 07 02 00 3c 00 01 61", 0, &p, &err);
    assert_int_equal(rc, SL_E_VERSION);
    assert_int_equal(err.reason, MQ_RC_UNSUPPORTED_PROTOCOL_VERSION);
    assert_int_equal(p.type, MQ_CONNECT);
    assert_int_equal(p.u.connect.version, 7);
    assert_true(sl_slice_eq_str(p.u.connect.proto_name, "MQTT"));
    uint8_t v3;
    assert_int_equal(mq_connack_code_v3(err.reason, &v3), 0);
    assert_int_equal(v3, MQ_V3_BAD_PROTOCOL_VERSION);
    /* A Mosquitto bridge: level 0x84. */
    rc =
        decode_hex("10 0d 00 04 4d 51 54 54 84 02 00 3c 00 01 61", 0, &p, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(p.u.connect.version, 4);
    assert_true(p.u.connect.bridge);
}

/* Every fixed header: a valid packet with each wrong flag value must be
 * refused as malformed [MQTT-2.2.2-2] [MQTT-2.1.3-1]. */
static void
test_reserved_flags_every_type(void **state)
{
    (void)state;
    static const struct {
        int version;
        const char *hex;
    } good[] = {
        {5, "10 0e 00 04 4d 51 54 54 05 02 00 3c 00 00 01 61"},
        {5, "20 03 00 00 00"},
        {5, "40 02 00 01"},
        {5, "50 02 00 01"},
        {5, "62 02 00 01"},
        {5, "70 02 00 01"},
        {5, "82 07 00 01 00 00 01 61 00"},
        {5, "90 04 00 01 00 00"},
        {5, "a2 06 00 01 00 00 01 61"},
        {5, "b0 04 00 01 00 00"},
        {5, "c0 00"},
        {5, "d0 00"},
        {5, "e0 00"},
        {5, "f0 00"},
    };
    for (size_t i = 0; i < SL_ARRAY_LEN(good); i++) {
        uint8_t buf[64];
        size_t n = unhex(good[i].hex, buf, sizeof(buf));
        mq_packet p;
        mq_err err;
        assert_int_equal(decode_bytes(buf, n, good[i].version, &p, &err), 0);
        uint8_t ok = buf[0] & 0x0f;
        for (uint8_t fl = 0; fl < 16; fl++) {
            if (fl == ok)
                continue;
            buf[0] = (uint8_t)((buf[0] & 0xf0) | fl);
            err.reason = 0;
            assert_int_equal(decode_bytes(buf, n, good[i].version, &p, &err),
                             SL_E_MALFORMED);
            assert_int_equal(err.reason, MQ_RC_MALFORMED_PACKET);
        }
    }
}

/* ---- real clients ------------------------------------------------------ */

static void
test_client_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < SL_ARRAY_LEN(client_vectors); i++) {
        const mq_vector *cv = &client_vectors[i];
        static uint8_t buf[1024];
        size_t n = unhex(cv->hex, buf, sizeof(buf));
        mq_packet p;
        mq_err err = {0, NULL};
        sl_arena_init(&arena, arena_mem, sizeof(arena_mem));
        int rc = mq_packet_parse(sl_slice_make(buf, n), cv->version, &arena, &p,
                                 &err);
        if (rc != 0)
            fail_msg("%s: %s: rc %d %s", cv->source, cv->hex, rc, err.what);
        /* Re-encode: every client here uses canonical encodings, so the
         * bytes must come back identical. */
        sl_buf b;
        sl_buf_init(&b);
        assert_int_equal(mq_packet_encode(&b, cv->version, &p), 0);
        assert_int_equal(b.n, n);
        assert_memory_equal(b.p, buf, n);
        sl_buf_fini(&b);
        truncations(buf, n, cv->version);
    }
}

/* Spot checks of fields in the captured packets. */
static void
test_client_vector_fields(void **state)
{
    (void)state;
    mq_packet p;
    uint32_t u;
    sl_slice s;
    /* mosquitto_pub -V mqttv31: protocol name MQIsdp, level 3. */
    assert_int_equal(decode_hex(client_vectors[0].hex, 3, &p, NULL), 0);
    assert_int_equal(p.u.connect.version, MQ_V31);
    assert_true(sl_slice_eq_str(p.u.connect.proto_name, "MQIsdp"));
    assert_true(sl_slice_eq_str(p.u.connect.client_id, "sl-mqttv31"));
    assert_int_equal(p.u.connect.keep_alive, 60);
    for (size_t i = 0; i < SL_ARRAY_LEN(client_vectors); i++) {
        const mq_vector *cv = &client_vectors[i];
        if (strstr(cv->source, "sl-props") == NULL)
            continue;
        assert_int_equal(decode_hex(cv->hex, 5, &p, NULL), 0);
        if (p.type == MQ_CONNECT) {
            const mq_connect *c = &p.u.connect;
            assert_true(
                mq_props_get_u32(&c->props, MQ_P_SESSION_EXPIRY_INTERVAL, &u));
            assert_int_equal(u, 300);
            assert_true(mq_props_get_u32(&c->props, MQ_P_RECEIVE_MAXIMUM, &u));
            assert_int_equal(u, 10);
            assert_true(c->will_flag);
            assert_int_equal(c->will.qos, 1);
            assert_true(c->will.retain);
            assert_true(sl_slice_eq_str(c->will.topic, "sluice/will"));
            assert_true(
                mq_props_get_u32(&c->will.props, MQ_P_WILL_DELAY_INTERVAL, &u));
            assert_int_equal(u, 5);
            assert_true(sl_slice_eq_str(c->username, "alice"));
            assert_true(sl_slice_eq_str(c->password, "secret"));
        } else if (p.type == MQ_PUBLISH) {
            const mq_publish *pub = &p.u.publish;
            assert_true(mq_props_get_u32(&pub->props, MQ_P_TOPIC_ALIAS, &u));
            assert_int_equal(u, 3);
            assert_true(mq_props_get_u32(&pub->props,
                                         MQ_P_MESSAGE_EXPIRY_INTERVAL, &u));
            assert_int_equal(u, 60);
            assert_true(mq_props_get_str(&pub->props, MQ_P_USER_PROPERTY, &s));
            assert_true(sl_slice_eq_str(s, "unit"));
            assert_true(
                mq_props_get_str(&pub->props, MQ_P_CORRELATION_DATA, &s));
            assert_true(sl_slice_eq_str(s, "abc"));
            assert_int_equal(mq_publish_payload_check(pub, NULL), 0);
        }
    }
}

/* ---- encoders, sizes, fitting ------------------------------------------ */

static void
test_encoder_refuses(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    mq_prop bad[] = {pu(MQ_P_SESSION_EXPIRY_INTERVAL, 1)};
    mq_prop zero_alias[] = {pu(MQ_P_TOPIC_ALIAS, 0)};
    mq_prop twice[] = {pu(MQ_P_TOPIC_ALIAS, 1), pu(MQ_P_TOPIC_ALIAS, 2)};
    mq_publish pub = {.topic = S("a"), .props = PROPS(bad)};
    assert_int_equal(mq_publish_encode(&b, MQ_V5, &pub), SL_E_INVAL);
    pub.props = PROPS(zero_alias);
    assert_int_equal(mq_publish_encode(&b, MQ_V5, &pub), SL_E_INVAL);
    pub.props = PROPS(twice);
    assert_int_equal(mq_publish_encode(&b, MQ_V5, &pub), SL_E_INVAL);
    pub.props = (mq_props){NULL, 0};
    pub.qos = 3;
    assert_int_equal(mq_publish_encode(&b, MQ_V311, &pub), SL_E_INVAL);
    pub.qos = 1; /* packet id 0 */
    assert_int_equal(mq_publish_encode(&b, MQ_V311, &pub), SL_E_INVAL);
    pub.qos = 0;
    pub.topic = S("a/#");
    assert_int_equal(mq_publish_encode(&b, MQ_V311, &pub), SL_E_INVAL);
    pub.topic = S("a");
    pub.props = PROPS(twice); /* properties in 3.1.1 */
    assert_int_equal(mq_publish_encode(&b, MQ_V311, &pub), SL_E_INVAL);
    mq_ack ack = {.packet_id = 1, .reason = 0x92};
    assert_int_equal(mq_ack_encode(&b, MQ_V5, MQ_PUBACK, &ack), SL_E_INVAL);
    assert_int_equal(mq_ack_encode(&b, MQ_V311, MQ_PUBREL, &ack), SL_E_INVAL);
    mq_disconnect auth = {0};
    assert_int_equal(mq_auth_encode(&b, MQ_V311, &auth), SL_E_INVAL);
    mq_connect c = {.version = 4, .password_flag = true};
    assert_int_equal(mq_connect_encode(&b, &c), SL_E_INVAL);
    mq_subscribe sub = {.packet_id = 1};
    assert_int_equal(mq_subscribe_encode(&b, MQ_V5, &sub), SL_E_INVAL);
    assert_int_equal(b.n, 0); /* nothing half-written */
    /* The short forms the spec allows. */
    ack.reason = 0;
    assert_int_equal(mq_ack_encode(&b, MQ_V5, MQ_PUBREL, &ack), 0);
    assert_int_equal(b.n, 4);
    assert_memory_equal(b.p, "\x62\x02\x00\x01", 4);
    sl_buf_reset(&b);
    mq_disconnect d = {0};
    assert_int_equal(mq_disconnect_encode(&b, MQ_V5, &d), 0);
    assert_memory_equal(b.p, "\xe0\x00", 2);
    sl_buf_reset(&b);
    mq_connack ca = {.code = MQ_V3_NOT_AUTHORIZED};
    assert_int_equal(mq_connack_encode(&b, MQ_V311, &ca), 0);
    assert_memory_equal(b.p, "\x20\x02\x00\x05", 4);
    sl_buf_fini(&b);
}

static void
test_packet_fit(void **state)
{
    (void)state;
    char big[300];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    mq_prop props[] = {pp("k", "v"), ps(MQ_P_REASON_STRING, big),
                       pu(MQ_P_SESSION_EXPIRY_INTERVAL, 5), pp("k2", big)};
    mq_packet p = {.type = MQ_DISCONNECT};
    p.u.disconnect.reason = MQ_RC_SERVER_SHUTTING_DOWN;
    p.u.disconnect.props = PROPS(props);
    size_t size;
    assert_int_equal(mq_packet_size(MQ_V5, &p, &size), 0);
    assert_true(size > 600);
    assert_int_equal(mq_packet_fit(MQ_V5, &p, 0), 0); /* no limit */
    assert_int_equal(mq_packet_fit(MQ_V5, &p, 400), 0);
    /* [MQTT-3.1.2-25]: the Reason String goes first. */
    assert_int_equal(p.u.disconnect.props.n, 3);
    assert_null(mq_props_find(&p.u.disconnect.props, MQ_P_REASON_STRING));
    assert_int_equal(mq_packet_fit(MQ_V5, &p, 100), 0);
    assert_int_equal(p.u.disconnect.props.n, 1);
    assert_int_equal(p.u.disconnect.props.v[0].id,
                     MQ_P_SESSION_EXPIRY_INTERVAL);
    assert_int_equal(mq_packet_fit(MQ_V5, &p, 5), SL_E_TOOBIG);
    /* A PUBLISH keeps its properties: too big is too big. */
    mq_prop up[] = {pp("k", big)};
    mq_packet pub = {.type = MQ_PUBLISH};
    pub.u.publish.topic = S("t");
    pub.u.publish.props = PROPS(up);
    assert_int_equal(mq_packet_fit(MQ_V5, &pub, 100), SL_E_TOOBIG);
    assert_int_equal(pub.u.publish.props.n, 1);
}

static void
test_arena_too_small(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n = unhex("30 0f 00 01 61 0b 26 00 01 6b 00 00 26 00 00 00 00", buf,
                     sizeof(buf));
    _Alignas(16) uint8_t tiny[16];
    sl_arena a;
    sl_arena_init(&a, tiny, sizeof(tiny));
    mq_packet p;
    mq_err err;
    assert_int_equal(
        mq_packet_parse(sl_slice_make(buf, n), MQ_V5, &a, &p, &err),
        SL_E_TOOBIG);
    assert_int_equal(err.reason, MQ_RC_PACKET_TOO_LARGE);
}

/* ---- reason codes and properties tables -------------------------------- */

static void
test_reason_codes(void **state)
{
    (void)state;
    assert_string_equal(mq_reason_name(0x00, MQ_DISCONNECT),
                        "Normal disconnection");
    assert_string_equal(mq_reason_name(0x00, MQ_SUBACK), "Granted QoS 0");
    assert_string_equal(mq_reason_name(0x00, 0), "Success");
    assert_string_equal(mq_reason_name(0x95, 0), "Packet too large");
    assert_string_equal(mq_reason_name(0x03, 0), "?");
    assert_true(mq_reason_allowed(0x92, MQ_PUBCOMP));
    assert_false(mq_reason_allowed(0x92, MQ_PUBACK));
    assert_true(mq_reason_allowed(0x8F, MQ_DISCONNECT));
    assert_false(mq_reason_allowed(0x84, MQ_DISCONNECT));
    /* 3.1.1 CONNACK return codes <-> MQTT 5 reason codes. */
    static const struct {
        uint8_t v5, v3;
    } map[] = {{0x00, 0}, {0x84, 1}, {0x85, 2}, {0x88, 3}, {0x89, 3},
               {0x86, 4}, {0x8C, 4}, {0x87, 5}, {0x8A, 5}};
    for (size_t i = 0; i < SL_ARRAY_LEN(map); i++) {
        uint8_t v3 = 0xff;
        assert_int_equal(mq_connack_code_v3(map[i].v5, &v3), 0);
        assert_int_equal(v3, map[i].v3);
    }
    for (uint8_t v3 = 0; v3 <= 5; v3++) {
        uint8_t back;
        assert_int_equal(mq_connack_code_v3(mq_connack_code_v5(v3), &back), 0);
        assert_int_equal(back, v3);
    }
    uint8_t v3;
    assert_int_equal(mq_connack_code_v3(0x81, &v3), -1);
    assert_int_equal(mq_connack_code_v3(0x82, &v3), -1);
    assert_int_equal(mq_suback_code_v3(0x02), 2);
    assert_int_equal(mq_suback_code_v3(0x87), 0x80);
}

static void
test_props_table(void **state)
{
    (void)state;
    assert_int_equal(mq_prop_type(MQ_P_USER_PROPERTY), MQ_PT_PAIR);
    assert_int_equal(mq_prop_type(MQ_P_SUBSCRIPTION_IDENTIFIER), MQ_PT_VARINT);
    assert_int_equal(mq_prop_type(0x04), MQ_PT_NONE);
    assert_string_equal(mq_prop_name(MQ_P_TOPIC_ALIAS), "Topic Alias");
    assert_true(mq_prop_allowed(MQ_P_WILL_DELAY_INTERVAL, MQ_WILL));
    assert_false(mq_prop_allowed(MQ_P_WILL_DELAY_INTERVAL, MQ_PUBLISH));
    assert_true(mq_prop_allowed(MQ_P_USER_PROPERTY, MQ_AUTH));
    assert_false(mq_prop_allowed(MQ_P_USER_PROPERTY, MQ_PINGREQ));
    assert_true(mq_prop_repeatable(MQ_P_USER_PROPERTY, MQ_CONNECT));
    assert_true(mq_prop_repeatable(MQ_P_SUBSCRIPTION_IDENTIFIER, MQ_PUBLISH));
    assert_false(
        mq_prop_repeatable(MQ_P_SUBSCRIPTION_IDENTIFIER, MQ_SUBSCRIBE));
    assert_false(mq_prop_repeatable(MQ_P_REASON_STRING, MQ_PUBACK));
    mq_prop v[] = {pu(MQ_P_TOPIC_ALIAS, 1), pp("k", "v")};
    mq_props l = PROPS(v);
    /* id, u16; id, 2+1, 2+1 */
    assert_int_equal(mq_props_size(&l), 1 + 3 + 7);
}

static void
test_payload_format(void **state)
{
    (void)state;
    mq_prop pfi[] = {pu(MQ_P_PAYLOAD_FORMAT_INDICATOR, 1)};
    mq_publish pub = {.topic = S("t"), .props = PROPS(pfi)};
    mq_err err;
    pub.payload = S("h\xc3\xa9llo");
    assert_int_equal(mq_publish_payload_check(&pub, &err), 0);
    pub.payload = sl_slice_make("\xff\xfe", 2);
    assert_int_equal(mq_publish_payload_check(&pub, &err), SL_E_MALFORMED);
    assert_int_equal(err.reason, MQ_RC_PAYLOAD_FORMAT_INVALID);
    pfi[0].u = 0; /* binary: anything goes */
    assert_int_equal(mq_publish_payload_check(&pub, &err), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_connect),
        cmocka_unit_test(test_roundtrip_connack),
        cmocka_unit_test(test_roundtrip_publish),
        cmocka_unit_test(test_roundtrip_acks),
        cmocka_unit_test(test_roundtrip_subscribe),
        cmocka_unit_test(test_roundtrip_suback_unsub),
        cmocka_unit_test(test_roundtrip_misc),
        cmocka_unit_test(test_spec_vectors_valid),
        cmocka_unit_test(test_frame_remaining_length),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_connect_unknown_version_reported),
        cmocka_unit_test(test_reserved_flags_every_type),
        cmocka_unit_test(test_client_vectors),
        cmocka_unit_test(test_client_vector_fields),
        cmocka_unit_test(test_encoder_refuses),
        cmocka_unit_test(test_packet_fit),
        cmocka_unit_test(test_arena_too_small),
        cmocka_unit_test(test_reason_codes),
        cmocka_unit_test(test_props_table),
        cmocka_unit_test(test_payload_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
