//! The example service's demo against a real InfluxDB 1.6.7: the number of `requests`
//! and `errors` points stored equals the requests sent and failed, every tag and field
//! matches the schema, handler-added tags and timing fields are where expected. (Its own
//! binary: the demo installs the global monitor.)
#![cfg(feature = "axum")]

mod common;

use monitoring::Config;
use serde_json::Value;

// One end-to-end scenario, read top to bottom.
#[allow(clippy::too_many_lines)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_points_stored_in_influxdb_match_what_was_sent() {
    let influx = common::Influx1::start().await;
    influx.create_db("luna").await;
    let config = Config::from_toml_str(&format!(
        r#"
[monitoring]
storage_type = "influx"
service = "luna-handlers"
flushing_period = 0.2
stats_period = 0.2

[monitoring.influx]
version = 1
host = "127.0.0.1"
port = {}
database = "luna"
"#,
        influx.port
    ))
    .unwrap();
    let (sent, _capture, report) = monitoring_examples::demo(Some(config), None, 30).await;
    assert!(report.complete, "{report:?}");
    assert_eq!(report.dropped().total(), 0, "{report:?}");

    let total: u64 = sent.requests.values().sum();
    let failed: u64 = sent.failed.values().sum();
    assert_eq!(
        influx.count("luna", "requests", "execution_time").await,
        total
    );
    assert_eq!(influx.count("luna", "errors", "request_id").await, failed);

    let requests = influx.select("luna", "SELECT * FROM requests").await;
    let errors = influx.select("luna", "SELECT * FROM errors").await;
    // Each request the demo sent (its own `demo-<n>` id) is stored exactly once.
    for (series, rows) in [("requests", &requests), ("errors", &errors)] {
        let ids: std::collections::HashSet<&str> = rows
            .iter()
            .map(|r| r["request_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), rows.len(), "a request stored twice in {series}");
    }
    for (route, n) in &sent.requests {
        let stored = requests.iter().filter(|r| r["route"] == *route).count() as u64;
        assert_eq!(stored, *n, "requests of {route}");
    }
    for (route, n) in &sent.failed {
        let stored = errors.iter().filter(|r| r["route"] == *route).count() as u64;
        assert_eq!(stored, *n, "errors of {route}");
    }
    let timing = [
        (
            "POST:/detector",
            &[
                "download_images_time",
                "load_images_for_processing_time",
                "save_warps_time",
            ][..],
        ),
        (
            "POST:/extractor",
            &["download_images_time", "save_samples_time"][..],
        ),
        (
            "POST:/handlers/{handler_id}/events",
            &[
                "download_images_time",
                "face_sample_storage_policy_time",
                "match_policy_time",
                "event_storage_policy_time",
            ][..],
        ),
    ];
    for row in &requests {
        assert_eq!(row["service"], "luna-handlers");
        let status: u16 = row["status_code"].as_str().unwrap().parse().unwrap();
        let id = row["request_id"].as_str().unwrap();
        assert!(
            id.starts_with("demo-"),
            "request id from the X-Request-Id header: {id}"
        );
        let exec = row["execution_time"].as_f64().unwrap();
        assert!(exec > 0.0 && exec < 5.0);
        let route = row["route"].as_str().unwrap();
        if route == "POST:/handlers/{handler_id}/events" {
            assert!(row["handler_id"].is_string(), "handler_id tag on {row:?}");
        } else {
            assert_eq!(row["handler_id"], Value::Null);
        }
        if status == 201 {
            let (_, fields) = timing.iter().find(|(r, _)| *r == route).unwrap();
            for f in *fields {
                let t = row[*f].as_f64().unwrap_or_else(|| panic!("{f} on {route}"));
                assert!(t > 0.0 && t <= exec, "{f} = {t} within {exec}");
            }
        }
    }
    for row in &errors {
        let code = row["error_code"].as_str().unwrap();
        // LUNA's codes from the handlers; the status code for the failures the layer
        // saw before any handler (malformed JSON, unknown path, wrong method).
        assert!(
            ["12031", "22002", "400", "404", "405"].contains(&code),
            "{code}"
        );
        assert!(row["status_code"].as_str().unwrap().starts_with('4'));
        assert!(row["request_id"].is_string());
    }
    // Field types as stored.
    let keys = influx.query("luna", "SHOW FIELD KEYS FROM requests").await;
    for v in keys["results"][0]["series"][0]["values"]
        .as_array()
        .unwrap()
    {
        let expected = if v[0] == "request_id" {
            "string"
        } else {
            "float"
        };
        assert_eq!(v[1], expected, "{v}");
    }
    let licensing = influx.select("luna", "SELECT * FROM licensing").await;
    assert_eq!(licensing.len(), 1);
    assert_eq!(licensing[0]["license_status"], "ok");
    assert_eq!(licensing[0]["liveness_balance"], 100_000);
    let usages = influx
        .select("luna", "SELECT * FROM usages_statistic")
        .await;
    let successful_image_requests = requests
        .iter()
        .filter(|r| r["route"] != "GET:/version" && r["status_code"] == "201")
        .count();
    assert_eq!(usages.len(), successful_image_requests);
    assert!(usages
        .iter()
        .all(|u| u["face_detector_usages"] == 2 && u["service"] == "luna-handlers"));
    eprintln!("demo: {total} requests ({failed} failed) stored and checked in InfluxDB 1.6.7");
    dashboard_queries_return_rows(&influx).await;
}

/// Every query of the shipped InfluxQL dashboard (`dashboards/influxql.json`), with
/// Grafana's macros substituted as Grafana would, runs without error, and every panel
/// shows rows over the demo's points (a status class the demo never answers, 3xx or
/// 5xx, has none), the monitoring-health row included (the demo records the monitor's
/// health every 0.2 s).
async fn dashboard_queries_return_rows(influx: &common::Influx1) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/dashboards/influxql.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    assert!(panels.len() >= 6, "{} panels", panels.len());
    let mut checked = 0;
    for panel in panels.iter().filter(|p| p["type"] != "row") {
        let title = panel["title"].as_str().unwrap();
        let mut panel_rows = 0;
        for target in panel["targets"].as_array().unwrap() {
            let query = target["query"]
                .as_str()
                .unwrap()
                .replace("$timeFilter", "time > now() - 1h")
                .replace("$__interval_ms", "10000")
                .replace("$__interval", "10s");
            assert!(
                !query.contains('$'),
                "unsubstituted macro in {title}: {query}"
            );
            let body = influx.query("luna", &query).await;
            let result = &body["results"][0];
            assert!(result["error"].is_null(), "{title}: {query}: {result}");
            let series = result["series"].as_array();
            let values: usize = series
                .into_iter()
                .flatten()
                .map(|s| {
                    let rows = s["values"].as_array().unwrap();
                    // Rows with at least one non-null value beyond the time column.
                    rows.iter()
                        .filter(|r| r.as_array().unwrap()[1..].iter().any(|v| !v.is_null()))
                        .count()
                })
                .sum();
            panel_rows += values;
            checked += 1;
        }
        assert!(panel_rows > 0, "{title}: no rows");
    }
    eprintln!(
        "dashboard: {checked} queries run, all {} panels show rows",
        panels.len()
    );
}
