//! Timed fields: `#[timed_field("name")]`, [`FieldTimer`] and [`time_field`].
//!
//! A request's timings live inline in its context (no allocation at any call rate):
//! each slot packs a field's id and its accumulated nanoseconds into one `u64`. Ids come
//! from a process-wide registry of names, assigned on a field's first use; the flusher
//! turns them back into names. A request timing more distinct fields than it has slots,
//! or a timer started with a run-time name, goes through [`add_time`] instead.

use std::future::Future;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::RwLock;
use std::time::Duration;

use crate::context::{self, add_time};

/// Timing slots carried inline by every request.
pub(crate) const SLOTS: usize = 3;
const NS_BITS: u32 = 48;
const NS_MAX: u64 = (1 << NS_BITS) - 1;

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
        let mut names = NAMES.write().unwrap_or_else(|e| e.into_inner());
        // Fields of the same name share an id, so they accumulate together.
        let id = match names.iter().position(|n| *n == self.name) {
            Some(i) => i + 1,
            None if names.len() < usize::from(u16::MAX) => {
                names.push(self.name);
                names.len()
            }
            None => return 0,
        };
        let id = id as u16;
        self.id.store(id, Ordering::Relaxed);
        id
    }
}

/// Field names by id - 1.
static NAMES: RwLock<Vec<&'static str>> = RwLock::new(Vec::new());

/// The name of field `id` (the flusher's side).
pub(crate) fn name(id: u16, cache: &mut Vec<&'static str>) -> &'static str {
    let index = usize::from(id) - 1;
    if index >= cache.len() {
        cache.clone_from(&NAMES.read().unwrap_or_else(|e| e.into_inner()));
    }
    cache[index]
}

/// A request's inline timings: `id << 48 | nanoseconds` per slot, 0 when free.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Times([u64; SLOTS]);

impl Times {
    pub(crate) const EMPTY: Times = Times([0; SLOTS]);

    /// Adds `ns` to field `id`; false when every slot holds another field.
    #[inline]
    fn add(&mut self, id: u16, ns: u64) -> bool {
        let tag = u64::from(id) << NS_BITS;
        for slot in &mut self.0 {
            if *slot == 0 {
                *slot = tag | ns.min(NS_MAX);
                return true;
            }
            if *slot & !NS_MAX == tag {
                *slot = tag | (*slot & NS_MAX).saturating_add(ns).min(NS_MAX);
                return true;
            }
        }
        false
    }

    /// `(field id, nanoseconds)` of each used slot, in first-use order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        self.0
            .iter()
            .take_while(|s| **s != 0)
            .map(|s| ((s >> NS_BITS) as u16, s & NS_MAX))
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
                if id != 0 && context::with_times(|times| times.add(id, ns)) {
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
/// let n = monitoring_runtime::time_field("load_images_for_processing_time", async { 42 }).await;
/// # }
/// ```
pub async fn time_field<F: Future>(key: &'static str, future: F) -> F::Output {
    let _timer = FieldTimer::start(key);
    future.await
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
