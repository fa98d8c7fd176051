/* supervisor.c — fork, watch, restart, reap and judge the peers of one
 * iteration (see supervisor.h for the contract).
 *
 * Process hygiene, the part that must never fail:
 *  - each peer is a process-group leader (setpgid on both sides of fork, so
 *    killpg() works whichever runs first) with PR_SET_PDEATHSIG(SIGKILL); the
 *    child re-checks getppid() after prctl to close the window where the
 *    supervisor died before the prctl took effect;
 *  - when a peer's pidfd reports its exit, the peer is still a zombie, so its
 *    pid and process-group id cannot be reused yet: we SIGKILL the group first
 *    (grandchildren it left), then reap. A hung peer's group is SIGKILLed and
 *    reaped the same way;
 *  - SIGINT/SIGTERM only set a flag; the watch loop keeps them blocked
 *    except inside ppoll() (see watch()), so the flag is seen at once without
 *    periodic wake-ups; the loop then kills and reaps everything and the
 *    caller sweeps the run's names.
 *
 * Stderr capture: one pipe per incarnation, read end O_NONBLOCK in the
 * supervisor, drained on every poll wake-up so a chatty peer never blocks on a
 * full pipe. The first IPCF_SUP_ERRBUF bytes per peer are kept for excerpts;
 * sanitizer patterns are searched in every chunk with a small carry-over so a
 * pattern split across two reads is still found.
 */
#include <errno.h>
#include <fnmatch.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipcfuzz/io.h"
#include "audit.h"
#include "supervisor.h"

#define IPCF_SUP_ERRBUF 16384
#define CARRY_MAX       64
#define FALLBACK_MS     2

/* Trace hash published by a peer when its body returned (shared mapping). */
struct peer_slot {
    uint64_t hash;
    uint32_t incarnation;
    uint32_t valid;
};

struct peer_state;

struct ipcf_sup {
    struct ipcf_sup_config cfg;
    struct ipcf_ledger *ledger;
    struct peer_slot *slots; /* IPCF_MAX_PEERS entries, MAP_SHARED */
    struct peer_state *ps;   /* IPCF_MAX_PEERS entries, reused by every iteration */
};

/* One live incarnation of a peer. */
struct proc {
    pid_t pid; /* 0 = none alive */
    int pidfd; /* -1: fall back to waitpid polling */
    int errfd; /* read end of its stderr pipe, -1 once closed */
    unsigned incarnation;
};

/* Per-peer state over all incarnations of one iteration. The stderr buffer
 * comes last: an iteration clears everything before it (peer_state_clear) and
 * never the buffer itself, whose first errlen bytes are the only ones read. */
struct peer_state {
    struct proc p;
    unsigned started; /* incarnations started */
    unsigned restarts_used;
    size_t errlen;
    char carry[CARRY_MAX];
    size_t carrylen;
    char last_line[160]; /* last complete stderr line, for details */
    char partial[160];
    size_t partial_len;
    bool sanitizer;
    char sanitizer_excerpt[IPCF_SUP_EXCERPT_MAX];
    int restart_index; /* index in restarts[] of its latest restart, -1 */
    struct ipcf_peer_outcome outcome;
    char err[IPCF_SUP_ERRBUF]; /* keep last: see above */
};

/* Reset a peer's state for a new iteration without touching its 16 KiB stderr
 * buffer: writing it (calloc) every iteration costs pages that each fork has
 * just made copy-on-write, i.e. page faults in the supervisor (docs/performance.md). */
static void peer_state_clear(struct peer_state *ps, const char *name)
{
    memset(ps, 0, offsetof(struct peer_state, err));
    ps->p.pidfd = ps->p.errfd = -1;
    ps->restart_index = -1;
    ps->outcome.peer = name;
}

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
}

int ipcf__sup_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: poll() returns EINTR at once */
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return -errno;
    return 0;
}

int ipcf__sup_stop_signal(void)
{
    return stop_signal;
}

/* ---- plans ----------------------------------------------------------------- */

/* Did `plan` schedule signal `sig` for incarnation `inc` of peer `peer` (a
 * kill rule for SIGKILL)? The same rule selection as the scheduler's. */
static bool plan_scheduled(const struct ipcf_plan *plan, const char *peer, unsigned inc, int sig)
{
    if (!plan)
        return false;
    for (size_t i = 0; i < plan->nrules; i++) {
        const struct ipcf_rule *r = &plan->rules[i];
        /* peer= is a glob for the scheduler (faults/sched.c): match alike */
        if (r->peer[0] && fnmatch(r->peer, peer, 0) != 0)
            continue;
        if (!ipcf_rule_applies_to_incarnation(r, inc))
            continue;
        for (unsigned a = 0; a < r->nactions; a++) {
            const struct ipcf_action *act = &r->actions[a];
            if (sig == SIGKILL &&
                (act->kind == IPCF_ACT_KILL_BEFORE || act->kind == IPCF_ACT_KILL_AFTER))
                return true;
            if (act->kind == IPCF_ACT_SIGNAL && act->value == sig)
                return true;
        }
    }
    return false;
}

/* ---- scenario helpers -------------------------------------------------------- */

static int peer_index(const struct ipcf_scenario *s, const char *name)
{
    if (!name)
        return -1;
    for (unsigned i = 0; i < ipcf_scenario_npeers(s); i++)
        if (!strcmp(s->peers[i].name, name))
            return (int)i;
    return -1;
}

size_t ipcf__scenario_semantics(const struct ipcf_scenario *s, struct ipcf_semantics *sem,
                                size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < IPCF_MAX_STREAMS && s->streams[i].id != 0 && n < cap; i++) {
        const struct ipcf_stream_decl *d = &s->streams[i];
        struct ipcf_semantics *m = &sem[n++];
        ipcf_semantics_default(m, d->id);
        m->ordered = (d->semantics & IPCF_SEM_ORDERED) != 0;
        m->delivery =
            (d->semantics & IPCF_SEM_AT_LEAST_ONCE) ? IPCF_AT_LEAST_ONCE : IPCF_EXACTLY_ONCE;
        m->survives_sender_death = (d->semantics & IPCF_SEM_SURVIVES_SENDER) != 0;
        m->survives_receiver_death = (d->semantics & IPCF_SEM_SURVIVES_RECEIVER) != 0;
        m->detects_corruption = (d->semantics & IPCF_SEM_DETECTS_CORRUPTION) != 0;
        m->receiver_in_hand = d->receiver_in_hand ? d->receiver_in_hand : 1;
        m->receiver_peer = peer_index(s, d->receiver);
    }
    return n;
}

/* ---- sanitizer scan ---------------------------------------------------------- */

static const char *const sanitizer_patterns[] = {
    "ERROR: AddressSanitizer", "runtime error:", "WARNING: ThreadSanitizer",
    "ERROR: ThreadSanitizer", /* TSan's deadly-signal report (SEGV, BUS...) */
    "ERROR: LeakSanitizer",    "LeakSanitizer",  "ERROR: MemorySanitizer",
};

long ipcf__sanitizer_scan(const char *buf, size_t len, const char **which)
{
    long best = -1;
    for (size_t i = 0; i < sizeof(sanitizer_patterns) / sizeof(sanitizer_patterns[0]); i++) {
        const char *pat = sanitizer_patterns[i];
        size_t pl = strlen(pat);
        if (pl > len)
            continue;
        for (size_t off = 0; off + pl <= len; off++) {
            if (buf[off] == pat[0] && memcmp(buf + off, pat, pl) == 0) {
                if (best < 0 || (long)off < best) {
                    best = (long)off;
                    if (which)
                        *which = pat;
                }
                break;
            }
        }
    }
    return best;
}

/* Feed a chunk of a peer's stderr into its state. */
static void stderr_feed(struct ipcf_sup *sup, struct peer_state *ps, const char *buf, size_t n)
{
    if (sup->cfg.echo_stderr)
        (void)!write(STDERR_FILENO, buf, n);
    size_t keep = IPCF_SUP_ERRBUF - ps->errlen;
    if (keep > n)
        keep = n;
    memcpy(ps->err + ps->errlen, buf, keep);
    ps->errlen += keep;

    /* last complete line */
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            if (ps->partial_len) {
                memcpy(ps->last_line, ps->partial, ps->partial_len);
                ps->last_line[ps->partial_len] = '\0';
            }
            ps->partial_len = 0;
        } else if (ps->partial_len + 1 < sizeof(ps->partial)) {
            ps->partial[ps->partial_len++] = buf[i];
        }
    }

    if (ps->sanitizer)
        return;
    /* scan carry + chunk; keep the window small and bounded */
    char win[CARRY_MAX + 4096];
    size_t off = 0;
    while (off < n) {
        size_t take = n - off > 4096 ? 4096 : n - off;
        memcpy(win, ps->carry, ps->carrylen);
        memcpy(win + ps->carrylen, buf + off, take);
        size_t wl = ps->carrylen + take;
        long at = ipcf__sanitizer_scan(win, wl, NULL);
        if (at >= 0) {
            ps->sanitizer = true;
            size_t el = wl - (size_t)at;
            if (el >= sizeof(ps->sanitizer_excerpt))
                el = sizeof(ps->sanitizer_excerpt) - 1;
            memcpy(ps->sanitizer_excerpt, win + at, el);
            ps->sanitizer_excerpt[el] = '\0';
            /* cut at the second line: the report's headline and its first frame */
            char *nl = strchr(ps->sanitizer_excerpt, '\n');
            if (nl && (nl = strchr(nl + 1, '\n')) != NULL)
                *nl = '\0';
            return;
        }
        size_t c = wl < CARRY_MAX ? wl : CARRY_MAX;
        memmove(ps->carry, win + wl - c, c);
        ps->carrylen = c;
        off += take;
    }
}

/* Read what is available on a peer's stderr pipe; close it at EOF. When
 * `final`, the peer is dead: read until EOF or EAGAIN (a grandchild that still
 * holds the pipe was killed with the group, so this ends). */
static void stderr_drain(struct ipcf_sup *sup, struct peer_state *ps)
{
    char buf[4096];
    while (ps->p.errfd >= 0) {
        ssize_t n = read(ps->p.errfd, buf, sizeof(buf));
        if (n > 0) {
            stderr_feed(sup, ps, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        close(ps->p.errfd); /* EOF or error */
        ps->p.errfd = -1;
    }
}

/* ---- spawning ---------------------------------------------------------------- */

struct iter {
    struct ipcf_sup *sup;
    const struct ipcf_scenario *s;
    unsigned npeers;
    uint64_t seed, iteration;
    unsigned messages;
    int timeout_ms;
    void *shared;
    struct peer_state *ps;        /* npeers */
    const struct ipcf_plan *plan; /* every incarnation's; rules select by incarnation */
    sigset_t caught;              /* signals a peer resets to SIG_DFL (reset_signals) */
    int devnull;                  /* /dev/null, O_CLOEXEC: every peer's stdin */
    /* facts */
    struct ipcf_peer_end *ends;
    size_t nends, ends_cap;
    struct ipcf_restart *restarts;
    char (*restart_detail)[256];
    size_t nrestarts, restarts_cap;
};

static int pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -1 : (int)fd;
#else
    (void)pid;
    return -1;
#endif
}

/* A peer starts like a fresh process: every caught signal back to SIG_DFL
 * (the supervisor's SIGINT/SIGTERM handlers, a test framework's SIGSEGV
 * handler...), SIGPIPE to SIG_DFL too (a peer that writes pipes must ignore it
 * itself). In sanitizer builds the fatal-signal handlers are the sanitizer's
 * (they print the report) and stay.
 *
 * Which signals to reset is found in the supervisor after setup() and again
 * after started() (either may install handlers; restarts are forked after
 * started()), not in every peer: a peer makes a system call per caught
 * signal, not one per signal number (on a paravirtualised VM a system call
 * costs microseconds). */
static void caught_signals(sigset_t *out)
{
    struct sigaction old;
    sigemptyset(out);
    sigaddset(out, SIGPIPE);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
#ifdef IPCF_SANITIZED
        if (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGABRT)
            continue;
#endif
        if (sigaction(sig, NULL, &old) == 0 && old.sa_handler != SIG_DFL &&
            old.sa_handler != SIG_IGN)
            sigaddset(out, sig);
    }
}

static void reset_signals(const sigset_t *caught)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(caught, sig) == 1)
            sigaction(sig, &sa, NULL);
}

/* In the child: become the peer. Never returns. */
static void __attribute__((noreturn))
peer_child(struct iter *it, unsigned idx, unsigned incarnation, int errw, pid_t parent)
{
    const struct ipcf_peer_def *def = &it->s->peers[idx];
    setpgid(0, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(127);

    reset_signals(&it->caught);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    /* the supervisor's descriptors of other peers are not ours to hold */
    for (unsigned i = 0; i < it->npeers; i++) {
        if (it->ps[i].p.pidfd >= 0)
            close(it->ps[i].p.pidfd);
        if (it->ps[i].p.errfd >= 0)
            close(it->ps[i].p.errfd);
    }
    if (it->devnull >= 0) {
        dup2(it->devnull, STDIN_FILENO);
        close(it->devnull);
    } else {
        close(STDIN_FILENO);
    }
    dup2(errw, STDOUT_FILENO);
    dup2(errw, STDERR_FILENO);
    if (errw > STDERR_FILENO)
        close(errw);

    ipcf_ledger_attach(it->sup->ledger, idx);
    (void)ipcf_ledger_note(IPCF_NOTE_STARTED, incarnation);

    if (it->sup->cfg.trace_dir) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s.%u.trace", it->sup->cfg.trace_dir, def->name,
                 incarnation);
        int tfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (tfd < 0) {
            fprintf(stderr, "ipcfuzz: peer %s: cannot open trace %s: %s\n", def->name, path,
                    strerror(errno));
            _exit(125);
        }
        ipcf_faults_trace_fd(tfd);
    }

    struct ipcf_peer_ctx ctx = {
        .scenario = it->s,
        .peer = def->name,
        .peer_index = idx,
        .incarnation = incarnation,
        .seed = it->seed,
        .iteration = it->iteration,
        .messages = it->messages,
        .timeout_ms = it->timeout_ms,
        .shared = it->shared,
    };
    /* The plan was installed (disabled) by the supervisor for this iteration
     * (ipcf__sup_iteration): take this peer's identity, fresh counters, go. */
    ipcf_faults_set_incarnation(incarnation);
    int rc = ipcf_faults_set_peer(def->name);
    if (rc < 0) {
        fprintf(stderr, "ipcfuzz: peer %s: cannot configure faults: %s\n", def->name,
                ipcf_strerror(rc));
        _exit(125);
    }
    ipcf_faults_enable();
    rc = def->run(&ctx);
    ipcf_faults_disable();
    struct peer_slot *slot = &it->sup->slots[idx];
    slot->hash = ipcf_faults_trace_hash();
    slot->incarnation = incarnation;
    __atomic_store_n(&slot->valid, 1, __ATOMIC_RELEASE);
    _exit(rc == 0 ? 0 : (rc > 0 && rc < 126 ? rc : 1));
}

static int spawn(struct iter *it, unsigned idx, unsigned incarnation)
{
    struct peer_state *ps = &it->ps[idx];
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return -errno;
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = -errno;
        close(pfd[0]);
        close(pfd[1]);
        return e;
    }
    if (pid == 0) {
        close(pfd[0]);
        peer_child(it, idx, incarnation, pfd[1], parent);
    }
    setpgid(pid, pid); /* both sides: no window where killpg(pid) misses it */
    close(pfd[1]);
    int fl = fcntl(pfd[0], F_GETFL);
    if (fl >= 0)
        fcntl(pfd[0], F_SETFL, fl | O_NONBLOCK);
    ps->p.pid = pid;
    ps->p.pidfd = pidfd_open_(pid);
    ps->p.errfd = pfd[0];
    ps->p.incarnation = incarnation;
    ps->started++;
    return 0;
}

static int add_end(struct iter *it, unsigned idx, pid_t pid, enum ipcf_peer_end_kind kind, int code)
{
    if (it->nends == it->ends_cap) {
        size_t cap = it->ends_cap ? it->ends_cap * 2 : 16;
        void *v = realloc(it->ends, cap * sizeof(*it->ends));
        if (!v)
            return -ENOMEM;
        it->ends = v;
        it->ends_cap = cap;
    }
    it->ends[it->nends++] = (struct ipcf_peer_end){
        .peer = idx, .pid = pid, .kind = kind, .code = code, .ledger_at = UINT64_MAX};
    return 0;
}

static int add_restart(struct iter *it, unsigned idx, int rc, const char *detail)
{
    if (it->nrestarts == it->restarts_cap) {
        size_t cap = it->restarts_cap ? it->restarts_cap * 2 : 8;
        void *v = realloc(it->restarts, cap * sizeof(*it->restarts));
        if (!v)
            return -ENOMEM;
        it->restarts = v;
        v = realloc(it->restart_detail, cap * sizeof(*it->restart_detail));
        if (!v)
            return -ENOMEM;
        it->restart_detail = v;
        it->restarts_cap = cap;
    }
    size_t i = it->nrestarts++;
    snprintf(it->restart_detail[i], sizeof(it->restart_detail[i]), "%s", detail ? detail : "");
    it->restarts[i] = (struct ipcf_restart){.peer = idx, .rc = rc, .detail = NULL};
    it->ps[idx].restart_index = (int)i;
    return 0;
}

/* Kill a live incarnation's group and reap it. Returns the wait status. */
static int kill_and_reap(struct peer_state *ps)
{
    int status = 0;
    kill(-ps->p.pid, SIGKILL);
    kill(ps->p.pid, SIGKILL);
    while (waitpid(ps->p.pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

static void proc_closed(struct peer_state *ps)
{
    if (ps->p.pidfd >= 0)
        close(ps->p.pidfd);
    ps->p.pidfd = -1;
    ps->p.pid = 0;
}

/* A peer's incarnation ended with wait status `status`: classify, record,
 * restart if the plan killed it and the scenario allows. */
static int on_end(struct iter *it, unsigned idx, int status, struct ipcf_sup_result *res)
{
    struct peer_state *ps = &it->ps[idx];
    const struct ipcf_peer_def *def = &it->s->peers[idx];
    pid_t pid = ps->p.pid;
    enum ipcf_peer_end_kind kind;
    enum ipcf_ledger_note note;
    int code;

    stderr_drain(it->sup, ps);
    if (WIFEXITED(status)) {
        kind = IPCF_END_EXITED;
        code = WEXITSTATUS(status);
        note = IPCF_NOTE_EXITED;
        ps->outcome.exited = true;
        ps->outcome.exit_code = code;
        ps->outcome.signal = 0;
    } else {
        code = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        bool sched = plan_scheduled(it->plan, def->name, ps->p.incarnation, code);
        kind = sched ? IPCF_END_KILLED_BY_PLAN : IPCF_END_SIGNALED;
        note = sched ? IPCF_NOTE_KILLED_BY_PLAN : IPCF_NOTE_SIGNALED;
        ps->outcome.exited = false;
        ps->outcome.signal = code;
        if (sched) {
            ps->outcome.killed_by_plan = true;
            res->kills++;
        } else {
            res->crashes++;
        }
    }
    (void)ipcf_ledger_append(it->sup->ledger, IPCF_LREC_NOTE, note, idx, pid, 0, (uint64_t)code, 0,
                             0);
    IPCF_TRY(add_end(it, idx, pid, kind, code));

    /* a restarted incarnation that did not finish cleanly: recovery failed */
    if (ps->restart_index >= 0 && ps->p.incarnation > 0 && kind == IPCF_END_EXITED && code != 0) {
        struct ipcf_restart *r = &it->restarts[ps->restart_index];
        r->rc = -IPCF_EPEER;
        snprintf(it->restart_detail[ps->restart_index], sizeof(it->restart_detail[0]),
                 "restarted %.32s (incarnation %u) exited %d%s%.80s", def->name, ps->p.incarnation,
                 code, ps->last_line[0] ? ": " : "", ps->last_line);
    }
    proc_closed(ps);
    if (ps->p.errfd >= 0) {
        close(ps->p.errfd);
        ps->p.errfd = -1;
    }

    if (kind == IPCF_END_KILLED_BY_PLAN && ps->restarts_used < def->restarts && !stop_signal) {
        ps->restarts_used++;
        unsigned inc = ps->started;
        (void)ipcf_ledger_append(it->sup->ledger, IPCF_LREC_NOTE, IPCF_NOTE_RESTARTED, idx, 0, 0,
                                 inc, 0, 0);
        int rc = spawn(it, idx, inc);
        char detail[160];
        snprintf(detail, sizeof(detail), "restart of %s: %s", def->name,
                 rc < 0 ? ipcf_strerror(rc) : "started");
        IPCF_TRY(add_restart(it, idx, rc, detail));
        if (rc < 0)
            return 0; /* recorded as recovery-failed */
        res->restarts++;
    }
    return 0;
}

/* The loop of watch(): waits with `waitmask` (SIGINT/SIGTERM unblocked). */
static int watch_loop(struct iter *it, int64_t deadline, struct ipcf_sup_result *res,
                      const sigset_t *waitmask)
{
    struct pollfd pfds[2 * IPCF_MAX_PEERS];
    int who[2 * IPCF_MAX_PEERS];
    for (;;) {
        unsigned alive = 0;
        bool fallback = false;
        nfds_t n = 0;
        for (unsigned i = 0; i < it->npeers; i++) {
            struct peer_state *ps = &it->ps[i];
            if (!ps->p.pid)
                continue;
            alive++;
            if (ps->p.pidfd >= 0) {
                pfds[n] = (struct pollfd){.fd = ps->p.pidfd, .events = POLLIN};
                who[n++] = (int)i;
            } else {
                fallback = true;
            }
            if (ps->p.errfd >= 0) {
                pfds[n] = (struct pollfd){.fd = ps->p.errfd, .events = POLLIN};
                who[n++] = -1 - (int)i;
            }
        }
        if (!alive)
            return 0;
        if (stop_signal)
            return -EINTR;
        int64_t left = deadline - ipcf_clock_ms();
        if (left <= 0)
            return -IPCF_ETIMEDOUT;
        if (fallback && left > FALLBACK_MS)
            left = FALLBACK_MS;
        struct timespec ts = {.tv_sec = (time_t)(left / 1000),
                              .tv_nsec = (long)(left % 1000) * 1000000L};
        int r = ppoll(pfds, n, &ts, waitmask);
        if (r < 0 && errno != EINTR)
            return -errno;
        /* drain stderr first: an exiting peer's last words come before its end */
        for (nfds_t k = 0; r > 0 && k < n; k++)
            if (who[k] < 0 && pfds[k].revents)
                stderr_drain(it->sup, &it->ps[-1 - who[k]]);
        for (unsigned i = 0; i < it->npeers; i++) {
            struct peer_state *ps = &it->ps[i];
            if (!ps->p.pid)
                continue;
            if (ps->p.pidfd >= 0) {
                bool ready = false;
                for (nfds_t k = 0; r > 0 && k < n; k++)
                    if (who[k] == (int)i && pfds[k].revents)
                        ready = true;
                if (!ready)
                    continue;
            }
            /* exited (zombie) or polling: kill leftovers of its group, then reap */
            siginfo_t si;
            memset(&si, 0, sizeof(si));
            if (waitid(P_PID, (id_t)ps->p.pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 ||
                si.si_pid == 0)
                continue;
            kill(-ps->p.pid, SIGKILL);
            int status = 0;
            while (waitpid(ps->p.pid, &status, 0) < 0 && errno == EINTR)
                ;
            IPCF_TRY(on_end(it, i, status, res));
        }
    }
}

/* Wait for every peer, restarting as needed, until all ended or the deadline.
 *
 * SIGINT/SIGTERM are blocked while the loop runs and unblocked only inside
 * ppoll(), atomically: a stop signal is either seen by the stop_signal check
 * or interrupts ppoll; it can never land between the check and the wait and
 * be noticed only when the wait ends. So each wait runs to the real deadline,
 * with no periodic wake-up, and returns as soon as a peer ends (its pidfd) or
 * writes to stderr. Without pidfd (Linux < 5.3) the loop polls waitid every
 * FALLBACK_MS. Peers restarted from inside the loop inherit the blocked mask;
 * peer_child() clears it. */
static int watch(struct iter *it, int64_t deadline, struct ipcf_sup_result *res)
{
    sigset_t stops, waitmask;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    int e = pthread_sigmask(SIG_BLOCK, &stops, &waitmask);
    if (e)
        return -e;
    int rc = watch_loop(it, deadline, res, &waitmask);
    pthread_sigmask(SIG_SETMASK, &waitmask, NULL);
    return rc;
}

/* Kill and reap every live peer; hung = record them as hung. */
static int stop_all(struct iter *it, bool hung, int64_t waited_ms, struct ipcf_sup_result *res)
{
    int rc = 0;
    for (unsigned i = 0; i < it->npeers; i++) {
        struct peer_state *ps = &it->ps[i];
        if (!ps->p.pid)
            continue;
        pid_t pid = ps->p.pid;
        (void)kill_and_reap(ps);
        stderr_drain(it->sup, ps);
        if (hung) {
            ps->outcome.hung = true;
            ps->outcome.exited = false;
            res->hangs++;
            (void)ipcf_ledger_append(it->sup->ledger, IPCF_LREC_NOTE, IPCF_NOTE_HUNG, i, pid, 0,
                                     (uint64_t)waited_ms, 0, 0);
            int r = add_end(it, i, pid, IPCF_END_HUNG, (int)waited_ms);
            if (r < 0 && !rc)
                rc = r;
        }
        proc_closed(ps);
        if (ps->p.errfd >= 0) {
            close(ps->p.errfd);
            ps->p.errfd = -1;
        }
    }
    return rc;
}

/* ---- the iteration ------------------------------------------------------------- */

int ipcf__sup_create(struct ipcf_sup **out, const struct ipcf_sup_config *cfg)
{
    struct ipcf_sup *sup = calloc(1, sizeof(*sup));
    int rc;
    if (!sup)
        return -ENOMEM;
    if (cfg)
        sup->cfg = *cfg;
    if (sup->cfg.timeout_ms <= 0)
        sup->cfg.timeout_ms = IPCF_SUP_DEFAULT_TIMEOUT_MS;
    sup->ps = calloc(IPCF_MAX_PEERS, sizeof(*sup->ps));
    if (!sup->ps) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = ipcf_ledger_create(&sup->ledger, 0);
    if (rc < 0)
        goto fail;
    sup->slots = mmap(NULL, IPCF_MAX_PEERS * sizeof(struct peer_slot), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sup->slots == MAP_FAILED) {
        sup->slots = NULL;
        rc = -errno;
        goto fail;
    }
    ipcf_faults_resolve_all(); /* once here, not in every peer (performance.md) */
    if (!getenv("IPCF_RUN_ID")) {
        rc = ipcf_run_begin();
        if (rc < 0)
            goto fail;
    }
    *out = sup;
    return 0;
fail:
    ipcf__sup_destroy(sup);
    return rc;
}

void ipcf__sup_destroy(struct ipcf_sup *sup)
{
    if (!sup)
        return;
    if (sup->ledger)
        ipcf_ledger_destroy(sup->ledger);
    if (sup->slots)
        munmap(sup->slots, IPCF_MAX_PEERS * sizeof(struct peer_slot));
    free(sup->ps);
    free(sup);
}

void ipcf__sup_result_free(struct ipcf_sup_result *res)
{
    if (res)
        ipcf_findings_free(&res->findings);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

int ipcf__sup_iteration(struct ipcf_sup *sup, const struct ipcf_scenario *s,
                        const struct ipcf_plan *plan, uint64_t seed, uint64_t iteration,
                        struct ipcf_sup_result *res)
{
    static const struct ipcf_plan empty;
    struct iter it;
    struct ipcf_audit_snap before = {0}, after = {0}, leaked = {0};
    struct ipcf_ledger_snapshot snap = {0};
    struct ipcf_scenario_ctx sctx;
    char **leaked_str = NULL;
    const char *peer_names[IPCF_MAX_PEERS];
    struct ipcf_semantics sem[IPCF_MAX_STREAMS];
    bool setup_done = false, audited = false, interrupted = false;
    int rc = 0;
    int64_t t0 = ipcf_clock_ms();

    memset(res, 0, sizeof(*res));
    ipcf_findings_init(&res->findings);
    memset(&it, 0, sizeof(it));
    it.devnull = -1;
    memset(&sctx, 0, sizeof(sctx));
    if (!plan)
        plan = &empty;
    if (stop_signal)
        return -EINTR;

    it.sup = sup;
    it.s = s;
    it.npeers = ipcf_scenario_npeers(s);
    it.seed = seed;
    it.iteration = iteration;
    it.messages = sup->cfg.messages ? sup->cfg.messages : (s->messages ? s->messages : 64);
    it.timeout_ms = sup->cfg.timeout_ms;
    it.plan = plan;
    res->fault_class = ipcf_fault_class_of(ipcf_plan_kinds(plan));
    if (it.npeers == 0)
        return -EINVAL;
    if (it.npeers > IPCF_MAX_PEERS)
        return -EINVAL;
    it.ps = sup->ps;
    it.devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    for (unsigned i = 0; i < it.npeers; i++) {
        peer_state_clear(&it.ps[i], s->peers[i].name);
        peer_names[i] = s->peers[i].name;
    }
    if (!sup->cfg.no_audit) {
        struct ipcf_audit_opts ao = {0};
        rc = ipcf_audit_snapshot(&ao, &before);
        if (rc < 0)
            goto out;
        audited = true;
    }
    ipcf_ledger_reset(sup->ledger);
    memset(sup->slots, 0, IPCF_MAX_PEERS * sizeof(struct peer_slot));
    if (s->shared_size) {
        it.shared =
            mmap(NULL, s->shared_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (it.shared == MAP_FAILED) {
            it.shared = NULL;
            rc = -errno;
            goto out;
        }
    }
    sctx.scenario = s;
    sctx.shared = it.shared;
    sctx.seed = seed;
    sctx.iteration = iteration;
    sctx.messages = it.messages;
    sctx.timeout_ms = it.timeout_ms;
    sctx.destructive = res->fault_class == IPCF_FAULTS_DESTRUCTIVE;
    if (s->setup) {
        rc = s->setup(&sctx);
        setup_done = true;
        if (rc < 0)
            goto out;
    }
    setup_done = true;

    caught_signals(&it.caught);
    /* Install the plan once for every peer of the iteration, disabled here: a
     * peer only takes its identity and enables it (no plan copy per fork). */
    rc = ipcf_faults_configure(plan, seed, NULL);
    if (rc < 0)
        goto out;
    ipcf_faults_disable();
    for (unsigned i = 0; i < it.npeers; i++) {
        rc = spawn(&it, i, 0);
        if (rc < 0) {
            (void)add_end(&it, i, 0, IPCF_END_NOT_STARTED, rc);
            goto out;
        }
    }
    if (s->started) {
        s->started(&sctx);
        caught_signals(&it.caught); /* restarts are forked after started() */
    }
    int64_t deadline = t0 + it.timeout_ms;
    rc = watch(&it, deadline, res);
    if (rc == -IPCF_ETIMEDOUT) {
        rc = stop_all(&it, true, ipcf_clock_ms() - t0, res);
    } else if (rc == -EINTR) {
        interrupted = true;
        rc = stop_all(&it, false, 0, res);
    } else if (rc < 0) {
        (void)stop_all(&it, false, 0, res);
    }
    if (rc < 0)
        goto out;

    for (unsigned i = 0; i < it.npeers; i++) {
        it.ps[i].outcome.incarnations = it.ps[i].started;
        sctx.outcome[i] = it.ps[i].outcome;
    }
    int check_rc = 0;
    bool check_ran = false;
    if (s->check && !interrupted) {
        check_rc = s->check(&sctx);
        check_ran = true;
    }
    if (s->teardown)
        s->teardown(&sctx);
    setup_done = false;

    /* names audit: what this iteration created and left */
    size_t nleaked = 0;
    if (audited) {
        struct ipcf_audit_opts ao = {0};
        rc = ipcf_audit_snapshot(&ao, &after);
        if (rc < 0)
            goto out;
        rc = ipcf_audit_diff(&before, &after, &leaked);
        if (rc < 0)
            goto out;
        if (leaked.n) {
            leaked_str = calloc(leaked.n, sizeof(*leaked_str));
            if (!leaked_str) {
                rc = -ENOMEM;
                goto out;
            }
            for (size_t i = 0; i < leaked.n; i++) {
                char buf[IPCF_AUDIT_NAME_MAX + 16];
                ipcf_name_entry_format(&leaked.v[i], buf, sizeof(buf));
                leaked_str[i] = strdup(buf);
                if (!leaked_str[i]) {
                    rc = -ENOMEM;
                    goto out;
                }
                nleaked++;
            }
        }
    }

    rc = ipcf_ledger_snapshot_take(sup->ledger, &snap);
    if (rc < 0)
        goto out;

    const char *san_excerpt = NULL;
    for (unsigned i = 0; i < it.npeers; i++) {
        if (it.ps[i].sanitizer && !san_excerpt) {
            snprintf(res->sanitizer, sizeof(res->sanitizer), "%.32s: %.400s", s->peers[i].name,
                     it.ps[i].sanitizer_excerpt);
            san_excerpt = res->sanitizer;
        }
    }
    for (size_t i = 0; i < it.nrestarts; i++)
        it.restarts[i].detail = it.restart_detail[i];
    size_t nsem = ipcf__scenario_semantics(s, sem, IPCF_MAX_STREAMS);
    struct ipcf_run_facts facts = {
        .peer_names = peer_names,
        .npeer_names = it.npeers,
        .ends = it.ends,
        .nends = it.nends,
        .plan_kinds = ipcf_plan_kinds(plan),
        .sanitizer_seen = san_excerpt != NULL,
        .sanitizer_excerpt = san_excerpt,
        .leaked_names = (const char *const *)leaked_str,
        .nleaked_names = nleaked,
        .check_ran = check_ran,
        .check_rc = check_rc,
        .check_detail = sctx.detail[0] ? sctx.detail : NULL,
        .restarts = it.restarts,
        .nrestarts = it.nrestarts,
    };
    rc = ipcf_oracle_judge(&snap, sem, nsem, &facts, &res->findings);
    if (rc < 0)
        goto out;
    rc = 0;
    res->verdict = ipcf_findings_verdict(&res->findings);

    /* trace hash: how each incarnation ended, and the decisions of those that
     * returned from their body */
    uint64_t h = 0x6970636675ull;
    for (size_t i = 0; i < it.nends; i++) {
        h = mix(h, it.ends[i].peer);
        h = mix(h, (uint64_t)it.ends[i].kind);
        if (it.ends[i].kind != IPCF_END_HUNG)
            h = mix(h, (uint64_t)(int64_t)it.ends[i].code);
    }
    for (unsigned i = 0; i < it.npeers; i++)
        if (__atomic_load_n(&sup->slots[i].valid, __ATOMIC_ACQUIRE))
            h = mix(mix(h, sup->slots[i].hash), sup->slots[i].incarnation);
    res->trace_hash = h;

out:
    if (it.ps)
        (void)stop_all(&it, false, 0, res);
    if (setup_done && s->teardown)
        s->teardown(&sctx);
    (void)ipcf_run_remove_names(0);
    if (it.shared)
        munmap(it.shared, s->shared_size);
    ipcf_ledger_snapshot_free(&snap);
    if (leaked_str) {
        for (size_t i = 0; i < leaked.n; i++)
            free(leaked_str[i]);
        free(leaked_str);
    }
    ipcf_audit_snap_free(&before);
    ipcf_audit_snap_free(&after);
    ipcf_audit_snap_free(&leaked);
    if (it.devnull >= 0)
        close(it.devnull);
    free(it.ends);
    free(it.restarts);
    free(it.restart_detail);
    res->elapsed_ms = ipcf_clock_ms() - t0;
    if (rc == 0 && (interrupted || stop_signal))
        rc = -EINTR;
    return rc;
}
