/*
 * kf_header.c — framing, request and response headers, the table of
 * supported APIs, and dispatch by API key.
 *
 * Frame:            int32 size (bytes that follow, >= 0), then size bytes.
 *
 * Request header (clients/src/main/resources/common/message/
 * RequestHeader.json):
 *   v1: int16 request_api_key
 *       int16 request_api_version
 *       int32 correlation_id
 *       nullable string client_id   (int16 length, -1 null)
 *   v2: v1, then tagged fields       (client_id keeps the int16 length:
 *                                     its flexibleVersions is "none")
 *   v0 (no client_id) is used only by ControlledShutdown v0, which no
 *   client sends to a broker like ours.
 *
 * Response header (ResponseHeader.json):
 *   v0: int32 correlation_id
 *   v1: v0, then tagged fields
 *
 * A request uses header v2 and its response header v1 exactly when the
 * API version is flexible, with one exception: ApiVersions responses always
 * use header v0 (ApiVersionsResponse.json: a client must be able to read
 * the reply to a version it sent optimistically).
 *
 * The first 8 bytes of every request header (key, version, correlation id)
 * mean the same in every header version, which is what lets the frontend
 * answer requests for APIs and versions it does not support.
 */
#include <errno.h>

#include "kf_codec_impl.h"

/* key, name, walks, supported range from issue 3 / kafka-notes §1.2, and
 * the first flexible version from Kafka's *Request.json flexibleVersions. */
#define KF__TABLE(X)                                                           \
    X(PRODUCE, produce, 0, 7, 9)                                               \
    X(FETCH, fetch, 4, 10, 12)                                                 \
    X(LIST_OFFSETS, listoffsets, 1, 4, 6)                                      \
    X(METADATA, metadata, 0, 7, 9)                                             \
    X(OFFSET_COMMIT, offsetcommit, 2, 7, 8)                                    \
    X(OFFSET_FETCH, offsetfetch, 1, 5, 6)                                      \
    X(FIND_COORDINATOR, findcoordinator, 0, 2, 3)                              \
    X(JOIN_GROUP, joingroup, 0, 5, 6)                                          \
    X(HEARTBEAT, heartbeat, 0, 3, 4)                                           \
    X(LEAVE_GROUP, leavegroup, 0, 4, 4)                                        \
    X(SYNC_GROUP, syncgroup, 0, 3, 4)                                          \
    X(DESCRIBE_GROUPS, describegroups, 0, 4, 5)                                \
    X(LIST_GROUPS, listgroups, 0, 2, 3)                                        \
    X(API_VERSIONS, apiversions, 0, 3, 3)                                      \
    X(CREATE_TOPICS, createtopics, 0, 4, 5)                                    \
    X(DELETE_TOPICS, deletetopics, 0, 3, 4)                                    \
    X(INIT_PRODUCER_ID, initproducerid, 0, 1, 2)                               \
    X(DESCRIBE_CONFIGS, describeconfigs, 0, 2, 4)                              \
    X(ALTER_CONFIGS, alterconfigs, 0, 1, 2)                                    \
    X(CREATE_PARTITIONS, createpartitions, 0, 1, 2)                            \
    X(DELETE_GROUPS, deletegroups, 0, 1, 2)                                    \
    X(INCREMENTAL_ALTER_CONFIGS, incrementalalterconfigs, 0, 1, 1)

static const kf__api apis[] = {
#define KF__ROW(NAME, api, lo, hi, flex)                                       \
    {KF_API_##NAME,                                                            \
     lo,                                                                       \
     hi,                                                                       \
     flex,                                                                     \
     #api,                                                                     \
     kf__##api##_req_walk,                                                     \
     kf__##api##_resp_walk,                                                    \
     sizeof(kf_##api##_req),                                                   \
     sizeof(kf_##api##_resp)},
    KF__TABLE(KF__ROW)
#undef KF__ROW
};

static const kf_api_range ranges[] = {
#define KF__RANGE(NAME, api, lo, hi, flex) {KF_API_##NAME, lo, hi},
    KF__TABLE(KF__RANGE)
#undef KF__RANGE
};

/* Names as Kafka spells them, for logs and the compatibility table. */
static const struct {
    int16_t key;
    const char *name;
} names[] = {
#define KF__NAME(NAME, key, text) {key, text},
    KF_APIS(KF__NAME)
#undef KF__NAME
};

/* Kafka's first flexible version of every API key, from apache/kafka
 * @1eb7644 clients/src/main/resources/common/message/<Api>Request.json
 * (flexibleVersions), so that kf_req_hdr_decode() can find the client_id of
 * requests for APIs we do not implement.  Keys past the table are assumed
 * flexible from v0, as every API added since KIP-482 is. */
#define NEVER INT16_MAX
static const int16_t kafka_flex_min[] = {
    9,     /* 0 Produce */
    12,    /* 1 Fetch */
    6,     /* 2 ListOffsets */
    9,     /* 3 Metadata */
    4,     /* 4 LeaderAndIsr */
    2,     /* 5 StopReplica */
    6,     /* 6 UpdateMetadata */
    3,     /* 7 ControlledShutdown */
    8,     /* 8 OffsetCommit */
    6,     /* 9 OffsetFetch */
    3,     /* 10 FindCoordinator */
    6,     /* 11 JoinGroup */
    4,     /* 12 Heartbeat */
    4,     /* 13 LeaveGroup */
    4,     /* 14 SyncGroup */
    5,     /* 15 DescribeGroups */
    3,     /* 16 ListGroups */
    NEVER, /* 17 SaslHandshake */
    3,     /* 18 ApiVersions */
    5,     /* 19 CreateTopics */
    4,     /* 20 DeleteTopics */
    2,     /* 21 DeleteRecords */
    2,     /* 22 InitProducerId */
    4,     /* 23 OffsetForLeaderEpoch */
    3,     /* 24 AddPartitionsToTxn */
    3,     /* 25 AddOffsetsToTxn */
    3,     /* 26 EndTxn */
    1,     /* 27 WriteTxnMarkers */
    3,     /* 28 TxnOffsetCommit */
    2,     /* 29 DescribeAcls */
    2,     /* 30 CreateAcls */
    2,     /* 31 DeleteAcls */
    4,     /* 32 DescribeConfigs */
    2,     /* 33 AlterConfigs */
    2,     /* 34 AlterReplicaLogDirs */
    2,     /* 35 DescribeLogDirs */
    2,     /* 36 SaslAuthenticate */
    2,     /* 37 CreatePartitions */
    2,     /* 38 CreateDelegationToken */
    2,     /* 39 RenewDelegationToken */
    2,     /* 40 ExpireDelegationToken */
    2,     /* 41 DescribeDelegationToken */
    2,     /* 42 DeleteGroups */
    2,     /* 43 ElectLeaders */
    1,     /* 44 IncrementalAlterConfigs */
    0,     /* 45 AlterPartitionReassignments */
    0,     /* 46 ListPartitionReassignments */
    NEVER, /* 47 OffsetDelete */
    1,     /* 48 DescribeClientQuotas */
    1,     /* 49 AlterClientQuotas */
    0,     /* 50 DescribeUserScramCredentials */
    0,     /* 51 AlterUserScramCredentials */
    0,     /* 52 Vote */
    1,     /* 53 BeginQuorumEpoch */
    1,     /* 54 EndQuorumEpoch */
    0,     /* 55 DescribeQuorum */
    0,     /* 56 AlterPartition */
    0,     /* 57 UpdateFeatures */
    0,     /* 58 Envelope */
    0,     /* 59 FetchSnapshot */
    0,     /* 60 DescribeCluster */
    0,     /* 61 DescribeProducers */
    0,     /* 62 BrokerRegistration */
    0,     /* 63 BrokerHeartbeat */
    0,     /* 64 UnregisterBroker */
    0,     /* 65 DescribeTransactions */
    0,     /* 66 ListTransactions */
    0,     /* 67 AllocateProducerIds */
    0,     /* 68 ConsumerGroupHeartbeat */
    0,     /* 69 ConsumerGroupDescribe */
    0,     /* 70 ControllerRegistration */
    0,     /* 71 GetTelemetrySubscriptions */
    0,     /* 72 PushTelemetry */
    0,     /* 73 AssignReplicasToDirs */
    0,     /* 74 ListClientMetricsResources */
    0,     /* 75 DescribeTopicPartitions */
    0,     /* 76 ShareGroupHeartbeat */
    0,     /* 77 ShareGroupDescribe */
    0,     /* 78 ShareFetch */
    0,     /* 79 ShareAcknowledge */
    0,     /* 80 AddRaftVoter */
    0,     /* 81 RemoveRaftVoter */
    0,     /* 82 UpdateRaftVoter */
    0,     /* 83 InitializeShareGroupState */
    0,     /* 84 ReadShareGroupState */
    0,     /* 85 WriteShareGroupState */
    0,     /* 86 DeleteShareGroupState */
    0,     /* 87 ReadShareGroupStateSummary */
};
#undef NEVER

static int16_t
unknown_flex_min(int16_t key)
{
    if (key < 0)
        return INT16_MAX;
    if ((size_t)key >= SL_ARRAY_LEN(kafka_flex_min))
        return 0;
    return kafka_flex_min[key];
}

const kf__api *
kf__api_get(int16_t key)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(apis); i++)
        if (apis[i].key == key)
            return &apis[i];
    return NULL;
}

const kf_api_range *
kf_api_ranges(size_t *n)
{
    *n = SL_ARRAY_LEN(ranges);
    return ranges;
}

const kf_api_range *
kf_api_find(int16_t api_key)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(ranges); i++)
        if (ranges[i].api_key == api_key)
            return &ranges[i];
    return NULL;
}

bool
kf_api_supported(int16_t api_key, int16_t version)
{
    const kf_api_range *r = kf_api_find(api_key);
    return r != NULL && version >= r->min_version && version <= r->max_version;
}

const char *
kf_api_name(int16_t api_key)
{
    for (size_t i = 0; i < SL_ARRAY_LEN(names); i++)
        if (names[i].key == api_key)
            return names[i].name;
    return "Unknown";
}

const char *
kf_err_name(int code)
{
    switch (code) {
#define KF__ERRNAME(name, value)                                               \
    case value:                                                                \
        return #name;
        KF_ERRORS(KF__ERRNAME)
#undef KF__ERRNAME
    default:
        return NULL;
    }
}

int
kf_req_hdr_version(int16_t api_key, int16_t version)
{
    const kf__api *api = kf__api_get(api_key);
    if (api == NULL)
        return -1;
    return version >= api->flex_min ? 2 : 1;
}

int
kf_resp_hdr_version(int16_t api_key, int16_t version)
{
    const kf__api *api = kf__api_get(api_key);
    if (api == NULL)
        return -1;
    /* KIP-511: the ApiVersions response header never carries tagged
     * fields, whatever the request version. */
    if (api_key == KF_API_API_VERSIONS)
        return 0;
    return version >= api->flex_min ? 1 : 0;
}

/* ---- framing ------------------------------------------------------------ */

int
kf_frame_next(sl_slice buf, uint32_t max_size, sl_slice *frame,
              size_t *consumed)
{
    if (buf.n < 4)
        return SL_E_PARTIAL;
    int32_t size = (int32_t)sl_get_u32be(buf.p);
    if (size < 0 || (uint32_t)size > max_size)
        return SL_E_TOOBIG;
    if (buf.n - 4 < (size_t)size)
        return SL_E_PARTIAL;
    *frame = sl_slice_make(buf.p + 4, (size_t)size);
    *consumed = 4 + (size_t)size;
    return 0;
}

int
kf_frame_begin(sl_buf *b, size_t *at)
{
    *at = b->n;
    return sl_buf_put_u32be(b, 0);
}

int
kf_frame_end(sl_buf *b, size_t at)
{
    size_t n = b->n - at - 4;
    if (n > INT32_MAX)
        return SL_E_TOOBIG;
    sl_put_u32be(b->p + at, (uint32_t)n);
    return 0;
}

/* ---- headers ------------------------------------------------------------ */

/* client_id and, for header v2, the tagged fields after it. */
static void
hdr_rest_walk(kf__io *io, int16_t v, void *m)
{
    kf_req_hdr *h = m;
    /* client_id is a classic int16-length string even in header v2. */
    bool flex = io->flex;
    io->flex = false;
    kf__nstr(io, &h->client_id);
    io->flex = flex;
    if (v >= 2)
        kf__tags(io);
}

int
kf_req_hdr_decode(sl_slice frame, sl_slice *body, kf_req_hdr *h)
{
    memset(h, 0, sizeof(*h));
    *body = sl_slice_make(NULL, 0);
    if (frame.n < 8)
        return SL_E_MALFORMED;
    h->api_key = (int16_t)sl_get_u16be(frame.p);
    h->api_version = (int16_t)sl_get_u16be(frame.p + 2);
    h->correlation_id = (int32_t)sl_get_u32be(frame.p + 4);

    const kf__api *api = kf__api_get(h->api_key);
    int rc = 0;
    int16_t flex_min;
    if (api == NULL) {
        rc = SL_E_UNSUPPORTED;
        flex_min = unknown_flex_min(h->api_key);
    } else {
        flex_min = api->flex_min;
        if (h->api_version < api->min || h->api_version > api->max)
            rc = SL_E_VERSION;
    }
    h->hdr_version = h->api_version >= flex_min ? 2 : 1;

    kf__io io = {.mode = KF__DEC, .flex = h->hdr_version >= 2};
    sl_rd_init(&io.rd, sl_slice_make(frame.p + 8, frame.n - 8));
    hdr_rest_walk(&io, h->hdr_version, h);
    if (io.err != 0) {
        h->client_id = kf_nslice_null();
        /* For an API we cannot serve anyway the caller only needs the
         * 8-byte prefix; for one we can, a bad header is malformed. */
        return rc != 0 ? rc : SL_E_MALFORMED;
    }
    *body = sl_slice_make(sl_rd_ptr(&io.rd), sl_rd_left(&io.rd));
    return rc;
}

int
kf_req_hdr_encode(sl_buf *b, const kf_req_hdr *h)
{
    int hv = kf_req_hdr_version(h->api_key, h->api_version);
    if (hv < 0)
        return SL_E_UNSUPPORTED;
    size_t start = b->n;
    int rc = sl_buf_put_u16be(b, (uint16_t)h->api_key);
    if (rc == 0)
        rc = sl_buf_put_u16be(b, (uint16_t)h->api_version);
    if (rc == 0)
        rc = sl_buf_put_u32be(b, (uint32_t)h->correlation_id);
    if (rc == 0) {
        kf__io io = {.mode = KF__ENC, .flex = hv >= 2, .out = b};
        kf_req_hdr copy = *h;
        hdr_rest_walk(&io, (int16_t)hv, &copy);
        rc = io.err;
    }
    if (rc != 0)
        b->n = start;
    return rc;
}

int
kf_resp_hdr_encode(sl_buf *b, int16_t api_key, int16_t api_version,
                   int32_t correlation_id)
{
    int hv = kf_resp_hdr_version(api_key, api_version);
    if (hv < 0)
        return SL_E_UNSUPPORTED;
    size_t start = b->n;
    int rc = sl_buf_put_u32be(b, (uint32_t)correlation_id);
    if (rc == 0 && hv >= 1)
        rc = sl_buf_put_u8(b, 0); /* no tagged fields */
    if (rc != 0)
        b->n = start;
    return rc;
}

int
kf_resp_hdr_decode(sl_slice frame, int16_t api_key, int16_t api_version,
                   int32_t *correlation_id, sl_slice *body)
{
    int hv = kf_resp_hdr_version(api_key, api_version);
    if (hv < 0)
        return SL_E_UNSUPPORTED;
    kf__io io = {.mode = KF__DEC, .flex = hv >= 1};
    sl_rd_init(&io.rd, frame);
    kf__i32(&io, correlation_id);
    kf__tags(&io);
    if (io.err != 0)
        return io.err;
    *body = sl_slice_make(sl_rd_ptr(&io.rd), sl_rd_left(&io.rd));
    return 0;
}

/* ---- dispatch by key ------------------------------------------------------
 */

/* The walk, struct size and flexibility of (key, dir, version), or an
 * error for an unknown key or a version outside the supported range. */
static int
lookup(int16_t key, int dir, int16_t v, kf__walk_fn **walk, size_t *size,
       bool *flex)
{
    const kf__api *api = kf__api_get(key);
    if (api == NULL || (dir != KF_REQ && dir != KF_RESP))
        return SL_E_UNSUPPORTED;
    if (v < api->min || v > api->max)
        return SL_E_VERSION;
    *walk = dir == KF_REQ ? api->req_walk : api->resp_walk;
    *size = dir == KF_REQ ? api->req_size : api->resp_size;
    *flex = v >= api->flex_min;
    return 0;
}

size_t
kf_msg_size(int16_t api_key, int dir)
{
    const kf__api *api = kf__api_get(api_key);
    if (api == NULL)
        return 0;
    return dir == KF_REQ ? api->req_size : api->resp_size;
}

int
kf_msg_decode(int16_t api_key, int dir, int16_t version, sl_slice body,
              sl_arena *a, void *msg)
{
    kf__walk_fn *walk;
    size_t size;
    bool flex;
    int rc = lookup(api_key, dir, version, &walk, &size, &flex);
    if (rc != 0)
        return rc;
    return kf__decode(walk, flex, body, version, a, msg, size);
}

int
kf_msg_encode(sl_buf *b, int16_t api_key, int dir, int16_t version,
              const void *msg)
{
    kf__walk_fn *walk;
    size_t size;
    bool flex;
    int rc = lookup(api_key, dir, version, &walk, &size, &flex);
    if (rc != 0)
        return rc;
    return kf__encode(walk, flex, b, version, msg);
}

int
kf_msg_equal(int16_t api_key, int dir, int16_t version, const void *x,
             const void *y)
{
    kf__walk_fn *walk;
    size_t size;
    bool flex;
    if (lookup(api_key, dir, version, &walk, &size, &flex) != 0)
        return 0;
    kf__io io = {.mode = KF__EQ, .flex = flex, .a_base = x, .b_base = y};
    walk(&io, version, (void *)(uintptr_t)x);
    return io.err == 0;
}

int
kf_msg_example(int16_t api_key, int dir, int16_t version, unsigned seed,
               sl_arena *a, void *msg)
{
    kf__walk_fn *walk;
    size_t size;
    bool flex;
    int rc = lookup(api_key, dir, version, &walk, &size, &flex);
    if (rc != 0)
        return rc;
    memset(msg, 0, size);
    kf__io io = {.mode = KF__FILL, .flex = flex, .arena = a, .seed = seed};
    walk(&io, version, msg);
    return io.err;
}
