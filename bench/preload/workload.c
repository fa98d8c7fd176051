/* workload.c — the fault injector's cost on one-byte write() calls to /dev/null.
 *
 *   ipcf_bench_preload_work N
 *       N write() calls (retrying EINTR, counted); prints "ns_per_call eintr".
 *       Used under strace and for the injecting mode.
 *   ipcf_bench_preload_work ab N K
 *       Paired measurement inside one process: alternating blocks of K calls
 *       made through write() (the symbol a preloaded library overrides) and K
 *       calls made through libc's own write (looked up in libc.so.6, so never
 *       interposed), N calls in all. The two blocks of a pair run a few
 *       milliseconds apart, so the drift of a noisy machine cancels in their
 *       ratio; the order inside a pair alternates. Prints
 *       "median_ratio median_ns_wrapped median_ns_direct eintr".
 *       Without LD_PRELOAD both paths are the same function: the ratio is the
 *       method's own noise floor.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef ssize_t (*write_fn)(int, const void *, size_t);

static long eintr;

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* K one-byte writes through fn; ns per call, or -1 on error. */
static double block(write_fn fn, int fd, long k)
{
    double a = now_ns();
    for (long i = 0; i < k; i++) {
        while (fn(fd, "x", 1) != 1) {
            if (errno != EINTR)
                return -1;
            eintr++;
        }
    }
    return (now_ns() - a) / (double)k;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, long n)
{
    qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int paired(int fd, long n, long k)
{
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    write_fn direct = libc ? (write_fn)dlsym(libc, "write") : NULL;
    long pairs = n / (2 * k);
    if (!direct || pairs < 1)
        return 1;
    double *ratio = calloc((size_t)pairs, sizeof(double));
    double *w = calloc((size_t)pairs, sizeof(double));
    double *d = calloc((size_t)pairs, sizeof(double));
    if (!ratio || !w || !d)
        return 1;
    (void)block(write, fd, k); /* warm up both paths */
    (void)block(direct, fd, k);
    for (long p = 0; p < pairs; p++) {
        if (p % 2) {
            w[p] = block(write, fd, k);
            d[p] = block(direct, fd, k);
        } else {
            d[p] = block(direct, fd, k);
            w[p] = block(write, fd, k);
        }
        if (w[p] < 0 || d[p] < 0)
            return 1;
        ratio[p] = w[p] / d[p];
    }
    printf("%.4f %.1f %.1f %ld\n", median(ratio, pairs), median(w, pairs), median(d, pairs), eintr);
    return 0;
}

int main(int argc, char **argv)
{
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return 1;
    if (argc >= 4 && !strcmp(argv[1], "ab"))
        return paired(fd, strtol(argv[2], NULL, 10), strtol(argv[3], NULL, 10));
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    double ns = block(write, fd, n);
    if (ns < 0)
        return 1;
    printf("%.1f %ld\n", ns, eintr);
    return 0;
}
