/* objects.c — the registry of shrinkable objects and shrink=GLOB.
 *
 * The interposer learns objects from shm_open (kind SHM, name "/name"),
 * memfd_create (kind MEMFD, the memfd's name) and MAP_SHARED mmap of a regular
 * file not already known (kind FILE, its path; a /dev/shm file counts as SHM,
 * a memfd seen only through mmap as MEMFD). In-process code registers with
 * ipcf_faults_register_object().
 *
 * Shrinking truncates to 0 bytes, so every process mapping the object takes a
 * real SIGBUS on its next access past the end:
 *   SHM and FILE objects are reopened by name (the program may have closed
 *   its descriptor after mmap); MEMFD objects only through the registered
 *   descriptor, and only if it still refers to the same inode (descriptor
 *   numbers are reused after close).
 * Raw syscalls throughout: the injector's own ftruncate is never counted.
 *
 * Bound: at most OBJECTS_MAX (64) objects. Registering a 65th replaces the
 * object registered (or re-registered) longest ago — a program that creates
 * segments without end keeps its newest 64 shrinkable. Re-registering a name
 * of the same kind updates that entry instead of taking a new one.
 * The registry lock is held across fork by the scheduler's atfork handlers.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#define OBJECTS_MAX 64

struct object {
    int kind; /* 0 = free */
    char name[IPCF_PLAN_OBJ_MAX + 32];
    int fd;
    dev_t dev;
    ino_t ino;
    uint64_t seq; /* registration order: the smallest is replaced first */
};

static pthread_mutex_t obj_lock = PTHREAD_MUTEX_INITIALIZER;
static struct object objs[OBJECTS_MAX];
static uint64_t obj_seq;

void ipcf__objects_lock(void)
{
    pthread_mutex_lock(&obj_lock);
}

void ipcf__objects_unlock(void)
{
    pthread_mutex_unlock(&obj_lock);
}

static int fd_inode(int fd, dev_t *dev, ino_t *ino)
{
    struct stat st;
    if (fd < 0 || syscall(SYS_fstat, fd, &st) != 0)
        return -1;
    *dev = st.st_dev;
    *ino = st.st_ino;
    return S_ISREG(st.st_mode) ? 0 : -1;
}

static void add_locked(int kind, const char *name, int fd, dev_t dev, ino_t ino)
{
    struct object *o = NULL;
    for (unsigned i = 0; i < OBJECTS_MAX; i++)
        if (objs[i].kind == kind && !strcmp(objs[i].name, name)) {
            o = &objs[i];
            break;
        }
    for (unsigned i = 0; !o && i < OBJECTS_MAX; i++)
        if (!objs[i].kind)
            o = &objs[i];
    if (!o) {
        o = &objs[0]; /* full: replace the oldest registration */
        for (unsigned i = 1; i < OBJECTS_MAX; i++)
            if (objs[i].seq < o->seq)
                o = &objs[i];
    }
    o->seq = ++obj_seq;
    o->kind = kind;
    snprintf(o->name, sizeof(o->name), "%s", name);
    o->fd = fd;
    o->dev = dev;
    o->ino = ino;
}

void ipcf__register_fd(int kind, const char *name, int fd)
{
    dev_t dev = 0;
    ino_t ino = 0;
    if (!name || fd_inode(fd, &dev, &ino) < 0)
        return;
    ipcf__atfork_once();
    pthread_mutex_lock(&obj_lock);
    add_locked(kind, name, fd, dev, ino);
    pthread_mutex_unlock(&obj_lock);
}

void ipcf__register_mmap(int fd, int flags)
{
    dev_t dev;
    ino_t ino;
    char link[64], path[IPCF_PLAN_OBJ_MAX + 32];
    if (!(flags & MAP_SHARED) || fd_inode(fd, &dev, &ino) < 0)
        return;
    ipcf__atfork_once();
    pthread_mutex_lock(&obj_lock);
    for (unsigned i = 0; i < OBJECTS_MAX; i++)
        if (objs[i].kind && objs[i].dev == dev && objs[i].ino == ino) {
            pthread_mutex_unlock(&obj_lock);
            return; /* already known (shm_open / memfd_create) */
        }
    pthread_mutex_unlock(&obj_lock);
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    long n = syscall(SYS_readlinkat, AT_FDCWD, link, path, sizeof(path) - 1);
    if (n <= 0)
        return;
    path[n] = '\0';
    int kind = IPCF__OBJ_FILE;
    const char *name = path;
    if (!strncmp(path, "/dev/shm/", 9)) {
        kind = IPCF__OBJ_SHM;
        name = path + 8; /* "/name" as given to shm_open */
    } else if (!strncmp(path, "/memfd:", 7)) {
        kind = IPCF__OBJ_MEMFD;
        name = path + 7;
        char *del = strstr(path, " (deleted)");
        if (del)
            *del = '\0';
    }
    pthread_mutex_lock(&obj_lock);
    add_locked(kind, name, fd, dev, ino);
    pthread_mutex_unlock(&obj_lock);
}

/* Truncate one object; 1 if truncated. */
static int shrink_one(const struct object *o)
{
    char path[IPCF_PLAN_OBJ_MAX + 48];
    dev_t dev;
    ino_t ino;
    if (o->kind == IPCF__OBJ_SHM || o->kind == IPCF__OBJ_FILE) {
        if (o->kind == IPCF__OBJ_SHM)
            snprintf(path, sizeof(path), "/dev/shm/%s", o->name[0] == '/' ? o->name + 1 : o->name);
        else
            snprintf(path, sizeof(path), "%s", o->name);
        long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0) {
            long r = syscall(SYS_ftruncate, (int)fd, 0L);
            syscall(SYS_close, (int)fd);
            return r == 0;
        }
    }
    /* MEMFD, or a name that is gone: the registered descriptor if unchanged */
    if (fd_inode(o->fd, &dev, &ino) == 0 && dev == o->dev && ino == o->ino)
        return syscall(SYS_ftruncate, o->fd, 0L) == 0;
    return 0;
}

int ipcf__shrink(const char *glob)
{
    struct object snap[OBJECTS_MAX];
    int n = 0;
    pthread_mutex_lock(&obj_lock);
    memcpy(snap, objs, sizeof(snap));
    pthread_mutex_unlock(&obj_lock);
    for (unsigned i = 0; i < OBJECTS_MAX; i++)
        if (snap[i].kind && fnmatch(glob, snap[i].name, 0) == 0)
            n += shrink_one(&snap[i]);
    return n;
}

void ipcf__objects_reset(void)
{
    pthread_mutex_lock(&obj_lock);
    memset(objs, 0, sizeof(objs));
    obj_seq = 0;
    pthread_mutex_unlock(&obj_lock);
}

int ipcf_faults_register_object(const char *name, int fd)
{
    dev_t dev = 0;
    ino_t ino = 0;
    if (!name || !name[0] || strlen(name) >= IPCF_PLAN_OBJ_MAX)
        return -EINVAL;
    ipcf__atfork_once();
    if (fd < 0) {
        if (name[0] != '/' || strchr(name + 1, '/'))
            return -EINVAL; /* a POSIX shm name */
        pthread_mutex_lock(&obj_lock);
        add_locked(IPCF__OBJ_SHM, name, -1, 0, 0);
        pthread_mutex_unlock(&obj_lock);
        return 0;
    }
    if (fd_inode(fd, &dev, &ino) < 0)
        return -EBADF;
    pthread_mutex_lock(&obj_lock);
    add_locked(IPCF__OBJ_MEMFD, name, fd, dev, ino);
    pthread_mutex_unlock(&obj_lock);
    return 0;
}

int ipcf_faults_shrink(const char *glob)
{
    if (!glob)
        return -EINVAL;
    return ipcf__shrink(glob);
}
