#!/usr/bin/env bash
# End to end: a service reached at its vip with nothing but polc on the
# node. Three backends that each answer their own name: 3,000 TCP flows to
# the vip land within 5% of equal shares, then (a table-only reload: no
# program replaced) within 5% of 1:2:3; a connection open across the reload
# keeps working; UDP and IPv6 the same; a client that policy does not allow
# to the backends is dropped, even through the vip, and the monitor names
# the service and the backend; a vip without backends
# refuses at once; with session affinity, one client stays on one backend;
# a load during which the service maps' pins are removed fails and undoes
# itself; with a service map's pin removed between loads, a load replaces
# every program, so that the maps pinned are the ones in force.
#
# usage: services.sh POLC NETPROBE SOURCE_DIR
# Exit 77 (skipped) without root or BPF, unless POLC_REQUIRE_KERNEL=1, where
# that is a failure. Everything it creates is named polc-t<random>.
set -uo pipefail

polc=$1 netprobe=$2 source_dir=$3
. "$source_dir/tests/e2e/e2e_lib.sh"
e2e_setup

topology() { # topology W1 W2 W3: the lab's topology with these weights
  cat << YAML
cluster: lb
nodes:
  - name: node-1
    address: 10.30.0.1
    endpoints:
      - { name: client-1, labels: { app: client }, addresses: [10.30.1.10, "fd30::10"], interface: sv-client1 }
      - { name: other-1, labels: { app: other }, addresses: [10.30.1.11], interface: sv-other1 }
      - { name: db-1, labels: { app: db }, addresses: [10.30.2.1, "fd30::2:1"], interface: sv-db1, ports: { sql: tcp/8080 } }
      - { name: db-2, labels: { app: db }, addresses: [10.30.2.2, "fd30::2:2"], interface: sv-db2, ports: { sql: tcp/8080 } }
      - { name: db-3, labels: { app: db }, addresses: [10.30.2.3, "fd30::2:3"], interface: sv-db3, ports: { sql: tcp/8080 } }
services:
  - name: db
    vip: 10.96.30.5
    ports: [ tcp/5432 -> sql, udp/53 -> 8053 ]
    selector: { app: db }
    weights: { db-1: $1, db-2: $2, db-3: $3 }
  - name: db6
    vip: "fd96::5"
    ports: [ tcp/5432 -> sql ]
    selector: { app: db }
  - { name: sticky, vip: 10.96.30.7, ports: [ tcp/5432 -> sql ], selector: { app: db }, affinity: { timeout: 10m } }
  - { name: empty, vip: 10.96.30.9, ports: [ tcp/80, udp/53 ], selector: { app: none } }
  - { name: empty6, vip: "fd96::9", ports: [ tcp/80 ], selector: { app: none } }
YAML
}
# other-1's egress is its own program's to refuse: its drop of a flow to
# the vip names the service (a drop at the backend's ingress names the
# backend only: that program never saw the vip).
cat > "$work/policy.pol" << 'POL'
policy "db" {
  select app == "db"
  ingress { allow from app == "client" on tcp/sql, udp/8053, icmp type 8, icmpv6 type 128 }
}
policy "other" {
  select app == "other"
  egress { allow to app == "client" on tcp/9 }
}
POL
topology 1 1 1 > "$work/equal.yaml"
topology 1 2 3 > "$work/weighted.yaml"

# shares NAME EXPECTED...: the tally in $work/NAME lands within 5% of the
# flows on each backend's expected share (db-1 db-2 db-3, out of 3,000).
shares() {
  local name=$1
  shift
  local i=1 share
  for share in "$@"; do
    local got
    got=$(awk -v b="db-$i" '$1 == b { print $2 }' "$work/$name")
    check "$name: db-$i took ${got:-0} of 3000 flows, expected $share +-150" 0 \
      test "${got:-0}" -ge $((share - 150)) -a "${got:-0}" -le $((share + 150))
    i=$((i + 1))
  done
}
tally() { # tally NAME PROTO VIP PORT [FLOWS]
  ip netns exec "$prefix-e-client-1" "$netprobe" tally "$2" "$3" "$4" --count "${5:-3000}" > "$work/$1"
  cat "$work/$1"
}

echo "# lab $prefix"
must "$polc" lab up "$work/equal.yaml" --prefix "$prefix" > "$work/lab.log"
for backend in db-1 db-2 db-3; do serve "$backend" --tcp 8080 --udp 8053 --name "$backend"; done
wait_servers_ready 3

echo "# build and load: equal weights"
must "$polc" build "$work/policy.pol" --topology "$work/equal.yaml" -o "$work/out" --quiet
check "the build lists the frontends" 0 grep -q '"vip": "10.96.30.5"' "$work/out/services.json"
must "$polc" load "$work/out" --lab "$prefix" --pin-root "$pin_root" --state-dir "$state_dir" \
  --format json > "$work/load1.json"
check "the load wrote 7 frontends and the echo of 5 vips" 0 python3 -c '
import json, sys
sys.exit(0 if json.load(open(sys.argv[1]))["service_frontends"] == 12 else 1)' "$work/load1.json"

tally tcp-equal tcp 10.96.30.5 5432
shares tcp-equal 1000 1000 1000
tally udp-equal udp 10.96.30.5 53
shares udp-equal 1000 1000 1000
tally tcp6-equal tcp fd96::5 5432
shares tcp6-equal 1000 1000 1000
monitor_options=(--lab "$prefix" --pin-root "$pin_root" --state-dir "$state_dir")
# --port: other-1's egress also drops the MLD reports its fresh veth sends,
# which would otherwise be the one event seen (a CI run caught exactly that).
start_monitor --endpoint other-1 --verdict denied --port 8080 --count 1
expect blocked other-1 tcp 10.96.30.5 5432
check "the monitor stops after the drop" 0 timeout 10 tail --pid="$monitor" -f /dev/null
event_seen "the drop names the service and the backend" '"endpoint":"other-1"' \
  '"service":{"name":"db","port":5432,"protocol":"tcp","vip":"10.96.30.5"}' \
  '"kind":"endpoint"' '"name":"db-' '"destination_port":8080'

echo "# ping: a vip answers echo requests through a backend, one without refuses"
for vip in 10.96.30.5 fd96::5; do
  check "client-1 pings $vip: the echo reply comes from the vip" 0 \
    ip netns exec "$prefix-e-client-1" "$netprobe" ping "$vip" --timeout-ms 2000
done
started=$(date +%s%N)
ip netns exec "$prefix-e-client-1" "$netprobe" ping 10.96.30.9 --timeout-ms 3000 > "$work/ping-empty" 2>&1
rc=$? took=$((($(date +%s%N) - started) / 1000000))
check "client-1 pings 10.96.30.9 (no backend): refused (exit 4, got $rc) in $took ms" 0 \
  test "$rc" -eq 4 -a "$took" -lt 500

echo "# session affinity: every flow of one client to one backend"
tally tcp-sticky tcp 10.96.30.7 5432 300
check "all 300 flows of client-1 to the sticky vip went to one backend" 0 \
  awk '$2 == 300 { found = 1 } END { exit !found }' "$work/tcp-sticky"

echo "# no backend: refused at once (a TCP reset, an ICMP port unreachable), never a timeout"
for flow in "tcp 10.96.30.9 80" "udp 10.96.30.9 53" "tcp fd96::9 80"; do
  started=$(date +%s%N)
  # shellcheck disable=SC2086 # the protocol, address and port
  ip netns exec "$prefix-e-client-1" "$netprobe" connect $flow --timeout-ms 3000 > /dev/null 2>&1
  rc=$? took=$((($(date +%s%N) - started) / 1000000))
  check "client-1 -> $flow: refused (netprobe exit 4, got $rc) in $took ms" 0 \
    test "$rc" -eq 4 -a "$took" -lt 500
done

echo "# reweight 1:2:3 under a live connection: a table-only update"
declare -A address=([vip]=10.96.30.5)
stream live client-1 vip 5432
sleep 0.3
must "$polc" build "$work/policy.pol" --topology "$work/weighted.yaml" -o "$work/out" --quiet
must "$polc" load "$work/out" --lab "$prefix" --pin-root "$pin_root" --state-dir "$state_dir" \
  --format json > "$work/load2.json"
check "the reweight replaced no program and rewrote only Maglev tables, from the lines of services.json that changed" 0 python3 -c '
import json, sys
load = json.load(open(sys.argv[1]))
actions = {e["action"] for e in load["endpoints"]}
services = load["services"]
sys.exit(0 if actions <= {"unchanged", "tables-updated"} and services["changed"] > 0
         and services["added"] == 0 and services["removed"] == 0
         and load["tables_diffed"] == 1 else 1)' "$work/load2.json"
sleep 0.3
stream_stop live
check "the connection open across the reload kept working ($result)" 0 test "${result%% *}" = ok
tally tcp-weighted tcp 10.96.30.5 5432
shares tcp-weighted 500 1000 1500

echo "# the service maps' pins removed during a load: the load fails and undoes itself"
# Paused once it has seen the pins (and the state saying what they hold),
# before it records which pins it creates.
POLC_LOADER_PAUSE_AT=read-tables "$polc" load "$work/out" --lab "$prefix" --pin-root "$pin_root" \
  --state-dir "$state_dir" > /dev/null 2> "$work/paused.log" &
paused=$!
for _ in $(seq 200); do
  [ "$(awk '{print $3}' "/proc/$paused/stat" 2> /dev/null)" = T ] && break
  sleep 0.05
done
check "the load paused at read-tables" 0 grep -q "paused at step read-tables" "$work/paused.log"
rm -f "$pin_root/node-1/polc_services" "$pin_root/node-1/polc_maglev" \
  "$pin_root/node-1/polc_backends"
kill -CONT "$paused"
wait "$paused"
rc=$?
check "the load failed (exit $rc), saying a pin was removed during it" 0 \
  grep -q "a pin was removed during the load" "$work/paused.log"
check "... and did not claim success" 0 test "$rc" -ne 0
tally tcp-after-failed tcp 10.96.30.5 5432 300
check "the running programs still translate (their maps are still theirs)" 0 \
  awk '$1 == "none" { exit 1 }' "$work/tcp-after-failed"

echo "# a service map's pin removed between loads, then equal weights again"
# The running programs still hold the 1:2:3 maps; the load pins a new
# polc_maglev, so it must replace every program for it to be in force, and
# read back what the other two hold.
rm -f "$pin_root/node-1/polc_maglev"
must "$polc" build "$work/policy.pol" --topology "$work/equal.yaml" -o "$work/out" --quiet
must "$polc" load "$work/out" --lab "$prefix" --pin-root "$pin_root" --state-dir "$state_dir" \
  --format json > "$work/load3.json"
check "every program was replaced and the new maps got the 7 frontends and 5 echoes" 0 python3 -c '
import json, sys
load = json.load(open(sys.argv[1]))
sys.exit(0 if {e["action"] for e in load["endpoints"]} == {"replaced"}
         and load["service_frontends"] == 12 else 1)' "$work/load3.json"
tally tcp-equal-again tcp 10.96.30.5 5432
shares tcp-equal-again 1000 1000 1000

echo "# unload: the service maps go with everything else"
must "$polc" unload --pin-root "$pin_root" --state-dir "$state_dir" > /dev/null
check_nothing_left "after unload" "$prefix-n-node-1"
e2e_teardown
