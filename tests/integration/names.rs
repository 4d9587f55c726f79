//! The run-time name policy, against a real InfluxDB 1.6.7: a handler cannot replace or
//! repeat a built-in tag or field, no line carries a duplicate key, and every point
//! carries `service`.

use crate::common;

use std::time::Duration;

use common::logs::Logs;
use common::LunaError;
use http::StatusCode;
use monitoring::luna::{LicenseStatus, Licensing};
use monitoring::{
    monitored, Capture, InfluxConfig, Monitor, MonitoringPoint, Point, TagValue, UsageStatistics,
};
use serde_json::Value;

#[monitored(route = "POST:/override")]
async fn overrides(fail: bool) -> Result<StatusCode, LunaError> {
    // Built-in names: left out, the built-in values kept.
    monitoring::add_tag("service", "evil");
    monitoring::add_tag("route", "GET:/evil");
    monitoring::add_tag("status_code", 299u32);
    monitoring::add_tag("error_code", "evil");
    monitoring::add_field("execution_time", "not a float");
    monitoring::add_field("request_id", 5i64);
    monitoring::add_time("execution_time", Duration::from_secs(7));
    // Keys written alike: the later one wins.
    monitoring::add_tag("a\tb", "1");
    monitoring::add_tag("a\nb", "2");
    monitoring::add_field("x\ny", 1i64);
    monitoring::add_field("x\ry", 2i64);
    monitoring::add_tag("kept", "yes");
    if fail {
        Err(LunaError)
    } else {
        Ok(StatusCode::OK)
    }
}

#[tokio::test]
async fn built_in_names_are_kept_and_no_line_repeats_a_key() {
    let (logs, _guard) = Logs::capture();
    let influx = common::Influx1::start().await;
    influx.create_db("names").await;
    let monitor = Monitor::builder()
        .influx(InfluxConfig::v1("127.0.0.1", influx.port, "names"))
        .service("svc")
        .start()
        .unwrap();
    monitor.scope(overrides(false)).await.unwrap();
    monitor.scope(overrides(true)).await.unwrap_err();
    // A series named `time` is a valid series (only keys named `time` are rejected).
    monitor.record(Point::at("time", 1_000).with_field("f", 1i64));
    let report = monitor.shutdown().await;
    assert!(report.complete, "{report:?}");
    assert_eq!(report.dropped().total(), 0, "{report:?}");
    assert_eq!(report.stats.sinks[0].written, 4, "{report:?}");
    assert_eq!(influx.count("names", "time", "f").await, 1);
    let issues = report.stats.encode_issues;
    // Per request: four tags, `execution_time` (set, then timed) and `request_id`.
    assert_eq!(issues.builtin_names, 12, "{issues:?}");
    // A tag and a field on each of the three points.
    assert_eq!(issues.duplicates, 6, "{issues:?}");
    assert_eq!(logs.count("built-in name"), 1, "{:?}", logs.all());

    let rows = influx
        .select("names", "SELECT * FROM requests ORDER BY time")
        .await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    for (row, status) in rows.iter().zip(["200", "400"]) {
        assert_eq!(row["service"], "svc");
        assert_eq!(row["route"], "POST:/override");
        assert_eq!(row["status_code"], status);
        assert!(row["request_id"].as_str().is_some(), "{row:?}");
        let took = row["execution_time"].as_f64().unwrap();
        assert!(took < 7.0, "the handler's own time: {row:?}");
        assert_eq!(row["kept"], "yes");
        assert_eq!(row["a\u{FFFD}b"], "2");
        assert_eq!(row["x\u{FFFD}y"], 2);
    }
    let errors = influx.select("names", "SELECT * FROM errors").await;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["error_code"], "11027");
    assert_eq!(errors[0]["status_code"], "400");
    assert_eq!(errors[0]["request_id"], rows[1]["request_id"]);
    // `errors` has no `execution_time` of its own, and the handler's was left out.
    assert!(
        errors[0].get("execution_time").is_none_or(Value::is_null),
        "{errors:?}"
    );
}

#[derive(Default, UsageStatistics)]
struct Usages {
    face_detector_usages: u64,
}

#[tokio::test]
async fn every_point_carries_service() {
    let (monitor, capture) = common::capture_monitor();
    monitor
        .scope(async {
            Usages {
                face_detector_usages: 2,
            }
            .record();
            Licensing {
                license_status: LicenseStatus::Ok,
                liveness_balance: 3,
                warnings: None,
                errors: None,
            }
            .record();
            monitoring::record(Point::new("custom").with_field("f", 1i64));
            monitoring::record(
                Point::new("own")
                    .with_tag("service", "mine")
                    .with_field("f", 1i64),
            );
        })
        .await;
    monitor.shutdown().await;
    // No service configured: the executable's name, which cargo makes
    // `<test crate>-<16 hex digits>`.
    let name = match capture.series("licensing")[0].tag("service") {
        Some(TagValue::Text(name)) => name.to_string(),
        other => panic!("service: {other:?}"),
    };
    let hash = name
        .strip_prefix(concat!(env!("CARGO_CRATE_NAME"), "-"))
        .unwrap_or_default();
    assert!(
        hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{name}"
    );
    let name = name.as_str();
    for series in ["usages_statistic", "licensing", "custom"] {
        let points = capture.series(series);
        assert_eq!(points.len(), 1, "{series}");
        assert_eq!(
            points[0].tag("service"),
            Some(&TagValue::from(name.to_owned())),
            "{series}"
        );
    }
    assert_eq!(
        capture.series("own")[0].tag("service"),
        Some(&TagValue::from("mine"))
    );
    // With a service configured, that one.
    let capture = Capture::new();
    let monitor = Monitor::builder()
        .without_config_sink()
        .capture(&capture)
        .service("luna-handlers")
        .start()
        .unwrap();
    monitor
        .scope(async { monitoring::record(Point::new("custom").with_field("f", 1i64)) })
        .await;
    monitor.shutdown().await;
    let point = &capture.series("custom")[0];
    assert_eq!(point.tag("service"), Some(&TagValue::from("luna-handlers")));
}
