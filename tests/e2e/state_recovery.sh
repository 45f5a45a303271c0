#!/usr/bin/env bash
# What polc records lets it undo everything, whatever happened to a load:
# - a load killed with kill -9 after it attached (first load, or a reload
#   that attaches hooks the previous revision does not use): unload, and a
#   later load of another revision, remove every filter and qdisc it made;
# - a state dir on a full file system: the load fails before the switch,
#   leaves nothing attached, and everything works once there is space;
# - a state file that cannot be read: status says so (exit 3) and shows what
#   is attached, and `unload --force` removes it all.
# No traffic: every check looks at the tc hooks, pins and state files.
#
# usage: state_recovery.sh POLC NETPROBE SOURCE_DIR
# Exit 77 (skipped) without root or BPF, unless POLC_REQUIRE_KERNEL=1.
set -uo pipefail

polc=$1 netprobe=$2 source_dir=$3
topology=$source_dir/examples/policies/shop.yaml

. "$source_dir/tests/e2e/e2e_lib.sh"
e2e_setup
full_dir="/run/$prefix-full" # a tiny tmpfs as a state dir, unmounted on every exit
cleanup() {
  local status=$?
  "$polc" unload --pin-root "$pin_root" --state-dir "$full_dir" > /dev/null 2>&1
  mountpoint -q "$full_dir" && umount "$full_dir"
  mountpoint -q "$full_dir" || rm -rf "$full_dir"
  (exit $status)
  e2e_cleanup
}
trap cleanup EXIT

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

echo "# a state file that cannot be read: status exit 3 with what is attached; unload --force"
for broken in directory garbage; do
  must "$polc" load "$work/v1" "${placement[@]}" > /dev/null
  rm "$state_dir/node-1.json"
  if [ $broken = directory ]; then mkdir "$state_dir/node-1.json"; else echo '{"node": ' > "$state_dir/node-1.json"; fi
  check "status with a $broken as the state exits 3" 0 status_rc 3 "${stored[@]}"
  check "status says where it did not look" 0 grep -q "looked for in this one only" "$work/status.log"
  check "status --lab with a $broken as the state exits 3" 0 status_rc 3 "${placement[@]}"
  check "status says the state of node-1 cannot be read" 0 grep -q "loader state cannot be read" "$work/status.log"
  check "status shows polc's filters it found" 0 grep -q "polc's filter on pw-web1 tc-ingress" "$work/status.log"
  check "status shows the pins it found" 0 grep -q "pin.* under $pin_root/node-1" "$work/status.log"
  check "status says how to recover" 0 grep -q "polc unload --force" "$work/status.log"
  check "unload without --force refuses a $broken" 1 "$polc" unload "${stored[@]}"
  must "$polc" unload --force --node node-1 --lab "$prefix" "${stored[@]}" > /dev/null
  check_nothing_left "unload --force with a $broken as the state" "$node_ns"
  check "unload --force removed the broken state" 1 test -e "$state_dir/node-1.json"
  check "status after unload --force: nothing loaded" 0 status_rc 0 "${stored[@]}"
done

echo "# a full state dir: the load fails before the switch; once there is space, all works"
mkdir -p "$full_dir"
for size in 4k 8k 12k; do # the state, the journal, then the switching journal does not fit
  must mount -t tmpfs -o size=$size "$prefix-full" "$full_dir"
  full=(--lab "$prefix" --pin-root "$pin_root" --state-dir "$full_dir")
  "$polc" load "$work/v1" "${full[@]}" > "$work/full.log" 2>&1
  check "load into a $size state dir fails" 1 test $? -eq 0
  check "the error says the disk is full ($size)" 0 grep -q "No space left on device" "$work/full.log"
  check_nothing_left "load into a $size state dir" "$node_ns"
  check "no empty or temporary state file left ($size)" 1 bash -c \
    "find '$full_dir' -name 'node-1*' | grep -q ."
  must mount -o remount,size=1m "$full_dir"
  check "status once there is space" 0 status_rc 0 --pin-root "$pin_root" --state-dir "$full_dir"
  must "$polc" load "$work/v1" "${full[@]}" > /dev/null
  check "status after the load ($size)" 0 status_rc 0 --pin-root "$pin_root" --state-dir "$full_dir"
  must "$polc" unload --pin-root "$pin_root" --state-dir "$full_dir" > /dev/null
  check_nothing_left "unload ($size)" "$node_ns"
  must umount "$full_dir"
done

e2e_teardown
