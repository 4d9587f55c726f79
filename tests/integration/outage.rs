//! A real InfluxDB 1.6.7 killed mid-stream and restarted on the same data directory
//! while points keep being recorded: stored = recorded − counted drops, with zero drops
//! when the outage fits the buffer.

use crate::common;

use std::time::Duration;

use monitoring::{DropReason, InfluxConfig, Monitor, Point};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_that_fits_the_buffer_loses_nothing() {
    let mut influx = common::Influx1::start().await;
    influx.create_db("outage").await;
    let monitor = Monitor::builder()
        .influx(InfluxConfig::v1("127.0.0.1", influx.port, "outage"))
        .flushing_period(ms(100))
        .batch_size(1000)
        .retry(ms(100), ms(500), Duration::from_secs(60))
        .request_timeout(Duration::from_secs(2))
        .shutdown_timeout(Duration::from_secs(20))
        .start()
        .unwrap();
    let recorder = {
        let monitor = monitor.clone();
        tokio::spawn(async move {
            let mut n = 0i64;
            for _ in 0..400 {
                for _ in 0..50 {
                    monitor.record(
                        Point::at("stream", 1_000_000 + n)
                            .with_tag("src", "outage")
                            .with_field("n", n),
                    );
                    n += 1;
                }
                tokio::time::sleep(ms(10)).await;
            }
            n as u64
        })
    };
    // Some points written before the outage, then an outage of several retries.
    common::wait_until(
        "points written before the outage",
        Duration::from_secs(60),
        || monitor.stats().sinks[0].written >= 2000,
    )
    .await;
    influx.kill();
    let down = monitor.stats();
    common::wait_until("the sink meets the outage", Duration::from_secs(60), || {
        monitor.stats().sinks[0].retries >= 4
    })
    .await;
    let during = monitor.stats();
    influx.restart().await;
    let recorded = recorder.await.unwrap();
    let report = monitor.shutdown().await;
    assert!(report.complete, "{report:?}");
    let sink = report.stats.sink("influx_v1").unwrap();
    let stored = influx.count("outage", "stream", "n").await;
    eprintln!(
        "outage: recorded {recorded}, stored {stored}, dropped {:?}, retries {}, written while down {}",
        report.dropped(),
        sink.retries,
        during.sinks[0].written - down.sinks[0].written,
    );
    assert!(during.sinks[0].retries > 0, "the outage was seen");
    assert_eq!(report.stats.recorded, recorded);
    assert_eq!(report.dropped().total(), 0);
    assert_eq!(stored, recorded);
    assert_eq!(sink.written, recorded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_beyond_the_buffer_drops_the_oldest_and_counts_them_exactly() {
    let mut influx = common::Influx1::start().await;
    influx.create_db("overflow").await;
    let monitor = Monitor::builder()
        .influx(InfluxConfig::v1("127.0.0.1", influx.port, "overflow"))
        .flushing_period(ms(50))
        .batch_size(500)
        .max_buffered_points(2000)
        .retry(ms(100), ms(300), Duration::from_secs(60))
        .shutdown_timeout(Duration::from_secs(20))
        .start()
        .unwrap();
    influx.kill();
    for n in 0..10_000i64 {
        monitor.record(Point::at("stream", 1_000_000 + n).with_field("n", n));
        if n % 500 == 499 {
            // The flusher hands each batch over before the next is recorded.
            common::wait_until("a batch handed over", Duration::from_secs(30), || {
                monitor.stats().sinks[0].received == n as u64 + 1
            })
            .await;
        }
    }
    common::wait_until(
        "the flusher handed everything over",
        Duration::from_secs(60),
        || monitor.stats().sinks[0].received == 10_000,
    )
    .await;
    influx.restart().await;
    let report = monitor.shutdown().await;
    let sink = report.stats.sink("influx_v1").unwrap();
    let stored = influx.count("overflow", "stream", "n").await;
    let dropped = report.dropped().total();
    eprintln!(
        "overflow: recorded 10000, stored {stored}, dropped {:?}",
        report.dropped()
    );
    assert!(report.complete);
    assert!(dropped > 0);
    assert_eq!(dropped, sink.dropped.get(DropReason::BufferFull));
    assert_eq!(stored + dropped, 10_000, "every point stored or counted");
    assert_eq!(stored, sink.written);
    // The newest points survived: what is missing is one run of the oldest batches,
    // after the batch that was in flight (retried, not dropped) when the buffer filled.
    let rows = influx.select("overflow", "SELECT n FROM stream").await;
    let mut stored: Vec<i64> = rows.iter().map(|r| r["n"].as_i64().unwrap()).collect();
    stored.sort_unstable();
    let missing: Vec<i64> = (0..10_000)
        .filter(|n| stored.binary_search(n).is_err())
        .collect();
    assert_eq!(missing.len() as u64, dropped);
    let (first, last) = (missing[0], missing[missing.len() - 1]);
    assert_eq!(
        (last - first + 1) as u64,
        dropped,
        "one run: {first}..={last}"
    );
    assert!(
        first > 0 && first <= 500,
        "the batch in flight was kept: {first}..={last}"
    );
    assert!(last < 9_999, "the newest was kept: {first}..={last}");
}

/// Two InfluxDB 1.6.7 servers as two endpoints of one destination (`urls`), one killed
/// with SIGKILL mid-stream and restarted: every recorded point is stored on one of
/// them, nothing is dropped, and no backoff was needed (the other endpoint took each
/// batch at once); the endpoints took turns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_endpoints_one_killed_lose_nothing_and_never_back_off() {
    let mut a = common::Influx1::start().await;
    let b = common::Influx1::start().await;
    let monitor = Monitor::builder()
        .influx(InfluxConfig::v1("unused", 1, "pair").with_urls([a.url(), b.url()]))
        .flushing_period(ms(50))
        .batch_size(100)
        .retry(ms(100), ms(300), Duration::from_secs(60))
        .request_timeout(Duration::from_secs(5))
        .stats_period(ms(200))
        .start()
        .unwrap();
    let record = |from: i64, to: i64| {
        for n in from..to {
            monitor.record(Point::at("stream", 1_000_000 + n).with_field("n", n));
        }
    };
    let written = |n: u64| {
        let monitor = monitor.clone();
        async move {
            common::wait_until("points written", Duration::from_secs(60), || {
                monitor.stats().sinks[0].written >= n
            })
            .await;
        }
    };
    for round in 0..5 {
        record(round * 100, round * 100 + 100);
        written((round as u64 + 1) * 100).await;
    }
    a.kill();
    for round in 5..15 {
        record(round * 100, round * 100 + 100);
        written((round as u64 + 1) * 100).await;
    }
    a.restart().await;
    for round in 15..20 {
        record(round * 100, round * 100 + 100);
        written((round as u64 + 1) * 100).await;
    }
    let report = monitor.shutdown().await;
    assert!(report.complete, "{report:?}");
    assert_eq!(report.dropped().total(), 0, "{report:?}");
    let sink = &report.stats.sinks[0];
    // Every point written (the 2,000 and the health points), none after a backoff.
    assert_eq!((sink.written, sink.retries), (sink.received, 0), "{sink:?}");
    let [ea, eb] = &sink.endpoints[..] else {
        panic!("{sink:?}")
    };
    assert!(ea.failures > 0 && eb.failures == 0, "{sink:?}");
    assert!(
        ea.requests > ea.failures && eb.requests > 0,
        "turns: {sink:?}"
    );
    let mut stored = std::collections::BTreeSet::new();
    for server in [&a, &b] {
        for row in server.select("pair", "SELECT n FROM stream").await {
            stored.insert(row["n"].as_i64().unwrap());
        }
    }
    assert_eq!(stored, (0..2000).collect(), "the union of both servers");
    // The health points name each endpoint, and the failures of the one killed.
    let mut failures = std::collections::BTreeMap::new();
    for server in [&a, &b] {
        let q = "SELECT last(failures) FROM monitoring WHERE endpoint =~ /./ GROUP BY endpoint";
        let body = server.query("pair", q).await;
        for s in body["results"][0]["series"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let endpoint = s["tags"]["endpoint"].as_str().unwrap().to_owned();
            let n = s["values"][0][1].as_u64().unwrap();
            let seen = failures.entry(endpoint).or_insert(0);
            *seen = n.max(*seen);
        }
    }
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures
            .iter()
            .any(|(url, n)| url.contains(&a.port.to_string()) && *n > 0),
        "{failures:?}"
    );
}

/// Two destinations (InfluxDB 1.6.7 and VictoriaMetrics), InfluxDB down for 20 s while
/// points keep coming: VictoriaMetrics has every point on time (each batch written
/// while InfluxDB is still down), and InfluxDB has every point once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_destinations_outage_never_delays_the_other() {
    let mut influx = common::Influx1::start().await;
    let vm = common::Victoria::start().await;
    let monitor = Monitor::builder()
        .influx(InfluxConfig::v1("127.0.0.1", influx.port, "two"))
        .add_influx(InfluxConfig::v2("127.0.0.1", vm.port, "org", "bucket", "t"))
        .flushing_period(ms(50))
        .retry(ms(100), ms(500), Duration::from_secs(120))
        .request_timeout(Duration::from_secs(5))
        .start()
        .unwrap();
    let sink = |name: &str| monitor.stats().sink(name).cloned().unwrap();
    influx.kill();
    let down = std::time::Instant::now();
    let mut n = 0i64;
    let mut slowest = Duration::ZERO;
    while down.elapsed() < Duration::from_secs(20) {
        for _ in 0..100 {
            monitor.record(Point::at("stream", 1_000_000_000 + n * 1_000_000).with_field("n", n));
            n += 1;
        }
        let recorded = std::time::Instant::now();
        common::wait_until("VictoriaMetrics on time", Duration::from_secs(30), || {
            sink("influx_v2").written == n as u64
        })
        .await;
        slowest = slowest.max(recorded.elapsed());
        tokio::time::sleep(ms(400)).await; // the next batch of a steady load
    }
    let during = sink("influx_v1");
    assert_eq!(during.written, 0, "{during:?}");
    assert!(during.retries > 0, "{during:?}");
    influx.restart().await;
    common::wait_until("InfluxDB catches up", Duration::from_secs(60), || {
        sink("influx_v1").written == n as u64
    })
    .await;
    let report = monitor.shutdown().await;
    assert!(report.complete, "{report:?}");
    assert_eq!(report.dropped().total(), 0, "{report:?}");
    eprintln!("two destinations: {n} points; VictoriaMetrics wrote each batch within {slowest:?} while InfluxDB was down");
    assert_eq!(influx.count("two", "stream", "n").await, n as u64);
    let series = vm.export("{__name__=\"stream_n\"}").await;
    let stored: usize = series
        .iter()
        .map(|s| s["values"].as_array().unwrap().len())
        .sum();
    assert_eq!(stored as i64, n);
}
