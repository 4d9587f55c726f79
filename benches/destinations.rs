//! The flusher with one, two and three destinations: the process's CPU time (every
//! thread's, from `/proc/self/task/*/schedstat`) from the first `record` until every
//! destination has written every point, each destination a discarding HTTP server on
//! 127.0.0.1 in the same process (what the servers cost is the same per destination and
//! is included). Every destination takes the 2.x dialect, so a batch is encoded once and
//! shared; what each extra destination adds is its own HTTP writes.
//!
//! `cargo bench -p monitoring-benches --bench destinations` (`DEST_POINTS=<n>`, default
//! 300,000 seed-shaped points; `DEST_ROUNDS=<r>`, default 7: the three set-ups
//! interleaved round by round, each first in turn, medians reported).

mod discard;
mod lines;

use std::time::{Duration, Instant};

use monitoring::{InfluxConfig, Monitor};

/// CPU seconds of every thread of this process so far.
fn cpu() -> f64 {
    let mut ns = 0u64;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        if let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) {
            ns += stat
                .split(' ')
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    ns as f64 / 1e9
}

/// CPU seconds for `n` points through `k` destinations.
async fn run(k: usize, n: u64) -> f64 {
    let mut builder = Monitor::builder()
        .without_config_sink()
        .queue_capacity(1 << 20)
        .batch_size(5000)
        .max_buffered_points(1 << 20)
        .flushing_period(Duration::from_millis(20))
        .shutdown_timeout(Duration::from_secs(60));
    for i in 0..k {
        let port = discard::server().await;
        let influx = InfluxConfig::v2("127.0.0.1", port, "org", "bucket", "token");
        builder = if i == 0 {
            builder.influx(influx)
        } else {
            builder.add_influx(influx)
        };
    }
    let monitor = builder.start().unwrap();
    let point = lines::seed_point();
    let started = Instant::now();
    let cpu_before = cpu();
    for i in 0..n {
        monitor.record(
            point
                .clone()
                .with_timestamp(1_600_000_000_000_000_000 + i as i64),
        );
        if i % 50_000 == 49_999 {
            tokio::task::yield_now().await;
        }
    }
    while !monitor.stats().sinks.iter().all(|s| s.written >= n) {
        assert!(started.elapsed() < Duration::from_secs(300), "stalled");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let took = cpu() - cpu_before;
    let report = monitor.shutdown().await;
    assert_eq!(report.dropped().total(), 0, "{report:?}");
    took
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let n: u64 = std::env::var("DEST_POINTS").map_or(300_000, |v| v.parse().unwrap());
    let rounds: usize = std::env::var("DEST_ROUNDS").map_or(7, |v| v.parse().unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut times = [Vec::new(), Vec::new(), Vec::new()];
        for round in 0..rounds {
            // Each set-up first in turn: no order effect.
            for i in 0..3 {
                let k = (round + i) % 3;
                times[k].push(run(k + 1, n).await);
            }
        }
        let t: Vec<f64> = times.into_iter().map(median).collect();
        println!("| destinations | CPU seconds for {n} points (median of {rounds}) | points per CPU second | each extra destination / the first |");
        println!("|---|---|---|---|");
        for (k, secs) in t.iter().enumerate() {
            let extra = if k == 0 {
                "—".to_owned()
            } else {
                format!("{:.2}", (secs - t[0]) / k as f64 / t[0])
            };
            println!("| {} | {secs:.3} | {:.0} | {extra} |", k + 1, n as f64 / secs);
        }
    });
}
