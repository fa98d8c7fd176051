/* plan.c — the fault-plan language: parser, canonical formatter, plan editing.
 *
 * The parser is a single left-to-right scan without recursion or backtracking:
 * every step either consumes at least one byte or stops with an error naming
 * the byte offset and what was expected, so it terminates on any input and its
 * stack use is constant. Every value is range-checked before use (no signed
 * overflow), every name is length-checked against the fixed fields of struct
 * ipcf_rule, and the number of rules is capped (IPCF_PLAN_RULES_MAX), so memory
 * is bounded by the input length.
 *
 * Knowledge about calls (which errnos, whether short=/corrupt= apply) comes
 * from the table generated from calls.spec; see docs/fault-plans.md.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- call table lookups --------------------------------------------------- */

int ipcf__call_lookup(const char *name, size_t len)
{
    for (int i = 0; i < IPCF__NCALLS; i++)
        if (strlen(ipcf__calls[i].name) == len && !memcmp(ipcf__calls[i].name, name, len))
            return i;
    return -1;
}

int ipcf__call_errno_ok(int call, int e)
{
    int lo = call < 0 ? 0 : call, hi = call < 0 ? IPCF__NCALLS - 1 : call;
    for (int c = lo; c <= hi; c++)
        for (unsigned i = 0; i < ipcf__calls[c].nerrnos; i++)
            if (ipcf__calls[c].errnos[i] == e)
                return 1;
    return 0;
}

const char *ipcf__errno_name(int e)
{
    if (e == EAGAIN)
        return "EAGAIN";
    for (size_t i = 0; i < ipcf__nerrnames; i++)
        if (ipcf__errnames[i].value == e)
            return ipcf__errnames[i].name;
    return NULL;
}

static int errno_lookup(const char *s, size_t len)
{
    for (size_t i = 0; i < ipcf__nerrnames; i++)
        if (strlen(ipcf__errnames[i].name) == len && !memcmp(ipcf__errnames[i].name, s, len))
            return ipcf__errnames[i].value;
    return -1;
}

const char *ipcf_faults_call_name(size_t i)
{
    return i < IPCF__NCALLS ? ipcf__calls[i].name : NULL;
}

const char *ipcf_faults_symbol_name(size_t i, const char **set)
{
    if (i >= ipcf__nsymbols)
        return NULL;
    if (set)
        *set = ipcf__calls[ipcf__symbols[i].call].name;
    return ipcf__symbols[i].name;
}

/* ---- signals -------------------------------------------------------------- */

static const struct {
    const char *name;
    int sig;
} signames[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},     {"BUS", SIGBUS},   {"FPE", SIGFPE},
    {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT},
    {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
    {"IO", SIGIO},     {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

int ipcf__signal_default(void)
{
    return SIGRTMIN + IPCF__SIG_RT_OFFSET;
}

int ipcf_faults_default_signal(void)
{
    return ipcf__signal_default();
}

void ipcf__signal_format(int sig, char *buf, size_t cap)
{
    for (size_t i = 0; i < sizeof(signames) / sizeof(signames[0]); i++)
        if (signames[i].sig == sig) {
            snprintf(buf, cap, "SIG%s", signames[i].name);
            return;
        }
    if (sig >= SIGRTMIN && sig <= SIGRTMAX)
        snprintf(buf, cap, "RTMIN+%d", sig - SIGRTMIN);
    else
        snprintf(buf, cap, "%d", sig);
}

/* ---- the parser ----------------------------------------------------------- */

#define IPCF_PLAN_RULES_MAX 4096
#define DELAY_MAX_US        10000000LL /* delay= is bounded: 10 s */
#define CORRUPT_MAX         64

struct parser {
    const char *s;
    size_t len, pos;
    struct ipcf_plan_error *err;
};

/* Record an error at byte `at`. Always returns -IPCF_EPARSE. */
__attribute__((format(printf, 3, 4))) static int fail(struct parser *p, size_t at, const char *fmt,
                                                      ...)
{
    if (p->err) {
        char what[160];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        p->err->pos = at;
        if (at < p->len) {
            unsigned char c = (unsigned char)p->s[at];
            if (c > 32 && c < 127)
                snprintf(p->err->msg, sizeof(p->err->msg), "%.140s at byte %zu (got '%c')", what,
                         at, c);
            else
                snprintf(p->err->msg, sizeof(p->err->msg), "%.140s at byte %zu (got byte 0x%02x)",
                         what, at, c);
        } else {
            snprintf(p->err->msg, sizeof(p->err->msg), "%.140s at byte %zu (end of plan)", what,
                     at);
        }
    }
    return -IPCF_EPARSE;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->len && is_ws(p->s[p->pos]))
        p->pos++;
}

/* End of a value: the next ':' ';' whitespace or end. */
static size_t value_end(const struct parser *p, size_t from)
{
    size_t e = from;
    while (e < p->len && p->s[e] != ':' && p->s[e] != ';' && !is_ws(p->s[e]))
        e++;
    return e;
}

/* Decimal digits s[a..b) into *out (<= max). 0 or -1 (empty, non-digit, too big). */
static int parse_u64(const char *s, size_t a, size_t b, uint64_t max, uint64_t *out)
{
    if (a >= b || b - a > 20)
        return -1;
    uint64_t v = 0;
    for (size_t i = a; i < b; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int parse_signal(const char *s, size_t len, int *out)
{
    uint64_t n;
    if (len >= 3 && !memcmp(s, "SIG", 3)) {
        s += 3;
        len -= 3;
    }
    if (len == 0)
        return -1;
    if (s[0] >= '0' && s[0] <= '9') {
        if (parse_u64(s, 0, len, 1000, &n) < 0)
            return -1;
        *out = (int)n;
    } else if (len >= 5 && !memcmp(s, "RTMIN", 5)) {
        if (len == 5)
            n = 0;
        else if (s[5] != '+' || parse_u64(s, 6, len, 1000, &n) < 0)
            return -1;
        *out = SIGRTMIN + (int)n;
    } else if (len >= 5 && !memcmp(s, "RTMAX", 5)) {
        if (len == 5)
            n = 0;
        else if (s[5] != '-' || parse_u64(s, 6, len, 1000, &n) < 0)
            return -1;
        *out = SIGRTMAX - (int)n;
    } else {
        for (size_t i = 0; i < sizeof(signames) / sizeof(signames[0]); i++)
            if (strlen(signames[i].name) == len && !memcmp(signames[i].name, s, len)) {
                *out = signames[i].sig;
                return 0;
            }
        return -1;
    }
    if (*out < 1 || *out > SIGRTMAX || (*out > SIGSYS && *out < SIGRTMIN))
        return -1;
    return 0;
}

/* p=PROB: "0", "1", "0.25", "1.0" with at most 6 decimals -> ppm. */
static int parse_prob(const char *s, size_t a, size_t b, uint32_t *ppm)
{
    size_t i = a;
    uint64_t whole = 0, frac = 0;
    unsigned nfrac = 0;
    if (i >= b || s[i] < '0' || s[i] > '9')
        return -1;
    while (i < b && s[i] >= '0' && s[i] <= '9') {
        whole = whole * 10 + (uint64_t)(s[i] - '0');
        if (whole > 1)
            return -1;
        i++;
    }
    if (i < b) {
        if (s[i] != '.')
            return -1;
        i++;
        if (i >= b)
            return -1;
        while (i < b) {
            if (s[i] < '0' || s[i] > '9' || nfrac == 6)
                return -1;
            frac = frac * 10 + (uint64_t)(s[i] - '0');
            nfrac++;
            i++;
        }
    }
    while (nfrac < 6) {
        frac *= 10;
        nfrac++;
    }
    uint64_t v = whole * 1000000 + frac;
    if (v > 1000000)
        return -1;
    *ppm = (uint32_t)v;
    return 0;
}

/* when=FIRST['..'[LAST]]['+'[STEP]] */
static int parse_when(struct parser *p, size_t a, size_t b, struct ipcf_rule *r)
{
    const char *s = p->s;
    size_t i = a, j;
    uint64_t first, last, step = 1;
    const uint64_t max = IPCF_WHEN_UNBOUNDED - 1;
    for (j = i; j < b && s[j] >= '0' && s[j] <= '9'; j++)
        ;
    if (parse_u64(s, i, j, max, &first) < 0 || first == 0)
        return fail(p, i, "expected when=FIRST with FIRST a call count >= 1");
    int ranged = 0;
    last = first;
    i = j;
    if (i + 2 <= b && s[i] == '.' && s[i + 1] == '.') {
        ranged = 1;
        i += 2;
        for (j = i; j < b && s[j] >= '0' && s[j] <= '9'; j++)
            ;
        if (j == i) {
            last = IPCF_WHEN_UNBOUNDED;
        } else if (parse_u64(s, i, j, max, &last) < 0) {
            return fail(p, i, "expected LAST (a call count) after '..'");
        } else if (last < first) {
            return fail(p, i, "expected LAST >= FIRST in when=FIRST..LAST");
        }
        i = j;
    }
    if (i < b && s[i] == '+') {
        i++;
        for (j = i; j < b && s[j] >= '0' && s[j] <= '9'; j++)
            ;
        if (j > i && (parse_u64(s, i, j, max, &step) < 0 || step == 0))
            return fail(p, i, "expected STEP >= 1 after '+'");
        if (!ranged)
            last = IPCF_WHEN_UNBOUNDED; /* strace: when=N+S is open-ended */
        i = j;
    }
    if (i != b)
        return fail(p, i, "expected '..', '+' or the end of when=");
    if (last == first)
        step = 1; /* a single call: step is irrelevant; canonical form */
    r->when_first = first;
    r->when_last = last;
    r->when_step = step;
    return 0;
}

/* inc=FIRST['..'[LAST]]: incarnation numbers, 0 = the first run */
static int parse_inc(struct parser *p, size_t a, size_t b, struct ipcf_rule *r)
{
    const char *s = p->s;
    const uint64_t max = IPCF_INC_UNBOUNDED - 1;
    uint64_t first, last;
    size_t i = a, j;
    for (j = i; j < b && s[j] >= '0' && s[j] <= '9'; j++)
        ;
    if (parse_u64(s, i, j, max, &first) < 0)
        return fail(p, i, "expected inc=FIRST with FIRST an incarnation (0 = the first run)");
    last = first;
    i = j;
    if (i + 2 <= b && s[i] == '.' && s[i + 1] == '.') {
        i += 2;
        for (j = i; j < b && s[j] >= '0' && s[j] <= '9'; j++)
            ;
        if (j == i)
            last = IPCF_INC_UNBOUNDED;
        else if (parse_u64(s, i, j, max, &last) < 0)
            return fail(p, i, "expected LAST (an incarnation) after '..'");
        else if (last < first)
            return fail(p, i, "expected LAST >= FIRST in inc=FIRST..LAST");
        i = j;
    }
    if (i != b)
        return fail(p, i, "expected '..' or the end of inc=");
    r->has_inc = 1;
    r->inc_first = (uint32_t)first;
    r->inc_last = (uint32_t)last;
    return 0;
}

static int name_char(char c, int glob)
{
    if (is_alnum(c) || c == '_' || c == '.' || c == '-' || c == '/')
        return 1;
    return glob && (c == '*' || c == '?' || c == '[' || c == ']' || c == '!' || c == '+');
}

/* Copy a name s[a..b) into dst[cap]: non-empty, allowed characters, fits. */
static int take_name(struct parser *p, size_t a, size_t b, char *dst, size_t cap, int glob,
                     const char *what)
{
    if (a == b)
        return fail(p, a, "expected %s", what);
    if (b - a >= cap)
        return fail(p, a, "%s longer than %zu bytes", what, cap - 1);
    for (size_t i = a; i < b; i++)
        if (!name_char(p->s[i], glob))
            return fail(p, i, "expected %s (letters, digits, _ . - /%s)", what,
                        glob ? " and glob * ? [ ] !" : "");
    memcpy(dst, p->s + a, b - a);
    dst[b - a] = '\0';
    return 0;
}

static const char *kind_key(enum ipcf_action_kind k)
{
    switch (k) {
    case IPCF_ACT_ERROR:
        return "error";
    case IPCF_ACT_RETVAL:
        return "retval";
    case IPCF_ACT_SHORT:
        return "short";
    case IPCF_ACT_CORRUPT:
        return "corrupt";
    case IPCF_ACT_SIGNAL:
        return "signal";
    case IPCF_ACT_KILL_BEFORE:
    case IPCF_ACT_KILL_AFTER:
        return "kill";
    case IPCF_ACT_SHRINK:
        return "shrink";
    case IPCF_ACT_DELAY:
        return "delay";
    default:
        return "none";
    }
}

/* Append the allowed errnos of call c to buf (for error messages). */
static void errno_list(int c, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < ipcf__calls[c].nerrnos && used + 12 < cap; i++) {
        const char *n = NULL;
        for (size_t k = 0; k < ipcf__nerrnames; k++)
            if (ipcf__errnames[k].value == ipcf__calls[c].errnos[i]) {
                n = ipcf__errnames[k].name;
                break;
            }
        if (!n)
            continue;
        int w = snprintf(buf + used, cap - used, "%s%s", used ? " " : "", n);
        if (w < 0 || (size_t)w >= cap - used)
            break;
        used += (size_t)w;
    }
}

/* Which action kinds may not appear together in one rule. */
static int conflicts(enum ipcf_action_kind a, enum ipcf_action_kind b)
{
    enum ipcf_action_kind x = a < b ? a : b, y = a < b ? b : a;
    if (x == IPCF_ACT_ERROR || x == IPCF_ACT_RETVAL) /* the call is not made */
        return y != IPCF_ACT_DELAY && y != IPCF_ACT_SHRINK;
    if (y == IPCF_ACT_KILL_BEFORE &&
        (x == IPCF_ACT_SHORT || x == IPCF_ACT_CORRUPT || x == IPCF_ACT_SIGNAL))
        return 1; /* nothing runs after kill=before */
    if ((x == IPCF_ACT_KILL_BEFORE && y == IPCF_ACT_KILL_AFTER))
        return 1;
    return 0;
}

/* Check one new action against the rule's set and its other actions. */
static int check_action(struct parser *p, size_t at, const struct ipcf_rule *r, int call,
                        const struct ipcf_action *a)
{
    int is_point = !strcmp(r->set, "point"), is_all = !strcmp(r->set, "all");
    const char *key = kind_key(a->kind);
    for (unsigned i = 0; i < r->nactions; i++) {
        enum ipcf_action_kind k = r->actions[i].kind;
        if (!strcmp(kind_key(k), key))
            return fail(p, at, "duplicate action %s=", key);
        if (conflicts(k, a->kind))
            return fail(p, at, "%s= conflicts with %s= in the same rule", key, kind_key(k));
    }
    if (r->nactions >= IPCF_RULE_ACTIONS)
        return fail(p, at, "more than %d actions in one rule", IPCF_RULE_ACTIONS);
    if (is_point) {
        if (a->kind == IPCF_ACT_ERROR || a->kind == IPCF_ACT_RETVAL || a->kind == IPCF_ACT_SHORT ||
            a->kind == IPCF_ACT_CORRUPT)
            return fail(p, at,
                        "%s= is not allowed at a point (no call, no result); allowed: kill, "
                        "delay, signal, shrink",
                        key);
        return 0;
    }
    if (a->kind == IPCF_ACT_ERROR) {
        if (is_all) {
            if (!ipcf__call_errno_ok(-1, (int)a->value))
                return fail(p, at, "error=%lld is not an errno of any intercepted call", a->value);
        } else if (!ipcf__call_errno_ok(call, (int)a->value)) {
            char list[120];
            errno_list(call, list, sizeof(list));
            return fail(p, at, "%s cannot fail with that errno; allowed: %s", r->set, list);
        }
    }
    if (a->kind == IPCF_ACT_RETVAL && (is_all || (ipcf__calls[call].flags & IPCF__CF_PTRRET)))
        return fail(p, at, "retval= needs a call that returns a number (not %s)", r->set);
    if (!is_all && a->kind == IPCF_ACT_SHORT && !(ipcf__calls[call].flags & IPCF__CF_SHORT))
        return fail(p, at, "short= needs a call with a byte count; %s has none", r->set);
    if (!is_all && a->kind == IPCF_ACT_CORRUPT && !(ipcf__calls[call].flags & IPCF__CF_RECV))
        return fail(p, at, "corrupt= needs a receive call; %s is not one", r->set);
    return 0;
}

static int parse_action(struct parser *p, const struct ipcf_rule *r, int call, size_t keypos,
                        const char *key, size_t klen, size_t va, size_t vb, struct ipcf_action *a)
{
    const char *s = p->s;
    uint64_t n;
    memset(a, 0, sizeof(*a));
#define KEY(lit) (klen == sizeof(lit) - 1 && !memcmp(key, lit, klen))
    if (KEY("error")) {
        a->kind = IPCF_ACT_ERROR;
        int e = -1;
        if (va < vb && s[va] >= '0' && s[va] <= '9') {
            if (parse_u64(s, va, vb, 4095, &n) == 0 && n > 0)
                e = (int)n;
        } else {
            e = errno_lookup(s + va, vb - va);
        }
        if (e <= 0)
            return fail(p, va, "expected an errno name (EINTR, EAGAIN, ...) or number");
        a->value = e;
    } else if (KEY("retval")) {
        a->kind = IPCF_ACT_RETVAL;
        int neg = va < vb && s[va] == '-';
        if (parse_u64(s, va + (size_t)neg, vb, INT64_MAX, &n) < 0)
            return fail(p, va, "expected retval=N (a decimal integer)");
        a->value = neg ? -(long long)n : (long long)n;
    } else if (KEY("short")) {
        a->kind = IPCF_ACT_SHORT;
        if (parse_u64(s, va, vb, INT64_MAX, &n) < 0 || n == 0)
            return fail(p, va, "expected short=N with N >= 1 bytes");
        a->value = (long long)n;
    } else if (KEY("corrupt")) {
        a->kind = IPCF_ACT_CORRUPT;
        if (parse_u64(s, va, vb, CORRUPT_MAX, &n) < 0 || n == 0)
            return fail(p, va, "expected corrupt=N with 1 <= N <= %d bits", CORRUPT_MAX);
        a->value = (long long)n;
    } else if (KEY("signal")) {
        int sig;
        a->kind = IPCF_ACT_SIGNAL;
        if (va == vb) {
            a->value = ipcf__signal_default();
        } else if (parse_signal(s + va, vb - va, &sig) < 0) {
            return fail(p, va, "expected a signal (SIGUSR1, USR1, RTMIN+N, RTMAX-N or a number)");
        } else if (sig == SIGKILL || sig == SIGSTOP) {
            return fail(p, va, "signal= cannot deliver SIGKILL/SIGSTOP (use kill=before|after)");
        } else {
            a->value = sig;
        }
    } else if (KEY("kill")) {
        if (vb - va == 6 && !memcmp(s + va, "before", 6))
            a->kind = IPCF_ACT_KILL_BEFORE;
        else if (vb - va == 5 && !memcmp(s + va, "after", 5))
            a->kind = IPCF_ACT_KILL_AFTER;
        else
            return fail(p, va, "expected kill=before or kill=after");
    } else if (KEY("shrink")) {
        a->kind = IPCF_ACT_SHRINK;
        IPCF_TRY(take_name(p, va, vb, a->object, sizeof(a->object), 1, "an object name or glob"));
    } else if (KEY("delay")) {
        a->kind = IPCF_ACT_DELAY;
        if (parse_u64(s, va, vb, DELAY_MAX_US, &n) < 0)
            return fail(p, va, "expected delay=USEC with USEC <= %lld", DELAY_MAX_US);
        a->value = (long long)n;
    } else {
        return fail(p, keypos,
                    "expected an action (error retval short corrupt signal kill shrink delay) "
                    "or filter (when p peer inc)");
    }
#undef KEY
    return check_action(p, keypos, r, call, a);
}

/* One rule starting at p->pos (not at ';', whitespace or end). */
static int parse_rule(struct parser *p, struct ipcf_rule *r)
{
    const char *s = p->s;
    size_t a = p->pos, b = a;
    int call = -1, have_when = 0, have_p = 0, have_peer = 0, have_inc = 0;
    memset(r, 0, sizeof(*r));
    r->p_ppm = 1000000;
    r->when_step = 1;
    while (b < p->len && (is_alnum(s[b]) || s[b] == '_'))
        b++;
    if (b - a == 5 && !memcmp(s + a, "point", 5) && b < p->len && s[b] == '=') {
        strcpy(r->set, "point");
        size_t e = value_end(p, b + 1);
        IPCF_TRY(take_name(p, b + 1, e, r->point, sizeof(r->point), 0, "a point name"));
        b = e;
    } else if (b - a == 3 && !memcmp(s + a, "all", 3)) {
        strcpy(r->set, "all");
    } else {
        call = ipcf__call_lookup(s + a, b - a);
        if (call < 0)
            return fail(p, a,
                        "expected a call name (read, write, recvmsg, ...), 'all' or "
                        "'point=NAME'");
        strcpy(r->set, ipcf__calls[call].name);
    }
    p->pos = b;
    while (p->pos < p->len && s[p->pos] == ':') {
        size_t k = ++p->pos, ke = k;
        while (ke < p->len && s[ke] >= 'a' && s[ke] <= 'z')
            ke++;
        size_t va, vb;
        if (ke - k == 6 && !memcmp(s + k, "signal", 6) && (ke == p->len || s[ke] != '=')) {
            va = vb = ke; /* bare "signal": the default signal */
        } else {
            if (ke == k)
                return fail(p, k, "expected an action or filter name after ':'");
            if (ke >= p->len || s[ke] != '=')
                return fail(p, ke, "expected '=' after '%.*s'", (int)(ke - k), s + k);
            va = ke + 1;
            vb = value_end(p, va);
            if (va == vb)
                return fail(p, va, "expected a value after '%.*s='", (int)(ke - k), s + k);
        }
        if (ke - k == 4 && !memcmp(s + k, "when", 4)) {
            if (have_when++)
                return fail(p, k, "duplicate filter when=");
            IPCF_TRY(parse_when(p, va, vb, r));
        } else if (ke - k == 1 && s[k] == 'p') {
            if (have_p++)
                return fail(p, k, "duplicate filter p=");
            if (parse_prob(s, va, vb, &r->p_ppm) < 0)
                return fail(p, va, "expected p=PROB between 0 and 1 with at most 6 decimals");
        } else if (ke - k == 4 && !memcmp(s + k, "peer", 4)) {
            if (have_peer++)
                return fail(p, k, "duplicate filter peer=");
            IPCF_TRY(take_name(p, va, vb, r->peer, sizeof(r->peer), 1, "a peer name or glob"));
        } else if (ke - k == 3 && !memcmp(s + k, "inc", 3)) {
            if (have_inc++)
                return fail(p, k, "duplicate filter inc=");
            IPCF_TRY(parse_inc(p, va, vb, r));
        } else {
            struct ipcf_action act;
            IPCF_TRY(parse_action(p, r, call, k, s + k, ke - k, va, vb, &act));
            r->actions[r->nactions++] = act;
        }
        p->pos = vb;
    }
    if (r->nactions == 0)
        return fail(p, p->pos, "expected ':' and at least one action after '%s'", r->set);
    if (p->pos < p->len && s[p->pos] != ';' && !is_ws(s[p->pos]))
        return fail(p, p->pos, "expected ':', ';' or the end of the plan");
    return 0;
}

int ipcf_plan_parse(const char *text, struct ipcf_plan *out, struct ipcf_plan_error *err)
{
    struct parser p = {text ? text : "", 0, 0, err};
    struct ipcf_plan plan = {NULL, 0};
    size_t cap = 0;
    int rc = 0;
    p.len = strlen(p.s);
    if (err) {
        err->pos = 0;
        err->msg[0] = '\0';
    }
    if (out) {
        out->rules = NULL;
        out->nrules = 0;
    }
    for (;;) {
        skip_ws(&p);
        if (p.pos >= p.len)
            break;
        if (p.s[p.pos] == ';') { /* empty rule */
            p.pos++;
            continue;
        }
        if (plan.nrules == IPCF_PLAN_RULES_MAX) {
            rc = fail(&p, p.pos, "more than %d rules", IPCF_PLAN_RULES_MAX);
            goto out;
        }
        if (plan.nrules == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            struct ipcf_rule *nr = realloc(plan.rules, ncap * sizeof(*nr));
            if (!nr) {
                rc = -ENOMEM;
                goto out;
            }
            plan.rules = nr;
            cap = ncap;
        }
        rc = parse_rule(&p, &plan.rules[plan.nrules]);
        if (rc < 0)
            goto out;
        plan.nrules++;
        skip_ws(&p);
        if (p.pos < p.len && p.s[p.pos] != ';') {
            rc = fail(&p, p.pos, "expected ';' between rules");
            goto out;
        }
    }
out:
    if (rc < 0 || !out) {
        free(plan.rules);
        return rc;
    }
    *out = plan;
    return 0;
}

/* ---- the canonical formatter ---------------------------------------------- */

struct sink {
    char *buf;
    size_t cap, len;
};

__attribute__((format(printf, 2, 3))) static void put(struct sink *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *dst = k->len < k->cap ? k->buf + k->len : NULL;
    size_t room = k->len < k->cap ? k->cap - k->len : 0;
    int w = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (w > 0)
        k->len += (size_t)w;
}

/* Format one action as "key=value" (no leading ':'). */
void ipcf__action_format(const struct ipcf_action *a, char *buf, size_t cap)
{
    struct sink k = {buf, cap, 0};
    char tmp[32];
    if (cap)
        buf[0] = '\0';
    switch (a->kind) {
    case IPCF_ACT_ERROR: {
        const char *n = ipcf__errno_name((int)a->value);
        if (n)
            put(&k, "error=%s", n);
        else
            put(&k, "error=%lld", a->value);
        break;
    }
    case IPCF_ACT_SIGNAL:
        ipcf__signal_format((int)a->value, tmp, sizeof(tmp));
        put(&k, "signal=%s", tmp);
        break;
    case IPCF_ACT_KILL_BEFORE:
        put(&k, "kill=before");
        break;
    case IPCF_ACT_KILL_AFTER:
        put(&k, "kill=after");
        break;
    case IPCF_ACT_SHRINK:
        put(&k, "shrink=%.*s", (int)sizeof(a->object), a->object);
        break;
    case IPCF_ACT_NONE:
        put(&k, "pass");
        break;
    default:
        put(&k, "%s=%lld", kind_key(a->kind), a->value);
        break;
    }
}

int ipcf_plan_format(const struct ipcf_plan *plan, char *buf, size_t cap)
{
    struct sink k = {buf, cap, 0};
    char act[IPCF_PLAN_OBJ_MAX + 16];
    if (cap)
        buf[0] = '\0';
    for (size_t i = 0; plan && i < plan->nrules; i++) {
        const struct ipcf_rule *r = &plan->rules[i];
        if (i)
            put(&k, "; ");
        if (!strcmp(r->set, "point"))
            put(&k, "point=%.*s", IPCF_PLAN_NAME_MAX, r->point);
        else
            put(&k, "%.*s", IPCF_PLAN_NAME_MAX, r->set);
        for (unsigned j = 0; j < r->nactions && j < IPCF_RULE_ACTIONS; j++) {
            ipcf__action_format(&r->actions[j], act, sizeof(act));
            put(&k, ":%s", act);
        }
        if (r->when_first) {
            put(&k, ":when=%llu", (unsigned long long)r->when_first);
            if (r->when_last == IPCF_WHEN_UNBOUNDED)
                put(&k, "+%llu", (unsigned long long)r->when_step);
            else if (r->when_last != r->when_first) {
                put(&k, "..%llu", (unsigned long long)r->when_last);
                if (r->when_step != 1)
                    put(&k, "+%llu", (unsigned long long)r->when_step);
            }
        }
        if (r->p_ppm != 1000000) {
            unsigned w = r->p_ppm / 1000000, f = r->p_ppm % 1000000;
            if (f == 0) {
                put(&k, ":p=%u", w);
            } else {
                char d[8];
                snprintf(d, sizeof(d), "%06u", f);
                for (int z = 5; z > 0 && d[z] == '0'; z--)
                    d[z] = '\0';
                put(&k, ":p=%u.%s", w, d);
            }
        }
        if (r->peer[0])
            put(&k, ":peer=%.*s", IPCF_PLAN_NAME_MAX, r->peer);
        if (r->has_inc) {
            put(&k, ":inc=%u", (unsigned)r->inc_first);
            if (r->inc_last == IPCF_INC_UNBOUNDED)
                put(&k, "..");
            else if (r->inc_last != r->inc_first)
                put(&k, "..%u", (unsigned)r->inc_last);
        }
    }
    return k.len > (size_t)INT32_MAX ? INT32_MAX : (int)k.len;
}

/* ---- plan editing --------------------------------------------------------- */

void ipcf_plan_free(struct ipcf_plan *plan)
{
    if (!plan)
        return;
    free(plan->rules);
    plan->rules = NULL;
    plan->nrules = 0;
}

int ipcf_plan_copy(struct ipcf_plan *dst, const struct ipcf_plan *src)
{
    struct ipcf_rule *r = NULL;
    if (src->nrules) {
        r = malloc(src->nrules * sizeof(*r));
        if (!r)
            return -ENOMEM;
        memcpy(r, src->rules, src->nrules * sizeof(*r));
    }
    dst->rules = r;
    dst->nrules = src->nrules;
    return 0;
}

int ipcf_plan_add_rule(struct ipcf_plan *plan, const struct ipcf_rule *rule)
{
    if (plan->nrules >= IPCF_PLAN_RULES_MAX)
        return -E2BIG;
    struct ipcf_rule *r = realloc(plan->rules, (plan->nrules + 1) * sizeof(*r));
    if (!r)
        return -ENOMEM;
    r[plan->nrules++] = *rule;
    plan->rules = r;
    return 0;
}

void ipcf_plan_remove_rule(struct ipcf_plan *plan, size_t index)
{
    if (index >= plan->nrules)
        return;
    memmove(&plan->rules[index], &plan->rules[index + 1],
            (plan->nrules - index - 1) * sizeof(plan->rules[0]));
    plan->nrules--;
}

static int rule_equal(const struct ipcf_rule *a, const struct ipcf_rule *b)
{
    if (strncmp(a->set, b->set, IPCF_PLAN_NAME_MAX) || a->nactions != b->nactions ||
        a->when_first != b->when_first || a->p_ppm != b->p_ppm ||
        strncmp(a->peer, b->peer, IPCF_PLAN_NAME_MAX))
        return 0;
    if (!strcmp(a->set, "point") && strncmp(a->point, b->point, IPCF_PLAN_NAME_MAX))
        return 0;
    if (a->when_first && (a->when_last != b->when_last || a->when_step != b->when_step))
        return 0;
    if (!a->has_inc != !b->has_inc ||
        (a->has_inc && (a->inc_first != b->inc_first || a->inc_last != b->inc_last)))
        return 0;
    for (unsigned i = 0; i < a->nactions && i < IPCF_RULE_ACTIONS; i++) {
        const struct ipcf_action *x = &a->actions[i], *y = &b->actions[i];
        if (x->kind != y->kind || x->value != y->value)
            return 0;
        if (x->kind == IPCF_ACT_SHRINK && strncmp(x->object, y->object, IPCF_PLAN_OBJ_MAX))
            return 0;
    }
    return 1;
}

int ipcf_plan_equal(const struct ipcf_plan *a, const struct ipcf_plan *b)
{
    if (a->nrules != b->nrules)
        return 0;
    for (size_t i = 0; i < a->nrules; i++)
        if (!rule_equal(&a->rules[i], &b->rules[i]))
            return 0;
    return 1;
}

/* ---- incarnations --------------------------------------------------------- */

int ipcf_rule_kills(const struct ipcf_rule *r)
{
    for (unsigned i = 0; i < r->nactions && i < IPCF_RULE_ACTIONS; i++) {
        const struct ipcf_action *a = &r->actions[i];
        if (a->kind == IPCF_ACT_KILL_BEFORE || a->kind == IPCF_ACT_KILL_AFTER ||
            (a->kind == IPCF_ACT_SIGNAL && (a->value == SIGKILL || a->value == SIGSTOP)))
            return 1;
    }
    return 0;
}

int ipcf_rule_applies_to_incarnation(const struct ipcf_rule *r, unsigned inc)
{
    if (r->has_inc)
        return inc >= r->inc_first && inc <= r->inc_last;
    return inc == 0 || !ipcf_rule_kills(r);
}
