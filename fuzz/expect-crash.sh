#!/usr/bin/env bash
# expect-crash.sh FUZZER BUG SECONDS CORPUS DICT WORKDIR — negative test of a
# planted bug: with IPCF_BUGS=BUG, libFuzzer started from the seed CORPUS must
# report a crash within SECONDS. Then the crash input must crash again with the
# bug on, and run clean with it off (so the bug, not the target, is the cause).
# Passes only if all three hold; prints the time to find.
set -uo pipefail
bin=$1 bug=$2 secs=$3 corpus=$4 dict=$5 work=$6
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
dictarg=()
[ -f "$dict" ] && dictarg=(-dict="$dict")
start=$(date +%s.%N)
IPCF_BUGS=$bug timeout -k 5 $((secs + 60)) "$bin" -max_total_time="$secs" -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 "${dictarg[@]}" -artifact_prefix="$work/artifacts/" \
  "$work/corpus" "$corpus" >"$work/log" 2>&1
rc=$?
end=$(date +%s.%N)
crash=$(ls "$work"/artifacts/crash-* 2>/dev/null | head -n1)
if [ "$rc" = 0 ] || [ -z "$crash" ]; then
  tail -n 20 "$work/log"
  echo "FAIL: $bug not found by $(basename "$bin") within ${secs}s (exit $rc)" >&2
  exit 1
fi
if ! grep -qE 'ERROR: AddressSanitizer|runtime error|oracle failed|deadly signal' "$work/log"; then
  tail -n 20 "$work/log"
  echo "FAIL: exit $rc but no crash report in the log" >&2
  exit 1
fi
if IPCF_BUGS=$bug "$bin" "$crash" >"$work/replay-bug.log" 2>&1; then
  echo "FAIL: $crash does not crash again with $bug enabled" >&2
  exit 1
fi
if ! IPCF_BUGS= "$bin" "$crash" >"$work/replay-clean.log" 2>&1; then
  tail -n 20 "$work/replay-clean.log"
  echo "FAIL: $crash also crashes without $bug: a real defect, not the planted bug" >&2
  exit 1
fi
grep -m1 -E 'ERROR: AddressSanitizer|runtime error|oracle failed|deadly signal' "$work/log"
awk -v b="$bug" -v s="$start" -v e="$end" -v c="$(basename "$crash")" 'BEGIN { printf "found %s in %.1f s (%s)\n", b, e - s, c }'
