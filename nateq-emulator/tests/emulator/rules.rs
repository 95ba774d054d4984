//! Targeted fault rules: every kind with a real client, matching, order, uses left, bad rules.

use std::time::{Duration, Instant};

use nateq_emulator::{FaultConfig, FaultRule, FaultRuleKind, FaultStatus};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Harness, Reply, start};

/// Sets the faults through the admin API, as another language's tests would.
async fn set_faults(h: &Harness, config: Value) -> Reply {
    h.admin_send(Method::PUT, "faults", Some(&config.to_string()))
        .await
}

async fn rule(h: &Harness, rule: Value) {
    let reply = set_faults(
        h,
        json!({ "rules": [rule], "latencyMs": 150, "stallMs": 60000 }),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

/// The stored name, read back through the admin API.
async fn stored_name(h: &Harness, id: &str) -> Value {
    let reply = h.admin_get(&format!("contacts/{id}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()["name"].clone()
}

async fn send(h: &Harness, id: &str, name: &str) -> Result<reqwest::Response, reqwest::Error> {
    h.http
        .put(h.url(id))
        .bearer_auth(h.emu.api_key())
        .header("content-type", "application/json")
        .body(json!({ "name": name }).to_string())
        .timeout(Duration::from_secs(2))
        .send()
        .await
}

#[tokio::test]
async fn status_rules_answer_and_apply_nothing() {
    let h = start().await;
    for (kind, status, code) in [
        ("429", StatusCode::TOO_MANY_REQUESTS, Some("RATE_LIMITED")),
        (
            "500",
            StatusCode::INTERNAL_SERVER_ERROR,
            Some("INTERNAL_ERROR"),
        ),
        ("502", StatusCode::BAD_GATEWAY, None),
        (
            "503",
            StatusCode::SERVICE_UNAVAILABLE,
            Some("SERVICE_UNAVAILABLE"),
        ),
    ] {
        rule(&h, json!({ "kind": kind })).await;
        let reply = Reply::read(send(&h, "ct_demo_1", "Not Applied").await.unwrap()).await;
        match code {
            Some(code) => {
                reply.err(status, code);
            }
            None => {
                assert_eq!(reply.status, status);
                assert_eq!(reply.headers["content-type"], "text/html; charset=utf-8");
                assert!(reply.body.starts_with("<html>"), "{}", reply.body);
            }
        }
        if kind == "429" {
            assert_eq!(reply.headers["retry-after"], "1");
        }
        assert_eq!(stored_name(&h, "ct_demo_1").await, "Ada Byron", "{kind}");
        // Used once (the default): the next request goes through.
        send(&h, "ct_demo_2", "Applied")
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
        assert_eq!(stored_name(&h, "ct_demo_2").await, "Applied", "{kind}");
    }
}

#[tokio::test]
async fn drop_closes_before_applying_and_drop_after_apply_after() {
    let h = start().await;
    rule(&h, json!({ "kind": "drop", "contactId": "ct_demo_1" })).await;
    let error = send(&h, "ct_demo_1", "Dropped Before").await.unwrap_err();
    assert!(error.status().is_none() && !error.is_timeout(), "{error:?}");
    assert_eq!(stored_name(&h, "ct_demo_1").await, "Ada Byron");

    rule(
        &h,
        json!({ "kind": "drop-after-apply", "contactId": "ct_demo_1" }),
    )
    .await;
    let error = send(&h, "ct_demo_1", "Dropped After").await.unwrap_err();
    assert!(error.status().is_none() && !error.is_timeout(), "{error:?}");
    assert_eq!(stored_name(&h, "ct_demo_1").await, "Dropped After");

    let journal: Vec<(Option<u16>, Option<String>, Option<Value>)> = h
        .emu
        .requests()
        .into_iter()
        .map(|e| (e.status, e.fault, e.body))
        .collect();
    assert_eq!(
        journal,
        [
            (
                None,
                Some("drop".to_owned()),
                Some(json!({ "name": "Dropped Before" }))
            ),
            (
                None,
                Some("drop-after-apply".to_owned()),
                Some(json!({ "name": "Dropped After" }))
            )
        ]
    );
}

#[tokio::test]
async fn stall_latency_and_malformed() {
    let h = start().await;
    rule(&h, json!({ "kind": "stall" })).await;
    let started = Instant::now();
    let error = h
        .http
        .put(h.url("ct_demo_1"))
        .bearer_auth(h.emu.api_key())
        .header("content-type", "application/json")
        .body(r#"{"name":"Stalled"}"#)
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(stored_name(&h, "ct_demo_1").await, "Ada Byron");

    rule(&h, json!({ "kind": "latency" })).await;
    let started = Instant::now();
    let reply = Reply::read(send(&h, "ct_demo_1", "Late").await.unwrap()).await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    reply.ok();
    assert_eq!(stored_name(&h, "ct_demo_1").await, "Late");

    rule(&h, json!({ "kind": "malformed" })).await;
    let reply = Reply::read(send(&h, "ct_demo_1", "Cut Short").await.unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "application/json");
    let error = serde_json::from_str::<Value>(&reply.body).unwrap_err();
    assert!(error.is_eof(), "{error}: {}", reply.body);
    assert!(reply.body.starts_with(r#"{"data":"#), "{}", reply.body);
    // Applied: the answer is what was cut.
    assert_eq!(stored_name(&h, "ct_demo_1").await, "Cut Short");
}

#[tokio::test]
async fn rules_match_a_contact_count_down_and_come_before_random_faults() {
    let h = start().await;
    let reply = set_faults(
        &h,
        json!({
            "rate": 1.0, "kinds": ["503"],
            "rules": [
                { "contactId": "ct_demo_2", "times": 2, "kind": "429" },
                { "kind": "500" }
            ]
        }),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.json()["rules"][0]["remaining"], 2);

    let mut statuses = Vec::new();
    for id in [
        "ct_demo_1",
        "ct_demo_2",
        "ct_demo_2",
        "ct_demo_2",
        "ct_demo_1",
    ] {
        statuses.push(send(&h, id, "X").await.unwrap().status().as_u16());
    }
    // ct_demo_1 skips the first rule and takes the second; then the random 503s.
    assert_eq!(statuses, [500, 429, 429, 503, 503]);

    let status: FaultStatus = serde_json::from_str(&h.admin_get("faults").await.body).unwrap();
    let left: Vec<(u32, Option<u32>)> = status
        .config
        .rules
        .iter()
        .map(|r| (r.times, r.remaining))
        .collect();
    assert_eq!(left, [(2, Some(0)), (1, Some(0))]);
    // Only requests without a rule were drawn.
    assert_eq!(status.counters.requests, 2);
    assert_eq!(status.counters.service_unavailable, 2);

    // The Rust handle sets rules too.
    h.emu
        .set_faults(
            FaultConfig::default().rule(
                FaultRule::new(FaultRuleKind::BadGateway)
                    .contact("ct_demo_3")
                    .times(1),
            ),
        )
        .unwrap();
    assert_eq!(
        send(&h, "ct_demo_3", "Y").await.unwrap().status(),
        StatusCode::BAD_GATEWAY
    );
    assert_eq!(
        send(&h, "ct_demo_3", "Y").await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn bad_rules_are_400s_naming_the_problem() {
    let h = start().await;
    for (rules, expected) in [
        (json!([{ "kind": "boom" }]), "unknown variant `boom`"),
        (
            json!([{ "kind": "500", "times": 0 }]),
            "rules[0].times must be at least 1",
        ),
        (
            json!([{ "kind": "500" }, { "kind": "500", "contactId": "" }]),
            "rules[1].contactId",
        ),
        (json!([{ "times": 1 }]), "missing field `kind`"),
        (
            json!([{ "kind": "500", "tims": 3 }]),
            "unknown field `tims`",
        ),
        (json!({ "kind": "500" }), "invalid type"),
    ] {
        let reply = set_faults(&h, json!({ "rules": rules })).await;
        let envelope = reply.err(StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
        let message = envelope.error.unwrap().message.unwrap();
        assert!(message.contains(expected), "{rules}: {message}");
    }
    assert!(h.emu.faults().config.rules.is_empty());
}
