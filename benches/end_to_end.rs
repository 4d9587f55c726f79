//! End to end: concurrent tasks calling a `#[monitored]` handler while the flusher
//! ships to real VictoriaMetrics (2.x API) and InfluxDB 1.6.7 (1.x API) on 127.0.0.1,
//! each without compression (the default for a loopback server) and with gzip level 1
//! (the default for a remote one). The monitor's worker and sinks run on their own
//! single-threaded runtime (one core), so its CPU time is read from that thread alone
//! (`/proc/thread-self/schedstat`).
//!
//! `cargo bench -p monitoring-benches --bench end_to_end` (needs `influxd` and
//! `victoria-metrics` on PATH; `scripts/test.sh` installs them). `E2E_ONLY=<part of
//! a test name>` (`sustained`, `idle`, `10,000`, `at once`) runs only those tests.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use http::StatusCode;
use monitoring::{monitored, InfluxConfig, Monitor};

#[monitored(route = "POST:/extractor")]
async fn handler(i: u64) -> StatusCode {
    std::hint::black_box(i);
    StatusCode::OK
}

/// The monitor on its own thread and runtime.
struct Flusher {
    runtime: tokio::runtime::Runtime,
    monitor: Monitor,
}

impl Flusher {
    fn start((influx, gzip): (InfluxConfig, u32), queue: usize) -> Flusher {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("flusher")
            .enable_all()
            .build()
            .unwrap();
        let monitor = runtime.block_on(async {
            Monitor::builder()
                .influx(influx)
                .gzip_level(gzip)
                .queue_capacity(queue)
                .max_buffered_points(queue.max(500_000))
                .shutdown_timeout(Duration::from_secs(120))
                .start()
                .unwrap()
        });
        monitor.install_global();
        Flusher { runtime, monitor }
    }

    /// CPU time of the flusher's thread so far.
    fn cpu(&self) -> Duration {
        self.runtime.block_on(async {
            tokio::spawn(async {
                let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
                Duration::from_nanos(s.split_whitespace().next().unwrap().parse().unwrap())
            })
            .await
            .unwrap()
        })
    }
}

/// One row of the results table; `written` are the points written in the measured
/// window.
fn row(
    target: &str,
    test: &str,
    (requests, written): (u64, u64),
    report: &monitoring::FlushReport,
    wall: Duration,
    cpu: Duration,
) {
    println!(
        "| {target} | {test} | {requests} | {written} | {:.2} s | {:.0} | {} | {:.3} s | {:.2}% |",
        wall.as_secs_f64(),
        written as f64 / wall.as_secs_f64(),
        report.dropped().total(),
        cpu.as_secs_f64(),
        100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
    );
}

fn installed(binary: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(binary).is_file()))
}

// The benchmark's scenarios in the order they run, read top to bottom.
#[allow(clippy::too_many_lines)]
fn main() {
    if !installed("influxd") || !installed("victoria-metrics") {
        eprintln!("end_to_end: influxd and victoria-metrics are needed (scripts/test.sh installs them); skipped");
        return;
    }
    // `E2E_ONLY=<part of a test name>` runs only the matching tests (for profiling).
    let only = std::env::var("E2E_ONLY").unwrap_or_default();
    let selected = |test: &str| only.is_empty() || test.contains(only.as_str());
    let servers = tokio::runtime::Runtime::new().unwrap();
    let (vm, influx) = servers.block_on(async {
        let vm = common::Victoria::start().await;
        let influx = common::Influx1::start().await;
        influx.create_db("bench").await;
        (vm, influx)
    });
    // Let both servers finish starting up (they share the two cores with the flusher).
    std::thread::sleep(Duration::from_secs(3));
    let load = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    println!("| target | test | requests | points | wall | points/s | dropped | flusher CPU | CPU share |");
    println!("|---|---|---|---|---|---|---|---|---|");
    // Each target without compression (the default for a loopback server) and with
    // gzip level 1 (the default for a remote one).
    let vm2 = InfluxConfig::v2("127.0.0.1", vm.port, "o", "b", "t");
    let influx1 = InfluxConfig::v1("127.0.0.1", influx.port, "bench");
    for (name, config) in [
        ("VictoriaMetrics /api/v2/write", (vm2.clone(), 0)),
        ("VictoriaMetrics /api/v2/write, gzip 1", (vm2, 1)),
        ("InfluxDB 1.6.7 /write", (influx1.clone(), 0)),
        ("InfluxDB 1.6.7 /write, gzip 1", (influx1, 1)),
    ] {
        if selected("sustained") {
            // 1. Sustained: as fast as 8 tasks can call the handler, for 3 s.
            let flusher = Flusher::start(config.clone(), 1 << 16);
            let cpu0 = flusher.cpu();
            let started = Instant::now();
            let sent: u64 = load.block_on(async {
                let tasks: Vec<_> = (0..8)
                    .map(|t| {
                        tokio::spawn(async move {
                            let mut n = 0u64;
                            let until = Instant::now() + Duration::from_secs(3);
                            while Instant::now() < until {
                                for i in 0..256 {
                                    handler(t * 1_000_000_000 + n + i).await;
                                }
                                n += 256;
                                tokio::task::yield_now().await;
                            }
                            n
                        })
                    })
                    .collect();
                let mut total = 0;
                for t in tasks {
                    total += t.await.unwrap();
                }
                total
            });
            let report = flusher.runtime.block_on(flusher.monitor.shutdown());
            let wall = started.elapsed();
            let cpu = flusher.cpu() - cpu0;
            let written = report.stats.sinks[0].written;
            row(
                name,
                "sustained, 8 tasks",
                (sent, written),
                &report,
                wall,
                cpu,
            );
            Monitor::uninstall_global();
        }
        if selected("idle") {
            // 2. Idle for 5 s: the flusher's baseline (timer, runtime) without requests.
            let flusher = Flusher::start(config.clone(), 1 << 16);
            let cpu0 = flusher.cpu();
            let started = Instant::now();
            std::thread::sleep(Duration::from_secs(5));
            let wall = started.elapsed();
            let cpu = flusher.cpu() - cpu0;
            let report = flusher.runtime.block_on(flusher.monitor.shutdown());
            row(name, "idle for 5 s", (0, 0), &report, wall, cpu);
            Monitor::uninstall_global();
        }
        if selected("10,000") {
            // 3. Paced: 10,000 requests per second; the flusher's CPU share over 5 s
            // of steady state, after 1 s of the same load (first connection, first
            // touch of its buffers) that is not counted.
            let flusher = Flusher::start(config.clone(), 1 << 16);
            let paced = |ticks: u64, first: u64| {
                load.block_on(async move {
                    let mut tick = tokio::time::interval(Duration::from_millis(10));
                    for t in 0..ticks {
                        tick.tick().await;
                        for i in 0..100 {
                            handler(first + t * 100 + i).await;
                        }
                    }
                    ticks * 100
                })
            };
            let warm_up = paced(100, 0);
            let cpu0 = flusher.cpu();
            let started = Instant::now();
            let sent = paced(500, warm_up);
            let wall = started.elapsed();
            let cpu = flusher.cpu() - cpu0;
            let report = flusher.runtime.block_on(flusher.monitor.shutdown());
            let written = report.stats.sinks[0].written;
            assert_eq!(written, warm_up + sent, "every point written: {report:?}");
            row(
                name,
                "10,000 req/s for 5 s",
                (sent, written - warm_up),
                &report,
                wall,
                cpu,
            );
            Monitor::uninstall_global();
        }
        if selected("at once") {
            // 4. Capacity: 1,000,000 points recorded by one thread as fast as it can,
            // drained by the flusher on one core (expand, encode, gzip, HTTP).
            // The flusher starts draining while the points are being recorded (from the
            // first full batch on), so its CPU and the wall time count from before the
            // first one.
            let flusher = Flusher::start(config.clone(), 1_000_000);
            let cpu0 = flusher.cpu();
            let started = Instant::now();
            for i in 0..1_000_000u64 {
                futures_lite_block(handler(i));
            }
            let report = flusher.runtime.block_on(flusher.monitor.shutdown());
            let wall = started.elapsed();
            let cpu = flusher.cpu() - cpu0;
            row(
                name,
                "1,000,000 recorded at once, drained",
                (1_000_000, report.stats.sinks[0].written),
                &report,
                wall,
                cpu,
            );
            Monitor::uninstall_global();
        }
    }
    drop(servers);
}

/// Polls a trivial handler to completion on this thread.
fn futures_lite_block<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f
            .as_mut()
            .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
        {
            return v;
        }
    }
}
