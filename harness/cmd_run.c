/* cmd_run.c — `ipcfuzz run`: a campaign of iterations over one or every
 * scenario, each under a random (or the given) fault plan.
 *
 * Iteration i of scenario S runs under seed ipcf__iteration_seed(seed, S, i)
 * and, without --plan, under ipcf__plan_random(S, that seed): a pure function,
 * so any iteration replays from (plan, seed) alone. With --all the scenarios
 * take turns (round robin), so a time budget is spread evenly.
 *
 * --jobs J forks J workers; worker j runs the iterations with i % J == j, owns
 * its own run (names under its pid) and streams one record per iteration to
 * the parent over a pipe; the parent merges them into the report. --shard I/N
 * keeps the iterations with i % N == I (CI matrix jobs split a campaign).
 *
 * Confirmation (--confirm K, default 3): an iteration with findings is run
 * again K times at once, same scenario, plan, seed and iteration, by the same
 * worker; `n` of them giving the same first verdict is written into the
 * reproducer as `reproduced: n/K` and shown in the reports. n < K marks the
 * finding flaky (its effect depends on how the kernel scheduled the peers);
 * a flaky finding still counts and still fails the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipcfuzz/io.h"
#include "audit.h"
#include "cli.h"
#include "report.h"

#define MAX_SCENARIOS 128

struct campaign {
    const struct ipcf_scenario *scen[MAX_SCENARIOS];
    unsigned nscen;
    const char *plan_text; /* NULL = random plans */
    unsigned faults;       /* --faults: classes of random plans (IPCF__FAULT_*) */
    uint64_t seed;
    uint64_t iterations; /* per scenario; 0 = until the time budget */
    int64_t time_ms;     /* 0 = no time budget */
    unsigned jobs;
    uint64_t shard_i, shard_n;
    const char *bugs;
    bool json;
    const char *junit;
    const char *findings_dir;
    int timeout_ms;
    unsigned messages;
    bool verbose;
    bool dry_run;     /* --dry-run: print each iteration's seed and plan, run nothing */
    unsigned confirm; /* --confirm K: replays of each finding (0 = none) */
    /* totals */
    uint64_t done, with_findings;
    int internal_rc;
};

/* One judged iteration as it travels from a worker to the report. */
struct record {
    const char *scenario;
    char cls[64];
    uint64_t iteration, seed;
    char plan[1024];
    char *repro;
    struct ipcf_findings findings;
    unsigned reproduced, confirmations; /* confirmation replays (0/0: none) */
};

static void help(FILE *f)
{
    fprintf(f,
            "usage: %s run SCENARIO|--all [OPTIONS]\n\n"
            "Run a campaign: each iteration forks the scenario's peers under a fault plan,\n"
            "judges the run (oracle over the ledger, process deaths, sanitizer reports,\n"
            "names audit) and writes a reproducer file for every iteration with findings.\n"
            "Without --plan, each iteration draws a random plan from (seed, iteration)\n"
            "over the fault classes kill, eintr, short, signal (storm), mixes of them, and\n"
            "shrink (truncate a mapped segment) for scenarios that declare one. For a\n"
            "peer that may be restarted twice, one kill plan in three also kills its\n"
            "first restart during recovery (a rule with inc=1).\n\n"
            "options:\n"
            "  --all               every scenario linked into this binary (round robin)\n"
            "  --plan PLAN         use this fault plan for every iteration\n"
            "  --faults LIST       classes of random plans: kill,eintr,short,signal,shrink\n"
            "                      (default all; a mix is drawn when both its classes are\n"
            "                      listed; shrink only for scenarios that declare objects)\n"
            "  --seed S            campaign seed (default 1)\n"
            "  --iterations N      iterations per scenario (default 50 without --time)\n"
            "  --time D            time budget (e.g. 60s, 2m); stops at whichever comes first\n"
            "  --jobs J            J worker processes (default 1)\n"
            "  --shard I/N         run only iterations with i %% N == I (0 <= I < N)\n"
            "  --bug NAME,...      enable planted bugs (see `%s list`)\n"
            "  --json              JSON lines on stdout (table goes to stderr)\n"
            "  --junit FILE        also write a JUnit XML report\n"
            "  --findings DIR      reproducer directory (default: findings)\n"
            "  --confirm K         replay each finding K times at once (default 3, 0 = off)\n"
            "                      and record `reproduced: n/K`; n < K marks it flaky\n"
            "  --timeout D         watchdog per iteration (default 10s): longer = hang\n"
            "  --messages N        workload size per iteration (default: the scenario's)\n"
            "  --verbose           copy the peers' stderr to ours\n"
            "  --dry-run           print each iteration's scenario, seed, class and plan\n"
            "                      (tab-separated) and run nothing\n\n"
            "exit status: 0 no finding, 1 findings, 2 usage error, 3 internal error,\n"
            "128+SIG when interrupted by SIGINT/SIGTERM (peers killed, names swept).\n",
            ipcf__prog, ipcf__prog);
}

/* ---- records between workers and the parent --------------------------------- */

static void put_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", f);
        else if (*s == '\t')
            fputs("\\t", f);
        else if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
}

static void get_unescaped(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '\\' && s[1]) {
            s++;
            *o++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
}

static void record_write(FILE *f, const struct record *r)
{
    fprintf(f, "I\t%s\t%s\t%llu\t%llu\t", r->scenario, r->cls, (unsigned long long)r->iteration,
            (unsigned long long)r->seed);
    put_escaped(f, r->plan);
    fputc('\t', f);
    put_escaped(f, r->repro ? r->repro : "");
    fprintf(f, "\t%u/%u\n", r->reproduced, r->confirmations);
    for (size_t i = 0; i < r->findings.n; i++) {
        const struct ipcf_finding *x = &r->findings.v[i];
        fprintf(f, "F\t%d\t%u\t%llu\t%d\t%d\t", (int)x->verdict, x->stream,
                (unsigned long long)x->seq, x->peer, (int)x->pid);
        put_escaped(f, x->detail);
        fputc('\n', f);
    }
    fputs("E\n", f);
    fflush(f);
}

/* ---- the campaign --------------------------------------------------------------- */

struct sink {
    struct campaign *c;
    struct ipcf_report *report; /* jobs == 1 */
    FILE *pipe;                 /* worker */
    int64_t t0, last_progress;
    bool tty;
};

static void progress(struct sink *k, bool force)
{
    int64_t t = ipcf_clock_ms();
    struct campaign *c = k->c;
    if (!force && t - k->last_progress < (k->tty ? 200 : 10000))
        return;
    k->last_progress = t;
    double secs = (double)(t - k->t0) / 1000.0;
    double rate = secs > 0 ? (double)c->done / secs : 0;
    if (k->tty)
        fprintf(stderr, "\r  run: %llu iterations  %.1f/s  %llu with findings  %.0fs   ",
                (unsigned long long)c->done, rate, (unsigned long long)c->with_findings, secs);
    else
        fprintf(stderr, "run: %llu iterations, %.1f/s, %llu with findings, %.0fs\n",
                (unsigned long long)c->done, rate, (unsigned long long)c->with_findings, secs);
}

static int deliver(struct sink *k, struct record *r)
{
    struct campaign *c = k->c;
    c->done++;
    if (r->findings.n || r->findings.dropped)
        c->with_findings++;
    if (k->pipe) {
        record_write(k->pipe, r);
        return 0;
    }
    if (r->findings.n) {
        char v[256], conf[64] = "";
        ipcf_findings_verdicts(&r->findings, v, sizeof(v));
        if (r->confirmations)
            snprintf(conf, sizeof(conf), "  reproduced %u/%u%s", r->reproduced, r->confirmations,
                     r->reproduced < r->confirmations ? " FLAKY" : "");
        fprintf(stderr, "%sfinding: %s iteration %llu [%s] %s%s  plan '%s'\n  -> %s\n",
                k->tty ? "\r" : "", r->scenario, (unsigned long long)r->iteration, r->cls, v, conf,
                r->plan, r->repro ? r->repro : "(no reproducer written)");
    }
    int rc =
        ipcf_report_add_confirmed(k->report, r->scenario, r->cls, r->iteration, r->seed, r->plan,
                                  &r->findings, r->repro, r->reproduced, r->confirmations);
    progress(k, false);
    return rc;
}

/* Replay a judged iteration c->confirm times (same scenario, plan, seed,
 * iteration) and count the runs whose first verdict is `want`. 0 and *n set
 * (*k = runs made), -EINTR when asked to stop, or -errno / -IPCF_E*. */
static int confirm_finding(struct campaign *c, struct ipcf_sup *sup, const struct ipcf_scenario *s,
                           const struct ipcf_plan *plan, uint64_t seed, uint64_t iteration,
                           enum ipcf_verdict want, unsigned *n, unsigned *k)
{
    *n = *k = 0;
    for (unsigned j = 0; j < c->confirm; j++) {
        struct ipcf_sup_result res;
        int rc = ipcf__sup_iteration(sup, s, plan, seed, iteration, &res);
        if (rc == 0) {
            (*k)++;
            *n += res.findings.n && ipcf_findings_verdict(&res.findings) == want;
        }
        ipcf__sup_result_free(&res);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Run this process's share of the campaign (worker `job` of `jobs`). */
static int campaign_loop(struct campaign *c, unsigned job, unsigned jobs, struct sink *k)
{
    struct ipcf_sup *sup = NULL;
    struct ipcf_sup_config cfg = {
        .timeout_ms = c->timeout_ms, .messages = c->messages, .echo_stderr = c->verbose};
    int rc = ipcf__sup_create(&sup, &cfg);
    if (rc < 0) {
        fprintf(stderr, "%s run: cannot start the supervisor: %s\n", ipcf__prog, ipcf_strerror(rc));
        return IPCF_EXIT_INTERNAL;
    }
    int64_t end = c->time_ms ? ipcf_clock_ms() + c->time_ms : 0;
    uint64_t total = c->iterations ? c->iterations * c->nscen : UINT64_MAX;
    int exit_rc = IPCF_EXIT_CLEAN;
    for (uint64_t g = 0; g < total; g++) {
        if (end && ipcf_clock_ms() >= end)
            break;
        const struct ipcf_scenario *s = c->scen[g % c->nscen];
        uint64_t i = g / c->nscen;
        if (c->shard_n && i % c->shard_n != c->shard_i)
            continue;
        if (jobs > 1 && i % jobs != job)
            continue;
        struct record r;
        memset(&r, 0, sizeof(r));
        r.scenario = s->name;
        r.iteration = i;
        r.seed = ipcf__iteration_seed(c->seed, s->name, i);
        unsigned messages = c->messages ? c->messages : (s->messages ? s->messages : 64);
        char text[1024];
        const char *cls = NULL;
        if (c->plan_text)
            snprintf(text, sizeof(text), "%s", c->plan_text);
        else
            cls = ipcf__plan_random(s, r.seed, messages, c->faults, text, sizeof(text));
        struct ipcf_plan plan = {0};
        struct ipcf_plan_error perr;
        rc = ipcf_plan_parse(text, &plan, &perr);
        if (rc < 0) {
            fprintf(stderr, "%s run: internal: generated plan '%s' does not parse: %s\n",
                    ipcf__prog, text, perr.msg);
            exit_rc = IPCF_EXIT_INTERNAL;
            break;
        }
        ipcf_plan_format(&plan, r.plan, sizeof(r.plan));
        if (!cls) {
            ipcf_kinds_label(ipcf_plan_kinds(&plan), r.cls, sizeof(r.cls));
        } else {
            snprintf(r.cls, sizeof(r.cls), "%s", cls);
        }
        if (c->dry_run) {
            printf("%s\t%llu\t%llu\t%s\t%s\n", s->name, (unsigned long long)i,
                   (unsigned long long)r.seed, r.cls, r.plan);
            ipcf_plan_free(&plan);
            continue;
        }
        struct ipcf_sup_result res;
        rc = ipcf__sup_iteration(sup, s, &plan, r.seed, i, &res);
        if (rc == 0 && res.findings.n && c->confirm) {
            rc = confirm_finding(c, sup, s, &plan, r.seed, i, ipcf_findings_verdict(&res.findings),
                                 &r.reproduced, &r.confirmations);
            if (rc < 0)
                r.confirmations = 0; /* interrupted or failed: not a measurement */
        }
        ipcf_plan_free(&plan);
        if (rc == -EINTR) {
            ipcf__sup_result_free(&res);
            exit_rc = 128 + (ipcf__sup_stop_signal() ? ipcf__sup_stop_signal() : SIGINT);
            break;
        }
        if (rc < 0) {
            fprintf(stderr, "%s run: %s iteration %llu: internal error: %s\n", ipcf__prog, s->name,
                    (unsigned long long)i, ipcf_strerror(rc));
            ipcf__sup_result_free(&res);
            exit_rc = IPCF_EXIT_INTERNAL;
            break;
        }
        r.findings = res.findings;
        if (res.findings.n) {
            struct ipcf__repro_extra x = {.iteration = i,
                                          .messages = c->messages,
                                          .timeout_ms = c->timeout_ms,
                                          .reproduced = r.reproduced,
                                          .confirmations = r.confirmations};
            int wr = ipcf__write_finding(c->findings_dir, s->name, r.plan, r.seed, c->bugs,
                                         &res.findings, &x, &r.repro);
            if (wr < 0)
                fprintf(stderr, "%s run: cannot write a reproducer in %s: %s\n", ipcf__prog,
                        c->findings_dir, ipcf_strerror(wr));
        }
        rc = deliver(k, &r);
        free(r.repro);
        ipcf__sup_result_free(&res);
        if (rc < 0) {
            exit_rc = IPCF_EXIT_INTERNAL;
            break;
        }
    }
    ipcf__sup_destroy(sup);
    return exit_rc;
}

/* Parent side of --jobs: read records from the workers until they all end. */
static int collect(struct campaign *c, struct sink *k, int *fds, pid_t *pids, unsigned jobs)
{
    FILE *in[64];
    unsigned open_n = jobs;
    int rc = IPCF_EXIT_CLEAN;
    for (unsigned j = 0; j < jobs; j++)
        in[j] = fdopen(fds[j], "r");
    struct record r;
    memset(&r, 0, sizeof(r));
    char *line = NULL;
    size_t cap = 0;
    char scen[256] = "";
    while (open_n) {
        struct pollfd p[64];
        for (unsigned j = 0; j < jobs; j++)
            p[j] = (struct pollfd){.fd = in[j] ? fileno(in[j]) : -1, .events = POLLIN};
        int n = poll(p, jobs, 200);
        if (n < 0 && errno != EINTR)
            break;
        if (ipcf__sup_stop_signal())
            for (unsigned j = 0; j < jobs; j++)
                kill(pids[j], ipcf__sup_stop_signal());
        for (unsigned j = 0; n > 0 && j < jobs; j++) {
            if (!in[j] || !p[j].revents)
                continue;
            /* a worker writes a whole record then flushes: read it whole */
            for (;;) {
                ssize_t len = getline(&line, &cap, in[j]);
                if (len <= 0) {
                    fclose(in[j]);
                    in[j] = NULL;
                    open_n--;
                    break;
                }
                if (line[len - 1] == '\n')
                    line[len - 1] = '\0';
                char *f[8] = {0};
                int nf = 0;
                for (char *t = line; nf < 8;) {
                    f[nf++] = t;
                    char *tab = strchr(t, '\t');
                    if (!tab)
                        break;
                    *tab = '\0';
                    t = tab + 1;
                }
                if (line[0] == 'I' && nf >= 7) {
                    ipcf_findings_init(&r.findings);
                    snprintf(scen, sizeof(scen), "%s", f[1]);
                    r.scenario = scen;
                    snprintf(r.cls, sizeof(r.cls), "%s", f[2]);
                    r.iteration = strtoull(f[3], NULL, 10);
                    r.seed = strtoull(f[4], NULL, 10);
                    get_unescaped(f[5]);
                    snprintf(r.plan, sizeof(r.plan), "%s", f[5]);
                    get_unescaped(f[6]);
                    r.repro = f[6][0] ? strdup(f[6]) : NULL;
                    r.reproduced = r.confirmations = 0;
                    if (nf >= 8 && sscanf(f[7], "%u/%u", &r.reproduced, &r.confirmations) != 2)
                        r.reproduced = r.confirmations = 0;
                } else if (line[0] == 'F' && nf >= 7) {
                    get_unescaped(f[6]);
                    if (ipcf_findings_add(&r.findings, (enum ipcf_verdict)atoi(f[1]),
                                          (uint32_t)strtoul(f[2], NULL, 10),
                                          strtoull(f[3], NULL, 10), atoi(f[4]), atoi(f[5]), "%s",
                                          f[6]) < 0)
                        rc = IPCF_EXIT_INTERNAL;
                } else if (line[0] == 'E') {
                    if (deliver(k, &r) < 0)
                        rc = IPCF_EXIT_INTERNAL;
                    free(r.repro);
                    r.repro = NULL;
                    ipcf_findings_free(&r.findings);
                    break;
                }
            }
        }
        progress(k, false);
    }
    free(line);
    for (unsigned j = 0; j < jobs; j++) {
        int st = 0;
        while (waitpid(pids[j], &st, 0) < 0 && errno == EINTR)
            ;
        if (WIFEXITED(st) && WEXITSTATUS(st) == IPCF_EXIT_INTERNAL)
            rc = IPCF_EXIT_INTERNAL;
        else if (WIFEXITED(st) && WEXITSTATUS(st) >= 128 && rc == IPCF_EXIT_CLEAN)
            rc = WEXITSTATUS(st);
        else if (WIFSIGNALED(st))
            rc = IPCF_EXIT_INTERNAL;
    }
    return rc;
}

static int add_scenario(struct campaign *c, const struct ipcf_scenario *s)
{
    for (unsigned i = 0; i < c->nscen; i++)
        if (c->scen[i] == s)
            return 0;
    if (c->nscen >= MAX_SCENARIOS)
        return -ENOSPC;
    c->scen[c->nscen++] = s;
    return 0;
}

int ipcf__cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {{"all", no_argument, 0, 'a'},
                                         {"plan", required_argument, 0, 'p'},
                                         {"seed", required_argument, 0, 's'},
                                         {"iterations", required_argument, 0, 'n'},
                                         {"time", required_argument, 0, 't'},
                                         {"jobs", required_argument, 0, 'j'},
                                         {"shard", required_argument, 0, 'S'},
                                         {"bug", required_argument, 0, 'b'},
                                         {"json", no_argument, 0, 'J'},
                                         {"junit", required_argument, 0, 'U'},
                                         {"findings", required_argument, 0, 'f'},
                                         {"timeout", required_argument, 0, 'T'},
                                         {"messages", required_argument, 0, 'm'},
                                         {"verbose", no_argument, 0, 'v'},
                                         {"dry-run", no_argument, 0, 'D'},
                                         {"confirm", required_argument, 0, 'C'},
                                         {"faults", required_argument, 0, 'F'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    struct campaign c;
    bool all = false;
    int64_t ms;
    uint64_t u;
    memset(&c, 0, sizeof(c));
    c.seed = 1;
    c.jobs = 1;
    c.findings_dir = "findings";
    c.timeout_ms = IPCF_SUP_DEFAULT_TIMEOUT_MS;
    c.confirm = 3;

    optind = 1;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (o) {
        case 'a':
            all = true;
            break;
        case 'p':
            c.plan_text = optarg;
            break;
        case 'F':
            if (ipcf__fault_classes_parse(optarg, &c.faults) < 0)
                return ipcf__usage_error(
                    "run", "bad --faults '%s' (kill,eintr,short,signal,shrink,all)", optarg);
            break;
        case 's':
            if (ipcf__parse_u64(optarg, &c.seed) < 0)
                return ipcf__usage_error("run", "bad --seed '%s'", optarg);
            break;
        case 'n':
            if (ipcf__parse_u64(optarg, &c.iterations) < 0 || c.iterations == 0)
                return ipcf__usage_error("run", "bad --iterations '%s'", optarg);
            break;
        case 't':
            if (ipcf__parse_duration_ms(optarg, &c.time_ms) < 0 || c.time_ms <= 0)
                return ipcf__usage_error("run", "bad --time '%s' (e.g. 60s, 2m)", optarg);
            break;
        case 'j':
            if (ipcf__parse_u64(optarg, &u) < 0 || u == 0 || u > 64)
                return ipcf__usage_error("run", "bad --jobs '%s' (1..64)", optarg);
            c.jobs = (unsigned)u;
            break;
        case 'S': {
            char *slash = strchr(optarg, '/');
            if (!slash)
                return ipcf__usage_error("run", "bad --shard '%s' (I/N)", optarg);
            *slash = '\0';
            if (ipcf__parse_u64(optarg, &c.shard_i) < 0 ||
                ipcf__parse_u64(slash + 1, &c.shard_n) < 0 || c.shard_n == 0 ||
                c.shard_i >= c.shard_n)
                return ipcf__usage_error("run", "bad --shard (need 0 <= I < N)");
            break;
        }
        case 'b':
            c.bugs = optarg;
            break;
        case 'J':
            c.json = true;
            break;
        case 'U':
            c.junit = optarg;
            break;
        case 'f':
            c.findings_dir = optarg;
            break;
        case 'T':
            if (ipcf__parse_duration_ms(optarg, &ms) < 0 || ms <= 0 || ms > INT32_MAX)
                return ipcf__usage_error("run", "bad --timeout '%s'", optarg);
            c.timeout_ms = (int)ms;
            break;
        case 'm':
            if (ipcf__parse_u64(optarg, &u) < 0 || u == 0 || u > 100000)
                return ipcf__usage_error("run", "bad --messages '%s' (1..100000)", optarg);
            c.messages = (unsigned)u;
            break;
        case 'v':
            c.verbose = true;
            break;
        case 'D':
            c.dry_run = true;
            break;
        case 'C':
            if (ipcf__parse_u64(optarg, &u) < 0 || u > IPCF_REPRO_CONFIRM_MAX)
                return ipcf__usage_error("run", "bad --confirm '%s' (0..%u)", optarg,
                                         IPCF_REPRO_CONFIRM_MAX);
            c.confirm = (unsigned)u;
            break;
        case 'h':
            help(stdout);
            return IPCF_EXIT_CLEAN;
        case ':':
            return ipcf__usage_error("run", "option '%s' needs a value", argv[optind - 1]);
        default:
            return ipcf__usage_error("run", "unknown option '%s'", argv[optind - 1]);
        }
    }
    for (int i = optind; i < argc; i++) {
        const struct ipcf_scenario *s = ipcf_scenario_find(argv[i]);
        if (!s)
            return ipcf__usage_error("run", "unknown scenario '%s' (see `%s list`)", argv[i],
                                     ipcf__prog);
        if (add_scenario(&c, s) < 0)
            return ipcf__usage_error("run", "too many scenarios");
    }
    if (all)
        for (size_t i = 0; ipcf_scenario_at(i); i++)
            if (add_scenario(&c, ipcf_scenario_at(i)) < 0)
                return ipcf__usage_error("run", "too many scenarios");
    if (c.nscen == 0)
        return ipcf__usage_error("run", "name a scenario or pass --all");
    if (!c.iterations && !c.time_ms)
        c.iterations = 50;
    if (c.plan_text) {
        struct ipcf_plan p = {0};
        int u2 = ipcf__plan_parse_or_usage("run", c.plan_text, &p);
        ipcf_plan_free(&p);
        if (u2)
            return u2;
    }
    if (c.bugs) {
        int rc = ipcf_bugs_set(c.bugs);
        if (rc < 0)
            return ipcf__usage_error("run", "unknown planted bug in '%s' (see `%s list`)", c.bugs,
                                     ipcf__prog);
    }

    /* leftovers of dead runs (a supervisor killed mid-campaign) go first */
    struct ipcf_sweep_result sw;
    (void)ipcf_sweep(0, &sw);
    if (sw.names_removed && c.verbose)
        fprintf(stderr, "run: swept %d stale name(s) of %d dead run(s)\n", sw.names_removed,
                sw.runs_swept);
    int rc = ipcf_run_begin();
    if (rc == 0)
        rc = ipcf__sup_signals();
    if (rc < 0) {
        fprintf(stderr, "%s run: %s\n", ipcf__prog, ipcf_strerror(rc));
        return IPCF_EXIT_INTERNAL;
    }

    struct ipcf_report report;
    ipcf_report_init(&report);
    struct sink k = {
        .c = &c, .report = &report, .t0 = ipcf_clock_ms(), .tty = isatty(STDERR_FILENO)};
    k.last_progress = k.t0;
    int exit_rc;
    if (c.jobs == 1) {
        exit_rc = campaign_loop(&c, 0, 1, &k);
    } else {
        int fds[64];
        pid_t pids[64];
        unsigned started = 0;
        exit_rc = IPCF_EXIT_CLEAN;
        pid_t parent = getpid();
        for (unsigned j = 0; j < c.jobs; j++) {
            int p[2];
            if (pipe2(p, O_CLOEXEC) != 0) {
                exit_rc = IPCF_EXIT_INTERNAL;
                break;
            }
            fflush(NULL);
            pid_t pid = fork();
            if (pid < 0) {
                close(p[0]);
                close(p[1]);
                exit_rc = IPCF_EXIT_INTERNAL;
                break;
            }
            if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                    _exit(IPCF_EXIT_INTERNAL);
                for (unsigned q = 0; q < started; q++)
                    close(fds[q]);
                close(p[0]);
                FILE *out = fdopen(p[1], "w");
                if (!out || ipcf_run_begin() < 0)
                    _exit(IPCF_EXIT_INTERNAL);
                struct sink wk = {.c = &c, .pipe = out, .t0 = ipcf_clock_ms()};
                int wrc = campaign_loop(&c, j, c.jobs, &wk);
                fclose(out);
                (void)ipcf_run_remove_names(0);
                _exit(wrc);
            }
            close(p[1]);
            fds[started] = p[0];
            pids[started++] = pid;
        }
        int crc = collect(&c, &k, fds, pids, started);
        if (crc != IPCF_EXIT_CLEAN)
            exit_rc = crc;
    }
    if (k.tty)
        fputc('\n', stderr);
    progress(&k, true);
    if (k.tty)
        fputc('\n', stderr);

    FILE *table_out = c.json ? stderr : stdout;
    if (ipcf_report_write_table(&report, table_out) < 0 && exit_rc == IPCF_EXIT_CLEAN)
        exit_rc = IPCF_EXIT_INTERNAL;
    if (c.json && ipcf_report_write_jsonl(&report, stdout) < 0 && exit_rc == IPCF_EXIT_CLEAN)
        exit_rc = IPCF_EXIT_INTERNAL;
    if (c.junit) {
        FILE *f = fopen(c.junit, "we");
        if (!f || ipcf_report_write_junit(&report, f) < 0) {
            fprintf(stderr, "%s run: cannot write %s: %s\n", ipcf__prog, c.junit, strerror(errno));
            if (exit_rc == IPCF_EXIT_CLEAN)
                exit_rc = IPCF_EXIT_INTERNAL;
        }
        if (f)
            fclose(f);
    }
    uint64_t total = ipcf_report_total_findings(&report), flaky = 0;
    for (size_t i = 0; i < report.nrows; i++)
        flaky += report.rows[i].flaky;
    if (total)
        fprintf(stderr, "%llu finding(s); reproducers in %s/ (replay with `%s replay FILE`)\n",
                (unsigned long long)total, c.findings_dir, ipcf__prog);
    if (flaky)
        fprintf(stderr,
                "%llu iteration(s) with flaky findings (reproduced < %u/%u on replay): they still "
                "count; `%s minimize` looks for a plan that reproduces every time\n",
                (unsigned long long)flaky, c.confirm, c.confirm, ipcf__prog);
    ipcf_report_free(&report);
    (void)ipcf_run_remove_names(0);
    if (exit_rc == IPCF_EXIT_CLEAN && total)
        exit_rc = IPCF_EXIT_FINDINGS;
    return exit_rc;
}
