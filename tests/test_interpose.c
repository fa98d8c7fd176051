/* test_interpose.c — the in-process interposer (ipcf_interpose linked into a
 * program) overrides the program's own plain libc calls, configured from the
 * environment by the same constructor as the preload library. Drives the
 * helper program $IPCF_BUILD_DIR/faults/ipcf_fault_probe. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "ipcfuzz/names.h"

static char probe[4096], in_path[IPCF_NAME_MAX], out_path[IPCF_NAME_MAX], trace_path[IPCF_NAME_MAX],
    err_path[IPCF_NAME_MAX];

struct run {
    const char *plan;
    char *const *argv;
    const char *bugs; /* IPCF_BUGS for the probe, or NULL */
};

static int child_exec(void *arg)
{
    struct run *r = arg;
    int in = open(in_path, O_RDONLY | O_CREAT, 0600);
    int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        return 120;
    setenv("IPCF_PLAN", r->plan, 1);
    setenv("IPCF_TRACE", trace_path, 1);
    setenv("IPCF_PEER", "probe", 1);
    if (r->bugs)
        setenv("IPCF_BUGS", r->bugs, 1);
    else
        unsetenv("IPCF_BUGS");
    execv(probe, r->argv);
    return 121;
}

static int run_probe_bugs(const char *plan, char *const *argv, const char *bugs)
{
    struct run r = {plan, argv, bugs};
    int status;
    unlink(trace_path);
    pid_t pid = ipcft_fork(child_exec, &r);
    assert_int_equal(ipcft_wait(pid, 20000, &status), 0);
    return status;
}

static int run_probe(const char *plan, char *const *argv)
{
    return run_probe_bugs(plan, argv, NULL);
}

static size_t slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n;
}

static int setup(void **state)
{
    (void)state;
    const char *b = getenv("IPCF_BUILD_DIR");
    if (!b)
        return -1;
    snprintf(probe, sizeof(probe), "%s/faults/ipcf_fault_probe", b);
    if (ipcf_name_path(in_path, sizeof(in_path), "probe_in") ||
        ipcf_name_path(out_path, sizeof(out_path), "probe_out") ||
        ipcf_name_path(trace_path, sizeof(trace_path), "probe_trace") ||
        ipcf_name_path(err_path, sizeof(err_path), "probe_err"))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(in_path);
    unlink(out_path);
    unlink(trace_path);
    unlink(err_path);
    return 0;
}

static void test_short_reads_identical_output(void **state)
{
    (void)state;
    static char data[3000], out[4000], trace[1 << 18];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)('a' + i % 26);
    FILE *f = fopen(in_path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, sizeof(data), f), sizeof(data));
    fclose(f);
    char *argv[] = {probe, "cat", NULL};
    int st = run_probe("read:short=7", argv);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(slurp(out_path, out, sizeof(out)), sizeof(data));
    assert_memory_equal(out, data, sizeof(data));
    slurp(trace_path, trace, sizeof(trace));
    /* 3000 bytes / 7 per read = 429 shortened reads + the final EOF read */
    char want[128];
    snprintf(want, sizeof(want), " probe read 429 short=7 rule=0\n");
    assert_non_null(strstr(trace, want));
    assert_non_null(strstr(trace, " probe read 430 short=7 rule=0\n"));
    assert_null(strstr(trace, " probe read 431 "));
    assert_non_null(strstr(trace, " probe write 429 pass\n"));
}

/* The short= check through the interposer's own copy of the injector: the
 * probe copies 3000 bytes with its first read shortened; 0 when the output is
 * identical to the input. */
static int probe_cat_identical(const char *bugs)
{
    static char data[3000], out[4000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)('A' + i % 26);
    FILE *f = fopen(in_path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, sizeof(data), f), sizeof(data));
    fclose(f);
    char *argv[] = {probe, "cat", NULL};
    int st = run_probe_bugs("read:short=7:when=1", argv, bugs);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return 1;
    if (slurp(out_path, out, sizeof(out)) != sizeof(data))
        return 2;
    return memcmp(out, data, sizeof(data)) ? 3 : 0;
}

/* Planted bug faults_short_faked switched on through IPCF_BUGS reaches the
 * (uninstrumented, self-contained) interposer copy, and the check fails. */
static void test_planted_short_faked_reaches_interposer(void **state)
{
    (void)state;
    assert_int_equal(probe_cat_identical(NULL), 0);
    assert_int_not_equal(probe_cat_identical("faults_short_faked"), 0);
}

static void test_plain_calls_are_counted(void **state)
{
    (void)state;
    char out[64];
    char *argv[] = {probe, "count", "write", NULL};
    int st = run_probe("write:delay=1", argv);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    slurp(out_path, out, sizeof(out));
    assert_string_equal(out, "3\n"); /* three plain write(-1, ...) calls, overridden */
}

static void test_bad_plan_exits_2(void **state)
{
    (void)state;
    char err[512];
    char *argv[] = {probe, "cat", NULL};
    int st = run_probe("read:short=1:bogus=2", argv);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 2);
    slurp(err_path, err, sizeof(err));
    assert_non_null(strstr(err, "IPCF_PLAN: expected an action"));
    assert_non_null(strstr(err, "at byte 13"));
}

static void test_point_kill_via_env(void **state)
{
    (void)state;
    char trace[4096];
    char *argv[] = {probe, "point", "commit", "5", NULL};
    int st = run_probe("point=commit:kill=after:when=3", argv);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGKILL);
    slurp(trace_path, trace, sizeof(trace));
    assert_non_null(strstr(trace, " probe point=commit 3 kill=after rule=0\n"));
    assert_null(strstr(trace, "point=commit 4"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_short_reads_identical_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_planted_short_faked_reaches_interposer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_plain_calls_are_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_plan_exits_2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_point_kill_via_env, setup, teardown),
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
