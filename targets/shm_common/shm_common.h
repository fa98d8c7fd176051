/* shm_common.h — internal helpers shared by the shared-memory targets
 * (shm_ring, shm_mutex, mmap_log): the record checksum and peer identity. */
#ifndef IPCF_SHM_COMMON_H
#define IPCF_SHM_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* 32-bit checksum of n bytes, keyed by seed (callers mix in the sequence
 * number, so a stale record from an earlier lap does not verify). Detects torn
 * and flipped bytes; not cryptographic: a hostile peer can forge it, which is
 * why every consumer also bounds-checks lengths and indices. */
uint32_t ipcf__shm_sum(const void *p, size_t n, uint64_t seed);

/* open(2) retried on EINTR (at most 1000 in a row): the fd, or -1 with errno. */
int ipcf__open_retry(const char *path, int flags, mode_t mode);

/* Start time of process pid (field 22 of /proc/pid/stat, clock ticks since
 * boot), or 0 when pid does not exist or is a zombie. (pid, start time) names a
 * process unambiguously even after its pid is reused. */
uint64_t ipcf__proc_start(pid_t pid);

/* 1 if the process identified by (pid, start) is alive, else 0 (pid 0 = none). */
int ipcf__proc_alive(pid_t pid, uint64_t start);

#endif
