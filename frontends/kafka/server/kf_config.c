/*
 * kf_config.c — sluice-kafka's one config table.  Keys come from a
 * `key = value` file (--config), then the command-line flags and
 * `--set key=value`, in that order.  The Markdown table in docs/kafka.md
 * is generated from this table (--config-doc).
 */
#include "kf_server.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F(x) offsetof(kf_config, x)
const sl_conf_key kf_config_keys[] = {
    {"segstore", SL_CONF_STR, F(segstore), 0, 0, "ipc://./data/segstore.sock",
     0, NULL, "URL of sluice-segstore's request socket (ipc:// or tcp://)."},
    {"listen", SL_CONF_STR, F(listen), 0, 0, "0.0.0.0:9092", 0, NULL,
     "Address the Kafka listener binds, HOST:PORT or [V6]:PORT."},
    {"metrics.listen", SL_CONF_STR, F(metrics_listen), 0, 0, "", 0, NULL,
     "HOST:PORT of the Prometheus /metrics HTTP endpoint; empty: none."},
    {"advertise", SL_CONF_STR, F(advertise), 0, 0, "", 1, NULL,
     "HOST:PORT that Metadata gives clients as the one broker (the load "
     "balancer's address when there is one). Empty: the listen address, "
     "with a wildcard host replaced by localhost."},
    {"log.level", SL_CONF_STR, F(log_level), 0, 0, "info", 1, NULL,
     "debug, info, warn or error."},
    {"node.id", SL_CONF_I64, F(node_id), 0, 1 << 30, "1", 0, NULL,
     "Broker id in Metadata: the leader, replica and ISR of every "
     "partition, and the controller."},
    {"auto.create.topics.enable", SL_CONF_BOOL, F(auto_create), 0, 0, "true", 1,
     NULL,
     "Create an unknown topic on Produce, and on Metadata when the request "
     "allows it (always before Metadata v4)."},
    {"num.partitions", SL_CONF_I64, F(num_partitions), 1, 100000, "1", 1, NULL,
     "Partitions of an auto-created topic, and of CreateTopics with "
     "num_partitions -1."},
    {"max.request.bytes", SL_CONF_I64, F(max_request_bytes), 1024, 1 << 30,
     "104857600", 1, NULL,
     "Largest request frame; a size prefix above it (or negative) closes "
     "the connection. Bounds each connection's input buffer too."},
    {"fetch.max.wait.cap.ms", SL_CONF_I64, F(fetch_wait_cap_ms), 0, 3600000,
     "30000", 1, NULL,
     "Upper bound on a Fetch's max_wait_ms: a long poll never waits longer."},
    {"connection.max.output.bytes", SL_CONF_I64, F(conn_max_out), 65536,
     1 << 30, "16777216", 0, NULL,
     "Queued response bytes per connection before its input is paused."},
    {"connection.max.inflight", SL_CONF_I64, F(conn_max_inflight), 1, 4096,
     "64", 1, NULL,
     "Requests per connection being worked on at once; input is paused "
     "beyond it."},
    {"segstore.timeout.ms", SL_CONF_I64, F(ipc_timeout_ms), 100, 600000,
     "10000", 0, NULL,
     "How long a request to segstore may take before the Kafka request is "
     "answered with a retriable error."},
    {"segstore.inflight", SL_CONF_I64, F(ipc_inflight), 1, 4096, "128", 0, NULL,
     "IPC requests on the wire to segstore at once (nng contexts)."},
    {"group.inflight", SL_CONF_I64, F(group_inflight), 1, 4096, "1024", 0, NULL,
     "JoinGroup and SyncGroup requests on the wire to segstore at once, on "
     "a second IPC client: segstore holds each until its group's rebalance "
     "completes, so this bounds the members joining through one instance "
     "at once (more wait in a queue)."},
    {"group.timeout.max.ms", SL_CONF_I64, F(group_timeout_max_ms), 1000,
     86400000, "300000", 0, NULL,
     "Longest rebalance timeout passed to segstore (a JoinGroup asking for "
     "more gets this) and longest session timeout accepted "
     "(INVALID_SESSION_TIMEOUT above it). Held JoinGroup and SyncGroup "
     "requests give up 30 s after it with COORDINATOR_NOT_AVAILABLE, so "
     "nothing waits for segstore forever."},
    {"shutdown.timeout.ms", SL_CONF_I64, F(shutdown_timeout_ms), 0, 600000,
     "10000", 1, NULL,
     "On SIGTERM, how long requests in flight may take before connections "
     "are closed regardless."},
};
#undef F
const size_t kf_config_keys_len = SL_ARRAY_LEN(kf_config_keys);

void
kf_config_defaults(kf_config *c)
{
    memset(c, 0, sizeof(*c));
    sl_conf_defaults(kf_config_keys, kf_config_keys_len, c);
}

int
kf_config_set(kf_config *c, const char *kv, char *err, size_t errlen)
{
    return sl_conf_apply_kv(kf_config_keys, kf_config_keys_len, c, kv, err,
                            errlen);
}

/* Split HOST:PORT or [V6]:PORT; the host keeps no brackets. */
static int
split_hostport(const char *hp, char *host, size_t hostlen, int *port)
{
    const char *colon;
    const char *h = hp;
    size_t hn;
    if (hp[0] == '[') {
        const char *close = strchr(hp, ']');
        if (close == NULL || close[1] != ':')
            return SL_E_INVAL;
        h = hp + 1;
        hn = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(hp, ':');
        if (colon == NULL)
            return SL_E_INVAL;
        hn = (size_t)(colon - hp);
    }
    if (hn == 0 || hn >= hostlen)
        return SL_E_INVAL;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (colon[1] == 0 || *end != 0 || p < 0 || p > 65535)
        return SL_E_INVAL;
    memcpy(host, h, hn);
    host[hn] = 0;
    *port = (int)p;
    return 0;
}

int
kf_config_finish(kf_config *c, char *err, size_t errlen)
{
    if (sl_log_level_parse(c->log_level) < 0) {
        snprintf(err, errlen, "log.level=%s: expected debug|info|warn|error",
                 c->log_level);
        return SL_E_INVAL;
    }
    if (c->segstore[0] == 0) {
        snprintf(err, errlen, "segstore: a URL is required");
        return SL_E_INVAL;
    }
    struct sockaddr_storage ss;
    if (fe_addr_parse(c->listen, &ss) != 0) {
        snprintf(err, errlen, "listen=%s: expected HOST:PORT", c->listen);
        return SL_E_INVAL;
    }
    const char *adv = c->advertise[0] ? c->advertise : c->listen;
    if (split_hostport(adv, c->adv_host, sizeof(c->adv_host), &c->adv_port) !=
            0 ||
        c->adv_port == 0) {
        snprintf(err, errlen, "advertise=%s: expected HOST:PORT (port > 0)",
                 adv);
        return SL_E_INVAL;
    }
    /* A wildcard is where we listen, never an address a client can dial. */
    if (c->advertise[0] == 0 &&
        (strcmp(c->adv_host, "0.0.0.0") == 0 || strcmp(c->adv_host, "::") == 0))
        snprintf(c->adv_host, sizeof(c->adv_host), "localhost");
    return 0;
}

void
kf_config_doc(FILE *out)
{
    fputs(SL_CONF_DOC_HEADER, out);
    sl_conf_doc_rows(out, kf_config_keys, kf_config_keys_len, "");
}
