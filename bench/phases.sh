#!/usr/bin/env bash
# In-process timing of a launch, phase by phase:  bench/phases.sh [--runs N]
# Builds confine-exec with -p:ConfineExecPhases=true (src/launcher/Diagnostics/LaunchPhases.cs: every mark is
# [Conditional], so the product image holds none of it) into bench/results/phases, launches /usr/bin/true N times
# in each mode (warm closure cache, private to this run) and prints the median time from Main to each point and
# the difference of consecutive medians. Whole-process comparisons stay in compare.sh: this shows where the time
# inside the process goes, which runs of two builds cannot resolve below ~0.1 ms (docs/cli-decisions.md).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=50
while (($#)); do case $1 in --runs) runs=$2; shift 2;; *) echo "usage: $0 [--runs N]" >&2; exit 2;; esac; done

out=bench/results/phases
# Its own intermediate directory: the product build in obj/ is left as it is.
dotnet publish src/launcher -c Release -p:ConfineExecPhases=true -p:IntermediateOutputPath=obj/phases/ -o "$out" --nologo -v quiet
bin=$out/confine-exec
work=$(mktemp -d /var/tmp/confine-phases.XXXXXX); trap 'rm -rf "$work"' EXIT
export CONFINE_EXEC_CACHE_DIR=$work/closure-cache

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) exit; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "machine: $(nproc) cores, $(uname -r); runs=$runs per mode; microseconds since Main (median)"
for mode in full-apivfs chroot-only; do
  # Three launches first: the cache is filled and the binary is in the page cache.
  for ((i = 0; i < runs + 3; i++)); do "$bin" --mode "$mode" -- /usr/bin/true 2>&1 >/dev/null | grep '^confine-exec phases' || true; done \
    | tail -n "$runs" > "$work/$mode"
  echo
  echo "## $mode"
  printf '| phase | since Main | phase itself |\n|---|---|---|\n'
  prev=0
  for key in parsed closure host planned validated compiled supervising child-execed child-exited exec; do
    m=$(grep -o " $key=[0-9]*" "$work/$mode" | cut -d= -f2 | median) || true
    [[ -n $m ]] || continue
    printf '| %s | %s | %s |\n' "$key" "$m" "$(awk -v a="$m" -v b="$prev" 'BEGIN { print a - b }')"
    prev=$m
  done
done
