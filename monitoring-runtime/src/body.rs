//! The response body of a gRPC call under [`MonitoringLayer`](crate::MonitoringLayer)
//! (feature `axum`). A gRPC call carries its status after the body, in the trailers
//! (or, in a trailers-only answer, in the headers), and a stream lasts as long as its
//! body: the call's request ends with its body, as tower-http's `GrpcErrorsAsFailures`
//! reads it:
//!
//! - `grpc-status` from the trailers, else from the headers; a body that ends without
//!   either is UNKNOWN (2), one that fails is UNKNOWN too;
//! - a body dropped before its end (the client cancelled the stream) is CANCELLED (1),
//!   unless the headers held the status (a trailers-only answer, whose body the server
//!   drops without reading);
//! - `execution_time` runs to that end; tags, fields and timings added while the
//!   body's stream is polled are the call's (the stream runs in its context);
//! - a method the server does not implement (UNIMPLEMENTED, 12) never becomes a route.
//!
//! Only a gRPC call's body is wrapped, and the layer's response type stays the inner
//! service's: a wrapper type on every response made axum box every HTTP response's
//! body anew (one allocation per HTTP request, ~300 instructions: `scripts/callgrind.sh`
//! `layer_monitoring`; BENCHMARKS.md, the layer). The bodies gRPC calls are answered
//! with are boxed bodies, axum's `Body` (tonic's routes in an axum router) and tonic's
//! `Body` (tonic's server, feature `grpc`): the call's body is wrapped inside them
//! ([`watch`]), chosen by type (`Any`; the choice is made at compile time for each
//! body type). Another body type cannot be wrapped without changing the response
//! type: its calls end at their headers ([`unwatched`]).

use std::any::Any;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};

use crate::boundary::Started;
use crate::grpc;

pin_project_lite::pin_project! {
    /// A gRPC call's response body: the inner body, its frames, size hint and trailers
    /// unchanged; the call ends with it.
    struct GrpcBody<B> {
        #[pin]
        inner: B,
        end: Option<GrpcEnd>,
    }
}

/// A gRPC call waiting for the end of its response body.
struct GrpcEnd {
    started: Started,
    /// The status the response's headers held (a trailers-only answer), if any.
    headers: Option<u8>,
}

impl GrpcEnd {
    /// Ends the call with gRPC `code`: the route made from its path unless the method
    /// is not implemented, then the request recorded.
    fn end(&mut self, code: u8) {
        let started = &mut self.started;
        if let Some(path) = started.grpc.as_mut().and_then(|call| call.path.take()) {
            if code != grpc::UNIMPLEMENTED {
                started
                    .request
                    .set_route(crate::routes::learned("POST", &path));
            }
        }
        started.request.end(grpc::status(code));
    }
}

impl Drop for GrpcEnd {
    fn drop(&mut self) {
        // Ended through `end`, the request is no longer pending: this ends only a body
        // dropped before its end (a panic is left to the request: 500).
        if self.started.request.is_pending() && !std::thread::panicking() {
            self.end(self.headers.unwrap_or(grpc::CANCELLED));
        }
    }
}

/// Hands a gRPC call's request (`started`, taken) on to its answer (HTTP status 200):
/// the call ends with the answer's body.
pub(crate) fn watch<B: 'static>(response: &mut http::Response<B>, started: &mut Option<Started>) {
    let Some(started) = started.take() else {
        return;
    };
    let [status] = crate::headers::find(response.headers(), &grpc::GRPC_STATUS);
    let headers = status.map(|v| grpc::parse_code(v.as_bytes()));
    let mut end = Some(GrpcEnd { started, headers });
    let body = response.body_mut();
    wrap_as(
        body,
        &mut end,
        axum::body::Body::new::<GrpcBody<axum::body::Body>>,
    );
    #[cfg(feature = "grpc")]
    wrap_as(
        body,
        &mut end,
        tonic::body::Body::new::<GrpcBody<tonic::body::Body>>,
    );
    if let Some(end) = end {
        unwatched::<B>(end);
    }
}

/// When `body` is a `T` (a boxed body type), wraps it for `end` and boxes it anew with
/// `boxed`, taking `end`; otherwise leaves both as they are.
fn wrap_as<B: 'static, T: Default + 'static>(
    body: &mut B,
    end: &mut Option<GrpcEnd>,
    boxed: fn(GrpcBody<T>) -> T,
) {
    let Some(body) = (body as &mut dyn Any).downcast_mut::<T>() else {
        return;
    };
    if let Some(call) = end.take() {
        // An empty body of either type allocates nothing.
        let inner = std::mem::take(body);
        *body = boxed(GrpcBody {
            inner,
            end: Some(call),
        });
    }
}

/// A call answered with a body type that cannot be wrapped: it ends now, with the
/// status of the headers (a trailers-only answer) or, without one, as OK; one WARN per
/// process names the body type.
#[cold]
#[inline(never)]
fn unwatched<B>(mut end: GrpcEnd) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::warn!(
            target: "monitoring",
            body = std::any::type_name::<B>(),
            "MonitoringLayer: gRPC calls answered with this body type end at their \
             headers: their time stops there and a status sent in the trailers is not \
             read (the bodies of axum and of tonic, feature `grpc`, are read to the end; \
             logged once)"
        );
    }
    let code = end.headers.unwrap_or(0);
    end.end(code);
}

impl<B: Body> Body for GrpcBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let Some(call) = this.end else {
            return this.inner.poll_frame(cx);
        };
        let inner = this.inner;
        let frame = std::task::ready!(call
            .started
            .request
            .poll_in_context(|| inner.poll_frame(cx)));
        let code = match &frame {
            Some(Ok(frame)) => frame.trailers_ref().map(|trailers| {
                let [status] = crate::headers::find(trailers, &grpc::GRPC_STATUS);
                status
                    .map(|v| grpc::parse_code(v.as_bytes()))
                    .or(call.headers)
                    .unwrap_or(grpc::UNKNOWN)
            }),
            Some(Err(_)) => Some(grpc::UNKNOWN),
            None => Some(call.headers.unwrap_or(grpc::UNKNOWN)),
        };
        if let Some(code) = code {
            if let Some(mut call) = this.end.take() {
                call.end(code);
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
