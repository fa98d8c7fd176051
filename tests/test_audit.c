/* test_audit.c — names audit (snapshot/diff over real names), System V keys,
 * the fd audit, and the sweeper (dead runs swept, live runs untouched).
 * Every test's teardown removes whatever it may have created, also on failure. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "ipcfuzz/names.h"
#include "ipcfuzz/sysvkey.h"
#include "audit.h"

static pid_t dead_run; /* a pid that is certainly dead (a reaped child) */
static char glob_file[PATH_MAX + 64];
static char foreign_shm[64];

static int exit0(void *arg)
{
    (void)arg;
    return 0;
}

static pid_t make_dead_pid(void)
{
    pid_t p = ipcft_fork(exit0, NULL);
    int status;
    assert_int_equal(ipcft_wait(p, 5000, &status), 0);
    return p;
}

static int tmp_dir(char *buf, size_t cap)
{
    char d[PATH_MAX];
    if (ipcf_run_dir(d, sizeof(d)) != 0)
        return -1;
    *strrchr(d, '/') = '\0';
    snprintf(buf, cap, "%s", d);
    return 0;
}

static int cleanup(void **state)
{
    (void)state;
    (void)ipcf_sysv_key_remove("q");
    (void)ipcf_sysv_key_remove("k");
    if (dead_run > 0) {
        char tmp[PATH_MAX], rdir[PATH_MAX + 32];
        if (tmp_dir(tmp, sizeof(tmp)) == 0) {
            snprintf(rdir, sizeof(rdir), "%s/ipcf.%ld.d", tmp, (long)dead_run);
            (void)ipcf_sysv_remove_recorded(rdir);
        }
        (void)ipcf_run_remove_names(dead_run);
        char n[64];
        snprintf(n, sizeof(n), "/ipcf.%ld.q", (long)dead_run);
        mq_unlink(n);
        dead_run = 0;
    }
    if (glob_file[0])
        unlink(glob_file);
    glob_file[0] = '\0';
    if (foreign_shm[0])
        shm_unlink(foreign_shm);
    foreign_shm[0] = '\0';
    (void)ipcf_run_remove_names(0);
    return 0;
}

static int has(const struct ipcf_audit_snap *s, const char *formatted)
{
    char buf[IPCF_AUDIT_NAME_MAX + 16];
    for (size_t i = 0; i < s->n; i++) {
        ipcf_name_entry_format(&s->v[i], buf, sizeof(buf));
        if (strcmp(buf, formatted) == 0)
            return 1;
    }
    return 0;
}

static void dump(const char *what, const struct ipcf_audit_snap *s)
{
    char buf[IPCF_AUDIT_NAME_MAX + 16];
    for (size_t i = 0; i < s->n; i++) {
        ipcf_name_entry_format(&s->v[i], buf, sizeof(buf));
        fprintf(stderr, "  %s: %s\n", what, buf);
    }
}

static void test_diff_finds_leaked_shm_path_and_sysv(void **state)
{
    struct ipcf_audit_snap before, after, leaked;
    char shm[IPCF_NAME_MAX], path[IPCF_NAME_MAX], want[PATH_MAX + 64], rdir[PATH_MAX];
    key_t key;
    (void)state;
    assert_int_equal(ipcf_audit_snapshot(NULL, &before), 0);

    assert_int_equal(ipcf_name_posix(shm, sizeof(shm), "leak"), 0);
    int fd = shm_open(shm, O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(ipcf_name_path(path, sizeof(path), "sock"), 0);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(ipcf_sysv_key("q", &key), 0);
    int q = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
    assert_true(q >= 0);

    assert_int_equal(ipcf_audit_snapshot(NULL, &after), 0);
    assert_int_equal(ipcf_audit_diff(&before, &after, &leaked), 0);
    dump("leaked", &leaked);
    snprintf(want, sizeof(want), "shm:%s", shm);
    assert_true(has(&leaked, want));
    snprintf(want, sizeof(want), "path:%s", path);
    assert_true(has(&leaked, want));
    assert_int_equal(ipcf_run_dir(rdir, sizeof(rdir)), 0);
    snprintf(want, sizeof(want), "path:%s/sysv.q", rdir);
    assert_true(has(&leaked, want));
    snprintf(want, sizeof(want), "sysv-msg:key=0x%08x id=%d", (unsigned)key, q);
    assert_true(has(&leaked, want));
    assert_int_equal(leaked.n, 4);
    ipcf_audit_snap_free(&after);
    ipcf_audit_snap_free(&leaked);

    /* clean up the way a correct target does: nothing is left */
    assert_int_equal(shm_unlink(shm), 0);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(ipcf_sysv_key_remove("q"), 2); /* the queue and the key file */
    assert_int_equal(msgget(key, 0), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(ipcf_audit_snapshot(NULL, &after), 0);
    assert_int_equal(ipcf_audit_diff(&before, &after, &leaked), 0);
    dump("left", &leaked);
    assert_int_equal(leaked.n, 0);
    ipcf_audit_snap_free(&before);
    ipcf_audit_snap_free(&after);
    ipcf_audit_snap_free(&leaked);
}

static void test_mq_found_by_probe_or_listing(void **state)
{
    struct ipcf_audit_snap s;
    char name[IPCF_NAME_MAX], want[IPCF_NAME_MAX + 8];
    struct mq_attr attr = {.mq_maxmsg = 4, .mq_msgsize = 64};
    (void)state;
    assert_int_equal(ipcf_name_posix(name, sizeof(name), "mq"), 0);
    const char *probe[] = {name};
    struct ipcf_audit_opts o = {.probe_mq = probe, .nprobe_mq = 1};
    assert_int_equal(ipcf_audit_snapshot(&o, &s), 0);
    snprintf(want, sizeof(want), "mq:%s", name);
    assert_false(has(&s, want));
    ipcf_audit_snap_free(&s);
    mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    assert_true(q != (mqd_t)-1);
    mq_close(q);
    int rc = ipcf_audit_snapshot(&o, &s);
    mq_unlink(name);
    assert_int_equal(rc, 0);
    assert_true(has(&s, want));
    ipcf_audit_snap_free(&s);
}

static void test_globs_select_black_box_names(void **state)
{
    struct ipcf_audit_snap before, after, leaked;
    char tmp[PATH_MAX], pat[PATH_MAX + 64], shmpat[96], want[PATH_MAX + 160];
    (void)state;
    assert_int_equal(tmp_dir(tmp, sizeof(tmp)), 0);
    snprintf(glob_file, sizeof(glob_file), "%s/ipcft-audit-%ld-x", tmp, (long)getpid());
    snprintf(pat, sizeof(pat), "%s/ipcft-audit-%ld-*", tmp, (long)getpid());
    snprintf(foreign_shm, sizeof(foreign_shm), "/ipcftaudit.%ld", (long)getpid());
    snprintf(shmpat, sizeof(shmpat), "/dev/shm/ipcftaudit.%ld", (long)getpid());
    const char *globs[] = {pat, shmpat};
    struct ipcf_audit_opts o = {.globs = globs, .nglobs = 2};
    assert_int_equal(ipcf_audit_snapshot(&o, &before), 0);
    int fd = open(glob_file, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    fd = shm_open(foreign_shm, O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(ipcf_audit_snapshot(&o, &after), 0);
    assert_int_equal(ipcf_audit_diff(&before, &after, &leaked), 0);
    assert_int_equal(leaked.n, 2);
    snprintf(want, sizeof(want), "path:%s", glob_file);
    assert_true(has(&leaked, want));
    snprintf(want, sizeof(want), "shm:%s", foreign_shm);
    assert_true(has(&leaked, want));
    ipcf_audit_snap_free(&before);
    ipcf_audit_snap_free(&after);
    ipcf_audit_snap_free(&leaked);
    /* without the globs, foreign names are not the run's */
    assert_int_equal(ipcf_audit_snapshot(NULL, &after), 0);
    snprintf(want, sizeof(want), "shm:%s", foreign_shm);
    assert_false(has(&after, want));
    ipcf_audit_snap_free(&after);
}

static void test_fd_audit_sees_new_descriptors(void **state)
{
    struct ipcf_fd_list before, after, diff;
    int p[2];
    (void)state;
    assert_int_equal(ipcf_audit_fds(0, &before), 0);
    assert_int_equal(pipe(p), 0);
    int rc = ipcf_audit_fds(0, &after);
    close(p[0]);
    close(p[1]);
    assert_int_equal(rc, 0);
    assert_int_equal(ipcf_fd_list_diff(&before, &after, &diff), 0);
    assert_int_equal(diff.n, 2);
    assert_int_equal(diff.v[0].fd, p[0]);
    assert_non_null(strstr(diff.v[0].target, "pipe:["));
    ipcf_fd_list_free(&after);
    ipcf_fd_list_free(&diff);
    assert_int_equal(ipcf_audit_fds(0, &after), 0);
    assert_int_equal(ipcf_fd_list_diff(&before, &after, &diff), 0);
    assert_int_equal(diff.n, 0);
    ipcf_fd_list_free(&before);
    ipcf_fd_list_free(&after);
    ipcf_fd_list_free(&diff);
    pid_t dead = make_dead_pid();
    assert_int_equal(ipcf_audit_fds(dead, &after), -ESRCH);
}

static void test_sysv_keys_are_stable_per_run(void **state)
{
    key_t a, b;
    (void)state;
    assert_int_equal(ipcf_sysv_key("k", &a), 0);
    assert_int_equal(ipcf_sysv_key("k", &b), 0);
    assert_int_equal(a, b);
    assert_int_equal(a, ipcf_sysv_key_derive(ipcf_run_id(), "k"));
    assert_true(a != IPC_PRIVATE && a > 0);
    assert_true(ipcf_sysv_key_derive(ipcf_run_id(), "k") !=
                ipcf_sysv_key_derive(ipcf_run_id() + 1, "k"));
    assert_int_equal(ipcf_sysv_key("bad/tag", &a), -EINVAL);
    assert_int_equal(ipcf_sysv_key_remove("k"), 1); /* only the key file */
    assert_int_equal(ipcft_count_run_names(), 0);
}

static void test_sweeper_removes_dead_runs_names(void **state)
{
    char tmp[PATH_MAX], rdir[PATH_MAX + 32], file[PATH_MAX + 64], shm[64], mq[64];
    (void)state;
    dead_run = make_dead_pid();
    assert_int_equal(ipcf_run_alive(dead_run), 0);
    assert_int_equal(ipcf_run_alive(getpid()), 1);

    /* names a supervisor with that pid would have left */
    snprintf(shm, sizeof(shm), "/ipcf.%ld.ring", (long)dead_run);
    int fd = shm_open(shm, O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(tmp_dir(tmp, sizeof(tmp)), 0);
    snprintf(rdir, sizeof(rdir), "%s/ipcf.%ld.d", tmp, (long)dead_run);
    assert_int_equal(mkdir(rdir, 0700), 0);
    snprintf(file, sizeof(file), "%s/sock", rdir);
    fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    key_t key = ipcf_sysv_key_derive(dead_run, "k");
    snprintf(file, sizeof(file), "%s/sysv.k", rdir);
    FILE *kf = fopen(file, "w");
    assert_non_null(kf);
    fprintf(kf, "0x%08x\n", (unsigned)key);
    fclose(kf);
    int q = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
    assert_true(q >= 0);
    struct mq_attr attr = {.mq_maxmsg = 2, .mq_msgsize = 16};
    snprintf(mq, sizeof(mq), "/ipcf.%ld.q", (long)dead_run);
    mqd_t m = mq_open(mq, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    assert_true(m != (mqd_t)-1);
    mq_close(m);
    int mq_listed = access("/dev/mqueue", F_OK) == 0;

    struct ipcf_sweep_result res;
    assert_int_equal(ipcf_sweep(dead_run, &res), 0);
    assert_int_equal(res.runs_swept, 1);
    /* shm + sysv queue + sock + key file + dir (+ mq when listable) */
    assert_int_equal(res.names_removed, 5 + mq_listed);
    assert_true(shm_open(shm, O_RDONLY, 0) < 0 && errno == ENOENT);
    assert_true(access(rdir, F_OK) != 0 && errno == ENOENT);
    assert_true(msgget(key, 0) < 0 && errno == ENOENT);
    if (mq_listed)
        assert_true(mq_open(mq, O_RDONLY) == (mqd_t)-1 && errno == ENOENT);
    else
        mq_unlink(mq); /* not listable here: the sweeper cannot see it */
    /* a second sweep finds nothing */
    assert_int_equal(ipcf_sweep(dead_run, &res), 0);
    assert_int_equal(res.runs_swept, 0);
}

static void test_sweeper_leaves_live_run_alone(void **state)
{
    char shm[IPCF_NAME_MAX], path[IPCF_NAME_MAX];
    (void)state;
    assert_int_equal(ipcf_name_posix(shm, sizeof(shm), "live"), 0);
    int fd = shm_open(shm, O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(ipcf_name_path(path, sizeof(path), "live.sock"), 0);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    struct ipcf_sweep_result res;
    assert_int_equal(ipcf_sweep(getpid(), &res), 0);
    assert_int_equal(res.runs_swept, 0);
    assert_int_equal(res.live_skipped, 2); /* the shm object and the run directory */
    fd = shm_open(shm, O_RDONLY, 0);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(shm_unlink(shm), 0);
    assert_int_equal(unlink(path), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_teardown(fn, cleanup)
    const struct CMUnitTest tests[] = {
        T(test_diff_finds_leaked_shm_path_and_sysv), T(test_mq_found_by_probe_or_listing),
        T(test_globs_select_black_box_names),        T(test_fd_audit_sees_new_descriptors),
        T(test_sysv_keys_are_stable_per_run),        T(test_sweeper_removes_dead_runs_names),
        T(test_sweeper_leaves_live_run_alone),
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
