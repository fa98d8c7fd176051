/* kvq.h — a tiny key/value request/response protocol over a stream socket.
 *
 * This is the example "user library" of examples/: code a project would
 * write itself, with nothing ipcfuzz-specific in its API. Every message on the
 * wire is
 *
 *     u32 length (little endian: bytes after this field) | u8 op | u32 id | body
 *
 * A client sends PUT (body: u8 key length, key, value) or GET (body: key); the
 * server answers each request, in order, with OK, VALUE (body: value) or
 * MISSING, echoing the request's id. A message is written with one write() loop
 * and read with read() loops that absorb EINTR and short reads, so peers see
 * whole messages whatever chunking the kernel (or a fault plan) chooses.
 *
 * Errors: functions return 0 or a negative errno. KVQ_EOF (positive) means the
 * peer closed the connection cleanly between two messages.
 */
#ifndef KVQ_H
#define KVQ_H

#include <stddef.h>
#include <stdint.h>

#define KVQ_MAX_BODY 256u /* largest body accepted */
#define KVQ_MAX_KEY  32u
#define KVQ_SLOTS    16u /* keys a store holds */
#define KVQ_EOF      1   /* clean end of stream, returned by kvq_recv */

enum kvq_op {
    KVQ_PUT = 1,
    KVQ_GET = 2,
    KVQ_OK = 3,
    KVQ_VALUE = 4,
    KVQ_MISSING = 5,
};

struct kvq_msg {
    uint8_t op;
    uint32_t id;
    uint32_t body_len;
    uint8_t body[KVQ_MAX_BODY];
};

/* Encoded size of a message: header (9 bytes) + body. */
#define KVQ_HEADER   9u
#define KVQ_WIRE_MAX (KVQ_HEADER + KVQ_MAX_BODY)

/* Encode m into out (at least KVQ_WIRE_MAX bytes). Returns the encoded length,
 * or -EMSGSIZE when m->body_len > KVQ_MAX_BODY. */
int kvq_encode(const struct kvq_msg *m, uint8_t *out);

/* Send m on fd with write(): the whole encoding, retrying EINTR and short
 * writes. 0; -EMSGSIZE; -EPIPE / -ECONNRESET when the peer is gone (the caller
 * ignores SIGPIPE); -ETIMEDOUT when fd's send timeout expired; other -errno. */
int kvq_send(int fd, const struct kvq_msg *m);

/* Receive one message from fd into m. 0; KVQ_EOF when the peer closed between
 * messages; -ECONNRESET when the stream ended inside a message (the peer went
 * away mid-send) or the kernel reported a reset; -EPROTO when the header is
 * invalid (length out of range, unknown op); -ETIMEDOUT when fd's receive
 * timeout expired; other -errno. */
int kvq_recv(int fd, struct kvq_msg *m);

/* Bound every blocking send/recv on fd to timeout_ms (SO_SNDTIMEO/SO_RCVTIMEO). */
int kvq_set_timeout(int fd, int timeout_ms);

/* The server's key/value table. */
struct kvq_store {
    unsigned used;
    struct {
        char key[KVQ_MAX_KEY + 1];
        uint32_t len;
        uint8_t value[KVQ_MAX_BODY];
    } slot[KVQ_SLOTS];
};

/* Build a PUT / GET request. -EINVAL when key or value is too long. */
int kvq_make_put(struct kvq_msg *m, uint32_t id, const char *key, const void *value, size_t len);
int kvq_make_get(struct kvq_msg *m, uint32_t id, const char *key);

/* Apply request req to st and build its response in resp (same id).
 * 0; -EPROTO for a malformed request; -ENOSPC when the table is full. */
int kvq_apply(struct kvq_store *st, const struct kvq_msg *req, struct kvq_msg *resp);

#endif
