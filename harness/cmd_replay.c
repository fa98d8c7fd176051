/* cmd_replay.c — `ipcfuzz replay FILE` and `ipcfuzz minimize FILE`.
 *
 * replay reruns a reproducer (scenario + plan + seed + planted bugs) and prints
 * the verdict; --check-determinism K runs it K times and compares verdicts and
 * trace hashes. minimize delta-debugs the plan: drop whole rules, drop extra
 * actions, then narrow each rule's `when` range by halving, keeping every step
 * that still gives the same (first) verdict; it writes a new reproducer.
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

/* Run the loaded reproducer once with `plan`. 0 and findings/hash filled, or
 * an exit code (internal error / interrupted). */
static int run_once(struct loaded *l, const struct ipcf_plan *plan, int timeout_ms, bool verbose,
                    struct ipcf_findings *out, uint64_t *hash)
{
    char text[2048];
    ipcf_plan_format(plan, text, sizeof(text));
    if (l->x.exec)
        return ipcf__exec_replay(&l->r, &l->x, text, timeout_ms, verbose, out, hash);
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
    *out = res.findings; /* ownership moves */
    *hash = res.trace_hash;
    return 0;
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
            "  --check-determinism K  run it K times; compare the verdict (the first, most\n"
            "                         severe one), the full verdict set and the trace hashes\n"
            "  --strict               with --check-determinism: require the verdict set and\n"
            "                         the trace hashes to match too (they depend on how the\n"
            "                         peers were scheduled: e.g. how many reads a consumer\n"
            "                         needed, so concurrent peers rarely match exactly)\n"
            "  --timeout D            override the recorded watchdog (e.g. 10s)\n"
            "  --verbose              copy the peers' stderr to ours\n"
            "exit status: 0 the run is clean, 1 it has findings (the bug reproduced);\n"
            "with --check-determinism: 0 all K runs gave the same verdict, 1 they differ;\n"
            "2 malformed file, unknown scenario or bad arguments; 3 internal error.\n",
            ipcf__prog);
}

static bool strict_mode;

static int parse_common(const char *cmd, int argc, char **argv, const char **file, int *timeout,
                        bool *verbose, unsigned *k, const char **outp, void (*help)(FILE *))
{
    static const struct option opts[] = {{"check-determinism", required_argument, 0, 'k'},
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
            if (!k || ipcf__parse_u64(optarg, &u) < 0 || u < 1 || u > 1000)
                return ipcf__usage_error(cmd, "bad --check-determinism '%s'", optarg);
            *k = (unsigned)u;
            break;
        case 'T':
            if (ipcf__parse_duration_ms(optarg, &ms) < 0 || ms <= 0 || ms > INT32_MAX)
                return ipcf__usage_error(cmd, "bad --timeout '%s'", optarg);
            *timeout = (int)ms;
            break;
        case 'v':
            *verbose = true;
            break;
        case 'X':
            if (!k)
                return ipcf__usage_error(cmd, "unknown option '--strict'");
            strict_mode = true;
            break;
        case 'o':
            if (!outp)
                return ipcf__usage_error(cmd, "unknown option '-o'");
            *outp = optarg;
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
    *file = argv[optind];
    return 0;
}

int ipcf__cmd_replay(int argc, char **argv)
{
    const char *file = NULL;
    int timeout = 0;
    bool verbose = false;
    unsigned k = 0;
    int u = parse_common("replay", argc, argv, &file, &timeout, &verbose, &k, NULL, replay_help);
    if (u)
        return u < 0 ? IPCF_EXIT_CLEAN : u;
    struct loaded l;
    int rc = load("replay", file, &l);
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
           file, l.x.exec ? "exec" : l.r.scenario, l.r.plan, (unsigned long long)l.r.seed,
           l.r.bugs && *l.r.bugs ? l.r.bugs : "(none)", l.r.verdicts);
    unsigned runs = k ? k : 1;
    char first_v[256] = "";
    uint64_t first_h = 0;
    enum ipcf_verdict first_primary = IPCF_VERDICT_OK;
    bool differ = false, set_differs = false, hash_differs = false, any_findings = false;
    for (unsigned i = 0; i < runs; i++) {
        struct ipcf_findings f;
        uint64_t h = 0;
        ipcf_findings_init(&f);
        rc = run_once(&l, &l.plan, timeout, verbose, &f, &h);
        if (rc) {
            ipcf_findings_free(&f);
            loaded_free(&l);
            return rc;
        }
        char v[256];
        if (f.n)
            ipcf_findings_verdicts(&f, v, sizeof(v));
        else
            snprintf(v, sizeof(v), "ok");
        enum ipcf_verdict primary = ipcf_findings_verdict(&f);
        if (i == 0) {
            snprintf(first_v, sizeof(first_v), "%s", v);
            first_h = h;
            first_primary = primary;
        } else {
            differ |= primary != first_primary;
            set_differs |= strcmp(v, first_v) != 0;
            hash_differs |= h != first_h;
        }
        any_findings |= f.n > 0;
        if (k)
            printf("run %u: verdict %s  trace %016llx\n", i + 1, v, (unsigned long long)h);
        else {
            printf("verdict: %s (%s)\n", v,
                   !strcmp(v, l.r.verdicts) ? "as recorded" : "differs from the recorded one");
        }
        if (!k || i == 0) {
            const char *names[IPCF_MAX_PEERS];
            unsigned np = l.s ? ipcf_scenario_npeers(l.s) : 0;
            for (unsigned p = 0; p < np; p++)
                names[p] = l.s->peers[p].name;
            ipcf__print_findings(stdout, &f, names, np);
        }
        ipcf_findings_free(&f);
    }
    loaded_free(&l);
    (void)ipcf_run_remove_names(0);
    if (k) {
        printf("verdict: %s over %u runs; verdict set: %s; trace hashes: %s\n",
               differ ? "DIFFERS" : "same", k, set_differs ? "differs" : "same",
               hash_differs ? "differ (scheduling-dependent)" : "same");
        bool bad = differ || (strict_mode && (set_differs || hash_differs));
        printf("deterministic: %s%s\n", bad ? "NO" : "yes", strict_mode ? " (strict)" : "");
        return bad ? IPCF_EXIT_FINDINGS : IPCF_EXIT_CLEAN;
    }
    return any_findings ? IPCF_EXIT_FINDINGS : IPCF_EXIT_CLEAN;
}

/* ---- minimize ---------------------------------------------------------------- */

static void minimize_help(FILE *f)
{
    fprintf(f,
            "usage: %s minimize FILE [-o OUT] [--timeout D] [--verbose]\n\n"
            "Delta-debug a reproducer's plan to the smallest plan that still gives the\n"
            "same first verdict: remove whole rules, then extra actions, then narrow\n"
            "each rule's when=FIRST..LAST range by halving. Writes OUT (default:\n"
            "FILE with .min.repro) and prints the minimized plan.\n"
            "exit status: 0 written (or nothing to minimize: the reproducer runs clean),\n"
            "2 malformed file or bad arguments, 3 internal error.\n",
            ipcf__prog);
}

struct minctx {
    struct loaded *l;
    int timeout;
    bool verbose;
    enum ipcf_verdict target;
    unsigned trials;
    int exit_rc;
};

/* 1 if plan still yields the target verdict, 0 if not, -1 on error. */
static int still_fails(struct minctx *m, const struct ipcf_plan *plan)
{
    struct ipcf_findings f;
    uint64_t h;
    ipcf_findings_init(&f);
    m->trials++;
    int rc = run_once(m->l, plan, m->timeout, m->verbose, &f, &h);
    if (rc) {
        m->exit_rc = rc;
        ipcf_findings_free(&f);
        return -1;
    }
    int same = f.n && ipcf_findings_verdict(&f) == m->target;
    ipcf_findings_free(&f);
    return same;
}

int ipcf__cmd_minimize(int argc, char **argv)
{
    const char *file = NULL, *outp = NULL;
    int timeout = 0;
    bool verbose = false;
    int u =
        parse_common("minimize", argc, argv, &file, &timeout, &verbose, NULL, &outp, minimize_help);
    if (u)
        return u < 0 ? IPCF_EXIT_CLEAN : u;
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
    struct minctx m = {.l = &l, .timeout = timeout, .verbose = verbose};
    struct ipcf_findings f;
    uint64_t h;
    ipcf_findings_init(&f);
    rc = run_once(&l, &l.plan, timeout, verbose, &f, &h);
    if (rc) {
        loaded_free(&l);
        return rc;
    }
    if (!f.n) {
        printf("%s runs clean now: nothing to minimize\n", file);
        ipcf_findings_free(&f);
        loaded_free(&l);
        return IPCF_EXIT_CLEAN;
    }
    m.target = ipcf_findings_verdict(&f);
    ipcf_findings_free(&f);

    struct ipcf_plan cur = {0}, cand = {0};
    if (ipcf_plan_copy(&cur, &l.plan) < 0)
        goto nomem;
    /* 1. drop whole rules (last first, so indices stay valid) */
    for (size_t i = cur.nrules; i-- > 0 && cur.nrules > 1;) {
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
        } else {
            ipcf_plan_free(&cand);
        }
    }
    /* 2. drop extra actions; 3. narrow when ranges */
    for (size_t i = 0; i < cur.nrules; i++) {
        for (unsigned a = cur.rules[i].nactions; a-- > 0 && cur.rules[i].nactions > 1;) {
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
    /* confirm, and take the findings of the minimized plan for the file */
    ipcf_findings_init(&f);
    rc = run_once(&l, &cur, timeout, verbose, &f, &h);
    if (rc)
        goto fail;
    if (!f.n || ipcf_findings_verdict(&f) != m.target)
        printf("warning: the minimized plan did not fail the same way on the confirming run "
               "(flaky?)\n");
    {
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", outp);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf(dir, sizeof(dir), ".");
        char *written = NULL;
        rc = ipcf__write_finding(dir, l.r.scenario, text, l.r.seed, l.r.bugs, &f, &l.x, &written);
        if (rc == 0 && written && strcmp(written, outp) != 0 && rename(written, outp) != 0)
            rc = -errno;
        free(written);
        /* the replay line names the final path */
        if (rc == 0) {
            struct ipcf_repro rr;
            ipcf_repro_init(&rr);
            if (ipcf_repro_read_file(outp, &rr, NULL) == 0) {
                char cmdline[PATH_MAX + 64];
                snprintf(cmdline, sizeof(cmdline), "%s replay %s", ipcf__prog, outp);
                if (ipcf_repro_set(&rr.replay, cmdline) == 0 &&
                    ipcf_repro_write_file(&rr, outp) == 0)
                    (void)ipcf__repro_extra_append(outp, &l.x);
            }
            ipcf_repro_free(&rr);
        }
    }
    ipcf_findings_free(&f);
    if (rc < 0) {
        fprintf(stderr, "%s minimize: cannot write %s: %s\n", ipcf__prog, outp, ipcf_strerror(rc));
        ipcf_plan_free(&cur);
        loaded_free(&l);
        return IPCF_EXIT_INTERNAL;
    }
    printf("minimized in %u trials: %zu -> %zu rule(s)\n  plan: %s\n  verdict: %s\n  written: "
           "%s\n",
           m.trials, l.plan.nrules, cur.nrules, text, ipcf_verdict_name(m.target), outp);
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
    return m.exit_rc ? m.exit_rc : rc ? rc : IPCF_EXIT_INTERNAL;
}
