//! The bounded lock-free queue between the request path and the flusher, with the
//! counters of what was recorded and dropped before it.

use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_queue::ArrayQueue;
use crossbeam_utils::CachePadded;
use tokio::sync::Notify;

use super::Record;
use crate::stats::{DropReason, MonitorCounters};

/// Drops an unused record builder out of line (with the drop glue of what it captured).
#[cold]
#[inline(never)]
fn discard<T>(value: T) {
    drop(value);
}

/// The bounded queue between the request path and the flusher, and the counters of
/// what went into it.
pub(crate) struct RecordQueue {
    pub(crate) enabled: bool,
    queue: ArrayQueue<Record>,
    wake_threshold: usize,
    wake_check_mask: u32,
    /// Wakes the flusher; on its own cache line, since the flusher writes it each time
    /// it waits.
    pub(crate) wake: CachePadded<Notify>,
    closed: AtomicBool,
    pub(crate) counters: MonitorCounters,
}

thread_local! {
    static PUSHES: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

impl RecordQueue {
    /// A queue of `capacity` records that wakes the flusher at `batch_size`.
    pub(crate) fn new(capacity: usize, batch_size: usize) -> Self {
        RecordQueue {
            enabled: true,
            queue: ArrayQueue::new(capacity),
            wake_threshold: batch_size.min(capacity),
            wake_check_mask: ((batch_size / 8).next_power_of_two().clamp(1, 64) - 1) as u32,
            wake: CachePadded::new(Notify::new()),
            closed: AtomicBool::new(false),
            counters: MonitorCounters::default(),
        }
    }

    /// A queue that records nothing (a disabled monitor).
    pub(crate) fn disabled() -> Self {
        RecordQueue {
            enabled: false,
            closed: AtomicBool::new(true),
            ..RecordQueue::new(1, 1)
        }
    }

    /// Pushes the record `make` builds, built right where it goes into the queue (a
    /// record is ~90 bytes: every move on the way would be a copy). Never blocks: a
    /// full queue refuses the record and counts it.
    ///
    /// Always in line (in `Request::finish`): with `#[inline]` alone LLVM's heuristics
    /// moved it out of line when unrelated code of the crate grew, at a cost of ~30
    /// instructions per request (`scripts/callgrind.sh`).
    #[inline(always)]
    pub(crate) fn push_with(&self, make: impl FnOnce() -> Record) {
        if !self.enabled {
            discard(make);
            return;
        }
        if self.closed.load(Ordering::Relaxed) {
            self.refuse(make(), DropReason::AfterShutdown);
            return;
        }
        match self.queue.push(make()) {
            Ok(()) => {
                // Looking at the queue's length costs more than the push itself, so
                // each thread looks every few pushes (up to 64, fewer for small
                // batches); the periodic flush covers the rest.
                let n = PUSHES.with(|c| {
                    let n = c.get().wrapping_add(1);
                    c.set(n);
                    n
                });
                if n & self.wake_check_mask == 0 && self.queue.len() >= self.wake_threshold {
                    self.wake.notify_one();
                }
            }
            Err(record) => {
                self.refuse(record, DropReason::QueueFull);
                self.wake.notify_one();
            }
        }
    }

    /// Counts a refused record and drops it here, out of line: its drop glue (the
    /// extras' vectors, a spawned-work link) stays off the request path's code.
    #[cold]
    #[inline(never)]
    fn refuse(&self, record: Record, reason: DropReason) {
        self.count_drop(reason, record.point_count());
    }

    /// The next record, if any (the flusher's side).
    pub(crate) fn pop(&self) -> Option<Record> {
        self.queue.pop()
    }

    /// Records waiting.
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Refuses further records (counted as `after_shutdown`).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }

    /// Counts points dropped before reaching the flusher; logs the first of each reason.
    #[cold]
    pub(crate) fn count_drop(&self, reason: DropReason, points: u64) {
        if self.count_drop_unlogged(reason, points) {
            tracing::warn!(
                target: "monitoring",
                reason = reason.as_str(),
                "monitoring points dropped before reaching the flusher (counted in stats; logged once)"
            );
        }
    }

    /// Counts points dropped before reaching the flusher, for a caller that logs them
    /// itself; true the first time `reason` is seen.
    pub(crate) fn count_drop_unlogged(&self, reason: DropReason, points: u64) -> bool {
        let c = &self.counters;
        c.recorded.fetch_add(points, Ordering::Relaxed);
        c.dropped.add(reason, points)
    }
}
