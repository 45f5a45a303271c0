#!/usr/bin/env bash
# Reproducibility of `polc build`: the same inputs give the same bytes in
# every file of the output (objects and manifest.json included), whatever
# the output path, the working directory and the state of the compile cache.
#
#   a: from the source dir, cold cache (fresh --cache-dir), one clang per core
#   b: from the source dir, warm cache (the same --cache-dir), other -o path
#   c: from a copy of the inputs in another directory, --no-cache, -j 1, a relative -o
#   d: from a second copy at another depth (another checkout), inputs named
#      by absolute paths, a fresh cache
#
# Run on examples with several specializations (bpf/lib/polc_features.h).
#
# usage: check_build_reproducible.sh POLC SOURCE_DIR EXAMPLE
set -uo pipefail
polc=$1 source_dir=$2 example=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
inputs=(build "examples/policies/$example.pol" --topology "examples/policies/$example.yaml")
fail() { echo "FAIL: $*"; exit 1; }

cd "$source_dir"
"$polc" "${inputs[@]}" --cache-dir "$work/cache" -o "$work/a/out" -q > "$work/a.txt" 2>&1 ||
  { cat "$work/a.txt"; fail "build a"; }
grep -q " 0 from the cache" "$work/a.txt" || { cat "$work/a.txt"; fail "build a should be cold"; }
"$polc" "${inputs[@]}" --cache-dir "$work/cache" -o "$work/somewhere/else/b" -q > "$work/b.txt" 2>&1 ||
  { cat "$work/b.txt"; fail "build b"; }
grep -q "(0 compiled" "$work/b.txt" || { cat "$work/b.txt"; fail "build b should run no clang"; }

# Another working directory: a copy of the example's inputs (and whatever
# they include) under the same relative paths.
mkdir -p "$work/elsewhere/examples"
cp -r examples/policies "$work/elsewhere/examples/"
(cd "$work/elsewhere" &&
  "$polc" "${inputs[@]}" --no-cache -j 1 -o c-out -q > "$work/c.txt" 2>&1) ||
  { cat "$work/c.txt"; fail "build c"; }

# A second checkout at another depth, inputs given as absolute paths: the
# manifest records them relative to the working directory.
checkout="$work/second/checkout/of/polc"
mkdir -p "$checkout/examples"
cp -r examples/policies "$checkout/examples/"
(cd "$checkout" &&
  "$polc" build "$checkout/examples/policies/$example.pol" \
    --topology "$checkout/examples/policies/$example.yaml" --cache-dir "$work/cache-d" \
    -o "$checkout/out" -q > "$work/d.txt" 2>&1) ||
  { cat "$work/d.txt"; fail "build d"; }

status=0
for other in "$work/somewhere/else/b" "$work/elsewhere/c-out" "$checkout/out"; do
  if ! diff -r "$work/a/out" "$other" > "$work/diff.txt"; then
    cat "$work/diff.txt"
    echo "FAIL: $work/a/out and $other differ"
    status=1
  fi
done
[ "$(find "$work/a/out" -name '*.o' | wc -l)" -gt 0 ] || fail "no objects were built"
[ $status = 0 ] && echo "build/$example: byte-identical across 4 builds ($(ls "$work/a/out/sources" | wc -l) distinct sources)"
exit $status
