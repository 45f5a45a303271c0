#!/usr/bin/env bash
# `polc monitor`'s flags through the real CLI, without a kernel: a bad flag
# is a usage error (exit 2) before anything is read; nothing loaded is
# exit 3. What it streams is tested with traffic in tests/e2e.
#
# usage: monitor.sh POLC JSON_QUERY SOURCE_DIR CASE
set -uo pipefail
polc=$1 json_query=$2 source_dir=$3 case=$4

# shellcheck source=cli_case.sh
source "$source_dir/tests/cli/cli_case.sh"

# A state directory of this run, empty: nothing is loaded there.
placement=(--state-dir "$work/state" --pin-root "$work/pins")

case "$case" in
usage)
  run "$polc" monitor --help
  expect_status 0
  expect_stdout "--from"
  expect_stdout "labels k=v[,k=v]"
  run "$polc" monitor "${placement[@]}" --from 10.0.0.1/8
  expect_status 2
  expect_stderr '--from "10.0.0.1/8"'
  expect_stderr "10.0.0.0/8"
  run "$polc" monitor "${placement[@]}" --to =web
  expect_status 2
  expect_stderr "labels are key=value"
  run "$polc" monitor "${placement[@]}" --to 10.0.1
  expect_status 2
  run "$polc" monitor "${placement[@]}" --verdict maybe
  expect_status 2
  expect_stderr "polc monitor: --verdict: invalid value 'maybe'; expected allowed|denied|audit"
  run "$polc" monitor "${placement[@]}" --set-level loud
  expect_status 2
  expect_stderr "polc monitor: --set-level: invalid value 'loud'; expected off|drops|flows|all|default"
  run "$polc" monitor "${placement[@]}" --from world --format json
  expect_status 3
  expect_json /ok false
  ;;
*)
  echo "unknown case $case"
  exit 2
  ;;
esac
finish "monitor.$case"
