//! The loop every sink task runs around its exporter, and what an exporter sees of its
//! queue while it exports: settling points, retries, the shutdown deadline, the spool.

use std::future::Future;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::queue::{SinkQueue, Work};
use super::spool::{Spool, Spooled};
use super::{guard, Lines, Payload};
use crate::stats::DropReason;

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

pub(super) async fn run<E: Exporter>(queue: Arc<SinkQueue>, mut exporter: E) {
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
