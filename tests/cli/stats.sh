#!/usr/bin/env bash
# `polc build --stats` through the real CLI (docs/cli.md, "--stats"): where
# the build's time went, per pass and build step, as text and as JSON.
#
# usage: stats.sh POLC JSON_QUERY SOURCE_DIR CASE
set -uo pipefail
polc=$1 json_query=$2 source_dir=$3 case=$4
examples=$source_dir/examples/policies

run_timeout=120 # builds, and asks the verifier
# shellcheck source=cli_case.sh
source "$source_dir/tests/cli/cli_case.sh"

build=(build "$examples/shop.pol" --topology "$examples/shop.yaml" --no-cache -o out --stats)
case $case in
times)
  run "$polc" "${build[@]}"
  expect_status 0
  expect_stdout "Time per stage:"
  for stage in parse lower-to-ir build-tables plan-programs compile-objects commit total; do
    grep -qE "^  $stage +[0-9]+\.[0-9] ms +[0-9]+\.[0-9]%$" stdout.txt || fail "no time line for $stage"
  done
  run "$polc" "${build[@]}" --format json
  expect_status 0
  expect_json /stats/times/0/stage parse
  expect_json /stats/times/8/stage build-service-table
  expect_json /stats/times/9/stage prepare
  value=$("$json_query" /stats/times/9/ms < stdout.txt) || fail "no /stats/times/9/ms"
  [[ "$value" =~ ^[0-9.e+-]+$ ]] || fail "/stats/times/9/ms is '$value', not a number"
  ;;
*)
  echo "unknown case $case"
  exit 2
  ;;
esac

finish "cli.stats.$case"
