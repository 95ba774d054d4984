//! End to end: the `update-many` report has one writer (a second run exits 9 naming it and the
//! other process), a report that cannot be written stops the run (exit 10) without losing a
//! row, and a corrupt line in the middle of a report is an error that names it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use nateq_emulator::{FaultConfig, FaultKind};
use serde_json::json;
use support::{Emu, report, resume_ok, run_with_report, texts, wait_until, write};

/// Two rows per contact for `contacts` contacts, the second of each contact one pass later, with
/// values that differ per row: `(input, the name each contact must end with)`.
fn two_rows_each(contacts: usize) -> (String, BTreeMap<String, String>) {
    let mut input = String::new();
    let mut last = BTreeMap::new();
    for pass in 1..=2 {
        for i in 1..=contacts {
            let id = format!("ct_demo_{i}");
            let name = format!("Pass {pass} of {i}");
            writeln!(input, "{}", json!({"id": id, "name": name})).unwrap();
            last.insert(id, name);
        }
    }
    (input, last)
}

/// `(line, result)` of every report line, in the order written.
fn results(path: &Path) -> Vec<(u64, String)> {
    report(path)
        .iter()
        .map(|l| {
            (
                l["line"].as_u64().unwrap(),
                l["result"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_second_run_on_a_report_in_use_exits_9_naming_the_report_and_the_other_process() {
    let emu = Emu::start(40);
    // Slow enough that the first run is still going when the second starts.
    emu.emulator
        .set_faults(FaultConfig {
            rate: 1.0,
            kinds: vec![FaultKind::Latency],
            latency_ms: 100,
            ..FaultConfig::default()
        })
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (rows, _) = two_rows_each(20);
    let input = write(dir.path(), "rows.jsonl", &rows);
    let report_path = dir.path().join("report.jsonl");
    let first = Command::new(env!("CARGO_BIN_EXE_nateq"))
        .env("NATEQ_BASE_URL", emu.emulator.base_url())
        .env("NATEQ_API_KEY", emu.key())
        .env_remove("RUST_LOG")
        .args(["contacts", "update-many", "--concurrency", "1", "--input"])
        .arg(&input)
        .arg("--report")
        .arg(&report_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(60), || {
        std::fs::read_to_string(&report_path).is_ok_and(|t| t.lines().count() >= 1)
    });

    for resume in [true, false] {
        let mut cmd = emu.nateq();
        cmd.args(["contacts", "update-many", "--input"])
            .arg(&input)
            .arg("--report")
            .arg(&report_path);
        if resume {
            cmd.arg("--resume");
        }
        let output = cmd.output().unwrap();
        let (_, stderr) = texts(&output);
        assert_eq!(output.status.code(), Some(9), "resume {resume}: {stderr}");
        let expected = format!(
            "error: report {} is in use by another run (pid {}, started ",
            report_path.display(),
            first.id()
        );
        assert!(stderr.starts_with(&expected), "resume {resume}: {stderr}");
    }
    let mut first = first;
    Command::new("kill")
        .args(["-INT", &first.id().to_string()])
        .status()
        .unwrap();
    let status = first.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    // The lock went with the first run, and so did the file that named it.
    assert!(!dir.path().join("report.jsonl.pid").exists());
    emu.emulator.set_faults(FaultConfig::default()).unwrap();
    let output = resume_ok(&emu, &[], &input, &report_path);
    // Ctrl-C left whole lines: nothing is cut, and no warning says so.
    let (_, stderr) = texts(&output);
    assert!(!stderr.contains("torn"), "{stderr}");
    let mut lines: Vec<u64> = results(&report_path).iter().map(|(l, _)| *l).collect();
    lines.sort_unstable();
    assert_eq!(lines, (1..=40).collect::<Vec<u64>>());
}

#[test]
fn a_fresh_report_never_replaces_a_file_that_has_lines() {
    let emu = Emu::start(2);
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "rows.jsonl",
        "{\"id\":\"ct_demo_1\",\"name\":\"X\"}\n",
    );
    let old = "{\"line\":1,\"id\":\"ct_demo_1\",\"result\":\"ok\",\"fields\":[\"name\"],\"attempts\":1}\n";
    let report_path = write(dir.path(), "report.jsonl", old);
    let output = run_with_report(
        emu.nateq().args(["contacts", "update-many", "--input"]),
        &input,
        &report_path,
    );
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("pass --resume"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&report_path).unwrap(), old);
    assert_eq!(emu.emulator.requests().len(), 0);
}

/// A report that stops growing mid-run (the file-size limit of the process: the kernel refuses
/// to write past it, as with a full disk): the run stops taking rows, names the report and the
/// cause, and exits 10, leaving only whole lines; `--resume` without the limit applies every
/// remaining row, and each contact ends with its last row.
#[cfg(unix)]
#[test]
fn a_report_that_cannot_be_written_stops_the_run_and_resume_applies_the_rest() {
    let contacts = 150;
    let emu = Emu::start(contacts);
    let dir = tempfile::tempdir().unwrap();
    let (rows, last) = two_rows_each(contacts);
    let input = write(dir.path(), "rows.jsonl", &rows);
    let report_path = dir.path().join("report.jsonl");
    // `ulimit -f 4`: 4 blocks (2 KiB or 4 KiB depending on the shell), far less than the
    // ~20 KiB of a full report. SIGXFSZ is ignored, so writing past it fails with EFBIG.
    let output = Command::new("bash")
        .arg("-c")
        .arg("ulimit -f 4 && trap '' XFSZ && exec \"$@\"")
        .arg("nateq")
        .arg(env!("CARGO_BIN_EXE_nateq"))
        .args(["contacts", "update-many", "--concurrency", "4", "--input"])
        .arg(&input)
        .arg("--report")
        .arg(&report_path)
        .env("NATEQ_BASE_URL", emu.emulator.base_url())
        .env("NATEQ_API_KEY", emu.key())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(10), "{stderr}");
    let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap();
    assert!(
        error.starts_with(&format!(
            "error: cannot write report {}: File too large",
            report_path.display()
        )),
        "{error}"
    );
    assert!(
        error.contains(&format!(
            "stopped taking rows; once it is fixed, run again with --report {} --resume",
            report_path.display()
        )) || error.contains("could not be recorded and will be sent again"),
        "{error}"
    );
    // Only whole lines, each row at most once, and far from all of them.
    let text = std::fs::read_to_string(&report_path).unwrap();
    assert!(text.ends_with('\n'), "{text:?}");
    let first_run = results(&report_path);
    let mut lines: Vec<u64> = first_run.iter().map(|(l, _)| *l).collect();
    assert!(!lines.is_empty() && lines.len() < 100, "{}", lines.len());
    lines.sort_unstable();
    lines.dedup();
    assert_eq!(lines.len(), first_run.len(), "a row recorded twice");
    // Reading stopped: the first run sent little more than it recorded (the rows in flight).
    let sent = emu.emulator.requests().len();
    assert!(
        sent <= first_run.len() + 8,
        "{sent} sent, {} recorded",
        first_run.len()
    );

    resume_ok(&emu, &[], &input, &report_path);
    let all = results(&report_path);
    let mut lines: Vec<u64> = all.iter().map(|(l, _)| *l).collect();
    lines.sort_unstable();
    assert_eq!(lines, (1..=2 * contacts as u64).collect::<Vec<u64>>());
    assert!(all.iter().all(|(_, r)| r == "ok"), "{all:?}");
    for (id, name) in &last {
        assert_eq!(emu.contact(id).contact.name.as_ref(), Some(name), "{id}");
    }
}

/// A report on a device that is always full: the first line cannot be written; the error names
/// the report and "No space left on device", and the run exits 10.
#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_names_the_report_and_the_cause() {
    let emu = Emu::start(20);
    let dir = tempfile::tempdir().unwrap();
    let (rows, _) = two_rows_each(10);
    let input = write(dir.path(), "rows.jsonl", &rows);
    let report_path = dir.path().join("report.jsonl");
    std::os::unix::fs::symlink("/dev/full", &report_path).unwrap();
    let output = run_with_report(
        emu.nateq()
            .args(["contacts", "update-many", "--concurrency", "1", "--input"]),
        &input,
        &report_path,
    );
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(10), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: cannot write report {}: No space left on device",
            report_path.display()
        )),
        "{stderr}"
    );
    // That row was applied, but its line is not in the report: the message says so.
    assert!(
        stderr.contains("; 1 rows that finished could not be recorded and will be sent again"),
        "{stderr}"
    );
    // One row was in flight when the first line failed; nothing more was taken.
    assert!(
        emu.emulator.requests().len() <= 2,
        "{}",
        emu.emulator.requests().len()
    );
}

/// A report that cannot be synced to the disk (a FIFO: it has no disk, so `fdatasync` fails
/// with EINVAL): its lines cannot be known to survive a power loss, so the run stops with
/// exit 10 naming the report and the cause. The one row's line was written whole before the
/// sync at the end failed (a sync after each line, not once a second, would fail on the line
/// itself, and call it unrecorded).
#[cfg(target_os = "linux")]
#[test]
fn a_report_that_cannot_be_synced_stops_the_run_naming_it() {
    let emu = Emu::start(1);
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "rows.jsonl",
        "{\"id\":\"ct_demo_1\",\"name\":\"Synced\"}\n",
    );
    let report_path = dir.path().join("report.jsonl");
    let made = Command::new("mkfifo").arg(&report_path).status().unwrap();
    assert!(made.success());
    // Whatever the run writes to the report, read until it closes it.
    let reader = {
        let path = report_path.clone();
        std::thread::spawn(move || std::fs::read_to_string(path).unwrap())
    };
    let output = run_with_report(
        emu.nateq().args(["contacts", "update-many", "--input"]),
        &input,
        &report_path,
    );
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(10), "{stderr}");
    let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap();
    assert_eq!(
        error,
        format!(
            "error: cannot sync report {path}: Invalid argument (os error 22); stopped taking \
             rows; once it is fixed, run again with --report {path} --resume to apply the \
             remaining rows",
            path = report_path.display()
        )
    );
    let written = reader.join().unwrap();
    let lines: Vec<serde_json::Value> = written
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{written:?}");
    assert_eq!(
        (&lines[0]["line"], &lines[0]["result"]),
        (&json!(1), &json!("ok"))
    );
    assert_eq!(
        emu.contact("ct_demo_1").contact.name.as_deref(),
        Some("Synced")
    );
}

#[test]
fn a_corrupt_line_in_the_middle_of_a_report_is_an_error_naming_it_and_force_goes_on() {
    let emu = Emu::start(3);
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "rows.jsonl",
        &[1, 2, 3]
            .iter()
            .map(|i| {
                format!(
                    "{}\n",
                    json!({"id": format!("ct_demo_{i}"), "name": format!("Row {i}")})
                )
            })
            .collect::<String>(),
    );
    let good = |line: u64| {
        format!(
            "{{\"line\":{line},\"id\":\"ct_demo_{line}\",\"result\":\"ok\",\"fields\":[\"name\"],\"attempts\":1}}\n"
        )
    };
    let text = format!("{}{{\"line\":2,\"id\":\"ct_de\n{}", good(1), good(3));
    let report_path = write(dir.path(), "report.jsonl", &text);
    let resume = |force: bool| {
        let mut cmd = emu.nateq();
        cmd.args(["contacts", "update-many", "--input"])
            .arg(&input)
            .arg("--report")
            .arg(&report_path)
            .arg("--resume");
        if force {
            cmd.arg("--force");
        }
        cmd.output().unwrap()
    };
    let output = resume(false);
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "error: report {} line 2: not a report line (",
            report_path.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("--resume --force"), "{stderr}");
    assert_eq!(emu.emulator.requests().len(), 0);
    assert_eq!(std::fs::read_to_string(&report_path).unwrap(), text);

    // A torn last line is not corrupt: it is cut, without --force.
    let torn = dir.path().join("torn.jsonl");
    std::fs::write(&torn, format!("{}{}{{\"line\":2,\"id", good(1), good(3))).unwrap();
    resume_ok(&emu, &[], &input, &torn);
    assert_eq!(emu.emulator.requests().len(), 1);
    assert_eq!(
        emu.contact("ct_demo_2").contact.name.as_deref(),
        Some("Row 2")
    );

    emu.emulator.clear_requests();
    let output = resume(true);
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "warning: report {} line 2: not a report line",
            report_path.display()
        )),
        "{stderr}"
    );
    // Only the row of the corrupt line was sent again.
    let sent: Vec<String> = emu
        .emulator
        .requests()
        .iter()
        .map(|r| r.contact_id.clone().unwrap())
        .collect();
    assert_eq!(sent, ["ct_demo_2"]);
}
