/* testutil.h — helpers shared by the cmocka tests: bounded child processes and
 * the per-test names audit. Every wait here has a timeout. */
#ifndef IPCF_TESTUTIL_H
#define IPCF_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/types.h>
#include <cmocka.h>

/* cmocka group setup: makes this test process the owner of a fresh run
 * (names under ipcf.<pid>.*) and ignores SIGPIPE. */
int ipcft_group_setup(void **state);

/* cmocka group teardown: fails if any name of this run is left (shm, mqueue,
 * run directory entries), then removes them so a failing test leaks nothing. */
int ipcft_group_teardown(void **state);

/* Number of names this run currently owns (/dev/shm, /dev/mqueue, run dir). */
int ipcft_count_run_names(void);

/* Fork a child in its own process group that dies with the test process; it
 * runs fn(arg) and _exit()s with fn's return value. Returns the pid (> 0). */
pid_t ipcft_fork(int (*fn)(void *arg), void *arg);

/* Wait for pid at most timeout_ms. On timeout the child's group is SIGKILLed,
 * reaped, and -ETIMEDOUT returned; else 0 with the wait status in *status. */
int ipcft_wait(pid_t pid, int timeout_ms, int *status);

/* Convenience: wait and assert the child exited with code 0. */
void ipcft_expect_exit0(pid_t pid, int timeout_ms);

/* Monotonic milliseconds. */
int64_t ipcft_now_ms(void);

#endif
