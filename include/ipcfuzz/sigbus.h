/* ipcfuzz/sigbus.h — survive SIGBUS when a mapped segment shrinks under us.
 *
 * A POSIX shm object or a mapped file can be truncated by another process at
 * any time (it cannot be sealed); the next access to a page past the new end
 * raises SIGBUS (BUS_ADRERR). Code that touches such a mapping brackets the
 * accesses with a frame:
 *
 *   struct ipcf_sigbus_frame fr;
 *   ipcf_sigbus_enter(&fr);
 *   if (sigsetjmp(fr.env, 0)) return -IPCF_ESHRUNK;  // the handler already left fr
 *   ... loads/stores to the mapping ...
 *   ipcf_sigbus_leave(&fr);
 *
 * sigsetjmp must be called in the function that owns the frame (it cannot be
 * wrapped in a helper), hence the two-line pattern. Frames nest and are
 * thread-local. The handler is installed once per process (SA_NODEFER, so the
 * mask need not be saved: sigsetjmp(env, 0) costs no system call) and chains to
 * the previous disposition for any SIGBUS that is not a fault inside a frame,
 * so a stray SIGBUS still kills the process as it would have.
 *
 * Rules for code inside a frame: no locks taken, no allocation, nothing whose
 * state would be left half-changed by a jump out; every local that must be read
 * after the jump is volatile (or simply: only return an error after it).
 */
#ifndef IPCFUZZ_SIGBUS_H
#define IPCFUZZ_SIGBUS_H

#include <setjmp.h>
#include <stddef.h>
#include "ipcfuzz/error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ipcf_sigbus_frame {
    sigjmp_buf env;
    struct ipcf_sigbus_frame *prev;
};

/* Install the process-wide SIGBUS handler (thread-safe). Always reads the
 * current disposition (one sigaction): if it is not ours (never installed, or
 * replaced since), install ours and remember the current one as the
 * disposition to chain to; else do nothing. ipcf_sigbus_enter() only tests a
 * flag (no system call) and installs on the first use in each process: the
 * flag is cleared in a forked child, so a child that resets SIGBUS after fork
 * (a harness's peers, a test framework's children) is covered without doing
 * anything. A process that replaces SIGBUS after it used the guard calls
 * this again (the shm targets do at attach/open).
 * 0 or -errno from sigaction / pthread_atfork. */
IPCF_MUST_CHECK int ipcf_sigbus_install(void);

/* Push fr on this thread's frame stack (installs the handler if needed). */
void ipcf_sigbus_enter(struct ipcf_sigbus_frame *fr);

/* Pop fr (must be the top frame) after the guarded accesses completed. */
void ipcf_sigbus_leave(struct ipcf_sigbus_frame *fr);

/* Guarded memcpy for the common case: copies n bytes; 0, or -IPCF_ESHRUNK when
 * a page of src or dst vanished (dst/src partially written then). */
IPCF_MUST_CHECK int ipcf_sigbus_copy(void *dst, const void *src, size_t n);

/* ThreadSanitizer builds only (a no-op otherwise): read one byte at p with an
 * uninstrumented load. Call it inside a frame, right after sigsetjmp, before
 * atomics on the same page. Why: under TSan every atomic is a runtime call
 * that takes an internal lock around the real access; a fault there and the
 * jump out of the handler leave that lock held, and the process later hangs
 * in the runtime (seen: peers hung at exit after a truncation). The probe
 * takes the fault first, outside the runtime. A truncation by another process
 * between the probe and the atomic can still hit it: a TSan-only residue. */
#if defined(__SANITIZE_THREAD__)
#define IPCF__SIGBUS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define IPCF__SIGBUS_TSAN 1
#endif
#endif
#ifdef IPCF__SIGBUS_TSAN
void ipcf_sigbus_probe(const void *p);
#else
static inline void ipcf_sigbus_probe(const void *p)
{
    (void)p;
}
#endif

/* Number of SIGBUS faults this process turned into errors (for tests). */
unsigned long ipcf_sigbus_caught(void);

#ifdef __cplusplus
}
#endif
#endif
