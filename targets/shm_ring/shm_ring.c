/* shm_ring.c — lock-free SPSC ring in shared memory (see ipcfuzz/shm_ring.h).
 *
 * Layout (offsets, never pointers; every size fixed and static_asserted):
 *
 *   0    header (128 B): geometry written once by ipcf_ring_format (magic,
 *        version, header size, layout size, slot count, slot size, max
 *        payload), then the liveness block: generation, per-role generation,
 *        pid and /proc start time.
 *   128  head line (64 B): head index (written by the producer only) + producer
 *        heartbeat.
 *   192  tail line (64 B): tail index (written by the consumer only) + consumer
 *        heartbeat. Head and tail live on separate cache lines so the two
 *        sides do not false-share.
 *   256  slots: slot_count x slot_size, slot_size = round_up(16 + max_payload,
 *        64). Slot i holds the entry whose 0-based stream position p has
 *        p % slot_count == i: {u32 length, u32 checksum, u64 seq = p, payload}.
 *
 * head and tail are free-running 64-bit counters (no wrap in practice:
 * 2^64 entries). Entries [tail, head) are committed and unconsumed;
 * 0 <= head - tail <= slot_count always holds for honest peers.
 *
 * MEMORY ORDERING
 *
 * Producer:  write slot[head % n] (payload, then header, plain stores)
 *            atomic_store(head, head + 1, release)                       (P1)
 * Consumer:  h = atomic_load(head, acquire)                              (C1)
 *            copy slot[tail % n] to private memory, validate the copy
 *            atomic_store(tail, tail + 1, release)                       (C2)
 * Producer:  t = atomic_load(tail, acquire) before reusing a slot        (P0)
 *
 * - P1/C1: the release store of head orders every store to the slot before
 *   it; an acquire load that reads that head value (or a later one) makes all
 *   those stores visible. So the consumer never copies a slot whose bytes the
 *   producer has not finished, without any fence on the data itself.
 * - C2/P0: the consumer's reads (the copy) happen before its release store of
 *   tail; the producer's acquire load of tail happens before it overwrites
 *   the slot. So the producer never overwrites a slot the consumer is still
 *   copying (a write-after-read race).
 * - Nothing else needs ordering: each index has one writer, each side keeps
 *   its own index in private memory and only publishes it, and a 64-bit
 *   aligned atomic load/store is single-copy atomic (ATOMIC_LLONG_LOCK_FREE
 *   is asserted below), so an index is never read torn.
 * - Heartbeats are relaxed: they are advisory liveness counters, never used to
 *   decide what memory is valid.
 * With the planted bug ring_relaxed_publish, P1 is relaxed: the slot stores
 * may become visible after the head, which TSan reports as a data race
 * between the producer's slot write and the consumer's copy.
 *
 * WHAT A HOSTILE PEER CAN AND CANNOT DO
 *
 * A peer maps the same pages and can write anything at any time, including
 * while we read. Therefore:
 * - Geometry is read ONCE at attach into the private handle and checked
 *   against the real object size (fstat); it is never read again, so
 *   rewriting it later has no effect.
 * - Each peer-written value (head, a slot header) is fetched once into a
 *   local and only the local is checked and used: no double fetch. The slot
 *   payload is copied into private memory first and its checksum is computed
 *   over the private copy, so a concurrent rewrite yields a checksum mismatch,
 *   never a time-of-check/time-of-use gap.
 * - The consumer rejects head < highest head seen (moving backwards) and
 *   head - tail > slot_count; a slot whose length exceeds max_payload, whose
 *   seq is not the expected position, or whose checksum fails. The producer
 *   rejects tail > head and head - tail > slot_count. All are -IPCF_ECORRUPT,
 *   sticky on the handle.
 * - Every loop is bounded by private values (the slot count), so garbage can
 *   not make us loop forever; every access is inside the mapping by
 *   construction (index masked, length bounded), so it cannot make us read or
 *   write out of bounds.
 * A hostile peer CAN: forge an entry with a valid checksum (the checksum is
 *   not a MAC), drop or replay entries by moving its own index within the
 *   valid range, stop making progress (our waits are bounded), or truncate a
 *   POSIX segment (SIGBUS is caught: -IPCF_ESHRUNK). It cannot make us crash,
 *   hang, or touch memory outside the mapping and the caller's buffer.
 *
 * SIGBUS. A memfd segment is sealed against shrinking, so it can never
 * SIGBUS. A POSIX shm object cannot be sealed, so every access to the mapping
 * runs inside an ipcf_sigbus frame; a fault makes the handle "shrunk" and
 * every later call returns -IPCF_ESHRUNK. Both kinds take the same code path
 * (the guard costs a sigsetjmp without a system call). Frames that do atomics
 * start with ipcf_sigbus_probe(base) (TSan builds only: see sigbus.h). attach
 * re-checks that the handler is really installed (sigbus.c: a peer's SIGBUS
 * may have been reset to SIG_DFL after fork).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ipcfuzz/io.h"
#include "ipcfuzz/bugs.h"
#include "ipcfuzz/shm_ring.h"
#include "ipcfuzz/sigbus.h"
#include "ipcfuzz/step.h"
#include "shm_common.h"

IPCF_BUG_DEFINE(ring_trust_index, "ring consumer follows peer-written head and slot length "
                                  "without bounds checks");
IPCF_BUG_DEFINE(ring_double_fetch, "ring consumer validates the slot length in shared memory, "
                                   "then re-reads it for the copy");
IPCF_BUG_DEFINE(ring_relaxed_publish, "ring producer publishes head with relaxed ordering");
IPCF_BUG_DEFINE(ring_no_unlink, "ring segment close leaves the POSIX shm name behind");
IPCF_BUG_DEFINE(ring_no_sigbus, "ring accesses the mapping without SIGBUS protection");

#define RING_MAGIC   0x31474E5246435049ull /* "IPCFRNG1" little-endian */
#define RING_VERSION 1u
#define SLOT_HDR     16u

/* Written once by ipcf_ring_format, read once by attach. */
struct ring_geom {
    uint64_t magic;
    uint32_t version;
    uint32_t hdr_size;
    uint64_t layout_size;
    uint32_t slot_count;
    uint32_t slot_size;
    uint32_t max_payload;
    uint32_t reserved0;
};

struct ring_hdr {
    struct ring_geom g;             /* 0 */
    _Atomic uint64_t generation;    /* 40 */
    _Atomic uint64_t role_gen[2];   /* 48: producer, consumer */
    _Atomic int32_t role_pid[2];    /* 64 */
    _Atomic uint64_t role_start[2]; /* 72 */
    uint8_t reserved[40];           /* 88 .. 128 */
};

struct ring_line {
    alignas(64) _Atomic uint64_t idx;
    _Atomic uint64_t beat;
    uint8_t pad[48];
};

struct ring_shared {
    struct ring_hdr h;
    struct ring_line head;
    struct ring_line tail;
};

struct slot_hdr {
    uint32_t length;
    uint32_t checksum;
    uint64_t seq;
};

_Static_assert(sizeof(struct ring_geom) == 40, "geometry block size");
_Static_assert(sizeof(struct ring_hdr) == 128, "header size");
_Static_assert(offsetof(struct ring_hdr, role_start) == 72, "header layout");
_Static_assert(sizeof(struct ring_line) == 64, "index line size");
_Static_assert(offsetof(struct ring_shared, head) == 128, "head offset");
_Static_assert(offsetof(struct ring_shared, tail) == 192, "tail offset");
_Static_assert(sizeof(struct ring_shared) == IPCF_RING_HDR_SIZE, "slots offset");
_Static_assert(sizeof(struct slot_hdr) == SLOT_HDR, "slot header size");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free in shared memory");
_Static_assert(sizeof(_Atomic uint64_t) == 8 && alignof(_Atomic uint64_t) == 8, "atomic size");

struct ipcf_ring {
    unsigned char *base;
    size_t size;
    int mapped; /* attach() mapped base: detach unmaps */
    enum ipcf_ring_role role;
    unsigned flags;
    uint32_t slots, mask, slot_size, max_payload;
    uint64_t head;      /* producer: next position to write */
    uint64_t tail;      /* consumer: next position to read */
    uint64_t last_head; /* consumer: highest head seen (head must not move back) */
    uint64_t beat;
    uint64_t my_gen;
    int corrupt, shrunk;
};

static struct ring_shared *shared(const struct ipcf_ring *r)
{
    return (struct ring_shared *)r->base;
}

static unsigned char *slot_at(const struct ipcf_ring *r, uint64_t pos)
{
    return r->base + IPCF_RING_HDR_SIZE + (size_t)(pos & r->mask) * r->slot_size;
}

/* Enter a SIGBUS frame unless the planted bug removes the protection. */
static void guard_enter(struct ipcf_sigbus_frame *fr)
{
    if (!IPCF_BUG(ring_no_sigbus))
        ipcf_sigbus_enter(fr);
}

static uint32_t round_slot(uint32_t max_payload)
{
    return (SLOT_HDR + max_payload + 63u) & ~63u;
}

size_t ipcf_ring_layout_size(uint32_t slots, uint32_t max_payload)
{
    if (slots == 0 || slots > IPCF_RING_MAX_SLOTS || (slots & (slots - 1)))
        return 0;
    if (max_payload == 0 || max_payload > IPCF_RING_MAX_PAYLOAD)
        return 0;
    return IPCF_RING_HDR_SIZE + (size_t)slots * round_slot(max_payload);
}

int ipcf_ring_format(void *base, size_t size, uint32_t slots, uint32_t max_payload)
{
    size_t need = ipcf_ring_layout_size(slots, max_payload);
    if (!need)
        return -EINVAL;
    if (size < need)
        return -ENOSPC;
    /* base may be a POSIX segment whose name is already visible: guarded */
    struct ring_geom g = {.magic = RING_MAGIC,
                          .version = RING_VERSION,
                          .hdr_size = IPCF_RING_HDR_SIZE,
                          .layout_size = need,
                          .slot_count = slots,
                          .slot_size = round_slot(max_payload),
                          .max_payload = max_payload};
    struct ipcf_sigbus_frame fr;
    guard_enter(&fr);
    if (sigsetjmp(fr.env, 0))
        return -IPCF_ESHRUNK;
    memset(base, 0, IPCF_RING_HDR_SIZE);
    memcpy(base, &g, sizeof(g));
    ipcf_sigbus_leave(&fr);
    return 0;
}

/* Check a private copy of the geometry against the object size. */
static int check_geom(const struct ring_geom *g, size_t size)
{
    if (g->magic != RING_MAGIC || g->version != RING_VERSION || g->hdr_size != IPCF_RING_HDR_SIZE)
        return -IPCF_ECORRUPT;
    size_t need = ipcf_ring_layout_size(g->slot_count, g->max_payload);
    if (!need || g->slot_size != round_slot(g->max_payload) || g->layout_size != need)
        return -IPCF_ECORRUPT;
    if (need > size)
        return -IPCF_ESHRUNK;
    return 0;
}

/* Read head and tail once each (guarded) and check their relation. */
static int read_indices(const unsigned char *base, uint32_t slots, uint64_t *h, uint64_t *t)
{
    const struct ring_shared *s = (const struct ring_shared *)base;
    struct ipcf_sigbus_frame fr;
    guard_enter(&fr);
    if (sigsetjmp(fr.env, 0))
        return -IPCF_ESHRUNK;
    ipcf_sigbus_probe(base);
    uint64_t hv = atomic_load_explicit(&s->head.idx, memory_order_acquire);
    uint64_t tv = atomic_load_explicit(&s->tail.idx, memory_order_acquire);
    ipcf_sigbus_leave(&fr);
    if (tv > hv || hv - tv > slots)
        return -IPCF_ECORRUPT;
    *h = hv;
    *t = tv;
    return 0;
}

int ipcf_ring_validate(const void *base, size_t size)
{
    struct ring_geom g;
    uint64_t h, t;
    if (!base || size < IPCF_RING_HDR_SIZE)
        return -IPCF_ESHRUNK;
    IPCF_TRY(ipcf_sigbus_copy(&g, base, sizeof(g)));
    IPCF_TRY(check_geom(&g, size));
    IPCF_TRY(read_indices(base, g.slot_count, &h, &t));
    for (uint64_t pos = t; pos != h; pos++) {
        const unsigned char *slot = (const unsigned char *)base + IPCF_RING_HDR_SIZE +
                                    (size_t)(pos & (g.slot_count - 1)) * g.slot_size;
        struct slot_hdr sh;
        IPCF_TRY(ipcf_sigbus_copy(&sh, slot, sizeof(sh)));
        if (sh.length == 0 || sh.length > g.max_payload || sh.seq != pos)
            return -IPCF_ECORRUPT;
        /* checksum in one pass over the payload (each byte read once) */
        struct ipcf_sigbus_frame fr;
        uint32_t sum;
        guard_enter(&fr);
        if (sigsetjmp(fr.env, 0))
            return -IPCF_ESHRUNK;
        sum = ipcf__shm_sum(slot + SLOT_HDR, sh.length, pos);
        ipcf_sigbus_leave(&fr);
        if (sum != sh.checksum)
            return -IPCF_ECORRUPT;
    }
    return 0;
}

int ipcf_ring_seg_create(struct ipcf_ring_seg *seg, const char *tag, uint32_t slots,
                         uint32_t max_payload)
{
    int rc = 0;
    void *p = MAP_FAILED;
    size_t need = ipcf_ring_layout_size(slots, max_payload);
    seg->fd = -1;
    seg->creator = 0;
    seg->name[0] = '\0';
    if (!need)
        return -EINVAL;
    if (tag) {
        IPCF_TRY(ipcf_name_posix(seg->name, sizeof(seg->name), tag));
        seg->fd = shm_open(seg->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (seg->fd < 0) {
            rc = -errno;
            seg->name[0] = '\0';
            goto out;
        }
        seg->creator = getpid();
    } else {
        seg->fd = memfd_create("ipcf.ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (seg->fd < 0) {
            rc = -errno;
            goto out;
        }
    }
    if (ftruncate(seg->fd, (off_t)need) < 0) {
        rc = -errno;
        goto out;
    }
    p = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_SHARED, seg->fd, 0);
    if (p == MAP_FAILED) {
        rc = -errno;
        goto out;
    }
    rc = ipcf_ring_format(p, need, slots, max_payload);
    if (rc < 0)
        goto out;
    if (!tag && fcntl(seg->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
        rc = -errno;
out:
    if (p != MAP_FAILED)
        munmap(p, need);
    if (rc < 0)
        ipcf_ring_seg_close(seg);
    return rc;
}

int ipcf_ring_seg_open(struct ipcf_ring_seg *seg, const char *name)
{
    seg->creator = 0;
    seg->name[0] = '\0';
    if (strlen(name) >= sizeof(seg->name))
        return -ENAMETOOLONG;
    seg->fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
    if (seg->fd < 0)
        return -errno;
    strcpy(seg->name, name);
    return 0;
}

void ipcf_ring_seg_close(struct ipcf_ring_seg *seg)
{
    if (seg->fd >= 0)
        close(seg->fd);
    seg->fd = -1;
    if (seg->name[0] && seg->creator == getpid() && !IPCF_BUG(ring_no_unlink))
        shm_unlink(seg->name);
    seg->creator = 0;
    seg->name[0] = '\0';
}

/* Claim role index ri for this process. A live holder other than us: -EBUSY.
 * The holder's liveness is judged from private copies outside the SIGBUS
 * frame (it reads /proc: no system call or buffer of ours is left half-done
 * by a jump); the claim itself is a CAS from the holder we judged, so a
 * holder that changed in between makes us lose (-EBUSY), never steal. */
static int register_role(struct ipcf_ring *r, int ri)
{
    struct ring_shared *s = shared(r);
    pid_t me = getpid();
    uint64_t my_start = ipcf__proc_start(me);
    struct ipcf_sigbus_frame fr;
    volatile int32_t seen = 0; /* read after a jump: volatile */
    volatile uint64_t seen_start = 0;
    guard_enter(&fr);
    if (sigsetjmp(fr.env, 0)) {
        r->shrunk = 1;
        return -IPCF_ESHRUNK;
    }
    ipcf_sigbus_probe(r->base);
    seen = atomic_load_explicit(&s->h.role_pid[ri], memory_order_acquire);
    seen_start = atomic_load_explicit(&s->h.role_start[ri], memory_order_acquire);
    ipcf_sigbus_leave(&fr);
    int32_t holder = seen;
    if (holder != 0 && holder != me && ipcf__proc_alive(holder, seen_start))
        return -EBUSY;
    guard_enter(&fr);
    if (sigsetjmp(fr.env, 0)) {
        r->shrunk = 1;
        return -IPCF_ESHRUNK;
    }
    ipcf_sigbus_probe(r->base);
    if (!atomic_compare_exchange_strong(&s->h.role_pid[ri], &holder, (int32_t)me)) {
        ipcf_sigbus_leave(&fr);
        return -EBUSY; /* another restarted peer won the race */
    }
    atomic_store_explicit(&s->h.role_start[ri], my_start, memory_order_release);
    r->my_gen = atomic_fetch_add(&s->h.generation, 1) + 1;
    atomic_store_explicit(&s->h.role_gen[ri], r->my_gen, memory_order_release);
    ipcf_sigbus_leave(&fr);
    return 0;
}

int ipcf_ring_attach_mem(void *base, size_t size, enum ipcf_ring_role role, unsigned flags,
                         struct ipcf_ring **out)
{
    struct ring_geom g;
    uint64_t h, t;
    int rc;
    *out = NULL;
    if (role != IPCF_RING_PRODUCER && role != IPCF_RING_CONSUMER)
        return -EINVAL;
    if (!base || ((uintptr_t)base & 7))
        return -EINVAL;
    if (size < IPCF_RING_HDR_SIZE)
        return -IPCF_ESHRUNK;
    IPCF_TRY(ipcf_sigbus_copy(&g, base, sizeof(g)));
    IPCF_TRY(check_geom(&g, size));
    IPCF_TRY(read_indices(base, g.slot_count, &h, &t));
    struct ipcf_ring *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->base = base;
    r->size = size;
    r->role = role;
    r->flags = flags;
    r->slots = g.slot_count;
    r->mask = g.slot_count - 1;
    r->slot_size = g.slot_size;
    r->max_payload = g.max_payload;
    r->head = h;
    r->tail = t;
    r->last_head = h;
    if (!(flags & IPCF_RING_ANON)) {
        rc = register_role(r, role == IPCF_RING_PRODUCER ? 0 : 1);
        if (rc < 0) {
            free(r);
            return rc;
        }
        /* Re-read our own index after registering: a dead predecessor can no
         * longer move it, so this is where we resume. */
        rc = read_indices(base, g.slot_count, &h, &t);
        if (rc < 0) {
            ipcf_ring_detach(r);
            return rc;
        }
        r->head = h;
        r->tail = t;
        r->last_head = h;
    }
    *out = r;
    return 0;
}

int ipcf_ring_attach(int fd, enum ipcf_ring_role role, struct ipcf_ring **out)
{
    struct stat st;
    *out = NULL;
    /* Re-check the SIGBUS disposition now (a system call; push/pop only test
     * a flag): it may have been reset since this process last used the guard
     * (targets/shm_common/sigbus.c). */
    IPCF_TRY(ipcf_sigbus_install());
    if (fstat(fd, &st) < 0)
        return -errno;
    if ((size_t)st.st_size < IPCF_RING_HDR_SIZE)
        return -IPCF_ESHRUNK;
    size_t size = (size_t)st.st_size;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    int rc = ipcf_ring_attach_mem(p, size, role, 0, out);
    if (rc < 0) {
        munmap(p, size);
        return rc;
    }
    (*out)->mapped = 1;
    return 0;
}

void ipcf_ring_detach(struct ipcf_ring *r)
{
    if (!r)
        return;
    if (!(r->flags & IPCF_RING_ANON) && !r->shrunk) {
        struct ipcf_sigbus_frame fr;
        guard_enter(&fr);
        if (sigsetjmp(fr.env, 0) == 0) {
            ipcf_sigbus_probe(r->base);
            int32_t me = (int32_t)getpid();
            int ri = r->role == IPCF_RING_PRODUCER ? 0 : 1;
            atomic_compare_exchange_strong(&shared(r)->h.role_pid[ri], &me, 0);
            ipcf_sigbus_leave(&fr);
        }
    }
    if (r->mapped)
        munmap(r->base, r->size);
    free(r);
}

int ipcf_ring_push(struct ipcf_ring *r, const void *msg, size_t len)
{
    struct ipcf_sigbus_frame fr;
    if (r->role != IPCF_RING_PRODUCER)
        return -EINVAL;
    if (len == 0 || len > r->max_payload)
        return -EMSGSIZE;
    if (r->corrupt)
        return -IPCF_ECORRUPT;
    if (r->shrunk)
        return -IPCF_ESHRUNK;
    struct ring_shared *s = shared(r);
    IPCF_STEP("ring.push.begin");
    guard_enter(&fr);
    if (sigsetjmp(fr.env, 0)) {
        r->shrunk = 1;
        return -IPCF_ESHRUNK;
    }
    ipcf_sigbus_probe(r->base);
    uint64_t t = atomic_load_explicit(&s->tail.idx, memory_order_acquire); /* P0 */
    if (t > r->head || r->head - t > r->slots) {
        ipcf_sigbus_leave(&fr);
        r->corrupt = 1;
        return -IPCF_ECORRUPT;
    }
    if (r->head - t == r->slots) {
        ipcf_sigbus_leave(&fr);
        return -EAGAIN;
    }
    unsigned char *slot = slot_at(r, r->head);
    struct slot_hdr sh = {
        .length = (uint32_t)len, .checksum = ipcf__shm_sum(msg, len, r->head), .seq = r->head};
    memcpy(slot + SLOT_HDR, msg, len);
    memcpy(slot, &sh, sizeof(sh));
    ipcf_sigbus_leave(&fr);
    IPCF_STEP("ring.push.written");
    guard_enter(&fr);
    if (sigsetjmp(fr.env, 0)) {
        r->shrunk = 1;
        return -IPCF_ESHRUNK;
    }
    ipcf_sigbus_probe(r->base);
    atomic_store_explicit(&s->head.idx, r->head + 1,
                          IPCF_BUG(ring_relaxed_publish) ? memory_order_relaxed
                                                         : memory_order_release); /* P1 */
    atomic_store_explicit(&s->head.beat, ++r->beat, memory_order_relaxed);
    ipcf_sigbus_leave(&fr);
    r->head++;
    IPCF_STEP("ring.push.published");
    return 0;
}

/* The planted ring_trust_index consumer: follows head and the slot length as
 * written by the peer, straight from shared memory. Called inside the frame. */
static int pop_trusting(struct ipcf_ring *r, uint64_t h, void *buf, size_t *len)
{
    if (h == r->tail)
        return -EAGAIN;
    const unsigned char *slot = slot_at(r, r->tail);
    uint32_t n = ((const struct slot_hdr *)slot)->length;
    memcpy(buf, slot + SLOT_HDR, n);
    *len = n;
    return 0;
}

/* The planted ring_double_fetch consumer: checks the length in shared memory,
 * then fetches it again for the copy. Returns with the frame left. */
static int pop_double_fetch(struct ipcf_ring *r, struct ipcf_sigbus_frame *fr, void *buf,
                            size_t cap, size_t *len)
{
    volatile struct slot_hdr *vh = (volatile struct slot_hdr *)slot_at(r, r->tail);
    if (vh->length == 0 || vh->length > r->max_payload || vh->length > cap || vh->seq != r->tail) {
        ipcf_sigbus_leave(fr);
        return -IPCF_ECORRUPT;
    }
    ipcf_sigbus_leave(fr);
    IPCF_STEP("ring.pop.validated");
    guard_enter(fr);
    uint32_t n = vh->length; /* second fetch: may differ from the one checked */
    uint32_t sum = vh->checksum;
    memcpy(buf, (const unsigned char *)vh + SLOT_HDR, n);
    ipcf_sigbus_leave(fr);
    if (ipcf__shm_sum(buf, n, r->tail) != sum)
        return -IPCF_ECORRUPT;
    *len = n;
    return 0;
}

int ipcf_ring_pop(struct ipcf_ring *r, void *buf, size_t cap, size_t *len, uint64_t *seq)
{
    struct ipcf_sigbus_frame fr;
    struct slot_hdr sh;
    volatile size_t n = 0; /* set between frames; volatile for -Wclobbered */
    int rc;
    if (r->role != IPCF_RING_CONSUMER)
        return -EINVAL;
    if (r->corrupt)
        return -IPCF_ECORRUPT;
    if (r->shrunk)
        return -IPCF_ESHRUNK;
    struct ring_shared *s = shared(r);
    IPCF_STEP("ring.pop.begin");
    guard_enter(&fr);
    if (sigsetjmp(fr.env, 0)) {
        r->shrunk = 1;
        return -IPCF_ESHRUNK;
    }
    ipcf_sigbus_probe(r->base);
    uint64_t h = atomic_load_explicit(&s->head.idx, memory_order_acquire); /* C1: one fetch */
    if (IPCF_BUG(ring_trust_index)) {
        size_t tn = 0;
        rc = pop_trusting(r, h, buf, &tn);
        n = tn;
        ipcf_sigbus_leave(&fr);
        if (rc < 0)
            return rc;
        goto release;
    }
    if (h < r->last_head || h - r->tail > r->slots) {
        ipcf_sigbus_leave(&fr);
        r->corrupt = 1;
        return -IPCF_ECORRUPT;
    }
    r->last_head = h;
    if (h == r->tail) {
        ipcf_sigbus_leave(&fr);
        return -EAGAIN;
    }
    if (IPCF_BUG(ring_double_fetch)) {
        size_t dn = 0;
        rc = pop_double_fetch(r, &fr, buf, cap, &dn);
        n = dn;
        if (rc < 0) {
            r->corrupt = 1;
            return rc;
        }
        goto release;
    }
    const unsigned char *slot = slot_at(r, r->tail);
    memcpy(&sh, slot, sizeof(sh)); /* the one fetch of the slot header */
    ipcf_sigbus_leave(&fr);
    if (sh.length == 0 || sh.length > r->max_payload || sh.seq != r->tail) {
        r->corrupt = 1;
        return -IPCF_ECORRUPT;
    }
    if (sh.length > cap)
        return -EMSGSIZE;
    IPCF_STEP("ring.pop.validated");
    guard_enter(&fr);
    if (sigsetjmp(fr.env, 0)) {
        r->shrunk = 1;
        return -IPCF_ESHRUNK;
    }
    memcpy(buf, slot + SLOT_HDR, sh.length); /* private copy ... */
    ipcf_sigbus_leave(&fr);
    if (ipcf__shm_sum(buf, sh.length, r->tail) != sh.checksum) { /* ... then validate it */
        r->corrupt = 1;
        return -IPCF_ECORRUPT;
    }
    n = sh.length;
release:
    IPCF_STEP("ring.pop.copied");
    guard_enter(&fr);
    if (sigsetjmp(fr.env, 0)) {
        r->shrunk = 1;
        return -IPCF_ESHRUNK;
    }
    ipcf_sigbus_probe(r->base);
    atomic_store_explicit(&s->tail.idx, r->tail + 1, memory_order_release); /* C2 */
    atomic_store_explicit(&s->tail.beat, ++r->beat, memory_order_relaxed);
    ipcf_sigbus_leave(&fr);
    if (seq)
        *seq = r->tail;
    if (len)
        *len = n;
    r->tail++;
    IPCF_STEP("ring.pop.released");
    return 0;
}

/* Back off: yield for the first rounds, then sleep up to 1 ms. */
static void backoff(unsigned round)
{
    if (round < 64) {
        sched_yield();
        return;
    }
    long ns = round < 1000 ? 50000L : 1000000L;
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

int ipcf_ring_push_wait(struct ipcf_ring *r, const void *msg, size_t len, int timeout_ms)
{
    int64_t deadline = ipcf_clock_ms() + timeout_ms;
    for (unsigned round = 0;; round++) {
        int rc = ipcf_ring_push(r, msg, len);
        if (rc != -EAGAIN)
            return rc;
        if (ipcf_clock_ms() >= deadline)
            return -IPCF_ETIMEDOUT;
        backoff(round);
    }
}

int ipcf_ring_pop_wait(struct ipcf_ring *r, void *buf, size_t cap, size_t *len, uint64_t *seq,
                       int timeout_ms)
{
    int64_t deadline = ipcf_clock_ms() + timeout_ms;
    for (unsigned round = 0;; round++) {
        int rc = ipcf_ring_pop(r, buf, cap, len, seq);
        if (rc != -EAGAIN)
            return rc;
        if (ipcf_clock_ms() >= deadline)
            return -IPCF_ETIMEDOUT;
        backoff(round);
    }
}

int ipcf_ring_info(struct ipcf_ring *r, struct ipcf_ring_info *info)
{
    struct ring_shared *s = shared(r);
    struct ipcf_sigbus_frame fr;
    memset(info, 0, sizeof(*info));
    if (r->shrunk)
        return -IPCF_ESHRUNK;
    guard_enter(&fr);
    if (sigsetjmp(fr.env, 0)) {
        r->shrunk = 1;
        return -IPCF_ESHRUNK;
    }
    ipcf_sigbus_probe(r->base);
    info->head = atomic_load(&s->head.idx);
    info->tail = atomic_load(&s->tail.idx);
    info->generation = atomic_load(&s->h.generation);
    info->producer_generation = atomic_load(&s->h.role_gen[0]);
    info->consumer_generation = atomic_load(&s->h.role_gen[1]);
    info->producer_pid = atomic_load(&s->h.role_pid[0]);
    info->consumer_pid = atomic_load(&s->h.role_pid[1]);
    info->producer_beat = atomic_load(&s->head.beat);
    info->consumer_beat = atomic_load(&s->tail.beat);
    ipcf_sigbus_leave(&fr);
    info->my_generation = r->my_gen;
    info->slots = r->slots;
    info->max_payload = r->max_payload;
    return 0;
}

int ipcf_ring_peer_alive(struct ipcf_ring *r)
{
    struct ring_shared *s = shared(r);
    struct ipcf_sigbus_frame fr;
    int ri = r->role == IPCF_RING_PRODUCER ? 1 : 0;
    if (r->shrunk)
        return -IPCF_ESHRUNK;
    guard_enter(&fr);
    if (sigsetjmp(fr.env, 0)) {
        r->shrunk = 1;
        return -IPCF_ESHRUNK;
    }
    ipcf_sigbus_probe(r->base);
    int32_t pid = atomic_load_explicit(&s->h.role_pid[ri], memory_order_acquire);
    uint64_t start = atomic_load_explicit(&s->h.role_start[ri], memory_order_acquire);
    ipcf_sigbus_leave(&fr);
    return ipcf__proc_alive(pid, start);
}
