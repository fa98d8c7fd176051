/* cmd_exec.c — `ipcfuzz exec`: black-box mode. Any dynamically linked program
 * (and every process it starts) runs under libipcfuzz_preload.so with the plan
 * in IPCF_PLAN / IPCF_SEED.
 *
 * First a clean baseline run (no preload): its exit status and a hash of its
 * stdout. Then, unless --plan is given, one traced run (empty plan) tells
 * which calls the program makes and which process names it has: random plans
 * draw from those (blocking I/O calls only) and may aim kill rules at one
 * process with peer=. --sweep makes one plan per traced call instead.
 * Each iteration runs under a plan and is judged by its fault class
 * (harness/oracle.h):
 *  transparent (EINTR, short, signal storm): ANY difference from the baseline
 *    (exit status, stdout) is a finding — a correct program absorbs these;
 *  destructive (kill, hard errors): a non-zero exit is fine, but not
 *  both: a death of the main process by a signal the plan did not schedule
 *    (crash; signal= storms interrupt, they do not schedule a death), a death
 *    of any other process of the tree by a crash signal (crash; recorded by
 *    the preload library in the file $IPCF_DEATHS, faults/deaths.c), a
 *    sanitizer report on stderr,
 *    a hang (--timeout), names matching --names GLOB left behind (leaked-name;
 *    they are removed afterwards), and a --then recovery command that exits
 *    non-zero (recovery-failed). Names left by a program whose main process
 *    the plan itself killed are only noted when there is no --then to
 *    recover them (SIGKILL leaves no chance to clean up).
 * The program runs in its own process group, killed as a group on timeout.
 *
 * Findings are grouped by a signature (first verdict, how the program ended,
 * its first stderr line with numbers normalised): one reproducer per group
 * (the one with the shortest plan), a count per group, a grouped summary.
 * Reproducers record the absolute working directory (x-cwd); replay runs the
 * program there, so `ipcfuzz replay` works from any directory.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <limits.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ipcfuzz/io.h"
#include "audit.h"
#include "cli.h"

#define MAX_GLOBS 16
#define SIG_MAX   256 /* finding signature */

int ipcf__exec_replay(const struct ipcf_repro *r, const struct ipcf__repro_extra *x,
                      const char *plan_text, int timeout_ms, bool verbose,
                      struct ipcf_findings *out, uint64_t *hash);

struct exec_cfg {
    char **argv;
    const char *globs[MAX_GLOBS];
    size_t nglobs;
    const char *then;
    const char *cwd; /* run the program here (NULL: our cwd) */
    int timeout_ms;
    bool verbose;
    char preload[PATH_MAX];
};

#define MAX_DEATHS 8

/* A process of the tree other than the main one that died of a crash signal
 * (recorded by the preload library through IPCF_DEATHS: faults/deaths.c). */
struct death {
    long pid;
    int sig;
    char name[48];
};

struct outcome {
    int status; /* wait status */
    pid_t pid;  /* the main process */
    bool hung;
    struct death deaths[MAX_DEATHS];
    size_t ndeaths;
    uint64_t out_hash;
    bool sanitizer;
    char excerpt[IPCF_SUP_EXCERPT_MAX];
    char last_err[160];
    char first_err[160];
};

static void help(FILE *f)
{
    fprintf(f,
            "usage: %s exec [OPTIONS] -- PROGRAM [ARGS...]\n\n"
            "Black-box mode: run PROGRAM (and every process it starts) under the preload\n"
            "fault injector (libipcfuzz_preload.so: $IPCF_PRELOAD_LIB, else next to this\n"
            "binary, ../faults or ../lib); a statically linked or set-user-ID PROGRAM is\n"
            "refused (LD_PRELOAD cannot reach it). A clean baseline run comes first (exit\n"
            "status + stdout hash), then a traced run: random plans use the blocking I/O\n"
            "calls it saw and may target one process (peer= is the executable's argv[0]\n"
            "basename). Under transparent faults (EINTR, short I/O, signal storms) any\n"
            "difference from the baseline is a finding; under destructive faults (kill,\n"
            "hard errors) a non-zero exit is fine, but a crash by a signal the plan did not\n"
            "schedule (SIGPIPE, SIGSEGV, a storm signal...), a sanitizer report, a hang,\n"
            "leaked names or a failed --then command are findings. Any other process of the\n"
            "tree dying of a crash signal (SEGV, BUS, ILL, FPE, ABRT, SYS, TRAP) whose\n"
            "handler was the default is a crash too. The main process's group is killed\n"
            "when it ends.\n"
            "Findings with the same signature (verdict, exit, first stderr line) are\n"
            "grouped: one reproducer per group; replay it with `%s replay FILE`\n"
            "from any directory (the working directory is recorded).\n\n"
            "options:\n"
            "  --plan PLAN        fault plan for every iteration (default: random plans)\n"
            "  --seed S           seed (default 1): same seed, same plans\n"
            "  --faults LIST      classes of random plans: kill,eintr,short,signal (default\n"
            "                     all). EINTR reaches a read() only if some signal handler\n"
            "                     was installed without SA_RESTART: for a program that\n"
            "                     installs none, `--faults kill,short` keeps to what its\n"
            "                     kernel can really do\n"
            "  --iterations N     iterations (default 1 with --plan, else 10;\n"
            "                     --sweep: every plan)\n"
            "  --time D           time budget (e.g. 30s)\n"
            "  --names GLOB       absolute path glob of names the program creates\n"
            "                     (repeatable), e.g. '/dev/shm/myapp*', '/tmp/app.sock';\n"
            "                     left behind = leaked-name (then removed). Names left by\n"
            "                     a main process the plan SIGKILLed count only with --then\n"
            "  --then CMD         recovery command run (sh -c, same directory) after each\n"
            "                     faulted run; a non-zero exit is a recovery-failed finding\n"
            "  --sweep            one plan per traced call: kill=before, kill=after,\n"
            "                     short=1 (I/O calls), error=EINTR (calls that block)\n"
            "                     (bounded by --iterations/--time)\n"
            "  --timeout D        per run (default 10s): longer is a hang\n"
            "  --findings DIR     reproducer directory (default: findings)\n"
            "  --verbose          copy the program's stderr to ours; print every finding\n"
            "exit status: 0 no finding, 1 findings, 2 usage error, 3 internal error.\n",
            ipcf__prog, ipcf__prog);
}

static int find_preload(char *buf, size_t cap)
{
    char dir[PATH_MAX];
    const char *env = getenv("IPCF_PRELOAD_LIB");
    if (env && access(env, R_OK) == 0) {
        snprintf(buf, cap, "%s", env);
        return 0;
    }
    IPCF_TRY(ipcf__exe_dir(dir, sizeof(dir)));
    const char *cands[] = {"", "/../faults", "/../lib", "/../lib64", "/../lib/x86_64-linux-gnu"};
    for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
        if (snprintf(buf, cap, "%s%s/libipcfuzz_preload.so", dir, cands[i]) >= (int)cap)
            continue;
        if (access(buf, R_OK) == 0)
            return 0;
    }
    return -ENOENT;
}

/* Run the program once (plan == NULL: no preload). */
/* Read the deaths file of a run: crashes of processes other than the main. */
static void read_deaths(const char *path, struct outcome *o)
{
    FILE *f = fopen(path, "re");
    char line[160];
    while (f && fgets(line, sizeof(line), f) && o->ndeaths < MAX_DEATHS) {
        struct death d = {0};
        if (sscanf(line, "%ld %d %47s", &d.pid, &d.sig, d.name) != 3 || d.pid == (long)o->pid)
            continue;
        o->deaths[o->ndeaths++] = d;
    }
    if (f)
        fclose(f);
}

static int run_program(const struct exec_cfg *c, const char *plan, uint64_t seed, const char *trace,
                       struct outcome *o)
{
    int outp[2], errp[2];
    char dpath[] = "/tmp/ipcfuzz-exec-deaths.XXXXXX";
    memset(o, 0, sizeof(*o));
    o->out_hash = 0xcbf29ce484222325ull;
    if (plan) {
        int dfd = mkstemp(dpath);
        if (dfd < 0)
            return -errno;
        close(dfd);
    }
    if (pipe2(outp, O_CLOEXEC) != 0) {
        int e = -errno;
        if (plan)
            unlink(dpath);
        return e;
    }
    if (pipe2(errp, O_CLOEXEC) != 0) {
        int e = -errno;
        close(outp[0]);
        close(outp[1]);
        if (plan)
            unlink(dpath);
        return e;
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = -errno;
        close(outp[0]), close(outp[1]), close(errp[0]), close(errp[1]);
        if (plan)
            unlink(dpath);
        return e;
    }
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        dup2(outp[1], STDOUT_FILENO);
        dup2(errp[1], STDERR_FILENO);
        int dn = open("/dev/null", O_RDONLY);
        if (dn >= 0)
            dup2(dn, STDIN_FILENO);
        if (c->cwd && chdir(c->cwd) != 0) {
            fprintf(stderr, "ipcfuzz exec: cannot enter %s: %s\n", c->cwd, strerror(errno));
            _exit(127);
        }
        unsetenv("IPCF_PLAN");
        unsetenv("IPCF_TRACE");
        unsetenv("IPCF_DEATHS");
        if (plan) {
            char seedbuf[32], pre[PATH_MAX * 2];
            const char *old = getenv("LD_PRELOAD");
            snprintf(pre, sizeof(pre), "%s%s%s", c->preload, old && *old ? ":" : "",
                     old ? old : "");
            setenv("LD_PRELOAD", pre, 1);
            setenv("IPCF_PLAN", plan, 1);
            snprintf(seedbuf, sizeof(seedbuf), "%llu", (unsigned long long)seed);
            setenv("IPCF_SEED", seedbuf, 1);
            if (trace)
                setenv("IPCF_TRACE", trace, 1);
            setenv("IPCF_DEATHS", dpath, 1);
        }
        execvp(c->argv[0], c->argv);
        fprintf(stderr, "ipcfuzz exec: cannot run %s: %s\n", c->argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    o->pid = pid;
    close(outp[1]);
    close(errp[1]);
    fcntl(outp[0], F_SETFL, O_NONBLOCK);
    fcntl(errp[0], F_SETFL, O_NONBLOCK);
    int64_t deadline = ipcf_clock_ms() + c->timeout_ms;
    char errbuf[16384];
    size_t errlen = 0;
    bool reaped = false;
    int fds[2] = {outp[0], errp[0]};
    while (!reaped || fds[0] >= 0 || fds[1] >= 0) {
        struct pollfd p[2];
        int n = 0;
        for (int i = 0; i < 2; i++)
            if (fds[i] >= 0)
                p[n++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        int64_t left = deadline - ipcf_clock_ms();
        if (left <= 0 && !o->hung) {
            o->hung = true;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
        }
        if (n)
            (void)poll(p, (nfds_t)n, left > 20 ? 20 : (left > 0 ? (int)left : 1));
        else
            usleep(2000);
        for (int i = 0; i < 2; i++) {
            char buf[4096];
            ssize_t r;
            while (fds[i] >= 0 && (r = read(fds[i], buf, sizeof(buf))) != 0) {
                if (r < 0) {
                    if (errno == EINTR)
                        continue;
                    if (errno != EAGAIN)
                        r = 0;
                    else
                        break;
                }
                if (r == 0)
                    break;
                if (i == 0) {
                    for (ssize_t k = 0; k < r; k++) {
                        o->out_hash ^= (unsigned char)buf[k];
                        o->out_hash *= 0x100000001b3ull;
                    }
                } else {
                    if (c->verbose)
                        (void)!write(STDERR_FILENO, buf, (size_t)r);
                    size_t keep = sizeof(errbuf) - 1 - errlen;
                    if ((size_t)r < keep)
                        keep = (size_t)r;
                    memcpy(errbuf + errlen, buf, keep);
                    errlen += keep;
                }
            }
            if (fds[i] >= 0 && r == 0) {
                close(fds[i]);
                fds[i] = -1;
            }
        }
        if (!reaped) {
            int st;
            pid_t w = waitpid(pid, &st, WNOHANG);
            if (w == pid) {
                reaped = true;
                o->status = st;
                kill(-pid, SIGKILL); /* the rest of its tree */
            }
        }
        if (reaped && ipcf_clock_ms() > deadline + 2000) /* a grandchild holds a pipe */
            break;
    }
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (plan) {
        read_deaths(dpath, o);
        unlink(dpath);
    }
    errbuf[errlen] = '\0';
    long at = ipcf__sanitizer_scan(errbuf, errlen, NULL);
    if (at >= 0) {
        o->sanitizer = true;
        snprintf(o->excerpt, sizeof(o->excerpt), "%.300s", errbuf + at);
        char *nl = strchr(o->excerpt, '\n');
        if (nl)
            *nl = '\0';
    }
    const char *fl = errbuf;
    while (*fl == '\n')
        fl++;
    snprintf(o->first_err, sizeof(o->first_err), "%.*s", (int)strcspn(fl, "\n"), fl);
    char *last = errlen ? errbuf + errlen - 1 : errbuf;
    while (last > errbuf && *last == '\n')
        *last-- = '\0';
    char *ls = strrchr(errbuf, '\n');
    snprintf(o->last_err, sizeof(o->last_err), "%.150s", ls ? ls + 1 : errbuf);
    return 0;
}

static bool scheduled(const struct ipcf_plan *plan, int sig)
{
    for (size_t i = 0; i < plan->nrules; i++)
        for (unsigned a = 0; a < plan->rules[i].nactions; a++) {
            const struct ipcf_action *x = &plan->rules[i].actions[a];
            if (sig == SIGKILL &&
                (x->kind == IPCF_ACT_KILL_BEFORE || x->kind == IPCF_ACT_KILL_AFTER))
                return true;
            /* signal=SIGKILL/SIGSTOP schedule a death; other signal= storms
             * only interrupt calls (the injector installs a no-op handler
             * where the program has none): dying of one is a crash. */
            if (x->kind == IPCF_ACT_SIGNAL && x->value == sig && (sig == SIGKILL || sig == SIGSTOP))
                return true;
        }
    return false;
}

static void describe(int st, bool hung, char *buf, size_t cap)
{
    if (hung)
        snprintf(buf, cap, "hung");
    else if (WIFEXITED(st))
        snprintf(buf, cap, "exit %d", WEXITSTATUS(st));
    else
        snprintf(buf, cap, "signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
}

/* One faulted iteration, judged against the baseline. */
/* A finding's signature: numbers in text become '#', so the same bug hit at
 * different points (pids, counts, offsets) groups together. */
static void normalise(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = in; *p && n + 1 < cap; p++) {
        if (*p >= '0' && *p <= '9') {
            if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
                p += 2;
            while (p[1] && ((p[1] >= '0' && p[1] <= '9') || (p[1] >= 'a' && p[1] <= 'f') ||
                            (p[1] >= 'A' && p[1] <= 'F')))
                p++;
            out[n++] = '#';
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

/* Remove a name the program left behind, so the next iteration starts clean. */
static void remove_name(const struct ipcf_name_entry *e)
{
    unsigned key = 0;
    int id = -1;
    switch (e->kind) {
    case IPCF_NAME_SHM:
        (void)shm_unlink(e->name);
        break;
    case IPCF_NAME_MQ:
        (void)mq_unlink(e->name);
        break;
    case IPCF_NAME_PATH: {
        struct stat st;
        if (lstat(e->name, &st) == 0 && S_ISDIR(st.st_mode))
            (void)rmdir(e->name);
        else
            (void)unlink(e->name);
        break;
    }
    default: /* System V: "key=0x... id=N" */
        if (sscanf(e->name, "key=%x id=%d", &key, &id) != 2 || id < 0)
            break;
        if (e->kind == IPCF_NAME_SYSV_SHM)
            (void)shmctl(id, IPC_RMID, NULL);
        else if (e->kind == IPCF_NAME_SYSV_MSG)
            (void)msgctl(id, IPC_RMID, NULL);
        else
            (void)semctl(id, 0, IPC_RMID);
    }
}

/* One faulted iteration, judged against the baseline. sig (if non-NULL,
 * SIG_MAX bytes) gets the signature of the findings. */
static int iterate(const struct exec_cfg *c, const struct outcome *base, const char *plan_text,
                   uint64_t seed, struct ipcf_findings *f, uint64_t *hash, char *sig)
{
    struct ipcf_plan plan = {0};
    struct ipcf_audit_snap before = {0}, after = {0}, leaked = {0};
    struct ipcf_audit_opts ao = {.globs = c->globs, .nglobs = c->nglobs};
    struct outcome o;
    int rc = ipcf_plan_parse(plan_text, &plan, NULL);
    if (rc < 0)
        return rc;
    enum ipcf_fault_class cls = ipcf_fault_class_of(ipcf_plan_kinds(&plan));
    rc = ipcf_audit_snapshot(&ao, &before);
    if (rc == 0)
        rc = run_program(c, plan_text, seed, NULL, &o);
    if (rc < 0)
        goto out;
    char d[64], bd[64];
    describe(o.status, o.hung, d, sizeof(d));
    describe(base->status, base->hung, bd, sizeof(bd));
    bool killed_by_plan = !o.hung && WIFSIGNALED(o.status) && scheduled(&plan, WTERMSIG(o.status));
    if (o.hung)
        rc = ipcf_findings_add(f, IPCF_VERDICT_HANG, 0, 0, -1, 0, "%s did not finish within %d ms",
                               c->argv[0], c->timeout_ms);
    else if (WIFSIGNALED(o.status) && !killed_by_plan)
        rc = ipcf_findings_add(f, IPCF_VERDICT_CRASH, 0, 0, -1, 0, "%s died: %s%s%s", c->argv[0], d,
                               o.last_err[0] ? "; stderr: " : "", o.last_err);
    /* another process of the tree died of a crash signal: a crash whatever the
     * main process did (it may not even look at its workers' status) */
    for (size_t i = 0; rc == 0 && i < o.ndeaths; i++)
        rc = ipcf_findings_add(f, IPCF_VERDICT_CRASH, 0, 0, -1, (pid_t)o.deaths[i].pid,
                               "process %s (pid %ld, not the main one) died: signal %d (%s)",
                               o.deaths[i].name, o.deaths[i].pid, o.deaths[i].sig,
                               strsignal(o.deaths[i].sig));
    if (rc == 0 && o.sanitizer)
        rc = ipcf_findings_add(f, IPCF_VERDICT_SANITIZER, 0, 0, -1, 0, "%s", o.excerpt);
    if (rc == 0 && cls != IPCF_FAULTS_DESTRUCTIVE && !o.hung && !WIFSIGNALED(o.status)) {
        if (o.status != base->status)
            rc = ipcf_findings_add(f, IPCF_VERDICT_EXIT, 0, 0, -1, 0,
                                   "%s under a transparent plan (baseline: %s)%s%s", d, bd,
                                   o.last_err[0] ? "; stderr: " : "", o.last_err);
        else if (o.out_hash != base->out_hash)
            rc = ipcf_findings_add(f, IPCF_VERDICT_CORRUPTED, 0, 0, -1, 0,
                                   "stdout differs from the baseline under a transparent plan");
    }
    if (rc == 0 && c->then) {
        struct exec_cfg tc = *c;
        char *targv[] = {"sh", "-c", (char *)c->then, NULL};
        struct outcome t;
        tc.argv = targv;
        rc = run_program(&tc, NULL, 0, NULL, &t);
        if (rc == 0 && (t.hung || !WIFEXITED(t.status) || WEXITSTATUS(t.status) != 0)) {
            char td[64];
            describe(t.status, t.hung, td, sizeof(td));
            rc = ipcf_findings_add(f, IPCF_VERDICT_RECOVERY_FAILED, 0, 0, -1, 0,
                                   "recovery command '%s': %s%s%s", c->then, td,
                                   t.last_err[0] ? "; stderr: " : "", t.last_err);
        }
    }
    if (rc == 0 && c->nglobs) {
        rc = ipcf_audit_snapshot(&ao, &after);
        if (rc == 0)
            rc = ipcf_audit_diff(&before, &after, &leaked);
        /* A main process SIGKILLed by the plan had no chance to clean up;
         * without --then nothing was asked to recover: a note, not a finding. */
        bool excused = killed_by_plan && !c->then;
        for (size_t i = 0; rc == 0 && i < leaked.n; i++) {
            char nb[IPCF_AUDIT_NAME_MAX + 16];
            ipcf_name_entry_format(&leaked.v[i], nb, sizeof(nb));
            if (excused) {
                if (c->verbose)
                    printf("note: %s left %s (killed by the plan; give --then to check "
                           "recovery)\n",
                           c->argv[0], nb);
            } else {
                rc = ipcf_findings_add(f, IPCF_VERDICT_LEAKED_NAME, 0, 0, -1, 0,
                                       "name left behind: %s", nb);
            }
            remove_name(&leaked.v[i]); /* the next iteration starts clean */
        }
    }
    if (hash) {
        uint64_t h = (uint64_t)o.status * 0x9e3779b97f4a7c15ull ^ o.out_hash;
        *hash = h ^ (o.hung ? 0x55 : 0);
    }
    if (sig && f->n) {
        char ne[160], nd[96];
        normalise(o.first_err, ne, sizeof(ne));
        /* a leaked name, or which other process died of what, tells bugs apart */
        bool by_detail = f->v[0].verdict == IPCF_VERDICT_LEAKED_NAME ||
                         (f->v[0].verdict == IPCF_VERDICT_CRASH && f->v[0].pid != 0);
        normalise(by_detail ? f->v[0].detail : "", nd, sizeof(nd));
        /* truncation is fine: a signature only needs to be stable */
        int w = snprintf(sig, SIG_MAX, "%s | %s", ipcf_verdict_name(f->v[0].verdict), d);
        size_t off = w > 0 && w < SIG_MAX ? (size_t)w : SIG_MAX - 1;
        if (ne[0])
            off += (size_t)snprintf(sig + off, SIG_MAX - off, " | stderr: %.100s", ne);
        if (nd[0] && off < SIG_MAX - 1)
            snprintf(sig + off, SIG_MAX - off, " | %.80s", nd);
    }
out:
    ipcf_plan_free(&plan);
    ipcf_audit_snap_free(&before);
    ipcf_audit_snap_free(&after);
    ipcf_audit_snap_free(&leaked);
    return rc;
}

static int baseline(const struct exec_cfg *c, struct outcome *base)
{
    int rc = run_program(c, NULL, 0, NULL, base);
    if (rc < 0)
        return rc;
    char d[64];
    describe(base->status, base->hung, d, sizeof(d));
    printf("baseline: %s, stdout hash %016llx%s\n", d, (unsigned long long)base->out_hash,
           base->sanitizer ? ", SANITIZER REPORT" : "");
    return 0;
}

static void join_argv(char **argv, char *buf, size_t cap)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; argv[i] && off < cap; i++) {
        int w = snprintf(buf + off, cap - off, "%s%s", i ? "\t" : "", argv[i]);
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

/* Mount /dev/mqueue when a --names glob needs it listed (best effort). */
static void need_mqueue(const struct exec_cfg *c)
{
    for (size_t i = 0; i < c->nglobs; i++)
        if (!strncmp(c->globs[i], "/dev/mqueue/", 12)) {
            if (ipcf_audit_mount_mqueue() < 0)
                fprintf(stderr,
                        "%s exec: warning: /dev/mqueue is not mounted and cannot be; "
                        "--names '%s' sees nothing\n",
                        ipcf__prog, c->globs[i]);
            return;
        }
}

int ipcf__exec_replay(const struct ipcf_repro *r, const struct ipcf__repro_extra *x,
                      const char *plan_text, int timeout_ms, bool verbose,
                      struct ipcf_findings *out, uint64_t *hash)
{
    struct exec_cfg c;
    char *argv[64];
    char *ex = strdup(x->exec), *nm = x->names ? strdup(x->names) : NULL;
    int n = 0, rc;
    memset(&c, 0, sizeof(c));
    if (!ex || (x->names && !nm)) {
        free(ex);
        free(nm);
        return IPCF_EXIT_INTERNAL;
    }
    for (char *t = strtok(ex, "\t"); t && n < 63; t = strtok(NULL, "\t"))
        argv[n++] = t;
    argv[n] = NULL;
    for (char *t = nm ? strtok(nm, "\t") : NULL; t && c.nglobs < MAX_GLOBS; t = strtok(NULL, "\t"))
        c.globs[c.nglobs++] = t;
    c.argv = argv;
    c.then = x->then;
    c.cwd = x->cwd; /* older reproducers have none: run in our cwd */
    c.timeout_ms = timeout_ms ? timeout_ms : (x->timeout_ms ? x->timeout_ms : 10000);
    c.verbose = verbose;
    need_mqueue(&c);
    rc = find_preload(c.preload, sizeof(c.preload));
    struct outcome base;
    if (rc == 0 && n > 0)
        rc = baseline(&c, &base);
    if (rc == 0 && n > 0)
        rc = iterate(&c, &base, plan_text, r->seed, out, hash, NULL);
    free(ex);
    free(nm);
    if (rc < 0 || n == 0) {
        fprintf(stderr, "%s: exec replay failed: %s\n", ipcf__prog,
                n ? ipcf_strerror(rc) : "empty x-exec");
        return IPCF_EXIT_INTERNAL;
    }
    return 0;
}

/* ---- the traced run ------------------------------------------------------------ */

struct traced_call {
    char peer[64];
    char set[48];
    unsigned long long idx;
};

struct trace {
    struct traced_call *v;
    size_t n;
};

/* Run the program once with an empty plan and IPCF_TRACE: every intercepted
 * call of every process. 0 or -errno. */
static int trace_program(const struct exec_cfg *c, uint64_t seed, struct trace *t)
{
    char tpath[] = "/tmp/ipcfuzz-exec-trace.XXXXXX";
    memset(t, 0, sizeof(*t));
    int tfd = mkstemp(tpath);
    if (tfd < 0)
        return -errno;
    close(tfd);
    struct outcome o;
    int rc = run_program(c, "", seed, tpath, &o);
    /* the traced run has no faults: a crash here is the program's own, and
     * every faulted run will report it again */
    for (size_t i = 0; rc == 0 && i < o.ndeaths; i++)
        printf("note: without faults (traced run), process %s (pid %ld) died: signal %d (%s)\n",
               o.deaths[i].name, o.deaths[i].pid, o.deaths[i].sig, strsignal(o.deaths[i].sig));
    FILE *tf = rc == 0 ? fopen(tpath, "re") : NULL;
    char line[512];
    while (tf && fgets(line, sizeof(line), tf)) {
        struct traced_call x;
        long pid;
        if (sscanf(line, "%ld %63s %47s %llu", &pid, x.peer, x.set, &x.idx) != 4)
            continue;
        struct traced_call *nv = realloc(t->v, (t->n + 1) * sizeof(*nv));
        if (!nv) {
            rc = -ENOMEM;
            break;
        }
        t->v = nv;
        t->v[t->n++] = x;
    }
    if (tf)
        fclose(tf);
    unlink(tpath);
    return rc;
}

/* Calls random plans may use: blocking I/O and waits that a correct program
 * meets EINTR / short transfers on. (Sweep tries every traced call.) */
static bool random_call_ok(const char *set)
{
    static const char *const ok[] = {
        "read",     "write",      "readv",        "writev",          "recv",
        "recvfrom", "recvmsg",    "send",         "sendto",          "sendmsg",
        "accept",   "accept4",    "poll",         "ppoll",           "epoll_wait",
        "mq_send",  "mq_receive", "mq_timedsend", "mq_timedreceive", "msgsnd",
        "msgrcv",   "semop",      "sem_wait",     "pread",           "pwrite"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (!strcmp(set, ok[i]))
            return true;
    return false;
}

/* Calls that can block, so a signal can interrupt them (EINTR is real
 * there); open/openat only block on FIFOs and devices, so they are left out. */
static bool blocking_call(const char *set)
{
    static const char *const b[] = {
        "connect", "epoll_pwait", "mq_timedsend", "mq_timedreceive", "semtimedop", "sem_timedwait",
        "wait",    "waitpid",     "wait4"};
    if (random_call_ok(set))
        return true;
    for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
        if (!strcmp(set, b[i]))
            return true;
    return false;
}

static int run_peer_unused(struct ipcf_peer_ctx *ctx)
{
    (void)ctx;
    return 0;
}

/* The pseudo-scenario random plans are drawn for: the traced call sets and
 * process names. calls_buf holds the comma-separated call list. */
static void pseudo_from_trace(const struct trace *t, struct ipcf_scenario *s, char *calls_buf,
                              size_t cap, char peers[IPCF_MAX_PEERS][64])
{
    size_t off = 0;
    unsigned ncalls = 0, np = 0;
    calls_buf[0] = '\0';
    for (size_t i = 0; i < t->n; i++) {
        const struct traced_call *x = &t->v[i];
        if (random_call_ok(x->set) && ncalls < 12) {
            char needle[64];
            snprintf(needle, sizeof(needle), ",%s,", x->set);
            char have[1100];
            snprintf(have, sizeof(have), ",%s,", calls_buf);
            if (!strstr(have, needle) && off + strlen(x->set) + 2 < cap) {
                off += (size_t)snprintf(calls_buf + off, cap - off, "%s%s", off ? "," : "", x->set);
                ncalls++;
            }
        }
        bool seen = false;
        for (unsigned k = 0; k < np; k++)
            seen |= !strcmp(peers[k], x->peer);
        if (!seen && np < IPCF_MAX_PEERS) {
            snprintf(peers[np], 64, "%s", x->peer);
            s->peers[np].name = peers[np];
            s->peers[np].run = run_peer_unused;
            np++;
        }
    }
    s->calls = ncalls ? calls_buf : NULL; /* none traced: read,write,poll */
    if (np < 2)                           /* one process name: no need for peer= */
        memset(s->peers, 0, sizeof(s->peers));
}

/* ---- can the preload library reach the program? ---------------------------- */

/* The file execvp would run for `prog` into buf; 0, or -1 when not found. */
static int resolve_program(const char *prog, char *buf, size_t cap)
{
    if (strchr(prog, '/')) {
        snprintf(buf, cap, "%s", prog);
        return access(buf, X_OK) == 0 ? 0 : -1;
    }
    const char *path = getenv("PATH");
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t len = strcspn(p, ":");
        if (len && (size_t)snprintf(buf, cap, "%.*s/%s", (int)len, p, prog) < cap &&
            access(buf, X_OK) == 0)
            return 0;
        p += len + (p[len] == ':');
    }
    return -1;
}

/* Why LD_PRELOAD cannot reach the program (NULL: it can, or we cannot tell —
 * a script, a binary we cannot read). A statically linked executable has no
 * PT_INTERP (no dynamic loader, so nothing loads the preload library); a
 * set-user/group-ID one runs in secure mode, which ignores LD_PRELOAD. */
static const char *preload_blocked(const char *prog)
{
    char path[PATH_MAX];
    struct stat st;
    if (resolve_program(prog, path, sizeof(path)) < 0 || stat(path, &st) != 0)
        return NULL;
    if (st.st_mode & (S_ISUID | S_ISGID))
        return "it is set-user-ID or set-group-ID (the loader ignores LD_PRELOAD)";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    Elf64_Ehdr eh;
    const char *why = NULL;
    if (pread(fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) &&
        !memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
        (eh.e_type == ET_EXEC || eh.e_type == ET_DYN) && eh.e_phentsize == sizeof(Elf64_Phdr) &&
        eh.e_phnum > 0 && eh.e_phnum < 4096) {
        bool interp = false, complete = true;
        for (unsigned i = 0; i < eh.e_phnum && !interp; i++) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * sizeof(ph))) !=
                (ssize_t)sizeof(ph)) {
                complete = false;
                break;
            }
            interp = ph.p_type == PT_INTERP;
        }
        if (complete && !interp)
            why = "it is statically linked (no dynamic loader to load the preload library)";
    }
    close(fd);
    return why;
}

/* ---- grouping of findings -------------------------------------------------- */

struct group {
    char sig[SIG_MAX];
    char verdicts[128];
    char plan[1024];
    uint64_t count, first_iter, iter;
    char *repro; /* reproducer of the kept (shortest-plan) instance */
};

struct groups {
    struct group *v;
    size_t n;
};

static struct group *group_get(struct groups *g, const char *sig, bool *fresh)
{
    *fresh = false;
    for (size_t i = 0; i < g->n; i++)
        if (!strcmp(g->v[i].sig, sig))
            return &g->v[i];
    struct group *nv = realloc(g->v, (g->n + 1) * sizeof(*nv));
    if (!nv)
        return NULL;
    g->v = nv;
    struct group *x = &g->v[g->n++];
    memset(x, 0, sizeof(*x));
    snprintf(x->sig, sizeof(x->sig), "%s", sig);
    *fresh = true;
    return x;
}

int ipcf__cmd_exec(int argc, char **argv)
{
    static const struct option opts[] = {{"plan", required_argument, 0, 'p'},
                                         {"seed", required_argument, 0, 's'},
                                         {"iterations", required_argument, 0, 'n'},
                                         {"time", required_argument, 0, 't'},
                                         {"names", required_argument, 0, 'N'},
                                         {"then", required_argument, 0, 'T'},
                                         {"sweep", no_argument, 0, 'w'},
                                         {"timeout", required_argument, 0, 'o'},
                                         {"findings", required_argument, 0, 'f'},
                                         {"verbose", no_argument, 0, 'v'},
                                         {"faults", required_argument, 0, 'F'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    struct exec_cfg c;
    const char *plan_text = NULL, *findings_dir = "findings";
    uint64_t seed = 1, iterations = 0;
    unsigned faults = 0; /* --faults: classes of random plans (0 = all) */
    int64_t time_ms = 0, ms;
    bool sweep = false;
    char cwd[PATH_MAX];
    memset(&c, 0, sizeof(c));
    c.timeout_ms = IPCF_SUP_DEFAULT_TIMEOUT_MS;
    optind = 1;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, "+:", opts, NULL)) != -1) {
        switch (o) {
        case 'p':
            plan_text = optarg;
            break;
        case 'F':
            if (ipcf__fault_classes_parse(optarg, &faults) < 0)
                return ipcf__usage_error("exec", "bad --faults '%s' (kill,eintr,short,signal,all)",
                                         optarg);
            break;
        case 's':
            if (ipcf__parse_u64(optarg, &seed) < 0)
                return ipcf__usage_error("exec", "bad --seed '%s'", optarg);
            break;
        case 'n':
            if (ipcf__parse_u64(optarg, &iterations) < 0 || !iterations)
                return ipcf__usage_error("exec", "bad --iterations '%s'", optarg);
            break;
        case 't':
            if (ipcf__parse_duration_ms(optarg, &time_ms) < 0 || time_ms <= 0)
                return ipcf__usage_error("exec", "bad --time '%s'", optarg);
            break;
        case 'N':
            if (optarg[0] != '/' || c.nglobs == MAX_GLOBS)
                return ipcf__usage_error("exec", "--names needs an absolute path glob (at most %d)",
                                         MAX_GLOBS);
            c.globs[c.nglobs++] = optarg;
            break;
        case 'T':
            c.then = optarg;
            break;
        case 'w':
            sweep = true;
            break;
        case 'o':
            if (ipcf__parse_duration_ms(optarg, &ms) < 0 || ms <= 0 || ms > INT32_MAX)
                return ipcf__usage_error("exec", "bad --timeout '%s'", optarg);
            c.timeout_ms = (int)ms;
            break;
        case 'f':
            findings_dir = optarg;
            break;
        case 'v':
            c.verbose = true;
            break;
        case 'h':
            help(stdout);
            return IPCF_EXIT_CLEAN;
        case ':':
            return ipcf__usage_error("exec", "option '%s' needs a value", argv[optind - 1]);
        default:
            return ipcf__usage_error("exec", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return ipcf__usage_error("exec", "missing -- PROGRAM [ARGS...]");
    if (sweep && plan_text)
        return ipcf__usage_error("exec", "--sweep makes its own plans: drop --plan");
    c.argv = argv + optind;
    if (plan_text) {
        struct ipcf_plan p = {0};
        int u = ipcf__plan_parse_or_usage("exec", plan_text, &p);
        ipcf_plan_free(&p);
        if (u)
            return u;
    }
    if (find_preload(c.preload, sizeof(c.preload)) < 0) {
        fprintf(stderr,
                "%s exec: libipcfuzz_preload.so not found next to %s or in ../lib "
                "(set IPCF_PRELOAD_LIB)\n",
                ipcf__prog, ipcf__prog);
        return IPCF_EXIT_INTERNAL;
    }
    const char *blocked = preload_blocked(c.argv[0]);
    if (blocked)
        return ipcf__usage_error("exec",
                                 "cannot inject faults into '%s': %s; link it dynamically, or "
                                 "test its code through a scenario (the C API)",
                                 c.argv[0], blocked);
    if (!getcwd(cwd, sizeof(cwd))) {
        fprintf(stderr, "%s exec: getcwd: %s\n", ipcf__prog, strerror(errno));
        return IPCF_EXIT_INTERNAL;
    }
    if (!iterations && !time_ms && !sweep)
        iterations = plan_text ? 1 : 10;
    if (ipcf__sup_signals() < 0)
        return IPCF_EXIT_INTERNAL;
    need_mqueue(&c);

    struct outcome base;
    int rc = baseline(&c, &base);
    if (rc < 0) {
        fprintf(stderr, "%s exec: %s\n", ipcf__prog, ipcf_strerror(rc));
        return IPCF_EXIT_INTERNAL;
    }
    if (base.hung || WIFSIGNALED(base.status))
        printf("warning: the baseline run itself did not end normally\n");
    else if (WIFEXITED(base.status) && WEXITSTATUS(base.status) == 127)
        printf("warning: the baseline exited 127: is '%s' a program here? (%s)\n", c.argv[0],
               base.last_err);

    /* The traced run: call sets and process names (random plans), or one
     * plan per traced call (--sweep). */
    struct trace tr = {0};
    char **plans = NULL;
    size_t nplans = 0;
    struct ipcf_scenario pseudo = {.name = "exec"};
    char calls_buf[1024], peer_names[IPCF_MAX_PEERS][64];
    if (!plan_text) {
        rc = trace_program(&c, seed, &tr);
        if (rc < 0) {
            fprintf(stderr, "%s exec: traced run: %s\n", ipcf__prog, ipcf_strerror(rc));
            free(tr.v);
            return IPCF_EXIT_INTERNAL;
        }
        pseudo_from_trace(&tr, &pseudo, calls_buf, sizeof(calls_buf), peer_names);
        if (!sweep)
            printf("traced: %zu call(s); random plans use %s%s\n", tr.n,
                   pseudo.calls ? pseudo.calls : "read,write,poll",
                   pseudo.peers[0].name ? " (peer= rules per process name)" : "");
        if (tr.n == 0)
            fprintf(stderr,
                    "%s exec: warning: no call of '%s' was intercepted: the faults will not "
                    "reach it (statically linked or set-user-ID programs it starts, or no I/O "
                    "through libc)\n",
                    ipcf__prog, c.argv[0]);
    }
    for (size_t t = 0; sweep && t < tr.n; t++) {
        static const char *const fl[] = {"kill=before", "kill=after", "error=EINTR", "short=1"};
        for (int k = 0; k < 4; k++) {
            char text[256];
            if (k == 2 && !blocking_call(tr.v[t].set))
                continue; /* EINTR only where a call can really be interrupted */
            struct ipcf_plan p = {0};
            snprintf(text, sizeof(text), "%s:%s:when=%llu:peer=%s", tr.v[t].set, fl[k], tr.v[t].idx,
                     tr.v[t].peer);
            if (ipcf_plan_parse(text, &p, NULL) < 0)
                continue;
            ipcf_plan_free(&p);
            char **np = realloc(plans, (nplans + 1) * sizeof(*plans));
            if (!np)
                break;
            plans = np;
            if (!(plans[nplans] = strdup(text)))
                break;
            nplans++;
        }
    }
    if (sweep) {
        printf("sweep: %zu plan(s) from the traced run\n", nplans);
        if (!iterations || iterations > nplans)
            iterations = nplans;
        if (!nplans) {
            free(tr.v);
            free(plans);
            printf("exec: 0 run(s) under faults (nothing traced)\n");
            return IPCF_EXIT_CLEAN;
        }
    }

    int64_t end = time_ms ? ipcf_clock_ms() + time_ms : 0;
    uint64_t found = 0, ran = 0;
    int exit_rc = IPCF_EXIT_CLEAN;
    struct groups groups = {NULL, 0};
    char joined[4096], names_joined[2048] = "";
    join_argv(c.argv, joined, sizeof(joined));
    /* reproducers are named exec-<program>-<verdict>-<seed>.repro, so the
     * findings of several programs can share one directory */
    char scen[80];
    const char *prog = strrchr(c.argv[0], '/') ? strrchr(c.argv[0], '/') + 1 : c.argv[0];
    snprintf(scen, sizeof(scen), "exec-%.60s", prog);
    for (char *p = scen; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-' || *p == '.'))
            *p = '_';
    for (size_t i = 0; i < c.nglobs; i++)
        snprintf(names_joined + strlen(names_joined), sizeof(names_joined) - strlen(names_joined),
                 "%s%s", i ? "\t" : "", c.globs[i]);
    for (uint64_t i = 0; !iterations || i < iterations; i++) {
        if (end && ipcf_clock_ms() >= end)
            break;
        if (ipcf__sup_stop_signal()) {
            exit_rc = 128 + ipcf__sup_stop_signal();
            break;
        }
        uint64_t iseed = ipcf__iteration_seed(seed, "exec", i);
        char text[1024];
        if (sweep) {
            snprintf(text, sizeof(text), "%s", plans[i]);
        } else if (plan_text) {
            snprintf(text, sizeof(text), "%s", plan_text);
        } else {
            struct ipcf_plan p = {0};
            (void)ipcf__plan_random(&pseudo, iseed, 64, faults, text, sizeof(text));
            if (ipcf_plan_parse(text, &p, NULL) < 0) { /* a traced call that cannot take it */
                struct ipcf_scenario plain = {.name = "exec"};
                (void)ipcf__plan_random(&plain, iseed, 64, faults, text, sizeof(text));
            }
            ipcf_plan_free(&p);
        }
        struct ipcf_findings f;
        char sig[SIG_MAX] = "";
        ipcf_findings_init(&f);
        rc = iterate(&c, &base, text, iseed, &f, NULL, sig);
        ran++;
        if (rc < 0) {
            fprintf(stderr, "%s exec: iteration %llu: %s\n", ipcf__prog, (unsigned long long)i,
                    ipcf_strerror(rc));
            ipcf_findings_free(&f);
            exit_rc = IPCF_EXIT_INTERNAL;
            break;
        }
        if (f.n) {
            found++;
            bool fresh;
            struct group *g = group_get(&groups, sig, &fresh);
            char v[128];
            ipcf_findings_verdicts(&f, v, sizeof(v));
            if (g)
                g->count++;
            /* keep one reproducer per group: the first, replaced by a later
             * instance only if its plan is shorter */
            if (g && (fresh || strlen(text) < strlen(g->plan))) {
                char *path = NULL;
                struct ipcf__repro_extra x = {.iteration = i,
                                              .timeout_ms = c.timeout_ms,
                                              .exec = joined,
                                              .names = c.nglobs ? names_joined : NULL,
                                              .then = (char *)c.then,
                                              .cwd = cwd};
                int wr = ipcf__write_finding(findings_dir, scen, text, iseed, NULL, &f, &x, &path);
                if (wr == 0 && path) {
                    if (g->repro && strcmp(g->repro, path))
                        (void)unlink(g->repro);
                    free(g->repro);
                    g->repro = path;
                } else {
                    free(path);
                }
                snprintf(g->plan, sizeof(g->plan), "%s", text);
                snprintf(g->verdicts, sizeof(g->verdicts), "%s", v);
                g->iter = i;
                if (fresh)
                    g->first_iter = i;
            }
            if (fresh || c.verbose) {
                printf("finding: iteration %llu %s  plan '%s'%s\n", (unsigned long long)i, v, text,
                       fresh ? "" : "  (known)");
                ipcf__print_findings(stdout, &f, NULL, 0);
                if (fresh)
                    printf("  -> %s\n", g && g->repro ? g->repro : "(no reproducer written)");
            }
        }
        ipcf_findings_free(&f);
    }
    for (size_t i = 0; i < nplans; i++)
        free(plans[i]);
    free(plans);
    free(tr.v);
    printf("exec: %llu run(s) under faults, %llu with findings", (unsigned long long)ran,
           (unsigned long long)found);
    if (groups.n)
        printf(", %zu distinct (grouped by verdict, exit, first stderr line):\n", groups.n);
    else
        printf("\n");
    for (size_t i = 0; i < groups.n; i++) {
        const struct group *g = &groups.v[i];
        printf("  %4llu x  %s\n         reproducer (iteration %llu, plan '%s'): %s\n",
               (unsigned long long)g->count, g->sig, (unsigned long long)g->iter, g->plan,
               g->repro ? g->repro : "(not written)");
        free(g->repro);
    }
    free(groups.v);
    if (exit_rc == IPCF_EXIT_CLEAN && found)
        exit_rc = IPCF_EXIT_FINDINGS;
    return exit_rc;
}
