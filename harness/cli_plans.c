/* cli_plans.c — random fault plans for `ipcfuzz run`.
 *
 * A plan is a pure function of (scenario, iteration seed, message count): the
 * generator draws from a splitmix64 stream seeded by the iteration seed only,
 * so `run --seed S` replays exactly and a reproducer needs only the plan text.
 *
 * Fault classes (one or two per plan):
 *   kill    <call>:kill=before|after:when=K:peer=P      destructive; when P
 *           may be restarted twice, one in three also kills P's first
 *           restart: <call>:kill=...:when=K2:peer=P:inc=1 (kill in recovery)
 *   eintr   <call>:error=EINTR:p=X[:peer=P]            transparent
 *   short   <read-or-write call>:short=N[:p=X]          transparent
 *   signal  <blocking call>:signal=SIGUSR1:p=X          transparent (real EINTR)
 *   shrink  <call or point>:shrink=GLOB:when=K[:peer=P]  destructive (real SIGBUS);
 *           only for scenarios that declare `.shrink` (a ninth draw)
 * Calls come from the scenario's `.calls` list (default "read,write,poll");
 * "poll" is only used for eintr and signal (it has no byte count). An entry
 * "point=NAME" is a kill point: only the kill class targets it.
 *
 * `run --faults` / `exec --faults` restrict the classes drawn (a mix is drawn
 * only when both of its classes are allowed); the draw stays a pure function
 * of the iteration seed and the allowed set.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct rng {
    uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
    r->s += 0x9e3779b97f4a7c15ull;
    return ipcf__cli_mix64(r->s);
}

static unsigned below(struct rng *r, unsigned n)
{
    return n ? (unsigned)(rnd(r) % n) : 0;
}

#define MAX_CALLS 12

struct callset {
    char name[MAX_CALLS][IPCF_PLAN_NAME_MAX];
    unsigned n;
};

static void split_calls(const char *list, struct callset *cs)
{
    cs->n = 0;
    const char *p = list;
    while (*p && cs->n < MAX_CALLS) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len && len < IPCF_PLAN_NAME_MAX) {
            memcpy(cs->name[cs->n], p, len);
            cs->name[cs->n][len] = '\0';
            cs->n++;
        }
        p += len + (end ? 1 : 0);
    }
}

static bool is_point(const char *call)
{
    return strncmp(call, "point=", 6) == 0;
}

static bool is_io(const char *call)
{
    return !is_point(call) && strcmp(call, "poll") && strcmp(call, "ppoll") &&
           strcmp(call, "epoll_wait") && strcmp(call, "accept") && strcmp(call, "accept4") &&
           strcmp(call, "connect") && strcmp(call, "open") && strcmp(call, "openat");
}

enum pick { PICK_ANY, PICK_CALL, PICK_IO };

/* A call set of cs eligible for `want` (points only for PICK_ANY, byte-count
 * calls for PICK_IO), or NULL when cs has none. */
static const char *pick_call(struct rng *r, const struct callset *cs, enum pick want)
{
    const char *ok[MAX_CALLS];
    unsigned n = 0;
    for (unsigned i = 0; i < cs->n; i++) {
        const char *c = cs->name[i];
        if (want == PICK_ANY || (want == PICK_CALL && !is_point(c)) ||
            (want == PICK_IO && is_io(c)))
            ok[n++] = c;
    }
    return n ? ok[below(r, n)] : NULL;
}

static const char *probs[] = {"0.05", "0.1", "0.3", "0.5"};

/* Append one rule of class cls to buf at *off. */
static void add_rule(struct rng *r, const char *cls, const struct ipcf_scenario *s,
                     const struct callset *cs, unsigned messages, char *buf, size_t cap,
                     size_t *off)
{
    unsigned np = ipcf_scenario_npeers(s);
    const struct ipcf_peer_def *def = np ? &s->peers[below(r, np)] : NULL;
    const char *peer = def ? def->name : NULL;
    char rule[256];
    int n = 0;

    if (!strcmp(cls, "kill")) {
        unsigned span = below(r, 10) < 6 ? 8 : (messages > 8 ? messages : 8);
        const char *call = pick_call(r, cs, PICK_ANY);
        if (!call)
            return;
        const char *when = below(r, 2) ? "after" : "before";
        unsigned k = 1 + below(r, span);
        if (peer)
            n = snprintf(rule, sizeof(rule), "%s:kill=%s:when=%u:peer=%s", call, when, k, peer);
        else
            n = snprintf(rule, sizeof(rule), "%s:kill=%s:when=%u", call, when, k);
        /* Kill during recovery: when the victim may be restarted twice, one
         * plan in three also kills its first restart (inc=1), at a point of
         * its own. Drawn from a second stream so that the rest of the plan
         * is what it would be without this rule. */
        struct rng r2 = {r->s ^ 0x6b696c6c72656321ull};
        if (n > 0 && def && def->restarts >= 2 && below(&r2, 3) == 0) {
            const char *call2 = pick_call(&r2, cs, PICK_ANY);
            int m =
                snprintf(rule + n, sizeof(rule) - (size_t)n, ";%s:kill=%s:when=%u:peer=%s:inc=1",
                         call2, below(&r2, 2) ? "after" : "before", 1 + below(&r2, span), peer);
            if (m > 0 && (size_t)m < sizeof(rule) - (size_t)n)
                n += m;
            else
                rule[n] = '\0';
        }
    } else if (!strcmp(cls, "eintr")) {
        const char *call = pick_call(r, cs, PICK_CALL);
        const char *p = probs[below(r, 4)];
        if (!call)
            return;
        if (below(r, 2) && peer)
            n = snprintf(rule, sizeof(rule), "%s:error=EINTR:p=%s:peer=%s", call, p, peer);
        else
            n = snprintf(rule, sizeof(rule), "%s:error=EINTR:p=%s", call, p);
    } else if (!strcmp(cls, "short")) {
        const char *call = pick_call(r, cs, PICK_IO);
        if (!call)
            return;
        if (below(r, 2))
            n = snprintf(rule, sizeof(rule), "%s:short=%u", call, 1 + below(r, 16));
        else
            n = snprintf(rule, sizeof(rule), "%s:short=%u:p=%s", call, 1 + below(r, 16),
                         probs[2 + below(r, 2)]);
    } else if (!strcmp(cls, "shrink")) {
        const char *call = pick_call(r, cs, PICK_ANY);
        unsigned k = 1 + below(r, messages > 8 ? messages : 8);
        if (!call || !s->shrink)
            return;
        if (peer)
            n = snprintf(rule, sizeof(rule), "%s:shrink=%s:when=%u:peer=%s", call, s->shrink, k,
                         peer);
        else
            n = snprintf(rule, sizeof(rule), "%s:shrink=%s:when=%u", call, s->shrink, k);
    } else { /* signal storm */
        const char *call = pick_call(r, cs, PICK_CALL);
        if (!call)
            return;
        n = snprintf(rule, sizeof(rule), "%s:signal=SIGUSR1:p=%s", call, probs[below(r, 2)]);
    }
    if (n <= 0)
        return;
    int w = snprintf(buf + *off, cap > *off ? cap - *off : 0, "%s%s", *off ? ";" : "", rule);
    if (w > 0)
        *off += (size_t)w;
}

/* The equally likely draws and the classes each needs; the ninth only for
 * scenarios that declare `.shrink`. */
static const struct {
    const char *label, *first, *second;
    unsigned needs;
} draws[9] = {
    {"kill", "kill", NULL, IPCF__FAULT_KILL},
    {"kill", "kill", NULL, IPCF__FAULT_KILL},
    {"kill", "kill", NULL, IPCF__FAULT_KILL},
    {"eintr", "eintr", NULL, IPCF__FAULT_EINTR},
    {"short", "short", NULL, IPCF__FAULT_SHORT},
    {"signal", "signal", NULL, IPCF__FAULT_SIGNAL},
    {"eintr+short", "eintr", "short", IPCF__FAULT_EINTR | IPCF__FAULT_SHORT},
    {"kill+short", "kill", "short", IPCF__FAULT_KILL | IPCF__FAULT_SHORT},
    {"shrink", "shrink", NULL, IPCF__FAULT_SHRINK},
};

int ipcf__fault_classes_parse(const char *list, unsigned *mask)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"kill", IPCF__FAULT_KILL},     {"eintr", IPCF__FAULT_EINTR},
                 {"short", IPCF__FAULT_SHORT},   {"signal", IPCF__FAULT_SIGNAL},
                 {"shrink", IPCF__FAULT_SHRINK}, {"all", IPCF__FAULT_ALL}};
    unsigned m = 0;
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        size_t i;
        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (strlen(names[i].name) == len && !strncmp(names[i].name, p, len))
                break;
        if (i == sizeof(names) / sizeof(names[0]))
            return -EINVAL;
        m |= names[i].bit;
        p += len + (end ? 1 : 0);
    }
    if (!m)
        return -EINVAL;
    *mask = m;
    return 0;
}

const char *ipcf__plan_random(const struct ipcf_scenario *s, uint64_t iter_seed, unsigned messages,
                              unsigned classes, char *buf, size_t cap)
{
    struct rng r = {iter_seed};
    struct callset cs;
    size_t off = 0;

    if (!(classes & IPCF__FAULT_ALL))
        classes = IPCF__FAULT_ALL;
    split_calls(s->calls ? s->calls : "read,write,poll", &cs);
    if (cs.n == 0)
        split_calls("read,write,poll", &cs);
    if (cap)
        buf[0] = '\0';
    unsigned ndraws = s->shrink ? 9 : 8;
    if (!s->shrink && !(classes & ~IPCF__FAULT_SHRINK))
        classes = IPCF__FAULT_ALL; /* only shrink asked, and none declared */
    /* Draw until a draw of allowed classes comes up (each class allows at
     * least one of the draws, so 64 tries fail with odds below 2^-8). */
    unsigned d = below(&r, ndraws);
    for (unsigned tries = 0; (draws[d].needs & classes) != draws[d].needs && tries < 64; tries++)
        d = below(&r, ndraws);
    if ((draws[d].needs & classes) != draws[d].needs)
        for (d = 0; d + 1 < ndraws && (draws[d].needs & classes) != draws[d].needs; d++)
            ;
    add_rule(&r, draws[d].first, s, &cs, messages, buf, cap, &off);
    if (draws[d].second)
        add_rule(&r, draws[d].second, s, &cs, messages, buf, cap, &off);
    /* A scenario whose call list has nothing this class can target (e.g.
     * only points, and the class is eintr): fall back to a kill rule. */
    if (off == 0 && (classes & IPCF__FAULT_KILL)) {
        add_rule(&r, "kill", s, &cs, messages, buf, cap, &off);
        return off ? "kill" : draws[d].label;
    }
    return draws[d].label;
}
