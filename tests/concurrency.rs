//! Many tasks recording at once, through flushes and an outage: totals reconcile
//! exactly (recorded = written + dropped), and every written point was stored once.
//! (Its own test binary: it installs the global monitor.)

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::fault_server::{FaultServer, Reply};
use http::StatusCode;
use monitoring::{monitored, InfluxConfig, Monitor};

#[monitored(route = "POST:/concurrent")]
async fn handler(i: u64) -> StatusCode {
    monitoring::add_field("i", i);
    if i.is_multiple_of(3) {
        tokio::task::yield_now().await;
    }
    if i.is_multiple_of(10) {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_recording_through_flushes_and_an_outage_reconciles_exactly() {
    let down = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicUsize::new(0));
    let server = {
        let (down, refused) = (down.clone(), refused.clone());
        FaultServer::start(move |_, _| {
            if down.load(Ordering::SeqCst) {
                refused.fetch_add(1, Ordering::SeqCst);
                Reply::status(503)
            } else {
                Reply::ok()
            }
        })
        .await
    };
    let monitor = Monitor::builder()
        .influx(InfluxConfig::v2("127.0.0.1", server.port(), "o", "b", "t"))
        .flushing_period(Duration::from_millis(20))
        .batch_size(500)
        .queue_capacity(4096)
        .max_buffered_points(10_000)
        .retry(
            Duration::from_millis(20),
            Duration::from_millis(100),
            Duration::from_secs(60),
        )
        .shutdown_timeout(Duration::from_secs(30))
        .start()
        .unwrap();
    monitor.install_global();

    let tasks: Vec<_> = (0..16u64)
        .map(|t| {
            tokio::spawn(async move {
                for i in 0..2_000u64 {
                    handler(t * 1_000_000 + i).await;
                    if i % 100 == 0 {
                        tokio::time::sleep(Duration::from_millis(25)).await;
                    }
                }
            })
        })
        .collect();
    let flusher = {
        let monitor = monitor.clone();
        tokio::spawn(async move {
            for _ in 0..5 {
                monitor.flush().await;
            }
        })
    };
    // An outage while recording goes on, as long as it takes the sink to meet it
    // (on a busy machine a fixed window can pass without a single attempt).
    common::wait_until("points written", Duration::from_secs(60), || {
        monitor.stats().sinks[0].written > 0
    })
    .await;
    down.store(true, Ordering::SeqCst);
    common::wait_until("refused writes", Duration::from_secs(60), || {
        refused.load(Ordering::SeqCst) >= 2
    })
    .await;
    down.store(false, Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap();
    }
    flusher.await.unwrap();
    let report = monitor.shutdown().await;
    Monitor::uninstall_global();

    let stats = &report.stats;
    let sink = &stats.sinks[0];
    // 32,000 requests, every tenth failed: 35,200 points.
    assert_eq!(stats.recorded, 35_200, "{report:?}");
    assert_eq!(sink.buffered, 0);
    assert_eq!(
        stats.recorded,
        sink.written + sink.dropped.total() + stats.dropped.total(),
        "{report:?}"
    );
    assert!(sink.retries > 0, "the outage was seen: {report:?}");
    let stored = server.stored_unique();
    assert_eq!(
        stored.len() as u64,
        sink.written,
        "each written point stored"
    );
    eprintln!(
        "concurrency: recorded {}, written {}, dropped before the sink {:?}, dropped by the sink {:?}, retries {}",
        stats.recorded, sink.written, stats.dropped, sink.dropped, sink.retries
    );
}
