/* chantest.h — scenarios shared by the stream-transport tests (test_pipe.c,
 * test_fifo.c, test_unix_stream.c). Each scenario runs a REAL forked peer
 * (ipcft_fork, bounded ipcft_wait) against the test process through a
 * transport described by a struct chantest_transport:
 *   - the test process (the "parent") always creates names / listens / makes
 *     the pipe; the forked peer (the "child") opens the other end;
 *   - either process may be the reader or the writer.
 */
#ifndef IPCF_CHANTEST_H
#define IPCF_CHANTEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipcfuzz/channel.h"

#define CHANTEST_MAX_PAYLOAD (128u * 1024u)

struct chantest_env;

struct chantest_transport {
    const char *name;
    /* In the parent, before fork: create what both sides need. 0 or -errno. */
    int (*prepare)(struct chantest_env *env);
    /* Open this process's end for role IPCF_CH_READ or IPCF_CH_WRITE.
     * In the parent: the creating side; in the child: the connecting side. */
    int (*open)(struct chantest_env *env, unsigned role, struct ipcf_channel *ch, int timeout_ms);
    /* In the parent after the scenario: release what prepare made. */
    void (*finish)(struct chantest_env *env);
};

struct chantest_env {
    const struct chantest_transport *t;
    const char *tag;
    pid_t parent;
    int c2p[2]; /* child -> parent sync pipe */
    int p2c[2]; /* parent -> child sync pipe */
    /* transport state */
    struct ipcf_channel pipe_rd, pipe_wr;
    struct ipcf_unix_listener lis;
    /* scenario parameters */
    unsigned child_role;
    int arg;
};

/* Deterministic payload byte i of frame seq. */
uint8_t chantest_byte(uint64_t seq, size_t i);
void chantest_fill(uint8_t *buf, uint64_t seq, size_t len);
/* 0 if f is frame seq of length len with the expected bytes, else -1. */
int chantest_check(const struct ipcf_frame *f, uint64_t seq, size_t len);

/* Sync: send one byte / wait for one byte (bounded). 0 or negative. */
int chantest_signal(int fd);
int chantest_await(int fd, int timeout_ms);

/* Scenarios (each asserts with cmocka and leaves no name, fd or process). */
void chantest_sizes_in_order(const struct chantest_transport *t);
void chantest_torn_by_close(const struct chantest_transport *t);
void chantest_torn_by_kill(const struct chantest_transport *t);
void chantest_epipe_survives(const struct chantest_transport *t);
void chantest_recv_timeout(const struct chantest_transport *t);
void chantest_survives_writer_death(const struct chantest_transport *t);
/* Frames intact and in order while read/write/send/poll/connect/accept4
 * return EINTR, EAGAIN, 1 or 0 bytes, spurious readiness (both peers). */
void chantest_syscall_faults(const struct chantest_transport *t);

/* Assert this run owns no name right now. */
void chantest_assert_no_names(void);

#endif
