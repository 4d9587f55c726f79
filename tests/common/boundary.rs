//! The request tables of the boundary tests (`tests/layer.rs` for tower/axum,
//! `tests/actix.rs` for actix-web): one request a row, and the check that each is
//! stored once in `requests` (and once in `errors` when failed) with its route, status
//! and error code.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;

use serde_json::Value;

/// One request of a test and what must be stored for it.
pub struct Case {
    pub id: &'static str,
    pub method: &'static str,
    pub path: &'static str,
    pub json: Option<String>,
    pub route: &'static str,
    pub status: u16,
    /// The `errors` point's `error_code` (failed requests).
    pub code: &'static str,
}

/// A row of a case table.
pub fn case(
    id: &'static str,
    method: &'static str,
    path: &'static str,
    json: Option<&str>,
    route: &'static str,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        id,
        method,
        path,
        json: json.map(str::to_owned),
        route,
        status,
        code,
    }
}

/// A JSON body over a 64-byte limit.
pub fn too_big() -> String {
    format!("{{\"pad\":\"{}\"}}", "x".repeat(200))
}

/// The rows of `series` in `db`, by request id; each id stored once.
pub async fn stored(
    influx: &super::Influx1,
    db: &str,
    series: &str,
) -> BTreeMap<String, serde_json::Map<String, Value>> {
    let mut by_id = BTreeMap::new();
    for row in influx.select(db, &format!("SELECT * FROM {series}")).await {
        let id = row["request_id"].as_str().unwrap().to_owned();
        assert!(by_id.insert(id.clone(), row).is_none(), "{id} stored twice");
    }
    by_id
}

/// Every case stored once in `requests` with its route, status and `service`, and
/// once in `errors` with its error code when it failed; the `ok` case carries the
/// handler's `handler_id` tag.
pub async fn check_stored(influx: &super::Influx1, db: &str, service: &str, cases: &[Case]) {
    let (requests, errors) = (
        stored(influx, db, "requests").await,
        stored(influx, db, "errors").await,
    );
    assert_eq!(requests.len(), cases.len(), "{requests:?}");
    for c in cases {
        let row = &requests[c.id];
        assert_eq!(row["route"], c.route, "{}", c.id);
        assert_eq!(row["status_code"], c.status.to_string(), "{}", c.id);
        assert_eq!(row["service"], service, "{}", c.id);
        // Measured, not a default: above zero, and within the test's own minute.
        let took = row["execution_time"].as_f64().unwrap();
        assert!(took > 0.0 && took < 60.0, "{}: {took}", c.id);
        if c.status >= 400 {
            assert_eq!(errors[c.id]["error_code"], c.code, "{}", c.id);
            assert_eq!(errors[c.id]["route"], c.route, "{}", c.id);
        } else {
            assert!(!errors.contains_key(c.id), "{}", c.id);
        }
    }
    assert_eq!(requests["ok"]["handler_id"], "3f2a");
    let failed = cases.iter().filter(|c| c.status >= 400).count();
    assert_eq!(errors.len(), failed);
}
