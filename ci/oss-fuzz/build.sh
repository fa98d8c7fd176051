#!/bin/bash -eu
# ci/oss-fuzz/build.sh — OSS-Fuzz / ClusterFuzzLite build script.
#
# Contract (set by the OSS-Fuzz/CFLite builder): $CC and $CFLAGS compile (they
# carry the sanitizer and -fsanitize=fuzzer-no-link), $LIB_FUZZING_ENGINE is
# what a fuzz target links with, $SRC holds the sources, $WORK is scratch,
# $OUT receives for each fuzzer <name>: the binary, <name>_seed_corpus.zip
# (corpus/<name>/ + corpus/regress/<name>/), <name>.dict, <name>.options.
#
# The project is configured with CMake in "external engine" mode
# (IPCFUZZ_LINK_ENGINE, see cmake/IpcfuzzFuzz.cmake): every fuzz target of the
# tree is built from the same LLVMFuzzerTestOneInput source as locally, with
# no flag added by the project. The builder image needs cmake, ninja-build (or
# make), pkg-config, libcmocka-dev and gawk/mawk (see Dockerfile here).
# Source location: $IPCFUZZ_SRC, else $SRC/ipcfuzz, else this script's tree.

if [ -n "${IPCFUZZ_SRC:-}" ]; then
  src=$IPCFUZZ_SRC
elif [ -f "$SRC/ipcfuzz/CMakeLists.txt" ]; then
  src=$SRC/ipcfuzz
else
  src=$(cd "$(dirname "$0")/../.." && pwd)
fi
build=$WORK/ipcfuzz-build
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)

cmake -S "$src" -B "$build" "${gen[@]}" \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_BUILD_TYPE=None \
  -DIPCF_WERROR=OFF -DIPCF_FUZZ=OFF -DIPCF_AFL=OFF \
  -DIPCFUZZ_LINK_ENGINE="$LIB_FUZZING_ENGINE"
cmake --build "$build" -j "$(nproc)" --target ipcfuzz_fuzzers

zip_dirs() { # zip_dirs ZIP DIR... — flat zip of non-hidden regular files
  local zipfile=$1; shift
  local files=()
  for d in "$@"; do
    [ -d "$d" ] || continue
    while IFS= read -r f; do files+=("$f"); done < <(find "$d" -maxdepth 1 -type f ! -name '.*' | sort)
  done
  rm -f "$zipfile"
  [ ${#files[@]} -gt 0 ] || return 0
  if command -v zip >/dev/null; then
    zip -q -j "$zipfile" "${files[@]}"
  else
    python3 -c 'import sys, zipfile, os
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for f in sys.argv[2:]: z.write(f, os.path.basename(f))' "$zipfile" "${files[@]}"
  fi
}

n=0
while IFS=$'\t' read -r name lf replay afl corpus regress dict opts; do
  [ -n "$name" ] && [ "$lf" != - ] || continue
  cp "$lf" "$OUT/$name"
  zip_dirs "$OUT/${name}_seed_corpus.zip" "$corpus" "$regress"
  [ "$dict" != - ] && cp "$dict" "$OUT/$name.dict"
  [ "$opts" != - ] && cp "$opts" "$OUT/$name.options"
  n=$((n + 1))
  echo "build.sh: $name"
done <"$build/ipcfuzz-fuzzers.tsv"
[ "$n" -gt 0 ] || { echo "build.sh: no fuzz targets were built" >&2; exit 1; }
