#!/usr/bin/env bash
# An incremental build equals a clean one, byte for byte (issue #17): after
# each edit of a random sequence (rules added, removed or given another
# port, endpoints relabeled, added or removed, services and nodes added and
# removed: bench/build/gen_cluster --edits), `polc build` into the previous
# output with the warm compile cache (which reuses cached objects and
# hard-links the unchanged files of the output it replaces) writes exactly
# what a build without a cache into a new directory writes: every file, the
# manifest included.
#
# The cluster files are rewritten in place, as a commit changes them in a
# checkout, and every build runs from the same directory with the same
# relative input paths (the manifest records them). Edit k of seed S is
# the cluster of `gen_cluster ... --edits k --edit-seed S`, so a failure
# names the edit that broke it and the command that reproduces it.
#
# usage: check_incremental_build.sh POLC GEN_CLUSTER EDITS SEED...
#   e.g. tests/golden/check_incremental_build.sh build/cli/polc \
#          build/bench/build/gen_cluster 40 1 2 3     # longer, by hand
set -uo pipefail
polc=$1 gen=$2 edits=$3
shift 3
seeds=("$@")
# Small enough for about two seconds per clean build (clang runs for each
# of its five or so objects), big enough for several nodes, identities and
# specializations.
cluster=(--endpoints 24 --rules 50 --nodes 3)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

# generate K SEED: the cluster after K edits, written over repo/.
generate() {
  "$gen" "${cluster[@]}" --edits "$1" --edit-seed "$2" -o repo 2> gen.log ||
    { cat gen.log; fail "gen_cluster --edits $1 --edit-seed $2"; }
}

# build OUT [options...]: polc build of repo/ into OUT; a failed build fails
# the test (every edit keeps the cluster valid).
build() {
  local out=$1
  shift
  "$polc" build repo/cluster.pol --topology repo/cluster.yaml -o "$out" -q "$@" > build.log 2>&1 ||
    { cat build.log; fail "polc build -o $out $* after edit $k (edit seed $seed)"; }
}

cache_hits=0 links=0
for seed in "${seeds[@]}"; do
  rm -rf out
  k=0
  generate 0 "$seed"
  build out --cache-dir cache
  for ((k = 1; k <= edits; k++)); do
    generate "$k" "$seed"
    edit=$(grep "^gen_cluster: edit $k " gen.log | sed 's/^gen_cluster: //')
    header=$(find out/bpf/lib -type f | sort | head -1)
    inode=$(stat -c %i "$header")
    build out --cache-dir cache
    # "(N compiled, M from the cache)": the incremental build did reuse objects.
    grep -Eq ', [1-9][0-9]* from the cache' build.log && cache_hits=$((cache_hits + 1))
    # An unchanged file is hard-linked from the output the build replaced.
    [ "$(stat -c %i "$header")" = "$inode" ] && links=$((links + 1))
    build clean --no-cache
    if ! diff -r out clean > diff.txt; then
      head -100 diff.txt
      echo "FAIL: after $edit"
      echo "the incremental build (out/) differs from a clean one (clean/); the edits so far:"
      grep '^gen_cluster: edit ' gen.log
      echo "reproduce: $gen ${cluster[*]} --edits $k --edit-seed $seed -o DIR"
      exit 1
    fi
    rm -rf clean
  done
  mapfile -t kinds < <(sed -n 's/^gen_cluster: edit [0-9]* (edit seed [0-9]*): \([a-z-]*\):.*/\1/p' gen.log | sort -u)
  echo "edit seed $seed: incremental == clean after each of $edits edits" \
    "($(grep -c '^  - name: node-' repo/cluster.yaml) nodes, $(find out/objects -type f | wc -l) objects at the end;" \
    "${#kinds[@]} kinds of edit: ${kinds[*]})"
done
# Guard against testing nothing: the builds into out/ must have been incremental.
[ $cache_hits -gt 0 ] || fail "no incremental build found its objects in the cache"
[ $links -gt 0 ] || fail "no incremental build hard-linked an unchanged file from the previous output"
