/* cli_plans.c — random fault plans for `ipcfuzz run`.
 *
 * A plan is a pure function of (scenario, iteration seed, message count): the
 * generator draws from a splitmix64 stream seeded by the iteration seed only,
 * so `run --seed S` replays exactly and a reproducer needs only the plan text.
 *
 * Fault classes (one or two per plan):
 *   kill    <call>:kill=before|after:when=K:peer=P      destructive
 *   eintr   <call>:error=EINTR:p=X[:peer=P]            transparent
 *   short   <read-or-write call>:short=N[:p=X]          transparent
 *   signal  <blocking call>:signal=SIGUSR1:p=X          transparent (real EINTR)
 * Calls come from the scenario's `.calls` list (default "read,write,poll");
 * "poll" is only used for eintr and signal (it has no byte count).
 */
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

static bool is_io(const char *call)
{
    return strcmp(call, "poll") && strcmp(call, "ppoll") && strcmp(call, "epoll_wait") &&
           strcmp(call, "accept") && strcmp(call, "accept4") && strcmp(call, "connect") &&
           strcmp(call, "open") && strcmp(call, "openat");
}

static const char *pick_call(struct rng *r, const struct callset *cs, bool io_only)
{
    unsigned tries = 0;
    for (;;) {
        const char *c = cs->name[below(r, cs->n)];
        if (!io_only || is_io(c) || ++tries > 16)
            return c;
    }
}

static const char *probs[] = {"0.05", "0.1", "0.3", "0.5"};

/* Append one rule of class cls to buf at *off. */
static void add_rule(struct rng *r, const char *cls, const struct ipcf_scenario *s,
                     const struct callset *cs, unsigned messages, char *buf, size_t cap,
                     size_t *off)
{
    unsigned np = ipcf_scenario_npeers(s);
    const char *peer = np ? s->peers[below(r, np)].name : NULL;
    char rule[256];
    int n = 0;

    if (!strcmp(cls, "kill")) {
        unsigned span = below(r, 10) < 6 ? 8 : (messages > 8 ? messages : 8);
        const char *call = pick_call(r, cs, false);
        const char *when = below(r, 2) ? "after" : "before";
        unsigned k = 1 + below(r, span);
        if (peer)
            n = snprintf(rule, sizeof(rule), "%s:kill=%s:when=%u:peer=%s", call, when, k, peer);
        else
            n = snprintf(rule, sizeof(rule), "%s:kill=%s:when=%u", call, when, k);
    } else if (!strcmp(cls, "eintr")) {
        const char *call = pick_call(r, cs, false);
        const char *p = probs[below(r, 4)];
        if (below(r, 2) && peer)
            n = snprintf(rule, sizeof(rule), "%s:error=EINTR:p=%s:peer=%s", call, p, peer);
        else
            n = snprintf(rule, sizeof(rule), "%s:error=EINTR:p=%s", call, p);
    } else if (!strcmp(cls, "short")) {
        const char *call = pick_call(r, cs, true);
        if (below(r, 2))
            n = snprintf(rule, sizeof(rule), "%s:short=%u", call, 1 + below(r, 16));
        else
            n = snprintf(rule, sizeof(rule), "%s:short=%u:p=%s", call, 1 + below(r, 16),
                         probs[2 + below(r, 2)]);
    } else { /* signal storm */
        n = snprintf(rule, sizeof(rule), "%s:signal=SIGUSR1:p=%s", pick_call(r, cs, false),
                     probs[below(r, 2)]);
    }
    if (n <= 0)
        return;
    int w = snprintf(buf + *off, cap > *off ? cap - *off : 0, "%s%s", *off ? ";" : "", rule);
    if (w > 0)
        *off += (size_t)w;
}

const char *ipcf__plan_random(const struct ipcf_scenario *s, uint64_t iter_seed, unsigned messages,
                              char *buf, size_t cap)
{
    struct rng r = {iter_seed};
    struct callset cs;
    size_t off = 0;
    const char *cls;

    split_calls(s->calls ? s->calls : "read,write,poll", &cs);
    if (cs.n == 0)
        split_calls("read,write,poll", &cs);
    if (cap)
        buf[0] = '\0';
    switch (below(&r, 8)) {
    case 0:
    case 1:
    case 2:
        cls = "kill";
        add_rule(&r, "kill", s, &cs, messages, buf, cap, &off);
        break;
    case 3:
        cls = "eintr";
        add_rule(&r, "eintr", s, &cs, messages, buf, cap, &off);
        break;
    case 4:
        cls = "short";
        add_rule(&r, "short", s, &cs, messages, buf, cap, &off);
        break;
    case 5:
        cls = "signal";
        add_rule(&r, "signal", s, &cs, messages, buf, cap, &off);
        break;
    case 6:
        cls = "eintr+short";
        add_rule(&r, "eintr", s, &cs, messages, buf, cap, &off);
        add_rule(&r, "short", s, &cs, messages, buf, cap, &off);
        break;
    default:
        cls = "kill+short";
        add_rule(&r, "kill", s, &cs, messages, buf, cap, &off);
        add_rule(&r, "short", s, &cs, messages, buf, cap, &off);
        break;
    }
    return cls;
}
