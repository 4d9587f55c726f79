//! `MonitoringLayer` on an axum 0.8 router, into a real InfluxDB 1.6.7: every request
//! that reaches the service is stored once in `requests` (and once in `errors` when it
//! failed), including the failures no handler body sees: extractor rejections, unknown
//! paths, wrong methods, bodies over the limit, panics; wildcard and nested routes.
#![cfg(feature = "axum")]

use crate::common;

use axum::extract::{DefaultBodyLimit, Path};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use common::LunaError;
use http::{Method, StatusCode};
use monitoring::{monitored, ErrorCode, InfluxConfig, Monitor};
use serde_json::Value;

use common::boundary::{case, check_stored, too_big, Case};
use tower::ServiceExt;

async fn extractor(Json(body): Json<Value>) -> Json<Value> {
    monitoring::add_tag("handler_id", "3f2a");
    Json(body)
}

async fn item(Path(id): Path<u32>) -> String {
    id.to_string()
}

#[monitored(route = "POST:/detector")]
async fn detector() -> Result<StatusCode, LunaError> {
    Err(LunaError)
}

async fn coded() -> Response {
    let mut response = StatusCode::UNPROCESSABLE_ENTITY.into_response();
    response
        .extensions_mut()
        .insert(ErrorCode::new("policy_failed"));
    response
}

async fn set_code() -> StatusCode {
    monitoring::set_error_code(42i64);
    StatusCode::SERVICE_UNAVAILABLE
}

async fn panics() -> StatusCode {
    panic!("handler bug")
}

/// One handler for two methods, returning axum's own `Result`.
#[monitored(route = "GET|PUT:/state")]
async fn state(method: Method) -> axum::response::Result<StatusCode> {
    if method == Method::PUT {
        Err(StatusCode::CONFLICT)?;
    }
    Ok(StatusCode::OK)
}

/// Inner middleware answering before the handler (authentication): 401.
async fn require_token(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if request.headers().contains_key("authorization") {
        next.run(request).await
    } else {
        StatusCode::UNAUTHORIZED.into_response()
    }
}

/// Mounted under another path than its attribute names: the router's route is stored.
#[monitored(route = "GET:/old-name")]
async fn renamed() -> StatusCode {
    StatusCode::OK
}

/// The same, called by one test only: its disagreement is logged once per process, so
/// no other test may meet it first.
#[monitored(route = "GET:/former-name")]
async fn renamed_for_the_log() -> StatusCode {
    StatusCode::OK
}

fn app() -> Router {
    Router::new()
        .route(
            "/extractor",
            post(extractor).layer(DefaultBodyLimit::max(64)),
        )
        .route("/items/{id}", get(item))
        .route("/detector", post(detector))
        .route("/coded", get(coded))
        .route("/set-code", get(set_code))
        .route("/panics", get(panics))
        .route("/state", get(state).put(state))
        .route("/renamed", get(renamed))
        .route("/renamed-for-the-log", get(renamed_for_the_log))
        .route(
            "/private",
            get(|| async { "secret" }).layer(axum::middleware::from_fn(require_token)),
        )
        .route("/files/{*path}", get(|| async { "file" }))
        .nest("/api/v2", Router::new().route("/items/{id}", get(item)))
        .layer(monitoring::MonitoringLayer::new())
}

/// Sends one request: method, path, content type, body, request id header.
async fn send(monitor: &Monitor, method: &str, path: &str, json: Option<&str>, id: &str) -> u16 {
    let mut request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("X-Request-Id", id);
    if json.is_some() {
        request = request.header("content-type", "application/json");
    }
    let body = axum::body::Body::from(json.unwrap_or("").to_owned());
    let call = monitor.scope(app().oneshot(request.body(body).unwrap()));
    // A panicking handler unwinds through the layer: catch it in a task of its own.
    match tokio::spawn(call).await {
        Ok(response) => response.unwrap().status().as_u16(),
        Err(e) => {
            assert!(e.is_panic());
            500
        }
    }
}

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    let big = too_big();
    vec![
        case("ok", "POST", "/extractor", Some("{\"a\":1}"), "POST:/extractor", 200, ""),
        case("bad-json", "POST", "/extractor", Some("{"), "POST:/extractor", 400, "400"),
        case("no-type", "POST", "/extractor", None, "POST:/extractor", 415, "415"),
        case("too-big", "POST", "/extractor", Some(&big), "POST:/extractor", 413, "413"),
        case("bad-path", "GET", "/items/abc", None, "GET:/items/{id}", 400, "400"),
        case("item", "GET", "/items/7", None, "GET:/items/{id}", 200, ""),
        case("unknown", "GET", "/nowhere/42", None, "GET:<unmatched>", 404, "404"),
        case("method", "DELETE", "/extractor", None, "DELETE:/extractor", 405, "405"),
        case("luna", "POST", "/detector", None, "POST:/detector", 400, "11027"),
        case("coded", "GET", "/coded", None, "GET:/coded", 422, "policy_failed"),
        case("panic", "GET", "/panics", None, "GET:/panics", 500, "500"),
        case("set-code", "GET", "/set-code", None, "GET:/set-code", 503, "42"),
        case("state-get", "GET", "/state", None, "GET:/state", 200, ""),
        case("state-put", "PUT", "/state", None, "PUT:/state", 409, "409"),
        case("renamed", "GET", "/renamed", None, "GET:/renamed", 200, ""),
        case("no-token", "GET", "/private", None, "GET:/private", 401, "401"),
        case("wildcard", "GET", "/files/a/b.txt", None, "GET:/files/{*path}", 200, ""),
        case("nested", "GET", "/api/v2/items/3", None, "GET:/api/v2/items/{id}", 200, ""),
        case("nested-bad", "GET", "/api/v2/items/x", None, "GET:/api/v2/items/{id}", 400, "400"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_stored_once_with_its_route_status_and_error_code() {
    let influx = common::Influx1::start().await;
    influx.create_db("layer").await;
    let monitor = Monitor::builder()
        .influx(InfluxConfig::v1("127.0.0.1", influx.port, "layer"))
        .service("luna-handlers")
        .start()
        .unwrap();
    let cases = cases();
    for c in &cases {
        let status = send(&monitor, c.method, c.path, c.json.as_deref(), c.id).await;
        assert_eq!(status, c.status, "{}", c.id);
    }
    let report = monitor.shutdown().await;
    assert!(report.complete, "{report:?}");
    assert_eq!(report.dropped().total(), 0, "{report:?}");

    check_stored(&influx, "layer", "luna-handlers", &cases).await;
}

/// Without the layer the attribute records alone: the request's method picks the route
/// of a multi-method handler, and axum's `Result` error gives its status.
#[tokio::test(flavor = "current_thread")]
async fn a_multi_method_attribute_records_the_route_of_the_method() {
    let (monitor, capture) = common::capture_monitor();
    for method in [Method::GET, Method::PUT, Method::HEAD] {
        let _ = monitor.scope(state(method)).await;
    }
    monitor.shutdown().await;
    let got: Vec<_> = capture
        .series("requests")
        .iter()
        .map(|p| {
            (
                common::hostile::text(p.tag("route").unwrap()),
                common::hostile::text(p.tag("status_code").unwrap()),
            )
        })
        .collect();
    let want = [
        ("GET:/state", "200"),
        ("PUT:/state", "409"),
        ("GET:/state", "200"),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(r, s)| (r.to_string(), s.to_string()))
        .collect();
    assert_eq!(got, want);
}

/// An attribute whose route differs from the router's: the router's is recorded, and
/// one warning (not one per request) names both.
#[tokio::test(flavor = "current_thread")]
async fn a_route_disagreement_is_logged_once() {
    let (logs, _guard) = common::logs::Logs::capture();
    let (monitor, capture) = common::capture_monitor();
    for _ in 0..3 {
        let request = http::Request::get("/renamed-for-the-log")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = monitor.scope(app().oneshot(request)).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    let request = http::Request::get("/state")
        .body(axum::body::Body::empty())
        .unwrap();
    monitor.scope(app().oneshot(request)).await.unwrap();
    monitor.shutdown().await;
    let routes: Vec<_> = capture
        .series("requests")
        .iter()
        .map(|p| common::hostile::text(p.tag("route").unwrap()))
        .collect();
    assert_eq!(
        routes,
        [
            "GET:/renamed-for-the-log",
            "GET:/renamed-for-the-log",
            "GET:/renamed-for-the-log",
            "GET:/state"
        ]
    );
    assert_eq!(
        logs.count("differs from the route the router matched"),
        1,
        "{:?}",
        logs.all()
    );
    assert_eq!(
        logs.count("router=\"GET:/renamed-for-the-log\" attribute=\"GET:/former-name\""),
        1,
        "{:?}",
        logs.all()
    );
}

/// The request id a client sends is bounded: a 400 KB `X-Request-Id` is not stored (the
/// request gets a generated id), and an empty or non-UTF-8 `LUNA-Request-Id` does not
/// stop the lookup before a usable `X-Request-Id`.
#[tokio::test(flavor = "current_thread")]
async fn client_request_ids_are_bounded_and_skipped_when_unusable() {
    let (monitor, capture) = common::capture_monitor();
    let huge = "r".repeat(400 << 10);
    let cases: [(&[u8], &[u8], Option<&str>); 5] = [
        (b"", huge.as_bytes(), None),
        (b"", b"x-id-1", Some("x-id-1")),
        (b"\xff\xfe", b"x-id-2", Some("x-id-2")),
        (b"luna-id-3", b"x-id-3", Some("luna-id-3")),
        (&[b'l'; 129], b"", None),
    ];
    for (i, (luna, x, _)) in cases.iter().enumerate() {
        let mut request = http::Request::builder().uri(format!("/items/{i}"));
        for (name, value) in [("LUNA-Request-Id", luna), ("X-Request-Id", x)] {
            let value = http::HeaderValue::from_bytes(value).unwrap();
            request = request.header(name, value);
        }
        let request = request.body(axum::body::Body::empty()).unwrap();
        let response = monitor.scope(app().oneshot(request)).await.unwrap();
        assert_eq!(response.status(), 200);
    }
    assert!(monitor.flush().await.complete);
    assert_eq!(capture.series("requests").len(), cases.len());
    let ids: Vec<String> = (capture.series("requests").iter())
        .map(|p| match p.field("request_id") {
            Some(monitoring::FieldValue::Str(id)) => id.to_string(),
            other => panic!("request_id: {other:?}"),
        })
        .collect();
    for ((_, _, expected), id) in cases.iter().zip(&ids) {
        match expected {
            Some(expected) => assert_eq!(id, expected),
            // Generated: short, and none of the client's bytes.
            None => assert!(
                id.len() <= 64 && !id.contains("rrrr") && !id.contains("llll"),
                "{id}"
            ),
        }
    }
    monitor.shutdown().await;
}

/// `skip`: the routes listed record nothing (a health check, `/metrics`); the others
/// are recorded as before, and a malformed entry is left out with one ERROR.
#[tokio::test(flavor = "current_thread")]
async fn skipped_routes_record_nothing() {
    let (logs, _guard) = common::logs::Logs::capture();
    let (monitor, capture) = common::capture_monitor();
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/metrics", get(|| async { "# metrics" }))
        .route("/items/{id}", get(item))
        .layer(monitoring::MonitoringLayer::new().skip(["GET:/health", "GET:/metrics", "health"]));
    for path in ["/health", "/metrics", "/items/3", "/health", "/nowhere"] {
        let request = http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap();
        monitor.scope(app.clone().oneshot(request)).await.unwrap();
    }
    assert!(monitor.flush().await.complete);
    let routes: Vec<_> = (capture.series("requests").iter())
        .map(|p| common::hostile::text(p.tag("route").unwrap()))
        .collect();
    assert_eq!(routes, ["GET:/items/{id}", "GET:<unmatched>"]);
    assert_eq!(
        logs.count("MonitoringLayer::skip: `health`"),
        1,
        "{:?}",
        logs.all()
    );
    monitor.shutdown().await;
}

/// `tag_from_header`: the header's value is a tag of the request's points (`requests`
/// and `errors`); an unusable value is `<invalid>`; after 1,000 distinct values new
/// ones are `<other>`, counted in `stats()`. (A tag key of its own: the bound is per
/// key and process.)
#[tokio::test(flavor = "current_thread")]
async fn header_tags_are_bounded_in_value_and_cardinality() {
    let (monitor, capture) = common::capture_monitor();
    let app = Router::new()
        .route("/items/{id}", get(item))
        .layer(monitoring::MonitoringLayer::new().tag_from_header("x-tenant-id", "tenant_capped"));
    let send = |tenant: Option<Vec<u8>>, path: &'static str| {
        let mut request = http::Request::get(path);
        if let Some(tenant) = tenant {
            request = request.header(
                "x-tenant-id",
                http::HeaderValue::from_bytes(&tenant).unwrap(),
            );
        }
        monitor.scope(
            app.clone()
                .oneshot(request.body(axum::body::Body::empty()).unwrap()),
        )
    };
    send(Some(b"acme".to_vec()), "/items/1").await.unwrap();
    send(Some(b"acme".to_vec()), "/items/x").await.unwrap(); // 400: an errors point too
    send(Some(vec![b'a'; 65]), "/items/1").await.unwrap();
    send(None, "/items/1").await.unwrap();
    let before = monitor.stats().tag_values_capped;
    for i in 0..1005 {
        send(Some(format!("tenant-{i}").into_bytes()), "/items/1")
            .await
            .unwrap();
    }
    assert!(monitor.flush().await.complete);
    let tenants: Vec<Option<String>> = (capture.series("requests").iter())
        .map(|p| p.tag("tenant_capped").map(common::hostile::text))
        .collect();
    assert_eq!(tenants.len(), 4 + 1005);
    assert_eq!(
        tenants[..4],
        [
            Some("acme".into()),
            Some("acme".into()),
            Some("<invalid>".into()),
            None
        ]
    );
    // "acme" took one of the 1,000 places: tenant-0..=998 fit, the last six do not.
    assert_eq!(tenants[4 + 998], Some("tenant-998".into()));
    assert!(
        tenants[4 + 999..]
            .iter()
            .all(|t| t.as_deref() == Some("<other>")),
        "{:?}",
        &tenants[1000..]
    );
    assert_eq!(monitor.stats().tag_values_capped - before, 6);
    let errors = capture.series("errors");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0]
            .tag("tenant_capped")
            .map(common::hostile::text)
            .as_deref(),
        Some("acme")
    );
    monitor.shutdown().await;
}

/// `route_with` on a plain hyper 1.x service (no axum router): its function names the
/// routes, `None` is the bounded `METHOD:<unmatched>`; served over real HTTP.
#[tokio::test(flavor = "current_thread")]
async fn route_with_names_the_routes_of_a_plain_hyper_service() {
    let (monitor, capture) = common::capture_monitor();
    let service = tower::ServiceBuilder::new()
        .layer(monitoring::MonitoringLayer::new().route_with(
            |head: &monitoring::RequestHead<'_>| {
                head.uri
                    .path()
                    .starts_with("/v1/faces/")
                    .then_some("/v1/faces/{id}")
            },
        ))
        .service(tower::service_fn(
            |request: http::Request<hyper::body::Incoming>| async move {
                let status = if request.uri().path().starts_with("/v1/faces/") {
                    200
                } else {
                    404
                };
                let response = http::Response::builder()
                    .status(status)
                    .body(http_body_util::Full::new(bytes::Bytes::from_static(
                        b"face",
                    )))
                    .unwrap();
                Ok::<_, std::convert::Infallible>(response)
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let scoped = monitor.clone();
    let server = tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = hyper_util::service::TowerToHyperService::new(service.clone());
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::spawn(scoped.scope(connection));
        }
    });
    let client = reqwest::Client::new();
    for path in ["/v1/faces/7", "/v1/faces/8", "/random/path/12345"] {
        client
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap();
    }
    common::wait_until("three requests", std::time::Duration::from_secs(30), || {
        capture.series("requests").len() == 3
    })
    .await;
    server.abort();
    let routes: Vec<_> = (capture.series("requests").iter())
        .map(|p| common::hostile::text(p.tag("route").unwrap()))
        .collect();
    assert_eq!(
        routes,
        [
            "GET:/v1/faces/{id}",
            "GET:/v1/faces/{id}",
            "GET:<unmatched>"
        ]
    );
    monitor.shutdown().await;
}

/// `MonitoringLayer::from_config`: the configuration's `skip_routes` and `header_tags`.
#[tokio::test(flavor = "current_thread")]
async fn the_layer_takes_its_controls_from_the_config() {
    let config = monitoring::Config::from_toml_str(
        "[monitoring]\nskip_routes = [\"GET:/health\"]\n[monitoring.header_tags]\n\"x-tenant-id\" = \"tenant\"\n",
    )
    .unwrap();
    let (monitor, capture) = common::capture_monitor();
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/items/{id}", get(item))
        .layer(monitoring::MonitoringLayer::from_config(&config));
    for path in ["/health", "/items/5"] {
        let request = http::Request::get(path).header("x-tenant-id", "acme");
        monitor
            .scope(
                app.clone()
                    .oneshot(request.body(axum::body::Body::empty()).unwrap()),
            )
            .await
            .unwrap();
    }
    assert!(monitor.flush().await.complete);
    let requests = capture.series("requests");
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0]
            .tag("tenant")
            .map(common::hostile::text)
            .as_deref(),
        Some("acme")
    );
    monitor.shutdown().await;
}
