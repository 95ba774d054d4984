//! End to end: `nateq contacts update`, errors and exit codes, help, completions and key
//! hygiene, through the built binary against the emulator.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::TcpListener;
use std::process::{Command, Stdio};

use nateq_api::types::ContactType;
use support::{Emu, nateq, texts};

#[test]
fn update_prints_the_contact_and_changes_the_state() {
    let emu = Emu::start(5);
    let before = emu.contact("ct_demo_2");
    let output = emu
        .nateq()
        .args(["--output", "json", "contacts", "update", "ct_demo_2"])
        .args(["--name", "Ada Lovelace", "--do-not-contact", "true"])
        .args([
            "--type",
            "guest",
            "--language",
            "pt-BR",
            "--channel-data",
            "{\"wa\":1}",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
    assert_eq!(stdout.lines().count(), 1, "--output json is one line");
    let printed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(printed["id"], "ct_demo_2");
    assert_eq!(printed["name"], "Ada Lovelace");
    assert_eq!(printed["doNotContact"], true);
    assert_eq!(printed["language"], "pt-BR");
    assert_eq!(printed["channelData"], "{\"wa\":1}");

    let stored = emu.contact("ct_demo_2");
    assert_eq!(stored.contact.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(stored.contact.do_not_contact, Some(true));
    assert_eq!(stored.contact.language.as_deref(), Some("pt-BR"));
    assert_eq!(stored.contact_type, Some(ContactType::Guest));
    // Every other property keeps the value it had before the update (the seed gives the
    // contact an email, so there is something to keep).
    assert!(before.contact.email.is_some());
    let changed = [
        "name",
        "doNotContact",
        "type",
        "language",
        "channelData",
        "activities",
        "updatedAt",
    ];
    let untouched = |contact: &nateq_emulator::StoredContact| {
        let mut json = serde_json::to_value(contact).unwrap();
        let object = json.as_object_mut().unwrap();
        for name in changed {
            object.remove(name);
        }
        assert!(object.len() > 5, "{object:?}");
        json
    };
    assert_eq!(untouched(&stored), untouched(&before));
    assert_ne!(stored.contact.updated_at, before.contact.updated_at);
    for field in ["name", "doNotContact", "language", "channelData", "type"] {
        assert_eq!(emu.changes_of("ct_demo_2", field), 1, "{field}");
    }
    assert_eq!(emu.changes_of("ct_demo_2", "email"), 0);
}

#[test]
fn pretty_output_is_the_default() {
    let emu = Emu::start(5);
    let output = emu
        .nateq()
        .args(["contacts", "update", "ct_demo_1", "--name", "Ada Lovelace"])
        .args(["--is-potential-client", "true"])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let printed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        stdout,
        format!("{}\n", serde_json::to_string_pretty(&printed).unwrap())
    );
    insta::assert_json_snapshot!("update_pretty_output", printed, {
        ".createdAt" => "[timestamp]",
        ".updatedAt" => "[timestamp]",
        ".activities[].createdAt" => "[timestamp]",
        ".activities[].updatedAt" => "[timestamp]",
        ".tags[].createdAt" => "[timestamp]",
        ".tags[].updatedAt" => "[timestamp]",
    });
}

#[test]
fn the_embedded_emulator_needs_no_setup() {
    let output = nateq()
        .args(["--emulator", "contacts", "update", "ct_demo_1"])
        .args(["--name", "Ada Lovelace", "--do-not-contact", "true"])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let printed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(printed["name"], "Ada Lovelace");
    assert_eq!(printed["doNotContact"], true);
    assert_eq!(printed["activities"].as_array().unwrap().len(), 2);
}

/// A port nothing listens on: bound, then closed.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn each_error_class_has_its_exit_code_and_one_line() {
    let emu = Emu::start(5);
    let port = closed_port();
    let closed = format!("http://127.0.0.1:{port}/api/v1");
    let name_limit = nateq_api::fields::field("name")
        .and_then(|f| f.max_length)
        .unwrap();
    let long_name = "x".repeat(name_limit + 1);
    type Case<'a> = (&'a str, Vec<&'a str>, Vec<(&'a str, &'a str)>, i32);
    let cases: Vec<Case<'_>> = vec![
        (
            "validation: over the limit",
            vec!["contacts", "update", "ct_demo_1", "--name", &long_name],
            vec![],
            3,
        ),
        (
            "validation: bad id",
            vec!["contacts", "update", ".."],
            vec![],
            3,
        ),
        (
            "api: not found",
            vec!["contacts", "update", "ct_x", "--name", "A"],
            vec![],
            4,
        ),
        (
            "api: bad key",
            vec!["contacts", "update", "ct_demo_1", "--name", "A"],
            vec![("NATEQ_API_KEY", "tg_test_not_a_key_of_the_emulator")],
            4,
        ),
        (
            "network: connection refused",
            vec![
                "--max-retries",
                "0",
                "contacts",
                "update",
                "ct_demo_1",
                "--name",
                "A",
            ],
            vec![("NATEQ_BASE_URL", &closed)],
            5,
        ),
        (
            "config: no key",
            vec!["contacts", "update", "ct_demo_1", "--name", "A"],
            vec![("NATEQ_API_KEY", "")],
            6,
        ),
        (
            "config: plain http to another host",
            vec!["contacts", "update", "ct_demo_1", "--name", "A"],
            vec![("NATEQ_BASE_URL", "http://example.com/api/v1")],
            6,
        ),
        (
            "usage: not a boolean",
            vec![
                "contacts",
                "update",
                "ct_demo_1",
                "--do-not-contact",
                "maybe",
            ],
            vec![],
            2,
        ),
    ];
    let mut transcript = String::new();
    for (name, args, env, code) in cases {
        let mut cmd = emu.nateq();
        for (k, v) in env {
            if k == "NATEQ_API_KEY" && v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        let output = cmd.args(&args).output().unwrap();
        let (stdout, stderr) = texts(&output);
        assert_eq!(output.status.code(), Some(code), "{name}: {stderr}");
        assert_eq!(stdout, "", "{name}");
        assert!(!stderr.contains(emu.key()), "{name}: the key leaked");
        let first = stderr.lines().next().unwrap_or_default();
        if code != 2 {
            assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        }
        let first = first.replace(&port.to_string(), "[port]").replace(
            &format!(
                "{} characters is longer than the limit of {name_limit}",
                name_limit + 1
            ),
            "<limit + 1> characters is longer than the limit of <name's maxLength>",
        );
        transcript.push_str(&format!("{name} -> exit {code}\n  {first}\n"));
    }
    insta::assert_snapshot!("error_lines", transcript);
}

#[test]
fn the_key_never_appears_even_at_trace_level() {
    let emu = Emu::start(5);
    let key = emu.key().to_string();
    // The key's distinctive tail too, in case something prints a prefix.
    let tail = &key[key.len() - 12..];
    let runs: Vec<Vec<&str>> = vec![
        vec!["-vvv", "contacts", "update", "ct_demo_1", "--name", "Ada"],
        vec!["-vvv", "contacts", "update", "ct_nope", "--name", "Ada"],
        vec![
            "-vvv",
            "--max-retries",
            "1",
            "contacts",
            "update",
            "..",
            "--name",
            "Ada",
        ],
        vec!["--help"],
        vec!["contacts", "update", "--help"],
        vec![
            "-vvv",
            "--api-key",
            &key,
            "contacts",
            "update",
            "ct_demo_1",
            "--bogus",
        ],
    ];
    for (i, args) in runs.into_iter().enumerate() {
        let output = emu.nateq().args(&args).output().unwrap();
        let (stdout, stderr) = texts(&output);
        for text in [&stdout, &stderr] {
            assert!(
                !text.contains(&key) && !text.contains(tail),
                "{args:?} leaked the key:\n{text}"
            );
        }
        if i < 2 {
            // The runs that reach the server log every step.
            assert!(
                stderr.contains("TRACE") || stderr.contains("DEBUG"),
                "{args:?}: no logs"
            );
        }
    }
}

#[test]
fn help_is_stable() {
    for (name, args) in [
        ("help_nateq", vec!["--help"]),
        ("help_contacts_update", vec!["contacts", "update", "--help"]),
        (
            "help_contacts_update_many",
            vec!["contacts", "update-many", "--help"],
        ),
        ("help_emulator", vec!["emulator", "--help"]),
    ] {
        let output = nateq()
            .env("NATEQ_API_KEY", "tg_test_secret_in_env")
            .args(&args)
            .output()
            .unwrap();
        let (stdout, _) = texts(&output);
        assert_eq!(output.status.code(), Some(0));
        assert!(!stdout.contains("tg_test_secret_in_env"));
        insta::assert_snapshot!(name, without_field_flags(&stdout));
    }
}

/// The help with its section of field flags (one per property of the spec, so it grows with
/// the spec) checked against the generated table, then replaced by a placeholder.
fn without_field_flags(help: &str) -> String {
    const HEADING: &str = "Fields (only those given change):\n";
    let Some(start) = help.find(HEADING).map(|i| i + HEADING.len()) else {
        return help.to_string();
    };
    let end = help[start..]
        .find("\n\n")
        .and_then(|blank| {
            // The section ends at the next heading: a line that starts in column 0.
            let mut at = start + blank + 2;
            loop {
                let line_end = help[at..].find('\n').map_or(help.len(), |i| at + i);
                let line = &help[at..line_end];
                if !line.is_empty() && !line.starts_with(' ') {
                    return Some(at);
                }
                if line_end >= help.len() {
                    return None;
                }
                at = line_end + 1;
            }
        })
        .unwrap_or(help.len());
    let section = &help[start..end];
    let fields = nateq_api::fields::UPDATE_CONTACT_FIELDS;
    assert!(!fields.is_empty());
    for field in fields {
        let flag = format!("--{} <", field.flag);
        assert!(section.contains(&flag), "no {flag} in the help:\n{section}");
        let first_word = field
            .description
            .split_whitespace()
            .next()
            .unwrap_or_default();
        assert!(section.contains(first_word), "{flag}: no description");
    }
    let flags =
        section.matches("\n      --").count() + usize::from(section.starts_with("      --"));
    assert_eq!(flags, fields.len(), "one flag per field:\n{section}");
    format!(
        "{}<one flag per field of the spec, checked above>\n\n{}",
        &help[..start],
        &help[end..]
    )
}

#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let output = nateq().args(["completions", shell]).output().unwrap();
        let (stdout, stderr) = texts(&output);
        assert_eq!(output.status.code(), Some(0), "{shell}: {stderr}");
        assert!(stdout.contains("update-many"), "{shell}");
        assert!(stdout.contains("do-not-contact"), "{shell}");
    }
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let emu = Emu::start(5);
    for args in [
        vec!["contacts", "update", "ct_demo_1", "--name", "Ada"],
        vec!["completions", "bash"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nateq"))
            .env_remove("RUST_LOG")
            .env("NATEQ_BASE_URL", emu.emulator.base_url())
            .env("NATEQ_API_KEY", emu.key())
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before anything is printed, as `| head -c0` would.
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let (_, stderr) = texts(&output);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}

#[test]
fn the_emulator_subcommand_serves_until_ctrl_c() {
    use std::io::{BufRead, BufReader};

    let mut child = Command::new(env!("CARGO_BIN_EXE_nateq"))
        .args(["emulator", "--port", "0", "--demo-contacts", "3"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The first line says where it listens and with which key.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let (base_url, key) = first.trim().split_once(' ').unwrap();
    assert!(base_url.starts_with("http://127.0.0.1:") && base_url.ends_with("/api/v1"));

    let output = nateq()
        .env("NATEQ_BASE_URL", base_url)
        .env("NATEQ_API_KEY", key)
        .args([
            "--output",
            "json",
            "contacts",
            "update",
            "ct_demo_3",
            "--name",
            "Third",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let printed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(printed["name"], "Third");
    let missing = nateq()
        .env("NATEQ_BASE_URL", base_url)
        .env("NATEQ_API_KEY", key)
        .args(["contacts", "update", "ct_demo_4", "--name", "Fourth"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(4), "only 3 demo contacts");

    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}
