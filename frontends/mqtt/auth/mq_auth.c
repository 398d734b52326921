/*
 * mq_auth.c — MQTT password and ACL files (formats in mq_auth.h and
 * docs/mqtt.md).
 *
 * Parsing is pure: bytes in, a structure out, no I/O, no logging.  Hashes
 * come from well-kept libraries: libsodium for argon2id (new entries) and
 * base64; OpenSSL for Mosquitto's PBKDF2-SHA512 ($7$) and SHA512 ($6$), so
 * that a Mosquitto password file works unchanged.  Secrets are compared in
 * constant time.
 */
#include "mq_auth.h"

#include "mq_codec.h"

#include <errno.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define USER_MAX 1024
#define HASH_MAX 512

enum { H_ARGON2 = 1, H_PBKDF2 = 2, H_SHA512 = 3 };

typedef struct pw_user {
    char *user;
    size_t ulen;
    char *hash; /* the stored string, NUL-terminated */
    int kind;
    int iterations;
    uint8_t salt[64], digest[64];
    size_t salt_len, digest_len;
} pw_user;

struct mq_passwd {
    pw_user *u;
    size_t n, cap;
};

static void set_err(char *err, size_t errlen, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
set_err(char *err, size_t errlen, int line, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    int k = snprintf(err, errlen, "line %d: ", line);
    if (k < 0 || (size_t)k >= errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
    va_end(ap);
}

static int
b64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *len)
{
    if (sodium_base642bin(out, cap, s, n, NULL, len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return SL_E_MALFORMED;
    return 0;
}

/* Parse a hash string into u (kind, salt, digest, iterations). */
static int
hash_parse(const char *h, size_t n, pw_user *u)
{
    /* Every form is printable ASCII without spaces; anything else (a NUL
     * in particular, which would cut the stored string) is refused. */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)h[i] <= 0x20 || (unsigned char)h[i] >= 0x7f)
            return SL_E_MALFORMED;
    if (n >= 10 && (memcmp(h, "$argon2id$", 10) == 0 ||
                    (n >= 9 && memcmp(h, "$argon2i$", 9) == 0))) {
        u->kind = H_ARGON2;
        return 0;
    }
    if (n > 3 && memcmp(h, "$7$", 3) == 0) {
        const char *p = h + 3, *end = h + n;
        const char *d1 = memchr(p, '$', (size_t)(end - p));
        if (d1 == NULL || d1 == p)
            return SL_E_MALFORMED;
        long it = 0;
        for (const char *q = p; q < d1; q++) {
            if (*q < '0' || *q > '9' || it > 10000000)
                return SL_E_MALFORMED;
            it = it * 10 + (*q - '0');
        }
        if (it < 1)
            return SL_E_MALFORMED;
        const char *s = d1 + 1;
        const char *d2 = memchr(s, '$', (size_t)(end - s));
        if (d2 == NULL)
            return SL_E_MALFORMED;
        if (b64_decode(s, (size_t)(d2 - s), u->salt, sizeof(u->salt),
                       &u->salt_len) != 0 ||
            b64_decode(d2 + 1, (size_t)(end - d2 - 1), u->digest,
                       sizeof(u->digest), &u->digest_len) != 0 ||
            u->salt_len == 0 || u->digest_len != 64)
            return SL_E_MALFORMED;
        u->iterations = (int)it;
        u->kind = H_PBKDF2;
        return 0;
    }
    if (n > 3 && memcmp(h, "$6$", 3) == 0) {
        const char *s = h + 3, *end = h + n;
        const char *d = memchr(s, '$', (size_t)(end - s));
        if (d == NULL)
            return SL_E_MALFORMED;
        if (b64_decode(s, (size_t)(d - s), u->salt, sizeof(u->salt),
                       &u->salt_len) != 0 ||
            b64_decode(d + 1, (size_t)(end - d - 1), u->digest,
                       sizeof(u->digest), &u->digest_len) != 0 ||
            u->salt_len == 0 || u->digest_len != 64)
            return SL_E_MALFORMED;
        u->kind = H_SHA512;
        return 0;
    }
    return SL_E_MALFORMED;
}

static pw_user *
find_user(const mq_passwd *p, sl_slice user)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->u[i].ulen == user.n && memcmp(p->u[i].user, user.p, user.n) == 0)
            return &p->u[i];
    return NULL;
}

static void
user_fini(pw_user *u)
{
    free(u->user);
    free(u->hash);
    sodium_memzero(u, sizeof(*u));
}

void
mq_passwd_free(mq_passwd *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++)
        user_fini(&p->u[i]);
    free(p->u);
    free(p);
}

size_t
mq_passwd_count(const mq_passwd *p)
{
    return p ? p->n : 0;
}

static int
user_fill(pw_user *u, sl_slice user, sl_slice hash)
{
    memset(u, 0, sizeof(*u));
    if (hash_parse((const char *)hash.p, hash.n, u) != 0)
        return SL_E_MALFORMED;
    u->user = malloc(user.n + 1);
    u->hash = malloc(hash.n + 1);
    if (u->user == NULL || u->hash == NULL) {
        free(u->user);
        free(u->hash);
        return -ENOMEM;
    }
    memcpy(u->user, user.p, user.n);
    u->user[user.n] = 0;
    u->ulen = user.n;
    memcpy(u->hash, hash.p, hash.n);
    u->hash[hash.n] = 0;
    return 0;
}

int
mq_passwd_set(mq_passwd *p, sl_slice user, sl_slice hash)
{
    if (user.n == 0 || user.n > USER_MAX || hash.n > HASH_MAX ||
        memchr(user.p, ':', user.n) || memchr(user.p, '\n', user.n) ||
        memchr(user.p, 0, user.n) || memchr(hash.p, '\n', hash.n))
        return SL_E_INVAL;
    pw_user nu;
    int rc = user_fill(&nu, user, hash);
    if (rc != 0)
        return rc;
    pw_user *old = find_user(p, user);
    if (old != NULL) {
        user_fini(old);
        *old = nu;
        return 0;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        pw_user *a = realloc(p->u, cap * sizeof(*a));
        if (a == NULL) {
            user_fini(&nu);
            return -ENOMEM;
        }
        p->u = a;
        p->cap = cap;
    }
    p->u[p->n++] = nu;
    return 0;
}

int
mq_passwd_delete(mq_passwd *p, sl_slice user)
{
    pw_user *u = find_user(p, user);
    if (u == NULL)
        return SL_E_NOKEY;
    user_fini(u);
    size_t i = (size_t)(u - p->u);
    memmove(p->u + i, p->u + i + 1, (p->n - i - 1) * sizeof(*p->u));
    p->n--;
    return 0;
}

/* Next line of text (without its '\n' and a trailing '\r'). */
static int
next_line(sl_slice *rest, sl_slice *line)
{
    if (rest->n == 0)
        return 0;
    const uint8_t *nl = memchr(rest->p, '\n', rest->n);
    size_t n = nl ? (size_t)(nl - rest->p) : rest->n;
    *line = sl_slice_make(rest->p, n);
    *rest =
        sl_slice_make(rest->p + n + (nl != NULL), rest->n - n - (nl != NULL));
    if (line->n > 0 && line->p[line->n - 1] == '\r')
        line->n--;
    return 1;
}

static sl_slice
trim(sl_slice s)
{
    /* '\r' too: a CRLF file, and a stray CR that would otherwise come
     * back differently after a format and parse. */
    while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\t' || s.p[0] == '\r'))
        s = sl_slice_make(s.p + 1, s.n - 1);
    while (s.n > 0 && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t' ||
                       s.p[s.n - 1] == '\r'))
        s.n--;
    return s;
}

int
mq_passwd_parse(sl_slice text, mq_passwd **out, char *err, size_t errlen)
{
    *out = NULL;
    mq_passwd *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return -ENOMEM;
    sl_slice rest = text, line;
    int lineno = 0;
    while (next_line(&rest, &line)) {
        lineno++;
        line = trim(line);
        if (line.n == 0 || line.p[0] == '#')
            continue;
        const uint8_t *colon = memchr(line.p, ':', line.n);
        if (colon == NULL || colon == line.p) {
            set_err(err, errlen, lineno, "expected user:hash");
            goto bad;
        }
        sl_slice user = sl_slice_make(line.p, (size_t)(colon - line.p));
        sl_slice hash = sl_slice_make(colon + 1, line.n - user.n - 1);
        if (memchr(user.p, 0, user.n) != NULL || user.n > USER_MAX) {
            set_err(err, errlen, lineno, "bad user name");
            goto bad;
        }
        if (find_user(p, user) != NULL) {
            set_err(err, errlen, lineno, "user listed twice");
            goto bad;
        }
        int rc = mq_passwd_set(p, user, hash);
        if (rc == -ENOMEM) {
            mq_passwd_free(p);
            return rc;
        }
        if (rc != 0) {
            set_err(err, errlen, lineno,
                    "unknown password hash (expected $argon2id$, $7$ or $6$)");
            goto bad;
        }
    }
    *out = p;
    return 0;
bad:
    mq_passwd_free(p);
    return SL_E_MALFORMED;
}

static int
sodium_ready(void)
{
    return sodium_init() >= 0;
}

int
mq_passwd_check(const mq_passwd *p, sl_slice user, sl_slice password)
{
    pw_user *u = p ? find_user(p, user) : NULL;
    if (u == NULL)
        return SL_E_NOKEY;
    uint8_t d[64];
    int ok = 0;
    switch (u->kind) {
    case H_ARGON2:
        if (!sodium_ready())
            return SL_E_INTERNAL;
        ok = crypto_pwhash_str_verify(u->hash, (const char *)password.p,
                                      password.n) == 0;
        break;
    case H_PBKDF2:
        ok = PKCS5_PBKDF2_HMAC((const char *)password.p, (int)password.n,
                               u->salt, (int)u->salt_len, u->iterations,
                               EVP_sha512(), 64, d) == 1 &&
             sodium_memcmp(d, u->digest, 64) == 0;
        break;
    case H_SHA512: {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned int dl = 0;
        ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha512(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, password.p, password.n) == 1 &&
             EVP_DigestUpdate(ctx, u->salt, u->salt_len) == 1 &&
             EVP_DigestFinal_ex(ctx, d, &dl) == 1 && dl == 64 &&
             sodium_memcmp(d, u->digest, 64) == 0;
        EVP_MD_CTX_free(ctx);
        break;
    }
    default:
        return SL_E_INTERNAL;
    }
    sodium_memzero(d, sizeof(d));
    return ok ? 0 : SL_E_INVAL;
}

int
mq_passwd_hash(sl_slice password, sl_buf *out)
{
    char h[crypto_pwhash_STRBYTES];
    if (!sodium_ready())
        return SL_E_INTERNAL;
    if (crypto_pwhash_str(h, (const char *)password.p, password.n,
                          crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return -ENOMEM;
    return sl_buf_append(out, h, strlen(h));
}

int
mq_passwd_format(const mq_passwd *p, sl_buf *out)
{
    int rc = 0;
    for (size_t i = 0; i < p->n && rc == 0; i++) {
        rc = sl_buf_append(out, p->u[i].user, p->u[i].ulen);
        if (rc == 0)
            rc = sl_buf_append(out, ":", 1);
        if (rc == 0)
            rc = sl_buf_append(out, p->u[i].hash, strlen(p->u[i].hash));
        if (rc == 0)
            rc = sl_buf_append(out, "\n", 1);
    }
    return rc;
}

/* ---- ACL ----------------------------------------------------------------
 */

enum { R_TOPIC = 1, R_PATTERN = 2 };
enum { A_DENY = 0 }; /* access bits MQ_ACL_READ | MQ_ACL_WRITE; 0 = deny */

typedef struct acl_rule {
    int kind;
    int access;
    int anon;   /* topic rule for anonymous clients */
    char *user; /* topic rule's user (NUL-terminated), NULL for patterns */
    size_t ulen;
    char *filter;
    size_t flen;
} acl_rule;

struct mq_acl {
    acl_rule *r;
    size_t n, cap;
};

void
mq_acl_free(mq_acl *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n; i++) {
        free(a->r[i].user);
        free(a->r[i].filter);
    }
    free(a->r);
    free(a);
}

size_t
mq_acl_rule_count(const mq_acl *a)
{
    return a ? a->n : 0;
}

static char *
dup_slice(sl_slice s)
{
    char *p = malloc(s.n + 1);
    if (p) {
        memcpy(p, s.p, s.n);
        p[s.n] = 0;
    }
    return p;
}

static sl_slice
first_word(sl_slice s, sl_slice *rest)
{
    size_t i = 0;
    while (i < s.n && s.p[i] != ' ' && s.p[i] != '\t' && s.p[i] != '\r')
        i++;
    *rest = trim(sl_slice_make(s.p + i, s.n - i));
    return sl_slice_make(s.p, i);
}

static int
add_rule(mq_acl *a, const acl_rule *r)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        acl_rule *x = realloc(a->r, cap * sizeof(*x));
        if (x == NULL)
            return -ENOMEM;
        a->r = x;
        a->cap = cap;
    }
    a->r[a->n++] = *r;
    return 0;
}

int
mq_acl_parse(sl_slice text, mq_acl **out, char *err, size_t errlen)
{
    *out = NULL;
    mq_acl *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    sl_slice rest = text, line, cur_user = {0};
    int have_user = 0, lineno = 0;
    while (next_line(&rest, &line)) {
        lineno++;
        line = trim(line);
        if (line.n == 0 || line.p[0] == '#')
            continue;
        if (memchr(line.p, 0, line.n) != NULL) {
            set_err(err, errlen, lineno, "NUL byte");
            goto bad;
        }
        sl_slice args;
        sl_slice kw = first_word(line, &args);
        if (sl_slice_eq_str(kw, "user")) {
            if (args.n == 0 || args.n > USER_MAX) {
                set_err(err, errlen, lineno, "user: a name is required");
                goto bad;
            }
            cur_user = args;
            have_user = 1;
            continue;
        }
        int kind = sl_slice_eq_str(kw, "topic")     ? R_TOPIC
                   : sl_slice_eq_str(kw, "pattern") ? R_PATTERN
                                                    : 0;
        if (kind == 0) {
            set_err(err, errlen, lineno,
                    "expected user, topic or pattern (got '%.*s')",
                    (int)SL_MIN(kw.n, (size_t)40), (const char *)kw.p);
            goto bad;
        }
        sl_slice frest;
        sl_slice acc = first_word(args, &frest);
        int access = MQ_ACL_READ | MQ_ACL_WRITE;
        sl_slice filter = args;
        if (sl_slice_eq_str(acc, "read"))
            access = MQ_ACL_READ, filter = frest;
        else if (sl_slice_eq_str(acc, "write"))
            access = MQ_ACL_WRITE, filter = frest;
        else if (sl_slice_eq_str(acc, "readwrite"))
            filter = frest;
        else if (sl_slice_eq_str(acc, "deny"))
            access = A_DENY, filter = frest;
        if (filter.n == 0 || mq_topic_filter_check(filter) != 0) {
            set_err(err, errlen, lineno, "invalid topic filter '%.*s'",
                    (int)SL_MIN(filter.n, (size_t)80), (const char *)filter.p);
            goto bad;
        }
        acl_rule r = {0};
        r.kind = kind;
        r.access = access;
        r.filter = dup_slice(filter);
        r.flen = filter.n;
        if (kind == R_TOPIC) {
            r.anon = !have_user;
            if (have_user) {
                r.user = dup_slice(cur_user);
                r.ulen = cur_user.n;
            }
        }
        if (r.filter == NULL || (kind == R_TOPIC && have_user && !r.user) ||
            add_rule(a, &r) != 0) {
            free(r.filter);
            free(r.user);
            mq_acl_free(a);
            return -ENOMEM;
        }
    }
    *out = a;
    return 0;
bad:
    mq_acl_free(a);
    return SL_E_MALFORMED;
}

static int
applies(const acl_rule *r, sl_slice user)
{
    if (r->kind == R_PATTERN)
        return 1;
    if (r->anon)
        return user.p == NULL;
    return user.p != NULL && user.n == r->ulen &&
           memcmp(user.p, r->user, user.n) == 0;
}

static int
level_safe(sl_slice s)
{
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] == '/' || s.p[i] == '+' || s.p[i] == '#' || s.p[i] == 0)
            return 0;
    return 1;
}

/* The rule's filter with %u / %c substituted into buf; 0, or -1 when the
 * rule cannot apply (anonymous with %u, a name that would change the
 * filter's levels, too long). */
static int
effective_filter(const acl_rule *r, sl_slice user, sl_slice cid, char *buf,
                 size_t cap, sl_slice *out)
{
    if (r->kind == R_TOPIC) {
        *out = sl_slice_make((const uint8_t *)r->filter, r->flen);
        return 0;
    }
    size_t n = 0;
    for (size_t i = 0; i < r->flen; i++) {
        sl_slice sub = {0};
        int is_sub = 0;
        if (r->filter[i] == '%' && i + 1 < r->flen &&
            (r->filter[i + 1] == 'u' || r->filter[i + 1] == 'c')) {
            sub = r->filter[i + 1] == 'u' ? user : cid;
            if (sub.p == NULL || sub.n == 0 || !level_safe(sub))
                return -1;
            is_sub = 1;
        }
        if (is_sub) {
            if (n + sub.n > cap)
                return -1;
            memcpy(buf + n, sub.p, sub.n);
            n += sub.n;
            i++;
        } else {
            if (n + 1 > cap)
                return -1;
            buf[n++] = r->filter[i];
        }
    }
    *out = sl_slice_make((const uint8_t *)buf, n);
    return 0;
}

bool
mq_acl_allows(const mq_acl *a, sl_slice user, sl_slice cid, sl_slice topic,
              int access)
{
    char buf[4096];
    bool granted = false;
    for (size_t i = 0; a && i < a->n; i++) {
        const acl_rule *r = &a->r[i];
        sl_slice f;
        if (!applies(r, user) ||
            effective_filter(r, user, cid, buf, sizeof(buf), &f) != 0)
            continue;
        if (!mq_topic_match(f, topic))
            continue;
        if (r->access == A_DENY)
            return false;
        if (r->access & access)
            granted = true;
    }
    return granted;
}

/* Split off the next '/'-separated level of *s; 0 when none is left. */
static int
next_level(sl_slice *s, int *done, sl_slice *lv)
{
    if (*done)
        return 0;
    const uint8_t *sl = memchr(s->p, '/', s->n);
    if (sl == NULL) {
        *lv = *s;
        *done = 1;
        return 1;
    }
    *lv = sl_slice_make(s->p, (size_t)(sl - s->p));
    *s = sl_slice_make(sl + 1, s->n - lv->n - 1);
    return 1;
}

static bool
is_dollar(sl_slice f)
{
    return f.n > 0 && f.p[0] == '$';
}

/* Does every topic that filter f matches also match rule filter r? */
static bool
covers(sl_slice r, sl_slice f)
{
    bool fd = is_dollar(f);
    int rdone = 0, fdone = 0;
    sl_slice rl, fl;
    for (int i = 0;; i++) {
        int hr = next_level(&r, &rdone, &rl);
        int hf = next_level(&f, &fdone, &fl);
        if (!hr)
            return !hf;
        if (sl_slice_eq_str(rl, "#"))
            return !(i == 0 && fd);
        if (!hf || sl_slice_eq_str(fl, "#"))
            return false;
        if (sl_slice_eq_str(rl, "+")) {
            if (i == 0 && fd)
                return false;
            continue;
        }
        if (rl.n != fl.n || memcmp(rl.p, fl.p, rl.n) != 0)
            return false;
    }
}

bool
mq_acl_allows_subscribe(const mq_acl *a, sl_slice user, sl_slice cid,
                        sl_slice filter)
{
    char buf[4096];
    bool granted = false;
    for (size_t i = 0; a && i < a->n; i++) {
        const acl_rule *r = &a->r[i];
        sl_slice f;
        if (!applies(r, user) ||
            effective_filter(r, user, cid, buf, sizeof(buf), &f) != 0)
            continue;
        if (r->access == A_DENY) {
            /* A deny that covers the whole subscription refuses it; a
             * partial overlap is enforced per message on delivery. */
            if (covers(f, filter))
                return false;
            continue;
        }
        if ((r->access & MQ_ACL_READ) && covers(f, filter))
            granted = true;
    }
    return granted;
}

static const char *
access_name(int access)
{
    switch (access) {
    case MQ_ACL_READ:
        return "read";
    case MQ_ACL_WRITE:
        return "write";
    case A_DENY:
        return "deny";
    default:
        return "readwrite";
    }
}

static int
format_rule(const acl_rule *r, sl_buf *out)
{
    char line[64];
    int n = snprintf(line, sizeof(line), "%s %s ",
                     r->kind == R_TOPIC ? "topic" : "pattern",
                     access_name(r->access));
    int rc = sl_buf_append(out, line, (size_t)n);
    if (rc == 0)
        rc = sl_buf_append(out, r->filter, r->flen);
    if (rc == 0)
        rc = sl_buf_append(out, "\n", 1);
    return rc;
}

int
mq_acl_format(const mq_acl *a, sl_buf *out)
{
    int rc = 0;
    /* Anonymous topic rules first (before any user line), then patterns,
     * then each user's rules in order of first appearance. */
    for (size_t i = 0; i < a->n && rc == 0; i++)
        if (a->r[i].kind == R_TOPIC && a->r[i].anon)
            rc = format_rule(&a->r[i], out);
    for (size_t i = 0; i < a->n && rc == 0; i++)
        if (a->r[i].kind == R_PATTERN)
            rc = format_rule(&a->r[i], out);
    for (size_t i = 0; i < a->n && rc == 0; i++) {
        const acl_rule *r = &a->r[i];
        if (r->kind != R_TOPIC || r->anon)
            continue;
        int seen = 0;
        for (size_t k = 0; k < i && !seen; k++)
            seen = a->r[k].kind == R_TOPIC && !a->r[k].anon &&
                   a->r[k].ulen == r->ulen &&
                   memcmp(a->r[k].user, r->user, r->ulen) == 0;
        if (seen)
            continue;
        rc = sl_buf_append(out, "user ", 5);
        if (rc == 0)
            rc = sl_buf_append(out, r->user, r->ulen);
        if (rc == 0)
            rc = sl_buf_append(out, "\n", 1);
        for (size_t k = i; k < a->n && rc == 0; k++)
            if (a->r[k].kind == R_TOPIC && !a->r[k].anon &&
                a->r[k].ulen == r->ulen &&
                memcmp(a->r[k].user, r->user, r->ulen) == 0)
                rc = format_rule(&a->r[k], out);
    }
    return rc;
}
