//! The example service of `monitoring`: an HTTP service shaped like luna-handlers,
//! monitored with one layer and an attribute per handler, and the traffic the demo sends
//! it. The `handlers` example serves it; `tests/demo.rs` checks what it stores.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::extract::{Json, Path};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use http::StatusCode;
use monitoring::luna::{EstimatorUsages, LicenseStatus, Licensing};
use monitoring::{
    monitored, timed_field, Capture, Config, FieldValue, Monitor, MonitorBuilder, MonitoredError,
    MonitoringPoint, TagValue, UsageStatistics,
};
use serde::Deserialize;
use serde_json::{json, Value};

/// luna-handlers' error answer: an HTTP status, a LUNA error code and a description.
#[derive(Debug)]
pub struct LunaError {
    status: StatusCode,
    error_code: u32,
    desc: &'static str,
}

impl LunaError {
    const BAD_IMAGE: LunaError = LunaError {
        status: StatusCode::BAD_REQUEST,
        error_code: 12031,
        desc: "Failed to decode image",
    };
    const HANDLER_NOT_FOUND: LunaError = LunaError {
        status: StatusCode::NOT_FOUND,
        error_code: 22002,
        desc: "Handler not found",
    };
}

impl MonitoredError for LunaError {
    fn status_code(&self) -> u16 {
        self.status.as_u16()
    }
    fn error_code(&self) -> Option<TagValue> {
        Some(self.error_code.into())
    }
}

impl IntoResponse for LunaError {
    fn into_response(self) -> Response {
        let body = json!({"error_code": self.error_code, "desc": self.desc, "detail": self.desc});
        (self.status, Json(body)).into_response()
    }
}

type Reply = Result<(StatusCode, Json<Value>), LunaError>;

/// The request body of the image handlers.
#[derive(Deserialize)]
pub struct Images {
    images: Vec<String>,
}

/// Pretends to fetch images; an empty one cannot be decoded.
#[timed_field("download_images_time")]
async fn download_images(images: &[String]) -> Result<usize, LunaError> {
    tokio::time::sleep(Duration::from_millis(1)).await;
    if images.iter().any(|i| i.is_empty()) {
        return Err(LunaError::BAD_IMAGE);
    }
    Ok(images.len())
}

#[timed_field("load_images_for_processing_time")]
fn load_images(n: usize) -> usize {
    n
}

#[timed_field("save_warps_time")]
async fn save_warps() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

#[timed_field("save_samples_time")]
async fn save_samples() {
    tokio::time::sleep(Duration::from_micros(500)).await;
}

fn estimate(faces: usize, descriptors: bool) {
    let faces = faces as u64;
    EstimatorUsages {
        face_detector_usages: faces,
        landmarks68_detector_usages: faces,
        head_pose_estimator_usages: faces,
        face_descriptor_extractor_usages: if descriptors { faces } else { 0 },
        ..Default::default()
    }
    .record();
}

#[monitored(route = "POST:/detector")]
async fn detector(Json(body): Json<Images>) -> Reply {
    let n = download_images(&body.images).await?;
    let faces = load_images(n);
    estimate(faces, false);
    save_warps().await;
    Ok((StatusCode::CREATED, Json(json!({"faces": faces}))))
}

#[monitored(route = "POST:/extractor")]
async fn extractor(Json(body): Json<Images>) -> Reply {
    let n = download_images(&body.images).await?;
    estimate(n, true);
    save_samples().await;
    Ok((StatusCode::CREATED, Json(json!({"descriptors": n}))))
}

const HANDLERS: [&str; 2] = [
    "b1a1e1c0-0000-4000-8000-000000000001",
    "b1a1e1c0-0000-4000-8000-000000000002",
];

#[timed_field("face_sample_storage_policy_time")]
async fn face_sample_storage_policy() {
    tokio::time::sleep(Duration::from_micros(300)).await;
}

#[timed_field("match_policy_time")]
async fn match_policy() {
    tokio::time::sleep(Duration::from_micros(300)).await;
}

#[timed_field("event_storage_policy_time")]
async fn event_storage_policy() {
    tokio::time::sleep(Duration::from_micros(300)).await;
}

#[monitored(route = "POST:/handlers/{handler_id}/events")]
async fn events(Path(handler_id): Path<String>, Json(body): Json<Images>) -> Reply {
    monitoring::add_tag("handler_id", handler_id.clone());
    if !HANDLERS.contains(&handler_id.as_str()) {
        return Err(LunaError::HANDLER_NOT_FOUND);
    }
    let n = download_images(&body.images).await?;
    estimate(n, true);
    face_sample_storage_policy().await;
    match_policy().await;
    event_storage_policy().await;
    Ok((StatusCode::CREATED, Json(json!({"events": n}))))
}

#[monitored(route = "GET:/version")]
async fn version() -> (StatusCode, Json<Value>) {
    (
        StatusCode::OK,
        Json(json!({"Version": {"api": 6, "major": 1}})),
    )
}

/// The service's routes.
pub fn app() -> Router {
    Router::new()
        .route("/detector", post(detector))
        .route("/extractor", post(extractor))
        .route("/handlers/{handler_id}/events", post(events))
        .route("/version", get(version))
        .layer(monitoring::MonitoringLayer::new())
}

/// Records the licensing point luna-handlers sends after a license check.
pub fn check_license() {
    Licensing {
        license_status: LicenseStatus::Ok,
        liveness_balance: 100_000,
        warnings: None,
        errors: None,
    }
    .record();
}

/// What the demo sent: requests and failures per route.
#[derive(Debug, Default)]
pub struct Sent {
    /// Requests sent, by route.
    pub requests: BTreeMap<&'static str, u64>,
    /// Requests that failed (status >= 400), by route.
    pub failed: BTreeMap<&'static str, u64>,
}

/// Sends the demo's mix of requests over real HTTP.
pub async fn send_mix(addr: SocketAddr, rounds: u64) -> Sent {
    let client = reqwest::Client::new();
    let base = format!("http://{addr}");
    let mut sent = Sent::default();
    for i in 0..rounds {
        let bad = i % 5 == 4;
        let images = if bad {
            r#"{"images": ["aGVsbG8=", ""]}"#
        } else {
            r#"{"images": ["aGVsbG8=", "d29ybGQ="]}"#
        };
        let handler = if i % 7 == 6 {
            "not-a-handler"
        } else {
            HANDLERS[(i % 2) as usize]
        };
        let mut calls: Vec<(&'static str, reqwest::RequestBuilder, bool)> = vec![
            (
                "POST:/detector",
                client.post(format!("{base}/detector")).body(images),
                bad,
            ),
            (
                "POST:/extractor",
                client.post(format!("{base}/extractor")).body(images),
                bad,
            ),
            (
                "POST:/handlers/{handler_id}/events",
                client
                    .post(format!("{base}/handlers/{handler}/events"))
                    .body(images),
                bad || handler == "not-a-handler",
            ),
            ("GET:/version", client.get(format!("{base}/version")), false),
        ];
        if i % 4 == 3 {
            // Failures no handler body sees, recorded by MonitoringLayer: malformed
            // JSON, an unknown path (its route is bounded: never the raw path), a
            // wrong method.
            calls.extend([
                (
                    "POST:/extractor",
                    client
                        .post(format!("{base}/extractor"))
                        .body("{\"images\": ["),
                    true,
                ),
                (
                    "GET:<unmatched>",
                    client.get(format!("{base}/nowhere/{i}")),
                    true,
                ),
                (
                    "GET:/detector",
                    client.get(format!("{base}/detector")),
                    true,
                ),
            ]);
        }
        for (k, (route, request, fails)) in calls.into_iter().enumerate() {
            // One id per request sent: round, position in the round, route.
            let response = request
                .header("content-type", "application/json")
                .header("X-Request-Id", format!("demo-{i}-{k}-{route}"))
                .send()
                .await
                .expect("the demo service answers");
            assert_eq!(
                response.status().as_u16() >= 400,
                fails,
                "{route} round {i}"
            );
            *sent.requests.entry(route).or_default() += 1;
            if fails {
                *sent.failed.entry(route).or_default() += 1;
            }
        }
        if (i + 1) % 10 == 0 || i + 1 == rounds {
            let n: u64 = sent.requests.values().sum();
            eprintln!("demo: sent round {}/{rounds} ({n} requests)", i + 1);
        }
    }
    sent
}

/// Starts the monitor from `config` (or the embedded default), with a capture sink
/// for the summary.
pub fn start_monitor(config: Option<Config>, out: Option<PathBuf>) -> (Monitor, Capture) {
    let capture = Capture::new();
    let mut builder = match config {
        Some(config) => MonitorBuilder::new(config),
        None => Monitor::builder().service("luna-handlers"),
    };
    if let Some(out) = out {
        builder = builder.file(out);
    }
    let monitor = builder
        .capture(&capture)
        .start()
        .expect("valid monitoring configuration");
    monitor.install_global();
    (monitor, capture)
}

/// The demo: serve, send the mix, shut down gracefully, summarize.
pub async fn demo(
    config: Option<Config>,
    out: Option<PathBuf>,
    rounds: u64,
) -> (Sent, Capture, monitoring::FlushReport) {
    let (monitor, capture) = start_monitor(config, out);
    check_license();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app())
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    eprintln!("demo: serving on http://{addr}; sending {rounds} rounds of requests");
    let sent = send_mix(addr, rounds).await;
    let _ = stop.send(());
    server.await.unwrap().unwrap();
    eprintln!("demo: server stopped; flushing monitoring (shutdown)");
    let report = monitor.shutdown().await;
    Monitor::uninstall_global();
    (sent, capture, report)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank]
}

/// A per-route table: count, errors, p50 and p99 execution time.
pub fn summary(capture: &Capture) -> String {
    let mut routes: BTreeMap<String, (u64, u64, Vec<f64>)> = BTreeMap::new();
    for p in capture.series("requests") {
        let Some(TagValue::Text(route)) = p.tag("route") else {
            continue;
        };
        let entry = routes.entry(route.to_string()).or_default();
        entry.0 += 1;
        if let Some(FieldValue::Float(t)) = p.field("execution_time") {
            entry.2.push(*t);
        }
    }
    for p in capture.series("errors") {
        if let Some(TagValue::Text(route)) = p.tag("route") {
            routes.entry(route.to_string()).or_default().1 += 1;
        }
    }
    let mut out = format!(
        "{:<38} {:>6} {:>6} {:>10} {:>10}\n",
        "route", "count", "errors", "p50 ms", "p99 ms"
    );
    for (route, (count, errors, mut times)) in routes {
        times.sort_by(f64::total_cmp);
        out += &format!(
            "{route:<38} {count:>6} {errors:>6} {:>10.3} {:>10.3}\n",
            percentile(&times, 50.0) * 1e3,
            percentile(&times, 99.0) * 1e3
        );
    }
    out
}
