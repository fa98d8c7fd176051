/* test_names.c — run-unique names, the run directory, and name removal. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "ipcfuzz/names.h"

static void test_posix_name_has_run_prefix(void **state)
{
    char buf[IPCF_NAME_MAX], want[64];
    (void)state;
    assert_int_equal(ipcf_name_posix(buf, sizeof(buf), "ring"), 0);
    snprintf(want, sizeof(want), "/ipcf.%ld.ring", (long)getpid());
    assert_string_equal(buf, want);
    pid_t run = 0;
    assert_int_equal(ipcf_name_parse_run(buf, &run), 1);
    assert_int_equal(run, getpid());
}

static void test_bad_tags_refused(void **state)
{
    char buf[IPCF_NAME_MAX];
    (void)state;
    assert_int_equal(ipcf_name_posix(buf, sizeof(buf), ""), -EINVAL);
    assert_int_equal(ipcf_name_posix(buf, sizeof(buf), "a/b"), -EINVAL);
    assert_int_equal(ipcf_name_path(buf, sizeof(buf), ".."), -EINVAL);
    char longtag[200];
    memset(longtag, 'x', sizeof(longtag) - 1);
    longtag[sizeof(longtag) - 1] = '\0';
    assert_int_equal(ipcf_name_path(buf, sizeof(buf), longtag), -ENAMETOOLONG);
}

static void test_parse_rejects_foreign_names(void **state)
{
    pid_t run;
    (void)state;
    assert_int_equal(ipcf_name_parse_run("ipcf.x.ring", &run), 0);
    assert_int_equal(ipcf_name_parse_run("ipcf.12", &run), 0);
    assert_int_equal(ipcf_name_parse_run("other.12.ring", &run), 0);
    assert_int_equal(ipcf_name_parse_run("ipcf.0.ring", &run), 0);
    assert_int_equal(ipcf_name_parse_run("ipcf.99999999999.ring", &run), 0);
    assert_int_equal(ipcf_name_parse_run("ipcf.77.d", &run), 1);
    assert_int_equal(run, 77);
}

static void test_run_dir_is_private(void **state)
{
    char path[IPCF_NAME_MAX], dir[PATH_MAX];
    struct stat st;
    (void)state;
    assert_int_equal(ipcf_name_path(path, sizeof(path), "sock"), 0);
    assert_int_equal(ipcf_run_dir(dir, sizeof(dir)), 0);
    assert_int_equal(lstat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0700);
    /* A tampered directory is refused, not used. */
    assert_int_equal(chmod(dir, 0777), 0);
    assert_int_equal(ipcf_run_dir_create(), -EPERM);
    assert_int_equal(chmod(dir, 0700), 0);
    assert_int_equal(ipcf_run_dir_create(), 0);
    assert_true(ipcf_run_remove_names(0) >= 1);
    assert_int_equal(lstat(dir, &st), -1);
}

static void test_remove_names_finds_everything(void **state)
{
    char shm[IPCF_NAME_MAX], mq[IPCF_NAME_MAX], path[IPCF_NAME_MAX];
    (void)state;
    assert_int_equal(ipcf_name_posix(shm, sizeof(shm), "seg"), 0);
    int fd = shm_open(shm, O_CREAT | O_EXCL | O_RDWR, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(ipcf_name_path(path, sizeof(path), "f"), 0);
    fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(ipcf_name_posix(mq, sizeof(mq), "q"), 0);
    assert_true(ipcft_count_run_names() >= 2);
    /* shm object + file + run dir */
    assert_int_equal(ipcf_run_remove_names(0), 3);
    assert_int_equal(ipcft_count_run_names(), 0);
    assert_int_equal(shm_unlink(shm), -1);
    assert_int_equal(errno, ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_posix_name_has_run_prefix),
        cmocka_unit_test(test_bad_tags_refused),
        cmocka_unit_test(test_parse_rejects_foreign_names),
        cmocka_unit_test(test_run_dir_is_private),
        cmocka_unit_test(test_remove_names_finds_everything),
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
