/* test_mmap_log.c — the mapped append log: writer SIGKILLed at every step of
 * an append then recovered, readers in other processes, truncation under a
 * reader and a writer, damage to committed data, and the planted bugs. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "ipcfuzz/bugs.h"
#include "ipcfuzz/mmap_log.h"
#include "ipcfuzz/names.h"
#include "ipcfuzz/sigbus.h"
#include "ipcfuzz/step.h"

/* Children: ipcft_fork() already restores the default crash signals
 * (cmocka's handlers would make a crashed child resume the suite); they also
 * re-arm the SIGBUS guard over the default disposition. */
static int (*child_fn)(void *);
static void *child_arg;

static int child_trampoline(void *unused)
{
    (void)unused;
    if (ipcf_sigbus_install() < 0)
        return 98;
    return child_fn(child_arg);
}

static pid_t spawn(int (*fn)(void *), void *arg)
{
    child_fn = fn;
    child_arg = arg;
    return ipcft_fork(child_trampoline, NULL);
}

static const char *kill_step;

static void die_hook(const char *step)
{
    if (kill_step && !strcmp(step, kill_step))
        raise(SIGKILL);
}

static size_t rec_make(unsigned char *b, uint64_t i)
{
    size_t len = 1 + (size_t)((i * 37) % 200);
    for (size_t k = 0; k < len; k++)
        b[k] = (unsigned char)(i * 5 + k * 3 + 1);
    return len;
}

static int rec_intact(const unsigned char *b, size_t len, uint64_t i)
{
    unsigned char want[256];
    return rec_make(want, i) == len && memcmp(want, b, len) == 0;
}

/* The log's path in the run directory; a previous test that failed midway
 * may have left it, so start clean. */
static void log_path(char *buf, size_t cap)
{
    assert_int_equal(ipcf_name_path(buf, cap, "test.log"), 0);
    unlink(buf);
}

/* Read every committed record; returns the count, or -1 if one is not the
 * record its position should hold, or the read error. */
static int read_all(struct ipcf_log *log)
{
    struct ipcf_log_cursor cur = {0};
    unsigned char b[256];
    size_t len;
    int n = 0, rc;
    while ((rc = ipcf_log_read(log, &cur, b, sizeof(b), &len)) == 0) {
        if (!rec_intact(b, len, (uint64_t)n))
            return -1;
        n++;
    }
    return rc == -ENOENT ? n : rc;
}

struct wr_arg {
    const char *path;
    const char *step;
    uint64_t first, count;
    const char *bugs;
};

static int writer_child(void *argp)
{
    struct wr_arg *a = argp;
    struct ipcf_log *log;
    unsigned char b[256];
    if (a->bugs && ipcf_bugs_set(a->bugs) < 0)
        return 10;
    if (ipcf_log_open(a->path, IPCF_LOG_WRITER, &log, NULL) < 0)
        return 11;
    kill_step = a->step;
    ipcf_step_set_hook(die_hook);
    for (uint64_t i = a->first; i < a->first + a->count; i++)
        if (ipcf_log_append(log, b, rec_make(b, i)) < 0)
            return 12;
    ipcf_log_close(log);
    return 0;
}

static void expect_killed(pid_t pid)
{
    int st = 0;
    assert_int_equal(ipcft_wait(pid, 10000, &st), 0);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
        fail_msg("child expected to die by SIGKILL (status 0x%x)", st);
}

static const char *append_steps[] = {"log.append.begin", "log.append.header", "log.append.half",
                                     "log.append.payload", "log.append.committed"};

/* Five committed records, then a writer killed at `step` while appending the
 * sixth. Recovery outcome; returns the number of records a reader then sees
 * (-1: a record with wrong content was delivered). */
static int kill_append_recover(const char *path, const char *step, const char *bugs,
                               struct ipcf_log_recovery *rep)
{
    struct ipcf_log *log;
    unsigned char b[256];
    assert_int_equal(ipcf_log_create(path, 4096, &log), 0);
    for (uint64_t i = 0; i < 5; i++)
        assert_int_equal(ipcf_log_append(log, b, rec_make(b, i)), 0);
    ipcf_log_close(log);
    struct wr_arg a = {.path = path, .step = step, .first = 5, .count = 1};
    expect_killed(spawn(writer_child, &a));
    if (bugs)
        assert_int_equal(ipcf_bugs_set(bugs), 0);
    int rc = ipcf_log_open(path, IPCF_LOG_WRITER, &log, rep);
    if (bugs)
        assert_int_equal(ipcf_bugs_set(""), 0);
    assert_int_equal(rc, 0);
    int n = read_all(log);
    /* the recovered writer continues the sequence */
    if (n >= 0) {
        assert_int_equal(ipcf_log_append(log, b, rec_make(b, (uint64_t)n)), 0);
        assert_int_equal(read_all(log), n + 1);
    }
    ipcf_log_close(log);
    unlink(path);
    return n;
}

static void log_writer_killed_every_step(void **state)
{
    char path[IPCF_NAME_MAX];
    log_path(path, sizeof(path));
    for (size_t s = 0; s < sizeof(append_steps) / sizeof(append_steps[0]); s++) {
        struct ipcf_log_recovery rep;
        int n = kill_append_recover(path, append_steps[s], NULL, &rep);
        int torn = s == 1 || s == 2; /* header, half: torn */
        int forward = s == 3;        /* payload: complete, uncommitted */
        int want = s >= 3 ? 6 : 5;
        if (n != want)
            fail_msg("killed at %s: %d records, want %d", append_steps[s], n, want);
        assert_int_equal(rep.torn, torn);
        assert_int_equal(rep.rolled_forward, forward);
        assert_int_equal(rep.records, (uint64_t)want);
        assert_true(torn ? rep.zeroed > 0 : rep.zeroed == 0);
    }
}

static void log_bug_accept_torn(void **state)
{
    char path[IPCF_NAME_MAX];
    struct ipcf_log_recovery rep;
    log_path(path, sizeof(path));
    int n = kill_append_recover(path, "log.append.half", "log_accept_torn", &rep);
    if (n == 5 && !rep.rolled_forward)
        fail_msg("log_accept_torn: the torn record was still rejected");
    assert_int_equal(rep.rolled_forward, 1); /* the torn record was taken for a good one */
    assert_int_not_equal(n, 6);              /* ...and readers then hit garbage */
}

/* Readers in another process see exactly the committed records. */
static int reader_child(void *argp)
{
    struct wr_arg *a = argp;
    struct ipcf_log *log;
    if (ipcf_log_open(a->path, 0, &log, NULL) < 0)
        return 11;
    int n = read_all(log);
    ipcf_log_close(log);
    return n == (int)a->count ? 0 : 1;
}

static void log_reader_other_process(void **state)
{
    char path[IPCF_NAME_MAX];
    struct ipcf_log *log;
    unsigned char b[256];
    log_path(path, sizeof(path));
    assert_int_equal(ipcf_log_create(path, 1 << 16, &log), 0);
    for (uint64_t i = 0; i < 100; i++)
        assert_int_equal(ipcf_log_append(log, b, rec_make(b, i)), 0);
    assert_int_equal(ipcf_log_validate(NULL, 0), -IPCF_ESHRUNK);
    struct wr_arg a = {.path = path, .count = 100};
    ipcft_expect_exit0(spawn(reader_child, &a), 10000);
    /* capacity: fill it up */
    int rc;
    uint64_t i = 100;
    while ((rc = ipcf_log_append(log, b, rec_make(b, i))) == 0)
        i++;
    assert_int_equal(rc, -ENOSPC);
    a.count = i;
    ipcft_expect_exit0(spawn(reader_child, &a), 10000);
    assert_int_equal(ipcf_log_append(log, b, 0), -EMSGSIZE);
    ipcf_log_close(log);
    /* a reader cannot append */
    assert_int_equal(ipcf_log_open(path, 0, &log, NULL), 0);
    assert_int_equal(ipcf_log_append(log, b, 1), -EBADF);
    ipcf_log_close(log);
    unlink(path);
}

/* Damage inside the committed range: recovery and readers refuse it. */
static void log_committed_damage(void **state)
{
    char path[IPCF_NAME_MAX];
    struct ipcf_log *log;
    unsigned char b[256];
    size_t len;
    log_path(path, sizeof(path));
    assert_int_equal(ipcf_log_create(path, 4096, &log), 0);
    for (uint64_t i = 0; i < 3; i++)
        assert_int_equal(ipcf_log_append(log, b, rec_make(b, i)), 0);
    ipcf_log_close(log);
    FILE *f = fopen(path, "r+");
    assert_non_null(f);
    fseek(f, IPCF_LOG_HDR_SIZE + IPCF_LOG_REC_HDR, SEEK_SET); /* record 0 payload */
    fputc(0xEE, f);
    fclose(f);
    assert_int_equal(ipcf_log_open(path, IPCF_LOG_WRITER, &log, NULL), -IPCF_ECORRUPT);
    assert_int_equal(ipcf_log_open(path, 0, &log, NULL), 0);
    struct ipcf_log_cursor cur = {0};
    assert_int_equal(ipcf_log_read(log, &cur, b, sizeof(b), &len), -IPCF_ECORRUPT);
    ipcf_log_close(log);
    unlink(path);
}

/* A file truncated under a reader (and under the writer): clear error. */
static int truncated_reader(void *argp)
{
    struct wr_arg *a = argp;
    struct ipcf_log *log, *w;
    unsigned char b[256];
    size_t len;
    struct ipcf_log_cursor cur = {0};
    if (a->bugs && ipcf_bugs_set(a->bugs) < 0)
        return 10;
    if (ipcf_log_open(a->path, 0, &log, NULL) < 0 ||
        ipcf_log_open(a->path, IPCF_LOG_WRITER, &w, NULL) < 0)
        return 11;
    if (ipcf_log_read(log, &cur, b, sizeof(b), &len) < 0)
        return 12;
    if (truncate(a->path, 0) < 0)
        return 13;
    if (ipcf_log_read(log, &cur, b, sizeof(b), &len) != -IPCF_ESHRUNK)
        return 14;
    if (ipcf_log_read(log, &cur, b, sizeof(b), &len) != -IPCF_ESHRUNK)
        return 15;
    if (ipcf_log_append(w, b, 10) != -IPCF_ESHRUNK)
        return 16;
    ipcf_log_close(log);
    ipcf_log_close(w);
    /* reopening the truncated file: a clear error too */
    if (ipcf_log_open(a->path, 0, &log, NULL) != -IPCF_ESHRUNK)
        return 17;
    return 0;
}

static void truncation_case(const char *bugs, int *status)
{
    char path[IPCF_NAME_MAX];
    struct ipcf_log *log;
    unsigned char b[256];
    log_path(path, sizeof(path));
    assert_int_equal(ipcf_log_create(path, 1 << 16, &log), 0);
    for (uint64_t i = 0; i < 10; i++)
        assert_int_equal(ipcf_log_append(log, b, rec_make(b, i)), 0);
    ipcf_log_close(log);
    struct wr_arg a = {.path = path, .bugs = bugs};
    assert_int_equal(ipcft_wait(spawn(truncated_reader, &a), 10000, status), 0);
    unlink(path);
}

static void log_truncated_under_reader(void **state)
{
    int st;
    truncation_case(NULL, &st);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("truncated reader: status 0x%x", st);
}

static void log_bug_no_sigbus(void **state)
{
    int st;
    truncation_case("log_no_sigbus", &st);
    if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS))
        fail_msg("log_no_sigbus: the reader must die by SIGBUS (status 0x%x)", st);
}

/* ---- truncated at an exact step, in a child started like a harness peer ----
 * The supervisor uses the guard (check() validates the log), forks the peers
 * and resets their SIGBUS to SIG_DFL; they never install anything. These
 * children come straight from ipcft_fork (same reset), the parent used the
 * guard first. The child opens a reader, then the writer (its step hook armed
 * before the open, so log.recover.* steps count), appends; the hook truncates
 * the file to 0 bytes the first time `step` is reached. The open / append
 * that ran the step returns what the case says; then every append, read and
 * recover -IPCF_ESHRUNK, validate over a third mapping -IPCF_ESHRUNK, close
 * does not fault, a re-open -IPCF_ESHRUNK. Before the fix the child died by
 * SIGBUS (the mmap_log campaign finding, seed 3: log.append.committed). */
struct lshrink_case {
    const char *path;
    const char *step;
    int open_rc;   /* writer open (recovery) */
    int append_rc; /* the append during which the append steps run */
};

static const char *lshrink_step;
static const char *lshrink_path;
static int lshrink_done;

static void lshrink_hook(const char *step)
{
    if (lshrink_step && !strcmp(step, lshrink_step)) {
        lshrink_step = NULL;
        if (truncate(lshrink_path, 0) == 0)
            lshrink_done = 1;
    }
}

static int lshrink_child(void *argp)
{
    const struct lshrink_case *k = argp;
    struct ipcf_log *r, *w = NULL;
    struct ipcf_log_cursor cur = {0};
    unsigned char b[256];
    size_t len;
    if (ipcf_log_open(k->path, 0, &r, NULL) < 0)
        return 10;
    int fd = open(k->path, O_RDONLY | O_CLOEXEC);
    void *m = fd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        return 11;
    if (ipcf_log_read(r, &cur, b, sizeof(b), &len) < 0) /* state: one record read */
        return 12;
    unsigned long caught = ipcf_sigbus_caught();
    lshrink_path = k->path;
    lshrink_step = k->step;
    ipcf_step_set_hook(lshrink_hook);
    if (ipcf_log_open(k->path, IPCF_LOG_WRITER, &w, NULL) != k->open_rc)
        return 13;
    if (w && ipcf_log_append(w, b, rec_make(b, 5)) != k->append_rc)
        return 14;
    if (!lshrink_done)
        return 15;
    if (w && (ipcf_log_append(w, b, rec_make(b, 6)) != -IPCF_ESHRUNK ||
              ipcf_log_recover(w, NULL) != -IPCF_ESHRUNK))
        return 16;
    if (ipcf_log_read(r, &cur, b, sizeof(b), &len) != -IPCF_ESHRUNK ||
        ipcf_log_read(r, &cur, b, sizeof(b), &len) != -IPCF_ESHRUNK)
        return 17;
    if (ipcf_log_validate(m, 4096) != -IPCF_ESHRUNK) /* what check() does */
        return 18;
    if (ipcf_sigbus_caught() <= caught)
        return 19;
    ipcf_log_close(w);
    ipcf_log_close(r);
    munmap(m, 4096);
    close(fd);
    if (ipcf_log_open(k->path, IPCF_LOG_WRITER, &w, NULL) != -IPCF_ESHRUNK)
        return 20;
    return 0;
}

static void lshrink_run(struct lshrink_case *k, const char *bugs, int *st)
{
    char path[IPCF_NAME_MAX];
    struct ipcf_log *log;
    unsigned char b[256];
    char one = 1, copy = 0;
    log_path(path, sizeof(path));
    assert_int_equal(ipcf_log_create(path, 4096, &log), 0);
    for (uint64_t i = 0; i < 5; i++)
        assert_int_equal(ipcf_log_append(log, b, rec_make(b, i)), 0);
    ipcf_log_close(log);
    k->path = path;
    if (bugs)
        assert_int_equal(ipcf_bugs_set(bugs), 0);
    assert_int_equal(ipcf_sigbus_copy(&copy, &one, 1), 0); /* as the supervisor did */
    int rc = ipcft_wait(ipcft_fork(lshrink_child, k), 10000, st);
    if (bugs)
        assert_int_equal(ipcf_bugs_set(""), 0);
    unlink(path);
    assert_int_equal(rc, 0);
}

static void lshrink_expect_ok(const char *step, int open_rc, int append_rc)
{
    struct lshrink_case k = {.step = step, .open_rc = open_rc, .append_rc = append_rc};
    int st = 0;
    lshrink_run(&k, NULL, &st);
    if (WIFSIGNALED(st))
        fail_msg("truncated at %s: the child died by signal %d", step, WTERMSIG(st));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("truncated at %s: the child exited %d", step, WEXITSTATUS(st));
}

#define SHRUNK (-IPCF_ESHRUNK)
/* recovery's walk, torn-record scan and committed store */
static void log_shrink_at_recover_begin(void **state)
{
    lshrink_expect_ok("log.recover.begin", SHRUNK, 0);
}
/* after recovery: the first append's header write */
static void log_shrink_at_recover_done(void **state)
{
    lshrink_expect_ok("log.recover.done", 0, SHRUNK);
}
static void log_shrink_at_append_begin(void **state)
{
    lshrink_expect_ok("log.append.begin", 0, SHRUNK);
}
static void log_shrink_at_append_header(void **state)
{
    lshrink_expect_ok("log.append.header", 0, SHRUNK);
}
static void log_shrink_at_append_half(void **state)
{
    lshrink_expect_ok("log.append.half", 0, SHRUNK);
}
/* the committed store */
static void log_shrink_at_append_payload(void **state)
{
    lshrink_expect_ok("log.append.payload", 0, SHRUNK);
}
/* the campaign's plan: the next append / read / close after a commit */
static void log_shrink_at_append_committed(void **state)
{
    lshrink_expect_ok("log.append.committed", 0, 0);
}

/* Planted sigbus_trust_install: the same child dies by SIGBUS. */
static void log_bug_sigbus_trust_install(void **state)
{
    struct lshrink_case k = {.step = "log.append.committed"};
    int st = 0;
    lshrink_run(&k, "sigbus_trust_install", &st);
    if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS))
        fail_msg("with sigbus_trust_install the child must die by SIGBUS (status 0x%x)", st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(log_reader_other_process),
        cmocka_unit_test(log_writer_killed_every_step),
        cmocka_unit_test(log_committed_damage),
        cmocka_unit_test(log_truncated_under_reader),
        cmocka_unit_test(log_bug_accept_torn),
        cmocka_unit_test(log_bug_no_sigbus),
        cmocka_unit_test(log_shrink_at_recover_begin),
        cmocka_unit_test(log_shrink_at_recover_done),
        cmocka_unit_test(log_shrink_at_append_begin),
        cmocka_unit_test(log_shrink_at_append_header),
        cmocka_unit_test(log_shrink_at_append_half),
        cmocka_unit_test(log_shrink_at_append_payload),
        cmocka_unit_test(log_shrink_at_append_committed),
        cmocka_unit_test(log_bug_sigbus_trust_install),
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
