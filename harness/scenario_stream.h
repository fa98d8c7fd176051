/* scenario_stream.h — the producer/consumer workload shared by the stream
 * scenarios (pipe, fifo, unix_stream): deterministic payloads, and send /
 * receive loops that write the ledger records the oracle judges.
 *
 * Messages are frames with seq 1..N on stream IPCF__STREAM_ID; payload bytes
 * and lengths are a pure function of (seed, seq). A receiver delivers (records)
 * each seq at most once: a frame whose seq is not above the last delivered one
 * is a retransmission after a restart and is dropped (that is the scenarios'
 * recovery protocol, not something the oracle excuses).
 */
#ifndef IPCF_HARNESS_SCENARIO_STREAM_H
#define IPCF_HARNESS_SCENARIO_STREAM_H

#include <stdbool.h>
#include <stdint.h>
#include "ipcfuzz/channel.h"
#include "ipcfuzz/ipcfuzz.h"

#define IPCF__STREAM_ID      1u
#define IPCF__STREAM_MAX_LEN 256u

/* State in the scenario's shared memory (survives every peer's death). */
struct ipcf__stream_shared {
    uint64_t next_seq; /* sender: next seq to send; advanced after a send returned 0 */
    uint64_t rx_last;  /* receiver: last seq delivered */
    uint32_t sender_done;
    uint32_t receiver_done;
};

/* Fill buf (cap >= IPCF__STREAM_MAX_LEN) with the payload of seq; returns its length. */
size_t ipcf__stream_payload(uint64_t seed, uint64_t seq, uint8_t *buf);

/* Send seq sh->next_seq .. n (sh->next_seq == 0 is taken as 1), recording
 * begin/sent in the ledger. Returns 0 when all were sent, 1 when the receiver
 * is gone (-EPIPE, -ECONNRESET: stop gracefully), or the negative error of
 * the failing send. */
int ipcf__stream_send(struct ipcf_channel *ch, const struct ipcf_peer_ctx *ctx,
                      struct ipcf__stream_shared *sh, unsigned n, int64_t deadline_ms);

/* Receive until seq n was delivered (returns 0), the sender closed or died
 * (-IPCF_ECLOSED / -IPCF_ETRUNCATED: returns 1), or an error (returned).
 * A frame that fails its CRC is skipped. With dedupe (scenarios whose sender
 * retransmits after a restart), a seq not above the last delivered one is
 * dropped; without it every frame is recorded, so the oracle sees duplicates. */
int ipcf__stream_recv(struct ipcf_channel *ch, const struct ipcf_peer_ctx *ctx,
                      struct ipcf__stream_shared *sh, unsigned n, bool dedupe, int64_t deadline_ms);

/* Milliseconds left until deadline_ms (CLOCK_MONOTONIC ms), at least 0. */
int ipcf__ms_left(int64_t deadline_ms);
int64_t ipcf__now_ms(void);

#endif
