/* noop.c — the empty fuzz target: reads its input with the fuzz.h helper and
 * does nothing else. It proves the build machinery (every engine, the replay
 * driver) and is the baseline of bench/fuzz: the exec/s of a real target
 * divided by this one's is the cost of the code under test.
 */
#include <stddef.h>
#include <stdint.h>

#include "ipcfuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ipcf_fuzz_input in;
    size_t n;

    ipcf_fuzz_init(&in, data, size);
    (void)ipcf_fuzz_range(&in, 1, 64);
    (void)ipcf_fuzz_rest(&in, &n);
    return 0;
}
