#!/usr/bin/env bash
# Golden test at every stage boundary: `polc build --dump-after=PASS` of an
# example for each pass that produces a stage (every pass `--list-passes`
# shows with a product, so a new pass gets a golden too), compared with
# tests/golden/stages/<example>/<pass>.txt. The exit code must be 0.
#
# usage: check_stages_golden.sh POLC SOURCE_DIR EXAMPLE
# Regenerate: POLC_UPDATE_GOLDEN=1 ctest --test-dir build -R golden.stages   (review git diff)
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/golden_lib.sh"
polc=$1 source_dir=$2 example=$3
golden="$source_dir/tests/golden/stages/$example"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$source_dir"
passes=$("$polc" build --list-passes | awk '$0 !~ /-> \(diagnostics\)/ { print $1 }')
[ -n "$passes" ] || { echo "polc build --list-passes listed no pass"; exit 1; }
mkdir -p "$work/actual"
for pass in $passes; do
  if ! "$polc" build "examples/policies/$example.pol" --topology "examples/policies/$example.yaml" \
    --dump-after="$pass" > "$work/actual/$pass.txt" 2> "$work/stderr"; then
    echo "polc build --dump-after=$pass failed:"
    cat "$work/stderr"
    exit 1
  fi
done

golden_check "$golden" "$work/actual" "stages/$example" "golden.stages.$example"
exit $?
