/* repro.h — reproducer files: write and parse (format: docs/reproducers.md).
 *
 *   ipcfuzz-reproducer 2
 *   scenario: pipe
 *   plan: write:kill=after:when=5:peer=producer
 *   seed: 42
 *   bugs: pipe_no_eintr_retry
 *   verdict: lost,crash
 *   reproduced: 3/3
 *   detail: stream 0 seq 17 sent by producer (pid 123) never received
 *   replay: ipcfuzz replay /path/to/this.repro
 *   input: hex:0a0b0c
 *   created-by: ipcfuzz 0.1.0
 *
 * Values are single lines; \\ \n \r \t and \xHH escapes carry anything else.
 * The parser takes a buffer and a length (no NUL needed) so a libFuzzer
 * target can call it directly; it never crashes and never reads past len.
 */
#ifndef IPCF_HARNESS_REPRO_H
#define IPCF_HARNESS_REPRO_H

#include <stddef.h>
#include <stdint.h>
#include "ipcfuzz/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IPCF_REPRO_MAGIC       "ipcfuzz-reproducer"
#define IPCF_REPRO_VERSION     2          /* written; 1 (no `reproduced` key) is still read */
#define IPCF_REPRO_CONFIRM_MAX 1000u      /* largest K of `reproduced: n/K` */
#define IPCF_REPRO_MAX_BYTES   (1u << 20) /* larger files are refused */
#define IPCF_REPRO_INPUT_MAX   (256u * 1024u)

/* All strings are heap-owned, NUL-terminated; optional ones may be NULL. */
struct ipcf_repro {
    char *scenario;       /* required */
    char *plan;           /* required (canonical plan text; may be "") */
    uint64_t seed;        /* required */
    char *bugs;           /* optional: "a,b" planted bugs to enable ("" / NULL none) */
    char *verdicts;       /* required: "lost,crash" (stable verdict names) */
    char *detail;         /* optional: multi-line allowed (escaped in the file) */
    char *replay;         /* optional: the exact replay command */
    unsigned char *input; /* optional: fuzz input bytes */
    size_t input_len;
    int has_input;
    char *created_by; /* optional: "ipcfuzz 0.1.0" */
    /* optional `reproduced: n/K` (format 2): of K replays made right after the
     * finding (or after minimizing), n gave the recorded first verdict.
     * confirmations == 0: not confirmed (key absent). n < K: a flaky finding. */
    unsigned reproduced;
    unsigned confirmations;
    unsigned version; /* format version read (parse); format always writes the newest */
};

struct ipcf_repro_error {
    unsigned line; /* 1-based line of the problem; 0 = whole file (missing key) */
    char msg[160];
};

void ipcf_repro_init(struct ipcf_repro *r);
void ipcf_repro_free(struct ipcf_repro *r);

/* Set a string field (copies; NULL clears). 0 or -ENOMEM. */
IPCF_MUST_CHECK int ipcf_repro_set(char **field, const char *value);
/* Set the input bytes (copies). 0, -EINVAL (> IPCF_REPRO_INPUT_MAX), -ENOMEM. */
IPCF_MUST_CHECK int ipcf_repro_set_input(struct ipcf_repro *r, const void *data, size_t len);

/* Parse buf[0..len). Unknown keys are an error naming the line, unless they
 * start with "x-" (ignored); a duplicate key is an error; a missing required
 * key is an error naming the key; blank lines and lines starting with '#' are
 * ignored. 0 and *out filled (caller frees), or -IPCF_EPARSE with *err filled
 * (if non-NULL) and *out left empty; -ENOMEM. */
IPCF_MUST_CHECK int ipcf_repro_parse(const char *buf, size_t len, struct ipcf_repro *out,
                                     struct ipcf_repro_error *err);

/* Format r into a heap string (*text, length *len). Required fields must be set
 * (-EINVAL otherwise). If replay is NULL and replay_path is given, writes
 * "replay: ipcfuzz replay <replay_path>". 0 or -EINVAL / -ENOMEM. */
IPCF_MUST_CHECK int ipcf_repro_format(const struct ipcf_repro *r, const char *replay_path,
                                      char **text, size_t *len);

/* Write r to `path` atomically (temp file in the same directory + rename),
 * mode 0644, with "replay: ipcfuzz replay <path>" unless r->replay is set.
 * 0 or -errno. */
IPCF_MUST_CHECK int ipcf_repro_write_file(const struct ipcf_repro *r, const char *path);

/* 1 if r records a confirmation with fewer reproductions than replays
 * (reproduced < confirmations), else 0. */
int ipcf_repro_is_flaky(const struct ipcf_repro *r);

/* Read and parse `path`. 0, -IPCF_EPARSE (err filled), -EFBIG (larger than
 * IPCF_REPRO_MAX_BYTES), -errno. */
IPCF_MUST_CHECK int ipcf_repro_read_file(const char *path, struct ipcf_repro *out,
                                         struct ipcf_repro_error *err);

#ifdef __cplusplus
}
#endif
#endif
