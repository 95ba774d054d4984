//! The pace controller: what the client learns from the API's answers, and the pace it keeps.
//!
//! Pure logic over explicit instants (no clock, no locks), so that every transition is tested
//! deterministically; [`Throttle`](super::Throttle) feeds it and enforces its pace.
//!
//! - **Announced limit.** `X-RateLimit-Limit` (requests per second), on any answer, 429s
//!   included, sets a ceiling of [`HEADROOM`] of it. Refused anyway (requests bunched on the
//!   way, a shared key), the pace steps back to [`HOLD_CUT`] of itself and returns to the
//!   ceiling by [`RETURN_SLOPE`] of it a second.
//! - **Search.** A 429 without `X-RateLimit-*` while nothing paces the client: the limit is
//!   there but unknown. The pace starts from the requests that succeeded in the last second
//!   (at least [`START_RATE`]) and doubles every half second until the next 429.
//! - **Approach.** After the search's 429, the pace drops to [`SEARCH_CUT`] of the pace that
//!   was refused and grows by [`APPROACH_SLOPE`] of that a second, slowly enough that the
//!   next 429 comes just past the limit.
//! - **Hold.** A 429 near the limit (after at least [`EDGE_ANSWERS`] answers since the client
//!   resumed) holds [`HOLD_CUT`] of the refused pace, with no growth for [`HOLD_FOR`]; then
//!   the pace creeps up by [`PROBE_SLOPE`] a second. A 429 sooner means the pace is far above
//!   the limit: it drops to [`FAR_CUT`] and approaches again. While 429s near the limit keep
//!   coming, the pace grows no higher than [`HOLD_CUT`] of the pace of the last one.
//! - **Sporadic.** A bare 429 is futile when the client already slowed to [`FUTILE_SHARE`] of
//!   the pace of its first 429 near the limit (the edge), and it came no later than twice the
//!   answers the edge came after: slowing down did not make 429s rarer. After
//!   [`FUTILE_LIMIT`] futile ones the 429s are taken as sporadic: they no longer pause the
//!   client or lower its pace (each refused request waits its own `Retry-After`), and the pace
//!   grows again from the edge, until 429s exceed [`NOISE_EXIT`] of the last
//!   [`NOISE_WINDOW`] answers. A 429 with `X-RateLimit-Remaining` above 0 is not the limit in
//!   any state.

use std::time::{Duration, Instant};

/// The share of an advertised `X-RateLimit-Limit` the client uses: 2% below it is 1 ms of
/// slack per request at 20/s and 0.2 ms at 100/s, which the bucket's burst absorbs.
pub(crate) const HEADROOM: f64 = 0.98;
/// The lowest pace a search starts from (requests per second).
pub(crate) const START_RATE: f64 = 10.0;
/// A search multiplies the pace by this every second (doubling every half second).
pub(crate) const SEARCH_GROWTH: f64 = 4.0;
/// After a search's 429, the pace drops to this share of the refused pace.
pub(crate) const SEARCH_CUT: f64 = 0.7;
/// While approaching, the pace grows by this share of where the approach started, a second.
pub(crate) const APPROACH_SLOPE: f64 = 0.1;
/// A 429 near the limit holds this share of the refused pace.
pub(crate) const HOLD_CUT: f64 = 0.94;
/// A 429 soon after resuming (far above the limit) cuts the pace to this share.
pub(crate) const FAR_CUT: f64 = 0.7;
/// Refused under an announced limit, the pace returns to the ceiling by this share of it a
/// second.
pub(crate) const RETURN_SLOPE: f64 = 0.02;
/// How long a hold lasts without a 429 before the pace creeps up again.
pub(crate) const HOLD_FOR: Duration = Duration::from_secs(60);
/// After a hold, the pace grows by this share a second.
pub(crate) const PROBE_SLOPE: f64 = 0.01;
/// Answers since resuming below which a 429 is taken as far above the limit (at least this,
/// up to four times it when the shortest run of answers before a 429 was longer).
pub(crate) const EDGE_ANSWERS: u32 = 10;
/// A bare 429 at or below this share of the pace of the first 429 near the limit is futile.
pub(crate) const FUTILE_SHARE: f64 = 0.75;
/// Futile 429s (since the edge was found) after which 429s are taken as sporadic.
pub(crate) const FUTILE_LIMIT: u32 = 2;
/// Answers over which the share of sporadic 429s is watched.
pub(crate) const NOISE_WINDOW: u32 = 32;
/// A share of 429s above this among the last answers ends the sporadic state.
pub(crate) const NOISE_EXIT: f64 = 0.25;
/// The adaptive pace never drops below this (requests per second).
pub(crate) const MIN_RATE: f64 = 0.5;

/// What the `X-RateLimit-*` headers of one answer say.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Announcement {
    /// `X-RateLimit-Limit`, read as requests per second.
    pub(crate) limit: Option<f64>,
    /// `X-RateLimit-Remaining`.
    pub(crate) remaining: Option<f64>,
    /// `X-RateLimit-Reset`, seconds.
    pub(crate) reset: Option<f64>,
}

/// What a 429 asks of the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A real limit: the whole client pauses for the `Retry-After`.
    Pause,
    /// Not the limit: only the refused request waits.
    RequestOnly,
}

/// How the adaptive pace moves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Phase {
    /// Doubling every half second: the limit is unknown.
    Search,
    /// Growing linearly by `slope` requests per second, every second.
    Approach { slope: f64 },
    /// Held since the last 429.
    Hold,
}

/// A pace learned from 429s.
#[derive(Debug, Clone, Copy)]
struct Adaptive {
    rate: f64,
    phase: Phase,
    /// When `rate` was last grown or cut.
    changed: Instant,
}

/// The learned state of one client.
#[derive(Debug)]
pub(crate) struct Controller {
    /// 98% of the last `X-RateLimit-Limit`.
    ceiling: Option<f64>,
    adaptive: Option<Adaptive>,
    /// When the last 429 taken as the limit came.
    last_refusal: Option<Instant>,
    /// Answers that were not 429s since the client last resumed from a pause.
    answers_since_resume: u32,
    /// The shortest run of answers before a 429 taken as the limit.
    shortest_run: Option<u32>,
    /// The pace of the first 429 near the limit (since the pace last grew past it), and the
    /// answers since resuming that came before it.
    edge: Option<(f64, u32)>,
    /// While 429s near the limit keep coming, the pace grows no higher than [`HOLD_CUT`] of the
    /// pace of the last one: slowing down must be seen to help.
    cap: Option<f64>,
    /// Futile 429s in a row.
    futile: u32,
    /// 429s are sporadic, not a limit.
    sporadic: bool,
    /// The last answers, newest in bit 0: 1 for a 429.
    recent: u32,
    recent_len: u32,
    meter: Meter,
}

/// Requests sent and answered successfully, per one-second window.
#[derive(Debug)]
struct Meter {
    window_start: Instant,
    sent: u32,
    ok: u32,
    /// The rates of the last full window.
    sent_rate: f64,
    ok_rate: f64,
}

impl Meter {
    fn roll(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.window_start);
        if elapsed >= Duration::from_secs(1) {
            let secs = elapsed.as_secs_f64();
            self.sent_rate = f64::from(self.sent) / secs;
            self.ok_rate = f64::from(self.ok) / secs;
            self.window_start = now;
            self.sent = 0;
            self.ok = 0;
        }
    }

    /// The larger of the last full window's rate and the current window's so far.
    fn rate(&self, now: Instant, last: f64, current: u32) -> f64 {
        let elapsed = now
            .saturating_duration_since(self.window_start)
            .as_secs_f64();
        let so_far = if elapsed > 0.05 {
            f64::from(current) / elapsed
        } else {
            0.0
        };
        last.max(so_far)
    }
}

impl Controller {
    pub(crate) fn new(now: Instant) -> Controller {
        Controller {
            ceiling: None,
            adaptive: None,
            last_refusal: None,
            answers_since_resume: 0,
            shortest_run: None,
            edge: None,
            cap: None,
            futile: 0,
            sporadic: false,
            recent: 0,
            recent_len: 0,
            meter: Meter {
                window_start: now,
                sent: 0,
                ok: 0,
                sent_rate: 0.0,
                ok_rate: 0.0,
            },
        }
    }

    /// The pace to keep (requests per second), if any.
    pub(crate) fn pace(&self) -> Option<f64> {
        let adaptive = self.adaptive.map(|a| a.rate);
        match (self.ceiling, adaptive) {
            (Some(c), Some(a)) => Some(c.min(a)),
            (c, a) => c.or(a),
        }
    }

    /// The phase of the adaptive pace, if there is one.
    #[cfg(test)]
    pub(crate) fn phase(&self) -> Option<Phase> {
        self.adaptive.map(|a| a.phase)
    }

    /// Whether 429s are taken as sporadic.
    #[cfg(test)]
    pub(crate) fn is_sporadic(&self) -> bool {
        self.sporadic
    }

    /// A request was sent.
    pub(crate) fn sent(&mut self, now: Instant) {
        self.meter.roll(now);
        self.meter.sent = self.meter.sent.saturating_add(1);
    }

    /// An answer that was not a 429 (nor a 503 with `Retry-After`).
    pub(crate) fn answered(&mut self, now: Instant, announced: Announcement) {
        self.meter.roll(now);
        self.meter.ok = self.meter.ok.saturating_add(1);
        self.answers_since_resume = self.answers_since_resume.saturating_add(1);
        self.remember(false);
        self.announce(announced);
        self.grow(now);
    }

    /// A 429 (or a 503 with `Retry-After`) asking the client to wait until `resume`; `paused`
    /// when the client is already paused (an answer to a request sent before the pause: the
    /// same episode).
    pub(crate) fn refused(
        &mut self,
        now: Instant,
        resume: Instant,
        announced: Announcement,
        paused: bool,
    ) -> Verdict {
        self.meter.roll(now);
        self.remember(true);
        if announced.remaining.is_some_and(|r| r >= 1.0) {
            // The server says requests remain: whatever this 429 is, it is not the limit.
            return Verdict::RequestOnly;
        }
        // The pace the refused request was sent at, before this answer teaches anything.
        let pace = self.pace();
        self.announce(announced);
        let bare = announced.limit.is_none() && announced.remaining.is_none();
        if bare && self.sporadic {
            if self.refused_share() <= NOISE_EXIT {
                return Verdict::RequestOnly;
            }
            tracing::debug!("429s exceed a quarter of the answers: a limit after all");
            self.sporadic = false;
            self.end_chain();
        }
        if paused {
            return Verdict::Pause;
        }
        self.cut(now, resume, pace, bare);
        self.answers_since_resume = 0;
        Verdict::Pause
    }

    fn remember(&mut self, refused: bool) {
        self.recent = (self.recent << 1) | u32::from(refused);
        self.recent_len = (self.recent_len + 1).min(NOISE_WINDOW);
    }

    fn refused_share(&self) -> f64 {
        let mask = if self.recent_len >= 32 {
            u32::MAX
        } else {
            (1u32 << self.recent_len) - 1
        };
        f64::from((self.recent & mask).count_ones()) / f64::from(self.recent_len.max(1))
    }

    fn announce(&mut self, announced: Announcement) {
        if let Some(limit) = announced.limit.filter(|l| *l > 0.0) {
            let ceiling = limit * HEADROOM;
            if self.ceiling != Some(ceiling) {
                tracing::debug!(limit, "server rate limit learned");
                self.ceiling = Some(ceiling);
            }
        }
    }

    /// Grows the adaptive pace after an answer that was not a 429.
    fn grow(&mut self, now: Instant) {
        let sent_rate = self.meter.rate(now, self.meter.sent_rate, self.meter.sent);
        let ceiling = self.ceiling;
        let Some(adaptive) = self.adaptive.as_mut() else {
            return;
        };
        let dt = now.saturating_duration_since(adaptive.changed);
        if dt < Duration::from_millis(50) {
            return;
        }
        let secs = dt.as_secs_f64();
        let grown = match adaptive.phase {
            Phase::Search => adaptive.rate * SEARCH_GROWTH.powf(secs),
            Phase::Approach { slope } => adaptive.rate + slope * secs,
            Phase::Hold => {
                if self.last_refusal.is_some_and(|t| now < t + HOLD_FOR) {
                    return;
                }
                adaptive.phase = Phase::Approach {
                    slope: adaptive.rate * PROBE_SLOPE,
                };
                adaptive.rate
            }
        };
        // Without evidence of more demand, grow no further than twice what is sent.
        let mut rate = grown.min((2.0 * sent_rate).max(adaptive.rate));
        if let Some(ceiling) = ceiling {
            rate = rate.min(ceiling);
        }
        if self.last_refusal.is_some_and(|t| now >= t + HOLD_FOR / 2) {
            // Quiet for long enough: the next 429 starts a new chain.
            self.edge = None;
            self.cap = None;
            self.futile = 0;
        }
        if let Some(cap) = self.cap {
            rate = rate.min(cap).max(adaptive.rate.min(cap));
        }
        adaptive.rate = rate;
        adaptive.changed = now;
    }

    /// A 429 taken as the limit, to a request sent at `pace`: the new pace (growing again from
    /// `resume`, when the pause ends), and whether 429s look sporadic.
    fn cut(&mut self, now: Instant, resume: Instant, pace: Option<f64>, bare: bool) {
        let answers = self.answers_since_resume;
        let far = answers < self.edge_answers();
        self.shortest_run = Some(self.shortest_run.map_or(answers, |s| s.min(answers)));
        self.last_refusal = Some(now);
        let (rate, phase) = match (self.adaptive, pace) {
            // Refused although paced under an announced limit: requests bunched on the way (a
            // stall of the network or the server), or the key is shared. Step back a little
            // and return to the ceiling.
            (_, Some(pace)) if self.ceiling.is_some() => (
                pace * HOLD_CUT,
                Phase::Approach {
                    slope: self.ceiling.unwrap_or(pace) * RETURN_SLOPE,
                },
            ),
            // The 429 announced the limit to a client that had none: its ceiling is the pace.
            (None, _) if !bare => return,
            // Nothing paced the client: search from what got through in the last second.
            (None, _) => {
                let ok = self.meter.rate(now, self.meter.ok_rate, self.meter.ok);
                (ok.max(START_RATE), Phase::Search)
            }
            (Some(adaptive), pace) => {
                let pace = pace.unwrap_or(adaptive.rate);
                // A search overshoots by design: its 429 says little about the edge.
                if bare && adaptive.phase != Phase::Search {
                    self.judge(pace, answers);
                }
                if self.edge.is_some() {
                    self.cap = Some(pace * HOLD_CUT);
                }
                match adaptive.phase {
                    Phase::Search => {
                        let rate = pace * SEARCH_CUT;
                        (
                            rate,
                            Phase::Approach {
                                slope: rate * APPROACH_SLOPE,
                            },
                        )
                    }
                    _ if far => {
                        let rate = pace * FAR_CUT;
                        (
                            rate,
                            Phase::Approach {
                                slope: rate * APPROACH_SLOPE,
                            },
                        )
                    }
                    _ => (pace * HOLD_CUT, Phase::Hold),
                }
            }
        };
        if self.sporadic {
            // Back to the pace the sporadic 429s drove down from, and free to grow from there:
            // with no limit the pace soon stops binding (it grows to twice what is sent).
            let edge = self.edge.map_or(rate, |(edge, _)| edge);
            self.adaptive = Some(Adaptive {
                rate: edge.max(MIN_RATE),
                phase: Phase::Search,
                changed: resume,
            });
            self.end_chain();
            return;
        }
        let rate = rate.max(MIN_RATE);
        tracing::debug!(rate, ?phase, answers, "throttled: pausing the client");
        self.adaptive = Some(Adaptive {
            rate,
            phase,
            changed: resume,
        });
    }

    fn end_chain(&mut self) {
        self.edge = None;
        self.cap = None;
        self.futile = 0;
    }

    /// Answers below which a 429 is taken as far above the limit: [`EDGE_ANSWERS`], or up to
    /// four times as many when 429s have never come sooner (a large burst hides the excess).
    fn edge_answers(&self) -> u32 {
        self.shortest_run.map_or(EDGE_ANSWERS, |s| {
            s.saturating_mul(4).clamp(EDGE_ANSWERS, 4 * EDGE_ANSWERS)
        })
    }

    /// A bare 429 at `pace` after `answers` since resuming: futile when the client already
    /// slowed well below the pace of its first 429 near the limit, and yet the 429 came no
    /// later than twice as many answers in (a limit lets a slower client go much longer).
    fn judge(&mut self, pace: f64, answers: u32) {
        match self.edge {
            None if answers >= EDGE_ANSWERS => {
                self.edge = Some((pace, answers));
                self.futile = 0;
            }
            None => {}
            Some((edge, run))
                if pace <= edge * FUTILE_SHARE
                    && answers <= run.max(2 * EDGE_ANSWERS).saturating_mul(2) =>
            {
                self.futile += 1;
                if self.futile >= FUTILE_LIMIT {
                    tracing::debug!(
                        pace,
                        edge,
                        answers,
                        "429s keep coming although the client slowed down: sporadic, not a limit"
                    );
                    self.sporadic = true;
                }
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BARE: Announcement = Announcement {
        limit: None,
        remaining: None,
        reset: None,
    };
    const SECOND: Duration = Duration::from_secs(1);

    /// A 429 at `now` asking for a second.
    fn refuse(c: &mut Controller, now: Instant) -> Verdict {
        c.refused(now, now + SECOND, BARE, false)
    }

    /// Sends and answers `n` requests at the pace (or 1000/s without one) from `now`; returns
    /// the time after them.
    fn answer(c: &mut Controller, mut now: Instant, n: u32) -> Instant {
        for _ in 0..n {
            now += Duration::from_secs_f64(1.0 / c.pace().unwrap_or(1000.0));
            c.sent(now);
            c.answered(now, BARE);
        }
        now
    }

    fn pace(c: &Controller) -> f64 {
        c.pace().unwrap_or(f64::NAN)
    }

    /// The meter's rates are per second over the window that ended, however long it was.
    #[test]
    fn the_meter_counts_per_second_over_the_window_that_ended() {
        let t0 = Instant::now();
        let mut c = Controller::new(t0);
        for _ in 0..40 {
            c.sent(t0);
        }
        for _ in 0..20 {
            c.answered(t0, BARE);
        }
        // The first event 4 s later closes a 4-second window: 40 sent, 20 answered.
        c.sent(t0 + 4 * SECOND);
        assert_eq!(c.meter.sent_rate, 10.0);
        assert_eq!(c.meter.ok_rate, 5.0);
    }

    /// A 429 after exactly the edge's count of answers is near the limit, not far above it.
    #[test]
    fn a_429_after_the_edge_count_of_answers_holds() {
        let t0 = Instant::now();
        let mut c = Controller::new(t0);
        c.adaptive = Some(Adaptive {
            rate: 100.0,
            phase: Phase::Approach { slope: 1.0 },
            changed: t0,
        });
        c.answers_since_resume = EDGE_ANSWERS;
        assert_eq!(refuse(&mut c, t0), Verdict::Pause);
        assert_eq!(c.phase(), Some(Phase::Hold));
        assert_eq!(pace(&c), 100.0 * HOLD_CUT);
        // It is the edge, the first 429 near the limit.
        assert_eq!(c.edge, Some((100.0, EDGE_ANSWERS)));
    }

    /// A bare 429 is futile only at or below [`FUTILE_SHARE`] of the edge's pace.
    #[test]
    fn a_429_is_futile_only_well_below_the_edge() {
        let mut c = Controller::new(Instant::now());
        c.edge = Some((100.0, 2 * EDGE_ANSWERS));
        c.judge(100.0 * FUTILE_SHARE + 5.0, 1);
        assert_eq!(c.futile, 0);
        c.judge(100.0 * FUTILE_SHARE, 1);
        assert_eq!(c.futile, 1);
        assert!(!c.is_sporadic());
        // And only when it comes no later than twice the edge's run of answers, counted as at
        // least twice EDGE_ANSWERS: a short edge run still allows 4 * EDGE_ANSWERS.
        c.edge = Some((100.0, 5));
        c.judge(70.0, 4 * EDGE_ANSWERS);
        assert_eq!(c.futile, 2);
        // The second futile 429 makes them sporadic.
        assert!(c.is_sporadic());
        c.judge(70.0, 4 * EDGE_ANSWERS + 1);
        assert_eq!(c.futile, 2);
    }

    /// Sporadic 429s that grow past [`NOISE_EXIT`] of the answers are a limit after all: the
    /// chain of the old edge ends, and the 429 is taken as a limit's.
    #[test]
    fn sporadic_429s_that_grow_common_end_the_chain() {
        let t0 = Instant::now();
        let mut c = Controller::new(t0);
        c.sporadic = true;
        c.edge = Some((50.0, 2 * EDGE_ANSWERS));
        c.futile = FUTILE_LIMIT;
        for _ in 0..NOISE_WINDOW / 2 {
            c.remember(true);
            c.remember(false);
        }
        assert_eq!(refuse(&mut c, t0), Verdict::Pause);
        assert!(!c.is_sporadic());
        assert_eq!((c.edge, c.futile), (None, 0));
    }

    /// A 429 that names the limit gives a client with no pace its ceiling, and no search.
    #[test]
    fn a_429_that_names_the_limit_sets_the_ceiling_and_no_search() {
        let t0 = Instant::now();
        let mut c = Controller::new(t0);
        let named = Announcement {
            limit: Some(20.0),
            ..BARE
        };
        assert_eq!(c.refused(t0, t0 + SECOND, named, false), Verdict::Pause);
        assert_eq!(c.phase(), None);
        assert_eq!(c.pace(), Some(20.0 * HEADROOM));
    }

    /// A limit of 0 says nothing about a pace.
    #[test]
    fn a_limit_of_zero_sets_no_pace() {
        let t0 = Instant::now();
        let mut c = Controller::new(t0);
        let zero = Announcement {
            limit: Some(0.0),
            ..BARE
        };
        c.answered(t0, zero);
        assert_eq!(c.pace(), None);
    }

    /// A 429 is taken as far above the limit when it comes within four times the shortest run
    /// of answers before a 429 seen so far, and never fewer than [`EDGE_ANSWERS`] nor more
    /// than four times that.
    #[test]
    fn far_is_four_times_the_shortest_run_within_bounds() {
        let mut c = Controller::new(Instant::now());
        assert_eq!(c.edge_answers(), EDGE_ANSWERS);
        for (shortest, far) in [
            (1, EDGE_ANSWERS),
            (5, 4 * 5),
            (10, 4 * EDGE_ANSWERS),
            (100, 4 * EDGE_ANSWERS),
        ] {
            c.shortest_run = Some(shortest);
            assert_eq!(c.edge_answers(), far, "{shortest}");
        }
    }

    /// The share of 429s counts the last answers only, before and after the window fills.
    #[test]
    fn the_share_of_429s_is_over_the_last_answers() {
        let mut c = Controller::new(Instant::now());
        assert_eq!(c.refused_share(), 0.0);
        c.remember(true);
        c.remember(false);
        c.remember(false);
        c.remember(false);
        assert_eq!(c.refused_share(), 0.25);
        for _ in 0..NOISE_WINDOW - 1 {
            c.remember(false);
        }
        // The 429 is more than 32 answers back, out of the window.
        assert_eq!(c.refused_share(), 0.0);
    }

    #[test]
    fn an_announced_limit_sets_the_pace_just_under_it() {
        let t0 = Instant::now();
        let mut c = Controller::new(t0);
        assert_eq!(c.pace(), None);
        let announced = Announcement {
            limit: Some(20.0),
            ..BARE
        };
        c.answered(t0, announced);
        assert_eq!(c.pace(), Some(20.0 * HEADROOM));
        // A 429 that brings the limit sets it too, and pauses, but cuts nothing below it.
        let mut c = Controller::new(t0);
        let refused = Announcement {
            limit: Some(100.0),
            remaining: Some(0.0),
            reset: Some(1.0),
        };
        assert_eq!(c.refused(t0, t0 + SECOND, refused, false), Verdict::Pause);
        assert_eq!(c.pace(), Some(100.0 * HEADROOM));
        assert_eq!(c.phase(), None);
        // Refused again at that pace (requests bunched on the way, a shared key): step back a
        // little, then return to the ceiling by 2% of it a second.
        let now = answer(&mut c, t0 + SECOND, 100);
        assert_eq!(c.refused(now, now + SECOND, refused, false), Verdict::Pause);
        let stepped = 100.0 * HEADROOM * HOLD_CUT;
        assert_eq!(c.pace(), Some(stepped));
        let now = answer(&mut c, now + SECOND, 50);
        let returning = pace(&c);
        assert!(
            returning > stepped && returning < 100.0 * HEADROOM,
            "{returning}"
        );
        answer(&mut c, now, 500);
        assert_eq!(c.pace(), Some(100.0 * HEADROOM));
    }

    #[test]
    fn a_429_with_requests_remaining_is_not_the_limit() {
        let t0 = Instant::now();
        let mut c = Controller::new(t0);
        let not_limit = Announcement {
            limit: Some(100.0),
            remaining: Some(37.0),
            reset: Some(1.0),
        };
        assert_eq!(
            c.refused(t0, t0 + SECOND, not_limit, false),
            Verdict::RequestOnly
        );
        assert_eq!(c.pace(), None);
    }

    #[test]
    fn a_bare_429_searches_then_approaches_then_holds() {
        let t0 = Instant::now();
        let mut c = Controller::new(t0);
        let now = answer(&mut c, t0, 3);
        assert_eq!(refuse(&mut c, now), Verdict::Pause);
        assert_eq!(c.pace(), Some(START_RATE));
        assert_eq!(c.phase(), Some(Phase::Search));
        // A second refusal in the same pause changes nothing.
        assert_eq!(c.refused(now, now + SECOND, BARE, true), Verdict::Pause);
        assert_eq!(c.pace(), Some(START_RATE));
        // Nothing grows during the pause; then the search doubles the pace every half second.
        let resumed = now + SECOND;
        c.answered(resumed, BARE);
        assert_eq!(c.pace(), Some(START_RATE));
        let now = answer(&mut c, resumed, 15);
        let searched = pace(&c);
        let secs = (now - resumed).as_secs_f64();
        let expected = START_RATE * SEARCH_GROWTH.powf(secs);
        assert!(
            (searched / expected - 1.0).abs() < 0.05,
            "{searched} {expected}"
        );
        assert!(searched > 2.0 * START_RATE, "{searched}");
        assert_eq!(refuse(&mut c, now), Verdict::Pause);
        let approach = pace(&c);
        assert!(
            (approach - searched * SEARCH_CUT).abs() < 1e-9,
            "{approach}"
        );
        assert!(matches!(c.phase(), Some(Phase::Approach { .. })));
        // The approach grows linearly, by 5% of its start a second.
        let resumed = now + SECOND;
        let now = answer(&mut c, resumed, 60);
        let near = pace(&c);
        let secs = (now - resumed).as_secs_f64();
        let expected = approach * (1.0 + APPROACH_SLOPE * secs);
        assert!((near / expected - 1.0).abs() < 0.01, "{near} {expected}");
        // A 429 after many answers is near the limit: hold 95% of the pace.
        assert_eq!(refuse(&mut c, now), Verdict::Pause);
        assert!((pace(&c) - near * HOLD_CUT).abs() < 1e-9);
        assert_eq!(c.phase(), Some(Phase::Hold));
        // A hold does not grow for 30 s, then creeps up by 1% a second.
        let now = answer(&mut c, now + SECOND, 200);
        assert_eq!(c.pace(), Some(near * HOLD_CUT));
        let now = answer(&mut c, now + HOLD_FOR, 1);
        assert!(matches!(c.phase(), Some(Phase::Approach { .. })));
        answer(&mut c, now, 200);
        assert!(pace(&c) > near * HOLD_CUT);
    }

    #[test]
    fn a_429_soon_after_resuming_halves_the_pace() {
        let t0 = Instant::now();
        let mut c = Controller::new(t0);
        refuse(&mut c, t0);
        let now = answer(&mut c, t0 + SECOND, 30);
        refuse(&mut c, now);
        // Refused after 2 answers: far above the limit.
        let now = answer(&mut c, now + SECOND, 2);
        let before = pace(&c);
        refuse(&mut c, now);
        assert!((pace(&c) - before * FAR_CUT).abs() < 1e-9);
    }

    #[test]
    fn sporadic_429s_are_found_out_and_then_only_delay_their_request() {
        // 5% of the answers are 429s, at random, whatever the pace.
        let mut rng = fastrand::Rng::with_seed(19);
        let t0 = Instant::now();
        let mut c = Controller::new(t0);
        let mut now = t0;
        let mut pauses = 0;
        while !c.is_sporadic() {
            assert!(pauses < 15, "still pausing after {pauses} 429s: {c:?}");
            while rng.f64() >= 0.05 {
                now = answer(&mut c, now, 1);
            }
            assert_eq!(refuse(&mut c, now), Verdict::Pause);
            pauses += 1;
            now += SECOND;
        }
        // The pace the 429s drove down returns and grows until it no longer binds.
        let back = pace(&c);
        now = answer(&mut c, now + SECOND, 2000);
        assert!(pace(&c) > 10.0 * back, "{} from {back}", pace(&c));
        for _ in 0..5 {
            assert_eq!(refuse(&mut c, now), Verdict::RequestOnly);
            now = answer(&mut c, now, 19);
        }
        // 429s that become most answers are a limit after all.
        let mut verdicts = Vec::new();
        for _ in 0..12 {
            verdicts.push(refuse(&mut c, now));
            now = answer(&mut c, now, 1);
        }
        assert_eq!(verdicts.first(), Some(&Verdict::RequestOnly));
        assert!(verdicts.contains(&Verdict::Pause), "{verdicts:?}");
        assert!(!c.is_sporadic());
    }

    /// Drives the controller against a token bucket of `burst` at `rate` a second for
    /// `secs`, pausing a second on every 429; returns the 429s and the requests answered.
    fn against_a_bucket(c: &mut Controller, rate: f64, burst: f64, secs: u64) -> (u32, u32) {
        let t0 = Instant::now();
        let (mut tokens, mut last, mut now) = (burst, t0, t0);
        let mut paused_until = t0;
        let (mut refusals, mut done) = (0, 0);
        while now < t0 + Duration::from_secs(secs) {
            now += Duration::from_secs_f64(1.0 / c.pace().unwrap_or(1000.0));
            now = now.max(paused_until);
            tokens = (tokens + (now - last).as_secs_f64() * rate).min(burst);
            last = now;
            c.sent(now);
            if tokens >= 1.0 {
                tokens -= 1.0;
                done += 1;
                c.answered(now, BARE);
            } else {
                refusals += 1;
                paused_until = now + SECOND;
                assert_eq!(c.refused(now, paused_until, BARE, false), Verdict::Pause);
            }
        }
        (refusals, done)
    }

    #[test]
    fn a_bare_limit_is_found_and_never_taken_for_sporadic_429s() {
        for (rate, burst) in [(20.0, 2.0), (100.0, 2.0), (50.0, 10.0), (5.0, 1.0)] {
            let mut c = Controller::new(Instant::now());
            let (refusals, done) = against_a_bucket(&mut c, rate, burst, 120);
            assert!(!c.is_sporadic(), "{rate}/s: {c:?}");
            let pace = pace(&c);
            assert!(pace <= rate && pace > rate * 0.9, "{rate}/s: pace {pace}");
            assert!(refusals <= 8, "{rate}/s: {refusals} refusals");
            let efficiency = f64::from(done) / (rate * 120.0);
            assert!(efficiency > 0.85, "{rate}/s: efficiency {efficiency}");
        }
    }

    /// A search, then a 429 near the limit: the client holds, with an edge set.
    fn near_the_edge(c: &mut Controller, t0: Instant) -> (Instant, f64) {
        refuse(c, t0);
        let now = answer(c, t0 + SECOND, 30);
        refuse(c, now);
        let now = answer(c, now + SECOND, 20);
        let edge = pace(c);
        refuse(c, now);
        assert_eq!(c.phase(), Some(Phase::Hold));
        (now + SECOND, edge)
    }

    #[test]
    fn while_429s_keep_coming_the_pace_grows_no_higher_than_before_the_last_one() {
        let t0 = Instant::now();
        let mut c = Controller::new(t0);
        let (now, _) = near_the_edge(&mut c, t0);
        // Refused soon after resuming: cut to 70%, then growing again, but never past 94% of
        // the pace of that 429 until the 429s stop for a while.
        let now = answer(&mut c, now, 2);
        let refused_at = pace(&c);
        refuse(&mut c, now);
        assert!((pace(&c) - refused_at * FAR_CUT).abs() < 1e-9);
        let now = answer(&mut c, now + SECOND, 200);
        let grown = pace(&c);
        assert!(
            grown > refused_at * FAR_CUT && grown <= refused_at * HOLD_CUT + 1e-9,
            "{grown}"
        );
        // Quiet for half a hold: the cap is gone.
        answer(&mut c, now + HOLD_FOR / 2, 400);
        assert!(pace(&c) > refused_at, "{}", pace(&c));
    }

    #[test]
    fn refusals_just_above_the_limit_are_not_futile() {
        // Each 429 near the edge comes at 94% of the pace of the one before: a limit being
        // closed in on, and no evidence yet that slowing down does not help.
        let t0 = Instant::now();
        let mut c = Controller::new(t0);
        let (mut now, _) = near_the_edge(&mut c, t0);
        for run in [25, 30, 35] {
            now = answer(&mut c, now, run);
            refuse(&mut c, now);
            now += SECOND;
            assert!(!c.is_sporadic(), "after a run of {run}: {c:?}");
        }
    }
}
