//! The SDK against a real HTTP server on `127.0.0.1:0` that records what it received:
//! the request on the wire, retries, timeouts, decoding, error mapping and key hygiene.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use nateq_api::types::{ContactType, UpdateContactRequest};
use nateq_api::{ContactUpdate, Error, Problem};
use support::{KEY, Reply, ScriptServer, client, error_envelope, json, ok_contact, response};

/// The update most tests send: set `name` of `ct_1` to `x`.
async fn update_x(client: &nateq_api::Client) -> Result<nateq_api::types::Contact, Error> {
    client
        .contacts()
        .update("ct_1", ContactUpdate::new().name("x"))
        .await
}

/// A 429 with the API's `RATE_LIMITED` envelope and these headers.
fn rate_limited(headers: &[(&str, &str)]) -> Reply {
    response(
        429,
        "application/json",
        r#"{"success":false,"error":{"code":"RATE_LIMITED","message":"slow down"}}"#,
        headers,
    )
}

#[tokio::test]
async fn generated_builder_sends_put_with_bearer_json_and_only_the_set_fields() {
    let server = ScriptServer::start(vec![ok_contact("ct_1", "Ada")]).await;
    let client = client(&server.base_url(), 0);
    let response = client
        .update_contact()
        .id("ct_1")
        .body(
            UpdateContactRequest::builder()
                .name(nateq_api::types::UpdateContactRequestName::try_from("Ada").ok())
                .do_not_contact(true)
                .type_(ContactType::Guest),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.into_inner().data.unwrap().name.as_deref(),
        Some("Ada")
    );

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.method, "PUT");
    assert_eq!(r.path, "/api/v1/contacts/ct_1");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        serde_json::json!({"name": "Ada", "doNotContact": true, "type": "guest"})
    );
}

/// The builder takes the SDK's `ContactUpdate` as its body, and a refused id or field is named
/// in its error as the concise API names it; nothing is sent.
#[tokio::test]
async fn the_builder_takes_a_contact_update_and_names_what_it_refuses() {
    let server = ScriptServer::start(vec![ok_contact("ct_1", "Ada")]).await;
    let client = client(&server.base_url(), 0);
    let update = ContactUpdate::new()
        .name("Ada")
        .do_not_contact(true)
        .contact_type("guest");
    let response = client
        .update_contact()
        .id("ct_1")
        .body(update)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].json(),
        serde_json::json!({"name": "Ada", "doNotContact": true, "type": "guest"})
    );

    let limit = nateq_api::fields::field("name")
        .and_then(|f| f.max_length)
        .unwrap();
    let refused = [
        (
            client
                .update_contact()
                .id("a\nb")
                .body(ContactUpdate::new().name("x")),
            "invalid id: control character at position 1".to_owned(),
        ),
        (
            client
                .update_contact()
                .id("..")
                .body(ContactUpdate::new().name("x")),
            "invalid id: `.` and `..` are not contact ids".to_owned(),
        ),
        (
            client
                .update_contact()
                .id("ct_1")
                .body(ContactUpdate::new().name("x".repeat(limit + 1))),
            format!(
                "invalid name: {} characters is longer than the limit of {limit}",
                limit + 1
            ),
        ),
    ];
    for (builder, expected) in refused {
        let err = builder.send().await.unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, progenitor_client::Error::InvalidRequest(_)) && text.contains(&expected),
            "{text:?} does not contain {expected:?}"
        );
    }
    assert_eq!(server.requests().len(), 1, "a refused request was sent");
}

#[tokio::test]
async fn concise_update_sends_the_same_request_and_unwraps_the_envelope() {
    let server = ScriptServer::start(vec![ok_contact("ct_1", "Ada Lovelace")]).await;
    let client = client(&format!("{}/", server.base_url()), 0);
    let contact = client
        .contacts()
        .update(
            "ct_1",
            ContactUpdate::new()
                .name("Ada Lovelace")
                .do_not_contact(true),
        )
        .await
        .unwrap();
    assert_eq!(contact.id, "ct_1");
    assert_eq!(contact.name.as_deref(), Some("Ada Lovelace"));
    let r = &server.requests()[0];
    // A trailing `/` in the base URL is harmless.
    assert_eq!(r.path, "/api/v1/contacts/ct_1");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.header("user-agent").unwrap().starts_with("nateq-rs/"));
    assert_eq!(
        r.json(),
        serde_json::json!({"name": "Ada Lovelace", "doNotContact": true})
    );
}

#[tokio::test]
async fn adversarial_ids_reach_exactly_one_path_segment() {
    let ids = [
        "a/b",
        "../x",
        "%2e%2e",
        "a?b#c",
        "a b",
        "é漢🦀",
        "...",
        "a%2Fb",
        "~user",
    ];
    let server = ScriptServer::start(vec![ok_contact("x", "x")]).await;
    let client = client(&server.base_url(), 0);
    for id in ids {
        client
            .contacts()
            .update(id, ContactUpdate::new().name("x"))
            .await
            .unwrap();
    }
    let requests = server.requests();
    assert_eq!(requests.len(), ids.len());
    for (id, r) in ids.iter().zip(&requests) {
        let segment = r.path.strip_prefix("/api/v1/contacts/").unwrap_or_else(|| {
            panic!("{id:?} reached {}", r.path);
        });
        assert!(!segment.contains('/') && !segment.contains('?') && !segment.contains('#'));
        let decoded = support::percent_decode(segment);
        assert_eq!(&decoded, id, "raw path {}", r.path);
    }
}

#[tokio::test]
async fn ids_that_would_change_the_endpoint_are_refused_before_sending() {
    let server = ScriptServer::start(vec![ok_contact("x", "x")]).await;
    let client = client(&server.base_url(), 0);
    for id in ["", ".", "..", "a\u{0}b", "tab\there", "a\\b"] {
        let err = client
            .contacts()
            .update(id, ContactUpdate::new().name("x"))
            .await
            .unwrap_err();
        let Error::Validation(v) = &err else {
            panic!("{id:?}: {err}")
        };
        assert_eq!(v.field, "id");
    }
    // The generated builder path is guarded too (by the `pre` hook).
    for id in [".", "..", "a\\b"] {
        let err = client
            .update_contact()
            .id(id)
            .body(UpdateContactRequest::default())
            .send()
            .await;
        assert!(err.is_err(), "{id:?} was sent");
    }
    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

#[tokio::test]
async fn validation_names_field_limit_and_length_before_any_io() {
    let server = ScriptServer::start(vec![ok_contact("x", "x")]).await;
    let client = client(&server.base_url(), 0);
    let limit = nateq_api::fields::field("name")
        .and_then(|f| f.max_length)
        .unwrap();
    let err = client
        .contacts()
        .update("ct_1", ContactUpdate::new().name("é".repeat(limit + 1)))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "invalid name: {} characters is longer than the limit of {limit}",
            limit + 1
        )
    );
    let Error::Validation(v) = err else { panic!() };
    assert_eq!(
        v.problem,
        Problem::TooLong {
            limit,
            length: limit + 1
        }
    );
    let err = client
        .contacts()
        .update("ct_1", ContactUpdate::new().contact_type("partner"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Validation(ref v) if v.field == "type"),
        "{err}"
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn two_503s_then_200_succeeds_on_the_third_attempt() {
    let server = ScriptServer::start(vec![
        error_envelope(503, "UNAVAILABLE", "try later"),
        error_envelope(503, "UNAVAILABLE", "try later"),
        ok_contact("ct_1", "Ada"),
    ])
    .await;
    let client = client(&server.base_url(), 2);
    let outcome = client
        .contacts()
        .update_detailed("ct_1", ContactUpdate::new().name("Ada"))
        .await;
    assert_eq!(outcome.result.unwrap().name.as_deref(), Some("Ada"));
    assert_eq!(outcome.attempts, 3);
    assert_eq!(server.requests().len(), 3);
    // The same through the generated builder and the `exec` hook.
    let server = ScriptServer::start(vec![
        error_envelope(503, "UNAVAILABLE", "try later"),
        error_envelope(503, "UNAVAILABLE", "try later"),
        ok_contact("ct_1", "Ada"),
    ])
    .await;
    let client = support::client(&server.base_url(), 2);
    let r = client
        .update_contact()
        .id("ct_1")
        .body(UpdateContactRequest::default())
        .send()
        .await;
    assert_eq!(r.unwrap().status(), 200);
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn retries_give_up_after_the_policy_and_keep_the_last_status() {
    let server = ScriptServer::start(vec![error_envelope(503, "UNAVAILABLE", "down")]).await;
    let client = client(&server.base_url(), 2);
    let err = update_x(&client).await.unwrap_err();
    assert_eq!(server.requests().len(), 3);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(err.code(), Some("UNAVAILABLE"));
    assert!(err.is_retryable());
}

/// Retries wait between attempts: full jitter below an exponential ceiling (50, 100, 200,
/// 400, 400 and 400 ms here), so six retries of a 503 wait over 100 ms in all (the chance that
/// six such waits add up to less is about 2 in 100,000), and no more than the ceilings allow;
/// without a backoff they would follow each other at once.
#[tokio::test]
async fn retries_back_off_between_attempts() {
    let server = ScriptServer::start(vec![error_envelope(503, "UNAVAILABLE", "down")]).await;
    let client = support::builder(&server.base_url())
        .retry_policy(
            nateq_api::RetryPolicy::default()
                .max_retries(6)
                .base_delay(Duration::from_millis(50))
                .max_delay(Duration::from_millis(400)),
        )
        .build()
        .unwrap();
    let started = Instant::now();
    let outcome = client
        .contacts()
        .update_detailed("ct_1", ContactUpdate::new().name("x"))
        .await;
    let elapsed = started.elapsed();
    assert_eq!(outcome.attempts, 7);
    assert_eq!(server.requests().len(), 7);
    assert_eq!(
        outcome.result.unwrap_err().status().map(|s| s.as_u16()),
        Some(503)
    );
    assert!(
        elapsed >= Duration::from_millis(100),
        "no backoff: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = ScriptServer::start(vec![
        rate_limited(&[("retry-after", "1")]),
        ok_contact("ct_1", "Ada"),
    ])
    .await;
    let client = client(&server.base_url(), 2);
    let started = Instant::now();
    client
        .contacts()
        .update("ct_1", ContactUpdate::new().name("Ada"))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_429_that_stays_is_retried_until_the_deadline_without_using_retries() {
    let server = ScriptServer::start(vec![rate_limited(&[
        ("retry-after", "0"),
        ("x-request-id", "req_42"),
    ])])
    .await;
    let client = support::builder(&server.base_url())
        .total_timeout(Duration::from_millis(600))
        .retry_policy(nateq_api::RetryPolicy::default().max_retries(1))
        .build()
        .unwrap();
    let outcome = client
        .contacts()
        .update_detailed("ct_1", ContactUpdate::new().name("x"))
        .await;
    // One retry allowed, yet throttling alone never uses it up: only the deadline ends it.
    assert!(outcome.attempts > 2, "{} attempts", outcome.attempts);
    assert_eq!(outcome.throttled, outcome.attempts);
    assert_eq!(server.requests().len() as u32, outcome.attempts);
    let err = outcome.result.unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err}")
    };
    assert_eq!(api.retry_after, Some(Duration::ZERO));
    assert_eq!(api.request_id.as_deref(), Some("req_42"));
    assert_eq!(
        err.to_string(),
        "429 RATE_LIMITED: slow down (request id req_42)"
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_ends_the_call_instead_of_retrying_early() {
    let server = ScriptServer::start(vec![rate_limited(&[("retry-after", "600")])]).await;
    let client = support::builder(&server.base_url())
        .retry_policy(nateq_api::RetryPolicy::default().max_retry_after(Duration::from_secs(30)))
        .build()
        .unwrap();
    let started = Instant::now();
    let outcome = client
        .contacts()
        .update_detailed("ct_1", ContactUpdate::new().name("x"))
        .await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!((outcome.attempts, outcome.throttled), (1, 1));
    let err = outcome.result.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn the_longest_retry_after_with_the_largest_cap_ends_the_call_without_a_panic() {
    // A cap of Duration::MAX is taken as a day, so a Retry-After of u64::MAX seconds is over it:
    // the call ends with the 429 (a wait that long, added to an Instant, would overflow).
    let server = ScriptServer::start(vec![rate_limited(&[(
        "retry-after",
        "18446744073709551615",
    )])])
    .await;
    let client = support::builder(&server.base_url())
        .retry_policy(nateq_api::RetryPolicy::default().max_retry_after(Duration::MAX))
        .build()
        .unwrap();
    let outcome = client
        .contacts()
        .update_detailed("ct_1", ContactUpdate::new().name("x"))
        .await;
    assert_eq!((outcome.attempts, outcome.throttled), (1, 1));
    let err = outcome.result.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
}

#[tokio::test]
async fn a_retry_after_equal_to_the_cap_is_waited_and_retried() {
    // The cap is the longest wait allowed: a `Retry-After` of exactly the cap is honoured.
    let server = ScriptServer::start(vec![
        rate_limited(&[("retry-after", "1")]),
        ok_contact("ct_1", "x"),
    ])
    .await;
    let client = support::builder(&server.base_url())
        .retry_policy(nateq_api::RetryPolicy::default().max_retry_after(Duration::from_secs(1)))
        .build()
        .unwrap();
    let outcome = client
        .contacts()
        .update_detailed("ct_1", ContactUpdate::new().name("x"))
        .await;
    assert_eq!((outcome.attempts, outcome.throttled), (2, 1));
    outcome.result.unwrap();
}

#[tokio::test]
async fn only_a_429_or_a_503_with_retry_after_is_throttling() {
    // A 500 with `Retry-After` is an error, retried only as errors are (here: not at all).
    let server = ScriptServer::start(vec![
        response(
            500,
            "application/json",
            r#"{"success":false,"error":{"code":"INTERNAL","message":"boom"}}"#,
            &[("retry-after", "0")],
        ),
        ok_contact("ct_1", "x"),
    ])
    .await;
    let outcome = client(&server.base_url(), 0)
        .contacts()
        .update_detailed("ct_1", ContactUpdate::new().name("x"))
        .await;
    assert_eq!((outcome.attempts, outcome.throttled), (1, 0));
    let err = outcome.result.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    // A 503 with `Retry-After` is throttling: waited and retried, using up no retry.
    let server = ScriptServer::start(vec![
        response(
            503,
            "application/json",
            r#"{"success":false,"error":{"code":"UNAVAILABLE","message":"later"}}"#,
            &[("retry-after", "0")],
        ),
        ok_contact("ct_1", "x"),
    ])
    .await;
    let outcome = client(&server.base_url(), 0)
        .contacts()
        .update_detailed("ct_1", ContactUpdate::new().name("x"))
        .await;
    assert_eq!((outcome.attempts, outcome.throttled), (2, 1));
    outcome.result.unwrap();
}

#[tokio::test]
async fn a_400_is_tried_once_and_carries_the_envelope() {
    let server = ScriptServer::start(vec![error_envelope(
        400,
        "VALIDATION_ERROR",
        "name is too long",
    )])
    .await;
    let client = client(&server.base_url(), 2);
    let err = update_x(&client).await.unwrap_err();
    assert_eq!(server.requests().len(), 1);
    let Error::Api(api) = &err else {
        panic!("{err}")
    };
    assert_eq!(api.status, 400);
    assert_eq!(api.code.as_deref(), Some("VALIDATION_ERROR"));
    assert_eq!(api.details, Some(serde_json::json!({"hint": "x"})));
    assert!(!err.is_retryable());
    assert_eq!(err.to_string(), "400 VALIDATION_ERROR: name is too long");
}

#[tokio::test]
async fn a_stalled_server_hits_the_timeout_on_every_attempt() {
    // The SDK's own reqwest client applies the attempt timeout itself; a caller's client
    // (reqwest's defaults: no timeout at all) gets it on every request.
    for own_http in [false, true] {
        let server = ScriptServer::start(vec![Reply::Stall(Duration::from_secs(10))]).await;
        let mut builder = support::builder(&server.base_url())
            .timeout(Duration::from_millis(200))
            .retry_policy(
                nateq_api::RetryPolicy::default()
                    .max_retries(1)
                    .base_delay(Duration::from_millis(1)),
            );
        if own_http {
            builder = builder.http_client(support::raw_http());
        }
        let client = builder.build().unwrap();
        let started = Instant::now();
        let err = update_x(&client).await.unwrap_err();
        assert!(
            matches!(err, Error::Timeout { attempts: 2, .. }),
            "own client {own_http}: {err}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(server.requests().len(), 2);
    }
}

#[tokio::test]
async fn the_overall_deadline_stops_retries() {
    let server = ScriptServer::start(vec![Reply::Stall(Duration::from_secs(10))]).await;
    let client = support::builder(&server.base_url())
        .timeout(Duration::from_secs(5))
        .total_timeout(Duration::from_millis(300))
        .retry_policy(nateq_api::RetryPolicy::default().max_retries(10))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = update_x(&client).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_wait_for_a_paused_client_counts_toward_the_overall_deadline() {
    // The first request is told to wait a second; every later one stalls.
    let server = ScriptServer::start(vec![
        rate_limited(&[("retry-after", "1")]),
        Reply::Stall(Duration::from_secs(30)),
    ])
    .await;
    let client = support::builder(&server.base_url())
        .timeout(Duration::from_secs(20))
        .total_timeout(Duration::from_millis(1500))
        .build()
        .unwrap();
    let contacts = client.contacts();
    let first = contacts.update_detailed("ct_1", ContactUpdate::new().name("a"));
    let second = async {
        // Polled after the first call has taken the slow start's probe, this call waits for
        // the first answer, then for the pause that answer asks for: about a second.
        let started = Instant::now();
        let outcome = contacts
            .update_detailed("ct_2", ContactUpdate::new().name("b"))
            .await;
        (started.elapsed(), outcome)
    };
    let (first, (elapsed, second)) = tokio::join!(first, second);
    assert_eq!(first.throttled, 1);
    assert!(
        matches!(first.result, Err(Error::Timeout { .. })),
        "{:?}",
        first.result
    );
    let err = second.result.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert_eq!(second.attempts, 1);
    // Its 1.5 s started before the wait: ended at 1.5 s, not at the wait plus 1.5 s.
    assert!(
        elapsed >= Duration::from_millis(1400) && elapsed < Duration::from_millis(2100),
        "{elapsed:?}"
    );
}

/// A pause that outlasts what is left of a call's overall deadline ends the call at once as
/// a timeout with nothing sent (not a refused request, not a wait until the deadline).
#[tokio::test]
async fn a_deadline_that_ends_within_a_pause_is_a_timeout_and_sends_nothing() {
    let server = ScriptServer::start(vec![rate_limited(&[("retry-after", "30")])]).await;
    let client = support::builder(&server.base_url())
        .total_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let contacts = client.contacts();
    // The 429's pause ends after the deadline: the call ends with the 429, not retried early.
    let first = contacts
        .update_detailed("ct_1", ContactUpdate::new().name("a"))
        .await;
    let err = first.result.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429), "{err}");
    assert_eq!((first.attempts, first.throttled), (1, 1));
    // The client is paused for 30 s: the next call's 2 s end inside the pause.
    let started = Instant::now();
    let second = contacts
        .update_detailed("ct_2", ContactUpdate::new().name("b"))
        .await;
    assert!(
        matches!(second.result, Err(Error::Timeout { attempts: 0, .. })),
        "{:?}",
        second.result
    );
    assert_eq!(second.attempts, 0);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        server.requests().len(),
        1,
        "nothing is sent during the pause"
    );
}

#[tokio::test]
async fn an_html_502_keeps_its_status_and_shows_the_body() {
    let server = ScriptServer::start(vec![response(
        502,
        "text/html",
        "<html><body>Bad Gateway</body></html>",
        &[],
    )])
    .await;
    let client = client(&server.base_url(), 2);
    let err = update_x(&client).await.unwrap_err();
    assert_eq!(server.requests().len(), 3, "502 is retried");
    let Error::Decode {
        status,
        content_type,
        snippet,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(status.as_u16(), 502);
    assert_eq!(content_type, "text/html");
    assert!(snippet.starts_with("<html><body>Bad Gateway"));
    assert!(
        err.to_string()
            .starts_with("502 Bad Gateway response could not be decoded (text/html)")
    );
}

#[tokio::test]
async fn success_false_is_an_error_and_a_200_without_data_is_applied_with_drift() {
    let server = ScriptServer::start(vec![
        json(200, &serde_json::json!({"success": false, "error": {"code": "CONFLICT", "message": "locked"}})),
        json(200, &serde_json::json!({"success": true, "data": null})),
    ])
    .await;
    let client = client(&server.base_url(), 0);
    let err = update_x(&client).await.unwrap_err();
    assert_eq!(err.to_string(), "200 CONFLICT: locked");
    assert!(!err.is_applied());
    let err = update_x(&client).await.unwrap_err();
    let Error::ResponseDrift(drift) = &err else {
        panic!("{err}")
    };
    assert_eq!(
        (drift.path.as_str(), drift.actual.as_str()),
        ("data", "absent")
    );
    assert_eq!(err.status().map(|s| s.as_u16()), Some(200));
    assert!(err.is_applied() && !err.is_retryable(), "{err}");
    assert_eq!(
        server.requests().len(),
        2,
        "an applied update is not sent again"
    );
}

#[tokio::test]
async fn truncated_json_in_a_200_is_applied_with_drift_and_its_status() {
    let server = ScriptServer::start(vec![response(
        200,
        "application/json",
        r#"{"success":true,"data":{"id":"ct_1","na"#,
        &[("x-request-id", "req_cut")],
    )])
    .await;
    let client = client(&server.base_url(), 2);
    let err = update_x(&client).await.unwrap_err();
    let Error::ResponseDrift(drift) = &err else {
        panic!("{err}")
    };
    assert_eq!(drift.status.as_u16(), 200);
    assert_eq!(drift.path, "");
    assert!(
        drift.actual.starts_with("text that is not JSON"),
        "{drift:?}"
    );
    assert_eq!(err.request_id(), Some("req_cut"));
    assert!(err.is_applied());
    assert_eq!(server.requests().len(), 1, "a 2xx is never retried");
}

/// The API's reference page types every value as a string; the live API may send other types.
/// A 2xx whose contact drifted from the spec is an applied update: `update` names the JSON
/// path with the expected and actual type, `apply` (which reads only the envelope) succeeds.
#[tokio::test]
async fn a_2xx_whose_contact_drifted_is_applied_and_names_the_path() {
    let drifted = |data: serde_json::Value| {
        let body = serde_json::json!({"success": true, "data": data}).to_string();
        response(
            200,
            "application/json",
            &body,
            &[("x-request-id", "req_drift")],
        )
    };
    let cases = [
        (
            serde_json::json!({"id": "ct_1", "createdAt": 1764547200}),
            "data.createdAt",
            "a string",
            "a number (1764547200)",
        ),
        (
            serde_json::json!({"id": "ct_1", "channelData": {"wa": true}}),
            "data.channelData",
            "a string",
            "an object",
        ),
        (
            serde_json::json!({"id": "ct_1", "activities": [{}, {"metadata": {"field": "name"}}]}),
            "data.activities[1].metadata",
            "a string",
            "an object",
        ),
        // A value is shown whole up to 40 characters of JSON, and cut after 40 beyond.
        (
            serde_json::json!({"id": "ct_1", "doNotContact": "only on weekdays and never before nine"}),
            "data.doNotContact",
            "a boolean",
            r#"a string ("only on weekdays and never before nine")"#,
        ),
        (
            serde_json::json!({"id": "ct_1", "isAnonymous": "only on weekdays, and never before nine in the morning"}),
            "data.isAnonymous",
            "a boolean",
            r#"a string ("only on weekdays, and never before nine...)"#,
        ),
        (
            serde_json::json!({"id": null}),
            "data.id",
            "a string",
            "null",
        ),
        (
            serde_json::json!({"name": "no id"}),
            "data.id",
            "a value (the spec requires it)",
            "absent",
        ),
    ];
    for (data, path, expected, actual) in cases {
        let server = ScriptServer::start(vec![drifted(data.clone()), drifted(data.clone())]).await;
        let client = client(&server.base_url(), 2);
        let err = update_x(&client).await.unwrap_err();
        let Error::ResponseDrift(drift) = &err else {
            panic!("{data}: {err}")
        };
        assert_eq!(
            (
                drift.path.as_str(),
                drift.expected.as_str(),
                drift.actual.as_str()
            ),
            (path, expected, actual),
            "{data}"
        );
        assert_eq!(drift.status.as_u16(), 200);
        assert_eq!(drift.request_id.as_deref(), Some("req_drift"));
        assert!(err.is_applied() && !err.is_retryable());
        assert!(
            err.to_string().contains("the update was applied") && err.to_string().contains(path),
            "{err}"
        );
        let serde_json::Value::Object(got) =
            serde_json::from_slice::<serde_json::Value>(drift.body()).unwrap()["data"].clone()
        else {
            panic!("{data}: the body is kept")
        };
        assert_eq!(serde_json::Value::Object(got), data);
        let applied = client
            .contacts()
            .apply("ct_1", ContactUpdate::new().name("x"))
            .await;
        assert!(
            applied.result.is_ok(),
            "{data}: apply gave {:?}",
            applied.result
        );
        assert_eq!(server.requests().len(), 2, "{data}: each call sent once");
    }
}

#[tokio::test]
async fn wrong_content_type_unknown_fields_and_nulls_are_tolerated() {
    let nulls = serde_json::json!({
        "success": true, "message": null, "error": null, "meta": null, "brandNewField": {"x": 1},
        "data": {
            "id": "ct_1", "activities": null, "avatar": null, "channelData": null, "company": null,
            "companyId": null, "companyName": null, "country": null, "createdAt": null,
            "doNotContact": null, "email": null, "externalId": null, "isAnonymous": null,
            "isPotentialClient": null, "language": null, "name": null, "organizationId": null,
            "phone": null, "position": null, "source": null, "tags": null, "updatedAt": null,
            "whatsappOptedOut": null, "whatsappOptedOutAt": null, "futureField": [1, 2, 3]
        }
    });
    let server =
        ScriptServer::start(vec![response(200, "text/plain", &nulls.to_string(), &[])]).await;
    let client = client(&server.base_url(), 0);
    let contact = update_x(&client).await.unwrap();
    assert_eq!(contact.id, "ct_1");
    assert_eq!(contact.name, None);
    assert_eq!(contact.tags, None);
}

/// A body over `max_response_bytes` is refused as soon as it passes the cap: by its
/// `Content-Length` before any of it is read, or, streamed, without reading the rest. Neither
/// body here ends before the attempt's timeout (after its first part, a byte comes every
/// 50 ms), so a client that read on before refusing would end in a timeout, never in
/// `ResponseTooLarge`.
#[tokio::test]
async fn a_huge_body_is_refused_without_reading_the_rest() {
    let limit = 64 * 1024;
    let trickle = |first: Vec<u8>| -> Vec<Vec<u8>> {
        std::iter::once(first)
            .chain(std::iter::repeat_n(b" ".to_vec(), 200))
            .collect()
    };
    // Announced by Content-Length (10 MB, of which only a trickle ever comes)...
    let announced = Reply::Drip {
        head: b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 10000000\r\nconnection: close\r\n\r\n"
            .to_vec(),
        pieces: trickle(b"{".to_vec()),
        pause: Duration::from_millis(50),
    };
    // ...or streamed without one: more than the cap at once, then the trickle.
    let streamed = Reply::Drip {
        head: b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
            .to_vec(),
        pieces: trickle(vec![b' '; limit + 1]),
        pause: Duration::from_millis(50),
    };
    for (name, reply) in [("announced", announced), ("streamed", streamed)] {
        let server = ScriptServer::start(vec![reply]).await;
        let client = support::builder(&server.base_url())
            .max_response_bytes(limit)
            .timeout(Duration::from_secs(1))
            .retry_policy(nateq_api::RetryPolicy::none())
            .build()
            .unwrap();
        let err = update_x(&client).await.unwrap_err();
        assert!(
            matches!(err, Error::ResponseTooLarge { status, limit: l } if status == 200 && l == limit),
            "{name}: {err}"
        );
        assert_eq!(server.requests().len(), 1, "{name}");
    }
}

/// The cap is the largest body allowed: a body of exactly `max_response_bytes` is read, one byte
/// more is refused, whether its length is announced, it comes at once without one, or in two
/// parts.
#[tokio::test]
async fn a_body_of_exactly_the_cap_is_read_and_one_byte_more_is_refused() {
    let body = r#"{"success":true,"message":"Contact updated","error":null,"meta":null,"data":{"id":"ct_1","name":"x","updatedAt":"2026-11-27T10:00:00.000Z"}}"#;
    let unannounced =
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n".to_vec();
    let shapes = || {
        let (first, second) = body.split_at(body.len() / 2);
        [
            ("announced", response(200, "application/json", body, &[])),
            (
                "at once",
                Reply::Raw([unannounced.clone(), body.as_bytes().to_vec()].concat()),
            ),
            (
                "in two parts",
                Reply::Drip {
                    head: unannounced.clone(),
                    pieces: vec![first.as_bytes().to_vec(), second.as_bytes().to_vec()],
                    pause: Duration::from_millis(30),
                },
            ),
        ]
    };
    for limit in [body.len(), body.len() - 1] {
        for (shape, reply) in shapes() {
            let server = ScriptServer::start(vec![reply]).await;
            let client = support::builder(&server.base_url())
                .max_response_bytes(limit)
                .retry_policy(nateq_api::RetryPolicy::none())
                .build()
                .unwrap();
            let result = update_x(&client).await;
            if limit == body.len() {
                assert!(result.is_ok(), "{shape}, cap {limit}: {result:?}");
            } else {
                assert!(
                    matches!(result, Err(Error::ResponseTooLarge { limit: l, .. }) if l == limit),
                    "{shape}, cap {limit}: {result:?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_dropped_connection_is_retried_and_then_reported() {
    let server = ScriptServer::start(vec![Reply::Drop, ok_contact("ct_1", "Ada")]).await;
    let client = client(&server.base_url(), 2);
    let outcome = client
        .contacts()
        .update_detailed("ct_1", ContactUpdate::new().name("Ada"))
        .await;
    assert!(outcome.result.is_ok());
    assert_eq!(outcome.attempts, 2);

    let server = ScriptServer::start(vec![Reply::Drop]).await;
    let client = support::client(&server.base_url(), 1);
    let err = update_x(&client).await.unwrap_err();
    assert!(
        matches!(err, Error::Connection { attempts: 2, .. }),
        "{err}"
    );
    assert!(err.status().is_none() && err.is_retryable());
    // The message carries the transport error and its causes, down to the closed connection.
    let text = err.to_string();
    let url = format!("{}/contacts/ct_1", server.base_url());
    assert!(
        text.starts_with(&format!(
            "connection failed after 2 attempt(s): error sending request for url ({url})"
        )),
        "{text}"
    );
    assert!(
        text.ends_with(": connection closed before message completed"),
        "{text}"
    );
}

#[tokio::test]
async fn redirects_are_not_followed_and_the_key_never_reaches_another_host() {
    let elsewhere = ScriptServer::start(vec![ok_contact("ct_1", "stolen")]).await;
    let target = format!(
        "http://localhost:{}/api/v1/contacts/ct_1",
        elsewhere.addr.port()
    );
    let server = ScriptServer::start(vec![response(
        307,
        "text/plain",
        "",
        &[("location", &target)],
    )])
    .await;
    let client = client(&server.base_url(), 2);
    let err = update_x(&client).await.unwrap_err();
    assert!(
        matches!(err, Error::Redirect { ref location, .. } if location.as_deref() == Some(target.as_str())),
        "{err}"
    );
    assert_eq!(server.requests().len(), 1);
    assert!(elsewhere.requests().is_empty());

    // A caller's own reqwest client follows redirects by default. reqwest strips the
    // Authorization header on the cross-host hop, so the key stays home, and the hooks refuse
    // the answer that came from elsewhere, on both entry points.
    let server = ScriptServer::start(vec![
        response(307, "text/plain", "", &[("location", &target)]),
        response(307, "text/plain", "", &[("location", &target)]),
    ])
    .await;
    let elsewhere_before = elsewhere.requests().len();
    let client = support::builder(&server.base_url())
        .http_client(support::raw_http())
        .build()
        .unwrap();
    let err = update_x(&client).await.unwrap_err();
    assert!(
        matches!(err, Error::Redirect { ref location, .. } if location.as_deref() == Some(target.as_str())),
        "{err}"
    );
    assert!(!err.is_applied() && !err.is_retryable());
    let built = client
        .update_contact()
        .id("ct_1")
        .body(ContactUpdate::new().name("x").into_request().unwrap())
        .send()
        .await;
    let refused = match built {
        Err(e) => {
            let mut chain = Vec::new();
            let mut source: Option<&dyn std::error::Error> = Some(&e);
            while let Some(s) = source {
                chain.push(s.to_string());
                source = s.source();
            }
            chain.join(": ")
        }
        Ok(v) => panic!(
            "the builder took the answer of another host: {:?}",
            v.into_inner()
        ),
    };
    assert!(
        refused.contains("a redirect to") && refused.contains("is refused"),
        "{refused}"
    );
    assert_eq!(server.requests().len(), 2);
    // Both calls reached the other host, so the loop below checks real requests.
    let requests = elsewhere.requests();
    assert_eq!(requests.len() - elsewhere_before, 2);
    for r in &requests {
        assert_eq!(r.header("authorization"), None, "key sent to another host");
    }
}

#[test]
fn plain_http_is_refused_off_loopback_unless_allowed() {
    let build = |url: &str, allow: bool| {
        nateq_api::Client::builder()
            .api_key(KEY)
            .base_url(url)
            .allow_insecure_http(allow)
            .build()
    };
    let err = build("http://api.nateq.io/api/v1", false).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    assert!(err.to_string().contains("plain http"));
    assert!(build("http://api.nateq.io/api/v1", true).is_ok());
    for ok in [
        "http://127.0.0.1:1/api/v1",
        "http://localhost:1/api/v1",
        "http://[::1]:1/api/v1",
        "https://api.nateq.io/api/v1/",
    ] {
        assert!(build(ok, false).is_ok(), "{ok}");
    }
    assert!(matches!(build("ftp://x/api", false), Err(Error::Config(_))));
    assert!(matches!(
        nateq_api::Client::builder().build(),
        Err(Error::Config(_))
    ));
}

#[test]
fn key_environment_is_told_by_prefix_and_the_key_never_shows() {
    for (key, env) in [
        ("tg_live_abc", nateq_api::KeyEnvironment::Production),
        ("tg_test_abc", nateq_api::KeyEnvironment::Sandbox),
        ("custom_abc", nateq_api::KeyEnvironment::Unknown),
    ] {
        let client = nateq_api::Client::builder().api_key(key).build().unwrap();
        assert_eq!(client.key_environment(), env);
        let debug = format!("{client:?}");
        assert!(!debug.contains("abc"), "{debug}");
        let k = nateq_api::ApiKey::new(key);
        assert!(!format!("{k:?} {k}").contains("abc"));
    }
}

/// Every error path, with `RUST_LOG=trace`-level tracing captured: neither the errors'
/// `Debug`/`Display` nor any log line contains the key.
#[tokio::test]
async fn the_key_never_appears_in_errors_or_logs() {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = ScriptServer::start(vec![
        error_envelope(503, "UNAVAILABLE", "down"),
        response(502, "text/html", "<html>oops</html>", &[]),
        Reply::Drop,
        error_envelope(401, "UNAUTHORIZED", "bad key"),
        ok_contact("ct_1", "Ada"),
    ])
    .await;
    let client = client(&server.base_url(), 0);
    let mut seen = String::new();
    for _ in 0..5 {
        match client
            .contacts()
            .update("ct_1", ContactUpdate::new().name("Ada"))
            .await
        {
            Ok(c) => seen.push_str(&format!("{c:?}")),
            Err(e) => seen.push_str(&format!("{e} {e:?} {e:#?}")),
        }
    }
    let r = client
        .update_contact()
        .id("ct_1")
        .body(UpdateContactRequest::default())
        .send()
        .await;
    seen.push_str(&format!("{r:?}"));
    seen.push_str(&format!("{client:?}"));
    let logs = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("nateq.request"),
        "no request spans were logged: {logs}"
    );
    assert!(logs.contains("attempt"), "{logs}");
    let secret = KEY.trim_start_matches("tg_test_");
    assert!(!seen.contains(secret), "key in errors: {seen}");
    assert!(!logs.contains(secret), "key in logs");
    // The key was really sent, so its absence above means something: each of the six calls
    // reached the server (the dropped connection too: it was read before being dropped), and
    // each carried the key.
    let requests = server.requests();
    assert_eq!(requests.len(), 6, "requests that reached the server");
    for r in &requests {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
    }
}

#[test]
fn from_env_reads_key_and_base_url() {
    // Changing the environment of a running test process is `unsafe` in edition 2024 (and
    // racy), so each check runs in a child process of this same test binary, and asserts
    // exactly what its environment implies.
    match std::env::var("NATEQ_FROM_ENV_CHILD").as_deref() {
        Ok("key and url") => {
            let client = nateq_api::Client::from_env().unwrap();
            assert_eq!(client.base_url(), "http://127.0.0.1:9/api/v1");
            assert_eq!(client.key_environment(), nateq_api::KeyEnvironment::Sandbox);
            return;
        }
        Ok("key only") => {
            let client = nateq_api::Client::from_env().unwrap();
            assert_eq!(client.base_url(), nateq_api::DEFAULT_BASE_URL);
            assert_eq!(
                client.key_environment(),
                nateq_api::KeyEnvironment::Production
            );
            return;
        }
        Ok("no key") => {
            let err = nateq_api::Client::from_env().unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{err}");
            assert!(err.to_string().contains("NATEQ_API_KEY"), "{err}");
            return;
        }
        Ok(other) => panic!("unknown child mode {other}"),
        Err(_) => {}
    }
    let cases: [(&str, Option<&str>, Option<&str>); 3] = [
        (
            "key and url",
            Some("tg_test_env"),
            Some("http://127.0.0.1:9/api/v1/"),
        ),
        ("key only", Some("tg_live_env"), None),
        ("no key", None, Some("http://127.0.0.1:9/api/v1")),
    ];
    for (mode, key, url) in cases {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap());
        child
            .args(["--exact", "from_env_reads_key_and_base_url"])
            .env("NATEQ_FROM_ENV_CHILD", mode);
        match key {
            Some(key) => child.env("NATEQ_API_KEY", key),
            None => child.env_remove("NATEQ_API_KEY"),
        };
        match url {
            Some(url) => child.env("NATEQ_BASE_URL", url),
            None => child.env_remove("NATEQ_BASE_URL"),
        };
        let out = child.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{mode}: {stdout}");
        // The child really ran the check (a filter that matched nothing would also succeed).
        assert!(stdout.contains("1 passed"), "{mode}: {stdout}");
    }
}

#[tokio::test]
async fn both_entry_points_send_the_path_method_and_api_version_of_the_spec() {
    let spec: openapiv3::OpenAPI =
        serde_yaml::from_str(include_str!("../../openapi.yaml")).unwrap();
    let mut operations = spec.operations();
    let (template, method, operation) = operations.next().unwrap();
    assert!(operations.next().is_none(), "one operation expected");
    assert_eq!(operation.operation_id.as_deref(), Some("updateContact"));
    let expected_path = format!("/api/v1{}", template.replace("{id}", "ct%201"));
    let server = ScriptServer::start(vec![ok_contact("ct 1", "Ada")]).await;
    let client = client(&server.base_url(), 0);
    client
        .contacts()
        .update("ct 1", ContactUpdate::new().name("Ada"))
        .await
        .unwrap();
    client
        .update_contact()
        .id("ct 1")
        .body(ContactUpdate::new().name("Ada").into_request().unwrap())
        .send()
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(r.method, method.to_uppercase());
        assert_eq!(r.path, expected_path);
        assert_eq!(r.header("api-version"), Some(spec.info.version.as_str()));
        assert_eq!(r.header("accept"), Some("application/json"));
        assert_eq!(r.json(), serde_json::json!({"name": "Ada"}));
    }
}
