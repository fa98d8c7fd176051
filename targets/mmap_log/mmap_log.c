/* mmap_log.c — append-only log in a MAP_SHARED file (see ipcfuzz/mmap_log.h).
 *
 * Layout:
 *   0   header (64 B): magic u64, version u32, hdr_size u32, capacity u64
 *       (the file size the log was created with), committed u64 (end offset
 *       of the committed records), reserved.
 *   64  records, back to back, each 8-byte aligned:
 *       {u32 magic, u32 length, u64 seq, u32 checksum(payload, keyed by seq),
 *        u32 0} then length payload bytes, padded to a multiple of 8.
 *
 * Append order (each step is an IPCF_STEP kill point):
 *   begin -> record header written (header) -> first half of the payload
 *   (half) -> rest (payload) -> release store of committed (committed).
 * A reader loads committed with acquire, so every byte of a record it covers
 * is visible; it copies the record header once, bounds-checks it against the
 * committed offset, copies the payload to private memory and checks the
 * checksum there.
 *
 * Recovery (the writer, at open):
 *  1. committed must lie in [64, capacity] and be 8-aligned; every record in
 *     [64, committed) must verify and end exactly at committed. A failure here
 *     is damage to committed data: -IPCF_ECORRUPT (not silently truncated).
 *  2. Past committed, records that verify completely (magic, length in
 *     bounds, next sequence, checksum) were written in full by a writer that
 *     died before its commit store: they are rolled forward.
 *  3. The first position that does not verify: if it holds any non-zero byte,
 *     it is a torn record: every byte from there to the end of the file is
 *     zeroed ("truncated"), so no later scan can mistake its remains for data,
 *     and committed is stored at the last good record.
 * Recovery is idempotent: a second run finds nothing past committed, and a
 * recovery killed at any point leaves what the next one recovers (step
 * log.recover.cut: tail zeroed, committed not yet stored).
 *
 * Every access to the mapping is inside an ipcf_sigbus frame: a file
 * truncated under us yields -IPCF_ESHRUNK (sticky on the handle).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipcfuzz/bugs.h"
#include "ipcfuzz/mmap_log.h"
#include "ipcfuzz/sigbus.h"
#include "ipcfuzz/step.h"
#include "shm_common.h"

IPCF_BUG_DEFINE(log_no_sigbus, "mmap log accesses the mapping without SIGBUS protection");
IPCF_BUG_DEFINE(log_open_no_eintr, "mmap log open gives up on EINTR instead of retrying");
IPCF_BUG_DEFINE(log_accept_torn, "mmap log recovery accepts a record past the commit point "
                                 "without checking its checksum and length");
IPCF_BUG_DEFINE(log_recover_truncate, "mmap log recovery cuts a torn tail off the file and grows "
                                      "it back: not idempotent if killed in between");

#define LOG_MAGIC     0x31474F4C46435049ull /* "IPCFLOG1" */
#define LOG_VERSION   1u
#define REC_MAGIC     0x52435049u /* "IPCR" */
#define MAX_LOG_BYTES (1ull << 40)

struct log_hdr {
    uint64_t magic;
    uint32_t version;
    uint32_t hdr_size;
    uint64_t capacity;
    uint64_t committed;
    uint8_t reserved[32];
};

struct rec_hdr {
    uint32_t magic;
    uint32_t length;
    uint64_t seq;
    uint32_t sum;
    uint32_t zero;
};

_Static_assert(sizeof(struct log_hdr) == IPCF_LOG_HDR_SIZE, "log header size");
_Static_assert(offsetof(struct log_hdr, committed) == 24, "committed offset");
_Static_assert(sizeof(struct rec_hdr) == IPCF_LOG_REC_HDR, "record header size");

struct ipcf_log {
    unsigned char *base;
    size_t size; /* mapped bytes == capacity */
    int fd;
    int writer;
    int shrunk;
    uint64_t end; /* writer: committed offset (private) */
    uint64_t seq; /* writer: next sequence number */
};

static void guard_enter(struct ipcf_sigbus_frame *fr)
{
    if (!IPCF_BUG(log_no_sigbus))
        ipcf_sigbus_enter(fr);
}

static uint64_t rec_size(uint32_t len)
{
    return IPCF_LOG_REC_HDR + (((uint64_t)len + 7u) & ~7ull);
}

static uint64_t *committed_ptr(const unsigned char *base)
{
    return (uint64_t *)(base + offsetof(struct log_hdr, committed));
}

/* Verify the record at off (private copies only): 1 if it is complete,
 * in bounds of limit, has sequence seq and a matching checksum; *next set to
 * the offset after it. Called inside a SIGBUS frame. */
static int record_ok(const unsigned char *base, uint64_t off, uint64_t limit, uint64_t seq,
                     uint64_t *next)
{
    struct rec_hdr h;
    if (off > limit || limit - off < IPCF_LOG_REC_HDR)
        return 0;
    memcpy(&h, base + off, sizeof(h));
    if (h.magic != REC_MAGIC || h.zero != 0 || h.seq != seq)
        return 0;
    if (h.length == 0 || h.length > IPCF_LOG_MAX_RECORD || rec_size(h.length) > limit - off)
        return 0;
    if (ipcf__shm_sum(base + off + IPCF_LOG_REC_HDR, h.length, seq) != h.sum)
        return 0;
    *next = off + rec_size(h.length);
    return 1;
}

/* The planted log_accept_torn check: magic and sequence only. */
static int record_ok_buggy(const unsigned char *base, uint64_t off, uint64_t limit, uint64_t seq,
                           uint64_t *next)
{
    struct rec_hdr h;
    if (off > limit || limit - off < IPCF_LOG_REC_HDR)
        return 0;
    memcpy(&h, base + off, sizeof(h));
    if (h.magic != REC_MAGIC || h.seq != seq)
        return 0;
    *next = off + rec_size(h.length);
    return 1;
}

static int check_header(const struct log_hdr *h, size_t size)
{
    if (h->magic != LOG_MAGIC || h->version != LOG_VERSION || h->hdr_size != IPCF_LOG_HDR_SIZE)
        return -IPCF_ECORRUPT;
    if (h->capacity < IPCF_LOG_HDR_SIZE || h->capacity > MAX_LOG_BYTES || (h->capacity & 7))
        return -IPCF_ECORRUPT;
    if (h->capacity > size)
        return -IPCF_ESHRUNK;
    return 0;
}

/* Walk the committed records; *count and 0, or -IPCF_ECORRUPT. In a frame. */
static int walk_committed(const unsigned char *base, uint64_t capacity, uint64_t committed,
                          uint64_t *count)
{
    uint64_t off = IPCF_LOG_HDR_SIZE, n = 0, next;
    if (committed < IPCF_LOG_HDR_SIZE || committed > capacity || (committed & 7))
        return -IPCF_ECORRUPT;
    while (off < committed) {
        if (!record_ok(base, off, committed, n, &next))
            return -IPCF_ECORRUPT;
        off = next;
        n++;
    }
    *count = n;
    return 0;
}

int ipcf_log_validate(const void *base, size_t size)
{
    struct log_hdr h;
    struct ipcf_sigbus_frame fr;
    uint64_t count;
    if (!base || size < IPCF_LOG_HDR_SIZE)
        return -IPCF_ESHRUNK;
    IPCF_TRY(ipcf_sigbus_copy(&h, base, sizeof(h)));
    IPCF_TRY(check_header(&h, size));
    guard_enter(&fr);
    if (sigsetjmp(fr.env, 0))
        return -IPCF_ESHRUNK;
    int rc = walk_committed(base, h.capacity, h.committed, &count);
    ipcf_sigbus_leave(&fr);
    return rc;
}

/* ftruncate, EINTR retried. 0 or -errno. */
static int truncate_to(int fd, uint64_t size)
{
    while (ftruncate(fd, (off_t)size) < 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

int ipcf_log_recover(struct ipcf_log *log, struct ipcf_log_recovery *rep)
{
    struct ipcf_log_recovery r = {0};
    struct ipcf_sigbus_frame fr;
    uint64_t n = 0, next;
    if (!log->writer)
        return -EBADF;
    if (log->shrunk)
        return -IPCF_ESHRUNK;
    IPCF_STEP("log.recover.begin");
    guard_enter(&fr);
    if (sigsetjmp(fr.env, 0)) {
        log->shrunk = 1;
        return -IPCF_ESHRUNK;
    }
    ipcf_sigbus_probe(log->base);
    uint64_t committed = __atomic_load_n(committed_ptr(log->base), __ATOMIC_ACQUIRE);
    int rc = walk_committed(log->base, log->size, committed, &n);
    if (rc < 0) {
        ipcf_sigbus_leave(&fr);
        return rc;
    }
    /* roll forward complete records past the commit point */
    uint64_t off = committed;
    for (;;) {
        int ok = IPCF_BUG(log_accept_torn) ? record_ok_buggy(log->base, off, log->size, n, &next)
                                           : record_ok(log->base, off, log->size, n, &next);
        if (!ok)
            break;
        off = next;
        n++;
        r.rolled_forward++;
    }
    /* anything non-zero after the last good record is a torn record */
    for (uint64_t i = off; i < log->size; i++) {
        if (log->base[i]) {
            r.torn = 1;
            break;
        }
    }
    if (r.torn) {
        if (IPCF_BUG(log_recover_truncate)) {
            /* planted: cut the torn tail off, then grow the file back
             * (zero-filled). Killed in between, the file stays shorter than
             * its header's capacity, and no later open accepts it. The
             * mapping is not touched while the file is short. */
            rc = truncate_to(log->fd, off);
            IPCF_STEP("log.recover.cut");
            if (rc == 0)
                rc = truncate_to(log->fd, log->size);
            if (rc < 0) {
                ipcf_sigbus_leave(&fr);
                return rc;
            }
        } else {
            memset(log->base + off, 0, log->size - off);
            IPCF_STEP("log.recover.cut"); /* zeroed, committed not yet stored */
        }
        r.zeroed = log->size - off;
    }
    __atomic_store_n(committed_ptr(log->base), off, __ATOMIC_RELEASE);
    ipcf_sigbus_leave(&fr);
    log->end = off;
    log->seq = n;
    r.records = n;
    if (rep)
        *rep = r;
    IPCF_STEP("log.recover.done");
    return 0;
}

/* Read exactly n bytes at off: EINTR and short reads are retried (a bounded
 * number of EINTRs in a row). 0, -IPCF_ESHRUNK at end of file, or -errno. */
static int pread_full(int fd, void *buf, size_t n, off_t off)
{
    size_t done = 0;
    unsigned eintr = 0;
    while (done < n) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, off + (off_t)done);
        if (r < 0) {
            if (errno == EINTR && ++eintr < 1000)
                continue;
            return -errno;
        }
        if (r == 0)
            return -IPCF_ESHRUNK;
        eintr = 0;
        done += (size_t)r;
    }
    return 0;
}

/* Write exactly n bytes at off: EINTR and short writes are retried (a bounded
 * number of EINTRs in a row). 0 or -errno (-EIO if nothing can be written). */
static int pwrite_full(int fd, const void *buf, size_t n, off_t off)
{
    size_t done = 0;
    unsigned eintr = 0;
    while (done < n) {
        ssize_t w = pwrite(fd, (const char *)buf + done, n - done, off + (off_t)done);
        if (w < 0) {
            if (errno == EINTR && ++eintr < 1000)
                continue;
            return -errno;
        }
        if (w == 0)
            return -EIO;
        eintr = 0;
        done += (size_t)w;
    }
    return 0;
}

static int map_log(int fd, int writer, struct ipcf_log **out)
{
    struct stat st;
    struct log_hdr h;
    /* Re-check the SIGBUS disposition (it may have been reset since this
     * process last used the guard: targets/shm_common/sigbus.c). */
    IPCF_TRY(ipcf_sigbus_install());
    if (fstat(fd, &st) < 0)
        return -errno;
    if ((size_t)st.st_size < IPCF_LOG_HDR_SIZE)
        return -IPCF_ESHRUNK;
    IPCF_TRY(pread_full(fd, &h, sizeof(h), 0));
    IPCF_TRY(check_header(&h, (size_t)st.st_size));
    struct ipcf_log *log = calloc(1, sizeof(*log));
    if (!log)
        return -ENOMEM;
    log->size = h.capacity; /* map what the header promises; st_size may be larger */
    log->base = mmap(NULL, log->size, PROT_READ | (writer ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
    if (log->base == MAP_FAILED) {
        int rc = -errno;
        free(log);
        return rc;
    }
    log->fd = fd;
    log->writer = writer;
    *out = log;
    return 0;
}

int ipcf_log_create(const char *path, size_t capacity, struct ipcf_log **out)
{
    *out = NULL;
    if (capacity < IPCF_LOG_HDR_SIZE + IPCF_LOG_REC_HDR + 8 || capacity > MAX_LOG_BYTES ||
        (capacity & 7))
        return -EINVAL;
    int fd = ipcf__open_retry(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    struct log_hdr h = {.magic = LOG_MAGIC,
                        .version = LOG_VERSION,
                        .hdr_size = IPCF_LOG_HDR_SIZE,
                        .capacity = capacity,
                        .committed = IPCF_LOG_HDR_SIZE};
    int rc = truncate_to(fd, capacity);
    if (!rc)
        rc = pwrite_full(fd, &h, sizeof(h), 0);
    if (!rc)
        rc = map_log(fd, 1, out);
    if (rc < 0) {
        close(fd);
        unlink(path);
        return rc;
    }
    (*out)->end = IPCF_LOG_HDR_SIZE;
    return 0;
}

int ipcf_log_open(const char *path, unsigned flags, struct ipcf_log **out,
                  struct ipcf_log_recovery *rep)
{
    *out = NULL;
    int writer = (flags & IPCF_LOG_WRITER) != 0;
    int oflags = (writer ? O_RDWR : O_RDONLY) | O_CLOEXEC;
    int fd = IPCF_BUG(log_open_no_eintr) ? open(path, oflags) : ipcf__open_retry(path, oflags, 0);
    if (fd < 0)
        return -errno;
    int rc = map_log(fd, writer, out);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    if (writer) {
        rc = ipcf_log_recover(*out, rep);
        if (rc < 0) {
            ipcf_log_close(*out);
            *out = NULL;
        }
    }
    return rc;
}

void ipcf_log_close(struct ipcf_log *log)
{
    if (!log)
        return;
    munmap(log->base, log->size);
    close(log->fd);
    free(log);
}

int ipcf_log_append(struct ipcf_log *log, const void *p, size_t len)
{
    struct ipcf_sigbus_frame fr;
    if (!log->writer)
        return -EBADF;
    if (len == 0 || len > IPCF_LOG_MAX_RECORD)
        return -EMSGSIZE;
    if (log->shrunk)
        return -IPCF_ESHRUNK;
    uint64_t need = rec_size((uint32_t)len);
    if (need > log->size - log->end)
        return -ENOSPC;
    unsigned char *rec = log->base + log->end;
    struct rec_hdr h = {.magic = REC_MAGIC,
                        .length = (uint32_t)len,
                        .seq = log->seq,
                        .sum = ipcf__shm_sum(p, len, log->seq)};
    size_t half = len / 2;
    IPCF_STEP("log.append.begin");
    guard_enter(&fr);
    if (sigsetjmp(fr.env, 0)) {
        log->shrunk = 1;
        return -IPCF_ESHRUNK;
    }
    memcpy(rec, &h, sizeof(h));
    ipcf_sigbus_leave(&fr);
    IPCF_STEP("log.append.header");
    guard_enter(&fr);
    if (sigsetjmp(fr.env, 0)) {
        log->shrunk = 1;
        return -IPCF_ESHRUNK;
    }
    memcpy(rec + IPCF_LOG_REC_HDR, p, half);
    ipcf_sigbus_leave(&fr);
    IPCF_STEP("log.append.half");
    guard_enter(&fr);
    if (sigsetjmp(fr.env, 0)) {
        log->shrunk = 1;
        return -IPCF_ESHRUNK;
    }
    memcpy(rec + IPCF_LOG_REC_HDR + half, (const unsigned char *)p + half, len - half);
    memset(rec + IPCF_LOG_REC_HDR + len, 0, need - IPCF_LOG_REC_HDR - len); /* padding */
    ipcf_sigbus_leave(&fr);
    IPCF_STEP("log.append.payload");
    guard_enter(&fr);
    if (sigsetjmp(fr.env, 0)) {
        log->shrunk = 1;
        return -IPCF_ESHRUNK;
    }
    ipcf_sigbus_probe(log->base);
    __atomic_store_n(committed_ptr(log->base), log->end + need, __ATOMIC_RELEASE);
    ipcf_sigbus_leave(&fr);
    log->end += need;
    log->seq++;
    IPCF_STEP("log.append.committed");
    return 0;
}

int ipcf_log_read(struct ipcf_log *log, struct ipcf_log_cursor *cur, void *buf, size_t cap,
                  size_t *len)
{
    struct ipcf_sigbus_frame fr;
    struct rec_hdr h;
    if (log->shrunk)
        return -IPCF_ESHRUNK;
    uint64_t off = cur->off ? cur->off : IPCF_LOG_HDR_SIZE;
    guard_enter(&fr);
    if (sigsetjmp(fr.env, 0)) {
        log->shrunk = 1;
        return -IPCF_ESHRUNK;
    }
    ipcf_sigbus_probe(log->base);
    uint64_t committed = __atomic_load_n(committed_ptr(log->base), __ATOMIC_ACQUIRE);
    if (committed > log->size || off > committed) {
        ipcf_sigbus_leave(&fr);
        return -IPCF_ECORRUPT;
    }
    if (off == committed) {
        ipcf_sigbus_leave(&fr);
        return -ENOENT;
    }
    if (committed - off < IPCF_LOG_REC_HDR) {
        ipcf_sigbus_leave(&fr);
        return -IPCF_ECORRUPT;
    }
    memcpy(&h, log->base + off, sizeof(h)); /* one fetch of the header */
    if (h.magic != REC_MAGIC || h.seq != cur->seq || h.length == 0 ||
        h.length > IPCF_LOG_MAX_RECORD || rec_size(h.length) > committed - off) {
        ipcf_sigbus_leave(&fr);
        return -IPCF_ECORRUPT;
    }
    if (h.length > cap) {
        ipcf_sigbus_leave(&fr);
        return -EMSGSIZE;
    }
    memcpy(buf, log->base + off + IPCF_LOG_REC_HDR, h.length);
    ipcf_sigbus_leave(&fr);
    if (ipcf__shm_sum(buf, h.length, h.seq) != h.sum)
        return -IPCF_ECORRUPT;
    if (len)
        *len = h.length;
    cur->off = off + rec_size(h.length);
    cur->seq++;
    return 0;
}
