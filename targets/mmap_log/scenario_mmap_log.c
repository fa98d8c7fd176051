/* scenario_mmap_log.c — the `mmap_log` scenario: a writer appends records to
 * the mapped log (ipcfuzz/mmap_log.h) while a reader maps the same file and
 * reads them; both restart after a kill.
 *
 * setup() creates the log file in the run directory (ipcf_name_path
 * "data.log"), teardown() unlinks it. Record k (0-based) carries seq k + 1 and
 * a payload that is a pure function of (seed, seq). The writer records
 * send_begin before each append and sent after it returned. A restarted
 * writer re-opens the log as writer, which runs recovery: complete records
 * past the commit point are rolled forward, a torn one is truncated. It
 * resumes at the record count recovery reports, so an append in doubt is
 * either already in the log (rolled forward) or written again with the same
 * seq and bytes.
 *
 * The reader keeps its cursor in shared memory and saves it right after
 * recording each delivery (no kill point in between), so a restarted reader
 * resumes exactly after its last delivery: exactly once, in order, nothing in
 * hand.
 *
 * check(): ipcf_log_validate over the final file (every committed record
 * verifies and they end exactly at the commit offset). A torn record accepted
 * by recovery (log_accept_torn) fails it, and the reader gets -IPCF_ECORRUPT
 * on committed data. Under a shrink plan (`point=...:shrink=*data.log`) the
 * file is truncated while both peers map it: each must stop with
 * -IPCF_ESHRUNK (exit 1, a graceful failure), never die by SIGBUS; the check
 * then accepts the shrunk file.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipcfuzz/ipcfuzz.h"
#include "ipcfuzz/mmap_log.h"
#include "scenario_stream.h"

#define LOG_STREAM 1u
#define GONE_MS    1000

enum { P_WRITER = 0, P_READER = 1 };

struct log_shared {
    int32_t pid[2];
    uint32_t done[2];
    uint64_t cur_off, cur_seq; /* reader: cursor after its last recorded delivery */
};

static char g_path[IPCF_NAME_MAX];
static int g_fd = -1; /* the supervisor's descriptor, registered for shrink= */

static void nap_poll(void)
{
    (void)poll(NULL, 0, 1); /* the intercepted call random plans target */
}

static int partner_gone(struct log_shared *sh, int who, int64_t *dead_since)
{
    if (__atomic_load_n(&sh->done[who], __ATOMIC_ACQUIRE))
        return 1;
    pid_t pid = __atomic_load_n(&sh->pid[who], __ATOMIC_ACQUIRE);
    if (pid == 0 || kill(pid, 0) == 0 || errno != ESRCH) {
        *dead_since = 0;
        return 0;
    }
    int64_t now = ipcf__now_ms();
    if (!*dead_since)
        *dead_since = now;
    return now - *dead_since >= GONE_MS;
}

static int run_writer(struct ipcf_peer_ctx *ctx)
{
    struct log_shared *sh = ctx->shared;
    struct ipcf_log *log = NULL;
    struct ipcf_log_recovery rep;
    uint8_t buf[IPCF__STREAM_MAX_LEN];
    __atomic_store_n(&sh->pid[P_WRITER], (int32_t)getpid(), __ATOMIC_RELEASE);
    int rc = ipcf_log_open(g_path, IPCF_LOG_WRITER, &log, &rep);
    if (rc < 0) {
        fprintf(stderr, "writer: open %s: %s\n", g_path, ipcf_strerror(rc));
        goto out;
    }
    for (uint64_t seq = rep.records + 1; seq <= ctx->messages; seq++) {
        size_t len = ipcf__stream_payload(ctx->seed, seq, buf);
        (void)ipcf_ledger_send_begin(LOG_STREAM, seq, buf, len);
        rc = ipcf_log_append(log, buf, len);
        if (rc < 0) {
            fprintf(stderr, "writer: append seq %llu: %s\n", (unsigned long long)seq,
                    ipcf_strerror(rc));
            break;
        }
        (void)ipcf_ledger_sent(LOG_STREAM, seq, buf, len);
    }
out:
    __atomic_store_n(&sh->done[P_WRITER], 1, __ATOMIC_RELEASE);
    ipcf_log_close(log);
    return rc < 0 ? 1 : 0;
}

static int run_reader(struct ipcf_peer_ctx *ctx)
{
    struct log_shared *sh = ctx->shared;
    struct ipcf_log *log = NULL;
    int64_t deadline = ipcf__now_ms() + ctx->timeout_ms, dead_since = 0;
    uint8_t buf[IPCF__STREAM_MAX_LEN];
    __atomic_store_n(&sh->pid[P_READER], (int32_t)getpid(), __ATOMIC_RELEASE);
    int rc = ipcf_log_open(g_path, 0, &log, NULL);
    if (rc < 0) {
        fprintf(stderr, "reader: open %s: %s\n", g_path, ipcf_strerror(rc));
        goto out;
    }
    struct ipcf_log_cursor cur = {.off = sh->cur_off, .seq = sh->cur_seq};
    int writer_gone = 0;
    while (cur.seq < ctx->messages) {
        uint64_t seq = cur.seq + 1;
        size_t len = 0;
        rc = ipcf_log_read(log, &cur, buf, sizeof(buf), &len);
        if (rc == -ENOENT) {
            if (writer_gone) { /* looked once more after the writer stopped */
                rc = 0;
                break;
            }
            writer_gone = partner_gone(sh, P_WRITER, &dead_since);
            if (ipcf__ms_left(deadline) == 0) {
                rc = -IPCF_ETIMEDOUT;
                break;
            }
            if (!writer_gone)
                nap_poll();
            continue;
        }
        if (rc < 0) {
            fprintf(stderr, "reader: read seq %llu: %s\n", (unsigned long long)seq,
                    ipcf_strerror(rc));
            break;
        }
        (void)ipcf_ledger_received(LOG_STREAM, seq, buf, len);
        sh->cur_off = cur.off; /* no kill point between the record and this */
        sh->cur_seq = cur.seq;
    }
out:
    __atomic_store_n(&sh->done[P_READER], 1, __ATOMIC_RELEASE);
    ipcf_log_close(log);
    return rc < 0 ? 1 : 0;
}

static int log_setup(struct ipcf_scenario_ctx *ctx)
{
    struct ipcf_log *log;
    int rc = ipcf_name_path(g_path, sizeof(g_path), "data.log");
    if (rc < 0)
        return rc;
    /* room for every record at the largest payload, plus a few rewrites */
    size_t cap = IPCF_LOG_HDR_SIZE + (size_t)(ctx->messages + 4) *
                                         (IPCF_LOG_REC_HDR + ((IPCF__STREAM_MAX_LEN + 7) & ~7u));
    rc = ipcf_log_create(g_path, cap, &log);
    if (rc < 0)
        return rc;
    ipcf_log_close(log);
    /* Register the file for shrink= explicitly (inherited by every peer):
     * the interposer learns MAP_SHARED files from mmap by itself, but not in
     * sanitizer builds whose runtime intercepts mmap first. */
    g_fd = open(g_path, O_RDWR | O_CLOEXEC);
    if (g_fd < 0)
        return -errno;
    return ipcf_faults_register_object(g_path, g_fd);
}

static void log_teardown(struct ipcf_scenario_ctx *ctx)
{
    (void)ctx;
    if (g_fd >= 0)
        close(g_fd);
    g_fd = -1;
    if (g_path[0])
        unlink(g_path);
}

static int log_check(struct ipcf_scenario_ctx *ctx)
{
    struct stat st;
    int rc;
    int fd = open(g_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(ctx->detail, sizeof(ctx->detail), "log file %s: %s", g_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return 1;
    }
    if ((size_t)st.st_size < IPCF_LOG_HDR_SIZE) {
        rc = -IPCF_ESHRUNK;
    } else {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (m == MAP_FAILED) {
            snprintf(ctx->detail, sizeof(ctx->detail), "mmap %s: %s", g_path, strerror(errno));
            close(fd);
            return 1;
        }
        rc = ipcf_log_validate(m, (size_t)st.st_size);
        munmap(m, (size_t)st.st_size);
    }
    close(fd);
    if (rc == -IPCF_ESHRUNK && ctx->destructive)
        return 0; /* the plan truncated it */
    if (rc < 0) {
        snprintf(ctx->detail, sizeof(ctx->detail), "ipcf_log_validate: %s", ipcf_strerror(rc));
        return 1;
    }
    return 0;
}

IPCF_SCENARIO(mmap_log,
              .description = "writer appends records to a mapped log file, reader reads them; "
                             "both restart (writer recovery truncates torn records)",
              .peers = {{.name = "writer", .run = run_writer, .restarts = 2},
                        {.name = "reader", .run = run_reader, .restarts = 2}},
              .streams = {{.id = LOG_STREAM,
                           .name = "log",
                           .sender = "writer",
                           .receiver = "reader",
                           .semantics = IPCF_SEM_ORDERED | IPCF_SEM_SURVIVES_SENDER |
                                        IPCF_SEM_SURVIVES_RECEIVER | IPCF_SEM_DETECTS_CORRUPTION,
                           .receiver_in_hand = 1}},
              .names = {"data.log"},
              .calls = "poll,pread,point=log.append.half,point=log.append.committed,"
                       "point=log.recover.cut",
              .shrink = "*data.log", .shared_size = sizeof(struct log_shared), .messages = 32,
              .setup = log_setup, .check = log_check, .teardown = log_teardown);
