//! Soak: `update-many` of 5,000 rows against the emulator with 20% injected faults (503, a
//! connection dropped after the update was applied, a stall longer than the client's timeout),
//! seeded so every run sees the same faults. Every row must end applied exactly as asked,
//! reported done, with retries visible, and no change applied twice (one activity per changed
//! field). No 429s here: each one slows the whole client down (client-wide throttling), so a
//! thousand of them would make a soak of waiting; throttling has tests of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fmt::Write as _;

use nateq_emulator::{FaultConfig, FaultKind};
use serde_json::json;
use support::{Emu, report, run_with_report, texts, write};

#[test]
fn five_thousand_rows_through_twenty_percent_faults_all_land_exactly_once() {
    let n = 5000;
    let emu = Emu::start(n);
    let faults = FaultConfig::new(
        0.2,
        [
            FaultKind::ServiceUnavailable,
            FaultKind::Drop,
            FaultKind::Stall,
        ],
    )
    .seed(7)
    .stall(std::time::Duration::from_secs(3));
    emu.emulator.set_faults(faults).unwrap();

    let mut rows = String::new();
    for i in 1..=n {
        let row = json!({
            "id": format!("ct_demo_{i}"),
            "name": format!("Soak {i}"),
            "externalId": format!("soak-{i}"),
            "isPotentialClient": i % 3 == 0,
        });
        writeln!(rows, "{row}").unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "rows.jsonl", &rows);
    let report_path = dir.path().join("report.jsonl");
    let output = run_with_report(
        emu.nateq()
            .args(["--timeout", "500ms", "--max-retries", "8"])
            .args(["contacts", "update-many", "--concurrency", "32", "--input"]),
        &input,
        &report_path,
    );
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");

    // Faults of every kind really happened.
    let counters = emu.emulator.faults().counters;
    assert!(counters.service_unavailable > 0, "{counters:?}");
    assert!(counters.drop > 0, "{counters:?}");
    assert!(counters.stall > 0, "{counters:?}");

    // The report lists every row once, as done, and retries are visible.
    let entries = report(&report_path);
    assert_eq!(entries.len(), n);
    let mut lines: Vec<u64> = entries
        .iter()
        .map(|e| {
            assert_eq!(e["result"], "ok", "{e}");
            e["line"].as_u64().unwrap()
        })
        .collect();
    lines.sort_unstable();
    assert_eq!(lines, (1..=n as u64).collect::<Vec<_>>());
    let retried = entries
        .iter()
        .filter(|e| e["attempts"].as_u64() > Some(1))
        .count();
    assert!(retried > 0);
    assert!(
        stderr.contains(&format!(
            "{n} done, 0 failed, 0 skipped, {retried} retried, 0 throttled"
        )),
        "{stderr}"
    );

    // The final state is exactly what was asked, and each change was applied once even
    // where the connection dropped after the update (the retry found nothing to change).
    for i in 1..=n {
        let id = format!("ct_demo_{i}");
        let stored = emu.contact(&id).contact;
        assert_eq!(stored.name, Some(format!("Soak {i}")), "{id}");
        assert_eq!(stored.external_id, Some(format!("soak-{i}")), "{id}");
        assert_eq!(stored.is_potential_client, Some(i % 3 == 0), "{id}");
        assert_eq!(emu.changes_of(&id, "name"), 1, "{id}: name applied twice");
        assert_eq!(
            emu.changes_of(&id, "externalId"),
            1,
            "{id}: externalId applied twice"
        );
        assert!(emu.changes_of(&id, "isPotentialClient") <= 1, "{id}");
    }
}
