/* worker_crash.c — a dispatcher hands length-prefixed messages to a forked
 * worker over a pipe and does not care how the worker ends (fire and forget:
 * it reaps it but ignores its status), then prints what it sent.
 *
 * Correct build: the worker reads each 4-byte length header and its payload
 * completely (read() on a pipe may return fewer bytes), retries EINTR, and
 * refuses a bad length by exiting 1. The dispatcher ignores SIGPIPE and stops
 * at EPIPE (its worker was killed).
 * -DBUG_HEADER_ONE_READ: the worker reads the header with one read() and
 *   asserts the length is sane: a short read leaves part of the header unread,
 *   the length is garbage, and the worker aborts (SIGABRT) — while the
 *   dispatcher still exits 0 with the same output. Only a crash of a process
 *   other than the main one shows the bug.
 * Not linked with ipcfuzz: a black-box test program (tests/test_exec_blackbox.sh). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MESSAGES    300
#define MAX_PAYLOAD 64

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* 1 = got len bytes, 0 = clean EOF before any byte, -1 = error or torn. */
static int read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, p + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return got == 0 ? 0 : -1;
        got += (size_t)r;
    }
    return 1;
}

static int worker(int fd)
{
    char payload[MAX_PAYLOAD];
    uint32_t len = 0;
    unsigned long sum = 0;
    for (;;) {
#ifdef BUG_HEADER_ONE_READ
        ssize_t r;
        do
            r = read(fd, &len, sizeof(len));
        while (r < 0 && errno == EINTR);
        if (r == 0)
            break;
        if (r < 0)
            return 1;
        if (len > MAX_PAYLOAD)
            abort(); /* "cannot happen": the dispatcher never sends more */
#else
        int h = read_full(fd, &len, sizeof(len));
        if (h == 0)
            break;
        if (h < 0 || len > MAX_PAYLOAD)
            return 1;
#endif
        if (read_full(fd, payload, len) != 1)
            return 1;
        for (uint32_t i = 0; i < len; i++)
            sum += (unsigned char)payload[i];
    }
    fprintf(stderr, "worker: checksum %lu\n", sum);
    return 0;
}

int main(void)
{
    int p[2];
    if (pipe(p) != 0) {
        perror("pipe");
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        close(p[1]);
        _exit(worker(p[0]));
    }
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    unsigned sent = 0;
    for (unsigned i = 0; i < MESSAGES; i++) {
        char msg[4 + MAX_PAYLOAD];
        uint32_t len = 1 + i % MAX_PAYLOAD;
        memcpy(msg, &len, sizeof(len));
        memset(msg + 4, 'a' + (int)(i % 26), len);
        if (write_all(p[1], msg, 4 + len) != 0) {
            fprintf(stderr, "dispatcher: worker gone after %u messages\n", sent);
            break;
        }
        sent++;
    }
    close(p[1]);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ; /* fire and forget: how the worker ended is not looked at */
    printf("dispatched %u messages\n", sent);
    return sent == MESSAGES ? 0 : 1;
}
