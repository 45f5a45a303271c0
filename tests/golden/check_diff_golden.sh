#!/usr/bin/env bash
# Golden test of `polc diff`: examples/policies/CASE.pol (old) against
# tests/golden/diff/CASE/new.pol (new) over examples/policies/CASE.yaml,
# compared with tests/golden/diff/CASE/expected.txt (exit code, then what
# polc printed) and expected.json (the same with --format json).
#
# usage: check_diff_golden.sh POLC SOURCE_DIR CASE
# Regenerate: POLC_UPDATE_GOLDEN=1 ctest --test-dir build -R golden.diff   (review git diff)
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/golden_lib.sh"
polc=$1 source_dir=$2 case=$3
dir=tests/golden/diff/$case
cd "$source_dir" || exit 1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

args=(diff "examples/policies/$case.pol" "$dir/new.pol" --topology "examples/policies/$case.yaml")
"$polc" "${args[@]}" > "$work/out" 2>&1
{ echo "exit $?"; cat "$work/out"; } > "$work/expected.txt"
"$polc" "${args[@]}" --format json > "$work/expected.json" 2>&1

status=0
for file in expected.txt expected.json; do
  golden_check "$dir/$file" "$work/$file" "diff/$case/$file" "golden.diff.$case" || status=1
done
exit $status
