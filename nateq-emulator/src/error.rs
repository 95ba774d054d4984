//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while configuring or starting an emulator.
///
/// Request-level problems (bad keys, invalid bodies) are not errors of the emulator: they are
/// answered over HTTP with the API's error envelope.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listening socket could not be bound.
    #[error("cannot listen on {host}:{port}")]
    Bind {
        /// The address that was asked for.
        host: std::net::IpAddr,
        /// The port that was asked for (0 means any free port).
        port: u16,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The seed file could not be read.
    #[error("cannot read seed file {}", path.display())]
    SeedRead {
        /// The seed file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The seed file is not valid JSON or does not have the seed format.
    #[error("seed file {} is not a valid seed", path.display())]
    SeedParse {
        /// The seed file.
        path: PathBuf,
        /// The JSON error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The seed is well formed but inconsistent (duplicate IDs, dangling references, no usable key).
    #[error("invalid seed: {0}")]
    InvalidSeed(String),
    /// The fault configuration is out of range.
    #[error("invalid fault configuration: {0}")]
    InvalidFaults(String),
    /// A setting that could hold the server (a delay, a count) is above its limit.
    #[error("invalid {name}: at most {limit}, not {value}")]
    TooLarge {
        /// The setting, as the admin API names it (`stallMs`, `rules`, `journal`, ...).
        name: &'static str,
        /// The largest value allowed.
        limit: u64,
        /// The value that was asked for.
        value: u64,
    },
    /// The rate limit is out of range.
    #[error("invalid rate limit: {0}")]
    InvalidRateLimit(String),
    /// A fault kind name is not one of `429`, `503`, `drop`, `stall`, `latency`.
    #[error("unknown fault kind `{0}` (expected one of 429, 503, drop, stall, latency)")]
    UnknownFaultKind(String),
    /// Waiting for a shutdown signal failed.
    #[error("cannot listen for shutdown signals")]
    Signal(#[source] std::io::Error),
    /// Writing the first line to standard output failed.
    #[error("cannot write to standard output")]
    Stdout(#[source] std::io::Error),
}
