/* test_io.c — the I/O retry helpers under real conditions: short reads (a
 * forked writer trickling 1 byte at a time), short writes (more than the pipe
 * buffer to a slow forked reader), real EINTR (a SIGALRM interval timer with a
 * handler installed WITHOUT SA_RESTART), bounded timeouts (also under a signal
 * storm), EPIPE without dying, and the two planted bugs' observable effects. */
#include <errno.h>
#include <fcntl.h>
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
    assert_true(dt >= 99 && dt < 1000);
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
    assert_true(dt >= 99 && dt < 1000);
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
    assert_true(dt >= 99 && dt < 1000);
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

static int pipe_writer_default(void *arg)
{
    (void)arg;
    int p[2];
    signal(SIGPIPE, SIG_DFL);
    if (pipe2(p, O_CLOEXEC) != 0)
        return 1;
    close(p[0]);
    int rc = ipcf_io_write_all(p[1], "x", 1, 100);
    return rc == -EPIPE ? 3 : 4; /* not reached: SIGPIPE kills us */
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
    int st = 0;
    ipcft_expect_exit0(ipcft_fork(pipe_writer_ignoring, NULL), 5000);
    ipcft_expect_exit0(ipcft_fork(socket_writer_default, NULL), 5000); /* MSG_NOSIGNAL */
    /* and the documented requirement is real: without ignoring, a pipe kills */
    assert_int_equal(ipcft_wait(ipcft_fork(pipe_writer_default, NULL), 5000, &st), 0);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE);
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
        cmocka_unit_test(test_io_misc),
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
