/* ipcfuzz/channel.h — framed byte-stream channels: one small API implemented by
 * the pipe, fifo and unix_stream targets.
 *
 * A channel is a descriptor plus the frame codec (ipcfuzz/frame.h): send()
 * encodes one frame and writes it whole; recv() returns one whole, CRC-checked
 * frame or an error — a frame torn by the writer's death or close is NEVER
 * delivered. Every call is bounded by a timeout (>= 0 ms).
 *
 * Delivery contract of the three stream transports (details per transport in
 * targets/<name>/README.md): every frame whose send() returned 0 is delivered
 * once, intact and in order to a reader that keeps reading, as long as the
 * kernel object survives (bytes already in a pipe/FIFO/socket buffer survive the
 * WRITER's death); a frame whose send() did not return 0 is "in doubt": it is
 * delivered intact or not at all.
 *
 * recv() results:
 *   0                 *out holds a frame (payload valid until the next recv,
 *                     reopen or close of this channel)
 *   -IPCF_ECLOSED     end of stream on a frame boundary (peer closed or died
 *                     between frames). Sticky until reopen.
 *   -IPCF_ETRUNCATED  end of stream (or ECONNRESET) in the middle of a frame:
 *                     the partial frame is discarded. Returned once; later
 *                     recv()s return -IPCF_ECLOSED until reopen.
 *   -IPCF_ETIMEDOUT   nothing complete before the deadline. Not an error for the
 *                     stream: bytes of a partial frame are kept and the next
 *                     recv() continues it.
 *   -IPCF_EBADCRC     a frame failed its CRC and was dropped; the channel goes
 *                     on (see frame.h for why this is recoverable).
 *   -IPCF_EBADMAGIC / -IPCF_EVERSION / -IPCF_EOVERSIZE   the stream is
 *                     poisoned; later recv()s return -IPCF_EPOISONED.
 *   -EBADF            channel not open for reading.  -errno otherwise.
 *
 * send() results: 0 (the whole frame is in the kernel), -IPCF_EOVERSIZE
 * (len > max_payload), -EPIPE (no reader; the process survives: sockets use
 * MSG_NOSIGNAL, pipe/FIFO writes run under the io helpers' SIGPIPE guard),
 * -IPCF_ETIMEDOUT, -EBADF (not open for writing), -EIO (the transport op
 * claimed an impossible count), -errno. If a send fails after part of the
 * frame was written, the stream now holds a torn frame: the channel refuses
 * further sends with -IPCF_EPOISONED until reopen (the peer will see
 * -IPCF_ETRUNCATED). A frame of at most PIPE_BUF bytes (header included) is
 * written with one write(), so it is atomic on pipes and FIFOs — unless a
 * fault shortens that write(); the rest then follows in further writes, which
 * is correct with one writer per stream (the transports' rule).
 *
 * Transport ops are not trusted: -EINTR / -EAGAIN from an op are retried
 * within the deadline, a write op that stopped part-way is continued, and an
 * op claiming more bytes than it was given is -EIO (see targets/frame/channel.c).
 *
 * Names: a channel that created a persistent name (FIFO path, socket path)
 * removes it in close() — but only in the process that created it (the pid is
 * recorded), so a forked child that closes its inherited copy does not remove
 * the parent's name. ipcf_channel_disown() gives up the name explicitly.
 *
 * Typical use across fork (pipe):
 *   struct ipcf_channel rd, wr;
 *   IPCF_TRY(ipcf_pipe_open(&rd, &wr, 0));
 *   child:  ipcf_channel_close(&rd); ... ipcf_channel_send(&wr, ...); _exit
 *   parent: ipcf_channel_close(&wr); ... ipcf_channel_recv(&rd, &f, 1000);
 */
#ifndef IPCFUZZ_CHANNEL_H
#define IPCFUZZ_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "ipcfuzz/error.h"
#include "ipcfuzz/frame.h"
#include "ipcfuzz/io.h"
#include "ipcfuzz/names.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Channel flags (ipcf_fifo_open takes READ or WRITE, optionally CREATE). */
#define IPCF_CH_READ   0x1u /* this end receives */
#define IPCF_CH_WRITE  0x2u /* this end sends */
#define IPCF_CH_CREATE 0x4u /* fifo: create the name (adopting a stale one) and own it */

struct ipcf_channel;

/* Transport operations. A transport fills one static table; the generic code
 * (send/recv/reopen/close) calls it. Every op is bounded by dl and builds on
 * the io helpers (ipcfuzz/io.h), which absorb EINTR, EAGAIN and short
 * transfers: an op's result is final, the channel does not retry it. */
struct ipcf_channel_ops {
    const char *name; /* "pipe", "fifo", "unix_stream" */
    /* Read at most len (> 0) bytes: > 0 count, 0 end of stream, -errno /
     * -IPCF_ETIMEDOUT. */
    ssize_t (*read)(struct ipcf_channel *ch, void *buf, size_t len, const struct ipcf_deadline *dl);
    /* Write all len bytes; *done = bytes written. 0 or -errno/-IPCF_ETIMEDOUT. */
    int (*write)(struct ipcf_channel *ch, const void *buf, size_t len, size_t *done,
                 const struct ipcf_deadline *dl);
    /* Replace ch->fd with a fresh connection to the same name (NULL: the
     * transport cannot reopen, -ENOTSUP). Called with the old fd still open. */
    int (*reopen)(struct ipcf_channel *ch, const struct ipcf_deadline *dl);
    /* Transport part of close: remove the names this process owns. The
     * generic close closes ch->fd itself. 0 or -errno (first failure). */
    int (*release)(struct ipcf_channel *ch);
};

/* A channel end. Fields are public for reading (poll the fd, inspect sequence
 * numbers); change them only through the functions below. A zeroed struct with
 * fd == -1 is "closed"; close() on it is harmless. */
struct ipcf_channel {
    const struct ipcf_channel_ops *ops;
    int fd;                        /* data descriptor, O_NONBLOCK|O_CLOEXEC; -1 if none */
    unsigned flags;                /* IPCF_CH_READ / IPCF_CH_WRITE */
    size_t max_payload;            /* largest payload sent or accepted */
    struct ipcf_frame_decoder dec; /* receive side */
    uint8_t *rxbuf;                /* receive chunk buffer (rxcap bytes) */
    size_t rxcap;
    uint8_t *txbuf;           /* header + max_payload, send side */
    uint64_t tx_frames;       /* frames whose send() returned 0 */
    uint64_t tx_last_seq;     /* seq of the last frame sent whole */
    uint64_t rx_frames;       /* frames delivered by recv() */
    uint64_t rx_last_seq;     /* seq of the last frame delivered */
    int rx_error;             /* sticky receive state (0, -IPCF_ECLOSED, -IPCF_EPOISONED) */
    int tx_error;             /* sticky send state (0, -IPCF_EPOISONED) */
    pid_t owner;              /* pid that created `path` (removes it on close); 0 = none */
    char path[IPCF_NAME_MAX]; /* filesystem name used by this channel ("" = none) */
};

/* Set up ch around an open descriptor (for transports; takes ownership of fd
 * even on failure — it is closed then). flags: IPCF_CH_READ and/or
 * IPCF_CH_WRITE. max_payload 0 = IPCF_FRAME_DEFAULT_MAX_PAYLOAD. Allocates the
 * decoder/rx buffer (READ) and tx buffer (WRITE) once. Puts fd in O_NONBLOCK.
 * 0, -EINVAL, -ENOMEM, -errno. */
IPCF_MUST_CHECK int ipcf_channel_init(struct ipcf_channel *ch, const struct ipcf_channel_ops *ops,
                                      int fd, unsigned flags, size_t max_payload);

/* Send one frame (flags 0) with sequence number seq. See the header comment
 * for results. payload may be NULL when len == 0. */
IPCF_MUST_CHECK int ipcf_channel_send(struct ipcf_channel *ch, uint64_t seq, const void *payload,
                                      size_t len, int timeout_ms);

/* Same with explicit frame flags (delivered in ipcf_frame.flags). */
IPCF_MUST_CHECK int ipcf_channel_send_flags(struct ipcf_channel *ch, uint64_t seq, uint16_t flags,
                                            const void *payload, size_t len, int timeout_ms);

/* Receive one whole frame. See the header comment for results. */
IPCF_MUST_CHECK int ipcf_channel_recv(struct ipcf_channel *ch, struct ipcf_frame *out,
                                      int timeout_ms);

/* Reconnect to the same name after the peer died or closed (fifo: reopen the
 * path; unix_stream client: connect again). Resets the decoder and every sticky
 * error; counters are kept. -ENOTSUP for pipes and accepted sockets (accept a
 * new connection instead), -IPCF_ETIMEDOUT, -errno. On failure ch->fd is -1 and
 * only close() is valid. */
IPCF_MUST_CHECK int ipcf_channel_reopen(struct ipcf_channel *ch, int timeout_ms);

/* Close the descriptor, free buffers, and remove every persistent name this
 * channel created in this process. Idempotent. Returns 0 or the first -errno
 * (everything is released regardless). */
int ipcf_channel_close(struct ipcf_channel *ch);

/* This process no longer owns ch's name: close() will not remove it. */
void ipcf_channel_disown(struct ipcf_channel *ch);

/* The descriptor to poll (POLLIN to receive, POLLOUT to send); -1 if closed. */
int ipcf_channel_fd(const struct ipcf_channel *ch);

/* ---- pipe (targets/pipe) ------------------------------------------------- */

/* Create an anonymous pipe before fork: *rd receives, *wr sends. After fork
 * each process closes the end it does not use with ipcf_channel_close(). No
 * persistent name. 0 or -errno (nothing is left open on failure). */
IPCF_MUST_CHECK int ipcf_pipe_open(struct ipcf_channel *rd, struct ipcf_channel *wr,
                                   size_t max_payload);

/* ---- fifo (targets/fifo) ------------------------------------------------- */

/* Open the FIFO ipcf_name_path(tag) for exactly one of IPCF_CH_READ or
 * IPCF_CH_WRITE, optionally | IPCF_CH_CREATE.
 * CREATE: mkfifo(0600) exclusively; if the name exists and is a FIFO owned by
 *   our euid (it can only have been made inside our private 0700 run
 *   directory, i.e. by a previous incarnation of this run's creator), it is
 *   adopted as stale; anything else there is -EEXIST and is never touched.
 *   The creating process removes the name in close().
 * READ: opens without blocking (O_NONBLOCK); a recv() then waits for a writer.
 *   Without CREATE, a missing name is retried until the deadline.
 * WRITE: retries ENXIO (no reader yet) and ENOENT (not created yet) until the
 *   deadline: -IPCF_ETIMEDOUT.
 * 0, -EINVAL, -EEXIST, -IPCF_ETIMEDOUT, -errno. */
IPCF_MUST_CHECK int ipcf_fifo_open(struct ipcf_channel *ch, const char *tag, unsigned flags,
                                   size_t max_payload, int timeout_ms);

/* ---- unix_stream (targets/unix_stream) ----------------------------------- */

/* A listening SOCK_STREAM socket bound to ipcf_name_path(tag). */
struct ipcf_unix_listener {
    int fd; /* listening socket (poll POLLIN for a pending connection); -1 if closed */
    size_t max_payload;
    pid_t owner; /* pid that bound the path (removes it on close) */
    char path[IPCF_NAME_MAX];
};

/* Bind and listen. A path already there is probed with connect():
 * ECONNREFUSED = stale socket (its listener is dead) -> unlinked and rebound;
 * a live listener -> -EADDRINUSE (never unlinked); a non-socket -> -EEXIST.
 * 0, -EADDRINUSE, -EEXIST, -errno. */
IPCF_MUST_CHECK int ipcf_unix_listen(struct ipcf_unix_listener *l, const char *tag,
                                     size_t max_payload);

/* Accept one connection within timeout_ms into *ch (READ|WRITE). The peer's
 * SO_PEERCRED uid must equal our euid, else the connection is closed and
 * -IPCF_EPEER returned. 0, -IPCF_ETIMEDOUT, -IPCF_EPEER, -errno. */
IPCF_MUST_CHECK int ipcf_unix_accept(struct ipcf_unix_listener *l, struct ipcf_channel *ch,
                                     int timeout_ms);

/* Close the listener and unlink its path (in the process that bound it).
 * Connections already accepted stay open. Idempotent. 0 or -errno. */
int ipcf_unix_listener_close(struct ipcf_unix_listener *l);

/* Connect to the listener at ipcf_name_path(tag), retrying ENOENT,
 * ECONNREFUSED and EAGAIN (listener not up yet / backlog full) until the
 * deadline. The listener's SO_PEERCRED uid must equal our euid (-IPCF_EPEER).
 * *ch is READ|WRITE; ipcf_channel_reopen() reconnects. 0, -IPCF_ETIMEDOUT,
 * -IPCF_EPEER, -errno. */
IPCF_MUST_CHECK int ipcf_unix_connect(struct ipcf_channel *ch, const char *tag, size_t max_payload,
                                      int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
