/* test_fuzzinput.c — the fuzz-input splitter (ipcfuzz/fuzz.h) and its fault
 * chooser: defaults on exhaustion, minimal consumption, both ends, bounds,
 * determinism, and the planted bug fuzz_bytes_no_clamp caught by the bounds
 * check. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "testutil.h"
#include "ipcfuzz/bugs.h"
#include "ipcfuzz/faults.h"
#include "ipcfuzz/fuzz.h"

static void test_empty_input_gives_defaults(void **state)
{
    struct ipcf_fuzz_input in;
    size_t got = 99;
    const uint8_t *p;
    static const char *const list[] = {"a", "b", "c"};

    (void)state;
    ipcf_fuzz_init(&in, NULL, 0);
    assert_int_equal(ipcf_fuzz_remaining(&in), 0);
    assert_int_equal(ipcf_fuzz_range(&in, 7, 90), 7);
    assert_int_equal(ipcf_fuzz_u64(&in), 0);
    assert_false(ipcf_fuzz_bool(&in));
    assert_int_equal(ipcf_fuzz_choice(&in, 5), 0);
    assert_string_equal(ipcf_fuzz_pick(&in, list, 3), "a");
    p = ipcf_fuzz_bytes(&in, 10, &got);
    assert_non_null(p);
    assert_int_equal(got, 0);
    p = ipcf_fuzz_rest(&in, &got);
    assert_non_null(p);
    assert_int_equal(got, 0);
}

static void test_decisions_from_end_bytes_from_front(void **state)
{
    static const uint8_t data[] = {1, 2, 3, 4, 5};
    struct ipcf_fuzz_input in;
    size_t got;
    const uint8_t *p;

    (void)state;
    ipcf_fuzz_init(&in, data, sizeof(data));
    p = ipcf_fuzz_bytes(&in, 2, &got);
    assert_int_equal(got, 2);
    assert_ptr_equal(p, data);
    assert_int_equal(ipcf_fuzz_range(&in, 0, 255), 5); /* last byte first */
    assert_int_equal(ipcf_fuzz_range(&in, 0, 255), 4);
    assert_int_equal(ipcf_fuzz_remaining(&in), 1);
    p = ipcf_fuzz_rest(&in, &got);
    assert_int_equal(got, 1);
    assert_int_equal(p[0], 3);
    assert_int_equal(ipcf_fuzz_remaining(&in), 0);
    assert_int_equal(ipcf_fuzz_range(&in, 10, 20), 10);
}

static void test_range_consumes_minimal_bytes(void **state)
{
    static const uint8_t data[32] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    struct ipcf_fuzz_input in;

    (void)state;
    ipcf_fuzz_init(&in, data, sizeof(data));
    assert_int_equal(ipcf_fuzz_range(&in, 5, 5), 5); /* width 0: nothing consumed */
    assert_int_equal(ipcf_fuzz_remaining(&in), 32);
    assert_int_equal(ipcf_fuzz_range(&in, 0, 255), 8); /* one byte */
    assert_int_equal(ipcf_fuzz_remaining(&in), 31);
    /* width 256 needs two bytes: 0x07 is the high byte, 0x06 the low byte. */
    assert_int_equal(ipcf_fuzz_range(&in, 0, 256), (0x0706 % 257));
    assert_int_equal(ipcf_fuzz_remaining(&in), 29);
    assert_int_equal(ipcf_fuzz_range(&in, 100, 100 + 0xffff), 100 + 0x0504);
    assert_int_equal(ipcf_fuzz_remaining(&in), 27);
    /* Full range: eight bytes. */
    assert_true(ipcf_fuzz_u64(&in) == 0x030201ffffffffffull);
    assert_int_equal(ipcf_fuzz_remaining(&in), 19);
    /* Swapped bounds are accepted. */
    assert_int_equal(ipcf_fuzz_range(&in, 9, 3), 3 + 0xff % 7);
}

static void test_values_in_bounds_and_deterministic(void **state)
{
    uint8_t data[257];
    uint64_t first[64], again[64];

    (void)state;
    srand(7);
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)rand();
    for (int round = 0; round < 2; round++) {
        struct ipcf_fuzz_input in;
        uint64_t *out = round ? again : first;

        ipcf_fuzz_init(&in, data, sizeof(data));
        for (int i = 0; i < 64; i++) {
            uint64_t lo = (uint64_t)i * 3, hi = lo + (uint64_t)i * i * 1000;
            uint64_t v = ipcf_fuzz_range(&in, lo, hi);
            assert_true(v >= lo && v <= hi);
            assert_true(ipcf_fuzz_choice(&in, (size_t)i + 1) <= (size_t)i);
            out[i] = v;
        }
    }
    assert_memory_equal(first, again, sizeof(first));
}

/* Random interleavings of every call over an exact-size heap buffer: every
 * pointer stays inside it, no byte is handed out twice, and (under ASan) no
 * read goes past it. Returns false if a byte run overlapped or overran. */
static bool bounds_hold(unsigned seed)
{
    bool ok = true;

    srand(seed);
    for (int round = 0; round < 200 && ok; round++) {
        size_t size = (size_t)(rand() % 64);
        uint8_t *data = malloc(size ? size : 1);
        struct ipcf_fuzz_input in;
        size_t front = 0, used_tail = 0;

        assert_non_null(data);
        for (size_t i = 0; i < size; i++)
            data[i] = (uint8_t)rand();
        ipcf_fuzz_init(&in, data, size);
        for (int op = 0; op < 40 && ok; op++) {
            size_t before = ipcf_fuzz_remaining(&in), got = 0;
            const uint8_t *p;
            uint8_t copy[16];

            switch (rand() % 6) {
            case 0:
                (void)ipcf_fuzz_range(&in, 0, (uint64_t)rand());
                break;
            case 1:
                (void)ipcf_fuzz_bool(&in);
                break;
            case 2:
                p = ipcf_fuzz_bytes(&in, (size_t)(rand() % 24), &got);
                ok = ok && p == data + front && got <= before && front + got + used_tail <= size;
                front += got;
                break;
            case 3:
                p = ipcf_fuzz_bytes_upto(&in, 20, &got);
                ok = ok && p >= data && got <= before;
                if (ok)
                    front = (size_t)(p - data) + got;
                break;
            case 4:
                got = ipcf_fuzz_copy(&in, copy, sizeof(copy));
                ok = ok && got <= before && got <= sizeof(copy);
                if (ok && got)
                    ok = memcmp(copy, data + front, got) == 0;
                front += got;
                break;
            case 5:
                (void)ipcf_fuzz_choice(&in, (size_t)(rand() % 9));
                break;
            }
            if (ok)
                ok = ipcf_fuzz_remaining(&in) <= before;
            used_tail = size - front - (ok ? ipcf_fuzz_remaining(&in) : 0);
            ok = ok && front + used_tail <= size;
        }
        free(data);
    }
    return ok;
}

static int bounds_hold_child(void *arg)
{
    (void)arg;
    if (ipcf_bugs_set("fuzz_bytes_no_clamp") != 0)
        return 3;
    return bounds_hold(1) ? 0 : 1;
}

static void test_bounds_and_planted_bug(void **state)
{
    int status = 0;
    pid_t pid;

    (void)state;
    assert_true(bounds_hold(1));
    assert_true(bounds_hold(2));
    /* With the planted bug the bounds check fails (exit 1), or a sanitizer
     * stops the overread first: the child must not exit 0. */
    pid = ipcft_fork(bounds_hold_child, NULL);
    assert_int_equal(ipcft_wait(pid, 30000, &status), 0);
    assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 3);
    /* The planted bug lets byte runs overlap the decisions / overrun: the
     * same check must catch it. */
    assert_int_equal(ipcf_bugs_set("fuzz_bytes_no_clamp"), 0);
    {
        static const uint8_t data[4] = {1, 2, 3, 4};
        struct ipcf_fuzz_input in;
        size_t got;

        ipcf_fuzz_init(&in, data, sizeof(data));
        (void)ipcf_fuzz_range(&in, 0, 255);
        (void)ipcf_fuzz_bytes(&in, 10, &got);
        assert_true(got > 3); /* the unclamped run: what bounds_hold detects */
    }
    assert_int_equal(ipcf_bugs_set(""), 0);
}

static void test_chooser(void **state)
{
    static const char *const sets[] = {"read"};
    uint8_t data[64];
    struct ipcf_fuzz_input in;
    struct ipcf_fuzz_faults f;
    struct ipcf_decision d;
    int faults = 0;

    (void)state;
    /* Decisions read from the end: 1 = EINTR (kinds EINTR|SHORT -> alternatives
     * pass, EINTR, SHORT), 2 = SHORT then N in [1, 10]. */
    memset(data, 1, sizeof(data));
    data[63] = 2;
    data[62] = 4; /* N = 1 + 4 % 10 = 5 */
    ipcf_fuzz_init(&in, data, sizeof(data));
    memset(&f, 0, sizeof(f));
    f.in = &in;
    f.kinds = IPCF_FUZZ_FAULT_EINTR | IPCF_FUZZ_FAULT_SHORT;
    f.sets = sets;
    f.nsets = 1;
    f.max_short = 10;
    f.max_in_a_row = 3;

    ipcf_fuzz_chooser(&f, "write", 1, &d); /* not selected: pass, nothing consumed */
    assert_int_equal(d.kind, IPCF_ACT_NONE);
    assert_int_equal(ipcf_fuzz_remaining(&in), 64);
    ipcf_fuzz_chooser(&f, "read", 1, &d);
    assert_int_equal(d.kind, IPCF_ACT_SHORT);
    assert_int_equal(d.value, 5);
    ipcf_fuzz_chooser(&f, "read", 2, &d);
    assert_int_equal(d.kind, IPCF_ACT_ERROR);
    assert_int_equal(d.value, EINTR);
    ipcf_fuzz_chooser(&f, "read", 3, &d);
    assert_int_equal(d.kind, IPCF_ACT_ERROR);
    ipcf_fuzz_chooser(&f, "read", 4, &d); /* in-a-row cap (3) forces a pass */
    assert_int_equal(d.kind, IPCF_ACT_NONE);
    assert_int_equal(f.shorts, 1);
    assert_int_equal(f.eintr, 2);

    /* Exhausted input: every call passes, so retry loops end. */
    ipcf_fuzz_init(&in, data, 0);
    for (int i = 0; i < 100; i++) {
        ipcf_fuzz_chooser(&f, "read", (uint64_t)i, &d);
        faults += d.kind != IPCF_ACT_NONE;
    }
    assert_int_equal(faults, 0);

    /* max_faults caps the total. */
    ipcf_fuzz_init(&in, data, sizeof(data));
    f.max_faults = f.faults + 2;
    f.max_in_a_row = 100;
    faults = 0;
    for (int i = 0; i < 30; i++) {
        ipcf_fuzz_chooser(&f, "read", (uint64_t)i, &d);
        faults += d.kind != IPCF_ACT_NONE;
    }
    assert_int_equal(faults, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_input_gives_defaults),
        cmocka_unit_test(test_decisions_from_end_bytes_from_front),
        cmocka_unit_test(test_range_consumes_minimal_bytes),
        cmocka_unit_test(test_values_in_bounds_and_deterministic),
        cmocka_unit_test(test_bounds_and_planted_bug),
        cmocka_unit_test(test_chooser),
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
