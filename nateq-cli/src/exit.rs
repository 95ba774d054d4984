//! Exit codes, and how an error maps onto one.

use std::fmt;
use std::process::ExitCode;

/// The documented exit codes of `nateq` (see `nateq --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything worked.
    Ok = 0,
    /// Any other failure (e.g. the input file cannot be read).
    Other = 1,
    /// A bad flag or value (clap's own code).
    Usage = 2,
    /// The input was refused before anything was sent.
    Validation = 3,
    /// The API answered with an error, or with something that is not its documented answer.
    Api = 4,
    /// A connection error or timeout.
    Network = 5,
    /// The configuration is unusable (no key, bad base URL).
    Config = 6,
    /// `update-many` ran, but some rows failed.
    RowsFailed = 7,
    /// The API's response does not match openapi.yaml: for an update, it was applied (the
    /// answer was a 2xx) and its response drifted from the spec.
    Drift = 8,
    /// `update-many`: the report is held by another run (an OS file lock); nothing was sent.
    ReportInUse = 9,
    /// `update-many`: the report cannot be written (disk full, I/O error); the run stopped
    /// taking rows, and `--resume` applies the rest.
    ReportWrite = 10,
    /// Stopped by Ctrl-C (SIGINT) or SIGTERM.
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// An error that carries its own exit code (usage and configuration mistakes found by the CLI).
#[derive(Debug)]
pub struct CliError {
    /// The exit code.
    pub exit: Exit,
    /// What is wrong, lowercase, without a trailing period.
    pub message: String,
}

impl CliError {
    /// An error with this exit code.
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        CliError {
            exit,
            message: message.into(),
        }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            exit: Exit::Usage,
            message: message.into(),
        }
    }

    /// A configuration error (exit 6).
    pub fn config(message: impl Into<String>) -> Self {
        CliError {
            exit: Exit::Config,
            message: message.into(),
        }
    }

    /// A validation error (exit 3).
    pub fn validation(message: impl Into<String>) -> Self {
        CliError {
            exit: Exit::Validation,
            message: message.into(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// The exit code of an SDK error.
pub fn exit_for_api_error(error: &nateq_api::Error) -> Exit {
    use nateq_api::Error as E;
    match error {
        E::Validation(_) => Exit::Validation,
        E::Config(_) => Exit::Config,
        e if e.is_applied() => Exit::Drift,
        E::Api(_) | E::Decode { .. } | E::ResponseTooLarge { .. } | E::Redirect { .. } => Exit::Api,
        E::Timeout { .. } | E::Connection { .. } => Exit::Network,
        _ => Exit::Other,
    }
}

/// The exit code of any error: the first cause in the chain that says which class it is.
pub fn exit_for(error: &anyhow::Error) -> Exit {
    // A CliError given as context is found here (the chain does not expose it).
    if let Some(e) = error.downcast_ref::<CliError>() {
        return e.exit;
    }
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<CliError>() {
            return e.exit;
        }
        if let Some(e) = cause.downcast_ref::<nateq_api::Error>() {
            return exit_for_api_error(e);
        }
        if cause
            .downcast_ref::<crate::bulk::report::ReportError>()
            .is_some()
        {
            return Exit::ReportWrite;
        }
        if cause.downcast_ref::<nateq_api::ValidationError>().is_some() {
            return Exit::Validation;
        }
    }
    Exit::Other
}

/// The error and its causes on one line, `outer: inner: root`, leaving out a cause whose text
/// an outer message already includes (transport errors often repeat their source).
pub fn render(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Whether the error is a closed stdout (`nateq ... | head -c1`): not worth reporting.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_errors_map_to_their_class() {
        let validation = nateq_api::ContactUpdate::new()
            .language("x".repeat(11))
            .to_request()
            .unwrap_err();
        let cases = [
            (nateq_api::Error::Validation(validation), Exit::Validation),
            (nateq_api::Error::Config("no key".into()), Exit::Config),
            (
                nateq_api::Error::Timeout {
                    attempts: 3,
                    elapsed: std::time::Duration::from_secs(1),
                },
                Exit::Network,
            ),
        ];
        for (error, exit) in cases {
            let error = anyhow::Error::from(error).context("while testing");
            assert_eq!(exit_for(&error), exit, "{error:#}");
        }
    }

    #[test]
    fn cli_errors_keep_their_code_and_broken_pipes_are_recognised() {
        let error = anyhow::Error::from(CliError::usage("bad")).context("outer");
        assert_eq!(exit_for(&error), Exit::Usage);
        assert_eq!(exit_for(&anyhow::anyhow!("plain")), Exit::Other);
        let pipe = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            .context("writing stdout");
        assert!(is_broken_pipe(&pipe));
        assert!(!is_broken_pipe(&anyhow::anyhow!("plain")));
    }

    #[test]
    fn render_joins_causes_and_drops_repeats() {
        let root = std::io::Error::other("connection refused");
        let error = anyhow::Error::from(root)
            .context("connect: connection refused")
            .context("sending");
        assert_eq!(render(&error), "sending: connect: connection refused");
    }
}
