/*
 * hist.c — the log-linear latency histogram of bench_impl.h.
 *
 * Bucket layout: v < 128 is bucket v.  Otherwise let m be the index of
 * v's highest set bit (7..63) and s = m - 6, so that v >> s is in
 * [64, 127]; the bucket is 128 + (s - 1) * 64 + ((v >> s) - 64).  A
 * bucket therefore spans 2^s values whose lower bound is at least 64 * 2^s:
 * the midpoint is within 1/128 of every value in it.
 */
#include "bench_impl.h"

#include <string.h>

static int
bucket_of(uint64_t v)
{
    if (v < 128)
        return (int)v;
    int m = 63 - __builtin_clzll(v);
    int s = m - 6;
    return 128 + (s - 1) * 64 + (int)((v >> s) - 64);
}

static uint64_t
bucket_mid(int i)
{
    if (i < 128)
        return (uint64_t)i;
    int s = (i - 128) / 64 + 1;
    uint64_t lo = (uint64_t)((i - 128) % 64 + 64) << s;
    return lo + ((UINT64_C(1) << s) >> 1);
}

void
bench_hist_init(bench_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

void
bench_hist_add(bench_hist *h, uint64_t v)
{
    h->count[bucket_of(v)]++;
    h->n++;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

uint64_t
bench_hist_quantile(const bench_hist *h, double q)
{
    if (h->n == 0)
        return 0;
    if (q <= 0)
        return h->min;
    if (q >= 1)
        return h->max;
    uint64_t rank = (uint64_t)(q * (double)h->n);
    if ((double)rank < q * (double)h->n)
        rank++; /* ceil */
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < BENCH_HIST_N; i++) {
        seen += h->count[i];
        if (seen >= rank) {
            uint64_t v = bucket_mid(i);
            return v < h->min ? h->min : v > h->max ? h->max : v;
        }
    }
    return h->max;
}
