//! `monitoring::actix::Monitoring` on a real actix-web 4 server, into a real InfluxDB
//! 1.6.7: every request that reaches the service is stored once in `requests` (and once
//! in `errors` when it failed), with the route the app matched, the status the client
//! got, its error code and request id, including extractor rejections, unknown paths
//! and wrong methods, which no handler body sees. (Its own test binary: it installs the
//! global monitor, which actix's worker threads record into.)
#![cfg(feature = "actix")]

mod common;

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpResponse, HttpServer, ResponseError};
use monitoring::{monitored, ErrorCode, InfluxConfig, Monitor, MonitoredError, TagValue};
use serde_json::Value;

use common::boundary::{case, check_stored, too_big, Case};

/// A LUNA-style failure: answered 400, error code 11027.
#[derive(Debug)]
struct LunaError;

impl std::fmt::Display for LunaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bad image")
    }
}

impl ResponseError for LunaError {
    fn status_code(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }
}

impl MonitoredError for LunaError {
    fn status_code(&self) -> u16 {
        400
    }
    fn error_code(&self) -> Option<TagValue> {
        Some(11027u32.into())
    }
}

async fn extractor(body: web::Json<Value>) -> web::Json<Value> {
    monitoring::add_tag("handler_id", "3f2a");
    body
}

async fn item(id: web::Path<u32>) -> String {
    id.to_string()
}

/// With the attribute under the middleware: its error code, no second point.
#[monitored(route = "POST:/detector")]
async fn detector() -> Result<HttpResponse, LunaError> {
    Err(LunaError)
}

async fn coded() -> HttpResponse {
    let mut response = HttpResponse::UnprocessableEntity().finish();
    response
        .extensions_mut()
        .insert(ErrorCode::new("policy_failed"));
    response
}

async fn set_code() -> HttpResponse {
    monitoring::set_error_code(42i64);
    HttpResponse::ServiceUnavailable().finish()
}

fn app_config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/extractor")
            .app_data(web::JsonConfig::default().limit(64))
            .route(web::post().to(extractor)),
    )
    .route("/items/{id}", web::get().to(item))
    .route("/detector", web::post().to(detector))
    .route("/coded", web::get().to(coded))
    .route("/set-code", web::get().to(set_code));
}

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    let big = too_big();
    vec![
        case("ok", "POST", "/extractor", Some("{\"a\":1}"), "POST:/extractor", 200, ""),
        case("bad-json", "POST", "/extractor", Some("{"), "POST:/extractor", 400, "400"),
        case("no-type", "POST", "/extractor", None, "POST:/extractor", 400, "400"),
        case("too-big", "POST", "/extractor", Some(&big), "POST:/extractor", 413, "413"),
        case("bad-path", "GET", "/items/abc", None, "GET:/items/{id}", 404, "404"),
        case("item", "GET", "/items/7", None, "GET:/items/{id}", 200, ""),
        case("unknown", "GET", "/nowhere/42", None, "GET:<unmatched>", 404, "404"),
        case("method", "DELETE", "/extractor", None, "DELETE:/extractor", 405, "405"),
        case("luna", "POST", "/detector", None, "POST:/detector", 400, "11027"),
        case("coded", "GET", "/coded", None, "GET:/coded", 422, "policy_failed"),
        case("set-code", "GET", "/set-code", None, "GET:/set-code", 503, "42"),
    ]
}

/// Sends every case to the server at `base`; returns the statuses the client got.
async fn send_all(base: &str, cases: &[Case]) -> Vec<u16> {
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for c in cases {
        let method = reqwest::Method::from_bytes(c.method.as_bytes()).unwrap();
        let mut request = client
            .request(method, format!("{base}{}", c.path))
            .header("LUNA-Request-Id", c.id);
        if let Some(json) = &c.json {
            request = request
                .header("content-type", "application/json")
                .body(json.clone());
        }
        statuses.push(request.send().await.unwrap().status().as_u16());
    }
    statuses
}

#[test]
fn every_request_is_stored_once_with_its_route_status_and_error_code() {
    actix_web::rt::System::new().block_on(async {
        let influx = common::Influx1::start().await;
        influx.create_db("actix").await;
        let monitor = Monitor::builder()
            .influx(InfluxConfig::v1("127.0.0.1", influx.port, "actix"))
            .service("luna-actix")
            .start()
            .unwrap();
        monitor.install_global();
        let server = HttpServer::new(|| {
            App::new()
                .wrap(monitoring::actix::Monitoring::new())
                .configure(app_config)
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let base = format!("http://{}", server.addrs()[0]);
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);

        let cases = cases();
        let statuses = send_all(&base, &cases).await;
        for (c, status) in cases.iter().zip(&statuses) {
            assert_eq!(*status, c.status, "{}: status the client got", c.id);
        }
        handle.stop(true).await;
        let report = monitor.shutdown().await;
        assert!(report.complete, "{report:?}");
        assert_eq!(report.dropped().total(), 0, "{report:?}");

        check_stored(&influx, "actix", "luna-actix", &cases).await;
    });
}

/// The request id a client sends is bounded here too: a 400 KB `X-Request-Id` is not
/// stored (a generated id is), and an empty `LUNA-Request-Id` does not hide a usable
/// `X-Request-Id`. (actix's test service: its HTTP server refuses headers that large
/// before any middleware runs.)
#[test]
fn client_request_ids_are_bounded_and_skipped_when_unusable() {
    actix_web::rt::System::new().block_on(async {
        let (monitor, capture) = common::capture_monitor();
        let app = actix_web::test::init_service(
            App::new()
                .wrap(monitoring::actix::Monitoring::new())
                .configure(app_config),
        )
        .await;
        let huge = "r".repeat(400 << 10);
        let cases = [("", huge.as_str(), None), ("", "x-id-1", Some("x-id-1"))];
        for (luna, x, _) in &cases {
            let request = actix_web::test::TestRequest::get()
                .uri("/items/1")
                .insert_header(("LUNA-Request-Id", *luna))
                .insert_header(("X-Request-Id", *x))
                .to_request();
            let response = monitor
                .scope(actix_web::test::call_service(&app, request))
                .await;
            assert_eq!(response.status(), StatusCode::OK);
        }
        assert!(monitor.flush().await.complete);
        let stored = capture.series("requests");
        assert_eq!(stored.len(), cases.len());
        for ((_, _, expected), point) in cases.iter().zip(&stored) {
            let Some(monitoring::FieldValue::Str(id)) = point.field("request_id") else {
                panic!("request_id: {point:?}");
            };
            match expected {
                Some(expected) => assert_eq!(id.as_ref(), *expected),
                None => assert!(id.len() <= 64 && !id.contains("rrrr"), "{id}"),
            }
        }
        monitor.shutdown().await;
    });
}

/// `skip` and `tag_from_header` on the actix middleware: the skipped route records
/// nothing, the header's value is a tag (bounded as on the tower layer).
#[test]
fn skip_and_header_tags() {
    actix_web::rt::System::new().block_on(async {
        let (monitor, capture) = common::capture_monitor();
        let app = actix_web::test::init_service(
            App::new()
                .wrap(
                    monitoring::actix::Monitoring::new()
                        .skip(["GET:/health"])
                        .tag_from_header("x-tenant-id", "tenant"),
                )
                .route(
                    "/health",
                    web::get().to(|| async { HttpResponse::Ok().finish() }),
                )
                .configure(app_config),
        )
        .await;
        let long = "t".repeat(65);
        for (path, tenant) in [
            ("/health", "acme"),
            ("/items/1", "acme"),
            ("/items/2", long.as_str()),
        ] {
            let request = actix_web::test::TestRequest::get()
                .uri(path)
                .insert_header(("x-tenant-id", tenant))
                .to_request();
            let response = monitor
                .scope(actix_web::test::call_service(&app, request))
                .await;
            assert_eq!(response.status(), StatusCode::OK);
        }
        assert!(monitor.flush().await.complete);
        let stored: Vec<(String, Option<String>)> = (capture.series("requests").iter())
            .map(|p| {
                let text = |v: &TagValue| match v {
                    TagValue::Text(t) => t.to_string(),
                    other => format!("{other:?}"),
                };
                (text(p.tag("route").unwrap()), p.tag("tenant").map(text))
            })
            .collect();
        assert_eq!(
            stored,
            [
                ("GET:/items/{id}".to_owned(), Some("acme".to_owned())),
                ("GET:/items/{id}".to_owned(), Some("<invalid>".to_owned())),
            ]
        );
        monitor.shutdown().await;
    });
}
