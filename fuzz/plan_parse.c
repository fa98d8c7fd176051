/* plan_parse.c — fuzz target: the fault-plan parser on arbitrary text.
 *
 * The input (up to its first NUL) is parsed as plan text. Oracle:
 *   - failure is exactly -IPCF_EPARSE, with an error position inside the text
 *     and a NUL-terminated message; the output plan is left empty;
 *   - success: format -> parse -> format is the identity (the canonical text
 *     parses back to a plan with the same canonical text and rule count), and
 *     ipcf_plan_copy() of the plan formats identically too;
 *   - format() is snprintf-like: a short buffer is truncated and terminated,
 *     never overrun.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipcfuzz/faults.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "plan_parse: oracle failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_TEXT 8192

/* Canonical text of p in a fresh heap buffer (caller frees). */
static char *format_alloc(const struct ipcf_plan *p)
{
    char probe[1];
    int n = ipcf_plan_format(p, probe, sizeof(probe));
    char *s;

    CHECK(n >= 0);
    s = malloc((size_t)n + 1);
    CHECK(s != NULL);
    CHECK(ipcf_plan_format(p, s, (size_t)n + 1) == n);
    CHECK(s[n] == '\0' && strlen(s) == (size_t)n);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ipcf_plan p = {0}, q = {0}, c = {0};
    struct ipcf_plan_error err;
    char *text, *s1, *s2, *s3;
    size_t len = size < MAX_TEXT ? size : MAX_TEXT;
    int rc;

    text = malloc(len + 1);
    if (!text)
        return 0;
    if (len)
        memcpy(text, data, len);
    text[len] = '\0';

    memset(&err, 0x5a, sizeof(err));
    rc = ipcf_plan_parse(text, &p, &err);
    if (rc != 0) {
        CHECK(rc == -IPCF_EPARSE);
        CHECK(err.pos <= strlen(text));
        CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
        CHECK(p.nrules == 0);
        ipcf_plan_free(&p);
        free(text);
        return 0;
    }

    s1 = format_alloc(&p);
    rc = ipcf_plan_parse(s1, &q, &err);
    if (rc != 0)
        fprintf(stderr, "plan_parse: canonical text does not parse: \"%s\": %s\n", s1, err.msg);
    CHECK(rc == 0);
    CHECK(q.nrules == p.nrules);
    s2 = format_alloc(&q);
    if (strcmp(s1, s2) != 0)
        fprintf(stderr, "plan_parse: format not stable:\n  \"%s\"\n  \"%s\"\n", s1, s2);
    CHECK(strcmp(s1, s2) == 0);

    CHECK(ipcf_plan_copy(&c, &p) == 0);
    s3 = format_alloc(&c);
    CHECK(strcmp(s1, s3) == 0);

    /* Truncation: a buffer one byte short of the text gets a terminated prefix. */
    if (strlen(s1) > 0) {
        size_t n = strlen(s1);
        char *t = malloc(n);
        CHECK(t != NULL);
        CHECK(ipcf_plan_format(&p, t, n) == (int)n);
        CHECK(t[n - 1] == '\0' && memcmp(t, s1, n - 1) == 0);
        free(t);
    }

    free(s3);
    free(s2);
    free(s1);
    ipcf_plan_free(&c);
    ipcf_plan_free(&q);
    ipcf_plan_free(&p);
    free(text);
    return 0;
}
