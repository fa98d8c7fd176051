/* ipcfuzz/shm_ring.h — lock-free single-producer single-consumer ring in shared
 * memory (memfd, sealed; or a POSIX shm object named under the run prefix).
 *
 * Semantics (what the oracle may rely on):
 *  - a push that returned 0 is committed: it is delivered exactly once, intact
 *    and in order, even if the producer dies right after, and even if the
 *    consumer dies before taking it (the segment holds it);
 *  - a pop that returned 0 has consumed the entry; a consumer killed inside
 *    pop before the tail store leaves the entry for its successor, one killed
 *    after the tail store leaves it "in doubt" (consumed, never reported);
 *  - a restarted producer resumes at the shared head, a restarted consumer at
 *    the shared tail; a live partner is told from a dead one by (pid, start
 *    time) plus a generation counter bumped at every attach;
 *  - the consumer never follows a peer-written index or length it has not
 *    bounds-checked in a private copy: a corrupt ring is -IPCF_ECORRUPT (sticky
 *    for that handle), never a crash, an out-of-bounds access or a hang;
 *  - a POSIX segment truncated while mapped is -IPCF_ESHRUNK, never SIGBUS.
 * Memory layout and ordering are documented in targets/shm_ring/shm_ring.c.
 */
#ifndef IPCFUZZ_SHM_RING_H
#define IPCFUZZ_SHM_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "ipcfuzz/error.h"
#include "ipcfuzz/names.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IPCF_RING_MAX_SLOTS   (1u << 16) /* slot count: power of two, 1..this */
#define IPCF_RING_MAX_PAYLOAD (1u << 20) /* bytes of payload per slot */
#define IPCF_RING_HDR_SIZE    256u       /* header + head line + tail line */

enum ipcf_ring_role {
    IPCF_RING_PRODUCER = 1,
    IPCF_RING_CONSUMER = 2,
};

/* A segment: an fd plus, for POSIX shm, the name the creator unlinks. */
struct ipcf_ring_seg {
    int fd;
    pid_t creator; /* process that created the POSIX name (unlinks on close); 0 if none */
    char name[IPCF_NAME_MAX]; /* "" for a memfd */
};

/* Bytes a segment of slots x max_payload needs, or 0 if the geometry is out of
 * range (slots not a power of two in 1..IPCF_RING_MAX_SLOTS, max_payload 1..MAX). */
size_t ipcf_ring_layout_size(uint32_t slots, uint32_t max_payload);

/* Write a fresh, empty ring header into memory (size >= layout size).
 * 0, -EINVAL (geometry), -ENOSPC (size) or -IPCF_ESHRUNK (the mapping was
 * truncated meanwhile). Used by create, tests and fuzz seeds. */
IPCF_MUST_CHECK int ipcf_ring_format(void *base, size_t size, uint32_t slots, uint32_t max_payload);

/* Create a segment. tag == NULL: a memfd sized then sealed with
 * F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_SEAL (ftruncate then fails with EPERM),
 * shared by fork or fd passing. tag != NULL: a POSIX shm object named
 * ipcf_name_posix(tag) (O_EXCL), which cannot be sealed: every access is
 * SIGBUS-guarded instead. 0 or -errno (-EEXIST, -EINVAL for the geometry). */
IPCF_MUST_CHECK int ipcf_ring_seg_create(struct ipcf_ring_seg *seg, const char *tag, uint32_t slots,
                                         uint32_t max_payload);

/* Open an existing POSIX segment by its full name ("/ipcf.<run>.<tag>").
 * Not the creator: close will not unlink. 0 or -errno. */
IPCF_MUST_CHECK int ipcf_ring_seg_open(struct ipcf_ring_seg *seg, const char *name);

/* Close the fd; the creating process also unlinks the POSIX name. Safe on a
 * zeroed or already-closed seg. Children that inherited seg by fork never unlink. */
void ipcf_ring_seg_close(struct ipcf_ring_seg *seg);

struct ipcf_ring;

/* Map the segment behind fd and attach as role. Checks the fstat size against
 * the layout (-IPCF_ESHRUNK if the object is smaller than its header says),
 * validates the header (-IPCF_ECORRUPT), and registers this process as the
 * role's owner: -EBUSY if a live process (not a zombie) already holds the role.
 * A dead holder is replaced; the generation counter is bumped.
 * The producer resumes at the shared head, the consumer at the shared tail.
 * Also (re)installs the SIGBUS handler if this process's disposition is not
 * it (e.g. reset to SIG_DFL after a fork): -errno if sigaction fails. */
IPCF_MUST_CHECK int ipcf_ring_attach(int fd, enum ipcf_ring_role role, struct ipcf_ring **out);

/* Attach to memory the caller mapped (size bytes at base, 8-byte aligned).
 * flags IPCF_RING_ANON: do not register as the role owner (fuzzing,
 * inspection). Same errors as ipcf_ring_attach (-ENOMEM too). */
#define IPCF_RING_ANON 1u
IPCF_MUST_CHECK int ipcf_ring_attach_mem(void *base, size_t size, enum ipcf_ring_role role,
                                         unsigned flags, struct ipcf_ring **out);

/* Graceful detach: clears this process's role registration (unless ANON or the
 * segment shrank), unmaps what attach mapped, frees the handle. NULL is a no-op. */
void ipcf_ring_detach(struct ipcf_ring *r);

/* Producer: append one message of len bytes (1..max_payload).
 * 0; -EAGAIN full; -EMSGSIZE; -EINVAL wrong role; -IPCF_ECORRUPT (the
 * consumer-written tail is out of range); -IPCF_ESHRUNK. */
IPCF_MUST_CHECK int ipcf_ring_push(struct ipcf_ring *r, const void *msg, size_t len);

/* Consumer: take the next message into buf (cap bytes); *len and *seq (its
 * 0-based position in the stream; either may be NULL) are set on success.
 * 0; -EAGAIN empty; -EMSGSIZE cap too small (nothing consumed); -EINVAL wrong
 * role; -IPCF_ECORRUPT (bad index, length, sequence or checksum: sticky);
 * -IPCF_ESHRUNK. On an error, buf's contents are unspecified. */
IPCF_MUST_CHECK int ipcf_ring_pop(struct ipcf_ring *r, void *buf, size_t cap, size_t *len,
                                  uint64_t *seq);

/* Bounded waiting variants: retry -EAGAIN (yield, then sleep up to 1 ms)
 * until timeout_ms elapses: then -IPCF_ETIMEDOUT. */
IPCF_MUST_CHECK int ipcf_ring_push_wait(struct ipcf_ring *r, const void *msg, size_t len,
                                        int timeout_ms);
IPCF_MUST_CHECK int ipcf_ring_pop_wait(struct ipcf_ring *r, void *buf, size_t cap, size_t *len,
                                       uint64_t *seq, int timeout_ms);

/* Is the partner role's registered process alive? 1 yes, 0 none or dead
 * (exited, killed, zombie), -IPCF_ESHRUNK. */
IPCF_MUST_CHECK int ipcf_ring_peer_alive(struct ipcf_ring *r);

struct ipcf_ring_info {
    uint64_t head, tail;          /* shared indices as read now */
    uint64_t generation;          /* bumped by every registered attach */
    uint64_t my_generation;       /* generation at which this handle attached */
    uint64_t producer_generation; /* generation of the producer's attach */
    uint64_t consumer_generation;
    pid_t producer_pid, consumer_pid;
    uint64_t producer_beat, consumer_beat; /* bumped by every push / pop */
    uint32_t slots, max_payload;
};

/* Snapshot of the shared state (values are whatever the peers wrote). 0 or
 * -IPCF_ESHRUNK. */
IPCF_MUST_CHECK int ipcf_ring_info(struct ipcf_ring *r, struct ipcf_ring_info *info);

/* s2n-style validation of a quiescent segment image (size bytes at base):
 * header fields, geometry vs size, head/tail relation, and every committed
 * slot in [tail, head) (length bound, sequence, checksum). Works on a private
 * copy of each value it reads. 0, -IPCF_ECORRUPT, or -IPCF_ESHRUNK (size
 * smaller than the layout, or the mapping shrank while validating). */
IPCF_MUST_CHECK int ipcf_ring_validate(const void *base, size_t size);

#ifdef __cplusplus
}
#endif
#endif
