#!/usr/bin/env bash
# leak_check.sh snapshot|check STATEFILE
# The suite's names audit. `snapshot` records what exists before the suite;
# `check` fails if the suite left anything new: an ipcfuzz name in /dev/shm or
# /dev/mqueue, an ipcf.* run directory in the temp dir, a System V object, or a
# process still running from this build tree.
set -u
mode=$1 state=$2
tmp=${TMPDIR:-/tmp}
list() {
  ls /dev/shm 2>/dev/null | grep '^ipcf\.' | sed 's|^|shm:|'
  ls /dev/mqueue 2>/dev/null | grep '^ipcf\.' | sed 's|^|mq:|'
  ls -d "$tmp"/ipcf.* 2>/dev/null | sed 's|^|dir:|'
  for k in shm msg sem; do
    awk -v k=$k 'NR>1 {print "sysv-" k ":" $2}' /proc/sysvipc/$k 2>/dev/null
  done
}
case $mode in
  snapshot) list | sort > "$state"; exit 0 ;;
  check)
    # give killed children a moment to be reaped by init
    sleep 0.2
    new=$(list | sort | comm -13 "$state" - | while read -r entry; do
      # An ipcfuzz name carries its run's owner pid (ipcf.<pid>.*). If that
      # owner is alive, the name belongs to a live run elsewhere on the
      # machine (every process of the suite has ended by now): not a leak.
      owner=$(echo "$entry" | sed -n 's/^[a-z]*:\(.*\/\)\{0,1\}ipcf\.\([0-9][0-9]*\)\..*/\2/p')
      if [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null; then continue; fi
      # ... and a run that ended between the listing and the check removed
      # its names on the way out: report only what is still there.
      case $entry in
        shm:*) [ -e "/dev/shm/${entry#shm:}" ] || continue ;;
        mq:*) [ -e "/dev/mqueue/${entry#mq:}" ] || continue ;;
        dir:*) [ -e "${entry#dir:}" ] || continue ;;
      esac
      echo "$entry"
    done)
    # processes started from this build tree (the state file lives in it)
    bindir=$(cd "$(dirname "$state")/.." && pwd)
    strays=$(pgrep -a -f "^$bindir/" 2>/dev/null | grep -v -e leak_check -e ctest || true)
    if [ -n "$strays" ]; then
      echo "names audit: processes from $bindir still running:"; echo "$strays"
      pkill -KILL -f "^$bindir/" 2>/dev/null || true
      exit 1
    fi
    if [ -n "$new" ]; then
      echo "names audit: the suite left these behind:"; echo "$new"; exit 1
    fi
    echo "names audit: nothing left"; exit 0 ;;
  *) echo "usage: $0 snapshot|check STATEFILE" >&2; exit 2 ;;
esac
