//! Scenario 7, `--coalesce`: `nateq contacts update-many` (the release binary) against the
//! emulator binary with its rate limit at 20 requests/s, on 20,000 rows over 50 contacts (each
//! row with values of its own), with and without `--coalesce`: rows per request and wall time.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::bulk::run_cli_json;
use crate::env::{Binaries, EmulatorProcess, http_request, load_average, now_utc};
use crate::stats::{Goal, Runs, Section};

/// The JSON summary of `update-many --output json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    done: u64,
    failed: u64,
    coalesced: u64,
    requests: u64,
}

/// `count` rows over `contacts` contacts, round robin; row `i` sets a name of its own, and
/// every third one an email too, so no row repeats another.
fn write_rows(path: &Path, count: usize, contacts: usize) -> anyhow::Result<()> {
    let mut text = String::with_capacity(count * 64);
    for i in 0..count {
        let k = i % contacts + 1;
        if i % 3 == 0 {
            writeln!(
                text,
                r#"{{"id":"ct_demo_{k}","name":"Row {i}","email":"row{i}@example.com"}}"#
            )?;
        } else {
            writeln!(text, r#"{{"id":"ct_demo_{k}","name":"Row {i}"}}"#)?;
        }
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Runs the measurement (`quick`: a twentieth of the rows).
pub fn run(binaries: &Binaries, work: &Path, runs: usize, quick: bool) -> anyhow::Result<Section> {
    let load_before = load_average();
    let when = now_utc();
    let (limit, contacts) = (20u32, 50usize);
    let rows = if quick { 1_000 } else { 20_000 };
    let path = work.join(format!("coalesce-{rows}.jsonl"));
    write_rows(&path, rows, contacts)?;
    let emu = EmulatorProcess::start(binaries, contacts)?;
    let mut measured = Runs::default();
    for run in 0..runs {
        for coalesce in [true, false] {
            emu.reset()?;
            http_request(
                emu.authority(),
                "PUT",
                "/_emulator/rate-limit",
                &emu.api_key,
                &format!(r#"{{"perSecond":{limit}}}"#),
            )
            .context("cannot set the emulator's rate limit")?;
            // Let the bucket refill after the previous case.
            std::thread::sleep(Duration::from_secs(1));
            let (summary, wall): (Summary, _) = run_cli_json(
                binaries,
                &emu,
                &path,
                None,
                if coalesce { &["--coalesce"] } else { &[] },
            )?;
            if summary.done + summary.failed != rows as u64 || summary.failed > 0 {
                bail!(
                    "run {run}, coalesce {coalesce}: {} done, {} failed of {rows}",
                    summary.done,
                    summary.failed
                );
            }
            let label = if coalesce { "--coalesce" } else { "default" };
            measured.push(&format!("{label}: wall"), "s", wall.as_secs_f64());
            measured.push(&format!("{label}: rows"), "rows", rows as f64);
            measured.push(
                &format!("{label}: requests"),
                "requests",
                summary.requests as f64,
            );
            measured.push(
                &format!("{label}: rows coalesced"),
                "rows",
                summary.coalesced as f64,
            );
        }
        eprintln!("coalesce: run {} of {runs} done", run + 1);
    }
    let ratios = [
        measured.ratio(
            "--coalesce: rows per request",
            "--coalesce: rows",
            "--coalesce: requests",
            Goal::Info,
        ),
        measured.ratio(
            "default: rows per request",
            "default: rows",
            "default: requests",
            Goal::Info,
        ),
        measured.ratio(
            "wall time, default / --coalesce",
            "default: wall",
            "--coalesce: wall",
            Goal::Info,
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    Ok(Section {
        id: "coalesce".into(),
        title: "7. Rate-limited goodput: --coalesce".into(),
        method: format!(
            "The emulator binary (release, its own process, {contacts} demo contacts) is reset \
             before each case and its rate limit set to {limit}/s with `PUT \
             /_emulator/rate-limit`, then left a second to refill. `nateq --output json \
             contacts update-many --input rows.jsonl [--coalesce]` (release binary, every other \
             flag at its default, no report) applies {rows} rows over {contacts} contacts, round \
             robin, each row with a name of its own (and every third an email). Requests and \
             coalesced rows come from the JSON summary; wall time is the process's. {runs} \
             run(s)."
        ),
        when,
        load: (load_before, load_average()),
        quick,
        figures: measured.figures(),
        ratios,
        notes: vec![
            "Without the flag every row is a request, so the wall time is rows / limit. With \
             it, the rows of a contact that wait behind its request in flight ride in the next \
             one; how many wait is bounded by the rows held in memory (256 per unit of \
             --concurrency, at least 4096)."
                .into(),
        ],
    })
}
