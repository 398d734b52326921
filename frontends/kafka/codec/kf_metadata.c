/*
 * kf_metadata.c — Metadata (key 3), versions 0-7.
 *
 * Layouts from apache/kafka clients/src/main/resources/common/message/
 * MetadataRequest.json and MetadataResponse.json (validVersions 0-12,
 * flexibleVersions 9+).
 *
 * Request
 *   array  topics { string name }   v0: not nullable, empty = all topics;
 *                                   v1+: nullable, null = all topics,
 *                                   empty = none
 *   bool   allow_auto_topic_creation  v4+
 *
 * Response
 *   int32  throttle_time_ms         v3+
 *   array  brokers {
 *     int32  node_id
 *     string host
 *     int32  port
 *     nullable string rack          v1+
 *   }
 *   nullable string cluster_id      v2+
 *   int32  controller_id            v1+
 *   array  topics {
 *     int16  error_code
 *     string name
 *     bool   is_internal            v1+
 *     array  partitions {
 *       int16 error_code
 *       int32 partition_index
 *       int32 leader_id
 *       int32 leader_epoch          v7+
 *       array int32 replica_nodes
 *       array int32 isr_nodes
 *       array int32 offline_replicas  v5+
 *     }
 *   }
 *   (authorized operations appear in v8, outside our range)
 */
#include "kf_codec_impl.h"

void
kf__metadata_req_walk(kf__io *io, int16_t v, void *mp)
{
    kf_metadata_req *m = mp;
    /* Each topic is a one-field struct { name }, the same bytes as a bare
     * string in the non-flexible versions we support. */
    if (v >= 1)
        KF__NARRAY(io, v, m->topics, m->n_topics, kf__walk_str);
    else
        KF__ARRAY(io, v, m->topics, m->n_topics, kf__walk_str);
    if (v >= 4)
        kf__bool(io, &m->allow_auto_topic_creation);
}

static void
broker_walk(kf__io *io, int16_t v, void *mp)
{
    kf_metadata_broker *m = mp;
    kf__i32(io, &m->node_id);
    kf__str(io, &m->host);
    kf__i32(io, &m->port);
    if (v >= 1)
        kf__nstr(io, &m->rack);
}

static void
part_walk(kf__io *io, int16_t v, void *mp)
{
    kf_metadata_part *m = mp;
    kf__i16(io, &m->error_code);
    kf__i32(io, &m->partition_index);
    kf__i32(io, &m->leader_id);
    if (v >= 7)
        kf__i32(io, &m->leader_epoch);
    KF__ARRAY(io, v, m->replica_nodes, m->n_replica_nodes, kf__walk_i32);
    KF__ARRAY(io, v, m->isr_nodes, m->n_isr_nodes, kf__walk_i32);
    if (v >= 5)
        KF__ARRAY(io, v, m->offline_replicas, m->n_offline_replicas,
                  kf__walk_i32);
}

static void
topic_walk(kf__io *io, int16_t v, void *mp)
{
    kf_metadata_topic *m = mp;
    kf__i16(io, &m->error_code);
    kf__str(io, &m->name);
    if (v >= 1)
        kf__bool(io, &m->is_internal);
    KF__ARRAY(io, v, m->partitions, m->n_partitions, part_walk);
}

void
kf__metadata_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_metadata_resp *m = mp;
    if (v >= 3)
        kf__i32(io, &m->throttle_time_ms);
    KF__ARRAY(io, v, m->brokers, m->n_brokers, broker_walk);
    if (v >= 2)
        kf__nstr(io, &m->cluster_id);
    if (v >= 1)
        kf__i32(io, &m->controller_id);
    KF__ARRAY(io, v, m->topics, m->n_topics, topic_walk);
}

KF__DEFINE_API(metadata, KF_API_METADATA)
