#!/usr/bin/env bash
# Golden test of diagnostics: `polc check` of tests/golden/diagnostics/CASE.pol
# against CASE.yaml (or topology.yaml when the case has none), compared with
# CASE.expected: the exit code, then everything polc printed.
#
# usage: check_diagnostics_golden.sh POLC SOURCE_DIR CASE
# Regenerate: POLC_UPDATE_GOLDEN=1 ctest --test-dir build -R golden.diagnostics   (review git diff)
set -uo pipefail
polc=$1 source_dir=$2 case=$3
dir=tests/golden/diagnostics
cd "$source_dir" || exit 1
topology=$dir/$case.yaml
[ -f "$topology" ] || topology=$dir/topology.yaml
expected=$dir/$case.expected
actual=$(mktemp)
trap 'rm -f "$actual"' EXIT

"$polc" check "$dir/$case.pol" --topology "$topology" > "$actual.out" 2>&1
status=$?
{ echo "exit $status"; cat "$actual.out"; } > "$actual"
rm -f "$actual.out"

if [ "${POLC_UPDATE_GOLDEN:-0}" = 1 ]; then
  cp "$actual" "$expected"
  echo "updated $expected"
  exit 0
fi
if [ ! -f "$expected" ]; then
  echo "missing golden $expected; create it with:"
  echo "  POLC_UPDATE_GOLDEN=1 ctest --test-dir build -R golden.diagnostics.$case   and review it"
  exit 1
fi
if diff -u "$expected" "$actual"; then
  echo "golden diagnostics/$case: identical"
  exit 0
fi
echo
echo "golden diagnostics/$case differs. If the change is intended, regenerate and review:"
echo "  POLC_UPDATE_GOLDEN=1 ctest --test-dir build -R golden.diagnostics.$case && git diff tests/golden"
exit 1
