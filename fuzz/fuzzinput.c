/* fuzzinput.c — the typed-value splitter of ipcfuzz/fuzz.h and the
 * fuzz-driven fault chooser.
 *
 * The input is a window [head, tail). Decisions shrink it from the end (tail),
 * byte runs from the front (head); the window only ever shrinks, so no byte is
 * read twice and no read leaves the caller's buffer.
 */
#include "ipcfuzz/fuzz.h"

#include <errno.h>
#include <string.h>

#include "ipcfuzz/bugs.h"
#include "ipcfuzz/faults.h"

/* Planted bug: a byte run is not clamped to what is left, so it overlaps the
 * decision bytes at the end and can run past the input (tests/test_fuzzinput.c
 * proves the bounds check catches it). */
IPCF_BUG_DEFINE(fuzz_bytes_no_clamp, "fuzz input: byte runs are not clamped to the input");

void ipcf_fuzz_init(struct ipcf_fuzz_input *in, const uint8_t *data, size_t size)
{
    static const uint8_t empty[1];

    in->data = data ? data : empty;
    in->head = 0;
    in->tail = data ? size : 0;
}

size_t ipcf_fuzz_remaining(const struct ipcf_fuzz_input *in)
{
    return in->tail - in->head;
}

/* Decision bytes come from the end: the last byte is the most significant
 * digit, so a single mutated trailing byte changes the first decision. The
 * value is reduced modulo the range width; the slight bias of a modulo does
 * not matter for fuzzing, determinism does. */
uint64_t ipcf_fuzz_range(struct ipcf_fuzz_input *in, uint64_t lo, uint64_t hi)
{
    uint64_t width, acc = 0;
    unsigned used = 0;

    if (lo > hi) {
        uint64_t t = lo;
        lo = hi;
        hi = t;
    }
    width = hi - lo;
    while (used < 8 && (width >> (8 * used)) != 0 && in->tail > in->head) {
        acc = (acc << 8) | in->data[--in->tail];
        used++;
    }
    if (used == 0)
        return lo;
    if (width == UINT64_MAX)
        return acc; /* lo == 0 here: the full 64-bit range */
    return lo + acc % (width + 1);
}

uint64_t ipcf_fuzz_u64(struct ipcf_fuzz_input *in)
{
    return ipcf_fuzz_range(in, 0, UINT64_MAX);
}

bool ipcf_fuzz_bool(struct ipcf_fuzz_input *in)
{
    return ipcf_fuzz_range(in, 0, 1) != 0;
}

size_t ipcf_fuzz_choice(struct ipcf_fuzz_input *in, size_t n)
{
    if (n <= 1)
        return 0;
    return (size_t)ipcf_fuzz_range(in, 0, (uint64_t)n - 1);
}

const char *ipcf_fuzz_pick(struct ipcf_fuzz_input *in, const char *const *list, size_t n)
{
    if (!list || n == 0)
        return NULL;
    return list[ipcf_fuzz_choice(in, n)];
}

const uint8_t *ipcf_fuzz_bytes(struct ipcf_fuzz_input *in, size_t len, size_t *got)
{
    const uint8_t *p = in->data + in->head;
    size_t avail = in->tail - in->head;

    if (len > avail && !IPCF_BUG(fuzz_bytes_no_clamp))
        len = avail;
    in->head += len;
    *got = len;
    return p;
}

const uint8_t *ipcf_fuzz_bytes_upto(struct ipcf_fuzz_input *in, size_t max, size_t *got)
{
    size_t len = (size_t)ipcf_fuzz_range(in, 0, max);

    return ipcf_fuzz_bytes(in, len, got);
}

size_t ipcf_fuzz_copy(struct ipcf_fuzz_input *in, void *buf, size_t cap)
{
    size_t got;
    const uint8_t *p = ipcf_fuzz_bytes(in, cap, &got);

    if (got)
        memcpy(buf, p, got);
    return got;
}

const uint8_t *ipcf_fuzz_rest(struct ipcf_fuzz_input *in, size_t *got)
{
    return ipcf_fuzz_bytes(in, in->tail - in->head, got);
}

/* ---- Fault chooser --------------------------------------------------------- */

static bool set_selected(const struct ipcf_fuzz_faults *f, const char *set)
{
    if (!f->sets)
        return true;
    for (size_t i = 0; i < f->nsets; i++)
        if (f->sets[i] && set && strcmp(f->sets[i], set) == 0)
            return true;
    return false;
}

/* One choice per selected call: 0 = pass, then one alternative per allowed
 * kind in a fixed order (EINTR, EAGAIN, SHORT). An exhausted input yields 0
 * (pass), which is what bounds every retry loop of the code under test. The
 * in-a-row cap additionally guarantees progress while input remains. */
void ipcf_fuzz_chooser(void *ctx, const char *set, uint64_t index, struct ipcf_decision *d)
{
    struct ipcf_fuzz_faults *f = ctx;
    enum { PASS, EINTR_, EAGAIN_, SHORT_ } alt[4];
    size_t nalt = 0;
    uint32_t row_cap;

    d->kind = IPCF_ACT_NONE;
    d->value = 0;
    d->object = NULL;
    d->rule = -1;
    if (!f || !f->in || !set_selected(f, set))
        return;
    f->calls++;
    if (f->max_faults && f->faults >= f->max_faults)
        return;
    row_cap = f->max_in_a_row ? f->max_in_a_row : 8;
    if (f->in_a_row >= row_cap) {
        f->in_a_row = 0;
        return;
    }
    alt[nalt++] = PASS;
    if (f->kinds & IPCF_FUZZ_FAULT_EINTR)
        alt[nalt++] = EINTR_;
    if (f->kinds & IPCF_FUZZ_FAULT_EAGAIN)
        alt[nalt++] = EAGAIN_;
    if (f->kinds & IPCF_FUZZ_FAULT_SHORT)
        alt[nalt++] = SHORT_;

    switch (alt[ipcf_fuzz_choice(f->in, nalt)]) {
    case PASS:
        f->in_a_row = 0;
        return;
    case EINTR_:
        d->kind = IPCF_ACT_ERROR;
        d->value = EINTR;
        f->eintr++;
        break;
    case EAGAIN_:
        d->kind = IPCF_ACT_ERROR;
        d->value = EAGAIN;
        f->eagain++;
        break;
    case SHORT_:
        d->kind = IPCF_ACT_SHORT;
        d->value = (long long)ipcf_fuzz_range(f->in, 1, f->max_short ? f->max_short : 64);
        f->shorts++;
        break;
    }
    f->faults++;
    f->in_a_row++;
}
