/*
 * kf_produce.c — Produce (key 0), versions 3-7.
 *
 * Layouts from apache/kafka clients/src/main/resources/common/message/
 * ProduceRequest.json and ProduceResponse.json (validVersions 0-11,
 * flexibleVersions 9+).  v3 is the first version carrying RecordBatch v2
 * (magic 2) and a transactional id; v4-7 change only semantics (v4 adds
 * KAFKA_STORAGE_ERROR, v7 zstd), not the layout.
 *
 * Request, v3-7
 *   nullable string transactional_id
 *   int16  acks                 0 none, 1 leader, -1 all
 *   int32  timeout_ms
 *   array  topics {
 *     string name
 *     array  partitions {
 *       int32 index
 *       nullable bytes records   RecordBatch v2, opaque here
 *     }
 *   }
 *
 * Response
 *   array  responses {
 *     string name
 *     array  partition_responses {
 *       int32 index
 *       int16 error_code
 *       int64 base_offset
 *       int64 log_append_time_ms     v2+
 *       int64 log_start_offset       v5+
 *     }
 *   }
 *   int32  throttle_time_ms          v1+
 *
 * The records are carried as bytes; the frontend validates them with
 * sl_batch.  acks=0 requests get no response at all: that is the
 * frontend's business, not the codec's.
 */
#include "kf_codec_impl.h"

static void
req_part_walk(kf__io *io, int16_t v, void *mp)
{
    kf_produce_req_part *m = mp;
    (void)v;
    kf__i32(io, &m->index);
    kf__nbytes(io, &m->records);
}

static void
req_topic_walk(kf__io *io, int16_t v, void *mp)
{
    kf_produce_req_topic *m = mp;
    kf__str(io, &m->name);
    KF__ARRAY(io, v, m->partitions, m->n_partitions, req_part_walk);
}

void
kf__produce_req_walk(kf__io *io, int16_t v, void *mp)
{
    kf_produce_req *m = mp;
    if (v >= 3)
        kf__nstr(io, &m->transactional_id);
    kf__i16(io, &m->acks);
    kf__i32(io, &m->timeout_ms);
    KF__ARRAY(io, v, m->topics, m->n_topics, req_topic_walk);
}

static void
resp_part_walk(kf__io *io, int16_t v, void *mp)
{
    kf_produce_resp_part *m = mp;
    kf__i32(io, &m->index);
    kf__i16(io, &m->error_code);
    kf__i64(io, &m->base_offset);
    if (v >= 2)
        kf__i64(io, &m->log_append_time_ms);
    if (v >= 5)
        kf__i64(io, &m->log_start_offset);
}

static void
resp_topic_walk(kf__io *io, int16_t v, void *mp)
{
    kf_produce_resp_topic *m = mp;
    kf__str(io, &m->name);
    KF__ARRAY(io, v, m->partitions, m->n_partitions, resp_part_walk);
}

void
kf__produce_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_produce_resp *m = mp;
    KF__ARRAY(io, v, m->topics, m->n_topics, resp_topic_walk);
    if (v >= 1)
        kf__i32(io, &m->throttle_time_ms);
}

KF__DEFINE_API(produce, KF_API_PRODUCE)
