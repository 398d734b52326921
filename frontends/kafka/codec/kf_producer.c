/*
 * kf_producer.c — InitProducerId (key 22), versions 0-1 (idempotent and
 * transactional producers ask for their producer id and epoch).
 *
 * Layouts from apache/kafka clients/src/main/resources/common/message/
 * InitProducerIdRequest.json and InitProducerIdResponse.json
 * (validVersions 0-5, flexibleVersions 2+).  v1 changes only semantics.
 *
 * Request
 *   nullable string transactional_id     null for idempotence only
 *   int32  transaction_timeout_ms
 *   (producer_id and producer_epoch arrive in v3, outside our range)
 *
 * Response
 *   int32  throttle_time_ms
 *   int16  error_code
 *   int64  producer_id
 *   int16  producer_epoch
 */
#include "kf_codec_impl.h"

void
kf__initproducerid_req_walk(kf__io *io, int16_t v, void *mp)
{
    kf_initproducerid_req *m = mp;
    (void)v;
    kf__nstr(io, &m->transactional_id);
    kf__i32(io, &m->transaction_timeout_ms);
}

void
kf__initproducerid_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_initproducerid_resp *m = mp;
    (void)v;
    kf__i32(io, &m->throttle_time_ms);
    kf__i16(io, &m->error_code);
    kf__i64(io, &m->producer_id);
    kf__i16(io, &m->producer_epoch);
}

KF__DEFINE_API(initproducerid, KF_API_INIT_PRODUCER_ID)
