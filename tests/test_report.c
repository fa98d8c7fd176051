/* test_report.c — escapers and the three report formats: the output is
 * structurally valid (JSON strings closed and escaped, XML tags balanced,
 * no raw special characters) and carries every finding. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "report.h"

static void test_json_escape(void **state)
{
    char buf[128];
    (void)state;
    size_t n = ipcf_json_escape("a\"b\\c\n\t\x01\x7f", buf, sizeof(buf));
    assert_string_equal(buf, "a\\\"b\\\\c\\n\\t\\u0001\\u007f");
    assert_int_equal(n, strlen(buf));
    /* valid UTF-8 passes, invalid bytes become \u00XX */
    ipcf_json_escape("\xc3\xa9|\xff|\xc3", buf, sizeof(buf));
    assert_string_equal(buf, "\xc3\xa9|\\u00ff|\\u00c3");
    /* snprintf-style truncation */
    n = ipcf_json_escape("\"\"\"\"", buf, 5);
    assert_int_equal(n, 8);
    assert_string_equal(buf, "\\\"\\\"");
}

static void test_xml_escape(void **state)
{
    char buf[128];
    (void)state;
    ipcf_xml_escape("<a href=\"x\">&'\x02\n", buf, sizeof(buf));
    assert_string_equal(buf, "&lt;a href=&quot;x&quot;&gt;&amp;&apos;?\n");
}

static struct ipcf_findings two_findings(void)
{
    struct ipcf_findings f;
    ipcf_findings_init(&f);
    assert_int_equal(ipcf_findings_add(&f, IPCF_VERDICT_LOST, 0, 17, 0, 123,
                                       "stream 0 seq 17 sent by \"producer\" <pid 123> never "
                                       "received\n& more"),
                     0);
    assert_int_equal(ipcf_findings_add(&f, IPCF_VERDICT_CRASH, 0, 0, 1, 124, "died\x01"), 0);
    return f;
}

static void build(struct ipcf_report *r)
{
    struct ipcf_findings f = two_findings();
    ipcf_report_init(r);
    for (uint64_t i = 0; i < 3; i++)
        assert_int_equal(
            ipcf_report_add(r, "pipe", "kill", i, 10 + i, "write:kill=after", NULL, NULL), 0);
    assert_int_equal(ipcf_report_add(r, "pipe", "eintr+short", 3, 99, "read:error=EINTR", &f,
                                     "/tmp/x <1>.repro"),
                     0);
    assert_int_equal(ipcf_report_add(r, "mq", "kill", 0, 5, "", NULL, NULL), 0);
    assert_int_equal(ipcf_report_add(r, NULL, "kill", 0, 5, "", NULL, NULL), -EINVAL);
    ipcf_findings_free(&f);
}

static char *render(const struct ipcf_report *r, int which)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    int rc = which == 0   ? ipcf_report_write_table(r, f)
             : which == 1 ? ipcf_report_write_jsonl(r, f)
                          : ipcf_report_write_junit(r, f);
    fclose(f);
    assert_int_equal(rc, 0);
    return text;
}

static void test_table(void **state)
{
    struct ipcf_report r;
    (void)state;
    build(&r);
    assert_int_equal(ipcf_report_total_findings(&r), 2);
    char *t = render(&r, 0);
    assert_non_null(strstr(t, "scenario"));
    assert_non_null(strstr(t, "lost,crash"));
    assert_non_null(strstr(t, "FAIL"));
    int lines = 0;
    for (char *p = t; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1 + 3 + 1); /* header, 3 rows, total */
    /* rows sorted by scenario, then fault class (added: pipe kill, pipe
     * eintr+short, mq kill) */
    char *mq = strstr(t, "\nmq "), *p1 = strstr(t, "\npipe "), *nl;
    assert_non_null(mq);
    assert_non_null(p1);
    nl = strchr(p1 + 1, '\n');
    assert_non_null(nl);
    assert_true(mq < p1);
    assert_true(strstr(p1, "eintr+short") < nl); /* first pipe row */
    assert_non_null(strstr(nl, "\npipe "));      /* then pipe kill */
    free(t);
    ipcf_report_free(&r);
}

/* Minimal JSON object-line checker: strings closed, no raw control chars in
 * them, braces balanced outside strings. Returns number of objects. */
static int check_jsonl(const char *t)
{
    int objects = 0;
    const char *p = t;
    while (*p) {
        int depth = 0, in_str = 0;
        assert_int_equal(*p, '{');
        for (; *p && *p != '\n'; p++) {
            unsigned char c = (unsigned char)*p;
            if (in_str) {
                assert_true(c >= 0x20);
                if (c == '\\') {
                    p++;
                    assert_non_null(strchr("\"\\/bfnrtu", *p));
                } else if (c == '"') {
                    in_str = 0;
                }
            } else if (c == '"') {
                in_str = 1;
            } else if (c == '{') {
                depth++;
            } else if (c == '}') {
                depth--;
            }
        }
        assert_int_equal(in_str, 0);
        assert_int_equal(depth, 0);
        assert_int_equal(*p, '\n');
        p++;
        objects++;
    }
    return objects;
}

static void test_jsonl(void **state)
{
    struct ipcf_report r;
    (void)state;
    build(&r);
    char *t = render(&r, 1);
    assert_int_equal(check_jsonl(t), 2 + 3); /* 2 findings, 3 summary rows */
    assert_non_null(strstr(t, "\"verdict\":\"lost\""));
    assert_non_null(strstr(t, "sent by \\\"producer\\\" <pid 123> never received\\n& more"));
    assert_non_null(strstr(t, "\"detail\":\"died\\u0001\""));
    assert_non_null(strstr(t, "\"reproducer\":\"/tmp/x <1>.repro\""));
    assert_non_null(strstr(t,
                           "{\"type\":\"summary\",\"scenario\":\"pipe\",\"fault_class\":\"kill\","
                           "\"iterations\":3,\"findings\":0,\"flaky\":0}"));
    free(t);
    ipcf_report_free(&r);
}

/* Tags balanced (a stack of names), attribute values quoted, no raw '<' or
 * '&' in text. Returns number of elements. */
static int check_xml(const char *t)
{
    char stack[16][32];
    int depth = 0, elements = 0;
    const char *p = strstr(t, "?>");
    assert_non_null(p);
    p += 2;
    while (*p) {
        if (*p == '&') {
            assert_true(!strncmp(p, "&amp;", 5) || !strncmp(p, "&lt;", 4) ||
                        !strncmp(p, "&gt;", 4) || !strncmp(p, "&quot;", 6) ||
                        !strncmp(p, "&apos;", 6) || !strncmp(p, "&#", 2));
            p++;
            continue;
        }
        if (*p != '<') {
            assert_true((unsigned char)*p >= 0x20 || *p == '\n' || *p == '\t' || *p == '\r');
            p++;
            continue;
        }
        p++;
        int closing = *p == '/';
        if (closing)
            p++;
        size_t n = strcspn(p, " />");
        assert_true(n > 0 && n < 32);
        char name[32];
        memcpy(name, p, n);
        name[n] = '\0';
        p += n;
        /* attributes: skip quoted values */
        while (*p && *p != '>' && !(*p == '/' && p[1] == '>')) {
            if (*p == '"') {
                const char *q = strchr(p + 1, '"');
                assert_non_null(q);
                assert_null(memchr(p + 1, '<', (size_t)(q - p - 1)));
                p = q;
            }
            p++;
        }
        assert_true(*p != '\0');
        if (closing) {
            assert_true(depth > 0);
            assert_string_equal(stack[depth - 1], name);
            depth--;
        } else if (*p == '/') {
            elements++;
            p++;
        } else {
            assert_true(depth < 16);
            strcpy(stack[depth++], name);
            elements++;
        }
        p++; /* '>' */
    }
    assert_int_equal(depth, 0);
    return elements;
}

static void test_junit(void **state)
{
    struct ipcf_report r;
    (void)state;
    build(&r);
    char *t = render(&r, 2);
    /* testsuites + 2 testsuite + 3 testcase + 3 system-out + 1 failure: at
     * most one <failure> per testcase (Ant/Jenkins schema) */
    assert_int_equal(check_xml(t), 10);
    assert_non_null(
        strstr(t, "<testsuites name=\"ipcfuzz\" tests=\"3\" failures=\"1\" errors=\"0\">"));
    assert_non_null(strstr(
        t, "<testsuite name=\"pipe\" tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"0\">"));
    assert_non_null(strstr(t, "<testcase classname=\"pipe\" name=\"eintr+short\">"));
    assert_non_null(strstr(
        t, "<failure type=\"lost\" message=\"2 finding(s): lost,crash\">lost: stream 0 "
           "seq 17 sent by &quot;producer&quot; &lt;pid 123&gt; never received\n&amp; more"));
    assert_non_null(strstr(t, "crash: died?\niteration: 3"));
    assert_non_null(strstr(t, "reproducer: /tmp/x &lt;1&gt;.repro</failure>"));
    /* sorted: suite mq before suite pipe, eintr+short before kill */
    assert_true(strstr(t, "<testsuite name=\"mq\"") < strstr(t, "<testsuite name=\"pipe\""));
    assert_true(strstr(t, "name=\"eintr+short\"") < strstr(t, "classname=\"pipe\" name=\"kill\""));
    free(t);
    ipcf_report_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_escape), cmocka_unit_test(test_xml_escape),
        cmocka_unit_test(test_table),       cmocka_unit_test(test_jsonl),
        cmocka_unit_test(test_junit),
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
