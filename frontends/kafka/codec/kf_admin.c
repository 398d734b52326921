/*
 * kf_admin.c — topic administration: CreateTopics (key 19) v0-4,
 * DeleteTopics (20) v0-3, DescribeConfigs (32) v0-2 and CreatePartitions
 * (37) v0-1.  None of these versions is flexible.
 *
 * Layouts from apache/kafka clients/src/main/resources/common/message/
 * <Api>Request.json and <Api>Response.json.
 *
 * CreateTopics request
 *   array  topics {
 *     string name
 *     int32  num_partitions          -1 = broker default (v4+)
 *     int16  replication_factor      -1 = broker default (v4+)
 *     array  assignments { int32 partition_index; array int32 broker_ids }
 *     array  configs { string name; nullable string value }
 *   }
 *   int32  timeout_ms
 *   bool   validate_only             v1+
 * CreateTopics response
 *   int32  throttle_time_ms          v2+
 *   array  topics { string name; int16 error_code;
 *                   nullable string error_message (v1+) }
 *   (num_partitions, configs, ... arrive in v5, outside our range)
 *
 * DeleteTopics request:  array string topic_names; int32 timeout_ms
 * DeleteTopics response: int32 throttle_time_ms (v1+);
 *   array responses { string name; int16 error_code }
 *
 * DescribeConfigs request
 *   array  resources {
 *     int8   resource_type           2 topic, 4 broker
 *     string resource_name
 *     nullable array string configuration_keys   null = all
 *   }
 *   bool   include_synonyms          v1+
 * DescribeConfigs response
 *   int32  throttle_time_ms
 *   array  results {
 *     int16  error_code
 *     nullable string error_message
 *     int8   resource_type
 *     string resource_name
 *     array  configs {
 *       string name
 *       nullable string value
 *       bool   read_only
 *       bool   is_default            v0 only
 *       int8   config_source         v1+
 *       bool   is_sensitive
 *       array  synonyms {            v1+
 *         string name; nullable string value; int8 source }
 *     }
 *   }
 *
 * CreatePartitions request
 *   array  topics {
 *     string name
 *     int32  count
 *     nullable array assignments { array int32 broker_ids }
 *   }
 *   int32  timeout_ms
 *   bool   validate_only
 * CreatePartitions response
 *   int32  throttle_time_ms
 *   array  results { string name; int16 error_code;
 *                    nullable string error_message }
 */
#include "kf_codec_impl.h"

/* ---- CreateTopics ------------------------------------------------------- */

static void
ct_assignment_walk(kf__io *io, int16_t v, void *mp)
{
    kf_createtopics_assignment *m = mp;
    kf__i32(io, &m->partition_index);
    KF__ARRAY(io, v, m->broker_ids, m->n_broker_ids, kf__walk_i32);
}

static void
ct_config_walk(kf__io *io, int16_t v, void *mp)
{
    kf_createtopics_config *m = mp;
    (void)v;
    kf__str(io, &m->name);
    kf__nstr(io, &m->value);
}

static void
ct_topic_walk(kf__io *io, int16_t v, void *mp)
{
    kf_createtopics_topic *m = mp;
    kf__str(io, &m->name);
    kf__i32(io, &m->num_partitions);
    kf__i16(io, &m->replication_factor);
    KF__ARRAY(io, v, m->assignments, m->n_assignments, ct_assignment_walk);
    KF__ARRAY(io, v, m->configs, m->n_configs, ct_config_walk);
}

void
kf__createtopics_req_walk(kf__io *io, int16_t v, void *mp)
{
    kf_createtopics_req *m = mp;
    KF__ARRAY(io, v, m->topics, m->n_topics, ct_topic_walk);
    kf__i32(io, &m->timeout_ms);
    if (v >= 1)
        kf__bool(io, &m->validate_only);
}

static void
ct_result_walk(kf__io *io, int16_t v, void *mp)
{
    kf_createtopics_result *m = mp;
    kf__str(io, &m->name);
    kf__i16(io, &m->error_code);
    if (v >= 1)
        kf__nstr(io, &m->error_message);
}

void
kf__createtopics_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_createtopics_resp *m = mp;
    if (v >= 2)
        kf__i32(io, &m->throttle_time_ms);
    KF__ARRAY(io, v, m->topics, m->n_topics, ct_result_walk);
}

KF__DEFINE_API(createtopics, KF_API_CREATE_TOPICS)

/* ---- DeleteTopics ------------------------------------------------------- */

void
kf__deletetopics_req_walk(kf__io *io, int16_t v, void *mp)
{
    kf_deletetopics_req *m = mp;
    KF__ARRAY(io, v, m->topic_names, m->n_topic_names, kf__walk_str);
    kf__i32(io, &m->timeout_ms);
}

static void
dt_result_walk(kf__io *io, int16_t v, void *mp)
{
    kf_deletetopics_result *m = mp;
    (void)v;
    kf__str(io, &m->name);
    kf__i16(io, &m->error_code);
}

void
kf__deletetopics_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_deletetopics_resp *m = mp;
    if (v >= 1)
        kf__i32(io, &m->throttle_time_ms);
    KF__ARRAY(io, v, m->responses, m->n_responses, dt_result_walk);
}

KF__DEFINE_API(deletetopics, KF_API_DELETE_TOPICS)

/* ---- DescribeConfigs ---------------------------------------------------- */

static void
dc_resource_walk(kf__io *io, int16_t v, void *mp)
{
    kf_describeconfigs_resource *m = mp;
    kf__i8(io, &m->resource_type);
    kf__str(io, &m->resource_name);
    KF__NARRAY(io, v, m->configuration_keys, m->n_configuration_keys,
               kf__walk_str);
}

void
kf__describeconfigs_req_walk(kf__io *io, int16_t v, void *mp)
{
    kf_describeconfigs_req *m = mp;
    KF__ARRAY(io, v, m->resources, m->n_resources, dc_resource_walk);
    if (v >= 1)
        kf__bool(io, &m->include_synonyms);
}

static void
dc_synonym_walk(kf__io *io, int16_t v, void *mp)
{
    kf_describeconfigs_synonym *m = mp;
    (void)v;
    kf__str(io, &m->name);
    kf__nstr(io, &m->value);
    kf__i8(io, &m->source);
}

static void
dc_config_walk(kf__io *io, int16_t v, void *mp)
{
    kf_describeconfigs_config *m = mp;
    kf__str(io, &m->name);
    kf__nstr(io, &m->value);
    kf__bool(io, &m->read_only);
    if (v == 0)
        kf__bool(io, &m->is_default);
    if (v >= 1)
        kf__i8(io, &m->config_source);
    kf__bool(io, &m->is_sensitive);
    if (v >= 1)
        KF__ARRAY(io, v, m->synonyms, m->n_synonyms, dc_synonym_walk);
}

static void
dc_result_walk(kf__io *io, int16_t v, void *mp)
{
    kf_describeconfigs_result *m = mp;
    kf__i16(io, &m->error_code);
    kf__nstr(io, &m->error_message);
    kf__i8(io, &m->resource_type);
    kf__str(io, &m->resource_name);
    KF__ARRAY(io, v, m->configs, m->n_configs, dc_config_walk);
}

void
kf__describeconfigs_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_describeconfigs_resp *m = mp;
    kf__i32(io, &m->throttle_time_ms);
    KF__ARRAY(io, v, m->results, m->n_results, dc_result_walk);
}

KF__DEFINE_API(describeconfigs, KF_API_DESCRIBE_CONFIGS)

/* ---- CreatePartitions --------------------------------------------------- */

static void
cp_assignment_walk(kf__io *io, int16_t v, void *mp)
{
    kf_createpartitions_assignment *m = mp;
    KF__ARRAY(io, v, m->broker_ids, m->n_broker_ids, kf__walk_i32);
}

static void
cp_topic_walk(kf__io *io, int16_t v, void *mp)
{
    kf_createpartitions_topic *m = mp;
    kf__str(io, &m->name);
    kf__i32(io, &m->count);
    KF__NARRAY(io, v, m->assignments, m->n_assignments, cp_assignment_walk);
}

void
kf__createpartitions_req_walk(kf__io *io, int16_t v, void *mp)
{
    kf_createpartitions_req *m = mp;
    KF__ARRAY(io, v, m->topics, m->n_topics, cp_topic_walk);
    kf__i32(io, &m->timeout_ms);
    kf__bool(io, &m->validate_only);
}

static void
cp_result_walk(kf__io *io, int16_t v, void *mp)
{
    kf_createpartitions_result *m = mp;
    (void)v;
    kf__str(io, &m->name);
    kf__i16(io, &m->error_code);
    kf__nstr(io, &m->error_message);
}

void
kf__createpartitions_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_createpartitions_resp *m = mp;
    kf__i32(io, &m->throttle_time_ms);
    KF__ARRAY(io, v, m->results, m->n_results, cp_result_walk);
}

KF__DEFINE_API(createpartitions, KF_API_CREATE_PARTITIONS)
