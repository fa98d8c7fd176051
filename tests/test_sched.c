/* test_sched.c — the scheduler: decisions are a pure function of (seed, peer,
 * rule, count); when= counts each rule's own matching calls; the first firing
 * rule wins; fork gives fresh counters; p= fires at roughly its rate and
 * independently of unrelated calls and of thread interleaving; the trace has
 * one line per call and point; the chooser replaces the plan; EAGAIN is only
 * injected on non-blocking descriptors; points take kill/delay/signal; inc=
 * selects rules by the process's incarnation.
 * Calls go through ipcf_wrap_<call>() (no libc override needed). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "ipcfuzz/bugs.h"
#include "ipcfuzz/faults.h"
#include "ipcfuzz/faults_wrap.h"

static int devnull = -1;

static void configure(const char *text, uint64_t seed, const char *peer)
{
    struct ipcf_plan p;
    struct ipcf_plan_error err;
    if (ipcf_plan_parse(text, &p, &err) != 0)
        fail_msg("plan '%s': %s", text, err.msg);
    assert_int_equal(ipcf_faults_configure(&p, seed, peer), 0);
    ipcf_plan_free(&p);
}

/* One write to /dev/null through the injector: 0 = passed, else the errno. */
static int one_write(void)
{
    errno = 0;
    ssize_t r = ipcf_wrap_write(devnull, "x", 1);
    return r == 1 ? 0 : errno;
}

static int setup(void **state)
{
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    return devnull >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
    ipcf_faults_disable();
    ipcf_faults_set_incarnation(0);
    ipcf_faults_trace_fd(-1);
    ipcf_faults_set_chooser(NULL, NULL);
    return 0;
}

static void pattern(const char *plan, uint64_t seed, const char *peer, int n, char *out)
{
    configure(plan, seed, peer);
    for (int i = 0; i < n; i++)
        out[i] = one_write() ? 'X' : '.';
    out[n] = '\0';
}

static void test_same_seed_same_decisions(void **state)
{
    (void)state;
    char a[301], b[301], c[301], d[301];
    pattern("write:error=EINTR:p=0.3", 1, "me", 300, a);
    pattern("write:error=EINTR:p=0.3", 1, "me", 300, b);
    pattern("write:error=EINTR:p=0.3", 2, "me", 300, c);
    pattern("write:error=EINTR:p=0.3", 1, "other", 300, d);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, d);
    /* the trace hash replays too */
    configure("write:error=EINTR:p=0.3", 7, "me");
    for (int i = 0; i < 100; i++)
        one_write();
    uint64_t h1 = ipcf_faults_trace_hash();
    configure("write:error=EINTR:p=0.3", 7, "me");
    for (int i = 0; i < 100; i++)
        one_write();
    assert_true(h1 == ipcf_faults_trace_hash());
    configure("write:error=EINTR:p=0.3", 8, "me");
    for (int i = 0; i < 100; i++)
        one_write();
    assert_true(h1 != ipcf_faults_trace_hash());
}

static void test_p_rate_and_independence(void **state)
{
    (void)state;
    static char a[20001], b[20001];
    pattern("write:error=EINTR:p=0.25", 42, "me", 20000, a);
    int hits = 0;
    for (int i = 0; i < 20000; i++)
        hits += a[i] == 'X';
    assert_in_range(hits, 4500, 5500); /* 25% +- 2.5% (expected sd ~ 0.3%) */
    /* unrelated calls interleaved do not change the write decisions */
    configure("write:error=EINTR:p=0.25; read:error=EINTR:p=0.5", 42, "me");
    char buf[1];
    for (int i = 0; i < 20000; i++) {
        if (i % 3 == 0)
            (void)ipcf_wrap_read(devnull, buf, 1);
        b[i] = one_write() ? 'X' : '.';
    }
    b[20000] = '\0';
    assert_string_equal(a, b);
    pattern("write:error=EINTR:p=0", 1, "me", 200, a);
    assert_null(strchr(a, 'X'));
}

static void test_when_counts_per_rule(void **state)
{
    (void)state;
    char a[16];
    pattern("write:error=EINTR:when=2..6+2", 0, "me", 10, a);
    assert_string_equal(a, ".X.X.X....");
    pattern("write:error=EINTR:when=3+", 0, "me", 6, a);
    assert_string_equal(a, "..XXXX");
    pattern("write:error=EINTR:when=4", 0, "me", 6, a);
    assert_string_equal(a, "...X..");
    /* both rules count every write; the first firing rule wins */
    configure("write:error=EINTR:when=3; write:error=EIO:when=3..4", 0, "me");
    assert_int_equal(one_write(), 0);
    assert_int_equal(one_write(), 0);
    assert_int_equal(one_write(), EINTR);
    assert_int_equal(one_write(), EIO);
    assert_int_equal(one_write(), 0);
    /* a rule for another call set does not count writes; `all` does */
    configure("read:error=EINTR:when=1; all:error=EIO:when=2", 0, "me");
    assert_int_equal(one_write(), 0);
    assert_int_equal(one_write(), EIO);
    assert_int_equal(ipcf_faults_count("write"), 2);
    assert_int_equal(ipcf_faults_count("read"), 0);
    /* peer filter, and a new identity takes fresh counters */
    configure("write:error=EIO:when=2:peer=cons*", 0, "producer");
    assert_int_equal(one_write(), 0);
    assert_int_equal(one_write(), 0);
    assert_int_equal(ipcf_faults_set_peer("consumer"), 0);
    char peer[64];
    ipcf_faults_peer(peer, sizeof(peer));
    assert_string_equal(peer, "consumer");
    assert_int_equal(one_write(), 0);
    assert_int_equal(one_write(), EIO);
    /* disable: everything passes, counters kept */
    configure("write:error=EIO", 0, "me");
    assert_int_equal(one_write(), EIO);
    ipcf_faults_disable();
    assert_int_equal(one_write(), 0);
}

/* inc= selects rules by the process's incarnation; a rule that does not apply
 * neither fires nor counts. */
static void test_incarnation_selects_rules(void **state)
{
    (void)state;
    configure("write:error=EIO:inc=1..2; write:error=EINTR:when=2", 0, "me");
    assert_int_equal(one_write(), 0); /* incarnation 0: rule 0 does not apply */
    assert_int_equal(one_write(), EINTR);
    ipcf_faults_set_incarnation(1);
    assert_int_equal(one_write(), EIO);
    ipcf_faults_set_incarnation(3);
    assert_int_equal(one_write(), 0); /* rule 1 counts 3: past when=2 */
    /* set before configure: kept by it */
    configure("write:error=EIO:inc=3", 0, "me");
    assert_int_equal(one_write(), EIO);
    ipcf_faults_set_incarnation(0);
    assert_int_equal(one_write(), 0);
}

static int child_fresh_counters(void *arg)
{
    (void)arg;
    /* parent made 1 write before fork; the child's 2nd write is its own #2 */
    if (one_write() != 0)
        return 10;
    if (one_write() != EIO)
        return 11;
    if (ipcf_faults_count("write") != 2)
        return 12;
    return 0;
}

/* The fork check: the parent makes one write, forks; the child must see fresh
 * counters. Returns the child's exit code (0 = fresh counters). */
static int fork_counters_fresh(void)
{
    int status;
    configure("write:error=EIO:when=2", 0, "me");
    assert_int_equal(one_write(), 0);
    pid_t pid = ipcft_fork(child_fresh_counters, NULL);
    assert_int_equal(ipcft_wait(pid, 10000, &status), 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(one_write(), EIO); /* the parent's count went on */
    return WEXITSTATUS(status);
}

static void test_fork_fresh_counters(void **state)
{
    (void)state;
    assert_int_equal(fork_counters_fresh(), 0);
}

/* Planted bug faults_counter_shared (the child keeps the parent's counters):
 * the fork check above must fail. */
static void test_planted_counter_shared_caught(void **state)
{
    (void)state;
    assert_int_equal(ipcf_bugs_set("faults_counter_shared"), 0);
    int rc = fork_counters_fresh();
    assert_int_equal(ipcf_bugs_set(""), 0);
    assert_int_not_equal(rc, 0);
}

/* errno: untouched by a call that passes (fast path: no rule for the set;
 * slow path: a rule that does not fire; before any plan), set exactly on an
 * injected error, and a retval= leaves it alone. */
static void test_errno_preserved(void **state)
{
    (void)state;
    const char *plans[] = {NULL, "read:error=EIO", "write:error=EIO:when=1000000"};
    for (size_t i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
        if (plans[i])
            configure(plans[i], 0, "me");
        else
            ipcf_faults_disable();
        errno = 12345;
        assert_int_equal(ipcf_wrap_write(devnull, "x", 1), 1);
        assert_int_equal(errno, 12345);
    }
    configure("write:error=EPIPE:when=1; write:retval=0:when=2", 0, "me");
    errno = 0;
    assert_int_equal(ipcf_wrap_write(devnull, "x", 1), -1);
    assert_int_equal(errno, EPIPE);
    errno = 777;
    assert_int_equal(ipcf_wrap_write(devnull, "x", 1), 0);
    assert_int_equal(errno, 777);
}

/* The pass-through path is counted exactly, with and without a rule on the
 * set, and the trace hash stays a function of the run (not of the path). */
static void test_fast_path_counts(void **state)
{
    (void)state;
    configure("read:error=EIO", 0, "me"); /* write: fast path */
    for (int i = 0; i < 10; i++)
        assert_int_equal(one_write(), 0);
    assert_int_equal(ipcf_faults_count("write"), 10);
    uint64_t h_fast = ipcf_faults_trace_hash();
    configure("write:error=EIO:when=1000", 0, "me"); /* write: slow path */
    for (int i = 0; i < 10; i++)
        assert_int_equal(one_write(), 0);
    assert_int_equal(ipcf_faults_count("write"), 10);
    assert_true(h_fast == ipcf_faults_trace_hash());
    one_write();
    assert_true(h_fast != ipcf_faults_trace_hash()); /* one more call: differs */
    /* a rule for another peer leaves this peer on the fast path, still counted */
    configure("write:error=EIO:peer=other", 0, "me");
    assert_int_equal(one_write(), 0);
    assert_int_equal(ipcf_faults_count("write"), 1);
    /* disabled: not counted */
    ipcf_faults_disable();
    assert_int_equal(one_write(), 0);
    assert_int_equal(ipcf_faults_count("write"), 1);
}

/* short= applies to byte streams; on a datagram socket (where the kernel
 * never moves part of a message) it is dropped and noted in the trace. */
static void test_short_only_on_streams(void **state)
{
    (void)state;
    int d[2], st[2], tfd[2];
    char buf[64] = {0};
    assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, d), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, st), 0);
    assert_int_equal(pipe(tfd), 0);
    configure("send:short=2; recv:short=2", 0, "me");
    ipcf_faults_trace_fd(tfd[1]);
    assert_int_equal(ipcf_wrap_send(d[0], "hello", 5, 0), 5);
    assert_int_equal(ipcf_wrap_recv(d[1], buf, sizeof(buf), 0), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(ipcf_wrap_send(st[0], "hello", 5, 0), 2);
    assert_int_equal(ipcf_wrap_recv(st[1], buf, sizeof(buf), 0), 2);
    ipcf_faults_trace_fd(-1);
    close(tfd[1]);
    char tr[1024] = {0};
    assert_true(read(tfd[0], tr, sizeof(tr) - 1) > 0);
    assert_non_null(strstr(tr, " send 1 pass note=short-on-message-socket\n"));
    assert_non_null(strstr(tr, " recv 1 pass note=short-on-message-socket\n"));
    assert_non_null(strstr(tr, " send 2 short=2 rule=0\n"));
    close(tfd[0]);
    close(d[0]);
    close(d[1]);
    close(st[0]);
    close(st[1]);
}

static void test_trace_lines(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    configure("write:error=EINTR:when=2; point=commit:delay=1", 0, "tracer");
    ipcf_faults_trace_fd(fds[1]);
    one_write();
    one_write();
    ipcf_point("commit");
    ipcf_faults_trace_fd(-1);
    close(fds[1]);
    char buf[1024] = {0}, want[512];
    ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
    close(fds[0]);
    assert_true(n > 0);
    snprintf(want, sizeof(want),
             "%ld tracer write 1 pass\n%ld tracer write 2 error=EINTR rule=0\n"
             "%ld tracer point=commit 1 delay=1 rule=1\n",
             (long)getpid(), (long)getpid(), (long)getpid());
    assert_string_equal(buf, want);
}

struct chooser_state {
    int calls;
};

static void every_second(void *ctx, const char *set, uint64_t index, struct ipcf_decision *d)
{
    struct chooser_state *cs = ctx;
    cs->calls++;
    if (!strcmp(set, "write") && index % 2 == 0) {
        d->kind = IPCF_ACT_ERROR;
        d->value = EINTR;
    }
    if (!strcmp(set, "write") && index == 5) {
        d->kind = IPCF_ACT_SHORT; /* applies to write */
        d->value = 1;
    }
}

static void test_chooser(void **state)
{
    (void)state;
    struct chooser_state cs = {0};
    char a[8];
    configure("write:error=EIO", 0, "me");
    ipcf_faults_set_chooser(every_second, &cs);
    for (int i = 0; i < 6; i++)
        a[i] = one_write() ? 'X' : '.';
    a[6] = '\0';
    assert_string_equal(a, ".X.X.X");
    assert_int_equal(cs.calls, 6);
    ipcf_faults_set_chooser(NULL, NULL);
    assert_int_equal(one_write(), EIO); /* the plan again */
}

static void test_eagain_only_when_nonblocking(void **state)
{
    (void)state;
    int fds[2];
    char c;
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], "ab", 2), 2);
    int tfd[2];
    assert_int_equal(pipe(tfd), 0);
    configure("read:error=EAGAIN", 0, "me");
    ipcf_faults_trace_fd(tfd[1]);
    /* blocking descriptor: a blocking read never returns EAGAIN -> real read */
    assert_int_equal(ipcf_wrap_read(fds[0], &c, 1), 1);
    assert_int_equal(c, 'a');
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    errno = 0;
    assert_int_equal(ipcf_wrap_read(fds[0], &c, 1), -1);
    assert_int_equal(errno, EAGAIN);
    ipcf_faults_trace_fd(-1);
    close(tfd[1]);
    char buf[512] = {0};
    assert_true(read(tfd[0], buf, sizeof(buf) - 1) > 0);
    assert_non_null(strstr(buf, "read 1 pass note=eagain-on-blocking\n"));
    assert_non_null(strstr(buf, "read 2 error=EAGAIN rule=0\n"));
    close(tfd[0]);
    /* EAGAIN with another action: still only on a non-blocking descriptor */
    fcntl(fds[0], F_SETFL, 0);
    configure("read:delay=1:error=EAGAIN", 0, "me");
    assert_int_equal(ipcf_wrap_read(fds[0], &c, 1), 1);
    assert_int_equal(c, 'b');
    close(fds[0]);
    close(fds[1]);
}

static int child_point_kill(void *arg)
{
    (void)arg;
    configure("point=commit:kill=after:when=2", 0, "victim");
    ipcf_point("commit");
    ipcf_point("other");
    ipcf_point("commit"); /* dies here */
    return 0;
}

static volatile sig_atomic_t usr1_seen;
static void on_usr1(int s)
{
    (void)s;
    usr1_seen++;
}

static void test_points(void **state)
{
    (void)state;
    int status;
    pid_t pid = ipcft_fork(child_point_kill, NULL);
    assert_int_equal(ipcft_wait(pid, 10000, &status), 0);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);

    signal(SIGUSR1, on_usr1);
    usr1_seen = 0;
    configure("point=tick:signal=SIGUSR1:when=3; point=slow:delay=30000", 0, "me");
    ipcf_point("tick");
    ipcf_point("tick");
    assert_int_equal(usr1_seen, 0);
    ipcf_point("tick");
    /* sent to this thread at once; TSan defers handlers to its next interceptor */
    for (int i = 0; i < 1000 && usr1_seen == 0; i++)
        usleep(1000);
    assert_int_equal(usr1_seen, 1);
    assert_int_equal(ipcf_faults_count("point=tick"), 3);
    int64_t t0 = ipcft_now_ms();
    ipcf_point("slow");
    assert_true(ipcft_now_ms() - t0 >= 29);
    signal(SIGUSR1, SIG_DFL);
}

struct thr {
    int faults;
};

static void *writer(void *arg)
{
    struct thr *t = arg;
    for (int i = 0; i < 2000; i++)
        t->faults += one_write() != 0;
    return NULL;
}

static void test_threads_same_totals(void **state)
{
    (void)state;
    /* p= depends only on the rule's count, so the number of faults over N
     * calls is the same however threads interleave */
    char *a = malloc(8001);
    assert_non_null(a);
    pattern("write:error=EINTR:p=0.1", 5, "me", 8000, a);
    int single = 0;
    for (int i = 0; i < 8000; i++)
        single += a[i] == 'X';
    free(a);
    configure("write:error=EINTR:p=0.1", 5, "me");
    pthread_t th[4];
    struct thr t[4] = {{0}};
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, writer, &t[i]), 0);
    int total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        total += t[i].faults;
    }
    assert_int_equal(total, single);
    assert_int_equal(ipcf_faults_count("write"), 8000);
}

static void test_load_env(void **state)
{
    (void)state;
    struct ipcf_plan_error err;
    unsetenv("IPCF_PLAN");
    unsetenv("IPCF_TRACE");
    assert_int_equal(ipcf_faults_load_env(&err), 0);
    setenv("IPCF_PLAN", "write:error=EIO:when=2", 1);
    setenv("IPCF_SEED", "0x10", 1);
    setenv("IPCF_PEER", "envpeer", 1);
    assert_int_equal(ipcf_faults_load_env(&err), 1);
    char peer[64];
    ipcf_faults_peer(peer, sizeof(peer));
    assert_string_equal(peer, "envpeer");
    assert_int_equal(one_write(), 0);
    assert_int_equal(one_write(), EIO);
    setenv("IPCF_SEED", "12abc", 1);
    assert_int_equal(ipcf_faults_load_env(&err), -EINVAL);
    assert_non_null(strstr(err.msg, "IPCF_SEED"));
    setenv("IPCF_SEED", "1", 1);
    setenv("IPCF_PLAN", "write:error=EISDIR", 1);
    assert_int_equal(ipcf_faults_load_env(&err), -IPCF_EPARSE);
    assert_non_null(strstr(err.msg, "IPCF_PLAN: write cannot fail"));
    unsetenv("IPCF_PLAN");
    unsetenv("IPCF_SEED");
    unsetenv("IPCF_PEER");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_same_seed_same_decisions, teardown),
        cmocka_unit_test_teardown(test_p_rate_and_independence, teardown),
        cmocka_unit_test_teardown(test_when_counts_per_rule, teardown),
        cmocka_unit_test_teardown(test_fork_fresh_counters, teardown),
        cmocka_unit_test_teardown(test_planted_counter_shared_caught, teardown),
        cmocka_unit_test_teardown(test_errno_preserved, teardown),
        cmocka_unit_test_teardown(test_fast_path_counts, teardown),
        cmocka_unit_test_teardown(test_short_only_on_streams, teardown),
        cmocka_unit_test_teardown(test_trace_lines, teardown),
        cmocka_unit_test_teardown(test_chooser, teardown),
        cmocka_unit_test_teardown(test_eagain_only_when_nonblocking, teardown),
        cmocka_unit_test_teardown(test_incarnation_selects_rules, teardown),
        cmocka_unit_test_teardown(test_points, teardown),
        cmocka_unit_test_teardown(test_threads_same_totals, teardown),
        cmocka_unit_test_teardown(test_load_env, teardown),
    };
    int rc = 0;
    if (setup(NULL) != 0)
        return 1;
    rc = cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
    close(devnull);
    return rc;
}
