/* ipcfuzz/error.h — the project's error convention.
 *
 * Every library function returns 0 (or a non-negative count) on success and a
 * negative error code on failure: either -errno (e.g. -EINTR, -ENOENT) or
 * -IPCF_E* for conditions the kernel has no errno for. errno itself is never
 * part of the API. ipcf_strerror() names both kinds.
 */
#ifndef IPCFUZZ_ERROR_H
#define IPCFUZZ_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* Project error codes. They start well above any errno value. Returned negated. */
enum ipcf_error {
    IPCF_EBASE = 4096,
    IPCF_EBADMAGIC,  /* frame: header magic is wrong (stream desynchronised) */
    IPCF_EVERSION,   /* frame: unsupported protocol version */
    IPCF_EOVERSIZE,  /* frame: announced length exceeds the configured maximum */
    IPCF_EBADCRC,    /* frame: checksum mismatch */
    IPCF_ETRUNCATED, /* stream ended (or peer died) in the middle of a frame */
    IPCF_EPOISONED,  /* decoder/channel refuses further input after a fatal error */
    IPCF_ECORRUPT,   /* shared structure failed validation (peer-written data) */
    IPCF_EPARSE,     /* text input (plan, reproducer file) does not parse */
    IPCF_ESTALE,     /* a persistent name belongs to a dead owner */
    IPCF_EPEER,      /* peer misbehaved: credentials, protocol, or died */
    IPCF_ETIMEDOUT,  /* a bounded wait expired (distinct from a kernel ETIMEDOUT) */
    IPCF_ECLOSED,    /* peer closed the channel cleanly */
    IPCF_ESHRUNK,    /* mapped segment shrank under us (SIGBUS caught, access abandoned) */
    IPCF_ELAST
};

/* Human-readable text for a code returned by any ipcfuzz function: accepts
 * -errno, -IPCF_E*, or their positive values. Never returns NULL. The string
 * is static for IPCF_E* codes and thread-local for errno values. */
const char *ipcf_strerror(int err);

/* Mark results that must not be dropped. */
#define IPCF_MUST_CHECK __attribute__((warn_unused_result))

/* Propagate a negative result to the caller: IPCF_TRY(ipcf_foo(...)); */
#define IPCF_TRY(expr)                                                                             \
    do {                                                                                           \
        int ipcf__try_rc = (int)(expr);                                                            \
        if (ipcf__try_rc < 0)                                                                      \
            return ipcf__try_rc;                                                                   \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
