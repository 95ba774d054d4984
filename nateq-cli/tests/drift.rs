//! A live API whose responses drift from the spec (here `createdAt` is a number, where the spec
//! and the reference page say a string): every update it answers with a 2xx was applied, so
//! nothing may call it failed or send it again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::routing::put;
use support::{nateq, report, run_with_report, texts, write};

/// How the server's 200 drifts from the spec.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// The envelope is as documented, the contact's `createdAt` is a number.
    Contact,
    /// The envelope has no `success` (the spec requires it).
    Envelope,
}

/// A server that applies every update (it counts them per contact) and answers 200 with a
/// body that drifted from the spec in one way.
struct Drifting {
    base_url: String,
    applied: Arc<Mutex<HashMap<String, u32>>>,
    _runtime: tokio::runtime::Runtime,
}

impl Drifting {
    fn start(shape: Shape) -> Drifting {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let applied = Arc::new(Mutex::new(HashMap::new()));
        let app = axum::Router::new()
            .route(
                "/api/v1/contacts/{id}",
                put(
                    move |State(applied): State<Arc<Mutex<HashMap<String, u32>>>>,
                     Path(id): Path<String>| async move {
                        *applied.lock().unwrap().entry(id.clone()).or_default() += 1;
                        let contact = serde_json::json!({"id": id, "name": "Ada", "createdAt": 1_764_547_200});
                        let body = match shape {
                            Shape::Contact => serde_json::json!({"success": true, "data": contact}),
                            Shape::Envelope => serde_json::json!({"ok": true, "data": contact}),
                        };
                        ([("x-request-id", format!("req_{id}"))], axum::Json(body))
                    },
                ),
            )
            .with_state(applied.clone());
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move { axum::serve(listener, app).await });
        Drifting {
            base_url: format!("http://{addr}/api/v1"),
            applied,
            _runtime: runtime,
        }
    }

    fn nateq(&self) -> assert_cmd::Command {
        let mut cmd = nateq();
        cmd.env("NATEQ_BASE_URL", &self.base_url)
            .env("NATEQ_API_KEY", "tg_test_drift");
        cmd
    }

    fn applied(&self) -> HashMap<String, u32> {
        self.applied.lock().unwrap().clone()
    }
}

#[test]
fn a_single_update_that_drifted_is_applied_exits_8_and_prints_the_contact() {
    let server = Drifting::start(Shape::Contact);
    let output = server
        .nateq()
        .args([
            "--output", "json", "contacts", "update", "ct_1", "--name", "Ada",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(8), "{stderr}");
    assert!(
        stderr.contains("the update was applied")
            && stderr.contains("data.createdAt")
            && stderr.contains("expected a string, found a number"),
        "{stderr}"
    );
    let contact: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(contact["createdAt"], 1_764_547_200);
    assert_eq!(server.applied(), HashMap::from([("ct_1".to_owned(), 1)]));
}

/// Runs `update-many` over 20 rows of 20 contacts, then `--resume`; checks that each row was
/// applied once and recorded once as `ok`, that the resume sent nothing, and returns the
/// report and the first run's summary and exit code.
fn bulk_then_resume(shape: Shape) -> (Vec<serde_json::Value>, serde_json::Value, Option<i32>) {
    let server = Drifting::start(shape);
    let dir = tempfile::tempdir().unwrap();
    let rows: String = (1..=20)
        .map(|n| format!("{{\"id\":\"ct_{n}\",\"name\":\"Ada {n}\"}}\n"))
        .collect();
    let input = write(dir.path(), "rows.jsonl", &rows);
    let report_path = dir.path().join("report.jsonl");
    let output = run_with_report(
        server
            .nateq()
            .args(["--output", "json", "contacts", "update-many", "--input"]),
        &input,
        &report_path,
    );
    let (stdout, stderr) = texts(&output);
    let summary: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"));
    assert_eq!(
        (&summary["done"], &summary["failed"]),
        (&20.into(), &0.into()),
        "{shape:?}: {summary} {stderr}"
    );
    let lines = report(&report_path);
    let mut seen: Vec<u64> = lines.iter().map(|l| l["line"].as_u64().unwrap()).collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=20).collect::<Vec<u64>>(),
        "{shape:?}: each row recorded once"
    );
    for line in &lines {
        assert_eq!(line["result"], "ok", "{shape:?}: {line}");
    }
    let once: HashMap<String, u32> = (1..=20).map(|n| (format!("ct_{n}"), 1)).collect();
    assert_eq!(server.applied(), once, "{shape:?}");

    let again = server
        .nateq()
        .args([
            "--output",
            "json",
            "contacts",
            "update-many",
            "--resume",
            "--input",
        ])
        .arg(&input)
        .arg("--report")
        .arg(&report_path)
        .output()
        .unwrap();
    let (again_stdout, again_stderr) = texts(&again);
    assert_eq!(again.status.code(), Some(0), "{shape:?}: {again_stderr}");
    let resumed: serde_json::Value = serde_json::from_str(&again_stdout).unwrap();
    assert_eq!(resumed["skipped"], 20, "{shape:?}: {resumed}");
    assert_eq!(
        server.applied(),
        once,
        "{shape:?}: resume sent an applied row again"
    );
    (lines, summary, output.status.code())
}

/// `apply` reads only the envelope: a contact that drifted is a plain success.
#[test]
fn bulk_rows_whose_contact_drifted_are_plain_successes() {
    let (lines, summary, code) = bulk_then_resume(Shape::Contact);
    assert_eq!(code, Some(0));
    assert_eq!(summary["drifted"], 0, "{summary}");
    for line in &lines {
        assert!(line.get("drift").is_none(), "{line}");
    }
}

/// An envelope that drifted: each row is applied, recorded `ok` with the drift named, counted
/// as `drifted`, and the run exits 8.
#[test]
fn bulk_rows_whose_envelope_drifted_are_applied_with_the_drift_named() {
    let (lines, summary, code) = bulk_then_resume(Shape::Envelope);
    assert_eq!(code, Some(8));
    assert_eq!(summary["drifted"], 20, "{summary}");
    for line in &lines {
        assert_eq!(line["drift"]["path"], "success", "{line}");
        assert_eq!(line["drift"]["actual"], "absent", "{line}");
        assert_eq!(line["drift"]["status"], 200, "{line}");
        // What --resume reads of the row: the fields it set, and the one request it took.
        assert_eq!(line["fields"], serde_json::json!(["name"]), "{line}");
        assert_eq!(line["attempts"], 1, "{line}");
        let id = line["id"].as_str().unwrap();
        assert_eq!(line["requestId"], format!("req_{id}"), "{line}");
    }
}
