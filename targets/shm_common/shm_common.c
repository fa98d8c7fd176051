/* shm_common.c — checksum and process identity for the shm targets. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shm_common.h"

uint32_t ipcf__shm_sum(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *b = p;
    uint64_t h = seed * 0x9E3779B97F4A7C15ull ^ (uint64_t)n ^ 0x243F6A8885A308D3ull;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 29;
        b += 8;
        n -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++)
        w |= (uint64_t)b[i] << (8 * i);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 32;
    return (uint32_t)h;
}

int ipcf__open_retry(const char *path, int flags, mode_t mode)
{
    for (unsigned eintr = 0;; eintr++) {
        int fd = open(path, flags, mode);
        if (fd >= 0 || errno != EINTR || eintr >= 1000)
            return fd;
    }
}

uint64_t ipcf__proc_start(pid_t pid)
{
    char path[64], buf[1024];
    size_t n = 0;
    if (pid <= 0)
        return 0;
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    /* An EINTR or a short read must not make a live process look dead (its
     * registration would then read as "start 0": never alive): retry both,
     * a bounded number of EINTRs, until end of file or the buffer is full. */
    int fd = ipcf__open_retry(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    for (unsigned eintr = 0; n < sizeof(buf) - 1;) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
        if (r < 0 && errno == EINTR && ++eintr < 1000)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n == 0)
        return 0;
    buf[n] = '\0';
    /* comm may contain spaces and ')': fields resume after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return 0;
    p += 2; /* field 3: state */
    if (*p == 'Z' || *p == 'X' || *p == 'x')
        return 0;
    unsigned long long start = 0;
    int field = 3;
    while (*p && field < 22) {
        if (*p++ == ' ')
            field++;
    }
    if (field != 22 || sscanf(p, "%llu", &start) != 1)
        return 0;
    return start ? (uint64_t)start : 1;
}

int ipcf__proc_alive(pid_t pid, uint64_t start)
{
    if (pid <= 0)
        return 0;
    uint64_t now = ipcf__proc_start(pid);
    return now != 0 && now == start;
}
