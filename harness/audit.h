/* audit.h — the names audit, the fd audit and the sweeper.
 *
 * Names audit: snapshot the machine's persistent IPC names before and after a
 * run, and diff them: what the run created and left is a leaked-name finding.
 * Sources: /dev/shm, /dev/mqueue (when mounted; else the POSIX mq names the run
 * registered are probed with mq_open), /proc/sysvipc/{shm,msg,sem}, the run
 * directory, and (black-box mode) absolute path globs.
 *
 * A name is "the run's" when it carries the run prefix (ipcf.<run>.*), lies in
 * the run directory, is a System V object whose key the run allocated with
 * ipcf_sysv_key() (include/ipcfuzz/sysvkey.h), or matches one of the caller's
 * globs (black-box `--names GLOB`). Only the run's names are diffed.
 *
 * Sweeper: removes every name of runs whose owner pid is dead (kill(pid, 0)
 * fails with ESRCH): /dev/shm and /dev/mqueue entries, System V objects whose
 * keys are recorded in the dead run's directory, and the directory itself.
 * A live run's names are never touched.
 */
#ifndef IPCF_HARNESS_AUDIT_H
#define IPCF_HARNESS_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "ipcfuzz/error.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ipcf_name_kind {
    IPCF_NAME_SHM = 0,  /* /dev/shm entry: name "/ipcf.1.ring" */
    IPCF_NAME_MQ,       /* POSIX message queue: name "/ipcf.1.q" */
    IPCF_NAME_SYSV_SHM, /* name "key=0x1234abcd id=5" */
    IPCF_NAME_SYSV_MSG,
    IPCF_NAME_SYSV_SEM,
    IPCF_NAME_PATH, /* absolute path (run-dir entry or glob match) */
};

#define IPCF_AUDIT_NAME_MAX 256

struct ipcf_name_entry {
    enum ipcf_name_kind kind;
    char name[IPCF_AUDIT_NAME_MAX];
};

/* A snapshot (or a diff result): a sorted array of names. */
struct ipcf_audit_snap {
    struct ipcf_name_entry *v;
    size_t n, cap;
    bool mqueue_listed; /* /dev/mqueue was mounted and listed (else only probes) */
};

struct ipcf_audit_opts {
    pid_t run;                   /* 0 = ipcf_run_id() */
    const char *const *probe_mq; /* POSIX mq names ("/ipcf.1.q") to probe when
                                    /dev/mqueue is not mounted; may be NULL */
    size_t nprobe_mq;
    const char *const *globs; /* black-box: "/dev/shm/app*", "/tmp/app.sock"... may be NULL */
    size_t nglobs;
};

/* Render an entry as "shm:/ipcf.1.ring", "mq:/ipcf.1.q", "sysv-shm:key=0x..",
 * "path:/tmp/ipcf.1.d/sock". snprintf-style. */
int ipcf_name_entry_format(const struct ipcf_name_entry *e, char *buf, size_t cap);

/* Take a snapshot of the run's names (see file comment). 0, or -ENOMEM; a
 * source that cannot be read (absent /dev/mqueue, no /proc/sysvipc) is skipped.
 * Free with ipcf_audit_snap_free. */
IPCF_MUST_CHECK int ipcf_audit_snapshot(const struct ipcf_audit_opts *opts,
                                        struct ipcf_audit_snap *out);

/* leaked := names in `after` that are not in `before` (both sorted snapshots
 * from ipcf_audit_snapshot). 0 or -ENOMEM. */
IPCF_MUST_CHECK int ipcf_audit_diff(const struct ipcf_audit_snap *before,
                                    const struct ipcf_audit_snap *after,
                                    struct ipcf_audit_snap *leaked);

/* Add an entry (keeps the array sorted, ignores duplicates). 0 or -ENOMEM. */
IPCF_MUST_CHECK int ipcf_audit_snap_add(struct ipcf_audit_snap *s, enum ipcf_name_kind kind,
                                        const char *name);
void ipcf_audit_snap_free(struct ipcf_audit_snap *s);

/* Mount the mqueue filesystem at /dev/mqueue if it is not mounted, so queues
 * can be listed (mkdir -p /dev/mqueue && mount -t mqueue none /dev/mqueue).
 * The supervisor calls this once; tests never do. 1 if mounted now, 0 if it
 * already was, -errno (e.g. -EPERM) if it cannot. */
int ipcf_audit_mount_mqueue(void);

/* ---- fd audit ------------------------------------------------------------- */
struct ipcf_fd_entry {
    int fd;
    char target[IPCF_AUDIT_NAME_MAX]; /* readlink of /proc/PID/fd/N: "pipe:[123]", "/dev/null" */
};

struct ipcf_fd_list {
    struct ipcf_fd_entry *v; /* ascending fd */
    size_t n, cap;
};

/* List the open descriptors of process pid (0 = self) from /proc/PID/fd.
 * 0, -ESRCH (no such process), -EACCES, -ENOMEM. Free with ipcf_fd_list_free. */
IPCF_MUST_CHECK int ipcf_audit_fds(pid_t pid, struct ipcf_fd_list *out);

/* out := fds open in `after` and not in `before` (same fd and target). 0 or -ENOMEM. */
IPCF_MUST_CHECK int ipcf_fd_list_diff(const struct ipcf_fd_list *before,
                                      const struct ipcf_fd_list *after, struct ipcf_fd_list *out);
void ipcf_fd_list_free(struct ipcf_fd_list *l);

/* ---- Sweeper -------------------------------------------------------------- */
struct ipcf_sweep_result {
    int runs_swept;    /* dead runs whose names were removed */
    int names_removed; /* entries removed (shm, mq, sysv objects, files, dirs) */
    int live_skipped;  /* names left alone because their run is alive */
};

/* Remove every name of every dead run (see file comment). Also sweeps the run
 * directories in the current temp dir (IPCF_RUN_TMPDIR / TMPDIR / /tmp).
 * `only_run` != 0 restricts the sweep to that run (still only if it is dead).
 * 0 (result filled, if non-NULL) or the first hard -errno (the sweep goes on
 * past it; counts are still filled). */
int ipcf_sweep(pid_t only_run, struct ipcf_sweep_result *res);

/* 1 if run `run`'s owner is alive (kill(pid,0) succeeds or fails with EPERM),
 * 0 if it is dead (ESRCH). */
int ipcf_run_alive(pid_t run);

/* Internal (sysvkey.c): the keys recorded in run_dir's key files, at most cap
 * of them. Count stored, or -errno (0 if the directory does not exist). */
int ipcf__sysv_keys_recorded(const char *run_dir, key_t *keys, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
