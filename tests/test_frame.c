/* test_frame.c — the framing codec: CRC32C vectors, round trips, every error
 * code and its poisoned/recoverable state, identical results under random
 * chunking (200 seeds, validate() after every feed), bounded memory under
 * oversize and garbage input, and each planted bug's observable effect (plus,
 * under ASan, the real memory error it causes, in a forked child). */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "ipcfuzz/bugs.h"
#include "ipcfuzz/frame.h"

#define HDR IPCF_FRAME_HEADER_SIZE

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif

static uint64_t rng_state;
static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33);
}

static void put32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Re-seal a header whose fields a test edited, so only the intended check fails. */
static void reseal(uint8_t *frame, size_t payload_len)
{
    static const uint8_t zero[4];
    uint32_t c = ipcf_crc32c(0, frame, 12);
    c = ipcf_crc32c(c, zero, 4);
    c = ipcf_crc32c(c, frame + 16, 8);
    c = ipcf_crc32c(c, frame + HDR, payload_len);
    put32le(frame + 12, c);
}

static void test_crc32c_vectors(void **state)
{
    (void)state;
    uint8_t buf[32];
    assert_int_equal(ipcf_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(ipcf_crc32c(0, "", 0), 0);
    memset(buf, 0, sizeof(buf)); /* RFC 3720 B.4 vectors */
    assert_int_equal(ipcf_crc32c(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, sizeof(buf));
    assert_int_equal(ipcf_crc32c(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    assert_int_equal(ipcf_crc32c(0, buf, 32), 0x46DD794Eu);
    uint32_t c = ipcf_crc32c(0, "1234", 4);
    assert_int_equal(ipcf_crc32c(c, "56789", 5), 0xE3069283u);
}

static void test_encode_errors_and_layout(void **state)
{
    (void)state;
    uint8_t buf[64];
    assert_int_equal(ipcf_frame_encoded_size(5), HDR + 5);
    assert_int_equal(ipcf_frame_encode(buf, HDR + 4, 1, 0, "hello", 5), -ENOBUFS);
    assert_int_equal(ipcf_frame_encode(NULL, 64, 1, 0, "hello", 5), -EINVAL);
    assert_int_equal(ipcf_frame_encode(buf, 64, 1, 0, NULL, 5), -EINVAL);
    assert_int_equal(ipcf_frame_encode(buf, SIZE_MAX, 1, 0, buf, IPCF_FRAME_PAYLOAD_LIMIT + 1u),
                     -IPCF_EOVERSIZE);
    assert_int_equal(ipcf_frame_encode(buf, 64, 0x0102030405060708ULL, 0xA1B2, "hello", 5),
                     HDR + 5);
    const uint8_t want[] = {'I', 'P', 'C', 'F', 1, 0, 0xB2, 0xA1, 5, 0, 0, 0};
    assert_memory_equal(buf, want, sizeof(want));
    const uint8_t seq[] = {8, 7, 6, 5, 4, 3, 2, 1};
    assert_memory_equal(buf + 16, seq, 8);
    assert_memory_equal(buf + HDR, "hello", 5);
    assert_int_equal(ipcf_frame_encode(buf, HDR, 1, 0, NULL, 0), HDR);
}

static void test_round_trip(void **state)
{
    (void)state;
    struct ipcf_frame_decoder d;
    struct ipcf_frame f;
    static uint8_t payload[5000], wire[5000 + HDR];
    size_t used;

    assert_int_equal(ipcf_frame_decoder_init(&d, sizeof(payload)), 0);
    const size_t lens[] = {0, 1, 2, 23, 24, 25, 4096, 5000};
    for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        for (size_t i = 0; i < lens[k]; i++)
            payload[i] = (uint8_t)(i * 13 + k);
        int n = ipcf_frame_encode(wire, sizeof(wire), 100 + k, (uint16_t)k, payload, lens[k]);
        assert_int_equal(n, HDR + lens[k]);
        assert_int_equal(ipcf_frame_decoder_feed(&d, wire, (size_t)n, &used, &f), 1);
        assert_int_equal(used, (size_t)n);
        assert_int_equal(f.seq, 100 + k);
        assert_int_equal(f.flags, k);
        assert_int_equal(f.len, lens[k]);
        assert_non_null(f.payload);
        if (lens[k])
            assert_memory_equal(f.payload, payload, lens[k]);
        assert_int_equal(ipcf_frame_decoder_validate(&d), 0);
        assert_int_equal(ipcf_frame_decoder_buffered(&d), 0);
    }
    assert_int_equal(d.frames, 8);
    assert_int_equal(ipcf_frame_decoder_finish(&d), 0);
    /* an empty feed is a no-op */
    assert_int_equal(ipcf_frame_decoder_feed(&d, NULL, 0, &used, &f), 0);
    assert_int_equal(used, 0);
    ipcf_frame_decoder_fini(&d);
    ipcf_frame_decoder_fini(&d); /* twice is fine */
}

/* Build a valid frame in buf (payload "abcdef"), return its size. */
static size_t good_frame(uint8_t *buf, uint64_t seq)
{
    int n = ipcf_frame_encode(buf, 64, seq, 0, "abcdef", 6);
    assert_int_equal(n, HDR + 6);
    return (size_t)n;
}

static void expect_poisoned(struct ipcf_frame_decoder *d, int err)
{
    struct ipcf_frame f;
    size_t used = 99;
    uint8_t buf[64];
    size_t n = good_frame(buf, 1);
    assert_true(ipcf_frame_decoder_poisoned(d));
    assert_int_equal(d->error, err);
    assert_int_equal(ipcf_frame_decoder_validate(d), 0);
    assert_int_equal(ipcf_frame_decoder_feed(d, buf, n, &used, &f), -IPCF_EPOISONED);
    assert_int_equal(used, 0);
    assert_int_equal(ipcf_frame_decoder_want(d), 0);
    assert_int_equal(ipcf_frame_decoder_finish(d), -IPCF_EPOISONED);
    ipcf_frame_decoder_reset(d); /* reset clears the poison */
    assert_false(ipcf_frame_decoder_poisoned(d));
    assert_int_equal(ipcf_frame_decoder_feed(d, buf, n, &used, &f), 1);
    assert_int_equal(ipcf_frame_decoder_validate(d), 0);
}

static void test_every_error_code(void **state)
{
    (void)state;
    struct ipcf_frame_decoder d;
    struct ipcf_frame f;
    uint8_t buf[128];
    size_t used, n;

    assert_int_equal(ipcf_frame_decoder_init(&d, 64), 0);

    /* bad magic -> poisoned, detected as soon as the header is whole */
    n = good_frame(buf, 1);
    buf[0] ^= 1;
    assert_int_equal(ipcf_frame_decoder_feed(&d, buf, n, &used, &f), -IPCF_EBADMAGIC);
    assert_int_equal(used, HDR);
    expect_poisoned(&d, -IPCF_EBADMAGIC);

    /* bad version -> poisoned */
    n = good_frame(buf, 1);
    buf[4] = 2;
    reseal(buf, 6);
    assert_int_equal(ipcf_frame_decoder_feed(&d, buf, n, &used, &f), -IPCF_EVERSION);
    expect_poisoned(&d, -IPCF_EVERSION);

    /* oversize -> poisoned before a payload byte is buffered */
    n = good_frame(buf, 1);
    put32le(buf + 8, 65);
    reseal(buf, 6);
    assert_int_equal(ipcf_frame_decoder_feed(&d, buf, n, &used, &f), -IPCF_EOVERSIZE);
    assert_int_equal(used, HDR);
    expect_poisoned(&d, -IPCF_EOVERSIZE);
    /* exactly max is fine */
    memset(buf + HDR, 'm', 64);
    n = (size_t)ipcf_frame_encode(buf, sizeof(buf), 2, 0, buf + HDR, 64);
    assert_int_equal(ipcf_frame_decoder_feed(&d, buf, n, &used, &f), 1);
    assert_int_equal(f.len, 64);

    /* bad CRC (payload, header seq, crc field) -> recoverable, next frame decodes */
    for (int where = 0; where < 3; where++) {
        n = good_frame(buf, 3);
        size_t m = good_frame(buf + n, 4);
        buf[where == 0 ? HDR + 2 : where == 1 ? 17 : 13] ^= 0x10;
        assert_int_equal(ipcf_frame_decoder_feed(&d, buf, n + m, &used, &f), -IPCF_EBADCRC);
        assert_int_equal(used, n);
        assert_false(ipcf_frame_decoder_poisoned(&d));
        assert_int_equal(ipcf_frame_decoder_validate(&d), 0);
        assert_int_equal(ipcf_frame_decoder_feed(&d, buf + n, m, &used, &f), 1);
        assert_int_equal(f.seq, 4);
    }
    assert_int_equal(d.bad_frames, 3);

    /* truncated: end of stream inside a header, and inside a payload */
    n = good_frame(buf, 5);
    assert_int_equal(ipcf_frame_decoder_feed(&d, buf, 10, &used, &f), 0);
    assert_int_equal(ipcf_frame_decoder_buffered(&d), 10);
    assert_int_equal(ipcf_frame_decoder_finish(&d), -IPCF_ETRUNCATED);
    assert_int_equal(ipcf_frame_decoder_buffered(&d), 0);
    assert_int_equal(ipcf_frame_decoder_feed(&d, buf, n - 1, &used, &f), 0);
    assert_int_equal(ipcf_frame_decoder_want(&d), 1);
    assert_int_equal(ipcf_frame_decoder_finish(&d), -IPCF_ETRUNCATED);
    assert_int_equal(ipcf_frame_decoder_finish(&d), 0);
    assert_int_equal(ipcf_frame_decoder_validate(&d), 0);

    /* argument errors */
    assert_int_equal(ipcf_frame_decoder_feed(&d, NULL, 3, &used, &f), -EINVAL);
    assert_int_equal(ipcf_frame_decoder_feed(NULL, buf, 3, &used, &f), -EINVAL);
    ipcf_frame_decoder_fini(&d);
    assert_int_equal(ipcf_frame_decoder_feed(&d, buf, 3, &used, &f), -EINVAL);
    assert_int_equal(ipcf_frame_decoder_validate(&d), -IPCF_ECORRUPT);
    assert_int_equal(ipcf_frame_decoder_init(&d, IPCF_FRAME_PAYLOAD_LIMIT + 1u), -EINVAL);
    assert_int_equal(ipcf_frame_decoder_init(&d, 0), 0);
    assert_int_equal(d.max_payload, IPCF_FRAME_DEFAULT_MAX_PAYLOAD);
    ipcf_frame_decoder_fini(&d);
}

/* One stream of frames, decoded whole and split at random chunk boundaries
 * (200 seeds): identical frames every time; validate() after every feed. */
#define NFRAMES 60
static void test_random_chunking(void **state)
{
    (void)state;
    static uint8_t stream[NFRAMES * (HDR + 700)];
    size_t lens[NFRAMES], total = 0;
    struct ipcf_frame_decoder d;
    struct ipcf_frame f;

    rng_state = 12345;
    for (int i = 0; i < NFRAMES; i++) {
        uint8_t payload[700];
        lens[i] = (i % 7 == 0) ? 0 : rnd() % 700;
        for (size_t k = 0; k < lens[i]; k++)
            payload[k] = (uint8_t)rnd();
        int n = ipcf_frame_encode(stream + total, sizeof(stream) - total, (uint64_t)i * 3,
                                  (uint16_t)i, payload, lens[i]);
        assert_true(n > 0);
        total += (size_t)n;
    }
    assert_int_equal(ipcf_frame_decoder_init(&d, 700), 0);
    for (uint64_t seed = 1; seed <= 200; seed++) {
        rng_state = seed;
        size_t off = 0, pos = 0;
        int got = 0;
        while (pos < total) {
            uint32_t r = rnd();
            size_t chunk = (r % 4 == 0) ? 1 + rnd() % 3000 : 1 + rnd() % 40;
            if (chunk > total - pos)
                chunk = total - pos;
            size_t left = chunk;
            const uint8_t *p = stream + pos;
            while (left) {
                size_t used;
                int rc = ipcf_frame_decoder_feed(&d, p, left, &used, &f);
                assert_true(rc == 0 || rc == 1);
                assert_true(used > 0 && used <= left);
                assert_int_equal(ipcf_frame_decoder_validate(&d), 0);
                p += used;
                left -= used;
                if (rc == 1) {
                    /* compare with the same frame in the stream */
                    assert_int_equal(f.seq, (uint64_t)got * 3);
                    assert_int_equal(f.flags, got);
                    assert_int_equal(f.len, lens[got]);
                    assert_memory_equal(f.payload, stream + off + HDR, lens[got]);
                    off += HDR + lens[got];
                    got++;
                }
            }
            pos += chunk;
        }
        assert_int_equal(got, NFRAMES);
        assert_int_equal(ipcf_frame_decoder_finish(&d), 0);
    }
    ipcf_frame_decoder_fini(&d);
}

/* Oversize and garbage never make the decoder grow: the buffer is the one
 * allocated at init, heap use is flat, invariants hold. */
static void test_bounded_memory(void **state)
{
    (void)state;
    struct ipcf_frame_decoder d;
    struct ipcf_frame f;
    static uint8_t junk[1 << 16];
    size_t used;

    assert_int_equal(ipcf_frame_decoder_init(&d, 256), 0);
    uint8_t *buf0 = d.buf;
    struct mallinfo2 m0 = mallinfo2();
    rng_state = 99;
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < sizeof(junk); i++)
            junk[i] = (uint8_t)rnd();
        if (round % 2) { /* a well-formed header announcing a huge length */
            memcpy(junk, "IPCF\x01\x00\x00\x00", 8);
            put32le(junk + 8, 0xFFFFFFF0u - (uint32_t)round);
        }
        size_t pos = 0;
        while (pos < sizeof(junk)) {
            int rc = ipcf_frame_decoder_feed(&d, junk + pos, sizeof(junk) - pos, &used, &f);
            assert_int_equal(ipcf_frame_decoder_validate(&d), 0);
            assert_true(d.need <= HDR + 256 && d.have <= d.need);
            if (rc == -IPCF_EPOISONED) {
                ipcf_frame_decoder_reset(&d); /* resynchronise by force */
                continue;
            }
            pos += used;
            if (rc < 0 && rc != -IPCF_EBADCRC)
                assert_true(ipcf_frame_decoder_poisoned(&d));
        }
        assert_ptr_equal(d.buf, buf0);
    }
    struct mallinfo2 m1 = mallinfo2();
    assert_true(m1.uordblks <= m0.uordblks + 4096);
    ipcf_frame_decoder_fini(&d);
}

/* Header of a frame announcing len bytes. */
static void header_with_len(uint8_t *h, uint32_t len)
{
    int n = ipcf_frame_encode(h, HDR, 1, 0, NULL, 0);
    assert_int_equal(n, HDR);
    put32le(h + 8, len);
}

/* frame_trust_length: an oversize header is accepted (no -IPCF_EOVERSIZE)
 * and the decoder's invariants are broken; off again -> rejected. */
static void test_bug_trust_length(void **state)
{
    (void)state;
    struct ipcf_frame_decoder d;
    struct ipcf_frame f;
    uint8_t h[HDR];
    size_t used;

    header_with_len(h, 1000);
    assert_int_equal(ipcf_frame_decoder_init(&d, 64), 0);
    assert_int_equal(ipcf_bugs_set("frame_trust_length"), 0);
    int rc = ipcf_frame_decoder_feed(&d, h, HDR, &used, &f);
    int v = ipcf_frame_decoder_validate(&d);
    assert_int_equal(ipcf_bugs_set(""), 0);
    assert_int_equal(rc, 0);             /* bug: accepted */
    assert_int_equal(v, -IPCF_ECORRUPT); /* validate() catches it */
    ipcf_frame_decoder_reset(&d);
    assert_int_equal(ipcf_frame_decoder_feed(&d, h, HDR, &used, &f), -IPCF_EOVERSIZE);
    ipcf_frame_decoder_fini(&d);
}

/* frame_len_overflow: only a length that wraps 32-bit HDR + len passes. */
static void test_bug_len_overflow(void **state)
{
    (void)state;
    struct ipcf_frame_decoder d;
    struct ipcf_frame f;
    uint8_t h[HDR];
    size_t used;

    assert_int_equal(ipcf_frame_decoder_init(&d, 64), 0);
    assert_int_equal(ipcf_bugs_set("frame_len_overflow"), 0);
    header_with_len(h, 1000); /* no wrap: still rejected */
    int rc1 = ipcf_frame_decoder_feed(&d, h, HDR, &used, &f);
    ipcf_frame_decoder_reset(&d);
    header_with_len(h, 0xFFFFFFF0u); /* wraps: passes the broken check */
    int rc2 = ipcf_frame_decoder_feed(&d, h, HDR, &used, &f);
    int v = ipcf_frame_decoder_validate(&d);
    assert_int_equal(ipcf_bugs_set(""), 0);
    assert_int_equal(rc1, -IPCF_EOVERSIZE);
    assert_int_equal(rc2, 0);
    assert_int_equal(v, -IPCF_ECORRUPT);
    ipcf_frame_decoder_reset(&d);
    assert_int_equal(ipcf_frame_decoder_feed(&d, h, HDR, &used, &f), -IPCF_EOVERSIZE);
    ipcf_frame_decoder_fini(&d);
}

/* frame_crc_late: a frame that FAILS its CRC is still counted by kind (its
 * unverified header was used). */
static void test_bug_crc_late(void **state)
{
    (void)state;
    struct ipcf_frame_decoder d;
    struct ipcf_frame f;
    uint8_t buf[64];
    size_t used;

    assert_int_equal(ipcf_frame_decoder_init(&d, 64), 0);
    int n = ipcf_frame_encode(buf, sizeof(buf), 1, 3, "abc", 3);
    buf[HDR] ^= 1;
    assert_int_equal(ipcf_frame_decoder_feed(&d, buf, (size_t)n, &used, &f), -IPCF_EBADCRC);
    assert_int_equal(d.kind_count[3], 0); /* bug off: rejected frames are not used */
    assert_int_equal(ipcf_bugs_set("frame_crc_late"), 0);
    int rc = ipcf_frame_decoder_feed(&d, buf, (size_t)n, &used, &f);
    unsigned counted = d.kind_count[3];
    int v = ipcf_frame_decoder_validate(&d);
    assert_int_equal(ipcf_bugs_set(""), 0);
    assert_int_equal(rc, -IPCF_EBADCRC);
    assert_int_equal(counted, 1);        /* the bug's observable effect */
    assert_int_equal(v, -IPCF_ECORRUPT); /* and validate() catches it */
    ipcf_frame_decoder_fini(&d);
}

/* ---- -IPCF_EBADCRC when the LENGTH field itself was corrupted -------------
 * frame.h documents what recovery after a bad CRC does and does not promise;
 * each case is shown here. A stream is built, one frame's length field is
 * changed (CRC not resealed: the frame fails its CRC), and the whole stream
 * is fed. */

/* Encode frame seq with payload p[0..len) at buf; returns its size. */
static size_t put_frame(uint8_t *buf, uint64_t seq, const void *p, size_t len)
{
    int n = ipcf_frame_encode(buf, HDR + len, seq, 0, p, len);
    assert_int_equal(n, (int)(HDR + len));
    return (size_t)n;
}

/* Feed everything; collect delivered seqs and errors in order (-1000-err). */
static int feed_all(struct ipcf_frame_decoder *d, const uint8_t *p, size_t len, int64_t *ev,
                    int maxev)
{
    struct ipcf_frame f;
    int k = 0;
    while (len && k < maxev) {
        size_t used = 0;
        int rc = ipcf_frame_decoder_feed(d, p, len, &used, &f);
        assert_int_equal(ipcf_frame_decoder_validate(d), 0);
        if (rc == 1)
            ev[k++] = (int64_t)f.seq;
        else if (rc < 0)
            ev[k++] = -1000 + rc;
        if (rc == -IPCF_EPOISONED)
            break;
        p += used;
        len -= used;
    }
    return k;
}

/* Too short: the next header starts inside the dropped payload -> poisoned;
 * the frame after it is lost with it. */
static void test_badcrc_corrupt_length_misaligned(void **state)
{
    (void)state;
    static uint8_t st[512];
    struct ipcf_frame_decoder d;
    int64_t ev[8];
    size_t n = put_frame(st, 1, "AAAAAAAAAAAAAAAAAAAA", 20);
    put32le(st + 8, 10); /* length 20 -> 10 */
    n += put_frame(st + n, 2, "bb", 2);
    assert_int_equal(ipcf_frame_decoder_init(&d, 64), 0);
    int k = feed_all(&d, st, n, ev, 8);
    assert_true(k >= 2);
    assert_int_equal(ev[0], -1000 - IPCF_EBADCRC);
    assert_int_equal(ev[1], -1000 - IPCF_EBADMAGIC); /* "AAAA" is not the magic */
    assert_true(ipcf_frame_decoder_poisoned(&d));
    assert_int_equal(d.frames, 0); /* frame 2 was never delivered */
    ipcf_frame_decoder_fini(&d);
}

/* A skip that lands exactly on a later boundary: one -IPCF_EBADCRC, and the
 * decoder goes on having silently dropped frame 2 as well (seq gap 1 -> 3). */
static void test_badcrc_corrupt_length_lands_on_boundary(void **state)
{
    (void)state;
    static uint8_t st[512];
    struct ipcf_frame_decoder d;
    int64_t ev[8];
    size_t n = put_frame(st, 1, "aaaaaaaaaa", 10);
    put32le(st + 8, 10 + HDR + 6); /* covers frame 2 exactly */
    n += put_frame(st + n, 2, "bbbbbb", 6);
    n += put_frame(st + n, 3, "ccccc", 5);
    assert_int_equal(ipcf_frame_decoder_init(&d, 64), 0);
    int k = feed_all(&d, st, n, ev, 8);
    assert_int_equal(k, 2);
    assert_int_equal(ev[0], -1000 - IPCF_EBADCRC);
    assert_int_equal(ev[1], 3); /* TWO frames lost for one EBADCRC */
    assert_false(ipcf_frame_decoder_poisoned(&d));
    assert_int_equal(d.bad_frames, 1);
    ipcf_frame_decoder_fini(&d);
}

/* A skip that lands on a frame encoded INSIDE a payload delivers it: a frame
 * the writer never sent as a frame (seq 99). */
static void test_badcrc_corrupt_length_embedded(void **state)
{
    (void)state;
    static uint8_t st[512], payload[64];
    struct ipcf_frame_decoder d;
    int64_t ev[8];
    memset(payload, 'p', sizeof(payload));
    size_t e = put_frame(payload + 8, 99, "tunnel", 6); /* 30 bytes at offset 8 */
    size_t n = put_frame(st, 1, payload, 8 + e);
    put32le(st + 8, 8); /* skip lands on the embedded frame */
    n += put_frame(st + n, 2, "z", 1);
    assert_int_equal(ipcf_frame_decoder_init(&d, 64), 0);
    int k = feed_all(&d, st, n, ev, 8);
    assert_int_equal(k, 3);
    assert_int_equal(ev[0], -1000 - IPCF_EBADCRC);
    assert_int_equal(ev[1], 99); /* delivered, though never sent as a frame */
    assert_int_equal(ev[2], 2);
    ipcf_frame_decoder_fini(&d);
}

/* Too long: the decoder swallows the following frames while it waits for
 * the announced length (on a live stream recv() times out meanwhile); at end
 * of stream the partial "frame" is -IPCF_ETRUNCATED. */
static void test_badcrc_corrupt_length_too_long(void **state)
{
    (void)state;
    static uint8_t st[512];
    struct ipcf_frame_decoder d;
    int64_t ev[8];
    size_t n = put_frame(st, 1, "aaaa", 4);
    put32le(st + 8, 200);
    n += put_frame(st + n, 2, "bbbb", 4);
    n += put_frame(st + n, 3, "cccc", 4);
    assert_int_equal(ipcf_frame_decoder_init(&d, 256), 0);
    int k = feed_all(&d, st, n, ev, 8);
    assert_int_equal(k, 0);                                       /* frames 2 and 3 swallowed */
    assert_int_equal(ipcf_frame_decoder_want(&d), HDR + 200 - n); /* still waiting */
    assert_int_equal(ipcf_frame_decoder_finish(&d), -IPCF_ETRUNCATED);
    assert_int_equal(d.frames, 0);
    ipcf_frame_decoder_fini(&d);
}

/* Lengths and sizes at the limits: encoded_size saturates instead of
 * wrapping (before: SIZE_MAX - 10 gave 13), encode refuses huge lengths before
 * touching buf, the decoder accepts the configured limit exactly. */
static void test_limits(void **state)
{
    (void)state;
    uint8_t buf[HDR + 8], h[HDR];
    struct ipcf_frame_decoder d;
    struct ipcf_frame f;
    size_t used;
    assert_int_equal(ipcf_frame_encoded_size(0), HDR);
    assert_int_equal(ipcf_frame_encoded_size(SIZE_MAX - 10), SIZE_MAX);
    assert_int_equal(ipcf_frame_encoded_size(SIZE_MAX - HDR), SIZE_MAX);
    assert_int_equal(ipcf_frame_encoded_size(SIZE_MAX - HDR - 1), SIZE_MAX - 1);
    assert_int_equal(ipcf_frame_encode(buf, sizeof(buf), 1, 0, buf, SIZE_MAX), -IPCF_EOVERSIZE);
    assert_int_equal(ipcf_frame_encode(buf, SIZE_MAX, 1, 0, buf, SIZE_MAX - 5), -IPCF_EOVERSIZE);
    assert_int_equal(ipcf_frame_encode(buf, sizeof(buf), 1, 0, buf, IPCF_FRAME_PAYLOAD_LIMIT + 1u),
                     -IPCF_EOVERSIZE);
    assert_int_equal(ipcf_frame_encode(buf, sizeof(buf), 1, 0, buf, 9), -ENOBUFS);
    /* the largest allowed decoder, and lengths around it */
    assert_int_equal(ipcf_frame_decoder_init(&d, IPCF_FRAME_PAYLOAD_LIMIT), 0);
    header_with_len(h, IPCF_FRAME_PAYLOAD_LIMIT);
    assert_int_equal(ipcf_frame_decoder_feed(&d, h, HDR, &used, &f), 0);
    assert_int_equal(ipcf_frame_decoder_want(&d), IPCF_FRAME_PAYLOAD_LIMIT);
    assert_int_equal(ipcf_frame_decoder_validate(&d), 0);
    ipcf_frame_decoder_reset(&d);
    static const uint32_t over[] = {
        IPCF_FRAME_PAYLOAD_LIMIT + 1u, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFE7u,
        0xFFFFFFE8u /* 2^32 - 24 */,   0xFFFFFFFEu};
    for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
        header_with_len(h, over[i]);
        assert_int_equal(ipcf_frame_decoder_feed(&d, h, HDR, &used, &f), -IPCF_EOVERSIZE);
        ipcf_frame_decoder_reset(&d);
    }
    header_with_len(h, 0xFFFFFFFFu);
    assert_int_equal(ipcf_frame_decoder_feed(&d, h, HDR, &used, &f), -IPCF_EOVERSIZE);
    ipcf_frame_decoder_fini(&d);
    assert_int_equal(ipcf_frame_decoder_init(&d, SIZE_MAX), -EINVAL);
    assert_int_equal(ipcf_frame_decoder_init(NULL, 10), -EINVAL);
}

/* validate() checks what it claims: a buffered header that no longer says
 * what the decoder acted on, or per-kind counters that disagree with the
 * frame count, are -IPCF_ECORRUPT. */
static void test_validate_catches_tampering(void **state)
{
    (void)state;
    struct ipcf_frame_decoder d;
    struct ipcf_frame f;
    uint8_t buf[64];
    size_t used;
    assert_int_equal(ipcf_frame_decoder_init(&d, 64), 0);
    size_t n = good_frame(buf, 1);
    assert_int_equal(ipcf_frame_decoder_feed(&d, buf, HDR + 2, &used, &f), 0);
    assert_int_equal(ipcf_frame_decoder_validate(&d), 0);
    d.buf[8] ^= 1; /* length in the buffered header */
    assert_int_equal(ipcf_frame_decoder_validate(&d), -IPCF_ECORRUPT);
    d.buf[8] ^= 1;
    d.buf[0] ^= 1; /* magic */
    assert_int_equal(ipcf_frame_decoder_validate(&d), -IPCF_ECORRUPT);
    d.buf[0] ^= 1;
    assert_int_equal(ipcf_frame_decoder_feed(&d, buf + HDR + 2, n - HDR - 2, &used, &f), 1);
    assert_int_equal(ipcf_frame_decoder_validate(&d), 0);
    d.kind_count[5]++;
    assert_int_equal(ipcf_frame_decoder_validate(&d), -IPCF_ECORRUPT);
    d.kind_count[5]--;
    d.frames += 100; /* more frames than bytes could hold */
    assert_int_equal(ipcf_frame_decoder_validate(&d), -IPCF_ECORRUPT);
    d.frames -= 100;
    assert_int_equal(ipcf_frame_decoder_validate(&d), 0);
    ipcf_frame_decoder_fini(&d);
}

#ifdef HAVE_ASAN
/* Under ASan each planted bug is a real memory error that kills the child. */
static int bug_child(void *arg)
{
    const char *bug = arg;
    struct ipcf_frame_decoder d;
    struct ipcf_frame f;
    static uint8_t buf[4096];
    size_t used;
    if (ipcf_bugs_set(bug) != 0 || ipcf_frame_decoder_init(&d, 64) != 0)
        return 10;
    /* the expected ASan report would only clutter the test log */
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull >= 0)
        dup2(devnull, 2);
    memset(buf, 0x5a, sizeof(buf));
    if (!strcmp(bug, "frame_crc_late")) {
        int n = ipcf_frame_encode(buf, sizeof(buf), 1, 200, "x", 1); /* kind 200 >= 16 */
        if (ipcf_frame_decoder_feed(&d, buf, (size_t)n, &used, &f) != -IPCF_EBADCRC)
            return 11;
    } else {
        header_with_len(buf, !strcmp(bug, "frame_len_overflow") ? 0xFFFFFFF0u : 1000);
        if (ipcf_frame_decoder_feed(&d, buf, sizeof(buf), &used, &f) < 0)
            return 12;
    }
    return 0; /* not caught */
}

static void test_bugs_are_real_memory_errors(void **state)
{
    (void)state;
    static const char *const bugs[] = {"frame_trust_length", "frame_len_overflow",
                                       "frame_crc_late"};
    for (int i = 0; i < 3; i++) {
        int st = 0;
        pid_t pid = ipcft_fork(bug_child, (void *)bugs[i]);
        assert_int_equal(ipcft_wait(pid, 20000, &st), 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            fail_msg("%s: ASan did not report the overrun", bugs[i]);
    }
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_vectors),
        cmocka_unit_test(test_encode_errors_and_layout),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_every_error_code),
        cmocka_unit_test(test_random_chunking),
        cmocka_unit_test(test_bounded_memory),
        cmocka_unit_test(test_bug_trust_length),
        cmocka_unit_test(test_bug_len_overflow),
        cmocka_unit_test(test_bug_crc_late),
        cmocka_unit_test(test_badcrc_corrupt_length_misaligned),
        cmocka_unit_test(test_badcrc_corrupt_length_lands_on_boundary),
        cmocka_unit_test(test_badcrc_corrupt_length_embedded),
        cmocka_unit_test(test_badcrc_corrupt_length_too_long),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_validate_catches_tampering),
#ifdef HAVE_ASAN
        cmocka_unit_test(test_bugs_are_real_memory_errors),
#endif
    };
    return cmocka_run_group_tests(tests, ipcft_group_setup, ipcft_group_teardown);
}
