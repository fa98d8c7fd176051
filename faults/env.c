/* env.c — configure the scheduler from the environment (ipcf_faults_load_env):
 * IPCF_PLAN (plan text), IPCF_SEED (decimal or 0x hex, default 0), IPCF_PEER
 * (default: the executable's basename), IPCF_TRACE (file, opened O_APPEND so
 * every process of a tree appends whole lines to one file). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

static int owned_trace_fd = -1;

int ipcf_faults_load_env(struct ipcf_plan_error *err)
{
    const char *text = getenv("IPCF_PLAN"), *seed_s = getenv("IPCF_SEED");
    const char *peer = getenv("IPCF_PEER"), *trace = getenv("IPCF_TRACE");
    struct ipcf_plan_error local;
    struct ipcf_plan plan = {NULL, 0};
    uint64_t seed = 0;
    int rc;
    if (!err)
        err = &local;
    err->pos = 0;
    err->msg[0] = '\0';
    if (!text && !trace)
        return 0;
    rc = ipcf_plan_parse(text ? text : "", &plan, err);
    if (rc < 0) {
        char m[sizeof(err->msg)];
        snprintf(m, sizeof(m), "IPCF_PLAN: %.170s", err->msg);
        memcpy(err->msg, m, sizeof(m));
        return rc;
    }
    if (seed_s && seed_s[0]) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(seed_s, &end, 0);
        if (errno || *end || seed_s[0] == '-') {
            snprintf(err->msg, sizeof(err->msg), "IPCF_SEED: expected a number, got '%.40s'",
                     seed_s);
            ipcf_plan_free(&plan);
            return -EINVAL;
        }
        seed = v;
    }
    if (trace && trace[0]) {
        long fd =
            syscall(SYS_openat, AT_FDCWD, trace, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0) {
            rc = -errno;
            snprintf(err->msg, sizeof(err->msg), "IPCF_TRACE: cannot open '%.100s': %s", trace,
                     strerror(-rc));
            ipcf_plan_free(&plan);
            return rc;
        }
        if (owned_trace_fd >= 0)
            syscall(SYS_close, owned_trace_fd);
        owned_trace_fd = (int)fd;
        ipcf_faults_trace_fd(owned_trace_fd);
    }
    rc = ipcf_faults_configure(&plan, seed, peer);
    ipcf_plan_free(&plan);
    return rc < 0 ? rc : 1;
}
