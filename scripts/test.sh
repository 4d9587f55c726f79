#!/usr/bin/env bash
# The test command (README): installs the real servers the tests ship points to,
# InfluxDB 1.6.7 and VictoriaMetrics, from Debian packages when they are missing, then
# runs every test of the workspace. Each test starts its own server processes on free
# 127.0.0.1 ports with data directories under one temporary run directory, and stops
# them when it ends; the trap below also kills any left behind and removes the
# directory, on success and on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
command -v influxd >/dev/null 2>&1 || packages+=(influxdb influxdb-client)
command -v victoria-metrics >/dev/null 2>&1 || packages+=(victoria-metrics)
if ((${#packages[@]})); then
    echo "installing ${packages[*]} from Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    # Another apt process may hold the dpkg lock for a while: wait for it.
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        if $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"; then
            break
        fi
        [ "$attempt" -eq 10 ] && { echo "could not install ${packages[*]}" >&2; exit 1; }
        sleep 6
    done
fi
# The Debian binary of VictoriaMetrics prints nothing for --version: ask the package.
echo "servers: $(influxd version 2>/dev/null | head -1); VictoriaMetrics $(dpkg-query -W -f='${Version}' victoria-metrics 2>/dev/null || echo '(version unknown)')"

run_dir=$(mktemp -d -t monitoring-test.XXXXXX)
export MONITORING_TEST_RUN_DIR="$run_dir"
cleanup() {
    pkill -f -- "$run_dir" 2>/dev/null || true
    rm -rf -- "$run_dir"
}
trap cleanup EXIT INT TERM

# Every test binary runs even when an earlier one fails (a first run shows everything);
# cargo still exits non-zero if any test failed. Each binary's "Running tests/<suite>.rs"
# line says which suite runs.
cargo test --workspace --all-features --no-fail-fast "$@"
