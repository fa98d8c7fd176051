/* scenario_fifo.c — the `fifo` scenario: a producer sends N frames to a
 * consumer through a named FIFO in the run directory.
 *
 * The consumer creates the FIFO (IPCF_CH_CREATE) and removes it in close();
 * the producer opens it for writing. Recovery: a producer killed by the plan
 * is restarted (up to 2 times). Its successor reopens the FIFO and resends
 * from the first frame whose send had not returned (the shared next_seq), so
 * the frame in doubt is retransmitted with the same seq and the consumer drops
 * what it already delivered. The consumer sees each writer's death as end of
 * stream (-IPCF_ECLOSED, or -IPCF_ETRUNCATED when the writer died inside a
 * frame: the partial frame is discarded) and reopens the FIFO. A new writer
 * opens only after the consumer has seen every previous writer's end of
 * stream (writer_opens == rx_eofs), so a torn frame is never followed by the
 * next writer's bytes in the same read session.
 *
 * A killed consumer is not restarted (bytes it had read are gone, and a FIFO's
 * buffer dies with its last reader); the producer then gets -EPIPE and stops.
 * Its FIFO name, left by the dead creator, is removed by teardown.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "ipcfuzz/channel.h"
#include "ipcfuzz/ipcfuzz.h"
#include "scenario_stream.h"

#define FIFO_TAG "data.fifo"

struct fifo_shared {
    struct ipcf__stream_shared st;
    uint32_t writer_opens; /* producer incarnations that opened the FIFO */
    uint32_t rx_eofs;      /* end-of-stream events the consumer has seen */
};

static int wait_until(volatile uint32_t *a, volatile uint32_t *b, volatile uint32_t *stop,
                      int64_t deadline)
{
    while (__atomic_load_n(a, __ATOMIC_ACQUIRE) < __atomic_load_n(b, __ATOMIC_ACQUIRE)) {
        if (__atomic_load_n(stop, __ATOMIC_ACQUIRE) || ipcf__ms_left(deadline) == 0)
            return -1;
        usleep(1000);
    }
    return 0;
}

static int fifo_producer(struct ipcf_peer_ctx *ctx)
{
    struct fifo_shared *sh = ctx->shared;
    int64_t deadline = ipcf__now_ms() + ctx->timeout_ms;
    struct ipcf_channel ch = {.fd = -1};
    int rc;

    if (ipcf_io_ignore_sigpipe() < 0)
        return 1;
    /* the previous writer's end of stream must have been seen first */
    if (wait_until(&sh->rx_eofs, &sh->writer_opens, &sh->st.receiver_done, deadline) < 0)
        goto done;
    rc =
        ipcf_fifo_open(&ch, FIFO_TAG, IPCF_CH_WRITE, IPCF__STREAM_MAX_LEN, ipcf__ms_left(deadline));
    if (rc < 0) {
        fprintf(stderr, "producer: open %s: %s\n", FIFO_TAG, ipcf_strerror(rc));
        __atomic_store_n(&sh->st.sender_done, 1, __ATOMIC_RELEASE);
        return 1;
    }
    __atomic_add_fetch(&sh->writer_opens, 1, __ATOMIC_ACQ_REL);
    rc = ipcf__stream_send(&ch, ctx, &sh->st, ctx->messages, deadline);
    __atomic_store_n(&sh->st.sender_done, 1, __ATOMIC_RELEASE);
    ipcf_channel_close(&ch);
    return rc < 0 ? 1 : 0;
done:
    __atomic_store_n(&sh->st.sender_done, 1, __ATOMIC_RELEASE);
    return 0;
}

static int fifo_consumer(struct ipcf_peer_ctx *ctx)
{
    struct fifo_shared *sh = ctx->shared;
    int64_t deadline = ipcf__now_ms() + ctx->timeout_ms;
    struct ipcf_channel ch = {.fd = -1};
    int rc = ipcf_fifo_open(&ch, FIFO_TAG, IPCF_CH_READ | IPCF_CH_CREATE, IPCF__STREAM_MAX_LEN,
                            ipcf__ms_left(deadline));
    if (rc < 0) {
        fprintf(stderr, "consumer: create %s: %s\n", FIFO_TAG, ipcf_strerror(rc));
        __atomic_store_n(&sh->st.receiver_done, 1, __ATOMIC_RELEASE);
        return 1;
    }
    for (;;) {
        rc = ipcf__stream_recv(&ch, ctx, &sh->st, ctx->messages, true, deadline);
        if (rc != 1)
            break; /* all delivered (0) or an error */
        /* a writer closed or died */
        __atomic_add_fetch(&sh->rx_eofs, 1, __ATOMIC_ACQ_REL);
        if (__atomic_load_n(&sh->st.sender_done, __ATOMIC_ACQUIRE) &&
            __atomic_load_n(&sh->rx_eofs, __ATOMIC_ACQUIRE) >=
                __atomic_load_n(&sh->writer_opens, __ATOMIC_ACQUIRE)) {
            rc = 0;
            break;
        }
        rc = ipcf_channel_reopen(&ch, ipcf__ms_left(deadline));
        if (rc < 0) {
            fprintf(stderr, "consumer: reopen: %s\n", ipcf_strerror(rc));
            break;
        }
    }
    __atomic_store_n(&sh->st.receiver_done, 1, __ATOMIC_RELEASE);
    int crc = ipcf_channel_close(&ch);
    if (crc < 0)
        fprintf(stderr, "consumer: close: %s\n", ipcf_strerror(crc));
    return rc < 0 ? 1 : 0;
}

/* The consumer owns the name; if it did not end by itself, nobody removed it. */
static void fifo_teardown(struct ipcf_scenario_ctx *ctx)
{
    const struct ipcf_peer_outcome *c = &ctx->outcome[1];
    if (c->exited)
        return; /* a consumer that exited must have removed its name itself */
    char path[IPCF_NAME_MAX];
    if (ipcf_name_path(path, sizeof(path), FIFO_TAG) == 0)
        (void)unlink(path);
}

IPCF_SCENARIO(fifo, .description = "producer -> consumer over a named FIFO; producer restarts",
              .peers = {{.name = "producer", .run = fifo_producer, .restarts = 2},
                        {.name = "consumer", .run = fifo_consumer}},
              .streams = {{.id = IPCF__STREAM_ID,
                           .name = "data",
                           .sender = "producer",
                           .receiver = "consumer",
                           .semantics = IPCF_SEM_STREAM,
                           .receiver_in_hand = 64}},
              .names = {FIFO_TAG}, .calls = "read,write,poll",
              .shared_size = sizeof(struct fifo_shared), .messages = 64, .teardown = fifo_teardown);
