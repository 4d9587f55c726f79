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

/// Maps raw readings to wall-clock nanoseconds since the Unix epoch, anchored when it
/// was made (the flusher makes a new one every tick, so wall-clock adjustments are
/// followed).
pub(crate) struct WallClock {
    raw: u64,
    wall_ns: i64,
}

impl WallClock {
    pub(crate) fn now() -> Self {
        WallClock {
            raw: raw(),
            wall_ns: crate::point::system_time_ns(std::time::SystemTime::now()),
        }
    }

    /// The wall-clock time of raw reading `raw`.
    pub(crate) fn ns(&self, raw: u64) -> i64 {
        if raw >= self.raw {
            let after = nanos_between(self.raw, raw);
            self.wall_ns.saturating_add(after as i64)
        } else {
            let before = nanos_between(raw, self.raw);
            self.wall_ns.saturating_sub(before as i64)
        }
    }
}
