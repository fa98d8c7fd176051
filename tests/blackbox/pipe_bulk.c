/* pipe_bulk.c — a producer streams a 192 KiB buffer through a pipe in 64 KiB
 * write() calls to a forked consumer, which prints a checksum of what it got.
 *
 * Correct build: the producer continues after a partial write, retries EINTR,
 * and ignores SIGPIPE (a dead consumer is an EPIPE error: exit 1).
 * -DBUG_SHORT_WRITE: the producer assumes write() wrote everything. On a full
 *   pipe an interrupting signal makes a blocking write() return the bytes it
 *   had transferred so far; the rest of that chunk is silently dropped and the
 *   consumer's checksum differs.
 * Not linked with ipcfuzz: a black-box test program (tests/test_exec_blackbox.sh). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOTAL (192u * 1024u)
#define CHUNK (64u * 1024u)

static unsigned char buf[TOTAL];

static void consumer(int rfd)
{
    static unsigned char in[16384];
    uint64_t h = 1469598103934665603ull, total = 0;
    for (;;) {
        ssize_t n = read(rfd, in, sizeof(in));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            _exit(1);
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            h = (h ^ in[i]) * 1099511628211ull;
        if ((total + (uint64_t)n) / sizeof(in) != total / sizeof(in))
            usleep(25000); /* a slow consumer: the pipe stays nearly full */
        total += (uint64_t)n;
    }
    printf("consumer: %llu bytes, hash %016llx\n", (unsigned long long)total,
           (unsigned long long)h);
    fflush(stdout);
    _exit(total == TOTAL ? 0 : 1);
}

int main(void)
{
    int p[2];
    for (size_t i = 0; i < TOTAL; i++)
        buf[i] = (unsigned char)(i * 31 + (i >> 9));
    if (pipe(p) != 0)
        return 2;
    fflush(stdout);
    pid_t c = fork();
    if (c < 0)
        return 2;
    if (c == 0) {
        close(p[1]);
        consumer(p[0]);
    }
    close(p[0]);
    signal(SIGPIPE, SIG_IGN); /* a dead consumer is EPIPE, reported below */
    for (size_t off = 0; off < TOTAL;) {
        size_t len = TOTAL - off < CHUNK ? TOTAL - off : CHUNK;
        ssize_t n = write(p[1], buf + off, len);
#ifdef BUG_SHORT_WRITE
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return 1;
        off += len; /* BUG: assumes n == len */
#else
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return 1;
        off += (size_t)n;
#endif
    }
    close(p[1]);
    int st;
    while (waitpid(c, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
