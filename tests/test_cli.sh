#!/usr/bin/env bash
# test_cli.sh BUILD_DIR — the `ipcfuzz` command line: every subcommand has a
# truthful --help (exit 0), bad arguments / unknown scenarios / malformed plans
# and reproducers exit 2 with a message, list shows scenarios and bugs, sweep
# reports coverage and finds a planted bug, minimize shrinks a reproducer, exec
# gives no finding on a correct program and finds a failed recovery command,
# names --clean removes a dead run's names, and a supervisor killed mid-campaign
# leaves nothing the next run does not sweep.
set -u
B=$1/harness/ipcfuzz
[ -x "$B" ] || { echo "no $B"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ipcf-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
expect() { # expect CODE DESCRIPTION -- CMD...
  local want=$1 what=$2; shift 3
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" != "$want" ]; then
    echo "FAIL: $what: exit $rc, wanted $want"; echo "$out" | tail -5; fail=1
  else
    echo "ok: $what"
  fi
}

for c in list run sweep replay minimize exec names; do
  expect 0 "$c --help" -- "$B" $c --help
  echo "$out" | grep -q "usage: ipcfuzz $c" || { echo "FAIL: $c --help has no usage line"; fail=1; }
done
expect 0 "top-level --help" -- "$B" --help
expect 2 "no command" -- "$B"
expect 2 "unknown command" -- "$B" frobnicate
expect 2 "run: unknown scenario" -- "$B" run no_such_scenario
echo "$out" | grep -q "unknown scenario 'no_such_scenario'" || { echo "FAIL: message"; fail=1; }
expect 2 "run: nothing to run" -- "$B" run
expect 2 "run: bad plan" -- "$B" run pipe --plan 'write:explode=1'
echo "$out" | grep -q "bad plan" || { echo "FAIL: bad plan message"; fail=1; }
expect 2 "run: bad --iterations" -- "$B" run pipe --iterations zero
expect 2 "run: bad --shard" -- "$B" run pipe --shard 3/2
expect 2 "run: unknown bug" -- "$B" run pipe --bug no_such_bug
expect 2 "run: unknown option" -- "$B" run pipe --frobnicate
expect 2 "sweep: unknown scenario" -- "$B" sweep nope
expect 2 "sweep: bad --recovery plan" -- "$B" sweep pipe --recovery 'write:explode=1'
expect 2 "sweep: --recovery plan that kills nothing" -- "$B" sweep pipe --recovery 'read:short=1'
expect 2 "sweep: --recovery plan restarts nobody" -- "$B" sweep pipe --messages 8 \
    --recovery 'write:kill=after:when=2:peer=consumer' --findings "$work/swr"
expect 2 "exec: no program" -- "$B" exec
printf 'garbage\n' > "$work/bad.repro"
expect 2 "replay: malformed reproducer" -- "$B" replay "$work/bad.repro"
printf 'ipcfuzz-reproducer 1\nscenario: nope\nplan: \nseed: 1\nverdict: ok\n' > "$work/unk.repro"
expect 2 "replay: unknown scenario in reproducer" -- "$B" replay "$work/unk.repro"
expect 2 "replay: missing file" -- "$B" replay "$work/does-not-exist.repro"

expect 0 "list" -- "$B" list
for w in pipe fifo unix_stream io_no_eintr_retry fifo_leak_path unix_no_stale_recovery; do
  echo "$out" | grep -q "$w" || { echo "FAIL: list does not show $w"; fail=1; }
done

# run: JSON and JUnit outputs, shard, jobs
expect 0 "run --json --junit --jobs 2" -- "$B" run pipe --iterations 6 --jobs 2 --json \
  --junit "$work/j.xml" --findings "$work/f0"
echo "$out" | grep -q '"type":"summary"' || { echo "FAIL: no JSON summary"; fail=1; }
grep -q '<testsuite' "$work/j.xml" || { echo "FAIL: no JUnit"; fail=1; }
expect 0 "run --shard 1/2 --all" -- "$B" run --all --iterations 2 --shard 1/2 --findings "$work/f0"

# sweep finds a planted bug and reports coverage
expect 1 "sweep finds io_assume_full_read" -- "$B" sweep pipe --messages 8 --max-points 60 \
  --bug io_assume_full_read --findings "$work/sw"
echo "$out" | grep -q "reached" || { echo "FAIL: no coverage table"; fail=1; }
expect 0 "sweep clean pipe" -- "$B" sweep pipe --messages 8 --max-points 60 --findings "$work/sw0"

# minimize: a two-rule plan shrinks to the rule that matters
"$B" run pipe --plan 'poll:error=EINTR:p=0.5:peer=producer;read:short=3:when=1..40' \
  --bug io_assume_full_read --iterations 1 --findings "$work/min" >/dev/null 2>&1
r=$(ls "$work"/min/*.repro 2>/dev/null | head -1)
if [ -z "$r" ]; then echo "FAIL: no reproducer to minimize"; fail=1; else
  expect 0 "minimize" -- "$B" minimize "$r" -o "$work/min.repro"
  grep -q '^plan: read:short=3' "$work/min.repro" && ! grep -q 'EINTR' "$work/min.repro" ||
    { echo "FAIL: minimize kept the irrelevant rule"; cat "$work/min.repro"; fail=1; }
  expect 1 "replay of the minimized reproducer" -- "$B" replay "$work/min.repro"
fi

# exec: a correct program gives no finding; a failed recovery command is found
expect 0 "exec: correct program, random plans" -- "$B" exec --iterations 6 --findings "$work/ex" \
  -- sh -c 'echo hello'
expect 1 "exec: failed --then is recovery-failed" -- "$B" exec --plan 'write:kill=before:when=1' \
  --then false --findings "$work/ex" -- sh -c 'echo hello'
echo "$out" | grep -q recovery-failed || { echo "FAIL: no recovery-failed"; fail=1; }

# a supervisor killed mid-campaign: the next run sweeps what it left
"$B" run fifo --iterations 100000 --findings "$work/k" >/dev/null 2>&1 &
sup=$!
sleep 1
kill -KILL $sup; wait $sup 2>/dev/null
sleep 0.3
expect 0 "run after a killed supervisor" -- "$B" run pipe --iterations 2 --findings "$work/k"
left=$(ls -d "${TMPDIR:-/tmp}"/ipcf.$sup.* /dev/shm/ipcf.$sup.* 2>/dev/null)
[ -z "$left" ] || { echo "FAIL: names of the killed supervisor left: $left"; fail=1; }
pgrep -P $sup >/dev/null 2>&1 && { echo "FAIL: peers of the killed supervisor survive"; fail=1; }
# SIGTERM: the supervisor kills and reaps its peers, sweeps its names, exits 128+15
"$B" run fifo --iterations 100000 --findings "$work/t" >/dev/null 2>&1 &
sup=$!
sleep 1
kill -TERM $sup; wait $sup; rc=$?
[ $rc -eq 143 ] || { echo "FAIL: SIGTERM exit $rc, wanted 143"; fail=1; }
left=$(ls -d "${TMPDIR:-/tmp}"/ipcf.$sup.* /dev/shm/ipcf.$sup.* 2>/dev/null)
[ -z "$left" ] || { echo "FAIL: names left after SIGTERM: $left"; fail=1; }
sleep 0.2
pgrep -P $sup >/dev/null 2>&1 && { echo "FAIL: peers left after SIGTERM"; fail=1; }
[ $fail -eq 0 ] && echo "ok: SIGTERM stops cleanly (143, no names, no peers)"
# --faults restricts the classes of random plans, for run and exec alike.
expect 2 "run --faults with an unknown class" -- "$B" run pipe --faults kill,bogus --dry-run
expect 2 "exec --faults with an unknown class" -- "$B" exec --faults nope -- true
classes=$("$B" run pipe --dry-run --iterations 60 --faults kill,short 2>/dev/null |
          awk -F'\t' 'NF > 3 {print $4}' | sort -u | tr '\n' ' ')
if [ "$classes" != "kill kill+short short " ]; then
  echo "FAIL: --faults kill,short drew classes: $classes"; fail=1
else
  echo "ok: --faults kill,short draws only kill, short, kill+short"
fi
plans=$("$B" run pipe --dry-run --iterations 60 --faults eintr 2>/dev/null | awk -F'\t' 'NF > 3 {print $5}')
if echo "$plans" | grep -qv 'error=EINTR'; then
  echo "FAIL: --faults eintr drew a plan without EINTR"; fail=1
else
  echo "ok: --faults eintr plans all inject EINTR"
fi
expect 0 "names --clean" -- "$B" names --clean
exit $fail
