/* cli.h — internals of the `ipcfuzz` command shared by cli*.c and cmd_*.c.
 *
 * Every subcommand is `int ipcf__cmd_<name>(int argc, char **argv)` with argv[0]
 * the subcommand name; it returns the process exit code (enum ipcf_exit).
 */
#ifndef IPCF_HARNESS_CLI_H
#define IPCF_HARNESS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "ipcfuzz/ipcfuzz.h"
#include "oracle.h"
#include "repro.h"
#include "supervisor.h"

int ipcf__cmd_list(int argc, char **argv);
int ipcf__cmd_run(int argc, char **argv);
int ipcf__cmd_sweep(int argc, char **argv);
int ipcf__cmd_replay(int argc, char **argv);
int ipcf__cmd_minimize(int argc, char **argv);
int ipcf__cmd_exec(int argc, char **argv);
int ipcf__cmd_names(int argc, char **argv);

/* The program name used in messages and replay commands ("ipcfuzz" or the
 * scenario binary's argv[0] as invoked). */
extern const char *ipcf__prog;

/* Print "ipcfuzz CMD: message" to stderr and return IPCF_EXIT_USAGE. */
int ipcf__usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse "1500ms", "2s", "1.5s", "3m", "1h", bare number = seconds. 0 and
 * *ms set, or -EINVAL. */
int ipcf__parse_duration_ms(const char *s, int64_t *ms);
/* Parse an unsigned decimal or 0x-hex number. 0 or -EINVAL. */
int ipcf__parse_u64(const char *s, uint64_t *out);

/* Deterministic 64-bit mixing (splitmix64 finaliser). */
uint64_t ipcf__cli_mix64(uint64_t x);
/* FNV-1a of a string. */
uint64_t ipcf__cli_hash_str(const char *s);
/* The seed of iteration `iteration` of `scenario` in a campaign seeded `seed`:
 * a pure function, so a campaign replays and scenarios do not shift each other. */
uint64_t ipcf__iteration_seed(uint64_t seed, const char *scenario, uint64_t iteration);

/* Fault classes of random plans (run/exec --faults). */
enum {
    IPCF__FAULT_KILL = 1u << 0,
    IPCF__FAULT_EINTR = 1u << 1,
    IPCF__FAULT_SHORT = 1u << 2,
    IPCF__FAULT_SIGNAL = 1u << 3,
    IPCF__FAULT_SHRINK = 1u << 4, /* only scenarios that declare .shrink */
    IPCF__FAULT_ALL = 0x1fu,
};

/* Parse "kill,short,..." (or "all") into a mask. 0 or -EINVAL. */
int ipcf__fault_classes_parse(const char *list, unsigned *mask);

/* A random plan for one iteration (cli_plans.c): a pure function of
 * (scenario, iteration seed, messages, classes). Fault classes: kill, eintr,
 * short, signal (storm), and mixes, restricted to `classes` (0 = all). Writes
 * canonical plan text into buf (cap bytes). Returns the plan's class label
 * ("kill", "eintr", ...). */
const char *ipcf__plan_random(const struct ipcf_scenario *s, uint64_t iter_seed, unsigned messages,
                              unsigned classes, char *buf, size_t cap);

/* Parse plan text; on error print the message with a caret and return
 * IPCF_EXIT_USAGE, else 0. */
int ipcf__plan_parse_or_usage(const char *cmd, const char *text, struct ipcf_plan *plan);

/* Replay parameters stored in a reproducer next to the standard keys
 * (x-iteration, x-messages, x-timeout-ms, x-exec, x-names, x-then). */
struct ipcf__repro_extra {
    uint64_t iteration;
    unsigned messages;
    int timeout_ms;
    char *exec;  /* program and arguments separated by '\t' (exec mode) */
    char *names; /* --names globs separated by '\t' */
    char *then;  /* --then command */
    char *cwd;   /* exec: absolute working directory of the run (x-cwd) */
    /* not x- keys: written as the standard `reproduced: n/K` key (format 2)
     * by ipcf__write_finding when confirmations > 0 */
    unsigned reproduced, confirmations;
};
void ipcf__repro_extra_free(struct ipcf__repro_extra *x);
/* Read the x- keys of a reproducer file (unescaping values). 0 or -errno. */
int ipcf__repro_extra_read(const char *path, struct ipcf__repro_extra *x);
/* Append the x- keys to a reproducer file. 0 or -errno. */
int ipcf__repro_extra_append(const char *path, const struct ipcf__repro_extra *x);

/* Write a reproducer for one judged iteration into dir (created if absent):
 * <dir>/<scenario>-<verdict>-<seed hex>.repro. *path_out (if non-NULL) gets a
 * heap copy of the path. 0 or -errno. */
int ipcf__write_finding(const char *dir, const char *scenario, const char *plan, uint64_t seed,
                        const char *bugs, const struct ipcf_findings *f,
                        const struct ipcf__repro_extra *x, char **path_out);

/* Print an iteration's findings, one line each, to f. */
void ipcf__print_findings(FILE *f, const struct ipcf_findings *fs, const char *const *peer_names,
                          unsigned npeers);

/* Directory of the running executable (for libipcfuzz_preload.so). 0 or -errno. */
int ipcf__exe_dir(char *buf, size_t cap);

#endif
