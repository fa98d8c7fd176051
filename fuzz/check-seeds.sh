#!/usr/bin/env bash
# check-seeds.sh MKSEEDS CORPUS-ROOT — the committed seeds are current:
# regenerates every seed with fuzz_mkseeds into a temp dir and fails if any
# generated file is missing from, or differs from, CORPUS-ROOT. Files that
# exist only in the corpus (hand-added or minimized campaign inputs) are allowed.
set -euo pipefail
mk=$1 root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$mk" "$tmp/corpus"
bad=0 n=0
while IFS= read -r f; do
  rel=${f#"$tmp/corpus/"}
  n=$((n + 1))
  if ! cmp -s "$f" "$root/$rel"; then
    echo "check-seeds: $rel is missing or out of date (run: fuzz_mkseeds corpus)" >&2
    bad=1
  fi
done < <(find "$tmp/corpus" -type f | sort)
[ "$bad" = 0 ] && echo "check-seeds: $n seed files current"
exit "$bad"
