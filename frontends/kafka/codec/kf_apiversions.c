/*
 * kf_apiversions.c — ApiVersions (key 18), versions 0-3.
 *
 * Layouts from apache/kafka clients/src/main/resources/common/message/
 * ApiVersionsRequest.json and ApiVersionsResponse.json (validVersions 0-4,
 * flexibleVersions 3+; we stop at 3).
 *
 * Request
 *   v0-2: empty body
 *   v3:   compact string client_software_name
 *         compact string client_software_version
 *         tagged fields
 *
 * Response
 *   v0:   int16 error_code
 *         array api_keys { int16 api_key, int16 min_version,
 *                          int16 max_version }
 *   v1-2: v0, then int32 throttle_time_ms
 *   v3:   as v2 with a compact array, each element ending in tagged
 *         fields, and tagged fields after throttle_time_ms (tags 0-3:
 *         supported features, finalized features epoch, finalized
 *         features, zk migration ready; we write none and skip any)
 *
 * The response header is v0 for every version, v3 included: see
 * kf_resp_hdr_version().  A broker that does not support the requested
 * version answers with a v0 body holding UNSUPPORTED_VERSION and its
 * api_keys, and the client retries with a version from that list.
 */
#include "kf_codec_impl.h"

void
kf__apiversions_req_walk(kf__io *io, int16_t v, void *mp)
{
    kf_apiversions_req *m = mp;
    if (v >= 3) {
        kf__str(io, &m->client_software_name);
        kf__str(io, &m->client_software_version);
        kf__tags(io);
    }
}

static void
key_walk(kf__io *io, int16_t v, void *mp)
{
    kf_apiversions_key *m = mp;
    (void)v;
    kf__i16(io, &m->api_key);
    kf__i16(io, &m->min_version);
    kf__i16(io, &m->max_version);
    kf__tags(io);
}

void
kf__apiversions_resp_walk(kf__io *io, int16_t v, void *mp)
{
    kf_apiversions_resp *m = mp;
    kf__i16(io, &m->error_code);
    KF__ARRAY(io, v, m->api_keys, m->n_api_keys, key_walk);
    if (v >= 1)
        kf__i32(io, &m->throttle_time_ms);
    kf__tags(io);
}

KF__DEFINE_API(apiversions, KF_API_API_VERSIONS)
