#!/usr/bin/env bash
# Hostile inputs through the real CLI: each case must end, promptly, in a
# clear diagnostic and exit 1, never a hang, a crash (exit 134) or a file
# left behind (docs/cli.md, "Limits").
#
# usage: inputs.sh POLC JSON_QUERY SOURCE_DIR CASE
set -uo pipefail
polc=$1 json_query=$2 source_dir=$3 case=$4
examples=$source_dir/examples/policies

# shellcheck source=cli_case.sh
source "$source_dir/tests/cli/cli_case.sh"

case $case in
include_dev_zero)
  # The include's own place, not the including file's start.
  printf '// a device as an include\n\n  include "/dev/zero"\n' > policy.pol
  run "$polc" check policy.pol --topology "$examples/shop.yaml"
  expect_status 1
  expect_stderr "policy.pol:3:3: error: cannot read included file '/dev/zero': it is a character device, not a regular file [include-missing]"
  run "$polc" check policy.pol --topology "$examples/shop.yaml" --format json
  expect_status 1
  expect_json /ok false
  expect_json /diagnostics/0/name include-missing
  expect_json /diagnostics/0/file policy.pol
  expect_json /diagnostics/0/line 3
  expect_json /diagnostics/0/column 3
  ;;
include_fifo)
  # Blocked forever in open() before readFile refused FIFOs.
  mkfifo included.pol
  printf 'include "included.pol"\n' > policy.pol
  run "$polc" check policy.pol --topology "$examples/shop.yaml"
  expect_status 1
  expect_stderr "policy.pol:1:1: error: cannot read included file 'included.pol': it is a FIFO, not a regular file [include-missing]"
  ;;
topology_dev_zero)
  run "$polc" check "$examples/shop.pol" --topology /dev/zero
  expect_status 1
  expect_stderr "it is a character device, not a regular file [io]"
  run "$polc" check "$examples/shop.pol" --topology /dev/zero --format json
  expect_status 1
  expect_json /ok false
  expect_json /diagnostics/0/name io
  run "$polc" build "$examples/shop.pol" --topology /dev/zero -o out-dir
  expect_status 1
  [ -e out-dir ] && fail "build wrote out-dir"
  ;;
topology_fifo)
  mkfifo topology.yaml
  run "$polc" check "$examples/shop.pol" --topology topology.yaml
  expect_status 1
  expect_stderr "it is a FIFO, not a regular file [io]"
  ;;
policy_dev_urandom)
  run "$polc" check /dev/urandom --topology "$examples/shop.yaml"
  expect_status 1
  expect_stderr "it is a character device, not a regular file [io]"
  run "$polc" check /dev/urandom --topology "$examples/shop.yaml" --format json
  expect_status 1
  expect_json /diagnostics/0/name io
  run "$polc" fmt /dev/urandom
  expect_status 1
  expect_stderr "polc fmt: cannot read /dev/urandom: it is a character device, not a regular file"
  ;;
policy_too_large)
  # Sparse: refused from its size, without reading 129 MiB.
  truncate -s 129M policy.pol
  run "$polc" check policy.pol --topology "$examples/shop.yaml"
  expect_status 1
  expect_stderr "larger than the limit of 128 MiB for a file polc reads [io]"
  printf 'include "policy.pol"\n' > including.pol
  run "$polc" check including.pol --topology "$examples/shop.yaml"
  expect_status 1
  expect_stderr "including.pol:1:1: error: cannot read included file 'policy.pol': larger than the limit of 128 MiB for a file polc reads [include-missing]"
  ;;
topology_not_utf8)
  # Passed `check` (exit 0), then aborted `check --format json` and `build` in
  # nlohmann::json (exit 134), leaving .polc-staging-* behind.
  sed 's/labels: { app: debug }/labels: { app: debug, owner: "ops\xff" }/' \
    "$examples/shop.yaml" > topology.yaml
  run "$polc" check "$examples/shop.pol" --topology topology.yaml
  expect_status 1
  expect_stderr "topology.yaml:21:42: error: the topology is not UTF-8 text: unexpected byte 0xff [encoding]"
  run "$polc" check "$examples/shop.pol" --topology topology.yaml --format json
  expect_status 1
  expect_json /ok false
  expect_json /diagnostics/0/name encoding
  expect_json /diagnostics/0/line 21
  expect_json /diagnostics/0/column 42
  run "$polc" build "$examples/shop.pol" --topology topology.yaml -o build-out --no-cache
  expect_status 1
  expect_stderr "topology.yaml:21:42: error: the topology is not UTF-8 text"
  run "$polc" build "$examples/shop.pol" --topology topology.yaml -o build-out --no-cache --format json
  expect_status 1
  expect_json /diagnostics/0/name encoding
  leftovers=$(find . -maxdepth 1 \( -name ".polc-*" -o -name build-out \))
  [ -z "$leftovers" ] || fail "left behind: $leftovers"
  ;;
policy_not_utf8)
  # A byte that is not UTF-8 in a string literal, then in a comment: an
  # error at its line and column (in characters), not an exception from
  # ANTLR's conversion to UTF-32.
  printf 'policy "web" {\n  select app == "caf\xc3\xa9\xff"\n}\n' > string.pol
  run "$polc" check string.pol --topology "$examples/shop.yaml"
  expect_status 1
  expect_stderr "string.pol:2:22: error: the file is not valid UTF-8: unexpected byte 0xff [encoding]"
  # The excerpt shows the byte as \xff (the é stays): no byte that is not
  # UTF-8 reaches the terminal.
  expect_stderr ' 2 |   select app == "café\xff"'
  LC_ALL=C grep -q $'\xff' stderr.txt && fail "the raw byte 0xff reached stderr"
  run "$polc" check string.pol --topology "$examples/shop.yaml" --format json
  expect_status 1
  expect_json /diagnostics/0/column 22
  printf '// owner: caf\xc3\xa9 \xfe\npolicy "web" {\n  select app == "web"\n}\n' > comment.pol
  run "$polc" check comment.pol --topology "$examples/shop.yaml"
  expect_status 1
  expect_stderr "comment.pol:1:16: error: the file is not valid UTF-8: unexpected byte 0xfe [encoding]"
  run "$polc" fmt comment.pol
  expect_status 1
  expect_stderr "comment.pol:1:16: error: the file is not valid UTF-8"
  ;;
path_not_utf8)
  # A file name that is not UTF-8 reaches JSON (diagnostics, the manifest's
  # inputs, rule locations): it aborted nlohmann::json::dump (exit 134),
  # leaving .polc-staging-* behind. Its bad bytes now print as U+FFFD.
  policy=$'p\xff.pol'
  cp "$examples/shop.pol" "$policy"
  printf 'let x = nope\n' > $'bad\xfe.pol'
  run "$polc" check $'bad\xfe.pol' --topology "$examples/shop.yaml" --format json
  expect_status 1
  expect_json /diagnostics/0/file $'bad\xef\xbf\xbd.pol'
  run "$polc" build "$policy" --topology "$examples/shop.yaml" -o build-out --no-cache -q
  expect_status 0
  "$json_query" "/inputs/p"$'\xef\xbf\xbd'".pol" < build-out/manifest.json > /dev/null ||
    fail "manifest.json is not valid JSON with the input p<U+FFFD>.pol"
  "$json_query" /rules/0/location < build-out/rules.json > /dev/null ||
    fail "rules.json is not valid JSON"
  run "$polc" build "$policy" --topology "$examples/shop.yaml" -o build-out --no-cache --format json
  expect_status 0
  expect_json /ok true
  run "$polc" explain "$policy" --topology "$examples/shop.yaml" --from frontend-1 --to web-1 \
    --proto tcp --port 80 --format json
  expect_status 0
  expect_json /allowed true
  run "$polc" explain "$policy" --topology "$examples/shop.yaml" --from $'web\xff' --to web-1 \
    --proto tcp --port 80 --format json
  expect_status 1
  expect_json /ok false
  run "$polc" diff "$policy" "$examples/shop.pol" --topology "$examples/shop.yaml" --format json
  expect_status 0
  expect_json /ok true
  leftovers=$(find . -maxdepth 1 -name ".polc-*")
  [ -z "$leftovers" ] || fail "left behind: $leftovers"
  ;;
control_characters)
  # An escape sequence and a NUL in a policy reach the terminal only as
  # \xHH, in the excerpt and in the message that quotes them.
  printf 'policy "a" {\n  \033[31m allow\000\n}\n' > controls.pol
  run "$polc" check controls.pol --topology "$examples/shop.yaml"
  expect_status 1
  expect_stderr ' 2 |   \x1b[31m allow\x00'
  LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' stderr.txt && fail "a control character in stderr"
  tr -d '\n\t' < stderr.txt | tr -d '[:print:]' | grep -q . && fail "a byte that is not printable in stderr"
  ;;
stale_temporaries)
  # What builds killed mid-way left beside the output goes with the next
  # build; what may belong to a running build stays.
  dead=$(($(cat /proc/sys/kernel/pid_max) + 1)) # no process has this pid
  mkdir -p ".polc-staging-build-out-$dead/objects" ".polc-previous-build-out-$dead/nodes" \
    ".polc-staging-build-out-$$" ".polc-staging-other-$dead" ".polc-staging-build-out-${dead}x" \
    ".polc-staging-build-out-$((dead + 1))"
  # A dead pid whose lock is held (here by this shell): a build in another
  # pid namespace.
  exec {lock}< ".polc-staging-build-out-$((dead + 1))"
  flock -n "$lock" || fail "cannot lock"
  run "$polc" build "$examples/shop.pol" --topology "$examples/shop.yaml" -o build-out --no-cache -q
  expect_status 0
  exec {lock}<&-
  for gone in ".polc-staging-build-out-$dead" ".polc-previous-build-out-$dead"; do
    [ -e "$gone" ] && fail "$gone was not removed"
  done
  for kept in ".polc-staging-build-out-$$" ".polc-staging-other-$dead" \
    ".polc-staging-build-out-${dead}x" ".polc-staging-build-out-$((dead + 1))"; do
    [ -d "$kept" ] || fail "$kept was removed"
  done
  [ -f build-out/manifest.json ] || fail "no build-out/manifest.json"
  ;;
*)
  echo "unknown case $case"
  exit 2
  ;;
esac

finish "cli.inputs.$case"
