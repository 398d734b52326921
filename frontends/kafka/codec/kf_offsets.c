/*
 * kf_offsets.c — committed offsets: OffsetCommit (key 8) versions 2-7 and
 * OffsetFetch (key 9) versions 1-5.
 *
 * Layouts from apache/kafka clients/src/main/resources/common/message/
 * OffsetCommitRequest.json / OffsetCommitResponse.json (validVersions 0-9,
 * flexibleVersions 8+) and OffsetFetchRequest.json /
 * OffsetFetchResponse.json (validVersions 0-9, flexibleVersions 6+).
 *
 * OffsetCommit request
 *   string group_id
 *   int32  generation_id             (generation_id_or_member_epoch)
 *   string member_id
 *   nullable string group_instance_id          v7+
 *   int64  retention_time_ms                   v2-4 only
 *   array  topics {
 *     string name
 *     array  partitions {
 *       int32 partition_index
 *       int64 committed_offset
 *       int32 committed_leader_epoch           v6+
 *       nullable string committed_metadata
 *     }
 *   }
 *   (commit_timestamp exists in v1 only, outside our range)
 *
 * OffsetCommit response
 *   int32  throttle_time_ms                    v3+
 *   array  topics { string name; array partitions {
 *     int32 partition_index; int16 error_code } }
 *
 * OffsetFetch request
 *   string group_id
 *   array  topics { string name; array int32 partition_indexes }
 *                                    nullable from v2: null = all topics
 *
 * OffsetFetch response
 *   int32  throttle_time_ms                    v3+
 *   array  topics {
 *     string name
 *     array  partitions {
 *       int32 partition_index
 *       int64 committed_offset
 *       int32 committed_leader_epoch           v5+
 *       nullable string metadata
 *       int16 error_code
 *     }
 *   }
 *   int16  error_code                          v2+ (top level, last)
 */
#include "kf_codec_impl.h"

/* ---- OffsetCommit ------------------------------------------------------- */

static void
commit_req_part_walk(kf__io *io, int16_t v, void *mp)
{
    kf_offsetcommit_req_part *m = mp;
    kf__i32(io, &m->partition_index);
    kf__i64(io, &m->committed_offset);
    if (v >= 6)
        kf__i32(io, &m->committed_leader_epoch);
    kf__nstr(io, &m->committed_metadata);
}

static void
commit_req_topic_walk(kf__io *io, int16_t v, void *mp)
{
    kf_offsetcommit_req_topic *m = mp;
    kf__str(io, &m->name);
    KF__ARRAY(io, v, m->partitions, m->n_partitions, commit_req_part_walk);
}

void
kf__offsetcommit_req_walk(kf__io *io, int16_t v, void *mp)
{
    kf_offsetcommit_req *m = mp;
    kf__str(io, &m->group_id);
    kf__i32(io, &m->generation_id);
    kf__str(io, &m->member_id);
    if (v >= 7)
        kf__nstr(io, &m->group_instance_id);
    if (v >= 2 && v <= 4)
        kf__i64(io, &m->retention_time_ms);
    KF__ARRAY(io, v, m->topics, m->n_topics, commit_req_topic_walk);
}

static void
commit_resp_part_walk(kf__io *io, int16_t v, void *mp)
{
    kf_offsetcommit_resp_part *m = mp;
    (void)v;
    kf__i32(io, &m->partition_index);
    kf__i16(io, &m->error_code);
}

static void
commit_resp_topic_walk(kf__io *io, int16_t v, void *mp)
{
    kf_offsetcommit_resp_topic *m = mp;
    kf__str(io, &m->name);
    KF__ARRAY(io, v, m->partitions, m->n_partitions, commit_resp_part_walk);
}

void
kf__offsetcommit_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_offsetcommit_resp *m = mp;
    if (v >= 3)
        kf__i32(io, &m->throttle_time_ms);
    KF__ARRAY(io, v, m->topics, m->n_topics, commit_resp_topic_walk);
}

KF__DEFINE_API(offsetcommit, KF_API_OFFSET_COMMIT)

/* ---- OffsetFetch -------------------------------------------------------- */

static void
fetch_req_topic_walk(kf__io *io, int16_t v, void *mp)
{
    kf_offsetfetch_req_topic *m = mp;
    kf__str(io, &m->name);
    KF__ARRAY(io, v, m->partition_indexes, m->n_partition_indexes,
              kf__walk_i32);
}

void
kf__offsetfetch_req_walk(kf__io *io, int16_t v, void *mp)
{
    kf_offsetfetch_req *m = mp;
    kf__str(io, &m->group_id);
    if (v >= 2)
        KF__NARRAY(io, v, m->topics, m->n_topics, fetch_req_topic_walk);
    else
        KF__ARRAY(io, v, m->topics, m->n_topics, fetch_req_topic_walk);
}

static void
fetch_resp_part_walk(kf__io *io, int16_t v, void *mp)
{
    kf_offsetfetch_resp_part *m = mp;
    kf__i32(io, &m->partition_index);
    kf__i64(io, &m->committed_offset);
    if (v >= 5)
        kf__i32(io, &m->committed_leader_epoch);
    kf__nstr(io, &m->metadata);
    kf__i16(io, &m->error_code);
}

static void
fetch_resp_topic_walk(kf__io *io, int16_t v, void *mp)
{
    kf_offsetfetch_resp_topic *m = mp;
    kf__str(io, &m->name);
    KF__ARRAY(io, v, m->partitions, m->n_partitions, fetch_resp_part_walk);
}

void
kf__offsetfetch_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_offsetfetch_resp *m = mp;
    if (v >= 3)
        kf__i32(io, &m->throttle_time_ms);
    KF__ARRAY(io, v, m->topics, m->n_topics, fetch_resp_topic_walk);
    if (v >= 2)
        kf__i16(io, &m->error_code);
}

KF__DEFINE_API(offsetfetch, KF_API_OFFSET_FETCH)
