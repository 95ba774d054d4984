//! Values that could hold the server are bounded, each refused with an error naming the
//! setting and its limit.

use nateq_emulator::{
    Emulator, Error, FaultConfig, MAX_ACTIVITIES_PER_RESPONSE, MAX_ACTIVITY_HISTORY,
    MAX_FAULT_RULES, MAX_HOLD_MS, MAX_JOURNAL_CAPACITY,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::start;

#[tokio::test]
async fn fault_delays_and_rules_over_their_limits_are_422s_naming_field_and_limit() {
    let h = start().await;
    let rules = |n: usize| vec![json!({ "kind": "503" }); n];
    for (body, field, limit) in [
        (
            json!({ "stallMs": MAX_HOLD_MS + 1 }),
            "stallMs",
            MAX_HOLD_MS,
        ),
        (
            json!({ "latencyMs": MAX_HOLD_MS + 1 }),
            "latencyMs",
            MAX_HOLD_MS,
        ),
        (
            json!({ "rules": rules(MAX_FAULT_RULES + 1) }),
            "rules",
            MAX_FAULT_RULES as u64,
        ),
    ] {
        let reply = h
            .admin_send(Method::PUT, "faults", Some(&body.to_string()))
            .await;
        reply.err(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR");
        assert_eq!(reply.detail_fields(), [field]);
        let detail = &reply.json()["error"]["details"]["fields"][0];
        assert_eq!(detail["limit"], json!(limit), "{}", reply.body);
        assert!(
            reply.json()["message"]
                .as_str()
                .unwrap()
                .contains(&limit.to_string()),
            "{}",
            reply.body
        );
    }
    assert_eq!(h.emu.faults().config, FaultConfig::default());
    // At the limits: accepted.
    let body = json!({ "stallMs": MAX_HOLD_MS, "latencyMs": MAX_HOLD_MS,
                       "rules": rules(MAX_FAULT_RULES) });
    let reply = h
        .admin_send(Method::PUT, "faults", Some(&body.to_string()))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(h.emu.faults().config.rules.len(), MAX_FAULT_RULES);
    assert!(matches!(
        h.emu
            .set_faults(FaultConfig::default().stall(std::time::Duration::from_secs(301))),
        Err(Error::TooLarge {
            name: "stallMs",
            limit: MAX_HOLD_MS,
            value: 301_000
        })
    ));
}

#[tokio::test]
async fn builder_counts_over_their_limits_are_refused_naming_them() {
    for (builder, name, limit) in [
        (
            Emulator::builder().journal(MAX_JOURNAL_CAPACITY + 1),
            "journal",
            MAX_JOURNAL_CAPACITY,
        ),
        (
            Emulator::builder().activity_history(MAX_ACTIVITY_HISTORY + 1),
            "activityHistory",
            MAX_ACTIVITY_HISTORY,
        ),
        (
            Emulator::builder().activities_per_response(MAX_ACTIVITIES_PER_RESPONSE + 1),
            "activitiesPerResponse",
            MAX_ACTIVITIES_PER_RESPONSE,
        ),
    ] {
        let error = builder.spawn().await.unwrap_err();
        assert!(
            matches!(error, Error::TooLarge { name: n, limit: l, .. } if n == name && l == limit as u64),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!("invalid {name}: at most {limit}, not {}", limit + 1)
        );
    }
    let at_limit = Emulator::builder()
        .journal(MAX_JOURNAL_CAPACITY)
        .activity_history(MAX_ACTIVITY_HISTORY)
        .activities_per_response(MAX_ACTIVITIES_PER_RESPONSE)
        .spawn()
        .await;
    assert!(at_limit.is_ok(), "{at_limit:?}");
}

/// `--demo-contacts usize::MAX` starts at once: the last demo contact exists, the one after it
/// does not, and the list's total is the count, with no overflow anywhere.
#[tokio::test]
async fn the_largest_demo_count_does_not_overflow() {
    let h = crate::helpers::start_with(Emulator::builder().demo_contacts(usize::MAX)).await;
    let last = format!("ct_demo_{}", usize::MAX);
    let contact = h
        .put(&last, r#"{"name":"The Last"}"#)
        .await
        .ok()
        .data
        .unwrap();
    assert_eq!(
        contact.email,
        Some(format!("contact{}@example.com", usize::MAX))
    );
    h.put("ct_demo_18446744073709551616", r#"{"name":"x"}"#)
        .await
        .err(StatusCode::NOT_FOUND, "NOT_FOUND");
    h.put("ct_demo_0", r#"{"name":"x"}"#)
        .await
        .err(StatusCode::NOT_FOUND, "NOT_FOUND");
    let page = h.admin_get("contacts?limit=3").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.headers["x-total-count"], usize::MAX.to_string());
    let ids: Vec<Value> = page
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    assert_eq!(ids, ["ct_demo_1", "ct_demo_10", "ct_demo_100"]);
    let after_last = h.admin_get(&format!("contacts?after={last}&limit=2")).await;
    assert_eq!(after_last.status, StatusCode::OK, "{}", after_last.body);
    assert_eq!(after_last.json()[0]["id"], "ct_demo_1844674407370955162");
}
