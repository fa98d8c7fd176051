/* faults/internal.h — internals shared by the fault injector's files: the call
 * table generated from calls.spec, the scheduler's per-call context used by the
 * generated wrappers, and the helpers that make actions real. */
#ifndef IPCF_FAULTS_INTERNAL_H
#define IPCF_FAULTS_INTERNAL_H

#include <mqueue.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "ipcfuzz/bugs.h"
#include "ipcfuzz/faults.h"
#include "calls_gen.h"

/* Planted bug of the generated wrappers (defined in actions.c): short=N
 * returns N without making the call, so the bytes stay in the channel. */
IPCF_BUG_EXTERN(faults_short_faked);

/* Symbols the interposer defines are exported from the preload library, which
 * is otherwise built with hidden visibility. */
#define IPCF__EXPORT __attribute__((visibility("default")))

/* ---- the call table (calls_table.c, generated) ---------------------------- */

enum {
    IPCF__CF_SHORT = 1 << 0,  /* short=N applies (the call has a byte count) */
    IPCF__CF_RECV = 1 << 1,   /* corrupt=N applies (receive call) */
    IPCF__CF_BLOCK = 1 << 2,  /* the call can block */
    IPCF__CF_NB = 1 << 3,     /* EAGAIN only when the descriptor is non-blocking */
    IPCF__CF_REG = 1 << 4,    /* the call registers shrinkable objects */
    IPCF__CF_PTRRET = 1 << 5, /* returns a pointer: retval=N refused */
};

struct ipcf__call_info {
    const char *name;
    const int *errnos;
    unsigned nerrnos;
    unsigned flags;
};

struct ipcf__errname {
    const char *name;
    int value;
};

struct ipcf__symbol {
    const char *name; /* public libc symbol */
    int call;         /* its call set */
};

extern const struct ipcf__call_info ipcf__calls[IPCF__NCALLS];
extern const struct ipcf__errname ipcf__errnames[];
extern const size_t ipcf__nerrnames;
extern const struct ipcf__symbol ipcf__symbols[];
extern const size_t ipcf__nsymbols;

/* Call id of a call-set name, or -1. */
int ipcf__call_lookup(const char *name, size_t len);
/* 1 if errno value e is listed for call id (any call when call < 0). */
int ipcf__call_errno_ok(int call, int e);
/* Errno name ("EINTR") for a value, or NULL. EAGAIN wins over EWOULDBLOCK. */
const char *ipcf__errno_name(int e);

/* ---- signals (plan.c) ----------------------------------------------------- */

/* The injector's reserved real-time signal: SIGRTMIN + IPCF__SIG_RT_OFFSET. */
#define IPCF__SIG_RT_OFFSET 5
int ipcf__signal_default(void);
/* Canonical text of a signal number into buf ("SIGUSR1", "RTMIN+5"). */
void ipcf__signal_format(int sig, char *buf, size_t cap);

/* ---- the scheduler's context for one intercepted call (sched.c) ----------- */

enum { IPCF__PASS = 0, IPCF__ACT = 1, IPCF__NEED_NB = 2 };

#define IPCF__IOV_MAX 64 /* iovec entries kept by a shortened iovec copy */

struct ipcf__ctx {
    int call;       /* IPCF__CALL_* */
    uint64_t index; /* 1-based index of this call in its call set */
    int rule;       /* rule that fired, -1 for the chooser */
    struct ipcf_action act[IPCF_RULE_ACTIONS];
    unsigned nact;
    int fake;             /* 1: do not make the call; return fake result */
    int fake_errno;       /* error=: errno to set (fake result -1) */
    long long fake_ret;   /* retval=: value to return */
    long long short_max;  /* -1: no short */
    int corrupt_bits;     /* 0: no corrupt */
    int sig;              /* 0: no signal */
    int kill_after;       /* 1: SIGKILL self after the call */
    uint64_t corrupt_key; /* seeds the bit positions of corrupt= */
    timer_t timer;        /* armed signal timer */
    int armed;
};

/* Decide for call `call`. Returns IPCF__PASS (make the plain call; nothing
 * else to do; errno untouched), IPCF__ACT (follow cx), or IPCF__NEED_NB (the
 * decision has an injected EAGAIN or a short=: the wrapper must call
 * ipcf__commit with whether the call is non-blocking and whether its
 * descriptor is a byte stream). Pre-call actions (delay, shrink, kill=before)
 * have run when it returns IPCF__ACT. Lock-free unless a rule can match the
 * call set, a chooser is set or the trace is on. */
int ipcf__begin(struct ipcf__ctx *cx, int call);
/* Second half of ipcf__begin for IPCF__NEED_NB: nonblocking == 0 drops an
 * error=EAGAIN (a blocking call never returns EAGAIN), stream == 0 drops a
 * short= (the kernel never shortens a datagram); both are traced as notes.
 * Returns IPCF__PASS or IPCF__ACT like ipcf__begin. */
int ipcf__commit(struct ipcf__ctx *cx, int nonblocking, int stream);
/* Install the injector's pthread_atfork handlers (once). */
void ipcf__atfork_once(void);
/* Crash-signal handlers that record deaths to $IPCF_DEATHS (deaths.c). */
void ipcf__deaths_install(void);
/* 1 when h is that recorder (a signal= storm replaces it like SIG_DFL). */
int ipcf__deaths_owns(void (*h)(int));
/* Arm / disarm the signal of signal=SIG around the real call. */
void ipcf__arm(struct ipcf__ctx *cx);
void ipcf__disarm(struct ipcf__ctx *cx);
/* After the call: kill=after. */
void ipcf__end(struct ipcf__ctx *cx);
/* 1 when object registration may run (not inside the injector itself). */
int ipcf__reg_ok(void);

/* The real function of a public symbol name: resolved once with
 * dlsym(RTLD_NEXT) (in sanitizer builds the sanitizer's interceptor first) and
 * cached in *slot. errno is preserved. */
void *ipcf__real_sym(const char *sym, void **slot);
/* The real function of each call's wrapper, once resolved (sched.c). */
extern void *ipcf__real_fn[IPCF__NCALLS];
/* The real function of a call id; the cached case is inline (every wrapper's
 * first step). ipcf_faults_resolve_all() fills every slot at once. */
static inline void *ipcf__real(int call)
{
    void *f = __atomic_load_n(&ipcf__real_fn[call], __ATOMIC_ACQUIRE);
    return f ? f : ipcf__real_sym(ipcf__calls[call].name, &ipcf__real_fn[call]);
}

/* ---- the lock-free pass-through test (sched.c owns the variables) --------- */

#define IPCF__STATE_ACTIVE (1ULL << 63)
/* IPCF__STATE_ACTIVE | bit c set when call set c needs the slow path. */
extern uint64_t ipcf__state;
/* Calls per call set in this process. */
extern uint64_t ipcf__set_count[IPCF__NCALLS];
/* Set while the injector itself runs on this thread (reentrancy guard). */
extern __thread int ipcf__guard __attribute__((tls_model("initial-exec")));

/* 1 when call `call` passes straight through (counted if the injector is
 * active): the injector is off, this thread is inside the injector, or no
 * rule, chooser or trace can concern the call set. No lock, no errno change.
 * 0: the wrapper must take its slow path (ipcf__begin). */
static inline int ipcf__fast(int call)
{
    uint64_t st = __atomic_load_n(&ipcf__state, __ATOMIC_RELAXED);
    if (!(st & IPCF__STATE_ACTIVE) || ipcf__guard)
        return 1;
    if (st & (1ULL << call))
        return 0;
    __atomic_fetch_add(&ipcf__set_count[call], 1, __ATOMIC_RELAXED);
    return 1;
}

/* ---- helpers for real actions (actions.c) --------------------------------- */

int ipcf__nb_fd(int fd);
/* 1 unless fd is a socket of a type other than SOCK_STREAM (a pipe, FIFO,
 * file or stream socket transfers any part of its bytes). */
int ipcf__stream_fd(int fd);
int ipcf__nb_mq(mqd_t mq);
int ipcf__nb_sops(const struct sembuf *sops, size_t n);
int ipcf__short_iov(const struct iovec **iov, int cnt, struct iovec *tmp, long long max);
struct msghdr *ipcf__short_msg(const struct msghdr *m, struct msghdr *copy, struct iovec *tmp,
                               long long max);
void ipcf__msg_back(struct msghdr *orig, const struct msghdr *used);
/* corrupt=: flip cx->corrupt_bits distinct bits among the first
 * min(ret, cap) bytes of buf — `ret` is what the call returned, `cap` the size
 * the caller gave (a datagram read with MSG_TRUNC returns its full length,
 * larger than the buffer: nothing past the caller's buffer is touched). */
void ipcf__corrupt_buf(const struct ipcf__ctx *cx, void *buf, size_t ret, size_t cap);
/* The same over an iovec array: capped at the sum of its lengths. */
void ipcf__corrupt_iov(const struct ipcf__ctx *cx, const struct iovec *iov, size_t cnt, size_t ret);
/* Bit positions of corrupt=: the k-th flipped bit of a call with key `key`
 * among nbits bits. Pure. */
uint64_t ipcf__corrupt_bit(uint64_t key, unsigned k, uint64_t nbits);
void ipcf__sleep_us(long long usec);
void ipcf__kill_self(void);
/* Arm a one-shot timer that sends sig to the calling thread after
 * IPCF__SIGNAL_DELAY_US, installing the injector's no-op handler (no
 * SA_RESTART) when sig has no handler. 0 or -errno. */
#define IPCF__SIGNAL_DELAY_US IPCF_FAULTS_SIGNAL_DELAY_US
int ipcf__signal_arm(int sig, timer_t *timer);
void ipcf__signal_disarm(timer_t timer);
/* Deliver sig to the calling thread now (points). */
void ipcf__signal_now(int sig);

/* ---- shrinkable objects (objects.c) --------------------------------------- */

enum { IPCF__OBJ_SHM = 1, IPCF__OBJ_MEMFD, IPCF__OBJ_FILE };
void ipcf__register_fd(int kind, const char *name, int fd);
void ipcf__register_mmap(int fd, int flags);
/* Truncate every registered object matching glob to 0 bytes; returns the count. */
int ipcf__shrink(const char *glob);
/* Forget every object (tests). */
void ipcf__objects_reset(void);
/* The registry lock, for the atfork handlers. */
void ipcf__objects_lock(void);
void ipcf__objects_unlock(void);

/* "key=value" text of one action (plan.c); "pass" for IPCF_ACT_NONE. */
void ipcf__action_format(const struct ipcf_action *a, char *buf, size_t cap);

/* ---- mixing (sched.c) ----------------------------------------------------- */

uint64_t ipcf__mix64(uint64_t x);
uint64_t ipcf__hash_str(const char *s);

/* Direct write(2) bypassing every wrapper (trace, diagnostics). */
void ipcf__write_all(int fd, const char *buf, size_t n);

#endif
