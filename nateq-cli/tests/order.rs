//! End to end: rows of one contact land in input order through concurrency, retries and
//! `--resume`, so every contact ends as if its successful rows were applied one by one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use nateq_emulator::{FaultConfig, FaultKind, JournalEntry};
use serde_json::{Map, Value, json};
use support::{Emu, report, run_with_report, signal_mid_run, texts, write};

/// The fields the rows set, and how each contact's value of it is read back.
const FIELDS: [&str; 5] = ["name", "email", "phone", "externalId", "position"];

/// Row `line` (1-based) of a file cycling over `ids` contacts: every row sets `name`, and other
/// fields now and then, each to a value naming the row, so the final state shows which row won.
fn row(line: usize, ids: usize) -> Map<String, Value> {
    let mut row = Map::new();
    row.insert(
        "id".into(),
        json!(format!("ct_demo_{}", (line - 1) % ids + 1)),
    );
    row.insert("name".into(), json!(format!("Row {line}")));
    if line.is_multiple_of(2) {
        row.insert("email".into(), json!(format!("row{line}@example.com")));
    }
    if line.is_multiple_of(7) {
        row.insert("phone".into(), json!(format!("+1 555 {line:04}")));
    }
    if line.is_multiple_of(3) {
        row.insert("externalId".into(), json!(format!("ext-{line}")));
    }
    if line.is_multiple_of(11) {
        row.insert("position".into(), json!(format!("Position {line}")));
    }
    row
}

fn rows(n: usize, ids: usize) -> Vec<Map<String, Value>> {
    (1..=n).map(|line| row(line, ids)).collect()
}

fn jsonl(rows: &[Map<String, Value>]) -> String {
    let mut out = String::new();
    for row in rows {
        writeln!(out, "{}", Value::Object(row.clone())).unwrap();
    }
    out
}

/// A contact's values of [`FIELDS`], as the emulator has them now.
fn state(emu: &Emu, id: &str) -> BTreeMap<&'static str, Option<String>> {
    let contact = emu.contact(id).contact;
    BTreeMap::from([
        ("name", contact.name),
        ("email", contact.email),
        ("phone", contact.phone),
        ("externalId", contact.external_id),
        ("position", contact.position),
    ])
}

/// Every contact's values after applying `applied` (input line numbers, 1-based) of `rows` in
/// input order, on top of `before`.
fn expected(
    rows: &[Map<String, Value>],
    applied: &BTreeSet<usize>,
    before: &BTreeMap<String, BTreeMap<&'static str, Option<String>>>,
) -> BTreeMap<String, BTreeMap<&'static str, Option<String>>> {
    let mut state = before.clone();
    for &line in applied {
        let row = &rows[line - 1];
        let contact = state.get_mut(row["id"].as_str().unwrap()).unwrap();
        for field in FIELDS {
            if let Some(value) = row.get(field) {
                contact.insert(field, Some(value.as_str().unwrap().to_string()));
            }
        }
    }
    state
}

fn states(emu: &Emu, ids: usize) -> BTreeMap<String, BTreeMap<&'static str, Option<String>>> {
    (1..=ids)
        .map(|i| {
            let id = format!("ct_demo_{i}");
            let state = state(emu, &id);
            (id, state)
        })
        .collect()
}

/// The lines the report records with this result, each once: fails if a line is recorded
/// with it twice (which a set would hide).
fn lines_with(report_path: &Path, result: &str) -> BTreeSet<usize> {
    let lines: Vec<usize> = report(report_path)
        .iter()
        .filter(|e| e["result"] == result)
        .map(|e| usize::try_from(e["line"].as_u64().unwrap()).unwrap())
        .collect();
    let set: BTreeSet<usize> = lines.iter().copied().collect();
    assert_eq!(
        set.len(),
        lines.len(),
        "a line recorded as {result} twice: {lines:?}"
    );
    set
}

/// The report's lines, in its order: every input line once, whatever its result.
fn every_line_once(report_path: &Path, n: usize) {
    let mut lines: Vec<usize> = report(report_path)
        .iter()
        .map(|e| usize::try_from(e["line"].as_u64().unwrap()).unwrap())
        .collect();
    lines.sort_unstable();
    assert_eq!(lines, (1..=n).collect::<Vec<_>>());
}

/// The input line a request's body comes from: every value of a row names its line (its
/// last number).
fn line_of(entry: &JournalEntry) -> usize {
    let body = entry.body.as_ref().and_then(Value::as_object);
    let lines: BTreeSet<usize> = body
        .unwrap_or_else(|| panic!("no body: {entry:?}"))
        .values()
        .map(|v| {
            let text = v.as_str().unwrap();
            let digits: String = text
                .chars()
                .rev()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(char::is_ascii_digit)
                .collect();
            digits.chars().rev().collect::<String>().parse().unwrap()
        })
        .collect();
    assert_eq!(lines.len(), 1, "{entry:?}");
    lines.into_iter().next().unwrap()
}

/// The lines each contact's applied requests (answered 200) came from, in the order the
/// emulator received them, from `entries` of the journal.
fn applied_by_contact(entries: &[JournalEntry]) -> BTreeMap<String, Vec<usize>> {
    let mut applied: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for entry in entries.iter().filter(|e| e.status == Some(200)) {
        let id = entry.contact_id.clone().unwrap();
        applied.entry(id).or_default().push(line_of(entry));
    }
    applied
}

/// The input lines of each contact, in input order.
fn lines_by_contact(rows: &[Map<String, Value>]) -> BTreeMap<String, Vec<usize>> {
    let mut lines: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        let id = row["id"].as_str().unwrap().to_string();
        lines.entry(id).or_default().push(i + 1);
    }
    lines
}

#[test]
fn repeated_ids_at_high_concurrency_end_with_the_last_row_of_each_field() {
    let (n, ids) = (2000, 8);
    let emu = Emu::start(ids);
    let before = states(&emu, ids);
    let rows = rows(n, ids);
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "rows.jsonl", &jsonl(&rows));
    let report_path = dir.path().join("report.jsonl");
    // Latency reorders requests in flight; 503s (without Retry-After, so they use up retries)
    // make rows retry. No 429s: each one slows the whole client down, which only makes the
    // test slower.
    let mut kinds = vec![FaultKind::Latency; 8];
    kinds.extend([FaultKind::ServiceUnavailable; 2]);
    emu.emulator
        .set_faults(
            FaultConfig::new(0.3, kinds)
                .seed(11)
                .latency(Duration::from_millis(20)),
        )
        .unwrap();
    let output = run_with_report(
        emu.nateq()
            .args(["contacts", "update-many", "--concurrency", "32"])
            .args(["--max-retries", "20", "--input"]),
        &input,
        &report_path,
    );
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let faults = emu.emulator.faults().counters;
    assert!(
        faults.latency > 200 && faults.service_unavailable > 50,
        "too few faults to matter: {faults:?}"
    );
    let ok = lines_with(&report_path, "ok");
    assert_eq!(ok.len(), n, "{stderr}");
    every_line_once(&report_path, n);
    assert_eq!(states(&emu, ids), expected(&rows, &ok, &before));
    // Request by request: each contact's rows were applied one by one, in input order, each
    // once (a 503 applies nothing; latency delays a request but not the next of its contact,
    // which waits for it).
    assert_eq!(applied_by_contact(&emu.journal()), lines_by_contact(&rows));
}

#[test]
fn failed_rows_resumed_later_do_not_overwrite_what_later_rows_set() {
    let (n, ids) = (600, 30);
    let emu = Emu::start(ids);
    let before = states(&emu, ids);
    let rows = rows(n, ids);
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "rows.jsonl", &jsonl(&rows));
    let report_path = dir.path().join("report.jsonl");

    // First run: a third of the requests get a 503 and are not retried.
    emu.emulator
        .set_faults(FaultConfig::new(0.3, [FaultKind::ServiceUnavailable]).seed(5))
        .unwrap();
    let output = run_with_report(
        emu.nateq()
            .args(["contacts", "update-many", "--concurrency", "32"])
            .args(["--max-retries", "0", "--input"]),
        &input,
        &report_path,
    );
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(7), "{stderr}");
    let ok = lines_with(&report_path, "ok");
    let failed = lines_with(&report_path, "error");
    assert!(failed.len() > 100 && ok.len() > 300, "{stderr}");
    assert_eq!(ok.len() + failed.len(), n);
    every_line_once(&report_path, n);
    let first_run = emu.journal().len();
    assert_eq!(states(&emu, ids), expected(&rows, &ok, &before));

    // Which failed rows a later, done row of the same contact covers entirely (superseded),
    // or in part (sent without the covered fields).
    let covered = |line: usize| -> (usize, usize) {
        let row = &rows[line - 1];
        let later: BTreeSet<&str> = ok
            .range(line + 1..)
            .map(|&l| &rows[l - 1])
            .filter(|r| r["id"] == row["id"])
            .flat_map(|r| r.keys().map(String::as_str))
            .collect();
        let fields: Vec<&str> = FIELDS
            .into_iter()
            .filter(|f| row.contains_key(*f))
            .collect();
        let hit = fields.iter().filter(|f| later.contains(**f)).count();
        (hit, fields.len())
    };
    let superseded: BTreeSet<usize> = failed
        .iter()
        .copied()
        .filter(|&l| {
            let (hit, all) = covered(l);
            hit == all
        })
        .collect();
    let partly = failed
        .iter()
        .filter(|&&l| {
            let (hit, all) = covered(l);
            hit > 0 && hit < all
        })
        .count();
    assert!(superseded.len() > 10, "{superseded:?}");
    assert!(partly > 5, "{partly}");

    // Second run, without faults: the rest is applied as if every row went in order.
    emu.emulator.set_faults(FaultConfig::default()).unwrap();
    let output = run_with_report(
        emu.nateq()
            .args(["contacts", "update-many", "--concurrency", "32", "--resume"])
            .arg("--input"),
        &input,
        &report_path,
    );
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("{} superseded", superseded.len())),
        "{stderr}"
    );
    let all: BTreeSet<usize> = (1..=n).collect();
    assert_eq!(states(&emu, ids), expected(&rows, &all, &before));
    assert_eq!(lines_with(&report_path, "superseded"), superseded);
    let now_ok: BTreeSet<usize> = lines_with(&report_path, "ok");
    assert_eq!(now_ok.len() + superseded.len(), n);
    assert!(now_ok.is_disjoint(&superseded));
    // The resumed run sent each failed row that was not superseded, once, and nothing else.
    let resumed = emu.journal().split_off(first_run);
    let mut sent: Vec<usize> = resumed.iter().map(line_of).collect();
    sent.sort_unstable();
    let expected_sent: Vec<usize> = failed.difference(&superseded).copied().collect();
    assert_eq!(sent, expected_sent);
    assert!(
        resumed.iter().all(|e| e.status == Some(200)),
        "{resumed:#?}"
    );
}

/// Starts a run over repeated ids against a slow server, sends `signal` once some rows are
/// recorded, then resumes without faults: every contact must end as if all rows went in order.
fn stop_then_resume(signal: &str) {
    let (n, ids) = (1000, 10);
    let emu = Emu::start(ids);
    let before = states(&emu, ids);
    let rows = rows(n, ids);
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "rows.jsonl", &jsonl(&rows));
    let report_path = dir.path().join("report.jsonl");
    emu.emulator
        .set_faults(
            FaultConfig::new(1.0, [FaultKind::Latency])
                .seed(3)
                .latency(Duration::from_millis(20)),
        )
        .unwrap();
    let output = signal_mid_run(&emu, "32", &input, &report_path, 50, signal);
    let (_, stderr) = texts(&output);
    let expected_code = if signal == "-KILL" { None } else { Some(130) };
    assert_eq!(output.status.code(), expected_code, "{stderr}");
    let done_first = lines_with(&report_path, "ok");
    assert!(done_first.len() < n, "the run was not stopped");

    // The resumed run meets latency on half of the requests, which reorders them in flight.
    emu.emulator
        .set_faults(
            FaultConfig::new(0.5, [FaultKind::Latency])
                .seed(4)
                .latency(Duration::from_millis(5)),
        )
        .unwrap();
    let output = run_with_report(
        emu.nateq()
            .args(["contacts", "update-many", "--concurrency", "32", "--resume"])
            .arg("--input"),
        &input,
        &report_path,
    );
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let all: BTreeSet<usize> = (1..=n).collect();
    assert_eq!(states(&emu, ids), expected(&rows, &all, &before));
    assert_eq!(lines_with(&report_path, "ok").len(), n);
    every_line_once(&report_path, n);
    // Request by request, across both runs: each contact's rows were applied in input order.
    // After Ctrl-C each exactly once. After kill -9 the row of a contact in flight at the kill
    // (its first row the killed run did not record) may have been applied unrecorded, and is
    // applied again first thing by the resumed run: that row, and only it, may show twice.
    let mut applied = applied_by_contact(&emu.journal());
    let expected = lines_by_contact(&rows);
    if signal == "-KILL" {
        for (id, lines) in &mut applied {
            let in_flight = expected[id].iter().find(|l| !done_first.contains(l));
            if let Some(at) = lines
                .windows(2)
                .position(|w| w[0] == w[1] && Some(&w[0]) == in_flight)
            {
                lines.remove(at);
            }
        }
    }
    assert_eq!(applied, expected);
}

#[test]
fn ctrl_c_then_resume_keeps_each_contacts_rows_in_order() {
    stop_then_resume("-INT");
}

#[test]
fn sigkill_then_resume_keeps_each_contacts_rows_in_order() {
    stop_then_resume("-KILL");
}
