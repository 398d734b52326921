/*
 * kf_fetch.c — Fetch (key 1), versions 4-10.
 *
 * Layouts from apache/kafka clients/src/main/resources/common/message/
 * FetchRequest.json and FetchResponse.json (validVersions 0-17,
 * flexibleVersions 12+).  v4 is the first version returning RecordBatch v2;
 * v8 and v10 change only semantics (v10: zstd).
 *
 * Request
 *   int32  replica_id               -1 for consumers
 *   int32  max_wait_ms
 *   int32  min_bytes
 *   int32  max_bytes                v3+
 *   int8   isolation_level          v4+ (0 read uncommitted, 1 committed)
 *   int32  session_id               v7+ (KIP-227 fetch sessions)
 *   int32  session_epoch            v7+
 *   array  topics {
 *     string topic
 *     array  partitions {
 *       int32 partition
 *       int32 current_leader_epoch  v9+
 *       int64 fetch_offset
 *       int64 log_start_offset      v5+ (followers only)
 *       int32 partition_max_bytes
 *     }
 *   }
 *   array  forgotten_topics_data {  v7+
 *     string topic
 *     array  int32 partitions
 *   }
 *   (rack_id appears in v11, outside our range)
 *
 * Response
 *   int32  throttle_time_ms         v1+
 *   int16  error_code               v7+
 *   int32  session_id               v7+
 *   array  responses {
 *     string topic
 *     array  partitions {
 *       int32 partition_index
 *       int16 error_code
 *       int64 high_watermark
 *       int64 last_stable_offset    v4+
 *       int64 log_start_offset      v5+
 *       nullable array aborted_transactions {   v4+
 *         int64 producer_id
 *         int64 first_offset
 *       }
 *       nullable bytes records      whole batches as stored
 *     }
 *   }
 *   (preferred_read_replica appears in v11, outside our range)
 */
#include "kf_codec_impl.h"

static void
req_part_walk(kf__io *io, int16_t v, void *mp)
{
    kf_fetch_req_part *m = mp;
    kf__i32(io, &m->partition);
    if (v >= 9)
        kf__i32(io, &m->current_leader_epoch);
    kf__i64(io, &m->fetch_offset);
    if (v >= 5)
        kf__i64(io, &m->log_start_offset);
    kf__i32(io, &m->partition_max_bytes);
}

static void
req_topic_walk(kf__io *io, int16_t v, void *mp)
{
    kf_fetch_req_topic *m = mp;
    kf__str(io, &m->topic);
    KF__ARRAY(io, v, m->partitions, m->n_partitions, req_part_walk);
}

static void
forgotten_walk(kf__io *io, int16_t v, void *mp)
{
    kf_fetch_forgotten *m = mp;
    kf__str(io, &m->topic);
    KF__ARRAY(io, v, m->partitions, m->n_partitions, kf__walk_i32);
}

void
kf__fetch_req_walk(kf__io *io, int16_t v, void *mp)
{
    kf_fetch_req *m = mp;
    kf__i32(io, &m->replica_id);
    kf__i32(io, &m->max_wait_ms);
    kf__i32(io, &m->min_bytes);
    if (v >= 3)
        kf__i32(io, &m->max_bytes);
    if (v >= 4)
        kf__i8(io, &m->isolation_level);
    if (v >= 7) {
        kf__i32(io, &m->session_id);
        kf__i32(io, &m->session_epoch);
    }
    KF__ARRAY(io, v, m->topics, m->n_topics, req_topic_walk);
    if (v >= 7)
        KF__ARRAY(io, v, m->forgotten, m->n_forgotten, forgotten_walk);
}

static void
aborted_walk(kf__io *io, int16_t v, void *mp)
{
    kf_fetch_aborted *m = mp;
    (void)v;
    kf__i64(io, &m->producer_id);
    kf__i64(io, &m->first_offset);
}

static void
resp_part_walk(kf__io *io, int16_t v, void *mp)
{
    kf_fetch_resp_part *m = mp;
    kf__i32(io, &m->partition_index);
    kf__i16(io, &m->error_code);
    kf__i64(io, &m->high_watermark);
    if (v >= 4)
        kf__i64(io, &m->last_stable_offset);
    if (v >= 5)
        kf__i64(io, &m->log_start_offset);
    if (v >= 4)
        KF__NARRAY(io, v, m->aborted, m->n_aborted, aborted_walk);
    kf__nbytes(io, &m->records);
}

static void
resp_topic_walk(kf__io *io, int16_t v, void *mp)
{
    kf_fetch_resp_topic *m = mp;
    kf__str(io, &m->topic);
    KF__ARRAY(io, v, m->partitions, m->n_partitions, resp_part_walk);
}

void
kf__fetch_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_fetch_resp *m = mp;
    if (v >= 1)
        kf__i32(io, &m->throttle_time_ms);
    if (v >= 7) {
        kf__i16(io, &m->error_code);
        kf__i32(io, &m->session_id);
    }
    KF__ARRAY(io, v, m->topics, m->n_topics, resp_topic_walk);
}

KF__DEFINE_API(fetch, KF_API_FETCH)
