/*
 * ss_tier.c — the object-store backends behind ss_tier_put/get/delete:
 * a directory (file://) and S3 (s3://, AWS Signature V4 over libcurl,
 * path-style: <endpoint>/<bucket>/<prefix>/<key>).
 *
 * file://: an object is written to "<key>.tmp", fsynced, renamed over the
 * key and its directory fsynced, so a reader sees a whole object or none.
 * s3://: one PUT up to multipart_bytes; above, a multipart upload
 * (CreateMultipartUpload, UploadPart of multipart_bytes each,
 * CompleteMultipartUpload; AbortMultipartUpload when a part fails).  S3
 * makes an object visible only when its PUT or Complete succeeds.
 */
#include "ss_tier.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { BK_FILE = 0, BK_S3 = 1 };

struct ss_tier {
    int kind;
    char dir[1024];     /* file: */
    char endpoint[512]; /* s3: without trailing slash */
    char host[256];     /* s3: host[:port] of the endpoint */
    char bucket[256];
    char prefix[512]; /* s3: "" or "a/b/" */
    char region[64];
    char access_key[256];
    char secret_key[256];
    int64_t multipart_bytes;
    int64_t timeout_ms;
    char err[512];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int set_err(ss_tier *t, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
set_err(ss_tier *t, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->err, sizeof(t->err), fmt, ap);
    va_end(ap);
    return rc;
}

const char *
ss_tier_last_error(const ss_tier *t)
{
    return t->err;
}

int
ss_tier_open(const ss_tier_conf *c, ss_tier **out, char *err, size_t errlen)
{
    *out = NULL;
    ss_tier *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    t->multipart_bytes = c->multipart_bytes > 0 ? c->multipart_bytes : 16 << 20;
    t->timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : 30000;
    if (strncmp(c->url, "file://", 7) == 0) {
        t->kind = BK_FILE;
        const char *p = c->url + 7;
        if (p[0] != '/' || strlen(p) >= sizeof(t->dir) - 1) {
            snprintf(err, errlen, "tier.url=%s: expected file:///absolute/dir",
                     c->url);
            goto fail;
        }
        snprintf(t->dir, sizeof(t->dir), "%s", p);
        size_t n = strlen(t->dir);
        while (n > 1 && t->dir[n - 1] == '/')
            t->dir[--n] = 0;
        *out = t;
        return 0;
    }
    if (strncmp(c->url, "s3://", 5) != 0) {
        snprintf(err, errlen, "tier.url=%s: expected file:// or s3://", c->url);
        goto fail;
    }
    t->kind = BK_S3;
    const char *b = c->url + 5, *slash = strchr(b, '/');
    size_t bl = slash ? (size_t)(slash - b) : strlen(b);
    if (bl == 0 || bl >= sizeof(t->bucket)) {
        snprintf(err, errlen, "tier.url=%s: no bucket", c->url);
        goto fail;
    }
    memcpy(t->bucket, b, bl);
    if (slash && slash[1]) {
        snprintf(t->prefix, sizeof(t->prefix), "%s", slash + 1);
        size_t n = strlen(t->prefix);
        if (n + 1 >= sizeof(t->prefix))
            goto fail;
        if (t->prefix[n - 1] != '/')
            strcat(t->prefix, "/");
    }
    if (c->endpoint == NULL || c->endpoint[0] == 0) {
        snprintf(err, errlen, "tier.url=s3://...: set tier.s3.endpoint");
        goto fail;
    }
    snprintf(t->endpoint, sizeof(t->endpoint), "%s", c->endpoint);
    size_t n = strlen(t->endpoint);
    while (n > 0 && t->endpoint[n - 1] == '/')
        t->endpoint[--n] = 0;
    const char *h = strstr(t->endpoint, "://");
    if (h == NULL) {
        snprintf(err, errlen, "tier.s3.endpoint=%s: expected http(s)://host",
                 c->endpoint);
        goto fail;
    }
    snprintf(t->host, sizeof(t->host), "%s", h + 3);
    snprintf(t->region, sizeof(t->region), "%s",
             c->region && c->region[0] ? c->region : "us-east-1");
    const char *ak = c->access_key && c->access_key[0]
                         ? c->access_key
                         : getenv("AWS_ACCESS_KEY_ID");
    const char *sk = c->secret_key && c->secret_key[0]
                         ? c->secret_key
                         : getenv("AWS_SECRET_ACCESS_KEY");
    if (ak == NULL || sk == NULL || !ak[0] || !sk[0]) {
        snprintf(err, errlen,
                 "tier.url=s3://...: set tier.s3.access.key and "
                 "tier.s3.secret.key (or AWS_ACCESS_KEY_ID / "
                 "AWS_SECRET_ACCESS_KEY)");
        goto fail;
    }
    snprintf(t->access_key, sizeof(t->access_key), "%s", ak);
    snprintf(t->secret_key, sizeof(t->secret_key), "%s", sk);
    pthread_once(&curl_once, curl_init_once);
    *out = t;
    return 0;
fail:
    if (err[0] == 0)
        snprintf(err, errlen, "tier.url=%s: invalid", c->url);
    free(t);
    return SL_E_INVAL;
}

void
ss_tier_free(ss_tier *t)
{
    free(t);
}

/* ---- file:// ---------------------------------------------------------- */

static int
mkdirs_for(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return 0;
}

/* dir/key into path (PATH_MAX bytes). */
static int
obj_path(const ss_tier *t, const char *key, char *path)
{
    int n = snprintf(path, PATH_MAX, "%s/%s", t->dir, key);
    return n < 0 || n >= PATH_MAX - 8 ? SL_E_TOOBIG : 0;
}

static int
file_put(ss_tier *t, const char *key, const uint8_t *p, size_t n)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    int rc = obj_path(t, key, path);
    if (rc != 0)
        return set_err(t, rc, "key too long: %s", key);
    memcpy(tmp, path, strlen(path));
    strcpy(tmp + strlen(path), ".tmp");
    rc = mkdirs_for(path);
    if (rc != 0)
        return set_err(t, rc, "mkdir for %s: %s", path, strerror(-rc));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return set_err(t, -errno, "%s: %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, p + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            rc = -errno;
            break;
        }
        off += (size_t)w;
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc == 0) {
        char *sl = strrchr(path, '/');
        *sl = 0;
        int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        return 0;
    }
    unlink(tmp);
    return set_err(t, rc, "put %s: %s", key, strerror(-rc));
}

static int
file_get(ss_tier *t, const char *key, uint64_t off, uint64_t len, sl_buf *out)
{
    char path[PATH_MAX];
    sl_buf_reset(out);
    if (obj_path(t, key, path) != 0)
        return set_err(t, SL_E_TOOBIG, "key too long: %s", key);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return set_err(t, -errno, "%s: %s", path, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto out;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (off > size)
        off = size;
    if (len == 0 || off + len > size)
        len = size - off;
    uint8_t *p = sl_buf_extend(out, len);
    if (p == NULL && len > 0) {
        rc = -ENOMEM;
        goto out;
    }
    uint64_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, p + got, len - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? -errno : SL_E_IO;
            break;
        }
        got += (uint64_t)r;
    }
out:
    close(fd);
    if (rc != 0)
        return set_err(t, rc, "get %s: %s", key, sl_strerror(rc));
    return 0;
}

static int
file_delete(ss_tier *t, const char *key)
{
    char path[PATH_MAX];
    if (obj_path(t, key, path) != 0)
        return set_err(t, SL_E_TOOBIG, "key too long: %s", key);
    if (unlink(path) != 0 && errno != ENOENT)
        return set_err(t, -errno, "%s: %s", path, strerror(errno));
    return 0;
}

/* ---- s3:// ------------------------------------------------------------ */

typedef struct s3_rsp {
    long status;
    sl_buf *body;
    sl_buf own;
    char etag[128];
} s3_rsp;

static size_t
on_body(char *p, size_t sz, size_t nm, void *arg)
{
    s3_rsp *r = arg;
    sl_buf *b = r->body ? r->body : &r->own;
    if (sl_buf_append(b, p, sz * nm) != 0)
        return 0;
    return sz * nm;
}

static size_t
on_header(char *p, size_t sz, size_t nm, void *arg)
{
    s3_rsp *r = arg;
    size_t n = sz * nm;
    if (n > 5 && strncasecmp(p, "etag:", 5) == 0) {
        const char *v = p + 5;
        while (*v == ' ')
            v++;
        size_t vl = n - (size_t)(v - p);
        while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
            vl--;
        if (vl < sizeof(r->etag)) {
            memcpy(r->etag, v, vl);
            r->etag[vl] = 0;
        }
    }
    return n;
}

/*
 * One signed request: method on /<bucket>/<prefix><key>?query with body
 * (may be empty) and an optional Range.  The body of the response goes to
 * rsp->body (or is collected for error messages).
 */
static int
s3_call(ss_tier *t, const char *method, const char *key, const char *query,
        const uint8_t *body, size_t blen, const char *range, s3_rsp *rsp)
{
    sl_buf path, creq, url;
    sl_buf_init(&path);
    sl_buf_init(&creq);
    sl_buf_init(&url);
    sl_buf_init(&rsp->own);
    rsp->status = 0;
    rsp->etag[0] = 0;
    int rc = 0;
    sl_buf_put_u8(&path, '/');
    ss_uri_encode(&path, t->bucket, 0);
    sl_buf_put_u8(&path, '/');
    char full[SS_TIER_KEY_MAX + 512];
    snprintf(full, sizeof(full), "%s%s", t->prefix, key);
    ss_uri_encode(&path, full, 1);
    sl_buf_put_u8(&path, 0);

    char payload[65], amz_date[17];
    ss_sha256_hex(body ? body : (const uint8_t *)"", blen, payload);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);
    ss_sigv4_hdr h[4];
    size_t nh = 0;
    h[nh++] = (ss_sigv4_hdr){"host", t->host};
    if (range)
        h[nh++] = (ss_sigv4_hdr){"range", range};
    h[nh++] = (ss_sigv4_hdr){"x-amz-content-sha256", payload};
    h[nh++] = (ss_sigv4_hdr){"x-amz-date", amz_date};
    char signed_h[128], sig[65];
    rc = ss_sigv4_canonical(&creq, method, (const char *)path.p,
                            query ? query : "", h, nh, payload, signed_h,
                            sizeof(signed_h));
    if (rc == 0)
        rc = ss_sigv4_sign(t->secret_key, amz_date, t->region,
                           sl_slice_make(creq.p, creq.n), sig);
    if (rc != 0)
        goto out;
    char auth[1024], hdate[64], hsha[128], hrange[128];
    snprintf(auth, sizeof(auth),
             "Authorization: AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/s3/"
             "aws4_request, SignedHeaders=%s, Signature=%s",
             t->access_key, amz_date, t->region, signed_h, sig);
    snprintf(hdate, sizeof(hdate), "x-amz-date: %s", amz_date);
    snprintf(hsha, sizeof(hsha), "x-amz-content-sha256: %s", payload);
    sl_buf_append(&url, t->endpoint, strlen(t->endpoint));
    sl_buf_append(&url, path.p, path.n - 1);
    if (query && query[0]) {
        sl_buf_put_u8(&url, '?');
        sl_buf_append(&url, query, strlen(query));
    }
    sl_buf_put_u8(&url, 0);

    CURL *cu = curl_easy_init();
    if (cu == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    struct curl_slist *hl = NULL;
    hl = curl_slist_append(hl, auth);
    hl = curl_slist_append(hl, hdate);
    hl = curl_slist_append(hl, hsha);
    hl = curl_slist_append(hl, "Expect:");
    hl = curl_slist_append(hl, "Content-Type:");
    if (range) {
        snprintf(hrange, sizeof(hrange), "Range: %s", range);
        hl = curl_slist_append(hl, hrange);
    }
    curl_easy_setopt(cu, CURLOPT_URL, (const char *)url.p);
    curl_easy_setopt(cu, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, (long)t->timeout_ms);
    curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(cu, CURLOPT_WRITEDATA, rsp);
    curl_easy_setopt(cu, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(cu, CURLOPT_HEADERDATA, rsp);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(cu, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(cu, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(cu, CURLOPT_CUSTOMREQUEST, method);
        if (strcmp(method, "DELETE") != 0) {
            curl_easy_setopt(cu, CURLOPT_POSTFIELDS,
                             body ? (const char *)body : "");
            curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
        }
    }
    CURLcode cc = curl_easy_perform(cu);
    if (cc == CURLE_OK)
        curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &rsp->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(cu);
    if (cc != CURLE_OK) {
        rc = set_err(t, SL_E_IO, "%s %s: %s", method, key,
                     curl_easy_strerror(cc));
    } else if (rsp->status == 404) {
        rc = set_err(t, -ENOENT, "%s %s: 404", method, key);
    } else if (rsp->status < 200 || rsp->status >= 300) {
        const sl_buf *eb = &rsp->own;
        int show = (int)SL_MIN(eb->n, 200);
        rc = set_err(t, SL_E_IO, "%s %s: HTTP %ld %.*s", method, key,
                     rsp->status, show, eb->p ? (const char *)eb->p : "");
    }
out:
    sl_buf_fini(&path);
    sl_buf_fini(&creq);
    sl_buf_fini(&url);
    return rc;
}

/* The text between <tag> and </tag> in xml, into out. */
static int
xml_value(const sl_buf *xml, const char *tag, char *out, size_t len)
{
    char open[64], close_[64];
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close_, sizeof(close_), "</%s>", tag);
    if (xml->n == 0)
        return SL_E_MALFORMED;
    const char *s = memmem(xml->p, xml->n, open, strlen(open));
    if (s == NULL)
        return SL_E_MALFORMED;
    s += strlen(open);
    const char *e = memmem(s, xml->n - (size_t)(s - (const char *)xml->p),
                           close_, strlen(close_));
    if (e == NULL || (size_t)(e - s) >= len)
        return SL_E_MALFORMED;
    memcpy(out, s, (size_t)(e - s));
    out[e - s] = 0;
    return 0;
}

static int
s3_put_multipart(ss_tier *t, const char *key, const uint8_t *p, size_t n)
{
    s3_rsp r = {0};
    int rc = s3_call(t, "POST", key, "uploads=", NULL, 0, NULL, &r);
    char upload_id[512];
    if (rc == 0 &&
        xml_value(&r.own, "UploadId", upload_id, sizeof(upload_id)) != 0)
        rc = set_err(t, SL_E_IO, "multipart %s: no UploadId", key);
    sl_buf_fini(&r.own);
    if (rc != 0)
        return rc;
    sl_buf enc, done;
    sl_buf_init(&enc);
    sl_buf_init(&done);
    ss_uri_encode(&enc, upload_id, 0);
    sl_buf_put_u8(&enc, 0);
    sl_buf_append(&done, "<CompleteMultipartUpload>", 25);
    size_t part = 1;
    size_t psz = (size_t)t->multipart_bytes;
    char q[1024];
    for (size_t off = 0; off < n && rc == 0; off += psz, part++) {
        size_t len = SL_MIN(psz, n - off);
        /* Canonical query: keys sorted (partNumber < uploadId). */
        snprintf(q, sizeof(q), "partNumber=%zu&uploadId=%s", part,
                 (const char *)enc.p);
        s3_rsp pr = {0};
        rc = s3_call(t, "PUT", key, q, p + off, len, NULL, &pr);
        sl_buf_fini(&pr.own);
        if (rc == 0 && pr.etag[0] == 0)
            rc = set_err(t, SL_E_IO, "part %zu of %s: no ETag", part, key);
        if (rc == 0) {
            char x[256];
            int xn = snprintf(x, sizeof(x),
                              "<Part><PartNumber>%zu</PartNumber><ETag>%s"
                              "</ETag></Part>",
                              part, pr.etag);
            sl_buf_append(&done, x, (size_t)xn);
        }
    }
    snprintf(q, sizeof(q), "uploadId=%s", (const char *)enc.p);
    if (rc == 0) {
        sl_buf_append(&done, "</CompleteMultipartUpload>", 26);
        s3_rsp cr = {0};
        rc = s3_call(t, "POST", key, q, done.p, done.n, NULL, &cr);
        /* S3 may answer 200 with an <Error> body. */
        if (rc == 0 && cr.own.n > 0 &&
            memmem(cr.own.p, cr.own.n, "<Error>", 7) != NULL)
            rc = set_err(t, SL_E_IO, "complete %s: error", key);
        sl_buf_fini(&cr.own);
    }
    if (rc != 0) {
        char keep[sizeof(t->err)];
        memcpy(keep, t->err, sizeof(keep));
        s3_rsp ar = {0};
        s3_call(t, "DELETE", key, q, NULL, 0, NULL, &ar);
        sl_buf_fini(&ar.own);
        memcpy(t->err, keep, sizeof(keep));
    }
    sl_buf_fini(&enc);
    sl_buf_fini(&done);
    return rc;
}

/* ---- dispatch ----------------------------------------------------------- */

int
ss_tier_put(ss_tier *t, const char *key, const uint8_t *p, size_t n)
{
    if (t->kind == BK_FILE)
        return file_put(t, key, p, n);
    if ((int64_t)n > t->multipart_bytes)
        return s3_put_multipart(t, key, p, n);
    s3_rsp r = {0};
    int rc = s3_call(t, "PUT", key, NULL, p, n, NULL, &r);
    sl_buf_fini(&r.own);
    return rc;
}

int
ss_tier_get(ss_tier *t, const char *key, uint64_t off, uint64_t len,
            sl_buf *out)
{
    if (t->kind == BK_FILE)
        return file_get(t, key, off, len, out);
    sl_buf_reset(out);
    char range[96];
    const char *rg = NULL;
    if (off > 0 || len > 0) {
        if (len > 0)
            snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, off,
                     off + len - 1);
        else
            snprintf(range, sizeof(range), "bytes=%" PRIu64 "-", off);
        rg = range;
    }
    s3_rsp r = {0};
    r.body = out;
    int rc = s3_call(t, "GET", key, NULL, NULL, 0, rg, &r);
    sl_buf_fini(&r.own);
    if (rc != 0) {
        /* An error body went into out; do not hand it on as data. */
        sl_buf_reset(out);
    }
    return rc;
}

int
ss_tier_delete(ss_tier *t, const char *key)
{
    if (t->kind == BK_FILE)
        return file_delete(t, key);
    s3_rsp r = {0};
    int rc = s3_call(t, "DELETE", key, NULL, NULL, 0, NULL, &r);
    sl_buf_fini(&r.own);
    return rc == -ENOENT ? 0 : rc;
}
