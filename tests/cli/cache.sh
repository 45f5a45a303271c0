#!/usr/bin/env bash
# The compile cache through the real CLI (docs/cli.md, "polc cache"): stats
# and gc on a cache that a real build filled, JSON output, a build that
# keeps its --cache-max, clear, and sizes that are usage errors. Every cache
# is below the case's scratch directory, the default one too ($HOME and
# $XDG_CACHE_HOME point there): never the real ~/.cache.
#
# usage: cache.sh POLC JSON_QUERY SOURCE_DIR CASE
set -uo pipefail
polc=$1 json_query=$2 source_dir=$3 case=$4
examples=$source_dir/examples/policies

run_timeout=60 # a case builds
# shellcheck source=cli_case.sh
source "$source_dir/tests/cli/cli_case.sh"
export HOME=$work/home XDG_CACHE_HOME=$work/xdg

# build [OPTION...]: shop.pol into out/, JSON report in stdout.txt.
build() {
  run "$polc" build "$examples/shop.pol" --topology "$examples/shop.yaml" -o out --format json "$@"
  expect_status 0
}

# json POINTER: the value at POINTER in stdout.txt.
json() {
  "$json_query" "$1" < stdout.txt
}

case $case in
stats)
  run "$polc" cache stats --cache-dir cache
  expect_status 0 # a cache not yet made is empty
  expect_stdout "entries     0"
  build --cache-dir cache
  expect_json /objects_compiled 2
  run "$polc" cache stats --cache-dir cache
  expect_status 0
  expect_stdout "polc cache: cache"
  expect_stdout "entries     2"
  grep -qE '^  oldest use  [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' stdout.txt || fail "no oldest use"
  run "$polc" cache stats --cache-dir cache --format json
  expect_status 0
  expect_json /ok true
  expect_json /dir cache
  expect_json /entries 2
  bytes=$(json /bytes)
  [ "$bytes" -gt 0 ] || fail "bytes is $bytes"
  [ "$(find cache/objects -name '*.o' -printf '%s\n' | awk '{ n += $1 } END { print n }')" = "$bytes" ] ||
    fail "bytes is not the entries' size"
  [ -n "$(json /newest_use)" ] || fail "no newest_use"
  # A rebuild takes both from the cache and evicts nothing.
  build --cache-dir cache
  expect_json /objects_cached 2
  expect_json /cache_evicted 0
  ;;
gc)
  build --cache-dir cache
  run "$polc" cache stats --cache-dir cache --format json
  bytes=$(json /bytes)
  # Make one entry the least recently used, with a file that is not an
  # entry beside it (a temporary of a build at work): gc keeps that one.
  oldest=$(find cache/objects -name '*.o' | sort | head -1)
  touch -d '2 days ago' "$oldest"
  echo partial > "$oldest.tmp.99999.0"
  run "$polc" cache gc --cache-dir cache --max $((bytes - 1)) --format json
  expect_status 0
  expect_json /ok true
  expect_json /removed 1
  expect_json /entries 1
  expect_json /max_bytes $((bytes - 1))
  [ -e "$oldest" ] && fail "gc kept the least recently used entry"
  [ -e "$oldest.tmp.99999.0" ] || fail "gc removed a temporary"
  # Under the bound: nothing to do, in text too.
  run "$polc" cache gc --cache-dir cache
  expect_status 0
  expect_stdout "polc cache gc: removed 0 entries (0 B) from cache; 1 entry ("
  expect_stdout "left, bound 1 GiB"
  run "$polc" cache gc --cache-dir cache --max unlimited --format json
  expect_status 0
  expect_json /max_bytes null
  expect_json /removed 0
  ;;
bound)
  # A build that stores objects evicts down to --cache-max: with 1 byte,
  # even what it just stored (it has the bytes already).
  build --cache-dir cache --cache-max 1
  expect_json /objects_compiled 2
  expect_json /cache_evicted 2
  run "$polc" cache stats --cache-dir cache --format json
  expect_json /entries 0
  run "$polc" build "$examples/shop.pol" --topology "$examples/shop.yaml" -o out -q \
    --cache-dir cache --cache-max 1
  expect_status 0
  expect_stdout "(2 compiled, 0 from the cache)"
  expect_stdout "; evicted 2 cache entries used least recently (--cache-max)"
  build --cache-dir cache --cache-max 100M
  expect_json /cache_evicted 0
  build --cache-dir cache --cache-max 100M
  expect_json /objects_cached 2
  ;;
clear)
  build # the default cache: $XDG_CACHE_HOME/polc
  [ "$(find "$XDG_CACHE_HOME/polc/objects" -name '*.o' | wc -l)" -eq 2 ] ||
    fail "the build did not fill \$XDG_CACHE_HOME/polc"
  run "$polc" cache stats --format json
  expect_json /dir "$XDG_CACHE_HOME/polc"
  expect_json /entries 2
  run "$polc" cache clear --format json
  expect_status 0
  expect_json /removed 2
  expect_json /entries 0
  run "$polc" cache clear
  expect_status 0
  expect_stdout "polc cache clear: removed 0 entries (0 B) from $XDG_CACHE_HOME/polc"
  # Neither variable set: there is no default to name.
  run env -u HOME -u XDG_CACHE_HOME "$polc" cache stats
  expect_status 2
  expect_stderr "polc cache stats: no cache directory: neither XDG_CACHE_HOME nor HOME is set; give --cache-dir"
  ;;
usage)
  run "$polc" cache --help
  expect_status 0
  expect_stdout "Remove every entry of the compile cache"
  run "$polc" cache gc --help
  expect_status 0
  expect_stdout "--max SIZE"
  for command in stats clear; do
    run "$polc" cache "$command" --help
    expect_status 0
    expect_stdout "--cache-dir"
  done
  run "$polc" cache
  expect_status 2
  run "$polc" cache gc --cache-dir cache --max 0
  expect_status 2
  expect_stderr "--max: invalid size '0': a bound of 0 would keep nothing; for no bound say 'unlimited'"
  run "$polc" cache gc --cache-dir cache --max 1.5G --format json
  expect_status 2
  expect_stderr "--max: invalid size '1.5G': expected a whole number of bytes, optionally with a unit K, M, G or T"
  run "$polc" build "$examples/shop.pol" --topology "$examples/shop.yaml" -o out --cache-max lots
  expect_status 2
  expect_stderr "--cache-max: invalid size 'lots'"
  run "$polc" build "$examples/shop.pol" --topology "$examples/shop.yaml" -o out --no-cache \
    --cache-max 1G
  expect_status 2
  expect_stderr "--no-cache excludes --cache-max"
  [ -e out ] && fail "a usage error built out/"
  [ -e "$XDG_CACHE_HOME" ] && fail "a usage error made a cache"
  ;;
*)
  echo "unknown case $case"
  exit 2
  ;;
esac

finish "cli.cache.$case"
