//! Fault injection: each kind, counters, reproducibility.

use std::time::{Duration, Instant};

use nateq_emulator::{Emulator, FaultConfig, FaultKind};
use reqwest::StatusCode;

use crate::helpers::{Harness, start, start_with};

async fn with_faults(config: FaultConfig) -> Harness {
    start_with(Emulator::builder().faults(config)).await
}

fn only(kind: FaultKind) -> FaultConfig {
    FaultConfig::new(1.0, [kind])
}

#[tokio::test]
async fn injected_429_has_retry_after_and_applies_nothing() {
    let h = with_faults(only(FaultKind::TooManyRequests).retry_after_secs(3)).await;
    let reply = h.put("ct_demo_1", r#"{"name":"Nope"}"#).await;
    reply.err(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    assert_eq!(reply.headers["retry-after"], "3");
    assert_eq!(
        h.stored("ct_demo_1").contact.name.as_deref(),
        Some("Ada Byron")
    );

    h.emu
        .set_faults(only(FaultKind::TooManyRequests).retry_after_secs(0))
        .unwrap();
    let reply = h.put("ct_demo_1", r#"{"name":"Nope"}"#).await;
    reply.err(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    assert_eq!(reply.headers["retry-after"], "0");
    let counters = h.emu.faults().counters;
    assert_eq!(
        (
            counters.requests,
            counters.injected,
            counters.too_many_requests
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn injected_503_applies_nothing() {
    let h = with_faults(only(FaultKind::ServiceUnavailable)).await;
    h.put("ct_demo_1", r#"{"name":"Nope"}"#)
        .await
        .err(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE");
    assert_eq!(
        h.stored("ct_demo_1").contact.name.as_deref(),
        Some("Ada Byron")
    );
    assert_eq!(h.emu.faults().counters.service_unavailable, 1);
}

#[tokio::test]
async fn a_dropped_connection_gives_no_status_but_the_update_is_applied() {
    let h = with_faults(only(FaultKind::Drop)).await;
    let result = h
        .http
        .put(h.url("ct_demo_1"))
        .bearer_auth(h.emu.api_key())
        .header("content-type", "application/json")
        .body(r#"{"name":"Applied Anyway"}"#)
        .send()
        .await;
    let error = result.expect_err("the connection is dropped before a response");
    assert!(error.status().is_none(), "{error:?}");
    assert!(!error.is_timeout(), "{error:?}");
    let stored = h.stored("ct_demo_1").contact;
    assert_eq!(stored.name.as_deref(), Some("Applied Anyway"));
    assert_eq!(stored.activities.unwrap().len(), 1);
    assert_eq!(h.emu.faults().counters.drop, 1);

    // The retry is a visible no-op: same state, no new activity.
    h.emu.set_faults(FaultConfig::default()).unwrap();
    let retried = h
        .put("ct_demo_1", r#"{"name":"Applied Anyway"}"#)
        .await
        .ok();
    assert_eq!(retried.data.unwrap().activities.unwrap().len(), 1);
}

/// A client that gives up during a stall leaves nothing behind: the request ends when the
/// connection does, so nothing is applied, not even once the stall is over.
#[tokio::test]
async fn a_stall_outlasts_a_client_timeout_and_applies_nothing() {
    let stall = Duration::from_millis(400);
    let h = with_faults(only(FaultKind::Stall).stall(stall)).await;
    let before = h.stored("ct_demo_1");
    let started = Instant::now();
    let error = h
        .http
        .put(h.url("ct_demo_1"))
        .bearer_auth(h.emu.api_key())
        .header("content-type", "application/json")
        .body(r#"{"name":"Too Late"}"#)
        .timeout(Duration::from_millis(100))
        .send()
        .await
        .expect_err("the request stalls");
    assert!(error.is_timeout(), "{error:?}");
    assert!(started.elapsed() < stall, "the client waited out the stall");
    assert_eq!(h.emu.faults().counters.stall, 1);

    // The journal records the request once it has ended: without a status (no answer was
    // sent), with its fault. Then wait until the stall would have ended, and a little more.
    let deadline = started + Duration::from_secs(10);
    let entry = loop {
        if let Some(entry) = h.emu.requests().pop() {
            break entry;
        }
        assert!(Instant::now() < deadline, "the stalled request never ended");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(
        (entry.status, entry.fault.as_deref()),
        (None, Some("stall")),
        "{entry:?}"
    );
    tokio::time::sleep_until((started + stall * 2).into()).await;
    assert_eq!(
        h.stored("ct_demo_1"),
        before,
        "the stalled update was applied"
    );
    assert_eq!(h.emu.requests().len(), 1);
}

#[tokio::test]
async fn latency_delays_then_handles_normally() {
    let h = with_faults(only(FaultKind::Latency).latency(Duration::from_millis(150))).await;
    let started = Instant::now();
    let reply = h.put("ct_demo_1", r#"{"name":"Slow"}"#).await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(reply.ok().data.unwrap().name.as_deref(), Some("Slow"));
    assert_eq!(h.emu.faults().counters.latency, 1);
}

async fn statuses(h: &Harness, n: usize) -> Vec<u16> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let reply = h.put("ct_demo_1", &format!(r#"{{"source":"s{i}"}}"#)).await;
        out.push(reply.status.as_u16());
    }
    out
}

#[tokio::test]
async fn faults_are_reproducible_from_a_seed() {
    let config = FaultConfig::new(
        0.5,
        [FaultKind::TooManyRequests, FaultKind::ServiceUnavailable],
    )
    .seed(42);
    let a = with_faults(config.clone()).await;
    let b = with_faults(config.clone()).await;
    let first = statuses(&a, 60).await;
    assert_eq!(first, statuses(&b, 60).await);
    // Every outcome occurs, and the counters add up.
    for status in [200, 429, 503] {
        assert!(first.contains(&status), "{first:?}");
    }
    let counters = a.emu.faults().counters;
    assert_eq!(counters.requests, 60);
    let count = |s: u16| first.iter().filter(|x| **x == s).count() as u64;
    assert_eq!(counters.too_many_requests, count(429));
    assert_eq!(counters.service_unavailable, count(503));
    assert_eq!(counters.injected, count(429) + count(503));

    // Setting the configuration again restarts the sequence.
    a.emu.set_faults(config.clone()).unwrap();
    assert_eq!(statuses(&a, 60).await, first);
    // Another seed gives another sequence.
    a.emu.set_faults(config.seed(43)).unwrap();
    assert_ne!(statuses(&a, 60).await, first);
}

#[tokio::test]
async fn no_faults_without_a_rate() {
    let h = start().await;
    assert_eq!(statuses(&h, 10).await, vec![200; 10]);
    assert_eq!(h.emu.faults().counters.requests, 0);
}
