//! One monitored request: its timing, outcome and the record handed to the flusher.
//!
//! `#[monitored(route = "...")]` wraps a handler's body in [`Monitored`]. The future
//! reads the clock when first polled and when it completes, maps the handler's return
//! value to a status (and error code) through [`ResponseStatus`], and pushes one
//! `RequestRecord` to the monitor's queue: two clock reads and one lock-free push.
//! Everything else (timestamps, request-id text, points, encoding) happens in the
//! background flusher.
//!
//! A request whose future is dropped before it completes (client went away) is
//! recorded with status 499; one whose handler panics with status 500 (the panic goes
//! on unwinding).

use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::context::{self, Extras, RequestContext};
use crate::monitor::Target;
use crate::point::{TagValue, Text};
use crate::timing::Times;

/// Status recorded for a request whose future was dropped before completing
/// (nginx's "client closed request").
pub const STATUS_CANCELLED: u16 = 499;
/// Status recorded for a request whose handler panicked.
pub const STATUS_PANICKED: u16 = 500;

/// What the macro knows about a handler at compile time.
#[doc(hidden)]
#[derive(Debug)]
pub struct RouteMeta {
    /// `METHOD:/resource`.
    pub route: &'static str,
    /// The handler's crate name (the default `service` tag).
    pub crate_name: &'static str,
}

/// The outcome of a request: its HTTP status and, for a failed one, an error code.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    /// HTTP status code.
    pub code: u16,
    /// Error code for the `errors` point (the service's own code, e.g. LUNA's `11027`).
    pub error_code: Option<TagValue>,
}

impl Status {
    /// A status without an error code.
    pub fn code(code: u16) -> Self {
        Status {
            code,
            error_code: None,
        }
    }

    /// A failed status with an error code.
    pub fn error(code: u16, error_code: impl Into<TagValue>) -> Self {
        Status {
            code,
            error_code: Some(error_code.into()),
        }
    }

    /// True for 4xx and 5xx: the request also yields an `errors` point.
    pub fn is_failure(&self) -> bool {
        self.code >= 400
    }
}

/// Maps a handler's return value to the request's [`Status`].
///
/// Implemented for `Result<T, E>` (with `T: ResponseStatus`, `E: MonitoredError`),
/// `http::StatusCode`, `http::Response<B>`, `(StatusCode, T)`, `()`, strings and
/// `Vec<u8>` (200), and [`Status`] itself. Implement it for your own response types.
#[diagnostic::on_unimplemented(
    message = "`#[monitored]` cannot tell the HTTP status of a `{Self}`",
    label = "the handler returns `{Self}`",
    note = "implement `monitoring::ResponseStatus` for `{Self}`, or return `Result<T, E>` with `E: monitoring::MonitoredError`"
)]
pub trait ResponseStatus {
    /// The status of this response.
    fn response_status(&self) -> Status;
}

/// Gives an error type its HTTP status and error code; `Result<T, E>` handlers need it.
///
/// ```
/// struct LunaError { code: u32, http: u16 }
/// impl monitoring_runtime::MonitoredError for LunaError {
///     fn status_code(&self) -> u16 { self.http }
///     fn error_code(&self) -> Option<monitoring_runtime::TagValue> { Some(self.code.into()) }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[monitored]` cannot tell the HTTP status of the error type `{Self}`",
    label = "the handler's error type",
    note = "implement `monitoring::MonitoredError` for `{Self}` (its HTTP status and error code)"
)]
pub trait MonitoredError {
    /// The HTTP status this error is answered with.
    fn status_code(&self) -> u16;
    /// The error code tagged on the `errors` point; default: none (the status code is used).
    fn error_code(&self) -> Option<TagValue> {
        None
    }
}

impl<T: ResponseStatus, E: MonitoredError> ResponseStatus for Result<T, E> {
    fn response_status(&self) -> Status {
        match self {
            Ok(v) => v.response_status(),
            Err(e) => Status {
                code: e.status_code(),
                error_code: e.error_code(),
            },
        }
    }
}

impl ResponseStatus for Status {
    fn response_status(&self) -> Status {
        self.clone()
    }
}

impl ResponseStatus for http::StatusCode {
    fn response_status(&self) -> Status {
        Status::code(self.as_u16())
    }
}

impl<B> ResponseStatus for http::Response<B> {
    fn response_status(&self) -> Status {
        Status::code(self.status().as_u16())
    }
}

impl<T> ResponseStatus for (http::StatusCode, T) {
    fn response_status(&self) -> Status {
        Status::code(self.0.as_u16())
    }
}

impl<T> ResponseStatus for (http::StatusCode, http::HeaderMap, T) {
    fn response_status(&self) -> Status {
        Status::code(self.0.as_u16())
    }
}

macro_rules! always_ok {
    ($($ty:ty),*) => {$(
        impl ResponseStatus for $ty {
            fn response_status(&self) -> Status {
                Status::code(200)
            }
        }
    )*};
}
always_ok!((), &'static str, String, Vec<u8>);

impl MonitoredError for http::StatusCode {
    fn status_code(&self) -> u16 {
        self.as_u16()
    }
}

impl<T> MonitoredError for (http::StatusCode, T) {
    fn status_code(&self) -> u16 {
        self.0.as_u16()
    }
}

impl<B> MonitoredError for http::Response<B> {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// What the request path hands to the flusher for one request: kept small (one queue
/// slot is copied in and out per request), the rare parts (error code, added tags and
/// fields) behind `extras`.
#[derive(Debug)]
pub(crate) struct RequestRecord {
    pub(crate) route: &'static RouteMeta,
    /// Raw clock readings (`crate::clock`), scaled by the flusher.
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) status: u16,
    pub(crate) times: Times,
    /// The request id given (argument or header); `None`: in the seed's style,
    /// `<unix seconds>,<uuid4>`, drawn and formatted by the flusher, so the request path
    /// does neither.
    pub(crate) request_id: Option<Text>,
    pub(crate) extras: Option<Box<Extras>>,
}

impl RequestRecord {
    /// Points this record becomes (`requests`, `errors`, `usages_statistic`).
    pub(crate) fn point_count(&self) -> u64 {
        1 + u64::from(self.status >= 400)
            + u64::from(self.extras.as_ref().is_some_and(|e| !e.usages.is_empty()))
    }
}

pin_project_lite::pin_project! {
    /// A monitored handler future; see the module docs.
    #[doc(hidden)]
    #[must_use = "futures do nothing unless awaited"]
    pub struct Monitored<F> {
        #[pin]
        inner: F,
        request: Request,
    }
}

/// The request's state, updated in place (the request path moves nothing it does not
/// have to); its `Drop` records a request that never completed.
///
/// The fields that own something are `ManuallyDrop`: a completed request has already
/// taken them, and `Drop` checks the three itself instead of running drop glue.
struct Request {
    route: &'static RouteMeta,
    /// Where the request is recorded: `None` before the first poll, after the end, and
    /// when nothing records.
    target: ManuallyDrop<Option<Target>>,
    started: bool,
    panicked: bool,
    /// Raw clock reading at the first poll.
    start: u64,
    /// The given request id (argument or header); `None`: generated by the flusher.
    request_id: ManuallyDrop<Option<Text>>,
    context: ManuallyDrop<RequestContext>,
}

impl Request {
    #[inline]
    fn finish(&mut self, status: Status) {
        let Some(target) = self.target.take() else {
            return;
        };
        let end = crate::clock::raw();
        let mut extras = self.context.extras.take();
        if let Some(code) = status.error_code {
            context::extras_of(&mut extras).error_code = Some(code);
        }
        crate::monitor::record_request(target, || RequestRecord {
            route: self.route,
            start: self.start,
            end,
            status: status.code,
            times: self.context.times,
            request_id: self.request_id.take(),
            extras,
        });
    }
}

impl Drop for Request {
    #[inline]
    fn drop(&mut self) {
        if self.target.is_some() {
            let code = if self.panicked || std::thread::panicking() {
                STATUS_PANICKED
            } else {
                STATUS_CANCELLED
            };
            self.finish(Status::code(code));
        }
        // Left only by a request that never started recording (or whose recording
        // found no monitor): drop them here, as the fields are `ManuallyDrop`.
        if self.request_id.is_some() {
            drop(self.request_id.take());
        }
        if self.context.extras.is_some() {
            drop(self.context.extras.take());
        }
    }
}

/// Wraps a handler body; what `#[monitored]` expands to.
#[doc(hidden)]
#[inline]
pub fn monitored<F: Future>(route: &'static RouteMeta, inner: F) -> Monitored<F>
where
    F::Output: ResponseStatus,
{
    // The state is written in place; a request id handed in from a local would be
    // copied wider than it was written (see `monitored_with_id`).
    Monitored {
        inner,
        request: Request {
            route,
            target: ManuallyDrop::new(None),
            started: false,
            panicked: false,
            start: 0,
            request_id: ManuallyDrop::new(None),
            context: ManuallyDrop::new(RequestContext::default()),
        },
    }
}

/// [`monitored`] with the `request_id = <expr>` argument of `#[monitored]`.
#[doc(hidden)]
#[inline]
pub fn monitored_with_id<F: Future>(
    route: &'static RouteMeta,
    request_id: Option<Text>,
    inner: F,
) -> Monitored<F>
where
    F::Output: ResponseStatus,
{
    let mut monitored = monitored(route, inner);
    *monitored.request.request_id = request_id;
    monitored
}

/// Converts the `request_id = <expr>` argument of `#[monitored]`.
#[doc(hidden)]
pub fn request_id_arg<T: Into<Text>>(id: T) -> Option<Text> {
    Some(id.into())
}

impl<F: Future> Future for Monitored<F>
where
    F::Output: ResponseStatus,
{
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let request = this.request;
        if !request.started {
            request.started = true;
            request.target = ManuallyDrop::new(crate::monitor::request_target());
            if request.target.is_some() {
                if request.request_id.is_none() {
                    request.request_id = ManuallyDrop::new(context::take_incoming_id());
                }
                request.start = crate::clock::raw();
            }
        }
        if request.target.is_none() {
            return this.inner.poll(cx);
        }
        let guard = context::enter_request(&mut request.context, &mut request.panicked);
        let out = this.inner.poll(cx);
        guard.leave();
        if let Poll::Ready(value) = &out {
            request.finish(value.response_status());
        }
        out
    }
}
