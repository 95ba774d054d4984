//! `update-many --dry-run`: every row read and validated as a real run would, nothing sent, no
//! server needed; the report says `valid` or `invalid` per row.

use std::io::Read;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::mpsc;

use super::failed::FailedOut;
use super::input::{self, Item, Row};
use super::progress::Progress;
use super::report::{self, DoneSet, Outcome, ReportLine};
use super::{Outputs, Summary, print_failure, print_more_failures};
use crate::cli::{InputFormat, UpdateManyArgs};
use crate::exit::Exit;

/// Reads every row, records it as `valid` or `invalid`, and prints the summary; exits 0 when
/// every row is valid and 3 otherwise.
pub async fn run(
    args: &UpdateManyArgs,
    format: InputFormat,
    input: Box<dyn Read + Send>,
) -> anyhow::Result<(Summary, Duration, Exit)> {
    let report = match &args.report {
        Some(path) => Some(report::create(path)?),
        None => None,
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
    let keep_raw = args.failed_out.is_some();
    let (tx, mut rx) = mpsc::channel::<Item>(64);
    std::thread::Builder::new()
        .name("nateq-input".into())
        .spawn(move || {
            let parsed = super::progress::ParsedRows::default();
            input::read_rows(input, format, DoneSet::default(), keep_raw, &parsed, &tx)
        })
        .context("cannot start the input reader")?;

    let mut progress = Progress::new(args.quiet, None, Default::default(), Default::default());
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut printed = 0u64;
    while let Some(item) = rx.recv().await {
        let (entry, raw) = match item {
            Item::Row {
                line,
                row: Row::Valid { id, fields, .. },
            } => {
                summary.done += 1;
                let entry = ReportLine {
                    fields: Some(fields),
                    ..ReportLine::new(line, Some(id), Outcome::Valid)
                };
                (entry, None)
            }
            Item::Row {
                line,
                row: Row::Invalid { id, message, raw },
            } => {
                summary.failed += 1;
                let entry = ReportLine {
                    message: Some(message),
                    ..ReportLine::new(line, id, Outcome::Invalid)
                };
                print_failure(&progress, &mut printed, &entry);
                (entry, raw)
            }
            Item::Header(header) => {
                if let Some(failed) = &mut outputs.failed {
                    failed.header(&header)?;
                }
                continue;
            }
            Item::Fatal(error) => return Err(error),
            // Only --resume skips or supersedes rows, and a dry run does not resume.
            Item::Skipped | Item::Superseded { .. } => continue,
        };
        outputs.record(&entry, raw.as_ref())?;
        progress.inc();
    }
    progress.finish();
    if let Some(report) = &mut outputs.report {
        report.sync()?;
    }
    print_more_failures(printed, outputs.report.is_some());
    let exit = if summary.failed > 0 {
        Exit::Validation
    } else {
        Exit::Ok
    };
    Ok((summary, started.elapsed(), exit))
}
