/* init.c — the interposer's constructor: install the scheduler's fork
 * handlers and configure it from the environment (IPCF_PLAN, IPCF_SEED,
 * IPCF_PEER, IPCF_TRACE) before main().
 * Part of ipcf_interpose and of libipcfuzz_preload.so, so a program gets the
 * same behaviour whether the wrappers are linked in or preloaded.
 *
 * A bad IPCF_PLAN or IPCF_SEED stops the program with exit code 2 and a
 * message naming the variable and the byte position: running the program
 * without the faults the user asked for would be a silently wrong test. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

__attribute__((constructor)) static void ipcf_interpose_init(void)
{
    /* Fork handlers now, once: otherwise every peer a supervisor forks would
     * install them itself (a malloc and page faults per child). */
    ipcf__atfork_once();
    ipcf__deaths_install(); /* only under `ipcfuzz exec` (IPCF_DEATHS) */
    struct ipcf_plan_error err;
    int rc = ipcf_faults_load_env(&err);
    if (rc >= 0)
        return;
    char msg[400];
    int n = snprintf(msg, sizeof(msg), "ipcfuzz: bad fault configuration: %s\n", err.msg);
    if (n > 0)
        ipcf__write_all(2, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
    _exit(2);
}
