//! The retry policy: which failures are retried, how long to wait, when to give up.
//!
//! | answer | what happens |
//! |---|---|
//! | 2xx | written |
//! | 429, 503 | retried after `Retry-After` (seconds or HTTP date) up to `retry_max_delay`; a longer value waits `retry_max_delay`, `0`, a past date or an unreadable value the backoff |
//! | 3xx (redirects are not followed) | retried with backoff like a 5xx (a proxy or URL that redirects is a configuration error the WARN names with its `Location`; the points wait in the buffer or the spool while it is fixed) |
//! | other 5xx, connection errors, timeouts | retried with exponential backoff and jitter |
//! | 413 | the batch is split in halves; a single line is dropped (`too_large`) |
//! | 400 | the batch is split in halves until the bad lines are isolated and dropped (`rejected`); good lines are written (writes are idempotent, so resending a partial write's good lines is harmless) |
//! | 401, 403 | dropped (`unauthorized`): a configuration error, not retried |
//! | 404 "database not found" / "bucket not found" | dropped (`not_found`), one ERROR naming the database and how to create it; a 1.x sink with `create_database` creates it and retries once |
//! | other 4xx | dropped (`rejected`) |
//!
//! Backoff: `retry_initial_delay * 2^n`, capped at `retry_max_delay`, with "equal
//! jitter" (a random point in the upper half). A batch retried for longer than
//! `max_retry_time` is dropped (`retry_exhausted`). During shutdown the wait never
//! goes past the shutdown deadline.

use std::time::{Duration, SystemTime};

use crate::config::Config;

/// The longest wait any value from a server or a configuration can cause: waits are
/// clamped to this so that no `Instant`/`Duration` arithmetic on them can overflow.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(365 * 24 * 3600);

/// `now + wait`, saturating: never panics, whatever the wait.
pub(crate) fn after(wait: Duration) -> std::time::Instant {
    let now = std::time::Instant::now();
    now.checked_add(wait.min(MAX_WAIT)).unwrap_or(now)
}

/// Delays between attempts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RetryPolicy {
    pub(crate) initial: Duration,
    pub(crate) max_delay: Duration,
    pub(crate) max_time: Duration,
}

impl RetryPolicy {
    pub(crate) fn from_config(config: &Config) -> Self {
        RetryPolicy {
            initial: Config::duration(config.retry_initial_delay),
            max_delay: Config::duration(config.retry_max_delay),
            max_time: Config::duration(config.max_retry_time),
        }
    }

    /// The delay before retry number `attempt` (0-based).
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .initial
            .saturating_mul(1u32.checked_shl(attempt.min(30)).unwrap_or(u32::MAX))
            .min(self.max_delay);
        let half = exp / 2;
        // The whole upper half: `half` is at most `MAX_WAIT / 2`, well within u64 ns.
        let span = u64::try_from(exp.saturating_sub(half).as_nanos()).unwrap_or(u64::MAX);
        let jitter = crate::random::random_u64() % span.saturating_add(1);
        half.saturating_add(Duration::from_nanos(jitter))
    }

    /// The wait before the next attempt: the server's `Retry-After` clamped to
    /// `retry_max_delay`, or the backoff when it sent none, `0` or a past date.
    pub(crate) fn wait(&self, retry_after: Option<Duration>, attempt: u32) -> Duration {
        match retry_after.filter(|d| !d.is_zero()) {
            Some(server) => server.min(self.max_delay),
            None => self.backoff(attempt),
        }
    }
}

/// Parses a `Retry-After` header: delta seconds or an HTTP date (a past date is 0).
/// The caller bounds what it gets ([`RetryPolicy::wait`]).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let p = RetryPolicy {
            initial: Duration::from_secs(1),
            max_delay: Duration::from_secs(8),
            max_time: Duration::from_secs(60),
        };
        for (attempt, full) in [(0, 1), (1, 2), (2, 4), (3, 8), (10, 8)] {
            let d = p.backoff(attempt);
            let full = Duration::from_secs(full);
            assert!(d >= full / 2 && d <= full, "{attempt}: {d:?}");
        }
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(
            parse_retry_after("18446744073709551615"),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(parse_retry_after("99999999999999999999999"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[test]
    fn server_waits_are_clamped_and_zero_falls_back_to_the_backoff() {
        let p = RetryPolicy {
            initial: Duration::from_secs(1),
            max_delay: Duration::from_secs(8),
            max_time: Duration::from_secs(60),
        };
        let max = Duration::from_secs(u64::MAX);
        assert_eq!(p.wait(Some(max), 0), Duration::from_secs(8));
        assert_eq!(
            p.wait(Some(Duration::from_secs(3)), 5),
            Duration::from_secs(3)
        );
        for zero in [Some(Duration::ZERO), None] {
            let w = p.wait(zero, 0);
            assert!(
                w >= Duration::from_millis(500) && w <= Duration::from_secs(1),
                "{w:?}"
            );
        }
        // `after` saturates instead of panicking.
        assert!(after(max) > std::time::Instant::now());
    }

    #[test]
    fn jitter_reaches_the_upper_half_of_long_delays() {
        // 60 s delays: the old u32-nanosecond jitter stopped at 30 s + 4.3 s.
        let p = RetryPolicy {
            initial: Duration::from_secs(60),
            max_delay: Duration::from_secs(60),
            max_time: Duration::from_secs(600),
        };
        let top = (0..2000).map(|_| p.backoff(0)).max().unwrap();
        assert!(top > Duration::from_secs(50), "{top:?}");
        assert!(top <= Duration::from_secs(60), "{top:?}");
    }
}
