//! The command line: flags as a `clap::Args` struct, and the foreground server loop.
//!
//! The `nateq-emulator` binary is this module plus a tracing subscriber; another CLI can offer
//! the same command by flattening [`EmulatorArgs`] and calling [`run`].

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use crate::{
    DEFAULT_ACTIVITIES_PER_RESPONSE, DEFAULT_ACTIVITY_HISTORY, DEFAULT_DEMO_CONTACTS,
    DEFAULT_JOURNAL_CAPACITY, Emulator, EmulatorBuilder, Error, FaultConfig, FaultKind,
    MAX_ACTIVITIES_PER_RESPONSE, MAX_ACTIVITY_HISTORY, MAX_HOLD_MS, MAX_JOURNAL_CAPACITY,
    RateLimit, RateLimitHeaders, RateLimitRetryAfter,
};

/// Flags of `nateq-emulator` (and of any command that flattens them).
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct EmulatorArgs {
    /// Address to listen on; anything but loopback opens the data to the network
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,

    /// Port to listen on (0 picks a free port)
    #[arg(long, value_name = "N", default_value_t = 4010)]
    pub port: u16,

    /// Seed the demo data with contacts ct_demo_1 to ct_demo_N (made when first read)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_DEMO_CONTACTS)]
    pub demo_contacts: usize,

    /// Seed from a JSON seed file instead of the demo data
    #[arg(long, value_name = "FILE", conflicts_with = "demo_contacts")]
    pub seed: Option<PathBuf>,

    /// Probability (0 to 1) that an API request gets a fault
    #[arg(long, value_name = "R", default_value_t = 0.0)]
    pub fault_rate: f64,

    /// Fault kinds to draw from, comma-separated: 429,503,drop,stall,latency [default: all]
    #[arg(long, value_name = "KINDS", value_delimiter = ',')]
    pub faults: Vec<FaultKind>,

    /// Seed of the fault sequence (the same seed gives the same faults)
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub fault_seed: u64,

    /// Retry-After seconds of injected 429 responses
    #[arg(long, value_name = "SECS", default_value_t = 1)]
    pub fault_retry_after: u64,

    /// How long a stalled request is held, in milliseconds (at most 300000, 5 minutes)
    #[arg(long, value_name = "MS", default_value_t = 30_000,
          value_parser = clap::value_parser!(u64).range(..=MAX_HOLD_MS))]
    pub fault_stall_ms: u64,

    /// Latency added by latency faults, in milliseconds (at most 300000, 5 minutes)
    #[arg(long, value_name = "MS", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(..=MAX_HOLD_MS))]
    pub fault_latency_ms: u64,

    /// Limit each API key to N requests per second on /api/v1 (burst: max(1, ceil(N/10)))
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit: Option<u32>,

    /// Requests the rate limit lets through at once (its bucket size) [default: max(1,
    /// ceil(N/10))]
    #[arg(long, value_name = "N", requires = "rate_limit", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_burst: Option<u32>,

    /// Which responses carry X-RateLimit-Limit/Remaining/Reset
    #[arg(
        long,
        value_name = "WHICH",
        requires = "rate_limit",
        value_enum,
        default_value_t
    )]
    pub rate_limit_headers: RateLimitHeaders,

    /// How the limit's 429 writes Retry-After
    #[arg(
        long,
        value_name = "FORMAT",
        requires = "rate_limit",
        value_enum,
        default_value_t
    )]
    pub rate_limit_retry_after: RateLimitRetryAfter,

    /// How many requests to /api/v1 the journal keeps per organisation (GET
    /// /_emulator/requests), at most 1000000; 0 keeps none
    #[arg(long, value_name = "N", default_value_t = DEFAULT_JOURNAL_CAPACITY,
          value_parser = bounded(MAX_JOURNAL_CAPACITY))]
    pub journal: usize,

    /// How many activities a contact keeps, the oldest dropped beyond (at most 100000)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ACTIVITY_HISTORY,
          value_parser = bounded(MAX_ACTIVITY_HISTORY))]
    pub activity_history: usize,

    /// How many of a contact's most recent activities a response carries (at most 1000)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ACTIVITIES_PER_RESPONSE,
          value_parser = bounded(MAX_ACTIVITIES_PER_RESPONSE))]
    pub activities_per_response: usize,
}

/// A parser of a whole number from 0 to `max`.
fn bounded(max: usize) -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new()
        .range(..=u64::try_from(max).unwrap_or(u64::MAX))
}

impl EmulatorArgs {
    /// The fault configuration the flags describe.
    pub fn fault_config(&self) -> FaultConfig {
        let kinds = if self.faults.is_empty() {
            FaultKind::ALL.to_vec()
        } else {
            self.faults.clone()
        };
        FaultConfig::new(self.fault_rate, kinds)
            .seed(self.fault_seed)
            .retry_after_secs(self.fault_retry_after)
            .stall(Duration::from_millis(self.fault_stall_ms))
            .latency(Duration::from_millis(self.fault_latency_ms))
    }

    /// The rate limit the `--rate-limit*` flags describe, if any.
    pub fn rate_limit_setting(&self) -> Option<RateLimit> {
        let mut limit = RateLimit::new(Some(self.rate_limit?))
            .headers(self.rate_limit_headers)
            .retry_after(self.rate_limit_retry_after);
        if let Some(burst) = self.rate_limit_burst {
            limit = limit.burst(burst);
        }
        Some(limit)
    }

    /// A builder configured by the flags.
    pub fn builder(&self) -> EmulatorBuilder {
        let mut builder = Emulator::builder()
            .host(self.host)
            .port(self.port)
            .journal(self.journal)
            .activity_history(self.activity_history)
            .activities_per_response(self.activities_per_response)
            .faults(self.fault_config());
        if let Some(limit) = self.rate_limit_setting() {
            builder = builder.rate_limit(limit);
        }
        match &self.seed {
            Some(path) => builder.seed_file(path),
            None => builder.demo_contacts(self.demo_contacts),
        }
    }
}

/// Starts the emulator, prints `<base_url> <api_key>` as the first line of standard output,
/// serves until Ctrl-C or SIGTERM, then shuts down gracefully.
///
/// Logs go through `tracing`; install a subscriber that writes to standard error first.
pub async fn run(args: &EmulatorArgs) -> Result<(), Error> {
    // Off loopback, `spawn` warns on stderr, naming the keys in use.
    let emulator = args.builder().spawn().await?;
    // Listen for signals before the first line: a caller that reads it may stop us at once.
    let signals = Signals::new()?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{} {}", emulator.base_url(), emulator.api_key())
            .and_then(|()| stdout.flush())
            .map_err(Error::Stdout)?;
    }
    tracing::info!(
        base_url = emulator.base_url(),
        admin = %format_args!("http://{}/_emulator/", emulator.addr()),
        "ready; press Ctrl-C to stop"
    );
    signals.recv().await;
    tracing::info!("shutting down");
    emulator.shutdown().await;
    Ok(())
}

/// Ctrl-C and, on Unix, SIGTERM.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> Result<Self, Error> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).map_err(Error::Signal)?,
            terminate: signal(SignalKind::terminate()).map_err(Error::Signal)?,
        })
    }

    #[cfg(not(unix))]
    fn new() -> Result<Self, Error> {
        Ok(Self {})
    }

    #[cfg(unix)]
    async fn recv(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }

    #[cfg(not(unix))]
    async fn recv(self) {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot wait for Ctrl-C; stopping");
        }
    }
}
