/*
 * mq_utf8.c — the UTF-8 rules of MQTT (1.5.4; 3.1.1 section 1.5.3).
 *
 * A UTF-8 Encoded String must be well-formed UTF-8 as RFC 3629 defines
 * it: no overlong forms, nothing above U+10FFFF, and in particular no
 * encoded surrogates U+D800..U+DFFF [MQTT-1.5.4-1]; it must not contain
 * U+0000 [MQTT-1.5.4-2].  Either is a Malformed Packet.  The spec adds
 * that strings SHOULD NOT contain the control characters U+0001..U+001F
 * and U+007F..U+009F or Unicode non-characters, and that a receiver MAY
 * refuse them; MQ_UTF8_STRICT turns that on.  A BOM (U+FEFF) is a normal
 * character and is not stripped [MQTT-1.5.4-3].
 */
#include "mq_codec_impl.h"

static bool
noncharacter(uint32_t cp)
{
    return (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
}

static bool
control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

int
mq_utf8_check(sl_slice s, unsigned flags)
{
    bool strict = (flags & MQ_UTF8_STRICT) != 0;
    size_t i = 0;
    while (i < s.n) {
        uint8_t c = s.p[i];
        uint32_t cp;
        size_t len;
        /* The second byte's range excludes overlong forms, surrogates
         * (after 0xED) and values above U+10FFFF (after 0xF4), the table
         * of RFC 3629 section 4. */
        uint8_t lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            if (c == 0 || (strict && control(c)))
                return SL_E_MALFORMED;
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else {
            return SL_E_MALFORMED;
        }
        if (s.n - i < len)
            return SL_E_MALFORMED;
        if (s.p[i + 1] < lo || s.p[i + 1] > hi)
            return SL_E_MALFORMED;
        for (size_t k = 1; k < len; k++) {
            uint8_t cc = s.p[i + k];
            if ((cc & 0xC0) != 0x80)
                return SL_E_MALFORMED;
            cp = cp << 6 | (cc & 0x3F);
        }
        if (strict && (control(cp) || noncharacter(cp)))
            return SL_E_MALFORMED;
        i += len;
    }
    return 0;
}
