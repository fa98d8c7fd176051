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

/* Install the process-wide SIGBUS handler (thread-safe). If the current
 * disposition is not ours (never installed, or replaced since), install it and
 * remember the current one as the disposition to chain to; else do nothing.
 * ipcf_sigbus_enter() installs on first use. A forked child that resets
 * SIGBUS (e.g. to drop a test framework's handler) calls this again.
 * 0 or -errno from sigaction. */
IPCF_MUST_CHECK int ipcf_sigbus_install(void);

/* Push fr on this thread's frame stack (installs the handler if needed). */
void ipcf_sigbus_enter(struct ipcf_sigbus_frame *fr);

/* Pop fr (must be the top frame) after the guarded accesses completed. */
void ipcf_sigbus_leave(struct ipcf_sigbus_frame *fr);

/* Guarded memcpy for the common case: copies n bytes; 0, or -IPCF_ESHRUNK when
 * a page of src or dst vanished (dst/src partially written then). */
IPCF_MUST_CHECK int ipcf_sigbus_copy(void *dst, const void *src, size_t n);

/* Number of SIGBUS faults this process turned into errors (for tests). */
unsigned long ipcf_sigbus_caught(void);

#ifdef __cplusplus
}
#endif
#endif
