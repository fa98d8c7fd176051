/* test_ledger.c — the shared ledger: records, overflow, validation, and the
 * publication protocol under concurrent writers and writers SIGKILLed
 * mid-append (no half record is ever visible). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "ipcfuzz/bugs.h"
#include "ipcfuzz/ledger.h"
#include "ledger_internal.h"

static void test_hash_is_stable_and_sensitive(void **state)
{
    (void)state;
    const char a[] = "hello world", b[] = "hello worle";
    assert_true(ipcf_ledger_hash(a, sizeof(a)) == ipcf_ledger_hash(a, sizeof(a)));
    assert_true(ipcf_ledger_hash(a, sizeof(a)) != ipcf_ledger_hash(b, sizeof(b)));
    assert_true(ipcf_ledger_hash("", 0) != ipcf_ledger_hash("\0", 1));
    /* a one-bit flip changes many output bits */
    uint64_t x = ipcf_ledger_hash(a, sizeof(a));
    char c[sizeof(a)];
    memcpy(c, a, sizeof(a));
    c[0] ^= 1;
    int bits = __builtin_popcountll(x ^ ipcf_ledger_hash(c, sizeof(c)));
    assert_true(bits > 10);
}

static void test_records_carry_peer_pid_hash(void **state)
{
    struct ipcf_ledger *l;
    struct ipcf_ledger_snapshot s;
    (void)state;
    assert_int_equal(ipcf_ledger_create(&l, 16), 0);
    ipcf_ledger_attach(l, 3);
    assert_ptr_equal(ipcf_ledger_current(), l);
    assert_int_equal(ipcf_ledger_send_begin(1, 7, "abc", 3), 0);
    assert_int_equal(ipcf_ledger_sent(1, 7, "abc", 3), 0);
    assert_int_equal(ipcf_ledger_received(1, 7, "abc", 3), 0);
    assert_int_equal(ipcf_ledger_note(IPCF_NOTE_USER, -5), 0);
    assert_int_equal(ipcf_ledger_note((enum ipcf_ledger_note)99, 0), -EINVAL);
    assert_int_equal(ipcf_ledger_validate(l, NULL, 0), 0);
    assert_int_equal(ipcf_ledger_snapshot_take(l, &s), 0);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.holes, 0);
    assert_int_equal(s.corrupt, 0);
    const uint16_t kinds[] = {IPCF_LREC_BEGIN, IPCF_LREC_SENT, IPCF_LREC_RECEIVED, IPCF_LREC_NOTE};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(s.records[i].kind, kinds[i]);
        assert_int_equal(s.records[i].index, i);
        assert_int_equal(s.records[i].peer, 3);
        assert_int_equal(s.records[i].pid, getpid());
        assert_int_equal(s.records[i].stream, 1);
        assert_int_equal(s.records[i].seq, 7);
        assert_int_equal(s.records[i].len, 3);
        assert_true(s.records[i].hash == ipcf_ledger_hash("abc", 3));
    }
    assert_int_equal(s.records[3].note, IPCF_NOTE_USER);
    assert_int_equal((int64_t)s.records[3].seq, -5);
    assert_string_equal(ipcf_ledger_kind_name(IPCF_LREC_RECEIVED), "received");
    assert_string_equal(ipcf_ledger_note_name(IPCF_NOTE_KILLED_BY_PLAN), "killed-by-plan");
    ipcf_ledger_snapshot_free(&s);
    ipcf_ledger_reset(l);
    assert_int_equal(ipcf_ledger_snapshot_take(l, &s), 0);
    assert_int_equal(s.n, 0);
    ipcf_ledger_snapshot_free(&s);
    ipcf_ledger_destroy(l);
    assert_null(ipcf_ledger_current());
}

static void test_detached_calls_are_noops(void **state)
{
    (void)state;
    ipcf_ledger_attach(NULL, 0);
    assert_int_equal(ipcf_ledger_sent(0, 1, "x", 1), 0);
    assert_int_equal(ipcf_ledger_received(0, 1, "x", 1), 0);
}

static void test_overflow_is_counted_not_silent(void **state)
{
    struct ipcf_ledger *l;
    struct ipcf_ledger_snapshot s;
    (void)state;
    assert_int_equal(ipcf_ledger_create(&l, 4), 0);
    ipcf_ledger_attach(l, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(ipcf_ledger_sent(0, (uint64_t)i, &i, sizeof(i)), 0);
    assert_int_equal(ipcf_ledger_sent(0, 4, "x", 1), -ENOSPC);
    assert_int_equal(ipcf_ledger_sent(0, 5, "x", 1), -ENOSPC);
    assert_int_equal(ipcf_ledger_overflowed(l), 2);
    assert_int_equal(ipcf_ledger_validate(l, NULL, 0), 0);
    assert_int_equal(ipcf_ledger_snapshot_take(l, &s), 0);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.overflowed, 2);
    ipcf_ledger_snapshot_free(&s);
    ipcf_ledger_destroy(l);
    assert_int_equal(ipcf_ledger_create(&l, IPCF_LEDGER_MAX_CAPACITY + 1), -EINVAL);
}

static void test_validate_catches_scribble(void **state)
{
    struct ipcf_ledger *l;
    char why[128];
    (void)state;
    assert_int_equal(ipcf_ledger_create(&l, 8), 0);
    ipcf_ledger_attach(l, 0);
    assert_int_equal(ipcf_ledger_sent(0, 1, "x", 1), 0);
    assert_int_equal(ipcf_ledger_validate(l, why, sizeof(why)), 0);
    /* A buggy peer writes into the first slot's record (header is 64 bytes,
     * the slot starts with its state and checksum words). */
    memset((char *)l + 64 + 16, 0x5a, 8);
    assert_int_equal(ipcf_ledger_validate(l, why, sizeof(why)), -IPCF_ECORRUPT);
    assert_non_null(strstr(why, "slot 0"));
    struct ipcf_ledger_snapshot s;
    assert_int_equal(ipcf_ledger_snapshot_take(l, &s), 0);
    assert_int_equal(s.corrupt, 1);
    assert_int_equal(s.n, 0);
    ipcf_ledger_snapshot_free(&s);
    /* header damage */
    memset(l, 0, 8);
    assert_int_equal(ipcf_ledger_validate(l, why, sizeof(why)), -IPCF_ECORRUPT);
    ipcf_ledger_destroy(l);
}

#define PER_CHILD 3000

static int writer(void *arg)
{
    uint32_t stream = (uint32_t)(uintptr_t)arg;
    for (uint64_t i = 0; i < PER_CHILD; i++)
        if (ipcf_ledger_sent(stream, i, &i, sizeof(i)) != 0)
            return 1;
    return 0;
}

static void test_concurrent_writers_all_published(void **state)
{
    struct ipcf_ledger *l;
    struct ipcf_ledger_snapshot s;
    (void)state;
    assert_int_equal(ipcf_ledger_create(&l, 4 * PER_CHILD + 1), 0);
    ipcf_ledger_attach(l, 1);
    /* the parent appends first: its cached pid must not leak into children */
    assert_int_equal(ipcf_ledger_note(IPCF_NOTE_USER, 0), 0);
    pid_t a = ipcft_fork(writer, (void *)(uintptr_t)0);
    pid_t b = ipcft_fork(writer, (void *)(uintptr_t)1);
    ipcft_expect_exit0(a, 20000);
    ipcft_expect_exit0(b, 20000);
    assert_int_equal(ipcf_ledger_validate(l, NULL, 0), 0);
    assert_int_equal(ipcf_ledger_snapshot_take(l, &s), 0);
    assert_int_equal(s.n, 2 * PER_CHILD + 1);
    assert_int_equal(s.holes, 0);
    assert_int_equal(s.records[0].pid, getpid());
    uint64_t next[2] = {0, 0};
    for (size_t i = 1; i < s.n; i++) {
        const struct ipcf_ledger_record *r = &s.records[i];
        assert_true(r->stream < 2);
        assert_int_equal(r->pid, r->stream == 0 ? a : b);
        /* each writer's records appear in its program order */
        assert_int_equal(r->seq, next[r->stream]);
        assert_true(r->hash == ipcf_ledger_hash(&r->seq, sizeof(r->seq)));
        next[r->stream]++;
    }
    ipcf_ledger_snapshot_free(&s);
    ipcf_ledger_destroy(l);
}

static int endless_writer(void *arg)
{
    (void)arg;
    for (uint64_t i = 0;; i++) {
        unsigned char msg[40];
        memset(msg, (int)(i & 0xff), sizeof(msg));
        memcpy(msg, &i, sizeof(i));
        if (ipcf_ledger_send_begin(0, i, msg, sizeof(msg)) != 0 ||
            ipcf_ledger_sent(0, i, msg, sizeof(msg)) != 0)
            pause(); /* full: wait for the kill */
    }
    return 0;
}

/* Check every visible record of a killed single writer: complete and in order. */
static void check_killed_writer(struct ipcf_ledger *l, pid_t pid)
{
    struct ipcf_ledger_snapshot s;
    assert_int_equal(ipcf_ledger_validate(l, NULL, 0), 0);
    assert_int_equal(ipcf_ledger_snapshot_take(l, &s), 0);
    assert_int_equal(s.corrupt, 0);
    assert_true(s.holes <= 1);
    for (size_t i = 0; i < s.n; i++) {
        const struct ipcf_ledger_record *r = &s.records[i];
        assert_int_equal(r->pid, pid);
        assert_int_equal(r->seq, i / 2);
        assert_int_equal(r->kind, i % 2 ? IPCF_LREC_SENT : IPCF_LREC_BEGIN);
        unsigned char msg[40];
        uint64_t seq = r->seq;
        memset(msg, (int)(seq & 0xff), sizeof(msg));
        memcpy(msg, &seq, sizeof(seq));
        assert_true(r->hash == ipcf_ledger_hash(msg, sizeof(msg)));
        assert_int_equal(r->len, sizeof(msg));
    }
    ipcf_ledger_snapshot_free(&s);
}

static void test_writer_killed_at_random_leaves_no_half_record(void **state)
{
    (void)state;
    struct ipcf_ledger *l;
    assert_int_equal(ipcf_ledger_create(&l, 1 << 18), 0);
    ipcf_ledger_attach(l, 2);
    for (int round = 0; round < 20; round++) {
        ipcf_ledger_reset(l);
        pid_t pid = ipcft_fork(endless_writer, NULL);
        /* let it write a while: a varying number of records, bounded wait */
        int64_t deadline = ipcft_now_ms() + 5000;
        struct ipcf_ledger_snapshot s;
        size_t want = 200 + (size_t)round * 500;
        for (;;) {
            assert_int_equal(ipcf_ledger_snapshot_take(l, &s), 0);
            size_t n = s.n;
            ipcf_ledger_snapshot_free(&s);
            if (n >= want || ipcft_now_ms() > deadline)
                break;
            usleep(200);
        }
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(ipcft_wait(pid, 5000, &status), 0);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        check_killed_writer(l, pid);
    }
    ipcf_ledger_destroy(l);
}

static void kill_self_at_5(uint64_t idx)
{
    if (idx == 5)
        raise(SIGKILL);
}

static int writer_killed_mid_record(void *arg)
{
    if (arg && ipcf_bugs_set("ledger_publish_early") != 0)
        return 3;
    ipcf__ledger_test_hook = kill_self_at_5;
    for (uint64_t i = 0; i < 10; i++) {
        unsigned char msg[40];
        memset(msg, (int)(i & 0xff), sizeof(msg));
        memcpy(msg, &i, sizeof(i));
        /* records alternate begin/sent: the 6th append (idx 5) is sent(2) */
        if (ipcf_ledger_send_begin(0, i, msg, sizeof(msg)) != 0 ||
            ipcf_ledger_sent(0, i, msg, sizeof(msg)) != 0)
            return 2;
    }
    return 0;
}

static struct ipcf_ledger *run_mid_record_kill(int planted_bug, pid_t *pidp)
{
    struct ipcf_ledger *l;
    int status;
    assert_int_equal(ipcf_ledger_create(&l, 64), 0);
    ipcf_ledger_attach(l, 0);
    pid_t pid = ipcft_fork(writer_killed_mid_record, planted_bug ? (void *)1 : NULL);
    assert_int_equal(ipcft_wait(pid, 5000, &status), 0);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    *pidp = pid;
    return l;
}

static void test_writer_killed_mid_record_leaves_a_hole(void **state)
{
    (void)state;
    pid_t pid;
    struct ipcf_ledger *l = run_mid_record_kill(0, &pid);
    struct ipcf_ledger_snapshot s;
    check_killed_writer(l, pid);
    assert_int_equal(ipcf_ledger_snapshot_take(l, &s), 0);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.reserved, 6);
    assert_int_equal(s.holes, 1);
    ipcf_ledger_snapshot_free(&s);
    ipcf_ledger_destroy(l);
}

/* Planted bug ledger_publish_early: publishing before writing the record
 * makes the half record visible; validate and snapshot must catch it. */
static void test_ledger_publish_early_bug_is_caught(void **state)
{
    (void)state;
    pid_t pid;
    struct ipcf_ledger *l = run_mid_record_kill(1, &pid);
    struct ipcf_ledger_snapshot s;
    char why[128];
    assert_int_equal(ipcf_ledger_validate(l, why, sizeof(why)), -IPCF_ECORRUPT);
    assert_non_null(strstr(why, "slot 5"));
    assert_int_equal(ipcf_ledger_snapshot_take(l, &s), 0);
    assert_int_equal(s.corrupt, 1);
    ipcf_ledger_snapshot_free(&s);
    ipcf_ledger_destroy(l);
}

static void test_snapshot_from_records(void **state)
{
    (void)state;
    struct ipcf_ledger_record r[2] = {{.kind = IPCF_LREC_SENT, .seq = 4},
                                      {.kind = IPCF_LREC_RECEIVED, .seq = 4}};
    struct ipcf_ledger_snapshot s;
    assert_int_equal(ipcf_ledger_snapshot_from(r, 2, &s), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.records[1].index, 1);
    ipcf_ledger_snapshot_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_is_stable_and_sensitive),
        cmocka_unit_test(test_records_carry_peer_pid_hash),
        cmocka_unit_test(test_detached_calls_are_noops),
        cmocka_unit_test(test_overflow_is_counted_not_silent),
        cmocka_unit_test(test_validate_catches_scribble),
        cmocka_unit_test(test_concurrent_writers_all_published),
        cmocka_unit_test(test_writer_killed_at_random_leaves_no_half_record),
        cmocka_unit_test(test_writer_killed_mid_record_leaves_a_hole),
        cmocka_unit_test(test_ledger_publish_early_bug_is_caught),
        cmocka_unit_test(test_snapshot_from_records),
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
