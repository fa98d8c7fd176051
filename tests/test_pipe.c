/* test_pipe.c — the anonymous-pipe transport with real forked peers: sizes and
 * order, torn frames (close and SIGKILL), EPIPE survival, bounded receive
 * timeout, bytes surviving the writer's death, and the channel API's argument
 * and role checks. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "chantest.h"
#include "testutil.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipe_sizes_in_order),
        cmocka_unit_test(test_pipe_torn_by_close),
        cmocka_unit_test(test_pipe_torn_by_kill),
        cmocka_unit_test(test_pipe_epipe_survives),
        cmocka_unit_test(test_pipe_recv_timeout),
        cmocka_unit_test(test_pipe_survives_writer_death),
        cmocka_unit_test(test_pipe_api_checks),
        cmocka_unit_test(test_pipe_bad_crc_then_poison),
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
