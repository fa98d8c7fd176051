/* cli.c — the `ipcfuzz` command: subcommand dispatch (ipcf_main), top-level
 * help, and helpers shared by the subcommands (durations, seeds, reproducer
 * extras, finding files).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

const char *ipcf__prog = "ipcfuzz";

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"list", ipcf__cmd_list, "list scenarios, fault classes and planted bugs"},
    {"run", ipcf__cmd_run, "run a campaign: random (or given) fault plans over scenarios"},
    {"sweep", ipcf__cmd_sweep, "systematic: kill/EINTR/short at every traced call of every peer"},
    {"replay", ipcf__cmd_replay, "rerun a reproducer file and print its verdict"},
    {"minimize", ipcf__cmd_minimize, "shrink a reproducer's plan to the smallest that fails"},
    {"exec", ipcf__cmd_exec, "black-box: run any program under the preload injector"},
    {"names", ipcf__cmd_names, "list (and --clean) stale ipcfuzz names"},
};

static void top_help(FILE *f)
{
    fprintf(f,
            "usage: %s COMMAND [OPTIONS]\n\n"
            "Fuzzing and robustness testing of local IPC: kills peers at exact points,\n"
            "injects EINTR, short I/O and signals, judges every run with an oracle.\n\n"
            "commands:\n",
            ipcf__prog);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\n`%s COMMAND --help` describes each command.\n"
            "exit status: 0 clean, 1 findings, 2 usage error, 3 internal error\n",
            ipcf__prog);
}

int ipcf_main(int argc, char **argv)
{
    if (argc > 0 && argv[0]) {
        const char *slash = strrchr(argv[0], '/');
        ipcf__prog = slash ? slash + 1 : argv[0];
    }
    if (argc < 2) {
        top_help(stderr);
        return IPCF_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        top_help(stdout);
        return IPCF_EXIT_CLEAN;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("ipcfuzz 0.1.0\n");
        return IPCF_EXIT_CLEAN;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s'\n\n", ipcf__prog, argv[1]);
    top_help(stderr);
    return IPCF_EXIT_USAGE;
}

int ipcf__usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s %s: ", ipcf__prog, cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see `%s %s --help`)\n", ipcf__prog, cmd);
    return IPCF_EXIT_USAGE;
}

int ipcf__parse_duration_ms(const char *s, int64_t *ms)
{
    char *end;
    if (!s || !*s)
        return -EINVAL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return -EINVAL;
    double mult = 1000;
    if (!strcmp(end, "ms"))
        mult = 1;
    else if (!strcmp(end, "s") || !*end)
        mult = 1000;
    else if (!strcmp(end, "m") || !strcmp(end, "min"))
        mult = 60000;
    else if (!strcmp(end, "h"))
        mult = 3600000;
    else
        return -EINVAL;
    double r = v * mult;
    if (r > (double)INT32_MAX * 1000.0)
        return -EINVAL;
    *ms = (int64_t)r;
    return 0;
}

int ipcf__parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return -EINVAL;
    *out = v;
    return 0;
}

uint64_t ipcf__cli_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint64_t ipcf__cli_hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t ipcf__iteration_seed(uint64_t seed, const char *scenario, uint64_t iteration)
{
    return ipcf__cli_mix64(ipcf__cli_mix64(seed ^ ipcf__cli_hash_str(scenario)) + iteration);
}

int ipcf__plan_parse_or_usage(const char *cmd, const char *text, struct ipcf_plan *plan)
{
    struct ipcf_plan_error err;
    memset(&err, 0, sizeof(err));
    int rc = ipcf_plan_parse(text, plan, &err);
    if (rc == 0)
        return 0;
    fprintf(stderr, "%s %s: bad plan: %s\n  %s\n  %*s^\n", ipcf__prog, cmd,
            err.msg[0] ? err.msg : ipcf_strerror(rc), text, (int)err.pos, "");
    return IPCF_EXIT_USAGE;
}

/* ---- reproducer extras ------------------------------------------------------ */

void ipcf__repro_extra_free(struct ipcf__repro_extra *x)
{
    free(x->exec);
    free(x->names);
    free(x->then);
    free(x->cwd);
    memset(x, 0, sizeof(*x));
}

static char *unescape(const char *s, size_t n)
{
    char *o = malloc(n + 1);
    size_t k = 0;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 >= n) {
            o[k++] = s[i];
            continue;
        }
        char c = s[++i];
        if (c == 'n')
            o[k++] = '\n';
        else if (c == 't')
            o[k++] = '\t';
        else if (c == 'r')
            o[k++] = '\r';
        else if (c == 'x' && i + 2 < n) {
            char hex[3] = {s[i + 1], s[i + 2], 0};
            o[k++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else
            o[k++] = c;
    }
    o[k] = '\0';
    return o;
}

static void escape_to(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\')
            fputs("\\\\", f);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
}

int ipcf__repro_extra_read(const char *path, struct ipcf__repro_extra *x)
{
    memset(x, 0, sizeof(*x));
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        char *colon = strchr(line, ':');
        if (strncmp(line, "x-", 2) != 0 || !colon)
            continue;
        *colon = '\0';
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        char *val = unescape(v, strlen(v));
        if (!val) {
            rc = -ENOMEM;
            break;
        }
        uint64_t u = 0;
        if (!strcmp(line, "x-iteration") && ipcf__parse_u64(val, &u) == 0)
            x->iteration = u;
        else if (!strcmp(line, "x-messages") && ipcf__parse_u64(val, &u) == 0 && u < 1000000)
            x->messages = (unsigned)u;
        else if (!strcmp(line, "x-timeout-ms") && ipcf__parse_u64(val, &u) == 0 && u < INT32_MAX)
            x->timeout_ms = (int)u;
        else if (!strcmp(line, "x-exec")) {
            free(x->exec);
            x->exec = val;
            val = NULL;
        } else if (!strcmp(line, "x-names")) {
            free(x->names);
            x->names = val;
            val = NULL;
        } else if (!strcmp(line, "x-then")) {
            free(x->then);
            x->then = val;
            val = NULL;
        } else if (!strcmp(line, "x-cwd")) {
            free(x->cwd);
            x->cwd = val;
            val = NULL;
        }
        free(val);
    }
    free(line);
    fclose(f);
    if (rc < 0)
        ipcf__repro_extra_free(x);
    return rc;
}

int ipcf__repro_extra_append(const char *path, const struct ipcf__repro_extra *x)
{
    FILE *f = fopen(path, "ae");
    if (!f)
        return -errno;
    fprintf(f, "x-iteration: %llu\n", (unsigned long long)x->iteration);
    if (x->messages)
        fprintf(f, "x-messages: %u\n", x->messages);
    if (x->timeout_ms)
        fprintf(f, "x-timeout-ms: %d\n", x->timeout_ms);
    const char *keys[] = {"x-exec", "x-names", "x-then", "x-cwd"};
    const char *vals[] = {x->exec, x->names, x->then, x->cwd};
    for (int i = 0; i < 4; i++) {
        if (!vals[i])
            continue;
        fprintf(f, "%s: ", keys[i]);
        escape_to(f, vals[i]);
        fputc('\n', f);
    }
    int rc = ferror(f) ? -EIO : 0;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

static int mkdir_p(const char *dir)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int ipcf__write_finding(const char *dir, const char *scenario, const char *plan, uint64_t seed,
                        const char *bugs, const struct ipcf_findings *f,
                        const struct ipcf__repro_extra *x, char **path_out)
{
    struct ipcf_repro r;
    char verdicts[256], path[PATH_MAX], detail[1024] = "";
    int rc;

    IPCF_TRY(mkdir_p(dir));
    ipcf_findings_verdicts(f, verdicts, sizeof(verdicts));
    for (size_t i = 0, off = 0; i < f->n && i < 4 && off < sizeof(detail); i++) {
        int w = snprintf(detail + off, sizeof(detail) - off, "%s%s: %s", i ? "\n" : "",
                         ipcf_verdict_name(f->v[i].verdict), f->v[i].detail);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    const char *first = ipcf_verdict_name(ipcf_findings_verdict(f));
    if (snprintf(path, sizeof(path), "%s/%s-%s-%016llx.repro", dir, scenario, first,
                 (unsigned long long)seed) >= (int)sizeof(path))
        return -ENAMETOOLONG;

    ipcf_repro_init(&r);
    rc = ipcf_repro_set(&r.scenario, scenario);
    if (!rc)
        rc = ipcf_repro_set(&r.plan, plan ? plan : "");
    r.seed = seed;
    if (x && x->confirmations) {
        r.reproduced = x->reproduced;
        r.confirmations = x->confirmations;
    }
    if (!rc && bugs && *bugs)
        rc = ipcf_repro_set(&r.bugs, bugs);
    if (!rc)
        rc = ipcf_repro_set(&r.verdicts, verdicts);
    if (!rc)
        rc = ipcf_repro_set(&r.detail, detail);
    if (!rc)
        rc = ipcf_repro_set(&r.created_by, "ipcfuzz 0.1.0");
    char replay[PATH_MAX + 64];
    snprintf(replay, sizeof(replay), "%s replay %s", ipcf__prog, path);
    if (!rc)
        rc = ipcf_repro_set(&r.replay, replay);
    if (!rc)
        rc = ipcf_repro_write_file(&r, path);
    ipcf_repro_free(&r);
    if (!rc && x)
        rc = ipcf__repro_extra_append(path, x);
    if (!rc && path_out) {
        *path_out = strdup(path);
        if (!*path_out)
            rc = -ENOMEM;
    }
    return rc;
}

void ipcf__print_findings(FILE *f, const struct ipcf_findings *fs, const char *const *peer_names,
                          unsigned npeers)
{
    for (size_t i = 0; i < fs->n; i++) {
        const struct ipcf_finding *x = &fs->v[i];
        const char *peer =
            x->peer >= 0 && (unsigned)x->peer < npeers && peer_names ? peer_names[x->peer] : NULL;
        fprintf(f, "  %-20s %s%s%s%s\n", ipcf_verdict_name(x->verdict), peer ? "[" : "",
                peer ? peer : "", peer ? "] " : "", x->detail);
    }
    if (fs->dropped)
        fprintf(f, "  ... and %zu more\n", fs->dropped);
}

int ipcf__exe_dir(char *buf, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash)
        *slash = '\0';
    return 0;
}
