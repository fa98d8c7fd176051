/* ledger_internal.h — test seams of harness/ledger.c (not for scenario code). */
#ifndef IPCF_HARNESS_LEDGER_INTERNAL_H
#define IPCF_HARNESS_LEDGER_INTERNAL_H

#include <stdint.h>

/* Called by every append in the middle of writing the record, after the slot
 * is reserved and before it is published (NULL = off). Tests set it to kill
 * the writer with a half-written record. */
extern void (*ipcf__ledger_test_hook)(uint64_t idx);

#endif
