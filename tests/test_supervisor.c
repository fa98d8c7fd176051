/* test_supervisor.c — the supervisor's own checks, each proven by a peer that
 * misbehaves on purpose: a clean run is ok; a peer that hangs is a `hang`
 * (and is killed and reaped within the watchdog); an unscheduled SIGSEGV is a
 * `crash`; sanitizer text on stderr is a `sanitizer` finding; a non-zero exit
 * under a transparent plan is `exit`; a peer killed at a point by the plan is
 * expected and restarted without the kill rule, or killed again where inc=
 * says so (a kill the plan did not schedule for that incarnation is a crash);
 * a restart that exits non-zero is `recovery-failed`; a name left behind is
 * `leaked-name`; no process is left after any of it. Also: the IPCF_SCENARIO
 * registry. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "ipcfuzz/ipcfuzz.h"
#include "oracle.h"
#include "supervisor.h"

/* Count our children (processes whose parent is us), zombies included. */
static int count_children(void)
{
    int n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    char path[300], buf[512];
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        if (fgets(buf, sizeof(buf), f)) {
            char *rp = strrchr(buf, ')');
            int ppid = 0;
            char st;
            if (rp && sscanf(rp + 2, "%c %d", &st, &ppid) == 2 && ppid == getpid())
                n++;
        }
        fclose(f);
    }
    if (d)
        closedir(d);
    return n;
}

static int peer_ok(struct ipcf_peer_ctx *ctx)
{
    (void)ctx;
    return 0;
}

static int __attribute__((noreturn)) peer_hang(struct ipcf_peer_ctx *ctx)
{
    (void)ctx;
    /* a grandchild in the same group must be killed too */
    if (fork() == 0)
        for (;;)
            pause();
    for (;;)
        pause();
}

static int peer_segv(struct ipcf_peer_ctx *ctx)
{
    (void)ctx;
    raise(SIGSEGV);
    return 0;
}

static int peer_sanitizer_text(struct ipcf_peer_ctx *ctx)
{
    (void)ctx;
    /* lots of output first: the supervisor must drain it without blocking us */
    for (int i = 0; i < 2000; i++)
        fprintf(stderr, "chatter line %d ..............................................\n", i);
    fprintf(stderr, "==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x1\n");
    return 0;
}

static int peer_exit3(struct ipcf_peer_ctx *ctx)
{
    (void)ctx;
    return 3;
}

/* Killed by the plan at point "step" on its first incarnation; the restart
 * (which runs without kill rules unless inc= says otherwise) passes the point
 * and records it. */
static int peer_point(struct ipcf_peer_ctx *ctx)
{
    int *shared = ctx->shared;
    shared[ctx->incarnation] = 1;
    IPCF_POINT("test_sup_step");
    shared[4 + ctx->incarnation] = 1;
    return 0;
}

/* Like peer_point, but the restarted incarnation cannot recover. */
static int peer_point_norecover(struct ipcf_peer_ctx *ctx)
{
    IPCF_POINT("test_sup_step");
    return ctx->incarnation > 0 ? 1 : 0;
}

/* Passes the point; a restart then SIGKILLs itself (as if the plan had). */
static int peer_selfkill(struct ipcf_peer_ctx *ctx)
{
    IPCF_POINT("test_sup_step");
    if (ctx->incarnation > 0)
        raise(SIGKILL);
    return 0;
}

/* Every incarnation must start with default signal dispositions, also for a
 * handler the supervisor installed in started(), after the first peers were
 * forked but before the restart was. */
static void on_usr2(int sig)
{
    (void)sig;
}

static void started_installs_handler(struct ipcf_scenario_ctx *ctx)
{
    (void)ctx;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr2;
    (void)sigaction(SIGUSR2, &sa, NULL);
}

static void teardown_default_handler(struct ipcf_scenario_ctx *ctx)
{
    (void)ctx;
    signal(SIGUSR2, SIG_DFL);
}

static int peer_wants_default_usr2(struct ipcf_peer_ctx *ctx)
{
    (void)ctx;
    struct sigaction old;
    if (sigaction(SIGUSR2, NULL, &old) != 0 || old.sa_handler != SIG_DFL)
        return 1;
    IPCF_POINT("test_sup_step");
    return 0;
}

static int peer_leak(struct ipcf_peer_ctx *ctx)
{
    (void)ctx;
    char path[IPCF_NAME_MAX];
    if (ipcf_name_path(path, sizeof(path), "left.behind") != 0)
        return 1;
    int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0)
        return 1;
    close(fd);
    return 0;
}

IPCF_SCENARIO(test_sup_clean, .description = "two peers that return 0",
              .peers = {{.name = "a", .run = peer_ok}, {.name = "b", .run = peer_ok}});

static const struct ipcf_scenario s_hang = {
    .name = "hang", .peers = {{.name = "ok", .run = peer_ok}, {.name = "stuck", .run = peer_hang}}};
static const struct ipcf_scenario s_segv = {.name = "segv",
                                            .peers = {{.name = "bad", .run = peer_segv}}};
static const struct ipcf_scenario s_san = {
    .name = "san", .peers = {{.name = "noisy", .run = peer_sanitizer_text}}};
static const struct ipcf_scenario s_exit = {.name = "exit3",
                                            .peers = {{.name = "failer", .run = peer_exit3}}};
static const struct ipcf_scenario s_point = {
    .name = "point",
    .peers = {{.name = "victim", .run = peer_point, .restarts = 1}},
    .shared_size = 64};
static const struct ipcf_scenario s_point_norestart = {
    .name = "point0", .peers = {{.name = "victim", .run = peer_point}}, .shared_size = 64};
static const struct ipcf_scenario s_norecover = {
    .name = "norecover", .peers = {{.name = "victim", .run = peer_point_norecover, .restarts = 1}}};
static const struct ipcf_scenario s_chain = {
    .name = "chain",
    .peers = {{.name = "victim", .run = peer_point, .restarts = 3}},
    .shared_size = 64};
static const struct ipcf_scenario s_selfkill = {
    .name = "selfkill", .peers = {{.name = "victim", .run = peer_selfkill, .restarts = 1}}};
static const struct ipcf_scenario s_started_handler = {
    .name = "started_handler",
    .peers = {{.name = "victim", .run = peer_wants_default_usr2, .restarts = 1}},
    .started = started_installs_handler,
    .teardown = teardown_default_handler};
static const struct ipcf_scenario s_leak = {.name = "leak",
                                            .peers = {{.name = "leaker", .run = peer_leak}}};

static bool has_verdict(const struct ipcf_sup_result *r, enum ipcf_verdict v)
{
    for (size_t i = 0; i < r->findings.n; i++)
        if (r->findings.v[i].verdict == v)
            return true;
    return false;
}

/* Run one iteration with a fresh supervisor; plan text may be NULL. */
static void run1(const struct ipcf_scenario *s, const char *plan_text, int timeout_ms,
                 struct ipcf_sup_result *res)
{
    struct ipcf_sup *sup = NULL;
    struct ipcf_sup_config cfg = {.timeout_ms = timeout_ms};
    struct ipcf_plan plan = {0};
    if (plan_text)
        assert_int_equal(ipcf_plan_parse(plan_text, &plan, NULL), 0);
    assert_int_equal(ipcf__sup_create(&sup, &cfg), 0);
    assert_int_equal(ipcf__sup_iteration(sup, s, plan_text ? &plan : NULL, 42, 0, res), 0);
    ipcf__sup_destroy(sup);
    ipcf_plan_free(&plan);
    assert_int_equal(count_children(), 0);
}

static void test_registry(void **state)
{
    (void)state;
    const struct ipcf_scenario *s = ipcf_scenario_find("test_sup_clean");
    assert_non_null(s);
    assert_string_equal(s->name, "test_sup_clean");
    assert_int_equal(ipcf_scenario_npeers(s), 2);
    assert_null(ipcf_scenario_find("no_such_scenario"));
    bool seen = false;
    for (size_t i = 0; ipcf_scenario_at(i); i++)
        seen |= ipcf_scenario_at(i) == s;
    assert_true(seen);
}

static void test_clean_run_is_ok(void **state)
{
    (void)state;
    struct ipcf_sup_result r;
    run1(ipcf_scenario_find("test_sup_clean"), NULL, 5000, &r);
    assert_int_equal(r.findings.n, 0);
    assert_int_equal(r.verdict, IPCF_VERDICT_OK);
    ipcf__sup_result_free(&r);
}

static void test_hang_is_found_and_killed(void **state)
{
    (void)state;
    struct ipcf_sup_result r;
    int64_t t0 = ipcft_now_ms();
    run1(&s_hang, NULL, 300, &r);
    assert_true(ipcft_now_ms() - t0 < 3000);
    assert_true(has_verdict(&r, IPCF_VERDICT_HANG));
    assert_int_equal(r.hangs, 1);
    ipcf__sup_result_free(&r);
}

static void test_unscheduled_signal_is_crash(void **state)
{
    (void)state;
    struct ipcf_sup_result r;
    run1(&s_segv, NULL, 5000, &r);
#ifdef IPCF_SANITIZED
    /* the sanitizer's SEGV handler reports it and exits */
    assert_true(has_verdict(&r, IPCF_VERDICT_CRASH) || has_verdict(&r, IPCF_VERDICT_SANITIZER));
#else
    assert_true(has_verdict(&r, IPCF_VERDICT_CRASH));
#endif
    ipcf__sup_result_free(&r);
}

static void test_sanitizer_text_is_found(void **state)
{
    (void)state;
    struct ipcf_sup_result r;
    run1(&s_san, NULL, 5000, &r);
    assert_true(has_verdict(&r, IPCF_VERDICT_SANITIZER));
    assert_non_null(strstr(r.sanitizer, "heap-buffer-overflow"));
    ipcf__sup_result_free(&r);
}

static void test_sanitizer_scan_patterns(void **state)
{
    (void)state;
    const char *which = NULL;
    const char *t = "x\nfoo.c:3:5: runtime error: signed integer overflow\n";
    assert_true(ipcf__sanitizer_scan(t, strlen(t), &which) > 0);
    assert_string_equal(which, "runtime error:");
    t = "WARNING: ThreadSanitizer: data race";
    assert_int_equal(ipcf__sanitizer_scan(t, strlen(t), NULL), 0);
    /* TSan's report of a deadly signal has no WARNING line */
    t = "==12==ERROR: ThreadSanitizer: SEGV on unknown address 0x000000000000\n";
    assert_true(ipcf__sanitizer_scan(t, strlen(t), NULL) >= 0);
    t = "all good\n";
    assert_int_equal(ipcf__sanitizer_scan(t, strlen(t), NULL), -1);
}

static void test_nonzero_exit_under_transparent_plan(void **state)
{
    (void)state;
    struct ipcf_sup_result r;
    run1(&s_exit, "read:error=EINTR:p=0.5", 5000, &r);
    assert_true(has_verdict(&r, IPCF_VERDICT_EXIT));
    ipcf__sup_result_free(&r);
    /* the same exit under a destructive plan is accepted */
    run1(&s_exit, "read:kill=before:when=1", 5000, &r);
    assert_false(has_verdict(&r, IPCF_VERDICT_EXIT));
    ipcf__sup_result_free(&r);
}

static void test_scheduled_kill_is_expected_and_restarted(void **state)
{
    (void)state;
    struct ipcf_sup_result r;
    struct ipcf_sup *sup = NULL;
    struct ipcf_sup_config cfg = {.timeout_ms = 5000};
    struct ipcf_plan plan = {0};
    assert_int_equal(ipcf_plan_parse("point=test_sup_step:kill=before", &plan, NULL), 0);
    assert_int_equal(ipcf__sup_create(&sup, &cfg), 0);
    assert_int_equal(ipcf__sup_iteration(sup, &s_point, &plan, 1, 0, &r), 0);
    assert_int_equal(r.findings.n, 0);
    assert_int_equal(r.kills, 1);
    assert_int_equal(r.restarts, 1);
    ipcf__sup_result_free(&r);
    /* without a restart budget the kill is still expected (no crash finding) */
    assert_int_equal(ipcf__sup_iteration(sup, &s_point_norestart, &plan, 1, 0, &r), 0);
    assert_false(has_verdict(&r, IPCF_VERDICT_CRASH));
    assert_int_equal(r.kills, 1);
    assert_int_equal(r.restarts, 0);
    ipcf__sup_result_free(&r);
    /* peer= is a glob for the scheduler, so for the supervisor too: a kill
     * scheduled through peer=* is expected, not a crash */
    ipcf_plan_free(&plan);
    assert_int_equal(ipcf_plan_parse("point=test_sup_step:kill=before:peer=*", &plan, NULL), 0);
    assert_int_equal(ipcf__sup_iteration(sup, &s_point_norestart, &plan, 1, 0, &r), 0);
    assert_false(has_verdict(&r, IPCF_VERDICT_CRASH));
    assert_int_equal(r.kills, 1);
    ipcf__sup_result_free(&r);
    ipcf__sup_destroy(sup);
    ipcf_plan_free(&plan);
    assert_int_equal(count_children(), 0);
}

static void test_failed_restart_is_recovery_failed(void **state)
{
    (void)state;
    struct ipcf_sup_result r;
    run1(&s_norecover, "point=test_sup_step:kill=after", 5000, &r);
    assert_true(has_verdict(&r, IPCF_VERDICT_RECOVERY_FAILED));
    ipcf__sup_result_free(&r);
}

static void test_leaked_name_is_found_and_swept(void **state)
{
    (void)state;
    struct ipcf_sup_result r;
    run1(&s_leak, NULL, 5000, &r);
    assert_true(has_verdict(&r, IPCF_VERDICT_LEAKED_NAME));
    ipcf__sup_result_free(&r);
    assert_int_equal(ipcft_count_run_names(), 0); /* the supervisor swept it */
}

/* inc=: a kill rule for restarts too. Each restart is killed at the same point
 * until the plan's range ends; the last incarnation passes and the iteration
 * is clean. Kills of restarts are expected only when the plan scheduled them
 * for that incarnation. */
static void test_kills_of_restarts_follow_inc(void **state)
{
    (void)state;
    struct ipcf_sup_result r;
    run1(&s_chain, "point=test_sup_step:kill=before:inc=0..2", 5000, &r);
    assert_int_equal(r.findings.n, 0);
    assert_int_equal(r.kills, 3);
    assert_int_equal(r.restarts, 3);
    ipcf__sup_result_free(&r);
    /* open-ended: the restart budget (3) ends the chain; the last kill is
     * still expected, no finding */
    run1(&s_chain, "point=test_sup_step:kill=before:inc=0..", 5000, &r);
    assert_int_equal(r.findings.n, 0);
    assert_int_equal(r.kills, 4);
    assert_int_equal(r.restarts, 3);
    ipcf__sup_result_free(&r);
    /* without inc=: only the first run is killed (a restart must recover) */
    run1(&s_chain, "point=test_sup_step:kill=before", 5000, &r);
    assert_int_equal(r.findings.n, 0);
    assert_int_equal(r.kills, 1);
    assert_int_equal(r.restarts, 1);
    ipcf__sup_result_free(&r);
}

/* A restart that dies of SIGKILL the plan scheduled for incarnation 0 only is
 * a crash: the supervisor judges each incarnation by its own rules. */
static void test_unscheduled_kill_of_restart_is_crash(void **state)
{
    (void)state;
    struct ipcf_sup_result r;
    run1(&s_selfkill, "point=test_sup_step:kill=before", 5000, &r);
    assert_true(has_verdict(&r, IPCF_VERDICT_CRASH));
    assert_int_equal(r.kills, 1);
    assert_int_equal(r.crashes, 1);
    ipcf__sup_result_free(&r);
    /* the same death, scheduled for incarnation 1 by inc=: expected */
    run1(&s_selfkill, "point=test_sup_step:kill=before:inc=0..1", 5000, &r);
    assert_false(has_verdict(&r, IPCF_VERDICT_CRASH));
    assert_int_equal(r.kills, 2);
    ipcf__sup_result_free(&r);
}

static void test_restart_starts_with_default_signals(void **state)
{
    (void)state;
    struct ipcf_sup_result r;
    run1(&s_started_handler, "point=test_sup_step:kill=before", 5000, &r);
    assert_int_equal(r.kills, 1);
    assert_int_equal(r.restarts, 1);
    assert_false(has_verdict(&r, IPCF_VERDICT_RECOVERY_FAILED));
    assert_int_equal(r.findings.n, 0);
    ipcf__sup_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_clean_run_is_ok),
        cmocka_unit_test(test_hang_is_found_and_killed),
        cmocka_unit_test(test_unscheduled_signal_is_crash),
        cmocka_unit_test(test_sanitizer_text_is_found),
        cmocka_unit_test(test_sanitizer_scan_patterns),
        cmocka_unit_test(test_nonzero_exit_under_transparent_plan),
        cmocka_unit_test(test_scheduled_kill_is_expected_and_restarted),
        cmocka_unit_test(test_failed_restart_is_recovery_failed),
        cmocka_unit_test(test_leaked_name_is_found_and_swept),
        cmocka_unit_test(test_kills_of_restarts_follow_inc),
        cmocka_unit_test(test_unscheduled_kill_of_restart_is_crash),
        cmocka_unit_test(test_restart_starts_with_default_signals),
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
