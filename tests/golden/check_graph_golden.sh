#!/usr/bin/env bash
# Golden test of `polc graph`: examples/policies/CASE.pol over
# examples/policies/CASE.yaml, as Graphviz source (tests/golden/graph/CASE/graph.dot)
# and as data (graph.json, --format json).
#
# usage: check_graph_golden.sh POLC SOURCE_DIR CASE
# Regenerate: POLC_UPDATE_GOLDEN=1 ctest --test-dir build -R golden.graph   (review git diff)
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/golden_lib.sh"
polc=$1 source_dir=$2 case=$3
dir=tests/golden/graph/$case
cd "$source_dir" || exit 1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

args=(graph "examples/policies/$case.pol" --topology "examples/policies/$case.yaml")
status=0
"$polc" "${args[@]}" > "$work/graph.dot" || { echo "polc graph failed (exit $?)"; status=1; }
"$polc" "${args[@]}" --format json > "$work/graph.json" ||
  { echo "polc graph --format json failed (exit $?)"; status=1; }

for file in graph.dot graph.json; do
  golden_check "$dir/$file" "$work/$file" "graph/$case/$file" "golden.graph.$case" || status=1
done
exit $status
