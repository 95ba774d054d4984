//! The rate limit of the Nateq API route: a token bucket per API key, off unless asked for.
//!
//! A limit of `N` requests per second refills `N` tokens a second into a bucket of `burst`
//! tokens ([`burst`]`(N) = max(1, ceil(N / 10))` unless set); each request takes one. A key
//! whose bucket is empty gets a 429 until a token has been refilled.
//!
//! Real APIs announce their limits in different ways, and the setting plays each of them:
//! which responses carry the `X-RateLimit-*` headers ([`RateLimitHeaders`]), the burst, and
//! how `Retry-After` is written ([`RateLimitRetryAfter`]).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, header};
use serde::{Deserialize, Serialize};

use crate::response::Failure;

/// The rate limit setting, as `GET /_emulator/rate-limit` returns it.
///
/// ```json
/// { "perSecond": 10, "burst": 1, "headers": "always", "retryAfter": "whole" }
/// ```
///
/// `perSecond` and `burst` are `null` when there is no limit (the default).
///
/// ```
/// use nateq_emulator::{RateLimit, RateLimitHeaders, RateLimitRetryAfter};
///
/// // 20 requests a second, 2 at once, `X-RateLimit-*` only on the 429s.
/// let limit = RateLimit::new(Some(20)).burst(2).headers(RateLimitHeaders::On429);
/// assert_eq!(limit.retry_after, RateLimitRetryAfter::Whole);
/// assert!(limit.validate().is_ok());
/// assert!(RateLimit::new(Some(20)).burst(0).validate().is_err());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Requests per second and API key; `None` when there is no limit.
    pub per_second: Option<u32>,
    /// The bucket size: [`burst`] of `per_second` unless set.
    pub burst: Option<u32>,
    /// Which responses carry `X-RateLimit-Limit`, `-Remaining` and `-Reset`.
    #[serde(default)]
    pub headers: RateLimitHeaders,
    /// How the 429's `Retry-After` is written.
    #[serde(default)]
    pub retry_after: RateLimitRetryAfter,
}

/// Which responses of a counted request carry the `X-RateLimit-*` headers.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
pub enum RateLimitHeaders {
    /// On every response, successes included (the default)
    #[default]
    #[serde(rename = "always")]
    #[value(name = "always")]
    Always,
    /// Only on the rate limit's own 429s
    #[serde(rename = "on-429")]
    #[value(name = "on-429")]
    On429,
    /// On no response: a refused request gets a bare 429 with Retry-After
    #[serde(rename = "never")]
    #[value(name = "never")]
    Never,
}

/// How the rate limit's 429 writes `Retry-After`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
pub enum RateLimitRetryAfter {
    /// Whole seconds as HTTP defines it, rounded up, at least 1: 1 even when a token is back
    /// in 50 ms (the default)
    #[default]
    #[serde(rename = "whole")]
    #[value(name = "whole")]
    Whole,
    /// The wait in seconds as a decimal, to the millisecond (0.05), as some APIs send it
    #[serde(rename = "decimal")]
    #[value(name = "decimal")]
    Decimal,
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
    /// When refused: how long until a token is back.
    wait: Duration,
    headers: RateLimitHeaders,
    retry_after: RateLimitRetryAfter,
}

/// The limiter shared by every request.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    limit: RateLimit,
    buckets: HashMap<String, Bucket>,
}

/// Tokens and the time they were counted.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimit {
    /// A limit of `per_second` requests per second and API key with the default burst, the
    /// headers on every response and whole-second `Retry-After`; or no limit.
    pub fn new(per_second: Option<u32>) -> Self {
        Self {
            per_second,
            burst: per_second.map(burst),
            headers: RateLimitHeaders::default(),
            retry_after: RateLimitRetryAfter::default(),
        }
    }

    /// The bucket size: how many requests may go at once (at least 1).
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = Some(burst);
        self
    }

    /// Which responses carry the `X-RateLimit-*` headers.
    pub fn headers(mut self, headers: RateLimitHeaders) -> Self {
        self.headers = headers;
        self
    }

    /// How `Retry-After` is written.
    pub fn retry_after(mut self, retry_after: RateLimitRetryAfter) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Checks the ranges: `perSecond` and `burst` are at least 1 (`None` for no limit), and a
    /// burst needs a limit.
    pub fn validate(&self) -> Result<(), crate::Error> {
        self.problem().map_or(Ok(()), |(field, reason)| {
            Err(crate::Error::InvalidRateLimit(format!("{field} {reason}")))
        })
    }

    /// The field at fault and why, if any.
    fn problem(&self) -> Option<(&'static str, &'static str)> {
        match (self.per_second, self.burst) {
            (Some(0), _) => Some(("perSecond", "must be at least 1, or null for no limit")),
            (Some(_), Some(0)) => Some(("burst", "must be at least 1")),
            (None, Some(_)) => Some(("burst", "needs a limit: set perSecond too")),
            _ => None,
        }
    }

    /// The bucket size in force.
    fn capacity(&self, per_second: u32) -> u32 {
        self.burst.unwrap_or_else(|| burst(per_second))
    }
}

impl From<u32> for RateLimit {
    /// A limit of `per_second` with the defaults.
    fn from(per_second: u32) -> Self {
        RateLimit::new(Some(per_second))
    }
}

impl From<Option<u32>> for RateLimit {
    /// A limit of `per_second` with the defaults, or none.
    fn from(per_second: Option<u32>) -> Self {
        RateLimit::new(per_second)
    }
}

/// The body of `PUT /_emulator/rate-limit`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Body {
    /// Required: `Some(None)` is an explicit `null`.
    #[serde(default, deserialize_with = "present")]
    per_second: Option<Option<u32>>,
    #[serde(default)]
    burst: Option<u32>,
    #[serde(default)]
    headers: Option<RateLimitHeaders>,
    #[serde(default)]
    retry_after: Option<RateLimitRetryAfter>,
}

/// A property that is present, possibly `null`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(d).map(Some)
}

/// Parses and checks the body of `PUT /_emulator/rate-limit`:
/// `{"perSecond": N | null, "burst"?: N, "headers"?: "always" | "on-429" | "never",
/// "retryAfter"?: "whole" | "decimal"}`. A bad body is a 400 naming the property at fault.
pub(crate) fn parse_body(body: &[u8]) -> Result<RateLimit, Failure> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Failure::bad_body(format!("invalid rate limit: {e}")))?;
    if !value.is_object() {
        return Err(Failure::bad_body(
            "invalid rate limit: expected a json object",
        ));
    }
    let body: Body = serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        let reason = match field.as_str() {
            "perSecond" | "burst" => {
                format!("must be a whole number from 1 to {}, or null", u32::MAX)
            }
            _ => e.inner().to_string(),
        };
        field_error(&field, reason)
    })?;
    let Some(per_second) = body.per_second else {
        return Err(field_error(
            "perSecond",
            "required; a whole number of requests per second, or null for no limit",
        ));
    };
    let mut limit = RateLimit::new(per_second);
    if let Some(burst) = body.burst {
        limit = limit.burst(burst);
    }
    limit.headers = body.headers.unwrap_or_default();
    limit.retry_after = body.retry_after.unwrap_or_default();
    match limit.problem() {
        Some((field, reason)) => Err(field_error(field, reason)),
        None => Ok(limit),
    }
}

/// 400 `VALIDATION_ERROR` naming one field, shaped like the API's validation errors.
fn field_error(field: &str, reason: impl Into<String>) -> Failure {
    let reason = reason.into();
    Failure::validation(
        format!("invalid {field}: {reason}"),
        serde_json::json!({ "fields": [{ "field": field, "reason": reason }] }),
    )
}

impl Decision {
    /// Adds what the setting sends with this response: the `X-RateLimit-*` headers (on every
    /// response, only on a refusal, or never) and, on a refusal written as a decimal, the
    /// precise `Retry-After`.
    /// The `Retry-After` of a refused request as the 429 sends it: whole seconds, or the
    /// wait as a decimal; `None` when the request is not refused.
    pub(crate) fn retry_after_text(&self) -> Option<String> {
        let secs = self.retry_after_secs?;
        Some(match self.retry_after {
            RateLimitRetryAfter::Whole => secs.to_string(),
            RateLimitRetryAfter::Decimal => decimal_secs(self.wait),
        })
    }

    pub(crate) fn add_headers(&self, headers: &mut HeaderMap) {
        let refused = self.retry_after_secs.is_some();
        let announce = match self.headers {
            RateLimitHeaders::Always => true,
            RateLimitHeaders::On429 => refused,
            RateLimitHeaders::Never => false,
        };
        if announce {
            headers.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
            headers.insert("x-ratelimit-remaining", HeaderValue::from(self.remaining));
            headers.insert("x-ratelimit-reset", HeaderValue::from(self.reset_secs));
        }
        if refused
            && self.retry_after == RateLimitRetryAfter::Decimal
            && let Some(value) = self
                .retry_after_text()
                .and_then(|text| HeaderValue::from_str(&text).ok())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
    }
}

impl RateLimiter {
    /// A limiter with a validated setting.
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            state: Mutex::new(State {
                limit,
                buckets: HashMap::new(),
            }),
        }
    }

    /// Replaces the whole setting; every bucket starts full again.
    pub(crate) fn set(&self, limit: RateLimit) -> Result<RateLimit, crate::Error> {
        limit.validate()?;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.limit = limit;
        state.buckets.clear();
        Ok(limit)
    }

    /// The setting in force.
    pub(crate) fn get(&self) -> RateLimit {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .limit
    }

    /// Takes a token of `key_id`'s bucket, if the limit is on.
    pub(crate) fn check(&self, key_id: &str) -> Option<Decision> {
        self.check_at(key_id, Instant::now())
    }

    fn check_at(&self, key_id: &str, now: Instant) -> Option<Decision> {
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let state = &mut *guard;
        let limit = state.limit;
        let per_second = limit.per_second?;
        let capacity = f64::from(limit.capacity(per_second));
        let rate = f64::from(per_second);
        let bucket = state.buckets.entry(key_id.to_owned()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(capacity);
        bucket.at = now;
        let (retry_after_secs, wait) = if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            (None, Duration::ZERO)
        } else {
            let wait = (1.0 - bucket.tokens) / rate;
            (Some(ceil_secs(wait).max(1)), Duration::from_secs_f64(wait))
        };
        Some(Decision {
            limit: per_second,
            // Whole tokens, so the cast cannot truncate anything but the fraction.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            remaining: bucket.tokens.floor() as u32,
            reset_secs: ceil_secs((capacity - bucket.tokens) / rate),
            retry_after_secs,
            wait,
            headers: limit.headers,
            retry_after: limit.retry_after,
        })
    }
}

/// Seconds rounded up; a few nanoseconds of float error do not add a second.
fn ceil_secs(secs: f64) -> u64 {
    let rounded = (secs - 1e-9).ceil();
    if rounded <= 0.0 {
        0
    } else {
        // A bucket refills in at most `burst / per_second` seconds, far below u64::MAX.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let whole = rounded as u64;
        whole
    }
}

/// `wait` in seconds, rounded up to the millisecond (at least 1 ms), without trailing zeros:
/// `0.05`, `1.2`, `3`.
fn decimal_secs(wait: Duration) -> String {
    let millis = wait.as_nanos().div_ceil(1_000_000).max(1);
    let text = format!("{}.{:03}", millis / 1000, millis % 1000);
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn burst_is_a_tenth_rounded_up_and_at_least_one() {
        assert_eq!([1, 9, 10, 11, 25, 100].map(burst), [1, 1, 1, 2, 3, 10]);
    }

    #[test]
    fn off_by_default_and_after_null() {
        let limiter = RateLimiter::default();
        assert_eq!(limiter.check("key_a"), None);
        limiter.set(RateLimit::new(Some(5))).unwrap();
        assert!(limiter.check("key_a").is_some());
        limiter.set(RateLimit::new(None)).unwrap();
        assert_eq!(limiter.check("key_a"), None);
        assert!(limiter.set(RateLimit::new(Some(0))).is_err());
        assert!(limiter.set(RateLimit::new(Some(5)).burst(0)).is_err());
        assert!(limiter.set(RateLimit::new(None).burst(2)).is_err());
        assert_eq!(limiter.get(), RateLimit::new(None));
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
    fn a_set_burst_replaces_the_default() {
        let limiter = RateLimiter::new(RateLimit::new(Some(100)).burst(2));
        let t0 = Instant::now();
        let passed: Vec<bool> = (0..4)
            .map(|_| {
                limiter
                    .check_at("k", t0)
                    .unwrap()
                    .retry_after_secs
                    .is_none()
            })
            .collect();
        // The default burst of 100/s is 10; set to 2, the third request at once is refused.
        assert_eq!(passed, [true, true, false, false]);
        let limiter = RateLimiter::new(RateLimit::new(Some(1)).burst(3));
        let passed = (0..4)
            .filter(|_| {
                limiter
                    .check_at("k", t0)
                    .unwrap()
                    .retry_after_secs
                    .is_none()
            })
            .count();
        assert_eq!(passed, 3);
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

    fn headers_of(decision: Decision) -> Vec<(String, String)> {
        let mut map = HeaderMap::new();
        map.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        decision.add_headers(&mut map);
        let mut pairs: Vec<_> = map
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        pairs.sort();
        pairs
    }

    #[test]
    fn the_headers_knob_chooses_which_responses_announce_the_limit() {
        let t0 = Instant::now();
        let pair = |mode| {
            let limiter = RateLimiter::new(RateLimit::new(Some(20)).burst(1).headers(mode));
            let ok = limiter.check_at("k", t0).unwrap();
            let refused = limiter.check_at("k", t0).unwrap();
            assert!(ok.retry_after_secs.is_none() && refused.retry_after_secs.is_some());
            (headers_of(ok).len(), headers_of(refused).len())
        };
        // Retry-After alone is 1 header; with the three X-RateLimit-* it is 4.
        assert_eq!(pair(RateLimitHeaders::Always), (4, 4));
        assert_eq!(pair(RateLimitHeaders::On429), (1, 4));
        assert_eq!(pair(RateLimitHeaders::Never), (1, 1));
    }

    #[test]
    fn a_decimal_retry_after_is_the_wait_to_the_millisecond() {
        let t0 = Instant::now();
        let limiter = RateLimiter::new(
            RateLimit::new(Some(20))
                .burst(1)
                .headers(RateLimitHeaders::Never)
                .retry_after(RateLimitRetryAfter::Decimal),
        );
        limiter.check_at("k", t0);
        let refused = limiter.check_at("k", t0).unwrap();
        // The whole-second figure stays for the message; the header says 50 ms.
        assert_eq!(refused.retry_after_secs, Some(1));
        assert_eq!(
            headers_of(refused),
            [("retry-after".to_owned(), "0.05".to_owned())]
        );
        let limiter = RateLimiter::new(RateLimit::new(Some(20)).burst(1));
        limiter.check_at("k", t0);
        let whole = limiter.check_at("k", t0).unwrap();
        assert!(headers_of(whole).contains(&("retry-after".to_owned(), "1".to_owned())));
        assert_eq!(decimal_secs(Duration::from_micros(1)), "0.001");
        assert_eq!(decimal_secs(Duration::from_millis(1200)), "1.2");
        assert_eq!(decimal_secs(Duration::from_secs(3)), "3");
    }

    #[test]
    fn the_body_names_the_property_at_fault() {
        let parsed = parse_body(
            br#"{"perSecond": 20, "burst": 2, "headers": "on-429", "retryAfter": "decimal"}"#,
        )
        .unwrap();
        assert_eq!(
            parsed,
            RateLimit::new(Some(20))
                .burst(2)
                .headers(RateLimitHeaders::On429)
                .retry_after(RateLimitRetryAfter::Decimal)
        );
        assert_eq!(
            parse_body(br#"{"perSecond": null}"#).unwrap(),
            RateLimit::default()
        );
        for (body, field) in [
            (r#"{"perSecond": 0}"#, "perSecond"),
            (r#"{"perSecond": 5, "burst": 0}"#, "burst"),
            (r#"{"perSecond": null, "burst": 2}"#, "burst"),
            (r#"{"perSecond": 5, "burst": -1}"#, "burst"),
            (r#"{"perSecond": 5, "headers": "sometimes"}"#, "headers"),
            (r#"{"perSecond": 5, "retryAfter": 1}"#, "retryAfter"),
            (r#"{"perSecond": 5, "bursts": 2}"#, "bursts"),
            (r#"{"burst": 2}"#, "perSecond"),
        ] {
            let failure = parse_body(body.as_bytes()).unwrap_err();
            assert_eq!(failure.status, 400, "{body}");
            assert_eq!(
                failure.details.unwrap()["fields"][0]["field"],
                field,
                "{body}"
            );
        }
    }
}
