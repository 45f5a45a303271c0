#!/usr/bin/env bash
# End to end: lab up -> polc build -> polc load -> real TCP and UDP traffic
# between the lab's namespaces -> polc monitor's events of that traffic ->
# polc stats' counters of it -> polc metrics, printed and scraped over HTTP
# -> polc unload -> nothing left behind.
#
# usage: walking_skeleton.sh POLC NETPROBE SOURCE_DIR
# Exit 77 (skipped) without root or BPF, unless POLC_REQUIRE_KERNEL=1, where
# that is a failure. Everything it creates is named polc-t<random>.
set -uo pipefail

polc=$1 netprobe=$2 source_dir=$3
policy=$source_dir/examples/policies/shop.pol
topology=$source_dir/examples/policies/shop.yaml

. "$source_dir/tests/e2e/e2e_lib.sh"
e2e_setup

declare -A address=([frontend-1]=10.0.1.10 [web-1]=10.0.1.20 [db-1]=10.0.1.30 [debug-1]=10.0.1.40)
expect_flow() { # expect_flow connects|blocked FROM TO PROTO PORT
  expect "$([ "$1" = connects ] && echo allowed || echo blocked)" "$2" "$4" "${address[$3]}" "$5"
}

echo "# lab $prefix"
must "$polc" lab up "$topology" --prefix "$prefix" > "$work/lab.log"
for endpoint in "${!address[@]}"; do serve "$endpoint" --tcp 80,81,5432 --udp 9000,9001; done
wait_servers_ready ${#address[@]}

echo "# before load: the lab routes everything"
expect_flow connects frontend-1 web-1 tcp 81
expect_flow connects web-1 frontend-1 udp 9001
expect_flow connects debug-1 db-1 tcp 5432

echo "# build and load"
must "$polc" build "$policy" --topology "$topology" -o "$work/out" --quiet
must "$polc" load "$work/out" --lab "$prefix" --pin-root "$pin_root" --state-dir "$state_dir" > "$work/load.log"
cat "$work/load.log"
for iface in pw-web1 pw-db1; do
  check "tc filters attached on $iface" 0 bash -c \
    "ip netns exec $prefix-n-node-1 tc filter show dev $iface ingress | grep -q polc_from_ep &&
     ip netns exec $prefix-n-node-1 tc filter show dev $iface egress | grep -q polc_to_ep"
done

host_options=(--lab "$prefix" --pin-root "$pin_root" --state-dir "$state_dir")
unused_rules() { # their places, file names cut to shop.pol
  "$polc" stats "${host_options[@]}" --unused | awk 'NR > 1 {sub(/.*\//, "", $2); print $2}' |
    sort | tr '\n' ' '
}
check "before any traffic every rule is unused" 0 \
  test "$(unused_rules)" = "shop.pol:12:5 shop.pol:20:5 shop.pol:9:5 "

echo "# isolated web-1: ingress only from frontend on tcp/80, udp/9000; egress only to db tcp/5432"
expect_flow connects frontend-1 web-1 tcp 80   # reply leaves web-1's isolated egress via conntrack
expect_flow connects frontend-1 web-1 udp 9000
check "stats --unused: the rules not yet exercised" 0 \
  test "$(unused_rules)" = "shop.pol:12:5 shop.pol:20:5 "
expect_flow blocked frontend-1 web-1 tcp 81
expect_flow blocked frontend-1 web-1 udp 9001
expect_flow blocked debug-1 web-1 tcp 80
expect_flow blocked db-1 web-1 tcp 80
expect_flow connects web-1 db-1 tcp 5432
expect_flow blocked web-1 db-1 tcp 81
expect_flow blocked web-1 frontend-1 tcp 80
expect_flow blocked web-1 debug-1 udp 9000
check "monitor --since-load: the drops sent since the load, before it started" 0 bash -c \
  "timeout 10 '$polc' monitor ${host_options[*]} --format json --since-load --count 1 --port 81 \
     --endpoint web-1 | grep '\"destination_port\":81' | grep -q '\"reason\":\"default-deny\"'"
check "status says when the node was loaded" 0 bash -c \
  "'$polc' status ${host_options[*]} | grep -Eq 'loaded [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z'"
echo "# isolated db-1 ingress: only web on tcp/5432"
expect_flow blocked frontend-1 db-1 tcp 5432
expect_flow blocked debug-1 db-1 tcp 5432
expect_flow connects db-1 debug-1 tcp 80     # db-1's egress is not isolated
echo "# non-isolated debug-1 and frontend-1 accept everything"
expect_flow connects frontend-1 debug-1 tcp 81
expect_flow connects frontend-1 debug-1 udp 9001
expect_flow connects debug-1 frontend-1 tcp 5432

echo "# polc monitor: drops by default, decoded with the build's names"
monitor_options=(--lab "$prefix" --pin-root "$pin_root" --state-dir "$state_dir")
start_monitor
expect_flow blocked debug-1 web-1 tcp 80
expect_flow blocked web-1 frontend-1 udp 9000
expect_flow connects frontend-1 web-1 tcp 80
kill -INT "$monitor"
check "the monitor stops on SIGINT" 0 wait "$monitor"
event_seen "default deny into web-1 reported" '"endpoint":"web-1"' '"direction":"ingress"' \
  '"verdict":"denied"' '"reason":"default-deny"' '"protocol":"tcp"' '"destination_port":80' \
  '"source":"10.0.1.40"' '"destination":"10.0.1.20"' '"name":"debug-1"' \
  '"labels":{"app":"debug"}'
event_seen "default deny out of web-1 reported" '"endpoint":"web-1"' '"direction":"egress"' \
  '"verdict":"denied"' '"protocol":"udp"' '"destination_port":9000' '"kind":"endpoint"'
check "no allowed packet reported at level drops" 1 grep -q '"verdict":"allowed"' "$work/events"

echo "# level flows: the first packet of each allowed flow, with its rule"
must "$polc" monitor "${monitor_options[@]}" --set-level flows > /dev/null
check "status shows the level and what was sent" 0 bash -c \
  "'$polc' status ${monitor_options[*]} | grep -q 'events: reports flows .* [1-9][0-9]* sent'"
start_monitor --count 1 --verdict allowed --endpoint web-1 --from app=frontend --to 10.0.1.0/24
expect_flow connects frontend-1 web-1 udp 9000
check "the monitor stops after --count events" 0 timeout 10 tail --pid="$monitor" -f /dev/null
event_seen "allowed new flow reported with its rule" '"verdict":"allowed"' '"new_flow":true' \
  '"reason":"rule"' '"policy":"web"' "shop.pol:9:5" '"action":"allow"' '"destination_port":9000' \
  '"name":"frontend-1"'
check "a bad level is refused" 1 "$polc" monitor "${monitor_options[@]}" --set-level loud
check "a bad selector is refused" 1 "$polc" monitor "${monitor_options[@]}" --from 10.0.1.0/8

echo "# polc stats: every packet counted by its rule or its reason, exactly"
# stat_of RULE-OR-(REASON) ENDPOINT COLUMN: packets (5) or bytes (6) of a line.
stat_of() {
  "$polc" stats "${host_options[@]}" --endpoint "$2" |
    awk -v what="$1" -v column="$3" '$2 ~ what {sum += $column} END {print sum + 0}'
}
rule_packets=$(stat_of "shop.pol:9:5" web-1 5) rule_bytes=$(stat_of "shop.pol:9:5" web-1 6)
denied_packets=$(stat_of "[(]default-deny[)]" web-1 5)
for i in 1 2 3; do expect_flow connects frontend-1 web-1 udp 9000; done
expect_flow blocked debug-1 web-1 udp 9000 # netprobe sends 3 datagrams
# A datagram of 13 bytes: 14 + 20 + 8 + 13 = 55 bytes from the Ethernet header on.
check "3 allowed datagrams counted by their rule" 0 \
  test "$(stat_of "shop.pol:9:5" web-1 5)" = $((rule_packets + 3))
check "and their bytes" 0 test "$(stat_of "shop.pol:9:5" web-1 6)" = $((rule_bytes + 3 * 55))
check "3 denied datagrams counted as web-1's default deny" 0 \
  test "$(stat_of "[(]default-deny[)]" web-1 5)" = $((denied_packets + 3))
must "$polc" stats "${host_options[@]}" --set-counting off > /dev/null
check "status says counting is off" 0 bash -c \
  "'$polc' status ${host_options[*]} | grep -q 'counters: off'"
expect_flow connects frontend-1 web-1 udp 9000
check "counting off: the datagram is not counted" 0 \
  test "$(stat_of "shop.pol:9:5" web-1 5)" = $((rule_packets + 3))
check "stats warns that counting is off" 0 bash -c \
  "'$polc' stats ${host_options[*]} 2>&1 >/dev/null | grep -q 'counting is off'"
must "$polc" stats "${host_options[@]}" --set-counting on > /dev/null
expect_flow connects frontend-1 web-1 udp 9000
check "counting on again: counted" 0 \
  test "$(stat_of "shop.pol:9:5" web-1 5)" = $((rule_packets + 4))
check "every rule exercised: --unused lists none" 0 bash -c \
  "'$polc' stats ${host_options[*]} --unused | grep -qx 'every rule has matched packets'"
check "stats --format json names each rule" 0 bash -c \
  "'$polc' stats ${host_options[*]} --format json | grep -q 'shop.pol:20:5\"'"
check "stats of an endpoint not loaded is refused" 1 "$polc" stats "${host_options[@]}" --endpoint nope-1

echo "# polc audit: web-1 lets through what policy denies, and reports it"
must "$polc" audit on --endpoint web-1 "${host_options[@]}" > /dev/null
check "status marks web-1 in audit" 0 bash -c \
  "'$polc' status ${host_options[*]} | grep -q 'web-1 on pw-web1.*AUDIT'"
start_monitor --endpoint web-1 --verdict audit --count 1 --port 80
expect_flow connects debug-1 web-1 tcp 80   # default deny into web-1, audited
check "the monitor stops after the audit event" 0 timeout 10 tail --pid="$monitor" -f /dev/null
event_seen "audited default deny reported" '"verdict":"audit"' '"reason":"default-deny"' \
  '"endpoint":"web-1"' '"name":"debug-1"' '"destination_port":80'
check "stats counts the audited packets apart" 0 bash -c \
  "'$polc' stats ${host_options[*]} --endpoint web-1 | grep -q '(default-deny) *ingress *audit'"
must "$polc" audit off --endpoint web-1 "${host_options[@]}" > /dev/null
expect_flow blocked debug-1 web-1 tcp 80   # enforced again at once
check "audit without endpoints is refused" 1 "$polc" audit on "${host_options[@]}"
check "audit of an unknown endpoint is refused" 1 "$polc" audit on --endpoint nope-1 "${host_options[@]}"

echo "# polc metrics: the same counters for Prometheus, printed and served on loopback"
denied_now=$("$polc" stats "${host_options[@]}" --endpoint web-1 |
  awk '$2 == "(default-deny)" && $3 == "ingress" && $4 == "denied" {print $5}')
series='polc_packets_total{node="node-1",endpoint="web-1",direction="ingress",verdict="denied",reason="default-deny"}'
check "metrics: web-1's default deny, as stats counts it" 0 bash -c \
  "'$polc' metrics ${host_options[*]} | grep -qxF '$series $denied_now'"
"$polc" metrics "${host_options[@]}" --rules --listen 127.0.0.1:0 2> "$work/metrics.err" &
metrics_server=$!
servers+=("$metrics_server")
for _ in $(seq 50); do grep -q serving "$work/metrics.err" && break; sleep 0.1; done
metrics_port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$work/metrics.err")
scrape() { # scrape PATH: the whole HTTP response
  exec 3<> "/dev/tcp/127.0.0.1/$metrics_port" || return 1
  printf 'GET %s HTTP/1.1\r\nHost: polc\r\n\r\n' "$1" >&3
  cat <&3
  exec 3<&-
}
scrape /metrics > "$work/scrape" 2>&1
check "scraped over HTTP: 200" 0 grep -q '^HTTP/1.1 200 OK' "$work/scrape"
check "scraped: the exposition format's type lines" 0 grep -q '^# TYPE polc_packets_total counter' "$work/scrape"
check "scraped: web-1's default deny" 0 grep -qF "$series $denied_now" "$work/scrape"
check "scraped: a series per rule with --rules" 0 \
  grep -q '^polc_rule_packets_total{policy="db",.*shop.pol:20:5",direction="ingress",verdict="allowed"} [1-9]' "$work/scrape"
check "another path is 404" 0 bash -c "$(declare -f scrape); metrics_port=$metrics_port; scrape /x | grep -q '^HTTP/1.1 404'"
kill -INT "$metrics_server"
check "metrics --listen stops on SIGINT" 0 wait "$metrics_server"
check "a bad --listen is refused" 1 "$polc" metrics "${host_options[@]}" --listen 127.0.0.1:99999

echo "# unload: everything connects again, nothing of polc is left"
must "$polc" unload --pin-root "$pin_root" --state-dir "$state_dir" > /dev/null
expect_flow connects debug-1 web-1 tcp 81
expect_flow connects web-1 frontend-1 tcp 80
expect_flow connects frontend-1 db-1 tcp 5432
check "no tc filter left on pw-web1" 1 bash -c \
  "ip netns exec $prefix-n-node-1 tc filter show dev pw-web1 ingress | grep -q . ||
   ip netns exec $prefix-n-node-1 tc filter show dev pw-web1 egress | grep -q ."
e2e_teardown
