//! The rate limit of the Nateq API route: a token bucket per API key, off unless asked for.
//!
//! A limit of `N` requests per second refills `N` tokens a second into a bucket of
//! [`burst`]`(N) = max(1, ceil(N / 10))` tokens; each request takes one. A key whose bucket is empty
//! gets a 429 until a token has been refilled.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// The rate limit setting, as `GET /_emulator/rate-limit` returns it.
///
/// ```json
/// { "perSecond": 10, "burst": 1 }
/// ```
///
/// Both are `null` when there is no limit (the default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Requests per second and API key; `None` when there is no limit.
    pub per_second: Option<u32>,
    /// The bucket size, [`burst`] of `per_second`.
    pub burst: Option<u32>,
}

/// The bucket size for a limit of `per_second`: `max(1, ceil(per_second / 10))`.
pub fn burst(per_second: u32) -> u32 {
    per_second.div_ceil(10).max(1)
}

/// What the limiter decided for one request: the values of the `X-RateLimit-*` headers, and
/// whether the request may go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    /// `X-RateLimit-Limit`: the requests per second.
    pub limit: u32,
    /// `X-RateLimit-Remaining`: whole tokens left after this request.
    pub remaining: u32,
    /// `X-RateLimit-Reset`: whole seconds, rounded up, until the bucket is full again.
    pub reset_secs: u64,
    /// `Some(Retry-After seconds)` (at least 1) when the request is refused.
    pub retry_after_secs: Option<u64>,
}

/// The limiter shared by every request.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    per_second: Option<u32>,
    buckets: HashMap<String, Bucket>,
}

/// Tokens and the time they were counted.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimit {
    /// A limit of `per_second` requests per second and API key, or none.
    pub fn new(per_second: Option<u32>) -> Self {
        Self {
            per_second,
            burst: per_second.map(burst),
        }
    }

    /// Checks the range: `perSecond` is at least 1 (use `None` for no limit).
    pub fn validate(&self) -> Result<(), crate::Error> {
        if self.per_second == Some(0) {
            return Err(crate::Error::InvalidRateLimit(
                "perSecond must be at least 1, or null for no limit".to_owned(),
            ));
        }
        Ok(())
    }
}

impl RateLimiter {
    /// A limiter with a validated setting.
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            state: Mutex::new(State {
                per_second: limit.per_second,
                buckets: HashMap::new(),
            }),
        }
    }

    /// Replaces the setting; every bucket starts full again.
    pub(crate) fn set(&self, per_second: Option<u32>) -> Result<RateLimit, crate::Error> {
        RateLimit::new(per_second).validate()?;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.per_second = per_second;
        state.buckets.clear();
        Ok(RateLimit::new(state.per_second))
    }

    /// The setting in force.
    pub(crate) fn get(&self) -> RateLimit {
        RateLimit::new(
            self.state
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .per_second,
        )
    }

    /// Takes a token of `key_id`'s bucket, if the limit is on.
    pub(crate) fn check(&self, key_id: &str) -> Option<Decision> {
        self.check_at(key_id, Instant::now())
    }

    fn check_at(&self, key_id: &str, now: Instant) -> Option<Decision> {
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let state = &mut *guard;
        let per_second = state.per_second?;
        let capacity = f64::from(burst(per_second));
        let rate = f64::from(per_second);
        let bucket = state.buckets.entry(key_id.to_owned()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.at = now;
        let retry_after_secs = if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            None
        } else {
            Some(ceil_secs((1.0 - bucket.tokens) / rate).max(1))
        };
        Some(Decision {
            limit: per_second,
            // Whole tokens, so the cast cannot truncate anything but the fraction.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            remaining: bucket.tokens.floor() as u32,
            reset_secs: ceil_secs((capacity - bucket.tokens) / rate),
            retry_after_secs,
        })
    }
}

/// Seconds rounded up; a few nanoseconds of float error do not add a second.
fn ceil_secs(secs: f64) -> u64 {
    let rounded = (secs - 1e-9).ceil();
    if rounded <= 0.0 {
        0
    } else {
        // A bucket refills in at most `burst / per_second` <= 1.1 s, far below u64::MAX.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let whole = rounded as u64;
        whole
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use super::*;

    #[test]
    fn burst_is_a_tenth_rounded_up_and_at_least_one() {
        assert_eq!([1, 9, 10, 11, 25, 100].map(burst), [1, 1, 1, 2, 3, 10]);
    }

    #[test]
    fn off_by_default_and_after_null() {
        let limiter = RateLimiter::default();
        assert_eq!(limiter.check("key_a"), None);
        limiter.set(Some(5)).unwrap();
        assert!(limiter.check("key_a").is_some());
        limiter.set(None).unwrap();
        assert_eq!(limiter.check("key_a"), None);
        assert!(limiter.set(Some(0)).is_err());
    }

    #[test]
    fn a_bucket_of_twenty_per_second_refills_over_time() {
        let limiter = RateLimiter::new(RateLimit::new(Some(20)));
        let t0 = Instant::now();
        // Burst of 2: two requests pass, the third is refused.
        let first = limiter.check_at("key_a", t0).unwrap();
        assert_eq!((first.remaining, first.retry_after_secs), (1, None));
        assert_eq!(first.reset_secs, 1);
        let second = limiter.check_at("key_a", t0).unwrap();
        assert_eq!((second.remaining, second.retry_after_secs), (0, None));
        let third = limiter.check_at("key_a", t0).unwrap();
        assert_eq!((third.limit, third.remaining), (20, 0));
        assert_eq!(third.retry_after_secs, Some(1));
        assert_eq!(third.reset_secs, 1);
        // Another key has its own bucket.
        assert_eq!(
            limiter.check_at("key_b", t0).unwrap().retry_after_secs,
            None
        );
        // 50 ms later one token is back.
        let later = limiter
            .check_at("key_a", t0 + Duration::from_millis(50))
            .unwrap();
        assert_eq!((later.remaining, later.retry_after_secs), (0, None));
        // A long wait fills the bucket, never beyond it.
        let full = limiter
            .check_at("key_a", t0 + Duration::from_secs(60))
            .unwrap();
        assert_eq!((full.remaining, full.retry_after_secs), (1, None));
    }

    #[test]
    fn retry_after_and_reset_round_up_to_whole_seconds() {
        let limiter = RateLimiter::new(RateLimit::new(Some(1)));
        let t0 = Instant::now();
        assert_eq!(limiter.check_at("k", t0).unwrap().retry_after_secs, None);
        let refused = limiter
            .check_at("k", t0 + Duration::from_millis(100))
            .unwrap();
        assert_eq!(refused.retry_after_secs, Some(1));
        assert_eq!(refused.reset_secs, 1);
        let limiter = RateLimiter::new(RateLimit::new(Some(1)));
        limiter.check_at("k", t0);
        // Almost a whole token back: still refused, but never `Retry-After: 0`.
        let refused = limiter
            .check_at("k", t0 + Duration::from_millis(999))
            .unwrap();
        assert_eq!(refused.retry_after_secs, Some(1));
        assert_eq!(ceil_secs(0.0), 0);
        assert_eq!(ceil_secs(1.0), 1);
        assert_eq!(ceil_secs(1.2), 2);
    }
}
