//! Helpers shared by the end-to-end tests: an emulator on its own runtime, the `nateq` binary
//! pointed at it, and input files.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nateq_emulator::{Emulator, JournalEntry, Seed, StoredContact};

/// How many requests the emulator's journal keeps: more than any test sends, so the journal
/// holds the whole run ([`Emu::journal`] fails if it may have dropped some).
pub const JOURNAL: usize = 200_000;

/// An emulator on `127.0.0.1:0`, served by a runtime of its own so tests stay synchronous.
pub struct Emu {
    pub emulator: Emulator,
    runtime: tokio::runtime::Runtime,
}

impl Emu {
    /// An emulator with demo contacts `ct_demo_1` to `ct_demo_{contacts}`.
    pub fn start(contacts: usize) -> Emu {
        Emu::start_seeded(Seed::demo(contacts).unwrap())
    }

    /// An emulator with this starting state (keys, companies, contacts).
    pub fn start_seeded(seed: Seed) -> Emu {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let emulator = runtime
            .block_on(Emulator::builder().seed(seed).journal(JOURNAL).spawn())
            .unwrap();
        Emu { emulator, runtime }
    }

    /// The key the CLI is given.
    pub fn key(&self) -> &str {
        self.emulator.api_key()
    }

    /// `nateq` pointed at this emulator through the environment (`NATEQ_BASE_URL`,
    /// `NATEQ_API_KEY`).
    pub fn nateq(&self) -> assert_cmd::Command {
        let mut cmd = nateq();
        cmd.env("NATEQ_BASE_URL", self.emulator.base_url())
            .env("NATEQ_API_KEY", self.key());
        cmd
    }

    /// A contact as the emulator has it now.
    pub fn contact(&self, id: &str) -> StoredContact {
        self.emulator
            .contact(id)
            .unwrap_or_else(|| panic!("no contact {id}"))
    }

    /// How many activities of `contact` record a change of `field`.
    pub fn changes_of(&self, id: &str, field: &str) -> usize {
        let metadata = format!("{{\"field\":\"{field}\"}}");
        self.contact(id)
            .contact
            .activities
            .unwrap_or_default()
            .iter()
            .filter(|a| a.metadata.as_deref() == Some(metadata.as_str()))
            .count()
    }

    /// Every request the emulator received on `/api/v1`, oldest first: the whole run, since
    /// the journal keeps [`JOURNAL`] requests (fails if it is full, and may have dropped some).
    pub fn journal(&self) -> Vec<JournalEntry> {
        let entries = self.emulator.requests();
        assert!(entries.len() < JOURNAL, "the journal is full");
        entries
    }

    /// The journal's `PUT`s, by contact id, each contact's oldest first.
    pub fn puts_by_contact(&self) -> BTreeMap<String, Vec<JournalEntry>> {
        let mut by_contact: BTreeMap<String, Vec<JournalEntry>> = BTreeMap::new();
        for entry in self.journal() {
            assert_eq!(entry.method, "PUT", "{entry:?}");
            let id = entry.contact_id.clone().unwrap_or_default();
            by_contact.entry(id).or_default().push(entry);
        }
        by_contact
    }

    /// Runs a future on the emulator's runtime (e.g. an SDK call made by the test itself).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// A client of the SDK with the same key, to change state behind the CLI's back.
    pub fn client(&self) -> nateq_api::Client {
        nateq_api::Client::builder()
            .api_key(self.key())
            .base_url(self.emulator.base_url())
            .build()
            .unwrap()
    }
}

/// `nateq` with a clean environment: no inherited key, URL or log filter, a fixed width.
pub fn nateq() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_nateq"));
    cmd.env_remove("NATEQ_API_KEY")
        .env_remove("NATEQ_BASE_URL")
        .env_remove("RUST_LOG")
        .env("COLUMNS", "100")
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(120));
    cmd
}

/// Stdout and stderr as text.
pub fn texts(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Writes `contents` to `name` in `dir` and returns the path.
pub fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// The report's lines, parsed.
pub fn report(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

/// Waits until `condition` holds, polling; panics after `limit`.
pub fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < limit,
            "condition not met within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `cmd` (its arguments ending in `--input`) on `input`, writing the report to
/// `report_path`, and returns the output.
pub fn run_with_report(cmd: &mut assert_cmd::Command, input: &Path, report_path: &Path) -> Output {
    cmd.arg(input)
        .arg("--report")
        .arg(report_path)
        .output()
        .unwrap()
}

/// Runs `update-many {extra} --input {input} --report {report_path} --resume` against `emu`,
/// checks that it ends with exit 0 (showing its stderr otherwise), and returns the output.
pub fn resume_ok(emu: &Emu, extra: &[&str], input: &Path, report_path: &Path) -> Output {
    let mut cmd = emu.nateq();
    cmd.args(["contacts", "update-many"])
        .args(extra)
        .arg("--input");
    let output = cmd
        .arg(input)
        .arg("--report")
        .arg(report_path)
        .arg("--resume")
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    output
}

/// Starts `update-many --concurrency {concurrency}` on `input` against `emu`, waits until
/// `report_path` has `lines` lines, sends `signal` with `kill`, and returns the output once
/// the run has ended.
pub fn signal_mid_run(
    emu: &Emu,
    concurrency: &str,
    input: &Path,
    report_path: &Path,
    lines: usize,
    signal: &str,
) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_nateq"))
        .env("NATEQ_BASE_URL", emu.emulator.base_url())
        .env("NATEQ_API_KEY", emu.key())
        .env_remove("RUST_LOG")
        .args([
            "contacts",
            "update-many",
            "--concurrency",
            concurrency,
            "--input",
        ])
        .arg(input)
        .arg("--report")
        .arg(report_path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The signal handlers are installed before the first row is read, so once a line is in
    // the report the signal is handled (not fatal) for SIGINT.
    wait_until(Duration::from_secs(60), || {
        std::fs::read_to_string(report_path).is_ok_and(|t| t.lines().count() >= lines)
    });
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait_with_output().unwrap()
}
