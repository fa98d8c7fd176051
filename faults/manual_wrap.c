/* manual_wrap.c — the injecting wrappers the generator cannot express: the
 * variadic open() and openat() (the mode argument exists only with O_CREAT or
 * O_TMPFILE). Same flow as the generated wrappers in wrap_gen.c. */
#undef _FORTIFY_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>

#include "ipcfuzz/faults_wrap.h"
#include "internal.h"

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);

/* Common tail: the call was decided IPCF__ACT. */
#define IPCF_OPEN_ACT(call_expr)                                                                   \
    do {                                                                                           \
        if (cx.fake) {                                                                             \
            ipcf__end(&cx);                                                                        \
            if (cx.fake_errno) {                                                                   \
                errno = cx.fake_errno;                                                             \
                return -1;                                                                         \
            }                                                                                      \
            return (int)cx.fake_ret;                                                               \
        }                                                                                          \
        ipcf__arm(&cx);                                                                            \
        int r_ = (call_expr);                                                                      \
        int e_ = errno;                                                                            \
        ipcf__disarm(&cx);                                                                         \
        ipcf__end(&cx);                                                                            \
        errno = e_;                                                                                \
        return r_;                                                                                 \
    } while (0)

int ipcf_wrap_open(const char *pathname, int flags, ...)
{
    open_fn fn = (open_fn)ipcf__real(IPCF__CALL_open);
    mode_t mode = 0;
    struct ipcf__ctx cx;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    int st = ipcf__begin(&cx, IPCF__CALL_open);
    if (st == IPCF__NEED_NB)
        st = ipcf__commit(&cx, 1, 1);
    if (st == IPCF__PASS)
        return fn(pathname, flags, mode);
    IPCF_OPEN_ACT(fn(pathname, flags, mode));
}

int ipcf_wrap_openat(int dirfd, const char *pathname, int flags, ...)
{
    openat_fn fn = (openat_fn)ipcf__real(IPCF__CALL_openat);
    mode_t mode = 0;
    struct ipcf__ctx cx;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    int st = ipcf__begin(&cx, IPCF__CALL_openat);
    if (st == IPCF__NEED_NB)
        st = ipcf__commit(&cx, 1, 1);
    if (st == IPCF__PASS)
        return fn(dirfd, pathname, flags, mode);
    IPCF_OPEN_ACT(fn(dirfd, pathname, flags, mode));
}
