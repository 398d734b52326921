/*
 * ss_server.h — sluice-segstore's process: its config table and the server
 * that answers IPC requests on a libuv loop with group commit.
 */
#ifndef SS_SERVER_H
#define SS_SERVER_H

#include "sl_conf.h"
#include "ss_store.h"

#include <stdio.h>

enum { SS_FSYNC_BATCH = 0, SS_FSYNC_INTERVAL = 1, SS_FSYNC_NEVER = 2 };

typedef struct ss_config {
    char data[SL_CONF_STR_MAX];
    char ipc[SL_CONF_STR_MAX];    /* comma-separated listen URLs */
    char events[SL_CONF_STR_MAX]; /* comma-separated; "" = derived */
    char fsync[SL_CONF_STR_MAX];  /* batch | interval:<ms> | never */
    char socket_group[SL_CONF_STR_MAX];
    char log_level[SL_CONF_STR_MAX];
    int64_t checkpoint_ms;
    int64_t retention_check_ms;
    int64_t max_msg;
    int64_t contexts;
    char metrics_listen[SL_CONF_STR_MAX]; /* "" = no /metrics endpoint */
    int64_t kv_value_max;
    int64_t kv_segment_bytes;
    char tier_url[SL_CONF_STR_MAX]; /* "" = no tier */
    char tier_endpoint[SL_CONF_STR_MAX];
    char tier_region[SL_CONF_STR_MAX];
    char tier_access_key[SL_CONF_STR_MAX];
    char tier_secret_key[SL_CONF_STR_MAX];
    int64_t tier_multipart_bytes;
    int64_t tier_cache_bytes;
    int64_t tier_check_ms;
    int tier_odirect;
    ss_log_cfg topic; /* defaults for topics, keys "topic.<name>" */
    /* derived by ss_config_finish */
    int fsync_mode;
    int64_t fsync_interval_ms;
} ss_config;

extern const sl_conf_key ss_config_keys[];
extern const size_t ss_config_keys_len;

void ss_config_defaults(ss_config *c);
/* Apply "key=value" (topic.* keys go to the topic defaults). */
int ss_config_set(ss_config *c, const char *kv, char *err, size_t errlen);
/* Validate and derive (fsync policy, events URLs).  0 or SL_E_INVAL. */
int ss_config_finish(ss_config *c, char *err, size_t errlen);
/* Write every key with its default and doc as Markdown (docs). */
void ss_config_doc(FILE *out);

/* Fill fresh with the settings as they would be at start now (file,
 * environment, command line) and finish them; 0, or non-zero when they
 * are invalid (err says why, or it was already printed). */
typedef int ss_config_reload_fn(void *arg, ss_config *fresh, char *err,
                                size_t errlen);

/* Run the server until SIGTERM/SIGINT; SIGHUP calls reload and applies
 * the keys that can change live.  Returns the process exit code. */
int ss_server_run(ss_config *cfg, ss_config_reload_fn *reload, void *arg);

#endif /* SS_SERVER_H */
