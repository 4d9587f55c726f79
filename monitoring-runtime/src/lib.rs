//! Runtime of the [`monitoring`](https://docs.rs/monitoring) crate: points, the line
//! protocol encoder, the request context, the monitor handle, its background flusher
//! and the sinks. Most users depend on `monitoring`, which re-exports all of this
//! together with the macros.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use monitoring_runtime::{Capture, Monitor, Point};
//!
//! let capture = Capture::new();
//! let monitor = Monitor::builder().without_config_sink().capture(&capture).start().unwrap();
//! monitor.record(Point::new("licensing").with_tag("license_status", "ok").with_field("liveness_balance", 3i64));
//! let report = monitor.shutdown().await;
//! assert!(report.complete);
//! assert_eq!(capture.len(), 1);
//! # }
//! ```
//!
//! | concept | module |
//! |---|---|
//! | point model | [`point`] |
//! | line protocol encoder and its policy | [`line_protocol`] |
//! | request context (`add_tag`, `add_field`, `add_time`) | [`context`] |
//! | timed fields (`#[timed_field]`, `FieldTimer`) | [`timing`] |
//! | the request path's clock (raw TSC readings) | `clock` |
//! | the built-in names of a request's points | [`schema`] |
//! | one monitored request | [`request`] |
//! | the handle and the global default | [`monitor`] |
//! | the background flusher | `worker` |
//! | sinks | [`sink`] |
//! | retry policy | `retry` |
//! | configuration | [`config`] |
//! | counters | [`stats`] |

#![forbid(unsafe_code)]

mod clock;
pub mod config;
pub mod context;
mod error;
mod id;
#[cfg(feature = "axum")]
pub mod layer;
pub mod line_protocol;
pub mod monitor;
pub mod point;
pub mod request;
mod retry;
pub mod schema;
pub mod sink;
pub mod stats;
pub mod timing;
pub mod usage;
mod worker;

pub use config::{Config, InfluxConfig, Secret, StorageType};
pub use context::{add_field, add_tag, add_time, in_request};
pub use error::Error;
#[cfg(feature = "axum")]
pub use layer::{RequestIdLayer, RequestIdService};
pub use line_protocol::{Dialect, EncodeIssues, Encoder};
pub use monitor::{current, record, FlushReport, Monitor, MonitorBuilder};
pub use point::{FieldValue, Point, TagValue, Text};
pub use request::{MonitoredError, ResponseStatus, Status};
pub use sink::{BoxError, Capture, Plugin};
pub use stats::{DropCounts, DropReason, SinkStats, Stats};
pub use timing::{time_field, FieldTimer};
pub use usage::{
    record_usages, MonitoringPoint, ToFieldValue, ToTagValue, ToTimestamp, UsageStatistics,
};
