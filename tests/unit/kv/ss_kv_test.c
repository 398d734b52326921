/*
 * ss_kv_test.c — unit tests of segstore/kv from its contract (ss_kv.h):
 * put/get/delete, conditions (CAS) and their all-or-nothing failure,
 * multi-key atomicity, CHECK-only writes, revisions across reopen, prefix
 * scans with `after`, replay after a clean close and after a torn tail,
 * compaction (the log shrinks, the map and revisions survive, deletes stay
 * deleted) and the value size limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "ss_kv.h"

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[512];

static int
rm_cb(const char *p, const struct stat *sb, int f, struct FTW *w)
{
    (void)sb;
    (void)f;
    (void)w;
    return remove(p);
}

static int
setup(void **state)
{
    (void)state;
    const char *base = getenv("SL_TEST_TMP");
    if (base == NULL)
        base = "/tmp";
    mkdir(base, 0755);
    snprintf(tmpdir, sizeof(tmpdir), "%s/kvtest.XXXXXX", base);
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static ss_kv_opts
opts_default(void)
{
    ss_kv_opts o = {
        .value_max = 1 << 20,
        .segment_bytes = 1 << 20,
        .compact_min = 1 << 20,
    };
    return o;
}

static ss_kv *
kv_open(const ss_kv_opts *o)
{
    ss_kv *kv = NULL;
    char err[256] = "";
    int rc = ss_kv_open(tmpdir, o, &kv, err, sizeof(err));
    if (rc != 0)
        fail_msg("ss_kv_open: %s (%s)", sl_strerror(rc), err);
    assert_non_null(kv);
    return kv;
}

static ipc_kv_op
op_put(const char *k, const char *v, int64_t expect)
{
    ipc_kv_op op = {.kind = IPC_KV_PUT,
                    .key = sl_slice_str(k),
                    .expect = expect,
                    .value = sl_slice_str(v)};
    return op;
}

static ipc_kv_op
op_del(const char *k, int64_t expect)
{
    ipc_kv_op op = {
        .kind = IPC_KV_DELETE, .key = sl_slice_str(k), .expect = expect};
    return op;
}

static ipc_kv_op
op_check(const char *k, int64_t expect)
{
    ipc_kv_op op = {
        .kind = IPC_KV_CHECK, .key = sl_slice_str(k), .expect = expect};
    return op;
}

/* One write; returns its rc and the revision in *rev (may be NULL). */
static int
kv_do(ss_kv *kv, const ipc_kv_op *ops, size_t n, int64_t *rev, size_t *failed)
{
    int64_t r = -7, end = -7;
    size_t f = 999;
    int rc = ss_kv_write(kv, ops, n, 1000, &r, &end, &f);
    if (rev)
        *rev = r;
    if (failed)
        *failed = f;
    if (rc == 0)
        assert_true(end <= ss_log_end(ss_kv_log(kv)));
    return rc;
}

static int64_t
put(ss_kv *kv, const char *k, const char *v)
{
    ipc_kv_op op = op_put(k, v, IPC_KV_ANY);
    int64_t rev;
    assert_int_equal(kv_do(kv, &op, 1, &rev, NULL), 0);
    return rev;
}

static int64_t
del(ss_kv *kv, const char *k)
{
    ipc_kv_op op = op_del(k, IPC_KV_ANY);
    int64_t rev;
    assert_int_equal(kv_do(kv, &op, 1, &rev, NULL), 0);
    return rev;
}

/* Expect key to hold value (NULL: absent); returns its version. */
static int64_t
expect_val(ss_kv *kv, const char *k, const char *v)
{
    int64_t version = -1;
    sl_slice got;
    int rc = ss_kv_get(kv, sl_slice_str(k), &version, &got);
    if (v == NULL) {
        assert_int_equal(rc, SL_E_NOKEY);
        assert_int_equal(version, 0);
        return 0;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(got.n, strlen(v));
    assert_memory_equal(got.p, v, got.n);
    assert_true(version > 0);
    return version;
}

/* ---- a text dump of the whole map, to compare states ------------------ */

static int
dump_cb(void *arg, sl_slice key, int64_t version, sl_slice value)
{
    sl_buf *b = arg;
    char tmp[64];
    sl_buf_append(b, key.p, key.n);
    int n = snprintf(tmp, sizeof(tmp), "|%" PRId64 "|", version);
    sl_buf_append(b, tmp, (size_t)n);
    sl_buf_append(b, value.p, value.n);
    sl_buf_append(b, "\n", 1);
    return 0;
}

static void
dump_map(ss_kv *kv, sl_buf *out)
{
    sl_buf_reset(out);
    assert_int_equal(ss_kv_scan(kv, sl_slice_make(NULL, 0),
                                sl_slice_make(NULL, 0), dump_cb, out),
                     0);
}

static void
assert_same_dump(const sl_buf *a, const sl_buf *b)
{
    if (a->n != b->n || (a->n && memcmp(a->p, b->p, a->n) != 0))
        fail_msg("maps differ:\n--- before (%zu bytes)\n%.*s--- after (%zu "
                 "bytes)\n%.*s",
                 a->n, (int)SL_MIN(a->n, (size_t)2000), (const char *)a->p,
                 b->n, (int)SL_MIN(b->n, (size_t)2000), (const char *)b->p);
}

/* ---- basic operations -------------------------------------------------- */

static void
test_put_get_delete(void **state)
{
    (void)state;
    ss_kv_opts o = opts_default();
    ss_kv *kv = kv_open(&o);
    assert_int_equal(ss_kv_revision(kv), 0);
    assert_int_equal(ss_kv_count(kv), 0);
    expect_val(kv, "a", NULL);

    int64_t r1 = put(kv, "a", "one");
    assert_true(r1 > 0);
    assert_int_equal(ss_kv_revision(kv), r1);
    assert_int_equal(expect_val(kv, "a", "one"), r1);
    assert_int_equal(ss_kv_count(kv), 1);

    int64_t r2 = put(kv, "a", "two");
    assert_true(r2 > r1);
    assert_int_equal(expect_val(kv, "a", "two"), r2);
    assert_int_equal(ss_kv_count(kv), 1);

    /* An empty value is a value, not a delete. */
    int64_t r3 = put(kv, "e", "");
    assert_true(r3 > r2);
    assert_int_equal(expect_val(kv, "e", ""), r3);
    assert_int_equal(ss_kv_count(kv), 2);

    int64_t r4 = del(kv, "a");
    assert_true(r4 > r3);
    expect_val(kv, "a", NULL);
    assert_int_equal(ss_kv_count(kv), 1);
    assert_int_equal(ss_kv_revision(kv), r4);

    /* Deleting an absent key is not an error, and still a write. */
    int64_t r5 = del(kv, "never");
    assert_true(r5 > r4);

    /* Keys are bytes: an embedded NUL and a high byte are distinct keys. */
    ipc_kv_op op = {.kind = IPC_KV_PUT,
                    .key = sl_slice_make((const uint8_t *)"a\0b", 3),
                    .expect = IPC_KV_ANY,
                    .value = sl_slice_str("nul")};
    assert_int_equal(kv_do(kv, &op, 1, NULL, NULL), 0);
    int64_t v;
    sl_slice got;
    assert_int_equal(
        ss_kv_get(kv, sl_slice_make((const uint8_t *)"a\0b", 3), &v, &got), 0);
    assert_int_equal(got.n, 3);
    expect_val(kv, "a", NULL);
    assert_int_equal(
        ss_kv_get(kv, sl_slice_make((const uint8_t *)"a\0", 2), &v, &got),
        SL_E_NOKEY);

    /* The live size follows the map. */
    int64_t live = ss_kv_live_bytes(kv);
    assert_true(live > 0);
    del(kv, "e");
    assert_true(ss_kv_live_bytes(kv) < live);
    assert_int_equal(ss_kv_close(kv), 0);
}

static void
test_empty_key_and_toobig(void **state)
{
    (void)state;
    ss_kv_opts o = opts_default();
    o.value_max = 100;
    ss_kv *kv = kv_open(&o);
    put(kv, "x", "1");
    int64_t rev0 = ss_kv_revision(kv);
    int64_t end0 = ss_log_end(ss_kv_log(kv));

    char big[102];
    memset(big, 'v', sizeof(big) - 1);
    big[101] = 0;
    ipc_kv_op ops[2] = {op_put("ok", "fine", IPC_KV_ANY),
                        op_put("big", big, IPC_KV_ANY)};
    size_t failed;
    assert_int_equal(kv_do(kv, ops, 2, NULL, &failed), SL_E_TOOBIG);
    assert_int_equal(failed, 1);
    expect_val(kv, "ok", NULL); /* nothing of the write applied */
    expect_val(kv, "big", NULL);
    assert_int_equal(ss_kv_revision(kv), rev0);
    assert_int_equal(ss_log_end(ss_kv_log(kv)), end0);

    big[100] = 0; /* exactly value_max is fine */
    ops[1] = op_put("big", big, IPC_KV_ANY);
    assert_int_equal(kv_do(kv, ops, 2, NULL, NULL), 0);
    expect_val(kv, "big", big);

    ipc_kv_op empty = op_put("", "v", IPC_KV_ANY);
    assert_int_equal(kv_do(kv, &empty, 1, NULL, NULL), SL_E_INVAL);
    empty = op_del("", IPC_KV_ANY);
    assert_int_equal(kv_do(kv, &empty, 1, NULL, NULL), SL_E_INVAL);
    assert_int_equal(ss_kv_close(kv), 0);
}

/* ---- conditions ----------------------------------------------------------
 */

static void
test_cas(void **state)
{
    (void)state;
    ss_kv_opts o = opts_default();
    ss_kv *kv = kv_open(&o);
    int64_t rev;
    size_t failed;

    /* expect 0: must be absent. */
    ipc_kv_op op = op_put("k", "v1", 0);
    assert_int_equal(kv_do(kv, &op, 1, &rev, NULL), 0);
    int64_t v1 = expect_val(kv, "k", "v1");
    assert_int_equal(v1, rev);
    op = op_put("k", "again", 0);
    int64_t rev_before = ss_kv_revision(kv);
    int64_t end_before = ss_log_end(ss_kv_log(kv));
    int64_t bytes_before = ss_log_bytes(ss_kv_log(kv));
    assert_int_equal(kv_do(kv, &op, 1, NULL, &failed), SL_E_CONFLICT);
    assert_int_equal(failed, 0);
    expect_val(kv, "k", "v1");

    /* exact version. */
    op = op_put("k", "v2", v1);
    assert_int_equal(kv_do(kv, &op, 1, &rev, NULL), 0);
    int64_t v2 = expect_val(kv, "k", "v2");
    assert_true(v2 > v1);

    /* a stale version: conflict, nothing written anywhere. */
    rev_before = ss_kv_revision(kv);
    end_before = ss_log_end(ss_kv_log(kv));
    bytes_before = ss_log_bytes(ss_kv_log(kv));
    op = op_put("k", "v3", v1);
    assert_int_equal(kv_do(kv, &op, 1, NULL, &failed), SL_E_CONFLICT);
    op = op_put("k", "v3", v2 + 100);
    assert_int_equal(kv_do(kv, &op, 1, NULL, &failed), SL_E_CONFLICT);
    /* expect > 0 on an absent key. */
    op = op_put("absent", "x", 1);
    assert_int_equal(kv_do(kv, &op, 1, NULL, &failed), SL_E_CONFLICT);
    /* conditional delete with a wrong version. */
    op = op_del("k", v1);
    assert_int_equal(kv_do(kv, &op, 1, NULL, &failed), SL_E_CONFLICT);
    expect_val(kv, "k", "v2");
    expect_val(kv, "absent", NULL);
    assert_int_equal(ss_kv_revision(kv), rev_before);
    assert_int_equal(ss_log_end(ss_kv_log(kv)), end_before);
    assert_int_equal(ss_log_bytes(ss_kv_log(kv)), bytes_before);

    /* conditional delete with the right version; then expect 0 holds. */
    op = op_del("k", v2);
    assert_int_equal(kv_do(kv, &op, 1, NULL, NULL), 0);
    expect_val(kv, "k", NULL);
    op = op_put("k", "reborn", 0);
    assert_int_equal(kv_do(kv, &op, 1, NULL, NULL), 0);
    assert_true(expect_val(kv, "k", "reborn") > v2);
    assert_int_equal(ss_kv_close(kv), 0);
}

static void
test_multi_key_atomic(void **state)
{
    (void)state;
    ss_kv_opts o = opts_default();
    ss_kv *kv = kv_open(&o);
    int64_t va = put(kv, "a", "a0");
    put(kv, "gone", "x");

    ipc_kv_op ops[4] = {op_put("a", "a1", va), op_put("b", "b1", 0),
                        op_put("c", "c1", IPC_KV_ANY),
                        op_del("gone", IPC_KV_ANY)};
    int64_t rev;
    assert_int_equal(kv_do(kv, ops, 4, &rev, NULL), 0);
    /* One revision for the whole write; every key written carries it. */
    assert_int_equal(expect_val(kv, "a", "a1"), rev);
    assert_int_equal(expect_val(kv, "b", "b1"), rev);
    assert_int_equal(expect_val(kv, "c", "c1"), rev);
    expect_val(kv, "gone", NULL);
    assert_int_equal(ss_kv_revision(kv), rev);

    /* The last op's condition fails: none of the earlier ones apply. */
    int64_t end0 = ss_log_end(ss_kv_log(kv));
    ipc_kv_op bad[4] = {op_put("a", "a2", rev), op_put("d", "d2", 0),
                        op_del("c", IPC_KV_ANY), op_put("b", "b2", 0)};
    size_t failed;
    assert_int_equal(kv_do(kv, bad, 4, NULL, &failed), SL_E_CONFLICT);
    assert_int_equal(failed, 3);
    expect_val(kv, "a", "a1");
    expect_val(kv, "d", NULL);
    expect_val(kv, "c", "c1");
    assert_int_equal(ss_log_end(ss_kv_log(kv)), end0);
    assert_int_equal(ss_kv_revision(kv), rev);

    /* The same key twice in one write: applied in order, as replay does. */
    ipc_kv_op twice[2] = {op_put("t", "first", IPC_KV_ANY),
                          op_put("t", "second", IPC_KV_ANY)};
    assert_int_equal(kv_do(kv, twice, 2, NULL, NULL), 0);
    expect_val(kv, "t", "second");
    ipc_kv_op putdel[2] = {op_put("u", "x", IPC_KV_ANY),
                           op_del("u", IPC_KV_ANY)};
    assert_int_equal(kv_do(kv, putdel, 2, NULL, NULL), 0);
    expect_val(kv, "u", NULL);

    sl_buf before, after;
    sl_buf_init(&before);
    sl_buf_init(&after);
    dump_map(kv, &before);
    assert_int_equal(ss_kv_close(kv), 0);
    kv = kv_open(&o);
    dump_map(kv, &after);
    assert_same_dump(&before, &after);
    sl_buf_fini(&before);
    sl_buf_fini(&after);
    assert_int_equal(ss_kv_close(kv), 0);
}

static void
test_check_ops(void **state)
{
    (void)state;
    ss_kv_opts o = opts_default();
    ss_kv *kv = kv_open(&o);
    int64_t va = put(kv, "a", "1");
    int64_t rev0 = ss_kv_revision(kv);
    int64_t end0 = ss_log_end(ss_kv_log(kv));
    int64_t rev;

    /* Only CHECKs: nothing written, the current revision returned. */
    ipc_kv_op chk[2] = {op_check("a", va), op_check("nope", 0)};
    assert_int_equal(kv_do(kv, chk, 2, &rev, NULL), 0);
    assert_int_equal(rev, rev0);
    assert_int_equal(ss_log_end(ss_kv_log(kv)), end0);
    assert_int_equal(ss_kv_revision(kv), rev0);

    /* A failing CHECK. */
    size_t failed;
    chk[1] = op_check("a", 0);
    assert_int_equal(kv_do(kv, chk, 2, NULL, &failed), SL_E_CONFLICT);
    assert_int_equal(failed, 1);

    /* A CHECK guarding a PUT of another key: fails → no put. */
    ipc_kv_op guarded[2] = {op_check("a", va + 1), op_put("b", "x", 0)};
    assert_int_equal(kv_do(kv, guarded, 2, NULL, &failed), SL_E_CONFLICT);
    assert_int_equal(failed, 0);
    expect_val(kv, "b", NULL);
    /* … passes → the put applies, the checked key is untouched. */
    guarded[0] = op_check("a", va);
    assert_int_equal(kv_do(kv, guarded, 2, &rev, NULL), 0);
    assert_true(rev > rev0);
    assert_int_equal(expect_val(kv, "b", "x"), rev);
    assert_int_equal(expect_val(kv, "a", "1"), va);
    /* An unconditional CHECK is a no-op that succeeds. */
    ipc_kv_op any = op_check("zzz", IPC_KV_ANY);
    assert_int_equal(kv_do(kv, &any, 1, &rev, NULL), 0);
    assert_int_equal(rev, ss_kv_revision(kv));
    assert_int_equal(ss_kv_close(kv), 0);
}

/* ---- revisions --------------------------------------------------------- */

static void
test_revisions_across_reopen(void **state)
{
    (void)state;
    ss_kv_opts o = opts_default();
    ss_kv *kv = kv_open(&o);
    int64_t last = 0;
    for (int i = 0; i < 50; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i % 7);
        int64_t r = (i % 5 == 4) ? del(kv, k) : put(kv, k, "v");
        assert_true(r > last);
        last = r;
    }
    int64_t rev = ss_kv_revision(kv);
    assert_int_equal(rev, last);
    assert_int_equal(ss_kv_close(kv), 0);

    for (int round = 0; round < 3; round++) {
        kv = kv_open(&o);
        assert_int_equal(ss_kv_revision(kv), last);
        int64_t r = put(kv, "after", "reopen");
        assert_true(r > last);
        last = r;
        /* The last write of the round is a delete, whose revision no
         * live key carries. */
        r = del(kv, "after");
        assert_true(r > last);
        last = r;
        assert_int_equal(ss_kv_close(kv), 0);
    }
}

/* ---- scans ------------------------------------------------------------- */

typedef struct scan_out {
    char keys[32][16];
    size_t klen[32];
    int n;
    int stop_at; /* return 42 when n reaches it (0: never) */
} scan_out;

static int
scan_cb(void *arg, sl_slice key, int64_t version, sl_slice value)
{
    scan_out *s = arg;
    (void)value;
    assert_true(version > 0);
    assert_true(s->n < 32 && key.n <= 16);
    memcpy(s->keys[s->n], key.p, key.n);
    s->klen[s->n] = key.n;
    s->n++;
    if (s->stop_at && s->n == s->stop_at)
        return 42;
    return 0;
}

static void
scan_expect(ss_kv *kv, sl_slice prefix, sl_slice after, const char *const *want,
            size_t nwant)
{
    scan_out s = {0};
    assert_int_equal(ss_kv_scan(kv, prefix, after, scan_cb, &s), 0);
    if ((size_t)s.n != nwant) {
        for (int i = 0; i < s.n; i++)
            fprintf(stderr, "  got[%d] = '%.*s'\n", i, (int)s.klen[i],
                    s.keys[i]);
        fail_msg("scan prefix '%.*s' after '%.*s': %d keys, want %zu",
                 (int)prefix.n, (const char *)prefix.p, (int)after.n,
                 (const char *)after.p, s.n, nwant);
    }
    for (size_t i = 0; i < nwant; i++) {
        size_t wl = strlen(want[i]);
        /* "\x01" in want stands for a NUL byte at the end of the key. */
        if (wl > 0 && want[i][wl - 1] == '\x01') {
            assert_int_equal(s.klen[i], wl);
            assert_memory_equal(s.keys[i], want[i], wl - 1);
            assert_int_equal(s.keys[i][wl - 1], 0);
        } else {
            assert_int_equal(s.klen[i], wl);
            assert_memory_equal(s.keys[i], want[i], wl);
        }
    }
}

static sl_slice
S(const char *s)
{
    return sl_slice_str(s);
}

static void
test_scan(void **state)
{
    (void)state;
    ss_kv_opts o = opts_default();
    ss_kv *kv = kv_open(&o);
    /* Inserted out of order. */
    const char *keys[] = {"b", "ac",   "abc", "a",  "ab",
                          "B", "\x7f", "aa",  "a~", "ba"};
    for (size_t i = 0; i < SL_ARRAY_LEN(keys); i++)
        put(kv, keys[i], "v");
    ipc_kv_op nul = {.kind = IPC_KV_PUT,
                     .key = sl_slice_make((const uint8_t *)"a\0", 2),
                     .expect = IPC_KV_ANY,
                     .value = S("v")};
    assert_int_equal(kv_do(kv, &nul, 1, NULL, NULL), 0);
    ipc_kv_op hi = {.kind = IPC_KV_PUT,
                    .key = sl_slice_make((const uint8_t *)"a\xff", 2),
                    .expect = IPC_KV_ANY,
                    .value = S("v")};
    assert_int_equal(kv_do(kv, &hi, 1, NULL, NULL), 0);

    sl_slice none = sl_slice_make(NULL, 0);
    /* memcmp order, the shorter key first on a tie: B a a\0 aa ab abc ac
     * a~ a\xff b ba \x7f. */
    scan_out s = {0};
    assert_int_equal(ss_kv_scan(kv, none, none, scan_cb, &s), 0);
    assert_int_equal(s.n, 12);
    /* "a\xff" sorts after "a~" and before "b" (unsigned bytes). */
    assert_int_equal(s.klen[8], 2);
    assert_int_equal((uint8_t)s.keys[8][1], 0xff);
    static const char *const pa[] = {"a",   "a\x01", "aa", "ab",
                                     "abc", "ac",    "a~"};
    static const char *const pa_after_ab[] = {"abc", "ac", "a~"};
    static const char *const pab[] = {"ab", "abc"};
    static const char *const pb[] = {"b", "ba"};

    /* prefix "a" (skip checking the \xff key by comparing the first 7). */
    s = (scan_out){0};
    assert_int_equal(ss_kv_scan(kv, S("a"), none, scan_cb, &s), 0);
    assert_int_equal(s.n, 8);
    assert_int_equal((uint8_t)s.keys[7][1], 0xff);
    s = (scan_out){.stop_at = 7};
    assert_int_equal(ss_kv_scan(kv, S("a"), none, scan_cb, &s), 42);
    assert_int_equal(s.n, 7);
    for (int i = 0; i < 7; i++) {
        size_t wl = strlen(pa[i]);
        assert_int_equal(s.klen[i], wl);
        if (pa[i][wl - 1] == '\x01')
            assert_int_equal(s.keys[i][1], 0);
        else
            assert_memory_equal(s.keys[i], pa[i], wl);
    }

    /* after an existing key: strictly after it. */
    s = (scan_out){.stop_at = 3};
    assert_int_equal(ss_kv_scan(kv, S("a"), S("ab"), scan_cb, &s), 42);
    for (int i = 0; i < 3; i++)
        assert_memory_equal(s.keys[i], pa_after_ab[i], strlen(pa_after_ab[i]));
    /* after a key that is not there: from the next one. */
    s = (scan_out){0};
    assert_int_equal(ss_kv_scan(kv, S("a"), S("abb"), scan_cb, &s), 0);
    assert_int_equal(s.n, 4); /* abc ac a~ a\xff */
    assert_memory_equal(s.keys[0], "abc", 3);
    /* after the prefix itself: skips only that exact key. */
    s = (scan_out){0};
    assert_int_equal(ss_kv_scan(kv, S("a"), S("a"), scan_cb, &s), 0);
    assert_int_equal(s.n, 7);
    assert_int_equal(s.klen[0], 2);
    assert_int_equal(s.keys[0][1], 0);
    /* after sorting before the prefix: the whole prefix. */
    s = (scan_out){0};
    assert_int_equal(ss_kv_scan(kv, S("a"), S("B"), scan_cb, &s), 0);
    assert_int_equal(s.n, 8);
    /* after sorting past every key with the prefix: nothing. */
    scan_expect(kv, S("a"), S("b"), NULL, 0);
    scan_expect(kv, S("a"), sl_slice_make((const uint8_t *)"a\xff", 2), NULL,
                0);
    scan_expect(kv, S("ab"), none, pab, 2);
    scan_expect(kv, S("b"), none, pb, 2);
    scan_expect(kv, S("abcd"), none, NULL, 0);
    scan_expect(kv, S("c"), none, NULL, 0);
    /* The NUL-terminated key under a prefix containing the NUL. */
    static const char *const pnul[] = {"a\x01"};
    scan_expect(kv, sl_slice_make((const uint8_t *)"a\0", 2), none, pnul, 1);
    /* Empty prefix with after: everything after it. */
    s = (scan_out){0};
    assert_int_equal(ss_kv_scan(kv, none, S("ba"), scan_cb, &s), 0);
    assert_int_equal(s.n, 1);
    assert_memory_equal(s.keys[0], "\x7f", 1);
    /* A deleted key vanishes from scans. */
    del(kv, "ab");
    static const char *const pab2[] = {"abc"};
    scan_expect(kv, S("ab"), none, pab2, 1);
    assert_int_equal(ss_kv_close(kv), 0);
}

/* ---- replay -------------------------------------------------------------
 */

/* A deterministic mix of puts, overwrites, deletes and multi-key writes. */
static void
random_writes(ss_kv *kv, unsigned seed, int n, int nkeys)
{
    srand(seed);
    for (int i = 0; i < n; i++) {
        ipc_kv_op ops[3];
        char k[3][32], v[3][64];
        int m = 1 + rand() % 3;
        for (int j = 0; j < m; j++) {
            snprintf(k[j], sizeof(k[j]), "key/%03d", rand() % nkeys);
            snprintf(v[j], sizeof(v[j]), "value-%d-%d-%d", i, j, rand());
            if (rand() % 4 == 0)
                ops[j] = op_del(k[j], IPC_KV_ANY);
            else
                ops[j] = op_put(k[j], v[j], IPC_KV_ANY);
        }
        assert_int_equal(kv_do(kv, ops, (size_t)m, NULL, NULL), 0);
    }
}

static void
test_replay_equals(void **state)
{
    (void)state;
    ss_kv_opts o = opts_default();
    o.segment_bytes = 16 << 10; /* several segments */
    ss_kv *kv = kv_open(&o);
    random_writes(kv, 7, 800, 40);
    sl_buf before, after;
    sl_buf_init(&before);
    sl_buf_init(&after);
    dump_map(kv, &before);
    size_t count = ss_kv_count(kv);
    int64_t live = ss_kv_live_bytes(kv);
    int64_t rev = ss_kv_revision(kv);
    assert_true(ss_log_segment_count(ss_kv_log(kv)) > 1);
    assert_int_equal(ss_kv_close(kv), 0);

    kv = kv_open(&o);
    dump_map(kv, &after);
    assert_same_dump(&before, &after);
    assert_int_equal(ss_kv_count(kv), count);
    assert_int_equal(ss_kv_live_bytes(kv), live);
    assert_int_equal(ss_kv_revision(kv), rev);
    assert_int_equal(ss_kv_close(kv), 0);
    sl_buf_fini(&before);
    sl_buf_fini(&after);
}

static void
test_replay_torn_tail(void **state)
{
    (void)state;
    ss_kv_opts o = opts_default(); /* one segment */
    ss_kv *kv = kv_open(&o);
    random_writes(kv, 11, 200, 20);
    assert_int_equal(ss_log_sync_now(ss_kv_log(kv), 1), 0);
    sl_buf before, after;
    sl_buf_init(&before);
    sl_buf_init(&after);
    dump_map(kv, &before);
    int64_t rev = ss_kv_revision(kv);

    /* One more multi-key write, then a crash that tears it. */
    ipc_kv_op ops[3] = {op_put("key/000", "torn", IPC_KV_ANY),
                        op_put("new-key", "torn", IPC_KV_ANY),
                        op_del("key/001", IPC_KV_ANY)};
    assert_int_equal(kv_do(kv, ops, 3, NULL, NULL), 0);
    assert_int_equal(ss_log_segment_count(ss_kv_log(kv)), 1);
    int64_t bytes = ss_log_bytes(ss_kv_log(kv));
    ss_log_abandon(ss_kv_log(kv));
    ss_kv_close(kv);

    char p[1024];
    snprintf(p, sizeof(p), "%s/@kv/%020d.log", tmpdir, 0);
    assert_int_equal(truncate(p, bytes - 5), 0);

    kv = kv_open(&o);
    dump_map(kv, &after);
    /* All or nothing: none of the torn write's three keys changed. */
    assert_same_dump(&before, &after);
    assert_int_equal(ss_kv_revision(kv), rev);
    /* Writing goes on after the cut. */
    int64_t r = put(kv, "post", "crash");
    assert_true(r > rev);
    dump_map(kv, &before);
    assert_int_equal(ss_kv_close(kv), 0);
    kv = kv_open(&o);
    dump_map(kv, &after);
    assert_same_dump(&before, &after);
    expect_val(kv, "post", "crash");
    assert_int_equal(ss_kv_close(kv), 0);
    sl_buf_fini(&before);
    sl_buf_fini(&after);
}

/* ---- compaction -------------------------------------------------------- */

static ss_kv_opts
opts_compact(void)
{
    ss_kv_opts o = {
        .value_max = 1 << 20,
        .segment_bytes = 4096,
        .compact_min = 8192,
    };
    return o;
}

static void
overwrite_few(ss_kv *kv, int n, int nkeys)
{
    for (int i = 0; i < n; i++) {
        char k[32], v[128];
        snprintf(k, sizeof(k), "few/%d", i % nkeys);
        snprintf(v, sizeof(v), "value %d %s", i,
                 "padding padding padding padding padding");
        put(kv, k, v);
    }
}

static void
test_compaction(void **state)
{
    (void)state;
    ss_kv_opts o = opts_compact();
    ss_kv *kv = kv_open(&o);
    /* Small log: not compacted. */
    overwrite_few(kv, 10, 5);
    assert_int_equal(ss_kv_maybe_compact(kv, 2000), 0);

    overwrite_few(kv, 1000, 5);
    int64_t bytes = ss_log_bytes(ss_kv_log(kv));
    int segs = ss_log_segment_count(ss_kv_log(kv));
    assert_true(bytes > 16 * ss_kv_live_bytes(kv));
    assert_true(segs > 4);
    int64_t rev = ss_kv_revision(kv);
    sl_buf before, after;
    sl_buf_init(&before);
    sl_buf_init(&after);
    dump_map(kv, &before);

    assert_int_equal(ss_kv_maybe_compact(kv, 2000), 1);
    int64_t cbytes = ss_log_bytes(ss_kv_log(kv));
    assert_true(cbytes < bytes / 10);
    assert_true(ss_log_segment_count(ss_kv_log(kv)) <= 2);
    assert_true(ss_log_start(ss_kv_log(kv)) > 0);
    /* Nothing changed in memory. */
    dump_map(kv, &after);
    assert_same_dump(&before, &after);
    assert_int_equal(ss_kv_revision(kv), rev);
    /* Compacting again right away has nothing to gain. */
    assert_int_equal(ss_kv_maybe_compact(kv, 2000), 0);
    /* The segment files before the snapshot are gone from the directory. */
    char p[1024];
    snprintf(p, sizeof(p), "%s/@kv/%020d.log", tmpdir, 0);
    assert_int_not_equal(access(p, F_OK), 0);

    assert_int_equal(ss_kv_close(kv), 0);
    kv = kv_open(&o);
    dump_map(kv, &after);
    assert_same_dump(&before, &after);
    assert_int_equal(ss_kv_count(kv), 5);
    assert_true(ss_kv_revision(kv) >= rev);
    int64_t r = put(kv, "few/0", "after compaction");
    assert_true(r > rev);

    /* Writes after a snapshot replay on top of it; a second compaction
     * keeps them. */
    overwrite_few(kv, 1000, 5);
    put(kv, "few/0", "final");
    dump_map(kv, &before);
    assert_int_equal(ss_kv_maybe_compact(kv, 3000), 1);
    put(kv, "tail", "after second snapshot");
    dump_map(kv, &before);
    assert_int_equal(ss_kv_close(kv), 0);
    kv = kv_open(&o);
    dump_map(kv, &after);
    assert_same_dump(&before, &after);
    expect_val(kv, "few/0", "final");
    assert_int_equal(ss_kv_close(kv), 0);
    sl_buf_fini(&before);
    sl_buf_fini(&after);
}

static void
test_deletes_survive_compaction(void **state)
{
    (void)state;
    ss_kv_opts o = opts_compact();
    ss_kv *kv = kv_open(&o);
    for (int i = 0; i < 10; i++) {
        char k[16];
        snprintf(k, sizeof(k), "d/%d", i);
        put(kv, k, "live");
    }
    del(kv, "d/3");
    del(kv, "d/5");
    overwrite_few(kv, 800, 3);
    del(kv, "few/1");
    /* The last write before compaction is a delete. */
    del(kv, "d/7");
    int64_t rev = ss_kv_revision(kv);
    sl_buf before, after;
    sl_buf_init(&before);
    sl_buf_init(&after);
    dump_map(kv, &before);
    assert_int_equal(ss_kv_maybe_compact(kv, 2000), 1);
    assert_int_equal(ss_kv_close(kv), 0);

    kv = kv_open(&o);
    dump_map(kv, &after);
    assert_same_dump(&before, &after);
    expect_val(kv, "d/3", NULL);
    expect_val(kv, "d/5", NULL);
    expect_val(kv, "d/7", NULL);
    expect_val(kv, "few/1", NULL);
    expect_val(kv, "d/4", "live");
    /* The store's revision must not go back across a restart, even when
     * the latest write (a delete) left no key carrying its revision. */
    if (ss_kv_revision(kv) < rev)
        fail_msg("revision went back across compaction + reopen: %" PRId64
                 " before close, %" PRId64 " after",
                 rev, ss_kv_revision(kv));
    int64_t r = put(kv, "d/3", "back by a new write");
    assert_true(r > rev);
    /* A delete after the snapshot, replayed on top of it. */
    del(kv, "d/4");
    dump_map(kv, &before);
    assert_int_equal(ss_kv_close(kv), 0);
    kv = kv_open(&o);
    dump_map(kv, &after);
    assert_same_dump(&before, &after);
    expect_val(kv, "d/4", NULL);
    assert_int_equal(ss_kv_close(kv), 0);
    sl_buf_fini(&before);
    sl_buf_fini(&after);
}

/* Compaction of a map with every key deleted, and a reopen of that. */
static void
test_compaction_empty_map(void **state)
{
    (void)state;
    ss_kv_opts o = opts_compact();
    ss_kv *kv = kv_open(&o);
    overwrite_few(kv, 500, 4);
    for (int i = 0; i < 4; i++) {
        char k[16];
        snprintf(k, sizeof(k), "few/%d", i);
        del(kv, k);
    }
    int64_t rev = ss_kv_revision(kv);
    assert_int_equal(ss_kv_count(kv), 0);
    assert_int_equal(ss_kv_maybe_compact(kv, 2000), 1);
    assert_int_equal(ss_kv_close(kv), 0);
    kv = kv_open(&o);
    assert_int_equal(ss_kv_count(kv), 0);
    assert_int_equal(ss_kv_live_bytes(kv), 0);
    if (ss_kv_revision(kv) < rev)
        fail_msg("revision went back: %" PRId64 " -> %" PRId64, rev,
                 ss_kv_revision(kv));
    assert_true(put(kv, "x", "y") > rev);
    assert_int_equal(ss_kv_close(kv), 0);
}

/* Internal keys are the caller's business, but the store's own snapshot
 * marker must not be writable as a key: a write whose first key is
 * "__snap" would replay as a snapshot (clearing the map). */
static void
test_snapshot_marker_key(void **state)
{
    (void)state;
    ss_kv_opts o = opts_default();
    ss_kv *kv = kv_open(&o);
    put(kv, "keep", "me");
    ipc_kv_op ops[2] = {op_put("__snap", "x", IPC_KV_ANY),
                        op_put("other", "y", IPC_KV_ANY)};
    int rc = kv_do(kv, ops, 2, NULL, NULL);
    if (rc != 0) {
        /* Refusing the reserved key is fine. */
        assert_int_equal(rc, SL_E_INVAL);
        expect_val(kv, "other", NULL);
    }
    sl_buf before, after;
    sl_buf_init(&before);
    sl_buf_init(&after);
    dump_map(kv, &before);
    assert_int_equal(ss_kv_close(kv), 0);
    ss_kv *kv2 = NULL;
    char err[256] = "";
    rc = ss_kv_open(tmpdir, &o, &kv2, err, sizeof(err));
    if (rc != 0)
        fail_msg("reopen after writing \"__snap\": %s", err);
    dump_map(kv2, &after);
    assert_same_dump(&before, &after);
    expect_val(kv2, "keep", "me");
    assert_int_equal(ss_kv_close(kv2), 0);
    sl_buf_fini(&before);
    sl_buf_fini(&after);
}

/* Internal ("__") writes change the revision but not the announced one. */
static void
test_announced(void **state)
{
    (void)state;
    ss_kv_opts o = opts_default();
    ss_kv *kv = kv_open(&o);
    int64_t r1 = put(kv, "user", "1");
    assert_int_equal(ss_kv_announced(kv), r1);
    int64_t r2 = put(kv, "__internal", "x");
    assert_true(r2 > r1);
    assert_int_equal(ss_kv_revision(kv), r2);
    assert_int_equal(ss_kv_announced(kv), r1);
    ipc_kv_op mixed[2] = {op_put("__i2", "x", IPC_KV_ANY),
                          op_put("u2", "y", IPC_KV_ANY)};
    int64_t r3;
    assert_int_equal(kv_do(kv, mixed, 2, &r3, NULL), 0);
    assert_int_equal(ss_kv_announced(kv), r3);
    assert_int_equal(ss_kv_close(kv), 0);
}

int
main(void)
{
    sl_log_set_level(SL_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_key_and_toobig, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multi_key_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_ops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revisions_across_reopen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_equals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deletes_survive_compaction, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_compaction_empty_map, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_marker_key, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_announced, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
