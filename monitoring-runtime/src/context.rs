//! The request context: what a monitored request collects while it runs.
//!
//! Anything a handler calls, at any depth, can add tags, fields, timings and estimator
//! counts to the request being served ([`add_tag`], [`add_field`], [`add_time`],
//! [`record_usages`](crate::record_usages)). The context lives in thread-local slots
//! that the monitored future fills each time it is polled and empties afterwards (a
//! flags byte; the timings and extras only once the request has some), so it follows
//! the request across awaits and threads.
//! Timings are kept inline ([`crate::timing`]); tags, fields and counters go into an
//! "extras" box taken from a pool the flusher refills, so they allocate only while the
//! pool is empty. Outside a monitored request every call is a cheap no-op.

use std::cell::{Cell, RefCell};
use std::thread::LocalKey;
use std::time::Duration;

use crate::point::{FieldValue, TagValue, Text};
use std::sync::Arc;

use crate::record::{
    add_to_slots, extras_of, Extras, Link, RequestContext, RouteMeta, Times, SLOTS,
};

/// [`FLAGS`]: a monitored request is being polled on this thread.
const ACTIVE: u8 = 1;
/// [`FLAGS`]: its extras are in [`EXTRAS`] (only once it has added something, so a
/// request that adds nothing never touches that slot).
const EXTRAS_HERE: u8 = 2;
/// [`FLAGS`]: the request being polled is the one `MonitoringLayer` records at the
/// service boundary: a `#[monitored]` handler inside it records no point of its own.
const BOUNDARY: u8 = 4;
/// [`FLAGS`]: its timings are in [`TIMES`] (only once it has timed something, so a
/// request that times nothing never touches that slot).
const TIMES_HERE: u8 = 8;
/// Either slot holds something of the request being polled.
const HERE: u8 = EXTRAS_HERE | TIMES_HERE;

// The request being polled on this thread: its flags, and the two slots a request
// moves into only once it has something to put there (a request that times and adds
// nothing enters and leaves with one byte swapped). When [`FLAGS`] lacks a slot's bit,
// the slot is empty.
thread_local! {
    static FLAGS: Cell<u8> = const { Cell::new(0) };
    /// The inline timings of the request being polled, once [`FLAGS`] has
    /// [`TIMES_HERE`].
    static TIMES: Cell<[u64; SLOTS]> = const { Cell::new(Times::EMPTY.0) };
    /// The extras of the request being polled, once [`FLAGS`] has [`EXTRAS_HERE`].
    static EXTRAS: Cell<Option<Box<Extras>>> = const { Cell::new(None) };
}

thread_local! {
    /// The route of the request `MonitoringLayer` is polling on this thread.
    static BOUNDARY_ROUTE: Cell<Option<&'static RouteMeta>> = const { Cell::new(None) };
}

/// Makes the boundary request's route known to handlers inside it for one poll.
#[cfg(any(feature = "axum", feature = "actix"))]
pub(crate) struct BoundaryRoute(Option<&'static RouteMeta>);

#[cfg(any(feature = "axum", feature = "actix"))]
impl BoundaryRoute {
    #[inline]
    pub(crate) fn enter(route: &'static RouteMeta) -> Self {
        BoundaryRoute(BOUNDARY_ROUTE.replace(Some(route)))
    }
}

#[cfg(any(feature = "axum", feature = "actix"))]
impl Drop for BoundaryRoute {
    #[inline]
    fn drop(&mut self) {
        BOUNDARY_ROUTE.set(self.0);
    }
}

/// The route of the boundary request being polled on this thread, if any.
pub(crate) fn boundary_route() -> Option<&'static RouteMeta> {
    BOUNDARY_ROUTE.get()
}

/// Moves a request's context into this thread's slots for one poll and back out
/// afterwards, also when the poll panics. A request with nothing in its context, under
/// no request that has, swaps the flags byte and nothing else. Otherwise each slot that
/// either side has something in is swapped with the request's own field, out of line:
/// the request's timings or extras go in, and what the enclosing request had there
/// waits in the field until the second swap puts both back.
pub(crate) struct RequestGuard<'a> {
    home: &'a mut RequestContext,
    previous_flags: u8,
    /// Set when the guard is dropped without [`leave`](Self::leave): unwinding.
    panicked: &'a mut bool,
    left: bool,
}

#[inline]
pub(crate) fn enter_request<'a>(
    home: &'a mut RequestContext,
    panicked: &'a mut bool,
    boundary: bool,
) -> RequestGuard<'a> {
    let previous_flags = FLAGS.replace(ACTIVE | if boundary { BOUNDARY } else { 0 });
    if previous_flags & HERE != 0 || home.extras.is_some() || !home.times.is_empty() {
        move_in(home, previous_flags);
    }
    RequestGuard {
        home,
        previous_flags,
        panicked,
        left: false,
    }
}

/// The slow half of [`enter_request`]: the request's bits into the flags, then the
/// slots either side uses swapped.
#[inline(never)]
fn move_in(home: &mut RequestContext, previous_flags: u8) {
    let extras = if home.extras.is_some() {
        EXTRAS_HERE
    } else {
        0
    };
    let here = extras | if home.times.is_empty() { 0 } else { TIMES_HERE };
    FLAGS.set(FLAGS.get() | here);
    swap_slots(home, previous_flags | here);
}

/// Swaps the thread's slots named in `which` with the request's own fields.
#[inline(never)]
fn swap_slots(home: &mut RequestContext, which: u8) {
    if which & TIMES_HERE != 0 {
        TIMES.with(|slots| {
            // Slot by slot: no copy of the whole array on the stack.
            let slots: &Cell<[u64]> = slots;
            for (slot, mine) in slots.as_slice_of_cells().iter().zip(&mut home.times.0) {
                *mine = slot.replace(*mine);
            }
        });
    }
    if which & EXTRAS_HERE != 0 {
        swap_extras(home);
    }
}

/// The extras half of [`swap_slots`], apart so that the timings half needs no stack.
#[inline(never)]
fn swap_extras(home: &mut RequestContext) {
    let extras = home.extras.take();
    // During thread teardown the slot is gone and what was added is lost.
    home.extras = EXTRAS.try_with(|slot| slot.replace(extras)).unwrap_or(None);
}

impl RequestGuard<'_> {
    /// Restores the slots after a poll that returned (no panic).
    #[inline]
    pub(crate) fn leave(mut self) {
        self.left = true;
    }
}

impl Drop for RequestGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        let flags = FLAGS.replace(self.previous_flags);
        // `flags` holds the bits the request had on entry and any it gained since.
        if (flags | self.previous_flags) & HERE != 0 {
            swap_slots(self.home, flags | self.previous_flags);
        }
        if !self.left {
            *self.panicked = true;
        }
    }
}

/// Moves a value into a thread-local slot for the duration of a poll and back out
/// afterwards, also when the poll panics.
pub(crate) struct SlotGuard<'a, T: 'static> {
    key: &'static LocalKey<RefCell<Option<T>>>,
    home: &'a mut Option<T>,
    previous: Option<T>,
}

impl<'a, T: 'static> SlotGuard<'a, T> {
    pub(crate) fn enter(
        key: &'static LocalKey<RefCell<Option<T>>>,
        home: &'a mut Option<T>,
    ) -> Self {
        let value = home.take();
        let previous = key.with(|slot| slot.replace(value));
        SlotGuard {
            key,
            home,
            previous,
        }
    }
}

impl<T: 'static> Drop for SlotGuard<'_, T> {
    fn drop(&mut self) {
        let previous = self.previous.take();
        *self.home = self.key.with(|slot| slot.replace(previous));
    }
}

/// Calls `f` with the current request's extras (taken from the pool on first use); a
/// no-op outside a request.
fn with_context(f: impl FnOnce(&mut Extras)) {
    let flags = FLAGS.get();
    if flags & ACTIVE == 0 {
        return;
    }
    if flags & EXTRAS_HERE == 0 {
        FLAGS.set(flags | EXTRAS_HERE);
    }
    let _ = EXTRAS.try_with(|slot| {
        let mut extras = slot.take();
        f(extras_of(&mut extras));
        slot.set(extras);
    });
}

/// Adds `ns` to timed field `id` of the current request; false outside a request or
/// when every inline slot holds another field.
#[inline]
pub(crate) fn add_timing(id: u16, ns: u64) -> bool {
    let flags = FLAGS.get();
    if flags & ACTIVE == 0 {
        return false;
    }
    let added = TIMES.with(|slots| {
        let slots: &Cell<[u64]> = slots;
        add_to_slots(slots.as_slice_of_cells(), id, ns)
    });
    if flags & TIMES_HERE == 0 {
        FLAGS.set(flags | TIMES_HERE);
    }
    added
}

/// The link to the current request for work it spawns (made on first use, so a
/// request that spawns nothing pays nothing); `None` outside a request.
pub(crate) fn link() -> Option<Arc<Link>> {
    let mut link = None;
    with_context(|extras| link = Some(extras.link.get_or_insert_with(Link::new).clone()));
    link
}

/// True while the request `MonitoringLayer` records is being polled on this thread.
#[inline]
pub(crate) fn in_boundary_request() -> bool {
    FLAGS.get() & BOUNDARY != 0
}

/// True while a monitored request is being polled on this thread.
#[inline]
pub fn in_request() -> bool {
    FLAGS.get() & ACTIVE != 0
}

/// Adds a tag to the current request's `requests` and `errors` points (a later tag with
/// the same key replaces it). A no-op outside a monitored request.
///
/// ```
/// monitoring_runtime::add_tag("handler_id", String::from("5f3d"));
/// ```
pub fn add_tag(key: impl Into<Text>, value: impl Into<TagValue>) {
    if !in_request() {
        return;
    }
    let (key, value) = (key.into(), value.into());
    with_context(|extras| extras.tags.push((key, value)));
}

/// Sets a field of the current request's `requests` and `errors` points (a later value
/// for the same key replaces it). A no-op outside a monitored request.
pub fn add_field(key: impl Into<Text>, value: impl Into<FieldValue>) {
    if !in_request() {
        return;
    }
    let (key, value) = (key.into(), value.into());
    with_context(|extras| {
        let fields = &mut extras.fields;
        match fields.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => fields.push((key, value)),
        }
    });
}

/// Adds `elapsed` (as float seconds) to field `key` of the current request: repeated
/// calls for the same key accumulate. A no-op outside a monitored request.
pub fn add_time(key: impl Into<Text>, elapsed: Duration) {
    if !in_request() {
        return;
    }
    let key = key.into();
    let secs = elapsed.as_secs_f64();
    with_context(|extras| {
        let fields = &mut extras.fields;
        match fields.iter_mut().find(|(k, _)| *k == key) {
            Some((_, FieldValue::Float(total))) => *total += secs,
            Some(slot) => slot.1 = FieldValue::Float(secs),
            None => fields.push((key, FieldValue::Float(secs))),
        }
    });
}

/// Sets the error code of the current request's `errors` point (tag `error_code`,
/// default: the status code), for a handler that fails without `#[monitored]`'s
/// [`MonitoredError`](crate::MonitoredError), e.g. under
/// [`MonitoringLayer`](crate::MonitoringLayer). A no-op outside a monitored request.
pub fn set_error_code(code: impl Into<TagValue>) {
    if !in_request() {
        return;
    }
    let code = code.into();
    with_context(|extras| extras.error_code = Some(code));
}

/// Adds counter values to the current request's `usages_statistic` point. Returns false
/// (and does nothing) outside a monitored request.
/// Calls its argument with each `(counter name, value)`.
pub(crate) type CounterVisitor<'a> = &'a mut dyn FnMut(&mut dyn FnMut(&'static str, u64));

pub(crate) fn add_usages(counters: CounterVisitor<'_>) -> bool {
    let mut added = false;
    with_context(|extras| {
        added = true;
        let usages = &mut extras.usages;
        counters(&mut |name, n| {
            if n == 0 {
                return;
            }
            match usages.iter_mut().find(|(k, _)| *k == name) {
                Some((_, total)) => *total = total.saturating_add(n),
                None => usages.push((name, n)),
            }
        });
    });
    added
}
