#!/usr/bin/env bash
# End to end across two nodes: lab up examples/policies/boutique.yaml (node-a
# and node-b, their namespaces joined by a link), build once, load each node
# with its own part (`polc load OUT --node N --lab P`), then cross-node flows
# with real traffic. Each node judges a remote peer by the identity its
# ipcache gives the peer's address: the same destination admits one remote
# endpoint and refuses another by label; a deny rule's drop is decoded by
# the monitor and counted by polc stats; the catalog service's vip spreads
# flows 3:1 over its backends on both nodes.
#
# usage: multi_node.sh POLC NETPROBE SOURCE_DIR
# Exit 77 (skipped) without root or BPF, unless POLC_REQUIRE_KERNEL=1, where
# that is a failure. Everything it creates is named polc-t<random>.
set -uo pipefail

polc=$1 netprobe=$2 source_dir=$3
policy=$source_dir/examples/policies/boutique.pol
topology=$source_dir/examples/policies/boutique.yaml
. "$source_dir/tests/e2e/e2e_lib.sh"
e2e_setup

# node-a: frontend-1 checkout-1 cart-1 redis-1; node-b: catalog-1 payment-1 toolbox-1 dns-1
frontend=10.20.1.10 redis=10.20.1.40 catalog=10.20.2.10 payment=10.20.2.20 dns=10.20.2.53

echo "# lab $prefix: two node namespaces joined by a link"
must "$polc" lab up "$topology" --prefix "$prefix" > "$work/lab.log"
check "node-a has its link to node-b" 0 ip -n "$prefix-n-node-a" link show dev to-node-b
serve frontend-1 --tcp 8080
serve redis-1 --tcp 6379
serve catalog-1 --tcp 3550 --name catalog-1
serve catalog-2 --tcp 3550 --name catalog-2
serve payment-1 --tcp 50051
serve dns-1 --udp 53,54
wait_servers_ready 6

echo "# before load: every cross-node flow passes"
expect allowed redis-1 tcp "$catalog" 3550
expect allowed frontend-1 tcp "$payment" 50051
expect allowed toolbox-1 tcp "$redis" 6379
expect allowed cart-1 udp "$dns" 54

load() { # load NODE
  "$polc" load "$work/out" --node "$1" --lab "$prefix" --pin-root "$pin_root" --state-dir "$state_dir"
}
must "$polc" build "$policy" --topology "$topology" -o "$work/out" --quiet
# node-b is loaded from its bundle alone (as a pipeline ships it), node-a from the build
must "$polc" bundle "$work/out" --node node-b -o "$work/bundles" > /dev/null
mkdir "$work/shipped" && mv "$work/bundles/node-b" "$work/shipped/"
echo "# node-b only: node-b enforces its endpoints' ingress, node-a nothing yet"
must "$polc" load "$work/shipped/node-b" --lab "$prefix" --pin-root "$pin_root" --state-dir "$state_dir" > "$work/load-b.log"
expect allowed frontend-1 tcp "$catalog" 3550 # catalog admits the storefront (frontend-1 on node-a)
expect blocked redis-1 tcp "$catalog" 3550    # ...but not redis-1, also on node-a: told apart by node-b's ipcache
expect blocked redis-1 tcp "$payment" 50051
expect allowed frontend-1 tcp "$payment" 50051 # frontend-1's egress is node-a's to enforce: not loaded yet
expect allowed toolbox-1 tcp "$redis" 6379     # redis-1's ingress is node-a's too

echo "# both nodes loaded"
must load node-a > "$work/load-a.log"
check "status: both nodes in sync" 0 bash -c \
  "'$polc' status --pin-root '$pin_root' --state-dir '$state_dir' | grep -c ': in sync' | grep -qx 2"
check "status --lab --node shows one node" 0 bash -c \
  "'$polc' status --node node-a --lab '$prefix' --state-dir '$state_dir' --format json | grep -q '\"node\": \"node-a\"'"
# a -> b
expect allowed frontend-1 tcp "$catalog" 3550  # egress to service catalog (node-a), ingress from storefront (node-b)
# At the vip, 3:1 by weight, the backends on both nodes (node-a translates).
ip netns exec "$prefix-e-frontend-1" "$netprobe" tally tcp 10.96.20.1 3550 --count 400 > "$work/catalog-tally"
for share in "catalog-1 300" "catalog-2 100"; do
  read -r backend expected <<< "$share"
  got=$(awk -v b="$backend" '$1 == b { print $2 }' "$work/catalog-tally")
  check "frontend-1 -> catalog's vip: $backend took ${got:-0} of 400 flows, expected $expected +-40" 0 \
    test "${got:-0}" -ge $((expected - 40)) -a "${got:-0}" -le $((expected + 40))
done
expect allowed checkout-1 tcp "$payment" 50051
expect blocked redis-1 tcp "$catalog" 3550     # identity of redis-1 is not allowed by catalog's ingress
expect blocked frontend-1 tcp "$payment" 50051 # frontend-1's isolated egress, now on node-a
expect allowed cart-1 udp "$dns" 53            # cart's egress to the dns label, by dns-1's identity in node-a's ipcache
expect blocked cart-1 udp "$dns" 54
# b -> a
monitor_options=(--lab "$prefix" --pin-root "$pin_root" --state-dir "$state_dir")
start_monitor --endpoint redis-1 --verdict denied --count 1
expect blocked toolbox-1 tcp "$redis" 6379     # deny from has(debug): toolbox-1 identified on node-a
check "the monitor stops after the rule's drop" 0 timeout 10 tail --pid="$monitor" -f /dev/null
event_seen "a deny rule's drop, decoded across nodes" '"endpoint":"redis-1"' '"direction":"ingress"' \
  '"verdict":"denied"' '"reason":"rule"' '"policy":"redis"' 'boutique.pol:58:5' '"action":"deny"' \
  '"text":"deny from has(debug)"' '"name":"toolbox-1"' '"destination_port":6379' '"node":"node-a"'
check "stats: the deny rule counted its packets, as denied" 0 bash -c \
  "'$polc' stats ${monitor_options[*]} --endpoint redis-1 |
     awk '\$2 ~ /boutique.pol:58:5\$/ && \$4 == \"denied\" && \$5 > 0 {found = 1} END {exit !found}'"
expect blocked toolbox-1 tcp "$frontend" 8080  # frontend admits world and host, and toolbox-1 is neither
expect blocked catalog-1 tcp "$redis" 6379

echo "# unload --lab: another lab's unloads nothing here; this lab's --node node-b only node-b"
must "$polc" unload --lab "$prefix-other" --state-dir "$state_dir" > /dev/null
check "status --lab: both nodes still in sync" 0 bash -c \
  "'$polc' status --lab '$prefix' --state-dir '$state_dir' | grep -c ': in sync' | grep -qx 2"
must "$polc" unload --node node-b --lab "$prefix" --state-dir "$state_dir" > /dev/null
check "status --lab: node-a alone, in sync" 0 bash -c \
  "'$polc' status --lab '$prefix' --state-dir '$state_dir' | grep ': in sync' | grep -qx 'node node-a: in sync'"
expect allowed redis-1 tcp "$catalog" 3550     # node-b enforces nothing any more
expect blocked toolbox-1 tcp "$redis" 6379     # node-a still does

echo "# lab down with node-a still loaded: refused while it cannot unload, else unloads it first"
flock "$state_dir/lock" "$polc" lab down --prefix "$prefix" --state-dir "$state_dir" \
  --lock-timeout 0 > "$work/down.log" 2>&1
check "lab down refused, exit 3" 0 test $? -eq 3
check "it names the unload to run" 0 grep -q "run \`polc unload --node node-a --state-dir $state_dir\`" "$work/down.log"
check "the lab stays up" 0 ip netns pids "$prefix-n-node-a"
for pid in "${servers[@]}"; do kill "$pid" 2> /dev/null; done
wait 2> /dev/null
servers=()
check "lab down unloads node-a first" 0 bash -c \
  "'$polc' lab down --prefix '$prefix' --state-dir '$state_dir' | grep -q '^polc: lab down: unloaded node node-a'"
check "no load recorded any more" 1 bash -c "ls '$state_dir' | grep -q '\\.json$'"
e2e_teardown
