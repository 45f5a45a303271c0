#!/usr/bin/env bash
# What every tests/cli/*.sh case script shares, sourced after it has set
# $json_query: a scratch directory it runs in (removed on exit), a bounded
# run of a command, expectations that count failures instead of stopping,
# and the verdict.

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# run CMD...: with a time bound, so that a read that blocks fails the test
# instead of hanging it; stdout in stdout.txt, stderr in stderr.txt, exit
# code in $status.
run() {
  echo "+ $*"
  timeout "${run_timeout:-20}" "$@" > stdout.txt 2> stderr.txt
  status=$?
  [ "$status" -eq 124 ] && fail "timed out: $*"
  cat -v stderr.txt | sed "s/^/  stderr: /" | head -20
  return 0
}

expect_status() {
  [ "$status" -eq "$1" ] || fail "exit $status, expected $1"
}

# The text must (or must not) appear in stderr or stdout (fixed string).
expect_stderr() {
  grep -qF -- "$1" stderr.txt || fail "stderr lacks: $1"
}
expect_no_stderr() {
  ! grep -qF -- "$1" stderr.txt || fail "stderr has: $1"
}
expect_stdout() {
  grep -qF -- "$1" stdout.txt || fail "stdout lacks: $1"
}

# expect_json POINTER VALUE: stdout is valid JSON with VALUE at POINTER.
expect_json() {
  local value
  if ! value=$("$json_query" "$1" < stdout.txt); then
    fail "stdout is not valid JSON with $1:"
    head -c 2000 stdout.txt
    return
  fi
  [ "$value" = "$2" ] || fail "$1 is '$value', expected '$2'"
}

# finish NAME: the case's verdict and exit code.
finish() {
  if [ "$failures" -ne 0 ]; then
    echo "$1: $failures failure(s)"
    exit 1
  fi
  echo "$1: ok"
  exit 0
}
