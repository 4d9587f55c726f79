#![doc = include_str!(concat!(env!("OUT_DIR"), "/README.md"))]
//!
//! # Feature flags
//!
//! | feature | what it adds |
//! |---|---|
//! | `axum` | [`MonitoringLayer`], the tower layer that monitors every request (axum 0.8, hyper, tonic), and the status of axum's response types for `#[monitored]` |
//! | `actix` | [`actix::Monitoring`], the same as actix-web 4 middleware, and the status of actix's response types |
//!
//! Without either, `#[monitored]`, `#[timed_field]`, the derives and the runtime work
//! in any async code (jobs, other frameworks).
//!
//! # In your tests
//!
//! [`Capture`] is an in-memory sink to assert on:
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

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate self as monitoring;

// The API, flat: what users name. Modules stay private but the line-protocol
// policy's (its table is the encoder's documentation).
#[cfg(feature = "actix")]
pub use monitoring_runtime::actix;
#[cfg(any(feature = "axum", feature = "actix"))]
pub use monitoring_runtime::REQUEST_ID_HEADERS;
pub use monitoring_runtime::{
    add_field, add_tag, add_time, current, future, in_request, line_protocol, record,
    set_error_code, spawn, spawn_blocking, time_section, BoxError, Capture, Config, DropCounts,
    DropReason, EndpointStats, Error, ErrorCode, FieldTimer, FieldValue, FlushReport, InRequestExt,
    InfluxConfig, Monitor, MonitorBuilder, MonitoredError, MonitoringPoint, Plugin, Point,
    ResponseStatus, Secret, SinkStats, Stats, Status, StorageType, TagValue, Text, ToFieldValue,
    ToTagValue, ToTimestamp, UsageStatistics, STATUS_CANCELLED, STATUS_PANICKED,
};
#[cfg(feature = "axum")]
pub use monitoring_runtime::{
    LayerConfig, LayerOptions, MonitoringLayer, MonitoringService, RequestHead,
};

/// Monitors an async handler or job: one `requests` point per call (and an `errors`
/// point when it fails), with the tags and timings added while it runs. Under
/// [`MonitoringLayer`] the layer records the request and the attribute adds its error
/// code. See the macro reference on this page.
///
/// ```
/// use monitoring::{monitored, Capture, Monitor, MonitoredError, TagValue};
///
/// struct LunaError(u32);
/// impl MonitoredError for LunaError {
///     fn status_code(&self) -> u16 { 400 }
///     fn error_code(&self) -> Option<TagValue> { Some(self.0.into()) }
/// }
///
/// #[monitored(route = "POST:/handlers/{handler_id}/events", request_id = id.clone())]
/// async fn events(id: String) -> Result<http::StatusCode, LunaError> {
///     Err(LunaError(11027))
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let capture = Capture::new();
/// let monitor = Monitor::builder().without_config_sink().capture(&capture).start().unwrap();
/// let _ = monitor.scope(events("req-1".to_owned())).await;
/// monitor.shutdown().await;
/// let error = &capture.series("errors")[0];
/// assert_eq!(error.tag("error_code"), Some(&TagValue::from(11027u32)));
/// assert_eq!(error.tag("status_code"), Some(&TagValue::from(400u16)));
/// # }
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
/// request's `requests` point; repeated calls in one request accumulate. Outside a
/// monitored request it does nothing.
///
/// ```
/// use monitoring::{monitored, timed_field, Capture, FieldValue, Monitor};
///
/// #[timed_field("match_policy_time")]
/// fn match_policy() -> bool { true }
///
/// #[timed_field("save_warps_time")]
/// async fn save_warps() {}
///
/// #[monitored(route = "POST:/detector")]
/// async fn detector() -> http::StatusCode {
///     match_policy();
///     save_warps().await;
///     save_warps().await; // adds to the same field
///     http::StatusCode::CREATED
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let capture = Capture::new();
/// let monitor = Monitor::builder().without_config_sink().capture(&capture).start().unwrap();
/// monitor.scope(detector()).await;
/// monitor.shutdown().await;
/// let point = &capture.series("requests")[0];
/// assert!(matches!(point.field("save_warps_time"), Some(FieldValue::Float(_))));
/// assert!(point.field("match_policy_time").is_some());
/// # }
/// ```
pub use monitoring_macros::timed_field;

/// Derives [`UsageStatistics`]: each unsigned counter becomes an integer field of the
/// `usages_statistic` point. `#[usage(rename = "...")]`, `#[usage(skip)]`.
///
/// ```
/// use monitoring::{Capture, FieldValue, Monitor, UsageStatistics};
///
/// #[derive(Default, UsageStatistics)]
/// struct Usages {
///     face_detector_usages: u64,
///     #[usage(rename = "mask_estimator_usages")]
///     masks: u32,
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let capture = Capture::new();
/// let monitor = Monitor::builder().without_config_sink().capture(&capture).start().unwrap();
/// monitor.install_global();
/// Usages { face_detector_usages: 2, masks: 1 }.record(); // outside a request: at once
/// monitor.shutdown().await;
/// let point = &capture.series("usages_statistic")[0];
/// assert_eq!(point.field("mask_estimator_usages"), Some(&FieldValue::Int(1)));
/// # }
/// ```
pub use monitoring_macros::UsageStatistics;

/// Derives [`MonitoringPoint`] for a custom series: `#[point(series = "...")]` on the
/// struct; `#[point(tag)]`, `#[point(timestamp)]`, `#[point(rename = "...")]`,
/// `#[point(skip)]` on fields. `Option` values are omitted when `None`.
///
/// ```
/// use monitoring::{Capture, Monitor, MonitoringPoint, TagValue};
///
/// #[derive(MonitoringPoint)]
/// #[point(series = "model_reloads")]
/// struct Reload {
///     #[point(tag)]
///     model: &'static str,
///     seconds: f64,
///     warnings: Option<String>, // omitted when None
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let capture = Capture::new();
/// let monitor = Monitor::builder().without_config_sink().capture(&capture).start().unwrap();
/// monitor.record(Reload { model: "detector", seconds: 1.5, warnings: None }.to_point());
/// monitor.shutdown().await;
/// let point = &capture.series("model_reloads")[0];
/// assert_eq!(point.tag("model"), Some(&TagValue::from("detector")));
/// assert!(point.field("warnings").is_none());
/// # }
/// ```
pub use monitoring_macros::MonitoringPoint;

pub mod luna;

/// What the macros expand to, and the line-protocol policy's test oracles; not a
/// public API.
#[doc(hidden)]
pub use monitoring_runtime::__private;
