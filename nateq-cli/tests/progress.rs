//! End to end: the progress line of `update-many` (stderr not a terminal: a line every 10 s)
//! counts the rows finished against the rows known, so rows still in flight keep it below 100%.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fmt::Write as _;

use nateq_emulator::{FaultConfig, FaultKind};
use support::{Emu, texts, write};

#[test]
fn the_progress_line_counts_rows_finished_against_rows_known() {
    let emu = Emu::start(20);
    // 20 rows one at a time, 600 ms each: the first line (at 10 s) comes with rows left.
    emu.emulator
        .set_faults(FaultConfig {
            rate: 1.0,
            kinds: vec![FaultKind::Latency],
            latency_ms: 600,
            ..FaultConfig::default()
        })
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut rows = String::new();
    for i in 1..=20 {
        writeln!(rows, "{{\"id\":\"ct_demo_{i}\",\"name\":\"P {i}\"}}").unwrap();
    }
    let input = write(dir.path(), "rows.jsonl", &rows);
    let output = emu
        .nateq()
        .args(["contacts", "update-many", "--concurrency", "1", "--input"])
        .arg(&input)
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("update-many progress: "))
        .unwrap_or_else(|| panic!("no progress line in {stderr}"));
    // `update-many progress: N rows (0 failed) in 10s, P% of 20 rows, ETA ...`
    let words: Vec<&str> = line.split_whitespace().collect();
    let done: u64 = words[2].parse().unwrap();
    let percent: u64 = words[8].trim_end_matches('%').parse().unwrap();
    assert!((1..20).contains(&done), "{line}");
    assert_eq!(percent, done * 100 / 20, "{line}");
    assert!(line.contains("% of 20 rows, ETA "), "{line}");
    assert!(!line.ends_with("ETA 0s"), "{line}");
}
