/* frame.c — frame encoder and streaming decoder (see ipcfuzz/frame.h for the
 * wire format and the error/poison rules).
 *
 * The decoder is a two-state machine over one buffer allocated at init:
 *   HEADER   need == HEADER_SIZE; bytes are copied until the header is whole,
 *            then magic, version and the length bound are checked BEFORE any
 *            payload byte is accepted. need becomes HEADER_SIZE + length.
 *   PAYLOAD  bytes are copied until have == need, then the CRC is checked and
 *            the frame is delivered (or dropped with -IPCF_EBADCRC).
 *   POISONED after a header error; every feed returns -IPCF_EPOISONED.
 * feed() never copies more than need - have bytes, and need never exceeds
 * HEADER_SIZE + max_payload (the buffer size), so memory is bounded no matter
 * what the stream says. Three planted bugs break exactly these rules.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipcfuzz/bugs.h"
#include "ipcfuzz/frame.h"

IPCF_BUG_DEFINE(frame_trust_length,
                "decoder buffers the payload trusting the header length (no max check)");
IPCF_BUG_DEFINE(frame_len_overflow,
                "decoder bound check in 32-bit arithmetic wraps for huge lengths");
IPCF_BUG_DEFINE(frame_crc_late,
                "decoder indexes its per-kind table with the unverified kind before the CRC");

enum { IPCF__FD_HEADER = 1, IPCF__FD_PAYLOAD = 2, IPCF__FD_POISONED = 3 };

#define HDR         ((size_t)IPCF_FRAME_HEADER_SIZE)
#define OFF_MAGIC   0
#define OFF_VERSION 4
#define OFF_FLAGS   6
#define OFF_LEN     8
#define OFF_CRC     12
#define OFF_SEQ     16

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32);
}

/* CRC of a header (crc field taken as zero) followed by the payload. */
static uint32_t frame_crc(const uint8_t *hdr, const uint8_t *payload, size_t len)
{
    static const uint8_t zero[4];
    uint32_t c = ipcf_crc32c(0, hdr, OFF_CRC);
    c = ipcf_crc32c(c, zero, sizeof(zero));
    c = ipcf_crc32c(c, hdr + OFF_SEQ, HDR - OFF_SEQ);
    return ipcf_crc32c(c, payload, len);
}

size_t ipcf_frame_encoded_size(size_t payload_len)
{
    /* Saturates instead of wrapping: a caller that allocates this many bytes
     * for a huge length fails to allocate rather than getting a tiny buffer. */
    return payload_len > SIZE_MAX - HDR ? SIZE_MAX : HDR + payload_len;
}

int ipcf_frame_encode(void *buf, size_t cap, uint64_t seq, uint16_t flags, const void *payload,
                      size_t len)
{
    if (!buf || (!payload && len))
        return -EINVAL;
    if (len > IPCF_FRAME_PAYLOAD_LIMIT)
        return -IPCF_EOVERSIZE;
    if (cap < HDR + len)
        return -ENOBUFS;
    uint8_t *p = buf;
    put32(p + OFF_MAGIC, IPCF_FRAME_MAGIC);
    put16(p + OFF_VERSION, IPCF_FRAME_VERSION);
    put16(p + OFF_FLAGS, flags);
    put32(p + OFF_LEN, (uint32_t)len);
    put32(p + OFF_CRC, 0);
    put64(p + OFF_SEQ, seq);
    if (len)
        memcpy(p + HDR, payload, len);
    put32(p + OFF_CRC, frame_crc(p, p + HDR, len));
    return (int)(HDR + len);
}

int ipcf_frame_decoder_init(struct ipcf_frame_decoder *d, size_t max_payload)
{
    if (!d)
        return -EINVAL;
    memset(d, 0, sizeof(*d));
    if (max_payload == 0)
        max_payload = IPCF_FRAME_DEFAULT_MAX_PAYLOAD;
    if (max_payload > IPCF_FRAME_PAYLOAD_LIMIT)
        return -EINVAL;
    d->buf = malloc(HDR + max_payload);
    d->kind_count = calloc(IPCF_FRAME_KINDS, sizeof(*d->kind_count));
    if (!d->buf || !d->kind_count) {
        ipcf_frame_decoder_fini(d);
        return -ENOMEM;
    }
    d->max_payload = max_payload;
    d->state = IPCF__FD_HEADER;
    d->need = HDR;
    return 0;
}

void ipcf_frame_decoder_fini(struct ipcf_frame_decoder *d)
{
    if (!d)
        return;
    free(d->buf);
    free(d->kind_count);
    memset(d, 0, sizeof(*d));
}

void ipcf_frame_decoder_reset(struct ipcf_frame_decoder *d)
{
    if (!d || !d->buf)
        return;
    d->state = IPCF__FD_HEADER;
    d->have = 0;
    d->need = HDR;
    d->error = 0;
}

static int poison(struct ipcf_frame_decoder *d, int err)
{
    d->state = IPCF__FD_POISONED;
    d->error = err;
    return err;
}

/* The header is whole in buf: check it and set need, or poison. */
static int parse_header(struct ipcf_frame_decoder *d)
{
    const uint8_t *h = d->buf;
    if (get32(h + OFF_MAGIC) != IPCF_FRAME_MAGIC)
        return poison(d, -IPCF_EBADMAGIC);
    if (get16(h + OFF_VERSION) != IPCF_FRAME_VERSION)
        return poison(d, -IPCF_EVERSION);
    uint32_t len = get32(h + OFF_LEN);
    if (IPCF_BUG(frame_len_overflow)) {
        /* Planted: the sum wraps for len >= 2^32 - HDR, so a huge length
         * passes the check and the copy below runs off the buffer. */
        uint32_t total = (uint32_t)HDR + len;
        if (total > (uint32_t)(HDR + d->max_payload))
            return poison(d, -IPCF_EOVERSIZE);
    } else if (IPCF_BUG(frame_trust_length)) {
        /* Planted: no bound check at all. */
    } else if ((size_t)len > d->max_payload) {
        return poison(d, -IPCF_EOVERSIZE);
    }
    d->need = HDR + (size_t)len;
    d->state = IPCF__FD_PAYLOAD;
    return 0;
}

/* The frame is whole in buf: verify and deliver it; back to HEADER state. */
static int complete_frame(struct ipcf_frame_decoder *d, struct ipcf_frame *out)
{
    const uint8_t *h = d->buf;
    size_t len = d->need - HDR;
    uint16_t flags = get16(h + OFF_FLAGS);
    unsigned kind = flags & 0xffu;
    int rc = 1;

    d->state = IPCF__FD_HEADER;
    d->have = 0;
    d->need = HDR;
    if (IPCF_BUG(frame_crc_late))
        d->kind_count[kind]++; /* planted: unverified, unchecked index */
    if (frame_crc(h, h + HDR, len) != get32(h + OFF_CRC)) {
        d->bad_frames++;
        d->error = -IPCF_EBADCRC;
        return -IPCF_EBADCRC;
    }
    if (!IPCF_BUG(frame_crc_late)) {
        if (kind < IPCF_FRAME_KINDS)
            d->kind_count[kind]++;
        else
            d->kind_other++;
    }
    d->frames++;
    d->error = 0;
    if (out) {
        out->seq = get64(h + OFF_SEQ);
        out->flags = flags;
        out->len = (uint32_t)len;
        out->payload = h + HDR;
    }
    return rc;
}

int ipcf_frame_decoder_feed(struct ipcf_frame_decoder *d, const void *data, size_t len,
                            size_t *consumed, struct ipcf_frame *out)
{
    const uint8_t *p = data;
    size_t used = 0;
    int rc = 0;

    if (consumed)
        *consumed = 0;
    if (!d || !d->buf || (!data && len))
        return -EINVAL;
    if (d->state == IPCF__FD_POISONED)
        return -IPCF_EPOISONED;
    while (used < len) {
        size_t take = d->need - d->have;
        if (take > len - used)
            take = len - used;
        memcpy(d->buf + d->have, p + used, take);
        d->have += take;
        used += take;
        if (d->have < d->need)
            break; /* all input used */
        if (d->state == IPCF__FD_HEADER) {
            rc = parse_header(d);
            if (rc < 0)
                break;
            if (d->have < d->need)
                continue; /* payload follows */
        }
        rc = complete_frame(d, out);
        break;
    }
    d->bytes += used;
    if (consumed)
        *consumed = used;
    return rc;
}

size_t ipcf_frame_decoder_want(const struct ipcf_frame_decoder *d)
{
    if (!d || !d->buf || d->state == IPCF__FD_POISONED)
        return 0;
    return d->need - d->have;
}

size_t ipcf_frame_decoder_buffered(const struct ipcf_frame_decoder *d)
{
    if (!d || d->state == IPCF__FD_POISONED)
        return 0;
    return d->have;
}

int ipcf_frame_decoder_finish(struct ipcf_frame_decoder *d)
{
    if (!d || !d->buf)
        return -EINVAL;
    if (d->state == IPCF__FD_POISONED)
        return -IPCF_EPOISONED;
    if (d->have == 0 && d->state == IPCF__FD_HEADER)
        return 0;
    d->state = IPCF__FD_HEADER;
    d->have = 0;
    d->need = HDR;
    return -IPCF_ETRUNCATED;
}

bool ipcf_frame_decoder_poisoned(const struct ipcf_frame_decoder *d)
{
    return d && d->state == IPCF__FD_POISONED;
}

int ipcf_frame_decoder_validate(const struct ipcf_frame_decoder *d)
{
    if (!d || !d->buf || !d->kind_count)
        return -IPCF_ECORRUPT;
    if (d->max_payload == 0 || d->max_payload > IPCF_FRAME_PAYLOAD_LIMIT)
        return -IPCF_ECORRUPT;
    if (d->need > HDR + d->max_payload || d->have > d->need)
        return -IPCF_ECORRUPT;
    switch (d->state) {
    case IPCF__FD_HEADER:
        if (d->need != HDR || d->have >= HDR)
            return -IPCF_ECORRUPT;
        if (d->error != 0 && d->error != -IPCF_EBADCRC)
            return -IPCF_ECORRUPT;
        break;
    case IPCF__FD_PAYLOAD:
        /* A zero-length payload completes with its header, so a frame in
         * PAYLOAD state always has at least one payload byte to come. */
        if (d->have < HDR || d->need <= HDR || d->have >= d->need)
            return -IPCF_ECORRUPT;
        if (d->error != 0 && d->error != -IPCF_EBADCRC)
            return -IPCF_ECORRUPT;
        /* The buffered header is the one that was checked: it must still
         * say what need says, and be a header the checks accepted. */
        if (get32(d->buf + OFF_MAGIC) != IPCF_FRAME_MAGIC ||
            get16(d->buf + OFF_VERSION) != IPCF_FRAME_VERSION ||
            (size_t)get32(d->buf + OFF_LEN) != d->need - HDR)
            return -IPCF_ECORRUPT;
        break;
    case IPCF__FD_POISONED:
        if (d->error != -IPCF_EBADMAGIC && d->error != -IPCF_EVERSION &&
            d->error != -IPCF_EOVERSIZE)
            return -IPCF_ECORRUPT;
        break;
    default:
        return -IPCF_ECORRUPT;
    }
    /* Accounting: every delivered or dropped frame consumed at least a header,
     * and the bytes of the current partial frame were counted too. */
    if (d->state != IPCF__FD_POISONED) {
        if (d->have > d->bytes || (d->bytes - d->have) / HDR < d->frames + d->bad_frames)
            return -IPCF_ECORRUPT;
    }
    /* Only verified frames are counted by kind (modulo the 32-bit counters). */
    uint64_t kinds = d->kind_other;
    for (unsigned k = 0; k < IPCF_FRAME_KINDS; k++)
        kinds += d->kind_count[k];
    if ((uint32_t)kinds != (uint32_t)d->frames)
        return -IPCF_ECORRUPT;
    return 0;
}
