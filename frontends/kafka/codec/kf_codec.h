/*
 * kf_codec.h — the Kafka wire protocol as Sluice speaks it: framing, request
 * and response headers, and one request and one response struct per API,
 * each with a decoder and an encoder in both directions.
 *
 * A Kafka connection carries frames:
 *
 *   int32 size | request header | request body        (client -> broker)
 *   int32 size | response header | response body      (broker -> client)
 *
 * size counts the bytes after itself.  Request header v1 is
 *   int16 api_key, int16 api_version, int32 correlation_id,
 *   nullable string client_id (int16 length, -1 = null);
 * v2 (flexible APIs) appends tagged fields (an unsigned-varint count, then
 * per field a varint tag, a varint size and that many bytes).  client_id
 * keeps its int16 length in v2.  Response header v0 is int32
 * correlation_id; v1 appends tagged fields.  ApiVersions always answers
 * with response header v0, even to a flexible (v3) request, because a
 * client must be able to parse the reply before it knows what we speak
 * (KIP-511); kf_resp_hdr_version() knows this.
 *
 * Bodies follow apache/kafka clients/src/main/resources/common/message/
 * <Api>Request.json / <Api>Response.json; each kf_<family>.c gives the
 * layout per version.  Fields that do not exist in a version are neither
 * read nor written (decoders leave them zero); version gates live only
 * here.
 *
 * Representation:
 *   - a string or bytes field is an sl_slice; a nullable one a kf_nslice
 *     (null flag + slice).  Decoded slices are views into the body slice
 *     given to the decoder and live as long as it does.
 *   - an array is a pointer and an int32_t count; for a nullable array a
 *     count of -1 is null.  Decoded arrays live in the caller's arena.
 *   - bool fields are C bools (one byte on the wire; any non-zero byte
 *     decodes as true, true encodes as 1).
 *
 * Every decoder is a pure function: no malloc (arrays come from the caller's
 * sl_arena), no I/O, no logging, no mutable globals.  Each length and array
 * count is checked against the bytes that remain before anything is
 * allocated, so a count of 2^31 is refused without touching the arena.
 * Return codes, everywhere:
 *   0              success, *out fully written
 *   SL_E_MALFORMED bad or truncated input, bytes left after the body
 *   SL_E_TOOBIG    the arena is exhausted (the input itself may be fine)
 *   SL_E_VERSION   the version is outside what the codec supports
 *   SL_E_INVAL     (encoders) a value the wire cannot carry: a string
 *                  over 32767 bytes, a null where the field is not
 *                  nullable at that version, a negative count
 *   -ENOMEM        (encoders) the sl_buf could not grow
 * On error *out is unspecified; an encoder leaves the sl_buf as it was.
 */
#ifndef KF_CODEC_H
#define KF_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_base.h"

/* ---- API keys and the supported-version table ---------------------------
 * These are the API keys the codec implements; every other key is
 * unsupported (see docs/kafka.md for what the frontend answers). */
#define KF_APIS(X)                                                             \
    X(PRODUCE, 0, "Produce")                                                   \
    X(FETCH, 1, "Fetch")                                                       \
    X(LIST_OFFSETS, 2, "ListOffsets")                                          \
    X(METADATA, 3, "Metadata")                                                 \
    X(OFFSET_COMMIT, 8, "OffsetCommit")                                        \
    X(OFFSET_FETCH, 9, "OffsetFetch")                                          \
    X(FIND_COORDINATOR, 10, "FindCoordinator")                                 \
    X(JOIN_GROUP, 11, "JoinGroup")                                             \
    X(HEARTBEAT, 12, "Heartbeat")                                              \
    X(LEAVE_GROUP, 13, "LeaveGroup")                                           \
    X(SYNC_GROUP, 14, "SyncGroup")                                             \
    X(DESCRIBE_GROUPS, 15, "DescribeGroups")                                   \
    X(LIST_GROUPS, 16, "ListGroups")                                           \
    X(API_VERSIONS, 18, "ApiVersions")                                         \
    X(CREATE_TOPICS, 19, "CreateTopics")                                       \
    X(DELETE_TOPICS, 20, "DeleteTopics")                                       \
    X(INIT_PRODUCER_ID, 22, "InitProducerId")                                  \
    X(DESCRIBE_CONFIGS, 32, "DescribeConfigs")                                 \
    X(ALTER_CONFIGS, 33, "AlterConfigs")                                       \
    X(CREATE_PARTITIONS, 37, "CreatePartitions")                               \
    X(DELETE_GROUPS, 42, "DeleteGroups")                                       \
    X(INCREMENTAL_ALTER_CONFIGS, 44, "IncrementalAlterConfigs")

enum {
#define KF_X_API(name, key, text) KF_API_##name = key,
    KF_APIS(KF_X_API)
#undef KF_X_API
};

/* One row of what ApiVersions advertises and what dispatch accepts. */
typedef struct kf_api_range {
    int16_t api_key;
    int16_t min_version;
    int16_t max_version;
} kf_api_range;

/* The supported APIs in key order; *n gets the row count.  Static storage. */
const kf_api_range *kf_api_ranges(size_t *n);
/* The row for api_key, or NULL when the codec does not implement it. */
const kf_api_range *kf_api_find(int16_t api_key);
/* True when the codec decodes and encodes api_key at version. */
bool kf_api_supported(int16_t api_key, int16_t version);
/* "Produce", ...; "Unknown" for a key the codec does not implement. */
const char *kf_api_name(int16_t api_key);

/* Request header version (1 or 2) and response header version (0 or 1) for
 * an API at a version, from Kafka's flexibleVersions; -1 for a key the
 * codec does not know.  ApiVersions always gets response header v0. */
int kf_req_hdr_version(int16_t api_key, int16_t version);
int kf_resp_hdr_version(int16_t api_key, int16_t version);

/* ---- Kafka error codes (org.apache.kafka.common.protocol.Errors) ------- */
#define KF_ERRORS(X)                                                           \
    X(UNKNOWN_SERVER_ERROR, -1)                                                \
    X(NONE, 0)                                                                 \
    X(OFFSET_OUT_OF_RANGE, 1)                                                  \
    X(CORRUPT_MESSAGE, 2)                                                      \
    X(UNKNOWN_TOPIC_OR_PARTITION, 3)                                           \
    X(INVALID_FETCH_SIZE, 4)                                                   \
    X(LEADER_NOT_AVAILABLE, 5)                                                 \
    X(NOT_LEADER_OR_FOLLOWER, 6)                                               \
    X(REQUEST_TIMED_OUT, 7)                                                    \
    X(MESSAGE_TOO_LARGE, 10)                                                   \
    X(OFFSET_METADATA_TOO_LARGE, 12)                                           \
    X(COORDINATOR_LOAD_IN_PROGRESS, 14)                                        \
    X(COORDINATOR_NOT_AVAILABLE, 15)                                           \
    X(NOT_COORDINATOR, 16)                                                     \
    X(INVALID_TOPIC_EXCEPTION, 17)                                             \
    X(RECORD_LIST_TOO_LARGE, 18)                                               \
    X(NOT_ENOUGH_REPLICAS, 19)                                                 \
    X(NOT_ENOUGH_REPLICAS_AFTER_APPEND, 20)                                    \
    X(INVALID_REQUIRED_ACKS, 21)                                               \
    X(ILLEGAL_GENERATION, 22)                                                  \
    X(INCONSISTENT_GROUP_PROTOCOL, 23)                                         \
    X(INVALID_GROUP_ID, 24)                                                    \
    X(UNKNOWN_MEMBER_ID, 25)                                                   \
    X(INVALID_SESSION_TIMEOUT, 26)                                             \
    X(REBALANCE_IN_PROGRESS, 27)                                               \
    X(INVALID_COMMIT_OFFSET_SIZE, 28)                                          \
    X(TOPIC_AUTHORIZATION_FAILED, 29)                                          \
    X(GROUP_AUTHORIZATION_FAILED, 30)                                          \
    X(CLUSTER_AUTHORIZATION_FAILED, 31)                                        \
    X(INVALID_TIMESTAMP, 32)                                                   \
    X(UNSUPPORTED_SASL_MECHANISM, 33)                                          \
    X(UNSUPPORTED_VERSION, 35)                                                 \
    X(TOPIC_ALREADY_EXISTS, 36)                                                \
    X(INVALID_PARTITIONS, 37)                                                  \
    X(INVALID_REPLICATION_FACTOR, 38)                                          \
    X(INVALID_REPLICA_ASSIGNMENT, 39)                                          \
    X(INVALID_CONFIG, 40)                                                      \
    X(INVALID_REQUEST, 42)                                                     \
    X(UNSUPPORTED_FOR_MESSAGE_FORMAT, 43)                                      \
    X(OUT_OF_ORDER_SEQUENCE_NUMBER, 45)                                        \
    X(DUPLICATE_SEQUENCE_NUMBER, 46)                                           \
    X(INVALID_PRODUCER_EPOCH, 47)                                              \
    X(INVALID_TXN_STATE, 48)                                                   \
    X(INVALID_PRODUCER_ID_MAPPING, 49)                                         \
    X(INVALID_TRANSACTION_TIMEOUT, 50)                                         \
    X(TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 53)                               \
    X(KAFKA_STORAGE_ERROR, 56)                                                 \
    X(UNKNOWN_PRODUCER_ID, 59)                                                 \
    X(NON_EMPTY_GROUP, 68)                                                     \
    X(GROUP_ID_NOT_FOUND, 69)                                                  \
    X(UNSUPPORTED_COMPRESSION_TYPE, 76)                                        \
    X(MEMBER_ID_REQUIRED, 79)                                                  \
    X(GROUP_MAX_SIZE_REACHED, 81)                                              \
    X(FENCED_INSTANCE_ID, 82)                                                  \
    X(INVALID_RECORD, 87)

enum {
#define KF_X_ERR(name, code) KF_ERR_##name = code,
    KF_ERRORS(KF_X_ERR)
#undef KF_X_ERR
};

/* "UNKNOWN_TOPIC_OR_PARTITION", ...; NULL for a code not in the list. */
const char *kf_err_name(int code);

/* ---- values ------------------------------------------------------------ */

/* A nullable string or bytes field. */
typedef struct kf_nslice {
    bool null;
    sl_slice v;
} kf_nslice;

static inline kf_nslice
kf_nslice_make(const void *p, size_t n)
{
    kf_nslice s = {false, sl_slice_make(p, n)};
    return s;
}

static inline kf_nslice
kf_nslice_str(const char *s)
{
    kf_nslice r = {s == NULL, sl_slice_str(s)};
    return r;
}

static inline kf_nslice
kf_nslice_null(void)
{
    kf_nslice r = {true, {NULL, 0}};
    return r;
}

/* ---- framing ------------------------------------------------------------ */

/* The next whole frame in a receive buffer.  Returns 0 with *frame (header
 * and body, a view into buf) and *consumed (bytes to drop from buf,
 * including the size prefix); SL_E_PARTIAL when buf does not yet hold a
 * whole frame; SL_E_TOOBIG for a negative size or one over max_size (the
 * connection cannot be resynchronised and should be closed). */
int kf_frame_next(sl_slice buf, uint32_t max_size, sl_slice *frame,
                  size_t *consumed);

/* Building a frame: kf_frame_begin() appends a size placeholder and returns
 * its offset (or -ENOMEM); after header and body are appended,
 * kf_frame_end() patches the size.  0, or SL_E_TOOBIG past INT32_MAX. */
int kf_frame_begin(sl_buf *b, size_t *at);
int kf_frame_end(sl_buf *b, size_t at);

/* ---- headers ------------------------------------------------------------ */

typedef struct kf_req_hdr {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    kf_nslice client_id; /* view into the frame */
    int8_t hdr_version;  /* 1 or 2: what was parsed */
} kf_req_hdr;

/* Decode the request header at the start of frame; *body gets the rest.
 *   0               known API at a supported version
 *   SL_E_UNSUPPORTED the codec does not implement api_key
 *   SL_E_VERSION    api_version is outside the supported range
 *   SL_E_MALFORMED  not even the 8-byte prefix, or a bad client_id
 * With SL_E_UNSUPPORTED and SL_E_VERSION, api_key, api_version and
 * correlation_id are valid (they come before anything version dependent)
 * so the caller can answer; client_id and *body are filled in as best we
 * can (the header version is guessed from Kafka's flexibleVersions) and are
 * empty when that fails. */
int kf_req_hdr_decode(sl_slice frame, sl_slice *body, kf_req_hdr *h);
/* Append a request header in the version its API and version use.
 * SL_E_UNSUPPORTED for an unknown API. */
int kf_req_hdr_encode(sl_buf *b, const kf_req_hdr *h);

/* Append the response header for a reply to (api_key, api_version). */
int kf_resp_hdr_encode(sl_buf *b, int16_t api_key, int16_t api_version,
                       int32_t correlation_id);
/* Client side: parse the response header of a reply to (api_key,
 * api_version) at the start of frame. */
int kf_resp_hdr_decode(sl_slice frame, int16_t api_key, int16_t api_version,
                       int32_t *correlation_id, sl_slice *body);

/* ==== per-API messages ====================================================
 * Comments name the versions a field exists in; fields without one exist in
 * every supported version. */

/* ---- ApiVersions (18), v0-3; v3 is flexible ---------------------------- */
typedef struct kf_apiversions_req {
    sl_slice client_software_name;    /* v3+ */
    sl_slice client_software_version; /* v3+ */
} kf_apiversions_req;

typedef struct kf_apiversions_key {
    int16_t api_key;
    int16_t min_version;
    int16_t max_version;
} kf_apiversions_key;

typedef struct kf_apiversions_resp {
    int16_t error_code;
    kf_apiversions_key *api_keys;
    int32_t n_api_keys;
    int32_t throttle_time_ms; /* v1+ */
} kf_apiversions_resp;

/* ---- Produce (0), v3-7 -------------------------------------------------- */
typedef struct kf_produce_req_part {
    int32_t index;
    kf_nslice records; /* RecordBatch v2 bytes, not parsed here */
} kf_produce_req_part;

typedef struct kf_produce_req_topic {
    sl_slice name;
    kf_produce_req_part *partitions;
    int32_t n_partitions;
} kf_produce_req_topic;

typedef struct kf_produce_req {
    kf_nslice transactional_id; /* v3+ */
    int16_t acks;
    int32_t timeout_ms;
    kf_produce_req_topic *topics;
    int32_t n_topics;
} kf_produce_req;

typedef struct kf_produce_resp_part {
    int32_t index;
    int16_t error_code;
    int64_t base_offset;
    int64_t log_append_time_ms; /* v2+ */
    int64_t log_start_offset;   /* v5+ */
} kf_produce_resp_part;

typedef struct kf_produce_resp_topic {
    sl_slice name;
    kf_produce_resp_part *partitions;
    int32_t n_partitions;
} kf_produce_resp_topic;

typedef struct kf_produce_resp {
    kf_produce_resp_topic *topics;
    int32_t n_topics;
    int32_t throttle_time_ms; /* v1+ (after the topics on the wire) */
} kf_produce_resp;

/* ---- Fetch (1), v4-10 --------------------------------------------------- */
typedef struct kf_fetch_req_part {
    int32_t partition;
    int32_t current_leader_epoch; /* v9+ */
    int64_t fetch_offset;
    int64_t log_start_offset; /* v5+ */
    int32_t partition_max_bytes;
} kf_fetch_req_part;

typedef struct kf_fetch_req_topic {
    sl_slice topic;
    kf_fetch_req_part *partitions;
    int32_t n_partitions;
} kf_fetch_req_topic;

typedef struct kf_fetch_forgotten {
    sl_slice topic;
    int32_t *partitions;
    int32_t n_partitions;
} kf_fetch_forgotten;

typedef struct kf_fetch_req {
    int32_t replica_id;
    int32_t max_wait_ms;
    int32_t min_bytes;
    int32_t max_bytes;      /* v3+ */
    int8_t isolation_level; /* v4+ */
    int32_t session_id;     /* v7+ */
    int32_t session_epoch;  /* v7+ */
    kf_fetch_req_topic *topics;
    int32_t n_topics;
    kf_fetch_forgotten *forgotten; /* v7+ */
    int32_t n_forgotten;
} kf_fetch_req;

typedef struct kf_fetch_aborted {
    int64_t producer_id;
    int64_t first_offset;
} kf_fetch_aborted;

typedef struct kf_fetch_resp_part {
    int32_t partition_index;
    int16_t error_code;
    int64_t high_watermark;
    int64_t last_stable_offset; /* v4+ */
    int64_t log_start_offset;   /* v5+ */
    kf_fetch_aborted *aborted;  /* v4+, nullable: n_aborted -1 = null */
    int32_t n_aborted;
    kf_nslice records; /* whole batches, sent as stored */
} kf_fetch_resp_part;

typedef struct kf_fetch_resp_topic {
    sl_slice topic;
    kf_fetch_resp_part *partitions;
    int32_t n_partitions;
} kf_fetch_resp_topic;

typedef struct kf_fetch_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;       /* v7+ */
    int32_t session_id;       /* v7+ */
    kf_fetch_resp_topic *topics;
    int32_t n_topics;
} kf_fetch_resp;

/* ---- ListOffsets (2), v1-4 ---------------------------------------------- */
typedef struct kf_listoffsets_req_part {
    int32_t partition_index;
    int32_t current_leader_epoch; /* v4+ */
    int64_t timestamp;            /* -1 latest, -2 earliest, else KIP-79 */
} kf_listoffsets_req_part;

typedef struct kf_listoffsets_req_topic {
    sl_slice name;
    kf_listoffsets_req_part *partitions;
    int32_t n_partitions;
} kf_listoffsets_req_topic;

typedef struct kf_listoffsets_req {
    int32_t replica_id;
    int8_t isolation_level; /* v2+ */
    kf_listoffsets_req_topic *topics;
    int32_t n_topics;
} kf_listoffsets_req;

typedef struct kf_listoffsets_resp_part {
    int32_t partition_index;
    int16_t error_code;
    int64_t timestamp;
    int64_t offset;
    int32_t leader_epoch; /* v4+ */
} kf_listoffsets_resp_part;

typedef struct kf_listoffsets_resp_topic {
    sl_slice name;
    kf_listoffsets_resp_part *partitions;
    int32_t n_partitions;
} kf_listoffsets_resp_topic;

typedef struct kf_listoffsets_resp {
    int32_t throttle_time_ms; /* v2+ */
    kf_listoffsets_resp_topic *topics;
    int32_t n_topics;
} kf_listoffsets_resp;

/* ---- Metadata (3), v0-7 ------------------------------------------------- */
typedef struct kf_metadata_req {
    /* v0: an empty array means all topics and null is not allowed;
     * v1+: null (n_topics -1) means all topics, empty means none. */
    sl_slice *topics;
    int32_t n_topics;
    bool allow_auto_topic_creation; /* v4+ (v0-3: the broker's default) */
} kf_metadata_req;

typedef struct kf_metadata_broker {
    int32_t node_id;
    sl_slice host;
    int32_t port;
    kf_nslice rack; /* v1+ */
} kf_metadata_broker;

typedef struct kf_metadata_part {
    int16_t error_code;
    int32_t partition_index;
    int32_t leader_id;
    int32_t leader_epoch; /* v7+ */
    int32_t *replica_nodes;
    int32_t n_replica_nodes;
    int32_t *isr_nodes;
    int32_t n_isr_nodes;
    int32_t *offline_replicas; /* v5+ */
    int32_t n_offline_replicas;
} kf_metadata_part;

typedef struct kf_metadata_topic {
    int16_t error_code;
    sl_slice name;
    bool is_internal; /* v1+ */
    kf_metadata_part *partitions;
    int32_t n_partitions;
} kf_metadata_topic;

typedef struct kf_metadata_resp {
    int32_t throttle_time_ms; /* v3+ */
    kf_metadata_broker *brokers;
    int32_t n_brokers;
    kf_nslice cluster_id;  /* v2+ */
    int32_t controller_id; /* v1+ */
    kf_metadata_topic *topics;
    int32_t n_topics;
} kf_metadata_resp;

/* ---- OffsetCommit (8), v2-7 --------------------------------------------- */
typedef struct kf_offsetcommit_req_part {
    int32_t partition_index;
    int64_t committed_offset;
    int32_t committed_leader_epoch; /* v6+ */
    kf_nslice committed_metadata;
} kf_offsetcommit_req_part;

typedef struct kf_offsetcommit_req_topic {
    sl_slice name;
    kf_offsetcommit_req_part *partitions;
    int32_t n_partitions;
} kf_offsetcommit_req_topic;

typedef struct kf_offsetcommit_req {
    sl_slice group_id;
    int32_t generation_id;
    sl_slice member_id;
    kf_nslice group_instance_id; /* v7+ */
    int64_t retention_time_ms;   /* v2-4 */
    kf_offsetcommit_req_topic *topics;
    int32_t n_topics;
} kf_offsetcommit_req;

typedef struct kf_offsetcommit_resp_part {
    int32_t partition_index;
    int16_t error_code;
} kf_offsetcommit_resp_part;

typedef struct kf_offsetcommit_resp_topic {
    sl_slice name;
    kf_offsetcommit_resp_part *partitions;
    int32_t n_partitions;
} kf_offsetcommit_resp_topic;

typedef struct kf_offsetcommit_resp {
    int32_t throttle_time_ms; /* v3+ */
    kf_offsetcommit_resp_topic *topics;
    int32_t n_topics;
} kf_offsetcommit_resp;

/* ---- OffsetFetch (9), v1-5 ---------------------------------------------- */
typedef struct kf_offsetfetch_req_topic {
    sl_slice name;
    int32_t *partition_indexes;
    int32_t n_partition_indexes;
} kf_offsetfetch_req_topic;

typedef struct kf_offsetfetch_req {
    sl_slice group_id;
    kf_offsetfetch_req_topic *topics; /* v2+: null (-1) = all topics */
    int32_t n_topics;
} kf_offsetfetch_req;

typedef struct kf_offsetfetch_resp_part {
    int32_t partition_index;
    int64_t committed_offset;
    int32_t committed_leader_epoch; /* v5+ */
    kf_nslice metadata;
    int16_t error_code;
} kf_offsetfetch_resp_part;

typedef struct kf_offsetfetch_resp_topic {
    sl_slice name;
    kf_offsetfetch_resp_part *partitions;
    int32_t n_partitions;
} kf_offsetfetch_resp_topic;

typedef struct kf_offsetfetch_resp {
    int32_t throttle_time_ms; /* v3+ */
    kf_offsetfetch_resp_topic *topics;
    int32_t n_topics;
    int16_t error_code; /* v2+ (after the topics on the wire) */
} kf_offsetfetch_resp;

/* ---- FindCoordinator (10), v0-2 ----------------------------------------- */
typedef struct kf_findcoordinator_req {
    sl_slice key;
    int8_t key_type; /* v1+: 0 group, 1 transaction */
} kf_findcoordinator_req;

typedef struct kf_findcoordinator_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    kf_nslice error_message; /* v1+ */
    int32_t node_id;
    sl_slice host;
    int32_t port;
} kf_findcoordinator_resp;

/* ---- JoinGroup (11), v0-5 ----------------------------------------------- */
typedef struct kf_joingroup_protocol {
    sl_slice name;
    sl_slice metadata;
} kf_joingroup_protocol;

typedef struct kf_joingroup_req {
    sl_slice group_id;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms; /* v1+ */
    sl_slice member_id;
    kf_nslice group_instance_id; /* v5+ */
    sl_slice protocol_type;
    kf_joingroup_protocol *protocols;
    int32_t n_protocols;
} kf_joingroup_req;

typedef struct kf_joingroup_member {
    sl_slice member_id;
    kf_nslice group_instance_id; /* v5+ */
    sl_slice metadata;
} kf_joingroup_member;

typedef struct kf_joingroup_resp {
    int32_t throttle_time_ms; /* v2+ */
    int16_t error_code;
    int32_t generation_id;
    sl_slice protocol_name;
    sl_slice leader;
    sl_slice member_id;
    kf_joingroup_member *members;
    int32_t n_members;
} kf_joingroup_resp;

/* ---- Heartbeat (12), v0-3 ----------------------------------------------- */
typedef struct kf_heartbeat_req {
    sl_slice group_id;
    int32_t generation_id;
    sl_slice member_id;
    kf_nslice group_instance_id; /* v3+ */
} kf_heartbeat_req;

typedef struct kf_heartbeat_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
} kf_heartbeat_resp;

/* ---- LeaveGroup (13), v0-4 (v4 flexible) -------------------------------- */
typedef struct kf_leavegroup_member {
    sl_slice member_id;
    kf_nslice group_instance_id;
} kf_leavegroup_member;

typedef struct kf_leavegroup_req {
    sl_slice group_id;
    sl_slice member_id;            /* v0-2 */
    kf_leavegroup_member *members; /* v3+ (KIP-345: a batch) */
    int32_t n_members;
} kf_leavegroup_req;

typedef struct kf_leavegroup_member_resp {
    sl_slice member_id;
    kf_nslice group_instance_id;
    int16_t error_code;
} kf_leavegroup_member_resp;

typedef struct kf_leavegroup_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    kf_leavegroup_member_resp *members; /* v3+ */
    int32_t n_members;
} kf_leavegroup_resp;

/* ---- SyncGroup (14), v0-3 ----------------------------------------------- */
typedef struct kf_syncgroup_assignment {
    sl_slice member_id;
    sl_slice assignment;
} kf_syncgroup_assignment;

typedef struct kf_syncgroup_req {
    sl_slice group_id;
    int32_t generation_id;
    sl_slice member_id;
    kf_nslice group_instance_id; /* v3+ */
    kf_syncgroup_assignment *assignments;
    int32_t n_assignments;
} kf_syncgroup_req;

typedef struct kf_syncgroup_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    sl_slice assignment;
} kf_syncgroup_resp;

/* ---- DescribeGroups (15), v0-4 ------------------------------------------ */
typedef struct kf_describegroups_req {
    sl_slice *groups;
    int32_t n_groups;
    bool include_authorized_operations; /* v3+ */
} kf_describegroups_req;

typedef struct kf_describegroups_member {
    sl_slice member_id;
    kf_nslice group_instance_id; /* v4+ */
    sl_slice client_id;
    sl_slice client_host;
    sl_slice member_metadata;
    sl_slice member_assignment;
} kf_describegroups_member;

typedef struct kf_describegroups_group {
    int16_t error_code;
    sl_slice group_id;
    sl_slice group_state;
    sl_slice protocol_type;
    sl_slice protocol_data;
    kf_describegroups_member *members;
    int32_t n_members;
    int32_t authorized_operations; /* v3+ */
} kf_describegroups_group;

typedef struct kf_describegroups_resp {
    int32_t throttle_time_ms; /* v1+ */
    kf_describegroups_group *groups;
    int32_t n_groups;
} kf_describegroups_resp;

/* ---- ListGroups (16), v0-2 ---------------------------------------------- */
typedef struct kf_listgroups_req {
    int32_t unused_; /* the body is empty in v0-2 */
} kf_listgroups_req;

typedef struct kf_listgroups_group {
    sl_slice group_id;
    sl_slice protocol_type;
} kf_listgroups_group;

typedef struct kf_listgroups_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    kf_listgroups_group *groups;
    int32_t n_groups;
} kf_listgroups_resp;

/* ---- CreateTopics (19), v0-4 -------------------------------------------- */
typedef struct kf_createtopics_assignment {
    int32_t partition_index;
    int32_t *broker_ids;
    int32_t n_broker_ids;
} kf_createtopics_assignment;

typedef struct kf_createtopics_config {
    sl_slice name;
    kf_nslice value;
} kf_createtopics_config;

typedef struct kf_createtopics_topic {
    sl_slice name;
    int32_t num_partitions;     /* -1: broker default (v4+) */
    int16_t replication_factor; /* -1: broker default (v4+) */
    kf_createtopics_assignment *assignments;
    int32_t n_assignments;
    kf_createtopics_config *configs;
    int32_t n_configs;
} kf_createtopics_topic;

typedef struct kf_createtopics_req {
    kf_createtopics_topic *topics;
    int32_t n_topics;
    int32_t timeout_ms;
    bool validate_only; /* v1+ */
} kf_createtopics_req;

typedef struct kf_createtopics_result {
    sl_slice name;
    int16_t error_code;
    kf_nslice error_message; /* v1+ */
} kf_createtopics_result;

typedef struct kf_createtopics_resp {
    int32_t throttle_time_ms; /* v2+ */
    kf_createtopics_result *topics;
    int32_t n_topics;
} kf_createtopics_resp;

/* ---- DeleteTopics (20), v0-3 -------------------------------------------- */
typedef struct kf_deletetopics_req {
    sl_slice *topic_names;
    int32_t n_topic_names;
    int32_t timeout_ms;
} kf_deletetopics_req;

typedef struct kf_deletetopics_result {
    sl_slice name;
    int16_t error_code;
} kf_deletetopics_result;

typedef struct kf_deletetopics_resp {
    int32_t throttle_time_ms; /* v1+ */
    kf_deletetopics_result *responses;
    int32_t n_responses;
} kf_deletetopics_resp;

/* ---- InitProducerId (22), v0-1 ------------------------------------------ */
typedef struct kf_initproducerid_req {
    kf_nslice transactional_id;
    int32_t transaction_timeout_ms;
} kf_initproducerid_req;

typedef struct kf_initproducerid_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
    int64_t producer_id;
    int16_t producer_epoch;
} kf_initproducerid_resp;

/* ---- DescribeConfigs (32), v0-2 ----------------------------------------- */
typedef struct kf_describeconfigs_resource {
    int8_t resource_type; /* 2 topic, 4 broker */
    sl_slice resource_name;
    sl_slice *configuration_keys; /* nullable: -1 = all keys */
    int32_t n_configuration_keys;
} kf_describeconfigs_resource;

typedef struct kf_describeconfigs_req {
    kf_describeconfigs_resource *resources;
    int32_t n_resources;
    bool include_synonyms; /* v1+ */
} kf_describeconfigs_req;

typedef struct kf_describeconfigs_synonym {
    sl_slice name;
    kf_nslice value;
    int8_t source;
} kf_describeconfigs_synonym;

typedef struct kf_describeconfigs_config {
    sl_slice name;
    kf_nslice value;
    bool read_only;
    bool is_default;      /* v0 only */
    int8_t config_source; /* v1+ */
    bool is_sensitive;
    kf_describeconfigs_synonym *synonyms; /* v1+ */
    int32_t n_synonyms;
} kf_describeconfigs_config;

typedef struct kf_describeconfigs_result {
    int16_t error_code;
    kf_nslice error_message;
    int8_t resource_type;
    sl_slice resource_name;
    kf_describeconfigs_config *configs;
    int32_t n_configs;
} kf_describeconfigs_result;

typedef struct kf_describeconfigs_resp {
    int32_t throttle_time_ms;
    kf_describeconfigs_result *results;
    int32_t n_results;
} kf_describeconfigs_resp;

/* ---- CreatePartitions (37), v0-1 ---------------------------------------- */
typedef struct kf_createpartitions_assignment {
    int32_t *broker_ids;
    int32_t n_broker_ids;
} kf_createpartitions_assignment;

typedef struct kf_createpartitions_topic {
    sl_slice name;
    int32_t count;
    kf_createpartitions_assignment *assignments; /* nullable */
    int32_t n_assignments;
} kf_createpartitions_topic;

typedef struct kf_createpartitions_req {
    kf_createpartitions_topic *topics;
    int32_t n_topics;
    int32_t timeout_ms;
    bool validate_only;
} kf_createpartitions_req;

typedef struct kf_createpartitions_result {
    sl_slice name;
    int16_t error_code;
    kf_nslice error_message;
} kf_createpartitions_result;

typedef struct kf_createpartitions_resp {
    int32_t throttle_time_ms;
    kf_createpartitions_result *results;
    int32_t n_results;
} kf_createpartitions_resp;

/* ---- DeleteGroups (42), v0-1 -------------------------------------------- */
typedef struct kf_deletegroups_req {
    sl_slice *groups_names;
    int32_t n_groups_names;
} kf_deletegroups_req;

typedef struct kf_deletegroups_result {
    sl_slice group_id;
    int16_t error_code;
} kf_deletegroups_result;

typedef struct kf_deletegroups_resp {
    int32_t throttle_time_ms;
    kf_deletegroups_result *results;
    int32_t n_results;
} kf_deletegroups_resp;

/* ---- AlterConfigs (33), v0-1 -------------------------------------------- */
typedef struct kf_alterconfigs_config {
    sl_slice name;
    kf_nslice value;
} kf_alterconfigs_config;

typedef struct kf_alterconfigs_resource {
    int8_t resource_type; /* 2 topic, 4 broker */
    sl_slice resource_name;
    kf_alterconfigs_config *configs;
    int32_t n_configs;
} kf_alterconfigs_resource;

typedef struct kf_alterconfigs_req {
    kf_alterconfigs_resource *resources;
    int32_t n_resources;
    bool validate_only;
} kf_alterconfigs_req;

/* One resource's outcome (also IncrementalAlterConfigs'). */
typedef struct kf_alterconfigs_result {
    int16_t error_code;
    kf_nslice error_message;
    int8_t resource_type;
    sl_slice resource_name;
} kf_alterconfigs_result;

typedef struct kf_alterconfigs_resp {
    int32_t throttle_time_ms;
    kf_alterconfigs_result *responses;
    int32_t n_responses;
} kf_alterconfigs_resp;

/* ---- IncrementalAlterConfigs (44), v0-1 (v1 flexible) ------------------- */
enum {
    KF_CONFIG_OP_SET = 0,
    KF_CONFIG_OP_DELETE = 1,
    KF_CONFIG_OP_APPEND = 2,
    KF_CONFIG_OP_SUBTRACT = 3
};

typedef struct kf_incrementalalterconfigs_config {
    sl_slice name;
    int8_t config_operation; /* KF_CONFIG_OP_* */
    kf_nslice value;
} kf_incrementalalterconfigs_config;

typedef struct kf_incrementalalterconfigs_resource {
    int8_t resource_type;
    sl_slice resource_name;
    kf_incrementalalterconfigs_config *configs;
    int32_t n_configs;
} kf_incrementalalterconfigs_resource;

typedef struct kf_incrementalalterconfigs_req {
    kf_incrementalalterconfigs_resource *resources;
    int32_t n_resources;
    bool validate_only;
} kf_incrementalalterconfigs_req;

typedef struct kf_incrementalalterconfigs_resp {
    int32_t throttle_time_ms;
    kf_alterconfigs_result *responses;
    int32_t n_responses;
} kf_incrementalalterconfigs_resp;

/* ---- the four entry points per API ---------------------------------------
 *   int kf_<api>_req_decode(sl_slice body, int16_t version, sl_arena *a,
 *                           kf_<api>_req *out);
 *   int kf_<api>_req_encode(sl_buf *b, int16_t version,
 *                           const kf_<api>_req *r);
 *   int kf_<api>_resp_decode(sl_slice body, int16_t version, sl_arena *a,
 *                            kf_<api>_resp *out);
 *   int kf_<api>_resp_encode(sl_buf *b, int16_t version,
 *                            const kf_<api>_resp *r);
 * Encoders append the body only (no size prefix, no header). */
#define KF_DECLARE_API(api)                                                    \
    int kf_##api##_req_decode(sl_slice body, int16_t version, sl_arena *a,     \
                              kf_##api##_req *out);                            \
    int kf_##api##_req_encode(sl_buf *b, int16_t version,                      \
                              const kf_##api##_req *r);                        \
    int kf_##api##_resp_decode(sl_slice body, int16_t version, sl_arena *a,    \
                               kf_##api##_resp *out);                          \
    int kf_##api##_resp_encode(sl_buf *b, int16_t version,                     \
                               const kf_##api##_resp *r);

KF_DECLARE_API(apiversions)
KF_DECLARE_API(produce)
KF_DECLARE_API(fetch)
KF_DECLARE_API(listoffsets)
KF_DECLARE_API(metadata)
KF_DECLARE_API(offsetcommit)
KF_DECLARE_API(offsetfetch)
KF_DECLARE_API(findcoordinator)
KF_DECLARE_API(joingroup)
KF_DECLARE_API(heartbeat)
KF_DECLARE_API(leavegroup)
KF_DECLARE_API(syncgroup)
KF_DECLARE_API(describegroups)
KF_DECLARE_API(listgroups)
KF_DECLARE_API(createtopics)
KF_DECLARE_API(deletetopics)
KF_DECLARE_API(initproducerid)
KF_DECLARE_API(describeconfigs)
KF_DECLARE_API(createpartitions)
KF_DECLARE_API(deletegroups)
KF_DECLARE_API(alterconfigs)
KF_DECLARE_API(incrementalalterconfigs)

/* ---- the same, dispatched by API key --------------------------------------
 * For the frontend's dispatch, the fuzz harness and tests.  dir is KF_REQ
 * or KF_RESP; `msg` points at the kf_<api>_req / _resp struct of that key
 * (kf_msg_size() bytes).  An unknown key gives SL_E_UNSUPPORTED. */
enum { KF_REQ = 0, KF_RESP = 1 };

size_t kf_msg_size(int16_t api_key, int dir);
int kf_msg_decode(int16_t api_key, int dir, int16_t version, sl_slice body,
                  sl_arena *a, void *msg);
int kf_msg_encode(sl_buf *b, int16_t api_key, int dir, int16_t version,
                  const void *msg);
/* 1 when every field that exists at this version is equal (string and
 * bytes by content, arrays element by element), else 0. */
int kf_msg_equal(int16_t api_key, int dir, int16_t version, const void *x,
                 const void *y);
/* Fill *msg with a deterministic example that populates every field of the
 * version, drawing arrays and strings from the arena: seed 0 gives the
 * smallest message (empty arrays and strings, nulls wherever nullable),
 * seed 1 a typical one (two elements per array, a mix of nulls and values),
 * seed 2 extremes (one element per array, 32767-byte strings, integer
 * limits); other seeds vary seed 1.  For tests, fuzz seeds and the
 * benchmark client.  0, SL_E_TOOBIG, SL_E_VERSION or SL_E_UNSUPPORTED. */
int kf_msg_example(int16_t api_key, int dir, int16_t version, unsigned seed,
                   sl_arena *a, void *msg);

#endif /* KF_CODEC_H */
