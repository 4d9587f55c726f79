#!/usr/bin/env bash
# What each attribute costs beyond its call: generates one crate with N handlers
# `async fn h<i>(x: u32) -> StatusCode` in three binaries (plain, #[monitored(route =
# ..)], #[tracing::instrument(skip_all)]), each calling every handler once, and reports
# the `.text` bytes of each release binary, the bytes per handler over plain, and the
# release and debug rebuild times after touching the binary's file (ROUNDS interleaved
# rounds, median). Usage: scripts/codesize.sh [N] [ROUNDS]   (defaults 200, 3)
# CALL=boxed calls each handler as a router does (its future boxed as a
# `Pin<Box<dyn Future>>`, polled through the vtable) instead of awaiting it inline in
# main, where every handler's code is inlined into main's future (twice: tokio's
# current-thread block_on polls it on two paths).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
n=${1:-200}
rounds=${2:-3}
dir=target/codesize
mkdir -p "$dir/src/bin"
export CARGO_TARGET_DIR="$root/target/codesize-target"

cat > "$dir/Cargo.toml" <<EOF
[package]
name = "codesize"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
monitoring = { path = "$root" }
http = "1"
tokio = { version = "1", default-features = false, features = ["rt"] }
tracing = { version = "0.1", default-features = false, features = ["std", "attributes"] }
EOF
cp "$root/Cargo.lock" "$dir/Cargo.lock"

# One binary: N handlers with the given attribute line, and a main that runs each once.
generate() {
    local name=$1 attr=$2
    {
        echo "use http::StatusCode;"
        for ((i = 0; i < n; i++)); do
            printf "${attr}\n" "$i"
            echo "async fn h$i(x: u32) -> StatusCode { if x % $((i + 2)) == 0 { StatusCode::OK } else { StatusCode::NOT_FOUND } }"
        done
        echo "fn main() {"
        echo "    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();"
        echo "    let mut sum = 0u32;"
        echo "    rt.block_on(async {"
        if [ "${CALL:-inline}" = boxed ]; then
            echo "        type Boxed = std::pin::Pin<Box<dyn std::future::Future<Output = StatusCode>>>;"
            echo "        let handlers: Vec<Boxed> = vec!["
            for ((i = 0; i < n; i++)); do
                echo "            Box::pin(h$i(std::hint::black_box($i))),"
            done
            echo "        ];"
            echo "        for h in handlers { sum += u32::from(h.await.as_u16()); }"
        else
            for ((i = 0; i < n; i++)); do
                echo "        sum += u32::from(h$i(std::hint::black_box($i)).await.as_u16());"
            done
        fi
        echo "    });"
        echo "    println!(\"{sum}\");"
        echo "}"
    } > "$dir/src/bin/$name.rs"
}
generate plain ""
generate monitored '#[monitoring::monitored(route = "GET:/h%s")]'
generate traced "#[tracing::instrument(skip_all)]"

variants=(plain monitored traced)
echo "building the dependencies (release and debug)..."
(cd "$dir" && cargo build --release --quiet && cargo build --quiet)

text() { size -A "$CARGO_TARGET_DIR/release/$1" | awk '$1 == ".text" { print $2 }'; }
declare -A release debug
for ((r = 0; r < rounds; r++)); do
    for v in "${variants[@]}"; do
        for profile in release debug; do
            touch "$dir/src/bin/$v.rs"
            flag=""
            [ "$profile" = release ] && flag="--release"
            start=$(date +%s.%N)
            (cd "$dir" && cargo build $flag --quiet --bin "$v")
            took=$(echo "$(date +%s.%N) - $start" | bc -l)
            if [ "$profile" = release ]; then release[$v]+="$took "; else debug[$v]+="$took "; fi
        done
    done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
base=$(text plain)
printf '%-10s %12s %16s %14s %12s\n' variant ".text bytes" "bytes/handler" "release (s)" "debug (s)"
for v in "${variants[@]}"; do
    t=$(text "$v")
    per=$(echo "($t - $base) / $n" | bc -l)
    printf '%-10s %12d %16.0f %14.2f %12.2f\n' "$v" "$t" "$per" \
        "$(echo "${release[$v]}" | median)" "$(echo "${debug[$v]}" | median)"
done
echo "(N = $n handlers, $rounds rounds, rebuild after touching the binary's file, median)"
