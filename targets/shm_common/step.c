/* step.c — IPCF_STEP: a fault point plus a test hook (ipcfuzz/step.h). */
#include "ipcfuzz/faults.h"
#include "ipcfuzz/step.h"

static ipcf_step_fn hook;

void ipcf_step_set_hook(ipcf_step_fn fn)
{
    hook = fn;
}

void ipcf__step(const char *name)
{
    IPCF_POINT(name);
    ipcf_step_fn fn = hook;
    if (fn)
        fn(name);
}
