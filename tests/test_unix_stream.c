/* test_unix_stream.c — the Unix stream-socket transport with real forked
 * peers: the shared stream scenarios, stale socket recovery after the
 * listener is SIGKILLed, a live listener never clobbered (-EADDRINUSE),
 * reconnect, bounded accept/connect, SO_PEERCRED, and the planted
 * unix_leak_path / unix_no_stale_recovery bugs. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <grp.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chantest.h"
#include "testutil.h"
#include "ipcfuzz/bugs.h"

static int u_prepare(struct chantest_env *env)
{
    return ipcf_unix_listen(&env->lis, env->tag, CHANTEST_MAX_PAYLOAD);
}

/* The parent listens and accepts; the child connects (either role). */
static int u_open(struct chantest_env *env, unsigned role, struct ipcf_channel *ch, int timeout_ms)
{
    (void)role;
    if (getpid() == env->parent)
        return ipcf_unix_accept(&env->lis, ch, timeout_ms);
    (void)ipcf_unix_listener_close(&env->lis); /* not the binder: fd only */
    return ipcf_unix_connect(ch, env->tag, CHANTEST_MAX_PAYLOAD, timeout_ms);
}

static void u_finish(struct chantest_env *env)
{
    (void)ipcf_unix_listener_close(&env->lis);
}

static const struct chantest_transport unix_t = {"unix_stream", u_prepare, u_open, u_finish};

static void test_unix_sizes_in_order(void **state)
{
    (void)state;
    chantest_sizes_in_order(&unix_t);
}

static void test_unix_torn_by_close(void **state)
{
    (void)state;
    chantest_torn_by_close(&unix_t);
}

static void test_unix_torn_by_kill(void **state)
{
    (void)state;
    chantest_torn_by_kill(&unix_t);
}

static void test_unix_epipe_survives(void **state)
{
    (void)state;
    chantest_epipe_survives(&unix_t);
}

static void test_unix_recv_timeout(void **state)
{
    (void)state;
    chantest_recv_timeout(&unix_t);
}

static void test_unix_survives_writer_death(void **state)
{
    (void)state;
    chantest_survives_writer_death(&unix_t);
}

static void test_unix_syscall_faults(void **state)
{
    (void)state;
    chantest_syscall_faults(&unix_t);
}

static int path_exists(const char *tag)
{
    char path[IPCF_NAME_MAX];
    struct stat st;
    assert_int_equal(ipcf_name_path(path, sizeof(path), tag), 0);
    return lstat(path, &st) == 0;
}

struct lis_arg {
    int sync;    /* child -> parent: "listening" */
    int release; /* parent -> child: "you may exit" */
};

/* Listen on "srv", report, then either wait to be killed (release < 0) or
 * accept connections until released, then close cleanly. */
static int listener_child(void *arg)
{
    struct lis_arg *a = arg;
    struct ipcf_unix_listener l;
    if (ipcf_unix_listen(&l, "srv", 0) != 0)
        return 10;
    if (chantest_signal(a->sync) != 0)
        return 11;
    if (a->release < 0) {
        pause();
        return 12;
    }
    if (chantest_await(a->release, 10000) != 0)
        return 13;
    return ipcf_unix_listener_close(&l) == 0 ? 0 : 14;
}

/* Fork a listener child on "srv" and wait until it listens. */
static pid_t start_listener(int sync[2], int rel[2], int killable)
{
    assert_int_equal(pipe2(sync, O_CLOEXEC), 0);
    assert_int_equal(pipe2(rel, O_CLOEXEC), 0);
    static struct lis_arg a;
    a.sync = sync[1];
    a.release = killable ? -1 : rel[0];
    pid_t pid = ipcft_fork(listener_child, &a);
    if (chantest_await(sync[0], 5000) != 0) {
        (void)ipcft_wait(pid, 0, NULL);
        fail_msg("listener child did not start");
    }
    return pid;
}

static void close_pair(int p[2])
{
    close(p[0]);
    close(p[1]);
}

/* The listener is SIGKILLed: its socket path stays; a restart finds it stale
 * (ECONNREFUSED), replaces it and works. */
static void test_unix_stale_recovered(void **state)
{
    (void)state;
    int sync[2], rel[2], st = 0;
    struct ipcf_unix_listener l;
    struct ipcf_channel c, s;
    struct ipcf_frame f;

    pid_t pid = start_listener(sync, rel, 1);
    kill(pid, SIGKILL);
    assert_int_equal(ipcft_wait(pid, 5000, &st), 0);
    close_pair(sync);
    close_pair(rel);
    assert_true(WIFSIGNALED(st));
    assert_true(path_exists("srv"));

    assert_int_equal(ipcf_unix_listen(&l, "srv", 0), 0);
    assert_int_equal(ipcf_unix_connect(&c, "srv", 0, 1000), 0);
    assert_int_equal(ipcf_unix_accept(&l, &s, 1000), 0);
    assert_int_equal(ipcf_channel_send(&c, 9, "hi", 2, 1000), 0);
    assert_int_equal(ipcf_channel_recv(&s, &f, 1000), 0);
    assert_int_equal(f.seq, 9);
    assert_int_equal(ipcf_channel_close(&c), 0);
    assert_int_equal(ipcf_channel_close(&s), 0);
    assert_int_equal(ipcf_unix_listener_close(&l), 0);
    assert_false(path_exists("srv"));
    chantest_assert_no_names();
}

/* Planted bug unix_no_stale_recovery: the restart fails with EADDRINUSE. */
static void test_unix_bug_no_stale_recovery(void **state)
{
    (void)state;
    int sync[2], rel[2], st = 0;
    struct ipcf_unix_listener l;

    pid_t pid = start_listener(sync, rel, 1);
    kill(pid, SIGKILL);
    assert_int_equal(ipcft_wait(pid, 5000, &st), 0);
    close_pair(sync);
    close_pair(rel);
    assert_int_equal(ipcf_bugs_set("unix_no_stale_recovery"), 0);
    int rc = ipcf_unix_listen(&l, "srv", 0);
    assert_int_equal(ipcf_bugs_set(""), 0);
    if (rc == 0)
        (void)ipcf_unix_listener_close(&l);
    assert_int_equal(rc, -EADDRINUSE);                   /* the bug's observable effect */
    assert_int_equal(ipcf_unix_listen(&l, "srv", 0), 0); /* bug off: recovers */
    assert_int_equal(ipcf_unix_listener_close(&l), 0);
    chantest_assert_no_names();
}

/* A live listener is never clobbered: -EADDRINUSE and it keeps working. */
static void test_unix_live_listener_kept(void **state)
{
    (void)state;
    int sync[2], rel[2];
    struct ipcf_unix_listener l;
    struct ipcf_channel c;

    pid_t pid = start_listener(sync, rel, 0);
    int rc = ipcf_unix_listen(&l, "srv", 0);
    if (rc == 0)
        (void)ipcf_unix_listener_close(&l);
    int exists = path_exists("srv");
    int rc2 = ipcf_unix_connect(&c, "srv", 0, 1000); /* the child's listener still answers */
    (void)ipcf_channel_close(&c);
    (void)chantest_signal(rel[1]);
    ipcft_expect_exit0(pid, 5000);
    close_pair(sync);
    close_pair(rel);
    assert_int_equal(rc, -EADDRINUSE);
    assert_true(exists);
    assert_int_equal(rc2, 0);
    chantest_assert_no_names();
}

/* A non-socket at the path is refused and never removed. */
static void test_unix_refuses_foreign_name(void **state)
{
    (void)state;
    char path[IPCF_NAME_MAX];
    struct ipcf_unix_listener l;
    assert_int_equal(ipcf_name_path(path, sizeof(path), "file"), 0);
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(ipcf_unix_listen(&l, "file", 0), -EEXIST);
    assert_true(path_exists("file"));
    assert_int_equal(unlink(path), 0);
    chantest_assert_no_names();
}

/* Planted bug unix_leak_path: the listener's close leaves its path. */
static void test_unix_bug_leak_path(void **state)
{
    (void)state;
    struct ipcf_unix_listener l;
    char path[IPCF_NAME_MAX];
    assert_int_equal(ipcf_bugs_set("unix_leak_path"), 0);
    int rc = ipcf_unix_listen(&l, "leak", 0);
    int rc2 = ipcf_unix_listener_close(&l);
    int left = ipcft_count_run_names();
    assert_int_equal(ipcf_bugs_set(""), 0);
    assert_int_equal(ipcf_name_path(path, sizeof(path), "leak"), 0);
    (void)unlink(path);
    assert_int_equal(rc, 0);
    assert_int_equal(rc2, 0);
    assert_int_equal(left, 1); /* the bug's observable effect */
    chantest_assert_no_names();
}

/* accept and connect are bounded; a client reconnects after the server
 * restarted; SO_PEERCRED is ours; accepted channels cannot reopen. */
static void test_unix_bounded_and_reconnect(void **state)
{
    (void)state;
    struct ipcf_unix_listener l;
    struct ipcf_channel c, s;
    struct ipcf_frame f;

    int64_t t0 = ipcft_now_ms();
    assert_int_equal(ipcf_unix_connect(&c, "none", 0, 100), -IPCF_ETIMEDOUT);
    assert_true(ipcft_now_ms() - t0 >= 99 && ipcft_now_ms() - t0 < 5000);
    assert_int_equal(ipcf_unix_listen(&l, "re", 0), 0);
    t0 = ipcft_now_ms();
    assert_int_equal(ipcf_unix_accept(&l, &s, 100), -IPCF_ETIMEDOUT);
    assert_true(ipcft_now_ms() - t0 >= 99 && ipcft_now_ms() - t0 < 5000);

    assert_int_equal(ipcf_unix_connect(&c, "re", 0, 1000), 0);
    assert_int_equal(ipcf_unix_accept(&l, &s, 1000), 0);
    struct ucred cred;
    socklen_t len = sizeof(cred);
    assert_int_equal(getsockopt(s.fd, SOL_SOCKET, SO_PEERCRED, &cred, &len), 0);
    assert_int_equal(cred.uid, geteuid());
    assert_int_equal(cred.pid, getpid());
    assert_int_equal(ipcf_channel_reopen(&s, 100), -ENOTSUP);
    /* server side goes away between frames: client sees ECLOSED */
    assert_int_equal(ipcf_channel_close(&s), 0);
    assert_int_equal(ipcf_channel_recv(&c, &f, 1000), -IPCF_ECLOSED);
    /* reconnect (same listener still up) and talk both ways */
    assert_int_equal(ipcf_channel_reopen(&c, 1000), 0);
    assert_int_equal(ipcf_unix_accept(&l, &s, 1000), 0);
    assert_int_equal(ipcf_channel_send(&s, 3, "srv", 3, 1000), 0);
    assert_int_equal(ipcf_channel_recv(&c, &f, 1000), 0);
    assert_int_equal(f.seq, 3);
    assert_int_equal(ipcf_channel_send(&c, 4, "cli", 3, 1000), 0);
    assert_int_equal(ipcf_channel_recv(&s, &f, 1000), 0);
    assert_int_equal(f.seq, 4);
    assert_int_equal(ipcf_channel_close(&c), 0);
    assert_int_equal(ipcf_channel_close(&s), 0);
    assert_int_equal(ipcf_unix_listener_close(&l), 0);
    assert_int_equal(ipcf_unix_listener_close(&l), 0); /* idempotent */
    chantest_assert_no_names();
}

/* Connect to path as uid/gid 65534 (the path was computed by the parent). */
static int foreign_connect(void *arg)
{
    const char *path = arg;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
    if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
        return 10;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        return 11;
    char c;
    ssize_t n = read(fd, &c, 1); /* until the server hangs up */
    (void)n;
    return 0;
}

/* Accept from a peer of another uid: refused with -IPCF_EPEER, and with the
 * planted unix_no_peercred bug, accepted. Needs root (to become uid 65534 and
 * to open the run directory to it for the duration of the test). */
static int accept_foreign(int *child_ok)
{
    struct ipcf_unix_listener l;
    struct ipcf_channel s;
    char dir[IPCF_NAME_MAX];
    int st = 0;
    assert_int_equal(ipcf_unix_listen(&l, "cred", 0), 0);
    assert_int_equal(ipcf_run_dir(dir, sizeof(dir)), 0);
    int r1 = chmod(dir, 0711), r2 = chmod(l.path, 0777);
    pid_t pid = ipcft_fork(foreign_connect, l.path);
    int rc = ipcf_unix_accept(&l, &s, 5000);
    (void)chmod(dir, 0700);
    if (rc == 0)
        (void)ipcf_channel_close(&s);
    (void)ipcf_unix_listener_close(&l);
    (void)ipcft_wait(pid, 5000, &st);
    *child_ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    assert_int_equal(r1, 0);
    assert_int_equal(r2, 0);
    return rc;
}

static void test_unix_peercred_foreign_uid(void **state)
{
    (void)state;
    int child_ok;
    if (geteuid() != 0)
        skip();
    assert_int_equal(accept_foreign(&child_ok), -IPCF_EPEER);
    assert_true(child_ok);
    assert_int_equal(ipcf_bugs_set("unix_no_peercred"), 0);
    int rc = accept_foreign(&child_ok);
    assert_int_equal(ipcf_bugs_set(""), 0);
    assert_int_equal(rc, 0); /* the bug's observable effect */
    assert_true(child_ok);
    chantest_assert_no_names();
}

static unsigned long eintr_connects;

static int always_eintr_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    (void)fd;
    (void)sa;
    (void)len;
    eintr_connects++;
    errno = EINTR;
    return -1;
}

/* A connect() that is interrupted forever (an injector with p=1) ends at the
 * deadline without spinning (before the fix: an unbounded EINTR loop, a hang).
 * Accepted and connected sockets are close-on-exec and non-blocking. */
static void test_unix_connect_eintr_bounded(void **state)
{
    (void)state;
    struct ipcf_unix_listener l;
    struct ipcf_channel c, s;
    static const struct ipcf_io_syscalls calls = {.connect = always_eintr_connect};
    assert_int_equal(ipcf_unix_listen(&l, "intr", 0), 0);
    eintr_connects = 0;
    ipcf_io_set_syscalls(&calls);
    int64_t t0 = ipcft_now_ms();
    int rc = ipcf_unix_connect(&c, "intr", 0, 200);
    int64_t dt = ipcft_now_ms() - t0;
    ipcf_io_set_syscalls(NULL);
    int rc2 = ipcf_unix_connect(&c, "intr", 0, 1000);
    int rc3 = rc2 == 0 ? ipcf_unix_accept(&l, &s, 1000) : -1;
    int cfl = rc2 == 0 ? fcntl(c.fd, F_GETFD) : 0, sfl = rc3 == 0 ? fcntl(s.fd, F_GETFD) : 0;
    int cnb = rc2 == 0 ? fcntl(c.fd, F_GETFL) : 0, snb = rc3 == 0 ? fcntl(s.fd, F_GETFL) : 0;
    int lfl = fcntl(l.fd, F_GETFD);
    if (rc2 == 0)
        (void)ipcf_channel_close(&c);
    if (rc3 == 0)
        (void)ipcf_channel_close(&s);
    (void)ipcf_unix_listener_close(&l);
    assert_int_equal(rc, -IPCF_ETIMEDOUT);
    assert_true(dt >= 199 && dt < 5000);
    assert_true(eintr_connects > 3 && eintr_connects < 1000);
    assert_int_equal(rc2, 0);
    assert_int_equal(rc3, 0);
    assert_true(cfl & FD_CLOEXEC);
    assert_true(sfl & FD_CLOEXEC);
    assert_true(lfl & FD_CLOEXEC);
    assert_true(cnb & O_NONBLOCK);
    assert_true(snb & O_NONBLOCK);
    chantest_assert_no_names();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unix_sizes_in_order),
        cmocka_unit_test(test_unix_torn_by_close),
        cmocka_unit_test(test_unix_torn_by_kill),
        cmocka_unit_test(test_unix_epipe_survives),
        cmocka_unit_test(test_unix_recv_timeout),
        cmocka_unit_test(test_unix_survives_writer_death),
        cmocka_unit_test(test_unix_syscall_faults),
        cmocka_unit_test(test_unix_connect_eintr_bounded),
        cmocka_unit_test(test_unix_stale_recovered),
        cmocka_unit_test(test_unix_bug_no_stale_recovery),
        cmocka_unit_test(test_unix_live_listener_kept),
        cmocka_unit_test(test_unix_refuses_foreign_name),
        cmocka_unit_test(test_unix_bug_leak_path),
        cmocka_unit_test(test_unix_bounded_and_reconnect),
        cmocka_unit_test(test_unix_peercred_foreign_uid),
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
