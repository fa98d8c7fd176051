/* shm_leak.c — a coordinator creates a POSIX shared-memory object, forks a
 * worker that fills it and reports progress over a pipe, then reads the
 * result and removes the object.
 *
 *   shm_leak NAME        (NAME like /bbx_shm_1)
 *
 * Correct build: the object is removed on every path, also when the worker
 * dies (the coordinator reports the failure and exits 1 — gracefully).
 * -DBUG_LEAK_ON_PEER_DEATH: when the worker dies early, the coordinator
 *   bails out with exit(1) before shm_unlink(): the name stays in /dev/shm.
 * Not linked with ipcfuzz: a black-box test program (tests/test_exec_blackbox.sh). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define SLOTS 64

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] != '/') {
        fprintf(stderr, "usage: shm_leak /NAME\n");
        return 2;
    }
    const char *name = argv[1];
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror("shm_open");
        return 1;
    }
    int rc = 1;
    uint64_t *slots = MAP_FAILED;
    int p[2] = {-1, -1};
    if (ftruncate(fd, SLOTS * sizeof(uint64_t)) != 0 || pipe(p) != 0)
        goto out;
    slots = mmap(NULL, SLOTS * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (slots == MAP_FAILED)
        goto out;
    pid_t w = fork();
    if (w < 0)
        goto out;
    if (w == 0) {
        close(p[0]);
        for (unsigned i = 0; i < SLOTS; i++) {
            slots[i] = (uint64_t)i * i + 7;
            unsigned char done = (unsigned char)i;
            while (write(p[1], &done, 1) < 0 && errno == EINTR)
                ;
        }
        _exit(0);
    }
    close(p[1]);
    p[1] = -1;
    unsigned got = 0;
    for (;;) {
        unsigned char b[64];
        ssize_t n = read(p[0], b, sizeof(b));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (unsigned)n;
    }
    int st;
    while (waitpid(w, &st, 0) < 0 && errno == EINTR)
        ;
    if (got != SLOTS || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "worker failed after %u slot(s)\n", got);
#ifdef BUG_LEAK_ON_PEER_DEATH
        exit(1); /* BUG: the object is never removed */
#endif
        goto out;
    }
    uint64_t sum = 0;
    for (unsigned i = 0; i < SLOTS; i++)
        sum += slots[i];
    printf("sum %llu\n", (unsigned long long)sum);
    rc = 0;
out:
    if (slots != MAP_FAILED)
        munmap(slots, SLOTS * sizeof(uint64_t));
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    close(fd);
    shm_unlink(name);
    return rc;
}
