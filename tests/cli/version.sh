#!/usr/bin/env bash
# `polc --version` of the build tree's polc (docs/cli.md): the release, the
# commit of the source tree, what it was built with and compiles with. The
# installed polc's is checked by tests/package.
#
# usage: version.sh POLC JSON_QUERY SOURCE_DIR CASE
set -uo pipefail
polc=$1 source_dir=$3 case=$4

# shellcheck source=cli_case.sh
source "$source_dir/tests/cli/cli_case.sh"

case $case in
build_tree)
  run "$polc" --version
  expect_status 0
  [ "$(wc -l < stdout.txt)" -eq 4 ] || fail "not 4 lines"
  grep -qE '^polc [0-9]+\.[0-9]+\.[0-9]+$' stdout.txt || fail "no 'polc VERSION' line"
  if commit=$(git -C "$source_dir" rev-parse --short=12 HEAD 2> /dev/null); then
    # As of the last configure, which runs again when HEAD moves.
    grep -qE "^commit: $commit(-dirty)?$" stdout.txt || fail "commit is not $commit"
  else
    expect_stdout "commit: unknown"
  fi
  grep -qE '^built with: .*clang.* \(/.*\), libbpf [0-9]+\.[0-9]+$' stdout.txt ||
    fail "no 'built with: CLANG (PATH), libbpf X.Y' line"
  grep -qE "^compiles with: /.*, libbpf's BPF headers from the system$" stdout.txt ||
    fail "no 'compiles with: CLANG, ... from the system' line"
  ;;
*)
  echo "unknown case $case"
  exit 2
  ;;
esac

finish "cli.version.$case"
