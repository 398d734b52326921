/*
 * dump_verify_test.c — unit tests of tools/dump/dump_verify.c, the pure
 * checks behind sluice-dump, on segments and indexes built in memory by the
 * independent fixture writer (fixture.c).  Tags name the docs/format.md
 * clause a test exercises: [seg-rule-N] for the batch validity rules,
 * [seg-tail] for the bytes after the data, [index-*] for index files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "dump_verify.h"
#include "fixture.h"

/* ---- problem collector ------------------------------------------------- */

typedef struct probs {
    int corrupt, warning;
    int64_t first_pos; /* of the first corrupt problem */
    char first[512];   /* its message */
} probs;

static void
collect(void *arg, int severity, int64_t pos, const char *msg)
{
    probs *p = arg;

    if (severity == DUMP_SEV_CORRUPT) {
        if (p->corrupt++ == 0) {
            p->first_pos = pos;
            snprintf(p->first, sizeof(p->first), "%s", msg);
        }
    } else {
        p->warning++;
    }
}

static dump_report
rep_for(probs *p)
{
    dump_report r = {collect, p};
    memset(p, 0, sizeof(*p));
    p->first_pos = -2;
    return r;
}

/* Walk a whole segment, cross-checking optional indexes. */
static void
walk(sl_slice data, int64_t base, int flags, dump_index *ix, int nix,
     const dump_report *rep, dump_seg *s)
{
    dump_batch b;

    dump_seg_init(s, data, 1, base, flags);
    while (dump_seg_next(s, &b, rep)) {
        for (int i = 0; i < nix; i++)
            dump_index_feed(&ix[i], &b, rep);
    }
    for (int i = 0; i < nix; i++)
        dump_index_finish(&ix[i], s, rep);
}

/* Three batches of 3, 1 and 4 records at base 100. */
static void
three_batches(fx_seg *s)
{
    fx_seg_init(s, 100);
    fx_seg_add(s, 3, 1000);
    fx_seg_add(s, 1, 2000);
    fx_seg_add(s, 4, 1500); /* max below the previous batch's */
}

/* Segment bytes with `zeros` preallocated zero bytes after the data. */
static uint8_t *
with_tail(const fx_seg *s, size_t zeros, size_t *n)
{
    uint8_t *p = calloc(1, s->data.n + zeros + 1);
    assert_non_null(p);
    memcpy(p, s->data.p, s->data.n);
    *n = s->data.n + zeros;
    return p;
}

/* ---- names ------------------------------------------------------------- */

static void
t_name_parse(void **state)
{
    int64_t base = -1;
    (void)state;
    assert_int_equal(dump_name_parse("00000000000000001234.log", &base),
                     DUMP_NAME_LOG);
    assert_int_equal(base, 1234);
    assert_int_equal(dump_name_parse("00000000000000000000.index", &base),
                     DUMP_NAME_INDEX);
    assert_int_equal(dump_name_parse("09223372036854775807.timeindex", &base),
                     DUMP_NAME_TIMEINDEX);
    assert_int_equal(base, INT64_MAX);
    assert_int_equal(dump_name_parse("09223372036854775808.log", &base),
                     DUMP_NAME_OTHER);
    assert_int_equal(dump_name_parse("99999999999999999999.log", &base),
                     DUMP_NAME_OTHER);
    assert_int_equal(dump_name_parse("0000000000000000000.log", &base),
                     DUMP_NAME_OTHER);
    assert_int_equal(dump_name_parse("00000000000000000000.log.tmp", &base),
                     DUMP_NAME_OTHER);
    assert_int_equal(dump_name_parse("0000000000000000000a.log", &base),
                     DUMP_NAME_OTHER);
    assert_int_equal(dump_name_parse("", &base), DUMP_NAME_OTHER);
}

/* ---- segments ---------------------------------------------------------- */

/* [seg-rule-1..5] [seg-tail] A sound active segment with a zero tail. */
static void
t_sound_segment(void **state)
{
    fx_seg f;
    probs p;
    dump_report r = rep_for(&p);
    dump_seg s;
    size_t n;
    (void)state;

    three_batches(&f);
    uint8_t *data = with_tail(&f, 4096, &n);
    walk(sl_slice_make(data, n), 100, DUMP_CHECK_RECORDS, NULL, 0, &r, &s);
    assert_int_equal(p.corrupt, 0);
    assert_int_equal(p.warning, 0);
    assert_int_equal(s.batches, 3);
    assert_int_equal(s.records, 8);
    assert_int_equal(s.end_kind, DUMP_END_ZERO);
    assert_int_equal(s.end, f.data.n);
    assert_int_equal(s.data_end, f.data.n);
    assert_int_equal(s.next, 108);
    free(data);

    /* A sealed segment ends exactly at its data. */
    r = rep_for(&p);
    walk(sl_slice_make(f.data.p, f.data.n), 100, DUMP_CHECK_RECORDS, NULL, 0,
         &r, &s);
    assert_int_equal(p.corrupt, 0);
    assert_int_equal(s.end_kind, DUMP_END_EOF);
    fx_seg_fini(&f);
}

/* An empty file is an empty (freshly created) segment. */
static void
t_empty_segment(void **state)
{
    probs p;
    dump_report r = rep_for(&p);
    dump_seg s;
    (void)state;

    walk(sl_slice_make("", 0), 42, DUMP_CHECK_RECORDS, NULL, 0, &r, &s);
    assert_int_equal(p.corrupt, 0);
    assert_int_equal(s.batches, 0);
    assert_int_equal(s.end_kind, DUMP_END_EOF);
    assert_int_equal(s.next, 42);
}

/* [seg-rule-3] A flipped bit under the CRC is reported at the batch's
 * position and the walk goes on to the later batches. */
static void
t_crc_flip(void **state)
{
    fx_seg f;
    probs p;
    dump_report r = rep_for(&p);
    dump_seg s;
    (void)state;

    three_batches(&f);
    size_t pos = f.b[1].pos;
    f.data.p[pos + 40] ^= 0x10;
    walk(sl_slice_make(f.data.p, f.data.n), 100, DUMP_CHECK_RECORDS, NULL, 0,
         &r, &s);
    assert_int_equal(p.corrupt, 1);
    assert_int_equal(p.first_pos, (int64_t)pos);
    assert_non_null(strstr(p.first, "batch crc mismatch (stored 0x"));
    assert_int_equal(s.batches, 3);
    assert_int_equal(s.bad, 1);
    assert_int_equal(s.data_end, pos);
    fx_seg_fini(&f);
}

/* Every single-bit flip anywhere in a segment (data and zero tail) is
 * noticed: as corruption, or as a warning for the one field no rule covers
 * (partitionLeaderEpoch). */
static void
t_every_bit_flip(void **state)
{
    fx_seg f;
    size_t n;
    (void)state;

    three_batches(&f);
    uint8_t *data = with_tail(&f, 128, &n);
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            probs p;
            dump_report r = rep_for(&p);
            dump_seg s;
            data[i] ^= (uint8_t)(1u << bit);
            walk(sl_slice_make(data, n), 100, DUMP_CHECK_RECORDS, NULL, 0, &r,
                 &s);
            data[i] ^= (uint8_t)(1u << bit);
            size_t in_batch = i;
            for (size_t k = 0; k < f.nb; k++) {
                if (i >= f.b[k].pos)
                    in_batch = i - f.b[k].pos;
            }
            int epoch = i < f.data.n && in_batch >= 12 && in_batch < 16;
            if (epoch) {
                assert_int_equal(p.corrupt, 0);
                assert_int_equal(p.warning, 1);
            } else if (p.corrupt == 0) {
                fail_msg("flip of bit %d at byte %zu went unnoticed", bit, i);
            }
        }
    }
    free(data);
    fx_seg_fini(&f);
}

/* [seg-rule-4] recordCount != lastOffsetDelta + 1, CRC recomputed. */
static void
t_count_mismatch(void **state)
{
    fx_seg f;
    probs p;
    dump_report r = rep_for(&p);
    dump_seg s;
    (void)state;

    three_batches(&f);
    uint8_t *b = f.data.p + f.b[0].pos;
    sl_put_u32be(b + 57, 2);
    sl_put_u32be(b + 17, sl_crc32c(b + 21, f.b[0].len - 21));
    walk(sl_slice_make(f.data.p, f.data.n), 100, 0, NULL, 0, &r, &s);
    assert_int_equal(p.corrupt, 1);
    assert_int_equal(p.first_pos, 0);
    assert_non_null(strstr(p.first, "record count 2"));
    fx_seg_fini(&f);
}

/* [seg-rule-5] A gap inside a segment and a wrong first base offset. */
static void
t_offset_rules(void **state)
{
    fx_seg f;
    probs p;
    dump_report r = rep_for(&p);
    dump_seg s;
    (void)state;

    three_batches(&f);
    /* baseOffset is outside the CRC: segstore stamps it. */
    sl_batch_stamp_offset(f.data.p + f.b[1].pos, 110);
    sl_batch_stamp_offset(f.data.p + f.b[2].pos, 111);
    walk(sl_slice_make(f.data.p, f.data.n), 100, 0, NULL, 0, &r, &s);
    assert_int_equal(p.corrupt, 1);
    assert_int_equal(p.first_pos, (int64_t)f.b[1].pos);
    assert_non_null(strstr(p.first, "offset discontinuity"));
    assert_int_equal(s.next, 115);

    r = rep_for(&p);
    walk(sl_slice_make(f.data.p, f.data.n), 99, 0, NULL, 0, &r, &s);
    assert_int_equal(p.corrupt, 2);
    assert_int_equal(p.first_pos, 0);
    assert_non_null(strstr(p.first, "segment's base offset is 99"));
    fx_seg_fini(&f);
}

/* [seg-tail] Non-zero bytes in the preallocated space. */
static void
t_garbage_tail(void **state)
{
    fx_seg f;
    probs p;
    dump_report r = rep_for(&p);
    dump_seg s;
    size_t n;
    (void)state;

    three_batches(&f);
    uint8_t *data = with_tail(&f, 8192, &n);
    data[f.data.n + 5000] = 0x42;
    walk(sl_slice_make(data, n), 100, 0, NULL, 0, &r, &s);
    assert_int_equal(p.corrupt, 1);
    assert_int_equal(p.first_pos, (int64_t)(f.data.n + 5000));
    assert_int_equal(s.end_kind, DUMP_END_GARBAGE);
    assert_int_equal(s.garbage_pos, f.data.n + 5000);
    assert_int_equal(s.batches, 3);

    /* Garbage right at the end of the data is reported there. */
    r = rep_for(&p);
    data[f.data.n + 5000] = 0;
    memset(data + f.data.n, 0xab, 20);
    walk(sl_slice_make(data, n), 100, 0, NULL, 0, &r, &s);
    assert_int_equal(p.corrupt, 1);
    assert_int_equal(p.first_pos, (int64_t)f.data.n);
    free(data);
    fx_seg_fini(&f);
}

/* [seg-rule-1] A batch cut short by the end of the file. */
static void
t_truncated(void **state)
{
    fx_seg f;
    probs p;
    dump_report r = rep_for(&p);
    dump_seg s;
    (void)state;

    three_batches(&f);
    size_t cut = f.b[2].pos + f.b[2].len / 2;
    walk(sl_slice_make(f.data.p, cut), 100, 0, NULL, 0, &r, &s);
    assert_int_equal(p.corrupt, 1);
    assert_int_equal(p.first_pos, (int64_t)f.b[2].pos);
    assert_non_null(strstr(p.first, "truncated batch"));
    assert_int_equal(s.batches, 2);
    assert_int_equal(s.end, f.b[2].pos);

    /* Fewer bytes than a batch's length field (the tenth byte is in
     * baseOffset's non-zero low bytes; a prefix of zeros would read as
     * preallocated space). */
    r = rep_for(&p);
    walk(sl_slice_make(f.data.p, f.b[2].pos + 10), 100, 0, NULL, 0, &r, &s);
    assert_int_equal(p.corrupt, 1);
    assert_non_null(strstr(p.first, "truncated batch"));
    fx_seg_fini(&f);
}

/* Records that do not parse, under a correct CRC: only reported when the
 * records are checked. */
static void
t_bad_records(void **state)
{
    fx_seg f;
    probs p;
    dump_report r = rep_for(&p);
    dump_seg s;
    (void)state;

    three_batches(&f);
    uint8_t *b = f.data.p + f.b[0].pos;
    b[61] = 0x7f; /* first record's length varint: -64 */
    sl_put_u32be(b + 17, sl_crc32c(b + 21, f.b[0].len - 21));
    walk(sl_slice_make(f.data.p, f.data.n), 100, 0, NULL, 0, &r, &s);
    assert_int_equal(p.corrupt, 0);
    r = rep_for(&p);
    walk(sl_slice_make(f.data.p, f.data.n), 100, DUMP_CHECK_RECORDS, NULL, 0,
         &r, &s);
    assert_int_equal(p.corrupt, 1);
    assert_non_null(strstr(p.first, "record 0 of 3"));
    fx_seg_fini(&f);
}

/* ---- indexes ----------------------------------------------------------- */

static void
parse_both(const fx_seg *f, size_t covered, int sealed, size_t interval,
           sl_buf bufs[2], dump_index ix[2], const dump_report *r)
{
    for (int k = 0; k < 2; k++) {
        fx_index_build(f, k, covered, sealed, interval, &bufs[k]);
        dump_index_parse(&ix[k], sl_slice_make(bufs[k].p, bufs[k].n), k, 1,
                         f->base, r);
    }
}

/* [index-header] [index-entries] Indexes written per docs/format.md agree
 * with their segment, at several intervals and coverings. */
static void
t_index_sound(void **state)
{
    static const size_t intervals[] = {1, 100, 250, 1000000};
    fx_seg f;
    (void)state;

    fx_seg_init(&f, 5000);
    for (int i = 0; i < 12; i++)
        fx_seg_add(&f, 1 + i % 4, 1000 + (i % 5) * 100);
    for (size_t iv = 0; iv < SL_ARRAY_LEN(intervals); iv++) {
        for (size_t cb = 0; cb <= f.nb; cb++) {
            size_t covered = cb == 0 ? 0 : f.b[cb - 1].pos + f.b[cb - 1].len;
            int sealed = cb == f.nb;
            probs p;
            dump_report r = rep_for(&p);
            sl_buf bufs[2];
            dump_index ix[2];
            dump_seg s;
            parse_both(&f, covered, sealed, intervals[iv], bufs, ix, &r);
            assert_true(ix[0].checkable && ix[1].checkable);
            walk(sl_slice_make(f.data.p, f.data.n), f.base, DUMP_CHECK_RECORDS,
                 ix, 2, &r, &s);
            if (p.corrupt != 0)
                fail_msg("interval %zu covered %zu: %s", intervals[iv], covered,
                         p.first);
            sl_buf_fini(&bufs[0]);
            sl_buf_fini(&bufs[1]);
        }
    }
    fx_seg_fini(&f);
}

/* [index-header] Digests, magic, version, size, base. */
static void
t_index_header(void **state)
{
    fx_seg f;
    sl_buf b;
    dump_index ix;
    probs p;
    dump_report r;
    (void)state;

    three_batches(&f);
    fx_index_build(&f, 0, f.data.n, 1, 1, &b);

    r = rep_for(&p);
    b.p[64 + 4] ^= 1; /* an entry byte */
    dump_index_parse(&ix, sl_slice_make(b.p, b.n), 0, 1, 100, &r);
    assert_int_equal(p.corrupt, 1);
    assert_int_equal(p.first_pos, 48);
    assert_non_null(strstr(p.first, "entries digest mismatch"));
    assert_false(ix.checkable);
    b.p[64 + 4] ^= 1;

    r = rep_for(&p);
    b.p[20] ^= 1; /* covered bytes */
    dump_index_parse(&ix, sl_slice_make(b.p, b.n), 0, 1, 100, &r);
    assert_int_equal(p.first_pos, 56);
    assert_non_null(strstr(p.first, "header digest mismatch"));
    b.p[20] ^= 1;

    r = rep_for(&p);
    dump_index_parse(&ix, sl_slice_make(b.p, b.n), 1, 1, 100, &r);
    assert_int_equal(p.corrupt, 1);
    assert_int_equal(p.first_pos, 0); /* SLIX where SLTX belongs */

    r = rep_for(&p);
    dump_index_parse(&ix, sl_slice_make(b.p, b.n), 0, 1, 101, &r);
    assert_int_equal(p.corrupt, 1);
    assert_int_equal(p.first_pos, 8);

    r = rep_for(&p);
    dump_index_parse(&ix, sl_slice_make(b.p, 63), 0, 1, 100, &r);
    assert_int_equal(p.corrupt, 1);
    assert_false(ix.has_header);

    r = rep_for(&p);
    dump_index_parse(&ix, sl_slice_make(b.p, b.n - 1), 0, 1, 100, &r);
    assert_int_equal(p.corrupt, 1);
    assert_int_equal(p.first_pos, 40);
    assert_false(ix.ok_entries);

    sl_put_u16be(b.p + 4, 2);
    fx_index_redigest(b.p, b.n);
    r = rep_for(&p);
    dump_index_parse(&ix, sl_slice_make(b.p, b.n), 0, 1, 100, &r);
    assert_int_equal(p.first_pos, 4);
    sl_buf_fini(&b);
    fx_seg_fini(&f);
}

/* Edit an index with valid digests and expect the cross-check to object
 * at field/entry position `want_pos`. */
static void
expect_index_problem(const fx_seg *f, int kind, size_t covered, int sealed,
                     void (*edit)(uint8_t *p, size_t n), int64_t want_pos,
                     const char *want_text)
{
    sl_buf b;
    dump_index ix;
    probs p;
    dump_report r = rep_for(&p);
    dump_seg s;

    fx_index_build(f, kind, covered, sealed, 1, &b);
    edit(b.p, b.n);
    fx_index_redigest(b.p, b.n);
    dump_index_parse(&ix, sl_slice_make(b.p, b.n), kind, 1, f->base, &r);
    walk(sl_slice_make(f->data.p, f->data.n), f->base, 0, &ix, 1, &r, &s);
    if (p.corrupt == 0)
        fail_msg("no problem reported, wanted \"%s\"", want_text);
    assert_int_equal(p.first_pos, want_pos);
    if (strstr(p.first, want_text) == NULL)
        fail_msg("got \"%s\", wanted \"%s\"", p.first, want_text);
    sl_buf_fini(&b);
}

static void
edit_entry1_pos(uint8_t *p, size_t n)
{
    (void)n;
    sl_put_u32be(p + 64 + 8 + 4, sl_get_u32be(p + 64 + 8 + 4) + 1);
}

static void
edit_entry1_rel(uint8_t *p, size_t n)
{
    (void)n;
    sl_put_u32be(p + 64 + 8, sl_get_u32be(p + 64 + 8) - 1);
}

static void
edit_next(uint8_t *p, size_t n)
{
    (void)n;
    sl_put_u64be(p + 24, sl_get_u64be(p + 24) + 1);
}

static void
edit_max_ts(uint8_t *p, size_t n)
{
    (void)n;
    sl_put_u64be(p + 32, 12345);
}

static void
edit_covered_minus_one(uint8_t *p, size_t n)
{
    (void)n;
    sl_put_u64be(p + 16, sl_get_u64be(p + 16) - 1);
}

static void
edit_time1_ts_up(uint8_t *p, size_t n)
{
    (void)n;
    /* Above the running max timestamp at the batch the entry names. */
    sl_put_u64be(p + 64 + 12, sl_get_u64be(p + 64 + 12) + 1);
}

static void
edit_time1_rel_mid(uint8_t *p, size_t n)
{
    (void)n;
    sl_put_u32be(p + 64 + 12 + 8, 1); /* inside the first batch */
}

static void
edit_swap_entries(uint8_t *p, size_t n)
{
    uint8_t tmp[8];
    (void)n;
    memcpy(tmp, p + 64, 8);
    memcpy(p + 64, p + 72, 8);
    memcpy(p + 72, tmp, 8);
}

/* [index-entries] [index-header] Cross-check failures. */
static void
t_index_cross(void **state)
{
    fx_seg f;
    size_t all;
    (void)state;

    three_batches(&f);
    all = f.data.n;
    expect_index_problem(&f, 0, all, 1, edit_entry1_pos, 64 + 8,
                         "is not the start of a batch");
    expect_index_problem(&f, 0, all, 1, edit_entry1_rel, 64 + 8,
                         "relative offset 2 but the batch");
    expect_index_problem(&f, 0, all, 1, edit_next, 24, "next offset 109");
    expect_index_problem(&f, 1, all, 1, edit_max_ts, 32, "max timestamp");
    expect_index_problem(&f, 0, all, 1, edit_covered_minus_one, 16,
                         "batch boundary");
    expect_index_problem(&f, 0, all, 1, edit_swap_entries, 64 + 8,
                         "does not increase");
    expect_index_problem(&f, 1, all, 1, edit_time1_ts_up, 64 + 12,
                         "greatest max timestamp up to the batch");
    /* Moving a time entry to a later batch whose running maximum is the
     * same keeps it true (docs/format.md), so edit_time1_rel is not a
     * problem in itself. */
    expect_index_problem(&f, 1, all, 1, edit_time1_rel_mid, 64 + 12,
                         "not the first offset of a batch");
    /* Sealed, but covering only the first two batches. */
    expect_index_problem(&f, 0, f.b[2].pos, 1, edit_next, 24, "next offset");
    fx_seg_fini(&f);
}

static void
no_edit(uint8_t *p, size_t n)
{
    (void)p;
    (void)n;
}

static void
t_index_sealed_short(void **state)
{
    fx_seg f;
    (void)state;

    three_batches(&f);
    expect_index_problem(&f, 0, f.b[2].pos, 1, no_edit, 6, "marked sealed");
    fx_seg_fini(&f);
}

/* [index-time] The time entry's timestamp is the running maximum up to its
 * batch, which can come from a batch that got no index entry: batches with
 * max timestamps 10, 50, 20 where only the first and the third get offset
 * entries yield time entries (10, 0) and (50, 2). */
static void
t_index_running_max(void **state)
{
    fx_seg f;
    sl_buf b;
    dump_index ix;
    probs p;
    dump_report r;
    dump_seg s;
    (void)state;

    fx_seg_init(&f, 0);
    fx_seg_add(&f, 1, 10);
    fx_seg_add(&f, 1, 50);
    fx_seg_add(&f, 1, 20);
    size_t interval = f.b[2].pos;
    fx_index_build(&f, 1, f.data.n, 1, interval, &b);
    assert_int_equal(sl_get_u32be(b.p + 40), 2);
    assert_int_equal(sl_get_u64be(b.p + 64 + 12), 50);
    assert_int_equal(sl_get_u32be(b.p + 64 + 12 + 8), 2);

    r = rep_for(&p);
    dump_index_parse(&ix, sl_slice_make(b.p, b.n), 1, 1, 0, &r);
    walk(sl_slice_make(f.data.p, f.data.n), 0, 0, &ix, 1, &r, &s);
    assert_int_equal(p.corrupt, 0);

    /* The batch's own max timestamp is not the running maximum. */
    sl_put_u64be(b.p + 64 + 12, 20);
    fx_index_redigest(b.p, b.n);
    r = rep_for(&p);
    dump_index_parse(&ix, sl_slice_make(b.p, b.n), 1, 1, 0, &r);
    walk(sl_slice_make(f.data.p, f.data.n), 0, 0, &ix, 1, &r, &s);
    assert_int_equal(p.corrupt, 1);
    assert_int_equal(p.first_pos, 64 + 12);
    assert_non_null(strstr(p.first, "greatest max timestamp up to the batch"));
    sl_buf_fini(&b);
    fx_seg_fini(&f);
}

/* ---- robustness -------------------------------------------------------- */

static uint64_t
rng(uint64_t *s)
{
    /* xorshift64*: deterministic, good enough to spray bytes. */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* Arbitrary bytes as segments and indexes: never crash, never read out of
 * bounds (run under ASan), always end the walk. */
static void
t_random_bytes(void **state)
{
    uint64_t seed = 0x5eed5eed5eedull;
    fx_seg f;
    sl_buf ixb;
    (void)state;

    three_batches(&f);
    fx_index_build(&f, 0, f.data.n, 1, 1, &ixb);
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = rng(&seed) % 700;
        uint8_t *buf = malloc(n ? n : 1);
        int mode = iter % 4;
        assert_non_null(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)rng(&seed);
        /* Mostly-valid inputs reach deeper than pure noise: start from a
         * real segment or index and mutate a few bytes. */
        const sl_buf *src = mode == 1 ? &f.data : mode == 2 ? &ixb : NULL;
        if (src != NULL) {
            size_t k = SL_MIN(n, src->n);
            memcpy(buf, src->p, k);
            for (int m = 0; m < 4 && n > 0; m++)
                buf[rng(&seed) % n] = (uint8_t)rng(&seed);
        }
        probs p;
        dump_report r = rep_for(&p);
        dump_index ix[2];
        dump_seg s;
        dump_index_parse(&ix[0], sl_slice_make(buf, n), 0, 1, 100, &r);
        dump_index_parse(&ix[1], sl_slice_make(buf, n), 1, 0, 0, &r);
        walk(sl_slice_make(buf, n), 100, DUMP_CHECK_RECORDS, ix, 2, &r, &s);
        assert_true(s.end <= n);
        assert_true(s.end_kind != DUMP_END_NONE);
        int64_t parts;
        dump_meta_check(sl_slice_make(buf, n), "t", &parts, &r);
        dump_id_check(sl_slice_make(buf, n), &r);
        free(buf);
    }
    sl_buf_fini(&ixb);
    fx_seg_fini(&f);
}

/* ---- tier manifests (docs/format.md, Tier) ---------------------------- */

/* A manifest of n entries [r[2i], r[2i+1]) with one-byte keys, written by
 * hand from the format page; returns its length. */
static size_t
manifest_bytes(uint8_t *out, const int64_t *r, int n, size_t extra)
{
    size_t off = 24;
    memset(out, 0, 24);
    memcpy(out, "SLTM", 4);
    sl_put_u16be(out + 4, 1);
    sl_put_u64be(out + 8, 5);
    sl_put_u32be(out + 16, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        memset(out + off, 0, 56);
        sl_put_u64be(out + off, (uint64_t)r[2 * i]);
        sl_put_u64be(out + off + 8, (uint64_t)r[2 * i + 1]);
        off += 56;
        for (int k = 0; k < 3; k++) {
            sl_put_u16be(out + off, 1);
            out[off + 2] = (uint8_t)('a' + k);
            off += 3;
        }
    }
    memset(out + off, 0, extra);
    off += extra;
    sl_put_u64be(out + off, sl_xxh3(out, off));
    return off + 8;
}

static int
manifest_walk(const uint8_t *p, size_t n, probs *pr, int *ents)
{
    dump_report r = rep_for(pr);
    dump_manifest m;
    dump_manifest_ent e;
    *ents = 0;
    if (dump_manifest_init(&m, sl_slice_make(p, n), &r) != 0)
        return -1;
    while (dump_manifest_next(&m, &e, &r) == 1)
        (*ents)++;
    assert_int_equal(m.corrupt, (uint64_t)pr->corrupt);
    return 0;
}

static void
t_manifest(void **state)
{
    uint8_t buf[512];
    probs p;
    int ents;
    size_t n;
    (void)state;

    const int64_t sound[] = {0, 5, 5, 9};
    n = manifest_bytes(buf, sound, 2, 0);
    assert_int_equal(manifest_walk(buf, n, &p, &ents), 0);
    assert_int_equal(p.corrupt, 0);
    assert_int_equal(ents, 2);

    /* Regression: a negative next must not switch off the contiguity check
     * of the following entry (segstore's decoder rejects this file). */
    const int64_t gap[] = {-10, -5, 0, 5};
    n = manifest_bytes(buf, gap, 2, 0);
    assert_int_equal(manifest_walk(buf, n, &p, &ents), 0);
    assert_int_equal(p.corrupt, 1);
    assert_non_null(strstr(p.first, "not contiguous"));

    const int64_t empty[] = {3, 3};
    n = manifest_bytes(buf, empty, 1, 0);
    assert_int_equal(manifest_walk(buf, n, &p, &ents), 0);
    assert_int_equal(p.corrupt, 1);

    n = manifest_bytes(buf, sound, 2, 4);
    assert_int_equal(manifest_walk(buf, n, &p, &ents), 0);
    assert_int_equal(p.corrupt, 1);
    assert_non_null(strstr(p.first, "bytes after the last entry"));

    n = manifest_bytes(buf, sound, 2, 0);
    buf[30] ^= 1;
    assert_int_equal(manifest_walk(buf, n, &p, &ents), -1);
    assert_non_null(strstr(p.first, "digest mismatch"));
    assert_int_equal(manifest_walk(buf, 31, &p, &ents), -1);
}

/* ---- topic.meta, segstore.id ------------------------------------------- */

static void
t_meta(void **state)
{
    const char *body = "# sluice topic metadata\nversion=1\nname=orders\n"
                       "partitions=3\ncreated.ms=1795000000000\n"
                       "config.retention.ms=86400000\n";
    char file[512];
    probs p;
    dump_report r;
    int64_t parts;
    (void)state;

    snprintf(file, sizeof(file), "%sxxh3=%016llx\n", body,
             (unsigned long long)sl_xxh3(body, strlen(body)));
    r = rep_for(&p);
    dump_meta_check(sl_slice_str(file), "orders", &parts, &r);
    assert_int_equal(p.corrupt, 0);
    assert_int_equal(parts, 3);

    r = rep_for(&p);
    dump_meta_check(sl_slice_str(file), "other", &parts, &r);
    assert_int_equal(p.corrupt, 1);

    r = rep_for(&p);
    file[30] ^= 1;
    dump_meta_check(sl_slice_str(file), "orders", &parts, &r);
    assert_int_equal(p.corrupt, 1);
    assert_non_null(strstr(p.first, "digest mismatch"));

    r = rep_for(&p);
    dump_id_check(sl_slice_str("0123456789abcdef0123456789abcdef\n"), &r);
    assert_int_equal(p.corrupt, 0);
    dump_id_check(sl_slice_str("0123456789ABCDEF0123456789abcdef\n"), &r);
    assert_int_equal(p.corrupt, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_name_parse),
        cmocka_unit_test(t_sound_segment),
        cmocka_unit_test(t_empty_segment),
        cmocka_unit_test(t_crc_flip),
        cmocka_unit_test(t_every_bit_flip),
        cmocka_unit_test(t_count_mismatch),
        cmocka_unit_test(t_offset_rules),
        cmocka_unit_test(t_garbage_tail),
        cmocka_unit_test(t_truncated),
        cmocka_unit_test(t_bad_records),
        cmocka_unit_test(t_index_sound),
        cmocka_unit_test(t_index_header),
        cmocka_unit_test(t_index_cross),
        cmocka_unit_test(t_index_sealed_short),
        cmocka_unit_test(t_index_running_max),
        cmocka_unit_test(t_random_bytes),
        cmocka_unit_test(t_meta),
        cmocka_unit_test(t_manifest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
