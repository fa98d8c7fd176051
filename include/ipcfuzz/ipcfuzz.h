/* ipcfuzz/ipcfuzz.h — the scenario API: describe a multi-process IPC workload
 * once, get `run`, `sweep`, `replay`, `minimize`, `exec`, `list` and `names`
 * for free.
 *
 * A scenario is a set of peers (roles), each run in its own process forked by
 * the supervisor, plus hooks the supervisor runs itself:
 *
 *   static int producer(struct ipcf_peer_ctx *ctx) { ... return 0; }
 *   static int consumer(struct ipcf_peer_ctx *ctx) { ... return 0; }
 *
 *   IPCF_SCENARIO(my_pipe,
 *       .description = "producer sends N frames to consumer over a pipe",
 *       .peers = {{.name = "producer", .run = producer, .restarts = 3}, {.name = "consumer", .run =
 * consumer}}, .streams = {{.id = 1, .name = "data", .sender = "producer", .receiver = "consumer",
 *                    .semantics = IPCF_SEM_STREAM}},
 *       .names = {"data.fifo"},
 *       .setup = my_setup, .check = my_check, .teardown = my_teardown);
 *
 * IPCF_SCENARIO registers the scenario in the "ipcf_scenarios" linker section
 * (like IPCF_BUG_DEFINE in bugs.h): no central table. Link the program with the
 * `ipcf_harness` library, which provides main(); or call ipcf_main() from your
 * own main(). Scenario objects must be linked directly into the executable
 * (not only through a static archive nothing references).
 *
 * Lifecycle of one iteration (harness/supervisor.c):
 *   names snapshot -> ledger reset -> shared area zeroed -> setup() ->
 *   fork every peer, then started() (own process group, PR_SET_PDEATHSIG, pidfd; faults
 *   configured from the plan, seed and peer name; ledger attached) ->
 *   watchdog: wait for every peer, restart a peer killed by the plan when
 *   its `.restarts` allows -> check() -> teardown() -> oracle over the ledger
 *   -> names audit -> every name of the run removed.
 *
 * Peers record what they send and receive in the ledger (ipcfuzz/ledger.h:
 * ipcf_ledger_send_begin / _sent / _received): the oracle judges those records
 * against the streams' declared semantics.
 *
 * Peer exit code convention: return 0 when the peer finished or stopped
 * gracefully (including "the other side went away"), non-zero when it failed.
 * Under transparent faults (EINTR, short I/O, delays, interrupting signals) a
 * non-zero exit is an `invariant` finding; under destructive faults (kill,
 * hard errors, shrink, corrupt) it is accepted, except from a restarted
 * incarnation, where it is `recovery-failed`.
 *
 * Restarts: a peer killed by a kill rule of the plan (kill=before|after) is
 * restarted when its .restarts budget allows. The new incarnation runs with
 * the same peer name, fresh counters, and the plan's rules for its
 * incarnation (ctx->incarnation): kill rules apply to the first run only
 * unless they carry an inc= filter (inc=1: kill the first restart during its
 * recovery), so a restart is not killed again at the same point forever;
 * every other rule (EINTR, short, signal...) still applies to it.
 */
#ifndef IPCFUZZ_IPCFUZZ_H
#define IPCFUZZ_IPCFUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ipcfuzz/bugs.h"
#include "ipcfuzz/error.h"
#include "ipcfuzz/faults.h"
#include "ipcfuzz/ledger.h"
#include "ipcfuzz/names.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IPCF_MAX_PEERS   8 /* peers per scenario */
#define IPCF_MAX_STREAMS 8 /* logical streams per scenario */
#define IPCF_MAX_NAMES   8 /* persistent name tags per scenario */

/* Delivery semantics of one logical stream, as the oracle enforces them
 * (harness/oracle.h, docs/oracle.md). A message is "committed" once its
 * ipcf_ledger_sent() record exists. Whatever the bits, a delivered message must
 * be intact (same hash as a version sent) and a torn frame is never delivered. */
enum ipcf_semantics_bits {
    IPCF_SEM_ORDERED = 1u << 0,            /* delivered in increasing seq order */
    IPCF_SEM_AT_LEAST_ONCE = 1u << 1,      /* duplicates allowed (else exactly once) */
    IPCF_SEM_SURVIVES_SENDER = 1u << 2,    /* committed messages survive the sender's death */
    IPCF_SEM_SURVIVES_RECEIVER = 1u << 3,  /* pending committed messages survive the
                                              receiver's death (reach its restart) */
    IPCF_SEM_DETECTS_CORRUPTION = 1u << 4, /* receiver validates (CRC): a corrupt= fault
                                              must never yield a corrupted delivery */
};

/* A reliable ordered exactly-once framed stream (pipe, FIFO, Unix stream). */
#define IPCF_SEM_STREAM (IPCF_SEM_ORDERED | IPCF_SEM_SURVIVES_SENDER | IPCF_SEM_DETECTS_CORRUPTION)

/* One logical stream: ledger stream id, its sender and receiver peer names. */
struct ipcf_stream_decl {
    uint32_t id;          /* the `stream` argument of the ledger calls; 0 ends the list */
    const char *name;     /* for reports */
    const char *sender;   /* peer name */
    const char *receiver; /* peer name (NULL: inferred from the ledger) */
    unsigned semantics;   /* enum ipcf_semantics_bits */
    /* Messages a receiver may have taken off the channel but not yet recorded
     * when it is killed (they may be lost): 0 = 1 message. */
    unsigned receiver_in_hand;
};

struct ipcf_scenario;

/* What a peer process gets. Everything is valid for the life of the peer. */
struct ipcf_peer_ctx {
    const struct ipcf_scenario *scenario;
    const char *peer;     /* this peer's role name */
    unsigned peer_index;  /* index in scenario->peers (the ledger peer id) */
    unsigned incarnation; /* 0 = first start, n = n-th restart after a kill */
    uint64_t seed;        /* the iteration's seed */
    uint64_t iteration;   /* iteration number in the campaign */
    unsigned messages;    /* workload size (scenario default or --messages) */
    int timeout_ms;       /* the iteration's watchdog budget: bound every wait by it */
    void *shared;         /* scenario->shared_size bytes of MAP_SHARED memory, zeroed
                             before setup(), surviving every peer's death */
};

/* How one peer ended, for check(). */
struct ipcf_peer_outcome {
    const char *peer;
    unsigned incarnations; /* processes started for this peer (1 + restarts) */
    bool exited;           /* last incarnation exited (else: signalled or hung) */
    int exit_code;         /* when exited */
    int signal;            /* when signalled */
    bool killed_by_plan;   /* some incarnation died by a scheduled SIGKILL */
    bool hung;             /* the watchdog killed it */
};

/* What the supervisor-side hooks get. */
struct ipcf_scenario_ctx {
    const struct ipcf_scenario *scenario;
    void *shared;
    uint64_t seed;
    uint64_t iteration;
    unsigned messages;
    int timeout_ms;
    bool destructive; /* the plan contains destructive faults (kill, hard errors...) */
    struct ipcf_peer_outcome outcome[IPCF_MAX_PEERS]; /* filled before check() */
    void *user;       /* free for setup() to hand state to check()/teardown() */
    char detail[256]; /* check(): why it failed, one line */
};

struct ipcf_peer_def {
    const char *name;                      /* role name; NULL ends the list */
    int (*run)(struct ipcf_peer_ctx *ctx); /* the peer's body; returns its exit code */
    unsigned restarts;                     /* max restarts after a scheduled kill (0 = none) */
};

struct ipcf_scenario {
    const char *name; /* set by IPCF_SCENARIO from its id */
    const char *description;
    struct ipcf_peer_def peers[IPCF_MAX_PEERS];
    struct ipcf_stream_decl streams[IPCF_MAX_STREAMS];
    /* Tags of the persistent names it creates (ipcf_name_path / ipcf_name_posix
     * tags), for documentation and `list`; the audit checks every run name. */
    const char *names[IPCF_MAX_NAMES];
    /* Call sets random plans should target ("read,write"); NULL = the stream
     * defaults (read, write, poll). "point=NAME" entries are kill points:
     * only the kill and shrink classes target them. */
    const char *calls;
    /* Glob of the objects random plans may truncate (the shrink class,
     * e.g. "*ring*"); NULL = no shrink class for this scenario. */
    const char *shrink;
    size_t shared_size; /* bytes of shared memory for the peers (0 = none) */
    unsigned messages;  /* default workload size (0 = 64) */
    /* Supervisor-side hooks, all optional. setup: 0 or -errno (an internal
     * error: the iteration is aborted). check: 0 = invariants hold, else
     * non-zero with ctx->detail filled (an `invariant` finding). teardown
     * releases what setup made; it runs whatever happened. */
    int (*setup)(struct ipcf_scenario_ctx *ctx);
    /* started: every peer of the first round has been forked; release what
     * only the peers need (e.g. the supervisor's copies of pipe ends, so a
     * peer's death is seen as EOF / EPIPE). Restarted peers are forked later
     * and only inherit what the supervisor still holds. */
    void (*started)(struct ipcf_scenario_ctx *ctx);
    int (*check)(struct ipcf_scenario_ctx *ctx);
    void (*teardown)(struct ipcf_scenario_ctx *ctx);
};

/* Register a scenario named <id> (a C identifier: the CLI name). The remaining
 * arguments are designated initializers of struct ipcf_scenario. */
#define IPCF_SCENARIO(id, ...)                                                                     \
    static const struct ipcf_scenario ipcf_scenario_##id = {.name = #id, __VA_ARGS__};             \
    const struct ipcf_scenario *ipcf_scenario_ptr_##id                                             \
        __attribute__((section("ipcf_scenarios"), used)) = &ipcf_scenario_##id

/* Every scenario linked into this binary, in link order; NULL past the end. */
const struct ipcf_scenario *ipcf_scenario_at(size_t index);

/* The scenario called name, or NULL. */
const struct ipcf_scenario *ipcf_scenario_find(const char *name);

/* Number of peers of a scenario. */
unsigned ipcf_scenario_npeers(const struct ipcf_scenario *s);

/* The `ipcfuzz` command line (list, run, sweep, replay, minimize, exec, names).
 * Returns the process exit code: 0 clean, 1 findings, 2 usage error, 3
 * internal error. The ipcf_harness library's main() is exactly this. */
int ipcf_main(int argc, char **argv);

/* Exit codes of ipcf_main. */
enum ipcf_exit {
    IPCF_EXIT_CLEAN = 0,
    IPCF_EXIT_FINDINGS = 1,
    IPCF_EXIT_USAGE = 2,
    IPCF_EXIT_INTERNAL = 3,
};

#ifdef __cplusplus
}
#endif
#endif
