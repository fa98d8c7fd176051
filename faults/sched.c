/* sched.c — the per-process fault scheduler, its trace and named points.
 *
 * Fast path (no lock). One atomic word, `state`, holds an ACTIVE bit and one
 * bit per call set: the set's bit is set when a rule whose peer filter
 * matches this process names the set (or `all`), or when a chooser or the
 * trace is on. A wrapper whose bit is clear only bumps the set's counter
 * (a relaxed atomic add) and passes: no lock, no errno change. Only calls
 * whose bit is set take the mutex (slow path) to count rule matches and
 * decide. `state` is recomputed under the mutex whenever the plan, peer,
 * chooser or trace changes; a wrapper racing with such a change either takes
 * the fast path with the old bits or the slow path under the lock, both of
 * which are correct (a reconfiguration is not atomic with respect to calls in
 * flight on other threads, and never was).
 *
 * Counting: every rule counts, 1-based, the calls that match its set and peer
 * filter — also the calls another rule acted on — and `when=` applies to that
 * count. Every call set (and every point name) also has its own counter, the
 * index shown in the trace and given to a chooser. The first rule (in plan
 * order) that fires on a call decides it.
 *
 * Decisions are pure: p= fires when mix(seed, peer, rule index, rule count) is
 * below the threshold, so a decision never depends on unrelated calls or on
 * thread interleaving of other sets. The trace hash is a wrapping SUM of one
 * mixed value per non-pass decision (an atomic add, no lock) plus, computed
 * when asked, one mixed value per call set and point of its count: the set of
 * (set, index, decision) triples of a run is a function of exactly these, and
 * a sum does not depend on the order in which threads made the calls.
 *
 * Reentrancy: a __thread guard is set while the injector itself runs. Calls
 * made meanwhile (by the injector, or by a signal handler interrupting it) pass
 * straight through uncounted, so the mutex is never taken twice by one thread
 * and a signal handler never waits for a lock its own thread holds.
 *
 * fork: pthread_atfork holds the mutex (and the object registry's) across
 * fork; the child resets every counter (fresh counters, same plan, seed and
 * peer). vfork children share the parent's memory: calls they make before
 * exec are counted in the parent (documented).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "ipcfuzz/bugs.h"

/* Planted bug: the child of fork() keeps the parent's counters, so a plan's
 * when= in a forked peer depends on what its parent did. */
IPCF_BUG_DEFINE(faults_counter_shared, "fork: the child keeps the parent's call counters");
/* Planted bug: signal= returns a fake EINTR at once instead of a real signal
 * interrupting a really blocked call. */
IPCF_BUG_DEFINE(faults_fake_signal, "signal=: fake EINTR without a real signal or blocking");

_Static_assert(IPCF__NCALLS <= 63, "state has one bit per call set plus ACTIVE");
#define STATE_ACTIVE IPCF__STATE_ACTIVE
#define STATE_CALLS  ((1ULL << IPCF__NCALLS) - 1)

#define POINTS_MAX 512 /* distinct point names counted per process */

struct point_slot {
    char name[IPCF_PLAN_NAME_MAX];
    uint64_t count;
};

static struct {
    pthread_mutex_t lock;
    int configured; /* a plan was installed */
    int enabled;    /* configured and not disabled */
    struct ipcf_plan plan;
    int *rule_call; /* call id, -1 = all, -2 = point, -3 = unknown set */
    unsigned char *rule_peer_ok;
    uint64_t *rule_count;
    uint64_t seed;
    char peer[IPCF_PLAN_NAME_MAX];
    uint64_t peer_hash;
    unsigned incarnation; /* ipcf_faults_set_incarnation; selects rules with peer */
    struct point_slot points[POINTS_MAX];
    int points_counted; /* a point count may be non-zero: reset must clear */
    ipcf_chooser_fn chooser;
    void *chooser_ctx;
    int bug_counter_shared; /* sampled before fork for the child */
} S = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Lock-free state (atomics; see the file comment). The first three are read
 * by the inline ipcf__fast() of internal.h. */
uint64_t ipcf__state;                   /* STATE_ACTIVE | one bit per call set */
uint64_t ipcf__set_count[IPCF__NCALLS]; /* calls per call set */
__thread int ipcf__guard __attribute__((tls_model("initial-exec")));
static uint64_t hash_acc; /* sum of non-pass decision values */
static int trace_fd = -1; /* written under S.lock, read anywhere */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* ---- mixing --------------------------------------------------------------- */

uint64_t ipcf__mix64(uint64_t x)
{
    /* splitmix64 finalizer: a bijection with full avalanche */
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t ipcf__hash_str(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, then mixed */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return ipcf__mix64(h);
}

/* The p= draw of rule `rule` at its count `count`: uniform in [0, 1e6). */
static uint32_t draw_ppm(uint64_t seed, uint64_t peer_hash, size_t rule, uint64_t count)
{
    uint64_t h = ipcf__mix64(
        seed ^ ipcf__mix64(peer_hash ^ ipcf__mix64((uint64_t)rule ^ ipcf__mix64(count))));
    return (uint32_t)(h % 1000000u);
}

void ipcf__write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        long w = syscall(SYS_write, fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        buf += w;
        n -= (size_t)w;
    }
}

/* ---- real functions ------------------------------------------------------- */

void *ipcf__real_sym(const char *sym, void **slot)
{
    void *f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (f)
        return f;
    int saved = errno; /* dlsym may change errno: a pass-through must not */
    ipcf__guard++;
#ifdef IPCF_SANITIZED
    {
        /* A sanitizer's interceptor keeps its checks on the real call. */
        char name[96];
        snprintf(name, sizeof(name), "__interceptor_%s", sym);
        f = dlsym(RTLD_DEFAULT, name);
    }
#endif
    if (!f)
        f = dlsym(RTLD_NEXT, sym);
    ipcf__guard--;
    if (!f) {
        /* Cannot happen with glibc >= 2.27 (every spec call exists); there is
         * no way to make the call, so stop loudly instead of jumping to NULL. */
        static const char msg[] = "ipcfuzz faults: cannot resolve a libc function\n";
        ipcf__write_all(2, msg, sizeof(msg) - 1);
        abort();
    }
    __atomic_store_n(slot, f, __ATOMIC_RELEASE);
    errno = saved;
    return f;
}

void *ipcf__real_fn[IPCF__NCALLS];

void ipcf_faults_resolve_all(void)
{
    for (int c = 0; c < IPCF__NCALLS; c++)
        (void)ipcf__real(c);
}

/* ---- configuration -------------------------------------------------------- */

/* Recompute `ipcf__state` from the configuration (lock held). */
static void publish_locked(void)
{
    uint64_t m = 0;
    if (S.enabled) {
        m = STATE_ACTIVE;
        if (S.chooser || __atomic_load_n(&trace_fd, __ATOMIC_RELAXED) >= 0)
            m |= STATE_CALLS;
        for (size_t i = 0; i < S.plan.nrules; i++) {
            if (!S.rule_peer_ok[i])
                continue;
            if (S.rule_call[i] == -1)
                m |= STATE_CALLS;
            else if (S.rule_call[i] >= 0)
                m |= 1ULL << S.rule_call[i];
        }
    }
    __atomic_store_n(&ipcf__state, m, __ATOMIC_RELEASE);
}

static void reset_counters_locked(void)
{
    if (S.rule_count)
        memset(S.rule_count, 0, S.plan.nrules * sizeof(S.rule_count[0]));
    for (size_t i = 0; i < IPCF__NCALLS; i++)
        if (__atomic_load_n(&ipcf__set_count[i], __ATOMIC_RELAXED))
            __atomic_store_n(&ipcf__set_count[i], 0, __ATOMIC_RELAXED);
    /* Touch the point table only if a point was counted since the last reset:
     * this runs in every forked peer, and the table spans 9 pages that a
     * supervisor never touches, so even reading them would fault each one in
     * again in every child (docs/performance.md). */
    if (S.points_counted) {
        for (size_t i = 0; i < POINTS_MAX; i++)
            if (S.points[i].count)
                S.points[i].count = 0;
        S.points_counted = 0;
    }
    __atomic_store_n(&hash_acc, 0, __ATOMIC_RELAXED);
}

static void peer_changed_locked(void)
{
    S.peer_hash = ipcf__hash_str(S.peer);
    for (size_t i = 0; i < S.plan.nrules; i++) {
        const struct ipcf_rule *r = &S.plan.rules[i];
        S.rule_peer_ok[i] = (!r->peer[0] || fnmatch(r->peer, S.peer, 0) == 0) &&
                            ipcf_rule_applies_to_incarnation(r, S.incarnation);
    }
}

static void atfork_prepare(void)
{
    /* Sampled here, in the parent: the child must not call into the bug
     * switchboard (pthread_once, getenv) from an atfork handler. */
    int bug = IPCF_BUG(faults_counter_shared);
    pthread_mutex_lock(&S.lock);
    S.bug_counter_shared = bug;
    ipcf__objects_lock();
}

static void atfork_parent(void)
{
    ipcf__objects_unlock();
    pthread_mutex_unlock(&S.lock);
}

static void atfork_child(void)
{
    /* Single-threaded now: the locks were held by this thread at fork. */
    ipcf__objects_unlock();
    if (!S.bug_counter_shared)
        reset_counters_locked();
    pthread_mutex_unlock(&S.lock);
}

static void install_atfork(void)
{
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

void ipcf__atfork_once(void)
{
    pthread_once(&atfork_once, install_atfork);
}

static void set_peer_name_locked(const char *peer)
{
    if (!peer || !peer[0])
        peer = program_invocation_short_name;
    snprintf(S.peer, sizeof(S.peer), "%s", peer ? peer : "?");
    for (char *c = S.peer; *c; c++)
        if (*c == ' ' || *c == '\n' || *c == '\t')
            *c = '_'; /* trace lines are space-separated */
}

int ipcf_faults_configure(const struct ipcf_plan *plan, uint64_t seed, const char *peer)
{
    struct ipcf_plan copy = {NULL, 0};
    int *calls = NULL;
    unsigned char *ok = NULL;
    uint64_t *counts = NULL;
    size_t n = plan ? plan->nrules : 0;
    if (plan && ipcf_plan_copy(&copy, plan) < 0)
        return -ENOMEM;
    calls = calloc(n + 1, sizeof(*calls));
    ok = calloc(n + 1, 1);
    counts = calloc(n + 1, sizeof(*counts));
    if (!calls || !ok || !counts) {
        ipcf_plan_free(&copy);
        free(calls);
        free(ok);
        free(counts);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const struct ipcf_rule *r = &copy.rules[i];
        size_t len = strnlen(r->set, sizeof(r->set));
        if (len == 3 && !memcmp(r->set, "all", 3))
            calls[i] = -1;
        else if (len == 5 && !memcmp(r->set, "point", 5))
            calls[i] = -2;
        else if ((calls[i] = ipcf__call_lookup(r->set, len)) < 0)
            calls[i] = -3; /* an unknown set (a hand-built rule) matches nothing */
    }
    ipcf__atfork_once();
    ipcf__guard++;
    pthread_mutex_lock(&S.lock);
    ipcf_plan_free(&S.plan);
    free(S.rule_call);
    free(S.rule_peer_ok);
    free(S.rule_count);
    S.plan = copy;
    S.rule_call = calls;
    S.rule_peer_ok = ok;
    S.rule_count = counts;
    S.seed = seed;
    set_peer_name_locked(peer);
    peer_changed_locked();
    reset_counters_locked();
    S.configured = 1;
    S.enabled = 1;
    publish_locked();
    pthread_mutex_unlock(&S.lock);
    ipcf__guard--;
    return 0;
}

int ipcf_faults_set_peer(const char *peer)
{
    ipcf__guard++;
    pthread_mutex_lock(&S.lock);
    set_peer_name_locked(peer);
    if (S.rule_peer_ok)
        peer_changed_locked();
    reset_counters_locked();
    publish_locked();
    pthread_mutex_unlock(&S.lock);
    ipcf__guard--;
    return 0;
}

void ipcf_faults_set_incarnation(unsigned incarnation)
{
    ipcf__guard++;
    pthread_mutex_lock(&S.lock);
    S.incarnation = incarnation;
    if (S.rule_peer_ok)
        peer_changed_locked();
    publish_locked();
    pthread_mutex_unlock(&S.lock);
    ipcf__guard--;
}

void ipcf_faults_enable(void)
{
    ipcf__guard++;
    pthread_mutex_lock(&S.lock);
    S.enabled = S.configured;
    publish_locked();
    pthread_mutex_unlock(&S.lock);
    ipcf__guard--;
}

void ipcf_faults_disable(void)
{
    ipcf__guard++;
    pthread_mutex_lock(&S.lock);
    S.enabled = 0;
    publish_locked();
    pthread_mutex_unlock(&S.lock);
    ipcf__guard--;
}

void ipcf_faults_trace_fd(int fd)
{
    ipcf__guard++;
    pthread_mutex_lock(&S.lock);
    __atomic_store_n(&trace_fd, fd, __ATOMIC_RELAXED);
    publish_locked();
    pthread_mutex_unlock(&S.lock);
    ipcf__guard--;
}

uint64_t ipcf_faults_trace_hash(void)
{
    ipcf__guard++;
    pthread_mutex_lock(&S.lock);
    uint64_t h = __atomic_load_n(&hash_acc, __ATOMIC_RELAXED);
    for (size_t c = 0; c < IPCF__NCALLS; c++) {
        uint64_t n = __atomic_load_n(&ipcf__set_count[c], __ATOMIC_RELAXED);
        if (n)
            h += ipcf__mix64(ipcf__hash_str(ipcf__calls[c].name) ^ ipcf__mix64(n ^ 0xc0117ULL));
    }
    for (size_t i = 0; S.points_counted && i < POINTS_MAX; i++)
        if (S.points[i].count)
            h += ipcf__mix64(ipcf__hash_str(S.points[i].name) ^
                             ipcf__mix64(S.points[i].count ^ 0x90147ULL));
    pthread_mutex_unlock(&S.lock);
    ipcf__guard--;
    return h;
}

void ipcf_faults_set_chooser(ipcf_chooser_fn fn, void *ctx)
{
    ipcf__guard++;
    pthread_mutex_lock(&S.lock);
    S.chooser = fn;
    S.chooser_ctx = ctx;
    publish_locked();
    pthread_mutex_unlock(&S.lock);
    ipcf__guard--;
}

int ipcf_faults_peer(char *buf, size_t cap)
{
    ipcf__guard++;
    pthread_mutex_lock(&S.lock);
    int n = snprintf(buf, cap, "%s", S.peer);
    pthread_mutex_unlock(&S.lock);
    ipcf__guard--;
    return n;
}

static struct point_slot *point_slot_locked(const char *name, int create)
{
    uint64_t h = ipcf__hash_str(name);
    for (size_t k = 0; k < POINTS_MAX; k++) {
        struct point_slot *ps = &S.points[(h + k) % POINTS_MAX];
        if (!ps->name[0]) {
            if (!create)
                return NULL;
            snprintf(ps->name, sizeof(ps->name), "%s", name);
            return ps;
        }
        if (!strncmp(ps->name, name, sizeof(ps->name) - 1))
            return ps;
    }
    return NULL;
}

uint64_t ipcf_faults_count(const char *set)
{
    uint64_t n = 0;
    if (!set)
        return 0;
    if (strncmp(set, "point=", 6) != 0) {
        int c = ipcf__call_lookup(set, strlen(set));
        return c >= 0 ? __atomic_load_n(&ipcf__set_count[c], __ATOMIC_RELAXED) : 0;
    }
    ipcf__guard++;
    pthread_mutex_lock(&S.lock);
    struct point_slot *ps = point_slot_locked(set + 6, 0);
    n = ps ? ps->count : 0;
    pthread_mutex_unlock(&S.lock);
    ipcf__guard--;
    return n;
}

/* ---- deciding ------------------------------------------------------------- */

/* Values the parser would refuse can still come from a chooser or a
 * hand-built rule (ipcf_plan_add_rule): such an action is ignored. */
static int action_sane(const struct ipcf_action *a)
{
    switch (a->kind) {
    case IPCF_ACT_SIGNAL:
        return a->value >= 1 && a->value <= SIGRTMAX && a->value != SIGKILL && a->value != SIGSTOP;
    case IPCF_ACT_DELAY:
        return a->value >= 0 && a->value <= 10000000LL;
    case IPCF_ACT_CORRUPT:
        return a->value >= 1 && a->value <= 64;
    case IPCF_ACT_SHORT:
        return a->value >= 1;
    case IPCF_ACT_ERROR:
        return a->value >= 1 && a->value <= 4095;
    case IPCF_ACT_SHRINK:
        return memchr(a->object, '\0', sizeof(a->object)) != NULL;
    default:
        return 1;
    }
}

/* Does action a apply to call `call` (-2: a point)? */
static int action_applies(const struct ipcf_action *a, int call)
{
    if (!action_sane(a))
        return 0;
    if (call < 0)
        return a->kind == IPCF_ACT_KILL_BEFORE || a->kind == IPCF_ACT_KILL_AFTER ||
               a->kind == IPCF_ACT_DELAY || a->kind == IPCF_ACT_SIGNAL ||
               a->kind == IPCF_ACT_SHRINK;
    unsigned f = ipcf__calls[call].flags;
    switch (a->kind) {
    case IPCF_ACT_ERROR:
        return ipcf__call_errno_ok(call, (int)a->value);
    case IPCF_ACT_RETVAL:
        return !(f & IPCF__CF_PTRRET);
    case IPCF_ACT_SHORT:
        return (f & IPCF__CF_SHORT) && a->value > 0;
    case IPCF_ACT_CORRUPT:
        return (f & IPCF__CF_RECV) && a->value > 0;
    case IPCF_ACT_NONE:
        return 0;
    default:
        return 1;
    }
}

/* Copy the applicable actions of a into cx; returns how many. */
static unsigned take_actions(struct ipcf__ctx *cx, const struct ipcf_action *a, unsigned n,
                             int call)
{
    cx->nact = 0;
    for (unsigned i = 0; i < n && i < IPCF_RULE_ACTIONS; i++)
        if (action_applies(&a[i], call))
            cx->act[cx->nact++] = a[i];
    return cx->nact;
}

/* Under the lock: count the call in every matching rule; fill cx from the
 * first rule that fires. `point` is the point name for points (call == -2). */
static void decide_locked(struct ipcf__ctx *cx, int call, const char *point)
{
    for (size_t i = 0; i < S.plan.nrules; i++) {
        const struct ipcf_rule *r = &S.plan.rules[i];
        int rc = S.rule_call[i];
        if (call >= 0 ? (rc != call && rc != -1) : (rc != -2 || strcmp(r->point, point)))
            continue;
        if (!S.rule_peer_ok[i])
            continue;
        uint64_t cnt = ++S.rule_count[i];
        if (cx->rule >= 0)
            continue; /* an earlier rule already decided: keep counting */
        if (r->when_first && (cnt < r->when_first || cnt > r->when_last ||
                              (r->when_step > 1 && (cnt - r->when_first) % r->when_step != 0)))
            continue;
        if (r->p_ppm < 1000000 && draw_ppm(S.seed, S.peer_hash, i, cnt) >= r->p_ppm)
            continue;
        if (take_actions(cx, r->actions, r->nactions, call) == 0)
            continue;
        cx->rule = (int)i;
    }
}

/* Turn cx->act[] into the flat fields the wrappers use. */
static void flatten(struct ipcf__ctx *cx)
{
    cx->fake = 0;
    cx->fake_errno = 0;
    cx->fake_ret = 0;
    cx->short_max = -1;
    cx->corrupt_bits = 0;
    cx->sig = 0;
    cx->kill_after = 0;
    for (unsigned i = 0; i < cx->nact; i++) {
        const struct ipcf_action *a = &cx->act[i];
        switch (a->kind) {
        case IPCF_ACT_ERROR:
            cx->fake = 1;
            cx->fake_errno = (int)a->value;
            cx->fake_ret = -1;
            break;
        case IPCF_ACT_RETVAL:
            cx->fake = 1;
            cx->fake_ret = a->value;
            break;
        case IPCF_ACT_SHORT:
            cx->short_max = a->value;
            break;
        case IPCF_ACT_CORRUPT:
            cx->corrupt_bits = (int)a->value;
            break;
        case IPCF_ACT_SIGNAL:
            cx->sig = (int)a->value;
            if (IPCF_BUG(faults_fake_signal)) {
                cx->fake = 1; /* planted: no signal, no blocking, no call */
                cx->fake_errno = EINTR;
                cx->fake_ret = -1;
            }
            break;
        case IPCF_ACT_KILL_AFTER:
            cx->kill_after = 1;
            break;
        default:
            break;
        }
    }
}

/* Ask the chooser (outside the lock: it is user code). */
static void ask_chooser(struct ipcf__ctx *cx, ipcf_chooser_fn fn, void *ctx, const char *set,
                        int call)
{
    struct ipcf_decision d = {IPCF_ACT_NONE, 0, NULL, -1};
    fn(ctx, set, cx->index, &d);
    struct ipcf_action a;
    memset(&a, 0, sizeof(a));
    a.kind = d.kind;
    a.value = d.value;
    if (d.kind == IPCF_ACT_SHRINK && d.object)
        snprintf(a.object, sizeof(a.object), "%s", d.object);
    if (d.kind == IPCF_ACT_SIGNAL && d.value <= 0)
        a.value = ipcf__signal_default();
    if (d.kind != IPCF_ACT_NONE && take_actions(cx, &a, 1, call))
        cx->rule = -1;
}

/* Hash + trace line for a decided call (lock not held; taken only to copy the
 * peer name when tracing). A pass adds nothing to the hash: passes are
 * accounted by the per-set counts (see ipcf_faults_trace_hash). */
static void record(struct ipcf__ctx *cx, const char *set, const char *note)
{
    char line[512], act[IPCF_PLAN_OBJ_MAX + 16], peer[IPCF_PLAN_NAME_MAX];
    size_t len = 0;
    int w;
    if (cx->nact) {
        uint64_t h = ipcf__hash_str(set) ^ ipcf__mix64(cx->index);
        for (unsigned i = 0; i < cx->nact; i++)
            h = ipcf__mix64(h ^ ((uint64_t)cx->act[i].kind << 56) ^ (uint64_t)cx->act[i].value);
        __atomic_fetch_add(&hash_acc, ipcf__mix64(h), __ATOMIC_RELAXED);
    }
    int fd = __atomic_load_n(&trace_fd, __ATOMIC_RELAXED);
    if (fd < 0)
        return;
    pthread_mutex_lock(&S.lock);
    memcpy(peer, S.peer, sizeof(peer));
    pthread_mutex_unlock(&S.lock);
    w = snprintf(line, sizeof(line), "%ld %s %s %llu ", (long)syscall(SYS_getpid), peer, set,
                 (unsigned long long)cx->index);
    len = w > 0 ? (size_t)w : 0;
    if (cx->nact == 0) {
        w = snprintf(line + len, sizeof(line) - len, "pass");
        len += w > 0 ? (size_t)w : 0;
    }
    for (unsigned i = 0; i < cx->nact && len < sizeof(line); i++) {
        ipcf__action_format(&cx->act[i], act, sizeof(act));
        w = snprintf(line + len, sizeof(line) - len, "%s%s", i ? ":" : "", act);
        len += w > 0 ? (size_t)w : 0;
    }
    if (len < sizeof(line) && cx->nact) {
        if (cx->rule >= 0)
            w = snprintf(line + len, sizeof(line) - len, " rule=%d", cx->rule);
        else
            w = snprintf(line + len, sizeof(line) - len, " chooser");
        len += w > 0 ? (size_t)w : 0;
    }
    if (note && len < sizeof(line)) {
        w = snprintf(line + len, sizeof(line) - len, " %s", note);
        len += w > 0 ? (size_t)w : 0;
    }
    if (len > sizeof(line) - 1)
        len = sizeof(line) - 1;
    line[len++] = '\n';
    ipcf__write_all(fd, line, len); /* one write per line (O_APPEND keeps it whole) */
}

/* Pre-call actions in plan order: delay, shrink, kill=before. */
static void pre_actions(const struct ipcf__ctx *cx)
{
    for (unsigned i = 0; i < cx->nact; i++) {
        const struct ipcf_action *a = &cx->act[i];
        if (a->kind == IPCF_ACT_DELAY)
            ipcf__sleep_us(a->value);
        else if (a->kind == IPCF_ACT_SHRINK)
            (void)ipcf__shrink(a->object);
        else if (a->kind == IPCF_ACT_KILL_BEFORE)
            ipcf__kill_self();
    }
}

static int finish(struct ipcf__ctx *cx, const char *note)
{
    flatten(cx);
    record(cx, ipcf__calls[cx->call].name, note);
    pre_actions(cx);
    if (!cx->fake && cx->short_max < 0 && !cx->corrupt_bits && !cx->sig && !cx->kill_after)
        return IPCF__PASS;
    return IPCF__ACT;
}

/* Index of the first action of kind k (with value v when v >= 0), or -1. */
static int find_action(const struct ipcf__ctx *cx, enum ipcf_action_kind k, long long v)
{
    for (unsigned i = 0; i < cx->nact; i++)
        if (cx->act[i].kind == k && (v < 0 || cx->act[i].value == v))
            return (int)i;
    return -1;
}

static void drop_action(struct ipcf__ctx *cx, int i)
{
    for (unsigned j = (unsigned)i; j + 1 < cx->nact; j++)
        cx->act[j] = cx->act[j + 1];
    cx->nact--;
}

/* The slow path: a rule may match this call, or a chooser / the trace is on.
 * Never inlined into ipcf__begin, whose fast path then needs no frame. */
static __attribute__((noinline)) int begin_slow(struct ipcf__ctx *cx, int call)
{
    int saved = errno;
    ipcf__guard++;
    cx->call = call;
    cx->rule = -2; /* nothing fired yet */
    cx->nact = 0;
    cx->armed = 0;
    pthread_mutex_lock(&S.lock);
    cx->index = __atomic_add_fetch(&ipcf__set_count[call], 1, __ATOMIC_RELAXED);
    ipcf_chooser_fn fn = S.enabled ? S.chooser : NULL;
    void *fctx = S.chooser_ctx;
    if (S.enabled && !fn)
        decide_locked(cx, call, NULL);
    cx->corrupt_key =
        ipcf__mix64(S.seed ^ S.peer_hash ^ ipcf__mix64(((uint64_t)call << 40) ^ cx->index));
    pthread_mutex_unlock(&S.lock);
    if (fn)
        ask_chooser(cx, fn, fctx, ipcf__calls[call].name, call);
    if (cx->rule == -2)
        cx->nact = 0;
    int rc;
    if ((find_action(cx, IPCF_ACT_ERROR, EAGAIN) >= 0 && (ipcf__calls[call].flags & IPCF__CF_NB)) ||
        find_action(cx, IPCF_ACT_SHORT, -1) >= 0)
        rc = IPCF__NEED_NB; /* traced by ipcf__commit once the descriptor is known */
    else
        rc = finish(cx, NULL);
    ipcf__guard--;
    errno = saved;
    return rc;
}

int ipcf__begin(struct ipcf__ctx *cx, int call)
{
    /* ipcf__fast loads `ipcf__state` relaxed: the slow path re-reads everything
     * under the lock; the fast path only needs the bit as it was at some
     * recent instant. */
    if (ipcf__fast(call))
        return IPCF__PASS;
    return begin_slow(cx, call);
}

int ipcf__commit(struct ipcf__ctx *cx, int nonblocking, int stream)
{
    int saved = errno, i;
    const char *note = NULL;
    ipcf__guard++;
    if (!nonblocking && (i = find_action(cx, IPCF_ACT_ERROR, EAGAIN)) >= 0) {
        drop_action(cx, i); /* a blocking call never returns EAGAIN */
        note = "note=eagain-on-blocking";
    }
    if (!stream && (i = find_action(cx, IPCF_ACT_SHORT, -1)) >= 0) {
        /* the kernel never transfers part of a datagram / seqpacket record:
         * a short count there would cut the message, not delay its bytes */
        drop_action(cx, i);
        note = note ? "note=eagain-on-blocking,short-on-message-socket"
                    : "note=short-on-message-socket";
    }
    int rc = finish(cx, note);
    ipcf__guard--;
    errno = saved;
    return rc;
}

void ipcf__arm(struct ipcf__ctx *cx)
{
    if (!cx->sig)
        return;
    int saved = errno;
    ipcf__guard++;
    cx->armed = ipcf__signal_arm(cx->sig, &cx->timer) == 0;
    ipcf__guard--;
    errno = saved;
}

void ipcf__disarm(struct ipcf__ctx *cx)
{
    if (!cx->armed)
        return;
    ipcf__guard++;
    ipcf__signal_disarm(cx->timer);
    cx->armed = 0;
    ipcf__guard--;
}

void ipcf__end(struct ipcf__ctx *cx)
{
    if (cx->kill_after)
        ipcf__kill_self();
}

int ipcf__reg_ok(void)
{
    return !ipcf__guard;
}

/* ---- points --------------------------------------------------------------- */

void ipcf_point(const char *name)
{
    if (!name || !(__atomic_load_n(&ipcf__state, __ATOMIC_RELAXED) & STATE_ACTIVE) || ipcf__guard)
        return;
    int saved = errno;
    struct ipcf__ctx cx;
    char set[IPCF_PLAN_NAME_MAX + 8];
    ipcf__guard++;
    snprintf(set, sizeof(set), "point=%.*s", IPCF_PLAN_NAME_MAX - 1, name);
    cx.call = -2;
    cx.rule = -2;
    cx.nact = 0;
    pthread_mutex_lock(&S.lock);
    struct point_slot *ps = point_slot_locked(name, 1);
    cx.index = ps ? ++ps->count : 0;
    S.points_counted = 1;
    ipcf_chooser_fn fn = S.enabled ? S.chooser : NULL;
    void *fctx = S.chooser_ctx;
    if (S.enabled && !fn)
        decide_locked(&cx, -2, name);
    pthread_mutex_unlock(&S.lock);
    if (fn)
        ask_chooser(&cx, fn, fctx, set, -2);
    if (cx.rule == -2)
        cx.nact = 0;
    record(&cx, set, ps ? NULL : "note=point-table-full");
    /* delay, shrink and signal in plan order; kill (before == after) last */
    int kill = 0;
    for (unsigned i = 0; i < cx.nact; i++) {
        const struct ipcf_action *a = &cx.act[i];
        if (a->kind == IPCF_ACT_DELAY)
            ipcf__sleep_us(a->value);
        else if (a->kind == IPCF_ACT_SHRINK)
            (void)ipcf__shrink(a->object);
        else if (a->kind == IPCF_ACT_SIGNAL)
            ipcf__signal_now((int)a->value);
        else if (a->kind == IPCF_ACT_KILL_BEFORE || a->kind == IPCF_ACT_KILL_AFTER)
            kill = 1;
    }
    if (kill)
        ipcf__kill_self();
    ipcf__guard--;
    errno = saved;
}
