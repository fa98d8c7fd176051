/* driver.c — standalone driver for any LLVMFuzzerTestOneInput target.
 *
 * Linked with a fuzz target instead of libFuzzer, it builds with any compiler
 * (gcc in plain builds, with the build's sanitizers in asan/tsan builds) and
 * runs inputs without a fuzzing engine:
 *
 *   <target>_replay [options] FILE|DIR ...
 *     replays each FILE and every regular file of each DIR (not recursive;
 *     names starting with '.' are skipped), in sorted order; prints each
 *     name before running it, so a crash names its input.
 *   <target>_replay -runs=N [-max_total_time=S] [-seed=S] [-max_len=L] [FILE|DIR ...]
 *     additionally runs N generated inputs (stopping after S seconds): random
 *     bytes, or — when files were given — random mutations of those files
 *     (bit flips, byte sets, inserts, erases, splices). A cheap smoke test for
 *     builds without libFuzzer. Inputs are reproducible from the seed.
 *   -crash_dir=DIR  where a generated input that crashes is written
 *                   (default: the current directory), as crash-replay-<seed>-<n>.
 *   -optional=PATH  like a positional PATH, but silently skipped if it does
 *                   not exist (for regression folders that may be empty).
 *
 * Flags use libFuzzer's spelling, so scripts can swap binaries. Exit status 0
 * when every input returned; a crashing input ends the process the way it
 * would anyway (signal or sanitizer exit code). A missing FILE or DIR is an
 * error (exit 2), so a test that replays a corpus never passes vacuously.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

#define DRIVER_MAX_FILE (64u << 20) /* refuse inputs larger than 64 MiB */

struct opts {
    unsigned long long runs;
    double max_total_time; /* 0 = unbounded */
    unsigned long long seed;
    size_t max_len;
    const char *crash_dir;
};

struct blob {
    uint8_t *data;
    size_t size;
};

/* The input being generated right now, written out if the process dies. */
static const uint8_t *cur_data;
static size_t cur_size;
static char cur_path[4096];

static void die(const char *what, const char *arg)
{
    fprintf(stderr, "replay: %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
    exit(2);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Async-signal-safe: write the current generated input to cur_path. */
static void dump_current(void)
{
    int fd;
    size_t off = 0;

    if (!cur_data || !cur_path[0])
        return;
    fd = open(cur_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    while (off < cur_size) {
        ssize_t n = write(fd, cur_data + off, cur_size - off);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            break;
        }
        off += (size_t)n;
    }
    close(fd);
    (void)!write(2, "replay: crashing input written to ", 34);
    (void)!write(2, cur_path, strlen(cur_path));
    (void)!write(2, "\n", 1);
    cur_data = NULL;
}

static void on_fatal(int sig)
{
    dump_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int read_file(const char *path, struct blob *b)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    size_t off = 0;

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || (size_t)st.st_size > DRIVER_MAX_FILE) {
        close(fd);
        return -EFBIG;
    }
    b->size = (size_t)st.st_size;
    b->data = malloc(b->size ? b->size : 1);
    if (!b->data) {
        close(fd);
        return -ENOMEM;
    }
    while (off < b->size) {
        ssize_t n = read(fd, b->data + off, b->size - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    b->size = off;
    close(fd);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append path (a file) or every regular, non-hidden file of path (a folder)
 * to *list. Exits on a missing path. */
static void collect(const char *path, char ***list, size_t *n, size_t *cap)
{
    struct stat st;
    char **names = NULL;
    size_t nn = 0, nc = 0;
    DIR *d;
    struct dirent *e;

    if (stat(path, &st) < 0)
        die("cannot open", path);
    if (!S_ISDIR(st.st_mode)) {
        names = malloc(sizeof(*names));
        if (!names || !(names[0] = strdup(path)))
            die("out of memory", NULL);
        nn = 1;
    } else {
        d = opendir(path);
        if (!d)
            die("cannot open folder", path);
        while ((e = readdir(d))) {
            char full[4096];
            struct stat es;

            if (e->d_name[0] == '.')
                continue;
            snprintf(full, sizeof(full), "%s/%s", path, e->d_name);
            if (stat(full, &es) < 0 || !S_ISREG(es.st_mode))
                continue;
            if (nn == nc) {
                nc = nc ? 2 * nc : 16;
                names = realloc(names, nc * sizeof(*names));
                if (!names)
                    die("out of memory", NULL);
            }
            if (!(names[nn++] = strdup(full)))
                die("out of memory", NULL);
        }
        closedir(d);
        if (nn)
            qsort(names, nn, sizeof(*names), cmp_str);
    }
    for (size_t i = 0; i < nn; i++) {
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 64;
            *list = realloc(*list, *cap * sizeof(**list));
            if (!*list)
                die("out of memory", NULL);
        }
        (*list)[(*n)++] = names[i];
    }
    free(names);
}

/* splitmix64: a small, well-mixed, reproducible generator. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t rng_below(uint64_t *s, size_t n)
{
    return n ? (size_t)(rng_next(s) % n) : 0;
}

/* Make one input in buf (capacity max_len) from the base files, or random
 * bytes when there are none. Returns its length. */
static size_t generate(uint64_t *s, const struct blob *base, size_t nbase, uint8_t *buf,
                       size_t max_len)
{
    size_t len, rounds;

    if (nbase == 0 || rng_below(s, 8) == 0) {
        len = rng_below(s, max_len + 1);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rng_next(s);
        return len;
    }
    {
        const struct blob *b = &base[rng_below(s, nbase)];
        len = b->size < max_len ? b->size : max_len;
        if (len)
            memcpy(buf, b->data, len);
    }
    rounds = 1 + rng_below(s, 4);
    for (size_t r = 0; r < rounds; r++) {
        switch (rng_below(s, 6)) {
        case 0: /* flip a bit */
            if (len)
                buf[rng_below(s, len)] ^= (uint8_t)(1u << rng_below(s, 8));
            break;
        case 1: /* set an interesting byte */
            if (len) {
                static const uint8_t v[] = {0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x10, 0x40};
                buf[rng_below(s, len)] = v[rng_below(s, sizeof(v))];
            }
            break;
        case 2: /* insert random bytes */
            if (len < max_len) {
                size_t at = rng_below(s, len + 1), k = 1 + rng_below(s, 8);
                if (k > max_len - len)
                    k = max_len - len;
                memmove(buf + at + k, buf + at, len - at);
                for (size_t i = 0; i < k; i++)
                    buf[at + i] = (uint8_t)rng_next(s);
                len += k;
            }
            break;
        case 3: /* erase a run */
            if (len) {
                size_t at = rng_below(s, len), k = 1 + rng_below(s, len - at);
                memmove(buf + at, buf + at + k, len - at - k);
                len -= k;
            }
            break;
        case 4: /* truncate */
            len = rng_below(s, len + 1);
            break;
        case 5: { /* splice the tail of another base input */
            const struct blob *o = &base[rng_below(s, nbase)];
            size_t at = rng_below(s, len + 1), from = rng_below(s, o->size + 1);
            size_t k = o->size - from;
            if (k > max_len - at)
                k = max_len - at;
            if (k)
                memcpy(buf + at, o->data + from, k);
            len = at + k;
            break;
        }
        }
    }
    return len;
}

static void usage(void)
{
    fprintf(stderr, "usage: replay [-runs=N] [-max_total_time=S] [-seed=S] [-max_len=L]\n"
                    "              [-crash_dir=DIR] [-optional=PATH] [FILE|DIR ...]\n");
    exit(2);
}

/* Parse "-name=value" flags; leaves positional arguments in paths. */
static void parse_args(int argc, char **argv, struct opts *o, char ***paths, size_t *npaths)
{
    *paths = calloc((size_t)argc + 1, sizeof(char *));
    if (!*paths)
        die("out of memory", NULL);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char *end;

        if (a[0] != '-') {
            (*paths)[(*npaths)++] = argv[i];
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "-help=1") == 0 || strcmp(a, "--help") == 0)
            usage();
        if (strncmp(a, "-runs=", 6) == 0)
            o->runs = strtoull(a + 6, &end, 0);
        else if (strncmp(a, "-max_total_time=", 16) == 0)
            o->max_total_time = strtod(a + 16, &end);
        else if (strncmp(a, "-seed=", 6) == 0)
            o->seed = strtoull(a + 6, &end, 0);
        else if (strncmp(a, "-max_len=", 9) == 0)
            o->max_len = (size_t)strtoull(a + 9, &end, 0);
        else if (strncmp(a, "-optional=", 10) == 0) {
            struct stat st;
            if (stat(a + 10, &st) == 0)
                (*paths)[(*npaths)++] = argv[i] + 10;
            continue;
        } else if (strncmp(a, "-crash_dir=", 11) == 0) {
            o->crash_dir = a + 11;
            continue;
        } else {
            /* Unknown libFuzzer flags (-dict=, -timeout=...) are ignored so a
             * command line written for libFuzzer also works here. */
            fprintf(stderr, "replay: ignoring flag %s\n", a);
            continue;
        }
        if (*end != '\0')
            die("bad flag value", a);
    }
}

int main(int argc, char **argv)
{
    struct opts o = {.runs = 0, .max_total_time = 0, .seed = 1, .max_len = 4096, .crash_dir = "."};
    char **paths = NULL, **files = NULL;
    size_t npaths = 0, nfiles = 0, capfiles = 0;
    struct blob *base = NULL;
    double t0 = now_s();
    unsigned long long done = 0;

    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    parse_args(argc, argv, &o, &paths, &npaths);
    if (o.max_len == 0)
        o.max_len = 1;
    for (size_t i = 0; i < npaths; i++)
        collect(paths[i], &files, &nfiles, &capfiles);

    base = calloc(nfiles ? nfiles : 1, sizeof(*base));
    if (!base)
        die("out of memory", NULL);
    for (size_t i = 0; i < nfiles; i++) {
        int rc = read_file(files[i], &base[i]);

        if (rc < 0) {
            fprintf(stderr, "replay: %s: %s\n", files[i], strerror(-rc));
            return 2;
        }
        fprintf(stderr, "Running: %s (%zu bytes)\n", files[i], base[i].size);
        /* An exact-size heap copy, so ASan sees any read past the end. */
        {
            uint8_t *copy = malloc(base[i].size ? base[i].size : 1);
            if (!copy)
                die("out of memory", NULL);
            if (base[i].size)
                memcpy(copy, base[i].data, base[i].size);
            LLVMFuzzerTestOneInput(copy, base[i].size);
            free(copy);
        }
    }
    if (nfiles)
        fprintf(stderr, "replay: %zu input(s) ran without a crash\n", nfiles);

    if (o.runs) {
        uint64_t s = o.seed;
        uint8_t *buf = malloc(o.max_len);

        if (!buf)
            die("out of memory", NULL);
        if (__sanitizer_set_death_callback)
            __sanitizer_set_death_callback(dump_current);
        signal(SIGSEGV, on_fatal);
        signal(SIGBUS, on_fatal);
        signal(SIGABRT, on_fatal);
        signal(SIGFPE, on_fatal);
        signal(SIGILL, on_fatal);
        for (done = 0; done < o.runs; done++) {
            size_t len;
            uint8_t *copy;

            if (o.max_total_time > 0 && now_s() - t0 >= o.max_total_time)
                break;
            len = generate(&s, base, nfiles, buf, o.max_len);
            copy = malloc(len ? len : 1);
            if (!copy)
                die("out of memory", NULL);
            if (len)
                memcpy(copy, buf, len);
            snprintf(cur_path, sizeof(cur_path), "%s/crash-replay-%llu-%llu", o.crash_dir, o.seed,
                     done);
            cur_size = len;
            cur_data = copy;
            LLVMFuzzerTestOneInput(copy, len);
            cur_data = NULL;
            free(copy);
        }
        free(buf);
        fprintf(stderr,
                "replay: %llu generated input(s) (seed %llu) ran without a crash in %.1f s\n", done,
                o.seed, now_s() - t0);
    }

    for (size_t i = 0; i < nfiles; i++) {
        free(base[i].data);
        free(files[i]);
    }
    free(base);
    free(files);
    free(paths);
    return 0;
}
