//! What a record becomes: the series of a request and the names the runtime writes
//! itself. The only place that knows them (the macros' compile-time checks use the
//! same list, `monitoring-macros/src/valid.rs`).
//!
//! | series | when | built-in tags | built-in fields |
//! |---|---|---|---|
//! | `requests` | every request | `service`, `route`, `status_code` | `request_id`, `execution_time`, timings |
//! | `errors` | status ≥ 400 | `error_code`, then as `requests` | `request_id`, timings |
//! | `usages_statistic` | the request counted estimator usages | `service` | one integer per counter |
//!
//! A handler cannot replace or repeat a built-in name: a tag or field it adds under one
//! ([`add_tag`](crate::add_tag), [`add_field`](crate::add_field),
//! [`add_time`](crate::add_time)) is left out, counted in
//! [`EncodeIssues::builtin_names`](crate::line_protocol::EncodeIssues::builtin_names) and logged
//! once; the built-in value is written. (`#[timed_field]` with such a name is a
//! compile error.) Every point carries `service`: the configured one, else for a
//! request its handler's crate name, for other points the executable's name.
//!
//! When every sink takes lines, a plain request (nothing added by the handler, not
//! failed) skips the point: its `requests` line is written straight from the record
//! (`Encoder::encode_request`), byte for byte what its point would encode to.

use std::time::Duration;

use crate::clock::WallClock;
use crate::line_protocol::{EncodeIssues, Encoder, RequestIdField, RequestLine};
use crate::point::{FieldValue, Point, TagValue, Text};
use crate::record::{Extras, Record, RequestRecord, SLOTS};
use crate::request_id::format_request_id;
use crate::sink::Lines;

/// The series of every request.
pub(crate) const REQUESTS: &str = "requests";
/// The series of every failed request.
pub(crate) const ERRORS: &str = "errors";
/// The series of estimator counters.
pub(crate) const USAGES: &str = "usages_statistic";

/// Tags the runtime writes on a request's points.
pub const BUILTIN_TAGS: [&str; 4] = ["service", "route", "status_code", "error_code"];
/// Fields the runtime writes on a request's points.
pub const BUILTIN_FIELDS: [&str; 2] = ["request_id", "execution_time"];

/// Where a batch's records go: points written at `points[*used..]` (slots left from an
/// earlier batch are reused, their vectors keeping their capacity), and, when every
/// sink takes lines, each dialect's lines for plain requests (`direct`, with its
/// encoder).
pub(crate) struct Batch<'a> {
    pub(crate) points: &'a mut Vec<Point>,
    pub(crate) used: usize,
    pub(crate) direct: [Option<Lines>; 2],
    pub(crate) encoders: [&'a mut Encoder; 2],
}

/// What turning records into points needs to know and keeps between batches.
pub(crate) struct Schema {
    /// The `service` tag configured, if any.
    configured_service: Option<Text>,
    /// The `service` of points recorded outside a request (resolved on first use).
    point_service: Option<Text>,
    clock: WallClock,
    /// Timed-field names by id, refreshed from the registry when a new id shows up.
    field_names: Vec<&'static str>,
    /// What was left out since the caller last took them (built-in names).
    pub(crate) issues: EncodeIssues,
    logged_builtin: bool,
}

/// A request's values as written: shared by its direct line and its points.
struct Parts<'a> {
    route: &'static str,
    service: Text,
    status: u16,
    timestamp: i64,
    execution_time: f64,
    timings: &'a [(&'static str, f64)],
}

impl Schema {
    pub(crate) fn new(service: Option<Text>) -> Self {
        Schema {
            point_service: service.clone(),
            configured_service: service,
            clock: WallClock::now(),
            field_names: Vec::new(),
            issues: EncodeIssues::default(),
            logged_builtin: false,
        }
    }

    /// Re-anchors the wall clock (every flushing period).
    pub(crate) fn tick(&mut self) {
        self.clock = WallClock::now();
    }

    /// Turns `record` into its points or its direct line; returns how many points it
    /// became (a direct line counts as one).
    pub(crate) fn expand(&mut self, record: Record, batch: &mut Batch<'_>) -> usize {
        match record {
            Record::Point(point) => {
                let point = self.with_service(point);
                place(batch, point);
                1
            }
            Record::Request(request) => self.request(request, batch),
        }
    }

    /// A point recorded outside a request, with `service` unless it has its own.
    fn with_service(&mut self, mut point: Point) -> Point {
        if point.tag("service").is_none() {
            let service = self.point_service.get_or_insert_with(executable_service);
            point
                .tags
                .push((Text::Static("service"), TagValue::Text(service.clone())));
        }
        point
    }

    fn request(&mut self, record: RequestRecord, batch: &mut Batch<'_>) -> usize {
        let RequestRecord {
            route,
            start,
            end,
            status,
            mut times,
            request_id,
            mut extras,
        } = record;
        if extras.as_ref().is_some_and(|e| e.link.is_some()) {
            crate::record::merge_spawned(&mut times, &mut extras, end, &mut self.field_names);
        }
        // Timed fields by name, in seconds.
        let mut timings = [("", 0.0); SLOTS];
        let mut n = 0;
        for (id, ns) in times.iter() {
            let name = crate::record::field_name(id, &mut self.field_names);
            timings[n] = (name, ns as f64 / 1e9);
            n += 1;
        }
        let parts = Parts {
            route: route.route,
            service: match &self.configured_service {
                Some(service) => service.clone(),
                // Routes the tower layer saw have no crate: the executable's name.
                None if route.crate_name.is_empty() => self
                    .point_service
                    .get_or_insert_with(executable_service)
                    .clone(),
                None => Text::Static(route.crate_name),
            },
            status,
            timestamp: self.clock.ns(start),
            execution_time: Duration::from_nanos(crate::clock::nanos_between(start, end))
                .as_secs_f64(),
            timings: &timings[..n],
        };
        if extras.is_none() && status < 400 && write_line(&parts, request_id.as_deref(), batch) {
            return 1;
        }
        let request_id = request_id
            .unwrap_or_else(|| format_request_id(parts.timestamp, crate::random::random_u128()));
        let before = batch.used;
        match extras {
            Some(mut extras) => {
                self.points(&parts, request_id, &mut extras, batch);
                crate::record::recycle(extras);
            }
            None => self.points(&parts, request_id, &mut Extras::default(), batch),
        }
        batch.used - before
    }

    /// The `requests` point, and the `errors` and `usages_statistic` points when the
    /// request failed or counted usages.
    fn points(
        &mut self,
        parts: &Parts<'_>,
        request_id: Text,
        extras: &mut Extras,
        batch: &mut Batch<'_>,
    ) {
        self.leave_out_builtins(extras);
        let requests = batch.used;
        let point = next_point(batch, REQUESTS, parts.timestamp);
        // In key order, so that the encoder's fast path needs no sorting.
        point.tags.extend([
            (
                Text::Static("route"),
                TagValue::Text(Text::Static(parts.route)),
            ),
            (
                Text::Static("service"),
                TagValue::Text(parts.service.clone()),
            ),
            (
                Text::Static("status_code"),
                TagValue::UInt(u64::from(parts.status)),
            ),
        ]);
        point.tags.append(&mut extras.tags);
        point.fields.extend([
            (
                Text::Static("request_id"),
                FieldValue::Str(request_id.clone()),
            ),
            (
                Text::Static("execution_time"),
                FieldValue::Float(parts.execution_time),
            ),
        ]);
        for &(name, secs) in parts.timings {
            // A field also timed by name (`FieldTimer::start`) accumulates with it; a
            // non-float value the handler set under a timed name gives way to the time.
            match extras.fields.iter_mut().find(|(k, _)| k.as_str() == name) {
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
        let timings_end = point.fields.len();
        if parts.status >= 400 {
            point.fields.extend(extras.fields.iter().cloned());
            errors_point(parts, request_id, extras, batch, requests, timings_end);
        } else {
            point.fields.append(&mut extras.fields);
        }
        if !extras.usages.is_empty() {
            let point = next_point(batch, USAGES, parts.timestamp);
            point.tags.push((
                Text::Static("service"),
                TagValue::Text(parts.service.clone()),
            ));
            point.fields.extend(extras.usages.drain(..).map(|(k, n)| {
                (
                    Text::Static(k),
                    FieldValue::Int(n.min(i64::MAX as u64) as i64),
                )
            }));
        }
    }

    /// Leaves out what a handler added under a built-in name: counted, logged once.
    fn leave_out_builtins(&mut self, extras: &mut Extras) {
        let mut removed = 0;
        let mut first = None;
        let mut keep = |key: &Text, builtin: &[&str]| {
            let builtin = builtin.contains(&key.as_str());
            if builtin {
                removed += 1;
                first.get_or_insert_with(|| key.clone());
            }
            !builtin
        };
        extras.tags.retain(|(key, _)| keep(key, &BUILTIN_TAGS));
        extras.fields.retain(|(key, _)| keep(key, &BUILTIN_FIELDS));
        if removed == 0 {
            return;
        }
        self.issues.builtin_names += removed;
        if !std::mem::replace(&mut self.logged_builtin, true) {
            tracing::warn!(
                target: "monitoring",
                name = first.as_ref().map_or("", Text::as_str),
                "a handler added a tag or field with a built-in name of its request's points; \
                 it is left out and the built-in value kept (counted in stats as \
                 builtin_names; logged once)"
            );
        }
    }
}

/// The `errors` point of a failed request: `error_code`, the built-in tags and the
/// timings of its `requests` point (at `batch.points[requests]`, timings ending at
/// field `timings_end`), then the handler's extras.
fn errors_point(
    parts: &Parts<'_>,
    request_id: Text,
    extras: &mut Extras,
    batch: &mut Batch<'_>,
    requests: usize,
    timings_end: usize,
) {
    let errors = next_point(batch, ERRORS, parts.timestamp);
    errors.tags.push((
        Text::Static("error_code"),
        extras
            .error_code
            .take()
            .unwrap_or(TagValue::UInt(u64::from(parts.status))),
    ));
    errors
        .fields
        .push((Text::Static("request_id"), FieldValue::Str(request_id)));
    let (before, after) = batch.points.split_at_mut(requests + 1);
    let (requests, errors) = (&before[requests], &mut after[0]);
    // `error_code` sorts before the other built-in tags.
    errors.tags.extend(requests.tags.iter().cloned());
    errors
        .fields
        .extend(requests.fields[2..timings_end].iter().cloned());
    errors.fields.append(&mut extras.fields);
}

/// Writes a plain request's `requests` line into each dialect's lines; false when
/// there are none or the encoder wants the general path for it (nothing written then).
fn write_line(parts: &Parts<'_>, request_id: Option<&str>, batch: &mut Batch<'_>) -> bool {
    if batch.direct.iter().all(Option::is_none) {
        return false;
    }
    let line = RequestLine {
        route: parts.route,
        service: &parts.service,
        status: parts.status,
        request_id: match request_id {
            Some(id) => RequestIdField::Given(id),
            None => RequestIdField::Generated(crate::random::random_u128()),
        },
        execution_time: parts.execution_time,
        timings: parts.timings,
        timestamp_ns: parts.timestamp,
    };
    let mut earlier: Option<(&mut Lines, usize)> = None;
    for (lines, encoder) in batch.direct.iter_mut().zip(batch.encoders.iter_mut()) {
        let Some(lines) = lines else { continue };
        let mark = lines.body.len();
        if !encoder.encode_request(&line, &mut lines.body) {
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

/// Puts `point` at `points[used]` (replacing a slot left from an earlier batch).
fn place(batch: &mut Batch<'_>, point: Point) {
    if batch.used == batch.points.len() {
        batch.points.push(point);
    } else {
        batch.points[batch.used] = point;
    }
    batch.used += 1;
}

/// The next point of a batch: a reused slot (emptied, capacity kept) or a new one.
fn next_point<'a>(batch: &'a mut Batch<'_>, series: &'static str, timestamp: i64) -> &'a mut Point {
    if batch.used == batch.points.len() {
        place(batch, Point::at(series, timestamp));
        return &mut batch.points[batch.used - 1];
    }
    let point = &mut batch.points[batch.used];
    batch.used += 1;
    point.series = Text::Static(series);
    point.timestamp_ns = timestamp;
    point.tags.clear();
    point.fields.clear();
    point
}
