/* ipcfuzz/mmap_log.h — append-only record log in a file mapped MAP_SHARED.
 *
 * One writer appends; any number of readers (other processes) map the same
 * file and read committed records. A record is committed when the header's
 * `committed` offset covers it; the writer stores it (release) only after the
 * whole record is written. Semantics:
 *  - a record whose append returned 0 survives the writer's death;
 *  - a record torn by the writer's death (header and part of the payload
 *    written) is never delivered: recovery detects it by its checksum and
 *    truncates it (zeroes its bytes; `committed` stays before it);
 *  - a record completely written but not yet committed when the writer died
 *    is "in doubt": recovery verifies it in full and rolls it forward;
 *  - a file truncated under a reader or the writer gives -IPCF_ESHRUNK, never
 *    a SIGBUS; damage inside the committed range gives -IPCF_ECORRUPT.
 * Layout and recovery: targets/mmap_log/mmap_log.c.
 */
#ifndef IPCFUZZ_MMAP_LOG_H
#define IPCFUZZ_MMAP_LOG_H

#include <stddef.h>
#include <stdint.h>
#include "ipcfuzz/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IPCF_LOG_HDR_SIZE   64u
#define IPCF_LOG_REC_HDR    24u        /* {u32 magic, u32 length, u64 seq, u32 sum, u32 0} */
#define IPCF_LOG_MAX_RECORD (1u << 20) /* payload bytes */

struct ipcf_log;

struct ipcf_log_recovery {
    uint64_t records;        /* records in the log after recovery */
    uint64_t rolled_forward; /* complete but uncommitted records accepted */
    int torn;                /* a torn record was found past the commit point */
    uint64_t zeroed;         /* bytes cleared after the last good record */
};

struct ipcf_log_cursor {
    uint64_t off; /* byte offset of the next record (0 = start) */
    uint64_t seq; /* its expected sequence number */
};

/* Create a new log file at path (O_EXCL, mode 0600) of capacity bytes
 * (IPCF_LOG_HDR_SIZE + room for records), opened for writing. 0 or -errno. */
IPCF_MUST_CHECK int ipcf_log_create(const char *path, size_t capacity, struct ipcf_log **out);

/* Open an existing log. IPCF_LOG_WRITER: recover first (report in *rep if
 * non-NULL), then appends are allowed; there must be one writer at a time.
 * Without it: a reader. -IPCF_ESHRUNK if the file is smaller than its header
 * says, -IPCF_ECORRUPT if the header or the committed records are damaged. */
#define IPCF_LOG_WRITER 1u
IPCF_MUST_CHECK int ipcf_log_open(const char *path, unsigned flags, struct ipcf_log **out,
                                  struct ipcf_log_recovery *rep);

/* Unmap and close (the file stays). NULL is a no-op. */
void ipcf_log_close(struct ipcf_log *log);

/* Writer: append len bytes (1..IPCF_LOG_MAX_RECORD). 0; -EMSGSIZE; -ENOSPC;
 * -EBADF (not a writer); -IPCF_ESHRUNK. */
IPCF_MUST_CHECK int ipcf_log_append(struct ipcf_log *log, const void *p, size_t len);

/* Read the committed record at *cur into buf (cap bytes) and advance *cur
 * (zero-initialise it to start). 0; -ENOENT at the end of committed records;
 * -EMSGSIZE (cap too small; *cur unchanged); -IPCF_ECORRUPT; -IPCF_ESHRUNK. */
IPCF_MUST_CHECK int ipcf_log_read(struct ipcf_log *log, struct ipcf_log_cursor *cur, void *buf,
                                  size_t cap, size_t *len);

/* Run recovery again on an open writer (what open does). */
IPCF_MUST_CHECK int ipcf_log_recover(struct ipcf_log *log, struct ipcf_log_recovery *rep);

/* Validate a quiescent log image (size bytes at base): header, and every
 * committed record (magic, bounds, sequence, checksum) ending exactly at the
 * committed offset. 0, -IPCF_ECORRUPT or -IPCF_ESHRUNK. */
IPCF_MUST_CHECK int ipcf_log_validate(const void *base, size_t size);

#ifdef __cplusplus
}
#endif
#endif
