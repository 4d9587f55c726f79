//! The background flusher: one task that drains the request path's queue, turns
//! records into points or lines ([`crate::schema`]), encodes them once per dialect
//! and hands each sink its batch.
//!
//! It wakes every `flushing_period`, as soon as `batch_size` points are waiting, and on
//! `flush()` / `shutdown()`. It never waits on a sink: each sink has its own bounded
//! queue and task (see [`crate::sink`]), so a slow database holds back nothing else.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::line_protocol::{Dialect, EncodeIssues, Encoder};
use crate::point::{Point, Text};
use crate::record::RecordQueue;
use crate::schema::{Batch, Schema};
use crate::sink::{Lines, Payload, SinkQueue, Wants};
use crate::stats::DropReason;

/// How long after the shutdown deadline a sink task may take to stop by itself, and
/// then to end once aborted: `shutdown()` returns within twice this of its deadline.
const SINK_STOP_GRACE: Duration = Duration::from_millis(30);

/// Messages from the handle to the flusher.
pub(crate) enum Control {
    Flush {
        reply: oneshot::Sender<bool>,
    },
    /// Shut down, writing what is buffered until `deadline` (fixed when
    /// `Monitor::shutdown` was called).
    Shutdown {
        reply: oneshot::Sender<bool>,
        deadline: Instant,
    },
    SetPeriod(Duration),
}

/// What the monitor handle and the flusher share: the record queue the request path
/// pushes into, the sinks, and the way to send the flusher its orders. One allocation,
/// so a push from the request path reads one pointer.
pub(crate) struct Core {
    pub(crate) records: RecordQueue,
    pub(crate) sinks: Vec<Arc<SinkQueue>>,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) control: Option<mpsc::UnboundedSender<Control>>,
}

/// How the flusher paces itself.
pub(crate) struct Settings {
    pub(crate) period: Duration,
    pub(crate) batch_size: usize,
    /// The configured `service` tag, if any.
    pub(crate) service: Option<Text>,
    /// How often the monitor's health points are recorded (`None`: never).
    pub(crate) stats_period: Option<Duration>,
}

pub(crate) struct Flusher {
    core: Arc<Core>,
    /// The sinks' tasks, in the order of `core.sinks`.
    tasks: Vec<JoinHandle<()>>,
    control: mpsc::UnboundedReceiver<Control>,
    period: Duration,
    batch_size: usize,
    stats_period: Option<Duration>,
    schema: Schema,
    v1: Encoder,
    v2: Encoder,
    logged_issues: bool,
    /// Points reused batch after batch when no sink keeps them.
    batch: Vec<Point>,
    /// Set once `shutdown` has run to its end (see `Drop`).
    shut_down: bool,
}

/// The flusher's task is dropped without having shut down when its runtime ends first
/// (`Monitor::shutdown()` not awaited, or cut short): the sinks' tasks end with it, so
/// whatever is still queued or buffered is lost. It is counted (`not_shut_down`) and
/// logged, never lost silently.
impl Drop for Flusher {
    fn drop(&mut self) {
        if self.shut_down {
            return;
        }
        let queued = self.pop_all();
        if queued > 0 {
            self.core
                .records
                .count_drop_unlogged(DropReason::NotShutDown, queued);
        }
        let why = "the runtime running the flusher ended before Monitor::shutdown() completed";
        let buffered: u64 = (self.core.sinks.iter())
            .map(|sink| sink.abandon(DropReason::NotShutDown, why) as u64)
            .sum();
        // One line for the whole loss (the counters have it by sink).
        if queued + buffered > 0 {
            tracing::warn!(
                target: "monitoring",
                reason = DropReason::NotShutDown.as_str(),
                queued,
                buffered,
                "monitoring points lost: {why}; await it before the runtime ends"
            );
        }
    }
}

impl Flusher {
    pub(crate) fn new(
        core: Arc<Core>,
        tasks: Vec<JoinHandle<()>>,
        control: mpsc::UnboundedReceiver<Control>,
        settings: Settings,
    ) -> Self {
        Flusher {
            core,
            tasks,
            control,
            period: settings.period,
            batch_size: settings.batch_size,
            stats_period: settings.stats_period,
            schema: Schema::new(settings.service),
            v1: Encoder::new(Dialect::V1),
            v2: Encoder::new(Dialect::V2),
            logged_issues: false,
            batch: Vec::new(),
            shut_down: false,
        }
    }

    fn interval(period: Duration) -> tokio::time::Interval {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick
    }

    pub(crate) async fn run(mut self) {
        let mut tick = Self::interval(self.period);
        // Without a stats period this timer is never polled.
        let mut health = Self::interval(self.stats_period.unwrap_or(crate::retry::MAX_WAIT));
        loop {
            tokio::select! {
                message = self.control.recv() => match message {
                    Some(Control::Flush { reply }) => {
                        self.watch_sinks();
                        self.drain();
                        let deadline = Instant::now() + self.core.shutdown_timeout;
                        let sinks = self.core.sinks.clone();
                        tokio::spawn(async move {
                            let mut complete = true;
                            for sink in sinks {
                                complete &= sink.wait_idle(deadline).await;
                            }
                            let _ = reply.send(complete);
                        });
                    }
                    Some(Control::SetPeriod(period)) => {
                        self.period = period;
                        tick = Self::interval(period);
                    }
                    Some(Control::Shutdown { reply, deadline }) => {
                        let complete = self.shutdown(deadline).await;
                        let _ = reply.send(complete);
                        return;
                    }
                    None => {
                        self.shutdown(Instant::now() + self.core.shutdown_timeout).await;
                        return;
                    }
                },
                _ = self.core.records.wake.notified() => self.drain(),
                _ = tick.tick() => {
                    self.schema.tick();
                    self.watch_sinks();
                    self.drain();
                }
                _ = health.tick(), if self.stats_period.is_some() => {
                    crate::health::record(&self.core.records, &self.core.sinks);
                }
            }
        }
    }

    /// Hands everything queued to the sinks and lets them write until `deadline`. A
    /// sink stops by itself there (a write in flight is cut off, what it still holds
    /// is counted as `shutdown_deadline`); one still running just after it (a plugin
    /// that does not return) is stopped and its points counted the same way. So when
    /// this returns no sink task runs any more and every point is written or counted.
    async fn shutdown(&mut self, deadline: Instant) -> bool {
        self.watch_sinks();
        self.drain();
        let dropped_before = self.shutdown_drops();
        for sink in &self.core.sinks {
            sink.close(deadline);
        }
        let cutoff = tokio::time::Instant::from_std(deadline + SINK_STOP_GRACE);
        let sinks = self.core.sinks.clone();
        for (mut task, sink) in self.tasks.drain(..).zip(sinks) {
            if tokio::time::timeout_at(cutoff, &mut task).await.is_ok() {
                continue;
            }
            task.abort();
            // The abort lands at the task's next await; its counts are final after it.
            let _ = tokio::time::timeout(SINK_STOP_GRACE, task).await;
            let why = "the sink was still writing at the shutdown deadline and was stopped";
            let lost = sink.abandon(DropReason::ShutdownDeadline, why);
            if lost > 0 {
                tracing::warn!(
                    target: "monitoring",
                    sink = sink.name(),
                    reason = DropReason::ShutdownDeadline.as_str(),
                    points = lost,
                    "monitoring points dropped: {why}"
                );
            }
        }
        // Spools: what was handed to their writers reaches the disk (and is fsynced)
        // within the same grace; anything later is counted.
        for sink in &self.core.sinks {
            sink.close_spool(deadline + 2 * SINK_STOP_GRACE).await;
        }
        // A record pushed while shutdown began can no longer reach a sink: count it.
        let late = self.pop_all();
        if late > 0 {
            self.core
                .records
                .count_drop(DropReason::AfterShutdown, late);
        }
        self.shut_down = true;
        let settled = self.core.sinks.iter().all(|s| s.stats().is_settled());
        settled && self.shutdown_drops() == dropped_before
    }

    /// Looks at every sink's task: one that ended before shutdown (it cannot, unless
    /// something outside the exporter's guard panicked) has its points counted.
    fn watch_sinks(&self) {
        for (task, sink) in self.tasks.iter().zip(&self.core.sinks) {
            sink.watch(task.is_finished());
        }
    }

    /// Empties the queue without delivering it: the number of points it held.
    fn pop_all(&self) -> u64 {
        let mut points = 0;
        while let Some(record) = self.core.records.pop() {
            points += record.point_count();
        }
        points
    }

    /// Points the sinks dropped at the shutdown deadline so far.
    fn shutdown_drops(&self) -> u64 {
        let sinks = self.core.sinks.iter();
        sinks
            .map(|s| {
                s.counters
                    .dropped
                    .snapshot()
                    .get(DropReason::ShutdownDeadline)
            })
            .sum()
    }

    /// Moves everything queued so far to the sinks, `batch_size` points at a time.
    fn drain(&mut self) {
        // Sinks that keep points (plugins, capture) need a batch of their own; when
        // every sink takes lines, one batch of points is reused over and over, and
        // plain requests are encoded straight into each dialect's lines.
        let keep_points = self
            .core
            .sinks
            .iter()
            .any(|s| matches!(s.wants(), Wants::Points));
        let dialects = [Dialect::V1, Dialect::V2].map(|d| {
            !keep_points
                && (self.core.sinks.iter()).any(|s| matches!(s.wants(), Wants::Lines(x) if x == d))
        });
        loop {
            let waiting = self.core.records.len();
            if waiting == 0 {
                break;
            }
            let mut points = if keep_points {
                Vec::with_capacity(waiting.min(self.batch_size) + 2)
            } else {
                std::mem::take(&mut self.batch)
            };
            let mut batch = Batch {
                points: &mut points,
                used: 0,
                direct: dialects
                    .map(|on| on.then(|| Lines::with_capacity(waiting.min(self.batch_size)))),
                encoders: [&mut self.v1, &mut self.v2],
            };
            // Points in the batch, lines included.
            let mut count = 0;
            while count < self.batch_size {
                match self.core.records.pop() {
                    Some(record) => count += self.schema.expand(record, &mut batch),
                    None => break,
                }
            }
            let Batch { used, direct, .. } = batch;
            if count > 0 {
                self.core
                    .records
                    .counters
                    .recorded
                    .fetch_add(count as u64, std::sync::atomic::Ordering::Relaxed);
                if keep_points {
                    points.truncate(used);
                    let kept = Arc::new(points);
                    self.dispatch(&kept, Some(&kept), direct, count);
                    points = Vec::new();
                } else {
                    self.dispatch(&points[..used], None, direct, count);
                }
            }
            if !keep_points {
                self.batch = points;
            }
            if count == 0 {
                break;
            }
        }
    }

    /// Hands a batch to every sink: encoded once per dialect for the line sinks (after
    /// the lines already written straight from requests, `direct`), as `kept` (the
    /// same points, shared) for the sinks that take points. `count`: the batch's points.
    fn dispatch(
        &mut self,
        points: &[Point],
        kept: Option<&Arc<Vec<Point>>>,
        direct: [Option<Lines>; 2],
        count: usize,
    ) {
        let [mut direct_v1, mut direct_v2] = direct;
        let mut v1: Option<Arc<Lines>> = None;
        let mut v2: Option<Arc<Lines>> = None;
        let mut issues = EncodeIssues::default();
        for sink in &self.core.sinks {
            let payload = match sink.wants() {
                Wants::Points => Payload::Points(
                    kept.expect("points are kept when a sink takes them")
                        .clone(),
                ),
                Wants::Lines(Dialect::V1) => Payload::Lines(
                    v1.get_or_insert_with(|| {
                        encode(&mut self.v1, direct_v1.take(), points, &mut issues)
                    })
                    .clone(),
                ),
                Wants::Lines(Dialect::V2) => Payload::Lines(
                    v2.get_or_insert_with(|| {
                        encode(&mut self.v2, direct_v2.take(), points, &mut issues)
                    })
                    .clone(),
                ),
            };
            sink.push(payload, count);
        }
        issues.add(&std::mem::take(&mut self.schema.issues));
        if !issues.is_empty() {
            self.core
                .records
                .counters
                .issues
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .add(&issues);
            if !self.logged_issues {
                self.logged_issues = true;
                tracing::warn!(
                    target: "monitoring",
                    ?issues,
                    "some monitoring input could not be written as is; see the line-protocol \
                     policy (counted in stats; logged once)"
                );
            }
        }
    }
}

/// `points` encoded after the lines already in `lines` (if any).
fn encode(
    encoder: &mut Encoder,
    lines: Option<Lines>,
    points: &[Point],
    issues: &mut EncodeIssues,
) -> Arc<Lines> {
    let mut lines = lines.unwrap_or_else(|| Lines::with_capacity(points.len()));
    for point in points {
        if encoder.encode(point, &mut lines.body) {
            lines.ends.push(lines.body.len());
        }
    }
    if issues.is_empty() {
        *issues = encoder.take_issues();
    } else {
        // Both dialects ran: count the issues once.
        encoder.take_issues();
    }
    Arc::new(lines)
}
