/* test_pipe.c — the anonymous-pipe transport with real forked peers: sizes and
 * order, torn frames (close and SIGKILL), EPIPE survival, bounded receive
 * timeout, bytes surviving the writer's death, the channel API's argument
 * and role checks, the channel layer under a transport op that returns EINTR,
 * partial or impossible results, and its fault points. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "chantest.h"
#include "testutil.h"
#include "ipcfuzz/faults.h"

static void forget(struct ipcf_channel *ch)
{
    memset(ch, 0, sizeof(*ch));
    ch->fd = -1;
}

static int p_prepare(struct chantest_env *env)
{
    return ipcf_pipe_open(&env->pipe_rd, &env->pipe_wr, CHANTEST_MAX_PAYLOAD);
}

/* Keep the end for role, close the other (each side closes what it does not use). */
static int p_open(struct chantest_env *env, unsigned role, struct ipcf_channel *ch, int timeout_ms)
{
    (void)timeout_ms;
    struct ipcf_channel *keep = role == IPCF_CH_READ ? &env->pipe_rd : &env->pipe_wr;
    struct ipcf_channel *drop = role == IPCF_CH_READ ? &env->pipe_wr : &env->pipe_rd;
    (void)ipcf_channel_close(drop);
    *ch = *keep;
    forget(keep);
    return 0;
}

static void p_finish(struct chantest_env *env)
{
    (void)ipcf_channel_close(&env->pipe_rd);
    (void)ipcf_channel_close(&env->pipe_wr);
}

static const struct chantest_transport pipe_t = {"pipe", p_prepare, p_open, p_finish};

static void test_pipe_sizes_in_order(void **state)
{
    (void)state;
    chantest_sizes_in_order(&pipe_t);
}

static void test_pipe_torn_by_close(void **state)
{
    (void)state;
    chantest_torn_by_close(&pipe_t);
}

static void test_pipe_torn_by_kill(void **state)
{
    (void)state;
    chantest_torn_by_kill(&pipe_t);
}

static void test_pipe_epipe_survives(void **state)
{
    (void)state;
    chantest_epipe_survives(&pipe_t);
}

static void test_pipe_recv_timeout(void **state)
{
    (void)state;
    chantest_recv_timeout(&pipe_t);
}

static void test_pipe_survives_writer_death(void **state)
{
    (void)state;
    chantest_survives_writer_death(&pipe_t);
}

static void test_pipe_syscall_faults(void **state)
{
    (void)state;
    chantest_syscall_faults(&pipe_t);
}

/* Roles, oversize, reopen, idempotent close, close of a zeroed struct. */
static void test_pipe_api_checks(void **state)
{
    (void)state;
    struct ipcf_channel rd, wr;
    struct ipcf_frame f;
    uint8_t big[65];

    assert_int_equal(ipcf_pipe_open(&rd, &wr, 64), 0);
    assert_true(ipcf_channel_fd(&rd) >= 0);
    assert_true(fcntl(rd.fd, F_GETFL) & O_NONBLOCK);
    assert_true(fcntl(rd.fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(ipcf_channel_send(&rd, 1, "x", 1, 10), -EBADF);
    assert_int_equal(ipcf_channel_recv(&wr, &f, 10), -EBADF);
    memset(big, 'a', sizeof(big));
    assert_int_equal(ipcf_channel_send(&wr, 1, big, sizeof(big), 10), -IPCF_EOVERSIZE);
    assert_int_equal(ipcf_channel_send(&wr, 1, big, 64, 10), 0);
    assert_int_equal(ipcf_channel_send(&wr, 1, big, 1, -1), -EINVAL);
    assert_int_equal(ipcf_channel_recv(&rd, &f, 100), 0);
    assert_int_equal(f.len, 64);
    assert_int_equal(ipcf_channel_reopen(&rd, 10), -ENOTSUP);
    assert_int_equal(ipcf_channel_recv(&rd, &f, 0), -IPCF_ETIMEDOUT);
    assert_int_equal(ipcf_channel_close(&wr), 0);
    assert_int_equal(ipcf_channel_close(&wr), 0); /* idempotent */
    assert_int_equal(ipcf_channel_recv(&rd, &f, 100), -IPCF_ECLOSED);
    assert_int_equal(ipcf_channel_recv(&rd, &f, 100), -IPCF_ECLOSED); /* sticky */
    assert_int_equal(ipcf_channel_close(&rd), 0);
    assert_int_equal(ipcf_channel_fd(&rd), -1);

    /* A zeroed channel (fd == 0) is "never opened": close must not touch fd 0. */
    struct ipcf_channel z;
    memset(&z, 0, sizeof(z));
    int before = fcntl(0, F_GETFD);
    assert_int_equal(ipcf_channel_close(&z), 0);
    assert_int_equal(fcntl(0, F_GETFD), before);
}

/* A corrupted frame in the stream is dropped with EBADCRC and the next one is
 * delivered; garbage poisons the channel for good. */
static void test_pipe_bad_crc_then_poison(void **state)
{
    (void)state;
    struct ipcf_channel rd, wr;
    struct ipcf_frame f;
    uint8_t wire[64];

    assert_int_equal(ipcf_pipe_open(&rd, &wr, 64), 0);
    int n = ipcf_frame_encode(wire, sizeof(wire), 5, 0, "hello", 5);
    assert_int_equal(n, 29);
    wire[26] ^= 0x40;
    assert_int_equal(ipcf_io_write_all(wr.fd, wire, (size_t)n, 100), 0);
    assert_int_equal(ipcf_channel_send(&wr, 6, "world", 5, 100), 0);
    assert_int_equal(ipcf_channel_recv(&rd, &f, 100), -IPCF_EBADCRC);
    assert_int_equal(ipcf_channel_recv(&rd, &f, 100), 0);
    assert_int_equal(f.seq, 6);
    assert_memory_equal(f.payload, "world", 5);
    assert_int_equal(ipcf_io_write_all(wr.fd, "garbage-garbage-garbage-garbage", 31, 100), 0);
    assert_int_equal(ipcf_channel_recv(&rd, &f, 100), -IPCF_EBADMAGIC);
    assert_int_equal(ipcf_channel_send(&wr, 7, "ok", 2, 100), 0);
    assert_int_equal(ipcf_channel_recv(&rd, &f, 100), -IPCF_EPOISONED);
    assert_int_equal(ipcf_channel_close(&rd), 0);
    assert_int_equal(ipcf_channel_close(&wr), 0);
}

/* ---- the channel layer under a misbehaving transport op ------------------
 * The contract of channel.c: an op's result is final — retrying EINTR, EAGAIN
 * and short transfers is the io helpers' job alone (tests/test_io.c and
 * chantest_syscall_faults attack that). So an op's -EINTR reaches the caller,
 * a write op that stops part-way poisons the stream, a write op that "succeeds"
 * short is -EIO, and an op that claims more bytes than it was given is -EIO.
 * The ops of a real pipe are wrapped to produce those results on demand. */
static const struct ipcf_channel_ops *real_ops;
static unsigned long op_reads, op_writes;
static int op_mode; /* what the next wrapped op does */
enum { OP_REAL, OP_EINTR, OP_HALF_THEN_EINTR, OP_SHORT_SUCCESS, OP_CLAIM_MORE };

static ssize_t sched_read(struct ipcf_channel *ch, void *buf, size_t len,
                          const struct ipcf_deadline *dl)
{
    op_reads++;
    if (op_mode == OP_EINTR)
        return -EINTR;
    ssize_t n = real_ops->read(ch, buf, len, dl);
    if (op_mode == OP_CLAIM_MORE && n > 0)
        return (ssize_t)len + 1;
    return n;
}

static int sched_write(struct ipcf_channel *ch, const void *buf, size_t len, size_t *done,
                       const struct ipcf_deadline *dl)
{
    size_t d = 0;
    int rc;
    op_writes++;
    switch (op_mode) {
    case OP_EINTR: /* interrupted before anything was written */
        *done = 0;
        return -EINTR;
    case OP_HALF_THEN_EINTR:
        rc = real_ops->write(ch, buf, len / 2, &d, dl);
        *done = d;
        return rc < 0 ? rc : -EINTR;
    case OP_SHORT_SUCCESS: /* a broken op: part of it, then "success" */
        rc = real_ops->write(ch, buf, len > 3 ? 3 : len, &d, dl);
        *done = d;
        return rc;
    case OP_CLAIM_MORE:
        rc = real_ops->write(ch, buf, len, &d, dl);
        *done = d + 1;
        return rc;
    default:
        return real_ops->write(ch, buf, len, done, dl);
    }
}

static struct ipcf_channel_ops sched_ops;

static void wrap_ops(struct ipcf_channel *rd, struct ipcf_channel *wr)
{
    real_ops = rd->ops;
    sched_ops = *real_ops;
    sched_ops.name = "pipe";
    sched_ops.read = sched_read;
    sched_ops.write = sched_write;
    rd->ops = wr->ops = &sched_ops;
    op_reads = op_writes = 0;
    op_mode = OP_REAL;
}

static void test_pipe_channel_op_results_are_final(void **state)
{
    (void)state;
    struct ipcf_channel rd, wr;
    struct ipcf_frame f;
    static uint8_t buf[600];
    assert_int_equal(ipcf_pipe_open(&rd, &wr, sizeof(buf)), 0);
    wrap_ops(&rd, &wr);
    chantest_fill(buf, 1, sizeof(buf));

    /* EINTR from an op is not retried here: it reaches the caller, and
     * nothing was written, so the stream stays usable. */
    op_mode = OP_EINTR;
    assert_int_equal(ipcf_channel_send(&wr, 1, buf, sizeof(buf), 1000), -EINTR);
    assert_int_equal(ipcf_channel_recv(&rd, &f, 1000), -EINTR);
    assert_int_equal(op_writes, 1);
    assert_int_equal(op_reads, 1);
    op_mode = OP_REAL;
    assert_int_equal(ipcf_channel_send(&wr, 1, buf, sizeof(buf), 1000), 0);
    assert_int_equal(ipcf_channel_recv(&rd, &f, 1000), 0);
    assert_int_equal(chantest_check(&f, 1, sizeof(buf)), 0);

    /* A write op that stops part-way tore a frame: the stream is poisoned
     * for every later send, and the torn frame is never delivered. */
    op_mode = OP_HALF_THEN_EINTR;
    assert_int_equal(ipcf_channel_send(&wr, 2, buf, sizeof(buf), 1000), -EINTR);
    op_mode = OP_REAL;
    assert_int_equal(ipcf_channel_send(&wr, 3, buf, sizeof(buf), 1000), -IPCF_EPOISONED);
    assert_int_equal(ipcf_channel_close(&wr), 0);
    assert_int_equal(ipcf_channel_recv(&rd, &f, 1000), -IPCF_ETRUNCATED);
    assert_int_equal(ipcf_channel_close(&rd), 0);

    /* A write op that "succeeds" short is broken: -EIO, stream poisoned. */
    assert_int_equal(ipcf_pipe_open(&rd, &wr, sizeof(buf)), 0);
    wrap_ops(&rd, &wr);
    op_mode = OP_SHORT_SUCCESS;
    assert_int_equal(ipcf_channel_send(&wr, 4, buf, sizeof(buf), 1000), -EIO);
    assert_int_equal(wr.tx_error, -IPCF_EPOISONED);
    assert_int_equal(wr.tx_frames, 0);
    assert_int_equal(ipcf_channel_close(&wr), 0);
    assert_int_equal(ipcf_channel_close(&rd), 0);
}

/* An op that claims more bytes than it was given is -EIO: recv never feeds
 * past its buffer (ASan would see it), send never counts a frame as sent and
 * poisons the stream it may have torn. */
static void test_pipe_channel_broken_op(void **state)
{
    (void)state;
    struct ipcf_channel rd, wr;
    struct ipcf_frame f;
    assert_int_equal(ipcf_pipe_open(&rd, &wr, 64), 0);
    wrap_ops(&rd, &wr);
    assert_int_equal(ipcf_channel_send(&wr, 1, "abc", 3, 1000), 0);
    op_mode = OP_CLAIM_MORE;
    assert_int_equal(ipcf_channel_recv(&rd, &f, 1000), -EIO);
    op_mode = OP_CLAIM_MORE;
    assert_int_equal(ipcf_channel_send(&wr, 2, "def", 3, 1000), -EIO);
    assert_int_equal(wr.tx_frames, 1);
    assert_int_equal(ipcf_channel_send(&wr, 3, "ghi", 3, 1000), -IPCF_EPOISONED);
    assert_int_equal(ipcf_channel_close(&rd), 0);
    assert_int_equal(ipcf_channel_close(&wr), 0);
}

/* The channel's fault points are reached, in the documented places. */
static void test_pipe_points_reached(void **state)
{
    (void)state;
    struct ipcf_channel rd, wr;
    struct ipcf_frame f;
    struct ipcf_plan empty = {NULL, 0};
    assert_int_equal(ipcf_pipe_open(&rd, &wr, 64), 0);
    assert_int_equal(ipcf_faults_configure(&empty, 1, "pointtest"), 0);
    int s1 = ipcf_channel_send(&wr, 1, "hello", 5, 1000);
    int r1 = ipcf_channel_recv(&rd, &f, 1000);
    int s2 = ipcf_channel_send(&wr, 2, NULL, 0, 1000); /* header only */
    int r2 = ipcf_channel_recv(&rd, &f, 1000);
    uint64_t begin = ipcf_faults_count("point=pipe.send.begin");
    uint64_t done = ipcf_faults_count("point=pipe.send.done");
    uint64_t header = ipcf_faults_count("point=pipe.recv.header");
    uint64_t decoded = ipcf_faults_count("point=pipe.recv.decoded");
    ipcf_faults_disable();
    assert_int_equal(s1, 0);
    assert_int_equal(r1, 0);
    assert_int_equal(s2, 0);
    assert_int_equal(r2, 0);
    assert_int_equal(begin, 2);
    assert_int_equal(done, 2);
    assert_int_equal(header, 1); /* the 0-byte frame completes with its header */
    assert_int_equal(decoded, 2);
    assert_int_equal(ipcf_channel_close(&rd), 0);
    assert_int_equal(ipcf_channel_close(&wr), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipe_sizes_in_order),
        cmocka_unit_test(test_pipe_torn_by_close),
        cmocka_unit_test(test_pipe_torn_by_kill),
        cmocka_unit_test(test_pipe_epipe_survives),
        cmocka_unit_test(test_pipe_recv_timeout),
        cmocka_unit_test(test_pipe_survives_writer_death),
        cmocka_unit_test(test_pipe_syscall_faults),
        cmocka_unit_test(test_pipe_api_checks),
        cmocka_unit_test(test_pipe_bad_crc_then_poison),
        cmocka_unit_test(test_pipe_channel_op_results_are_final),
        cmocka_unit_test(test_pipe_channel_broken_op),
        cmocka_unit_test(test_pipe_points_reached),
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
