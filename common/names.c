/* names.c — run-unique names for persistent IPC objects (see ipcfuzz/names.h).
 *
 * The run directory is the only place FIFO and socket paths are created, so a
 * peer can never be tricked into binding or following a path outside it: it is
 * created 0700 by the run's user and re-checked (owner, mode, type) whenever it
 * already exists.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipcfuzz/names.h"

static const char *tmpdir(void)
{
    const char *t = getenv("IPCF_RUN_TMPDIR");
    if (!t || !*t)
        t = getenv("TMPDIR");
    if (!t || !*t || t[0] != '/')
        t = "/tmp";
    return t;
}

int ipcf_run_begin(void)
{
    char pid[32];
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    if (setenv("IPCF_RUN_ID", pid, 1) != 0)
        return -errno;
    if (setenv("IPCF_RUN_TMPDIR", tmpdir(), 1) != 0)
        return -errno;
    return 0;
}

pid_t ipcf_run_id(void)
{
    const char *s = getenv("IPCF_RUN_ID");
    if (s && *s) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno == 0 && *end == '\0' && v > 0 && v <= INT_MAX)
            return (pid_t)v;
    }
    return getpid();
}

static int run_dir_of(pid_t run, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/" IPCF_NAME_PREFIX "%ld.d", tmpdir(), (long)run);
    if (n < 0 || (size_t)n >= cap)
        return -ENAMETOOLONG;
    return 0;
}

int ipcf_run_dir(char *buf, size_t cap)
{
    return run_dir_of(ipcf_run_id(), buf, cap);
}

int ipcf_run_dir_create(void)
{
    char dir[PATH_MAX];
    struct stat st;

    IPCF_TRY(ipcf_run_dir(dir, sizeof(dir)));
    if (mkdir(dir, 0700) == 0)
        return 0;
    if (errno != EEXIST)
        return -errno;
    if (lstat(dir, &st) != 0)
        return -errno;
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 07777) != 0700)
        return -EPERM;
    return 0;
}

static int valid_tag(const char *tag)
{
    if (!tag || !*tag)
        return 0;
    for (const char *p = tag; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return strcmp(tag, ".") != 0 && strcmp(tag, "..") != 0;
}

int ipcf_name_posix(char *buf, size_t cap, const char *tag)
{
    if (!valid_tag(tag))
        return -EINVAL;
    int n = snprintf(buf, cap, "/" IPCF_NAME_PREFIX "%ld.%s", (long)ipcf_run_id(), tag);
    if (n < 0 || (size_t)n >= cap || n >= NAME_MAX)
        return -ENAMETOOLONG;
    return 0;
}

int ipcf_name_path(char *buf, size_t cap, const char *tag)
{
    char dir[PATH_MAX];

    if (!valid_tag(tag))
        return -EINVAL;
    IPCF_TRY(ipcf_run_dir(dir, sizeof(dir)));
    int n = snprintf(buf, cap, "%s/%s", dir, tag);
    if (n < 0 || (size_t)n >= cap || n >= IPCF_NAME_MAX)
        return -ENAMETOOLONG;
    IPCF_TRY(ipcf_run_dir_create());
    return 0;
}

int ipcf_name_parse_run(const char *name, pid_t *run)
{
    const size_t plen = sizeof(IPCF_NAME_PREFIX) - 1;
    if (name[0] == '/')
        name++;
    if (strncmp(name, IPCF_NAME_PREFIX, plen) != 0)
        return 0;
    const char *p = name + plen;
    long v = 0;
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p - '0');
        if (v > INT_MAX)
            return 0;
        p++;
    }
    if (*p != '.' || v <= 0)
        return 0;
    *run = (pid_t)v;
    return 1;
}

/* Remove a directory tree that we created (no symlinks followed). */
static int remove_tree(int parent, const char *name, int *removed)
{
    int rc = 0;
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        rc = -errno;
        close(fd);
        return rc;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (e->d_type == DT_DIR) {
            int r = remove_tree(fd, e->d_name, removed);
            if (r < 0 && rc == 0)
                rc = r;
        } else if (unlinkat(fd, e->d_name, 0) == 0) {
            (*removed)++;
        } else if (errno != ENOENT && rc == 0) {
            rc = -errno;
        }
    }
    closedir(d);
    if (unlinkat(parent, name, AT_REMOVEDIR) == 0)
        (*removed)++;
    else if (errno != ENOENT && rc == 0)
        rc = -errno;
    return rc;
}

/* Unlink every entry of <dir> whose name belongs to run <run>. */
static int remove_prefixed(const char *dir, pid_t run, int is_mq, int *removed)
{
    int rc = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        pid_t owner;
        if (!ipcf_name_parse_run(e->d_name, &owner) || owner != run)
            continue;
        char name[NAME_MAX + 2];
        snprintf(name, sizeof(name), "/%s", e->d_name);
        int r = is_mq ? mq_unlink(name) : shm_unlink(name);
        if (r == 0)
            (*removed)++;
        else if (errno != ENOENT && rc == 0)
            rc = -errno;
    }
    closedir(d);
    return rc;
}

int ipcf_run_remove_names(pid_t run)
{
    int removed = 0, rc, first = 0;
    char dir[PATH_MAX];

    if (run == 0)
        run = ipcf_run_id();
    rc = remove_prefixed("/dev/shm", run, 0, &removed);
    if (rc < 0 && !first)
        first = rc;
    rc = remove_prefixed("/dev/mqueue", run, 1, &removed);
    if (rc < 0 && !first)
        first = rc;
    rc = run_dir_of(run, dir, sizeof(dir));
    if (rc == 0) {
        char *slash = strrchr(dir, '/');
        *slash = '\0';
        int pfd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd >= 0) {
            rc = remove_tree(pfd, slash + 1, &removed);
            close(pfd);
        } else {
            rc = errno == ENOENT ? 0 : -errno;
        }
    }
    if (rc < 0 && !first)
        first = rc;
    return first ? first : removed;
}
