/* oracle.c — judge one run: ledger + declared semantics + observed facts ->
 * findings (see oracle.h; the same rules in prose are in docs/oracle.md).
 *
 * Vocabulary, per (stream, seq):
 *   attempt     a BEGIN record by some pid
 *   committed   at least one SENT record exists
 *   in doubt    some attempt has no later SENT by the same pid (its sender
 *               died, or gave up, between begin and sent)
 *   versions    the hashes of every BEGIN and SENT of the seq
 *
 * Decision table for each RECEIVED record r = (stream, seq, hash), taken in
 * ledger order:
 *
 *   seq known? | hash in versions? | seq in doubt? | earlier valid delivery? | verdict
 *   -----------+-------------------+---------------+-------------------------+-----------------
 *   yes        | yes               | any           | no                      | ok (first delivery)
 *   yes        | yes               | any           | yes, exactly-once       | duplicated
 *   yes        | yes               | any           | yes, at-least-once      | ok
 *   yes        | no                | yes           | -                       | torn-frame-delivered
 *   yes        | no                | no            | -                       | corrupted
 *   no         | -                 | stream has an in-doubt seq               |
 * torn-frame-delivered no         | -                 | stream has no in-doubt seq               |
 * corrupted
 *
 *   ("known" = at least one BEGIN or SENT. A torn frame is bytes of a send
 *   that never completed; when its header is damaged the receiver may even
 *   report a seq nobody sent, hence the last two rows.)
 *   corrupted/torn are excused only when the plan contains corrupt= and the
 *   stream declares detects_corruption = false (the receiver cannot tell).
 *
 * Order (ordered streams): per receiving peer (all its incarnations), the
 * first valid deliveries must have increasing seq; a first delivery of a seq
 * lower than one that peer already delivered is reordered. In-doubt messages
 * are included: if they arrive, they arrive in order.
 *
 * Loss: every committed seq with no valid delivery is lost, unless excused
 * by the END of a peer incarnation at ledger position D. Ends that count: an
 * abnormal death (killed by plan, unscheduled signal, hang) and, under a
 * destructive plan only, a graceful failure (exit status != 0: the peer gave
 * up after a hard error). A receiver's end excuses only seqs it had not
 * passed: on an ordered stream a seq lower than one that same process
 * delivered was skipped, not pending in the channel, and stays lost.
 *   - the receiver was never restarted and the stream has no other receiver:
 *     every lost seq is excused (nobody is left to receive; also seqs sent
 *     after D);
 *   - else, for seqs first begun before D: all if !survives_receiver_death
 *     (the channel died with it), else at most receiver_in_hand of them per
 *     end, lowest seq first (taken off the channel, not yet recorded);
 *   - a sender's end excuses seqs begun before D only if
 *     !survives_sender_death: what a sender committed before it died or gave
 *     up must still arrive when the channel survives it (only in-doubt seqs
 *     may be missing, and those are never lost).
 * In-doubt seqs never delivered are fine (they may or may not arrive).
 *
 * Process findings, from the facts: unscheduled signal -> crash, watchdog ->
 * hang, sanitizer output -> sanitizer, failed restart -> recovery-failed,
 * check failed -> invariant, non-zero exit under a plan without destructive
 * faults -> exit; names audit -> leaked-name, fd audit -> leaked-fd.
 * The ledger itself: overflow, a corrupt slot, or more unpublished slots than
 * processes that died abnormally -> ledger (the run cannot be judged fully).
 *
 * Findings are emitted most severe first: ledger, crash, sanitizer, hang,
 * recovery-failed, invariant, exit, torn, corrupted, lost, duplicated,
 * reordered, leaked-name, leaked-fd.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle.h"

static const char *const verdict_names[IPCF_VERDICT_COUNT] = {
    [IPCF_VERDICT_OK] = "ok",
    [IPCF_VERDICT_LOST] = "lost",
    [IPCF_VERDICT_DUPLICATED] = "duplicated",
    [IPCF_VERDICT_CORRUPTED] = "corrupted",
    [IPCF_VERDICT_REORDERED] = "reordered",
    [IPCF_VERDICT_TORN] = "torn-frame-delivered",
    [IPCF_VERDICT_HANG] = "hang",
    [IPCF_VERDICT_CRASH] = "crash",
    [IPCF_VERDICT_SANITIZER] = "sanitizer",
    [IPCF_VERDICT_LEAKED_NAME] = "leaked-name",
    [IPCF_VERDICT_LEAKED_FD] = "leaked-fd",
    [IPCF_VERDICT_INVARIANT] = "invariant",
    [IPCF_VERDICT_RECOVERY_FAILED] = "recovery-failed",
    [IPCF_VERDICT_EXIT] = "exit",
    [IPCF_VERDICT_LEDGER] = "ledger",
};

const char *ipcf_verdict_name(enum ipcf_verdict v)
{
    if ((unsigned)v >= IPCF_VERDICT_COUNT)
        return "unknown";
    return verdict_names[v];
}

int ipcf_verdict_parse(const char *name, enum ipcf_verdict *out)
{
    if (!name)
        return -EINVAL;
    for (unsigned i = 0; i < IPCF_VERDICT_COUNT; i++)
        if (strcmp(name, verdict_names[i]) == 0) {
            *out = (enum ipcf_verdict)i;
            return 0;
        }
    return -EINVAL;
}

/* ---- fault classes ---------------------------------------------------------- */

ipcf_kind_mask ipcf_action_kinds(const struct ipcf_action *a)
{
    if (!a || a->kind == IPCF_ACT_NONE || (unsigned)a->kind >= 20)
        return 0;
    ipcf_kind_mask m = 1u << a->kind;
    if (a->kind == IPCF_ACT_ERROR && a->value != EINTR && a->value != EAGAIN &&
        a->value != EWOULDBLOCK)
        m |= IPCF_KIND_ERROR_HARD;
    if (a->kind == IPCF_ACT_SIGNAL && (a->value == SIGKILL || a->value == SIGSTOP))
        m |= IPCF_KIND_SIGNAL_FATAL;
    return m;
}

ipcf_kind_mask ipcf_plan_kinds(const struct ipcf_plan *plan)
{
    ipcf_kind_mask m = 0;
    if (!plan)
        return 0;
    for (size_t i = 0; i < plan->nrules; i++) {
        const struct ipcf_rule *r = &plan->rules[i];
        for (unsigned j = 0; j < r->nactions && j < IPCF_RULE_ACTIONS; j++)
            m |= ipcf_action_kinds(&r->actions[j]);
    }
    return m;
}

enum ipcf_fault_class ipcf_fault_class_of(ipcf_kind_mask k)
{
    const ipcf_kind_mask destructive = (1u << IPCF_ACT_RETVAL) | (1u << IPCF_ACT_CORRUPT) |
                                       (1u << IPCF_ACT_KILL_BEFORE) | (1u << IPCF_ACT_KILL_AFTER) |
                                       (1u << IPCF_ACT_SHRINK) | IPCF_KIND_ERROR_HARD |
                                       IPCF_KIND_SIGNAL_FATAL;
    if (k & destructive)
        return IPCF_FAULTS_DESTRUCTIVE;
    if (k & ((1u << 20) - 1) & ~1u)
        return IPCF_FAULTS_TRANSPARENT;
    return IPCF_FAULTS_NONE;
}

const char *ipcf_fault_class_name(enum ipcf_fault_class c)
{
    switch (c) {
    case IPCF_FAULTS_TRANSPARENT:
        return "transparent";
    case IPCF_FAULTS_DESTRUCTIVE:
        return "destructive";
    default:
        return "none";
    }
}

int ipcf_kinds_label(ipcf_kind_mask k, char *buf, size_t cap)
{
    static const struct {
        enum ipcf_action_kind kind;
        const char *name;
    } names[] = {
        {IPCF_ACT_ERROR, NULL},        {IPCF_ACT_RETVAL, "retval"}, {IPCF_ACT_SHORT, "short"},
        {IPCF_ACT_CORRUPT, "corrupt"}, {IPCF_ACT_SIGNAL, "signal"}, {IPCF_ACT_KILL_BEFORE, "kill"},
        {IPCF_ACT_SHRINK, "shrink"},   {IPCF_ACT_DELAY, "delay"},
    };
    /* kill=before and kill=after share one label */
    if (k & (1u << IPCF_ACT_KILL_AFTER))
        k |= 1u << IPCF_ACT_KILL_BEFORE;
    size_t len = 0;
    int any = 0;
    if (cap)
        buf[0] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(k & (1u << names[i].kind)))
            continue;
        const char *n = names[i].name;
        if (!n)
            n = (k & IPCF_KIND_ERROR_HARD) ? "error" : "eintr";
        int w = snprintf(len < cap ? buf + len : NULL, len < cap ? cap - len : 0, "%s%s",
                         any ? "+" : "", n);
        len += (size_t)w;
        any = 1;
    }
    if (!any) {
        int w = snprintf(buf, cap, "none");
        len = (size_t)w;
    }
    return (int)len;
}

/* ---- semantics, findings ------------------------------------------------------ */

void ipcf_semantics_default(struct ipcf_semantics *s, uint32_t stream)
{
    memset(s, 0, sizeof(*s));
    s->stream = stream;
    s->ordered = true;
    s->delivery = IPCF_EXACTLY_ONCE;
    s->survives_receiver_death = true;
    s->receiver_in_hand = 1;
    s->survives_sender_death = true;
    s->detects_corruption = true;
    s->receiver_peer = -1;
}

void ipcf_findings_init(struct ipcf_findings *f)
{
    memset(f, 0, sizeof(*f));
}

void ipcf_findings_free(struct ipcf_findings *f)
{
    if (!f)
        return;
    free(f->v);
    memset(f, 0, sizeof(*f));
}

int ipcf_findings_add(struct ipcf_findings *f, enum ipcf_verdict v, uint32_t stream, uint64_t seq,
                      int32_t peer, pid_t pid, const char *fmt, ...)
{
    if (f->n >= IPCF_FINDINGS_MAX) {
        f->dropped++;
        return 0;
    }
    if (f->n == f->cap) {
        size_t ncap = f->cap ? f->cap * 2 : 8;
        struct ipcf_finding *nv = realloc(f->v, ncap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        f->v = nv;
        f->cap = ncap;
    }
    struct ipcf_finding *x = &f->v[f->n++];
    memset(x, 0, sizeof(*x));
    x->verdict = v;
    x->stream = stream;
    x->seq = seq;
    x->peer = peer;
    x->pid = pid;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->detail, sizeof(x->detail), fmt, ap);
    va_end(ap);
    return 0;
}

enum ipcf_verdict ipcf_findings_verdict(const struct ipcf_findings *f)
{
    return f && f->n ? f->v[0].verdict : IPCF_VERDICT_OK;
}

int ipcf_findings_verdicts(const struct ipcf_findings *f, char *buf, size_t cap)
{
    uint32_t seen = 0;
    size_t len = 0;
    if (cap)
        buf[0] = '\0';
    for (size_t i = 0; f && i < f->n; i++) {
        unsigned v = (unsigned)f->v[i].verdict;
        if (v >= IPCF_VERDICT_COUNT || (seen & (1u << v)))
            continue;
        seen |= 1u << v;
        int w = snprintf(len < cap ? buf + len : NULL, len < cap ? cap - len : 0, "%s%s",
                         len ? "," : "", verdict_names[v]);
        len += (size_t)w;
    }
    if (!len)
        len = (size_t)snprintf(buf, cap, "ok");
    return (int)len;
}

/* ---- the judge ------------------------------------------------------------------ */

/* classification of each RECEIVED record */
enum rclass { RC_NONE = 0, RC_FIRST, RC_DUP_OK, RC_DUP, RC_CORRUPT, RC_TORN };

struct death {
    uint32_t peer;
    pid_t pid;
    uint64_t at;   /* ledger position of the death */
    int restarted; /* a later incarnation of the peer exists */
};

struct stream_info {
    uint32_t stream;
    struct ipcf_semantics sem;
    int has_in_doubt;
    uint32_t *receivers; /* peer ids that recorded a receive */
    size_t nreceivers;
    uint32_t *senders; /* peer ids that recorded begin/sent */
    size_t nsenders;
};

struct lost_msg {
    uint32_t stream;
    uint64_t seq;
    uint64_t first_begin; /* index of the first BEGIN/SENT */
    uint32_t sender;
    pid_t sender_pid;
    int excused;
};

struct judge {
    const struct ipcf_ledger_snapshot *snap;
    const struct ipcf_run_facts *facts;
    struct ipcf_findings *out;
    int added;
    struct stream_info *streams;
    size_t nstreams;
    struct death *deaths;
    size_t ndeaths;
    struct lost_msg *lost;
    size_t nlost, lost_cap;
    unsigned char *rcls; /* per snapshot record */
    size_t *order;       /* message records sorted by (stream, seq, index) */
    size_t norder;
};

static const char *peer_name(const struct ipcf_run_facts *f, int64_t peer, char *tmp, size_t cap)
{
    if (peer >= 0 && f->peer_names && (size_t)peer < f->npeer_names && f->peer_names[peer])
        return f->peer_names[peer];
    snprintf(tmp, cap, "peer %lld", (long long)peer);
    return tmp;
}

#define ADD(j, ...)                                                                                \
    do {                                                                                           \
        int add_rc_ = ipcf_findings_add((j)->out, __VA_ARGS__);                                    \
        if (add_rc_ < 0)                                                                           \
            return add_rc_;                                                                        \
        (j)->added++;                                                                              \
    } while (0)

static int u32_add_unique(uint32_t **v, size_t *n, uint32_t x)
{
    for (size_t i = 0; i < *n; i++)
        if ((*v)[i] == x)
            return 0;
    uint32_t *nv = realloc(*v, (*n + 1) * sizeof(**v));
    if (!nv)
        return -ENOMEM;
    nv[(*n)++] = x;
    *v = nv;
    return 0;
}

static int u32_has(const uint32_t *v, size_t n, uint32_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return 1;
    return 0;
}

static struct stream_info *stream_get(struct judge *j, uint32_t stream,
                                      const struct ipcf_semantics *sem, size_t nsem, int *err)
{
    for (size_t i = 0; i < j->nstreams; i++)
        if (j->streams[i].stream == stream)
            return &j->streams[i];
    struct stream_info *nv = realloc(j->streams, (j->nstreams + 1) * sizeof(*nv));
    if (!nv) {
        *err = -ENOMEM;
        return NULL;
    }
    j->streams = nv;
    struct stream_info *s = &j->streams[j->nstreams++];
    memset(s, 0, sizeof(*s));
    s->stream = stream;
    ipcf_semantics_default(&s->sem, stream);
    for (size_t i = 0; i < nsem; i++)
        if (sem[i].stream == stream)
            s->sem = sem[i];
    return s;
}

static int cmp_msg(const void *a, const void *b, void *ctx)
{
    const struct ipcf_ledger_record *recs = ctx;
    const struct ipcf_ledger_record *x = &recs[*(const size_t *)a];
    const struct ipcf_ledger_record *y = &recs[*(const size_t *)b];
    if (x->stream != y->stream)
        return x->stream < y->stream ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    if (x->index != y->index)
        return x->index < y->index ? -1 : 1;
    return 0;
}

static int is_abnormal(enum ipcf_peer_end_kind k)
{
    return k == IPCF_END_KILLED_BY_PLAN || k == IPCF_END_SIGNALED || k == IPCF_END_HUNG;
}

/* Does end e stop the peer's part in its streams early? Abnormal deaths
 * always; a non-zero exit only under a destructive plan (a graceful failure:
 * under transparent faults it is an `exit` finding and excuses nothing). */
static int ends_early(const struct ipcf_run_facts *f, const struct ipcf_peer_end *e)
{
    if (is_abnormal(e->kind))
        return 1;
    return e->kind == IPCF_END_EXITED && e->code != 0 &&
           ipcf_fault_class_of(f->plan_kinds) == IPCF_FAULTS_DESTRUCTIVE;
}

/* Where in the ledger did end e happen? */
static uint64_t death_position(const struct judge *j, const struct ipcf_peer_end *e)
{
    if (e->ledger_at != UINT64_MAX)
        return e->ledger_at;
    const struct ipcf_ledger_snapshot *s = j->snap;
    for (size_t i = 0; s && i < s->n; i++) {
        const struct ipcf_ledger_record *r = &s->records[i];
        if (r->kind == IPCF_LREC_NOTE && r->pid == e->pid &&
            (r->note == IPCF_NOTE_KILLED_BY_PLAN || r->note == IPCF_NOTE_SIGNALED ||
             r->note == IPCF_NOTE_HUNG || r->note == IPCF_NOTE_EXITED))
            return r->index;
    }
    return UINT64_MAX;
}

static int collect_deaths(struct judge *j)
{
    const struct ipcf_run_facts *f = j->facts;
    if (!f->nends)
        return 0;
    j->deaths = calloc(f->nends, sizeof(*j->deaths));
    if (!j->deaths)
        return -ENOMEM;
    for (size_t i = 0; i < f->nends; i++) {
        const struct ipcf_peer_end *e = &f->ends[i];
        if (!ends_early(f, e))
            continue;
        struct death *d = &j->deaths[j->ndeaths++];
        d->peer = e->peer;
        d->pid = e->pid;
        d->at = death_position(j, e);
        /* restarted: another incarnation of the same peer ends later, or a
         * (re)start note of the peer by another pid lies after the death. */
        for (size_t k = 0; k < f->nends; k++)
            if (k != i && f->ends[k].peer == e->peer && f->ends[k].pid != e->pid &&
                (k > i || (f->ends[k].ledger_at != UINT64_MAX && f->ends[k].ledger_at > d->at &&
                           d->at != UINT64_MAX)))
                d->restarted = 1;
        for (size_t k = 0; j->snap && k < j->snap->n && !d->restarted; k++) {
            const struct ipcf_ledger_record *r = &j->snap->records[k];
            if (r->peer == e->peer && r->pid != e->pid && d->at != UINT64_MAX && r->index > d->at)
                d->restarted = 1;
        }
    }
    return 0;
}

static int lost_add(struct judge *j, const struct lost_msg *m)
{
    if (j->nlost == j->lost_cap) {
        size_t ncap = j->lost_cap ? j->lost_cap * 2 : 16;
        struct lost_msg *nv = realloc(j->lost, ncap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        j->lost = nv;
        j->lost_cap = ncap;
    }
    j->lost[j->nlost++] = *m;
    return 0;
}

/* Pass 1: sort message records, learn per-stream facts. */
static int index_messages(struct judge *j, const struct ipcf_semantics *sem, size_t nsem)
{
    const struct ipcf_ledger_snapshot *s = j->snap;
    int err = 0;
    j->rcls = calloc(s->n ? s->n : 1, 1);
    j->order = calloc(s->n ? s->n : 1, sizeof(*j->order));
    if (!j->rcls || !j->order)
        return -ENOMEM;
    for (size_t i = 0; i < nsem; i++)
        if (!stream_get(j, sem[i].stream, sem, nsem, &err))
            return err;
    for (size_t i = 0; i < s->n; i++) {
        const struct ipcf_ledger_record *r = &s->records[i];
        if (r->kind < IPCF_LREC_BEGIN || r->kind > IPCF_LREC_RECEIVED)
            continue;
        j->order[j->norder++] = i;
        struct stream_info *si = stream_get(j, r->stream, sem, nsem, &err);
        if (!si)
            return err;
        if (r->kind == IPCF_LREC_RECEIVED)
            err = u32_add_unique(&si->receivers, &si->nreceivers, r->peer);
        else
            err = u32_add_unique(&si->senders, &si->nsenders, r->peer);
        if (err)
            return err;
    }
    if (j->norder > 1)
        qsort_r(j->order, j->norder, sizeof(*j->order), cmp_msg, (void *)s->records);
    return 0;
}

/* Is the BEGIN at order position b (group [g0, g1)) without a later SENT by its pid? */
static int attempt_unfinished(const struct judge *j, size_t g0, size_t g1, size_t b)
{
    const struct ipcf_ledger_record *rb = &j->snap->records[j->order[b]];
    for (size_t k = g0; k < g1; k++) {
        const struct ipcf_ledger_record *r = &j->snap->records[j->order[k]];
        if (r->kind == IPCF_LREC_SENT && r->pid == rb->pid && r->index > rb->index)
            return 0;
    }
    return 1;
}

static int group_in_doubt(const struct judge *j, size_t g0, size_t g1)
{
    for (size_t k = g0; k < g1; k++)
        if (j->snap->records[j->order[k]].kind == IPCF_LREC_BEGIN &&
            attempt_unfinished(j, g0, g1, k))
            return 1;
    return 0;
}

static size_t group_end(const struct judge *j, size_t g0)
{
    const struct ipcf_ledger_record *a = &j->snap->records[j->order[g0]];
    size_t g1 = g0 + 1;
    while (g1 < j->norder) {
        const struct ipcf_ledger_record *b = &j->snap->records[j->order[g1]];
        if (b->stream != a->stream || b->seq != a->seq)
            break;
        g1++;
    }
    return g1;
}

/* Pass 2: classify each receive, collect lost messages. */
static int classify(struct judge *j, size_t nsem, const struct ipcf_semantics *sem)
{
    int err = 0;
    /* per-stream in-doubt flag first (needed for never-begun seqs) */
    for (size_t g0 = 0; g0 < j->norder;) {
        size_t g1 = group_end(j, g0);
        const struct ipcf_ledger_record *a = &j->snap->records[j->order[g0]];
        if (group_in_doubt(j, g0, g1))
            stream_get(j, a->stream, sem, nsem, &err)->has_in_doubt = 1;
        g0 = g1;
    }
    for (size_t g0 = 0; g0 < j->norder;) {
        size_t g1 = group_end(j, g0);
        const struct ipcf_ledger_record *a = &j->snap->records[j->order[g0]];
        struct stream_info *si = stream_get(j, a->stream, sem, nsem, &err);
        if (!si)
            return err;
        int committed = 0, known = 0, delivered = 0;
        uint64_t first_begin = UINT64_MAX;
        uint32_t sender = 0;
        pid_t sender_pid = 0;
        for (size_t k = g0; k < g1; k++) {
            const struct ipcf_ledger_record *r = &j->snap->records[j->order[k]];
            if (r->kind == IPCF_LREC_SENT)
                committed = 1;
            if (r->kind != IPCF_LREC_RECEIVED) {
                known = 1;
                if (r->index < first_begin) {
                    first_begin = r->index;
                    sender = r->peer;
                    sender_pid = r->pid;
                }
            }
        }
        int in_doubt = group_in_doubt(j, g0, g1);
        for (size_t k = g0; k < g1; k++) {
            size_t pos = j->order[k];
            const struct ipcf_ledger_record *r = &j->snap->records[pos];
            if (r->kind != IPCF_LREC_RECEIVED)
                continue;
            int match = 0;
            for (size_t q = g0; q < g1 && !match; q++) {
                const struct ipcf_ledger_record *v = &j->snap->records[j->order[q]];
                if (v->kind != IPCF_LREC_RECEIVED && v->hash == r->hash)
                    match = 1;
            }
            if (!known)
                j->rcls[pos] = si->has_in_doubt ? RC_TORN : RC_CORRUPT;
            else if (!match)
                j->rcls[pos] = in_doubt ? RC_TORN : RC_CORRUPT;
            else if (!delivered++)
                j->rcls[pos] = RC_FIRST;
            else
                j->rcls[pos] = si->sem.delivery == IPCF_EXACTLY_ONCE ? RC_DUP : RC_DUP_OK;
        }
        if (committed && !delivered) {
            struct lost_msg m = {a->stream, a->seq, first_begin, sender, sender_pid, 0};
            IPCF_TRY(lost_add(j, &m));
        }
        g0 = g1;
    }
    return 0;
}

static int cmp_death(const void *a, const void *b)
{
    const struct death *x = a, *y = b;
    return x->at < y->at ? -1 : x->at > y->at;
}

/* Highest seq of `stream` that process pid delivered validly; 0 if none. */
static int max_delivered(const struct judge *j, uint32_t stream, pid_t pid, uint64_t *max)
{
    int any = 0;
    for (size_t i = 0; i < j->snap->n; i++) {
        const struct ipcf_ledger_record *r = &j->snap->records[i];
        unsigned c = j->rcls[i];
        if (r->kind != IPCF_LREC_RECEIVED || r->stream != stream || r->pid != pid ||
            (c != RC_FIRST && c != RC_DUP && c != RC_DUP_OK))
            continue;
        if (!any || r->seq > *max)
            *max = r->seq;
        any = 1;
    }
    return any;
}

static void excuse_losses(struct judge *j)
{
    if (j->ndeaths > 1)
        qsort(j->deaths, j->ndeaths, sizeof(*j->deaths), cmp_death);
    for (size_t si = 0; si < j->nstreams; si++) {
        struct stream_info *s = &j->streams[si];
        for (size_t di = 0; di < j->ndeaths; di++) {
            const struct death *d = &j->deaths[di];
            int receiver = s->sem.receiver_peer >= 0 ? d->peer == (uint32_t)s->sem.receiver_peer
                           : s->nreceivers           ? u32_has(s->receivers, s->nreceivers, d->peer)
                                                     : 1;
            int sender = u32_has(s->senders, s->nsenders, d->peer);
            int only_receiver = s->sem.receiver_peer >= 0 || s->nreceivers <= 1;
            int gone = receiver && !d->restarted && only_receiver;
            uint32_t budget = s->sem.receiver_in_hand;
            uint64_t passed = 0; /* ordered: this process delivered up to here */
            int has_passed =
                receiver && s->sem.ordered && max_delivered(j, s->stream, d->pid, &passed);
            /* j->lost is in (stream, seq) order: lowest seq first */
            for (size_t i = 0; i < j->nlost; i++) {
                struct lost_msg *m = &j->lost[i];
                if (m->stream != s->stream || m->excused)
                    continue;
                int before = m->first_begin < d->at;
                if (receiver && !(has_passed && m->seq < passed)) {
                    if (gone) {
                        m->excused = 1;
                        continue;
                    }
                    if (before && !s->sem.survives_receiver_death) {
                        m->excused = 1;
                        continue;
                    }
                    if (before && budget > 0) {
                        budget--;
                        m->excused = 1;
                        continue;
                    }
                }
                if (sender && before && !s->sem.survives_sender_death)
                    m->excused = 1;
            }
        }
    }
}

static int emit_process_findings(struct judge *j)
{
    const struct ipcf_run_facts *f = j->facts;
    enum ipcf_fault_class cls = ipcf_fault_class_of(f->plan_kinds);
    char tmp[32];
    const struct ipcf_ledger_snapshot *s = j->snap;

    if (s && !f->black_box) {
        if (s->overflowed)
            ADD(j, IPCF_VERDICT_LEDGER, 0, 0, -1, 0,
                "ledger overflow: %llu record(s) refused (capacity %zu); run not judged fully",
                (unsigned long long)s->overflowed, s->capacity);
        if (s->corrupt)
            ADD(j, IPCF_VERDICT_LEDGER, 0, 0, -1, 0,
                "ledger corrupt: a published record failed its checksum");
        size_t abnormal = 0;
        for (size_t i = 0; i < f->nends; i++)
            abnormal += is_abnormal(f->ends[i].kind);
        if (s->holes > abnormal)
            ADD(j, IPCF_VERDICT_LEDGER, 0, 0, -1, 0,
                "ledger has %llu unpublished slot(s) but only %zu process(es) died mid-run",
                (unsigned long long)s->holes, abnormal);
    }
    for (size_t i = 0; i < f->nends; i++) {
        const struct ipcf_peer_end *e = &f->ends[i];
        const char *pn = peer_name(f, e->peer, tmp, sizeof(tmp));
        if (e->kind == IPCF_END_SIGNALED)
            ADD(j, IPCF_VERDICT_CRASH, 0, 0, (int32_t)e->peer, e->pid,
                "%s (pid %ld) died by signal %d (%s) that the plan did not schedule", pn,
                (long)e->pid, e->code, strsignal(e->code) ? strsignal(e->code) : "?");
    }
    if (f->sanitizer_seen)
        ADD(j, IPCF_VERDICT_SANITIZER, 0, 0, -1, 0, "sanitizer report: %s",
            f->sanitizer_excerpt ? f->sanitizer_excerpt : "(see log)");
    for (size_t i = 0; i < f->nends; i++) {
        const struct ipcf_peer_end *e = &f->ends[i];
        if (e->kind == IPCF_END_HUNG)
            ADD(j, IPCF_VERDICT_HANG, 0, 0, (int32_t)e->peer, e->pid,
                "%s (pid %ld) hung: killed by the watchdog after %d ms",
                peer_name(f, e->peer, tmp, sizeof(tmp)), (long)e->pid, e->code);
    }
    for (size_t i = 0; i < f->nrestarts; i++) {
        const struct ipcf_restart *r = &f->restarts[i];
        if (r->rc != 0)
            ADD(j, IPCF_VERDICT_RECOVERY_FAILED, 0, 0, (int32_t)r->peer, 0,
                "restart of %s failed: %s%s%s", peer_name(f, r->peer, tmp, sizeof(tmp)),
                ipcf_strerror(r->rc), r->detail ? ": " : "", r->detail ? r->detail : "");
    }
    for (size_t i = 0; i < f->nends; i++) {
        const struct ipcf_peer_end *e = &f->ends[i];
        if (e->kind == IPCF_END_NOT_STARTED)
            ADD(j, IPCF_VERDICT_RECOVERY_FAILED, 0, 0, (int32_t)e->peer, 0,
                "%s could not be started: %s", peer_name(f, e->peer, tmp, sizeof(tmp)),
                ipcf_strerror(e->code));
    }
    if (f->check_ran && f->check_rc != 0)
        ADD(j, IPCF_VERDICT_INVARIANT, 0, 0, -1, 0, "scenario check failed (%s)%s%s",
            ipcf_strerror(f->check_rc), f->check_detail ? ": " : "",
            f->check_detail ? f->check_detail : "");
    if (cls != IPCF_FAULTS_DESTRUCTIVE) {
        for (size_t i = 0; i < f->nends; i++) {
            const struct ipcf_peer_end *e = &f->ends[i];
            if (e->kind == IPCF_END_EXITED && e->code != 0)
                ADD(j, IPCF_VERDICT_EXIT, 0, 0, (int32_t)e->peer, e->pid,
                    "%s (pid %ld) exited with status %d under a %s plan",
                    peer_name(f, e->peer, tmp, sizeof(tmp)), (long)e->pid, e->code,
                    ipcf_fault_class_name(cls));
        }
    }
    return 0;
}

static int emit_data_findings(struct judge *j)
{
    const struct ipcf_run_facts *f = j->facts;
    const struct ipcf_ledger_snapshot *s = j->snap;
    char tmp[32], tmp2[32];
    int corrupt_plan = (f->plan_kinds & (1u << IPCF_ACT_CORRUPT)) != 0;

    /* torn, then corrupted (ledger order) */
    for (int pass = 0; pass < 2; pass++) {
        unsigned want = pass == 0 ? RC_TORN : RC_CORRUPT;
        for (size_t i = 0; i < s->n; i++) {
            const struct ipcf_ledger_record *r = &s->records[i];
            if (j->rcls[i] != want)
                continue;
            int err = 0;
            struct stream_info *si = stream_get(j, r->stream, NULL, 0, &err);
            if (!si)
                return err;
            if (corrupt_plan && !si->sem.detects_corruption)
                continue;
            ADD(j, pass == 0 ? IPCF_VERDICT_TORN : IPCF_VERDICT_CORRUPTED, r->stream, r->seq,
                (int32_t)r->peer, r->pid,
                pass == 0 ? "stream %u seq %llu received by %s (pid %ld) does not match any "
                            "version sent, and a send on the stream never completed"
                          : "stream %u seq %llu received by %s (pid %ld) does not match what "
                            "was sent",
                r->stream, (unsigned long long)r->seq, peer_name(f, r->peer, tmp, sizeof(tmp)),
                (long)r->pid);
        }
    }
    /* lost */
    for (size_t i = 0; i < j->nlost; i++) {
        const struct lost_msg *m = &j->lost[i];
        if (m->excused)
            continue;
        ADD(j, IPCF_VERDICT_LOST, m->stream, m->seq, (int32_t)m->sender, m->sender_pid,
            "stream %u seq %llu sent by %s (pid %ld) never received", m->stream,
            (unsigned long long)m->seq, peer_name(f, m->sender, tmp, sizeof(tmp)),
            (long)m->sender_pid);
    }
    /* duplicated */
    for (size_t i = 0; i < s->n; i++) {
        const struct ipcf_ledger_record *r = &s->records[i];
        if (j->rcls[i] == RC_DUP)
            ADD(j, IPCF_VERDICT_DUPLICATED, r->stream, r->seq, (int32_t)r->peer, r->pid,
                "stream %u seq %llu delivered again to %s (pid %ld) on an exactly-once stream",
                r->stream, (unsigned long long)r->seq, peer_name(f, r->peer, tmp, sizeof(tmp)),
                (long)r->pid);
    }
    /* reordered: per (stream, receiving peer), first deliveries in ledger order */
    struct last {
        uint32_t stream, peer;
        uint64_t max_seq;
    } *lasts = NULL;
    size_t nlasts = 0;
    int rc = 0;
    for (size_t i = 0; i < s->n && rc == 0; i++) {
        const struct ipcf_ledger_record *r = &s->records[i];
        if (j->rcls[i] != RC_FIRST)
            continue;
        int err = 0;
        struct stream_info *si = stream_get(j, r->stream, NULL, 0, &err);
        if (!si) {
            rc = err;
            break;
        }
        if (!si->sem.ordered)
            continue;
        size_t k;
        for (k = 0; k < nlasts; k++)
            if (lasts[k].stream == r->stream && lasts[k].peer == r->peer)
                break;
        if (k == nlasts) {
            struct last *nv = realloc(lasts, (nlasts + 1) * sizeof(*nv));
            if (!nv) {
                rc = -ENOMEM;
                break;
            }
            lasts = nv;
            lasts[nlasts++] = (struct last){r->stream, r->peer, r->seq};
            continue;
        }
        if (r->seq < lasts[k].max_seq) {
            rc = ipcf_findings_add(
                j->out, IPCF_VERDICT_REORDERED, r->stream, r->seq, (int32_t)r->peer, r->pid,
                "stream %u seq %llu received by %s (pid %ld) after seq %llu", r->stream,
                (unsigned long long)r->seq, peer_name(f, r->peer, tmp2, sizeof(tmp2)), (long)r->pid,
                (unsigned long long)lasts[k].max_seq);
            if (rc == 0)
                j->added++;
        } else {
            lasts[k].max_seq = r->seq;
        }
    }
    free(lasts);
    return rc;
}

static int emit_audit_findings(struct judge *j)
{
    const struct ipcf_run_facts *f = j->facts;
    for (size_t i = 0; i < f->nleaked_names; i++)
        ADD(j, IPCF_VERDICT_LEAKED_NAME, 0, 0, -1, 0, "name left behind: %s",
            f->leaked_names[i] ? f->leaked_names[i] : "?");
    for (size_t i = 0; i < f->nleaked_fds; i++)
        ADD(j, IPCF_VERDICT_LEAKED_FD, 0, 0, -1, 0, "descriptor leaked: %s",
            f->leaked_fds[i] ? f->leaked_fds[i] : "?");
    return 0;
}

int ipcf_oracle_judge(const struct ipcf_ledger_snapshot *snap, const struct ipcf_semantics *sem,
                      size_t nsem, const struct ipcf_run_facts *facts, struct ipcf_findings *out)
{
    if (!facts || !out || (!snap && !facts->black_box) || (nsem && !sem))
        return -EINVAL;
    struct judge j = {.snap = facts->black_box ? NULL : snap, .facts = facts, .out = out};
    int rc = 0;

    rc = emit_process_findings(&j);
    if (rc < 0 || !j.snap)
        goto audit;
    rc = collect_deaths(&j);
    if (rc < 0)
        goto out;
    rc = index_messages(&j, sem, nsem);
    if (rc < 0)
        goto out;
    rc = classify(&j, nsem, sem);
    if (rc < 0)
        goto out;
    excuse_losses(&j);
    rc = emit_data_findings(&j);
    if (rc < 0)
        goto out;
audit:
    if (rc >= 0)
        rc = emit_audit_findings(&j);
out:
    for (size_t i = 0; i < j.nstreams; i++) {
        free(j.streams[i].receivers);
        free(j.streams[i].senders);
    }
    free(j.streams);
    free(j.deaths);
    free(j.lost);
    free(j.rcls);
    free(j.order);
    return rc < 0 ? rc : j.added;
}
