/* report.h — campaign reports: a terminal summary table, JSON lines and JUnit XML.
 *
 * The supervisor feeds every judged iteration into a struct ipcf_report
 * (ipcf_report_add); at the end it writes any of the three formats:
 *
 *  table: one row per (scenario, fault class): iterations, findings, and the
 *         verdicts seen; a total line.
 *  JSON lines: one object per finding
 *    {"type":"finding","scenario":..,"fault_class":..,"iteration":N,"seed":N,
 *     "plan":..,"verdict":..,"stream":N,"seq":N,"peer":N,"pid":N,"detail":..,
 *     "reproducer":..[,"reproduced":"n/K","flaky":true|false]}
 *    (the last two when the finding was confirmed by replays: see
 *    ipcf_report_add_confirmed)
 *    then one per summary row
 *    {"type":"summary","scenario":..,"fault_class":..,"iterations":N,"findings":N,
 *     "flaky":N}
 *  JUnit XML: <testsuites> / <testsuite name=SCENARIO> per scenario /
 *    <testcase name=FAULT-CLASS classname=SCENARIO> per row / at most one
 *    <failure type=FIRST-VERDICT message="N finding(s): VERDICTS"> per
 *    testcase (the Ant/Jenkins schema allows one), every finding with its
 *    plan, seed and reproducer path in the body.
 *  Table and JUnit list rows sorted by scenario, then fault class.
 *
 * Strings are copied; the report owns them. Output functions only write.
 */
#ifndef IPCF_HARNESS_REPORT_H
#define IPCF_HARNESS_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "ipcfuzz/error.h"
#include "oracle.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ipcf_report_row {
    char *scenario;
    char *fault_class;
    uint64_t iterations;
    uint64_t findings;     /* findings stored + dropped */
    uint32_t verdict_mask; /* bit (1u << verdict) for each verdict seen */
    uint64_t flaky;        /* iterations whose findings reproduced < K of K confirmations */
};

struct ipcf_report_item {
    size_t row; /* index into rows */
    uint64_t iteration;
    uint64_t seed;
    char *plan;
    char *reproducer; /* may be NULL */
    struct ipcf_finding finding;
    unsigned reproduced, confirmations; /* confirmation replays (0/0: not confirmed) */
};

struct ipcf_report {
    struct ipcf_report_row *rows;
    size_t nrows, rows_cap;
    struct ipcf_report_item *items;
    size_t nitems, items_cap;
    uint64_t items_dropped; /* findings beyond IPCF_REPORT_ITEMS_MAX */
};

#define IPCF_REPORT_ITEMS_MAX 100000

void ipcf_report_init(struct ipcf_report *r);
void ipcf_report_free(struct ipcf_report *r);

/* Account one judged iteration: adds to the (scenario, fault_class) row and
 * stores a copy of each finding with its context. findings may be NULL (ok).
 * plan and reproducer may be NULL. 0 or -ENOMEM / -EINVAL (NULL scenario or class). */
IPCF_MUST_CHECK int ipcf_report_add(struct ipcf_report *r, const char *scenario,
                                    const char *fault_class, uint64_t iteration, uint64_t seed,
                                    const char *plan, const struct ipcf_findings *findings,
                                    const char *reproducer);

/* The same, for an iteration whose findings were replayed `confirmations`
 * times right after it, `reproduced` of them giving the same first verdict.
 * reproduced < confirmations marks the findings flaky: they still count as
 * findings (a flaky finding is never dropped); the table shows "(N flaky)",
 * JSON "reproduced" and "flaky", JUnit a line in the failure body.
 * confirmations == 0: not confirmed (same as ipcf_report_add). */
IPCF_MUST_CHECK int ipcf_report_add_confirmed(struct ipcf_report *r, const char *scenario,
                                              const char *fault_class, uint64_t iteration,
                                              uint64_t seed, const char *plan,
                                              const struct ipcf_findings *findings,
                                              const char *reproducer, unsigned reproduced,
                                              unsigned confirmations);

/* Total findings over all rows. */
uint64_t ipcf_report_total_findings(const struct ipcf_report *r);

/* Writers: 0 or -EIO (a write to f failed). */
IPCF_MUST_CHECK int ipcf_report_write_table(const struct ipcf_report *r, FILE *f);
IPCF_MUST_CHECK int ipcf_report_write_jsonl(const struct ipcf_report *r, FILE *f);
IPCF_MUST_CHECK int ipcf_report_write_junit(const struct ipcf_report *r, FILE *f);

/* JSON string body escaping (no surrounding quotes): " \ and control chars
 * (\n \r \t \b \f, others \u00XX); bytes >= 0x80 are passed through if they
 * form valid UTF-8, else written as \u00XX of the byte (so output is always
 * valid JSON). snprintf-style: returns the length needed, writes at most cap. */
size_t ipcf_json_escape(const char *s, char *buf, size_t cap);

/* XML attribute/text escaping: & < > " ' as entities; control chars other
 * than \t \n \r (not allowed in XML 1.0) become '?'. snprintf-style. */
size_t ipcf_xml_escape(const char *s, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
