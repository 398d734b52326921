/*
 * mq_server.c — sluice-mqtt's server: start-up against segstore (HELLO,
 * the log topic, where its partitions end), the MQTT connections on
 * fe_common, framing and dispatch, CONNECT / CONNACK, SUBSCRIBE /
 * UNSUBSCRIBE, PINGREQ, DISCONNECT, keep alive, wills, takeover and the
 * orderly stop.
 *
 * Start-up.  The listener is bound at once (so a bad address fails the
 * process), but input is not read until the log topic exists and the tail
 * knows where every partition ends: a connection that arrives earlier
 * waits, paused.
 *
 * Bad input.  Framing and decoding are the codec's (mq_codec.h); a packet
 * that does not decode is answered, in MQTT 5, with DISCONNECT and the
 * reason code the codec names, in 3.x by closing; a failed CONNECT with the
 * CONNACK code the spec names.  Each is counted.  Input per connection is
 * bounded by mqtt.max.packet.size (fe_common's max_in), decoded arrays by
 * an arena sized from the packet.
 */
#include "mq_server.h"
#include "sl_metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A connection that has not sent CONNECT by then is closed. */
#define CONNECT_TIMEOUT_MS 10000
#define TICK_MS            100

uint64_t
mq__now_ms(void)
{
    return sl_mono_ns() / 1000000u;
}

int32_t
mq__partition_of(const mq_server *s, sl_slice topic)
{
    int t = 0;
    for (int i = 0; i < s->nrules; i++)
        if (mq_topic_match(sl_slice_str(s->rules[i].filter), topic)) {
            t = s->rules[i].t;
            break;
        }
    const mq_ltopic *l = &s->lt[t];
    return l->base + (int32_t)(sl_xxh3(topic.p, topic.n) % (uint64_t)l->nparts);
}

sl_slice
mq__gp_topic(const mq_server *s, int32_t g)
{
    return sl_slice_str(s->lt[s->gp_t[g]].name);
}

int32_t
mq__gp_part(const mq_server *s, int32_t g)
{
    return g - s->lt[s->gp_t[g]].base;
}

int32_t
mq__gp(const mq_server *s, sl_slice topic, int32_t part)
{
    for (int t = 0; t < s->nlt; t++)
        if (sl_slice_eq_str(topic, s->lt[t].name))
            return part >= 0 && part < s->lt[t].nparts ? s->lt[t].base + part
                                                       : -1;
    return -1;
}

static int
add_ltopic(mq_server *s, const char *name, size_t n)
{
    for (int t = 0; t < s->nlt; t++)
        if (strlen(s->lt[t].name) == n && memcmp(s->lt[t].name, name, n) == 0)
            return t;
    if (s->nlt == MQ_MAX_LTOPICS || n >= sizeof(s->lt[0].name))
        return -1;
    memcpy(s->lt[s->nlt].name, name, n);
    s->lt[s->nlt].name[n] = 0;
    return s->nlt++;
}

static int read_file(const char *path, sl_buf *out);

/* Parse the mapping rules from mqtt.log.rules (inline) or
 * mqtt.log.rules.file, not both, into *out (free it with mq_rules_free
 * also after a failure).  0 or SL_E_INVAL with err naming the key. */
static int
rules_load(const char *inline_rules, const char *file, mq_rules *out, char *err,
           size_t errlen)
{
    char why[384];
    int rc = 0;
    memset(out, 0, sizeof(*out));
    if (inline_rules[0] != 0 && file[0] != 0) {
        snprintf(err, errlen,
                 "mqtt.log.rules=%s: set either mqtt.log.rules or "
                 "mqtt.log.rules.file (%s), not both",
                 inline_rules, file);
        return SL_E_INVAL;
    }
    if (file[0] != 0) {
        sl_buf b = {0};
        rc = read_file(file, &b);
        if (rc == 0)
            rc = mq_rules_parse(sl_slice_make(b.p, b.n), out, why, sizeof(why));
        else
            snprintf(why, sizeof(why), "%s", sl_strerror(rc));
        sl_buf_fini(&b);
        if (rc != 0) {
            snprintf(err, errlen, "mqtt.log.rules.file=%s: %s", file, why);
            return SL_E_INVAL;
        }
    } else if (inline_rules[0] != 0) {
        rc = mq_rules_parse_inline(sl_slice_str(inline_rules), out, why,
                                   sizeof(why));
        if (rc != 0) {
            snprintf(err, errlen, "mqtt.log.rules=%s: %s", inline_rules, why);
            return SL_E_INVAL;
        }
    }
    return 0;
}

/*
 * The mapping rules: mqtt.log.rules (inline, FILTER=TOPIC;...) or
 * mqtt.log.rules.file (mq_rules.h), not both.  Log topic 0 is
 * mqtt.log.topic; the rules' topics follow in the order first named.
 */
static int
parse_rules(mq_server *s, char *err, size_t errlen)
{
    const mq_config *cfg = s->cfg;
    int rc = 0;
    if (!mq_rules_topic_valid(sl_slice_str(cfg->log_topic))) {
        snprintf(err, errlen,
                 "mqtt.log.topic=%s: a log topic name is 1..249 of a-z A-Z "
                 "0-9 . _ -",
                 cfg->log_topic);
        return SL_E_INVAL;
    }
    add_ltopic(s, cfg->log_topic, strlen(cfg->log_topic));
    rc = rules_load(cfg->log_rules, cfg->log_rules_file, &s->map, err, errlen);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < s->map.ntopics; i++) {
        const mq_rule_topic *rt = &s->map.topics[i];
        int t = add_ltopic(s, rt->name, strlen(rt->name));
        if (t < 0) {
            snprintf(err, errlen, "mqtt.log.rules: too many log topics");
            return SL_E_INVAL;
        }
        s->lt[t].spec = rt;
    }
    for (int t = 0; t < s->nlt; t++) {
        const mq_rule_topic *rt = s->lt[t].spec;
        s->lt[t].qos_default = rt && rt->qos > 0 ? (uint8_t)rt->qos : 0;
        s->lt[t].topic_header = rt ? rt->topic_header : NULL;
    }
    if (s->map.nrules > 0) {
        s->rules = calloc(s->map.nrules, sizeof(*s->rules));
        if (s->rules == NULL) {
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
    }
    for (size_t i = 0; i < s->map.nrules; i++) {
        const mq_rule_ent *e = &s->map.rules[i];
        const char *tn = s->map.topics[e->topic].name;
        s->rules[i].filter = e->filter;
        s->rules[i].t = add_ltopic(s, tn, strlen(tn));
    }
    s->nrules = (int)s->map.nrules;
    return 0;
}

/*
 * SIGHUP: the mapping rules again, from fresh's mqtt.log.rules or
 * mqtt.log.rules.file (whose content may have changed).  Filters, their
 * order, default QoS and topic header change live.  The set of log topics
 * cannot: partitions are numbered globally over them and every session's
 * cursors are kept by that numbering, so a change that adds, removes or
 * reorders log topics is refused (the old rules stay) and needs a restart;
 * partitions and topic configs of a rule are used only when its topic is
 * created.  0: applied or unchanged; otherwise refused, and logged.
 */
int
mq_server_reload_rules(mq_server *s, const mq_config *fresh)
{
    mq_rules map;
    char err[512];
    int rc = rules_load(fresh->log_rules, fresh->log_rules_file, &map, err,
                        sizeof(err));
    if (rc != 0) {
        sl_log(SL_LOG_ERROR, "MQ-RELOAD", "%s; kept the rules loaded before",
               err);
        mq_rules_free(&map);
        return rc;
    }
    sl_buf a = {0}, b = {0};
    int same = mq_rules_format(&s->map, &a) == 0 &&
               mq_rules_format(&map, &b) == 0 && a.n == b.n &&
               (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
    sl_buf_fini(&a);
    sl_buf_fini(&b);
    if (same) {
        mq_rules_free(&map);
        return 0;
    }
    /* The log topics the new rules name, in the order start-up would
     * number them: mqtt.log.topic, then each first named. */
    const char *names[MQ_MAX_LTOPICS];
    int n = 0;
    names[n++] = s->lt[0].name;
    for (size_t i = 0; i < map.ntopics; i++) {
        int dup = 0;
        for (int k = 0; k < n && !dup; k++)
            dup = strcmp(names[k], map.topics[i].name) == 0;
        if (dup)
            continue;
        if (n == MQ_MAX_LTOPICS) {
            n = -1;
            break;
        }
        names[n++] = map.topics[i].name;
    }
    int changed = n != s->nlt;
    for (int t = 0; !changed && t < n; t++)
        changed = strcmp(names[t], s->lt[t].name) != 0;
    if (changed) {
        sl_log(SL_LOG_WARN, "MQ-RELOAD",
               "mqtt.log.rules: the new rules name other log topics (%d "
               "instead of %d, or in another order); that needs a restart "
               "of every instance; kept the rules loaded before",
               n, s->nlt);
        mq_rules_free(&map);
        return SL_E_INVAL;
    }
    mq_rule *rules = NULL;
    if (map.nrules > 0 &&
        (rules = calloc(map.nrules, sizeof(*rules))) == NULL) {
        sl_log(SL_LOG_ERROR, "MQ-RELOAD",
               "mqtt.log.rules: out of memory; kept the rules loaded before");
        mq_rules_free(&map);
        return -ENOMEM;
    }
    for (size_t i = 0; i < map.nrules; i++) {
        const char *tn = map.topics[map.rules[i].topic].name;
        rules[i].filter = map.rules[i].filter;
        rules[i].t = add_ltopic(s, tn, strlen(tn)); /* found, not added */
    }
    for (int t = 0; t < s->nlt; t++) {
        const mq_rule_topic *rt = NULL;
        for (size_t i = 0; i < map.ntopics && rt == NULL; i++)
            if (strcmp(map.topics[i].name, s->lt[t].name) == 0)
                rt = &map.topics[i];
        s->lt[t].spec = rt;
        s->lt[t].qos_default = rt && rt->qos > 0 ? (uint8_t)rt->qos : 0;
        s->lt[t].topic_header = rt ? rt->topic_header : NULL;
    }
    free(s->rules);
    mq_rules_free(&s->map);
    s->map = map;
    s->rules = rules;
    s->nrules = (int)map.nrules;
    sl_log(SL_LOG_INFO, "MQ-RELOAD",
           "mqtt.log.rules: %d rules over the same %d log topics (the next "
           "publish is mapped by them)",
           s->nrules, s->nlt);
    return 0;
}

/* ---- connections ------------------------------------------------------------
 */

void
mq__conn_hold(mq_conn *c)
{
    c->refs++;
}

void
mq__conn_rele(mq_conn *c)
{
    if (--c->refs > 0)
        return;
    if (c->alias_in != NULL)
        for (int64_t i = 0; i < c->srv->cfg->topic_alias_max; i++)
            free(c->alias_in[i]);
    free(c->alias_in);
    for (uint16_t i = 0; i < c->nalias_out; i++)
        free(c->alias_out[i]);
    free(c->alias_out);
    free(c->will);
    free(c->cid);
    free(c->user);
    sl_buf_fini(&c->gate);
    free(c);
}

bool
mq__conn_send(mq_conn *c, const sl_buf *b)
{
    if (c->dead)
        return false;
    return fe_conn_write(c->fe, b->p, b->n) == 0;
}

void
mq__conn_fail(mq_conn *c, uint8_t reason, const char *why)
{
    mq_server *s = c->srv;
    if (c->dead || c->state == MQ_CS_CLOSING)
        return;
    if (reason == MQ_RC_MALFORMED_PACKET)
        s->st.malformed++;
    else
        s->st.protocol_errors++;
    sl_log(SL_LOG_DEBUG, "MQ-FAIL", "peer=%s reason=0x%02x %s: %s",
           fe_conn_peer(c->fe), reason, mq_reason_name(reason, MQ_DISCONNECT),
           why ? why : "");
    if (c->version == MQ_V5 && c->state == MQ_CS_CONNECTED) {
        mq_prop rs = {MQ_P_REASON_STRING, 0, sl_slice_str(why), {NULL, 0}};
        mq_disconnect d = {reason, {why ? &rs : NULL, why ? 1 : 0}};
        mq_packet pk = {.type = MQ_DISCONNECT};
        pk.u.disconnect = d;
        mq_packet_fit(MQ_V5, &pk, c->max_out_packet);
        sl_buf_reset(&s->out);
        if (mq_disconnect_encode(&s->out, MQ_V5, &pk.u.disconnect) == 0)
            mq__conn_send(c, &s->out);
    }
    c->state = MQ_CS_CLOSING;
    fe_conn_close(c->fe, SL_E_MALFORMED, 0);
}

static void *
conn_open(fe_conn *fe, void *arg, int *refuse)
{
    mq_server *s = arg;
    if (s->stopping) {
        *refuse = SL_E_CLOSED;
        return NULL;
    }
    mq_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        *refuse = -ENOMEM;
        return NULL;
    }
    c->srv = s;
    c->fe = fe;
    c->refs = 1;
    c->last_rx_ms = mq__now_ms();
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->st.conns++;
    s->st.open_conns++;
    return c;
}

/* The will of a connection that ended without a clean DISCONNECT. */
static void
will_on_close(mq_server *s, mq_conn *c, mq_session *ss)
{
    sl_slice cid = sl_slice_make(c->cid, c->cid_n);
    if (c->will == NULL)
        return;
    if (c->clean_disconnect) {
        mq__kv_will_del(s, cid);
        return;
    }
    if (c->will_delay == 0 || ss == NULL || ss->expiry == 0) {
        mq_msg m;
        if (mq__msg_from_blob(s, sl_slice_make(c->will, c->will_n), &m) == 0) {
            s->st.wills++;
            mq__publish_internal(s, &m);
        }
        mq__kv_will_del(s, cid);
        return;
    }
    /* Delayed: the session keeps it until the delay passes, the session
     * ends, or the client comes back; KV keeps it for another instance
     * should this one die meanwhile. */
    mq__kv_will_put(s, cid, c->will, c->will_n, c->will_delay,
                    sl_now_ms() + (int64_t)c->will_delay * 1000);
    free(ss->will);
    ss->will = c->will;
    ss->will_n = c->will_n;
    ss->will_at_ms = (int64_t)mq__now_ms() + (int64_t)c->will_delay * 1000;
    c->will = NULL;
}

static void
conn_closed(fe_conn *fe, void *state, int why)
{
    mq_conn *c = state;
    mq_server *s = c->srv;
    (void)fe;
    (void)why;
    c->dead = 1;
    s->st.open_conns--;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    mq_session *ss = c->sess;
    if (ss != NULL && ss->conn == c) {
        if (!s->stopping)
            will_on_close(s, c, ss);
        ss->conn = NULL;
        mq__share_redispatch(s, ss);
        ss->conn = c;
        if (ss->expiry == 0) {
            if (ss->persist)
                mq__kv_session_delete(s, sl_slice_make(ss->cid, ss->cid_n));
            mq__session_drop(s, ss);
        } else {
            mq__session_offline(s, ss);
            mq__kv_session_save(s, ss);
        }
    }
    c->sess = NULL;
    mq__conn_rele(c);
}

static void
conn_drained(fe_conn *fe, void *state)
{
    mq_conn *c = state;
    (void)fe;
    if (c->sess != NULL && c->sess->conn == c)
        mq__session_kick(c->sess);
}

/* ---- CONNECT --------------------------------------------------------------
 */

static void
connack_fail(mq_conn *c, int version, uint8_t reason)
{
    mq_server *s = c->srv;
    mq_connack a = {false, reason, {NULL, 0}};
    sl_buf_reset(&s->out);
    if (version == MQ_V5) {
        mq_connack_encode(&s->out, MQ_V5, &a);
    } else {
        uint8_t v3;
        if (mq_connack_code_v3(reason, &v3) == 0) {
            a.code = v3;
            mq_connack_encode(&s->out, version == MQ_V31 ? MQ_V31 : MQ_V311,
                              &a);
        }
    }
    if (s->out.n > 0)
        mq__conn_send(c, &s->out);
    c->state = MQ_CS_CLOSING;
    fe_conn_close(c->fe, SL_E_INVAL, 0);
}

static int
will_blob(mq_conn *c, const mq_connect *k, sl_slice cid)
{
    mq_msg m;
    memset(&m, 0, sizeof(m));
    m.topic = k->will.topic;
    m.payload = k->will.payload;
    m.qos = k->will.qos;
    m.retain = k->will.retain;
    m.cid = cid;
    mq_prop up[64];
    size_t nu = 0;
    uint32_t u;
    const mq_props *ps = &k->will.props;
    if (mq_props_get_u32(ps, MQ_P_PAYLOAD_FORMAT_INDICATOR, &u)) {
        m.has_pfi = true;
        m.pfi = (uint8_t)u;
        if (u == 1 && mq_utf8_check(m.payload, 0) != 0)
            return SL_E_MALFORMED;
    }
    m.has_ct = mq_props_get_str(ps, MQ_P_CONTENT_TYPE, &m.ct);
    m.has_rt = mq_props_get_str(ps, MQ_P_RESPONSE_TOPIC, &m.rt);
    m.has_cd = mq_props_get_str(ps, MQ_P_CORRELATION_DATA, &m.cd);
    for (size_t i = 0; i < ps->n && nu < SL_ARRAY_LEN(up); i++)
        if (ps->v[i].id == MQ_P_USER_PROPERTY)
            up[nu++] = ps->v[i];
    m.uprops = up;
    m.nuprops = nu;
    c->will_delay = 0;
    if (mq_props_get_u32(ps, MQ_P_WILL_DELAY_INTERVAL, &u))
        c->will_delay = u;
    /* The will's Message Expiry Interval counts from when it is
     * published: after the will delay at the latest. */
    if (mq_props_get_u32(ps, MQ_P_MESSAGE_EXPIRY_INTERVAL, &u))
        m.expiry_ms = sl_now_ms() + ((int64_t)c->will_delay + u) * 1000;
    free(c->will);
    c->will = NULL;
    return mq__msg_blob(&m, &c->will, &c->will_n);
}

/* ---- password check, off the loop thread --------------------------------- */

typedef struct auth_work {
    uv_work_t w;
    mq_conn *c; /* held */
    uint8_t *pw;
    size_t pw_n;
    const mq_passwd *file; /* the password file when the check began */
    int rc;
} auth_work;

static void
auth_run(uv_work_t *w)
{
    auth_work *a = w->data;
    mq_conn *c = a->c;
    /* Only immutable data is touched here: the parsed password file and
     * the strings this work owns (or the connection's, which the loop
     * thread does not change while the check runs). */
    a->rc = mq_passwd_check(a->file, sl_slice_make(c->user, c->user_n),
                            sl_slice_make(a->pw, a->pw_n));
}

static void connect_authed(mq_conn *c);

static void
auth_done(uv_work_t *w, int status)
{
    auth_work *a = w->data;
    mq_conn *c = a->c;
    if (!c->dead) {
        c->state = MQ_CS_NEW;
        fe_conn_resume(c->fe);
        if (status != 0 || a->rc != 0) {
            c->srv->st.auth_failures++;
            sl_log(SL_LOG_INFO, "MQ-AUTH", "peer=%s user=%s refused",
                   fe_conn_peer(c->fe), c->user);
            connack_fail(c, c->version, MQ_RC_BAD_USER_NAME_OR_PASSWORD);
        } else {
            connect_authed(c);
        }
    }
    mq_server *srv = c->srv;
    mq__conn_rele(c);
    free(a->pw);
    free(a);
    /* Password files replaced by a reload are freed once no check that
     * began with them is running. */
    if (--srv->auth_inflight == 0 && srv->passwd_retired != NULL) {
        for (size_t i = 0; i < srv->nretired; i++)
            mq_passwd_free(srv->passwd_retired[i]);
        free(srv->passwd_retired);
        srv->passwd_retired = NULL;
        srv->nretired = 0;
    }
}

static int
auth_start(mq_conn *c, sl_slice pw)
{
    auth_work *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    a->pw = malloc(pw.n ? pw.n : 1);
    if (a->pw == NULL) {
        free(a);
        return -ENOMEM;
    }
    if (pw.n)
        memcpy(a->pw, pw.p, pw.n);
    a->pw_n = pw.n;
    a->c = c;
    a->file = c->srv->passwd;
    a->w.data = a;
    mq__conn_hold(c);
    c->state = MQ_CS_LOADING;
    fe_conn_pause(c->fe);
    int rc = uv_queue_work(c->srv->loop, &a->w, auth_run, auth_done);
    if (rc != 0) {
        mq__conn_rele(c);
        free(a->pw);
        free(a);
        return rc;
    }
    c->srv->auth_inflight++;
    return 0;
}

bool
mq__acl(const mq_conn *c, sl_slice topic, int access)
{
    const mq_acl *acl = c->srv->acl;
    if (acl == NULL)
        return true;
    sl_slice user =
        c->user ? sl_slice_make(c->user, c->user_n) : sl_slice_make(NULL, 0);
    return mq_acl_allows(acl, user, sl_slice_make(c->cid, c->cid_n), topic,
                         access);
}

static void
gen_client_id(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t x = sl_mono_ns() ^ ((uint64_t)rand() << 32) ^ (uint64_t)rand();
    x = sl_xxh3(&x, sizeof(x));
    size_t i = 0;
    memcpy(out, "sluice-", 7);
    i = 7;
    for (int k = 0; k < 16 && i + 1 < n; k++, x >>= 4)
        out[i++] = hex[x & 15];
    out[i] = 0;
}

static int
handle_connect(mq_conn *c, mq_connect *k)
{
    mq_server *s = c->srv;
    const mq_config *cfg = s->cfg;
    c->version = k->version;
    s->st.connects++;
    char gen[32];
    sl_slice cid = k->client_id;
    bool assigned = false;
    if (cid.n == 0) {
        gen_client_id(gen, sizeof(gen));
        cid = sl_slice_str(gen);
        assigned = true;
    }
    if (c->version == MQ_V5 &&
        mq_props_find(&k->props, MQ_P_AUTHENTICATION_METHOD) != NULL) {
        connack_fail(c, c->version, MQ_RC_BAD_AUTHENTICATION_METHOD);
        return 0;
    }
    if (!cfg->allow_anonymous && !k->username_flag) {
        connack_fail(c, c->version, MQ_RC_NOT_AUTHORIZED);
        return 0;
    }
    uint32_t expiry = k->clean_start ? 0 : 0xFFFFFFFFu;
    uint32_t u;
    c->max_out_packet = MQ_MAX_PACKET;
    c->recv_max_out = 65535;
    c->alias_max_out = 0;
    if (c->version == MQ_V5) {
        expiry = 0;
        if (mq_props_get_u32(&k->props, MQ_P_SESSION_EXPIRY_INTERVAL, &u))
            expiry = u;
        if (mq_props_get_u32(&k->props, MQ_P_RECEIVE_MAXIMUM, &u))
            c->recv_max_out = (uint16_t)u;
        if (mq_props_get_u32(&k->props, MQ_P_MAXIMUM_PACKET_SIZE, &u))
            c->max_out_packet = u;
        if (mq_props_get_u32(&k->props, MQ_P_TOPIC_ALIAS_MAXIMUM, &u))
            c->alias_max_out = (uint16_t)u;
    }
    bool expiry_capped = false;
    if ((int64_t)expiry > cfg->session_expiry_max) {
        expiry = (uint32_t)cfg->session_expiry_max;
        expiry_capped = true;
    }
    c->keep_alive = k->keep_alive;
    bool ka_set = false;
    if (cfg->keepalive_max > 0 &&
        (k->keep_alive == 0 || k->keep_alive > cfg->keepalive_max)) {
        c->keep_alive = (uint16_t)cfg->keepalive_max;
        ka_set = true;
    }

    c->cid = malloc(cid.n + 1);
    if (c->cid == NULL)
        return -ENOMEM;
    memcpy(c->cid, cid.p, cid.n);
    c->cid[cid.n] = 0;
    c->cid_n = cid.n;
    c->pc_clean = k->clean_start;
    c->pc_expiry = expiry;
    c->pc_expiry_capped = expiry_capped;
    c->pc_ka_set = ka_set;
    c->pc_assigned = assigned;
    if (k->will_flag && will_blob(c, k, cid) != 0) {
        connack_fail(c, c->version, MQ_RC_PAYLOAD_FORMAT_INVALID);
        return 0;
    }
    c->will_retain = k->will_flag && k->will.retain;
    if (k->username_flag) {
        c->user = malloc(k->username.n + 1);
        if (c->user == NULL)
            return -ENOMEM;
        memcpy(c->user, k->username.p, k->username.n);
        c->user[k->username.n] = 0;
        c->user_n = k->username.n;
    }
    if (s->passwd != NULL && k->username_flag)
        return auth_start(c, k->password_flag ? k->password
                                              : sl_slice_make(NULL, 0));
    connect_authed(c);
    return 0;
}

/* After authentication: takeover, clean start, or load the session. */
static void
connect_authed(mq_conn *c)
{
    mq_server *s = c->srv;
    sl_slice cid = sl_slice_make(c->cid, c->cid_n);

    /* Takeover of a client id connected here: the old connection goes
     * with 0x8E and without its will (a new connection arrived). */
    mq_session *ss = mq__session_find(s, cid);
    if (ss != NULL && ss->conn != NULL) {
        mq_conn *old = ss->conn;
        s->st.takeovers++;
        old->takeover = true;
        old->clean_disconnect = true;
        mq__conn_fail(old, MQ_RC_SESSION_TAKEN_OVER, "session taken over");
        old->sess = NULL;
        mq__session_offline(s, ss);
    }
    if (c->pc_clean) {
        if (ss != NULL)
            mq__session_drop(s, ss);
        /* Whatever another process kept for this client ends too. */
        mq__kv_session_delete(s, cid);
    } else if (ss == NULL && s->kv_ok) {
        /* Not in this process: segstore may have it (another instance
         * served the client, or this one before a restart). */
        int rc = mq__kv_session_load(s, c);
        if (rc == 0) {
            c->state = MQ_CS_LOADING;
            fe_conn_pause(c->fe);
            return;
        }
        s->st.ipc_errors++;
    }
    mq__connect_finish(c);
}

void
mq__connect_finish(mq_conn *c)
{
    mq_server *s = c->srv;
    const mq_config *cfg = s->cfg;
    sl_slice cid = sl_slice_make(c->cid, c->cid_n);
    uint32_t expiry = c->pc_expiry;
    if (c->state == MQ_CS_LOADING) {
        c->state = MQ_CS_NEW;
        fe_conn_resume(c->fe);
    }
    mq_session *ss = mq__session_find(s, cid);
    if (ss != NULL && ss->conn != NULL && ss->conn != c) {
        /* Another connection of this client id finished connecting while
         * this one was loading: the later one wins, as on takeover. */
        mq_conn *old = ss->conn;
        s->st.takeovers++;
        old->takeover = true;
        old->clean_disconnect = true;
        mq__conn_fail(old, MQ_RC_SESSION_TAKEN_OVER, "session taken over");
        old->sess = NULL;
        mq__session_offline(s, ss);
    }
    if (ss != NULL && ss->disconnect_wall > 0 && ss->expiry != 0xFFFFFFFFu &&
        sl_now_ms() > ss->disconnect_wall + (int64_t)ss->expiry * 1000) {
        /* Expired while nobody held it in memory. */
        mq__session_drop(s, ss);
        ss = NULL;
    }
    bool present = false;
    if (ss != NULL) {
        present = true;
    } else {
        ss = mq__session_new(s, cid);
        if (ss == NULL) {
            fe_conn_close(c->fe, -ENOMEM, 1);
            return;
        }
    }
    mq__session_online(s, ss);
    ss->version = c->version;
    ss->expiry = expiry;
    ss->conn = c;
    ss->disconnect_wall = 0;
    ss->suback_wait = 0;
    ss->persist = expiry > 0;
    ss->dirty = 1;
    c->sess = ss;
    mq__kv_owner(s, cid, c->pc_clean);
    /* The will (or its absence) replaces whatever an earlier connection of
     * this client left in KV. */
    if (c->will != NULL)
        mq__kv_will_put(s, cid, c->will, c->will_n, c->will_delay, 0);
    else
        mq__kv_will_del(s, cid);
    if (ss->persist)
        mq__kv_session_save(s, ss);

    mq_connack a = {present, 0, {NULL, 0}};
    mq_prop pv[12];
    size_t np = 0;
    if (c->version == MQ_V5) {
        if (c->pc_expiry_capped)
            pv[np++] = (mq_prop){
                MQ_P_SESSION_EXPIRY_INTERVAL, expiry, {NULL, 0}, {NULL, 0}};
        pv[np++] = (mq_prop){MQ_P_RECEIVE_MAXIMUM,
                             (uint32_t)cfg->receive_max,
                             {NULL, 0},
                             {NULL, 0}};
        pv[np++] = (mq_prop){MQ_P_MAXIMUM_PACKET_SIZE,
                             (uint32_t)cfg->max_packet,
                             {NULL, 0},
                             {NULL, 0}};
        pv[np++] = (mq_prop){MQ_P_TOPIC_ALIAS_MAXIMUM,
                             (uint32_t)cfg->topic_alias_max,
                             {NULL, 0},
                             {NULL, 0}};
        if (c->pc_assigned)
            pv[np++] =
                (mq_prop){MQ_P_ASSIGNED_CLIENT_IDENTIFIER, 0, cid, {NULL, 0}};
        if (c->pc_ka_set)
            pv[np++] = (mq_prop){
                MQ_P_SERVER_KEEP_ALIVE, c->keep_alive, {NULL, 0}, {NULL, 0}};
    }
    a.props.v = pv;
    a.props.n = np;
    sl_buf_reset(&s->out);
    if (mq_connack_encode(&s->out, c->version, &a) != 0) {
        fe_conn_close(c->fe, SL_E_INVAL, 1);
        return;
    }
    mq__conn_send(c, &s->out);
    c->state = MQ_CS_CONNECTED;
    if (present)
        mq__session_resend(ss);
    mq__session_kick(ss);
}

/* ---- SUBSCRIBE / UNSUBSCRIBE -----------------------------------------------
 */

typedef struct ret_ctx {
    mq_session *ss;
    uint8_t qos;
    uint32_t id;
} ret_ctx;

static void
on_retained(void *arg, mq_retained *r)
{
    ret_ctx *x = arg;
    mq__deliver_retained(x->ss, r, x->qos, x->id);
}

typedef struct sub_wait {
    mq_conn *c;
    sl_buf b; /* the SUBACK */
} sub_wait;

static void
on_sub_saved(void *arg, int rc)
{
    sub_wait *w = arg;
    mq_conn *c = w->c;
    (void)rc; /* not durable: the subscription still holds in memory */
    mq_session *ss = c->sess;
    if (!c->dead && c->state == MQ_CS_CONNECTED && ss != NULL) {
        mq__conn_send(c, &w->b);
        if (ss->suback_wait > 0)
            ss->suback_wait--;
        mq__session_kick(ss);
    }
    mq__conn_rele(c);
    sl_buf_fini(&w->b);
    free(w);
}

static int
handle_subscribe(mq_conn *c, mq_subscribe *q)
{
    mq_server *s = c->srv;
    mq_session *ss = c->sess;
    uint32_t id = 0;
    if (c->version == MQ_V5)
        mq_props_get_u32(&q->props, MQ_P_SUBSCRIPTION_IDENTIFIER, &id);
    uint8_t codes_fixed[64];
    uint8_t *codes = q->n <= 64 ? codes_fixed : malloc(q->n);
    bool *fresh = calloc(q->n ? q->n : 1, sizeof(bool));
    if (codes == NULL || fresh == NULL) {
        if (codes != codes_fixed)
            free(codes);
        free(fresh);
        return -ENOMEM;
    }
    for (size_t i = 0; i < q->n; i++) {
        mq_sub *sub = &q->subs[i];
        if (sub->qos > 2)
            sub->qos = 2;
        mq_share shp;
        int sh = mq_topic_share_parse(sub->filter, &shp);
        if (sh < 0 || (sh == 0 && mq_topic_filter_check(sub->filter) != 0)) {
            codes[i] = MQ_RC_TOPIC_FILTER_INVALID;
            continue;
        }
        if (s->acl != NULL &&
            !mq_acl_allows_subscribe(s->acl,
                                     c->user ? sl_slice_make(c->user, c->user_n)
                                             : sl_slice_make(NULL, 0),
                                     sl_slice_make(c->cid, c->cid_n),
                                     sh == 1 ? shp.filter : sub->filter)) {
            s->st.acl_denied++;
            codes[i] = MQ_RC_NOT_AUTHORIZED;
            continue;
        }
        bool existed;
        int rc = mq__session_sub(s, ss, sub, id, &existed);
        if (rc != 0) {
            codes[i] = MQ_RC_UNSPECIFIED_ERROR;
            continue;
        }
        fresh[i] = !existed;
        codes[i] = sub->qos;
    }
    mq_suback a = {q->packet_id, {NULL, 0}, codes, q->n};
    if (c->version != MQ_V5)
        for (size_t i = 0; i < q->n; i++)
            codes[i] = mq_suback_code_v3(codes[i]);
    sub_wait *w = calloc(1, sizeof(*w));
    int rc = w ? mq_suback_encode(&w->b, c->version, &a) : -ENOMEM;
    if (rc == 0) {
        /* A persistent session's SUBACK waits until the subscription is
         * durable; retained messages queue behind it. */
        w->c = c;
        mq__conn_hold(c);
        ss->suback_wait++;
        if (ss->persist && s->kv_ok) {
            rc = mq__kv_session_save_cb(s, ss, on_sub_saved, w);
            if (rc != 0)
                on_sub_saved(w, rc);
            rc = 0;
            w = NULL;
        }
    }
    /* Retained messages after the SUBACK, per subscription's Retain
     * Handling; never for shared subscriptions [MQTT-3.8.4-?]. */
    for (size_t i = 0; rc == 0 && i < q->n; i++) {
        mq_sub *sub = &q->subs[i];
        if (codes[i] >= 0x80 || mq_topic_share_parse(sub->filter, NULL) != 0)
            continue;
        if (sub->retain_handling == 2 ||
            (sub->retain_handling == 1 && !fresh[i]))
            continue;
        ret_ctx x = {ss, sub->qos, id};
        mq__retained_match(s, sub->filter, on_retained, &x);
    }
    if (w != NULL && w->c != NULL)
        on_sub_saved(w, 0);
    else if (w != NULL) {
        sl_buf_fini(&w->b);
        free(w);
    }
    if (codes != codes_fixed)
        free(codes);
    free(fresh);
    return rc;
}

static int
handle_unsubscribe(mq_conn *c, mq_unsubscribe *q)
{
    mq_server *s = c->srv;
    uint8_t codes_fixed[64];
    uint8_t *codes = q->n <= 64 ? codes_fixed : malloc(q->n);
    if (codes == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < q->n; i++)
        codes[i] = mq__session_unsub(s, c->sess, q->filters[i]) == 1
                       ? MQ_RC_SUCCESS
                       : MQ_RC_NO_SUBSCRIPTION_EXISTED;
    mq_suback a = {
        q->packet_id, {NULL, 0}, codes, c->version == MQ_V5 ? q->n : 0};
    sl_buf_reset(&s->out);
    int rc = mq_unsuback_encode(&s->out, c->version, &a);
    if (rc == 0)
        mq__conn_send(c, &s->out);
    if (codes != codes_fixed)
        free(codes);
    return rc;
}

/* ---- DISCONNECT
 * -------------------------------------------------------------- */

static void
handle_disconnect(mq_conn *c, const mq_disconnect *d)
{
    mq_session *ss = c->sess;
    c->clean_disconnect =
        !(c->version == MQ_V5 && d->reason == MQ_RC_DISCONNECT_WITH_WILL);
    uint32_t u;
    if (c->version == MQ_V5 &&
        mq_props_get_u32(&d->props, MQ_P_SESSION_EXPIRY_INTERVAL, &u)) {
        if (ss->expiry == 0 && u != 0) {
            /* [MQTT-3.14.2-2] */
            c->clean_disconnect = false;
            mq__conn_fail(c, MQ_RC_PROTOCOL_ERROR,
                          "Session Expiry Interval set on DISCONNECT after "
                          "0 at CONNECT");
            return;
        }
        ss->expiry =
            (uint32_t)SL_MIN((int64_t)u, c->srv->cfg->session_expiry_max);
    }
    c->state = MQ_CS_CLOSING;
    fe_conn_close(c->fe, 0, 0);
}

/* ---- dispatch
 * ---------------------------------------------------------------- */

static int
arena_for(mq_server *s, size_t frame, sl_arena *a)
{
    size_t want = 16 * frame + 4096;
    if (want > s->acap) {
        uint8_t *m = realloc(s->amem, want);
        if (m == NULL)
            return -ENOMEM;
        s->amem = m;
        s->acap = want;
    }
    sl_arena_init(a, s->amem, s->acap);
    return 0;
}

static int
handle_packet(mq_conn *c, const mq_frame *f)
{
    mq_server *s = c->srv;
    sl_arena ar;
    int rc = arena_for(s, f->size, &ar);
    if (rc != 0)
        return rc;
    mq_packet pk;
    mq_err err = {0, NULL};
    if (c->state == MQ_CS_NEW) {
        if (f->type != MQ_CONNECT) {
            /* [MQTT-3.1.0-1]: the first packet must be CONNECT. */
            s->st.protocol_errors++;
            c->state = MQ_CS_CLOSING;
            fe_conn_close(c->fe, SL_E_MALFORMED, 0);
            return 0;
        }
        rc = mq_packet_decode(f, 0, &ar, &pk, &err);
        if (rc == SL_E_VERSION) {
            s->st.protocol_errors++;
            connack_fail(c, pk.u.connect.version == MQ_V5 ? MQ_V5 : MQ_V311,
                         MQ_RC_UNSUPPORTED_PROTOCOL_VERSION);
            return 0;
        }
        if (rc != 0) {
            s->st.malformed++;
            int v = pk.u.connect.version;
            connack_fail(c, v >= MQ_V31 && v <= MQ_V5 ? v : MQ_V311,
                         err.reason ? err.reason : MQ_RC_MALFORMED_PACKET);
            return 0;
        }
        return handle_connect(c, &pk.u.connect);
    }
    rc = mq_packet_decode(f, c->version, &ar, &pk, &err);
    if (rc != 0) {
        mq__conn_fail(c, err.reason ? err.reason : MQ_RC_MALFORMED_PACKET,
                      err.what);
        return 0;
    }
    switch (pk.type) {
    case MQ_PUBLISH:
        return mq__handle_publish(c, &pk.u.publish) == -ENOMEM ? -ENOMEM : 0;
    case MQ_PUBACK:
    case MQ_PUBREC:
    case MQ_PUBCOMP:
        return mq__handle_puback(c, pk.type, &pk.u.ack);
    case MQ_PUBREL:
        return mq__handle_pubrel(c, &pk.u.ack);
    case MQ_SUBSCRIBE:
        return handle_subscribe(c, &pk.u.subscribe);
    case MQ_UNSUBSCRIBE:
        return handle_unsubscribe(c, &pk.u.unsubscribe);
    case MQ_PINGREQ:
        sl_buf_reset(&s->out);
        if (mq_pingresp_encode(&s->out) == 0)
            mq__conn_send(c, &s->out);
        return 0;
    case MQ_DISCONNECT:
        handle_disconnect(c, &pk.u.disconnect);
        return 0;
    case MQ_CONNECT:
        mq__conn_fail(c, MQ_RC_PROTOCOL_ERROR, "[MQTT-3.1.0-2] second CONNECT");
        return 0;
    default:
        /* CONNACK, SUBACK, UNSUBACK, PINGRESP, AUTH: not for a server
         * (no authentication method was agreed, so no AUTH either). */
        mq__conn_fail(c, MQ_RC_PROTOCOL_ERROR, "packet type not expected");
        return 0;
    }
}

static int
conn_data(fe_conn *fe, void *state, sl_slice buf, size_t *consumed)
{
    mq_conn *c = state;
    mq_server *s = c->srv;
    size_t off = 0;
    *consumed = 0;
    if (!s->ready) {
        fe_conn_pause(fe);
        return 0;
    }
    while (off < buf.n && c->state != MQ_CS_CLOSING &&
           c->state != MQ_CS_LOADING && !c->dead) {
        mq_frame f;
        int rc = mq_frame_parse(sl_slice_make(buf.p + off, buf.n - off),
                                (uint32_t)s->cfg->max_packet, &f);
        if (rc == SL_E_PARTIAL)
            break;
        if (rc == SL_E_TOOBIG) {
            if (c->state == MQ_CS_NEW) {
                s->st.protocol_errors++;
                connack_fail(c, MQ_V5, MQ_RC_PACKET_TOO_LARGE);
            } else {
                mq__conn_fail(c, MQ_RC_PACKET_TOO_LARGE,
                              "packet larger than Maximum Packet Size");
            }
            off = buf.n;
            break;
        }
        if (rc != 0) {
            mq__conn_fail(c, MQ_RC_MALFORMED_PACKET, "bad remaining length");
            if (c->state != MQ_CS_CLOSING) {
                c->state = MQ_CS_CLOSING;
                fe_conn_close(fe, SL_E_MALFORMED, 0);
            }
            off = buf.n;
            break;
        }
        c->last_rx_ms = mq__now_ms();
        rc = handle_packet(c, &f);
        off += f.size;
        if (rc != 0) {
            *consumed = off;
            return rc;
        }
    }
    *consumed = off;
    return 0;
}

/* ---- $SYS: this process's statistics, like Mosquitto's ---------------- */

static void
sys_pub(mq_server *s, const char *topic, const char *val)
{
    mq_msg m;
    memset(&m, 0, sizeof(m));
    m.topic = sl_slice_str(topic);
    m.payload = sl_slice_str(val);
    m.part = -1;
    m.offset = -1;
    uint8_t *blob;
    size_t bn;
    /* Retained locally (a new subscriber gets the last value), sent to the
     * subscribers of this process; never in the log or KV. */
    m.retain = true;
    if (mq__msg_blob(&m, &blob, &bn) == 0) {
        mq__retained_set(s, m.topic, blob, bn, 0);
        free(blob);
    }
    m.retain = false;
    mq__deliver_local(s, &m);
}

static void
sys_num(mq_server *s, const char *topic, uint64_t v)
{
    char val[32];
    snprintf(val, sizeof(val), "%llu", (unsigned long long)v);
    sys_pub(s, topic, val);
}

static void
sys_update(mq_server *s, uint64_t now)
{
    const mq_stats *st = &s->st;
    uint64_t connected = 0;
    char up[48];
    for (mq_conn *c = s->conns; c != NULL; c = c->next)
        connected += c->state == MQ_CS_CONNECTED;
    snprintf(up, sizeof(up), "%llu seconds",
             (unsigned long long)((now - s->start_ms) / 1000));
    sys_pub(s, "$SYS/broker/uptime", up);
    sys_pub(s, "$SYS/broker/version", "sluice-mqtt " SLUICE_VERSION);
    sys_num(s, "$SYS/broker/clients/connected", connected);
    sys_num(s, "$SYS/broker/clients/total", s->nsessions);
    sys_num(s, "$SYS/broker/messages/received", st->msgs_in);
    sys_num(s, "$SYS/broker/messages/sent", st->msgs_out);
    sys_num(s, "$SYS/broker/publish/messages/dropped",
            st->dropped_qos0 + st->dropped_too_big);
    sys_num(s, "$SYS/broker/bytes/received", st->bytes_in);
    sys_num(s, "$SYS/broker/bytes/sent", st->bytes_out);
    sys_num(s, "$SYS/broker/retained messages/count", s->nretained);
}

/* ---- housekeeping
 * -------------------------------------------------------------- */

static void
on_tick(uv_timer_t *t)
{
    mq_server *s = t->data;
    uint64_t now = mq__now_ms();
    mq_conn *c = s->conns;
    while (c != NULL) {
        mq_conn *next = c->next;
        if (c->state == MQ_CS_NEW && s->ready &&
            now - c->last_rx_ms > CONNECT_TIMEOUT_MS) {
            c->state = MQ_CS_CLOSING;
            fe_conn_close(c->fe, SL_E_TIMEOUT, 0);
        } else if (c->state == MQ_CS_CONNECTED && c->keep_alive > 0 &&
                   now - c->last_rx_ms > (uint64_t)c->keep_alive * 1500) {
            /* [MQTT-3.1.2-22]: one and a half times the keep alive. */
            mq__conn_fail(c, MQ_RC_KEEP_ALIVE_TIMEOUT, "keep alive timeout");
        }
        c = next;
    }
    if (!s->ready)
        return;
    mq__sessions_tick(s, now);
    mq__shares_tick(s, now);
    mq__kv_orphans_tick(s);
    mq__kv_adopted_tick(s);
    if (now - s->last_beat_ms >= 1000) {
        s->last_beat_ms = now;
        mq__kv_heartbeat(s);
    }
    if (now - s->last_reap_ms >= 2000) {
        s->last_reap_ms = now;
        mq__kv_reap_check(s);
    }
    if (now - s->last_flush_ms >= (uint64_t)s->cfg->session_flush_ms) {
        s->last_flush_ms = now;
        mq__kv_tick(s);
    }
    if (s->cfg->sys_interval > 0 &&
        now - s->last_sys_ms >= (uint64_t)s->cfg->sys_interval * 1000) {
        s->last_sys_ms = now;
        sys_update(s, now);
    }
    if (now - s->last_poll_ms >= (uint64_t)s->cfg->tail_poll_ms) {
        s->last_poll_ms = now;
        mq__tail_poll(s);
    }
}

/* ---- start-up against segstore --------------------------------------------
 */

static void start_step(mq_server *s);
static void on_ready(mq_server *s);

static void
on_start_timer(uv_timer_t *t)
{
    start_step(t->data);
}

static void
start_retry(mq_server *s, const char *what, int rc)
{
    s->start_busy = 0;
    sl_log(SL_LOG_WARN, "MQ-SEGSTORE", "%s: %s; retrying in 1 s", what,
           sl_strerror(rc));
    if (!s->stopping)
        uv_timer_start(&s->start_timer, on_start_timer, 1000, 0);
}

/* segstore's connection came or went (nng redials by itself): one log
 * line per change, counted in the metrics. */
static void
on_link(void *arg, int up)
{
    mq_server *s = arg;
    fe_link_change(&s->link, up, uv_now(s->loop));
}

static void
on_event(void *arg, const ipc_event *e)
{
    mq_server *s = arg;
    if (!s->ready)
        return;
    if (e->op == IPC_EVT_KV)
        mq__kv_event(s, e);
    else
        mq__tail_event(s, e);
}

static void setup_topic(mq_server *s);

static void
on_describe(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    mq_server *s = arg;
    mq_ltopic *l = &s->lt[s->setup_i];
    ipc_topic_describe_rep m;
    if (rc == 0 && h->status != 0)
        rc = h->status;
    if (rc == 0 && ipc_topic_describe_rep_decode(body, &m) != 0)
        rc = SL_E_MALFORMED;
    if (rc == 0 && m.partitions <= 0)
        rc = SL_E_MALFORMED;
    if (rc != 0) {
        start_retry(s, "describe a log topic", rc);
        return;
    }
    if (l->spec != NULL && l->spec->partitions > 0 &&
        l->spec->partitions != m.partitions)
        sl_log(SL_LOG_WARN, "MQ-START",
               "log topic %s exists with %d partitions, the rules say %d: "
               "kept as it is",
               l->name, (int)m.partitions, (int)l->spec->partitions);
    l->nparts = m.partitions;
    free(l->hw0);
    l->hw0 = calloc((size_t)l->nparts, sizeof(int64_t));
    if (l->hw0 == NULL) {
        start_retry(s, "start", -ENOMEM);
        return;
    }
    ipc_partition_info pi;
    while (ipc_topic_describe_rep_next_part(&m, &pi) == 1)
        if (pi.partition >= 0 && pi.partition < l->nparts)
            l->hw0[pi.partition] = pi.high_watermark;
    if (++s->setup_i < s->nlt) {
        setup_topic(s);
        return;
    }
    /* Every log topic known: number their partitions globally. */
    s->nparts = 0;
    for (int t = 0; t < s->nlt; t++) {
        s->lt[t].base = s->nparts;
        s->nparts += s->lt[t].nparts;
    }
    s->tail_next = calloc((size_t)s->nparts, sizeof(int64_t));
    s->tail_hw = calloc((size_t)s->nparts, sizeof(int64_t));
    s->tail_reading = calloc((size_t)s->nparts, 1);
    s->gp_t = calloc((size_t)s->nparts, 1);
    mq__append_init(s);
    if (s->tail_next == NULL || s->tail_hw == NULL || s->tail_reading == NULL ||
        s->gp_t == NULL || s->acc.bufs == NULL) {
        sl_log(SL_LOG_ERROR, "MQ-START", "out of memory");
        exit(1);
    }
    for (int t = 0; t < s->nlt; t++)
        for (int32_t q = 0; q < s->lt[t].nparts; q++) {
            int32_t g = s->lt[t].base + q;
            s->gp_t[g] = (uint8_t)t;
            s->tail_next[g] = s->tail_hw[g] = s->lt[t].hw0[q];
        }
    /* Retained messages first: a subscriber must find them from the
     * first connection on. */
    mq__kv_scan_retained(s, on_ready);
}

static void
on_ready(mq_server *s)
{
    s->ready = 1;
    s->start_busy = 0;
    s->last_poll_ms = mq__now_ms();
    /* The heartbeat goes first, before any client's session or will: an
     * instance killed right after it started is then known to be dead,
     * and its clients' wills and sessions are taken over. */
    s->last_beat_ms = s->last_poll_ms;
    mq__kv_heartbeat(s);
    sl_log(SL_LOG_INFO, "MQ-READY",
           "log topic=%s topics=%d rules=%d partitions=%d local=%d",
           s->cfg->log_topic, s->nlt, s->nrules, s->nparts, s->is_local);
    for (mq_conn *c = s->conns; c != NULL; c = c->next)
        fe_conn_resume(c->fe);
}

static void
on_create(void *arg, int rc, const ipc_hdr *h, sl_slice body)
{
    mq_server *s = arg;
    if (rc == 0 && (h->status == SL_E_INVAL || h->status == SL_E_UNSUPPORTED)) {
        /* The rules asked for something segstore refuses (a topic config
         * it does not know, a bad value): a configuration error. */
        sl_slice why = sl_slice_str("");
        ipc_err_decode(body, &why);
        sl_log(SL_LOG_ERROR, "MQ-CONFIG",
               "log topic %s cannot be created as the mapping rules say: "
               "%.*s",
               s->lt[s->setup_i].name, (int)why.n, (const char *)why.p);
        exit(1);
    }
    if (rc == 0 && h->status != 0 && h->status != SL_E_EXISTS)
        rc = h->status;
    if (rc != 0) {
        start_retry(s, "create a log topic", rc);
        return;
    }
    sl_buf b = {0};
    rc =
        ipc_topic_describe_req_encode(&b, sl_slice_str(s->lt[s->setup_i].name));
    if (rc == 0)
        rc =
            ipc_client_request(s->ipc, sl_slice_make(b.p, b.n), on_describe, s);
    sl_buf_fini(&b);
    if (rc != 0)
        start_retry(s, "describe a log topic", rc);
}

/* Create (when missing) and describe log topic s->setup_i. */
static void
setup_topic(mq_server *s)
{
    sl_buf b = {0};
    /* A batch may hold one message as large as the largest packet a
     * client may send, plus its headers. */
    char mmb[32];
    snprintf(mmb, sizeof(mmb), "%lld",
             (long long)s->cfg->max_packet + (256 << 10) + 65536);
    const mq_ltopic *l = &s->lt[s->setup_i];
    ipc_kv conf[1 + MQ_RULES_MAX_CONF];
    size_t nconf = 0;
    conf[nconf++] =
        (ipc_kv){sl_slice_str("max.message.bytes"), sl_slice_str(mmb)};
    int32_t parts = (int32_t)s->cfg->log_partitions;
    if (l->spec != NULL) {
        if (l->spec->partitions > 0)
            parts = l->spec->partitions;
        for (size_t i = 0; i < l->spec->nconf; i++)
            conf[nconf++] = (ipc_kv){sl_slice_str(l->spec->conf[i].key),
                                     sl_slice_str(l->spec->conf[i].value)};
    }
    int rc = ipc_topic_create_req_encode(&b, sl_slice_str(l->name), parts, conf,
                                         nconf);
    if (rc == 0)
        rc = ipc_client_request(s->ipc, sl_slice_make(b.p, b.n), on_create, s);
    sl_buf_fini(&b);
    if (rc != 0)
        start_retry(s, "create a log topic", rc);
}

static void
on_hello(void *arg, int rc)
{
    mq_server *s = arg;
    if (rc != 0) {
        start_retry(s, "segstore HELLO", rc);
        return;
    }
    s->is_local = ipc_client_is_local(s->ipc);
    if (!s->subscribed) {
        rc = ipc_client_subscribe(s->ipc, NULL, on_event, s);
        if (rc == 0)
            s->subscribed = 1;
        else
            sl_log(SL_LOG_WARN, "MQ-SEGSTORE",
                   "cannot subscribe to events: %s (the tail polls)",
                   sl_strerror(rc));
    }
    s->setup_i = 0;
    setup_topic(s);
}

static void
start_step(mq_server *s)
{
    if (s->start_busy || s->stopping || s->ready)
        return;
    s->start_busy = 1;
    int rc = ipc_client_hello_async(s->ipc, on_hello, s);
    if (rc != 0)
        start_retry(s, "segstore HELLO", rc);
}

static int
read_file(const char *path, sl_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -errno;
    char tmp[65536];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        rc = sl_buf_append(out, tmp, n);
    if (rc == 0 && ferror(f))
        rc = -EIO;
    fclose(f);
    return rc;
}

static int
load_files(const mq_config *cfg, mq_passwd **pw, mq_acl **acl, char *err,
           size_t errlen)
{
    char why[256];
    sl_buf b = {0};
    int rc = 0;
    *pw = NULL;
    *acl = NULL;
    if (cfg->password_file[0] != 0) {
        rc = read_file(cfg->password_file, &b);
        if (rc == 0)
            rc = mq_passwd_parse(sl_slice_make(b.p, b.n), pw, why, sizeof(why));
        else
            snprintf(why, sizeof(why), "%s", sl_strerror(rc));
        if (rc != 0) {
            snprintf(err, errlen, "mqtt.password.file=%s: %s",
                     cfg->password_file, why);
            goto out;
        }
    }
    sl_buf_reset(&b);
    if (cfg->acl_file[0] != 0) {
        rc = read_file(cfg->acl_file, &b);
        if (rc == 0)
            rc = mq_acl_parse(sl_slice_make(b.p, b.n), acl, why, sizeof(why));
        else
            snprintf(why, sizeof(why), "%s", sl_strerror(rc));
        if (rc != 0) {
            snprintf(err, errlen, "mqtt.acl.file=%s: %s", cfg->acl_file, why);
            goto out;
        }
    }
out:
    if (rc != 0) {
        mq_passwd_free(*pw);
        *pw = NULL;
    }
    sl_buf_fini(&b);
    return rc;
}

static int
load_auth(mq_server *s, char *err, size_t errlen)
{
    int rc = load_files(s->cfg, &s->passwd, &s->acl, err, errlen);
    if (rc == 0)
        sl_log(SL_LOG_INFO, "MQ-AUTH", "users=%zu acl_rules=%zu anonymous=%d",
               mq_passwd_count(s->passwd), mq_acl_rule_count(s->acl),
               s->cfg->allow_anonymous);
    return rc;
}

int
mq_server_reload(mq_server *s)
{
    mq_passwd *pw;
    mq_acl *acl;
    char err[512];
    /* Nothing configured and nothing loaded: nothing to do.  A path
     * emptied by the reload unloads its file. */
    if (s->cfg->password_file[0] == 0 && s->cfg->acl_file[0] == 0 &&
        s->passwd == NULL && s->acl == NULL)
        return 0;
    int rc = load_files(s->cfg, &pw, &acl, err, sizeof(err));
    if (rc != 0) {
        sl_log(SL_LOG_ERROR, "MQ-RELOAD", "%s; kept the files loaded before",
               err);
        return rc;
    }
    /* The ACL is read on this thread only: replace it at once.  A
     * password file may be in use by checks on worker threads. */
    mq_acl_free(s->acl);
    s->acl = acl;
    if (s->auth_inflight == 0) {
        mq_passwd_free(s->passwd);
    } else {
        mq_passwd **r =
            realloc(s->passwd_retired, (s->nretired + 1) * sizeof(*r));
        if (r != NULL) {
            s->passwd_retired = r;
            r[s->nretired++] = s->passwd;
        } /* else: leaked rather than freed under a running check */
    }
    s->passwd = pw;
    sl_log(SL_LOG_INFO, "MQ-RELOAD",
           "users=%zu acl_rules=%zu (connections kept; the new rules apply "
           "to the next publish, subscribe and delivery)",
           mq_passwd_count(s->passwd), mq_acl_rule_count(s->acl));
    return 0;
}

int
mq_server_start(mq_server *s, const mq_config *cfg, uv_loop_t *loop, char *err,
                size_t errlen)
{
    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    s->loop = loop;
    s->start_ms = mq__now_ms();
    srand((unsigned)sl_mono_ns());
    {
        uint64_t x =
            sl_mono_ns() ^ (uint64_t)sl_now_ms() << 20 ^ (uint64_t)rand() << 32;
        x = sl_xxh3(&x, sizeof(x));
        snprintf(s->instance, sizeof(s->instance), "%016llx",
                 (unsigned long long)x);
    }
    s->subs_root = mq__trie_new();
    s->ret_root = mq__trie_new();
    if (s->subs_root == NULL || s->ret_root == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = parse_rules(s, err, errlen);
    if (rc != 0)
        return rc;
    if (cfg->password_file[0] != 0 || cfg->acl_file[0] != 0) {
        rc = load_auth(s, err, errlen);
        if (rc != 0)
            return rc;
    }
    ipc_client_opts io = {
        .url = cfg->segstore,
        .name = "sluice-mqtt",
        .loop = loop,
        .max_inflight = (int)cfg->ipc_inflight,
        .timeout_ms = (int)cfg->ipc_timeout_ms,
    };
    rc = ipc_client_new(&io, &s->ipc);
    if (rc != 0) {
        snprintf(err, errlen, "segstore=%s: %s", cfg->segstore,
                 sl_strerror(rc));
        return rc;
    }
    fe_link_init(&s->link, "MQ-SEGSTORE", cfg->segstore);
    ipc_client_on_link(s->ipc, on_link, s);
    static const fe_handler h = {
        .open = conn_open,
        .data = conn_data,
        .closed = conn_closed,
        .drained = conn_drained,
    };
    fe_server_opts fo = {
        .listen = cfg->listen,
        .max_in = (size_t)cfg->max_packet + 8,
        .max_out = (size_t)cfg->conn_max_out * 2,
    };
    rc = fe_server_new(loop, &fo, &h, s, &s->fe, err, errlen);
    if (rc != 0)
        return rc;
    mq__publish_init(s);
    uv_timer_init(loop, &s->start_timer);
    s->start_timer.data = s;
    uv_timer_init(loop, &s->stop_timer);
    s->stop_timer.data = s;
    uv_timer_init(loop, &s->tick);
    s->tick.data = s;
    uv_timer_start(&s->tick, on_tick, TICK_MS, TICK_MS);
    start_step(s);
    rc = mq__metrics_start(s, err, errlen);
    if (rc != 0)
        return rc;
    sl_log(SL_LOG_INFO, "MQ-LISTEN", "listen=%s port=%d segstore=%s",
           cfg->listen, fe_server_port(s->fe), cfg->segstore);
    return 0;
}

/* ---- stop -------------------------------------------------------------------
 */

static void
fe_done(void *arg)
{
    mq_server *s = arg;
    fe_server_free(s->fe);
    s->fe = NULL;
    uv_close((uv_handle_t *)&s->start_timer, NULL);
    uv_close((uv_handle_t *)&s->stop_timer, NULL);
    uv_close((uv_handle_t *)&s->tick, NULL);
    uv_close((uv_handle_t *)&s->flush_check, NULL);
    sl_metrics_free(s->metrics);
    s->metrics = NULL;
    s->h_deliver = NULL;
    free(s->rules);
    s->rules = NULL;
    s->nrules = 0;
    mq_rules_free(&s->map);
    if (s->stopped)
        s->stopped(s->stopped_arg);
}

static void
on_stop_timer(uv_timer_t *t)
{
    mq_server *s = t->data;
    uint64_t waited = mq__now_ms() - s->start_ms;
    mq__kv_flush(s);
    if ((s->appending || s->kv_busy || s->nkv > 0 || mq__shares_busy(s)) &&
        waited < (uint64_t)s->cfg->shutdown_timeout_ms)
        return; /* wait for the APPEND and KV writes in flight */
    uv_timer_stop(&s->stop_timer);
    mq__metrics_stop(s);
    fe_server_close(s->fe, fe_done, s);
}

void
mq_server_stop(mq_server *s, void (*done)(void *arg), void *arg)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    s->stopped = done;
    s->stopped_arg = arg;
    uv_timer_stop(&s->start_timer);
    fe_server_stop_accepting(s->fe);
    for (mq_conn *c = s->conns; c != NULL; c = c->next) {
        /* An orderly stop sends no wills, here or from another instance. */
        if (c->will != NULL && c->sess != NULL && c->sess->conn == c)
            mq__kv_will_del(s, sl_slice_make(c->cid, c->cid_n));
        if (c->state == MQ_CS_CONNECTED && c->version == MQ_V5) {
            /* Where configured, tell the client where to go instead. */
            mq_prop ref = {MQ_P_SERVER_REFERENCE,
                           0,
                           sl_slice_str(s->cfg->server_reference),
                           {NULL, 0}};
            mq_disconnect d = {MQ_RC_SERVER_SHUTTING_DOWN, {NULL, 0}};
            if (s->cfg->server_reference[0] != 0)
                d = (mq_disconnect){MQ_RC_USE_ANOTHER_SERVER, {&ref, 1}};
            sl_buf_reset(&s->out);
            if (mq_disconnect_encode(&s->out, MQ_V5, &d) == 0)
                mq__conn_send(c, &s->out);
        }
        fe_conn_pause(c->fe);
    }
    if (s->ready) {
        /* The heartbeat stays: once it is old, a survivor claims this
         * instance like a dead one, sends the delayed wills of its
         * offline sessions when due (connected clients' wills were just
         * deleted: none is sent for them) and expires its sessions. */
        mq__kv_tick(s);
        mq__shares_stop(s);
        mq__append_flush(s);
        mq__kv_flush(s);
    }
    s->start_ms = mq__now_ms(); /* the stop timer measures from here */
    uv_timer_start(&s->stop_timer, on_stop_timer, 0, 20);
}
