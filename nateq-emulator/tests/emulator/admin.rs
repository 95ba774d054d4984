//! The admin API under /_emulator/, and seeds.

use nateq_emulator::{Emulator, Error, FaultConfig, FaultKind, FaultStatus, Seed, StoredContact};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Reply, start, start_with};

#[tokio::test]
async fn lists_the_keys_organisation_sorted_with_type() {
    let h = crate::helpers::start_with(Emulator::builder().demo_contacts(11)).await;
    let reply = h.admin_get("contacts").await;
    assert_eq!(reply.status, StatusCode::OK);
    let list: Vec<StoredContact> = serde_json::from_str(&reply.body).unwrap();
    let ids: Vec<&str> = list.iter().map(|c| c.contact.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);
    assert_eq!(ids.len(), 11);
    assert!(!ids.contains(&"ct_other_1"));
    let raw = reply.json();
    assert_eq!(raw[0]["id"], "ct_demo_1");
    assert_eq!(raw[0]["type"], "customer");
    assert_eq!(raw[0]["companyName"], "Analytical Engines Ltd");

    let other = h
        .http
        .get(h.admin("contacts"))
        .bearer_auth(h.emu.other_org_key().unwrap())
        .send()
        .await
        .unwrap();
    let other: Vec<StoredContact> = serde_json::from_str(&other.text().await.unwrap()).unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].contact.id, "ct_other_1");
}

#[tokio::test]
async fn reads_one_contact_of_the_keys_organisation() {
    let h = start().await;
    h.put("ct_demo_2", r#"{"type":"guest","name":"Charles"}"#)
        .await
        .ok();
    let reply = h.admin_get("contacts/ct_demo_2").await;
    assert_eq!(reply.status, StatusCode::OK);
    let stored: StoredContact = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(stored, h.stored("ct_demo_2"));
    assert_eq!(reply.json()["type"], "guest");
    assert_eq!(stored.contact.name.as_deref(), Some("Charles"));

    h.admin_get("contacts/ct_other_1")
        .await
        .err(StatusCode::NOT_FOUND, "NOT_FOUND");
    h.admin_get("contacts/ct_nope")
        .await
        .err(StatusCode::NOT_FOUND, "NOT_FOUND");
}

#[tokio::test]
async fn needs_a_key() {
    let h = start().await;
    for (method, path) in [
        (reqwest::Method::GET, "contacts"),
        (reqwest::Method::GET, "contacts/ct_demo_1"),
        (reqwest::Method::POST, "reset"),
        (reqwest::Method::GET, "faults"),
        (reqwest::Method::PUT, "faults"),
    ] {
        let response = h
            .http
            .request(method.clone(), h.admin(path))
            .body("{}")
            .send()
            .await
            .unwrap();
        Reply::read(response)
            .await
            .err(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    }
    // A read-only key may use it.
    let response = h
        .http
        .get(h.admin("contacts"))
        .bearer_auth(h.emu.read_only_key().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn reset_goes_back_to_the_seed() {
    let h = start().await;
    let seeded = h.emu.contacts();
    h.put("ct_demo_1", r#"{"name":"Changed","companyId":"co_demo_2"}"#)
        .await
        .ok();
    h.put_as(
        h.emu.other_org_key().unwrap(),
        "ct_other_1",
        r#"{"name":"Changed"}"#,
    )
    .await
    .ok();
    let changed_other = h.stored("ct_other_1");
    assert_ne!(h.emu.contacts(), seeded);
    let response = h
        .http
        .post(h.admin("reset"))
        .bearer_auth(h.emu.api_key())
        .send()
        .await
        .unwrap();
    let reply = Reply::read(response).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["success"], true);
    // The key's organisation is back to the seed; the other one is as it was.
    let seeded_demo = seeded.iter().find(|c| c.contact.id == "ct_demo_1").unwrap();
    assert_eq!(&h.stored("ct_demo_1"), seeded_demo);
    assert_eq!(h.stored("ct_other_1"), changed_other);
    // Activity IDs start again too.
    let contact = h
        .put("ct_demo_1", r#"{"name":"Again"}"#)
        .await
        .ok()
        .data
        .unwrap();
    assert_eq!(contact.activities.unwrap()[0].id.as_deref(), Some("act_1"));
    // In-process reset goes back to the seed in every organisation.
    h.emu.reset();
    assert_eq!(h.emu.contacts(), seeded);
}

#[tokio::test]
async fn faults_are_read_and_set_as_json() {
    let h = start().await;
    let status: FaultStatus = serde_json::from_str(&h.admin_get("faults").await.body).unwrap();
    assert_eq!(status.config, FaultConfig::default());
    assert_eq!(status.counters.injected, 0);

    let body = r#"{"rate":0.5,"kinds":["429","drop"],"seed":9,"retryAfterSecs":0,"stallMs":100,"latencyMs":5}"#;
    let response = h
        .http
        .put(h.admin("faults"))
        .bearer_auth(h.emu.api_key())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let reply = Reply::read(response).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let raw = reply.json();
    assert_eq!(raw["rate"], 0.5);
    assert_eq!(raw["kinds"], serde_json::json!(["429", "drop"]));
    assert_eq!(raw["retryAfterSecs"], 0);
    assert_eq!(raw["counters"]["requests"], 0);
    assert_eq!(raw["counters"]["429"], 0);
    let config = h.emu.faults().config;
    assert_eq!(
        config,
        FaultConfig::new(0.5, [FaultKind::TooManyRequests, FaultKind::Drop])
            .seed(9)
            .retry_after_secs(0)
            .stall(std::time::Duration::from_millis(100))
            .latency(std::time::Duration::from_millis(5))
    );

    for bad in [
        r#"{"rate":2}"#,
        r#"{"rate":0.5,"kinds":[]}"#,
        r#"{"kinds":["boom"]}"#,
        r#"{"rat":1}"#,
        "[]",
    ] {
        let response = h
            .http
            .put(h.admin("faults"))
            .bearer_auth(h.emu.api_key())
            .header("content-type", "application/json")
            .body(bad)
            .send()
            .await
            .unwrap();
        Reply::read(response)
            .await
            .err(StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    }
    assert_eq!(h.emu.faults().config, config);

    // What is set over HTTP applies to the API, and the counters show it.
    let response = h
        .http
        .put(h.admin("faults"))
        .bearer_auth(h.emu.api_key())
        .body(r#"{"rate":1,"kinds":["503"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    h.put("ct_demo_1", r#"{"name":"x"}"#)
        .await
        .err(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE");
    let counters = h.admin_get("faults").await.json()["counters"].clone();
    assert_eq!(counters["requests"], 1);
    assert_eq!(counters["injected"], 1);
    assert_eq!(counters["503"], 1);
    assert_eq!(counters["429"], 0);
}

#[tokio::test]
async fn the_admin_api_is_never_faulted() {
    let h = start_with(Emulator::builder().faults(FaultConfig::new(1.0, FaultKind::ALL))).await;
    for _ in 0..20 {
        let reply = h.admin_get("contacts").await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    assert_eq!(h.emu.faults().counters.requests, 0);
}

#[tokio::test]
async fn the_example_seed_file_loads() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/seed.example.json");
    let seed = Seed::from_file(path).unwrap();
    let h = start_with(Emulator::builder().seed_file(path)).await;
    assert_eq!(h.emu.contacts().len(), seed.contacts.len());
    let first = h.emu.keys()[0].clone();
    assert_eq!(h.emu.api_key(), first.secret);
    // company and companyName are derived from companyId.
    let raw: Value = serde_json::from_str(&h.admin_get("contacts/ct_acme_1").await.body).unwrap();
    assert_eq!(raw["company"]["id"], "co_acme");
    assert_eq!(raw["companyName"], "Acme Corporation");
    assert_eq!(raw["type"], "customer");
    let updated = h
        .put("ct_acme_1", r#"{"name":"Wile E. Coyote"}"#)
        .await
        .ok();
    assert_eq!(
        updated.data.unwrap().activities.unwrap()[0]
            .actor_id
            .as_deref(),
        Some(first.id.as_str())
    );
}

#[tokio::test]
async fn inconsistent_seeds_are_refused() {
    let dangling: Seed = serde_json::from_str(
        r#"{"contacts":[{"id":"c1","organizationId":"org_demo","companyId":"co_missing"}]}"#,
    )
    .unwrap();
    let error = Emulator::builder()
        .seed(dangling)
        .spawn()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidSeed(_)), "{error}");
    assert!(error.to_string().contains("co_missing"), "{error}");

    let duplicate: Seed = serde_json::from_str(
        r#"{"contacts":[{"id":"c1","organizationId":"o"},{"id":"c1","organizationId":"o"}]}"#,
    )
    .unwrap();
    let error = Emulator::builder()
        .seed(duplicate)
        .spawn()
        .await
        .unwrap_err();
    assert_eq!(error.to_string(), "invalid seed: duplicate contact id c1");

    let missing = Emulator::builder()
        .seed_file("/nonexistent/seed.json")
        .spawn()
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::SeedRead { .. }));
}

#[tokio::test]
async fn health_answers_ok_without_a_key() {
    let h = start().await;
    let reply = Reply::read(h.http.get(h.admin("health")).send().await.unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), serde_json::json!({ "status": "ok" }));
    assert_eq!(reply.headers["content-type"], "application/json");
}
