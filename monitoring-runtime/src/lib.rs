//! Runtime of the [`monitoring`](https://docs.rs/monitoring) crate: points, the line
//! protocol encoder, the request context, the monitor handle, its background flusher
//! and the sinks. Most users depend on `monitoring`, which re-exports this API together
//! with the macros.
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
//! # Where things are
//!
//! Bottom up; each module imports only from the rows above it (`scripts/check-layers.py`
//! checks it in CI). A point is built in `request.rs` / `schema.rs`, queued in
//! `record/`, flushed by `flusher.rs`, encoded by `line_protocol/` and sent by `sink/`.
//!
//! | layer | module | what it holds |
//! |---|---|---|
//! | 1 | `point`, `error`, `switches`, `random`, `headers` | the point model; the error type; the request path's on/off flags; cheap randomness; request-id headers found by one scan of a small header map (feature `axum`) |
//! | 2 | `clock`, `status`, `request_id` | raw TSC readings and their wall-clock mapping; what a handler's return value says; generated request ids |
//! | 3 | `grpc`, `line_protocol/` | gRPC calls: content type, method routes, `grpc-status` and its HTTP equivalent (features `axum`, `actix`); the policy (`mod.rs`), the encoder (`encoder/`: lines, tags, fields), digits and floats (`writer.rs`), escaping (`escape.rs`), the static-name caches (`static_names.rs`, `escaped_statics.rs`), plain request lines (`request_line.rs`) |
//! | 4 | `config/`, `stats` | configuration (`Config`, `InfluxConfig`, `Secret`); counters and drop reasons |
//! | 5 | `record/`, `retry` | what the request path hands over (the record; its timings, extras and spawned-work link; the queue); which failures are retried and how long to wait |
//! | 6 | `context`, `routes`, `sink/` | a request's tags, fields and timings while it runs; the interned routes of boundary requests, with a per-thread cache; where batches go (InfluxDB 2.x/1.x, stdout, file, plugins, capture: a bounded queue and a task each) and the InfluxDB sinks' disk buffer (`sink/spool/`) |
//! | 7 | `schema`, `timing`, `tasks`, `controls`, `health` | what a record becomes (series, built-in names); `#[timed_field]` and `FieldTimer`; work a request spawns (`spawn`, `spawn_blocking`, `.in_request()`); routes left out and tags from headers, bounded (features `axum`, `actix`); the monitor's own health as points |
//! | 8 | `flusher` | the background loop (batching, dispatch, shutdown) |
//! | 9 | `monitor` | the handle and its builder |
//! | 10 | `current` | the global and scoped monitor, the per-thread caches |
//! | 11 | `request`, `usage`, `series` | a monitored request's future (`#[monitored]`); estimator counters; custom series |
//! | 12 | `boundary` | the request at the service boundary: route, request id, status from the response (features `axum`, `actix`) |
//! | 13 | `body`, `actix` | the response body of a gRPC call under the tower layer, which ends the call at its trailers (feature `axum`; tonic's body type with `grpc`); `actix::Monitoring` for actix-web 4 (feature `actix`) |
//! | 14 | `layer/` | `MonitoringLayer` for tower, axum and tonic (`mod.rs`), its options as a type parameter, zero-sized by default (`options.rs`) (feature `axum`) |

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub mod actix;
#[cfg(feature = "axum")]
mod body;
#[cfg(any(feature = "axum", feature = "actix"))]
mod boundary;
mod clock;
mod config;
mod context;
#[cfg(any(feature = "axum", feature = "actix"))]
mod controls;
mod current;
mod error;
mod flusher;
#[cfg(any(feature = "axum", feature = "actix"))]
mod grpc;
#[cfg(feature = "axum")]
mod headers;
mod health;
#[cfg(feature = "axum")]
mod layer;
pub mod line_protocol;
mod monitor;
mod point;
mod random;
mod record;
mod request;
mod request_id;
mod retry;
#[cfg(any(feature = "axum", feature = "actix"))]
mod routes;
mod schema;
mod series;
mod sink;
mod stats;
mod status;
mod switches;
mod tasks;
mod timing;
mod usage;

#[cfg(any(feature = "axum", feature = "actix"))]
pub use boundary::REQUEST_ID_HEADERS;
pub use config::{Config, InfluxConfig, Secret, StorageType};
pub use context::{add_field, add_tag, add_time, in_request, set_error_code};
pub use current::{current, record};
pub use error::Error;
#[cfg(feature = "axum")]
pub use layer::{LayerConfig, LayerOptions, MonitoringLayer, MonitoringService, RequestHead};
pub use monitor::{FlushReport, Monitor, MonitorBuilder};
pub use point::{FieldValue, Point, TagValue, Text};
pub use request::{STATUS_CANCELLED, STATUS_PANICKED};
pub use series::{MonitoringPoint, ToFieldValue, ToTagValue, ToTimestamp};
pub use sink::{BoxError, Capture, Plugin};
pub use stats::{DropCounts, DropReason, EndpointStats, SinkStats, Stats};
pub use status::{ErrorCode, MonitoredError, ResponseStatus, Status};
pub use tasks::{spawn, spawn_blocking, InRequestExt};
pub use timing::{time_section, FieldTimer};
pub use usage::UsageStatistics;

/// The futures the API returns, named for those who store them (as axum and tower-http
/// keep theirs in a `future` module).
pub mod future {
    #[cfg(any(feature = "axum", feature = "actix"))]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "axum", feature = "actix"))))]
    pub use crate::boundary::ResponseFuture;
    pub use crate::current::Scoped;
    pub use crate::tasks::InRequest;
}

/// Everything the macros' expansions call, and the test oracles of the line-protocol
/// policy; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::line_protocol::escape::{stored_field_key, stored_series, stored_text};
    pub use crate::point::now_ns;
    pub use crate::record::{route_for_method, RouteMeta};
    pub use crate::request::{
        into_status, monitored, monitored_with_id, request_id_arg, Monitored,
    };
    pub use crate::schema::{BUILTIN_FIELDS, BUILTIN_TAGS};
    pub use crate::sink::Gzip;
    pub use crate::switches::monitoring_on;
    pub use crate::timing::TimedField;
    pub use crate::usage::record_usages;
    pub use crate::{
        FieldTimer, MonitoringPoint, Point, ToFieldValue, ToTagValue, ToTimestamp, UsageStatistics,
    };
}
