//! 10,000 hostile points through the 1.x sink into a real InfluxDB 1.6.7, read back
//! through `/query`: every point present with identical tags, typed fields and ns
//! timestamps.

use crate::common;

use std::collections::HashMap;
use std::time::Duration;

use common::hostile::{self, Gen};
use monitoring::__private::{stored_field_key, stored_text};
use monitoring::{FieldValue, InfluxConfig, Monitor};
use serde_json::Value;

const POINTS: u64 = 10_000;
const BASE_NS: i64 = 1_700_000_000_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_points_round_trip_through_influxdb_1() {
    let influx = common::Influx1::start().await;
    influx.create_db("hostile").await;
    let monitor = Monitor::builder()
        .influx(InfluxConfig::v1("127.0.0.1", influx.port, "hostile"))
        .flushing_period(Duration::from_millis(100))
        .start()
        .unwrap();

    let mut g = Gen(7);
    let mut sent = HashMap::new();
    let started = std::time::Instant::now();
    for i in 0..POINTS {
        let p = hostile::point(&mut g, "hostile", i, BASE_NS);
        monitor.record(p.clone());
        sent.insert(i.to_string(), p);
    }
    let report = monitor.shutdown().await;
    let elapsed = started.elapsed();
    assert!(report.complete, "{report:?}");
    let sink = report.stats.sink("influx_v1").unwrap();
    assert_eq!(sink.written, POINTS, "{report:?}");
    assert_eq!(report.dropped().total(), 0, "{report:?}");

    let rows = influx.select("hostile", "SELECT * FROM hostile").await;
    assert_eq!(rows.len() as u64, POINTS);
    for row in rows {
        let id = row["id"].as_str().unwrap();
        let p = &sent[id];
        assert_eq!(
            row["time"].as_i64().unwrap(),
            p.timestamp_ns(),
            "time of {id}"
        );
        let tag = |k: &str| stored_text(&hostile::text(p.tag(k).unwrap()));
        assert_eq!(
            row[hostile::TAG_KEY],
            Value::String(tag(hostile::TAG_KEY)),
            "{id}"
        );
        assert_eq!(row["t2"], Value::String(tag("t2")), "{id}");
        let s = hostile::field_text(p, hostile::STRING_FIELD);
        assert_eq!(
            row[&stored_field_key(hostile::STRING_FIELD)],
            Value::String(hostile::stored_string(&s)),
            "{id}"
        );
        let Some(FieldValue::Int(i)) = p.field("i") else {
            panic!()
        };
        assert_eq!(row["i"].as_i64(), Some(*i), "{id}");
        let Some(FieldValue::UInt(u)) = p.field("u") else {
            panic!()
        };
        assert_eq!(row["u"].as_i64(), Some(*u as i64), "{id}");
        let Some(FieldValue::Float(f)) = p.field("f") else {
            panic!()
        };
        assert_eq!(row["f"].as_f64(), Some(*f), "{id}");
        let Some(FieldValue::Bool(b)) = p.field("b") else {
            panic!()
        };
        assert_eq!(row["b"].as_bool(), Some(*b), "{id}");
    }
    // Field types as the server recorded them.
    let keys = influx
        .query("hostile", "SHOW FIELD KEYS FROM hostile")
        .await;
    let types: HashMap<String, String> = keys["results"][0]["series"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v[0].as_str().unwrap().to_owned(),
                v[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(types["i"], "integer");
    assert_eq!(types["u"], "integer");
    assert_eq!(types["f"], "float");
    assert_eq!(types["b"], "boolean");
    assert_eq!(types[&stored_field_key(hostile::STRING_FIELD)], "string");
    eprintln!(
        "influx_v1: {POINTS} hostile points written and read back in {elapsed:?}; requests {}, issues {:?}",
        sink.requests, report.stats.encode_issues
    );
}

/// A database that does not exist: by default the sink creates it at start (as
/// Telegraf does) and every point is stored; with `create_database = false` the points
/// are dropped as `not_found` with one ERROR that names the database and says how to
/// create it, never as an ordinary rejection.
#[tokio::test(flavor = "current_thread")]
async fn a_missing_database_is_created_or_said_loudly() {
    let influx = common::Influx1::start().await;
    let (logs, _guard) = common::logs::Logs::capture();
    for (create, db) in [(true, "created_by_the_sink"), (false, "never_created")] {
        let monitor = Monitor::builder()
            .influx(InfluxConfig::v1("127.0.0.1", influx.port, db).with_create_database(create))
            .start()
            .unwrap();
        for i in 0..5i64 {
            monitor.record(monitoring::Point::at("m", 1_000 + i).with_field("n", i));
        }
        let report = monitor.shutdown().await;
        let sink = report.stats.sink("influx_v1").unwrap();
        if create {
            assert_eq!(sink.written, 5, "{report:?}");
            assert_eq!(influx.count(db, "m", "n").await, 5);
        } else {
            assert_eq!(
                sink.dropped.get(monitoring::DropReason::NotFound),
                5,
                "{report:?}"
            );
            assert_eq!(
                sink.dropped.get(monitoring::DropReason::Rejected),
                0,
                "{report:?}"
            );
        }
    }
    let errors: Vec<_> = (logs.all().into_iter())
        .filter(|l| l.starts_with("ERROR") && l.contains("not_found"))
        .collect();
    assert_eq!(errors.len(), 1, "{:?}", logs.all());
    assert!(
        errors[0].contains("database \"never_created\"")
            && errors[0].contains("CREATE DATABASE \"never_created\""),
        "{errors:?}"
    );
    assert_eq!(
        logs.count("created database \"created_by_the_sink\""),
        1,
        "{:?}",
        logs.all()
    );
}
