//! The router stacks the layer benchmarks compare (`layer.rs` for time and allocations,
//! `instructions.rs` for instruction counts): one axum 0.8 router with one route
//! (`GET /items/{id}`, a handler returning 200), alone or under one layer, called
//! in-process with a no-op waker, the response body read to its end.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::task::{Context, Poll, Waker};

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use http::{Request, StatusCode};
use tower::Service;

/// What sits around the router.
#[derive(Clone, Copy, Debug)]
pub enum Stack {
    /// Nothing.
    Bare,
    /// A layer that does nothing (`MapResponseLayer` with the identity): what axum
    /// adds for any layer (boxing the layered route), to tell it from the layer's own
    /// work.
    Passthrough,
    /// `monitoring::MonitoringLayer`.
    Monitoring,
    /// tower-http's `TraceLayer::new_for_http()` (under whatever subscriber is set).
    Trace,
    /// axum-prometheus' `PrometheusMetricLayer` (install its recorder first: see
    /// [`prometheus_layer`]).
    Prometheus,
    /// A service that already has a layer stack (here the pass-through layer, given to
    /// `Router::layer` through a `ServiceBuilder`), with `MonitoringLayer` added to that
    /// stack: axum boxes each route once per `Router::layer` call, not once per layer.
    PassthroughAndMonitoring,
    /// `TraceLayer` and `MonitoringLayer` in one `ServiceBuilder` stack.
    TraceAndMonitoring,
}

pub fn router() -> Router {
    Router::new().route("/items/{id}", get(|| async { StatusCode::OK }))
}

/// The router under `stack`; `prometheus` is the layer from [`prometheus_layer`].
pub fn build(
    stack: Stack,
    prometheus: Option<&axum_prometheus::PrometheusMetricLayer<'static>>,
) -> Router {
    match stack {
        Stack::Bare => router(),
        Stack::Passthrough => router().layer(tower::util::MapResponseLayer::new(
            |r: axum::response::Response| r,
        )),
        Stack::Monitoring => router().layer(monitoring::MonitoringLayer::new()),
        Stack::Trace => router().layer(tower_http::trace::TraceLayer::new_for_http()),
        Stack::Prometheus => router().layer(prometheus.expect("the Prometheus layer").clone()),
        Stack::PassthroughAndMonitoring => router().layer(
            tower::ServiceBuilder::new()
                .layer(tower::util::MapResponseLayer::new(
                    |r: axum::response::Response| r,
                ))
                .layer(monitoring::MonitoringLayer::new()),
        ),
        Stack::TraceAndMonitoring => router().layer(
            tower::ServiceBuilder::new()
                .layer(tower_http::trace::TraceLayer::new_for_http())
                .layer(monitoring::MonitoringLayer::new()),
        ),
    }
}

/// axum-prometheus' layer, its recorder installed process-wide (once per process; its
/// handle spawns an upkeep task, so this runs inside `runtime`).
pub fn prometheus_layer(
    runtime: &tokio::runtime::Runtime,
) -> axum_prometheus::PrometheusMetricLayer<'static> {
    let _entered = runtime.enter();
    let (layer, handle) = axum_prometheus::PrometheusMetricLayer::pair();
    std::mem::forget(handle);
    layer
}

pub fn request() -> Request<Body> {
    Request::get("/items/7").body(Body::empty()).unwrap()
}

fn run<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("the handler completes in one poll"),
    }
}

/// One request through `service`, its body read to the end.
pub fn call(service: &mut Router, request: Request<Body>) -> usize {
    let response = run(service.call(request)).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    run(axum::body::to_bytes(response.into_body(), usize::MAX))
        .unwrap()
        .len()
}
