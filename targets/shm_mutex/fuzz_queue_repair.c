/* fuzz_queue_repair.c — fuzz the EOWNERDEAD repair of the shm queue.
 *
 * The input is a queue state + undo record + slot bytes, laid over a fresh
 * image (capacity 8, elements up to 32 bytes) in private memory:
 *   bytes 0..15   head, tail            (little-endian u64)
 *   bytes 16..39  undo record           (struct ipcf_shm_queue_undo)
 *   bytes 40..    slot area, as far as the input goes
 * Property: ipcf_shm_queue_repair_mem either refuses (-IPCF_ECORRUPT) or
 * leaves an image that validates, with the record cleared and the indices of
 * the record restored; repairing again is a no-op (idempotence). Never a
 * crash, an out-of-bounds access, or a loop on garbage.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipcfuzz/shm_queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP  8u
#define ELEM 32u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t img_size = ipcf_shm_queue_layout_size(CAP, ELEM);
    unsigned char *img;
    struct ipcf_shm_queue_state *st;
    struct ipcf_shm_queue_undo undo;
    if (size < 40)
        return 0;
    if (posix_memalign((void **)&img, 64, img_size))
        return 0;
    if (ipcf_shm_queue_format(img, img_size, CAP, ELEM) < 0)
        abort();
    memset(img + IPCF_QUEUE_OFF_SLOTS, 0, img_size - IPCF_QUEUE_OFF_SLOTS);
    st = (struct ipcf_shm_queue_state *)(img + IPCF_QUEUE_OFF_STATE);
    memcpy(&st->head, data, 8);
    memcpy(&st->tail, data + 8, 8);
    memcpy(&undo, data + 16, sizeof(undo));
    memcpy(img + IPCF_QUEUE_OFF_UNDO, &undo, sizeof(undo));
    size_t slots = img_size - IPCF_QUEUE_OFF_SLOTS;
    memcpy(img + IPCF_QUEUE_OFF_SLOTS, data + 40, size - 40 < slots ? size - 40 : slots);

    int rc = ipcf_shm_queue_repair_mem(img, img_size);
    if (rc == 0) {
        if (ipcf_shm_queue_validate_mem(img, img_size) != 0)
            abort(); /* repaired, yet does not validate */
        const struct ipcf_shm_queue_undo *u =
            (const struct ipcf_shm_queue_undo *)(img + IPCF_QUEUE_OFF_UNDO);
        if (u->op != IPCF_QUEUE_OP_NONE)
            abort();
        if (undo.op == IPCF_QUEUE_OP_PUSH && st->tail != undo.old_tail)
            abort();
        if (undo.op == IPCF_QUEUE_OP_POP && st->head != undo.old_head)
            abort();
        uint64_t h = st->head, t = st->tail;
        if (ipcf_shm_queue_repair_mem(img, img_size) != 0 || st->head != h || st->tail != t)
            abort(); /* a second repair must change nothing */
    } else if (rc != -IPCF_ECORRUPT) {
        abort();
    }
    free(img);
    return 0;
}
