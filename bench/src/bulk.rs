//! Scenario 3, bulk: `nateq contacts update-many` (the release binary) against the emulator
//! binary, vs a raw reqwest loop over the same rows, vs wrk sending the same PUT.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;

use crate::env::{Binaries, EmulatorProcess, load_average, now_utc};
use crate::handwritten::UpdateRequest;
use crate::stats::{Goal, Runs, Section};
use crate::wrk;

/// Sizes of the scenario.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Rows per run.
    pub rows: usize,
    /// Requests in flight (and wrk connections).
    pub concurrency: usize,
    /// wrk's duration per run.
    pub wrk_secs: u64,
    /// Runs.
    pub runs: usize,
}

/// Writes `count` JSONL rows `{"id":"ct_demo_K","name":"Bench K"}`, K cycling over
/// `1..=contacts`: a repeated row changes nothing, so the emulator's state stops growing.
pub fn write_rows(path: &Path, count: usize, contacts: usize) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = BufWriter::new(file);
    for i in 0..count {
        let k = i % contacts + 1;
        writeln!(out, r#"{{"id":"ct_demo_{k}","name":"Bench {k}"}}"#)?;
    }
    out.flush()?;
    Ok(())
}

/// What one CLI run did.
#[derive(Debug, Clone, Copy)]
pub struct CliRun {
    /// Wall time of the process.
    pub elapsed: Duration,
    /// Rows reported done.
    pub done: u64,
}

/// The arguments of `nateq contacts update-many` against the emulator.
pub fn cli_args(emu: &EmulatorProcess, rows: &Path, concurrency: usize) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "--base-url",
        &emu.base_url,
        "--api-key",
        &emu.api_key,
        "contacts",
        "update-many",
        "--input",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.push(rows.as_os_str().to_owned());
    args.push("--concurrency".into());
    args.push(concurrency.to_string().into());
    args
}

/// Runs `nateq --output json contacts update-many` on `rows` with `--concurrency` (its default
/// when `None`) and `extra` flags, and returns its JSON summary, read as `T`, and its wall time.
pub fn run_cli_json<T: serde::de::DeserializeOwned>(
    binaries: &Binaries,
    emu: &EmulatorProcess,
    rows: &Path,
    concurrency: Option<usize>,
    extra: &[&str],
) -> anyhow::Result<(T, Duration)> {
    let mut args = cli_args(emu, rows, concurrency.unwrap_or(0));
    if concurrency.is_none() {
        // Drop `--concurrency N`: the default is what a user gets.
        args.truncate(args.len() - 2);
    }
    args.extend(extra.iter().map(OsString::from));
    let started = Instant::now();
    let output = Command::new(&binaries.cli)
        .arg("--output")
        .arg("json")
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .output()
        .context("cannot run nateq")?;
    let wall = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(line) = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
    else {
        bail!(
            "no JSON summary from update-many ({}); stderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let summary = serde_json::from_str(line).with_context(|| format!("not a summary: {line}"))?;
    Ok((summary, wall))
}

/// The `nateq contacts update-many` command against the emulator.
pub fn cli_command(
    binaries: &Binaries,
    emu: &EmulatorProcess,
    rows: &Path,
    concurrency: usize,
) -> Command {
    let mut command = Command::new(&binaries.cli);
    command
        .args(cli_args(emu, rows, concurrency))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}

/// Checks the CLI's exit status and summary line (`N done, 0 failed, ...`); returns `N`.
pub fn check_cli_output(
    status: std::process::ExitStatus,
    stderr: &str,
    expected: usize,
) -> anyhow::Result<u64> {
    let summary = stderr
        .lines()
        .find_map(|l| l.strip_prefix("update-many: "))
        .with_context(|| format!("no summary from update-many; stderr:\n{stderr}"))?;
    let mut words = summary.split_whitespace();
    let done: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
    if !status.success() || done != expected as u64 || !summary.contains(" 0 failed") {
        bail!("update-many did not apply every row ({status}): {summary}");
    }
    Ok(done)
}

/// Runs the CLI once.
pub fn run_cli(
    binaries: &Binaries,
    emu: &EmulatorProcess,
    rows: &Path,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<CliRun> {
    let started = Instant::now();
    let output = cli_command(binaries, emu, rows, concurrency)
        .stderr(Stdio::piped())
        .output()
        .context("cannot run nateq")?;
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let done = check_cli_output(output.status, &stderr, count)?;
    Ok(CliRun { elapsed, done })
}

#[derive(Deserialize)]
struct RawRow {
    id: String,
    name: String,
}

/// The raw loop: reads the rows file line by line, PUTs each row's fields with reqwest (the
/// SDK's client settings) at `concurrency` in flight on a current-thread runtime, and reads
/// each response's bytes without decoding them. Returns the wall time.
pub fn run_raw(emu: &EmulatorProcess, rows: &Path, concurrency: usize) -> anyhow::Result<Duration> {
    raw_loop(&emu.base_url, &emu.api_key, rows, concurrency)
}

/// The raw loop against any base URL (also run alone, for a profiler).
pub fn raw_loop(
    base_url: &str,
    api_key: &str,
    rows: &Path,
    concurrency: usize,
) -> anyhow::Result<Duration> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let http = crate::client::raw_client()?;
    let auth = HeaderValue::from_str(&format!("Bearer {api_key}"))?;
    let file =
        std::fs::File::open(rows).with_context(|| format!("cannot open {}", rows.display()))?;
    let started = Instant::now();
    runtime.block_on(async {
        futures::stream::iter(BufReader::new(file).lines())
            .map(|line| {
                let (http, auth) = (&http, &auth);
                async move {
                    let line = line?;
                    let row: RawRow = serde_json::from_str(&line)?;
                    let body = serde_json::to_vec(&UpdateRequest { name: &row.name })?;
                    let response = http
                        .put(format!("{base_url}/contacts/{}", row.id))
                        .header(AUTHORIZATION, auth.clone())
                        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                        .body(body)
                        .send()
                        .await?;
                    let status = response.status();
                    let bytes = response.bytes().await?;
                    if !status.is_success() {
                        bail!("{} answered {status}", row.id);
                    }
                    std::hint::black_box(bytes);
                    anyhow::Ok(())
                }
            })
            .buffer_unordered(concurrency)
            .try_for_each(|()| async { Ok(()) })
            .await
    })?;
    Ok(started.elapsed())
}

/// Runs the scenario.
pub fn run(
    binaries: &Binaries,
    work: &Path,
    plan: Plan,
    quick: bool,
) -> anyhow::Result<(Section, PathBuf)> {
    let load_before = load_average();
    let when = now_utc();
    let rows = work.join(format!("rows-{}.jsonl", plan.rows));
    write_rows(&rows, plan.rows, plan.rows)?;
    let emu = EmulatorProcess::start(binaries, plan.rows)?;
    let script = wrk::write_script(work, &emu.api_key, plan.rows)?;
    let wrk_threads = 2;

    let cli_label = "nateq update-many (CLI)";
    let raw_label = "raw reqwest loop, bytes";
    let wrk_label = "wrk, same PUT";
    let mut runs = Runs::default();
    let mut non_2xx = 0;
    for run in 0..plan.runs {
        for k in 0..3 {
            emu.reset()?;
            match (k + run) % 3 {
                0 => {
                    let r = run_cli(binaries, &emu, &rows, plan.rows, plan.concurrency)?;
                    runs.push(cli_label, "rows/s", r.done as f64 / r.elapsed.as_secs_f64());
                }
                1 => {
                    let elapsed = run_raw(&emu, &rows, plan.concurrency)?;
                    runs.push(
                        raw_label,
                        "rows/s",
                        plan.rows as f64 / elapsed.as_secs_f64(),
                    );
                }
                _ => {
                    let r = wrk::run(
                        &script,
                        emu.authority(),
                        wrk_threads,
                        plan.concurrency,
                        plan.wrk_secs,
                    )?;
                    non_2xx += r.non_2xx + r.socket_errors;
                    runs.push(wrk_label, "req/s", r.requests_per_sec);
                }
            }
        }
        eprintln!("bulk: run {} of {} done", run + 1, plan.runs);
    }
    let ratios = [
        runs.ratio(
            "CLI / raw reqwest loop (throughput)",
            cli_label,
            raw_label,
            Goal::AtLeast(0.8),
        ),
        runs.ratio(
            "CLI / wrk (throughput)",
            cli_label,
            wrk_label,
            Goal::AtLeast(0.6),
        ),
        runs.ratio(
            "raw reqwest loop / wrk (throughput)",
            raw_label,
            wrk_label,
            Goal::Info,
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut notes = Vec::new();
    notes.push(format!(
        "wrk saw {non_2xx} non-2xx responses or socket errors over all runs; the CLI and the raw \
         loop fail the run on any non-2xx"
    ));
    Ok((
        Section {
            id: "bulk".into(),
            title: "3. Bulk".into(),
            method: format!(
                "The emulator binary (release, its own process, `--demo-contacts {rows}`) is reset \
                 before each measurement. `nateq --base-url .. --api-key .. contacts update-many \
                 --input rows.jsonl --concurrency {c}` (release binary, no report file) applies \
                 {rows} JSONL rows `{{\"id\":\"ct_demo_K\",\"name\":\"Bench K\"}}`; rows/s = rows \
                 / process wall time. The raw loop reads the same file, PUTs each row with reqwest \
                 (same client settings) at {c} in flight on a current-thread runtime and reads the \
                 response bytes. wrk sends the same PUT (Lua script: path, body, bearer key) with \
                 {wrk_threads} threads and {c} connections for {secs} s. {runs} runs, order \
                 rotating.",
                rows = plan.rows,
                c = plan.concurrency,
                secs = plan.wrk_secs,
                runs = plan.runs,
            ),
            when,
            load: (load_before, load_average()),
            quick,
            figures: runs.figures(),
            ratios,
            notes,
        },
        rows,
    ))
}
