/*
 * kf_listoffsets.c — ListOffsets (key 2), versions 1-4.
 *
 * Layouts from apache/kafka clients/src/main/resources/common/message/
 * ListOffsetsRequest.json and ListOffsetsResponse.json (validVersions
 * 0-10, flexibleVersions 6+).  v0 (max_num_offsets, old_style_offsets)
 * has different semantics and is not supported.
 *
 * Request
 *   int32  replica_id
 *   int8   isolation_level          v2+
 *   array  topics {
 *     string name
 *     array  partitions {
 *       int32 partition_index
 *       int32 current_leader_epoch  v4+
 *       int64 timestamp             -1 latest, -2 earliest
 *     }
 *   }
 *
 * Response
 *   int32  throttle_time_ms         v2+
 *   array  topics {
 *     string name
 *     array  partitions {
 *       int32 partition_index
 *       int16 error_code
 *       int64 timestamp
 *       int64 offset
 *       int32 leader_epoch          v4+
 *     }
 *   }
 */
#include "kf_codec_impl.h"

static void
req_part_walk(kf__io *io, int16_t v, void *mp)
{
    kf_listoffsets_req_part *m = mp;
    kf__i32(io, &m->partition_index);
    if (v >= 4)
        kf__i32(io, &m->current_leader_epoch);
    kf__i64(io, &m->timestamp);
}

static void
req_topic_walk(kf__io *io, int16_t v, void *mp)
{
    kf_listoffsets_req_topic *m = mp;
    kf__str(io, &m->name);
    KF__ARRAY(io, v, m->partitions, m->n_partitions, req_part_walk);
}

void
kf__listoffsets_req_walk(kf__io *io, int16_t v, void *mp)
{
    kf_listoffsets_req *m = mp;
    kf__i32(io, &m->replica_id);
    if (v >= 2)
        kf__i8(io, &m->isolation_level);
    KF__ARRAY(io, v, m->topics, m->n_topics, req_topic_walk);
}

static void
resp_part_walk(kf__io *io, int16_t v, void *mp)
{
    kf_listoffsets_resp_part *m = mp;
    kf__i32(io, &m->partition_index);
    kf__i16(io, &m->error_code);
    kf__i64(io, &m->timestamp);
    kf__i64(io, &m->offset);
    if (v >= 4)
        kf__i32(io, &m->leader_epoch);
}

static void
resp_topic_walk(kf__io *io, int16_t v, void *mp)
{
    kf_listoffsets_resp_topic *m = mp;
    kf__str(io, &m->name);
    KF__ARRAY(io, v, m->partitions, m->n_partitions, resp_part_walk);
}

void
kf__listoffsets_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_listoffsets_resp *m = mp;
    if (v >= 2)
        kf__i32(io, &m->throttle_time_ms);
    KF__ARRAY(io, v, m->topics, m->n_topics, resp_topic_walk);
}

KF__DEFINE_API(listoffsets, KF_API_LIST_OFFSETS)
