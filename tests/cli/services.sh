#!/usr/bin/env bash
# Services in the compiler (docs/language.md, "The topology file"): polc
# explain --to service/NAME judges the flow to the backend it is translated
# to, names the others with their verdicts, and refuses a service with no
# backend; polc test judges a flow to a vip on every backend a new flow may
# reach; echo requests to a vip are flows to it too; the errors of a wrong
# service or port.
#
# usage: services.sh POLC JSON_QUERY SOURCE_DIR CASE
set -uo pipefail
polc=$1 json_query=$2 source_dir=$3 case=$4

# shellcheck source=cli_case.sh
source "$source_dir/tests/cli/cli_case.sh"

cat > t.yaml <<'YAML'
cluster: c
nodes:
  - name: n1
    endpoints:
      - { name: web-1, labels: { app: web }, addresses: [10.0.2.1], interface: w1 }
      - { name: db-1, labels: { app: db }, addresses: [10.0.1.1], interface: d1, ports: { sql: tcp/6432 } }
      - { name: db-2, labels: { app: db, tier: new }, addresses: [10.0.1.2], interface: d2, ports: { sql: tcp/6432 } }
      - { name: db-3, labels: { app: db }, addresses: [10.0.1.3], interface: d3, ports: { sql: tcp/6432 } }
services:
  - name: db
    vip: 10.96.0.5
    ports: [ tcp/5432 -> sql ]
    selector: { app: db }
    weights: { db-3: 0 }
  - { name: empty, vip: 10.96.0.6, ports: [ tcp/80 ], selector: { app: none } }
  - { name: peer-only, ports: [ tcp/80 ], selector: { app: web } }
YAML
cat > p.pol <<'POL'
policy "db" {
  select app == "db" && tier == "new"
  ingress { allow from app == "web" on tcp/sql }
}
POL
inputs=(p.pol --topology t.yaml)
explain=("$polc" explain "${inputs[@]}" --from web-1 --proto tcp)

case $case in
explain)
  # Each source port picks a backend; db-3 is drained and never picked,
  # db-1 is allowed (its ingress is open), db-2 only by its rule.
  declare -A chosen=()
  for sport in 40000 40001 40002 40003 40004 40005 40006 40007; do
    run "${explain[@]}" --to service/db --port 5432 --sport "$sport" --format json
    expect_status 0
    expect_json /service/name db
    expect_json /service/backends/2/endpoint db-3
    expect_json /service/backends/2/chosen false
    expect_json /verdict allow
    name=$("$json_query" /to/text < stdout.txt)
    chosen[$name]=1
  done
  [ "${#chosen[@]}" -eq 2 ] || fail "8 flows went to ${!chosen[*]}, not to both db-1 and db-2"
  # db-2 admits only web: a flow from db-1 that lands there is dropped.
  run "$polc" explain "${inputs[@]}" --from db-1 --proto tcp --to service/db --port 5432 \
    --format json
  expect_json /service/backends/1/endpoint db-2
  expect_json /service/backends/1/verdict deny
  expect_json /service/backends/0/verdict allow
  run "${explain[@]}" --to 10.96.0.5 --port 5432 --sport 40000
  expect_status 0
  expect_stdout "service db at 10.96.0.5 tcp/5432: this flow (source port 40000) goes to"
  expect_stdout "db-3 10.0.1.3:6432  weight 0 (drained)  allowed"
  expect_stdout "on tcp/6432"
  run "${explain[@]}" --to service/empty --port 80
  expect_status 0
  expect_stdout "no backend can take a new flow: refused (TCP reset)"
  run "${explain[@]}" --to service/empty --port 80 --format json
  expect_json /service/refused true
  expect_json /verdict deny
  # An echo request to the vip is translated too, to a backend of its first
  # port; db-2 admits no ping.
  run "$polc" explain "${inputs[@]}" --from web-1 --proto icmp --icmp-type 8 --to service/db \
    --sport 40001
  expect_status 0
  expect_stdout "service db at 10.96.0.5 icmp echo: this flow (identifier 40001) goes to"
  expect_stdout "db-2 10.0.1.2  weight 1  denied"
  expect_stdout "db-1 10.0.1.1  weight 1  allowed"
  run "$polc" explain "${inputs[@]}" --from web-1 --proto icmp --icmp-type 8 --to 10.96.0.6
  expect_stdout "no backend can take a new flow: refused (ICMP unreachable)"
  ;;
test)
  cat > t.poltest <<'TEST'
policy p.pol
topology t.yaml
expect allow from web-1 to 10.96.0.5 on tcp/5432
expect deny from db-1 to 10.96.0.5 on tcp/5432
expect deny from web-1 to 10.96.0.6 on tcp/80
expect allow from db-1 to 10.96.0.5 on tcp/5432
expect allow from web-1 to 10.96.0.5 on tcp/5433
expect allow from web-1 to service/db on tcp/5432
expect allow from web-1 to service/dbb on tcp/5432
expect deny from web-1 to 10.96.0.5 on icmp type 8
TEST
  run "$polc" test t.poltest
  expect_status 1
  expect_stdout "ok   t.poltest:3  expect allow from web-1 to 10.96.0.5 on tcp/5432"
  expect_stdout "ok   t.poltest:4  expect deny from db-1 to 10.96.0.5 on tcp/5432"
  expect_stdout "ok   t.poltest:5  expect deny from web-1 to 10.96.0.6 on tcp/80"
  expect_stdout "FAIL t.poltest:6  expect allow from db-1 to 10.96.0.5 on tcp/5432"
  # db-3 is drained: no new flow reaches it, so its verdict does not count.
  expect_stdout "actual: deny: service db at 10.96.0.5 tcp/5432: denied to db-2 (10.0.1.2:6432): "
  expect_stdout "(a new flow goes to any of its 2 backends with a weight)"
  # Not a port of the service: judged at the vip itself, where only the
  # source's egress applies.
  expect_stdout "ok   t.poltest:7  expect allow from web-1 to 10.96.0.5 on tcp/5433"
  expect_stdout "ok   t.poltest:8  expect allow from web-1 to service/db on tcp/5432"
  expect_stdout "FAIL t.poltest:9  expect allow from web-1 to service/dbb on tcp/5432"
  expect_stdout "error: no service 'dbb' with a vip and ports; did you mean 'db'?"
  # An echo request: judged on the backends of the vip's first port.
  expect_stdout "ok   t.poltest:10  expect deny from web-1 to 10.96.0.5 on icmp type 8"
  expect_stdout "6 passed, 2 failed"
  ;;
errors)
  run "${explain[@]}" --to service/dbb --port 5432
  expect_status 2
  expect_stderr "polc explain: --to: unknown service 'dbb'; did you mean 'db'?"
  run "${explain[@]}" --to service/db --port 5433
  expect_status 2
  expect_stderr "polc explain: --to: service 'db' has no port tcp/5433; its ports: tcp/5432, icmp type 8"
  run "${explain[@]}" --to service/peer-only --port 80
  expect_status 2
  expect_stderr "service 'peer-only' has no vip"
  run "$polc" explain "${inputs[@]}" --from "entity world" --proto tcp --to service/db --port 5432
  expect_status 1
  expect_stderr "give an endpoint or an address"
  run "${explain[@]}" --to service/db --port 5432 --sport 0
  expect_status 2
  expect_stderr "polc explain: --sport: invalid value '0'; expected a number in 1..65535"
  ;;
*)
  echo "unknown case $case"
  exit 2
  ;;
esac
finish "services.$case"
