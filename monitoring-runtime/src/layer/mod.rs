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
//!
//! gRPC calls (request content type `application/grpc*`, e.g. tonic's) are recorded
//! as gRPC: route `POST:/package.Service/Method` from the path (a method the server
//! answers UNIMPLEMENTED with stays `POST:<unmatched>`), the status from `grpc-status`
//! (trailers, or the headers of a trailers-only answer) as its HTTP equivalent with the
//! numeric code as error code, and the time to the end of the response body (see
//! `body.rs`).

use std::sync::Arc;
use std::task::{Context, Poll};

mod options;
pub use options::{LayerConfig, LayerOptions};

use crate::boundary::{GrpcCall, Outcome, ResponseFuture, Started};
use crate::config::Config;
use crate::controls::{self, Controls};
use crate::grpc;
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
///
/// gRPC (tonic): add the layer to the server, or around tonic's routes in an axum
/// router; each call is recorded with its method's route, its gRPC code (as the HTTP
/// status of google.rpc.Code's mapping, the code itself as `error_code`) and the time to
/// the end of its stream; a stream the client drops is CANCELLED (499):
///
/// ```no_run
/// # async fn serve(routes: tonic::service::Routes) -> Result<(), tonic::transport::Error> {
/// use monitoring_runtime::MonitoringLayer;
///
/// tonic::transport::Server::builder()
///     .layer(MonitoringLayer::new())
///     .add_routes(routes)
///     .serve("127.0.0.1:50051".parse().unwrap())
///     .await
/// # }
/// ```
///
/// Leaving requests out, tags from headers, and routes of a service without axum's
/// router:
///
/// ```
/// use monitoring_runtime::MonitoringLayer;
///
/// let layer = MonitoringLayer::new()
///     .skip(["GET:/health", "GET:/metrics", "POST:/grpc.health.v1.Health/Check"])
///     .tag_from_header("x-tenant-id", "tenant")
///     .route_with(|head| match head.uri.path() {
///         "/v1/faces" => Some("/v1/faces"),
///         _ => None, // METHOD:<unmatched>
///     });
/// # let _ = layer;
/// ```
#[derive(Clone, Copy, Default)]
pub struct MonitoringLayer<O = ()> {
    options: O,
}

/// What [`MonitoringLayer::route_with`] is given: the request without its body.
#[derive(Debug)]
#[non_exhaustive]
pub struct RequestHead<'a> {
    /// The request's method.
    pub method: &'a http::Method,
    /// The request's URI.
    pub uri: &'a http::Uri,
    /// The request's headers.
    pub headers: &'a http::HeaderMap,
}

impl<O: std::fmt::Debug> std::fmt::Debug for MonitoringLayer<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitoringLayer")
            .field("options", &self.options)
            .finish()
    }
}

impl MonitoringLayer {
    /// The layer (zero-sized: see [`LayerOptions`] for why that matters).
    pub fn new() -> Self {
        MonitoringLayer::default()
    }

    /// The layer with the configuration's `skip_routes` and `header_tags`.
    pub fn from_config(config: &Config) -> MonitoringLayer<LayerOptions> {
        MonitoringLayer {
            options: LayerOptions {
                controls: Controls::from_config("MonitoringLayer", config),
                route_with: None,
            },
        }
    }
}

impl<O: LayerConfig> MonitoringLayer<O> {
    fn configured(self) -> LayerOptions {
        self.options.into_options()
    }

    /// Leaves out the requests of these routes, written as recorded (`METHOD:/template`,
    /// e.g. `GET:/health`): they record nothing (the layer only looks their route up).
    /// A route that is not `METHOD:/template` is left out of the list with
    /// one ERROR. (A `#[monitored]` handler on a skipped route still records its own
    /// point.)
    pub fn skip<I>(self, routes: I) -> MonitoringLayer<LayerOptions>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut options = self.configured();
        controls::edit(&mut options.controls).add_skip("MonitoringLayer", routes);
        MonitoringLayer { options }
    }

    /// Makes the value of request header `header` a tag `tag` of the request's points,
    /// bounded: a value longer than 64 bytes, empty or not text is `<invalid>`, and after
    /// 1,000 distinct values in a process new ones are `<other>` (counted in
    /// [`Stats::tag_values_capped`](crate::Stats)). A header name that is not one is
    /// left out with one ERROR.
    pub fn tag_from_header(self, header: &str, tag: &str) -> MonitoringLayer<LayerOptions> {
        let mut options = self.configured();
        controls::edit(&mut options.controls).add_header_tag("MonitoringLayer", header, tag);
        MonitoringLayer { options }
    }

    /// Names the routes of a service without axum's router (a hyper `service_fn`, any
    /// tower stack): `f` returns the route template of a request, `None` for the
    /// bounded `METHOD:<unmatched>`. axum's matched route, where there is one, comes
    /// first.
    pub fn route_with<F>(self, f: F) -> MonitoringLayer<LayerOptions>
    where
        F: Fn(&RequestHead<'_>) -> Option<&'static str> + Send + Sync + 'static,
    {
        let mut options = self.configured();
        options.route_with = Some(Arc::new(f));
        MonitoringLayer { options }
    }
}

impl<S, O: LayerConfig> tower_layer::Layer<S> for MonitoringLayer<O> {
    type Service = MonitoringService<S, O>;
    fn layer(&self, inner: S) -> Self::Service {
        MonitoringService {
            inner,
            options: self.options.clone(),
        }
    }
}

/// The service [`MonitoringLayer`] wraps around an inner service.
#[derive(Clone)]
pub struct MonitoringService<S, O = ()> {
    inner: S,
    options: O,
}

impl<S: std::fmt::Debug, O> std::fmt::Debug for MonitoringService<S, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitoringService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, O, B, RB> tower_service::Service<http::Request<B>> for MonitoringService<S, O>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<RB>>,
    O: LayerConfig,
    RB: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let state = if is_grpc(&request) {
            self.start_grpc(&request)
        } else {
            self.start_http(&request)
        };
        ResponseFuture::new(self.inner.call(request), state)
    }
}

/// True for a gRPC call. gRPC is always POST: other requests skip the content-type
/// lookup.
#[inline]
fn is_grpc<B>(request: &http::Request<B>) -> bool {
    if request.method() != http::Method::POST {
        return false;
    }
    let [content_type] = crate::headers::find(request.headers(), &grpc::CONTENT_TYPE);
    grpc::is_grpc(content_type.map(http::HeaderValue::as_bytes))
}

impl<S, O: LayerConfig> MonitoringService<S, O> {
    /// Starts an HTTP request: its route is axum's matched template, else what
    /// `route_with` names, else `METHOD:<unmatched>`.
    #[inline]
    fn start_http<B>(&self, request: &http::Request<B>) -> Option<Started> {
        let template = request
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .map(axum::extract::MatchedPath::as_str)
            .or_else(|| {
                let f = self.options.route_with()?;
                f(&RequestHead {
                    method: request.method(),
                    uri: request.uri(),
                    headers: request.headers(),
                })
            });
        let headers = request.headers();
        crate::boundary::start(
            request.method().as_str(),
            template,
            self.options.controls(),
            || client_request_id(headers),
            |controls| controls.tags(|name| headers.get(name).map(|v| v.as_bytes())),
        )
    }

    /// Starts a gRPC call: its route is its path (`POST:/package.Service/Method`) when
    /// the path is a known route, else `POST:<unmatched>` until the answer shows the
    /// server implements the method (the path is kept until then: the first call of a
    /// method, and calls of methods that do not exist).
    #[inline(never)]
    fn start_grpc<B>(&self, request: &http::Request<B>) -> Option<Started> {
        if !crate::switches::monitoring_on() {
            return None;
        }
        // A known route first (a method called before): its path needs no checking. A
        // path longer than any route is not looked up (a client's path is hostile).
        let path = request.uri().path();
        let known = match path.len() {
            0..=grpc::MAX_PATH => crate::routes::existing("POST", path),
            _ => None,
        };
        let template = match known {
            Some(_) => None,
            None => grpc::route_template(path),
        };
        let route = known.unwrap_or_else(|| crate::routes::route_meta("POST", None));
        let headers = request.headers();
        let mut started = crate::boundary::start_on(
            route,
            self.options.controls(),
            || client_request_id(headers),
            |controls| controls.tags(|name| headers.get(name).map(|v| v.as_bytes())),
        )?;
        started.grpc = Some(GrpcCall {
            path: template.map(Box::from),
        });
        Some(started)
    }
}

/// The request id a client sent in `headers` (gRPC metadata are headers too).
#[inline]
fn client_request_id(headers: &http::HeaderMap) -> Option<crate::point::Text> {
    let found = crate::headers::find(headers, &REQUEST_ID_HEADER_NAMES);
    crate::boundary::request_id(|i| found[i].map(http::HeaderValue::as_bytes))
}

/// [`REQUEST_ID_HEADERS`](crate::REQUEST_ID_HEADERS) as header names, parsed at
/// compile time (looking a header up by `&str` parses the name on every request).
static REQUEST_ID_HEADER_NAMES: [http::HeaderName; 2] = [
    http::HeaderName::from_static(crate::REQUEST_ID_HEADERS[0]),
    http::HeaderName::from_static(crate::REQUEST_ID_HEADERS[1]),
];

/// What the final response says: its status and the [`ErrorCode`] extension; an error
/// from the inner service is 500.
impl<RB: 'static, E> Outcome for Result<http::Response<RB>, E> {
    /// A gRPC call's answer (status 200) hands the request on to its body, which ends
    /// it (see `body.rs`).
    #[inline]
    fn pass_on(mut self, started: &mut Option<Started>) -> Self {
        if started.as_ref().is_some_and(|s| s.request.is_pending()) {
            grpc_answer(&mut self, started);
        }
        self
    }

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

/// A gRPC call's answer: a gRPC one (status 200) is watched to the end of its body;
/// any other (an error of the inner service, a status set by a layer inside) ends the
/// call as an HTTP response would.
#[inline(never)]
fn grpc_answer<RB: 'static, E>(
    out: &mut Result<http::Response<RB>, E>,
    started: &mut Option<Started>,
) {
    match out {
        Ok(response) if response.status() == http::StatusCode::OK => {
            crate::body::watch(response, started);
        }
        out => crate::boundary::end(started, &*out),
    }
}
