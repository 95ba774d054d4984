//! End to end: the safety rails of `update-many` (dry run, the production banner) and what it
//! gives scripts (the JSON summary, request ids and error details in the report).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use nateq_emulator::{ApiKey, DEMO_ORG, SCOPE_READ, SCOPE_WRITE, Seed};
use serde_json::json;
use support::{Emu, nateq, report, run_with_report, texts, write};

/// Five rows: three valid, and two that name their bad field (`name` too long, `doNotContact`
/// of the wrong type).
fn mixed_rows() -> String {
    [
        json!({"id": "ct_demo_1", "name": "Dry 1"}),
        json!({"id": "ct_demo_2", "name": "x".repeat(256)}),
        json!({"id": "ct_demo_3", "email": "dry3@example.com", "type": "guest"}),
        json!({"id": "ct_demo_4", "doNotContact": "yes"}),
        json!({"id": "ct_demo_5", "externalId": "dry-5"}),
    ]
    .iter()
    .map(|r| format!("{r}\n"))
    .collect()
}

#[test]
fn a_dry_run_validates_every_row_needs_no_server_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "rows.jsonl", &mixed_rows());
    let report_path = dir.path().join("report.jsonl");
    // No key, no base URL: nothing could be sent.
    let output = run_with_report(
        nateq().args(["contacts", "update-many", "--dry-run", "--input"]),
        &input,
        &report_path,
    );
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("update-many: dry run, nothing sent: 3 valid, 2 invalid in "),
        "{stderr}"
    );
    let mut lines = report(&report_path);
    lines.sort_by_key(|l| l["line"].as_u64());
    let results: Vec<&str> = lines
        .iter()
        .map(|l| l["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["valid", "invalid", "valid", "invalid", "valid"]);
    assert_eq!(lines[2]["fields"], json!(["email", "type"]));
    let message = lines[1]["message"].as_str().unwrap();
    assert!(message.contains("name"), "{message}");
    let message = lines[3]["message"].as_str().unwrap();
    assert!(message.contains("doNotContact"), "{message}");

    // The same summary for scripts: valid rows count as done, invalid ones as failed.
    let output = nateq()
        .args([
            "--output",
            "json",
            "contacts",
            "update-many",
            "--dry-run",
            "--input",
        ])
        .arg(&input)
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (summary["done"].as_u64(), summary["failed"].as_u64()),
        (Some(3), Some(2))
    );
}

#[test]
fn a_dry_run_of_valid_rows_exits_0_and_leaves_the_server_alone() {
    let emu = Emu::start(5);
    let dir = tempfile::tempdir().unwrap();
    let rows: String = mixed_rows()
        .lines()
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let input = write(dir.path(), "rows.jsonl", &rows);
    let output = emu
        .nateq()
        .args(["contacts", "update-many", "--dry-run", "--input"])
        .arg(&input)
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("3 valid, 0 invalid"), "{stderr}");
    for i in 1..=5 {
        let id = format!("ct_demo_{i}");
        assert!(
            emu.contact(&id)
                .contact
                .activities
                .unwrap_or_default()
                .is_empty(),
            "{id}"
        );
    }
}

/// An emulator whose only writing key looks like a production key.
fn live_emulator() -> (Emu, String) {
    let secret = "tg_live_emulator_test_0000000000000000".to_string();
    let mut seed = Seed::demo(5).unwrap();
    seed.keys = vec![ApiKey {
        id: "key_live".into(),
        name: "Live-looking key".into(),
        secret: secret.clone(),
        organization_id: DEMO_ORG.into(),
        scopes: vec![SCOPE_READ.into(), SCOPE_WRITE.into()],
    }];
    (Emu::start_seeded(seed), secret)
}

#[test]
fn a_production_key_shows_a_banner_first_and_without_a_terminal_the_run_goes_on() {
    let (emu, secret) = live_emulator();
    let dir = tempfile::tempdir().unwrap();
    let rows: String = (1..=5)
        .map(|i| {
            format!(
                "{}\n",
                json!({"id": format!("ct_demo_{i}"), "name": format!("Live {i}")})
            )
        })
        .collect();
    let input = write(dir.path(), "rows.jsonl", &format!("{rows}\n"));
    let output = emu
        .nateq()
        .env("NATEQ_API_KEY", &secret)
        .args(["contacts", "update-many", "--input"])
        .arg(&input)
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let first = stderr.lines().next().unwrap();
    assert_eq!(
        first,
        format!(
            "update-many: PRODUCTION key (tg_live_): updating 5 rows on {}",
            emu.emulator.base_url()
        )
    );
    assert!(!stderr.contains(&secret), "{stderr}");
    assert!(stderr.contains("5 done, 0 failed"), "{stderr}");
    assert_eq!(
        emu.contact("ct_demo_5").contact.name.as_deref(),
        Some("Live 5")
    );

    // From stdin the count is unknown; a sandbox key shows no banner.
    let output = emu
        .nateq()
        .env("NATEQ_API_KEY", &secret)
        .args(["contacts", "update-many", "--input", "-"])
        .write_stdin(rows.clone())
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.starts_with(
            "update-many: PRODUCTION key (tg_live_): updating an unknown number of rows (stdin) on "
        ),
        "{stderr}"
    );
    let sandbox = Emu::start(5);
    let output = sandbox
        .nateq()
        .args(["contacts", "update-many", "--input"])
        .arg(&input)
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("PRODUCTION"), "{stderr}");
}

#[test]
fn output_json_prints_one_summary_object_on_stdout_and_quiet_silences_stderr() {
    let emu = Emu::start(20);
    let dir = tempfile::tempdir().unwrap();
    let rows: String = (1..=20)
        .map(|i| {
            format!(
                "{}\n",
                json!({"id": format!("ct_demo_{i}"), "name": format!("Json {i}")})
            )
        })
        .collect();
    let input = write(dir.path(), "rows.jsonl", &rows);
    let output = emu
        .nateq()
        .args(["--output", "json", "contacts", "update-many", "--input"])
        .arg(&input)
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("update-many: "), "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let summary: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&stdout).unwrap();
    let keys: Vec<&str> = summary.keys().map(String::as_str).collect();
    let mut expected = [
        "done",
        "failed",
        "skipped",
        "retried",
        "throttled",
        "superseded",
        "drifted",
        "coalesced",
        "requests",
        "elapsedSecs",
        "rowsPerSec",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(summary["done"], 20);
    assert_eq!(summary["failed"], 0);
    assert!(summary["elapsedSecs"].as_f64().unwrap() > 0.0);
    assert!(summary["rowsPerSec"].as_f64().unwrap() > 0.0);

    // --quiet: nothing on stderr for a clean run, and the JSON object still on stdout.
    let output = emu
        .nateq()
        .args([
            "--output",
            "json",
            "contacts",
            "update-many",
            "-q",
            "--input",
        ])
        .arg(&input)
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
    assert!(stdout.starts_with("{\"done\":20,"), "{stdout}");
    let output = emu
        .nateq()
        .args(["contacts", "update-many", "--quiet", "--input"])
        .arg(&input)
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!((stdout.as_str(), stderr.as_str()), ("", ""));
}

/// A server on `127.0.0.1:0` that answers every request with `reply` (status line, headers and
/// body) and closes the connection: the API as a script, for answers the emulator never gives.
fn scripted_server(reply: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    format!("http://{addr}/api/v1")
}

#[test]
fn a_failed_row_records_the_request_id_and_a_400_its_error_details() {
    let body = json!({
        "success": false, "data": null, "meta": null, "message": "invalid fields: name",
        "error": {"code": "VALIDATION_ERROR", "message": "invalid fields: name",
                  "details": {"fields": [{"field": "name", "problem": "too long"}]}}
    })
    .to_string();
    let reply = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nx-request-id: req_cli_7\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let base_url = scripted_server(reply);
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "rows.jsonl",
        &format!("{}\n", json!({"id": "ct_1", "name": "Ada"})),
    );
    let report_path = dir.path().join("report.jsonl");
    let output = run_with_report(
        nateq()
            .env("NATEQ_BASE_URL", &base_url)
            .env("NATEQ_API_KEY", "tg_test_scripted")
            .args(["contacts", "update-many", "--input"]),
        &input,
        &report_path,
    );
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(7), "{stderr}");
    let lines = report(&report_path);
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert_eq!(line["status"], 400, "{line}");
    assert_eq!(line["requestId"], "req_cli_7", "{line}");
    assert_eq!(line["details"]["fields"][0]["field"], "name", "{line}");
}
