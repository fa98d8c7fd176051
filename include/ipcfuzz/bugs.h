/* ipcfuzz/bugs.h — planted bugs, switchable at run time.
 *
 * Every robustness check of the harness is proven by a planted bug that makes
 * it fail. A target defines each of its bugs once, at file scope:
 *
 *   IPCF_BUG_DEFINE(pipe_no_eintr_retry, "reader gives up on EINTR");
 *
 * and tests it where the bug lives:
 *
 *   if (IPCF_BUG(pipe_no_eintr_retry)) return -EINTR;
 *
 * Bugs are off unless named in IPCF_BUGS (comma-separated, read once at first
 * use, inherited across fork and exec) or enabled with ipcf_bugs_set(). The
 * definitions are collected in a linker section, so `ipcfuzz list` can list
 * every planted bug linked into a binary without a central table.
 */
#ifndef IPCFUZZ_BUGS_H
#define IPCFUZZ_BUGS_H

#include <stdbool.h>
#include <stddef.h>
#include "ipcfuzz/error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ipcf_bug {
    const char *name;
    const char *desc;
    volatile int enabled;
};

#define IPCF_BUG_DEFINE(id, description)                                                           \
    struct ipcf_bug ipcf_bug_##id = {#id, description, 0};                                         \
    struct ipcf_bug *ipcf_bug_ptr_##id __attribute__((section("ipcf_bugs"), used)) = &ipcf_bug_##id

/* Declare a bug defined in another file of the same target. */
#define IPCF_BUG_EXTERN(id) extern struct ipcf_bug ipcf_bug_##id

/* True when the bug is enabled in this process. */
#define IPCF_BUG(id) ipcf__bug_on(&ipcf_bug_##id)

bool ipcf__bug_on(struct ipcf_bug *bug);

/* Enable exactly the bugs named in list ("a,b,c"; "" disables all) and export
 * the list as IPCF_BUGS for child processes. -ENOENT if a name is not linked
 * into this binary (nothing changes then). */
IPCF_MUST_CHECK int ipcf_bugs_set(const char *list);

/* Iterate over every bug linked into this binary: returns NULL past the end. */
const struct ipcf_bug *ipcf_bugs_at(size_t index);

#ifdef __cplusplus
}
#endif
#endif
