/*
 * sl_conf.c — the `key = value` parser (pure) and table-driven settings.
 */
#include "sl_conf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

static int
is_blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static sl_slice
trim(sl_slice s)
{
    while (s.n > 0 && is_blank(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && is_blank(s.p[s.n - 1]))
        s.n--;
    return s;
}

static int
key_ok(sl_slice k)
{
    if (k.n == 0 || k.n > 128)
        return 0;
    for (size_t i = 0; i < k.n; i++) {
        uint8_t c = k.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int
sl_conf_parse(sl_slice text, sl_conf_cb cb, void *arg, int *err_line)
{
    size_t pos = 0;
    int line = 0;
    while (pos < text.n) {
        line++;
        const uint8_t *nl = memchr(text.p + pos, '\n', text.n - pos);
        size_t end = nl ? (size_t)(nl - text.p) : text.n;
        sl_slice l = sl_slice_make(text.p + pos, end - pos);
        pos = nl ? end + 1 : text.n;
        /* The limit is on the line's content: a CRLF file may hold the
         * same lines as an LF one. */
        if (l.n > 0 && l.p[l.n - 1] == '\r')
            l.n--;
        if (l.n > SL_CONF_MAX_LINE)
            goto bad;
        l = trim(l);
        if (l.n == 0 || l.p[0] == '#')
            continue;
        const uint8_t *eq = memchr(l.p, '=', l.n);
        if (eq == NULL)
            goto bad;
        sl_slice k = trim(sl_slice_make(l.p, (size_t)(eq - l.p)));
        sl_slice v = trim(sl_slice_make(eq + 1, l.n - (size_t)(eq - l.p) - 1));
        if (!key_ok(k))
            goto bad;
        int rc = cb(arg, k, v, line);
        if (rc != 0)
            return rc;
    }
    return 0;
bad:
    if (err_line)
        *err_line = line;
    return SL_E_MALFORMED;
}

int
sl_conf_parse_i64(sl_slice s, int64_t *v)
{
    char tmp[64];
    /* strtoll stops at a NUL, so "12\0junk" would pass as 12. */
    if (s.n == 0 || s.n >= sizeof(tmp) || memchr(s.p, 0, s.n) != NULL)
        return SL_E_INVAL;
    memcpy(tmp, s.p, s.n);
    tmp[s.n] = 0;
    errno = 0;
    char *end;
    long long x = strtoll(tmp, &end, 10);
    if (errno != 0 || end == tmp)
        return SL_E_INVAL;
    int64_t mul = 1;
    if (*end != 0) {
        switch (*end) {
        case 'k':
        case 'K':
            mul = 1024;
            break;
        case 'm':
        case 'M':
            mul = 1024 * 1024;
            break;
        case 'g':
        case 'G':
            mul = 1024LL * 1024 * 1024;
            break;
        default:
            return SL_E_INVAL;
        }
        end++;
        /* Accept "KiB"-style spellings too. */
        if ((*end == 'i' || *end == 'I') && (end[1] == 'b' || end[1] == 'B'))
            end += 2;
        else if (*end == 'b' || *end == 'B')
            end++;
        if (*end != 0)
            return SL_E_INVAL;
    }
    if (x > INT64_MAX / mul || x < INT64_MIN / mul)
        return SL_E_INVAL;
    *v = (int64_t)x * mul;
    return 0;
}

const sl_conf_key *
sl_conf_find(const sl_conf_key *tab, size_t n, sl_slice name)
{
    for (size_t i = 0; i < n; i++)
        if (sl_slice_eq_str(name, tab[i].name))
            return &tab[i];
    return NULL;
}

static int
fail(char *err, size_t errlen, const sl_conf_key *k, sl_slice value,
     const char *why)
{
    /* value.p may be NULL for an empty value, which %.*s must not see. */
    if (err && errlen)
        snprintf(err, errlen, "%s=%.*s: %s", k->name, (int)SL_MIN(value.n, 200),
                 value.p ? (const char *)value.p : "", why);
    return SL_E_INVAL;
}

int
sl_conf_set(const sl_conf_key *k, void *obj, sl_slice value, char *err,
            size_t errlen)
{
    uint8_t *field = (uint8_t *)obj + k->offset;
    switch (k->type) {
    case SL_CONF_I64: {
        int64_t v;
        if (sl_conf_parse_i64(value, &v) != 0)
            return fail(err, errlen, k, value, "not an integer");
        if (v < k->min || v > k->max) {
            char why[96];
            snprintf(why, sizeof(why),
                     "out of range [%" PRId64 ", %" PRId64 "]", k->min, k->max);
            return fail(err, errlen, k, value, why);
        }
        memcpy(field, &v, sizeof(v));
        return 0;
    }
    case SL_CONF_BOOL: {
        static const char *yes[] = {"true", "1", "yes", "on"};
        static const char *no[] = {"false", "0", "no", "off"};
        for (size_t i = 0; i < SL_ARRAY_LEN(yes); i++) {
            int v = -1;
            if (value.n == strlen(yes[i]) &&
                strncasecmp((const char *)value.p, yes[i], value.n) == 0)
                v = 1;
            else if (value.n == strlen(no[i]) &&
                     strncasecmp((const char *)value.p, no[i], value.n) == 0)
                v = 0;
            if (v >= 0) {
                memcpy(field, &v, sizeof(v));
                return 0;
            }
        }
        return fail(err, errlen, k, value, "not a boolean (true/false)");
    }
    case SL_CONF_STR:
        if (value.n >= SL_CONF_STR_MAX)
            return fail(err, errlen, k, value, "too long");
        /* A NUL would silently cut the string short. */
        if (value.n && memchr(value.p, 0, value.n) != NULL)
            return fail(err, errlen, k, value, "contains a NUL byte");
        if (value.n)
            memcpy(field, value.p, value.n);
        field[value.n] = 0;
        return 0;
    case SL_CONF_ENUM:
        for (int i = 0; k->choices[i] != NULL; i++) {
            if (sl_slice_eq_str(value, k->choices[i])) {
                memcpy(field, &i, sizeof(i));
                return 0;
            }
        }
        return fail(err, errlen, k, value, "not one of the allowed values");
    default:
        return fail(err, errlen, k, value, "internal: bad key type");
    }
}

void
sl_conf_defaults(const sl_conf_key *tab, size_t n, void *obj)
{
    for (size_t i = 0; i < n; i++) {
        char err[64];
        /* Defaults are ours; a bad one is a programming error caught by the
         * config unit test, which sets every default through this path. */
        (void)sl_conf_set(&tab[i], obj, sl_slice_str(tab[i].def), err,
                          sizeof(err));
    }
}

void
sl_conf_format(const sl_conf_key *k, const void *obj, char *out, size_t outlen)
{
    const uint8_t *field = (const uint8_t *)obj + k->offset;
    int iv;
    int64_t v;
    switch (k->type) {
    case SL_CONF_I64:
        memcpy(&v, field, sizeof(v));
        snprintf(out, outlen, "%" PRId64, v);
        break;
    case SL_CONF_BOOL:
        memcpy(&iv, field, sizeof(iv));
        snprintf(out, outlen, "%s", iv ? "true" : "false");
        break;
    case SL_CONF_STR:
        snprintf(out, outlen, "%s", (const char *)field);
        break;
    case SL_CONF_ENUM:
        memcpy(&iv, field, sizeof(iv));
        snprintf(out, outlen, "%s", k->choices[iv]);
        break;
    default:
        snprintf(out, outlen, "?");
    }
}

static void
list_add(char *s, size_t len, const char *prefix, const char *name)
{
    size_t at = strlen(s);
    if (at + 1 >= len)
        return;
    snprintf(s + at, len - at, "%s%s%s", at ? "," : "", prefix, name);
}

int
sl_conf_diff(const sl_conf_key *tab, size_t n, const char *prefix,
             const void *old, const void *fresh, char *live, size_t livelen,
             char *restart, size_t restartlen)
{
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        char a[SL_CONF_STR_MAX + 32], b[SL_CONF_STR_MAX + 32];
        sl_conf_format(&tab[i], old, a, sizeof(a));
        sl_conf_format(&tab[i], fresh, b, sizeof(b));
        if (strcmp(a, b) == 0)
            continue;
        count++;
        if (tab[i].reloadable)
            list_add(live, livelen, prefix, tab[i].name);
        else
            list_add(restart, restartlen, prefix, tab[i].name);
    }
    return count;
}

void
sl_conf_copy_reloadable(const sl_conf_key *tab, size_t n, void *dst,
                        const void *src)
{
    for (size_t i = 0; i < n; i++) {
        if (!tab[i].reloadable)
            continue;
        size_t len = tab[i].type == SL_CONF_I64   ? sizeof(int64_t)
                     : tab[i].type == SL_CONF_STR ? SL_CONF_STR_MAX
                                                  : sizeof(int);
        memcpy((uint8_t *)dst + tab[i].offset,
               (const uint8_t *)src + tab[i].offset, len);
    }
}

void
sl_conf_doc_rows(FILE *out, const sl_conf_key *tab, size_t n,
                 const char *prefix)
{
    for (size_t i = 0; i < n; i++) {
        const sl_conf_key *k = &tab[i];
        fprintf(out, "| `%s%s` | %s | %s%s%s | %s | %s |\n", prefix, k->name,
                k->type == SL_CONF_I64    ? "integer"
                : k->type == SL_CONF_BOOL ? "boolean"
                : k->type == SL_CONF_ENUM ? "choice"
                                          : "string",
                k->def[0] ? "`" : "", k->def[0] ? k->def : "(empty)",
                k->def[0] ? "`" : "", k->reloadable ? "reloads" : "restart",
                k->doc);
    }
}

struct load_ctx {
    sl_conf_setter set;
    void *arg;
    const char *path;
    char *err;
    size_t errlen;
};

static int
load_cb(void *arg, sl_slice key, sl_slice value, int line)
{
    struct load_ctx *c = arg;
    char kv[SL_CONF_MAX_LINE + 2];
    snprintf(kv, sizeof(kv), "%.*s=%.*s", (int)key.n, (const char *)key.p,
             (int)value.n, value.p ? (const char *)value.p : "");
    char why[512];
    int rc = c->set(c->arg, kv, why, sizeof(why));
    if (rc != 0)
        snprintf(c->err, c->errlen, "%s:%d: %s", c->path, line, why);
    return rc;
}

int
sl_conf_load_file_with(const char *path, sl_conf_setter set, void *arg,
                       char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    sl_buf b;
    sl_buf_init(&b);
    char chunk[4096];
    size_t got;
    int rc = 0;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (b.n + got > (1u << 20)) {
            snprintf(err, errlen, "%s: larger than 1 MiB", path);
            rc = SL_E_TOOBIG;
            goto out;
        }
        if ((rc = sl_buf_append(&b, chunk, got)) != 0)
            goto out;
    }
    /* A read error (a directory gives EISDIR here, not at fopen) must not
     * pass for an empty file that sets nothing. */
    if (ferror(f)) {
        rc = errno ? -errno : SL_E_IO;
        snprintf(err, errlen, "%s: %s", path, sl_strerror(rc));
        goto out;
    }
    struct load_ctx c = {set, arg, path, err, errlen};
    int line = 0;
    rc = sl_conf_parse(sl_slice_make(b.p, b.n), load_cb, &c, &line);
    if (rc == SL_E_MALFORMED)
        snprintf(err, errlen, "%s:%d: expected 'key = value'", path, line);
out:
    fclose(f);
    sl_buf_fini(&b);
    return rc;
}

struct table_ctx {
    const sl_conf_key *tab;
    size_t n;
    void *obj;
};

static int
table_set(void *arg, const char *kv, char *err, size_t errlen)
{
    struct table_ctx *t = arg;
    return sl_conf_apply_kv(t->tab, t->n, t->obj, kv, err, errlen);
}

int
sl_conf_load_file(const sl_conf_key *tab, size_t n, void *obj, const char *path,
                  char *err, size_t errlen)
{
    struct table_ctx t = {tab, n, obj};
    return sl_conf_load_file_with(path, table_set, &t, err, errlen);
}

int
sl_conf_apply_kv(const sl_conf_key *tab, size_t n, void *obj, const char *kv,
                 char *err, size_t errlen)
{
    const char *eq = strchr(kv, '=');
    if (eq == NULL) {
        snprintf(err, errlen, "'%s': expected key=value", kv);
        return SL_E_INVAL;
    }
    sl_slice key = trim(sl_slice_make(kv, (size_t)(eq - kv)));
    sl_slice value = trim(sl_slice_str(eq + 1));
    const sl_conf_key *k = sl_conf_find(tab, n, key);
    if (k == NULL) {
        snprintf(err, errlen, "%.*s=%.*s: unknown key", (int)key.n,
                 (const char *)key.p, (int)SL_MIN(value.n, 200),
                 (const char *)value.p);
        return SL_E_INVAL;
    }
    return sl_conf_set(k, obj, value, err, errlen);
}

int
sl_conf_apply_env(const sl_conf_key *tab, size_t n, const char *env_prefix,
                  const char *key_prefix, sl_conf_setter set, void *arg,
                  char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        char name[256];
        int len = snprintf(name, sizeof(name), "%s%s", env_prefix, tab[i].name);
        if (len < 0 || (size_t)len >= sizeof(name))
            continue;
        for (char *p = name + strlen(env_prefix); *p; p++) {
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
            else if (*p == '.' || *p == '-')
                *p = '_';
        }
        const char *v = getenv(name);
        if (v == NULL)
            continue;
        char kv[SL_CONF_STR_MAX + 320];
        snprintf(kv, sizeof(kv), "%s%s=%s", key_prefix, tab[i].name, v);
        char why[512] = "";
        int rc = set(arg, kv, why, sizeof(why));
        if (rc != 0) {
            snprintf(err, errlen, "environment %s: %s", name, why);
            return rc;
        }
    }
    return 0;
}
