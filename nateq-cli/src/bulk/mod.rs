//! `nateq contacts update-many`: streamed rows, at most N requests in flight, a report flushed
//! row by row, `--resume`, a progress bar on a terminal, and a clean stop on Ctrl-C.

mod dry;
pub mod input;
pub mod order;
mod progress;
pub mod report;
mod safety;

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::mpsc;

use crate::cli::{GlobalArgs, InputFormat, OutputFormat, UpdateManyArgs};
use crate::connect::connect;
use crate::exit::{Exit, exit_for_api_error};
use crate::fields::FieldSet;
use input::{Item, Row};
use nateq_api::{ContactUpdate, KeyEnvironment};
use order::{Keyed, Lanes};
use progress::{Counted, Progress};
use report::{DoneSet, Outcome, ReportLine, ReportWriter};

/// Failed rows printed on stderr before the rest are only counted.
const MAX_PRINTED_FAILURES: u64 = 20;

/// What a run did, for the summary line (and, as camelCase JSON, `--output json`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Rows applied.
    pub done: u64,
    /// Rows that failed (malformed rows included).
    pub failed: u64,
    /// Rows skipped because the report already had them as done.
    pub skipped: u64,
    /// Rows that needed more than one attempt.
    pub retried: u64,
    /// Answers that said "slow down" (429, or 503 with `Retry-After`), over all rows.
    pub throttled: u64,
    /// Rows not sent on `--resume` because later, done rows of the contact set all their
    /// fields (they count as done).
    pub superseded: u64,
    /// Rows applied (counted in `done`) whose response did not match the spec.
    pub drifted: u64,
}

impl Summary {
    /// The one-line summary printed on stderr.
    pub fn line(&self, elapsed: Duration) -> String {
        let secs = elapsed.as_secs_f64();
        let rate = self.rate(secs);
        let superseded = if self.superseded > 0 {
            format!(", {} superseded", self.superseded)
        } else {
            String::new()
        };
        let drifted = if self.drifted > 0 {
            format!(", {} drifted", self.drifted)
        } else {
            String::new()
        };
        format!(
            "{} done, {} failed, {} skipped, {} retried, {} throttled{superseded}{drifted} in {:.2}s ({:.0} rows/s)",
            self.done, self.failed, self.skipped, self.retried, self.throttled, secs, rate
        )
    }
}

/// The summary as `--output json` prints it, in this order.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonSummary {
    /// The counts, first.
    #[serde(flatten)]
    pub counts: Summary,
    /// Wall time of the run.
    pub elapsed_secs: f64,
    /// Rows finished per second.
    pub rows_per_sec: f64,
}

/// A valid row on its way to the API.
#[derive(Debug)]
struct Pending {
    line: u64,
    id: String,
    update: Box<ContactUpdate>,
    fields: FieldSet,
}

/// A row that was sent, with its outcome.
#[derive(Debug)]
struct Sent {
    line: u64,
    id: String,
    fields: FieldSet,
    outcome: nateq_api::UpdateOutcome<()>,
}

impl Keyed for Pending {
    fn key(&self) -> &str {
        &self.id
    }
}

/// The end of the interruption message: the waiting rows that were not sent.
fn left_for_resume(waiting: usize) -> String {
    if waiting == 0 {
        String::new()
    } else {
        format!("; {waiting} waiting rows are left for --resume")
    }
}

impl Summary {
    /// The summary for scripts (`--output json`).
    pub fn json(&self, elapsed: Duration) -> JsonSummary {
        let secs = elapsed.as_secs_f64();
        JsonSummary {
            counts: *self,
            elapsed_secs: secs,
            rows_per_sec: self.rate(secs),
        }
    }

    /// Rows finished (done, failed or superseded) per second.
    fn rate(&self, secs: f64) -> f64 {
        if secs > 0.0 {
            (self.done + self.failed + self.superseded) as f64 / secs
        } else {
            0.0
        }
    }

    /// The summary of a dry run: the valid rows are counted as done, the invalid as failed.
    pub fn dry_run_line(&self, elapsed: Duration) -> String {
        let secs = elapsed.as_secs_f64();
        let rate = self.rate(secs);
        format!(
            "dry run, nothing sent: {} valid, {} invalid in {secs:.2}s ({rate:.0} rows/s)",
            self.done, self.failed
        )
    }
}

/// Why the run stopped early, if it did.
#[derive(Debug)]
enum Stop {
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// An error every further row would hit too (a bad key, a missing scope).
    Fatal(anyhow::Error),
    /// The input cannot be read further.
    Input(anyhow::Error),
}

/// Runs `update-many` and returns the exit code; errors before the first row is read are
/// returned as errors.
pub async fn run(global: &GlobalArgs, args: &UpdateManyArgs) -> anyhow::Result<Exit> {
    let format = args.format.unwrap_or_else(|| guess_format(&args.input));
    let read = Arc::new(AtomicU64::new(0));
    let (input, size) = open_input(&args.input, &read)?;
    if args.dry_run {
        let (summary, elapsed, exit) = dry::run(args, format, input).await?;
        print_summary(global, args, &summary, elapsed, true)?;
        return Ok(exit);
    }
    let connection = connect(global, Some(args.row_deadline)).await?;
    if connection.client.key_environment() == KeyEnvironment::Production {
        let rows = safety::count_rows(&args.input, format)?;
        let (stdin, stderr) = safety::terminals();
        safety::confirm(
            safety::guard(args.yes, stdin, stderr),
            &safety::banner(rows, connection.client.base_url()),
        )?;
    }

    let (done_set, mut writer) = match (&args.report, args.resume) {
        (Some(path), true) => {
            let (done, writer) = report::resume(path)?;
            tracing::info!(done = done.len(), "resuming");
            (done, Some(writer))
        }
        (Some(path), false) => (DoneSet::default(), Some(report::create(path)?)),
        (None, _) => (DoneSet::default(), None),
    };

    let concurrency = usize::from(args.concurrency);
    // Rows of a busy contact wait in memory; past this many, reading stops until some finish.
    let max_waiting = (concurrency * 16).max(256);
    let (tx, mut rx) = mpsc::channel::<Item>(concurrency.max(32) * 2);
    std::thread::Builder::new()
        .name("nateq-input".into())
        .spawn(move || input::read_rows(input, format, done_set, &tx))
        .context("cannot start the input reader")?;

    let mut progress = Progress::new(args.quiet, size, read);
    let period = progress.period();
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + period.unwrap_or(progress::LINE_PERIOD),
        period.unwrap_or(progress::LINE_PERIOD),
    );
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut printed = 0u64;
    let mut stop: Option<Stop> = None;
    let mut input_done = false;
    let mut signals = Signals::new()?;
    let contacts = connection.client.contacts();
    let send = move |row: Pending| async move {
        let outcome = contacts.apply(&row.id, *row.update).await;
        Sent {
            line: row.line,
            id: row.id,
            fields: row.fields,
            outcome,
        }
    };
    let mut in_flight = FuturesUnordered::new();
    let mut lanes = Lanes::default();

    loop {
        let taking = stop.is_none() && !input_done;
        if !taking && in_flight.is_empty() {
            break;
        }
        tokio::select! {
            biased;
            () = signals.recv() => {
                if stop.is_some() {
                    // A second signal: stop now; rows in flight are not reported and will be
                    // sent again by --resume (the update is idempotent).
                    progress.suspend(|| eprintln!("interrupted again: stopping without waiting for {} rows in flight", in_flight.len()));
                    stop = Some(Stop::Interrupted);
                    break;
                }
                let waiting = lanes.drop_waiting();
                progress.suspend(|| eprintln!(
                    "interrupted: finishing {} rows in flight (press Ctrl-C again to stop now){}",
                    in_flight.len(),
                    left_for_resume(waiting),
                ));
                stop = Some(Stop::Interrupted);
                rx.close();
            }
            _ = ticker.tick(), if period.is_some() => progress.tick(summary.failed),
            Some(Sent { line, id, fields, outcome }) = in_flight.next(), if !in_flight.is_empty() => {
                // The next row of this contact, if one waits; it is sent only after this one is
                // recorded, so a report never has a later row of a contact done while an
                // earlier one is applied but unrecorded.
                let next = lanes.complete(&id);
                let nateq_api::UpdateOutcome { result, attempts, throttled } = outcome;
                summary.throttled += u64::from(throttled);
                if attempts > 1 {
                    summary.retried += 1;
                }
                let entry = match result {
                    Ok(()) => {
                        summary.done += 1;
                        ReportLine { fields: Some(fields), attempts, ..ReportLine::new(line, Some(id), Outcome::Ok) }
                    }
                    // A 2xx whose response drifted from the spec: applied, never sent again.
                    Err(error) if error.is_applied() => {
                        summary.done += 1;
                        summary.drifted += 1;
                        let entry = ReportLine::applied_with_drift(line, id, fields, &error, attempts);
                        if summary.drifted == 1 {
                            progress.suspend(|| eprintln!(
                                "line {line}: applied, but {error} (every such row is counted as drifted{})",
                                if writer.is_some() { " and named in the report" } else { "" },
                            ));
                        }
                        entry
                    }
                    Err(error) => {
                        summary.failed += 1;
                        let entry = ReportLine::failed(line, Some(id), Some(fields), &error, attempts);
                        print_failure(&progress, &mut printed, &entry);
                        if stop.is_none() && is_fatal(&error) {
                            rx.close();
                            lanes.drop_waiting();
                            stop = Some(Stop::Fatal(anyhow::Error::from(error)));
                        }
                        entry
                    }
                };
                record(&mut writer, &entry)?;
                progress.inc();
                // After a stop, no new row is sent (the waiting ones are left for --resume).
                if let Some(next) = next.filter(|_| stop.is_none()) {
                    in_flight.push(send(next));
                }
            }
            item = rx.recv(), if taking && in_flight.len() < concurrency && lanes.waiting() < max_waiting => {
                match item {
                    None => input_done = true,
                    Some(Item::Skipped) => summary.skipped += 1,
                    Some(Item::Fatal(error)) => {
                        rx.close();
                        lanes.drop_waiting();
                        stop = Some(Stop::Input(error));
                    }
                    Some(Item::Superseded { line, id, fields }) => {
                        summary.superseded += 1;
                        let names: Vec<&str> = fields.names().collect();
                        let entry = ReportLine {
                            fields: Some(FieldSet::EMPTY),
                            message: Some(format!(
                                "not sent: later rows of this contact, already done, set {}",
                                names.join(", ")
                            )),
                            ..ReportLine::new(line, Some(id), Outcome::Superseded)
                        };
                        record(&mut writer, &entry)?;
                        progress.inc();
                    }
                    Some(Item::Row { line, row: Row::Invalid { id, message } }) => {
                        summary.failed += 1;
                        let entry = ReportLine {
                            kind: Some("invalid".into()),
                            message: Some(message),
                            ..ReportLine::new(line, id, Outcome::Error)
                        };
                        print_failure(&progress, &mut printed, &entry);
                        record(&mut writer, &entry)?;
                        progress.inc();
                    }
                    Some(Item::Row { line, row: Row::Valid { id, update, fields } }) => {
                        if let Some(row) = lanes.admit(Pending { line, id, update, fields }) {
                            in_flight.push(send(row));
                        }
                    }
                }
            }
        }
    }
    progress.finish();

    let elapsed = started.elapsed();
    print_more_failures(printed, writer.is_some());
    print_summary(global, args, &summary, elapsed, false)?;
    drop(in_flight);
    drop(connection);
    match stop {
        Some(Stop::Interrupted) => {
            if let Some(path) = &args.report {
                eprintln!(
                    "interrupted: run again with --report {} --resume to apply the remaining rows",
                    path.display()
                );
            } else {
                eprintln!("interrupted");
            }
            Ok(Exit::Interrupted)
        }
        Some(Stop::Fatal(error)) => {
            Err(error.context("stopped: every further row would fail the same way"))
        }
        Some(Stop::Input(error)) => Err(error),
        None if summary.failed > 0 => Ok(Exit::RowsFailed),
        None if summary.drifted > 0 => Ok(Exit::Drift),
        None => Ok(Exit::Ok),
    }
}

/// The summary: one JSON object on stdout with `--output json`, otherwise a line on stderr
/// (unless `--quiet`).
fn print_summary(
    global: &GlobalArgs,
    args: &UpdateManyArgs,
    summary: &Summary,
    elapsed: Duration,
    dry_run: bool,
) -> anyhow::Result<()> {
    if global.output == OutputFormat::Json {
        let mut stdout = std::io::stdout().lock();
        serde_json::to_writer(&mut stdout, &summary.json(elapsed))
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(stdout))
            .and_then(|()| stdout.flush())
            .context("cannot write to stdout")?;
    } else if !args.quiet {
        let line = if dry_run {
            summary.dry_run_line(elapsed)
        } else {
            summary.line(elapsed)
        };
        eprintln!("update-many: {line}");
    }
    Ok(())
}

/// Says how many failed rows were not printed, if any.
fn print_more_failures(printed: u64, has_report: bool) {
    if printed > MAX_PRINTED_FAILURES {
        let more = printed - MAX_PRINTED_FAILURES;
        let hint = if has_report {
            "see the report"
        } else {
            "pass --report FILE to record every row"
        };
        eprintln!("... and {more} more failed rows ({hint})");
    }
}

/// Errors that every further row would also get: the key or its scope is wrong.
fn is_fatal(error: &nateq_api::Error) -> bool {
    matches!(error.status().map(|s| s.as_u16()), Some(401 | 403))
        || exit_for_api_error(error) == Exit::Config
}

fn record(writer: &mut Option<ReportWriter>, entry: &ReportLine) -> anyhow::Result<()> {
    if let Some(writer) = writer {
        writer.write(entry).context("cannot write the report")?;
    }
    Ok(())
}

/// Prints a failed row on stderr, up to [`MAX_PRINTED_FAILURES`] of them.
fn print_failure(progress: &Progress, printed: &mut u64, entry: &ReportLine) {
    *printed += 1;
    if *printed > MAX_PRINTED_FAILURES {
        return;
    }
    let id = entry.id.as_deref().unwrap_or("-");
    let mut what = String::new();
    if let Some(status) = entry.status {
        what.push_str(&format!("{status} "));
    }
    if let Some(code) = &entry.code {
        what.push_str(code);
        what.push_str(": ");
    }
    what.push_str(entry.message.as_deref().unwrap_or("failed"));
    progress.suspend(|| eprintln!("line {} ({id}): {what}", entry.line));
}

/// `.csv` means CSV; anything else JSONL.
fn guess_format(path: &Path) -> InputFormat {
    match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("csv") => InputFormat::Csv,
        _ => InputFormat::Jsonl,
    }
}

/// The input, counting the bytes read into `read`, and its size when it is a file.
fn open_input(
    path: &Path,
    read: &Arc<AtomicU64>,
) -> anyhow::Result<(Box<dyn Read + Send>, Option<u64>)> {
    if path == Path::new("-") {
        return Ok((Box::new(Counted::new(std::io::stdin(), read.clone())), None));
    }
    let file = File::open(path).with_context(|| format!("cannot open input {}", path.display()))?;
    let size = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    Ok((Box::new(Counted::new(file, read.clone())), size))
}

/// SIGINT (Ctrl-C) and SIGTERM, listened for from creation on, so none is missed between polls.
#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
        })
    }

    /// Waits for the next signal (cancel-safe).
    async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// Ctrl-C.
#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new() -> anyhow::Result<Self> {
        Ok(Signals)
    }

    /// Waits for the next Ctrl-C.
    async fn recv(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_every_count_and_the_rate() {
        let summary = Summary {
            done: 2998,
            failed: 2,
            skipped: 10,
            retried: 7,
            throttled: 40,
            superseded: 0,
            drifted: 0,
        };
        assert_eq!(
            summary.line(Duration::from_secs(2)),
            "2998 done, 2 failed, 10 skipped, 7 retried, 40 throttled in 2.00s (1500 rows/s)"
        );
        let summary = Summary {
            superseded: 3,
            drifted: 4,
            ..summary
        };
        assert_eq!(
            summary.line(Duration::from_secs(1)),
            "2998 done, 2 failed, 10 skipped, 7 retried, 40 throttled, 3 superseded, 4 drifted in 1.00s (3003 rows/s)"
        );
        assert_eq!(
            serde_json::to_string(&summary.json(Duration::from_secs(1))).unwrap(),
            r#"{"done":2998,"failed":2,"skipped":10,"retried":7,"throttled":40,"superseded":3,"drifted":4,"elapsedSecs":1.0,"rowsPerSec":3003.0}"#
        );
    }

    #[test]
    fn the_format_follows_the_extension() {
        assert_eq!(guess_format(Path::new("a.CSV")), InputFormat::Csv);
        assert_eq!(guess_format(Path::new("a.jsonl")), InputFormat::Jsonl);
        assert_eq!(guess_format(Path::new("-")), InputFormat::Jsonl);
    }
}
