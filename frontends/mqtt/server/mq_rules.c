/*
 * mq_rules.c — the mapping rules' parsers (mq_rules.h): pure functions
 * over the text, no I/O.
 */
#include "mq_rules.h"
#include "mq_codec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
mq_rules_topic_valid(sl_slice n)
{
    if (n.n == 0 || n.n > MQ_RULES_MAX_NAME)
        return false;
    if ((n.n == 1 && n.p[0] == '.') ||
        (n.n == 2 && n.p[0] == '.' && n.p[1] == '.'))
        return false;
    for (size_t i = 0; i < n.n; i++) {
        char c = (char)n.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

void
mq_rules_free(mq_rules *r)
{
    for (size_t i = 0; i < r->ntopics; i++) {
        mq_rule_topic *t = &r->topics[i];
        free(t->name);
        free(t->topic_header);
        for (size_t k = 0; k < t->nconf; k++) {
            free(t->conf[k].key);
            free(t->conf[k].value);
        }
    }
    for (size_t i = 0; i < r->nrules; i++)
        free(r->rules[i].filter);
    free(r->topics);
    free(r->rules);
    memset(r, 0, sizeof(*r));
}

static char *
dup_slice(sl_slice s)
{
    char *p = malloc(s.n + 1);
    if (p != NULL) {
        if (s.n > 0)
            memcpy(p, s.p, s.n);
        p[s.n] = 0;
    }
    return p;
}

/* "WHERE LINE: `s`: why" into err, s printable and bounded. */
static void fail(char *err, size_t errlen, const char *where, int line,
                 sl_slice s, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void
fail(char *err, size_t errlen, const char *where, int line, sl_slice s,
     const char *fmt, ...)
{
    char why[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    char txt[96];
    size_t k = 0;
    for (size_t i = 0; i < s.n && k + 4 < sizeof(txt); i++) {
        uint8_t c = s.p[i];
        txt[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (s.n > 0 && k < s.n)
        txt[k++] = '.', txt[k++] = '.', txt[k++] = '.';
    txt[k] = 0;
    snprintf(err, errlen, "%s %d: `%s`: %s", where, line, txt, why);
}

/* The topic named n, added when new; -1 on ENOMEM or too many. */
static long
topic_get(mq_rules *r, sl_slice n)
{
    for (size_t i = 0; i < r->ntopics; i++)
        if (sl_slice_eq_str(n, r->topics[i].name))
            return (long)i;
    if (r->ntopics == MQ_RULES_MAX_TOPICS)
        return -2;
    mq_rule_topic *v = realloc(r->topics, (r->ntopics + 1) * sizeof(*v));
    if (v == NULL)
        return -1;
    r->topics = v;
    mq_rule_topic *t = &v[r->ntopics];
    memset(t, 0, sizeof(*t));
    t->qos = -1;
    t->name = dup_slice(n);
    if (t->name == NULL)
        return -1;
    return (long)r->ntopics++;
}

static int
rule_add(mq_rules *r, sl_slice filter, size_t topic)
{
    mq_rule_ent *v = realloc(r->rules, (r->nrules + 1) * sizeof(*v));
    if (v == NULL)
        return -ENOMEM;
    r->rules = v;
    v[r->nrules].filter = dup_slice(filter);
    v[r->nrules].topic = topic;
    if (v[r->nrules].filter == NULL)
        return -ENOMEM;
    r->nrules++;
    return 0;
}

static bool
parse_int(sl_slice v, int64_t lo, int64_t hi, int64_t *out)
{
    if (v.n == 0 || v.n > 18)
        return false;
    int64_t x = 0;
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return false;
        x = x * 10 + (v.p[i] - '0');
    }
    if (x < lo || x > hi)
        return false;
    *out = x;
    return true;
}

static bool
conf_key_valid(sl_slice k)
{
    bool dot = false;
    for (size_t i = 0; i < k.n; i++) {
        char c = (char)k.p[i];
        if (c == '.')
            dot = true;
        else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '_' || c == '-'))
            return false;
    }
    return dot && k.n > 0 && k.n < 64 && k.p[0] != '.' && k.p[k.n - 1] != '.';
}

/* Apply one OPTION=VALUE token to topic t.  0 or SL_E_MALFORMED/-ENOMEM. */
static int
option(mq_rule_topic *t, sl_slice tok, int line, char *err, size_t errlen)
{
    const uint8_t *eq = memchr(tok.p, '=', tok.n);
    if (eq == NULL || eq == tok.p) {
        fail(err, errlen, "line", line, tok, "expected OPTION=VALUE");
        return SL_E_MALFORMED;
    }
    sl_slice k = sl_slice_make(tok.p, (size_t)(eq - tok.p));
    sl_slice v = sl_slice_make(eq + 1, tok.n - k.n - 1);
    if (v.n == 0 || memchr(v.p, 0, v.n) != NULL) {
        fail(err, errlen, "line", line, tok, "empty value, or a NUL in it");
        return SL_E_MALFORMED;
    }
    const char *clash = NULL;
    if (sl_slice_eq_str(k, "partitions")) {
        int64_t x;
        if (!parse_int(v, 1, 10000, &x)) {
            fail(err, errlen, "line", line, tok, "partitions must be 1..10000");
            return SL_E_MALFORMED;
        }
        if (t->partitions != 0 && t->partitions != x)
            clash = "partitions";
        t->partitions = (int32_t)x;
    } else if (sl_slice_eq_str(k, "qos")) {
        int64_t x;
        if (!parse_int(v, 0, 2, &x)) {
            fail(err, errlen, "line", line, tok, "qos must be 0, 1 or 2");
            return SL_E_MALFORMED;
        }
        if (t->qos >= 0 && t->qos != x)
            clash = "qos";
        t->qos = (int)x;
    } else if (sl_slice_eq_str(k, "topic.header")) {
        if (v.n > 255) {
            fail(err, errlen, "line", line, tok,
                 "a header name is at most 255 bytes");
            return SL_E_MALFORMED;
        }
        if (t->topic_header != NULL) {
            if (!sl_slice_eq_str(v, t->topic_header))
                clash = "topic.header";
        } else if ((t->topic_header = dup_slice(v)) == NULL) {
            return -ENOMEM;
        }
    } else if (conf_key_valid(k)) {
        if (sl_slice_eq_str(k, "max.message.bytes")) {
            fail(err, errlen, "line", line, tok,
                 "set by sluice-mqtt from mqtt.max.packet.size");
            return SL_E_MALFORMED;
        }
        if (v.n >= 128) {
            fail(err, errlen, "line", line, tok, "value longer than 127 bytes");
            return SL_E_MALFORMED;
        }
        size_t i = 0;
        while (i < t->nconf && !sl_slice_eq_str(k, t->conf[i].key))
            i++;
        if (i < t->nconf) {
            if (!sl_slice_eq_str(v, t->conf[i].value))
                clash = t->conf[i].key;
        } else {
            if (t->nconf == MQ_RULES_MAX_CONF) {
                fail(err, errlen, "line", line, tok,
                     "more than %d topic configs for %s", MQ_RULES_MAX_CONF,
                     t->name);
                return SL_E_MALFORMED;
            }
            t->conf[i].key = dup_slice(k);
            t->conf[i].value = dup_slice(v);
            t->nconf++;
            if (t->conf[i].key == NULL || t->conf[i].value == NULL)
                return -ENOMEM;
        }
    } else {
        fail(err, errlen, "line", line, tok,
             "unknown option (partitions, qos, topic.header, or a topic "
             "config such as retention.ms)");
        return SL_E_MALFORMED;
    }
    if (clash != NULL) {
        fail(err, errlen, "line", line, tok,
             "%s of log topic %s was given another value before", clash,
             t->name);
        return SL_E_MALFORMED;
    }
    return 0;
}

static bool
blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The next blank-separated token of *line, or an empty slice. */
static sl_slice
token(sl_slice *line)
{
    size_t i = 0;
    while (i < line->n && blank(line->p[i]))
        i++;
    size_t j = i;
    while (j < line->n && !blank(line->p[j]))
        j++;
    sl_slice t = sl_slice_make(line->p + i, j - i);
    *line = sl_slice_make(line->p + j, line->n - j);
    return t;
}

static int
add_rule(mq_rules *r, sl_slice filter, sl_slice topic, const char *where,
         int line, char *err, size_t errlen, long *ti)
{
    if (!mq_rules_topic_valid(topic)) {
        fail(err, errlen, where, line, topic,
             "a log topic name is 1..249 of a-z A-Z 0-9 . _ -");
        return SL_E_MALFORMED;
    }
    bool opts_only = filter.n == 1 && filter.p[0] == '-';
    if (!opts_only) {
        if (mq_topic_filter_check(filter) != 0 ||
            mq_topic_share_parse(filter, NULL) != 0) {
            fail(err, errlen, where, line, filter,
                 "not a valid MQTT topic filter");
            return SL_E_MALFORMED;
        }
    }
    *ti = topic_get(r, topic);
    if (*ti == -2) {
        fail(err, errlen, where, line, topic, "more than %d log topics",
             MQ_RULES_MAX_TOPICS);
        return SL_E_MALFORMED;
    }
    if (*ti < 0)
        return -ENOMEM;
    return opts_only ? 0 : rule_add(r, filter, (size_t)*ti);
}

int
mq_rules_parse(sl_slice text, mq_rules *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    int lineno = 0;
    sl_slice rest = text;
    while (rest.n > 0) {
        lineno++;
        const uint8_t *nl = memchr(rest.p, '\n', rest.n);
        size_t len = nl ? (size_t)(nl - rest.p) : rest.n;
        sl_slice line = sl_slice_make(rest.p, len);
        rest = sl_slice_make(rest.p + len + (nl ? 1 : 0),
                             rest.n - len - (nl ? 1 : 0));
        sl_slice filter = token(&line);
        if (filter.n == 0 || filter.p[0] == '#')
            continue; /* blank or comment */
        sl_slice topic = token(&line);
        if (topic.n == 0) {
            fail(err, errlen, "line", lineno, filter,
                 "expected FILTER LOG-TOPIC [OPTION=VALUE ...]");
            return SL_E_MALFORMED;
        }
        long ti;
        int rc = add_rule(out, filter, topic, "line", lineno, err, errlen, &ti);
        if (rc != 0)
            return rc;
        bool any = false;
        for (sl_slice tok = token(&line); tok.n > 0; tok = token(&line)) {
            rc = option(&out->topics[ti], tok, lineno, err, errlen);
            if (rc != 0)
                return rc;
            any = true;
        }
        if (!any && filter.n == 1 && filter.p[0] == '-') {
            fail(err, errlen, "line", lineno, topic,
                 "a '-' line gives options, and has none");
            return SL_E_MALFORMED;
        }
    }
    return 0;
}

int
mq_rules_parse_inline(sl_slice text, mq_rules *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    sl_slice rest = text;
    int n = 0;
    while (rest.n > 0) {
        const uint8_t *sc = memchr(rest.p, ';', rest.n);
        size_t len = sc ? (size_t)(sc - rest.p) : rest.n;
        sl_slice r = sl_slice_make(rest.p, len);
        rest = sl_slice_make(rest.p + len + (sc ? 1 : 0),
                             rest.n - len - (sc ? 1 : 0));
        if (len == 0)
            continue;
        n++;
        const uint8_t *eq = memchr(r.p, '=', r.n);
        if (eq == NULL || eq == r.p || (eq == r.p + 1 && r.p[0] == '-')) {
            fail(err, errlen, "rule", n, r, "expected FILTER=TOPIC");
            return SL_E_MALFORMED;
        }
        sl_slice filter = sl_slice_make(r.p, (size_t)(eq - r.p));
        sl_slice topic = sl_slice_make(eq + 1, r.n - filter.n - 1);
        long ti;
        int rc = add_rule(out, filter, topic, "rule", n, err, errlen, &ti);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int
put(sl_buf *b, const char *s)
{
    return sl_buf_append(b, s, strlen(s));
}

/* Options first, as `-` lines (so their topics keep their order), then
 * the rules in order. */
int
mq_rules_format(const mq_rules *r, sl_buf *out)
{
    int rc = 0;
    for (size_t i = 0; i < r->ntopics && rc == 0; i++) {
        const mq_rule_topic *t = &r->topics[i];
        if (t->partitions == 0 && t->qos < 0 && t->topic_header == NULL &&
            t->nconf == 0)
            continue;
        char num[32];
        rc = put(out, "- ");
        rc = rc ? rc : put(out, t->name);
        if (rc == 0 && t->partitions != 0) {
            snprintf(num, sizeof(num), " partitions=%d", (int)t->partitions);
            rc = put(out, num);
        }
        if (rc == 0 && t->qos >= 0) {
            snprintf(num, sizeof(num), " qos=%d", t->qos);
            rc = put(out, num);
        }
        if (rc == 0 && t->topic_header != NULL) {
            rc = put(out, " topic.header=");
            rc = rc ? rc : put(out, t->topic_header);
        }
        for (size_t k = 0; k < t->nconf && rc == 0; k++) {
            rc = put(out, " ");
            rc = rc ? rc : put(out, t->conf[k].key);
            rc = rc ? rc : put(out, "=");
            rc = rc ? rc : put(out, t->conf[k].value);
        }
        rc = rc ? rc : put(out, "\n");
    }
    for (size_t i = 0; i < r->nrules && rc == 0; i++) {
        rc = put(out, r->rules[i].filter);
        rc = rc ? rc : put(out, " ");
        rc = rc ? rc : put(out, r->topics[r->rules[i].topic].name);
        rc = rc ? rc : put(out, "\n");
    }
    return rc;
}
