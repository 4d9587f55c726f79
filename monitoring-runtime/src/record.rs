//! What the request path hands to the flusher: a [`Record`] per finished request (or
//! point recorded directly), the parts it carries (inline timings, the extras box and
//! its pool, the timed-field name registry) and the bounded lock-free queue it travels
//! in, with the counters of what was recorded and dropped before the flusher.
//!
//! A request record is kept small (one queue slot is copied in and out per request):
//! two raw clock readings, the status, up to [`SLOTS`] timings inline, the request id if
//! one was given, and `extras` only when the handler added tags, fields or counters.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crossbeam_queue::ArrayQueue;
use crossbeam_utils::CachePadded;
use tokio::sync::Notify;

use crate::point::{FieldValue, Point, TagValue, Text};
use crate::stats::{DropReason, MonitorCounters};

/// What the macro knows about a handler at compile time.
#[derive(Debug)]
pub struct RouteMeta {
    /// `METHOD:/resource`.
    pub route: &'static str,
    /// The handler's crate name (the default `service` tag).
    pub crate_name: &'static str,
    /// The router's route last found to agree with this one (its address), or
    /// [`RouteMeta::DISAGREEMENT_LOGGED`]: a nested request compares routes only when
    /// the router's is new to it.
    pub(crate) router_check: AtomicUsize,
}

impl RouteMeta {
    /// The route `METHOD:/resource` of a handler in crate `crate_name`.
    pub const fn new(route: &'static str, crate_name: &'static str) -> Self {
        RouteMeta {
            route,
            crate_name,
            router_check: AtomicUsize::new(0),
        }
    }

    /// [`RouteMeta::router_check`] once a disagreement has been logged.
    pub(crate) const DISAGREEMENT_LOGGED: usize = 1;

    /// `METHOD` and `/resource`.
    pub(crate) fn parts(&self) -> (&'static str, &'static str) {
        self.route.split_once(':').unwrap_or(("", self.route))
    }
}

/// The route of a handler mounted for several methods (`route = "GET|POST:/x"`): the
/// one of `method`, else the first (axum serves `HEAD` with the `GET` handler).
#[doc(hidden)]
pub fn route_for_method(routes: &'static [RouteMeta], method: &str) -> &'static RouteMeta {
    routes
        .iter()
        .find(|meta| meta.parts().0 == method)
        .unwrap_or(&routes[0])
}

/// What travels from the request path to the flusher.
#[derive(Debug)]
pub(crate) enum Record {
    Request(RequestRecord),
    Point(Point),
}

impl Record {
    pub(crate) fn point_count(&self) -> u64 {
        match self {
            Record::Request(r) => r.point_count(),
            Record::Point(_) => 1,
        }
    }
}

/// One finished request.
#[derive(Debug)]
pub(crate) struct RequestRecord {
    pub(crate) route: &'static RouteMeta,
    /// Raw clock readings (`crate::clock`), scaled by the flusher.
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) status: u16,
    pub(crate) times: Times,
    /// The request id given (argument or header); `None`: in luna-handlers' style,
    /// `<unix seconds>,<uuid4>`, drawn and formatted by the flusher, so the request path
    /// does neither.
    pub(crate) request_id: Option<Text>,
    pub(crate) extras: Option<Box<Extras>>,
}

impl RequestRecord {
    /// Points this record becomes (`requests`, `errors`, `usages_statistic`).
    pub(crate) fn point_count(&self) -> u64 {
        1 + u64::from(self.status >= 400)
            + u64::from(self.extras.as_ref().is_some_and(|e| !e.usages.is_empty()))
    }
}

/// What a request collected beyond the built-in tags and fields. Allocated on first use.
#[derive(Debug, Default)]
pub(crate) struct Extras {
    pub(crate) tags: Vec<(Text, TagValue)>,
    pub(crate) fields: Vec<(Text, FieldValue)>,
    pub(crate) usages: Vec<(&'static str, u64)>,
    /// The error code of a failed request, when the handler gave one.
    pub(crate) error_code: Option<TagValue>,
    /// Where work the request spawned hands over what it collected (made when the
    /// request first spawns something).
    pub(crate) link: Option<Arc<Link>>,
}

/// What a request collected, kept by its future between polls: timings inline;
/// `extras` stays `None` until a handler adds something else.
#[derive(Debug, Default)]
pub(crate) struct RequestContext {
    pub(crate) times: Times,
    pub(crate) extras: Option<Box<Extras>>,
}

impl RequestContext {
    /// True when nothing was collected.
    pub(crate) fn is_empty(&self) -> bool {
        self.times == Times::EMPTY && self.extras.is_none()
    }
}

/// What tasks a request spawned (`monitoring::spawn`, `spawn_blocking`, `in_request`)
/// collected for it, handed over after each of their polls with the raw clock reading
/// of the hand-over. The flusher merges what was handed over before the request ended
/// and closes the link; the rest, and anything handed over later, is left out and
/// counted ([`late_additions`]). The request path itself never touches the link.
#[derive(Debug, Default)]
pub(crate) struct Link {
    pending: Mutex<Option<Vec<(u64, RequestContext)>>>,
}

/// Additions of spawned work that arrived after their request had finished, in this
/// process.
static LATE: AtomicU64 = AtomicU64::new(0);

/// See [`Link`]: additions that arrived too late, process-wide.
pub(crate) fn late_additions() -> u64 {
    LATE.load(Ordering::Relaxed)
}

impl Link {
    pub(crate) fn new() -> Arc<Link> {
        Arc::new(Link {
            pending: Mutex::new(Some(Vec::new())),
        })
    }

    /// Hands over what a spawned task collected; counted and dropped once the request
    /// has finished.
    pub(crate) fn deliver(&self, collected: RequestContext) {
        if collected.is_empty() {
            return;
        }
        let at = crate::clock::raw();
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        match pending.as_mut() {
            Some(pending) => pending.push((at, collected)),
            None => {
                drop(pending);
                late(&collected);
            }
        }
    }

    /// Closes the link: what was handed over before `end` (a raw clock reading), for
    /// the request to merge; what came later is counted as late.
    fn close(&self, end: u64) -> Vec<RequestContext> {
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let mut merged = Vec::new();
        for (at, collected) in pending.unwrap_or_default() {
            if at <= end {
                merged.push(collected);
            } else {
                late(&collected);
            }
        }
        merged
    }
}

/// Counts (and logs once) additions that came after their request finished.
#[cold]
fn late(collected: &RequestContext) {
    let extras = collected.extras.as_deref();
    let n = collected.times.iter().count()
        + extras.map_or(0, |e| e.tags.len() + e.fields.len() + e.usages.len());
    if LATE.fetch_add(n as u64, Ordering::Relaxed) == 0 {
        tracing::warn!(
            target: "monitoring",
            "work spawned by a request added tags, fields or timings after the request had \
             finished: they are left out (counted as late_additions in stats; logged once)"
        );
    }
}

/// Merges into a finished request (the flusher's side) what its spawned work handed
/// over before `end`: tags are added, timings and float fields accumulate, other fields
/// and counters as their own `add_*` calls would, the last error code set wins.
pub(crate) fn merge_spawned(
    times: &mut Times,
    extras: &mut Option<Box<Extras>>,
    end: u64,
    names: &mut Vec<&'static str>,
) {
    let Some(link) = extras.as_mut().and_then(|e| e.link.take()) else {
        return;
    };
    for child in link.close(end) {
        for (id, ns) in child.times.iter() {
            if !times.add(id, ns) {
                let name = field_name(id, names);
                add_float(extras_of(extras), name, ns as f64 / 1e9);
            }
        }
        let Some(mut child) = child.extras else {
            continue;
        };
        let extras = extras_of(extras);
        extras.tags.append(&mut child.tags);
        for (key, value) in child.fields.drain(..) {
            match (extras.fields.iter_mut().find(|(k, _)| *k == key), value) {
                (Some((_, FieldValue::Float(total))), FieldValue::Float(x)) => *total += x,
                (Some(slot), value) => slot.1 = value,
                (None, value) => extras.fields.push((key, value)),
            }
        }
        for (name, n) in child.usages.drain(..) {
            match extras.usages.iter_mut().find(|(k, _)| *k == name) {
                Some((_, total)) => *total = total.saturating_add(n),
                None => extras.usages.push((name, n)),
            }
        }
        if child.error_code.is_some() {
            extras.error_code = child.error_code.take();
        }
    }
}

fn add_float(extras: &mut Extras, name: &'static str, secs: f64) {
    match extras.fields.iter_mut().find(|(k, _)| k.as_str() == name) {
        Some((_, FieldValue::Float(total))) => *total += secs,
        _ => extras
            .fields
            .push((Text::Static(name), FieldValue::Float(secs))),
    }
}

/// The extras in `slot`, taken from the pool (or allocated) on first use.
pub(crate) fn extras_of(slot: &mut Option<Box<Extras>>) -> &mut Extras {
    slot.get_or_insert_with(|| POOL.pop().unwrap_or_default())
}

/// Emptied `Extras` (their vectors keep their capacity) handed back by the flusher, so
/// that a request adding tags or timings allocates nothing in the steady state.
static POOL: std::sync::LazyLock<ArrayQueue<Box<Extras>>> =
    std::sync::LazyLock::new(|| ArrayQueue::new(4096));

/// Returns a request's extras to the pool (the flusher calls this).
pub(crate) fn recycle(mut extras: Box<Extras>) {
    extras.tags.clear();
    extras.fields.clear();
    extras.usages.clear();
    extras.error_code = None;
    extras.link = None;
    // Keep pooled boxes small: an unusually large request's vectors are not kept.
    if extras.tags.capacity() <= 16
        && extras.fields.capacity() <= 32
        && extras.usages.capacity() <= 32
    {
        let _ = POOL.push(extras);
    }
}

/// Timing slots carried inline by every request.
pub(crate) const SLOTS: usize = 3;
const NS_BITS: u32 = 48;
pub(crate) const NS_MAX: u64 = (1 << NS_BITS) - 1;

/// A request's inline timings: `id << 48 | nanoseconds` per slot, 0 when free. Ids
/// come from [`register_field`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Times(pub(crate) [u64; SLOTS]);

impl Times {
    pub(crate) const EMPTY: Times = Times([0; SLOTS]);

    /// True when no slot is used (slots are used in order).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.0[0] == 0
    }

    /// Adds `ns` to field `id`; false when every slot holds another field.
    #[inline]
    pub(crate) fn add(&mut self, id: u16, ns: u64) -> bool {
        let slots: &Cell<[u64]> = Cell::from_mut(&mut self.0);
        add_to_slots(slots.as_slice_of_cells(), id, ns)
    }

    /// `(field id, nanoseconds)` of each used slot, in first-use order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        self.0
            .iter()
            .take_while(|s| **s != 0)
            .map(|s| ((s >> NS_BITS) as u16, s & NS_MAX))
    }
}

/// [`Times::add`] on slots held in cells: the thread's slot is updated in place, not
/// copied out and back.
#[inline]
pub(crate) fn add_to_slots(slots: &[Cell<u64>], id: u16, ns: u64) -> bool {
    let tag = u64::from(id) << NS_BITS;
    for slot in slots {
        let value = slot.get();
        if value == 0 {
            slot.set(tag | ns.min(NS_MAX));
            return true;
        }
        if value & !NS_MAX == tag {
            slot.set(tag | (value & NS_MAX).saturating_add(ns).min(NS_MAX));
            return true;
        }
    }
    false
}

/// Timed-field names by id - 1.
static NAMES: RwLock<Vec<&'static str>> = RwLock::new(Vec::new());

/// The id of timed field `name` (fields of the same name share one, so they
/// accumulate together); 0 when the registry is full.
#[cold]
pub(crate) fn register_field(name: &'static str) -> u16 {
    let mut names = NAMES.write().unwrap_or_else(|e| e.into_inner());
    let id = match names.iter().position(|n| *n == name) {
        Some(i) => i + 1,
        None if names.len() < usize::from(u16::MAX) => {
            names.push(name);
            names.len()
        }
        None => return 0,
    };
    id as u16
}

/// The name of field `id` (the flusher's side), through the flusher's copy of the
/// registry.
pub(crate) fn field_name(id: u16, cache: &mut Vec<&'static str>) -> &'static str {
    let index = usize::from(id) - 1;
    if index >= cache.len() {
        cache.clone_from(&NAMES.read().unwrap_or_else(|e| e.into_inner()));
    }
    cache[index]
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_accumulate_per_field_and_saturate() {
        let mut t = Times::default();
        assert!(t.add(7, 5));
        assert!(t.add(9, 1));
        assert!(t.add(7, 10));
        assert!(t.add(3, NS_MAX));
        assert!(t.add(3, 1));
        assert!(!t.add(4, 1), "three slots, a fourth field does not fit");
        assert_eq!(t.iter().collect::<Vec<_>>(), [(7, 15), (9, 1), (3, NS_MAX)]);
    }
}
