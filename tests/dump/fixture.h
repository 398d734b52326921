/*
 * fixture.h — a test-only writer of Sluice segment data, written from
 * docs/format.md, for the sluice-dump tests.  It is deliberately a second,
 * independent implementation of the format (it shares nothing with
 * tools/dump/dump_verify.c beyond sl_batch's batch builder), so that the
 * tests check the reader against the spec rather than against itself.
 *
 * Aborts the test on allocation or I/O failure: fixtures are not the code
 * under test.
 */
#ifndef DUMP_FIXTURE_H
#define DUMP_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "sl_batch.h"

typedef struct fx_batch {
    size_t pos, len;
    int64_t base, next, max_ts;
} fx_batch;

/* A segment being built in memory. */
typedef struct fx_seg {
    int64_t base;
    int64_t next; /* offset the next batch gets */
    sl_buf data;
    fx_batch *b;
    size_t nb, cap;
} fx_seg;

void fx_seg_init(fx_seg *s, int64_t base);
void fx_seg_fini(fx_seg *s);

/* Append a finished batch (from sl_batch_builder), stamping its baseOffset
 * with s->next as segstore does. */
void fx_seg_add_batch(fx_seg *s, const uint8_t *batch, size_t len);

/* Append a batch of n records with timestamps ts, ts+1, ...: key "k<off>",
 * value "value-<off>", one header "h" = "x<off>". */
void fx_seg_add(fx_seg *s, int n, int64_t ts);

/* Index file bytes for the prefix [0, covered) of s (a batch boundary),
 * entries per index.interval.bytes = interval.  kind 0 = .index,
 * 1 = .timeindex. */
void fx_index_build(const fx_seg *s, int kind, size_t covered, int sealed,
                    size_t interval, sl_buf *out);

/* Recompute both digests of index bytes after a test edited them. */
void fx_index_redigest(uint8_t *p, size_t n);

/* File helpers. */
void fx_write(const char *path, const void *p, size_t n);
char *fx_path(const char *dir, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* <dir>/<base>.log with `zeros` preallocated zero bytes after the data. */
void fx_write_segment(const char *dir, const fx_seg *s, size_t zeros);
/* <dir>/<base>.index and .timeindex covering [0, covered). */
void fx_write_indexes(const char *dir, const fx_seg *s, size_t covered,
                      int sealed, size_t interval);
/* A fresh directory under $SL_TEST_TMP (or /tmp); caller frees. */
char *fx_tmpdir(const char *tag);
void fx_mkdir(const char *path);
/* Remove a directory tree made by a test (left in place when a test fails,
 * for inspection). */
void fx_rmtree(const char *dir);

#endif /* DUMP_FIXTURE_H */
