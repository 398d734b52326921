/*
 * mq_server.h — sluice-mqtt's process: its config table, the server that
 * holds MQTT connections on one libuv loop, the sessions, the subscription
 * and retained tries, and the log tail that feeds delivery.
 *
 * Threading: everything here runs on the loop thread.  The IPC client runs
 * in loop mode, so its reply and event callbacks arrive on that thread too;
 * nothing in this folder takes a lock.
 *
 * The data path (docs/mqtt.md has the whole story):
 *
 *   PUBLISH in -> mq_srv_publish.c: one Kafka record per message, all
 *   publishes of a loop iteration in one APPEND (one batch per partition);
 *   PUBACK / PUBREC once segstore acknowledged the APPEND.
 *
 *   log tail -> mq_srv_deliver.c: every partition of the MQTT log topic is
 *   read from where this process found its end; each record's key (the
 *   MQTT topic) is matched against the subscription trie (mq_trie.c) and
 *   delivered to the matching sessions.
 *
 * Sessions (mq_state.c) keep, per log partition, a cursor: the next offset
 * they have to look at.  A session whose cursor is at the tail is "live"
 * on that partition and is fed by the shared tail; one that is behind (it
 * was offline, or its receive window was full) reads the log for itself
 * until it has caught up.  Offline messages are therefore the log itself.
 */
#ifndef MQ_SERVER_H
#define MQ_SERVER_H

#include "fe_common.h"
#include "fe_link.h"
#include "ipc_client.h"
#include "mq_auth.h"
#include "mq_codec.h"
#include "mq_rules.h"
#include "sl_batch.h"
#include "sl_conf.h"

#include <stdbool.h>
#include <stdio.h>

/* ---- config -------------------------------------------------------------- */

typedef struct mq_config {
    char segstore[SL_CONF_STR_MAX];
    char listen[SL_CONF_STR_MAX];
    char log_level[SL_CONF_STR_MAX];
    char metrics_listen[SL_CONF_STR_MAX];
    char log_topic[SL_CONF_STR_MAX];
    int64_t log_partitions;
    int64_t max_packet;
    int64_t receive_max;
    int64_t topic_alias_max;
    int64_t keepalive_max;
    int64_t max_inflight_out;
    int64_t conn_max_out;
    int64_t session_expiry_max;
    int64_t tail_poll_ms;
    int64_t read_max_bytes;
    int64_t session_flush_ms;
    int64_t ipc_timeout_ms;
    int64_t ipc_inflight;
    int64_t shutdown_timeout_ms;
    char server_reference[SL_CONF_STR_MAX]; /* "": 0x8B on SIGTERM, else 0x9C */
    int allow_anonymous;
    char password_file[SL_CONF_STR_MAX];
    char acl_file[SL_CONF_STR_MAX];
    int64_t sys_interval;
    int64_t session_memory_s;
    char log_rules[SL_CONF_STR_MAX];
    char log_rules_file[SL_CONF_STR_MAX];
} mq_config;

extern const sl_conf_key mq_config_keys[];
extern const size_t mq_config_keys_len;

void mq_config_defaults(mq_config *c);
int mq_config_set(mq_config *c, const char *kv, char *err, size_t errlen);
int mq_config_load(mq_config *c, const char *path, char *err, size_t errlen);
int mq_config_finish(mq_config *c, char *err, size_t errlen);
void mq_config_doc(FILE *out);

/* ---- types ----------------------------------------------------------------
 */

typedef struct mq_server mq_server;
typedef struct mq_conn mq_conn;
typedef struct mq_session mq_session;
typedef struct mq_subent mq_subent;
typedef struct mq_tnode mq_tnode;
typedef struct mq_retained mq_retained;
typedef struct mq_kvop mq_kvop;
typedef struct mq_orphan mq_orphan;
typedef struct mq_shgroup mq_shgroup;
typedef struct mq_adopted mq_adopted;
/* A KV write is durable (rc 0) or failed. */
typedef void (*mq_kv_cb)(void *arg, int rc);

/* A message as delivery sees it, decoded from a log record (or a retained
 * or will blob).  Views borrow from the record bytes; uprops from the
 * server's scratch array (valid until the next decode). */
typedef struct mq_msg {
    sl_slice topic;
    sl_slice payload;
    uint8_t qos;
    bool retain;
    bool has_pfi;
    uint8_t pfi;
    int64_t expiry_ms; /* absolute, 0 = none */
    bool has_ct, has_rt, has_cd;
    sl_slice ct, rt, cd;
    sl_slice cid; /* publisher (No Local) */
    mq_prop *uprops;
    size_t nuprops;
    bool has_qos;   /* an mqtt.qos header was there */
    int32_t part;   /* -1 when not from the log */
    int64_t offset; /* */
    int64_t ts;     /* record timestamp, ms (0 when unknown) */
} mq_msg;

/* One subscription of a session. */
struct mq_subent {
    mq_session *sess;
    mq_subent *next; /* session's list */
    char *filter;    /* as subscribed, NUL-terminated */
    size_t filter_n;
    sl_slice match; /* the filter proper (after $share/<g>/) */
    sl_slice group; /* share name; empty when not shared */
    uint8_t qos;
    bool no_local, rap;
    uint8_t rh;
    uint32_t id;      /* subscription identifier, 0 = none */
    int64_t since_ms; /* messages stamped before it are not for it */
};

/* A shared subscription group at a trie node. */
typedef struct mq_sgroup {
    char *name;
    size_t name_n;
    mq_subent **members;
    uint32_t n, cap;
    uint32_t rr;
    mq_shgroup *co; /* its cluster-wide coordination (mq_share.c) */
} mq_sgroup;

/* A trie node: one topic level.  Used for both subscriptions (subs,
 * groups) and retained messages (ret). */
struct mq_tnode {
    char *lvl;
    size_t lvl_n;
    mq_tnode *parent;
    mq_tnode **kids; /* sorted by level (memcmp, shorter first) */
    uint32_t nkids, capkids;
    mq_subent **subs;
    uint32_t nsubs, capsubs;
    mq_sgroup *groups;
    uint32_t ngroups, capgroups;
    mq_retained *ret;
};

/* A retained message: one Kafka record batch with one record, exactly the
 * bytes the log holds for it (so the same decoder serves both). */
struct mq_retained {
    int refs;
    char *topic;
    size_t topic_n;
    uint8_t *blob;
    size_t n;
    mq_tnode *node;
    int64_t version; /* KV version, 0 when local only */
};

/* An outbound QoS 1/2 message the client has not finished acknowledging. */
typedef struct mq_out {
    uint16_t pid;
    uint8_t qos;
    uint8_t state; /* MQ_OUT_* */
    int32_t part;  /* log position, or -1 for a held blob */
    int64_t off;
    mq_retained *held; /* retained/shared copy when not resendable by offset */
    char *share;       /* shared delivery: the "$share/g/f" it went through */
    int32_t sh_part;   /* shared delivery: its log position */
    int64_t sh_off;
    bool resend; /* resend with DUP when the cursor passes it again */
} mq_out;

enum { MQ_OUT_ACK = 1, MQ_OUT_REC = 2, MQ_OUT_COMP = 3 };

typedef struct mq_cursor {
    int64_t next;     /* next offset to look at */
    int64_t redo_end; /* below: only resend inflight (replay after resume) */
    uint8_t live;     /* fed by the shared tail */
    uint8_t reading;  /* a READ for this session is in flight */
} mq_cursor;

/* A shared-subscription message taken back from a member that went away,
 * waiting for another member with a free slot. */
typedef struct mq_spend {
    mq_retained *held;
    uint8_t qos;
    int32_t part;
    int64_t off;
} mq_spend;

/* A share group `$share/<group>/<filter>` across the cluster (mq_share.c):
 * this process joins segstore's group coordinator as one member of group
 * "mqtt-share:<group>:<filter>" while it has an online member of the share
 * group, is assigned some of the log partitions, delivers the group's
 * messages from those partitions only (to its own members, round robin),
 * and commits, per partition, the offset below which every message of the
 * group has been acknowledged (OFFSET_COMMIT, fenced by generation). */
struct mq_shgroup {
    mq_shgroup *next;
    mq_server *s;
    char *name; /* "$share/<group>/<filter>", NUL-terminated */
    size_t name_n;
    sl_slice group, filter; /* views into name */
    char *cgroup;           /* coordinator group name */
    size_t cgroup_n;
    int state;   /* MQ_SH_* */
    int busy;    /* a JOIN/SYNC/FETCH/HEARTBEAT/LEAVE in flight */
    int cbusy;   /* an OFFSET_COMMIT in flight */
    int refs;    /* requests in flight, +1 while listed */
    int leave;   /* REVOKING ends in LEAVE (no online member left) */
    int leaving; /* the LEAVE is in flight */
    char *member;
    size_t member_n;
    int32_t gen;
    int64_t born_ms;    /* wall ms when this process first saw the group */
    uint8_t *owned;     /* [nparts] assigned to this process */
    mq_cursor *cur;     /* [nparts] */
    int64_t *start;     /* [nparts] tail when first seen: start w/o commit */
    int64_t *committed; /* [nparts] last committed, -1 none */
    uint8_t *fresh;     /* [nparts] no commit existed: skip older messages */
    mq_spend *pend;
    size_t npend, cappend;
    uint64_t hb_at, retry_at, revoke_until, commit_at;
};

enum {
    MQ_SH_OUT = 0,      /* not a member of the coordinator group */
    MQ_SH_JOINING = 1,  /* JOIN (then SYNC, OFFSET_FETCH) in flight */
    MQ_SH_STABLE = 2,   /* partitions assigned: delivering */
    MQ_SH_REVOKING = 3, /* rebalance or leave: waiting for acks, commit */
};

/* A message waiting for a window slot (retained on subscribe). */
typedef struct mq_pend {
    mq_retained *r;
    uint8_t qos;
    uint32_t subid;
} mq_pend;

struct mq_session {
    char *cid;
    size_t cid_n;
    mq_session *hnext;               /* server's session map */
    mq_session *off_prev, *off_next; /* offline list */
    mq_conn *conn;                   /* NULL while offline */
    uint8_t version;
    uint32_t expiry; /* session expiry interval, s */
    int64_t disconnect_ms;
    mq_subent *subs;
    size_t nsubs;
    int32_t nparts;
    mq_cursor *cur;
    mq_out *out;
    size_t nout, capout;
    uint16_t next_pid;
    uint16_t *q2; /* inbound QoS 2 ids received, not released */
    size_t nq2, capq2;
    mq_pend *pend;
    size_t npend, cappend;
    int refs;        /* READs in flight etc. */
    int gone;        /* removed from the map: free when refs drop to 0 */
    int dirty;       /* state changed since the last flush */
    int persist;     /* kept in segstore's KV (expiry interval > 0) */
    int suback_wait; /* SUBACKs waiting for the session to be durable */
    int64_t disconnect_wall; /* wall ms of the disconnect, 0 while online */
    /* will waiting for its delay (connection gone) */
    uint8_t *will;
    size_t will_n;
    int64_t will_at_ms;
    bool will_retain;
    /* per-dispatch aggregation of overlapping subscriptions */
    uint32_t m_gen;
    uint8_t m_qos;
    bool m_rap;
    uint32_t m_ids[16];
    uint8_t m_nids;
    mq_session *m_next;
};

struct mq_conn {
    mq_server *srv;
    fe_conn *fe;
    mq_conn *prev, *next;
    int refs;
    int dead;  /* fe connection gone */
    int state; /* MQ_CS_* */
    uint8_t version;
    mq_session *sess;
    uint16_t keep_alive; /* effective, s */
    uint64_t last_rx_ms;
    uint32_t max_out_packet; /* client's Maximum Packet Size */
    uint16_t recv_max_out;   /* client's Receive Maximum */
    uint16_t alias_max_out;  /* client's Topic Alias Maximum */
    uint32_t inflight_in;    /* QoS > 0 publishes not yet acknowledged */
    char **alias_in;         /* [alias - 1] -> topic, owned */
    char **alias_out;        /* [alias - 1] -> topic, owned */
    uint16_t nalias_out;
    uint8_t *will; /* will as a one-record batch */
    size_t will_n;
    uint32_t will_delay;
    bool will_retain;
    bool clean_disconnect;
    bool takeover;
    bool acc_paused; /* input paused until the APPEND in flight returns */
    /* The QoS 2 gate (mq_srv_deliver.c): PUBLISH bytes held until the
     * session state that makes them resendable is durable. */
    sl_buf gate;
    size_t gate_mark; /* bytes covered by the save in flight */
    bool gate_sched, gate_busy;
    mq_conn *gate_next;
    /* CONNECT parameters kept while the session loads from KV */
    char *cid;
    size_t cid_n;
    char *user; /* NULL: anonymous */
    size_t user_n;
    bool pc_clean, pc_expiry_capped, pc_ka_set, pc_assigned;
    uint32_t pc_expiry;
};

enum {
    MQ_CS_NEW = 0,
    MQ_CS_CONNECTED = 1,
    MQ_CS_CLOSING = 2,
    MQ_CS_LOADING = 3, /* CONNECT waits for its session from KV or for the
                          password check */
};

/* One acknowledgement owed once an APPEND is answered. */
typedef struct mq_ack_wait {
    mq_conn *conn; /* held */
    uint16_t pid;
    uint8_t qos;
    uint8_t norecord; /* QoS 2 duplicate or refused: answer only */
    uint8_t reason;   /* MQTT 5 reason to answer with (0x87 refused) */
    int32_t part;
} mq_ack_wait;

/* A coalesced APPEND: one batch per partition. */
typedef struct mq_append {
    sl_buf *bufs;
    sl_batch_builder *bld;
    int32_t *count; /* records per partition */
    mq_ack_wait *acks;
    size_t nacks, capacks;
    size_t nrec;
} mq_append;

/* Why a log record was not delivered over MQTT (mq_srv_deliver.c). */
enum {
    MQ_SKIP_NO_KEY = 0,    /* null key (and no topic header) */
    MQ_SKIP_EMPTY_KEY,     /* empty key */
    MQ_SKIP_INVALID_TOPIC, /* wildcards, NUL, invalid UTF-8 */
    MQ_SKIP_TOO_LONG,      /* over 65535 bytes */
    MQ_SKIP_BAD_RECORD,    /* headers that do not decode */
    MQ_SKIP_COMPRESSED,    /* in a compressed batch */
    MQ_SKIP_N
};
extern const char *const mq_skip_reasons[MQ_SKIP_N];

typedef struct mq_stats {
    uint64_t conns;
    uint64_t connects;
    uint64_t msgs_in, msgs_out;
    uint64_t bytes_in, bytes_out;
    uint64_t malformed;
    uint64_t protocol_errors;
    uint64_t dropped_qos0;
    uint64_t dropped_too_big;
    uint64_t expired;
    uint64_t append_errors;
    uint64_t ipc_errors;
    uint64_t appends;
    uint64_t reads;
    uint64_t takeovers;
    uint64_t wills;
    uint64_t auth_failures;
    uint64_t acl_denied;
    uint64_t evicted; /* offline sessions dropped from memory (in KV) */
    uint64_t open_conns;
    uint64_t skipped[MQ_SKIP_N]; /* log records not deliverable, by reason */
} mq_stats;

#define MQ_SMAP_BITS 12

/* A log topic carrying MQTT messages.  Its partitions are numbered
 * globally from `base` (cursors, the tail and the accumulator index them
 * so); hw0 holds where they ended at start. */
typedef struct mq_ltopic {
    char name[SL_CONF_STR_MAX];
    /* from the rules: options of this topic (NULL: none) */
    const mq_rule_topic *spec;
    uint8_t qos_default;      /* records without an mqtt.qos header */
    const char *topic_header; /* NULL: the MQTT topic is the key */
    int32_t nparts;
    int32_t base;
    int64_t *hw0;
} mq_ltopic;

/* A mapping rule: MQTT topics matching filter go to log topic t. */
typedef struct mq_rule {
    const char *filter; /* owned by s->map */
    int t;
} mq_rule;

#define MQ_MAX_LTOPICS (MQ_RULES_MAX_TOPICS + 1)

struct mq_server {
    const mq_config *cfg;
    uv_loop_t *loop;
    fe_server *fe;
    ipc_client *ipc;
    fe_link link; /* s->ipc's connection to segstore (log, metrics) */
    int ready;    /* log topic known and tail positioned: listening */
    int is_local;
    int subscribed;
    int start_busy;
    uv_timer_t start_timer;
    uv_timer_t tick; /* 100 ms housekeeping */
    uv_check_t flush_check;
    int flush_armed;
    mq_conn *conns;
    /* the log: topics, rules, global partition numbering */
    mq_ltopic lt[MQ_MAX_LTOPICS];
    int nlt;
    mq_rules map;   /* the parsed mapping rules */
    mq_rule *rules; /* in order, first match wins */
    int nrules;
    int setup_i;    /* the log topic being created/described at start */
    uint8_t *gp_t;  /* global partition -> log topic */
    int32_t nparts; /* global partitions, all log topics */
    int64_t *tail_next;
    int64_t *tail_hw;
    uint8_t *tail_reading;
    uint64_t last_poll_ms;
    /* appends */
    mq_append acc;  /* accumulating */
    int appending;  /* an APPEND is in flight */
    int acc_paused; /* connections paused for the accumulator */
    mq_conn *gated; /* connections whose gate waits for a session save */
    /* sessions */
    mq_session *smap[1u << MQ_SMAP_BITS];
    size_t nsessions;
    mq_session *offline;
    /* tries */
    mq_tnode *subs_root;
    mq_tnode *ret_root;
    size_t nretained;
    uint32_t gen;
    /* scratch */
    mq_prop *uprops;
    size_t capuprops;
    uint8_t *amem;
    size_t acap;
    sl_buf out; /* encode scratch */
    int stopping;
    uv_timer_t stop_timer;
    void (*stopped)(void *arg);
    void *stopped_arg;
    uint64_t start_ms;
    /* KV (mq_kv.c) */
    char instance[17];    /* this process, 16 hex digits */
    int kv_ok;            /* segstore answers KV ops */
    int kv_busy;          /* a KV_WRITE is in flight */
    uint64_t kv_retry_ms; /* segstore was away: no KV_WRITE before (uv_now) */
    mq_kvop *kv;          /* pending writes */
    size_t nkv, capkv;
    int64_t kv_rev; /* last KV revision seen */
    int scan_busy, scan_first;
    void (*scan_done_cb)(mq_server *s);
    uint64_t last_flush_ms;
    uint64_t last_beat_ms, last_reap_ms;
    int reap_busy;
    mq_orphan *orphans;  /* wills of dead instances, waiting */
    mq_adopted *adopted; /* sessions of dead instances, waiting to expire */
    mq_shgroup *shares;  /* share groups this process has seen */
    uint64_t last_sys_ms;
    mq_passwd *passwd;          /* NULL: no password file */
    mq_acl *acl;                /* NULL: no ACL file (everything allowed) */
    int auth_inflight;          /* password checks running on worker threads */
    mq_passwd **passwd_retired; /* replaced by a reload, still in use */
    size_t nretired;
    mq_stats st;
    struct sl_metrics *metrics;
    struct sl_metrics_http *metrics_http;
    struct sl_histo *h_deliver; /* publish-to-deliver latency, s */
};

int mq_server_start(mq_server *s, const mq_config *cfg, uv_loop_t *loop,
                    char *err, size_t errlen);
void mq_server_stop(mq_server *s, void (*done)(void *arg), void *arg);
/* SIGHUP: reload the mapping rules from fresh (same log topics only). */
int mq_server_reload_rules(mq_server *s, const mq_config *fresh);
/* SIGHUP: read the password and ACL files again (the paths in s->cfg) and
 * replace the loaded ones when both parse; otherwise keep them and log
 * why.  Connections are kept.  0 or the error. */
int mq_server_reload(mq_server *s);

/* ---- internals shared by the files of this folder ------------------------ */

uint64_t mq__now_ms(void);

/* connections (mq_server.c) */
void mq__conn_hold(mq_conn *c);
void mq__conn_rele(mq_conn *c);
/* Send bytes; false when the connection is gone. */
bool mq__conn_send(mq_conn *c, const sl_buf *b);
/* Server-initiated close: DISCONNECT(reason) in MQTT 5, then close. */
void mq__conn_fail(mq_conn *c, uint8_t reason, const char *why);
/* The global partition an MQTT topic goes to (mapping rules, then XXH3
 * mod the log topic's partitions). */
int32_t mq__partition_of(const mq_server *s, sl_slice topic);
/* Log topic name and partition of global partition g. */
sl_slice mq__gp_topic(const mq_server *s, int32_t g);
int32_t mq__gp_part(const mq_server *s, int32_t g);
/* Global partition of (log topic, partition), -1 when not ours. */
int32_t mq__gp(const mq_server *s, sl_slice topic, int32_t part);

/* messages: record <-> mq_msg (mq_srv_publish.c) */
int mq__msg_add_record(sl_batch_builder *b, const mq_msg *m, int64_t ts);
/* Decode one record; uprops go to the server's scratch. */
int mq__msg_from_record(mq_server *s, const sl_record *rec, mq_msg *m);
/* Decode a one-record blob (retained, will). */
int mq__msg_from_blob(mq_server *s, sl_slice blob, mq_msg *m);
/* Build a blob for m (owned, malloc'd). */
int mq__msg_blob(const mq_msg *m, uint8_t **out, size_t *n);

/* inbound (mq_srv_publish.c) */
int mq__handle_publish(mq_conn *c, mq_publish *p);
int mq__handle_pubrel(mq_conn *c, const mq_ack *a);
/* Publish a message from the server itself (wills); retained handled. */
void mq__publish_internal(mq_server *s, const mq_msg *m);
void mq__append_flush(mq_server *s);
void mq__append_init(mq_server *s);
/* The flush check handle (once, before anything is published). */
void mq__publish_init(mq_server *s);
void mq__append_fini(mq_server *s);

/* delivery (mq_srv_deliver.c) */
void mq__tail_event(mq_server *s, const ipc_event *e);
void mq__tail_poll(mq_server *s);
void mq__tail_read(mq_server *s);
/* The session got a connection or a slot: resume reading/sending. */
void mq__session_kick(mq_session *ss);
int mq__handle_puback(mq_conn *c, int type, const mq_ack *a);
/* Deliver m (QoS 0) to every local subscriber now, without the log
 * ($SYS topics). */
void mq__deliver_local(mq_server *s, const mq_msg *m);
/* Deliver a retained message (on subscribe) to a session. */
void mq__deliver_retained(mq_session *ss, mq_retained *r, uint8_t qos,
                          uint32_t subid);
/* The session's client went away: its unacknowledged shared-subscription
 * messages go to another member of their group. */
void mq__share_redispatch(mq_server *s, mq_session *ss);
/* Shared subscriptions across instances (mq_srv_deliver.c side): a member
 * got a free slot or a group got partitions: drain what waits, read the
 * log where the group is behind. */
void mq__share_kick(mq_server *s, mq_shgroup *sh);
/* Per owned partition, the lowest offset of the group still in flight or
 * waiting (pos[p] lowered to it); returns how many are in flight. */
size_t mq__share_inflight(mq_server *s, mq_shgroup *sh, int64_t *pos);
void mq__share_pend_clear(mq_shgroup *sh);
/* Save the sessions of gated connections (end of a loop iteration). */
void mq__gate_flush(mq_server *s);
/* Resend what is in flight after a reconnect (PUBREL, held copies). */
void mq__session_resend(mq_session *ss);

/* share groups (mq_share.c) */
/* The share object of "$share/<group>/<filter>" (found or created). */
mq_shgroup *mq__share_get(mq_server *s, sl_slice name);
void mq__share_hold(mq_shgroup *sh);
void mq__share_rele(mq_shgroup *sh);
void mq__shares_tick(mq_server *s, uint64_t now);
/* Stop following the tail (no member here to deliver to, or revoking):
 * live cursors stay where the tail is. */
void mq__share_freeze(mq_shgroup *sh);
/* Orderly stop: commit and leave every group.  True while requests of
 * that are in flight. */
void mq__shares_stop(mq_server *s);
bool mq__shares_busy(const mq_server *s);

/* trie (mq_trie.c) */
mq_tnode *mq__trie_new(void);
void mq__trie_free(mq_tnode *n);
int mq__trie_add_sub(mq_tnode *root, mq_subent *e);
void mq__trie_del_sub(mq_tnode *root, mq_subent *e);
typedef void (*mq_match_cb)(void *arg, mq_subent *e);
typedef void (*mq_group_cb)(void *arg, mq_sgroup *g);
void mq__trie_match(mq_tnode *root, sl_slice topic, mq_match_cb cb,
                    mq_group_cb gcb, void *arg);
/* The shared group `group` subscribed with filter `match`, or NULL. */
mq_sgroup *mq__trie_group(mq_tnode *root, sl_slice match, sl_slice group);
/* retained: set (NULL blob clears) and lookup by filter */
int mq__retained_set(mq_server *s, sl_slice topic, const uint8_t *blob,
                     size_t n, int64_t version);
void mq__retained_hold(mq_retained *r);
void mq__retained_rele(mq_retained *r);
typedef void (*mq_ret_cb)(void *arg, mq_retained *r);
void mq__retained_match(mq_server *s, sl_slice filter, mq_ret_cb cb, void *arg);

/* Arm the end-of-iteration flush (APPEND and KV writes). */
void mq__arm(mq_server *s);

/* KV (mq_kv.c) */
int mq__kv_set(mq_server *s, const char *pfx, sl_slice rest, const uint8_t *val,
               size_t n, int del, mq_kv_cb cb, void *arg);
void mq__kv_flush(mq_server *s);
void mq__kv_retained(mq_server *s, sl_slice topic, const uint8_t *blob,
                     size_t n);
void mq__kv_scan_retained(mq_server *s, void (*done)(mq_server *s));
void mq__kv_event(mq_server *s, const ipc_event *e);
void mq__kv_session_save(mq_server *s, mq_session *ss);
/* Save now; cb once durable (at once when the session is not kept). */
int mq__kv_session_save_cb(mq_server *s, mq_session *ss, mq_kv_cb cb,
                           void *arg);
void mq__kv_session_delete(mq_server *s, sl_slice cid);
/* Record this process as the client's server; clean: its session was
 * just deleted (Clean Start), so others must not write theirs back. */
void mq__kv_owner(mq_server *s, sl_slice cid, bool clean);
int mq__kv_q2_save(mq_server *s, mq_session *ss, mq_kv_cb cb, void *arg);
/* Load c->cid's session, then mq__connect_finish(c). */
int mq__kv_session_load(mq_server *s, mq_conn *c);
void mq__kv_tick(mq_server *s);
/* Wills in KV (mqtt/w/) and instance heartbeats (mqtt/i/). */
void mq__kv_will_put(mq_server *s, sl_slice cid, const uint8_t *blob, size_t n,
                     uint32_t delay, int64_t fire_at);
void mq__kv_will_del(mq_server *s, sl_slice cid);
void mq__kv_heartbeat(mq_server *s);
void mq__kv_reap_check(mq_server *s);
void mq__kv_orphans_tick(mq_server *s);
void mq__kv_orphans_free(mq_server *s);
/* Sessions adopted from dead instances: expire them when due. */
void mq__kv_adopted_tick(mq_server *s);
void mq__kv_fini(mq_server *s);
/* May c publish (MQ_ACL_WRITE) to / receive (MQ_ACL_READ) topic? */
bool mq__acl(const mq_conn *c, sl_slice topic, int access);
/* Second half of CONNECT, once any stored session is in memory. */
void mq__connect_finish(mq_conn *c);

/* sessions (mq_state.c) — the interface that KV persistence sits behind */
mq_session *mq__session_find(mq_server *s, sl_slice cid);
mq_session *mq__session_new(mq_server *s, sl_slice cid);
void mq__session_drop(mq_server *s, mq_session *ss);
void mq__session_hold(mq_session *ss);
void mq__session_rele(mq_session *ss);
/* Subscribe / unsubscribe: 0 / 1 (existed) or a negative code. */
int mq__session_sub(mq_server *s, mq_session *ss, const mq_sub *sub,
                    uint32_t id, bool *existed);
int mq__session_unsub(mq_server *s, mq_session *ss, sl_slice filter);
void mq__session_offline(mq_server *s, mq_session *ss);
void mq__session_online(mq_server *s, mq_session *ss);
/* Position every cursor at the tail (a new session). */
void mq__session_at_tail(mq_server *s, mq_session *ss);
bool mq__session_q2_has(mq_session *ss, uint16_t pid);
void mq__session_q2_add(mq_session *ss, uint16_t pid);
bool mq__session_q2_del(mq_session *ss, uint16_t pid);
void mq__sessions_tick(mq_server *s, uint64_t now);
void mq__sessions_free(mq_server *s);
/* mq_metrics.c: the /metrics endpoint (when metrics.listen is set). */
int mq__metrics_start(mq_server *s, char *err, size_t errlen);
void mq__metrics_stop(mq_server *s);

#endif /* MQ_SERVER_H */
