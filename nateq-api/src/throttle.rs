//! Client-wide throttling: one [`Throttle`] per [`Client`](crate::Client), shared by its clones
//! and by every request in flight. It enforces what the pace controller (`control`) learns.
//!
//! - **Pause.** A 429 (or a 503 with `Retry-After`) that is the API's limit pauses every
//!   request of the client until its `Retry-After` has passed, not only the refused one. A 429
//!   that is not the limit (sporadic, or with `X-RateLimit-Remaining` above 0) delays only its
//!   own request.
//! - **Pace.** Requests go no faster than the controller's pace: just under an announced
//!   `X-RateLimit-Limit`, or the pace learned from 429s. `X-RateLimit-Remaining: 0` on a
//!   success holds requests until the next one is allowed (`1 / limit` seconds, or
//!   `X-RateLimit-Reset` seconds when no limit is given).
//! - **Slow start.** Until the API has said something about its limit, the requests in flight
//!   are capped: one at first, one more for each answer that is not a 429 (a burst of
//!   concurrent requests learns the limit from the first answers instead of being refused
//!   together). It ends at the first 429, at [`OPEN_WINDOW`] requests in flight, or
//!   [`SLOW_START_FOR`] after the first request, whichever comes first.
//! - **Fixed rate.** [`ClientBuilder::rate_limit`](crate::ClientBuilder::rate_limit) adds a
//!   `governor` rate limiter that every request passes.
//!
//! Waiting for a permit is not attempt time: the per-attempt timeout starts once the request
//! may be sent. Only the call's overall deadline bounds the wait.

mod control;

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};
use reqwest::header::HeaderMap;

use control::{Announcement, Controller, Verdict};

/// The longest the slow start lasts, from the client's first request.
pub(crate) const SLOW_START_FOR: Duration = Duration::from_secs(2);
/// The slow start ends when this many requests may be in flight.
pub(crate) const OPEN_WINDOW: u32 = 64;
/// The most a request may go ahead of its slot to make up for a late one (see [`catch_up`]).
pub(crate) const CATCH_UP: Duration = Duration::from_millis(2);

/// The waits a request may have to make before it is sent.
#[derive(Debug)]
pub(crate) struct Throttle {
    fixed: Option<FixedRate>,
    /// The longest pause a success with no requests remaining may ask for (the retry
    /// policy's `max_retry_after`, the cap of every `Retry-After`).
    max_pause: Duration,
    state: Mutex<State>,
    /// The slow start is on (read without the lock on every request).
    starting: AtomicBool,
    /// A slot of the slow start's window was freed, or the slow start ended.
    slot_freed: tokio::sync::Notify,
}

/// The call's overall deadline passed while it waited for a permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeadlinePassed;

#[derive(Debug)]
struct State {
    paused_until: Option<Instant>,
    control: Controller,
    /// Enforces the controller's pace, when it has one.
    pacer: Option<Pacer>,
    start: SlowStart,
}

/// The slow start's window of requests in flight.
#[derive(Debug)]
struct SlowStart {
    window: u32,
    in_flight: u32,
    /// When it ends at the latest (set by the first request).
    ends: Option<Instant>,
}

/// The pace as a schedule (the generic cell rate algorithm): a request may go at `earliest`,
/// and the one after it one interval later, or sooner by up to `tolerance` when this one went
/// late. Unlike a `governor` limiter, whose quota is fixed, its rate changes in place without
/// forgetting when the next request may go.
#[derive(Debug, Clone, Copy)]
struct Pacer {
    per_second: f64,
    interval: Duration,
    tolerance: Duration,
    earliest: Instant,
}

/// `ClientBuilder::rate_limit`: a `governor` limiter and the rate it was built for.
#[derive(Debug)]
struct FixedRate {
    #[expect(
        dead_code,
        reason = "shown by Debug, so that a client says its fixed rate"
    )]
    per_second: f64,
    limiter: DefaultDirectRateLimiter,
}

impl FixedRate {
    fn new(per_second: f64) -> FixedRate {
        let period = Duration::from_secs_f64(1.0 / per_second.max(0.01));
        let quota =
            Quota::with_period(period).unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN));
        FixedRate {
            per_second,
            limiter: DefaultDirectRateLimiter::direct(quota),
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

impl Pacer {
    /// A pace of `per_second` whose first request may go at `from`.
    fn new(per_second: f64, from: Instant) -> Pacer {
        let mut pacer = Pacer {
            per_second,
            interval: Duration::ZERO,
            tolerance: Duration::ZERO,
            earliest: from,
        };
        pacer.set_rate(per_second);
        pacer
    }

    fn set_rate(&mut self, per_second: f64) {
        self.per_second = per_second;
        self.interval = Duration::from_secs_f64(1.0 / per_second.max(control::MIN_RATE));
        self.tolerance = catch_up(self.interval);
    }

    /// No request before `at`.
    fn hold_until(&mut self, at: Instant) {
        self.earliest = self.earliest.max(at);
    }

    /// Takes a slot if one is free at `now`, otherwise says how long until one is.
    fn take(&mut self, now: Instant) -> Option<Duration> {
        if now < self.earliest {
            return Some(self.earliest - now);
        }
        let on_time = self.earliest + self.interval;
        let late = (now + self.interval)
            .checked_sub(self.tolerance)
            .unwrap_or(now);
        self.earliest = on_time.max(late);
        None
    }
}

/// How much earlier than its slot a request may go when the one before it went late. Timers
/// fire up to a millisecond after their time, and a late request would otherwise push every
/// later one back (at 100/s that alone costs a tenth of the rate). Catching up by at most
/// [`CATCH_UP`] keeps two requests at least `interval - CATCH_UP` apart: a token bucket that
/// allows two requests at once, and even one that allows only one, still has a token for the
/// second (a full interval of catch-up would send them back to back, and a bucket of two
/// drained by earlier late wake-ups refuses the second).
fn catch_up(interval: Duration) -> Duration {
    interval.min(CATCH_UP)
}

/// What the next step of `acquire` is.
enum Step {
    /// Wait for a slot of the slow start's window, until the slow start ends at this instant.
    Slot(Instant),
    /// Sleep this long (a pause, or the pace).
    Sleep(Duration),
    /// Go.
    Go,
}

impl Throttle {
    /// A throttle with an optional fixed rate (requests per second, positive and finite).
    pub(crate) fn new(fixed_rate: Option<f64>, max_pause: Duration) -> Throttle {
        Throttle {
            fixed: fixed_rate.map(FixedRate::new),
            max_pause,
            state: Mutex::new(State {
                paused_until: None,
                control: Controller::new(Instant::now()),
                pacer: None,
                start: SlowStart {
                    window: 1,
                    in_flight: 0,
                    ends: None,
                },
            }),
            starting: AtomicBool::new(true),
            slot_freed: tokio::sync::Notify::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding it: every update keeps
        // it valid at each step.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until a request may be sent, or returns `DeadlinePassed` without waiting when the
    /// permit would come after `deadline`.
    pub(crate) async fn acquire(&self, deadline: Option<Instant>) -> Result<(), DeadlinePassed> {
        if let Some(fixed) = &self.fixed {
            while let Some(wait) = fixed.check() {
                sleep(wait, deadline).await?;
            }
        }
        loop {
            let slot_freed = self.slot_freed.notified();
            tokio::pin!(slot_freed);
            let step = {
                let mut state = self.state();
                let now = Instant::now();
                if let Some(ends) = self.window_full(&mut state, now) {
                    // Registered under the lock: a slot freed after it is seen.
                    slot_freed.as_mut().enable();
                    Step::Slot(ends)
                } else if let Some(until) = state.paused_until.filter(|&t| t > now) {
                    Step::Sleep(until - now)
                } else if let Some(wait) = state.pacer.as_mut().and_then(|p| p.take(now)) {
                    Step::Sleep(wait)
                } else {
                    state.control.sent(now);
                    if self.starting.load(Ordering::Acquire) {
                        state.start.in_flight += 1;
                    }
                    Step::Go
                }
            };
            match step {
                Step::Go => return Ok(()),
                Step::Sleep(wait) => sleep(wait, deadline).await?,
                Step::Slot(ends) => {
                    let until = deadline.map_or(ends, |d| d.min(ends));
                    if tokio::time::timeout_at(until.into(), slot_freed)
                        .await
                        .is_err()
                        && deadline.is_some_and(|d| until >= d)
                    {
                        return Err(DeadlinePassed);
                    }
                }
            }
        }
    }

    /// While the slow start is on and its window is full: when the slow start ends.
    fn window_full(&self, state: &mut State, now: Instant) -> Option<Instant> {
        if !self.starting.load(Ordering::Acquire) {
            return None;
        }
        let ends = *state.start.ends.get_or_insert(now + SLOW_START_FOR);
        if now >= ends {
            self.end_slow_start();
            return None;
        }
        (state.start.in_flight >= state.start.window).then_some(ends)
    }

    fn end_slow_start(&self) {
        if self.starting.swap(false, Ordering::AcqRel) {
            self.slot_freed.notify_waiters();
        }
    }

    /// Frees the slow start's slot of an attempt that ended; `grow` widens the window.
    fn release(&self, grow: bool) {
        if !self.starting.load(Ordering::Acquire) {
            return;
        }
        let open = {
            let mut state = self.state();
            let start = &mut state.start;
            start.in_flight = start.in_flight.saturating_sub(1);
            if grow {
                start.window = start.window.saturating_add(1);
            }
            start.window >= OPEN_WINDOW
        };
        if open {
            self.end_slow_start();
        } else {
            self.slot_freed.notify_waiters();
        }
    }

    /// Marks the end of an attempt that got no response.
    pub(crate) fn attempt_ended(&self) {
        self.release(false);
    }

    /// Learns from a response's `X-RateLimit-*` headers; a `throttled` response is then
    /// reported by [`Throttle::throttled`].
    pub(crate) fn observe(&self, headers: &HeaderMap, throttled: bool) {
        if throttled {
            self.release(false);
            return;
        }
        let announced = announcement(headers);
        {
            let mut state = self.state();
            let now = Instant::now();
            state.control.answered(now, announced);
            if announced.remaining == Some(0.0) {
                let secs = match announced.limit.filter(|l| *l > 0.0) {
                    Some(limit) => 1.0 / limit,
                    None => announced.reset.unwrap_or(0.0),
                };
                // A header may ask for more than a `Duration` holds (a limit of 1e-300): the
                // pause is capped as a `Retry-After` is.
                let wait = Duration::try_from_secs_f64(secs)
                    .unwrap_or(Duration::MAX)
                    .min(self.max_pause);
                state.pause(now + wait);
            }
            state.repace(now);
        }
        self.release(true);
    }

    /// A throttled response asking for `wait`: pauses every request of the client when it is
    /// the API's limit, and lowers the pace (once per pause). Returns when the refused request
    /// may be sent again.
    pub(crate) fn throttled(&self, headers: &HeaderMap, wait: Duration) -> Instant {
        let announced = announcement(headers);
        let until = {
            let mut state = self.state();
            let now = Instant::now();
            let paused = state.paused_until.is_some_and(|t| t > now);
            match state.control.refused(now, now + wait, announced, paused) {
                Verdict::Pause => {
                    state.repace(now);
                    state.pause(now + wait)
                }
                Verdict::RequestOnly => now + wait,
            }
        };
        self.end_slow_start();
        until
    }

    /// The pace the client currently keeps, if any (requests per second).
    #[cfg(test)]
    pub(crate) fn rate(&self) -> Option<f64> {
        self.state().pacer.map(|p| p.per_second)
    }
}

impl State {
    /// Pauses every request until `until` (or later, if already paused longer).
    fn pause(&mut self, until: Instant) -> Instant {
        let until = self.paused_until.map_or(until, |t| t.max(until));
        self.paused_until = Some(until);
        if let Some(pacer) = self.pacer.as_mut() {
            pacer.hold_until(until);
        }
        until
    }

    /// Follows the controller's pace when it moved by more than 1%.
    fn repace(&mut self, now: Instant) {
        match (self.control.pace(), self.pacer.as_mut()) {
            (None, _) => self.pacer = None,
            (Some(pace), None) => self.pacer = Some(Pacer::new(pace, now)),
            (Some(pace), Some(pacer)) => {
                if (pace - pacer.per_second).abs() > pacer.per_second * 0.01 {
                    pacer.set_rate(pace);
                }
            }
        }
    }
}

/// The `X-RateLimit-*` headers of a response.
fn announcement(headers: &HeaderMap) -> Announcement {
    Announcement {
        limit: header_f64(headers, "x-ratelimit-limit"),
        remaining: header_f64(headers, "x-ratelimit-remaining"),
        reset: header_f64(headers, "x-ratelimit-reset"),
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
        let throttle = Throttle::new(None, Duration::from_secs(300));
        assert_eq!(throttle.rate(), None);
        throttle.observe(&headers(&[("x-ratelimit-limit", "20")]), false);
        assert_eq!(throttle.rate(), Some(20.0 * control::HEADROOM));
        // A new limit moves the pace with it; a move under 1% is not worth a new schedule.
        throttle.observe(&headers(&[("x-ratelimit-limit", "10")]), false);
        assert_eq!(throttle.rate(), Some(10.0 * control::HEADROOM));
        throttle.observe(&headers(&[("x-ratelimit-limit", "10.05")]), false);
        assert_eq!(throttle.rate(), Some(10.0 * control::HEADROOM));
    }

    #[test]
    fn a_throttled_response_pauses_once_per_pause() {
        let throttle = Throttle::new(None, Duration::from_secs(300));
        let until = throttle.throttled(&HeaderMap::new(), Duration::from_secs(3));
        assert!(until > Instant::now() + Duration::from_millis(2900));
        let rate = throttle.rate();
        assert_eq!(rate, Some(control::START_RATE));
        // A second 429 of the same burst neither shortens the pause nor lowers the pace again.
        let again = throttle.throttled(&HeaderMap::new(), Duration::from_secs(1));
        assert_eq!(again, until);
        assert_eq!(throttle.rate(), rate);
        // One whose server says requests remain delays only its own request.
        let remaining = headers(&[("x-ratelimit-limit", "50"), ("x-ratelimit-remaining", "7")]);
        let own = throttle.throttled(&remaining, Duration::from_millis(100));
        assert!(own < until);
    }

    #[tokio::test]
    async fn a_pause_holds_every_request_and_the_deadline_is_respected() {
        let throttle = Throttle::new(None, Duration::from_secs(300));
        throttle.end_slow_start();
        let until = throttle.throttled(&HeaderMap::new(), Duration::from_millis(300));
        let soon = Instant::now() + Duration::from_millis(100);
        assert_eq!(throttle.acquire(Some(soon)).await, Err(DeadlinePassed));
        assert_eq!(throttle.acquire(None).await, Ok(()));
        assert!(Instant::now() >= until);
    }

    #[tokio::test]
    async fn the_slow_start_widens_its_window_with_each_answer() {
        let throttle = Throttle::new(None, Duration::from_secs(300));
        assert_eq!(throttle.acquire(None).await, Ok(()));
        // The window is one: a second request waits for the first answer.
        let soon = Instant::now() + Duration::from_millis(50);
        assert_eq!(throttle.acquire(Some(soon)).await, Err(DeadlinePassed));
        throttle.observe(&HeaderMap::new(), false);
        // One answer frees its slot and adds one: two may go now, not three.
        assert_eq!(throttle.acquire(None).await, Ok(()));
        assert_eq!(throttle.acquire(None).await, Ok(()));
        let soon = Instant::now() + Duration::from_millis(50);
        assert_eq!(throttle.acquire(Some(soon)).await, Err(DeadlinePassed));
        // An attempt that got no answer frees its slot without widening the window.
        throttle.attempt_ended();
        assert_eq!(throttle.acquire(None).await, Ok(()));
        let soon = Instant::now() + Duration::from_millis(50);
        assert_eq!(throttle.acquire(Some(soon)).await, Err(DeadlinePassed));
        // A 429 ends the slow start.
        throttle.throttled(&HeaderMap::new(), Duration::ZERO);
        let soon = Instant::now() + Duration::from_millis(500);
        assert_eq!(throttle.acquire(Some(soon)).await, Ok(()));
    }

    #[test]
    fn a_pacer_spaces_requests_and_lets_a_late_one_catch_up() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(20.0, t0);
        assert_eq!(pacer.take(t0), None);
        assert_eq!(pacer.take(t0), Some(Duration::from_millis(50)));
        // Woken 1 ms late, the next goes, and the one after it keeps its slot.
        let late = t0 + Duration::from_millis(51);
        assert_eq!(pacer.take(late), None);
        assert_eq!(pacer.take(late), Some(Duration::from_millis(49)));
        // Woken 10 ms late, the one after it catches up 2 ms at most.
        let next = t0 + Duration::from_millis(110);
        assert_eq!(pacer.take(next), None);
        assert_eq!(pacer.take(next), Some(Duration::from_millis(48)));
        // A new rate keeps the next slot and spaces the ones after it.
        pacer.set_rate(10.0);
        let next = t0 + Duration::from_millis(158);
        assert_eq!(pacer.take(next), None);
        assert_eq!(pacer.take(next), Some(Duration::from_millis(100)));
        // A pause holds it.
        pacer.hold_until(next + Duration::from_secs(1));
        assert_eq!(pacer.take(next), Some(Duration::from_secs(1)));
    }

    #[test]
    fn a_fixed_rate_spaces_requests() {
        let fixed = FixedRate::new(10.0);
        assert_eq!(fixed.check(), None);
        let wait = fixed.check().unwrap_or_default();
        assert!(wait > Duration::from_millis(50) && wait <= Duration::from_millis(100));
    }
}
