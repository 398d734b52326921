/*
 * ss_metrics.c — sluice-segstore's Prometheus metrics (docs/operations.md
 * lists them): request and append counters, fdatasync latency, and, read
 * at scrape time under the server mutex, every partition's log size,
 * segments and offsets, the KV store and consumer-group lag.
 */
#include "ss_server_impl.h"

#include "sl_metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

static void
collect(void *arg, sl_metrics_out *out)
{
    ss_server *s = arg;
    char lb[512];
    pthread_mutex_lock(&s->mu);
    for (int op = 1; op < 256; op++) {
        const char *name = ipc_op_name(op);
        if (name[0] == '?' || op >= IPC_EVT_ADVANCE)
            continue;
        snprintf(lb, sizeof(lb), "op=\"%s\"", name);
        sl_metrics_emit(
            out, SL_METRIC_COUNTER, "sluice_segstore_requests_total",
            "IPC requests handled, by operation.", lb, (double)s->n_op[op]);
    }
    sl_metrics_emit(out, SL_METRIC_COUNTER, "sluice_segstore_malformed_total",
                    "IPC requests refused as malformed or unknown.", "",
                    (double)s->n_malformed);
    sl_metrics_emit(out, SL_METRIC_COUNTER, "sluice_segstore_appends_total",
                    "Partition appends (APPEND entries).", "",
                    (double)s->n_appends);
    sl_metrics_emit(
        out, SL_METRIC_COUNTER, "sluice_segstore_append_errors_total",
        "Partition appends refused.", "", (double)s->n_append_errors);
    sl_metrics_emit(
        out, SL_METRIC_COUNTER, "sluice_segstore_append_bytes_total",
        "Record batch bytes appended.", "", (double)s->n_append_bytes);
    sl_metrics_emit(out, SL_METRIC_GAUGE, "sluice_segstore_parked_appends",
                    "Appends waiting for an fdatasync.", "",
                    (double)s->nparked);
    /* Per partition: size, segments, offsets. */
    static const struct {
        const char *name, *help;
        int what;
    } fam[] = {
        {"sluice_log_bytes", "Bytes in the partition's local segments.", 0},
        {"sluice_log_segments", "Local segment files of the partition.", 1},
        {"sluice_log_start_offset", "First offset of the partition.", 2},
        {"sluice_log_end_offset", "Next offset to be written.", 3},
    };
    for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
        for (size_t i = 0; i < ss_store_topic_count(s->store); i++) {
            ss_topic *t = ss_store_topic_at(s->store, i);
            for (int32_t p = 0; p < ss_topic_partitions(t); p++) {
                ss_log *l = ss_topic_log(t, p);
                double v = fam[f].what == 0   ? (double)ss_log_bytes(l)
                           : fam[f].what == 1 ? (double)ss_log_segment_count(l)
                           : fam[f].what == 2 ? (double)ss_log_start(l)
                                              : (double)ss_log_end(l);
                snprintf(lb, sizeof(lb), "topic=\"%s\",partition=\"%d\"",
                         ss_topic_name(t), p);
                sl_metrics_emit(out, SL_METRIC_GAUGE, fam[f].name, fam[f].help,
                                lb, v);
            }
        }
    }
    if (s->kv) {
        sl_metrics_emit(out, SL_METRIC_GAUGE, "sluice_kv_keys",
                        "Keys in the coordination KV store.", "",
                        (double)ss_kv_count(s->kv));
        sl_metrics_emit(out, SL_METRIC_GAUGE, "sluice_kv_live_bytes",
                        "Live bytes of the KV store.", "",
                        (double)ss_kv_live_bytes(s->kv));
        sl_metrics_emit(out, SL_METRIC_GAUGE, "sluice_kv_log_bytes",
                        "Bytes of the KV store's log (compacted past 4x "
                        "live).",
                        "", (double)ss_log_bytes(ss_kv_log(s->kv)));
        ss__coord_collect(s, out);
    }
    pthread_mutex_unlock(&s->mu);
}

int
ss__metrics_start(ss_server *s, char *err, size_t errlen)
{
    s->metrics = sl_metrics_new();
    if (s->metrics == NULL)
        return -ENOMEM;
    sl_histo *h = sl_metrics_histogram(
        s->metrics, "sluice_segstore_fsync_seconds",
        "Duration of one group-commit round of fdatasyncs.", "",
        sl_metrics_latency_buckets, sl_metrics_latency_nbuckets);
    pthread_mutex_lock(&s->mu); /* the sync thread reads it under mu */
    s->h_sync = h;
    pthread_mutex_unlock(&s->mu);
    if (sl_metrics_collector(s->metrics, collect, s) != 0)
        return -ENOMEM;
    if (s->cfg->metrics_listen[0] == 0)
        return 0;
    int rc = sl_metrics_http_start(&s->loop, s->cfg->metrics_listen, s->metrics,
                                   &s->metrics_http, err, errlen);
    if (rc == 0)
        sl_log(SL_LOG_INFO, "SS-METRICS", "listen=%s port=%d",
               s->cfg->metrics_listen, sl_metrics_http_port(s->metrics_http));
    return rc;
}

void
ss__metrics_stop(ss_server *s)
{
    sl_metrics_http_close(s->metrics_http);
    s->metrics_http = NULL;
}
