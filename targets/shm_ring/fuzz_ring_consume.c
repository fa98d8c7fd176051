/* fuzz_ring_consume.c — fuzz the ring consumer with a hostile segment image.
 *
 * The input is taken as the whole segment (header, index lines, slots) and
 * copied into a private allocation of exactly its size (so ASan sees any read
 * past it). The consumer attaches to it and pops until it stops; the loop is
 * bounded by the slot count. Properties checked (abort on violation, which the
 * engine reports as a crash):
 *  - attach succeeds iff the image's header and indices are sane, and
 *    ipcf_ring_validate() agrees: a validating image attaches, and every pop
 *    on it succeeds until empty, with consecutive sequence numbers;
 *  - a pop never returns a length above the buffer or max payload;
 *  - an image that does not validate either fails to attach or yields
 *    -IPCF_ECORRUPT at some pop (never a crash, an OOB read, or a hang).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "ipcfuzz/shm_ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void *img = NULL;
    unsigned char *buf = NULL;
    struct ipcf_ring *r = NULL;
    if (size < IPCF_RING_HDR_SIZE || size > (4u << 20))
        return 0;
    if (posix_memalign(&img, 64, size))
        return 0;
    memcpy(img, data, size);
    int valid = ipcf_ring_validate(img, size);
    int rc = ipcf_ring_attach_mem(img, size, IPCF_RING_CONSUMER, IPCF_RING_ANON, &r);
    if (valid == 0 && rc != 0)
        abort(); /* validate accepted what attach refused */
    if (rc < 0) {
        if (rc != -IPCF_ECORRUPT && rc != -IPCF_ESHRUNK)
            abort();
        goto out;
    }
    struct ipcf_ring_info info;
    if (ipcf_ring_info(r, &info) < 0)
        abort();
    buf = malloc(info.max_payload);
    if (!buf)
        goto out;
    uint64_t expect = info.tail, got = 0, seq = 0;
    int saw_corrupt = 0;
    for (uint32_t i = 0; i <= info.slots; i++) {
        size_t len = 0;
        rc = ipcf_ring_pop(r, buf, info.max_payload, &len, &seq);
        if (rc == -EAGAIN)
            break;
        if (rc == -IPCF_ECORRUPT) {
            saw_corrupt = 1;
            break;
        }
        if (rc != 0 || len == 0 || len > info.max_payload || seq != expect)
            abort();
        expect++;
        got++;
    }
    if (valid == 0 && (saw_corrupt || got != info.head - info.tail))
        abort(); /* a validating image must be consumed completely */
    if (valid != 0 && !saw_corrupt)
        abort(); /* validate refused it: the consumer must have noticed too */
out:
    ipcf_ring_detach(r);
    free(buf);
    free(img);
    return 0;
}
