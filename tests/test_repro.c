/* test_repro.c — reproducer files: round trip (text and file), escapes,
 * input bytes, every error path with its line/key, and a garbage loop that
 * the parser must survive (it is also the libFuzzer entry's contract).
 *
 * Then the confirmation of findings, end to end through `ipcf_main` (run,
 * replay --check-determinism, minimize) on a scenario whose reproducibility
 * the test controls exactly: its one peer fails always, never, on every
 * other run (a flaky finding), with a verdict set that changes from run to
 * run, or deterministically only when the plan raises SIGUSR2 at its point
 * (so minimize must prefer that rule over a flaky one). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "cli.h"
#include "ipcfuzz/ipcfuzz.h"
#include "ipcfuzz/names.h"
#include "report.h"
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
    assert_non_null(strstr(text, "ipcfuzz-reproducer 2\n"));
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

#define HDR "ipcfuzz-reproducer 2\n"
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
    /* format 1 (before `reproduced`) is still read */
    assert_int_equal(
        parse_str("ipcfuzz-reproducer 1\nscenario: s\nplan: \nseed: 1\nverdict: exit\n", &r, &err),
        0);
    assert_int_equal(r.version, 1);
    assert_int_equal(r.confirmations, 0);
    assert_int_equal(ipcf_repro_is_flaky(&r), 0);
    ipcf_repro_free(&r);
}

/* `reproduced: n/K` round-trips, marks flaky when n < K, and format refuses
 * an impossible count. */
static void test_reproduced_key(void **state)
{
    struct ipcf_repro r, b;
    struct ipcf_repro_error err;
    char *text;
    size_t len;
    (void)state;
    assert_int_equal(parse_str(MIN "reproduced: 2/3\n", &r, &err), 0);
    assert_int_equal(r.version, 2);
    assert_int_equal(r.reproduced, 2);
    assert_int_equal(r.confirmations, 3);
    assert_int_equal(ipcf_repro_is_flaky(&r), 1);
    assert_int_equal(ipcf_repro_format(&r, NULL, &text, &len), 0);
    assert_non_null(strstr(text, "ipcfuzz-reproducer 2\n"));
    assert_non_null(strstr(text, "\nreproduced: 2/3\n"));
    assert_int_equal(ipcf_repro_parse(text, len, &b, &err), 0);
    assert_int_equal(b.reproduced, 2);
    assert_int_equal(b.confirmations, 3);
    free(text);
    ipcf_repro_free(&b);
    r.reproduced = 3;
    assert_int_equal(ipcf_repro_is_flaky(&r), 0);
    r.reproduced = 4;
    assert_int_equal(ipcf_repro_format(&r, NULL, &text, &len), -EINVAL);
    r.confirmations = 0; /* not confirmed: no key */
    assert_int_equal(ipcf_repro_format(&r, NULL, &text, &len), 0);
    assert_null(strstr(text, "reproduced"));
    free(text);
    ipcf_repro_free(&r);
}

/* The campaign report shows a flaky finding as such in all three formats,
 * and still counts it. */
static void test_report_marks_flaky(void **state)
{
    struct ipcf_report rep;
    struct ipcf_findings f;
    char *t = NULL;
    size_t n = 0;
    (void)state;
    ipcf_findings_init(&f);
    assert_int_equal(ipcf_findings_add(&f, IPCF_VERDICT_EXIT, 0, 0, 0, 1, "boom"), 0);
    ipcf_report_init(&rep);
    assert_int_equal(ipcf_report_add_confirmed(&rep, "s", "short", 0, 1, "p", &f, "a.repro", 1, 3),
                     0);
    assert_int_equal(ipcf_report_add_confirmed(&rep, "s", "short", 1, 2, "p", &f, "b.repro", 3, 3),
                     0);
    assert_int_equal(ipcf_report_total_findings(&rep), 2);
    FILE *m = open_memstream(&t, &n);
    assert_int_equal(ipcf_report_write_table(&rep, m), 0);
    assert_int_equal(ipcf_report_write_jsonl(&rep, m), 0);
    assert_int_equal(ipcf_report_write_junit(&rep, m), 0);
    fclose(m);
    assert_non_null(strstr(t, "exit (1 flaky)"));
    assert_non_null(strstr(t, "FAIL (1 flaky)"));
    assert_non_null(strstr(t, "\"reproducer\":\"a.repro\",\"reproduced\":\"1/3\",\"flaky\":true}"));
    assert_non_null(
        strstr(t, "\"reproducer\":\"b.repro\",\"reproduced\":\"3/3\",\"flaky\":false}"));
    assert_non_null(strstr(t, "\"findings\":2,\"flaky\":1}"));
    assert_non_null(strstr(t, "reproduced: 1/3 (flaky)"));
    free(t);
    ipcf_report_free(&rep);
    ipcf_findings_free(&f);
}

static void test_errors_name_line_or_key(void **state)
{
    (void)state;
    expect_error("", 0, "empty");
    expect_error("hello\n", 1, "not a reproducer");
    expect_error("ipcfuzz-reproducer 3\n", 1, "newer");
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
    expect_error(MIN "reproduced: 4/3\n", 6, "reproduced");
    expect_error(MIN "reproduced: 1/0\n", 6, "reproduced");
    expect_error(MIN "reproduced: 3\n", 6, "reproduced");
    expect_error(MIN "reproduced: 1/1001\n", 6, "reproduced");
    expect_error(MIN "reproduced: -1/3\n", 6, "reproduced");
    expect_error(MIN "reproduced: 1/3\nreproduced: 1/3\n", 7, "duplicate");
    /* a version-1 file cannot carry the version-2 key */
    expect_error("ipcfuzz-reproducer 1\nscenario: s\nreproduced: 1/3\n", 3, "version 2");
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

/* ---- confirmation, replay and minimize, end to end ------------------------------- */

enum det_mode { MODE_ALWAYS, MODE_NEVER, MODE_ALTERNATE, MODE_SETS, MODE_PLAN };
struct det_ctl {
    int mode;
    unsigned runs; /* peer runs so far (shared by every process of the test) */
};
static struct det_ctl *ctl; /* MAP_SHARED, inherited by ipcf_main's child and its peers */

static volatile sig_atomic_t got_usr2;
static void on_usr2(int sig)
{
    (void)sig;
    got_usr2 = 1;
}

/* Fails (returns 1: an `exit` finding, no plan or a transparent one) as the
 * mode says; MODE_SETS adds a leaked name on every other run; MODE_PLAN fails
 * every time when the plan raised SIGUSR2 at point test_repro_det, else on
 * every other run. */
static int det_peer(struct ipcf_peer_ctx *ctx)
{
    (void)ctx;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr2;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, NULL);
    got_usr2 = 0;
    IPCF_POINT("test_repro_other");
    IPCF_POINT("test_repro_det");
    unsigned n = __atomic_fetch_add(&ctl->runs, 1, __ATOMIC_SEQ_CST);
    switch (ctl->mode) {
    case MODE_ALWAYS:
        return 1;
    case MODE_NEVER:
        return 0;
    case MODE_ALTERNATE:
        return n % 2 == 0;
    case MODE_SETS:
        if (n % 2 == 0) {
            char path[IPCF_NAME_MAX];
            int fd = -1;
            if (ipcf_name_path(path, sizeof(path), "det.left") == 0)
                fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
            if (fd >= 0)
                close(fd);
        }
        return 1;
    default:
        return got_usr2 ? 1 : n % 2 == 0;
    }
}

IPCF_SCENARIO(test_repro_det, .description = "one peer whose failure the test controls",
              .peers = {{.name = "peer", .run = det_peer}});

static char workdir[64];

static void set_mode(int mode)
{
    ctl->mode = mode;
    __atomic_store_n(&ctl->runs, 0, __ATOMIC_SEQ_CST);
}

struct cli_call {
    const char *argv[24];
    int argc;
    const char *out;
};

static int cli_child(void *arg)
{
    struct cli_call *c = arg;
    int fd = open(c->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return 99;
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    int rc = ipcf_main(c->argc, (char **)c->argv);
    fflush(NULL);
    return rc;
}

/* Run `ipcfuzz ARGS...` (NULL-terminated) in a child; its stdout+stderr go to
 * *text (heap, caller frees). Returns the exit code. */
static int cli(char **text, ...)
{
    struct cli_call c = {.argv = {"ipcfuzz"}, .argc = 1};
    char out[128];
    va_list ap;
    va_start(ap, text);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL && c.argc < 23;)
        c.argv[c.argc++] = a;
    va_end(ap);
    snprintf(out, sizeof(out), "%s/out.txt", workdir);
    c.out = out;
    pid_t pid = ipcft_fork(cli_child, &c);
    int st = 0;
    assert_int_equal(ipcft_wait(pid, 120000, &st), 0);
    assert_true(WIFEXITED(st));
    FILE *f = fopen(out, "re");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 16);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(out);
    *text = buf;
    return WEXITSTATUS(st);
}

/* The one .repro file in dir (not *.min.repro), copied into path. */
static void find_repro(const char *dir, char *path, size_t cap)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "ls %s/*.repro 2>/dev/null | grep -v '\\.min\\.repro$'", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    path[0] = '\0';
    if (!fgets(path, (int)cap, p))
        path[0] = '\0';
    pclose(p);
    path[strcspn(path, "\n")] = '\0';
    if (!path[0])
        fail_msg("no reproducer in %s", dir);
}

static void read_repro(const char *path, struct ipcf_repro *r)
{
    struct ipcf_repro_error err;
    int rc = ipcf_repro_read_file(path, r, &err);
    if (rc)
        fail_msg("%s: rc %d line %u %s", path, rc, err.line, err.msg);
}

static int det_setup(void **state)
{
    (void)state;
    ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ctl == MAP_FAILED)
        return -1;
    snprintf(workdir, sizeof(workdir), "/tmp/ipcf-test-repro.XXXXXX");
    return mkdtemp(workdir) ? 0 : -1;
}

static int det_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", workdir);
    int rc = system(cmd);
    munmap(ctl, sizeof(*ctl));
    return rc == 0 ? 0 : -1;
}

/* A finding from `run` (plan NULL: a harmless transparent one) written to
 * workdir/<sub>. */
static void make_repro(const char *sub, const char *plan, const char *confirm, char *path,
                       size_t cap)
{
    char dir[128], *t;
    snprintf(dir, sizeof(dir), "%s/%s", workdir, sub);
    /* a transparent plan: a non-zero exit is an `exit` finding */
    int rc = cli(&t, "run", "test_repro_det", "--iterations", "1", "--confirm", confirm,
                 "--findings", dir, "--plan", plan ? plan : "point=test_repro_other:delay=1", NULL);
    if (rc != 1)
        fail_msg("run gave %d:\n%s", rc, t);
    free(t);
    find_repro(dir, path, cap);
}

/* run --confirm K: a deterministic finding records K/K; one that comes back
 * every other time records 1/3 and is flagged flaky in the table and JSON,
 * and still fails the run; --confirm 0 records nothing; --jobs carries it. */
static void test_run_confirms_findings(void **state)
{
    char path[256], dir[128], *t;
    struct ipcf_repro r;
    (void)state;
    set_mode(MODE_ALWAYS);
    make_repro("always", NULL, "3", path, sizeof(path));
    read_repro(path, &r);
    assert_int_equal(r.version, 2);
    assert_int_equal(r.reproduced, 3);
    assert_int_equal(r.confirmations, 3);
    assert_int_equal(ctl->runs, 4); /* the iteration + 3 confirmations */
    ipcf_repro_free(&r);

    set_mode(MODE_ALTERNATE);
    snprintf(dir, sizeof(dir), "%s/flaky", workdir);
    assert_int_equal(cli(&t, "run", "test_repro_det", "--iterations", "1", "--json", "--plan",
                         "point=test_repro_other:delay=1", "--findings", dir, NULL),
                     1);
    assert_non_null(strstr(t, "\"reproduced\":\"1/3\",\"flaky\":true"));
    assert_non_null(strstr(t, "exit (1 flaky)"));
    assert_non_null(strstr(t, "reproduced 1/3 FLAKY"));
    free(t);
    find_repro(dir, path, sizeof(path));
    read_repro(path, &r);
    assert_int_equal(r.reproduced, 1);
    assert_int_equal(r.confirmations, 3);
    assert_int_equal(ipcf_repro_is_flaky(&r), 1);
    ipcf_repro_free(&r);

    set_mode(MODE_ALWAYS);
    make_repro("noconfirm", NULL, "0", path, sizeof(path));
    read_repro(path, &r);
    assert_int_equal(r.confirmations, 0);
    assert_int_equal(ctl->runs, 1);
    ipcf_repro_free(&r);

    snprintf(dir, sizeof(dir), "%s/jobs", workdir);
    assert_int_equal(cli(&t, "run", "test_repro_det", "--iterations", "2", "--jobs", "2",
                         "--confirm", "2", "--json", "--plan", "point=test_repro_other:delay=1",
                         "--findings", dir, NULL),
                     1);
    char *first = strstr(t, "\"reproduced\":\"2/2\",\"flaky\":false");
    if (!first || !strstr(first + 1, "\"reproduced\":\"2/2\",\"flaky\":false"))
        fail_msg("--jobs 2: want two confirmed findings:\n%s", t);
    free(t);
    assert_int_equal(cli(&t, "run", "test_repro_det", "--confirm", "1001", NULL), 2);
    free(t);
}

/* replay --check-determinism K: prints the rate, exits 1 when the recorded
 * verdict came back at all; --strict only when it came back every time with
 * the same verdict set. */
static void test_replay_reports_rate(void **state)
{
    char path[256], *t;
    (void)state;
    set_mode(MODE_ALWAYS);
    make_repro("replay", NULL, "0", path, sizeof(path));

    set_mode(MODE_ALWAYS);
    assert_int_equal(cli(&t, "replay", "--check-determinism", "3", path, NULL), 1);
    assert_non_null(strstr(t, "reproduced: 3/3"));
    assert_non_null(strstr(t, "deterministic: yes"));
    free(t);
    set_mode(MODE_ALWAYS);
    assert_int_equal(cli(&t, "replay", "--check-determinism", "3", "--strict", path, NULL), 1);
    free(t);

    set_mode(MODE_NEVER);
    assert_int_equal(cli(&t, "replay", "--check-determinism", "3", path, NULL), 0);
    assert_non_null(strstr(t, "reproduced: 0/3"));
    free(t);

    set_mode(MODE_ALTERNATE);
    assert_int_equal(cli(&t, "replay", "--check-determinism", "4", path, NULL), 1);
    assert_non_null(strstr(t, "reproduced: 2/4"));
    assert_non_null(strstr(t, "deterministic: NO (flaky)"));
    free(t);
    set_mode(MODE_ALTERNATE);
    assert_int_equal(cli(&t, "replay", "--check-determinism", "4", "--strict", path, NULL), 0);
    free(t);

    /* same first verdict every time, but the verdict set changes */
    set_mode(MODE_SETS);
    assert_int_equal(cli(&t, "replay", "--check-determinism", "2", path, NULL), 1);
    assert_non_null(strstr(t, "reproduced: 2/2"));
    assert_non_null(strstr(t, "verdict set: differs"));
    assert_non_null(strstr(t, "deterministic: first verdict only"));
    free(t);
    set_mode(MODE_SETS);
    assert_int_equal(cli(&t, "replay", "--check-determinism", "2", "--strict", path, NULL), 0);
    free(t);
    assert_int_equal(cli(&t, "replay", "--strict", path, NULL), 2);
    free(t);
}

/* minimize keeps a candidate only if it reproduces K/K: dropping the SIGUSR2
 * rule leaves a plan that fails every other run (rejected), dropping the
 * other rule leaves the deterministic one. The original file is untouched. */
static void test_minimize_prefers_deterministic(void **state)
{
    char path[256], out[300], *t;
    struct ipcf_repro r;
    (void)state;
    set_mode(MODE_PLAN);
    make_repro("min", "point=test_repro_other:delay=1;point=test_repro_det:signal=SIGUSR2", "3",
               path, sizeof(path));
    read_repro(path, &r);
    assert_int_equal(r.reproduced, 3);
    ipcf_repro_free(&r);
    set_mode(MODE_PLAN);
    assert_int_equal(cli(&t, "minimize", "--confirm", "3", path, NULL), 0);
    assert_non_null(strstr(t, "reproduced: 3/3"));
    free(t);
    snprintf(out, sizeof(out), "%.*s.min.repro", (int)(strlen(path) - 6), path);
    read_repro(out, &r);
    assert_string_equal(r.plan, "point=test_repro_det:signal=SIGUSR2");
    assert_int_equal(r.reproduced, 3);
    assert_int_equal(r.confirmations, 3);
    ipcf_repro_free(&r);
    read_repro(path, &r); /* the original is still there, unchanged */
    assert_string_equal(r.plan,
                        "point=test_repro_other:delay=1; point=test_repro_det:signal=SIGUSR2");
    ipcf_repro_free(&r);

    /* a flaky original with no deterministic candidate stays as it is, flagged */
    set_mode(MODE_ALTERNATE);
    assert_int_equal(cli(&t, "minimize", "--confirm", "2", path, "-o", out, NULL), 0);
    assert_non_null(strstr(t, "original plan reproduces 1/2"));
    assert_non_null(strstr(t, "no smaller plan reproduces every time"));
    free(t);
    read_repro(out, &r);
    assert_int_equal(r.confirmations, 2);
    assert_int_equal(ipcf_repro_is_flaky(&r), 1);
    ipcf_repro_free(&r);

    /* nothing comes back: nothing to minimize, nothing written */
    unlink(out);
    set_mode(MODE_NEVER);
    assert_int_equal(cli(&t, "minimize", path, "-o", out, NULL), 0);
    assert_non_null(strstr(t, "nothing to minimize"));
    free(t);
    assert_int_equal(access(out, F_OK), -1);
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
        cmocka_unit_test(test_reproduced_key),
        cmocka_unit_test(test_report_marks_flaky),
        cmocka_unit_test_setup_teardown(test_run_confirms_findings, det_setup, det_teardown),
        cmocka_unit_test_setup_teardown(test_replay_reports_rate, det_setup, det_teardown),
        cmocka_unit_test_setup_teardown(test_minimize_prefers_deterministic, det_setup,
                                        det_teardown),
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
