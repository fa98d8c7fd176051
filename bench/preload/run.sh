#!/bin/bash
# run.sh BUILD_DIR — measure the LD_PRELOAD fault injector and write the
# "## Fault injector" section of docs/performance.md (other sections kept).
#
# Workload: N one-byte write() calls to /dev/null (ipcf_bench_preload_work).
#   plain          no preload
#   preload        libipcfuzz_preload.so loaded, no plan (inactive wrapper)
#   pass-through   plan active, the call is counted and decided but not faulted
#   inject         IPCF_PLAN='write:error=EINTR:when=1000+1000' (retried by the workload)
#   strace         strace -f -e inject=write:error=EINTR:when=1000+1000 (same workload)
# Modes are interleaved, REPS runs each; the median ns/call is reported.
# Budget: well under 60 s.
set -eu
B=$(cd "${1:?build dir}" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
W=$B/bench/preload/ipcf_bench_preload_work
L=$B/faults/libipcfuzz_preload.so
N=${N:-200000}
NS=${NS:-20000}
REPS=${REPS:-7}
[ -x "$W" ] && [ -f "$L" ] || { echo "build ipcf_bench_preload_work and ipcfuzz_preload first"; exit 1; }

declare -A R
for ((i = 0; i < REPS; i++)); do
    R[plain]+="$("$W" "$N" | cut -d' ' -f1) "
    R[preload]+="$(LD_PRELOAD=$L "$W" "$N" | cut -d' ' -f1) "
    R[pass]+="$(IPCF_PLAN='write:error=EINTR:when=1000000000' LD_PRELOAD=$L "$W" "$N" | cut -d' ' -f1) "
    R[inject]+="$(IPCF_PLAN='write:error=EINTR:when=1000+1000' LD_PRELOAD=$L "$W" "$N" | cut -d' ' -f1) "
done
for ((i = 0; i < 3; i++)); do
    R[strace]+="$(strace -f -qq -o /dev/null -e trace=write -e inject=write:error=EINTR:when=1000+1000 "$W" "$NS" | cut -d' ' -f1) "
done
med() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
plain=$(med "${R[plain]}"); preload=$(med "${R[preload]}"); pass=$(med "${R[pass]}")
inject=$(med "${R[inject]}"); strace_ns=$(med "${R[strace]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

SECTION=$(mktemp)
trap 'rm -f "$SECTION"' EXIT
{
    echo "## Fault injector"
    echo
    echo "Measured by \`bench/preload/run.sh\` on $(date -u +%Y-%m-%d), $(nproc) CPUs,"
    echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'). Workload: one-byte"
    echo "\`write()\` to /dev/null, $N calls ($NS under strace), median of $REPS interleaved runs."
    echo "A noisy shared VM: compare the ratios, not the absolute numbers."
    echo
    echo "| mode | ns/call | vs plain |"
    echo "|---|---|---|"
    echo "| plain libc | $plain | 1.000 |"
    echo "| preload, no plan (inactive wrapper) | $preload | $(ratio "$preload" "$plain") |"
    echo "| preload, plan active, call passes | $pass | $(ratio "$pass" "$plain") |"
    echo "| preload, EINTR every 1000th call | $inject | $(ratio "$inject" "$plain") |"
    echo "| strace -e inject=write:error=EINTR:when=1000+1000 | $strace_ns | $(ratio "$strace_ns" "$plain") |"
    echo
    echo "Injection under the preload library is **$(ratio "$strace_ns" "$inject")x** cheaper than"
    echo "strace on the same workload (goal: >= 20x). Pass-through overhead with a plan active:"
    echo "$(awk -v a="$pass" -v b="$plain" 'BEGIN {printf "%+.1f%%", (a / b - 1) * 100}') (goal: within 5%)."
    echo
} > "$SECTION"

DOC=$ROOT/docs/performance.md
[ -f "$DOC" ] || printf '# Performance\n\n' > "$DOC"
awk -v sec="$SECTION" '
    BEGIN { while ((getline l < sec) > 0) body = body l "\n" }
    /^## Fault injector/ { skip = 1; printf "%s", body; done = 1; next }
    skip && /^## / { skip = 0 }
    !skip { print }
    END { if (!done) printf "%s", body }' "$DOC" > "$DOC.tmp" && mv "$DOC.tmp" "$DOC"
cat "$SECTION"
