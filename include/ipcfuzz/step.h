/* ipcfuzz/step.h — named steps inside shared-memory critical sections.
 *
 * The shared-memory targets mark every point between two stores that matter
 * for crash recovery with IPCF_STEP("target.op.step"). A step is an IPCF_POINT
 * (so fault plans can kill there with `point=NAME`) and also calls a
 * process-wide test hook, which lets a test kill a forked child at an exact
 * step without the fault injector:
 *
 *   static void die_at(const char *step) { if (!strcmp(step, want)) raise(SIGKILL); }
 *   ipcf_step_set_hook(die_at);   // in the child, after fork
 */
#ifndef IPCFUZZ_STEP_H
#define IPCFUZZ_STEP_H

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*ipcf_step_fn)(const char *step);

/* Set (or clear with NULL) the hook called at every step of this process. */
void ipcf_step_set_hook(ipcf_step_fn fn);

/* Report reaching step `name` (a string literal): fault point, then hook. */
void ipcf__step(const char *name);
#define IPCF_STEP(name) ipcf__step(name)

#ifdef __cplusplus
}
#endif
#endif
