/*
 * fuzz_manifest.c — libFuzzer harness for the tier manifest decoder
 * (ss_tier_manifest_decode, segstore/tier) and sluice-dump's manifest
 * walker (dump_manifest_*, tools/dump), docs/format.md "Tier".
 *
 * The input is a manifest file.  Its trailing XXH3-64 makes almost every
 * mutation a digest mismatch, so the harness also tries the input with the
 * digest fixed: the bytes before the last 8, then their XXH3.  For both
 * forms:
 *
 *   - a decode that fails leaves the caller's manifest untouched;
 *   - a decoded manifest satisfies the format's rules (base < next,
 *     contiguous entries, keys of 1..511 bytes without NUL), and
 *     ss_tier_manifest_find answers for every entry's first and last offset;
 *   - it re-encodes (the encoder writes flags and reserved as 0), the
 *     encoding decodes to the same values and encodes to the same bytes, and
 *     when the input's flags and reserved fields are 0 the encoding is the
 *     input byte for byte;
 *   - the differential: sluice-dump's walker, written separately from the
 *     same page, reports no corrupt problem exactly when segstore's decoder
 *     accepts the bytes, and then yields the same entries.
 *
 * A violation is our bug and abort()s; input that is merely invalid is
 * never a finding.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump_verify.h"
#include "ss_tier.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_manifest: invariant violated: %s\n", what);
        abort();
    }
}

static void
ignore(void *arg, int severity, int64_t pos, const char *msg)
{
    (void)arg;
    (void)severity;
    (void)pos;
    (void)msg;
}

static int
key_ok(const char *k)
{
    size_t n = strlen(k);
    return n >= 1 && n < SS_TIER_KEY_MAX;
}

static int
key_eq(sl_slice s, const char *k)
{
    return s.n == strlen(k) && memcmp(s.p, k, s.n) == 0;
}

static int
ent_eq(const ss_tier_ent *a, const ss_tier_ent *b)
{
    return a->base == b->base && a->next == b->next && a->min_ts == b->min_ts &&
           a->max_ts == b->max_ts && a->size == b->size &&
           memcmp(a->digest, b->digest, 16) == 0 &&
           strcmp(a->key_log, b->key_log) == 0 &&
           strcmp(a->key_index, b->key_index) == 0 &&
           strcmp(a->key_tindex, b->key_tindex) == 0;
}

static int
man_eq(const ss_tier_manifest *a, const ss_tier_manifest *b)
{
    if (a->generation != b->generation || a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (!ent_eq(&a->ents[i], &b->ents[i]))
            return 0;
    return 1;
}

static void
one(sl_slice in)
{
    /* A manifest that already holds one entry: a failed decode must leave
     * it as it was. */
    ss_tier_manifest m;
    ss_tier_ent e0;
    memset(&e0, 0, sizeof(e0));
    e0.base = 7;
    e0.next = 9;
    strcpy(e0.key_log, "x");
    ss_tier_manifest_init(&m);
    m.generation = 42;
    check(ss_tier_manifest_push(&m, &e0) == 0, "push");
    int rc = ss_tier_manifest_decode(in, &m);

    dump_report rep = {ignore, NULL};
    dump_manifest dm;
    dump_manifest_ent de;
    size_t dn = 0;
    int dump_ok = dump_manifest_init(&dm, in, &rep) == 0;
    while (dump_ok && dump_manifest_next(&dm, &de, &rep) == 1) {
        check(de.pos < in.n && de.digest >= in.p &&
                  de.digest + 16 <= in.p + in.n,
              "dump entry inside the input");
        for (int j = 0; j < 3; j++)
            check(de.key[j].p >= in.p &&
                      de.key[j].p + de.key[j].n <= in.p + in.n,
                  "dump key inside the input");
        if (rc == 0) {
            check(dn < m.n, "dump yields more entries than the decoder");
            const ss_tier_ent *e = &m.ents[dn];
            check(de.base == e->base && de.next == e->next &&
                      de.min_ts == e->min_ts && de.max_ts == e->max_ts &&
                      de.size == e->size &&
                      memcmp(de.digest, e->digest, 16) == 0 &&
                      key_eq(de.key[0], e->key_log) &&
                      key_eq(de.key[1], e->key_index) &&
                      key_eq(de.key[2], e->key_tindex),
                  "dump and decoder disagree on an entry");
        }
        dn++;
    }
    check((dm.corrupt == 0) == (rc == 0),
          "dump and decoder disagree on validity");

    if (rc != 0) {
        check(m.generation == 42 && m.n == 1 && m.ents[0].base == 7,
              "failed decode changed the manifest");
        ss_tier_manifest_fini(&m);
        return;
    }
    check(dn == m.n && dm.generation == m.generation && dm.count == m.n,
          "dump and decoder disagree on the header");

    for (size_t i = 0; i < m.n; i++) {
        const ss_tier_ent *e = &m.ents[i];
        check(e->base < e->next, "empty entry accepted");
        check(i == 0 || m.ents[i - 1].next == e->base,
              "non-contiguous entries accepted");
        check(key_ok(e->key_log) && key_ok(e->key_index) &&
                  key_ok(e->key_tindex),
              "bad key accepted");
        check(ss_tier_manifest_find(&m, e->base) == (ssize_t)i &&
                  ss_tier_manifest_find(&m, e->next - 1) == (ssize_t)i,
              "find misses an entry");
    }
    if (m.n > 0) {
        check(m.ents[0].base == INT64_MIN ||
                  ss_tier_manifest_find(&m, m.ents[0].base - 1) == -1,
              "find below the first entry");
        check(ss_tier_manifest_find(&m, m.ents[m.n - 1].next) == -1,
              "find past the last entry");
    }
    (void)ss_tier_manifest_bytes(&m);

    sl_buf b1, b2;
    sl_buf_init(&b1);
    sl_buf_init(&b2);
    check(ss_tier_manifest_encode(&m, &b1) == 0, "decoded manifest encodes");
    ss_tier_manifest m2;
    ss_tier_manifest_init(&m2);
    check(ss_tier_manifest_decode(sl_slice_make(b1.p, b1.n), &m2) == 0,
          "encoded manifest decodes");
    check(man_eq(&m, &m2), "values change in the round trip");
    check(ss_tier_manifest_encode(&m2, &b2) == 0 && b1.n == b2.n &&
              memcmp(b1.p, b2.p, b1.n) == 0,
          "encoding is not a function of the values");
    if (sl_get_u16be(in.p + 6) == 0 && sl_get_u32be(in.p + 20) == 0)
        check(b1.n == in.n && memcmp(b1.p, in.p, in.n) == 0,
              "canonical input does not re-encode to itself");

    /* Dropping entries keeps a valid manifest. */
    if (m.n > 0) {
        ss_tier_manifest_drop_front(&m2, 1);
        check(ss_tier_manifest_encode(&m2, &b2) == 0 &&
                  ss_tier_manifest_decode(sl_slice_make(b2.p, b2.n), &m2) ==
                      0 &&
                  m2.n == m.n - 1,
              "manifest after drop_front");
    }
    ss_tier_manifest_fini(&m2);
    ss_tier_manifest_fini(&m);
    sl_buf_fini(&b1);
    sl_buf_fini(&b2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(sl_slice_make(data, size));
    if (size >= 32) {
        uint8_t *p = malloc(size);
        check(p != NULL, "allocation");
        memcpy(p, data, size);
        sl_put_u64be(p + size - 8, sl_xxh3(p, size - 8));
        one(sl_slice_make(p, size));
        free(p);
    }
    return 0;
}
