#!/usr/bin/env bash
# The command line's own errors said as polc says them (docs/cli.md, "One
# convention for options"): one line "polc COMMAND: MESSAGE" that names the
# option and what it takes, a did-you-mean for a typo, the documented exit
# code, and never CLI11's own words; --format everywhere, -o json still
# working with a deprecation note.
#
# usage: usage.sh POLC JSON_QUERY SOURCE_DIR CASE
set -uo pipefail
polc=$1 json_query=$2 source_dir=$3 case=$4
examples=$source_dir/examples/policies
inputs=("$examples/shop.pol" --topology "$examples/shop.yaml")

run_timeout=60 # a case may build
# shellcheck source=cli_case.sh
source "$source_dir/tests/cli/cli_case.sh"

# Nothing CLI11 says on its own reaches the user.
expect_no_cli11() {
  local leak
  for leak in "value in {" "Could not convert" "not in range" "File does not exist" \
    "A subcommand" "not expected" "FAILED" "Directory does not exist"; do
    expect_no_stderr "$leak"
  done
}

# expect_line TEXT: stderr is exactly this one line.
expect_line() {
  [ "$(cat stderr.txt)" = "$1" ] || fail "stderr is not the one line: $1"
  expect_no_cli11
}

case $case in
commands)
  run "$polc" chek shop.pol
  expect_status 2
  expect_line "polc: unknown command 'chek'; did you mean 'check'?"
  run "$polc" cache sats
  expect_status 2
  expect_line "polc cache: unknown command 'sats'; did you mean 'stats'?"
  run "$polc" frobnicate
  expect_status 2
  expect_stderr "polc: unknown command 'frobnicate'; the commands are: check, build"
  run "$polc"
  expect_status 2
  expect_stderr "polc: a command is required: check, build"
  run "$polc" lab
  expect_status 2
  expect_line "polc lab: a subcommand is required: up, down; see 'polc lab --help'"
  ;;
options)
  run "$polc" check "${inputs[@]}" --format yaml
  expect_status 2
  expect_line "polc check: --format: invalid value 'yaml'; expected text|json"
  run "$polc" check "${inputs[@]}" -o yaml
  expect_status 2
  expect_line "polc check: -o: invalid value 'yaml'; expected text|json"
  run "$polc" build "${inputs[@]}" -j 0
  expect_status 2
  expect_line "polc build: --jobs: invalid value '0'; expected a number above 0"
  run "$polc" build "${inputs[@]}" --inline-max -1
  expect_status 2
  expect_line "polc build: --inline-max: invalid value '-1'; expected a whole number of 0 or more"
  run "$polc" check "${inputs[@]}" --frmat json
  expect_status 2
  expect_line "polc check: unknown option '--frmat'; did you mean '--format'?"
  run "$polc" check "${inputs[@]}" extra.pol
  expect_status 2
  expect_line "polc check: unexpected argument 'extra.pol'; see 'polc check --help'"
  run "$polc" check "$examples/shop.pol" --topology
  expect_status 2
  expect_line "polc check: --topology: needs a value"
  run "$polc" explain "${inputs[@]}" --from a --to b --proto htp
  expect_status 2
  expect_line "polc explain: --proto: invalid value 'htp'; expected tcp|udp|sctp|icmp|icmpv6"
  run "$polc" explain "${inputs[@]}" --from a --to b --proto tcp --port 70000
  expect_status 2
  expect_line "polc explain: --port: invalid value '70000'; expected a number in 1..65535"
  run "$polc" stats --sort x
  expect_status 2
  expect_line "polc stats: --sort: invalid value 'x'; expected packets|bytes"
  # Help reads like a man page.
  run "$polc" check --help
  expect_status 0
  expect_stdout "--format text|json"
  grep -q "ENUM\|->" stdout.txt && fail "CLI11's enum help in check --help"
  ;;
missing_input)
  run "$polc" check nope.pol --topology "$examples/shop.yaml"
  expect_status 1
  expect_line "polc check: nope.pol: no such file"
  run "$polc" build "$examples/shop.pol" --topology nope.yaml
  expect_status 1
  expect_line "polc build: nope.yaml: no such file"
  run "$polc" load nope
  expect_status 1
  expect_line "polc load: nope: no such directory"
  mkdir mydir
  run "$polc" load mydir
  expect_status 1
  expect_stderr "polc load: mydir is not a polc build output (no manifest.json)"
  ;;
format)
  run "$polc" check "${inputs[@]}" --format json
  expect_status 0
  expect_json /ok true
  [ -s stderr.txt ] && fail "check --format json wrote to stderr"
  # The old spelling works, with a note on stderr, for one release.
  run "$polc" check "${inputs[@]}" -o json
  expect_status 0
  expect_json /ok true
  expect_line "polc check: -o json is deprecated; use --format json"
  run "$polc" cache stats --cache-dir cache --output json
  expect_status 0
  expect_json /ok true
  expect_line "polc cache stats: --output json is deprecated; use --format json"
  # A command line that asks for JSON gets JSON for its own mistakes too
  # (and the line on stderr).
  run "$polc" check "${inputs[@]}" --format=json --bogus
  expect_status 2
  expect_json /ok false
  expect_json /usage_error true
  expect_json /error/message "polc check: unknown option '--bogus'; see 'polc check --help'"
  expect_line "polc check: unknown option '--bogus'; see 'polc check --help'"
  run "$polc" chek "${inputs[@]}" --format json
  expect_status 2
  expect_json /error/message "polc: unknown command 'chek'; did you mean 'check'?"
  run "$polc" check nope.pol --topology "$examples/shop.yaml" --format json
  expect_status 1
  expect_json /error/message "polc check: nope.pol: no such file"
  [ "$("$json_query" /usage_error < stdout.txt 2> /dev/null)" = "" ] ||
    fail "a missing input is no usage error"
  ;;
build_out)
  # -o is the output directory: `-o json` is refused unless it exists.
  run "$polc" build "${inputs[@]}" -o json
  expect_status 2
  expect_line "polc build: -o json names the output directory; for JSON output use --format json (for a directory of that name: -o ./json)"
  [ -e json ] && fail "build -o json made a directory"
  # Over a directory that is not a build output: an input error.
  mkdir mine && touch mine/notes.txt
  run "$polc" build "${inputs[@]}" -o mine --no-cache
  expect_status 1
  expect_stderr "polc build: mine exists and is not a polc build output (no manifest.json)"
  [ -e mine/notes.txt ] || fail "build touched mine/"
  ;;
bundle_node)
  run "$polc" build "${inputs[@]}" -o out --no-cache -q
  expect_status 0
  run "$polc" bundle out --node node-z
  expect_status 1
  expect_stderr "polc bundle: --node node-z: out has no node 'node-z'; did you mean 'node-"
  [ -e bundles ] && fail "bundle wrote bundles/ for an unknown node"
  ;;
*)
  fail "no case $case"
  ;;
esac
finish "usage.$case"
