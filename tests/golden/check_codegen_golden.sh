#!/usr/bin/env bash
# Golden test of the generated C: `polc build` of a small case in
# tests/golden/codegen/CASE/ (policy.pol, topology.yaml), and the C that
# endpoint app-1 got, compared with CASE/app-1.c ("(no program)" when it
# got none). One case per specialization of bpf/lib/polc_features.h.
#
# usage: check_codegen_golden.sh POLC SOURCE_DIR CASE
# Regenerate: POLC_UPDATE_GOLDEN=1 ctest --test-dir build -R golden.codegen   (then review `git diff`)
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/golden_lib.sh"
polc=$1 source_dir=$2 case=$3
dir="$source_dir/tests/golden/codegen/$case"
golden="$dir/app-1.c"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$polc" build "$dir/policy.pol" --topology "$dir/topology.yaml" --no-cache -q -o "$work/out" \
  > "$work/report.txt" 2>&1 || { cat "$work/report.txt"; exit 1; }
# manifest.json keeps each endpoint's keys sorted: its "source" follows its "name".
source=$(awk '/"name": "app-1"/ { found = 1 } found && /"source":/ { print; exit }' \
  "$work/out/manifest.json" | sed -E 's/.*"source": "([^"]*)".*/\1/')
if [ -n "$source" ]; then
  cp "$work/out/$source" "$work/actual.c"
else
  echo "(no program)" > "$work/actual.c"
fi

golden_check "$golden" "$work/actual.c" "codegen/$case" "golden.codegen.$case"
exit $?
