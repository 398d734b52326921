/*
 * log_producer_test.c — unit tests of segstore/log from ss_log.h: the
 * idempotent producers' deduplication in ss_log_append (a retry of one of
 * the last 5 batches, sequence gaps, epochs, unknown producers, one
 * idempotent batch per call), the producer state across restarts (the
 * snapshot, the replay past it, the fallback without it), and ss_log_roll /
 * ss_log_delete_before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "sl_batch.h"
#include "ss_log.h"
#include "ss_store.h"

#include <fcntl.h>
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
    snprintf(tmpdir, sizeof(tmpdir), "%s/logptest.XXXXXX", base);
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

static ss_log_cfg
cfg_small(void)
{
    ss_log_cfg c;
    memset(&c, 0, sizeof(c));
    sl_conf_defaults(ss_topic_conf, ss_topic_conf_len, &c);
    c.segment_bytes = 64 << 10;
    c.index_interval_bytes = 512;
    return c;
}

static ss_log *
open_log(const char *rel)
{
    ss_log_cfg c = cfg_small();
    ss_log *l;
    assert_int_equal(ss_log_open(tmpdir, rel, &c, &l), 0);
    return l;
}

/* A batch of n records from producer pid (pid < 0: not idempotent). */
static void
pbatch(sl_buf *b, int64_t pid, int16_t epoch, int32_t seq, int n)
{
    sl_batch_builder bb;
    assert_int_equal(sl_batch_builder_init(&bb, b, 1000), 0);
    if (pid >= 0)
        sl_batch_builder_producer(&bb, pid, epoch, seq);
    for (int i = 0; i < n; i++) {
        char v[64];
        snprintf(v, sizeof(v), "p%" PRId64 "-e%d-s%d-r%d", pid, epoch, seq, i);
        sl_slice vs = sl_slice_str(v);
        assert_int_equal(
            sl_batch_builder_add(&bb, 1000 + i, NULL, &vs, NULL, 0), 0);
    }
    sl_batch_builder_finish(&bb);
}

/* Append one producer batch; returns the rc, fills *r. */
static int
papp(ss_log *l, int64_t pid, int16_t epoch, int32_t seq, int n,
     ss_append_res *r)
{
    sl_buf b;
    sl_buf_init(&b);
    pbatch(&b, pid, epoch, seq, n);
    memset(r, 0x55, sizeof(*r));
    int rc = ss_log_append(l, b.p, b.n, 2000, r);
    sl_buf_fini(&b);
    return rc;
}

/* Expect a fresh append at [base, base + n). */
static void
expect_new(ss_log *l, int64_t pid, int16_t epoch, int32_t seq, int n,
           int64_t base)
{
    ss_append_res r;
    int rc = papp(l, pid, epoch, seq, n, &r);
    if (rc != 0)
        fail_msg("append pid=%" PRId64 " epoch=%d seq=%d n=%d: %s", pid, epoch,
                 seq, n, sl_strerror(rc));
    assert_int_equal(r.duplicate, 0);
    assert_int_equal(r.base_offset, base);
    assert_int_equal(r.last_offset, base + n - 1);
    assert_int_equal(ss_log_end(l), base + n);
}

/* Expect a duplicate answered with [base, base + n), nothing written. */
static void
expect_dup(ss_log *l, int64_t pid, int16_t epoch, int32_t seq, int n,
           int64_t base)
{
    int64_t end = ss_log_end(l), bytes = ss_log_bytes(l);
    ss_append_res r;
    int rc = papp(l, pid, epoch, seq, n, &r);
    if (rc != 0)
        fail_msg("retry pid=%" PRId64 " epoch=%d seq=%d: %s", pid, epoch, seq,
                 sl_strerror(rc));
    if (!r.duplicate)
        fail_msg("retry pid=%" PRId64 " seq=%d not a duplicate (written at "
                 "%" PRId64 ")",
                 pid, seq, r.base_offset);
    assert_int_equal(r.base_offset, base);
    assert_int_equal(r.last_offset, base + n - 1);
    assert_int_equal(r.log_start, ss_log_start(l));
    assert_int_equal(ss_log_end(l), end);
    assert_int_equal(ss_log_bytes(l), bytes);
}

/* Expect a refusal with code, nothing written. */
static void
expect_err(ss_log *l, int64_t pid, int16_t epoch, int32_t seq, int n, int code)
{
    int64_t end = ss_log_end(l), bytes = ss_log_bytes(l);
    ss_append_res r;
    int rc = papp(l, pid, epoch, seq, n, &r);
    if (rc != code)
        fail_msg("pid=%" PRId64 " epoch=%d seq=%d n=%d: got %s, want %s", pid,
                 epoch, seq, n, sl_strerror(rc), sl_strerror(code));
    assert_int_equal(ss_log_end(l), end);
    assert_int_equal(ss_log_bytes(l), bytes);
}

/* ---- deduplication --------------------------------------------------------
 */

static void
test_retry_is_duplicate(void **state)
{
    (void)state;
    ss_log *l = open_log("t/0");
    expect_new(l, 7, 0, 0, 3, 0);
    expect_new(l, 7, 0, 3, 2, 3);
    expect_dup(l, 7, 0, 0, 3, 0);
    expect_dup(l, 7, 0, 3, 2, 3);
    expect_dup(l, 7, 0, 3, 2, 3);
    /* The sequence continues after the retries. */
    expect_new(l, 7, 0, 5, 1, 5);
    /* A "retry" that overlaps but is not one of the batches is refused. */
    expect_err(l, 7, 0, 0, 2, SL_E_SEQUENCE);
    expect_err(l, 7, 0, 1, 2, SL_E_SEQUENCE);
    ss_log_rele(l);
}

static void
test_window_of_five(void **state)
{
    (void)state;
    ss_log *l = open_log("t/0");
    for (int i = 0; i < 6; i++)
        expect_new(l, 1, 0, i * 2, 2, i * 2);
    /* The last five are remembered… */
    for (int i = 1; i < 6; i++)
        expect_dup(l, 1, 0, i * 2, 2, i * 2);
    /* …the sixth-newest is not: not a duplicate, and not written. */
    int64_t end = ss_log_end(l);
    ss_append_res r;
    int rc = papp(l, 1, 0, 0, 2, &r);
    assert_int_not_equal(rc, 0);
    assert_int_equal(ss_log_end(l), end);
    ss_log_rele(l);
}

static void
test_sequence_gap(void **state)
{
    (void)state;
    ss_log *l = open_log("t/0");
    expect_new(l, 5, 0, 0, 3, 0);
    expect_err(l, 5, 0, 4, 1, SL_E_SEQUENCE); /* expected 3 */
    expect_err(l, 5, 0, 100, 1, SL_E_SEQUENCE);
    expect_new(l, 5, 0, 3, 1, 3);
    ss_log_rele(l);
}

static void
test_epochs(void **state)
{
    (void)state;
    ss_log *l = open_log("t/0");
    expect_new(l, 9, 1, 0, 2, 0);
    expect_new(l, 9, 1, 2, 2, 2);
    /* An older epoch is fenced, even with the right sequence. */
    expect_err(l, 9, 0, 4, 1, SL_E_PRODUCER_EPOCH);
    expect_err(l, 9, 0, 0, 2, SL_E_PRODUCER_EPOCH);
    /* A new epoch must start at sequence 0. */
    expect_err(l, 9, 2, 4, 1, SL_E_SEQUENCE);
    expect_new(l, 9, 2, 0, 1, 4);
    /* Retries of the old epoch's batches are now fenced, not duplicates. */
    expect_err(l, 9, 1, 2, 2, SL_E_PRODUCER_EPOCH);
    expect_dup(l, 9, 2, 0, 1, 4);
    expect_new(l, 9, 2, 1, 1, 5);
    ss_log_rele(l);
}

static void
test_unknown_producer_any_sequence(void **state)
{
    (void)state;
    ss_log *l = open_log("t/0");
    expect_new(l, 42, 3, 1000, 4, 0);
    expect_err(l, 42, 3, 1000 + 5, 1, SL_E_SEQUENCE);
    expect_new(l, 42, 3, 1004, 1, 4);
    /* Producers are independent. */
    expect_new(l, 43, 0, 77, 1, 5);
    expect_new(l, 42, 3, 1005, 1, 6);
    expect_dup(l, 43, 0, 77, 1, 5);
    expect_new(l, 43, 0, 78, 1, 7);
    /* Per partition: another log has not seen producer 42. */
    ss_log *l2 = open_log("t/1");
    expect_new(l2, 42, 3, 0, 1, 0);
    ss_log_rele(l2);
    ss_log_rele(l);
}

/* Kafka's sequences wrap from INT32_MAX to 0 (incrementSequence). */
static void
test_sequence_wraps(void **state)
{
    (void)state;
    ss_log *l = open_log("t/0");
    expect_new(l, 3, 0, INT32_MAX - 1, 1, 0);
    expect_new(l, 3, 0, INT32_MAX, 1, 1);
    expect_new(l, 3, 0, 0, 2, 2);
    expect_dup(l, 3, 0, INT32_MAX, 1, 1);
    expect_new(l, 3, 0, 2, 1, 4);
    ss_log_rele(l);
}

/* A batch that itself crosses INT32_MAX: its last sequence is wrapped. */
static void
test_sequence_wraps_inside_batch(void **state)
{
    (void)state;
    ss_log *l = open_log("t/0");
    expect_new(l, 4, 0, INT32_MAX - 1, 3, 0); /* MAX-1, MAX, 0 */
    expect_dup(l, 4, 0, INT32_MAX - 1, 3, 0);
    expect_new(l, 4, 0, 1, 1, 3);
    ss_log_rele(l);
}

static void
test_one_idempotent_batch_per_call(void **state)
{
    (void)state;
    ss_log *l = open_log("t/0");
    sl_buf b;
    sl_buf_init(&b);
    ss_append_res r;
    pbatch(&b, 1, 0, 0, 1);
    pbatch(&b, 1, 0, 1, 1);
    assert_int_equal(ss_log_append(l, b.p, b.n, 2000, &r), SL_E_INVAL);
    sl_buf_reset(&b);
    pbatch(&b, -1, 0, 0, 1);
    pbatch(&b, 1, 0, 0, 1);
    assert_int_equal(ss_log_append(l, b.p, b.n, 2000, &r), SL_E_INVAL);
    sl_buf_reset(&b);
    pbatch(&b, 1, 0, 0, 1);
    pbatch(&b, -1, 0, 0, 1);
    assert_int_equal(ss_log_append(l, b.p, b.n, 2000, &r), SL_E_INVAL);
    assert_int_equal(ss_log_end(l), 0);
    /* Plain batches still go several at a time and are never deduped. */
    sl_buf_reset(&b);
    pbatch(&b, -1, 0, 0, 2);
    pbatch(&b, -1, 0, 0, 2);
    sl_buf copy;
    sl_buf_init(&copy);
    sl_buf_append(&copy, b.p, b.n);
    assert_int_equal(ss_log_append(l, b.p, b.n, 2000, &r), 0);
    assert_int_equal(r.duplicate, 0);
    assert_int_equal(ss_log_append(l, copy.p, copy.n, 2000, &r), 0);
    assert_int_equal(r.duplicate, 0);
    assert_int_equal(r.base_offset, 4);
    assert_int_equal(ss_log_end(l), 8);
    /* The producer's first batch was never written: it is still unknown
     * and may start anywhere. */
    expect_new(l, 1, 0, 5, 1, 8);
    sl_buf_fini(&copy);
    sl_buf_fini(&b);
    ss_log_rele(l);
}

/* A refused idempotent batch (bad CRC) does not count as seen. */
static void
test_refused_batch_not_recorded(void **state)
{
    (void)state;
    ss_log *l = open_log("t/0");
    expect_new(l, 8, 0, 0, 1, 0);
    sl_buf b;
    sl_buf_init(&b);
    pbatch(&b, 8, 0, 1, 1);
    b.p[b.n - 1] ^= 1;
    ss_append_res r;
    assert_int_equal(ss_log_append(l, b.p, b.n, 2000, &r), SL_E_CRC);
    sl_buf_fini(&b);
    expect_new(l, 8, 0, 1, 1, 1);
    ss_log_rele(l);
}

/* The original offsets survive a roll between the append and the retry. */
static void
test_duplicate_across_roll(void **state)
{
    (void)state;
    ss_log *l = open_log("t/0");
    expect_new(l, 2, 0, 0, 3, 0);
    assert_int_equal(ss_log_roll(l), 0);
    expect_new(l, 2, 0, 3, 1, 3);
    expect_dup(l, 2, 0, 0, 3, 0);
    ss_log_rele(l);
}

/* ---- producer state across restarts ------------------------------------
 */

static void append_plain(ss_log *l, int n);

static void
psnap_path(char *p, size_t n, const char *rel)
{
    snprintf(p, n, "%s/%s/producer.snapshot", tmpdir, rel);
}

/* A clean close writes the snapshot; the reopened log knows the producers:
 * retries are duplicates with their original offsets, gaps are refused. */
static void
test_restart_with_snapshot(void **state)
{
    (void)state;
    ss_log *l = open_log("t/0");
    expect_new(l, 42, 3, 1000, 4, 0);
    expect_new(l, 42, 3, 1004, 1, 4);
    expect_new(l, 43, 0, 0, 2, 5);
    ss_log_rele(l);
    char p[1024];
    psnap_path(p, sizeof(p), "t/0");
    assert_int_equal(access(p, F_OK), 0);

    l = open_log("t/0");
    expect_dup(l, 42, 3, 1000, 4, 0);
    expect_dup(l, 42, 3, 1004, 1, 4);
    expect_dup(l, 43, 0, 0, 2, 5);
    expect_err(l, 42, 3, 1006, 1, SL_E_SEQUENCE);
    expect_err(l, 42, 2, 1005, 1, SL_E_PRODUCER_EPOCH);
    expect_new(l, 42, 3, 1005, 1, 7);
    expect_new(l, 43, 0, 2, 1, 8);
    ss_log_rele(l);
}

/* A crash after a checkpoint: the snapshot covers part of the log and the
 * batches appended after it are replayed from the segment. */
static void
test_crash_replays_past_snapshot(void **state)
{
    (void)state;
    ss_log *l = open_log("t/0");
    expect_new(l, 7, 0, 0, 3, 0);
    assert_int_equal(ss_log_sync_now(l, 1), 0); /* checkpoint at 3 */
    expect_new(l, 7, 0, 3, 2, 3);
    expect_new(l, 8, 1, 10, 1, 5);
    append_plain(l, 2);
    expect_new(l, 7, 0, 5, 1, 8);
    assert_int_equal(ss_log_sync_now(l, 0), 0); /* durable, no checkpoint */
    ss_log_abandon(l);                          /* "kill -9" */
    ss_log_rele(l);

    l = open_log("t/0");
    assert_int_equal(ss_log_end(l), 9);
    expect_dup(l, 7, 0, 0, 3, 0);
    expect_dup(l, 7, 0, 3, 2, 3);
    expect_dup(l, 7, 0, 5, 1, 8);
    expect_dup(l, 8, 1, 10, 1, 5);
    expect_err(l, 7, 0, 7, 1, SL_E_SEQUENCE);
    expect_new(l, 7, 0, 6, 1, 9);
    ss_log_rele(l);
}

/* Rolling writes a snapshot too, so a producer whose batches are all in
 * sealed segments is still known after a crash. */
static void
test_snapshot_at_roll(void **state)
{
    (void)state;
    ss_log *l = open_log("t/0");
    expect_new(l, 9, 0, 0, 2, 0);
    assert_int_equal(ss_log_roll(l), 0);
    append_plain(l, 3);
    assert_int_equal(ss_log_sync_now(l, 0), 0);
    ss_log_abandon(l);
    ss_log_rele(l);

    l = open_log("t/0");
    expect_dup(l, 9, 0, 0, 2, 0);
    expect_err(l, 9, 0, 5, 1, SL_E_SEQUENCE);
    expect_new(l, 9, 0, 2, 1, 5);
    ss_log_rele(l);
}

/* Without a snapshot (removed, or unusable) the state is rebuilt from the
 * active segment; producers seen only in sealed segments are unknown. */
static void
check_fallback(void (*damage)(const char *path))
{
    ss_log *l = open_log("t/0");
    expect_new(l, 1, 0, 0, 2, 0); /* only in the sealed segment */
    assert_int_equal(ss_log_roll(l), 0);
    expect_new(l, 2, 0, 0, 2, 2);
    expect_new(l, 2, 0, 2, 1, 4);
    ss_log_rele(l);
    char p[1024];
    psnap_path(p, sizeof(p), "t/0");
    damage(p);

    l = open_log("t/0");
    expect_dup(l, 2, 0, 0, 2, 2);
    expect_dup(l, 2, 0, 2, 1, 4);
    expect_err(l, 2, 0, 4, 1, SL_E_SEQUENCE);
    /* Producer 1 is unknown: any sequence is accepted. */
    expect_new(l, 1, 0, 40, 1, 5);
    ss_log_rele(l);
    /* The next clean close wrote a good snapshot again. */
    l = open_log("t/0");
    expect_dup(l, 1, 0, 40, 1, 5);
    ss_log_rele(l);
}

static void
damage_remove(const char *path)
{
    assert_int_equal(unlink(path), 0);
}

static void
damage_truncate(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 40);
    assert_int_equal(truncate(path, st.st_size - 7), 0);
}

static void
damage_flip(const char *path)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, 60), 1);
    b ^= 0x10;
    assert_int_equal(pwrite(fd, &b, 1, 60), 1);
    close(fd);
}

static void
test_no_snapshot(void **state)
{
    (void)state;
    check_fallback(damage_remove);
}

static void
test_torn_snapshot(void **state)
{
    (void)state;
    check_fallback(damage_truncate);
}

static void
test_corrupt_snapshot(void **state)
{
    (void)state;
    check_fallback(damage_flip);
}

/* A snapshot that claims more than the log holds (the log lost its tail
 * under it) is not trusted. */
static void
test_snapshot_past_end(void **state)
{
    (void)state;
    ss_log *l = open_log("t/0");
    expect_new(l, 5, 0, 0, 1, 0);
    ss_log_rele(l);
    char p[1024];
    psnap_path(p, sizeof(p), "t/0");
    char save[1100];
    snprintf(save, sizeof(save), "%s/psnap.save", tmpdir);
    /* Keep the snapshot taken with 3 records, then rebuild the log with
     * fewer. */
    l = open_log("t/0");
    expect_new(l, 5, 0, 1, 2, 1);
    ss_log_rele(l);
    assert_int_equal(rename(p, save), 0);
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/t", tmpdir);
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    l = open_log("t/0");
    expect_new(l, 6, 0, 0, 1, 0);
    ss_log_rele(l);
    assert_int_equal(rename(save, p), 0);
    l = open_log("t/0");
    assert_int_equal(ss_log_end(l), 1);
    expect_dup(l, 6, 0, 0, 1, 0);
    expect_new(l, 5, 0, 3, 1, 1); /* unknown again: any sequence */
    ss_log_rele(l);
}

/* ---- roll and delete_before --------------------------------------------
 */

static void
append_plain(ss_log *l, int n)
{
    ss_append_res r;
    assert_int_equal(papp(l, -1, 0, 0, n, &r), 0);
}

static int
seg_file_exists(const char *rel, int64_t base)
{
    char p[1024];
    snprintf(p, sizeof(p), "%s/%s/%020" PRId64 ".log", tmpdir, rel, base);
    return access(p, F_OK) == 0;
}

static void
test_roll(void **state)
{
    (void)state;
    ss_log *l = open_log("t/0");
    /* Rolling an empty active segment does nothing. */
    assert_int_equal(ss_log_roll(l), 0);
    assert_int_equal(ss_log_segment_count(l), 1);
    append_plain(l, 10);
    assert_int_equal(ss_log_roll(l), 0);
    assert_int_equal(ss_log_segment_count(l), 2);
    assert_true(seg_file_exists("t/0", 10));
    assert_int_equal(ss_log_roll(l), 0); /* empty again */
    assert_int_equal(ss_log_segment_count(l), 2);
    append_plain(l, 5);
    assert_int_equal(ss_log_end(l), 15);
    /* Rolling makes the sealed segment durable. */
    assert_true(ss_log_durable_end(l) >= 10);
    assert_int_equal(ss_log_roll(l), 0);
    assert_int_equal(ss_log_segment_count(l), 3);
    int64_t bytes = ss_log_bytes(l);
    /* Reads cross the new boundaries. */
    for (int64_t off = 0; off < 15; off += 5) {
        ss_read_res rr;
        assert_int_equal(ss_log_read(l, off, 1 << 20, 15, &rr), 0);
        assert_true(rr.length > 0);
    }
    assert_int_equal(ss_log_close(l), 0);
    assert_int_equal(ss_log_roll(l), SL_E_CLOSED);
    assert_int_equal(ss_log_delete_before(l, 100), SL_E_CLOSED);
    ss_log_rele(l);

    l = open_log("t/0");
    assert_int_equal(ss_log_end(l), 15);
    assert_int_equal(ss_log_bytes(l), bytes);
    assert_true(ss_log_segment_count(l) >= 2);
    append_plain(l, 1);
    assert_int_equal(ss_log_end(l), 16);
    ss_log_rele(l);
}

static void
test_delete_before(void **state)
{
    (void)state;
    ss_log *l = open_log("t/0");
    for (int i = 0; i < 3; i++) {
        append_plain(l, 10);
        assert_int_equal(ss_log_roll(l), 0);
    }
    append_plain(l, 10); /* segments [0,10) [10,20) [20,30) active [30,40) */
    assert_int_equal(ss_log_segment_count(l), 4);
    int64_t bytes = ss_log_bytes(l);

    assert_int_equal(ss_log_delete_before(l, 0), 0);
    assert_int_equal(ss_log_delete_before(l, 9), 0);
    /* Only segments that end at or before the offset go. */
    assert_int_equal(ss_log_delete_before(l, 15), 1);
    assert_int_equal(ss_log_start(l), 10);
    assert_int_equal(ss_log_segment_count(l), 3);
    assert_true(ss_log_bytes(l) < bytes);
    assert_false(seg_file_exists("t/0", 0));
    assert_true(seg_file_exists("t/0", 10));
    ss_read_res rr;
    assert_int_equal(ss_log_read(l, 5, 1 << 20, 40, &rr), SL_E_RANGE);
    assert_int_equal(ss_log_read(l, 10, 1 << 20, 40, &rr), 0);
    assert_true(rr.length > 0);

    assert_int_equal(ss_log_delete_before(l, 30), 2);
    assert_int_equal(ss_log_start(l), 30);
    assert_int_equal(ss_log_segment_count(l), 1);
    /* Never the active segment. */
    assert_int_equal(ss_log_delete_before(l, 1000), 0);
    assert_int_equal(ss_log_segment_count(l), 1);
    assert_int_equal(ss_log_start(l), 30);
    assert_int_equal(ss_log_end(l), 40);
    assert_int_equal(ss_log_close(l), 0);
    ss_log_rele(l);

    l = open_log("t/0");
    assert_int_equal(ss_log_start(l), 30);
    assert_int_equal(ss_log_end(l), 40);
    assert_int_equal(ss_log_read(l, 30, 1 << 20, 40, &rr), 0);
    assert_true(rr.length > 0);
    /* Roll, then delete everything sealed: the log is empty at its end. */
    assert_int_equal(ss_log_roll(l), 0);
    assert_int_equal(ss_log_delete_before(l, ss_log_end(l)), 1);
    assert_int_equal(ss_log_start(l), 40);
    assert_int_equal(ss_log_end(l), 40);
    assert_int_equal(ss_log_read(l, 40, 1 << 20, 40, &rr), 0);
    assert_int_equal(rr.length, 0);
    append_plain(l, 2);
    assert_int_equal(ss_log_end(l), 42);
    assert_int_equal(ss_log_close(l), 0);
    ss_log_rele(l);
    l = open_log("t/0");
    assert_int_equal(ss_log_start(l), 40);
    assert_int_equal(ss_log_end(l), 42);
    ss_log_rele(l);
}

int
main(void)
{
    sl_log_set_level(SL_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_retry_is_duplicate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_window_of_five, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequence_gap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_epochs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_producer_any_sequence,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequence_wraps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequence_wraps_inside_batch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_one_idempotent_batch_per_call,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_batch_not_recorded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_across_roll, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restart_with_snapshot, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_crash_replays_past_snapshot, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_at_roll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_past_end, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_roll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_before, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
