//! The background flusher: one task that drains the request-path queue, turns records
//! into points, encodes them once per dialect and hands each sink its batch. When every
//! sink takes lines, a plain request (nothing added by the handler, not failed) skips
//! the point: its `requests` line is written straight from the record
//! (`Encoder::encode_request`), byte for byte what its point would encode to.
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
use crate::line_protocol::{Dialect, EncodeIssues, Encoder, RequestIdField, RequestLine};
use crate::monitor::{Record, Shared};
use crate::point::{system_time_ns, FieldValue, Point, TagValue, Text};
use crate::request::RequestRecord;
use crate::sink::{Lines, Payload, Wants};
use crate::stats::DropReason;

/// How long after the shutdown deadline a sink task may take to stop by itself, and
/// then to end once aborted: `shutdown()` returns within twice this of its deadline.
const SINK_STOP_GRACE: Duration = Duration::from_millis(30);

/// Messages from the handle to the worker.
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

/// Maps the request path's raw clock readings (`crate::clock`: the TSC, a read costs a
/// third of `std::time::Instant::now` on these VMs) to wall-clock nanoseconds,
/// re-anchored every tick so that wall-clock adjustments are followed.
struct Clock {
    raw: u64,
    wall_ns: i64,
}

impl Clock {
    fn now() -> Self {
        Clock {
            raw: crate::clock::raw(),
            wall_ns: system_time_ns(SystemTime::now()),
        }
    }

    fn ns(&self, raw: u64) -> i64 {
        if raw >= self.raw {
            let after = crate::clock::nanos_between(self.raw, raw);
            self.wall_ns.saturating_add(after as i64)
        } else {
            let before = crate::clock::nanos_between(raw, self.raw);
            self.wall_ns.saturating_sub(before as i64)
        }
    }
}

pub(crate) struct Worker {
    shared: Arc<Shared>,
    control: mpsc::UnboundedReceiver<Control>,
    tasks: Vec<JoinHandle<()>>,
    /// The `service` tag configured, if any: else a request's is its handler's crate
    /// name.
    configured_service: Option<Text>,
    /// The `service` tag of points recorded outside a request: the configured one,
    /// else the executable's name (resolved on first use).
    service: Option<Text>,
    period: Duration,
    batch_size: usize,
    v1: Encoder,
    v2: Encoder,
    clock: Clock,
    logged_issues: bool,
    /// What the flusher itself left out since the last batch (built-in names).
    issues: EncodeIssues,
    logged_builtin: bool,
    /// Timed-field names by id, refreshed from the registry when a new id shows up.
    field_names: Vec<&'static str>,
    /// Points reused batch after batch when no sink keeps them.
    batch: Vec<Point>,
    /// Set once `shutdown` has run to its end (see `Drop`).
    shut_down: bool,
}

/// The flusher's task is dropped without having shut down when its runtime ends first
/// (`Monitor::shutdown()` not awaited, or cut short): the sinks' tasks end with it, so
/// whatever is still queued or buffered is lost. It is counted (`not_shut_down`) and
/// logged, never lost silently.
impl Drop for Worker {
    fn drop(&mut self) {
        if self.shut_down {
            return;
        }
        let queued = self.pop_all();
        if queued > 0 {
            self.shared
                .count_drop_unlogged(DropReason::NotShutDown, queued);
        }
        let why = "the runtime running the flusher ended before Monitor::shutdown() completed";
        let buffered: u64 = (self.shared.sinks.iter())
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
            configured_service: service.clone(),
            service,
            period,
            batch_size,
            v1: Encoder::new(Dialect::V1),
            v2: Encoder::new(Dialect::V2),
            field_names: Vec::new(),
            batch: Vec::new(),
            clock: Clock::now(),
            logged_issues: false,
            issues: EncodeIssues::default(),
            logged_builtin: false,
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
                    Some(Control::Shutdown { reply, deadline }) => {
                        let complete = self.shutdown(deadline).await;
                        let _ = reply.send(complete);
                        return;
                    }
                    None => {
                        self.shutdown(Instant::now() + self.shared.shutdown_timeout).await;
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

    /// Hands everything queued to the sinks and lets them write until `deadline`. A
    /// sink stops by itself there (a write in flight is cut off, what it still holds
    /// is counted as `shutdown_deadline`); one still running just after it (a plugin
    /// that does not return) is stopped and its points counted the same way. So when
    /// this returns no sink task runs any more and every point is written or counted.
    async fn shutdown(&mut self, deadline: Instant) -> bool {
        self.drain();
        let dropped_before = self.shutdown_drops();
        for sink in &self.shared.sinks {
            sink.close(deadline);
        }
        let cutoff = tokio::time::Instant::from_std(deadline + SINK_STOP_GRACE);
        let sinks = self.shared.sinks.clone();
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
        // A record pushed while shutdown began can no longer reach a sink: count it.
        let late = self.pop_all();
        if late > 0 {
            self.shared.count_drop(DropReason::AfterShutdown, late);
        }
        self.shut_down = true;
        self.shutdown_drops() == dropped_before
    }

    /// Empties the queue without delivering it: the number of points it held.
    fn pop_all(&self) -> u64 {
        let mut points = 0;
        while let Some(record) = self.shared.queue.pop() {
            points += record.point_count();
        }
        points
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
        // Sinks that keep points (plugins, capture) need a batch of their own; when
        // every sink takes lines, one batch of points is reused over and over, and
        // plain requests are encoded straight into each dialect's lines.
        let keep_points = self
            .shared
            .sinks
            .iter()
            .any(|s| matches!(s.wants(), Wants::Points));
        let dialects = [Dialect::V1, Dialect::V2].map(|d| {
            !keep_points
                && self
                    .shared
                    .sinks
                    .iter()
                    .any(|s| matches!(s.wants(), Wants::Lines(x) if x == d))
        });
        loop {
            let waiting = self.shared.queue.len();
            if waiting == 0 {
                break;
            }
            let mut points = if keep_points {
                Vec::with_capacity(waiting.min(self.batch_size) + 2)
            } else {
                std::mem::take(&mut self.batch)
            };
            let mut direct =
                dialects.map(|on| on.then(|| Lines::with_capacity(waiting.min(self.batch_size))));
            // `used`: point slots filled; `count`: points in the batch, lines included.
            let (mut used, mut count) = (0, 0);
            while count < self.batch_size {
                match self.shared.queue.pop() {
                    Some(record) => {
                        count += self.expand(record, &mut points, &mut used, &mut direct)
                    }
                    None => break,
                }
            }
            if count > 0 {
                self.shared
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
        for sink in &self.shared.sinks {
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
        issues.add(&std::mem::take(&mut self.issues));
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

    /// Turns a record into its points, written into `points[*used..]`: slots left from
    /// an earlier batch are reused (emptied, their vectors keeping their capacity). A
    /// plain request (nothing added, not failed) goes straight into `direct`'s lines
    /// instead when there are some. Returns the number of points the record became.
    fn expand(
        &mut self,
        record: Record,
        points: &mut Vec<Point>,
        used: &mut usize,
        direct: &mut [Option<Lines>; 2],
    ) -> usize {
        let record = match record {
            Record::Point(mut point) => {
                // Every point carries `service`: a point's own tag wins, then the
                // configured one, then the executable's name.
                if point.tag("service").is_none() {
                    let service = self.service.get_or_insert_with(executable_service);
                    point
                        .tags
                        .push((Text::Static("service"), TagValue::Text(service.clone())));
                }
                place(points, used, point);
                return 1;
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
        let timestamp = self.clock.ns(start);
        let execution_time =
            Duration::from_nanos(crate::clock::nanos_between(start, end)).as_secs_f64();
        let service = match &self.configured_service {
            Some(service) => service.clone(),
            None => Text::Static(route.crate_name),
        };
        // Timed fields by name, in seconds.
        let mut timings = [("", 0.0); crate::timing::SLOTS];
        let mut n = 0;
        for (id, ns) in times.iter() {
            timings[n] = (
                crate::timing::name(id, &mut self.field_names),
                ns as f64 / 1e9,
            );
            n += 1;
        }
        let timings = &timings[..n];
        if extras.is_none() && status < 400 && direct.iter().any(Option::is_some) {
            let line = RequestLine {
                route: route.route,
                service: &service,
                status,
                request_id: match &request_id {
                    Some(id) => RequestIdField::Given(id),
                    None => RequestIdField::Generated(crate::id::random_u128()),
                },
                execution_time,
                timings,
                timestamp_ns: timestamp,
            };
            if write_line(&line, [&mut self.v1, &mut self.v2], direct) {
                return 1;
            }
        }
        let before = *used;
        let request_id: Text = match request_id {
            Some(id) => id,
            None => format_request_id(timestamp, crate::id::random_u128()),
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
        if !extra_tags.is_empty() || !extra_fields.is_empty() {
            self.leave_out_builtins(extra_tags, extra_fields);
        }

        let requests = *used;
        let point = next_point(points, used, "requests", timestamp);
        // In key order, so that the encoder's fast path needs no sorting.
        point.tags.extend([
            (
                Text::Static("route"),
                TagValue::Text(Text::Static(route.route)),
            ),
            (Text::Static("service"), TagValue::Text(service.clone())),
            (
                Text::Static("status_code"),
                TagValue::UInt(u64::from(status)),
            ),
        ]);
        point.tags.append(extra_tags);
        point.fields.extend([
            (
                Text::Static("request_id"),
                FieldValue::Str(request_id.clone()),
            ),
            (
                Text::Static("execution_time"),
                FieldValue::Float(execution_time),
            ),
        ]);
        for &(name, secs) in timings {
            // A field also timed by name (`FieldTimer::start`) accumulates with it; a
            // non-float value the handler set under a timed name gives way to the time.
            match extra_fields.iter_mut().find(|(k, _)| k.as_str() == name) {
                Some((_, FieldValue::Float(total))) => *total += secs,
                Some((_, value)) => {
                    *value = FieldValue::Float(secs);
                    self.issues.duplicates += 1;
                }
                None => point
                    .fields
                    .push((Text::Static(name), FieldValue::Float(secs))),
            }
        }
        let first_extra = point.fields.len();

        if status >= 400 {
            point.fields.extend(extra_fields.iter().cloned());
            let errors = next_point(points, used, "errors", timestamp);
            errors.tags.push((
                Text::Static("error_code"),
                error_code
                    .take()
                    .unwrap_or(TagValue::UInt(u64::from(status))),
            ));
            errors
                .fields
                .push((Text::Static("request_id"), FieldValue::Str(request_id)));
            // The built-in tags and the timings of the requests point, then the extras.
            let (before, after) = points.split_at_mut(requests + 1);
            let (requests, errors) = (&before[requests], &mut after[0]);
            // `error_code` sorts before the other built-in tags.
            errors.tags.extend(requests.tags.iter().cloned());
            errors
                .fields
                .extend(requests.fields[2..first_extra].iter().cloned());
            errors.fields.append(extra_fields);
        } else {
            point.fields.append(extra_fields);
        }
        if !usages.is_empty() {
            let point = next_point(points, used, crate::usage::USAGES_SERIES, timestamp);
            point
                .tags
                .push((Text::Static("service"), TagValue::Text(service)));
            point.fields.extend(usages.drain(..).map(|(k, n)| {
                (
                    Text::Static(k),
                    FieldValue::Int(n.min(i64::MAX as u64) as i64),
                )
            }));
        }
        if let Some(extras) = extras {
            crate::context::recycle(extras);
        }
        *used - before
    }
}

impl Worker {
    /// Leaves out what a handler added under a built-in name (see [`crate::schema`]):
    /// counted, logged once.
    fn leave_out_builtins(
        &mut self,
        tags: &mut Vec<(Text, TagValue)>,
        fields: &mut Vec<(Text, FieldValue)>,
    ) {
        let (removed, name) = crate::schema::remove_builtins(tags, fields);
        if removed == 0 {
            return;
        }
        self.issues.builtin_names += removed;
        if !std::mem::replace(&mut self.logged_builtin, true) {
            tracing::warn!(
                target: "monitoring",
                name = name.as_ref().map_or("", Text::as_str),
                "a handler added a tag or field with a built-in name of its request's points; \
                 it is left out and the built-in value kept (counted in stats as \
                 builtin_names; logged once)"
            );
        }
    }
}

/// Writes a plain request's `requests` line into each dialect's lines (`direct`, by
/// dialect, with its encoder); false when the encoder wants the general path for it
/// (nothing written then).
fn write_line(
    line: &RequestLine<'_>,
    encoders: [&mut Encoder; 2],
    direct: &mut [Option<Lines>; 2],
) -> bool {
    let mut earlier: Option<(&mut Lines, usize)> = None;
    for (lines, encoder) in direct.iter_mut().zip(encoders) {
        let Some(lines) = lines else { continue };
        let mark = lines.body.len();
        if !encoder.encode_request(line, &mut lines.body) {
            // The checks do not depend on the dialect, so this is the first one;
            // should it not be, the general path must not find a line already here.
            if let Some((lines, mark)) = earlier {
                lines.body.truncate(mark);
                lines.ends.pop();
            }
            return false;
        }
        lines.ends.push(lines.body.len());
        earlier = Some((lines, mark));
    }
    true
}

/// The default `service` of points recorded outside a request: the executable's file
/// name without extension (a binary's is its crate's name by default).
fn executable_service() -> Text {
    let exe = std::env::current_exe().ok();
    let name = exe.as_deref().and_then(std::path::Path::file_stem);
    let name = name.and_then(|n| n.to_str()).unwrap_or("unknown_service");
    Text::from(name.to_owned())
}

/// Puts `point` at `points[*used]` (replacing a slot left from an earlier batch).
fn place(points: &mut Vec<Point>, used: &mut usize, point: Point) {
    if *used == points.len() {
        points.push(point);
    } else {
        points[*used] = point;
    }
    *used += 1;
}

/// The next point of a batch at `points[*used]`: a reused slot (emptied, capacity kept)
/// or a new one.
fn next_point<'a>(
    points: &'a mut Vec<Point>,
    used: &mut usize,
    series: &'static str,
    timestamp: i64,
) -> &'a mut Point {
    if *used == points.len() {
        place(points, used, Point::at(series, timestamp));
        return &mut points[*used - 1];
    }
    let point = &mut points[*used];
    *used += 1;
    point.series = Text::Static(series);
    point.timestamp_ns = timestamp;
    point.tags.clear();
    point.fields.clear();
    point
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
