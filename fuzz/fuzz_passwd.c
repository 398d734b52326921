/*
 * fuzz_passwd.c — libFuzzer harness for the MQTT password file parser
 * (mq_passwd_parse).
 *
 * The input is a password file.  Parsing either fails with "line N: ..."
 * or succeeds; a parsed file must format to text that parses again to the
 * same users and formats to the same bytes (a canonical round trip).
 * Hashes are not verified here: argon2id and PBKDF2 are slow on purpose.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mq_auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
die(const char *what)
{
    fprintf(stderr, "fuzz_passwd: invariant violated: %s\n", what);
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256] = "";
    mq_passwd *p = NULL;
    int rc = mq_passwd_parse(sl_slice_make(data, size), &p, err, sizeof(err));
    if (rc != 0) {
        if (p != NULL)
            die("failed parse returned an object");
        if (rc == SL_E_MALFORMED && strncmp(err, "line ", 5) != 0)
            die("parse error without a line number");
        return 0;
    }
    sl_buf a, b;
    sl_buf_init(&a);
    sl_buf_init(&b);
    if (mq_passwd_format(p, &a) != 0)
        die("format failed");
    mq_passwd *q = NULL;
    if (mq_passwd_parse(sl_slice_make(a.p, a.n), &q, err, sizeof(err)) != 0)
        die("formatted file does not parse");
    if (mq_passwd_count(q) != mq_passwd_count(p))
        die("user count changed in the round trip");
    if (mq_passwd_format(q, &b) != 0 || a.n != b.n ||
        (a.n && memcmp(a.p, b.p, a.n) != 0))
        die("format is not canonical");
    mq_passwd_free(q);
    mq_passwd_free(p);
    sl_buf_fini(&a);
    sl_buf_fini(&b);
    return 0;
}
