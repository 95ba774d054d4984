//! End to end: `nateq spec check` against the emulator (no drift) and against a server of
//! this file that drifts from openapi.yaml in one way per test, through the built binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use support::{Emu, nateq, texts};

/// The key the drifting server accepts, and its one contact.
const KEY: &str = "tg_test_drift_key";
const CONTACT: &str = "ct_1";
/// The repository's spec, to find the lines a finding must name (by text search, not with
/// the checker's own line map).
const SPEC: &str = include_str!("../../openapi.yaml");

/// The line (1-based) of `property` under the component schema `schema` in openapi.yaml.
fn line_of(schema: &str, property: &str) -> usize {
    let lines: Vec<&str> = SPEC.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == format!("    {schema}:"))
        .unwrap_or_else(|| panic!("no schema {schema}"));
    let offset = lines[start..]
        .iter()
        .position(|l| *l == format!("        {property}:"))
        .unwrap_or_else(|| panic!("no property {property} in {schema}"));
    start + offset + 1
}

/// The line of `needle` (a whole trimmed line) after the line of `after`.
fn line_after(after: &str, needle: &str) -> usize {
    let lines: Vec<&str> = SPEC.lines().collect();
    let start = lines.iter().position(|l| l.trim() == after).unwrap();
    start
        + lines[start..]
            .iter()
            .position(|l| l.trim() == needle)
            .unwrap()
        + 1
}

/// One answer of the drifting server, before and after its drift.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    content_type: Option<String>,
    headers: Vec<(String, String)>,
    body: Value,
    /// Sent instead of `body` when set (a body that is not JSON).
    raw_body: Option<String>,
}

/// Which probe a request is, as the server sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Noop,
    UnknownId,
    OverLong,
    WrongKey,
    /// A request with a short value: the checker putting a value back.
    Restore,
}

/// A request as the server received it.
#[derive(Debug, Clone)]
struct Received {
    seen: Seen,
    body: Value,
    authorization: Option<String>,
}

type DriftFn = dyn Fn(Seen, &mut Answer) + Send + Sync;

#[derive(Clone)]
struct ServerState {
    drift: Arc<DriftFn>,
    received: Arc<Mutex<Vec<Received>>>,
}

/// An API that answers as openapi.yaml says, except for what its drift changes, on
/// `127.0.0.1:0`, served by a runtime of its own.
struct DriftServer {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    _runtime: tokio::runtime::Runtime,
}

impl DriftServer {
    fn start(drift: impl Fn(Seen, &mut Answer) + Send + Sync + 'static) -> DriftServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = ServerState {
            drift: Arc::new(drift),
            received: received.clone(),
        };
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .route("/api/v1/contacts/{id}", axum::routing::put(answer))
            .with_state(state);
        runtime.spawn(async move { axum::serve(listener, app).await });
        DriftServer {
            addr,
            received,
            _runtime: runtime,
        }
    }

    /// A server that does not drift.
    fn faithful() -> DriftServer {
        DriftServer::start(|_, _| {})
    }

    fn base_url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// `nateq --output json spec check --contact ct_1` pointed at this server.
    fn nateq(&self) -> assert_cmd::Command {
        let mut cmd = nateq();
        cmd.env("NATEQ_BASE_URL", self.base_url())
            .env("NATEQ_API_KEY", KEY)
            .args(["--output", "json", "spec", "check", "--contact", CONTACT]);
        cmd
    }

    /// Runs the check; returns the exit code and the JSON report.
    fn check(&self) -> (i32, Value) {
        let output = self.nateq().output().unwrap();
        let (stdout, stderr) = texts(&output);
        let report: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("not a JSON report ({e}): {stdout}\nstderr: {stderr}"));
        (output.status.code().unwrap(), report)
    }
}

/// The faithful answer to a request, then the drift.
async fn answer(
    State(state): State<ServerState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap().to_string());
    let over_long = body.as_object().is_some_and(|fields| {
        fields.iter().any(|(name, value)| {
            let limit = nateq_api::fields::field(name).and_then(|f| f.max_length);
            matches!((limit, value), (Some(limit), Value::String(s)) if s.chars().count() > limit)
        })
    });
    let seen = if authorization.as_deref() != Some(&format!("Bearer {KEY}")) {
        Seen::WrongKey
    } else if id != CONTACT {
        Seen::UnknownId
    } else if over_long {
        Seen::OverLong
    } else if body.as_object().is_some_and(|b| !b.is_empty()) {
        Seen::Restore
    } else {
        Seen::Noop
    };
    state.received.lock().unwrap().push(Received {
        seen,
        body,
        authorization,
    });
    let error = |status: u16, code: &str, details: Value| Answer {
        status,
        content_type: Some("application/json".into()),
        headers: Vec::new(),
        body: json!({
            "success": false,
            "message": null,
            "data": null,
            "error": { "code": code, "message": "refused", "details": details },
            "meta": null
        }),
        raw_body: None,
    };
    let mut answer = match seen {
        Seen::WrongKey => error(401, "UNAUTHORIZED", Value::Null),
        Seen::UnknownId => error(404, "NOT_FOUND", Value::Null),
        Seen::OverLong => error(400, "VALIDATION_ERROR", json!({"fields": ["country"]})),
        Seen::Noop | Seen::Restore => Answer {
            status: 200,
            content_type: Some("application/json; charset=utf-8".into()),
            headers: Vec::new(),
            body: json!({
                "success": true,
                "message": "Contact updated",
                "data": contact(),
                "error": null,
                "meta": null
            }),
            raw_body: None,
        },
    };
    (state.drift)(seen, &mut answer);
    let mut response = match &answer.raw_body {
        Some(raw) => raw.clone().into_response(),
        None => answer.body.to_string().into_response(),
    };
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap();
    let headers = response.headers_mut();
    headers.remove(header::CONTENT_TYPE);
    if let Some(content_type) = &answer.content_type {
        headers.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
    }
    for (name, value) in &answer.headers {
        headers.insert(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    response
}

/// The contact of the faithful server: every property of `Contact`, nested objects too.
fn contact() -> Value {
    json!({
        "id": CONTACT,
        "organizationId": "org_1",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": null,
        "country": "GB",
        "language": "en",
        "position": null,
        "source": "import",
        "avatar": null,
        "channelData": null,
        "externalId": "crm-1",
        "companyId": "co_1",
        "companyName": "Engines",
        "company": { "id": "co_1", "name": "Engines", "domain": "engines.example.com" },
        "doNotContact": false,
        "isAnonymous": false,
        "isPotentialClient": true,
        "whatsappOptedOut": false,
        "whatsappOptedOutAt": null,
        "tags": [{ "id": "tag_1", "name": "vip", "displayName": "VIP", "color": "#f5a623",
                   "organizationId": "org_1", "createdAt": "2026-01-05T09:00:00.000Z",
                   "updatedAt": "2026-01-05T09:00:00.000Z" }],
        "activities": [],
        "createdAt": "2026-01-05T09:00:00.000Z",
        "updatedAt": "2026-11-27T10:00:00.000Z"
    })
}

/// Every finding of the report, over all probes, with the probe's name added.
fn findings(report: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for probe in report["probes"].as_array().unwrap() {
        for finding in probe["findings"].as_array().unwrap() {
            let mut finding = finding.clone();
            finding["probe"] = probe["name"].clone();
            out.push(finding);
        }
    }
    out
}

/// The one finding of the report, which must have exactly one.
fn only_finding(report: &Value) -> Value {
    let all = findings(report);
    assert_eq!(all.len(), 1, "{all:#?}");
    all.into_iter().next().unwrap()
}

/// A probe of the report by name.
fn probe<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no probe {name}"))
}

/// How a probe reports the header `name`: its value, or `None` when absent.
fn header_seen(report: &Value, probe_name: &str, name: &str) -> Option<String> {
    let header = probe(report, probe_name)["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"].as_str().unwrap().eq_ignore_ascii_case(name))
        .unwrap_or_else(|| panic!("header {name} not reported"))
        .clone();
    assert_eq!(header["present"], header.get("value").is_some(), "{header}");
    header["value"].as_str().map(str::to_string)
}

#[test]
fn the_emulator_has_no_drift_and_its_contact_is_left_as_it_was() {
    let emu = Emu::start(3);
    let before = serde_json::to_value(emu.contact("ct_demo_2")).unwrap();
    let output = emu
        .nateq()
        .args([
            "--output",
            "json",
            "spec",
            "check",
            "--contact",
            "ct_demo_2",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["drift"], false, "{report:#}");
    assert_eq!(report["findings"], 0);
    let statuses: Vec<(&str, u64)> = report["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["status"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("noop", 200),
            ("unknown-id", 404),
            ("over-long", 400),
            ("wrong-key", 401)
        ]
    );
    let after = serde_json::to_value(emu.contact("ct_demo_2")).unwrap();
    assert_eq!(before, after, "a probe changed the contact");
}

#[test]
fn the_embedded_emulator_needs_no_setup_and_prints_text() {
    let output = nateq()
        .args(["--emulator", "spec", "check"])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("noop: PUT /contacts/ct_demo_1 {} -> 200 application/json: ok"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "wrong-key: PUT /contacts/ct_demo_1 {} with a key that does not exist -> 401"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("x-request-id absent"), "{stdout}");
    assert!(
        stdout.ends_with("no drift: every response of the 4 probes matches the spec\n"),
        "{stdout}"
    );
}

#[test]
fn a_faithful_server_has_no_drift() {
    let server = DriftServer::faithful();
    let (code, report) = server.check();
    assert_eq!(findings(&report), Vec::<Value>::new());
    assert_eq!(code, 0);
    let seen: Vec<Seen> = server.received().iter().map(|r| r.seen).collect();
    assert_eq!(
        seen,
        [Seen::Noop, Seen::UnknownId, Seen::OverLong, Seen::WrongKey]
    );
    // The over-long probe takes its field and limit from the request schema.
    let over_long = &server.received()[2].body;
    let (name, value) = over_long.as_object().unwrap().iter().next().unwrap();
    let limit = nateq_api::fields::field(name).unwrap().max_length.unwrap();
    assert_eq!(value.as_str().unwrap().chars().count(), limit + 1);
}

#[test]
fn an_undocumented_property_is_found_with_its_type() {
    let server = DriftServer::start(|seen, answer| {
        if seen == Seen::Noop {
            answer.body["data"]["company"]["employees"] = json!(12);
        }
    });
    let (code, report) = server.check();
    let finding = only_finding(&report);
    assert_eq!(finding["kind"], "undocumented-property");
    assert_eq!(finding["probe"], "noop");
    assert_eq!(finding["path"], "/data/company/employees");
    assert_eq!(finding["actual"], "integer 12");
    assert_eq!(finding["line"], line_after("Company:", "properties:"));
    assert_eq!(
        finding["specPointer"],
        "#/components/schemas/Company/properties"
    );
    assert_eq!(code, 8);
}

#[test]
fn a_type_mismatch_is_found() {
    let server = DriftServer::start(|seen, answer| {
        if seen == Seen::Noop {
            answer.body["data"]["createdAt"] = json!(1764547200);
        }
    });
    let (code, report) = server.check();
    let finding = only_finding(&report);
    assert_eq!(finding["kind"], "type-mismatch");
    assert_eq!(finding["path"], "/data/createdAt");
    assert_eq!(finding["spec"], "string, nullable");
    assert_eq!(finding["actual"], "integer 1764547200");
    assert_eq!(finding["line"], line_of("Contact", "createdAt"));
    assert_eq!(code, 8);
}

#[test]
fn a_null_where_the_spec_says_non_null_is_found() {
    let server = DriftServer::start(|seen, answer| {
        if seen == Seen::Noop {
            answer.body["data"]["id"] = Value::Null;
        }
    });
    let (code, report) = server.check();
    let finding = only_finding(&report);
    assert_eq!(finding["kind"], "null-not-allowed");
    assert_eq!(finding["path"], "/data/id");
    assert_eq!(finding["spec"], "string, not nullable");
    assert_eq!(finding["actual"], "null null");
    assert_eq!(finding["line"], line_of("Contact", "id"));
    assert_eq!(code, 8);
}

#[test]
fn a_missing_required_property_is_found() {
    let server = DriftServer::start(|seen, answer| {
        if seen == Seen::UnknownId {
            answer.body.as_object_mut().unwrap().remove("success");
        }
    });
    let (code, report) = server.check();
    let finding = only_finding(&report);
    assert_eq!(finding["kind"], "missing-required");
    assert_eq!(finding["probe"], "unknown-id");
    assert_eq!(finding["path"], "/success");
    assert_eq!(finding["actual"], "absent");
    assert_eq!(finding["status"], 404);
    assert_eq!(finding["line"], line_of("ErrorResponse", "success"));
    assert_eq!(code, 8);
}

#[test]
fn an_undocumented_status_is_found() {
    let server = DriftServer::start(|seen, answer| {
        if seen == Seen::WrongKey {
            answer.status = 402;
        }
    });
    let (code, report) = server.check();
    let finding = only_finding(&report);
    assert_eq!(finding["kind"], "undocumented-status");
    assert_eq!(finding["probe"], "wrong-key");
    assert_eq!(finding["path"], "status");
    assert_eq!(finding["actual"], "402");
    assert_eq!(
        finding["line"],
        line_after("operationId: updateContact", "responses:")
    );
    assert_eq!(code, 8);
}

#[test]
fn a_documented_status_other_than_the_probes_is_found() {
    let server = DriftServer::start(|seen, answer| {
        if seen == Seen::WrongKey {
            answer.status = 403;
        }
    });
    let (code, report) = server.check();
    let finding = only_finding(&report);
    assert_eq!(finding["kind"], "unexpected-status");
    assert_eq!(finding["spec"], "401 (Unauthorized) for this probe");
    assert_eq!(finding["actual"], "403 UNAUTHORIZED");
    assert_eq!(code, 8);
}

#[test]
fn a_wrong_content_type_is_found() {
    let server = DriftServer::start(|seen, answer| {
        if seen == Seen::UnknownId {
            answer.content_type = Some("text/html; charset=utf-8".into());
            answer.raw_body = Some("<html><body>Not Found</body></html>".into());
        }
    });
    let (code, report) = server.check();
    let finding = only_finding(&report);
    assert_eq!(finding["kind"], "content-type");
    assert_eq!(finding["path"], "Content-Type");
    assert_eq!(finding["spec"], "application/json");
    assert_eq!(finding["actual"], "text/html; charset=utf-8");
    assert_eq!(
        probe(&report, "unknown-id")["contentType"],
        "text/html; charset=utf-8"
    );
    assert_eq!(code, 8);
}

#[test]
fn a_body_that_is_not_json_is_found() {
    let server = DriftServer::start(|seen, answer| {
        if seen == Seen::OverLong {
            answer.raw_body = Some("Bad Request".into());
        }
    });
    let (code, report) = server.check();
    let finding = only_finding(&report);
    assert_eq!(finding["kind"], "invalid-json");
    assert_eq!(finding["probe"], "over-long");
    assert!(
        finding["actual"]
            .as_str()
            .unwrap()
            .ends_with(": Bad Request"),
        "{finding}"
    );
    assert_eq!(code, 8);
}

#[test]
fn retry_after_is_reported_present_or_absent() {
    let server = DriftServer::start(|seen, answer| {
        if seen == Seen::UnknownId {
            answer.headers.push(("Retry-After".into(), "7".into()));
        }
    });
    let (code, report) = server.check();
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        header_seen(&report, "unknown-id", "Retry-After").as_deref(),
        Some("7")
    );
    assert_eq!(header_seen(&report, "noop", "Retry-After"), None);
}

#[test]
fn rate_limit_headers_are_reported_present_or_absent() {
    let server = DriftServer::start(|seen, answer| {
        if seen == Seen::Noop {
            for (name, value) in [
                ("X-RateLimit-Limit", "100"),
                ("X-RateLimit-Remaining", "99"),
                ("X-RateLimit-Reset", "60"),
                ("X-RateLimit-Policy", "100;w=60"),
            ] {
                answer.headers.push((name.into(), value.into()));
            }
        }
    });
    let (code, report) = server.check();
    assert_eq!(code, 0, "{report:#}");
    for (name, value) in [
        ("X-RateLimit-Limit", "100"),
        ("X-RateLimit-Remaining", "99"),
        ("X-RateLimit-Reset", "60"),
        ("x-ratelimit-policy", "100;w=60"),
    ] {
        assert_eq!(
            header_seen(&report, "noop", name).as_deref(),
            Some(value),
            "{name}"
        );
    }
    for name in [
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
    ] {
        assert_eq!(header_seen(&report, "wrong-key", name), None, "{name}");
    }
}

#[test]
fn x_request_id_is_reported_present_or_absent() {
    let server = DriftServer::start(|seen, answer| {
        if seen != Seen::WrongKey {
            answer
                .headers
                .push(("x-request-id".into(), format!("req_{seen:?}")));
        }
    });
    let (code, report) = server.check();
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        header_seen(&report, "noop", "x-request-id").as_deref(),
        Some("req_Noop")
    );
    assert_eq!(
        header_seen(&report, "over-long", "x-request-id").as_deref(),
        Some("req_OverLong")
    );
    assert_eq!(header_seen(&report, "wrong-key", "x-request-id"), None);
}

#[test]
fn a_throttled_probe_is_checked_waited_out_and_sent_again() {
    let throttled = Arc::new(Mutex::new(false));
    let server = DriftServer::start(move |seen, answer| {
        let mut once = throttled.lock().unwrap();
        if seen == Seen::UnknownId && !*once {
            *once = true;
            answer.status = 429;
            answer.body["error"]["code"] = json!("RATE_LIMITED");
            answer.headers.push(("Retry-After".into(), "soon".into()));
        }
    });
    let (code, report) = server.check();
    let finding = only_finding(&report);
    // The 429's Retry-After is documented as an integer: "soon" is drift.
    assert_eq!(finding["kind"], "header");
    assert_eq!(finding["path"], "header Retry-After");
    assert_eq!(finding["status"], 429);
    assert_eq!(finding["actual"], "\"soon\"");
    assert_eq!(finding["spec"], "integer, not nullable, minimum 0");
    let unknown = probe(&report, "unknown-id");
    assert_eq!(unknown["throttled"], 1);
    assert_eq!(unknown["status"], 404);
    let seen: Vec<Seen> = server.received().iter().map(|r| r.seen).collect();
    assert_eq!(
        seen,
        [
            Seen::Noop,
            Seen::UnknownId,
            Seen::UnknownId,
            Seen::OverLong,
            Seen::WrongKey
        ]
    );
    assert_eq!(code, 8);
}

#[test]
fn an_accepted_over_long_value_is_drift_and_the_previous_value_is_put_back() {
    let server = DriftServer::start(|seen, answer| {
        if seen == Seen::OverLong {
            *answer = Answer {
                status: 200,
                content_type: Some("application/json".into()),
                headers: Vec::new(),
                body: json!({ "success": true, "data": contact() }),
                raw_body: None,
            };
        }
    });
    let (code, report) = server.check();
    let finding = only_finding(&report);
    assert_eq!(finding["kind"], "unexpected-status");
    assert_eq!(finding["probe"], "over-long");
    assert_eq!(finding["spec"], "400 (BadRequest) for this probe");
    let note = probe(&report, "over-long")["note"].as_str().unwrap();
    assert!(note.contains("previous value was put back"), "{note}");
    let received = server.received();
    let over_long = received.iter().find(|r| r.seen == Seen::OverLong).unwrap();
    let field = over_long
        .body
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let restore = received.iter().find(|r| r.seen == Seen::Restore).unwrap();
    assert_eq!(
        restore.body,
        json!({ field.as_str(): contact()[field.as_str()] })
    );
    assert_eq!(code, 8);
}

#[test]
fn an_edited_spec_is_checked_and_its_own_lines_are_named() {
    // The edited copy says `phone` is never null, and has two more lines at the top; the
    // server sends a null phone, as before.
    let dir = tempfile::tempdir().unwrap();
    let nullable_phone = "        phone:\n          type: string\n          nullable: true\n";
    assert!(SPEC.contains(nullable_phone));
    let edited = format!(
        "# An edited copy of the spec.\n# Phone is never null.\n{}",
        SPEC.replacen(
            nullable_phone,
            "        phone:\n          type: string\n",
            1
        )
    );
    let path = support::write(dir.path(), "edited.yaml", &edited);
    let server = DriftServer::faithful();
    let output = server.nateq().arg("--spec").arg(&path).output().unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(8), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["spec"], path.display().to_string());
    let finding = only_finding(&report);
    assert_eq!(finding["kind"], "null-not-allowed");
    assert_eq!(finding["path"], "/data/phone");
    let edited_line = edited
        .lines()
        .enumerate()
        .filter(|(_, l)| *l == "        phone:")
        .map(|(i, _)| i + 1)
        .last()
        .unwrap();
    assert_eq!(finding["line"], edited_line);
    assert_eq!(edited_line, line_of("Contact", "phone") + 2);
}

#[test]
fn text_output_names_the_path_the_spec_what_came_back_and_the_line() {
    let server = DriftServer::start(|seen, answer| {
        if seen == Seen::Noop {
            answer.body["data"]["doNotContact"] = json!("no");
        }
    });
    let output = server
        .nateq()
        .args(["--output", "pretty"])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(8), "{stdout}\n{stderr}");
    let line = line_of("Contact", "doNotContact");
    let expected = format!(
        "  type-mismatch at /data/doNotContact: the spec says boolean, nullable (openapi.yaml:{line}); got string \"no\"\n"
    );
    assert!(stdout.contains(&expected), "{stdout}");
    assert!(
        stdout.contains("\ndrift: 1 finding(s) in 4 probe(s)"),
        "{stdout}"
    );
}

#[test]
fn a_production_key_is_refused_without_yes_and_nothing_is_sent() {
    let server = DriftServer::faithful();
    let output = server
        .nateq()
        .env("NATEQ_API_KEY", "tg_live_secret_123")
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("refusing to probe with a production key"),
        "{stderr}"
    );
    assert!(stderr.contains("every probe is a no-op"), "{stderr}");
    assert!(!stderr.contains("secret_123") && !stdout.contains("secret_123"));
    assert_eq!(server.received().len(), 0);

    // With --yes it runs (this server knows no such key: every probe is a wrong key).
    let output = server
        .nateq()
        .env("NATEQ_API_KEY", "tg_live_secret_123")
        .arg("--yes")
        .output()
        .unwrap();
    assert_eq!(server.received().len(), 4, "{:?}", texts(&output));
}

#[test]
fn the_key_goes_only_to_the_base_url_and_is_never_printed() {
    let server = DriftServer::faithful();
    let output = server
        .nateq()
        .args(["-vvv", "--output", "pretty"])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        !stdout.contains(KEY) && !stderr.contains(KEY),
        "{stdout}\n{stderr}"
    );
    let received = server.received();
    let auth: Vec<Option<&str>> = received
        .iter()
        .map(|r| r.authorization.as_deref())
        .collect();
    let good = format!("Bearer {KEY}");
    assert_eq!(
        auth,
        [
            Some(good.as_str()),
            Some(good.as_str()),
            Some(good.as_str()),
            Some("Bearer tg_test_nateq_spec_check_wrong_key"),
        ]
    );
}

#[test]
fn missing_key_contact_or_server_use_the_existing_exit_codes() {
    let output = nateq()
        .args(["spec", "check", "--contact", CONTACT])
        .env("NATEQ_BASE_URL", "http://127.0.0.1:9/api/v1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(6), "{:?}", texts(&output));

    let output = nateq()
        .args(["spec", "check"])
        .env("NATEQ_API_KEY", KEY)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{:?}", texts(&output));
    assert!(texts(&output).1.contains("--contact ID is required"));

    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = nateq()
        .args(["spec", "check", "--contact", CONTACT])
        .env("NATEQ_API_KEY", KEY)
        .env("NATEQ_BASE_URL", format!("http://127.0.0.1:{port}/api/v1"))
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("probe to http://127.0.0.1:"), "{stderr}");
}

#[test]
fn help_lists_every_probe_sent_and_says_they_are_no_ops() {
    let server = DriftServer::faithful();
    let (_, report) = server.check();
    let names: Vec<&str> = report["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 4);
    let output = nateq().args(["spec", "check", "--help"]).output().unwrap();
    let (help, _) = texts(&output);
    for name in names {
        assert!(
            help.contains(&format!("\n  {name}  ")),
            "{name} missing from:\n{help}"
        );
    }
    assert!(help.contains("The probes, each a no-op"), "{help}");
    assert!(
        help.contains("a production key (tg_live_) is refused unless --yes"),
        "{help}"
    );
    assert!(
        help.contains("Exits 0 without drift, 8 with drift"),
        "{help}"
    );
}
