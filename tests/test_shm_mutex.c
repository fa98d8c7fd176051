/* test_shm_mutex.c — the robust-mutex MPMC queue across real processes: owner
 * SIGKILLed at every step of push and pop (and of the repair itself), the
 * ENOTRECOVERABLE path, condvar waiters across an owner's death, many
 * producers/consumers, the repair fuzz entry, and every planted bug. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "ipcfuzz/bugs.h"
#include "ipcfuzz/shm_queue.h"
#include "ipcfuzz/step.h"

int ipcf_fuzz_queue_repair_one(const uint8_t *data, size_t size);

/* Children restore default crash signals (cmocka's handlers would make a
 * crashed child resume the suite). */
static int (*child_fn)(void *);
static void *child_arg;

static int child_trampoline(void *unused)
{
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS, SIGABRT};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], SIG_DFL);
    return child_fn(child_arg);
}

static pid_t spawn(int (*fn)(void *), void *arg)
{
    child_fn = fn;
    child_arg = arg;
    return ipcft_fork(child_trampoline, NULL);
}

/* Kill this process at the n-th occurrence of a step. */
static const char *kill_step;
static long kill_at, steps_seen;

static void die_hook(const char *step)
{
    if (kill_step && !strcmp(step, kill_step) && ++steps_seen == kill_at)
        raise(SIGKILL);
}

static void arm_kill(const char *step, long at)
{
    kill_step = step;
    kill_at = at;
    steps_seen = 0;
    ipcf_step_set_hook(die_hook);
}

/* Elements: an 8-byte id followed by bytes derived from it. */
static size_t elem_make(unsigned char *b, uint64_t id)
{
    size_t len = 8 + (size_t)(id % 40);
    memcpy(b, &id, 8);
    for (size_t i = 8; i < len; i++)
        b[i] = (unsigned char)(id * 13 + i);
    return len;
}

static int elem_check(const unsigned char *b, size_t len, uint64_t *id)
{
    if (len < 8)
        return 0;
    memcpy(id, b, 8);
    unsigned char want[64];
    return elem_make(want, *id) == len && memcmp(want, b, len) == 0;
}

static void push_id(struct ipcf_shm_queue *q, uint64_t id)
{
    unsigned char b[64];
    assert_int_equal(ipcf_shm_queue_push(q, b, elem_make(b, id), 1000), 0);
}

/* Drain the queue and compare with the expected ids, in order. */
static void expect_contents(struct ipcf_shm_queue *q, const uint64_t *ids, size_t n)
{
    unsigned char b[64];
    size_t len, i = 0;
    uint64_t id;
    for (;;) {
        int rc = ipcf_shm_queue_pop(q, b, sizeof(b), &len, 0);
        if (rc == -IPCF_ETIMEDOUT)
            break;
        assert_int_equal(rc, 0);
        assert_true(elem_check(b, len, &id));
        if (i >= n)
            fail_msg("unexpected extra element %llu", (unsigned long long)id);
        if (id != ids[i])
            fail_msg("element %zu: got %llu, want %llu", i, (unsigned long long)id,
                     (unsigned long long)ids[i]);
        i++;
    }
    if (i != n)
        fail_msg("queue held %zu elements, want %zu", i, n);
}

struct child_arg {
    struct ipcf_shm_queue *q;
    const char *step;
    long at;
    int op; /* 1 push id 3, 2 pop, 3 validate (a locker that repairs) */
    int timeout_ms;
};

static int op_child(void *argp)
{
    struct child_arg *a = argp;
    unsigned char b[64];
    size_t len;
    arm_kill(a->step, a->at ? a->at : 1);
    switch (a->op) {
    case 1:
        return ipcf_shm_queue_push(a->q, b, elem_make(b, 3), 1000) == 0 ? 0 : 1;
    case 2:
        return ipcf_shm_queue_pop(a->q, b, sizeof(b), &len, 1000) == 0 ? 0 : 1;
    default:
        return ipcf_shm_queue_validate(a->q, 2000) == 0 ? 0 : 1;
    }
}

static void expect_killed(pid_t pid)
{
    int st = 0;
    assert_int_equal(ipcft_wait(pid, 10000, &st), 0);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
        fail_msg("child expected to die by SIGKILL (status 0x%x)", st);
}

static const char *push_steps[] = {"shm_mutex.push.locked",   "shm_mutex.push.saved",
                                   "shm_mutex.push.logged",   "shm_mutex.push.payload",
                                   "shm_mutex.push.written",  "shm_mutex.push.published",
                                   "shm_mutex.push.committed"};
static const char *pop_steps[] = {"shm_mutex.pop.locked", "shm_mutex.pop.saved",
                                  "shm_mutex.pop.logged", "shm_mutex.pop.published",
                                  "shm_mutex.pop.committed"};
#define NSTEPS(a) (sizeof(a) / sizeof((a)[0]))

/* Kill a child at `step` of op on a queue holding {1, 2}; recover in this
 * process; returns 0 if the recovered queue validates and holds exactly the
 * expected ids (each element fully in or fully out), else -1 (used by the
 * planted-bug tests, which expect a failure somewhere). */
static int kill_and_recover(const char *step, int op, int strict)
{
    struct ipcf_shm_queue *q;
    struct ipcf_shm_queue_state st;
    assert_int_equal(ipcf_shm_queue_create(NULL, 4, 64, &q), 0);
    push_id(q, 1);
    push_id(q, 2);
    struct child_arg a = {.q = q, .step = step, .op = op};
    expect_killed(spawn(op_child, &a));
    int committed = strstr(step, ".committed") != NULL;
    int ok = ipcf_shm_queue_validate(q, 2000) == 0;
    ok = ok && ipcf_shm_queue_stat(q, &st, 2000) == 0 && st.repairs == 1;
    uint64_t want[3] = {1, 2, 3};
    size_t n = 2;
    const uint64_t *ids = want;
    if (op == 1 && committed)
        n = 3;
    if (op == 2 && committed) {
        ids = want + 1;
        n = 1;
    }
    if (strict) {
        if (!ok)
            fail_msg("step %s: queue did not validate after recovery", step);
        expect_contents(q, ids, n);
        ipcf_shm_queue_close(q);
        return 0;
    }
    /* non-strict: compare without asserting */
    unsigned char b[64];
    size_t len, i = 0;
    uint64_t id;
    while (ok && ipcf_shm_queue_pop(q, b, sizeof(b), &len, 0) == 0) {
        if (!elem_check(b, len, &id) || i >= n || id != ids[i])
            ok = 0;
        i++;
    }
    ok = ok && i == n;
    ipcf_shm_queue_close(q);
    return ok ? 0 : -1;
}

/* ---- tests --------------------------------------------------------------- */

static void queue_basic(void **state)
{
    struct ipcf_shm_queue *q;
    unsigned char b[64];
    size_t len;
    uint64_t id;
    assert_int_equal(ipcf_shm_queue_create(NULL, 4, 64, &q), 0);
    assert_int_equal(ipcf_shm_queue_push(q, b, 65, 0), -EMSGSIZE);
    assert_int_equal(ipcf_shm_queue_push(q, b, 0, 0), -EMSGSIZE);
    for (uint64_t i = 10; i < 14; i++)
        push_id(q, i);
    int64_t t0 = ipcft_now_ms();
    assert_int_equal(ipcf_shm_queue_push(q, b, elem_make(b, 99), 120), -IPCF_ETIMEDOUT);
    assert_true(ipcft_now_ms() - t0 >= 100);
    assert_int_equal(ipcf_shm_queue_validate(q, 2000), 0);
    assert_int_equal(ipcf_shm_queue_pop(q, b, 4, &len, 0), -EMSGSIZE);
    for (uint64_t i = 10; i < 14; i++) {
        assert_int_equal(ipcf_shm_queue_pop(q, b, sizeof(b), &len, 0), 0);
        assert_true(elem_check(b, len, &id));
        assert_int_equal(id, i);
    }
    assert_int_equal(ipcf_shm_queue_pop(q, b, sizeof(b), &len, 0), -IPCF_ETIMEDOUT);
    struct ipcf_shm_queue_state st;
    assert_int_equal(ipcf_shm_queue_stat(q, &st, 2000), 0);
    assert_int_equal(st.pushes, 4);
    assert_int_equal(st.pops, 4);
    assert_int_equal(st.repairs, 0);
    ipcf_shm_queue_close(q);

    /* POSIX variant: another handle by name; the creator unlinks on close */
    struct ipcf_shm_queue *q2;
    assert_int_equal(ipcf_shm_queue_create("queue-basic", 2, 16, &q), 0);
    assert_int_equal(ipcft_count_run_names(), 1);
    assert_int_equal(ipcf_shm_queue_open(ipcf_shm_queue_name(q), &q2), 0);
    assert_int_equal(ipcf_shm_queue_push(q2, "abc", 3, 0), 0);
    assert_int_equal(ipcf_shm_queue_pop(q, b, sizeof(b), &len, 0), 0);
    assert_int_equal(len, 3);
    ipcf_shm_queue_close(q2);
    assert_int_equal(ipcft_count_run_names(), 1); /* not the creator */
    ipcf_shm_queue_close(q);
    assert_int_equal(ipcft_count_run_names(), 0);
}

static void queue_attach_truncated(void **state)
{
    struct ipcf_shm_queue *q, *q2;
    assert_int_equal(ipcf_shm_queue_create("queue-trunc", 2, 16, &q), 0);
    assert_int_equal(ftruncate(ipcf_shm_queue_fd(q), 200), 0);
    assert_int_equal(ipcf_shm_queue_open(ipcf_shm_queue_name(q), &q2), -IPCF_ESHRUNK);
    ipcf_shm_queue_close(q);
    assert_int_equal(ipcf_shm_queue_create(NULL, 2, 16, &q), 0);
    assert_int_equal(ftruncate(ipcf_shm_queue_fd(q), 0), -1); /* sealed */
    assert_int_equal(errno, EPERM);
    ipcf_shm_queue_close(q);
}

/* Many producers and consumers, each element delivered exactly once. */
struct mp_arg {
    struct ipcf_shm_queue *q;
    int who;
    _Atomic uint32_t *seen; /* per id: times delivered */
};
#define MP_PER  400
#define MP_PROD 2

static int mp_producer(void *argp)
{
    struct mp_arg *a = argp;
    unsigned char b[64];
    for (uint64_t i = 0; i < MP_PER; i++)
        if (ipcf_shm_queue_push(a->q, b, elem_make(b, (uint64_t)a->who * MP_PER + i), 10000))
            return 1;
    return 0;
}

static int mp_consumer(void *argp)
{
    struct mp_arg *a = argp;
    unsigned char b[64];
    size_t len;
    uint64_t id, last[MP_PROD];
    memset(last, 0xff, sizeof(last));
    for (;;) {
        int rc = ipcf_shm_queue_pop(a->q, b, sizeof(b), &len, 300);
        if (rc == -IPCF_ETIMEDOUT)
            return 0; /* the producers are done */
        if (rc || !elem_check(b, len, &id) || id >= MP_PER * MP_PROD)
            return 1;
        uint64_t p = id / MP_PER;
        if (last[p] != UINT64_MAX && id <= last[p])
            return 2; /* one producer's elements out of order */
        last[p] = id;
        a->seen[id]++;
    }
}

static void queue_many_processes(void **state)
{
    struct ipcf_shm_queue *q;
    assert_int_equal(ipcf_shm_queue_create(NULL, 8, 64, &q), 0);
    size_t sz = sizeof(_Atomic uint32_t) * MP_PER * MP_PROD;
    _Atomic uint32_t *seen =
        mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(seen != MAP_FAILED);
    struct mp_arg a[4];
    pid_t pids[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (struct mp_arg){.q = q, .who = i % 2, .seen = seen};
        pids[i] = spawn(i < 2 ? mp_producer : mp_consumer, &a[i]);
    }
    for (int i = 0; i < 4; i++)
        ipcft_expect_exit0(pids[i], 30000);
    for (int i = 0; i < MP_PER * MP_PROD; i++)
        if (seen[i] != 1)
            fail_msg("element %d delivered %u times", i, (unsigned)seen[i]);
    assert_int_equal(ipcf_shm_queue_validate(q, 2000), 0);
    munmap(seen, sz);
    ipcf_shm_queue_close(q);
}

static void queue_owner_killed_every_push_step(void **state)
{
    for (size_t i = 0; i < NSTEPS(push_steps); i++)
        kill_and_recover(push_steps[i], 1, 1);
}

static void queue_owner_killed_every_pop_step(void **state)
{
    for (size_t i = 0; i < NSTEPS(pop_steps); i++)
        kill_and_recover(pop_steps[i], 2, 1);
}

/* The repairer itself is killed mid-repair (after restoring, and after
 * clearing the record): the next locker repairs again to the same result. */
static void queue_repairer_killed_idempotent(void **state)
{
    static const char *repair_steps[] = {"shm_mutex.repair.begin", "shm_mutex.repair.restored",
                                         "shm_mutex.repair.cleared", "shm_mutex.repair.validated"};
    static const char *victims[] = {"shm_mutex.push.published", "shm_mutex.pop.published"};
    for (size_t v = 0; v < 2; v++) {
        for (size_t r = 0; r < NSTEPS(repair_steps); r++) {
            struct ipcf_shm_queue *q;
            struct ipcf_shm_queue_state st;
            assert_int_equal(ipcf_shm_queue_create(NULL, 4, 64, &q), 0);
            push_id(q, 1);
            push_id(q, 2);
            struct child_arg a = {.q = q, .step = victims[v], .op = 1 + (int)v};
            expect_killed(spawn(op_child, &a));
            struct child_arg rep = {.q = q, .step = repair_steps[r], .op = 3};
            expect_killed(spawn(op_child, &rep)); /* dies inside its repair */
            assert_int_equal(ipcf_shm_queue_validate(q, 2000), 0);
            assert_int_equal(ipcf_shm_queue_stat(q, &st, 2000), 0);
            /* "validated" is after the count: that repairer completed it */
            assert_int_equal(st.repairs, r == 3 ? 2 : 1);
            uint64_t want[2] = {1, 2};
            expect_contents(q, want, 2);
            ipcf_shm_queue_close(q);
        }
    }
}

/* A record that contradicts the state cannot be repaired: the mutex becomes
 * unrecoverable and every operation says so at once, in every process. */
static int notrec_child(void *argp)
{
    struct child_arg *a = argp;
    unsigned char b[64];
    size_t len;
    return ipcf_shm_queue_pop(a->q, b, sizeof(b), &len, 2000) == -ENOTRECOVERABLE ? 0 : 1;
}

static void queue_enotrecoverable(void **state)
{
    struct ipcf_shm_queue *q;
    unsigned char b[64];
    size_t len, size;
    assert_int_equal(ipcf_shm_queue_create(NULL, 4, 64, &q), 0);
    push_id(q, 1);
    struct child_arg a = {.q = q, .step = "shm_mutex.push.logged", .op = 1};
    expect_killed(spawn(op_child, &a));
    unsigned char *m = ipcf_shm_queue_mem(q, &size);
    ((struct ipcf_shm_queue_undo *)(m + IPCF_QUEUE_OFF_UNDO))->op = 99; /* garbage record */
    int64_t t0 = ipcft_now_ms();
    assert_int_equal(ipcf_shm_queue_push(q, b, elem_make(b, 5), 2000), -ENOTRECOVERABLE);
    assert_int_equal(ipcf_shm_queue_pop(q, b, sizeof(b), &len, 2000), -ENOTRECOVERABLE);
    assert_int_equal(ipcf_shm_queue_validate(q, 2000), -ENOTRECOVERABLE);
    ipcft_expect_exit0(spawn(notrec_child, &a), 5000);
    assert_true(ipcft_now_ms() - t0 < 1000); /* promptly, no waiting out timeouts */
    ipcf_shm_queue_close(q);

    /* a damaged element found by the repair's validation: same outcome */
    assert_int_equal(ipcf_shm_queue_create(NULL, 4, 64, &q), 0);
    push_id(q, 1);
    a.q = q;
    expect_killed(spawn(op_child, &a));
    m = ipcf_shm_queue_mem(q, &size);
    m[IPCF_QUEUE_OFF_SLOTS + 16] ^= 0x40; /* payload of element 1 */
    assert_int_equal(ipcf_shm_queue_pop(q, b, sizeof(b), &len, 0), -ENOTRECOVERABLE);
    ipcf_shm_queue_close(q);
}

/* A waiter blocked on the condvar is not stranded by an owner that dies
 * holding the lock: a later push reaches it; with no push it times out. */
static int waiter_child(void *argp)
{
    struct child_arg *a = argp;
    unsigned char b[64];
    size_t len;
    uint64_t id;
    int rc = ipcf_shm_queue_pop(a->q, b, sizeof(b), &len, a->timeout_ms);
    if (a->op == 0)
        return rc == -IPCF_ETIMEDOUT ? 0 : 1;
    return rc == 0 && elem_check(b, len, &id) && id == 7 ? 0 : 2;
}

static void wait_sleeping(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    for (int i = 0; i < 2000; i++) {
        FILE *f = fopen(path, "r");
        if (f) {
            size_t n = fread(buf, 1, sizeof(buf) - 1, f);
            fclose(f);
            buf[n] = '\0';
            char *p = strrchr(buf, ')');
            if (p && p[1] == ' ' && p[2] == 'S')
                return;
        }
        usleep(1000);
    }
    fail_msg("waiter never blocked");
}

static void queue_waiter_not_stranded(void **state)
{
    struct ipcf_shm_queue *q;
    assert_int_equal(ipcf_shm_queue_create(NULL, 4, 64, &q), 0);
    struct child_arg w = {.q = q, .op = 1, .timeout_ms = 8000};
    pid_t waiter = spawn(waiter_child, &w);
    wait_sleeping(waiter);
    struct child_arg k = {.q = q, .step = "shm_mutex.push.published", .op = 1};
    expect_killed(spawn(op_child, &k)); /* died holding the lock, never signalled */
    int64_t t0 = ipcft_now_ms();
    push_id(q, 7);
    ipcft_expect_exit0(waiter, 8000);
    assert_true(ipcft_now_ms() - t0 < 2000);
    assert_int_equal(ipcf_shm_queue_validate(q, 2000), 0);
    ipcf_shm_queue_close(q);

    /* nobody pushes: the waiter still returns, bounded */
    assert_int_equal(ipcf_shm_queue_create(NULL, 4, 64, &q), 0);
    w = (struct child_arg){.q = q, .op = 0, .timeout_ms = 400};
    k.q = q;
    waiter = spawn(waiter_child, &w);
    wait_sleeping(waiter);
    expect_killed(spawn(op_child, &k));
    ipcft_expect_exit0(waiter, 3000);
    assert_int_equal(ipcf_shm_queue_validate(q, 2000), 0);
    ipcf_shm_queue_close(q);
}

/* ---- waiters blocked inside pop across owner death ------------------------ */

/* What a blocked waiter saw, written to a shared page (the child's exit code
 * alone could not carry the time). */
struct wout {
    int rc;
    int64_t ms; /* how long its pop took */
    uint64_t id;
};

static struct wout *wout_map(void)
{
    struct wout *o =
        mmap(NULL, sizeof(*o), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(o != MAP_FAILED);
    o->rc = 1; /* "never returned" */
    return o;
}

struct wait_arg {
    struct ipcf_shm_queue *q;
    int timeout_ms;
    struct wout *out;
};

static int pop_waiter(void *argp)
{
    struct wait_arg *a = argp;
    unsigned char b[64];
    size_t len = 0;
    uint64_t id = 0;
    int64_t t0 = ipcft_now_ms();
    int rc = ipcf_shm_queue_pop(a->q, b, sizeof(b), &len, a->timeout_ms);
    a->out->ms = ipcft_now_ms() - t0;
    if (rc == 0 && !elem_check(b, len, &id))
        rc = -IPCF_ECORRUPT;
    a->out->id = id;
    __atomic_store_n(&a->out->rc, rc, __ATOMIC_RELEASE);
    return 0;
}

/* Start a waiter blocked in pop(timeout_ms) on the (empty) queue. */
static pid_t start_waiter(struct wait_arg *w, struct ipcf_shm_queue *q, int timeout_ms)
{
    *w = (struct wait_arg){.q = q, .timeout_ms = timeout_ms, .out = wout_map()};
    pid_t pid = spawn(pop_waiter, w);
    wait_sleeping(pid);
    assert_int_equal(__atomic_load_n(&w->out->rc, __ATOMIC_ACQUIRE), 1); /* blocked in pop */
    return pid;
}

/* Reap the waiter within limit_ms. 0 if it returned by itself; -ETIMEDOUT if
 * it was still blocked and the bounded wait killed it (a hang). */
static int reap_waiter(pid_t pid, int limit_ms)
{
    int st = 0;
    int rc = ipcft_wait(pid, limit_ms, &st);
    if (rc == 0 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
        fail_msg("waiter died: status 0x%x", st);
    return rc;
}

/* (a) The owner is SIGKILLed inside push (undo record logged, mutex held);
 * the next locker leaves the mutex unrecoverable, either because it forgets
 * pthread_mutex_consistent (the planted bug mutex_no_consistent, in that
 * locker only) or because the repair is refused (the record is garbage). A
 * consumer blocked in pop(5 s) the whole time must return -ENOTRECOVERABLE
 * promptly, not at its timeout and not never; so must every later caller,
 * including validate (which must not wait out its lock timeout). The waiter
 * is SIGSTOPped (still inside pop, asleep on the change counter) while the
 * owner dies and the next locker acts, so that it cannot become that next
 * locker itself (it re-checks every 50 ms and would repair correctly); it is
 * resumed once the mutex is unrecoverable and must return within 1 s. */
static int no_consistent_locker(void *argp)
{
    struct child_arg *a = argp;
    if (ipcf_bugs_set("mutex_no_consistent") < 0)
        return 3;
    return ipcf_shm_queue_validate(a->q, 2000) == 0 ? 0 : 1; /* repairs, no consistent */
}

static void waiter_meets_unrecoverable(int refused)
{
    struct ipcf_shm_queue *q;
    struct wait_arg w;
    unsigned char b[64];
    size_t size;
    assert_int_equal(ipcf_shm_queue_create(NULL, 4, 64, &q), 0);
    pid_t waiter = start_waiter(&w, q, 5000);
    assert_int_equal(kill(waiter, SIGSTOP), 0);
    struct child_arg k = {.q = q, .step = "shm_mutex.push.logged", .op = 1};
    expect_killed(spawn(op_child, &k));
    if (refused) {
        unsigned char *m = ipcf_shm_queue_mem(q, &size);
        ((struct ipcf_shm_queue_undo *)(m + IPCF_QUEUE_OFF_UNDO))->op = 99;
        assert_int_equal(ipcf_shm_queue_push(q, b, elem_make(b, 5), 0), -ENOTRECOVERABLE);
    } else {
        ipcft_expect_exit0(spawn(no_consistent_locker, &k), 5000);
    }
    /* other peers keep knocking, as in the scenario */
    for (int i = 0; i < 3; i++)
        assert_int_equal(ipcf_shm_queue_push(q, b, elem_make(b, 6), 0), -ENOTRECOVERABLE);
    assert_int_equal(__atomic_load_n(&w.out->rc, __ATOMIC_ACQUIRE), 1); /* still in pop */
    int64_t t0 = ipcft_now_ms();
    assert_int_equal(kill(waiter, SIGCONT), 0);
    if (reap_waiter(waiter, 7000) < 0)
        fail_msg("%s: the waiter blocked in pop(5 s) hung (killed after 7 s)",
                 refused ? "refused repair" : "mutex_no_consistent");
    int64_t took = ipcft_now_ms() - t0;
    if (w.out->rc != -ENOTRECOVERABLE)
        fail_msg("waiter: %d (%s), want -ENOTRECOVERABLE", w.out->rc, ipcf_strerror(w.out->rc));
    if (took > 1000)
        fail_msg("waiter returned %lld ms after resuming", (long long)took);
    print_message("%s: waiter returned -ENOTRECOVERABLE %lld ms after resuming "
                  "(its pop took %lld ms of 5000)\n",
                  refused ? "refused repair" : "mutex_no_consistent", (long long)took,
                  (long long)w.out->ms);
    t0 = ipcft_now_ms();
    assert_int_equal(ipcf_shm_queue_validate(q, 3000), -ENOTRECOVERABLE);
    assert_true(ipcft_now_ms() - t0 < 100); /* detected at once, no lock wait */
    munmap(w.out, sizeof(*w.out));
    ipcf_shm_queue_close(q);
}

static void queue_waiter_unrecoverable(void **state)
{
    waiter_meets_unrecoverable(0);
    waiter_meets_unrecoverable(1);
}

/* (b) Plain owner death with a correct repair: the blocked consumer carries
 * on. Killed after its commit, the producer never woke anyone: the waiter
 * must find the element by itself (its next re-check locks, repairs, pops).
 * Killed before its commit: rolled back, and a later push reaches the waiter. */
static void queue_waiter_owner_death(void **state)
{
    struct ipcf_shm_queue *q;
    struct ipcf_shm_queue_state st;
    struct wait_arg w;
    assert_int_equal(ipcf_shm_queue_create(NULL, 4, 64, &q), 0);
    pid_t waiter = start_waiter(&w, q, 5000);
    struct child_arg k = {.q = q, .step = "shm_mutex.push.committed", .op = 1};
    expect_killed(spawn(op_child, &k)); /* pushed id 3, died before waking anyone */
    int64_t t0 = ipcft_now_ms();
    if (reap_waiter(waiter, 7000) < 0)
        fail_msg("waiter hung after the producer died past its commit");
    if (w.out->rc != 0 || w.out->id != 3)
        fail_msg("waiter: rc %d id %llu, want 0 / 3", w.out->rc, (unsigned long long)w.out->id);
    assert_true(ipcft_now_ms() - t0 < 1000); /* its own re-check, not its timeout */
    assert_int_equal(ipcf_shm_queue_stat(q, &st, 1000), 0);
    assert_int_equal(st.repairs, 1);
    munmap(w.out, sizeof(*w.out));

    waiter = start_waiter(&w, q, 5000);
    k.step = "shm_mutex.push.published";
    expect_killed(spawn(op_child, &k)); /* rolled back by the next locker */
    push_id(q, 8);
    if (reap_waiter(waiter, 7000) < 0)
        fail_msg("waiter hung after a rolled-back push");
    if (w.out->rc != 0 || w.out->id != 8)
        fail_msg("waiter: rc %d id %llu, want 0 / 8", w.out->rc, (unsigned long long)w.out->id);
    assert_int_equal(ipcf_shm_queue_validate(q, 1000), 0);
    uint64_t none[1] = {0};
    expect_contents(q, none, 0);
    munmap(w.out, sizeof(*w.out));
    ipcf_shm_queue_close(q);
}

/* A LIVE process keeps the mutex for 2 s while a consumer waits in pop(300):
 * the consumer's re-lock after its sleep is bounded too, so it returns
 * -IPCF_ETIMEDOUT near 300 ms (glibc's pthread_cond_timedwait would return
 * only when the holder unlocks). */
static void stall_hook(const char *step)
{
    if (!strcmp(step, "shm_mutex.push.locked"))
        usleep(2000 * 1000);
}

static int stalling_pusher(void *argp)
{
    struct child_arg *a = argp;
    unsigned char b[64];
    ipcf_step_set_hook(stall_hook);
    return ipcf_shm_queue_push(a->q, b, elem_make(b, 4), 1000) == 0 ? 0 : 1;
}

static void queue_waiter_live_holder_bounded(void **state)
{
    struct ipcf_shm_queue *q;
    struct wait_arg w;
    assert_int_equal(ipcf_shm_queue_create(NULL, 4, 64, &q), 0);
    pid_t waiter = start_waiter(&w, q, 300);
    struct child_arg h = {.q = q};
    pid_t holder = spawn(stalling_pusher, &h);
    if (reap_waiter(waiter, 5000) < 0)
        fail_msg("waiter hung behind a live holder");
    if (w.out->rc != -IPCF_ETIMEDOUT || w.out->ms > 1000)
        fail_msg("waiter: %d after %lld ms, want -IPCF_ETIMEDOUT within ~300 ms", w.out->rc,
                 (long long)w.out->ms);
    print_message("live holder: pop(300) returned -IPCF_ETIMEDOUT after %lld ms\n",
                  (long long)w.out->ms);
    ipcft_expect_exit0(holder, 5000);
    uint64_t want[1] = {4};
    expect_contents(q, want, 1);
    munmap(w.out, sizeof(*w.out));
    ipcf_shm_queue_close(q);
}

/* ---- planted bugs -------------------------------------------------------- */

static void queue_bug_no_repair(void **state)
{
    int failures = 0;
    assert_int_equal(ipcf_bugs_set("mutex_no_repair"), 0);
    for (size_t i = 0; i < NSTEPS(push_steps); i++)
        failures += kill_and_recover(push_steps[i], 1, 0) < 0;
    for (size_t i = 0; i < NSTEPS(pop_steps); i++)
        failures += kill_and_recover(pop_steps[i], 2, 0) < 0;
    assert_int_equal(ipcf_bugs_set(""), 0);
    if (failures == 0)
        fail_msg("mutex_no_repair: every recovery still looked correct");
}

static void queue_bug_no_consistent(void **state)
{
    for (int bug = 0; bug < 2; bug++) {
        struct ipcf_shm_queue *q;
        unsigned char b[64];
        size_t len;
        assert_int_equal(ipcf_shm_queue_create(NULL, 4, 64, &q), 0);
        push_id(q, 1);
        struct child_arg a = {.q = q, .step = "shm_mutex.push.logged", .op = 1};
        expect_killed(spawn(op_child, &a));
        assert_int_equal(ipcf_bugs_set(bug ? "mutex_no_consistent" : ""), 0);
        assert_int_equal(ipcf_shm_queue_validate(q, 2000), 0); /* the repairing locker */
        int rc = ipcf_shm_queue_pop(q, b, sizeof(b), &len, 0);
        assert_int_equal(ipcf_bugs_set(""), 0);
        ipcf_shm_queue_close(q);
        if (!bug)
            assert_int_equal(rc, 0);
        else if (rc != -ENOTRECOVERABLE)
            fail_msg("mutex_no_consistent: next locker got %d, not ENOTRECOVERABLE", rc);
    }
}

/* mutex_unbounded_wait: waiters sleep without a timeout and the refusal does
 * not wake them. The consumer blocked in pop(1 s) when the repair is refused
 * never returns: the test's bounded wait must kill it (the hang is caught).
 * The same sequence without the bug returns -ENOTRECOVERABLE promptly
 * (queue_waiter_unrecoverable). */
static void queue_bug_unbounded_wait(void **state)
{
    struct ipcf_shm_queue *q;
    struct wait_arg w;
    unsigned char b[64];
    size_t size;
    assert_int_equal(ipcf_shm_queue_create(NULL, 4, 64, &q), 0);
    assert_int_equal(ipcf_bugs_set("mutex_unbounded_wait"), 0);
    pid_t waiter = start_waiter(&w, q, 1000);
    struct child_arg k = {.q = q, .step = "shm_mutex.push.logged", .op = 1};
    expect_killed(spawn(op_child, &k));
    unsigned char *m = ipcf_shm_queue_mem(q, &size);
    ((struct ipcf_shm_queue_undo *)(m + IPCF_QUEUE_OFF_UNDO))->op = 99;
    int rc = ipcf_shm_queue_push(q, b, elem_make(b, 5), 0);
    int hung = reap_waiter(waiter, 2500) == -ETIMEDOUT;
    assert_int_equal(ipcf_bugs_set(""), 0);
    munmap(w.out, sizeof(*w.out));
    ipcf_shm_queue_close(q);
    assert_int_equal(rc, -ENOTRECOVERABLE);
    if (!hung)
        fail_msg("mutex_unbounded_wait: the waiter still returned in time");
}

static void queue_bug_no_unlink(void **state)
{
    struct ipcf_shm_queue *q;
    char name[IPCF_QUEUE_MAX_CAPACITY > 0 ? 128 : 1];
    assert_int_equal(ipcf_bugs_set("mutex_no_unlink"), 0);
    assert_int_equal(ipcf_shm_queue_create("queue-unlink", 2, 16, &q), 0);
    snprintf(name, sizeof(name), "%s", ipcf_shm_queue_name(q));
    ipcf_shm_queue_close(q);
    int left = ipcft_count_run_names();
    assert_int_equal(ipcf_bugs_set(""), 0);
    shm_unlink(name);
    assert_int_equal(left, 1);
}

/* ---- pure repair/validate and the fuzz entry ----------------------------- */

static void queue_repair_mem_cases(void **state)
{
    size_t size = ipcf_shm_queue_layout_size(4, 32);
    unsigned char *m = aligned_alloc(64, size);
    assert_non_null(m);
    assert_int_equal(ipcf_shm_queue_format(m, size, 4, 32), 0);
    memset(m + IPCF_QUEUE_OFF_SLOTS, 0, size - IPCF_QUEUE_OFF_SLOTS);
    struct ipcf_shm_queue_state *st = (void *)(m + IPCF_QUEUE_OFF_STATE);
    struct ipcf_shm_queue_undo *u = (void *)(m + IPCF_QUEUE_OFF_UNDO);
    assert_int_equal(ipcf_shm_queue_validate_mem(m, size), 0);
    assert_int_equal(ipcf_shm_queue_validate_mem(m, size - 1), -IPCF_ESHRUNK);
    /* a push that published but did not commit: rolled back */
    st->head = 0;
    st->tail = 1;
    *u = (struct ipcf_shm_queue_undo){.op = IPCF_QUEUE_OP_PUSH, .old_head = 0, .old_tail = 0};
    assert_int_equal(ipcf_shm_queue_validate_mem(m, size), -IPCF_ECORRUPT); /* in flight */
    assert_int_equal(ipcf_shm_queue_repair_mem(m, size), 0);
    assert_int_equal(st->tail, 0);
    assert_int_equal(u->op, IPCF_QUEUE_OP_NONE);
    assert_int_equal(ipcf_shm_queue_validate_mem(m, size), 0);
    /* a record that contradicts the state is refused, the image untouched */
    st->tail = 3;
    *u = (struct ipcf_shm_queue_undo){.op = IPCF_QUEUE_OP_PUSH, .old_head = 0, .old_tail = 0};
    assert_int_equal(ipcf_shm_queue_repair_mem(m, size), -IPCF_ECORRUPT);
    assert_int_equal(st->tail, 3);
    u->op = 7;
    assert_int_equal(ipcf_shm_queue_repair_mem(m, size), -IPCF_ECORRUPT);
    /* pop on an empty queue cannot have happened */
    st->head = st->tail = 2;
    *u = (struct ipcf_shm_queue_undo){.op = IPCF_QUEUE_OP_POP, .old_head = 2, .old_tail = 2};
    assert_int_equal(ipcf_shm_queue_repair_mem(m, size), -IPCF_ECORRUPT);
    free(m);
}

static void queue_fuzz_entry(void **state)
{
    unsigned seed = 99;
    unsigned char in[40 + 8 * 48];
    for (int iter = 0; iter < 800; iter++) {
        for (size_t i = 0; i < sizeof(in); i++)
            in[i] = (unsigned char)rand_r(&seed);
        if (iter % 2 == 0) { /* plausible state + record so the repair path runs */
            uint64_t h = rand_r(&seed) % 20, n = rand_r(&seed) % 9, t = h + n;
            uint32_t op = rand_r(&seed) % 4;
            uint64_t oh = h - (op == 2 && h && rand_r(&seed) % 2);
            uint64_t ot = t - (op == 1 && t > h && rand_r(&seed) % 2);
            memcpy(in, &h, 8);
            memcpy(in + 8, &t, 8);
            memcpy(in + 16, &op, 4);
            memcpy(in + 24, &oh, 8);
            memcpy(in + 32, &ot, 8);
            if (iter % 4 == 0)
                memset(in + 40, 0, sizeof(in) - 40);
        }
        assert_int_equal(ipcf_fuzz_queue_repair_one(in, sizeof(in) - (size_t)(iter % 7) * 20), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(queue_basic),
        cmocka_unit_test(queue_attach_truncated),
        cmocka_unit_test(queue_repair_mem_cases),
        cmocka_unit_test(queue_many_processes),
        cmocka_unit_test(queue_owner_killed_every_push_step),
        cmocka_unit_test(queue_owner_killed_every_pop_step),
        cmocka_unit_test(queue_repairer_killed_idempotent),
        cmocka_unit_test(queue_enotrecoverable),
        cmocka_unit_test(queue_waiter_not_stranded),
        cmocka_unit_test(queue_waiter_unrecoverable),
        cmocka_unit_test(queue_waiter_owner_death),
        cmocka_unit_test(queue_waiter_live_holder_bounded),
        cmocka_unit_test(queue_fuzz_entry),
        cmocka_unit_test(queue_bug_no_repair),
        cmocka_unit_test(queue_bug_no_consistent),
        cmocka_unit_test(queue_bug_unbounded_wait),
        cmocka_unit_test(queue_bug_no_unlink),
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
