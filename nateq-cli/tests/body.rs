//! End to end: `nateq contacts update ID --body FILE|-`: the whole request body as JSON,
//! checked against the spec's fields before anything is sent, combined with flags (flags win).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::json;
use support::{Emu, texts, write};

#[test]
fn a_body_from_a_file_or_stdin_is_sent_with_the_flags_winning() {
    let emu = Emu::start(2);
    let before = emu.contact("ct_demo_1").contact;
    let dir = tempfile::tempdir().unwrap();
    let body = write(
        dir.path(),
        "body.json",
        r#"{"name":"From the body","doNotContact":true,"type":"guest"}"#,
    );
    let output = emu
        .nateq()
        .args([
            "--output",
            "json",
            "contacts",
            "update",
            "ct_demo_1",
            "--body",
        ])
        .arg(&body)
        .args(["--name", "From the flag"])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let printed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(printed["name"], "From the flag");
    let sent = emu.emulator.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].body,
        Some(json!({"name":"From the flag","doNotContact":true,"type":"guest"}))
    );
    let after = emu.contact("ct_demo_1").contact;
    assert_eq!(after.do_not_contact, Some(true));
    assert_eq!(after.email, before.email, "untouched");

    let output = emu
        .nateq()
        .args(["contacts", "update", "ct_demo_2", "--body", "-"])
        .write_stdin(r#"{"externalId":"from-stdin"}"#)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", texts(&output).1);
    assert_eq!(
        emu.contact("ct_demo_2").contact.external_id.as_deref(),
        Some("from-stdin")
    );
}

#[test]
fn a_bad_body_is_refused_before_anything_is_sent() {
    let emu = Emu::start(1);
    let long = "x".repeat(300);
    for (body, message) in [
        (
            r#"{"nmae":"x"}"#.to_string(),
            r#"error: --body stdin: unknown property "nmae"; the properties are "#,
        ),
        (
            r#"{"doNotContact":"yes"}"#.to_string(),
            "error: --body stdin: invalid doNotContact: expected true or false, not a string",
        ),
        (
            r#"{"name":"#.to_string(),
            "error: --body stdin: invalid JSON at line 1 column 8",
        ),
        (format!(r#"{{"name":"{long}"}}"#), "error: "),
    ] {
        let output = emu
            .nateq()
            .args(["contacts", "update", "ct_demo_1", "--body", "-"])
            .write_stdin(body.clone())
            .output()
            .unwrap();
        let (_, stderr) = texts(&output);
        assert_eq!(output.status.code(), Some(3), "{body}: {stderr}");
        assert!(stderr.starts_with(message), "{body}: {stderr}");
    }
    // Over the limit: the field is named.
    let output = emu
        .nateq()
        .args(["contacts", "update", "ct_demo_1", "--body", "-"])
        .write_stdin(format!(r#"{{"name":"{long}"}}"#))
        .output()
        .unwrap();
    assert!(texts(&output).1.contains("name"), "{}", texts(&output).1);
    let output = emu
        .nateq()
        .args(["contacts", "update", "ct_demo_1", "--body", "missing.json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        texts(&output)
            .1
            .starts_with("error: cannot read --body missing.json: "),
        "{}",
        texts(&output).1
    );
    assert_eq!(emu.emulator.requests().len(), 0);
}
