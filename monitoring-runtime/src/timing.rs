//! Timed fields: `#[timed_field("name")]`, [`FieldTimer`] and [`time_section`].
//!
//! A request's timings live inline in its context (no allocation at any call rate):
//! each slot packs a field's id and its accumulated nanoseconds into one `u64`. Ids come
//! from a process-wide registry of names, assigned on a field's first use; the flusher
//! turns them back into names. A request timing more distinct fields than it has slots,
//! or a timer started with a run-time name, goes through [`add_time`] instead.

use std::future::Future;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use crate::context::{self, add_time};

/// A field timed by `#[timed_field]`: its name and, once used, its id. The macro puts
/// one in a `static` per timed function.
#[doc(hidden)]
#[derive(Debug)]
pub struct TimedField {
    name: &'static str,
    id: AtomicU16,
}

impl TimedField {
    /// A field named `name` (`const`, for statics).
    pub const fn new(name: &'static str) -> Self {
        TimedField {
            name,
            id: AtomicU16::new(0),
        }
    }

    /// Its id, registering the name on first use; 0 when the registry is full.
    #[inline]
    fn id(&self) -> u16 {
        match self.id.load(Ordering::Relaxed) {
            0 => self.register(),
            id => id,
        }
    }

    #[cold]
    fn register(&self) -> u16 {
        let id = crate::record::register_field(self.name);
        self.id.store(id, Ordering::Relaxed);
        id
    }
}

/// Times a scope into a field of the current request: the elapsed time is added when
/// the timer is dropped (so early returns, `?` and cancellation are all covered).
/// Outside a monitored request it does nothing (not even read the clock).
///
/// ```
/// let _timer = monitoring_runtime::FieldTimer::start("save_warps_time");
/// // ... the work to time ...
/// ```
#[must_use = "the time is recorded when the timer is dropped"]
#[derive(Debug)]
pub struct FieldTimer {
    key: Key,
    /// Raw clock reading; `None` outside a request.
    start: Option<u64>,
}

#[derive(Debug)]
enum Key {
    Name(&'static str),
    Field(&'static TimedField),
}

impl FieldTimer {
    /// Starts timing into field `key`.
    #[inline]
    pub fn start(key: &'static str) -> Self {
        Self::with_key(Key::Name(key))
    }

    /// Starts timing into `field` (what `#[timed_field]` expands to).
    #[doc(hidden)]
    #[inline]
    pub fn start_field(field: &'static TimedField) -> Self {
        Self::with_key(Key::Field(field))
    }

    #[inline]
    fn with_key(key: Key) -> Self {
        FieldTimer {
            key,
            start: context::in_request().then(crate::clock::raw),
        }
    }
}

impl Drop for FieldTimer {
    #[inline]
    fn drop(&mut self) {
        let Some(start) = self.start else { return };
        let ns = crate::clock::nanos_between(start, crate::clock::raw());
        let name = match self.key {
            Key::Field(field) => {
                let id = field.id();
                if id != 0 && context::add_timing(id, ns) {
                    return;
                }
                field.name
            }
            Key::Name(name) => name,
        };
        add_time(name, Duration::from_nanos(ns));
    }
}

/// Times `future` into field `key` of the current request. Only the time spent until
/// it completes counts, polled or not (wall time), like `#[timed_field]`.
///
/// ```
/// # async fn demo() {
/// let n = monitoring_runtime::time_section("load_images_for_processing_time", async { 42 }).await;
/// # }
/// ```
pub async fn time_section<F: Future>(key: &'static str, future: F) -> F::Output {
    let _timer = FieldTimer::start(key);
    future.await
}
