//! End to end: `update-many --failed-out FILE` writes each failed row in the input's format
//! with its error, and the file fed back with `--input` ignores the error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use support::{Emu, texts, write};

#[test]
fn failed_jsonl_rows_come_out_as_given_with_their_error_and_go_back_in() {
    let emu = Emu::start(6);
    let dir = tempfile::tempdir().unwrap();
    let long = "x".repeat(300);
    let input = [
        r#"{"id":"ct_demo_1","name":"Ok 1"}"#.to_string(),
        r#"{"name": "Not found",  "id":"ct_nope"}"#.to_string(),
        format!(r#"{{"id":"ct_demo_3","name":"{long}","email":"three@example.com"}}"#),
        r#"{"id":"ct_demo_4","companyId":"co_missing"}"#.to_string(),
        r#"{"id":"ct_demo_5","name":"#.to_string(),
        r#"{"id":"ct_demo_6","name":"Ok 6"}"#.to_string(),
    ]
    .join("\n")
        + "\n";
    let input = write(dir.path(), "rows.jsonl", &input);
    let failed = dir.path().join("failed.jsonl");
    let output = emu
        .nateq()
        .args(["contacts", "update-many", "--concurrency", "1", "--input"])
        .arg(&input)
        .arg("--failed-out")
        .arg(&failed)
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(7), "{stderr}");

    let text = std::fs::read_to_string(&failed).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    // Rows complete in any order; sort them by their input line.
    let line_of = |l: &str| -> u64 {
        serde_json::from_str::<Value>(l).map_or(5, |v| v["_error"]["line"].as_u64().unwrap())
    };
    lines.sort_by_key(|l| line_of(l));
    // The emulator sends no request id (the unit tests of the module cover one).
    assert_eq!(
        lines[0],
        r#"{"name":"Not found","id":"ct_nope","_error":{"line":2,"kind":"api","status":404,"code":"NOT_FOUND","message":"contact ct_nope not found","requestId":null}}"#
    );
    let row3: Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(row3["name"], json!(long));
    assert_eq!(row3["email"], "three@example.com");
    assert_eq!(row3["_error"]["kind"], "invalid");
    assert_eq!(row3["_error"]["status"], Value::Null);
    assert_eq!(row3["_error"]["code"], Value::Null);
    assert_eq!(row3["_error"]["requestId"], Value::Null);
    assert!(
        row3["_error"]["message"].as_str().unwrap().contains("name"),
        "{row3}"
    );
    let row4: Value = serde_json::from_str(lines[2]).unwrap();
    assert_eq!(row4["_error"]["status"], 422);
    assert!(row4["_error"]["details"].is_null() || row4["_error"]["details"].is_object());
    // A line that is not a JSON object: as given.
    assert_eq!(lines[3], r#"{"id":"ct_demo_5","name":"#);

    // Fix the over-long name, feed the file back: `_error` is ignored, the fixed row applies,
    // and the others fail as before (and are written again, with one `_error` each).
    let fixed = text.replace(&long, "Fixed 3");
    let again_input = write(dir.path(), "again.jsonl", &fixed);
    let again = dir.path().join("again-failed.jsonl");
    let output = emu
        .nateq()
        .args(["contacts", "update-many", "--concurrency", "1", "--input"])
        .arg(&again_input)
        .arg("--failed-out")
        .arg(&again)
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(7), "{stderr}");
    assert!(!stderr.contains("_error"), "{stderr}");
    assert_eq!(
        emu.contact("ct_demo_3").contact.name.as_deref(),
        Some("Fixed 3")
    );
    let again_text = std::fs::read_to_string(&again).unwrap();
    assert_eq!(again_text.lines().count(), 3, "{again_text}");
    for line in again_text.lines().filter(|l| l.ends_with('}')) {
        assert_eq!(line.matches("\"_error\"").count(), 1, "{line}");
    }
}

#[test]
fn failed_csv_rows_come_out_with_the_header_and_an_error_column_that_input_ignores() {
    let emu = Emu::start(3);
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "rows.csv",
        "id,name,doNotContact\nct_demo_1,\"Ok, 1\",true\nct_nope,\"Quoted, name\",\nct_demo_3,Three,maybe\n",
    );
    let failed = dir.path().join("failed.csv");
    let output = emu
        .nateq()
        .args(["contacts", "update-many", "--concurrency", "1", "--input"])
        .arg(&input)
        .arg("--failed-out")
        .arg(&failed)
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(7), "{stderr}");
    let text = std::fs::read_to_string(&failed).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "id,name,doNotContact,_error");
    lines[1..].sort_unstable();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[1].starts_with(
            "ct_demo_3,Three,maybe,\"line 4: invalid doNotContact: \"\"maybe\"\" is not true or false\""
        ),
        "{}",
        lines[1]
    );
    assert_eq!(
        lines[2],
        "ct_nope,\"Quoted, name\",,line 3: 404 NOT_FOUND: contact ct_nope not found"
    );

    // Fixed and fed back: the `_error` column is ignored, and replaced (not repeated) in the
    // next file of failed rows.
    let fixed = text.replace(",maybe,", ",false,");
    let again_input = write(dir.path(), "again.csv", &fixed);
    let again = dir.path().join("again-failed.csv");
    let output = emu
        .nateq()
        .args(["contacts", "update-many", "--input"])
        .arg(&again_input)
        .arg("--failed-out")
        .arg(&again)
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(7), "{stderr}");
    assert_eq!(
        emu.contact("ct_demo_3").contact.name.as_deref(),
        Some("Three")
    );
    assert_eq!(emu.contact("ct_demo_3").contact.do_not_contact, Some(false));
    let again_text = std::fs::read_to_string(&again).unwrap();
    let again_lines: Vec<&str> = again_text.lines().collect();
    assert_eq!(again_lines[0], "id,name,doNotContact,_error");
    assert_eq!(again_lines.len(), 2, "{again_text}");
    assert_eq!(
        again_lines[1],
        "ct_nope,\"Quoted, name\",,line 2: 404 NOT_FOUND: contact ct_nope not found"
    );
}

#[test]
fn a_dry_run_writes_the_invalid_rows() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "rows.jsonl",
        "{\"id\":\"ct_1\",\"name\":\"Ok\"}\n{\"id\":\"ct_2\",\"type\":\"vip\"}\n",
    );
    let failed = dir.path().join("failed.jsonl");
    let output = support::nateq()
        .args(["contacts", "update-many", "--dry-run", "--input"])
        .arg(&input)
        .arg("--failed-out")
        .arg(&failed)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", texts(&output).1);
    let text = std::fs::read_to_string(&failed).unwrap();
    let row: Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert_eq!(row["id"], "ct_2");
    assert_eq!(row["_error"]["line"], 2);
}
