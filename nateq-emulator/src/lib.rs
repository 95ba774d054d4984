//! A faithful local emulator of the Nateq API's "Update a contact" endpoint, for tests and demos.
//!
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod auth;
pub mod cli;
mod error;
mod faults;
mod history;
mod journal;
mod org;
mod patch;
mod ratelimit;
mod response;
mod seed;
mod server;
mod store;
mod validate;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use error::Error;
pub use faults::{
    FaultConfig, FaultCounters, FaultKind, FaultRule, FaultRuleKind, FaultStatus, MAX_FAULT_RULES,
    MAX_HOLD_MS,
};
pub use history::{
    DEFAULT_ACTIVITIES_PER_RESPONSE, DEFAULT_ACTIVITY_HISTORY, MAX_ACTIVITIES_PER_RESPONSE,
    MAX_ACTIVITY_HISTORY,
};
pub use journal::{
    DEFAULT_JOURNAL_CAPACITY, JournalEntry, MAX_JOURNAL_BODY_BYTES, MAX_JOURNAL_CAPACITY,
};
pub use ratelimit::{RateLimit, RateLimitHeaders, RateLimitRetryAfter, burst};
pub use seed::{
    ApiKey, DEMO_FULL_KEY, DEMO_ORG, DEMO_READ_ONLY_KEY, MAX_EAGER_DEMO_CONTACTS, OTHER_ORG,
    OTHER_ORG_KEY, SCOPE_READ, SCOPE_WRITE, Seed, SeedCompany, SeedContact,
};
pub use server::{DEFAULT_PAGE_SIZE, MAX_BODY_BYTES, MAX_PAGE_SIZE};
pub use store::StoredContact;

use auth::Keys;
use journal::{Journal, Shared};
use org::Org;
use server::{App, AppState};
use store::{Demo, HistoryLimits, Store};

/// The number of demo contacts when nothing else is asked for.
pub const DEFAULT_DEMO_CONTACTS: usize = 5;

/// A running emulator (on `127.0.0.1` unless asked otherwise); dropping it shuts the server down.
///
/// Its in-process conveniences act on every organisation ([`contact`](Self::contact),
/// [`contacts`](Self::contacts), [`reset`](Self::reset), [`requests`](Self::requests),
/// [`clear_requests`](Self::clear_requests)) or on the primary one, the organisation of
/// [`api_key`](Self::api_key) ([`set_faults`](Self::set_faults), [`faults`](Self::faults),
/// [`set_rate_limit`](Self::set_rate_limit), [`rate_limit`](Self::rate_limit)), as each says;
/// [`organization`](Self::organization) acts on one organisation, as its keys do over HTTP.
pub struct Emulator {
    addr: SocketAddr,
    base_url: String,
    seed: Arc<Seed>,
    demo_contacts: Option<usize>,
    app: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// One organisation of a running [`Emulator`]: what its keys see and change through the admin
/// API, in-process. See [`Emulator::organization`].
#[derive(Debug, Clone, Copy)]
pub struct Organization<'a> {
    app: &'a App,
    index: usize,
}

/// Configures and starts an [`Emulator`]; see [`Emulator::builder`].
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    host: IpAddr,
    port: u16,
    source: SeedSource,
    faults: FaultConfig,
    rate_limit: RateLimit,
    journal: usize,
    activity_history: usize,
    activities_per_response: usize,
}

#[derive(Debug, Clone)]
enum SeedSource {
    Demo(usize),
    File(PathBuf),
    Value(Seed),
}

impl Emulator {
    /// A builder with the defaults: `127.0.0.1`, a free port, [`DEFAULT_DEMO_CONTACTS`] demo
    /// contacts, no faults and no rate limit.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            source: SeedSource::Demo(DEFAULT_DEMO_CONTACTS),
            faults: FaultConfig::default(),
            rate_limit: RateLimit::default(),
            journal: DEFAULT_JOURNAL_CAPACITY,
            activity_history: DEFAULT_ACTIVITY_HISTORY,
            activities_per_response: DEFAULT_ACTIVITIES_PER_RESPONSE,
        }
    }

    /// The base URL of the Nateq API, for example `http://127.0.0.1:4010/api/v1` (no trailing
    /// slash).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The secret of the main key: the first key with `contacts:write` (with the demo data, the
    /// full-scope key of `org_demo`, `key_demo_full`).
    pub fn api_key(&self) -> &str {
        self.seed.primary_key().map_or("", |k| k.secret.as_str())
    }

    /// A key of the main key's organisation without `contacts:write`, if the seed has one.
    pub fn read_only_key(&self) -> Option<&str> {
        let org = self.primary_org()?;
        self.seed
            .keys
            .iter()
            .find(|k| k.organization_id == org && !k.has_scope(SCOPE_WRITE))
            .map(|k| k.secret.as_str())
    }

    /// A key with `contacts:write` of another organisation than the main key's, if the seed has
    /// one.
    pub fn other_org_key(&self) -> Option<&str> {
        let org = self.primary_org()?;
        self.seed
            .keys
            .iter()
            .find(|k| k.organization_id != org && k.has_scope(SCOPE_WRITE))
            .map(|k| k.secret.as_str())
    }

    /// The keys the emulator accepts.
    pub fn keys(&self) -> &[ApiKey] {
        &self.seed.keys
    }

    /// The seed the emulator started from (and resets to). With
    /// [`EmulatorBuilder::demo_contacts`], the demo contacts `ct_demo_1` to `ct_demo_N` are not
    /// in it: they are made when first read (see [`demo_contacts`](Self::demo_contacts)).
    pub fn seed(&self) -> &Seed {
        &self.seed
    }

    /// `N` of the demo contacts `ct_demo_1` to `ct_demo_N` made on demand, if the emulator was
    /// built with [`EmulatorBuilder::demo_contacts`].
    pub fn demo_contacts(&self) -> Option<usize> {
        self.demo_contacts
    }

    /// One contact of any organisation, as it is now.
    pub fn contact(&self, id: &str) -> Option<StoredContact> {
        self.app.store.contact(None, id)
    }

    /// Every contact of every organisation, sorted by ID. Each demo contact is made for the
    /// list: with a large `demo_contacts`, read them one by one with [`contact`](Self::contact)
    /// instead.
    pub fn contacts(&self) -> Vec<StoredContact> {
        self.app.store.all()
    }

    /// Every organisation goes back to the seed's state (as `POST /_emulator/reset` does for
    /// one).
    pub fn reset(&self) {
        for org in 0..self.app.orgs.len() {
            self.app.store.reset(org);
        }
    }

    /// Replaces the primary organisation's fault configuration (as `PUT /_emulator/faults` with
    /// [`api_key`](Self::api_key) does), restarting the random sequence from its seed and
    /// zeroing the counters.
    pub fn set_faults(&self, config: FaultConfig) -> Result<FaultStatus, Error> {
        self.primary().set_faults(config)
    }

    /// The primary organisation's fault configuration and counters (as `GET /_emulator/faults`
    /// with [`api_key`](Self::api_key) returns them).
    pub fn faults(&self) -> FaultStatus {
        self.primary().faults()
    }

    /// Sets the primary organisation's rate limit (as `PUT /_emulator/rate-limit` with
    /// [`api_key`](Self::api_key) does): `Some(n)` requests per second and API key with the
    /// defaults, `None` for no limit, or a whole [`RateLimit`] (burst, headers,
    /// `Retry-After`). Every bucket starts full again.
    pub fn set_rate_limit(&self, limit: impl Into<RateLimit>) -> Result<RateLimit, Error> {
        self.primary().set_rate_limit(limit.into())
    }

    /// The primary organisation's rate limit (as `GET /_emulator/rate-limit` with
    /// [`api_key`](Self::api_key) returns it).
    pub fn rate_limit(&self) -> RateLimit {
        self.primary().rate_limit()
    }

    /// Every request to `/api/v1`, of every organisation and without a valid key, oldest first
    /// (each organisation's ring and the ring of requests without a valid key, merged in the
    /// order they were received).
    pub fn requests(&self) -> Vec<JournalEntry> {
        let mut all: Vec<(u64, JournalEntry)> = self
            .app
            .orgs
            .iter()
            .map(|org| &org.journal)
            .chain(std::iter::once(&self.app.unattributed))
            .flat_map(|journal| journal.sequenced(None, None))
            .collect();
        all.sort_by_key(|(sequence, _)| *sequence);
        all.into_iter().map(|(_, entry)| entry).collect()
    }

    /// Empties every journal.
    pub fn clear_requests(&self) {
        for org in &self.app.orgs {
            org.journal.clear();
        }
        self.app.unattributed.clear();
    }

    /// One organisation, by id (for example [`DEMO_ORG`]): its admin state, in-process.
    pub fn organization(&self, id: &str) -> Option<Organization<'_>> {
        let index = self.app.orgs.iter().position(|org| org.id == id)?;
        Some(Organization {
            app: &self.app,
            index,
        })
    }

    /// Stops accepting connections and waits (at most a few seconds) for requests in flight.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn primary_org(&self) -> Option<&str> {
        self.seed.primary_key().map(|k| k.organization_id.as_str())
    }

    fn primary(&self) -> Organization<'_> {
        let index = self
            .primary_org()
            .and_then(|id| self.app.orgs.iter().position(|org| org.id == id))
            .unwrap_or(0);
        Organization {
            app: &self.app,
            index,
        }
    }
}

impl Organization<'_> {
    /// The organisation's id.
    pub fn id(&self) -> &str {
        self.org().map_or("", |org| org.id.as_str())
    }

    /// Its contacts go back to the seed's state (as `POST /_emulator/reset` with one of its
    /// keys does).
    pub fn reset(&self) {
        self.app.store.reset(self.index);
    }

    /// One of its contacts, as it is now.
    pub fn contact(&self, id: &str) -> Option<StoredContact> {
        self.app.store.contact(Some(self.index), id)
    }

    /// Replaces its fault configuration (as `PUT /_emulator/faults` does).
    pub fn set_faults(&self, config: FaultConfig) -> Result<FaultStatus, Error> {
        match self.org() {
            Some(org) => org.faults.set(config),
            None => Err(Error::InvalidFaults("no such organisation".to_owned())),
        }
    }

    /// Its fault configuration and counters (as `GET /_emulator/faults` returns them).
    pub fn faults(&self) -> FaultStatus {
        match self.org() {
            Some(org) => org.faults.status(),
            None => FaultStatus {
                config: FaultConfig::default(),
                counters: FaultCounters::default(),
            },
        }
    }

    /// Sets its rate limit (as `PUT /_emulator/rate-limit` does).
    pub fn set_rate_limit(&self, limit: impl Into<RateLimit>) -> Result<RateLimit, Error> {
        match self.org() {
            Some(org) => org.set_rate_limit(limit.into()),
            None => Err(Error::InvalidRateLimit("no such organisation".to_owned())),
        }
    }

    /// Its rate limit (as `GET /_emulator/rate-limit` returns it).
    pub fn rate_limit(&self) -> RateLimit {
        self.org().map(Org::rate_limit).unwrap_or_default()
    }

    /// Its journal, oldest first (as `GET /_emulator/requests` lists it).
    pub fn requests(&self) -> Vec<JournalEntry> {
        self.org()
            .map(|org| org.journal.list(None, None))
            .unwrap_or_default()
    }

    /// Empties its journal (as `DELETE /_emulator/requests` does).
    pub fn clear_requests(&self) {
        if let Some(org) = self.org() {
            org.journal.clear();
        }
    }

    fn org(&self) -> Option<&Org> {
        self.app.orgs.get(self.index)
    }
}

/// The address a local client connects to: loopback instead of an unspecified address.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(std::net::Ipv6Addr::LOCALHOST.into(), addr.port())
        }
        _ => addr,
    }
}

/// The warning printed when the emulator listens beyond loopback: it names the keys in use (by
/// id, never by secret).
fn exposure_warning(addr: SocketAddr, keys: &[ApiKey], demo_keys: bool) -> String {
    let ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
    let whose = if demo_keys {
        "the built-in demo keys, whose secrets are public"
    } else {
        "the seed's keys"
    };
    format!(
        "warning: listening on {addr}, not a loopback address: anyone who can reach it can read \
         and change the data with the keys {} ({whose})",
        ids.join(", ")
    )
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl EmulatorBuilder {
    /// The address to listen on, `127.0.0.1` by default. Anything but a loopback address
    /// opens the data to the network: [`spawn`](Self::spawn) then prints a warning on standard
    /// error naming the keys in use (the demo keys' secrets are public).
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = host;
        self
    }

    /// The port; 0 (the default) picks a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Seeds the built-in demo data with contacts `ct_demo_1` to `ct_demo_{n}`. None is made up
    /// front: each reads as [`Seed::demo`] would have built it, and is stored only once
    /// something changes it, so start-up and memory follow use, not `n` (any `usize`).
    pub fn demo_contacts(mut self, n: usize) -> Self {
        self.source = SeedSource::Demo(n);
        self
    }

    /// Seeds from a JSON seed file (read when the emulator is spawned).
    pub fn seed_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.source = SeedSource::File(path.into());
        self
    }

    /// Seeds from a value.
    pub fn seed(mut self, seed: Seed) -> Self {
        self.source = SeedSource::Value(seed);
        self
    }

    /// Injects faults from the start, in every organisation (each draws its own sequence from
    /// the configuration's seed).
    pub fn faults(mut self, faults: FaultConfig) -> Self {
        self.faults = faults;
        self
    }

    /// Limits each API key on `/api/v1`, in every organisation: `n` requests per second (a token bucket of
    /// [`burst`]`(n)` tokens, the `X-RateLimit-*` headers on every response), or a whole
    /// [`RateLimit`] with its burst, headers and `Retry-After`; over it, 429 `RATE_LIMITED`
    /// with `Retry-After`.
    ///
    /// ```
    /// use nateq_emulator::{Emulator, RateLimit, RateLimitHeaders};
    ///
    /// let default = Emulator::builder().rate_limit(20);
    /// let quiet = Emulator::builder()
    ///     .rate_limit(RateLimit::new(Some(20)).burst(2).headers(RateLimitHeaders::Never));
    /// ```
    pub fn rate_limit(mut self, limit: impl Into<RateLimit>) -> Self {
        self.rate_limit = limit.into();
        self
    }

    /// How many requests the journal keeps per organisation (the oldest go first), at most
    /// [`MAX_JOURNAL_CAPACITY`]; [`DEFAULT_JOURNAL_CAPACITY`] by default, 0 keeps none.
    pub fn journal(mut self, capacity: usize) -> Self {
        self.journal = capacity;
        self
    }

    /// How many activities a contact keeps (the oldest dropped beyond), at most
    /// [`MAX_ACTIVITY_HISTORY`]; [`DEFAULT_ACTIVITY_HISTORY`] by default.
    pub fn activity_history(mut self, n: usize) -> Self {
        self.activity_history = n;
        self
    }

    /// How many of a contact's most recent activities a response carries, at most
    /// [`MAX_ACTIVITIES_PER_RESPONSE`]; [`DEFAULT_ACTIVITIES_PER_RESPONSE`] by default.
    pub fn activities_per_response(mut self, n: usize) -> Self {
        self.activities_per_response = n;
        self
    }

    /// Binds `{host}:{port}` and starts serving on the current tokio runtime.
    pub async fn spawn(self) -> Result<Emulator, Error> {
        self.faults.validate()?;
        self.rate_limit.validate()?;
        for (name, value, limit) in [
            ("journal", self.journal, MAX_JOURNAL_CAPACITY),
            (
                "activityHistory",
                self.activity_history,
                MAX_ACTIVITY_HISTORY,
            ),
            (
                "activitiesPerResponse",
                self.activities_per_response,
                MAX_ACTIVITIES_PER_RESPONSE,
            ),
        ] {
            if value > limit {
                return Err(Error::TooLarge {
                    name,
                    limit: limit as u64,
                    value: value as u64,
                });
            }
        }
        let (seed, demo_contacts) = match self.source {
            SeedSource::Demo(n) => (Seed::lazy_demo()?, Some(n)),
            SeedSource::File(path) => (Seed::from_file(&path)?, None),
            SeedSource::Value(seed) => (seed, None),
        };
        let demo_keys = seed.keys.is_empty() || demo_contacts.is_some();
        let seed = Arc::new(seed.normalised()?);
        let bind_error = |source| Error::Bind {
            host: self.host,
            port: self.port,
            source,
        };
        let listener = TcpListener::bind((self.host, self.port))
            .await
            .map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        if !self.host.is_loopback() {
            let warning = exposure_warning(addr, &seed.keys, demo_keys);
            // On stderr whatever the log filter: this is a warning about exposure, not a log.
            eprintln!("{warning}");
            tracing::warn!("{warning}");
        }
        let org_ids = org::organisation_ids(&seed);
        let org_of = |id: &str| org_ids.iter().position(|o| o == id);
        let demo = demo_contacts.and_then(|count| {
            Some(Demo {
                count,
                org: org_of(DEMO_ORG)?,
            })
        });
        let store = Store::new(
            Arc::clone(&seed),
            demo,
            org_ids.len(),
            org_of,
            HistoryLimits {
                keep: self.activity_history,
                per_response: self.activities_per_response,
            },
        );
        let shared = Shared::new(seed.keys.iter().map(|k| k.id.clone()).collect());
        let orgs = org_ids
            .iter()
            .map(|id| {
                Org::new(
                    id.clone(),
                    self.faults.clone(),
                    self.rate_limit,
                    self.journal,
                    Arc::clone(&shared),
                )
            })
            .collect();
        let keys = Keys::new(&seed.keys, |id| org_of(id).unwrap_or(usize::MAX));
        let app = AppState::new(App {
            store,
            keys,
            orgs,
            unattributed: Journal::new(self.journal, None, shared),
        });
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(server::serve(listener, server::router(app.clone()), rx));
        tracing::info!(%addr, "nateq emulator listening");
        Ok(Emulator {
            addr,
            base_url: format!("http://{}/api/v1", reachable(addr)),
            seed,
            demo_contacts,
            app,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}
