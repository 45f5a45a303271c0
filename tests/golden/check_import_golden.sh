#!/usr/bin/env bash
# Golden test of `polc import k8s`: the inputs of tests/golden/import/CASE/
# (its input* files, and the files named in its `inputs` file relative to
# the source tree, copied beside them) imported with the flags in its
# `args` file, compared with expected.txt (the exit code, then everything
# polc printed) and out/ (the files written). When the import succeeds, its
# .pol files must pass `polc fmt --check` and the whole must pass `polc check`.
#
# usage: check_import_golden.sh POLC SOURCE_DIR CASE
# Regenerate: POLC_UPDATE_GOLDEN=1 ctest --test-dir build -R golden.import   (review git diff)
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/golden_lib.sh"
polc=$1 source_dir=$2 case=$3
dir=$source_dir/tests/golden/import/$case
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

inputs=()
if [ -f "$dir/inputs" ]; then
  while read -r path; do
    [ -n "$path" ] || continue
    cp "$source_dir/$path" "$work/"
    inputs+=("$(basename "$path")")
  done < "$dir/inputs"
fi
for file in "$dir"/input*; do
  [ "$(basename "$file")" = inputs ] && continue
  cp "$file" "$work/"
  inputs+=("$(basename "$file")")
done
args=()
[ -f "$dir/args" ] && read -ra args < "$dir/args"

cd "$work" || exit 1
mkdir actual
"$polc" import k8s "${inputs[@]}" -o out "${args[@]}" > actual/output 2>&1
status=$?
{ echo "exit $status"; cat actual/output; } > actual/expected.txt

result=0
golden_check "$dir/expected.txt" actual/expected.txt "import/$case/expected.txt" "golden.import.$case" || result=1
if [ $status = 0 ]; then
  golden_check "$dir/out" out "import/$case/out" "golden.import.$case" || result=1
  "$polc" fmt --check out/*.pol || { echo "the imported .pol files are not in polc fmt's layout"; result=1; }
  "$polc" check out/main.pol --topology out/topology.yaml || { echo "polc check refuses the import"; result=1; }
fi
exit $result
