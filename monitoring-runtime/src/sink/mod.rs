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
//! | shared HTTP writer, retries, batch splitting | `http.rs` (policy in `retry.rs`) |
//! | line protocol to stdout or a file | `line_writer.rs` |
//! | in-memory capture for tests | `capture.rs` |
//! | user plugins | `plugin.rs` |

mod capture;
mod gzip;
mod http;
mod influx_v1;
mod influx_v2;
mod line_writer;
mod plugin;

pub use capture::Capture;
pub use gzip::Gzip;
pub use plugin::{BoxError, Plugin};

use std::collections::VecDeque;
use std::future::Future;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::{oneshot, watch, Notify};
use tokio::task::JoinHandle;

use crate::config::{Config, StorageType};
use crate::error::Error;
use crate::line_protocol::Dialect;
use crate::point::Point;
use crate::stats::{DropReason, SinkCounters, SinkStats};

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

#[derive(Default)]
struct QueueState {
    items: VecDeque<Payload>,
    points: usize,
    bytes: usize,
    in_flight: usize,
    idle: Vec<oneshot::Sender<()>>,
}

/// A sink's bounded queue, shared by the flusher (producer) and the sink's task.
pub(crate) struct SinkQueue {
    name: String,
    wants: Wants,
    limits: Limits,
    state: Mutex<QueueState>,
    wake: Notify,
    closing: watch::Sender<Option<Instant>>,
    pub(crate) counters: SinkCounters,
}

impl SinkQueue {
    fn new(name: String, wants: Wants, limits: Limits) -> Self {
        SinkQueue {
            name,
            wants,
            limits,
            state: Mutex::default(),
            wake: Notify::new(),
            closing: watch::channel(None).0,
            counters: SinkCounters::default(),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn wants(&self) -> Wants {
        self.wants
    }

    pub(crate) fn stats(&self) -> SinkStats {
        self.counters.snapshot(&self.name)
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a batch of `offered` points (fewer lines when the encoder dropped some).
    pub(crate) fn push(&self, payload: Payload, offered: usize) {
        self.counters.received.fetch_add(offered as u64, Relaxed);
        let invalid = offered.saturating_sub(payload.count());
        if invalid > 0 {
            self.drop_points(
                DropReason::Invalid,
                invalid,
                "the encoder dropped unrepresentable points",
            );
        }
        if payload.count() == 0 {
            return;
        }
        let mut dropped = 0;
        {
            let mut st = self.lock();
            st.points += payload.count();
            st.bytes += payload.bytes();
            st.items.push_back(payload);
            while st.points > self.limits.max_points || st.bytes > self.limits.max_bytes {
                let Some(old) = st.items.pop_front() else {
                    break;
                };
                st.points -= old.count();
                st.bytes -= old.bytes();
                dropped += old.count();
            }
            self.counters
                .buffered
                .store((st.points + st.in_flight) as u64, Relaxed);
        }
        if dropped > 0 {
            self.drop_points(
                DropReason::BufferFull,
                dropped,
                "the sink's buffer bound was reached (its database is down, or slower than \
                 points arrive); dropping the oldest points",
            );
        }
        self.wake.notify_one();
    }

    /// The next batch, or `None` once closing and empty. After the shutdown deadline
    /// whatever is left is dropped and counted.
    async fn next(&self) -> Option<Payload> {
        loop {
            let deadline = *self.closing.borrow();
            {
                let mut st = self.lock();
                if deadline.is_some_and(|d| Instant::now() >= d) && !st.items.is_empty() {
                    let left: usize = st.items.drain(..).map(|p| p.count()).sum();
                    st.points = 0;
                    st.bytes = 0;
                    drop(st);
                    self.drop_points(
                        DropReason::ShutdownDeadline,
                        left,
                        "shutdown deadline passed with points still buffered",
                    );
                    continue;
                }
                if let Some(p) = st.items.pop_front() {
                    st.points -= p.count();
                    st.bytes -= p.bytes();
                    st.in_flight = p.count();
                    return Some(p);
                }
                st.in_flight = 0;
                self.counters.buffered.store(0, Relaxed);
                for waiter in st.idle.drain(..) {
                    let _ = waiter.send(());
                }
                if deadline.is_some() {
                    return None;
                }
            }
            self.wake.notified().await;
        }
    }

    fn done(&self) {
        let mut st = self.lock();
        st.in_flight = 0;
        self.counters.buffered.store(st.points as u64, Relaxed);
    }

    /// `n` points of the batch in flight were written or dropped (counted by the
    /// caller): what is left in flight is exactly what a cut-off export still owes.
    fn settle(&self, n: usize) {
        let mut st = self.lock();
        st.in_flight = st.in_flight.saturating_sub(n);
        self.counters
            .buffered
            .store((st.points + st.in_flight) as u64, Relaxed);
    }

    /// Empties the queue when its task is gone (stopped at the shutdown deadline, or
    /// ended with the flusher's runtime before shutdown): the points it held,
    /// including the rest of a batch in flight whose write may or may not have
    /// completed, are counted as `reason` (the caller logs them). Returns their number.
    pub(crate) fn abandon(&self, reason: DropReason, why: &str) -> usize {
        let lost = {
            let mut st = self.lock();
            let lost = st.points + st.in_flight;
            st.items.clear();
            (st.points, st.bytes, st.in_flight) = (0, 0, 0);
            lost
        };
        self.counters.buffered.store(0, Relaxed);
        if lost > 0 {
            self.count_drop_unlogged(reason, lost, why);
        }
        lost
    }

    /// Waits until everything queued so far was written or dropped, or the deadline.
    pub(crate) async fn wait_idle(&self, deadline: Instant) -> bool {
        let rx = {
            let mut st = self.lock();
            if st.items.is_empty() && st.in_flight == 0 {
                return true;
            }
            let (tx, rx) = oneshot::channel();
            st.idle.push(tx);
            rx
        };
        self.wake.notify_one();
        tokio::time::timeout_at(deadline.into(), rx).await.is_ok()
    }

    /// Starts closing: write what is queued until `deadline`, then stop.
    pub(crate) fn close(&self, deadline: Instant) {
        self.closing.send_replace(Some(deadline));
        self.wake.notify_one();
    }

    pub(crate) fn drop_points(&self, reason: DropReason, n: usize, why: &str) {
        if n > 0 && self.count_drop_unlogged(reason, n, why) {
            tracing::warn!(
                target: "monitoring",
                sink = %self.name,
                reason = reason.as_str(),
                points = n,
                "monitoring points dropped: {why} (counted in stats; logged once per outage)"
            );
        }
    }

    /// Counts `n` dropped points and their reason as the last error, for a caller that
    /// logs them itself; true the first time `reason` is seen (since the last rearm).
    fn count_drop_unlogged(&self, reason: DropReason, n: usize, why: &str) -> bool {
        let first = self.counters.dropped.add(reason, n as u64);
        self.counters
            .set_error(format!("{}: {why}", reason.as_str()));
        first
    }
}

/// What an exporter sees of its queue while exporting.
pub(crate) struct ExportCx<'a> {
    queue: &'a SinkQueue,
    closing: watch::Receiver<Option<Instant>>,
    failing: bool,
}

impl ExportCx<'_> {
    pub(crate) fn written(&mut self, n: usize) {
        self.queue.settle(n);
        self.queue.counters.written.fetch_add(n as u64, Relaxed);
        if self.failing {
            self.failing = false;
            self.queue.counters.dropped.rearm();
            tracing::info!(target: "monitoring", sink = %self.queue.name, "monitoring sink recovered");
        }
    }

    pub(crate) fn dropped(&mut self, reason: DropReason, n: usize, why: &str) {
        // Only an outage re-arms the logs when it ends; rejected data is logged once.
        if reason == DropReason::RetryExhausted {
            self.failing = true;
        }
        self.queue.settle(n);
        self.queue.drop_points(reason, n, why);
    }

    pub(crate) fn request_sent(&self) {
        self.queue.counters.requests.fetch_add(1, Relaxed);
    }

    /// Notes a failed attempt that will be retried.
    pub(crate) fn retrying(&mut self, error: &str) {
        self.queue.counters.retries.fetch_add(1, Relaxed);
        self.queue.counters.set_error(error.to_owned());
        if !self.failing {
            self.failing = true;
            tracing::warn!(
                target: "monitoring",
                sink = %self.queue.name,
                error,
                "monitoring write failed; retrying with backoff (logged once per outage)"
            );
        }
    }

    /// The shutdown deadline, once shutting down.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        *self.closing.borrow()
    }

    /// Waits `delay` before a retry; false when the shutdown deadline comes first.
    /// Shutdown cuts a wait short (the next attempt starts at once), and while shutting
    /// down no wait is longer than [`SHUTDOWN_RETRY_DELAY`]: a database that is back
    /// gets everything buffered before the deadline.
    pub(crate) async fn sleep(&mut self, delay: Duration) -> bool {
        if let Some(deadline) = self.deadline() {
            let until = Instant::now() + delay.min(SHUTDOWN_RETRY_DELAY);
            tokio::time::sleep_until(until.min(deadline).into()).await;
            return until < deadline;
        }
        let until = Instant::now() + delay;
        tokio::select! {
            _ = tokio::time::sleep_until(until.into()) => true,
            // Shutdown began (or the flusher is gone): retry now.
            _ = self.closing.changed() => true,
        }
    }

    /// Runs `work` (one write attempt) until it ends or the shutdown deadline passes,
    /// also a deadline set while it runs; `None` when the deadline cut it off.
    pub(crate) async fn before_deadline<F: Future>(&mut self, work: F) -> Option<F::Output> {
        let mut work = std::pin::pin!(work);
        loop {
            if let Some(deadline) = self.deadline() {
                return tokio::time::timeout_at(deadline.into(), work).await.ok();
            }
            tokio::select! {
                out = &mut work => return Some(out),
                changed = self.closing.changed() => {
                    if changed.is_err() {
                        return Some(work.await);
                    }
                }
            }
        }
    }
}

/// The longest wait between two attempts while shutting down.
const SHUTDOWN_RETRY_DELAY: Duration = Duration::from_millis(100);

/// A sink's behaviour; the queue and the loop around it are shared.
pub(crate) trait Exporter: Send + 'static {
    fn initialize(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
    fn export(
        &mut self,
        payload: Payload,
        cx: &mut ExportCx<'_>,
    ) -> impl Future<Output = ()> + Send;
    fn close(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

async fn run<E: Exporter>(queue: Arc<SinkQueue>, mut exporter: E) {
    exporter.initialize().await;
    let mut cx = ExportCx {
        queue: &queue,
        closing: queue.closing.subscribe(),
        failing: false,
    };
    while let Some(payload) = queue.next().await {
        exporter.export(payload, &mut cx).await;
        queue.done();
    }
    exporter.close().await;
}

type Starter = Box<dyn FnOnce(&Handle, Arc<SinkQueue>) -> JoinHandle<()> + Send>;

/// A sink to start.
pub(crate) enum SinkSpec {
    Http(http::HttpExporter),
    Lines(line_writer::LineWriter),
    Capture(Capture),
    Plugin { name: String, start: Starter },
}

impl SinkSpec {
    pub(crate) fn from_config(config: &Config) -> Result<SinkSpec, Error> {
        Ok(match config.effective_storage_type() {
            StorageType::Influx => {
                let influx = config
                    .influx
                    .as_ref()
                    .ok_or_else(|| Error::config("monitoring.influx", "is required"))?;
                let target = if influx.version == 1 {
                    influx_v1::target(config, influx)?
                } else {
                    influx_v2::target(config, influx)?
                };
                SinkSpec::Http(http::HttpExporter::new(config, target)?)
            }
            StorageType::Stdout => SinkSpec::Lines(line_writer::LineWriter::stdout()),
            StorageType::File => SinkSpec::Lines(line_writer::LineWriter::file(
                config.file.clone().expect("validated"),
            )),
        })
    }

    /// The sink and where it writes, never a secret (the start-up log line).
    pub(crate) fn describe(&self) -> String {
        match self {
            SinkSpec::Http(exporter) => exporter.describe(),
            SinkSpec::Lines(writer) => writer.describe(),
            SinkSpec::Capture(_) => "capture (in memory)".into(),
            SinkSpec::Plugin { name, .. } => name.clone(),
        }
    }

    pub(crate) fn plugin<P: Plugin>(plugin: P) -> SinkSpec {
        let name = format!("plugin:{}", plugin.name());
        SinkSpec::Plugin {
            name,
            start: Box::new(move |rt, queue| rt.spawn(run(queue, plugin::PluginExporter(plugin)))),
        }
    }

    pub(crate) fn start(self, rt: &Handle, limits: Limits) -> (Arc<SinkQueue>, JoinHandle<()>) {
        let queue = |name: &str, wants| Arc::new(SinkQueue::new(name.to_owned(), wants, limits));
        match self {
            SinkSpec::Http(exporter) => {
                let q = queue(exporter.name(), Wants::Lines(exporter.dialect()));
                (q.clone(), rt.spawn(run(q, exporter)))
            }
            SinkSpec::Lines(writer) => {
                let q = queue(writer.name(), Wants::Lines(Dialect::V2));
                (q.clone(), rt.spawn(run(q, writer)))
            }
            SinkSpec::Capture(capture) => {
                let q = queue("capture", Wants::Points);
                (q.clone(), rt.spawn(run(q, capture)))
            }
            SinkSpec::Plugin { name, start } => {
                let q = queue(&name, Wants::Points);
                (q.clone(), start(rt, q))
            }
        }
    }
}
