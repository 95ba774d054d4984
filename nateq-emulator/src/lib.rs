//! A faithful local emulator of the Nateq API's "Update a contact" endpoint, for tests and demos.
//!
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod auth;
pub mod cli;
mod error;
mod faults;
mod journal;
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
pub use faults::{FaultConfig, FaultCounters, FaultKind, FaultRule, FaultRuleKind, FaultStatus};
pub use journal::{DEFAULT_JOURNAL_CAPACITY, JournalEntry, MAX_JOURNAL_BODY_BYTES};
pub use ratelimit::{RateLimit, RateLimitHeaders, RateLimitRetryAfter, burst};
pub use seed::{
    ApiKey, DEMO_FULL_KEY, DEMO_ORG, DEMO_READ_ONLY_KEY, OTHER_ORG, OTHER_ORG_KEY, SCOPE_READ,
    SCOPE_WRITE, Seed, SeedCompany, SeedContact,
};
pub use server::MAX_BODY_BYTES;
pub use store::StoredContact;

use auth::Keys;
use faults::Faults;
use journal::Journal;
use ratelimit::RateLimiter;
use server::{App, AppState};
use store::Store;

/// The number of demo contacts when nothing else is asked for.
pub const DEFAULT_DEMO_CONTACTS: usize = 5;

/// A running emulator (on `127.0.0.1` unless asked otherwise); dropping it shuts the server down.
pub struct Emulator {
    addr: SocketAddr,
    base_url: String,
    seed: Arc<Seed>,
    store: Arc<Store>,
    faults: Arc<Faults>,
    rate_limit: Arc<RateLimiter>,
    journal: Arc<Journal>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
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

    /// The seed the emulator started from (and resets to).
    pub fn seed(&self) -> &Seed {
        &self.seed
    }

    /// One contact of any organisation, as it is now.
    pub fn contact(&self, id: &str) -> Option<StoredContact> {
        self.store.contact(None, id)
    }

    /// Every contact of every organisation, sorted by ID.
    pub fn contacts(&self) -> Vec<StoredContact> {
        self.store.contacts(None)
    }

    /// Goes back to the seed's state (as `POST /_emulator/reset` does).
    pub fn reset(&self) {
        self.store.reset();
    }

    /// Replaces the fault configuration (as `PUT /_emulator/faults` does), restarting the random
    /// sequence from its seed and zeroing the counters.
    pub fn set_faults(&self, config: FaultConfig) -> Result<FaultStatus, Error> {
        self.faults.set(config)
    }

    /// The fault configuration and counters (as `GET /_emulator/faults` returns them).
    pub fn faults(&self) -> FaultStatus {
        self.faults.status()
    }

    /// Sets the rate limit (as `PUT /_emulator/rate-limit` does): `Some(n)` requests per second
    /// and API key with the defaults, `None` for no limit, or a whole [`RateLimit`] (burst,
    /// headers, `Retry-After`). Every key's bucket starts full again.
    pub fn set_rate_limit(&self, limit: impl Into<RateLimit>) -> Result<RateLimit, Error> {
        self.rate_limit.set(limit.into())
    }

    /// The rate limit in force (as `GET /_emulator/rate-limit` returns it).
    pub fn rate_limit(&self) -> RateLimit {
        self.rate_limit.get()
    }

    /// The journal of requests to `/api/v1`, oldest first (as `GET /_emulator/requests` lists
    /// it).
    pub fn requests(&self) -> Vec<JournalEntry> {
        self.journal.list(None, None)
    }

    /// Empties the journal (as `DELETE /_emulator/requests` does).
    pub fn clear_requests(&self) {
        self.journal.clear();
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
    /// opens the data (and the demo keys, which are public) to the network.
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = host;
        self
    }

    /// The port; 0 (the default) picks a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Seeds the built-in demo data with contacts `ct_demo_1` to `ct_demo_{n}`.
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

    /// Injects faults from the start.
    pub fn faults(mut self, faults: FaultConfig) -> Self {
        self.faults = faults;
        self
    }

    /// Limits each API key on `/api/v1`: `n` requests per second (a token bucket of
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

    /// How many requests the journal keeps (the oldest go first);
    /// [`DEFAULT_JOURNAL_CAPACITY`] by default, 0 keeps none.
    pub fn journal(mut self, capacity: usize) -> Self {
        self.journal = capacity;
        self
    }

    /// Binds `{host}:{port}` and starts serving on the current tokio runtime.
    pub async fn spawn(self) -> Result<Emulator, Error> {
        self.faults.validate()?;
        self.rate_limit.validate()?;
        let seed = match self.source {
            SeedSource::Demo(n) => Seed::demo(n)?,
            SeedSource::File(path) => Seed::from_file(&path)?,
            SeedSource::Value(seed) => seed,
        }
        .normalised()?;
        let seed = Arc::new(seed);
        let bind_error = |source| Error::Bind {
            host: self.host,
            port: self.port,
            source,
        };
        let listener = TcpListener::bind((self.host, self.port))
            .await
            .map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let store = Arc::new(Store::new(Arc::clone(&seed)));
        let faults = Arc::new(Faults::new(self.faults));
        let rate_limit = Arc::new(RateLimiter::new(self.rate_limit));
        let journal = Arc::new(Journal::new(self.journal));
        let state = AppState::new(App {
            store: Arc::clone(&store),
            keys: Keys::new(&seed.keys),
            faults: Arc::clone(&faults),
            rate_limit: Arc::clone(&rate_limit),
            journal: Arc::clone(&journal),
        });
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(server::serve(listener, server::router(state), rx));
        tracing::info!(%addr, "nateq emulator listening");
        Ok(Emulator {
            addr,
            base_url: format!("http://{}/api/v1", reachable(addr)),
            seed,
            store,
            faults,
            rate_limit,
            journal,
            shutdown: Some(tx),
            task: Some(task),
        })
    }
}
