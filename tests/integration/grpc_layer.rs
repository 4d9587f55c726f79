//! `MonitoringLayer`'s gRPC controls, in process: tonic-health's service through
//! tonic's routes with `skip` and `tag_from_header` on gRPC metadata, paths a client
//! makes up (never routes), and a gRPC answer whose body type the layer cannot watch
//! (its status from the headers, hostile values bounded, one WARN).
#![cfg(feature = "grpc")]

use crate::common;

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::BodyExt;
use monitoring::{MonitoringLayer, Point};
use tower::{Layer, ServiceExt};

/// A unary call of `path` with a `HealthCheckRequest { service }` and `headers`.
fn call(path: &str, service: &str, headers: &[(&str, &str)]) -> http::Request<tonic::body::Body> {
    // One gRPC frame: uncompressed, length, then field 1 (a string) of the message.
    let mut frame = vec![0, 0, 0, 0, 0];
    if !service.is_empty() {
        frame.extend([0x0a, service.len() as u8]);
        frame.extend(service.as_bytes());
    }
    let len = (frame.len() - 5) as u32;
    frame[1..5].copy_from_slice(&len.to_be_bytes());
    let mut request = http::Request::post(path).header("content-type", "application/grpc");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = http_body_util::Full::new(Bytes::from(frame));
    request.body(tonic::body::Body::new(body)).unwrap()
}

fn tag(point: &Point, key: &str) -> String {
    point
        .tag(key)
        .map(common::hostile::text)
        .unwrap_or_default()
}

/// (route, status, error code) of each `requests` point, and its `errors` codes.
fn stored(capture: &monitoring::Capture) -> (Vec<(String, String)>, Vec<String>) {
    let requests = capture
        .series("requests")
        .iter()
        .map(|p| (tag(p, "route"), tag(p, "status_code")))
        .collect();
    let errors = capture
        .series("errors")
        .iter()
        .map(|p| tag(p, "error_code"))
        .collect();
    (requests, errors)
}

#[tokio::test(flavor = "current_thread")]
async fn grpc_metadata_tags_skipped_methods_and_made_up_paths() {
    let (monitor, capture) = common::capture_monitor();
    let (_reporter, health) = tonic_health::server::health_reporter();
    let layer = MonitoringLayer::new()
        .skip(["POST:/grpc.health.v1.Health/Watch"])
        .tag_from_header("x-tenant-id", "tenant");
    let service = layer.layer(tonic::service::Routes::new(health));
    let send = |request| {
        let service = service.clone();
        monitor.scope(async move {
            let response = service.oneshot(request).await.unwrap();
            // Read to the trailers.
            response.into_body().collect().await.unwrap();
        })
    };
    let check = "/grpc.health.v1.Health/Check";
    let metadata = [("x-tenant-id", "acme"), ("luna-request-id", "grpc-1")];
    send(call(check, "", &metadata)).await;
    send(call(check, "missing", &[])).await;
    // Skipped: nothing recorded (Watch answers at once, then streams until dropped).
    let watch = call("/grpc.health.v1.Health/Watch", "", &[]);
    let response = monitor.scope(service.clone().oneshot(watch)).await.unwrap();
    drop(response);
    // Paths a client makes up: UNIMPLEMENTED, one bounded route.
    for i in 0..49 {
        send(call(&format!("/evil.Service{i}/Method"), "", &[])).await;
    }
    // And one 60 KB long: never looked up as a route, let alone made one.
    send(call(
        &format!("/evil.Long/{}", "m".repeat(60 << 10)),
        "",
        &[],
    ))
    .await;
    monitor.shutdown().await;

    let (requests, errors) = stored(&capture);
    assert_eq!(requests.len(), 52, "{requests:?}");
    let route = "POST:/grpc.health.v1.Health/Check".to_owned();
    assert_eq!(requests[0], (route.clone(), "200".to_owned()));
    assert_eq!(requests[1], (route, "404".to_owned()));
    for made_up in &requests[2..] {
        assert_eq!(*made_up, ("POST:<unmatched>".to_owned(), "501".to_owned()));
    }
    assert_eq!(errors[0], "5");
    assert!(errors[1..].iter().all(|code| code == "12"), "{errors:?}");
    let first = &capture.series("requests")[0];
    assert_eq!(tag(first, "tenant"), "acme");
    let Some(monitoring::FieldValue::Str(id)) = first.field("request_id") else {
        panic!("{first:?}")
    };
    assert_eq!(id.as_str(), "grpc-1");
}

/// A gRPC answer with a body type the layer cannot wrap (a `String`): recorded at its
/// headers, with their status, UNKNOWN for a value that is no code; one WARN.
#[tokio::test(flavor = "current_thread")]
async fn a_body_type_the_layer_cannot_watch_ends_the_call_at_its_headers() {
    let (logs, _guard) = common::logs::Logs::capture();
    let (monitor, capture) = common::capture_monitor();
    let answer = tower::service_fn(|request: http::Request<tonic::body::Body>| async move {
        let status = request.uri().path().trim_start_matches("/s.S/");
        let mut response = http::Response::builder();
        if status != "none" {
            response = response.header("grpc-status", status);
        }
        Ok::<_, Infallible>(response.body(String::new()).unwrap())
    });
    let service = MonitoringLayer::new().layer(answer);
    for status in ["5", "none", "abc", "99"] {
        let request = call(&format!("/s.S/{status}"), "", &[]);
        monitor
            .scope(service.clone().oneshot(request))
            .await
            .unwrap();
    }
    monitor.shutdown().await;
    let (requests, errors) = stored(&capture);
    let statuses: Vec<_> = requests.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(statuses, ["404", "200", "500", "500"]);
    assert_eq!(errors, ["5", "2", "2"]);
    assert_eq!(logs.count("end at their headers"), 1, "{:?}", logs.all());
}

/// Answers watched to their end (axum's body type): trailers without `grpc-status` and
/// a body that fails are UNKNOWN (500, code 2); an answer that is not a gRPC one (HTTP
/// 503 from a layer inside) is recorded as HTTP; trailers with a status give it.
#[tokio::test(flavor = "current_thread")]
async fn missing_statuses_failing_bodies_and_http_answers_of_grpc_calls() {
    use http_body::Frame;
    type Frames = Vec<Result<Frame<Bytes>, std::io::Error>>;
    let (monitor, capture) = common::capture_monitor();
    let answer = tower::service_fn(|request: http::Request<tonic::body::Body>| async move {
        let trailers = |status: Option<&'static str>| {
            let mut map = http::HeaderMap::new();
            if let Some(status) = status {
                map.insert("grpc-status", http::HeaderValue::from_static(status));
            }
            Ok(Frame::trailers(map))
        };
        let data = || Ok(Frame::data(Bytes::from_static(b"\0\0\0\0\0")));
        let (status, frames): (u16, Frames) = match request.uri().path() {
            "/s.S/Ok" => (200, vec![data(), trailers(Some("0"))]),
            "/s.S/NoStatus" => (200, vec![data(), trailers(None)]),
            "/s.S/Fails" => (200, vec![data(), Err(std::io::Error::other("reset"))]),
            _ => (503, vec![]),
        };
        let stream = futures_util::stream::iter(frames);
        let body = axum::body::Body::new(http_body_util::StreamBody::new(stream));
        let response = http::Response::builder().status(status).body(body).unwrap();
        Ok::<_, Infallible>(response)
    });
    let service = MonitoringLayer::new().layer(answer);
    for method in ["Ok", "NoStatus", "Fails", "Unavailable"] {
        let request = call(&format!("/s.S/{method}"), "", &[]);
        let response = monitor
            .scope(service.clone().oneshot(request))
            .await
            .unwrap();
        // Read to its end (the failing body ends in its error).
        let _ = response.into_body().collect().await;
    }
    monitor.shutdown().await;
    let (requests, errors) = stored(&capture);
    let got: Vec<_> = requests
        .iter()
        .map(|(r, s)| (r.as_str(), s.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("POST:/s.S/Ok", "200"),
            ("POST:/s.S/NoStatus", "500"),
            ("POST:/s.S/Fails", "500"),
            ("POST:<unmatched>", "503"),
        ]
    );
    assert_eq!(errors, ["2", "2", "503"]);
}
