#!/usr/bin/env bash
# Runs every test: installs what the tests need (Debian packages, as root), publishes the native-AOT binary
# once, runs both test projects, and prints one closing line "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")"

# Debian packages the tests use: compilers and patchelf for the ELF fixtures, util-linux for setpriv/unshare,
# strace to show a closure-cache hit skips the scan and how the launcher starts its child; libc6-dev's
# libc.a for the statically linked image (gcc pulls it in; named because the link needs it).
pkgs=(gcc gcc-multilib libc6-dev patchelf binutils util-linux fakeroot strace)
need=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p"); done
if ((${#need[@]})); then
  if [[ $(id -u) == 0 ]]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "test.sh: missing Debian packages ${need[*]} (install them, or run as root)" >&2; exit 1
  fi
fi

dotnet publish src/launcher -c Release -o out --nologo -v quiet
export CONFINE_EXEC_BIN="$PWD/out/confine-exec"

results="$PWD/artifacts/test-results"   # inside the checkout: tests assert /tmp and /run stay untouched
rm -rf "$results"; mkdir -p "$results"
rc=0
dotnet test Launcher.sln -c Release --nologo --logger "trx" --results-directory "$results" "$@" || rc=$?

# One closing line from the TRX files, in the plain form CI reads.
passed=0 failed=0 skipped=0
for f in "$results"/*.trx; do
  [[ -f $f ]] || continue
  line=$(grep -o '<Counters [^>]*>' "$f" | head -n1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$line"); f2=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$line")
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$line"); e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$line")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f2:-0})); skipped=$((skipped + ${t:-0} - ${e:-0}))
done
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit $rc
