/* ipcfuzz/faults.h — fault plans and the in-process fault scheduler.
 *
 * A plan is text in the grammar of docs/fault-plans.md (strace -e inject= style):
 *
 *   plan   := rule (';' rule)*
 *   rule   := set (':' action)+ (':' filter)*
 *   set    := CALL | 'point=' NAME | 'all'
 *   action := error=ERRNO | retval=N | short=N | corrupt=N | signal=SIG
 *           | kill=before|after | shrink=OBJECT | delay=USEC
 *   filter := when=FIRST['..'LAST]['+'STEP] | p=PROB | peer=NAME
 *           | inc=FIRST['..'[LAST]]
 *
 * The same plan text is accepted by the CLI (--plan), the environment
 * (IPCF_PLAN), this API and reproducer files. Every decision is a pure
 * function of (seed, peer, rule, call index): the same plan and seed replay.
 *
 * This header is the contract between the fault injector (faults/), the
 * harness (harness/) and fuzz targets. Structures are public so the harness can
 * edit plans (minimize removes rules and narrows `when` ranges).
 */
#ifndef IPCFUZZ_FAULTS_H
#define IPCFUZZ_FAULTS_H

#include <stddef.h>
#include <stdint.h>
#include "ipcfuzz/error.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ipcf_action_kind {
    IPCF_ACT_NONE = 0,
    IPCF_ACT_ERROR,       /* value = errno; the call is not made */
    IPCF_ACT_RETVAL,      /* value = return value; the call is not made */
    IPCF_ACT_SHORT,       /* value = max bytes; the real call runs with a smaller count */
    IPCF_ACT_CORRUPT,     /* value = bits to flip in what a receive call returned */
    IPCF_ACT_SIGNAL,      /* value = signal number delivered while the call blocks */
    IPCF_ACT_KILL_BEFORE, /* SIGKILL self before the real call */
    IPCF_ACT_KILL_AFTER,  /* SIGKILL self after the real call returned */
    IPCF_ACT_SHRINK,      /* object = glob of a registered segment to truncate to 0 */
    IPCF_ACT_DELAY,       /* value = microseconds to sleep before the call */
};

#define IPCF_PLAN_NAME_MAX  64  /* call set, point name, peer name */
#define IPCF_PLAN_OBJ_MAX   128 /* shrink object glob */
#define IPCF_RULE_ACTIONS   4   /* actions per rule */
#define IPCF_WHEN_UNBOUNDED UINT64_MAX
#define IPCF_INC_UNBOUNDED  UINT32_MAX

struct ipcf_action {
    enum ipcf_action_kind kind;
    long long value;
    char object[IPCF_PLAN_OBJ_MAX];
};

struct ipcf_rule {
    char set[IPCF_PLAN_NAME_MAX];   /* a call name ("read"), "all", or "point" */
    char point[IPCF_PLAN_NAME_MAX]; /* the point name when set is "point" */
    struct ipcf_action actions[IPCF_RULE_ACTIONS];
    unsigned nactions;
    /* when=FIRST..LAST+STEP over this rule's own 1-based count of matching
     * calls in this process. when_first == 0 means "no when filter" (every
     * call). when_last == IPCF_WHEN_UNBOUNDED means open-ended. step >= 1. */
    uint64_t when_first, when_last, when_step;
    uint32_t p_ppm;                /* probability in parts per million; 1000000 = always */
    char peer[IPCF_PLAN_NAME_MAX]; /* "" = any peer */
    /* inc=FIRST..LAST: the incarnations of a peer the rule applies to (0 = its
     * first run, n = its n-th restart by the harness); inc_last may be
     * IPCF_INC_UNBOUNDED. has_inc == 0 (no inc= filter): see
     * ipcf_rule_applies_to_incarnation(). */
    unsigned char has_inc;
    uint32_t inc_first, inc_last;
};

struct ipcf_plan {
    struct ipcf_rule *rules;
    size_t nrules;
};

struct ipcf_plan_error {
    size_t pos;    /* byte offset in the text where parsing failed */
    char msg[192]; /* "expected ... at ...", ready to print */
};

/* Parse plan text into *out (which the caller later frees with ipcf_plan_free).
 * An empty string is the empty plan. On failure returns -IPCF_EPARSE and fills
 * *err (if non-NULL); *out is left empty. Never crashes on any input. */
IPCF_MUST_CHECK int ipcf_plan_parse(const char *text, struct ipcf_plan *out,
                                    struct ipcf_plan_error *err);

/* Canonical text of a plan, snprintf-style: returns the length it needs
 * (excluding the NUL), writing at most cap bytes. parse(format(p)) == p. */
int ipcf_plan_format(const struct ipcf_plan *plan, char *buf, size_t cap);

void ipcf_plan_free(struct ipcf_plan *plan);
IPCF_MUST_CHECK int ipcf_plan_copy(struct ipcf_plan *dst, const struct ipcf_plan *src);
IPCF_MUST_CHECK int ipcf_plan_add_rule(struct ipcf_plan *plan, const struct ipcf_rule *rule);
void ipcf_plan_remove_rule(struct ipcf_plan *plan, size_t index);

/* ---- The scheduler (per process) ------------------------------------------ */

/* Install plan + seed + peer name for this process; resets every counter.
 * The plan is copied. Called by the harness in each peer after fork, and by the
 * preload library from IPCF_PLAN / IPCF_SEED / IPCF_PEER. */
IPCF_MUST_CHECK int ipcf_faults_configure(const struct ipcf_plan *plan, uint64_t seed,
                                          const char *peer);

/* Take a new peer identity (after fork): fresh counters, same plan and seed. */
IPCF_MUST_CHECK int ipcf_faults_set_peer(const char *peer);

/* Which incarnation of its peer this process is (0, the default, = first run;
 * n = the harness's n-th restart of it): selects the rules that apply, by
 * ipcf_rule_applies_to_incarnation(). Counters are kept. */
void ipcf_faults_set_incarnation(unsigned incarnation);

/* Does rule r kill the process that matches it (kill=before|after, or a
 * hand-built signal=SIGKILL / SIGSTOP)? */
int ipcf_rule_kills(const struct ipcf_rule *r);

/* Does rule r apply to incarnation `inc` of a peer? With an inc= filter: when
 * inc is in its range. Without: a rule that kills applies to the first run
 * only (a restart must be able to recover), any other rule to every
 * incarnation. 1 yes, 0 no. */
int ipcf_rule_applies_to_incarnation(const struct ipcf_rule *r, unsigned inc);

/* Look up now every libc function the wrappers forward to (otherwise each is
 * looked up with dlsym on its first call). A process that forks many children
 * calls it once, so that no child repeats the look-ups: the supervisor does. */
void ipcf_faults_resolve_all(void);

/* Stop injecting (calls pass straight through); counters are kept. */
void ipcf_faults_disable(void);

/* Inject again with the configured plan (no-op before any configure). A
 * process that forks many peers configures once and disables; each child
 * then takes its identity (set_peer, set_incarnation) and enables, without
 * copying the plan again. */
void ipcf_faults_enable(void);

/* Write a trace line per intercepted call and point to fd (-1 = off).
 * Line format is documented in docs/fault-plans.md. */
void ipcf_faults_trace_fd(int fd);

/* Running hash of every decision this process made (for determinism checks). */
uint64_t ipcf_faults_trace_hash(void);

/* A decision for one intercepted call or point. */
struct ipcf_decision {
    enum ipcf_action_kind kind; /* IPCF_ACT_NONE = pass through */
    long long value;
    const char *object; /* shrink glob, valid until the plan changes */
    int rule;           /* index of the rule that fired, -1 if none */
};

/* A fuzz target may replace the plan with its own chooser: called for each
 * intercepted call / point with the call set name and its 1-based index in
 * this process; fills *d. NULL restores plan-driven decisions. */
typedef void (*ipcf_chooser_fn)(void *ctx, const char *set, uint64_t index,
                                struct ipcf_decision *d);
void ipcf_faults_set_chooser(ipcf_chooser_fn fn, void *ctx);

/* ---- Additions (documented in docs/fault-plans.md) ------------------------ */

/* Field-by-field equality of two plans (1 equal, 0 not); what the round trip
 * parse(format(p)) == p means. */
int ipcf_plan_equal(const struct ipcf_plan *a, const struct ipcf_plan *b);

/* Configure this process from the environment: IPCF_PLAN, IPCF_SEED (decimal or
 * 0x hex, default 0), IPCF_PEER (default: executable basename), IPCF_TRACE (file
 * opened O_APPEND|O_CLOEXEC). Returns 0 when neither IPCF_PLAN nor IPCF_TRACE is
 * set (nothing changes), 1 when configured, or a negative code with err->msg
 * naming the variable (-IPCF_EPARSE bad plan, -EINVAL bad seed, -errno trace).
 * The interposer's constructor calls it; in-process programs may too. */
IPCF_MUST_CHECK int ipcf_faults_load_env(struct ipcf_plan_error *err);

/* The current peer name into buf (snprintf-style); returns its length. */
int ipcf_faults_peer(char *buf, size_t cap);

/* Calls counted so far in call set `set` ("read", ..., or "point=NAME") in this
 * process since ipcf_faults_configure / fork / ipcf_faults_set_peer. */
uint64_t ipcf_faults_count(const char *set);

/* Register a shrinkable object for shrink=GLOB (globs match `name`).
 * fd >= 0: truncated through fd while fd still refers to the same inode
 * (memfd, or any regular file); fd < 0: `name` is a POSIX shm name ("/x"),
 * reopened by name. The interposer registers shm_open, memfd_create and
 * MAP_SHARED mmap objects by itself. 0, -EINVAL, -EBADF (not a regular file). */
IPCF_MUST_CHECK int ipcf_faults_register_object(const char *name, int fd);

/* Truncate every registered object matching glob to 0 bytes now (what
 * shrink=GLOB does). Returns the number truncated. */
int ipcf_faults_shrink(const char *glob);

/* The call sets a plan can name (from faults/calls.spec); NULL past the end. */
const char *ipcf_faults_call_name(size_t i);

/* Every intercepted libc symbol (read, pread64, __read_chk, ...), with its call
 * set in *set when set != NULL; NULL past the end. */
const char *ipcf_faults_symbol_name(size_t i, const char **set);

/* The signal `signal=` (without a value) delivers: SIGRTMIN+5, with a no-op
 * handler installed without SA_RESTART. */
int ipcf_faults_default_signal(void);

/* signal=SIG fires this long after a call starts; a call still blocked then is
 * interrupted by the kernel. */
#define IPCF_FAULTS_SIGNAL_DELAY_US 20000

/* Chooser notes: for a point, `set` is "point=NAME"; a IPCF_ACT_SIGNAL decision
 * with value <= 0 means the default signal; an action that does not apply to
 * the call (short= on poll, ...) is ignored. The generated header
 * <ipcfuzz/faults_wrap.h> declares ipcf_wrap_<call>() for every call set: the
 * injecting call without overriding libc. */

/* A named kill/fault point in code built with the framework. Plans target it
 * with `point=NAME`. Compiles to nothing unless IPCF_POINTS is defined (the
 * build defines it for targets and scenario binaries). */
void ipcf_point(const char *name);
#ifdef IPCF_POINTS
#define IPCF_POINT(name) ipcf_point(name)
#else
#define IPCF_POINT(name) ((void)0)
#endif

#ifdef __cplusplus
}
#endif
#endif
