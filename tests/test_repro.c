/* test_repro.c — reproducer files: round trip (text and file), escapes,
 * input bytes, every error path with its line/key, and a garbage loop that
 * the parser must survive (it is also the libFuzzer entry's contract). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "ipcfuzz/names.h"
#include "repro.h"

static void fill(struct ipcf_repro *r)
{
    ipcf_repro_init(r);
    assert_int_equal(ipcf_repro_set(&r->scenario, "pipe"), 0);
    assert_int_equal(ipcf_repro_set(&r->plan, "write:kill=after:when=5:peer=producer"), 0);
    r->seed = UINT64_MAX;
    assert_int_equal(ipcf_repro_set(&r->bugs, "pipe_no_eintr_retry"), 0);
    assert_int_equal(ipcf_repro_set(&r->verdicts, "lost,crash"), 0);
    assert_int_equal(ipcf_repro_set(&r->detail, "line one\nline\ttwo \\ back\x01slash"), 0);
    assert_int_equal(ipcf_repro_set(&r->created_by, "ipcfuzz 0.1.0"), 0);
    const unsigned char in[] = {0, 1, 0xfe, 0xff, '\n'};
    assert_int_equal(ipcf_repro_set_input(r, in, sizeof(in)), 0);
}

static void expect_same(const struct ipcf_repro *a, const struct ipcf_repro *b)
{
    assert_string_equal(a->scenario, b->scenario);
    assert_string_equal(a->plan, b->plan);
    assert_true(a->seed == b->seed);
    assert_string_equal(a->bugs, b->bugs);
    assert_string_equal(a->verdicts, b->verdicts);
    assert_string_equal(a->detail, b->detail);
    assert_string_equal(a->created_by, b->created_by);
    assert_int_equal(a->has_input, b->has_input);
    assert_int_equal(a->input_len, b->input_len);
    assert_memory_equal(a->input, b->input, a->input_len);
}

static void test_round_trip_text(void **state)
{
    struct ipcf_repro a, b;
    struct ipcf_repro_error err;
    char *text;
    size_t len;
    (void)state;
    fill(&a);
    assert_int_equal(ipcf_repro_format(&a, "/tmp/my file.repro", &text, &len), 0);
    assert_non_null(strstr(text, "ipcfuzz-reproducer 1\n"));
    assert_non_null(strstr(text, "detail: line one\\nline\\ttwo \\\\ back\\x01slash\n"));
    assert_non_null(strstr(text, "replay: ipcfuzz replay '/tmp/my file.repro'\n"));
    assert_non_null(strstr(text, "input: hex:0001feff0a\n"));
    assert_non_null(strstr(text, "seed: 18446744073709551615\n"));
    assert_int_equal(ipcf_repro_parse(text, len, &b, &err), 0);
    expect_same(&a, &b);
    assert_string_equal(b.replay, "ipcfuzz replay '/tmp/my file.repro'");
    free(text);
    ipcf_repro_free(&a);
    ipcf_repro_free(&b);
}

static void test_round_trip_file(void **state)
{
    struct ipcf_repro a, b;
    struct ipcf_repro_error err;
    char path[IPCF_NAME_MAX];
    (void)state;
    fill(&a);
    assert_int_equal(ipcf_name_path(path, sizeof(path), "finding.repro"), 0);
    int rc = ipcf_repro_write_file(&a, path);
    assert_int_equal(rc, 0);
    rc = ipcf_repro_read_file(path, &b, &err);
    unlink(path);
    assert_int_equal(rc, 0);
    expect_same(&a, &b);
    char want[IPCF_NAME_MAX + 32];
    snprintf(want, sizeof(want), "ipcfuzz replay %s", path);
    assert_string_equal(b.replay, want);
    ipcf_repro_free(&a);
    ipcf_repro_free(&b);
    assert_int_equal(ipcf_repro_read_file("/nonexistent/x", &b, &err), -ENOENT);
}

static int parse_str(const char *s, struct ipcf_repro *out, struct ipcf_repro_error *err)
{
    return ipcf_repro_parse(s, strlen(s), out, err);
}

#define HDR "ipcfuzz-reproducer 1\n"
#define MIN HDR "scenario: s\nplan: \nseed: 1\nverdict: ok\n"

static void expect_error(const char *text, unsigned line, const char *needle)
{
    struct ipcf_repro r;
    struct ipcf_repro_error err;
    int rc = parse_str(text, &r, &err);
    if (rc != -IPCF_EPARSE || err.line != line || !strstr(err.msg, needle))
        fail_msg("parse of <<%s>>: rc %d line %u msg '%s' (want line %u, '%s')", text, rc, err.line,
                 err.msg, line, needle);
    assert_null(r.scenario);
}

static void test_minimal_and_extensions(void **state)
{
    struct ipcf_repro r;
    struct ipcf_repro_error err;
    (void)state;
    assert_int_equal(parse_str(MIN, &r, &err), 0);
    assert_string_equal(r.plan, "");
    assert_null(r.bugs);
    assert_int_equal(r.has_input, 0);
    ipcf_repro_free(&r);
    assert_int_equal(parse_str(HDR "# comment\n\nx-future: whatever\r\nscenario: s\nplan: p\n"
                                   "seed: 0\nverdict: hang\ninput: base64:AAH+/w==",
                               &r, &err),
                     0);
    assert_int_equal(r.input_len, 4);
    assert_memory_equal(r.input, "\x00\x01\xfe\xff", 4);
    ipcf_repro_free(&r);
}

static void test_errors_name_line_or_key(void **state)
{
    (void)state;
    expect_error("", 0, "empty");
    expect_error("hello\n", 1, "not a reproducer");
    expect_error("ipcfuzz-reproducer 2\n", 1, "newer");
    expect_error("ipcfuzz-reproducer x\n", 1, "bad format version");
    expect_error(HDR "scenario: s\nbogus: 1\n", 3, "unknown key 'bogus'");
    expect_error(HDR "scenario: s\nscenario: t\n", 3, "duplicate");
    expect_error(HDR "scenario: s\nplan: p\nseed: 1\n", 0, "missing required key 'verdict'");
    expect_error(HDR "plan: p\nseed: 1\nverdict: ok\n", 0, "missing required key 'scenario'");
    expect_error(MIN "detail: bad \\q escape\n", 6, "bad escape");
    expect_error(MIN "detail: trailing \\\n", 6, "bad escape");
    expect_error(MIN "detail: \\x0", 6, "bad escape");
    expect_error(MIN "detail: nul \\x00\n", 6, "bad escape");
    expect_error(HDR "scenario: s\nplan: p\nseed: -1\n", 4, "seed");
    expect_error(HDR "scenario: s\nplan: p\nseed: 18446744073709551616\n", 4, "seed");
    expect_error(HDR "scenario: s\nplan: p\nseed: 1\nverdict: lost,nope\n", 5, "nope");
    expect_error(MIN "input: hex:abc\n", 6, "input");
    expect_error(MIN "input: base64:A===\n", 6, "input");
    expect_error(MIN "input: raw:00\n", 6, "input");
    expect_error(MIN "no colon here\n", 6, "key: value");
    expect_error(MIN "Scenario: x\n", 6, "bad character");
    expect_error(HDR "scenario: \n", 2, "empty scenario");
    char withnul[] = HDR "scenario: a\0b\n";
    struct ipcf_repro r;
    struct ipcf_repro_error err;
    assert_int_equal(ipcf_repro_parse(withnul, sizeof(withnul) - 1, &r, &err), -IPCF_EPARSE);
    assert_int_equal(err.line, 2);
}

static void test_format_requires_fields(void **state)
{
    struct ipcf_repro r;
    char *text = NULL;
    size_t len;
    (void)state;
    ipcf_repro_init(&r);
    assert_int_equal(ipcf_repro_format(&r, NULL, &text, &len), -EINVAL);
    assert_int_equal(ipcf_repro_set(&r.scenario, "s"), 0);
    assert_int_equal(ipcf_repro_set(&r.plan, ""), 0);
    assert_int_equal(ipcf_repro_format(&r, NULL, &text, &len), -EINVAL);
    assert_int_equal(ipcf_repro_set(&r.verdicts, "ok"), 0);
    assert_int_equal(ipcf_repro_format(&r, NULL, &text, &len), 0);
    assert_null(strstr(text, "replay:"));
    free(text);
    assert_int_equal(ipcf_repro_set_input(&r, "x", IPCF_REPRO_INPUT_MAX + 1), -EINVAL);
    ipcf_repro_free(&r);
}

/* The parser must survive anything: mutate a valid file byte by byte and
 * feed random garbage; under ASan any out-of-bounds read fails the test. */
static void test_parser_survives_garbage(void **state)
{
    struct ipcf_repro a, b;
    struct ipcf_repro_error err;
    char *text;
    size_t len;
    (void)state;
    fill(&a);
    assert_int_equal(ipcf_repro_format(&a, "/x", &text, &len), 0);
    uint64_t x = 0x9e3779b97f4a7c15u;
    int ok = 0;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        char *m = malloc(len);
        assert_non_null(m);
        memcpy(m, text, len);
        for (int k = 0; k < 1 + (int)(x % 4); k++)
            m[(x >> (8 * k)) % len] = (char)(x >> (16 + k));
        size_t cut = (x >> 40) % (len + 1);
        int rc = ipcf_repro_parse(m, i % 2 ? len : cut, &b, &err);
        assert_true(rc == 0 || rc == -IPCF_EPARSE);
        ok += rc == 0;
        ipcf_repro_free(&b);
        free(m);
    }
    assert_true(ok > 0);
    assert_int_equal(ipcf_repro_parse(NULL, 0, &b, &err), -IPCF_EPARSE);
    free(text);
    ipcf_repro_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_text),
        cmocka_unit_test(test_round_trip_file),
        cmocka_unit_test(test_minimal_and_extensions),
        cmocka_unit_test(test_errors_name_line_or_key),
        cmocka_unit_test(test_format_requires_fields),
        cmocka_unit_test(test_parser_survives_garbage),
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
