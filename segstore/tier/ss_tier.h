/*
 * ss_tier.h — segstore's cold tier: an object store behind one small
 * interface (put / get / delete of whole objects, ranged get), the
 * per-partition manifest that lists what was offloaded, and the tier
 * service (offload thread, download cache) that segstore runs.
 *
 * Backends, chosen by URL:
 *   file:///dir          objects are files under dir (e.g. a network mount)
 *   s3://bucket/prefix   S3-compatible storage, AWS Signature V4 over
 *                        libcurl, path-style addressing
 * Object keys are relative to the URL's directory / prefix
 * ("orders/3/00000000000000000000.log").
 *
 * Threading: a backend call blocks; an ss_tier may be used by one thread at
 * a time (segstore's tier thread).  docs/format.md ("Tier") is normative
 * for the manifest.
 */
#ifndef SS_TIER_H
#define SS_TIER_H

#include "sl_base.h"

#include <sys/types.h>

typedef struct ss_tier ss_tier;

typedef struct ss_tier_conf {
    const char *url;         /* file:///dir or s3://bucket/prefix */
    const char *endpoint;    /* s3: http(s)://host[:port] */
    const char *region;      /* s3: us-east-1 when empty */
    const char *access_key;  /* s3: else env AWS_ACCESS_KEY_ID */
    const char *secret_key;  /* s3: else env AWS_SECRET_ACCESS_KEY */
    int64_t multipart_bytes; /* s3: multipart upload above this size */
    int64_t timeout_ms;      /* s3: per request */
} ss_tier_conf;

/* Parse the URL and set up the backend (no I/O).  SL_E_INVAL with a
 * message in err for a bad URL or missing s3 settings. */
int ss_tier_open(const ss_tier_conf *conf, ss_tier **out, char *err,
                 size_t errlen);
void ss_tier_free(ss_tier *t);

/* Store an object (replacing any of that key).  0 once the store has
 * confirmed it durable (file: fsynced and renamed; s3: 200 OK). */
int ss_tier_put(ss_tier *t, const char *key, const uint8_t *p, size_t n);
/* Read [off, off+len) of an object (len 0: to its end) into out (reset
 * first).  -ENOENT when the object does not exist. */
int ss_tier_get(ss_tier *t, const char *key, uint64_t off, uint64_t len,
                sl_buf *out);
/* Delete an object; deleting a missing one succeeds. */
int ss_tier_delete(ss_tier *t, const char *key);
/* A text description of the last failure (for SS-TIER lines and status). */
const char *ss_tier_last_error(const ss_tier *t);

/* ---- AWS Signature V4 (pure; tests/unit/tier) --------------------------- */

typedef struct ss_sigv4_hdr {
    const char *name;  /* lower case */
    const char *value; /* trimmed */
} ss_sigv4_hdr;

/*
 * Build the canonical request: method, the URI-encoded path, the canonical
 * query string (already sorted and encoded), the headers (sorted by name,
 * lower case) and the hex SHA-256 of the payload.  Writes "host;range;..."
 * into signed_headers.  Pure.
 */
int ss_sigv4_canonical(sl_buf *out, const char *method, const char *path,
                       const char *query, const ss_sigv4_hdr *hdrs,
                       size_t nhdrs, const char *payload_sha256,
                       char *signed_headers, size_t shlen);
/* The signature (64 hex digits + NUL into sig) of a canonical request for
 * amz_date ("20130524T000000Z"), region and service "s3".  Pure. */
int ss_sigv4_sign(const char *secret, const char *amz_date, const char *region,
                  sl_slice canonical, char sig[65]);
/* Hex SHA-256 of bytes into hex (65 bytes). */
void ss_sha256_hex(const uint8_t *p, size_t n, char hex[65]);
/* AWS URI encoding of s into out (slash kept when keep_slash). */
void ss_uri_encode(sl_buf *out, const char *s, int keep_slash);

/* ---- the manifest (pure; docs/format.md "Tier") ------------------------- */

#define SS_TIER_KEY_MAX 512

typedef struct ss_tier_ent {
    int64_t base;       /* first offset */
    int64_t next;       /* offset after the last batch */
    int64_t min_ts;     /* smallest batch firstTimestamp, -1 when none */
    int64_t max_ts;     /* greatest batch maxTimestamp, -1 when none */
    uint64_t size;      /* bytes of the .log object */
    uint8_t digest[16]; /* XXH3-128 of the .log object, big-endian */
    char key_log[SS_TIER_KEY_MAX];
    char key_index[SS_TIER_KEY_MAX];
    char key_tindex[SS_TIER_KEY_MAX];
} ss_tier_ent;

typedef struct ss_tier_manifest {
    uint64_t generation; /* +1 at every write */
    ss_tier_ent *ents;   /* ordered by base, contiguous */
    size_t n, cap;
} ss_tier_manifest;

void ss_tier_manifest_init(ss_tier_manifest *m);
void ss_tier_manifest_fini(ss_tier_manifest *m);
/* Append an entry; it must continue the last (base == last next).
 * SL_E_INVAL otherwise. */
int ss_tier_manifest_push(ss_tier_manifest *m, const ss_tier_ent *e);
/* Drop the first n entries. */
void ss_tier_manifest_drop_front(ss_tier_manifest *m, size_t n);
int ss_tier_manifest_encode(const ss_tier_manifest *m, sl_buf *out);
/* SL_E_CORRUPT / SL_E_VERSION / SL_E_MALFORMED on bad bytes; m is replaced
 * on success only. */
int ss_tier_manifest_decode(sl_slice in, ss_tier_manifest *m);
/* Index of the entry holding offset, or -1. */
ssize_t ss_tier_manifest_find(const ss_tier_manifest *m, int64_t offset);
uint64_t ss_tier_manifest_bytes(const ss_tier_manifest *m);

/* XXH3-128 of bytes, big-endian (high 64 bits first). */
void ss_tier_digest(const uint8_t *p, size_t n, uint8_t out[16]);

/* ---- reading a downloaded segment object (pure) ------------------------- */

/*
 * Like ss_log_read on one segment's bytes: whole batches from the one that
 * holds offset, below limit, at most max_bytes unless the first batch alone
 * is larger.  *pos / *len; *len 0 when nothing.  SL_E_CORRUPT on bad bytes.
 */
int ss_tier_seg_read(sl_slice data, int64_t offset, int32_t max_bytes,
                     int64_t limit, uint64_t *pos, uint32_t *len);
/* Like ss_log_find_time on one segment: *offset -1 when no record at or
 * after ts lies below limit. */
int ss_tier_seg_find_time(sl_slice data, int64_t ts, int64_t limit,
                          int64_t *offset, int64_t *found_ts);
/* Smallest firstTimestamp of the segment's batches (-1 when none). */
int64_t ss_tier_seg_min_ts(sl_slice data);

#endif /* SS_TIER_H */
