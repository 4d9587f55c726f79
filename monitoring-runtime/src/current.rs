//! The current monitor: the process-wide default ([`Monitor::install_global`]) or one
//! set for a future ([`Monitor::scope`]), and how the request path finds it cheaply.
//!
//! Like tracing-core's dispatcher: the global is kept behind a lock that the request
//! path never takes. Each thread caches a copy, refreshed when the generation counter
//! in [`crate::switches`] moves; a scoped monitor lives in a thread-local slot that the
//! scoped future fills while it is polled.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::RwLock;
use std::task::{Context, Poll};

use crate::context::SlotGuard;
use crate::monitor::Monitor;
use crate::point::Point;
use crate::record::{Record, RequestRecord};
use crate::switches;

static GLOBAL: RwLock<Option<Monitor>> = RwLock::new(None);

thread_local! {
    static CACHED: RefCell<(u64, Option<Monitor>)> = const { RefCell::new((0, None)) };
    static SCOPED: RefCell<Option<Monitor>> = const { RefCell::new(None) };
}

impl Monitor {
    /// Makes this monitor the process-wide default that `#[monitored]` handlers record
    /// into (replacing any previous one).
    pub fn install_global(&self) {
        *GLOBAL.write().unwrap_or_else(|e| e.into_inner()) = Some(self.clone());
        switches::set_global(self.is_enabled(), !self.is_enabled());
    }

    /// Removes the process-wide default monitor.
    pub fn uninstall_global() {
        *GLOBAL.write().unwrap_or_else(|e| e.into_inner()) = None;
        switches::set_global(false, false);
    }

    /// Runs `future` with this monitor as the current one (overriding the global
    /// default) on whatever thread polls it. Useful in tests and for services hosting
    /// several monitors.
    pub fn scope<F: Future>(&self, future: F) -> Scoped<F> {
        switches::use_scopes();
        Scoped {
            inner: future,
            monitor: Some(self.clone()),
        }
    }
}

/// Calls `f` with the current monitor: the scoped one, else the global default. The
/// global is cached per thread, so the request path reads one atomic, not a lock.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Monitor>) -> R) -> R {
    let mut f = Some(f);
    let mut call = |m: Option<&Monitor>| (f.take().expect("called once"))(m);
    if switches::scopes_used() {
        if let Ok(Some(r)) = SCOPED.try_with(|s| {
            let s = s.try_borrow().ok()?;
            s.as_ref().map(|m| call(Some(m)))
        }) {
            return r;
        }
    }
    let generation = switches::generation();
    if let Ok(Some(r)) = CACHED.try_with(|cache| {
        let mut cache = cache.try_borrow_mut().ok()?;
        Some(call(cached_global(&mut cache, generation)))
    }) {
        return r;
    }
    // Thread teardown (or re-entry): read the global directly.
    call(GLOBAL.read().unwrap_or_else(|e| e.into_inner()).as_ref())
}

/// The thread's copy of the global monitor, refreshed when the global has changed.
/// Always in line, for the reason `RecordQueue::push_with` gives.
#[inline(always)]
fn cached_global(cache: &mut (u64, Option<Monitor>), generation: u64) -> Option<&Monitor> {
    if cache.0 != generation {
        let global = GLOBAL.read().unwrap_or_else(|e| e.into_inner()).clone();
        *cache = (generation, global);
    }
    cache.1.as_ref()
}

/// Where a request will be recorded, decided when it starts.
pub(crate) enum Target {
    /// The process-wide default (no reference kept: the request path stays free of
    /// shared reference counts).
    Global,
    /// A monitor installed with [`Monitor::scope`]; kept so that a request dropped
    /// outside the scope (cancelled, panicked) is still recorded into it.
    Scoped(Monitor),
}

/// The target of a request starting now, or `None` when nothing records.
#[inline]
pub(crate) fn request_target() -> Option<Target> {
    let (scopes, global) = switches::targets();
    if scopes {
        let scoped = SCOPED.try_with(|s| s.try_borrow().ok().and_then(|s| s.clone()));
        if let Ok(Some(scoped)) = scoped {
            return scoped.is_enabled().then_some(Target::Scoped(scoped));
        }
    }
    global.then_some(Target::Global)
}

/// Records the request that `make` describes into its target (always in line, for
/// the reason `RecordQueue::push_with` gives).
#[inline(always)]
pub(crate) fn record_request(target: Target, make: impl FnOnce() -> RequestRecord) {
    match target {
        Target::Scoped(m) => m.push_with(|| Record::Request(make())),
        Target::Global => push_global(|| Record::Request(make())),
    }
}

/// Pushes to the global monitor (the request started with it as its target), through
/// the thread's cached copy.
#[inline(always)]
fn push_global(make: impl FnOnce() -> Record) {
    let generation = switches::generation();
    let mut make = Some(make);
    let _ = CACHED.try_with(|cache| {
        if let Ok(mut cache) = cache.try_borrow_mut() {
            if let Some(monitor) = cached_global(&mut cache, generation) {
                if let Some(make) = make.take() {
                    monitor.push_with(make);
                }
            }
        }
    });
    if let Some(make) = make {
        push_global_slow(make);
    }
}

/// Thread teardown or re-entry, or no global any more: the global itself, out of line
/// (with the drop glue of a record nobody takes).
#[cold]
#[inline(never)]
fn push_global_slow(make: impl FnOnce() -> Record) {
    if let Some(monitor) = GLOBAL.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        monitor.push_with(make);
    }
}

/// Records a point into the current monitor (scoped or global); without one nothing
/// is recorded (and that is logged once).
pub fn record(point: Point) {
    with_current(|m| match m {
        Some(m) => m.record(point),
        None => switches::nothing_records(),
    });
}

/// The current monitor (scoped or global), if any.
pub fn current() -> Option<Monitor> {
    with_current(|m| m.cloned())
}

pin_project_lite::pin_project! {
    /// A future run with a given monitor as the current one; see [`Monitor::scope`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct Scoped<F> {
        #[pin]
        inner: F,
        monitor: Option<Monitor>,
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _guard = SlotGuard::enter(&SCOPED, this.monitor);
        this.inner.poll(cx)
    }
}
