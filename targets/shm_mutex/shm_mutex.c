/* shm_mutex.c — MPMC queue under a robust process-shared mutex (see
 * ipcfuzz/shm_queue.h).
 *
 * Layout (offsets; static_asserted):
 *   0    geometry (40 B, written once by format, read once at attach)
 *   64   pthread_mutex_t   (PROCESS_SHARED | ROBUST)
 *   128  uint32_t change   (futex word: the change counter, see WAITING)
 *   256  state  {head, tail, repairs, pushes, pops, unrecoverable}
 *   320  undo   {op, old_head, old_tail}                 (under the mutex)
 *   384  slots  capacity x slot_size: {len, sum, pos, payload}
 * Element at position p lives in slot p % capacity; its checksum is keyed by p.
 *
 * THE UNDO RECORD AND REPAIR
 *
 * Every store of a critical section is a release store (or a memcpy followed
 * by one), so whatever prefix of the section a SIGKILL leaves behind is what
 * the next locker sees, in program order: a kill can cut the sequence of
 * stores, never reorder it. (The next locker acquires the mutex, which
 * synchronises with everything the dead owner stored; the kernel hands over
 * the robust futex after the owner is dead, so its stores are complete.)
 *
 *   push:  locked -> undo.old_head, undo.old_tail = head, tail  (saved)
 *          -> undo.op = PUSH (logged: the record now counts)
 *          -> payload, then slot header of position tail (payload, written)
 *          -> tail = tail + 1 (published) -> undo.op = NONE (committed)
 *   pop:   locked -> saved -> undo.op = POP (logged)
 *          -> copy + verify element into private memory (no store)
 *          -> head = head + 1 (published) -> undo.op = NONE (committed)
 *
 * What each step guarantees to a repairer:
 *  - op == NONE: either no operation was in progress or it committed; the
 *    state (head, tail, slots in [head, tail)) is exactly the last committed
 *    one, because nothing visible changes before op is set (saved values and
 *    the free slot written by a push are outside [head, tail)).
 *  - op == PUSH/POP: old_head/old_tail were stored BEFORE op, so they are the
 *    pre-operation state. A push only ever wrote the free slot at old_tail
 *    (outside the committed range) and possibly tail = old_tail + 1; a pop only
 *    possibly wrote head = old_head + 1. Restoring head = old_head and
 *    tail = old_tail therefore yields exactly the pre-operation queue:
 *    the in-flight element is fully out (push) or fully in (pop).
 *  - The repair checks the record against the state before trusting it
 *    (a push leaves head == old_head and tail in {old_tail, old_tail + 1},
 *    with room for one more; a pop leaves tail == old_tail and head in
 *    {old_head, old_head + 1}, with at least one element), then restores,
 *    validates the whole queue, and only then clears op.
 *  - Idempotence: the repair assigns absolute values taken from the record
 *    (never increments) and clears the record last. A repairer killed
 *    mid-repair leaves the record intact and a state that still matches it
 *    (head/tail are either old or restored), so the next locker — who gets
 *    EOWNERDEAD again, since the repairer owned the mutex — repeats the same
 *    assignments with the same result. Killed after clearing op but before
 *    pthread_mutex_consistent: the next repairer finds op == NONE, validates
 *    and marks consistent.
 *  - If the record is inconsistent or the restored queue does not validate
 *    (a hostile writer, memory corruption), the repairer refuses: it sets
 *    st.unrecoverable, bumps the change counter, unlocks WITHOUT
 *    pthread_mutex_consistent (glibc marks the mutex unrecoverable) and wakes
 *    every waiter. Every later call returns -ENOTRECOVERABLE at once — an
 *    explicit, permanent error instead of silently serving a broken queue.
 *    A locker that meets ENOTRECOVERABLE from glibc without the flag set (the
 *    mutex_no_consistent bug, or any foreign code that forgot
 *    pthread_mutex_consistent) sets the flag and wakes everyone the same way.
 *
 * WAITING: NO CONDITION VARIABLE, A FUTEX CHANGE COUNTER
 *
 * Why not pthread_cond_timedwait (measured on glibc 2.36, see README): its
 * timeout bounds only the sleep; re-acquiring the mutex afterwards is an
 * UNTIMED lock. A 200 ms timed wait returned after 3 s while a live process
 * held the mutex for 3 s, and it never returned while the mutex word was
 * left held (glibc's pthread_mutex_trylock on an unrecoverable robust mutex
 * returns ENOTRECOVERABLE but leaves the word holding the caller's tid, on no
 * robust list, so not even that caller's death frees it). glibc condvars are
 * not robust either (a process killed inside pthread_cond_* can wedge them).
 * So waiters never enter glibc's condvar, and the mutex is only ever taken
 * with a deadline.
 *
 * The design: `change` is a 32-bit counter in the segment. Every operation
 * that can make a waiter's predicate true — a committed push or pop, a repair,
 * entering the unrecoverable state — adds 1 to it with a release RMW while it
 * still holds the mutex, and after unlocking issues FUTEX_WAKE(all) on it
 * (a refuser stores st.unrecoverable before its unlock and increments right
 * after it: still after any waiter's read of the counter). A waiter (push on a full queue, pop on
 * an empty one), holding the mutex with its predicate false:
 *   1. reads v = change (under the mutex), unlocks;
 *   2. FUTEX_WAIT(&change, v, min(time left, SLICE_MS)) — the kernel sleeps
 *      only if change still equals v, checked atomically against FUTEX_WAKE
 *      on the same word (both run under the futex hash-bucket lock);
 *   3. whatever the outcome (woken, EAGAIN = value already moved, EINTR,
 *      slice or deadline elapsed), re-takes the mutex with a lock bounded by
 *      its deadline and re-checks its predicate, the unrecoverable flag and
 *      the deadline.
 * No lost wake-up: an operation that makes the predicate true must take the
 * mutex after the waiter released it in step 1 (under the mutex the waiter saw
 * the predicate false), so its increment comes after the waiter's read of v.
 * Either the increment precedes the kernel's check in step 2 (EAGAIN: no
 * sleep) or the waiter is already queued on the futex when the waker's
 * FUTEX_WAKE (issued after its increment) runs. Memory ordering: the counter
 * carries no data — the waiter reads the queue only after re-acquiring the
 * mutex, which orders it after the waker's critical section; the release on
 * the increment only makes the flag store of a refuser (st.unrecoverable,
 * stored before the increment) visible to a waiter that saw the new value.
 * A 32-bit wrap would need exactly 2^32 operations between steps 1 and 2;
 * even then the wait is bounded by the slice.
 *
 * Owner death cannot strand a waiter: (1) a dead owner never increments or
 * wakes, but the slice (SLICE_MS) ends every sleep and the waiter re-locks:
 * the robust mutex hands it EOWNERDEAD and it repairs like any locker, then
 * sees the committed element of a push whose owner died after its commit but
 * before its wake; (2) a waker killed between its unlock and its FUTEX_WAKE
 * is the same case; (3) a waiter killed while sleeping holds nothing (no
 * waiter count, no condvar state); (4) a live owner that keeps the mutex
 * (stopped, looping) costs the waiter at most its deadline: the re-lock is
 * bounded, and the call returns -IPCF_ETIMEDOUT; (5) the unrecoverable state
 * wakes everyone (flag + increment + wake), and each wait step checks the
 * flag, so a waiter returns -ENOTRECOVERABLE at once.
 *
 * Taking the mutex (lock_queue): the shared flag first, then
 * pthread_mutex_clocklock(CLOCK_MONOTONIC, deadline) — it returns EOWNERDEAD
 * for a dead owner, ENOTRECOVERABLE for an unrecoverable mutex (leaving the
 * word free, unlike trylock), ETIMEDOUT at the deadline; an uncontended
 * mutex is taken even when the deadline has passed (timeout 0 = try once).
 * pthread_mutex_trylock is never used outside TSan builds (the glibc bug
 * above). Under TSan see lock_queue for the polling workaround it still needs
 * and why the flag keeps it correct despite that bug.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ipcfuzz/io.h"
#include "ipcfuzz/bugs.h"
#include "ipcfuzz/names.h"
#include "ipcfuzz/shm_queue.h"
#include "ipcfuzz/step.h"
#include "shm_common.h"

IPCF_BUG_DEFINE(mutex_no_repair, "shm queue treats EOWNERDEAD as success without repairing");
IPCF_BUG_DEFINE(mutex_no_consistent, "shm queue repairs after EOWNERDEAD but never calls "
                                     "pthread_mutex_consistent");
IPCF_BUG_DEFINE(mutex_no_unlink, "shm queue close leaves the POSIX shm name behind");
IPCF_BUG_DEFINE(mutex_unbounded_wait, "shm queue waiters sleep with no timeout and the "
                                      "unrecoverable path wakes nobody");

/* Built with ThreadSanitizer (gcc defines __SANITIZE_THREAD__, clang has the feature). */
#if defined(__SANITIZE_THREAD__)
#define QUEUE_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define QUEUE_UNDER_TSAN 1
#endif
#endif
#ifndef QUEUE_UNDER_TSAN
#define QUEUE_UNDER_TSAN 0
#endif

#define Q_MAGIC   0x31554D5146435049ull /* "IPCFQMU1" */
#define Q_VERSION 2u                    /* 2: futex change counter replaced the condvars */
#define ELEM_HDR  16u
#define SLICE_MS  50

struct q_geom {
    uint64_t magic;
    uint32_t version;
    uint32_t hdr_size;
    uint64_t layout_size;
    uint32_t capacity;
    uint32_t elem_max;
    uint32_t slot_size;
    uint32_t reserved;
};

struct q_shared {
    struct q_geom g;
    uint8_t pad0[64 - sizeof(struct q_geom)];
    alignas(64) pthread_mutex_t mutex;
    alignas(64) uint32_t change; /* futex word: bumped by every change (WAITING) */
    uint8_t pad1[128 - sizeof(uint32_t)];
    alignas(64) struct ipcf_shm_queue_state st;
    alignas(64) struct ipcf_shm_queue_undo undo;
    alignas(64) uint8_t slots[];
};

struct q_elem {
    uint32_t len;
    uint32_t sum;
    uint64_t pos;
};

_Static_assert(sizeof(struct q_geom) == 40, "geometry size");
_Static_assert(sizeof(pthread_mutex_t) <= 64, "mutex size");
_Static_assert(offsetof(struct q_shared, mutex) == 64, "mutex offset");
_Static_assert(offsetof(struct q_shared, change) == 128, "change counter offset");
_Static_assert(offsetof(struct q_shared, st) == IPCF_QUEUE_OFF_STATE, "state offset");
_Static_assert(offsetof(struct q_shared, undo) == IPCF_QUEUE_OFF_UNDO, "undo offset");
_Static_assert(offsetof(struct q_shared, slots) == IPCF_QUEUE_OFF_SLOTS, "slots offset");
_Static_assert(sizeof(struct ipcf_shm_queue_undo) == 24, "undo size");
_Static_assert(sizeof(struct q_elem) == ELEM_HDR, "element header size");

struct ipcf_shm_queue {
    struct q_shared *s;
    size_t size;
    int fd;
    pid_t creator;
    char name[IPCF_NAME_MAX];
    uint32_t capacity, elem_max, slot_size;
    int wake; /* a change was counted under the mutex: FUTEX_WAKE after unlocking
                 (only touched with the mutex held) */
};

/* Release store / acquire load of a 64- or 32-bit shared field. */
#define STORE(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELEASE)
#define LOAD(field)     __atomic_load_n(&(field), __ATOMIC_ACQUIRE)

static uint32_t slot_bytes(uint32_t elem_max)
{
    return (ELEM_HDR + elem_max + 7u) & ~7u;
}

size_t ipcf_shm_queue_layout_size(uint32_t capacity, uint32_t elem_max)
{
    if (capacity == 0 || capacity > IPCF_QUEUE_MAX_CAPACITY)
        return 0;
    if (elem_max == 0 || elem_max > IPCF_QUEUE_MAX_ELEM)
        return 0;
    return IPCF_QUEUE_OFF_SLOTS + (size_t)capacity * slot_bytes(elem_max);
}

int ipcf_shm_queue_format(void *base, size_t size, uint32_t capacity, uint32_t elem_max)
{
    size_t need = ipcf_shm_queue_layout_size(capacity, elem_max);
    if (!need)
        return -EINVAL;
    if (size < need)
        return -ENOSPC;
    memset(base, 0, IPCF_QUEUE_OFF_SLOTS);
    struct q_shared *s = base;
    s->g = (struct q_geom){.magic = Q_MAGIC,
                           .version = Q_VERSION,
                           .hdr_size = IPCF_QUEUE_OFF_SLOTS,
                           .layout_size = need,
                           .capacity = capacity,
                           .elem_max = elem_max,
                           .slot_size = slot_bytes(elem_max)};
    return 0;
}

static int check_geom(const struct q_geom *g, size_t size)
{
    if (g->magic != Q_MAGIC || g->version != Q_VERSION || g->hdr_size != IPCF_QUEUE_OFF_SLOTS)
        return -IPCF_ECORRUPT;
    size_t need = ipcf_shm_queue_layout_size(g->capacity, g->elem_max);
    if (!need || g->slot_size != slot_bytes(g->elem_max) || g->layout_size != need)
        return -IPCF_ECORRUPT;
    if (need > size)
        return -IPCF_ESHRUNK;
    return 0;
}

static unsigned char *slot_at(const struct q_shared *s, const struct q_geom *g, uint64_t pos)
{
    return (unsigned char *)s->slots + (size_t)(pos % g->capacity) * g->slot_size;
}

/* Check head/tail and every element in [head, tail) of an image whose
 * geometry g (a private copy) already passed check_geom. */
static int validate_elements(const struct q_shared *s, const struct q_geom *g)
{
    uint64_t head = LOAD(s->st.head), tail = LOAD(s->st.tail);
    if (head > tail || tail - head > g->capacity)
        return -IPCF_ECORRUPT;
    for (uint64_t pos = head; pos != tail; pos++) {
        const unsigned char *slot = slot_at(s, g, pos);
        struct q_elem e;
        memcpy(&e, slot, sizeof(e));
        if (e.len == 0 || e.len > g->elem_max || e.pos != pos)
            return -IPCF_ECORRUPT;
        if (ipcf__shm_sum(slot + ELEM_HDR, e.len, pos) != e.sum)
            return -IPCF_ECORRUPT;
    }
    return 0;
}

int ipcf_shm_queue_validate_mem(const void *base, size_t size)
{
    struct q_geom g;
    if (!base || size < IPCF_QUEUE_OFF_SLOTS)
        return -IPCF_ESHRUNK;
    const struct q_shared *s = base;
    memcpy(&g, &s->g, sizeof(g));
    IPCF_TRY(check_geom(&g, size));
    if (LOAD(s->undo.op) != IPCF_QUEUE_OP_NONE)
        return -IPCF_ECORRUPT; /* an operation is in flight: not quiescent */
    return validate_elements(s, &g);
}

int ipcf_shm_queue_repair_mem(void *base, size_t size)
{
    struct q_geom g;
    if (!base || size < IPCF_QUEUE_OFF_SLOTS)
        return -IPCF_ESHRUNK;
    struct q_shared *s = base;
    memcpy(&g, &s->g, sizeof(g));
    IPCF_TRY(check_geom(&g, size));
    /* Fetch the record and state once; decide on the private copies. */
    uint32_t op = LOAD(s->undo.op);
    uint64_t oh = LOAD(s->undo.old_head), ot = LOAD(s->undo.old_tail);
    uint64_t h = LOAD(s->st.head), t = LOAD(s->st.tail);
    switch (op) {
    case IPCF_QUEUE_OP_NONE:
        break;
    case IPCF_QUEUE_OP_PUSH:
        if (oh > ot || ot - oh >= g.capacity || h != oh || (t != ot && t != ot + 1))
            return -IPCF_ECORRUPT;
        STORE(s->st.tail, ot); /* absolute values: repeating this is harmless */
        IPCF_STEP("shm_mutex.repair.restored");
        break;
    case IPCF_QUEUE_OP_POP:
        if (oh >= ot || ot - oh > g.capacity || t != ot || (h != oh && h != oh + 1))
            return -IPCF_ECORRUPT;
        STORE(s->st.head, oh);
        IPCF_STEP("shm_mutex.repair.restored");
        break;
    default:
        return -IPCF_ECORRUPT;
    }
    IPCF_TRY(validate_elements(s, &g));
    STORE(s->undo.op, (uint32_t)IPCF_QUEUE_OP_NONE); /* last: the repair's commit */
    IPCF_STEP("shm_mutex.repair.cleared");
    return 0;
}

/* ---- segment lifecycle -------------------------------------------------- */

/* Initialise the robust process-shared mutex of a fresh image (the change
 * counter is already 0). 0 or -errno. */
static int init_sync(struct q_shared *s)
{
    pthread_mutexattr_t ma;
    int rc;
    if ((rc = pthread_mutexattr_init(&ma)))
        return -rc;
    rc = pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    if (!rc)
        rc = pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    if (!rc)
        rc = pthread_mutex_init(&s->mutex, &ma);
    pthread_mutexattr_destroy(&ma);
    return -rc;
}

static int map_queue(int fd, struct ipcf_shm_queue *q)
{
    struct stat st;
    struct q_geom g;
    if (fstat(fd, &st) < 0)
        return -errno;
    if ((size_t)st.st_size < IPCF_QUEUE_OFF_SLOTS)
        return -IPCF_ESHRUNK;
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    memcpy(&g, p, sizeof(g)); /* read once: later rewrites are never looked at */
    int rc = check_geom(&g, (size_t)st.st_size);
    if (rc < 0) {
        munmap(p, (size_t)st.st_size);
        return rc;
    }
    q->s = p;
    q->size = (size_t)st.st_size;
    q->capacity = g.capacity;
    q->elem_max = g.elem_max;
    q->slot_size = g.slot_size;
    return 0;
}

int ipcf_shm_queue_create(const char *tag, uint32_t capacity, uint32_t elem_max,
                          struct ipcf_shm_queue **out)
{
    int rc;
    void *p = MAP_FAILED;
    size_t need = ipcf_shm_queue_layout_size(capacity, elem_max);
    *out = NULL;
    if (!need)
        return -EINVAL;
    struct ipcf_shm_queue *q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    q->fd = -1;
    if (tag) {
        rc = ipcf_name_posix(q->name, sizeof(q->name), tag);
        if (rc < 0)
            goto fail;
        q->fd = shm_open(q->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (q->fd < 0) {
            rc = -errno;
            q->name[0] = '\0';
            goto fail;
        }
        q->creator = getpid();
    } else {
        q->fd = memfd_create("ipcf.queue", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (q->fd < 0) {
            rc = -errno;
            goto fail;
        }
    }
    if (ftruncate(q->fd, (off_t)need) < 0) {
        rc = -errno;
        goto fail;
    }
    p = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_SHARED, q->fd, 0);
    if (p == MAP_FAILED) {
        rc = -errno;
        goto fail;
    }
    rc = ipcf_shm_queue_format(p, need, capacity, elem_max);
    if (!rc)
        rc = init_sync(p);
    munmap(p, need);
    if (rc < 0)
        goto fail;
    if (!tag && fcntl(q->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
        rc = -errno;
        goto fail;
    }
    rc = map_queue(q->fd, q);
    if (rc < 0)
        goto fail;
    *out = q;
    return 0;
fail:
    ipcf_shm_queue_close(q);
    return rc;
}

int ipcf_shm_queue_attach(int fd, struct ipcf_shm_queue **out)
{
    *out = NULL;
    struct ipcf_shm_queue *q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    q->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (q->fd < 0) {
        int rc = -errno;
        free(q);
        return rc;
    }
    int rc = map_queue(q->fd, q);
    if (rc < 0) {
        ipcf_shm_queue_close(q);
        return rc;
    }
    *out = q;
    return 0;
}

int ipcf_shm_queue_open(const char *name, struct ipcf_shm_queue **out)
{
    *out = NULL;
    int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = ipcf_shm_queue_attach(fd, out);
    close(fd);
    return rc;
}

void ipcf_shm_queue_close(struct ipcf_shm_queue *q)
{
    if (!q)
        return;
    if (q->s)
        munmap(q->s, q->size);
    if (q->fd >= 0)
        close(q->fd);
    if (q->name[0] && q->creator == getpid() && !IPCF_BUG(mutex_no_unlink))
        shm_unlink(q->name);
    free(q);
}

int ipcf_shm_queue_fd(const struct ipcf_shm_queue *q)
{
    return q->fd;
}

const char *ipcf_shm_queue_name(const struct ipcf_shm_queue *q)
{
    return q->name;
}

void *ipcf_shm_queue_mem(const struct ipcf_shm_queue *q, size_t *size)
{
    if (size)
        *size = q->size;
    return q->s;
}

/* ---- time, futex ---------------------------------------------------------- */

/* Absolute deadline timeout_ms from now (negative counts as 0). */
static int64_t deadline_in(int timeout_ms)
{
    return ipcf_clock_ms() + (timeout_ms > 0 ? timeout_ms : 0);
}

static struct timespec ms_to_ts(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    return ts;
}

/* FUTEX_WAIT on a word of a MAP_SHARED mapping (hence not FUTEX_PRIVATE):
 * sleep while *word == expect, at most ms milliseconds (ms < 0: no limit —
 * only the planted bug mutex_unbounded_wait does that). Returns 0 (woken),
 * -EAGAIN (the word had already changed), -EINTR or -ETIMEDOUT: every one of
 * them means "re-check", so callers do not distinguish them. */
static int futex_wait_ms(uint32_t *word, uint32_t expect, int64_t ms)
{
    struct timespec rel = ms_to_ts(ms >= 0 ? ms : 0);
    long rc = syscall(SYS_futex, word, FUTEX_WAIT, expect, ms >= 0 ? &rel : NULL, NULL, 0);
    return rc < 0 ? -errno : 0;
}

static void futex_wake_all(uint32_t *word)
{
    (void)syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* ---- locking and repair -------------------------------------------------- */

/* Count a change (mutex held): waiters see it after our unlock. */
static void note_change(struct ipcf_shm_queue *q)
{
    __atomic_add_fetch(&q->s->change, 1, __ATOMIC_RELEASE);
    q->wake = 1;
}

/* Release the mutex, then wake the waiters if a change was counted. */
static void unlock_queue(struct ipcf_shm_queue *q)
{
    int wake = q->wake;
    q->wake = 0;
    pthread_mutex_unlock(&q->s->mutex);
    if (wake)
        futex_wake_all(&q->s->change);
}

/* Enter (or confirm) the unrecoverable state, with or without the mutex:
 * flag first, then the counter (release: a waiter that sees the new count
 * sees the flag), then wake everyone. Returns -ENOTRECOVERABLE. The planted
 * bug mutex_unbounded_wait skips the count and the wake-up. */
static int mark_unrecoverable(struct ipcf_shm_queue *q)
{
    STORE(q->s->st.unrecoverable, 1);
    if (IPCF_BUG(mutex_unbounded_wait))
        return -ENOTRECOVERABLE;
    __atomic_add_fetch(&q->s->change, 1, __ATOMIC_RELEASE);
    futex_wake_all(&q->s->change);
    return -ENOTRECOVERABLE;
}

/* Called with the mutex held after EOWNERDEAD. 0: repaired and consistent
 * (the mutex is still held, a change is counted). -ENOTRECOVERABLE: refused;
 * the mutex was unlocked without being made consistent (it is now
 * unrecoverable) and every waiter was woken. */
static int recover(struct ipcf_shm_queue *q)
{
    struct q_shared *s = q->s;
    if (IPCF_BUG(mutex_no_repair)) {
        pthread_mutex_consistent(&s->mutex);
        return 0;
    }
    IPCF_STEP("shm_mutex.repair.begin");
    int rc = ipcf_shm_queue_repair_mem(s, q->size);
    if (rc == 0)
        rc = ipcf_shm_queue_validate_mem(s, q->size);
    if (rc < 0) {
        STORE(s->st.unrecoverable, 1); /* before the unlock: no locker slips in */
        q->wake = 0;
        pthread_mutex_unlock(&s->mutex); /* without consistent: ENOTRECOVERABLE */
        return mark_unrecoverable(q);
    }
    STORE(s->st.repairs, LOAD(s->st.repairs) + 1);
    IPCF_STEP("shm_mutex.repair.validated");
    if (!IPCF_BUG(mutex_no_consistent))
        pthread_mutex_consistent(&s->mutex);
    /* the state may have changed under sleeping waiters: let them re-check */
    note_change(q);
    return 0;
}

/* Map a pthread lock result to ours, repairing on EOWNERDEAD. 0 = held. */
static int after_acquire(struct ipcf_shm_queue *q, int rc)
{
    if (rc == 0)
        return 0;
    if (rc == EOWNERDEAD)
        return recover(q);
    if (rc == ETIMEDOUT)
        return -IPCF_ETIMEDOUT;
    if (rc == ENOTRECOVERABLE) /* made so by someone who did not say so */
        return mark_unrecoverable(q);
    return -rc; /* EINVAL...: mutex not held */
}

/* Take the mutex by the monotonic deadline (ms, ipcf_clock_ms() clock). 0 = held
 * (repaired first if its owner had died); -IPCF_ETIMEDOUT (a live owner kept
 * it); -ENOTRECOVERABLE (at once: the shared flag, or glibc's verdict, which
 * then sets the flag). Never blocks past the deadline; a deadline already
 * passed still takes a free mutex (try once). */
static int lock_queue(struct ipcf_shm_queue *q, int64_t deadline)
{
    /* Our own flag first: immediate and identical in every build. */
    if (LOAD(q->s->st.unrecoverable))
        return -ENOTRECOVERABLE;
    int rc;
#if QUEUE_UNDER_TSAN
    /* Still needed: TSan (clang 14) intercepts neither
     * pthread_mutex_clocklock nor an EOWNERDEAD return of
     * pthread_mutex_timedlock as an acquisition (every later unlock would be
     * reported as "unlock of an unlocked mutex"); its trylock interceptor does
     * count EOWNERDEAD. So under TSan: poll with trylock every 200 us to the
     * same deadline. glibc's trylock leaves an unrecoverable mutex's word
     * held (see WAITING), so every later trylock says EBUSY: the flag, which
     * the caller that got ENOTRECOVERABLE sets at once (after_acquire), is
     * re-checked on every round and ends the poll. (If that caller is killed
     * before setting it, pollers time out: bounded, -IPCF_ETIMEDOUT.) */
    for (;;) {
        rc = pthread_mutex_trylock(&q->s->mutex);
        if (rc != EBUSY)
            break;
        if (LOAD(q->s->st.unrecoverable))
            return -ENOTRECOVERABLE;
        if (ipcf_clock_ms() >= deadline) {
            rc = ETIMEDOUT;
            break;
        }
        struct timespec nap = {0, 200000};
        nanosleep(&nap, NULL);
    }
#else
    struct timespec dl = ms_to_ts(deadline);
    rc = pthread_mutex_clocklock(&q->s->mutex, CLOCK_MONOTONIC, &dl);
#endif
    return after_acquire(q, rc);
}

/* Wait (mutex held, predicate false) for a change: see WAITING at the top.
 * Returns 0 with the mutex held again (the caller re-checks its predicate),
 * or an error with the mutex released: -IPCF_ETIMEDOUT at the deadline,
 * -ENOTRECOVERABLE. */
static int wait_change(struct ipcf_shm_queue *q, int64_t deadline)
{
    struct q_shared *s = q->s;
    uint32_t seen = __atomic_load_n(&s->change, __ATOMIC_ACQUIRE); /* under the mutex */
    unlock_queue(q);
    int64_t left = deadline - ipcf_clock_ms();
    if (left <= 0)
        return -IPCF_ETIMEDOUT;
    if (IPCF_BUG(mutex_unbounded_wait)) {
        (void)futex_wait_ms(&s->change, seen, -1); /* trusts a wake-up to come */
    } else {
        if (LOAD(s->st.unrecoverable))
            return -ENOTRECOVERABLE;
        (void)futex_wait_ms(&s->change, seen, left < SLICE_MS ? left : SLICE_MS);
    }
    return lock_queue(q, deadline);
}

/* Wait (mutex held) until pred(q) or the deadline. 0 with the mutex held and
 * pred true; else an error with the mutex released. */
static int wait_until(struct ipcf_shm_queue *q, int (*pred)(const struct ipcf_shm_queue *),
                      int64_t deadline)
{
    while (!pred(q)) {
        if (ipcf_clock_ms() >= deadline) {
            unlock_queue(q);
            return -IPCF_ETIMEDOUT;
        }
        IPCF_TRY(wait_change(q, deadline));
    }
    return 0;
}

static int not_full(const struct ipcf_shm_queue *q)
{
    return LOAD(q->s->st.tail) - LOAD(q->s->st.head) < q->capacity;
}

static int not_empty(const struct ipcf_shm_queue *q)
{
    return LOAD(q->s->st.tail) != LOAD(q->s->st.head);
}

int ipcf_shm_queue_push(struct ipcf_shm_queue *q, const void *p, size_t len, int timeout_ms)
{
    struct q_shared *s = q->s;
    struct q_geom g = {.capacity = q->capacity, .slot_size = q->slot_size};
    if (len == 0 || len > q->elem_max)
        return -EMSGSIZE;
    int64_t dl = deadline_in(timeout_ms);
    IPCF_TRY(lock_queue(q, dl));
    IPCF_TRY(wait_until(q, not_full, dl));
    uint64_t head = LOAD(s->st.head), tail = LOAD(s->st.tail);
    if (head > tail || tail - head >= q->capacity) { /* cannot happen after validation */
        unlock_queue(q);
        return -IPCF_ECORRUPT;
    }
    IPCF_STEP("shm_mutex.push.locked");
    STORE(s->undo.old_head, head);
    STORE(s->undo.old_tail, tail);
    IPCF_STEP("shm_mutex.push.saved");
    STORE(s->undo.op, (uint32_t)IPCF_QUEUE_OP_PUSH);
    IPCF_STEP("shm_mutex.push.logged");
    unsigned char *slot = slot_at(s, &g, tail);
    memcpy(slot + ELEM_HDR, p, len);
    IPCF_STEP("shm_mutex.push.payload");
    struct q_elem e = {.len = (uint32_t)len, .sum = ipcf__shm_sum(p, len, tail), .pos = tail};
    memcpy(slot, &e, sizeof(e));
    __atomic_thread_fence(__ATOMIC_RELEASE);
    IPCF_STEP("shm_mutex.push.written");
    STORE(s->st.tail, tail + 1);
    IPCF_STEP("shm_mutex.push.published");
    STORE(s->undo.op, (uint32_t)IPCF_QUEUE_OP_NONE);
    IPCF_STEP("shm_mutex.push.committed");
    STORE(s->st.pushes, LOAD(s->st.pushes) + 1);
    note_change(q);
    unlock_queue(q);
    return 0;
}

int ipcf_shm_queue_pop(struct ipcf_shm_queue *q, void *buf, size_t cap, size_t *len, int timeout_ms)
{
    struct q_shared *s = q->s;
    struct q_geom g = {.capacity = q->capacity, .slot_size = q->slot_size};
    int64_t dl = deadline_in(timeout_ms);
    IPCF_TRY(lock_queue(q, dl));
    IPCF_TRY(wait_until(q, not_empty, dl));
    uint64_t head = LOAD(s->st.head), tail = LOAD(s->st.tail);
    const unsigned char *slot = slot_at(s, &g, head);
    struct q_elem e;
    memcpy(&e, slot, sizeof(e)); /* one fetch, checked below */
    int rc = 0;
    if (head > tail || tail - head > q->capacity || e.len == 0 || e.len > q->elem_max ||
        e.pos != head)
        rc = -IPCF_ECORRUPT;
    else if (e.len > cap)
        rc = -EMSGSIZE;
    if (rc < 0) {
        unlock_queue(q);
        return rc;
    }
    IPCF_STEP("shm_mutex.pop.locked");
    STORE(s->undo.old_head, head);
    STORE(s->undo.old_tail, tail);
    IPCF_STEP("shm_mutex.pop.saved");
    STORE(s->undo.op, (uint32_t)IPCF_QUEUE_OP_POP);
    IPCF_STEP("shm_mutex.pop.logged");
    memcpy(buf, slot + ELEM_HDR, e.len); /* private copy, then verify it */
    if (ipcf__shm_sum(buf, e.len, head) != e.sum) {
        STORE(s->undo.op, (uint32_t)IPCF_QUEUE_OP_NONE);
        unlock_queue(q);
        return -IPCF_ECORRUPT;
    }
    STORE(s->st.head, head + 1);
    IPCF_STEP("shm_mutex.pop.published");
    STORE(s->undo.op, (uint32_t)IPCF_QUEUE_OP_NONE);
    IPCF_STEP("shm_mutex.pop.committed");
    STORE(s->st.pops, LOAD(s->st.pops) + 1);
    note_change(q);
    unlock_queue(q);
    if (len)
        *len = e.len;
    return 0;
}

int ipcf_shm_queue_stat(struct ipcf_shm_queue *q, struct ipcf_shm_queue_state *st, int timeout_ms)
{
    IPCF_TRY(lock_queue(q, deadline_in(timeout_ms)));
    st->head = LOAD(q->s->st.head);
    st->tail = LOAD(q->s->st.tail);
    st->repairs = LOAD(q->s->st.repairs);
    st->pushes = LOAD(q->s->st.pushes);
    st->pops = LOAD(q->s->st.pops);
    st->unrecoverable = LOAD(q->s->st.unrecoverable);
    unlock_queue(q);
    return 0;
}

int ipcf_shm_queue_validate(struct ipcf_shm_queue *q, int timeout_ms)
{
    IPCF_TRY(lock_queue(q, deadline_in(timeout_ms)));
    int rc = ipcf_shm_queue_validate_mem(q->s, q->size);
    unlock_queue(q);
    return rc;
}
