/* scenario_shm_ring.c — the shm_ring scenarios: a producer and a consumer over
 * the lock-free SPSC ring (ipcfuzz/shm_ring.h), driven by the harness.
 *
 *   shm_ring          memfd segment (sealed), made by setup() and inherited by
 *                     every peer (also a restarted one, forked later by the
 *                     supervisor); both peers restart after a kill.
 *   shm_ring_posix    the same over a POSIX shm segment that every incarnation
 *                     re-opens BY NAME (the way an unrelated process attaches);
 *                     the supervisor's setup() creates it and its teardown()
 *                     unlinks it, so a leaked name is the library's fault.
 *                     A shrink=*ring* plan truncates it while it is mapped:
 *                     every peer must then stop with -IPCF_ESHRUNK (exit 1, a
 *                     graceful failure), never die by SIGBUS.
 *   shm_ring_hostile  a third peer scribbles on the ring while the consumer
 *                     reads: the consumer must reject (-IPCF_ECORRUPT) or be
 *                     unaffected, never crash, hang or deliver garbage.
 *   shm_ring_threads  producer and consumer as two threads of one peer: the
 *                     only form in which TSan can see the ring's memory
 *                     ordering (it does not follow races across processes).
 *
 * Messages: seq 1..N is the ring position + 1, payload = a pure function of
 * (seed, seq) (ipcf__stream_payload, at most 256 bytes = the ring's
 * max_payload). The producer records send_begin before each push and sent
 * after it returned; the consumer records received after each pop, with the
 * position the ring reported. Waits are done on ipcf_ring_info() (no kill
 * point), so every push/pop call succeeds at once and the number of times
 * each IPCF_STEP point is reached per peer is the same in every run: the
 * points `sweep` traces are reproducible, `when=K` means the K-th message.
 *
 * Declared semantics (targets/shm_ring/README.md): committed pushes survive
 * either peer's death; a restarted producer resumes at the shared head (a push
 * killed after its head store is in the ring, in doubt, and not resent), a
 * restarted consumer at the shared tail; a consumer killed after its tail
 * store but before recording loses that one entry (receiver_in_hand = 1).
 * Ordered, exactly once, checksummed.
 *
 * Hostile: the attack is a pure function of the seed (kind and message). To
 * make the interleaving reproducible instead of a race the scenario pauses the
 * consumer at the attacked IPCF_STEP (its step hook raises a flag in shared
 * memory and waits, bounded, for the hostile peer's write). The library under
 * test is unaware of it: from its point of view another process rewrote the
 * shared pages between two of its own reads. Under attack the ring promises
 * integrity, not delivery, so the producer records send_begin only (every
 * message in doubt): the oracle then checks that whatever the consumer
 * delivered is bytes the producer sent, in order, once.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ipcfuzz/ipcfuzz.h"
#include "ipcfuzz/shm_ring.h"
#include "ipcfuzz/step.h"
#include "scenario_stream.h"

#define RING_SLOTS  8u
#define RING_MAXP   IPCF__STREAM_MAX_LEN
#define RING_STREAM 1u
#define GONE_MS     1000 /* a partner dead this long (not restarted) has gone */

enum ring_peer { P_PRODUCER = 0, P_CONSUMER = 1, P_HOSTILE = 2 };

enum attack_kind {
    ATK_HEAD_JUMP,    /* at ring.pop.begin: head far beyond tail + slots */
    ATK_LEN_BEGIN,    /* at ring.pop.begin: slot length huge */
    ATK_LEN_VALIDATE, /* at ring.pop.validated: slot length huge (after the check) */
    ATK_FLIP,         /* at ring.pop.validated: payload byte flipped */
    ATK_COUNT
};

/* Shared by the peers (ctx->shared), zeroed before setup(). */
struct ring_shared {
    int32_t pid[3];   /* current incarnation of each role */
    uint32_t done[3]; /* the role stopped for good (finished, gave up or failed) */
    /* hostile handshake */
    uint32_t attack_go;   /* consumer: paused at the attacked step */
    uint32_t attack_done; /* hostile: wrote its garbage */
    uint64_t attack_pos;  /* ring position the consumer is popping */
};

static struct ipcf_ring_seg g_seg = {.fd = -1};

static void nap_us(long us)
{
    struct timespec ts = {0, us * 1000L};
    nanosleep(&ts, NULL);
}

/* Sleep ~1 ms through poll(): the scenarios' waits are the intercepted call
 * random plans target (EINTR and interrupting signals must be absorbed). */
static void nap_poll(void)
{
    (void)poll(NULL, 0, 1);
}

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Has peer `who` gone for good: stopped, or dead for GONE_MS without a new
 * incarnation (at once when the role is never restarted)? *dead_since tracks
 * the start of the dead spell (0 = alive). */
static int g_restarts[3]; /* the roles' restart budgets, set by each peer */

static int partner_gone(struct ring_shared *sh, int who, int64_t *dead_since)
{
    if (__atomic_load_n(&sh->done[who], __ATOMIC_ACQUIRE))
        return 1;
    pid_t pid = __atomic_load_n(&sh->pid[who], __ATOMIC_ACQUIRE);
    if (pid == 0 || kill(pid, 0) == 0 || errno != ESRCH) {
        *dead_since = 0;
        return 0;
    }
    int64_t now = ipcf__now_ms();
    if (!*dead_since)
        *dead_since = now;
    return now - *dead_since >= (g_restarts[who] ? GONE_MS : 0);
}

static void role_start(struct ipcf_peer_ctx *ctx, int who)
{
    struct ring_shared *sh = ctx->shared;
    for (int i = 0; i < 3 && ctx->scenario->peers[i].name; i++)
        g_restarts[i] = (int)ctx->scenario->peers[i].restarts;
    __atomic_store_n(&sh->pid[who], (int32_t)getpid(), __ATOMIC_RELEASE);
}

static void role_done(struct ipcf_peer_ctx *ctx, int who)
{
    struct ring_shared *sh = ctx->shared;
    __atomic_store_n(&sh->done[who], 1, __ATOMIC_RELEASE);
}

/* Attach as role: by name for a POSIX segment (what a restarted, unrelated
 * process does), else through the inherited memfd. 0 or -errno/-IPCF_E*. */
static int ring_open(enum ipcf_ring_role role, struct ipcf_ring **r)
{
    if (g_seg.name[0]) {
        struct ipcf_ring_seg s = {.fd = -1};
        int rc = ipcf_ring_seg_open(&s, g_seg.name);
        if (rc < 0)
            return rc;
        rc = ipcf_ring_attach(s.fd, role, r);
        ipcf_ring_seg_close(&s); /* not the creator: never unlinks */
        return rc;
    }
    return ipcf_ring_attach(g_seg.fd, role, r);
}

/* ---- producer / consumer -------------------------------------------------- */

static int run_producer(struct ipcf_peer_ctx *ctx, int hostile)
{
    struct ring_shared *sh = ctx->shared;
    int64_t deadline = ipcf__now_ms() + ctx->timeout_ms, dead_since = 0;
    struct ipcf_ring *r = NULL;
    struct ipcf_ring_info info;
    uint8_t buf[RING_MAXP];
    int rc;

    role_start(ctx, P_PRODUCER);
    rc = ring_open(IPCF_RING_PRODUCER, &r);
    if (rc == 0)
        rc = ipcf_ring_info(r, &info);
    if (rc < 0) {
        fprintf(stderr, "producer: attach: %s\n", ipcf_strerror(rc));
        goto out;
    }
    /* resume at the shared head: everything below it is committed */
    for (uint64_t pos = info.head; pos < ctx->messages; pos++) {
        for (;;) { /* wait for room, on a snapshot (no kill point) */
            rc = ipcf_ring_info(r, &info);
            if (rc < 0)
                goto out;
            if (info.tail > pos || pos - info.tail < RING_SLOTS)
                break; /* room (a bogus tail is push's to reject) */
            if (partner_gone(sh, P_CONSUMER, &dead_since))
                goto out; /* the consumer stopped: nothing more to do */
            if (ipcf__ms_left(deadline) == 0) {
                rc = -IPCF_ETIMEDOUT;
                goto out;
            }
            nap_poll();
        }
        uint64_t seq = pos + 1;
        size_t len = ipcf__stream_payload(ctx->seed, seq, buf);
        (void)ipcf_ledger_send_begin(RING_STREAM, seq, buf, len);
        rc = ipcf_ring_push(r, buf, len);
        if (rc < 0)
            goto out;
        if (!hostile)
            (void)ipcf_ledger_sent(RING_STREAM, seq, buf, len);
    }
out:
    if (rc < 0 && !(hostile && rc == -IPCF_ECORRUPT))
        fprintf(stderr, "producer: %s\n", ipcf_strerror(rc));
    role_done(ctx, P_PRODUCER);
    ipcf_ring_detach(r);
    /* under attack a rejected ring is the expected, graceful outcome */
    return rc < 0 && !(hostile && rc == -IPCF_ECORRUPT) ? 1 : 0;
}

/* ---- hostile handshake (consumer side) ----------------------------------- */

static struct {
    struct ring_shared *sh;
    const char *step; /* the attacked step */
    uint64_t at_pop;  /* attack during the at_pop-th pop call of this process */
    uint64_t pops;    /* pop calls so far (set by the consumer loop) */
    uint64_t pos;     /* position being popped */
} g_atk;

static const char *attack_step(enum attack_kind k)
{
    return k == ATK_HEAD_JUMP || k == ATK_LEN_BEGIN ? "ring.pop.begin" : "ring.pop.validated";
}

static void attack_plan(uint64_t seed, unsigned messages, enum attack_kind *kind, uint64_t *at)
{
    uint64_t x = mix64(seed ^ 0x6b6f7374696c65ull);
    *kind = (enum attack_kind)(x % ATK_COUNT);
    unsigned span = messages > 4 ? messages / 2 : 1;
    *at = 2 + (mix64(x) % span); /* never the first pop: let the ring get going */
}

/* Step hook of the consumer in shm_ring_hostile: at the planned pop and step,
 * hand the ring to the hostile peer and wait (bounded) until it has written. */
static void consumer_step_hook(const char *step)
{
    if (!g_atk.sh || g_atk.pops != g_atk.at_pop || strcmp(step, g_atk.step))
        return;
    struct ring_shared *sh = g_atk.sh;
    g_atk.sh = NULL; /* once */
    __atomic_store_n(&sh->attack_pos, g_atk.pos, __ATOMIC_RELEASE);
    __atomic_store_n(&sh->attack_go, 1, __ATOMIC_RELEASE);
    int64_t until = ipcf__now_ms() + 2000;
    while (!__atomic_load_n(&sh->attack_done, __ATOMIC_ACQUIRE) && ipcf__now_ms() < until &&
           !__atomic_load_n(&sh->done[P_HOSTILE], __ATOMIC_ACQUIRE))
        nap_us(100);
}

static int run_consumer(struct ipcf_peer_ctx *ctx, int hostile)
{
    struct ring_shared *sh = ctx->shared;
    int64_t deadline = ipcf__now_ms() + ctx->timeout_ms, dead_since = 0;
    struct ipcf_ring *r = NULL;
    struct ipcf_ring_info info;
    uint8_t buf[RING_MAXP];
    int rc;

    role_start(ctx, P_CONSUMER);
    rc = ring_open(IPCF_RING_CONSUMER, &r);
    if (rc == 0)
        rc = ipcf_ring_info(r, &info);
    if (rc < 0) {
        fprintf(stderr, "consumer: attach: %s\n", ipcf_strerror(rc));
        goto out;
    }
    if (hostile) {
        enum attack_kind k;
        attack_plan(ctx->seed, ctx->messages, &k, &g_atk.at_pop);
        g_atk.step = attack_step(k);
        g_atk.sh = sh;
        ipcf_step_set_hook(consumer_step_hook);
    }
    /* resume at the shared tail */
    for (uint64_t pos = info.tail; pos < ctx->messages;) {
        for (;;) { /* wait for an entry, on a snapshot (no kill point) */
            rc = ipcf_ring_info(r, &info);
            if (rc < 0)
                goto out;
            if (info.head != pos)
                break; /* something to pop (or a bogus head: pop rejects it) */
            if (partner_gone(sh, P_PRODUCER, &dead_since))
                goto out; /* the producer stopped and the ring is drained */
            if (ipcf__ms_left(deadline) == 0) {
                rc = -IPCF_ETIMEDOUT;
                goto out;
            }
            nap_poll();
        }
        size_t len = 0;
        uint64_t at = 0;
        g_atk.pops++;
        g_atk.pos = pos;
        rc = ipcf_ring_pop(r, buf, sizeof(buf), &len, &at);
        if (rc == -EAGAIN)
            continue;
        if (rc < 0)
            goto out;
        (void)ipcf_ledger_received(RING_STREAM, at + 1, buf, len);
        pos = at + 1;
    }
out:
    ipcf_step_set_hook(NULL);
    if (rc < 0 && !(hostile && rc == -IPCF_ECORRUPT))
        fprintf(stderr, "consumer: %s\n", ipcf_strerror(rc));
    role_done(ctx, P_CONSUMER);
    ipcf_ring_detach(r);
    return rc < 0 && !(hostile && rc == -IPCF_ECORRUPT) ? 1 : 0;
}

/* ---- the hostile peer ------------------------------------------------------ */

/* Map the segment like any process holding the fd, wait for the consumer to
 * pause at the planned step, write garbage there. Exit 0 always (it is not
 * judged; it only attacks). The layout it writes to is the documented one
 * (targets/shm_ring/shm_ring.c): head index at byte 128, slots from byte
 * IPCF_RING_HDR_SIZE, each {u32 length, u32 checksum, u64 seq, payload}. */
static int run_hostile(struct ipcf_peer_ctx *ctx)
{
    struct ring_shared *sh = ctx->shared;
    int64_t deadline = ipcf__now_ms() + ctx->timeout_ms;
    size_t size = ipcf_ring_layout_size(RING_SLOTS, RING_MAXP);
    size_t slot_size = (16u + RING_MAXP + 63u) & ~(size_t)63u;
    enum attack_kind kind;
    uint64_t at;
    int64_t dead_since = 0;

    role_start(ctx, P_HOSTILE);
    unsigned char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, g_seg.fd, 0);
    if (m == MAP_FAILED)
        goto out;
    attack_plan(ctx->seed, ctx->messages, &kind, &at);
    while (!__atomic_load_n(&sh->attack_go, __ATOMIC_ACQUIRE)) {
        if (partner_gone(sh, P_CONSUMER, &dead_since) || ipcf__ms_left(deadline) == 0)
            goto unmap;
        nap_us(200);
    }
    uint64_t pos = __atomic_load_n(&sh->attack_pos, __ATOMIC_ACQUIRE);
    uint64_t x = mix64(ctx->seed ^ pos);
    unsigned char *slot = m + IPCF_RING_HDR_SIZE + (size_t)(pos & (RING_SLOTS - 1)) * slot_size;
    switch (kind) {
    case ATK_HEAD_JUMP:
        __atomic_store_n((uint64_t *)(m + 128), pos + RING_SLOTS + 1 + x % 1000, __ATOMIC_RELEASE);
        break;
    case ATK_LEN_BEGIN:
    case ATK_LEN_VALIDATE: /* far past the mapping and any buffer */
        __atomic_store_n((uint32_t *)slot, (uint32_t)(0x100000u | (x & 0x0fffffu)),
                         __ATOMIC_RELEASE);
        break;
    default: /* ATK_FLIP: one payload byte */
        slot[16 + x % 8] ^= 0x5a;
        break;
    }
    __atomic_store_n(&sh->attack_done, 1, __ATOMIC_RELEASE);
unmap:
    munmap(m, size);
out:
    role_done(ctx, P_HOSTILE);
    return 0;
}

/* ---- two threads of one peer ---------------------------------------------- */

/* The pair peer exists for TSan, so nothing may synchronise its two threads
 * except the ring itself: fault injection is switched off (every IPCF_STEP
 * point would take the scheduler's mutex in both threads) and the ledger is
 * written outside the concurrent phase (its atomic appends would order the
 * producer's slot writes before the consumer's reads and hide a missing
 * release): begin records before the threads start, sent and received records
 * after the join, from what each side saw. */
#define PAIR_MAX 4096u

struct thr {
    struct ipcf_ring *r;
    const struct ipcf_peer_ctx *ctx;
    unsigned pushed;
    int rc;
};

static void *thr_producer(void *arg)
{
    struct thr *t = arg;
    uint8_t buf[RING_MAXP];
    for (uint64_t seq = 1; seq <= t->ctx->messages && t->rc == 0; seq++) {
        size_t len = ipcf__stream_payload(t->ctx->seed, seq, buf);
        t->rc = ipcf_ring_push_wait(t->r, buf, len, t->ctx->timeout_ms);
        if (t->rc == 0)
            t->pushed++;
    }
    return NULL;
}

static int run_pair(struct ipcf_peer_ctx *ctx)
{
    static uint8_t got[PAIR_MAX][RING_MAXP];
    static size_t got_len[PAIR_MAX];
    static uint64_t got_pos[PAIR_MAX];
    struct ipcf_ring *p = NULL, *c = NULL;
    struct thr t = {.ctx = ctx};
    pthread_t th;
    uint8_t buf[RING_MAXP];
    unsigned n = ctx->messages < PAIR_MAX ? ctx->messages : PAIR_MAX, popped = 0;
    int rc;

    ipcf_faults_disable();
    ctx->messages = n;
    for (uint64_t seq = 1; seq <= n; seq++) {
        size_t len = ipcf__stream_payload(ctx->seed, seq, buf);
        (void)ipcf_ledger_send_begin(RING_STREAM, seq, buf, len);
    }
    /* one mapping for both handles: TSan tracks virtual addresses, so two
     * mappings of the same pages would hide every race between them */
    size_t size = ipcf_ring_layout_size(RING_SLOTS, RING_MAXP);
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, g_seg.fd, 0);
    if (m == MAP_FAILED) {
        m = NULL;
        rc = -errno;
    } else {
        rc = ipcf_ring_attach_mem(m, size, IPCF_RING_PRODUCER, 0, &p);
    }
    if (rc == 0)
        rc = ipcf_ring_attach_mem(m, size, IPCF_RING_CONSUMER, 0, &c);
    if (rc == 0) {
        t.r = p;
        rc = -pthread_create(&th, NULL, thr_producer, &t);
    }
    if (rc < 0) {
        fprintf(stderr, "pair: start: %s\n", ipcf_strerror(rc));
        goto out;
    }
    for (; popped < n; popped++) {
        rc = ipcf_ring_pop_wait(c, got[popped], RING_MAXP, &got_len[popped], &got_pos[popped],
                                ctx->timeout_ms);
        if (rc < 0)
            break;
    }
    pthread_join(th, NULL);
    for (uint64_t seq = 1; seq <= t.pushed; seq++) {
        size_t len = ipcf__stream_payload(ctx->seed, seq, buf);
        (void)ipcf_ledger_sent(RING_STREAM, seq, buf, len);
    }
    for (unsigned i = 0; i < popped; i++)
        (void)ipcf_ledger_received(RING_STREAM, got_pos[i] + 1, got[i], got_len[i]);
    if (rc == 0)
        rc = t.rc;
    if (rc < 0)
        fprintf(stderr, "pair: %s\n", ipcf_strerror(rc));
out:
    ipcf_ring_detach(p);
    ipcf_ring_detach(c);
    if (m)
        munmap(m, size);
    return rc < 0 ? 1 : 0;
}

/* ---- supervisor hooks ------------------------------------------------------ */

static int setup_memfd(struct ipcf_scenario_ctx *ctx)
{
    (void)ctx;
    return ipcf_ring_seg_create(&g_seg, NULL, RING_SLOTS, RING_MAXP);
}

static int setup_posix(struct ipcf_scenario_ctx *ctx)
{
    (void)ctx;
    return ipcf_ring_seg_create(&g_seg, "ring", RING_SLOTS, RING_MAXP);
}

static void ring_teardown(struct ipcf_scenario_ctx *ctx)
{
    (void)ctx;
    ipcf_ring_seg_close(&g_seg); /* the supervisor created it: unlinks a POSIX name */
}

/* The final segment must validate (ipcf_ring_validate over a private mapping:
 * header, head/tail relation, every unconsumed entry's length, position and
 * checksum). A segment the plan truncated (-IPCF_ESHRUNK under a destructive
 * plan) is what the plan asked for. */
static int ring_check(struct ipcf_scenario_ctx *ctx)
{
    struct stat st;
    int rc;
    if (fstat(g_seg.fd, &st) < 0) {
        snprintf(ctx->detail, sizeof(ctx->detail), "fstat of the ring segment: %s",
                 strerror(errno));
        return 1;
    }
    if ((size_t)st.st_size < IPCF_RING_HDR_SIZE) {
        rc = -IPCF_ESHRUNK;
    } else {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, g_seg.fd, 0);
        if (m == MAP_FAILED) {
            snprintf(ctx->detail, sizeof(ctx->detail), "mmap of the ring segment: %s",
                     strerror(errno));
            return 1;
        }
        rc = ipcf_ring_validate(m, (size_t)st.st_size);
        munmap(m, (size_t)st.st_size);
    }
    if (rc == -IPCF_ESHRUNK && ctx->destructive)
        return 0;
    if (rc < 0) {
        snprintf(ctx->detail, sizeof(ctx->detail), "ipcf_ring_validate: %s", ipcf_strerror(rc));
        return 1;
    }
    return 0;
}

static int producer(struct ipcf_peer_ctx *ctx)
{
    return run_producer(ctx, 0);
}

static int consumer(struct ipcf_peer_ctx *ctx)
{
    return run_consumer(ctx, 0);
}

static int h_producer(struct ipcf_peer_ctx *ctx)
{
    return run_producer(ctx, 1);
}

static int h_consumer(struct ipcf_peer_ctx *ctx)
{
    return run_consumer(ctx, 1);
}

#define RING_STREAM_DECL(sem)                                                                      \
    {                                                                                              \
        .id = RING_STREAM, .name = "ring", .sender = "producer", .receiver = "consumer",           \
        .semantics = (sem), .receiver_in_hand = 1                                                  \
    }
#define RING_SEM                                                                                   \
    (IPCF_SEM_ORDERED | IPCF_SEM_SURVIVES_SENDER | IPCF_SEM_SURVIVES_RECEIVER |                    \
     IPCF_SEM_DETECTS_CORRUPTION)

IPCF_SCENARIO(shm_ring,
              .description = "producer -> consumer over the SPSC ring in a sealed memfd; "
                             "both restart",
              .peers = {{.name = "producer", .run = producer, .restarts = 2},
                        {.name = "consumer", .run = consumer, .restarts = 2}},
              .streams = {RING_STREAM_DECL(RING_SEM)}, .calls = "poll,read",
              .shared_size = sizeof(struct ring_shared), .messages = 32, .setup = setup_memfd,
              .check = ring_check, .teardown = ring_teardown);

IPCF_SCENARIO(shm_ring_posix,
              .description = "producer -> consumer over the SPSC ring in a named POSIX shm "
                             "segment (re-opened by name; SIGBUS-guarded)",
              .peers = {{.name = "producer", .run = producer, .restarts = 2},
                        {.name = "consumer", .run = consumer, .restarts = 2}},
              .streams = {RING_STREAM_DECL(RING_SEM)}, .names = {"ring"},
              .calls = "poll,read,point=ring.push.published,point=ring.pop.copied",
              .shrink = "*ring*", .shared_size = sizeof(struct ring_shared), .messages = 32,
              .setup = setup_posix, .check = ring_check, .teardown = ring_teardown);

IPCF_SCENARIO(shm_ring_hostile,
              .description = "a hostile third peer rewrites head, slot length or payload while "
                             "the consumer pops; the consumer must reject, never crash",
              .peers = {{.name = "producer", .run = h_producer},
                        {.name = "consumer", .run = h_consumer},
                        {.name = "hostile", .run = run_hostile}},
              .streams = {RING_STREAM_DECL(RING_SEM)}, .calls = "poll,read",
              .shared_size = sizeof(struct ring_shared), .messages = 32, .setup = setup_memfd,
              .teardown = ring_teardown);

IPCF_SCENARIO(shm_ring_threads,
              .description = "producer and consumer threads of one peer over the ring (for "
                             "TSan: memory ordering of the publish)",
              .peers = {{.name = "pair", .run = run_pair}},
              .streams = {{.id = RING_STREAM,
                           .name = "ring",
                           .sender = "pair",
                           .receiver = "pair",
                           .semantics = RING_SEM}},
              .calls = "poll,read", .messages = 256, .setup = setup_memfd, .check = ring_check,
              .teardown = ring_teardown);
