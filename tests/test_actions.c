/* test_actions.c — every action observed for real (not faked) on a pipe, a
 * Unix socket and a POSIX message queue, through ipcf_wrap_<call>():
 *   short=1   -> genuine 1-byte transfers; the rest stays in the channel
 *   signal    -> the call really blocked and the kernel returned EINTR (or a
 *                partial transfer); with data ready it completes normally
 *   kill      -> after: the write landed and the process died by SIGKILL;
 *                before: nothing landed
 *   shrink    -> the peer mapping the object takes a real SIGBUS
 *   corrupt   -> exactly N bits differ, the same ones for the same seed
 *   delay     -> the call starts that much later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "testutil.h"
#include "ipcfuzz/bugs.h"
#include "ipcfuzz/faults.h"
#include "ipcfuzz/faults_wrap.h"
#include "ipcfuzz/names.h"

static void configure(const char *text, uint64_t seed)
{
    struct ipcf_plan p;
    struct ipcf_plan_error err;
    if (ipcf_plan_parse(text, &p, &err) != 0)
        fail_msg("plan '%s': %s", text, err.msg);
    assert_int_equal(ipcf_faults_configure(&p, seed, "actions"), 0);
    ipcf_plan_free(&p);
}

static int teardown(void **state)
{
    (void)state;
    ipcf_faults_disable();
    return 0;
}

/* A POSIX message queue of this run (unlinked at once: the descriptor keeps it). */
static mqd_t make_mq(const char *tag, int flags)
{
    char name[IPCF_NAME_MAX];
    struct mq_attr a = {0};
    a.mq_maxmsg = 4;
    a.mq_msgsize = 64;
    assert_int_equal(ipcf_name_posix(name, sizeof(name), tag), 0);
    mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL | flags, 0600, &a);
    assert_true(q != (mqd_t)-1);
    mq_unlink(name);
    return q;
}

static void test_short_is_real(void **state)
{
    (void)state;
    int p[2], s[2];
    char buf[64];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
    assert_int_equal(write(p[1], "abcdef", 6), 6);
    assert_int_equal(write(s[1], "uvwxyz", 6), 6);
    configure("read:short=1; recv:short=2; writev:short=3; recvmsg:short=1", 0);
    /* pipe: 1 byte per read, in order, nothing lost */
    for (int i = 0; i < 6; i++) {
        assert_int_equal(ipcf_wrap_read(p[0], buf, sizeof(buf)), 1);
        assert_int_equal(buf[0], "abcdef"[i]);
    }
    /* unix socket: recv short=2, then recvmsg short=1 */
    assert_int_equal(ipcf_wrap_recv(s[0], buf, sizeof(buf), 0), 2);
    assert_memory_equal(buf, "uv", 2);
    struct iovec iov = {buf, sizeof(buf)};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    assert_int_equal(ipcf_wrap_recvmsg(s[0], &m, 0), 1);
    assert_int_equal(buf[0], 'w');
    assert_int_equal(m.msg_iov, &iov); /* the caller's msghdr is untouched */
    ipcf_faults_disable();
    assert_int_equal(read(s[0], buf, sizeof(buf)), 3); /* the rest was left in the socket */
    assert_memory_equal(buf, "xyz", 3);
    /* writev short=3 writes exactly 3 bytes for real */
    configure("writev:short=3", 0);
    struct iovec w[2] = {{"12", 2}, {"345", 3}};
    assert_int_equal(ipcf_wrap_writev(s[1], w, 2), 3);
    ipcf_faults_disable();
    assert_int_equal(read(s[0], buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "123", 3);
    close(p[0]);
    close(p[1]);
    close(s[0]);
    close(s[1]);
}

static volatile sig_atomic_t usr1_count;
static void on_usr1(int sig)
{
    (void)sig;
    usr1_count++;
}

static void test_signal_interrupts_blocked_call(void **state)
{
    (void)state;
    int p[2], s[2];
    char buf[64];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
    mqd_t q = make_mq("act_sig", 0);
    /* the program's own handler, installed without SA_RESTART */
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    usr1_count = 0;
    configure("read:signal=SIGUSR1; recv:signal; mq_receive:signal; write:signal", 0);

    /* pipe, empty: read blocks, the timer's signal interrupts it */
    int64_t t0 = ipcft_now_ms();
    errno = 0;
    assert_int_equal(ipcf_wrap_read(p[0], buf, sizeof(buf)), -1);
    assert_int_equal(errno, EINTR);
    assert_true(ipcft_now_ms() - t0 >= IPCF_FAULTS_SIGNAL_DELAY_US / 1000 - 2);
    assert_int_equal(usr1_count, 1); /* a real signal was delivered */
    /* data ready: the call completes, no EINTR */
    assert_int_equal(write(p[1], "z", 1), 1);
    assert_int_equal(ipcf_wrap_read(p[0], buf, sizeof(buf)), 1);

    /* unix socket with the default signal (injector's own handler) */
    t0 = ipcft_now_ms();
    errno = 0;
    assert_int_equal(ipcf_wrap_recv(s[0], buf, sizeof(buf), 0), -1);
    assert_int_equal(errno, EINTR);
    assert_true(ipcft_now_ms() - t0 >= IPCF_FAULTS_SIGNAL_DELAY_US / 1000 - 2);
    struct sigaction cur;
    sigaction(ipcf_faults_default_signal(), NULL, &cur);
    assert_true(cur.sa_handler != SIG_DFL && cur.sa_handler != SIG_IGN);
    assert_int_equal(cur.sa_flags & SA_RESTART, 0);

    /* message queue, empty */
    t0 = ipcft_now_ms();
    errno = 0;
    assert_int_equal(ipcf_wrap_mq_receive(q, buf, 64, NULL), -1);
    assert_int_equal(errno, EINTR);
    assert_true(ipcft_now_ms() - t0 >= IPCF_FAULTS_SIGNAL_DELAY_US / 1000 - 2);

    /* a blocked write into a full pipe returns a genuine partial transfer */
    size_t big = 1 << 20;
    char *data = calloc(1, big);
    assert_non_null(data);
    ssize_t w = ipcf_wrap_write(p[1], data, big);
    assert_true(w > 0 && (size_t)w < big);
    free(data);
    signal(SIGUSR1, SIG_DFL);
    mq_close(q);
    close(p[0]);
    close(p[1]);
    close(s[0]);
    close(s[1]);
}

struct kill_arg {
    int mode; /* 0 pipe, 1 socket, 2 mq */
    int fd;
    mqd_t q;
    const char *plan;
};

static int child_kill(void *arg)
{
    struct kill_arg *k = arg;
    configure(k->plan, 0);
    if (k->mode == 0)
        (void)ipcf_wrap_write(k->fd, "landed", 6);
    else if (k->mode == 1)
        (void)ipcf_wrap_send(k->fd, "landed", 6, 0);
    else
        (void)ipcf_wrap_mq_send(k->q, "landed", 6, 0);
    return 0; /* not reached */
}

static void kill_case(int mode, const char *plan, int landed)
{
    int fds[2], status;
    char buf[64];
    struct kill_arg k = {mode, -1, (mqd_t)-1, plan};
    if (mode == 2) {
        k.q = make_mq("act_kill", O_NONBLOCK);
    } else {
        if (mode == 0)
            assert_int_equal(pipe(fds), 0);
        else
            assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
        k.fd = fds[1];
    }
    pid_t pid = ipcft_fork(child_kill, &k);
    assert_int_equal(ipcft_wait(pid, 10000, &status), 0);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    ssize_t n;
    if (mode == 2) {
        n = mq_receive(k.q, buf, 64, NULL);
        mq_close(k.q);
    } else {
        close(fds[1]);
        n = read(fds[0], buf, sizeof(buf));
        close(fds[0]);
    }
    if (landed) {
        assert_int_equal(n, 6);
        assert_memory_equal(buf, "landed", 6);
    } else {
        assert_true(n <= 0); /* EOF (stream) or EAGAIN (empty queue) */
    }
}

static void test_kill_before_after(void **state)
{
    (void)state;
    kill_case(0, "write:kill=after", 1);
    kill_case(0, "write:kill=before", 0);
    kill_case(1, "send:kill=after", 1);
    kill_case(1, "send:kill=before", 0);
    kill_case(2, "mq_send:kill=after", 1);
    kill_case(2, "mq_send:kill=before", 0);
}

static sigjmp_buf bus_jmp;
static void on_bus(int sig)
{
    (void)sig;
    siglongjmp(bus_jmp, 1);
}

struct shrink_arg {
    int ready[2], go[2];
    const char *shm; /* NULL: use memfd */
    int memfd;
};

/* The peer: map the object, report ready, wait, touch it: SIGBUS -> 77. */
static int child_mapper(void *arg)
{
    struct shrink_arg *s = arg;
    int fd = s->shm ? shm_open(s->shm, O_RDWR, 0) : s->memfd;
    if (fd < 0)
        return 10;
    volatile char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        return 11;
    m[100] = 1;
    signal(SIGBUS, on_bus); /* a program's handler works under ASan too */
    char c = 0;
    if (write(s->ready[1], "r", 1) != 1 || read(s->go[0], &c, 1) != 1)
        return 12;
    if (sigsetjmp(bus_jmp, 1))
        return 77; /* the real SIGBUS */
    m[100] = 2;
    return 0;
}

static void shrink_case(int use_shm)
{
    struct shrink_arg s;
    char name[IPCF_NAME_MAX];
    int fd;
    assert_int_equal(pipe(s.ready), 0);
    assert_int_equal(pipe(s.go), 0);
    ipcf_faults_disable();
    if (use_shm) {
        assert_int_equal(ipcf_name_posix(name, sizeof(name), "act_ring"), 0);
        /* through the wrapper: the interposer learns the object */
        fd = ipcf_wrap_shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
        s.shm = name;
        s.memfd = -1;
    } else {
        fd = ipcf_wrap_memfd_create("act_memring", MFD_CLOEXEC);
        s.shm = NULL;
        s.memfd = fd;
    }
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 4096), 0);
    pid_t pid = ipcft_fork(child_mapper, &s);
    char c;
    assert_int_equal(read(s.ready[0], &c, 1), 1);
    configure(use_shm ? "write:shrink=*act_ring:when=1" : "write:shrink=act_mem*", 0);
    assert_int_equal(ipcf_wrap_write(s.go[1], "g", 1), 1); /* shrink, then wake the peer */
    int status;
    assert_int_equal(ipcft_wait(pid, 10000, &status), 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 77);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, 0);
    close(fd);
    if (use_shm)
        shm_unlink(name);
    close(s.ready[0]);
    close(s.ready[1]);
    close(s.go[0]);
    close(s.go[1]);
}

static void test_shrink_gives_peer_sigbus(void **state)
{
    (void)state;
    shrink_case(1);
    shrink_case(0);
    /* the API: register + shrink now */
    int fd = memfd_create("api_obj", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 8192), 0);
    assert_int_equal(ipcf_faults_register_object("api_obj", fd), 0);
    assert_int_equal(ipcf_faults_shrink("api_*"), 1);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, 0);
    close(fd);
    /* the descriptor number reused for another file: not truncated */
    fd = memfd_create("other", MFD_CLOEXEC);
    assert_int_equal(ftruncate(fd, 100), 0);
    assert_int_equal(ipcf_faults_shrink("api_*"), 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, 100);
    close(fd);
    assert_int_equal(ipcf_faults_register_object("no/slash", -1), -EINVAL);
}

static int bits_differ(const unsigned char *a, const unsigned char *b, size_t n)
{
    int d = 0;
    for (size_t i = 0; i < n; i++)
        d += __builtin_popcount((unsigned)(a[i] ^ b[i]));
    return d;
}

/* Read 64 known bytes through a corrupting read; returns them in out. */
static void corrupt_pipe(const char *plan, uint64_t seed, unsigned char *out)
{
    int p[2];
    unsigned char src[64];
    for (int i = 0; i < 64; i++)
        src[i] = (unsigned char)i;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], src, 64), 64);
    configure(plan, seed);
    assert_int_equal(ipcf_wrap_read(p[0], out, 64), 64);
    ipcf_faults_disable();
    close(p[0]);
    close(p[1]);
}

static void test_corrupt_deterministic(void **state)
{
    (void)state;
    unsigned char src[64], a[64], b[64], c[64];
    for (int i = 0; i < 64; i++)
        src[i] = (unsigned char)i;
    corrupt_pipe("read:corrupt=5", 1, a);
    corrupt_pipe("read:corrupt=5", 1, b);
    corrupt_pipe("read:corrupt=5", 2, c);
    assert_int_equal(bits_differ(src, a, 64), 5);
    assert_memory_equal(a, b, 64);
    assert_memory_not_equal(a, c, 64);
    /* message queue and unix socket (recvmsg over two iovecs) */
    mqd_t q = make_mq("act_corrupt", 0);
    assert_int_equal(mq_send(q, (const char *)src, 32, 0), 0);
    configure("mq_receive:corrupt=3", 9);
    char m[64];
    assert_int_equal(ipcf_wrap_mq_receive(q, m, 64, NULL), 32);
    assert_int_equal(bits_differ(src, (unsigned char *)m, 32), 3);
    mq_close(q);
    int s[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s), 0);
    assert_int_equal(send(s[1], src, 40, 0), 40);
    configure("recvmsg:corrupt=7", 9);
    unsigned char r1[10], r2[54];
    struct iovec iov[2] = {{r1, sizeof(r1)}, {r2, sizeof(r2)}};
    struct msghdr mh = {0};
    mh.msg_iov = iov;
    mh.msg_iovlen = 2;
    assert_int_equal(ipcf_wrap_recvmsg(s[0], &mh, 0), 40);
    unsigned char joined[40];
    memcpy(joined, r1, 10);
    memcpy(joined + 10, r2, 30);
    assert_int_equal(bits_differ(src, joined, 40), 7);
    ipcf_faults_disable();
    close(s[0]);
    close(s[1]);
}

static void test_delay_and_fake_error(void **state)
{
    (void)state;
    int p[2];
    char c;
    assert_int_equal(pipe(p), 0);
    configure("write:delay=30000:when=1; write:error=EINTR:when=2", 0);
    int64_t t0 = ipcft_now_ms();
    assert_int_equal(ipcf_wrap_write(p[1], "a", 1), 1);
    assert_true(ipcft_now_ms() - t0 >= 29);
    errno = 0;
    assert_int_equal(ipcf_wrap_write(p[1], "b", 1), -1); /* the cheap fake: not written */
    assert_int_equal(errno, EINTR);
    ipcf_faults_disable();
    close(p[1]);
    assert_int_equal(read(p[0], &c, 1), 1);
    assert_int_equal(c, 'a');
    assert_int_equal(read(p[0], &c, 1), 0);
    close(p[0]);
}

/* ---- planted bugs: each "real, not faked" check must catch its bug -------- */

/* The short= check: read:short=1 on a pipe holding "abc" moves exactly one
 * byte per call, for real. 0 = correct, else which part failed. */
static int short_moves_bytes(void)
{
    int p[2], rc = 0;
    char buf[8];
    if (pipe(p) != 0 || write(p[1], "abc", 3) != 3)
        return 100;
    configure("read:short=1", 0);
    for (int i = 0; i < 3 && !rc; i++) {
        memset(buf, 0, sizeof(buf));
        if (ipcf_wrap_read(p[0], buf, sizeof(buf)) != 1)
            rc = 1;
        else if (buf[0] != "abc"[i])
            rc = 2; /* the byte was not really read */
    }
    ipcf_faults_disable();
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    if (!rc && read(p[0], buf, sizeof(buf)) != -1)
        rc = 3; /* bytes left behind */
    close(p[0]);
    close(p[1]);
    return rc;
}

static void test_planted_short_faked_caught(void **state)
{
    (void)state;
    assert_int_equal(short_moves_bytes(), 0);
    assert_int_equal(ipcf_bugs_set("faults_short_faked"), 0);
    int rc = short_moves_bytes();
    assert_int_equal(ipcf_bugs_set(""), 0);
    assert_int_not_equal(rc, 0);
}

/* The signal= check: on an empty pipe the read really blocks until the timer's
 * signal (the program's handler runs once) and the kernel returns EINTR; with
 * data ready the call completes. 0 = correct. */
static int signal_is_real(void)
{
    int p[2], rc = 0;
    char buf[8];
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    if (pipe(p) != 0 || sigaction(SIGUSR1, &sa, &old) != 0)
        return 100;
    usr1_count = 0;
    configure("read:signal=SIGUSR1", 0);
    int64_t t0 = ipcft_now_ms();
    errno = 0;
    if (ipcf_wrap_read(p[0], buf, sizeof(buf)) != -1 || errno != EINTR)
        rc = 1;
    else if (ipcft_now_ms() - t0 < IPCF_FAULTS_SIGNAL_DELAY_US / 1000 - 2)
        rc = 2; /* did not block */
    else if (usr1_count != 1)
        rc = 3; /* no real signal */
    else if (write(p[1], "z", 1) != 1 || ipcf_wrap_read(p[0], buf, sizeof(buf)) != 1)
        rc = 4; /* with data ready the call must complete */
    ipcf_faults_disable();
    sigaction(SIGUSR1, &old, NULL);
    close(p[0]);
    close(p[1]);
    return rc;
}

static void test_planted_fake_signal_caught(void **state)
{
    (void)state;
    assert_int_equal(signal_is_real(), 0);
    assert_int_equal(ipcf_bugs_set("faults_fake_signal"), 0);
    int rc = signal_is_real();
    assert_int_equal(ipcf_bugs_set(""), 0);
    assert_int_not_equal(rc, 0);
}

/* ---- buffers: short= and corrupt= never touch a byte the call did not ----- */

/* corrupt= on a datagram read with MSG_TRUNC: the call returns the datagram's
 * full length (100), larger than the 4-byte buffer; only those 4 bytes may
 * change (corrupt=64 is capped to their 32 bits: all flipped). */
static void test_corrupt_within_buffer(void **state)
{
    (void)state;
    int d[2];
    unsigned char msg[100], guard[64];
    memset(msg, 0x55, sizeof(msg));
    assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, d), 0);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(send(d[0], msg, sizeof(msg), 0), 100);
        memset(guard, 0x55, sizeof(guard));
        ssize_t r;
        if (k == 0) {
            configure("recv:corrupt=64", 3);
            r = ipcf_wrap_recv(d[1], guard, 4, MSG_TRUNC);
        } else if (k == 1) {
            configure("recvfrom:corrupt=64", 3);
            r = ipcf_wrap_recvfrom(d[1], guard, 4, MSG_TRUNC, NULL, NULL);
        } else {
            configure("recvmsg:corrupt=64", 3);
            struct iovec iov[2] = {{guard, 2}, {guard + 32, 2}};
            struct msghdr mh = {0};
            mh.msg_iov = iov;
            mh.msg_iovlen = 2;
            r = ipcf_wrap_recvmsg(d[1], &mh, MSG_TRUNC);
            memcpy(guard + 2, guard + 32, 2); /* gather the 4 returned bytes */
            memset(guard + 32, 0x55, 2);
        }
        ipcf_faults_disable();
        assert_int_equal(r, 100);
        for (int i = 0; i < 4; i++)
            assert_int_equal(guard[i], 0xaa);
        for (size_t i = 4; i < sizeof(guard); i++)
            assert_int_equal(guard[i], 0x55);
    }
    close(d[0]);
    close(d[1]);
}

/* short= over several iovecs: the total is capped across entries, the caller's
 * iovecs are not modified, later entries are not written; what the kernel
 * refuses (iovcnt > IOV_MAX, NULL msghdr) is still refused. */
static void test_short_iovecs(void **state)
{
    (void)state;
    int p[2], s[2];
    char a[2], b[3], c[4], rest[16];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "abcdefghi", 9), 9);
    memset(b, 'Y', sizeof(b));
    memset(c, 'Z', sizeof(c));
    struct iovec v[3] = {{a, 2}, {b, 3}, {c, 4}};
    configure("readv:short=4", 0);
    assert_int_equal(ipcf_wrap_readv(p[0], v, 3), 4);
    assert_memory_equal(a, "ab", 2);
    assert_memory_equal(b, "cd", 2);
    assert_int_equal(b[2], 'Y'); /* past the 4 bytes: untouched */
    assert_memory_equal(c, "ZZZZ", 4);
    assert_int_equal(v[1].iov_len, 3); /* caller's iovecs unchanged */
    ipcf_faults_disable();
    assert_int_equal(read(p[0], rest, sizeof(rest)), 5);
    assert_memory_equal(rest, "efghi", 5);

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
    assert_int_equal(write(s[1], "1234", 4), 4);
    char x[4] = {0};
    struct iovec w[4] = {{x, 1}, {x + 1, 1}, {x + 2, 1}, {x + 3, 1}};
    struct msghdr mh = {0};
    mh.msg_iov = w;
    mh.msg_iovlen = 4;
    configure("recvmsg:short=3", 0);
    assert_int_equal(ipcf_wrap_recvmsg(s[0], &mh, 0), 3);
    assert_memory_equal(x, "123\0", 4);
    assert_ptr_equal(mh.msg_iov, w);
    assert_int_equal(mh.msg_iovlen, 4);
    errno = 0;
    assert_int_equal(ipcf_wrap_recvmsg(s[0], NULL, MSG_DONTWAIT), -1);
    assert_int_equal(errno, EFAULT);
    /* iovcnt above IOV_MAX: EINVAL from the kernel, shortened or not */
    static struct iovec many[IOV_MAX + 1];
    for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++)
        many[i] = (struct iovec){x, 1};
    configure("readv:short=1", 0);
    errno = 0;
    assert_int_equal(ipcf_wrap_readv(s[0], many, IOV_MAX + 1), -1);
    assert_int_equal(errno, EINVAL);
    ipcf_faults_disable();
    close(p[0]);
    close(p[1]);
    close(s[0]);
    close(s[1]);
}

/* ---- the object registry: bound and fork safety --------------------------- */

void ipcf__objects_reset(void);
void ipcf__objects_lock(void);
void ipcf__objects_unlock(void);

#define NOBJ 65 /* one more than the registry holds */

/* 65 shm objects registered: the 65th replaces the oldest registration, and
 * re-registering a name makes it the newest. */
static void test_registry_replaces_oldest(void **state)
{
    (void)state;
    static char names[NOBJ][IPCF_NAME_MAX];
    for (int i = 0; i < NOBJ; i++) {
        char tag[16];
        snprintf(tag, sizeof(tag), "reg%d", i);
        assert_int_equal(ipcf_name_posix(names[i], sizeof(names[i]), tag), 0);
        int fd = shm_open(names[i], O_RDWR | O_CREAT | O_EXCL, 0600);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, 16), 0);
        close(fd);
    }
    ipcf__objects_reset();
    for (int i = 0; i < NOBJ - 1; i++)
        assert_int_equal(ipcf_faults_register_object(names[i], -1), 0);
    assert_int_equal(ipcf_faults_register_object(names[0], -1), 0); /* refresh #0 */
    assert_int_equal(ipcf_faults_register_object(names[NOBJ - 1], -1), 0);
    assert_int_equal(ipcf_faults_shrink(names[NOBJ - 1]), 1);
    assert_int_equal(ipcf_faults_shrink(names[0]), 1);
    assert_int_equal(ipcf_faults_shrink(names[1]), 0); /* the oldest: replaced */
    assert_int_equal(ipcf_faults_shrink(names[2]), 1);
    ipcf__objects_reset();
    for (int i = 0; i < NOBJ; i++)
        shm_unlink(names[i]);
}

static int ready_pipe[2];
static void *hold_registry(void *arg)
{
    (void)arg;
    ipcf__objects_lock();
    (void)!write(ready_pipe[1], "r", 1);
    usleep(100000);
    ipcf__objects_unlock();
    return NULL;
}

static int child_register(void *arg)
{
    (void)arg;
    int fd = memfd_create("forked", MFD_CLOEXEC);
    int rc = fd < 0 ? 1 : ipcf_faults_register_object("forked", fd) == 0 ? 0 : 2;
    /* Exit through the raw system call: the child inherited TSan's record of
     * the parent's lock-holding thread, which never runs here, and TSan's exit
     * hook would report it as a leaked thread (exit code 66). */
    syscall(SYS_exit_group, rc);
    return rc;
}

/* fork while another thread holds the registry lock: the child can still
 * register (the lock is held across fork by the atfork handlers). */
static void test_fork_while_registry_locked(void **state)
{
    (void)state;
    pthread_t t;
    char c;
    int status;
    assert_int_equal(ipcf_faults_register_object("/x", -1), 0); /* installs atfork */
    assert_int_equal(pipe(ready_pipe), 0);
    assert_int_equal(pthread_create(&t, NULL, hold_registry, NULL), 0);
    assert_int_equal(read(ready_pipe[0], &c, 1), 1);
    pid_t pid = ipcft_fork(child_register, NULL);
    int rc = ipcft_wait(pid, 5000, &status);
    pthread_join(t, NULL);
    close(ready_pipe[0]);
    close(ready_pipe[1]);
    ipcf__objects_reset();
    assert_int_equal(rc, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_short_is_real, teardown),
        cmocka_unit_test_teardown(test_signal_interrupts_blocked_call, teardown),
        cmocka_unit_test_teardown(test_kill_before_after, teardown),
        cmocka_unit_test_teardown(test_shrink_gives_peer_sigbus, teardown),
        cmocka_unit_test_teardown(test_corrupt_deterministic, teardown),
        cmocka_unit_test_teardown(test_delay_and_fake_error, teardown),
        cmocka_unit_test_teardown(test_planted_short_faked_caught, teardown),
        cmocka_unit_test_teardown(test_planted_fake_signal_caught, teardown),
        cmocka_unit_test_teardown(test_corrupt_within_buffer, teardown),
        cmocka_unit_test_teardown(test_short_iovecs, teardown),
        cmocka_unit_test_teardown(test_registry_replaces_oldest, teardown),
        cmocka_unit_test_teardown(test_fork_while_registry_locked, teardown),
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
