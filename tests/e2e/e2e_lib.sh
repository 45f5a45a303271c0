# Shared by the end-to-end scripts (sourced, not run): skipping, a random
# prefix for everything created, cleanup on every exit, and checks.
#
# A script sets polc, netprobe before sourcing, then calls e2e_setup, and
# registers its traffic servers (and every other process it starts in the
# background: they get SIGTERM on exit) in the array `servers`.

skip() {
  if [ "${POLC_REQUIRE_KERNEL:-0}" = 1 ]; then
    echo "FAIL: cannot run: $1 (and POLC_REQUIRE_KERNEL=1)"
    exit 1
  fi
  echo "SKIP: $1"
  exit 77
}

e2e_setup() {
  [ "$(id -u)" = 0 ] || skip "needs root (network namespaces, tc, BPF)"
  command -v ip > /dev/null || skip "needs iproute2 (ip)"
  [ -d /sys/fs/bpf ] || skip "no /sys/fs/bpf: kernel without BPF filesystem"
  suffix=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
  prefix="polc-t$suffix"
  pin_root="/sys/fs/bpf/$prefix"
  state_dir="/run/$prefix"
  work=$(mktemp -d "/tmp/$prefix.XXXX")
  servers=()
  passed=0 failed=0
  trap e2e_cleanup EXIT
  trap 'exit 130' INT TERM
}

e2e_cleanup() {
  local status=$?
  # SIGCONT too: a process stopped (POLC_LOADER_PAUSE_AT) would never see the SIGTERM.
  for pid in "${servers[@]}"; do kill "$pid" 2> /dev/null && kill -CONT "$pid" 2> /dev/null; done
  wait 2> /dev/null
  "$polc" unload --pin-root "$pin_root" --state-dir "$state_dir" > /dev/null 2>&1
  "$polc" lab down --prefix "$prefix" > /dev/null 2>&1
  # Belt and braces: whatever a crash in polc itself may have left.
  for ns in $(ip netns list 2> /dev/null | awk '{print $1}' | grep "^$prefix-"); do ip netns delete "$ns"; done
  rm -rf "$pin_root" "$state_dir" "$work"
  exit $status
}

check() { # check NAME expected(0=succeeds,1=fails) command...
  local name=$1 expected=$2
  shift 2
  "$@" > /dev/null 2>&1
  local got=$?
  [ $got -ne 0 ] && got=1
  if [ $got -eq "$expected" ]; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name (expected $([ "$expected" = 0 ] && echo success || echo failure))"
  fi
}

must() { # a step that must succeed for the rest to make sense
  if ! "$@"; then
    echo "FAIL: step failed: $*"
    failed=$((failed + 1))
    echo "$passed passed, $failed failed"
    exit 1
  fi
}

# serve ENDPOINT ARGS...: a netprobe echo server in the endpoint's namespace.
serve() {
  local endpoint=$1
  shift
  ip netns exec "$prefix-e-$endpoint" "$netprobe" serve "$@" \
    --ready-file "$work/ready-$endpoint" --seconds 300 &
  servers+=($!)
}

wait_servers_ready() { # wait_servers_ready COUNT
  for _ in $(seq 50); do
    [ "$(ls "$work"/ready-* 2> /dev/null | wc -l)" -eq "$1" ] && return 0
    sleep 0.1
  done
  echo "FAIL: servers not ready"
  exit 1
}

# expect allowed|blocked FROM tcp|udp|ping ADDRESS [PORT]
expect() {
  local expected=0 verdict=$1 from=$2 what=$3 to=$4 port=${5:-}
  [ "$verdict" = blocked ] && expected=1
  if [ "$what" = ping ]; then
    check "$from -> $to ping $verdict" $expected \
      ip netns exec "$prefix-e-$from" "$netprobe" ping "$to" --timeout-ms 800
  else
    check "$from -> $to $what/$port $verdict" $expected \
      ip netns exec "$prefix-e-$from" "$netprobe" connect "$what" "$to" "$port" --timeout-ms 800
  fi
}

# stream NAME FROM TO PORT: one TCP connection (TO an endpoint named in the
# script's associative array `address`) that sends a numbered line
# every 20 ms and reads it back from the echo server, until $work/stop-NAME
# exists. Its log ends with "ok N" when every line came back in order, or
# says where it stalled, lost data, or was reset.
declare -A stream_pid
stream() {
  local name=$1 from=$2 to=${address[$3]} port=$4
  ip netns exec "$prefix-e-$from" bash -c '
    exec 3<> "/dev/tcp/$1/$2" || { echo "connect failed"; exit 2; }
    n=0
    while [ ! -e "$3" ]; do
      n=$((n + 1))
      echo "seq $n" >&3 || { echo "reset: send failed at $n"; exit 3; }
      IFS= read -r -t 2 line <&3 || { echo "stalled at $n"; exit 4; }
      [ "$line" = "seq $n" ] || { echo "lost data: sent seq $n, got \"$line\""; exit 5; }
      sleep 0.02
    done
    echo "ok $n"' stream "$to" "$port" "$work/stop-$name" > "$work/stream-$name.log" 2>&1 &
  stream_pid[$name]=$!
  servers+=($!)
}
stream_stop() { # stream_stop NAME: stops it and waits for its last line
  touch "$work/stop-$1"
  wait "${stream_pid[$1]}"
  result=$(cat "$work/stream-$1.log")
}
alive() { kill -0 "${stream_pid[$1]}" 2> /dev/null; }

# start_monitor ARGS...: `polc monitor --format json ARGS` in the background
# (killed by the cleanup if a check fails first), into $work/events, once
# it is watching; options placing it in $monitor_options. Its pid: $monitor.
start_monitor() {
  "$polc" monitor "${monitor_options[@]}" --format json "$@" > "$work/events" 2> "$work/monitor.err" &
  monitor=$!
  servers+=("$monitor")
  for _ in $(seq 50); do grep -q watching "$work/monitor.err" && return 0; sleep 0.1; done
  echo "FAIL: the monitor did not start: $(cat "$work/monitor.err")"
  exit 1
}

# event_seen NAME FRAGMENT...: one line of $work/events holds every fragment.
event_seen() {
  local name=$1 lines
  shift
  lines=$(cat "$work/events")
  for fragment in "$@"; do lines=$(grep -F -- "$fragment" <<< "$lines"); done
  check "$name" 0 test -n "$lines"
}

# killed_at STEP POLC_LOAD_ARGS...: a load that stops itself at STEP
# (POLC_LOADER_PAUSE_AT, SIGSTOP), then is killed with kill -9 there.
killed_at() {
  local step=$1
  shift
  POLC_LOADER_PAUSE_AT=$step "$polc" load "$@" > "$work/kill.log" 2>&1 &
  kill_paused $! "$step" "$work/kill.log"
}

# kill_paused PID STEP LOG: once the process (started with
# POLC_LOADER_PAUSE_AT=STEP, its stderr in LOG) has stopped itself at STEP,
# kill -9 it there.
kill_paused() {
  local pid=$1 step=$2 log=$3
  for _ in $(seq 200); do
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2> /dev/null)" = T ] && break
    sleep 0.05
  done
  check "the load paused at $step" 0 grep -q "paused at step $step" "$log"
  kill -9 "$pid"
  wait "$pid" 2> /dev/null
}

# polc_hooks_left NETNS: prints every tc filter and every clsact qdisc on
# any interface of the namespace (the lab makes neither: all are polc's).
polc_hooks_left() {
  local ns=$1 dev
  for dev in $(ip -n "$ns" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
    tc -n "$ns" filter show dev "$dev" ingress | sed "s/^/$dev ingress: /"
    tc -n "$ns" filter show dev "$dev" egress | sed "s/^/$dev egress: /"
  done
  tc -n "$ns" qdisc show | grep clsact
}

# check_nothing_left NAME NETNS: after an unload, no tc filter and no
# clsact qdisc on any interface of the namespace, and no pin.
check_nothing_left() {
  check "$1: no tc filter or clsact qdisc left in $2" 1 bash -c \
    "$(declare -f polc_hooks_left); polc_hooks_left '$2' | grep -q ."
  check "$1: no pin left" 1 bash -c "find '$pin_root' -mindepth 1 2> /dev/null | grep -q ."
}

# After the last unload: no pin is left, the lab comes down and leaves no
# namespace behind; then the summary line and the exit status.
e2e_teardown() {
  check "no pins left" 1 bash -c "find '$pin_root' -mindepth 1 2> /dev/null | grep -q ."
  for pid in "${servers[@]}"; do kill "$pid" 2> /dev/null; done
  wait 2> /dev/null
  servers=()
  must "$polc" lab down --prefix "$prefix" > /dev/null
  check "no namespace left" 1 bash -c "ip netns list | grep -q '^$prefix-'"
  e2e_finish
}

e2e_finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
