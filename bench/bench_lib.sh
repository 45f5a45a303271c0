# Shared by the benchmark suites' run scripts (sourced, not run).

# bench_cannot_run SUITE REASON: this machine cannot run the suite. Exit 77
# (skipped), but a failure where POLC_REQUIRE_KERNEL=1 (CI), so that a smoke
# ctest never counts as run when it was skipped.
bench_cannot_run() {
  echo "bench/$1: cannot run: $2" >&2
  [ "${POLC_REQUIRE_KERNEL:-0}" = 1 ] && exit 1
  exit 77
}
