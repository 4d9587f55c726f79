//! The gRPC service of the gRPC benchmarks (`grpc.rs`, and the `grpc_*` scenarios of
//! `instructions.rs`): tonic-health's generated `Health` service with a `check` that
//! answers at once, its routes under each layer compared, and one unary call.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http_body_util::BodyExt;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};
use tower::{Service, ServiceExt};

/// A health service that answers SERVING at once.
pub struct Probe;

#[tonic::async_trait]
impl Health for Probe {
    async fn check(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        Ok(Response::new(HealthCheckResponse { status: 1 }))
    }

    type WatchStream = futures_util::stream::Empty<Result<HealthCheckResponse, Status>>;

    async fn watch(
        &self,
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("not benchmarked"))
    }
}

/// The routes of `Probe`.
pub fn routes() -> tonic::service::Routes {
    tonic::service::Routes::new(HealthServer::new(Probe))
}

/// A unary `Check` request as it arrives from a client: one gRPC frame (the empty
/// message: five header bytes) and the headers a tonic client sends.
pub fn check_request() -> http::Request<tonic::body::Body> {
    let frame = Bytes::from_static(&[0, 0, 0, 0, 0]);
    http::Request::post("/grpc.health.v1.Health/Check")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(tonic::body::Body::new(http_body_util::Full::new(frame)))
        .unwrap()
}

/// Runs `f`, polling with a no-op waker (the service never waits).
fn run<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// One call through `service`, in process, its body read to the trailers: the bytes
/// and trailers of the answer.
pub fn call<S, B>(service: &mut S) -> usize
where
    S: Service<http::Request<tonic::body::Body>, Response = http::Response<B>>,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let response = run(async {
        let service = service.ready().await.unwrap();
        service.call(check_request()).await.unwrap()
    });
    let collected = run(response.into_body().collect()).unwrap();
    let trailers = collected.trailers().map_or(0, http::HeaderMap::len);
    assert!(trailers > 0, "the answer's status is in its trailers");
    trailers
}
