//! The request path's switches: one byte of flags, alone on its cache line, that every
//! instrumented call reads first. It is written only when the global monitor changes
//! or something is used for the first time, so reading it never misses because of
//! unrelated writes nearby. With monitoring off, that one relaxed load and a branch
//! are all a `#[monitored]` handler pays.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

#[repr(align(64))]
struct Switches {
    /// [`GLOBAL_ON`], [`SCOPES`], [`QUIET`].
    flags: AtomicU8,
    /// Bumped whenever the global monitor changes, so threads refresh their cached copy
    /// (`crate::current`).
    generation: AtomicU64,
}

/// The global monitor records.
const GLOBAL_ON: u8 = 1;
/// Some `Monitor::scope` exists; until then the scoped slot is never consulted.
const SCOPES: u8 = 2;
/// Instrumented code ran with nothing recording and that was logged (or a disabled
/// monitor was installed on purpose): no further warning.
const QUIET: u8 = 8;

static SWITCHES: Switches = Switches {
    flags: AtomicU8::new(0),
    generation: AtomicU64::new(1),
};

/// Whether any monitor could record a request starting now: one relaxed load. The
/// expansion of `#[monitored]` hands it to [`monitored`](crate::request::monitored): when
/// false, the handler's body is only polled.
#[inline]
pub fn monitoring_on() -> bool {
    let flags = SWITCHES.flags.load(Ordering::Relaxed);
    if flags & (GLOBAL_ON | SCOPES) != 0 {
        return true;
    }
    if flags & QUIET == 0 {
        warn_nothing_records();
    }
    false
}

/// Where a request starting now may be recorded, from one relaxed load: whether
/// scopes exist, and whether the global monitor records.
#[inline]
pub(crate) fn targets() -> (bool, bool) {
    let flags = SWITCHES.flags.load(Ordering::Relaxed);
    (flags & SCOPES != 0, flags & GLOBAL_ON != 0)
}

/// Whether a `Monitor::scope` was ever made.
#[inline]
pub(crate) fn scopes_used() -> bool {
    SWITCHES.flags.load(Ordering::Relaxed) & SCOPES != 0
}

/// Notes that scopes exist (written once: the request path keeps reading an unchanging
/// cache line).
pub(crate) fn use_scopes() {
    if !scopes_used() {
        SWITCHES.flags.fetch_or(SCOPES, Ordering::Relaxed);
    }
}

/// The global monitor changed: `on` when it records. A disabled monitor installed on
/// purpose (`send_data_for_monitoring = false`) silences the no-monitor warning.
pub(crate) fn set_global(on: bool, disabled_on_purpose: bool) {
    SWITCHES.generation.fetch_add(1, Ordering::Release);
    if on {
        SWITCHES.flags.fetch_or(GLOBAL_ON, Ordering::Release);
    } else {
        SWITCHES.flags.fetch_and(!GLOBAL_ON, Ordering::Release);
    }
    if disabled_on_purpose {
        SWITCHES.flags.fetch_or(QUIET, Ordering::Relaxed);
    }
}

/// Which global monitor the threads should be caching.
#[inline]
pub(crate) fn generation() -> u64 {
    SWITCHES.generation.load(Ordering::Acquire)
}

/// Logs, once per process, that instrumented code ran with no monitor to record into
/// (unless that is on purpose): the usual cause is a monitor started but never
/// installed.
#[inline]
pub(crate) fn nothing_records() {
    if SWITCHES.flags.load(Ordering::Relaxed) & QUIET == 0 {
        warn_nothing_records();
    }
}

#[cold]
#[inline(never)]
fn warn_nothing_records() {
    if SWITCHES.flags.fetch_or(QUIET, Ordering::Relaxed) & QUIET == 0 {
        tracing::warn!(
            target: "monitoring",
            "monitored code ran with no monitor installed, so nothing is recorded: start a \
             Monitor and call install_global() on it (or run the code in Monitor::scope); \
             logged once"
        );
    }
}
