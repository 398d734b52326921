/*
 * dump_cli_test.c — runs the sluice-dump binary ($SLUICE_DUMP) on data
 * directories written by fixture.c and checks its output, its stderr and its
 * exit status (0 sound, 1 corrupt, 2 usage/I/O) as docs/tools.md describes.
 * JSON output is parsed with $SLUICE_PYTHON (Debian's /usr/bin/python3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"

/* ---- running the binary ------------------------------------------------ */

typedef struct run {
    int status; /* exit status, or 128 + signal */
    char *out, *err;
    char *out_path;
} run;

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Run sluice-dump with the NULL-terminated arguments, output kept in dir. */
static void
run_dump(run *r, const char *dir, ...)
{
    const char *bin = getenv("SLUICE_DUMP");
    const char *argv[32];
    int argc = 0, wst;
    char *err_path = fx_path(dir, "stderr.txt");
    va_list ap;
    pid_t pid;

    assert_non_null(bin);
    r->out_path = fx_path(dir, "stdout.txt");
    argv[argc++] = bin;
    va_start(ap, dir);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(r->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(126);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &wst, 0), pid);
    r->status = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
    r->out = slurp(r->out_path);
    r->err = slurp(err_path);
    free(err_path);
    /* Sanitizers exit 1 too, which would pass for "corrupt". */
    if (strstr(r->err, "Sanitizer") != NULL ||
        strstr(r->err, "runtime error:") != NULL)
        fail_msg("sanitizer report from sluice-dump:\n%s", r->err);
}

static void
run_free(run *r)
{
    free(r->out);
    free(r->err);
    free(r->out_path);
    memset(r, 0, sizeof(*r));
}

/* Lines of s starting with prefix ("" counts all lines). */
static int
count_lines(const char *s, const char *prefix)
{
    int n = 0;
    size_t k = strlen(prefix);

    for (const char *l = s; *l != '\0';) {
        const char *e = strchr(l, '\n');
        if (strncmp(l, prefix, k) == 0)
            n++;
        if (e == NULL)
            break;
        l = e + 1;
    }
    return n;
}

#define assert_contains(hay, needle)                                           \
    do {                                                                       \
        if (strstr((hay), (needle)) == NULL)                                   \
            fail_msg("\"%s\" not found in:\n%s", (needle), (hay));             \
    } while (0)

#define assert_lacks(hay, needle)                                              \
    do {                                                                       \
        if (strstr((hay), (needle)) != NULL)                                   \
            fail_msg("\"%s\" unexpectedly found in:\n%s", (needle), (hay));    \
    } while (0)

/* Every stdout line parses as JSON and the last is the summary. */
static void
assert_json_lines(const run *r)
{
    const char *py = getenv("SLUICE_PYTHON");
    char cmd[1024];

    snprintf(cmd, sizeof(cmd),
             "%s -c 'import json,sys; o=[json.loads(l) for l in sys.stdin]; "
             "assert o and o[-1][\"type\"] == \"summary\"' < '%s'",
             py ? py : "/usr/bin/python3", r->out_path);
    if (system(cmd) != 0)
        fail_msg("output is not JSON Lines:\n%s", r->out);
}

/* ---- fixtures ---------------------------------------------------------- */

/* A batch whose records exercise the printer: null key, binary value,
 * a long value, quotes and a newline, binary and null headers. */
static void
add_odd_batch(fx_seg *s, int64_t ts)
{
    static const uint8_t bin[] = {0x00, 0x01, 0x02, 0xff};
    char longv[1000];
    sl_buf out;
    sl_batch_builder bb;
    sl_slice key = sl_slice_str("odd"), v;
    sl_record_header h[3] = {
        {sl_slice_str("trace"), 0, sl_slice_str("abc")},
        {sl_slice_str("bin"), 0, sl_slice_make(bin, 2)},
        {sl_slice_str("nullh"), 1, sl_slice_make(NULL, 0)},
    };

    memset(longv, 'a', sizeof(longv));
    sl_buf_init(&out);
    assert_int_equal(sl_batch_builder_init(&bb, &out, ts), 0);
    v = sl_slice_make(bin, sizeof(bin));
    assert_int_equal(sl_batch_builder_add(&bb, ts, NULL, &v, h, 3), 0);
    v = sl_slice_make(longv, sizeof(longv));
    assert_int_equal(sl_batch_builder_add(&bb, ts + 1, &key, &v, NULL, 0), 0);
    v = sl_slice_str("say \"hi\"\n");
    assert_int_equal(sl_batch_builder_add(&bb, ts + 2, &key, NULL, NULL, 0), 0);
    assert_int_equal(sl_batch_builder_add(&bb, ts + 3, &key, &v, NULL, 0), 0);
    fx_seg_add_batch(s, out.p, sl_batch_builder_finish(&bb));
    sl_buf_fini(&out);
}

/* A sound partition: two sealed segments and an active one with a zero
 * tail whose checkpoint covers only its first batch. */
typedef struct part {
    fx_seg seg[3];
    int nbatches;
} part;

#define ACTIVE_TAIL 4096

static void
make_partition(const char *dir, part *p, int64_t gap)
{
    fx_seg *s = p->seg;

    fx_mkdir(dir);
    fx_seg_init(&s[0], 0);
    fx_seg_add(&s[0], 3, 1000);
    add_odd_batch(&s[0], 1100);
    fx_seg_add(&s[0], 2, 1200);
    fx_seg_add(&s[0], 1, 1150);
    fx_seg_init(&s[1], s[0].next + gap);
    fx_seg_add(&s[1], 5, 2000);
    fx_seg_add(&s[1], 5, 2100);
    fx_seg_add(&s[1], 5, 2200);
    fx_seg_init(&s[2], s[1].next);
    fx_seg_add(&s[2], 2, 3000);
    fx_seg_add(&s[2], 2, 3100);
    fx_write_segment(dir, &s[0], 0);
    fx_write_indexes(dir, &s[0], s[0].data.n, 1, 200);
    fx_write_segment(dir, &s[1], 0);
    fx_write_indexes(dir, &s[1], s[1].data.n, 1, 1);
    fx_write_segment(dir, &s[2], ACTIVE_TAIL);
    fx_write_indexes(dir, &s[2], s[2].b[0].len, 0, 4096);
    p->nbatches = (int)(s[0].nb + s[1].nb + s[2].nb);
}

static void
part_fini(part *p)
{
    for (int i = 0; i < 3; i++)
        fx_seg_fini(&p->seg[i]);
}

static void
flip_byte(const char *path, size_t pos, uint8_t mask)
{
    int fd = open(path, O_RDWR);
    uint8_t c;

    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, (off_t)pos), 1);
    c ^= mask;
    assert_int_equal(pwrite(fd, &c, 1, (off_t)pos), 1);
    close(fd);
}

static char *
seg_path(const char *dir, int64_t base, const char *ext)
{
    return fx_path(dir, "%020lld.%s", (long long)base, ext);
}

/* ---- tests ------------------------------------------------------------- */

static void
t_sound_partition(void **state)
{
    char *tmp = fx_tmpdir("dump-sound");
    char *dir = fx_path(tmp, "0");
    part p;
    run r;
    (void)state;

    make_partition(dir, &p, 0);
    run_dump(&r, tmp, dir, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_int_equal(count_lines(r.out, "batch "), p.nbatches);
    assert_int_equal(count_lines(r.out, "segment "), 3);
    /* segment + end per segment, a line per batch, the summary */
    assert_int_equal(count_lines(r.out, ""), 3 * 2 + p.nbatches + 1);
    assert_contains(r.out, "batch base=0 last=2 count=3 first_ts=1000 "
                           "max_ts=1002 ts_type=CreateTime pos=0 ");
    assert_contains(r.out, "codec=none producer_id=-1 producer_epoch=-1 "
                           "base_seq=-1 txn=no control=no crc=ok\n");
    assert_contains(r.out, "tail=zero tail_bytes=4096");
    assert_contains(r.out, "status=ok");
    assert_lacks(r.out, "crc=BAD");
    run_free(&r);

    run_dump(&r, tmp, "--verify", dir, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_contains(r.out, "indexes=6 ");
    run_free(&r);

    run_dump(&r, tmp, "--verify", "--json", "--records", dir, NULL);
    assert_int_equal(r.status, 0);
    assert_json_lines(&r);
    assert_int_equal(count_lines(r.out, "{\"type\":\"batch\""), p.nbatches);
    assert_contains(r.out, "\"status\":\"ok\"");
    run_free(&r);
    part_fini(&p);
    free(dir);
    fx_rmtree(tmp);
    free(tmp);
}

static void
t_records(void **state)
{
    char *tmp = fx_tmpdir("dump-records");
    char *dir = fx_path(tmp, "0");
    char *seg0;
    part p;
    run r;
    (void)state;

    make_partition(dir, &p, 0);
    seg0 = seg_path(dir, 0, "log");
    run_dump(&r, tmp, "--records", seg0, NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "  record offset=0 ts=1000 key=\"k0\" "
                           "value=\"value-0\" headers={\"h\":\"x0\"}\n");
    assert_contains(r.out, "  record offset=3 ts=1100 key=null "
                           "value=hex:000102ff headers={\"trace\":\"abc\","
                           "\"bin\":hex:0001,\"nullh\":null}\n");
    assert_contains(r.out, "...[len=1000]");
    assert_contains(r.out, "key=\"odd\" value=null");
    assert_contains(r.out, "value=\"say \\\"hi\\\"\\n\"");
    assert_int_equal(count_lines(r.out, "  record "), 3 + 4 + 2 + 1);
    run_free(&r);

    run_dump(&r, tmp, "--records", "--full", seg0, NULL);
    assert_int_equal(r.status, 0);
    assert_lacks(r.out, "...[len=");
    char aaa[1003];
    memset(aaa, 'a', 1000);
    memcpy(aaa + 1000, "\"", 2);
    assert_contains(r.out, aaa);
    run_free(&r);

    run_dump(&r, tmp, "--records", "--json", seg0, NULL);
    assert_int_equal(r.status, 0);
    assert_json_lines(&r);
    assert_contains(r.out, "\"key\":null,\"key_hex\":false,"
                           "\"value\":\"000102ff\",\"value_hex\":true");
    assert_contains(r.out, "\"value_truncated\":true,\"value_len\":1000");
    assert_contains(r.out, "\"value\":\"say \\\"hi\\\"\\n\"");
    run_free(&r);
    free(seg0);
    part_fini(&p);
    free(dir);
    fx_rmtree(tmp);
    free(tmp);
}

/* A flipped bit under a batch's CRC: crc=BAD and exit 1 even without
 * --verify; stderr names the file and the batch's position. */
static void
t_crc_flip(void **state)
{
    char *tmp = fx_tmpdir("dump-crc");
    char *dir = fx_path(tmp, "0");
    char *seg1, want[1024];
    part p;
    run r;
    (void)state;

    make_partition(dir, &p, 0);
    seg1 = seg_path(dir, p.seg[1].base, "log");
    size_t pos = p.seg[1].b[1].pos;
    flip_byte(seg1, pos + 70, 0x04);
    snprintf(want, sizeof(want),
             "corrupt: %s: position %zu: batch crc mismatch (stored 0x", seg1,
             pos);
    run_dump(&r, tmp, dir, NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.out, "crc=BAD");
    assert_int_equal(count_lines(r.out, "batch "), p.nbatches);
    assert_contains(r.err, want);
    assert_int_equal(count_lines(r.err, ""), 1);
    run_free(&r);

    run_dump(&r, tmp, "--verify", "--json", dir, NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, want);
    assert_json_lines(&r);
    assert_contains(r.out, "{\"type\":\"problem\",\"severity\":\"corrupt\"");
    assert_contains(r.out, "\"crc\":\"BAD\"");
    assert_contains(r.out, "\"status\":\"corrupt\"");
    run_free(&r);
    free(seg1);
    part_fini(&p);
    free(dir);
    fx_rmtree(tmp);
    free(tmp);
}

/* Segments must continue each other's offsets ([partition-continuity]);
 * only --verify checks across segments. */
static void
t_offset_gap(void **state)
{
    char *tmp = fx_tmpdir("dump-gap");
    char *dir = fx_path(tmp, "0");
    char *seg1, want[1024];
    part p;
    run r;
    (void)state;

    make_partition(dir, &p, 5);
    seg1 = seg_path(dir, p.seg[1].base, "log");
    run_dump(&r, tmp, dir, NULL);
    assert_int_equal(r.status, 0);
    run_free(&r);
    run_dump(&r, tmp, "--verify", dir, NULL);
    assert_int_equal(r.status, 1);
    snprintf(want, sizeof(want), "corrupt: %s: position 0: offset gap", seg1);
    assert_contains(r.err, want);
    run_free(&r);
    free(seg1);
    part_fini(&p);
    free(dir);
    fx_rmtree(tmp);
    free(tmp);
}

static void
t_bad_index_digest(void **state)
{
    char *tmp = fx_tmpdir("dump-ixdigest");
    char *dir = fx_path(tmp, "0");
    char *ix, want[1024];
    part p;
    run r;
    (void)state;

    make_partition(dir, &p, 0);
    ix = seg_path(dir, 0, "index");
    flip_byte(ix, 64 + 5, 0x01);
    run_dump(&r, tmp, "--verify", dir, NULL);
    assert_int_equal(r.status, 1);
    snprintf(want, sizeof(want),
             "corrupt: %s: position 48: index entries digest mismatch", ix);
    assert_contains(r.err, want);
    run_free(&r);

    /* Dumping the index itself shows the digest as BAD and exits 1. */
    run_dump(&r, tmp, ix, NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.out, "entries_xxh3=BAD");
    run_free(&r);

    /* And a bad header digest. */
    flip_byte(ix, 64 + 5, 0x01);
    flip_byte(ix, 33, 0x01);
    run_dump(&r, tmp, "--verify", dir, NULL);
    assert_int_equal(r.status, 1);
    snprintf(want, sizeof(want),
             "corrupt: %s: position 56: index header digest mismatch", ix);
    assert_contains(r.err, want);
    run_free(&r);
    free(ix);
    part_fini(&p);
    free(dir);
    fx_rmtree(tmp);
    free(tmp);
}

/* An index whose digests are right but whose content disagrees with the
 * segment: an entry pointing into the middle of a batch. */
static void
t_index_inconsistent(void **state)
{
    char *tmp = fx_tmpdir("dump-ixcross");
    char *dir = fx_path(tmp, "0");
    char *ix, want[1024];
    sl_buf b;
    part p;
    run r;
    (void)state;

    make_partition(dir, &p, 0);
    ix = seg_path(dir, p.seg[1].base, "index");
    fx_index_build(&p.seg[1], 0, p.seg[1].data.n, 1, 1, &b);
    sl_put_u32be(b.p + 64 + 8 + 4, (uint32_t)p.seg[1].b[1].pos + 3);
    fx_index_redigest(b.p, b.n);
    fx_write(ix, b.p, b.n);
    sl_buf_fini(&b);

    run_dump(&r, tmp, "--verify", dir, NULL);
    assert_int_equal(r.status, 1);
    snprintf(want, sizeof(want),
             "corrupt: %s: position 72: entry 1: position %zu is not the "
             "start of a batch",
             ix, p.seg[1].b[1].pos + 3);
    assert_contains(r.err, want);
    run_free(&r);

    /* The index alone is self-consistent; --verify on it walks its
     * segment too. */
    run_dump(&r, tmp, ix, NULL);
    assert_int_equal(r.status, 0);
    run_free(&r);
    run_dump(&r, tmp, "--verify", ix, NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, want);
    run_free(&r);

    /* Sealed flag but the index covers only part of the segment. */
    fx_index_build(&p.seg[1], 0, p.seg[1].b[2].pos, 1, 1, &b);
    fx_write(ix, b.p, b.n);
    sl_buf_fini(&b);
    run_dump(&r, tmp, "--verify", dir, NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "index is marked sealed but covers");
    run_free(&r);
    free(ix);
    part_fini(&p);
    free(dir);
    fx_rmtree(tmp);
    free(tmp);
}

static void
t_index_path(void **state)
{
    char *tmp = fx_tmpdir("dump-ixpath");
    char *dir = fx_path(tmp, "0");
    char *ix, *tix;
    part p;
    run r;
    (void)state;

    make_partition(dir, &p, 0);
    ix = seg_path(dir, p.seg[1].base, "index");
    tix = seg_path(dir, p.seg[1].base, "timeindex");
    run_dump(&r, tmp, ix, NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "kind=offset size=88 magic=SLIX version=1 "
                           "flags=0x0001 sealed=yes base=10 ");
    assert_contains(r.out, "entries=3 entry_size=8 header_xxh3=ok "
                           "entries_xxh3=ok\n");
    assert_int_equal(count_lines(r.out, "  entry "), 3);
    assert_int_equal(count_lines(r.out, ""), 1 + 3 + 1);
    run_free(&r);

    run_dump(&r, tmp, "--verify", "--json", tix, NULL);
    assert_int_equal(r.status, 0);
    assert_json_lines(&r);
    assert_contains(r.out, "\"kind\":\"time\"");
    assert_int_equal(count_lines(r.out, "{\"type\":\"index_entry\""), 3);
    run_free(&r);
    free(ix);
    free(tix);
    part_fini(&p);
    free(dir);
    fx_rmtree(tmp);
    free(tmp);
}

/* Non-zero bytes in the preallocated tail of the active segment. */
static void
t_garbage_tail(void **state)
{
    char *tmp = fx_tmpdir("dump-garbage");
    char *dir = fx_path(tmp, "0");
    char *seg2, want[1024];
    part p;
    run r;
    (void)state;

    make_partition(dir, &p, 0);
    seg2 = seg_path(dir, p.seg[2].base, "log");
    size_t at = p.seg[2].data.n + 1000;
    flip_byte(seg2, at, 0x80);
    run_dump(&r, tmp, dir, NULL);
    assert_int_equal(r.status, 1);
    snprintf(want, sizeof(want), "corrupt: %s: position %zu: non-zero byte",
             seg2, at);
    assert_contains(r.err, want);
    assert_contains(r.out, "tail=garbage");
    run_free(&r);
    free(seg2);
    part_fini(&p);
    free(dir);
    fx_rmtree(tmp);
    free(tmp);
}

/* A torn write: the last batch of the active segment cut short. */
static void
t_truncated_batch(void **state)
{
    char *tmp = fx_tmpdir("dump-trunc");
    char *dir = fx_path(tmp, "0");
    char *seg2, want[1024];
    part p;
    run r;
    (void)state;

    make_partition(dir, &p, 0);
    seg2 = seg_path(dir, p.seg[2].base, "log");
    const fx_batch *last = &p.seg[2].b[1];
    assert_int_equal(truncate(seg2, (off_t)(last->pos + last->len - 7)), 0);
    run_dump(&r, tmp, "--verify", dir, NULL);
    assert_int_equal(r.status, 1);
    snprintf(want, sizeof(want), "corrupt: %s: position %zu: truncated batch",
             seg2, last->pos);
    assert_contains(r.err, want);
    assert_int_equal(count_lines(r.out, "batch "), p.nbatches - 1);
    run_free(&r);
    free(seg2);
    part_fini(&p);
    free(dir);
    fx_rmtree(tmp);
    free(tmp);
}

/* A lone active segment with only preallocated zeros after its data. */
static void
t_zero_tail(void **state)
{
    char *tmp = fx_tmpdir("dump-zero");
    char *path;
    fx_seg s;
    run r;
    (void)state;

    fx_seg_init(&s, 500);
    fx_seg_add(&s, 4, 7000);
    fx_write_segment(tmp, &s, 1 << 20);
    fx_write_indexes(tmp, &s, s.data.n, 0, 4096);
    path = seg_path(tmp, 500, "log");
    run_dump(&r, tmp, "--verify", "--records", path, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_contains(r.out, "tail=zero tail_bytes=1048576");
    assert_contains(r.out, "next_offset=504");
    run_free(&r);
    free(path);
    fx_seg_fini(&s);
    fx_rmtree(tmp);
    free(tmp);
}

/* A missing index is a warning (segstore rebuilds it), not corruption. */
static void
t_missing_index(void **state)
{
    char *tmp = fx_tmpdir("dump-noindex");
    char *dir = fx_path(tmp, "0");
    char *tix, want[1024];
    part p;
    run r;
    (void)state;

    make_partition(dir, &p, 0);
    tix = seg_path(dir, p.seg[1].base, "timeindex");
    assert_int_equal(unlink(tix), 0);
    run_dump(&r, tmp, "--verify", dir, NULL);
    assert_int_equal(r.status, 0);
    snprintf(want, sizeof(want), "warning: %s: missing time index", tix);
    assert_contains(r.err, want);
    assert_contains(r.out, "warnings=1 ");
    run_free(&r);
    free(tix);
    part_fini(&p);
    free(dir);
    fx_rmtree(tmp);
    free(tmp);
}

static void
t_empty_files(void **state)
{
    char *tmp = fx_tmpdir("dump-empty");
    char *log = seg_path(tmp, 0, "log");
    char *ix = seg_path(tmp, 0, "index");
    run r;
    (void)state;

    fx_write(log, "", 0);
    run_dump(&r, tmp, log, NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "batches=0 ");
    run_free(&r);
    run_dump(&r, tmp, "--verify", log, NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.err, "warning: ");
    run_free(&r);

    fx_write(ix, "", 0);
    run_dump(&r, tmp, ix, NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "shorter than its 64-byte header");
    run_free(&r);
    free(log);
    free(ix);
    fx_rmtree(tmp);
    free(tmp);
}

/* Random bytes under every name: corrupt, never a crash. */
static void
t_random_files(void **state)
{
    static const char *exts[] = {"log", "index", "timeindex"};
    char *tmp = fx_tmpdir("dump-random");
    uint8_t buf[10000];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    (void)state;

    for (size_t i = 0; i < sizeof(buf); i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    for (size_t k = 0; k < SL_ARRAY_LEN(exts); k++) {
        char *path = seg_path(tmp, 0, exts[k]);
        run r;
        fx_write(path, buf, sizeof(buf));
        run_dump(&r, tmp, path, NULL);
        assert_int_equal(r.status, 1);
        run_free(&r);
        run_dump(&r, tmp, "--verify", "--records", "--json", path, NULL);
        assert_int_equal(r.status, 1);
        assert_json_lines(&r);
        run_free(&r);
        free(path);
    }
    fx_rmtree(tmp);
    free(tmp);
}

/* A topic directory (topic.meta + partitions) inside a data directory. */
static void
write_meta(const char *topic_dir, const char *name, int partitions)
{
    char body[512], file[600];
    char *path = fx_path(topic_dir, "topic.meta");

    snprintf(body, sizeof(body),
             "# sluice topic metadata\nversion=1\nname=%s\npartitions=%d\n"
             "created.ms=1795000000000\n",
             name, partitions);
    snprintf(file, sizeof(file), "%sxxh3=%016llx\n", body,
             (unsigned long long)sl_xxh3(body, strlen(body)));
    fx_write(path, file, strlen(file));
    free(path);
}

static void
t_topic_and_data_dir(void **state)
{
    char *tmp = fx_tmpdir("dump-topic");
    char *data = fx_path(tmp, "data");
    char *topic = fx_path(data, "orders");
    char *p0 = fx_path(topic, "0"), *p1 = fx_path(topic, "1");
    char *id = fx_path(data, "segstore.id");
    char *deleted = fx_path(data, "old~1795000000000.deleted");
    char *meta = fx_path(topic, "topic.meta");
    part a, b;
    run r;
    (void)state;

    fx_mkdir(data);
    fx_mkdir(topic);
    fx_mkdir(deleted);
    make_partition(p0, &a, 0);
    make_partition(p1, &b, 0);
    write_meta(topic, "orders", 2);
    fx_write(id, "0123456789abcdef0123456789abcdef\n", 33);
    /* Ignored: a deleted topic awaiting removal, holding garbage. */
    char *junk = fx_path(deleted, "00000000000000000000.log");
    fx_write(junk, "garbage garbage garbage", 23);
    free(junk);

    run_dump(&r, tmp, "--verify", topic, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_int_equal(count_lines(r.out, "segment "), 6);
    run_free(&r);

    run_dump(&r, tmp, "--verify", data, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_int_equal(count_lines(r.out, "batch "), a.nbatches + b.nbatches);
    run_free(&r);

    /* A topic.meta whose digest no longer matches. */
    flip_byte(meta, 30, 0x01);
    run_dump(&r, tmp, "--verify", topic, NULL);
    assert_int_equal(r.status, 1);
    assert_contains(r.err, "topic.meta digest mismatch");
    run_free(&r);

    part_fini(&a);
    part_fini(&b);
    free(meta);
    free(deleted);
    free(id);
    free(p0);
    free(p1);
    free(topic);
    free(data);
    fx_rmtree(tmp);
    free(tmp);
}

/* A gzip batch: shown, its records not decoded, and sound. */
static void
t_compressed(void **state)
{
    char *tmp = fx_tmpdir("dump-gzip");
    char *path;
    fx_seg s;
    run r;
    (void)state;

    fx_seg_init(&s, 0);
    fx_seg_add(&s, 2, 100);
    uint8_t *b = s.data.p + s.b[0].pos;
    /* The records are not really gzip, which is the point: the tool must
     * not try to read them. */
    sl_put_u16be(b + 21, SL_COMPRESSION_GZIP);
    sl_put_u32be(b + 17, sl_crc32c(b + 21, s.b[0].len - 21));
    fx_write_segment(tmp, &s, 0);
    fx_write_indexes(tmp, &s, s.data.n, 0, 4096);
    path = seg_path(tmp, 0, "log");
    run_dump(&r, tmp, "--verify", "--records", path, NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "codec=gzip");
    assert_contains(r.out, "  records compressed with gzip, not decoded\n");
    assert_lacks(r.out, "  record offset");
    run_free(&r);
    free(path);
    fx_seg_fini(&s);
    fx_rmtree(tmp);
    free(tmp);
}

static void
t_usage(void **state)
{
    char *tmp = fx_tmpdir("dump-usage");
    char *missing = fx_path(tmp, "nope");
    char *log = seg_path(tmp, 0, "log");
    char *other = fx_path(tmp, "notes.txt");
    run r;
    (void)state;

    run_dump(&r, tmp, NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "usage:");
    run_free(&r);
    run_dump(&r, tmp, "--bogus", tmp, NULL);
    assert_int_equal(r.status, 2);
    run_free(&r);
    run_dump(&r, tmp, "--help", NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "usage: sluice-dump");
    run_free(&r);
    run_dump(&r, tmp, "--version", NULL);
    assert_int_equal(r.status, 0);
    assert_contains(r.out, "sluice-dump " SLUICE_VERSION);
    run_free(&r);
    run_dump(&r, tmp, missing, NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "error: ");
    assert_contains(r.err, missing);
    run_free(&r);
    fx_write(other, "hello", 5);
    run_dump(&r, tmp, other, NULL);
    assert_int_equal(r.status, 2);
    run_free(&r);

    /* An I/O error outranks corruption found elsewhere. */
    fx_write(log, "\1\2\3\4\5\6\7\10\11\12\13\14\15", 13);
    run_dump(&r, tmp, log, missing, NULL);
    assert_int_equal(r.status, 2);
    assert_contains(r.err, "corrupt: ");
    run_free(&r);
    free(other);
    free(log);
    free(missing);
    fx_rmtree(tmp);
    free(tmp);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_sound_partition),
        cmocka_unit_test(t_records),
        cmocka_unit_test(t_crc_flip),
        cmocka_unit_test(t_offset_gap),
        cmocka_unit_test(t_bad_index_digest),
        cmocka_unit_test(t_index_inconsistent),
        cmocka_unit_test(t_index_path),
        cmocka_unit_test(t_garbage_tail),
        cmocka_unit_test(t_truncated_batch),
        cmocka_unit_test(t_zero_tail),
        cmocka_unit_test(t_missing_index),
        cmocka_unit_test(t_empty_files),
        cmocka_unit_test(t_random_files),
        cmocka_unit_test(t_topic_and_data_dir),
        cmocka_unit_test(t_compressed),
        cmocka_unit_test(t_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
