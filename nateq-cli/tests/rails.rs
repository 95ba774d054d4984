//! End to end: the safety rails of `update-many` (dry run, the production banner) and what it
//! gives scripts (the JSON summary, request ids and error details in the report).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use nateq_emulator::{ApiKey, DEMO_ORG, SCOPE_READ, SCOPE_WRITE, Seed};
use serde_json::json;
use support::{Emu, nateq, report, texts, write};

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
    let output = nateq()
        .args(["contacts", "update-many", "--dry-run", "--input"])
        .arg(&input)
        .arg("--report")
        .arg(&report_path)
        .output()
        .unwrap();
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
    let mut seed = Seed::demo(5);
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
