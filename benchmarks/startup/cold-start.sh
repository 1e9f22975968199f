#!/usr/bin/env bash
# Cold start of short `gpff` commands, variants measured side by side in one run (round robin, so that
# a busy machine slows every variant alike). hyperfine is not needed: /usr/bin/time per run.
#
# usage: benchmarks/startup/cold-start.sh RUNS 'LABEL=COMMAND' 'LABEL=COMMAND' ...
# e.g.   benchmarks/startup/cold-start.sh 7 \
#          'jit=tools/Gpff.Cli/bin/Release/net10.0/Gpff.Cli info data/barho-train.extxyz' \
#          'r2r=r2r-publish/Gpff.Cli info data/barho-train.extxyz'
# Prints, per variant, the median and the minimum of the wall-clock time and the median user+system CPU
# time, in seconds. The first round is a discarded warm-up of the file cache (not of the JIT: every run
# is a new process).
set -euo pipefail
runs=${1:?usage: cold-start.sh RUNS LABEL=COMMAND...}; shift
[ $# -ge 1 ] || { echo "usage: cold-start.sh RUNS LABEL=COMMAND..." >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
labels=(); commands=()
for spec in "$@"; do labels+=("${spec%%=*}"); commands+=("${spec#*=}"); done
for ((r = 0; r <= runs; r++)); do
  for i in "${!labels[@]}"; do
    out="$tmp/$i.$r"
    /usr/bin/time -f '%e %U %S' -o "$out" bash -c "${commands[$i]}" >/dev/null 2>&1 \
      || { echo "${labels[$i]}: command failed: ${commands[$i]}" >&2; exit 1; }
    [ "$r" -eq 0 ] && rm -f "$out"   # warm-up round
  done
done
printf '%-24s %10s %10s %12s\n' variant 'median s' 'min s' 'cpu s (med)'
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for i in "${!labels[@]}"; do
  wall=$(cat "$tmp/$i".* | awk '{ print $1 }' | median)
  least=$(cat "$tmp/$i".* | awk '{ print $1 }' | sort -g | head -n 1)
  cpu=$(cat "$tmp/$i".* | awk '{ print $2 + $3 }' | median)
  printf '%-24s %10.3f %10.3f %12.3f\n' "${labels[$i]}" "$wall" "$least" "$cpu"
done
