//! Fault injection for the Nateq API route: reproducible from a seed, counted, never applied to
//! the admin API.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::Error;

/// The longest `stallMs` and `latencyMs`: 5 minutes.
pub const MAX_HOLD_MS: u64 = 300_000;

/// The most rules a fault configuration may hold.
pub const MAX_FAULT_RULES: usize = 1_000;

/// A kind of injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FaultKind {
    /// `429 Too Many Requests` with a `Retry-After` header; nothing is applied.
    #[serde(rename = "429")]
    TooManyRequests,
    /// `503 Service Unavailable`; nothing is applied.
    #[serde(rename = "503")]
    ServiceUnavailable,
    /// The update is applied, then the connection is closed without a response.
    #[serde(rename = "drop")]
    Drop,
    /// The request is held for [`FaultConfig::stall_ms`] before anything is applied.
    #[serde(rename = "stall")]
    Stall,
    /// [`FaultConfig::latency_ms`] is added, then the request is handled normally.
    #[serde(rename = "latency")]
    Latency,
}

/// The kind of a targeted fault rule ([`FaultRule`]).
///
/// Note that a rule's `drop` closes the connection *before* the update is applied, while the
/// random [`FaultKind::Drop`] applies it first (a rule's `drop-after-apply`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FaultRuleKind {
    /// `429 Too Many Requests` with `Retry-After: <retryAfterSecs>`; nothing is applied.
    #[serde(rename = "429")]
    TooManyRequests,
    /// `500 Internal Server Error` with the error envelope; nothing is applied.
    #[serde(rename = "500")]
    InternalServerError,
    /// `502 Bad Gateway` with an HTML body, as a proxy sends it; nothing is applied.
    #[serde(rename = "502")]
    BadGateway,
    /// `503 Service Unavailable` with the error envelope; nothing is applied.
    #[serde(rename = "503")]
    ServiceUnavailable,
    /// The connection is closed without a response before the update is applied.
    #[serde(rename = "drop")]
    Drop,
    /// The update is applied, then the connection is closed without a response.
    #[serde(rename = "drop-after-apply")]
    DropAfterApply,
    /// The request is held for [`FaultConfig::stall_ms`] before anything is applied.
    #[serde(rename = "stall")]
    Stall,
    /// [`FaultConfig::latency_ms`] is added, then the request is handled normally.
    #[serde(rename = "latency")]
    Latency,
    /// The update is applied and answered 200, but the JSON body is cut in the middle.
    #[serde(rename = "malformed")]
    Malformed,
}

/// A targeted fault: the next `times` requests (of one contact, or of any) get `kind`.
///
/// ```json
/// { "contactId": "ct_demo_1", "times": 2, "kind": "drop-after-apply" }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// The contact whose requests match; `None` matches every request.
    #[serde(default)]
    pub contact_id: Option<String>,
    /// How many matching requests get the fault (at least 1; 1 when omitted).
    #[serde(default = "one")]
    pub times: u32,
    /// The fault.
    pub kind: FaultRuleKind,
    /// Uses left, in `GET /_emulator/faults` (and [`FaultStatus`]); ignored on input: a rule that
    /// is set starts at `times`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u32>,
}

fn one() -> u32 {
    1
}

/// How often, and which, faults are injected (the JSON of `PUT /_emulator/faults`).
///
/// ```json
/// { "rate": 0.2, "kinds": ["429", "503", "drop"], "seed": 7,
///   "retryAfterSecs": 1, "stallMs": 30000, "latencyMs": 200,
///   "rules": [{ "contactId": "ct_demo_1", "times": 1, "kind": "502" }] }
/// ```
///
/// Every property may be omitted (its default is used). `kinds` is the mix: each request is
/// faulty with probability `rate`, and the kind is drawn uniformly from the list, so a kind listed
/// twice is drawn twice as often. `rules` come first: a request takes the first matching rule
/// with uses left, and only a request that takes none is drawn for a random fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct FaultConfig {
    /// Probability (0 to 1) that a request of the Nateq API gets a fault; 0 disables faults.
    pub rate: f64,
    /// The mix of fault kinds to draw from.
    pub kinds: Vec<FaultKind>,
    /// Seed of the random sequence; the same seed and requests give the same faults.
    pub seed: u64,
    /// Value of the `Retry-After` header of an injected 429, in seconds.
    pub retry_after_secs: u64,
    /// How long a stalled request is held, in milliseconds.
    pub stall_ms: u64,
    /// Latency added by a `latency` fault, in milliseconds.
    pub latency_ms: u64,
    /// Targeted faults, tried in order before the random ones.
    pub rules: Vec<FaultRule>,
}

/// How many faults were injected since the configuration was last set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultCounters {
    /// Requests of the Nateq API drawn for a random fault: seen while the rate was above zero,
    /// and not taken by a rule.
    pub requests: u64,
    /// Faults injected, all kinds together.
    pub injected: u64,
    /// Injected 429 responses.
    #[serde(rename = "429")]
    pub too_many_requests: u64,
    /// Injected 503 responses.
    #[serde(rename = "503")]
    pub service_unavailable: u64,
    /// Dropped connections.
    pub drop: u64,
    /// Stalled requests.
    pub stall: u64,
    /// Requests with added latency.
    pub latency: u64,
}

/// The fault state as `GET /_emulator/faults` returns it: the configuration and the counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultStatus {
    /// The configuration in force.
    #[serde(flatten)]
    pub config: FaultConfig,
    /// What was injected since it was set.
    pub counters: FaultCounters,
}

/// One fault decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    TooManyRequests { retry_after_secs: u64 },
    InternalServerError,
    BadGateway,
    ServiceUnavailable,
    DropBeforeApply,
    DropAfterApply,
    Stall(Duration),
    Latency(Duration),
    Malformed,
}

/// A fault and the name it was asked for by (a kind of `kinds`, or of a rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decided {
    pub fault: Fault,
    pub name: &'static str,
}

/// The fault injector shared by every request.
#[derive(Debug)]
pub(crate) struct Faults {
    enabled: AtomicBool,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    config: FaultConfig,
    rng: Xoshiro256PlusPlus,
    counters: FaultCounters,
    /// Uses left of each rule of `config.rules`.
    remaining: Vec<u32>,
}

impl FaultKind {
    /// Every kind, in a fixed order.
    pub const ALL: [FaultKind; 5] = [
        FaultKind::TooManyRequests,
        FaultKind::ServiceUnavailable,
        FaultKind::Drop,
        FaultKind::Stall,
        FaultKind::Latency,
    ];

    /// The kind's name, as in `--faults` and the admin JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::TooManyRequests => "429",
            FaultKind::ServiceUnavailable => "503",
            FaultKind::Drop => "drop",
            FaultKind::Stall => "stall",
            FaultKind::Latency => "latency",
        }
    }
}

impl FaultRuleKind {
    /// The kind's name, as in the admin JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultRuleKind::TooManyRequests => "429",
            FaultRuleKind::InternalServerError => "500",
            FaultRuleKind::BadGateway => "502",
            FaultRuleKind::ServiceUnavailable => "503",
            FaultRuleKind::Drop => "drop",
            FaultRuleKind::DropAfterApply => "drop-after-apply",
            FaultRuleKind::Stall => "stall",
            FaultRuleKind::Latency => "latency",
            FaultRuleKind::Malformed => "malformed",
        }
    }
}

impl FaultRule {
    /// A rule of `kind` for the next request of any contact.
    pub fn new(kind: FaultRuleKind) -> Self {
        Self {
            contact_id: None,
            times: 1,
            kind,
            remaining: None,
        }
    }

    /// Only requests of this contact match.
    pub fn contact(mut self, id: impl Into<String>) -> Self {
        self.contact_id = Some(id.into());
        self
    }

    /// The rule is used this many times.
    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FaultKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FaultKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::UnknownFaultKind(s.to_owned()))
    }
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            rate: 0.0,
            kinds: FaultKind::ALL.to_vec(),
            seed: 0,
            retry_after_secs: 1,
            stall_ms: 30_000,
            latency_ms: 200,
            rules: Vec::new(),
        }
    }
}

impl FaultConfig {
    /// Faults of the given kinds at the given rate, other settings at their defaults.
    pub fn new(rate: f64, kinds: impl IntoIterator<Item = FaultKind>) -> Self {
        Self {
            rate,
            kinds: kinds.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the `Retry-After` seconds of injected 429s.
    pub fn retry_after_secs(mut self, secs: u64) -> Self {
        self.retry_after_secs = secs;
        self
    }

    /// Sets how long a stalled request is held.
    pub fn stall(mut self, duration: Duration) -> Self {
        self.stall_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Sets the latency added by `latency` faults.
    pub fn latency(mut self, duration: Duration) -> Self {
        self.latency_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Adds a targeted fault rule (tried in the order they were added).
    pub fn rule(mut self, rule: FaultRule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Checks the ranges: `rate` within 0 to 1, some kind to draw when `rate` is above zero,
    /// rules used at least once; and the bounds of what could hold the server
    /// ([`Error::TooLarge`]): `stallMs` and `latencyMs` at most [`MAX_HOLD_MS`], at most
    /// [`MAX_FAULT_RULES`] rules.
    pub fn validate(&self) -> Result<(), Error> {
        for (name, value) in [("stallMs", self.stall_ms), ("latencyMs", self.latency_ms)] {
            if value > MAX_HOLD_MS {
                return Err(Error::TooLarge {
                    name,
                    limit: MAX_HOLD_MS,
                    value,
                });
            }
        }
        if self.rules.len() > MAX_FAULT_RULES {
            return Err(Error::TooLarge {
                name: "rules",
                limit: MAX_FAULT_RULES as u64,
                value: self.rules.len() as u64,
            });
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.times == 0 {
                return Err(Error::InvalidFaults(format!(
                    "rules[{i}].times must be at least 1"
                )));
            }
            if rule.contact_id.as_deref().is_some_and(str::is_empty) {
                return Err(Error::InvalidFaults(format!(
                    "rules[{i}].contactId must not be empty; omit it to match every contact"
                )));
            }
        }
        if !(0.0..=1.0).contains(&self.rate) {
            return Err(Error::InvalidFaults(format!(
                "rate must be between 0 and 1, not {}",
                self.rate
            )));
        }
        if self.rate > 0.0 && self.kinds.is_empty() {
            return Err(Error::InvalidFaults(
                "kinds must name at least one fault when rate is above 0".to_owned(),
            ));
        }
        Ok(())
    }
}

impl FaultCounters {
    fn count(&mut self, kind: FaultKind) {
        self.injected += 1;
        match kind {
            FaultKind::TooManyRequests => self.too_many_requests += 1,
            FaultKind::ServiceUnavailable => self.service_unavailable += 1,
            FaultKind::Drop => self.drop += 1,
            FaultKind::Stall => self.stall += 1,
            FaultKind::Latency => self.latency += 1,
        }
    }
}

impl Faults {
    /// An injector with a validated configuration.
    pub(crate) fn new(config: FaultConfig) -> Self {
        Self {
            enabled: AtomicBool::new(config.rate > 0.0 || !config.rules.is_empty()),
            state: Mutex::new(State::new(config)),
        }
    }

    /// Replaces the configuration, restarts the random sequence from its seed and zeroes the
    /// counters.
    pub(crate) fn set(&self, config: FaultConfig) -> Result<FaultStatus, Error> {
        config.validate()?;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.enabled.store(
            config.rate > 0.0 || !config.rules.is_empty(),
            Ordering::Release,
        );
        *state = State::new(config);
        Ok(state.status())
    }

    /// The configuration and counters.
    pub(crate) fn status(&self) -> FaultStatus {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .status()
    }

    /// Decides the fault of one request of `contact_id`, if any: the first matching rule with
    /// uses left, else a random draw.
    pub(crate) fn decide(&self, contact_id: Option<&str>) -> Option<Decided> {
        if !self.enabled.load(Ordering::Acquire) {
            return None;
        }
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let state = &mut *guard;
        let config = &state.config;
        let rule = config
            .rules
            .iter()
            .zip(state.remaining.iter_mut())
            .find(|(rule, left)| {
                **left > 0
                    && rule
                        .contact_id
                        .as_deref()
                        .is_none_or(|id| Some(id) == contact_id)
            });
        if let Some((rule, left)) = rule {
            *left -= 1;
            let fault = match rule.kind {
                FaultRuleKind::TooManyRequests => Fault::TooManyRequests {
                    retry_after_secs: config.retry_after_secs,
                },
                FaultRuleKind::InternalServerError => Fault::InternalServerError,
                FaultRuleKind::BadGateway => Fault::BadGateway,
                FaultRuleKind::ServiceUnavailable => Fault::ServiceUnavailable,
                FaultRuleKind::Drop => Fault::DropBeforeApply,
                FaultRuleKind::DropAfterApply => Fault::DropAfterApply,
                FaultRuleKind::Stall => Fault::Stall(Duration::from_millis(config.stall_ms)),
                FaultRuleKind::Latency => Fault::Latency(Duration::from_millis(config.latency_ms)),
                FaultRuleKind::Malformed => Fault::Malformed,
            };
            return Some(Decided {
                fault,
                name: rule.kind.as_str(),
            });
        }
        if state.config.rate <= 0.0 || state.config.kinds.is_empty() {
            return None;
        }
        state.counters.requests += 1;
        let roll: f64 = state.rng.random();
        if roll >= state.config.rate {
            return None;
        }
        let index = state.rng.random_range(0..state.config.kinds.len());
        let kind = *state.config.kinds.get(index)?;
        state.counters.count(kind);
        let config = &state.config;
        let fault = match kind {
            FaultKind::TooManyRequests => Fault::TooManyRequests {
                retry_after_secs: config.retry_after_secs,
            },
            FaultKind::ServiceUnavailable => Fault::ServiceUnavailable,
            FaultKind::Drop => Fault::DropAfterApply,
            FaultKind::Stall => Fault::Stall(Duration::from_millis(config.stall_ms)),
            FaultKind::Latency => Fault::Latency(Duration::from_millis(config.latency_ms)),
        };
        Some(Decided {
            fault,
            name: kind.as_str(),
        })
    }
}

impl State {
    fn new(mut config: FaultConfig) -> Self {
        for rule in &mut config.rules {
            rule.remaining = None;
        }
        Self {
            rng: Xoshiro256PlusPlus::seed_from_u64(config.seed),
            remaining: config.rules.iter().map(|r| r.times).collect(),
            config,
            counters: FaultCounters::default(),
        }
    }

    fn status(&self) -> FaultStatus {
        let mut config = self.config.clone();
        for (rule, left) in config.rules.iter_mut().zip(&self.remaining) {
            rule.remaining = Some(*left);
        }
        FaultStatus {
            config,
            counters: self.counters.clone(),
        }
    }
}
