//! `update-many --dry-run`: every row read and validated as a real run would, nothing sent, no
//! server needed; the report says `valid` or `invalid` per row.

use std::io::Read;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::mpsc;

use super::input::{self, Item, Row};
use super::progress::Progress;
use super::report::{self, DoneSet, Outcome, ReportLine};
use super::{Summary, print_failure, print_more_failures, record};
use crate::cli::{InputFormat, UpdateManyArgs};
use crate::exit::Exit;

/// Reads every row, records it as `valid` or `invalid`, and prints the summary; exits 0 when
/// every row is valid and 3 otherwise.
pub async fn run(
    args: &UpdateManyArgs,
    format: InputFormat,
    input: Box<dyn Read + Send>,
) -> anyhow::Result<(Summary, Duration, Exit)> {
    let mut writer = match &args.report {
        Some(path) => Some(report::create(path)?),
        None => None,
    };
    let (tx, mut rx) = mpsc::channel::<Item>(64);
    std::thread::Builder::new()
        .name("nateq-input".into())
        .spawn(move || input::read_rows(input, format, DoneSet::default(), &tx))
        .context("cannot start the input reader")?;

    let mut progress = Progress::new(args.quiet, None, Default::default());
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut printed = 0u64;
    while let Some(item) = rx.recv().await {
        let entry = match item {
            Item::Row {
                line,
                row: Row::Valid { id, fields, .. },
            } => {
                summary.done += 1;
                ReportLine {
                    fields: Some(fields),
                    ..ReportLine::new(line, Some(id), Outcome::Valid)
                }
            }
            Item::Row {
                line,
                row: Row::Invalid { id, message },
            } => {
                summary.failed += 1;
                let entry = ReportLine {
                    message: Some(message),
                    ..ReportLine::new(line, id, Outcome::Invalid)
                };
                print_failure(&progress, &mut printed, &entry);
                entry
            }
            Item::Fatal(error) => return Err(error),
            // Only --resume skips or supersedes rows, and a dry run does not resume.
            Item::Skipped | Item::Superseded { .. } => continue,
        };
        record(&mut writer, &entry)?;
        progress.inc();
    }
    progress.finish();
    print_more_failures(printed, writer.is_some());
    let exit = if summary.failed > 0 {
        Exit::Validation
    } else {
        Exit::Ok
    };
    Ok((summary, started.elapsed(), exit))
}
