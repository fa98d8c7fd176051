/* kvq_decode_fuzz.c — fuzz target: arbitrary bytes as the stream a kvq server
 * reads. Each input is written into a socketpair (then the write end is shut),
 * and the server loop runs over it: kvq_recv until end of stream or an error,
 * kvq_apply on each message. Built by ipcfuzz_add_fuzzer() as kvq_decode_replay
 * (any compiler) and, with -DIPCF_FUZZ=ON under clang, as a libFuzzer binary.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kvq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct kvq_store store;
    int sv[2];
    if (size > 16384 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return 0;
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(sv[0], data + off, size - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    shutdown(sv[0], SHUT_WR);
    struct kvq_msg req, resp;
    while (kvq_recv(sv[1], &req) == 0)
        if (kvq_apply(&store, &req, &resp) < 0)
            break;
    close(sv[0]);
    close(sv[1]);
    return 0;
}
