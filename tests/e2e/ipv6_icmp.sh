#!/usr/bin/env bash
# End to end, IPv6 and ICMP: lab up (examples/policies/ipv6.yaml: dual-stack
# web-1 and api-1, IPv6-only store-1) -> build -> two concurrent loads ->
# ICMP and ICMPv6 echo, TCP and UDP over IPv6, neighbour discovery after
# load, polc monitor's events (every field), level and audit changes under
# a live TCP connection, a flood across a reload, status and its drift report ->
# unload -> nothing left behind.
#
# usage: ipv6_icmp.sh POLC NETPROBE SOURCE_DIR
# Exit 77 (skipped) without root or BPF, unless POLC_REQUIRE_KERNEL=1, where
# that is a failure. Everything it creates is named polc-t<random>.
set -uo pipefail

polc=$1 netprobe=$2 source_dir=$3
policy=$source_dir/examples/policies/ipv6.pol
topology=$source_dir/examples/policies/ipv6.yaml
. "$source_dir/tests/e2e/e2e_lib.sh"
e2e_setup

web4=10.60.1.10 web6=fd00:6:1::10 api4=10.60.1.20 api6=fd00:6:1::20 store6=fd00:6:1::30
node_ns="$prefix-n-node-6"

echo "# lab $prefix"
must "$polc" lab up "$topology" --prefix "$prefix" > "$work/lab.log"
for endpoint in web-1 api-1 store-1; do serve "$endpoint" --tcp 5432,8080,8081 --udp 8080,9000; done
wait_servers_ready 3

echo "# before load: the lab routes IPv4 and IPv6"
expect allowed web-1 ping "$api6"
expect allowed api-1 ping "$web4"
expect allowed web-1 tcp "$store6" 5432
expect allowed store-1 udp "$api6" 9000

echo "# build, then two loads at once: the lock serializes them, both succeed"
must "$polc" build "$policy" --topology "$topology" -o "$work/out" --quiet
load() { "$polc" load "$work/out" --lab "$prefix" --pin-root "$pin_root" --state-dir "$state_dir" "$@"; }
load > "$work/load-1.log" 2>&1 &
first=$!
load > "$work/load-2.log" 2>&1 &
second=$!
check "first of two concurrent loads" 0 wait $first
check "second of two concurrent loads" 0 wait $second
cat "$work/load-2.log"
check "status: in sync after the concurrent loads" 0 \
  "$polc" status --lab "$prefix" --pin-root "$pin_root" --state-dir "$state_dir"

echo "# ICMP and ICMPv6 echo: api-1 takes echo requests from web-1 only"
expect allowed web-1 ping "$api4"     # icmp type 8; the reply leaves api-1's isolated egress via conntrack
expect allowed web-1 ping "$api6"     # icmpv6 type 128
expect blocked store-1 ping "$api6"   # not web
expect blocked api-1 ping "$web4"     # api-1's egress is isolated: no icmp
expect blocked api-1 ping "$web6"
expect blocked web-1 ping "$store6"   # store-1's ingress: tcp/5432, sctp/3868 from api only
expect allowed store-1 ping "$web6"   # store-1's egress is open; the reply enters its isolated ingress via conntrack

echo "# TCP and UDP over IPv6"
expect allowed web-1 tcp "$api6" 8080
expect allowed web-1 tcp "$api4" 8080
expect blocked web-1 tcp "$api6" 8081
expect blocked web-1 udp "$api6" 8080   # the rule is tcp/8080
expect allowed api-1 tcp "$store6" 5432
expect blocked web-1 tcp "$store6" 5432
expect blocked store-1 tcp "$api6" 8080
expect allowed store-1 udp "$web6" 9000 # the reply enters store-1's isolated ingress via conntrack
expect blocked api-1 udp "$web6" 9000
# Regression: ICMP errors about an allowed flow were dropped by an isolated
# direction. store-1's UDP to a closed port of web-1 must learn it is closed
# (netprobe exits 4 on ECONNREFUSED) through store-1's isolated ingress.
check "store-1 -> $web6 udp/9999 refused: the ICMPv6 port unreachable passes" 0 bash -c \
  "ip netns exec $prefix-e-store-1 '$netprobe' connect udp $web6 9999 --timeout-ms 800; [ \$? = 4 ]"

echo "# polc monitor over IPv6 and ICMP: every field of each kind of event"
monitor_options=(--lab "$prefix" --pin-root "$pin_root" --state-dir "$state_dir")
must "$polc" monitor "${monitor_options[@]}" --endpoint api-1 --set-level all > /dev/null
start_monitor --endpoint api-1
expect allowed web-1 ping "$api6"
expect blocked store-1 ping "$api6"
expect allowed web-1 tcp "$api6" 8080
kill -INT "$monitor"
check "the monitor stops on SIGINT" 0 wait "$monitor"
common=('"node":"node-6"' '"endpoint":"api-1"' '"interface":"v6-api1"' '"family":"ipv6"')
event_seen "echo request allowed by its rule" "${common[@]}" '"direction":"ingress"' \
  '"verdict":"allowed"' '"reason":"rule"' '"protocol":"icmpv6"' '"icmp_type":128' \
  '"icmp_code":0' '"source":"fd00:6:1::10"' '"destination":"fd00:6:1::20"' '"kind":"endpoint"' \
  '"labels":{"app":"web"}' '"name":"web-1"' '"new_flow":true' '"policy":"api"' 'ipv6.pol:9:5"' \
  '"action":"allow"' '"text":"allow from app == \"web\" on icmpv6 type 128"'
event_seen "echo reply passed as a reply" "${common[@]}" '"direction":"egress"' \
  '"verdict":"allowed"' '"reason":"reply"' '"icmp_type":129' '"source":"fd00:6:1::20"' \
  '"destination":"fd00:6:1::10"' '"name":"web-1"' '"new_flow":false'
event_seen "echo request of store-1 denied by default" "${common[@]}" '"direction":"ingress"' \
  '"verdict":"denied"' '"reason":"default-deny"' '"icmp_type":128' '"source":"fd00:6:1::30"' \
  '"name":"store-1"' '"labels":{"app":"store"}'
event_seen "TCP connection opened by its rule" "${common[@]}" '"verdict":"allowed"' \
  '"reason":"rule"' '"protocol":"tcp"' '"destination_port":8080' 'ipv6.pol:7:5"' '"new_flow":true'
event_seen "TCP packets after the first pass as established" "${common[@]}" \
  '"direction":"ingress"' '"reason":"established"' '"destination_port":8080' '"new_flow":false'
check "no event of another endpoint" 1 grep -v '"endpoint":"api-1"' "$work/events"

echo "# level changes at run time keep an established TCP connection"
ip netns exec "$prefix-e-web-1" "$netprobe" session "$api6" 8080 --messages 25 --interval-ms 100 \
  2> "$work/session.err" &
session=$!
servers+=("$session")
sleep 0.3
for level in off flows drops all; do
  must "$polc" monitor "${monitor_options[@]}" --set-level "$level" > /dev/null
  sleep 0.3
done
for mode in on off; do # audit lets more through, never less
  must "$polc" audit "$mode" --all "${monitor_options[@]}" > /dev/null
  sleep 0.3
done
must "$polc" monitor "${monitor_options[@]}" --set-level drops > /dev/null
must "$polc" monitor "${monitor_options[@]}" --endpoint api-1 --set-level default > /dev/null
check "one TCP connection lived through four level changes and audit on and off" 0 wait "$session"
cat "$work/session.err"

echo "# a flood of denied packets with the monitor attached, across a reload"
start_monitor
ip netns exec "$prefix-e-store-1" "$netprobe" flood "$api6" 9000 --seconds 3 > "$work/flood.out" &
flood=$!
servers+=("$flood")
sleep 0.5
expect allowed web-1 tcp "$api6" 8080 # other traffic goes on
must load > /dev/null
expect allowed web-1 tcp "$api6" 8080
check "the flood ran to its end" 0 wait "$flood"
echo "  $(cat "$work/flood.out") datagrams sent"
check "the monitor outlived the flood and the reload" 0 kill -0 "$monitor"
kill -INT "$monitor"
check "the monitor stops on SIGINT after the flood" 0 wait "$monitor"
event_seen "flood's denied packets reported" '"verdict":"denied"' '"destination_port":9000' \
  '"name":"store-1"'
check "what the rate limit suppressed is reported" 0 \
  grep -Eq '"rate_limited":[1-9][0-9]*.*"type":"missed"' "$work/events"
check "the rate limit held: at most a burst and 1,000/s of flood events" 0 \
  test "$(grep -c '"destination_port":9000' "$work/events")" -le 6000

echo "# neighbour discovery through the loaded programs: forget every neighbour, then talk"
for ns in "$node_ns" "$prefix-e-web-1" "$prefix-e-api-1" "$prefix-e-store-1"; do
  must ip -n "$ns" -6 neigh flush all
done
expect allowed web-1 tcp "$api6" 8080
expect allowed api-1 tcp "$store6" 5432
check "node resolved api-1 (fd00:6:1::20) by neighbour discovery" 0 bash -c \
  "ip -n $node_ns -6 neigh show $api6 | grep -Eq 'lladdr .* (REACHABLE|STALE|DELAY|PROBE)'"
check "store-1 resolved its gateway fe80::1 by neighbour discovery" 0 bash -c \
  "ip -n $prefix-e-store-1 -6 neigh show fe80::1 | grep -Eq 'lladdr .* (REACHABLE|STALE|DELAY|PROBE)'"

echo "# status names drift: a filter removed behind polc's back"
ip netns exec "$node_ns" tc filter del dev v6-store1 egress
check "status exits 1 on drift" 1 \
  "$polc" status --lab "$prefix" --pin-root "$pin_root" --state-dir "$state_dir"
check "status names the missing filter" 0 bash -c \
  "'$polc' status --lab '$prefix' --state-dir '$state_dir' | grep -q \"store-1: polc's filter at tc-egress of v6-store1 is missing\""
expect allowed web-1 tcp "$store6" 5432 # nothing enforces store-1's ingress now
must load > /dev/null
check "status in sync after a reload" 0 "$polc" status --lab "$prefix" --state-dir "$state_dir"
expect blocked web-1 tcp "$store6" 5432

echo "# unload: everything passes again, nothing of polc is left"
must "$polc" unload --pin-root "$pin_root" --state-dir "$state_dir" > /dev/null
expect allowed api-1 ping "$web6"
expect allowed web-1 tcp "$store6" 5432
e2e_teardown
