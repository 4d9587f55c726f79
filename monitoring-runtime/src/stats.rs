//! Self-observability: what was recorded, written, dropped (and why), retried.
//!
//! Every point is accounted for: for each sink,
//! `received + recovered = written + dropped + buffered + spooled` (`recovered`:
//! points an earlier process left in the spool), and
//! points refused before reaching the flusher are in [`Stats::dropped`].

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use crate::line_protocol::EncodeIssues;

/// Header values the boundary adapters recorded as `<other>` (`tag_from_header`'s
/// bound), process-wide.
static TAG_VALUES_CAPPED: AtomicU64 = AtomicU64::new(0);

/// Counts one header value recorded as `<other>`.
#[cfg(any(feature = "axum", feature = "actix"))]
pub(crate) fn count_tag_value_capped() {
    TAG_VALUES_CAPPED.fetch_add(1, Relaxed);
}

/// See [`Stats::tag_values_capped`].
pub(crate) fn tag_values_capped() -> u64 {
    TAG_VALUES_CAPPED.load(Relaxed)
}

/// Why points were dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DropReason {
    /// The in-process queue between the request path and the flusher was full: the
    /// newest point is refused because the request path must never wait.
    QueueFull,
    /// Recorded after `shutdown()`.
    AfterShutdown,
    /// The encoder could not represent the point (see [`crate::line_protocol`]).
    Invalid,
    /// A sink's buffer was over its bound (database down or slow): the oldest batch is
    /// dropped, since fresh points are worth more than stale ones.
    BufferFull,
    /// The server rejected the line (400 or another non-retryable 4xx).
    Rejected,
    /// The server refused the credentials (401/403).
    Unauthorized,
    /// The server refused a single line as too large (413).
    TooLarge,
    /// Retries went on for longer than the maximum retry time.
    RetryExhausted,
    /// Still buffered when the shutdown deadline passed.
    ShutdownDeadline,
    /// A plugin returned an error for the batch.
    PluginError,
    /// Still queued, or buffered in a sink, when the flusher's runtime ended before
    /// `shutdown()` completed: await [`Monitor::shutdown`](crate::Monitor::shutdown)
    /// before the runtime (or the process) ends.
    NotShutDown,
    /// The spool (`spool_dir`) was over `max_spool_bytes`: its oldest segment was
    /// deleted.
    SpoolFull,
    /// A spooled record was damaged (a torn write after a crash, a bad checksum).
    SpoolCorrupt,
    /// A batch could not be written to the spool (disk full, permissions) and not kept
    /// in memory either (the memory bound).
    SpoolError,
    /// The sink panicked while exporting the batch (a plugin's `flush_points`, or a
    /// bug of ours): the sink goes on with the next batch.
    Panicked,
    /// The database or bucket does not exist (404): a configuration error, logged as
    /// an ERROR naming it.
    NotFound,
}

impl DropReason {
    /// All reasons, in a stable order.
    pub const ALL: [DropReason; 16] = [
        DropReason::QueueFull,
        DropReason::AfterShutdown,
        DropReason::Invalid,
        DropReason::BufferFull,
        DropReason::Rejected,
        DropReason::Unauthorized,
        DropReason::TooLarge,
        DropReason::RetryExhausted,
        DropReason::ShutdownDeadline,
        DropReason::PluginError,
        DropReason::NotShutDown,
        DropReason::SpoolFull,
        DropReason::SpoolCorrupt,
        DropReason::SpoolError,
        DropReason::Panicked,
        DropReason::NotFound,
    ];

    /// A short snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::AfterShutdown => "after_shutdown",
            DropReason::Invalid => "invalid",
            DropReason::BufferFull => "buffer_full",
            DropReason::Rejected => "rejected",
            DropReason::Unauthorized => "unauthorized",
            DropReason::TooLarge => "too_large",
            DropReason::RetryExhausted => "retry_exhausted",
            DropReason::ShutdownDeadline => "shutdown_deadline",
            DropReason::PluginError => "plugin_error",
            DropReason::NotShutDown => "not_shut_down",
            DropReason::SpoolFull => "spool_full",
            DropReason::SpoolCorrupt => "spool_corrupt",
            DropReason::SpoolError => "spool_error",
            DropReason::Panicked => "panicked",
            DropReason::NotFound => "not_found",
        }
    }

    fn index(self) -> usize {
        DropReason::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// Dropped point counts by reason.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct DropCounts([u64; DropReason::ALL.len()]);

impl std::fmt::Debug for DropCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(r, n)| (r.as_str(), n)))
            .finish()
    }
}

impl DropCounts {
    /// Points dropped for `reason`.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.0[reason.index()]
    }

    /// Adds `other` to `self`.
    pub fn merge(&mut self, other: &DropCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    /// All dropped points.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The non-zero counts.
    pub fn iter(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL
            .iter()
            .map(|r| (*r, self.get(*r)))
            .filter(|(_, n)| *n > 0)
    }
}

/// Atomic drop counters, each reason logged once until [`DropCounters::rearm`].
#[derive(Debug, Default)]
pub(crate) struct DropCounters {
    counts: [AtomicU64; DropReason::ALL.len()],
    logged: [AtomicBool; DropReason::ALL.len()],
}

impl DropCounters {
    /// Counts `n` drops; returns true the first time `reason` is seen (since the last
    /// rearm), so the caller logs it once.
    pub(crate) fn add(&self, reason: DropReason, n: u64) -> bool {
        let i = reason.index();
        self.counts[i].fetch_add(n, Relaxed);
        !self.logged[i].swap(true, Relaxed)
    }

    /// Lets each reason be logged again (after an outage ends).
    pub(crate) fn rearm(&self) {
        for l in &self.logged {
            l.store(false, Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> DropCounts {
        let mut out = DropCounts::default();
        for (o, c) in out.0.iter_mut().zip(&self.counts) {
            *o = c.load(Relaxed);
        }
        out
    }
}

/// The counters of one endpoint of an InfluxDB sink.
#[derive(Debug)]
pub(crate) struct EndpointCounters {
    /// The endpoint's URL (never with credentials: they are refused in URLs).
    pub(crate) url: String,
    pub(crate) requests: AtomicU64,
    pub(crate) failures: AtomicU64,
}

/// A snapshot of one endpoint's counters (`urls`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointStats {
    /// The endpoint's write URL.
    pub url: String,
    /// Write requests sent to it.
    pub requests: u64,
    /// Requests that failed there (connection error, timeout, 5xx, 429, 3xx); the
    /// batch went to the next endpoint.
    pub failures: u64,
}

/// Counters of one sink.
#[derive(Debug, Default)]
pub(crate) struct SinkCounters {
    /// Per endpoint (InfluxDB sinks).
    pub(crate) endpoints: Option<Arc<[EndpointCounters]>>,
    pub(crate) received: AtomicU64,
    pub(crate) written: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) buffered: AtomicU64,
    /// Shared with the sink's spool, which counts its own drops.
    pub(crate) dropped: Arc<DropCounters>,
    pub(crate) last_error: Mutex<Option<String>>,
}

/// The spool's share of a sink's stats (`spool_dir`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SpoolFigures {
    pub(crate) spooled: u64,
    pub(crate) pending: u64,
    pub(crate) replayed: u64,
    pub(crate) recovered: u64,
}

impl SinkCounters {
    pub(crate) fn set_error(&self, message: String) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(message);
    }

    pub(crate) fn snapshot(&self, name: &str, spool: SpoolFigures) -> SinkStats {
        SinkStats {
            name: name.to_owned(),
            received: self.received.load(Relaxed),
            written: self.written.load(Relaxed),
            requests: self.requests.load(Relaxed),
            retries: self.retries.load(Relaxed),
            buffered: self.buffered.load(Relaxed) + spool.pending,
            spooled: spool.spooled,
            replayed: spool.replayed,
            recovered: spool.recovered,
            dropped: self.dropped.snapshot(),
            endpoints: (self.endpoints.iter().flat_map(|e| e.iter()))
                .map(|e| EndpointStats {
                    url: e.url.clone(),
                    requests: e.requests.load(Relaxed),
                    failures: e.failures.load(Relaxed),
                })
                .collect(),
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}

/// A snapshot of one sink's counters.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SinkStats {
    /// The sink's name (`influx_v2`, `influx_v1`, `stdout`, `file`, `capture`, `plugin:<name>`).
    pub name: String,
    /// Points handed to this sink by the flusher.
    pub received: u64,
    /// Points the sink confirmed written.
    pub written: u64,
    /// Write requests sent (HTTP sinks) or batches handed over.
    pub requests: u64,
    /// Attempts retried after a backoff (with several endpoints: after every endpoint
    /// failed the batch; a failure followed by another endpoint is counted there).
    pub retries: u64,
    /// Points waiting in the sink's buffer (including a batch in flight, and batches
    /// on their way to the spool).
    pub buffered: u64,
    /// Points in the sink's spool (`spool_dir`), not yet delivered. For every sink,
    /// `received + recovered = written + dropped + buffered + spooled`.
    pub spooled: u64,
    /// Points delivered from the spool (written, or rejected by the database).
    pub replayed: u64,
    /// Points an earlier process left in the spool, found at start.
    pub recovered: u64,
    /// Points dropped by this sink, by reason.
    pub dropped: DropCounts,
    /// Per endpoint of an InfluxDB sink (one, or each of `urls`), in order.
    pub endpoints: Vec<EndpointStats>,
    /// The last error the sink saw (never contains credentials).
    pub last_error: Option<String>,
}

/// Counters of the whole monitor, on cache lines of their own: the flusher updates
/// them per batch, and the request path must not miss on what it reads next to them.
#[derive(Debug, Default)]
#[repr(align(64))]
pub(crate) struct MonitorCounters {
    pub(crate) recorded: AtomicU64,
    pub(crate) dropped: DropCounters,
    pub(crate) issues: Mutex<EncodeIssues>,
}

/// A snapshot of the monitor's counters, from [`Monitor::stats`](crate::Monitor::stats).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Points recorded (including those dropped before reaching the flusher).
    pub recorded: u64,
    /// Tags, fields, timings and counters that work spawned by a request added after
    /// the request had finished: left out (process-wide; see `monitoring::spawn`).
    pub late_additions: u64,
    /// Points dropped before reaching any sink (queue full, after shutdown, invalid).
    pub dropped: DropCounts,
    /// Header values a boundary adapter recorded as `<other>` because their tag had
    /// its 1,000 distinct values already (process-wide; `tag_from_header`).
    pub tag_values_capped: u64,
    /// What the encoder changed or left out (tags, fields, characters).
    pub encode_issues: EncodeIssues,
    /// Per-sink counters.
    pub sinks: Vec<SinkStats>,
}

impl SinkStats {
    /// True when every point this sink received is accounted for and none is still
    /// waiting: `received + recovered = written + dropped + spooled` and
    /// `buffered = 0`. What a complete shutdown report says of every sink.
    pub fn is_settled(&self) -> bool {
        self.buffered == 0
            && self.received.checked_add(self.recovered)
                == self
                    .written
                    .checked_add(self.dropped.total())
                    .and_then(|n| n.checked_add(self.spooled))
    }
}

impl Stats {
    /// The counters of the sink named `name`.
    pub fn sink(&self, name: &str) -> Option<&SinkStats> {
        self.sinks.iter().find(|s| s.name == name)
    }
}
