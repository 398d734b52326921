/*
 * mq_auth.h — MQTT authentication and authorisation files: the password
 * file and the ACL file, parsed by pure functions over their bytes (so
 * they can be fuzzed) and checked without I/O.  docs/mqtt.md documents
 * both formats; they follow Mosquitto's, so its files work unchanged.
 *
 * Password file, one user per line (blank lines and # comments allowed):
 *
 *   username:HASH
 *
 *   HASH is one of
 *     $argon2id$v=19$m=…,t=…,p=…$salt$hash   libsodium's crypto_pwhash_str
 *                                           (what mq_passwd_hash writes)
 *     $7$<iterations>$<salt b64>$<hash b64>  Mosquitto ≥ 2.0: PBKDF2-SHA512
 *     $6$<salt b64>$<hash b64>               Mosquitto 1.x: SHA512(pw+salt)
 *
 * ACL file, Mosquitto's grammar:
 *
 *   user <name>                  following `topic` lines apply to <name>
 *   topic [read|write|readwrite|deny] <filter>
 *   pattern [read|write|readwrite|deny] <filter>   for every client; %u is
 *                                the username, %c the client id (a whole
 *                                level each)
 *
 *   `topic` lines before the first `user` line apply to anonymous clients.
 *   Access not granted by any line is denied; a matching `deny` line wins
 *   over any grant.
 *
 * Ownership: parse functions allocate the returned object (free with the
 * matching _free, NULL is fine); views passed in are not kept.
 */
#ifndef MQ_AUTH_H
#define MQ_AUTH_H

#include "sl_base.h"

#include <stdbool.h>

/* ---- password file --------------------------------------------------- */

typedef struct mq_passwd mq_passwd;

/* Parse a whole password file.  SL_E_MALFORMED with "line N: why" in err
 * on the first bad line (a missing ':', an empty user, an unknown hash
 * form, a user listed twice). */
int mq_passwd_parse(sl_slice text, mq_passwd **out, char *err, size_t errlen);
void mq_passwd_free(mq_passwd *p);
size_t mq_passwd_count(const mq_passwd *p);

/* 0 when user exists and password matches; SL_E_NOKEY for an unknown user,
 * SL_E_INVAL for a wrong password.  Takes the hash's time (argon2id and
 * PBKDF2 are slow on purpose): call off the event loop thread. */
int mq_passwd_check(const mq_passwd *p, sl_slice user, sl_slice password);

/* A new argon2id hash string for password (appended to out, NUL not
 * included).  0 or -ENOMEM / SL_E_INTERNAL. */
int mq_passwd_hash(sl_slice password, sl_buf *out);

/* Write the file back (canonical form: "user:hash\n" per user, in the
 * order parsed; comments dropped). */
int mq_passwd_format(const mq_passwd *p, sl_buf *out);

/* Set (add or replace) user's hash; hash must be a form parse accepts. */
int mq_passwd_set(mq_passwd *p, sl_slice user, sl_slice hash);

/* Remove user: 0 or SL_E_NOKEY. */
int mq_passwd_delete(mq_passwd *p, sl_slice user);

/* ---- ACL file -------------------------------------------------------- */

enum { MQ_ACL_READ = 1, MQ_ACL_WRITE = 2 };

typedef struct mq_acl mq_acl;

/* Parse a whole ACL file; SL_E_MALFORMED with "line N: why" in err. */
int mq_acl_parse(sl_slice text, mq_acl **out, char *err, size_t errlen);
void mq_acl_free(mq_acl *a);
size_t mq_acl_rule_count(const mq_acl *a);

/*
 * May this client publish to (MQ_ACL_WRITE) or receive from (MQ_ACL_READ)
 * the topic name `topic`?  user.p == NULL for an anonymous client.
 */
bool mq_acl_allows(const mq_acl *a, sl_slice user, sl_slice client_id,
                   sl_slice topic, int access);

/*
 * May this client subscribe to `filter`?  Allowed when some read rule
 * covers every topic the filter can match (e.g. rule `a/#` covers filter
 * `a/+/b`) and no deny rule overlaps it in a way that covers it.  Each
 * message is still checked with mq_acl_allows(READ) on delivery.
 */
bool mq_acl_allows_subscribe(const mq_acl *a, sl_slice user, sl_slice client_id,
                             sl_slice filter);

/* Write the rules back in canonical form (one line each, grouped by
 * user, anonymous first). */
int mq_acl_format(const mq_acl *a, sl_buf *out);

#endif /* MQ_AUTH_H */
