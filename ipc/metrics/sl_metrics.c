/*
 * sl_metrics.c — the metrics registry and its Prometheus text rendering.
 *
 * Output format (Prometheus text exposition 0.0.4): per family one
 * `# HELP name text` and one `# TYPE name counter|gauge|histogram` line,
 * then its samples `name{labels} value`; histograms as cumulative
 * `name_bucket{...,le="b"}` lines ending with le="+Inf", then `name_sum`
 * and `name_count`.  Help text escapes \\ and newlines; label values are
 * escaped by whoever builds the label string (sl_metrics_escape).
 */
#include "sl_metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

const double sl_metrics_latency_buckets[] = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10,
};
const size_t sl_metrics_latency_nbuckets =
    sizeof(sl_metrics_latency_buckets) / sizeof(sl_metrics_latency_buckets[0]);

typedef struct series {
    char *labels;
    void *v; /* sl_counter / sl_gauge / sl_histo */
} series;

typedef struct family {
    char *name, *help;
    int type;
    series *s;
    size_t n, cap;
} family;

typedef struct collector {
    sl_metrics_collect_fn fn;
    void *arg;
} collector;

struct sl_metrics {
    family *f;
    size_t nf, capf;
    collector *c;
    size_t nc;
};

struct sl_metrics_out {
    sl_buf *b;
    const char *last; /* family of the previous emitted sample */
    char last_buf[128];
    int rc;
};

sl_metrics *
sl_metrics_new(void)
{
    return calloc(1, sizeof(sl_metrics));
}

void
sl_metrics_free(sl_metrics *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nf; i++) {
        family *f = &m->f[i];
        for (size_t k = 0; k < f->n; k++) {
            free(f->s[k].labels);
            free(f->s[k].v);
        }
        free(f->s);
        free(f->name);
        free(f->help);
    }
    free(m->f);
    free(m->c);
    free(m);
}

static int
name_ok(const char *n)
{
    if (n == NULL || *n == 0 || strlen(n) >= 120)
        return 0;
    for (const char *p = n; *p; p++) {
        int alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    *p == '_' || *p == ':';
        int digit = *p >= '0' && *p <= '9';
        if (!alpha && !(digit && p != n))
            return 0;
    }
    return 1;
}

static void *
add_series(sl_metrics *m, const char *name, const char *help, int type,
           const char *labels, size_t vsize)
{
    if (!name_ok(name))
        return NULL;
    family *f = NULL;
    for (size_t i = 0; i < m->nf; i++)
        if (strcmp(m->f[i].name, name) == 0)
            f = &m->f[i];
    if (f != NULL && f->type != type)
        return NULL;
    if (f == NULL) {
        if (m->nf == m->capf) {
            size_t cap = m->capf ? m->capf * 2 : 32;
            family *nf = realloc(m->f, cap * sizeof(*nf));
            if (nf == NULL)
                return NULL;
            m->f = nf;
            m->capf = cap;
        }
        f = &m->f[m->nf];
        memset(f, 0, sizeof(*f));
        f->name = strdup(name);
        f->help = strdup(help ? help : "");
        f->type = type;
        if (f->name == NULL || f->help == NULL) {
            free(f->name);
            free(f->help);
            return NULL;
        }
        m->nf++;
    }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 4;
        series *ns = realloc(f->s, cap * sizeof(*ns));
        if (ns == NULL)
            return NULL;
        f->s = ns;
        f->cap = cap;
    }
    void *v = calloc(1, vsize);
    char *l = strdup(labels ? labels : "");
    if (v == NULL || l == NULL) {
        free(v);
        free(l);
        return NULL;
    }
    f->s[f->n].labels = l;
    f->s[f->n].v = v;
    f->n++;
    return v;
}

sl_counter *
sl_metrics_counter(sl_metrics *m, const char *name, const char *help,
                   const char *labels)
{
    return add_series(m, name, help, SL_METRIC_COUNTER, labels,
                      sizeof(sl_counter));
}

sl_gauge *
sl_metrics_gauge(sl_metrics *m, const char *name, const char *help,
                 const char *labels)
{
    return add_series(m, name, help, SL_METRIC_GAUGE, labels, sizeof(sl_gauge));
}

sl_histo *
sl_metrics_histogram(sl_metrics *m, const char *name, const char *help,
                     const char *labels, const double *bounds, size_t nbounds)
{
    if (nbounds == 0 || nbounds > SL_HISTO_MAX_BUCKETS)
        return NULL;
    for (size_t i = 1; i < nbounds; i++)
        if (!(bounds[i] > bounds[i - 1]))
            return NULL;
    sl_histo *h = add_series(m, name, help, SL_METRIC_HISTOGRAM, labels,
                             sizeof(sl_histo));
    if (h != NULL) {
        h->nb = nbounds;
        memcpy(h->bounds, bounds, nbounds * sizeof(*bounds));
    }
    return h;
}

void
sl_histo_observe(sl_histo *h, double v)
{
    if (h == NULL || !(v >= 0))
        return;
    size_t i = 0;
    while (i < h->nb && v > h->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_micro, (uint64_t)(v * 1e6),
                              memory_order_relaxed);
}

int
sl_metrics_collector(sl_metrics *m, sl_metrics_collect_fn fn, void *arg)
{
    collector *c = realloc(m->c, (m->nc + 1) * sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    m->c = c;
    m->c[m->nc].fn = fn;
    m->c[m->nc].arg = arg;
    m->nc++;
    return 0;
}

int
sl_metrics_escape(sl_buf *out, sl_slice v)
{
    int rc = 0;
    for (size_t i = 0; i < v.n && rc == 0; i++) {
        uint8_t c = v.p[i];
        if (c == '\\')
            rc = sl_buf_append(out, "\\\\", 2);
        else if (c == '"')
            rc = sl_buf_append(out, "\\\"", 2);
        else if (c == '\n')
            rc = sl_buf_append(out, "\\n", 2);
        else
            rc = sl_buf_append(out, &c, 1);
    }
    return rc;
}

/* ---- rendering ------------------------------------------------------------
 */

static int
put(sl_buf *b, const char *s)
{
    return sl_buf_append(b, s, strlen(s));
}

static int putf(sl_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
putf(sl_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return SL_E_INTERNAL;
    if ((size_t)n >= sizeof(tmp))
        n = (int)sizeof(tmp) - 1;
    return sl_buf_append(b, tmp, (size_t)n);
}

static int
header(sl_buf *b, const char *name, const char *help, int type)
{
    int rc = putf(b, "# HELP %s ", name);
    for (const char *p = help; rc == 0 && *p; p++) {
        if (*p == '\\')
            rc = put(b, "\\\\");
        else if (*p == '\n')
            rc = put(b, "\\n");
        else
            rc = sl_buf_append(b, p, 1);
    }
    if (rc == 0)
        rc = putf(b, "\n# TYPE %s %s\n", name,
                  type == SL_METRIC_COUNTER ? "counter"
                  : type == SL_METRIC_GAUGE ? "gauge"
                                            : "histogram");
    return rc;
}

static int
put_double(sl_buf *b, double v)
{
    if (isnan(v))
        return put(b, "NaN");
    if (isinf(v))
        return put(b, v > 0 ? "+Inf" : "-Inf");
    if (v == (double)(int64_t)v && fabs(v) < 1e15)
        return putf(b, "%" PRId64, (int64_t)v);
    return putf(b, "%.15g", v);
}

static int
sample_name(sl_buf *b, const char *name, const char *suffix, const char *labels,
            const char *le)
{
    int rc = putf(b, "%s%s", name, suffix);
    int has = labels && *labels;
    if (rc == 0 && (has || le)) {
        rc = put(b, "{");
        if (rc == 0 && has)
            rc = put(b, labels);
        if (rc == 0 && le)
            rc = putf(b, "%sle=\"%s\"", has ? "," : "", le);
        if (rc == 0)
            rc = put(b, "}");
    }
    return rc == 0 ? put(b, " ") : rc;
}

static int
render_histo(sl_buf *b, const char *name, const char *labels, const sl_histo *h)
{
    uint64_t cum = 0;
    int rc = 0;
    char le[64];
    for (size_t i = 0; i <= h->nb && rc == 0; i++) {
        cum += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
        if (i < h->nb)
            snprintf(le, sizeof(le), "%.15g", h->bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        rc = sample_name(b, name, "_bucket", labels, le);
        if (rc == 0)
            rc = putf(b, "%" PRIu64 "\n", cum);
    }
    double sum =
        (double)atomic_load_explicit(&h->sum_micro, memory_order_relaxed) / 1e6;
    if (rc == 0)
        rc = sample_name(b, name, "_sum", labels, NULL);
    if (rc == 0)
        rc = put_double(b, sum);
    if (rc == 0)
        rc = put(b, "\n");
    if (rc == 0)
        rc = sample_name(b, name, "_count", labels, NULL);
    if (rc == 0)
        rc = putf(b, "%" PRIu64 "\n", cum);
    return rc;
}

void
sl_metrics_emit(sl_metrics_out *out, int type, const char *name,
                const char *help, const char *labels, double value)
{
    if (out->rc != 0 || !name_ok(name))
        return;
    if (strcmp(out->last_buf, name) != 0) {
        out->rc = header(out->b, name, help ? help : "", type);
        snprintf(out->last_buf, sizeof(out->last_buf), "%s", name);
    }
    if (out->rc == 0)
        out->rc = sample_name(out->b, name, "", labels, NULL);
    if (out->rc == 0)
        out->rc = put_double(out->b, value);
    if (out->rc == 0)
        out->rc = put(out->b, "\n");
}

int
sl_metrics_render(sl_metrics *m, sl_buf *b)
{
    int rc = 0;
    for (size_t i = 0; i < m->nf && rc == 0; i++) {
        family *f = &m->f[i];
        rc = header(b, f->name, f->help, f->type);
        for (size_t k = 0; k < f->n && rc == 0; k++) {
            series *s = &f->s[k];
            if (f->type == SL_METRIC_HISTOGRAM) {
                rc = render_histo(b, f->name, s->labels, s->v);
                continue;
            }
            rc = sample_name(b, f->name, "", s->labels, NULL);
            if (rc == 0 && f->type == SL_METRIC_COUNTER)
                rc = putf(b, "%" PRIu64 "\n",
                          atomic_load_explicit(&((sl_counter *)s->v)->v,
                                               memory_order_relaxed));
            else if (rc == 0)
                rc = putf(b, "%" PRId64 "\n",
                          atomic_load_explicit(&((sl_gauge *)s->v)->v,
                                               memory_order_relaxed));
        }
    }
    for (size_t i = 0; i < m->nc && rc == 0; i++) {
        sl_metrics_out out = {.b = b};
        m->c[i].fn(m->c[i].arg, &out);
        rc = out.rc;
    }
    return rc;
}
