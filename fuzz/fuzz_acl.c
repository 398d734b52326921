/*
 * fuzz_acl.c — libFuzzer harness for the MQTT ACL file parser and checks
 * (mq_acl_parse, mq_acl_allows, mq_acl_allows_subscribe).
 *
 * The input is an ACL file.  Parsing either fails with "line N: ..." or
 * succeeds; a parsed file formats to canonical text that parses to the same
 * number of rules and formats to the same bytes again.  The checks are then
 * run for a few users, client ids, topics and filters, and must give the
 * same answers on the reparsed rules.
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
    fprintf(stderr, "fuzz_acl: invariant violated: %s\n", what);
    abort();
}

static const char *const topics[] = {
    "a", "a/b", "a/b/c", "$SYS/x", "u/c/x", "sensors/1/temp", "/", ""};
static const char *const filters[] = {
    "#", "a/#", "a/+", "+/+/+", "$SYS/#", "u/c/#", "sensors/+/temp"};

static unsigned
answers(const mq_acl *a)
{
    unsigned bits = 0, k = 0;
    sl_slice users[] = {{NULL, 0}, sl_slice_str("u"), sl_slice_str("a/b")};
    for (size_t u = 0; u < 3; u++) {
        for (size_t t = 0; t < sizeof(topics) / sizeof(*topics); t++) {
            for (int acc = 1; acc <= 2; acc++, k++)
                if (mq_acl_allows(a, users[u], sl_slice_str("c"),
                                  sl_slice_str(topics[t]), acc))
                    bits ^= 1u << (k % 31);
        }
        for (size_t f = 0; f < sizeof(filters) / sizeof(*filters); f++, k++)
            if (mq_acl_allows_subscribe(a, users[u], sl_slice_str("c"),
                                        sl_slice_str(filters[f])))
                bits ^= 1u << (k % 31);
    }
    return bits;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256] = "";
    mq_acl *a = NULL;
    int rc = mq_acl_parse(sl_slice_make(data, size), &a, err, sizeof(err));
    if (rc != 0) {
        if (a != NULL)
            die("failed parse returned an object");
        if (rc == SL_E_MALFORMED && strncmp(err, "line ", 5) != 0)
            die("parse error without a line number");
        return 0;
    }
    sl_buf x, y;
    sl_buf_init(&x);
    sl_buf_init(&y);
    if (mq_acl_format(a, &x) != 0)
        die("format failed");
    mq_acl *b = NULL;
    if (mq_acl_parse(sl_slice_make(x.p, x.n), &b, err, sizeof(err)) != 0)
        die("formatted file does not parse");
    if (mq_acl_rule_count(a) != mq_acl_rule_count(b))
        die("rule count changed in the round trip");
    if (mq_acl_format(b, &y) != 0 || x.n != y.n ||
        (x.n && memcmp(x.p, y.p, x.n) != 0))
        die("format is not canonical");
    if (answers(a) != answers(b))
        die("reparsed rules answer differently");
    mq_acl_free(a);
    mq_acl_free(b);
    sl_buf_fini(&x);
    sl_buf_fini(&y);
    return 0;
}
