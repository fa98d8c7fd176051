/* mkseeds.c — writes the seed corpora of the project's fuzz targets,
 * reproducibly: `fuzz_mkseeds ROOT` creates ROOT/<target>/<seed> for
 * frame_decode, frame_roundtrip, plan_parse, channel_recv_faults and noop.
 * The committed corpus/ is this program's output; the test fuzz_seeds_current
 * (fuzz/check-seeds.sh) regenerates it and fails on any difference.
 *
 * Seeds follow each target's input layout (see the comment at the top of each
 * target): payload bytes at the front, decisions at the end in reverse reading
 * order, because ipcfuzz/fuzz.h reads decisions from the end. struct seed
 * below is the inverse of that helper: put() appends a decision in the order
 * the target reads it, and the file is data || reversed(decisions).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ipcfuzz/frame.h"

struct seed {
    uint8_t data[16384];
    size_t n;
    uint8_t dec[8192]; /* decision bytes in the order the target reads them */
    size_t nd;
};

static const char *root;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_mkseeds: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void seed_reset(struct seed *s)
{
    s->n = 0;
    s->nd = 0;
}

static void add(struct seed *s, const void *p, size_t len)
{
    if (s->n + len > sizeof(s->data)) {
        fprintf(stderr, "fuzz_mkseeds: seed too large\n");
        exit(1);
    }
    memcpy(s->data + s->n, p, len);
    s->n += len;
}

/* Append the decision "value v of range [lo, hi]": the helper reads as many
 * bytes as the width needs, the first one read being the most significant. */
static void put(struct seed *s, uint64_t lo, uint64_t hi, uint64_t v)
{
    uint64_t width = hi - lo, acc = v - lo;
    unsigned k = 0;

    while (k < 8 && (width >> (8 * k)) != 0)
        k++;
    for (unsigned i = 0; i < k; i++) {
        if (s->nd >= sizeof(s->dec)) {
            fprintf(stderr, "fuzz_mkseeds: too many decisions\n");
            exit(1);
        }
        s->dec[s->nd++] = (uint8_t)(acc >> (8 * (k - 1 - i)));
    }
}

static void emit(const struct seed *s, const char *target, const char *name)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", root, target);
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        fail(path);
    snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
    f = fopen(path, "wb");
    if (!f)
        fail(path);
    if (s->n && fwrite(s->data, 1, s->n, f) != s->n)
        fail(path);
    for (size_t i = s->nd; i > 0; i--)
        if (fputc(s->dec[i - 1], f) == EOF)
            fail(path);
    if (fclose(f) != 0)
        fail(path);
}

/* Encode one frame into s->data (the stream). Returns its offset. */
static size_t frame(struct seed *s, uint64_t seq, uint16_t flags, const void *payload, size_t len)
{
    size_t at = s->n;
    int n;

    if (s->n + ipcf_frame_encoded_size(len) > sizeof(s->data)) {
        fprintf(stderr, "fuzz_mkseeds: stream too large\n");
        exit(1);
    }
    n = ipcf_frame_encode(s->data + s->n, sizeof(s->data) - s->n, seq, flags, payload, len);
    if (n < 0) {
        fprintf(stderr, "fuzz_mkseeds: encode: %d\n", n);
        exit(1);
    }
    s->n += (size_t)n;
    return at;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- frame_decode: max_payload [1,4096]; chunk [0,64] (0 = rest); after a
 * poisoning error a bool "reset". */
static void frame_decode_seeds(void)
{
    static const char *T = "frame_decode";
    static const uint8_t big[64] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ#";
    struct seed s;
    size_t at;

    seed_reset(&s); /* one valid frame, fed whole */
    frame(&s, 1, 0, "hello", 5);
    put(&s, 1, 4096, 4096);
    put(&s, 0, 64, 0);
    emit(&s, T, "valid-one");

    seed_reset(&s); /* zero-length payload */
    frame(&s, 2, 3, NULL, 0);
    put(&s, 1, 4096, 16);
    put(&s, 0, 64, 0);
    emit(&s, T, "valid-empty-payload");

    seed_reset(&s); /* length == max_payload, byte by byte */
    frame(&s, 3, 0, big, sizeof(big));
    put(&s, 1, 4096, sizeof(big));
    for (size_t i = 0; i + 1 < s.n; i++)
        put(&s, 0, 64, 1);
    put(&s, 0, 64, 0);
    emit(&s, T, "valid-max-length-bytewise");

    seed_reset(&s); /* three frames in 7-byte chunks */
    frame(&s, 10, 1, "a", 1);
    frame(&s, 11, 2, "bb", 2);
    frame(&s, 12, 0x1ff, big, 40);
    put(&s, 1, 4096, 64);
    for (size_t i = 0; i + 7 < s.n; i += 7)
        put(&s, 0, 64, 7);
    put(&s, 0, 64, 0);
    emit(&s, T, "valid-three-chunked");

    seed_reset(&s); /* length one past the bound */
    frame(&s, 4, 0, big, sizeof(big));
    put(&s, 1, 4096, sizeof(big) - 1);
    put(&s, 0, 64, 0);
    emit(&s, T, "err-oversize");

    seed_reset(&s); /* huge announced length (no payload follows) */
    at = frame(&s, 5, 0, NULL, 0);
    put32(s.data + at + 8, 0xfffffff0u);
    put(&s, 1, 4096, 4096);
    put(&s, 0, 64, 0);
    emit(&s, T, "err-length-huge");

    seed_reset(&s); /* bad magic, then reset and a valid frame */
    at = frame(&s, 6, 0, NULL, 0);
    s.data[at] = 'J';
    frame(&s, 7, 0, "after-reset", 11);
    put(&s, 1, 4096, 4096);
    put(&s, 0, 64, IPCF_FRAME_HEADER_SIZE);
    put(&s, 0, 1, 1);
    put(&s, 0, 64, 0);
    emit(&s, T, "err-bad-magic-then-reset");

    seed_reset(&s); /* unsupported version */
    at = frame(&s, 8, 0, "v", 1);
    s.data[at + 4] = 2;
    put(&s, 1, 4096, 4096);
    put(&s, 0, 64, 0);
    emit(&s, T, "err-bad-version");

    seed_reset(&s); /* bad CRC (payload bit flipped), then a valid frame */
    at = frame(&s, 9, 0, "payload", 7);
    s.data[at + IPCF_FRAME_HEADER_SIZE + 2] ^= 0x20;
    frame(&s, 10, 0, "next", 4);
    put(&s, 1, 4096, 4096);
    put(&s, 0, 64, 0);
    emit(&s, T, "err-bad-crc-then-valid");

    seed_reset(&s); /* bad CRC (stored CRC wrong), header only */
    at = frame(&s, 11, 0, NULL, 0);
    s.data[at + 12] ^= 1;
    put(&s, 1, 4096, 4096);
    put(&s, 0, 64, 0);
    emit(&s, T, "err-bad-crc-header");

    seed_reset(&s); /* truncated: last 5 payload bytes missing */
    frame(&s, 12, 0, big, 20);
    s.n -= 5;
    put(&s, 1, 4096, 4096);
    put(&s, 0, 64, 0);
    emit(&s, T, "err-truncated");

    seed_reset(&s); /* truncated inside the header */
    frame(&s, 13, 0, "t", 1);
    s.n = 10;
    put(&s, 1, 4096, 4096);
    put(&s, 0, 64, 0);
    emit(&s, T, "err-truncated-header");
}

/* ---- frame_roundtrip: max [0,600], frames [0,8], per frame seq [0,65535],
 * flags [0,65535], length [0,512] + payload bytes; then chunks [0,64]. */
struct rt_frame {
    uint16_t seq, flags;
    const char *payload;
    size_t len;
};

static void roundtrip(const char *name, size_t max, const struct rt_frame *fr, size_t n,
                      size_t chunk)
{
    struct seed s;
    size_t total = 0;

    seed_reset(&s);
    put(&s, 0, 600, max);
    put(&s, 0, 8, n);
    for (size_t i = 0; i < n; i++) {
        put(&s, 0, 0xffff, fr[i].seq);
        put(&s, 0, 0xffff, fr[i].flags);
        put(&s, 0, 512, fr[i].len);
        add(&s, fr[i].payload, fr[i].len);
        total += ipcf_frame_encoded_size(fr[i].len);
    }
    if (chunk)
        for (size_t i = 0; i + chunk < total; i += chunk)
            put(&s, 0, 64, chunk);
    put(&s, 0, 64, 0);
    emit(&s, "frame_roundtrip", name);
}

static void frame_roundtrip_seeds(void)
{
    static const char long_payload[300] = "a longer payload that spans many chunks";
    const struct rt_frame one[] = {{1, 0, "hello", 5}};
    const struct rt_frame three[] = {{1, 0, "", 0}, {2, 0x0102, "two", 3}, {3, 7, "three!", 6}};
    const struct rt_frame big[] = {{9, 0, long_payload, sizeof(long_payload)}, {10, 1, "z", 1}};

    roundtrip("zero-frames", 0, NULL, 0, 0);
    roundtrip("one-frame", 64, one, 1, 0);
    roundtrip("three-frames-bytewise", 64, three, 3, 1);
    roundtrip("long-payload-chunk13", 512, big, 2, 13);
    roundtrip("oversize-second", 100, big, 2, 0);
}

/* ---- plan_parse: the plan text itself. */
static void plan_parse_seeds(void)
{
    static const char *const plans[][2] = {
        {"empty", ""},
        {"error-eintr", "read:error=EINTR"},
        {"retval", "write:retval=-1:when=3"},
        {"short", "read:short=1:when=1+1:peer=consumer"},
        {"corrupt", "recvmsg:corrupt=3:p=0.25"},
        {"signal", "read:signal=SIGUSR1:when=2..4"},
        {"kill-before", "mq_send:kill=before:when=5:peer=producer"},
        {"kill-after", "write:kill=after:when=5:peer=producer"},
        {"shrink", "ftruncate:shrink=ring*:when=1"},
        {"delay", "all:delay=100:p=0.01"},
        {"point", "point=commit:kill=after:when=2"},
        {"multi", "read:short=1:when=1+1:peer=consumer ; write:kill=after:when=5:peer=producer ; "
                  "recvmsg:error=EINTR:p=0.05"},
        {"two-actions", "write:short=3:delay=10:when=1..10+3"},
        {"bad-errno", "read:error=EBOGUS"},
        {"bad-missing-action", "read"},
        {"bad-when", "read:error=EINTR:when=5..2"},
    };

    for (size_t i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
        struct seed s;

        seed_reset(&s);
        add(&s, plans[i][1], strlen(plans[i][1]));
        emit(&s, "plan_parse", plans[i][0]);
    }
}

/* ---- channel_recv_faults: see that target for the layout. */
static void channel_seeds(void)
{
    static const char *const payloads[] = {"first", "", "third frame payload", "4"};
    struct seed s;

    for (int variant = 0; variant < 3; variant++) {
        seed_reset(&s);
        put(&s, 0, 8, 4); /* frames */
        for (size_t i = 0; i < 4; i++) {
            size_t len = strlen(payloads[i]);
            put(&s, 0, 256, len);
            add(&s, payloads[i], len);
        }
        put(&s, 0, 2, (uint64_t)variant); /* 0 = clean end, 1 = truncated, 2 = corrupt */
        put(&s, 0, 255, 3);               /* where: byte offset for truncate/corrupt */
        /* fault decisions: the io helper polls before every read, so each read
         * decision (pass, EINTR, EAGAIN, short=N) follows a poll decision
         * (pass, EINTR): here the poll passes. */
        for (int k = 0; k < 24; k++) {
            put(&s, 0, 1, 0);
            put(&s, 0, 3, (uint64_t)((k + variant) % 4));
            if ((k + variant) % 4 == 3)
                put(&s, 1, 64, 1 + (uint64_t)k % 7);
        }
        emit(&s, "channel_recv_faults",
             variant == 0 ? "clean-mixed-faults"
                          : (variant == 1 ? "truncated-mixed-faults" : "corrupt-mixed-faults"));
    }
}

int main(int argc, char **argv)
{
    struct seed s;

    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_mkseeds CORPUS-ROOT\n");
        return 2;
    }
    root = argv[1];
    if (mkdir(root, 0755) < 0 && errno != EEXIST)
        fail(root);
    frame_decode_seeds();
    frame_roundtrip_seeds();
    plan_parse_seeds();
    channel_seeds();
    seed_reset(&s);
    add(&s, "seed", 4);
    emit(&s, "noop", "seed");
    return 0;
}
