/* scenario_stream.c — see scenario_stream.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "scenario_stream.h"

int64_t ipcf__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ipcf__ms_left(int64_t deadline_ms)
{
    int64_t left = deadline_ms - ipcf__now_ms();
    return left < 0 ? 0 : left > 0x7fffffff ? 0x7fffffff : (int)left;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

size_t ipcf__stream_payload(uint64_t seed, uint64_t seq, uint8_t *buf)
{
    uint64_t s = mix(seed ^ mix(seq));
    size_t len = 8 + (size_t)(s % (IPCF__STREAM_MAX_LEN - 8));
    memcpy(buf, &seq, sizeof(seq)); /* the seq leads the payload: easy to eyeball */
    for (size_t i = sizeof(seq); i < len; i++) {
        s = mix(s);
        buf[i] = (uint8_t)s;
    }
    return len;
}

int ipcf__stream_send(struct ipcf_channel *ch, const struct ipcf_peer_ctx *ctx,
                      struct ipcf__stream_shared *sh, unsigned n, int64_t deadline_ms)
{
    uint8_t buf[IPCF__STREAM_MAX_LEN];
    if (sh->next_seq == 0)
        sh->next_seq = 1;
    while (sh->next_seq <= n) {
        uint64_t seq = sh->next_seq;
        size_t len = ipcf__stream_payload(ctx->seed, seq, buf);
        (void)ipcf_ledger_send_begin(IPCF__STREAM_ID, seq, buf, len);
        int rc = ipcf_channel_send(ch, seq, buf, len, ipcf__ms_left(deadline_ms));
        if (rc == -EPIPE || rc == -ECONNRESET)
            return 1;
        if (rc < 0) {
            fprintf(stderr, "%s: send seq %llu: %s\n", ctx->peer, (unsigned long long)seq,
                    ipcf_strerror(rc));
            return rc;
        }
        (void)ipcf_ledger_sent(IPCF__STREAM_ID, seq, buf, len);
        __atomic_store_n(&sh->next_seq, seq + 1, __ATOMIC_RELEASE);
    }
    return 0;
}

int ipcf__stream_recv(struct ipcf_channel *ch, const struct ipcf_peer_ctx *ctx,
                      struct ipcf__stream_shared *sh, unsigned n, bool dedupe, int64_t deadline_ms)
{
    while (__atomic_load_n(&sh->rx_last, __ATOMIC_ACQUIRE) < n) {
        struct ipcf_frame f;
        int rc = ipcf_channel_recv(ch, &f, ipcf__ms_left(deadline_ms));
        if (rc == -IPCF_ECLOSED || rc == -IPCF_ETRUNCATED)
            return 1;
        if (rc == -IPCF_EBADCRC)
            continue;
        if (rc < 0) {
            fprintf(stderr, "%s: recv after seq %llu: %s\n", ctx->peer,
                    (unsigned long long)sh->rx_last, ipcf_strerror(rc));
            return rc;
        }
        if (dedupe && f.seq <= sh->rx_last)
            continue; /* retransmission after a restart: already delivered */
        (void)ipcf_ledger_received(IPCF__STREAM_ID, f.seq, f.payload, f.len);
        if (f.seq > sh->rx_last)
            __atomic_store_n(&sh->rx_last, f.seq, __ATOMIC_RELEASE);
    }
    return 0;
}
