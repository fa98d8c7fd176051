/* ipcfuzz/shm_queue.h — bounded MPMC queue in shared memory under a robust,
 * process-shared mutex; waiters sleep on a futex change counter in the
 * segment (no condition variable). Implementation, the crash-repair and the
 * wake-up reasoning: targets/shm_mutex/shm_mutex.c.
 *
 * Semantics (what the oracle may rely on):
 *  - push and pop are atomic with respect to the death of any process: an
 *    operation whose owner is SIGKILLed inside the critical section is rolled
 *    back by the next locker (undo record), so every element is either fully
 *    in the queue or fully out. An element is committed when its push
 *    returned 0 (precisely: when the owner cleared its undo record);
 *  - the next locker after a death gets EOWNERDEAD, repairs, validates
 *    (ipcf_shm_queue_validate) and marks the mutex consistent; if the repair
 *    or validation fails it unlocks without pthread_mutex_consistent, the mutex
 *    becomes unrecoverable and every later call returns -ENOTRECOVERABLE
 *    promptly (no hang);
 *  - every wait is bounded by the caller's timeout (-IPCF_ETIMEDOUT),
 *    including re-taking the mutex after a sleep (a live owner that keeps it
 *    costs at most the timeout); waiters re-check the queue at least every
 *    50 ms, so a dead owner or a missing wake-up cannot strand them, and the
 *    unrecoverable state wakes every waiter, which returns -ENOTRECOVERABLE.
 */
#ifndef IPCFUZZ_SHM_QUEUE_H
#define IPCFUZZ_SHM_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include "ipcfuzz/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IPCF_QUEUE_MAX_CAPACITY 4096u
#define IPCF_QUEUE_MAX_ELEM     65536u

/* Public layout of the parts the harness, tests and fuzz targets inspect. */
#define IPCF_QUEUE_OFF_STATE 256u /* struct ipcf_shm_queue_state */
#define IPCF_QUEUE_OFF_UNDO  320u /* struct ipcf_shm_queue_undo */
#define IPCF_QUEUE_OFF_SLOTS 384u /* capacity x slot_size: {u32 len, u32 sum, u64 pos, payload} */

struct ipcf_shm_queue_state {
    uint64_t head;    /* position of the oldest element */
    uint64_t tail;    /* position the next push writes; count = tail - head */
    uint64_t repairs; /* completed EOWNERDEAD repairs */
    uint64_t pushes, pops;
    uint64_t unrecoverable; /* set by a repairer that refused, before it unlocks */
};

enum ipcf_shm_queue_op { IPCF_QUEUE_OP_NONE = 0, IPCF_QUEUE_OP_PUSH = 1, IPCF_QUEUE_OP_POP = 2 };

struct ipcf_shm_queue_undo {
    uint32_t op; /* enum ipcf_shm_queue_op; written last (the record's commit) */
    uint32_t reserved;
    uint64_t old_head, old_tail; /* state before the operation */
};

struct ipcf_shm_queue;

/* Bytes needed for capacity elements of at most elem_max bytes; 0 if out of
 * range (capacity 1..MAX_CAPACITY, elem_max 1..MAX_ELEM). */
size_t ipcf_shm_queue_layout_size(uint32_t capacity, uint32_t elem_max);

/* Create a queue. tag == NULL: memfd, sealed against resizing; else a POSIX
 * shm object named ipcf_name_posix(tag) (checked against its size at attach;
 * a truncation while mapped is not survived — see README). The creating
 * process unlinks the name on close. 0 or -errno (-EINVAL geometry). */
IPCF_MUST_CHECK int ipcf_shm_queue_create(const char *tag, uint32_t capacity, uint32_t elem_max,
                                          struct ipcf_shm_queue **out);

/* Attach to a queue by fd (inherited or passed) or by POSIX name. Geometry is
 * read once and checked against the object size: -IPCF_ESHRUNK if smaller,
 * -IPCF_ECORRUPT if inconsistent. */
IPCF_MUST_CHECK int ipcf_shm_queue_attach(int fd, struct ipcf_shm_queue **out);
IPCF_MUST_CHECK int ipcf_shm_queue_open(const char *name, struct ipcf_shm_queue **out);

/* Unmap, close; the creator also unlinks the POSIX name. NULL is a no-op. */
void ipcf_shm_queue_close(struct ipcf_shm_queue *q);

int ipcf_shm_queue_fd(const struct ipcf_shm_queue *q);
const char *ipcf_shm_queue_name(const struct ipcf_shm_queue *q); /* "" for memfd */
void *ipcf_shm_queue_mem(const struct ipcf_shm_queue *q, size_t *size);

/* Append len bytes (1..elem_max), waiting up to timeout_ms while full.
 * 0; -EMSGSIZE; -IPCF_ETIMEDOUT; -ENOTRECOVERABLE (a dead owner's state could
 * not be repaired); -IPCF_ECORRUPT. */
IPCF_MUST_CHECK int ipcf_shm_queue_push(struct ipcf_shm_queue *q, const void *p, size_t len,
                                        int timeout_ms);

/* Remove the oldest element into buf (cap bytes), waiting up to timeout_ms
 * while empty (0 = do not wait). *len set on success. Same errors, plus
 * -EMSGSIZE when cap is too small (nothing removed) and -IPCF_ECORRUPT when the
 * element fails its checksum (nothing removed). */
IPCF_MUST_CHECK int ipcf_shm_queue_pop(struct ipcf_shm_queue *q, void *buf, size_t cap, size_t *len,
                                       int timeout_ms);

/* Copy of the state under the lock (repairing first if needed), taking the
 * lock within timeout_ms. 0, -IPCF_ETIMEDOUT (a live owner kept the lock),
 * -ENOTRECOVERABLE (at once), or a repair error. */
IPCF_MUST_CHECK int ipcf_shm_queue_stat(struct ipcf_shm_queue *q, struct ipcf_shm_queue_state *st,
                                        int timeout_ms);

/* Validate under the lock (taken within timeout_ms, repairing first if its
 * owner died): geometry, 0 <= tail - head <= capacity, no pending undo
 * record, every element's length, position and checksum. 0, -IPCF_ECORRUPT,
 * -IPCF_ETIMEDOUT, -ENOTRECOVERABLE (at once, without waiting). */
IPCF_MUST_CHECK int ipcf_shm_queue_validate(struct ipcf_shm_queue *q, int timeout_ms);

/* The same checks on a quiescent image (size bytes at base), without the
 * mutex: for the harness after recovery and for fuzz targets. 0 or
 * -IPCF_ECORRUPT / -IPCF_ESHRUNK. */
IPCF_MUST_CHECK int ipcf_shm_queue_validate_mem(const void *base, size_t size);

/* Apply the undo record of an image (what the EOWNERDEAD path does, minus the
 * mutex): restores the pre-operation state, validates, clears the record.
 * Idempotent. 0 (image now validates), or -IPCF_ECORRUPT (refused: the record
 * is inconsistent with the state, or the restored state does not validate;
 * the image is then unchanged or only partially restored, never "fixed" by
 * guessing). */
IPCF_MUST_CHECK int ipcf_shm_queue_repair_mem(void *base, size_t size);

/* Write a fresh queue image (no mutex/condvar initialisation: for fuzzing and
 * tests of the pure functions). 0, -EINVAL or -ENOSPC. */
IPCF_MUST_CHECK int ipcf_shm_queue_format(void *base, size_t size, uint32_t capacity,
                                          uint32_t elem_max);

#ifdef __cplusplus
}
#endif
#endif
