//! Bounded history: a contact keeps at most `--activity-history` activities and a response
//! carries the most recent `--activities-per-response`, oldest first; a PUT that changes
//! nothing, request-only fields included, appends nothing.

use nateq_api::types::ContactType;
use nateq_emulator::{DEFAULT_ACTIVITIES_PER_RESPONSE, Emulator};
use serde_json::json;

use crate::helpers::{start, start_with};

fn activity_ids(activities: &[nateq_api::types::Activity]) -> Vec<String> {
    activities.iter().map(|a| a.id.clone().unwrap()).collect()
}

#[tokio::test]
async fn a_contact_keeps_its_last_activities_and_a_response_the_most_recent() {
    let h = start_with(
        Emulator::builder()
            .activity_history(3)
            .activities_per_response(2),
    )
    .await;
    let mut last = None;
    for i in 1..=5 {
        last = Some(
            h.put("ct_demo_1", &json!({ "name": format!("n{i}") }).to_string())
                .await
                .ok()
                .data
                .unwrap(),
        );
    }
    let contact = last.unwrap();
    let shown = contact.activities.clone().unwrap();
    // The most recent two, oldest first.
    assert_eq!(activity_ids(&shown), ["act_4", "act_5"]);
    assert_eq!(shown[1].new_value.as_deref(), Some("n5"));
    assert_eq!(shown[1].old_value.as_deref(), Some("n4"));
    assert_eq!(shown[1].created_at, contact.updated_at);
    // Stored: the last three; the older ones are gone.
    let stored = h.stored("ct_demo_1").contact.activities.unwrap();
    assert_eq!(activity_ids(&stored), ["act_3", "act_4", "act_5"]);
    let admin = h.admin_get("contacts/ct_demo_1").await.json();
    assert_eq!(admin["activities"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn by_default_a_response_carries_the_fifty_most_recent() {
    let h = start().await;
    let n = DEFAULT_ACTIVITIES_PER_RESPONSE + 7;
    let mut body = None;
    for i in 1..=n {
        body = Some(
            h.put(
                "ct_demo_2",
                &json!({ "externalId": format!("e{i}") }).to_string(),
            )
            .await
            .body,
        );
    }
    let body = body.unwrap();
    let contact: serde_json::Value = serde_json::from_str(&body).unwrap();
    let shown = contact["data"]["activities"].as_array().unwrap();
    assert_eq!(shown.len(), DEFAULT_ACTIVITIES_PER_RESPONSE);
    assert_eq!(shown[0]["id"], "act_8");
    assert_eq!(shown.last().unwrap()["id"], format!("act_{n}"));
    assert_eq!(h.stored("ct_demo_2").contact.activities.unwrap().len(), n);
}

/// A PUT of a request-only field (`type`, taken from the generated field table) with the value
/// it already has appends nothing and leaves `updatedAt` alone; a real change is recorded once.
#[tokio::test]
async fn a_put_of_a_request_only_field_that_changes_nothing_appends_nothing() {
    let h = start().await;
    let seeded = h.stored("ct_demo_1");
    assert_eq!(seeded.contact_type, Some(ContactType::Customer));
    let same = h
        .put("ct_demo_1", r#"{"type":"customer"}"#)
        .await
        .ok()
        .data
        .unwrap();
    assert_eq!(same.updated_at, seeded.contact.updated_at);
    assert!(same.activities.unwrap().is_empty());
    let changed = h
        .put("ct_demo_1", r#"{"type":"guest"}"#)
        .await
        .ok()
        .data
        .unwrap();
    assert_ne!(changed.updated_at, seeded.contact.updated_at);
    assert_eq!(changed.activities.as_ref().unwrap().len(), 1);
    for _ in 0..3 {
        let again = h
            .put("ct_demo_1", r#"{"type":"guest","name":"Ada Byron"}"#)
            .await
            .ok()
            .data
            .unwrap();
        assert_eq!(again.updated_at, changed.updated_at);
        assert_eq!(again.activities, changed.activities);
    }
    let stored = h.stored("ct_demo_1");
    assert_eq!(stored.contact_type, Some(ContactType::Guest));
    assert_eq!(stored.request_only["type"], "guest");
}
