#!/usr/bin/env bash
# test_campaign.sh BUILD_DIR — the campaign proof for the stream targets:
#  - every planted bug of the stream targets is FOUND by `ipcfuzz run` within a
#    fixed iteration budget (fixed seed), and its reproducer REPLAYS (exit 1,
#    same first verdict) and replays deterministically (--check-determinism 3);
#  - the unbugged targets give ZERO findings over the same budget;
#  - nothing is left behind (names audit of the whole suite also checks).
set -u
B=$1/harness/ipcfuzz
[ -x "$B" ] || { echo "no $B"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ipcf-campaign.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
ITER=${IPCF_CAMPAIGN_ITER:-40}
SEED=7

# The unbugged targets: zero findings.
for s in pipe fifo unix_stream; do
  out=$("$B" run "$s" --seed $SEED --iterations $ITER --findings "$work/clean-$s" 2>&1)
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "FAIL: unbugged $s gave exit $rc"; echo "$out" | tail -20; fail=1
  else
    echo "ok: unbugged $s: 0 findings in $ITER iterations"
  fi
done

# scenario:bug pairs: each must be found, and its reproducer must replay.
pairs="pipe:io_no_eintr_retry unix_stream:io_no_eintr_retry pipe:io_assume_full_read fifo:io_assume_full_read fifo:fifo_leak_path
       unix_stream:unix_leak_path unix_stream:unix_no_stale_recovery
       unix_stream:io_assume_full_read"
for p in $pairs; do
  s=${p%%:*} bug=${p#*:}
  dir="$work/$s-$bug"
  "$B" run "$s" --seed $SEED --iterations $ITER --bug "$bug" --findings "$dir" >/dev/null 2>&1
  rc=$?
  repro=$(ls "$dir"/*.repro 2>/dev/null | head -1)
  if [ $rc -ne 1 ] || [ -z "$repro" ]; then
    echo "FAIL: $s with bug $bug: not found in $ITER iterations (exit $rc)"; fail=1; continue
  fi
  # A plan whose effect depends on scheduling (e.g. a short write meeting a
  # read) may not trigger on every replay: take the first of (at most 5)
  # reproducers that replays with its recorded verdict, then require that one
  # to give the same verdict 3 times in a row.
  replayed=
  # reproducers whose plan shortens the receiver's reads first: their effect
  # does not depend on how the writer's bytes happened to arrive
  for repro in $( (grep -l '^plan: .*read:short' "$dir"/*.repro; ls "$dir"/*.repro) 2>/dev/null |
                  awk '!seen[$0]++' | head -5); do
    want=$(sed -n 's/^verdict: \([^,]*\).*/\1/p' "$repro")
    out=$("$B" replay "$repro" 2>&1); rrc=$?
    got=$(echo "$out" | sed -n 's/^verdict: \([^ ,]*\).*/\1/p')
    if [ $rrc -eq 1 ] && [ "$got" = "$want" ]; then replayed=$repro; break; fi
  done
  if [ -z "$replayed" ]; then
    echo "FAIL: $s/$bug: none of the reproducers replayed its verdict"; echo "$out"; fail=1
    continue
  fi
  out=$("$B" replay --check-determinism 3 "$replayed" 2>&1); drc=$?
  if [ $drc -ne 0 ]; then
    echo "FAIL: $s/$bug: replay --check-determinism 3 differs"; echo "$out" | grep -v '^  lost'
    fail=1; continue
  fi
  echo "ok: $s/$bug found ($want), replayed, deterministic x3"
done

# the same seed gives the same campaign: the same plans and seeds...
a=$("$B" run --all --seed 11 --iterations 30 --dry-run 2>/dev/null)
b=$("$B" run --all --seed 11 --iterations 30 --dry-run 2>/dev/null)
c=$("$B" run --all --seed 12 --iterations 30 --dry-run 2>/dev/null)
if [ -z "$a" ] || [ "$a" != "$b" ] || [ "$a" = "$c" ]; then
  echo "FAIL: plans are not a pure function of the seed"; fail=1
else
  echo "ok: same seed -> same $(echo "$a" | wc -l) plans; another seed -> other plans"
fi
# ... and, for a plan whose effect does not depend on scheduling, the same verdicts
v() { "$B" run pipe --seed 11 --iterations 8 --plan 'read:short=3:peer=consumer' \
        --bug io_assume_full_read --json --findings "$work/det-$1" 2>/dev/null |
      grep '"type":"finding"' | sed -n 's/.*"iteration":\([0-9]*\).*"verdict":"\([a-z-]*\)".*/\1 \2/p' |
      sort -u; }
a=$(v a); b=$(v b)
if [ -z "$a" ] || [ "$a" != "$b" ]; then
  echo "FAIL: same seed + plan gave different verdicts"; diff <(echo "$a") <(echo "$b") | head; fail=1
else
  echo "ok: same seed + plan -> same verdicts over 8 iterations"
fi
exit $fail
