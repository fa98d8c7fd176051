/* test_bugs.c — the planted-bug switchboard: off by default, enabled by name,
 * unknown names refused, inherited through IPCF_BUGS. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "ipcfuzz/bugs.h"

IPCF_BUG_DEFINE(test_bug_a, "first test bug");
IPCF_BUG_DEFINE(test_bug_b, "second test bug");

static void test_off_by_default_and_listed(void **state)
{
    (void)state;
    assert_false(IPCF_BUG(test_bug_a));
    int seen = 0;
    for (size_t i = 0; ipcf_bugs_at(i); i++)
        if (!strcmp(ipcf_bugs_at(i)->name, "test_bug_a") ||
            !strcmp(ipcf_bugs_at(i)->name, "test_bug_b"))
            seen++;
    assert_int_equal(seen, 2);
}

static void test_set_enables_exactly_named(void **state)
{
    (void)state;
    assert_int_equal(ipcf_bugs_set("test_bug_b"), 0);
    assert_false(IPCF_BUG(test_bug_a));
    assert_true(IPCF_BUG(test_bug_b));
    assert_string_equal(getenv("IPCF_BUGS"), "test_bug_b");
    assert_int_equal(ipcf_bugs_set("test_bug_a,test_bug_b"), 0);
    assert_true(IPCF_BUG(test_bug_a));
    assert_int_equal(ipcf_bugs_set(""), 0);
    assert_false(IPCF_BUG(test_bug_a));
    assert_false(IPCF_BUG(test_bug_b));
    assert_null(getenv("IPCF_BUGS"));
}

static void test_unknown_refused_without_change(void **state)
{
    (void)state;
    assert_int_equal(ipcf_bugs_set("test_bug_a"), 0);
    assert_int_equal(ipcf_bugs_set("test_bug_b,no_such_bug"), -ENOENT);
    assert_true(IPCF_BUG(test_bug_a));
    assert_false(IPCF_BUG(test_bug_b));
    assert_int_equal(ipcf_bugs_set(""), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off_by_default_and_listed),
        cmocka_unit_test(test_set_enables_exactly_named),
        cmocka_unit_test(test_unknown_refused_without_change),
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
