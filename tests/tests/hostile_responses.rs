//! Hostile responses, table-driven, through both entry points (the concise `update`/`apply` and
//! the generated builder's `send()`, which share one request path): every shape a server, a
//! proxy or a broken network can answer with (status x content type x body, slow drips, wrong `Content-Length`, redirects
//! to another host). Each must end as a documented success or error, never a panic, with the
//! status kept whenever there was one, a body over the response cap refused as soon as it passes
//! the cap, and the key never sent to another host.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use nateq_api::{ContactUpdate, Error};
use support::{KEY, Reply, ScriptServer, error_envelope, json, ok_contact, response};

/// What a case must end as.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Ok,
    Api(u16, Option<&'static str>),
    /// Applied (a 2xx), but the body drifted from the spec.
    Drift(u16),
    Decode(u16),
    TooLarge(u16),
    Redirect(u16),
    Timeout,
    Connection,
}

fn classify<T>(result: &Result<T, Error>) -> Expect {
    match result {
        Ok(_) => Expect::Ok,
        Err(Error::Api(api)) => Expect::Api(
            api.status.as_u16(),
            match api.code.as_deref() {
                Some("NOT_FOUND") => Some("NOT_FOUND"),
                Some("INSUFFICIENT_SCOPE") => Some("INSUFFICIENT_SCOPE"),
                Some("VALIDATION_ERROR") => Some("VALIDATION_ERROR"),
                Some("RATE_LIMITED") => Some("RATE_LIMITED"),
                Some("UNAUTHORIZED") => Some("UNAUTHORIZED"),
                Some("INTERNAL") => Some("INTERNAL"),
                Some("TEAPOT") => Some("TEAPOT"),
                Some("CONFLICT") => Some("CONFLICT"),
                _ => None,
            },
        ),
        Err(Error::ResponseDrift(drift)) => Expect::Drift(drift.status.as_u16()),
        Err(Error::Decode { status, .. }) => Expect::Decode(status.as_u16()),
        Err(Error::ResponseTooLarge { status, .. }) => Expect::TooLarge(status.as_u16()),
        Err(Error::Redirect { status, .. }) => Expect::Redirect(status.as_u16()),
        Err(Error::Timeout { .. }) => Expect::Timeout,
        Err(Error::Connection { .. }) => Expect::Connection,
        Err(other) => panic!("undocumented outcome {other:?}"),
    }
}

/// The same classes for the generated builder's result.
async fn classify_raw(
    result: Result<
        progenitor_client::ResponseValue<nateq_api::types::UpdateContactResponse>,
        progenitor_client::Error<nateq_api::types::ErrorResponse>,
    >,
) -> Expect {
    use progenitor_client::Error as Raw;
    fn code(e: Option<nateq_api::types::ApiError>) -> Option<&'static str> {
        let code = e.and_then(|e| e.code)?;
        [
            "NOT_FOUND",
            "INSUFFICIENT_SCOPE",
            "VALIDATION_ERROR",
            "RATE_LIMITED",
            "UNAUTHORIZED",
            "INTERNAL",
            "TEAPOT",
            "CONFLICT",
        ]
        .into_iter()
        .find(|c| *c == code)
    }
    fn transport(e: &reqwest::Error) -> Expect {
        let mut source: Option<&dyn std::error::Error> = Some(e);
        while let Some(s) = source {
            if s.to_string().contains("byte limit") {
                return Expect::TooLarge(e.status().map_or(0, |s| s.as_u16()));
            }
            source = s.source();
        }
        if e.is_timeout() {
            Expect::Timeout
        } else {
            Expect::Connection
        }
    }
    match result {
        Ok(value) => {
            let status = value.status().as_u16();
            let envelope = value.into_inner();
            match (envelope.success, envelope.data) {
                (false, _) => Expect::Api(status, code(envelope.error)),
                (true, Some(_)) => Expect::Ok,
                (true, None) => Expect::Decode(status),
            }
        }
        Err(Raw::ErrorResponse(value)) => {
            Expect::Api(value.status().as_u16(), code(value.into_inner().error))
        }
        Err(Raw::UnexpectedResponse(response)) => {
            // The response handed on keeps the URL it came from.
            assert!(
                response.url().path().contains("/contacts/"),
                "{}",
                response.url()
            );
            let status = response.status();
            if status.is_redirection() {
                return Expect::Redirect(status.as_u16());
            }
            match response.bytes().await {
                Ok(body) => {
                    match serde_json::from_slice::<nateq_api::types::ErrorResponse>(&body) {
                        Ok(envelope) => Expect::Api(status.as_u16(), code(envelope.error)),
                        Err(_) => Expect::Decode(status.as_u16()),
                    }
                }
                Err(e) => transport(&e),
            }
        }
        // The generated error carries no status: 0 stands for "some status".
        Err(Raw::InvalidResponsePayload(..)) => Expect::Decode(0),
        Err(Raw::CommunicationError(e) | Raw::ResponseBodyError(e)) => transport(&e),
        Err(other) => panic!("undocumented builder outcome {other:?}"),
    }
}

/// Whether the builder's class matches the concise API's (whose statuses are always known).
/// The builder returns the generated error, which cannot tell a drifted 2xx from any other
/// body it cannot decode.
fn same_class(builder: Expect, concise: Expect) -> bool {
    match (builder, concise) {
        (Expect::Decode(0), Expect::Decode(_) | Expect::Drift(_))
        | (Expect::TooLarge(0), Expect::TooLarge(_)) => true,
        (Expect::Decode(b), Expect::Drift(c)) => b == c,
        (b, c) => b == c,
    }
}

/// What `apply` ends as: the same as `update`, except that it reads only the envelope, so a
/// contact that drifted in an envelope that did not is a success.
fn apply_class(name: &str, update: Expect) -> Expect {
    const CONTACT_ONLY: [&str; 3] = [
        "200 data of the wrong type",
        "200 contact without id",
        "200 without data",
    ];
    if CONTACT_ONLY.contains(&name) {
        assert_eq!(update, Expect::Drift(200), "{name}");
        Expect::Ok
    } else {
        update
    }
}

fn raw(text: &str) -> Reply {
    Reply::Raw(text.as_bytes().to_vec())
}

const CAP: usize = 256 * 1024;

fn cases(other_host: &str) -> Vec<(&'static str, Reply, Expect)> {
    let huge = format!(
        r#"{{"success":true,"data":{{"id":"ct_1","name":"{}"}}}}"#,
        "x".repeat(CAP * 4)
    );
    let ok_body = r#"{"success":true,"data":{"id":"ct_1","name":"Ada"}}"#;
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let envelope_418 = r#"{"success":false,"error":{"code":"TEAPOT","message":"short and stout"}}"#;
    vec![
        ("200 envelope", ok_contact("ct_1", "Ada"), Expect::Ok),
        ("200 json as text/plain", response(200, "text/plain", ok_body, &[]), Expect::Ok),
        ("200 json without content type", raw(&format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{ok_body}", ok_body.len())), Expect::Ok),
        ("200 html", response(200, "text/html", "<html>hi</html>", &[]), Expect::Drift(200)),
        ("200 empty body", response(200, "application/json", "", &[]), Expect::Drift(200)),
        ("200 truncated json", response(200, "application/json", r#"{"success":true,"data":{"id""#, &[]), Expect::Drift(200)),
        ("200 json array", response(200, "application/json", "[1,2,3]", &[]), Expect::Drift(200)),
        ("200 json null", response(200, "application/json", "null", &[]), Expect::Drift(200)),
        ("200 data of the wrong type", json(200, &serde_json::json!({"success": true, "data": "ct_1"})), Expect::Drift(200)),
        ("200 contact without id", json(200, &serde_json::json!({"success": true, "data": {"name": "x"}})), Expect::Drift(200)),
        ("200 without success", json(200, &serde_json::json!({"data": {"id": "ct_1"}})), Expect::Drift(200)),
        ("200 without data", json(200, &serde_json::json!({"success": true})), Expect::Drift(200)),
        ("200 success false", json(200, &serde_json::json!({"success": false, "error": {"code": "CONFLICT", "message": "no"}})), Expect::Api(200, Some("CONFLICT"))),
        ("200 invalid utf-8", Reply::Raw([b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4\r\nconnection: close\r\n\r\n".as_slice(), &[0xff, 0xfe, 0xfd, 0xfc]].concat()), Expect::Drift(200)),
        ("200 nested 100k deep", response(200, "application/json", &nested, &[]), Expect::Drift(200)),
        ("200 huge with content-length", response(200, "application/json", &huge, &[]), Expect::TooLarge(200)),
        ("200 huge streamed", Reply::Drip { head: b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n".to_vec(), pieces: huge.as_bytes().chunks(64 * 1024).map(<[u8]>::to_vec).collect(), pause: Duration::from_millis(1) }, Expect::TooLarge(200)),
        ("200 slow drip within the timeout", Reply::Drip { head: format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", ok_body.len()).into_bytes(), pieces: ok_body.as_bytes().chunks(10).map(<[u8]>::to_vec).collect(), pause: Duration::from_millis(20) }, Expect::Ok),
        ("200 slow drip past the timeout", Reply::Drip { head: format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", ok_body.len()).into_bytes(), pieces: ok_body.as_bytes().chunks(4).map(<[u8]>::to_vec).collect(), pause: Duration::from_millis(400) }, Expect::Timeout),
        ("200 content-length longer than the body", raw(&format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{ok_body}", ok_body.len() + 50)), Expect::Connection),
        ("200 content-length shorter than the body", raw(&format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 20\r\nconnection: close\r\n\r\n{ok_body}")), Expect::Drift(200)),
        ("204 no content", raw("HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n"), Expect::Drift(204)),
        ("400 envelope", error_envelope(400, "VALIDATION_ERROR", "name too long"), Expect::Api(400, Some("VALIDATION_ERROR"))),
        ("401 envelope", error_envelope(401, "UNAUTHORIZED", "bad key"), Expect::Api(401, Some("UNAUTHORIZED"))),
        ("403 insufficient scope", error_envelope(403, "INSUFFICIENT_SCOPE", "needs contacts:write"), Expect::Api(403, Some("INSUFFICIENT_SCOPE"))),
        ("404 envelope", error_envelope(404, "NOT_FOUND", "contact ct_1 not found"), Expect::Api(404, Some("NOT_FOUND"))),
        ("404 html", response(404, "text/html", "<h1>Not Found</h1>", &[]), Expect::Decode(404)),
        ("418 undocumented status with an envelope", response(418, "application/json", envelope_418, &[]), Expect::Api(418, Some("TEAPOT"))),
        ("422 envelope with details", error_envelope(422, "VALIDATION_ERROR", "unknown company"), Expect::Api(422, Some("VALIDATION_ERROR"))),
        ("429 with retry-after", response(429, "application/json", r#"{"success":false,"error":{"code":"RATE_LIMITED","message":"slow"}}"#, &[("retry-after", "0")]), Expect::Api(429, Some("RATE_LIMITED"))),
        ("429 with a bogus retry-after", response(429, "application/json", r#"{"success":false,"error":{"code":"RATE_LIMITED","message":"slow"}}"#, &[("retry-after", "whenever")]), Expect::Api(429, Some("RATE_LIMITED"))),
        ("500 envelope", error_envelope(500, "INTERNAL", "boom"), Expect::Api(500, Some("INTERNAL"))),
        ("502 html from a proxy", response(502, "text/html", "<html><body><h1>502 Bad Gateway</h1></body></html>", &[]), Expect::Decode(502)),
        ("503 empty body", response(503, "text/plain", "", &[]), Expect::Decode(503)),
        ("504 text", response(504, "text/plain", "upstream timed out", &[]), Expect::Decode(504)),
        ("301 to another host", response(301, "text/html", "moved", &[("location", other_host)]), Expect::Redirect(301)),
        ("307 to another host", response(307, "text/plain", "", &[("location", other_host)]), Expect::Redirect(307)),
        ("302 without location", response(302, "text/plain", "", &[]), Expect::Redirect(302)),
        ("connection dropped", Reply::Drop, Expect::Connection),
        ("stalled", Reply::Stall(Duration::from_secs(5)), Expect::Timeout),
        ("not http at all", raw("SSH-2.0-OpenSSH_9.6\r\n"), Expect::Connection),
        ("status line only", raw("HTTP/1.1 200 OK\r\n"), Expect::Connection),
    ]
}

#[tokio::test]
async fn every_hostile_response_ends_as_a_documented_outcome() {
    let elsewhere = ScriptServer::start(vec![ok_contact("ct_1", "stolen")]).await;
    let other_host = format!(
        "http://localhost:{}/api/v1/contacts/ct_1",
        elsewhere.addr.port()
    );
    let cases = cases(&other_host);
    // The README gives this count: change both together.
    assert_eq!(cases.len(), 42);
    let mut failures = Vec::new();
    for (name, reply, expect) in cases {
        let throttled = matches!(expect, Expect::Api(429, _));
        let server = ScriptServer::start(vec![reply]).await;
        // One client per entry point: a throttled client slows down as a whole, and each entry
        // point must meet the case afresh.
        let fresh = || {
            support::builder(&server.base_url())
                .timeout(Duration::from_secs(1))
                // A 429 is retried until the deadline whatever the retry policy: keep it short.
                .total_timeout(Duration::from_millis(1500))
                .retry_policy(nateq_api::RetryPolicy::none())
                .max_response_bytes(CAP)
                .build()
                .unwrap()
        };
        let result = fresh()
            .contacts()
            .update("ct_1", ContactUpdate::new().name("Ada"))
            .await;
        let got = classify(&result);
        // `apply` must end the same way, but for a drifted contact, which it does not read.
        let applied = fresh()
            .contacts()
            .apply("ct_1", ContactUpdate::new().name("Ada"))
            .await;
        let got_applied = classify(&applied.result);
        if got_applied != apply_class(name, got) {
            failures.push(format!(
                "{name}: update gave {got:?} but apply gave {got_applied:?}"
            ));
        }
        // The generated builder goes through the same path and must end the same way too.
        let sent_before = server.requests().len();
        let built = fresh()
            .update_contact()
            .id("ct_1")
            .body(ContactUpdate::new().name("Ada").into_request().unwrap())
            .send()
            .await;
        let got_built = classify_raw(built).await;
        if !same_class(got_built, got) {
            failures.push(format!(
                "{name}: update gave {got:?} but the builder gave {got_built:?}"
            ));
        }
        if got != expect {
            let shown = format!("{result:?}");
            failures.push(format!(
                "{name}: expected {expect:?}, got {got:?} ({shown:.300})"
            ));
        }
        if let Err(e) = &result {
            let text = format!("{e} {e:?}");
            assert!(!text.contains(KEY), "{name}: key in error");
            // The status is kept whenever a response arrived.
            let had_status = matches!(
                expect,
                Expect::Api(..)
                    | Expect::Drift(_)
                    | Expect::Decode(_)
                    | Expect::TooLarge(_)
                    | Expect::Redirect(_)
            );
            // A 2xx was applied, whatever its body; nothing else was.
            let was_applied = matches!(expect, Expect::Drift(_) | Expect::TooLarge(200));
            assert_eq!(e.is_applied(), was_applied, "{name}: is_applied()");
            assert_eq!(
                e.status().is_some(),
                had_status,
                "{name}: status() = {:?}",
                e.status()
            );
            // Snippets are bounded whatever the body size.
            let snippet = match e {
                Error::Decode { snippet, .. } => Some(snippet),
                Error::ResponseDrift(drift) => Some(&drift.snippet),
                _ => None,
            };
            if let Some(snippet) = snippet {
                assert!(
                    snippet.len() <= 200 * 3,
                    "{name}: snippet of {} bytes",
                    snippet.len()
                );
            }
        }
        let sent = server.requests().len();
        if throttled {
            // Throttling is retried (until the deadline) on both entry points alike.
            assert!(
                applied.attempts > 1 && applied.throttled == applied.attempts,
                "{name}: {applied:?}"
            );
            assert!(
                sent - sent_before > 1,
                "{name}: the builder did not retry the 429"
            );
        } else {
            assert_eq!(sent, 3, "{name}: retries were off");
        }
    }
    assert!(
        elsewhere.requests().is_empty(),
        "a redirect was followed to another host"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
