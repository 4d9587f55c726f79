#!/usr/bin/env bash
# Does a scenario's cost depend on where the process's code and statics live? Runs the
# scenario (default encode_seed) in P separate processes (default 20; ASLR gives each
# its own addresses), each R rounds of N calls (benches/instructions.rs's ROUNDS mode),
# and prints each process's fastest uncontended round, then the spread of those minima:
# max / min. BIN=<path> runs another build of benches/instructions.rs.
# Usage: scripts/spread.sh [scenario] [P] [R] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-encode_seed}
processes=${2:-20}
rounds=${3:-20}
n=${4:-20000}
cargo bench -p monitoring-benches --bench instructions --no-run >/dev/null 2>&1
bin=$(ls -t target/release/deps/instructions-* | grep -v '\.d$' | head -1)
# Each round's line: the contention probe's ns per step, then the scenario's ns per
# call. Only rounds whose probe is within 8% of the best probe seen in any process
# count (the core was not shared then; BENCHMARKS.md, section 0); a process without
# such a round is reported and left out.
out=$(mktemp); trap 'rm -f "$out"' EXIT
for ((p = 1; p <= processes; p++)); do
    ROUNDS=$rounds "${BIN:-$bin}" "$scenario" "$n" 2>&1 | awk -v p="$p" 'NF >= 2 { print p, $1, $2 }' >> "$out"
done
awk '
    { probe[NR] = $2; ns[NR] = $3; proc[NR] = $1; if (best == "" || $2 < best) best = $2; if ($1 > np) np = $1 }
    END {
        for (i = 1; i <= NR; i++) if (probe[i] <= best * 1.08 && (!(proc[i] in m) || ns[i] < m[proc[i]])) m[proc[i]] = ns[i]
        for (p = 1; p <= np; p++) {
            if (p in m) printf "process %2d: %.1f ns\n", p, m[p]
            else printf "process %2d: no uncontended round\n", p
        }
    }' "$out" | tee "$out.minima"
awk '/ ns$/ { print $3 }' "$out.minima" | sort -n | awk -v np="$processes" '{ v[NR] = $1 } END {
    printf "%d of %d processes had uncontended rounds: min %.1f ns, median %.1f ns, max %.1f ns, max/min %.3f\n", NR, np, v[1], v[int((NR + 1) / 2)], v[NR], v[NR] / v[1] }'
rm -f "$out.minima"
