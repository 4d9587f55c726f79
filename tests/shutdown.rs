//! `shutdown()` keeps its deadline and accounts for every point: a write in flight to a
//! hung server is cut at the deadline, a backoff is cut short when shutdown begins, no
//! sink task outlives the call. Against a real InfluxDB 1.6.7 that the tests stop
//! (SIGSTOP, kill -9) and restart, and the fault server for the timeout matrix. (Its
//! own test binary: the deadline is the promise, timed with no other suite running.)

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fault_server::{FaultServer, Reply};
use common::wait_until;
use monitoring::{BoxError, DropReason, FlushReport, InfluxConfig, Monitor, Point};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// How late `shutdown()` may return on this busy 2-core machine: the runtime gives
/// itself 60 ms past the deadline (two `SINK_STOP_GRACE`s), the rest is scheduling
/// (the README states this margin).
const LATE: Duration = Duration::from_millis(250);

/// The deadline is the promise under test: the tests of this binary run one at a time
/// (each takes this lock), so no other monitor of the binary competes for the cores
/// while one is timed.
static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Records `rounds` rounds of 300 points 100 ms apart (3,000 points/s).
async fn record(monitor: &Monitor, n: &mut i64, rounds: usize) {
    for _ in 0..rounds {
        for _ in 0..300 {
            monitor.record(Point::at("stream", 1_000_000 + *n).with_field("n", *n));
            *n += 1;
        }
        tokio::time::sleep(ms(100)).await;
    }
}

/// Calls `shutdown()` and checks what must hold whatever happened: it returned in
/// time, nothing is left buffered, every point is written or counted, and no sink task
/// changes a counter afterwards.
async fn shut_down(monitor: &Monitor, timeout: Duration) -> FlushReport {
    let started = Instant::now();
    let report = monitor.shutdown().await;
    let took = started.elapsed();
    eprintln!("shutdown took {took:?} (timeout {timeout:?}): {report:?}");
    assert!(took <= timeout + LATE, "took {took:?}, timeout {timeout:?}");
    common::assert_truthful(&report);
    let stats = &report.stats;
    for sink in &stats.sinks {
        assert_eq!(sink.buffered, 0, "{report:?}");
        assert_eq!(
            sink.received,
            sink.written + sink.dropped.total(),
            "{report:?}"
        );
    }
    // No sink task outlives `shutdown()`: a cut-off one would still count afterwards.
    tokio::time::sleep(ms(200)).await;
    assert_eq!(
        monitor.stats(),
        report.stats,
        "counters moved after shutdown"
    );
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_in_flight_to_a_hung_server_is_cut_at_the_deadline() {
    let _alone = ALONE.lock().await;
    let mut influx = common::Influx1::start().await;
    influx.create_db("hung").await;
    let timeout = Duration::from_secs(2);
    let monitor = Monitor::builder()
        .influx(InfluxConfig::v1("127.0.0.1", influx.port, "hung"))
        .flushing_period(ms(100))
        .batch_size(1000)
        .request_timeout(Duration::from_secs(30))
        .shutdown_timeout(timeout)
        .start()
        .unwrap();
    let mut n = 0;
    record(&monitor, &mut n, 5).await;
    let written = |m: &Monitor| m.stats().sinks[0].written;
    wait_until("the first points written", Duration::from_secs(30), || {
        written(&monitor) == n as u64
    })
    .await;
    // Hung right after a write completed; the next ones never get an answer.
    influx.signal("STOP");
    let requests = monitor.stats().sinks[0].requests;
    record(&monitor, &mut n, 10).await;
    wait_until("a write in flight", Duration::from_secs(30), || {
        monitor.stats().sinks[0].requests > requests
    })
    .await;

    let report = shut_down(&monitor, timeout).await;
    let sink = report.stats.sink("influx_v1").unwrap();
    assert!(!report.complete);
    assert_eq!(report.stats.recorded, n as u64);
    let cut = sink.dropped.get(DropReason::ShutdownDeadline);
    assert!(cut > 0, "{report:?}");
    assert_eq!(sink.dropped.total(), cut, "{report:?}");
    assert_eq!(sink.written + cut, n as u64);

    // Every acknowledged point is stored, and the cut write never was.
    influx.restart().await;
    assert_eq!(influx.count("hung", "stream", "n").await, sink.written);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_cuts_a_backoff_short_when_the_database_is_back() {
    let _alone = ALONE.lock().await;
    let mut influx = common::Influx1::start().await;
    influx.create_db("back").await;
    let timeout = Duration::from_secs(3);
    let monitor = Monitor::builder()
        .influx(InfluxConfig::v1("127.0.0.1", influx.port, "back"))
        .flushing_period(ms(100))
        .batch_size(1000)
        // The first backoff (4-8 s) is longer than the shutdown timeout.
        .retry(
            Duration::from_secs(8),
            Duration::from_secs(30),
            Duration::from_secs(600),
        )
        .shutdown_timeout(timeout)
        .start()
        .unwrap();
    influx.kill();
    let mut n = 0;
    record(&monitor, &mut n, 5).await;
    wait_until("a failed attempt", Duration::from_secs(30), || {
        monitor.stats().sinks[0].retries >= 1
    })
    .await;
    influx.restart().await;

    let report = shut_down(&monitor, timeout).await;
    assert!(report.complete, "{report:?}");
    assert_eq!(report.dropped().total(), 0, "{report:?}");
    assert_eq!(report.stats.sinks[0].written, n as u64);
    assert_eq!(influx.count("back", "stream", "n").await, n as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_keeps_retrying_with_short_waits_until_the_deadline() {
    let _alone = ALONE.lock().await;
    let up = Arc::new(AtomicBool::new(false));
    let server = {
        let up = up.clone();
        FaultServer::start(move |_, _| {
            if up.load(Ordering::SeqCst) {
                Reply::ok()
            } else {
                Reply::status(503)
            }
        })
        .await
    };
    let timeout = Duration::from_secs(3);
    let monitor = Monitor::builder()
        .influx(InfluxConfig::v2("127.0.0.1", server.port(), "o", "b", "t"))
        .flushing_period(ms(50))
        .retry(
            Duration::from_secs(20),
            Duration::from_secs(30),
            Duration::from_secs(600),
        )
        .shutdown_timeout(timeout)
        .start()
        .unwrap();
    for n in 0..1000i64 {
        monitor.record(Point::at("stream", 1_000_000 + n).with_field("n", n));
    }
    wait_until("a failed attempt", Duration::from_secs(30), || {
        monitor.stats().sinks[0].retries >= 1
    })
    .await;
    let shutdown = {
        let monitor = monitor.clone();
        tokio::spawn(async move { shut_down(&monitor, timeout).await })
    };
    // Still failing once shutdown has begun: it must try again, more than once.
    let attempts = server.requests().len();
    wait_until(
        "two attempts during shutdown",
        Duration::from_secs(2),
        || server.requests().len() >= attempts + 2,
    )
    .await;
    up.store(true, Ordering::SeqCst);
    let report = shutdown.await.unwrap();
    assert!(report.complete, "{report:?}");
    assert_eq!(report.stats.sinks[0].written, 1000);
    assert_eq!(server.stored_unique().len(), 1000);
}

/// A plugin whose writes and close never finish.
struct Hung;

impl monitoring::Plugin for Hung {
    fn name(&self) -> &str {
        "hung"
    }
    async fn flush_points(&mut self, _: &[Point]) -> Result<(), BoxError> {
        std::future::pending().await
    }
    async fn close(&mut self) -> Result<(), BoxError> {
        std::future::pending().await
    }
}

/// One monitor shipping to a server that never answers (and to a plugin that never
/// returns): `shutdown()` keeps `shutdown_timeout` and counts every point.
async fn cut_off(request_timeout: Duration, timeout: Duration) {
    let server = FaultServer::start(|_, _| Reply::BlackHole).await;
    let monitor = Monitor::builder()
        .influx(InfluxConfig::v2("127.0.0.1", server.port(), "o", "b", "t"))
        .plugin(Hung)
        .flushing_period(ms(20))
        .request_timeout(request_timeout)
        .retry(ms(50), ms(100), Duration::from_secs(600))
        .shutdown_timeout(timeout)
        .start()
        .unwrap();
    for n in 0..500i64 {
        monitor.record(Point::at("stream", n).with_field("n", n));
    }
    wait_until("writes in flight", Duration::from_secs(30), || {
        monitor.stats().sinks.iter().all(|s| s.requests > 0)
    })
    .await;
    for n in 500..800i64 {
        monitor.record(Point::at("stream", n).with_field("n", n));
    }
    let report = shut_down(&monitor, timeout).await;
    assert!(!report.complete);
    for sink in &report.stats.sinks {
        assert_eq!(sink.written, 0, "{request_timeout:?}/{timeout:?}: {sink:?}");
        assert_eq!(
            sink.dropped.get(DropReason::ShutdownDeadline),
            800,
            "{request_timeout:?}/{timeout:?}: {sink:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_combination_of_request_and_shutdown_timeouts_keeps_the_deadline() {
    let _alone = ALONE.lock().await;
    // One after the other: each timed alone.
    for request_timeout in [ms(200), Duration::from_secs(5)] {
        for timeout in [ms(300), Duration::from_millis(1500)] {
            cut_off(request_timeout, timeout).await;
        }
    }
}
