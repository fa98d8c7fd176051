/* ipcfuzz/io.h — the ONE set of I/O retry helpers: bounded waits, EINTR retry,
 * EAGAIN handling and short-transfer loops. Every part of ipcfuzz that reads or
 * writes a descriptor goes through these; they are exactly what the fault
 * injector attacks (short=N, error=EINTR, signal=SIG), so nothing else in the
 * tree retries EINTR or loops over short transfers on its own.
 *
 * Rules shared by every helper:
 *  - Every wait is bounded. Time is a CLOCK_MONOTONIC deadline; timeout_ms must
 *    be >= 0 (0 = do not wait: one poll and at most one transfer attempt);
 *    a negative timeout is -EINVAL. An EINTR (from poll, read, write, send,
 *    recv) is retried with whatever time is left: it is never returned.
 *  - Reads wait with poll() before reading, so they stay bounded even on a
 *    blocking descriptor (as long as no other process drains it in between).
 *    Writes of more than PIPE_BUF bytes to a BLOCKING pipe/FIFO can block in
 *    the kernel past the deadline: put pipes/FIFOs in O_NONBLOCK mode
 *    (ipcf_io_set_nonblock; the channels do). Socket sends use MSG_DONTWAIT.
 *  - EAGAIN/EWOULDBLOCK means "wait with poll and try again", never an error.
 *  - SIGPIPE never kills: socket sends use MSG_NOSIGNAL; write() (pipes,
 *    FIFOs) blocks SIGPIPE in the calling thread around the call unless the
 *    process already ignores it, and consumes the SIGPIPE its own write raised
 *    (a SIGPIPE the caller already had pending and blocked is left alone).
 *    The helpers return -EPIPE. ipcf_io_ignore_sigpipe() makes this cheaper
 *    (one sigaction() probe per write_all instead of three calls).
 *  - No busy loop: a retry that made no progress (EINTR, EAGAIN right after
 *    poll said ready, a 0-byte write, a poll that reports no event) is free
 *    the first few times in a row, then sleeps 1 ms (bounded by the deadline)
 *    before trying again. Real kernels rarely do this; a fault injector with
 *    p=1 does it forever, and must not get a core spinning.
 *  - Impossible results are errors, never trusted: a transfer call that claims
 *    more bytes than it was asked for, returns < -1, or fails with errno 0
 *    gives -EIO (a fault injector's retval=N, or a broken interposer), so no
 *    caller ever walks past its buffer.
 *  - Results: byte counts >= 0, or -errno / -IPCF_ETIMEDOUT. errno is not part
 *    of the API.
 *
 * Planted bugs (off by default, IPCF_BUGS=...):
 *   io_no_eintr_retry    an EINTR is returned to the caller (-EINTR) instead
 *                        of being retried.
 *   io_assume_full_read  a read that returns fewer bytes than requested is
 *                        reported as if it had filled the whole request (e.g.
 *                        a frame reader believes it got the whole header).
 *   io_trust_count       an impossible transfer count (more than asked for)
 *                        is passed on instead of -EIO.
 *   io_busy_retry        no back-off: a no-progress retry loops at full speed
 *                        until the deadline.
 *   io_sigpipe_default   write() runs without the SIGPIPE guard: a process that
 *                        did not ignore SIGPIPE dies writing to a dead reader.
 */
#ifndef IPCFUZZ_IO_H
#define IPCFUZZ_IO_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include "ipcfuzz/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A point in CLOCK_MONOTONIC time. */
struct ipcf_deadline {
    int64_t at_ns;
};

/* CLOCK_MONOTONIC now, in nanoseconds. */
int64_t ipcf_clock_ns(void);

/* CLOCK_MONOTONIC now, in milliseconds. */
int64_t ipcf_clock_ms(void);

/* The deadline timeout_ms from now (timeout_ms < 0 is treated as 0). */
struct ipcf_deadline ipcf_deadline_in(int timeout_ms);

/* True once the deadline has passed. */
bool ipcf_deadline_expired(const struct ipcf_deadline *dl);

/* Milliseconds left, rounded UP (so a wait never busy-spins on a 0 ms poll
 * while time remains); 0 once expired; capped at INT_MAX. */
int ipcf_deadline_remaining_ms(const struct ipcf_deadline *dl);

/* Sleep min(max_ms, time left) — for retry loops that must poll a condition
 * with no descriptor to wait on (e.g. a FIFO without a reader yet). Returns 0
 * after sleeping (EINTR just shortens the sleep), -IPCF_ETIMEDOUT if the
 * deadline had already passed. */
int ipcf_deadline_backoff(const struct ipcf_deadline *dl, int max_ms);

/* poll() until the deadline, retrying EINTR with the remaining time.
 * Returns the number of ready fds (> 0), -IPCF_ETIMEDOUT, or -errno. */
IPCF_MUST_CHECK int ipcf_io_poll_until(struct pollfd *fds, nfds_t nfds,
                                       const struct ipcf_deadline *dl);
/* Same with a relative timeout (>= 0 ms; negative is -EINVAL). */
IPCF_MUST_CHECK int ipcf_io_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms);

/* Wait until fd reports any of events (or POLLERR/POLLHUP/POLLNVAL, which are
 * returned so the following call reports the condition). Returns the revents
 * (> 0), -IPCF_ETIMEDOUT or -errno. */
IPCF_MUST_CHECK int ipcf_io_wait_fd(int fd, short events, const struct ipcf_deadline *dl);

/* Read at most len (> 0) bytes, waiting until some are available or the
 * deadline. Returns the count (> 0), 0 at end of file, -IPCF_ETIMEDOUT, or
 * -errno (e.g. -ECONNRESET). len == 0 returns 0 without reading. */
IPCF_MUST_CHECK ssize_t ipcf_io_read_some_until(int fd, void *buf, size_t len,
                                                const struct ipcf_deadline *dl);
IPCF_MUST_CHECK ssize_t ipcf_io_read_some(int fd, void *buf, size_t len, int timeout_ms);

/* Read exactly len bytes unless end of file or an error comes first.
 * Returns len, or the smaller count read before end of file (0 = EOF at once),
 * or a negative error; *done (if non-NULL) always holds the bytes stored in
 * buf, also on -IPCF_ETIMEDOUT and -errno, so no data is lost silently. */
IPCF_MUST_CHECK ssize_t ipcf_io_read_all_until(int fd, void *buf, size_t len, size_t *done,
                                               const struct ipcf_deadline *dl);
IPCF_MUST_CHECK ssize_t ipcf_io_read_all(int fd, void *buf, size_t len, int timeout_ms);

/* Write all len bytes with write(): loops over short writes, EINTR and EAGAIN
 * (waiting with poll). Returns 0, -EPIPE (reader gone; SIGPIPE must be ignored,
 * see above), -IPCF_ETIMEDOUT, or -errno. *done (if non-NULL) always holds the
 * bytes actually written — on a timeout the peer may hold a partial message. */
IPCF_MUST_CHECK int ipcf_io_write_all_until(int fd, const void *buf, size_t len, size_t *done,
                                            const struct ipcf_deadline *dl);
IPCF_MUST_CHECK int ipcf_io_write_all(int fd, const void *buf, size_t len, int timeout_ms);

/* Same for a stream socket, with send(MSG_NOSIGNAL | MSG_DONTWAIT): never
 * raises SIGPIPE, never blocks past the deadline even on a blocking socket.
 * -ENOTSOCK if fd is not a socket. */
IPCF_MUST_CHECK int ipcf_io_send_all_until(int fd, const void *buf, size_t len, size_t *done,
                                           const struct ipcf_deadline *dl);
IPCF_MUST_CHECK int ipcf_io_send_all(int fd, const void *buf, size_t len, int timeout_ms);

/* Set (on = true) or clear O_NONBLOCK on fd. 0 or -errno. Note: the flag lives
 * on the open file description, shared with every process holding a dup. */
IPCF_MUST_CHECK int ipcf_io_set_nonblock(int fd, bool on);

/* Set SIGPIPE to SIG_IGN for this process (inherited by fork, and kept across
 * exec). 0 or -errno. */
IPCF_MUST_CHECK int ipcf_io_ignore_sigpipe(void);

/* ---- The system calls the helpers make (a swappable table) ----------------
 * Every read/write/send/poll of the helpers above, and every connect/accept4
 * of the unix_stream transport, goes through this table (SQLite's
 * xSetSystemCall idea). Tests plug in calls that return EINTR, 1 byte, EAGAIN,
 * a spurious readiness or an impossible count on a schedule, and check that
 * every frame still arrives intact and in order. The defaults are libc's
 * symbols, so an LD_PRELOAD or link-time interposer still sees every call. */
struct ipcf_io_syscalls {
    ssize_t (*read)(int fd, void *buf, size_t len);
    ssize_t (*write)(int fd, const void *buf, size_t len);
    ssize_t (*send)(int fd, const void *buf, size_t len, int flags);
    int (*poll)(struct pollfd *fds, nfds_t nfds, int timeout);
    int (*connect)(int fd, const struct sockaddr *addr, socklen_t len);
    int (*accept4)(int fd, struct sockaddr *addr, socklen_t *len, int flags);
};

/* Install *sc (copied; NULL members keep libc's call); NULL restores libc.
 * Per process, inherited by fork. Not to be called while another thread is
 * inside a helper (a test sets it up before starting any). */
void ipcf_io_set_syscalls(const struct ipcf_io_syscalls *sc);

/* libc's calls (what a test wrapper forwards to). Never NULL. */
const struct ipcf_io_syscalls *ipcf_io_libc_syscalls(void);

/* The table in force (internal users: common/io.c, targets/unix_stream). */
const struct ipcf_io_syscalls *ipcf__io_sys(void);

/* close() that never retries (Linux releases the fd even when close reports
 * EINTR; retrying could close a descriptor another thread just opened).
 * Ignores fd < 0. Returns 0 or -errno (reported, the fd is gone either way). */
int ipcf_io_close(int fd);

#ifdef __cplusplus
}
#endif
#endif
