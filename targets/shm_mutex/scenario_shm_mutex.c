/* scenario_shm_mutex.c — the `shm_mutex` scenario: two producers and two
 * consumers on the robust-mutex MPMC queue (ipcfuzz/shm_queue.h), every one of
 * them killable inside the critical section and restarted.
 *
 * The supervisor's setup() creates the queue as a POSIX shm object (its
 * teardown() closes it, which unlinks the name: a leaked name is the
 * library's fault); every peer incarnation opens it BY NAME. Producer k
 * (k = 1, 2) pushes seq 1..N/2 on ledger stream k; consumers pop whatever
 * comes and record it on the stream the payload names.
 *
 * Exactly-once across deaths. The queue's promise is that an operation whose
 * owner dies inside the critical section is rolled back by the next locker
 * unless the owner got past its commit (the store of undo.op = NONE). The
 * scenario observes that commit exactly through the library's own IPCF_STEP
 * points, with a step hook: the hook at `shm_mutex.push.published` /
 * `shm_mutex.pop.published` runs after the kill point of that name and
 * before the next kill point (`...committed`), and the only store in between
 * is the commit itself. So:
 *  - a push whose hook ran is IN the queue: the hook advances the producer's
 *    shared next_seq and counts it; a restarted producer resumes at next_seq,
 *    i.e. re-sends exactly the pushes that must have been rolled back;
 *  - a pop whose hook ran is OUT: the hook records the delivery (the popped
 *    bytes are already in the consumer's private buffer) and counts it. No
 *    delivery can be lost between a commit and its record (no in-hand
 *    window), so the oracle may demand every committed element exactly once.
 * check() then proves the queue state against those counts: after locking
 * (which repairs a dead owner's operation, as any next locker would),
 * ipcf_shm_queue_validate must pass and tail == pushes committed,
 * head == pops committed. With the repair missing (mutex_no_repair) a push or
 * pop killed between its publish and its commit stays half-done: the counts
 * differ (and the re-sent push is delivered twice).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipcfuzz/ipcfuzz.h"
#include "ipcfuzz/shm_queue.h"
#include "ipcfuzz/step.h"
#include "scenario_stream.h"

#define Q_CAPACITY 8u
#define Q_ELEM     IPCF__STREAM_MAX_LEN
#define NPROD      2
#define NPEERS     4 /* producer1, producer2, consumer1, consumer2 */
#define GONE_MS    1000
#define STALL_MS   1500
#define CHECK_LOCK_MS                                                                              \
    1000 /* check(): every peer is gone, nobody may hold the lock */ /* nobody committed anything  \
                                                                        this long while we wait:   \
                                                                        give up */
/* Two ways to wait, so a campaign exercises both: producer1 and consumer1
 * never block inside the queue (timeout 0: a full/empty or contended queue is
 * -IPCF_ETIMEDOUT at once) and wait outside, in poll() (the intercepted call
 * random plans target); producer2 and consumer2 block INSIDE push/pop for up
 * to BLOCK_MS — asleep on the queue's futex change counter or in its bounded
 * re-lock — while their peers are killed inside the critical section. The
 * queue promises that such a waiter is never stranded: it returns with the
 * element, -IPCF_ETIMEDOUT, or -ENOTRECOVERABLE at once when the mutex goes
 * unrecoverable (targets/shm_mutex/README.md). */
#define BLOCK_MS 200

/* How long peer `me` waits inside the queue per call. */
static int queue_wait_ms(int me)
{
    return me == 1 || me == 3 ? BLOCK_MS : 0;
}

struct mq_shared {
    int32_t pid[NPEERS];
    uint32_t done[NPEERS];
    uint64_t committed[NPEERS]; /* pushes / pops past their commit (step hook) */
    uint64_t next_seq[NPROD];   /* producer: next seq to push (0 = 1) */
};

static struct ipcf_shm_queue *g_q;
static char g_name[IPCF_NAME_MAX];

/* per process: what the step hook needs */
static struct {
    struct mq_shared *sh;
    int me;       /* peer index */
    uint64_t seq; /* producer: seq being pushed */
    uint8_t buf[Q_ELEM];
    size_t hook_len; /* consumer: length recorded by the hook, 0 = none */
    uint64_t seed;
} g;

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Payload of (stream, seq): ipcf__stream_payload under a per-stream seed, the
 * stream in the top byte of the leading 64-bit seq field. */
static size_t payload(uint64_t seed, uint32_t stream, uint64_t seq, uint8_t *buf)
{
    size_t len = ipcf__stream_payload(seed ^ mix64(stream), seq, buf);
    buf[7] = (uint8_t)stream;
    return len;
}

static void nap_poll(void)
{
    (void)poll(NULL, 0, 1); /* the intercepted call random plans target */
}

static int peer_gone(struct mq_shared *sh, int who, int64_t *dead_since)
{
    if (__atomic_load_n(&sh->done[who], __ATOMIC_ACQUIRE))
        return 1;
    pid_t pid = __atomic_load_n(&sh->pid[who], __ATOMIC_ACQUIRE);
    if (pid == 0 || kill(pid, 0) == 0 || errno != ESRCH) {
        dead_since[who] = 0;
        return 0;
    }
    int64_t now = ipcf__now_ms();
    if (!dead_since[who])
        dead_since[who] = now;
    return now - dead_since[who] >= GONE_MS;
}

/* No push or pop committed by anyone for STALL_MS while we still wait: the
 * queue is wedged (e.g. a mutex left unrecoverable whose lockers only time
 * out). Returns 1 then; the caller stops with an error instead of spinning
 * into the watchdog. */
struct stall {
    uint64_t seen;
    int64_t since;
};

static int stalled(const struct mq_shared *sh, struct stall *st)
{
    uint64_t sum = 0;
    for (int i = 0; i < NPEERS; i++)
        sum += __atomic_load_n(&sh->committed[i], __ATOMIC_ACQUIRE);
    int64_t now = ipcf__now_ms();
    if (sum != st->seen || !st->since) {
        st->seen = sum;
        st->since = now;
        return 0;
    }
    return now - st->since >= STALL_MS;
}

/* The step hook: see the file comment for why these two steps are the commits. */
static void mq_hook(const char *step)
{
    struct mq_shared *sh = g.sh;
    if (!sh)
        return;
    if (g.me < NPROD && !strcmp(step, "shm_mutex.push.published")) {
        __atomic_store_n(&sh->next_seq[g.me], g.seq + 1, __ATOMIC_RELEASE);
        __atomic_add_fetch(&sh->committed[g.me], 1, __ATOMIC_ACQ_REL);
    } else if (g.me >= NPROD && !strcmp(step, "shm_mutex.pop.published")) {
        uint64_t v;
        uint8_t tmp[Q_ELEM];
        memcpy(&v, g.buf, sizeof(v));
        uint32_t stream = (uint32_t)(v >> 56);
        uint64_t seq = v & ((1ull << 56) - 1);
        if (stream < 1 || stream > NPROD)
            stream = 1; /* garbage: recorded as is, the oracle judges it */
        g.hook_len = payload(g.seed, stream, seq, tmp);
        (void)ipcf_ledger_received(stream, seq, g.buf, g.hook_len);
        __atomic_add_fetch(&sh->committed[g.me], 1, __ATOMIC_ACQ_REL);
    }
}

static int attach(struct ipcf_peer_ctx *ctx, struct ipcf_shm_queue **q)
{
    struct mq_shared *sh = ctx->shared;
    g.sh = sh;
    g.me = (int)ctx->peer_index;
    g.seed = ctx->seed;
    __atomic_store_n(&sh->pid[g.me], (int32_t)getpid(), __ATOMIC_RELEASE);
    ipcf_step_set_hook(mq_hook);
    int rc = ipcf_shm_queue_open(g_name, q);
    if (rc < 0)
        fprintf(stderr, "%s: open %s: %s\n", ctx->peer, g_name, ipcf_strerror(rc));
    return rc;
}

static int finish(struct ipcf_peer_ctx *ctx, struct ipcf_shm_queue *q, int rc)
{
    struct mq_shared *sh = ctx->shared;
    ipcf_step_set_hook(NULL);
    if (rc < 0)
        fprintf(stderr, "%s: %s\n", ctx->peer, ipcf_strerror(rc));
    __atomic_store_n(&sh->done[ctx->peer_index], 1, __ATOMIC_RELEASE);
    ipcf_shm_queue_close(q);
    return rc < 0 ? 1 : 0;
}

static int run_producer(struct ipcf_peer_ctx *ctx)
{
    struct mq_shared *sh = ctx->shared;
    struct ipcf_shm_queue *q = NULL;
    int64_t deadline = ipcf__now_ms() + ctx->timeout_ms, dead_since[NPEERS] = {0};
    struct stall stall = {0, 0};
    uint32_t stream = ctx->peer_index + 1;
    unsigned n = ctx->messages / NPROD ? ctx->messages / NPROD : 1;
    uint8_t buf[Q_ELEM];
    int rc = attach(ctx, &q);
    if (rc < 0)
        return finish(ctx, q, rc);
    for (;;) {
        uint64_t seq = __atomic_load_n(&sh->next_seq[ctx->peer_index], __ATOMIC_ACQUIRE);
        if (seq == 0)
            seq = 1;
        if (seq > n)
            break;
        size_t len = payload(ctx->seed, stream, seq, buf);
        g.seq = seq;
        (void)ipcf_ledger_send_begin(stream, seq, buf, len);
        rc = ipcf_shm_queue_push(q, buf, len, queue_wait_ms(g.me));
        if (rc == -IPCF_ETIMEDOUT) { /* full: are the consumers still there? */
            if (peer_gone(sh, 2, dead_since) && peer_gone(sh, 3, dead_since))
                break;
            if (ipcf__ms_left(deadline) == 0 || stalled(sh, &stall))
                return finish(ctx, q, rc);
            if (!queue_wait_ms(g.me))
                nap_poll();
            continue;
        }
        if (rc < 0)
            return finish(ctx, q, rc);
        (void)ipcf_ledger_sent(stream, seq, buf, len);
        /* the hook advanced next_seq to seq + 1 */
    }
    return finish(ctx, q, 0);
}

/* A lock-free glance at head == tail (the state block's documented offset):
 * once no producer is left, nothing makes it non-empty again; a dead pusher's
 * half-done push (tail advanced, to be rolled back) only makes us pop once
 * more, which repairs it. (ipcf_shm_queue_stat would take the lock.) */
static int looks_empty(const struct ipcf_shm_queue *q)
{
    const struct ipcf_shm_queue_state *st =
        (const void *)((const char *)ipcf_shm_queue_mem(q, NULL) + IPCF_QUEUE_OFF_STATE);
    return __atomic_load_n(&st->head, __ATOMIC_ACQUIRE) ==
           __atomic_load_n(&st->tail, __ATOMIC_ACQUIRE);
}

static int run_consumer(struct ipcf_peer_ctx *ctx)
{
    struct mq_shared *sh = ctx->shared;
    struct ipcf_shm_queue *q = NULL;
    int64_t deadline = ipcf__now_ms() + ctx->timeout_ms, dead_since[NPEERS] = {0};
    struct stall stall = {0, 0};
    int rc = attach(ctx, &q);
    if (rc < 0)
        return finish(ctx, q, rc);
    for (;;) {
        size_t len = 0;
        g.hook_len = 0;
        rc = ipcf_shm_queue_pop(q, g.buf, sizeof(g.buf), &len, queue_wait_ms(g.me));
        if (rc == 0) {
            if (g.hook_len != len) {
                fprintf(stderr, "%s: popped %zu bytes, payload says %zu\n", ctx->peer, len,
                        g.hook_len);
                return finish(ctx, q, -IPCF_ECORRUPT);
            }
            continue;
        }
        if (rc != -IPCF_ETIMEDOUT)
            return finish(ctx, q, rc);
        /* empty (or contended): done once both producers are and the queue
         * is really empty */
        if (peer_gone(sh, 0, dead_since) && peer_gone(sh, 1, dead_since) && looks_empty(q))
            break;
        if (ipcf__ms_left(deadline) == 0 || stalled(sh, &stall))
            return finish(ctx, q, rc);
        if (!queue_wait_ms(g.me))
            nap_poll();
    }
    return finish(ctx, q, 0);
}

static int mq_setup(struct ipcf_scenario_ctx *ctx)
{
    (void)ctx;
    int rc = ipcf_shm_queue_create("queue", Q_CAPACITY, Q_ELEM, &g_q);
    if (rc == 0)
        snprintf(g_name, sizeof(g_name), "%s", ipcf_shm_queue_name(g_q));
    return rc;
}

static void mq_teardown(struct ipcf_scenario_ctx *ctx)
{
    (void)ctx;
    ipcf_shm_queue_close(g_q); /* the creator: unlinks the name */
    g_q = NULL;
}

/* Lock (repairing a dead owner's operation, as the next locker would) and
 * validate, then compare head/tail with the commits the hooks counted. */
static int mq_check(struct ipcf_scenario_ctx *ctx)
{
    struct mq_shared *sh = ctx->shared;
    struct ipcf_shm_queue_state st;
    int rc = ipcf_shm_queue_validate(g_q, CHECK_LOCK_MS);
    if (rc == 0)
        rc = ipcf_shm_queue_stat(g_q, &st, CHECK_LOCK_MS);
    if (rc < 0) {
        snprintf(ctx->detail, sizeof(ctx->detail), "queue after the run: %s%s", ipcf_strerror(rc),
                 rc == -IPCF_ETIMEDOUT ? " (the mutex cannot be taken: left unrecoverable or "
                                         "held)"
                                       : "");
        return 1;
    }
    uint64_t pushed = sh->committed[0] + sh->committed[1];
    uint64_t popped = sh->committed[2] + sh->committed[3];
    if (st.tail != pushed || st.head != popped) {
        snprintf(ctx->detail, sizeof(ctx->detail),
                 "queue head %llu tail %llu, but %llu pop(s) and %llu push(es) committed "
                 "(repairs %llu): a dead owner's operation was not rolled back",
                 (unsigned long long)st.head, (unsigned long long)st.tail,
                 (unsigned long long)popped, (unsigned long long)pushed,
                 (unsigned long long)st.repairs);
        return 1;
    }
    return 0;
}

#define MQ_SEM                                                                                     \
    (IPCF_SEM_ORDERED | IPCF_SEM_SURVIVES_SENDER | IPCF_SEM_SURVIVES_RECEIVER |                    \
     IPCF_SEM_DETECTS_CORRUPTION)

IPCF_SCENARIO(shm_mutex,
              .description = "2 producers, 2 consumers on the robust-mutex queue (POSIX shm); "
                             "owners killed inside the critical section, all restart",
              .peers = {{.name = "producer1", .run = run_producer, .restarts = 2},
                        {.name = "producer2", .run = run_producer, .restarts = 2},
                        {.name = "consumer1", .run = run_consumer, .restarts = 2},
                        {.name = "consumer2", .run = run_consumer, .restarts = 2}},
              .streams = {{.id = 1, .name = "p1", .sender = "producer1", .semantics = MQ_SEM},
                          {.id = 2, .name = "p2", .sender = "producer2", .semantics = MQ_SEM}},
              .names = {"queue"},
              .calls = "poll,read,point=shm_mutex.push.written,point=shm_mutex.push.published,"
                       "point=shm_mutex.pop.saved,point=shm_mutex.pop.published",
              .shared_size = sizeof(struct mq_shared), .messages = 32, .setup = mq_setup,
              .check = mq_check, .teardown = mq_teardown);
