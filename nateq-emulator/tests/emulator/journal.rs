//! The request journal: what is recorded, in which order, filters, clearing, the ring's bound.

use nateq_emulator::{Emulator, FaultConfig, FaultKind, JournalEntry, MAX_JOURNAL_BODY_BYTES};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Reply, start, start_with};

fn summary(entries: &[JournalEntry]) -> Vec<(Option<u16>, Option<&str>, Option<&str>)> {
    entries
        .iter()
        .map(|e| (e.status, e.error_code.as_deref(), e.key_id.as_deref()))
        .collect()
}

#[tokio::test]
async fn records_successes_rejections_and_faults_in_order() {
    let h = start().await;
    let key = h.emu.api_key().to_owned();
    h.put("ct_demo_1", r#"{"name":"Ada"}"#).await.ok();
    h.put_as("tg_test_not_a_key", "ct_demo_1", "{}")
        .await
        .err(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    h.put("ct_demo_2", "oops")
        .await
        .err(StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    h.put("ct_nope", "{}")
        .await
        .err(StatusCode::NOT_FOUND, "NOT_FOUND");
    h.put("ct_demo_1", &"x".repeat(70 * 1024))
        .await
        .err(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE");
    h.emu.set_rate_limit(Some(1)).unwrap();
    h.put("ct_demo_3", "{}").await.ok();
    h.put("ct_demo_3", "{}")
        .await
        .err(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    h.emu.set_rate_limit(None).unwrap();
    h.emu
        .set_faults(FaultConfig::new(1.0, [FaultKind::ServiceUnavailable]))
        .unwrap();
    h.put("ct_demo_4", r#"{"source":"s"}"#)
        .await
        .err(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE");
    h.emu.set_faults(FaultConfig::default()).unwrap();
    // Neither the admin API nor the health check is journaled.
    h.admin_get("contacts").await;
    h.http.get(h.admin("health")).send().await.unwrap();

    let reply = h.admin_get("requests").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(!reply.body.contains(&key), "a secret in the journal");
    assert!(
        !reply.body.contains("tg_test_not_a_key"),
        "a key in the journal"
    );
    let listed: Vec<JournalEntry> = serde_json::from_str(&reply.body).unwrap();
    // In-process, every journal: the 401 belongs to no organisation, so no key lists it.
    let entries = h.emu.requests();
    assert_eq!(entries[1].status, Some(401));
    assert_eq!(entries[1].organization_id, None);
    let mut without_401 = entries.clone();
    without_401.remove(1);
    assert_eq!(listed, without_401);
    assert!(
        listed
            .iter()
            .all(|e| e.organization_id.as_deref() == Some("org_demo"))
    );
    let full = Some("key_demo_full");
    assert_eq!(
        summary(&entries),
        [
            (Some(200), None, full),
            (Some(401), Some("UNAUTHORIZED"), None),
            (Some(400), Some("VALIDATION_ERROR"), full),
            (Some(404), Some("NOT_FOUND"), full),
            (Some(413), Some("PAYLOAD_TOO_LARGE"), full),
            (Some(200), None, full),
            (Some(429), Some("RATE_LIMITED"), full),
            (Some(503), Some("SERVICE_UNAVAILABLE"), full),
        ]
    );
    let first = &entries[0];
    assert_eq!(first.method, "PUT");
    assert_eq!(first.path, "/api/v1/contacts/ct_demo_1");
    assert_eq!(first.contact_id.as_deref(), Some("ct_demo_1"));
    assert_eq!(first.body, Some(json!({ "name": "Ada" })));
    assert_eq!(first.fault, None);
    // The body as text when it is not JSON; not read at all for a 401 or a 413 by length.
    assert_eq!(entries[2].body, Some(Value::from("oops")));
    assert_eq!(
        (entries[1].body.as_ref(), entries[4].body.as_ref()),
        (None, None)
    );
    assert_eq!(entries[7].fault.as_deref(), Some("503"));
    // Refused by the rate limit or a fault: the body is still journaled.
    assert_eq!(entries[6].body, Some(json!({})));
    assert_eq!(entries[7].body, Some(json!({ "source": "s" })));
    for entry in &entries {
        let at = humantime::parse_rfc3339(&entry.received_at);
        assert!(at.is_ok(), "{}", entry.received_at);
    }
    let times: Vec<_> = entries.iter().map(|e| e.received_at.clone()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    // The JSON shape, property names included.
    let raw = reply.json();
    let names: Vec<&str> = raw[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names,
        [
            "body",
            "bodyTruncated",
            "contactId",
            "durationMs",
            "errorCode",
            "fault",
            "keyId",
            "method",
            "organizationId",
            "path",
            "receivedAt",
            "status"
        ]
    );
}

#[tokio::test]
async fn filters_limit_and_clear() {
    let h = start().await;
    for id in [
        "ct_demo_1",
        "ct_demo_2",
        "ct_demo_1",
        "ct_demo_3",
        "ct_demo_1",
    ] {
        h.put(id, &format!(r#"{{"source":"{id}"}}"#)).await.ok();
    }
    let ids = |reply: Reply| -> Vec<String> {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let entries: Vec<JournalEntry> = serde_json::from_str(&reply.body).unwrap();
        entries.into_iter().map(|e| e.contact_id.unwrap()).collect()
    };
    assert_eq!(
        ids(h.admin_get("requests?limit=2").await),
        ["ct_demo_3", "ct_demo_1"]
    );
    assert_eq!(
        ids(h.admin_get("requests?contactId=ct_demo_1").await).len(),
        3
    );
    assert_eq!(
        ids(h.admin_get("requests?contactId=ct_demo_2&limit=5").await),
        ["ct_demo_2"]
    );
    assert!(ids(h.admin_get("requests?limit=0").await).is_empty());

    for (query, field) in [
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("contact=ct_demo_1", "contact"),
    ] {
        let reply = h.admin_get(&format!("requests?{query}")).await;
        reply.err(StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
        assert_eq!(reply.detail_fields(), [field], "{query}");
    }

    let cleared = h.admin_send(Method::DELETE, "requests", None).await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    assert!(ids(h.admin_get("requests").await).is_empty());
    h.put("ct_demo_2", "{}").await.ok();
    assert_eq!(h.emu.requests().len(), 1);
    h.emu.clear_requests();
    assert!(h.emu.requests().is_empty());

    // The journal needs a key like the rest of the admin API.
    let reply = Reply::read(h.http.get(h.admin("requests")).send().await.unwrap()).await;
    reply.err(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
}

#[tokio::test]
async fn the_ring_keeps_the_last_n() {
    let h = start_with(Emulator::builder().journal(2)).await;
    for i in 1..=4 {
        h.put("ct_demo_1", &format!(r#"{{"source":"s{i}"}}"#))
            .await
            .ok();
    }
    let bodies: Vec<Value> = h
        .emu
        .requests()
        .into_iter()
        .map(|e| e.body.unwrap())
        .collect();
    assert_eq!(
        bodies,
        [json!({ "source": "s3" }), json!({ "source": "s4" })]
    );

    let off = start_with(Emulator::builder().journal(0)).await;
    off.put("ct_demo_1", "{}").await.ok();
    assert!(off.emu.requests().is_empty());
}

#[tokio::test]
async fn long_bodies_are_kept_truncated_and_unknown_routes_are_journaled() {
    let h = start().await;
    let long = format!(r#"{{"name":"{}"}}"#, "a".repeat(MAX_JOURNAL_BODY_BYTES));
    h.put("ct_demo_1", &long)
        .await
        .err(StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    let reply = Reply::read(
        h.http
            .get(format!("{}/contacts/ct_demo_1", h.emu.base_url()))
            .bearer_auth(h.emu.api_key())
            .send()
            .await
            .unwrap(),
    )
    .await;
    reply.err(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
    let entries = h.emu.requests();
    assert_eq!(entries.len(), 2);
    assert!(entries[0].body_truncated);
    assert_eq!(
        entries[0].body,
        Some(Value::String(long[..MAX_JOURNAL_BODY_BYTES].to_owned()))
    );
    assert_eq!(
        (
            entries[1].method.as_str(),
            entries[1].status,
            entries[1].key_id.as_deref()
        ),
        ("GET", Some(405), Some("key_demo_full"))
    );
}

#[tokio::test]
async fn a_dropped_connection_is_journaled_without_a_status() {
    let h = start_with(Emulator::builder().faults(FaultConfig::new(1.0, [FaultKind::Drop]))).await;
    let result = h
        .http
        .put(h.url("ct_demo_1"))
        .bearer_auth(h.emu.api_key())
        .header("content-type", "application/json")
        .body(r#"{"name":"Dropped"}"#)
        .send()
        .await;
    assert!(result.is_err());
    let entries = h.emu.requests();
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!((entry.status, entry.fault.as_deref()), (None, Some("drop")));
    assert_eq!(entry.body, Some(json!({ "name": "Dropped" })));
}

#[tokio::test]
async fn a_client_that_gives_up_during_a_stall_is_journaled_without_a_status() {
    let stall = FaultConfig::new(1.0, [FaultKind::Stall]).stall(std::time::Duration::from_secs(60));
    let h = start_with(Emulator::builder().faults(stall)).await;
    let error = h
        .http
        .put(h.url("ct_demo_1"))
        .bearer_auth(h.emu.api_key())
        .header("content-type", "application/json")
        .body("{}")
        .timeout(std::time::Duration::from_millis(200))
        .send()
        .await
        .expect_err("the request stalls");
    assert!(error.is_timeout(), "{error:?}");
    // The server notices the closed connection on its own time: yield until it has.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while h.emu.requests().is_empty() {
        assert!(std::time::Instant::now() < deadline, "not journaled");
        tokio::task::yield_now().await;
    }
    let entry = &h.emu.requests()[0];
    assert_eq!(
        (entry.status, entry.fault.as_deref()),
        (None, Some("stall"))
    );
}
