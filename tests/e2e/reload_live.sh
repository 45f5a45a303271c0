#!/usr/bin/env bash
# Reloads keep established traffic: a live TCP connection that keeps
# exchanging data across `polc load` of a revision that still allows it loses
# nothing and is not reset (conntrack is shared across revisions), while a
# live connection the new revision forbids stops (every forward packet meets
# the policy in force). Every reload path: a revision that changes only
# table contents (maps updated in place, programs untouched; built with
# --inline-max 0 so that the tables are maps), one that changes programs
# (loaded beside the old ones, swapped in on the hooks), and one that
# changes a table compiled in as code (the program is loaded again with the
# new entries in its read-only config). A monitor started before the
# table-only change follows it and names the new revision's rules. Last, a
# revision that adds an audit policy: the live connection it would deny
# goes on, reported and counted as audit.
#
# usage: reload_live.sh POLC NETPROBE SOURCE_DIR
# Exit 77 (skipped) without root or BPF, unless POLC_REQUIRE_KERNEL=1.
set -uo pipefail

polc=$1 netprobe=$2 source_dir=$3
topology=$source_dir/examples/policies/shop.yaml

. "$source_dir/tests/e2e/e2e_lib.sh"
e2e_setup

declare -A address=([frontend-1]=10.0.1.10 [web-1]=10.0.1.20 [db-1]=10.0.1.30 [debug-1]=10.0.1.40)
placement=(--lab "$prefix" --pin-root "$pin_root" --state-dir "$state_dir")
node_ns=$prefix-n-node-1

filters() { # the program ids on the hooks of one interface
  for hook in ingress egress; do ip netns exec "$node_ns" tc filter show dev "$1" "$hook"; done |
    grep -o ' id [0-9]*'
}

echo "# lab $prefix"
must "$polc" lab up "$topology" --prefix "$prefix" > "$work/lab.log"
for endpoint in "${!address[@]}"; do serve "$endpoint" --tcp 80,81,5432,5433; done
wait_servers_ready ${#address[@]}
for revision in v1:examples/policies/shop.pol tables:tests/e2e/reload/shop-tables.pol; do
  must "$polc" build "$source_dir/${revision#*:}" --topology "$topology" -o "$work/${revision%%:*}" \
    --inline-max 0 --quiet
done
for revision in v2:tests/e2e/reload/shop-v2.pol v1-inline:examples/policies/shop.pol \
  tables-inline:tests/e2e/reload/shop-tables.pol audit:tests/e2e/reload/shop-audit.pol; do
  must "$polc" build "$source_dir/${revision#*:}" --topology "$topology" -o "$work/${revision%%:*}" --quiet
done
check "shop's tables are compiled in as code by default" 0 grep -q '"inline_tables": \[' \
  "$work/v1-inline/manifest.json"
must "$polc" load "$work/v1" "${placement[@]}" > /dev/null

echo "# the same revision again: nothing to do"
must "$polc" load "$work/v1" "${placement[@]}" > "$work/same.log"
cat "$work/same.log"
check "every endpoint unchanged" 1 bash -c \
  "grep '^  ' '$work/same.log' | grep -v '^  took ' | grep -qv '  unchanged$'"

echo "# table-only change while connections run"
stream kept frontend-1 web-1 80      # the new tables still allow it
stream forbidden web-1 db-1 5432     # the new tables forbid it
sleep 1
check "both connections exchange data under v1" 0 bash -c \
  "kill -0 ${stream_pid[kept]} && kill -0 ${stream_pid[forbidden]}"
monitor_options=("${placement[@]}")
must "$polc" monitor "${monitor_options[@]}" --set-level flows > /dev/null
start_monitor --endpoint web-1 --verdict allowed # follows the reload to the next revision
before=$(filters pw-web1)
must "$polc" load "$work/tables" "${placement[@]}" --format json > "$work/tables.json"
cat "$work/tables.json"
check "web-1's tables updated in place" 0 bash -c \
  "tr -d ' \n' < '$work/tables.json' | grep -q '\"action\":\"tables-updated\",\"egress\":{\"added\":1,\"changed\":0,\"removed\":1},\"endpoint\":\"web-1\"'"
check "no program replaced or attached" 1 grep -Eq '"action": "(replaced|attached)"' "$work/tables.json"
check "the change found from the kept text, not by reading the map" 0 \
  grep -Eq '"tables_diffed": [1-9]' "$work/tables.json"
check "web-1 still runs the same programs" 0 test "$before" = "$(filters pw-web1)"
sleep 3
check "the forbidden connection stopped" 0 bash -c \
  "! kill -0 ${stream_pid[forbidden]} 2> /dev/null && grep -q '^stalled' '$work/stream-forbidden.log'"
check "the allowed connection still runs" 0 alive kept
stream_stop kept
echo "  kept connection: $result"
check "the allowed connection lost nothing across the reload" 0 grep -q '^ok [0-9]' <<< "$result"
expect allowed frontend-1 tcp "${address[web-1]}" 81 # allowed by the new revision's rule
kill -INT "$monitor"
check "the monitor stops on SIGINT" 0 wait "$monitor"
tables_revision=$(sha256sum "$work/tables/manifest.json" | cut -c1-64)
event_seen "the monitor says it follows the new revision" '"type":"revision"' \
  "\"revision\":\"$tables_revision\""
event_seen "an event of the new revision names its rule" '"endpoint":"web-1"' \
  '"destination_port":81' '"reason":"rule"' 'shop-tables.pol:11:5"' \
  '"text":"allow from app == \"frontend\" on tcp/80, tcp/81, udp/9000"'
must "$polc" monitor "${monitor_options[@]}" --set-level drops > /dev/null

echo "# program change while a connection through the replaced endpoint runs"
stream kept2 web-1 db-1 5433 # db-1 gets new programs, egress isolated: its replies need conntrack
sleep 1
must "$polc" load "$work/v2" "${placement[@]}" > "$work/v2.log"
cat "$work/v2.log"
check "db-1's programs replaced" 0 grep -q '^  db-1  pw-db1  replaced' "$work/v2.log"
check "debug-1's programs attached" 0 grep -q '^  debug-1  pw-debug1  attached' "$work/v2.log"
sleep 1
stream_stop kept2
echo "  kept connection: $result"
check "the allowed connection lost nothing across the program swap" 0 grep -q '^ok [0-9]' <<< "$result"
expect allowed frontend-1 tcp "${address[web-1]}" 81
expect blocked db-1 tcp "${address[frontend-1]}" 80
check "status in sync" 0 "$polc" status "${placement[@]}"

echo "# a change to a table compiled in as code, while connections run"
# v1 takes debug-1's programs away again: its counters go with them.
debug_ifindex=$(ip netns exec "$node_ns" cat /sys/class/net/pw-debug1/ifindex)
counter_keys_of_debug() { # keys of polc_counters whose ifindex (the first 4 bytes) is debug-1's
  bpftool -j map dump pinned "$pin_root/node-1/polc_counters" |
    grep -o '"key":\["0x[0-9a-f]*","0x[0-9a-f]*","0x[0-9a-f]*","0x[0-9a-f]*"' |
    grep -c "$(printf '"key":\\["0x%02x","0x%02x","0x00","0x00"' \
      $((debug_ifindex & 255)) $((debug_ifindex >> 8)))"
}
expect allowed debug-1 tcp "${address[frontend-1]}" 80 # debug-1 is open: counted as no-rule
check "debug-1's packets are counted while it has programs" 0 test "$(counter_keys_of_debug)" -gt 0
must "$polc" load "$work/v1-inline" "${placement[@]}" > /dev/null
check "its counters are forgotten once its programs are gone" 0 test "$(counter_keys_of_debug)" = 0
stream kept3 frontend-1 web-1 80   # still allowed
stream forbidden3 web-1 db-1 5432 # forbidden by web-1's new inline egress table
sleep 1
check "both connections exchange data under v1" 0 bash -c \
  "kill -0 ${stream_pid[kept3]} && kill -0 ${stream_pid[forbidden3]}"
before=$(filters pw-web1)
must "$polc" load "$work/tables-inline" "${placement[@]}" > "$work/tables-inline.log"
cat "$work/tables-inline.log"
check "web-1's programs loaded again with its new tables" 0 \
  grep -q '^  web-1  pw-web1  replaced' "$work/tables-inline.log"
check "web-1 runs other program ids" 1 test "$before" = "$(filters pw-web1)"
sleep 3
check "the forbidden connection stopped" 0 bash -c \
  "! kill -0 ${stream_pid[forbidden3]} 2> /dev/null && grep -q '^stalled' '$work/stream-forbidden3.log'"
stream_stop kept3
echo "  kept connection: $result"
check "the allowed connection lost nothing across the reload" 0 grep -q '^ok [0-9]' <<< "$result"
expect allowed frontend-1 tcp "${address[web-1]}" 81 # newly allowed (3 entries: a map again)
expect blocked web-1 tcp "${address[db-1]}" 5432
check "status in sync" 0 "$polc" status "${placement[@]}"

echo "# an audit policy: what it would deny passes, reported and counted as audit"
stream audited frontend-1 web-1 80 # the audit policy would deny it
sleep 1
must "$polc" load "$work/audit" "${placement[@]}" > /dev/null
start_monitor --endpoint web-1 --verdict audit
expect allowed frontend-1 tcp "${address[web-1]}" 80 # a new connection: audited, not dropped
sleep 1
stream_stop audited
echo "  audited connection: $result"
check "the audited connection lost nothing" 0 grep -q '^ok [0-9]' <<< "$result"
kill -INT "$monitor"
wait "$monitor"
event_seen "the monitor reports it as audit, naming the audit rule" '"verdict":"audit"' \
  '"audit":true' '"policy":"web-no-frontend-80"' '"destination_port":80'
check "stats count the audit rule's packets with verdict audit" 0 bash -c \
  "'$polc' stats ${placement[*]} --endpoint web-1 |
     awk '\$1 == \"web-no-frontend-80\" && \$4 == \"audit\" && \$5 > 0 {found = 1} END {exit !found}'"
expect blocked frontend-1 tcp "${address[web-1]}" 5432 # enforcement is unchanged

must "$polc" unload --pin-root "$pin_root" --state-dir "$state_dir" > /dev/null
e2e_teardown
