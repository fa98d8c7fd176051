/* shm_mutex.c — MPMC queue under a robust process-shared mutex (see
 * ipcfuzz/shm_queue.h).
 *
 * Layout (offsets; static_asserted):
 *   0    geometry (40 B, written once by format, read once at attach)
 *   64   pthread_mutex_t   (PROCESS_SHARED | ROBUST)
 *   128  pthread_cond_t not_empty  (PROCESS_SHARED, CLOCK_MONOTONIC)
 *   192  pthread_cond_t not_full
 *   256  state  {head, tail, repairs, pushes, pops}      (under the mutex)
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
 *    (a hostile writer, memory corruption), the repairer refuses: it unlocks
 *    WITHOUT pthread_mutex_consistent, the kernel/glibc mark the mutex
 *    unrecoverable, and every later lock returns ENOTRECOVERABLE at once —
 *    an explicit, permanent error instead of silently serving a broken queue.
 *
 * WAITERS ARE NOT STRANDED
 *
 * Waiters block in pthread_cond_timedwait for at most 50 ms at a time and
 * re-check the predicate after every wake-up, timeout or repair. A dead owner
 * cannot strand them: (1) it never signals, but the slice timeout wakes the
 * waiter anyway; (2) re-acquiring the mutex inside the wait returns
 * EOWNERDEAD to the waiter, which repairs like any locker; (3) a process killed
 * while itself waiting stays counted as a waiter inside glibc's condvar and may
 * absorb a later signal (a lost wake-up for a live waiter) — bounded by the
 * same slice. Known limit: glibc condvars are not robust; a process killed
 * inside pthread_cond_signal/timedwait while holding the condvar's internal
 * lock could wedge later condvar calls. None of our kill points is inside
 * glibc; a futex sequence counter would remove this hazard (future work).
 * The mutex itself is taken with trylock, then pthread_mutex_timedlock
 * (CLOCK_REALTIME: glibc's robust timed lock; sanitizers intercept it), bounded
 * by the caller's timeout. A refused repair also sets st.unrecoverable, so
 * later callers fail at once (see lock_queue).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ipcfuzz/bugs.h"
#include "ipcfuzz/names.h"
#include "ipcfuzz/shm_queue.h"
#include "ipcfuzz/step.h"
#include "shm_common.h"

IPCF_BUG_DEFINE(mutex_no_repair, "shm queue treats EOWNERDEAD as success without repairing");
IPCF_BUG_DEFINE(mutex_no_consistent, "shm queue repairs after EOWNERDEAD but never calls "
                                     "pthread_mutex_consistent");
IPCF_BUG_DEFINE(mutex_no_unlink, "shm queue close leaves the POSIX shm name behind");

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
#define Q_VERSION 1u
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
    alignas(64) pthread_cond_t not_empty;
    alignas(64) pthread_cond_t not_full;
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
_Static_assert(sizeof(pthread_mutex_t) <= 64 && sizeof(pthread_cond_t) <= 64, "sync objects");
_Static_assert(offsetof(struct q_shared, mutex) == 64, "mutex offset");
_Static_assert(offsetof(struct q_shared, not_empty) == 128, "condvar offset");
_Static_assert(offsetof(struct q_shared, not_full) == 192, "condvar offset");
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

static int init_sync(struct q_shared *s)
{
    pthread_mutexattr_t ma;
    pthread_condattr_t ca;
    int rc;
    if ((rc = pthread_mutexattr_init(&ma)))
        return -rc;
    rc = pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    if (!rc)
        rc = pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    if (!rc)
        rc = pthread_mutex_init(&s->mutex, &ma);
    pthread_mutexattr_destroy(&ma);
    if (rc)
        return -rc;
    if ((rc = pthread_condattr_init(&ca)))
        return -rc;
    rc = pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    if (!rc)
        rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (!rc)
        rc = pthread_cond_init(&s->not_empty, &ca);
    if (!rc)
        rc = pthread_cond_init(&s->not_full, &ca);
    pthread_condattr_destroy(&ca);
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

/* ---- locking and repair -------------------------------------------------- */

static struct timespec deadline_after(clockid_t clk, int ms)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static int ts_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Called with the mutex held after EOWNERDEAD. 0: repaired and consistent
 * (the mutex is still held). -ENOTRECOVERABLE: refused; the mutex was
 * unlocked without being made consistent (it is now unrecoverable). */
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
        STORE(s->st.unrecoverable, 1);
        pthread_mutex_unlock(&s->mutex); /* without consistent: ENOTRECOVERABLE */
        return -ENOTRECOVERABLE;
    }
    STORE(s->st.repairs, LOAD(s->st.repairs) + 1);
    IPCF_STEP("shm_mutex.repair.validated");
    if (!IPCF_BUG(mutex_no_consistent))
        pthread_mutex_consistent(&s->mutex);
    /* the state may have changed under sleeping waiters: let them re-check */
    pthread_cond_broadcast(&s->not_empty);
    pthread_cond_broadcast(&s->not_full);
    return 0;
}

/* Map a pthread result of a lock acquisition (lock or cond wait) to ours,
 * repairing on EOWNERDEAD. 0 = mutex held. */
static int after_acquire(struct ipcf_shm_queue *q, int rc)
{
    if (rc == 0)
        return 0;
    if (rc == EOWNERDEAD)
        return recover(q);
    if (rc == ETIMEDOUT)
        return -IPCF_ETIMEDOUT;
    return -rc; /* ENOTRECOVERABLE, EINVAL... mutex not held */
}

/* Trylock first: uncontended, or a dead owner (EOWNERDEAD is reported by
 * trylock at once). Only a live owner makes us block, in timedlock. (Besides
 * being the fast path, this keeps TSan's view right: its timedlock interceptor
 * does not treat EOWNERDEAD as an acquisition, its trylock one does.) */
static int lock_queue(struct ipcf_shm_queue *q, int timeout_ms)
{
    /* Our own flag first: glibc's timedlock on an unrecoverable robust mutex
     * waits out the timeout before failing, and TSan's trylock interceptor
     * reports EBUSY for it after the first ENOTRECOVERABLE. The flag makes
     * the error immediate and the same everywhere. */
    if (LOAD(q->s->st.unrecoverable))
        return -ENOTRECOVERABLE;
    int rc = pthread_mutex_trylock(&q->s->mutex);
    if (rc == EBUSY) {
#if QUEUE_UNDER_TSAN
        /* The owner may die while we wait: the EOWNERDEAD would then come from
         * timedlock, which TSan does not count as an acquisition (every later
         * unlock is reported as "unlock of an unlocked mutex"). Under TSan,
         * poll with trylock instead (every 200 us, same deadline). */
        struct timespec dl = deadline_after(CLOCK_MONOTONIC, timeout_ms > 0 ? timeout_ms : 0);
        for (;;) {
            struct timespec now, nap = {0, 200000};
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (!ts_before(&now, &dl)) {
                rc = ETIMEDOUT;
                break;
            }
            nanosleep(&nap, NULL);
            rc = pthread_mutex_trylock(&q->s->mutex);
            if (rc != EBUSY)
                break;
        }
#else
        struct timespec dl = deadline_after(CLOCK_REALTIME, timeout_ms > 0 ? timeout_ms : 0);
        rc = pthread_mutex_timedlock(&q->s->mutex, &dl);
#endif
    }
    return after_acquire(q, rc);
}

/* Wait (mutex held) until pred(q) or the monotonic deadline. 0 with the mutex
 * held and pred true; else an error with the mutex released. */
static int wait_until(struct ipcf_shm_queue *q, pthread_cond_t *cv,
                      int (*pred)(const struct ipcf_shm_queue *), const struct timespec *dl)
{
    while (!pred(q)) {
        struct timespec now, slice;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!ts_before(&now, dl)) {
            pthread_mutex_unlock(&q->s->mutex);
            return -IPCF_ETIMEDOUT;
        }
        slice = deadline_after(CLOCK_MONOTONIC, SLICE_MS);
        if (ts_before(dl, &slice))
            slice = *dl;
        int rc = pthread_cond_timedwait(cv, &q->s->mutex, &slice);
        if (rc == ETIMEDOUT)
            rc = 0; /* the mutex is re-acquired: re-check */
        rc = after_acquire(q, rc);
        if (rc < 0)
            return rc;
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
    struct timespec dl = deadline_after(CLOCK_MONOTONIC, timeout_ms > 0 ? timeout_ms : 0);
    IPCF_TRY(lock_queue(q, timeout_ms));
    IPCF_TRY(wait_until(q, &s->not_full, not_full, &dl));
    uint64_t head = LOAD(s->st.head), tail = LOAD(s->st.tail);
    if (head > tail || tail - head >= q->capacity) { /* cannot happen after validation */
        pthread_mutex_unlock(&s->mutex);
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
    pthread_cond_signal(&s->not_empty);
    pthread_mutex_unlock(&s->mutex);
    return 0;
}

int ipcf_shm_queue_pop(struct ipcf_shm_queue *q, void *buf, size_t cap, size_t *len, int timeout_ms)
{
    struct q_shared *s = q->s;
    struct q_geom g = {.capacity = q->capacity, .slot_size = q->slot_size};
    struct timespec dl = deadline_after(CLOCK_MONOTONIC, timeout_ms > 0 ? timeout_ms : 0);
    IPCF_TRY(lock_queue(q, timeout_ms));
    IPCF_TRY(wait_until(q, &s->not_empty, not_empty, &dl));
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
        pthread_mutex_unlock(&s->mutex);
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
        pthread_mutex_unlock(&s->mutex);
        return -IPCF_ECORRUPT;
    }
    STORE(s->st.head, head + 1);
    IPCF_STEP("shm_mutex.pop.published");
    STORE(s->undo.op, (uint32_t)IPCF_QUEUE_OP_NONE);
    IPCF_STEP("shm_mutex.pop.committed");
    STORE(s->st.pops, LOAD(s->st.pops) + 1);
    pthread_cond_signal(&s->not_full);
    pthread_mutex_unlock(&s->mutex);
    if (len)
        *len = e.len;
    return 0;
}

int ipcf_shm_queue_stat(struct ipcf_shm_queue *q, struct ipcf_shm_queue_state *st)
{
    IPCF_TRY(lock_queue(q, 5000));
    st->head = LOAD(q->s->st.head);
    st->tail = LOAD(q->s->st.tail);
    st->repairs = LOAD(q->s->st.repairs);
    st->pushes = LOAD(q->s->st.pushes);
    st->pops = LOAD(q->s->st.pops);
    pthread_mutex_unlock(&q->s->mutex);
    return 0;
}

int ipcf_shm_queue_validate(struct ipcf_shm_queue *q)
{
    IPCF_TRY(lock_queue(q, 5000));
    int rc = ipcf_shm_queue_validate_mem(q->s, q->size);
    pthread_mutex_unlock(&q->s->mutex);
    return rc;
}
