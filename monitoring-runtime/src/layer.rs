//! A tower layer (feature `axum`) that hands the incoming request id to the monitored
//! handler: the `LUNA-Request-Id` header, else `X-Request-Id`.
//!
//! ```ignore
//! let app = axum::Router::new()
//!     .route("/extractor", post(extractor))
//!     .layer(monitoring::RequestIdLayer);
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::context;
use crate::point::Text;

/// Header names read for the request id, in order.
pub const REQUEST_ID_HEADERS: [&str; 2] = ["luna-request-id", "x-request-id"];

/// The layer; see the module docs.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestIdLayer;

impl<S> tower_layer::Layer<S> for RequestIdLayer {
    type Service = RequestIdService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequestIdService { inner }
    }
}

/// The service [`RequestIdLayer`] wraps around an inner service.
#[derive(Clone, Debug)]
pub struct RequestIdService<S> {
    inner: S,
}

impl<S, B> tower_service::Service<http::Request<B>> for RequestIdService<S>
where
    S: tower_service::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = WithRequestId<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let id = REQUEST_ID_HEADERS
            .iter()
            .find_map(|name| request.headers().get(*name))
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(|v| Text::from(v.to_owned()));
        WithRequestId {
            inner: self.inner.call(request),
            id,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`RequestIdService`].
    pub struct WithRequestId<F> {
        #[pin]
        inner: F,
        id: Option<Text>,
    }
}

impl<F: Future> Future for WithRequestId<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _guard = context::enter_incoming_id(this.id);
        this.inner.poll(cx)
    }
}
