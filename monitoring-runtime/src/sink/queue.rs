//! A sink's bounded queue, shared by the flusher (producer) and the sink's task: the
//! memory bound and its drop policy, the hand-over to the spool, and the counters.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::{oneshot, watch, Notify};

use super::spool::{self, Spool};
use super::{warn_dropped, Limits, Payload, SpoolDir, Wants};
use crate::error::Error;
use crate::line_protocol::Dialect;
use crate::stats::{DropReason, SinkCounters, SinkStats, SpoolFigures};

#[derive(Default)]
pub(super) struct QueueState {
    items: VecDeque<Payload>,
    points: usize,
    bytes: usize,
    pub(super) in_flight: usize,
    idle: Vec<oneshot::Sender<()>>,
}

/// A sink's bounded queue, shared by the flusher (producer) and the sink's task.
pub(crate) struct SinkQueue {
    pub(super) name: String,
    wants: Wants,
    limits: Limits,
    state: Mutex<QueueState>,
    wake: Arc<Notify>,
    pub(super) closing: watch::Sender<Option<Instant>>,
    pub(crate) counters: SinkCounters,
    /// The disk buffer (InfluxDB sinks with `spool_dir`).
    pub(super) spool: Option<Arc<Spool>>,
    /// Set when shutdown stopped delivering the spool (the database is away): the
    /// rest stays on disk for the next monitor.
    pub(super) replay_stopped: std::sync::atomic::AtomicBool,
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
    pub(super) fn new(name: String, wants: Wants, limits: Limits) -> Self {
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
    pub(super) fn with_spool(
        mut self,
        dir: Option<&Arc<SpoolDir>>,
        dialect: Dialect,
    ) -> Result<Self, Error> {
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

    pub(super) fn lock(&self) -> MutexGuard<'_, QueueState> {
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
    pub(super) async fn next(&self) -> Option<Work> {
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
    pub(super) fn usable_spool(&self) -> Option<&Arc<Spool>> {
        self.spool.as_ref().filter(|s| s.usable())
    }

    /// Puts what the spool's disk refused back in front of the memory queue (it is
    /// older than what is there); what the memory bounds cannot keep is counted
    /// `spool_error`.
    pub(super) fn take_returned(&self, st: &mut QueueState) {
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
            self.drop_points(DropReason::SpoolError, lost, why);
        }
    }

    /// Drops the oldest batches while the queue is over its bounds (the caller counts
    /// them); returns their points.
    pub(super) fn drop_over_bounds(&self, st: &mut QueueState) -> usize {
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
    pub(super) fn spill(&self, st: &mut QueueState, spool: &Spool) {
        for payload in st.items.drain(..) {
            spool_payload(spool, payload);
        }
        (st.points, st.bytes) = (0, 0);
        self.counters.buffered.store(st.in_flight as u64, Relaxed);
    }

    pub(super) fn done(&self) {
        let mut st = self.lock();
        st.in_flight = 0;
        self.counters.buffered.store(st.points as u64, Relaxed);
    }

    /// `n` points of the batch in flight were written or dropped (counted by the
    /// caller): what is left in flight is exactly what a cut-off export still owes.
    pub(super) fn settle(&self, n: usize) {
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
        self.abandon(DropReason::Panicked, why);
        let idle = std::mem::take(&mut self.lock().idle);
        for waiter in idle {
            let _ = waiter.send(());
        }
    }

    /// The export of the batch in flight panicked with `message`: what it had not
    /// settled is counted as `panicked`, with one ERROR (until the sink recovers).
    pub(super) fn panicked(&self, message: &str) {
        let lost = {
            let mut st = self.lock();
            std::mem::take(&mut st.in_flight)
        };
        self.panic_drop(lost as u64, message);
    }

    /// Counts `n` points lost to a panic; the first since the last recovery is logged.
    pub(super) fn panic_drop(&self, n: u64, message: &str) {
        let why = format!("the sink panicked: {message}");
        if self.count_drop_unlogged(DropReason::Panicked, n as usize, &why) {
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
    pub(super) fn count_drop_unlogged(&self, reason: DropReason, n: usize, why: &str) -> bool {
        let first = self.counters.dropped.add(reason, n as u64);
        self.counters
            .set_error(format!("{}: {why}", reason.as_str()));
        first
    }
}

/// Hands a batch to the spool's writer.
fn spool_payload(spool: &Spool, payload: Payload) {
    if let Payload::Lines(lines) = payload {
        let n = lines.len();
        spool.append(lines, 0, n);
    }
}
