//! `nateq-bench`: runs the benchmark scenarios, prints one table and writes `BENCHMARKS.md`.

mod apply;
mod build_time;
mod bulk;
mod client;
mod coalesce;
mod decode;
mod emulator;
mod env;
mod memory;
mod report;
mod servers;
mod stats;
mod throttled;
mod wrk;

use nateq_bench::{fixture, handwritten};

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use env::{Binaries, Machine, have, target_dir, workspace_root};
use stats::Section;

/// Benchmarks of the Nateq SDK, CLI, emulator and build.
#[derive(Debug, Parser)]
#[command(name = "nateq-bench")]
struct Cli {
    /// Smaller counts and fewer runs: a fast smoke run. Prints only; writes no BENCHMARKS.md
    #[arg(long, global = true)]
    quick: bool,

    /// Runs per scenario [default: 5, quick 1; build 3, quick 1]
    #[arg(long, global = true, value_name = "N")]
    runs: Option<usize>,

    /// Do not write BENCHMARKS.md
    #[arg(long, global = true)]
    no_write: bool,

    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Every scenario, then BENCHMARKS.md
    All,
    /// 1. SDK vs raw reqwest against a minimal server
    Client,
    /// 2. Criterion: decoding into the generated types vs serde_json::Value
    Decode,
    /// 3. update-many vs a raw reqwest loop vs wrk, against the emulator
    Bulk,
    /// 4. wrk against the emulator vs a minimal axum handler
    Emulator,
    /// 5. Peak RSS of update-many, small vs large input
    Memory,
    /// 6. Clean and incremental build times, TLS providers
    Build,
    /// 7. update-many against rate limits announced in different ways (20 and 100 requests/s), and sporadic 429s
    Throttled,
    /// 7. update-many --coalesce at a 20/s limit: 20,000 rows over 50 contacts, with and without
    Coalesce,
    /// Re-render BENCHMARKS.md from the stored results
    Report,
    /// Run one client variant alone, for a profiler (perf, callgrind)
    ProfileClient {
        /// Which variant
        #[arg(value_enum)]
        variant: client::Variant,
        /// Updates to send
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
        /// Requests in flight
        #[arg(long, default_value_t = 32)]
        in_flight: usize,
    },
    /// Run the raw reqwest bulk loop alone, for a profiler
    ProfileRawBulk {
        /// Base URL (ending in /api/v1)
        #[arg(long)]
        base_url: String,
        /// API key
        #[arg(long)]
        api_key: String,
        /// JSONL rows
        #[arg(long)]
        input: PathBuf,
        /// Requests in flight
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// Run a baseline server (used by the scenarios)
    Serve {
        /// Which one
        #[arg(value_enum)]
        kind: servers::Kind,
    },
}

fn main() -> ExitCode {
    env::remember_self_exe();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Cmd::Serve { kind } => return servers::serve(kind),
        Cmd::ProfileClient {
            variant,
            requests,
            in_flight,
        } => return client::profile(variant, requests, in_flight),
        Cmd::ProfileRawBulk {
            base_url,
            api_key,
            input,
            concurrency,
        } => {
            let elapsed = bulk::raw_loop(&base_url, &api_key, &input, concurrency)?;
            println!("raw loop: {:.3} s", elapsed.as_secs_f64());
            return Ok(());
        }
        _ => {}
    }
    let quick = cli.quick;
    let runs = cli.runs.unwrap_or(if quick { 1 } else { 5 });
    let build_runs = cli.runs.unwrap_or(if quick { 1 } else { 3 });
    let target = target_dir()?;
    let work = target.join("nateq-bench");
    let results = work.join(if quick { "results-quick" } else { "results" });
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;

    let wanted: Vec<&str> = match cli.command {
        Cmd::All => report::ORDER.to_vec(),
        Cmd::Client => vec!["client"],
        Cmd::Decode => vec!["decode"],
        Cmd::Bulk => vec!["bulk"],
        Cmd::Emulator => vec!["emulator"],
        Cmd::Memory => vec!["memory"],
        Cmd::Build => vec!["build"],
        Cmd::Throttled => vec!["throttled"],
        Cmd::Coalesce => vec!["coalesce"],
        Cmd::Report
        | Cmd::Serve { .. }
        | Cmd::ProfileClient { .. }
        | Cmd::ProfileRawBulk { .. } => Vec::new(),
    };
    let needs_binaries = wanted.iter().any(|id| {
        matches!(
            *id,
            "bulk" | "emulator" | "memory" | "throttled" | "coalesce"
        )
    });
    if wanted.iter().any(|id| matches!(*id, "bulk" | "emulator")) && !have("wrk") {
        bail!("wrk is not installed: run bench/run.sh (it installs it) or apt-get install -y wrk");
    }
    let binaries = if needs_binaries {
        Some(Binaries::build()?)
    } else {
        None
    };
    let bins = || binaries.as_ref().context("binaries not built");

    let mut done: Vec<Section> = Vec::new();
    for id in wanted {
        eprintln!("== scenario {id}");
        let section = match id {
            "client" => client::run(
                client::Plan {
                    requests: if quick { 2_000 } else { 20_000 },
                    in_flight: 32,
                    runs,
                },
                quick,
            )?,
            "decode" => decode::run(runs, if quick { 1 } else { 3 }, quick)?,
            "bulk" => {
                bulk::run(
                    bins()?,
                    &work,
                    bulk::Plan {
                        rows: if quick { 5_000 } else { 50_000 },
                        concurrency: 32,
                        wrk_secs: if quick { 2 } else { 10 },
                        runs,
                    },
                    quick,
                )?
                .0
            }
            "emulator" => emulator::run(
                bins()?,
                &work,
                emulator::Plan {
                    contacts: 50_000,
                    connections: 32,
                    threads: 2,
                    secs: if quick { 2 } else { 10 },
                    warmup_secs: if quick { 2 } else { 3 },
                    runs,
                    history_updates: if quick { 10_000 } else { 100_000 },
                    timed_secs: if quick { 2 } else { 4 },
                    lazy_contacts: 1_000_000,
                    written_contacts: if quick { 10_000 } else { 100_000 },
                },
                quick,
            )?,
            "memory" => memory::run(
                bins()?,
                &work,
                memory::Plan {
                    small: if quick { 1_000 } else { 10_000 },
                    large: if quick { 50_000 } else { 1_000_000 },
                    contacts: if quick { 10_000 } else { 100_000 },
                    concurrency: 32,
                    runs: if quick { 1 } else { runs.min(3) },
                },
                quick,
            )?,
            "build" => build_time::run(
                build_time::Plan {
                    runs: build_runs,
                    full: !quick,
                },
                quick,
            )?,
            "throttled" => throttled::run(bins()?, &work, runs.min(3), quick)?,
            "coalesce" => coalesce::run(bins()?, &work, runs.min(1), quick)?,
            other => bail!("unknown scenario {other}"),
        };
        report::save(&results, &section)?;
        report::print(std::slice::from_ref(&section));
        done.push(section);
    }

    let all = report::load_all(&results);
    if !done.is_empty() && done.len() > 1 {
        println!("\n# All scenarios of this run");
        report::print(&done);
    }
    if quick || cli.no_write {
        return Ok(());
    }
    let findings_path = workspace_root().join("bench").join("findings.md");
    let findings = std::fs::read_to_string(&findings_path).unwrap_or_default();
    let markdown = report::render(&all, &Machine::detect(), &findings);
    let path: PathBuf = workspace_root().join("BENCHMARKS.md");
    std::fs::write(&path, markdown).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
