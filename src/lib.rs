//! Per-request monitoring of HTTP services in InfluxDB, one attribute per handler.
//!
//! `#[monitored(route = "POST:/extractor")]` on an async handler records a `requests`
//! point for every call (and an `errors` point for every failed one) with the tags
//! `service`, `route`, `status_code` (and `error_code`) and the fields `request_id` and
//! `execution_time`. `#[timed_field("save_warps_time")]` on anything the handler calls
//! adds timing fields; `monitoring::add_tag` adds tags. The points are buffered in the
//! process and shipped by a background task to InfluxDB (2.x or 1.x API), to plugins,
//! or as line protocol to stdout or a file. The request path never waits for it.
//!
//! ```
//! use monitoring::{monitored, timed_field, Capture, Monitor};
//! use http::StatusCode;
//!
//! #[timed_field("save_warps_time")]
//! async fn save_warps() {}
//!
//! #[monitored(route = "POST:/extractor")]
//! async fn extractor() -> StatusCode {
//!     monitoring::add_tag("handler_id", "3f2a");
//!     save_warps().await;
//!     StatusCode::CREATED
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let capture = Capture::new();
//! let monitor = Monitor::builder().without_config_sink().capture(&capture).start().unwrap();
//! monitor.scope(extractor()).await;
//! monitor.shutdown().await;
//! let point = &capture.series("requests")[0];
//! assert_eq!(point.tag("route"), Some(&"POST:/extractor".into()));
//! assert!(point.field("save_warps_time").is_some());
//! # }
//! ```
//!
//! See the README for configuration, failure behaviour and the macro reference.

#![forbid(unsafe_code)]

extern crate self as monitoring;

// The API, flat: what users name. Modules stay private but the line-protocol
// policy's (its table is the encoder's documentation).
#[cfg(feature = "actix")]
pub use monitoring_runtime::actix;
pub use monitoring_runtime::{
    add_field, add_tag, add_time, current, in_request, line_protocol, record, record_usages,
    set_error_code, spawn, spawn_blocking, time_field, BoxError, Capture, Config, Dialect,
    DropCounts, DropReason, EncodeIssues, Encoder, Error, ErrorCode, FieldTimer, FieldValue,
    FlushReport, Gzip, InRequest, InRequestExt, InfluxConfig, Monitor, MonitorBuilder, Monitored,
    MonitoredError, MonitoringPoint, Plugin, Point, ResponseStatus, Scoped, Secret, SinkStats,
    Stats, Status, StorageType, TagValue, Text, ToFieldValue, ToTagValue, ToTimestamp,
    UsageStatistics, STATUS_CANCELLED, STATUS_PANICKED,
};
#[cfg(feature = "axum")]
#[allow(deprecated)]
pub use monitoring_runtime::{MonitoringLayer, MonitoringService, RequestIdLayer};
#[cfg(any(feature = "axum", feature = "actix"))]
pub use monitoring_runtime::{ResponseFuture, REQUEST_ID_HEADERS};

/// Monitors an async handler. See the README's macro reference.
///
/// ```ignore
/// #[monitored(route = "POST:/handlers/{handler_id}/events", request_id = id.clone())]
/// async fn events(id: String) -> Result<Json<Reply>, LunaError> { .. }
/// ```
///
/// - `route = "METHOD:/resource"` (required): checked at compile time. A handler
///   serving several methods lists them, `"GET|PUT:/resource"`, and takes a
///   `method: http::Method` parameter that picks the route recorded.
/// - `request_id = <expr>` (optional): else the `LUNA-Request-Id` / `X-Request-Id`
///   header (through [`MonitoringLayer`], feature `axum`), else
///   generated as `<unix seconds>,<uuid4>`.
/// - `crate = "path"` (optional): where `monitoring` is, for crates re-exporting it.
///
/// The return type must implement [`ResponseStatus`]; a `Result<T, E>` needs
/// `E: MonitoredError`. A dropped handler future records status 499; a panicking
/// handler records 500 and keeps unwinding.
pub use monitoring_macros::monitored;

/// Adds the elapsed seconds of a (sync or async) function to a field of the current
/// request's `requests` point; repeated calls in one request accumulate.
///
/// ```ignore
/// #[timed_field("save_warps_time")]
/// async fn save_warps(..) { .. }
/// ```
pub use monitoring_macros::timed_field;

/// Derives [`UsageStatistics`]: each unsigned counter becomes an integer field of the
/// `usages_statistic` point. `#[usage(rename = "...")]`, `#[usage(skip)]`.
pub use monitoring_macros::UsageStatistics;

/// Derives [`MonitoringPoint`] for a custom series: `#[point(series = "...")]` on the
/// struct; `#[point(tag)]`, `#[point(timestamp)]`, `#[point(rename = "...")]`,
/// `#[point(skip)]` on fields. `Option` values are omitted when `None`.
pub use monitoring_macros::MonitoringPoint;

pub mod luna;

/// What the macros expand to, and the line-protocol policy's test oracles; not a
/// public API.
#[doc(hidden)]
pub use monitoring_runtime::__private;
