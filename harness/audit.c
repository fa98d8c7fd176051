/* audit.c — names audit (snapshot + diff), fd audit and the sweeper (see audit.h).
 *
 * Snapshots are sorted arrays of (kind, name) so a diff is one merge. Sources
 * that do not exist on this machine (/dev/mqueue not mounted, no
 * /proc/sysvipc) are skipped, never fatal: the audit reports what it can see.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "ipcfuzz/names.h"
#include "ipcfuzz/sysvkey.h"
#include "audit.h"

#define MQUEUE_MAGIC 0x19800202
#define MAX_RUN_KEYS 256

static const char *const kind_prefix[] = {
    [IPCF_NAME_SHM] = "shm",           [IPCF_NAME_MQ] = "mq",
    [IPCF_NAME_SYSV_SHM] = "sysv-shm", [IPCF_NAME_SYSV_MSG] = "sysv-msg",
    [IPCF_NAME_SYSV_SEM] = "sysv-sem", [IPCF_NAME_PATH] = "path",
};

int ipcf_name_entry_format(const struct ipcf_name_entry *e, char *buf, size_t cap)
{
    const char *p = (unsigned)e->kind <= IPCF_NAME_PATH ? kind_prefix[e->kind] : "?";
    return snprintf(buf, cap, "%s:%s", p, e->name);
}

static int entry_cmp(const struct ipcf_name_entry *a, enum ipcf_name_kind kind, const char *name)
{
    if (a->kind != kind)
        return a->kind < kind ? -1 : 1;
    return strcmp(a->name, name);
}

int ipcf_audit_snap_add(struct ipcf_audit_snap *s, enum ipcf_name_kind kind, const char *name)
{
    /* binary search for the insertion point */
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = entry_cmp(&s->v[mid], kind, name);
        if (c == 0)
            return 0;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 16;
        struct ipcf_name_entry *nv = realloc(s->v, ncap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        s->v = nv;
        s->cap = ncap;
    }
    memmove(&s->v[lo + 1], &s->v[lo], (s->n - lo) * sizeof(*s->v));
    s->v[lo].kind = kind;
    snprintf(s->v[lo].name, sizeof(s->v[lo].name), "%s", name);
    s->n++;
    return 0;
}

void ipcf_audit_snap_free(struct ipcf_audit_snap *s)
{
    if (!s)
        return;
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static int glob_match(const struct ipcf_audit_opts *o, const char *text)
{
    for (size_t i = 0; o && i < o->nglobs; i++)
        if (o->globs[i] && fnmatch(o->globs[i], text, 0) == 0)
            return 1;
    return 0;
}

/* List /dev/shm or /dev/mqueue: the run's entries and glob matches. */
static int list_posix(struct ipcf_audit_snap *s, const char *dir, enum ipcf_name_kind kind,
                      pid_t run, const struct ipcf_audit_opts *o)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[PATH_MAX], name[NAME_MAX + 2];
        pid_t owner;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        snprintf(name, sizeof(name), "/%s", e->d_name);
        if ((ipcf_name_parse_run(e->d_name, &owner) && owner == run) || glob_match(o, path))
            rc = ipcf_audit_snap_add(s, kind, name);
    }
    closedir(d);
    return rc;
}

static int mqueue_mounted(void)
{
    struct statfs sf;
    return statfs("/dev/mqueue", &sf) == 0 && sf.f_type == MQUEUE_MAGIC;
}

static int list_sysv(struct ipcf_audit_snap *s, const char *file, enum ipcf_name_kind kind,
                     const key_t *keys, size_t nkeys, const struct ipcf_audit_opts *o)
{
    FILE *f = fopen(file, "re");
    if (!f)
        return 0;
    char line[512];
    int rc = 0;
    if (!fgets(line, sizeof(line), f)) { /* header */
        fclose(f);
        return 0;
    }
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        long long key;
        int id;
        if (sscanf(line, "%lld %d", &key, &id) != 2)
            continue;
        char name[64], full[80];
        snprintf(name, sizeof(name), "key=0x%08x id=%d", (unsigned)(key_t)key, id);
        snprintf(full, sizeof(full), "%s:%s", kind_prefix[kind], name);
        int ours = 0;
        for (size_t i = 0; i < nkeys && !ours; i++)
            ours = keys[i] == (key_t)key && key != IPC_PRIVATE;
        if (ours || glob_match(o, full))
            rc = ipcf_audit_snap_add(s, kind, name);
    }
    fclose(f);
    return rc;
}

/* Every entry under dir (depth-limited), as absolute paths. */
static int list_tree(struct ipcf_audit_snap *s, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[PATH_MAX];
        int n = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (n < 0 || (size_t)n >= sizeof(path))
            continue;
        rc = ipcf_audit_snap_add(s, IPCF_NAME_PATH, path);
        if (rc == 0 && e->d_type == DT_DIR && depth > 0)
            rc = list_tree(s, path, depth - 1);
    }
    closedir(d);
    return rc;
}

static int run_dir_of(pid_t run, char *buf, size_t cap)
{
    char mine[PATH_MAX];
    IPCF_TRY(ipcf_run_dir(mine, sizeof(mine)));
    char *slash = strrchr(mine, '/');
    if (!slash)
        return -EINVAL;
    *slash = '\0';
    int n = snprintf(buf, cap, "%s/" IPCF_NAME_PREFIX "%ld.d", mine, (long)run);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int ipcf_audit_snapshot(const struct ipcf_audit_opts *o, struct ipcf_audit_snap *out)
{
    memset(out, 0, sizeof(*out));
    pid_t run = o && o->run ? o->run : ipcf_run_id();
    char rdir[PATH_MAX];
    key_t keys[MAX_RUN_KEYS];
    int nkeys = 0, rc;

    rc = list_posix(out, "/dev/shm", IPCF_NAME_SHM, run, o);
    if (rc)
        goto fail;
    if (mqueue_mounted()) {
        out->mqueue_listed = true;
        rc = list_posix(out, "/dev/mqueue", IPCF_NAME_MQ, run, o);
        if (rc)
            goto fail;
    } else {
        for (size_t i = 0; o && i < o->nprobe_mq; i++) {
            mqd_t q = mq_open(o->probe_mq[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
            if (q == (mqd_t)-1)
                continue; /* ENOENT: not there (EACCES: someone else's; not ours) */
            mq_close(q);
            rc = ipcf_audit_snap_add(out, IPCF_NAME_MQ, o->probe_mq[i]);
            if (rc)
                goto fail;
        }
    }
    rc = run_dir_of(run, rdir, sizeof(rdir));
    if (rc)
        goto fail;
    nkeys = ipcf__sysv_keys_recorded(rdir, keys, MAX_RUN_KEYS);
    if (nkeys < 0)
        nkeys = 0;
    rc = list_sysv(out, "/proc/sysvipc/shm", IPCF_NAME_SYSV_SHM, keys, (size_t)nkeys, o);
    if (!rc)
        rc = list_sysv(out, "/proc/sysvipc/msg", IPCF_NAME_SYSV_MSG, keys, (size_t)nkeys, o);
    if (!rc)
        rc = list_sysv(out, "/proc/sysvipc/sem", IPCF_NAME_SYSV_SEM, keys, (size_t)nkeys, o);
    if (!rc)
        rc = list_tree(out, rdir, 4);
    if (rc)
        goto fail;
    for (size_t i = 0; o && i < o->nglobs; i++) {
        const char *g = o->globs[i];
        if (!g || g[0] != '/' || !strncmp(g, "/dev/shm/", 9) || !strncmp(g, "/dev/mqueue/", 12))
            continue; /* listed above */
        glob_t gl;
        if (glob(g, GLOB_NOSORT, NULL, &gl) != 0)
            continue;
        for (size_t k = 0; k < gl.gl_pathc && rc == 0; k++)
            rc = ipcf_audit_snap_add(out, IPCF_NAME_PATH, gl.gl_pathv[k]);
        globfree(&gl);
        if (rc)
            goto fail;
    }
    return 0;
fail:
    ipcf_audit_snap_free(out);
    return rc;
}

int ipcf_audit_diff(const struct ipcf_audit_snap *before, const struct ipcf_audit_snap *after,
                    struct ipcf_audit_snap *leaked)
{
    memset(leaked, 0, sizeof(*leaked));
    size_t i = 0;
    for (size_t k = 0; k < after->n; k++) {
        const struct ipcf_name_entry *a = &after->v[k];
        while (i < before->n && entry_cmp(&before->v[i], a->kind, a->name) < 0)
            i++;
        if (i < before->n && entry_cmp(&before->v[i], a->kind, a->name) == 0)
            continue;
        int rc = ipcf_audit_snap_add(leaked, a->kind, a->name);
        if (rc) {
            ipcf_audit_snap_free(leaked);
            return rc;
        }
    }
    leaked->mqueue_listed = after->mqueue_listed;
    return 0;
}

int ipcf_audit_mount_mqueue(void)
{
    if (mqueue_mounted())
        return 0;
    if (mkdir("/dev/mqueue", 01777) != 0 && errno != EEXIST)
        return -errno;
    if (mount("none", "/dev/mqueue", "mqueue", 0, NULL) != 0)
        return -errno;
    return 1;
}

/* ---- fd audit ------------------------------------------------------------------ */

static int cmp_fd(const void *a, const void *b)
{
    const struct ipcf_fd_entry *x = a, *y = b;
    return (x->fd > y->fd) - (x->fd < y->fd);
}

int ipcf_audit_fds(pid_t pid, struct ipcf_fd_list *out)
{
    char dir[64];
    memset(out, 0, sizeof(*out));
    if (pid == 0)
        snprintf(dir, sizeof(dir), "/proc/self/fd");
    else
        snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? -ESRCH : -errno;
    int self = dirfd(d), rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end || end == e->d_name || fd < 0 || fd > INT_MAX)
            continue;
        if (pid == 0 && fd == self)
            continue;
        if (out->n == out->cap) {
            size_t ncap = out->cap ? out->cap * 2 : 16;
            struct ipcf_fd_entry *nv = realloc(out->v, ncap * sizeof(*nv));
            if (!nv) {
                rc = -ENOMEM;
                break;
            }
            out->v = nv;
            out->cap = ncap;
        }
        struct ipcf_fd_entry *x = &out->v[out->n];
        x->fd = (int)fd;
        ssize_t n = readlinkat(self, e->d_name, x->target, sizeof(x->target) - 1);
        if (n < 0)
            continue; /* closed meanwhile */
        x->target[n] = '\0';
        out->n++;
    }
    closedir(d);
    if (rc) {
        ipcf_fd_list_free(out);
        return rc;
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), cmp_fd);
    return 0;
}

int ipcf_fd_list_diff(const struct ipcf_fd_list *before, const struct ipcf_fd_list *after,
                      struct ipcf_fd_list *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t k = 0; k < after->n; k++) {
        int found = 0;
        for (size_t i = 0; i < before->n && !found; i++)
            found = before->v[i].fd == after->v[k].fd &&
                    strcmp(before->v[i].target, after->v[k].target) == 0;
        if (found)
            continue;
        if (out->n == out->cap) {
            size_t ncap = out->cap ? out->cap * 2 : 8;
            struct ipcf_fd_entry *nv = realloc(out->v, ncap * sizeof(*nv));
            if (!nv) {
                ipcf_fd_list_free(out);
                return -ENOMEM;
            }
            out->v = nv;
            out->cap = ncap;
        }
        out->v[out->n++] = after->v[k];
    }
    return 0;
}

void ipcf_fd_list_free(struct ipcf_fd_list *l)
{
    if (!l)
        return;
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* ---- sweeper ---------------------------------------------------------------------- */

int ipcf_run_alive(pid_t run)
{
    if (run <= 0)
        return 0;
    if (kill(run, 0) == 0)
        return 1;
    return errno == EPERM;
}

struct runs {
    pid_t *v;
    size_t n;
};

static int runs_add(struct runs *r, pid_t p)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i] == p)
            return 0;
    pid_t *nv = realloc(r->v, (r->n + 1) * sizeof(*nv));
    if (!nv)
        return -ENOMEM;
    nv[r->n++] = p;
    r->v = nv;
    return 0;
}

/* Collect run pids named in dir; count names per live run into *live. */
static int collect_runs(const char *dir, struct runs *r, pid_t only, int *live)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        pid_t run;
        if (!ipcf_name_parse_run(e->d_name, &run) || (only && run != only))
            continue;
        if (ipcf_run_alive(run))
            (*live)++;
        else
            rc = runs_add(r, run);
    }
    closedir(d);
    return rc;
}

int ipcf_sweep(pid_t only_run, struct ipcf_sweep_result *res)
{
    struct ipcf_sweep_result tmp;
    struct runs runs = {NULL, 0};
    char mine[PATH_MAX];
    int first = 0, rc;

    if (!res)
        res = &tmp;
    memset(res, 0, sizeof(*res));
    rc = ipcf_run_dir(mine, sizeof(mine));
    if (rc)
        return rc;
    char *slash = strrchr(mine, '/');
    if (slash)
        *slash = '\0';
    const char *dirs[] = {"/dev/shm", "/dev/mqueue", mine};
    for (size_t i = 0; i < 3; i++) {
        rc = collect_runs(dirs[i], &runs, only_run, &res->live_skipped);
        if (rc < 0 && !first)
            first = rc;
    }
    for (size_t i = 0; i < runs.n; i++) {
        pid_t run = runs.v[i];
        if (ipcf_run_alive(run)) /* re-check: never touch a live run */
            continue;
        char rdir[PATH_MAX];
        rc = run_dir_of(run, rdir, sizeof(rdir));
        if (rc == 0)
            rc = ipcf_sysv_remove_recorded(rdir);
        if (rc > 0)
            res->names_removed += rc;
        else if (rc < 0 && !first)
            first = rc;
        rc = ipcf_run_remove_names(run);
        if (rc > 0)
            res->names_removed += rc;
        else if (rc < 0 && !first)
            first = rc;
        res->runs_swept++;
    }
    free(runs.v);
    return first;
}
