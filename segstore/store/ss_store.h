/*
 * ss_store.h — the topics of a data directory: names, partition counts,
 * per-topic configs (stored durably in <topic>/topic.meta) and the
 * partition logs.  Owned by segstore's loop thread, like the logs.
 */
#ifndef SS_STORE_H
#define SS_STORE_H

#include "sl_conf.h"
#include "ss_log.h"

#define SS_TOPIC_NAME_MAX 249
#define SS_PARTITIONS_MAX 10000

/* The topic config table (segment.bytes, retention.ms, ...): one entry per
 * key, fields of ss_log_cfg.  Also used for segstore's topic.* defaults. */
extern const sl_conf_key ss_topic_conf[];
extern const size_t ss_topic_conf_len;

typedef struct ss_store ss_store;
typedef struct ss_topic ss_topic;

/* A key/value pair of text (config overrides). */
typedef struct ss_kv {
    sl_slice key;
    sl_slice value;
} ss_kv;

/* 1 when name is a legal topic name ([A-Za-z0-9._-]{1,249}, not . or ..). */
int ss_topic_name_ok(sl_slice name);

/*
 * Open every topic of data_dir (recovering each partition log) with
 * `defaults` as the config of keys a topic does not override.  Removes
 * leftovers of deleted topics.  On failure *err says which file and why.
 */
int ss_store_open(const char *data_dir, const ss_log_cfg *defaults,
                  ss_store **out, char *err, size_t errlen);
/* Close every log (sync + checkpoint) and free.  NULL is fine. */
int ss_store_close(ss_store *st);
/* Replace the topic defaults (topic.* keys) and re-resolve every topic's
 * config over them, its own overrides still winning; each partition's log
 * gets the new settings for what it does next (rolls, retention, limits).
 * Owner thread. */
int ss_store_set_defaults(ss_store *st, const ss_log_cfg *defaults);

/*
 * Create a topic with n partitions and config overrides.  Validation
 * failures return SL_E_INVAL / SL_E_EXISTS / SL_E_UNSUPPORTED with a
 * message in err.  Durable when it returns 0.
 */
int ss_store_topic_create(ss_store *st, sl_slice name, int32_t partitions,
                          const ss_kv *configs, size_t nconfigs, char *err,
                          size_t errlen);
/* Grow a topic to `count` partitions (more than it has).  SL_E_NOTOPIC,
 * SL_E_INVAL with a message in err.  Durable when it returns 0. */
int ss_store_topic_add_partitions(ss_store *st, sl_slice name, int32_t count,
                                  int validate_only, char *err, size_t errlen);
/* One change of TOPIC_ALTER_CONFIGS: set key to value, or delete the
 * topic's override of key (back to segstore's topic.* default). */
enum { SS_CFG_SET = 0, SS_CFG_DELETE = 1 };
typedef struct ss_cfg_op {
    int op; /* SS_CFG_SET or SS_CFG_DELETE */
    sl_slice key;
    sl_slice value; /* SET only */
} ss_cfg_op;

/*
 * Change a topic's config overrides, all or nothing.  With `replace`, every
 * override not SET by ops is dropped first (Kafka's AlterConfigs).  Every
 * key is checked against ss_topic_conf with the rules of creation (unknown
 * key, bad value, a key given twice, a key not changeable after creation:
 * SL_E_INVAL; cleanup.policy=compact: SL_E_UNSUPPORTED), err naming the
 * key; SL_E_NOTOPIC when the topic is unknown.  Nothing changes on error
 * or with validate_only.  Otherwise topic.meta is rewritten durably (tmp,
 * fdatasync, rename, fsync dir) before the new settings reach each
 * partition's log, which use them for what they do next (rolls, retention,
 * limits, timestamps; the tier service reads the topic's config on each
 * pass).  On success report (may be NULL) is called once with the topic as
 * it is now — with validate_only, as it would be: a scratch copy valid only
 * during the call, for the ss_topic_override_* and ss_topic_cfg readers.
 * Owner thread.
 */
typedef void (*ss_alter_report_fn)(void *arg, const ss_topic *result);
int ss_store_topic_alter(ss_store *st, sl_slice name, const ss_cfg_op *ops,
                         size_t nops, int replace, int validate_only,
                         ss_alter_report_fn report, void *arg, char *err,
                         size_t errlen);
/* The topic's overrides, in the order they are stored: key i, value i.
 * Views valid until the topic is next altered or deleted. */
size_t ss_topic_override_count(const ss_topic *t);
const char *ss_topic_override_key(const ss_topic *t, size_t i);
const char *ss_topic_override_value(const ss_topic *t, size_t i);

/* Delete a topic and all its data.  SL_E_NOTOPIC when unknown. */
int ss_store_topic_delete(ss_store *st, sl_slice name);

ss_topic *ss_store_topic_find(ss_store *st, sl_slice name);
size_t ss_store_topic_count(const ss_store *st);
ss_topic *ss_store_topic_at(ss_store *st, size_t i);

const char *ss_topic_name(const ss_topic *t);
int32_t ss_topic_partitions(const ss_topic *t);
const ss_log_cfg *ss_topic_cfg(const ss_topic *t);
/* The log of partition p, or NULL when out of range. */
ss_log *ss_topic_log(const ss_topic *t, int32_t p);
/* Is key explicitly set on the topic (vs. a default)? */
int ss_topic_overrides(const ss_topic *t, const char *key);

/* Resolve (topic, partition) to a log: SL_E_NOTOPIC / SL_E_NOPART. */
int ss_store_log(ss_store *st, sl_slice topic, int32_t partition, ss_log **out);

#endif /* SS_STORE_H */
