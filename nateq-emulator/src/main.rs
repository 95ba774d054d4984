//! `nateq-emulator`: runs the emulator in the foreground and prints `<base_url> <api_key>` first.

use std::process::ExitCode;

use clap::Parser;
use nateq_emulator::cli::{EmulatorArgs, run};
use tracing_subscriber::EnvFilter;

/// A local emulator of the Nateq API's contact update endpoint.
#[derive(Debug, Parser)]
#[command(name = "nateq-emulator", version, about)]
struct Cli {
    #[command(flatten)]
    args: EmulatorArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(&cli.args).await.map_err(anyhow::Error::from) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
