//! The `nateq` command as a library: its command line ([`Cli`]) and [`main`], so tests can
//! inspect the command (every flag of the spec is there) and the binary stays one line.

mod bulk;
pub mod cli;
mod connect;
mod exit;
mod fields;
mod output;
mod single;
mod spec_check;

pub use cli::Cli;
pub use exit::Exit;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser};
use tracing_subscriber::EnvFilter;

use cli::{Command, ContactsCommand, SpecCommand};
use exit::{exit_for, is_broken_pipe};

/// Parses the command line, runs the command and returns its exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print on stdout and succeed; usage errors exit 2.
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage.into()
            } else {
                Exit::Ok.into()
            };
        }
    };
    init_tracing(&cli);
    match run(cli) {
        Ok(exit) => exit.into(),
        Err(e) if is_broken_pipe(&e) => Exit::Ok.into(),
        Err(e) => {
            let exit = exit_for(&e);
            let _ = writeln!(std::io::stderr(), "error: {}", exit::render(&e));
            exit.into()
        }
    }
}

/// Builds the runtime (single-threaded unless `--worker-threads` says otherwise) and runs
/// the command on it.
fn run(cli: Cli) -> anyhow::Result<Exit> {
    if let Command::Completions { shell } = cli.command {
        return completions(shell);
    }
    let runtime = match cli.global.worker_threads {
        0 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        n => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build(),
    }
    .context("cannot start the async runtime")?;
    runtime.block_on(async {
        match &cli.command {
            Command::Contacts(ContactsCommand::Update(args)) => {
                single::run(&cli.global, args).await
            }
            Command::Contacts(ContactsCommand::UpdateMany(args)) => {
                bulk::run(&cli.global, args).await
            }
            Command::Spec(SpecCommand::Check(args)) => spec_check::run(&cli.global, args).await,
            Command::Emulator(args) => {
                nateq_emulator::cli::run(args)
                    .await
                    .context("emulator failed")?;
                Ok(Exit::Ok)
            }
            Command::Completions { .. } => Ok(Exit::Ok),
        }
    })
}

/// Prints a completion script. It is rendered in memory first: the generator panics on a
/// failed write, and a closed stdout is not an error.
fn completions(shell: clap_complete::Shell) -> anyhow::Result<Exit> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "nateq", &mut script);
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&script)
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")?;
    Ok(Exit::Ok)
}

/// Logs on stderr: warnings by default, more with each `-v`; `RUST_LOG` overrides. The
/// emulator subcommand logs at info level by default, to say where it listens.
fn init_tracing(cli: &Cli) {
    let default = match (cli.global.verbose, &cli.command) {
        (0, Command::Emulator(_)) => "info",
        (0, _) => "warn",
        (1, _) => "info",
        (2, _) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(cli.global.verbose >= 2)
        .init();
}
