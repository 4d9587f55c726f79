//! The request path's clock: raw TSC readings (through `quanta`), scaled to
//! nanoseconds only in the flusher, so a request pays two counter reads and nothing
//! else for its timing.

use std::sync::LazyLock;

static CLOCK: LazyLock<quanta::Clock> = LazyLock::new(quanta::Clock::new);

/// A raw reading of the clock (TSC ticks where available).
#[inline]
pub(crate) fn raw() -> u64 {
    CLOCK.raw()
}

/// Nanoseconds between two raw readings (0 if `end` is not after `start`).
#[inline]
pub(crate) fn nanos_between(start: u64, end: u64) -> u64 {
    CLOCK.delta_as_nanos(start, end)
}
