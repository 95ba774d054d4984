//! What belongs to one organisation besides its contacts: its fault configuration, its rate
//! limit and its request journal. Every admin action acts on the caller key's organisation.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::faults::{FaultConfig, Faults};
use crate::journal::{Journal, Shared};
use crate::ratelimit::{Decision, RateLimit, RateLimiter};
use crate::seed::Seed;

/// One organisation's faults, rate limit and journal.
#[derive(Debug)]
pub(crate) struct Org {
    pub id: String,
    pub faults: Faults,
    rate_limit: RateLimiter,
    /// Whether a limit is set, read without the limiter's lock on every request.
    limited: AtomicBool,
    pub journal: Journal,
}

impl Org {
    pub(crate) fn new(
        id: String,
        faults: FaultConfig,
        rate_limit: RateLimit,
        journal: usize,
        shared: Arc<Shared>,
    ) -> Self {
        Self {
            faults: Faults::new(faults),
            limited: AtomicBool::new(rate_limit.per_second.is_some()),
            rate_limit: RateLimiter::new(rate_limit),
            journal: Journal::new(journal, Some(id.clone()), shared),
            id,
        }
    }

    /// Takes a token of `key_id`'s bucket, if a limit is set.
    pub(crate) fn check_rate(&self, key_id: &str) -> Option<Decision> {
        if !self.limited.load(Ordering::Acquire) {
            return None;
        }
        self.rate_limit.check(key_id)
    }

    /// The rate limit in force.
    pub(crate) fn rate_limit(&self) -> RateLimit {
        self.rate_limit.get()
    }

    /// Sets the rate limit (every bucket starts full).
    pub(crate) fn set_rate_limit(&self, limit: RateLimit) -> Result<RateLimit, crate::Error> {
        let limit = self.rate_limit.set(limit)?;
        self.limited
            .store(limit.per_second.is_some(), Ordering::Release);
        Ok(limit)
    }
}

/// The organisations of a seed, in the order they first appear (keys, companies, contacts).
pub(crate) fn organisation_ids(seed: &Seed) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let named = seed
        .keys
        .iter()
        .map(|k| k.organization_id.as_str())
        .chain(seed.companies.iter().map(|c| c.organization_id.as_str()))
        .chain(
            seed.contacts
                .iter()
                .filter_map(|c| c.contact.organization_id.as_deref()),
        );
    for id in named {
        if seen.insert(id) {
            ids.push(id.to_owned());
        }
    }
    ids
}
