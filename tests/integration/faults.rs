//! Failure behaviour against a programmable local HTTP server: what real servers cannot
//! do on cue. Every test stops by itself; time bounds are lower bounds (retry delays),
//! never "fast enough" guesses. Exact request and retry counts are asserted only with
//! a request timeout of 5 s or more (the builder's), so that a stalled machine cannot
//! turn an answer into a timeout and shift the script.

use crate::common;

use std::time::Duration;

use common::fault_server::{self, FaultServer, Reply};
use common::logs::Logs;
use monitoring::{DropReason, InfluxConfig, Monitor, MonitorBuilder, Point, Stats};

const TOKEN: &str = "tok-SECRET-4242";
const PASSWORD: &str = "pw-SECRET-9191";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn influx(version: u8, port: u16) -> InfluxConfig {
    if version == 2 {
        InfluxConfig::v2("127.0.0.1", port, "org", "bucket", TOKEN)
    } else {
        InfluxConfig::v1("127.0.0.1", port, "db")
            .credentials("user", PASSWORD)
            // The scripted answers are for writes only.
            .with_create_database(false)
    }
}

fn builder(version: u8, port: u16) -> MonitorBuilder {
    Monitor::builder()
        .influx(influx(version, port))
        .retry(ms(50), ms(400), Duration::from_secs(20))
        .request_timeout(Duration::from_secs(5))
        .flushing_period(ms(50))
        .shutdown_timeout(Duration::from_secs(10))
}

fn record(monitor: &Monitor, from: usize, n: usize) {
    for i in from..from + n {
        monitor.record(
            Point::at("m", 1_000 + i as i64)
                .with_tag("t", "x")
                .with_field("n", i as i64),
        );
    }
}

/// recorded = written + dropped + buffered, for the one sink.
fn reconciles(stats: &Stats) -> bool {
    let sink = &stats.sinks[0];
    stats.recorded == sink.written + sink.dropped.total() + sink.buffered + stats.dropped.total()
}

#[tokio::test]
async fn retry_after_is_honoured_on_429_and_503() {
    for version in [2, 1] {
        let server = FaultServer::scripted(
            vec![Reply::retry_after(429, 1), Reply::retry_after(503, 1)],
            Reply::ok(),
        )
        .await;
        // Retry-After is honoured up to retry_max_delay: let it be longer than 1 s.
        let monitor = builder(version, server.port())
            .retry(ms(50), Duration::from_secs(2), Duration::from_secs(20))
            .start()
            .unwrap();
        record(&monitor, 0, 10);
        // Backoff while running (shutdown would cut it short): flush, then shut down.
        assert!(monitor.flush().await.complete);
        let report = monitor.shutdown().await;
        let sink = report
            .stats
            .sink(if version == 2 {
                "influx_v2"
            } else {
                "influx_v1"
            })
            .unwrap();
        assert_eq!((sink.written, sink.retries), (10, 2), "{report:?}");
        let r = server.requests();
        assert_eq!(r.len(), 3);
        for pair in r.windows(2) {
            let gap = pair[1].at - pair[0].at;
            assert!(gap >= ms(950), "Retry-After: 1 honoured, waited {gap:?}");
        }
        assert_eq!(server.stored().len(), 10);
    }
}

#[tokio::test]
async fn server_errors_and_resets_back_off_exponentially_then_recover() {
    for version in [2, 1] {
        let server = FaultServer::scripted(
            vec![
                Reply::status(500),
                Reply::Reset,
                Reply::status(502),
                Reply::status(504),
            ],
            Reply::ok(),
        )
        .await;
        let monitor = builder(version, server.port()).start().unwrap();
        record(&monitor, 0, 100);
        // Backoff while running (shutdown would cut it short): flush, then shut down.
        assert!(monitor.flush().await.complete);
        let report = monitor.shutdown().await;
        assert!(report.complete);
        assert_eq!(report.stats.sinks[0].written, 100);
        assert_eq!(report.stats.sinks[0].retries, 4);
        let r = server.requests();
        assert_eq!(r.len(), 5);
        // Equal jitter: retry n waits between half and all of 50 ms * 2^n.
        for (n, pair) in r.windows(2).enumerate() {
            let gap = pair[1].at - pair[0].at;
            let floor = ms(25 << n);
            assert!(
                gap >= floor,
                "retry {n} waited {gap:?} (at least {floor:?})"
            );
        }
        assert_eq!(server.stored_unique().len(), 100);
    }
}

#[tokio::test]
async fn too_large_splits_the_batch_until_it_fits() {
    let server = FaultServer::start(|r, _| {
        if r.lines.len() > 100 {
            Reply::status(413)
        } else {
            Reply::ok()
        }
    })
    .await;
    let monitor = builder(2, server.port()).batch_size(1000).start().unwrap();
    record(&monitor, 0, 1000);
    let report = monitor.shutdown().await;
    assert_eq!(report.stats.sinks[0].written, 1000, "{report:?}");
    assert_eq!(report.dropped().total(), 0);
    assert_eq!(server.stored_unique().len(), 1000);
    assert!(
        server
            .requests()
            .iter()
            .filter(|r| r.lines.len() <= 100)
            .count()
            >= 10
    );
}

#[tokio::test]
async fn a_bad_line_never_costs_the_good_ones() {
    let (logs, _guard) = Logs::capture();
    for version in [2, 1] {
        let server = FaultServer::start(|_, _| Reply::PartialWrite("poison")).await;
        let monitor = builder(version, server.port())
            .batch_size(500)
            .start()
            .unwrap();
        for i in 0..1000i64 {
            let tag = if [3, 500, 998].contains(&i) {
                "poison"
            } else {
                "fine"
            };
            monitor.record(Point::at("m", i).with_tag("t", tag).with_field("n", i));
        }
        let report = monitor.shutdown().await;
        let sink = &report.stats.sinks[0];
        assert_eq!(sink.written, 997, "{report:?}");
        assert_eq!(sink.dropped.get(DropReason::Rejected), 3);
        assert_eq!(sink.retries, 0, "400 is never retried as is");
        let stored = server.stored_unique();
        assert_eq!(stored.len(), 997);
        assert!(stored.iter().all(|l| !l.contains("poison")));
        // Bisection is logarithmic: well under one request per line.
        assert!(
            server.requests().len() < 100,
            "{} requests",
            server.requests().len()
        );
        assert!(reconciles(&report.stats));
        assert!(sink
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("partial write"));
    }
    let rejected_logs = logs.count("reason=\"rejected\"");
    assert_eq!(rejected_logs, 2, "logged once per sink: {:#?}", logs.all());
}

#[tokio::test]
async fn unauthorized_is_a_configuration_error_without_spinning() {
    let (logs, _guard) = Logs::capture();
    let server = FaultServer::start(|_, _| Reply::status(401)).await;
    let monitor = builder(2, server.port()).batch_size(10).start().unwrap();
    record(&monitor, 0, 50);
    let report = monitor.shutdown().await;
    let sink = &report.stats.sinks[0];
    assert_eq!(sink.dropped.get(DropReason::Unauthorized), 50);
    assert_eq!(sink.retries, 0);
    assert_eq!(
        server.requests().len(),
        5,
        "one request per batch, no retries"
    );
    assert_eq!(
        logs.count("reason=\"unauthorized\""),
        1,
        "{:#?}",
        logs.all()
    );
    let error = sink.last_error.clone().unwrap();
    assert!(
        error.contains("401") && error.contains("check the token"),
        "{error}"
    );
    // The token went in the header, and nowhere else.
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(&*format!("Token {TOKEN}"))
    );
    let everything = format!("{report:?} {:?} {monitor:?}", logs.all());
    assert!(!everything.contains(TOKEN), "token leaked");
}

#[tokio::test]
async fn basic_auth_for_1x_and_no_secret_in_any_output() {
    let (logs, _guard) = Logs::capture();
    let server =
        FaultServer::scripted(vec![Reply::status(500), Reply::status(403)], Reply::ok()).await;
    let monitor = builder(1, server.port()).start().unwrap();
    record(&monitor, 0, 5);
    let report = monitor.shutdown().await;
    let r = server.requests();
    assert!(r[0].header("authorization").unwrap().starts_with("Basic "));
    assert!(
        r[0].target.starts_with("/write?db=db&precision=n"),
        "{}",
        r[0].target
    );
    assert!(!r[0].target.contains(PASSWORD) && !r[0].target.contains("user"));
    let everything = format!(
        "{report:?} {:?} {monitor:?} {:?}",
        logs.all(),
        monitoring::Config::default()
    );
    assert!(!everything.contains(PASSWORD), "password leaked");
}

#[tokio::test]
async fn connection_refused_then_the_database_comes_back() {
    let (logs, _guard) = Logs::capture();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener); // nothing listens: connection refused
    let monitor = builder(2, port).start().unwrap();
    record(&monitor, 0, 300);
    common::wait_until("a refused attempt", Duration::from_secs(30), || {
        monitor.stats().sinks[0].retries >= 1
    })
    .await;
    let during = monitor.stats();
    assert_eq!(during.sinks[0].written, 0);
    assert!(during.sinks[0].retries >= 1);
    assert!(
        during.sinks[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("onnect"),
        "{during:?}"
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let server = FaultServer::start_on(listener, None, |_, _| Reply::ok());
    let report = monitor.shutdown().await;
    assert!(report.complete);
    assert_eq!(report.stats.sinks[0].written, 300);
    assert_eq!(report.dropped().total(), 0);
    assert_eq!(server.stored_unique().len(), 300);
    // The outage is logged once when it starts and once when it ends.
    assert_eq!(logs.count("retrying with backoff"), 1, "{:?}", logs.all());
    assert_eq!(
        logs.count("monitoring sink recovered"),
        1,
        "{:?}",
        logs.all()
    );
}

#[tokio::test]
async fn a_black_hole_never_blocks_recording_and_memory_stays_bounded() {
    let (logs, _guard) = Logs::capture();
    let server = FaultServer::start(|_, _| Reply::BlackHole).await;
    let monitor = builder(2, server.port())
        .batch_size(100)
        .max_buffered_points(1000)
        .request_timeout(ms(200))
        .shutdown_timeout(ms(500))
        .start()
        .unwrap();
    // The sink is stuck on a request that never answers; recording goes on.
    for round in 0..10 {
        record(&monitor, round * 1000, 1000);
        // Each round after the flusher has handed the last one over.
        common::wait_until("a round handed over", Duration::from_secs(30), || {
            monitor.stats().sinks[0].received == (round as u64 + 1) * 1000
        })
        .await;
    }
    common::wait_until(
        "the flusher handed everything over",
        Duration::from_secs(30),
        || monitor.stats().sinks[0].received == 10_000,
    )
    .await;
    let during = monitor.stats();
    let sink = &during.sinks[0];
    assert!(
        sink.buffered <= 1000 + 100,
        "bounded: {} buffered",
        sink.buffered
    );
    assert!(
        sink.dropped.get(DropReason::BufferFull) >= 8000,
        "{during:?}"
    );
    assert_eq!(sink.written, 0);
    assert!(reconciles(&during), "{during:?}");
    assert_eq!(
        logs.count("reason=\"buffer_full\""),
        1,
        "logged once per outage"
    );
    let report = monitor.shutdown().await;
    assert!(
        !report.complete,
        "the shutdown report says what was not written"
    );
    let sink = &report.stats.sinks[0];
    assert_eq!(sink.written, 0);
    assert_eq!(sink.buffered, 0);
    assert!(sink.dropped.get(DropReason::ShutdownDeadline) > 0);
    assert_eq!(report.stats.recorded, 10_000);
    assert_eq!(report.dropped().total(), 10_000, "{report:?}");
}

#[tokio::test]
async fn a_slow_sink_does_not_hold_back_another() {
    let open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let gate = open.clone();
    let server =
        FaultServer::start(move |_, _| Reply::Gated(gate.clone(), Box::new(Reply::ok()))).await;
    let capture = monitoring::Capture::new();
    let monitor = builder(2, server.port())
        .batch_size(10)
        .capture(&capture)
        .start()
        .unwrap();
    record(&monitor, 0, 100);
    assert!(capture.wait_for(100, Duration::from_secs(5)).await);
    // The other sink's first write still waits at the gate.
    assert_eq!(monitor.stats().sink("influx_v2").unwrap().written, 0);
    open.store(true, std::sync::atomic::Ordering::SeqCst);
    let report = monitor.shutdown().await;
    assert_eq!(report.stats.sink("influx_v2").unwrap().written, 100);
}

#[tokio::test]
async fn retries_give_up_after_the_maximum_retry_time() {
    let server = FaultServer::start(|_, _| Reply::status(503)).await;
    let monitor = builder(2, server.port())
        .retry(ms(20), ms(50), ms(300))
        .start()
        .unwrap();
    record(&monitor, 0, 20);
    let report = monitor.shutdown().await;
    let sink = &report.stats.sinks[0];
    assert_eq!(
        sink.dropped.get(DropReason::RetryExhausted),
        20,
        "{report:?}"
    );
    assert!(sink.retries >= 3);
}

#[tokio::test]
async fn https_with_a_custom_ca_for_a_self_signed_server() {
    let (acceptor, ca_pem) = fault_server::self_signed();
    let server = FaultServer::start_tls(acceptor, |_, _| Reply::ok()).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, ca_pem).unwrap();

    let trusted = builder(2, server.port()).tls(Some(ca)).start().unwrap();
    record(&trusted, 0, 50);
    let report = trusted.shutdown().await;
    assert_eq!(report.stats.sinks[0].written, 50, "{report:?}");
    assert_eq!(server.stored_unique().len(), 50);

    let untrusted = builder(2, server.port())
        .tls(None)
        .retry(ms(20), ms(50), ms(200))
        .start()
        .unwrap();
    record(&untrusted, 100, 5);
    let report = untrusted.shutdown().await;
    let sink = &report.stats.sinks[0];
    assert_eq!(sink.written, 0);
    assert_eq!(sink.dropped.get(DropReason::RetryExhausted), 5);
    let error = sink.last_error.clone().unwrap_or_default();
    assert!(error.to_lowercase().contains("certificate"), "{error}");
}

#[tokio::test]
async fn bodies_are_uncompressed_to_a_loopback_server_unless_a_gzip_level_is_set() {
    for (level, expect_gzip) in [(None, false), (Some(1), true), (Some(0), false)] {
        for version in [2, 1] {
            let server = FaultServer::scripted(vec![], Reply::ok()).await;
            let mut builder = builder(version, server.port());
            if let Some(level) = level {
                builder = builder.gzip_level(level);
            }
            let monitor = builder.start().unwrap();
            record(&monitor, 0, 20);
            let report = monitor.shutdown().await;
            assert!(report.complete, "{report:?}");
            let requests = server.requests();
            assert!(!requests.is_empty());
            for r in &requests {
                assert_eq!(
                    r.header("content-encoding") == Some("gzip"),
                    expect_gzip,
                    "level {level:?}, v{version}: {:?}",
                    r.headers
                );
            }
            assert_eq!(server.stored().len(), 20);
        }
    }
}

/// What servers and proxies send in `Retry-After`: a huge number, 0, a past date, a
/// year. Each wait is bounded by `retry_max_delay` (400 ms here; 0 and the past date
/// fall back to the backoff), and none stops delivery: the flush completes within its
/// 10 s (before the bound, the huge value panicked the sink task and nothing more was
/// delivered).
#[tokio::test]
async fn hostile_retry_after_values_are_bounded_by_the_maximum_delay() {
    let after =
        |code, value: &str| Reply::Status(code, vec![("Retry-After", value.into())], "".into());
    let script = vec![
        after(503, &u64::MAX.to_string()),
        after(503, "0"),
        after(429, "Thu, 01 Jan 1970 00:00:00 GMT"),
        after(503, "31536000"),
    ];
    let server = FaultServer::scripted(script, Reply::ok()).await;
    let monitor = builder(2, server.port()).start().unwrap();
    record(&monitor, 0, 20);
    let report = monitor.flush().await;
    assert!(report.complete, "{report:?}");
    let sink = report.stats.sink("influx_v2").unwrap();
    assert_eq!(
        (sink.written, sink.retries, sink.buffered),
        (20, 4, 0),
        "{report:?}"
    );
    assert_eq!(server.stored().len(), 20);
    let report = monitor.shutdown().await;
    assert!(
        report.complete && report.stats.sinks[0].is_settled(),
        "{report:?}"
    );
}

/// A broken server answering an error with an endless body: the sink reads at most
/// 4 KiB of it and hangs up, then the retry is written. (Before the bound, the whole
/// 100 MB was read into memory.)
#[tokio::test]
async fn an_endless_error_body_is_read_no_further_than_its_bound() {
    let server = FaultServer::scripted(vec![Reply::HugeBody(500, 100 << 20)], Reply::ok()).await;
    let monitor = builder(2, server.port())
        .request_timeout(Duration::from_secs(30))
        .start()
        .unwrap();
    record(&monitor, 0, 10);
    let report = monitor.flush().await;
    assert!(report.complete, "{report:?}");
    let sink = report.stats.sink("influx_v2").unwrap();
    assert_eq!((sink.written, sink.retries), (10, 1), "{report:?}");
    // Socket buffers take a few MB; the client itself stopped after 4 KiB.
    let streamed = server.streamed();
    assert!(
        streamed < 16 << 20,
        "the client read {streamed} bytes of the error body"
    );
    monitor.shutdown().await;
}

/// 301, 302 and 307 are failures, retried like a 5xx with the `Location` in the WARN:
/// following them would turn the POST into a body-less GET whose 2xx counts the batch
/// as written.
#[tokio::test]
async fn redirects_are_not_followed_and_the_batch_is_retried() {
    for code in [301, 302, 307] {
        let (logs, _guard) = Logs::capture();
        let moved = Reply::Status(code, vec![("Location", "/elsewhere".into())], "".into());
        let server = FaultServer::scripted(vec![moved], Reply::ok()).await;
        let monitor = builder(2, server.port()).start().unwrap();
        record(&monitor, 0, 10);
        let report = monitor.flush().await;
        assert!(report.complete, "{code}: {report:?}");
        let sink = report.stats.sink("influx_v2").unwrap();
        assert_eq!((sink.written, sink.retries), (10, 1), "{code}: {report:?}");
        let requests = server.requests();
        assert!(
            requests
                .iter()
                .all(|r| r.method == "POST" && r.target.starts_with("/api/v2/write")),
            "{code}: {requests:?}"
        );
        assert_eq!(server.stored().len(), 10, "{code}");
        assert_eq!(
            logs.count("redirects are not followed"),
            1,
            "{:?}",
            logs.all()
        );
        assert_eq!(logs.count("/elsewhere"), 1, "{:?}", logs.all());
        monitor.shutdown().await;
    }
}

/// A 404 "bucket not found" is a configuration error of its own: dropped as
/// `not_found` at once (never retried), one ERROR naming the bucket and how to create it.
#[tokio::test]
async fn a_missing_bucket_is_an_error_naming_it() {
    let (logs, _guard) = Logs::capture();
    let body = r#"{"code":"not found","message":"bucket \"bucket\" not found"}"#;
    let server = FaultServer::scripted(vec![], Reply::Status(404, vec![], body.into())).await;
    let monitor = builder(2, server.port()).start().unwrap();
    record(&monitor, 0, 10);
    monitor.flush().await;
    record(&monitor, 10, 10);
    let report = monitor.shutdown().await;
    common::assert_truthful(&report);
    let sink = report.stats.sink("influx_v2").unwrap();
    assert_eq!(sink.dropped.get(DropReason::NotFound), 20, "{report:?}");
    assert_eq!((sink.written, sink.retries), (0, 0), "{report:?}");
    let errors: Vec<_> = (logs.all().into_iter())
        .filter(|l| l.starts_with("ERROR") && l.contains("not_found"))
        .collect();
    assert_eq!(errors.len(), 1, "{:?}", logs.all());
    assert!(
        errors[0].contains(r#"bucket "bucket" of organization "org""#)
            && errors[0].contains("influx bucket create"),
        "{errors:?}"
    );
}

/// `create_database` with a user who may not create databases: one WARN saying so,
/// and the writes go on as before.
#[tokio::test]
async fn a_refused_create_database_is_one_warning_and_nothing_else() {
    let (logs, _guard) = Logs::capture();
    let server = FaultServer::start(|r, _| {
        if r.target.starts_with("/query") {
            Reply::Status(
                403,
                vec![],
                r#"{"error":"requires admin privilege"}"#.into(),
            )
        } else {
            Reply::ok()
        }
    })
    .await;
    let monitor = builder(1, server.port())
        .influx(influx(1, server.port()).with_create_database(true))
        .start()
        .unwrap();
    record(&monitor, 0, 10);
    let report = monitor.shutdown().await;
    common::assert_truthful(&report);
    assert!(report.complete, "{report:?}");
    assert_eq!(report.stats.sink("influx_v1").unwrap().written, 10);
    let creates: Vec<_> = (server.requests().into_iter())
        .filter(|r| r.target.starts_with("/query"))
        .collect();
    assert_eq!(creates.len(), 1, "{creates:?}");
    assert!(
        creates[0].target.contains("CREATE+DATABASE")
            || creates[0].target.contains("CREATE%20DATABASE"),
        "{creates:?}"
    );
    let warned: Vec<_> = (logs.all().into_iter())
        .filter(|l| l.starts_with("WARN") && l.contains("could not create"))
        .collect();
    assert_eq!(warned.len(), 1, "{:?}", logs.all());
    assert!(
        warned[0].contains("requires admin privilege") && !warned[0].contains(PASSWORD),
        "{warned:?}"
    );
}

/// The retry table's client-error rows: 403 is `unauthorized` and 422 (any other 4xx)
/// `rejected`, each dropped at once: one request per batch, no retry.
#[tokio::test]
async fn forbidden_and_other_client_errors_are_dropped_without_retry() {
    for (code, reason) in [(403, DropReason::Unauthorized), (422, DropReason::Rejected)] {
        let server = FaultServer::start(move |_, _| Reply::status(code)).await;
        let monitor = builder(2, server.port()).start().unwrap();
        record(&monitor, 0, 10);
        let report = monitor.flush().await;
        common::assert_truthful(&report);
        let sink = report.stats.sink("influx_v2").unwrap();
        assert_eq!(sink.dropped.get(reason), 10, "{code}: {report:?}");
        assert_eq!(
            (sink.written, sink.retries, sink.requests),
            (0, 0, 1),
            "{code}: {report:?}"
        );
        assert_eq!(server.requests().len(), 1, "{code}");
        assert!(
            sink.last_error
                .as_deref()
                .unwrap()
                .contains(&code.to_string()),
            "{sink:?}"
        );
        monitor.shutdown().await;
    }
}

/// A write that times out is retried, and the retry is written: one timeout, two
/// requests, every line stored once.
#[tokio::test]
async fn a_timeout_then_success_writes_the_batch_once() {
    let slow = Reply::Slow(Duration::from_secs(8), Box::new(Reply::ok()));
    let server = FaultServer::scripted(vec![slow], Reply::ok()).await;
    // The timeout under test is the 5 s request timeout: the first answer comes at 8 s.
    let monitor = builder(2, server.port()).start().unwrap();
    record(&monitor, 0, 10);
    let report = monitor.flush().await;
    assert!(report.complete, "{report:?}");
    let sink = report.stats.sink("influx_v2").unwrap();
    assert_eq!(
        (sink.written, sink.retries, sink.requests),
        (10, 1, 2),
        "{report:?}"
    );
    assert!(
        sink.last_error.as_deref().unwrap().contains("timed out"),
        "{sink:?}"
    );
    // The lines of the second request only are stored: the first one never answered.
    assert_eq!(server.stored().len(), 10);
    monitor.shutdown().await;
}

/// 413 for any request holding one line over the server's limit: the batch is split
/// until that line is alone, which is dropped as `too_large`; the others are written.
#[tokio::test]
async fn a_single_line_over_the_limit_is_dropped_as_too_large() {
    let server = FaultServer::start(|r, _| {
        if r.lines.iter().any(|l| l.contains("n=5i")) {
            Reply::status(413)
        } else {
            Reply::ok()
        }
    })
    .await;
    let monitor = builder(2, server.port()).batch_size(100).start().unwrap();
    record(&monitor, 0, 16);
    let report = monitor.shutdown().await;
    common::assert_truthful(&report);
    let sink = report.stats.sink("influx_v2").unwrap();
    assert_eq!(sink.dropped.get(DropReason::TooLarge), 1, "{report:?}");
    assert_eq!(sink.written, 15, "{report:?}");
    let stored = server.stored_unique();
    assert_eq!(stored.len(), 15);
    assert!(stored.iter().all(|l| !l.contains("n=5i")), "{stored:?}");
}

/// The byte bound: with the database away, a sink keeps at most `max_buffered_bytes`
/// of lines (plus the batch in flight); beyond it the oldest batches are dropped as
/// `buffer_full`, and once the database is back what was kept is the newest.
#[tokio::test]
async fn the_byte_bound_drops_the_oldest_batches() {
    let open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let up = open.clone();
    let server = FaultServer::start(move |_, _| {
        if up.load(std::sync::atomic::Ordering::SeqCst) {
            Reply::ok()
        } else {
            Reply::status(503)
        }
    })
    .await;
    let mut b =
        builder(2, server.port())
            .batch_size(100)
            .retry(ms(50), ms(100), Duration::from_secs(600));
    // 64 KiB of lines (each ~40 bytes: ~1,600 of them); no point bound to speak of.
    b.config_mut().max_buffered_bytes = 64 << 10;
    let monitor = b.start().unwrap();
    for round in 0..50 {
        record(&monitor, round * 100, 100);
        common::wait_until("a batch handed over", Duration::from_secs(30), || {
            monitor.stats().sinks[0].received == (round as u64 + 1) * 100
        })
        .await;
    }
    let during = monitor.stats();
    let sink = &during.sinks[0];
    let dropped = sink.dropped.get(DropReason::BufferFull);
    assert!(dropped > 0 && sink.buffered < 5000, "{during:?}");
    assert!(reconciles(&during), "{during:?}");
    open.store(true, std::sync::atomic::Ordering::SeqCst);
    let report = monitor.flush().await;
    assert!(report.complete, "{report:?}");
    let sink = report.stats.sink("influx_v2").unwrap();
    assert_eq!(sink.written + dropped, 5000, "{report:?}");
    // What was dropped is one run of the oldest batches after the one in flight
    // (which was retried, not dropped): the stored points are 0..100 and the newest.
    let mut stored: Vec<i64> = (server.stored_unique().iter())
        .map(|l| {
            l.split("n=")
                .nth(1)
                .unwrap()
                .split('i')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    stored.sort_unstable();
    let missing: Vec<i64> = (0..5000)
        .filter(|n| stored.binary_search(n).is_err())
        .collect();
    assert_eq!(missing.len() as u64, dropped);
    let (first, last) = (missing[0], missing[missing.len() - 1]);
    assert_eq!(
        (last - first + 1) as usize,
        missing.len(),
        "one contiguous run: {first}..={last}"
    );
    assert_eq!(first, 100, "the batch in flight was kept");
    assert!(stored.ends_with(&[4999]));
    monitor.shutdown().await;
}

/// InfluxDB 3's native API (`version = 3`): the path, query and bearer token a real
/// server checks, checked here by the scripted server (no InfluxDB 3 package is
/// available here); a partial write (400, the bad line refused, the others stored) costs
/// only the bad line, and 5xx answers are retried as for the other versions.
#[tokio::test]
async fn influxdb_3_native_writes_with_its_path_token_and_partial_writes() {
    let server = FaultServer::start(|r, i| {
        let right = r.target.starts_with("/api/v3/write_lp?")
            && r.target.contains("db=luna")
            && r.target.contains("precision=nanosecond")
            && r.header("authorization") == Some("Bearer tok-3");
        match (right, i) {
            (false, _) => Reply::status(401),
            (true, 0) => Reply::status(503),
            (true, _) => Reply::PartialWrite("n=7i"),
        }
    })
    .await;
    let monitor = Monitor::builder()
        .influx(InfluxConfig::v3(
            "127.0.0.1",
            server.port(),
            "luna",
            "tok-3",
        ))
        .retry(ms(50), ms(400), Duration::from_secs(20))
        .request_timeout(Duration::from_secs(5))
        .flushing_period(ms(50))
        .start()
        .unwrap();
    record(&monitor, 0, 10);
    let report = monitor.shutdown().await;
    common::assert_truthful(&report);
    let sink = report.stats.sink("influx_v3").unwrap();
    assert_eq!((sink.written, sink.retries), (9, 1), "{report:?}");
    assert_eq!(sink.dropped.get(DropReason::Rejected), 1, "{report:?}");
    assert_eq!(sink.dropped.get(DropReason::Unauthorized), 0, "{report:?}");
    let stored = server.stored_unique();
    assert_eq!(stored.len(), 9);
    assert!(stored.iter().all(|l| !l.contains("n=7i")));
    // To a loopback server, uncompressed.
    assert!(server
        .requests()
        .iter()
        .all(|r| r.header("content-encoding").is_none()));
}
