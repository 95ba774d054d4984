//! Retry policy: which outcomes are retried and how long to wait between attempts.
//!
//! `PUT /contacts/{id}` is idempotent (the same body applied twice leaves the contact as after
//! the first call), so retrying after a dropped connection or a 503 is safe: the update is
//! applied at most once in effect, and never lost silently.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// The most [`RetryPolicy::max_retry_after`] can be: a day.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// How the client retries transient failures.
///
/// The default makes 3 attempts (2 retries) with exponential backoff and full jitter
/// (0.5 s base, 8 s cap), and retries only connection errors, timeouts and the statuses 408,
/// 429, 500, 502, 503 and 504.
///
/// Throttling is not failure: a 429, or a 503 with `Retry-After`, waits the full
/// `Retry-After` (up to [`max_retry_after`](Self::max_retry_after), 300 s by default) and is
/// retried without using up a retry, until the call's overall deadline. When it is the API's
/// limit the whole client waits; a 429 that is not the limit delays only its own request (see
/// the crate's Throttling section). A `Retry-After` longer than the cap, or one that ends
/// after the deadline, ends the call with that response's error instead of retrying early.
///
/// ```
/// use std::time::Duration;
/// use nateq_api::RetryPolicy;
///
/// let patient = RetryPolicy::default()
///     .max_retries(5)
///     .base_delay(Duration::from_millis(200))
///     .max_delay(Duration::from_secs(20));
/// assert_eq!(patient.attempts(), 6);
/// assert_eq!(RetryPolicy::none().attempts(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub(crate) max_retries: u32,
    base_delay: Duration,
    max_delay: Duration,
    pub(crate) max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy::default().max_retries(0)
    }

    /// How many times a failed attempt is retried (0 disables retries).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The first backoff ceiling; it doubles with every retry up to [`max_delay`](Self::max_delay).
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The largest backoff ceiling.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The longest `Retry-After` the client waits for (default 300 s, at most a day: a longer
    /// value is taken as a day). A throttled response asking for longer ends the call with its
    /// error: retrying earlier would only be refused again. Other retried responses have their
    /// `Retry-After` capped to it.
    pub fn max_retry_after(mut self, delay: Duration) -> Self {
        // Waits are added to `Instant`s; a day keeps every sum far from overflowing.
        self.max_retry_after = delay.min(MAX_RETRY_AFTER);
        self
    }

    /// Total attempts: the first one plus the retries.
    pub fn attempts(&self) -> u32 {
        self.max_retries.saturating_add(1)
    }

    /// The wait before retry number `retry` (1-based): the server's `Retry-After` when given
    /// (capped), otherwise a uniformly random duration in `[0, min(max_delay, base * 2^(retry-1))]`
    /// ("full jitter", which spreads bulk clients apart).
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_retry_after);
        }
        let exp = retry.saturating_sub(1).min(31);
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }
}

/// Whether a response status is worth retrying.
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// Parses `Retry-After` as delta-seconds, seconds with a decimal fraction (`0.05`, which HTTP
/// does not define but some APIs send), or an HTTP date (a date in the past is zero).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if value.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && let Ok(secs) = value.parse::<f64>()
    {
        return Duration::try_from_secs_f64(secs).ok();
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
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_is_jittered_below_an_exponential_ceiling() {
        let policy = RetryPolicy::default();
        for _ in 0..200 {
            assert!(policy.delay(1, None) <= Duration::from_millis(500));
            assert!(policy.delay(2, None) <= Duration::from_secs(1));
            assert!(policy.delay(10, None) <= Duration::from_secs(8));
        }
        let spread: std::collections::HashSet<Duration> =
            (0..50).map(|_| policy.delay(3, None)).collect();
        assert!(spread.len() > 10, "no jitter: {spread:?}");
    }

    #[test]
    fn attempts_are_the_first_one_plus_the_retries() {
        assert_eq!(RetryPolicy::default().attempts(), 3);
        assert_eq!(RetryPolicy::none().attempts(), 1);
        assert_eq!(RetryPolicy::default().max_retries(5).attempts(), 6);
        assert_eq!(
            RetryPolicy::default().max_retries(u32::MAX).attempts(),
            u32::MAX
        );
    }

    #[test]
    fn retry_after_wins_and_is_capped() {
        let policy = RetryPolicy::default().max_retry_after(Duration::from_secs(5));
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(600))),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn retry_after_parses_seconds_and_http_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));

        let later = SystemTime::now() + Duration::from_secs(120);
        let date = httpdate::fmt_http_date(later);
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_str(&date).unwrap_or_else(|e| panic!("{e}")),
        );
        let parsed = retry_after(&headers).unwrap_or_default();
        assert!(parsed > Duration::from_secs(100) && parsed <= Duration::from_secs(120));

        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));

        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);

        headers.insert(RETRY_AFTER, HeaderValue::from_static("0.05"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(50)));
        for odd in ["-1.5", "1e3", "NaN", "inf", ".", "1.2.3"] {
            headers.insert(RETRY_AFTER, HeaderValue::from_static(odd));
            assert_eq!(retry_after(&headers), None, "{odd}");
        }
    }

    #[test]
    fn only_transient_statuses_are_retryable() {
        for code in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(
                StatusCode::from_u16(code).unwrap_or_default()
            ));
        }
        for code in [200, 400, 401, 403, 404, 409, 413, 422, 501] {
            assert!(!is_retryable_status(
                StatusCode::from_u16(code).unwrap_or_default()
            ));
        }
    }
}
