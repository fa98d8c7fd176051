/* test_fifo.c — the FIFO transport with real forked peers: the shared stream
 * scenarios, bounded opens, stale-name adoption after the creator is
 * SIGKILLed, refusal to adopt what is not ours, reopen after the writer died,
 * and the planted fifo_leak_path bug. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chantest.h"
#include "testutil.h"
#include "ipcfuzz/bugs.h"

static int f_prepare(struct chantest_env *env)
{
    (void)env;
    return 0;
}

/* The parent creates the FIFO (either role); the child opens it by name. */
static int f_open(struct chantest_env *env, unsigned role, struct ipcf_channel *ch, int timeout_ms)
{
    unsigned flags = role | (getpid() == env->parent ? IPCF_CH_CREATE : 0);
    return ipcf_fifo_open(ch, env->tag, flags, CHANTEST_MAX_PAYLOAD, timeout_ms);
}

static void f_finish(struct chantest_env *env)
{
    (void)env;
}

static const struct chantest_transport fifo_t = {"fifo", f_prepare, f_open, f_finish};

static void test_fifo_sizes_in_order(void **state)
{
    (void)state;
    chantest_sizes_in_order(&fifo_t);
}

static void test_fifo_torn_by_close(void **state)
{
    (void)state;
    chantest_torn_by_close(&fifo_t);
}

static void test_fifo_torn_by_kill(void **state)
{
    (void)state;
    chantest_torn_by_kill(&fifo_t);
}

static void test_fifo_epipe_survives(void **state)
{
    (void)state;
    chantest_epipe_survives(&fifo_t);
}

static void test_fifo_recv_timeout(void **state)
{
    (void)state;
    chantest_recv_timeout(&fifo_t);
}

static void test_fifo_survives_writer_death(void **state)
{
    (void)state;
    chantest_survives_writer_death(&fifo_t);
}

static void test_fifo_syscall_faults(void **state)
{
    (void)state;
    chantest_syscall_faults(&fifo_t);
}

static int path_exists(const char *tag)
{
    char path[IPCF_NAME_MAX];
    struct stat st;
    assert_int_equal(ipcf_name_path(path, sizeof(path), tag), 0);
    return lstat(path, &st) == 0;
}

/* Opening a FIFO blocks until the other side opens: ours never block past
 * the deadline, with no name at all or with a name but no reader. */
static void test_fifo_open_bounded(void **state)
{
    (void)state;
    struct ipcf_channel ch;
    char path[IPCF_NAME_MAX];

    int64_t t0 = ipcft_now_ms();
    assert_int_equal(ipcf_fifo_open(&ch, "nothere", IPCF_CH_WRITE, 0, 100), -IPCF_ETIMEDOUT);
    int64_t dt = ipcft_now_ms() - t0;
    assert_true(dt >= 99 && dt < 5000);
    assert_int_equal(ipcf_name_path(path, sizeof(path), "noreader"), 0);
    assert_int_equal(mkfifo(path, 0600), 0);
    t0 = ipcft_now_ms();
    assert_int_equal(ipcf_fifo_open(&ch, "noreader", IPCF_CH_WRITE, 0, 100), -IPCF_ETIMEDOUT);
    dt = ipcft_now_ms() - t0;
    assert_true(dt >= 99 && dt < 5000);
    /* a reader opens at once, even with no writer */
    assert_int_equal(ipcf_fifo_open(&ch, "noreader", IPCF_CH_READ, 0, 0), 0);
    assert_int_equal(ipcf_channel_close(&ch), 0);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(ipcf_fifo_open(&ch, "x", IPCF_CH_READ | IPCF_CH_WRITE, 0, 10), -EINVAL);
    assert_int_equal(ipcf_fifo_open(&ch, "../x", IPCF_CH_READ, 0, 10), -EINVAL);
    chantest_assert_no_names();
}

struct stale_arg {
    int sync;
};

/* Create the FIFO, report, then wait to be SIGKILLed (never closes). */
static int stale_creator(void *arg)
{
    struct stale_arg *a = arg;
    struct ipcf_channel ch;
    if (ipcf_fifo_open(&ch, "stale", IPCF_CH_READ | IPCF_CH_CREATE, 0, 1000) != 0)
        return 10;
    if (chantest_signal(a->sync) != 0)
        return 11;
    pause();
    return 12;
}

static int one_frame_writer(void *arg)
{
    (void)arg;
    struct ipcf_channel ch;
    if (ipcf_fifo_open(&ch, "stale", IPCF_CH_WRITE, 0, 5000) != 0)
        return 10;
    if (ipcf_channel_send(&ch, 42, "after-restart", 13, 5000) != 0)
        return 11;
    return ipcf_channel_close(&ch) == 0 ? 0 : 12;
}

/* The creator is SIGKILLed: its FIFO stays; a restarted creator adopts it
 * and the channel works; close then removes it. */
static void test_fifo_stale_recovered(void **state)
{
    (void)state;
    int sync[2], st = 0;
    struct ipcf_channel ch;
    struct ipcf_frame f;

    assert_int_equal(pipe2(sync, O_CLOEXEC), 0);
    struct stale_arg a = {sync[1]};
    pid_t pid = ipcft_fork(stale_creator, &a);
    int rc = chantest_await(sync[0], 5000);
    kill(pid, SIGKILL);
    assert_int_equal(ipcft_wait(pid, 5000, &st), 0);
    close(sync[0]);
    close(sync[1]);
    assert_int_equal(rc, 0);
    assert_true(WIFSIGNALED(st));
    assert_true(path_exists("stale"));

    assert_int_equal(ipcf_fifo_open(&ch, "stale", IPCF_CH_READ | IPCF_CH_CREATE, 0, 1000), 0);
    pid = ipcft_fork(one_frame_writer, NULL);
    rc = ipcf_channel_recv(&ch, &f, 5000);
    ipcft_expect_exit0(pid, 5000);
    assert_int_equal(rc, 0);
    assert_int_equal(f.seq, 42);
    assert_memory_equal(f.payload, "after-restart", 13);
    assert_int_equal(ipcf_channel_close(&ch), 0);
    assert_false(path_exists("stale"));
    chantest_assert_no_names();
}

/* Something at the path that is not a FIFO is never adopted or removed. */
static void test_fifo_refuses_foreign_name(void **state)
{
    (void)state;
    char path[IPCF_NAME_MAX];
    struct ipcf_channel ch;
    assert_int_equal(ipcf_name_path(path, sizeof(path), "notfifo"), 0);
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(ipcf_fifo_open(&ch, "notfifo", IPCF_CH_READ | IPCF_CH_CREATE, 0, 100),
                     -EEXIST);
    assert_true(path_exists("notfifo"));
    /* without CREATE, opening a regular file as a FIFO is refused too */
    assert_int_equal(ipcf_fifo_open(&ch, "notfifo", IPCF_CH_READ, 0, 100), -EEXIST);
    assert_int_equal(unlink(path), 0);
    chantest_assert_no_names();
}

static int seq_writer(void *arg)
{
    uint64_t seq = (uint64_t)(uintptr_t)arg;
    struct ipcf_channel ch;
    if (ipcf_fifo_open(&ch, "reopen", IPCF_CH_WRITE, 0, 5000) != 0)
        return 10;
    if (ipcf_channel_send(&ch, seq, NULL, 0, 5000) != 0)
        return 11;
    return ipcf_channel_close(&ch) == 0 ? 0 : 12;
}

/* The harness's restart flow: the writer goes away (ECLOSED), the reader
 * reopens, a new writer connects and is heard. */
static void test_fifo_reopen_after_writer_exit(void **state)
{
    (void)state;
    struct ipcf_channel ch;
    struct ipcf_frame f;
    assert_int_equal(ipcf_fifo_open(&ch, "reopen", IPCF_CH_READ | IPCF_CH_CREATE, 0, 1000), 0);
    pid_t pid = ipcft_fork(seq_writer, (void *)(uintptr_t)1);
    int rc1 = ipcf_channel_recv(&ch, &f, 5000);
    uint64_t s1 = f.seq;
    int rc2 = ipcf_channel_recv(&ch, &f, 5000);
    ipcft_expect_exit0(pid, 5000);
    assert_int_equal(rc1, 0);
    assert_int_equal(s1, 1);
    assert_int_equal(rc2, -IPCF_ECLOSED);
    assert_int_equal(ipcf_channel_reopen(&ch, 1000), 0);
    pid = ipcft_fork(seq_writer, (void *)(uintptr_t)2);
    rc1 = ipcf_channel_recv(&ch, &f, 5000);
    ipcft_expect_exit0(pid, 5000);
    assert_int_equal(rc1, 0);
    assert_int_equal(f.seq, 2);
    assert_int_equal(ch.rx_frames, 2);
    assert_int_equal(ipcf_channel_close(&ch), 0);
    chantest_assert_no_names();
}

/* A forked child closing its copy of the creator's channel removes nothing. */
static int close_copy(void *arg)
{
    return ipcf_channel_close(arg) == 0 ? 0 : 1;
}

static void test_fifo_only_creator_removes(void **state)
{
    (void)state;
    struct ipcf_channel ch;
    assert_int_equal(ipcf_fifo_open(&ch, "owner", IPCF_CH_READ | IPCF_CH_CREATE, 0, 100), 0);
    ipcft_expect_exit0(ipcft_fork(close_copy, &ch), 5000);
    assert_true(path_exists("owner"));
    ipcf_channel_disown(&ch);
    assert_int_equal(ipcf_channel_close(&ch), 0);
    assert_true(path_exists("owner")); /* disowned: left for someone else */
    assert_int_equal(ipcf_fifo_open(&ch, "owner", IPCF_CH_READ | IPCF_CH_CREATE, 0, 100), 0);
    assert_int_equal(ipcf_channel_close(&ch), 0);
    assert_false(path_exists("owner"));
}

/* Planted bug fifo_leak_path: close leaves the name (the audit's check). */
static void test_fifo_bug_leak_path(void **state)
{
    (void)state;
    struct ipcf_channel ch;
    char path[IPCF_NAME_MAX];
    assert_int_equal(ipcf_bugs_set("fifo_leak_path"), 0);
    int rc = ipcf_fifo_open(&ch, "leak", IPCF_CH_READ | IPCF_CH_CREATE, 0, 100);
    int rc2 = ipcf_channel_close(&ch);
    int left = ipcft_count_run_names();
    assert_int_equal(ipcf_bugs_set(""), 0);
    assert_int_equal(ipcf_name_path(path, sizeof(path), "leak"), 0);
    (void)unlink(path);
    assert_int_equal(rc, 0);
    assert_int_equal(rc2, 0);
    assert_int_equal(left, 1); /* the bug's observable effect */
    chantest_assert_no_names();
}

/* A symlink at the name is never followed, with or without CREATE (before
 * the fix, a plain open followed it to the FIFO it pointed at). Every
 * descriptor is close-on-exec. */
static void test_fifo_symlink_refused(void **state)
{
    (void)state;
    char target[IPCF_NAME_MAX], link[IPCF_NAME_MAX];
    struct ipcf_channel ch;
    assert_int_equal(ipcf_name_path(target, sizeof(target), "linktarget"), 0);
    assert_int_equal(ipcf_name_path(link, sizeof(link), "link"), 0);
    assert_int_equal(mkfifo(target, 0600), 0);
    assert_int_equal(symlink(target, link), 0);
    int r1 = ipcf_fifo_open(&ch, "link", IPCF_CH_READ, 0, 100);
    if (r1 == 0)
        (void)ipcf_channel_close(&ch);
    int r2 = ipcf_fifo_open(&ch, "link", IPCF_CH_READ | IPCF_CH_CREATE, 0, 100);
    if (r2 == 0)
        (void)ipcf_channel_close(&ch);
    struct stat st;
    int still_link = lstat(link, &st) == 0 && S_ISLNK(st.st_mode);
    /* the real FIFO opened directly works, and is O_CLOEXEC|O_NONBLOCK */
    int r3 = ipcf_fifo_open(&ch, "linktarget", IPCF_CH_READ, 0, 100);
    int fdflags = r3 == 0 ? fcntl(ch.fd, F_GETFD) : 0;
    int flflags = r3 == 0 ? fcntl(ch.fd, F_GETFL) : 0;
    if (r3 == 0)
        (void)ipcf_channel_close(&ch);
    (void)unlink(link);
    (void)unlink(target);
    assert_int_equal(r1, -EEXIST);
    assert_int_equal(r2, -EEXIST);
    assert_true(still_link); /* never removed either */
    assert_int_equal(r3, 0);
    assert_true(fdflags & FD_CLOEXEC);
    assert_true(flflags & O_NONBLOCK);
    chantest_assert_no_names();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_sizes_in_order),
        cmocka_unit_test(test_fifo_torn_by_close),
        cmocka_unit_test(test_fifo_torn_by_kill),
        cmocka_unit_test(test_fifo_epipe_survives),
        cmocka_unit_test(test_fifo_recv_timeout),
        cmocka_unit_test(test_fifo_survives_writer_death),
        cmocka_unit_test(test_fifo_syscall_faults),
        cmocka_unit_test(test_fifo_open_bounded),
        cmocka_unit_test(test_fifo_stale_recovered),
        cmocka_unit_test(test_fifo_refuses_foreign_name),
        cmocka_unit_test(test_fifo_reopen_after_writer_exit),
        cmocka_unit_test(test_fifo_only_creator_removes),
        cmocka_unit_test(test_fifo_bug_leak_path),
        cmocka_unit_test(test_fifo_symlink_refused),
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
