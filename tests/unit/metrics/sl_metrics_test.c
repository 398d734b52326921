/*
 * sl_metrics_test.c — the Prometheus text sl_metrics_render writes:
 * HELP/TYPE once per family, label merging with `le`, cumulative
 * histograms ending in +Inf, collectors, escaping, refused names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "sl_metrics.h"

static char *
render(sl_metrics *m)
{
    sl_buf b;
    sl_buf_init(&b);
    assert_int_equal(sl_metrics_render(m, &b), 0);
    sl_buf_append(&b, "\0", 1);
    return (char *)b.p; /* freed by the caller */
}

static void
collect(void *arg, sl_metrics_out *out)
{
    (void)arg;
    sl_metrics_emit(out, SL_METRIC_GAUGE, "t_size", "Size.", "t=\"a\"", 3);
    sl_metrics_emit(out, SL_METRIC_GAUGE, "t_size", "Size.", "t=\"b\"", 4.5);
    sl_metrics_emit(out, SL_METRIC_COUNTER, "t_done_total", "Done.", "", 7);
}

static void
test_render(void **state)
{
    (void)state;
    sl_metrics *m = sl_metrics_new();
    sl_counter *a =
        sl_metrics_counter(m, "t_req_total", "Requests.", "op=\"A\"");
    sl_counter *b =
        sl_metrics_counter(m, "t_req_total", "Requests.", "op=\"B\"");
    sl_gauge *g = sl_metrics_gauge(m, "t_conns", "Open\nconns \\ now.", "");
    const double bounds[] = {0.001, 0.01, 0.1};
    sl_histo *h = sl_metrics_histogram(m, "t_lat_seconds", "Latency.",
                                       "api=\"P\"", bounds, 3);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(g);
    assert_non_null(h);
    /* Same name as another type, and bad names: refused. */
    assert_null(sl_metrics_gauge(m, "t_req_total", "x", ""));
    assert_null(sl_metrics_counter(m, "9bad", "x", ""));
    assert_null(sl_metrics_counter(m, "bad-name", "x", ""));
    sl_counter_add(a, 2);
    sl_counter_add(b, 5);
    sl_gauge_set(g, -3);
    sl_histo_observe(h, 0.0005);
    sl_histo_observe(h, 0.05);
    sl_histo_observe(h, 7);
    assert_int_equal(sl_metrics_collector(m, collect, NULL), 0);
    char *txt = render(m);
    const char *want = "# HELP t_req_total Requests.\n"
                       "# TYPE t_req_total counter\n"
                       "t_req_total{op=\"A\"} 2\n"
                       "t_req_total{op=\"B\"} 5\n"
                       "# HELP t_conns Open\\nconns \\\\ now.\n"
                       "# TYPE t_conns gauge\n"
                       "t_conns -3\n"
                       "# HELP t_lat_seconds Latency.\n"
                       "# TYPE t_lat_seconds histogram\n"
                       "t_lat_seconds_bucket{api=\"P\",le=\"0.001\"} 1\n"
                       "t_lat_seconds_bucket{api=\"P\",le=\"0.01\"} 1\n"
                       "t_lat_seconds_bucket{api=\"P\",le=\"0.1\"} 2\n"
                       "t_lat_seconds_bucket{api=\"P\",le=\"+Inf\"} 3\n"
                       "t_lat_seconds_sum{api=\"P\"} 7.0505\n"
                       "t_lat_seconds_count{api=\"P\"} 3\n"
                       "# HELP t_size Size.\n"
                       "# TYPE t_size gauge\n"
                       "t_size{t=\"a\"} 3\n"
                       "t_size{t=\"b\"} 4.5\n"
                       "# HELP t_done_total Done.\n"
                       "# TYPE t_done_total counter\n"
                       "t_done_total 7\n";
    assert_string_equal(txt, want);
    free(txt);
    sl_metrics_free(m);
}

static void
test_escape(void **state)
{
    (void)state;
    sl_buf b;
    sl_buf_init(&b);
    assert_int_equal(sl_metrics_escape(&b, sl_slice_str("a\"b\\c\nd")), 0);
    assert_int_equal(b.n, strlen("a\\\"b\\\\c\\nd"));
    assert_memory_equal(b.p, "a\\\"b\\\\c\\nd", b.n);
    sl_buf_fini(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
