/* bench_bare.c — the reference loops for bench/harness/run: how many
 * kill-and-restart cycles per second this machine can do with no harness.
 *
 *   bench_harness_bare kill SECONDS      fork; SIGKILL the child; waitpid
 *   bench_harness_bare point SECONDS     fork a child that writes one byte to
 *                                        /dev/null (parent waits until it has,
 *                                        through a pipe); SIGKILL; waitpid — a
 *                                        kill at a point, nothing else: the
 *                                        process work of one cycle of a kill
 *                                        chain (each restart is the next victim)
 *   bench_harness_bare restart SECONDS   fork a child that writes one byte to
 *                                        /dev/null (parent waits until it has,
 *                                        through a pipe), SIGKILL, waitpid;
 *                                        then fork its "restart", which writes
 *                                        and _exits 0; waitpid — the process
 *                                        work of one harness cycle, nothing else
 *
 * Prints "<mode> <cycles> <seconds> <cycles/s>". Exit 0, or 1 on a system error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int reap(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return 0;
}

/* Child body: write one byte to /dev/null, tell the parent (if fd >= 0), then
 * wait to be killed (kill) or exit (restart). */
static void child(int notify, int stay)
{
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)!write(fd, "x", 1);
        close(fd);
    }
    if (notify >= 0)
        (void)!write(notify, "k", 1);
    while (stay)
        pause();
    _exit(0);
}

static int one_kill(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        for (;;)
            pause();
    }
    kill(pid, SIGKILL);
    return reap(pid);
}

/* Fork a child that writes, wait until it has, SIGKILL it, reap it. */
static int one_point(void)
{
    int p[2];
    char c;
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(p[0]);
        child(p[1], 1);
    }
    close(p[1]);
    while (read(p[0], &c, 1) < 0 && errno == EINTR)
        ;
    close(p[0]);
    kill(pid, SIGKILL);
    return reap(pid);
}

static int one_restart(void)
{
    if (one_point() < 0)
        return -1;
    pid_t pid = fork(); /* the restart */
    if (pid < 0)
        return -1;
    if (pid == 0)
        child(-1, 0);
    return reap(pid);
}

int main(int argc, char **argv)
{
    int (*one)(void) = NULL;
    if (argc == 3 && !strcmp(argv[1], "kill"))
        one = one_kill;
    else if (argc == 3 && !strcmp(argv[1], "point"))
        one = one_point;
    else if (argc == 3 && !strcmp(argv[1], "restart"))
        one = one_restart;
    if (!one) {
        fprintf(stderr, "usage: %s kill|point|restart SECONDS\n", argv[0]);
        return 2;
    }
    double budget = atof(argv[2]);
    unsigned long n = 0;
    double t0 = now_s(), t = t0;
    while (t - t0 < budget) {
        if (one() < 0) {
            perror("bench_harness_bare");
            return 1;
        }
        n++;
        if ((n & 15) == 0)
            t = now_s();
    }
    t = now_s();
    printf("%s %lu %.3f %.1f\n", argv[1], n, t - t0, (double)n / (t - t0));
    return 0;
}
