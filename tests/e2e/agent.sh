#!/usr/bin/env bash
# polc agent end to end, in one lab: a pipeline signs each node bundle and
# swaps it into the directory the agent watches (renamed in, as a sync
# would). The agent loads the first revision (traffic enforced), then a
# second one under a live TCP connection that both allow (nothing lost);
# refuses a bundle signed by a key it does not trust and one with a
# tampered object, each once (not retried while unchanged), the revision
# before still enforcing and `polc status` naming the failure; stops on
# SIGTERM with exit 0 and the datapath still enforcing. Last, an agent
# killed with SIGKILL in the middle of a load (stopped there by
# POLC_LOADER_PAUSE_AT) is started again and converges.
#
# usage: agent.sh POLC NETPROBE SOURCE_DIR
# Exit 77 (skipped) without root or BPF, unless POLC_REQUIRE_KERNEL=1.
set -uo pipefail

polc=$1 netprobe=$2 source_dir=$3
topology=$source_dir/examples/policies/shop.yaml

. "$source_dir/tests/e2e/e2e_lib.sh"
e2e_setup

declare -A address=([frontend-1]=10.0.1.10 [web-1]=10.0.1.20 [db-1]=10.0.1.30 [debug-1]=10.0.1.40)
placement=(--lab "$prefix" --pin-root "$pin_root" --state-dir "$state_dir")
source=$work/source # what the pipeline syncs into, the agent watches
record=$state_dir/node-1.agent
mkdir "$source"

# publish BUILD KEY [tamper]: bundle node-1, sign it, (change one object
# after signing,) and rename it into $source over the one there.
publish() {
  local stage=$work/stage
  rm -rf "$stage"
  "$polc" bundle "$1" --node node-1 -o "$stage" > /dev/null &&
    "$polc" sign "$stage/node-1" --key "$2" > /dev/null || return 1
  if [ "${3:-}" = tamper ]; then
    local object
    object=$(ls "$stage"/node-1/objects/*.o | head -1)
    printf 'x' >> "$object"
  fi
  rm -rf "$source/.previous"
  if [ -e "$source/node-1" ]; then mv "$source/node-1" "$source/.previous"; fi
  mv "$stage/node-1" "$source/node-1" && rm -rf "$source/.previous"
}
revision() { sha256sum "$source/node-1/manifest.json" | cut -c1-64; }

# start_agent LOG [VAR=VALUE...]: polc agent in the background; its pid: $agent.
start_agent() {
  local log=$1
  shift
  env "$@" "$polc" agent --source "$source" --node node-1 --trust "$work/pipeline.pub" \
    --interval 5 "${placement[@]}" >> "$log" 2>&1 &
  agent=$!
  servers+=("$agent")
}
field() { # field NAME: a field of the agent's record (the first, for last_attempt's)
  sed -n "s/.*\"$1\": \"\\{0,1\\}\\([^\",]*\\)\"\\{0,1\\},\\{0,1\\}$/\\1/p" "$record" 2> /dev/null | head -1
}
applied_is() { [ "$(field applied_revision)" = "$1" ] && [ "$(field outcome)" = ok ]; }
failed_after() { # failed_after N: the last attempt failed, and it is failure N+1 or later
  [ "$(field outcome)" = failed ] && [ "$(field loads_failed)" -gt "$1" ]
}
wait_until() { # wait_until COMMAND...: up to 20 s
  for _ in $(seq 200); do "$@" && return 0; sleep 0.1; done
  return 1
}

echo "# lab $prefix"
must "$polc" lab up "$topology" --prefix "$prefix" > "$work/lab.log"
for endpoint in "${!address[@]}"; do serve "$endpoint" --tcp 80,81,5432,5433; done
wait_servers_ready ${#address[@]}
must "$polc" build "$source_dir/examples/policies/shop.pol" --topology "$topology" -o "$work/v1" --quiet
must "$polc" build "$source_dir/tests/e2e/reload/shop-tables.pol" --topology "$topology" \
  -o "$work/v2" --quiet
must "$polc" keygen -o "$work/pipeline" > /dev/null
must "$polc" keygen -o "$work/intruder" > /dev/null

echo "# the first revision arrives"
start_agent "$work/agent1.log"
must publish "$work/v1" "$work/pipeline.key"
rev1=$(revision)
check "the agent loaded revision 1" 0 wait_until applied_is "$rev1"
cat "$work/agent1.log"
check "it logged the load" 0 grep -q "polc agent: node-1: loaded revision ${rev1:0:12}" \
  "$work/agent1.log"
expect allowed frontend-1 tcp "${address[web-1]}" 80
expect blocked frontend-1 tcp "${address[web-1]}" 81
expect allowed web-1 tcp "${address[db-1]}" 5432
check "metrics count the agent's load" 0 bash -c \
  "'$polc' metrics ${placement[*]} | grep -qx 'polc_agent_loads_total{node=\"node-1\",result=\"ok\"} 1'"
check "metrics name the applied revision" 0 bash -c \
  "'$polc' metrics ${placement[*]} | grep -q 'polc_agent_applied_revision_info{node=\"node-1\",revision=\"$rev1\"} 1'"

echo "# a new revision arrives while a connection runs"
stream kept frontend-1 web-1 80 # both revisions allow it
sleep 1
must publish "$work/v2" "$work/pipeline.key"
rev2=$(revision)
check "the agent loaded revision 2" 0 wait_until applied_is "$rev2"
sleep 0.5
stream_stop kept
echo "  kept connection: $result"
check "the connection lost nothing across the agent's load" 0 grep -q '^ok [0-9]' <<< "$result"
expect allowed frontend-1 tcp "${address[web-1]}" 81
expect blocked web-1 tcp "${address[db-1]}" 5432

for bad in intruder tamper; do
  echo "# a bad bundle ($bad) is refused once, revision 2 stays"
  failures=$(field loads_failed)
  if [ $bad = intruder ]; then
    must publish "$work/v1" "$work/intruder.key"
  else
    must publish "$work/v1" "$work/pipeline.key" tamper
  fi
  bad_revision=$(revision)
  check "the agent refused it ($bad)" 0 wait_until failed_after "$failures"
  check "the attempt was of that bundle ($bad)" 0 test "$(field revision)" = "$bad_revision"
  failures=$(field loads_failed)
  sleep 1.5
  check "not tried again while it does not change ($bad)" 0 test "$(field loads_failed)" = "$failures"
  check "revision 2 is still the applied one ($bad)" 0 test "$(field applied_revision)" = "$rev2"
  "$polc" status "${placement[@]}" > "$work/status-$bad.log"
  check "status is in sync with revision 2 ($bad)" 0 grep -q "revision ${rev2:0:16}" "$work/status-$bad.log"
  check "status shows the failed attempt ($bad)" 0 grep -q "revision ${bad_revision:0:16}  failed" \
    "$work/status-$bad.log"
  expect allowed frontend-1 tcp "${address[web-1]}" 81
  expect blocked web-1 tcp "${address[db-1]}" 5432
done
cat "$work/status-tamper.log"
check "the untrusted signature is named" 0 grep -qi "trust" "$work/status-intruder.log"
check "the tampered object is named" 0 grep -q "objects/" "$work/status-tamper.log"

echo "# SIGTERM: exit 0, nothing unloaded"
kill -TERM "$agent"
wait "$agent"
check "the agent exits 0 on SIGTERM" 0 test $? = 0
check "it says it stops" 0 grep -q "stopping" "$work/agent1.log"
check "status still in sync" 0 "$polc" status "${placement[@]}"
expect allowed frontend-1 tcp "${address[web-1]}" 81
expect blocked web-1 tcp "${address[db-1]}" 5432

echo "# an agent killed (SIGKILL) in the middle of a load, started again, converges"
must publish "$work/v1" "$work/pipeline.key"
rev3=$(revision)
start_agent "$work/agent2.log" POLC_LOADER_PAUSE_AT=attach
kill_paused "$agent" attach "$work/agent2.log"
check "the record says a load was under way" 0 test "$(field outcome)" = loading
check "status reports the interrupted load" 1 "$polc" status "${placement[@]}"
start_agent "$work/agent3.log"
check "the restarted agent loaded the revision" 0 wait_until applied_is "$rev3"
cat "$work/agent3.log"
check "it said it tries the interrupted load again" 0 grep -q "interrupted" "$work/agent3.log"
check "status in sync after the restart" 0 "$polc" status "${placement[@]}"
expect blocked frontend-1 tcp "${address[web-1]}" 81
expect allowed web-1 tcp "${address[db-1]}" 5432
kill -TERM "$agent"
wait "$agent"
check "the restarted agent exits 0 on SIGTERM" 0 test $? = 0

must "$polc" unload --pin-root "$pin_root" --state-dir "$state_dir" > /dev/null
e2e_teardown
