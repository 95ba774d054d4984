//! End to end: `nateq contacts update-many` (JSONL and CSV, concurrency, malformed rows, the
//! report, `--resume`, Ctrl-C and kill), through the built binary against the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use nateq_api::ContactUpdate;
use nateq_emulator::{FaultConfig, FaultKind, JournalEntry};
use serde_json::{Value, json};
use support::{Emu, report, run_with_report, signal_mid_run, texts, write};

/// The fields row `i` sets: what its request's body must be.
fn body(i: usize) -> Value {
    json!({
        "name": format!("Bulk {i}"),
        "doNotContact": i.is_multiple_of(2),
        "externalId": format!("ext-{i}"),
    })
}

/// JSONL rows `{"id":"ct_demo_i","name":"Bulk i",...}` for `i` in `range`, one per line.
fn jsonl_rows(range: std::ops::RangeInclusive<usize>) -> String {
    let mut out = String::new();
    for i in range {
        let mut row = body(i);
        row["id"] = json!(format!("ct_demo_{i}"));
        writeln!(out, "{row}").unwrap();
    }
    out
}

/// A property (or CSV column) name the spec can never have: every field name of the
/// generated table joined, longer than any one of them.
fn not_a_field() -> String {
    let name: String = nateq_api::fields::UPDATE_CONTACT_FIELDS
        .iter()
        .map(|f| f.name)
        .collect();
    assert!(nateq_api::fields::field(&name).is_none());
    name
}

/// The journal's requests per contact id.
fn by_contact(entries: &[JournalEntry]) -> BTreeMap<&str, Vec<&JournalEntry>> {
    let mut by_contact: BTreeMap<&str, Vec<&JournalEntry>> = BTreeMap::new();
    for entry in entries {
        let id = entry.contact_id.as_deref().unwrap_or_default();
        by_contact.entry(id).or_default().push(entry);
    }
    by_contact
}

/// Asserts that row `i` was sent exactly once in `requests` (a phase of the journal, by
/// contact), as it is, and applied (a 200).
fn sent_once(requests: &BTreeMap<&str, Vec<&JournalEntry>>, i: usize) {
    let id = format!("ct_demo_{i}");
    let sent = requests
        .get(id.as_str())
        .map(Vec::as_slice)
        .unwrap_or_default();
    assert_eq!(sent.len(), 1, "{id}: sent {} times: {sent:#?}", sent.len());
    assert_eq!(
        (sent[0].status, sent[0].body.as_ref()),
        (Some(200), Some(&body(i))),
        "{id}"
    );
}

/// The summary line of stderr, with the timing left out.
fn summary(stderr: &str) -> String {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("update-many: "))
        .unwrap_or_else(|| panic!("no summary in {stderr}"));
    line.split(" in ").next().unwrap().to_string()
}

/// `ok` report entries by line number: (id, count).
fn ok_lines(path: &Path) -> BTreeMap<u64, (String, usize)> {
    let mut lines = BTreeMap::new();
    for entry in report(path) {
        if entry["result"] == "ok" {
            let line = entry["line"].as_u64().unwrap();
            let id = entry["id"].as_str().unwrap().to_string();
            lines.entry(line).or_insert((id, 0)).1 += 1;
        }
    }
    lines
}

#[test]
fn three_thousand_jsonl_rows_with_concurrency_reach_the_server_row_by_row() {
    let n = 3000;
    let emu = Emu::start(n);
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "rows.jsonl", &jsonl_rows(1..=n));
    let report_path = dir.path().join("report.jsonl");
    let output = run_with_report(
        emu.nateq()
            .args(["contacts", "update-many", "--concurrency", "16", "--input"]),
        &input,
        &report_path,
    );
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(
        summary(&stderr),
        "update-many: 3000 done, 0 failed, 0 skipped, 0 retried, 0 throttled"
    );
    assert!(stderr.contains("rows/s)"), "{stderr}");

    let ok = ok_lines(&report_path);
    assert_eq!(ok.len(), n);
    for (line, (id, count)) in &ok {
        assert_eq!(id, &format!("ct_demo_{line}"));
        assert_eq!(*count, 1);
    }
    for i in 1..=n {
        let id = format!("ct_demo_{i}");
        let stored = emu.contact(&id).contact;
        assert_eq!(stored.name, Some(format!("Bulk {i}")), "{id}");
        assert_eq!(stored.do_not_contact, Some(i % 2 == 0), "{id}");
        assert_eq!(stored.external_id, Some(format!("ext-{i}")), "{id}");
        assert_eq!(emu.changes_of(&id, "name"), 1, "{id}");
        assert_eq!(emu.changes_of(&id, "externalId"), 1, "{id}");
    }
    // Each row was sent once: the journal has every request (an identical update sent again
    // would log no second activity).
    let journal = emu.journal();
    assert_eq!(journal.len(), n);
    let requests = by_contact(&journal);
    for i in 1..=n {
        sent_once(&requests, i);
    }
}

#[test]
fn csv_rows_apply_their_cells_and_leave_empty_cells_unchanged() {
    let n = 400;
    let emu = Emu::start(n);
    let before: Vec<_> = (1..=n)
        .map(|i| emu.contact(&format!("ct_demo_{i}")).contact)
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,name,doNotContact,type,phone\n");
    for i in 1..=n {
        // Every third row leaves the name alone; every fifth sets no flag.
        let name = if i % 3 == 0 {
            String::new()
        } else {
            format!("\"Csv, {i}\"")
        };
        let flag = if i % 5 == 0 {
            ""
        } else if i % 2 == 0 {
            "true"
        } else {
            "FALSE"
        };
        writeln!(csv, "ct_demo_{i},{name},{flag},customer,+1 555 {i:04}").unwrap();
    }
    let input = write(dir.path(), "rows.csv", &csv);
    let output = emu
        .nateq()
        .args(["contacts", "update-many", "--concurrency", "8", "--input"])
        .arg(&input)
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(
        summary(&stderr),
        "update-many: 400 done, 0 failed, 0 skipped, 0 retried, 0 throttled"
    );
    for i in 1..=n {
        let id = format!("ct_demo_{i}");
        let stored = emu.contact(&id);
        let was = &before[i - 1];
        let name = if i % 3 == 0 {
            was.name.clone()
        } else {
            Some(format!("Csv, {i}"))
        };
        let flag = if i % 5 == 0 {
            was.do_not_contact
        } else {
            Some(i % 2 == 0)
        };
        assert_eq!(stored.contact.name, name, "{id}");
        assert_eq!(stored.contact.do_not_contact, flag, "{id}");
        assert_eq!(stored.contact.phone, Some(format!("+1 555 {i:04}")), "{id}");
        assert_eq!(
            stored.contact_type,
            Some(nateq_api::types::ContactType::Customer)
        );
    }
}

#[test]
fn rows_from_stdin_stream_through() {
    let emu = Emu::start(50);
    let output = emu
        .nateq()
        .args(["contacts", "update-many", "--input", "-"])
        .write_stdin(jsonl_rows(1..=50))
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(
        summary(&stderr),
        "update-many: 50 done, 0 failed, 0 skipped, 0 retried, 0 throttled"
    );
    assert_eq!(
        emu.contact("ct_demo_50").contact.name.as_deref(),
        Some("Bulk 50")
    );
}

#[test]
fn malformed_rows_are_reported_with_their_line_and_do_not_stop_the_others() {
    let n = 200;
    let emu = Emu::start(n);
    let dir = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = jsonl_rows(1..=n).lines().map(str::to_string).collect();
    lines[99] = "{\"id\":\"ct_demo_100\",\"name\":".to_string();
    lines[119] = json!({"id": "ct_demo_120", not_a_field(): "x"}).to_string();
    lines[139] = json!({"id": "ct_demo_140", "name": "x".repeat(name_limit() + 1)}).to_string();
    lines[159] = json!({"id": "ct_nope", "name": "Nobody"}).to_string();
    lines[179] = json!({"id": "ct_demo_180", "doNotContact": "yes"}).to_string();
    let input = write(dir.path(), "rows.jsonl", &(lines.join("\n") + "\n"));
    let report_path = dir.path().join("report.jsonl");
    let output = run_with_report(
        emu.nateq().args(["contacts", "update-many", "--input"]),
        &input,
        &report_path,
    );
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(7), "{stderr}");
    assert_eq!(
        summary(&stderr),
        "update-many: 195 done, 5 failed, 0 skipped, 0 retried, 0 throttled"
    );

    let bad: HashSet<usize> = [100, 120, 140, 160, 180].into();
    for i in 1..=n {
        let id = format!("ct_demo_{i}");
        let name = emu.contact(&id).contact.name.unwrap();
        assert_eq!(
            name == format!("Bulk {i}"),
            !bad.contains(&i),
            "{id}: {name}"
        );
    }
    // Every good row was sent once; an invalid row never (line 160's contact does not exist:
    // its one request got the 404).
    let journal = emu.journal();
    let requests = by_contact(&journal);
    for i in (1..=n).filter(|i| !bad.contains(i)) {
        sent_once(&requests, i);
    }
    for i in &bad {
        assert!(
            !requests.contains_key(format!("ct_demo_{i}").as_str()),
            "{i}"
        );
    }
    let missing = &requests["ct_nope"];
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].status, Some(404));
    assert_eq!(journal.len(), n - bad.len() + 1);

    // The report (sorted by line) and stderr (sorted, timing left out) are snapshots.
    assert_eq!(report(&report_path).len(), n);
    let text = std::fs::read_to_string(&report_path).unwrap();
    let mut failed: Vec<(u64, &str)> = text
        .lines()
        .filter(|l| !l.contains("\"result\":\"ok\""))
        .map(|l| {
            (
                serde_json::from_str::<serde_json::Value>(l).unwrap()["line"]
                    .as_u64()
                    .unwrap(),
                l,
            )
        })
        .collect();
    failed.sort_unstable();
    let failures: String = failed.iter().map(|(_, l)| format!("{l}\n")).collect();
    insta::assert_snapshot!("malformed_rows_report", normalised(&failures));
    let mut err_lines: Vec<&str> = stderr.lines().collect();
    err_lines.sort_unstable();
    let err_text: String = err_lines
        .iter()
        .map(|l| format!("{}\n", l.split(" in ").next().unwrap()))
        .collect();
    insta::assert_snapshot!("malformed_rows_stderr", normalised(&err_text));
}

#[test]
fn a_bad_csv_header_stops_before_any_request() {
    let emu = Emu::start(5);
    let dir = tempfile::tempdir().unwrap();
    let unknown = not_a_field();
    let input = write(
        dir.path(),
        "rows.csv",
        &format!("id,{unknown}\nct_demo_1,Ada\n"),
    );
    let output = emu
        .nateq()
        .args(["contacts", "update-many", "--input"])
        .arg(&input)
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("error: line 1: unknown column \"{unknown}\"")),
        "{stderr}"
    );
    assert_eq!(emu.journal(), [], "a request was sent");
}

#[test]
fn a_bad_key_stops_the_run_instead_of_failing_every_row() {
    let emu = Emu::start(500);
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "rows.jsonl", &jsonl_rows(1..=500));
    let output = emu
        .nateq()
        .env("NATEQ_API_KEY", "tg_test_wrong")
        .args(["contacts", "update-many", "--concurrency", "4", "--input"])
        .arg(&input)
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains(
            "error: stopped: every further row would fail the same way: 401 UNAUTHORIZED"
        ),
        "{stderr}"
    );
    let failed: u64 = summary(&stderr)
        .split(", ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(failed <= 8, "{stderr}");
    // What was sent: at least one request, and no more than were in flight when the first
    // 401 came back, each refused.
    let journal = emu.journal();
    assert!((1..=8).contains(&journal.len()), "{journal:#?}");
    for r in &journal {
        assert_eq!(r.status, Some(401), "{r:?}");
    }
}

#[test]
fn an_existing_report_is_not_overwritten_without_resume() {
    let emu = Emu::start(5);
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "rows.jsonl", &jsonl_rows(1..=5));
    let report_path = write(
        dir.path(),
        "report.jsonl",
        "{\"line\":1,\"id\":\"ct_demo_1\",\"result\":\"ok\",\"attempts\":1}\n",
    );
    let output = run_with_report(
        emu.nateq().args(["contacts", "update-many", "--input"]),
        &input,
        &report_path,
    );
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("pass --resume"), "{stderr}");
    assert_eq!(emu.changes_of("ct_demo_1", "name"), 0);
}

/// Runs `update-many --resume` to completion and returns its stderr; it must exit 0.
fn resume(emu: &Emu, input: &Path, report_path: &Path) -> String {
    let output = run_with_report(
        emu.nateq()
            .args(["contacts", "update-many", "--resume", "--input"]),
        input,
        report_path,
    );
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    stderr
}

/// The name [`change_behind_the_back`] sets.
const BEHIND_THE_BACK: &str = "Changed behind the back";

/// Changes the name of each contact behind the CLI's back, so that a row sent again would
/// show: its name would go back to the row's value. These requests also divide the journal
/// into the interrupted run and the resumed one.
fn change_behind_the_back(emu: &Emu, ids: &[String]) {
    assert!(!ids.is_empty());
    let client = emu.client();
    emu.block_on(async {
        for id in ids {
            client
                .contacts()
                .update(id, ContactUpdate::new().name(BEHIND_THE_BACK))
                .await
                .unwrap();
        }
    });
}

/// After a resumed run: rows recorded as done were not sent again, every other row was
/// applied, and each name changed exactly as often as expected. The journal shows it request
/// by request (an identical row sent again would change nothing): in the resumed run, no
/// request for a recorded row and exactly one, applied, for every other. Returns the
/// journal's requests of the interrupted run.
fn assert_resumed(
    emu: &Emu,
    n: usize,
    recorded: &HashSet<String>,
    report_path: &Path,
) -> Vec<JournalEntry> {
    for i in 1..=n {
        let id = format!("ct_demo_{i}");
        let name = emu.contact(&id).contact.name.unwrap();
        if recorded.contains(&id) {
            assert_eq!(name, BEHIND_THE_BACK, "{id} was sent again");
            assert_eq!(emu.changes_of(&id, "name"), 2, "{id}");
        } else {
            assert_eq!(name, format!("Bulk {i}"), "{id}");
            assert_eq!(emu.changes_of(&id, "name"), 1, "{id}");
        }
    }
    let ok = ok_lines(report_path);
    assert_eq!(ok.len(), n, "every line is recorded as done");
    assert!(
        ok.values().all(|(_, count)| *count == 1),
        "a row was recorded twice"
    );

    // The journal, in the order the requests were received: the interrupted run, the
    // changes behind the back (one per recorded row, in a block), the resumed run.
    let mut journal = emu.journal();
    let behind = |e: &JournalEntry| e.body == Some(json!({ "name": BEHIND_THE_BACK }));
    let start = journal.iter().position(behind).unwrap();
    let end = journal.iter().rposition(behind).unwrap() + 1;
    assert_eq!(end - start, recorded.len());
    assert!(journal[start..end].iter().all(behind));
    let resumed = journal.split_off(end);
    journal.truncate(start);
    let resumed_by_contact = by_contact(&resumed);
    for i in 1..=n {
        let id = format!("ct_demo_{i}");
        if recorded.contains(&id) {
            assert!(
                !resumed_by_contact.contains_key(id.as_str()),
                "{id} was done, and sent again"
            );
        } else {
            sent_once(&resumed_by_contact, i);
        }
    }
    assert_eq!(resumed.len(), n - recorded.len());
    journal
}

#[test]
fn resume_after_a_torn_report_applies_the_rest_and_nothing_twice() {
    let (n, first_run, kept) = (1000, 600, 250);
    let emu = Emu::start(n);
    let dir = tempfile::tempdir().unwrap();
    let all = jsonl_rows(1..=n);
    let head: String = all
        .lines()
        .take(first_run)
        .map(|l| format!("{l}\n"))
        .collect();
    let input_head = write(dir.path(), "head.jsonl", &head);
    let input = write(dir.path(), "rows.jsonl", &all);
    let report_path = dir.path().join("report.jsonl");

    // The interrupted run: it applied the first 600 rows, but only 250 report lines and half
    // of the next one reached the disk.
    let output = run_with_report(
        emu.nateq().args(["contacts", "update-many", "--input"]),
        &input_head,
        &report_path,
    );
    assert_eq!(output.status.code(), Some(0), "{}", texts(&output).1);
    let text = std::fs::read_to_string(&report_path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let torn = &lines[kept][..lines[kept].len() / 2];
    let truncated = format!("{}\n{torn}", lines[..kept].join("\n"));
    std::fs::write(&report_path, truncated).unwrap();
    let recorded: HashSet<String> = lines[..kept]
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let recorded_ids: Vec<String> = recorded.iter().cloned().collect();
    change_behind_the_back(&emu, &recorded_ids);

    let stderr = resume(&emu, &input, &report_path);
    assert_eq!(
        summary(&stderr),
        "update-many: 750 done, 0 failed, 250 skipped, 0 retried, 0 throttled"
    );
    let first = assert_resumed(&emu, n, &recorded, &report_path);
    // The first run sent each of its rows once.
    assert_eq!(first.len(), first_run);
    let first = by_contact(&first);
    for i in 1..=first_run {
        sent_once(&first, i);
    }
}

/// Starts `update-many` with a slow server, waits for some rows to be recorded, then sends
/// `signal`; returns the exit code, stderr and the ids the report has as done.
fn interrupt_mid_run(
    emu: &Emu,
    input: &Path,
    report_path: &Path,
    signal: &str,
) -> (Option<i32>, String, HashSet<String>) {
    emu.emulator
        .set_faults(
            FaultConfig::new(1.0, [FaultKind::Latency])
                .seed(7)
                .latency(Duration::from_millis(100)),
        )
        .unwrap();
    let output = signal_mid_run(emu, "8", input, report_path, 20, signal);
    let (_, stderr) = texts(&output);
    emu.emulator.set_faults(FaultConfig::default()).unwrap();
    let text = std::fs::read_to_string(report_path).unwrap();
    let done = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["result"] == "ok")
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    (output.status.code(), stderr, done)
}

#[test]
fn ctrl_c_finishes_the_rows_in_flight_flushes_the_report_and_resume_completes() {
    let n = 2000;
    let emu = Emu::start(n);
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "rows.jsonl", &jsonl_rows(1..=n));
    let report_path = dir.path().join("report.jsonl");

    let (code, stderr, done) = interrupt_mid_run(&emu, &input, &report_path, "-INT");
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("interrupted: finishing"), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    // Every row sent was finished and recorded: the report is whole, and its rows are
    // exactly the contacts changed.
    let text = std::fs::read_to_string(&report_path).unwrap();
    assert!(text.ends_with('\n'));
    assert!(done.len() < n, "the run was not interrupted");
    for i in 1..=n {
        let id = format!("ct_demo_{i}");
        assert_eq!(
            emu.changes_of(&id, "name"),
            usize::from(done.contains(&id)),
            "{id}"
        );
    }
    let summary_done: usize = summary(&stderr)
        .trim_start_matches("update-many: ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(summary_done, done.len());

    let done_ids: Vec<String> = done.iter().cloned().collect();
    change_behind_the_back(&emu, &done_ids);
    let stderr = resume(&emu, &input, &report_path);
    assert!(
        summary(&stderr).contains(&format!("{} skipped", done.len())),
        "{stderr}"
    );
    // The interrupted run sent exactly the rows it recorded, each once.
    let first = assert_resumed(&emu, n, &done, &report_path);
    assert_eq!(first.len(), done.len());
    let first = by_contact(&first);
    for i in 1..=n {
        if done.contains(&format!("ct_demo_{i}")) {
            sent_once(&first, i);
        }
    }
}

#[test]
fn after_sigkill_resume_applies_the_rest_and_nothing_twice() {
    let n = 2000;
    let emu = Emu::start(n);
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "rows.jsonl", &jsonl_rows(1..=n));
    let report_path = dir.path().join("report.jsonl");

    let (code, _, done) = interrupt_mid_run(&emu, &input, &report_path, "-KILL");
    assert_eq!(code, None, "killed by a signal");
    assert!(done.len() < n);
    // Rows in flight at the kill may have been applied without being recorded: resume sends
    // them again (harmless, the update is idempotent), but never a recorded one.
    let done_ids: Vec<String> = done.iter().cloned().collect();
    change_behind_the_back(&emu, &done_ids);
    resume(&emu, &input, &report_path);
    // The killed run sent each recorded row once, and at most the 8 rows in flight besides.
    let first = assert_resumed(&emu, n, &done, &report_path);
    let first = by_contact(&first);
    for i in 1..=n {
        if done.contains(&format!("ct_demo_{i}")) {
            sent_once(&first, i);
        }
    }
    let in_flight: Vec<&&str> = first.keys().filter(|id| !done.contains(**id)).collect();
    assert!(in_flight.len() <= 8, "{in_flight:?}");
    for id in in_flight {
        assert_eq!(first[*id].len(), 1, "{id}");
    }
}

/// The spec's `maxLength` of `name`, from the generated table.
fn name_limit() -> usize {
    nateq_api::fields::field("name")
        .and_then(|f| f.max_length)
        .unwrap()
}

/// `text` with what the spec decides (serde's list of the request's fields, the `name` limit,
/// the name no field has) replaced by placeholders, after checking it is exactly what the
/// generated table says.
fn normalised(text: &str) -> String {
    let list: Vec<String> = nateq_api::fields::UPDATE_CONTACT_FIELDS
        .iter()
        .map(|f| format!("`{}`", f.name))
        .collect();
    let limit = name_limit();
    text.replace(&format!("`{}`", not_a_field()), "`<a name no field has>`")
        .replace(
            &format!("expected one of {}", list.join(", ")),
            "expected one of <every field of the spec>",
        )
        .replace(
            &format!(
                "{} characters is longer than the limit of {limit}",
                limit + 1
            ),
            "<limit + 1> characters is longer than the limit of <name's maxLength>",
        )
}

#[test]
fn an_applied_row_records_the_fields_it_set_and_its_attempts() {
    // One 503 first: the row is applied on its second attempt.
    let emu = Emu::start(2);
    emu.emulator
        .set_faults(
            FaultConfig::default().rule(
                nateq_emulator::FaultRule::new(nateq_emulator::FaultRuleKind::ServiceUnavailable)
                    .contact("ct_demo_1"),
            ),
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "rows.jsonl",
        "{\"id\":\"ct_demo_1\",\"name\":\"Twice\",\"externalId\":\"x-1\"}\n",
    );
    let report_path = dir.path().join("report.jsonl");
    let output = run_with_report(
        emu.nateq().args(["contacts", "update-many", "--input"]),
        &input,
        &report_path,
    );
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let lines = report(&report_path);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["result"], "ok");
    assert_eq!(lines[0]["fields"], json!(["externalId", "name"]));
    assert_eq!(lines[0]["attempts"], 2);
}

#[test]
fn failures_past_the_twentieth_are_counted_not_printed() {
    let emu = Emu::start(2);
    let dir = tempfile::tempdir().unwrap();
    for (failures, more) in [(20, None), (22, Some(2))] {
        let mut rows = String::new();
        for i in 1..=failures {
            writeln!(rows, "{{\"id\":\"ct_missing_{i}\",\"name\":\"Nobody\"}}").unwrap();
        }
        let input = write(dir.path(), "rows.jsonl", &rows);
        let output = emu
            .nateq()
            .args(["contacts", "update-many", "--input"])
            .arg(&input)
            .output()
            .unwrap();
        let (_, stderr) = texts(&output);
        assert_eq!(output.status.code(), Some(7), "{stderr}");
        let printed = stderr
            .lines()
            .filter(|l| l.contains("(ct_missing_"))
            .count();
        assert_eq!(printed, 20, "{stderr}");
        let counted = stderr.lines().find(|l| l.starts_with("... and "));
        let expected = more.map(|n| {
            format!("... and {n} more failed rows (pass --report FILE to record every row)")
        });
        assert_eq!(counted.map(str::to_string), expected, "{stderr}");
    }
}
