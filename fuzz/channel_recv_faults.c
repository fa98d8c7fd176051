/* channel_recv_faults.c — fuzz target: a stream channel's receive path (pipe
 * transport, frame codec, ipcf_io retry helpers) under input-driven faults.
 *
 * The target writes encoded frames described by the input into one end of a
 * pipe, closes it, and receives from the other end with ipcf_channel_recv().
 * Every read() and poll() the receive path makes goes through the in-process
 * fault injector (ipcf_interpose linked in), whose decisions come from the
 * same input through ipcf_fuzz_chooser: pass, EINTR, EAGAIN or a short
 * transfer, call by call. Coverage guidance therefore explores the retry and
 * recovery code, not only the parser.
 *
 * Input layout (ipcfuzz/fuzz.h: decisions from the end, bytes from the front):
 *   decision frames  [0, 8]; per frame: decision length [0, 256] + payload bytes
 *   decision ending  [0, 2]: 0 clean close, 1 truncated inside the last frame,
 *                            2 one bit of the stream flipped
 *   decision where   [0, 255]: where the stream is cut or flipped
 *   then, per intercepted read/poll: choice [0, 3] (pass, EINTR, EAGAIN,
 *   short) and for short N in [1, 64]; poll only gets pass / EINTR.
 *
 * Oracle. EINTR, EAGAIN and short reads are transparent faults: they must not
 * change what is delivered.
 *   clean:     every frame, in order, intact, then -IPCF_ECLOSED;
 *   truncated: every frame but the last, then -IPCF_ETRUNCATED, then ECLOSED;
 *   corrupt:   every frame before the damaged one; the damaged frame never;
 *              afterwards only frames that were sent, intact, in increasing
 *              order; the stream may be dropped (-IPCF_EBADCRC) or poisoned.
 * No recv() may time out (all data is in the pipe), and the fault path must
 * have been consulted whenever anything was read (else the interposer is not
 * linked and the target would test nothing).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipcfuzz/channel.h"
#include "ipcfuzz/faults.h"
#include "ipcfuzz/frame.h"
#include "ipcfuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "channel_recv_faults: oracle failed: %s (%s:%d)\n", #cond, __FILE__,   \
                    __LINE__);                                                                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_FRAMES  8
#define MAX_LEN     256
#define MAX_PAYLOAD 512
#define RECV_MS     2000

struct sent {
    const uint8_t *payload;
    size_t len;
    size_t start, end; /* byte range in the stream */
};

/* read gets every transparent fault; poll only EINTR. Both draw from one input. */
struct chooser {
    struct ipcf_fuzz_faults rd, pl;
};

static void choose(void *ctx, const char *set, uint64_t index, struct ipcf_decision *d)
{
    struct chooser *c = ctx;

    if (set && strcmp(set, "poll") == 0)
        ipcf_fuzz_chooser(&c->pl, set, index, d);
    else
        ipcf_fuzz_chooser(&c->rd, set, index, d);
}

static void write_stream(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        CHECK(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t stream[MAX_FRAMES * (IPCF_FRAME_HEADER_SIZE + MAX_LEN)];
    static const char *const rd_sets[] = {"read"};
    static const char *const pl_sets[] = {"poll"};
    struct ipcf_plan empty = {NULL, 0};
    struct ipcf_fuzz_input in;
    struct ipcf_channel rd, wr;
    struct sent sent[MAX_FRAMES];
    struct chooser ch;
    size_t nframes, total = 0, cut, flip = (size_t)-1, damaged = MAX_FRAMES, next = 0;
    unsigned ending;
    bool ended = false, poisoned = false;

    ipcf_fuzz_init(&in, data, size);
    nframes = (size_t)ipcf_fuzz_range(&in, 0, MAX_FRAMES);
    for (size_t i = 0; i < nframes; i++) {
        size_t want = (size_t)ipcf_fuzz_range(&in, 0, MAX_LEN);
        int n;

        sent[i].payload = ipcf_fuzz_bytes(&in, want, &sent[i].len);
        n = ipcf_frame_encode(stream + total, sizeof(stream) - total, i + 1, 0, sent[i].payload,
                              sent[i].len);
        CHECK(n > 0);
        sent[i].start = total;
        total += (size_t)n;
        sent[i].end = total;
    }
    ending = (unsigned)ipcf_fuzz_range(&in, 0, 2);
    cut = total;
    {
        size_t where = (size_t)ipcf_fuzz_range(&in, 0, 255);

        if (nframes == 0)
            ending = 0;
        if (ending == 1) { /* cut strictly inside the last frame */
            const struct sent *last = &sent[nframes - 1];
            cut = last->start + 1 + where % (last->end - last->start - 1);
        } else if (ending == 2) {
            flip = (where * 131) % total;
            stream[flip] ^= (uint8_t)(1u << (where % 8));
            for (size_t i = 0; i < nframes; i++)
                if (flip >= sent[i].start && flip < sent[i].end)
                    damaged = i;
        }
    }

    if (ipcf_pipe_open(&rd, &wr, MAX_PAYLOAD) != 0)
        return 0;
    write_stream(wr.fd, stream, cut); /* fits: far below the pipe capacity */
    (void)ipcf_channel_close(&wr);

    memset(&ch, 0, sizeof(ch));
    ch.rd.in = &in;
    ch.rd.kinds = IPCF_FUZZ_FAULT_ALL;
    ch.rd.sets = rd_sets;
    ch.rd.nsets = 1;
    ch.rd.max_short = 64;
    /* At most 3 faults in a row: the retry helpers sleep 1 ms after 3
     * fruitless retries, which would cut exec/s twentyfold. */
    ch.rd.max_in_a_row = 3;
    ch.pl.in = &in;
    ch.pl.kinds = IPCF_FUZZ_FAULT_EINTR;
    ch.pl.sets = pl_sets;
    ch.pl.nsets = 1;
    ch.pl.max_in_a_row = 1;
    CHECK(ipcf_faults_configure(&empty, 0, "fuzz") == 0);
    ipcf_faults_set_chooser(choose, &ch);

    for (size_t calls = 0; calls < nframes + 4 && !ended; calls++) {
        struct ipcf_frame f;
        int rc = ipcf_channel_recv(&rd, &f, RECV_MS);

        CHECK(rc != -IPCF_ETIMEDOUT);
        if (rc == 0) {
            /* Exactly a frame that was sent, intact, later than the last one. */
            CHECK(!poisoned);
            CHECK(f.seq >= 1 && f.seq <= nframes && f.seq - 1 >= next);
            if (ending != 2)
                CHECK(f.seq - 1 == next); /* transparent faults: nothing skipped */
            else
                CHECK(f.seq - 1 != damaged && (next >= damaged || f.seq - 1 == next));
            CHECK(f.len == sent[f.seq - 1].len);
            CHECK(f.len == 0 || memcmp(f.payload, sent[f.seq - 1].payload, f.len) == 0);
            next = (size_t)f.seq;
            continue;
        }
        switch (ending) {
        case 0:
            CHECK(rc == -IPCF_ECLOSED && next == nframes);
            ended = true;
            break;
        case 1:
            CHECK(rc == -IPCF_ETRUNCATED && next == nframes - 1);
            CHECK(ipcf_channel_recv(&rd, &f, RECV_MS) == -IPCF_ECLOSED);
            ended = true;
            break;
        default:
            /* Everything before the damaged frame arrived; then drop or poison. */
            CHECK(next >= damaged);
            if (rc == -IPCF_EBADCRC)
                break;
            if (rc == -IPCF_ECLOSED || rc == -IPCF_ETRUNCATED) {
                ended = true;
                break;
            }
            CHECK(rc == -IPCF_EBADMAGIC || rc == -IPCF_EVERSION || rc == -IPCF_EOVERSIZE ||
                  rc == -IPCF_EPOISONED);
            poisoned = true;
            ended = true;
            break;
        }
    }
    if (ending != 2)
        CHECK(ended);
    if (cut > 0)
        CHECK(ch.rd.calls > 0); /* the interposer routed read() to the chooser */

    ipcf_faults_set_chooser(NULL, NULL);
    ipcf_faults_disable();
    if (getenv("IPCF_FUZZ_VERBOSE"))
        fprintf(stderr,
                "frames %zu ending %u delivered %zu; read calls %llu: eintr %llu eagain %llu "
                "short %llu; poll calls %llu: eintr %llu\n",
                nframes, ending, next, (unsigned long long)ch.rd.calls,
                (unsigned long long)ch.rd.eintr, (unsigned long long)ch.rd.eagain,
                (unsigned long long)ch.rd.shorts, (unsigned long long)ch.pl.calls,
                (unsigned long long)ch.pl.eintr);
    (void)ipcf_channel_close(&rd);
    return 0;
}
