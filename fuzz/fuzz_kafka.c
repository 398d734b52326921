/*
 * fuzz_kafka.c — libFuzzer harness for the Kafka wire codec (kf_codec).
 *
 * The input is a connection's receive buffer: kf_frame_next() takes frames
 * off it one by one (as the frontend will), each frame goes through
 * kf_req_hdr_decode() and, for a supported API and version, through the
 * request decoder with a bounded arena.  The same body is also offered to
 * the response decoder of that API and version, since the client side of
 * the codec (tests, the benchmark client) parses broker bytes too.  When
 * the buffer holds no whole frame, the input is tried as one frame without
 * its size prefix, so that mutations need not keep the prefix consistent.
 *
 * For everything that decodes:
 *   - the header re-encodes and decodes to the same values;
 *   - the message re-encodes, decodes again, and kf_msg_equal() must hold
 *     between the two decodes (every field that exists at that version);
 *   - encoding the second decode gives the same bytes as encoding the
 *     first (the encoding is a function of the values).
 * A violation is our bug and abort()s; input that is merely invalid is
 * never a finding.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kf_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ARENA_BYTES (1u << 20)
#define MAX_FRAME   (1u << 20)
#define MAX_FRAMES  64

/* Read-write scratch for the decoders; a harness may keep such state. */
static uint8_t arena1[ARENA_BYTES], arena2[ARENA_BYTES];

typedef union msg_store {
    max_align_t align;
    uint8_t bytes[512];
} msg_store;

static void
check(int ok, const char *what, const kf_req_hdr *h, int dir)
{
    if (!ok) {
        fprintf(stderr, "fuzz_kafka: invariant violated: %s (%s v%d %s)\n",
                what, kf_api_name(h->api_key), h->api_version,
                dir == KF_REQ ? "request" : "response");
        abort();
    }
}

static void
roundtrip_body(const kf_req_hdr *h, int dir, sl_slice body)
{
    msg_store m1, m2;
    sl_arena a1, a2;
    sl_buf b1 = {0}, b2 = {0};

    check(kf_msg_size(h->api_key, dir) <= sizeof(msg_store), "struct size", h,
          dir);
    sl_arena_init(&a1, arena1, sizeof(arena1));
    if (kf_msg_decode(h->api_key, dir, h->api_version, body, &a1, &m1) != 0)
        return;
    check(kf_msg_encode(&b1, h->api_key, dir, h->api_version, &m1) == 0,
          "decoded message encodes", h, dir);
    sl_arena_init(&a2, arena2, sizeof(arena2));
    check(kf_msg_decode(h->api_key, dir, h->api_version,
                        sl_slice_make(b1.p, b1.n), &a2, &m2) == 0,
          "encoded message decodes", h, dir);
    check(kf_msg_equal(h->api_key, dir, h->api_version, &m1, &m2),
          "fields equal after round trip", h, dir);
    check(kf_msg_encode(&b2, h->api_key, dir, h->api_version, &m2) == 0,
          "second encode", h, dir);
    check(b1.n == b2.n && (b1.n == 0 || memcmp(b1.p, b2.p, b1.n) == 0),
          "encoding is a function of the values", h, dir);
    sl_buf_fini(&b1);
    sl_buf_fini(&b2);
}

static void
one_frame(sl_slice frame)
{
    kf_req_hdr h, h2;
    sl_slice body, body2;
    sl_buf b = {0};

    int rc = kf_req_hdr_decode(frame, &body, &h);
    if (rc != 0) {
        /* Whatever failed, the 8-byte prefix is reported when present. */
        if (frame.n >= 8 && rc != SL_E_MALFORMED)
            check(h.api_key == (int16_t)sl_get_u16be(frame.p) &&
                      h.correlation_id == (int32_t)sl_get_u32be(frame.p + 4),
                  "prefix reported on error", &h, KF_REQ);
        return;
    }
    check(kf_api_supported(h.api_key, h.api_version), "supported", &h, KF_REQ);

    /* Header round trip. */
    check(kf_req_hdr_encode(&b, &h) == 0, "header encodes", &h, KF_REQ);
    check(kf_req_hdr_decode(sl_slice_make(b.p, b.n), &body2, &h2) == 0 &&
              body2.n == 0,
          "header decodes", &h, KF_REQ);
    check(h2.api_key == h.api_key && h2.api_version == h.api_version &&
              h2.correlation_id == h.correlation_id &&
              h2.hdr_version == h.hdr_version &&
              h2.client_id.null == h.client_id.null &&
              (h.client_id.null || (h2.client_id.v.n == h.client_id.v.n &&
                                    (h.client_id.v.n == 0 ||
                                     memcmp(h2.client_id.v.p, h.client_id.v.p,
                                            h.client_id.v.n) == 0))),
          "header fields equal", &h, KF_REQ);
    sl_buf_fini(&b);

    roundtrip_body(&h, KF_REQ, body);
    roundtrip_body(&h, KF_RESP, body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_slice rest = sl_slice_make(data, size), frame;
    size_t used;
    int frames = 0;

    while (frames < MAX_FRAMES &&
           kf_frame_next(rest, MAX_FRAME, &frame, &used) == 0) {
        if (used > rest.n || frame.p != rest.p + 4 || frame.n + 4 != used) {
            fprintf(stderr, "fuzz_kafka: kf_frame_next bounds\n");
            abort();
        }
        one_frame(frame);
        rest = sl_slice_make(rest.p + used, rest.n - used);
        frames++;
    }
    if (frames == 0)
        one_frame(sl_slice_make(data, size));
    return 0;
}
