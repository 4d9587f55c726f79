//! The line-protocol file sink, plugins, and changing the flushing period at run time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use monitoring::{BoxError, Capture, DropReason, Monitor, Plugin, Point};

use crate::common;
use common::logs::Logs;

#[tokio::test]
async fn the_file_sink_appends_exact_line_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("points.lp");
    std::fs::write(&path, "existing line\n").unwrap();
    let monitor = Monitor::builder().file(&path).start().unwrap();
    monitor.record(
        Point::at("licensing", 7)
            .with_tag("license_status", "ok")
            .with_field("liveness_balance", 5i64),
    );
    monitor.record(
        Point::at("m", 8)
            .with_field("s", "a \"b\"")
            .with_field("u", 3u64),
    );
    let report = monitor.shutdown().await;
    assert!(report.complete);
    assert_eq!(report.stats.sink("file").unwrap().written, 2);
    // No service configured: every point carries the executable's name, which cargo
    // makes `<test crate>-<16 hex digits>`.
    let text = std::fs::read_to_string(&path).unwrap();
    let service = text
        .lines()
        .nth(1)
        .unwrap()
        .split("service=")
        .nth(1)
        .unwrap();
    let service = service.split([' ', ',']).next().unwrap().to_owned();
    let hash = service
        .strip_prefix(concat!(env!("CARGO_CRATE_NAME"), "-"))
        .unwrap_or_default();
    assert!(
        hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{service}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!(
            "existing line\nlicensing,license_status=ok,service={service} liveness_balance=5i 7\n\
             m,service={service} s=\"a \\\"b\\\"\",u=3u 8\n"
        )
    );
}

#[tokio::test]
async fn an_unwritable_file_is_counted_not_fatal() {
    let monitor = Monitor::builder()
        .file("/nonexistent-dir/points.lp")
        .start()
        .unwrap();
    monitor.record(Point::at("m", 1).with_field("f", 1i64));
    let report = monitor.shutdown().await;
    let sink = report.stats.sink("file").unwrap();
    assert_eq!(sink.dropped.get(DropReason::Rejected), 1);
    assert!(sink.last_error.as_deref().unwrap().contains("write failed"));
}

#[derive(Default, Clone)]
struct Journal(Arc<Mutex<Vec<String>>>);

struct Recording {
    journal: Journal,
    fail_every_other: bool,
    delay: Duration,
    calls: usize,
}

impl Plugin for Recording {
    fn name(&self) -> &str {
        "recording"
    }
    async fn initialize(&mut self) -> Result<(), BoxError> {
        self.journal.0.lock().unwrap().push("initialize".into());
        Ok(())
    }
    async fn flush_points(&mut self, points: &[Point]) -> Result<(), BoxError> {
        tokio::time::sleep(self.delay).await;
        self.calls += 1;
        if self.fail_every_other && self.calls.is_multiple_of(2) {
            return Err("plugin refused the batch".into());
        }
        self.journal
            .0
            .lock()
            .unwrap()
            .push(format!("flush {}", points.len()));
        Ok(())
    }
    async fn close(&mut self) -> Result<(), BoxError> {
        self.journal.0.lock().unwrap().push("close".into());
        Ok(())
    }
}

#[tokio::test]
async fn plugins_get_initialize_batches_and_close_and_errors_are_counted() {
    let journal = Journal::default();
    let monitor = Monitor::builder()
        .without_config_sink()
        .batch_size(10)
        .plugin(Recording {
            journal: journal.clone(),
            fail_every_other: true,
            delay: Duration::ZERO,
            calls: 0,
        })
        .start()
        .unwrap();
    for i in 0..10 {
        monitor.record(Point::at("m", i).with_field("f", i));
    }
    monitor.flush().await;
    for i in 10..20 {
        monitor.record(Point::at("m", i).with_field("f", i));
    }
    let report = monitor.shutdown().await;
    let sink = report.stats.sink("plugin:recording").unwrap();
    assert_eq!(sink.written, 10);
    assert_eq!(sink.dropped.get(DropReason::PluginError), 10);
    assert_eq!(
        sink.last_error.as_deref(),
        Some("plugin_error: plugin error: plugin refused the batch")
    );
    assert_eq!(
        *journal.0.lock().unwrap(),
        ["initialize", "flush 10", "close"]
    );
}

#[tokio::test]
async fn a_slow_plugin_holds_back_neither_requests_nor_other_sinks() {
    let journal = Journal::default();
    let capture = Capture::new();
    let monitor = Monitor::builder()
        .without_config_sink()
        .batch_size(5)
        .flushing_period(Duration::from_secs(3600))
        .plugin(Recording {
            journal: journal.clone(),
            fail_every_other: false,
            delay: Duration::from_millis(200),
            calls: 0,
        })
        .capture(&capture)
        .start()
        .unwrap();
    for i in 0..50 {
        monitor.record(Point::at("m", i).with_field("f", i));
    }
    // Ten batches at 200 ms each keep the plugin busy for 2 s; the capture sink has
    // everything while the plugin is still at it.
    assert!(capture.wait_for(50, Duration::from_secs(30)).await);
    let plugin = monitor.stats().sink("plugin:recording").unwrap().written;
    assert!(
        plugin < 50,
        "the capture sink did not wait for the plugin ({plugin} written)"
    );
    let report = monitor.shutdown().await;
    assert_eq!(report.stats.sink("plugin:recording").unwrap().written, 50);
}

#[test]
fn a_runtime_ending_before_shutdown_counts_and_logs_what_was_lost() {
    let (logs, _guard) = Logs::capture();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let monitor = runtime.block_on(async {
        Monitor::builder()
            .without_config_sink()
            .flushing_period(Duration::from_millis(20))
            .plugin(Recording {
                journal: Journal::default(),
                fail_every_other: false,
                // A write that never finishes before the runtime ends.
                delay: Duration::from_secs(3600),
                calls: 0,
            })
            .start()
            .unwrap()
    });
    for i in 0..5 {
        monitor.record(Point::at("m", i).with_field("f", i));
    }
    // The flusher hands the five points to the plugin, which is still writing them...
    runtime.block_on(async {
        let started = std::time::Instant::now();
        while monitor.stats().sink("plugin:recording").unwrap().buffered < 5 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "never handed over"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    // ...three more wait in the queue, and the runtime ends without `shutdown()`.
    for i in 5..8 {
        monitor.record(Point::at("m", i).with_field("f", i));
    }
    drop(runtime);

    let stats = monitor.stats();
    assert_eq!(stats.recorded, 8);
    assert_eq!(stats.dropped.get(DropReason::NotShutDown), 3);
    let sink = stats.sink("plugin:recording").unwrap();
    assert_eq!(
        (
            sink.written,
            sink.buffered,
            sink.dropped.get(DropReason::NotShutDown)
        ),
        (0, 0, 5)
    );
    assert_eq!(
        sink.last_error.as_deref(),
        Some("not_shut_down: the runtime running the flusher ended before Monitor::shutdown() completed")
    );
    let lost: Vec<String> = logs
        .all()
        .into_iter()
        .filter(|l| l.contains("not_shut_down"))
        .collect();
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert!(lost[0].starts_with("WARN "), "{lost:?}");
    assert!(lost[0].contains("queued=3 buffered=5"), "{lost:?}");
}

#[tokio::test]
async fn the_flushing_period_changes_at_run_time() {
    let capture = Capture::new();
    let monitor = Monitor::builder()
        .without_config_sink()
        .capture(&capture)
        .flushing_period(Duration::from_secs(3600))
        .start()
        .unwrap();
    monitor.record(Point::at("m", 1).with_field("f", 1i64));
    // An hour-long period: nothing is flushed on its own.
    assert!(!capture.wait_for(1, Duration::from_millis(300)).await);
    monitor.set_flushing_period(Duration::from_millis(20));
    assert!(
        capture.wait_for(1, Duration::from_secs(5)).await,
        "flushed by the new period"
    );
    monitor.shutdown().await;
}

#[tokio::test]
async fn a_full_batch_is_flushed_without_waiting_for_the_period() {
    let capture = Capture::new();
    let monitor = Monitor::builder()
        .without_config_sink()
        .capture(&capture)
        .flushing_period(Duration::from_secs(3600))
        .batch_size(100)
        .start()
        .unwrap();
    // The request path looks at the queue length every 64 pushes per thread.
    for i in 0..256 {
        monitor.record(Point::at("m", i).with_field("f", i));
    }
    assert!(capture.wait_for(100, Duration::from_secs(5)).await);
    monitor.shutdown().await;
}

/// Where a plugin panics.
#[derive(Clone, Copy, Debug, PartialEq)]
enum PanicAt {
    FirstBatch,
    EveryBatch,
    Initialize,
    Close,
}

struct Panicking {
    at: PanicAt,
    batches: usize,
    seen: Arc<Mutex<Vec<i64>>>,
}

impl Plugin for Panicking {
    fn name(&self) -> &str {
        "panicky"
    }

    async fn initialize(&mut self) -> Result<(), BoxError> {
        assert!(self.at != PanicAt::Initialize, "plugin bug in initialize");
        Ok(())
    }

    async fn flush_points(&mut self, points: &[Point]) -> Result<(), BoxError> {
        self.batches += 1;
        let panics = match self.at {
            PanicAt::FirstBatch => self.batches == 1,
            PanicAt::EveryBatch => true,
            _ => false,
        };
        assert!(!panics, "plugin bug in batch {}", self.batches);
        let mut seen = self.seen.lock().unwrap();
        seen.extend(points.iter().filter_map(|p| match p.field("n") {
            Some(monitoring::FieldValue::Int(n)) => Some(*n),
            _ => None,
        }));
        Ok(())
    }

    async fn close(&mut self) -> Result<(), BoxError> {
        assert!(self.at != PanicAt::Close, "plugin bug in close");
        Ok(())
    }
}

/// A plugin that panics (in its first batch, in every batch, in `initialize`, in
/// `close`): the batch in hand is counted as `panicked` with one ERROR naming the sink
/// and the message, the sink goes on with the next batch, no point is left `buffered`,
/// and the shutdown report is complete only when every point is accounted for.
#[tokio::test]
async fn a_panicking_plugin_costs_its_batch_and_nothing_more() {
    for at in [
        PanicAt::FirstBatch,
        PanicAt::EveryBatch,
        PanicAt::Initialize,
        PanicAt::Close,
    ] {
        let (logs, _guard) = Logs::capture();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let plugin = Panicking {
            at,
            batches: 0,
            seen: seen.clone(),
        };
        let monitor = Monitor::builder()
            .without_config_sink()
            .plugin(plugin)
            .start()
            .unwrap();
        for round in 0..3i64 {
            for i in 0..10 {
                monitor.record(Point::at("m", 1).with_field("n", round * 10 + i));
            }
            monitor.flush().await;
        }
        let report = monitor.shutdown().await;
        let sink = report.stats.sink("plugin:panicky").unwrap();
        assert!(sink.is_settled() && report.complete, "{at:?}: {report:?}");
        let (lost, written) = match at {
            PanicAt::FirstBatch => (10, 20),
            PanicAt::EveryBatch => (30, 0),
            PanicAt::Initialize | PanicAt::Close => (0, 30),
        };
        assert_eq!(
            sink.dropped.get(DropReason::Panicked),
            lost,
            "{at:?}: {report:?}"
        );
        assert_eq!(sink.written, written, "{at:?}: {report:?}");
        assert_eq!(seen.lock().unwrap().len() as u64, written, "{at:?}");
        let errors: Vec<_> = (logs.all().into_iter())
            .filter(|l| l.starts_with("ERROR") && l.contains("plugin bug"))
            .collect();
        assert_eq!(errors.len(), 1, "{at:?}: {:?}", logs.all());
        assert!(errors[0].contains("plugin:panicky"), "{errors:?}");
    }
}

/// `set_flushing_period` clamps what it is given: `Duration::MAX` no longer panics the
/// flusher (the next flush still delivers), and `Duration::ZERO` is 1 ms.
#[tokio::test]
async fn extreme_flushing_periods_are_clamped() {
    for period in [Duration::MAX, Duration::ZERO] {
        let capture = Capture::new();
        let monitor = Monitor::builder()
            .without_config_sink()
            .capture(&capture)
            .start()
            .unwrap();
        monitor.set_flushing_period(period);
        monitor.record(Point::at("m", 1).with_field("n", 1i64));
        let report = monitor.flush().await;
        assert!(report.complete, "{period:?}: {report:?}");
        assert_eq!(capture.len(), 1, "{period:?}");
        monitor.shutdown().await;
    }
}

/// The request path's queue: beyond `queue_capacity` points between two flushes, the
/// newest are refused (the request path never waits) and counted as `queue_full`; the
/// ones it holds are delivered.
#[tokio::test]
async fn a_full_queue_refuses_the_newest_points() {
    let capture = Capture::new();
    let monitor = Monitor::builder()
        .without_config_sink()
        .capture(&capture)
        // No flush before the test asks for one: neither the period nor a full batch.
        .flushing_period(Duration::from_secs(3600))
        .batch_size(1000)
        .queue_capacity(10)
        .start()
        .unwrap();
    for n in 0..15i64 {
        monitor.record(Point::at("m", 1).with_field("n", n));
    }
    assert_eq!(monitor.stats().dropped.get(DropReason::QueueFull), 5);
    let report = monitor.flush().await;
    assert!(report.complete, "{report:?}");
    let kept: Vec<_> = (capture.series("m").iter())
        .map(|p| p.field("n").cloned())
        .collect();
    let first_ten: Vec<_> = (0..10i64)
        .map(|n| Some(monitoring::FieldValue::Int(n)))
        .collect();
    assert_eq!(kept, first_ten);
    assert_eq!(
        (report.stats.recorded, report.stats.dropped.total()),
        (15, 5)
    );
    monitor.shutdown().await;
}

/// `stats_period`: the monitor's own health as points, one per sink in `monitoring`,
/// every period, cumulative; a drop reason appears as a field once it is not zero.
#[tokio::test]
async fn the_monitors_health_is_recorded_as_points() {
    let capture = Capture::new();
    let monitor = Monitor::builder()
        .without_config_sink()
        .capture(&capture)
        .service("svc")
        .flushing_period(Duration::from_millis(20))
        .stats_period(Duration::from_millis(50))
        .queue_capacity(4)
        .batch_size(1000)
        .max_buffered_points(1000)
        .start()
        .unwrap();
    for n in 0..10i64 {
        monitor.record(Point::at("m", 1).with_field("n", n));
    }
    let health = || {
        (capture.series("monitoring").into_iter())
            .filter(|p| p.field("dropped_queue_full").is_some())
            .collect::<Vec<_>>()
    };
    crate::common::wait_until(
        "a health point after the drops",
        Duration::from_secs(30),
        || !health().is_empty(),
    )
    .await;
    let point = health().pop().unwrap();
    assert_eq!(point.tag("sink"), Some(&"capture".into()));
    assert_eq!(point.tag("service"), Some(&"svc".into()));
    let field = |k: &str| match point.field(k) {
        Some(monitoring::FieldValue::UInt(n)) => *n,
        other => panic!("{k}: {other:?}"),
    };
    assert_eq!(field("dropped_queue_full"), 6);
    assert!(
        field("recorded") >= 10 && field("written") >= 4,
        "{point:?}"
    );
    for k in ["buffered", "spooled", "retries", "queue_depth"] {
        field(k);
    }
    assert!(
        point.field("dropped_panicked").is_none(),
        "zero reasons are left out"
    );
    monitor.shutdown().await;
    // Off by default: no health points.
    let (quiet, quiet_capture) = crate::common::capture_monitor();
    quiet.record(Point::at("m", 1).with_field("n", 1i64));
    quiet.flush().await;
    assert!(quiet_capture.series("monitoring").is_empty());
    quiet.shutdown().await;
}
