//! The retry policy: which failures are retried, how long to wait, when to give up.
//!
//! | answer | what happens |
//! |---|---|
//! | 2xx | written |
//! | 429, 503 | retried after `Retry-After` (seconds or HTTP date), else backoff |
//! | other 5xx, connection errors, timeouts | retried with exponential backoff and jitter |
//! | 413 | the batch is split in halves; a single line is dropped (`too_large`) |
//! | 400 | the batch is split in halves until the bad lines are isolated and dropped (`rejected`); good lines are written (writes are idempotent, so resending a partial write's good lines is harmless) |
//! | 401, 403 | dropped (`unauthorized`): a configuration error, not retried |
//! | other 4xx | dropped (`rejected`) |
//!
//! Backoff: `retry_initial_delay * 2^n`, capped at `retry_max_delay`, with "equal
//! jitter" (a random point in the upper half). A batch retried for longer than
//! `max_retry_time` is dropped (`retry_exhausted`). During shutdown the wait never
//! goes past the shutdown deadline.

use std::time::{Duration, SystemTime};

use crate::config::Config;

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
        let jitter = (crate::random::random_u64() % (half.as_nanos() as u64).max(1)) as u32;
        half + Duration::from_nanos(u64::from(jitter))
    }
}

/// Parses a `Retry-After` header: delta seconds or an HTTP date.
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
    }
}
