/* scenario_pipe.c — the `pipe` scenario: a producer sends N frames to a
 * consumer over an anonymous pipe (ipcf_pipe_open), recording every frame in
 * the ledger.
 *
 * Recovery: none. An anonymous pipe has no name a new process could reopen, so
 * a killed peer is not restarted; instead the survivor must stop gracefully:
 * the consumer sees end of stream (-IPCF_ECLOSED, or -IPCF_ETRUNCATED when the
 * producer died inside a frame, which is then never delivered), the producer
 * sees -EPIPE (SIGPIPE ignored). That is why the supervisor drops its copies
 * of both ends in started(). Semantics: ordered, exactly once, frames
 * committed before the producer's death survive it (they are in the pipe);
 * frames pending when the consumer dies are lost with it.
 */
#include <errno.h>
#include <stdio.h>

#include "ipcfuzz/channel.h"
#include "ipcfuzz/ipcfuzz.h"
#include "scenario_stream.h"

static struct ipcf_channel pipe_rd = {.fd = -1}, pipe_wr = {.fd = -1};

static int pipe_setup(struct ipcf_scenario_ctx *ctx)
{
    (void)ctx;
    return ipcf_pipe_open(&pipe_rd, &pipe_wr, IPCF__STREAM_MAX_LEN);
}

static void pipe_started(struct ipcf_scenario_ctx *ctx)
{
    (void)ctx;
    ipcf_channel_close(&pipe_rd);
    ipcf_channel_close(&pipe_wr);
}

static void pipe_teardown(struct ipcf_scenario_ctx *ctx)
{
    (void)ctx;
    ipcf_channel_close(&pipe_rd);
    ipcf_channel_close(&pipe_wr);
}

static int pipe_producer(struct ipcf_peer_ctx *ctx)
{
    int64_t deadline = ipcf__now_ms() + ctx->timeout_ms;
    ipcf_channel_close(&pipe_rd);
    if (ipcf_io_ignore_sigpipe() < 0)
        return 1;
    int rc = ipcf__stream_send(&pipe_wr, ctx, ctx->shared, ctx->messages, deadline);
    ipcf_channel_close(&pipe_wr);
    return rc < 0 ? 1 : 0;
}

static int pipe_consumer(struct ipcf_peer_ctx *ctx)
{
    int64_t deadline = ipcf__now_ms() + ctx->timeout_ms;
    ipcf_channel_close(&pipe_wr);
    int rc = ipcf__stream_recv(&pipe_rd, ctx, ctx->shared, ctx->messages, false, deadline);
    ipcf_channel_close(&pipe_rd);
    return rc < 0 ? 1 : 0;
}

IPCF_SCENARIO(pipe, .description = "producer -> consumer, N frames over an anonymous pipe",
              .peers = {{.name = "producer", .run = pipe_producer},
                        {.name = "consumer", .run = pipe_consumer}},
              .streams = {{.id = IPCF__STREAM_ID,
                           .name = "data",
                           .sender = "producer",
                           .receiver = "consumer",
                           .semantics = IPCF_SEM_STREAM,
                           .receiver_in_hand = 64}},
              .calls = "read,write,poll", .shared_size = sizeof(struct ipcf__stream_shared),
              .messages = 64, .setup = pipe_setup, .started = pipe_started,
              .teardown = pipe_teardown);
