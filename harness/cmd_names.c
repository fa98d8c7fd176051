/* cmd_names.c — `ipcfuzz names [--clean]`: list the persistent names left by
 * ipcfuzz runs (shm, mqueue, System V, run directories), and remove those of
 * dead runs. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cli.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: %s names [--clean]\n\n"
            "List every ipcfuzz name on this machine: /dev/shm and /dev/mqueue entries\n"
            "ipcf.<pid>.*, run directories <tmp>/ipcf.<pid>.d, with whether the run that\n"
            "owns them (the supervisor pid) is alive. --clean removes the names of dead\n"
            "runs (a live run's names are never touched).\n"
            "exit status: 0 nothing stale left, 1 stale names remain (listed), 2 usage.\n",
            ipcf__prog);
}

static int list_dir(const char *dir, const char *kind, const char *prefix_out, int *stale)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        pid_t run;
        if (!ipcf_name_parse_run(e->d_name, &run))
            continue;
        int alive = ipcf_run_alive(run);
        printf("  %-9s %s%s  run %ld %s\n", kind, prefix_out, e->d_name, (long)run,
               alive ? "alive" : "dead");
        if (!alive)
            (*stale)++;
        n++;
    }
    closedir(d);
    return n;
}

int ipcf__cmd_names(int argc, char **argv)
{
    bool clean = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            help(stdout);
            return IPCF_EXIT_CLEAN;
        } else if (!strcmp(argv[i], "--clean"))
            clean = true;
        else
            return ipcf__usage_error("names", "unknown argument '%s'", argv[i]);
    }
    if (clean) {
        struct ipcf_sweep_result r;
        memset(&r, 0, sizeof(r));
        int rc = ipcf_sweep(0, &r);
        printf("swept %d name(s) of %d dead run(s); %d name(s) of live runs left alone\n",
               r.names_removed, r.runs_swept, r.live_skipped);
        if (rc < 0)
            fprintf(stderr, "%s names: some names could not be removed: %s\n", ipcf__prog,
                    ipcf_strerror(rc));
    }
    const char *tmp = getenv("TMPDIR");
    if (!tmp || tmp[0] != '/')
        tmp = "/tmp";
    char tmpslash[PATH_MAX];
    snprintf(tmpslash, sizeof(tmpslash), "%s/", tmp);
    int stale = 0, n = 0;
    printf("ipcfuzz names:\n");
    n += list_dir("/dev/shm", "shm", "/dev/shm/", &stale);
    n += list_dir("/dev/mqueue", "mqueue", "/dev/mqueue/", &stale);
    n += list_dir(tmp, "run-dir", tmpslash, &stale);
    if (!n)
        printf("  (none)\n");
    return stale ? IPCF_EXIT_FINDINGS : IPCF_EXIT_CLEAN;
}
