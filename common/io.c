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
 * Nothing a call returns is trusted blindly: the fault injector can make read()
 * fail with EINTR or EAGAIN right after poll() said "ready", return 1 byte, or
 * return a made-up count (retval=N). So: a count above the request is -EIO, a
 * -1 without an errno is -EIO, a poll that reports readiness without any
 * revents is a spurious wake-up (not a timeout), and consecutive retries that
 * make no progress back off 1 ms after a few free ones, so an injector firing on
 * every call cannot turn a bounded wait into a busy loop.
 *
 * Reads wait BEFORE reading, so a blocking descriptor cannot hang a read.
 * Writes wait too; a blocking pipe can still hold a large write() in the
 * kernel, which is why the channels use O_NONBLOCK descriptors.
 *
 * All system calls go through a swappable table (ipcf_io_set_syscalls) whose
 * defaults are libc's symbols, so interposers still see every call.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ipcfuzz/bugs.h"
#include "ipcfuzz/io.h"

IPCF_BUG_DEFINE(io_no_eintr_retry, "io helpers return EINTR to the caller instead of retrying");
IPCF_BUG_DEFINE(io_assume_full_read, "io read helpers report a short read as a full one");
IPCF_BUG_DEFINE(io_trust_count, "io helpers pass on a transfer count larger than requested");
IPCF_BUG_DEFINE(io_busy_retry, "io helpers retry a no-progress call at full speed (no back-off)");
IPCF_BUG_DEFINE(io_sigpipe_default, "io write helpers let SIGPIPE kill a non-ignoring process");

#define NS_PER_MS 1000000LL

/* Retries without progress allowed in a row before each further one sleeps. */
#define FREE_RETRIES  3
#define IDLE_SLEEP_MS 1

/* ---- the system-call table ---------------------------------------------- */

static const struct ipcf_io_syscalls libc_calls = {
    .read = read,
    .write = write,
    .send = send,
    .poll = poll,
    .connect = connect,
    .accept4 = accept4,
};
static struct ipcf_io_syscalls custom_calls;
static const struct ipcf_io_syscalls *cur_calls = &libc_calls;

const struct ipcf_io_syscalls *ipcf__io_sys(void)
{
    return __atomic_load_n(&cur_calls, __ATOMIC_ACQUIRE);
}

const struct ipcf_io_syscalls *ipcf_io_libc_syscalls(void)
{
    return &libc_calls;
}

void ipcf_io_set_syscalls(const struct ipcf_io_syscalls *sc)
{
    if (!sc) {
        __atomic_store_n(&cur_calls, &libc_calls, __ATOMIC_RELEASE);
        return;
    }
    __atomic_store_n(&cur_calls, &libc_calls, __ATOMIC_RELEASE);
    custom_calls.read = sc->read ? sc->read : libc_calls.read;
    custom_calls.write = sc->write ? sc->write : libc_calls.write;
    custom_calls.send = sc->send ? sc->send : libc_calls.send;
    custom_calls.poll = sc->poll ? sc->poll : libc_calls.poll;
    custom_calls.connect = sc->connect ? sc->connect : libc_calls.connect;
    custom_calls.accept4 = sc->accept4 ? sc->accept4 : libc_calls.accept4;
    __atomic_store_n(&cur_calls, &custom_calls, __ATOMIC_RELEASE);
}

/* ---- deadlines ------------------------------------------------------------ */

int64_t ipcf_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t ipcf_clock_ms(void)
{
    return ipcf_clock_ns() / 1000000;
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

/* ---- shared retry rules --------------------------------------------------- */

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

/* A retry is about to happen without progress since the last one: the first
 * FREE_RETRIES in a row are immediate, each later one sleeps IDLE_SLEEP_MS
 * (never past the deadline). The caller resets *idle when it makes progress. */
static void idle_retry(unsigned *idle, const struct ipcf_deadline *dl)
{
    if (++*idle > FREE_RETRIES && !IPCF_BUG(io_busy_retry))
        (void)ipcf_deadline_backoff(dl, IDLE_SLEEP_MS);
}

/* The errno of a failed call that returned rc < 0; never 0 (a -1 without an
 * errno, or any other negative value, is an impossible result: EIO). */
static int call_errno(long rc)
{
    if (rc != -1 || errno <= 0)
        return EIO;
    return errno;
}

/* ---- waiting -------------------------------------------------------------- */

int ipcf_io_poll_until(struct pollfd *fds, nfds_t nfds, const struct ipcf_deadline *dl)
{
    const struct ipcf_io_syscalls *sys = ipcf__io_sys();
    unsigned idle = 0;
    for (;;) {
        int ms = ipcf_deadline_remaining_ms(dl);
        int rc = sys->poll(fds, nfds, ms);
        if (rc > 0)
            return rc;
        if (rc == 0) {
            /* ms was rounded up, so poll can return just before the deadline
             * only if the clock says time is left; then wait the rest. */
            if (ms == 0 || ipcf_deadline_expired(dl))
                return -IPCF_ETIMEDOUT;
            idle_retry(&idle, dl);
            continue;
        }
        int err = call_errno(rc);
        if (err != EINTR)
            return -err;
        int r = on_eintr(dl);
        if (r)
            return r;
        idle_retry(&idle, dl);
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
    unsigned idle = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int rc = ipcf_io_poll_until(&p, 1, dl);
        if (rc < 0)
            return rc;
        if (p.revents)
            return p.revents;
        /* "ready" with no event on our one fd: a spurious wake-up (e.g. an
         * injected retval), not a timeout while time is left. */
        if (ipcf_deadline_expired(dl))
            return -IPCF_ETIMEDOUT;
        idle_retry(&idle, dl);
    }
}

/* ---- reading -------------------------------------------------------------- */

ssize_t ipcf_io_read_some_until(int fd, void *buf, size_t len, const struct ipcf_deadline *dl)
{
    const struct ipcf_io_syscalls *sys = ipcf__io_sys();
    unsigned idle = 0;
    if (len == 0)
        return 0;
    for (;;) {
        int w = ipcf_io_wait_fd(fd, POLLIN, dl);
        if (w < 0)
            return w;
        ssize_t n = sys->read(fd, buf, len);
        if (n >= 0) {
            if ((size_t)n > len && !IPCF_BUG(io_trust_count))
                return -EIO; /* impossible: never let a caller walk past buf */
            if (n > 0 && (size_t)n < len && IPCF_BUG(io_assume_full_read))
                return (ssize_t)len; /* planted: the rest of buf is stale */
            return n;
        }
        int err = call_errno(n);
        if (err == EINTR) {
            int r = on_eintr(dl);
            if (r)
                return r;
            idle_retry(&idle, dl);
            continue;
        }
        /* Readiness was stolen (another reader), was a spurious wake-up, or
         * EAGAIN was injected: wait again; the next poll ends the call once
         * the deadline passes. */
        if (err == EAGAIN || err == EWOULDBLOCK) {
            if (ipcf_deadline_expired(dl))
                return -IPCF_ETIMEDOUT;
            idle_retry(&idle, dl);
            continue;
        }
        return -err;
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

/* ---- writing -------------------------------------------------------------- */

/* SIGPIPE guard around write(): unless the process ignores SIGPIPE, block it
 * in this thread (the kernel sends a write's SIGPIPE to the writing thread),
 * and after an EPIPE take the one our write left pending with a zero-timeout
 * sigtimedwait() before restoring the mask. If the caller had SIGPIPE blocked
 * already, a pending one may be the caller's: it is left alone. */
struct sigpipe_guard {
    bool active;
    sigset_t old;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
    struct sigaction sa;
    sigset_t set;

    g->active = false;
    if (IPCF_BUG(io_sigpipe_default))
        return;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && !(sa.sa_flags & SA_SIGINFO) &&
        sa.sa_handler == SIG_IGN)
        return; /* ignored: write() just fails with EPIPE */
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &set, &g->old) == 0)
        g->active = true;
}

static void sigpipe_restore(struct sigpipe_guard *g, bool got_epipe)
{
    if (!g->active)
        return;
    int saved = errno;
    if (got_epipe && !sigismember(&g->old, SIGPIPE)) {
        sigset_t set;
        struct timespec zero = {0, 0};
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        /* EAGAIN: none pending (an injected EPIPE); EINTR: another signal. */
        for (int i = 0; i < 8; i++)
            if (sigtimedwait(&set, NULL, &zero) >= 0 || errno != EINTR)
                break;
    }
    (void)pthread_sigmask(SIG_SETMASK, &g->old, NULL);
    errno = saved;
}

/* The write loop shared by write_all and send_all (use_send selects the call). */
static int out_all(int fd, const void *buf, size_t len, size_t *done,
                   const struct ipcf_deadline *dl, bool use_send)
{
    const struct ipcf_io_syscalls *sys = ipcf__io_sys();
    struct sigpipe_guard guard = {.active = false};
    size_t off = 0;
    unsigned idle = 0;
    int rc = 0;

    if (!use_send && len > 0)
        sigpipe_block(&guard);
    while (off < len) {
        int w = ipcf_io_wait_fd(fd, POLLOUT, dl);
        if (w < 0) {
            rc = w;
            break;
        }
        const char *p = (const char *)buf + off;
        size_t want = len - off;
        ssize_t n = use_send ? sys->send(fd, p, want, MSG_NOSIGNAL | MSG_DONTWAIT)
                             : sys->write(fd, p, want);
        if (n > 0) {
            if ((size_t)n > want && !IPCF_BUG(io_trust_count)) {
                rc = -EIO; /* impossible: off would run past len */
                break;
            }
            off += (size_t)n;
            idle = 0;
            continue;
        }
        if (n == 0) { /* no progress and no error: wait again, bounded by dl */
            if (ipcf_deadline_expired(dl)) {
                rc = -IPCF_ETIMEDOUT;
                break;
            }
            idle_retry(&idle, dl);
            continue;
        }
        int err = call_errno(n);
        if (err == EINTR) {
            rc = on_eintr(dl);
            if (rc)
                break;
            idle_retry(&idle, dl);
            continue;
        }
        if (err == EAGAIN || err == EWOULDBLOCK) {
            /* poll said writable but the write did not fit (e.g. an atomic
             * pipe write needs a whole free slot): wait again, bounded. */
            if (ipcf_deadline_expired(dl)) {
                rc = -IPCF_ETIMEDOUT;
                break;
            }
            idle_retry(&idle, dl);
            continue;
        }
        rc = -err;
        break;
    }
    sigpipe_restore(&guard, rc == -EPIPE);
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
