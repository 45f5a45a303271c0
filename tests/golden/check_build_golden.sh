#!/usr/bin/env bash
# Golden test at the build boundary: `polc build` of an example, compared file
# by file with tests/golden/build/<example>/ (tables, ipcache, identities,
# generated C, the printed report). Objects and the manifest are left out on
# purpose: their bytes follow the clang version, and behaviour is tested with
# packets instead. The output names each program's C and each table by its
# digest; the golden names it by the first endpoint that uses it
# (sources/<endpoint>.c, tables/<endpoint>.<direction>.json, in the
# manifest's node and endpoint order), so that a change reads as a diff of
# that file, not as one file deleted and another added.
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
(cd "$work/out" && find . -type f -name '*.json' ! -name manifest.json ! -path './tables/*' |
  sed 's|^\./||' | sort) > "$work/files"
while read -r file; do
  mkdir -p "$(dirname "$work/actual/$file")"
  cp "$work/out/$file" "$work/actual/$file"
done < "$work/files"
# copy_by_user DIR EXT: copies each file of $work/DIR (listed in $work/DIR as
# "path user") to $work/actual/DIR/<user>EXT, once the list is checked to
# name every file of the directory.
copy_by_user() {
  local dir=$1 ext=$2 file user
  if [ "$(wc -l < "$work/$dir")" != "$(find "$work/out/$dir" -name "*$ext" 2> /dev/null | wc -l)" ]; then
    echo "$dir/ and the manifest's endpoints disagree; the endpoints' $dir:"
    cat "$work/$dir"
    exit 1
  fi
  mkdir -p "$work/actual/$dir"
  while read -r file user; do
    cp "$work/out/$file" "$work/actual/$dir/$user$ext"
  done < "$work/$dir"
  rmdir --ignore-fail-on-non-empty "$work/actual/$dir"
}
# Each source with the first endpoint whose "source" it is ("" without a
# program). manifest.json is indented with sorted keys: an endpoint's "name"
# precedes its "source" at the same indentation (a program's "name" is
# deeper, a node's shallower).
awk '
  { indent = match($0, /[^ ]/) }
  /^ *"name": "/ { value = $0; sub(/^ *"name": "/, "", value); sub(/".*/, "", value)
                   name[indent] = value }
  /^ *"source": "/ { value = $0; sub(/^ *"source": "/, "", value); sub(/".*/, "", value)
                     if (value != "" && !(value in seen)) {
                       seen[value] = 1; print value, name[indent] } }
' "$work/out/manifest.json" > "$work/sources"
copy_by_user sources .c
# Each table with the first endpoint and direction whose table it is: the
# "ingress"/"egress" lines of an endpoint's "tables" sit one level below
# its "name".
awk '
  { indent = match($0, /[^ ]/) }
  /^ *"name": "/ { value = $0; sub(/^ *"name": "/, "", value); sub(/".*/, "", value)
                   name[indent] = value }
  /^ *"(ingress|egress)": "tables\// { direction = $0; sub(/^ *"/, "", direction); sub(/".*/, "", direction)
                     value = $0; sub(/^ *"[a-z]*": "/, "", value); sub(/".*/, "", value)
                     if (!(value in seen)) { seen[value] = 1; print value, name[indent - 2] "." direction } }
' "$work/out/manifest.json" > "$work/tables"
copy_by_user tables .json
cp "$work/report.txt" "$work/actual/report.txt"

golden_check "$golden" "$work/actual" "build/$example" "golden.build.$example"
exit $?
