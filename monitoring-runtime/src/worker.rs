//! The background flusher: one task that drains the request-path queue, turns records
//! into points, encodes them once per dialect and hands each sink its batch.
//!
//! It wakes every `flushing_period`, as soon as `batch_size` points are waiting, and on
//! `flush()` / `shutdown()`. It never waits on a sink: each sink has its own bounded
//! queue and task (see [`crate::sink`]), so a slow database holds back nothing else.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::context::Extras;
use crate::id::format_request_id;
use crate::line_protocol::{Dialect, EncodeIssues, Encoder};
use crate::monitor::{Record, Shared};
use crate::point::{system_time_ns, FieldValue, Point, TagValue, Text};
use crate::request::{RequestId, RequestRecord};
use crate::sink::{Lines, Payload, Wants};
use crate::stats::DropReason;

/// Messages from the handle to the worker.
pub(crate) enum Control {
    Flush { reply: oneshot::Sender<bool> },
    Shutdown { reply: oneshot::Sender<bool> },
    SetPeriod(Duration),
}

/// Maps the request path's monotonic instants (quanta's TSC clock: a read costs a
/// third of `std::time::Instant::now` on these VMs) to wall-clock nanoseconds,
/// re-anchored every tick so that wall-clock adjustments are followed.
struct Clock {
    instant: quanta::Instant,
    wall_ns: i64,
}

impl Clock {
    fn now() -> Self {
        Clock {
            instant: quanta::Instant::now(),
            wall_ns: system_time_ns(SystemTime::now()),
        }
    }

    fn ns(&self, t: quanta::Instant) -> i64 {
        match t.checked_duration_since(self.instant) {
            Some(after) => self.wall_ns.saturating_add(after.as_nanos() as i64),
            None => self
                .wall_ns
                .saturating_sub(self.instant.duration_since(t).as_nanos() as i64),
        }
    }
}

pub(crate) struct Worker {
    shared: Arc<Shared>,
    control: mpsc::UnboundedReceiver<Control>,
    tasks: Vec<JoinHandle<()>>,
    service: Option<Text>,
    period: Duration,
    batch_size: usize,
    v1: Encoder,
    v2: Encoder,
    clock: Clock,
    logged_issues: bool,
    /// Timed-field names by id, refreshed from the registry when a new id shows up.
    field_names: Vec<&'static str>,
}

impl Worker {
    pub(crate) fn new(
        shared: Arc<Shared>,
        control: mpsc::UnboundedReceiver<Control>,
        tasks: Vec<JoinHandle<()>>,
        service: Option<Text>,
        period: Duration,
        batch_size: usize,
    ) -> Self {
        Worker {
            shared,
            control,
            tasks,
            service,
            period,
            batch_size,
            v1: Encoder::new(Dialect::V1),
            v2: Encoder::new(Dialect::V2),
            field_names: Vec::new(),
            clock: Clock::now(),
            logged_issues: false,
        }
    }

    fn interval(period: Duration) -> tokio::time::Interval {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick
    }

    pub(crate) async fn run(mut self) {
        let mut tick = Self::interval(self.period);
        loop {
            tokio::select! {
                message = self.control.recv() => match message {
                    Some(Control::Flush { reply }) => {
                        self.drain();
                        let deadline = Instant::now() + self.shared.shutdown_timeout;
                        let sinks = self.shared.sinks.clone();
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
                    Some(Control::Shutdown { reply }) => {
                        let complete = self.shutdown().await;
                        let _ = reply.send(complete);
                        return;
                    }
                    None => {
                        self.shutdown().await;
                        return;
                    }
                },
                _ = self.shared.wake.notified() => self.drain(),
                _ = tick.tick() => {
                    self.clock = Clock::now();
                    self.drain();
                }
            }
        }
    }

    async fn shutdown(&mut self) -> bool {
        self.drain();
        let deadline = Instant::now() + self.shared.shutdown_timeout;
        let dropped_before = self.shutdown_drops();
        for sink in &self.shared.sinks {
            sink.close(deadline);
        }
        // The sinks stop by themselves at the deadline; the grace covers their `close`.
        let grace = tokio::time::Instant::from_std(deadline + Duration::from_secs(1));
        let mut complete = true;
        for task in self.tasks.drain(..) {
            complete &= tokio::time::timeout_at(grace, task).await.is_ok();
        }
        // A record pushed while shutdown began can no longer reach a sink: count it.
        while let Some(record) = self.shared.queue.pop() {
            self.shared
                .count_drop(DropReason::AfterShutdown, record.point_count());
        }
        complete && self.shutdown_drops() == dropped_before
    }

    /// Points the sinks dropped at the shutdown deadline so far.
    fn shutdown_drops(&self) -> u64 {
        let sinks = self.shared.sinks.iter();
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
        loop {
            let waiting = self.shared.queue.len();
            if waiting == 0 {
                break;
            }
            let mut points = Vec::with_capacity(waiting.min(self.batch_size) + 2);
            while points.len() < self.batch_size {
                match self.shared.queue.pop() {
                    Some(record) => self.expand(record, &mut points),
                    None => break,
                }
            }
            if points.is_empty() {
                break;
            }
            self.shared
                .counters
                .recorded
                .fetch_add(points.len() as u64, std::sync::atomic::Ordering::Relaxed);
            self.dispatch(points);
        }
    }

    fn dispatch(&mut self, points: Vec<Point>) {
        let points = Arc::new(points);
        let mut v1: Option<Arc<Lines>> = None;
        let mut v2: Option<Arc<Lines>> = None;
        let mut issues = EncodeIssues::default();
        for sink in &self.shared.sinks {
            let payload = match sink.wants() {
                Wants::Points => Payload::Points(points.clone()),
                Wants::Lines(Dialect::V1) => Payload::Lines(
                    v1.get_or_insert_with(|| encode(&mut self.v1, &points, &mut issues))
                        .clone(),
                ),
                Wants::Lines(Dialect::V2) => Payload::Lines(
                    v2.get_or_insert_with(|| encode(&mut self.v2, &points, &mut issues))
                        .clone(),
                ),
            };
            sink.push(payload, points.len());
        }
        if !issues.is_empty() {
            self.shared
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

    /// Turns a record into its points.
    fn expand(&mut self, record: Record, out: &mut Vec<Point>) {
        let record = match record {
            Record::Point(mut point) => {
                if let Some(service) = &self.service {
                    if point.tag("service").is_none() {
                        point
                            .tags
                            .push((Text::Static("service"), TagValue::Text(service.clone())));
                    }
                }
                out.push(point);
                return;
            }
            Record::Request(r) => r,
        };
        let RequestRecord {
            route,
            start,
            end,
            status,
            times,
            request_id,
            extras,
        } = record;
        let (start, end) = (crate::clock::instant(start), crate::clock::instant(end));
        let elapsed = end.saturating_duration_since(start);
        let timestamp = self.clock.ns(start);
        let service = self
            .service
            .clone()
            .unwrap_or(Text::Static(route.crate_name));
        let request_id: Text = match request_id {
            RequestId::Given(id) => id,
            RequestId::Generated => format_request_id(timestamp, crate::id::random_u128()).into(),
        };
        let mut extras = extras;
        let mut none = Extras::default();
        let Extras {
            tags: extra_tags,
            fields: extra_fields,
            usages,
            error_code,
        } = match &mut extras {
            Some(boxed) => &mut **boxed,
            None => &mut none,
        };

        // In key order, so that the encoder's fast path needs no sorting.
        let mut tags = Vec::with_capacity(4 + extra_tags.len());
        tags.push((
            Text::Static("route"),
            TagValue::Text(Text::Static(route.route)),
        ));
        tags.push((Text::Static("service"), TagValue::Text(service.clone())));
        tags.push((
            Text::Static("status_code"),
            TagValue::UInt(u64::from(status)),
        ));
        tags.append(extra_tags);
        let mut fields = Vec::with_capacity(2 + crate::timing::SLOTS + extra_fields.len());
        fields.push((
            Text::Static("request_id"),
            FieldValue::Str(request_id.clone()),
        ));
        fields.push((
            Text::Static("execution_time"),
            FieldValue::Float(elapsed.as_secs_f64()),
        ));
        for (id, ns) in times.iter() {
            let name = crate::timing::name(id, &mut self.field_names);
            let secs = ns as f64 / 1e9;
            // A field also timed by name (`FieldTimer::start`) accumulates with it.
            match extra_fields.iter_mut().find(|(k, _)| k.as_str() == name) {
                Some((_, FieldValue::Float(total))) => *total += secs,
                _ => fields.push((Text::Static(name), FieldValue::Float(secs))),
            }
        }
        let first_extra = fields.len();
        fields.extend(extra_fields.iter().cloned());

        if status >= 400 {
            let mut error_tags = Vec::with_capacity(tags.len() + 1);
            // `error_code` sorts before the other built-in tags.
            error_tags.push((
                Text::Static("error_code"),
                error_code
                    .take()
                    .unwrap_or(TagValue::UInt(u64::from(status))),
            ));
            error_tags.extend(tags.iter().cloned());
            let mut error_fields = Vec::with_capacity(fields.len() - 1);
            error_fields.push((Text::Static("request_id"), FieldValue::Str(request_id)));
            error_fields.extend(fields[2..first_extra].iter().cloned());
            error_fields.append(extra_fields);
            out.push(Point {
                series: Text::Static("requests"),
                timestamp_ns: timestamp,
                tags,
                fields,
            });
            out.push(Point {
                series: Text::Static("errors"),
                timestamp_ns: timestamp,
                tags: error_tags,
                fields: error_fields,
            });
        } else {
            extra_fields.clear();
            out.push(Point {
                series: Text::Static("requests"),
                timestamp_ns: timestamp,
                tags,
                fields,
            });
        }
        if !usages.is_empty() {
            out.push(Point {
                series: Text::Static(crate::usage::USAGES_SERIES),
                timestamp_ns: timestamp,
                tags: vec![(Text::Static("service"), TagValue::Text(service))],
                fields: usages
                    .drain(..)
                    .map(|(k, n)| {
                        (
                            Text::Static(k),
                            FieldValue::Int(n.min(i64::MAX as u64) as i64),
                        )
                    })
                    .collect(),
            });
        }
        if let Some(extras) = extras {
            crate::context::recycle(extras);
        }
    }
}

fn encode(encoder: &mut Encoder, points: &[Point], issues: &mut EncodeIssues) -> Arc<Lines> {
    let mut lines = Lines::with_capacity(points.len());
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
