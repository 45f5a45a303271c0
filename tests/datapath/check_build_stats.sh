#!/usr/bin/env bash
# `polc build --stats` asks the verifier about every program: as root each
# program of the example reports its instructions processed (text and
# JSON); as an unprivileged user the section says n/a with the reason and
# the build still succeeds. Exit 77 when not root.
#
# usage: check_build_stats.sh POLC SOURCE_DIR EXAMPLE
set -uo pipefail
polc=$1 source_dir=$2 example=$3
fail() { echo "FAIL: $*"; exit 1; }
if [ "$(id -u)" != 0 ]; then
  echo "skip: not root"
  [ "${POLC_REQUIRE_KERNEL:-0}" = 1 ] && fail "POLC_REQUIRE_KERNEL=1 but not root"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$source_dir"
inputs=(build "examples/policies/$example.pol" --topology "examples/policies/$example.yaml" --no-cache --stats)

"$polc" "${inputs[@]}" -q -o "$work/text" > "$work/text.txt" 2>&1 || { cat "$work/text.txt"; fail "text build"; }
grep -q "^Verifier (instructions processed per program, kernel limit 1000000):" "$work/text.txt" ||
  { cat "$work/text.txt"; fail "no verifier section"; }
programs=$(grep -cE '^  objects/[0-9a-f]{64}\.o polc_(from|to)_ep: [1-9][0-9]* processed' "$work/text.txt")
[ "$programs" -gt 0 ] || { cat "$work/text.txt"; fail "no program reported"; }

"$polc" "${inputs[@]}" --format json -o "$work/json" > "$work/json.txt" 2>&1 || { cat "$work/json.txt"; fail "json build"; }
grep -q '"available": true' "$work/json.txt" || { cat "$work/json.txt"; fail "json: not available"; }
json_programs=$(grep -c '"processed_instructions": [1-9]' "$work/json.txt")
[ "$json_programs" = "$programs" ] || fail "json lists $json_programs programs, text $programs"

# Unprivileged: n/a with the reason, and still a successful build.
chmod 777 "$work"
setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$work" \
  "$polc" "${inputs[@]}" -q -o "$work/unprivileged" > "$work/nobody.txt" 2>&1 ||
  { cat "$work/nobody.txt"; fail "unprivileged build failed"; }
grep -q "^  n/a: not running as root" "$work/nobody.txt" || { cat "$work/nobody.txt"; fail "no n/a reason"; }
echo "build --stats/$example: $programs program(s) verified; n/a without root"
