/* frame_decode.c — fuzz target: the streaming frame decoder on hostile input,
 * fed in chunks whose sizes the input decides.
 *
 * Input layout (ipcfuzz/fuzz.h: decisions from the end, bytes from the front):
 *   decision  max_payload      range [1, 4096]
 *   repeat until the input is used up:
 *     decision  chunk          range [0, 64]; 0 = everything that is left
 *     bytes     chunk bytes    fed to the decoder (split further on results)
 *     after a poisoning error: decision "reset and go on" (bool), else stop
 *
 * Oracle, checked after every feed (any failure aborts):
 *   - ipcf_frame_decoder_validate() holds;
 *   - memory is bounded: the decoder's buffer never moves and
 *     need <= header + max_payload;
 *   - progress: a result of 0/1 with bytes offered consumes at least one;
 *     0 consumes everything offered; -IPCF_EPOISONED consumes nothing;
 *   - every delivered frame is byte for byte a well-formed encoding (correct
 *     magic, version, length, CRC) of what was delivered, and those bytes are
 *     exactly the last bytes the decoder consumed from the stream: the
 *     decoder cannot invent, alter or misplace a frame;
 *   - errors are only the documented codes, and poisoning is consistent with
 *     ipcf_frame_decoder_poisoned();
 *   - finish() reports -IPCF_ETRUNCATED exactly when a partial frame is held.
 * The planted bugs frame_trust_length, frame_len_overflow and frame_crc_late
 * each break one of these (or ASan's bounds); tests prove libFuzzer finds them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipcfuzz/frame.h"
#include "ipcfuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "frame_decode: oracle failed: %s (%s:%d)\n", #cond, __FILE__,          \
                    __LINE__);                                                                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_PAYLOAD_CAP 4096u

/* IPCF_FUZZ_VERBOSE=1 prints every feed result (for understanding a seed or a
 * crash input with frame_decode_replay). Read once. */
static int verbose = -1;
#define TRACE(...)                                                                                 \
    do {                                                                                           \
        if (verbose)                                                                               \
            fprintf(stderr, __VA_ARGS__);                                                          \
    } while (0)

static bool is_documented_error(int rc)
{
    return rc == -IPCF_EBADMAGIC || rc == -IPCF_EVERSION || rc == -IPCF_EOVERSIZE ||
           rc == -IPCF_EBADCRC || rc == -IPCF_EPOISONED;
}

/* The delivered frame must re-encode to exactly the consumed bytes that end at
 * stream[end]. */
static void check_frame(const struct ipcf_frame *f, size_t max_payload, const uint8_t *stream,
                        size_t end)
{
    static uint8_t enc[IPCF_FRAME_HEADER_SIZE + MAX_PAYLOAD_CAP];
    size_t total;
    int n;

    CHECK(f->payload != NULL);
    CHECK(f->len <= max_payload);
    total = ipcf_frame_encoded_size(f->len);
    CHECK(total <= end);
    n = ipcf_frame_encode(enc, sizeof(enc), f->seq, f->flags, f->payload, f->len);
    CHECK(n > 0 && (size_t)n == total);
    CHECK(memcmp(enc, stream + end - total, total) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ipcf_fuzz_input in;
    struct ipcf_frame_decoder d;
    size_t max_payload, pos = 0;
    const uint8_t *stream = data; /* the chunks are consecutive runs from the front */
    const uint8_t *buf0;
    bool stop = false;
    int rc;

    if (verbose < 0)
        verbose = getenv("IPCF_FUZZ_VERBOSE") != NULL;
    ipcf_fuzz_init(&in, data, size);
    max_payload = (size_t)ipcf_fuzz_range(&in, 1, MAX_PAYLOAD_CAP);
    if (ipcf_frame_decoder_init(&d, max_payload) != 0)
        return 0;
    buf0 = d.buf;
    TRACE("max_payload %zu\n", max_payload);
    CHECK(ipcf_frame_decoder_validate(&d) == 0);

    while (!stop && ipcf_fuzz_remaining(&in) > 0) {
        size_t want = (size_t)ipcf_fuzz_range(&in, 0, 64), len, off = 0;
        const uint8_t *chunk;

        chunk = ipcf_fuzz_bytes(&in, want ? want : ipcf_fuzz_remaining(&in), &len);
        CHECK(chunk == stream + pos);
        while (off < len) {
            struct ipcf_frame f;
            size_t used = (size_t)-1;

            rc = ipcf_frame_decoder_feed(&d, chunk + off, len - off, &used, &f);
            CHECK(used <= len - off);
            CHECK(ipcf_frame_decoder_validate(&d) == 0);
            CHECK(d.buf == buf0 && d.need <= IPCF_FRAME_HEADER_SIZE + max_payload);
            CHECK(d.have <= d.need);
            off += used;
            TRACE("feed %zu at %zu: rc %d used %zu\n", len - (off - used), pos + off - used, rc,
                  used);
            if (rc == 1) {
                CHECK(used > 0);
                check_frame(&f, max_payload, stream, pos + off);
                continue;
            }
            if (rc == 0) {
                CHECK(off == len);
                break;
            }
            CHECK(is_documented_error(rc));
            if (rc == -IPCF_EBADCRC) {
                CHECK(!ipcf_frame_decoder_poisoned(&d));
                continue;
            }
            CHECK(ipcf_frame_decoder_poisoned(&d));
            if (rc == -IPCF_EPOISONED)
                CHECK(used == 0);
            /* A poisoned decoder must stay poisoned until reset. */
            {
                size_t u2 = 1;
                struct ipcf_frame f2;
                if (off < len) {
                    CHECK(ipcf_frame_decoder_feed(&d, chunk + off, len - off, &u2, &f2) ==
                          -IPCF_EPOISONED);
                    CHECK(u2 == 0);
                }
            }
            if (ipcf_fuzz_bool(&in)) {
                ipcf_frame_decoder_reset(&d);
                CHECK(!ipcf_frame_decoder_poisoned(&d));
                CHECK(ipcf_frame_decoder_buffered(&d) == 0);
                CHECK(ipcf_frame_decoder_validate(&d) == 0);
            } else {
                stop = true;
                break;
            }
        }
        pos += len;
    }

    {
        bool poisoned = ipcf_frame_decoder_poisoned(&d);
        size_t held = ipcf_frame_decoder_buffered(&d);

        rc = ipcf_frame_decoder_finish(&d);
        TRACE("finish: rc %d\n", rc);
        if (poisoned)
            CHECK(rc == -IPCF_EPOISONED);
        else if (held)
            CHECK(rc == -IPCF_ETRUNCATED);
        else
            CHECK(rc == 0);
        CHECK(ipcf_frame_decoder_validate(&d) == 0);
    }
    ipcf_frame_decoder_fini(&d);
    return 0;
}
