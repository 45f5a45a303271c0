#!/usr/bin/env bash
# polc import k8s through the real CLI (docs/kubernetes.md): the example
# imported, formatted and built; the ways to name inputs; JSON; usage.
#
# usage: import.sh POLC JSON_QUERY SOURCE_DIR CASE
set -uo pipefail
polc=$1 json_query=$2 source_dir=$3 case=$4
example=$source_dir/examples/kubernetes/cluster.yaml
cluster=$source_dir/tests/unit/k8s/xyz_cluster.yaml

# shellcheck source=cli_case.sh
source "$source_dir/tests/cli/cli_case.sh"

case $case in
example)
  # What docs/kubernetes.md tells a user to run.
  run "$polc" import k8s "$example" -o policy
  expect_status 0
  expect_stdout "polc import k8s: wrote 4 files to policy: 3 namespace(s), 2 node(s), 4 endpoint(s), 2 service(s), 4 policy(ies)"
  run "$polc" fmt --check policy/main.pol policy/shop.pol policy/data.pol
  expect_status 0
  run_timeout=120 run "$polc" build policy/main.pol --topology policy/topology.yaml -o out -q
  expect_status 0
  [ -f out/manifest.json ] || fail "no out/manifest.json"
  run "$polc" explain policy/main.pol --topology policy/topology.yaml \
    --from shop.api-5f6c8d-k8s7q --to data.postgres-0 --proto tcp --port 5432
  expect_status 0
  expect_stdout "allowed"
  ;;
inputs)
  # A directory (sorted), stdin and a file give the same output.
  mkdir dir
  cp "$cluster" dir/1-cluster.yaml
  printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec: {podSelector: {}}\n' > dir/2-policy.yml
  echo 'not read' > dir/notes.txt
  run "$polc" import k8s dir -o from-dir
  expect_status 0
  cat dir/1-cluster.yaml > joined.yaml
  printf -- '---\n' >> joined.yaml
  cat dir/2-policy.yml >> joined.yaml
  "$polc" import k8s - -o from-stdin < joined.yaml > stdout.txt 2> stderr.txt || fail "stdin import failed"
  diff -r from-dir from-stdin || fail "a directory and stdin give different output"
  run "$polc" import k8s "$cluster" dir/2-policy.yml -o from-files
  diff -r from-dir from-files || fail "a directory and its files give different output"
  ;;
json)
  run "$polc" import k8s "$cluster" -o out --format json
  expect_status 0
  expect_json /ok true
  expect_json /endpoints 9
  expect_json /files/0 main.pol
  printf 'kind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec: {podSelector: {}}\n' > bad.yaml
  run "$polc" import k8s bad.yaml -o out2 --format json
  expect_status 1
  expect_json /ok false
  expect_json /diagnostics/0/name k8s-invalid
  [ ! -e out2 ] || fail "an import with errors wrote out2"
  ;;
usage)
  run "$polc" import k8s "$cluster"
  expect_status 2
  run "$polc" import k8s missing.yaml -o out
  expect_status 1
  expect_stderr "missing.yaml"
  run "$polc" import k8s "$cluster" -o out -W no-k8s-empty-selector
  expect_status 0
  ;;
esac
finish "import.$case"
