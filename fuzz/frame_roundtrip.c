/* frame_roundtrip.c — differential fuzz target: encode frames the input
 * describes, decode the stream in chunks the input decides, and require that
 * exactly what went in comes out.
 *
 * Input layout (ipcfuzz/fuzz.h: decisions from the end, bytes from the front):
 *   decision  max_payload     range [0, 600]  (decoder bound)
 *   decision  frames          range [0, 8]
 *   per frame: decision seq (range [0, 2^16-1], spread over 64 bits),
 *              decision flags (range [0, 0xffff]),
 *              decision length range [0, 512], bytes payload (that many, fewer
 *              if the input runs out)
 *   then until the stream is consumed: decision chunk range [0, 64]
 *   (0 = all the rest; also what an exhausted input yields)
 *
 * Oracle: the encoder accepts every frame; the decoder, fed any chunking,
 * delivers the frames in order with identical seq, flags and payload, and
 * validate() holds after every feed. A frame longer than the decoder's bound
 * must be refused with -IPCF_EOVERSIZE at exactly that frame (all earlier
 * frames delivered, decoder poisoned); otherwise finish() returns 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipcfuzz/frame.h"
#include "ipcfuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "frame_roundtrip: oracle failed: %s (%s:%d)\n", #cond, __FILE__,       \
                    __LINE__);                                                                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_FRAMES 8
#define MAX_LEN    512

struct sent {
    uint64_t seq;
    uint16_t flags;
    const uint8_t *payload;
    size_t len;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t stream[MAX_FRAMES * (IPCF_FRAME_HEADER_SIZE + MAX_LEN)];
    struct ipcf_fuzz_input in;
    struct ipcf_frame_decoder d;
    struct sent sent[MAX_FRAMES];
    size_t max_payload, nframes, total = 0, pos = 0, got = 0, first_oversize;
    bool refused = false;

    ipcf_fuzz_init(&in, data, size);
    max_payload = (size_t)ipcf_fuzz_range(&in, 0, 600);
    if (max_payload == 0)
        max_payload = MAX_LEN; /* 0 would mean the 1 MiB default: keep it small */
    nframes = (size_t)ipcf_fuzz_range(&in, 0, MAX_FRAMES);
    first_oversize = nframes;
    for (size_t i = 0; i < nframes; i++) {
        struct sent *s = &sent[i];
        size_t want;
        int n;

        s->seq = ipcf_fuzz_range(&in, 0, 0xffff) * 0x9e3779b97f4a7c15ull;
        s->flags = (uint16_t)ipcf_fuzz_range(&in, 0, 0xffff);
        want = (size_t)ipcf_fuzz_range(&in, 0, MAX_LEN);
        s->payload = ipcf_fuzz_bytes(&in, want, &s->len);
        n = ipcf_frame_encode(stream + total, sizeof(stream) - total, s->seq, s->flags, s->payload,
                              s->len);
        CHECK(n > 0 && (size_t)n == ipcf_frame_encoded_size(s->len));
        total += (size_t)n;
        if (s->len > max_payload && first_oversize == nframes)
            first_oversize = i;
    }
    /* Too small a buffer is refused, never overrun. */
    if (nframes) {
        uint8_t small[IPCF_FRAME_HEADER_SIZE];
        CHECK(ipcf_frame_encode(small, sizeof(small) - 1, 0, 0, NULL, 0) == -ENOBUFS);
    }

    if (ipcf_frame_decoder_init(&d, max_payload) != 0)
        return 0;
    while (pos < total && !refused) {
        size_t chunk = (size_t)ipcf_fuzz_range(&in, 0, 64), off = 0;

        if (chunk == 0 || chunk > total - pos)
            chunk = total - pos;
        while (off < chunk) {
            struct ipcf_frame f;
            size_t used = 0;
            int rc = ipcf_frame_decoder_feed(&d, stream + pos + off, chunk - off, &used, &f);

            CHECK(ipcf_frame_decoder_validate(&d) == 0);
            CHECK(used <= chunk - off);
            off += used;
            if (rc == 0) {
                CHECK(off == chunk);
                break;
            }
            if (rc == 1) {
                CHECK(got < first_oversize);
                CHECK(f.seq == sent[got].seq && f.flags == sent[got].flags);
                CHECK(f.len == sent[got].len);
                CHECK(f.len == 0 || memcmp(f.payload, sent[got].payload, f.len) == 0);
                got++;
                continue;
            }
            /* The only acceptable error: the first oversize frame. */
            CHECK(rc == -IPCF_EOVERSIZE);
            CHECK(got == first_oversize);
            CHECK(ipcf_frame_decoder_poisoned(&d));
            refused = true;
            break;
        }
        pos += off;
    }
    if (!refused) {
        CHECK(got == nframes && first_oversize == nframes);
        CHECK(ipcf_frame_decoder_finish(&d) == 0);
    }
    ipcf_frame_decoder_fini(&d);
    return 0;
}
