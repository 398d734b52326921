/*
 * mq_rules.h — sluice-mqtt's mapping rules: which log topic an MQTT topic
 * is stored in, how that log topic is created, and how records that Kafka
 * clients produce into it become MQTT messages (docs/bridging.md).
 *
 * Two textual forms, both parsed by pure functions over a byte slice:
 *
 * The rules file (mqtt.log.rules.file), one rule per line:
 *
 *     # comment
 *     FILTER  LOG-TOPIC  [OPTION=VALUE ...]
 *     -       LOG-TOPIC  OPTION=VALUE ...      (options only, no filter)
 *
 * Fields are separated by blanks (spaces, tabs).  An MQTT topic goes to the
 * log topic of the first rule whose FILTER matches it.  Options belong to
 * the log topic, not to the line: they may be given on any line naming it,
 * and giving one option two different values is an error.
 *
 *     partitions=N      partitions when the topic is created (1..10000)
 *     qos=0|1|2         QoS of a record without an mqtt.qos header
 *     topic.header=H    the MQTT topic of a record is header H when it is
 *                       there, else its key
 *     KEY=VALUE         any other KEY with a dot in it is a topic config
 *                       for segstore's TOPIC_CREATE (retention.ms, ...)
 *
 * The inline form (mqtt.log.rules): FILTER=TOPIC[;FILTER=TOPIC...], with no
 * options.
 *
 * Errors are "line N: `text`: why" (inline form: "rule N: ...").
 */
#ifndef MQ_RULES_H
#define MQ_RULES_H

#include "sl_base.h"

#include <stdbool.h>

#define MQ_RULES_MAX_TOPICS 64
#define MQ_RULES_MAX_CONF   16
#define MQ_RULES_MAX_NAME   249 /* Kafka's longest topic name */

typedef struct mq_rule_conf {
    char *key, *value;
} mq_rule_conf;

/* A log topic named by the rules, with its options. */
typedef struct mq_rule_topic {
    char *name;
    int32_t partitions; /* 0: not given */
    int qos;            /* -1: not given */
    char *topic_header; /* NULL: not given */
    mq_rule_conf conf[MQ_RULES_MAX_CONF];
    size_t nconf;
} mq_rule_topic;

typedef struct mq_rule_ent {
    char *filter;
    size_t topic; /* index into topics */
} mq_rule_ent;

typedef struct mq_rules {
    mq_rule_topic *topics;
    size_t ntopics;
    mq_rule_ent *rules;
    size_t nrules;
} mq_rules;

/* Parse a rules file into *out (zeroed first; free with mq_rules_free
 * also after a failure).  0, or SL_E_MALFORMED / -ENOMEM with err set. */
int mq_rules_parse(sl_slice text, mq_rules *out, char *err, size_t errlen);
/* Parse the inline form FILTER=TOPIC[;FILTER=TOPIC...]. */
int mq_rules_parse_inline(sl_slice text, mq_rules *out, char *err,
                          size_t errlen);
void mq_rules_free(mq_rules *r);
/* Canonical rules-file text of r (parses back to the same rules). */
int mq_rules_format(const mq_rules *r, sl_buf *out);
/* Kafka's topic name rule (1..249 of [a-zA-Z0-9._-], not . or ..). */
bool mq_rules_topic_valid(sl_slice name);

#endif /* MQ_RULES_H */
