/* ledger.c — the run's ledger in an anonymous shared mapping (see ipcfuzz/ledger.h).
 *
 * Layout of the mapping:
 *
 *   struct ipcf_ledger  header: magic, version, capacity, next, overflowed
 *   struct slot[capacity]
 *
 * Publication protocol (a writer may be SIGKILLed at any instruction):
 *
 *   1. idx = atomic_fetch_add(&next, 1)            reserve a slot (relaxed)
 *   2. idx >= capacity: atomic_fetch_add(&overflowed, 1); refuse (-ENOSPC)
 *   3. fill slots[idx].rec and slots[idx].check    plain stores
 *   4. atomic_store(&slots[idx].state, TAG ^ idx, memory_order_release)
 *
 * A reader loads `state` with memory_order_acquire; if it equals TAG ^ idx,
 * the release/acquire pair guarantees every store of step 3 is visible, so the
 * record is complete. A writer killed before step 4 leaves state == 0: the
 * slot stays a "hole" (reserved, never published) and no reader ever looks at
 * its half-written contents. Step 4 is a single aligned 64-bit store, so it
 * happens entirely or not at all. Step 1 may be relaxed: the counter only
 * hands out exclusive slot ownership; it orders nothing else.
 *
 * The state word is TAG ^ idx rather than a plain 1 so that a stray write into
 * the ledger (a buggy peer scribbling shared memory) is very unlikely to look
 * published; the per-record checksum `check` catches a scribble over a
 * published record. ipcf_ledger_validate() checks both.
 *
 * Cross-process atomics on a MAP_SHARED anonymous mapping are ordinary
 * lock-free C11 atomics (same physical memory); 64-bit atomics are lock-free
 * on every Linux target we build for (checked by a static assertion).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ipcfuzz/bugs.h"
#include "ipcfuzz/ledger.h"
#include "ledger_internal.h"

IPCF_BUG_DEFINE(ledger_publish_early, "ledger publishes a slot before its record is written");

void (*ipcf__ledger_test_hook)(uint64_t idx);

#define LEDGER_MAGIC   UINT64_C(0x4950434647444c31) /* "IPCFGDL1" */
#define LEDGER_VERSION 1u
#define SLOT_TAG       UINT64_C(0x9e3779b97f4a7c15)

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "the ledger needs lock-free 64-bit atomics");

struct slot {
    _Atomic uint64_t state; /* 0 = not published; SLOT_TAG ^ idx = published */
    uint64_t check;         /* record_check(&rec) */
    struct ipcf_ledger_record rec;
};

struct ipcf_ledger {
    uint64_t magic;
    uint32_t version;
    uint32_t capacity;
    uint64_t map_len;
    _Atomic uint64_t next;       /* reservations handed out (may exceed capacity) */
    _Atomic uint64_t overflowed; /* reservations refused for lack of capacity */
    unsigned char pad[64 - 40];
    struct slot slots[];
};

_Static_assert(sizeof(struct ipcf_ledger) == 64, "ledger header is one cache line");

/* Process-global attachment (inherited across fork). The pid is cached (a
 * getpid() system call per record would dominate the append cost) and
 * forgotten in every fork child by an atfork handler. */
static struct ipcf_ledger *g_ledger;
static uint32_t g_peer;
static _Atomic pid_t g_pid;
static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;

static void forget_pid(void)
{
    atomic_store_explicit(&g_pid, 0, memory_order_relaxed);
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, forget_pid);
}

uint64_t ipcf_ledger_hash(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a 64 offset basis */
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3); /* FNV-1a 64 prime */
    }
    /* Mix in the length (so "" and "\0" differ) and avalanche (splitmix64's
     * finaliser), so a one-bit flip changes about half the output bits. */
    h ^= (uint64_t)len * UINT64_C(0x9e3779b97f4a7c15);
    h ^= h >> 30;
    h *= UINT64_C(0xbf58476d1ce4e5b9);
    h ^= h >> 27;
    h *= UINT64_C(0x94d049bb133111eb);
    h ^= h >> 31;
    return h;
}

static uint64_t record_check(const struct ipcf_ledger_record *r)
{
    return ipcf_ledger_hash(r, sizeof(*r)) ^ UINT64_C(0x5bd1e9955bd1e995);
}

static size_t map_len_for(size_t capacity)
{
    size_t len = sizeof(struct ipcf_ledger) + capacity * sizeof(struct slot);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return (len + page - 1) / page * page;
}

int ipcf_ledger_create(struct ipcf_ledger **out, size_t capacity)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (capacity == 0)
        capacity = IPCF_LEDGER_DEFAULT_CAPACITY;
    if (capacity > IPCF_LEDGER_MAX_CAPACITY)
        return -EINVAL;
    size_t len = map_len_for(capacity);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -ENOMEM;
    struct ipcf_ledger *l = p; /* fresh anonymous memory is zero: every slot unpublished */
    l->magic = LEDGER_MAGIC;
    l->version = LEDGER_VERSION;
    l->capacity = (uint32_t)capacity;
    l->map_len = len;
    atomic_init(&l->next, 0);
    atomic_init(&l->overflowed, 0);
    *out = l;
    return 0;
}

void ipcf_ledger_destroy(struct ipcf_ledger *l)
{
    if (!l)
        return;
    if (g_ledger == l)
        g_ledger = NULL;
    munmap(l, (size_t)l->map_len);
}

void ipcf_ledger_attach(struct ipcf_ledger *l, uint32_t peer)
{
    pthread_once(&g_atfork_once, register_atfork);
    atomic_store_explicit(&g_pid, 0, memory_order_relaxed);
    g_ledger = l;
    g_peer = peer;
}

struct ipcf_ledger *ipcf_ledger_current(void)
{
    return g_ledger;
}

size_t ipcf_ledger_capacity(const struct ipcf_ledger *l)
{
    return l->capacity;
}

uint64_t ipcf_ledger_overflowed(const struct ipcf_ledger *l)
{
    return atomic_load_explicit(&((struct ipcf_ledger *)l)->overflowed, memory_order_relaxed);
}

static int kind_valid(unsigned kind, unsigned note)
{
    if (kind == IPCF_LREC_NOTE)
        return note >= IPCF_NOTE_STARTED && note <= IPCF_NOTE_USER;
    return kind >= IPCF_LREC_BEGIN && kind <= IPCF_LREC_RECEIVED && note == 0;
}

int ipcf_ledger_append(struct ipcf_ledger *l, enum ipcf_ledger_kind kind,
                       enum ipcf_ledger_note note, uint32_t peer, pid_t pid, uint32_t stream,
                       uint64_t seq, uint64_t hash, size_t len)
{
    if (!l || !kind_valid((unsigned)kind, (unsigned)note))
        return -EINVAL;
    /* 1. reserve */
    uint64_t idx = atomic_fetch_add_explicit(&l->next, 1, memory_order_relaxed);
    if (idx >= l->capacity) {
        /* 2. refuse, loudly */
        atomic_fetch_add_explicit(&l->overflowed, 1, memory_order_relaxed);
        return -ENOSPC;
    }
    /* 3. fill (the slot is ours alone; readers ignore it until step 4) */
    struct slot *s = &l->slots[idx];
    struct ipcf_ledger_record r;
    memset(&r, 0, sizeof(r)); /* padding-free, but keep the checksum input defined */
    r.index = idx;
    r.seq = seq;
    r.hash = hash;
    r.stream = stream;
    r.len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    r.peer = peer;
    r.pid = (int32_t)pid;
    r.kind = (uint16_t)kind;
    r.note = (uint16_t)note;
    if (IPCF_BUG(ledger_publish_early))
        atomic_store_explicit(&s->state, SLOT_TAG ^ idx, memory_order_release);
    /* The copy is done in two halves with the test hook between them, so a
     * test can kill a writer deterministically with a half-written record. */
    const size_t half = sizeof(r) / 2;
    memcpy((unsigned char *)&s->rec, &r, half);
    if (ipcf__ledger_test_hook)
        ipcf__ledger_test_hook(idx);
    memcpy((unsigned char *)&s->rec + half, (const unsigned char *)&r + half, sizeof(r) - half);
    s->check = record_check(&r);
    /* 4. publish: release orders the stores of step 3 before the state */
    atomic_store_explicit(&s->state, SLOT_TAG ^ idx, memory_order_release);
    return 0;
}

static int peer_append(enum ipcf_ledger_kind kind, enum ipcf_ledger_note note, uint32_t stream,
                       uint64_t seq, const void *data, size_t len)
{
    struct ipcf_ledger *l = g_ledger;
    if (!l)
        return 0;
    uint64_t h = kind == IPCF_LREC_NOTE ? 0 : ipcf_ledger_hash(data, len);
    pid_t pid = atomic_load_explicit(&g_pid, memory_order_relaxed);
    if (pid == 0) {
        pid = getpid();
        atomic_store_explicit(&g_pid, pid, memory_order_relaxed);
    }
    return ipcf_ledger_append(l, kind, note, g_peer, pid, stream, seq, h,
                              kind == IPCF_LREC_NOTE ? 0 : len);
}

int ipcf_ledger_send_begin(uint32_t stream, uint64_t seq, const void *data, size_t len)
{
    return peer_append(IPCF_LREC_BEGIN, IPCF_NOTE_NONE, stream, seq, data, len);
}

int ipcf_ledger_sent(uint32_t stream, uint64_t seq, const void *data, size_t len)
{
    return peer_append(IPCF_LREC_SENT, IPCF_NOTE_NONE, stream, seq, data, len);
}

int ipcf_ledger_received(uint32_t stream, uint64_t seq, const void *data, size_t len)
{
    return peer_append(IPCF_LREC_RECEIVED, IPCF_NOTE_NONE, stream, seq, data, len);
}

int ipcf_ledger_note(enum ipcf_ledger_note note, int64_t value)
{
    if (note < IPCF_NOTE_STARTED || note > IPCF_NOTE_USER)
        return -EINVAL;
    return peer_append(IPCF_LREC_NOTE, note, 0, (uint64_t)value, NULL, 0);
}

void ipcf_ledger_reset(struct ipcf_ledger *l)
{
    uint64_t n = atomic_load_explicit(&l->next, memory_order_acquire);
    if (n > l->capacity)
        n = l->capacity;
    for (uint64_t i = 0; i < n; i++)
        atomic_store_explicit(&l->slots[i].state, 0, memory_order_relaxed);
    atomic_store(&l->overflowed, 0);
    atomic_store(&l->next, 0);
}

/* Read slot i. Returns 1 (published, *out filled), 0 (not published), -1
 * (state or checksum wrong: corrupt). */
static int read_slot(const struct ipcf_ledger *l, uint64_t i, struct ipcf_ledger_record *out,
                     char *detail, size_t cap)
{
    struct slot *s = (struct slot *)&l->slots[i];
    uint64_t st = atomic_load_explicit(&s->state, memory_order_acquire);
    if (st == 0)
        return 0;
    if (st != (SLOT_TAG ^ i)) {
        if (detail)
            snprintf(detail, cap, "slot %llu: bad publication word", (unsigned long long)i);
        return -1;
    }
    struct ipcf_ledger_record r = s->rec;
    if (s->check != record_check(&r)) {
        if (detail)
            snprintf(detail, cap, "slot %llu: record checksum mismatch", (unsigned long long)i);
        return -1;
    }
    if (r.index != i || !kind_valid(r.kind, r.note)) {
        if (detail)
            snprintf(detail, cap, "slot %llu: record index/kind invalid", (unsigned long long)i);
        return -1;
    }
    *out = r;
    return 1;
}

int ipcf_ledger_validate(const struct ipcf_ledger *l, char *detail, size_t cap)
{
    if (detail && cap)
        detail[0] = '\0';
#define BAD(...)                                                                                   \
    do {                                                                                           \
        if (detail)                                                                                \
            snprintf(detail, cap, __VA_ARGS__);                                                    \
        return -IPCF_ECORRUPT;                                                                     \
    } while (0)
    if (!l)
        BAD("no ledger");
    if (l->magic != LEDGER_MAGIC || l->version != LEDGER_VERSION)
        BAD("header magic/version wrong");
    if (l->capacity == 0 || l->capacity > IPCF_LEDGER_MAX_CAPACITY ||
        l->map_len != map_len_for(l->capacity))
        BAD("header capacity/length wrong");
    struct ipcf_ledger *m = (struct ipcf_ledger *)l;
    /* overflowed is incremented after next, so it can lag, never lead. */
    uint64_t ov = atomic_load_explicit(&m->overflowed, memory_order_acquire);
    uint64_t next = atomic_load_explicit(&m->next, memory_order_acquire);
    uint64_t excess = next > l->capacity ? next - l->capacity : 0;
    if (ov > excess)
        BAD("overflow count %llu exceeds reservations past capacity %llu", (unsigned long long)ov,
            (unsigned long long)excess);
    uint64_t n = next < l->capacity ? next : l->capacity;
    for (uint64_t i = 0; i < l->capacity; i++) {
        struct ipcf_ledger_record r;
        if (i >= n) {
            /* Beyond the reservations we loaded. A writer may have reserved
             * and published since; only a bad word is corrupt. */
            uint64_t st = atomic_load_explicit(&m->slots[i].state, memory_order_acquire);
            if (st != 0 && st != (SLOT_TAG ^ i))
                BAD("slot %llu: bad publication word", (unsigned long long)i);
            if (i >= n + 1024)
                break; /* racing writers cannot get far; keep validate O(reserved) */
            continue;
        }
        if (read_slot(l, i, &r, detail, cap) < 0)
            return -IPCF_ECORRUPT;
    }
#undef BAD
    return 0;
}

int ipcf_ledger_snapshot_take(const struct ipcf_ledger *l, struct ipcf_ledger_snapshot *out)
{
    memset(out, 0, sizeof(*out));
    struct ipcf_ledger *m = (struct ipcf_ledger *)l;
    uint64_t next = atomic_load_explicit(&m->next, memory_order_acquire);
    uint64_t n = next < l->capacity ? next : l->capacity;
    out->capacity = l->capacity;
    out->reserved = n;
    out->overflowed = atomic_load_explicit(&m->overflowed, memory_order_acquire);
    if (n == 0)
        return 0;
    out->records = calloc((size_t)n, sizeof(*out->records));
    if (!out->records)
        return -ENOMEM;
    for (uint64_t i = 0; i < n; i++) {
        int rc = read_slot(l, i, &out->records[out->n], NULL, 0);
        if (rc > 0)
            out->n++;
        else if (rc == 0)
            out->holes++;
        else
            out->corrupt = 1;
    }
    return 0;
}

int ipcf_ledger_snapshot_from(const struct ipcf_ledger_record *recs, size_t n,
                              struct ipcf_ledger_snapshot *out)
{
    memset(out, 0, sizeof(*out));
    if (n) {
        out->records = calloc(n, sizeof(*recs));
        if (!out->records)
            return -ENOMEM;
        memcpy(out->records, recs, n * sizeof(*recs));
    }
    for (size_t i = 0; i < n; i++)
        out->records[i].index = i;
    out->n = n;
    out->capacity = n;
    out->reserved = n;
    return 0;
}

void ipcf_ledger_snapshot_free(struct ipcf_ledger_snapshot *s)
{
    if (!s)
        return;
    free(s->records);
    memset(s, 0, sizeof(*s));
}

const char *ipcf_ledger_kind_name(enum ipcf_ledger_kind kind)
{
    switch (kind) {
    case IPCF_LREC_BEGIN:
        return "begin";
    case IPCF_LREC_SENT:
        return "sent";
    case IPCF_LREC_RECEIVED:
        return "received";
    case IPCF_LREC_NOTE:
        return "note";
    default:
        return "none";
    }
}

const char *ipcf_ledger_note_name(enum ipcf_ledger_note note)
{
    switch (note) {
    case IPCF_NOTE_STARTED:
        return "started";
    case IPCF_NOTE_RESTARTED:
        return "restarted";
    case IPCF_NOTE_KILLED_BY_PLAN:
        return "killed-by-plan";
    case IPCF_NOTE_EXITED:
        return "exited";
    case IPCF_NOTE_SIGNALED:
        return "signaled";
    case IPCF_NOTE_HUNG:
        return "hung";
    case IPCF_NOTE_USER:
        return "user";
    default:
        return "none";
    }
}
