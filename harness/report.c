/* report.c — campaign reports: summary table, JSON lines, JUnit XML (see report.h).
 *
 * All text output goes through one small "sink" (a bounded buffer or a FILE)
 * so the escapers used by the writers are exactly the ones the tests call.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

struct sink {
    char *buf; /* buffer mode: buf/cap; FILE mode: f */
    size_t cap;
    size_t len; /* bytes produced (buffer mode: may exceed cap) */
    FILE *f;
    int err;
};

static void put(struct sink *s, const char *p, size_t n)
{
    if (s->f) {
        if (n && fwrite(p, 1, n, s->f) != n)
            s->err = 1;
    } else if (s->cap) {
        for (size_t i = 0; i < n; i++)
            if (s->len + i < s->cap - 1)
                s->buf[s->len + i] = p[i];
    }
    s->len += n;
}

static void puts_(struct sink *s, const char *p)
{
    put(s, p, strlen(p));
}

static void finish(struct sink *s)
{
    if (!s->f && s->cap)
        s->buf[s->len < s->cap ? s->len : s->cap - 1] = '\0';
}

/* Length of the valid UTF-8 sequence starting at p (1..4), or 0 if invalid.
 * Rejects overlong forms, surrogates and code points above U+10FFFF. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL terminator */
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static void json_escape_to(struct sink *s, const char *str)
{
    const unsigned char *p = (const unsigned char *)(str ? str : "");
    char tmp[8];
    while (*p) {
        unsigned c = *p;
        switch (c) {
        case '"':
            puts_(s, "\\\"");
            break;
        case '\\':
            puts_(s, "\\\\");
            break;
        case '\n':
            puts_(s, "\\n");
            break;
        case '\r':
            puts_(s, "\\r");
            break;
        case '\t':
            puts_(s, "\\t");
            break;
        case '\b':
            puts_(s, "\\b");
            break;
        case '\f':
            puts_(s, "\\f");
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                snprintf(tmp, sizeof(tmp), "\\u%04x", c);
                puts_(s, tmp);
            } else if (c < 0x80) {
                put(s, (const char *)p, 1);
            } else {
                size_t n = utf8_len(p);
                if (n) {
                    put(s, (const char *)p, n);
                    p += n;
                    continue;
                }
                snprintf(tmp, sizeof(tmp), "\\u%04x", c);
                puts_(s, tmp);
            }
        }
        p++;
    }
}

/* attr: also encode \t \n \r as character references, which attribute-value
 * normalisation would otherwise turn into spaces. */
static void xml_escape_to(struct sink *s, const char *str, int attr)
{
    const unsigned char *p = (const unsigned char *)(str ? str : "");
    while (*p) {
        unsigned c = *p;
        switch (c) {
        case '&':
            puts_(s, "&amp;");
            break;
        case '<':
            puts_(s, "&lt;");
            break;
        case '>':
            puts_(s, "&gt;");
            break;
        case '"':
            puts_(s, "&quot;");
            break;
        case '\'':
            puts_(s, "&apos;");
            break;
        case '\t':
        case '\n':
        case '\r':
            if (attr)
                puts_(s, c == '\t' ? "&#9;" : c == '\n' ? "&#10;" : "&#13;");
            else
                put(s, (const char *)p, 1);
            break;
        default:
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
                puts_(s, "?");
            } else if (c < 0x80) {
                put(s, (const char *)p, 1);
            } else {
                size_t n = utf8_len(p);
                if (n) {
                    put(s, (const char *)p, n);
                    p += n;
                    continue;
                }
                puts_(s, "?");
            }
        }
        p++;
    }
}

size_t ipcf_json_escape(const char *str, char *buf, size_t cap)
{
    struct sink s = {.buf = buf, .cap = cap};
    json_escape_to(&s, str);
    finish(&s);
    return s.len;
}

size_t ipcf_xml_escape(const char *str, char *buf, size_t cap)
{
    struct sink s = {.buf = buf, .cap = cap};
    xml_escape_to(&s, str, 0);
    finish(&s);
    return s.len;
}

/* ---- the report ------------------------------------------------------------------- */

void ipcf_report_init(struct ipcf_report *r)
{
    memset(r, 0, sizeof(*r));
}

void ipcf_report_free(struct ipcf_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nrows; i++) {
        free(r->rows[i].scenario);
        free(r->rows[i].fault_class);
    }
    for (size_t i = 0; i < r->nitems; i++) {
        free(r->items[i].plan);
        free(r->items[i].reproducer);
    }
    free(r->rows);
    free(r->items);
    memset(r, 0, sizeof(*r));
}

static int find_row(struct ipcf_report *r, const char *scenario, const char *cls, size_t *out)
{
    for (size_t i = 0; i < r->nrows; i++)
        if (!strcmp(r->rows[i].scenario, scenario) && !strcmp(r->rows[i].fault_class, cls)) {
            *out = i;
            return 0;
        }
    if (r->nrows == r->rows_cap) {
        size_t ncap = r->rows_cap ? r->rows_cap * 2 : 8;
        struct ipcf_report_row *nv = realloc(r->rows, ncap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        r->rows = nv;
        r->rows_cap = ncap;
    }
    struct ipcf_report_row *row = &r->rows[r->nrows];
    memset(row, 0, sizeof(*row));
    row->scenario = strdup(scenario);
    row->fault_class = strdup(cls);
    if (!row->scenario || !row->fault_class) {
        free(row->scenario);
        free(row->fault_class);
        return -ENOMEM;
    }
    *out = r->nrows++;
    return 0;
}

int ipcf_report_add(struct ipcf_report *r, const char *scenario, const char *fault_class,
                    uint64_t iteration, uint64_t seed, const char *plan,
                    const struct ipcf_findings *findings, const char *reproducer)
{
    return ipcf_report_add_confirmed(r, scenario, fault_class, iteration, seed, plan, findings,
                                     reproducer, 0, 0);
}

int ipcf_report_add_confirmed(struct ipcf_report *r, const char *scenario, const char *fault_class,
                              uint64_t iteration, uint64_t seed, const char *plan,
                              const struct ipcf_findings *findings, const char *reproducer,
                              unsigned reproduced, unsigned confirmations)
{
    size_t ri;
    if (!r || !scenario || !fault_class)
        return -EINVAL;
    IPCF_TRY(find_row(r, scenario, fault_class, &ri));
    struct ipcf_report_row *row = &r->rows[ri];
    row->iterations++;
    if (!findings)
        return 0;
    row->findings += findings->n + findings->dropped;
    if (findings->n && confirmations && reproduced < confirmations)
        row->flaky++;
    for (size_t i = 0; i < findings->n; i++) {
        const struct ipcf_finding *fd = &findings->v[i];
        if ((unsigned)fd->verdict < 32)
            row->verdict_mask |= 1u << fd->verdict;
        if (r->nitems >= IPCF_REPORT_ITEMS_MAX) {
            r->items_dropped++;
            continue;
        }
        if (r->nitems == r->items_cap) {
            size_t ncap = r->items_cap ? r->items_cap * 2 : 16;
            struct ipcf_report_item *nv = realloc(r->items, ncap * sizeof(*nv));
            if (!nv)
                return -ENOMEM;
            r->items = nv;
            r->items_cap = ncap;
        }
        struct ipcf_report_item *it = &r->items[r->nitems];
        memset(it, 0, sizeof(*it));
        it->row = ri;
        it->iteration = iteration;
        it->seed = seed;
        it->finding = *fd;
        it->finding.detail[sizeof(it->finding.detail) - 1] = '\0';
        it->reproduced = reproduced;
        it->confirmations = confirmations;
        it->plan = strdup(plan ? plan : "");
        it->reproducer = reproducer ? strdup(reproducer) : NULL;
        if (!it->plan || (reproducer && !it->reproducer)) {
            free(it->plan);
            free(it->reproducer);
            return -ENOMEM;
        }
        r->nitems++;
    }
    r->items_dropped += findings->dropped;
    return 0;
}

uint64_t ipcf_report_total_findings(const struct ipcf_report *r)
{
    uint64_t t = 0;
    for (size_t i = 0; i < r->nrows; i++)
        t += r->rows[i].findings;
    return t;
}

static void mask_names(uint32_t mask, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (unsigned v = 1; v < IPCF_VERDICT_COUNT; v++) {
        if (!(mask & (1u << v)))
            continue;
        int w = snprintf(buf + len, cap - len, "%s%s", len ? "," : "",
                         ipcf_verdict_name((enum ipcf_verdict)v));
        if (w < 0 || (size_t)w >= cap - len)
            break;
        len += (size_t)w;
    }
}

/* Row indexes sorted by (scenario, fault class), so every output lists rows
 * in a stable, readable order whatever order iterations arrived in (with
 * --jobs they interleave). Heap array of r->nrows entries, or NULL. */
static const struct ipcf_report *g_sort_report; /* qsort has no context argument */

static int cmp_row(const void *a, const void *b)
{
    const struct ipcf_report_row *x = &g_sort_report->rows[*(const size_t *)a];
    const struct ipcf_report_row *y = &g_sort_report->rows[*(const size_t *)b];
    int c = strcmp(x->scenario, y->scenario);
    return c ? c : strcmp(x->fault_class, y->fault_class);
}

static size_t *sorted_rows(const struct ipcf_report *r)
{
    size_t *v = malloc((r->nrows ? r->nrows : 1) * sizeof(*v));
    if (!v)
        return NULL;
    for (size_t i = 0; i < r->nrows; i++)
        v[i] = i;
    if (r->nrows > 1) {
        g_sort_report = r;
        qsort(v, r->nrows, sizeof(*v), cmp_row);
        g_sort_report = NULL;
    }
    return v;
}

int ipcf_report_write_table(const struct ipcf_report *r, FILE *f)
{
    size_t *order = sorted_rows(r);
    if (!order)
        return -ENOMEM;
    int ws = (int)strlen("scenario"), wc = (int)strlen("faults");
    uint64_t ti = 0, tf = 0, tfl = 0;
    for (size_t i = 0; i < r->nrows; i++) {
        int a = (int)strlen(r->rows[i].scenario), b = (int)strlen(r->rows[i].fault_class);
        ws = a > ws ? a : ws;
        wc = b > wc ? b : wc;
    }
    ws = ws > 40 ? 40 : ws;
    wc = wc > 40 ? 40 : wc;
    int err = fprintf(f, "%-*s  %-*s  %10s  %8s  %s\n", ws, "scenario", wc, "faults", "iterations",
                      "findings", "verdicts") < 0;
    for (size_t i = 0; i < r->nrows; i++) {
        const struct ipcf_report_row *row = &r->rows[order[i]];
        char verdicts[512], flaky[48] = "";
        mask_names(row->verdict_mask, verdicts, sizeof(verdicts));
        if (row->flaky)
            snprintf(flaky, sizeof(flaky), " (%" PRIu64 " flaky)", row->flaky);
        err |= fprintf(f, "%-*s  %-*s  %10" PRIu64 "  %8" PRIu64 "  %s%s\n", ws, row->scenario, wc,
                       row->fault_class, row->iterations, row->findings,
                       row->findings ? verdicts : "ok", flaky) < 0;
        ti += row->iterations;
        tf += row->findings;
        tfl += row->flaky;
    }
    char tflaky[48] = "";
    if (tfl)
        snprintf(tflaky, sizeof(tflaky), " (%" PRIu64 " flaky)", tfl);
    err |= fprintf(f, "%-*s  %-*s  %10" PRIu64 "  %8" PRIu64 "  %s%s\n", ws, "total", wc, "", ti,
                   tf, tf ? "FAIL" : "ok", tflaky) < 0;
    free(order);
    return err || ferror(f) ? -EIO : 0;
}

static void json_field(struct sink *s, const char *key, const char *val, int first)
{
    if (!first)
        puts_(s, ",");
    puts_(s, "\"");
    puts_(s, key);
    puts_(s, "\":");
    if (!val) {
        puts_(s, "null");
        return;
    }
    puts_(s, "\"");
    json_escape_to(s, val);
    puts_(s, "\"");
}

static void json_num(struct sink *s, const char *key, long long v, int is_unsigned,
                     unsigned long long u)
{
    char tmp[64];
    if (is_unsigned)
        snprintf(tmp, sizeof(tmp), ",\"%s\":%llu", key, u);
    else
        snprintf(tmp, sizeof(tmp), ",\"%s\":%lld", key, v);
    puts_(s, tmp);
}

int ipcf_report_write_jsonl(const struct ipcf_report *r, FILE *f)
{
    struct sink s = {.f = f};
    for (size_t i = 0; i < r->nitems; i++) {
        const struct ipcf_report_item *it = &r->items[i];
        const struct ipcf_report_row *row = &r->rows[it->row];
        puts_(&s, "{");
        json_field(&s, "type", "finding", 1);
        json_field(&s, "scenario", row->scenario, 0);
        json_field(&s, "fault_class", row->fault_class, 0);
        json_num(&s, "iteration", 0, 1, it->iteration);
        json_num(&s, "seed", 0, 1, it->seed);
        json_field(&s, "plan", it->plan, 0);
        json_field(&s, "verdict", ipcf_verdict_name(it->finding.verdict), 0);
        json_num(&s, "stream", 0, 1, it->finding.stream);
        json_num(&s, "seq", 0, 1, it->finding.seq);
        json_num(&s, "peer", it->finding.peer, 0, 0);
        json_num(&s, "pid", it->finding.pid, 0, 0);
        json_field(&s, "detail", it->finding.detail, 0);
        json_field(&s, "reproducer", it->reproducer, 0);
        if (it->confirmations) {
            char rep[32];
            snprintf(rep, sizeof(rep), "%u/%u", it->reproduced, it->confirmations);
            json_field(&s, "reproduced", rep, 0);
            puts_(&s, it->reproduced < it->confirmations ? ",\"flaky\":true" : ",\"flaky\":false");
        }
        puts_(&s, "}\n");
    }
    for (size_t i = 0; i < r->nrows; i++) {
        const struct ipcf_report_row *row = &r->rows[i];
        puts_(&s, "{");
        json_field(&s, "type", "summary", 1);
        json_field(&s, "scenario", row->scenario, 0);
        json_field(&s, "fault_class", row->fault_class, 0);
        json_num(&s, "iterations", 0, 1, row->iterations);
        json_num(&s, "findings", 0, 1, row->findings);
        json_num(&s, "flaky", 0, 1, row->flaky);
        puts_(&s, "}\n");
    }
    return s.err || ferror(f) ? -EIO : 0;
}

static void xml_attr(struct sink *s, const char *key, const char *val)
{
    puts_(s, " ");
    puts_(s, key);
    puts_(s, "=\"");
    xml_escape_to(s, val, 1);
    puts_(s, "\"");
}

static void xml_attr_u(struct sink *s, const char *key, unsigned long long v)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%llu", v);
    xml_attr(s, key, tmp);
}

/* JUnit in the common shape read by Jenkins, GitLab, GitHub annotations:
 * <testsuites name tests failures errors> / <testsuite name tests failures
 * errors skipped> per scenario / <testcase classname name> per fault class /
 * at most ONE <failure type message> per testcase (several are invalid in the
 * Ant/Jenkins schema): type = the first (most severe) verdict, message = the
 * count and the verdicts, body = every finding with its plan, seed and
 * reproducer. Scenarios and fault classes are sorted. */
int ipcf_report_write_junit(const struct ipcf_report *r, FILE *f)
{
    struct sink s = {.f = f};
    unsigned long long tests = r->nrows, failures = 0;
    size_t *order = sorted_rows(r);
    if (!order)
        return -ENOMEM;
    for (size_t i = 0; i < r->nrows; i++)
        failures += r->rows[i].findings != 0;
    puts_(&s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
    xml_attr(&s, "name", "ipcfuzz");
    xml_attr_u(&s, "tests", tests);
    xml_attr_u(&s, "failures", failures);
    xml_attr_u(&s, "errors", 0);
    puts_(&s, ">\n");
    for (size_t i = 0; i < r->nrows; i++) {
        /* rows are sorted: a scenario's rows are adjacent */
        const char *scen = r->rows[order[i]].scenario;
        if (i > 0 && !strcmp(r->rows[order[i - 1]].scenario, scen))
            continue;
        size_t end = i;
        unsigned long long sf = 0;
        while (end < r->nrows && !strcmp(r->rows[order[end]].scenario, scen))
            sf += r->rows[order[end++]].findings != 0;
        puts_(&s, "  <testsuite");
        xml_attr(&s, "name", scen);
        xml_attr_u(&s, "tests", end - i);
        xml_attr_u(&s, "failures", sf);
        xml_attr_u(&s, "errors", 0);
        xml_attr_u(&s, "skipped", 0);
        puts_(&s, ">\n");
        for (size_t k = i; k < end; k++) {
            size_t ri = order[k];
            const struct ipcf_report_row *row = &r->rows[ri];
            puts_(&s, "    <testcase");
            xml_attr(&s, "classname", scen);
            xml_attr(&s, "name", row->fault_class);
            puts_(&s, ">\n");
            size_t first = r->nitems;
            for (size_t m = 0; m < r->nitems && first == r->nitems; m++)
                if (r->items[m].row == ri)
                    first = m;
            if (row->findings) {
                char msg[600], verdicts[512];
                mask_names(row->verdict_mask, verdicts, sizeof(verdicts));
                snprintf(msg, sizeof(msg), "%llu finding(s): %s", (unsigned long long)row->findings,
                         verdicts);
                puts_(&s, "      <failure");
                xml_attr(&s, "type",
                         first < r->nitems ? ipcf_verdict_name(r->items[first].finding.verdict)
                                           : "finding");
                xml_attr(&s, "message", msg);
                puts_(&s, ">");
                for (size_t m = first; m < r->nitems; m++) {
                    const struct ipcf_report_item *it = &r->items[m];
                    if (it->row != ri)
                        continue;
                    char head[160];
                    snprintf(head, sizeof(head), "%s%s: ", m == first ? "" : "\n\n",
                             ipcf_verdict_name(it->finding.verdict));
                    xml_escape_to(&s, head, 0);
                    xml_escape_to(&s, it->finding.detail, 0);
                    snprintf(head, sizeof(head), "\niteration: %llu\nseed: %llu\nplan: ",
                             (unsigned long long)it->iteration, (unsigned long long)it->seed);
                    xml_escape_to(&s, head, 0);
                    xml_escape_to(&s, it->plan, 0);
                    xml_escape_to(&s, "\nreproducer: ", 0);
                    xml_escape_to(&s, it->reproducer ? it->reproducer : "(none)", 0);
                    if (it->confirmations) {
                        char rep[64];
                        snprintf(rep, sizeof(rep), "\nreproduced: %u/%u%s", it->reproduced,
                                 it->confirmations,
                                 it->reproduced < it->confirmations ? " (flaky)" : "");
                        xml_escape_to(&s, rep, 0);
                    }
                }
                puts_(&s, "</failure>\n");
            }
            char tmp[64];
            snprintf(tmp, sizeof(tmp), "%llu iteration(s), %llu finding(s)",
                     (unsigned long long)row->iterations, (unsigned long long)row->findings);
            puts_(&s, "      <system-out>");
            xml_escape_to(&s, tmp, 0);
            puts_(&s, "</system-out>\n");
            puts_(&s, "    </testcase>\n");
        }
        puts_(&s, "  </testsuite>\n");
    }
    puts_(&s, "</testsuites>\n");
    free(order);
    return s.err || ferror(f) ? -EIO : 0;
}
