/* channel.c — the transport-independent half of a framed stream channel (see
 * ipcfuzz/channel.h): encode + write-whole on send, read + decode on recv,
 * sticky end-of-stream / poison states, reopen and close.
 *
 * recv() reads exactly what the decoder still needs (ipcf_frame_decoder_want),
 * so it never reads past the end of the current frame: nothing beyond one
 * frame is ever held in user space, and a receiver that stops (or dies) between
 * frames leaves every later byte in the kernel for whoever reads next.
 * A timeout keeps the partial frame in the decoder; the next recv() resumes it.
 *
 * Retrying is not done here. The transports' ops go through the io helpers
 * (ipcfuzz/io.h), the one place in the tree that retries EINTR, EAGAIN and
 * short transfers; an op's result is final. A second retry loop here would
 * hide a broken helper (the planted io_no_eintr_retry bug must stay visible
 * through the channel). What this layer does check is that an op does not
 * claim more bytes than it was given (-EIO: never fed to the decoder, never
 * counted as sent), so a user-written transport cannot overrun the buffers.
 *
 * Fault points (IPCF_POINT, plans name them point=<transport>.<step>):
 *   <t>.send.begin    the frame is encoded, nothing written yet
 *   <t>.send.done     the whole frame is in the kernel, send() not returned yet
 *                     (dying here leaves the frame "in doubt" for the ledger)
 *   <t>.recv.header   a frame's header is decoded, its payload still unread:
 *                     dying here leaves the stream mid-frame for the next reader
 *   <t>.recv.decoded  a whole, verified frame is about to be returned
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipcfuzz/channel.h"
#include "ipcfuzz/faults.h"

#define RX_CHUNK (64u * 1024u)

int ipcf_channel_init(struct ipcf_channel *ch, const struct ipcf_channel_ops *ops, int fd,
                      unsigned flags, size_t max_payload)
{
    int rc;

    if (!ch || !ops || !ops->read || !ops->write || fd < 0 ||
        (flags & ~(IPCF_CH_READ | IPCF_CH_WRITE)) || !(flags & (IPCF_CH_READ | IPCF_CH_WRITE))) {
        if (fd >= 0)
            (void)ipcf_io_close(fd);
        if (ch) {
            memset(ch, 0, sizeof(*ch));
            ch->fd = -1;
        }
        return -EINVAL;
    }
    memset(ch, 0, sizeof(*ch));
    ch->ops = ops;
    ch->fd = fd;
    ch->flags = flags;
    if (max_payload == 0)
        max_payload = IPCF_FRAME_DEFAULT_MAX_PAYLOAD;
    if (max_payload > IPCF_FRAME_PAYLOAD_LIMIT) {
        rc = -EINVAL;
        goto fail;
    }
    ch->max_payload = max_payload;
    rc = ipcf_io_set_nonblock(fd, true);
    if (rc < 0)
        goto fail;
    if (flags & IPCF_CH_READ) {
        rc = ipcf_frame_decoder_init(&ch->dec, max_payload);
        if (rc < 0)
            goto fail;
        ch->rxcap = ipcf_frame_encoded_size(max_payload);
        if (ch->rxcap > RX_CHUNK)
            ch->rxcap = RX_CHUNK;
        ch->rxbuf = malloc(ch->rxcap);
        if (!ch->rxbuf) {
            rc = -ENOMEM;
            goto fail;
        }
    }
    if (flags & IPCF_CH_WRITE) {
        ch->txbuf = malloc(ipcf_frame_encoded_size(max_payload));
        if (!ch->txbuf) {
            rc = -ENOMEM;
            goto fail;
        }
    }
    return 0;
fail:
    ch->ops = NULL; /* no transport release: the caller still owns its names */
    (void)ipcf_channel_close(ch);
    (void)ipcf_io_close(fd);
    return rc;
}

/* IPCF_POINT("<transport>.<step>") when points are compiled in. */
static void point(const struct ipcf_channel *ch, const char *step)
{
#ifdef IPCF_POINTS
    char name[64];
    snprintf(name, sizeof(name), "%s.%s", ch->ops && ch->ops->name ? ch->ops->name : "channel",
             step);
    IPCF_POINT(name);
#else
    (void)ch;
    (void)step;
#endif
}

int ipcf_channel_send_flags(struct ipcf_channel *ch, uint64_t seq, uint16_t flags,
                            const void *payload, size_t len, int timeout_ms)
{
    if (!ch || !ch->ops || ch->fd < 0 || !(ch->flags & IPCF_CH_WRITE))
        return -EBADF;
    if (timeout_ms < 0 || (!payload && len))
        return -EINVAL;
    if (ch->tx_error)
        return ch->tx_error;
    if (len > ch->max_payload)
        return -IPCF_EOVERSIZE;
    struct ipcf_deadline dl = ipcf_deadline_in(timeout_ms);
    int n = ipcf_frame_encode(ch->txbuf, ipcf_frame_encoded_size(ch->max_payload), seq, flags,
                              payload, len);
    if (n < 0)
        return n;
    /* One write for the whole frame: a frame of at most PIPE_BUF bytes is
     * atomic on pipes/FIFOs (unless a fault shortens the write(); then the
     * rest follows, which is still correct with one writer per stream). */
    size_t done = 0;
    point(ch, "send.begin");
    int rc = ch->ops->write(ch, ch->txbuf, (size_t)n, &done, &dl);
    if (done > (size_t)n) { /* a broken op: do not trust any of it */
        rc = -EIO;
        done = (size_t)n;
    } else if (rc == 0 && done < (size_t)n) {
        rc = -EIO; /* an op must write everything or fail */
    }
    if (rc < 0) {
        if (done > 0) /* a torn frame is in the stream: never append to it */
            ch->tx_error = -IPCF_EPOISONED;
        return rc;
    }
    point(ch, "send.done");
    ch->tx_frames++;
    ch->tx_last_seq = seq;
    return 0;
}

int ipcf_channel_send(struct ipcf_channel *ch, uint64_t seq, const void *payload, size_t len,
                      int timeout_ms)
{
    return ipcf_channel_send_flags(ch, seq, 0, payload, len, timeout_ms);
}

int ipcf_channel_recv(struct ipcf_channel *ch, struct ipcf_frame *out, int timeout_ms)
{
    if (!ch || !ch->ops || ch->fd < 0 || !(ch->flags & IPCF_CH_READ))
        return -EBADF;
    if (!out || timeout_ms < 0)
        return -EINVAL;
    if (ch->rx_error)
        return ch->rx_error;
    struct ipcf_deadline dl = ipcf_deadline_in(timeout_ms);
    for (;;) {
        size_t want = ipcf_frame_decoder_want(&ch->dec);
        if (want == 0) /* poisoned; rx_error would have caught it */
            return -IPCF_EPOISONED;
        if (want > ch->rxcap)
            want = ch->rxcap;
        ssize_t n = ch->ops->read(ch, ch->rxbuf, want, &dl);
        if (n == 0 || n == -ECONNRESET) {
            /* End of stream. ECONNRESET (a socket peer that died or closed
             * with unread data) ends the stream the same way. */
            int rc = ipcf_frame_decoder_finish(&ch->dec);
            ch->rx_error = -IPCF_ECLOSED;
            return rc == -IPCF_ETRUNCATED ? rc : -IPCF_ECLOSED;
        }
        if (n < 0)
            return (int)n;
        if ((size_t)n > want) /* a broken op: rxbuf holds at most want bytes */
            return -EIO;
        bool had_header = ipcf_frame_decoder_buffered(&ch->dec) >= IPCF_FRAME_HEADER_SIZE;
        size_t used = 0;
        int rc = ipcf_frame_decoder_feed(&ch->dec, ch->rxbuf, (size_t)n, &used, out);
        if (rc == 1) {
            point(ch, "recv.decoded");
            ch->rx_frames++;
            ch->rx_last_seq = out->seq;
            return 0;
        }
        if (rc < 0) {
            if (ipcf_frame_decoder_poisoned(&ch->dec))
                ch->rx_error = -IPCF_EPOISONED;
            return rc;
        }
        if (!had_header && ipcf_frame_decoder_buffered(&ch->dec) >= IPCF_FRAME_HEADER_SIZE)
            point(ch, "recv.header");
    }
}

int ipcf_channel_reopen(struct ipcf_channel *ch, int timeout_ms)
{
    if (!ch || !ch->ops)
        return -EBADF;
    if (timeout_ms < 0)
        return -EINVAL;
    if (!ch->ops->reopen)
        return -ENOTSUP;
    struct ipcf_deadline dl = ipcf_deadline_in(timeout_ms);
    int rc = ch->ops->reopen(ch, &dl);
    if (rc < 0)
        return rc;
    if (ch->flags & IPCF_CH_READ)
        ipcf_frame_decoder_reset(&ch->dec);
    ch->rx_error = 0;
    ch->tx_error = 0;
    return 0;
}

int ipcf_channel_close(struct ipcf_channel *ch)
{
    int rc = 0;
    if (!ch)
        return 0;
    if (ch->ops) {
        if (ch->ops->release)
            rc = ch->ops->release(ch);
        int r = ipcf_io_close(ch->fd);
        if (r < 0 && rc == 0)
            rc = r;
    }
    ipcf_frame_decoder_fini(&ch->dec);
    free(ch->rxbuf);
    free(ch->txbuf);
    memset(ch, 0, sizeof(*ch));
    ch->fd = -1;
    return rc;
}

void ipcf_channel_disown(struct ipcf_channel *ch)
{
    if (ch)
        ch->owner = 0;
}

int ipcf_channel_fd(const struct ipcf_channel *ch)
{
    return ch && ch->ops ? ch->fd : -1;
}
