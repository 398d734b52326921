/*
 * dump_out.h — how sluice-dump prints what it finds: one text line or one
 * JSON object (JSON Lines) per segment, batch, record, index entry and
 * problem, and a final summary.  The formats are described in docs/tools.md;
 * scripts rely on them, so change them only together with that page.
 *
 * Not thread-safe; all output goes to one stdio stream.
 */
#ifndef DUMP_OUT_H
#define DUMP_OUT_H

#include <stdio.h>

#include "dump_verify.h"

/* Default number of key/value/header bytes shown before truncating. */
#define DUMP_OUT_DEFAULT_LIMIT 256

typedef struct dump_out {
    FILE *f;
    int json;     /* JSON Lines instead of text */
    size_t limit; /* bytes of a key or value shown; 0 = no limit (--full) */
} dump_out;

typedef struct dump_stats {
    uint64_t files, segments, indexes, batches, records;
    uint64_t corrupt, warnings, errors;
} dump_stats;

/* Severity names for problems, including the tool's own I/O errors. */
enum { DUMP_OUT_ERROR = 3 };

void dump_out_segment_begin(dump_out *o, const char *path, int has_base,
                            int64_t base, size_t size);
void dump_out_segment_end(dump_out *o, const char *path, const dump_seg *s);
void dump_out_batch(dump_out *o, const char *path, const dump_batch *b);
/* The records of b, one per line; for a compressed batch a note saying the
 * records are not decoded.  Stops quietly at a record that does not parse
 * (the walker reports it when asked to check records). */
void dump_out_records(dump_out *o, const char *path, const dump_batch *b);
/* Header and entries of an index file. */
void dump_out_index(dump_out *o, const char *path, const dump_index *ix);
/* A problem: in JSON mode an object on the output stream; in text mode
 * nothing (the caller writes problems to stderr in both modes). */
void dump_out_problem(dump_out *o, const char *path, int severity, int64_t pos,
                      const char *msg);
void dump_out_summary(dump_out *o, const dump_stats *st, const char *status);

/* Write s as a JSON string (quotes included) to f; bytes that are not valid
 * UTF-8 become U+FFFD. */
void dump_out_json_str(FILE *f, const char *s);

#endif /* DUMP_OUT_H */
