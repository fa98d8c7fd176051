/* test_io.c — the I/O retry helpers under real conditions: short reads (a
 * forked writer trickling 1 byte at a time), short writes (more than the pipe
 * buffer to a slow forked reader), real EINTR (a SIGALRM interval timer with a
 * handler installed WITHOUT SA_RESTART), bounded timeouts (also under a signal
 * storm), EPIPE without dying (also with SIGPIPE's default disposition), and
 * — through the swappable system-call table — read()/write()/send()/poll()
 * misbehaving on a schedule right after poll() said ready (EINTR, EAGAIN, 1 or
 * 0 bytes, impossible counts, spurious readiness), no busy loop under a
 * permanent fault, and every planted io bug's observable effect. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "ipcfuzz/bugs.h"
#include "ipcfuzz/io.h"

static uint8_t pat(size_t i)
{
    return (uint8_t)(i % 200 + 1); /* never 0xEE, the "stale" filler */
}

/* ---- a SIGALRM storm: handler without SA_RESTART ------------------------- */

static volatile sig_atomic_t alarms;
static struct sigaction old_alrm;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void storm_start(int interval_us)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sa.sa_flags = 0; /* no SA_RESTART: blocking calls fail with EINTR */
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &sa, &old_alrm), 0);
    alarms = 0;
    struct itimerval it = {{0, interval_us}, {0, interval_us}};
    assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
}

static void storm_stop(void)
{
    struct itimerval it = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &it, NULL);
    sigaction(SIGALRM, &old_alrm, NULL);
}

/* ---- deadlines --------------------------------------------------------- */

static void test_io_deadline(void **state)
{
    (void)state;
    struct ipcf_deadline dl = ipcf_deadline_in(50);
    int ms = ipcf_deadline_remaining_ms(&dl);
    assert_true(ms > 0 && ms <= 50);
    assert_false(ipcf_deadline_expired(&dl));
    dl = ipcf_deadline_in(0);
    while (!ipcf_deadline_expired(&dl))
        ;
    assert_int_equal(ipcf_deadline_remaining_ms(&dl), 0);
    assert_int_equal(ipcf_deadline_backoff(&dl, 5), -IPCF_ETIMEDOUT);
    dl = ipcf_deadline_in(1000);
    int64_t t0 = ipcft_now_ms();
    assert_int_equal(ipcf_deadline_backoff(&dl, 20), 0);
    assert_true(ipcft_now_ms() - t0 >= 19);
}

static void test_io_read_timeout_bounded(void **state)
{
    (void)state;
    int p[2];
    char c;
    assert_int_equal(pipe2(p, O_CLOEXEC), 0); /* blocking: still bounded */
    int64_t t0 = ipcft_now_ms();
    assert_int_equal(ipcf_io_read_some(p[0], &c, 1, 100), -IPCF_ETIMEDOUT);
    int64_t dt = ipcft_now_ms() - t0;
    assert_true(dt >= 99 && dt < 5000);
    assert_int_equal(ipcf_io_read_some(p[0], &c, 1, 0), -IPCF_ETIMEDOUT);
    assert_int_equal(ipcf_io_read_some(p[0], &c, 1, -1), -EINVAL);
    assert_int_equal(ipcf_io_read_some(p[0], &c, 0, 100), 0);
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    assert_int_equal(ipcf_io_poll(&pf, 1, 30), -IPCF_ETIMEDOUT);
    assert_int_equal(ipcf_io_poll(&pf, 1, -5), -EINVAL);
    assert_int_equal(ipcf_io_write_all(p[1], "ab", 2, 100), 0);
    assert_int_equal(ipcf_io_poll(&pf, 1, 30), 1);
    struct ipcf_deadline dl = ipcf_deadline_in(100);
    assert_true(ipcf_io_wait_fd(p[0], POLLIN, &dl) & POLLIN);
    close(p[0]);
    close(p[1]);
}

static void test_io_eof_and_partial_read_all(void **state)
{
    (void)state;
    int p[2];
    char buf[20];
    size_t done = 0;
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    assert_int_equal(ipcf_io_write_all(p[1], "0123456789", 10, 100), 0);
    close(p[1]);
    struct ipcf_deadline dl = ipcf_deadline_in(1000);
    assert_int_equal(ipcf_io_read_all_until(p[0], buf, 20, &done, &dl), 10);
    assert_int_equal(done, 10);
    assert_memory_equal(buf, "0123456789", 10);
    assert_int_equal(ipcf_io_read_some(p[0], buf, 20, 100), 0);
    assert_int_equal(ipcf_io_read_all(p[0], buf, 20, 100), 0);
    close(p[0]);
    assert_int_equal(ipcf_io_read_some(p[0], buf, 1, 100), -EBADF);
}

/* ---- short reads: a writer trickling one byte at a time ------------------ */

#define TRICKLE 200

static int trickle_writer(void *arg)
{
    int fd = *(int *)arg;
    for (size_t i = 0; i < TRICKLE; i++) {
        uint8_t b = pat(i);
        if (ipcf_io_write_all(fd, &b, 1, 5000) != 0)
            return 1;
        usleep(500);
    }
    return 0;
}

/* Read TRICKLE bytes with read_all from a trickling child. Returns the
 * read_all result; *intact says whether every byte is right. */
static ssize_t read_trickle(int *intact, int *child_ok)
{
    int p[2], st = 0;
    uint8_t buf[TRICKLE];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    memset(buf, 0xEE, sizeof(buf));
    pid_t pid = ipcft_fork(trickle_writer, &p[1]);
    close(p[1]);
    ssize_t n = ipcf_io_read_all(p[0], buf, TRICKLE, 10000);
    close(p[0]); /* a writer still trickling now gets EPIPE (SIGPIPE ignored) */
    assert_int_equal(ipcft_wait(pid, 10000, &st), 0);
    *child_ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    *intact = 1;
    for (size_t i = 0; i < TRICKLE; i++)
        if (buf[i] != pat(i))
            *intact = 0;
    return n;
}

static void test_io_short_reads_assembled(void **state)
{
    (void)state;
    int intact, child_ok;
    assert_int_equal(read_trickle(&intact, &child_ok), TRICKLE);
    assert_true(intact);
    assert_true(child_ok);
}

/* Planted io_assume_full_read: read_all "succeeds" with stale bytes. */
static void test_io_bug_assume_full_read(void **state)
{
    (void)state;
    int intact, child_ok;
    assert_int_equal(ipcf_bugs_set("io_assume_full_read"), 0);
    ssize_t n = read_trickle(&intact, &child_ok);
    assert_int_equal(ipcf_bugs_set(""), 0);
    assert_int_equal(n, TRICKLE); /* it claims the whole buffer ... */
    assert_false(intact);         /* ... but most of it was never read */
}

/* ---- short writes: more than the pipe buffer to a slow reader ------------- */

#define BIG (1u << 20)

/* arg: int[2], [0] = the end to read, [1] = the end to close (so EOF comes). */
static int slow_reader(void *arg)
{
    int fd = ((int *)arg)[0];
    close(((int *)arg)[1]);
    static uint8_t buf[3000];
    size_t total = 0;
    for (;;) {
        ssize_t n = ipcf_io_read_some(fd, buf, sizeof(buf), 10000);
        if (n < 0)
            return 2;
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != pat(total + (size_t)i))
                return 3;
        total += (size_t)n;
        if (total % 65536 < 3000)
            usleep(2000);
    }
    return total == BIG ? 0 : 4;
}

static void test_io_short_writes_to_slow_reader(void **state)
{
    (void)state;
    int p[2];
    uint8_t *big = malloc(BIG);
    assert_non_null(big);
    for (size_t i = 0; i < BIG; i++)
        big[i] = pat(i);
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    (void)fcntl(p[1], F_SETPIPE_SZ, 4096); /* smallest buffer: many short writes */
    pid_t pid = ipcft_fork(slow_reader, p);
    close(p[0]);
    assert_int_equal(ipcf_io_set_nonblock(p[1], true), 0);
    assert_true(fcntl(p[1], F_GETFL) & O_NONBLOCK);
    size_t done = 0;
    struct ipcf_deadline dl = ipcf_deadline_in(20000);
    int rc = ipcf_io_write_all_until(p[1], big, BIG, &done, &dl);
    close(p[1]);
    free(big);
    ipcft_expect_exit0(pid, 20000);
    assert_int_equal(rc, 0);
    assert_int_equal(done, BIG);
}

/* Same over a stream socket with send_all. */
static void test_io_send_all_socket(void **state)
{
    (void)state;
    int sv[2];
    uint8_t *big = malloc(BIG);
    assert_non_null(big);
    for (size_t i = 0; i < BIG; i++)
        big[i] = pat(i);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    int ends[2] = {sv[1], sv[0]};
    pid_t pid = ipcft_fork(slow_reader, ends);
    close(sv[1]);
    int rc = ipcf_io_send_all(sv[0], big, BIG, 20000); /* blocking socket: MSG_DONTWAIT */
    close(sv[0]);
    free(big);
    ipcft_expect_exit0(pid, 20000);
    assert_int_equal(rc, 0);
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    assert_int_equal(ipcf_io_send_all(p[1], "x", 1, 100), -ENOTSOCK);
    close(p[0]);
    close(p[1]);
}

static void test_io_write_timeout_reports_progress(void **state)
{
    (void)state;
    int p[2];
    static uint8_t buf[200000];
    assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    int cap = fcntl(p[1], F_GETPIPE_SZ);
    size_t done = 0;
    struct ipcf_deadline dl = ipcf_deadline_in(100);
    int64_t t0 = ipcft_now_ms();
    assert_int_equal(ipcf_io_write_all_until(p[1], buf, sizeof(buf), &done, &dl), -IPCF_ETIMEDOUT);
    int64_t dt = ipcft_now_ms() - t0;
    assert_true(dt >= 99 && dt < 5000);
    assert_int_equal(done, (size_t)cap); /* the pipe took exactly its capacity */
    close(p[0]);
    close(p[1]);
}

/* ---- real EINTR ---------------------------------------------------------- */

static int late_writer(void *arg)
{
    int fd = *(int *)arg;
    usleep(150000);
    return ipcf_io_write_all(fd, "z", 1, 5000) == 0 ? 0 : 1;
}

/* A read blocked in poll is interrupted many times and still returns the
 * byte that arrives later. Returns the read result. */
static ssize_t read_under_storm(char *c, int *interrupts)
{
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = ipcft_fork(late_writer, &p[1]);
    close(p[1]);
    storm_start(2000);
    ssize_t n = ipcf_io_read_some(p[0], c, 1, 5000);
    storm_stop();
    *interrupts = alarms;
    close(p[0]);
    int st;
    (void)ipcft_wait(pid, 5000, &st);
    return n;
}

static void test_io_eintr_retried(void **state)
{
    (void)state;
    char c = 0;
    int interrupts;
    assert_int_equal(read_under_storm(&c, &interrupts), 1);
    assert_int_equal(c, 'z');
    assert_true(interrupts >= 5); /* EINTR really happened, repeatedly */
}

/* A signal storm cannot stretch a deadline. */
static void test_io_storm_keeps_deadline(void **state)
{
    (void)state;
    int p[2];
    char c;
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    storm_start(1000);
    int64_t t0 = ipcft_now_ms();
    ssize_t n = ipcf_io_read_some(p[0], &c, 1, 100);
    int64_t dt = ipcft_now_ms() - t0;
    storm_stop();
    close(p[0]);
    close(p[1]);
    assert_int_equal(n, -IPCF_ETIMEDOUT);
    assert_true(dt >= 99 && dt < 5000);
    assert_true(alarms > 10);
}

/* Writes blocked on a full pipe survive the storm too. */
static int late_drainer(void *arg)
{
    int fd = ((int *)arg)[0];
    close(((int *)arg)[1]);
    static uint8_t buf[1 << 17];
    usleep(100000);
    size_t total = 0;
    for (;;) {
        ssize_t n = ipcf_io_read_some(fd, buf, sizeof(buf), 5000);
        if (n <= 0)
            return n == 0 && total == sizeof(buf) ? 0 : 1;
        total += (size_t)n;
    }
}

static void test_io_eintr_write_retried(void **state)
{
    (void)state;
    int p[2];
    static uint8_t buf[1 << 17];
    assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    pid_t pid = ipcft_fork(late_drainer, p);
    close(p[0]);
    storm_start(2000);
    int rc = ipcf_io_write_all(p[1], buf, sizeof(buf), 5000);
    storm_stop();
    close(p[1]);
    ipcft_expect_exit0(pid, 5000);
    assert_int_equal(rc, 0);
    assert_true(alarms >= 5);
}

/* Planted io_no_eintr_retry: the interrupted read fails with -EINTR. */
static void test_io_bug_no_eintr_retry(void **state)
{
    (void)state;
    char c = 0;
    int interrupts;
    assert_int_equal(ipcf_bugs_set("io_no_eintr_retry"), 0);
    ssize_t n = read_under_storm(&c, &interrupts);
    assert_int_equal(ipcf_bugs_set(""), 0);
    assert_int_equal(n, -EINTR); /* the bug's observable effect */
}

/* ---- EPIPE without dying ------------------------------------------------- */

static int pipe_writer_ignoring(void *arg)
{
    (void)arg;
    int p[2];
    signal(SIGPIPE, SIG_DFL);
    if (ipcf_io_ignore_sigpipe() != 0 || pipe2(p, O_CLOEXEC) != 0)
        return 1;
    close(p[0]);
    return ipcf_io_write_all(p[1], "x", 1, 100) == -EPIPE ? 0 : 2;
}

/* Default SIGPIPE disposition: the helper still returns -EPIPE, the process
 * lives, no SIGPIPE is left pending and the signal mask is as it was. */
static int pipe_writer_default(void *arg)
{
    (void)arg;
    int p[2];
    sigset_t before, after, pend;
    signal(SIGPIPE, SIG_DFL);
    if (pipe2(p, O_CLOEXEC) != 0)
        return 1;
    close(p[0]);
    pthread_sigmask(SIG_SETMASK, NULL, &before);
    int rc = ipcf_io_write_all(p[1], "x", 1, 100);
    pthread_sigmask(SIG_SETMASK, NULL, &after);
    sigpending(&pend);
    if (rc != -EPIPE)
        return 3;
    if (sigismember(&pend, SIGPIPE))
        return 4;
    if (sigismember(&after, SIGPIPE) != sigismember(&before, SIGPIPE))
        return 5;
    return 0;
}

/* The caller blocks SIGPIPE and already has one pending: it is not consumed. */
static int pipe_writer_blocked_pending(void *arg)
{
    (void)arg;
    int p[2];
    sigset_t set, pend;
    signal(SIGPIPE, SIG_DFL);
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    raise(SIGPIPE);
    if (pipe2(p, O_CLOEXEC) != 0)
        return 1;
    close(p[0]);
    if (ipcf_io_write_all(p[1], "x", 1, 100) != -EPIPE)
        return 2;
    sigpending(&pend);
    if (!sigismember(&pend, SIGPIPE))
        return 3; /* the caller's pending SIGPIPE was stolen */
    pthread_sigmask(SIG_SETMASK, NULL, &set);
    if (!sigismember(&set, SIGPIPE))
        return 4;
    _exit(0); /* do not unblock: the pending SIGPIPE would kill us */
}

static int socket_writer_default(void *arg)
{
    (void)arg;
    int sv[2];
    signal(SIGPIPE, SIG_DFL);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return 1;
    close(sv[1]);
    int rc = ipcf_io_send_all(sv[0], "x", 1, 100);
    return rc == -EPIPE || rc == -ECONNRESET ? 0 : 2;
}

static void test_io_epipe_without_dying(void **state)
{
    (void)state;
    ipcft_expect_exit0(ipcft_fork(pipe_writer_ignoring, NULL), 5000);
    ipcft_expect_exit0(ipcft_fork(socket_writer_default, NULL), 5000); /* MSG_NOSIGNAL */
    ipcft_expect_exit0(ipcft_fork(pipe_writer_default, NULL), 5000);   /* the guard */
    ipcft_expect_exit0(ipcft_fork(pipe_writer_blocked_pending, NULL), 5000);
}

/* Planted io_sigpipe_default: without the guard a pipe write kills. */
static void test_io_bug_sigpipe_default(void **state)
{
    (void)state;
    int st = 0;
    assert_int_equal(ipcf_bugs_set("io_sigpipe_default"), 0);
    pid_t pid = ipcft_fork(pipe_writer_default, NULL);
    assert_int_equal(ipcf_bugs_set(""), 0);
    assert_int_equal(ipcft_wait(pid, 5000, &st), 0);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE);
}

/* ---- scheduled system-call faults (ipcf_io_set_syscalls) ------------------
 * What the fault injector does to a call that poll() just called "ready":
 * EINTR, EAGAIN, 1 byte, 0 bytes, a count larger than asked, -1 without
 * errno, and a poll() that says "1 ready" with no revents. */
enum sc_mode { SC_PASS, SC_EINTR, SC_EAGAIN, SC_SHORT1, SC_ZERO, SC_HUGE, SC_NOERRNO, SC_SPURIOUS };

struct sc_sched {
    const enum sc_mode *modes;
    size_t n;
    int cycle; /* repeat modes forever; else PASS after them */
    unsigned long calls;
};

static struct sc_sched rd_s, wr_s, poll_s;

static enum sc_mode sc_next(struct sc_sched *s)
{
    unsigned long i = s->calls++;
    if (!s->n)
        return SC_PASS;
    if (s->cycle)
        return s->modes[i % s->n];
    return i < s->n ? s->modes[i] : SC_PASS;
}

static ssize_t sc_fail(int err)
{
    errno = err;
    return -1;
}

static ssize_t f_read(int fd, void *buf, size_t len)
{
    const struct ipcf_io_syscalls *libc = ipcf_io_libc_syscalls();
    switch (sc_next(&rd_s)) {
    case SC_EINTR:
        return sc_fail(EINTR);
    case SC_EAGAIN:
        return sc_fail(EAGAIN);
    case SC_NOERRNO:
        return sc_fail(0);
    case SC_SHORT1:
        return libc->read(fd, buf, 1);
    case SC_HUGE: {
        ssize_t n = libc->read(fd, buf, len);
        return n > 0 ? (ssize_t)len + 100 : n;
    }
    default:
        return libc->read(fd, buf, len);
    }
}

static ssize_t out_mode(int fd, const void *buf, size_t len, int flags, int use_send)
{
    const struct ipcf_io_syscalls *libc = ipcf_io_libc_syscalls();
    size_t want = len;
    switch (sc_next(&wr_s)) {
    case SC_EINTR:
        return sc_fail(EINTR);
    case SC_EAGAIN:
        return sc_fail(EAGAIN);
    case SC_NOERRNO:
        return sc_fail(0);
    case SC_ZERO:
        return 0;
    case SC_SHORT1:
        want = 1;
        break;
    case SC_HUGE: {
        ssize_t n = use_send ? libc->send(fd, buf, len, flags) : libc->write(fd, buf, len);
        return n > 0 ? (ssize_t)len + 5 : n;
    }
    default:
        break;
    }
    return use_send ? libc->send(fd, buf, want, flags) : libc->write(fd, buf, want);
}

static ssize_t f_write(int fd, const void *buf, size_t len)
{
    return out_mode(fd, buf, len, 0, 0);
}

static ssize_t f_send(int fd, const void *buf, size_t len, int flags)
{
    return out_mode(fd, buf, len, flags, 1);
}

static int f_poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    switch (sc_next(&poll_s)) {
    case SC_EINTR:
        return (int)sc_fail(EINTR);
    case SC_SPURIOUS:
        for (nfds_t i = 0; i < nfds; i++)
            fds[i].revents = 0;
        return 1;
    default:
        return ipcf_io_libc_syscalls()->poll(fds, nfds, timeout);
    }
}

static void sc_install(void)
{
    static const struct ipcf_io_syscalls t = {
        .read = f_read, .write = f_write, .send = f_send, .poll = f_poll};
    ipcf_io_set_syscalls(&t);
}

static void sc_set(struct sc_sched *s, const enum sc_mode *modes, size_t n, int cycle)
{
    s->modes = modes;
    s->n = n;
    s->cycle = cycle;
    s->calls = 0;
}

/* cmocka setup/teardown for the scheduled tests: the table is always removed. */
static int sc_setup(void **state)
{
    (void)state;
    sc_set(&rd_s, NULL, 0, 0);
    sc_set(&wr_s, NULL, 0, 0);
    sc_set(&poll_s, NULL, 0, 0);
    sc_install();
    return 0;
}

static int sc_teardown(void **state)
{
    (void)state;
    ipcf_io_set_syscalls(NULL);
    return 0;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* read() fails with EINTR/EAGAIN, or gives 1 byte, right after poll() said
 * ready; poll() itself is interrupted or wakes spuriously: read_all still
 * assembles every byte, in order. */
static void test_io_sched_read_faults(void **state)
{
    (void)state;
    static const enum sc_mode rm[] = {SC_EINTR, SC_SHORT1, SC_EAGAIN, SC_SHORT1,
                                      SC_EINTR, SC_EINTR,  SC_PASS,   SC_SHORT1};
    static const enum sc_mode pm[] = {SC_SPURIOUS, SC_PASS, SC_EINTR, SC_PASS, SC_PASS};
    int p[2];
    uint8_t in[300], out[300];
    assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = pat(i);
    assert_int_equal(write(p[1], in, sizeof(in)), (ssize_t)sizeof(in));
    sc_set(&rd_s, rm, NELEM(rm), 1);
    sc_set(&poll_s, pm, NELEM(pm), 1);
    size_t done = 0;
    struct ipcf_deadline dl = ipcf_deadline_in(10000);
    ssize_t n = ipcf_io_read_all_until(p[0], out, sizeof(out), &done, &dl);
    close(p[0]);
    close(p[1]);
    assert_int_equal(n, sizeof(out));
    assert_int_equal(done, sizeof(out));
    assert_memory_equal(in, out, sizeof(out));
    assert_int_equal(rd_s.calls, 7); /* EINTR,1,EAGAIN,1,EINTR,EINTR, then the rest */
}

/* A poll() that reports readiness without any revents is not a timeout:
 * (before the fix, wait_fd returned -IPCF_ETIMEDOUT at once). */
static void test_io_sched_spurious_poll(void **state)
{
    (void)state;
    static const enum sc_mode pm[] = {SC_SPURIOUS, SC_SPURIOUS, SC_SPURIOUS, SC_SPURIOUS,
                                      SC_SPURIOUS};
    int p[2];
    char c = 0;
    assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    assert_int_equal(write(p[1], "q", 1), 1);
    sc_set(&poll_s, pm, NELEM(pm), 0);
    ssize_t n = ipcf_io_read_some(p[0], &c, 1, 5000);
    unsigned long polls = poll_s.calls;
    close(p[0]);
    close(p[1]);
    assert_int_equal(n, 1);
    assert_int_equal(c, 'q');
    assert_int_equal(polls, NELEM(pm) + 1);
}

/* Impossible results are -EIO, never trusted (before the fix: a count above
 * the request was passed on, and -1 with errno 0 read as EOF / "all written"). */
static void test_io_sched_impossible_counts(void **state)
{
    (void)state;
    static const enum sc_mode huge[] = {SC_HUGE}, noerr[] = {SC_NOERRNO};
    int p[2];
    uint8_t buf[16];
    size_t done = 99;
    assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    assert_int_equal(write(p[1], "0123456789abcdef0123", 20), 20);
    sc_set(&rd_s, huge, 1, 0);
    assert_int_equal(ipcf_io_read_some(p[0], buf, 8, 1000), -EIO);
    sc_set(&rd_s, noerr, 1, 0);
    assert_int_equal(ipcf_io_read_some(p[0], buf, 8, 1000), -EIO);
    sc_set(&wr_s, huge, 1, 0);
    struct ipcf_deadline dl = ipcf_deadline_in(1000);
    assert_int_equal(ipcf_io_write_all_until(p[1], "abc", 3, &done, &dl), -EIO);
    assert_int_equal(done, 0); /* nothing claimed as written */
    sc_set(&wr_s, noerr, 1, 0);
    assert_int_equal(ipcf_io_write_all(p[1], "abc", 3, 1000), -EIO);
    /* planted io_trust_count: the impossible count reaches the caller */
    sc_set(&rd_s, huge, 1, 0);
    assert_int_equal(ipcf_bugs_set("io_trust_count"), 0);
    ssize_t n = ipcf_io_read_some(p[0], buf, 4, 1000);
    assert_int_equal(ipcf_bugs_set(""), 0);
    close(p[0]);
    close(p[1]);
    assert_int_equal(n, 4 + 100); /* the bug's observable effect */
}

/* write()/send() fail with EINTR/EAGAIN, write 1 byte or 0 bytes: every byte
 * still arrives, in order, and *done is exact. */
static void write_sched_case(int use_send)
{
    static const enum sc_mode wm[] = {SC_EINTR,  SC_SHORT1, SC_EAGAIN, SC_ZERO,
                                      SC_SHORT1, SC_PASS,   SC_EINTR};
    int p[2];
    static uint8_t in[5000], out[5000];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = pat(i * 7);
    if (use_send)
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, p), 0);
    else
        assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    size_t off = 0, done = 0;
    int rc = 0;
    /* write in pieces of 700 so each call meets several faults */
    while (off < sizeof(in) && rc == 0) {
        size_t k = sizeof(in) - off < 700 ? sizeof(in) - off : 700;
        sc_set(&wr_s, wm, NELEM(wm), 1);
        struct ipcf_deadline dl = ipcf_deadline_in(10000);
        rc = use_send ? ipcf_io_send_all_until(p[1], in + off, k, &done, &dl)
                      : ipcf_io_write_all_until(p[1], in + off, k, &done, &dl);
        if (rc == 0 && done != k)
            rc = -1000;
        off += done;
    }
    sc_set(&wr_s, NULL, 0, 0);
    ssize_t n = ipcf_io_read_all(p[0], out, sizeof(out), 5000);
    close(p[0]);
    close(p[1]);
    assert_int_equal(rc, 0);
    assert_int_equal(off, sizeof(in));
    assert_int_equal(n, sizeof(out));
    assert_memory_equal(in, out, sizeof(in));
}

static void test_io_sched_write_faults(void **state)
{
    (void)state;
    write_sched_case(0);
    write_sched_case(1);
}

/* A read() that fails with EAGAIN forever although poll() says ready (an
 * injector with p=1) ends at the deadline WITHOUT spinning a core: after a
 * few free retries each one sleeps. Planted io_busy_retry spins. */
static unsigned long eagain_forever_calls(void)
{
    static const enum sc_mode am[] = {SC_EAGAIN};
    int p[2];
    char c;
    assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    assert_int_equal(write(p[1], "r", 1), 1);
    sc_set(&rd_s, am, 1, 1);
    int64_t t0 = ipcft_now_ms();
    ssize_t n = ipcf_io_read_some(p[0], &c, 1, 200);
    int64_t dt = ipcft_now_ms() - t0;
    unsigned long calls = rd_s.calls;
    sc_set(&rd_s, NULL, 0, 0);
    close(p[0]);
    close(p[1]);
    assert_int_equal(n, -IPCF_ETIMEDOUT);
    assert_true(dt >= 199 && dt < 5000);
    return calls;
}

static void test_io_no_busy_loop(void **state)
{
    (void)state;
    unsigned long calm = eagain_forever_calls();
    assert_int_equal(ipcf_bugs_set("io_busy_retry"), 0);
    unsigned long busy = eagain_forever_calls();
    assert_int_equal(ipcf_bugs_set(""), 0);
    print_message("read() calls in 200 ms of EAGAIN: %lu with back-off, %lu without\n", calm, busy);
    assert_true(calm < 1000); /* ~1 per ms at most */
    assert_true(busy > 2000); /* the planted bug's observable effect */
}

static void test_io_misc(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    assert_int_equal(ipcf_io_set_nonblock(p[0], true), 0);
    assert_true(fcntl(p[0], F_GETFL) & O_NONBLOCK);
    assert_int_equal(ipcf_io_set_nonblock(p[0], false), 0);
    assert_false(fcntl(p[0], F_GETFL) & O_NONBLOCK);
    assert_int_equal(ipcf_io_close(p[0]), 0);
    assert_int_equal(ipcf_io_close(p[1]), 0);
    assert_int_equal(ipcf_io_close(-1), 0);
    assert_int_equal(ipcf_io_close(p[1]), -EBADF);
    assert_int_equal(ipcf_io_set_nonblock(p[1], true), -EBADF);
    assert_int_equal(ipcf_io_write_all(p[1], "x", 1, 10), -EBADF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_io_deadline),
        cmocka_unit_test(test_io_read_timeout_bounded),
        cmocka_unit_test(test_io_eof_and_partial_read_all),
        cmocka_unit_test(test_io_short_reads_assembled),
        cmocka_unit_test(test_io_bug_assume_full_read),
        cmocka_unit_test(test_io_short_writes_to_slow_reader),
        cmocka_unit_test(test_io_send_all_socket),
        cmocka_unit_test(test_io_write_timeout_reports_progress),
        cmocka_unit_test(test_io_eintr_retried),
        cmocka_unit_test(test_io_storm_keeps_deadline),
        cmocka_unit_test(test_io_eintr_write_retried),
        cmocka_unit_test(test_io_bug_no_eintr_retry),
        cmocka_unit_test(test_io_epipe_without_dying),
        cmocka_unit_test(test_io_bug_sigpipe_default),
        cmocka_unit_test_setup_teardown(test_io_sched_read_faults, sc_setup, sc_teardown),
        cmocka_unit_test_setup_teardown(test_io_sched_spurious_poll, sc_setup, sc_teardown),
        cmocka_unit_test_setup_teardown(test_io_sched_impossible_counts, sc_setup, sc_teardown),
        cmocka_unit_test_setup_teardown(test_io_sched_write_faults, sc_setup, sc_teardown),
        cmocka_unit_test_setup_teardown(test_io_no_busy_loop, sc_setup, sc_teardown),
        cmocka_unit_test(test_io_misc),
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
