/* test_plan.c — the fault-plan language: every action and filter parses to the
 * right structure, every malformed form is refused with its byte position and
 * message, errnos are checked per call, and parse -> format -> parse is the
 * identity (fixed and randomly generated plans). Also: arbitrary bytes never
 * crash the parser, and the docs list every intercepted symbol. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ipcfuzz/faults.h"

static struct ipcf_plan parse_ok(const char *text)
{
    struct ipcf_plan p;
    struct ipcf_plan_error err;
    int rc = ipcf_plan_parse(text, &p, &err);
    if (rc != 0)
        fail_msg("plan '%s' refused: %s", text, err.msg);
    return p;
}

static void test_every_action_and_filter(void **state)
{
    (void)state;
    struct ipcf_plan p =
        parse_ok("read:short=1:when=1+1:peer=consumer ; write:kill=after:when=5:peer=producer ;"
                 "recvmsg:error=EINTR:p=0.05;mq_receive:corrupt=3;recv:signal=SIGUSR1:delay=100;"
                 "write:kill=before:shrink=ipcf.*ring*;send:retval=0;readv:signal;"
                 "point=commit:kill=after:when=2..10+3;all:error=EINTR:when=7..");
    assert_int_equal(p.nrules, 10);
    const struct ipcf_rule *r = p.rules;
    assert_string_equal(r[0].set, "read");
    assert_int_equal(r[0].actions[0].kind, IPCF_ACT_SHORT);
    assert_int_equal(r[0].actions[0].value, 1);
    assert_int_equal(r[0].when_first, 1);
    assert_true(r[0].when_last == IPCF_WHEN_UNBOUNDED);
    assert_int_equal(r[0].when_step, 1);
    assert_string_equal(r[0].peer, "consumer");
    assert_int_equal(r[1].actions[0].kind, IPCF_ACT_KILL_AFTER);
    assert_int_equal(r[1].when_first, 5);
    assert_int_equal(r[1].when_last, 5);
    assert_int_equal(r[2].actions[0].kind, IPCF_ACT_ERROR);
    assert_int_equal(r[2].actions[0].value, EINTR);
    assert_int_equal(r[2].p_ppm, 50000);
    assert_int_equal(r[2].when_first, 0);
    assert_int_equal(r[3].actions[0].kind, IPCF_ACT_CORRUPT);
    assert_int_equal(r[3].actions[0].value, 3);
    assert_int_equal(r[4].actions[0].kind, IPCF_ACT_SIGNAL);
    assert_int_equal(r[4].actions[0].value, SIGUSR1);
    assert_int_equal(r[4].actions[1].kind, IPCF_ACT_DELAY);
    assert_int_equal(r[4].actions[1].value, 100);
    assert_int_equal(r[5].actions[0].kind, IPCF_ACT_KILL_BEFORE);
    assert_int_equal(r[5].actions[1].kind, IPCF_ACT_SHRINK);
    assert_string_equal(r[5].actions[1].object, "ipcf.*ring*");
    assert_int_equal(r[6].actions[0].kind, IPCF_ACT_RETVAL);
    assert_int_equal(r[6].actions[0].value, 0);
    assert_int_equal(r[7].actions[0].value, ipcf_faults_default_signal());
    assert_int_equal(r[7].actions[0].value, SIGRTMIN + 5);
    assert_string_equal(r[8].set, "point");
    assert_string_equal(r[8].point, "commit");
    assert_int_equal(r[8].when_first, 2);
    assert_int_equal(r[8].when_last, 10);
    assert_int_equal(r[8].when_step, 3);
    assert_string_equal(r[9].set, "all");
    assert_true(r[9].when_last == IPCF_WHEN_UNBOUNDED);
    assert_int_equal(r[0].p_ppm, 1000000);
    ipcf_plan_free(&p);

    /* numbers, signal spellings, p forms, empty plan, empty rules */
    p = parse_ok("write:error=32:when=3+2; read:signal=USR2; poll:signal=RTMIN+1;"
                 "ppoll:signal=10; read:error=EAGAIN:p=1; write:delay=0:p=0; ;; ");
    assert_int_equal(p.nrules, 6);
    assert_int_equal(p.rules[0].actions[0].value, EPIPE);
    assert_int_equal(p.rules[0].when_step, 2);
    assert_true(p.rules[0].when_last == IPCF_WHEN_UNBOUNDED);
    assert_int_equal(p.rules[1].actions[0].value, SIGUSR2);
    assert_int_equal(p.rules[2].actions[0].value, SIGRTMIN + 1);
    assert_int_equal(p.rules[3].actions[0].value, 10);
    assert_int_equal(p.rules[4].p_ppm, 1000000);
    assert_int_equal(p.rules[5].p_ppm, 0);
    ipcf_plan_free(&p);
    p = parse_ok("  ");
    assert_int_equal(p.nrules, 0);
    ipcf_plan_free(&p);
    p = parse_ok("read:retval=-5:when=4..4+9");
    assert_int_equal(p.rules[0].actions[0].value, -5);
    assert_int_equal(p.rules[0].when_last, 4);
    assert_int_equal(p.rules[0].when_step, 1); /* a single call: canonical step */
    ipcf_plan_free(&p);
}

struct bad {
    const char *text;
    size_t pos;
    const char *msg; /* substring */
};

/* inc=: which incarnations of a peer a rule applies to; without it, a rule
 * that kills applies to the first run only and any other rule to all. */
static void test_incarnation_filter(void **state)
{
    (void)state;
    struct ipcf_plan p = parse_ok("write:kill=after; read:error=EINTR; write:kill=before:inc=1..2;"
                                  "read:short=1:inc=0; point=x:kill=after:inc=3..; recv:signal");
    const struct ipcf_rule *r = p.rules;
    assert_true(ipcf_rule_kills(&r[0]));
    assert_false(ipcf_rule_kills(&r[1]));
    assert_false(ipcf_rule_kills(&r[5]));
    assert_false(r[0].has_inc);
    assert_true(r[2].has_inc);
    assert_int_equal(r[2].inc_first, 1);
    assert_int_equal(r[2].inc_last, 2);
    assert_true(r[4].inc_last == IPCF_INC_UNBOUNDED);
    static const char want[6][6] = {
        /* incarnation:  0  1  2  3  4  (1 = applies) */
        {1, 0, 0, 0, 0}, /* kill, no inc=: first run only */
        {1, 1, 1, 1, 1}, /* no kill, no inc=: every incarnation */
        {0, 1, 1, 0, 0}, {1, 0, 0, 0, 0}, {0, 0, 0, 1, 1}, {1, 1, 1, 1, 1},
    };
    for (unsigned i = 0; i < 6; i++)
        for (unsigned inc = 0; inc < 5; inc++)
            if (ipcf_rule_applies_to_incarnation(&r[i], inc) != want[i][inc])
                fail_msg("rule %u incarnation %u: got %d", i, inc,
                         ipcf_rule_applies_to_incarnation(&r[i], inc));
    ipcf_plan_free(&p);
}

static void test_malformed_refused_with_position(void **state)
{
    (void)state;
    static const struct bad cases[] = {
        {"rea:short=1", 0, "expected a call name"},
        {"read", 4, "at least one action"},
        {"read:", 5, "expected an action or filter name"},
        {"read:short", 10, "expected '=' after 'short'"},
        {"read:short=", 11, "expected a value after 'short='"},
        {"read:short=0", 11, "short=N with N >= 1"},
        {"read:short=x1", 11, "short=N"},
        {"read:shrt=1", 5, "expected an action"},
        {"read:error=EFOO", 11, "errno name"},
        {"read:error=EPIPE", 5, "read cannot fail with that errno; allowed: EAGAIN"},
        {"recvmsg:error=EISDIR", 8, "recvmsg cannot fail"},
        {"mq_send:error=ETIMEDOUT", 8, "mq_send cannot fail"},
        {"poll:short=1", 5, "short= needs a call with a byte count; poll"},
        {"write:corrupt=1", 6, "corrupt= needs a receive call; write"},
        {"mmap:retval=1", 5, "retval= needs a call that returns a number"},
        {"all:retval=1", 4, "retval= needs a call"},
        {"read:error=EINTR:short=1", 17, "short= conflicts with error="},
        {"read:kill=before:short=1", 17, "short= conflicts with kill="},
        {"read:short=1:short=2", 13, "duplicate action short="},
        {"read:kill=now", 10, "kill=before or kill=after"},
        {"read:signal=SIGKILL", 12, "cannot deliver SIGKILL"},
        {"read:signal=SIGFOO", 12, "expected a signal"},
        {"read:short=1:when=0", 18, "FIRST a call count >= 1"},
        {"read:short=1:when=5..3", 21, "LAST >= FIRST"},
        {"read:short=1:when=2+0", 20, "STEP >= 1"},
        {"read:short=1:when=2x", 19, "expected '..', '+'"},
        {"read:short=1:p=1.5", 15, "p=PROB between 0 and 1"},
        {"read:short=1:p=0.1234567", 15, "at most 6 decimals"},
        {"read:short=1:when=1:when=2", 20, "duplicate filter when="},
        {"read:short=1:inc=x", 17, "inc=FIRST with FIRST an incarnation"},
        {"read:short=1:inc=3..1", 20, "LAST >= FIRST in inc="},
        {"read:short=1:inc=1+1", 18, "expected '..' or the end of inc="},
        {"read:short=1:inc=4294967295", 17, "inc=FIRST"},
        {"read:short=1:inc=1:inc=2", 19, "duplicate filter inc="},
        {"read:short=1:peer=a b", 20, "expected ';' between rules"},
        {"read:short=1 write:short=1", 13, "expected ';' between rules"},
        {"read:short=1:peer=a,b", 19, "peer name"},
        {"point=:kill=after", 6, "expected a point name"},
        {"point=x:error=EINTR", 8, "not allowed at a point"},
        {"point=x:short=1", 8, "not allowed at a point"},
        {"read:delay=10000001", 11, "delay=USEC"},
        {"read:corrupt=65", 13, "corrupt=N"},
        {"read:short=99999999999999999999999", 11, "short=N"},
        {"read:error=EINTR:short=1:x", 17, "conflicts"},
        {"read:short=1;;write", 19, "at least one action"},
        {"read:short=1:delay=1:signal:p=1:corrupt=1:kill=after", 42, "more than 4 actions"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ipcf_plan p = {(struct ipcf_rule *)0x1, 7};
        struct ipcf_plan_error err;
        int rc = ipcf_plan_parse(cases[i].text, &p, &err);
        if (rc != -IPCF_EPARSE)
            fail_msg("'%s' accepted (rc %d)", cases[i].text, rc);
        assert_null(p.rules);
        assert_int_equal(p.nrules, 0);
        if (err.pos != cases[i].pos || !strstr(err.msg, cases[i].msg))
            fail_msg("'%s': got pos %zu '%s', want pos %zu '%s'", cases[i].text, err.pos, err.msg,
                     cases[i].pos, cases[i].msg);
        char at[32];
        snprintf(at, sizeof(at), "at byte %zu", cases[i].pos);
        assert_non_null(strstr(err.msg, at));
    }
}

static void test_errno_validity_per_call(void **state)
{
    (void)state;
    static const char *ok[] = {
        "read:error=EAGAIN",          "read:error=EWOULDBLOCK", "write:error=EPIPE",
        "write:error=ENOSPC",         "recvmsg:error=EINTR",    "mq_timedsend:error=ETIMEDOUT",
        "sem_wait:error=EINTR",       "waitpid:error=ECHILD",   "all:error=ECHILD",
        "connect:error=ECONNREFUSED", "msgrcv:error=ENOMSG",    "accept4:error=EMFILE",
        "open:error=ENOENT",          "openat:error=EINTR",     "ftruncate:error=EPERM",
        "mmap:error=ENOMEM",          "shm_open:error=EEXIST",  "memfd_create:error=EMFILE",
        "semtimedop:error=EAGAIN",    "epoll_wait:error=EINTR", "pread:error=ESPIPE",
    };
    static const char *bad[] = {
        "read:error=EPIPE",      "write:error=EISDIR",     "poll:error=EAGAIN",
        "sem_wait:error=EAGAIN", "waitpid:error=EAGAIN",   "msgrcv:error=EAGAIN",
        "all:error=EHWPOISON",   "ftruncate:error=EAGAIN",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct ipcf_plan p = parse_ok(ok[i]);
        ipcf_plan_free(&p);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ipcf_plan p;
        struct ipcf_plan_error err;
        if (ipcf_plan_parse(bad[i], &p, &err) != -IPCF_EPARSE)
            fail_msg("'%s' accepted", bad[i]);
    }
    /* the message lists the allowed errnos of the call */
    struct ipcf_plan p;
    struct ipcf_plan_error err;
    assert_int_equal(ipcf_plan_parse("sem_wait:error=EIO", &p, &err), -IPCF_EPARSE);
    assert_non_null(strstr(err.msg, "sem_wait cannot fail with that errno; allowed: EINTR EINVAL"));
}

static void roundtrip(const char *text)
{
    struct ipcf_plan a = parse_ok(text), b;
    char buf1[8192], buf2[8192];
    int n = ipcf_plan_format(&a, buf1, sizeof(buf1));
    assert_true(n > 0 || a.nrules == 0);
    assert_true((size_t)n < sizeof(buf1));
    assert_int_equal(ipcf_plan_format(&a, NULL, 0), n); /* measuring mode */
    struct ipcf_plan_error err;
    if (ipcf_plan_parse(buf1, &b, &err) != 0)
        fail_msg("format of '%s' = '%s' does not parse: %s", text, buf1, err.msg);
    if (!ipcf_plan_equal(&a, &b))
        fail_msg("round trip changed the plan: '%s' -> '%s'", text, buf1);
    ipcf_plan_format(&b, buf2, sizeof(buf2));
    assert_string_equal(buf1, buf2);
    ipcf_plan_free(&a);
    ipcf_plan_free(&b);
}

static void test_roundtrip_fixed(void **state)
{
    (void)state;
    static const char *plans[] = {
        "",
        "read:short=1",
        ("read:short=1:when=1+1:peer=consumer ; write:kill=after:when=5:peer=producer ;"
         " recvmsg:error=EINTR:p=0.05"),
        "write:error=EWOULDBLOCK:when=3..9+2:p=0.000001",
        "point=a.b/c-d:kill=after:delay=7:signal=RTMIN+3:shrink=/x*[ab]?",
        "all:error=EINTR:when=1000+1000",
        "all:signal:when=4..",
        "read:corrupt=64:short=9223372036854775807:p=0.5",
        "send:retval=-9223372036854775807",
        "wait4:signal=SIGCHLD:peer=w*",
        "read:short=2:when=3..3+5",
        "write:kill=after:shrink=*:delay=10000000",
        "write:kill=after:when=1:inc=0..15; read:error=EINTR:inc=1..; point=x:delay=1:inc=2",
        "write:kill=before:peer=w*:inc=0",
    };
    for (size_t i = 0; i < sizeof(plans) / sizeof(plans[0]); i++)
        roundtrip(plans[i]);
    /* canonical text of a few */
    struct ipcf_plan p = parse_ok("  write:error=11:when=3..; read:signal=USR1:p=0.500 ");
    char buf[256];
    ipcf_plan_format(&p, buf, sizeof(buf));
    assert_string_equal(buf, "write:error=EAGAIN:when=3+1; read:signal=SIGUSR1:p=0.5");
    ipcf_plan_free(&p);
}

/* A random valid rule, built as text from the grammar's pieces. */
static void random_rule(unsigned *seed, char *out, size_t cap)
{
    static const char *calls[] = {"read", "write",      "recvmsg", "sendmsg", "readv",
                                  "recv", "mq_receive", "msgrcv",  "poll",    "wait4"};
    static const char *errs[] = {"EINTR", "EINTR", "EINTR", "EINTR", "EINTR",
                                 "EINTR", "EINTR", "EINTR", "EINTR", "ECHILD"};
    int c = rand_r(seed) % 11, n = 0;
    int w;
    if (c == 10)
        w = snprintf(out, cap, "point=p%d", rand_r(seed) % 100);
    else
        w = snprintf(out, cap, "%s", calls[c]);
    size_t len = (size_t)w;
    int kind = rand_r(seed) % 6;
    if (kind == 0 && c != 10)
        n = snprintf(out + len, cap - len, ":error=%s", errs[c]);
    else if (kind == 1 && c != 10 && c != 8 && c != 9 && c != 6 && c != 7)
        n = snprintf(out + len, cap - len, ":short=%d", 1 + rand_r(seed) % 1000);
    else if (kind == 2 && (c == 0 || c == 2 || c == 4 || c == 5 || c == 6 || c == 7))
        n = snprintf(out + len, cap - len, ":corrupt=%d:delay=%d", 1 + rand_r(seed) % 64,
                     rand_r(seed) % 5000);
    else if (kind == 3)
        n = snprintf(out + len, cap - len, ":signal=RTMIN+%d", rand_r(seed) % 8);
    else if (kind == 4)
        n = snprintf(out + len, cap - len, ":kill=%s:shrink=o%d*",
                     rand_r(seed) % 2 ? "after" : "before", rand_r(seed) % 9);
    else
        n = snprintf(out + len, cap - len, ":delay=%d", rand_r(seed) % 100000);
    len += (size_t)n;
    int f = rand_r(seed) % 8;
    if (f & 1) {
        int a = 1 + rand_r(seed) % 50, form = rand_r(seed) % 4;
        if (form == 0)
            n = snprintf(out + len, cap - len, ":when=%d", a);
        else if (form == 1)
            n = snprintf(out + len, cap - len, ":when=%d+%d", a, 1 + rand_r(seed) % 9);
        else if (form == 2)
            n = snprintf(out + len, cap - len, ":when=%d..%d", a, a + rand_r(seed) % 9);
        else
            n = snprintf(out + len, cap - len, ":when=%d..%d+%d", a, a + rand_r(seed) % 90,
                         1 + rand_r(seed) % 9);
        len += (size_t)n;
    }
    if (f & 2) {
        n = snprintf(out + len, cap - len, ":p=0.%06d", rand_r(seed) % 1000000);
        len += (size_t)n;
    }
    if (f & 4) {
        n = snprintf(out + len, cap - len, ":peer=peer%d", rand_r(seed) % 5);
        len += (size_t)n;
    }
    if (rand_r(seed) % 3 == 0) {
        int a = rand_r(seed) % 4, form = rand_r(seed) % 3;
        if (form == 0)
            snprintf(out + len, cap - len, ":inc=%d", a);
        else if (form == 1)
            snprintf(out + len, cap - len, ":inc=%d..", a);
        else
            snprintf(out + len, cap - len, ":inc=%d..%d", a, a + rand_r(seed) % 9);
    }
}

static void test_roundtrip_random(void **state)
{
    (void)state;
    unsigned seed = 12345;
    for (int i = 0; i < 2000; i++) {
        char text[4096];
        size_t len = 0;
        int rules = rand_r(&seed) % 6;
        text[0] = '\0';
        for (int r = 0; r < rules; r++) {
            char rule[512];
            random_rule(&seed, rule, sizeof(rule));
            len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s", r ? " ; " : "", rule);
        }
        roundtrip(text);
    }
}

static void test_never_crashes(void **state)
{
    (void)state;
    /* random bytes and mutations of a valid plan: always 0 or -IPCF_EPARSE,
     * a position inside the text, and a message. */
    static const char alphabet[] = "readwritl:;=+.0123456789 pointsherkbfaEINTRAGSIGUSR*?[]-\t\n";
    const char *base = "read:short=1:when=2..9+3:p=0.25:peer=a*; point=x:kill=after; "
                       "all:error=EINTR:when=5+";
    unsigned seed = 99;
    for (int i = 0; i < 30000; i++) {
        char text[160];
        size_t n;
        if (i % 2) {
            n = (size_t)(rand_r(&seed) % 100);
            for (size_t k = 0; k < n; k++)
                text[k] = (i % 4 == 1) ? (char)(1 + rand_r(&seed) % 255)
                                       : alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
        } else {
            n = strlen(base);
            memcpy(text, base, n);
            for (int m = 0; m < 1 + rand_r(&seed) % 4; m++)
                text[rand_r(&seed) % n] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
        }
        text[n] = '\0';
        struct ipcf_plan p;
        struct ipcf_plan_error err;
        int rc = ipcf_plan_parse(text, &p, &err);
        assert_true(rc == 0 || rc == -IPCF_EPARSE);
        if (rc == 0) {
            char out[2048];
            ipcf_plan_format(&p, out, sizeof(out));
            struct ipcf_plan q;
            assert_int_equal(ipcf_plan_parse(out, &q, &err), 0);
            assert_true(ipcf_plan_equal(&p, &q));
            ipcf_plan_free(&q);
            ipcf_plan_free(&p);
        } else {
            assert_true(err.pos <= n);
            assert_true(err.msg[0] != '\0');
        }
    }
    /* a huge plan: bounded, refused past the rule limit */
    size_t big = 5000 * 13 + 1;
    char *t = malloc(big);
    assert_non_null(t);
    t[0] = '\0';
    for (int i = 0; i < 5000; i++)
        strcat(t, "read:short=1;");
    struct ipcf_plan p;
    struct ipcf_plan_error err;
    assert_int_equal(ipcf_plan_parse(t, &p, &err), -IPCF_EPARSE);
    assert_non_null(strstr(err.msg, "more than 4096 rules"));
    free(t);
    assert_int_equal(ipcf_plan_parse(NULL, &p, &err), 0);
    assert_int_equal(p.nrules, 0);
}

static void test_plan_editing(void **state)
{
    (void)state;
    struct ipcf_plan p = parse_ok("read:short=1; write:kill=after:when=5; poll:signal"), q;
    assert_int_equal(ipcf_plan_copy(&q, &p), 0);
    assert_true(ipcf_plan_equal(&p, &q));
    ipcf_plan_remove_rule(&q, 1);
    assert_int_equal(q.nrules, 2);
    assert_string_equal(q.rules[1].set, "poll");
    assert_false(ipcf_plan_equal(&p, &q));
    assert_int_equal(ipcf_plan_add_rule(&q, &p.rules[1]), 0);
    char buf[256];
    ipcf_plan_format(&q, buf, sizeof(buf));
    assert_string_equal(buf, "read:short=1; poll:signal=RTMIN+5; write:kill=after:when=5");
    ipcf_plan_remove_rule(&q, 99); /* out of range: no-op */
    assert_int_equal(q.nrules, 3);
    /* truncated formatting is snprintf-like */
    char small[8];
    int need = ipcf_plan_format(&q, small, sizeof(small));
    assert_int_equal(need, (int)strlen(buf));
    assert_int_equal(strlen(small), sizeof(small) - 1);
    ipcf_plan_free(&p);
    ipcf_plan_free(&q);
}

/* docs/fault-plans.md must list every intercepted symbol (kept in sync with
 * faults/calls.spec). */
static void test_docs_list_every_call(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof(path), "%s", __FILE__);
    char *slash = strrchr(path, '/');
    assert_non_null(slash);
    snprintf(slash, sizeof(path) - (size_t)(slash - path), "/../docs/fault-plans.md");
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    static char doc[1 << 17];
    size_t n = fread(doc, 1, sizeof(doc) - 1, f);
    fclose(f);
    doc[n] = '\0';
    size_t count = 0;
    const char *set;
    for (size_t i = 0; ipcf_faults_symbol_name(i, &set); i++, count++) {
        char want[128];
        snprintf(want, sizeof(want), "| `%s` |", ipcf_faults_symbol_name(i, NULL));
        if (!strstr(doc, want))
            fail_msg("docs/fault-plans.md does not list %s (call set %s)",
                     ipcf_faults_symbol_name(i, NULL), set);
    }
    assert_true(count >= 40);
    for (size_t i = 0; ipcf_faults_call_name(i); i++)
        assert_non_null(ipcf_faults_call_name(i));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_action_and_filter),
        cmocka_unit_test(test_malformed_refused_with_position),
        cmocka_unit_test(test_errno_validity_per_call),
        cmocka_unit_test(test_incarnation_filter),
        cmocka_unit_test(test_roundtrip_fixed),
        cmocka_unit_test(test_roundtrip_random),
        cmocka_unit_test(test_never_crashes),
        cmocka_unit_test(test_plan_editing),
        cmocka_unit_test(test_docs_list_every_call),
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
