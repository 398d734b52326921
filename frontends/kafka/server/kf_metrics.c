/*
 * kf_metrics.c — sluice-kafka's Prometheus metrics: connections, requests
 * and latency by API, bytes in and out, errors.  Everything is counted on
 * the loop thread, which also serves /metrics, so nothing here locks.
 */
#include "kf_server.h"
#include "sl_metrics.h"

#include <errno.h>
#include <stdio.h>

static void
collect(void *arg, sl_metrics_out *out)
{
    kf_server *s = arg;
    const kf_stats *st = &s->st;
    char lb[96];
    sl_metrics_emit(out, SL_METRIC_GAUGE, "sluice_kafka_connections",
                    "Open client connections.", "", (double)st->open_conns);
    sl_metrics_emit(out, SL_METRIC_COUNTER,
                    "sluice_kafka_connections_accepted_total",
                    "Client connections accepted.", "", (double)st->conns);
    size_t n;
    const kf_api_range *r = kf_api_ranges(&n);
    for (size_t i = 0; i < n; i++) {
        int16_t key = r[i].api_key;
        if (key < 0 || key > KF_API_KEY_MAX)
            continue;
        snprintf(lb, sizeof(lb), "api=\"%s\"", kf_api_name(key));
        sl_metrics_emit(out, SL_METRIC_COUNTER, "sluice_kafka_requests_total",
                        "Requests decoded, by API.", lb,
                        (double)st->api_requests[key]);
    }
    sl_metrics_emit(out, SL_METRIC_COUNTER, "sluice_kafka_bytes_in_total",
                    "Request bytes received.", "", (double)st->bytes_in);
    sl_metrics_emit(out, SL_METRIC_COUNTER, "sluice_kafka_bytes_out_total",
                    "Response bytes queued to clients.", "",
                    (double)st->bytes_out);
    static const char *const why[] = {"bad_frame", "malformed", "unsupported",
                                      "produce_partition", "segstore"};
    const uint64_t v[] = {st->bad_frames, st->malformed, st->unsupported,
                          st->produce_errs, st->ipc_errors};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        snprintf(lb, sizeof(lb), "kind=\"%s\"", why[i]);
        sl_metrics_emit(out, SL_METRIC_COUNTER, "sluice_kafka_errors_total",
                        "Errors by kind (bad input is counted here).", lb,
                        (double)v[i]);
    }
    sl_metrics_emit(out, SL_METRIC_COUNTER, "sluice_kafka_fetch_parked_total",
                    "Fetches that long-polled for data.", "",
                    (double)st->fetch_parked);
    sl_metrics_emit(out, SL_METRIC_GAUGE, "sluice_kafka_segstore_up",
                    "1 while the IPC connection to segstore is up.", "",
                    (double)s->link.up);
    sl_metrics_emit(out, SL_METRIC_COUNTER,
                    "sluice_kafka_segstore_unreachable_total",
                    "Times the connection to segstore went away.", "",
                    (double)s->link.losses);
}

int
kf__metrics_start(kf_server *s, char *err, size_t errlen)
{
    s->metrics = sl_metrics_new();
    if (s->metrics == NULL)
        return -ENOMEM;
    size_t n;
    const kf_api_range *r = kf_api_ranges(&n);
    char lb[96];
    for (size_t i = 0; i < n; i++) {
        int16_t key = r[i].api_key;
        if (key < 0 || key > KF_API_KEY_MAX)
            continue;
        snprintf(lb, sizeof(lb), "api=\"%s\"", kf_api_name(key));
        s->h_latency[key] = sl_metrics_histogram(
            s->metrics, "sluice_kafka_request_seconds",
            "From a whole request to its whole response, by API (Produce: "
            "durable append; Fetch: includes the long poll).",
            lb, sl_metrics_latency_buckets, sl_metrics_latency_nbuckets);
    }
    if (sl_metrics_collector(s->metrics, collect, s) != 0)
        return -ENOMEM;
    if (s->cfg->metrics_listen[0] == 0)
        return 0;
    int rc = sl_metrics_http_start(s->loop, s->cfg->metrics_listen, s->metrics,
                                   &s->metrics_http, err, errlen);
    if (rc == 0)
        sl_log(SL_LOG_INFO, "KF-METRICS", "listen=%s port=%d",
               s->cfg->metrics_listen, sl_metrics_http_port(s->metrics_http));
    return rc;
}

void
kf__metrics_stop(kf_server *s)
{
    sl_metrics_http_close(s->metrics_http);
    s->metrics_http = NULL;
}

void
kf__metrics_done(kf_req *r)
{
    int16_t key = r->hdr.api_key;
    if (key < 0 || key > KF_API_KEY_MAX || r->t0_ns == 0)
        return;
    sl_histo_observe(r->srv->h_latency[key],
                     (double)(sl_mono_ns() - r->t0_ns) / 1e9);
    r->t0_ns = 0; /* once */
}
