/*
 * mq_reason.c — MQTT 5 reason codes (2.4) and their mapping to the return
 * codes of MQTT 3.1 / 3.1.1.
 *
 * The table comes from MQ_REASONS in mq_codec.h: one entry per name, with
 * the set of packets allowed to carry the code.  Mapping to 3.x CONNACK
 * return codes (3.1.1 section 3.2.2.3), for a server that decided its
 * answer in MQTT 5 terms:
 *
 *   0x00                               -> 0 Connection Accepted
 *   0x84 Unsupported Protocol Version  -> 1 unacceptable protocol version
 *   0x85 Client Identifier not valid   -> 2 identifier rejected
 *   0x88, 0x89, 0x97, 0x9C, 0x9D, 0x9F,
 *   0x80, 0x83 (server-side trouble)   -> 3 Server unavailable
 *   0x86, 0x8C (credentials)           -> 4 bad user name or password
 *   0x87, 0x8A (not allowed, banned)   -> 5 not authorized
 *   0x81, 0x82, 0x90, 0x95, 0x99, 0x9A, 0x9B -> none: 3.1.1 has no code
 *      for a broken CONNECT; the server closes the connection instead
 *      (3.1.1 section 4.8)
 *
 * and back: 1..5 -> 0x84, 0x85, 0x88, 0x86, 0x87.
 */
#include "mq_codec_impl.h"

typedef struct reason_info {
    uint8_t code;
    uint32_t packets;
    const char *name;
} reason_info;

static const reason_info reasons[] = {
#define MQ_X_RC(name_, value, text, pk) {value, pk, text},
    MQ_REASONS(MQ_X_RC)
#undef MQ_X_RC
};

const char *
mq_reason_name(uint8_t code, int type)
{
    const char *any = "?";
    for (size_t i = SL_ARRAY_LEN(reasons); i-- > 0;) {
        if (reasons[i].code != code)
            continue;
        any = reasons[i].name; /* ends on the first entry with this code */
        if (type > 0 && type < 16 && (reasons[i].packets & MQ_RCP(type)))
            return reasons[i].name;
    }
    return any;
}

bool
mq_reason_allowed(uint8_t code, int type)
{
    if (type < 1 || type > 15)
        return false;
    for (size_t i = 0; i < SL_ARRAY_LEN(reasons); i++)
        if (reasons[i].code == code && (reasons[i].packets & MQ_RCP(type)))
            return true;
    return false;
}

int
mq_connack_code_v3(uint8_t v5, uint8_t *v3)
{
    switch (v5) {
    case MQ_RC_SUCCESS:
        *v3 = MQ_V3_ACCEPTED;
        return 0;
    case MQ_RC_UNSUPPORTED_PROTOCOL_VERSION:
        *v3 = MQ_V3_BAD_PROTOCOL_VERSION;
        return 0;
    case MQ_RC_CLIENT_IDENTIFIER_NOT_VALID:
        *v3 = MQ_V3_IDENTIFIER_REJECTED;
        return 0;
    case MQ_RC_UNSPECIFIED_ERROR:
    case MQ_RC_IMPLEMENTATION_SPECIFIC_ERROR:
    case MQ_RC_SERVER_UNAVAILABLE:
    case MQ_RC_SERVER_BUSY:
    case MQ_RC_QUOTA_EXCEEDED:
    case MQ_RC_USE_ANOTHER_SERVER:
    case MQ_RC_SERVER_MOVED:
    case MQ_RC_CONNECTION_RATE_EXCEEDED:
        *v3 = MQ_V3_SERVER_UNAVAILABLE;
        return 0;
    case MQ_RC_BAD_USER_NAME_OR_PASSWORD:
    case MQ_RC_BAD_AUTHENTICATION_METHOD:
        *v3 = MQ_V3_BAD_USERNAME_OR_PASSWORD;
        return 0;
    case MQ_RC_NOT_AUTHORIZED:
    case MQ_RC_BANNED:
        *v3 = MQ_V3_NOT_AUTHORIZED;
        return 0;
    default:
        return -1;
    }
}

uint8_t
mq_connack_code_v5(uint8_t v3)
{
    static const uint8_t map[] = {
        MQ_RC_SUCCESS,
        MQ_RC_UNSUPPORTED_PROTOCOL_VERSION,
        MQ_RC_CLIENT_IDENTIFIER_NOT_VALID,
        MQ_RC_SERVER_UNAVAILABLE,
        MQ_RC_BAD_USER_NAME_OR_PASSWORD,
        MQ_RC_NOT_AUTHORIZED,
    };
    return v3 < SL_ARRAY_LEN(map) ? map[v3] : MQ_RC_UNSPECIFIED_ERROR;
}

uint8_t
mq_suback_code_v3(uint8_t v5)
{
    return v5 <= 2 ? v5 : 0x80;
}
