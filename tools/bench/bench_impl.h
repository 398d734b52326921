/*
 * bench_impl.h — what the scenarios of sluice-bench share.  Private to
 * tools/bench/.
 */
#ifndef BENCH_IMPL_H
#define BENCH_IMPL_H

#include <stdint.h>

/*
 * A latency histogram of bounded size, in the manner of HdrHistogram:
 * values below 128 each have a bucket; above, every power of two is split
 * into 64 linear sub-buckets, so a reported value is within 1/128 (0.8 %)
 * of the true one, for any 64-bit value, in 3,776 counters (30 KiB).  Not
 * thread-safe: one writer, read after the writer is done.
 */
#define BENCH_HIST_N (128 + 57 * 64)

typedef struct bench_hist {
    uint64_t count[BENCH_HIST_N];
    uint64_t n;
    uint64_t min, max; /* exact */
} bench_hist;

void bench_hist_init(bench_hist *h);
void bench_hist_add(bench_hist *h, uint64_t v);
/* The value at quantile q (0..1): the midpoint of the bucket holding the
 * ceil(q * n)-th smallest value, clamped to [min, max]; 0 when empty. */
uint64_t bench_hist_quantile(const bench_hist *h, double q);

/* sluice-bench kafka ARGS... (argv[0] is the first option); exit status. */
int bench_kafka_main(int argc, char **argv);

/* sluice-bench mqtt ARGS... (argv[0] is the first option); exit status. */
int bench_mqtt_main(int argc, char **argv);

/* sluice-bench bridge ARGS...: MQTT publishers -> Kafka consumer. */
int bench_bridge_main(int argc, char **argv);

#endif
