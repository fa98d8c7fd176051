/* probe.c — ipcf_fault_probe: a tiny program linked with ipcf_interpose, so its
 * own plain libc calls go through the injector. The interposition tests run it
 * with IPCF_PLAN / IPCF_TRACE in the environment (read by the interposer's
 * constructor, as the preload library does).
 *
 *   ipcf_fault_probe cat             copy stdin to stdout with read()/write()
 *   ipcf_fault_probe point NAME N    pass the named point N times, exit 0
 *   ipcf_fault_probe count SET       print how many SET calls this process made
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipcfuzz/faults.h"

static int do_cat(void)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(0, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return 1;
        if (n == 0)
            return 0;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(1, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return 1;
            off += w;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "cat"))
        return do_cat();
    if (argc >= 4 && !strcmp(argv[1], "point")) {
        long n = strtol(argv[3], NULL, 10);
        for (long i = 0; i < n; i++)
            ipcf_point(argv[2]);
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "count")) {
        char b[16];
        for (int i = 0; i < 3; i++)
            if (write(-1, b, 1) >= 0) /* EBADF: counted but harmless */
                return 1;
        printf("%llu\n", (unsigned long long)ipcf_faults_count(argv[2]));
        return 0;
    }
    fprintf(stderr, "usage: ipcf_fault_probe cat | point NAME N | count SET\n");
    return 2;
}
