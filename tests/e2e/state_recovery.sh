#!/usr/bin/env bash
# What polc records lets it undo everything, whatever happened to a load:
# a load killed with kill -9 after it attached (first load, or a reload
# that attaches hooks the previous revision does not use): unload, and a
# later load of another revision, remove every filter and qdisc it made.
# No traffic: every check looks at the tc hooks, pins and state files.
#
# usage: state_recovery.sh POLC NETPROBE SOURCE_DIR
# Exit 77 (skipped) without root or BPF, unless POLC_REQUIRE_KERNEL=1.
set -uo pipefail

polc=$1 netprobe=$2 source_dir=$3
topology=$source_dir/examples/policies/shop.yaml

. "$source_dir/tests/e2e/e2e_lib.sh"
e2e_setup
node_ns="$prefix-n-node-1"
placement=(--lab "$prefix" --pin-root "$pin_root" --state-dir "$state_dir")
stored=(--pin-root "$pin_root" --state-dir "$state_dir")
status_rc() { # status_rc EXPECTED ARGS...: polc status exits with EXPECTED
  local expected=$1
  shift
  "$polc" status "$@" > "$work/status.log" 2>&1
  [ $? -eq "$expected" ]
}

echo "# lab $prefix"
must "$polc" lab up "$topology" --prefix "$prefix" > "$work/lab.log"
must "$polc" build "$source_dir/examples/policies/shop.pol" --topology "$topology" -o "$work/v1" --quiet
must "$polc" build "$source_dir/tests/e2e/reload/shop-v2.pol" --topology "$topology" -o "$work/v2" --quiet

for step in attach commit; do
  echo "# a first load killed at $step: status sees its hooks, unload removes them"
  killed_at "$step" "$work/v1" "${placement[@]}"
  check "the killed load left filters (a real test)" 0 bash -c \
    "tc -n $node_ns filter show dev pw-db1 ingress | grep -q polc_from_ep"
  check "status after the kill at $step exits 1" 0 status_rc 1 "${stored[@]}"
  check "status names the hooks the killed load attached" 0 \
    grep -q "polc's filter on pw-db1 tc-ingress" "$work/status.log"
  must "$polc" unload "${stored[@]}" > "$work/unload.log"
  check "unload detached the killed load's filters" 1 grep -q " 0 program(s) detached" "$work/unload.log"
  check_nothing_left "unload after the kill at $step" "$node_ns"
  check "status: nothing loaded" 0 status_rc 0 "${stored[@]}"
done

echo "# v2 (adds debug-1) killed at detach-stale and at commit over v1; v1 again removes debug-1's hooks"
must "$polc" load "$work/v1" "${placement[@]}" > /dev/null
for step in detach-stale commit; do
  killed_at "$step" "$work/v2" "${placement[@]}"
  check "v2 attached on pw-debug1 before the kill at $step" 0 bash -c \
    "tc -n $node_ns filter show dev pw-debug1 ingress | grep -q polc_from_ep"
  must "$polc" load "$work/v1" "${placement[@]}" > /dev/null
  check "v1 after the kill at $step: no filter on pw-debug1" 1 bash -c \
    "tc -n $node_ns filter show dev pw-debug1 ingress | grep -q . ||
     tc -n $node_ns filter show dev pw-debug1 egress | grep -q ."
  check "v1 after the kill at $step: no qdisc on pw-debug1" 1 bash -c \
    "tc -n $node_ns qdisc show dev pw-debug1 | grep -q clsact"
  check "v1 after the kill at $step: in sync" 0 status_rc 0 "${stored[@]}"
done
echo "# unload right after a killed reload"
killed_at commit "$work/v2" "${placement[@]}"
must "$polc" unload "${stored[@]}" > /dev/null
check_nothing_left "unload after a killed reload" "$node_ns"

e2e_teardown
