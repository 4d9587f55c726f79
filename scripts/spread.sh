#!/usr/bin/env bash
# Does a scenario's cost depend on where the process's code and statics live? Runs the
# scenario (default encode_seed) in P separate processes (default 20; ASLR gives each
# its own addresses), each R rounds of N calls (benches/instructions.rs's ROUNDS mode),
# the processes' rounds interleaved (scripts/spread.py), and prints each process's
# fastest uncontended round, then the spread of those minima: max / min.
# BIN=<path> runs another build of benches/instructions.rs; NO_ASLR=1 gives every
# process the same addresses (the control).
# Usage: scripts/spread.sh [scenario] [P] [R] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-encode_seed}
processes=${2:-20}
rounds=${3:-20}
n=${4:-20000}
cargo bench -p monitoring-benches --bench instructions --no-run >/dev/null 2>&1
bin=$(ls -t target/release/deps/instructions-* | grep -v '\.d$' | head -1)
exec python3 scripts/spread.py "${BIN:-$bin}" "$scenario" "$processes" "$rounds" "$n"
