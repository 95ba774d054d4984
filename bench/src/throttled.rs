//! Scenario 7, rate-limited goodput: `nateq contacts update-many` (the release binary) against
//! the emulator binary with its per-key rate limit on, at 20 and 100 requests/s, with the
//! default concurrency and with `--concurrency 64`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::bulk::{cli_args, write_rows};
use crate::env::{Binaries, EmulatorProcess, http_request, load_average, now_utc};
use crate::stats::{Goal, Runs, Section};

/// One case: the emulator's limit, the rows sent, and `--concurrency` (`None`: the default).
#[derive(Debug, Clone, Copy)]
struct Case {
    limit: u32,
    rows: usize,
    concurrency: Option<usize>,
}

impl Case {
    fn label(self) -> String {
        let c = self.concurrency.map_or_else(
            || "default concurrency".to_string(),
            |c| format!("--concurrency {c}"),
        );
        format!("{}/s limit, {} rows, {c}", self.limit, self.rows)
    }
}

/// The JSON summary of `update-many --output json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    done: u64,
    failed: u64,
    throttled: u64,
}

/// Runs the scenario (`quick`: a tenth of the rows).
pub fn run(binaries: &Binaries, work: &Path, runs: usize, quick: bool) -> anyhow::Result<Section> {
    let load_before = load_average();
    let when = now_utc();
    let scale = if quick { 10 } else { 1 };
    let cases = [
        Case {
            limit: 20,
            rows: 600 / scale,
            concurrency: None,
        },
        Case {
            limit: 20,
            rows: 600 / scale,
            concurrency: Some(64),
        },
        Case {
            limit: 100,
            rows: 2_000 / scale,
            concurrency: None,
        },
        Case {
            limit: 100,
            rows: 2_000 / scale,
            concurrency: Some(64),
        },
    ];
    let most_rows = cases.iter().map(|c| c.rows).max().unwrap_or(0);
    let emu = EmulatorProcess::start(binaries, most_rows)?;
    let mut measured = Runs::default();
    let mut notes = Vec::new();
    for run in 0..runs {
        for case in cases {
            let rows = work.join(format!("throttled-{}.jsonl", case.rows));
            write_rows(&rows, case.rows, case.rows)?;
            emu.reset()?;
            http_request(
                emu.authority(),
                "PUT",
                "/_emulator/rate-limit",
                &emu.api_key,
                &format!(r#"{{"perSecond":{}}}"#, case.limit),
            )
            .context("cannot set the emulator's rate limit")?;
            // Let the bucket refill after the previous case.
            std::thread::sleep(Duration::from_secs(1));
            let (summary, wall) = run_cli(binaries, &emu, &rows, case)?;
            let label = case.label();
            let ideal = case.rows as f64 / f64::from(case.limit);
            measured.push(&format!("{label}: wall"), "s", wall.as_secs_f64());
            measured.push(&format!("{label}: ideal"), "s", ideal);
            measured.push(&format!("{label}: rows"), "rows", case.rows as f64);
            measured.push(&format!("{label}: failed"), "rows", summary.failed as f64);
            measured.push(
                &format!("{label}: 429s"),
                "responses",
                summary.throttled as f64,
            );
            if summary.done + summary.failed != case.rows as u64 {
                notes.push(format!(
                    "run {run}, {label}: {} done + {} failed of {} rows",
                    summary.done, summary.failed, case.rows
                ));
            }
        }
        eprintln!("throttled: run {} of {runs} done", run + 1);
    }
    let mut ratios = Vec::new();
    for case in cases {
        let label = case.label();
        let name = |what: &str| format!("{label}: {what}");
        ratios.extend(measured.ratio(
            &format!("{label}: efficiency, (rows / limit) / wall"),
            &name("ideal"),
            &name("wall"),
            Goal::AtLeast(0.95),
        ));
        ratios.extend(measured.ratio(
            &format!("{label}: 429s per row"),
            &name("429s"),
            &name("rows"),
            Goal::AtMost(0.05),
        ));
        ratios.extend(measured.ratio(
            &format!("{label}: failed rows per row"),
            &name("failed"),
            &name("rows"),
            Goal::AtMost(0.0),
        ));
    }
    notes.push(
        "The emulator's bucket holds max(1, ceil(N/10)) requests and refills at N/s; it sends \
         X-RateLimit-Limit/Remaining/Reset on every answer, which the client paces itself by \
         (97% of the limit), and 429 with Retry-After in whole seconds when refused."
            .into(),
    );
    Ok(Section {
        id: "throttled".into(),
        title: "7. Rate-limited goodput".into(),
        method: format!(
            "The emulator binary (release, its own process) is reset before each case and its \
             rate limit set with `PUT /_emulator/rate-limit`, then left a second to refill. \
             `nateq --base-url .. --api-key .. --output json contacts update-many --input \
             rows.jsonl [--concurrency 64]` (release binary, every other flag at its default, \
             no report) applies one row per distinct contact. Wall time is the process's; \
             failed rows and 429s come from its JSON summary. Efficiency = (rows / limit) / \
             wall. {runs} run(s)."
        ),
        when,
        load: (load_before, load_average()),
        quick,
        figures: measured.figures(),
        ratios,
        notes,
    })
}

fn run_cli(
    binaries: &Binaries,
    emu: &EmulatorProcess,
    rows: &Path,
    case: Case,
) -> anyhow::Result<(Summary, Duration)> {
    let mut args = cli_args(emu, rows, case.concurrency.unwrap_or(0));
    if case.concurrency.is_none() {
        // Drop `--concurrency N`: the default is what a user gets.
        args.truncate(args.len() - 2);
    }
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
    let summary: Summary =
        serde_json::from_str(line).with_context(|| format!("not a summary: {line}"))?;
    Ok((summary, wall))
}
