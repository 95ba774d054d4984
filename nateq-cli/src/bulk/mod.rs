//! `nateq contacts update-many`: streamed rows, at most N requests in flight, a report flushed
//! row by row, `--resume`, a progress bar on a terminal, and a clean stop on Ctrl-C.

mod dry;
mod failed;
pub mod input;
pub mod order;
mod progress;
pub mod report;
mod safety;

use std::collections::VecDeque;
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
use crate::exit::{CliError, Exit, exit_for_api_error};
use crate::fields::FieldSet;
use failed::FailedOut;
use input::{Item, Raw, Row};
use nateq_api::{ContactUpdate, KeyEnvironment};
use order::{Keyed, Lanes};
use progress::{Counted, ParsedRows, Progress};
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
    /// Rows applied (counted in `done`) by the request of a later row of their contact
    /// (`--coalesce`).
    pub coalesced: u64,
    /// HTTP requests sent (every attempt of every request).
    pub requests: u64,
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
        let coalesced = if self.coalesced > 0 {
            format!(
                ", {} coalesced ({} requests)",
                self.coalesced, self.requests
            )
        } else {
            String::new()
        };
        format!(
            "{} done, {} failed, {} skipped, {} retried, {} throttled{superseded}{drifted}{coalesced} in {:.2}s ({:.0} rows/s)",
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
    /// The row as given, for `--failed-out`.
    raw: Option<Raw>,
    /// Sent alone, never coalesced (a row of a coalesced request that failed, sent again).
    solo: bool,
}

/// One request: a row, or (`--coalesce`) rows of one contact in input order, merged; the last
/// one carries the others.
#[derive(Debug)]
struct Sent {
    rows: Vec<Pending>,
    outcome: nateq_api::UpdateOutcome<()>,
}

impl Keyed for Pending {
    fn key(&self) -> &str {
        &self.id
    }
}

/// The most rows one coalesced request carries.
pub const MAX_COALESCED_ROWS: usize = 256;

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
    /// The report (or the file of failed rows) cannot be written.
    Output(anyhow::Error),
}

/// The outputs of a run: the report and the file of failed rows, each optional.
#[derive(Debug)]
struct Outputs {
    report: Option<ReportWriter>,
    failed: Option<FailedOut>,
    /// Rows finished whose line could not be written after a write failed.
    unrecorded: u64,
}

impl Outputs {
    /// Records a row's line (and, for a failed row, the row in `--failed-out`). After a
    /// failure, later rows are still tried (each line is whole or absent), and counted when
    /// they cannot be written either.
    fn record(&mut self, entry: &ReportLine, raw: Option<&Raw>) -> anyhow::Result<()> {
        let mut result = Ok(());
        if let Some(report) = &mut self.report
            && let Err(e) = report.write(entry)
        {
            self.unrecorded += 1;
            result = Err(anyhow::Error::from(e));
        }
        if matches!(entry.result, Outcome::Error | Outcome::Invalid)
            && let Some(failed) = &mut self.failed
            && let Err(e) = failed.write(raw, entry)
        {
            result = result.and(Err(e));
        }
        result
    }
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

    let (done_set, report) = match (&args.report, args.resume) {
        (Some(path), true) => {
            let (done, writer) = report::resume(path, args.force)?;
            tracing::info!(done = done.len(), "resuming");
            (done, Some(writer))
        }
        (Some(path), false) => (DoneSet::default(), Some(report::create(path)?)),
        (None, _) => (DoneSet::default(), None),
    };
    let failed = match &args.failed_out {
        Some(path) => Some(FailedOut::create(path, format)?),
        None => None,
    };
    let mut outputs = Outputs {
        report,
        failed,
        unrecorded: 0,
    };

    let concurrency = usize::from(args.concurrency);
    // Rows of a busy contact wait in memory; past this many, reading stops until some finish.
    // With --coalesce, reading goes on while every request is in flight (rows that wait are
    // what it merges), so more may wait.
    let max_waiting = if args.coalesce {
        (concurrency * 256).max(4096)
    } else {
        (concurrency * 16).max(256)
    };
    let keep_raw = args.failed_out.is_some();
    let (tx, mut rx) = mpsc::channel::<Item>(concurrency.max(32) * 2);
    let parsed = Arc::new(ParsedRows::default());
    let counted = Arc::clone(&parsed);
    std::thread::Builder::new()
        .name("nateq-input".into())
        .spawn(move || input::read_rows(input, format, done_set, keep_raw, &counted, &tx))
        .context("cannot start the input reader")?;

    let mut progress = Progress::new(args.quiet, size, read, parsed);
    let period = progress.period();
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + period.unwrap_or(progress::LINE_PERIOD),
        period.unwrap_or(progress::LINE_PERIOD),
    );
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut syncer = tokio::time::interval_at(
        tokio::time::Instant::now() + report::SYNC_PERIOD,
        report::SYNC_PERIOD,
    );
    syncer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut printed = 0u64;
    let mut stop: Option<Stop> = None;
    let mut input_done = false;
    let mut signals = Signals::new()?;
    let contacts = connection.client.contacts();
    let send = move |rows: Vec<Pending>| async move {
        let outcome = match merged(&rows) {
            Ok(update) => contacts.apply(&rows[0].id, update).await,
            Err(error) => nateq_api::UpdateOutcome {
                result: Err(error),
                attempts: 0,
                throttled: 0,
            },
        };
        Sent { rows, outcome }
    };
    let mut in_flight = FuturesUnordered::new();
    let mut lanes = Lanes::default();
    // --coalesce: rows free to go (no row of their contact in flight) while every request is
    // in flight; they go first when one ends.
    let mut ready: VecDeque<Pending> = VecDeque::new();
    let batch = if args.coalesce { MAX_COALESCED_ROWS } else { 1 };

    loop {
        let taking = stop.is_none() && !input_done;
        if !taking && in_flight.is_empty() {
            break;
        }
        let room = if args.coalesce {
            lanes.waiting() + ready.len() < max_waiting
        } else {
            in_flight.len() < concurrency && lanes.waiting() < max_waiting
        };
        tokio::select! {
            biased;
            () = signals.recv() => {
                if stop.is_some() {
                    // A second signal: stop now; rows in flight are not reported and will be
                    // sent again by --resume (the update is idempotent).
                    progress.suspend(|| eprintln!("interrupted again: stopping without waiting for {} requests in flight", in_flight.len()));
                    stop = Some(Stop::Interrupted);
                    break;
                }
                let waiting = lanes.drop_waiting() + std::mem::take(&mut ready).len();
                progress.suspend(|| eprintln!(
                    "interrupted: finishing {} requests in flight (press Ctrl-C again to stop now){}",
                    in_flight.len(),
                    left_for_resume(waiting),
                ));
                stop = Some(Stop::Interrupted);
                rx.close();
            }
            _ = ticker.tick(), if period.is_some() => progress.tick(summary.failed),
            _ = syncer.tick(), if outputs.report.is_some() && stop.is_none() => {
                if let Some(Err(e)) = outputs.report.as_mut().map(ReportWriter::sync) {
                    halt(&mut stop, &mut rx, &mut lanes, &mut ready, Stop::Output(e.into()));
                }
            }
            Some(Sent { rows, outcome }) = in_flight.next(), if !in_flight.is_empty() => {
                let id = rows[0].id.clone();
                let nateq_api::UpdateOutcome { result, attempts, throttled } = outcome;
                summary.throttled += u64::from(throttled);
                summary.requests += u64::from(attempts);
                if attempts > 1 {
                    summary.retried += rows.len() as u64;
                }
                match result {
                    // A coalesced request that failed: its rows go again one by one, so each
                    // fails or applies on its own, as without --coalesce.
                    Err(error) if rows.len() > 1 && !error.is_applied() && !is_fatal(&error) => {
                        tracing::debug!(id, rows = rows.len(), %error, "coalesced request failed; sending its rows one by one");
                        if stop.is_none() {
                            let solo = rows.into_iter().map(|row| Pending { solo: true, ..row }).collect();
                            let refused = lanes.put_back(&id, solo);
                            debug_assert!(refused.is_empty());
                        }
                    }
                    Ok(()) => {
                        let drift = None;
                        progress.inc_by(rows.len() as u64);
                        let result = record_applied(&mut outputs, &mut summary, rows, attempts, drift);
                        if let Err(e) = result {
                            halt(&mut stop, &mut rx, &mut lanes, &mut ready, Stop::Output(e));
                        }
                    }
                    // A 2xx whose response drifted from the spec: applied, never sent again.
                    Err(error) if error.is_applied() => {
                        summary.drifted += rows.len() as u64;
                        if summary.drifted == rows.len() as u64 {
                            let line = rows.last().map_or(0, |r| r.line);
                            progress.suspend(|| eprintln!(
                                "line {line}: applied, but {error} (every such row is counted as drifted{})",
                                if outputs.report.is_some() { " and named in the report" } else { "" },
                            ));
                        }
                        progress.inc_by(rows.len() as u64);
                        let result = record_applied(&mut outputs, &mut summary, rows, attempts, Some(&error));
                        if let Err(e) = result {
                            halt(&mut stop, &mut rx, &mut lanes, &mut ready, Stop::Output(e));
                        }
                    }
                    Err(error) => {
                        let mut result = Ok(());
                        for row in &rows {
                            summary.failed += 1;
                            let entry = ReportLine::failed(row.line, Some(row.id.clone()), Some(row.fields), &error, attempts);
                            print_failure(&progress, &mut printed, &entry);
                            result = result.and(outputs.record(&entry, row.raw.as_ref()));
                            progress.inc();
                        }
                        if stop.is_none() && is_fatal(&error) {
                            halt(&mut stop, &mut rx, &mut lanes, &mut ready, Stop::Fatal(anyhow::Error::from(error)));
                        } else if let Err(e) = result {
                            halt(&mut stop, &mut rx, &mut lanes, &mut ready, Stop::Output(e));
                        }
                    }
                }
                // The next rows of this contact, if some wait: sent only once these are
                // recorded, so a report never has a later row of a contact done while an
                // earlier one is applied but unrecorded. After a stop, no new row is sent
                // (the waiting ones are left for --resume).
                if let Some(next) = lanes.complete(&id) && stop.is_none() {
                    let mut rows = vec![next];
                    if !rows[0].solo {
                        rows.extend(lanes.take_batch(&id, batch - 1, |r: &Pending| !r.solo));
                    }
                    in_flight.push(send(rows));
                }
                while stop.is_none() && in_flight.len() < concurrency && let Some(row) = ready.pop_front() {
                    let id = row.id.clone();
                    let mut rows = vec![row];
                    rows.extend(lanes.take_batch(&id, batch - 1, |r: &Pending| !r.solo));
                    in_flight.push(send(rows));
                }
            }
            item = rx.recv(), if taking && room => {
                match item {
                    None => input_done = true,
                    Some(Item::Skipped) => {
                        summary.skipped += 1;
                        progress.skip();
                    }
                    Some(Item::Header(header)) => {
                        if let Some(Err(e)) = outputs.failed.as_mut().map(|f| f.header(&header)) {
                            halt(&mut stop, &mut rx, &mut lanes, &mut ready, Stop::Output(e));
                        }
                    }
                    Some(Item::Fatal(error)) => {
                        halt(&mut stop, &mut rx, &mut lanes, &mut ready, Stop::Input(error));
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
                        if let Err(e) = outputs.record(&entry, None) {
                            halt(&mut stop, &mut rx, &mut lanes, &mut ready, Stop::Output(e));
                        }
                        progress.inc();
                    }
                    Some(Item::Row { line, row: Row::Invalid { id, message, raw } }) => {
                        summary.failed += 1;
                        let entry = ReportLine {
                            kind: Some("invalid".into()),
                            message: Some(message),
                            ..ReportLine::new(line, id, Outcome::Error)
                        };
                        print_failure(&progress, &mut printed, &entry);
                        if let Err(e) = outputs.record(&entry, raw.as_ref()) {
                            halt(&mut stop, &mut rx, &mut lanes, &mut ready, Stop::Output(e));
                        }
                        progress.inc();
                    }
                    Some(Item::Row { line, row: Row::Valid { id, update, fields, raw } }) => {
                        let pending = Pending { line, id, update, fields, raw, solo: false };
                        if let Some(row) = lanes.admit(pending) {
                            if in_flight.len() < concurrency {
                                in_flight.push(send(vec![row]));
                            } else {
                                ready.push_back(row);
                            }
                        }
                    }
                }
            }
        }
    }
    progress.finish();

    let elapsed = started.elapsed();
    print_more_failures(printed, outputs.report.is_some());
    print_summary(global, args, &summary, elapsed, false)?;
    drop(in_flight);
    drop(connection);
    // The last lines on the disk, and the lock released, before the process says it is done.
    let end_sync = match outputs.report.as_mut().map(ReportWriter::sync) {
        Some(Err(e)) if stop.is_none() => Some(anyhow::Error::from(e)),
        _ => None,
    };
    let unrecorded = outputs.unrecorded;
    drop(outputs);
    if let Some(e) = end_sync {
        stop = Some(Stop::Output(e));
    }
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
        Some(Stop::Output(error)) => {
            let unrecorded = if unrecorded > 0 {
                format!(
                    "; {unrecorded} rows that finished could not be recorded and will be sent again"
                )
            } else {
                String::new()
            };
            let hint = match &args.report {
                Some(path) => format!(
                    "; once it is fixed, run again with --report {} --resume to apply the remaining rows",
                    path.display()
                ),
                None => String::new(),
            };
            let message = format!(
                "{}; stopped taking rows{unrecorded}{hint}",
                crate::exit::render(&error)
            );
            Err(CliError::new(Exit::ReportWrite, message).into())
        }
        None if summary.failed > 0 => Ok(Exit::RowsFailed),
        None if summary.drifted > 0 => Ok(Exit::Drift),
        None => Ok(Exit::Ok),
    }
}

/// Stops taking rows: the input is closed and the rows that wait are left for `--resume`.
/// The first reason to stop is kept.
fn halt(
    stop: &mut Option<Stop>,
    rx: &mut mpsc::Receiver<Item>,
    lanes: &mut Lanes<Pending>,
    ready: &mut VecDeque<Pending>,
    why: Stop,
) {
    rx.close();
    lanes.drop_waiting();
    ready.clear();
    if stop.is_none() {
        *stop = Some(why);
    }
}

/// The update of a request: a row's, or the rows' merged in order (later values win field by
/// field, the fields are the union).
fn merged(rows: &[Pending]) -> Result<ContactUpdate, nateq_api::Error> {
    match rows {
        [one] => Ok((*one.update).clone()),
        _ => {
            let mut fields = serde_json::Map::new();
            for row in rows {
                if let Ok(serde_json::Value::Object(object)) = serde_json::to_value(&*row.update) {
                    fields.extend(object);
                }
            }
            serde_json::from_value(serde_json::Value::Object(fields))
                .map_err(|e| nateq_api::Error::Config(format!("cannot merge rows: {e}")))
        }
    }
}

/// Records the rows of an applied request: the last one (which carried the others) `ok` with
/// every field the request set, then each other one `coalesced` into it. The carrier comes
/// first: a `coalesced` line counts as done only once its carrier's `ok` is recorded.
fn record_applied(
    outputs: &mut Outputs,
    summary: &mut Summary,
    mut rows: Vec<Pending>,
    attempts: u32,
    drift: Option<&nateq_api::Error>,
) -> anyhow::Result<()> {
    let Some(carrier) = rows.pop() else {
        return Ok(());
    };
    let union = rows
        .iter()
        .fold(carrier.fields, |all, row| all.union(row.fields));
    let mut entry = match drift {
        Some(error) => {
            ReportLine::applied_with_drift(carrier.line, carrier.id.clone(), union, error, attempts)
        }
        None => ReportLine {
            fields: Some(union),
            attempts,
            ..ReportLine::new(carrier.line, Some(carrier.id.clone()), Outcome::Ok)
        },
    };
    if !rows.is_empty() {
        entry.coalesced = Some(rows.iter().map(|r| r.line).collect());
    }
    summary.done += 1;
    let mut result = outputs.record(&entry, None);
    for row in rows {
        summary.done += 1;
        summary.coalesced += 1;
        let entry = ReportLine {
            fields: Some(row.fields),
            into: Some(carrier.line),
            ..ReportLine::new(row.line, Some(row.id), Outcome::Coalesced)
        };
        result = result.and(outputs.record(&entry, None));
    }
    result
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

/// Prints a failed row on stderr, up to [`MAX_PRINTED_FAILURES`] of them.
fn print_failure(progress: &Progress, printed: &mut u64, entry: &ReportLine) {
    *printed += 1;
    if *printed > MAX_PRINTED_FAILURES {
        return;
    }
    let id = entry.id.as_deref().unwrap_or("-");
    let what = failure_text(entry);
    progress.suspend(|| eprintln!("line {} ({id}): {what}", entry.line));
}

/// What went wrong with a row: `404 NOT_FOUND: contact ct_9 not found`.
fn failure_text(entry: &ReportLine) -> String {
    let mut what = String::new();
    if let Some(status) = entry.status {
        what.push_str(&format!("{status} "));
    }
    if let Some(code) = &entry.code {
        what.push_str(code);
        what.push_str(": ");
    }
    what.push_str(entry.message.as_deref().unwrap_or("failed"));
    what
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
            coalesced: 0,
            requests: 3000,
        };
        assert_eq!(
            summary.line(Duration::from_secs(2)),
            "2998 done, 2 failed, 10 skipped, 7 retried, 40 throttled in 2.00s (1500 rows/s)"
        );
        let summary = Summary {
            superseded: 3,
            drifted: 4,
            coalesced: 1500,
            requests: 1540,
            ..summary
        };
        assert_eq!(
            summary.line(Duration::from_secs(1)),
            "2998 done, 2 failed, 10 skipped, 7 retried, 40 throttled, 3 superseded, 4 drifted, 1500 coalesced (1540 requests) in 1.00s (3003 rows/s)"
        );
        assert_eq!(
            serde_json::to_string(&summary.json(Duration::from_secs(1))).unwrap(),
            r#"{"done":2998,"failed":2,"skipped":10,"retried":7,"throttled":40,"superseded":3,"drifted":4,"coalesced":1500,"requests":1540,"elapsedSecs":1.0,"rowsPerSec":3003.0}"#
        );
    }

    /// A run that took no measurable time has a rate of 0 rows/s, not NaN or infinity.
    #[test]
    fn the_rate_of_a_run_that_took_no_time_is_zero() {
        let summary = Summary {
            done: 3,
            ..Summary::default()
        };
        assert_eq!(summary.json(Duration::ZERO).rows_per_sec, 0.0);
        assert!(
            summary
                .line(Duration::ZERO)
                .ends_with("in 0.00s (0 rows/s)")
        );
    }

    #[test]
    fn the_interruption_message_counts_the_rows_left_for_resume() {
        assert_eq!(left_for_resume(0), "");
        assert_eq!(left_for_resume(3), "; 3 waiting rows are left for --resume");
    }

    #[test]
    fn the_format_follows_the_extension() {
        assert_eq!(guess_format(Path::new("a.CSV")), InputFormat::Csv);
        assert_eq!(guess_format(Path::new("a.jsonl")), InputFormat::Jsonl);
        assert_eq!(guess_format(Path::new("-")), InputFormat::Jsonl);
    }
}
