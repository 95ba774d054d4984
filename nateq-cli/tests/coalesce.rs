//! End to end: `update-many --coalesce` merges the rows of a contact that wait behind its row
//! in flight into one request; each contact ends as if its rows had been applied in order, the
//! report records every row once, and `--resume` after `kill -9` finishes the job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use nateq_emulator::{FaultConfig, FaultKind};
use serde_json::{Map, Value, json};
use support::{Emu, report, resume_ok, texts, write};

/// Every request waits `ms` before it is handled, so rows of a busy contact queue up.
fn slow(emu: &Emu, ms: u64) {
    emu.emulator
        .set_faults(FaultConfig {
            rate: 1.0,
            kinds: vec![FaultKind::Latency],
            latency_ms: ms,
            ..FaultConfig::default()
        })
        .unwrap();
}

/// `per_contact` rows for each of `contacts` contacts, round robin, each with values of its
/// own: a name on every row, an email on every third line, a phone on every fourth.
fn rows(contacts: usize, per_contact: usize) -> Vec<Map<String, Value>> {
    let mut rows = Vec::new();
    for line in 1..=contacts * per_contact {
        let mut row = Map::new();
        row.insert(
            "id".into(),
            json!(format!("ct_demo_{}", (line - 1) % contacts + 1)),
        );
        row.insert("name".into(), json!(format!("Line {line}")));
        if line % 3 == 0 {
            row.insert("email".into(), json!(format!("line{line}@example.com")));
        }
        if line % 4 == 0 {
            row.insert("phone".into(), json!(format!("+1 555 {line:04}")));
        }
        rows.push(row);
    }
    rows
}

fn jsonl(rows: &[Map<String, Value>]) -> String {
    let mut out = String::new();
    for row in rows {
        writeln!(out, "{}", Value::Object(row.clone())).unwrap();
    }
    out
}

/// What each contact's fields must be after its rows are applied one by one, in order.
fn applied_in_order(rows: &[Map<String, Value>]) -> BTreeMap<String, Map<String, Value>> {
    let mut state: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for row in rows {
        let mut row = row.clone();
        let id = row.remove("id").unwrap().as_str().unwrap().to_string();
        state.entry(id).or_default().extend(row);
    }
    state
}

/// Checks every contact against the rows applied in order.
fn assert_applied_in_order(emu: &Emu, rows: &[Map<String, Value>]) {
    for (id, fields) in applied_in_order(rows) {
        let stored = emu.contact(&id).contact;
        let stored = serde_json::to_value(&stored).unwrap();
        for (name, value) in fields {
            assert_eq!(stored[&name], value, "{id} {name}");
        }
    }
}

/// The report's lines sorted by input line; each input line must appear exactly once.
fn lines_once(path: &Path, total: u64) -> BTreeMap<u64, Value> {
    let entries = report(path);
    let mut numbers: Vec<u64> = entries
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=total).collect::<Vec<u64>>(), "each row once");
    entries
        .into_iter()
        .map(|e| (e["line"].as_u64().unwrap(), e))
        .collect()
}

fn run_json(cmd: &mut assert_cmd::Command) -> (Option<i32>, Value, String) {
    let output = cmd.output().unwrap();
    let (stdout, stderr) = texts(&output);
    let summary = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (output.status.code(), summary, stderr)
}

#[test]
fn coalesced_rows_end_as_if_applied_in_order_in_fewer_requests() {
    let (contacts, per_contact) = (10, 12);
    let total = (contacts * per_contact) as u64;
    let emu = Emu::start(contacts);
    let before_country: Vec<_> = (1..=contacts)
        .map(|i| emu.contact(&format!("ct_demo_{i}")).contact.country)
        .collect();
    slow(&emu, 40);
    let dir = tempfile::tempdir().unwrap();
    let rows = rows(contacts, per_contact);
    let input = write(dir.path(), "rows.jsonl", &jsonl(&rows));
    let report_path = dir.path().join("report.jsonl");
    let (code, summary, stderr) = run_json(
        emu.nateq()
            .args(["--output", "json", "contacts", "update-many", "--coalesce"])
            .args(["--concurrency", "4", "--input"])
            .arg(&input)
            .arg("--report")
            .arg(&report_path),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_applied_in_order(&emu, &rows);
    for (i, country) in before_country.iter().enumerate() {
        let id = format!("ct_demo_{}", i + 1);
        assert_eq!(
            &emu.contact(&id).contact.country,
            country,
            "{id}: untouched"
        );
    }

    // Fewer requests than rows, each counted.
    let journal = emu.emulator.requests();
    assert_eq!(summary["requests"].as_u64(), Some(journal.len() as u64));
    assert!(
        journal.len() < (total / 2) as usize,
        "{} requests",
        journal.len()
    );
    assert_eq!(summary["done"].as_u64(), Some(total));
    assert_eq!(
        summary["coalesced"].as_u64(),
        Some(total - journal.len() as u64)
    );

    // Every row once: `ok` for the row whose request carried the ones before it, which are
    // `coalesced` into it.
    let lines = lines_once(&report_path, total);
    let mut carried_by: BTreeMap<u64, u64> = BTreeMap::new();
    for (line, entry) in &lines {
        match entry["result"].as_str().unwrap() {
            "ok" => {
                for carried in entry["coalesced"].as_array().into_iter().flatten() {
                    carried_by.insert(carried.as_u64().unwrap(), *line);
                }
            }
            "coalesced" => {
                let into = entry["into"].as_u64().unwrap();
                assert!(into > *line, "{entry}");
                assert_eq!(lines[&into]["result"], "ok", "{entry}");
                assert_eq!(lines[&into]["id"], entry["id"], "{entry}");
                assert_eq!(entry["attempts"], 0, "{entry}");
            }
            other => panic!("line {line}: {other}"),
        }
    }
    let coalesced: Vec<u64> = lines
        .iter()
        .filter(|(_, e)| e["result"] == "coalesced")
        .map(|(l, _)| *l)
        .collect();
    assert_eq!(carried_by.keys().copied().collect::<Vec<_>>(), coalesced);
    for (line, into) in &carried_by {
        assert_eq!(lines[line]["into"].as_u64(), Some(*into));
    }

    // Each request, contact by contact, carried exactly its rows merged in input order.
    let mut sent: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for entry in &journal {
        sent.entry(entry.contact_id.clone().unwrap())
            .or_default()
            .push(entry.body.clone().unwrap());
    }
    let mut expected: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (line, entry) in lines.iter().filter(|(_, e)| e["result"] == "ok") {
        let mut carried: Vec<u64> = entry["coalesced"]
            .as_array()
            .map(|a| a.iter().map(|l| l.as_u64().unwrap()).collect())
            .unwrap_or_default();
        carried.push(*line);
        let mut body = Map::new();
        for l in carried {
            let mut row = rows[(l - 1) as usize].clone();
            row.remove("id");
            body.extend(row);
        }
        expected
            .entry(entry["id"].as_str().unwrap().to_string())
            .or_default()
            .push(Value::Object(body));
    }
    assert_eq!(sent, expected);
}

#[test]
fn without_the_flag_every_row_is_a_request_of_its_own() {
    let (contacts, per_contact) = (5, 6);
    let emu = Emu::start(contacts);
    slow(&emu, 20);
    let dir = tempfile::tempdir().unwrap();
    let rows = rows(contacts, per_contact);
    let input = write(dir.path(), "rows.jsonl", &jsonl(&rows));
    let (code, summary, stderr) = run_json(
        emu.nateq()
            .args(["--output", "json", "contacts", "update-many"])
            .args(["--concurrency", "4", "--input"])
            .arg(&input),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(emu.emulator.requests().len(), contacts * per_contact);
    assert_eq!(summary["coalesced"], 0);
    assert_applied_in_order(&emu, &rows);
}

#[test]
fn a_coalesced_request_that_fails_sends_its_rows_one_by_one() {
    let emu = Emu::start(2);
    slow(&emu, 300);
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<Map<String, Value>> = [
        json!({"id": "ct_demo_1", "name": "A"}),
        json!({"id": "ct_demo_1", "name": "B", "email": "b@example.com"}),
        json!({"id": "ct_demo_1", "companyId": "co_missing"}),
        json!({"id": "ct_demo_1", "name": "D"}),
    ]
    .into_iter()
    .map(|v| v.as_object().unwrap().clone())
    .collect();
    let input = write(dir.path(), "rows.jsonl", &jsonl(&rows));
    let report_path = dir.path().join("report.jsonl");
    let (code, summary, stderr) = run_json(
        emu.nateq()
            .args([
                "--output",
                "json",
                "contacts",
                "update-many",
                "--coalesce",
                "--input",
            ])
            .arg(&input)
            .arg("--report")
            .arg(&report_path),
    );
    assert_eq!(code, Some(7), "{stderr}");
    assert_eq!(summary["failed"], 1, "{summary}");
    let bodies: Vec<Value> = emu
        .emulator
        .requests()
        .into_iter()
        .map(|r| r.body.unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            json!({"name": "A"}),
            json!({"name": "D", "email": "b@example.com", "companyId": "co_missing"}),
            json!({"name": "B", "email": "b@example.com"}),
            json!({"companyId": "co_missing"}),
            json!({"name": "D"}),
        ]
    );
    let contact = emu.contact("ct_demo_1").contact;
    assert_eq!(contact.name.as_deref(), Some("D"));
    assert_eq!(contact.email.as_deref(), Some("b@example.com"));
    let lines = lines_once(&report_path, 4);
    let results: Vec<&str> = lines
        .values()
        .map(|e| e["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["ok", "ok", "error", "ok"]);
    assert_eq!(lines[&3]["status"], 422);
}

#[cfg(unix)]
#[test]
fn resume_after_kill_9_with_coalesce_applies_every_row_in_order_and_records_each_once() {
    let (contacts, per_contact) = (8, 25);
    let total = (contacts * per_contact) as u64;
    let emu = Emu::start(contacts);
    slow(&emu, 30);
    let dir = tempfile::tempdir().unwrap();
    let rows = rows(contacts, per_contact);
    let input = write(dir.path(), "rows.jsonl", &jsonl(&rows));
    let report_path = dir.path().join("report.jsonl");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_nateq"))
        .env("NATEQ_BASE_URL", emu.emulator.base_url())
        .env("NATEQ_API_KEY", emu.key())
        .env_remove("RUST_LOG")
        .args([
            "contacts",
            "update-many",
            "--coalesce",
            "--concurrency",
            "2",
            "--input",
        ])
        .arg(&input)
        .arg("--report")
        .arg(&report_path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    support::wait_until(std::time::Duration::from_secs(60), || {
        std::fs::read_to_string(&report_path).is_ok_and(|t| t.lines().count() >= 12)
    });
    std::process::Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), None, "killed");
    let recorded = report(&report_path).len() as u64;
    assert!(recorded < total, "{recorded}");

    emu.emulator.set_faults(FaultConfig::default()).unwrap();
    resume_ok(&emu, &["--coalesce"], &input, &report_path);
    assert_applied_in_order(&emu, &rows);
    let lines = lines_once(&report_path, total);
    for (line, entry) in &lines {
        let result = entry["result"].as_str().unwrap();
        assert!(
            ["ok", "coalesced", "superseded"].contains(&result),
            "line {line}: {entry}"
        );
    }
}
