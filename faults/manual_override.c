/* manual_override.c — hand-written libc overrides: the variadic open family and
 * the _FORTIFY_SOURCE entry points (__read_chk & co.), which programs built
 * with -D_FORTIFY_SOURCE call instead of read()/recv()/open(). Each checks
 * what glibc's version checks, then forwards to the injecting wrapper of its
 * call set. Linked only into ipcf_interpose and the preload library. */
#undef _FORTIFY_SOURCE
#include <fcntl.h>
#include <stdarg.h>

#include "ipcfuzz/faults_wrap.h"
#include "internal.h"

extern void __chk_fail(void) __attribute__((noreturn));

#define VA_MODE(flags, last)                                                                       \
    mode_t mode = 0;                                                                               \
    if ((flags) & (O_CREAT | O_TMPFILE)) {                                                         \
        va_list ap;                                                                                \
        va_start(ap, last);                                                                        \
        mode = (mode_t)va_arg(ap, int);                                                            \
        va_end(ap);                                                                                \
    }

IPCF__EXPORT int open(const char *pathname, int flags, ...)
{
    VA_MODE(flags, flags);
    return ipcf_wrap_open(pathname, flags, mode);
}

IPCF__EXPORT int open64(const char *pathname, int flags, ...)
{
    VA_MODE(flags, flags);
    return ipcf_wrap_open(pathname, flags, mode);
}

IPCF__EXPORT int openat(int dirfd, const char *pathname, int flags, ...)
{
    VA_MODE(flags, flags);
    return ipcf_wrap_openat(dirfd, pathname, flags, mode);
}

IPCF__EXPORT int openat64(int dirfd, const char *pathname, int flags, ...)
{
    VA_MODE(flags, flags);
    return ipcf_wrap_openat(dirfd, pathname, flags, mode);
}

/* glibc's fortified open without a mode argument */
int __open_2(const char *pathname, int flags);
int __open64_2(const char *pathname, int flags);
int __openat_2(int dirfd, const char *pathname, int flags);
int __openat64_2(int dirfd, const char *pathname, int flags);
ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen);
ssize_t __pread_chk(int fd, void *buf, size_t count, off_t offset, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t count, off64_t offset, size_t buflen);
ssize_t __recv_chk(int sockfd, void *buf, size_t len, size_t buflen, int flags);
ssize_t __recvfrom_chk(int sockfd, void *buf, size_t len, size_t buflen, int flags,
                       __SOCKADDR_ARG src_addr, socklen_t *addrlen);

IPCF__EXPORT int __open_2(const char *pathname, int flags)
{
    if (flags & (O_CREAT | O_TMPFILE))
        __chk_fail();
    return ipcf_wrap_open(pathname, flags);
}

IPCF__EXPORT int __open64_2(const char *pathname, int flags)
{
    if (flags & (O_CREAT | O_TMPFILE))
        __chk_fail();
    return ipcf_wrap_open(pathname, flags);
}

IPCF__EXPORT int __openat_2(int dirfd, const char *pathname, int flags)
{
    if (flags & (O_CREAT | O_TMPFILE))
        __chk_fail();
    return ipcf_wrap_openat(dirfd, pathname, flags);
}

IPCF__EXPORT int __openat64_2(int dirfd, const char *pathname, int flags)
{
    if (flags & (O_CREAT | O_TMPFILE))
        __chk_fail();
    return ipcf_wrap_openat(dirfd, pathname, flags);
}

IPCF__EXPORT ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen)
{
    if (count > buflen)
        __chk_fail();
    return ipcf_wrap_read(fd, buf, count);
}

IPCF__EXPORT ssize_t __pread_chk(int fd, void *buf, size_t count, off_t offset, size_t buflen)
{
    if (count > buflen)
        __chk_fail();
    return ipcf_wrap_pread(fd, buf, count, offset);
}

IPCF__EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t count, off64_t offset, size_t buflen)
{
    if (count > buflen)
        __chk_fail();
    return ipcf_wrap_pread(fd, buf, count, offset);
}

IPCF__EXPORT ssize_t __recv_chk(int sockfd, void *buf, size_t len, size_t buflen, int flags)
{
    if (len > buflen)
        __chk_fail();
    return ipcf_wrap_recv(sockfd, buf, len, flags);
}

IPCF__EXPORT ssize_t __recvfrom_chk(int sockfd, void *buf, size_t len, size_t buflen, int flags,
                                    __SOCKADDR_ARG src_addr, socklen_t *addrlen)
{
    if (len > buflen)
        __chk_fail();
    return ipcf_wrap_recvfrom(sockfd, buf, len, flags, src_addr, addrlen);
}
