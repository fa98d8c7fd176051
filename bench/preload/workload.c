/* workload.c — ipcf_bench_preload_work N: N one-byte write() calls to
 * /dev/null (retrying EINTR, counted), then prints "ns_per_call eintr_count".
 * Run plain, under LD_PRELOAD=libipcfuzz_preload.so, and under strace. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    long eintr = 0;
    struct timespec a, b;
    if (fd < 0)
        return 1;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        while (write(fd, "x", 1) != 1) {
            if (errno != EINTR)
                return 1;
            eintr++;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n;
    printf("%.1f %ld\n", ns, eintr);
    return 0;
}
