//! [`MonitoringLayer`] (feature `axum`): every request monitored where it enters the
//! service, as luna-handlers does in its middleware. Extractor rejections (400, 415,
//! 413), unknown paths (404), wrong methods (405), responses made by inner middleware
//! and handler panics (500) all yield their `requests` point, and an `errors` point when
//! the status is 400 or more.
//!
//! See [`MonitoringLayer`] for an example.
//!
//! - Route: `METHOD:/template` from axum's `MatchedPath` (add the layer with
//!   `Router::layer`, after the routes, so that it runs where the route is known); a
//!   request no route matched gets `METHOD:<unmatched>`, never its raw path (series
//!   cardinality), and a method outside the standard nine is written `OTHER`.
//! - Status: the final response's; an error from the inner service is 500.
//! - Error code: an [`ErrorCode`] extension of the response, else what the handler set
//!   ([`set_error_code`](crate::set_error_code), or `#[monitored]`'s
//!   [`MonitoredError`](crate::MonitoredError)), else the status code.
//! - Request id: the `LUNA-Request-Id` header, then `X-Request-Id`, else generated.
//! - Execution time: from the first poll of the request's future to its response.
//!
//! Under the layer every handler, with or without `#[monitored]`, can add tags, fields,
//! timings and usage counters; a `#[monitored]` handler adds its error code and records
//! no second point.

use std::task::{Context, Poll};

use crate::boundary::{Outcome, ResponseFuture};
use crate::status::{ErrorCode, Status};

/// The tower layer: every request monitored where it enters the service. Add it with
/// `Router::layer`, after the routes, so that it runs where the route is known. axum
/// boxes every route anew for each `Router::layer` call, whatever the layer: in a
/// service that already has layers, add this one to the same `ServiceBuilder` stack.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use axum::routing::post;
/// use monitoring_runtime::{Capture, Monitor, MonitoringLayer};
/// use tower::ServiceExt;
///
/// let capture = Capture::new();
/// let monitor = Monitor::builder().without_config_sink().capture(&capture).start().unwrap();
/// monitor.install_global();
/// let app = axum::Router::new()
///     .route("/extractor", post(|| async { "ok" }))
///     .layer(MonitoringLayer::new());
/// let request = http::Request::post("/extractor").body(axum::body::Body::empty()).unwrap();
/// let response = app.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), 200);
/// monitor.shutdown().await;
/// assert_eq!(capture.series("requests")[0].tag("route"), Some(&"POST:/extractor".into()));
/// # }
/// ```
///
/// - Route: `METHOD:/template` from axum's `MatchedPath`; a request no route matched
///   gets `METHOD:<unmatched>`, never its raw path, and a method outside the standard
///   nine is written `OTHER`.
/// - Status: the final response's (extractor rejections, 404, 405, 413, inner
///   middleware's answers, panics as 500); an error from the inner service is 500.
/// - Error code: an [`ErrorCode`] response extension, else what the handler set
///   ([`set_error_code`](crate::set_error_code), or `#[monitored]`'s
///   [`MonitoredError`](crate::MonitoredError)), else the status code.
/// - Request id: the `LUNA-Request-Id` header, then `X-Request-Id`, else generated.
#[derive(Clone, Copy, Debug, Default)]
pub struct MonitoringLayer {
    _private: (),
}

impl MonitoringLayer {
    /// The layer.
    pub fn new() -> Self {
        MonitoringLayer::default()
    }
}

impl<S> tower_layer::Layer<S> for MonitoringLayer {
    type Service = MonitoringService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        MonitoringService { inner }
    }
}

/// The service [`MonitoringLayer`] wraps around an inner service.
#[derive(Clone, Debug)]
pub struct MonitoringService<S> {
    inner: S,
}

impl<S, B, RB> tower_service::Service<http::Request<B>> for MonitoringService<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<RB>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let template = request
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .map(axum::extract::MatchedPath::as_str);
        let state = crate::boundary::start(request.method().as_str(), template, || {
            crate::boundary::request_id(|i| {
                let name = &REQUEST_ID_HEADER_NAMES[i];
                request.headers().get(name).map(|v| v.as_bytes())
            })
        });
        ResponseFuture::new(self.inner.call(request), state)
    }
}

/// [`REQUEST_ID_HEADERS`](crate::REQUEST_ID_HEADERS) as header names, parsed at
/// compile time (looking a header up by `&str` parses the name on every request).
static REQUEST_ID_HEADER_NAMES: [http::HeaderName; 2] = [
    http::HeaderName::from_static(crate::REQUEST_ID_HEADERS[0]),
    http::HeaderName::from_static(crate::REQUEST_ID_HEADERS[1]),
];

/// What the final response says: its status and the [`ErrorCode`] extension; an error
/// from the inner service is 500.
impl<RB, E> Outcome for Result<http::Response<RB>, E> {
    fn outcome(&self) -> Status {
        match self {
            Ok(response) => Status {
                code: response.status().as_u16(),
                error_code: response
                    .extensions()
                    .get::<ErrorCode>()
                    .map(|code| code.0.clone()),
            },
            Err(_) => Status::code(500),
        }
    }
}
