/* error.c — ipcf_strerror(): text for -errno and -IPCF_E* codes. */
#include <string.h>
#include <stdio.h>
#include "ipcfuzz/error.h"

static const char *const ipcf_messages[IPCF_ELAST - IPCF_EBASE] = {
    [0] = "ipcfuzz error base",
    [IPCF_EBADMAGIC - IPCF_EBASE] = "bad frame magic",
    [IPCF_EVERSION - IPCF_EBASE] = "unsupported frame version",
    [IPCF_EOVERSIZE - IPCF_EBASE] = "frame larger than the configured maximum",
    [IPCF_EBADCRC - IPCF_EBASE] = "frame checksum mismatch",
    [IPCF_ETRUNCATED - IPCF_EBASE] = "stream truncated in the middle of a frame",
    [IPCF_EPOISONED - IPCF_EBASE] = "stream poisoned by an earlier error",
    [IPCF_ECORRUPT - IPCF_EBASE] = "shared data failed validation",
    [IPCF_EPARSE - IPCF_EBASE] = "parse error",
    [IPCF_ESTALE - IPCF_EBASE] = "name belongs to a dead owner",
    [IPCF_EPEER - IPCF_EBASE] = "peer misbehaved",
    [IPCF_ETIMEDOUT - IPCF_EBASE] = "bounded wait expired",
    [IPCF_ECLOSED - IPCF_EBASE] = "peer closed the channel",
    [IPCF_ESHRUNK - IPCF_EBASE] = "mapped segment was truncated under the reader (SIGBUS)",
};

const char *ipcf_strerror(int err)
{
    static __thread char buf[96];

    if (err < 0)
        err = -err;
    if (err > IPCF_EBASE && err < IPCF_ELAST)
        return ipcf_messages[err - IPCF_EBASE];
    if (err >= IPCF_EBASE) {
        snprintf(buf, sizeof(buf), "unknown ipcfuzz error %d", err);
        return buf;
    }
    /* strerror_r (GNU variant) may return a static string or fill buf. */
    return strerror_r(err, buf, sizeof(buf));
}
