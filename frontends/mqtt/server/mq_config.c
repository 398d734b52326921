/*
 * mq_config.c — sluice-mqtt's one config table.  Keys come from a
 * `key = value` file (--config), then the command-line flags and
 * `--set key=value`, in that order.  The Markdown table in docs/mqtt.md
 * is generated from this table (--config-doc).
 */
#include "mq_server.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define F(x) offsetof(mq_config, x)
const sl_conf_key mq_config_keys[] = {
    {"segstore", SL_CONF_STR, F(segstore), 0, 0, "ipc://./data/segstore.sock",
     0, NULL, "URL of sluice-segstore's request socket (ipc:// or tcp://)."},
    {"listen", SL_CONF_STR, F(listen), 0, 0, "0.0.0.0:1883", 0, NULL,
     "Address the MQTT listener binds, HOST:PORT or [V6]:PORT."},
    {"metrics.listen", SL_CONF_STR, F(metrics_listen), 0, 0, "", 0, NULL,
     "HOST:PORT of the Prometheus /metrics HTTP endpoint; empty: none."},
    {"log.level", SL_CONF_STR, F(log_level), 0, 0, "info", 1, NULL,
     "debug, info, warn or error."},
    {"mqtt.log.topic", SL_CONF_STR, F(log_topic), 0, 0, "mqtt", 0, NULL,
     "Log topic that carries every MQTT message (created at start when "
     "missing)."},
    {"mqtt.log.rules", SL_CONF_STR, F(log_rules), 0, 0, "", 1, NULL,
     "Mapping rules FILTER=TOPIC[;FILTER=TOPIC...]: an MQTT topic matching "
     "the first FILTER goes to log topic TOPIC (created like "
     "mqtt.log.topic); others to mqtt.log.topic. Every instance of a "
     "cluster needs the same rules. For more rules, or partitions, topic "
     "configs and Kafka-to-MQTT options per log topic, use "
     "mqtt.log.rules.file instead."},
    {"mqtt.log.rules.file", SL_CONF_STR, F(log_rules_file), 0, 0, "", 1, NULL,
     "Mapping rules file, one rule per line: FILTER LOG-TOPIC "
     "[partitions=N] [qos=0|1|2] [topic.header=H] [TOPIC-CONFIG=VALUE...] "
     "(docs/bridging.md); empty: none. Exclusive with mqtt.log.rules."},
    {"mqtt.log.partitions", SL_CONF_I64, F(log_partitions), 1, 10000, "8", 0,
     NULL,
     "Partitions of the log topic when this process creates it; an "
     "existing topic keeps its own count. An MQTT topic goes to partition "
     "XXH3(topic) mod partitions."},
    {"mqtt.max.packet.size", SL_CONF_I64, F(max_packet), 64, 268435460,
     "1048576", 0, NULL,
     "Largest packet a client may send (announced as Maximum Packet Size "
     "in MQTT 5); a larger one is answered with DISCONNECT 0x95."},
    {"mqtt.receive.maximum", SL_CONF_I64, F(receive_max), 1, 65535, "1024", 0,
     NULL,
     "QoS 1 and 2 publishes a client may have unacknowledged at once "
     "(Receive Maximum); beyond it: DISCONNECT 0x93."},
    {"mqtt.topic.alias.maximum", SL_CONF_I64, F(topic_alias_max), 0, 65535,
     "64", 0, NULL, "Topic aliases a client may use towards the server."},
    {"mqtt.keepalive.max", SL_CONF_I64, F(keepalive_max), 0, 65535, "0", 1,
     NULL,
     "Largest keep alive granted, s (0 = whatever the client asks); a "
     "larger or zero request is answered with Server Keep Alive."},
    {"mqtt.max.inflight.out", SL_CONF_I64, F(max_inflight_out), 1, 65535, "256",
     0, NULL,
     "QoS 1 and 2 messages sent to one client and not yet acknowledged, at "
     "most (also bounded by the client's Receive Maximum); beyond it the "
     "session waits in the log."},
    {"connection.max.output.bytes", SL_CONF_I64, F(conn_max_out), 65536,
     1 << 30, "4194304", 0, NULL,
     "Queued output per connection; beyond it QoS 0 messages are dropped "
     "(counted) and QoS 1/2 wait in the log."},
    {"mqtt.session.expiry.max", SL_CONF_I64, F(session_expiry_max), 0,
     4294967295LL, "4294967295", 1, NULL,
     "Longest session expiry interval granted, s (4294967295 = never)."},
    {"mqtt.tail.poll.ms", SL_CONF_I64, F(tail_poll_ms), 10, 60000, "500", 0,
     NULL,
     "The log tail reads every partition at least this often, in case an "
     "ADVANCE event was lost."},
    {"mqtt.read.max.bytes", SL_CONF_I64, F(read_max_bytes), 4096, 64 << 20,
     "1048576", 0, NULL, "Bytes asked per partition in one READ."},
    {"mqtt.session.flush.ms", SL_CONF_I64, F(session_flush_ms), 10, 60000,
     "100", 0, NULL, "How often changed session state is written to segstore."},
    {"segstore.timeout.ms", SL_CONF_I64, F(ipc_timeout_ms), 100, 600000,
     "10000", 0, NULL, "How long a request to segstore may take."},
    {"segstore.inflight", SL_CONF_I64, F(ipc_inflight), 1, 4096, "128", 0, NULL,
     "IPC requests on the wire to segstore at once (nng contexts)."},
    {"shutdown.timeout.ms", SL_CONF_I64, F(shutdown_timeout_ms), 0, 600000,
     "5000", 0, NULL,
     "On SIGTERM, how long appends in flight may take before connections "
     "are closed regardless."},
    {"mqtt.server.reference", SL_CONF_STR, F(server_reference), 0, 0, "", 1,
     NULL,
     "On SIGTERM, MQTT 5 clients get DISCONNECT 0x9C (use another server) "
     "with this Server Reference (host[:port], e.g. the load balancer's "
     "address); empty: DISCONNECT 0x8B (server shutting down)."},
    {"mqtt.allow.anonymous", SL_CONF_BOOL, F(allow_anonymous), 0, 0, "true", 1,
     NULL, "Accept clients without a user name."},
    {"mqtt.session.memory.s", SL_CONF_I64, F(session_memory_s), 0, 86400 * 365,
     "60", 0, NULL,
     "An offline session that never expires leaves this process's memory "
     "after this many seconds (it stays in segstore and is read back when "
     "its client returns); 0: keep them in memory."},
    {"mqtt.sys.interval", SL_CONF_I64, F(sys_interval), 0, 86400, "10", 0, NULL,
     "Seconds between updates of this process's $SYS/broker/ topics "
     "(0: none). They are local to the process, not in the log."},
    {"mqtt.password.file", SL_CONF_STR, F(password_file), 0, 0, "", 1, NULL,
     "Password file (Mosquitto's format, docs/mqtt-auth.md); empty: user "
     "names are not checked."},
    {"mqtt.acl.file", SL_CONF_STR, F(acl_file), 0, 0, "", 1, NULL,
     "ACL file (Mosquitto's grammar, docs/mqtt-auth.md); empty: every "
     "client may publish and subscribe everywhere."},
};
#undef F
const size_t mq_config_keys_len = SL_ARRAY_LEN(mq_config_keys);

void
mq_config_defaults(mq_config *c)
{
    memset(c, 0, sizeof(*c));
    sl_conf_defaults(mq_config_keys, mq_config_keys_len, c);
}

int
mq_config_set(mq_config *c, const char *kv, char *err, size_t errlen)
{
    return sl_conf_apply_kv(mq_config_keys, mq_config_keys_len, c, kv, err,
                            errlen);
}

int
mq_config_load(mq_config *c, const char *path, char *err, size_t errlen)
{
    return sl_conf_load_file(mq_config_keys, mq_config_keys_len, c, path, err,
                             errlen);
}

int
mq_config_finish(mq_config *c, char *err, size_t errlen)
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
    if (c->log_topic[0] == 0) {
        snprintf(err, errlen, "mqtt.log.topic: a topic name is required");
        return SL_E_INVAL;
    }
    struct sockaddr_storage ss;
    if (fe_addr_parse(c->listen, &ss) != 0) {
        snprintf(err, errlen, "listen=%s: expected HOST:PORT", c->listen);
        return SL_E_INVAL;
    }
    return 0;
}

void
mq_config_doc(FILE *out)
{
    fputs(SL_CONF_DOC_HEADER, out);
    sl_conf_doc_rows(out, mq_config_keys, mq_config_keys_len, "");
}
