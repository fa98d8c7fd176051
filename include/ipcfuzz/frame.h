/* ipcfuzz/frame.h — the length + CRC32C framing codec shared by the stream
 * transports (pipe, fifo, unix_stream) and fuzzed by the frame fuzz target.
 *
 * Wire format: a fixed 24-byte little-endian header followed by the payload.
 *
 *   offset size field
 *        0    4 magic    IPCF_FRAME_MAGIC (bytes 'I' 'P' 'C' 'F')
 *        4    2 version  IPCF_FRAME_VERSION
 *        6    2 flags    opaque to the codec, delivered to the receiver;
 *                        the low 8 bits are the frame "kind" (statistics only)
 *        8    4 length   payload length in bytes
 *       12    4 crc      CRC32C over the 24 header bytes with this field
 *                        zeroed, then over the payload
 *       16    8 seq      sender's sequence number (opaque to the codec)
 *       24    …  payload
 *
 * Decoding is streaming: feed any chunk size (1 byte .. many frames), get whole
 * frames only. The decoder never trusts the length field: it is checked against
 * the configured maximum before a single payload byte is buffered, and the
 * buffer (header + max payload) is allocated once at init and never grows.
 *
 * Errors and what they leave behind (ipcf_frame_decoder_poisoned()):
 *   -IPCF_EBADMAGIC  poisoned: the stream is not positioned on a frame boundary
 *                    (or was never a frame stream); nothing later can be located.
 *   -IPCF_EVERSION   poisoned: a future version may lay out the header
 *                    differently, so its length field cannot be interpreted.
 *   -IPCF_EOVERSIZE  poisoned: skipping the announced length would mean
 *                    trusting an unverified, already-rejected number.
 *   -IPCF_EBADCRC    RECOVERABLE, with caveats: the frame the header
 *                    announced (header + length bytes) has been consumed and
 *                    decoding goes on at the next position. What this does and
 *                    does not promise:
 *                    (1) Memory stays bounded: the length passed the
 *                        max-payload check before a payload byte was taken.
 *                    (2) If the corrupted field was the payload, seq or crc,
 *                        exactly one frame is dropped; the next frame decodes.
 *                    (3) If the LENGTH itself was corrupted (and still within
 *                        max_payload), the skip is wrong. Too short: the next
 *                        "header" starts inside the dropped payload. Too long:
 *                        the skip swallows the start of the following
 *                        frame(s) — on a live stream recv() first waits (and
 *                        times out) for bytes that are really later frames, up
 *                        to max_payload bytes. Either way the next header is
 *                        almost always misaligned and fails magic/version
 *                        (POISONED then, ~1 - 2^-32 per random position); a
 *                        skip that happens to land exactly on a later frame
 *                        boundary goes on silently after dropping SEVERAL
 *                        frames for one -IPCF_EBADCRC.
 *                    (4) A mis-skip that lands on bytes which form a valid
 *                        frame (a frame encoded INSIDE a payload) delivers it.
 *                        Against a hostile writer this grants nothing (it could
 *                        send that frame directly); against corruption in
 *                        transit it delivers a frame the writer never sent as a
 *                        frame. Callers that tunnel encoded frames in payloads
 *                        and cannot accept that must treat -IPCF_EBADCRC as
 *                        fatal (reset or close the stream).
 *                    So -IPCF_EBADCRC means "at least one frame lost"; the
 *                    sequence numbers show how many. tests/test_frame.c
 *                    (test_badcrc_corrupt_length_*) demonstrates each case.
 *   -IPCF_EPOISONED  returned by feed/finish on a poisoned decoder, which stays
 *                    poisoned until ipcf_frame_decoder_reset().
 *
 * Planted bugs (off by default, see targets/frame/README.md):
 *   frame_trust_length, frame_len_overflow, frame_crc_late.
 */
#ifndef IPCFUZZ_FRAME_H
#define IPCFUZZ_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ipcfuzz/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IPCF_FRAME_MAGIC       0x46435049u /* "IPCF" as little-endian bytes */
#define IPCF_FRAME_VERSION     1u
#define IPCF_FRAME_HEADER_SIZE 24u
/* Largest max_payload a decoder or channel accepts (bounds every allocation). */
#define IPCF_FRAME_PAYLOAD_LIMIT (64u << 20)
/* max_payload used when a caller passes 0. */
#define IPCF_FRAME_DEFAULT_MAX_PAYLOAD (1u << 20)
/* Frames are counted per kind (flags & 0xff) for kinds below this. */
#define IPCF_FRAME_KINDS 16u

/* One decoded frame. payload points into the decoder's buffer and is valid
 * until the next feed/reset/fini of that decoder (for a channel: until the next
 * recv/reopen/close). payload is non-NULL even when len == 0. */
struct ipcf_frame {
    uint64_t seq;
    uint16_t flags;
    uint32_t len;
    const uint8_t *payload;
};

/* CRC32C (Castagnoli, reflected polynomial 0x82F63B78), table driven.
 * Chainable: crc = ipcf_crc32c(0, a, n); crc = ipcf_crc32c(crc, b, m) equals
 * the CRC of a||b. ipcf_crc32c(0, "123456789", 9) == 0xE3069283. */
uint32_t ipcf_crc32c(uint32_t crc, const void *data, size_t len);

/* Bytes needed to encode a payload of payload_len bytes (header + payload). */
size_t ipcf_frame_encoded_size(size_t payload_len);

/* Encode one frame into buf[0..cap). payload may be NULL when len == 0.
 * Returns the encoded size (> 0), -ENOBUFS if cap is too small, -IPCF_EOVERSIZE
 * if len > IPCF_FRAME_PAYLOAD_LIMIT, -EINVAL for NULL buf / NULL payload with
 * len > 0. buf and payload must not overlap. */
IPCF_MUST_CHECK int ipcf_frame_encode(void *buf, size_t cap, uint64_t seq, uint16_t flags,
                                      const void *payload, size_t len);

/* Streaming decoder. Fields are readable (statistics, debugging) but only the
 * functions below modify them. */
struct ipcf_frame_decoder {
    uint8_t *buf;         /* header + max_payload bytes, allocated once at init */
    uint32_t *kind_count; /* IPCF_FRAME_KINDS counters (frames per flags kind) */
    size_t max_payload;   /* configured bound on a frame's length field */
    size_t have;          /* bytes of the current frame held in buf */
    size_t need;          /* bytes the current frame occupies: header size until
                             the header is parsed, then header + length */
    int state;            /* internal (IPCF__FD_*) */
    int error;            /* last error returned (0 if none); sticky when poisoned */
    uint64_t frames;      /* frames delivered */
    uint64_t bytes;       /* bytes consumed */
    uint64_t bad_frames;  /* frames dropped with -IPCF_EBADCRC */
    uint64_t kind_other;  /* frames whose kind >= IPCF_FRAME_KINDS */
};

/* Prepare d to accept frames with payloads up to max_payload bytes
 * (0 = IPCF_FRAME_DEFAULT_MAX_PAYLOAD). Allocates header + max_payload bytes
 * once. 0, -EINVAL (max_payload > IPCF_FRAME_PAYLOAD_LIMIT), -ENOMEM. */
IPCF_MUST_CHECK int ipcf_frame_decoder_init(struct ipcf_frame_decoder *d, size_t max_payload);

/* Free d's memory; d becomes all-zero (fini twice or on a zeroed d is fine). */
void ipcf_frame_decoder_fini(struct ipcf_frame_decoder *d);

/* Forget any partial frame and any error (including poison): the next byte fed
 * is taken as the start of a header. Counters are kept. */
void ipcf_frame_decoder_reset(struct ipcf_frame_decoder *d);

/* Feed up to len bytes. Consumes bytes until one frame completes, all bytes are
 * used, or an error occurs; *consumed (always set) says how many were used.
 *   1   a frame is ready in *out (valid until the next feed/reset/fini)
 *   0   all len bytes were consumed, no frame completed yet
 *   <0  -IPCF_EBADMAGIC / -IPCF_EVERSION / -IPCF_EOVERSIZE (poisoned; *consumed
 *       covers the header bytes that were examined), -IPCF_EBADCRC (recoverable;
 *       the bad frame is consumed), -IPCF_EPOISONED (*consumed == 0),
 *       -EINVAL (NULL d, uninitialised d, or NULL data with len > 0).
 * With len > 0 a return of 0 or 1 always consumes at least one byte, so the
 * caller loop `while (len) { rc = feed(...); p += used; len -= used; ... }`
 * always terminates. */
IPCF_MUST_CHECK int ipcf_frame_decoder_feed(struct ipcf_frame_decoder *d, const void *data,
                                            size_t len, size_t *consumed, struct ipcf_frame *out);

/* Bytes the decoder still needs to finish the header (if not parsed yet) or the
 * current frame: reading exactly this many never reads past a frame boundary.
 * 0 when poisoned. */
size_t ipcf_frame_decoder_want(const struct ipcf_frame_decoder *d);

/* Bytes of an incomplete frame currently held (0 on a frame boundary). */
size_t ipcf_frame_decoder_buffered(const struct ipcf_frame_decoder *d);

/* End of stream: 0 if on a frame boundary, -IPCF_ETRUNCATED if a partial frame
 * is held (it is discarded and the decoder returns to a boundary),
 * -IPCF_EPOISONED if poisoned. */
IPCF_MUST_CHECK int ipcf_frame_decoder_finish(struct ipcf_frame_decoder *d);

/* True after a poisoning error, until ipcf_frame_decoder_reset(). */
bool ipcf_frame_decoder_poisoned(const struct ipcf_frame_decoder *d);

/* Check every internal invariant (have <= need <= header + max_payload, state
 * consistent with have/need, buffers present, poisoned <=> sticky error).
 * 0, or -IPCF_ECORRUPT. Fuzz targets call it after every input. */
IPCF_MUST_CHECK int ipcf_frame_decoder_validate(const struct ipcf_frame_decoder *d);

#ifdef __cplusplus
}
#endif
#endif
