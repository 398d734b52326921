/*
 * ipc_msg.h — the segstore IPC message format, version 1 (docs/ipc.md is the
 * normative description; keep the two in step).
 *
 * Every message, request, reply or event, is one nng message:
 *
 *   off len field
 *     0   1 magic 'S' (0x53)
 *     1   1 magic 'L' (0x4c)
 *     2   1 version (IPC_VERSION = 1)
 *     3   1 op      (IPC_OP_* for requests and their replies, IPC_EVT_*)
 *     4   4 status  int32: 0 in requests; in replies 0 or an SL_E_* / -errno
 *     8   . body    (per op, below)
 *
 * All integers are big-endian.  str = u16 length + bytes (no NUL, at most
 * IPC_STR_MAX); bytes = u32 length + bytes; array = u32 count + elements.
 * A reply whose status is non-zero has body = str message (human text).
 *
 * Decoding is a pure function over the message bytes: *_decode validates
 * the whole body in one pass (every length and count against the bytes that
 * remain, no trailing bytes) and sets up a cursor; *_next then yields the
 * elements one by one and cannot fail on a message that decoded.  Views in
 * decoded structs borrow from the message and live as long as it does.
 * Nothing here allocates except the encoders, which grow a caller's sl_buf.
 */
#ifndef IPC_MSG_H
#define IPC_MSG_H

#include "sl_base.h"

#define IPC_VERSION         1
#define IPC_HDR_LEN         8
#define IPC_STR_MAX         4096
#define IPC_MSG_MAX         (64u << 20) /* default largest message, bytes */
#define IPC_INSTANCE_ID_LEN 16

enum ipc_op {
    IPC_OP_HELLO = 1,
    IPC_OP_TOPIC_CREATE = 2,
    IPC_OP_TOPIC_DELETE = 3,
    IPC_OP_TOPIC_LIST = 4,
    IPC_OP_TOPIC_DESCRIBE = 5,
    IPC_OP_APPEND = 6,
    IPC_OP_READ = 7,
    IPC_OP_LIST_OFFSETS = 8,
    /* coordination state (docs/ipc.md section 4.9 onwards) */
    IPC_OP_KV_GET = 9,
    IPC_OP_KV_WRITE = 10,
    IPC_OP_KV_SCAN = 11,
    IPC_OP_GROUP_JOIN = 12,
    IPC_OP_GROUP_SYNC = 13,
    IPC_OP_GROUP_HEARTBEAT = 14,
    IPC_OP_GROUP_LEAVE = 15,
    IPC_OP_GROUP_LIST = 16,
    IPC_OP_GROUP_DESCRIBE = 17,
    IPC_OP_GROUP_DELETE = 18,
    IPC_OP_OFFSET_COMMIT = 19,
    IPC_OP_OFFSET_FETCH = 20,
    IPC_OP_PRODUCER_ID = 21,
    IPC_OP_TOPIC_ADD_PARTITIONS = 22,
    IPC_OP_TIER_STATUS = 23,
    IPC_OP_TOPIC_ALTER_CONFIGS = 24,
    /* events, published on the pub socket */
    IPC_EVT_ADVANCE = 64,
    IPC_EVT_TOPIC_CREATED = 65,
    IPC_EVT_TOPIC_DELETED = 66,
    IPC_EVT_KV = 67,
    IPC_EVT_GROUP = 68,
};

/* Name of an op ("APPEND"), "?" when unknown. */
const char *ipc_op_name(int op);

typedef struct ipc_hdr {
    uint8_t version;
    uint8_t op;
    int32_t status;
} ipc_hdr;

/*
 * Decode the 8-byte header of msg and return the body in *body.
 * SL_E_PARTIAL when shorter than the header, SL_E_MALFORMED on bad magic,
 * SL_E_VERSION on another version (the header is still filled in).
 */
int ipc_hdr_decode(sl_slice msg, ipc_hdr *h, sl_slice *body);

/* Start a message in b (which is reset first) with the given op/status. */
int ipc_msg_begin(sl_buf *b, int op, int32_t status);

/* An error reply: header with status and body = str text. */
int ipc_err_encode(sl_buf *b, int op, int32_t status, const char *text);
/* Decode the text of an error reply body (borrowed view). */
int ipc_err_decode(sl_slice body, sl_slice *text);

/* Check a body that must be empty (TOPIC_LIST and GROUP_LIST requests;
 * TOPIC_CREATE, TOPIC_DELETE and TOPIC_ADD_PARTITIONS replies): 0, or
 * SL_E_MALFORMED when any byte is present. */
int ipc_empty_decode(sl_slice body);

/* Field writers used by the encoders (append to b). */
int ipc_put_str(sl_buf *b, sl_slice s);
int ipc_put_bytes(sl_buf *b, sl_slice s);
/* Field readers (cursor semantics of sl_rd_*); any shortfall -> MALFORMED. */
int ipc_rd_str(sl_rd *r, sl_slice *s);
int ipc_rd_bytes(sl_rd *r, sl_slice *s);

/* ---- HELLO --------------------------------------------------------------
 * req:  str client_name, u32 flags (reserved, 0)
 * rep:  str server_version, u8 proto_min, u8 proto_max,
 *       16 bytes instance_id, str data_dir (absolute), str events_url
 * A client that can open <data_dir>/segstore.id and finds instance_id in it
 * shares the machine and may ask for READ descriptors.
 */
typedef struct ipc_hello_req {
    sl_slice client_name;
    uint32_t flags;
} ipc_hello_req;

typedef struct ipc_hello_rep {
    sl_slice server_version;
    uint8_t proto_min, proto_max;
    uint8_t instance_id[IPC_INSTANCE_ID_LEN];
    sl_slice data_dir;
    sl_slice events_url;
} ipc_hello_rep;

int ipc_hello_req_encode(sl_buf *b, const ipc_hello_req *m);
int ipc_hello_req_decode(sl_slice body, ipc_hello_req *m);
int ipc_hello_rep_encode(sl_buf *b, const ipc_hello_rep *m);
int ipc_hello_rep_decode(sl_slice body, ipc_hello_rep *m);

/* ---- key/value configs (TOPIC_CREATE, TOPIC_DESCRIBE) ------------------- */
typedef struct ipc_kv {
    sl_slice key;
    sl_slice value;
} ipc_kv;

/* ---- TOPIC_CREATE -------------------------------------------------------
 * req:  str name, i32 partitions, array of { str key, str value } configs
 * rep:  empty (status EXISTS / INVAL with text on failure)
 */
typedef struct ipc_topic_create_req {
    sl_slice name;
    int32_t partitions;
    uint32_t nconfigs;
    sl_rd configs_; /* private cursor for ipc_topic_create_req_next */
} ipc_topic_create_req;

int ipc_topic_create_req_encode(sl_buf *b, sl_slice name, int32_t partitions,
                                const ipc_kv *configs, size_t nconfigs);
int ipc_topic_create_req_decode(sl_slice body, ipc_topic_create_req *m);
/* Next config; returns 1 when one was produced, 0 at the end. */
int ipc_topic_create_req_next(ipc_topic_create_req *m, ipc_kv *kv);

/* ---- TOPIC_DELETE ------------------------------------------------------
 * req:  str name           rep: empty
 */
int ipc_topic_delete_req_encode(sl_buf *b, sl_slice name);
int ipc_topic_delete_req_decode(sl_slice body, sl_slice *name);

/* ---- TOPIC_LIST ---------------------------------------------------------
 * req:  empty
 * rep:  array of { str name, i32 partitions }
 */
typedef struct ipc_topic_entry {
    sl_slice name;
    int32_t partitions;
} ipc_topic_entry;

typedef struct ipc_topic_list_rep {
    uint32_t count;
    sl_rd it_;
} ipc_topic_list_rep;

int ipc_topic_list_req_encode(sl_buf *b);
int ipc_topic_list_rep_encode(sl_buf *b, const ipc_topic_entry *e, size_t n);
int ipc_topic_list_rep_decode(sl_slice body, ipc_topic_list_rep *m);
int ipc_topic_list_rep_next(ipc_topic_list_rep *m, ipc_topic_entry *e);

/* ---- TOPIC_DESCRIBE -----------------------------------------------------
 * req:  str name
 * rep:  str name, i32 partitions,
 *       array of { str key, str value }             (every effective config)
 *       array of { i32 partition, i64 log_start, i64 high_watermark,
 *                  i32 segments, i64 bytes }
 */
typedef struct ipc_partition_info {
    int32_t partition;
    int64_t log_start;
    int64_t high_watermark;
    int32_t segments;
    int64_t bytes;
} ipc_partition_info;

typedef struct ipc_topic_describe_rep {
    sl_slice name;
    int32_t partitions;
    uint32_t nconfigs;
    uint32_t nparts;
    sl_rd configs_;
    sl_rd parts_;
} ipc_topic_describe_rep;

int ipc_topic_describe_req_encode(sl_buf *b, sl_slice name);
int ipc_topic_describe_req_decode(sl_slice body, sl_slice *name);
int ipc_topic_describe_rep_encode(sl_buf *b, sl_slice name, int32_t partitions,
                                  const ipc_kv *configs, size_t nconfigs,
                                  const ipc_partition_info *parts,
                                  size_t nparts);
int ipc_topic_describe_rep_decode(sl_slice body, ipc_topic_describe_rep *m);
int ipc_topic_describe_rep_next_config(ipc_topic_describe_rep *m, ipc_kv *kv);
int ipc_topic_describe_rep_next_part(ipc_topic_describe_rep *m,
                                     ipc_partition_info *p);

/* ---- APPEND -------------------------------------------------------------
 * req:  u32 flags (reserved, 0),
 *       array of { str topic, i32 partition, bytes batches }
 *       (batches: one or more whole RecordBatch v2, concatenated)
 * rep:  array (same order) of { i32 status, i64 base_offset,
 *       i64 last_offset, i64 append_time (-1 unless LogAppendTime),
 *       i64 log_start }
 * The reply comes only once the append is durable under the fsync policy.
 */
typedef struct ipc_append_entry {
    sl_slice topic;
    int32_t partition;
    sl_slice batches;
} ipc_append_entry;

typedef struct ipc_append_req {
    uint32_t flags;
    uint32_t count;
    sl_rd it_;
} ipc_append_req;

typedef struct ipc_append_result {
    int32_t status;
    int64_t base_offset;
    int64_t last_offset;
    int64_t append_time;
    int64_t log_start;
} ipc_append_result;

typedef struct ipc_append_rep {
    uint32_t count;
    sl_rd it_;
} ipc_append_rep;

int ipc_append_req_encode(sl_buf *b, uint32_t flags, const ipc_append_entry *e,
                          size_t n);
int ipc_append_req_decode(sl_slice body, ipc_append_req *m);
int ipc_append_req_next(ipc_append_req *m, ipc_append_entry *e);
int ipc_append_rep_encode(sl_buf *b, const ipc_append_result *r, size_t n);
int ipc_append_rep_decode(sl_slice body, ipc_append_rep *m);
int ipc_append_rep_next(ipc_append_rep *m, ipc_append_result *r);

/* ---- READ ---------------------------------------------------------------
 * req:  u32 flags (IPC_READ_INLINE: bytes in the reply, not a descriptor),
 *       array of { str topic, i32 partition, i64 offset, i32 max_bytes }
 * rep:  array (same order) of { i32 status, i64 high_watermark,
 *       i64 log_start, u8 kind, then per kind:
 *         IPC_READ_NONE:        nothing (no data at offset yet)
 *         IPC_READ_DESCRIPTOR:  str path (relative to data_dir),
 *                               i64 segment_base, u64 position, u32 length
 *         IPC_READ_INLINE_DATA: bytes data }
 * Data are whole batches from one segment, starting with the batch that
 * holds `offset`; at least one whole batch even when it exceeds max_bytes.
 * status SL_E_RANGE when offset is below log_start or above high_watermark.
 */
enum { IPC_READ_INLINE = 1 };
enum {
    IPC_READ_NONE = 0,
    IPC_READ_DESCRIPTOR = 1,
    IPC_READ_INLINE_DATA = 2,
};

typedef struct ipc_read_entry {
    sl_slice topic;
    int32_t partition;
    int64_t offset;
    int32_t max_bytes;
} ipc_read_entry;

typedef struct ipc_read_req {
    uint32_t flags;
    uint32_t count;
    sl_rd it_;
} ipc_read_req;

typedef struct ipc_read_result {
    int32_t status;
    int64_t high_watermark;
    int64_t log_start;
    uint8_t kind;
    sl_slice path;        /* DESCRIPTOR */
    int64_t segment_base; /* DESCRIPTOR */
    uint64_t position;    /* DESCRIPTOR */
    uint32_t length;      /* DESCRIPTOR */
    sl_slice data;        /* INLINE_DATA */
} ipc_read_result;

typedef struct ipc_read_rep {
    uint32_t count;
    sl_rd it_;
} ipc_read_rep;

int ipc_read_req_encode(sl_buf *b, uint32_t flags, const ipc_read_entry *e,
                        size_t n);
int ipc_read_req_decode(sl_slice body, ipc_read_req *m);
int ipc_read_req_next(ipc_read_req *m, ipc_read_entry *e);
int ipc_read_rep_encode(sl_buf *b, const ipc_read_result *r, size_t n);
int ipc_read_rep_decode(sl_slice body, ipc_read_rep *m);
int ipc_read_rep_next(ipc_read_rep *m, ipc_read_result *r);

/* ---- LIST_OFFSETS -------------------------------------------------------
 * req:  array of { str topic, i32 partition, i64 spec }
 *       spec: IPC_OFFSET_LATEST (-1), IPC_OFFSET_EARLIEST (-2), or a
 *       timestamp in ms (>= 0): the first offset whose batch maxTimestamp
 *       is >= spec (Kafka's KIP-79 rule)
 * rep:  array (same order) of { i32 status, i64 offset, i64 timestamp }
 *       offset -1 when no record has a timestamp >= spec
 */
enum { IPC_OFFSET_LATEST = -1, IPC_OFFSET_EARLIEST = -2 };

typedef struct ipc_offsets_entry {
    sl_slice topic;
    int32_t partition;
    int64_t spec;
} ipc_offsets_entry;

typedef struct ipc_offsets_result {
    int32_t status;
    int64_t offset;
    int64_t timestamp;
} ipc_offsets_result;

typedef struct ipc_offsets_req {
    uint32_t count;
    sl_rd it_;
} ipc_offsets_req;

typedef struct ipc_offsets_rep {
    uint32_t count;
    sl_rd it_;
} ipc_offsets_rep;

int ipc_offsets_req_encode(sl_buf *b, const ipc_offsets_entry *e, size_t n);
int ipc_offsets_req_decode(sl_slice body, ipc_offsets_req *m);
int ipc_offsets_req_next(ipc_offsets_req *m, ipc_offsets_entry *e);
int ipc_offsets_rep_encode(sl_buf *b, const ipc_offsets_result *r, size_t n);
int ipc_offsets_rep_decode(sl_slice body, ipc_offsets_rep *m);
int ipc_offsets_rep_next(ipc_offsets_rep *m, ipc_offsets_result *r);

/* ---- KV: coordination state ----------------------------------------------
 * A durable, ordered key/value map shared by every frontend (MQTT sessions,
 * retained messages, QoS 2 state; Kafka committed offsets live here too,
 * under segstore's own prefix).  Keys are str (1..IPC_STR_MAX bytes, any
 * bytes, ordered by memcmp with the shorter first on a tie); values are
 * bytes of at most kv.value.max (segstore config, default 4 MiB).
 *
 * Every write gets the store's next *revision* (> 0, strictly increasing
 * over the whole store, also across restarts); a key's version is the
 * revision of the write that last set it.  Keys starting with "__" are
 * segstore's own: KV_WRITE refuses them (SL_E_INVAL).
 *
 * KV_GET   req: array of str key
 *          rep: i64 revision (the store's latest),
 *               array (same order) of { i32 status (0 | SL_E_NOKEY),
 *                                       i64 version (0 when absent),
 *                                       bytes value (empty when absent) }
 * KV_WRITE req: u32 flags (reserved, 0),
 *               array of { u8 kind, str key, i64 expect, bytes value }
 *            kind IPC_KV_PUT sets key = value; IPC_KV_DELETE removes key
 *            (value empty; deleting an absent key is not an error);
 *            IPC_KV_CHECK writes nothing and only tests `expect`.
 *            expect IPC_KV_ANY (-1): no condition; 0: the key must be
 *            absent; > 0: the key's version must equal it.
 *            Every condition is tested first; if any fails the header
 *            status is SL_E_CONFLICT (text names the key) and nothing is
 *            written.  Otherwise all writes apply atomically (after a crash
 *            either all or none are there) with one new revision.
 *          rep: i64 revision (the version of every key written)
 *          The reply comes once the write is durable under the fsync
 *          policy, like APPEND's.  One IPC_EVT_KV per key written follows.
 * KV_SCAN  req: str prefix, str after (exclusive start key; empty = from
 *               the first key with the prefix), u32 limit (max entries,
 *               0 = 1000), u32 max_bytes (0 = 1 MiB; at least one entry
 *               is returned even when it alone is larger)
 *          rep: i64 revision, u8 more (1: entries remain past the last
 *               one returned — scan again with after = its key),
 *               array of { str key, i64 version, bytes value } in key order
 */
enum { IPC_KV_PUT = 1, IPC_KV_DELETE = 2, IPC_KV_CHECK = 3 };
enum { IPC_KV_ANY = -1 };

typedef struct ipc_kv_op {
    uint8_t kind;
    sl_slice key;
    int64_t expect;
    sl_slice value;
} ipc_kv_op;

typedef struct ipc_kv_entry {
    int32_t status; /* KV_GET: 0 or SL_E_NOKEY; KV_SCAN: 0 */
    sl_slice key;   /* KV_SCAN only */
    int64_t version;
    sl_slice value;
} ipc_kv_entry;

typedef struct ipc_kv_get_req {
    uint32_t count;
    sl_rd it_;
} ipc_kv_get_req;

typedef struct ipc_kv_get_rep {
    int64_t revision;
    uint32_t count;
    sl_rd it_;
} ipc_kv_get_rep;

int ipc_kv_get_req_encode(sl_buf *b, const sl_slice *keys, size_t n);
int ipc_kv_get_req_decode(sl_slice body, ipc_kv_get_req *m);
int ipc_kv_get_req_next(ipc_kv_get_req *m, sl_slice *key);
/* e[i].key is not sent. */
int ipc_kv_get_rep_encode(sl_buf *b, int64_t revision, const ipc_kv_entry *e,
                          size_t n);
int ipc_kv_get_rep_decode(sl_slice body, ipc_kv_get_rep *m);
int ipc_kv_get_rep_next(ipc_kv_get_rep *m, ipc_kv_entry *e);

typedef struct ipc_kv_write_req {
    uint32_t flags;
    uint32_t count;
    sl_rd it_;
} ipc_kv_write_req;

/* The encoder refuses (SL_E_INVAL), and the decoder refuses
 * (SL_E_MALFORMED), a kind other than PUT/DELETE/CHECK, an expect below
 * IPC_KV_ANY, and a non-empty value on a DELETE or CHECK. */
int ipc_kv_write_req_encode(sl_buf *b, uint32_t flags, const ipc_kv_op *ops,
                            size_t n);
int ipc_kv_write_req_decode(sl_slice body, ipc_kv_write_req *m);
int ipc_kv_write_req_next(ipc_kv_write_req *m, ipc_kv_op *op);
int ipc_kv_write_rep_encode(sl_buf *b, int64_t revision);
int ipc_kv_write_rep_decode(sl_slice body, int64_t *revision);

typedef struct ipc_kv_scan_req {
    sl_slice prefix;
    sl_slice after;
    uint32_t limit;
    uint32_t max_bytes;
} ipc_kv_scan_req;

typedef struct ipc_kv_scan_rep {
    int64_t revision;
    uint8_t more;
    uint32_t count;
    sl_rd it_;
} ipc_kv_scan_rep;

int ipc_kv_scan_req_encode(sl_buf *b, const ipc_kv_scan_req *m);
int ipc_kv_scan_req_decode(sl_slice body, ipc_kv_scan_req *m);
/* e[i].status is not sent.  more is sent as 0 or 1; more with n == 0 is
 * refused (SL_E_INVAL; the decoder: SL_E_MALFORMED), since the client would
 * have no key to scan after. */
int ipc_kv_scan_rep_encode(sl_buf *b, int64_t revision, int more,
                           const ipc_kv_entry *e, size_t n);
int ipc_kv_scan_rep_decode(sl_slice body, ipc_kv_scan_rep *m);
int ipc_kv_scan_rep_next(ipc_kv_scan_rep *m, ipc_kv_entry *e);

/* ---- groups: a generic membership service ----------------------------------
 * The classic Kafka group protocol's coordinator, kept in segstore so that
 * every frontend instance sees one state (docs/ipc.md section 4.12).  Group
 * replies carry their outcome in an `i32 error` body field (0 or SL_E_*),
 * because some outcomes come with data (MEMBER_REQUIRED carries the
 * assigned member id); the header status stays for whole-request failures
 * (MALFORMED, CLOSED).  Errors used: SL_E_UNKNOWN_MEMBER, SL_E_GENERATION,
 * SL_E_REBALANCE, SL_E_MEMBER_REQUIRED, SL_E_FENCED, SL_E_NOGROUP,
 * SL_E_NOTEMPTY, SL_E_GROUP_PROTOCOL, SL_E_INVAL (bad timeouts or ids).
 *
 * GROUP_JOIN  req: str group, str member_id ("" = new member),
 *                  str instance_id ("" = dynamic member; else static),
 *                  str protocol_type, i32 session_timeout_ms,
 *                  i32 rebalance_timeout_ms, str client_id, str client_host,
 *                  u32 flags (IPC_JOIN_REQUIRE_MEMBER_ID: a new dynamic
 *                  member gets MEMBER_REQUIRED plus its id and must join
 *                  again with it — JoinGroup v4+),
 *                  array of { str name, bytes metadata } protocols
 *             rep: i32 error, i32 generation, str protocol_name,
 *                  str leader, str member_id,
 *                  array of { str member_id, str instance_id,
 *                             bytes metadata } (only for the leader)
 *             The reply is held until the rebalance completes (every
 *             known member joined, or rebalance_timeout passed).
 * GROUP_SYNC  req: str group, i32 generation, str member_id,
 *                  str instance_id, str protocol_type, str protocol_name,
 *                  array of { str member_id, bytes assignment } (leader)
 *             rep: i32 error, str protocol_type, str protocol_name,
 *                  bytes assignment
 *             A follower's reply is held until the leader's sync arrives.
 * GROUP_HEARTBEAT req: str group, i32 generation, str member_id,
 *                  str instance_id
 *             rep: i32 error (REBALANCE tells the member to join again)
 * GROUP_LEAVE req: str group, array of { str member_id, str instance_id }
 *             rep: i32 error, array (same order) of { i32 error }
 * GROUP_LIST  req: empty
 *             rep: array of { str group, str protocol_type, u8 state }
 *             (u8 state, here and below, is one of enum ipc_group_state;
 *             anything else is malformed, and refused by the encoders)
 * GROUP_DESCRIBE req: array of str group
 *             rep: array (same order) of { i32 error, str group, u8 state,
 *                  str protocol_type, str protocol_name,
 *                  array of { str member_id, str instance_id,
 *                             str client_id, str client_host,
 *                             bytes metadata, bytes assignment } }
 *             An unknown group is described as DEAD with no members
 *             (error 0), as Kafka does.
 * GROUP_DELETE req: array of str group
 *             rep: array (same order) of { i32 error } (NOTEMPTY while it
 *             has members; NOGROUP when it has neither members nor offsets)
 * OFFSET_COMMIT req: str group, i32 generation (-1: a commit outside the
 *                  group protocol, allowed only while the group has no
 *                  members), str member_id, str instance_id,
 *                  array of { str topic, i32 partition, i64 offset,
 *                             i32 leader_epoch, str metadata }
 *             rep: array (same order) of { i32 error }
 *             Durable (fsync policy) before the reply.
 * OFFSET_FETCH req: str group, u8 all (1: every committed partition of
 *                  the group; the array is then empty),
 *                  array of { str topic, i32 partition }
 *             rep: i32 error, array of { str topic, i32 partition,
 *                  i64 offset (-1 when none committed), i32 leader_epoch,
 *                  str metadata, i32 error }
 */
enum { IPC_JOIN_REQUIRE_MEMBER_ID = 1 };
enum ipc_group_state {
    IPC_GROUP_EMPTY = 0,
    IPC_GROUP_PREPARING_REBALANCE = 1,
    IPC_GROUP_COMPLETING_REBALANCE = 2,
    IPC_GROUP_STABLE = 3,
    IPC_GROUP_DEAD = 4,
};
/* "Empty", "PreparingRebalance", … (Kafka's names), "?" when unknown. */
const char *ipc_group_state_name(int state);

typedef struct ipc_group_protocol {
    sl_slice name;
    sl_slice metadata;
} ipc_group_protocol;

typedef struct ipc_join_req {
    sl_slice group, member_id, instance_id, protocol_type;
    int32_t session_timeout_ms, rebalance_timeout_ms;
    sl_slice client_id, client_host;
    uint32_t flags;
    uint32_t nprotocols;
    sl_rd protocols_;
} ipc_join_req;

typedef struct ipc_join_member {
    sl_slice member_id, instance_id, metadata;
} ipc_join_member;

typedef struct ipc_join_rep {
    int32_t error;
    int32_t generation;
    sl_slice protocol_name, leader, member_id;
    uint32_t nmembers;
    sl_rd members_;
} ipc_join_rep;

/* The encoder takes m's scalar fields and the protocols array. */
int ipc_join_req_encode(sl_buf *b, const ipc_join_req *m,
                        const ipc_group_protocol *protocols, size_t n);
int ipc_join_req_decode(sl_slice body, ipc_join_req *m);
int ipc_join_req_next(ipc_join_req *m, ipc_group_protocol *p);
int ipc_join_rep_encode(sl_buf *b, const ipc_join_rep *m,
                        const ipc_join_member *members, size_t n);
int ipc_join_rep_decode(sl_slice body, ipc_join_rep *m);
int ipc_join_rep_next(ipc_join_rep *m, ipc_join_member *x);

typedef struct ipc_sync_assignment {
    sl_slice member_id, assignment;
} ipc_sync_assignment;

typedef struct ipc_sync_req {
    sl_slice group;
    int32_t generation;
    sl_slice member_id, instance_id, protocol_type, protocol_name;
    uint32_t count;
    sl_rd it_;
} ipc_sync_req;

typedef struct ipc_sync_rep {
    int32_t error;
    sl_slice protocol_type, protocol_name, assignment;
} ipc_sync_rep;

int ipc_sync_req_encode(sl_buf *b, const ipc_sync_req *m,
                        const ipc_sync_assignment *a, size_t n);
int ipc_sync_req_decode(sl_slice body, ipc_sync_req *m);
int ipc_sync_req_next(ipc_sync_req *m, ipc_sync_assignment *a);
int ipc_sync_rep_encode(sl_buf *b, const ipc_sync_rep *m);
int ipc_sync_rep_decode(sl_slice body, ipc_sync_rep *m);

typedef struct ipc_heartbeat_req {
    sl_slice group;
    int32_t generation;
    sl_slice member_id, instance_id;
} ipc_heartbeat_req;

int ipc_heartbeat_req_encode(sl_buf *b, const ipc_heartbeat_req *m);
int ipc_heartbeat_req_decode(sl_slice body, ipc_heartbeat_req *m);
/* HEARTBEAT's reply body is `i32 error` alone; op must be
 * IPC_OP_GROUP_HEARTBEAT (else SL_E_INVAL). */
int ipc_group_error_rep_encode(sl_buf *b, int op, int32_t error);
int ipc_group_error_rep_decode(sl_slice body, int32_t *error);

typedef struct ipc_leave_member {
    sl_slice member_id, instance_id;
} ipc_leave_member;

typedef struct ipc_leave_req {
    sl_slice group;
    uint32_t count;
    sl_rd it_;
} ipc_leave_req;

typedef struct ipc_errors_rep { /* i32 error, array of i32 error */
    int32_t error;
    uint32_t count;
    sl_rd it_;
} ipc_errors_rep;

int ipc_leave_req_encode(sl_buf *b, sl_slice group, const ipc_leave_member *m,
                         size_t n);
int ipc_leave_req_decode(sl_slice body, ipc_leave_req *m);
int ipc_leave_req_next(ipc_leave_req *m, ipc_leave_member *x);
int ipc_leave_rep_encode(sl_buf *b, int32_t error, const int32_t *errors,
                         size_t n);
int ipc_leave_rep_decode(sl_slice body, ipc_errors_rep *m);
int ipc_errors_rep_next(ipc_errors_rep *m, int32_t *error);

typedef struct ipc_group_listing {
    sl_slice group, protocol_type;
    uint8_t state;
} ipc_group_listing;

typedef struct ipc_group_list_rep {
    uint32_t count;
    sl_rd it_;
} ipc_group_list_rep;

int ipc_group_list_req_encode(sl_buf *b);
int ipc_group_list_rep_encode(sl_buf *b, const ipc_group_listing *g, size_t n);
int ipc_group_list_rep_decode(sl_slice body, ipc_group_list_rep *m);
int ipc_group_list_rep_next(ipc_group_list_rep *m, ipc_group_listing *g);

/* GROUP_DESCRIBE and GROUP_DELETE requests: array of str group; op must be
 * one of those two (else SL_E_INVAL). */
typedef struct ipc_names_req {
    uint32_t count;
    sl_rd it_;
} ipc_names_req;

int ipc_names_req_encode(sl_buf *b, int op, const sl_slice *names, size_t n);
int ipc_names_req_decode(sl_slice body, ipc_names_req *m);
int ipc_names_req_next(ipc_names_req *m, sl_slice *name);

typedef struct ipc_group_member_info {
    sl_slice member_id, instance_id, client_id, client_host;
    sl_slice metadata, assignment;
} ipc_group_member_info;

typedef struct ipc_group_info {
    int32_t error;
    sl_slice group;
    uint8_t state;
    sl_slice protocol_type, protocol_name;
    uint32_t nmembers;
    sl_rd members_;
} ipc_group_info;

typedef struct ipc_group_describe_rep {
    uint32_t count;
    sl_rd it_;
} ipc_group_describe_rep;

/* Encoding is incremental because each group has its own member array:
 * begin with the group count, then per group one _group call followed by
 * exactly g->nmembers _member calls (g->members_ is ignored). */
int ipc_group_describe_rep_begin(sl_buf *b, size_t ngroups);
int ipc_group_describe_rep_group(sl_buf *b, const ipc_group_info *g);
int ipc_group_describe_rep_member(sl_buf *b, const ipc_group_member_info *m);
int ipc_group_describe_rep_decode(sl_slice body, ipc_group_describe_rep *m);
int ipc_group_describe_rep_next(ipc_group_describe_rep *m, ipc_group_info *g);
int ipc_group_info_next_member(ipc_group_info *g, ipc_group_member_info *x);

/* GROUP_DELETE reply: array of i32 error (the ipc_errors_rep cursor, with
 * error = 0). */
int ipc_group_delete_rep_encode(sl_buf *b, const int32_t *errors, size_t n);
int ipc_group_delete_rep_decode(sl_slice body, ipc_errors_rep *m);

typedef struct ipc_commit_entry {
    sl_slice topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    sl_slice metadata;
} ipc_commit_entry;

typedef struct ipc_commit_req {
    sl_slice group;
    int32_t generation;
    sl_slice member_id, instance_id;
    uint32_t count;
    sl_rd it_;
} ipc_commit_req;

int ipc_commit_req_encode(sl_buf *b, const ipc_commit_req *m,
                          const ipc_commit_entry *e, size_t n);
int ipc_commit_req_decode(sl_slice body, ipc_commit_req *m);
int ipc_commit_req_next(ipc_commit_req *m, ipc_commit_entry *e);
/* reply: array of i32 error (ipc_errors_rep with error = 0) */
int ipc_commit_rep_encode(sl_buf *b, const int32_t *errors, size_t n);
int ipc_commit_rep_decode(sl_slice body, ipc_errors_rep *m);

typedef struct ipc_topic_partition {
    sl_slice topic;
    int32_t partition;
} ipc_topic_partition;

typedef struct ipc_offset_fetch_req {
    sl_slice group;
    uint8_t all;
    uint32_t count;
    sl_rd it_;
} ipc_offset_fetch_req;

typedef struct ipc_committed {
    sl_slice topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
    sl_slice metadata;
    int32_t error;
} ipc_committed;

typedef struct ipc_offset_fetch_rep {
    int32_t error;
    uint32_t count;
    sl_rd it_;
} ipc_offset_fetch_rep;

/* all is sent as 0 or 1; all with n > 0 is refused (SL_E_INVAL; the
 * decoder: SL_E_MALFORMED). */
int ipc_offset_fetch_req_encode(sl_buf *b, sl_slice group, int all,
                                const ipc_topic_partition *tp, size_t n);
int ipc_offset_fetch_req_decode(sl_slice body, ipc_offset_fetch_req *m);
int ipc_offset_fetch_req_next(ipc_offset_fetch_req *m, ipc_topic_partition *tp);
int ipc_offset_fetch_rep_encode(sl_buf *b, int32_t error,
                                const ipc_committed *c, size_t n);
int ipc_offset_fetch_rep_decode(sl_slice body, ipc_offset_fetch_rep *m);
int ipc_offset_fetch_rep_next(ipc_offset_fetch_rep *m, ipc_committed *c);

/* ---- PRODUCER_ID ----------------------------------------------------------
 * req:  u32 flags (reserved, 0)
 * rep:  i64 producer_id, i32 epoch (0)
 * A new id for an idempotent producer, never handed out before (durable).
 * APPEND then deduplicates batches with producerId >= 0: a repeat of one
 * of the last 5 batches of (producer, partition) answers status 0 with the
 * original offsets; a sequence gap answers SL_E_SEQUENCE; an epoch below
 * the last seen SL_E_PRODUCER_EPOCH.  Transactions are not supported.
 */
/* The encoder sends flags = 0; the decoder skips them unchecked. */
int ipc_producer_id_req_encode(sl_buf *b);
int ipc_producer_id_req_decode(sl_slice body);
int ipc_producer_id_rep_encode(sl_buf *b, int64_t producer_id, int32_t epoch);
int ipc_producer_id_rep_decode(sl_slice body, int64_t *producer_id,
                               int32_t *epoch);

/* ---- TOPIC_ADD_PARTITIONS -------------------------------------------------
 * req:  str name, i32 count (the new total), u8 validate_only
 * rep:  empty; SL_E_NOTOPIC, SL_E_INVAL (count not above the current one
 *       or over the limit) with text
 */
/* validate_only is sent as 0 or 1; the decoder refuses other values. */
int ipc_add_partitions_req_encode(sl_buf *b, sl_slice name, int32_t count,
                                  int validate_only);
int ipc_add_partitions_req_decode(sl_slice body, sl_slice *name, int32_t *count,
                                  uint8_t *validate_only);

/* ---- events -------------------------------------------------------------
 * IPC_EVT_ADVANCE:        str topic, i32 partition, i64 high_watermark
 * IPC_EVT_TOPIC_CREATED:  str topic, i32 partitions
 * IPC_EVT_TOPIC_DELETED:  str topic, i32 partitions (0)
 * IPC_EVT_KV:             str key, i64 version (the write's revision),
 *                         i64 prev_revision (the revision of the last
 *                         write announced before this one — writes of
 *                         "__" keys only are not announced and do not
 *                         count — or, first after a start, the store's
 *                         revision: a subscriber whose last seen version
 *                         is another has missed events and must rescan),
 *                         u8 deleted, bytes value (empty when deleted).
 *                         One event per key written; keys starting with
 *                         "__" are not announced.
 * IPC_EVT_GROUP:          str group, i32 generation, u8 state — the group
 *                         began or ended a rebalance (a hint for members
 *                         to heartbeat early)
 * u8 deleted is 0 or 1, and 1 only with an empty value; u8 state is one of
 * enum ipc_group_state.  The encoder refuses the rest (SL_E_INVAL), the
 * decoder too (SL_E_MALFORMED).
 * Subscribers may filter with the 4-byte prefix 'S' 'L' version op.
 */
typedef struct ipc_event {
    uint8_t op;
    sl_slice topic;
    int32_t partition;      /* ADVANCE */
    int64_t high_watermark; /* ADVANCE */
    int32_t partitions;     /* TOPIC_CREATED / DELETED */
    sl_slice key;           /* KV (also GROUP: the group name) */
    int64_t version;        /* KV */
    int64_t prev_revision;  /* KV */
    uint8_t deleted;        /* KV */
    sl_slice value;         /* KV */
    int32_t generation;     /* GROUP */
    uint8_t state;          /* GROUP */
} ipc_event;

int ipc_event_encode(sl_buf *b, const ipc_event *e);
/* Decode a whole event message (header included). */
int ipc_event_decode(sl_slice msg, ipc_event *e);

/* ---- TIER_STATUS [IPC-4.23] ---------------------------------------------
 * req:  str topic
 * rep:  array of { i32 partition, i64 local_start, i64 local_end,
 *                  i64 local_bytes, i64 remote_start, i64 remote_end,
 *                  i64 remote_bytes, i32 remote_segments,
 *                  i32 pending_offload, i64 failures, str last_error }
 * remote_start / remote_end are -1 when the tier holds nothing. */
typedef struct ipc_tier_part {
    int32_t partition;
    int64_t local_start, local_end, local_bytes;
    int64_t remote_start, remote_end, remote_bytes;
    int32_t remote_segments, pending_offload;
    int64_t failures;
    sl_slice last_error;
} ipc_tier_part;

typedef struct ipc_tier_status_rep {
    uint32_t count;
    sl_rd it_;
} ipc_tier_status_rep;

int ipc_tier_status_req_encode(sl_buf *b, sl_slice topic);
int ipc_tier_status_req_decode(sl_slice body, sl_slice *topic);
int ipc_tier_status_rep_encode(sl_buf *b, const ipc_tier_part *p, size_t n);
int ipc_tier_status_rep_decode(sl_slice body, ipc_tier_status_rep *m);
int ipc_tier_status_rep_next(ipc_tier_status_rep *m, ipc_tier_part *p);

/* ---- TOPIC_ALTER_CONFIGS [IPC-4.24] -------------------------------------
 * req:  str name, u8 validate_only, u8 replace,
 *       array of { u8 op, str key, str value }
 * rep:  array of { str key, str value } — the topic's overrides after the
 *       change (with validate_only: as they would be; nothing changed)
 * op is IPC_CFG_SET or IPC_CFG_DELETE; a DELETE carries an empty value.
 * replace = 1 drops every override the request does not SET (Kafka's
 * AlterConfigs).  All or nothing: status SL_E_NOTOPIC, SL_E_INVAL (unknown
 * key, bad value, key given twice, key fixed at creation) or
 * SL_E_UNSUPPORTED, with text naming the key.  validate_only with no ops
 * reads the overrides.
 */
enum { IPC_CFG_SET = 0, IPC_CFG_DELETE = 1 };

typedef struct ipc_cfg_op {
    uint8_t op;
    sl_slice key;
    sl_slice value;
} ipc_cfg_op;

typedef struct ipc_alter_configs_req {
    sl_slice name;
    uint8_t validate_only;
    uint8_t replace;
    uint32_t count;
    sl_rd it_;
} ipc_alter_configs_req;

typedef struct ipc_alter_configs_rep {
    uint32_t count;
    sl_rd it_;
} ipc_alter_configs_rep;

/* Refuses (SL_E_INVAL) an op other than SET/DELETE and a DELETE with a
 * value; the decoder refuses them too (SL_E_MALFORMED). */
int ipc_alter_configs_req_encode(sl_buf *b, sl_slice name, int validate_only,
                                 int replace, const ipc_cfg_op *ops, size_t n);
int ipc_alter_configs_req_decode(sl_slice body, ipc_alter_configs_req *m);
int ipc_alter_configs_req_next(ipc_alter_configs_req *m, ipc_cfg_op *op);
int ipc_alter_configs_rep_encode(sl_buf *b, const ipc_kv *overrides, size_t n);
int ipc_alter_configs_rep_decode(sl_slice body, ipc_alter_configs_rep *m);
int ipc_alter_configs_rep_next(ipc_alter_configs_rep *m, ipc_kv *kv);

#endif /* IPC_MSG_H */
