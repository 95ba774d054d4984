//! Soak: `update-many` of 5,000 rows against the emulator with 20% injected faults (503, a
//! connection dropped after the update was applied, a stall longer than the client's timeout),
//! seeded so every run sees the same faults. Every row must end applied exactly as asked,
//! reported done, with retries visible, and applied once: the emulator's journal (as large as
//! the run) shows every request of every row, so an update sent again after its success shows
//! even though an identical update changes nothing.
//!
//! The fault mix is chosen so the run takes well under a minute: no 429s, since each one
//! rightly slows the whole client down (client-wide throttling, tested in its own tests), and
//! a thousand of them would make a soak of waiting; the stall lasts just longer than the
//! client's timeout, so each costs one timeout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use nateq_emulator::{FaultConfig, FaultKind, JournalEntry};
use serde_json::json;
use support::{Emu, report, run_with_report, texts, wait_until, write};

/// The client's per-request timeout. Generous, so that a request the emulator answered is
/// never given up on by a busy machine (that would be a legitimate resend the test cannot
/// tell from a duplicate); a stall outlasts it.
const TIMEOUT: Duration = Duration::from_secs(2);
const STALL: Duration = Duration::from_secs(3);

/// What one request of a row did, from its journal entry.
#[derive(Debug, PartialEq, Eq)]
enum Request {
    /// Answered 200: applied, and the client had its answer.
    Applied,
    /// The random `drop` fault (a rule's `drop-after-apply`): applied, then the connection
    /// was closed without an answer. The client cannot know it was applied, so sending the
    /// row again is legitimate: an identical update, applied a second time, changes nothing.
    AppliedAnswerDropped,
    /// An injected 503, or a stall the client gave up on (the request ends with the
    /// connection, before anything is applied): nothing applied.
    NotApplied,
}

fn classify(entry: &JournalEntry) -> Request {
    match (entry.status, entry.fault.as_deref()) {
        (Some(200), None) => Request::Applied,
        (None, Some("drop")) => Request::AppliedAnswerDropped,
        (Some(503), Some("503")) | (None, Some("stall")) => Request::NotApplied,
        _ => panic!("a request the soak does not expect: {entry:?}"),
    }
}

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
    .stall(STALL);
    emu.emulator.set_faults(faults).unwrap();

    let body = |i: usize| {
        json!({
            "name": format!("Soak {i}"),
            "externalId": format!("soak-{i}"),
            "isPotentialClient": i.is_multiple_of(3),
        })
    };
    let mut rows = String::new();
    for i in 1..=n {
        let mut row = body(i);
        row["id"] = json!(format!("ct_demo_{i}"));
        writeln!(rows, "{row}").unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "rows.jsonl", &rows);
    let report_path = dir.path().join("report.jsonl");
    let timeout = format!("{}ms", TIMEOUT.as_millis());
    let output = run_with_report(
        emu.nateq()
            .args(["--timeout", &timeout, "--max-retries", "8"])
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
    let mut attempts: BTreeMap<u64, u64> = BTreeMap::new();
    for e in &entries {
        assert_eq!(e["result"], "ok", "{e}");
        let line = e["line"].as_u64().unwrap();
        assert_eq!(e["id"], format!("ct_demo_{line}"), "{e}");
        assert!(
            attempts
                .insert(line, e["attempts"].as_u64().unwrap())
                .is_none()
        );
    }
    assert_eq!(
        attempts.keys().copied().collect::<Vec<_>>(),
        (1..=n as u64).collect::<Vec<_>>()
    );
    let retried = attempts.values().filter(|&&a| a > 1).count();
    assert!(retried > 0);
    assert!(
        stderr.contains(&format!(
            "{n} done, 0 failed, 0 skipped, {retried} retried, 0 throttled"
        )),
        "{stderr}"
    );

    // Every attempt reached the emulator: once the stalled ones have ended (the client left
    // them), the journal holds as many requests as the report counts attempts.
    let sent: u64 = attempts.values().sum();
    wait_until(Duration::from_secs(10), || {
        emu.journal().len() as u64 >= sent
    });
    assert_eq!(emu.journal().len() as u64, sent);

    // The final state is exactly what was asked, and each row was applied once, as the
    // journal shows: every request whose body was read carried the row as it is, the last was answered 200 and
    // nothing was sent after it, and every earlier one either applied nothing or lost its
    // answer to a dropped connection (the only legitimate resend of an applied update here).
    let journal = emu.puts_by_contact();
    assert_eq!(journal.len(), n);
    let mut resent_after_a_drop = 0;
    for i in 1..=n {
        let id = format!("ct_demo_{i}");
        let stored = emu.contact(&id).contact;
        assert_eq!(stored.name, Some(format!("Soak {i}")), "{id}");
        assert_eq!(stored.external_id, Some(format!("soak-{i}")), "{id}");
        assert_eq!(
            stored.is_potential_client,
            Some(i.is_multiple_of(3)),
            "{id}"
        );

        let requests = &journal[&id];
        assert_eq!(requests.len() as u64, attempts[&(i as u64)], "{id}");
        for r in requests {
            // A stalled request is held before its body is read.
            if r.fault.as_deref() != Some("stall") {
                assert_eq!(r.body, Some(body(i)), "{id}: {r:?}");
            }
        }
        let (last, earlier) = requests.split_last().unwrap();
        assert_eq!(classify(last), Request::Applied, "{id}: {requests:#?}");
        for r in earlier {
            match classify(r) {
                Request::Applied => panic!("{id}: applied twice: {requests:#?}"),
                Request::AppliedAnswerDropped => resent_after_a_drop += 1,
                Request::NotApplied => {}
            }
        }
        // The activities agree: the first application changed each field once.
        assert_eq!(emu.changes_of(&id, "name"), 1, "{id}");
        assert_eq!(emu.changes_of(&id, "externalId"), 1, "{id}");
    }
    // The legitimate resend happened, so the check above met the case it allows.
    assert!(resent_after_a_drop > 0);
    assert_eq!(resent_after_a_drop as u64, counters.drop);
}
