/* unix_stream.c — the Unix-domain SOCK_STREAM transport of the channel API.
 *
 * Listener: socket bound to ipcf_name_path(tag) (inside the run's private 0700
 * directory); the process that bound it unlinks the path on close.
 *
 * Stale-path rule: bind() fails with EADDRINUSE whenever the path exists, even
 * when its listener died (a killed process never unlinks). The path is probed
 * with a non-blocking connect():
 *   ECONNREFUSED            nobody listens: stale -> unlink, bind again;
 *   success / EAGAIN        a live listener (EAGAIN = its backlog is full):
 *                           -EADDRINUSE, the path is NEVER unlinked;
 *   not a socket (lstat)    -EEXIST, never touched.
 * The probe connection, when it succeeds, reaches the live listener as an
 * empty connection that closes at once (its accept() sees -IPCF_ECLOSED on it).
 *
 * Peer credentials: accept() and connect() read SO_PEERCRED (the credentials
 * the kernel recorded when the peer called connect()/listen()) and refuse a
 * peer whose uid differs from our euid (-IPCF_EPEER). The run directory's mode
 * already keeps other users out; the check makes the guarantee independent of
 * filesystem permissions (e.g. a descriptor handed over by another process).
 *
 * Sends use MSG_NOSIGNAL|MSG_DONTWAIT (ipcf_io_send_all): no SIGPIPE, ever.
 * Every socket is SOCK_CLOEXEC (accept4 too). connect() and accept4() go
 * through the io system-call table (ipcf_io_set_syscalls), so tests can make
 * them fail with EINTR/EAGAIN on a schedule; every retry is bounded by the
 * caller's deadline and backs off when it makes no progress. An EINTR from
 * connect() is retried on a FRESH socket (the state of a socket whose connect
 * was interrupted is not portable).
 *
 * Residual races of the stale-path rule (documented, not closable with
 * bind/connect/unlink — there is no "unlink if still this inode"):
 *  - Two processes restarting the same name at once can both probe
 *    ECONNREFUSED; the first unlinks and binds, the second may then unlink the
 *    first's fresh socket and bind its own: the first listener is orphaned
 *    (alive, unreachable). One listener per name is the caller's rule.
 *  - A listener between its bind() and listen() answers a probe with
 *    ECONNREFUSED too, so a concurrent restarter can take it for stale.
 * Both need two live listeners for one name, which the harness never does;
 * the run directory (0700, ours) keeps every other user out of it.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ipcfuzz/bugs.h"
#include "ipcfuzz/channel.h"

IPCF_BUG_DEFINE(unix_leak_path, "unix listener close does not unlink its socket path");
IPCF_BUG_DEFINE(unix_no_stale_recovery, "unix listen fails with EADDRINUSE on a stale path");
IPCF_BUG_DEFINE(unix_no_peercred, "unix accept/connect do not check the peer's SO_PEERCRED uid");

#define BACKLOG    16
#define BACKOFF_MS 2
#define PROBE_MS   1000 /* bound on the stale probe's EINTR retries */

static ssize_t us_read(struct ipcf_channel *ch, void *buf, size_t len,
                       const struct ipcf_deadline *dl)
{
    return ipcf_io_read_some_until(ch->fd, buf, len, dl);
}

static int us_write(struct ipcf_channel *ch, const void *buf, size_t len, size_t *done,
                    const struct ipcf_deadline *dl)
{
    return ipcf_io_send_all_until(ch->fd, buf, len, done, dl);
}

static int make_addr(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path))
        return -ENAMETOOLONG;
    strcpy(sa->sun_path, path);
    return 0;
}

/* 0 if the peer on fd runs as our euid, -IPCF_EPEER if not, -errno. */
static int check_peer(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return -errno;
    if (IPCF_BUG(unix_no_peercred))
        return 0;
    if (len != sizeof(cred) || cred.uid != geteuid())
        return -IPCF_EPEER;
    return 0;
}

/* One connect attempt on a fresh socket: the socket fd, or -errno (ENOENT,
 * ECONNREFUSED, EAGAIN when nobody listens / backlog full; EINTR). */
static int connect_once(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    int rc = ipcf__io_sys()->connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
    if (rc < 0) {
        rc = (rc == -1 && errno > 0) ? -errno : -EIO;
        (void)ipcf_io_close(fd);
        return rc;
    }
    return fd;
}

/* Connect to path until dl, then check the listener's credentials. */
static int connect_until(const char *path, const struct ipcf_deadline *dl)
{
    struct sockaddr_un sa;
    unsigned intr = 0;
    IPCF_TRY(make_addr(&sa, path));
    for (;;) {
        int fd = connect_once(&sa);
        if (fd >= 0) {
            int rc = check_peer(fd);
            if (rc < 0) {
                (void)ipcf_io_close(fd);
                return rc;
            }
            return fd;
        }
        if (fd == -EINTR) { /* retry at once, bounded; back off if it persists */
            if (ipcf_deadline_expired(dl))
                return -IPCF_ETIMEDOUT;
            if (++intr > 3)
                (void)ipcf_deadline_backoff(dl, 1);
            continue;
        }
        if (fd != -ENOENT && fd != -ECONNREFUSED && fd != -EAGAIN)
            return fd;
        if (ipcf_deadline_backoff(dl, BACKOFF_MS) < 0)
            return -IPCF_ETIMEDOUT;
    }
}

/* Probe a path for a live listener: connect_once, retrying EINTR for at most
 * PROBE_MS. */
static int probe_once(const struct sockaddr_un *sa)
{
    struct ipcf_deadline dl = ipcf_deadline_in(PROBE_MS);
    unsigned intr = 0;
    for (;;) {
        int fd = connect_once(sa);
        if (fd != -EINTR)
            return fd;
        if (ipcf_deadline_expired(&dl))
            return -IPCF_ETIMEDOUT;
        if (++intr > 3)
            (void)ipcf_deadline_backoff(&dl, 1);
    }
}

static int us_reopen(struct ipcf_channel *ch, const struct ipcf_deadline *dl)
{
    if (!ch->path[0])
        return -ENOTSUP; /* an accepted connection: accept a new one instead */
    (void)ipcf_io_close(ch->fd);
    ch->fd = -1;
    int fd = connect_until(ch->path, dl);
    if (fd < 0)
        return fd;
    ch->fd = fd;
    return 0;
}

static const struct ipcf_channel_ops unix_stream_ops = {
    .name = "unix_stream",
    .read = us_read,
    .write = us_write,
    .reopen = us_reopen,
    .release = NULL, /* connections own no name; the listener does */
};

/* bind + listen on a fresh socket: the fd or -errno. */
static int bind_listen(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(fd, BACKLOG) < 0) {
        int rc = -errno;
        (void)ipcf_io_close(fd);
        return rc;
    }
    return fd;
}

int ipcf_unix_listen(struct ipcf_unix_listener *l, const char *tag, size_t max_payload)
{
    struct sockaddr_un sa;
    char path[IPCF_NAME_MAX];
    struct stat st;
    int fd;

    if (!l)
        return -EINVAL;
    memset(l, 0, sizeof(*l));
    l->fd = -1;
    if (!tag || max_payload > IPCF_FRAME_PAYLOAD_LIMIT)
        return -EINVAL;
    IPCF_TRY(ipcf_name_path(path, sizeof(path), tag));
    IPCF_TRY(make_addr(&sa, path));
    fd = bind_listen(&sa);
    if (fd == -EADDRINUSE) {
        if (IPCF_BUG(unix_no_stale_recovery))
            return -EADDRINUSE;
        if (lstat(path, &st) < 0)
            return errno == ENOENT ? -EADDRINUSE : -errno; /* vanished: a racing peer */
        if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid())
            return -EEXIST;
        int probe = probe_once(&sa);
        if (probe >= 0) {
            (void)ipcf_io_close(probe);
            return -EADDRINUSE; /* live listener */
        }
        if (probe != -ECONNREFUSED)
            return probe == -EAGAIN ? -EADDRINUSE : probe;
        if (unlink(path) < 0 && errno != ENOENT)
            return -errno;
        fd = bind_listen(&sa); /* EADDRINUSE again: another restarter won */
    }
    if (fd < 0)
        return fd;
    l->fd = fd;
    l->max_payload = max_payload;
    l->owner = getpid();
    memcpy(l->path, path, sizeof(path));
    return 0;
}

int ipcf_unix_accept(struct ipcf_unix_listener *l, struct ipcf_channel *ch, int timeout_ms)
{
    if (!ch)
        return -EINVAL;
    memset(ch, 0, sizeof(*ch));
    ch->fd = -1;
    if (!l || l->fd < 0)
        return -EBADF;
    if (timeout_ms < 0)
        return -EINVAL;
    struct ipcf_deadline dl = ipcf_deadline_in(timeout_ms);
    unsigned idle = 0;
    for (;;) {
        int w = ipcf_io_wait_fd(l->fd, POLLIN, &dl);
        if (w < 0)
            return w;
        int fd = ipcf__io_sys()->accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            int err = (fd == -1 && errno > 0) ? errno : EIO;
            /* EAGAIN: another acceptor took it; ECONNABORTED: the peer gave
             * up before we accepted; EINTR: retried. All bounded by dl, and
             * backing off once they repeat (no spinning on a fault). */
            if (err == EAGAIN || err == EWOULDBLOCK || err == ECONNABORTED || err == EINTR) {
                if (ipcf_deadline_expired(&dl))
                    return -IPCF_ETIMEDOUT;
                if (++idle > 3)
                    (void)ipcf_deadline_backoff(&dl, 1);
                continue;
            }
            return -err;
        }
        int rc = check_peer(fd);
        if (rc < 0) {
            (void)ipcf_io_close(fd);
            return rc;
        }
        return ipcf_channel_init(ch, &unix_stream_ops, fd, IPCF_CH_READ | IPCF_CH_WRITE,
                                 l->max_payload);
    }
}

int ipcf_unix_listener_close(struct ipcf_unix_listener *l)
{
    int rc = 0;
    if (!l || l->fd < 0 || !l->path[0]) /* closed, or zeroed (fd 0 is not ours) */
        return 0;
    if (l->owner == getpid() && l->path[0] && !IPCF_BUG(unix_leak_path)) {
        if (unlink(l->path) < 0 && errno != ENOENT)
            rc = -errno;
    }
    int r = ipcf_io_close(l->fd);
    if (r < 0 && rc == 0)
        rc = r;
    memset(l, 0, sizeof(*l));
    l->fd = -1;
    return rc;
}

int ipcf_unix_connect(struct ipcf_channel *ch, const char *tag, size_t max_payload, int timeout_ms)
{
    char path[IPCF_NAME_MAX];
    if (!ch)
        return -EINVAL;
    memset(ch, 0, sizeof(*ch));
    ch->fd = -1;
    if (!tag || timeout_ms < 0)
        return -EINVAL;
    IPCF_TRY(ipcf_name_path(path, sizeof(path), tag));
    struct ipcf_deadline dl = ipcf_deadline_in(timeout_ms);
    int fd = connect_until(path, &dl);
    if (fd < 0)
        return fd;
    IPCF_TRY(
        ipcf_channel_init(ch, &unix_stream_ops, fd, IPCF_CH_READ | IPCF_CH_WRITE, max_payload));
    memcpy(ch->path, path, sizeof(path));
    ch->owner = 0;
    return 0;
}
