/* cmd_list.c — `ipcfuzz list`: the scenarios, fault classes and planted bugs
 * linked into this binary. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void help(FILE *f)
{
    fprintf(f,
            "usage: %s list [--scenarios|--bugs|--faults]\n\n"
            "List the scenarios linked into this binary (with their peers, streams and\n"
            "restart budgets), the fault classes `run` draws random plans from, and every\n"
            "planted bug (enable with `run --bug NAME`). Without an option: all three.\n",
            ipcf__prog);
}

static const char *sem_text(unsigned bits, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s%s%s%s%s", bits & IPCF_SEM_ORDERED ? "ordered " : "",
             bits & IPCF_SEM_AT_LEAST_ONCE ? "at-least-once " : "exactly-once ",
             bits & IPCF_SEM_SURVIVES_SENDER ? "survives-sender " : "",
             bits & IPCF_SEM_SURVIVES_RECEIVER ? "survives-receiver " : "",
             bits & IPCF_SEM_DETECTS_CORRUPTION ? "crc" : "");
    return buf;
}

int ipcf__cmd_list(int argc, char **argv)
{
    bool scen = true, bugs = true, faults = true;
    if (argc > 1) {
        scen = bugs = faults = false;
        for (int i = 1; i < argc; i++) {
            if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
                help(stdout);
                return IPCF_EXIT_CLEAN;
            } else if (!strcmp(argv[i], "--scenarios"))
                scen = true;
            else if (!strcmp(argv[i], "--bugs"))
                bugs = true;
            else if (!strcmp(argv[i], "--faults"))
                faults = true;
            else
                return ipcf__usage_error("list", "unknown argument '%s'", argv[i]);
        }
    }
    if (scen) {
        printf("scenarios:\n");
        size_t i = 0;
        for (; ipcf_scenario_at(i); i++) {
            const struct ipcf_scenario *s = ipcf_scenario_at(i);
            printf("  %-22s %s\n", s->name, s->description ? s->description : "");
            printf("  %-22s peers:", "");
            for (unsigned p = 0; p < ipcf_scenario_npeers(s); p++) {
                printf(" %s", s->peers[p].name);
                if (s->peers[p].restarts)
                    printf("(restart<=%u)", s->peers[p].restarts);
            }
            printf("\n");
            for (unsigned k = 0; k < IPCF_MAX_STREAMS && s->streams[k].id; k++) {
                char b[128];
                printf("  %-22s stream %u %s: %s -> %s, %s\n", "", s->streams[k].id,
                       s->streams[k].name ? s->streams[k].name : "",
                       s->streams[k].sender ? s->streams[k].sender : "?",
                       s->streams[k].receiver ? s->streams[k].receiver : "?",
                       sem_text(s->streams[k].semantics, b, sizeof(b)));
            }
        }
        if (!i)
            printf("  (none linked into this binary)\n");
    }
    if (faults) {
        printf("fault classes (random plans of `run`):\n"
               "  kill     CALL:kill=before|after:when=K:peer=P   destructive; restart if allowed\n"
               "  eintr    CALL:error=EINTR:p=X                   transparent\n"
               "  short    CALL:short=N[:p=X]                     transparent\n"
               "  signal   CALL:signal=SIGUSR1:p=X (storm)        transparent (real EINTR)\n"
               "  mixes    eintr+short, kill+short\n"
               "  shrink   SET:shrink=GLOB:when=K:peer=P           destructive (real SIGBUS);\n"
               "           only scenarios that declare .shrink\n");
    }
    if (bugs) {
        printf("planted bugs (`run --bug NAME,...`):\n");
        size_t i = 0;
        for (; ipcf_bugs_at(i); i++)
            printf("  %-26s %s\n", ipcf_bugs_at(i)->name, ipcf_bugs_at(i)->desc);
        if (!i)
            printf("  (none linked into this binary)\n");
    }
    return IPCF_EXIT_CLEAN;
}
