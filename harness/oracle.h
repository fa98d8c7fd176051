/* oracle.h — verdicts: judge one run from its ledger, its declared semantics
 * and the facts the supervisor observed.
 *
 * Pure functions over structs: no process, no file, no clock. The supervisor
 * fills struct ipcf_run_facts, takes a ledger snapshot and calls
 * ipcf_oracle_judge(); the result is a list of findings (empty = ok).
 * docs/oracle.md holds the decision table in prose; oracle.c repeats it.
 */
#ifndef IPCF_HARNESS_ORACLE_H
#define IPCF_HARNESS_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "ipcfuzz/error.h"
#include "ipcfuzz/faults.h"
#include "ipcfuzz/ledger.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Verdicts ---------------------------------------------------------------
 * Stable strings (reports, reproducer files, CI greps): ipcf_verdict_name(). */
enum ipcf_verdict {
    IPCF_VERDICT_OK = 0,          /* "ok" */
    IPCF_VERDICT_LOST,            /* "lost": a committed message never delivered */
    IPCF_VERDICT_DUPLICATED,      /* "duplicated": delivered twice on an exactly-once stream */
    IPCF_VERDICT_CORRUPTED,       /* "corrupted": delivered bytes differ from every version sent */
    IPCF_VERDICT_REORDERED,       /* "reordered": out of seq order on an ordered stream */
    IPCF_VERDICT_TORN,            /* "torn-frame-delivered": a message whose send never
                                     completed (or never began) delivered, and not intact */
    IPCF_VERDICT_HANG,            /* "hang": watchdog fired */
    IPCF_VERDICT_CRASH,           /* "crash": signal death not scheduled by the plan */
    IPCF_VERDICT_SANITIZER,       /* "sanitizer": a sanitizer report was seen */
    IPCF_VERDICT_LEAKED_NAME,     /* "leaked-name": the run left a persistent name */
    IPCF_VERDICT_LEAKED_FD,       /* "leaked-fd": a process kept a descriptor it should not */
    IPCF_VERDICT_INVARIANT,       /* "invariant": the scenario's check failed */
    IPCF_VERDICT_RECOVERY_FAILED, /* "recovery-failed": a restart could not recover */
    IPCF_VERDICT_EXIT,            /* "exit": non-zero exit under a transparent plan */
    IPCF_VERDICT_LEDGER,          /* "ledger": ledger overflowed or corrupt: run not judgeable */
    IPCF_VERDICT_COUNT
};

/* "ok", "lost", ... ; "unknown" for out-of-range values. Never NULL. */
const char *ipcf_verdict_name(enum ipcf_verdict v);

/* Inverse of ipcf_verdict_name: 0 and *out set, or -EINVAL. */
IPCF_MUST_CHECK int ipcf_verdict_parse(const char *name, enum ipcf_verdict *out);

/* ---- Fault classes ---------------------------------------------------------
 * A plan is judged by the kinds of faults it contains (DESIGN §5):
 *  transparent: error=EINTR, error=EAGAIN (EWOULDBLOCK), short, delay, and
 *               signal=SIG other than SIGKILL/SIGSTOP: a correct program shows
 *               no visible difference at all.
 *  destructive: kill=before|after, shrink, corrupt, retval (a lie about the
 *               result), any other errno, signal=SIGKILL/SIGSTOP: a correct
 *               program may fail, but only gracefully.
 * A plan with any destructive action is destructive; an empty plan is NONE. */
enum ipcf_fault_class {
    IPCF_FAULTS_NONE = 0,
    IPCF_FAULTS_TRANSPARENT = 1,
    IPCF_FAULTS_DESTRUCTIVE = 2,
};

/* Bit set of what a plan contains: bit (1u << kind) for each enum
 * ipcf_action_kind used, plus IPCF_KIND_ERROR_HARD when some error= errno is
 * not EINTR/EAGAIN (IPCF_ACT_ERROR's own bit is then still set), and
 * IPCF_KIND_SIGNAL_FATAL when some signal= is SIGKILL or SIGSTOP. */
#define IPCF_KIND_ERROR_HARD   (1u << 20)
#define IPCF_KIND_SIGNAL_FATAL (1u << 21)
typedef uint32_t ipcf_kind_mask;

ipcf_kind_mask ipcf_action_kinds(const struct ipcf_action *a);
ipcf_kind_mask ipcf_plan_kinds(const struct ipcf_plan *plan); /* NULL plan -> 0 */
enum ipcf_fault_class ipcf_fault_class_of(ipcf_kind_mask kinds);
const char *ipcf_fault_class_name(enum ipcf_fault_class c); /* "none" "transparent" "destructive" */

/* A short label of the kinds in a mask for report rows, kinds in enum order
 * joined by '+': "kill+short", "eintr" (error with only EINTR/EAGAIN is
 * "eintr", with a hard errno "error"), "none" for 0. snprintf-style: returns
 * the length needed, writes at most cap bytes (NUL-terminated if cap > 0). */
int ipcf_kinds_label(ipcf_kind_mask kinds, char *buf, size_t cap);

/* ---- Declared semantics, one per stream ------------------------------------ */
enum ipcf_delivery {
    IPCF_EXACTLY_ONCE = 0, /* each committed message delivered once */
    IPCF_AT_LEAST_ONCE,    /* duplicates allowed (resend after restart) */
};

struct ipcf_semantics {
    uint32_t stream;
    bool ordered;                /* receivers see seqs in increasing order */
    enum ipcf_delivery delivery; /* exactly-once or at-least-once */
    /* Messages committed (sent) but not yet received when a RECEIVER dies:
     * true  = they stay in the channel and must reach the restarted/other
     *         receiver (POSIX mq, SysV msg, shm ring; a pipe whose read end is
     *         also held elsewhere); only the receiver's in-hand messages may go.
     * false = the channel dies with the receiver (socket stream; a pipe whose
     *         only reader died): every message pending at the death may be lost. */
    bool survives_receiver_death;
    /* How many messages a receiver can have taken off the channel but not yet
     * recorded when it is killed (1 for message transports; a stream reader's
     * buffer may hold more). These may be lost even when
     * survives_receiver_death. 0 means the scenario acknowledges each message
     * (nothing may be lost). */
    uint32_t receiver_in_hand;
    /* Messages committed before a SENDER dies survive it (true for pipes,
     * sockets, queues and rings; false only if the channel dies with its writer). */
    bool survives_sender_death;
    /* Integrity: true if the receiver validates messages (CRC, framing), so a
     * corrupt= fault must never yield a corrupted delivery. When false, a
     * corrupted delivery under a plan containing corrupt= is excused. */
    bool detects_corruption;
    /* Peer id of the stream's receiver, or -1 to infer it (every peer that
     * recorded a receive on the stream). Used to know which deaths matter. */
    int receiver_peer;
};

/* Defaults for a reliable ordered exactly-once stream whose pending messages
 * survive either peer's death, receiver_in_hand = 1, receiver_peer = -1. */
void ipcf_semantics_default(struct ipcf_semantics *s, uint32_t stream);

/* ---- Facts the supervisor observed ----------------------------------------- */
enum ipcf_peer_end_kind {
    IPCF_END_EXITED = 0,     /* code = exit status */
    IPCF_END_SIGNALED,       /* code = signal; NOT scheduled by the plan */
    IPCF_END_KILLED_BY_PLAN, /* code = signal; the scheduler killed it */
    IPCF_END_HUNG,           /* the watchdog killed it (code = ms waited) */
    IPCF_END_NOT_STARTED,    /* fork failed etc. (code = -errno) */
};

/* One process incarnation of a peer (a restarted peer has several). */
struct ipcf_peer_end {
    uint32_t peer; /* peer id (as given to ipcf_ledger_attach) */
    pid_t pid;
    enum ipcf_peer_end_kind kind;
    int code;
    /* Ledger reservation count when the supervisor observed the end (reaped):
     * every record this process wrote has a smaller index. UINT64_MAX if
     * unknown; then the oracle uses the first note of this pid recorded after
     * its last record, else treats the death as happening at the end. */
    uint64_t ledger_at;
};

/* A restart the scenario asked for, and how it went. */
struct ipcf_restart {
    uint32_t peer;
    int rc;             /* 0 ok, else -errno / -IPCF_E* (EEXIST, EADDRINUSE, ENOTRECOVERABLE...) */
    const char *detail; /* may be NULL */
};

struct ipcf_run_facts {
    const char *const *peer_names; /* indexed by peer id; may be NULL */
    size_t npeer_names;
    const struct ipcf_peer_end *ends; /* every incarnation, in the order they ended */
    size_t nends;
    ipcf_kind_mask plan_kinds; /* ipcf_plan_kinds(plan) */
    bool sanitizer_seen;
    const char *sanitizer_excerpt;   /* first report line, may be NULL */
    const char *const *leaked_names; /* from the names audit (ipcf_audit_diff) */
    size_t nleaked_names;
    const char *const *leaked_fds; /* "peer consumer fd 7 -> pipe:[123]" */
    size_t nleaked_fds;
    bool check_ran;
    int check_rc;             /* scenario check: 0 = invariants hold */
    const char *check_detail; /* may be NULL */
    const struct ipcf_restart *restarts;
    size_t nrestarts;
    bool black_box; /* no ledger: only process, sanitizer, name and exit findings */
};

/* ---- Findings -------------------------------------------------------------- */
#define IPCF_FINDING_DETAIL_MAX 256
#define IPCF_FINDINGS_MAX       256 /* more are counted in `dropped`, not stored */

struct ipcf_finding {
    enum ipcf_verdict verdict;
    uint32_t stream; /* data findings; else 0 */
    uint64_t seq;    /* data findings; else 0 */
    int32_t peer;    /* peer concerned, -1 if none */
    pid_t pid;       /* process concerned, 0 if none */
    char detail[IPCF_FINDING_DETAIL_MAX];
};

struct ipcf_findings {
    struct ipcf_finding *v;
    size_t n, cap;
    size_t dropped; /* findings beyond IPCF_FINDINGS_MAX (counted, not stored) */
};

void ipcf_findings_init(struct ipcf_findings *f);
void ipcf_findings_free(struct ipcf_findings *f);
/* Append a finding (detail printf-style). 0, or -ENOMEM. Past
 * IPCF_FINDINGS_MAX the finding is counted in `dropped` and 0 returned. */
IPCF_MUST_CHECK int ipcf_findings_add(struct ipcf_findings *f, enum ipcf_verdict v, uint32_t stream,
                                      uint64_t seq, int32_t peer, pid_t pid, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* The run's overall verdict: OK if empty, else the first finding's verdict
 * (findings are emitted most severe first: process > data > names). */
enum ipcf_verdict ipcf_findings_verdict(const struct ipcf_findings *f);
/* Distinct verdict names joined by ',' ("lost,crash"), snprintf-style. */
int ipcf_findings_verdicts(const struct ipcf_findings *f, char *buf, size_t cap);

/* Judge a run. snap may be NULL only in black-box mode. sem[0..nsem) declares
 * each stream; a stream seen in the ledger without a declaration is judged
 * with ipcf_semantics_default(). Findings are appended to *out (which the
 * caller initialised). Returns the number of findings appended, or -ENOMEM /
 * -EINVAL (NULL facts, or snap NULL outside black-box mode). */
IPCF_MUST_CHECK int ipcf_oracle_judge(const struct ipcf_ledger_snapshot *snap,
                                      const struct ipcf_semantics *sem, size_t nsem,
                                      const struct ipcf_run_facts *facts,
                                      struct ipcf_findings *out);

#ifdef __cplusplus
}
#endif
#endif
