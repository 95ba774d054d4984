//! Organisations are isolated in the admin API too: every admin action acts on the caller
//! key's organisation only, changing anything needs `contacts:write`, and a shared emulator's
//! journal, faults and rate limit belong to each organisation.

use nateq_emulator::{Emulator, JournalEntry, StoredContact};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Harness, Reply, start, start_with};

/// The two organisations of the demo seed: `org_demo` (the main key) and `org_other`.
struct Two<'a> {
    h: &'a Harness,
    demo: String,
    other: String,
}

impl Two<'_> {
    async fn get(&self, key: &str, path: &str) -> Reply {
        let reply = self.h.admin_as(key, Method::GET, path, None).await;
        assert_eq!(reply.status, StatusCode::OK, "GET {path}: {}", reply.body);
        reply
    }

    async fn send(&self, key: &str, method: Method, path: &str, body: Option<Value>) -> Reply {
        let body = body.map(|b| b.to_string());
        let reply = self.h.admin_as(key, method, path, body.as_deref()).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
        reply
    }

    async fn journal(&self, key: &str) -> Vec<JournalEntry> {
        serde_json::from_str(&self.get(key, "requests").await.body).unwrap()
    }

    async fn name(&self, key: &str, id: &str) -> Value {
        self.get(key, &format!("contacts/{id}")).await.json()["name"].clone()
    }
}

fn ids(reply: &Reply) -> Vec<String> {
    let list: Vec<StoredContact> = serde_json::from_str(&reply.body).unwrap();
    list.into_iter().map(|c| c.contact.id).collect()
}

/// Two organisations through every admin endpoint: each key sees and changes its own
/// organisation only.
#[tokio::test]
async fn every_admin_action_acts_on_the_callers_organisation_only() {
    let h = start().await;
    let t = Two {
        h: &h,
        demo: h.emu.api_key().to_owned(),
        other: h.emu.other_org_key().unwrap().to_owned(),
    };
    let (demo, other) = (t.demo.as_str(), t.other.as_str());
    h.put_as(demo, "ct_demo_1", r#"{"name":"Demo Private"}"#)
        .await
        .ok();
    h.put_as(other, "ct_other_1", r#"{"name":"Other Private"}"#)
        .await
        .ok();

    // GET /_emulator/contacts and /contacts/{id}.
    assert_eq!(
        ids(&t.get(demo, "contacts").await),
        [
            "ct_demo_1",
            "ct_demo_2",
            "ct_demo_3",
            "ct_demo_4",
            "ct_demo_5"
        ]
    );
    assert_eq!(ids(&t.get(other, "contacts").await), ["ct_other_1"]);
    assert_eq!(t.name(other, "ct_other_1").await, "Other Private");
    for (key, foreign) in [(demo, "ct_other_1"), (other, "ct_demo_1")] {
        h.admin_as(key, Method::GET, &format!("contacts/{foreign}"), None)
            .await
            .err(StatusCode::NOT_FOUND, "NOT_FOUND");
    }

    // GET /_emulator/requests: each organisation's own entries, carrying the organisation;
    // no body of one is ever visible to the other.
    let demo_journal = t.journal(demo).await;
    let other_journal = t.journal(other).await;
    assert_eq!(demo_journal.len(), 1);
    assert_eq!(demo_journal[0].organization_id.as_deref(), Some("org_demo"));
    assert_eq!(
        demo_journal[0].body,
        Some(json!({ "name": "Demo Private" }))
    );
    assert_eq!(other_journal.len(), 1);
    assert_eq!(
        other_journal[0].organization_id.as_deref(),
        Some("org_other")
    );
    let other_text = t.get(other, "requests").await.body;
    assert!(!other_text.contains("Demo Private"), "{other_text}");
    assert!(!t.get(demo, "requests").await.body.contains("Other Private"));

    // DELETE /_emulator/requests empties the caller's journal only.
    t.send(other, Method::DELETE, "requests", None).await;
    assert!(t.journal(other).await.is_empty());
    assert_eq!(t.journal(demo).await.len(), 1);

    // POST /_emulator/reset restores the caller's contacts only.
    t.send(other, Method::POST, "reset", None).await;
    assert_eq!(t.name(other, "ct_other_1").await, "Olivia Other");
    assert_eq!(t.name(demo, "ct_demo_1").await, "Demo Private");

    // PUT /_emulator/faults: the rule fails the caller's requests only.
    t.send(
        other,
        Method::PUT,
        "faults",
        Some(json!({ "rules": [{ "kind": "503", "times": 5 }] })),
    )
    .await;
    assert_eq!(
        t.get(other, "faults").await.json()["rules"][0]["kind"],
        "503"
    );
    assert_eq!(t.get(demo, "faults").await.json()["rules"], json!([]));
    h.put_as(demo, "ct_demo_2", r#"{"name":"Not Faulted"}"#)
        .await
        .ok();
    h.put_as(other, "ct_other_1", r#"{"name":"Faulted"}"#)
        .await
        .err(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE");
    t.send(other, Method::PUT, "faults", Some(json!({}))).await;

    // PUT /_emulator/rate-limit: the caller's organisation is limited, the other is not.
    t.send(
        other,
        Method::PUT,
        "rate-limit",
        Some(json!({ "perSecond": 1 })),
    )
    .await;
    assert_eq!(t.get(other, "rate-limit").await.json()["perSecond"], 1);
    assert_eq!(
        t.get(demo, "rate-limit").await.json()["perSecond"],
        Value::Null
    );
    for _ in 0..3 {
        let reply = h.put_as(demo, "ct_demo_3", r#"{"name":"Unlimited"}"#).await;
        reply.ok();
        assert!(reply.headers.get("x-ratelimit-limit").is_none());
    }
    let first = h.put_as(other, "ct_other_1", r#"{"name":"Limited"}"#).await;
    assert_eq!(first.headers["x-ratelimit-limit"], "1");
    h.put_as(other, "ct_other_1", r#"{"name":"Limited"}"#)
        .await
        .err(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");

    // In-process, each organisation is reached by its id.
    let org = h.emu.organization("org_other").unwrap();
    assert_eq!(org.rate_limit().per_second, Some(1));
    assert_eq!(h.emu.rate_limit().per_second, None);
    assert_eq!(
        org.requests().last().unwrap().error_code.as_deref(),
        Some("RATE_LIMITED")
    );
}

/// Changing anything needs `contacts:write`: a read-only key gets 403 naming the scope, and
/// nothing changes; reading needs `contacts:read`; the health check needs no key.
#[tokio::test]
async fn changing_anything_needs_the_write_scope() {
    let h = start().await;
    let read_only = h.emu.read_only_key().unwrap().to_owned();
    h.put("ct_demo_1", r#"{"name":"Written"}"#).await.ok();
    let before = (
        h.emu.faults(),
        h.emu.rate_limit(),
        h.emu.requests(),
        h.emu.contacts(),
    );
    for (method, path, body) in [
        (
            Method::PUT,
            "faults",
            Some(r#"{"rules":[{"kind":"stall"}]}"#),
        ),
        (Method::PUT, "rate-limit", Some(r#"{"perSecond":1}"#)),
        (Method::DELETE, "requests", None),
        (Method::POST, "reset", None),
    ] {
        let reply = h.admin_as(&read_only, method.clone(), path, body).await;
        let envelope = reply.err(StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE");
        let details = envelope.error.unwrap().details.unwrap();
        assert_eq!(
            details["requiredScope"], "contacts:write",
            "{method} {path}"
        );
        assert!(reply.body.contains("contacts:write"), "{}", reply.body);
    }
    assert_eq!(
        (
            h.emu.faults(),
            h.emu.rate_limit(),
            h.emu.requests(),
            h.emu.contacts(),
        ),
        before
    );
    for path in [
        "contacts",
        "contacts/ct_demo_1",
        "faults",
        "rate-limit",
        "requests",
    ] {
        let reply = h.admin_as(&read_only, Method::GET, path, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
    }
    let health = Reply::read(h.http.get(h.admin("health")).send().await.unwrap()).await;
    assert_eq!(health.status, StatusCode::OK);
}

/// One organisation's traffic cannot evict another's journal entries, and requests without a
/// valid key belong to none: no fault rule takes them, no key lists them.
#[tokio::test]
async fn journals_are_rings_per_organisation_and_unattributed_requests_belong_to_none() {
    let h = start_with(Emulator::builder().journal(3)).await;
    let other = h.emu.other_org_key().unwrap().to_owned();
    h.put("ct_demo_1", r#"{"name":"Kept"}"#).await.ok();
    for i in 0..10 {
        h.put_as(&other, "ct_other_1", &format!(r#"{{"name":"o{i}"}}"#))
            .await
            .ok();
    }
    let demo: Vec<JournalEntry> =
        serde_json::from_str(&h.admin_get("requests").await.body).unwrap();
    assert_eq!(demo.len(), 1);
    assert_eq!(demo[0].body, Some(json!({ "name": "Kept" })));
    assert_eq!(h.emu.organization("org_other").unwrap().requests().len(), 3);

    // A rule for every request of the organisation does not take a request without a valid key.
    let set = h
        .admin_send(Method::PUT, "faults", Some(r#"{"rules":[{"kind":"503"}]}"#))
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    h.put_as("tg_test_not_a_key", "ct_demo_1", r#"{"name":"x"}"#)
        .await
        .err(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    assert_eq!(h.emu.faults().config.rules[0].remaining, Some(1));
    let listed: Vec<JournalEntry> =
        serde_json::from_str(&h.admin_get("requests").await.body).unwrap();
    assert!(listed.iter().all(|e| e.status != Some(401)), "{listed:?}");
    let all = h.emu.requests();
    let unattributed: Vec<&JournalEntry> =
        all.iter().filter(|e| e.organization_id.is_none()).collect();
    assert_eq!(unattributed.len(), 1);
    assert_eq!(unattributed[0].status, Some(401));
    assert_eq!(unattributed[0].body, None);
}
