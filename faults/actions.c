/* actions.c — what makes the injector's actions real.
 *
 * short=N  : the wrappers lower the count (or trim a copy of the iovec array)
 *            and make the genuine call: a real short transfer.
 * signal=S : a one-shot POSIX timer aimed at the calling thread
 *            (SIGEV_THREAD_ID) fires IPCF__SIGNAL_DELAY_US after the call
 *            starts; if the call is still blocked the kernel interrupts it
 *            (EINTR, or a partial transfer) because the handler has no
 *            SA_RESTART. If the call finished first the timer is deleted and
 *            no signal is sent.
 * kill     : SIGKILL to the own process, before or after the real call.
 * corrupt=N: N distinct bit positions, a pure function of (seed, peer, call
 *            set, index), flipped in the bytes the receive call returned.
 * delay=U  : clock_nanosleep, resumed after signals until U us have passed.
 * Everything here uses raw syscalls or functions the interposer does not wrap,
 * so the injector never counts its own work.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

IPCF_BUG_DEFINE(faults_short_faked, "short=N: return N without the real call (bytes not moved)");

int ipcf__nb_fd(int fd)
{
    long fl = syscall(SYS_fcntl, fd, F_GETFL);
    return fl >= 0 && (fl & O_NONBLOCK);
}

int ipcf__stream_fd(int fd)
{
    int type = 0;
    socklen_t len = sizeof(type);
    if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
        return 1; /* not a socket (ENOTSOCK), or EBADF the real call reports */
    return type == SOCK_STREAM;
}

int ipcf__nb_mq(mqd_t mq)
{
    struct mq_attr a;
    if (syscall(SYS_mq_getsetattr, mq, NULL, &a) != 0)
        return 0;
    return (a.mq_flags & O_NONBLOCK) != 0;
}

int ipcf__nb_sops(const struct sembuf *sops, size_t n)
{
    for (size_t i = 0; sops && i < n; i++)
        if (sops[i].sem_flg & IPC_NOWAIT)
            return 1;
    return 0;
}

int ipcf__short_iov(const struct iovec **iov, int cnt, struct iovec *tmp, long long max)
{
    size_t left = (size_t)max, total = 0;
    int n = 0;
    /* Leave alone what the kernel rejects (EINVAL): an iovcnt above IOV_MAX or
     * lengths whose sum overflows ssize_t. A trimmed copy would succeed. */
    if (cnt <= 0 || cnt > IOV_MAX || !*iov || max <= 0)
        return cnt;
    for (int i = 0; i < cnt; i++) {
        if ((*iov)[i].iov_len > (size_t)SSIZE_MAX - total)
            return cnt;
        total += (*iov)[i].iov_len;
    }
    for (int i = 0; i < cnt && left > 0 && n < IPCF__IOV_MAX; i++) {
        if ((*iov)[i].iov_len == 0)
            continue;
        tmp[n] = (*iov)[i];
        if (tmp[n].iov_len > left)
            tmp[n].iov_len = left;
        left -= tmp[n].iov_len;
        n++;
    }
    if (n == 0)
        return cnt; /* only empty entries: nothing to shorten */
    *iov = tmp;
    return n;
}

struct msghdr *ipcf__short_msg(const struct msghdr *m, struct msghdr *copy, struct iovec *tmp,
                               long long max)
{
    if (!m)
        return NULL; /* the real call reports EFAULT */
    *copy = *m;
    if (m->msg_iovlen > (size_t)INT32_MAX)
        return copy;
    const struct iovec *v = m->msg_iov;
    int n = ipcf__short_iov(&v, (int)m->msg_iovlen, tmp, max);
    copy->msg_iov = (struct iovec *)v;
    copy->msg_iovlen = (size_t)n;
    return copy;
}

void ipcf__msg_back(struct msghdr *orig, const struct msghdr *used)
{
    orig->msg_namelen = used->msg_namelen;
    orig->msg_controllen = used->msg_controllen;
    orig->msg_flags = used->msg_flags;
}

uint64_t ipcf__corrupt_bit(uint64_t key, unsigned k, uint64_t nbits)
{
    return ipcf__mix64(key + 0x9e3779b97f4a7c15ULL * (k + 1)) % nbits;
}

/* The distinct bit positions for a corrupt of `bits` bits over nbits bits. */
static unsigned corrupt_positions(const struct ipcf__ctx *cx, uint64_t nbits, uint64_t *pos)
{
    unsigned want = (unsigned)cx->corrupt_bits, n = 0;
    if (want > 64)
        want = 64; /* pos[] holds 64: a chooser or hand-built rule may ask more */
    if ((uint64_t)want > nbits)
        want = (unsigned)nbits;
    for (unsigned k = 0; n < want; k++) {
        uint64_t b = ipcf__corrupt_bit(cx->corrupt_key, k, nbits);
        int dup = 0;
        for (unsigned j = 0; j < n; j++)
            dup |= pos[j] == b;
        if (!dup)
            pos[n++] = b;
    }
    return n;
}

void ipcf__corrupt_buf(const struct ipcf__ctx *cx, void *buf, size_t ret, size_t cap)
{
    uint64_t pos[64];
    size_t n = ret < cap ? ret : cap;
    if (!buf || n == 0)
        return;
    unsigned k = corrupt_positions(cx, (uint64_t)n * 8, pos);
    for (unsigned i = 0; i < k; i++)
        ((unsigned char *)buf)[pos[i] / 8] ^= (unsigned char)(1u << (pos[i] % 8));
}

void ipcf__corrupt_iov(const struct ipcf__ctx *cx, const struct iovec *iov, size_t cnt, size_t ret)
{
    uint64_t pos[64];
    size_t cap = 0;
    if (!iov)
        return;
    for (size_t j = 0; j < cnt; j++)
        cap += iov[j].iov_len; /* no overflow: the call accepted these */
    size_t n = ret < cap ? ret : cap;
    if (n == 0)
        return;
    unsigned k = corrupt_positions(cx, (uint64_t)n * 8, pos);
    for (unsigned i = 0; i < k; i++) {
        uint64_t byte = pos[i] / 8;
        for (size_t j = 0; j < cnt; j++) {
            if (byte < iov[j].iov_len) {
                ((unsigned char *)iov[j].iov_base)[byte] ^= (unsigned char)(1u << (pos[i] % 8));
                break;
            }
            byte -= iov[j].iov_len;
        }
    }
}

void ipcf__sleep_us(long long usec)
{
    struct timespec t;
    if (usec <= 0)
        return;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += usec / 1000000;
    t.tv_nsec += (usec % 1000000) * 1000;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
        ;
}

void ipcf__kill_self(void)
{
    for (;;) {
        syscall(SYS_kill, syscall(SYS_getpid), SIGKILL);
        pause();
    }
}

static void noop_handler(int sig)
{
    (void)sig;
}

/* Make sure sig interrupts blocked calls: if it has no handler (default or
 * ignored), install the injector's no-op handler WITHOUT SA_RESTART. A
 * program's own handler is left alone (its SA_RESTART choice is honoured). */
static void ensure_handler(int sig)
{
    struct sigaction old, sa;
    if (sigaction(sig, NULL, &old) != 0)
        return;
    /* The crash recorder of `exec` (deaths.c) stands in for the default: a
     * storm signal must interrupt, not be recorded as a crash. */
    if (!(old.sa_flags & SA_SIGINFO) && (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN ||
                                         ipcf__deaths_owns(old.sa_handler))) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = noop_handler;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;
        sigaction(sig, &sa, NULL);
    }
}

int ipcf__signal_arm(int sig, timer_t *timer)
{
    struct sigevent sev;
    struct itimerspec its;
    ensure_handler(sig);
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = sig;
    sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    if (timer_create(CLOCK_MONOTONIC, &sev, timer) != 0)
        return -errno;
    memset(&its, 0, sizeof(its));
    its.it_value.tv_sec = IPCF__SIGNAL_DELAY_US / 1000000;
    its.it_value.tv_nsec = (IPCF__SIGNAL_DELAY_US % 1000000) * 1000L;
    if (timer_settime(*timer, 0, &its, NULL) != 0) {
        int e = errno;
        timer_delete(*timer);
        return -e;
    }
    return 0;
}

void ipcf__signal_disarm(timer_t timer)
{
    timer_delete(timer);
}

void ipcf__signal_now(int sig)
{
    ensure_handler(sig);
    syscall(SYS_tgkill, syscall(SYS_getpid), syscall(SYS_gettid), sig);
}
