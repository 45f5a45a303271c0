#!/usr/bin/env bash
# Golden test at the build boundary: `polc build` of an example, compared file
# by file with tests/golden/build/<example>/ (tables, ipcache, identities,
# generated C, the printed report). Objects and the manifest are left out on
# purpose: their bytes follow the clang version, and behaviour is tested with
# packets instead.
#
# usage: check_build_golden.sh POLC SOURCE_DIR EXAMPLE
# Regenerate: POLC_UPDATE_GOLDEN=1 ctest -R golden   (then review `git diff`)
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/golden_lib.sh"
polc=$1 source_dir=$2 example=$3
golden="$source_dir/tests/golden/build/$example"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$source_dir"
"$polc" build "examples/policies/$example.pol" --topology "examples/policies/$example.yaml" \
  --no-cache -o "$work/out" > "$work/report.txt" 2>&1 || { cat "$work/report.txt"; exit 1; }
# The report names the output directory and object digests: normalize them.
sed -i -e "s|$work/out|OUT|g" -e 's|objects/[0-9a-f]\{64\}\.o  sha256:[0-9a-f]*|objects/<sha256>.o|' \
  "$work/report.txt"
mkdir -p "$work/actual"
(cd "$work/out" && find . -type f \( -name '*.json' -o -name '*.c' \) ! -name manifest.json |
  sed 's|^\./||' | sort) > "$work/files"
while read -r file; do
  mkdir -p "$(dirname "$work/actual/$file")"
  cp "$work/out/$file" "$work/actual/$file"
done < "$work/files"
cp "$work/report.txt" "$work/actual/report.txt"

golden_check "$golden" "$work/actual" "build/$example" "golden.build.$example"
exit $?
