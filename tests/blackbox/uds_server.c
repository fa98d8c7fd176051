/* uds_server.c — a Unix-socket request/response server and its client.
 *
 *   uds_server SOCKET-PATH
 * binds SOCKET-PATH, starts its client (this program re-executed as
 * "uds_client", a separate process name for peer= rules), serves CONNS
 * connections — each: read a 16-byte request, answer with a 32 KiB reply —
 * then removes SOCKET-PATH and prints what it served.
 *
 * Correct build: accept() and I/O retry EINTR and continue after partial
 * transfers; replies are sent with MSG_NOSIGNAL, so a client that dies
 * mid-reply costs that connection only (EPIPE), and the server stops when its
 * client process is gone; the socket path is always removed.
 * -DBUG_ACCEPT_EINTR: an interrupted accept() is treated as fatal (exit 1).
 * -DBUG_SIGPIPE: replies are written with write() and SIGPIPE is left at its
 *   default: a client that dies mid-reply kills the server (replies are 512 KiB
 *   in this build, so the server is always mid-reply when the client dies).
 * Not linked with ipcfuzz: a black-box test program (tests/test_exec_blackbox.sh). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define CONNS 3
#ifdef BUG_SIGPIPE
/* Larger than an AF_UNIX socket send buffer (~208 KiB by default): the server
 * is still blocked mid-reply when the client dies while reading, so its death
 * always meets the next write (SIGPIPE), whatever the scheduling. */
#define REPLY (512 * 1024)
#else
#define REPLY (32 * 1024)
#endif

static char reply[REPLY];

static int io_all(int fd, void *buf, size_t len, int sending)
{
    char *p = buf;
    while (len) {
        ssize_t n;
        if (sending) {
#ifdef BUG_SIGPIPE
            n = write(fd, p, len);
#else
            n = send(fd, p, len, MSG_NOSIGNAL);
#endif
        } else {
            n = read(fd, p, len);
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int client(const char *path)
{
    for (int i = 0; i < CONNS; i++) {
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
        int rc;
        while ((rc = connect(s, (struct sockaddr *)&a, sizeof(a))) != 0 && errno == EINTR)
            ; /* AF_UNIX: an interrupted connect left the socket unconnected */
        if (s < 0 || rc != 0)
            return 1;
        char req[16];
        snprintf(req, sizeof(req), "GET %d", i);
        static char in[REPLY];
        if (io_all(s, req, sizeof(req), 1) < 0 || io_all(s, in, sizeof(in), 0) < 0)
            return 1;
        if (memcmp(in, reply, REPLY) != 0)
            return 1;
        close(s);
    }
    return 0;
}

int main(int argc, char **argv)
{
    for (int i = 0; i < REPLY; i++)
        reply[i] = (char)('a' + i % 26);
    if (argc == 3 && !strcmp(argv[0], "uds_client"))
        return client(argv[2]);
    if (argc != 2) {
        fprintf(stderr, "usage: uds_server SOCKET-PATH\n");
        return 2;
    }
    const char *path = argv[1];
    int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    unlink(path); /* a stale path of a crashed earlier run */
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(ls, 4) != 0) {
        perror("bind");
        return 1;
    }
    pid_t c = fork();
    if (c == 0) {
        execl("/proc/self/exe", "uds_client", "--connect", path, (char *)NULL);
        _exit(127);
    }
    int served = 0, failed = 0, rc = 0;
    while (served + failed < CONNS) {
        struct pollfd pf = {.fd = ls, .events = POLLIN};
        int pr = poll(&pf, 1, 200);
        if (pr < 0 && errno != EINTR) {
            rc = 1;
            break;
        }
        if (pr <= 0) {
            if (waitpid(c, NULL, WNOHANG) == c) { /* our client is gone */
                c = -1;
                break;
            }
            continue;
        }
        int s = accept(ls, NULL, NULL);
        if (s < 0) {
#ifdef BUG_ACCEPT_EINTR
            perror("accept");
            rc = 1;
            break;
#else
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("accept");
            rc = 1;
            break;
#endif
        }
        char req[16];
        if (io_all(s, req, sizeof(req), 0) == 0 && io_all(s, reply, REPLY, 1) == 0)
            served++;
        else
            failed++;
        close(s);
    }
    close(ls);
    unlink(path);
    if (c > 0) {
        int st;
        while (waitpid(c, &st, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            rc = rc ? rc : 1;
    } else {
        rc = rc ? rc : 1; /* the client died */
    }
    printf("served %d connection(s), %d failed\n", served, failed);
    return rc;
}
