//! The disk buffer (`spool_dir`) against a real InfluxDB 1.6.7 that the tests stop and
//! restart: nothing lost to a long outage, a shutdown during one, or a killed process
//! (beyond its last flushing period); damaged records counted and skipped; one
//! monitor per spool directory.

use crate::common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::fault_server::{FaultServer, Reply};
use monitoring::{DropReason, Error, InfluxConfig, Monitor, Point, SinkStats};

const DB: &str = "spool";
/// 2020-01-01T00:00:00Z: points get distinct, fixed timestamps (base + sequence).
const BASE_NS: i64 = 1_577_836_800_000_000_000;

fn point(series: &'static str, i: u64) -> Point {
    Point::at(series, BASE_NS + i as i64).with_field("seq", i as i64)
}

fn builder(influx_port: u16, spool: &Path) -> monitoring::MonitorBuilder {
    Monitor::builder()
        .influx(InfluxConfig::v1("127.0.0.1", influx_port, DB))
        .spool_dir(spool)
        .flushing_period(Duration::from_millis(50))
        .request_timeout(Duration::from_millis(500))
        .retry(
            Duration::from_millis(50),
            Duration::from_millis(200),
            Duration::from_secs(3600),
        )
}

fn sink(monitor: &Monitor) -> SinkStats {
    monitor
        .stats()
        .sink("influx_v1")
        .cloned()
        .expect("the InfluxDB sink")
}

/// `received + recovered = written + dropped + buffered + spooled`.
fn assert_accounted(s: &SinkStats) {
    assert_eq!(
        s.received + s.recovered,
        s.written + s.dropped.total() + s.buffered + s.spooled,
        "{s:?}"
    );
}

async fn wait_stored(influx: &common::Influx1, series: &str, n: u64) {
    let started = std::time::Instant::now();
    loop {
        let stored = influx.count(DB, series, "seq").await;
        if stored >= n {
            assert_eq!(stored, n, "more stored than recorded in {series}");
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{stored} of {n} stored in {series}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_spooled(monitor: &Monitor, n: u64) {
    let started = std::time::Instant::now();
    while sink(monitor).spooled != n {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "timed out waiting for {n} points on disk: {:?}",
            sink(monitor)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Acceptance 1 and 2: an outage three times the memory bound (30,000 points, bound
/// 10,000) spooled with nothing dropped; a graceful shutdown during it; a new monitor
/// on the same spool delivers everything once the server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_and_a_shutdown_during_it_lose_nothing() {
    let mut influx = common::Influx1::start().await;
    influx.create_db(DB).await;
    let spool = tempfile::tempdir().unwrap();
    influx.kill();

    let monitor = builder(influx.port, spool.path())
        .batch_size(1000)
        .max_buffered_points(10_000)
        .start()
        .unwrap();
    for i in 0..30_000 {
        monitor.record(point("outage", i));
        if i % 1000 == 999 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    wait_spooled(&monitor, 30_000).await;
    let report = monitor.shutdown().await;
    let s = report.stats.sink("influx_v1").unwrap().clone();
    assert_eq!(report.dropped().total(), 0, "{report:?}");
    assert!(report.complete, "{report:?}");
    assert_eq!(
        (s.received, s.written, s.spooled),
        (30_000, 0, 30_000),
        "{s:?}"
    );
    assert_accounted(&s);

    influx.restart().await;
    let monitor = builder(influx.port, spool.path()).start().unwrap();
    wait_stored(&influx, "outage", 30_000).await;
    let report = monitor.shutdown().await;
    let s = report.stats.sink("influx_v1").unwrap().clone();
    assert_eq!(report.dropped().total(), 0, "{report:?}");
    assert_eq!(
        (s.recovered, s.replayed, s.written, s.spooled),
        (30_000, 30_000, 30_000, 0)
    );
    assert_accounted(&s);
    // Delivered records are forgotten: nothing is left to deliver twice.
    let left: Vec<_> = std::fs::read_dir(spool.path().join("influx_v1"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Acceptance 2, in one process: the server comes back while points keep flowing;
/// the spool drains oldest first and the sink goes back to memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spool_drains_while_new_points_flow() {
    let mut influx = common::Influx1::start().await;
    influx.create_db(DB).await;
    let spool = tempfile::tempdir().unwrap();
    let monitor = builder(influx.port, spool.path())
        .batch_size(1000)
        .max_buffered_points(10_000)
        .start()
        .unwrap();
    monitor.record(point("drain", 0));
    wait_stored(&influx, "drain", 1).await;
    // Stored is not yet written: the sink counts it once the answer arrives (killing
    // the server before that spools the point again, a harmless duplicate).
    common::wait_until("the first point written", Duration::from_secs(10), || {
        sink(&monitor).written == 1
    })
    .await;
    assert_eq!(sink(&monitor).spooled, 0, "healthy: nothing on disk");
    let files = std::fs::read_dir(spool.path().join("influx_v1"))
        .unwrap()
        .count();
    assert_eq!(files, 0, "no segment file while the database answers");

    influx.kill();
    for i in 1..30_001 {
        monitor.record(point("drain", i));
        if i % 1000 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    wait_spooled(&monitor, 30_000).await;
    influx.restart().await;
    for i in 30_001..35_001 {
        monitor.record(point("drain", i));
        if i % 1000 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    wait_stored(&influx, "drain", 35_001).await;
    let s = sink(&monitor);
    assert_accounted(&s);
    assert_eq!((s.dropped.total(), s.spooled), (0, 0), "{s:?}");
    assert!(s.replayed >= 30_000, "{s:?}");
    monitor.shutdown().await;
}

/// Acceptance 4: a segment cut mid-record (a crash during an append): the intact
/// records are delivered, the torn one's points counted as `spool_corrupt`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_segment_delivers_its_intact_records() {
    let mut influx = common::Influx1::start().await;
    influx.create_db(DB).await;
    let spool = tempfile::tempdir().unwrap();
    influx.kill();
    let monitor = builder(influx.port, spool.path()).start().unwrap();
    // Five records of 200 points each (one flush each).
    for r in 0..5 {
        for i in 0..200 {
            monitor.record(point("torn", r * 200 + i));
        }
        wait_spooled(&monitor, (r + 1) * 200).await;
    }
    monitor.shutdown().await;
    let dir = spool.path().join("influx_v1");
    let segment = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let len = std::fs::metadata(&segment).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap()
        .set_len(len - 100)
        .unwrap();

    influx.restart().await;
    let monitor = builder(influx.port, spool.path()).start().unwrap();
    wait_stored(&influx, "torn", 800).await;
    common::wait_until("the torn record counted", Duration::from_secs(10), || {
        sink(&monitor).dropped.get(DropReason::SpoolCorrupt) == 200
    })
    .await;
    let s = sink(&monitor);
    assert_eq!((s.recovered, s.written, s.spooled), (1000, 800, 0), "{s:?}");
    assert_accounted(&s);
    monitor.shutdown().await;
    let stored: BTreeSet<u64> = influx
        .select(DB, "SELECT seq FROM torn")
        .await
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(stored, (0..800).collect::<BTreeSet<u64>>());
}

/// Acceptance 5: two monitors on one spool directory.
#[tokio::test(flavor = "current_thread")]
async fn a_second_monitor_on_the_same_spool_fails_to_start() {
    let spool = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let first = builder(port, spool.path()).start().unwrap();
    let second = builder(port, spool.path()).start();
    let Err(e) = second else {
        panic!("a second monitor started on a locked spool");
    };
    assert!(matches!(e, Error::SpoolLocked { .. }), "{e:?}");
    let message = e.to_string();
    assert!(message.contains("in use by another monitor"), "{message}");
    assert!(
        message.contains(&spool.path().display().to_string()),
        "{message}"
    );
    first.shutdown().await;
    // Released with the monitor.
    drop(first);
    builder(port, spool.path())
        .start()
        .unwrap()
        .shutdown()
        .await;
}

/// Acceptance 3: the service killed with SIGKILL during an outage. Every point it
/// recorded more than one flushing period (plus scheduling slack) before the kill is
/// delivered by the next process on the same spool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_process_loses_at_most_its_last_flushing_period() {
    let mut influx = common::Influx1::start().await;
    influx.create_db(DB).await;
    let spool = tempfile::tempdir().unwrap();
    influx.kill();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "spool::killed_service",
            "--ignored",
            "--nocapture",
        ])
        .env("SPOOL_CHILD_DIR", spool.path())
        .env("SPOOL_CHILD_PORT", influx.port.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // "<sequence> <unix ms>" every 20 points, as the child records them; read on a
    // thread of its own so that a child that stops printing fails the test in 60 s.
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines() {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut reports = Vec::new();
    loop {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            panic!("the child stopped reporting after {} lines", reports.len());
        };
        let line = line.unwrap();
        let Some((i, ms)) = line.split_once(' ') else {
            continue;
        };
        let (Ok(i), Ok(ms)) = (i.parse::<u64>(), ms.parse::<u64>()) else {
            continue;
        };
        reports.push((i, ms));
        if i >= 3000 {
            break;
        }
    }
    let killed_ms = unix_ms();
    child.kill().unwrap();
    child.wait().unwrap();

    influx.restart().await;
    let monitor = builder(influx.port, spool.path()).start().unwrap();
    common::wait_until("the spool delivered", Duration::from_secs(30), || {
        let s = sink(&monitor);
        s.recovered > 0 && s.spooled == 0
    })
    .await;
    let s = sink(&monitor);
    monitor.shutdown().await;
    let stored: BTreeSet<u64> = influx
        .select(DB, "SELECT seq FROM killed")
        .await
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    // One flushing period (100 ms) and 200 ms of scheduling slack on a busy machine.
    let safe = reports
        .iter()
        .filter(|(_, ms)| *ms + 300 <= killed_ms)
        .map(|(i, _)| *i)
        .max()
        .unwrap_or(0);
    let missing: Vec<u64> = (0..=safe).filter(|i| !stored.contains(i)).collect();
    assert!(
        missing.is_empty(),
        "lost points recorded well before the kill: {missing:?}"
    );
    let last = reports.last().unwrap().0;
    // What was lost is at most what was recorded in that last window (the child records
    // one point a millisecond and reports every 20).
    let lost = (last + 1).saturating_sub(stored.len() as u64);
    assert!(
        lost <= last - safe + 20,
        "lost {lost}, recorded after the safe point {}",
        last - safe
    );
    eprintln!(
        "killed after recording at least {} points; {} delivered after restart ({} recovered \
         from the spool); lost: at most {} (recorded within the last flushing period)",
        last + 1,
        stored.len(),
        s.recovered,
        (last + 1).saturating_sub(stored.len() as u64)
    );
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The service the test above kills: records one point per millisecond into a
/// monitor whose database is down, flushing every 100 ms, and reports its progress.
#[test]
#[ignore = "run by a_killed_process_loses_at_most_its_last_flushing_period"]
fn killed_service() {
    let (Some(dir), Some(port)) = (
        std::env::var_os("SPOOL_CHILD_DIR"),
        std::env::var("SPOOL_CHILD_PORT").ok(),
    ) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let monitor = builder(port.parse().unwrap(), Path::new(&dir))
            .flushing_period(Duration::from_millis(100))
            .start()
            .unwrap();
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        for i in 0.. {
            tick.tick().await;
            monitor.record(point("killed", i));
            if i % 20 == 0 {
                println!("{i} {}", unix_ms());
            }
        }
    });
}

/// The 2.x API's spool: batches spooled while the server is unreachable are delivered
/// to VictoriaMetrics (InfluxDB 2.x write API) by the next monitor, every point once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_v2_dialect_spools_and_delivers_to_victoria_metrics() {
    let vm = common::Victoria::start().await;
    let spool = tempfile::tempdir().unwrap();
    let v2 = |port| InfluxConfig::v2("127.0.0.1", port, "org", "bucket", "token");
    let start = |port| {
        Monitor::builder()
            .influx(v2(port))
            .spool_dir(spool.path())
            .flushing_period(Duration::from_millis(50))
            .request_timeout(Duration::from_millis(500))
            .start()
            .unwrap()
    };
    let monitor = start(common::free_port());
    for i in 0..5_000 {
        monitor.record(point("spool_v2", i));
    }
    common::wait_until("points on disk", Duration::from_secs(30), || {
        monitor.stats().sink("influx_v2").unwrap().spooled == 5_000
    })
    .await;
    monitor.shutdown().await;

    let monitor = start(vm.port);
    common::wait_until("the spool delivered", Duration::from_secs(30), || {
        let s = monitor.stats().sink("influx_v2").cloned().unwrap();
        s.replayed == 5_000 && s.spooled == 0
    })
    .await;
    let report = monitor.shutdown().await;
    let s = report.stats.sink("influx_v2").unwrap().clone();
    assert_eq!(
        (s.recovered, s.written, s.dropped.total()),
        (5_000, 5_000, 0),
        "{s:?}"
    );
    assert_accounted(&s);
    let series = vm.export("{__name__=\"spool_v2_seq\"}").await;
    let samples: usize = series
        .iter()
        .map(|s| s["values"].as_array().unwrap().len())
        .sum();
    assert_eq!(samples, 5_000);
}

/// A fault server that answers 503 until `up` is set, then stores.
async fn flaky_server(up: &std::sync::Arc<std::sync::atomic::AtomicBool>) -> FaultServer {
    let up = up.clone();
    FaultServer::start(move |_, _| {
        if up.load(std::sync::atomic::Ordering::SeqCst) {
            Reply::ok()
        } else {
            Reply::status(503)
        }
    })
    .await
}

fn v2_spooling(port: u16, spool: &Path) -> monitoring::MonitorBuilder {
    Monitor::builder()
        .influx(InfluxConfig::v2(
            "127.0.0.1",
            port,
            "org",
            "bucket",
            "token",
        ))
        .spool_dir(spool)
        .flushing_period(Duration::from_millis(50))
        .retry(
            Duration::from_millis(50),
            Duration::from_millis(200),
            Duration::from_secs(3600),
        )
}

/// A disk that refuses writes (the segment is `/dev/full`: ENOSPC) while the database
/// is away: the sink keeps the points in memory instead (one WARN), and when the
/// database is back every point is written; nothing is counted `spool_error`, which
/// only counts what memory could not keep either.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "current_thread")]
async fn a_full_disk_sends_the_sink_back_to_memory_and_loses_nothing() {
    let (logs, _guard) = common::logs::Logs::capture();
    let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let server = flaky_server(&up).await;
    let spool = tempfile::tempdir().unwrap();
    let monitor = v2_spooling(server.port(), spool.path()).start().unwrap();
    std::os::unix::fs::symlink(
        "/dev/full",
        spool.path().join("influx_v2/00000000000000000000.seg"),
    )
    .unwrap();
    for i in 0..200 {
        monitor.record(point("full", i));
    }
    common::wait_until("a refused spool write", Duration::from_secs(30), || {
        logs.count("cannot write to the spool") > 0
    })
    .await;
    up.store(true, std::sync::atomic::Ordering::SeqCst);
    let report = monitor.flush().await;
    let s = report.stats.sink("influx_v2").unwrap().clone();
    assert!(report.complete, "{report:?}");
    assert_eq!(
        (s.written, s.dropped.total(), s.spooled),
        (200, 0, 0),
        "{s:?}"
    );
    assert_eq!(server.stored_unique().len(), 200);
    assert_eq!(
        logs.count("cannot write to the spool"),
        1,
        "{:?}",
        logs.all()
    );
    monitor.shutdown().await;
}

/// What a spool directory may hold besides segments: a stray `1.seg`, a directory with
/// a segment's name, a segment of a future format version. Start succeeds with one
/// WARN naming them, they are never read, changed or deleted, and new segments are
/// numbered past them. Segments are created 0600 and directories 0700.
#[cfg(unix)]
#[tokio::test(flavor = "current_thread")]
async fn foreign_files_in_the_spool_are_left_alone_and_segments_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let (logs, _guard) = common::logs::Logs::capture();
    let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let server = flaky_server(&up).await;
    let root = tempfile::tempdir().unwrap();
    let future = b"MSP2 a segment of a later version".to_vec();
    let monitor_spool = root.path().join("new-spool");
    let sink_dir = monitor_spool.join("influx_v2");
    std::fs::create_dir_all(sink_dir.join("00000000000000000005.seg")).unwrap();
    std::fs::write(sink_dir.join("1.seg"), b"stray").unwrap();
    std::fs::write(sink_dir.join("00000000000000000003.seg"), &future).unwrap();
    let fresh_spool = root.path().join("fresh/spool");

    let monitor = v2_spooling(server.port(), &monitor_spool).start().unwrap();
    let warned: Vec<_> = (logs.all().into_iter())
        .filter(|l| l.starts_with("WARN") && l.contains("left alone"))
        .collect();
    assert_eq!(warned.len(), 1, "{:?}", logs.all());
    for name in [
        "1.seg",
        "00000000000000000005.seg",
        "00000000000000000003.seg (format version 2)",
    ] {
        assert!(warned[0].contains(name), "{name}: {warned:?}");
    }
    for i in 0..50 {
        monitor.record(point("foreign", i));
    }
    common::wait_until("50 points on disk", Duration::from_secs(30), || {
        monitor.stats().sink("influx_v2").unwrap().spooled == 50
    })
    .await;
    let segment = sink_dir.join("00000000000000000006.seg");
    let mode = std::fs::metadata(&segment).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", segment.display());
    up.store(true, std::sync::atomic::Ordering::SeqCst);
    let report = monitor.flush().await;
    let s = report.stats.sink("influx_v2").unwrap().clone();
    assert!(report.complete, "{report:?}");
    assert_eq!((s.written, s.dropped.total()), (50, 0), "{s:?}");
    monitor.shutdown().await;
    assert_eq!(
        std::fs::read(sink_dir.join("00000000000000000003.seg")).unwrap(),
        future
    );
    assert_eq!(std::fs::read(sink_dir.join("1.seg")).unwrap(), b"stray");
    assert!(sink_dir.join("00000000000000000005.seg").is_dir());

    // A spool directory the monitor creates is private, and so is its lock.
    let monitor = v2_spooling(server.port(), &fresh_spool).start().unwrap();
    for dir in [&fresh_spool, &fresh_spool.join("influx_v2")] {
        let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
    }
    let mode = std::fs::metadata(fresh_spool.join("LOCK"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    monitor.shutdown().await;
}

/// A spooled batch is kept past `max_retry_time` (0.3 s here, an outage of several
/// times that), and the spool is delivered oldest first: a marker point written once
/// per batch at the same series, tags and time keeps the value of the last write, so
/// InfluxDB ends up holding the newest batch's marker only if the batches arrived in
/// the order they were recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spool_outlives_max_retry_time_and_delivers_oldest_first() {
    let mut influx = common::Influx1::start().await;
    influx.create_db(DB).await;
    let spool = tempfile::tempdir().unwrap();
    let monitor = builder(influx.port, spool.path())
        .retry(
            Duration::from_millis(50),
            Duration::from_millis(100),
            Duration::from_millis(300),
        )
        .start()
        .unwrap();
    influx.kill();
    let outage = std::time::Instant::now();
    for batch in 0..20u64 {
        for i in 0..10 {
            monitor.record(point("ordered", batch * 10 + i));
        }
        monitor.record(Point::at("marker", BASE_NS).with_field("batch", batch as i64));
        wait_spooled(&monitor, (batch + 1) * 11).await;
    }
    // Several times max_retry_time, with retries going on.
    common::wait_until("an outage of 1.5 s", Duration::from_secs(30), || {
        outage.elapsed() > Duration::from_millis(1500) && sink(&monitor).retries > 5
    })
    .await;
    influx.restart().await;
    wait_stored(&influx, "ordered", 200).await;
    let report = monitor.shutdown().await;
    common::assert_truthful(&report);
    let s = report.stats.sink("influx_v1").unwrap().clone();
    assert_eq!(report.dropped().total(), 0, "{report:?}");
    assert_eq!((s.written, s.spooled), (220, 0), "{s:?}");
    let marker = influx.query(DB, "SELECT batch FROM marker").await;
    let values = &marker["results"][0]["series"][0]["values"];
    assert_eq!(values.as_array().map(Vec::len), Some(1), "{marker}");
    assert_eq!(
        values[0][1], 19,
        "the last batch recorded was the last delivered"
    );
}

/// The spool's bound: an outage that spools more than `max_spool_bytes` (1 MiB) drops
/// its oldest segments (`spool_full`), and what InfluxDB has once it is back is every
/// point but one run of the oldest (after the record being delivered).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spool_over_its_bound_drops_its_oldest_points_as_one_run() {
    let mut influx = common::Influx1::start().await;
    influx.create_db(DB).await;
    let spool = tempfile::tempdir().unwrap();
    let monitor = builder(influx.port, spool.path())
        .max_spool_bytes(1 << 20)
        .batch_size(1000)
        .start()
        .unwrap();
    influx.kill();
    const N: u64 = 40_000;
    for batch in 0..N / 1000 {
        for i in 0..1000 {
            monitor.record(point("bounded", batch * 1000 + i));
        }
        common::wait_until("the batch handed over", Duration::from_secs(30), || {
            sink(&monitor).received == (batch + 1) * 1000
        })
        .await;
    }
    common::wait_until(
        "everything on disk or dropped",
        Duration::from_secs(30),
        || {
            let s = sink(&monitor);
            s.buffered == 0 && s.spooled + s.dropped.total() == N
        },
    )
    .await;
    let full = sink(&monitor).dropped.get(DropReason::SpoolFull);
    assert!(full > 0, "{:?}", sink(&monitor));
    influx.restart().await;
    wait_stored(&influx, "bounded", N - full).await;
    let report = monitor.shutdown().await;
    common::assert_truthful(&report);
    assert_eq!(report.dropped().total(), full, "{report:?}");
    let rows = influx.select(DB, "SELECT seq FROM bounded").await;
    let mut stored: Vec<u64> = rows.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    stored.sort_unstable();
    let missing: Vec<u64> = (0..N)
        .filter(|n| stored.binary_search(n).is_err())
        .collect();
    assert_eq!(missing.len() as u64, full);
    let (first, last) = (missing[0], missing[missing.len() - 1]);
    assert_eq!(last - first + 1, full, "one run: {first}..={last}");
    // The oldest went, but for the first record: it was being delivered (retried)
    // when the bound was reached, and a record in delivery stays, like a batch in
    // flight in memory.
    assert!(first > 0 && first <= 1000, "one run: {first}..={last}");
}
