/*
 * fuzz_conf.c — libFuzzer harness for the config parser and setters
 * (sl_conf).
 *
 * The input is a config file.  sl_conf_parse must either report a syntax
 * error with a line number inside the text, or hand the callback keys that
 * obey the documented rules ([a-z0-9._-]{1,128}, trimmed, inside the
 * input) on increasing lines.  Every value is then given to sl_conf_set for
 * a table holding one setting of every type; a value that is accepted must
 * format back to text that sets the same value again, and a refused one
 * must leave the settings untouched with an error naming the key.  Each
 * pair is also replayed through sl_conf_apply_kv as a `--config k=v`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
die(const char *what)
{
    fprintf(stderr, "fuzz_conf: invariant violated: %s\n", what);
    abort();
}

typedef struct settings {
    int64_t num;
    int64_t wide;
    int flag;
    char text[SL_CONF_STR_MAX];
    int mode;
} settings;

static const char *const modes[] = {"batch", "interval", "never", NULL};

static const sl_conf_key tab[] = {
    {"num", SL_CONF_I64, offsetof(settings, num), -1000, 1 << 30, "0", 1, NULL,
     "a range-checked integer"},
    {"wide", SL_CONF_I64, offsetof(settings, wide), INT64_MIN, INT64_MAX, "1k",
     0, NULL, "any int64"},
    {"flag", SL_CONF_BOOL, offsetof(settings, flag), 0, 1, "false", 1, NULL,
     "a boolean"},
    {"text", SL_CONF_STR, offsetof(settings, text), 0, 0, "", 0, NULL,
     "a string"},
    {"mode", SL_CONF_ENUM, offsetof(settings, mode), 0, 0, "batch", 0, modes,
     "an enum"},
};

typedef struct ctx {
    sl_slice input;
    int last_line;
    settings st;
} ctx;

static int
key_char_ok(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static int
is_blank(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static void
check_view(const ctx *c, sl_slice s, const char *what)
{
    if (s.n == 0)
        return;
    if (s.p < c->input.p || s.n > c->input.n ||
        s.p - c->input.p > (ptrdiff_t)(c->input.n - s.n))
        die(what);
    if (memchr(s.p, '\n', s.n) != NULL)
        die("a view spans a newline");
    if (is_blank(s.p[0]) || is_blank(s.p[s.n - 1]))
        die("a view is not trimmed");
}

/* Set value on k, then check the documented outcome either way. */
static void
try_set(ctx *c, const sl_conf_key *k, sl_slice value)
{
    settings before = c->st;
    char err[600];
    err[0] = 0;
    int rc = sl_conf_set(k, &c->st, value, err, sizeof(err));
    if (rc != 0) {
        if (rc != SL_E_INVAL)
            die("sl_conf_set: unexpected code");
        if (memcmp(&before, &c->st, sizeof(before)) != 0)
            die("sl_conf_set: refused value changed the settings");
        size_t kl = strlen(k->name);
        if (strncmp(err, k->name, kl) != 0 || err[kl] != '=')
            die("sl_conf_set: error does not start with key=");
        return;
    }
    /* Accepted: format and set again must be a fixed point. */
    char text[SL_CONF_STR_MAX + 32];
    sl_conf_format(k, &c->st, text, sizeof(text));
    settings again = c->st;
    if (sl_conf_set(k, &again, sl_slice_str(text), NULL, 0) != 0)
        die("sl_conf_format output is not accepted back");
    if (memcmp(&again, &c->st, sizeof(again)) != 0)
        die("sl_conf_format/sl_conf_set is not a round trip");
}

static int
on_pair(void *arg, sl_slice key, sl_slice value, int line)
{
    ctx *c = arg;
    if (line <= c->last_line)
        die("line numbers do not increase");
    c->last_line = line;
    if (key.n == 0 || key.n > 128)
        die("empty or overlong key");
    for (size_t i = 0; i < key.n; i++)
        if (!key_char_ok(key.p[i]))
            die("illegal key character");
    if (value.n > SL_CONF_MAX_LINE)
        die("value longer than a line");
    check_view(c, key, "key outside input");
    check_view(c, value, "value outside input");

    /* The value against every type; the key against the table. */
    for (size_t i = 0; i < SL_ARRAY_LEN(tab); i++)
        try_set(c, &tab[i], value);
    int64_t v;
    int rc = sl_conf_parse_i64(value, &v);
    if (rc != 0 && rc != SL_E_INVAL)
        die("sl_conf_parse_i64: unexpected code");
    (void)sl_conf_find(tab, SL_ARRAY_LEN(tab), key);

    /* The same pair as a --config override. */
    char kv[SL_CONF_MAX_LINE + 2];
    if (key.n + 1 + value.n < sizeof(kv) &&
        memchr(value.p ? value.p : key.p, 0, value.n) == NULL) {
        memcpy(kv, key.p, key.n);
        kv[key.n] = '=';
        if (value.n)
            memcpy(kv + key.n + 1, value.p, value.n);
        kv[key.n + 1 + value.n] = 0;
        char err[600];
        rc = sl_conf_apply_kv(tab, SL_ARRAY_LEN(tab), &c->st, kv, err,
                              sizeof(err));
        if (rc != 0 && rc != SL_E_INVAL)
            die("sl_conf_apply_kv: unexpected code");
    }
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ctx c;
    memset(&c, 0, sizeof(c));
    c.input = sl_slice_make(data, size);
    sl_conf_defaults(tab, SL_ARRAY_LEN(tab), &c.st);
    int line = -1;
    int rc = sl_conf_parse(c.input, on_pair, &c, &line);
    if (rc == SL_E_MALFORMED) {
        /* The line must exist: at most one more than the newlines. */
        size_t newlines = 0;
        for (size_t i = 0; i < size; i++)
            newlines += data[i] == '\n';
        if (line < 1 || (size_t)line > newlines + 1)
            die("syntax error line outside the text");
    } else if (rc != 0) {
        die("sl_conf_parse: unexpected code");
    } else if (line != -1) {
        die("sl_conf_parse: err_line written on success");
    }
    return 0;
}
