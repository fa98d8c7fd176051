/* io.c — the one set of bounded, EINTR-safe, short-transfer-safe I/O helpers
 * (see ipcfuzz/io.h for the contract).
 *
 * Shape of every loop: wait with poll() for the remaining time, then make ONE
 * transfer call; on EINTR or EAGAIN go round again, on a short transfer advance
 * and go round again. Deadlines are absolute CLOCK_MONOTONIC times, so a signal
 * storm (each poll interrupted) or a trickling peer (1 byte per wake-up) can
 * never stretch a call past its deadline: every retry recomputes what is left,
 * and an EINTR that arrives after the deadline ends the call with
 * -IPCF_ETIMEDOUT instead of looping.
 *
 * Reads wait BEFORE reading, so a blocking descriptor cannot hang a read.
 * Writes wait too; a blocking pipe can still hold a large write() in the
 * kernel, which is why the channels use O_NONBLOCK descriptors.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ipcfuzz/bugs.h"
#include "ipcfuzz/io.h"

IPCF_BUG_DEFINE(io_no_eintr_retry, "io helpers return EINTR to the caller instead of retrying");
IPCF_BUG_DEFINE(io_assume_full_read, "io read helpers report a short read as a full one");

#define NS_PER_MS 1000000LL

int64_t ipcf_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct ipcf_deadline ipcf_deadline_in(int timeout_ms)
{
    struct ipcf_deadline dl;
    if (timeout_ms < 0)
        timeout_ms = 0;
    dl.at_ns = ipcf_clock_ns() + (int64_t)timeout_ms * NS_PER_MS;
    return dl;
}

bool ipcf_deadline_expired(const struct ipcf_deadline *dl)
{
    return ipcf_clock_ns() >= dl->at_ns;
}

int ipcf_deadline_remaining_ms(const struct ipcf_deadline *dl)
{
    int64_t left = dl->at_ns - ipcf_clock_ns();
    if (left <= 0)
        return 0;
    int64_t ms = (left + NS_PER_MS - 1) / NS_PER_MS;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

int ipcf_deadline_backoff(const struct ipcf_deadline *dl, int max_ms)
{
    int64_t left = dl->at_ns - ipcf_clock_ns();
    if (left <= 0)
        return -IPCF_ETIMEDOUT;
    int64_t ns = (int64_t)(max_ms > 0 ? max_ms : 1) * NS_PER_MS;
    if (ns > left)
        ns = left;
    struct timespec ts = {.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
    (void)nanosleep(&ts, NULL); /* EINTR only shortens the sleep: callers re-check */
    return 0;
}

/* An EINTR was seen: 0 = retry, else the result to return. Shared by every
 * loop so the planted bug and the deadline rule live in one place. */
static int on_eintr(const struct ipcf_deadline *dl)
{
    if (IPCF_BUG(io_no_eintr_retry))
        return -EINTR;
    if (ipcf_deadline_expired(dl))
        return -IPCF_ETIMEDOUT;
    return 0;
}

int ipcf_io_poll_until(struct pollfd *fds, nfds_t nfds, const struct ipcf_deadline *dl)
{
    for (;;) {
        int ms = ipcf_deadline_remaining_ms(dl);
        int rc = poll(fds, nfds, ms);
        if (rc > 0)
            return rc;
        if (rc == 0) {
            /* ms was rounded up, so poll can return just before the deadline
             * only if the clock says time is left; then wait the rest. */
            if (ms == 0 || ipcf_deadline_expired(dl))
                return -IPCF_ETIMEDOUT;
            continue;
        }
        if (errno != EINTR)
            return -errno;
        int r = on_eintr(dl);
        if (r)
            return r;
    }
}

int ipcf_io_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
    if (timeout_ms < 0)
        return -EINVAL;
    struct ipcf_deadline dl = ipcf_deadline_in(timeout_ms);
    return ipcf_io_poll_until(fds, nfds, &dl);
}

int ipcf_io_wait_fd(int fd, short events, const struct ipcf_deadline *dl)
{
    struct pollfd p = {.fd = fd, .events = events};
    int rc = ipcf_io_poll_until(&p, 1, dl);
    if (rc < 0)
        return rc;
    return p.revents ? p.revents : -IPCF_ETIMEDOUT;
}

ssize_t ipcf_io_read_some_until(int fd, void *buf, size_t len, const struct ipcf_deadline *dl)
{
    if (len == 0)
        return 0;
    for (;;) {
        int w = ipcf_io_wait_fd(fd, POLLIN, dl);
        if (w < 0)
            return w;
        ssize_t n = read(fd, buf, len);
        if (n >= 0) {
            if (n > 0 && (size_t)n < len && IPCF_BUG(io_assume_full_read))
                return (ssize_t)len; /* planted: the rest of buf is stale */
            return n;
        }
        if (errno == EINTR) {
            int r = on_eintr(dl);
            if (r)
                return r;
            continue;
        }
        /* Readiness was stolen (another reader) or was a spurious wake-up:
         * wait again; the next poll ends the call once the deadline passes. */
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (ipcf_deadline_expired(dl))
                return -IPCF_ETIMEDOUT;
            continue;
        }
        return -errno;
    }
}

ssize_t ipcf_io_read_some(int fd, void *buf, size_t len, int timeout_ms)
{
    if (timeout_ms < 0)
        return -EINVAL;
    struct ipcf_deadline dl = ipcf_deadline_in(timeout_ms);
    return ipcf_io_read_some_until(fd, buf, len, &dl);
}

ssize_t ipcf_io_read_all_until(int fd, void *buf, size_t len, size_t *done,
                               const struct ipcf_deadline *dl)
{
    size_t off = 0;
    ssize_t rc = 0;
    while (off < len) {
        rc = ipcf_io_read_some_until(fd, (char *)buf + off, len - off, dl);
        if (rc <= 0)
            break;
        off += (size_t)rc;
    }
    if (done)
        *done = off;
    return rc < 0 ? rc : (ssize_t)off;
}

ssize_t ipcf_io_read_all(int fd, void *buf, size_t len, int timeout_ms)
{
    if (timeout_ms < 0)
        return -EINVAL;
    struct ipcf_deadline dl = ipcf_deadline_in(timeout_ms);
    return ipcf_io_read_all_until(fd, buf, len, NULL, &dl);
}

/* The write loop shared by write_all and send_all (use_send selects the call). */
static int out_all(int fd, const void *buf, size_t len, size_t *done,
                   const struct ipcf_deadline *dl, bool use_send)
{
    size_t off = 0;
    int rc = 0;
    while (off < len) {
        int w = ipcf_io_wait_fd(fd, POLLOUT, dl);
        if (w < 0) {
            rc = w;
            break;
        }
        const char *p = (const char *)buf + off;
        ssize_t n = use_send ? send(fd, p, len - off, MSG_NOSIGNAL | MSG_DONTWAIT)
                             : write(fd, p, len - off);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n == 0) { /* no progress and no error: wait again, bounded by dl */
            if (ipcf_deadline_expired(dl)) {
                rc = -IPCF_ETIMEDOUT;
                break;
            }
            continue;
        }
        if (errno == EINTR) {
            rc = on_eintr(dl);
            if (rc)
                break;
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            /* poll said writable but the write did not fit (e.g. an atomic
             * pipe write needs a whole free slot): wait again, bounded. */
            if (ipcf_deadline_expired(dl)) {
                rc = -IPCF_ETIMEDOUT;
                break;
            }
            continue;
        }
        rc = -errno;
        break;
    }
    if (done)
        *done = off;
    return rc;
}

int ipcf_io_write_all_until(int fd, const void *buf, size_t len, size_t *done,
                            const struct ipcf_deadline *dl)
{
    return out_all(fd, buf, len, done, dl, false);
}

int ipcf_io_write_all(int fd, const void *buf, size_t len, int timeout_ms)
{
    if (timeout_ms < 0)
        return -EINVAL;
    struct ipcf_deadline dl = ipcf_deadline_in(timeout_ms);
    return out_all(fd, buf, len, NULL, &dl, false);
}

int ipcf_io_send_all_until(int fd, const void *buf, size_t len, size_t *done,
                           const struct ipcf_deadline *dl)
{
    return out_all(fd, buf, len, done, dl, true);
}

int ipcf_io_send_all(int fd, const void *buf, size_t len, int timeout_ms)
{
    if (timeout_ms < 0)
        return -EINVAL;
    struct ipcf_deadline dl = ipcf_deadline_in(timeout_ms);
    return out_all(fd, buf, len, NULL, &dl, true);
}

int ipcf_io_set_nonblock(int fd, bool on)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    int nfl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    if (nfl != fl && fcntl(fd, F_SETFL, nfl) < 0)
        return -errno;
    return 0;
}

int ipcf_io_ignore_sigpipe(void)
{
    struct sigaction sa = {.sa_handler = SIG_IGN};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) < 0)
        return -errno;
    return 0;
}

int ipcf_io_close(int fd)
{
    if (fd < 0)
        return 0;
    /* Linux always releases the descriptor, even when close reports EINTR. */
    if (close(fd) < 0 && errno != EINTR)
        return -errno;
    return 0;
}
