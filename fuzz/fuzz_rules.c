/*
 * fuzz_rules.c — libFuzzer harness for sluice-mqtt's mapping rules parsers
 * (mq_rules_parse, mq_rules_parse_inline, mq_rules_format).
 *
 * The input is a rules file.  Parsing either fails with "line N: ..." or
 * succeeds; a parsed file formats to canonical text that parses to the
 * same rules and formats to the same bytes again.  The same input is also
 * parsed as the inline form, which must fail with "rule N: ..." or
 * succeed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mq_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
die(const char *what)
{
    fprintf(stderr, "fuzz_rules: invariant violated: %s\n", what);
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512] = "";
    mq_rules a, b;
    int rc = mq_rules_parse(sl_slice_make(data, size), &a, err, sizeof(err));
    if (rc == SL_E_MALFORMED && strncmp(err, "line ", 5) != 0)
        die("parse error without a line number");
    if (rc == 0) {
        sl_buf x, y;
        sl_buf_init(&x);
        sl_buf_init(&y);
        if (mq_rules_format(&a, &x) != 0)
            die("format failed");
        if (mq_rules_parse(sl_slice_make(x.p, x.n), &b, err, sizeof(err)) != 0)
            die("formatted rules do not parse");
        if (a.nrules != b.nrules || a.ntopics < b.ntopics)
            die("rules changed in the round trip");
        if (mq_rules_format(&b, &y) != 0 || x.n != y.n ||
            (x.n && memcmp(x.p, y.p, x.n) != 0))
            die("format is not canonical");
        mq_rules_free(&b);
        sl_buf_fini(&x);
        sl_buf_fini(&y);
    }
    mq_rules_free(&a);
    rc = mq_rules_parse_inline(sl_slice_make(data, size), &a, err, sizeof(err));
    if (rc == SL_E_MALFORMED && strncmp(err, "rule ", 5) != 0)
        die("inline parse error without a rule number");
    mq_rules_free(&a);
    return 0;
}
