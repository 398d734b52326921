/*
 * ss_tier_sigv4.c — AWS Signature Version 4 for S3, as pure functions over
 * OpenSSL's SHA-256 and HMAC (tests/unit/tier checks them against the AWS
 * documentation's "GET /test.txt" example).
 *
 * Canonical request (each line ends with \n but the last):
 *   METHOD \n URI-encoded path \n canonical query \n
 *   (lowercase-name:trimmed-value \n)* \n signed-header-names \n
 *   hex(SHA-256(payload))
 * String to sign:
 *   "AWS4-HMAC-SHA256" \n amz_date \n <date>/<region>/s3/aws4_request \n
 *   hex(SHA-256(canonical request))
 * Signing key: HMAC chain "AWS4"+secret → date → region → "s3" →
 * "aws4_request"; the signature is hex(HMAC(key, string to sign)).
 */
#include "ss_tier.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>

static void
hex(const uint8_t *p, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = 0;
}

void
ss_sha256_hex(const uint8_t *p, size_t n, char out[65])
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256(p, n, md);
    hex(md, sizeof(md), out);
}

void
ss_uri_encode(sl_buf *out, const char *s, int keep_slash)
{
    static const char d[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
            c == '~' || (keep_slash && c == '/')) {
            sl_buf_put_u8(out, c);
        } else {
            uint8_t e[3] = {'%', (uint8_t)d[c >> 4], (uint8_t)d[c & 15]};
            sl_buf_append(out, e, 3);
        }
    }
}

static int
put_str(sl_buf *b, const char *s)
{
    return sl_buf_append(b, s, strlen(s));
}

int
ss_sigv4_canonical(sl_buf *out, const char *method, const char *path,
                   const char *query, const ss_sigv4_hdr *hdrs, size_t nhdrs,
                   const char *payload_sha256, char *signed_headers,
                   size_t shlen)
{
    sl_buf_reset(out);
    int rc = put_str(out, method);
    rc |= sl_buf_put_u8(out, '\n');
    rc |= put_str(out, path);
    rc |= sl_buf_put_u8(out, '\n');
    rc |= put_str(out, query);
    rc |= sl_buf_put_u8(out, '\n');
    size_t used = 0;
    if (shlen > 0)
        signed_headers[0] = 0;
    for (size_t i = 0; i < nhdrs; i++) {
        if (i > 0 && strcmp(hdrs[i - 1].name, hdrs[i].name) >= 0)
            return SL_E_INVAL; /* the caller sorts them */
        rc |= put_str(out, hdrs[i].name);
        rc |= sl_buf_put_u8(out, ':');
        rc |= put_str(out, hdrs[i].value);
        rc |= sl_buf_put_u8(out, '\n');
        int w = snprintf(signed_headers + used, shlen - used, "%s%s",
                         i ? ";" : "", hdrs[i].name);
        if (w < 0 || (size_t)w >= shlen - used)
            return SL_E_TOOBIG;
        used += (size_t)w;
    }
    rc |= sl_buf_put_u8(out, '\n');
    rc |= put_str(out, signed_headers);
    rc |= sl_buf_put_u8(out, '\n');
    rc |= put_str(out, payload_sha256);
    return rc ? -ENOMEM : 0;
}

static void
hmac(const uint8_t *key, size_t klen, const char *msg, size_t mlen,
     uint8_t out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)klen, (const uint8_t *)msg, mlen, out, &n);
}

int
ss_sigv4_sign(const char *secret, const char *amz_date, const char *region,
              sl_slice canonical, char sig[65])
{
    if (strlen(amz_date) != 16 || strlen(secret) > 200)
        return SL_E_INVAL;
    char date[9];
    memcpy(date, amz_date, 8);
    date[8] = 0;
    char creq_hash[65];
    ss_sha256_hex(canonical.p, canonical.n, creq_hash);
    char sts[512];
    int n = snprintf(sts, sizeof(sts),
                     "AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s",
                     amz_date, date, region, creq_hash);
    if (n < 0 || (size_t)n >= sizeof(sts))
        return SL_E_TOOBIG;
    char k0[210];
    int kn = snprintf(k0, sizeof(k0), "AWS4%s", secret);
    uint8_t k1[32], k2[32], k3[32], k4[32], s[32];
    hmac((const uint8_t *)k0, (size_t)kn, date, 8, k1);
    hmac(k1, 32, region, strlen(region), k2);
    hmac(k2, 32, "s3", 2, k3);
    hmac(k3, 32, "aws4_request", 12, k4);
    hmac(k4, 32, sts, (size_t)n, s);
    hex(s, 32, sig);
    return 0;
}
