#!/usr/bin/env bash
# Compares scenarios of benches/instructions.rs within the same moments of the machine:
# ROUNDS rounds of N calls of each scenario, interleaved, each round preceded by a
# throughput-bound probe (eight independent add/xor/rotate chains). Rounds whose probe
# ran within 10% of the run's fastest probe are "uncontended"; rounds whose probe ran
# 25% or more slower are "contended": another hardware thread was sharing the physical
# core (a single dependent chain and `rdtsc` do not slow down in them; see BENCHMARKS.md).
# Prints the number of rounds and the median ns per call of each scenario in both.
# Usage: scripts/rounds.sh <scenario>,<scenario>,... [N=3000] [ROUNDS=300]
# (monitored_on and monitored_off install different global monitors: not in one run.)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 <scenario>,<scenario>,... [N] [ROUNDS]" >&2; exit 2; }
names=$1; n=${2:-3000}; rounds=${3:-300}
cargo bench -p monitoring-benches --bench instructions --no-run >/dev/null 2>&1
bin=$(ls -t target/release/deps/instructions-* | grep -v '\.d$' | head -1)
tmp=$(mktemp); trap 'rm -f "$tmp"' EXIT
ROUNDS=$rounds "$bin" "$names" "$n" > "$tmp"
fastest=$(cut -d' ' -f1 "$tmp" | sort -g | head -1)
median() { sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print "-"}'; }
IFS=, read -ra columns <<< "$names"
for bucket in uncontended contended; do
    if [ "$bucket" = uncontended ]; then keep="\$1 <= $fastest * 1.1"; else keep="\$1 >= $fastest * 1.25"; fi
    printf '%-12s rounds %3d  probe %5s ns' "$bucket" "$(awk "$keep" "$tmp" | wc -l)" "$(awk "$keep {print \$1}" "$tmp" | median)"
    for i in "${!columns[@]}"; do
        printf '  %s %s' "${columns[$i]}" "$(awk "$keep {print \$$((i + 2))}" "$tmp" | median)"
    done
    echo
done
