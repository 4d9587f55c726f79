//! Valid inputs that are easy to get wrong, compiled under the strictest lints.
#![deny(warnings, unused_qualifications, missing_docs)]

use std::future::Future;
use std::pin::Pin;

use http::{Response, StatusCode};
use monitoring::{monitored, timed_field, MonitoredError, ResponseStatus, TagValue};

/// An error with a LUNA error code.
#[derive(Debug)]
pub struct LunaError(u32);

impl MonitoredError for LunaError {
    fn status_code(&self) -> u16 {
        400
    }
    fn error_code(&self) -> Option<TagValue> {
        Some(self.0.into())
    }
}

/// Templates, `?` with conversion, early return.
#[monitored(route = "POST:/handlers/{handler_id}/events")]
pub async fn events(mut handler_id: String, input: &str) -> Result<(StatusCode, String), LunaError> {
    handler_id.push('!');
    let n: u32 = input.parse().map_err(|_| LunaError(1))?;
    if n == 0 {
        return Err(LunaError(2));
    }
    Ok((StatusCode::CREATED, handler_id))
}

/// Patterns in parameters and a request id computed from them.
#[monitored(route = "GET:/pair", request_id = format!("{a}-{b}"))]
pub async fn pair((a, b): (u32, u32)) -> Response<()> {
    let _ = (a, b);
    Response::new(())
}

/// Generic with a where clause and an `impl Trait` return.
#[monitored(route = "DELETE:/items/{id}")]
pub async fn generic<T>(value: T) -> impl ResponseStatus
where
    T: Send + Into<u64>,
{
    let _ = value.into();
    StatusCode::NO_CONTENT
}

/// `Result<impl Trait, E>`.
#[monitored(route = "PATCH:/items/{id}")]
pub async fn result_impl(ok: bool) -> Result<impl ResponseStatus, LunaError> {
    if ok {
        Ok(StatusCode::OK)
    } else {
        Err(LunaError(3))
    }
}

/// A wildcard route (axum 0.8).
#[monitored(route = "GET:/files/{*path}")]
pub async fn files() -> StatusCode {
    StatusCode::OK
}

/// One handler for several methods: the `Method` parameter picks the route.
#[monitored(route = "GET|PUT|DELETE:/items/{id}/state")]
pub async fn state(method: http::Method, id: u32) -> StatusCode {
    let _ = (method, id);
    StatusCode::OK
}

/// The same with a borrowed `Method` under another path.
#[monitored(route = "POST|PATCH:/notes")]
pub async fn notes(verb: &http::Method) -> StatusCode {
    let _ = verb;
    StatusCode::OK
}

/// Explicit crate path.
#[monitored(route = "HEAD:/ping", crate = "::monitoring")]
pub async fn ping() -> StatusCode {
    StatusCode::OK
}

/// Re-exported under another path.
pub mod reexport {
    pub use ::monitoring as monitoring_again;
}

/// Uses the re-export.
#[monitored(route = "OPTIONS:/ping", crate = "reexport::monitoring_again")]
pub async fn ping_again() -> StatusCode {
    StatusCode::OK
}

/// A service with methods.
pub struct Service;

impl Service {
    /// A method with `&self`.
    #[monitored(route = "GET:/version")]
    pub async fn version(&self) -> &'static str {
        "1.0"
    }
}

/// A trait as `#[async_trait]` writes it.
pub trait Handler {
    /// Handles.
    fn handle<'a>(&'a self, n: u32) -> Pin<Box<dyn Future<Output = StatusCode> + Send + 'a>>;
}

impl Handler for Service {
    #[monitored(route = "PUT:/handle")]
    #[timed_field("handle_time")]
    fn handle<'a>(&'a self, n: u32) -> Pin<Box<dyn Future<Output = StatusCode> + Send + 'a>> {
        Box::pin(async move {
            let _ = n;
            StatusCode::OK
        })
    }
}

/// Sync and async timed functions, with early return and `?`.
#[timed_field("save_warps_time")]
pub fn save(n: u32) -> Result<u32, LunaError> {
    if n == 0 {
        return Err(LunaError(4));
    }
    Ok(n)
}

/// Async timed.
#[timed_field("load_images_for_processing_time")]
pub async fn load(n: u32) -> u32 {
    n + 1
}

fn main() {}

/// A parse failure `?` turns into a `LunaError`.
#[derive(Debug)]
pub struct ParseFailed;

impl From<ParseFailed> for LunaError {
    fn from(_: ParseFailed) -> Self {
        LunaError(3)
    }
}

/// `Result<impl Trait, E>`: the body keeps the return type with `impl Trait` erased, so
/// `?` still knows to convert into `LunaError`.
#[monitored(route = "GET:/impl-ok")]
pub async fn impl_ok(input: &str) -> Result<impl ResponseStatus, LunaError> {
    let n: u16 = input.parse().map_err(|_| ParseFailed)?;
    Ok(StatusCode::from_u16(200 + n % 2).unwrap_or(StatusCode::OK))
}
