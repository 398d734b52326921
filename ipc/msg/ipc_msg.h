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
    /* events, published on the pub socket */
    IPC_EVT_ADVANCE = 64,
    IPC_EVT_TOPIC_CREATED = 65,
    IPC_EVT_TOPIC_DELETED = 66,
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

/* Check a body that must be empty (TOPIC_LIST request; TOPIC_CREATE and
 * TOPIC_DELETE replies): 0, or SL_E_MALFORMED when any byte is present. */
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

/* ---- events -------------------------------------------------------------
 * IPC_EVT_ADVANCE:        str topic, i32 partition, i64 high_watermark
 * IPC_EVT_TOPIC_CREATED:  str topic, i32 partitions
 * IPC_EVT_TOPIC_DELETED:  str topic, i32 partitions (0)
 * Subscribers may filter with the 4-byte prefix 'S' 'L' version op.
 */
typedef struct ipc_event {
    uint8_t op;
    sl_slice topic;
    int32_t partition;      /* ADVANCE */
    int64_t high_watermark; /* ADVANCE */
    int32_t partitions;     /* TOPIC_CREATED / DELETED */
} ipc_event;

int ipc_event_encode(sl_buf *b, const ipc_event *e);
/* Decode a whole event message (header included). */
int ipc_event_decode(sl_slice msg, ipc_event *e);

#endif /* IPC_MSG_H */
