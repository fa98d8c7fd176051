#!/bin/bash
# test_preload.sh — libipcfuzz_preload.so on unmodified external programs:
#  - cat through a pipe with read:short=1 gives byte-identical output and the
#    trace shows every shortened read;
#  - write:kill=after kills cat by SIGKILL after its write landed;
#  - a bad IPCF_PLAN stops the program with exit 2 and a clear message;
#  - fork + exec are followed (sh -c runs cat: both processes traced);
#  - IPCF_BUGS reaches the preloaded copy (planted faults_short_faked caught).
# $1 = build dir.
set -u
B=${1:?build dir}
LIB=$B/faults/libipcfuzz_preload.so
[ -f "$LIB" ] || { echo "missing $LIB"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/ipcf-preload.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

head -c 2000 /dev/urandom > "$T/in"

# 1. short=1: identical bytes, one shortened read per byte (+ EOF read)
cat "$T/in" | IPCF_PLAN='read:short=1' IPCF_TRACE="$T/trace" LD_PRELOAD="$LIB" \
    timeout 60 cat > "$T/out" || fail "cat under short=1 failed"
cmp -s "$T/in" "$T/out" || fail "output differs under read:short=1"
n=$(grep -c ' cat read [0-9]* short=1 rule=0$' "$T/trace")
[ "$n" -eq 2001 ] || fail "expected 2001 shortened reads in the trace, got $n"
grep -q ' cat write 2000 pass$' "$T/trace" || fail "trace lacks the 2000th write"

# 2. kill=after: the first write landed, then SIGKILL (status 137)
rm -f "$T/trace"
printf 'hello\n' | IPCF_PLAN='write:kill=after' IPCF_TRACE="$T/trace" LD_PRELOAD="$LIB" \
    timeout 60 cat > "$T/out"
st=$?
[ "$st" -eq 137 ] || fail "kill=after: exit status $st, want 137 (SIGKILL)"
[ "$(cat "$T/out")" = hello ] || fail "kill=after: the write did not land"
grep -q ' cat write 1 kill=after rule=0$' "$T/trace" || fail "kill=after not traced"

# kill=before: nothing lands
printf 'hello\n' | IPCF_PLAN='write:kill=before' LD_PRELOAD="$LIB" timeout 60 cat > "$T/out"
st=$?
[ "$st" -eq 137 ] || fail "kill=before: exit status $st"
[ ! -s "$T/out" ] || fail "kill=before: the write landed"

# 3. bad plan: exit 2 with the position
IPCF_PLAN='read:short=0' LD_PRELOAD="$LIB" cat </dev/null 2> "$T/err"
st=$?
[ "$st" -eq 2 ] || fail "bad plan: exit $st, want 2"
grep -q 'IPCF_PLAN: expected short=N with N >= 1 bytes at byte 11' "$T/err" ||
    fail "bad plan message: $(cat "$T/err")"

# 4. fork + exec followed; IPCF_PEER unset -> each process named by its executable
rm -f "$T/trace"
printf 'abc' | IPCF_PLAN='read:short=1:peer=cat' IPCF_TRACE="$T/trace" LD_PRELOAD="$LIB" \
    timeout 60 sh -c 'cat; true' > "$T/out" || fail "sh -c cat failed"
[ "$(cat "$T/out")" = abc ] || fail "sh -c cat output"
grep -q ' cat read 3 short=1 rule=0$' "$T/trace" || fail "exec'd cat not traced"
# 5. planted bug faults_short_faked (short= returns N without reading) switched
#    on by IPCF_BUGS reaches the preloaded copy: the byte-identity check fails
for bugs in "" faults_short_faked; do
    # (output to a pipe: cat copies file to file with copy_file_range, no read)
    IPCF_BUGS=$bugs IPCF_PLAN='read:short=5:when=1' LD_PRELOAD="$LIB" \
        timeout 60 cat "$T/in" | cat > "$T/out" || fail "cat under IPCF_BUGS='$bugs' failed"
    grep -q . <(IPCF_BUGS=$bugs IPCF_PLAN='read:short=5:when=1' IPCF_TRACE=/dev/stdout \
        LD_PRELOAD="$LIB" timeout 60 cat "$T/in" 2>/dev/null | grep -a ' cat read 1 short=5 rule=0$') ||
        fail "the first read was not shortened (IPCF_BUGS='$bugs')"
    if [ -z "$bugs" ]; then
        cmp -s "$T/in" "$T/out" || fail "read:short=5:when=1 changed the output"
    else
        cmp -s "$T/in" "$T/out" && fail "planted faults_short_faked not caught by the check"
    fi
done
echo "test_preload: ok"
