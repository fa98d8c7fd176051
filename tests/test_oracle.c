/* test_oracle.c — the oracle's decision table, one behaviour per test, on
 * hand-built ledgers (pure: no processes). Each verdict is shown to fire on
 * the defect it names and to stay quiet on the legal variant next to it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ipcfuzz/ledger.h"
#include "oracle.h"

enum { PRODUCER = 0, CONSUMER = 1 };
#define PPID  100 /* producer pid */
#define CPID  200 /* consumer pid */
#define CPID2 201 /* restarted consumer */

static struct ipcf_ledger_record recs[1024];
static size_t nrec;
static const char *const names[] = {"producer", "consumer"};

static uint64_t h(uint64_t seq)
{
    return ipcf_ledger_hash(&seq, sizeof(seq));
}

static void add(uint16_t kind, uint32_t stream, uint64_t seq, uint64_t hash, uint32_t peer,
                int32_t pid)
{
    assert_true(nrec < 1024);
    struct ipcf_ledger_record *r = &recs[nrec];
    memset(r, 0, sizeof(*r));
    r->index = nrec;
    r->kind = kind;
    r->stream = stream;
    r->seq = seq;
    r->hash = hash;
    r->peer = peer;
    r->pid = pid;
    nrec++;
}

static void B(uint64_t seq)
{
    add(IPCF_LREC_BEGIN, 0, seq, h(seq), PRODUCER, PPID);
}
static void S(uint64_t seq)
{
    add(IPCF_LREC_SENT, 0, seq, h(seq), PRODUCER, PPID);
}
static void BS(uint64_t seq)
{
    B(seq);
    S(seq);
}
static void R(uint64_t seq)
{
    add(IPCF_LREC_RECEIVED, 0, seq, h(seq), CONSUMER, CPID);
}
static void Rp(uint64_t seq, int32_t pid)
{
    add(IPCF_LREC_RECEIVED, 0, seq, h(seq), CONSUMER, pid);
}
static void note(uint16_t n, uint32_t peer, int32_t pid)
{
    add(IPCF_LREC_NOTE, 0, 0, 0, peer, pid);
    recs[nrec - 1].stream = 0;
    recs[nrec - 1].note = n;
}

static int reset(void **state)
{
    (void)state;
    nrec = 0;
    return 0;
}

static void facts_init(struct ipcf_run_facts *f)
{
    memset(f, 0, sizeof(*f));
    f->peer_names = names;
    f->npeer_names = 2;
}

/* Judge recs with semantics sem (NULL = defaults) and facts f (NULL = clean). */
static void judge(const struct ipcf_semantics *sem, const struct ipcf_run_facts *f,
                  struct ipcf_findings *out)
{
    struct ipcf_ledger_snapshot s;
    struct ipcf_run_facts clean;
    if (!f) {
        facts_init(&clean);
        f = &clean;
    }
    assert_int_equal(ipcf_ledger_snapshot_from(recs, nrec, &s), 0);
    ipcf_findings_init(out);
    int n = ipcf_oracle_judge(&s, sem, sem ? 1 : 0, f, out);
    assert_true(n >= 0);
    assert_int_equal((size_t)n, out->n + out->dropped);
    ipcf_ledger_snapshot_free(&s);
}

static void expect_one(struct ipcf_findings *f, enum ipcf_verdict v, uint64_t seq)
{
    if (f->n != 1 || f->v[0].verdict != v || f->v[0].seq != seq) {
        for (size_t i = 0; i < f->n; i++)
            fprintf(stderr, "  finding: %s: %s\n", ipcf_verdict_name(f->v[i].verdict),
                    f->v[i].detail);
        fail_msg("expected exactly one %s (seq %llu), got %zu finding(s)", ipcf_verdict_name(v),
                 (unsigned long long)seq, f->n);
    }
}

static void expect_ok(struct ipcf_findings *f)
{
    for (size_t i = 0; i < f->n; i++)
        fprintf(stderr, "  unexpected: %s: %s\n", ipcf_verdict_name(f->v[i].verdict),
                f->v[i].detail);
    assert_int_equal(f->n, 0);
    assert_int_equal(ipcf_findings_verdict(f), IPCF_VERDICT_OK);
}

static void test_clean_run_is_ok(void **state)
{
    struct ipcf_findings f;
    (void)state;
    for (uint64_t i = 0; i < 5; i++) {
        BS(i);
        R(i);
    }
    judge(NULL, NULL, &f);
    expect_ok(&f);
    ipcf_findings_free(&f);
}

static void test_lost_message_found_with_detail(void **state)
{
    struct ipcf_findings f;
    (void)state;
    for (uint64_t i = 0; i < 5; i++)
        BS(i);
    R(0), R(1), R(3), R(4);
    judge(NULL, NULL, &f);
    expect_one(&f, IPCF_VERDICT_LOST, 2);
    assert_string_equal(f.v[0].detail, "stream 0 seq 2 sent by producer (pid 100) never received");
    ipcf_findings_free(&f);
}

static void test_duplicate_depends_on_delivery(void **state)
{
    struct ipcf_findings f;
    struct ipcf_semantics sem;
    (void)state;
    BS(0), BS(1);
    R(0), R(1), R(1);
    judge(NULL, NULL, &f);
    expect_one(&f, IPCF_VERDICT_DUPLICATED, 1);
    ipcf_findings_free(&f);
    ipcf_semantics_default(&sem, 0);
    sem.delivery = IPCF_AT_LEAST_ONCE;
    judge(&sem, NULL, &f);
    expect_ok(&f);
    ipcf_findings_free(&f);
}

static void test_corrupted_committed_message(void **state)
{
    struct ipcf_findings f;
    (void)state;
    BS(0), BS(1);
    R(0);
    add(IPCF_LREC_RECEIVED, 0, 1, h(1) ^ 4, CONSUMER, CPID);
    judge(NULL, NULL, &f);
    /* the bad delivery is corrupted; seq 1 was then never validly delivered */
    assert_int_equal(f.n, 2);
    assert_int_equal(f.v[0].verdict, IPCF_VERDICT_CORRUPTED);
    assert_int_equal(f.v[1].verdict, IPCF_VERDICT_LOST);
    ipcf_findings_free(&f);
}

static void test_in_doubt_may_arrive_or_not_but_intact(void **state)
{
    struct ipcf_findings f;
    struct ipcf_run_facts facts;
    struct ipcf_peer_end ends[2] = {
        {PRODUCER, PPID, IPCF_END_KILLED_BY_PLAN, SIGKILL, UINT64_MAX},
        {CONSUMER, CPID, IPCF_END_EXITED, 0, UINT64_MAX},
    };
    (void)state;
    facts_init(&facts);
    facts.ends = ends;
    facts.nends = 2;
    facts.plan_kinds = 1u << IPCF_ACT_KILL_AFTER;
    /* seq 2 begun, producer killed before sent: not delivered -> fine */
    BS(0), BS(1), B(2);
    R(0), R(1);
    judge(NULL, &facts, &f);
    expect_ok(&f);
    ipcf_findings_free(&f);
    /* delivered intact -> fine */
    R(2);
    judge(NULL, &facts, &f);
    expect_ok(&f);
    ipcf_findings_free(&f);
    /* delivered damaged -> torn frame delivered */
    nrec--;
    add(IPCF_LREC_RECEIVED, 0, 2, h(2) ^ 1, CONSUMER, CPID);
    judge(NULL, &facts, &f);
    expect_one(&f, IPCF_VERDICT_TORN, 2);
    ipcf_findings_free(&f);
}

static void test_never_sent_seq_is_torn_or_corrupted(void **state)
{
    struct ipcf_findings f;
    (void)state;
    BS(0);
    R(0);
    R(77); /* nobody ever began seq 77 */
    judge(NULL, NULL, &f);
    expect_one(&f, IPCF_VERDICT_CORRUPTED, 77);
    ipcf_findings_free(&f);
    B(1); /* an unfinished send on the stream: a torn frame can carry any seq */
    judge(NULL, NULL, &f);
    expect_one(&f, IPCF_VERDICT_TORN, 77);
    ipcf_findings_free(&f);
}

static void test_reordered_only_on_ordered_streams(void **state)
{
    struct ipcf_findings f;
    struct ipcf_semantics sem;
    (void)state;
    BS(0), BS(1), BS(2);
    R(0), R(2), R(1);
    judge(NULL, NULL, &f);
    expect_one(&f, IPCF_VERDICT_REORDERED, 1);
    assert_non_null(strstr(f.v[0].detail, "after seq 2"));
    ipcf_findings_free(&f);
    ipcf_semantics_default(&sem, 0);
    sem.ordered = false;
    judge(&sem, NULL, &f);
    expect_ok(&f);
    ipcf_findings_free(&f);
}

/* Receiver killed after delivering 0..3; restarted consumer delivers the rest. */
static void receiver_killed_run(struct ipcf_run_facts *facts, struct ipcf_peer_end *ends,
                                uint64_t first_after)
{
    for (uint64_t i = 0; i < 10; i++)
        BS(i);
    for (uint64_t i = 0; i < 4; i++)
        R(i);
    note(IPCF_NOTE_KILLED_BY_PLAN, CONSUMER, CPID);
    note(IPCF_NOTE_RESTARTED, CONSUMER, CPID2);
    for (uint64_t i = first_after; i < 10; i++)
        Rp(i, CPID2);
    facts_init(facts);
    ends[0] = (struct ipcf_peer_end){CONSUMER, CPID, IPCF_END_KILLED_BY_PLAN, SIGKILL, UINT64_MAX};
    ends[1] = (struct ipcf_peer_end){CONSUMER, CPID2, IPCF_END_EXITED, 0, UINT64_MAX};
    ends[2] = (struct ipcf_peer_end){PRODUCER, PPID, IPCF_END_EXITED, 0, UINT64_MAX};
    facts->ends = ends;
    facts->nends = 3;
    facts->plan_kinds = 1u << IPCF_ACT_KILL_BEFORE;
}

static void test_receiver_death_excuses_in_hand_only(void **state)
{
    struct ipcf_findings f;
    struct ipcf_run_facts facts;
    struct ipcf_peer_end ends[3];
    struct ipcf_semantics sem;
    (void)state;
    receiver_killed_run(&facts, ends, 5); /* seq 4 was in the dying receiver's hand */
    judge(NULL, &facts, &f);
    expect_ok(&f);
    ipcf_findings_free(&f);

    nrec = 0;
    receiver_killed_run(&facts, ends, 6); /* 4 and 5 missing: one too many */
    judge(NULL, &facts, &f);
    expect_one(&f, IPCF_VERDICT_LOST, 5);
    ipcf_findings_free(&f);

    /* a channel that dies with its receiver may lose everything pending */
    ipcf_semantics_default(&sem, 0);
    sem.survives_receiver_death = false;
    judge(&sem, &facts, &f);
    expect_ok(&f);
    ipcf_findings_free(&f);

    /* a scenario that acknowledges every message may lose nothing */
    ipcf_semantics_default(&sem, 0);
    sem.receiver_in_hand = 0;
    judge(&sem, &facts, &f);
    assert_int_equal(f.n, 2);
    ipcf_findings_free(&f);
}

static void test_receiver_never_restarted_excuses_rest(void **state)
{
    struct ipcf_findings f;
    struct ipcf_run_facts facts;
    struct ipcf_peer_end ends[2] = {
        {CONSUMER, CPID, IPCF_END_KILLED_BY_PLAN, SIGKILL, UINT64_MAX},
        {PRODUCER, PPID, IPCF_END_EXITED, 0, UINT64_MAX},
    };
    (void)state;
    for (uint64_t i = 0; i < 6; i++)
        BS(i);
    R(0), R(1);
    facts_init(&facts);
    facts.ends = ends;
    facts.nends = 2;
    facts.plan_kinds = 1u << IPCF_ACT_KILL_BEFORE;
    judge(NULL, &facts, &f);
    expect_ok(&f);
    ipcf_findings_free(&f);
    /* without the death, the same ledger is a loss of 4 messages */
    facts.nends = 0;
    judge(NULL, &facts, &f);
    assert_int_equal(f.n, 4);
    assert_int_equal(f.v[0].verdict, IPCF_VERDICT_LOST);
    ipcf_findings_free(&f);
}

static void test_process_findings(void **state)
{
    struct ipcf_findings f;
    struct ipcf_run_facts facts;
    struct ipcf_peer_end ends[3] = {
        {PRODUCER, PPID, IPCF_END_SIGNALED, SIGSEGV, UINT64_MAX},
        {CONSUMER, CPID, IPCF_END_HUNG, 5000, UINT64_MAX},
        {CONSUMER, CPID2, IPCF_END_EXITED, 3, UINT64_MAX},
    };
    struct ipcf_restart rs = {CONSUMER, -EADDRINUSE, "bind"};
    const char *leaked[] = {"shm:/ipcf.1.ring"};
    const char *fds[] = {"consumer fd 7 -> pipe:[1]"};
    (void)state;
    facts_init(&facts);
    facts.ends = ends;
    facts.nends = 3;
    facts.sanitizer_seen = true;
    facts.sanitizer_excerpt = "ERROR: AddressSanitizer: heap-buffer-overflow";
    facts.restarts = &rs;
    facts.nrestarts = 1;
    facts.check_ran = true;
    facts.check_rc = -IPCF_ECORRUPT;
    facts.check_detail = "count mismatch";
    facts.leaked_names = leaked;
    facts.nleaked_names = 1;
    facts.leaked_fds = fds;
    facts.nleaked_fds = 1;
    facts.plan_kinds = 1u << IPCF_ACT_SHORT; /* transparent */
    judge(NULL, &facts, &f);
    const enum ipcf_verdict want[] = {
        IPCF_VERDICT_CRASH,           IPCF_VERDICT_SANITIZER, IPCF_VERDICT_HANG,
        IPCF_VERDICT_RECOVERY_FAILED, IPCF_VERDICT_INVARIANT, IPCF_VERDICT_EXIT,
        IPCF_VERDICT_LEAKED_NAME,     IPCF_VERDICT_LEAKED_FD,
    };
    assert_int_equal(f.n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < f.n; i++)
        assert_int_equal(f.v[i].verdict, want[i]);
    assert_non_null(strstr(f.v[0].detail, "producer (pid 100) died by signal 11"));
    assert_non_null(strstr(f.v[3].detail, "bind"));
    assert_int_equal(ipcf_findings_verdict(&f), IPCF_VERDICT_CRASH);
    char buf[256];
    ipcf_findings_verdicts(&f, buf, sizeof(buf));
    assert_string_equal(buf, "crash,sanitizer,hang,recovery-failed,invariant,exit,leaked-name,"
                             "leaked-fd");
    ipcf_findings_free(&f);

    /* the same non-zero exit under a destructive plan is a graceful failure */
    facts.nends = 0;
    ends[0] = ends[2];
    facts.ends = ends;
    facts.nends = 1;
    facts.sanitizer_seen = false;
    facts.nrestarts = 0;
    facts.check_ran = false;
    facts.nleaked_names = facts.nleaked_fds = 0;
    facts.plan_kinds = (1u << IPCF_ACT_ERROR) | IPCF_KIND_ERROR_HARD;
    judge(NULL, &facts, &f);
    expect_ok(&f);
    ipcf_findings_free(&f);
    facts.plan_kinds = 0; /* no faults at all: any non-zero exit is a finding */
    judge(NULL, &facts, &f);
    expect_one(&f, IPCF_VERDICT_EXIT, 0);
    ipcf_findings_free(&f);
}

static void test_graceful_failure_excuses_loss_not_corruption(void **state)
{
    struct ipcf_findings f;
    struct ipcf_run_facts facts;
    struct ipcf_peer_end end = {CONSUMER, CPID, IPCF_END_EXITED, 1, UINT64_MAX};
    (void)state;
    BS(0), BS(1), BS(2);
    R(0);
    add(IPCF_LREC_RECEIVED, 0, 1, 12345, CONSUMER, CPID);
    facts_init(&facts);
    facts.ends = &end;
    facts.nends = 1;
    facts.plan_kinds = (1u << IPCF_ACT_ERROR) | IPCF_KIND_ERROR_HARD; /* EIO */
    judge(NULL, &facts, &f);
    expect_one(&f, IPCF_VERDICT_CORRUPTED, 1);
    ipcf_findings_free(&f);
}

static void test_corrupt_plan_excused_only_without_integrity(void **state)
{
    struct ipcf_findings f;
    struct ipcf_run_facts facts;
    struct ipcf_semantics sem;
    (void)state;
    BS(0), BS(1);
    R(0);
    add(IPCF_LREC_RECEIVED, 0, 1, 999, CONSUMER, CPID);
    add(IPCF_LREC_RECEIVED, 0, 1, h(1), CONSUMER, CPID); /* then the retransmission */
    facts_init(&facts);
    facts.plan_kinds = 1u << IPCF_ACT_CORRUPT;
    judge(NULL, &facts, &f);
    expect_one(&f, IPCF_VERDICT_CORRUPTED, 1);
    ipcf_findings_free(&f);
    ipcf_semantics_default(&sem, 0);
    sem.detects_corruption = false;
    judge(&sem, &facts, &f);
    expect_ok(&f);
    ipcf_findings_free(&f);
}

static void test_ledger_problems_are_reported(void **state)
{
    struct ipcf_findings f;
    struct ipcf_ledger_snapshot s;
    struct ipcf_run_facts facts;
    (void)state;
    BS(0);
    R(0);
    facts_init(&facts);
    assert_int_equal(ipcf_ledger_snapshot_from(recs, nrec, &s), 0);
    s.overflowed = 3;
    s.holes = 1; /* nobody died: a hole cannot be explained */
    ipcf_findings_init(&f);
    assert_int_equal(ipcf_oracle_judge(&s, NULL, 0, &facts, &f), 2);
    assert_int_equal(f.v[0].verdict, IPCF_VERDICT_LEDGER);
    assert_non_null(strstr(f.v[0].detail, "overflow"));
    assert_int_equal(f.v[1].verdict, IPCF_VERDICT_LEDGER);
    ipcf_findings_free(&f);
    /* a hole left by a killed peer is expected */
    struct ipcf_peer_end end = {CONSUMER, CPID, IPCF_END_KILLED_BY_PLAN, SIGKILL, UINT64_MAX};
    facts.ends = &end;
    facts.nends = 1;
    facts.plan_kinds = 1u << IPCF_ACT_KILL_AFTER;
    s.overflowed = 0;
    ipcf_findings_init(&f);
    assert_int_equal(ipcf_oracle_judge(&s, NULL, 0, &facts, &f), 0);
    ipcf_findings_free(&f);
    ipcf_ledger_snapshot_free(&s);
}

static void test_black_box_and_bad_args(void **state)
{
    struct ipcf_findings f;
    struct ipcf_run_facts facts;
    struct ipcf_peer_end end = {0, 42, IPCF_END_EXITED, 2, UINT64_MAX};
    (void)state;
    facts_init(&facts);
    facts.ends = &end;
    facts.nends = 1;
    ipcf_findings_init(&f);
    assert_int_equal(ipcf_oracle_judge(NULL, NULL, 0, &facts, &f), -EINVAL);
    facts.black_box = true;
    assert_int_equal(ipcf_oracle_judge(NULL, NULL, 0, &facts, &f), 1);
    assert_int_equal(f.v[0].verdict, IPCF_VERDICT_EXIT);
    ipcf_findings_free(&f);
}

static void test_findings_are_bounded(void **state)
{
    struct ipcf_findings f;
    (void)state;
    for (uint64_t i = 0; i < 300; i++)
        BS(i); /* none received: 300 losses */
    judge(NULL, NULL, &f);
    assert_int_equal(f.n, IPCF_FINDINGS_MAX);
    assert_int_equal(f.dropped, 300 - IPCF_FINDINGS_MAX);
    ipcf_findings_free(&f);
}

static void test_fault_classes_and_labels(void **state)
{
    (void)state;
    struct ipcf_rule rules[2];
    memset(rules, 0, sizeof(rules));
    rules[0].nactions = 2;
    rules[0].actions[0].kind = IPCF_ACT_ERROR;
    rules[0].actions[0].value = EINTR;
    rules[0].actions[1].kind = IPCF_ACT_SHORT;
    rules[0].actions[1].value = 1;
    struct ipcf_plan plan = {rules, 1};
    ipcf_kind_mask k = ipcf_plan_kinds(&plan);
    assert_int_equal(ipcf_fault_class_of(k), IPCF_FAULTS_TRANSPARENT);
    char buf[64];
    ipcf_kinds_label(k, buf, sizeof(buf));
    assert_string_equal(buf, "eintr+short");

    rules[1].nactions = 1;
    rules[1].actions[0].kind = IPCF_ACT_ERROR;
    rules[1].actions[0].value = EIO;
    plan.nrules = 2;
    k = ipcf_plan_kinds(&plan);
    assert_int_equal(ipcf_fault_class_of(k), IPCF_FAULTS_DESTRUCTIVE);
    ipcf_kinds_label(k, buf, sizeof(buf));
    assert_string_equal(buf, "error+short");

    rules[1].actions[0].kind = IPCF_ACT_SIGNAL;
    rules[1].actions[0].value = SIGUSR1;
    assert_int_equal(ipcf_fault_class_of(ipcf_plan_kinds(&plan)), IPCF_FAULTS_TRANSPARENT);
    rules[1].actions[0].value = SIGKILL;
    assert_int_equal(ipcf_fault_class_of(ipcf_plan_kinds(&plan)), IPCF_FAULTS_DESTRUCTIVE);
    rules[1].actions[0].kind = IPCF_ACT_KILL_AFTER;
    k = ipcf_plan_kinds(&plan);
    assert_int_equal(ipcf_fault_class_of(k), IPCF_FAULTS_DESTRUCTIVE);
    ipcf_kinds_label(k, buf, sizeof(buf));
    assert_string_equal(buf, "eintr+short+kill");
    assert_int_equal(ipcf_fault_class_of(0), IPCF_FAULTS_NONE);
    ipcf_kinds_label(0, buf, sizeof(buf));
    assert_string_equal(buf, "none");
    assert_int_equal(ipcf_kinds_label(1u << IPCF_ACT_SHRINK, buf, 3), 6); /* truncated */
    assert_string_equal(buf, "sh");
    assert_int_equal(ipcf_fault_class_of(1u << IPCF_ACT_DELAY), IPCF_FAULTS_TRANSPARENT);
    assert_int_equal(ipcf_plan_kinds(NULL), 0);
}

static void test_verdict_names_round_trip(void **state)
{
    (void)state;
    for (unsigned v = 0; v < IPCF_VERDICT_COUNT; v++) {
        enum ipcf_verdict back;
        const char *n = ipcf_verdict_name((enum ipcf_verdict)v);
        assert_string_not_equal(n, "unknown");
        assert_int_equal(ipcf_verdict_parse(n, &back), 0);
        assert_int_equal(back, v);
    }
    enum ipcf_verdict x;
    assert_string_equal(ipcf_verdict_name(IPCF_VERDICT_TORN), "torn-frame-delivered");
    assert_string_equal(ipcf_verdict_name(IPCF_VERDICT_COUNT), "unknown");
    assert_int_equal(ipcf_verdict_parse("nope", &x), -EINVAL);
}

/* A sender that gives up (non-zero exit under a destructive plan) does not
 * excuse the loss of what it had committed: the channel survives senders. Only
 * a receiver giving up excuses what it had not yet received. */
static void test_sender_graceful_failure_keeps_committed(void **state)
{
    struct ipcf_findings f;
    struct ipcf_run_facts facts;
    struct ipcf_peer_end ends[2] = {
        {PRODUCER, PPID, IPCF_END_EXITED, 1, UINT64_MAX},
        {CONSUMER, CPID, IPCF_END_EXITED, 0, UINT64_MAX},
    };
    (void)state;
    for (uint64_t i = 0; i < 5; i++)
        BS(i);
    B(5); /* in doubt: the send failed with EIO, never committed */
    R(0), R(1), R(2);
    facts_init(&facts);
    facts.ends = ends;
    facts.nends = 2;
    facts.plan_kinds = (1u << IPCF_ACT_ERROR) | IPCF_KIND_ERROR_HARD; /* EIO */
    judge(NULL, &facts, &f);
    assert_int_equal(f.n, 2); /* 3 and 4 were committed: lost */
    assert_int_equal(f.v[0].verdict, IPCF_VERDICT_LOST);
    assert_int_equal(f.v[0].seq, 3);
    assert_int_equal(f.v[1].seq, 4);
    ipcf_findings_free(&f);
    /* the same ledger when the receiver gave up: nobody left to receive */
    ends[0].code = 0;
    ends[1].code = 1;
    judge(NULL, &facts, &f);
    expect_ok(&f);
    ipcf_findings_free(&f);
    /* under a transparent plan a non-zero exit excuses nothing */
    facts.plan_kinds = 1u << IPCF_ACT_SHORT;
    judge(NULL, &facts, &f);
    assert_int_equal(f.n, 3); /* exit + lost 3, 4 */
    assert_int_equal(f.v[0].verdict, IPCF_VERDICT_EXIT);
    ipcf_findings_free(&f);
}

/* A receiver's death excuses what was pending in the channel, not a message it
 * skipped: on an ordered stream a seq lower than one the same process
 * delivered was never "pending" when it died. */
static void test_receiver_death_does_not_excuse_a_skipped_seq(void **state)
{
    struct ipcf_findings f;
    struct ipcf_run_facts facts;
    struct ipcf_peer_end ends[2] = {
        {CONSUMER, CPID, IPCF_END_KILLED_BY_PLAN, SIGKILL, UINT64_MAX},
        {PRODUCER, PPID, IPCF_END_EXITED, 0, UINT64_MAX},
    };
    struct ipcf_semantics sem;
    (void)state;
    for (uint64_t i = 0; i < 6; i++)
        BS(i);
    R(0), R(1), R(3); /* 2 skipped; 4, 5 pending at the death */
    facts_init(&facts);
    facts.ends = ends;
    facts.nends = 2;
    facts.plan_kinds = 1u << IPCF_ACT_KILL_BEFORE;
    judge(NULL, &facts, &f);
    expect_one(&f, IPCF_VERDICT_LOST, 2);
    ipcf_findings_free(&f);
    /* unordered: which one was skipped is not observable; all excused */
    ipcf_semantics_default(&sem, 0);
    sem.ordered = false;
    judge(&sem, &facts, &f);
    expect_ok(&f);
    ipcf_findings_free(&f);
}

/* A receiver that is gone for good (killed, not restarted, the only one)
 * cannot receive what is sent after its death either (a POSIX mq keeps
 * accepting sends): not a loss. */
static void test_gone_receiver_excuses_later_sends(void **state)
{
    struct ipcf_findings f;
    struct ipcf_run_facts facts;
    struct ipcf_peer_end ends[2] = {
        {CONSUMER, CPID, IPCF_END_KILLED_BY_PLAN, SIGKILL, 0},
        {PRODUCER, PPID, IPCF_END_EXITED, 0, UINT64_MAX},
    };
    (void)state;
    BS(0), BS(1);
    R(0), R(1);
    ends[0].ledger_at = nrec; /* the consumer died here */
    BS(2), BS(3), BS(4);
    facts_init(&facts);
    facts.ends = ends;
    facts.nends = 2;
    facts.plan_kinds = 1u << IPCF_ACT_KILL_AFTER;
    judge(NULL, &facts, &f);
    expect_ok(&f);
    ipcf_findings_free(&f);
    /* restarted (another incarnation ended later) but never received them */
    struct ipcf_peer_end three[3] = {
        ends[0], {CONSUMER, CPID2, IPCF_END_EXITED, 0, UINT64_MAX}, ends[1]};
    facts.ends = three;
    facts.nends = 3;
    judge(NULL, &facts, &f);
    assert_int_equal(f.n, 3);
    assert_int_equal(f.v[0].verdict, IPCF_VERDICT_LOST);
    ipcf_findings_free(&f);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup(fn, reset)
    const struct CMUnitTest tests[] = {
        T(test_clean_run_is_ok),
        T(test_lost_message_found_with_detail),
        T(test_duplicate_depends_on_delivery),
        T(test_corrupted_committed_message),
        T(test_in_doubt_may_arrive_or_not_but_intact),
        T(test_never_sent_seq_is_torn_or_corrupted),
        T(test_reordered_only_on_ordered_streams),
        T(test_receiver_death_excuses_in_hand_only),
        T(test_receiver_never_restarted_excuses_rest),
        T(test_process_findings),
        T(test_graceful_failure_excuses_loss_not_corruption),
        T(test_sender_graceful_failure_keeps_committed),
        T(test_receiver_death_does_not_excuse_a_skipped_seq),
        T(test_gone_receiver_excuses_later_sends),
        T(test_corrupt_plan_excused_only_without_integrity),
        T(test_ledger_problems_are_reported),
        T(test_black_box_and_bad_args),
        T(test_findings_are_bounded),
        T(test_fault_classes_and_labels),
        T(test_verdict_names_round_trip),
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
