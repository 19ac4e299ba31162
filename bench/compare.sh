#!/usr/bin/env bash
# Whole-process comparisons of confine-exec with its peers, in one run on one machine (warm page cache).
#   bench/compare.sh [--runs N] [--quick] [--sections 1,2,3,4]   (run as root; installs hyperfine, libtree,
#   bubblewrap, jq)
# Prints medians (ms) and ratios against each peer measured in the same run; raw hyperfine JSON goes to
# bench/results/. Never used as a test assertion.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=50; quick=0; sections=1,2,3,4
while (($#)); do case $1 in --runs) runs=$2; shift 2;; --quick) quick=1; runs=10; shift;; --sections) sections=$2; shift 2;;
  *) echo "usage: $0 [--runs N] [--quick] [--sections 1,2,3,4]" >&2; exit 2;; esac; done
want() { [[ ",$sections," == *",$1,"* ]]; }

need=()
for t in hyperfine:hyperfine libtree:libtree bwrap:bubblewrap jq:jq; do command -v "${t%%:*}" >/dev/null || need+=("${t#*:}"); done
if ((${#need[@]})); then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; fi

bin=${CONFINE_EXEC_BIN:-$PWD/out/confine-exec}
[[ -x $bin ]] || dotnet publish src/launcher -c Release -o out --nologo -v quiet
out=bench/results; mkdir -p "$out"
work=$(mktemp -d /var/tmp/confine-bench.XXXXXX); trap 'rm -rf "$work"' EXIT
# A private closure cache: the warmup runs fill it, so confine-exec is measured as a repeated run (a cache
# hit); section 1 also measures the live scan (--no-closure-cache).
export CONFINE_EXEC_CACHE_DIR=$work/closure-cache
ldso=/lib64/ld-linux-x86-64.so.2

median() { jq -r ".results[$2].median * 1000" "$1"; }          # ms
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
hf() { local json=$1; shift; hyperfine -N --warmup 5 --runs "$runs" --export-json "$json" "$@" >/dev/null 2>&1 \
       || hyperfine --warmup 5 --runs "$runs" --export-json "$json" "$@" >/dev/null; }
# Like hf, but interleaved (sections 1 and 2): hyperfine times all runs of one command before the next, so on this shared VM a
# drift in machine speed over the seconds a section takes lands on whichever command ran in the slow stretch
# (same-command medians moved by 30% between runs here). hf_rounds runs rounds of 10 runs per command, the
# command order reversed every other round, and writes the medians over all rounds' times in hf's JSON shape.
hf_rounds() {
  local json=$1; shift; local cmds=("$@") n=$# rounds=$(( (runs + 9) / 10 )) r i parts=()
  for ((r = 0; r < rounds; r++)); do
    local order=() part="$json.$r"
    if ((r % 2)); then for ((i = n - 1; i >= 0; i--)); do order+=("${cmds[i]}"); done; else order=("${cmds[@]}"); fi
    hyperfine -N --warmup 3 --runs 10 --export-json "$part" "${order[@]}" >/dev/null 2>&1
    parts+=("$part")
  done
  local names; names=$(printf '%s\n' "${cmds[@]}" | jq -R . | jq -s .)
  jq -s --argjson names "$names" '[.[].results[]] as $all | {results: [ $names[] as $c |
      ([$all[] | select(.command == $c) | .times[]] | sort) as $t |
      {command: $c, median: (if ($t | length) % 2 == 1 then $t[($t | length) / 2 | floor]
                             else ($t[($t | length) / 2 - 1] + $t[($t | length) / 2]) / 2 end), runs: ($t | length)} ]}' \
     "${parts[@]}" > "$json"
  rm -f "${parts[@]}"
}

echo "machine: $(nproc) cores, $(uname -r), $(ldd --version | head -n1)"
echo "confine-exec $("$bin" --version 2>/dev/null || echo '?'), runs=$runs"
echo

# 1. Closure listing -------------------------------------------------------------------------------
if want 1; then
echo "## 1. Closure listing (median ms; ratio = confine-exec (cached) / peer; objects = lines of ld.so --list)"
printf '| program | objects | confine-exec | live scan | ld.so --list | libtree | ldd | vs ld.so | vs libtree | vs ldd |\n|---|---|---|---|---|---|---|---|---|---|\n'
for p in /usr/bin/git /usr/bin/python3 /usr/bin/gdb /usr/lib/postgresql/15/bin/postgres /usr/lib/llvm-14/bin/clangd; do
  [[ -x $p ]] || continue
  rp=$(realpath "$p"); j="$out/closure-$(basename "$p").json"
  n=$("$ldso" --list "$rp" | wc -l)
  hf_rounds "$j" "$bin --print-closure $p" "$bin --no-closure-cache --print-closure $p" "$ldso --list $rp" "libtree -p -vv $rp" "ldd $rp"
  c=$(median "$j" 0) v=$(median "$j" 1) l=$(median "$j" 2) t=$(median "$j" 3) d=$(median "$j" 4)
  printf '| %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %s | %s |\n' "$(basename "$p")" "$n" "$c" "$v" "$l" "$t" "$d" \
    "$(ratio "$c" "$l")" "$(ratio "$c" "$t")" "$(ratio "$c" "$d")"
done
echo
fi
want 2 || want 3 || want 4 || exit 0

# bwrap arguments reproducing confine-exec's closure binds by hand (files ro-bound, symlinks recreated).
bwrap_closure_args() {
  "$bin" --print-closure --json "$@" | jq -r '.[] |
    if .kind == "symlink" then "--symlink\n\(.target)\n\(.path)"
    elif (.target // null) != null then "--ro-bind\n\(.target)\n\(.path)"
    else "--ro-bind\n\(.path)\n\(.path)" end'
}
mapfile -t bw < <(bwrap_closure_args /usr/bin/true)
# The default mode's isolation by hand: user + mount namespace (confine-exec makes no IPC namespace), the
# closure, the API file systems and private temporary directories, the root read-only.
full_head=(--unshare-user --die-with-parent --tmpfs /)
full_tail=(--proc /proc --dev /dev --tmpfs /tmp --tmpfs /var/tmp --tmpfs /run --remount-ro /)

# 2. Launch ----------------------------------------------------------------------------------------
if want 2; then
echo "## 2. Launch of /usr/bin/true (median ms)"
# The .NET floor: a native-AOT program built like confine-exec that makes the chroot-only mount calls for the same
# list and nothing else (bench/LaunchFloor), so the row shows what the runtime and the kernel work alone cost.
floor=$work/floor/launch-floor
dotnet publish bench/LaunchFloor -c Release -o "$work/floor" --nologo -v quiet >/dev/null
j="$out/launch.json"
hf_rounds "$j" \
  "$bin -- /usr/bin/true" \
  "bwrap ${full_head[*]} ${bw[*]} ${full_tail[*]} /usr/bin/true" \
  "$bin --mode chroot-only -- /usr/bin/true" \
  "bwrap --tmpfs / ${bw[*]} --remount-ro / /usr/bin/true" \
  "unshare -Urm /usr/bin/true" \
  "/usr/bin/true" \
  "$floor ${bw[*]} -- /usr/bin/true"
ce=$(median "$j" 0) bf=$(median "$j" 1) cc=$(median "$j" 2) bc=$(median "$j" 3) us=$(median "$j" 4) tr=$(median "$j" 5) fl=$(median "$j" 6)
printf '| mode | confine-exec | bwrap | ratio | unshare -Urm (floor) | plain true |\n|---|---|---|---|---|---|\n'
printf '| full-apivfs | %.2f | %.2f | %s | %.2f | %.2f |\n' "$ce" "$bf" "$(ratio "$ce" "$bf")" "$us" "$tr"
printf '| chroot-only | %.2f | %.2f | %s | | |\n' "$cc" "$bc" "$(ratio "$cc" "$bc")"
printf '| .NET floor: chroot-only mount calls only (bench/LaunchFloor) | %.2f | %.2f | %s | | |\n' "$fl" "$bc" "$(ratio "$fl" "$bc")"
echo
fi

# 3. Scaling with the number of read-only binds ----------------------------------------------------
if want 3; then
echo "## 3. Launch with N extra read-only file binds (median ms)"
mkdir -p "$work/files"; for i in $(seq 1 3000); do : > "$work/files/f$i"; done
printf '| binds | confine-exec | bwrap | ratio |\n|---|---|---|---|\n'
xs=() ys=()
for n in 10 100 1000 3000; do
  props=(); bargs=()
  for i in $(seq 1 "$n"); do props+=("-p" "BindReadOnlyPaths=$work/files/f$i"); bargs+=("--ro-bind" "$work/files/f$i" "$work/files/f$i"); done
  # One argv string is capped at 128 KiB (MAX_ARG_STRLEN) and 3000 binds exceed it in a hyperfine command, so
  # the arguments come from files, expanded by bash without a fork (hyperfine subtracts the shell) for both tools.
  printf '%s\n' "${props[@]}" > "$work/props"; printf '%s\n' "${bw[@]}" "${bargs[@]}" > "$work/bargs"
  j="$out/scale-$n.json" jb="$out/scale-$n-bwrap.json"
  hyperfine -S bash --warmup 3 --runs "$runs" --export-json "$j" "$bin --mode chroot-only \$(<$work/props) -- /usr/bin/true" >/dev/null
  # bwrap re-reads the mount table for every bind (quadratic): few runs where one takes seconds.
  br=$runs; ((n >= 1000)) && br=3
  # bwrap caps its arguments at 9000 (MAX_ARGS): 3000 binds plus the closure exceed it, and it exits 1.
  hyperfine -i -S bash --warmup 1 --runs "$br" --export-json "$jb" "bwrap --tmpfs / \$(<$work/bargs) --remount-ro / /usr/bin/true" >/dev/null
  c=$(median "$j" 0) b=$(median "$jb" 0); xs+=("$n"); ys+=("$c")
  if [[ $(jq -r '[.results[0].exit_codes[] | select(. != 0)] | length' "$jb") != 0 ]]; then
    printf '| %s | %.2f | fails (exit %s) | |\n' "$n" "$c" "$(jq -r '.results[0].exit_codes[0]' "$jb")"
  else
    printf '| %s | %.2f | %.2f | %s |\n' "$n" "$c" "$b" "$(ratio "$c" "$b")"
  fi
done
awk -v xs="${xs[*]}" -v ys="${ys[*]}" 'BEGIN { n = split(xs, x, " "); split(ys, y, " ");
  for (i = 1; i <= n; i++) { sx += x[i]; sy += y[i]; sxx += x[i]*x[i]; sxy += x[i]*y[i] }
  b = (n*sxy - sx*sy) / (n*sxx - sx*sx); a = (sy - b*sx) / n;
  printf "fit: %.3f ms + %.4f ms per bind (%.1f us per bind)\n", a, b, b*1000 }'
echo
fi

# 4. Supervisor memory -----------------------------------------------------------------------------
want 4 || exit 0
echo "## 4. Peak RSS while supervising sleep (VmHWM, KiB)"
peak() { local pid=$1; sleep 0.5; awk '/VmHWM/ { print $2 }' "/proc/$pid/status"; }
mapfile -t bws < <(bwrap_closure_args /usr/bin/sleep)
"$bin" -- /usr/bin/sleep 2 & p1=$!; r1=$(peak $p1); wait $p1 || true
bwrap "${full_head[@]}" "${bws[@]}" "${full_tail[@]}" /usr/bin/sleep 2 & p2=$!; r2=$(peak $p2); wait $p2 || true
printf '| confine-exec | bwrap | ratio |\n|---|---|---|\n| %s | %s | %s |\n' "$r1" "$r2" "$(ratio "$r1" "$r2")"
