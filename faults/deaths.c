/* deaths.c — record the crash of any process of a black-box program tree.
 *
 * `ipcfuzz exec` sees the wait status of the program's main process only; a
 * worker it forked that dies of SIGSEGV while the main process exits 0 would
 * go unnoticed. When IPCF_DEATHS names a file, the interposer's constructor
 * (init.c) installs, in every process of the tree, a handler for the crash
 * signals whose disposition is still the default. The handler appends one
 * line to that file and dies of the same signal, so the process's parent
 * sees exactly the wait status it would have seen without us:
 *
 *   <pid> <signal number> <process name>\n
 *
 * (one write(2) of less than PIPE_BUF bytes to an O_APPEND file: lines of
 * processes dying together do not interleave).
 *
 * Contract and limits:
 *  - only SIG_DFL dispositions are taken: a handler the program installs
 *    later replaces ours (the program then owns its crashes), and a
 *    sanitizer's handlers, installed before us, are left alone;
 *  - the handler is async-signal-safe (raw system calls, no stdio, no malloc)
 *    and runs on the faulting thread with SA_RESETHAND | SA_NODEFER: the
 *    raise() at its end meets the default action at once;
 *  - SIGPIPE is not recorded: a pipeline's producer dying of it when its
 *    reader is done is normal (exec judges the main process's SIGPIPE);
 *  - a stack overflow is recorded on the main thread (alternate stack, also
 *    in forked children), not in other threads; a process that cannot open
 *    the file at that moment (no descriptor left, a different uid: the file
 *    is 0600) dies unrecorded;
 *  - a signal= storm of a crash signal replaces this handler with its no-op
 *    one (faults/actions.c), so the storm interrupts and is not a crash;
 *  - handlers are inherited by fork and re-installed after exec by the
 *    constructor, which runs in every image the preload library is loaded in.
 */
#include <errno.h> /* program_invocation_short_name */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGTRAP};

static char deaths_path[256];

/* Decimal of v into p (no NUL); returns the length. */
static size_t put_uint(char *p, unsigned long v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof(tmp));
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

static void on_crash(int sig)
{
    char line[128];
    size_t n = put_uint(line, (unsigned long)syscall(SYS_getpid));
    line[n++] = ' ';
    n += put_uint(line + n, (unsigned long)sig);
    line[n++] = ' ';
    const char *name = program_invocation_short_name ? program_invocation_short_name : "?";
    for (size_t i = 0; name[i] && n < sizeof(line) - 1; i++)
        line[n++] = (name[i] == ' ' || name[i] == '\n') ? '_' : name[i];
    line[n++] = '\n';
    long fd = syscall(SYS_openat, AT_FDCWD, deaths_path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd >= 0) {
        (void)syscall(SYS_write, fd, line, n);
        (void)syscall(SYS_close, fd);
    }
    /* SA_RESETHAND restored the default; SA_NODEFER lets it act now. */
    (void)syscall(SYS_tgkill, syscall(SYS_getpid), syscall(SYS_gettid), sig);
}

int ipcf__deaths_owns(void (*h)(int))
{
    return h == on_crash;
}

/* An alternate stack, so a process that overflowed its stack still records
 * its SIGSEGV (inherited by fork; a thread or a program that sets its own
 * stack goes without). */
static char alt_stack[64 * 1024] __attribute__((aligned(16)));

void ipcf__deaths_install(void)
{
    const char *path = getenv("IPCF_DEATHS");
    if (!path || !path[0] || strlen(path) >= sizeof(deaths_path))
        return;
    memcpy(deaths_path, path, strlen(path) + 1);
    struct sigaction sa, old;
    stack_t ss;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_crash;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_DISABLE)) {
        ss.ss_sp = alt_stack;
        ss.ss_size = sizeof(alt_stack);
        ss.ss_flags = 0;
        if (sigaltstack(&ss, NULL) == 0)
            sa.sa_flags |= SA_ONSTACK;
    }
    for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
        if (sigaction(crash_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
            !(old.sa_flags & SA_SIGINFO))
            (void)sigaction(crash_signals[i], &sa, NULL);
}
