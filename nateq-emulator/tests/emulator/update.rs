//! The update itself: partial, activities, idempotence, companies, concurrency.

use std::collections::BTreeSet;
use std::sync::Arc;

use nateq_api::types::ContactType;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::start;

#[tokio::test]
async fn only_present_fields_change() {
    let h = start().await;
    let before = h.stored("ct_demo_1");
    let reply = h
        .put("ct_demo_1", r#"{"position":"Analyst","doNotContact":true}"#)
        .await;
    let envelope = reply.ok();
    assert_eq!(envelope.message.as_deref(), Some("Contact updated"));
    let after = envelope.data.unwrap();
    assert_eq!(after.position.as_deref(), Some("Analyst"));
    assert_eq!(after.do_not_contact, Some(true));
    // Everything else is as it was.
    assert_eq!(after.name, before.contact.name);
    assert_eq!(after.email, before.contact.email);
    assert_eq!(after.company, before.contact.company);
    assert_eq!(after.tags, before.contact.tags);
    assert_eq!(after.created_at, before.contact.created_at);
    assert_ne!(after.updated_at, before.contact.updated_at);
    // The response is the stored state.
    assert_eq!(h.stored("ct_demo_1").contact, after);
    assert_eq!(
        h.stored("ct_demo_1").contact_type,
        Some(ContactType::Customer)
    );
}

#[tokio::test]
async fn one_activity_per_changed_field() {
    let h = start().await;
    let reply = h
        .put(
            "ct_demo_1",
            // `email` is sent with its current value: not a change.
            r#"{"name":"Ada Lovelace","email":"ada@example.com","isPotentialClient":true,"type":"guest"}"#,
        )
        .await;
    let contact = reply.ok().data.unwrap();
    let activities = contact.activities.unwrap();
    assert_eq!(activities.len(), 3);
    let fields: Vec<&str> = activities
        .iter()
        .map(|a| a.description.as_deref().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["isPotentialClient changed", "name changed", "type changed"]
    );
    let name = &activities[1];
    assert_eq!(name.old_value.as_deref(), Some("Ada Byron"));
    assert_eq!(name.new_value.as_deref(), Some("Ada Lovelace"));
    assert_eq!(name.actor_type.as_deref(), Some("api_key"));
    assert_eq!(name.actor_id.as_deref(), Some("key_demo_full"));
    assert_eq!(name.actor_name.as_deref(), Some("Demo key"));
    assert_eq!(name.contact_id.as_deref(), Some("ct_demo_1"));
    assert_eq!(name.metadata.as_deref(), Some(r#"{"field":"name"}"#));
    assert_eq!(name.created_at, contact.updated_at);
    assert_eq!(name.updated_at, contact.updated_at);
    assert_eq!(activities[0].old_value.as_deref(), Some("false"));
    assert_eq!(activities[0].new_value.as_deref(), Some("true"));
    assert_eq!(activities[2].old_value.as_deref(), Some("customer"));
    assert_eq!(activities[2].new_value.as_deref(), Some("guest"));
    let ids: BTreeSet<&str> = activities
        .iter()
        .map(|a| a.id.as_deref().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(h.stored("ct_demo_1").contact_type, Some(ContactType::Guest));

    // A field without a previous value has a null oldValue.
    let phone = h
        .put("ct_demo_1", r#"{"phone":"+44 20 7946 0958"}"#)
        .await
        .ok();
    let activities = phone.data.unwrap().activities.unwrap();
    assert_eq!(activities.len(), 4);
    assert_eq!(activities[3].old_value, None);
    assert_eq!(activities[3].new_value.as_deref(), Some("+44 20 7946 0958"));
}

#[tokio::test]
async fn a_put_that_changes_nothing_appends_nothing() {
    let h = start().await;
    let body = r#"{"name":"Ada Lovelace","language":"pt-BR"}"#;
    let first = h.put("ct_demo_1", body).await.ok().data.unwrap();
    let second = h.put("ct_demo_1", body).await.ok().data.unwrap();
    assert_eq!(first, second);
    assert_eq!(second.activities.unwrap().len(), 2);
    let empty = h.put("ct_demo_1", "{}").await.ok().data.unwrap();
    assert_eq!(empty.updated_at, first.updated_at);
    assert_eq!(empty.activities.unwrap().len(), 2);
}

#[tokio::test]
async fn updated_at_moves_forward_on_every_change() {
    let h = start().await;
    let mut last = h.stored("ct_demo_3").contact.updated_at.unwrap();
    for i in 0..50 {
        let contact = h
            .put(
                "ct_demo_3",
                &json!({ "externalId": format!("ext-{i}") }).to_string(),
            )
            .await
            .ok()
            .data
            .unwrap();
        let now = contact.updated_at.unwrap();
        // RFC 3339 in UTC with a fixed width: text order is time order.
        assert_eq!(now.len(), "2026-11-27T10:00:00.000000Z".len(), "{now}");
        assert!(now > last, "{now} after {last}");
        last = now;
    }
}

#[tokio::test]
async fn company_id_brings_company_and_name_along() {
    let h = start().await;
    // ct_demo_3 starts without a company.
    assert_eq!(h.stored("ct_demo_3").contact.company_id, None);
    let contact = h
        .put("ct_demo_3", r#"{"companyId":"co_demo_2"}"#)
        .await
        .ok()
        .data
        .unwrap();
    assert_eq!(contact.company_id.as_deref(), Some("co_demo_2"));
    assert_eq!(contact.company_name.as_deref(), Some("Difference Works"));
    let company = contact.company.unwrap();
    assert_eq!(company.id.as_deref(), Some("co_demo_2"));
    assert_eq!(company.name.as_deref(), Some("Difference Works"));
    assert_eq!(company.domain.as_deref(), Some("difference.example.com"));
    let activities = contact.activities.unwrap();
    assert_eq!(activities.len(), 1);
    assert_eq!(activities[0].old_value, None);
    assert_eq!(activities[0].new_value.as_deref(), Some("co_demo_2"));
}

#[tokio::test]
async fn an_unknown_or_foreign_company_is_422() {
    let h = start().await;
    for company in ["co_nope", "co_other_1", ""] {
        let reply = h
            .put(
                "ct_demo_1",
                &json!({ "companyId": company, "name": "Ada L" }).to_string(),
            )
            .await;
        reply.err(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR");
        assert_eq!(reply.detail_fields(), ["companyId"]);
    }
    let stored = h.stored("ct_demo_1");
    assert_eq!(stored.contact.company_id.as_deref(), Some("co_demo_1"));
    assert_eq!(stored.contact.name.as_deref(), Some("Ada Byron"));
    assert!(stored.contact.activities.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_updates_of_one_contact_lose_nothing() {
    let h = Arc::new(start().await);
    let fields = [
        "name",
        "email",
        "phone",
        "country",
        "position",
        "source",
        "externalId",
        "language",
    ];
    let mut tasks = Vec::new();
    for task in 0..32 {
        let h = Arc::clone(&h);
        let field = fields[task % fields.len()];
        tasks.push(tokio::spawn(async move {
            let value = format!("v{task}");
            let body = json!({ field: value }).to_string();
            h.put("ct_demo_1", &body).await.ok();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let contact = h.stored("ct_demo_1").contact;
    let activities = contact.activities.clone().unwrap();
    // Every PUT changed its field: 32 activities with distinct IDs.
    assert_eq!(activities.len(), 32);
    let ids: BTreeSet<_> = activities.iter().map(|a| a.id.clone().unwrap()).collect();
    assert_eq!(ids.len(), 32);
    // Per field, the activities chain: each oldValue is the previous newValue, and the last
    // newValue is the stored value.
    let value = serde_json::to_value(&contact).unwrap();
    for field in fields {
        let chain: Vec<_> = activities
            .iter()
            .filter(|a| a.description.as_deref() == Some(&format!("{field} changed")))
            .collect();
        assert_eq!(chain.len(), 4, "{field}");
        for pair in chain.windows(2) {
            assert_eq!(pair[1].old_value, pair[0].new_value, "{field}");
        }
        assert_eq!(
            value[field].as_str(),
            chain.last().unwrap().new_value.as_deref(),
            "{field}"
        );
    }
}

#[tokio::test]
async fn demo_contacts_are_seeded_as_asked() {
    let h = crate::helpers::start_with(nateq_emulator::Emulator::builder().demo_contacts(12)).await;
    let ids: Vec<String> = h.emu.contacts().into_iter().map(|c| c.contact.id).collect();
    assert_eq!(ids.len(), 13);
    assert!(ids.contains(&"ct_demo_12".to_owned()));
    assert!(ids.contains(&"ct_other_1".to_owned()));
    h.put("ct_demo_12", r#"{"name":"Twelve"}"#).await.ok();
    h.put("ct_demo_13", r#"{"name":"Thirteen"}"#)
        .await
        .err(StatusCode::NOT_FOUND, "NOT_FOUND");
}
