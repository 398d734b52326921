/*
 * ss_config.c — sluice-segstore's one config table.  Keys come from a
 * `key = value` file (--config), `--set key=value` flags, in that order.
 * docs/configuration.md is generated from this table (--config-doc).
 */
#include "ss_server.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#define F(x) offsetof(ss_config, x)
const sl_conf_key ss_config_keys[] = {
    {"data", SL_CONF_STR, F(data), 0, 0, "./data", 0, NULL,
     "Data directory (created when missing)."},
    {"ipc.url", SL_CONF_STR, F(ipc), 0, 0, "", 0, NULL,
     "Comma-separated nng listen URLs for requests (ipc:// and/or tcp://). "
     "Empty: ipc://<data>/segstore.sock."},
    {"events.url", SL_CONF_STR, F(events), 0, 0, "", 0, NULL,
     "Comma-separated pub URLs for events, one per ipc.url. Empty: "
     "<ipc url>.events for ipc://, port+1 for tcp://."},
    {"fsync", SL_CONF_STR, F(fsync), 0, 0, "batch", 0, NULL,
     "Durability policy: batch (acknowledge after an fdatasync that covers "
     "the append; one fdatasync serves all waiting appends), interval:<ms> "
     "(acknowledge on write, fdatasync every <ms>), never (leave it to the "
     "kernel)."},
    {"ipc.socket.group", SL_CONF_STR, F(socket_group), 0, 0, "", 0, NULL,
     "Group allowed to use the ipc:// socket (mode 0660); empty: owner only "
     "(0600)."},
    {"log.level", SL_CONF_STR, F(log_level), 0, 0, "info", 1, NULL,
     "debug, info, warn or error."},
    {"checkpoint.interval.ms", SL_CONF_I64, F(checkpoint_ms), 100, 3600000,
     "5000", 1, NULL,
     "How often active segments' indexes are checkpointed; recovery scans "
     "only what was written after the last checkpoint."},
    {"retention.check.interval.ms", SL_CONF_I64, F(retention_check_ms), 100,
     86400000, "30000", 1, NULL,
     "How often retention and segment.ms rolling run."},
    {"ipc.max.message.bytes", SL_CONF_I64, F(max_msg), 1 << 20, 1 << 30,
     "67108864", 0, NULL, "Largest IPC request or reply."},
    {"ipc.contexts", SL_CONF_I64, F(contexts), 1, 4096, "256", 0, NULL,
     "Requests segstore works on at once (nng contexts). Held group joins "
     "and syncs each keep one until their rebalance completes."},
    {"metrics.listen", SL_CONF_STR, F(metrics_listen), 0, 0, "", 0, NULL,
     "HOST:PORT of the Prometheus /metrics HTTP endpoint; empty: none."},
    {"kv.value.max.bytes", SL_CONF_I64, F(kv_value_max), 0, 64 << 20, "4194304",
     0, NULL,
     "Largest value in the coordination KV store (MQTT retained messages "
     "and sessions live there)."},
    {"kv.segment.bytes", SL_CONF_I64, F(kv_segment_bytes), 1 << 20, 1LL << 30,
     "67108864", 0, NULL,
     "Segment size of the KV store's log (<data>/@kv); it is compacted when "
     "it grows past half of this and four times the live data."},
    {"tier.url", SL_CONF_STR, F(tier_url), 0, 0, "", 0, NULL,
     "Cold tier for topics with tier.enable: file:///dir or "
     "s3://bucket/prefix. Empty: no tier."},
    {"tier.s3.endpoint", SL_CONF_STR, F(tier_endpoint), 0, 0, "", 0, NULL,
     "S3 endpoint, http(s)://host[:port] (path-style requests)."},
    {"tier.s3.region", SL_CONF_STR, F(tier_region), 0, 0, "us-east-1", 0, NULL,
     "S3 region used in AWS Signature V4."},
    {"tier.s3.access.key", SL_CONF_STR, F(tier_access_key), 0, 0, "", 0, NULL,
     "S3 access key; empty: the environment's AWS_ACCESS_KEY_ID."},
    {"tier.s3.secret.key", SL_CONF_STR, F(tier_secret_key), 0, 0, "", 0, NULL,
     "S3 secret key; empty: the environment's AWS_SECRET_ACCESS_KEY."},
    {"tier.s3.multipart.bytes", SL_CONF_I64, F(tier_multipart_bytes), 5 << 20,
     1LL << 32, "16777216", 0, NULL,
     "Objects larger than this are uploaded in parts of this size."},
    {"tier.cache.bytes", SL_CONF_I64, F(tier_cache_bytes), 0, INT64_MAX,
     "1073741824", 0, NULL,
     "Budget of <data>/@tiercache, where segments read back from the tier "
     "are kept (least recently used evicted first)."},
    {"tier.check.interval.ms", SL_CONF_I64, F(tier_check_ms), 10, 3600000,
     "1000", 0, NULL,
     "How often the offload thread looks for segments to offload or "
     "expire."},
    {"tier.odirect", SL_CONF_BOOL, F(tier_odirect), 0, 1, "true", 0, NULL,
     "Read segments to offload with O_DIRECT through libaio, so offload does "
     "not evict the hot tail from the page cache."},
};
#undef F
const size_t ss_config_keys_len = SL_ARRAY_LEN(ss_config_keys);

void
ss_config_defaults(ss_config *c)
{
    memset(c, 0, sizeof(*c));
    sl_conf_defaults(ss_config_keys, ss_config_keys_len, c);
    sl_conf_defaults(ss_topic_conf, ss_topic_conf_len, &c->topic);
}

int
ss_config_set(ss_config *c, const char *kv, char *err, size_t errlen)
{
    if (strncmp(kv, "topic.", 6) == 0)
        return sl_conf_apply_kv(ss_topic_conf, ss_topic_conf_len, &c->topic,
                                kv + 6, err, errlen);
    return sl_conf_apply_kv(ss_config_keys, ss_config_keys_len, c, kv, err,
                            errlen);
}

int
ss_config_finish(ss_config *c, char *err, size_t errlen)
{
    if (strcmp(c->fsync, "batch") == 0) {
        c->fsync_mode = SS_FSYNC_BATCH;
    } else if (strcmp(c->fsync, "never") == 0) {
        c->fsync_mode = SS_FSYNC_NEVER;
    } else if (strncmp(c->fsync, "interval:", 9) == 0) {
        char *end;
        long long ms = strtoll(c->fsync + 9, &end, 10);
        if (*end != 0 || ms < 1 || ms > 3600000) {
            snprintf(err, errlen, "fsync=%s: interval must be 1..3600000 ms",
                     c->fsync);
            return SL_E_INVAL;
        }
        c->fsync_mode = SS_FSYNC_INTERVAL;
        c->fsync_interval_ms = ms;
    } else {
        snprintf(err, errlen,
                 "fsync=%s: expected batch, interval:<ms> or never", c->fsync);
        return SL_E_INVAL;
    }
    if (sl_log_level_parse(c->log_level) < 0) {
        snprintf(err, errlen, "log.level=%s: expected debug|info|warn|error",
                 c->log_level);
        return SL_E_INVAL;
    }
    if (c->topic.max_message_bytes > c->topic.segment_bytes) {
        snprintf(err, errlen,
                 "topic.max.message.bytes must not exceed "
                 "topic.segment.bytes");
        return SL_E_INVAL;
    }
    return 0;
}

void
ss_config_doc(FILE *out)
{
    fputs(SL_CONF_DOC_HEADER, out);
    sl_conf_doc_rows(out, ss_config_keys, ss_config_keys_len, "");
    sl_conf_doc_rows(out, ss_topic_conf, ss_topic_conf_len, "topic.");
}
