#!/usr/bin/env bash
# Instructions per call under callgrind: each scenario of benches/instructions.rs runs
# with N1 and N2 iterations, counting only inside its loop (--toggle-collect);
# (Ir(N2) - Ir(N1)) / (N2 - N1) also cancels the loop's own warm-up.
# Usage: scripts/callgrind.sh [scenario ...]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }
cargo bench -p monitoring-benches --bench instructions --no-run >/dev/null 2>&1
bin=$(ls -t target/release/deps/instructions-* | grep -v '\.d$' | head -1)
scenarios=("$@")
[ ${#scenarios[@]} -eq 0 ] && scenarios=(plain monitored_off monitored_on tracing autometrics calls_plain calls_timed encode_seed line_protocol_builder influxdb2 encode_hostile line_protocol_builder_hostile influxdb2_hostile encode_gzip_batch)
n1=2000; n2=12000
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ir() {
    valgrind --tool=callgrind --toggle-collect='*measured_loop*' --callgrind-out-file="$tmp/out" "$bin" "$1" "$2" >/dev/null 2>"$tmp/log"
    grep -E '^(summary|totals):' "$tmp/out" | head -1 | awk '{print $2}'
}
printf '%-24s %14s\n' scenario instructions/call
for s in "${scenarios[@]}"; do
    a=$(ir "$s" $n1); b=$(ir "$s" $n2)
    printf '%-24s %14.1f\n' "$s" "$(echo "($b - $a) / ($n2 - $n1)" | bc -l)"
done
