//! [`MonitoringLayer`] (feature `axum`): every request monitored where it enters the
//! service, as luna-handlers does in its middleware. Extractor rejections (400, 415,
//! 413), unknown paths (404), wrong methods (405), responses made by inner middleware
//! and handler panics (500) all yield their `requests` point, and an `errors` point when
//! the status is 400 or more.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use axum::routing::post;
//! use monitoring_runtime::{Capture, Monitor, MonitoringLayer};
//! use tower::ServiceExt;
//!
//! let capture = Capture::new();
//! let monitor = Monitor::builder().without_config_sink().capture(&capture).start().unwrap();
//! monitor.install_global();
//! let app = axum::Router::new()
//!     .route("/extractor", post(|| async { "ok" }))
//!     .layer(MonitoringLayer::new());
//! let request = http::Request::post("/extractor").body(axum::body::Body::empty()).unwrap();
//! let response = app.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 200);
//! monitor.shutdown().await;
//! assert_eq!(capture.series("requests")[0].tag("route"), Some(&"POST:/extractor".into()));
//! # }
//! ```
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

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::RwLock;
use std::task::{Context, Poll};

use http::Method;

use crate::context::BoundaryRoute;
use crate::point::Text;
use crate::record::RouteMeta;
use crate::request::Request;
use crate::status::{ErrorCode, Status};

/// Header names read for the request id, in order.
pub const REQUEST_ID_HEADERS: [&str; 2] = ["luna-request-id", "x-request-id"];

/// The route of a request no route matched.
const UNMATCHED: &str = "<unmatched>";

/// The tower layer; see the module docs.
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

/// The layer's former name, from when it only handed the request id to `#[monitored]`
/// handlers: it is [`MonitoringLayer`] now.
#[deprecated(note = "use MonitoringLayer::new(), which monitors every request itself")]
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestIdLayer;

#[allow(deprecated)]
impl<S> tower_layer::Layer<S> for RequestIdLayer {
    type Service = MonitoringService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        MonitoringService { inner }
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
        let state = crate::switches::monitoring_on().then(|| {
            let template = request
                .extensions()
                .get::<axum::extract::MatchedPath>()
                .map(axum::extract::MatchedPath::as_str);
            let route = route_meta(request.method(), template);
            let mut state = Request::new(route, true);
            state.set_request_id(request_id(request.headers()));
            (state, route)
        });
        ResponseFuture {
            inner: self.inner.call(request),
            request: state,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`MonitoringService`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        request: Option<(Request, &'static RouteMeta)>,
    }
}

impl<F, RB, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<RB>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let inner = this.inner;
        match this.request {
            None => inner.poll(cx),
            Some((request, route)) => {
                // For a `#[monitored]` handler inside, to compare its route with this.
                let _route = BoundaryRoute::enter(route);
                request.poll(
                    || inner.poll(cx),
                    |out| {
                        let status = status_of(&out);
                        (out, status)
                    },
                )
            }
        }
    }
}

/// What the final response says: its status and the [`ErrorCode`] extension.
fn status_of<RB, E>(out: &Result<http::Response<RB>, E>) -> Status {
    match out {
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

/// The request id the client sent, if any.
fn request_id(headers: &http::HeaderMap) -> Option<Text> {
    REQUEST_ID_HEADERS
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(|v| Text::from(v.to_owned()))
}

/// Routes seen so far, by method and template: each `METHOD:/template` is built once
/// and lives for the process (their number is bounded by the router's routes: raw
/// paths and non-standard methods never become routes). Looked up without allocating.
type Routes = HashMap<Method, HashMap<Box<str>, &'static RouteMeta>>;
static ROUTES: RwLock<Option<Routes>> = RwLock::new(None);

/// The route of a request: `METHOD:/template`, or `METHOD:<unmatched>`.
fn route_meta(method: &Method, template: Option<&str>) -> &'static RouteMeta {
    let method = standard(method);
    let template = template.unwrap_or(UNMATCHED);
    let known = ROUTES.read().unwrap_or_else(|e| e.into_inner());
    if let Some(meta) = known
        .as_ref()
        .and_then(|routes| routes.get(&method)?.get(template))
    {
        return meta;
    }
    drop(known);
    let mut routes = ROUTES.write().unwrap_or_else(|e| e.into_inner());
    let by_template = routes
        .get_or_insert_with(HashMap::new)
        .entry(method.clone())
        .or_default();
    by_template.entry(template.into()).or_insert_with(|| {
        let route = format!("{}:{template}", method.as_str());
        // No crate name: the service's default name (the executable's) applies.
        Box::leak(Box::new(RouteMeta::new(
            Box::leak(route.into_boxed_str()),
            "",
        )))
    })
}

/// The nine standard methods as they are; any other as `OTHER`.
fn standard(method: &Method) -> Method {
    const STANDARD: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::HEAD,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    if STANDARD.contains(method) {
        method.clone()
    } else {
        Method::from_bytes(b"OTHER").expect("a valid method token")
    }
}
