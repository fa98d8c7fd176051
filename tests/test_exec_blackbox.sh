#!/bin/bash
# test_exec_blackbox.sh — `ipcfuzz exec` on programs written without ipcfuzz
# in mind (tests/blackbox/*.c, built here with the system cc, NOT linked with
# ipcfuzz), each in a correct and a buggy build:
#  - correct builds: 0 findings over several seeds (no false positives);
#  - buggy builds: the bug is found with the right verdict, grouped into one
#    reproducer, and `ipcfuzz replay` reproduces it from another directory;
#  - --sweep finds the bugs that need a precise fault point (EINTR on accept,
#    SIGPIPE after the client's death);
#  - a crash of a process other than the main one is found although the main
#    process exits 0 with its usual output;
#  - a statically linked program (out of LD_PRELOAD's reach) is refused with
#    exit 2 and the reason, not reported as clean.
# $1 = build dir.
set -u
B=$(cd "${1:?build dir}" && pwd)
X=$B/harness/ipcfuzz
SRC=$(cd "$(dirname "$0")/blackbox" && pwd)
[ -x "$X" ] || { echo "missing $X"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/ipcf-blackbox.XXXXXX")
SHM=bbx_$$
trap 'rm -rf "$T"; rm -f /dev/shm/$SHM*' EXIT
fail() { echo "FAIL: $*"; exit 1; }
CC=${CC_BLACKBOX:-cc}
# sanitizer options of the build must not leak into the plain programs
unset ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS

build() { # name source defines...
    local n=$1 s=$2
    shift 2
    $CC -O1 -g -Wall -Wextra -Werror "$@" -o "$T/$n" "$SRC/$s.c" || fail "cc $n"
}
build pipe_records pipe_records
build pipe_records_partial pipe_records -DBUG_PARTIAL_READ
build pipe_records_hang pipe_records -DBUG_KEEP_WRITE_END
build pipe_bulk pipe_bulk
build pipe_bulk_short pipe_bulk -DBUG_SHORT_WRITE
build uds_server uds_server
build uds_server_eintr uds_server -DBUG_ACCEPT_EINTR
build uds_server_sigpipe uds_server -DBUG_SIGPIPE
build shm_leak shm_leak
build shm_leak_leak shm_leak -DBUG_LEAK_ON_PEER_DEATH
build worker_crash worker_crash
build worker_crash_abort worker_crash -DBUG_HEADER_ONE_READ
build pipe_records_static pipe_records -static

cd "$T" || fail "cd $T"
mkdir -p elsewhere

# exec_ok LABEL ARGS... : exit 0 and no finding
exec_ok() {
    local label=$1
    shift
    timeout 120 "$X" exec --findings "$T/f-ok" "$@" > "$T/out" 2>&1
    local st=$?
    [ "$st" -eq 0 ] || { cat "$T/out"; fail "$label: exit $st, want 0 (false positive?)"; }
    grep -q ', 0 with findings' "$T/out" || { cat "$T/out"; fail "$label: findings reported"; }
}
# exec_finds LABEL VERDICT ARGS... : exit 1, first group has VERDICT; sets REPRO
exec_finds() {
    local label=$1 verdict=$2
    shift 2
    rm -rf "$T/f"
    timeout 120 "$X" exec --findings "$T/f" "$@" > "$T/out" 2>&1
    local st=$?
    [ "$st" -eq 1 ] || { cat "$T/out"; fail "$label: exit $st, want 1 (bug not found)"; }
    grep -Eq "^ +[0-9]+ x  $verdict \|" "$T/out" || { cat "$T/out"; fail "$label: no '$verdict' group"; }
    REPRO=$(grep -l "^verdict: $verdict" "$T"/f/*.repro | head -1)
    [ -n "$REPRO" ] || fail "$label: no reproducer with verdict $verdict"
    grep -q "^x-cwd: $T\$" "$REPRO" || fail "$label: reproducer lacks x-cwd"
}
# replay_finds LABEL VERDICT : replay $REPRO from another directory. A kill
# races with the peer's next call, so the finding may not come back on every
# run: `replay --check-determinism 5` exits 1 when it reproduced at least once
# (and prints the rate); two such rounds, then it is a failure.
replay_finds() {
    local label=$1 verdict=$2 i
    for i in 1 2; do
        (cd "$T/elsewhere" && timeout 120 "$X" replay --check-determinism 5 "$REPRO") \
            > "$T/rout" 2>&1
        [ $? -eq 1 ] && grep -q "reproduced: [1-5]/5" "$T/rout" && return 0
    done
    cat "$T/rout"
    fail "$label: replay from another directory did not reproduce $verdict"
}

# ---- a program the preload library cannot reach: a clear refusal, not "0 findings" ----
timeout 60 "$X" exec --iterations 2 --findings "$T/f-static" -- ./pipe_records_static \
    > "$T/out" 2>&1
st=$?
[ "$st" -eq 2 ] || { cat "$T/out"; fail "static program: exit $st, want 2"; }
grep -q 'statically linked' "$T/out" || { cat "$T/out"; fail "static program: no reason given"; }

# ---- correct programs: no finding, several seeds ----
for s in 1 2 3; do
    exec_ok "pipe_records seed $s" --seed "$s" --iterations 15 --timeout 10s -- ./pipe_records
    exec_ok "uds_server seed $s" --seed "$s" --iterations 15 --timeout 10s \
        --names "$T/u.sock" -- ./uds_server "$T/u.sock"
    exec_ok "shm_leak seed $s" --seed "$s" --iterations 15 --timeout 10s \
        --names "/dev/shm/$SHM*" -- ./shm_leak "/${SHM}_a"
    exec_ok "worker_crash seed $s" --seed "$s" --iterations 15 --timeout 10s -- ./worker_crash
done
exec_ok "worker_crash short reads" --plan 'read:short=1' -- ./worker_crash
for s in 1 2; do
    exec_ok "pipe_bulk seed $s" --seed "$s" --iterations 8 --timeout 15s -- ./pipe_bulk
done
exec_ok "pipe_bulk storm" --plan 'write:signal=SIGUSR1:p=0.5' --iterations 2 -- ./pipe_bulk
# a storm of a crash signal interrupts too: it must not meet exec's crash
# recorder (faults/deaths.c) and be reported as a crash
exec_ok "pipe_bulk SIGTRAP storm" --plan 'write:signal=SIGTRAP:p=0.5' --iterations 2 -- ./pipe_bulk
exec_ok "uds_server sweep" --sweep --timeout 10s --names "$T/u.sock" -- ./uds_server "$T/u.sock"
exec_ok "shm_leak sweep" --sweep --iterations 150 --timeout 10s --names "/dev/shm/$SHM*" \
    -- ./shm_leak "/${SHM}_a"

# ---- buggy programs: found, right verdict, replayable ----
# read() assumed to return a whole record: short reads (transparent) -> exit
exec_finds "partial read" exit --seed 1 --iterations 20 --timeout 5s -- ./pipe_records_partial
replay_finds "partial read" exit

# parent keeps the write end: a killed worker means no EOF -> hang; grouped
exec_finds "kept write end" hang --seed 1 --iterations 20 --timeout 2s -- ./pipe_records_hang
n=$(ls "$T"/f/*.repro | wc -l)
[ "$n" -eq 1 ] || fail "kept write end: $n reproducers for one bug, want 1 (grouping)"
grep -Eq '^ +[2-9][0-9]* x  hang' "$T/out" || fail "kept write end: group count missing"
replay_finds "kept write end" hang

# short write ignored: a signal storm on a full pipe -> exit (transparent)
exec_finds "short write" exit --plan 'write:signal=SIGUSR1:p=0.5' --iterations 2 -- ./pipe_bulk_short
replay_finds "short write" exit

# accept() EINTR not retried: only an exact fault point shows it -> sweep
exec_finds "accept EINTR" exit --sweep --timeout 5s --names "$T/u.sock" \
    -- ./uds_server_eintr "$T/u.sock"
grep -q 'accept: Interrupted system call' "$T/out" || fail "accept EINTR: signature lacks stderr"
replay_finds "accept EINTR" exit

# SIGPIPE when the client dies mid-conversation -> crash (sweep kills the client)
exec_finds "sigpipe" crash --sweep --timeout 5s --names "$T/u.sock" \
    -- ./uds_server_sigpipe "$T/u.sock"
grep -q 'signal 13' "$T/out" || fail "sigpipe: not SIGPIPE"
replay_finds "sigpipe" crash

# shm object leaked when the worker dies -> leaked-name (and removed by exec)
exec_finds "shm leak" leaked-name --seed 1 --iterations 20 --timeout 5s \
    --names "/dev/shm/$SHM*" -- ./shm_leak_leak "/${SHM}_b"
ls /dev/shm/$SHM* > /dev/null 2>&1 && fail "shm leak: exec did not remove the leaked name"
replay_finds "shm leak" leaked-name
ls /dev/shm/$SHM* > /dev/null 2>&1 && fail "shm leak: replay did not remove the leaked name"

# a forked worker aborts on a short read while the main process exits 0 with
# its usual output: only the crash of a process other than the main one
# shows it (recorded by the preload library in every process of the tree)
exec_finds "worker crash" crash --plan 'read:short=1' -- ./worker_crash_abort
grep -q 'not the main one) died: signal 6' "$T/out" || fail "worker crash: not the worker's SIGABRT"
replay_finds "worker crash" crash
exec_finds "worker crash, random plans" crash --seed 1 --iterations 40 --timeout 5s \
    -- ./worker_crash_abort

echo "test_exec_blackbox: 13 programs, all checks passed"
