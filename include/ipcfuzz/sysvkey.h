/* ipcfuzz/sysvkey.h — run-owned System V IPC keys.
 *
 * System V objects have no name the run prefix can go into, so a run
 * allocates their keys here. ipcf_sysv_key("queue") derives a key from
 * (run id, tag) and records it in the run directory as the file
 * <run dir>/sysv.<tag>, whose content is the key in hex ("0x1a2b3c4d\n").
 * The names audit lists the run's System V objects by these keys, and the
 * sweeper removes the objects of a dead run by reading its key files.
 *
 * The key file is itself one of the run's names: a target that removes its
 * object (IPC_RMID) calls ipcf_sysv_key_remove(), which removes any object
 * left with the key and the key file, so a clean run leaves nothing.
 */
#ifndef IPCFUZZ_SYSVKEY_H
#define IPCFUZZ_SYSVKEY_H

#include <sys/types.h>
#include "ipcfuzz/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IPCF_SYSV_KEY_PREFIX "sysv."

/* The key for `tag` ([A-Za-z0-9_.-]+) in the current run; records the key
 * file (creating the run directory). Idempotent: the same tag in the same run
 * gives the same key. Never IPC_PRIVATE. 0 and *key set, or -EINVAL (bad tag),
 * -ENAMETOOLONG, -errno from the file system. */
IPCF_MUST_CHECK int ipcf_sysv_key(const char *tag, key_t *key);

/* Pure: the key ipcf_sysv_key would derive for (run, tag). */
key_t ipcf_sysv_key_derive(pid_t run, const char *tag);

/* Remove every System V object (shm, msg, sem) with the key of `tag` in the
 * current run, then its key file. Returns the number of things removed (>= 0),
 * or -errno for the first hard failure. Absent objects/file are not errors. */
int ipcf_sysv_key_remove(const char *tag);

/* Remove every System V object whose key is recorded in directory `run_dir`
 * (a run directory, possibly of a dead run). Key files stay. Number of
 * objects removed or -errno. Used by the sweeper. */
int ipcf_sysv_remove_recorded(const char *run_dir);

#ifdef __cplusplus
}
#endif
#endif
