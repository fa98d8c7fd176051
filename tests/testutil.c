/* testutil.c — see testutil.h. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "ipcfuzz/names.h"

int64_t ipcft_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ipcft_group_setup(void **state)
{
    (void)state;
    signal(SIGPIPE, SIG_IGN);
    return ipcf_run_begin() == 0 ? 0 : -1;
}

static int count_prefixed(const char *dir, pid_t run)
{
    int n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        pid_t owner;
        if (ipcf_name_parse_run(e->d_name, &owner) && owner == run)
            n++;
    }
    closedir(d);
    return n;
}

int ipcft_count_run_names(void)
{
    char dir[PATH_MAX];
    pid_t run = ipcf_run_id();
    int n = count_prefixed("/dev/shm", run) + count_prefixed("/dev/mqueue", run);
    if (ipcf_run_dir(dir, sizeof(dir)) == 0) {
        DIR *d = opendir(dir);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL)
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                    n++;
            closedir(d);
        }
    }
    return n;
}

int ipcft_group_teardown(void **state)
{
    (void)state;
    int left = ipcft_count_run_names();
    ipcf_run_remove_names(0);
    if (left) {
        fprintf(stderr, "names audit: %d name(s) of run %ld left behind\n", left,
                (long)ipcf_run_id());
        return -1;
    }
    return 0;
}

pid_t ipcft_fork(int (*fn)(void *arg), void *arg)
{
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        abort();
    }
    if (pid == 0) {
        /* cmocka installs handlers for SIGSEGV, SIGBUS, SIGABRT...; a child
         * that crashes must die by its signal (the parent checks it), not
         * jump back into the test runner and run the rest of the suite. */
        static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS};
        for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
            signal(crash_signals[i], SIG_DFL);
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(99);
        _exit(fn(arg));
    }
    setpgid(pid, pid); /* both sides, so there is no race with killpg */
    return pid;
}

int ipcft_wait(pid_t pid, int timeout_ms, int *status)
{
    int64_t deadline = ipcft_now_ms() + timeout_ms;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -errno;
        if (ipcft_now_ms() >= deadline)
            break;
        usleep(1000);
    }
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
    return -ETIMEDOUT;
}

void ipcft_expect_exit0(pid_t pid, int timeout_ms)
{
    int status = 0;
    int rc = ipcft_wait(pid, timeout_ms, &status);
    assert_int_equal(rc, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("child %ld: %s %d", (long)pid, WIFEXITED(status) ? "exit" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}
