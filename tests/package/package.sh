#!/usr/bin/env bash
# The Debian package for real: cpack in the build tree, apt-get install of
# the .deb, then the INSTALLED polc (/usr/bin/polc, with its headers from
# /usr/share/polc) prints its version and compiles an example in a directory
# of its own, and the man pages, completion and unit are where dpkg says.
# The package is purged at the end (only if this test installed it).
#   package.sh BUILD_DIR SOURCE_DIR VERSION
# Skips (exit 77) without root, dpkg or apt-get, or when a polc package is
# already installed (or /usr/bin/polc is there); with POLC_REQUIRE_KERNEL=1
# a skip for lack of root fails.
set -uo pipefail
build=$1 source=$2 version=$3

skip() {
  echo "SKIP: $1"
  exit 77
}
if [ "$(id -u)" != 0 ]; then
  if [ "${POLC_REQUIRE_KERNEL:-0}" = 1 ]; then
    echo "FAIL: cannot run: needs root (apt-get install) (and POLC_REQUIRE_KERNEL=1)"
    exit 1
  fi
  skip "needs root (apt-get install)"
fi
for tool in dpkg dpkg-deb dpkg-query apt-get cpack; do
  command -v "$tool" > /dev/null || skip "needs $tool"
done
if dpkg-query -W -f='${Status}' polc 2> /dev/null | grep -q 'ok installed'; then
  skip "a polc package is already installed (not by this test): dpkg --purge polc"
fi
# Not from a package: dpkg would overwrite it and the purge remove it.
[ -e /usr/bin/polc ] && skip "/usr/bin/polc exists and no package installed it"

work=$(mktemp -d /tmp/polc-package.XXXX)
installed=0
cleanup() {
  local status=$?
  if [ $installed = 1 ]; then
    dpkg --purge polc > /dev/null || { echo "FAIL: dpkg --purge polc"; status=1; }
  fi
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; }
check() { # check NAME command...: the command succeeds
  local name=$1
  shift
  if "$@" > "$work/check.log" 2>&1; then ok "$name"; else fail "$name" && sed 's/^/     /' "$work/check.log"; fi
}
must() { # a step the rest depends on
  if ! "$@"; then
    echo "FAIL: step failed: $*"
    exit 1
  fi
}

# cpack in the build tree (the package's files are staged below $work).
start=$SECONDS
must cpack -G DEB -B "$work" --config "$build/CPackConfig.cmake" > "$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; exit 1; }
deb="$work/polc_${version}_$(dpkg --print-architecture).deb"
must test -f "$deb"
echo "     built $(basename "$deb") in $((SECONDS - start)) s"
depends=$(dpkg-deb -f "$deb" Depends)
echo "     Depends: $depends"
check "Depends: clang, linux-libc-dev and the linked libraries (dpkg-shlibdeps)" \
  bash -c "grep -q 'clang' <<< '$depends' && grep -q 'linux-libc-dev' <<< '$depends' &&
           grep -q 'libc6 (>=' <<< '$depends' && grep -q 'libstdc++6' <<< '$depends'"

# The dependencies are installed already (scripts/bootstrap): nothing to download.
start=$SECONDS
apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=120 "$deb" > "$work/apt.log" 2>&1
status=$?
dpkg-query -W -f='${Status}' polc 2> /dev/null | grep -q 'ok installed' && installed=1
[ $status = 0 ] || { cat "$work/apt.log"; echo "FAIL: apt-get install $deb"; exit 1; }
echo "     installed in $((SECONDS - start)) s"

files=$(dpkg -L polc)
for file in /usr/bin/polc /usr/share/polc/include/bpf/bpf_helpers.h \
  /usr/share/polc/include/bpf/bpf_helper_defs.h /usr/share/polc/include/bpf/bpf_endian.h \
  /usr/share/man/man1/polc.1.gz /usr/share/man/man1/polc-build.1.gz \
  /usr/share/man/man1/polc-load.1.gz /usr/share/bash-completion/completions/polc \
  /usr/lib/systemd/system/polc-agent.service /etc/default/polc; do
  check "dpkg -L polc lists $file, and it is there" \
    bash -c "grep -qxF '$file' <<< '$files' && test -s '$file'"
done
check "/etc/default/polc is a conffile" \
  bash -c "dpkg-query -W -f='\${Conffiles}' polc | grep -q '^ /etc/default/polc '"
check "/usr/bin/polc is stripped" bash -c "! readelf -S /usr/bin/polc | grep -q '\.debug_info'"
check "polc(1) is a man page" bash -c "zcat /usr/share/man/man1/polc.1.gz | grep -q '^\.TH POLC '"
check "the unit runs polc agent with the settings of /etc/default/polc" \
  bash -c "grep -qxF 'EnvironmentFile=-/etc/default/polc' /usr/lib/systemd/system/polc-agent.service &&
           grep -q '^ExecStart=/usr/bin/polc agent --source \${POLC_SOURCE} --node \${POLC_NODE} --trust \${POLC_TRUST}' \
             /usr/lib/systemd/system/polc-agent.service"

if command -v systemd-analyze > /dev/null; then
  check "systemd-analyze verify polc-agent.service" \
    systemd-analyze verify --man=no /usr/lib/systemd/system/polc-agent.service
fi

# The installed polc, nothing of the build tree: run from an empty
# environment in a directory of its own.
# (An internal error is still logged for internal_errors.none.)
run() {
  (cd "$work" && env -i PATH=/usr/bin:/bin HOME="$work" \
    ${POLC_INTERNAL_ERROR_LOG:+POLC_INTERNAL_ERROR_LOG="$POLC_INTERNAL_ERROR_LOG"} /usr/bin/polc "$@")
}
run --version > "$work/version" 2>&1
sed 's/^/     /' "$work/version"
check "--version: the version first" grep -qx "polc $version" "$work/version"
check "--version: the commit" grep -qE '^commit: ([0-9a-f]{7,}(-dirty)?|unknown)$' "$work/version"
check "--version: the clang and libbpf it was built with" \
  grep -qE '^built with: .*clang.*, libbpf [0-9]+\.[0-9]+$' "$work/version"
check "--version: compiles with libbpf's headers from /usr/share/polc/include" \
  grep -qE "^compiles with: /.*clang.*, libbpf's BPF headers from /usr/share/polc/include$" "$work/version"

cp "$source/examples/policies/shop.pol" "$source/examples/policies/shop.yaml" "$work/"
check "the installed polc builds examples/policies/shop.pol" \
  run build shop.pol --topology shop.yaml -o out --no-cache -q
check "the objects' debug info names /usr/share/polc/include/bpf, not /usr/include/bpf" \
  bash -c "grep -lF /usr/share/polc/include/bpf $work/out/objects/*.o | grep -q . &&
           ! grep -qF /usr/include/bpf $work/out/objects/*.o"

# Completion from the installed file and binary (bash-completion's helpers stubbed).
# shellcheck disable=SC2016 # expanded by the inner bash
check "bash completion: polc bu<TAB> offers build and bundle" bash -c '
  _init_completion() { words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; cur=${words[cword]}; prev=${words[cword-1]}; }
  _filedir() { COMPREPLY=(); }
  source /usr/share/bash-completion/completions/polc
  COMP_WORDS=(/usr/bin/polc bu); COMP_CWORD=1; _polc
  [ "${COMPREPLY[*]}" = "build bundle" ]'

check "dpkg --purge polc removes it" bash -c "dpkg --purge polc && ! test -e /usr/bin/polc"
installed=0
echo "$passed passed, $failed failed"
[ $failed = 0 ]
