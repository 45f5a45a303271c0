#!/usr/bin/env bash
# Loads are transactions: a load of a new revision that fails at any step
# (POLC_LOADER_FAIL_AT), or is killed with kill -9 in the middle
# (POLC_LOADER_PAUSE_AT, then kill -9), leaves the previous revision in
# force — checked with real traffic after each — and the next load of the
# new revision succeeds and enforces it. With --trust, every way a signature
# can be wrong is refused before anything changes.
#
# usage: reload_transaction.sh POLC NETPROBE SOURCE_DIR
# Exit 77 (skipped) without root or BPF, unless POLC_REQUIRE_KERNEL=1.
set -uo pipefail

polc=$1 netprobe=$2 source_dir=$3
topology=$source_dir/examples/policies/shop.yaml

. "$source_dir/tests/e2e/e2e_lib.sh"
e2e_setup

declare -A address=([frontend-1]=10.0.1.10 [web-1]=10.0.1.20 [db-1]=10.0.1.30 [debug-1]=10.0.1.40)
flow() { # flow allowed|blocked FROM TO PROTO PORT
  expect "$1" "$2" "$4" "${address[$3]}" "$5"
}
placement=(--lab "$prefix" --pin-root "$pin_root" --state-dir "$state_dir")

# v1 (examples/policies/shop.pol) against v2 (reload/shop-v2.pol).
expect_v1() {
  flow allowed frontend-1 web-1 tcp 80 # both revisions allow it
  flow blocked debug-1 web-1 tcp 80    # both deny it
  flow blocked frontend-1 web-1 tcp 81 # only v2 allows it
  flow allowed web-1 db-1 tcp 5432     # only v1 allows it
  flow allowed db-1 frontend-1 tcp 80  # v2 isolates db's egress
  flow allowed frontend-1 debug-1 tcp 81 # v2 isolates debug's ingress
}
expect_v2() {
  flow allowed frontend-1 web-1 tcp 80
  flow blocked debug-1 web-1 tcp 80
  flow allowed frontend-1 web-1 tcp 81
  flow blocked web-1 db-1 tcp 5432
  flow allowed web-1 db-1 tcp 5433
  flow blocked db-1 frontend-1 tcp 80
  flow allowed db-1 debug-1 tcp 80
  flow blocked frontend-1 debug-1 tcp 81
}
in_sync() { "$polc" status "${placement[@]}" > /dev/null 2>&1; }

echo "# lab $prefix"
must "$polc" lab up "$topology" --prefix "$prefix" > "$work/lab.log"
for endpoint in "${!address[@]}"; do serve "$endpoint" --tcp 80,81,5432,5433 --udp 9000; done
wait_servers_ready ${#address[@]}
must "$polc" build "$source_dir/examples/policies/shop.pol" --topology "$topology" -o "$work/v1" --quiet
must "$polc" build "$source_dir/tests/e2e/reload/shop-v2.pol" --topology "$topology" -o "$work/v2" --quiet
must "$polc" load "$work/v1" "${placement[@]}" > /dev/null
echo "# v1 loaded"
expect_v1
revision_v1=$("$polc" status "${placement[@]}" --format json | grep -o '"revision": *"[0-9a-f]*"' | head -1)

steps=(verify interfaces journal load-objects fill-tables pin-programs update-ipcache update-tables
  attach detach-stale)
for step in "${steps[@]}"; do
  echo "# v2 fails at step $step: v1 stays in force"
  POLC_LOADER_FAIL_AT=$step "$polc" load "$work/v2" "${placement[@]}" > "$work/fail.log" 2>&1
  check "load fails at $step" 1 test $? -eq 0
  check "the error names step $step" 0 grep -q "injected failure at step $step" "$work/fail.log"
  expect_v1
  check "status in sync with v1 after the failure at $step" 0 in_sync
  check "no staged pin left after $step" 1 bash -c "find '$pin_root' -name '*-next' | grep -q ."
done
check "the recorded revision is still v1" 0 bash -c \
  "'$polc' status ${placement[*]} --format json | grep -q '$revision_v1'"

echo "# signed builds (load --trust): each bad one refused before any change, v1 stays in force"
must "$polc" keygen -o "$work/ci" > /dev/null
must "$polc" keygen -o "$work/rogue" > /dev/null
must "$polc" keygen -o "$work/old" --expires 2020-01-01 > /dev/null
mkdir -p "$work/trusted" "$work/rotated"
cp "$work/ci.pub" "$work/old.pub" "$work/trusted/"
cp "$work/old.pub" "$work/rotated/" # ci's key removed
signed_copy() { # NAME KEY: a copy of v2 signed with KEY
  rm -rf "${work:?}/$1" && cp -r "$work/v2" "$work/$1" &&
    "$polc" sign "$work/$1" --key "$work/$2.key" > /dev/null
}
refused() { # WHAT DIR TRUST MESSAGE
  "$polc" load "$2" "${placement[@]}" --trust "$3" > "$work/refused.log" 2>&1
  check "$1: refused" 1 test $? -eq 0
  check "$1: the error says why" 0 grep -q "$4" "$work/refused.log"
  check "$1: v1 is still the recorded revision" 0 bash -c \
    "'$polc' status ${placement[*]} --format json | grep -q '$revision_v1'"
}
refused "unsigned" "$work/v2" "$work/trusted" "is not signed"
signed_copy manifest ci && sed -i 's/"cluster": "/"cluster": "x/' "$work/manifest/manifest.json"
refused "tampered manifest" "$work/manifest" "$work/trusted" "changed after it was signed"
signed_copy object ci && printf 'x' >> "$(ls "$work"/object/objects/*.o | head -1)"
refused "tampered object" "$work/object" "$work/trusted" "digest mismatch"
signed_copy rogue rogue
refused "another key" "$work/rogue" "$work/trusted" "not trusted"
signed_copy expired old
refused "expired key" "$work/expired" "$work/trusted" "expired after 2020-01-01"
signed_copy removed ci
refused "removed key" "$work/removed" "$work/rotated" "not trusted"
signed_copy truncated ci && truncate -s 100 "$work/truncated/manifest.sig"
refused "truncated signature" "$work/truncated" "$work/trusted" "malformed signature"
expect_v1
check "status in sync with v1 after the refused loads" 0 in_sync

echo "# v2 killed with kill -9 while preparing (after pinning its programs): v1 stays in force"
killed_at pin-programs "$work/v2" "${placement[@]}"
expect_v1
check "status reports the interrupted load" 0 bash -c \
  "'$polc' status ${placement[*]} | grep -q 'was interrupted while preparing'"
check "status exits 1 while a load is interrupted" 1 in_sync

echo "# v2 killed with kill -9 in the middle of the switch; a new load converges"
killed_at attach "$work/v2" "${placement[@]}"
check "status reports the interrupted switch" 0 bash -c \
  "'$polc' status ${placement[*]} | grep -q 'was interrupted while switching'"

echo "# v2, signed by a trusted key, loads: v2 in force"
must "$polc" sign "$work/v2" --key "$work/ci.key" > /dev/null
must "$polc" load "$work/v2" "${placement[@]}" --trust "$work/trusted" > "$work/load.log"
cat "$work/load.log"
check "the load names the key that signed it" 0 grep -q "signed by key" "$work/load.log"
expect_v2
check "status in sync with v2" 0 in_sync
check "no staged pin left" 1 bash -c "find '$pin_root' -name '*-next' | grep -q ."

echo "# v1 again, failing at attach (after v2 switched some hooks), then for real"
POLC_LOADER_FAIL_AT=attach "$polc" load "$work/v1" "${placement[@]}" > /dev/null 2>&1
expect_v2
must "$polc" load "$work/v1" "${placement[@]}" > /dev/null
expect_v1
check "status in sync with v1" 0 in_sync

must "$polc" unload --pin-root "$pin_root" --state-dir "$state_dir" > /dev/null
check_nothing_left "after unload" "$prefix-n-node-1"
e2e_teardown
