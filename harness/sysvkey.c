/* sysvkey.c — run-owned System V keys recorded in the run directory
 * (see ipcfuzz/sysvkey.h).
 *
 * The key is derived from "ipcf.<run>.<tag>" by ipcf_ledger_hash, folded into
 * 0x40000000..0x7fffffff (positive, never IPC_PRIVATE). It is written to
 * <run dir>/sysv.<tag> as "0x%08x\n" so a later process (the sweeper, long
 * after the run's owner died) needs only the directory to find the objects.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include "ipcfuzz/ledger.h"
#include "ipcfuzz/names.h"
#include "ipcfuzz/sysvkey.h"
#include "audit.h"

key_t ipcf_sysv_key_derive(pid_t run, const char *tag)
{
    char buf[IPCF_NAME_MAX + 32];
    int n = snprintf(buf, sizeof(buf), IPCF_NAME_PREFIX "%ld.%s", (long)run, tag ? tag : "");
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(buf))
        n = (int)sizeof(buf) - 1;
    uint64_t h = ipcf_ledger_hash(buf, (size_t)n);
    return (key_t)(((uint32_t)(h ^ (h >> 32)) & 0x3fffffffu) | 0x40000000u);
}

static int key_path(const char *tag, char *buf, size_t cap)
{
    char t[IPCF_NAME_MAX];
    int n = snprintf(t, sizeof(t), IPCF_SYSV_KEY_PREFIX "%s", tag ? tag : "");
    if (!tag || !*tag)
        return -EINVAL;
    if (n < 0 || (size_t)n >= sizeof(t))
        return -ENAMETOOLONG;
    return ipcf_name_path(buf, cap, t); /* validates the tag, creates the run dir */
}

/* Parse "0x%x\n" key file content. 0 or -IPCF_ECORRUPT. */
static int parse_key(const char *s, key_t *key)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 16);
    if (errno || end == s || (*end != '\n' && *end != '\0') || v == 0 || v > 0x7fffffffUL)
        return -IPCF_ECORRUPT;
    *key = (key_t)v;
    return 0;
}

static int read_key_at(int dirfd, const char *name, key_t *key)
{
    char buf[32];
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    int rc = n < 0 ? -errno : 0;
    close(fd);
    if (rc)
        return rc;
    buf[n] = '\0';
    return parse_key(buf, key);
}

int ipcf_sysv_key(const char *tag, key_t *key)
{
    char path[IPCF_NAME_MAX];
    IPCF_TRY(key_path(tag, path, sizeof(path)));
    key_t k = ipcf_sysv_key_derive(ipcf_run_id(), tag);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno != EEXIST)
            return -errno;
        return read_key_at(AT_FDCWD, path, key); /* idempotent: the recorded key */
    }
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "0x%08x\n", (unsigned)k);
    ssize_t w = write(fd, buf, (size_t)n);
    int rc = w == n ? 0 : (w < 0 ? -errno : -EIO);
    close(fd);
    if (rc) {
        unlink(path);
        return rc;
    }
    *key = k;
    return 0;
}

/* Remove the shm, msg and sem objects with key k. Count removed, or -errno. */
static int remove_objects(key_t k)
{
    int removed = 0, rc = 0;
    int id = shmget(k, 0, 0);
    if (id >= 0) {
        if (shmctl(id, IPC_RMID, NULL) == 0)
            removed++;
        else if (!rc)
            rc = -errno;
    }
    id = msgget(k, 0);
    if (id >= 0) {
        if (msgctl(id, IPC_RMID, NULL) == 0)
            removed++;
        else if (!rc)
            rc = -errno;
    }
    id = semget(k, 0, 0);
    if (id >= 0) {
        if (semctl(id, 0, IPC_RMID) == 0)
            removed++;
        else if (!rc)
            rc = -errno;
    }
    return rc ? rc : removed;
}

int ipcf_sysv_key_remove(const char *tag)
{
    char path[IPCF_NAME_MAX];
    key_t k;
    IPCF_TRY(key_path(tag, path, sizeof(path)));
    int rc = read_key_at(AT_FDCWD, path, &k);
    if (rc == -ENOENT)
        k = ipcf_sysv_key_derive(ipcf_run_id(), tag);
    else if (rc < 0)
        return rc;
    int removed = remove_objects(k);
    if (removed < 0)
        return removed;
    if (unlink(path) == 0)
        removed++;
    else if (errno != ENOENT)
        return -errno;
    return removed;
}

int ipcf_sysv_remove_recorded(const char *run_dir)
{
    int removed = 0, first = 0;
    DIR *d = opendir(run_dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, IPCF_SYSV_KEY_PREFIX, sizeof(IPCF_SYSV_KEY_PREFIX) - 1) != 0)
            continue;
        key_t k;
        int rc = read_key_at(dirfd(d), e->d_name, &k);
        if (rc == 0)
            rc = remove_objects(k);
        if (rc > 0)
            removed += rc;
        else if (rc < 0 && !first)
            first = rc;
    }
    closedir(d);
    return first ? first : removed;
}

int ipcf__sysv_keys_recorded(const char *run_dir, key_t *keys, size_t cap)
{
    size_t n = 0;
    DIR *d = opendir(run_dir);
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, IPCF_SYSV_KEY_PREFIX, sizeof(IPCF_SYSV_KEY_PREFIX) - 1) != 0)
            continue;
        key_t k;
        if (read_key_at(dirfd(d), e->d_name, &k) == 0 && n < cap)
            keys[n++] = k;
    }
    closedir(d);
    return (int)n;
}
