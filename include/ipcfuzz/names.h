/* ipcfuzz/names.h — run-unique names for persistent IPC objects.
 *
 * Every object a run creates that outlives a process (a /dev/shm object, a
 * POSIX message queue, a FIFO or socket path, a System V key) is named under
 * the run's prefix, so the names audit sees exactly what a run created and the
 * sweeper can remove what a dead run left:
 *
 *   POSIX shm / mqueue:   /ipcf.<run-pid>.<tag>
 *   paths (FIFO, socket): <tmpdir>/ipcf.<run-pid>.d/<tag>   (directory mode 0700)
 *
 * <run-pid> is the pid of the supervisor that owns the run. A supervisor calls
 * ipcf_run_begin() once; it exports IPCF_RUN_ID (and IPCF_RUN_TMPDIR) so that
 * every process it forks or execs inherits the same run. A process with no
 * supervisor is its own run. <tmpdir> is $TMPDIR, else /tmp.
 */
#ifndef IPCFUZZ_NAMES_H
#define IPCFUZZ_NAMES_H

#include <stddef.h>
#include <sys/types.h>
#include "ipcfuzz/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IPCF_NAME_PREFIX "ipcf."
#define IPCF_NAME_MAX    108 /* fits sockaddr_un.sun_path including the NUL */

/* Make the calling process the owner of a new run: sets IPCF_RUN_ID to its pid
 * and IPCF_RUN_TMPDIR in the environment (inherited by children). 0 or -errno. */
IPCF_MUST_CHECK int ipcf_run_begin(void);

/* The pid that owns the current run (IPCF_RUN_ID, else getpid()). */
pid_t ipcf_run_id(void);

/* The run directory path (not created). 0, or -ENAMETOOLONG. */
IPCF_MUST_CHECK int ipcf_run_dir(char *buf, size_t cap);

/* Create the run directory if absent (mode 0700). If it exists it must be a
 * directory owned by us with mode 0700, else -EPERM (someone else's or tampered). */
IPCF_MUST_CHECK int ipcf_run_dir_create(void);

/* "/ipcf.<run>.<tag>" for shm_open / mq_open. tag: [A-Za-z0-9_.-]+. 0 or -errno. */
IPCF_MUST_CHECK int ipcf_name_posix(char *buf, size_t cap, const char *tag);

/* "<run dir>/<tag>" for FIFOs and sockets; creates the run directory. 0 or -errno
 * (-ENAMETOOLONG when the result would not fit a sockaddr_un). */
IPCF_MUST_CHECK int ipcf_name_path(char *buf, size_t cap, const char *tag);

/* Remove every name of run <run> (0 = the current run): /dev/shm/ipcf.<run>.*,
 * /dev/mqueue/ipcf.<run>.* (when mqueue is mounted) and the run directory tree.
 * Returns the number of names removed, or -errno for the first hard failure. */
int ipcf_run_remove_names(pid_t run);

/* If <name> (a basename such as "ipcf.123.ring" or "ipcf.123.d") is an ipcfuzz
 * name, store its run pid in *run and return 1; otherwise return 0. */
int ipcf_name_parse_run(const char *name, pid_t *run);

#ifdef __cplusplus
}
#endif
#endif
