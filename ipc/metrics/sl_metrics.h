/*
 * sl_metrics.h — process metrics in the Prometheus text exposition format
 * (version 0.0.4), served over HTTP at /metrics by every Sluice daemon.
 *
 * A registry holds metric families (counter, gauge, histogram), each with
 * one or more series distinguished by a fixed label string given at
 * registration (`op="APPEND"`).  Updates are lock-free (relaxed atomics),
 * so any thread may count; rendering reads them without stopping writers
 * (a scrape sees each value at some instant, not one global instant).
 * Values that are cheaper to read at scrape time than to maintain (log
 * sizes, connections) come from collectors: callbacks run during
 * rendering that emit gauge or counter samples.
 *
 * Rendering (sl_metrics_render) is a pure function of the registry and the
 * collectors' output, tested without a socket.  sl_metrics_http serves it
 * on a libuv loop.
 *
 * Lifetime: metrics returned by the registration functions live as long as
 * the registry.  Register everything before serving; registration is not
 * thread-safe, updates are.
 */
#ifndef SL_METRICS_H
#define SL_METRICS_H

#include "sl_base.h"

#include <stdatomic.h>
#include <uv.h>

typedef struct sl_metrics sl_metrics;

typedef struct sl_counter {
    _Atomic uint64_t v;
} sl_counter;

typedef struct sl_gauge {
    _Atomic int64_t v;
} sl_gauge;

#define SL_HISTO_MAX_BUCKETS 24
typedef struct sl_histo {
    size_t nb;
    double bounds[SL_HISTO_MAX_BUCKETS]; /* upper bounds, ascending */
    _Atomic uint64_t counts[SL_HISTO_MAX_BUCKETS + 1]; /* last: +Inf */
    _Atomic uint64_t sum_micro; /* sum of observations x 1e6 */
} sl_histo;

sl_metrics *sl_metrics_new(void);
void sl_metrics_free(sl_metrics *m);

/* Register a series.  name must match [a-zA-Z_:][a-zA-Z0-9_:]*; labels is
 * "" or `key="value",...` (values escaped by the caller).  Registering the
 * same name again adds a series to the family (same help and type).
 * NULL on a bad name, a type clash or no memory. */
sl_counter *sl_metrics_counter(sl_metrics *m, const char *name,
                               const char *help, const char *labels);
sl_gauge *sl_metrics_gauge(sl_metrics *m, const char *name, const char *help,
                           const char *labels);
sl_histo *sl_metrics_histogram(sl_metrics *m, const char *name,
                               const char *help, const char *labels,
                               const double *bounds, size_t nbounds);

static inline void
sl_counter_add(sl_counter *c, uint64_t n)
{
    if (c)
        atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
}

static inline void
sl_gauge_set(sl_gauge *g, int64_t v)
{
    if (g)
        atomic_store_explicit(&g->v, v, memory_order_relaxed);
}

static inline void
sl_gauge_add(sl_gauge *g, int64_t d)
{
    if (g)
        atomic_fetch_add_explicit(&g->v, d, memory_order_relaxed);
}

void sl_histo_observe(sl_histo *h, double v);

/* Standard latency buckets in seconds: 50 µs .. 10 s. */
extern const double sl_metrics_latency_buckets[];
extern const size_t sl_metrics_latency_nbuckets;

/* ---- collectors ------------------------------------------------------ */

typedef struct sl_metrics_out sl_metrics_out;

/* Called during rendering; emit samples with sl_metrics_emit.  Samples of
 * one family must be emitted consecutively. */
typedef void (*sl_metrics_collect_fn)(void *arg, sl_metrics_out *out);
int sl_metrics_collector(sl_metrics *m, sl_metrics_collect_fn fn, void *arg);

enum { SL_METRIC_COUNTER = 1, SL_METRIC_GAUGE = 2, SL_METRIC_HISTOGRAM = 3 };

/* type: SL_METRIC_COUNTER or SL_METRIC_GAUGE. */
void sl_metrics_emit(sl_metrics_out *out, int type, const char *name,
                     const char *help, const char *labels, double value);

/* Render every family and the collectors' samples.  0 or -ENOMEM. */
int sl_metrics_render(sl_metrics *m, sl_buf *out);

/* Escape a label value for use inside `key="..."` (\\, \", \n). */
int sl_metrics_escape(sl_buf *out, sl_slice value);

/* ---- HTTP ---------------------------------------------------------------
 * A minimal HTTP/1.0-style server on `loop`: GET /metrics → 200 with the
 * rendered text; anything else → 404; a request head over 8 KiB or not
 * finished within 5 s → closed.  One response per connection.  listen is
 * "HOST:PORT" (port 0 picks one; see sl_metrics_http_port).
 */
typedef struct sl_metrics_http sl_metrics_http;

int sl_metrics_http_start(uv_loop_t *loop, const char *listen, sl_metrics *m,
                          sl_metrics_http **out, char *err, size_t errlen);
int sl_metrics_http_port(const sl_metrics_http *h);
/* Close the listener and every connection; the object is freed once the
 * loop has run the close callbacks.  NULL is fine. */
void sl_metrics_http_close(sl_metrics_http *h);

#endif /* SL_METRICS_H */
