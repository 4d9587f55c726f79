//! The disk buffer's throughput (#14): points per second spooled while the database
//! is down, and replayed once it answers, in one process on this machine.
//!
//! `cargo bench -p monitoring-benches --bench spool` (`SPOOL_POINTS=<n>`, default
//! 500,000 seed-shaped `requests` points).
//!
//! 1. **Spool.** A monitor whose InfluxDB (1.x API) port refuses connections: every
//!    batch goes to the spool. Timed from the first `record` to the moment the sink
//!    reports every point on disk (the flusher's encoding included).
//! 2. **Replay into the sink path.** A new monitor on the same spool, its database a
//!    discarding HTTP server on 127.0.0.1 (answers 204 at once, parses nothing): what
//!    reading, checking and sending spooled records costs, the database left out.
//! 3. **Replay into InfluxDB 1.6.7** (when `influxd` is installed): the same into a
//!    real server, which bounds it.
//!
//! Also: `Monitor::record` per call while spooling and while healthy, in the same run
//! (the request path must not notice the spool).

#[path = "../tests/common/mod.rs"]
mod common;
mod discard;
mod lines;

use std::time::{Duration, Instant};

use monitoring::{InfluxConfig, Monitor, SinkStats};

fn sink(monitor: &Monitor) -> SinkStats {
    monitor.stats().sinks[0].clone()
}

fn builder(port: u16, spool: &std::path::Path) -> monitoring::MonitorBuilder {
    Monitor::builder()
        .influx(InfluxConfig::v1("127.0.0.1", port, "bench"))
        .spool_dir(spool)
        .queue_capacity(1 << 20)
        .flushing_period(Duration::from_millis(50))
        .retry(
            Duration::from_millis(20),
            Duration::from_millis(50),
            Duration::from_secs(3600),
        )
        .shutdown_timeout(Duration::from_secs(60))
}

/// Records `n` seed-shaped points; the ns per `record` call.
fn record(monitor: &Monitor, n: u64) -> f64 {
    let point = lines::seed_point();
    let started = Instant::now();
    for i in 0..n {
        monitor.record(
            point
                .clone()
                .with_timestamp(1_600_000_000_000_000_000 + i as i64),
        );
    }
    started.elapsed().as_nanos() as f64 / n as f64
}

async fn wait(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(300), "{what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Replays the spool in `dir` into the server at `port`: points per second.
async fn replay(dir: &std::path::Path, port: u16, n: u64) -> f64 {
    let started = Instant::now();
    let monitor = builder(port, dir).start().unwrap();
    wait("replayed", || sink(&monitor).replayed >= n).await;
    let rate = n as f64 / started.elapsed().as_secs_f64();
    let s = sink(&monitor);
    assert_eq!(
        (s.recovered, s.written, s.dropped.total()),
        (n, n, 0),
        "{s:?}"
    );
    monitor.shutdown().await;
    rate
}

fn main() {
    let n: u64 = std::env::var("SPOOL_POINTS").map_or(500_000, |v| v.parse().unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let down = common::free_port();

        // The request path while healthy (the discarding server) and while spooling.
        let healthy_port = discard::server().await;
        let healthy = Monitor::builder()
            .influx(InfluxConfig::v1("127.0.0.1", healthy_port, "bench"))
            .queue_capacity(1 << 20)
            .start()
            .unwrap();
        let healthy_ns = record(&healthy, n.min(100_000));
        healthy.shutdown().await;

        let monitor = builder(down, dir.path()).start().unwrap();
        let started = Instant::now();
        let spooling_ns = record(&monitor, n);
        wait("spooled", || sink(&monitor).spooled == n).await;
        let spool_rate = n as f64 / started.elapsed().as_secs_f64();
        monitor.shutdown().await;
        let bytes: u64 = std::fs::read_dir(dir.path().join("influx_v1"))
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();

        let copy = tempfile::tempdir().unwrap();
        copy_spool(dir.path(), copy.path());
        let sink_rate = replay(dir.path(), discard::server().await, n).await;
        let influx_rate = if common::installed("influxd") {
            let influx = common::Influx1::start().await;
            influx.create_db("bench").await;
            Some(replay(copy.path(), influx.port, n).await)
        } else {
            None
        };

        println!("| what | points/s |");
        println!("|---|---|");
        println!("| spool (database down), {n} points, {:.1} MB on disk | {spool_rate:.0} |", bytes as f64 / 1e6);
        println!("| replay into a discarding HTTP server | {sink_rate:.0} |");
        if let Some(rate) = influx_rate {
            println!("| replay into InfluxDB 1.6.7 | {rate:.0} |");
        }
        println!();
        println!("`Monitor::record`: {healthy_ns:.1} ns per call healthy, {spooling_ns:.1} ns while spooling");
    });
}

/// A copy of a spool directory (segments only), for a second replay.
fn copy_spool(from: &std::path::Path, to: &std::path::Path) {
    let (from, to) = (from.join("influx_v1"), to.join("influx_v1"));
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}
