/*
 * mq_metrics.c — sluice-mqtt's Prometheus metrics: connections, sessions,
 * messages and bytes in and out, drops, errors by kind, appends and reads.
 * Counted on the loop thread, which also serves /metrics: no locks.
 */
#include "mq_server.h"
#include "sl_metrics.h"

#include <errno.h>
#include <stdio.h>

static void
collect(void *arg, sl_metrics_out *out)
{
    mq_server *s = arg;
    const mq_stats *st = &s->st;
    char lb[64];
    sl_metrics_emit(out, SL_METRIC_GAUGE, "sluice_mqtt_connections",
                    "Open client connections.", "", (double)st->open_conns);
    sl_metrics_emit(out, SL_METRIC_COUNTER,
                    "sluice_mqtt_connections_accepted_total",
                    "TCP connections accepted.", "", (double)st->conns);
    sl_metrics_emit(out, SL_METRIC_COUNTER, "sluice_mqtt_connects_total",
                    "CONNECT packets accepted.", "", (double)st->connects);
    sl_metrics_emit(out, SL_METRIC_GAUGE, "sluice_mqtt_sessions",
                    "Sessions held in this process's memory.", "",
                    (double)s->nsessions);
    sl_metrics_emit(out, SL_METRIC_COUNTER, "sluice_mqtt_messages_total",
                    "PUBLISH packets, by direction.", "dir=\"in\"",
                    (double)st->msgs_in);
    sl_metrics_emit(out, SL_METRIC_COUNTER, "sluice_mqtt_messages_total",
                    "PUBLISH packets, by direction.", "dir=\"out\"",
                    (double)st->msgs_out);
    sl_metrics_emit(out, SL_METRIC_COUNTER, "sluice_mqtt_bytes_total",
                    "Bytes, by direction.", "dir=\"in\"", (double)st->bytes_in);
    sl_metrics_emit(out, SL_METRIC_COUNTER, "sluice_mqtt_bytes_total",
                    "Bytes, by direction.", "dir=\"out\"",
                    (double)st->bytes_out);
    static const char *const dropped[] = {"qos0_slow_consumer",
                                          "too_big_for_client", "expired"};
    const uint64_t dv[] = {st->dropped_qos0, st->dropped_too_big, st->expired};
    for (size_t i = 0; i < 3; i++) {
        snprintf(lb, sizeof(lb), "reason=\"%s\"", dropped[i]);
        sl_metrics_emit(out, SL_METRIC_COUNTER, "sluice_mqtt_dropped_total",
                        "Messages not delivered, by reason.", lb,
                        (double)dv[i]);
    }
    static const char *const kinds[] = {"malformed",    "protocol",
                                        "append",       "segstore",
                                        "auth_failure", "acl_denied"};
    const uint64_t ev[] = {st->malformed,     st->protocol_errors,
                           st->append_errors, st->ipc_errors,
                           st->auth_failures, st->acl_denied};
    for (size_t i = 0; i < 6; i++) {
        snprintf(lb, sizeof(lb), "kind=\"%s\"", kinds[i]);
        sl_metrics_emit(out, SL_METRIC_COUNTER, "sluice_mqtt_errors_total",
                        "Errors by kind (bad input is counted here).", lb,
                        (double)ev[i]);
    }
    sl_metrics_emit(out, SL_METRIC_COUNTER, "sluice_mqtt_appends_total",
                    "APPEND requests sent to segstore.", "",
                    (double)st->appends);
    sl_metrics_emit(out, SL_METRIC_COUNTER, "sluice_mqtt_reads_total",
                    "READ requests sent to segstore.", "", (double)st->reads);
    sl_metrics_emit(out, SL_METRIC_COUNTER, "sluice_mqtt_takeovers_total",
                    "Client ids taken over by a newer connection.", "",
                    (double)st->takeovers);
    sl_metrics_emit(out, SL_METRIC_COUNTER, "sluice_mqtt_wills_total",
                    "Will messages published.", "", (double)st->wills);
    for (size_t i = 0; i < MQ_SKIP_N; i++) {
        snprintf(lb, sizeof(lb), "reason=\"%s\"", mq_skip_reasons[i]);
        sl_metrics_emit(out, SL_METRIC_COUNTER,
                        "sluice_mqtt_records_skipped_total",
                        "Log records not delivered over MQTT (no usable MQTT "
                        "topic, undecodable, compressed), by reason.",
                        lb, (double)st->skipped[i]);
    }
    sl_metrics_emit(out, SL_METRIC_GAUGE, "sluice_mqtt_segstore_up",
                    "1 while the IPC connection to segstore is up.", "",
                    (double)s->link.up);
    sl_metrics_emit(out, SL_METRIC_COUNTER,
                    "sluice_mqtt_segstore_unreachable_total",
                    "Times the connection to segstore went away.", "",
                    (double)s->link.losses);
}

int
mq__metrics_start(mq_server *s, char *err, size_t errlen)
{
    s->metrics = sl_metrics_new();
    if (s->metrics == NULL || sl_metrics_collector(s->metrics, collect, s) != 0)
        return -ENOMEM;
    s->h_deliver = sl_metrics_histogram(
        s->metrics, "sluice_mqtt_publish_to_deliver_seconds",
        "From a log record's timestamp to its PUBLISH written to a "
        "subscriber (first sends, not resends).",
        "", sl_metrics_latency_buckets, sl_metrics_latency_nbuckets);
    if (s->cfg->metrics_listen[0] == 0)
        return 0;
    int rc = sl_metrics_http_start(s->loop, s->cfg->metrics_listen, s->metrics,
                                   &s->metrics_http, err, errlen);
    if (rc == 0)
        sl_log(SL_LOG_INFO, "MQ-METRICS", "listen=%s port=%d",
               s->cfg->metrics_listen, sl_metrics_http_port(s->metrics_http));
    return rc;
}

void
mq__metrics_stop(mq_server *s)
{
    sl_metrics_http_close(s->metrics_http);
    s->metrics_http = NULL;
}
