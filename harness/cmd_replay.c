/* cmd_replay.c — `ipcfuzz replay FILE` and `ipcfuzz minimize FILE`.
 *
 * replay reruns a reproducer (scenario + plan + seed + planted bugs) and prints
 * the verdict; --check-determinism K runs it K times and prints the
 * reproduction rate (runs giving the recorded first verdict), and whether the
 * verdict sets, the process outcomes and the trace hashes matched.
 *
 * What is promised (docs/reproducers.md): the fault DECISIONS are a pure
 * function of (plan, seed, peer, call set, call index), but how many calls a
 * peer makes is not: a consumer's read count depends on how the producer's
 * bytes arrived, a kill lands while the other peer is at some point of its
 * work, a timer signal meets a blocked call or not. So the first verdict is
 * promised at the rate recorded in the reproducer (`reproduced: n/K`), the
 * verdict set is checked by --strict, and the trace hash (which counts every
 * call) is shown for information only.
 *
 * minimize delta-debugs the plan: drop whole rules, drop extra actions, then
 * narrow each rule's `when` range by halving, keeping a step only when the
 * candidate gives the recorded first verdict in K of K runs — so a flaky
 * finding tends to become a deterministic one; it writes a new reproducer
 * with its own `reproduced: n/K`.
 * Reproducers of black-box runs (an x-exec key) are handed to cmd_exec.c.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int ipcf__exec_replay(const struct ipcf_repro *r, const struct ipcf__repro_extra *x,
                      const char *plan_text, int timeout_ms, bool verbose,
                      struct ipcf_findings *out, uint64_t *hash);

struct loaded {
    struct ipcf_repro r;
    struct ipcf__repro_extra x;
    const struct ipcf_scenario *s; /* NULL for exec reproducers */
    struct ipcf_plan plan;
};

static void loaded_free(struct loaded *l)
{
    ipcf_repro_free(&l->r);
    ipcf__repro_extra_free(&l->x);
    ipcf_plan_free(&l->plan);
}

/* Load a reproducer; returns 0 or an exit code (usage error messages printed). */
static int load(const char *cmd, const char *path, struct loaded *l)
{
    struct ipcf_repro_error err;
    memset(l, 0, sizeof(*l));
    ipcf_repro_init(&l->r);
    memset(&err, 0, sizeof(err));
    int rc = ipcf_repro_read_file(path, &l->r, &err);
    if (rc == -IPCF_EPARSE) {
        fprintf(stderr, "%s %s: %s: malformed reproducer (line %u): %s\n", ipcf__prog, cmd, path,
                err.line, err.msg);
        return IPCF_EXIT_USAGE;
    }
    if (rc < 0) {
        fprintf(stderr, "%s %s: cannot read %s: %s\n", ipcf__prog, cmd, path, ipcf_strerror(rc));
        return IPCF_EXIT_USAGE;
    }
    rc = ipcf__repro_extra_read(path, &l->x);
    if (rc < 0) {
        fprintf(stderr, "%s %s: cannot read %s: %s\n", ipcf__prog, cmd, path, ipcf_strerror(rc));
        return IPCF_EXIT_USAGE;
    }
    if (!l->x.exec) {
        l->s = ipcf_scenario_find(l->r.scenario);
        if (!l->s) {
            fprintf(stderr,
                    "%s %s: %s: unknown scenario '%s' (not linked into this binary; see `%s "
                    "list`)\n",
                    ipcf__prog, cmd, path, l->r.scenario, ipcf__prog);
            return IPCF_EXIT_USAGE;
        }
    }
    int u = ipcf__plan_parse_or_usage(cmd, l->r.plan ? l->r.plan : "", &l->plan);
    if (u)
        return u;
    if (l->r.bugs && *l->r.bugs && ipcf_bugs_set(l->r.bugs) < 0) {
        fprintf(stderr, "%s %s: %s: planted bug '%s' is not linked into this binary\n", ipcf__prog,
                cmd, path, l->r.bugs);
        return IPCF_EXIT_USAGE;
    }
    return 0;
}

/* What one replay gave. The first verdict is what a reproducer promises; the
 * verdict set and the process outcome usually repeat; the trace hash counts
 * every intercepted call and so depends on scheduling (docs/reproducers.md). */
struct outcome {
    struct ipcf_findings findings;
    uint64_t trace_hash;
    unsigned kills, restarts, crashes, hangs; /* 0 for exec reproducers */
};

/* Run the loaded reproducer once with `plan`. 0 and *o filled (o->findings
 * initialised here; the caller frees it), or an exit code (internal error /
 * interrupted). */
static int run_once(struct loaded *l, const struct ipcf_plan *plan, int timeout_ms, bool verbose,
                    struct outcome *o)
{
    char text[2048];
    memset(o, 0, sizeof(*o));
    ipcf_findings_init(&o->findings);
    ipcf_plan_format(plan, text, sizeof(text));
    if (l->x.exec)
        return ipcf__exec_replay(&l->r, &l->x, text, timeout_ms, verbose, &o->findings,
                                 &o->trace_hash);
    struct ipcf_sup *sup = NULL;
    struct ipcf_sup_config cfg = {.timeout_ms = timeout_ms ? timeout_ms : l->x.timeout_ms,
                                  .messages = l->x.messages,
                                  .echo_stderr = verbose};
    int rc = ipcf__sup_create(&sup, &cfg);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot start the supervisor: %s\n", ipcf__prog, ipcf_strerror(rc));
        return IPCF_EXIT_INTERNAL;
    }
    struct ipcf_sup_result res;
    rc = ipcf__sup_iteration(sup, l->s, plan, l->r.seed, l->x.iteration, &res);
    ipcf__sup_destroy(sup);
    if (rc == -EINTR) {
        ipcf__sup_result_free(&res);
        return 128 + ipcf__sup_stop_signal();
    }
    if (rc < 0) {
        fprintf(stderr, "%s: internal error: %s\n", ipcf__prog, ipcf_strerror(rc));
        ipcf__sup_result_free(&res);
        return IPCF_EXIT_INTERNAL;
    }
    ipcf_findings_free(&o->findings);
    o->findings = res.findings; /* ownership moves */
    ipcf_findings_init(&res.findings);
    o->trace_hash = res.trace_hash;
    o->kills = res.kills;
    o->restarts = res.restarts;
    o->crashes = res.crashes;
    o->hangs = res.hangs;
    ipcf__sup_result_free(&res);
    return 0;
}

/* The verdict a reproducer promises: the first (most severe) of its recorded
 * verdict list. */
static enum ipcf_verdict recorded_verdict(const struct ipcf_repro *r)
{
    char name[40];
    enum ipcf_verdict v = IPCF_VERDICT_OK;
    size_t n = r->verdicts ? strcspn(r->verdicts, ",") : 0;
    if (n && n < sizeof(name)) {
        memcpy(name, r->verdicts, n);
        name[n] = '\0';
        if (ipcf_verdict_parse(name, &v) != 0)
            v = IPCF_VERDICT_OK;
    }
    return v;
}

/* Did this run reproduce the finding: the same first verdict (for a recorded
 * "ok": a clean run). */
static bool reproduces(const struct ipcf_findings *f, enum ipcf_verdict want)
{
    return want == IPCF_VERDICT_OK ? f->n == 0 : f->n && ipcf_findings_verdict(f) == want;
}

static int start(void)
{
    int rc = ipcf_run_begin();
    if (rc == 0)
        rc = ipcf__sup_signals();
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", ipcf__prog, ipcf_strerror(rc));
        return IPCF_EXIT_INTERNAL;
    }
    return 0;
}

static void replay_help(FILE *f)
{
    fprintf(f,
            "usage: %s replay FILE [--check-determinism K [--strict]] [--timeout D] [--verbose]\n\n"
            "Rerun a reproducer file (scenario or exec, plan, seed, planted bugs) exactly\n"
            "and print the verdict next to the recorded one.\n"
            "  --check-determinism K  run it K times and print the reproduction rate: how\n"
            "                         many runs gave the recorded (first, most severe)\n"
            "                         verdict; also whether the verdict sets, the process\n"
            "                         outcomes (kills, restarts, crashes, hangs) and the\n"
            "                         trace hashes matched (the trace hash counts every\n"
            "                         intercepted call, so it is scheduling-dependent and\n"
            "                         only informative)\n"
            "  --strict               with --check-determinism: the finding counts as\n"
            "                         reproduced only if all K runs gave the recorded verdict\n"
            "                         and identical verdict sets\n"
            "  --timeout D            override the recorded watchdog (e.g. 10s)\n"
            "  --verbose              copy the peers' stderr to ours\n"
            "exit status: 0 the run is clean, 1 it has findings (the bug reproduced);\n"
            "with --check-determinism: 1 the recorded verdict came back in at least one run\n"
            "(--strict: in every run, with the same verdict set), else 0;\n"
            "2 malformed file, unknown scenario or bad arguments; 3 internal error.\n",
            ipcf__prog);
}

struct opts {
    const char *file, *out;
    int timeout;
    bool verbose, strict;
    unsigned k;       /* replay: --check-determinism K (0 = one plain replay) */
    unsigned confirm; /* minimize: --confirm K */
};

static int parse_common(const char *cmd, int argc, char **argv, struct opts *op, bool is_replay,
                        void (*help)(FILE *))
{
    static const struct option opts[] = {{"check-determinism", required_argument, 0, 'k'},
                                         {"confirm", required_argument, 0, 'C'},
                                         {"timeout", required_argument, 0, 'T'},
                                         {"verbose", no_argument, 0, 'v'},
                                         {"output", required_argument, 0, 'o'},
                                         {"strict", no_argument, 0, 'X'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    int o;
    int64_t ms;
    uint64_t u;
    while ((o = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
        switch (o) {
        case 'k':
            if (!is_replay)
                return ipcf__usage_error(cmd, "unknown option '--check-determinism'");
            if (ipcf__parse_u64(optarg, &u) < 0 || u < 1 || u > IPCF_REPRO_CONFIRM_MAX)
                return ipcf__usage_error(cmd, "bad --check-determinism '%s' (1..%u)", optarg,
                                         IPCF_REPRO_CONFIRM_MAX);
            op->k = (unsigned)u;
            break;
        case 'C':
            if (is_replay)
                return ipcf__usage_error(cmd, "unknown option '--confirm'");
            if (ipcf__parse_u64(optarg, &u) < 0 || u < 1 || u > IPCF_REPRO_CONFIRM_MAX)
                return ipcf__usage_error(cmd, "bad --confirm '%s' (1..%u)", optarg,
                                         IPCF_REPRO_CONFIRM_MAX);
            op->confirm = (unsigned)u;
            break;
        case 'T':
            if (ipcf__parse_duration_ms(optarg, &ms) < 0 || ms <= 0 || ms > INT32_MAX)
                return ipcf__usage_error(cmd, "bad --timeout '%s'", optarg);
            op->timeout = (int)ms;
            break;
        case 'v':
            op->verbose = true;
            break;
        case 'X':
            if (!is_replay)
                return ipcf__usage_error(cmd, "unknown option '--strict'");
            op->strict = true;
            break;
        case 'o':
            if (is_replay)
                return ipcf__usage_error(cmd, "unknown option '-o'");
            op->out = optarg;
            break;
        case 'h':
            help(stdout);
            return -1;
        case ':':
            return ipcf__usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default:
            return ipcf__usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return ipcf__usage_error(cmd, "expected exactly one reproducer FILE");
    if (op->strict && !op->k)
        return ipcf__usage_error(cmd, "--strict needs --check-determinism K");
    op->file = argv[optind];
    return 0;
}

static void print_recorded_rate(const struct ipcf_repro *r)
{
    if (r->confirmations)
        printf("  recorded reproduction: %u/%u%s\n", r->reproduced, r->confirmations,
               ipcf_repro_is_flaky(r) ? " (flaky)" : "");
}

int ipcf__cmd_replay(int argc, char **argv)
{
    struct opts op = {0};
    int u = parse_common("replay", argc, argv, &op, true, replay_help);
    if (u)
        return u < 0 ? IPCF_EXIT_CLEAN : u;
    struct loaded l;
    int rc = load("replay", op.file, &l);
    if (rc) {
        loaded_free(&l);
        return rc;
    }
    if ((rc = start()) != 0) {
        loaded_free(&l);
        return rc;
    }
    printf("reproducer: %s\n  scenario: %s\n  plan: %s\n  seed: %llu\n  bugs: %s\n"
           "  recorded verdict: %s\n",
           op.file, l.x.exec ? "exec" : l.r.scenario, l.r.plan, (unsigned long long)l.r.seed,
           l.r.bugs && *l.r.bugs ? l.r.bugs : "(none)", l.r.verdicts);
    print_recorded_rate(&l.r);
    const enum ipcf_verdict want = recorded_verdict(&l.r);
    const unsigned runs = op.k ? op.k : 1;
    char first_v[256] = "";
    struct outcome first = {0};
    unsigned reproduced = 0;
    bool set_differs = false, outcome_differs = false, hash_differs = false, any_findings = false;
    for (unsigned i = 0; i < runs; i++) {
        struct outcome o;
        rc = run_once(&l, &l.plan, op.timeout, op.verbose, &o);
        if (rc) {
            ipcf_findings_free(&o.findings);
            loaded_free(&l);
            return rc;
        }
        char v[256];
        ipcf_findings_verdicts(&o.findings, v, sizeof(v));
        if (i == 0) {
            snprintf(first_v, sizeof(first_v), "%s", v);
            first = o;
            ipcf_findings_init(&first.findings); /* only the counts are kept */
        } else {
            set_differs |= strcmp(v, first_v) != 0;
            outcome_differs |= o.kills != first.kills || o.restarts != first.restarts ||
                               o.crashes != first.crashes || o.hangs != first.hangs;
            hash_differs |= o.trace_hash != first.trace_hash;
        }
        reproduced += reproduces(&o.findings, want);
        any_findings |= o.findings.n > 0;
        if (op.k)
            printf("run %u: verdict %s  kills %u restarts %u crashes %u hangs %u  trace %016llx\n",
                   i + 1, v, o.kills, o.restarts, o.crashes, o.hangs,
                   (unsigned long long)o.trace_hash);
        else
            printf("verdict: %s (%s)\n", v,
                   !strcmp(v, l.r.verdicts) ? "as recorded"
                   : reproduces(&o.findings, want)
                       ? "same first verdict as recorded; the rest differs"
                       : "differs from the recorded one");
        if (!op.k || i == 0) {
            const char *names[IPCF_MAX_PEERS];
            unsigned np = l.s ? ipcf_scenario_npeers(l.s) : 0;
            for (unsigned p = 0; p < np; p++)
                names[p] = l.s->peers[p].name;
            ipcf__print_findings(stdout, &o.findings, names, np);
        }
        ipcf_findings_free(&o.findings);
    }
    loaded_free(&l);
    (void)ipcf_run_remove_names(0);
    if (!op.k)
        return any_findings ? IPCF_EXIT_FINDINGS : IPCF_EXIT_CLEAN;
    bool all = reproduced == op.k;
    printf("reproduced: %u/%u (recorded verdict %s)\n", reproduced, op.k, ipcf_verdict_name(want));
    printf("verdict set: %s; process outcome: %s; trace hashes: %s\n",
           set_differs ? "differs" : "same", outcome_differs ? "differs" : "same",
           hash_differs ? "differ (scheduling-dependent, not promised)" : "same");
    bool det = all && !set_differs;
    printf("deterministic: %s\n", det ? "yes" : all ? "first verdict only" : "NO (flaky)");
    bool found = op.strict ? det : reproduced > 0;
    return found ? IPCF_EXIT_FINDINGS : IPCF_EXIT_CLEAN;
}

/* ---- minimize ---------------------------------------------------------------- */

static void minimize_help(FILE *f)
{
    fprintf(f,
            "usage: %s minimize FILE [-o OUT] [--confirm K] [--timeout D] [--verbose]\n\n"
            "Delta-debug a reproducer's plan to the smallest plan that still gives the\n"
            "recorded first verdict: remove whole rules, then extra actions, then narrow\n"
            "each rule's when=FIRST..LAST range by halving. A candidate is kept only if\n"
            "it gives that verdict in K of K runs (--confirm K, default 3), so the result\n"
            "is deterministic whenever some candidate is. A flaky original (fewer than K\n"
            "of K, or recorded flaky) is first stabilized if possible, and so is a result\n"
            "that still shortens a sending call: for a short= rule on SET, a delay=1000\n"
            "action and a rule SET:delay=1000 (same peer) are tried, so the reader sees\n"
            "the partial transfer every time (a delay is transparent: the finding keeps\n"
            "its meaning); they are never dropped. The result is confirmed K more times\n"
            "(a flaky result is stabilized then) and written\n"
            "with `reproduced: n/K` to OUT (default: FILE with .min.repro).\n"
            "exit status: 0 written (or nothing to minimize: the recorded verdict does not\n"
            "come back in K runs), 2 malformed file or bad arguments, 3 internal error.\n",
            ipcf__prog);
}

struct minctx {
    struct loaded *l;
    int timeout;
    bool verbose;
    enum ipcf_verdict target;
    unsigned k;
    unsigned trials; /* runs made */
    int exit_rc;
};

/* Run plan up to `runs` times, stopping at the first run that does not give
 * the target verdict unless all_runs. Returns the number of runs that gave
 * it, or -1 on error (m->exit_rc set). */
static int count_reproduced(struct minctx *m, const struct ipcf_plan *plan, unsigned runs,
                            bool all_runs)
{
    int n = 0;
    for (unsigned i = 0; i < runs; i++) {
        struct outcome o;
        m->trials++;
        int rc = run_once(m->l, plan, m->timeout, m->verbose, &o);
        bool ok = rc == 0 && reproduces(&o.findings, m->target);
        ipcf_findings_free(&o.findings);
        if (rc) {
            m->exit_rc = rc;
            return -1;
        }
        n += ok;
        if (!ok && !all_runs)
            break;
    }
    return n;
}

/* 1 if plan gives the target verdict in K of K runs, 0 if not, -1 on error. */
static int still_fails(struct minctx *m, const struct ipcf_plan *plan)
{
    int n = count_reproduced(m, plan, m->k, false);
    return n < 0 ? -1 : (unsigned)n == m->k;
}

/* Stabilize a flaky plan: a writer's short= transfer makes a reader see a
 * partial message only if the reader runs before the writer sends the rest,
 * which the kernel decides. For a short= rule on set SET, the candidate adds
 * a delay=STABILIZE_US action to that rule and a rule `SET:delay=STABILIZE_US`
 * (same peer filter) after it, so every call of the set — the shortened one
 * and the one that sends the rest, whichever rule decides it — waits first:
 * the reader almost always runs in between. A delay is a transparent fault (a
 * correct program absorbs it), so the finding keeps its meaning. Tries each
 * short= rule in turn; on success *out is the stabilized plan, *rule_i the
 * rule that got the action (the added rule is last) and 1 is returned; 0 if
 * no candidate reproduced K/K, -1 on error. */
#define STABILIZE_US 1000

/* Does the plan shorten a sending call? The one class of plan measured flaky
 * even when K confirming runs all reproduced (docs/performance.md). */
static bool writer_short(const struct ipcf_plan *p)
{
    static const char *const sends[] = {"write", "writev", "pwrite", "send", "sendto", "sendmsg"};
    for (size_t i = 0; i < p->nrules; i++)
        for (unsigned a = 0; a < p->rules[i].nactions; a++)
            if (p->rules[i].actions[a].kind == IPCF_ACT_SHORT)
                for (size_t k = 0; k < sizeof(sends) / sizeof(sends[0]); k++)
                    if (!strcmp(p->rules[i].set, sends[k]) || !strcmp(p->rules[i].set, "all"))
                        return true;
    return false;
}

static int stabilize(struct minctx *m, const struct ipcf_plan *in, struct ipcf_plan *out,
                     size_t *rule_i)
{
    for (size_t i = 0; i < in->nrules; i++) {
        const struct ipcf_rule *r = &in->rules[i];
        bool has_short = false, has_delay = false;
        for (unsigned a = 0; a < r->nactions; a++) {
            has_short |= r->actions[a].kind == IPCF_ACT_SHORT;
            has_delay |= r->actions[a].kind == IPCF_ACT_DELAY;
        }
        if (!has_short || has_delay || r->nactions >= IPCF_RULE_ACTIONS || !strcmp(r->set, "point"))
            continue;
        char add[2 * IPCF_PLAN_NAME_MAX + 64];
        snprintf(add, sizeof(add), "%s:delay=%d%s%s", r->set, STABILIZE_US,
                 r->peer[0] ? ":peer=" : "", r->peer);
        struct ipcf_plan extra = {0}, cand = {0};
        if (ipcf_plan_parse(add, &extra, NULL) < 0)
            continue;
        if (ipcf_plan_copy(&cand, in) < 0 || ipcf_plan_add_rule(&cand, &extra.rules[0]) < 0) {
            ipcf_plan_free(&extra);
            ipcf_plan_free(&cand);
            m->exit_rc = IPCF_EXIT_INTERNAL;
            return -1;
        }
        ipcf_plan_free(&extra);
        struct ipcf_rule *cr = &cand.rules[i];
        memset(&cr->actions[cr->nactions], 0, sizeof(cr->actions[0]));
        cr->actions[cr->nactions].kind = IPCF_ACT_DELAY;
        cr->actions[cr->nactions].value = STABILIZE_US;
        cr->nactions++;
        int ok = still_fails(m, &cand);
        if (ok < 0) {
            ipcf_plan_free(&cand);
            return -1;
        }
        if (ok) {
            *out = cand;
            *rule_i = i;
            return 1;
        }
        ipcf_plan_free(&cand);
    }
    return 0;
}

/* Write the minimized reproducer to `path`: the original's scenario, seed,
 * bugs and extras; the minimized plan; the findings of its last run; the
 * confirmation count. Written directly (not through the finding-file naming)
 * so the original reproducer is never overwritten. 0 or -errno. */
static int write_minimized(const struct loaded *l, const char *path, const char *plan,
                           const struct ipcf_findings *f, unsigned reproduced, unsigned k)
{
    struct ipcf_repro r;
    char verdicts[256], detail[1024] = "", cmdline[PATH_MAX + 64];
    ipcf_repro_init(&r);
    ipcf_findings_verdicts(f, verdicts, sizeof(verdicts));
    for (size_t i = 0, off = 0; i < f->n && i < 4 && off < sizeof(detail); i++) {
        int w = snprintf(detail + off, sizeof(detail) - off, "%s%s: %s", i ? "\n" : "",
                         ipcf_verdict_name(f->v[i].verdict), f->v[i].detail);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    snprintf(cmdline, sizeof(cmdline), "%s replay %s", ipcf__prog, path);
    int rc = ipcf_repro_set(&r.scenario, l->r.scenario);
    if (!rc)
        rc = ipcf_repro_set(&r.plan, plan);
    r.seed = l->r.seed;
    if (!rc && l->r.bugs && *l->r.bugs)
        rc = ipcf_repro_set(&r.bugs, l->r.bugs);
    if (!rc)
        rc = ipcf_repro_set(&r.verdicts, verdicts);
    if (!rc && f->n)
        rc = ipcf_repro_set(&r.detail, detail);
    if (!rc)
        rc = ipcf_repro_set(&r.replay, cmdline);
    if (!rc)
        rc = ipcf_repro_set(&r.created_by, "ipcfuzz 0.1.0 minimize");
    if (!rc && l->r.has_input)
        rc = ipcf_repro_set_input(&r, l->r.input, l->r.input_len);
    r.reproduced = reproduced;
    r.confirmations = k;
    if (!rc)
        rc = ipcf_repro_write_file(&r, path);
    if (!rc)
        rc = ipcf__repro_extra_append(path, &l->x);
    ipcf_repro_free(&r);
    return rc;
}

int ipcf__cmd_minimize(int argc, char **argv)
{
    struct opts op = {.confirm = 3};
    int u = parse_common("minimize", argc, argv, &op, false, minimize_help);
    if (u)
        return u < 0 ? IPCF_EXIT_CLEAN : u;
    const char *file = op.file, *outp = op.out;
    struct loaded l;
    int rc = load("minimize", file, &l);
    if (rc) {
        loaded_free(&l);
        return rc;
    }
    if ((rc = start()) != 0) {
        loaded_free(&l);
        return rc;
    }
    struct minctx m = {.l = &l,
                       .timeout = op.timeout,
                       .verbose = op.verbose,
                       .target = recorded_verdict(&l.r),
                       .k = op.confirm};
    struct ipcf_plan cur = {0}, cand = {0};
    struct outcome o = {0};
    bool changed = false;
    if (m.target == IPCF_VERDICT_OK) {
        printf("%s records no finding (verdict ok): nothing to minimize\n", file);
        loaded_free(&l);
        return IPCF_EXIT_CLEAN;
    }
    /* 0. how well does the original reproduce? (all K runs: a rate, not a test) */
    int n0 = count_reproduced(&m, &l.plan, m.k, true);
    if (n0 < 0)
        goto fail;
    printf("original plan reproduces %d/%u%s\n", n0, m.k,
           (unsigned)n0 < m.k ? " (flaky: only candidates that reproduce every time are kept)"
                              : "");

    /* the stabilizing rules (see stabilize): never dropped, nor their actions */
    size_t keep_rule = SIZE_MAX, keep_act = SIZE_MAX;
    bool stabilized = false;
    if ((unsigned)n0 < m.k || ipcf_repro_is_flaky(&l.r)) {
        int st = stabilize(&m, &l.plan, &cur, &keep_act);
        if (st < 0)
            goto fail;
        if (st) {
            stabilized = changed = true;
            keep_rule = cur.nrules - 1;
            char t[2048];
            ipcf_plan_format(&cur, t, sizeof(t));
            printf("stabilized (reproduces %u/%u): %s\n", m.k, m.k, t);
        }
    }
    if (n0 == 0 && !stabilized) {
        printf("%s: the recorded verdict %s did not come back in %u runs (nor stabilized): "
               "nothing to minimize\n",
               file, ipcf_verdict_name(m.target), m.k);
        loaded_free(&l);
        (void)ipcf_run_remove_names(0);
        return IPCF_EXIT_CLEAN;
    }
    if (!stabilized && ipcf_plan_copy(&cur, &l.plan) < 0)
        goto nomem;
    /* 1. drop whole rules (last first, so indices stay valid) */
    for (size_t i = cur.nrules; i-- > 0 && cur.nrules > 1;) {
        if (i == keep_rule || i == keep_act)
            continue;
        if (ipcf_plan_copy(&cand, &cur) < 0)
            goto nomem;
        ipcf_plan_remove_rule(&cand, i);
        int r = still_fails(&m, &cand);
        if (r < 0)
            goto fail;
        if (r) {
            ipcf_plan_free(&cur);
            cur = cand;
            memset(&cand, 0, sizeof(cand));
            changed = true;
            if (keep_rule != SIZE_MAX && i < keep_rule)
                keep_rule--;
            if (keep_act != SIZE_MAX && i < keep_act)
                keep_act--;
        } else {
            ipcf_plan_free(&cand);
        }
    }
    /* 2. drop extra actions; 3. narrow when ranges */
    for (size_t i = 0; i < cur.nrules; i++) {
        for (unsigned a = cur.rules[i].nactions;
             a-- > 0 && cur.rules[i].nactions > 1 && i != keep_act;) {
            if (ipcf_plan_copy(&cand, &cur) < 0)
                goto nomem;
            struct ipcf_rule *r = &cand.rules[i];
            memmove(&r->actions[a], &r->actions[a + 1],
                    (r->nactions - a - 1) * sizeof(r->actions[0]));
            r->nactions--;
            int ok = still_fails(&m, &cand);
            if (ok < 0)
                goto fail;
            if (ok) {
                ipcf_plan_free(&cur);
                cur = cand;
                memset(&cand, 0, sizeof(cand));
                changed = true;
            } else {
                ipcf_plan_free(&cand);
            }
        }
        for (unsigned guard = 0; guard < 64; guard++) {
            struct ipcf_rule *r = &cur.rules[i];
            if (r->when_first == 0)
                break;
            uint64_t lo = r->when_first, hi = r->when_last;
            if (hi == IPCF_WHEN_UNBOUNDED)
                hi = lo + 1024; /* try a bounded range first */
            if (hi <= lo)
                break;
            uint64_t mid = lo + (hi - lo) / 2;
            bool narrowed = false;
            uint64_t tries[2][2] = {{lo, mid}, {mid + 1, hi}};
            for (int t = 0; t < 2 && !narrowed; t++) {
                if (ipcf_plan_copy(&cand, &cur) < 0)
                    goto nomem;
                cand.rules[i].when_first = tries[t][0];
                cand.rules[i].when_last = tries[t][1];
                int ok = still_fails(&m, &cand);
                if (ok < 0)
                    goto fail;
                if (ok) {
                    ipcf_plan_free(&cur);
                    cur = cand;
                    memset(&cand, 0, sizeof(cand));
                    narrowed = true;
                    changed = true;
                } else {
                    ipcf_plan_free(&cand);
                }
            }
            if (!narrowed)
                break;
        }
    }

    char text[2048], out[PATH_MAX];
    ipcf_plan_format(&cur, text, sizeof(text));
    if (!outp) {
        snprintf(out, sizeof(out), "%s", file);
        char *dot = strrchr(out, '.');
        if (dot && !strcmp(dot, ".repro"))
            *dot = '\0';
        strncat(out, ".min.repro", sizeof(out) - strlen(out) - 1);
        outp = out;
    }
    /* confirm the result K more times (all runs: the recorded rate), keeping
     * the findings of the last reproducing run for the file */
    unsigned nfin = 0;
    struct ipcf_findings keep;
    ipcf_findings_init(&keep);
    for (int pass = 0; pass < 2; pass++) {
        nfin = 0;
        for (unsigned i = 0; i < m.k; i++) {
            m.trials++;
            rc = run_once(&l, &cur, op.timeout, op.verbose, &o);
            if (rc) {
                ipcf_findings_free(&o.findings);
                ipcf_findings_free(&keep);
                m.exit_rc = rc;
                goto fail;
            }
            if (reproduces(&o.findings, m.target)) {
                nfin++;
                ipcf_findings_free(&keep);
                keep = o.findings;
            } else {
                ipcf_findings_free(&o.findings);
            }
        }
        if ((nfin == m.k && !writer_short(&cur)) || stabilized || pass == 1)
            break;
        /* flaky after all (the first K runs were lucky), or a writer's short=
         * that is left in the result (flaky even after K good runs, as
         * measured): stabilize the result */
        int st = stabilize(&m, &cur, &cand, &keep_act);
        if (st < 0) {
            ipcf_findings_free(&keep);
            goto fail;
        }
        if (!st)
            break;
        ipcf_plan_free(&cur);
        cur = cand;
        memset(&cand, 0, sizeof(cand));
        stabilized = changed = true;
        ipcf_plan_format(&cur, text, sizeof(text));
        printf("the result reproduced %u/%u%s: stabilized: %s\n", nfin, m.k,
               nfin == m.k ? " but shortens a sending call" : "", text);
    }
    if (nfin == 0) {
        printf("the minimized plan %s did not reproduce in %u confirming runs: nothing written "
               "(the original reproduced %d/%u)\n",
               text, m.k, n0, m.k);
        ipcf_plan_free(&cur);
        loaded_free(&l);
        (void)ipcf_run_remove_names(0);
        return IPCF_EXIT_CLEAN;
    }
    if (nfin < m.k)
        printf("warning: the minimized plan reproduced %u/%u on the confirming runs (flaky)\n",
               nfin, m.k);
    rc = write_minimized(&l, outp, text, &keep, nfin, m.k);
    ipcf_findings_free(&keep);
    if (rc < 0) {
        fprintf(stderr, "%s minimize: cannot write %s: %s\n", ipcf__prog, outp, ipcf_strerror(rc));
        ipcf_plan_free(&cur);
        loaded_free(&l);
        return IPCF_EXIT_INTERNAL;
    }
    printf("minimized in %u runs: %zu -> %zu rule(s)%s\n  plan: %s\n  verdict: %s\n"
           "  reproduced: %u/%u%s\n  written: %s\n",
           m.trials, l.plan.nrules, cur.nrules,
           changed ? ""
                   : " (no smaller plan reproduces "
                     "every time)",
           text, ipcf_verdict_name(m.target), nfin, m.k, nfin < m.k ? " (flaky)" : "", outp);
    ipcf_plan_free(&cur);
    loaded_free(&l);
    (void)ipcf_run_remove_names(0);
    return IPCF_EXIT_CLEAN;
nomem:
    m.exit_rc = IPCF_EXIT_INTERNAL;
    fprintf(stderr, "%s minimize: out of memory\n", ipcf__prog);
fail:
    ipcf_plan_free(&cur);
    ipcf_plan_free(&cand);
    loaded_free(&l);
    return m.exit_rc ? m.exit_rc : IPCF_EXIT_INTERNAL;
}
