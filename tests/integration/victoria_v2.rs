//! The same hostile points through the 2.x sink, gzip on, into a real VictoriaMetrics
//! `/api/v2/write`, read back from `/api/v1/export`: every numeric field of every point,
//! with its tags as labels and its timestamp (VictoriaMetrics keeps milliseconds).

use crate::common;

use std::collections::HashMap;
use std::time::Duration;

use common::hostile::{self, Gen};
use monitoring::__private::stored_text;
use monitoring::{FieldValue, InfluxConfig, Monitor};

const POINTS: u64 = 10_000;
const BASE_NS: i64 = 1_700_000_000_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_points_round_trip_through_victoria_metrics_v2_gzip() {
    let vm = common::Victoria::start().await;
    let monitor = Monitor::builder()
        .influx(InfluxConfig::v2(
            "127.0.0.1",
            vm.port,
            "org",
            "bucket",
            "secret-token",
        ))
        .gzip_level(1)
        .flushing_period(Duration::from_millis(100))
        .start()
        .unwrap();
    let mut g = Gen(11);
    let mut sent = HashMap::new();
    for i in 0..POINTS {
        let p = hostile::point(&mut g, "hostile", i, BASE_NS);
        monitor.record(p.clone());
        sent.insert(i.to_string(), p);
    }
    let report = monitor.shutdown().await;
    assert!(report.complete, "{report:?}");
    assert_eq!(report.stats.sink("influx_v2").unwrap().written, POINTS);
    assert_eq!(report.dropped().total(), 0, "{report:?}");
    assert_eq!(vm.invalid_rows().await, 0, "VictoriaMetrics refused lines");

    for (field, expected) in [("f", 0), ("i", 1), ("u", 2), ("b", 3)] {
        let series = vm
            .export(&format!("{{__name__=\"hostile_{field}\"}}"))
            .await;
        assert_eq!(series.len() as u64, POINTS, "series of field {field}");
        for s in series {
            let labels = &s["metric"];
            let id = labels["id"].as_str().unwrap();
            let p = &sent[id];
            let tag = |k: &str| stored_text(&hostile::text(p.tag(k).unwrap()));
            assert_eq!(
                labels[hostile::TAG_KEY].as_str(),
                Some(tag(hostile::TAG_KEY).as_str()),
                "{id}"
            );
            assert_eq!(labels["t2"].as_str(), Some(tag("t2").as_str()), "{id}");
            assert_eq!(
                s["timestamps"][0].as_i64(),
                Some(p.timestamp_ns() / 1_000_000)
            );
            let got = s["values"][0].as_f64().unwrap();
            let want = match (expected, p.field(field).unwrap()) {
                (0, FieldValue::Float(f)) => *f,
                (1, FieldValue::Int(i)) => *i as f64,
                (2, FieldValue::UInt(u)) => *u as f64,
                (3, FieldValue::Bool(b)) => f64::from(u8::from(*b)),
                other => panic!("{other:?}"),
            };
            // VictoriaMetrics stores values as decimals of about 12 significant digits
            // (its compression), so compare to that precision here; InfluxDB 1.6 stores
            // them exactly and influx_v1.rs compares bit for bit. Its decimal exponent
            // also bottoms out near 1e-300: smaller magnitudes come back as 0.
            let close = got == want
                || (got - want).abs() <= want.abs() * 1e-11
                || (want.abs() < 1e-290 && got == 0.0);
            assert!(close, "field {field} of {id}: stored {got}, sent {want}");
        }
    }
}

/// A URL with a path prefix, as a proxy or a VictoriaMetrics cluster (`/insert/<tenant>/
/// influx`) needs: both dialects write through the single-node server's `/influx`
/// prefix (`/influx/write` and `/influx/api/v2/write`), and every point is read back.
#[tokio::test(flavor = "current_thread")]
async fn both_dialects_write_through_a_path_prefix() {
    let vm = common::Victoria::start().await;
    let prefix = format!("http://127.0.0.1:{}/influx", vm.port);
    for (version, influx) in [
        (
            1,
            InfluxConfig::v1("unused", 1, "db").with_url(prefix.clone()),
        ),
        (
            2,
            InfluxConfig::v2("unused", 1, "org", "bucket", "token").with_url(prefix.clone()),
        ),
    ] {
        let monitor = Monitor::builder().influx(influx).start().unwrap();
        for i in 0..50i64 {
            monitor.record(
                monitoring::Point::at(format!("prefixed{version}"), BASE_NS + i * 1_000_000)
                    .with_tag("n", i)
                    .with_field("v", i),
            );
        }
        let report = monitor.shutdown().await;
        assert!(report.complete, "{version}: {report:?}");
        assert_eq!(report.dropped().total(), 0, "{version}: {report:?}");
        let series = vm
            .export(&format!("{{__name__=\"prefixed{version}_v\"}}"))
            .await;
        let mut stored: Vec<i64> = (series.iter())
            .map(|s| s["metric"]["n"].as_str().unwrap().parse().unwrap())
            .collect();
        stored.sort_unstable();
        assert_eq!(stored, (0..50).collect::<Vec<_>>(), "version {version}");
    }
    assert_eq!(vm.invalid_rows().await, 0);
}
