//! Client-wide throttling: one [`Throttle`] per [`Client`](crate::Client), shared by its clones
//! and by every request in flight.
//!
//! - **Pause.** A 429, or a 503 with `Retry-After`, pauses every request of the client until
//!   the `Retry-After` has passed, not only the one that was refused.
//! - **Adaptive rate.** After a throttled response the client sends at 70% of the rate it was
//!   sending at, then raises the rate by 5% a second while nothing is throttled (the spirit of
//!   the AWS SDKs' "adaptive" retry mode). When the server sends `X-RateLimit-Limit` (read as
//!   requests per second), the client paces itself at 97% of it and is not refused at all;
//!   `X-RateLimit-Remaining: 0` holds requests until the next one is allowed
//!   (`1 / limit` seconds, or `X-RateLimit-Reset` seconds when no limit is given).
//! - **Slow start.** Until the client's first response arrives, one request goes alone (for at
//!   most [`PROBE_WAIT`]), so a burst of concurrent requests learns the server's limit from the
//!   first answer instead of being refused together.
//! - **Fixed rate.** [`ClientBuilder::rate_limit`](crate::ClientBuilder::rate_limit) adds a
//!   `governor` rate limiter that every request passes.
//!
//! Waiting for a permit is not attempt time: the per-attempt timeout starts once the request
//! may be sent. Only the call's overall deadline bounds the wait.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};
use reqwest::header::HeaderMap;

/// How long requests wait for the client's first response before going ahead anyway.
pub const PROBE_WAIT: Duration = Duration::from_secs(2);
/// The share of a server's advertised `X-RateLimit-Limit` the client uses.
const HEADROOM: f64 = 0.97;
/// After a throttled response the rate drops to this share of what was being sent.
const DECREASE: f64 = 0.7;
/// While nothing is throttled the rate grows by this factor per second.
const INCREASE_PER_SEC: f64 = 1.05;
/// The adaptive rate never drops below this (requests per second).
const MIN_RATE: f64 = 0.5;

/// The waits a request may have to make before it is sent.
#[derive(Debug)]
pub(crate) struct Throttle {
    fixed: Option<Pacer>,
    state: Mutex<State>,
    probing: AtomicBool,
    probed: AtomicBool,
    first_response: tokio::sync::Notify,
}

/// The call's overall deadline passed while it waited for a permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeadlinePassed;

#[derive(Debug)]
struct State {
    paused_until: Option<Instant>,
    /// 97% of the server's `X-RateLimit-Limit`, once seen.
    ceiling: Option<f64>,
    /// The rate found by throttled responses, growing back while none come.
    adaptive: Option<f64>,
    last_change: Instant,
    /// The limiter enforcing `min(ceiling, adaptive)`, rebuilt when that rate changes.
    pacer: Option<Arc<Pacer>>,
    /// Requests sent in the current one-second window, and the rate of the last full one.
    window_start: Instant,
    window_sent: u32,
    sent_rate: f64,
}

/// A `governor` limiter and the rate it was built for.
#[derive(Debug)]
struct Pacer {
    per_second: f64,
    limiter: DefaultDirectRateLimiter,
}

impl Pacer {
    /// A limiter of `per_second` that lets `burst` requests go back to back.
    fn new(per_second: f64, burst: NonZeroU32) -> Pacer {
        let period = Duration::from_secs_f64(1.0 / per_second.max(MIN_RATE / 4.0));
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        let limiter = DefaultDirectRateLimiter::direct(quota);
        // Start with one request's worth: the burst is there to catch up a late wake-up, not
        // to send two at once (the server's bucket may have just one left).
        if burst > NonZeroU32::MIN {
            let _ = limiter.check();
        }
        Pacer {
            per_second,
            limiter,
        }
    }

    /// How long until the next request may go, taking the permit when it is free now.
    fn check(&self) -> Option<Duration> {
        let clock = DefaultClock::default();
        self.limiter
            .check()
            .err()
            .map(|not_until| not_until.wait_time_from(clock.now()))
    }
}

impl Throttle {
    /// A throttle with an optional fixed rate (requests per second, positive and finite).
    pub(crate) fn new(fixed_rate: Option<f64>) -> Throttle {
        let now = Instant::now();
        Throttle {
            fixed: fixed_rate.map(|rate| Pacer::new(rate, NonZeroU32::MIN)),
            state: Mutex::new(State {
                paused_until: None,
                ceiling: None,
                adaptive: None,
                last_change: now,
                pacer: None,
                window_start: now,
                window_sent: 0,
                sent_rate: 0.0,
            }),
            probing: AtomicBool::new(false),
            probed: AtomicBool::new(false),
            first_response: tokio::sync::Notify::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding it: every update is a
        // plain assignment.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until a request may be sent, or returns `DeadlinePassed` without waiting when the
    /// permit would come after `deadline`.
    pub(crate) async fn acquire(&self, deadline: Option<Instant>) -> Result<(), DeadlinePassed> {
        self.slow_start(deadline).await;
        if let Some(fixed) = &self.fixed {
            while let Some(wait) = fixed.check() {
                sleep(wait, deadline).await?;
            }
        }
        loop {
            let (paused_until, pacer) = {
                let state = self.state();
                (state.paused_until, state.pacer.clone())
            };
            if let Some(until) = paused_until.filter(|&t| t > Instant::now()) {
                sleep(until.saturating_duration_since(Instant::now()), deadline).await?;
                continue;
            }
            if let Some(wait) = pacer.as_ref().and_then(|p| p.check()) {
                sleep(wait, deadline).await?;
                continue;
            }
            self.count_send();
            return Ok(());
        }
    }

    /// The first request goes alone; the others wait for its answer, at most `PROBE_WAIT`.
    async fn slow_start(&self, deadline: Option<Instant>) {
        if self.probed.load(Ordering::Acquire) || !self.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let notified = self.first_response.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.probed.load(Ordering::Acquire) {
            return;
        }
        let limit = Instant::now() + PROBE_WAIT;
        let until = deadline.map_or(limit, |d| d.min(limit));
        let _ = tokio::time::timeout_at(until.into(), notified).await;
    }

    fn count_send(&self) {
        let mut state = self.state();
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(state.window_start);
        if elapsed >= Duration::from_secs(1) {
            state.sent_rate = f64::from(state.window_sent) / elapsed.as_secs_f64();
            state.window_start = now;
            state.window_sent = 0;
        }
        state.window_sent = state.window_sent.saturating_add(1);
    }

    /// Marks the end of an attempt that got no response (the slow start then lets others go).
    pub(crate) fn attempt_ended(&self) {
        if !self.probed.swap(true, Ordering::AcqRel) {
            self.first_response.notify_waiters();
        }
    }

    /// Learns from a response's `X-RateLimit-*` headers; grows the adaptive rate after a
    /// response that was not throttled.
    pub(crate) fn observe(&self, headers: &HeaderMap, throttled: bool) {
        let limit = header_f64(headers, "x-ratelimit-limit").filter(|l| *l > 0.0);
        let remaining = header_f64(headers, "x-ratelimit-remaining");
        let reset = header_f64(headers, "x-ratelimit-reset");
        {
            let mut state = self.state();
            let now = Instant::now();
            if let Some(limit) = limit {
                let ceiling = limit * HEADROOM;
                if state.ceiling != Some(ceiling) {
                    tracing::debug!(limit, "server rate limit learned");
                    state.ceiling = Some(ceiling);
                    state.repace();
                }
            }
            if remaining == Some(0.0) && !throttled {
                let wait = match limit {
                    Some(limit) => Duration::from_secs_f64(1.0 / limit),
                    None => reset.map_or(Duration::ZERO, Duration::from_secs_f64),
                };
                state.pause(now + wait);
            }
            if !throttled && let Some(rate) = state.adaptive {
                let dt = now
                    .saturating_duration_since(state.last_change)
                    .as_secs_f64();
                if dt >= 0.25 {
                    let mut grown = rate * INCREASE_PER_SEC.powf(dt);
                    // Without evidence of more demand, grow no further than twice what is sent.
                    grown = grown.min((2.0 * state.sent_rate).max(rate));
                    if let Some(ceiling) = state.ceiling {
                        grown = grown.min(ceiling);
                    }
                    state.adaptive = Some(grown);
                    state.last_change = now;
                    state.repace();
                }
            }
        }
        self.attempt_ended();
    }

    /// A throttled response: pauses every request of the client for `wait`, and lowers the
    /// adaptive rate (once per pause). Returns when the pause ends.
    pub(crate) fn throttled(&self, wait: Duration) -> Instant {
        let mut state = self.state();
        let now = Instant::now();
        let already_paused = state.paused_until.is_some_and(|t| t > now);
        // Lower the rate once per pause, and only from a known rate: a lone request says
        // nothing about how fast the client was sending.
        let sending = state
            .pacer
            .as_ref()
            .map(|p| p.per_second)
            .unwrap_or(f64::INFINITY)
            .min(state.current_send_rate(now));
        if !already_paused && sending.is_finite() {
            let lowered = (sending * DECREASE).max(MIN_RATE);
            tracing::debug!(
                rate = lowered,
                wait_ms = wait.as_millis() as u64,
                "throttled: pausing the client"
            );
            state.adaptive = Some(lowered);
            state.last_change = now + wait;
            state.repace();
        }
        state.pause(now + wait)
    }

    /// The rate the client currently paces itself at, if any (requests per second).
    #[cfg(test)]
    pub(crate) fn rate(&self) -> Option<f64> {
        self.state().pacer.as_ref().map(|p| p.per_second)
    }
}

impl State {
    fn pause(&mut self, until: Instant) -> Instant {
        let until = self.paused_until.map_or(until, |t| t.max(until));
        self.paused_until = Some(until);
        until
    }

    fn current_send_rate(&self, now: Instant) -> f64 {
        let elapsed = now
            .saturating_duration_since(self.window_start)
            .as_secs_f64();
        let current = if elapsed > 0.05 {
            f64::from(self.window_sent) / elapsed
        } else {
            0.0
        };
        let rate = self.sent_rate.max(current);
        if rate > 0.0 { rate } else { f64::INFINITY }
    }

    /// Rebuilds the pacer when `min(ceiling, adaptive)` moved by more than 1%.
    fn repace(&mut self) {
        let target = match (self.ceiling, self.adaptive) {
            (Some(c), Some(a)) => Some(c.min(a)),
            (c, a) => c.or(a),
        };
        let current = self.pacer.as_ref().map(|p| p.per_second);
        let moved = match (target, current) {
            (Some(t), Some(c)) => (t - c).abs() > c * 0.01,
            (t, c) => t.is_some() != c.is_some(),
        };
        if moved {
            self.pacer = target.map(|t| Arc::new(Pacer::new(t, catch_up_burst(t))));
        }
    }
}

/// The burst of the adaptive pacer. A request that wakes late (timers fire up to a
/// millisecond after their time) would otherwise push every later one back: at 100/s that
/// alone costs a tenth of the rate. A burst of two lets the next request catch up, and stays
/// within the burst of any token bucket that allows two requests; below 10/s, where the lag is
/// a small share of the interval, requests stay one at a time.
fn catch_up_burst(per_second: f64) -> NonZeroU32 {
    if per_second >= 10.0 {
        NonZeroU32::MIN.saturating_add(1)
    } else {
        NonZeroU32::MIN
    }
}

/// Sleeps for `wait`, unless that would end after `deadline`.
async fn sleep(wait: Duration, deadline: Option<Instant>) -> Result<(), DeadlinePassed> {
    let until = Instant::now() + wait;
    if deadline.is_some_and(|d| until > d) {
        return Err(DeadlinePassed);
    }
    tokio::time::sleep_until(until.into()).await;
    Ok(())
}

fn header_f64(headers: &HeaderMap, name: &str) -> Option<f64> {
    headers
        .get(name)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn an_advertised_limit_sets_the_pace_just_under_it() {
        let throttle = Throttle::new(None);
        assert_eq!(throttle.rate(), None);
        throttle.observe(&headers(&[("x-ratelimit-limit", "20")]), false);
        assert_eq!(throttle.rate(), Some(20.0 * HEADROOM));
    }

    #[test]
    fn a_throttled_response_pauses_and_lowers_the_rate() {
        let throttle = Throttle::new(None);
        throttle.observe(&headers(&[("x-ratelimit-limit", "100")]), false);
        let until = throttle.throttled(Duration::from_secs(3));
        assert!(until > Instant::now() + Duration::from_millis(2900));
        let rate = throttle.rate().unwrap_or_default();
        assert!((rate - 97.0 * DECREASE).abs() < 1e-9, "{rate}");
        // A second 429 of the same burst neither shortens the pause nor lowers the rate again.
        let again = throttle.throttled(Duration::from_secs(1));
        assert_eq!(again, until);
        assert_eq!(throttle.rate(), Some(rate));
    }

    #[tokio::test]
    async fn a_pause_holds_every_request_and_the_deadline_is_respected() {
        let throttle = Throttle::new(None);
        throttle.attempt_ended();
        let until = throttle.throttled(Duration::from_millis(300));
        let soon = Instant::now() + Duration::from_millis(100);
        assert_eq!(throttle.acquire(Some(soon)).await, Err(DeadlinePassed));
        assert_eq!(throttle.acquire(None).await, Ok(()));
        assert!(Instant::now() >= until);
    }

    #[test]
    fn a_fixed_rate_spaces_requests() {
        let pacer = Pacer::new(10.0, NonZeroU32::MIN);
        assert_eq!(pacer.check(), None);
        let wait = pacer.check().unwrap_or_default();
        assert!(wait > Duration::from_millis(50) && wait <= Duration::from_millis(100));
    }
}
