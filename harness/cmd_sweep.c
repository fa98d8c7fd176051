/* cmd_sweep.c — `ipcfuzz sweep SCENARIO`: systematic fault placement.
 *
 * 1. Trace a clean run (every peer traces every intercepted call and point,
 *    docs/fault-plans.md "Trace format") and count, per peer and call set, how
 *    many calls it made.
 * 2. For each peer, each call set and each index i it reached, run one plan per
 *    fault: SET:kill=before:when=i:peer=P, kill=after, error=EINTR, short=1
 *    (a fault the call set does not support is skipped: the plan parser refuses
 *    it) — SQLite's "fail at N, then N+1".
 * 3. Report kill-point coverage per peer and call set: points reached
 *    (traced), killed (kill plans that really killed the peer there: the
 *    points exercised), failed (plans with findings; each writes a reproducer).
 * Bounded by --max-points (plans; spread evenly over the points when there are
 * more) and --time.
 *
 * --recovery PLAN sweeps a recovery instead: step 1 traces a run under PLAN,
 * which must kill a peer that the scenario restarts; step 2 places every fault
 * at every point of those restarts (incarnation 1: PLAN;SET:FAULT:when=i:
 * peer=P:inc=1) — a kill in the middle of the recovery code, EINTR or a short
 * transfer inside it.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipcfuzz/io.h"
#include "cli.h"

#define MAX_SETS 64

struct setcount {
    char set[IPCF_PLAN_NAME_MAX + 8];
    uint64_t count;
    uint64_t exercised; /* kill plans at this set that really killed the peer */
    uint64_t failed;    /* plans at this set with findings */
};

struct peercount {
    struct setcount sets[MAX_SETS];
    unsigned nsets;
};

static void help(FILE *f)
{
    fprintf(f,
            "usage: %s sweep SCENARIO [--max-points N] [--time D] [--seed S] [--bug NAME,...]\n"
            "                [--recovery PLAN] [--findings DIR] [--timeout D] [--messages N]\n"
            "                [--verbose]\n\n"
            "Trace a clean run to count every intercepted call of every peer, then for\n"
            "each peer and each traced call index run kill=before, kill=after,\n"
            "error=EINTR and short=1 at exactly that call (one plan per point). Reports\n"
            "kill-point coverage: reached / exercised / failed, and writes a reproducer\n"
            "for every plan with findings.\n"
            "  --max-points N   at most N plans (default 400), spread evenly over the points\n"
            "  --time D         stop after D (e.g. 60s)\n"
            "  --recovery PLAN  sweep the recovery after PLAN instead of a clean run: PLAN\n"
            "                   kills a peer the scenario restarts; every fault is placed at\n"
            "                   every point of that restart (rules PLAN;...:peer=P:inc=1)\n"
            "exit status: 0 no finding, 1 findings, 2 usage error, 3 internal error.\n",
            ipcf__prog);
}

/* Parse one peer's trace file into counts per call set. */
static int count_trace(const char *path, struct peercount *pc)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        char peer[128], set[IPCF_PLAN_NAME_MAX + 8];
        unsigned long long idx;
        long pid;
        if (sscanf(line, "%ld %127s %71s %llu", &pid, peer, set, &idx) != 4)
            continue;
        unsigned i;
        for (i = 0; i < pc->nsets; i++)
            if (!strcmp(pc->sets[i].set, set))
                break;
        if (i == pc->nsets) {
            if (pc->nsets == MAX_SETS)
                continue;
            snprintf(pc->sets[i].set, sizeof(pc->sets[i].set), "%s", set);
            pc->nsets++;
        }
        if (idx > pc->sets[i].count)
            pc->sets[i].count = idx;
    }
    fclose(f);
    return 0;
}

static const char *const faults[] = {"kill=before", "kill=after", "error=EINTR", "short=1"};
#define NFAULTS 4

int ipcf__cmd_sweep(int argc, char **argv)
{
    static const struct option opts[] = {{"max-points", required_argument, 0, 'n'},
                                         {"time", required_argument, 0, 't'},
                                         {"seed", required_argument, 0, 's'},
                                         {"bug", required_argument, 0, 'b'},
                                         {"findings", required_argument, 0, 'f'},
                                         {"timeout", required_argument, 0, 'T'},
                                         {"messages", required_argument, 0, 'm'},
                                         {"verbose", no_argument, 0, 'v'},
                                         {"recovery", required_argument, 0, 'r'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    uint64_t max_points = 400, seed = 1, u;
    int64_t time_ms = 0, ms;
    const char *bugs = NULL, *findings_dir = "findings", *recovery = NULL;
    int timeout_ms = IPCF_SUP_DEFAULT_TIMEOUT_MS;
    unsigned messages = 0;
    bool verbose = false;
    optind = 1;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (o) {
        case 'n':
            if (ipcf__parse_u64(optarg, &max_points) < 0 || !max_points)
                return ipcf__usage_error("sweep", "bad --max-points '%s'", optarg);
            break;
        case 't':
            if (ipcf__parse_duration_ms(optarg, &time_ms) < 0 || time_ms <= 0)
                return ipcf__usage_error("sweep", "bad --time '%s'", optarg);
            break;
        case 's':
            if (ipcf__parse_u64(optarg, &seed) < 0)
                return ipcf__usage_error("sweep", "bad --seed '%s'", optarg);
            break;
        case 'b':
            bugs = optarg;
            break;
        case 'f':
            findings_dir = optarg;
            break;
        case 'T':
            if (ipcf__parse_duration_ms(optarg, &ms) < 0 || ms <= 0 || ms > INT32_MAX)
                return ipcf__usage_error("sweep", "bad --timeout '%s'", optarg);
            timeout_ms = (int)ms;
            break;
        case 'm':
            if (ipcf__parse_u64(optarg, &u) < 0 || !u || u > 100000)
                return ipcf__usage_error("sweep", "bad --messages '%s'", optarg);
            messages = (unsigned)u;
            break;
        case 'v':
            verbose = true;
            break;
        case 'r':
            recovery = optarg;
            break;
        case 'h':
            help(stdout);
            return IPCF_EXIT_CLEAN;
        case ':':
            return ipcf__usage_error("sweep", "option '%s' needs a value", argv[optind - 1]);
        default:
            return ipcf__usage_error("sweep", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return ipcf__usage_error("sweep", "name exactly one scenario");
    const struct ipcf_scenario *s = ipcf_scenario_find(argv[optind]);
    if (!s)
        return ipcf__usage_error("sweep", "unknown scenario '%s' (see `%s list`)", argv[optind],
                                 ipcf__prog);
    if (bugs && ipcf_bugs_set(bugs) < 0)
        return ipcf__usage_error("sweep", "unknown planted bug in '%s'", bugs);
    struct ipcf_plan base = {0};
    if (recovery) {
        struct ipcf_plan_error perr;
        if (ipcf_plan_parse(recovery, &base, &perr) < 0)
            return ipcf__usage_error("sweep", "bad --recovery plan: %s", perr.msg);
        bool kills = false;
        for (size_t i = 0; i < base.nrules; i++)
            kills |= ipcf_rule_kills(&base.rules[i]) != 0;
        if (!kills) {
            ipcf_plan_free(&base);
            return ipcf__usage_error("sweep", "--recovery plan '%s' kills no peer", recovery);
        }
    }
    if (ipcf_run_begin() < 0 || ipcf__sup_signals() < 0)
        return IPCF_EXIT_INTERNAL;

    unsigned np = ipcf_scenario_npeers(s);
    struct peercount *pcs = calloc(np, sizeof(*pcs));
    char tdir[] = "/tmp/ipcfuzz-sweep.XXXXXX";
    int exit_rc = IPCF_EXIT_CLEAN;
    struct ipcf_sup *sup = NULL;
    if (!pcs || !mkdtemp(tdir)) {
        free(pcs);
        ipcf_plan_free(&base);
        return IPCF_EXIT_INTERNAL;
    }

    /* 1. the traced run: clean, or under the --recovery plan */
    struct ipcf_sup_config cfg = {
        .timeout_ms = timeout_ms, .messages = messages, .trace_dir = tdir, .echo_stderr = verbose};
    struct ipcf_sup_result res;
    int rc = ipcf__sup_create(&sup, &cfg);
    if (rc == 0)
        rc = ipcf__sup_iteration(sup, s, recovery ? &base : NULL, seed, 0, &res);
    ipcf__sup_destroy(sup);
    sup = NULL;
    if (rc < 0) {
        fprintf(stderr, "%s sweep: traced run failed: %s\n", ipcf__prog, ipcf_strerror(rc));
        exit_rc = rc == -EINTR ? 128 + ipcf__sup_stop_signal() : IPCF_EXIT_INTERNAL;
        goto out;
    }
    if (res.findings.n) {
        printf(recovery ? "the run under the --recovery plan alone already has findings:\n"
                        : "the clean run (no faults) already has findings:\n");
        ipcf__print_findings(stdout, &res.findings, NULL, 0);
    }
    unsigned base_kills = res.kills;
    ipcf__sup_result_free(&res);
    uint64_t total_points = 0;
    for (unsigned p = 0; p < np; p++) {
        char path[PATH_MAX];
        /* a recovery sweep places faults in the first restart (incarnation 1) */
        snprintf(path, sizeof(path), "%s/%s.%u.trace", tdir, s->peers[p].name, recovery ? 1u : 0u);
        (void)count_trace(path, &pcs[p]);
        for (unsigned k = 0; k < pcs[p].nsets; k++)
            total_points += pcs[p].sets[k].count;
    }
    if (recovery && total_points == 0) {
        fprintf(stderr,
                "%s sweep: the --recovery plan restarted no peer (a killed peer needs "
                ".restarts >= 1, and the kill must happen): nothing to sweep\n",
                ipcf__prog);
        exit_rc = IPCF_EXIT_USAGE;
        goto out;
    }
    printf("sweep %s: %llu call point(s) traced over %u %s\n", s->name,
           (unsigned long long)total_points, np,
           recovery ? "peer(s), in the restarts after the --recovery plan" : "peer(s)");

    /* 2. one plan per (point, fault) */
    cfg.trace_dir = NULL;
    rc = ipcf__sup_create(&sup, &cfg);
    if (rc < 0) {
        exit_rc = IPCF_EXIT_INTERNAL;
        goto out;
    }
    uint64_t plans_total = total_points * NFAULTS;
    uint64_t stride = plans_total > max_points ? (plans_total + max_points - 1) / max_points : 1;
    uint64_t ran = 0, failed_plans = 0;
    int64_t end = time_ms ? ipcf_clock_ms() + time_ms : 0;
    /* fault-major order; with a stride, each fault takes a different offset so
     * every fault kind covers its own evenly spread subset of the points */
    for (unsigned fl = 0; fl < NFAULTS && !exit_rc; fl++) {
        uint64_t m = 0;
        for (unsigned p = 0; p < np && !exit_rc; p++) {
            for (unsigned k = 0; k < pcs[p].nsets && !exit_rc; k++) {
                struct setcount *sc = &pcs[p].sets[k];
                for (uint64_t i = 1; i <= sc->count && !exit_rc; i++, m++) {
                    if ((m + fl) % stride)
                        continue;
                    if (end && ipcf_clock_ms() >= end)
                        goto done;
                    char text[1024];
                    int tl =
                        snprintf(text, sizeof(text), "%s%s%s:%s:when=%llu:peer=%s%s",
                                 recovery ? recovery : "", recovery ? ";" : "", sc->set, faults[fl],
                                 (unsigned long long)i, s->peers[p].name, recovery ? ":inc=1" : "");
                    if (tl < 0 || (size_t)tl >= sizeof(text))
                        continue;
                    struct ipcf_plan plan = {0};
                    if (ipcf_plan_parse(text, &plan, NULL) < 0)
                        continue; /* this call set does not support this fault */
                    rc = ipcf__sup_iteration(sup, s, &plan, seed, m, &res);
                    ipcf_plan_free(&plan);
                    if (rc < 0) {
                        exit_rc = rc == -EINTR ? 128 + ipcf__sup_stop_signal() : IPCF_EXIT_INTERNAL;
                        if (rc != -EINTR)
                            fprintf(stderr, "%s sweep: internal error: %s\n", ipcf__prog,
                                    ipcf_strerror(rc));
                        ipcf__sup_result_free(&res);
                        break;
                    }
                    ran++;
                    if (fl < 2 && res.kills > base_kills)
                        sc->exercised++;
                    if (res.findings.n) {
                        sc->failed++;
                        failed_plans++;
                        char *path = NULL;
                        struct ipcf__repro_extra x = {
                            .iteration = m, .messages = messages, .timeout_ms = timeout_ms};
                        (void)ipcf__write_finding(findings_dir, s->name, text, seed, bugs,
                                                  &res.findings, &x, &path);
                        char v[128];
                        ipcf_findings_verdicts(&res.findings, v, sizeof(v));
                        printf("finding: %s  plan '%s'\n  -> %s\n", v, text,
                               path ? path : "(no reproducer written)");
                        free(path);
                    }
                    ipcf__sup_result_free(&res);
                }
            }
        }
    }
done:
    /* 3. coverage */
    printf("\n%-12s %-22s %8s %10s %7s\n", "peer", "call set", "reached", "killed", "failed");
    uint64_t tr = 0, te = 0, tf = 0;
    for (unsigned p = 0; p < np; p++)
        for (unsigned k = 0; k < pcs[p].nsets; k++) {
            struct setcount *sc = &pcs[p].sets[k];
            printf("%-12s %-22s %8llu %10llu %7llu\n", s->peers[p].name, sc->set,
                   (unsigned long long)sc->count, (unsigned long long)sc->exercised,
                   (unsigned long long)sc->failed);
            tr += sc->count;
            te += sc->exercised;
            tf += sc->failed;
        }
    printf("%-12s %-22s %8llu %10llu %7llu\n", "total", "", (unsigned long long)tr,
           (unsigned long long)te, (unsigned long long)tf);
    printf("%llu plan(s) run (1 in %llu of %llu), %llu with findings\n", (unsigned long long)ran,
           (unsigned long long)stride, (unsigned long long)plans_total,
           (unsigned long long)failed_plans);
    if (!exit_rc && failed_plans)
        exit_rc = IPCF_EXIT_FINDINGS;
out:
    ipcf__sup_destroy(sup);
    free(pcs);
    ipcf_plan_free(&base);
    /* remove the trace files and their directory */
    DIR *d = opendir(tdir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[PATH_MAX];
            snprintf(path, sizeof(path), "%s/%s", tdir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(tdir);
    (void)ipcf_run_remove_names(0);
    return exit_rc;
}
