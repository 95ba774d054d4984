//! Building the API client from the global flags, and the embedded emulator behind `--emulator`.

use std::time::Duration;

use anyhow::Context;
use nateq_api::{ApiKey, Client, RetryPolicy};
use nateq_emulator::Emulator;

use crate::cli::GlobalArgs;
use crate::exit::CliError;

/// A client, and the embedded emulator it talks to when `--emulator` is given (kept alive for
/// as long as the client is used).
#[derive(Debug)]
pub struct Connection {
    /// The client.
    pub client: Client,
    /// The key the client sends (for `spec check`'s raw probes; redacted in `Debug`).
    pub api_key: ApiKey,
    /// The embedded emulator, if any: held only to keep it serving (dropping it stops it).
    _emulator: Option<Emulator>,
}

/// The client the global flags describe; with `--emulator`, starts the emulator first.
/// `deadline`, when given, is the overall deadline of one call (retries, backoff and
/// throttling included), in place of the one derived from `--timeout`.
pub async fn connect(
    global: &GlobalArgs,
    deadline: Option<Duration>,
) -> anyhow::Result<Connection> {
    let (base_url, api_key, emulator) = if global.emulator {
        let emulator = Emulator::builder()
            .spawn()
            .await
            .context("cannot start the embedded emulator")?;
        tracing::info!(base_url = emulator.base_url(), "embedded emulator started");
        (
            emulator.base_url().to_string(),
            emulator.api_key().to_string(),
            Some(emulator),
        )
    } else {
        let key = global.api_key.clone().ok_or_else(|| {
            CliError::config("no API key: pass --api-key, set NATEQ_API_KEY, or try --emulator")
        })?;
        let base_url = global
            .base_url
            .clone()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| nateq_api::DEFAULT_BASE_URL.to_string());
        (base_url, key, None)
    };

    let key = ApiKey::new(api_key.clone());
    let mut builder = Client::builder()
        .api_key(api_key)
        .base_url(base_url)
        .user_agent(concat!("nateq-cli/", env!("CARGO_PKG_VERSION")));
    let mut retry = RetryPolicy::default();
    if let Some(retries) = global.max_retries {
        retry = retry.max_retries(retries);
    }
    if let Some(timeout) = global.timeout {
        // The overall deadline must leave room for every attempt and the backoff between them.
        let attempts = retry.attempts();
        let total = timeout
            .saturating_mul(attempts)
            .saturating_add(Duration::from_secs(10).saturating_mul(attempts));
        builder = builder
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .total_timeout(total);
    }
    if let Some(deadline) = deadline {
        builder = builder.total_timeout(deadline);
    }
    if let Some(rate) = global.rate {
        builder = builder.rate_limit(rate);
    }
    let client = builder.retry_policy(retry).build()?;
    tracing::debug!(
        base_url = client.base_url(),
        environment = ?client.key_environment(),
        "client ready"
    );
    Ok(Connection {
        client,
        api_key: key,
        _emulator: emulator,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn client_debug(args: &[&str], deadline: Option<Duration>) -> String {
        let cli = Cli::try_parse_from(args).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let connection = runtime.block_on(connect(&cli.global, deadline)).unwrap();
        format!("{:?}", connection.client)
    }

    /// The client's configuration is visible only through its `Debug` output, so the test
    /// looks for the values there (not for field names, which the SDK may change).
    #[test]
    fn rate_and_deadline_reach_the_client() {
        let base = [
            "nateq",
            "--api-key",
            "tg_test_k",
            "--base-url",
            "http://127.0.0.1:9",
        ];
        let mut args = base.to_vec();
        args.extend(["--rate", "2.5", "completions", "bash"]);
        let with = client_debug(&args, Some(Duration::from_secs(4321)));
        assert!(with.contains("2.5"), "{with}");
        assert!(with.contains("4321s"), "{with}");
        assert!(!with.contains("tg_test_k"), "{with}");

        let mut args = base.to_vec();
        args.extend(["completions", "bash"]);
        let without = client_debug(&args, None);
        assert!(!without.contains("2.5"), "{without}");
        assert!(!without.contains("4321s"), "{without}");
    }
}
