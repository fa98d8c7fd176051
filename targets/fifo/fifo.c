/* fifo.c — the named-pipe (FIFO) transport of the channel API.
 *
 * The FIFO lives at ipcf_name_path(tag), inside the run's private 0700
 * directory. Opening a FIFO normally blocks until the other side opens; here
 * nothing blocks unboundedly:
 *   reader  open(O_RDONLY|O_NONBLOCK) succeeds at once; the first recv() waits
 *           (poll, bounded) for a writer's bytes. A fresh reader does not see
 *           POLLHUP before any writer has come, so it does not spin.
 *   writer  open(O_WRONLY|O_NONBLOCK) fails with ENXIO while no reader has the
 *           FIFO open: retried with a short backoff until the deadline.
 *
 * Stale-name rule (IPCF_CH_CREATE): mkfifo() is exclusive. On EEXIST the
 * existing entry is adopted only if lstat() says it is a FIFO owned by our
 * euid: the run directory is 0700 and belongs to us, so such an entry was made
 * by this run — by a creator that was killed before its close() (a FIFO has no
 * owner process to probe, and its buffered bytes die with the last open fd, so
 * reusing the inode loses nothing). Anything else at the path (a regular file,
 * a socket, a symlink, another uid's FIFO) is -EEXIST and is never removed. One
 * creator per name is the caller's rule; the creating process unlinks the name
 * in close().
 *
 * Symlinks: every open uses O_NOFOLLOW and checks with fstat() that what was
 * opened is a FIFO owned by our euid, and the stale check uses lstat(), so a
 * link planted at the name is never followed (no open of a device or of
 * someone else's FIFO through it).
 *
 * Residual races (documented, not closable with FIFO primitives):
 *  - Adoption cannot tell "stale" from "in use": a FIFO has no owner process to
 *    probe. If a creator is still alive when a second CREATE adopts its name,
 *    both believe they own it, and the first close() removes the name under
 *    the other (open descriptors keep working; new opens get ENOENT).
 *  - Between the lstat() of a stale name and the open, the entry can only be
 *    replaced by a process of our own uid (the run directory is 0700 and
 *    ours); the fstat() check after open still refuses anything but a FIFO.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipcfuzz/bugs.h"
#include "ipcfuzz/channel.h"

IPCF_BUG_DEFINE(fifo_leak_path, "fifo close does not unlink the FIFO it created");

#define BACKOFF_MS 2

static ssize_t fifo_read(struct ipcf_channel *ch, void *buf, size_t len,
                         const struct ipcf_deadline *dl)
{
    return ipcf_io_read_some_until(ch->fd, buf, len, dl);
}

static int fifo_write(struct ipcf_channel *ch, const void *buf, size_t len, size_t *done,
                      const struct ipcf_deadline *dl)
{
    return ipcf_io_write_all_until(ch->fd, buf, len, done, dl);
}

/* Open path for reading or writing without ever blocking past dl.
 * Returns the fd or -errno / -IPCF_ETIMEDOUT. */
static int fifo_open_fd(const char *path, unsigned flags, const struct ipcf_deadline *dl)
{
    int oflags =
        ((flags & IPCF_CH_READ) ? O_RDONLY : O_WRONLY) | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW;
    unsigned intr = 0;
    for (;;) {
        int fd = open(path, oflags);
        if (fd >= 0) {
            struct stat st;
            int err = 0;
            if (fstat(fd, &st) < 0)
                err = -errno;
            else if (!S_ISFIFO(st.st_mode) || st.st_uid != geteuid())
                err = -EEXIST; /* not a FIFO of ours: never use it */
            if (err) {
                (void)ipcf_io_close(fd);
                return err;
            }
            return fd;
        }
        int err = errno;
        if (err == ELOOP)
            return -EEXIST; /* a symlink at the name: never followed */
        if (err == EINTR) { /* retried, bounded; backs off if it persists */
            if (ipcf_deadline_expired(dl))
                return -IPCF_ETIMEDOUT;
            if (++intr > 3)
                (void)ipcf_deadline_backoff(dl, 1);
            continue;
        }
        /* ENOENT: not created yet. ENXIO (writer only): no reader yet. */
        if (err != ENOENT && !(err == ENXIO && (flags & IPCF_CH_WRITE)))
            return -err;
        if (ipcf_deadline_backoff(dl, BACKOFF_MS) < 0)
            return -IPCF_ETIMEDOUT;
    }
}

/* Create the FIFO exclusively, or adopt a stale one of ours (see the top). */
static int fifo_create(const char *path)
{
    struct stat st;
    if (mkfifo(path, 0600) == 0)
        return 0;
    if (errno != EEXIST)
        return -errno;
    if (lstat(path, &st) < 0)
        return -errno;
    if (!S_ISFIFO(st.st_mode) || st.st_uid != geteuid())
        return -EEXIST;
    return 0;
}

static int fifo_reopen(struct ipcf_channel *ch, const struct ipcf_deadline *dl)
{
    (void)ipcf_io_close(ch->fd);
    ch->fd = -1;
    int fd = fifo_open_fd(ch->path, ch->flags, dl);
    if (fd < 0)
        return fd;
    ch->fd = fd;
    return 0;
}

static int fifo_release(struct ipcf_channel *ch)
{
    if (ch->owner != getpid() || !ch->path[0] || IPCF_BUG(fifo_leak_path))
        return 0;
    if (unlink(ch->path) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

static const struct ipcf_channel_ops fifo_ops = {
    .name = "fifo",
    .read = fifo_read,
    .write = fifo_write,
    .reopen = fifo_reopen,
    .release = fifo_release,
};

int ipcf_fifo_open(struct ipcf_channel *ch, const char *tag, unsigned flags, size_t max_payload,
                   int timeout_ms)
{
    char path[IPCF_NAME_MAX];
    unsigned rw = flags & (IPCF_CH_READ | IPCF_CH_WRITE);
    bool created = false;
    int rc;

    if (!ch)
        return -EINVAL;
    memset(ch, 0, sizeof(*ch));
    ch->fd = -1;
    if (!tag || timeout_ms < 0 || (flags & ~(rw | IPCF_CH_CREATE)) ||
        (rw != IPCF_CH_READ && rw != IPCF_CH_WRITE))
        return -EINVAL;
    rc = ipcf_name_path(path, sizeof(path), tag);
    if (rc < 0)
        return rc;
    struct ipcf_deadline dl = ipcf_deadline_in(timeout_ms);
    if (flags & IPCF_CH_CREATE) {
        rc = fifo_create(path);
        if (rc < 0)
            return rc;
        created = true;
    }
    int fd = fifo_open_fd(path, rw, &dl);
    if (fd < 0) {
        rc = fd;
        goto fail;
    }
    rc = ipcf_channel_init(ch, &fifo_ops, fd, rw, max_payload);
    if (rc < 0)
        goto fail;
    memcpy(ch->path, path, sizeof(path));
    ch->owner = created ? getpid() : 0;
    return 0;
fail:
    if (created)
        (void)unlink(path);
    return rc;
}
