/* ipcfuzz/fuzz.h — split one fuzz input into typed values.
 *
 * A fuzz target receives one byte string. To let coverage guidance explore
 * more than a parser (how a stream is chunked, which call fails with EINTR,
 * how short a transfer is), the target reads typed decisions from the input:
 *
 *   struct ipcf_fuzz_input in;
 *   ipcf_fuzz_init(&in, data, size);
 *   size_t chunk  = ipcf_fuzz_range(&in, 1, 64);     // an integer in [1, 64]
 *   bool   flush  = ipcf_fuzz_bool(&in);
 *   size_t kind   = ipcf_fuzz_choice(&in, 3);        // 0, 1 or 2
 *   size_t n;
 *   const uint8_t *run = ipcf_fuzz_bytes(&in, 16, &n); // up to 16 bytes
 *   const uint8_t *rest = ipcf_fuzz_rest(&in, &n);     // whatever is left
 *
 * Layout: decisions (integers, booleans, choices) are taken from the END of the
 * input, byte runs from the FRONT. A mutation of the payload then rarely
 * shifts every later decision, and a mutation of a decision rarely shifts the
 * payload. Both ends meet; nothing is ever read twice or out of bounds.
 *
 * Every function is deterministic (same input, same sequence of calls -> same
 * values) and total: once the input runs out, integers return their lower
 * bound, booleans false, choices 0 and byte runs are empty (length 0, a
 * non-NULL pointer). No function allocates.
 *
 * The fault chooser at the bottom plugs this into the fault scheduler
 * (ipcf_faults_set_chooser) so the same input decides, call by call, which
 * intercepted call is interrupted, refused or shortened.
 */
#ifndef IPCFUZZ_FUZZ_H
#define IPCFUZZ_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The cursor over one input. Fields are private: use the functions. */
struct ipcf_fuzz_input {
    const uint8_t *data;
    size_t head; /* next byte for byte runs (grows) */
    size_t tail; /* one past the next byte for decisions (shrinks) */
};

/* Start reading data[0..size). data may be NULL when size is 0. */
void ipcf_fuzz_init(struct ipcf_fuzz_input *in, const uint8_t *data, size_t size);

/* Bytes not consumed yet (by either end). */
size_t ipcf_fuzz_remaining(const struct ipcf_fuzz_input *in);

/* An integer in [lo, hi] (inclusive). Consumes just enough bytes from the end
 * to cover the width of the range (none when lo == hi, at most 8). Returns lo
 * when the input is exhausted. If lo > hi the two are swapped. */
uint64_t ipcf_fuzz_range(struct ipcf_fuzz_input *in, uint64_t lo, uint64_t hi);

/* ipcf_fuzz_range(in, 0, UINT64_MAX): a full 64-bit value (0 when exhausted). */
uint64_t ipcf_fuzz_u64(struct ipcf_fuzz_input *in);

/* One bit of decision (one byte of input); false when exhausted. */
bool ipcf_fuzz_bool(struct ipcf_fuzz_input *in);

/* An index in [0, n) for choosing among n alternatives; 0 when exhausted or
 * when n is 0 or 1 (then no input is consumed). */
size_t ipcf_fuzz_choice(struct ipcf_fuzz_input *in, size_t n);

/* Pick one element of a NULL-terminated or counted string list:
 * list[ipcf_fuzz_choice(in, n)]. NULL when n is 0. */
const char *ipcf_fuzz_pick(struct ipcf_fuzz_input *in, const char *const *list, size_t n);

/* Up to len bytes from the front. *got (required) receives how many were
 * available (less than len only when the input ran out). The pointer is into
 * the caller's input buffer and is never NULL. */
const uint8_t *ipcf_fuzz_bytes(struct ipcf_fuzz_input *in, size_t len, size_t *got);

/* A byte run whose length the input decides: length = ipcf_fuzz_range(0, max)
 * from the end, then that many bytes (fewer if exhausted) from the front. */
const uint8_t *ipcf_fuzz_bytes_upto(struct ipcf_fuzz_input *in, size_t max, size_t *got);

/* Copy up to cap bytes from the front into buf; returns the count copied. */
size_t ipcf_fuzz_copy(struct ipcf_fuzz_input *in, void *buf, size_t cap);

/* Everything not consumed yet (front to end); afterwards the input is empty. */
const uint8_t *ipcf_fuzz_rest(struct ipcf_fuzz_input *in, size_t *got);

/* ---- Fuzz-driven fault decisions ------------------------------------------ */

struct ipcf_decision; /* ipcfuzz/faults.h */

/* Which transparent faults the chooser may inject (bit set). */
enum {
    IPCF_FUZZ_FAULT_EINTR = 1u << 0,  /* fail with EINTR (call not made) */
    IPCF_FUZZ_FAULT_EAGAIN = 1u << 1, /* fail with EAGAIN (call not made) */
    IPCF_FUZZ_FAULT_SHORT = 1u << 2,  /* transfer at most N bytes (N >= 1) */
    IPCF_FUZZ_FAULT_ALL = 0x7u,
};

/* State of the chooser; fill it, then
 *   ipcf_faults_set_chooser(ipcf_fuzz_chooser, &faults);
 * and reset the chooser (NULL) before the input buffer goes away. */
struct ipcf_fuzz_faults {
    struct ipcf_fuzz_input *in; /* decisions are drawn from here */
    unsigned kinds;             /* IPCF_FUZZ_FAULT_* allowed */
    const char *const *sets;    /* call sets to fault ("read", "recv"...); NULL = every set */
    size_t nsets;
    uint32_t max_short;    /* upper bound of N for short transfers (>= 1; 0 means 64) */
    uint32_t max_faults;   /* stop injecting after this many faults (0 = no cap) */
    uint32_t max_in_a_row; /* at most this many consecutive faults, then one pass (0 = 8) */
    /* Counters the target may read (e.g. for its own bookkeeping). */
    uint64_t calls, faults, eintr, eagain, shorts;
    uint32_t in_a_row;
};

/* An ipcf_chooser_fn: for each intercepted call in one of f->sets, reads one
 * choice from f->in: pass, EINTR, EAGAIN or short=N (only kinds allowed in
 * f->kinds). When the input is exhausted every call passes, so a retry loop
 * always terminates. Never blocks, never allocates. */
void ipcf_fuzz_chooser(void *ctx, const char *set, uint64_t index, struct ipcf_decision *d);

#ifdef __cplusplus
}
#endif
#endif
