/* kvq.c — the kvq protocol (kvq.h): encoding, the read/write loops, and the
 * server's table.
 *
 * The loops are the part fault injection exercises: read() and write() may be
 * interrupted (EINTR) or transfer fewer bytes than asked at any call, and a
 * correct program must not notice. One planted bug, kvq_no_short_read_loop,
 * replaces the read loop by the classic mistake "one read() returns a whole
 * message" — invisible in normal runs (each message is written by one write()
 * and small messages arrive whole), found at once by a plan with short reads.
 * Built without ipcfuzz (KVQ_WITH_IPCFUZZ undefined) the bug does not exist.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "kvq.h"

#ifdef KVQ_WITH_IPCFUZZ
#include "ipcfuzz/bugs.h"
IPCF_BUG_DEFINE(kvq_no_short_read_loop, "kvq reads each message part with one read() call");
#define KVQ_BUG(id) IPCF_BUG(id)
#else
#define KVQ_BUG(id) 0
#endif

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Read exactly len bytes. 0; KVQ_EOF when the stream ended before the first
 * byte; -ECONNRESET when it ended after some (the peer went away inside a
 * message); -ETIMEDOUT; -errno. */
static int read_full(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;
    if (KVQ_BUG(kvq_no_short_read_loop)) {
        ssize_t n;
        do
            n = read(fd, buf, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
        if (n == 0)
            return KVQ_EOF;
        return (size_t)n == len ? 0 : -EPROTO; /* "a message always arrives whole" */
    }
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
        }
        if (n == 0)
            return got == 0 ? KVQ_EOF : -ECONNRESET;
        got += (size_t)n;
    }
    return 0;
}

/* Write exactly len bytes. 0; -ETIMEDOUT; -errno (-EPIPE: peer gone). */
static int write_full(int fd, const uint8_t *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, buf + done, len - done);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
        }
        done += (size_t)n;
    }
    return 0;
}

int kvq_encode(const struct kvq_msg *m, uint8_t *out)
{
    if (m->body_len > KVQ_MAX_BODY)
        return -EMSGSIZE;
    put_u32(out, 5 + m->body_len);
    out[4] = m->op;
    put_u32(out + 5, m->id);
    memcpy(out + KVQ_HEADER, m->body, m->body_len);
    return (int)(KVQ_HEADER + m->body_len);
}

int kvq_send(int fd, const struct kvq_msg *m)
{
    uint8_t wire[KVQ_WIRE_MAX];
    int len = kvq_encode(m, wire);
    if (len < 0)
        return len;
    return write_full(fd, wire, (size_t)len);
}

int kvq_recv(int fd, struct kvq_msg *m)
{
    uint8_t hdr[KVQ_HEADER];
    int rc = read_full(fd, hdr, sizeof hdr);
    if (rc != 0)
        return rc;
    uint32_t len = get_u32(hdr);
    if (len < 5 || len - 5 > KVQ_MAX_BODY || hdr[4] < KVQ_PUT || hdr[4] > KVQ_MISSING)
        return -EPROTO;
    m->op = hdr[4];
    m->id = get_u32(hdr + 5);
    m->body_len = len - 5;
    if (m->body_len == 0)
        return 0;
    rc = read_full(fd, m->body, m->body_len);
    return rc == KVQ_EOF ? -ECONNRESET : rc;
}

int kvq_set_timeout(int fd, int timeout_ms)
{
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
        return -errno;
    return 0;
}

int kvq_make_put(struct kvq_msg *m, uint32_t id, const char *key, const void *value, size_t len)
{
    size_t klen = strlen(key);
    if (klen == 0 || klen > KVQ_MAX_KEY || 1 + klen + len > KVQ_MAX_BODY)
        return -EINVAL;
    m->op = KVQ_PUT;
    m->id = id;
    m->body[0] = (uint8_t)klen;
    memcpy(m->body + 1, key, klen);
    memcpy(m->body + 1 + klen, value, len);
    m->body_len = (uint32_t)(1 + klen + len);
    return 0;
}

int kvq_make_get(struct kvq_msg *m, uint32_t id, const char *key)
{
    size_t klen = strlen(key);
    if (klen == 0 || klen > KVQ_MAX_KEY)
        return -EINVAL;
    m->op = KVQ_GET;
    m->id = id;
    memcpy(m->body, key, klen);
    m->body_len = (uint32_t)klen;
    return 0;
}

/* Index of the slot holding key[0..klen), or -1. */
static int find_slot(struct kvq_store *st, const uint8_t *key, size_t klen)
{
    for (unsigned i = 0; i < st->used; i++)
        if (strlen(st->slot[i].key) == klen && memcmp(st->slot[i].key, key, klen) == 0)
            return (int)i;
    return -1;
}

int kvq_apply(struct kvq_store *st, const struct kvq_msg *req, struct kvq_msg *resp)
{
    resp->id = req->id;
    resp->body_len = 0;
    if (req->op == KVQ_PUT) {
        if (req->body_len < 1)
            return -EPROTO;
        size_t klen = req->body[0];
        if (klen == 0 || klen > KVQ_MAX_KEY || 1 + klen > req->body_len)
            return -EPROTO;
        int i = find_slot(st, req->body + 1, klen);
        if (i < 0) {
            if (st->used == KVQ_SLOTS)
                return -ENOSPC;
            i = (int)st->used++;
            memcpy(st->slot[i].key, req->body + 1, klen);
            st->slot[i].key[klen] = '\0';
        }
        st->slot[i].len = (uint32_t)(req->body_len - 1 - klen);
        memcpy(st->slot[i].value, req->body + 1 + klen, st->slot[i].len);
        resp->op = KVQ_OK;
        return 0;
    }
    if (req->op == KVQ_GET) {
        if (req->body_len == 0 || req->body_len > KVQ_MAX_KEY)
            return -EPROTO;
        int i = find_slot(st, req->body, req->body_len);
        if (i < 0) {
            resp->op = KVQ_MISSING;
            return 0;
        }
        resp->op = KVQ_VALUE;
        resp->body_len = st->slot[i].len;
        memcpy(resp->body, st->slot[i].value, st->slot[i].len);
        return 0;
    }
    return -EPROTO;
}
