#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time on a fresh copy of its seeds,
# so that a ctest run never writes into the source tree.
#   run_fuzzer.sh FUZZER WORKDIR SECONDS DICT SEED_DIR_OR_FILE...
# New inputs and any crash reproducer land in WORKDIR; a crash fails the test
# and prints the command that replays it.
set -euo pipefail
fuzzer=$1 workdir=$2 seconds=$3 dict=$4
shift 4

rm -rf "$workdir"
mkdir -p "$workdir/corpus" "$workdir/artifacts"
for seed in "$@"; do
  if [ -d "$seed" ]; then
    find "$seed" -maxdepth 1 -type f -exec cp {} "$workdir/corpus/" \;
  elif [ -f "$seed" ]; then
    cp "$seed" "$workdir/corpus/"
  fi
done

status=0
"$fuzzer" "$workdir/corpus" \
  -dict="$dict" \
  -max_total_time="$seconds" \
  -rss_limit_mb=2048 \
  -timeout=10 \
  -print_final_stats=1 \
  -artifact_prefix="$workdir/artifacts/" || status=$?

if [ "$status" -ne 0 ]; then
  echo "fuzzer failed (exit $status); reproduce with:" >&2
  for crash in "$workdir"/artifacts/*; do
    [ -e "$crash" ] && echo "  $fuzzer $crash" >&2
  done
fi
exit "$status"
