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
//! | the InfluxDB sinks' disk buffer (`spool_dir`) | `spool/` |

mod capture;
mod guard;
mod gzip;
mod http;
mod influx_v1;
mod influx_v2;
mod line_writer;
mod plugin;
mod spool;

pub use capture::Capture;
pub use gzip::Gzip;
pub use plugin::{BoxError, Plugin};
pub(crate) use spool::SpoolDir;

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
use crate::stats::{DropReason, SinkCounters, SinkStats, SpoolFigures};
use spool::{Spool, Spooled};

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
    wake: Arc<Notify>,
    closing: watch::Sender<Option<Instant>>,
    pub(crate) counters: SinkCounters,
    /// The disk buffer (InfluxDB sinks with `spool_dir`).
    spool: Option<Arc<Spool>>,
    /// Set when shutdown stopped delivering the spool (the database is away): the
    /// rest stays on disk for the next monitor.
    replay_stopped: std::sync::atomic::AtomicBool,
    /// Set when the sink's task ended before shutdown (see [`SinkQueue::watch`]): what
    /// it is handed from then on is counted as `panicked`.
    dead: std::sync::atomic::AtomicBool,
}

/// What a sink task does next.
pub(crate) enum Work {
    /// Deliver a batch from memory.
    Batch(Payload),
    /// Deliver the spool's oldest record.
    Spooled,
}

impl SinkQueue {
    fn new(name: String, wants: Wants, limits: Limits) -> Self {
        SinkQueue {
            name,
            wants,
            limits,
            state: Mutex::default(),
            wake: Arc::new(Notify::new()),
            closing: watch::channel(None).0,
            counters: SinkCounters::default(),
            spool: None,
            replay_stopped: std::sync::atomic::AtomicBool::new(false),
            dead: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// A queue with a spool in `dir` (lines of `dialect` only).
    fn with_spool(mut self, dir: Option<&Arc<SpoolDir>>, dialect: Dialect) -> Result<Self, Error> {
        if let Some(dir) = dir {
            let drops = self.counters.dropped.clone();
            self.spool = Some(Spool::open(
                dir,
                &self.name,
                dialect,
                self.wake.clone(),
                drops,
                self.limits.max_bytes,
            )?);
        }
        Ok(self)
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn wants(&self) -> Wants {
        self.wants
    }

    pub(crate) fn stats(&self) -> SinkStats {
        let spool = self.spool.as_ref().map_or_else(SpoolFigures::default, |s| {
            let c = &s.counters;
            SpoolFigures {
                spooled: c.spooled.load(Relaxed),
                pending: c.pending.load(Relaxed),
                replayed: c.replayed.load(Relaxed),
                recovered: c.recovered.load(Relaxed),
            }
        });
        self.counters.snapshot(&self.name, spool)
    }

    /// Stops the spool's writer once it has written what it holds (shutdown).
    pub(crate) async fn close_spool(&self, deadline: Instant) {
        if let Some(spool) = &self.spool {
            spool.close(deadline).await;
        }
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
        if self.dead.load(Relaxed) {
            let why = "the sink's task has ended (see the earlier ERROR)";
            self.drop_points(DropReason::Panicked, payload.count(), why);
            return;
        }
        let dropped;
        {
            let mut st = self.lock();
            if let Some(spool) = self.spool.as_ref().filter(|s| s.is_spooling()) {
                // Behind what is spooled already (oldest first).
                spool_payload(spool, payload);
                drop(st);
                self.wake.notify_one();
                return;
            }
            st.points += payload.count();
            st.bytes += payload.bytes();
            st.items.push_back(payload);
            if let Some(spool) = self.usable_spool() {
                if st.points > self.limits.max_points || st.bytes > self.limits.max_bytes {
                    // The memory bound: to the spool rather than dropped.
                    self.spill(&mut st, spool);
                }
            }
            dropped = self.drop_over_bounds(&mut st);
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

    /// What to deliver next, or `None` once closing and empty. After the shutdown
    /// deadline whatever is left is spooled (with a spool), else dropped and counted.
    async fn next(&self) -> Option<Work> {
        loop {
            let deadline = *self.closing.borrow();
            let past = deadline.is_some_and(|d| Instant::now() >= d);
            {
                let mut st = self.lock();
                self.take_returned(&mut st);
                if past && !st.items.is_empty() {
                    if let Some(spool) = self.usable_spool() {
                        self.spill(&mut st, spool);
                        continue;
                    }
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
                let stopped = self.replay_stopped.load(Relaxed);
                // Oldest first: what is spooled came before what is in memory.
                if !past && !stopped && self.spool.as_ref().is_some_and(|s| s.has_unread()) {
                    return Some(Work::Spooled);
                }
                if let Some(p) = st.items.pop_front() {
                    st.points -= p.count();
                    st.bytes -= p.bytes();
                    st.in_flight = p.count();
                    return Some(Work::Batch(p));
                }
                st.in_flight = 0;
                self.counters.buffered.store(0, Relaxed);
                let spool_empty = self.spool.as_ref().is_none_or(|s| s.is_empty());
                if spool_empty {
                    for waiter in st.idle.drain(..) {
                        let _ = waiter.send(());
                    }
                }
                let on_disk = stopped && self.spool.as_ref().is_some_and(|s| s.all_on_disk());
                if deadline.is_some() && (past || spool_empty || on_disk) {
                    return None;
                }
            }
            if let Some(deadline) = deadline.filter(|_| self.spool.is_some()) {
                // Spooled records wait for the writer: look again, until the deadline.
                let _ = tokio::time::timeout_at(deadline.into(), self.wake.notified()).await;
                continue;
            }
            self.wake.notified().await;
        }
    }

    /// The spool, unless its disk is failing (see `spool/`'s "A failing disk").
    fn usable_spool(&self) -> Option<&Arc<Spool>> {
        self.spool.as_ref().filter(|s| s.usable())
    }

    /// Puts what the spool's disk refused back in front of the memory queue (it is
    /// older than what is there); what the memory bounds cannot keep is counted
    /// `spool_error`.
    fn take_returned(&self, st: &mut QueueState) {
        let Some(spool) = &self.spool else {
            return;
        };
        let (returned, error) = spool.take_returned();
        if let Some(error) = error {
            self.counters
                .set_error(format!("cannot write to the spool: {error}"));
            tracing::warn!(
                target: "monitoring",
                sink = %self.name,
                error,
                "cannot write to the spool; delivering from memory (its bounds apply) and \
                 trying the disk again in {} s",
                spool::DISK_RETRY.as_secs()
            );
        }
        if returned.is_empty() {
            return;
        }
        for lines in returned.into_iter().rev() {
            let payload = Payload::Lines(lines);
            st.points += payload.count();
            st.bytes += payload.bytes();
            st.items.push_front(payload);
        }
        let lost = self.drop_over_bounds(st);
        if lost > 0 {
            let why = "the spool could not be written and the memory bound was reached";
            if self.count_drop_unlogged(DropReason::SpoolError, lost, why) {
                warn_dropped(&self.name, DropReason::SpoolError, lost as u64, why);
            }
        }
    }

    /// Drops the oldest batches while the queue is over its bounds (the caller counts
    /// them); returns their points.
    fn drop_over_bounds(&self, st: &mut QueueState) -> usize {
        let mut dropped = 0;
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
        dropped
    }

    /// Moves everything queued in memory to the spool, oldest first, and switches the
    /// sink to spooling. Called with the queue locked (lock order: queue, then spool).
    fn spill(&self, st: &mut QueueState, spool: &Spool) {
        for payload in st.items.drain(..) {
            spool_payload(spool, payload);
        }
        (st.points, st.bytes) = (0, 0);
        self.counters.buffered.store(st.in_flight as u64, Relaxed);
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

    /// The flusher's look at the sink's task, before shutdown: a task that has ended
    /// (`finished`) can no longer deliver, so what its queue holds, and whatever it is
    /// handed later, is counted as `panicked` rather than left `buffered`.
    pub(crate) fn watch(&self, finished: bool) {
        if !finished || self.dead.swap(true, Relaxed) {
            return;
        }
        let why = "the sink's task ended unexpectedly";
        tracing::error!(target: "monitoring", sink = %self.name, "monitoring {why}; its points are counted as dropped (panicked)");
        let lost = self.abandon(DropReason::Panicked, why);
        let _ = lost;
        let idle = std::mem::take(&mut self.lock().idle);
        for waiter in idle {
            let _ = waiter.send(());
        }
    }

    /// The export of the batch in flight panicked with `message`: what it had not
    /// settled is counted as `panicked`, with one ERROR (until the sink recovers).
    fn panicked(&self, message: &str) {
        let lost = {
            let mut st = self.lock();
            std::mem::take(&mut st.in_flight)
        };
        self.panic_drop(lost as u64, message);
    }

    /// Counts `n` points lost to a panic; the first since the last recovery is logged.
    fn panic_drop(&self, n: u64, message: &str) {
        let why = format!("the sink panicked: {message}");
        let first = self.counters.dropped.add(DropReason::Panicked, n);
        self.counters
            .set_error(format!("{}: {why}", DropReason::Panicked.as_str()));
        if first {
            tracing::error!(
                target: "monitoring",
                sink = %self.name,
                reason = DropReason::Panicked.as_str(),
                points = n,
                panic = message,
                "monitoring sink panicked while exporting a batch; the batch is dropped and \
                 counted, the sink goes on (logged once per outage)"
            );
        }
    }

    /// Waits until everything queued so far was written or dropped, or the deadline.
    pub(crate) async fn wait_idle(&self, deadline: Instant) -> bool {
        let rx = {
            let mut st = self.lock();
            let spool_empty = self.spool.as_ref().is_none_or(|s| s.is_empty());
            if st.items.is_empty() && st.in_flight == 0 && spool_empty {
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
            warn_dropped(&self.name, reason, n as u64, why);
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

/// Hands a batch to the spool's writer.
fn spool_payload(spool: &Spool, payload: Payload) {
    if let Payload::Lines(lines) = payload {
        let n = lines.len();
        spool.append(lines, 0, n);
    }
}

/// What an exporter sees of its queue while exporting.
pub(crate) struct ExportCx<'a> {
    queue: &'a SinkQueue,
    closing: watch::Receiver<Option<Instant>>,
    failing: bool,
    /// Delivering a spooled record (its points are counted as spooled, not buffered).
    replaying: bool,
    /// Points of the record being replayed settled so far.
    replay_settled: u64,
}

impl ExportCx<'_> {
    /// True when what cannot be delivered now can go to the spool.
    pub(crate) fn can_spool(&self) -> bool {
        self.queue.usable_spool().is_some() && !self.replaying
    }

    /// Sends lines `ranges` of the batch in hand, then everything queued in memory, to
    /// the spool; the sink spools until it has delivered them.
    pub(crate) fn spool(&mut self, lines: &Arc<Lines>, ranges: &[(usize, usize)]) {
        let Some(spool) = &self.queue.spool else {
            return;
        };
        let mut st = self.queue.lock();
        let mut moved = 0;
        for &(a, b) in ranges {
            spool.append(lines.clone(), a, b);
            moved += b - a;
        }
        st.in_flight = st.in_flight.saturating_sub(moved);
        self.queue.spill(&mut st, spool);
    }

    /// Settles `n` points of the record or batch in hand.
    fn settle(&mut self, n: usize) {
        if self.replaying {
            self.replay_settled += n as u64;
            if let Some(spool) = &self.queue.spool {
                spool.counters.unspool(n as u64);
            }
        } else {
            self.queue.settle(n);
        }
    }

    pub(crate) fn written(&mut self, n: usize) {
        self.settle(n);
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
        self.settle(n);
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
            let until = crate::retry::after(delay.min(SHUTDOWN_RETRY_DELAY));
            tokio::time::sleep_until(until.min(deadline).into()).await;
            return until < deadline;
        }
        let until = crate::retry::after(delay);
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
    /// Delivers a spooled record (only sinks with a spool: the InfluxDB ones), retrying
    /// until it is written or definitively refused; false when the shutdown deadline
    /// stopped it (it stays in the spool).
    fn replay(
        &mut self,
        _lines: Arc<Lines>,
        _cx: &mut ExportCx<'_>,
    ) -> impl Future<Output = bool> + Send {
        async { false }
    }
}

async fn run<E: Exporter>(queue: Arc<SinkQueue>, mut exporter: E) {
    if let Err(panic) = guard::caught(exporter.initialize()).await {
        guard::log_panic(&queue.name, "initialize", &panic);
    }
    let mut cx = ExportCx {
        queue: &queue,
        closing: queue.closing.subscribe(),
        failing: false,
        replaying: false,
        replay_settled: 0,
    };
    while let Some(work) = queue.next().await {
        match work {
            Work::Batch(payload) => {
                if let Err(panic) = guard::caught(exporter.export(payload, &mut cx)).await {
                    queue.panicked(&panic);
                }
                queue.done();
            }
            Work::Spooled => {
                let Some(spool) = queue.spool.as_ref() else {
                    continue;
                };
                if let Some(record) = spool.next().await {
                    replay(spool, record, &mut exporter, &mut cx).await;
                }
            }
        }
    }
    if let Err(panic) = guard::caught(exporter.close()).await {
        guard::log_panic(&queue.name, "close", &panic);
    }
}

/// Delivers one spooled record; it leaves the spool once written or refused.
async fn replay<E: Exporter>(
    spool: &Spool,
    record: Spooled,
    exporter: &mut E,
    cx: &mut ExportCx<'_>,
) {
    cx.replaying = true;
    cx.replay_settled = 0;
    let delivered = guard::caught(exporter.replay(record.lines.clone(), cx)).await;
    cx.replaying = false;
    let delivered = match delivered {
        Ok(delivered) => delivered,
        Err(panic) => {
            // Whatever of the record was not settled yet is lost to the panic.
            let lost = record.points().saturating_sub(cx.replay_settled);
            spool.discard(&record, lost);
            cx.queue.panic_drop(lost, &panic);
            return;
        }
    };
    if delivered {
        spool.delivered(&record);
    } else {
        spool.undelivered();
        if cx.deadline().is_some() {
            cx.queue.replay_stopped.store(true, Relaxed);
        }
    }
}

type Starter = Box<dyn FnOnce(&Handle, Arc<SinkQueue>) -> JoinHandle<()> + Send>;

/// A sink to start.
pub(crate) enum SinkSpec {
    Http(Box<http::HttpExporter>),
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
                SinkSpec::Http(Box::new(http::HttpExporter::new(config, target)?))
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

    /// Starts the sink's task; an InfluxDB sink gets a spool in `spool` (if given).
    pub(crate) fn start(
        self,
        rt: &Handle,
        limits: Limits,
        spool: Option<&Arc<SpoolDir>>,
    ) -> Result<(Arc<SinkQueue>, JoinHandle<()>), Error> {
        let queue = |name: &str, wants| Arc::new(SinkQueue::new(name.to_owned(), wants, limits));
        Ok(match self {
            SinkSpec::Http(exporter) => {
                let dialect = exporter.dialect();
                let q = SinkQueue::new(exporter.name().to_owned(), Wants::Lines(dialect), limits)
                    .with_spool(spool, dialect)?;
                let q = Arc::new(q);
                (q.clone(), rt.spawn(run(q, *exporter)))
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
        })
    }
}
