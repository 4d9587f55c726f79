//! 100,000 generated hostile points into a real InfluxDB 1.6.7: zero 400 responses, and
//! every value the policy calls representable read back equal (NaN/±Inf fields and
//! reserved names absent, text as documented).

use crate::common;

use std::collections::HashMap;
use std::time::Duration;

use common::hostile::{self, Gen};
use monitoring::__private::{stored_field_key, stored_text};
use monitoring::line_protocol::MAX_STRING_FIELD_BYTES;
use monitoring::{DropReason, FieldValue, InfluxConfig, Monitor, Point};
use serde_json::Value;

const POINTS: u64 = 100_000;
const BASE_NS: i64 = 1_600_000_000_000_000_000;

/// The hostile set plus what the policy must drop or cut.
fn point(g: &mut Gen, i: u64) -> Point {
    let mut p = hostile::point(g, "hostile", i, BASE_NS);
    match i % 10 {
        0 => p.add_field("nan", f64::NAN),
        1 => p.add_field(
            "inf",
            if g.next().is_multiple_of(2) {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            },
        ),
        2 => p.add_tag("empty", ""),
        3 => p.add_tag("time", "reserved"),
        4 => p.add_field("_under", 1i64),
        5 => p.add_field(
            "extreme",
            if g.next().is_multiple_of(2) {
                f64::MAX
            } else {
                f64::MIN_POSITIVE
            },
        ),
        6 => p.add_field("imin", i64::MIN),
        _ => {}
    }
    if i % 20_000 == 7 {
        p.add_field("long", "ü".repeat(MAX_STRING_FIELD_BYTES)); // 128 KiB, cut to 64 KiB
    }
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_hostile_points_with_zero_rejections() {
    let influx = common::Influx1::start().await;
    influx.create_db("hostile").await;
    let monitor = Monitor::builder()
        .influx(InfluxConfig::v1("127.0.0.1", influx.port, "hostile"))
        .flushing_period(Duration::from_millis(100))
        .queue_capacity(POINTS as usize)
        .shutdown_timeout(Duration::from_secs(120))
        .start()
        .unwrap();
    let mut g = Gen(2024);
    let mut sent = HashMap::new();
    for i in 0..POINTS {
        let p = point(&mut g, i);
        monitor.record(p.clone());
        sent.insert(i.to_string(), p);
    }
    let report = monitor.shutdown().await;
    let sink = report.stats.sink("influx_v1").unwrap();
    eprintln!(
        "hostile_100k: written {}, requests {}, retries {}, dropped {:?}, issues {:?}",
        sink.written,
        sink.requests,
        sink.retries,
        report.dropped(),
        report.stats.encode_issues
    );
    assert!(report.complete);
    assert_eq!(
        sink.dropped.get(DropReason::Rejected),
        0,
        "no 400: {:?}",
        sink.last_error
    );
    assert_eq!(sink.retries, 0);
    assert_eq!(sink.written, POINTS);
    let issues = report.stats.encode_issues;
    assert_eq!(issues.fields_dropped, 2 * POINTS / 10, "NaN and ±Inf");
    assert_eq!(issues.reserved_names, 2 * POINTS / 10, "time and _under");
    assert_eq!(issues.tags_omitted, POINTS / 10, "empty tag values");
    assert_eq!(issues.truncated, POINTS / 20_000);

    let rows = influx.select("hostile", "SELECT * FROM hostile").await;
    assert_eq!(rows.len() as u64, POINTS);
    let string_key = stored_field_key(hostile::STRING_FIELD);
    for row in rows {
        let id = row["id"].as_str().unwrap();
        let p = sent
            .get(id)
            .unwrap_or_else(|| panic!("unknown id {id:?} in {row:?}"));
        assert_eq!(row["time"].as_i64(), Some(p.timestamp_ns()));
        let tag = |k: &str| stored_text(&hostile::text(p.tag(k).unwrap()));
        assert_eq!(row[hostile::TAG_KEY], Value::String(tag(hostile::TAG_KEY)));
        assert_eq!(row["t2"], Value::String(tag("t2")));
        let s = hostile::field_text(p, hostile::STRING_FIELD);
        assert_eq!(row[&string_key], Value::String(hostile::stored_string(&s)));
        for (key, value) in p.fields() {
            let got = row.get(key.as_str()).unwrap_or(&Value::Null);
            match value {
                FieldValue::Float(f) if f.is_finite() => {
                    assert_eq!(got.as_f64(), Some(*f), "{key} of {id}")
                }
                FieldValue::Float(_) => assert!(got.is_null(), "{key} of {id} must be dropped"),
                FieldValue::Int(v) if !key.starts_with('_') => {
                    assert_eq!(got.as_i64(), Some(*v), "{key} of {id}")
                }
                FieldValue::Int(_) => assert!(got.is_null()),
                FieldValue::UInt(v) => assert_eq!(got.as_i64(), Some(*v as i64)),
                FieldValue::Bool(b) => assert_eq!(got.as_bool(), Some(*b)),
                FieldValue::Str(t) if key.as_str() == "long" => {
                    let stored = got.as_str().unwrap();
                    assert!(t.starts_with(stored) && stored.len() > MAX_STRING_FIELD_BYTES - 4);
                }
                FieldValue::Str(_) => {}
            }
        }
        assert!(row.get("empty").is_none_or(Value::is_null));
    }
}
