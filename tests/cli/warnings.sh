#!/usr/bin/env bash
# The diagnostic catalogue and -W through the real CLI (docs/cli.md,
# "Diagnostics"): --list-diagnostics, a warning made an error (the exit code
# follows), suppressed, re-enabled; an unknown name or an error named with
# no- is a usage error; --strict; every command that compiles takes -W.
#
# usage: warnings.sh POLC JSON_QUERY SOURCE_DIR CASE
set -uo pipefail
polc=$1 json_query=$2 source_dir=$3 case=$4
golden=$source_dir/tests/golden/diagnostics
examples=$source_dir/examples/policies
# Four warnings, no error: two empty-selector, two unknown-label-value.
policy=$golden/empty_selectors.pol
topology=$golden/topology.yaml

run_timeout=60 # a case may build
# shellcheck source=cli_case.sh
source "$source_dir/tests/cli/cli_case.sh"

case $case in
list)
  run "$polc" check --list-diagnostics
  expect_status 0
  expect_stdout "shadowed-rule"
  expect_stdout "unknown-let"
  grep -qE '^empty-selector +warning +a selector matches no endpoint' stdout.txt ||
    fail "no empty-selector line"
  run "$polc" check --list-diagnostics --format json
  expect_status 0
  expect_json /0/name io
  expect_json /0/severity error
  [ -n "$("$json_query" /0/description < stdout.txt)" ] || fail "no description"
  ;;
error)
  run "$polc" check "$policy" --topology "$topology"
  expect_status 0
  expect_stderr "0 error(s), 4 warning(s)"
  expect_stdout "empty_selectors.pol: ok, 4 warnings ("
  # --strict: every warning an error, for CI.
  run "$polc" check "$policy" --topology "$topology" --strict
  expect_status 1
  expect_stderr "error: no endpoint of the topology has app=\"nothing\" [unknown-label-value]"
  run "$polc" check "$policy" --topology "$topology" -W error=empty-selector
  expect_status 1
  expect_stderr "error: the default deny selector 'app == \"nothing\"' matches no endpoint of the topology [empty-selector]"
  expect_stderr "2 error(s), 2 warning(s)"
  run "$polc" check "$policy" --topology "$topology" -Werror --format json
  expect_status 1
  expect_json /ok false
  expect_json /diagnostics/0/severity error
  # A later flag for the name wins over -W error.
  run "$polc" check "$policy" --topology "$topology" -W error -W unknown-label-value
  expect_status 1
  expect_stderr "2 error(s), 2 warning(s)"
  run "$polc" build "$policy" --topology "$topology" -o out -W error=unknown-label-value
  expect_status 1
  [ -e out ] && fail "a failed build wrote out/"
  ;;
suppress)
  run "$polc" check "$policy" --topology "$topology" -W no-unknown-label-value
  expect_status 0
  expect_stderr "0 error(s), 2 warning(s)"
  expect_no_stderr "[unknown-label-value]"
  run "$polc" check "$policy" --topology "$topology" -W no-unknown-label-value -W no-empty-selector
  expect_status 0
  expect_no_stderr "warning"
  # NAME after no-NAME: reported again.
  run "$polc" check "$policy" --topology "$topology" -W no-empty-selector -W empty-selector
  expect_stderr "0 error(s), 4 warning(s)"
  ;;
usage)
  run "$polc" check "$policy" --topology "$topology" -W error=empty-selectr
  expect_status 2
  expect_stderr "unknown diagnostic 'empty-selectr'; did you mean 'empty-selector'?"
  run "$polc" check "$policy" --topology "$topology" -W no-unknown-let
  expect_status 2
  expect_stderr "'unknown-let' is an error, which cannot be suppressed; only warnings can"
  ;;
commands)
  # Every command that compiles takes -W (an unknown name proves it is read).
  run "$polc" build "$policy" --topology "$topology" -o out -W bogus-name
  expect_status 2
  expect_stderr "unknown diagnostic 'bogus-name'"
  run "$polc" explain "$examples/shop.pol" --topology "$examples/shop.yaml" --from web-1 \
    --to db-1 --protocol tcp --port 5432 -W bogus-name
  expect_status 2
  expect_stderr "unknown diagnostic 'bogus-name'"
  run "$polc" diff "$policy" "$policy" --topology "$topology" -W bogus-name
  expect_status 2
  expect_stderr "unknown diagnostic 'bogus-name'"
  run "$polc" test "$examples/shop.poltest" -W bogus-name
  expect_status 2
  expect_stderr "unknown diagnostic 'bogus-name'"
  run "$polc" graph "$policy" --topology "$topology" -W bogus-name
  expect_status 2
  expect_stderr "unknown diagnostic 'bogus-name'"
  run "$polc" graph "$policy" --topology "$topology" -W error=empty-selector
  expect_status 1
  expect_stderr "polc graph: the policy has errors"
  # And applies it: a warning made an error is trouble for diff.
  run "$polc" diff "$policy" "$policy" --topology "$topology" -W error=empty-selector
  expect_status 2
  expect_stderr "error: the default deny selector"
  run "$polc" diff "$policy" "$policy" --topology "$topology" -W no-empty-selector
  expect_status 0
  expect_no_stderr "[empty-selector]"
  ;;
*)
  echo "unknown case $case"
  exit 2
  ;;
esac

finish "cli.warnings.$case"
