# Shared by the golden scripts (sourced, not run): compare what polc produced
# with the golden, or, with POLC_UPDATE_GOLDEN=1, replace the golden with it.
# A missing golden is a failure; a mismatch prints the diff and the exact
# command that regenerates it.

# golden_check GOLDEN ACTUAL NAME TEST: GOLDEN and ACTUAL are both files or
# both directories; NAME is how the golden is named in messages (e.g.
# "build/shop"), TEST the ctest name that regenerates it. Returns 0 when
# identical or updated, 1 otherwise.
golden_check() {
  local golden=$1 actual=$2 name=$3 test=$4
  if [ "${POLC_UPDATE_GOLDEN:-0}" = 1 ]; then
    if [ -d "$actual" ]; then
      rm -rf "$golden"
      mkdir -p "$golden"
      cp -r "$actual/." "$golden/"
    else
      mkdir -p "$(dirname "$golden")"
      cp "$actual" "$golden"
    fi
    echo "updated $golden"
    return 0
  fi
  if [ ! -e "$golden" ]; then
    echo "missing golden $golden; create it with:"
    echo "  POLC_UPDATE_GOLDEN=1 ctest --test-dir build -R $test   and review it"
    return 1
  fi
  if diff -ru "$golden" "$actual"; then
    echo "golden $name: identical"
    return 0
  fi
  echo
  echo "golden $name differs. If the change is intended, regenerate and review:"
  echo "  POLC_UPDATE_GOLDEN=1 ctest --test-dir build -R $test && git diff tests/golden"
  return 1
}
