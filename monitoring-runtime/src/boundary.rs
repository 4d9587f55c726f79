//! The request at the service boundary, shared by the framework adapters
//! ([`MonitoringLayer`](crate::MonitoringLayer) for tower/axum, `actix::Monitoring`
//! for actix-web): the route from the router's matched template, the request id from
//! the headers, the status from the final response. The lifecycle itself (start,
//! enrich, finish) is [`crate::request`]'s, the same one `#[monitored]` runs; an
//! adapter reads its framework's request and response and nothing else.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::context::BoundaryRoute;
use crate::controls::Controls;
use crate::point::{TagValue, Text};
use crate::record::RouteMeta;
use crate::request::Request;
use crate::routes::route_meta;
use crate::status::Status;

/// Header names read for the request id, in order.
pub const REQUEST_ID_HEADERS: [&str; 2] = ["luna-request-id", "x-request-id"];

/// A response (or the inner service's error) as the boundary sees it.
pub(crate) trait Outcome: Sized {
    /// Its status and the error code it carries.
    fn outcome(&self) -> Status;
    /// Passes on the answer to a gRPC call: ends the call with its
    /// [`Outcome::outcome`], or hands it on to the response's body when its status
    /// comes after the headers (the tower layer: `body.rs`).
    fn pass_on(self, started: &mut Option<Started>) -> Self {
        end(started, &self);
        self
    }
}

/// A boundary request as started: the request, its route, the tags taken from its
/// headers (added at its first poll).
pub(crate) struct Started {
    pub(crate) request: Request,
    route: &'static RouteMeta,
    tags: Vec<(Text, TagValue)>,
    /// A gRPC call: its status is read from the answer's `grpc-status`.
    pub(crate) grpc: Option<GrpcCall>,
}

/// What a gRPC call's answer completes.
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
pub(crate) struct GrpcCall {
    /// The call's path while it is no route yet (the first call of a method in this
    /// process, or a method the server may not implement): it becomes one when the
    /// server answers anything but UNIMPLEMENTED.
    pub(crate) path: Option<Box<str>>,
}

/// A gRPC call dropped before its answer was cancelled by its client: CANCELLED (a
/// panic is left to [`Request`], which records 500).
impl Drop for Started {
    #[inline]
    fn drop(&mut self) {
        if self.grpc.is_some() {
            self.cancel_grpc();
        }
    }
}

impl Started {
    #[cold]
    #[inline(never)]
    fn cancel_grpc(&mut self) {
        if self.request.is_pending() && !std::thread::panicking() {
            self.request
                .end(crate::grpc::status(crate::grpc::CANCELLED));
        }
    }
}

/// Starts the boundary request of `method` on the matched `template` (`None`: no route
/// matched), with the id the client sent and the tags `controls` take from its headers
/// (`tags`); `None` while monitoring is off, or when `controls` leave the route out.
#[inline]
pub(crate) fn start(
    method: &str,
    template: Option<&str>,
    controls: Option<&Controls>,
    request_id: impl FnOnce() -> Option<Text>,
    tags: impl FnOnce(&Controls) -> Vec<(Text, TagValue)>,
) -> Option<Started> {
    if !crate::switches::monitoring_on() {
        return None;
    }
    start_on(route_meta(method, template), controls, request_id, tags)
}

/// [`start`] on a route already looked up.
#[inline]
pub(crate) fn start_on(
    route: &'static RouteMeta,
    controls: Option<&Controls>,
    request_id: impl FnOnce() -> Option<Text>,
    tags: impl FnOnce(&Controls) -> Vec<(Text, TagValue)>,
) -> Option<Started> {
    let tags = match controls {
        Some(controls) if controls.skips(route) => return None,
        Some(controls) => tags(controls),
        None => Vec::new(),
    };
    let mut request = Request::new(route, true);
    request.set_request_id(request_id());
    Some(Started {
        request,
        route,
        tags,
        grpc: None,
    })
}

/// The longest request id taken from a client's header, in bytes.
pub(crate) const MAX_CLIENT_REQUEST_ID: usize = 128;

/// Ends `started`'s request with `outcome`'s status: what [`Outcome::pass_on`] does
/// for a response whose headers say all.
#[inline]
pub(crate) fn end(started: &mut Option<Started>, outcome: &impl Outcome) {
    if let Some(started) = started {
        // Tested here too: the status is read only for a request that records.
        if started.request.is_pending() {
            started.request.end(outcome.outcome());
        }
    }
}

/// The request id the client sent: the first of [`REQUEST_ID_HEADERS`] whose value
/// `header` finds (given the header's index in that list, so that each adapter looks
/// it up by a header name it parsed once) and that is a usable id: 1 to
/// [`MAX_CLIENT_REQUEST_ID`] bytes of UTF-8 text without control characters. A value
/// that is not is skipped; with none, the request gets a generated id.
pub(crate) fn request_id<'a>(header: impl Fn(usize) -> Option<&'a [u8]>) -> Option<Text> {
    (0..REQUEST_ID_HEADERS.len())
        .filter_map(header)
        .find_map(usable_request_id)
        .map(|v| Text::from(v.to_owned()))
}

fn usable_request_id(value: &[u8]) -> Option<&str> {
    if value.is_empty() || value.len() > MAX_CLIENT_REQUEST_ID {
        return None;
    }
    std::str::from_utf8(value)
        .ok()
        .filter(|v| !v.chars().any(char::is_control))
}

pin_project_lite::pin_project! {
    /// The future of a monitored request at the service boundary: the inner service's
    /// future, recorded when it completes (or dropped: 499; panicked: 500).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        request: Option<Started>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, request: Option<Started>) -> Self {
        ResponseFuture { inner, request }
    }
}

impl<F> Future for ResponseFuture<F>
where
    F: Future,
    F::Output: Outcome,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let inner = this.inner;
        let Some(Started {
            request,
            route,
            tags,
            grpc,
        }) = this.request
        else {
            return inner.poll(cx);
        };
        // For a `#[monitored]` handler inside, to compare its route with this.
        let _route = BoundaryRoute::enter(route);
        let inner = || {
            // Inside the request's context: the tags go to its points.
            for (key, value) in tags.drain(..) {
                crate::context::add_tag(key, value);
            }
            inner.poll(cx)
        };
        if grpc.is_none() {
            // An HTTP request ends with its answer.
            return request.poll(inner, |out| {
                let status = out.outcome();
                (out, status)
            });
        }
        let out = std::task::ready!(request.poll_in_context(inner));
        Poll::Ready(out.pass_on(this.request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_non_empty_text() {
        let headers = |luna: &'static [u8], x: &'static [u8]| {
            move |i: usize| match REQUEST_ID_HEADERS[i] {
                "luna-request-id" => Some(luna),
                "x-request-id" => Some(x),
                _ => None,
            }
        };
        assert_eq!(request_id(headers(b"abc", b"x")).as_deref(), Some("abc"));
        assert_eq!(request_id(headers(b"", b"x")).as_deref(), Some("x"));
        assert_eq!(request_id(headers(b"", b"")), None);
        // Unusable values are skipped for the next header.
        assert_eq!(request_id(headers(b"\xff", b"x")).as_deref(), Some("x"));
        assert_eq!(request_id(headers(b"a\tb", b"x")).as_deref(), Some("x"));
        assert_eq!(request_id(headers(b"\x7f", b"")), None);
        let long: &'static [u8] = Box::leak(vec![b'a'; 129].into_boxed_slice());
        let max: &'static [u8] = Box::leak(vec![b'b'; 128].into_boxed_slice());
        assert_eq!(request_id(headers(long, b"x")).as_deref(), Some("x"));
        assert_eq!(
            request_id(headers(max, b"x")).as_deref().map(str::len),
            Some(128)
        );
    }
}
