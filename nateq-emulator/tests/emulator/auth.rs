//! Authentication, scopes and organisation isolation.

use reqwest::StatusCode;

use crate::helpers::{Reply, start};

#[tokio::test]
async fn missing_malformed_and_unknown_keys_are_401() {
    let h = start().await;
    let no_header = h
        .http
        .put(h.url("ct_demo_1"))
        .header("content-type", "application/json")
        .body(r#"{"name":"x"}"#)
        .send()
        .await
        .unwrap();
    let reply = Reply::read(no_header).await;
    reply.err(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    assert_eq!(reply.headers["www-authenticate"], "Bearer");

    for header in [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        "tg_test_emulator_demo_full_0000000000000000",
        "Token tg_test_emulator_demo_full_0000000000000000",
    ] {
        let response = h
            .http
            .put(h.url("ct_demo_1"))
            .header("authorization", header)
            .header("content-type", "application/json")
            .body(r#"{"name":"x"}"#)
            .send()
            .await
            .unwrap();
        Reply::read(response)
            .await
            .err(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    }

    let reply = h
        .put_as("tg_test_not_a_key", "ct_demo_1", r#"{"name":"x"}"#)
        .await;
    let envelope = reply.err(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    assert_eq!(envelope.message.as_deref(), Some("invalid api key"));
    assert!(!reply.body.contains("tg_test_not_a_key"));
    assert_eq!(
        h.stored("ct_demo_1").contact.name.as_deref(),
        Some("Ada Byron")
    );
}

#[tokio::test]
async fn a_key_without_write_scope_is_403() {
    let h = start().await;
    let key = h.emu.read_only_key().unwrap();
    let reply = h.put_as(key, "ct_demo_1", r#"{"name":"x"}"#).await;
    reply.err(StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE");
    assert!(reply.body.contains("contacts:write"));
    assert_eq!(
        h.stored("ct_demo_1").contact.name.as_deref(),
        Some("Ada Byron")
    );
    assert!(h.stored("ct_demo_1").contact.activities.unwrap().is_empty());
}

#[tokio::test]
async fn another_organisations_contact_is_not_found() {
    let h = start().await;
    let other = h.emu.other_org_key().unwrap();

    let foreign = h.put_as(other, "ct_demo_1", r#"{"name":"Mallory"}"#).await;
    let missing = h.put_as(other, "ct_nope", r#"{"name":"Mallory"}"#).await;
    let foreign_env = foreign.err(StatusCode::NOT_FOUND, "NOT_FOUND");
    let missing_env = missing.err(StatusCode::NOT_FOUND, "NOT_FOUND");
    assert_eq!(
        foreign_env.message.as_deref(),
        Some("contact ct_demo_1 not found")
    );
    assert_eq!(
        missing_env.message.as_deref(),
        Some("contact ct_nope not found")
    );
    // Same shape whether the contact exists elsewhere or not at all.
    assert_eq!(
        foreign.body.replace("ct_demo_1", "ID"),
        missing.body.replace("ct_nope", "ID")
    );
    assert_eq!(
        h.stored("ct_demo_1").contact.name.as_deref(),
        Some("Ada Byron")
    );

    // The demo key cannot see the other organisation's contact either.
    h.put("ct_other_1", r#"{"name":"Mallory"}"#)
        .await
        .err(StatusCode::NOT_FOUND, "NOT_FOUND");

    // The other organisation's key updates its own contact, as itself.
    let own = h
        .put_as(other, "ct_other_1", r#"{"name":"Olive"}"#)
        .await
        .ok();
    let contact = own.data.unwrap();
    assert_eq!(contact.name.as_deref(), Some("Olive"));
    assert_eq!(contact.organization_id.as_deref(), Some("org_other"));
    let activity = &contact.activities.unwrap()[0];
    assert_eq!(activity.actor_id.as_deref(), Some("key_other_full"));
}

#[tokio::test]
async fn key_secrets_never_leak() {
    let h = start().await;
    let secrets: Vec<String> = h.emu.keys().iter().map(|k| k.secret.clone()).collect();
    assert_eq!(secrets.len(), 3);
    let bodies = [
        h.put("ct_demo_1", r#"{"name":"Ada Lovelace","type":"guest"}"#)
            .await
            .body,
        h.put("ct_demo_1", r#"{"nope":1}"#).await.body,
        h.put("ct_nope", r#"{}"#).await.body,
        h.put_as(h.emu.read_only_key().unwrap(), "ct_demo_1", "{}")
            .await
            .body,
        h.admin_get("contacts").await.body,
        h.admin_get("contacts/ct_demo_1").await.body,
        h.admin_get("faults").await.body,
    ];
    let debug = [
        format!("{:?}", h.emu),
        format!("{:?}", h.emu.keys()),
        format!("{:?}", h.emu.seed()),
    ];
    for text in bodies.iter().chain(debug.iter()) {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "secret in {text}");
        }
    }
    assert!(debug[1].contains("key_demo_full"));
}
