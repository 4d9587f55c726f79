//! Sinks: where batches go. One file per sink; this one holds what they share.
//!
//! Each sink has its own bounded queue (`SinkQueue`) and its own task, so a slow or
//! failing sink never holds back the others, the flusher or the request path. The
//! queue is bounded by points and by bytes; when a database is down long enough to
//! fill it, the **oldest** batch is dropped (counted as `buffer_full`, logged once per
//! outage): fresh points matter more, and old ones may already be past retention.
//!
//! | sink | file |
//! |---|---|
//! | InfluxDB 2.x `/api/v2/write` | `influx_v2.rs` |
//! | InfluxDB 1.x `/write` | `influx_v1.rs` |
//! | InfluxDB 3 `/api/v3/write_lp` | `influx_v3.rs` |
//! | shared HTTP writer: endpoints, retries, batch splitting (`http/mod.rs`); auth headers and error answers (`http/wire.rs`) | `http/` (policy in `retry.rs`) |
//! | line protocol to stdout or a file | `line_writer.rs` |
//! | in-memory capture for tests | `capture.rs` |
//! | user plugins | `plugin.rs` |
//! | the InfluxDB sinks' disk buffer (`spool_dir`) | `spool/` |
//!
//! | what they share | file |
//! |---|---|
//! | the batch types (`Lines`, `Payload`), the drop warning | `mod.rs` |
//! | a sink's bounded queue and its drop policy | `queue.rs` |
//! | the task loop around an exporter, what it sees of its queue | `export.rs` |
//! | a panic costs the batch, never the sink | `guard.rs` |
//! | which sinks a monitor starts | `spec.rs` |

mod capture;
mod export;
mod guard;
mod gzip;
mod http;
mod influx_v1;
mod influx_v2;
mod influx_v3;
mod line_writer;
mod plugin;
mod queue;
mod spec;
mod spool;

pub use capture::Capture;
pub(crate) use export::{ExportCx, Exporter};
pub use gzip::Gzip;
pub use plugin::{BoxError, Plugin};
pub(crate) use queue::SinkQueue;
pub(crate) use spec::SinkSpec;
pub(crate) use spool::SpoolDir;

use std::sync::Arc;

use crate::line_protocol::Dialect;
use crate::point::Point;
use crate::stats::DropReason;

/// Encoded lines of one batch: one body and where each line ends, so a batch can be
/// split without re-encoding.
#[derive(Debug, Default)]
pub(crate) struct Lines {
    pub(crate) body: Vec<u8>,
    pub(crate) ends: Vec<usize>,
}

impl Lines {
    pub(crate) fn with_capacity(points: usize) -> Self {
        Lines {
            body: Vec::with_capacity(points * 160),
            ends: Vec::with_capacity(points),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The bytes of lines `a..b`.
    pub(crate) fn slice(&self, a: usize, b: usize) -> &[u8] {
        let start = if a == 0 { 0 } else { self.ends[a - 1] };
        let end = if b == 0 { 0 } else { self.ends[b - 1] };
        &self.body[start..end]
    }
}

/// What a sink receives.
#[derive(Clone, Debug)]
pub(crate) enum Payload {
    Lines(Arc<Lines>),
    Points(Arc<Vec<Point>>),
}

impl Payload {
    fn count(&self) -> usize {
        match self {
            Payload::Lines(l) => l.len(),
            Payload::Points(p) => p.len(),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Payload::Lines(l) => l.body.len(),
            Payload::Points(p) => p.len() * 160,
        }
    }
}

/// The representation a sink wants.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Wants {
    Lines(Dialect),
    Points,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) max_points: usize,
    pub(crate) max_bytes: usize,
}

/// The one warning for points a sink (or its spool) dropped for `reason`; an ERROR
/// for a configuration the user must fix (a missing database, refused credentials).
fn warn_dropped(sink: &str, reason: DropReason, n: u64, why: &str) {
    if matches!(reason, DropReason::NotFound | DropReason::Unauthorized) {
        tracing::error!(
            target: "monitoring",
            sink,
            reason = reason.as_str(),
            points = n,
            "monitoring points dropped: {why} (counted in stats; logged once per outage)"
        );
        return;
    }
    tracing::warn!(
        target: "monitoring",
        sink,
        reason = reason.as_str(),
        points = n,
        "monitoring points dropped: {why} (counted in stats; logged once per outage)"
    );
}
