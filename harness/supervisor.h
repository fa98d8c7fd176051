/* supervisor.h — run one iteration of a scenario under a fault plan and judge it.
 *
 * The supervisor forks every peer of the scenario in its own process group
 * (setpgid, PR_SET_PDEATHSIG(SIGKILL) with the getppid race check), tracks each
 * with a pidfd (waitpid polling where pidfd_open is ENOSYS), captures each
 * peer's stderr through a pipe into a bounded buffer (drained while the peer
 * runs, so it never blocks on a full pipe) and scans it for sanitizer reports,
 * bounds the iteration with a watchdog, restarts peers the plan killed when the
 * scenario allows, and finally runs the scenario's check, the oracle over the
 * ledger and the names audit. Every process it forks is reaped before the
 * iteration returns, its process group SIGKILLed first (no stray grandchild),
 * also when the supervisor receives SIGINT/SIGTERM (see ipcf__sup_signals).
 */
#ifndef IPCF_HARNESS_SUPERVISOR_H
#define IPCF_HARNESS_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include "ipcfuzz/ipcfuzz.h"
#include "oracle.h"

#define IPCF_SUP_DEFAULT_TIMEOUT_MS 10000
#define IPCF_SUP_EXCERPT_MAX        512

struct ipcf_sup_config {
    int timeout_ms;        /* watchdog per iteration; 0 = IPCF_SUP_DEFAULT_TIMEOUT_MS */
    unsigned messages;     /* workload size; 0 = the scenario's default */
    const char *trace_dir; /* non-NULL: each peer incarnation traces every intercepted call
                              to <trace_dir>/<peer>.<incarnation>.trace */
    bool echo_stderr;      /* also copy the peers' stderr to ours */
    bool no_audit;         /* skip the names audit (tests of the supervisor itself) */
};

/* What one iteration did. Owned by the caller; ipcf__sup_result_free releases it. */
struct ipcf_sup_result {
    struct ipcf_findings findings; /* empty = ok */
    enum ipcf_verdict verdict;     /* ipcf_findings_verdict(&findings) */
    enum ipcf_fault_class fault_class;
    uint64_t trace_hash; /* decisions of every peer that finished + how each ended */
    unsigned kills;      /* incarnations killed by the plan */
    unsigned restarts;   /* incarnations started by a restart */
    unsigned crashes, hangs;
    int64_t elapsed_ms;
    char sanitizer[IPCF_SUP_EXCERPT_MAX]; /* first sanitizer excerpt, "" if none */
};

struct ipcf_sup;

/* A supervisor: owns the ledger and its per-campaign state. Calls
 * ipcf_run_begin() only if no run is active in this process (IPCF_RUN_ID unset
 * or not ours): the caller normally did. 0 or -errno. */
IPCF_MUST_CHECK int ipcf__sup_create(struct ipcf_sup **out, const struct ipcf_sup_config *cfg);
void ipcf__sup_destroy(struct ipcf_sup *sup);

/* Run and judge one iteration of s under plan (NULL = no faults) and seed.
 * res is initialised here. Returns 0 (res filled, whatever the verdict),
 * -EINTR when SIGINT/SIGTERM arrived (every peer killed and reaped, names
 * swept; res holds what was judged so far), or -errno / -IPCF_E* for an
 * internal error (setup failed, fork failed...). */
IPCF_MUST_CHECK int ipcf__sup_iteration(struct ipcf_sup *sup, const struct ipcf_scenario *s,
                                        const struct ipcf_plan *plan, uint64_t seed,
                                        uint64_t iteration, struct ipcf_sup_result *res);

void ipcf__sup_result_free(struct ipcf_sup_result *res);

/* Install SIGINT/SIGTERM handlers that make the running iteration stop (kill
 * and reap every peer, sweep names) and every later iteration return -EINTR.
 * 0 or -errno. */
IPCF_MUST_CHECK int ipcf__sup_signals(void);

/* The signal that asked us to stop, or 0. */
int ipcf__sup_stop_signal(void);

/* Translate the scenario's stream declarations for the oracle. Returns the
 * number written to sem[0..cap). */
size_t ipcf__scenario_semantics(const struct ipcf_scenario *s, struct ipcf_semantics *sem,
                                size_t cap);

/* Index of sanitizer report text in buf[0..len) or -1; *which names the kind. */
long ipcf__sanitizer_scan(const char *buf, size_t len, const char **which);

#endif
