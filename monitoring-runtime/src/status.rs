//! What a handler's return value says about its request: its HTTP status and, for a
//! failed one, an error code ([`ResponseStatus`], [`MonitoredError`]).

use crate::point::TagValue;

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
/// Implemented for `Result<T, E>` (with `T: ResponseStatus`, `E: MonitoredError`; `E` may
/// be `Infallible`),
/// `http::StatusCode`, `http::Response<B>`, `(StatusCode, T)`, `(StatusCode, HeaderMap, T)`,
/// `(StatusCode, [(K, V); N], T)`, `(HeaderMap, T)`, axum's `Json`, `Html`, `NoContent`,
/// `Redirect` and `axum::response::Result<T>` (feature `axum`), `()`, strings and
/// `Vec<u8>` (200), and [`Status`] itself. Implement it for your own response types.
#[diagnostic::on_unimplemented(
    message = "`#[monitored]` cannot tell the HTTP status of a `{Self}`",
    label = "the handler returns `{Self}`",
    note = "return a type `#[monitored]` can map (`StatusCode`, `Json<T>`, `(StatusCode, T)`, `Response`, `Result<T, E>` with `E: monitoring::MonitoredError`, ...), wrap `{Self}` in a newtype of yours that implements `monitoring::ResponseStatus`, or add `monitoring::MonitoringLayer` to the router, which reads the status from the response itself"
)]
pub trait ResponseStatus {
    /// The status of this response.
    fn response_status(&self) -> Status;

    /// The status of a response that can tell it only by value (axum's `ErrorResponse`
    /// keeps its response private); hands the value back unchanged.
    #[doc(hidden)]
    #[inline]
    fn into_status(self) -> (Self, Status)
    where
        Self: Sized,
    {
        let status = self.response_status();
        (self, status)
    }
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

/// The status of a failed handler's error.
fn error_status<E: MonitoredError>(e: &E) -> Status {
    Status {
        code: e.status_code(),
        error_code: e.error_code(),
    }
}

impl<T: ResponseStatus, E: MonitoredError> ResponseStatus for Result<T, E> {
    fn response_status(&self) -> Status {
        match self {
            Ok(v) => v.response_status(),
            Err(e) => error_status(e),
        }
    }

    #[inline]
    fn into_status(self) -> (Self, Status) {
        match self {
            Ok(v) => {
                let (v, status) = v.into_status();
                (Ok(v), status)
            }
            Err(e) => {
                let status = error_status(&e);
                (Err(e), status)
            }
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

impl<K, V, const N: usize, T> ResponseStatus for (http::StatusCode, [(K, V); N], T) {
    fn response_status(&self) -> Status {
        Status::code(self.0.as_u16())
    }
}

/// Headers added to a response keep its status.
impl<T: ResponseStatus> ResponseStatus for (http::HeaderMap, T) {
    fn response_status(&self) -> Status {
        self.1.response_status()
    }
}

/// `Result<T, Infallible>` is `T`'s status.
impl MonitoredError for std::convert::Infallible {
    fn status_code(&self) -> u16 {
        match *self {}
    }
}

#[cfg(feature = "axum")]
mod axum_responses {
    //! What axum handlers commonly return.

    use super::{ResponseStatus, Status};
    use axum::response::{ErrorResponse, IntoResponse};

    /// `axum::response::Result<T>`: the error keeps its response private, so its status
    /// is read by value (the response is taken out and put back unchanged).
    impl<T: ResponseStatus> ResponseStatus for Result<T, ErrorResponse> {
        /// By reference only `Ok`'s status can be told; `Err` reads as 500.
        fn response_status(&self) -> Status {
            match self {
                Ok(v) => v.response_status(),
                Err(_) => Status::code(500),
            }
        }

        fn into_status(self) -> (Self, Status) {
            match self {
                Ok(v) => {
                    let (v, status) = v.into_status();
                    (Ok(v), status)
                }
                Err(e) => {
                    // Only `Result<_, ErrorResponse>` turns it back into its response.
                    let response = Err::<(), _>(e).into_response();
                    let status = Status::code(response.status().as_u16());
                    (Err(ErrorResponse::from(response)), status)
                }
            }
        }
    }

    impl<T> ResponseStatus for axum::Json<T> {
        fn response_status(&self) -> Status {
            Status::code(200)
        }
    }

    impl<T> ResponseStatus for axum::response::Html<T> {
        fn response_status(&self) -> Status {
            Status::code(200)
        }
    }

    impl ResponseStatus for axum::response::NoContent {
        fn response_status(&self) -> Status {
            Status::code(204)
        }
    }

    impl ResponseStatus for axum::response::Redirect {
        fn response_status(&self) -> Status {
            Status::code(self.status_code().as_u16())
        }
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

/// The error code of a failed response, for [`MonitoringLayer`](crate::MonitoringLayer)
/// (feature `axum`): a response extension your error type's `IntoResponse` inserts, so
/// the request's `errors` point carries your code (LUNA's `11027`) instead of the
/// status code.
///
/// ```
/// let mut response = http::Response::new(());
/// response.extensions_mut().insert(monitoring_runtime::ErrorCode::new(11027u32));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorCode(pub TagValue);

impl ErrorCode {
    /// An error code.
    pub fn new(code: impl Into<TagValue>) -> Self {
        ErrorCode(code.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: &impl ResponseStatus) -> u16 {
        r.response_status().code
    }

    #[test]
    fn common_return_types_map_to_their_status() {
        let header = [(http::header::CONTENT_TYPE, "text/plain")];
        assert_eq!(code(&(http::StatusCode::CREATED, header, "body")), 201);
        let headers = http::HeaderMap::new();
        assert_eq!(code(&(headers, http::StatusCode::ACCEPTED)), 202);
        let ok: Result<http::StatusCode, std::convert::Infallible> = Ok(http::StatusCode::OK);
        assert_eq!(code(&ok), 200);
    }

    #[cfg(feature = "axum")]
    #[test]
    fn axum_responses_map_to_their_status() {
        use axum::response::{Html, NoContent, Redirect};
        use axum::Json;
        assert_eq!(code(&axum::Json(1)), 200);
        assert_eq!(code(&Html("<p>")), 200);
        assert_eq!(code(&NoContent), 204);
        assert_eq!(code(&Redirect::to("/a")), 303);
        assert_eq!(code(&Redirect::temporary("/a")), 307);
        assert_eq!(code(&Redirect::permanent("/a")), 308);
        let failed: Result<axum::Json<u8>, http::StatusCode> = Err(http::StatusCode::NOT_FOUND);
        assert_eq!(code(&failed), 404);
        let failed: axum::response::Result<Json<u8>> = Err(http::StatusCode::GONE.into());
        let (back, status) = failed.into_status();
        assert_eq!(status.code, 410);
        let response = axum::response::IntoResponse::into_response(back);
        assert_eq!(
            response.status(),
            410,
            "the error response is handed back unchanged"
        );
    }
}
