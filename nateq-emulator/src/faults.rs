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

/// How often, and which, faults are injected (the JSON of `PUT /_emulator/faults`).
///
/// ```json
/// { "rate": 0.2, "kinds": ["429", "503", "drop"], "seed": 7,
///   "retryAfterSecs": 1, "stallMs": 30000, "latencyMs": 200 }
/// ```
///
/// Every property may be omitted (its default is used). `kinds` is the mix: each request is
/// faulty with probability `rate`, and the kind is drawn uniformly from the list, so a kind listed
/// twice is drawn twice as often.
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
}

/// How many faults were injected since the configuration was last set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultCounters {
    /// Requests of the Nateq API seen while the rate was above zero.
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
    ServiceUnavailable,
    Drop,
    Stall(Duration),
    Latency(Duration),
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
}

impl Fault {
    /// The kind of the fault.
    pub(crate) fn kind(self) -> FaultKind {
        match self {
            Fault::TooManyRequests { .. } => FaultKind::TooManyRequests,
            Fault::ServiceUnavailable => FaultKind::ServiceUnavailable,
            Fault::Drop => FaultKind::Drop,
            Fault::Stall(_) => FaultKind::Stall,
            Fault::Latency(_) => FaultKind::Latency,
        }
    }
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

    /// Checks the ranges: `rate` within 0 to 1, and some kind to draw when `rate` is above zero.
    pub fn validate(&self) -> Result<(), Error> {
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
            enabled: AtomicBool::new(config.rate > 0.0),
            state: Mutex::new(State::new(config)),
        }
    }

    /// Replaces the configuration, restarts the random sequence from its seed and zeroes the
    /// counters.
    pub(crate) fn set(&self, config: FaultConfig) -> Result<FaultStatus, Error> {
        config.validate()?;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.enabled.store(config.rate > 0.0, Ordering::Release);
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

    /// Decides the fault of one request, if any.
    pub(crate) fn decide(&self) -> Option<Fault> {
        if !self.enabled.load(Ordering::Acquire) {
            return None;
        }
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let state = &mut *guard;
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
        Some(match kind {
            FaultKind::TooManyRequests => Fault::TooManyRequests {
                retry_after_secs: config.retry_after_secs,
            },
            FaultKind::ServiceUnavailable => Fault::ServiceUnavailable,
            FaultKind::Drop => Fault::Drop,
            FaultKind::Stall => Fault::Stall(Duration::from_millis(config.stall_ms)),
            FaultKind::Latency => Fault::Latency(Duration::from_millis(config.latency_ms)),
        })
    }
}

impl State {
    fn new(config: FaultConfig) -> Self {
        Self {
            rng: Xoshiro256PlusPlus::seed_from_u64(config.seed),
            config,
            counters: FaultCounters::default(),
        }
    }

    fn status(&self) -> FaultStatus {
        FaultStatus {
            config: self.config.clone(),
            counters: self.counters.clone(),
        }
    }
}
