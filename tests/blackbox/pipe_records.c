/* pipe_records.c — a parent reads fixed-size records that a forked worker
 * writes into a pipe, checks each record and prints a summary.
 *
 * Correct build: the reader loops until it has a whole record (read() on a
 * pipe may return fewer bytes than asked), retries EINTR, and closes its copy
 * of the pipe's write end so a dead worker means EOF.
 * -DBUG_PARTIAL_READ: one read() per record, as if a pipe kept record
 *   boundaries; a short read is reported as a corrupt record (exit 1).
 * -DBUG_KEEP_WRITE_END: the parent forgets to close the write end; it stops
 *   after the expected count, so it works until the worker dies early: then
 *   read() never sees EOF and the parent hangs.
 * Not linked with ipcfuzz: a black-box test program (tests/test_exec_blackbox.sh). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define RECORDS 200

struct record {
    uint32_t seq;
    uint32_t value;
    char text[48];
    uint32_t check;
};

static uint32_t checksum(const struct record *r)
{
    const unsigned char *p = (const unsigned char *)r;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < offsetof(struct record, check); i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* 1 = a record, 0 = clean EOF, -1 = error or EOF inside a record */
static int read_record(int fd, struct record *r)
{
#ifdef BUG_PARTIAL_READ
    ssize_t n = read(fd, r, sizeof(*r));
    if (n == 0)
        return 0;
    return n < 0 ? -1 : 1; /* BUG: n may be < sizeof(*r) */
#else
    size_t got = 0;
    while (got < sizeof(*r)) {
        ssize_t n = read(fd, (char *)r + got, sizeof(*r) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return got ? -1 : 0;
        got += (size_t)n;
    }
    return 1;
#endif
}

static void worker(int wfd)
{
    for (uint32_t i = 0; i < RECORDS; i++) {
        struct record r;
        memset(&r, 0, sizeof(r));
        r.seq = i;
        r.value = i * 2654435761u;
        snprintf(r.text, sizeof(r.text), "record %u of %u", i, RECORDS);
        r.check = checksum(&r);
        if (write_all(wfd, &r, sizeof(r)) < 0)
            _exit(1);
    }
    _exit(0);
}

int main(void)
{
    int p[2];
    if (pipe(p) != 0)
        return 2;
    pid_t w = fork();
    if (w < 0)
        return 2;
    if (w == 0) {
        close(p[0]);
        worker(p[1]);
    }
#ifndef BUG_KEEP_WRITE_END
    close(p[1]);
#endif
    uint64_t sum = 0;
    uint32_t n = 0;
    int rc;
    struct record r;
    while (n < RECORDS && (rc = read_record(p[0], &r)) > 0) {
        if (r.check != checksum(&r) || r.seq != n) {
            fprintf(stderr, "corrupt record after %u good ones\n", n);
            return 1;
        }
        sum += r.value;
        n++;
    }
    close(p[0]);
    int st;
    while (waitpid(w, &st, 0) < 0 && errno == EINTR)
        ;
    if (n != RECORDS) {
        fprintf(stderr, "worker stopped after %u records\n", n);
        return 1;
    }
    printf("%u records, sum %llu\n", n, (unsigned long long)sum);
    return 0;
}
