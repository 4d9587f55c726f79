//! The request context: what a monitored request collects while it runs.
//!
//! Anything a handler calls, at any depth, can add tags, fields, timings and estimator
//! counts to the request being served ([`add_tag`], [`add_field`], [`add_time`],
//! [`record_usages`](crate::record_usages)). The context lives in a thread-local slot
//! that the monitored future fills each time it is polled and empties afterwards, so
//! it follows the request across awaits and threads without any allocation. Outside a
//! monitored request every call is a cheap no-op.

use std::cell::RefCell;
use std::future::Future;
use std::thread::LocalKey;
use std::time::Duration;

use quanta::Instant;

use crate::point::{FieldValue, TagValue, Text};

/// What a request collected beyond the built-in tags and fields. Allocated on first use.
#[derive(Debug, Default)]
pub(crate) struct Extras {
    pub(crate) tags: Vec<(Text, TagValue)>,
    pub(crate) fields: Vec<(Text, FieldValue)>,
    pub(crate) usages: Vec<(&'static str, u64)>,
}

/// The per-request slot; `extras` stays `None` until a handler adds something.
#[derive(Debug, Default)]
pub(crate) struct RequestContext {
    pub(crate) extras: Option<Box<Extras>>,
}

impl RequestContext {
    fn extras(&mut self) -> &mut Extras {
        self.extras
            .get_or_insert_with(|| POOL.pop().unwrap_or_default())
    }
}

/// Emptied `Extras` (their vectors keep their capacity) handed back by the flusher, so
/// that a request adding tags or timings allocates nothing in the steady state.
static POOL: std::sync::LazyLock<crossbeam_queue::ArrayQueue<Box<Extras>>> =
    std::sync::LazyLock::new(|| crossbeam_queue::ArrayQueue::new(4096));

/// Returns a request's extras to the pool (the flusher calls this).
pub(crate) fn recycle(mut extras: Box<Extras>) {
    extras.tags.clear();
    extras.fields.clear();
    extras.usages.clear();
    // Keep pooled boxes small: an unusually large request's vectors are not kept.
    if extras.tags.capacity() <= 16
        && extras.fields.capacity() <= 32
        && extras.usages.capacity() <= 32
    {
        let _ = POOL.push(extras);
    }
}

thread_local! {
    static CURRENT: RefCell<Option<RequestContext>> = const { RefCell::new(None) };
    /// A request id handed down by the tower layer for the next monitored request.
    static INCOMING_ID: RefCell<Option<Text>> = const { RefCell::new(None) };
}

/// Moves a value into a thread-local slot for the duration of a poll and back out
/// afterwards, also when the poll panics.
pub(crate) struct SlotGuard<'a, T: 'static> {
    key: &'static LocalKey<RefCell<Option<T>>>,
    home: &'a mut Option<T>,
    previous: Option<T>,
    panicked: Option<&'a mut bool>,
}

impl<'a, T: 'static> SlotGuard<'a, T> {
    pub(crate) fn enter(
        key: &'static LocalKey<RefCell<Option<T>>>,
        home: &'a mut Option<T>,
        panicked: Option<&'a mut bool>,
    ) -> Self {
        let value = home.take();
        let previous = key.with(|slot| slot.replace(value));
        SlotGuard {
            key,
            home,
            previous,
            panicked,
        }
    }
}

impl<T: 'static> Drop for SlotGuard<'_, T> {
    fn drop(&mut self) {
        let previous = self.previous.take();
        *self.home = self.key.with(|slot| slot.replace(previous));
        if let Some(flag) = self.panicked.as_deref_mut() {
            if std::thread::panicking() {
                *flag = true;
            }
        }
    }
}

pub(crate) fn enter_request<'a>(
    home: &'a mut Option<RequestContext>,
    panicked: &'a mut bool,
) -> SlotGuard<'a, RequestContext> {
    SlotGuard::enter(&CURRENT, home, Some(panicked))
}

fn with_context(f: impl FnOnce(&mut RequestContext)) {
    // `try_with`: during thread teardown the slot is gone and this is a no-op.
    let _ = CURRENT.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            if let Some(ctx) = slot.as_mut() {
                f(ctx);
            }
        }
    });
}

/// True while a monitored request is being polled on this thread.
pub fn in_request() -> bool {
    CURRENT
        .try_with(|slot| slot.try_borrow().map(|s| s.is_some()).unwrap_or(false))
        .unwrap_or(false)
}

/// Adds a tag to the current request's `requests` and `errors` points (a later tag with
/// the same key replaces it). A no-op outside a monitored request.
///
/// ```
/// monitoring_runtime::add_tag("handler_id", String::from("5f3d"));
/// ```
pub fn add_tag(key: impl Into<Text>, value: impl Into<TagValue>) {
    with_context(|ctx| ctx.extras().tags.push((key.into(), value.into())));
}

/// Sets a field of the current request's `requests` and `errors` points (a later value
/// for the same key replaces it). A no-op outside a monitored request.
pub fn add_field(key: impl Into<Text>, value: impl Into<FieldValue>) {
    with_context(|ctx| {
        let key = key.into();
        let value = value.into();
        let fields = &mut ctx.extras().fields;
        match fields.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => fields.push((key, value)),
        }
    });
}

/// Adds `elapsed` (as float seconds) to field `key` of the current request: repeated
/// calls for the same key accumulate. A no-op outside a monitored request.
pub fn add_time(key: impl Into<Text>, elapsed: Duration) {
    with_context(|ctx| {
        let key = key.into();
        let secs = elapsed.as_secs_f64();
        let fields = &mut ctx.extras().fields;
        match fields.iter_mut().find(|(k, _)| *k == key) {
            Some((_, FieldValue::Float(total))) => *total += secs,
            Some(slot) => slot.1 = FieldValue::Float(secs),
            None => fields.push((key, FieldValue::Float(secs))),
        }
    });
}

/// Adds counter values to the current request's `usages_statistic` point. Returns false
/// (and does nothing) outside a monitored request.
/// Calls its argument with each `(counter name, value)`.
pub(crate) type CounterVisitor<'a> = &'a mut dyn FnMut(&mut dyn FnMut(&'static str, u64));

pub(crate) fn add_usages(counters: CounterVisitor<'_>) -> bool {
    let mut added = false;
    with_context(|ctx| {
        added = true;
        let usages = &mut ctx.extras().usages;
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

/// Times a scope into a field of the current request: the elapsed time is added when
/// the timer is dropped (so early returns, `?` and cancellation are all covered).
/// This is what `#[timed_field("name")]` expands to.
///
/// ```
/// let _timer = monitoring_runtime::FieldTimer::start("save_warps_time");
/// // ... the work to time ...
/// ```
#[must_use = "the time is recorded when the timer is dropped"]
#[derive(Debug)]
pub struct FieldTimer {
    key: &'static str,
    start: Instant,
}

impl FieldTimer {
    /// Starts timing into field `key`.
    #[inline]
    pub fn start(key: &'static str) -> Self {
        FieldTimer {
            key,
            start: Instant::now(),
        }
    }
}

impl Drop for FieldTimer {
    #[inline]
    fn drop(&mut self) {
        if in_request() {
            add_time(self.key, self.start.elapsed());
        }
    }
}

/// Times `future` into field `key` of the current request. Only the time spent until
/// it completes counts, polled or not (wall time), like `#[timed_field]`.
///
/// ```
/// # async fn demo() {
/// let n = monitoring_runtime::time_field("load_images_for_processing_time", async { 42 }).await;
/// # }
/// ```
pub async fn time_field<F: Future>(key: &'static str, future: F) -> F::Output {
    let _timer = FieldTimer::start(key);
    future.await
}

/// Set once the tower layer is used; until then no request looks for a handed-down id.
static LAYER_USED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Takes the request id the tower layer handed down, if any.
#[inline]
pub(crate) fn take_incoming_id() -> Option<Text> {
    if !LAYER_USED.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    INCOMING_ID
        .try_with(|slot| slot.try_borrow_mut().ok().and_then(|mut s| s.take()))
        .ok()
        .flatten()
}

#[cfg_attr(not(feature = "axum"), allow(dead_code))]
pub(crate) fn enter_incoming_id(home: &mut Option<Text>) -> SlotGuard<'_, Text> {
    LAYER_USED.store(true, std::sync::atomic::Ordering::Relaxed);
    SlotGuard::enter(&INCOMING_ID, home, None)
}
