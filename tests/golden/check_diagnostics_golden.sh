#!/usr/bin/env bash
# Golden test of diagnostics: `polc check` of tests/golden/diagnostics/CASE.pol
# against CASE.yaml (or topology.yaml when the case has none), compared with
# CASE.expected: the exit code, then everything polc printed.
#
# usage: check_diagnostics_golden.sh POLC SOURCE_DIR CASE
# Regenerate: POLC_UPDATE_GOLDEN=1 ctest --test-dir build -R golden.diagnostics   (review git diff)
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/golden_lib.sh"
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

golden_check "$expected" "$actual" "diagnostics/$case" "golden.diagnostics.$case"
exit $?
