/*
 * mq_topic.c — topic names, topic filters, shared subscriptions and
 * matching (4.7, 4.8.2; 3.1.1 section 4.7).
 *
 * A topic is a UTF-8 string of levels separated by '/'; levels may be
 * empty ("a//b", "/a").  Rules:
 *   - names and filters are at least one character [MQTT-4.7.3-1], at most
 *     65535 bytes (a two-byte length), valid MQTT UTF-8 without U+0000
 *     [MQTT-4.7.3-2];
 *   - a topic name has no '+' or '#' [MQTT-3.3.2-2];
 *   - in a filter '#' is the whole last level [MQTT-4.7.1-1] and '+' is a
 *     whole level [MQTT-4.7.1-2]; "a/#" also matches "a", '+' matches an
 *     empty level;
 *   - wildcards at the first level do not match names beginning with '$'
 *     [MQTT-4.7.2-1], so "#" does not deliver "$SYS/..." messages;
 *   - a shared subscription is "$share/<ShareName>/<filter>" where the
 *     ShareName is at least one character [MQTT-4.8.2-1] without '/', '+'
 *     or '#' [MQTT-4.8.2-2], and the filter is a valid filter.
 */
#include "mq_codec_impl.h"

static int
common_check(sl_slice s)
{
    if (s.n == 0 || s.n > 65535 || mq_utf8_check(s, 0) != 0)
        return SL_E_MALFORMED;
    return 0;
}

int
mq_topic_name_check(sl_slice name)
{
    if (common_check(name) != 0)
        return SL_E_MALFORMED;
    for (size_t i = 0; i < name.n; i++)
        if (name.p[i] == '+' || name.p[i] == '#')
            return SL_E_MALFORMED;
    return 0;
}

int
mq_topic_filter_check(sl_slice filter)
{
    if (common_check(filter) != 0)
        return SL_E_MALFORMED;
    size_t start = 0; /* first byte of the current level */
    for (size_t i = 0; i < filter.n; i++) {
        uint8_t c = filter.p[i];
        if (c == '/') {
            start = i + 1;
            continue;
        }
        bool alone =
            i == start && (i + 1 == filter.n || filter.p[i + 1] == '/');
        if (c == '+' && !alone)
            return SL_E_MALFORMED;
        if (c == '#' && (!alone || i + 1 != filter.n))
            return SL_E_MALFORMED;
    }
    return 0;
}

int
mq_topic_share_parse(sl_slice filter, mq_share *out)
{
    static const char prefix[] = "$share/";
    const size_t plen = sizeof(prefix) - 1;
    if (filter.n < plen || memcmp(filter.p, prefix, plen) != 0)
        return 0;
    if (mq_utf8_check(filter, 0) != 0 || filter.n > 65535)
        return SL_E_MALFORMED;
    size_t g = plen, e = g;
    while (e < filter.n && filter.p[e] != '/') {
        if (filter.p[e] == '+' || filter.p[e] == '#')
            return SL_E_MALFORMED;
        e++;
    }
    if (e == g || e == filter.n)
        return SL_E_MALFORMED; /* empty ShareName, or no filter after it */
    sl_slice rest = sl_slice_make(filter.p + e + 1, filter.n - e - 1);
    if (mq_topic_filter_check(rest) != 0)
        return SL_E_MALFORMED;
    if (out != NULL) {
        out->group = sl_slice_make(filter.p + g, e - g);
        out->filter = rest;
    }
    return 1;
}

bool
mq_topic_match(sl_slice f, sl_slice t)
{
    if (f.n == 0 || t.n == 0)
        return false;
    if (t.p[0] == '$' && (f.p[0] == '+' || f.p[0] == '#'))
        return false;
    size_t fi = 0, ti = 0;
    /* Set once the name's last level has been matched while the filter
     * still has levels: only a final "#" can match then ("a/#" ~ "a"). */
    bool t_done = false;
    for (;;) {
        size_t fe = fi;
        while (fe < f.n && f.p[fe] != '/')
            fe++;
        size_t flen = fe - fi;
        if (flen == 1 && f.p[fi] == '#')
            return true;
        if (t_done)
            return false;
        size_t te = ti;
        while (te < t.n && t.p[te] != '/')
            te++;
        bool plus = flen == 1 && f.p[fi] == '+';
        if (!plus && (flen != te - ti ||
                      (flen > 0 && memcmp(f.p + fi, t.p + ti, flen) != 0)))
            return false;
        if (fe == f.n)
            return te == t.n;
        fi = fe + 1;
        if (te == t.n)
            t_done = true;
        else
            ti = te + 1;
    }
}
