/* kvq_scenario.c — the `kvq` scenario: a client sends N requests (PUT, then
 * GET of the same key) to a server over a Unix socketpair and checks every
 * answer; both peers record what they send and receive in the ipcfuzz ledger.
 *
 * Linked with ipcfuzz::harness this file is a complete fuzzing program:
 * `kvq_fuzz list | run kvq | sweep kvq | replay FILE`.
 *
 * Streams (ledger ids): 1 = requests client -> server, 2 = responses
 * server -> client; seq = the request id, which the response echoes. Both are
 * ordered, exactly once, and survive their sender's death (bytes already in
 * a socket buffer stay readable after the writer dies).
 *
 * Recovery: none — a socketpair has no name to reconnect to, so a killed peer
 * is not restarted; the survivor must notice (EOF, EPIPE, ECONNRESET) and exit
 * 0. Under transparent faults (EINTR, short reads/writes, signals) both peers
 * must finish the whole workload and every answer must be right.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipcfuzz/ipcfuzz.h"
#include "kvq.h"

#define STREAM_REQ  1u
#define STREAM_RESP 2u
#define KEYS        8u

/* Scenario shared memory (survives peers): what check() looks at. */
struct kvq_shared {
    uint32_t answers;    /* responses the client verified */
    uint32_t mismatches; /* responses that were wrong */
    char detail[128];    /* first mismatch */
};

static int sv[2] = {-1, -1}; /* sv[0]: client end, sv[1]: server end */

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static int kvq_setup(struct ipcf_scenario_ctx *ctx)
{
    (void)ctx;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    return 0;
}

/* The peers hold their ends: drop the supervisor's, so a peer's death is seen
 * by the other as end of stream. */
static void kvq_started(struct ipcf_scenario_ctx *ctx)
{
    (void)ctx;
    close_fd(&sv[0]);
    close_fd(&sv[1]);
}

static void kvq_teardown(struct ipcf_scenario_ctx *ctx)
{
    (void)ctx;
    close_fd(&sv[0]);
    close_fd(&sv[1]);
}

static int kvq_check(struct ipcf_scenario_ctx *ctx)
{
    struct kvq_shared *sh = ctx->shared;
    if (sh->mismatches == 0)
        return 0;
    snprintf(ctx->detail, sizeof ctx->detail, "%u wrong answers; first: %s", sh->mismatches,
             sh->detail);
    return 1;
}

/* Deterministic value for request id: 1..64 bytes from (seed, id). */
static size_t make_value(uint64_t seed, uint32_t id, uint8_t *out)
{
    uint64_t x = seed ^ ((uint64_t)id * 0x9e3779b97f4a7c15ull) ^ 0x6b7671ull;
    size_t len = 1 + (size_t)(x % 64);
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out[i] = (uint8_t)x;
    }
    return len;
}

/* A peer saw this error: was it the other side going away? */
static bool peer_gone(int rc)
{
    return rc == KVQ_EOF || rc == -ECONNRESET || rc == -EPIPE;
}

static void mismatch(struct kvq_shared *sh, uint32_t id, const char *what)
{
    if (sh->mismatches++ == 0)
        snprintf(sh->detail, sizeof sh->detail, "request %u: %s", id, what);
}

static int kvq_client(struct ipcf_peer_ctx *ctx)
{
    struct kvq_shared *sh = ctx->shared;
    uint8_t expect[KEYS][KVQ_MAX_BODY];
    size_t expect_len[KEYS] = {0};
    uint8_t wire[KVQ_WIRE_MAX];
    struct kvq_msg req, resp;
    int fd = sv[0], rc = 1;

    close_fd(&sv[1]);
    signal(SIGPIPE, SIG_IGN);
    if (kvq_set_timeout(fd, ctx->timeout_ms) < 0)
        goto out;
    for (uint32_t id = 1; id <= ctx->messages; id++) {
        unsigned k = ((id - 1) / 2) % KEYS;
        char key[8];
        snprintf(key, sizeof key, "k%u", k);
        uint8_t value[KVQ_MAX_BODY];
        size_t vlen = 0;
        if (id % 2) {
            vlen = make_value(ctx->seed, id, value);
            if (kvq_make_put(&req, id, key, value, vlen) < 0)
                goto out;
        } else if (kvq_make_get(&req, id, key) < 0) {
            goto out;
        }

        int len = kvq_encode(&req, wire);
        (void)ipcf_ledger_send_begin(STREAM_REQ, id, wire, (size_t)len);
        int s = kvq_send(fd, &req);
        if (peer_gone(s)) {
            rc = 0;
            goto out;
        }
        if (s < 0) {
            fprintf(stderr, "kvq client: send %u: %s\n", id, strerror(-s));
            goto out;
        }
        (void)ipcf_ledger_sent(STREAM_REQ, id, wire, (size_t)len);

        int r = kvq_recv(fd, &resp);
        if (peer_gone(r)) {
            rc = 0;
            goto out;
        }
        if (r < 0) {
            fprintf(stderr, "kvq client: recv %u: %s\n", id, strerror(-r));
            goto out;
        }
        len = kvq_encode(&resp, wire);
        (void)ipcf_ledger_received(STREAM_RESP, resp.id, wire, (size_t)len);

        if (resp.id != id) {
            mismatch(sh, id, "answer carries another id");
        } else if (id % 2) {
            if (resp.op != KVQ_OK)
                mismatch(sh, id, "PUT not acknowledged");
            memcpy(expect[k], value, vlen);
            expect_len[k] = vlen;
        } else if (expect_len[k] == 0 ? resp.op != KVQ_MISSING
                                      : resp.op != KVQ_VALUE || resp.body_len != expect_len[k] ||
                                            memcmp(resp.body, expect[k], expect_len[k]) != 0) {
            mismatch(sh, id, "GET returned a wrong value");
        }
        sh->answers++;
    }
    rc = sh->mismatches ? 1 : 0;
out:
    close(fd);
    return rc;
}

static int kvq_server(struct ipcf_peer_ctx *ctx)
{
    static struct kvq_store store; /* this process's own table */
    uint8_t wire[KVQ_WIRE_MAX];
    struct kvq_msg req, resp;
    int fd = sv[1], rc = 1;

    close_fd(&sv[0]);
    signal(SIGPIPE, SIG_IGN);
    if (kvq_set_timeout(fd, ctx->timeout_ms) < 0)
        goto out;
    for (;;) {
        int r = kvq_recv(fd, &req);
        if (peer_gone(r)) {
            rc = 0;
            goto out;
        }
        if (r < 0) {
            fprintf(stderr, "kvq server: recv: %s\n", strerror(-r));
            goto out;
        }
        int len = kvq_encode(&req, wire);
        (void)ipcf_ledger_received(STREAM_REQ, req.id, wire, (size_t)len);

        if (kvq_apply(&store, &req, &resp) < 0) {
            fprintf(stderr, "kvq server: bad request %u\n", req.id);
            goto out;
        }
        /* A finer kill point than the system calls: applied, not yet answered. */
        IPCF_POINT("kvq_applied");

        len = kvq_encode(&resp, wire);
        (void)ipcf_ledger_send_begin(STREAM_RESP, resp.id, wire, (size_t)len);
        int s = kvq_send(fd, &resp);
        if (peer_gone(s)) {
            rc = 0;
            goto out;
        }
        if (s < 0) {
            fprintf(stderr, "kvq server: send %u: %s\n", resp.id, strerror(-s));
            goto out;
        }
        (void)ipcf_ledger_sent(STREAM_RESP, resp.id, wire, (size_t)len);
    }
out:
    close(fd);
    return rc;
}

IPCF_SCENARIO(kvq, .description = "kvq client -> server requests and answers over a socketpair",
              .peers = {{.name = "client", .run = kvq_client},
                        {.name = "server", .run = kvq_server}},
              .streams = {{.id = STREAM_REQ,
                           .name = "requests",
                           .sender = "client",
                           .receiver = "server",
                           .semantics = IPCF_SEM_ORDERED | IPCF_SEM_SURVIVES_SENDER},
                          {.id = STREAM_RESP,
                           .name = "answers",
                           .sender = "server",
                           .receiver = "client",
                           .semantics = IPCF_SEM_ORDERED | IPCF_SEM_SURVIVES_SENDER}},
              .calls = "read,write", .shared_size = sizeof(struct kvq_shared), .messages = 32,
              .setup = kvq_setup, .started = kvq_started, .check = kvq_check,
              .teardown = kvq_teardown);
