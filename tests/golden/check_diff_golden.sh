#!/usr/bin/env bash
# Golden test of `polc diff`: examples/policies/CASE.pol (old) against
# tests/golden/diff/CASE/new.pol (new) over examples/policies/CASE.yaml,
# compared with tests/golden/diff/CASE/expected.txt (exit code, then what
# polc printed) and expected.json (the same with -o json).
#
# usage: check_diff_golden.sh POLC SOURCE_DIR CASE
# Regenerate: POLC_UPDATE_GOLDEN=1 ctest --test-dir build -R golden.diff   (review git diff)
set -uo pipefail
polc=$1 source_dir=$2 case=$3
dir=tests/golden/diff/$case
cd "$source_dir" || exit 1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

args=(diff "examples/policies/$case.pol" "$dir/new.pol" --topology "examples/policies/$case.yaml")
"$polc" "${args[@]}" > "$work/out" 2>&1
{ echo "exit $?"; cat "$work/out"; } > "$work/expected.txt"
"$polc" "${args[@]}" -o json > "$work/expected.json" 2>&1

status=0
for file in expected.txt expected.json; do
  if [ "${POLC_UPDATE_GOLDEN:-0}" = 1 ]; then
    cp "$work/$file" "$dir/$file"
    echo "updated $dir/$file"
    continue
  fi
  if [ ! -f "$dir/$file" ]; then
    echo "missing golden $dir/$file; create it with:"
    echo "  POLC_UPDATE_GOLDEN=1 ctest --test-dir build -R golden.diff.$case   and review it"
    status=1
  elif ! diff -u "$dir/$file" "$work/$file"; then
    echo "golden diff/$case/$file differs. If the change is intended, regenerate and review:"
    echo "  POLC_UPDATE_GOLDEN=1 ctest --test-dir build -R golden.diff.$case && git diff tests/golden"
    status=1
  fi
done
[ $status = 0 ] && echo "golden diff/$case: identical"
exit $status
