/* chantest.c — see chantest.h. Parent-side checks record the first failure in
 * a message and jump to cleanup (kill + reap the child, close channels, remove
 * names) BEFORE asserting, so a failing scenario leaks nothing. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chantest.h"
#include "testutil.h"

#define T_LONG 10000 /* ms: generous bound for steps that should be instant */

static char failmsg[256];

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            snprintf(failmsg, sizeof(failmsg), __VA_ARGS__);                                       \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

uint8_t chantest_byte(uint64_t seq, size_t i)
{
    return (uint8_t)(seq * 131u + i * 7u + (i >> 8) + 1u);
}

void chantest_fill(uint8_t *buf, uint64_t seq, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = chantest_byte(seq, i);
}

int chantest_check(const struct ipcf_frame *f, uint64_t seq, size_t len)
{
    if (f->seq != seq || f->len != len || !f->payload)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (f->payload[i] != chantest_byte(seq, i))
            return -1;
    return 0;
}

int chantest_signal(int fd)
{
    char c = 1;
    return ipcf_io_write_all(fd, &c, 1, T_LONG);
}

int chantest_await(int fd, int timeout_ms)
{
    char c;
    ssize_t n = ipcf_io_read_some(fd, &c, 1, timeout_ms);
    return n == 1 ? 0 : (n == 0 ? -EPIPE : (int)n);
}

void chantest_assert_no_names(void)
{
    assert_int_equal(ipcft_count_run_names(), 0);
}

static void env_init(struct chantest_env *env, const struct chantest_transport *t, const char *tag)
{
    memset(env, 0, sizeof(*env));
    env->t = t;
    env->tag = tag;
    env->parent = getpid();
    env->pipe_rd.fd = env->pipe_wr.fd = -1;
    env->lis.fd = -1;
    assert_int_equal(pipe2(env->c2p, O_CLOEXEC), 0);
    assert_int_equal(pipe2(env->p2c, O_CLOEXEC), 0);
    int rc = t->prepare(env);
    if (rc < 0)
        fail_msg("%s prepare: %s", t->name, ipcf_strerror(rc));
}

static void env_fini(struct chantest_env *env)
{
    env->t->finish(env);
    close(env->c2p[0]);
    close(env->c2p[1]);
    close(env->p2c[0]);
    close(env->p2c[1]);
}

/* Reap pid: wait for it normally, or kill it at once when the scenario has
 * already failed (failmsg set). */
static void reap(pid_t pid, int *status)
{
    int st = 0;
    if (pid <= 0)
        return;
    (void)ipcft_wait(pid, failmsg[0] ? 0 : T_LONG, &st);
    if (status)
        *status = st;
}

static int child_status_ok(int st)
{
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* ---- sizes 0, 1, PIPE_BUF, 64 KiB + 1, then 1000 frames in a row ---------- */

static const size_t sizes[] = {0, 1, PIPE_BUF, 65536 + 1};
#define NSIZES    (sizeof(sizes) / sizeof(sizes[0]))
#define NINAROW   1000
#define ROWLEN(k) ((size_t)((k)*37u % 600u))

static int sizes_writer(void *arg)
{
    struct chantest_env *env = arg;
    struct ipcf_channel ch;
    static uint8_t buf[65536 + 1];
    if (env->t->open(env, IPCF_CH_WRITE, &ch, T_LONG) < 0)
        return 10;
    for (size_t i = 0; i < NSIZES; i++) {
        chantest_fill(buf, i, sizes[i]);
        if (ipcf_channel_send(&ch, i, buf, sizes[i], T_LONG) != 0)
            return 11;
    }
    for (unsigned k = 0; k < NINAROW; k++) {
        uint64_t seq = NSIZES + k;
        chantest_fill(buf, seq, ROWLEN(k));
        if (ipcf_channel_send(&ch, seq, buf, ROWLEN(k), T_LONG) != 0)
            return 12;
    }
    return ipcf_channel_close(&ch) == 0 ? 0 : 13;
}

void chantest_sizes_in_order(const struct chantest_transport *t)
{
    struct chantest_env env;
    struct ipcf_channel ch = {.fd = -1};
    struct ipcf_frame f;
    int st = -1, rc;
    failmsg[0] = 0;

    env_init(&env, t, "sizes");
    pid_t pid = ipcft_fork(sizes_writer, &env);
    rc = t->open(&env, IPCF_CH_READ, &ch, T_LONG);
    CHECK(rc == 0, "open reader: %s", ipcf_strerror(rc));
    for (size_t i = 0; i < NSIZES; i++) {
        rc = ipcf_channel_recv(&ch, &f, T_LONG);
        CHECK(rc == 0, "recv size %zu: %s", sizes[i], ipcf_strerror(rc));
        CHECK(chantest_check(&f, i, sizes[i]) == 0, "frame %zu damaged", i);
    }
    for (unsigned k = 0; k < NINAROW; k++) {
        rc = ipcf_channel_recv(&ch, &f, T_LONG);
        CHECK(rc == 0, "recv row %u: %s", k, ipcf_strerror(rc));
        CHECK(chantest_check(&f, NSIZES + k, ROWLEN(k)) == 0, "row frame %u damaged/out of order",
              k);
    }
    rc = ipcf_channel_recv(&ch, &f, T_LONG);
    CHECK(rc == -IPCF_ECLOSED, "expected ECLOSED at end, got %s", ipcf_strerror(rc));
    CHECK(ch.rx_frames == NSIZES + NINAROW, "rx_frames %llu", (unsigned long long)ch.rx_frames);
out:
    reap(pid, &st);
    (void)ipcf_channel_close(&ch);
    env_fini(&env);
    if (failmsg[0])
        fail_msg("%s: %s", t->name, failmsg);
    if (!child_status_ok(st))
        fail_msg("%s: writer status 0x%x", t->name, st);
    chantest_assert_no_names();
}

/* ---- a frame torn by the writer's close / death ------------------------- */

/* Send frame 1 whole, then the first half of frame 2 raw. */
static int send_one_and_half(struct ipcf_channel *ch)
{
    static uint8_t payload[1000], wire[1100];
    chantest_fill(payload, 1, 100);
    if (ipcf_channel_send(ch, 1, payload, 100, T_LONG) != 0)
        return -1;
    chantest_fill(payload, 2, sizeof(payload));
    int n = ipcf_frame_encode(wire, sizeof(wire), 2, 0, payload, sizeof(payload));
    if (n < 0)
        return -1;
    return ipcf_io_write_all(ch->fd, wire, (size_t)n / 2, T_LONG);
}

static int torn_writer(void *arg)
{
    struct chantest_env *env = arg;
    struct ipcf_channel ch;
    if (env->t->open(env, IPCF_CH_WRITE, &ch, T_LONG) < 0)
        return 10;
    if (send_one_and_half(&ch) != 0)
        return 11;
    if (env->arg) { /* killed variant: tell the parent, then wait to be killed */
        if (chantest_signal(env->c2p[1]) != 0)
            return 12;
        (void)chantest_await(env->p2c[0], T_LONG);
        return 13; /* not killed: the parent failed */
    }
    return ipcf_channel_close(&ch) == 0 ? 0 : 14;
}

static void torn(const struct chantest_transport *t, int kill_it)
{
    struct chantest_env env;
    struct ipcf_channel ch = {.fd = -1};
    struct ipcf_frame f;
    int st = -1, rc;
    failmsg[0] = 0;

    env_init(&env, t, "torn");
    env.arg = kill_it;
    pid_t pid = ipcft_fork(torn_writer, &env);
    rc = t->open(&env, IPCF_CH_READ, &ch, T_LONG);
    CHECK(rc == 0, "open reader: %s", ipcf_strerror(rc));
    if (kill_it) {
        rc = chantest_await(env.c2p[0], T_LONG);
        CHECK(rc == 0, "writer never reached the torn state: %s", ipcf_strerror(rc));
        kill(pid, SIGKILL);
        rc = ipcft_wait(pid, T_LONG, &st);
        pid = 0;
        CHECK(rc == 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "writer not killed (0x%x)",
              st);
    }
    rc = ipcf_channel_recv(&ch, &f, T_LONG);
    CHECK(rc == 0 && chantest_check(&f, 1, 100) == 0, "whole frame 1: %s", ipcf_strerror(rc));
    rc = ipcf_channel_recv(&ch, &f, T_LONG);
    CHECK(rc == -IPCF_ETRUNCATED, "torn frame: expected ETRUNCATED, got %s%s", ipcf_strerror(rc),
          rc == 0 ? " (TORN FRAME DELIVERED)" : "");
    rc = ipcf_channel_recv(&ch, &f, T_LONG);
    CHECK(rc == -IPCF_ECLOSED, "after truncation: expected ECLOSED, got %s", ipcf_strerror(rc));
    CHECK(ch.rx_frames == 1, "rx_frames %llu", (unsigned long long)ch.rx_frames);
out:
    if (pid > 0)
        reap(pid, &st);
    (void)ipcf_channel_close(&ch);
    env_fini(&env);
    if (failmsg[0])
        fail_msg("%s: %s", t->name, failmsg);
    if (!kill_it && !child_status_ok(st))
        fail_msg("%s: writer status 0x%x", t->name, st);
    chantest_assert_no_names();
}

void chantest_torn_by_close(const struct chantest_transport *t)
{
    torn(t, 0);
}

void chantest_torn_by_kill(const struct chantest_transport *t)
{
    torn(t, 1);
}

/* ---- EPIPE when the reader is gone; the writer survives ------------------- */

static int epipe_reader(void *arg)
{
    struct chantest_env *env = arg;
    struct ipcf_channel ch;
    struct ipcf_frame f;
    if (env->t->open(env, IPCF_CH_READ, &ch, T_LONG) < 0)
        return 10;
    if (ipcf_channel_recv(&ch, &f, T_LONG) != 0 || chantest_check(&f, 1, 10) != 0)
        return 11;
    return ipcf_channel_close(&ch) == 0 ? 0 : 12;
}

void chantest_epipe_survives(const struct chantest_transport *t)
{
    struct chantest_env env;
    struct ipcf_channel ch = {.fd = -1};
    uint8_t buf[10];
    int st = -1, rc;
    failmsg[0] = 0;

    env_init(&env, t, "epipe");
    pid_t pid = ipcft_fork(epipe_reader, &env);
    rc = t->open(&env, IPCF_CH_WRITE, &ch, T_LONG);
    CHECK(rc == 0, "open writer: %s", ipcf_strerror(rc));
    chantest_fill(buf, 1, sizeof(buf));
    rc = ipcf_channel_send(&ch, 1, buf, sizeof(buf), T_LONG);
    CHECK(rc == 0, "send 1: %s", ipcf_strerror(rc));
    rc = ipcft_wait(pid, T_LONG, &st);
    pid = 0;
    CHECK(rc == 0 && child_status_ok(st), "reader status 0x%x", st);
    rc = ipcf_channel_send(&ch, 2, buf, sizeof(buf), T_LONG);
    CHECK(rc == -EPIPE || rc == -ECONNRESET, "send to a dead reader: expected EPIPE, got %s",
          ipcf_strerror(rc));
    CHECK(ch.tx_error == 0, "nothing was written, yet the channel is poisoned");
    CHECK(ch.tx_frames == 1 && ch.tx_last_seq == 1, "tx counters");
out:
    if (pid > 0)
        reap(pid, &st);
    (void)ipcf_channel_close(&ch);
    env_fini(&env);
    if (failmsg[0])
        fail_msg("%s: %s", t->name, failmsg);
    chantest_assert_no_names();
}

/* ---- receive timeout is bounded and keeps a partial frame ------------------ */

static int slow_writer(void *arg)
{
    struct chantest_env *env = arg;
    struct ipcf_channel ch;
    static uint8_t payload[300], wire[400];
    if (env->t->open(env, IPCF_CH_WRITE, &ch, T_LONG) < 0)
        return 10;
    chantest_fill(payload, 7, sizeof(payload));
    int n = ipcf_frame_encode(wire, sizeof(wire), 7, 0, payload, sizeof(payload));
    if (n < 0)
        return 11;
    if (chantest_signal(env->c2p[1]) || chantest_await(env->p2c[0], T_LONG))
        return 12;
    if (ipcf_io_write_all(ch.fd, wire, 100, T_LONG) != 0 || chantest_signal(env->c2p[1]))
        return 13;
    if (chantest_await(env->p2c[0], T_LONG))
        return 14;
    if (ipcf_io_write_all(ch.fd, wire + 100, (size_t)n - 100, T_LONG) != 0)
        return 15;
    if (chantest_await(env->p2c[0], T_LONG))
        return 16;
    return ipcf_channel_close(&ch) == 0 ? 0 : 17;
}

void chantest_recv_timeout(const struct chantest_transport *t)
{
    struct chantest_env env;
    struct ipcf_channel ch = {.fd = -1};
    struct ipcf_frame f;
    int st = -1, rc;
    failmsg[0] = 0;

    env_init(&env, t, "timeout");
    pid_t pid = ipcft_fork(slow_writer, &env);
    rc = t->open(&env, IPCF_CH_READ, &ch, T_LONG);
    CHECK(rc == 0, "open reader: %s", ipcf_strerror(rc));
    CHECK(chantest_await(env.c2p[0], T_LONG) == 0, "writer did not open");
    int64_t t0 = ipcft_now_ms();
    rc = ipcf_channel_recv(&ch, &f, 100);
    int64_t dt = ipcft_now_ms() - t0;
    CHECK(rc == -IPCF_ETIMEDOUT, "idle recv: expected ETIMEDOUT, got %s", ipcf_strerror(rc));
    CHECK(dt >= 99 && dt < 5000, "idle recv(100 ms) took %lld ms", (long long)dt);
    CHECK(chantest_signal(env.p2c[1]) == 0 && chantest_await(env.c2p[0], T_LONG) == 0, "sync 1");
    t0 = ipcft_now_ms();
    rc = ipcf_channel_recv(&ch, &f, 100);
    dt = ipcft_now_ms() - t0;
    CHECK(rc == -IPCF_ETIMEDOUT, "partial recv: expected ETIMEDOUT, got %s", ipcf_strerror(rc));
    CHECK(dt >= 99 && dt < 5000, "partial recv(100 ms) took %lld ms", (long long)dt);
    CHECK(ipcf_frame_decoder_buffered(&ch.dec) == 100, "partial frame not kept (%zu)",
          ipcf_frame_decoder_buffered(&ch.dec));
    CHECK(chantest_signal(env.p2c[1]) == 0, "sync 2");
    rc = ipcf_channel_recv(&ch, &f, T_LONG);
    CHECK(rc == 0 && chantest_check(&f, 7, 300) == 0, "resumed frame: %s", ipcf_strerror(rc));
    CHECK(chantest_signal(env.p2c[1]) == 0, "sync 3");
    rc = ipcf_channel_recv(&ch, &f, T_LONG);
    CHECK(rc == -IPCF_ECLOSED, "end: expected ECLOSED, got %s", ipcf_strerror(rc));
out:
    reap(pid, &st);
    (void)ipcf_channel_close(&ch);
    env_fini(&env);
    if (failmsg[0])
        fail_msg("%s: %s", t->name, failmsg);
    if (!child_status_ok(st))
        fail_msg("%s: writer status 0x%x", t->name, st);
    chantest_assert_no_names();
}

/* ---- bytes in the kernel survive the writer's death -------------------- */

#define NSURVIVE 10

static int dying_writer(void *arg)
{
    struct chantest_env *env = arg;
    struct ipcf_channel ch;
    uint8_t buf[64];
    if (env->t->open(env, IPCF_CH_WRITE, &ch, T_LONG) < 0)
        return 10;
    for (unsigned k = 0; k < NSURVIVE; k++) {
        chantest_fill(buf, k, sizeof(buf));
        if (ipcf_channel_send(&ch, k, buf, sizeof(buf), T_LONG) != 0)
            return 11;
    }
    raise(SIGKILL);
    return 12;
}

void chantest_survives_writer_death(const struct chantest_transport *t)
{
    struct chantest_env env;
    struct ipcf_channel ch = {.fd = -1};
    struct ipcf_frame f;
    int st = -1, rc;
    failmsg[0] = 0;

    env_init(&env, t, "survive");
    pid_t pid = ipcft_fork(dying_writer, &env);
    rc = t->open(&env, IPCF_CH_READ, &ch, T_LONG);
    CHECK(rc == 0, "open reader: %s", ipcf_strerror(rc));
    rc = ipcft_wait(pid, T_LONG, &st);
    pid = 0;
    CHECK(rc == 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "writer status 0x%x", st);
    for (unsigned k = 0; k < NSURVIVE; k++) {
        rc = ipcf_channel_recv(&ch, &f, T_LONG);
        CHECK(rc == 0 && chantest_check(&f, k, 64) == 0, "frame %u after writer death: %s", k,
              ipcf_strerror(rc));
    }
    rc = ipcf_channel_recv(&ch, &f, T_LONG);
    CHECK(rc == -IPCF_ECLOSED, "end: expected ECLOSED, got %s", ipcf_strerror(rc));
out:
    if (pid > 0)
        reap(pid, &st);
    (void)ipcf_channel_close(&ch);
    env_fini(&env);
    if (failmsg[0])
        fail_msg("%s: %s", t->name, failmsg);
    chantest_assert_no_names();
}

/* ---- every frame intact and in order while the system calls misbehave ----
 * Both processes run with a system-call table (ipcf_io_set_syscalls) that,
 * on a fixed cycle, makes read()/write()/send() fail with EINTR or EAGAIN
 * right after poll() said ready, transfer 1 byte, write 0 bytes, and makes
 * poll() fail with EINTR or wake with no revents; connect()/accept4() fail
 * with EINTR/EAGAIN a few times first. The writer (child) sends frames of
 * every size class; the reader (parent) must get each one, intact, in order,
 * then a clean end of stream. */

static unsigned long flt_calls[5], flt_injected;

static int flt_pick(int kind, int period)
{
    unsigned long i = flt_calls[kind]++;
    return (int)(i % (unsigned long)period);
}

static ssize_t flt_read(int fd, void *buf, size_t len)
{
    switch (flt_pick(0, 7)) {
    case 1:
        flt_injected++;
        errno = EINTR;
        return -1;
    case 3:
        flt_injected++;
        errno = EAGAIN;
        return -1;
    case 5:
        flt_injected++;
        return ipcf_io_libc_syscalls()->read(fd, buf, 1);
    default:
        return ipcf_io_libc_syscalls()->read(fd, buf, len);
    }
}

static ssize_t flt_out(int fd, const void *buf, size_t len, int flags, int use_send)
{
    const struct ipcf_io_syscalls *libc = ipcf_io_libc_syscalls();
    switch (flt_pick(1, 6)) {
    case 1:
        flt_injected++;
        errno = EINTR;
        return -1;
    case 2:
        flt_injected++;
        return 0;
    case 3:
        flt_injected++;
        errno = EAGAIN;
        return -1;
    case 4:
        flt_injected++;
        len = 1;
        break;
    default:
        break;
    }
    return use_send ? libc->send(fd, buf, len, flags) : libc->write(fd, buf, len);
}

static ssize_t flt_write(int fd, const void *buf, size_t len)
{
    return flt_out(fd, buf, len, 0, 0);
}

static ssize_t flt_send(int fd, const void *buf, size_t len, int flags)
{
    return flt_out(fd, buf, len, flags, 1);
}

static int flt_poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    switch (flt_pick(2, 5)) {
    case 2:
        flt_injected++;
        errno = EINTR;
        return -1;
    case 4:
        flt_injected++;
        for (nfds_t i = 0; i < nfds; i++)
            fds[i].revents = 0;
        return 1;
    default:
        return ipcf_io_libc_syscalls()->poll(fds, nfds, timeout);
    }
}

static int flt_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    if (flt_calls[3]++ < 3) {
        flt_injected++;
        errno = EINTR;
        return -1;
    }
    return ipcf_io_libc_syscalls()->connect(fd, sa, len);
}

static int flt_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
    unsigned long n = flt_calls[4]++;
    if (n < 2) {
        flt_injected++;
        errno = n == 0 ? EINTR : EAGAIN;
        return -1;
    }
    return ipcf_io_libc_syscalls()->accept4(fd, sa, len, flags);
}

static const struct ipcf_io_syscalls faulty_calls = {
    .read = flt_read,
    .write = flt_write,
    .send = flt_send,
    .poll = flt_poll,
    .connect = flt_connect,
    .accept4 = flt_accept4,
};

#define NFAULTROWS 300

static int faulty_writer(void *arg)
{
    struct chantest_env *env = arg;
    struct ipcf_channel ch;
    static uint8_t buf[65536 + 1];
    memset(flt_calls, 0, sizeof(flt_calls));
    flt_injected = 0;
    if (env->t->open(env, IPCF_CH_WRITE, &ch, T_LONG) < 0)
        return 10;
    for (size_t i = 0; i < NSIZES; i++) {
        chantest_fill(buf, i, sizes[i]);
        if (ipcf_channel_send(&ch, i, buf, sizes[i], T_LONG) != 0)
            return 11;
    }
    for (unsigned k = 0; k < NFAULTROWS; k++) {
        uint64_t seq = NSIZES + k;
        chantest_fill(buf, seq, ROWLEN(k) * 3);
        if (ipcf_channel_send(&ch, seq, buf, ROWLEN(k) * 3, T_LONG) != 0)
            return 12;
    }
    if (flt_injected < 100)
        return 13; /* the schedule did not really run in the writer */
    return ipcf_channel_close(&ch) == 0 ? 0 : 14;
}

void chantest_syscall_faults(const struct chantest_transport *t)
{
    struct chantest_env env;
    struct ipcf_channel ch = {.fd = -1};
    struct ipcf_frame f;
    int st = -1, rc;
    failmsg[0] = 0;

    memset(flt_calls, 0, sizeof(flt_calls));
    flt_injected = 0;
    env_init(&env, t, "faulty");
    ipcf_io_set_syscalls(&faulty_calls); /* inherited by the forked writer */
    pid_t pid = ipcft_fork(faulty_writer, &env);
    rc = t->open(&env, IPCF_CH_READ, &ch, T_LONG);
    CHECK(rc == 0, "open reader: %s", ipcf_strerror(rc));
    for (size_t i = 0; i < NSIZES; i++) {
        rc = ipcf_channel_recv(&ch, &f, T_LONG);
        CHECK(rc == 0, "recv size %zu: %s", sizes[i], ipcf_strerror(rc));
        CHECK(chantest_check(&f, i, sizes[i]) == 0, "frame %zu damaged", i);
    }
    for (unsigned k = 0; k < NFAULTROWS; k++) {
        rc = ipcf_channel_recv(&ch, &f, T_LONG);
        CHECK(rc == 0, "recv row %u: %s", k, ipcf_strerror(rc));
        CHECK(chantest_check(&f, NSIZES + k, ROWLEN(k) * 3) == 0,
              "row frame %u damaged/out of order", k);
    }
    rc = ipcf_channel_recv(&ch, &f, T_LONG);
    CHECK(rc == -IPCF_ECLOSED, "expected ECLOSED at end, got %s", ipcf_strerror(rc));
    CHECK(ch.rx_frames == NSIZES + NFAULTROWS, "rx_frames %llu", (unsigned long long)ch.rx_frames);
    CHECK(flt_injected >= 100, "only %lu faults injected in the reader", flt_injected);
out:
    reap(pid, &st);
    ipcf_io_set_syscalls(NULL);
    (void)ipcf_channel_close(&ch);
    env_fini(&env);
    if (failmsg[0])
        fail_msg("%s: %s", t->name, failmsg);
    if (!child_status_ok(st))
        fail_msg("%s: writer status 0x%x", t->name, st);
    chantest_assert_no_names();
}
