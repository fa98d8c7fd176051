/* ipcfuzz/ledger.h — the run's ledger: what every peer sent and received.
 *
 * The ledger is an append-only array of fixed-size records in an anonymous
 * MAP_SHARED mapping. The supervisor creates it before forking the peers, so
 * every peer inherits it and it survives any peer's death. Peers append with
 * atomics only (no lock a dying peer could hold): a record is either fully
 * published or invisible, whatever instruction a peer is killed at.
 *
 * A scenario peer records, for each message of a logical stream:
 *
 *   ipcf_ledger_send_begin(stream, seq, buf, len);   BEFORE the send call
 *   <send it>
 *   ipcf_ledger_sent(stream, seq, buf, len);          AFTER the send returned
 *   ...
 *   ipcf_ledger_received(stream, seq, buf, len);      when the receiver delivers it
 *
 * A peer killed between send_begin and sent leaves the message IN DOUBT: it may
 * or may not arrive, but if it arrives it must be intact and in order. The
 * oracle (harness/oracle.h) compares these records with the scenario's declared
 * semantics. `seq` is chosen by the sender, unique per message within a stream
 * (a retransmission of the same message reuses its seq); for an ordered stream
 * seqs increase in send order.
 *
 * Peer calls work on a process-global current ledger set by the supervisor with
 * ipcf_ledger_attach() (inherited across fork). Outside a run (nothing attached)
 * they do nothing and return 0, so scenario code also runs standalone.
 *
 * Capacity is fixed at creation. An append that does not fit is refused with
 * -ENOSPC and sets the ledger's overflow counter, which the oracle reports as a
 * `ledger` finding: records are never lost silently.
 */
#ifndef IPCFUZZ_LEDGER_H
#define IPCFUZZ_LEDGER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "ipcfuzz/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Record kinds. Values are stable (they appear in dumps). */
enum ipcf_ledger_kind {
    IPCF_LREC_NONE = 0,
    IPCF_LREC_BEGIN = 1,    /* a peer is about to send (stream, seq, hash) */
    IPCF_LREC_SENT = 2,     /* the send of (stream, seq, hash) returned successfully */
    IPCF_LREC_RECEIVED = 3, /* a peer delivered (stream, seq, hash) to the application */
    IPCF_LREC_NOTE = 4,     /* an event about a peer; see enum ipcf_ledger_note */
};

/* Note kinds (record.note) written by the supervisor or by peers. */
enum ipcf_ledger_note {
    IPCF_NOTE_NONE = 0,
    IPCF_NOTE_STARTED = 1,        /* peer process started (value: incarnation, 0 = first) */
    IPCF_NOTE_RESTARTED = 2,      /* supervisor restarted the peer (value: incarnation) */
    IPCF_NOTE_KILLED_BY_PLAN = 3, /* peer died by a scheduled kill (value: signal) */
    IPCF_NOTE_EXITED = 4,         /* peer exited (value: exit code) */
    IPCF_NOTE_SIGNALED = 5,       /* peer died by an unscheduled signal (value: signal) */
    IPCF_NOTE_HUNG = 6,           /* watchdog killed the peer (value: ms waited) */
    IPCF_NOTE_USER = 7,           /* free-form event from scenario code (value: user's) */
};

/* One record as seen by readers (snapshots). Writers never see this layout in
 * a partially written state: see harness/ledger.c for the publication protocol. */
struct ipcf_ledger_record {
    uint64_t index;  /* position in the ledger: the total order of appends */
    uint64_t seq;    /* message sequence number; notes: the note's value */
    uint64_t hash;   /* ipcf_ledger_hash() of the message bytes; notes: 0 */
    uint32_t stream; /* stream id; notes: 0 */
    uint32_t len;    /* message length in bytes (saturated at UINT32_MAX); notes: 0 */
    uint32_t peer;   /* peer id given to ipcf_ledger_attach (scenario's peer index) */
    int32_t pid;     /* process that wrote the record */
    uint16_t kind;   /* enum ipcf_ledger_kind */
    uint16_t note;   /* enum ipcf_ledger_note when kind == IPCF_LREC_NOTE, else 0 */
    uint32_t reserved;
};

/* Opaque handle: the base of the shared mapping (valid in every forked peer). */
struct ipcf_ledger;

#define IPCF_LEDGER_DEFAULT_CAPACITY 65536u
#define IPCF_LEDGER_MAX_CAPACITY     (16u * 1024u * 1024u)

/* ---- Peer side: what scenario code calls ---------------------------------- */

/* 64-bit hash of a message (FNV-1a over the bytes, mixed with the length, then
 * a final avalanche). Pure; the same bytes give the same hash in every process. */
uint64_t ipcf_ledger_hash(const void *data, size_t len);

/* Record that the calling peer is about to send message (stream, seq) with
 * contents data[0..len). Call it before the send. 0; -ENOSPC when the ledger is
 * full (overflow recorded); 0 and nothing recorded when no ledger is attached. */
int ipcf_ledger_send_begin(uint32_t stream, uint64_t seq, const void *data, size_t len);

/* Record that the send of (stream, seq) returned successfully (the message is
 * committed to the channel). Same returns as ipcf_ledger_send_begin. */
int ipcf_ledger_sent(uint32_t stream, uint64_t seq, const void *data, size_t len);

/* Record that the calling peer delivered message (stream, seq) with contents
 * data[0..len) to its application. `seq` is what the receiver believes the seq
 * is (usually carried in the message). Same returns as ipcf_ledger_send_begin. */
int ipcf_ledger_received(uint32_t stream, uint64_t seq, const void *data, size_t len);

/* Append a note about the calling peer. Same returns as ipcf_ledger_send_begin. */
int ipcf_ledger_note(enum ipcf_ledger_note note, int64_t value);

/* The ledger attached in this process, or NULL. */
struct ipcf_ledger *ipcf_ledger_current(void);

/* ---- Supervisor side ------------------------------------------------------ */

/* Create a ledger of `capacity` records (0 = IPCF_LEDGER_DEFAULT_CAPACITY) in a
 * fresh anonymous MAP_SHARED mapping. 0 and *out set; -EINVAL if capacity >
 * IPCF_LEDGER_MAX_CAPACITY; -ENOMEM (mmap failed). */
IPCF_MUST_CHECK int ipcf_ledger_create(struct ipcf_ledger **out, size_t capacity);

/* Unmap the ledger (in this process only). Detaches it if it is current. NULL ok. */
void ipcf_ledger_destroy(struct ipcf_ledger *l);

/* Make `l` the current ledger of this process and set the peer id written into
 * each record by the peer calls (call in each peer after fork; NULL detaches).
 * The pid written is cached and forgotten in fork children (pthread_atfork),
 * so a fork inherits the peer id but not a stale pid. Appends are safe from
 * several threads; attach itself must not race with them. */
void ipcf_ledger_attach(struct ipcf_ledger *l, uint32_t peer);

/* Append a record on behalf of `peer`/`pid` (the supervisor's notes: started,
 * killed-by-plan, ...). kind is IPCF_LREC_*; for notes pass note and put the
 * value in seq. 0, -EINVAL (bad kind), -ENOSPC (full; overflow recorded). */
int ipcf_ledger_append(struct ipcf_ledger *l, enum ipcf_ledger_kind kind,
                       enum ipcf_ledger_note note, uint32_t peer, pid_t pid, uint32_t stream,
                       uint64_t seq, uint64_t hash, size_t len);

/* Forget every record (between iterations). Only when no peer can append:
 * the caller guarantees every writer has been reaped. */
void ipcf_ledger_reset(struct ipcf_ledger *l);

/* Configured capacity in records. */
size_t ipcf_ledger_capacity(const struct ipcf_ledger *l);

/* Number of appends refused for lack of capacity since the last reset. */
uint64_t ipcf_ledger_overflowed(const struct ipcf_ledger *l);

/* Check the structural invariants of a ledger that peers (possibly buggy,
 * possibly killed mid-append) have written: header magic/version/capacity,
 * reservation counter sane, each published record's checksum matches its
 * contents, its index equals its slot, its kind/note are known. Safe to call
 * while peers append. 0 or -IPCF_ECORRUPT (detail, if non-NULL, gets a
 * one-line reason, at most detail_cap bytes). */
IPCF_MUST_CHECK int ipcf_ledger_validate(const struct ipcf_ledger *l, char *detail,
                                         size_t detail_cap);

/* A private copy of the published records, for the oracle. */
struct ipcf_ledger_snapshot {
    struct ipcf_ledger_record *records; /* published records, ascending index */
    size_t n;
    size_t capacity;     /* ledger capacity */
    uint64_t reserved;   /* slots reserved by appends (may exceed n: see holes) */
    uint64_t holes;      /* reserved slots not published: a writer died (or is still) mid-append */
    uint64_t overflowed; /* appends refused for lack of capacity */
    int corrupt;         /* 1 if a published slot failed its checksum (record skipped) */
};

/* Copy every published record of `l` into *out (heap; free with
 * ipcf_ledger_snapshot_free). Safe while peers append: every record published
 * before the call is included; slots still being written count as holes. 0 or -ENOMEM. */
IPCF_MUST_CHECK int ipcf_ledger_snapshot_take(const struct ipcf_ledger *l,
                                              struct ipcf_ledger_snapshot *out);

/* Build a snapshot from given records (tests, replays of dumps): copies them
 * and sets index = position. 0 or -ENOMEM. */
IPCF_MUST_CHECK int ipcf_ledger_snapshot_from(const struct ipcf_ledger_record *recs, size_t n,
                                              struct ipcf_ledger_snapshot *out);

void ipcf_ledger_snapshot_free(struct ipcf_ledger_snapshot *s);

/* Stable names: "begin", "sent", "received", "note"; notes: "started", ... */
const char *ipcf_ledger_kind_name(enum ipcf_ledger_kind kind);
const char *ipcf_ledger_note_name(enum ipcf_ledger_note note);

#ifdef __cplusplus
}
#endif
#endif
