/*
 * fuzz_mqtt.c — libFuzzer harness for the MQTT codec (mq_codec).
 *
 * The first input byte picks the protocol version: byte mod 3 = 0, 1, 2
 * gives 3.1, 3.1.1, 5.0, so the seeds' first bytes 3, 4, 5 mean what they
 * say; the rest is a stream of packets.  Each is framed with
 * mq_frame_parse() and decoded with mq_packet_decode() into a bounded
 * arena.  For every packet that decodes:
 *
 *   - it is encoded again (it must encode: what we accept we can send),
 *     the encoding is as large as mq_packet_size() says, and decoding the
 *     encoding gives the same fields (a field-by-field comparison, since
 *     the short forms of MQTT 5 acknowledgements have two encodings);
 *   - mq_packet_fit() with a small limit must not break it.
 *
 * Slices of the input are also run through the UTF-8 checker, the topic
 * validators, the shared-subscription parser and the matcher (each on an
 * exactly sized heap copy, so an over-read trips AddressSanitizer), with
 * one invariant: a valid name always matches itself.
 *
 * A violation is our bug and abort()s; invalid input is never a finding.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mq_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static _Alignas(16) uint8_t mem1[1 << 16];
static _Alignas(16) uint8_t mem2[1 << 16];

static void
check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_mqtt: invariant violated: %s\n", what);
        abort();
    }
}

static int
same(sl_slice a, sl_slice b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static int
props_same(const mq_props *a, const mq_props *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].id != b->v[i].id || a->v[i].u != b->v[i].u ||
            !same(a->v[i].s, b->v[i].s) || !same(a->v[i].v, b->v[i].v))
            return 0;
    return 1;
}

static int
packet_same(const mq_packet *a, const mq_packet *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case MQ_CONNECT: {
        const mq_connect *x = &a->u.connect, *y = &b->u.connect;
        return x->version == y->version && x->bridge == y->bridge &&
               x->clean_start == y->clean_start &&
               x->keep_alive == y->keep_alive &&
               props_same(&x->props, &y->props) &&
               same(x->client_id, y->client_id) &&
               x->will_flag == y->will_flag && x->will.qos == y->will.qos &&
               x->will.retain == y->will.retain &&
               props_same(&x->will.props, &y->will.props) &&
               same(x->will.topic, y->will.topic) &&
               same(x->will.payload, y->will.payload) &&
               x->username_flag == y->username_flag &&
               same(x->username, y->username) &&
               x->password_flag == y->password_flag &&
               same(x->password, y->password);
    }
    case MQ_CONNACK:
        return a->u.connack.session_present == b->u.connack.session_present &&
               a->u.connack.code == b->u.connack.code &&
               props_same(&a->u.connack.props, &b->u.connack.props);
    case MQ_PUBLISH: {
        const mq_publish *x = &a->u.publish, *y = &b->u.publish;
        return x->dup == y->dup && x->qos == y->qos && x->retain == y->retain &&
               same(x->topic, y->topic) && x->packet_id == y->packet_id &&
               props_same(&x->props, &y->props) && same(x->payload, y->payload);
    }
    case MQ_PUBACK:
    case MQ_PUBREC:
    case MQ_PUBREL:
    case MQ_PUBCOMP:
        return a->u.ack.packet_id == b->u.ack.packet_id &&
               a->u.ack.reason == b->u.ack.reason &&
               props_same(&a->u.ack.props, &b->u.ack.props);
    case MQ_SUBSCRIBE: {
        const mq_subscribe *x = &a->u.subscribe, *y = &b->u.subscribe;
        if (x->packet_id != y->packet_id || !props_same(&x->props, &y->props) ||
            x->n != y->n)
            return 0;
        for (size_t i = 0; i < x->n; i++) {
            const mq_sub *s = &x->subs[i], *t = &y->subs[i];
            if (!same(s->filter, t->filter) || s->qos != t->qos ||
                s->no_local != t->no_local ||
                s->retain_as_published != t->retain_as_published ||
                s->retain_handling != t->retain_handling)
                return 0;
        }
        return 1;
    }
    case MQ_SUBACK:
    case MQ_UNSUBACK: {
        const mq_suback *x = &a->u.suback, *y = &b->u.suback;
        return x->packet_id == y->packet_id &&
               props_same(&x->props, &y->props) && x->n == y->n &&
               (x->n == 0 || memcmp(x->codes, y->codes, x->n) == 0);
    }
    case MQ_UNSUBSCRIBE: {
        const mq_unsubscribe *x = &a->u.unsubscribe, *y = &b->u.unsubscribe;
        if (x->packet_id != y->packet_id || !props_same(&x->props, &y->props) ||
            x->n != y->n)
            return 0;
        for (size_t i = 0; i < x->n; i++)
            if (!same(x->filters[i], y->filters[i]))
                return 0;
        return 1;
    }
    case MQ_DISCONNECT:
    case MQ_AUTH:
        return a->u.disconnect.reason == b->u.disconnect.reason &&
               props_same(&a->u.disconnect.props, &b->u.disconnect.props);
    default:
        return 1;
    }
}

static void
roundtrip(int version, const mq_packet *p)
{
    sl_buf b;
    sl_arena a2;
    mq_packet q;
    mq_err err;
    size_t size;
    /* A CONNECT carries its own version; encode and decode it with that. */
    int v = p->type == MQ_CONNECT ? p->u.connect.version : version;

    sl_buf_init(&b);
    check(mq_packet_encode(&b, v, p) == 0, "a decoded packet encodes");
    check(mq_packet_size(v, p, &size) == 0 && size == b.n,
          "mq_packet_size matches the encoding");
    sl_arena_init(&a2, mem2, sizeof(mem2));
    int rc = mq_packet_parse(sl_slice_make(b.p, b.n), v, &a2, &q, &err);
    if (rc != 0)
        fprintf(stderr, "fuzz_mqtt: re-decode of %s: %d %s\n",
                mq_type_name(p->type), rc, err.what);
    check(rc == 0, "the encoding decodes");
    check(packet_same(p, &q), "the re-decoded packet has the same fields");

    /* Fitting may drop properties from a copy; the result must still
     * encode and be no larger than it was. */
    if (p->type != MQ_CONNECT) {
        mq_prop *copy = NULL;
        mq_packet f = *p;
        mq_props *ps = NULL;
        if (f.type == MQ_DISCONNECT || f.type == MQ_AUTH)
            ps = &f.u.disconnect.props;
        else if (f.type >= MQ_PUBACK && f.type <= MQ_PUBCOMP)
            ps = &f.u.ack.props;
        if (ps != NULL && ps->n > 0) {
            copy = malloc(ps->n * sizeof(*copy));
            check(copy != NULL, "allocation");
            memcpy(copy, ps->v, ps->n * sizeof(*copy));
            ps->v = copy;
        }
        rc = mq_packet_fit(version, &f, 16);
        check(rc == 0 || rc == SL_E_TOOBIG, "fit result");
        size_t fsize;
        check(mq_packet_size(version, &f, &fsize) == 0 && fsize <= size,
              "a fitted packet is no larger");
        check(rc != 0 || fsize <= 16, "fit means fits");
        free(copy);
    }
    sl_buf_fini(&b);
}

static void
topics(const uint8_t *data, size_t size)
{
    /* Split the input at its first 0xff byte into a filter and a name. */
    size_t cut = 0;
    while (cut < size && data[cut] != 0xff)
        cut++;
    size_t fn = cut, nn = cut < size ? size - cut - 1 : 0;
    uint8_t *f = malloc(fn ? fn : 1), *n = malloc(nn ? nn : 1);
    check(f != NULL && n != NULL, "allocation");
    memcpy(f, data, fn);
    if (nn)
        memcpy(n, data + cut + 1, nn);
    sl_slice fs = sl_slice_make(f, fn), ns = sl_slice_make(n, nn);

    (void)mq_utf8_check(fs, 0);
    (void)mq_utf8_check(fs, MQ_UTF8_STRICT);
    int fok = mq_topic_filter_check(fs) == 0;
    int nok = mq_topic_name_check(ns) == 0;
    mq_share sh;
    int s = mq_topic_share_parse(fs, &sh);
    check(s == 0 || s == 1 || s == SL_E_MALFORMED, "share result");
    if (s == 1)
        check(mq_topic_filter_check(sh.filter) == 0 && sh.group.n > 0,
              "a parsed share has a group and a valid filter");
    bool m = mq_topic_match(fs, ns);
    (void)mq_topic_match(ns, fs);
    if (nok) {
        check(mq_topic_match(ns, ns), "a valid name matches itself");
        check(mq_topic_filter_check(ns) == 0, "a valid name is a filter");
    }
    if (fok && nok && m && ns.p[0] == '$')
        check(fs.p[0] != '+' && fs.p[0] != '#', "[MQTT-4.7.2-1]");
    free(f);
    free(n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static const int versions[] = {MQ_V31, MQ_V311, MQ_V5};
    int version = versions[data[0] % 3];
    sl_slice rest = sl_slice_make(data + 1, size - 1);

    topics(rest.p, rest.n);

    /* A stream of packets: frame, decode, round-trip, move on. */
    for (int i = 0; i < 64 && rest.n > 0; i++) {
        mq_frame f;
        int rc = mq_frame_parse(rest, 1u << 20, &f);
        if (rc != 0)
            break;
        sl_arena a;
        mq_packet p;
        mq_err err = {0, NULL};
        sl_arena_init(&a, mem1, sizeof(mem1));
        rc = mq_packet_decode(&f, version, &a, &p, &err);
        if (rc == 0) {
            roundtrip(version, &p);
            if (p.type == MQ_PUBLISH)
                (void)mq_publish_payload_check(&p.u.publish, &err);
        } else {
            check(rc == SL_E_MALFORMED || rc == SL_E_VERSION ||
                      rc == SL_E_TOOBIG,
                  "decoder result code");
            check(err.what != NULL && err.reason >= 0x80,
                  "a failure carries a reason");
        }
        rest.p += f.size;
        rest.n -= f.size;
    }
    return 0;
}
