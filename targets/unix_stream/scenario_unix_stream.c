/* scenario_unix_stream.c — the `unix_stream` scenario: a client sends N frames
 * to a server over a SOCK_STREAM Unix socket bound in the run directory.
 *
 * Both sides are restarted when the plan kills them (up to 2 times each):
 *  - server restart: the new server binds the same path (the dead listener
 *    left a stale socket file: ipcf_unix_listen probes it, gets ECONNREFUSED
 *    and rebinds — a failure here, e.g. EADDRINUSE, is `recovery-failed`).
 *    Frames committed into the dead server's socket are lost with it (the
 *    declared semantics allow it); the client notices the broken connection,
 *    reconnects and resends everything after the last delivered seq.
 *  - client restart: the server sees end of stream (a frame torn by the
 *    client's death is discarded, -IPCF_ETRUNCATED) and accepts the next
 *    connection; the new client resends from the first frame whose send had
 *    not returned.
 * The server delivers each seq once (retransmissions are dropped).
 * The last server incarnation removes the socket path in close; if the
 * server did not end by itself, teardown removes the stale path.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "ipcfuzz/channel.h"
#include "ipcfuzz/ipcfuzz.h"
#include "scenario_stream.h"

#define SOCK_TAG "data.sock"

static int us_server(struct ipcf_peer_ctx *ctx)
{
    struct ipcf__stream_shared *sh = ctx->shared;
    int64_t deadline = ipcf__now_ms() + ctx->timeout_ms;
    struct ipcf_unix_listener l = {.fd = -1};
    int rc = ipcf_unix_listen(&l, SOCK_TAG, IPCF__STREAM_MAX_LEN);
    if (rc < 0) {
        fprintf(stderr, "server: listen %s: %s\n", SOCK_TAG, ipcf_strerror(rc));
        __atomic_store_n(&sh->receiver_done, 1, __ATOMIC_RELEASE);
        return 1;
    }
    while (__atomic_load_n(&sh->rx_last, __ATOMIC_ACQUIRE) < ctx->messages) {
        struct ipcf_channel ch = {.fd = -1};
        rc = ipcf_unix_accept(&l, &ch, ipcf__ms_left(deadline));
        if (rc < 0) {
            fprintf(stderr, "server: accept: %s\n", ipcf_strerror(rc));
            break;
        }
        rc = ipcf__stream_recv(&ch, ctx, sh, ctx->messages, true, deadline);
        ipcf_channel_close(&ch);
        if (rc < 0)
            break;
        if (rc == 1 && __atomic_load_n(&sh->sender_done, __ATOMIC_ACQUIRE) &&
            __atomic_load_n(&sh->rx_last, __ATOMIC_ACQUIRE) < ctx->messages) {
            fprintf(stderr, "server: client finished at seq %llu of %u\n",
                    (unsigned long long)sh->rx_last, ctx->messages);
            break;
        }
        rc = 0;
    }
    __atomic_store_n(&sh->receiver_done, 1, __ATOMIC_RELEASE);
    int crc = ipcf_unix_listener_close(&l);
    if (crc < 0)
        fprintf(stderr, "server: close: %s\n", ipcf_strerror(crc));
    return rc < 0 ? 1 : 0;
}

/* After everything was sent: wait until the server delivered it all, or the
 * connection broke (the server died: return 1 to resend). */
static int wait_delivered(struct ipcf_channel *ch, struct ipcf__stream_shared *sh, unsigned n,
                          int64_t deadline)
{
    while (__atomic_load_n(&sh->rx_last, __ATOMIC_ACQUIRE) < n) {
        if (__atomic_load_n(&sh->receiver_done, __ATOMIC_ACQUIRE))
            return 0;
        if (ipcf__ms_left(deadline) == 0)
            return -1;
        struct pollfd p = {.fd = ipcf_channel_fd(ch), .events = POLLIN};
        int r = poll(&p, 1, 2);
        if (r > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)))
            return 1; /* the server never writes: readable means closed */
    }
    return 0;
}

/* Connect in short slices, so a client stops waiting once the server gave up
 * for good (its restart failed). */
static int connect_sliced(struct ipcf_channel *ch, struct ipcf__stream_shared *sh, int64_t deadline)
{
    int rc;
    do {
        int slice = ipcf__ms_left(deadline);
        rc = ipcf_unix_connect(ch, SOCK_TAG, IPCF__STREAM_MAX_LEN, slice > 100 ? 100 : slice);
    } while (rc == -IPCF_ETIMEDOUT && ipcf__ms_left(deadline) > 0 &&
             !__atomic_load_n(&sh->receiver_done, __ATOMIC_ACQUIRE));
    return rc;
}

static int us_client(struct ipcf_peer_ctx *ctx)
{
    struct ipcf__stream_shared *sh = ctx->shared;
    int64_t deadline = ipcf__now_ms() + ctx->timeout_ms;
    struct ipcf_channel ch = {.fd = -1};
    int rc = connect_sliced(&ch, sh, deadline);
    for (;;) {
        if (rc < 0) {
            if (__atomic_load_n(&sh->receiver_done, __ATOMIC_ACQUIRE)) {
                rc = 0; /* the server is gone for good: stop gracefully */
                break;
            }
            fprintf(stderr, "client: connect: %s\n", ipcf_strerror(rc));
            break;
        }
        rc = ipcf__stream_send(&ch, ctx, sh, ctx->messages, deadline);
        if (rc == 0)
            rc = wait_delivered(&ch, sh, ctx->messages, deadline);
        if (rc != 1)
            break;
        /* the server died: resend what it had not delivered, to its successor */
        if (__atomic_load_n(&sh->receiver_done, __ATOMIC_ACQUIRE)) {
            rc = 0;
            break;
        }
        __atomic_store_n(&sh->next_seq, __atomic_load_n(&sh->rx_last, __ATOMIC_ACQUIRE) + 1,
                         __ATOMIC_RELEASE);
        ipcf_channel_close(&ch);
        rc = connect_sliced(&ch, sh, deadline);
    }
    __atomic_store_n(&sh->sender_done, 1, __ATOMIC_RELEASE);
    ipcf_channel_close(&ch);
    return rc < 0 ? 1 : 0;
}

static void us_teardown(struct ipcf_scenario_ctx *ctx)
{
    const struct ipcf_peer_outcome *s = &ctx->outcome[0];
    if (s->exited && s->exit_code == 0)
        return; /* a server that finished must have removed its path itself */
    char path[IPCF_NAME_MAX];
    if (ipcf_name_path(path, sizeof(path), SOCK_TAG) == 0)
        (void)unlink(path);
}

IPCF_SCENARIO(unix_stream,
              .description = "client -> server over a Unix stream socket; both restart",
              .peers = {{.name = "server", .run = us_server, .restarts = 2},
                        {.name = "client", .run = us_client, .restarts = 2}},
              .streams = {{.id = IPCF__STREAM_ID,
                           .name = "data",
                           .sender = "client",
                           .receiver = "server",
                           .semantics = IPCF_SEM_STREAM,
                           .receiver_in_hand = 64}},
              .names = {SOCK_TAG}, .calls = "read,send,poll",
              .shared_size = sizeof(struct ipcf__stream_shared), .messages = 64,
              .teardown = us_teardown);
