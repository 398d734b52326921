/*
 * mq_codec.h — the MQTT codec: framing, decoders and encoders for every
 * control packet of MQTT 3.1 ("MQIsdp", level 3), 3.1.1 (level 4) and 5.0
 * (level 5), MQTT 5 properties and reason codes, UTF-8 rules and topic
 * name / topic filter validation and matching.
 *
 * The codec is pure: no I/O, no malloc, no logging, no globals.  Decoders
 * are functions from a byte slice to a struct; every string, binary and
 * payload in a decoded struct is an sl_slice view into the input bytes
 * (valid as long as those bytes are), and every array (properties,
 * subscription entries, reason-code lists) is allocated from the caller's
 * arena (valid until the arena is reset).  docs/mqtt.md describes the
 * rules enforced and the spec statements behind them.
 *
 * Reading a packet takes two steps:
 *
 *   1. mq_frame_parse() finds one packet in a stream buffer: type, flags,
 *      body.  It says "need more bytes" (SL_E_PARTIAL), "the remaining
 *      length varint is longer than 4 bytes or not minimal"
 *      (SL_E_MALFORMED) or "larger than the maximum packet size"
 *      (SL_E_TOOBIG) — the last as soon as the length is known, before
 *      the body has arrived.
 *   2. mq_packet_decode() decodes the framed packet for the connection's
 *      protocol version.
 *
 * The decoder result contract: 0 on success; otherwise a negative SL_E_*
 * code and *err filled with the MQTT 5 reason code the spec names for the
 * failure (mq_err.reason) and a static text quoting the rule:
 *
 *   SL_E_MALFORMED  the packet is invalid; reason is 0x81 (Malformed
 *                   Packet), 0x82 (Protocol Error), 0x90 (Topic Name
 *                   invalid), 0x85 (Client Identifier not valid) or 0x99
 *                   (Payload format invalid).
 *   SL_E_VERSION    CONNECT only: unknown protocol name or level; reason
 *                   0x84.  The fixed part of mq_connect (protocol name and
 *                   level) is filled in so the server can answer before
 *                   closing; the conventional answer to an unknown level is
 *                   the 3.1.1 CONNACK "20 02 00 01" [MQTT-3.1.2-2].
 *   SL_E_TOOBIG     the arena could not hold the packet's arrays; reason
 *                   0x95 (Packet too large).
 *
 * The server answers a failed CONNECT with CONNACK(reason) — for 3.x
 * clients mapped by mq_connack_code_v3(), closing without CONNACK where
 * there is no 3.x code — and any other failed packet, in MQTT 5, with
 * DISCONNECT(reason); 3.x connections are simply closed.
 *
 * Encoders append one whole packet to an sl_buf and return 0, -ENOMEM, or
 * SL_E_INVAL when the struct cannot be encoded for that version (a field
 * out of range, a property not allowed in the packet, a 3.x packet with a
 * v5-only feature).  mq_packet_size() gives the encoded size without
 * encoding, and mq_packet_fit() drops Reason String and User Properties as
 * the spec requires when a packet would exceed the peer's Maximum Packet
 * Size.
 */
#ifndef MQ_CODEC_H
#define MQ_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_base.h"

/* ---- versions, packet types, limits ------------------------------------ */

enum mq_version {
    MQ_V31 = 3,  /* MQTT 3.1, protocol name "MQIsdp" */
    MQ_V311 = 4, /* MQTT 3.1.1, protocol name "MQTT" */
    MQ_V5 = 5,   /* MQTT 5.0, protocol name "MQTT" */
};

enum mq_type {
    MQ_CONNECT = 1,
    MQ_CONNACK = 2,
    MQ_PUBLISH = 3,
    MQ_PUBACK = 4,
    MQ_PUBREC = 5,
    MQ_PUBREL = 6,
    MQ_PUBCOMP = 7,
    MQ_SUBSCRIBE = 8,
    MQ_SUBACK = 9,
    MQ_UNSUBSCRIBE = 10,
    MQ_UNSUBACK = 11,
    MQ_PINGREQ = 12,
    MQ_PINGRESP = 13,
    MQ_DISCONNECT = 14,
    MQ_AUTH = 15, /* MQTT 5 only */
};

/* Name of a packet type ("PUBLISH"); "?" when unknown. */
const char *mq_type_name(int type);

/* Largest remaining length a 4-byte varint can express (2.1.4). */
#define MQ_MAX_REMAINING 268435455u
/* Largest whole packet: one type byte, four length bytes, the body. */
#define MQ_MAX_PACKET (MQ_MAX_REMAINING + 5u)
/* Largest value of a Variable Byte Integer property (1.5.5). */
#define MQ_MAX_VARINT MQ_MAX_REMAINING

/* ---- reason codes ------------------------------------------------------ */

/*
 * Every MQTT 5 reason code (2.4): X(NAME, value, "text", packets), where
 * packets is the set of packet types allowed to carry it (MQ_RCP_* bits).
 * 0x00..0x02 have several names by packet; each name is its own entry.
 */
#define MQ_RCP(t) (1u << (t))
#define MQ_RCP_ACK                                                             \
    (MQ_RCP(MQ_PUBACK) | MQ_RCP(MQ_PUBREC)) /* PUBACK and PUBREC share */
#define MQ_RCP_REL (MQ_RCP(MQ_PUBREL) | MQ_RCP(MQ_PUBCOMP))

#define MQ_REASONS(X)                                                          \
    X(SUCCESS, 0x00, "Success",                                                \
      MQ_RCP(MQ_CONNACK) | MQ_RCP_ACK | MQ_RCP_REL | MQ_RCP(MQ_UNSUBACK) |     \
          MQ_RCP(MQ_AUTH))                                                     \
    X(NORMAL_DISCONNECTION, 0x00, "Normal disconnection",                      \
      MQ_RCP(MQ_DISCONNECT))                                                   \
    X(GRANTED_QOS_0, 0x00, "Granted QoS 0", MQ_RCP(MQ_SUBACK))                 \
    X(GRANTED_QOS_1, 0x01, "Granted QoS 1", MQ_RCP(MQ_SUBACK))                 \
    X(GRANTED_QOS_2, 0x02, "Granted QoS 2", MQ_RCP(MQ_SUBACK))                 \
    X(DISCONNECT_WITH_WILL, 0x04, "Disconnect with Will Message",              \
      MQ_RCP(MQ_DISCONNECT))                                                   \
    X(NO_MATCHING_SUBSCRIBERS, 0x10, "No matching subscribers", MQ_RCP_ACK)    \
    X(NO_SUBSCRIPTION_EXISTED, 0x11, "No subscription existed",                \
      MQ_RCP(MQ_UNSUBACK))                                                     \
    X(CONTINUE_AUTHENTICATION, 0x18, "Continue authentication",                \
      MQ_RCP(MQ_AUTH))                                                         \
    X(REAUTHENTICATE, 0x19, "Re-authenticate", MQ_RCP(MQ_AUTH))                \
    X(UNSPECIFIED_ERROR, 0x80, "Unspecified error",                            \
      MQ_RCP(MQ_CONNACK) | MQ_RCP_ACK | MQ_RCP(MQ_SUBACK) |                    \
          MQ_RCP(MQ_UNSUBACK) | MQ_RCP(MQ_DISCONNECT))                         \
    X(MALFORMED_PACKET, 0x81, "Malformed Packet",                              \
      MQ_RCP(MQ_CONNACK) | MQ_RCP(MQ_DISCONNECT))                              \
    X(PROTOCOL_ERROR, 0x82, "Protocol Error",                                  \
      MQ_RCP(MQ_CONNACK) | MQ_RCP(MQ_DISCONNECT))                              \
    X(IMPLEMENTATION_SPECIFIC_ERROR, 0x83, "Implementation specific error",    \
      MQ_RCP(MQ_CONNACK) | MQ_RCP_ACK | MQ_RCP(MQ_SUBACK) |                    \
          MQ_RCP(MQ_UNSUBACK) | MQ_RCP(MQ_DISCONNECT))                         \
    X(UNSUPPORTED_PROTOCOL_VERSION, 0x84, "Unsupported Protocol Version",      \
      MQ_RCP(MQ_CONNACK))                                                      \
    X(CLIENT_IDENTIFIER_NOT_VALID, 0x85, "Client Identifier not valid",        \
      MQ_RCP(MQ_CONNACK))                                                      \
    X(BAD_USER_NAME_OR_PASSWORD, 0x86, "Bad User Name or Password",            \
      MQ_RCP(MQ_CONNACK))                                                      \
    X(NOT_AUTHORIZED, 0x87, "Not authorized",                                  \
      MQ_RCP(MQ_CONNACK) | MQ_RCP_ACK | MQ_RCP(MQ_SUBACK) |                    \
          MQ_RCP(MQ_UNSUBACK) | MQ_RCP(MQ_DISCONNECT))                         \
    X(SERVER_UNAVAILABLE, 0x88, "Server unavailable", MQ_RCP(MQ_CONNACK))      \
    X(SERVER_BUSY, 0x89, "Server busy",                                        \
      MQ_RCP(MQ_CONNACK) | MQ_RCP(MQ_DISCONNECT))                              \
    X(BANNED, 0x8A, "Banned", MQ_RCP(MQ_CONNACK))                              \
    X(SERVER_SHUTTING_DOWN, 0x8B, "Server shutting down",                      \
      MQ_RCP(MQ_DISCONNECT))                                                   \
    X(BAD_AUTHENTICATION_METHOD, 0x8C, "Bad authentication method",            \
      MQ_RCP(MQ_CONNACK) | MQ_RCP(MQ_DISCONNECT))                              \
    X(KEEP_ALIVE_TIMEOUT, 0x8D, "Keep Alive timeout", MQ_RCP(MQ_DISCONNECT))   \
    X(SESSION_TAKEN_OVER, 0x8E, "Session taken over", MQ_RCP(MQ_DISCONNECT))   \
    X(TOPIC_FILTER_INVALID, 0x8F, "Topic Filter invalid",                      \
      MQ_RCP(MQ_SUBACK) | MQ_RCP(MQ_UNSUBACK) | MQ_RCP(MQ_DISCONNECT))         \
    X(TOPIC_NAME_INVALID, 0x90, "Topic Name invalid",                          \
      MQ_RCP(MQ_CONNACK) | MQ_RCP_ACK | MQ_RCP(MQ_DISCONNECT))                 \
    X(PACKET_IDENTIFIER_IN_USE, 0x91, "Packet Identifier in use",              \
      MQ_RCP_ACK | MQ_RCP(MQ_SUBACK) | MQ_RCP(MQ_UNSUBACK))                    \
    X(PACKET_IDENTIFIER_NOT_FOUND, 0x92, "Packet Identifier not found",        \
      MQ_RCP_REL)                                                              \
    X(RECEIVE_MAXIMUM_EXCEEDED, 0x93, "Receive Maximum exceeded",              \
      MQ_RCP(MQ_DISCONNECT))                                                   \
    X(TOPIC_ALIAS_INVALID, 0x94, "Topic Alias invalid", MQ_RCP(MQ_DISCONNECT)) \
    X(PACKET_TOO_LARGE, 0x95, "Packet too large",                              \
      MQ_RCP(MQ_CONNACK) | MQ_RCP(MQ_DISCONNECT))                              \
    X(MESSAGE_RATE_TOO_HIGH, 0x96, "Message rate too high",                    \
      MQ_RCP(MQ_DISCONNECT))                                                   \
    X(QUOTA_EXCEEDED, 0x97, "Quota exceeded",                                  \
      MQ_RCP(MQ_CONNACK) | MQ_RCP_ACK | MQ_RCP(MQ_SUBACK) |                    \
          MQ_RCP(MQ_DISCONNECT))                                               \
    X(ADMINISTRATIVE_ACTION, 0x98, "Administrative action",                    \
      MQ_RCP(MQ_DISCONNECT))                                                   \
    X(PAYLOAD_FORMAT_INVALID, 0x99, "Payload format invalid",                  \
      MQ_RCP(MQ_CONNACK) | MQ_RCP_ACK | MQ_RCP(MQ_DISCONNECT))                 \
    X(RETAIN_NOT_SUPPORTED, 0x9A, "Retain not supported",                      \
      MQ_RCP(MQ_CONNACK) | MQ_RCP(MQ_DISCONNECT))                              \
    X(QOS_NOT_SUPPORTED, 0x9B, "QoS not supported",                            \
      MQ_RCP(MQ_CONNACK) | MQ_RCP(MQ_DISCONNECT))                              \
    X(USE_ANOTHER_SERVER, 0x9C, "Use another server",                          \
      MQ_RCP(MQ_CONNACK) | MQ_RCP(MQ_DISCONNECT))                              \
    X(SERVER_MOVED, 0x9D, "Server moved",                                      \
      MQ_RCP(MQ_CONNACK) | MQ_RCP(MQ_DISCONNECT))                              \
    X(SHARED_SUBSCRIPTIONS_NOT_SUPPORTED, 0x9E,                                \
      "Shared Subscriptions not supported",                                    \
      MQ_RCP(MQ_SUBACK) | MQ_RCP(MQ_DISCONNECT))                               \
    X(CONNECTION_RATE_EXCEEDED, 0x9F, "Connection rate exceeded",              \
      MQ_RCP(MQ_CONNACK) | MQ_RCP(MQ_DISCONNECT))                              \
    X(MAXIMUM_CONNECT_TIME, 0xA0, "Maximum connect time",                      \
      MQ_RCP(MQ_DISCONNECT))                                                   \
    X(SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED, 0xA1,                            \
      "Subscription Identifiers not supported",                                \
      MQ_RCP(MQ_SUBACK) | MQ_RCP(MQ_DISCONNECT))                               \
    X(WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED, 0xA2,                              \
      "Wildcard Subscriptions not supported",                                  \
      MQ_RCP(MQ_SUBACK) | MQ_RCP(MQ_DISCONNECT))

enum mq_reason {
#define MQ_X_RC(name, value, text, packets) MQ_RC_##name = value,
    MQ_REASONS(MQ_X_RC)
#undef MQ_X_RC
};

/* Text of a reason code as the spec names it; for 0x00..0x02 the name used
 * in packet `type` (0 = the first entry).  "?" when unknown. */
const char *mq_reason_name(uint8_t code, int type);
/* True when MQTT 5 allows `code` in a packet of `type`. */
bool mq_reason_allowed(uint8_t code, int type);

/*
 * MQTT 3.1 / 3.1.1 CONNACK return codes (3.1.1 section 3.2.2.3).
 */
enum mq_connack_v3 {
    MQ_V3_ACCEPTED = 0,
    MQ_V3_BAD_PROTOCOL_VERSION = 1,
    MQ_V3_IDENTIFIER_REJECTED = 2,
    MQ_V3_SERVER_UNAVAILABLE = 3,
    MQ_V3_BAD_USERNAME_OR_PASSWORD = 4,
    MQ_V3_NOT_AUTHORIZED = 5,
};

/* The 3.x return code for an MQTT 5 CONNACK reason code: 0 and *v3 set, or
 * -1 when 3.x has no code for it (malformed packet, protocol error): the
 * server then closes without a CONNACK, as 3.1.1 section 4.8 says. */
int mq_connack_code_v3(uint8_t v5, uint8_t *v3);
/* The MQTT 5 reason code for a 3.x return code (0x80 for unknown ones). */
uint8_t mq_connack_code_v5(uint8_t v3);
/* The 3.1.1 SUBACK return code for an MQTT 5 SUBACK reason code: granted
 * QoS stays, every failure becomes 0x80. */
uint8_t mq_suback_code_v3(uint8_t v5);

/* The decoder result (see the contract at the top of this file). */
typedef struct mq_err {
    uint8_t reason;   /* MQTT 5 reason code for the failure */
    const char *what; /* static text, citing the rule where there is one */
} mq_err;

/* ---- UTF-8 (1.5.4) ----------------------------------------------------- */

enum {
    /* Also refuse U+0001..U+001F, U+007F..U+009F and the Unicode
     * non-characters, which 1.5.4 says a string SHOULD NOT contain and
     * which a receiver MAY treat as malformed. */
    MQ_UTF8_STRICT = 1,
};

/* 0 when s is well-formed UTF-8 without U+0000 and without surrogates
 * [MQTT-1.5.4-1] [MQTT-1.5.4-2]; SL_E_MALFORMED otherwise. */
int mq_utf8_check(sl_slice s, unsigned flags);

/* ---- topics (4.7, 4.8.2) ----------------------------------------------- */

/* 0 when name is a valid topic name: non-empty, no '+' or '#', valid
 * UTF-8, at most 65535 bytes; SL_E_MALFORMED otherwise. */
int mq_topic_name_check(sl_slice name);
/* 0 when filter is a valid topic filter: non-empty, '#' only as the whole
 * last level, '+' only as a whole level, valid UTF-8; SL_E_MALFORMED
 * otherwise.  "$share/..." is checked as an ordinary filter here. */
int mq_topic_filter_check(sl_slice filter);

/* A filter split as a shared subscription "$share/<group>/<filter>". */
typedef struct mq_share {
    sl_slice group;  /* the ShareName */
    sl_slice filter; /* the topic filter after it */
} mq_share;

/* 1 when filter starts with "$share/" and is a valid shared subscription
 * (group non-empty without '/', '+', '#' [MQTT-4.8.2-1] [MQTT-4.8.2-2],
 * followed by '/' and a valid filter), with *out filled; 0 when it is not a
 * shared subscription; SL_E_MALFORMED when it starts with "$share/" but is
 * not valid.  out may be NULL. */
int mq_topic_share_parse(sl_slice filter, mq_share *out);

/* True when topic name `name` matches topic filter `filter`.  Both are
 * assumed valid (checked above); the function stays in bounds on any
 * input.  '#' and '+' as the first level do not match names starting with
 * '$' [MQTT-4.7.2-1].  A shared filter must be split first. */
bool mq_topic_match(sl_slice filter, sl_slice name);

/* ---- properties (MQTT 5, 2.2.2) ---------------------------------------- */

#define MQ_PROPS(X)                                                            \
    X(PAYLOAD_FORMAT_INDICATOR, 0x01, BYTE)                                    \
    X(MESSAGE_EXPIRY_INTERVAL, 0x02, U32)                                      \
    X(CONTENT_TYPE, 0x03, STR)                                                 \
    X(RESPONSE_TOPIC, 0x08, STR)                                               \
    X(CORRELATION_DATA, 0x09, BIN)                                             \
    X(SUBSCRIPTION_IDENTIFIER, 0x0B, VARINT)                                   \
    X(SESSION_EXPIRY_INTERVAL, 0x11, U32)                                      \
    X(ASSIGNED_CLIENT_IDENTIFIER, 0x12, STR)                                   \
    X(SERVER_KEEP_ALIVE, 0x13, U16)                                            \
    X(AUTHENTICATION_METHOD, 0x15, STR)                                        \
    X(AUTHENTICATION_DATA, 0x16, BIN)                                          \
    X(REQUEST_PROBLEM_INFORMATION, 0x17, BYTE)                                 \
    X(WILL_DELAY_INTERVAL, 0x18, U32)                                          \
    X(REQUEST_RESPONSE_INFORMATION, 0x19, BYTE)                                \
    X(RESPONSE_INFORMATION, 0x1A, STR)                                         \
    X(SERVER_REFERENCE, 0x1C, STR)                                             \
    X(REASON_STRING, 0x1F, STR)                                                \
    X(RECEIVE_MAXIMUM, 0x21, U16)                                              \
    X(TOPIC_ALIAS_MAXIMUM, 0x22, U16)                                          \
    X(TOPIC_ALIAS, 0x23, U16)                                                  \
    X(MAXIMUM_QOS, 0x24, BYTE)                                                 \
    X(RETAIN_AVAILABLE, 0x25, BYTE)                                            \
    X(USER_PROPERTY, 0x26, PAIR)                                               \
    X(MAXIMUM_PACKET_SIZE, 0x27, U32)                                          \
    X(WILDCARD_SUBSCRIPTION_AVAILABLE, 0x28, BYTE)                             \
    X(SUBSCRIPTION_IDENTIFIER_AVAILABLE, 0x29, BYTE)                           \
    X(SHARED_SUBSCRIPTION_AVAILABLE, 0x2A, BYTE)

enum mq_prop_id {
#define MQ_X_PID(name, id, type) MQ_P_##name = id,
    MQ_PROPS(MQ_X_PID)
#undef MQ_X_PID
};

/* Property value types (1.5). */
enum mq_ptype {
    MQ_PT_NONE = 0, /* not a property identifier */
    MQ_PT_BYTE,
    MQ_PT_U16,
    MQ_PT_U32,
    MQ_PT_VARINT,
    MQ_PT_STR,
    MQ_PT_PAIR,
    MQ_PT_BIN,
};

/* Pseudo packet type for the Will Properties of a CONNECT. */
#define MQ_WILL 16

/* One property.  u holds BYTE/U16/U32/VARINT values; s holds STR and BIN
 * values and a PAIR's name; v a PAIR's value. */
typedef struct mq_prop {
    uint8_t id;
    uint32_t u;
    sl_slice s;
    sl_slice v;
} mq_prop;

/* A property list in wire order.  Decoders allocate v from the arena;
 * encoders read v (mq_packet_fit() may compact it in place). */
typedef struct mq_props {
    mq_prop *v;
    size_t n;
} mq_props;

/* The type of a property identifier (MQ_PT_NONE when unknown). */
int mq_prop_type(uint8_t id);
/* Name of a property ("Topic Alias"); "?" when unknown. */
const char *mq_prop_name(uint8_t id);
/* True when property `id` may appear in packet `type` (MQ_WILL for will
 * properties), per the table of 2.2.2.2. */
bool mq_prop_allowed(uint8_t id, int type);
/* True when property `id` may appear more than once in `type`: User
 * Property anywhere, Subscription Identifier in PUBLISH. */
bool mq_prop_repeatable(uint8_t id, int type);

/* The first property with this id, or NULL. */
const mq_prop *mq_props_find(const mq_props *ps, uint8_t id);
/* The integer value of property id: true and *v set when present. */
bool mq_props_get_u32(const mq_props *ps, uint8_t id, uint32_t *v);
/* The string/binary value of property id: true and *v set when present. */
bool mq_props_get_str(const mq_props *ps, uint8_t id, sl_slice *v);
/* Bytes the property block takes on the wire: the length varint + the
 * properties. */
size_t mq_props_size(const mq_props *ps);

/* ---- packets ----------------------------------------------------------- */

/* One framed packet: type and flags of the fixed header, body = the
 * variable header and payload (remaining length bytes), size = the whole
 * packet including the fixed header (what to consume from the stream). */
typedef struct mq_frame {
    uint8_t type;
    uint8_t flags;
    sl_slice body;
    size_t size;
} mq_frame;

typedef struct mq_will {
    uint8_t qos;
    bool retain;
    mq_props props; /* MQTT 5 only */
    sl_slice topic;
    sl_slice payload;
} mq_will;

typedef struct mq_connect {
    uint8_t version;     /* protocol level: 3, 4 or 5 */
    bool bridge;         /* level had bit 7 set (Mosquitto bridges, 3.x) */
    sl_slice proto_name; /* "MQIsdp" or "MQTT" */
    bool clean_start;    /* Clean Session in 3.x */
    uint16_t keep_alive; /* seconds, 0 = off */
    mq_props props;      /* MQTT 5 only */
    sl_slice client_id;  /* may be empty */
    bool will_flag;      /* will is valid when set */
    mq_will will;        /* */
    bool username_flag;  /* username is valid when set */
    sl_slice username;   /* */
    bool password_flag;  /* password is valid when set */
    sl_slice password;   /* binary */
} mq_connect;

typedef struct mq_connack {
    bool session_present;
    uint8_t code;   /* MQTT 5 reason code, or the 3.x return code */
    mq_props props; /* MQTT 5 only */
} mq_connack;

typedef struct mq_publish {
    bool dup;
    uint8_t qos;
    bool retain;
    sl_slice topic;     /* empty only in MQTT 5 with a Topic Alias */
    uint16_t packet_id; /* QoS > 0 only */
    mq_props props;     /* MQTT 5 only */
    sl_slice payload;
} mq_publish;

/* PUBACK, PUBREC, PUBREL, PUBCOMP. */
typedef struct mq_ack {
    uint16_t packet_id;
    uint8_t reason; /* MQTT 5; 0 in 3.x */
    mq_props props; /* MQTT 5 only */
} mq_ack;

/* Subscription options (3.8.3.1); in 3.x only qos is used. */
typedef struct mq_sub {
    sl_slice filter;
    uint8_t qos;
    bool no_local;
    bool retain_as_published;
    uint8_t retain_handling; /* 0, 1 or 2 */
} mq_sub;

typedef struct mq_subscribe {
    uint16_t packet_id;
    mq_props props; /* MQTT 5 only */
    mq_sub *subs;
    size_t n;
} mq_subscribe;

/* SUBACK and UNSUBACK (an UNSUBACK of 3.x has no codes: n == 0). */
typedef struct mq_suback {
    uint16_t packet_id;
    mq_props props; /* MQTT 5 only */
    uint8_t *codes;
    size_t n;
} mq_suback;

typedef struct mq_unsubscribe {
    uint16_t packet_id;
    mq_props props; /* MQTT 5 only */
    sl_slice *filters;
    size_t n;
} mq_unsubscribe;

/* DISCONNECT and AUTH (MQTT 5; a 3.x DISCONNECT has neither field). */
typedef struct mq_disconnect {
    uint8_t reason;
    mq_props props;
} mq_disconnect;

typedef struct mq_packet {
    uint8_t type; /* enum mq_type */
    union {
        mq_connect connect;
        mq_connack connack;
        mq_publish publish;
        mq_ack ack; /* PUBACK, PUBREC, PUBREL, PUBCOMP */
        mq_subscribe subscribe;
        mq_suback suback; /* SUBACK, UNSUBACK */
        mq_unsubscribe unsubscribe;
        mq_disconnect disconnect; /* DISCONNECT, AUTH */
    } u;
} mq_packet;

/* ---- framing ----------------------------------------------------------- */

/*
 * Find the packet at the start of buf.  0 with *f filled; SL_E_PARTIAL when
 * buf holds only part of it; SL_E_MALFORMED when the remaining length is
 * longer than 4 bytes or not in its shortest form [MQTT-1.5.5-1];
 * SL_E_TOOBIG when the whole packet would be larger than max_packet (0 =
 * MQ_MAX_PACKET) — reported as soon as the length is known, with f->type,
 * f->flags and f->size set, so the server can answer 0x95.  Checks neither
 * the type nor the flags: mq_packet_decode() does, knowing the version.
 */
int mq_frame_parse(sl_slice buf, uint32_t max_packet, mq_frame *f);

/*
 * Decode a framed packet for protocol `version` (MQ_V31/MQ_V311/MQ_V5;
 * ignored for CONNECT, whose version is the one in the packet).  Arrays
 * are allocated from a; views point into f->body.  Result contract at the
 * top of this file; err may be NULL.
 */
int mq_packet_decode(const mq_frame *f, int version, sl_arena *a,
                     mq_packet *out, mq_err *err);

/* Frame and decode in one call, for whole packets (tests, fuzzing). */
int mq_packet_parse(sl_slice buf, int version, sl_arena *a, mq_packet *out,
                    mq_err *err);

/* ---- encoders ----------------------------------------------------------
 * Each appends one whole packet to b.  0, -ENOMEM, or SL_E_INVAL (see the
 * top of this file).  version is the connection's; CONNECT takes its own.
 */
int mq_connect_encode(sl_buf *b, const mq_connect *c);
int mq_connack_encode(sl_buf *b, int version, const mq_connack *c);
int mq_publish_encode(sl_buf *b, int version, const mq_publish *p);
/* type is MQ_PUBACK, MQ_PUBREC, MQ_PUBREL or MQ_PUBCOMP.  In MQTT 5 the
 * short form (remaining length 2) is used for reason 0 without
 * properties. */
int mq_ack_encode(sl_buf *b, int version, int type, const mq_ack *a);
int mq_subscribe_encode(sl_buf *b, int version, const mq_subscribe *s);
int mq_suback_encode(sl_buf *b, int version, const mq_suback *s);
int mq_unsubscribe_encode(sl_buf *b, int version, const mq_unsubscribe *u);
int mq_unsuback_encode(sl_buf *b, int version, const mq_suback *s);
int mq_pingreq_encode(sl_buf *b);
int mq_pingresp_encode(sl_buf *b);
/* In MQTT 5, reason 0 without properties is sent as remaining length 0. */
int mq_disconnect_encode(sl_buf *b, int version, const mq_disconnect *d);
int mq_auth_encode(sl_buf *b, int version, const mq_disconnect *d);

/* Encode any decoded packet (dispatch on p->type). */
int mq_packet_encode(sl_buf *b, int version, const mq_packet *p);

/* The bytes mq_packet_encode() would append: 0 and *size, or SL_E_INVAL. */
int mq_packet_size(int version, const mq_packet *p, size_t *size);

/*
 * Make p fit the peer's Maximum Packet Size: when it is larger than
 * max_packet, drop the Reason String, then the User Properties, from p's
 * property list (compacting its array in place), as the spec allows and
 * requires [MQTT-3.1.2-25] [MQTT-3.4.2-2] and similar for every packet with
 * a reason string.  0 when p fits (now); SL_E_TOOBIG when it still does not
 * — a PUBLISH must then be discarded as if sent [MQTT-3.1.2-24].
 * Properties of a PUBLISH are never dropped (they are the application's).
 */
int mq_packet_fit(int version, mq_packet *p, uint32_t max_packet);

/* ---- PUBLISH helpers --------------------------------------------------- */

/* When the PUBLISH says its payload is UTF-8 (Payload Format Indicator 1),
 * check it: 0 when it is valid or not declared, SL_E_MALFORMED with reason
 * 0x99 (Payload format invalid) otherwise.  The decoder does not do this
 * itself, since the spec lets a receiver skip the cost (3.3.2.3.2). */
int mq_publish_payload_check(const mq_publish *p, mq_err *err);

#endif /* MQ_CODEC_H */
